using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>A decoded sequence: its tokens (the prefix excluded), total log-probability and the score it was ranked by.</summary>
public sealed record Hypothesis(int[] Tokens, float LogProbability, float Score);

/// <summary>
/// Decoding for any model that steps (a token model with <c>State</c>/<c>Step</c> whose output is logits over its
/// vocabulary): greedy, sampling with temperature, top-k and top-p (nucleus), and beam search with length normalisation.
/// Each decoder feeds the prefix, then its own choices, one step at a time, until the end token or the maximum length.
/// </summary>
public static class Decode
{
    /// <summary>The most likely token at every step.</summary>
    public static int[] Greedy(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, int? endToken = null) =>
        Sample(model, null, prefix, maxLength, temperature: 0f, topK: 0, rng: null, endToken);

    /// <summary>Greedy decoding from a given <paramref name="initial"/> state (e.g. an encoder–decoder's <c>Encode</c>; null: zeros, as for sampling and beam search), which is left unchanged.</summary>
    public static int[] Greedy(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int maxLength, int? endToken = null) =>
        Sample(model, initial, prefix, maxLength, temperature: 0f, topK: 0, rng: null, endToken);

    /// <summary>
    /// Samples each token from softmax(logits / <paramref name="temperature"/>) over the <paramref name="topK"/> most likely
    /// tokens (0: all), then over the fewest most likely of those whose probabilities (at that temperature) add up to
    /// <paramref name="topP"/> (nucleus sampling; 1: all), in Hugging Face's order; tokens tied with the last one kept are
    /// kept too. Temperature 0 is greedy.
    /// </summary>
    public static int[] Sample(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, float temperature, int topK, Rng? rng, int? endToken = null, float topP = 1f) =>
        Sample(model, null, prefix, maxLength, temperature, topK, rng, endToken, topP);

    /// <summary>Sampling from a given <paramref name="initial"/> state (null: zeros), which is left unchanged.</summary>
    public static int[] Sample(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int maxLength, float temperature, int topK, Rng? rng, int? endToken = null,
        float topP = 1f)
    {
        RequireDecoding(model, prefix, maxLength, endToken, nameof(prefix), initial);
        RequireSampling(temperature, topK, topP, rng);
        return Sample(model, NewState(model, initial), prefix, maxLength, temperature, topK, rng, endToken, topP, window: null);
    }

    /// <summary>
    /// nanoGPT's <c>generate</c>: up to <paramref name="maxNewTokens"/> tokens after <paramref name="prefix"/>, each predicted
    /// from at most the last <paramref name="context"/> tokens (its <c>block_size</c>; a model with a learned position table
    /// holds at most that many positions), sampled as <see cref="Sample(IModel{int}, ReadOnlySpan{int}, int, float, int, Rng?, int?, float)"/>
    /// samples (temperature 0: greedy). Until the sequence fills the context each step reads the key/value cache; past it,
    /// each step runs the model afresh over the last <paramref name="context"/> tokens, as nanoGPT crops <c>idx</c>, so a
    /// sequence can run past the model's positions. The prefix is cropped the same way.
    /// </summary>
    public static int[] Generate(IModel<int> model, ReadOnlySpan<int> prefix, int maxNewTokens, int context, float temperature = 0f, int topK = 0, Rng? rng = null,
        int? endToken = null, float topP = 1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (context <= 0) throw new ArgumentOutOfRangeException(nameof(context), context, "must be positive: the most tokens the model reads at once");
        if (ModelLimits.Exceeded(model, context) is { } limit)
            throw new ArgumentOutOfRangeException(nameof(context), context, $"layer '{limit.Layer}' of {model.GetType().Name} holds {limit.Positions} positions (maxLength): a context of at most that many");
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must not be negative");
        // the checks of a decoding that fits the context: the window makes every longer one fit too
        RequireDecoding(model, Crop(prefix, context), Math.Min(maxNewTokens, 1), endToken, nameof(prefix));
        RequireSampling(temperature, topK, topP, rng);
        return Sample(model, NewState(model, null), prefix, maxNewTokens, temperature, topK, rng, endToken, topP, new Window(context, prefix));
    }

    /// <summary>The last <paramref name="context"/> tokens of <paramref name="tokens"/> (all of them when fewer): what a cropped decoding reads.</summary>
    private static ReadOnlySpan<int> Crop(ReadOnlySpan<int> tokens, int context) => tokens.Length > context ? tokens[^context..] : tokens;

    /// <summary>
    /// The tokens a cropped decoding has fed (<see cref="Generate"/>), and how many the state holds: past <see cref="Context"/>,
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

