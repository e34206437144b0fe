using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>A decoded sequence: its tokens (the prefix excluded), total log-probability and the score it was ranked by.</summary>
public sealed record Hypothesis(int[] Tokens, float LogProbability, float Score);

/// <summary>
/// Decoding for any model that steps (a token model with <c>State</c>/<c>Step</c> whose output is logits over its
/// vocabulary): greedy, sampling with temperature, top-k, top-p (nucleus) and min-p, a repetition penalty, and beam search with
/// length normalisation.
/// Each decoder feeds the prefix (a generated model's in passes of many steps, a prefill), then its own choices a step at a time, until
/// an end token or the maximum length;
/// <see cref="GreedyBatch"/>, <see cref="SampleBatch"/> and <see cref="BeamBatch"/> decode a batch of prompts in one call.
/// </summary>
public static partial class Decode
{
    /// <summary>The most likely token at every step.</summary>
    public static int[] Greedy(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, EndTokens endToken = default) =>
        Sample(model, null, prefix, maxLength, temperature: 0f, topK: 0, rng: null, endToken);

    /// <summary>Greedy decoding from a given <paramref name="initial"/> state (e.g. an encoder–decoder's <c>Encode</c>; null: zeros, as for sampling and beam search), which is left unchanged.</summary>
    public static int[] Greedy(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int maxLength, EndTokens endToken = default) =>
        Sample(model, initial, prefix, maxLength, temperature: 0f, topK: 0, rng: null, endToken);

    /// <summary>
    /// Samples each token from softmax(logits / <paramref name="temperature"/>) over the <paramref name="topK"/> most likely
    /// tokens (0: all), then over the fewest most likely of those whose probabilities (at that temperature) add up to
    /// <paramref name="topP"/> (nucleus sampling; 1: all), then over those whose probability is at least <paramref name="minP"/>
    /// times the most likely one's (min-p sampling; 0: all), in Hugging Face's order; tokens tied with the last one kept are
    /// kept too. Temperature 0 is greedy. A <paramref name="repetitionPenalty"/> p other than 1 first penalises each token the
    /// sequence holds (its prefix and the tokens chosen), once however often it occurs, as CTRL and Hugging Face's
    /// <c>repetition_penalty</c> do: a positive logit divided by p, a negative one multiplied by it (p above 1: less likely again).
    /// </summary>
    public static int[] Sample(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, float temperature, int topK, Rng? rng, EndTokens endToken = default, float topP = 1f,
        float minP = 0f, float repetitionPenalty = 1f) =>
        Sample(model, null, prefix, maxLength, temperature, topK, rng, endToken, topP, minP, repetitionPenalty);

    /// <summary>Sampling from a given <paramref name="initial"/> state (null: zeros), which is left unchanged.</summary>
    public static int[] Sample(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int maxLength, float temperature, int topK, Rng? rng, EndTokens endToken = default,
        float topP = 1f, float minP = 0f, float repetitionPenalty = 1f)
    {
        RequireDecoding(model, prefix, maxLength, endToken, nameof(prefix), initial);
        RequireSampling(temperature, topK, topP, rng, minP, repetitionPenalty);
        return Sample(model, NewState(model, initial), prefix, maxLength, new Chooser(model.OutputWidth, temperature, topK, topP, rng, minP, repetitionPenalty), endToken,
            window: null);
    }

