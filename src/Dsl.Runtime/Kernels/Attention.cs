using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>
/// Multi-head self-attention over time-major activations, as <c>nn.MultiheadAttention(E, heads)</c> with
/// query = key = value = the input: [q, k, v] = x · W_inᵀ + b_in; per head, A = softmax(q kᵀ · scale
/// (+ causal mask)); the heads' A · v are concatenated and projected by W_out. Letters: T steps, B batch,
/// E width, d = E / heads. The projections are the caller's GEMMs; this kernel does the per-head part.
/// </summary>
public static class AttentionKernel
{
    /// <summary>
    /// From <paramref name="qkv"/> [T, B, 3E] computes the attention weights <paramref name="weights"/> [B, heads, T, T]
    /// (the softmax, kept for back-propagation and inspection) and the heads' outputs <paramref name="context"/> [T, B, E].
    /// A non-empty <paramref name="mask"/> [B, heads, T, T] is dropout applied to the weights (training). The
    /// (sequence, head) pairs are split over the cores; each thread keeps its own scratch (<paramref name="scratch"/> is not used).
    /// </summary>
    public static void Forward(int steps, int batch, int width, int heads, float scale, bool causal,
        ReadOnlySpan<float> qkv, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context, Span<float> scratch) =>
        Forward(steps, batch, width, heads, scale, causal, default, qkv, weights, mask, context, scratch);

