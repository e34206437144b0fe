using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>
/// Attention with the classic scores (Luong et al. 2015; Bahdanau et al. 2015), one head. Each query x[t] ([T, B, Q]:
/// a decoder's steps, a layer's own steps, or one learned query per sequence for pooling) scores every memory step
/// m[s] ([S, B, M]: an encoder's outputs, or the layer's own input), a softmax over the steps below the sequence's
/// length (and, when causal, none after the query) gives the weights a[t, s] ([B, T, S]) and the context is
/// c[t] = Σ_s a[t, s] m[s] ([T, B, M]). Scores: dot x·k and scaled dot x·k / √Q with keys k = m (or, for Luong's
/// general score, k = m·Wᵀ computed by the caller), and additive vᵀ tanh(q[t] + k[s]) with the projections
/// q = x·W_qᵀ + b_q and k = m·W_kᵀ computed by the caller. All buffers are time-major.
/// </summary>
public static class CrossAttentionKernel
{
    /// <summary>
    /// Dot-product scores: weights[b, t, s] = softmax_s(scale · x[t, b] · keys[s, b]); context[t, b] = Σ_s weights · memory[s, b].
    /// <paramref name="keys"/> is [S, B, Q] (the memory itself for the dot scores); empty <paramref name="lengths"/> = all S steps valid.
    /// Stepping from a cache of <paramref name="position"/> steps, query t sits at position + t among the keys (for the causal
    /// mask), and <paramref name="weights"/> may be too short to keep the weights ([B, T, S]): they are then not kept.
    /// </summary>
    public static void DotForward(int steps, int sourceSteps, int batch, int queryWidth, int memoryWidth, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> x, ReadOnlySpan<float> keys, ReadOnlySpan<float> memory, Span<float> weights, Span<float> context, bool causal = false,
        ReadOnlySpan<float> mask = default, int position = 0)
    {
        int T = steps, S = sourceSteps, B = batch, Q = queryWidth, M = memoryWidth;
        Span<float> own = Scores(weights, B * T * S, T * S, mask);
        for (int b = 0; b < B; b++)
        {
            // Only the valid keys are read (the softmax gives the rest weight 0): what padded steps hold, NaN included, cannot reach the context.
            int valid = Valid(lengths, b, S);
            Span<float> a = own.IsEmpty ? weights.Slice(b * T * S, T * S) : own;
            Gemm.MatMulTransB(T, valid, Q, x.Slice(b * Q), B * Q, keys.Slice(b * Q), B * Q, a, S, accumulate: false);
            Softmax(a, T, S, scale, valid, causal, position);
            Gemm.MatMul(T, M, valid, Dropped(a, mask, b, T * S), S, memory.Slice(b * M), B * M, context.Slice(b * M), B * M, accumulate: false);
        }
    }

    /// <summary>
    /// Where one sequence's weights go when <paramref name="weights"/> cannot keep them all (a step continuing from a cache
    /// of <c>position</c> steps: the keys outnumber the queries): this thread's scratch (empty when they are kept).
    /// </summary>
    private static Span<float> Scores(Span<float> weights, int all, int one, ReadOnlySpan<float> mask)
    {
        if (weights.Length >= all) return default;
        if (!mask.IsEmpty) throw new ArgumentException("weights: dropout on the weights needs them kept for back-propagation.", nameof(weights));
        return GemmWorkers.Scratch(one);
    }

    /// <summary>
    /// The weights the context is made of: <paramref name="a"/> itself, or a ⊙ mask (dropout on the weights, training; the
    /// weights kept for inspection and back-propagation stay undropped), in a per-thread scratch.
    /// </summary>
    private static ReadOnlySpan<float> Dropped(ReadOnlySpan<float> a, ReadOnlySpan<float> mask, int b, int length)
    {
        if (mask.IsEmpty) return a;
        Span<float> used = GemmWorkers.Scratch(length);
        TensorPrimitives.Multiply(a, mask.Slice(b * length, length), used);
        return used;
    }