    /// <summary>
    /// nanoGPT's <c>generate</c>: up to <paramref name="maxNewTokens"/> tokens after <paramref name="prefix"/>, each predicted
    /// from at most the last <paramref name="context"/> tokens (its <c>block_size</c>; a model with a learned position table
    /// holds at most that many positions), sampled as <see cref="Sample(IModel{int}, ReadOnlySpan{int}, int, float, int, Rng?, EndTokens, float, float, float)"/>
    /// samples (temperature 0: greedy). Until the sequence fills the context each step reads the key/value cache; past it,
    /// each step runs the model afresh over the last <paramref name="context"/> tokens, as nanoGPT crops <c>idx</c>, so a
    /// sequence can run past the model's positions. The prefix is cropped the same way. A repetition penalty counts the whole
    /// sequence, the prefix and every token chosen, whether or not the window still reads it (Hugging Face's input_ids).
    /// </summary>
    public static int[] Generate(IModel<int> model, ReadOnlySpan<int> prefix, int maxNewTokens, int context, float temperature = 0f, int topK = 0, Rng? rng = null,
        EndTokens endToken = default, float topP = 1f, float minP = 0f, float repetitionPenalty = 1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (context <= 0) throw new ArgumentOutOfRangeException(nameof(context), context, "must be positive: the most tokens the model reads at once");
        if (ModelLimits.Exceeded(model, context) is { } limit)
            throw new ArgumentOutOfRangeException(nameof(context), context, $"layer '{limit.Layer}' of {model.GetType().Name} holds {limit.Positions} positions (maxLength): a context of at most that many");
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must not be negative");
        // the checks of a decoding that fits the context: the window makes every longer one fit too
        RequireDecoding(model, Crop(prefix, context), Math.Min(maxNewTokens, 1), endToken, nameof(prefix));
        RequireSampling(temperature, topK, topP, rng, minP, repetitionPenalty);
        return Sample(model, NewState(model, null), prefix, maxNewTokens, new Chooser(model.OutputWidth, temperature, topK, topP, rng, minP, repetitionPenalty), endToken,
            new Window(context, prefix));
    }

    /// <summary>The last <paramref name="context"/> tokens of <paramref name="tokens"/> (all of them when fewer): what a cropped decoding reads.</summary>
    private static ReadOnlySpan<int> Crop(ReadOnlySpan<int> tokens, int context) => tokens.Length > context ? tokens[^context..] : tokens;

    /// <summary>
    /// The tokens a cropped decoding has fed (<see cref="Generate(IModel{int}, ReadOnlySpan{int}, int, int, float, int, Rng?, EndTokens, float, float, float)"/>), and how many the state holds: past <see cref="Context"/>,
    /// a step runs the model afresh over the last <see cref="Context"/> of them.
    /// </summary>
    private sealed class Window(int context, ReadOnlySpan<int> prefix)
    {
        public readonly int Context = context;
        public readonly List<int> Tokens = [.. prefix];
        public int Held;
        public float[]? Logits; // [Context, vocabulary]: a recomputed window's outputs
        public int[]? Last;     // [Context]: its tokens
    }

    /// <summary>Feeds <paramref name="next"/>: one step from the state, or with a full window the model afresh over its last tokens.</summary>
    private static void Feed(IModel<int> model, IModelState state, int next, int[] token, float[] logits, Window? window)
    {
        if (window is null)
        {
            Step(model, state, next, token, logits);
            return;
        }
        window.Tokens.Add(next);
        if (window.Held < window.Context)
        {
            Step(model, state, next, token, logits);
            window.Held++;
            return;
        }
        int n = window.Context, v = logits.Length;
        int[] last = window.Last ??= new int[n];
        window.Tokens.CopyTo(window.Tokens.Count - n, last, 0, n);
        window.Logits ??= new float[n * v];
        state.Reset();
        model.Forward(new ReadOnlyTensorSpan<int>(last, [1, n]), state, new TensorSpan<float>(window.Logits, [1, n, v]));
        window.Logits.AsSpan((n - 1) * v, v).CopyTo(logits);
    }

    /// <summary>Decodes one sequence from <paramref name="state"/>, each token as <paramref name="chooser"/> chooses it; a failure rewinds the chooser's generator.</summary>
    private static int[] Sample(IModel<int> model, IModelState state, ReadOnlySpan<int> prefix, int maxLength, Chooser chooser, EndTokens endToken, Window? window)
    {
        // a call that fails part-way (logits that turn NaN, a step refused) leaves the generator as it found it
        var mark = chooser.Random?.Mark();
        try
        {
            using var sequence = new Sequence(model, state, prefix, maxLength, chooser, endToken, window);
            while (sequence.TryNext(out _)) { }
            return sequence.Chosen.ToArray();
        }
        catch when (mark is not null)
        {
            chooser.Random!.Rewind(mark.Value);
            throw;
        }
    }