    /// <summary>
    /// As above for padded sequences: keys at steps ≥ <paramref name="lengths"/>[b] get no weight (PyTorch's
    /// <c>key_padding_mask</c>); every query, padded ones included, attends over the valid keys. A positive
    /// <paramref name="window"/> slides: a causal query at i sees the keys i − window &lt; j ≤ i (Mistral's), another the keys
    /// |j − i| ≤ window / 2 (ModernBERT's local attention, <c>local_attention</c> = window). A positive
    /// <paramref name="softCap"/> caps the scaled scores before the softmax, cap · tanh(q·k · scale / cap) (Gemma 2's
    /// <c>attn_logit_softcapping</c>); 0: none. A non-empty <paramref name="positionBias"/> [heads, 2T − 1] is added to the scaled
    /// scores by distance, bias[h, j − i + T − 1] to query i's score against key j (T5's and MPNet's relative position bias,
    /// <see cref="RelativePositionKernel.Expand"/>); not with a soft cap.
    /// </summary>
    public static void Forward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context, Span<float> scratch, int window = 0, float softCap = 0f,
        ReadOnlySpan<float> positionBias = default) =>
        Forward(steps, batch, width, heads, heads, scale, causal, lengths, qkv, weights, mask, context, scratch, window, softCap, positionBias);

    /// <summary>
    /// Grouped-query attention (<paramref name="keyValueHeads"/> dividing <paramref name="heads"/>; as many: the forms above):
    /// <paramref name="qkv"/> is [T, B, E + 2 · E_kv], the queries' E columns, then the keys' and the values' E_kv =
    /// keyValueHeads · d, and query head h attends with key/value head h / (heads / keyValueHeads) (Hugging Face's
    /// <c>repeat_kv</c>).
    /// </summary>
    public static unsafe void Forward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context, Span<float> scratch, int window = 0, float softCap = 0f,
        ReadOnlySpan<float> positionBias = default)
    {
        // the weights are kept when given (inference may pass none)
        RequireSelf(steps, batch, width, heads, keyValueHeads, causal, window, lengths, qkv.Length, weights.IsEmpty ? -1 : weights.Length, mask.Length, context.Length);
        RequireCap(softCap);
        RequirePositionBias(steps, 1, heads, softCap, positionBias.IsEmpty ? -1 : positionBias.Length, "positionBias");
        long rows = (long)steps * batch;
        if (rows == 0) return;
        fixed (float* pq = qkv, pw = weights, pm = mask, pc = context, pb = positionBias)
        fixed (int* pl = lengths)
        {
            HeadArgs a = SelfArgs(steps, batch, width, heads, keyValueHeads, scale, causal, lengths.IsEmpty ? null : pl, pq, null);
            a.Weights = pw;
            a.Mask = mask.IsEmpty ? null : pm;
            a.Context = pc;
            a.Window = window;
            a.SoftCap = softCap;
            a.PositionBias = positionBias.IsEmpty ? null : pb;
            GemmWorkers.Run(&ForwardPart, &a, Parts(steps, steps, batch, width, batch * heads));
        }
    }

    /// <summary>
    /// Causal self-attention continuing from a key/value cache (a decoder stepping token by token, or reading a chunk):
    /// the keys and values of the <paramref name="steps"/> new rows of <paramref name="qkv"/> [T, B, 3E] are appended to
    /// <paramref name="cache"/> [capacity, B, 2E] (keys then values, one row per position and sequence) after the
    /// <paramref name="position"/> steps it holds, and the new queries, at positions position … position + T − 1,
    /// attend over the keys up to their own: each step costs O(position), not a pass over the prefix. Writes the heads'
    /// outputs <paramref name="context"/> [T, B, E], and the weights [B, heads, T, T] when <paramref name="position"/>
    /// is 0 (then they are those of <see cref="Forward(int, int, int, int, float, bool, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, Span{float}, Span{float})"/>).
    /// </summary>
    public static void CachedForward(int steps, int batch, int width, int heads, float scale, int position,
        ReadOnlySpan<float> qkv, Span<float> cache, Span<float> weights, Span<float> context, int window = 0, float softCap = 0f,
        ReadOnlySpan<float> relativeTable = default, int relativeBuckets = 0, int relativeMaxDistance = 0, bool alibi = false, float alibiScale = 1f) =>
        CachedForward(steps, batch, width, heads, heads, scale, position, qkv, cache, weights, context, window, softCap, relativeTable, relativeBuckets, relativeMaxDistance, alibi, alibiScale);

    /// <summary>
    /// As above for grouped-query attention: <paramref name="qkv"/> [T, B, E + 2 · E_kv] and the cache [capacity, B, 2 · E_kv]
    /// (see the grouped <c>Forward</c>). A non-empty <paramref name="relativeTable"/> [buckets, heads] is a causal layer's
    /// relative position bias (T5's decoder's: one-sided buckets, <see cref="RelativePositionKernel"/>), <paramref name="relativeBuckets"/>
    /// buckets up to <paramref name="relativeMaxDistance"/>: each query's bias by its distance to every key, read from the table;
    /// <paramref name="alibi"/>, ALiBi's bias by distance (<see cref="AlibiKernel"/>) instead, its slopes times <paramref name="alibiScale"/>
    /// (falcon-rw's, added before the scores' scale).
    /// </summary>
    public static unsafe void CachedForward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, int position,
        ReadOnlySpan<float> qkv, Span<float> cache, Span<float> weights, Span<float> context, int window = 0, float softCap = 0f,
        ReadOnlySpan<float> relativeTable = default, int relativeBuckets = 0, int relativeMaxDistance = 0, bool alibi = false, float alibiScale = 1f)
    {
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "Attention: the steps the cache holds are 0 or more.");
        RequireHeads(steps, position + (long)steps, batch, width, heads);
        RequireGroups(heads, keyValueHeads);
        RequireWindow(window);
        RequireCap(softCap);
        // every buffer is checked before the cache takes the new keys and values: a call refused changes nothing
        Require(context, (long)steps * batch * width, "context");
        if (position == 0) Require(weights, (long)batch * heads * steps * steps, "weights");
        // past position 0 each thread scores one (sequence, head) in its scratch: steps × keys values, gathered rows beside them
        long scores = (long)steps * (position + steps) + (long)(3 * steps + 2 * position) * (width / heads);
        if (steps > 1 && scores > Array.MaxLength)
            throw new ArgumentException($"Attention: a chunk of {steps} steps over {position + steps} keys needs {scores} values of scratch per thread, past an array's {Array.MaxLength}; feed it in shorter chunks.", nameof(steps));
        int keys = position + steps;
        bool relative = !relativeTable.IsEmpty;
        if (relative && alibi) throw new ArgumentException("Attention: a relative position table and ALiBi exclude each other (a layer's positions are one or the other).", nameof(alibi));
        if (alibi) RequirePositionBias(keys, 1, heads, softCap, (long)heads * RelativePositionKernel.Distances(keys), nameof(alibi));
        if (relative)
        {
            long distances = (long)heads * RelativePositionKernel.Distances(keys);
            RelativePositionKernel.RequireExpand(keys, heads, relativeBuckets, relativeMaxDistance, relativeTable.Length, distances, bidirectional: false);
            RequirePositionBias(keys, 1, heads, softCap, distances, "relativeTable");
        }
        Append(steps, batch, width, heads, keyValueHeads, position, qkv, cache);
        if ((long)steps * batch == 0) return;
        if (!relative && !alibi)
        {
            CachedHeads(steps, batch, width, heads, keyValueHeads, scale, position, qkv, cache, weights, context, window, softCap, null);
            return;
        }
        // the bias by distance over the keys, −(keys − 1) … keys − 1, from the table or ALiBi's slopes (a pooled array: no
        // allocation once warm)
        float[] bias = System.Buffers.ArrayPool<float>.Shared.Rent(heads * RelativePositionKernel.Distances(keys));
        try
        {
            if (relative) RelativePositionKernel.Expand(keys, heads, relativeBuckets, relativeMaxDistance, relativeTable, bias, bidirectional: false);
            else AlibiKernel.Expand(keys, heads, bias, alibiScale);
            fixed (float* pb = bias) CachedHeads(steps, batch, width, heads, keyValueHeads, scale, position, qkv, cache, weights, context, window, softCap, pb);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(bias);
        }
    }

    /// <summary>
    /// The heads of <see cref="CachedForward(int, int, int, int, int, float, int, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, float, ReadOnlySpan{float}, int, int, bool, float)"/>
    /// once the cache holds the new keys and values: the queries at position … over every key up to theirs, a position bias by
    /// distance [heads, 2 · keys − 1] added where <paramref name="positionBias"/> is not null.
    /// </summary>
    private static unsafe void CachedHeads(int steps, int batch, int width, int heads, int keyValueHeads, float scale, int position,
        ReadOnlySpan<float> qkv, Span<float> cache, Span<float> weights, Span<float> context, int window, float softCap, float* positionBias)
    {
        int keys = position + steps, kv = width / heads * keyValueHeads;
        fixed (float* pq = qkv, pc = cache, pw = weights, px = context)
        {
            var a = new HeadArgs
            {
                Steps = steps, Keys = keys, Batch = batch, Width = width, Heads = heads, KvHeads = keyValueHeads, QRow = width + 2 * kv, KRow = 2 * kv,
                Offset = position, Scale = scale, Causal = true, Window = window, SoftCap = softCap, Q = pq, K = pc, V = pc + kv, Weights = position == 0 ? pw : null, Context = px,
                PositionBias = positionBias,
            };
            GemmWorkers.Run(&ForwardPart, &a, Parts(steps, keys, batch, width, batch * heads));
        }
    }

    /// <summary>
    /// Appends the keys and values of <paramref name="qkv"/> [T, B, 3E] to <paramref name="cache"/> [capacity, B, 2E]
    /// after its first <paramref name="position"/> steps (a training pass from a fresh state leaves them for the steps
    /// that follow).
    /// </summary>
    public static void Append(int steps, int batch, int width, int position, ReadOnlySpan<float> qkv, Span<float> cache)
        => Append(steps, batch, width, 1, 1, position, qkv, cache);

    /// <summary>
    /// As above for grouped-query attention: the keys and values of <paramref name="qkv"/> [T, B, E + 2 · E_kv], E_kv =
    /// <paramref name="keyValueHeads"/> · E / <paramref name="heads"/>, to a cache [capacity, B, 2 · E_kv].
    /// </summary>
    public static void Append(int steps, int batch, int width, int heads, int keyValueHeads, int position, ReadOnlySpan<float> qkv, Span<float> cache)
    {
        RequireAppend(steps, batch, width, heads, keyValueHeads, position);
        long rows = (long)steps * batch;
        int kv = width / heads * keyValueHeads, row = width + 2 * kv;
        Require(qkv, rows * row, "qkv");
        Require(cache, ((long)position + steps) * batch * 2 * kv, "cache");
        for (int r = 0; r < rows; r++)
            qkv.Slice(r * row + width, 2 * kv).CopyTo(cache.Slice((position * batch + r) * 2 * kv, 2 * kv));
    }

    /// <summary>What <see cref="Append(int, int, int, int, int, int, ReadOnlySpan{float}, Span{float})"/> checks before it reads a value (the device's Append too).</summary>
    internal static void RequireAppend(int steps, int batch, int width, int heads, int keyValueHeads, int position)
    {
        if (steps < 0 || batch < 0 || width < 0 || position < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Attention: steps {steps}, batch {batch}, width {width} and position {position} are 0 or more.");
        RequireGroups(heads, keyValueHeads);
        if (width % heads != 0)
            throw new ArgumentException($"Attention: width {width} must be a positive multiple of heads {heads} (each head takes width / heads columns).", nameof(heads));
    }

    /// <summary>The width of self-attention's packed projections: the queries' E columns, then the keys' and values' E_kv each.</summary>
    public static int PackedWidth(int width, int heads, int keyValueHeads) => width + 2 * (width / heads * keyValueHeads);

    /// <summary>Key/value heads from 1 to the query heads, dividing them (each shared by heads / keyValueHeads query heads).</summary>
    internal static void RequireGroups(int heads, int keyValueHeads)
    {
        if (keyValueHeads < 1 || keyValueHeads > heads || heads % keyValueHeads != 0)
            throw new ArgumentException($"Attention: key/value heads {keyValueHeads} must divide the {heads} query head(s) (each shared by a group of them).", nameof(keyValueHeads));
    }

    /// <summary>The (sequence, head) pairs, <paramref name="units"/> of them, are independent: split them over the cores when there is enough work.</summary>
    private static int Parts(int steps, int keys, int batch, int width, int units) => GemmWorkers.Parts(units, (long)batch * steps * keys * width, 1L << 18);

    /// <summary>
    /// One call's operands. Queries are <c>Steps</c> rows per sequence, keys and values <c>Keys</c> rows (a causal query
    /// i sits at position <c>Offset</c> + i of the keys: stepping from a cache); row t of
    /// sequence b of the queries starts at <c>Q + (t·B + b)·QRow</c> (keys, values and their gradients alike), so one
    /// packed [T, B, 3E] buffer (self-attention) and three separate ones (cross-attention) are read the same way.
    /// </summary>
    private unsafe struct HeadArgs
    {
        public int Steps, Keys, Batch, Width, Heads, QRow, KRow, Offset;
        /// <summary>
        /// A sliding window: a causal query at position p sees keys p − Window &lt; j ≤ p, another the keys |j − p| ≤ Window / 2
        /// (ModernBERT's local attention); 0: every key it may see.
        /// </summary>
        public int Window;
        /// <summary>Key/value heads: as many as <c>Heads</c>, or fewer, each shared by a group of query heads in order (grouped-query attention).</summary>
        public int KvHeads;
        public float Scale;
        /// <summary>A soft cap on the scaled scores, cap · tanh(score / cap) before the softmax (Gemma 2's); 0: none.</summary>
        public float SoftCap;
        public bool Causal;
        /// <summary>The lengths pad the queries too (self-attention): a padded query adds nothing to dk and dv, and its dq is zero.</summary>
        public bool PaddedQueries;
        public int* Lengths;
        public float* Q, K, V, Weights, Mask, Context, DContext, DQ, DK, DV;
        /// <summary>A relative position bias by distance [heads, 2T − 1] added to the scaled scores, and back its gradient [B, heads, 2T − 1]; null: none.</summary>
        public float* PositionBias, DPositionBias;
    }

    /// <summary>How far the query rows, and the key and value rows, reach from their first element: up to the last row's E columns.</summary>
    private static (int Q, int K) ViewLengths(ref HeadArgs x) =>
        ((x.Steps - 1) * x.Batch * x.QRow + (x.Batch - 1) * x.QRow + x.Width, (x.Keys - 1) * x.Batch * x.KRow + (x.Batch - 1) * x.KRow + x.Width / x.Heads * x.KvHeads);

    /// <summary>
    /// Lengths, when given, are one per sequence and each 1 … <paramref name="keys"/> (a key-padding mask that hides every key
    /// has no softmax; a length outside had been clamped silently): every attention kernel's check, the classic scores' and the
    /// device's too.
    /// </summary>
    internal static void RequireLengths(ReadOnlySpan<int> lengths, int batch, int keys)
    {
        if (lengths.IsEmpty) return;
        if (lengths.Length < batch) throw new ArgumentException($"lengths: expected one length per sequence, {batch}, got {lengths.Length}.", nameof(lengths));
        Check.Lengths(lengths.Slice(0, batch), batch, keys, "lengths");
    }

    /// <summary>Refuses a buffer shorter than <paramref name="length"/> values, naming it (every attention kernel's check).</summary>
    internal static void Require(ReadOnlySpan<float> span, long length, string name) => RequireLength(span.Length, length, name);

    /// <summary>As <see cref="Require"/> from a buffer's length (the device's buffers too: one message for both backends).</summary>
    internal static void RequireLength(long actual, long length, string name)
    {
        if (actual < length) throw new ArgumentException($"{name}: expected at least {length} values, got {actual}.", name);
    }

    /// <summary>
    /// The shape every public method checks before it takes a pointer: steps, keys and batch of 0 or more, and a width that
    /// heads divide (each head takes width / heads columns: 10 columns over 3 heads left the last one unwritten).
    /// </summary>
    internal static void RequireHeads(int steps, long keys, int batch, int width, int heads)
    {
        if (steps < 0 || keys < 0 || batch < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Attention: steps {steps}, keys {keys} and batch {batch} are 0 or more.");
        if (keys > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(keys), keys, "Attention: more keys than an int counts.");
        if (heads < 1 || width < 1 || width % heads != 0)
            throw new ArgumentException($"Attention: width {width} must be a positive multiple of heads {heads} (each head takes width / heads columns).", nameof(heads));
    }

    /// <summary>The operands of self-attention: queries, keys and values side by side in one [T, B, 3E] buffer.</summary>
    private static unsafe HeadArgs SelfArgs(int steps, int batch, int width, int heads, int kvHeads, float scale, bool causal, int* lengths, float* qkv, float* dQkv)
    {
        int kv = width / heads * kvHeads, row = width + 2 * kv;
        return new()
        {
            Steps = steps, Keys = steps, Batch = batch, Width = width, Heads = heads, KvHeads = kvHeads, QRow = row, KRow = row, Scale = scale, Causal = causal,
            Lengths = lengths, PaddedQueries = lengths != null, Q = qkv, K = qkv + width, V = qkv + width + kv,
            DQ = dQkv, DK = dQkv == null ? null : dQkv + width, DV = dQkv == null ? null : dQkv + width + kv,
        };
    }

    private static unsafe void ForwardPart(void* state, int part, int parts)
    {
        ref HeadArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<HeadArgs>(state);
        int T = x.Steps, S = x.Keys, B = x.Batch, E = x.Width, heads = x.Heads, d = E / heads, ldq = B * x.QRow, ldk = B * x.KRow, pairs = B * heads;
        // a relative position bias spans the keys' distances, −(S − 1) … S − 1 (a pass's own steps, or a cache's keys)
        int group = heads / x.KvHeads, distances = RelativePositionKernel.Distances(S);
        var (first, end) = GemmWorkers.Range(pairs, part, parts);
        var (qLength, kLength) = ViewLengths(ref x);
        var qs = new ReadOnlySpan<float>(x.Q, qLength);
        var ks = new ReadOnlySpan<float>(x.K, kLength);
        var vs = new ReadOnlySpan<float>(x.V, kLength);
        // the weights are kept for back-propagation and inspection, or (stepping from a cache) live in this thread's scratch
        bool keep = x.Weights != null;
        var weights = keep ? new Span<float>(x.Weights, pairs * T * S) : default;
        var mask = x.Mask == null ? default : new ReadOnlySpan<float>(x.Mask, pairs * T * S);
        var context = new Span<float>(x.Context, T * B * E);
        var lengths = x.Lengths == null ? default : new ReadOnlySpan<int>(x.Lengths, B);
        int scratchLength = (x.Mask == null ? 0 : T * S) + (keep ? 0 : T * S);
        int gathered = T > 1 ? (T + 2 * S) * d : 0;
        Span<float> scratchAll = GemmWorkers.Scratch(scratchLength + gathered);
        Span<float> scratch = x.Mask == null ? default : scratchAll.Slice(0, T * S);
        Span<float> own = keep ? default : scratchAll.Slice(scratchLength - T * S, T * S);
        Span<float> qg = gathered == 0 ? default : scratchAll.Slice(scratchLength, T * d);
        Span<float> kg = gathered == 0 ? default : scratchAll.Slice(scratchLength + T * d, S * d);
        Span<float> vg = gathered == 0 ? default : scratchAll.Slice(scratchLength + (T + S) * d, S * d);
        int gatheredFor = -1; // the (sequence, key/value head) whose keys and values kg and vg hold: a group's query heads share them
        for (int pair = first; pair < end; pair++)
        {
            int b = pair / heads, h = pair % heads, kvPair = b * x.KvHeads + h / group;
            Span<float> a = keep ? weights.Slice(pair * T * S, T * S) : own;
            ReadOnlySpan<float> q = qs.Slice(b * x.QRow + h * d), k = ks.Slice(b * x.KRow + h / group * d), v = vs.Slice(b * x.KRow + h / group * d);
            // scores = q kᵀ · scale, masked above the diagonal when causal, then a softmax per row. Only the valid keys are
            // read, here and in A · v: what padded steps hold, NaN included, cannot reach a valid step's output.
            int keys = lengths.IsEmpty ? S : Math.Clamp(lengths[b], 1, S);
            // the head's rows side by side (Gather), unless one query steps from a cache: it reads each key and value once
            int ld = T > 1 ? d : ldk;
            if (T > 1)
            {
                Gather(q, ldq, T, d, qg);
                if (kvPair != gatheredFor)
                {
                    Gather(k, ldk, keys, d, kg);
                    Gather(v, ldk, keys, d, vg);
                    gatheredFor = kvPair;
                }
                q = qg;
                k = kg;
                v = vg;
            }
            // a causal head runs in blocks of query rows, each against the keys its last row may see, skipping the scores
            // above the diagonal's blocks (3/8 of the products at 128 steps, 15/32 at 512); the keys left out weigh exactly 0,
            // so the values are the same, but for the grouping of sums longer than a k-block (a rounding's difference); a
            // sliding window's head too, each block against the keys its rows' windows span
            int block = x.Causal || x.Window > 0 ? CausalBlock : T, ldRow = T > 1 ? d : ldq;
            for (int i0 = 0; i0 < T; i0 += block)
            {
                int rows = Math.Min(block, T - i0);
                int reach = Valid(x.Offset + i0 + rows - 1, S, x.Causal, x.Window, lengths, b);
                // with a sliding window, the keys from the block's first row's first on (0 without one)
                int lo = First(x.Offset + i0, Valid(x.Offset + i0, S, x.Causal, x.Window, lengths, b), x.Window, x.Causal);
                Span<float> ab = a.Slice(i0 * S, rows * S);
                Gemm.MatMulTransBTuned(rows, reach - lo, d, q.Slice(i0 * ldRow), ldRow, k.Slice(lo * ld), ld, ab.Slice(lo), S, accumulate: false);
                for (int i = 0; i < rows; i++)
                {
                    Span<float> row = ab.Slice(i * S, S);
                    int valid = Valid(x.Offset + i0 + i, S, x.Causal, x.Window, lengths, b), start = First(x.Offset + i0 + i, valid, x.Window, x.Causal);
                    Span<float> live = row.Slice(start, valid - start);
                    if (x.SoftCap > 0f)
                    {
                        Activations.Cap(live, x.Scale / x.SoftCap, x.SoftCap);
                        Activations.ScaledSoftmax(live, 1f);
                    }
                    else if (x.PositionBias != null)
                    {
                        // q·k · scale + bias[h, j − p + S − 1], p the query's position: the keys' biases lie in order from the first key's distance
                        var bias = new ReadOnlySpan<float>(x.PositionBias + (h * distances + start - (x.Offset + i0 + i) + S - 1), valid - start);
                        TensorPrimitives.MultiplyAdd(live, x.Scale, bias, live);
                        Activations.ScaledSoftmax(live, 1f);
                    }
                    else Activations.ScaledSoftmax(live, x.Scale);
                    row.Slice(0, start).Clear();
                    row.Slice(valid).Clear();
                }
                // context = A · v (A after dropout in training), into this head's columns
                ReadOnlySpan<float> used = ab;
                if (!mask.IsEmpty)
                {
                    Span<float> dropped = scratch.Slice(i0 * S, rows * S);
                    TensorPrimitives.Multiply(ab, mask.Slice(pair * T * S + i0 * S, rows * S), dropped);
                    used = dropped;
                }
                Gemm.MatMul(rows, d, reach - lo, used.Slice(lo), S, v.Slice(lo * ld), ld, context.Slice((i0 * B + b) * E + h * d), B * E, accumulate: false);
            }
        }
    }

    /// <summary>
    /// Query rows a causal head takes at once (<see cref="ForwardPart"/>, <see cref="BackwardPart"/>): a block reads the keys
    /// up to its last row's position, so the products skip about (1 − 1/blocks) / 2 of the scores above the diagonal; a
    /// multiple of the 512- and 256-bit tiles' columns (32, 16) and of the 8-row tile's rows.
    /// </summary>
    internal const int CausalBlock = 32;

    /// <summary>
    /// From d(context) [T, B, E] writes d(qkv) [T, B, 3E]. <paramref name="weights"/> are the softmax weights of the
    /// forward pass and <paramref name="mask"/> its dropout mask (empty when none). Split over the cores like Forward
    /// (<paramref name="scratch"/> is not used).
    /// </summary>
    public static void Backward(int steps, int batch, int width, int heads, float scale, bool causal,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv, Span<float> scratch) =>
        Backward(steps, batch, width, heads, scale, causal, default, qkv, weights, mask, dContext, dQkv, scratch);

    /// <summary>
    /// As above for padded sequences of the given lengths (see Forward). A non-empty <paramref name="dPositionBias"/>
    /// [B, heads, 2T − 1] receives the scores' gradients by distance, each sequence's summed over its queries (the relative
    /// position bias's, for <see cref="RelativePositionKernel.Collect"/>).
    /// </summary>
    public static void Backward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv, Span<float> scratch, int window = 0,
        float softCap = 0f, Span<float> dPositionBias = default) =>
        Backward(steps, batch, width, heads, heads, scale, causal, lengths, qkv, weights, mask, dContext, dQkv, scratch, window, softCap, dPositionBias);

    /// <summary>
    /// As above for grouped-query attention (see the grouped <c>Forward</c>): d(qkv) [T, B, E + 2 · E_kv], each key/value head's
    /// gradients summed over the query heads that share it. With a <paramref name="softCap"/>, the capped scores' slope
    /// 1 − tanh² comes from the scores recomputed from q and k (the weights kept are the softmax's).
    /// </summary>
    public static unsafe void Backward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv, Span<float> scratch, int window = 0,
        float softCap = 0f, Span<float> dPositionBias = default)
    {
        RequireSelf(steps, batch, width, heads, keyValueHeads, causal, window, lengths, qkv.Length, weights.Length, mask.Length, dContext.Length, dQkv.Length);
        RequireCap(softCap);
        RequirePositionBias(steps, batch, heads, softCap, dPositionBias.IsEmpty ? -1 : dPositionBias.Length, "dPositionBias");
        long rows = (long)steps * batch;
        if (rows == 0) return;
        fixed (float* pq = qkv, pw = weights, pm = mask, pdc = dContext, pdq = dQkv, pdb = dPositionBias)
        fixed (int* pl = lengths)
        {
            HeadArgs a = SelfArgs(steps, batch, width, heads, keyValueHeads, scale, causal, lengths.IsEmpty ? null : pl, pq, pdq);
            a.Weights = pw;
            a.Mask = mask.IsEmpty ? null : pm;
            a.DContext = pdc;
            a.Window = window;
            a.SoftCap = softCap;
            a.DPositionBias = dPositionBias.IsEmpty ? null : pdb;
            GemmWorkers.Run(&BackwardPart, &a, Parts(steps, steps, batch, width, batch * keyValueHeads));
        }
    }

    /// <summary>
    /// Back through the heads, split over the cores by (sequence, key/value head): each query head of the group writes its dq,
    /// and their dk and dv are added into the shared head's (the first writes, the others add).
    /// </summary>
    private static unsafe void BackwardPart(void* state, int part, int parts)
    {
        ref HeadArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<HeadArgs>(state);
        int T = x.Steps, S = x.Keys, B = x.Batch, E = x.Width, heads = x.Heads, d = E / heads, ldq = B * x.QRow, ldk = B * x.KRow, pairs = B * heads;
        int group = heads / x.KvHeads, distances = RelativePositionKernel.Distances(T);
        var (first, end) = GemmWorkers.Range(B * x.KvHeads, part, parts);
        var (qLength, kLength) = ViewLengths(ref x);
        var qs = new ReadOnlySpan<float>(x.Q, qLength);
        var ks = new ReadOnlySpan<float>(x.K, kLength);
        var vs = new ReadOnlySpan<float>(x.V, kLength);
        var dqs = new Span<float>(x.DQ, qLength);
        var dks = new Span<float>(x.DK, kLength);
        var dvs = new Span<float>(x.DV, kLength);
        var weights = new ReadOnlySpan<float>(x.Weights, pairs * T * S);
        var mask = x.Mask == null ? default : new ReadOnlySpan<float>(x.Mask, pairs * T * S);
        var dContext = new ReadOnlySpan<float>(x.DContext, T * B * E);
        var lengths = x.Lengths == null ? default : new ReadOnlySpan<int>(x.Lengths, B);
        bool capped = x.SoftCap > 0f;
        Span<float> scratch = GemmWorkers.Scratch((capped ? 3 : 2) * T * S + 2 * (T + S) * d);
        Span<float> dropped = scratch.Slice(0, T * S), da = scratch.Slice(T * S, T * S);
        Span<float> qg = scratch.Slice(2 * T * S, T * d), dcg = scratch.Slice(2 * T * S + T * d, T * d);
        Span<float> kg = scratch.Slice(2 * T * S + 2 * T * d, S * d), vg = scratch.Slice(2 * T * S + 2 * T * d + S * d, S * d);
        Span<float> raw = capped ? scratch.Slice(2 * T * S + 2 * (T + S) * d, T * S) : default; // the scores before the cap
        for (int kvPair = first; kvPair < end; kvPair++)
        {
            int b = kvPair / x.KvHeads, g = kvPair % x.KvHeads;
            // only the valid keys are read, as in Forward: a padded batch does less work, and what padded keys hold (NaN
            // included) reaches no gradient; the padded keys' rows of dk and dv are zero. In self-attention the lengths pad
            // the queries too: only the valid queries' rows are read (of q, the weights and d(context)), and a padded
            // query's row of dq is zero.
            int keys = lengths.IsEmpty ? S : Math.Clamp(lengths[b], 1, S);
            int queries = x.PaddedQueries ? Math.Min(keys, T) : T;
            Gather(ks.Slice(b * x.KRow + g * d), ldk, keys, d, kg);
            Gather(vs.Slice(b * x.KRow + g * d), ldk, keys, d, vg);
            Span<float> dv = dvs.Slice(b * x.KRow + g * d), dk = dks.Slice(b * x.KRow + g * d);
            for (int h = g * group; h < (g + 1) * group; h++)
            {
                int pair = b * heads + h;
                bool shared = h > g * group; // a later head of the group adds to the key/value head's gradients
                ReadOnlySpan<float> p = weights.Slice(pair * T * S, T * S);
                ReadOnlySpan<float> m = mask.IsEmpty ? default : mask.Slice(pair * T * S, T * S);
                Gather(qs.Slice(b * x.QRow + h * d), ldq, queries, d, qg);
                Gather(dContext.Slice(b * E + h * d), B * E, queries, d, dcg);
                ReadOnlySpan<float> used = p;
                if (!m.IsEmpty)
                {
                    TensorPrimitives.Multiply(p, m, dropped);
                    used = dropped;
                }
                // the relative position bias's gradient by distance, this sequence's and head's: the scores' gradients summed along
                // each diagonal j − i of the rows below
                Span<float> dBias = x.DPositionBias == null ? default : new Span<float>(x.DPositionBias + (long)pair * distances, distances);
                dBias.Clear();
                // A causal head runs in blocks of rows (queries) for dA and dq and of columns (keys) for dv and dk, each against
                // what it may see: a block of queries the keys up to its last one, a block of keys the queries from its first on
                // (the blocks the forward pass took, so every score they read was written here or cleared by the softmax's step back)
                int block = x.Causal || x.Window > 0 ? CausalBlock : Math.Max(T, keys);
                for (int i0 = 0; i0 < queries; i0 += block)
                {
                    // dA = d(context) · vᵀ, then through the dropout mask (its columns past the valid keys are left from before:
                    // the softmax's step back clears them)
                    int rows = Math.Min(block, queries - i0);
                    int reach = Valid(i0 + rows - 1, S, x.Causal, x.Window, lengths, b), lo = First(i0, Valid(i0, S, x.Causal, x.Window, lengths, b), x.Window, x.Causal);
                    Span<float> dab = da.Slice(i0 * S, rows * S);
                    Gemm.MatMulTransBTuned(rows, reach - lo, d, dcg.Slice(i0 * d), d, vg.Slice(lo * d), d, dab.Slice(lo), S, accumulate: false);
                    if (!m.IsEmpty) TensorPrimitives.Multiply(dab, m.Slice(i0 * S, rows * S), dab);
                    // a soft cap's slope needs the scores before it: q kᵀ again, as the forward pass computed them
                    if (capped) Gemm.MatMulTransBTuned(rows, reach - lo, d, qg.Slice(i0 * d), d, kg.Slice(lo * d), d, raw.Slice(i0 * S + lo), S, accumulate: false);
                    for (int i = 0; i < rows; i++)
                    {
                        // softmax backward: dS = P ⊙ (dP − Σ dP ⊙ P), then the score scale; zero outside a sliding window
                        int valid = Valid(i0 + i, S, x.Causal, x.Window, lengths, b), start = First(i0 + i, valid, x.Window, x.Causal);
                        if (dBias.IsEmpty) Activations.SoftmaxBackward(dab.Slice(i * S + start, S - start), p.Slice((i0 + i) * S + start, S - start), valid - start, x.Scale);
                        else
                        {
                            // d(score before the scale) is the bias's gradient too: added along the row's distances, then scaled
                            Span<float> ds = dab.Slice(i * S + start, valid - start);
                            Activations.SoftmaxBackward(dab.Slice(i * S + start, S - start), p.Slice((i0 + i) * S + start, S - start), valid - start, 1f);
                            Span<float> along = dBias.Slice(start - (i0 + i) + T - 1, valid - start);
                            TensorPrimitives.Add(along, ds, along);
                            TensorPrimitives.Multiply(ds, x.Scale, ds);
                        }
                        // through the cap: d(score) ⊙= 1 − tanh²(score · scale / cap)
                        if (capped) Activations.CapSlope(raw.Slice((i0 + i) * S + start, valid - start), x.Scale / x.SoftCap, dab.Slice(i * S + start, valid - start));
                        dab.Slice(i * S, start).Clear();
                    }
                    // dq = dS · k
                    Gemm.MatMul(rows, d, reach - lo, dab.Slice(lo), S, kg.Slice(lo * d), d, dqs.Slice(i0 * ldq + b * x.QRow + h * d), ldq, accumulate: false);
                }
                for (int t = queries; t < T; t++) dqs.Slice(t * ldq + b * x.QRow + h * d, d).Clear();
                for (int j0 = 0; j0 < keys; j0 += block)
                {
                    // dv = Aᵀ · d(context) and dk = dSᵀ · q over the queries that see these keys: a causal query i sees keys ≤ i
                    // (with a sliding window, the queries up to the last that sees the block's last key: i < j + window; without
                    // causality, the queries within half the window of the block's keys)
                    int cols = Math.Min(block, keys - j0), half = x.Window / 2;
                    int from = x.Causal ? j0 : x.Window > 0 ? Math.Max(j0 - half, 0) : 0;
                    int to = x.Window > 0 ? Math.Min(queries, j0 + cols - 1 + (x.Causal ? x.Window : half + 1)) : queries;
                    Gemm.MatMulTransA(cols, d, to - from, used.Slice(from * S + j0), S, dcg.Slice(from * d), d, dv.Slice(j0 * ldk), ldk, accumulate: shared);
                    Gemm.MatMulTransA(cols, d, to - from, da.Slice(from * S + j0), S, qg.Slice(from * d), d, dk.Slice(j0 * ldk), ldk, accumulate: shared);
                }
            }
            for (int t = keys; t < S; t++)
            {
                dk.Slice(t * ldk, d).Clear();
                dv.Slice(t * ldk, d).Clear();
            }
        }
    }

    /// <summary>
    /// Multi-head cross-attention (nn.MultiheadAttention with key = value = an encoder's outputs): the projected queries
    /// <paramref name="q"/> [T, B, E] attend over the projected keys <paramref name="k"/> and values <paramref name="v"/>
    /// [S, B, E] of each sequence's first <paramref name="lengths"/>[b] source steps (all when empty); writes the weights
    /// [B, heads, T, S] and the heads' outputs <paramref name="context"/> [T, B, E]. A non-empty <paramref name="mask"/>
    /// [B, heads, T, S] is dropout on the weights (training).
    /// </summary>
    public static unsafe void CrossForward(int steps, int sourceSteps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context)
    {
        RequireCross(steps, sourceSteps, batch, width, heads, lengths, q.Length, k.Length, v.Length, weights.Length, mask.Length, context.Length);
        if ((long)steps * batch == 0 || CrossAttentionKernel.NoSourceSteps(sourceSteps, context, (long)steps * batch * width)) return;
        fixed (float* pq = q, pk = k, pv = v, pw = weights, pm = mask, pc = context)
        fixed (int* pl = lengths)
        {
            var a = new HeadArgs
            {
                Steps = steps, Keys = sourceSteps, Batch = batch, Width = width, Heads = heads, KvHeads = heads, QRow = width, KRow = width, Scale = scale,
                Lengths = lengths.IsEmpty ? null : pl, Q = pq, K = pk, V = pv, Weights = pw, Mask = mask.IsEmpty ? null : pm, Context = pc,
            };
            GemmWorkers.Run(&ForwardPart, &a, Parts(steps, sourceSteps, batch, width, batch * heads));
        }
    }

    /// <summary>
    /// Back through <see cref="CrossForward"/>: from d(context) [T, B, E] writes the gradients of the projected queries
    /// <paramref name="dq"/> [T, B, E], keys <paramref name="dk"/> and values <paramref name="dv"/> [S, B, E].
    /// </summary>
    public static unsafe void CrossBackward(int steps, int sourceSteps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask,
        ReadOnlySpan<float> dContext, Span<float> dq, Span<float> dk, Span<float> dv)
    {
        RequireCross(steps, sourceSteps, batch, width, heads, lengths, q.Length, k.Length, v.Length, weights.Length, mask.Length, dContext.Length, dq.Length, dk.Length, dv.Length);
        long queries = (long)steps * batch * width, keys = (long)sourceSteps * batch * width;
        if (queries == 0) return;
        if (keys == 0)
        {
            dq.Slice(0, (int)queries).Clear(); // the context did not depend on the queries
            return;
        }
        fixed (float* pq = q, pk = k, pv = v, pw = weights, pm = mask, pdc = dContext, pdq = dq, pdk = dk, pdv = dv)
        fixed (int* pl = lengths)
        {
            var a = new HeadArgs
            {
                Steps = steps, Keys = sourceSteps, Batch = batch, Width = width, Heads = heads, KvHeads = heads, QRow = width, KRow = width, Scale = scale,
                Lengths = lengths.IsEmpty ? null : pl, Q = pq, K = pk, V = pv, Weights = pw, Mask = mask.IsEmpty ? null : pm,
                DContext = pdc, DQ = pdq, DK = pdk, DV = pdv,
            };
            GemmWorkers.Run(&BackwardPart, &a, Parts(steps, sourceSteps, batch, width, batch * heads));
        }
    }

    /// <summary>
    /// A head's <paramref name="rows"/> rows of <paramref name="d"/> values, <paramref name="ld"/> apart in a [T, B, ·] buffer,
    /// side by side in <paramref name="dst"/>: its products then read them where they lie (rows 3E · B apart fall in one
    /// cache set, and would be packed for every product). Each row is copied by an inlined vector loop, not by a span copy
    /// (a memmove call): a head's rows lie a page or more apart, so each row's read waits on memory, and the inlined loops
    /// keep many reads in flight where a memmove per row kept about one (a fifth of a causal head's time at 128 steps).
    /// </summary>
    private static unsafe void Gather(ReadOnlySpan<float> src, int ld, int rows, int d, Span<float> dst)
    {
        if (rows <= 0 || d <= 0) return;
        if (src.Length < (rows - 1L) * ld + d || dst.Length < (long)rows * d)
            throw new ArgumentException($"Attention: {rows} rows of {d} values {ld} apart need {(rows - 1L) * ld + d} values and room for {(long)rows * d}; got {src.Length} and {dst.Length}.");
        fixed (float* ps = src, pd = dst)
            for (int t = 0; t < rows; t++) Copy(ps + (nint)t * ld, pd + (nint)t * d, d);
    }

    private static unsafe void Copy(float* from, float* to, int n)
    {
        var kernel = new CopyKernel { From = from, To = to, Length = n };
        LaneLoop.Run(ref kernel);
    }

    private unsafe struct CopyKernel : ILaneKernel
    {
        public float* From, To;
        public int Length;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            for (; j <= Length - T.Count; j += T.Count) T.Store(T.Load(ref From[j], 0), ref To[j], 0);
            return j;
        }
    }

    /// <summary>Keys the query at position <paramref name="i"/> of sequence <paramref name="b"/> may attend to: 0 … valid − 1.</summary>
    private static int Valid(int i, int steps, bool causal, int window, ReadOnlySpan<int> lengths, int b) =>
        Reach(i, steps, causal, window, lengths.IsEmpty ? steps : lengths[b]);

    /// <summary>
    /// One past the last key the query at <paramref name="position"/> attends to: its own position's next when causal, without
    /// causality the last within half a sliding <paramref name="window"/> after it (|j − i| ≤ window / 2) or every key; never
    /// past the sequence's <paramref name="length"/> valid keys, and at least one. The device kernels call it too.
    /// </summary>
    internal static int Reach(int position, int keys, bool causal, int window, int length)
    {
        int valid = causal ? position + 1 : window > 0 ? Math.Min(position + window / 2 + 1, keys) : keys;
        return Math.Max(Math.Min(valid, length), 1);
    }

    /// <summary>
    /// The first key the query at <paramref name="position"/> attends to: with a sliding window of <paramref name="window"/>
    /// steps, position − window + 1 when causal (keys i − window &lt; j ≤ i), else position − window / 2 (|j − i| ≤ window / 2);
    /// without one 0; never past its last valid key (a padded query keeps one). The device kernels call it too (Min and Max,
    /// which ILGPU compiles; Math.Clamp may throw).
    /// </summary>
    internal static int First(int position, int valid, int window, bool causal) =>
        window > 0 ? Math.Min(Math.Max(position - (causal ? window - 1 : window / 2), 0), valid - 1) : 0;

    /// <summary>
    /// Multi-head self-attention's shapes and buffers, the host's and the device's: the heads, their groups, the window, the
    /// lengths, qkv [T, B, E + 2 · E_kv], the weights [B, heads, T, T] (−1: not kept) and a mask (when not empty) alike, the
    /// context or its gradient [T, B, E]; back, d(qkv) too.
    /// </summary>
    internal static void RequireSelf(int steps, int batch, int width, int heads, int keyValueHeads, bool causal, int window, ReadOnlySpan<int> lengths,
        long qkv, long weights, long mask, long context, long dQkv = -1)
    {
        RequireHeads(steps, steps, batch, width, heads);
        RequireGroups(heads, keyValueHeads);
        RequireWindow(window);
        RequireLengths(lengths, batch, steps);
        long rows = (long)steps * batch, pairs = (long)batch * heads * steps * steps, packed = rows * PackedWidth(width, heads, keyValueHeads);
        RequireLength(qkv, packed, "qkv");
        if (weights >= 0) RequireLength(weights, pairs, "weights");
        if (mask > 0) RequireLength(mask, pairs, "mask");
        RequireLength(context, rows * width, dQkv < 0 ? "context" : "dContext");
        if (dQkv >= 0) RequireLength(dQkv, packed, "dQkv");
    }

    /// <summary>
    /// Multi-head cross-attention's shapes and buffers, the host's and the device's: q [T, B, E], k and v [S, B, E], the weights
    /// [B, heads, T, S] and a mask (when not empty) alike, the context or its gradient [T, B, E]; back, dq, dk and dv too.
    /// </summary>
    internal static void RequireCross(int steps, int sourceSteps, int batch, int width, int heads, ReadOnlySpan<int> lengths, long q, long k, long v,
        long weights, long mask, long context, long dq = -1, long dk = -1, long dv = -1)
    {
        RequireHeads(steps, sourceSteps, batch, width, heads);
        RequireLengths(lengths, batch, sourceSteps);
        long queries = (long)steps * batch * width, keys = (long)sourceSteps * batch * width, pairs = (long)batch * heads * steps * sourceSteps;
        RequireLength(q, queries, "q");
        RequireLength(k, keys, "k");
        RequireLength(v, keys, "v");
        RequireLength(weights, pairs, "weights");
        if (mask > 0) RequireLength(mask, pairs, "mask");
        RequireLength(context, queries, dq < 0 ? "context" : "dContext");
        if (dq >= 0) RequireLength(dq, queries, "dq");
        if (dk >= 0) RequireLength(dk, keys, "dk");
        if (dv >= 0) RequireLength(dv, keys, "dv");
    }

    /// <summary>
    /// Attention pooling's shapes and buffers, the host's and the device's: the query [E], qkv [T, B, 3E], the weights [B, heads, T]
    /// and a mask (when not empty) alike, the context or its gradient [B, E]; back, d(qkv) [T, B, 3E] and d(query) [E] too.
    /// </summary>
    internal static void RequirePool(int steps, int batch, int width, int heads, ReadOnlySpan<int> lengths, long query, long qkv, long weights, long mask,
        long context, long dQkv = -1, long dQuery = -1)
    {
        RequireHeads(steps, steps, batch, width, heads);
        RequireLengths(lengths, batch, steps);
        long rows = (long)steps * batch, pairs = (long)batch * heads * steps;
        RequireLength(query, width, "query");
        RequireLength(qkv, rows * 3 * width, "qkv");
        RequireLength(weights, pairs, "weights");
        if (mask > 0) RequireLength(mask, pairs, "mask");
        RequireLength(context, (long)batch * width, dQkv < 0 ? "context" : "dContext");
        if (dQkv >= 0) RequireLength(dQkv, rows * 3 * width, "dQkv");
        if (dQuery >= 0) RequireLength(dQuery, width, "dQuery");
    }

    /// <summary>A soft cap on the scores of 0 (none) or a positive finite number: the host's and the device's check.</summary>
    internal static void RequireCap(float softCap)
    {
        if (softCap != 0f && !Activations.IsSoftCap(softCap))
            throw new ArgumentOutOfRangeException(nameof(softCap), softCap, "Attention: the scores' soft cap is 0 (none) or a positive finite number.");
    }

    /// <summary>
    /// A relative position bias (<paramref name="length"/> ≥ 0; −1: none) not beside a soft cap, [heads, 2T − 1] forward
    /// (<paramref name="batch"/> 1) and [B, heads, 2T − 1] back: the host's and the device's check.
    /// </summary>
    internal static void RequirePositionBias(int steps, int batch, int heads, float softCap, long length, string name)
    {
        if (length < 0) return;
        if (softCap > 0f) throw new ArgumentException("Attention: a relative position bias and a soft cap on the scores exclude each other (none of the models that have one has the other).", name);
        RequireLength(length, (long)Math.Max(batch, 0) * Math.Max(heads, 0) * RelativePositionKernel.Distances(steps), name);
    }

    /// <summary>A sliding window of 0 (none) or more steps: every attention kernel's check.</summary>
    internal static void RequireWindow(int window)
    {
        if (window < 0) throw new ArgumentOutOfRangeException(nameof(window), window, "Attention: a sliding window is 0 (none) or more steps.");
    }

    /// <summary>
    /// Attention pooling: the projected learned <paramref name="query"/> [E] attends over each sequence's keys (steps below
    /// its length); writes the weights [B, heads, T] and the pooled heads' outputs <paramref name="context"/> [B, E].
    /// </summary>
    public static void PoolForward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, Span<float> weights, Span<float> context) =>
        PoolForward(steps, batch, width, heads, scale, lengths, query, qkv, weights, default, context, default);

    /// <summary>
    /// As above with dropout on the weights: a non-empty <paramref name="mask"/> [B, heads, T] (training) multiplies them
    /// before they weigh the values (<paramref name="scratch"/> then holds T values).
    /// </summary>
    public static void PoolForward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context, Span<float> scratch)
    {
        RequirePool(steps, batch, width, heads, lengths, query.Length, qkv.Length, weights.Length, mask.Length, context.Length);
        if (!mask.IsEmpty) Require(scratch, steps, "scratch");
        int T = steps, B = batch, E = width, d = E / heads, ld = B * 3 * E;
        for (int b = 0; b < B; b++)
        {
            int valid = lengths.IsEmpty ? T : lengths[b];
            for (int h = 0; h < heads; h++)
            {
                Span<float> a = weights.Slice((b * heads + h) * T, T);
                ReadOnlySpan<float> k = qkv.Slice(b * 3 * E + E + h * d), v = qkv.Slice(b * 3 * E + 2 * E + h * d);
                Gemm.MatMulTransB(1, valid, d, query.Slice(h * d), d, k, ld, a, T, accumulate: false);
                Span<float> live = a.Slice(0, valid);
                Activations.ScaledSoftmax(live, scale);
                a.Slice(valid).Clear();
                ReadOnlySpan<float> used = a;
                if (!mask.IsEmpty)
                {
                    Span<float> dropped = scratch.Slice(0, T);
                    TensorPrimitives.Multiply(a, mask.Slice((b * heads + h) * T, T), dropped);
                    used = dropped;
                }
                Gemm.MatMul(1, d, valid, used, T, v, ld, context.Slice(b * E + h * d), E, accumulate: false);
            }
        }
    }

    /// <summary>
    /// Back through the pooling: writes the keys' and values' gradients into <paramref name="dQkv"/> [T, B, 3E] (the query
    /// columns zero) and adds the projected query's gradient to <paramref name="dQuery"/> [E]. <paramref name="scratch"/> holds 2T values.
    /// </summary>
    public static void PoolBackward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> dContext, Span<float> dQkv,
        Span<float> dQuery, Span<float> scratch) =>
        PoolBackward(steps, batch, width, heads, scale, lengths, query, qkv, weights, default, dContext, dQkv, dQuery, scratch);

    /// <summary>As above through dropout on the weights (<paramref name="mask"/> [B, heads, T], empty when none).</summary>
    public static void PoolBackward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv,
        Span<float> dQuery, Span<float> scratch)
    {
        RequirePool(steps, batch, width, heads, lengths, query.Length, qkv.Length, weights.Length, mask.Length, dContext.Length, dQkv.Length, dQuery.Length);
        Require(scratch, (mask.IsEmpty ? 1L : 2L) * steps, "scratch");
        int T = steps, B = batch, E = width, d = E / heads, ld = B * 3 * E;
        dQkv.Slice(0, T * B * 3 * E).Clear();
        Span<float> ds = scratch.Slice(0, T);
        for (int b = 0; b < B; b++)
        {
            int valid = lengths.IsEmpty ? T : lengths[b];
            for (int h = 0; h < heads; h++)
            {
                ReadOnlySpan<float> a = weights.Slice((b * heads + h) * T, T);
                ReadOnlySpan<float> k = qkv.Slice(b * 3 * E + E + h * d), v = qkv.Slice(b * 3 * E + 2 * E + h * d);
                ReadOnlySpan<float> dc = dContext.Slice(b * E + h * d, d);
                ReadOnlySpan<float> m = mask.IsEmpty ? default : mask.Slice((b * heads + h) * T, T);
                ReadOnlySpan<float> used = a;
                if (!m.IsEmpty)
                {
                    Span<float> dropped = scratch.Slice(T, T);
                    TensorPrimitives.Multiply(a, m, dropped);
                    used = dropped;
                }
                // dv_t = (a ⊙ mask)_t dc; da_t = (dc · v_t) ⊙ mask_t
                Gemm.MatMulTransA(valid, d, 1, used, T, dc, d, dQkv.Slice(b * 3 * E + 2 * E + h * d), ld, accumulate: true);
                Gemm.MatMulTransB(1, valid, d, dc, d, v, ld, ds, T, accumulate: false);
                if (!m.IsEmpty) TensorPrimitives.Multiply(ds.Slice(0, valid), m.Slice(0, valid), ds.Slice(0, valid));
                // softmax backward, then the scale
                float dot = TensorPrimitives.Dot(ds.Slice(0, valid), a.Slice(0, valid));
                for (int t = 0; t < valid; t++) ds[t] = a[t] * (ds[t] - dot) * scale;
                // dk_t = ds_t q; dq += Σ_t ds_t k_t
                Gemm.MatMulTransA(valid, d, 1, ds, T, query.Slice(h * d), d, dQkv.Slice(b * 3 * E + E + h * d), ld, accumulate: true);
                Gemm.MatMul(1, d, valid, ds, T, k, ld, dQuery.Slice(h * d), d, accumulate: true);
            }
        }
    }
}