    /// <summary>
    /// The adjoint of <see cref="DotForward"/>: adds to <paramref name="dx"/> [T, B, Q], <paramref name="dKeys"/> [S, B, Q] and
    /// <paramref name="dMemory"/> [S, B, M] (for the dot scores the keys are the memory: pass the same buffer twice).
    /// <paramref name="scratch"/> holds T × S values.
    /// </summary>
    public static void DotBackward(int steps, int sourceSteps, int batch, int queryWidth, int memoryWidth, float scale, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> x, ReadOnlySpan<float> keys, ReadOnlySpan<float> memory, ReadOnlySpan<float> weights, ReadOnlySpan<float> dContext,
        Span<float> dx, Span<float> dKeys, Span<float> dMemory, Span<float> scratch, bool causal = false, ReadOnlySpan<float> mask = default)
    {
        int T = steps, S = sourceSteps, B = batch, Q = queryWidth, M = memoryWidth;
        Span<float> ds = scratch.Slice(0, T * S);
        for (int b = 0; b < B; b++)
        {
            ReadOnlySpan<float> a = weights.Slice(b * T * S, T * S);
            ReadOnlySpan<float> dc = dContext.Slice(b * M);
            // only the valid source steps are read, as in the forward pass: what padded steps hold (NaN included) reaches no
            // gradient, and their rows of d(memory) and d(keys) get nothing added
            int valid = Valid(lengths, b, S);
            // d(memory) += (a ⊙ mask)ᵀ · d(context); d(a) = (d(context) · memoryᵀ) ⊙ mask (its columns past the valid steps
            // are left from before: the softmax's step back clears them)
            Gemm.MatMulTransA(valid, M, T, Dropped(a, mask, b, T * S), S, dc, B * M, dMemory.Slice(b * M), B * M, accumulate: true);
            Gemm.MatMulTransB(T, valid, M, dc, B * M, memory.Slice(b * M), B * M, ds, S, accumulate: false);
            if (!mask.IsEmpty) TensorPrimitives.Multiply(ds, mask.Slice(b * T * S, T * S), ds);
            SoftmaxBackward(a, ds, T, S, scale, valid, causal);
            // dx += d(scores) · keys; d(keys) += d(scores)ᵀ · x
            Gemm.MatMul(T, Q, valid, ds, S, keys.Slice(b * Q), B * Q, dx.Slice(b * Q), B * Q, accumulate: true);
            Gemm.MatMulTransA(valid, Q, T, ds, S, x.Slice(b * Q), B * Q, dKeys.Slice(b * Q), B * Q, accumulate: true);
        }
    }