    /// <summary>
    /// One sequence decoded a token at a time from a state (greedy decoding, sampling, nanoGPT's window): its prefix fed as it
    /// is made (cropped to the window's context, as nanoGPT crops idx before its first forward pass), then each token chosen
    /// and fed back before the next is chosen; the last is not fed (nothing reads its logits). The tokens go into a pooled
    /// buffer (given back by <see cref="Dispose"/>): nothing is allocated per step.
    /// </summary>
    private sealed class Sequence : IDisposable
    {
        private readonly IModel<int> _model;
        private readonly IModelState _state;
        private readonly int[] _prefix; // what a repetition penalty counts besides the tokens chosen
        private readonly int _maxLength;
        private readonly Chooser _chooser;
        private readonly EndTokens _end;
        private readonly Window? _window;
        private readonly float[] _logits;
        private readonly int[] _token = new int[1];
        private int[] _output;
        private int _count;
        private bool _ended;

        public Sequence(IModel<int> model, IModelState state, ReadOnlySpan<int> prefix, int maxLength, Chooser chooser, EndTokens end, Window? window)
        {
            (_model, _state, _prefix, _maxLength, _chooser, _end, _window) = (model, state, prefix.ToArray(), maxLength, chooser, end, window);
            _logits = Feed(model, state, window is null ? prefix : Crop(prefix, window.Context));
            if (window is not null) window.Held = Math.Min(prefix.Length, window.Context);
            _output = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, Math.Min(maxLength, 256)));
        }

        /// <summary>The tokens chosen so far.</summary>
        public ReadOnlySpan<int> Chosen => _output.AsSpan(0, _count);

        /// <summary>
        /// Chooses the next token (feeding the last one first); false once an end token or the length has ended the sequence. A
        /// token that must be fed back and cannot be is refused as it is chosen.
        /// </summary>
        public bool TryNext(out int next)
        {
            next = -1;
            if (_ended || _count == _maxLength) return false;
            if (_count > 0) Feed(_model, _state, _output[_count - 1], _token, _logits, _window);
            next = _chooser.Next(_logits, _prefix, Chosen);
            if (_count == _output.Length)
            {
                int[] larger = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Min(_maxLength, 2 * _output.Length));
                Chosen.CopyTo(larger);
                System.Buffers.ArrayPool<int>.Shared.Return(_output);
                _output = larger;
            }
            _output[_count++] = next;
            _ended = _end.Contains(next);
            if (!_ended && _count < _maxLength) RequireReadable(_model, next); // (refused as it is chosen: a stream never gives it)
            return true;
        }

        public void Dispose()
        {
            if (_output.Length > 0) System.Buffers.ArrayPool<int>.Shared.Return(_output);
            _output = [];
        }
    }

    /// <summary>
    /// Beam search, as fairseq and Hugging Face run it: <paramref name="beamWidth"/> live continuations at every step, the
    /// most probable of all the ways to extend them; a continuation that ends (at <paramref name="endToken"/>, or at
    /// <paramref name="maxLength"/> tokens) is kept aside when it ranks among the <paramref name="beamWidth"/> best
    /// candidates of its step, and the beam refills from the candidates behind it, so that it stays
    /// <paramref name="beamWidth"/> wide. The search stops once <paramref name="beamWidth"/> sequences have ended and no
    /// live one can still score better than the worst of them. Sequences are scored by log-probability divided by
    /// length^<paramref name="lengthPenalty"/> (0: no normalisation, 1: per-token average). Returns the
    /// <paramref name="beamWidth"/> best ended sequences (fewer when fewer end), best first; a token the model gives no
    /// probability (a logit of −∞) is never chosen, so fewer end where fewer are possible. With <paramref name="maxLength"/>
    /// 0: one empty sequence, as greedy decoding returns. Width 1 is greedy decoding only without length normalisation
    /// (<paramref name="lengthPenalty"/> 0): a normalised score can prefer a longer ending that greedy passed by.
    /// </summary>
    public static IReadOnlyList<Hypothesis> Beam(IModel<int> model, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken = default, float lengthPenalty = 1f) =>
        Beam(model, null, prefix, beamWidth, maxLength, endToken, lengthPenalty);

    /// <summary>Beam search from a given <paramref name="initial"/> state of one sequence (null: zeros), which is left unchanged.</summary>
    public static IReadOnlyList<Hypothesis> Beam(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken = default, float lengthPenalty = 1f) =>
        Beam(model, initial, prefix, beamWidth, maxLength, endToken, lengthPenalty, together: true);

    /// <summary>
    /// Beam search, its live hypotheses stepped <paramref name="together"/> as the rows of one state where the model's state
    /// can copy rows (<see cref="IDecoderState.CopyRowsFrom"/>: every generated model's), else each from a copy of its own
    /// (a model written by hand, or <paramref name="together"/> false: the tests' check that both find the same).
    /// </summary>
    internal static IReadOnlyList<Hypothesis> Beam(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken,
        float lengthPenalty, bool together) => Beam(model, initial, prefix, beamWidth, maxLength, endToken, lengthPenalty, together, default);

    private static IReadOnlyList<Hypothesis> Beam(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken,
        float lengthPenalty, bool together, BeamOptions options)
    {
        RequireDecoding(model, prefix, maxLength, endToken, nameof(prefix), initial);
        RequireBeam(beamWidth, lengthPenalty);
        if (maxLength == 0) return NothingDecoded(1)[0];
        IModelState start = NewState(model, initial);
        float[] first = Feed(model, start, prefix);
        BeamRows rows = together && start is IDecoderState rowed ? new RowsOfOneState(model, rowed, first, reuse: true) : new StatePerRow(model, [(start, first)]);
        return Beam(model, rows, 1, beamWidth, maxLength, endToken, lengthPenalty, options: options with { Prompts = [prefix.ToArray()] })[0];
    }

    /// <summary>
    /// Greedy decoding of a batch of prompts in one call: <paramref name="prompts"/> [batch, steps], row b's prompt its first
    /// <c>lengths[b]</c> tokens (<paramref name="lengths"/> empty: every step; the padding after it is never read). Element b
    /// of the result is row b's tokens, as <see cref="Greedy(IModel{int}, ReadOnlySpan{int}, int, EndTokens)"/> decodes that prompt
    /// alone. The prompts step together as the rows of one state (each step reads the weights once for all of them): every
    /// row is fed a token at every step, so where prompts differ in length a row whose prompt goes on is fed its next prompt
    /// token while the rows whose prompts are through choose theirs (no padding fed, no mask: each token at the position it
    /// takes alone), and a row that ends leaves the batch.
    /// </summary>
    public static int[][] GreedyBatch(IModel<int> model, ReadOnlyTensorSpan<int> prompts, ReadOnlySpan<int> lengths, int maxLength, EndTokens endToken = default) =>
        SampleBatch(model, prompts, lengths, maxLength, temperature: 0f, topK: 0, rng: null, endToken);

    /// <summary>
    /// Sampling of a batch of prompts [batch, steps] in one call (see <see cref="GreedyBatch"/> for the prompts, their lengths
    /// and how they step; <see cref="Sample(IModel{int}, ReadOnlySpan{int}, int, float, int, Rng?, EndTokens, float, float, float)"/>
    /// for the choice of a token, each row's repetitions its own): at each step every unfinished row whose prompt is through
    /// draws its token, in row order.
    /// </summary>
    public static int[][] SampleBatch(IModel<int> model, ReadOnlyTensorSpan<int> prompts, ReadOnlySpan<int> lengths, int maxLength, float temperature, int topK, Rng? rng,
        EndTokens endToken = default, float topP = 1f, float minP = 0f, float repetitionPenalty = 1f)
    {
        var batch = new PromptBatch(model, prompts, lengths, maxLength, endToken);
        RequireSampling(temperature, topK, topP, rng, minP, repetitionPenalty);
        return SamplePrompts(model, batch, maxLength, new Chooser(model.OutputWidth, temperature, topK, topP, rng, minP, repetitionPenalty), endToken);
    }

    /// <summary>A checked batch of prompts decoded as <paramref name="chooser"/> chooses.</summary>
    private static int[][] SamplePrompts(IModel<int> model, PromptBatch batch, int maxLength, Chooser chooser, EndTokens endToken) =>
        maxLength == 0 ? [.. Enumerable.Repeat(Array.Empty<int>(), batch.Count)]
            : Sample(model, batch.Prompted(model, reuse: false), batch.Count, maxLength, chooser, endToken, batch.Rest(), batch.Prompts);

    /// <summary>
    /// Beam search for a batch of prompts [batch, steps] in one call (see <see cref="GreedyBatch"/> for the prompts, their
    /// lengths and how they step): element b of the result is row b's best sequences, as
    /// <see cref="Beam(IModel{int}, ReadOnlySpan{int}, int, int, EndTokens, float)"/> finds them for that prompt alone. Every
    /// prompt's hypotheses are rows of one batch; a prompt is one row until it is through.
    /// </summary>
    public static IReadOnlyList<Hypothesis>[] BeamBatch(IModel<int> model, ReadOnlyTensorSpan<int> prompts, ReadOnlySpan<int> lengths, int beamWidth, int maxLength,
        EndTokens endToken = default, float lengthPenalty = 1f)
    {
        var batch = new PromptBatch(model, prompts, lengths, maxLength, endToken);
        RequireBeam(beamWidth, lengthPenalty);
        return BeamPrompts(model, batch, beamWidth, maxLength, endToken, lengthPenalty, default);
    }

    /// <summary>A checked batch of prompts searched with <paramref name="options"/> (the rules read each prompt).</summary>
    private static IReadOnlyList<Hypothesis>[] BeamPrompts(IModel<int> model, PromptBatch batch, int beamWidth, int maxLength, EndTokens endToken, float lengthPenalty,
        BeamOptions options) =>
        maxLength == 0 ? NothingDecoded(batch.Count)
            : Beam(model, batch.Prompted(model, reuse: true), batch.Count, beamWidth, maxLength, endToken, lengthPenalty, batch.Rest(), options with { Prompts = batch.Prompts });

    /// <summary>Greedy decoding of every sequence of <paramref name="start"/> (an encoder–decoder's encoded batch), each fed <paramref name="prefix"/>, stepped together; checked by the caller.</summary>
    internal static int[][] GreedyEach(IModel<int> model, IDecoderState start, ReadOnlySpan<int> prefix, int maxLength, EndTokens endToken) =>
        maxLength == 0 ? [.. Enumerable.Repeat(Array.Empty<int>(), start.Batch)]
            : Sample(model, Prefixed(model, start, prefix, reuse: false), start.Batch, maxLength, new Chooser(model.OutputWidth, 0f, 0, 1f, null), endToken);

    /// <summary>Beam search for every sequence of <paramref name="start"/> (an encoder–decoder's encoded batch), each fed <paramref name="prefix"/>, its hypotheses rows of one batch; checked by the caller.</summary>
    internal static IReadOnlyList<Hypothesis>[] BeamEach(IModel<int> model, IDecoderState start, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken,
        float lengthPenalty) => BeamEach(model, start, prefix, beamWidth, maxLength, endToken, lengthPenalty, default);

    private static IReadOnlyList<Hypothesis>[] BeamEach(IModel<int> model, IDecoderState start, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, EndTokens endToken,
        float lengthPenalty, BeamOptions options) =>
        maxLength == 0 ? NothingDecoded(start.Batch)
            : Beam(model, Prefixed(model, start, prefix, reuse: true), start.Batch, beamWidth, maxLength, endToken, lengthPenalty,
                options: options with { Prompts = [.. Enumerable.Repeat(prefix.ToArray(), start.Batch)] });

    /// <summary>What beam search finds for <paramref name="count"/> sequences of no tokens (maxLength 0): one empty sequence each, as for one.</summary>
    private static IReadOnlyList<Hypothesis>[] NothingDecoded(int count) => [.. Enumerable.Range(0, count).Select(_ => (IReadOnlyList<Hypothesis>)[new Hypothesis([], 0f, 0f)])];

    /// <summary>
    /// A batch of prompts [batch, steps] and their lengths, checked as every decoder checks its prefix (each row's prompt,
    /// named by row and step): every row is fed the shortest prompt's length together, the rest of each is <see cref="Unfed"/>.
    /// </summary>
    private sealed class PromptBatch
    {
        private readonly int[][] _prompts; // each row's prompt
        private readonly int _shortest;

        public PromptBatch(IModel<int> model, ReadOnlyTensorSpan<int> prompts, ReadOnlySpan<int> lengths, int maxLength, EndTokens endToken)
        {
            ArgumentNullException.ThrowIfNull(model);
            if (prompts.Rank != 2 || prompts.Lengths[0] <= 0 || prompts.Lengths[1] <= 0)
                throw new ArgumentException($"prompts: expected [batch, steps], a prompt of at least one token per row, got {Shapes.Format(prompts.Lengths)}.", nameof(prompts));
            if (prompts.FlattenedLength > Array.MaxLength)
                throw new ArgumentException($"prompts: {Shapes.Format(prompts.Lengths)} holds {prompts.FlattenedLength} ids, more than an array holds ({Array.MaxLength}): decode fewer at once.", nameof(prompts));
            int batch = (int)prompts.Lengths[0], steps = (int)prompts.Lengths[1];
            var tokens = new int[prompts.FlattenedLength];
            prompts.FlattenTo(tokens);
            if (!lengths.IsEmpty) Check.Lengths(lengths, batch, steps, nameof(lengths));
            _prompts = new int[batch][];
            for (int b = 0; b < batch; b++)
            {
                _prompts[b] = tokens.AsSpan(b * steps, lengths.IsEmpty ? steps : lengths[b]).ToArray();
                for (int t = 0; t < _prompts[b].Length; t++)
                    if ((uint)_prompts[b][t] >= (uint)model.InputWidth)
                        throw new ArgumentOutOfRangeException(nameof(prompts), _prompts[b][t], $"row {b}'s prompt holds this id at step {t}: a token id in the model's vocabulary [0, {model.InputWidth}) was expected");
            }
            // the length, the end token, and the positions of the longest prompt (the state's steps: each row's are fewer or as many)
            RequireDecoding(model, _prompts.MaxBy(p => p.Length), maxLength, endToken, nameof(prompts));
            _shortest = _prompts.Min(p => p.Length);
        }

        private PromptBatch(int[][] prompts) => (_prompts, _shortest) = (prompts, prompts.Min(p => p.Length));

        /// <summary>The batch with each prompt <paramref name="times"/> times in a row (its rows sampled apart).</summary>
        public PromptBatch Repeated(int times) => times == 1 ? this : new([.. _prompts.SelectMany(p => Enumerable.Repeat(p, times))]);

        /// <summary>How many prompts.</summary>
        public int Count => _prompts.Length;

        /// <summary>The rows of the batch, each fed the shortest prompt's length of its prompt.</summary>
        public BeamRows Prompted(IModel<int> model, bool reuse)
        {
            var tokens = new int[Count * _shortest];
            for (int b = 0; b < Count; b++) _prompts[b].AsSpan(0, _shortest).CopyTo(tokens.AsSpan(b * _shortest));
            return Decode.Prompted(model, tokens, Count, _shortest, reuse);
        }

        /// <summary>Each row's prompt (what a repetition penalty counts besides the tokens chosen).</summary>
        public int[][] Prompts => _prompts;

        /// <summary>The rest of each prompt, fed as the rows go on (none where the prompts are of one length).</summary>
        public Unfed? Rest() => _prompts.All(p => p.Length == _shortest) ? null : new Unfed(_prompts, _shortest);
    }

    private const string Who = "Decoding";

    /// <summary>
    /// What every decoder checks before it runs anything (an encoder–decoder's Greedy and Beam, before its encoder runs): a
    /// prefix of ids in the model's vocabulary (<paramref name="prefixName"/>: the caller's name for it), a length ≥ 0 and
    /// end tokens the model can choose (one past its outputs had never matched: decoding ran to the length without a word).
    /// </summary>
    internal static void RequireDecoding(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, EndTokens endToken, string prefixName, IModelState? initial = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (prefix.IsEmpty) throw new ArgumentException("The prefix needs at least one token (e.g. a start token).", prefixName);
        foreach (int t in prefix)
            if ((uint)t >= (uint)model.InputWidth)
                throw new ArgumentOutOfRangeException(prefixName, t, $"a token id in the model's vocabulary [0, {model.InputWidth}) was expected");
        if (maxLength < 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must not be negative");
        foreach (int end in endToken)
            if ((uint)end >= (uint)model.OutputWidth)
                throw new ArgumentOutOfRangeException(nameof(endToken), end,
                    $"{(endToken.Count > 1 ? $"an end token of {endToken}: each" : "the end token")} must be a token id the model can choose, in [0, {model.OutputWidth})");
        // the prefix and every token but the last are fed, from the initial state's position: past a learned position table,
        // refused before the first step (the message built only then: a decoding call allocates nothing more for it)
        long from = initial?.Position ?? 0, fed = prefix.Length + Math.Max(0L, maxLength - 1L);
        if (ModelLimits.Exceeded(model, from + fed) is { } limit)
            throw new ArgumentException($"maxLength: the prefix's {prefix.Length} token(s) and up to {maxLength} − 1 generated ones fed back from position {from} would take " +
                $"positions up to {from + fed - 1}, but layer '{limit.Layer}' of {model.GetType().Name} holds {limit.Positions} (maxLength).", nameof(maxLength));
    }

    internal static void RequireSampling(float temperature, int topK, float topP, Rng? rng, float minP = 0f, float repetitionPenalty = 1f)
    {
        if (!(minP >= 0 && minP <= 1)) throw new ArgumentOutOfRangeException(nameof(minP), minP, "must be in [0, 1] (0: every token)");
        if (!(repetitionPenalty > 0 && float.IsFinite(repetitionPenalty)))
            throw new ArgumentOutOfRangeException(nameof(repetitionPenalty), repetitionPenalty, "must be a finite number > 0 (1: none; above 1 makes a repeated token less likely)");
        if (!(temperature >= 0 && float.IsFinite(temperature)))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be a finite number ≥ 0 (0: greedy)");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "must not be negative (0: every token)");
        if (!(topP > 0 && topP <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), topP, "must be in (0, 1] (1: every token)");
        if (temperature > 0 && rng is null) throw new ArgumentNullException(nameof(rng), "Sampling with a temperature needs a random generator.");
    }

    internal static void RequireBeam(int beamWidth, float lengthPenalty)
    {
        if (beamWidth <= 0) throw new ArgumentOutOfRangeException(nameof(beamWidth), beamWidth, "must be positive");
        if (!float.IsFinite(lengthPenalty)) throw new ArgumentOutOfRangeException(nameof(lengthPenalty), lengthPenalty, "must be finite (0: none, 1: the mean log-probability per token)");
    }

    /// <summary>A chosen token that is not the end must be fed back: refused, saying so, when it is past the model's vocabulary (its outputs outnumber its inputs).</summary>
    private static void RequireReadable(IModel<int> model, int token)
    {
        if ((uint)token >= (uint)model.InputWidth)
            throw new InvalidOperationException($"Decoding: the model chose token {token}, which it cannot read back as its next input (its vocabulary is [0, {model.InputWidth})); make it the end token, or decode a model whose outputs are in its vocabulary.");
    }

    /// <summary>Feeds a sequence its <paramref name="prefix"/> (see <see cref="FeedRows"/>); returns the last step's logits.</summary>
    private static float[] Feed(IModel<int> model, IModelState state, ReadOnlySpan<int> prefix) => FeedRows(model, state, prefix, prefix.Length);

    /// <summary>Feeds one token into the caller's buffers (a sampling loop allocates nothing per step).</summary>
    private static void Step(IModel<int> model, IModelState state, int next, int[] token, float[] logits)
    {
        token[0] = next;
        model.Step(new ReadOnlyTensorSpan<int>(token, [1]), state, new TensorSpan<float>(logits, [1, logits.Length]));
    }

    private static float[] Step(IModel<int> model, IModelState state, int next)
    {
        var logits = new float[model.OutputWidth];
        Step(model, state, next, new int[1], logits);
        return logits;
    }

    /// <summary>A fresh state for one sequence: zeros, or a copy of <paramref name="from"/> (with the memory a decoder attends over).</summary>
    private static IModelState NewState(IModel<int> model, IModelState? from)
    {
        if (from is not null && from.Batch != 1) throw new ArgumentException($"The initial state must hold one sequence, but holds {from.Batch}.", "initial");
        IModelState state = model.CreateState(1);
        if (from is not null) ModelStates.Copy(from, state, "initial state", "initial");
        return state;
    }
}