    private static int[] Sample(IModel<int> model, IModelState state, ReadOnlySpan<int> prefix, int maxLength, float temperature, int topK, Rng? rng, int? endToken,
        float topP, Window? window)
    {
        float[] logits = new float[model.OutputWidth];
        int[] token = new int[1];
        if (window is null) foreach (int t in prefix) Step(model, state, t, token, logits);
        else
        {
            // the prefix cropped to the context, as nanoGPT crops idx before its first forward pass
            foreach (int t in Crop(prefix, window.Context)) Step(model, state, t, token, logits);
            window.Held = Math.Min(prefix.Length, window.Context);
        }
        // The tokens go into a pooled buffer, copied once into the result: nothing is allocated per step.
        int[] output = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, Math.Min(maxLength, 256)));
        int count = 0;
        float[] kept = new float[logits.Length], sorted = new float[logits.Length];
        // a call that fails part-way (logits that turn NaN, a step refused) leaves the generator as it found it
        var mark = rng?.Mark();
        try
        {
            while (count < maxLength)
            {
                int next;
                if (temperature == 0) next = Sampling.Greedy(logits, Who, nameof(model));
                else
                {
                    logits.CopyTo(kept, 0);
                    if (topK > 0 && topK < kept.Length)
                    {
                        kept.CopyTo(sorted, 0);
                        Array.Sort(sorted);
                        float threshold = sorted[sorted.Length - topK];
                        for (int i = 0; i < kept.Length; i++) if (kept[i] < threshold) kept[i] = float.NegativeInfinity;
                    }
                    if (topP < 1) KeepNucleus(kept, sorted, temperature, topP);
                    next = Sampling.Sample(kept, temperature, rng!, Who, nameof(model));
                }
                if (count == output.Length)
                {
                    int[] larger = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Min(maxLength, 2 * output.Length));
                    output.AsSpan(0, count).CopyTo(larger);
                    System.Buffers.ArrayPool<int>.Shared.Return(output);
                    output = larger;
                }
                output[count++] = next;
                if (next == endToken || count == maxLength) break; // (the last token is not fed: nothing reads its logits)
                RequireReadable(model, next);
                Feed(model, state, next, token, logits, window);
            }
            return output.AsSpan(0, count).ToArray();
        }
        catch when (rng is not null)
        {
            rng.Rewind(mark!.Value);
            throw;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(output);
        }
    }

    /// <summary>
    /// Nucleus (top-p) filtering in place: the logits below the fewest largest ones whose probabilities at
    /// <paramref name="temperature"/> add up to <paramref name="topP"/> become −∞ (the one that reaches it is kept, and so is
    /// any tied with it). <paramref name="sorted"/> is scratch of the logits' length.
    /// </summary>
    private static void KeepNucleus(float[] logits, float[] sorted, float temperature, float topP)
    {
        float max = Sampling.MaxOfDistribution(logits, Who, "model");
        logits.CopyTo(sorted, 0);
        Array.Sort(sorted);
        double total = 0;
        foreach (float l in sorted) total += Math.Exp((l - max) / temperature);
        double reached = 0;
        float threshold = max;
        for (int i = sorted.Length - 1; i >= 0; i--)
        {
            threshold = sorted[i];
            reached += Math.Exp((sorted[i] - max) / temperature) / total;
            if (reached >= topP) break;
        }
        for (int i = 0; i < logits.Length; i++) if (logits[i] < threshold) logits[i] = float.NegativeInfinity;
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
    public static IReadOnlyList<Hypothesis> Beam(IModel<int> model, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, int? endToken = null, float lengthPenalty = 1f) =>
        Beam(model, null, prefix, beamWidth, maxLength, endToken, lengthPenalty);

    /// <summary>Beam search from a given <paramref name="initial"/> state of one sequence (null: zeros), which is left unchanged.</summary>
    public static IReadOnlyList<Hypothesis> Beam(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, int? endToken = null, float lengthPenalty = 1f) =>
        Beam(model, initial, prefix, beamWidth, maxLength, endToken, lengthPenalty, together: true);

    /// <summary>
    /// Beam search, its live hypotheses stepped <paramref name="together"/> as the rows of one state where the model's state
    /// can copy rows (<see cref="IDecoderState.CopyRowsFrom"/>: every generated model's), else each from a copy of its own
    /// (a model written by hand, or <paramref name="together"/> false: the tests' check that both find the same).
    /// </summary>
    internal static IReadOnlyList<Hypothesis> Beam(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int beamWidth, int maxLength, int? endToken,
        float lengthPenalty, bool together)
    {
        RequireDecoding(model, prefix, maxLength, endToken, nameof(prefix), initial);
        RequireBeam(beamWidth, lengthPenalty);
        if (maxLength == 0) return [new Hypothesis([], 0f, 0f)];
        IModelState start = NewState(model, initial);
        float[] first = Feed(model, start, prefix);
        BeamRows rows = together && start is IDecoderState rowed ? new RowsOfOneState(model, rowed, first) : new StatePerRow(model, start, first);
        // the live hypotheses, row i of rows each
        var live = new List<(List<int> Tokens, float LogP)> { (new List<int>(), 0f) };
        var finished = new List<Hypothesis>();
        float Score(float logP, int length) => lengthPenalty == 0 ? logP : logP / MathF.Pow(Math.Max(1, length), lengthPenalty);
        var parents = new List<int>();
        int[] top = new int[(int)Math.Min(2L * beamWidth, model.OutputWidth)];
        var tokens = new List<int>();
        for (int step = 0; step < maxLength && live.Count > 0; step++)
        {
            // each live sequence's 2·width best tokens: enough to refill the beam however many of them end
            var candidates = new List<(int Beam, int Token, float LogP)>();
            for (int i = 0; i < live.Count; i++)
            {
                ReadOnlySpan<float> logits = rows.Logits(i);
                float log = LogPartition(logits);
                int found = TopIndices(logits, log, top);
                for (int j = 0; j < found; j++) candidates.Add((i, top[j], live[i].LogP + (logits[top[j]] - log)));
            }
            var next = new List<(List<int> Tokens, float LogP)>();
            parents.Clear();
            tokens.Clear();
            int rank = 0;
            foreach (var (beam, token, logP) in candidates.OrderByDescending(c => c.LogP).ThenBy(c => c.Beam).ThenBy(c => c.Token))
            {
                if (next.Count == beamWidth) break;
                var sequence = new List<int>(live[beam].Tokens) { token };
                if (token == endToken || step == maxLength - 1)
                {
                    if (rank++ < beamWidth) finished.Add(new Hypothesis(sequence.ToArray(), logP, Score(logP, sequence.Count)));
                    continue;
                }
                rank++;
                RequireReadable(model, token);
                next.Add((sequence, logP));
                parents.Add(beam);
                tokens.Add(token);
            }
            live = next;
            if (live.Count == 0) break;
            if (finished.Count >= beamWidth)
            {
                // log-probabilities only fall as tokens are added: the best a live sequence can still score is its log-probability
                // over the most favourable length it can reach (one more token, or maxLength)
                float worst = finished.Select(h => h.Score).OrderByDescending(x => x).ElementAt(beamWidth - 1);
                float Best(float logP, int length) => Math.Max(Score(logP, length + 1), Score(logP, maxLength));
                if (live.All(l => Best(l.LogP, l.Tokens.Count) <= worst)) break;
            }
            rows.Advance(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(parents), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tokens));
        }
        return finished.OrderByDescending(h => h.Score).Take(beamWidth).ToList();
    }

    /// <summary>The model states of a beam's live hypotheses, one row each, and the logits of each one's last step.</summary>
    private abstract class BeamRows
    {
        /// <summary>Row <paramref name="row"/>'s logits [vocabulary].</summary>
        public abstract ReadOnlySpan<float> Logits(int row);

        /// <summary>Row i becomes row <c>parents[i]</c>'s state stepped with <c>tokens[i]</c>.</summary>
        public abstract void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens);
    }

    /// <summary>
    /// The hypotheses as the rows of one state, stepped as one batch: each step copies the rows kept (their caches among
    /// them) into a second state, as Hugging Face reorders its cache, and steps that. A model reads its weights once a step
    /// for the whole beam.
    /// </summary>
    private sealed class RowsOfOneState(IModel<int> model, IDecoderState start, float[] logits) : BeamRows
    {
        private IDecoderState _state = start;
        private float[] _logits = logits;
        private readonly Dictionary<int, IDecoderState> _spare = []; // a state per batch size the beam has had, for the next step to copy into

        public override ReadOnlySpan<float> Logits(int row) => _logits.AsSpan(row * model.OutputWidth, model.OutputWidth);

        public override void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            int n = parents.Length, v = model.OutputWidth;
            if (!KeepsEveryRow(parents, _state.Batch))
            {
                IDecoderState next = _spare.Remove(n, out IDecoderState? spare) ? spare : (IDecoderState)model.CreateState(n);
                next.CopyRowsFrom(_state, parents);
                _spare[_state.Batch] = _state;
                _state = next;
            }
            if (_logits.Length != (long)n * v) _logits = new float[(long)n * v];
            model.Step(new ReadOnlyTensorSpan<int>(tokens.ToArray(), [n]), _state, new TensorSpan<float>(_logits, [n, v]));
        }

        /// <summary>Row i stays row i for every row: the state steps as it is.</summary>
        private static bool KeepsEveryRow(ReadOnlySpan<int> parents, int batch)
        {
            if (parents.Length != batch) return false;
            for (int i = 0; i < parents.Length; i++) if (parents[i] != i) return false;
            return true;
        }
    }

    /// <summary>Each hypothesis from a state of its own, a copy of its parent's stepped alone (a state that is not an <see cref="IDecoderState"/>: a model written by hand).</summary>
    private sealed class StatePerRow(IModel<int> model, IModelState start, float[] logits) : BeamRows
    {
        private List<(IModelState State, float[] Logits)> _rows = [(start, logits)];

        public override ReadOnlySpan<float> Logits(int row) => _rows[row].Logits;

        public override void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            var next = new List<(IModelState, float[])>(parents.Length);
            for (int i = 0; i < parents.Length; i++)
            {
                IModelState state = NewState(model, _rows[parents[i]].State);
                next.Add((state, Step(model, state, tokens[i])));
            }
            _rows = next;
        }
    }

    private const string Who = "Decoding";

    /// <summary>
    /// What every decoder checks before it runs anything (an encoder–decoder's Greedy and Beam, before its encoder runs): a
    /// prefix of ids in the model's vocabulary (<paramref name="prefixName"/>: the caller's name for it), a length ≥ 0 and an
    /// end token the model can choose (one past its outputs had never matched: decoding ran to the length without a word).
    /// </summary>
    internal static void RequireDecoding(IModel<int> model, ReadOnlySpan<int> prefix, int maxLength, int? endToken, string prefixName, IModelState? initial = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (prefix.IsEmpty) throw new ArgumentException("The prefix needs at least one token (e.g. a start token).", prefixName);
        foreach (int t in prefix)
            if ((uint)t >= (uint)model.InputWidth)
                throw new ArgumentOutOfRangeException(prefixName, t, $"a token id in the model's vocabulary [0, {model.InputWidth}) was expected");
        if (maxLength < 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must not be negative");
        if (endToken is int end && (uint)end >= (uint)model.OutputWidth)
            throw new ArgumentOutOfRangeException(nameof(endToken), end, $"must be a token id the model can choose, in [0, {model.OutputWidth})");
        // the prefix and every token but the last are fed, from the initial state's position: past a learned position table,
        // refused before the first step (the message built only then: a decoding call allocates nothing more for it)
        long from = initial?.Position ?? 0, fed = prefix.Length + Math.Max(0L, maxLength - 1L);
        if (ModelLimits.Exceeded(model, from + fed) is { } limit)
            throw new ArgumentException($"maxLength: the prefix's {prefix.Length} token(s) and up to {maxLength} − 1 generated ones fed back from position {from} would take " +
                $"positions up to {from + fed - 1}, but layer '{limit.Layer}' of {model.GetType().Name} holds {limit.Positions} (maxLength).", nameof(maxLength));
    }

    internal static void RequireSampling(float temperature, int topK, float topP, Rng? rng)
    {
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

    private static float[] Feed(IModel<int> model, IModelState state, ReadOnlySpan<int> prefix)
    {
        var logits = new float[model.OutputWidth];
        var token = new int[1];
        foreach (int t in prefix) Step(model, state, t, token, logits);
        return logits;
    }

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

    /// <summary>log Σ exp(logits): a token's log-probability is its logit less this.</summary>
    private static float LogPartition(ReadOnlySpan<float> logits)
    {
        // NaN, +∞ or only −∞ have no log-probabilities: beams would be ranked by NaN scores, in no order
        float max = Sampling.MaxOfDistribution(logits, "Beam search", "model");
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return max + (float)Math.Log(sum);
    }

    /// <summary>
    /// The indices of the <paramref name="top"/>.Length largest log-probabilities (<c>logits[i] − log</c>) into
    /// <paramref name="top"/>, largest first, ties by index; a log-probability of −∞ (no probability) never. Returns how many there
    /// were (fewer where fewer tokens have a probability). One pass over the vocabulary, no sort.
    /// </summary>
    private static int TopIndices(ReadOnlySpan<float> logits, float log, Span<int> top)
    {
        int found = 0;
        Span<float> values = top.Length <= 256 ? stackalloc float[top.Length] : new float[top.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            float value = logits[i] - log;
            if (float.IsNegativeInfinity(value)) continue;
            // (an index after every kept one: a tie goes behind them)
            if (found == top.Length && value <= values[found - 1]) continue;
            int at = found == top.Length ? found - 1 : found++;
            for (; at > 0 && values[at - 1] < value; at--)
            {
                values[at] = values[at - 1];
                top[at] = top[at - 1];
            }
            values[at] = value;
            top[at] = i;
        }
        return found;
    }
}