    /// <summary>
    /// Additive scores: weights[b, t, s] = softmax_s(v · tanh(q[t, b] + k[s, b])) with q [T, B, A] and k [S, B, A] the projected
    /// queries and keys; keeps the tanh values in <paramref name="hidden"/> [B, T, S, A] for back-propagation. Stepping from a cache
    /// (<paramref name="position"/>, weights too short to keep): as <see cref="DotForward"/>, neither weights nor tanh values are kept.
    /// </summary>
    public static void AdditiveForward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> memory, Span<float> hidden,
        Span<float> weights, Span<float> context, bool causal = false, ReadOnlySpan<float> mask = default, int position = 0)
    {
        int T = steps, S = sourceSteps, B = batch, A = units, M = memoryWidth;
        // stepping from a cache (weights too short to keep): one sequence's weights and tanh values at a time, in scratch
        Span<float> own = Scores(weights, B * T * S, T * S * (A + 1), mask);
        for (int b = 0; b < B; b++)
        {
            int valid = Valid(lengths, b, S);
            Span<float> a = own.IsEmpty ? weights.Slice(b * T * S, T * S) : own.Slice(0, T * S);
            Span<float> hiddenOfB = own.IsEmpty ? hidden.Slice(b * T * S * A, T * S * A) : own.Slice(T * S, T * S * A);
            for (int t = 0; t < T; t++)
            {
                ReadOnlySpan<float> qt = q.Slice((t * B + b) * A, A);
                for (int s = 0; s < Keys(valid, position + t, causal); s++)
                {
                    Span<float> h = hiddenOfB.Slice((t * S + s) * A, A);
                    TensorPrimitives.Add(qt, k.Slice((s * B + b) * A, A), h);
                    TensorPrimitives.Tanh(h, h);
                    a[t * S + s] = TensorPrimitives.Dot(v, h);
                }
            }
            Softmax(a, T, S, 1f, valid, causal, position);
            Gemm.MatMul(T, M, valid, Dropped(a, mask, b, T * S), S, memory.Slice(b * M), B * M, context.Slice(b * M), B * M, accumulate: false);
        }
    }

    /// <summary>
    /// The adjoint of <see cref="AdditiveForward"/>: adds to <paramref name="dq"/> [T, B, A], <paramref name="dk"/> [S, B, A],
    /// <paramref name="dv"/> [A] and <paramref name="dMemory"/> [S, B, M]. <paramref name="scratch"/> holds T × S values.
    /// </summary>
    public static void AdditiveBackward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> v, ReadOnlySpan<float> memory, ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights, ReadOnlySpan<float> dContext,
        Span<float> dq, Span<float> dk, Span<float> dv, Span<float> dMemory, Span<float> scratch, bool causal = false, ReadOnlySpan<float> mask = default)
    {
        int T = steps, S = sourceSteps, B = batch, A = units, M = memoryWidth;
        Span<float> ds = scratch.Slice(0, T * S);
        Span<float> dPre = A <= 1024 ? stackalloc float[A] : new float[A];
        for (int b = 0; b < B; b++)
        {
            int valid = Valid(lengths, b, S);
            ReadOnlySpan<float> a = weights.Slice(b * T * S, T * S);
            ReadOnlySpan<float> dc = dContext.Slice(b * M);
            // the valid source steps only, as the forward pass and the dot scores' step back read them
            Gemm.MatMulTransA(valid, M, T, Dropped(a, mask, b, T * S), S, dc, B * M, dMemory.Slice(b * M), B * M, accumulate: true);
            Gemm.MatMulTransB(T, valid, M, dc, B * M, memory.Slice(b * M), B * M, ds, S, accumulate: false);
            if (!mask.IsEmpty) TensorPrimitives.Multiply(ds, mask.Slice(b * T * S, T * S), ds);
            SoftmaxBackward(a, ds, T, S, 1f, valid, causal);
            for (int t = 0; t < T; t++)
            {
                Span<float> dqt = dq.Slice((t * B + b) * A, A);
                for (int s = 0; s < Keys(valid, t, causal); s++)
                {
                    float g = ds[t * S + s];
                    if (g == 0f) continue;
                    ReadOnlySpan<float> h = hidden.Slice(((b * T + t) * S + s) * A, A);
                    // d(score)/d(v) = h; d(pre) = g · v ⊙ (1 − h²), which reaches both q[t] and k[s]
                    TensorPrimitives.MultiplyAdd(h, g, dv, dv);
                    TensorPrimitives.Multiply(h, h, dPre);
                    TensorPrimitives.Subtract(1f, dPre, dPre);
                    TensorPrimitives.Multiply(dPre, v, dPre);
                    TensorPrimitives.Multiply(dPre, g, dPre);
                    TensorPrimitives.Add(dqt, dPre, dqt);
                    Span<float> dks = dk.Slice((s * B + b) * A, A);
                    TensorPrimitives.Add(dks, dPre, dks);
                }
            }
        }
    }

    /// <summary>Number of memory steps sequence <paramref name="b"/> attends over.</summary>
    private static int Valid(ReadOnlySpan<int> lengths, int b, int steps) => lengths.IsEmpty ? steps : Math.Clamp(lengths[b], 1, steps);

    /// <summary>Keys query <paramref name="t"/> sees: the valid ones, and under a causal mask none after itself.</summary>
    private static int Keys(int valid, int t, bool causal) => causal ? Math.Min(valid, t + 1) : valid;

    /// <summary>
    /// Row-wise softmax of scale · scores over the first <paramref name="valid"/> columns (causal: and none after the row's
    /// position, <paramref name="position"/> + its index); the rest get weight 0.
    /// </summary>
    private static void Softmax(Span<float> scores, int rows, int columns, float scale, int valid, bool causal, int position = 0)
    {
        for (int i = 0; i < rows; i++)
        {
            Span<float> row = scores.Slice(i * columns, columns);
            Span<float> live = row.Slice(0, Keys(valid, position + i, causal));
            Activations.ScaledSoftmax(live, scale);
            row.Slice(live.Length).Clear();
        }
    }

    /// <summary>In place: d(weights) → d(scores) = scale · a ⊙ (d(weights) − Σ d(weights) ⊙ a), zero beyond <paramref name="valid"/>.</summary>
    private static void SoftmaxBackward(ReadOnlySpan<float> weights, Span<float> grad, int rows, int columns, float scale, int valid, bool causal)
    {
        for (int i = 0; i < rows; i++)
            Activations.SoftmaxBackward(grad.Slice(i * columns, columns), weights.Slice(i * columns, columns), Keys(valid, i, causal), scale);
    }

    /// <summary>out[t, b] = [x[t, b]; context[t, b]]: the layer's output, [R, Q + M].</summary>
    public static void Concat(int rows, int queryWidth, int memoryWidth, ReadOnlySpan<float> x, ReadOnlySpan<float> context, Span<float> output)
    {
        int Q = queryWidth, M = memoryWidth, W = Q + M;
        for (int r = 0; r < rows; r++)
        {
            x.Slice(r * Q, Q).CopyTo(output.Slice(r * W, Q));
            context.Slice(r * M, M).CopyTo(output.Slice(r * W + Q, M));
        }
    }

    /// <summary>The adjoint of <see cref="Concat"/>: dx = dOut[:, :Q] (overwritten), dContext = dOut[:, Q:].</summary>
    public static void Split(int rows, int queryWidth, int memoryWidth, ReadOnlySpan<float> dOutput, Span<float> dx, Span<float> dContext)
    {
        int Q = queryWidth, M = memoryWidth, W = Q + M;
        for (int r = 0; r < rows; r++)
        {
            dOutput.Slice(r * W, Q).CopyTo(dx.Slice(r * Q, Q));
            dOutput.Slice(r * W + Q, M).CopyTo(dContext.Slice(r * M, M));
        }
    }
}
