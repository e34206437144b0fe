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
    /// <c>key_padding_mask</c>); every query, padded ones included, attends over the valid keys.
    /// </summary>
    public static unsafe void Forward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, Span<float> weights, ReadOnlySpan<float> mask, Span<float> context, Span<float> scratch)
    {
        fixed (float* pq = qkv, pw = weights, pm = mask, pc = context)
        fixed (int* pl = lengths)
        {
            var a = new HeadArgs
            {
                Steps = steps, Batch = batch, Width = width, Heads = heads, Scale = scale, Causal = causal, Lengths = lengths.IsEmpty ? null : pl,
                Qkv = pq, Weights = pw, Mask = mask.IsEmpty ? null : pm, Context = pc,
            };
            GemmWorkers.Run(&ForwardPart, &a, Parts(steps, batch, width, heads));
        }
    }

    /// <summary>The (sequence, head) pairs are independent: split them over the cores when there is enough work.</summary>
    private static int Parts(int steps, int batch, int width, int heads) =>
        GemmWorkers.Count > 1 && batch * heads >= 2 && (long)batch * steps * steps * width >= 1L << 18 ? Math.Min(GemmWorkers.Count, batch * heads) : 1;

    private unsafe struct HeadArgs
    {
        public int Steps, Batch, Width, Heads;
        public float Scale;
        public bool Causal;
        public int* Lengths;
        public float* Qkv, Weights, Mask, Context, DContext, DQkv;
    }

    private static unsafe void ForwardPart(void* state, int part, int parts)
    {
        ref HeadArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<HeadArgs>(state);
        int T = x.Steps, B = x.Batch, E = x.Width, heads = x.Heads, d = E / heads, ld = B * 3 * E, pairs = B * heads;
        var (first, end) = GemmWorkers.Range(pairs, part, parts);
        var qkv = new ReadOnlySpan<float>(x.Qkv, T * ld);
        var weights = new Span<float>(x.Weights, pairs * T * T);
        var mask = x.Mask == null ? default : new ReadOnlySpan<float>(x.Mask, pairs * T * T);
        var context = new Span<float>(x.Context, T * B * E);
        var lengths = x.Lengths == null ? default : new ReadOnlySpan<int>(x.Lengths, B);
        Span<float> scratch = x.Mask == null ? default : GemmWorkers.Scratch(T * T);
        for (int pair = first; pair < end; pair++)
        {
            int b = pair / heads, h = pair % heads;
            Span<float> a = weights.Slice(pair * T * T, T * T);
            ReadOnlySpan<float> q = qkv.Slice(b * 3 * E + h * d), k = qkv.Slice(b * 3 * E + E + h * d), v = qkv.Slice(b * 3 * E + 2 * E + h * d);
            // scores = q kᵀ · scale, masked above the diagonal when causal, then a softmax per row. Only the valid keys are
            // read, here and in A · v: what padded steps hold, NaN included, cannot reach a valid step's output.
            int keys = lengths.IsEmpty ? T : Math.Clamp(lengths[b], 1, T);
            Gemm.MatMulTransB(T, keys, d, q, ld, k, ld, a, T, accumulate: false);
            for (int i = 0; i < T; i++)
            {
                Span<float> row = a.Slice(i * T, T);
                int valid = Valid(i, T, x.Causal, lengths, b);
                Span<float> live = row.Slice(0, valid);
                TensorPrimitives.Multiply(live, x.Scale, live);
                Activations.StableSoftmax(live);
                row.Slice(valid).Clear();
            }
            // context = A · v (A after dropout in training), into this head's columns
            ReadOnlySpan<float> used = a;
            if (!mask.IsEmpty)
            {
                TensorPrimitives.Multiply(a, mask.Slice(pair * T * T, T * T), scratch);
                used = scratch;
            }
            Gemm.MatMul(T, d, keys, used, T, v, ld, context.Slice(b * E + h * d), B * E, accumulate: false);
        }
    }

    /// <summary>
    /// From d(context) [T, B, E] writes d(qkv) [T, B, 3E]. <paramref name="weights"/> are the softmax weights of the
    /// forward pass and <paramref name="mask"/> its dropout mask (empty when none). Split over the cores like Forward
    /// (<paramref name="scratch"/> is not used).
    /// </summary>
    public static void Backward(int steps, int batch, int width, int heads, float scale, bool causal,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv, Span<float> scratch) =>
        Backward(steps, batch, width, heads, scale, causal, default, qkv, weights, mask, dContext, dQkv, scratch);

    /// <summary>As above for padded sequences of the given lengths (see Forward).</summary>
    public static unsafe void Backward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> mask, ReadOnlySpan<float> dContext, Span<float> dQkv, Span<float> scratch)
    {
        fixed (float* pq = qkv, pw = weights, pm = mask, pdc = dContext, pdq = dQkv)
        fixed (int* pl = lengths)
        {
            var a = new HeadArgs
            {
                Steps = steps, Batch = batch, Width = width, Heads = heads, Scale = scale, Causal = causal, Lengths = lengths.IsEmpty ? null : pl,
                Qkv = pq, Weights = pw, Mask = mask.IsEmpty ? null : pm, DContext = pdc, DQkv = pdq,
            };
            GemmWorkers.Run(&BackwardPart, &a, Parts(steps, batch, width, heads));
        }
    }

    private static unsafe void BackwardPart(void* state, int part, int parts)
    {
        ref HeadArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<HeadArgs>(state);
        int T = x.Steps, B = x.Batch, E = x.Width, heads = x.Heads, d = E / heads, ld = B * 3 * E, pairs = B * heads;
        var (first, end) = GemmWorkers.Range(pairs, part, parts);
        var qkv = new ReadOnlySpan<float>(x.Qkv, T * ld);
        var weights = new ReadOnlySpan<float>(x.Weights, pairs * T * T);
        var mask = x.Mask == null ? default : new ReadOnlySpan<float>(x.Mask, pairs * T * T);
        var dContext = new ReadOnlySpan<float>(x.DContext, T * B * E);
        var dQkv = new Span<float>(x.DQkv, T * ld);
        var lengths = x.Lengths == null ? default : new ReadOnlySpan<int>(x.Lengths, B);
        Span<float> scratch = GemmWorkers.Scratch(2 * T * T);
        Span<float> dropped = scratch.Slice(0, T * T), da = scratch.Slice(T * T, T * T);
        for (int pair = first; pair < end; pair++)
        {
            int b = pair / heads, h = pair % heads;
            ReadOnlySpan<float> p = weights.Slice(pair * T * T, T * T);
            ReadOnlySpan<float> m = mask.IsEmpty ? default : mask.Slice(pair * T * T, T * T);
            ReadOnlySpan<float> q = qkv.Slice(b * 3 * E + h * d), k = qkv.Slice(b * 3 * E + E + h * d), v = qkv.Slice(b * 3 * E + 2 * E + h * d);
            ReadOnlySpan<float> dc = dContext.Slice(b * E + h * d);
            ReadOnlySpan<float> used = p;
            if (!m.IsEmpty)
            {
                TensorPrimitives.Multiply(p, m, dropped);
                used = dropped;
            }
            // dv = Aᵀ · d(context); dA = d(context) · vᵀ, then through the dropout mask
            Gemm.MatMulTransA(T, d, T, used, T, dc, B * E, dQkv.Slice(b * 3 * E + 2 * E + h * d), ld, accumulate: false);
            Gemm.MatMulTransB(T, T, d, dc, B * E, v, ld, da, T, accumulate: false);
            if (!m.IsEmpty) TensorPrimitives.Multiply(da, m, da);
            for (int i = 0; i < T; i++)
            {
                // softmax backward: dS = P ⊙ (dP − Σ dP ⊙ P), then the score scale
                Span<float> g = da.Slice(i * T, T);
                ReadOnlySpan<float> pi = p.Slice(i * T, T);
                int valid = Valid(i, T, x.Causal, lengths, b);
                float dot = TensorPrimitives.Dot(g.Slice(0, valid), pi.Slice(0, valid));
                for (int j = 0; j < valid; j++) g[j] = pi[j] * (g[j] - dot) * x.Scale;
                g.Slice(valid).Clear();
            }
            // dq = dS · k; dk = dSᵀ · q
            Gemm.MatMul(T, d, T, da, T, k, ld, dQkv.Slice(b * 3 * E + h * d), ld, accumulate: false);
            Gemm.MatMulTransA(T, d, T, da, T, q, ld, dQkv.Slice(b * 3 * E + E + h * d), ld, accumulate: false);
        }
    }

    /// <summary>Keys query <paramref name="i"/> of sequence <paramref name="b"/> may attend to: 0 … valid − 1.</summary>
    private static int Valid(int i, int steps, bool causal, ReadOnlySpan<int> lengths, int b)
    {
        int valid = causal ? i + 1 : steps;
        if (!lengths.IsEmpty) valid = Math.Min(valid, lengths[b]);
        return Math.Max(valid, 1);
    }

    /// <summary>
    /// Attention pooling: the projected learned <paramref name="query"/> [E] attends over each sequence's keys (steps below
    /// its length); writes the weights [B, heads, T] and the pooled heads' outputs <paramref name="context"/> [B, E].
    /// </summary>
    public static void PoolForward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, Span<float> weights, Span<float> context)
    {
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
                TensorPrimitives.Multiply(live, scale, live);
                Activations.StableSoftmax(live);
                a.Slice(valid).Clear();
                Gemm.MatMul(1, d, valid, a, T, v, ld, context.Slice(b * E + h * d), E, accumulate: false);
            }
        }
    }

    /// <summary>
    /// Back through the pooling: writes the keys' and values' gradients into <paramref name="dQkv"/> [T, B, 3E] (the query
    /// columns zero) and adds the projected query's gradient to <paramref name="dQuery"/> [E]. <paramref name="scratch"/> holds 2T values.
    /// </summary>
    public static void PoolBackward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> query, ReadOnlySpan<float> qkv, ReadOnlySpan<float> weights, ReadOnlySpan<float> dContext, Span<float> dQkv,
        Span<float> dQuery, Span<float> scratch)
    {
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
                // dv_t = a_t dc; da_t = dc · v_t
                Gemm.MatMulTransA(valid, d, 1, a, T, dc, d, dQkv.Slice(b * 3 * E + 2 * E + h * d), ld, accumulate: true);
                Gemm.MatMulTransB(1, valid, d, dc, d, v, ld, ds, T, accumulate: false);
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
