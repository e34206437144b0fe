using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Dsl;

// How the decoders step their sequences: the rows a model steps (one state's rows stepped as a batch, or a state per row),
// how a token is chosen from a row's logits, and one source's beam search over its rows.
public static partial class Decode
{
    /// <summary>
    /// The sequences being decoded, as rows a model steps, and the logits of each one's last step: a beam's live hypotheses,
    /// or a batch's unfinished prompts (greedy decoding and sampling).
    /// </summary>
    private abstract class BeamRows
    {
        /// <summary>Row <paramref name="row"/>'s logits [vocabulary].</summary>
        public abstract ReadOnlySpan<float> Logits(int row);

        /// <summary>Row i becomes row <c>parents[i]</c>'s state stepped with <c>tokens[i]</c> (a row not named is dropped).</summary>
        public abstract void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens);
    }

    /// <summary>
    /// The sequences as the rows of one state, stepped as one batch: a step that keeps other rows than it has (a beam's
    /// parents, a batch less the sequences that ended) copies them (their caches among them) into a second state, as Hugging
    /// Face reorders its cache, and steps that. A model reads its weights once a step for every row. With
    /// <paramref name="reuse"/> (a beam's rows, reordered step after step) the state left is kept for a later step to copy
    /// into; without (rows that only leave) it is dropped.
    /// </summary>
    private sealed class RowsOfOneState(IModel<int> model, IDecoderState start, float[] logits, bool reuse) : BeamRows
    {
        private IDecoderState _state = start;
        private float[] _logits = logits;
        private readonly Dictionary<int, IDecoderState> _spare = []; // a state per batch size the rows have had, for the next step to copy into

        public override ReadOnlySpan<float> Logits(int row) => _logits.AsSpan(row * model.OutputWidth, model.OutputWidth);

        public override void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            int n = parents.Length, v = model.OutputWidth;
            if (!KeepsEveryRow(parents, _state.Batch))
            {
                IDecoderState next = _spare.Remove(n, out IDecoderState? spare) ? spare : (IDecoderState)model.CreateState(n);
                next.CopyRowsFrom(_state, parents);
                if (reuse) _spare[_state.Batch] = _state;
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

    /// <summary>
    /// Each sequence from a state of its own, stepped alone (a state that is not an <see cref="IDecoderState"/>: a model
    /// written by hand): a row steps its parent's state itself where it is the parent's first child (a sequence that goes on),
    /// and a copy of it made before any steps where it is a later one (a beam's second continuation of a hypothesis).
    /// </summary>
    private sealed class StatePerRow(IModel<int> model, List<(IModelState State, float[] Logits)> rows) : BeamRows
    {
        private List<(IModelState State, float[] Logits)> _rows = rows;

        public override ReadOnlySpan<float> Logits(int row) => _rows[row].Logits;

        public override void Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            var states = new IModelState[parents.Length];
            var taken = new bool[_rows.Count];
            for (int i = 0; i < parents.Length; i++)
            {
                IModelState parent = _rows[parents[i]].State;
                states[i] = taken[parents[i]] ? NewState(model, parent) : parent;
                taken[parents[i]] = true;
            }
            var next = new List<(IModelState, float[])>(parents.Length);
            for (int i = 0; i < parents.Length; i++) next.Add((states[i], Step(model, states[i], tokens[i])));
            _rows = next;
        }
    }

    /// <summary>
    /// Rows for <paramref name="count"/> prompts, <paramref name="tokens"/> [count, length] row-major (the shortest prompt's
    /// length: the rest of a longer prompt is <see cref="Unfed"/>), each fed from zeros: the rows of one state stepped together
    /// where the model's state can copy rows, else a state each. <paramref name="reuse"/>: as <see cref="RowsOfOneState"/> takes it.
    /// </summary>
    private static BeamRows Prompted(IModel<int> model, ReadOnlySpan<int> tokens, int count, int length, bool reuse)
    {
        if (model.CreateState(1) is IDecoderState && model.CreateState(count) is IDecoderState rowed)
            return new RowsOfOneState(model, rowed, FeedRows(model, rowed, tokens, length), reuse);
        var rows = new List<(IModelState, float[])>(count);
        for (int i = 0; i < count; i++)
        {
            IModelState state = model.CreateState(1);
            rows.Add((state, Feed(model, state, tokens.Slice(i * length, length))));
        }
        return new StatePerRow(model, rows);
    }

    /// <summary>
    /// The prompt tokens each sequence of a batch has still to be fed once every row has been fed the shortest prompt: at each
    /// step a row whose prompt goes on is fed its next token, as its logits are not read, while the rows whose prompts are
    /// through choose theirs. Every row steps at every step, so each token a row is fed takes the position it takes alone: no
    /// padding is fed, no row attends over another's, and no mask is needed.
    /// </summary>
    private sealed class Unfed(int[][] prompts, int fed)
    {
        private readonly int[] _fed = [.. Enumerable.Repeat(fed, prompts.Length)]; // how many of each prompt's tokens are fed

        /// <summary>Sequence <paramref name="sequence"/>'s next prompt token, taken; null once its prompt is through.</summary>
        public int? Next(int sequence)
        {
            int[] prompt = prompts[sequence];
            return _fed[sequence] < prompt.Length ? prompt[_fed[sequence]++] : null;
        }
    }

    /// <summary>
    /// Rows for the <paramref name="start"/> state's sequences (an encoder–decoder's batch of encoded sources), each fed
    /// <paramref name="prefix"/>, stepped together (<paramref name="reuse"/>: as <see cref="RowsOfOneState"/> takes it).
    /// </summary>
    private static BeamRows Prefixed(IModel<int> model, IDecoderState start, ReadOnlySpan<int> prefix, bool reuse)
    {
        var tokens = new int[start.Batch * prefix.Length];
        for (int i = 0; i < start.Batch; i++) prefix.CopyTo(tokens.AsSpan(i * prefix.Length));
        return new RowsOfOneState(model, start, FeedRows(model, start, tokens, prefix.Length), reuse);
    }

    /// <summary>
    /// Feeds each row of <paramref name="state"/> its <paramref name="length"/> tokens of <paramref name="tokens"/> [rows,
    /// length]; returns the last step's logits [rows, vocabulary]. A model that reads a prompt in passes
    /// (<see cref="ReadsInPasses"/>) takes it through its Forward from the state, as a Transformer's prefill does: each weight
    /// read once a pass rather than once a token, the products over every row and step of the pass at once. A pass computes at
    /// most <paramref name="passLogits"/> logits and keeps at most as many attention weights (each attention layer's [rows,
    /// heads, steps, positions]: fewer steps a pass as the positions grow). Another model is fed a step at a time.
    /// </summary>
    internal static float[] FeedRows(IModel<int> model, IModelState state, ReadOnlySpan<int> tokens, int length, long passLogits = PrefillLogits)
    {
        int rows = state.Batch, v = model.OutputWidth;
        var logits = new float[(long)rows * v];
        if (length > 1 && ReadsInPasses(model, state))
        {
            int most = (int)Math.Clamp(passLogits / ((long)rows * v), 1, length);
            long heads = model.Architecture!.Layers.OfType<AttentionInfo>().Sum(a => (long)a.Heads);
            var part = new int[rows * most];
            var passed = new float[(long)rows * most * v];
            int n = 0;
            for (int from = 0; from < length; from += n)
            {
                n = Math.Min(most, length - from);
                while (n > 1 && heads * rows * n * (state.Position + n) > passLogits) n /= 2;
                for (int i = 0; i < rows; i++) tokens.Slice(i * length + from, n).CopyTo(part.AsSpan(i * n));
                model.Forward(new ReadOnlyTensorSpan<int>(part, 0, [rows, n], default), state, new TensorSpan<float>(passed, 0, [rows, n, v], default));
            }
            for (int i = 0; i < rows; i++) passed.AsSpan((int)(((long)i * n + n - 1) * v), v).CopyTo(logits.AsSpan(i * v));
            return logits;
        }
        var step = new int[rows];
        for (int t = 0; t < length; t++)
        {
            for (int i = 0; i < rows; i++) step[i] = tokens[i * length + t];
            model.Step(new ReadOnlyTensorSpan<int>(step, [rows]), state, new TensorSpan<float>(logits, [rows, v]));
        }
        return logits;
    }

    /// <summary>
    /// Whether a prompt read in passes leaves what stepping it leaves, so that <see cref="FeedRows"/> may: a generated model (an
    /// <see cref="IModel.Architecture"/> and an <see cref="IDecoderState"/>: a model written by hand may only step, a wrapper of a
    /// generated one among them) whose Forward gives a step's logits (<see cref="IModel.ReturnsSequences"/>; a model that
    /// returns its last step only steps), and whose rotary frequencies do not depend on a pass's reach (dynamic NTK's and
    /// LongRoPE's scaling take a pass's last position for all its steps: stepped, each takes its own).
    /// </summary>
    private static bool ReadsInPasses(IModel<int> model, IModelState state) =>
        state is IDecoderState && model.ReturnsSequences && model.Architecture is { } architecture
        && !architecture.Layers.OfType<AttentionInfo>().Any(a => a.RotaryScaling is { IsScaled: true, Kind: RotaryScalingKind.Dynamic or RotaryScalingKind.LongRope });

    /// <summary>
    /// The most logits a prefill pass computes, and the most attention weights it keeps (16 Mi floats, 64 MiB: 128 steps of a
    /// single row over LLaMA 3's 128,256 tokens): a longer prompt, or more rows, takes several passes, each reading the weights
    /// once more.
    /// </summary>
    internal const long PrefillLogits = 1L << 24;

    /// <summary>
    /// Greedy decoding or sampling of the <paramref name="count"/> sequences of <paramref name="rows"/>, stepped together:
    /// at each step every unfinished row chooses its token in row order (sampling draws in that order), and a row that ends
    /// (<paramref name="endToken"/>, or <paramref name="maxLength"/> tokens) leaves the batch; a row whose prompt is not through
    /// (<paramref name="unfed"/>) is fed its next prompt token instead, and chooses nothing. <paramref name="prompts"/>: each
    /// sequence's prompt, where the chooser's rules read it. A failure part-way leaves the chooser's generator as it found it.
    /// </summary>
    private static int[][] Sample(IModel<int> model, BeamRows rows, int count, int maxLength, Chooser chooser, EndTokens endToken, Unfed? unfed = null, int[][]? prompts = null)
    {
        var mark = chooser.Random?.Mark();
        try
        {
            return SampleRows(model, rows, count, maxLength, chooser, endToken, unfed, prompts);
        }
        catch when (mark is not null)
        {
            chooser.Random!.Rewind(mark.Value);
            throw;
        }
    }

    private static int[][] SampleRows(IModel<int> model, BeamRows rows, int count, int maxLength, Chooser chooser, EndTokens endToken, Unfed? unfed, int[][]? prompts)
    {
        var outputs = new List<int>[count];
        for (int i = 0; i < count; i++) outputs[i] = [];
        if (maxLength > 0)
        {
            var live = Enumerable.Range(0, count).ToList(); // row i decodes sequence live[i]
            var kept = new List<int>(count);
            var parents = new List<int>(count);
            var tokens = new List<int>(count);
            while (live.Count > 0)
            {
                parents.Clear();
                tokens.Clear();
                kept.Clear();
                for (int i = 0; i < live.Count; i++)
                {
                    if (unfed?.Next(live[i]) is int prompted)
                    {
                        parents.Add(i);
                        tokens.Add(prompted);
                        kept.Add(live[i]);
                        continue;
                    }
                    List<int> output = outputs[live[i]];
                    int next = chooser.Next(rows.Logits(i), prompts is null ? default : prompts[live[i]], CollectionsMarshal.AsSpan(output));
                    output.Add(next);
                    if (endToken.Contains(next) || output.Count == maxLength) continue; // (the last token is not fed: nothing reads its logits)
                    RequireReadable(model, next);
                    parents.Add(i);
                    tokens.Add(next);
                    kept.Add(live[i]);
                }
                (live, kept) = (kept, live);
                if (live.Count > 0) rows.Advance(CollectionsMarshal.AsSpan(parents), CollectionsMarshal.AsSpan(tokens));
            }
        }
        return outputs.Select(o => o.ToArray()).ToArray();
    }

    /// <summary>
    /// Beam search over <paramref name="sources"/> sequences at once, the first rows of <paramref name="rows"/> one each:
    /// every source's live hypotheses are rows of the same batch (source after source), each source searched as
    /// <see cref="Beam(IModel{int}, IModelState, ReadOnlySpan{int}, int, int, EndTokens, float)"/> searches one, until all have stopped.
    /// A source whose prompt is not through (<paramref name="unfed"/>) is one row, fed its next prompt token, and starts its
    /// search when it is.
    /// </summary>
    private static IReadOnlyList<Hypothesis>[] Beam(IModel<int> model, BeamRows rows, int sources, int beamWidth, int maxLength, EndTokens endToken, float lengthPenalty,
        Unfed? unfed = null, BeamOptions options = default)
    {
        var searches = new BeamSearch[sources];
        for (int s = 0; s < sources; s++)
            searches[s] = new BeamSearch(model, beamWidth, maxLength, endToken, lengthPenalty, options.Rules, options.Prompts?[s] ?? [], options.StopEarly);
        if (maxLength == 0) return NothingDecoded(sources);
        // each live hypothesis's best (1 + end tokens)·width continuations, at least 2·width: however many of them end (at most
        // one per end token and hypothesis), the beam refills from the rest (Hugging Face's max(2, 1 + n_eos)·num_beams)
        int[] top = new int[(int)Math.Min((long)Math.Max(2, 1 + endToken.Count) * beamWidth, model.OutputWidth)];
        var parents = new List<int>();
        var tokens = new List<int>();
        while (true)
        {
            parents.Clear();
            tokens.Clear();
            int first = 0;
            for (int s = 0; s < sources; s++)
            {
                if (unfed?.Next(s) is int prompted)
                {
                    parents.Add(first++);
                    tokens.Add(prompted);
                    continue;
                }
                int live = searches[s].Live;
                if (live == 0) continue;
                searches[s].Step(rows, first, top, parents, tokens);
                first += live;
            }
            if (parents.Count == 0) break;
            rows.Advance(CollectionsMarshal.AsSpan(parents), CollectionsMarshal.AsSpan(tokens));
        }
        return searches.Select(s => s.Best()).ToArray();
    }

    /// <summary>
    /// What a beam search may take besides its width, length and end tokens: <see cref="Rules"/> applied to each hypothesis's
    /// log-probabilities (its source's prompt, <see cref="Prompts"/>, and its tokens the sequence they read), and
    /// <see cref="StopEarly"/>: stop as soon as a source has its width of ended sequences (transformers' <c>early_stopping</c>
    /// true) rather than once no live one can outscore them.
    /// </summary>
    private readonly record struct BeamOptions(LogitRules? Rules = null, int[][]? Prompts = null, bool StopEarly = false);

    /// <summary>
    /// One source's beam search (fairseq's and Hugging Face's): its live hypotheses, the sequences set aside as they ended,
    /// and the step that ranks the live ones' continuations.
    /// </summary>
    private sealed class BeamSearch(IModel<int> model, int beamWidth, int maxLength, EndTokens endToken, float lengthPenalty, LogitRules? rules, int[] prompt,
        bool stopEarly)
    {
        private List<(List<int> Tokens, float LogP)> _live = [([], 0f)];
        private readonly List<Hypothesis> _finished = [];
        private int _step; // how many tokens each live hypothesis holds

        /// <summary>How many hypotheses are live (rows of the next step); 0 once the search has stopped.</summary>
        public int Live => _live.Count;

        private float Score(float logP, int length) => lengthPenalty == 0 ? logP : logP / MathF.Pow(Math.Max(1, length), lengthPenalty);

        /// <summary>
        /// The next step: ranks the continuations of the live hypotheses, rows <paramref name="first"/> … of
        /// <paramref name="rows"/>; appends the parent row and token of each one kept live to <paramref name="parents"/> and
        /// <paramref name="tokens"/> (nothing when the search stops here). <paramref name="top"/>: scratch of max(2, 1 + end tokens)·width.
        /// </summary>
        public void Step(BeamRows rows, int first, int[] top, List<int> parents, List<int> tokens)
        {
            int step = _step++;
            // each live sequence's best tokens (as many as top holds): enough to refill the beam however many of them end
            var candidates = new List<(int Beam, int Token, float LogP)>();
            for (int i = 0; i < _live.Count; i++)
            {
                ReadOnlySpan<float> logits = rows.Logits(first + i);
                float log = LogPartition(logits);
                if (rules is not null)
                {
                    // the rules change the log-probabilities, which the beam's scores then add (transformers' beam scores)
                    logits = rules.Apply(logits, prompt, CollectionsMarshal.AsSpan(_live[i].Tokens), shift: -log);
                    log = 0f;
                }
                int found = TopIndices(logits, log, top);
                for (int j = 0; j < found; j++) candidates.Add((i, top[j], _live[i].LogP + (logits[top[j]] - log)));
            }
            var next = new List<(List<int> Tokens, float LogP)>();
            int appended = parents.Count;
            int rank = 0;
            foreach (var (beam, token, logP) in candidates.OrderByDescending(c => c.LogP).ThenBy(c => c.Beam).ThenBy(c => c.Token))
            {
                if (next.Count == beamWidth) break;
                var sequence = new List<int>(_live[beam].Tokens) { token };
                if (endToken.Contains(token) || step == maxLength - 1)
                {
                    if (rank++ < beamWidth) _finished.Add(new Hypothesis(sequence.ToArray(), logP, Score(logP, sequence.Count)));
                    continue;
                }
                rank++;
                RequireReadable(model, token);
                next.Add((sequence, logP));
                parents.Add(first + beam);
                tokens.Add(token);
            }
            _live = next;
            if (_live.Count > 0 && _finished.Count >= beamWidth && (stopEarly || !CanImprove()))
            {
                _live.Clear();
                parents.RemoveRange(appended, parents.Count - appended);
                tokens.RemoveRange(appended, tokens.Count - appended);
            }
        }

        /// <summary>
        /// Whether a live sequence can still outscore the worst of the best <c>beamWidth</c> ended ones. Log-probabilities only
        /// fall as tokens are added: the best a live sequence can still score is its log-probability over the most favourable
        /// length it can reach (one more token, or maxLength).
        /// </summary>
        private bool CanImprove()
        {
            float worst = _finished.Select(h => h.Score).OrderByDescending(x => x).ElementAt(beamWidth - 1);
            float Best(float logP, int length) => Math.Max(Score(logP, length + 1), Score(logP, maxLength));
            return _live.Any(l => Best(l.LogP, l.Tokens.Count) > worst);
        }

        /// <summary>The best <c>beamWidth</c> ended sequences, best first.</summary>
        public IReadOnlyList<Hypothesis> Best() => _finished.OrderByDescending(h => h.Score).Take(beamWidth).ToList();
    }

    /// <summary>
    /// How a sampling decoder chooses each token from a row's logits: the <paramref name="rules"/> applied (a repetition
    /// penalty, no repeated n-gram, a least length), then the largest (temperature 0), or a draw from
    /// softmax(logits / temperature) over the top-k, the nucleus (top-p) and min-p, as Hugging Face orders them.
    /// </summary>
    private sealed class Chooser(int vocabulary, float temperature, int topK, float topP, Rng? rng, float minP = 0f, LogitRules? rules = null)
    {
        private readonly float[] _kept = new float[vocabulary], _sorted = new float[vocabulary];

        /// <summary>The generator a draw takes (null: greedy).</summary>
        public Rng? Random => rng;

        /// <summary>A chooser whose only rule is a repetition penalty (1: none).</summary>
        public Chooser(int vocabulary, float temperature, int topK, float topP, Rng? rng, float minP, float repetitionPenalty)
            : this(vocabulary, temperature, topK, topP, rng, minP, LogitRules.For(vocabulary, repetitionPenalty)) { }

        /// <summary>The token chosen from <paramref name="logits"/>, the sequence so far <paramref name="prompt"/> and <paramref name="chosen"/> (what the rules read).</summary>
        public int Next(ReadOnlySpan<float> logits, ReadOnlySpan<int> prompt = default, ReadOnlySpan<int> chosen = default)
        {
            if (rules is not null) logits = rules.Apply(logits, prompt, chosen);
            if (temperature == 0) return Sampling.Greedy(logits, Who, "model");
            logits.CopyTo(_kept);
            if (topK > 0 && topK < _kept.Length)
            {
                MaskBelow(_kept, KthLargest(_kept, topK, _sorted));
            }
            if (topP < 1) KeepNucleus(_kept, _sorted, temperature, topP);
            if (minP > 0) KeepAboveMinP(_kept, temperature, minP);
            return Sampling.Sample(_kept, temperature, rng!, Who, "model");
        }

        /// <summary>
        /// Min-p filtering in place (Hugging Face's <c>MinPLogitsWarper</c>): the logits whose probability at
        /// <paramref name="temperature"/> is below <paramref name="minP"/> times the largest's become −∞, that is those below
        /// the largest logit + temperature · ln(minP).
        /// </summary>
        private static void KeepAboveMinP(float[] logits, float temperature, float minP)
        {
            MaskBelow(logits, Sampling.MaxOfDistribution(logits, Who, "model") + temperature * MathF.Log(minP));
        }

        /// <summary>The logits below <paramref name="threshold"/> become −∞ (no probability): what every filter leaves out.</summary>
        private static void MaskBelow(float[] logits, float threshold)
        {
            for (int i = 0; i < logits.Length; i++) if (logits[i] < threshold) logits[i] = float.NegativeInfinity;
        }

        /// <summary>
        /// Nucleus (top-p) filtering in place: the logits below the fewest largest ones whose probabilities at
        /// <paramref name="temperature"/> add up to <paramref name="topP"/> become −∞ (the one that reaches it is kept, and so is
        /// any tied with it). <paramref name="sorted"/> is scratch of the logits' length.
        /// </summary>
        private static void KeepNucleus(float[] logits, float[] sorted, float temperature, float topP)
        {
            float max = Sampling.MaxOfDistribution(logits, Who, "model");
            // the tokens still possible (after a top-k, its few), ascending: those of no probability (−∞) add nothing below
            int n = 0;
            foreach (float l in logits) if (l != float.NegativeInfinity) sorted[n++] = l;
            Array.Sort(sorted, 0, n);
            double total = 0;
            for (int i = 0; i < n; i++) total += Math.Exp((sorted[i] - max) / temperature);
            double reached = 0;
            float threshold = max;
            for (int i = n - 1; i >= 0; i--)
            {
                threshold = sorted[i];
                reached += Math.Exp((sorted[i] - max) / temperature) / total;
                if (reached >= topP) break;
            }
            MaskBelow(logits, threshold);
        }
    }

    /// <summary>
    /// The <paramref name="k"/>-th largest of <paramref name="values"/>, counting repeats: what sorting them ascending puts at
    /// [Length − k] (NaN ordered below every number, as <see cref="Array.Sort(Array)"/> orders it), found with a heap of the
    /// k largest in <paramref name="heap"/> (k or more) in one pass, O(n log k): a top-k of 50 over LLaMA 3's 128,256 tokens
    /// needs no sort of them all.
    /// </summary>
    internal static float KthLargest(ReadOnlySpan<float> values, int k, Span<float> heap)
    {
        int n = 0, i = 0;
        for (; i < values.Length && n < k; i++)
        {
            // sift up: the heap's least at its root
            float v = values[i];
            int at = n++;
            for (; at > 0 && v.CompareTo(heap[(at - 1) / 2]) < 0; at = (at - 1) / 2) heap[at] = heap[(at - 1) / 2];
            heap[at] = v;
        }
        // a vector of values none above the root is passed over whole (most of a vocabulary, once the heap holds large ones;
        // NaN is above no number, as CompareTo orders it, unless the root is NaN: then a value at a time)
        int width = System.Numerics.Vector<float>.Count;
        for (; i + width <= values.Length && System.Numerics.Vector.IsHardwareAccelerated && !float.IsNaN(heap[0]); i += width)
            if (System.Numerics.Vector.GreaterThanAny(new System.Numerics.Vector<float>(values.Slice(i, width)), new System.Numerics.Vector<float>(heap[0])))
                for (int j = i; j < i + width; j++) Offer(values[j], heap, k);
        for (; i < values.Length; i++) Offer(values[i], heap, k);
        return heap[0];
    }

    /// <summary>Puts <paramref name="v"/> in the full heap of the <paramref name="k"/> largest when it is above the least, which leaves.</summary>
    private static void Offer(float v, Span<float> heap, int k)
    {
        if (v.CompareTo(heap[0]) <= 0) return;
        // sift down from the root, the least replaced
        int at = 0;
        while (true)
        {
            int child = 2 * at + 1;
            if (child >= k) break;
            if (child + 1 < k && heap[child + 1].CompareTo(heap[child]) < 0) child++;
            if (heap[child].CompareTo(v) >= 0) break;
            heap[at] = heap[child];
            at = child;
        }
        heap[at] = v;
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
