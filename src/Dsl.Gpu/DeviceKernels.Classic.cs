using System;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dsl.Gpu;

// Attention with the classic scores (Luong's dot and general, Bahdanau's additive), one head, as
// Dsl.Kernels.CrossAttentionKernel: forward one thread per (sequence, query) — scores over the valid keys, softmax, the
// context; back, the scores' gradients per query, then one thread per element of each gradient written (memory, queries,
// keys, and the additive score's vector), each adding what its products give.
internal sealed partial class DeviceKernels
{
    private readonly Action<Index1D, ClassicViews, ClassicArgs> _classicForward, _classicScores, _classicMemory, _classicQueries, _classicKeys, _classicVector;

    /// <summary>Classic attention forward: one thread per (sequence, query).</summary>
    public void ClassicForward(ClassicViews views, ClassicArgs args)
    {
        int n = args.Batch * args.Steps;
        if (n > 0) _classicForward(n, views, args);
    }

    /// <summary>Classic attention backward: the scores' gradients, then d(memory), d(queries), d(keys) and (additive) d(v), each added to.</summary>
    public void ClassicBackward(ClassicViews views, ClassicArgs args)
    {
        int T = args.Steps, S = args.Keys, B = args.Batch;
        if (T == 0 || B == 0) return;
        _classicScores(B * T, views, args);
        _classicMemory(S * B * args.MemoryWidth, views, args);
        _classicQueries(T * B * args.Width, views, args);
        _classicKeys(S * B * args.Width, views, args);
        if (args.Additive != 0) _classicVector(args.Width, views, args);
    }

    /// <summary>The keys query t of sequence b attends over: the valid source steps (at least one), none after t when causal.</summary>
    private static int Live(int t, int b, ClassicArgs a, ArrayView<int> lengths)
    {
        int valid = a.HasLengths != 0 ? XMath.Clamp(lengths[b], 1, a.Keys) : a.Keys;
        return a.Causal != 0 ? XMath.Min(valid, t + 1) : valid;
    }

    /// <summary>
    /// One query: its scores (x·k, or vᵀ tanh(q + k) keeping the tanh values), the softmax of scale · scores over the live
    /// keys (the rest weigh 0), and the context Σ_s a ⊙ mask · memory[s].
    /// </summary>
    private static void ClassicForwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, W = a.Width, M = a.MemoryWidth;
        int b = index / T, t = index % T;
        int live = Live(t, b, a, v.Lengths);
        long row = ((long)b * T + t) * S, x = ((long)t * B + b) * W;
        float max = float.NegativeInfinity;
        for (int s = 0; s < live; s++)
        {
            long k = ((long)s * B + b) * W;
            float score = 0f;
            if (a.Additive != 0)
            {
                long hidden = (row + s) * W;
                for (int c = 0; c < W; c++)
                {
                    float h = DeviceKernels.Tanh(v.X[x + c] + v.K[k + c]);
                    v.Hidden[hidden + c] = h;
                    score += v.V[c] * h;
                }
            }
            else
            {
                for (int c = 0; c < W; c++) score += v.X[x + c] * v.K[k + c];
            }
            score *= a.Scale;
            v.Weights[row + s] = score;
            max = XMath.Max(max, score);
        }
        SoftmaxRow(v.Weights, row, live, S, max);
        long context = ((long)t * B + b) * M;
        for (int m = 0; m < M; m++)
        {
            float acc = 0f;
            for (int s = 0; s < live; s++)
                acc += v.Weights[row + s] * (a.HasMask != 0 ? v.Mask[row + s] : 1f) * v.Memory[((long)s * B + b) * M + m];
            v.Context[context + m] = acc;
        }
    }

    /// <summary>Back, one query: d(a) = (d(context)·memoryᵀ) ⊙ mask, through the softmax and the scale, into Scratch [B, T, S].</summary>
    private static void ClassicScoresBackwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, M = a.MemoryWidth;
        int b = index / T, t = index % T;
        int live = Live(t, b, a, v.Lengths);
        long row = ((long)b * T + t) * S, dc = ((long)t * B + b) * M;
        float dot = 0f;
        for (int s = 0; s < live; s++)
        {
            long memory = ((long)s * B + b) * M;
            float g = 0f;
            for (int m = 0; m < M; m++) g += v.DContext[dc + m] * v.Memory[memory + m];
            if (a.HasMask != 0) g *= v.Mask[row + s];
            v.Scratch[row + s] = g;
            dot += g * v.Weights[row + s];
        }
        SoftmaxBackwardRow(v.Scratch, v.Weights, row, live, S, dot, a.Scale);
    }

    /// <summary>Back, one element of the memory: d(memory)[s, b, m] += Σ_t (a ⊙ mask)[b, t, s] · d(context)[t, b, m].</summary>
    private static void ClassicMemoryBackwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, M = a.MemoryWidth;
        int m = index % M, rest = index / M, b = rest % B, s = rest / B;
        float acc = 0f;
        for (int t = 0; t < T; t++)
        {
            long at = ((long)b * T + t) * S + s;
            acc += v.Weights[at] * (a.HasMask != 0 ? v.Mask[at] : 1f) * v.DContext[((long)t * B + b) * M + m];
        }
        v.DMemory[index] += acc;
    }

    /// <summary>d(score)/d(pre-activation) of the additive score for unit c: v[c] (1 − h²).</summary>
    private static float AdditiveSlope(ClassicViews v, long hidden, int c)
    {
        float h = v.Hidden[hidden];
        return v.V[c] * (1f - h * h);
    }

    /// <summary>Back, one element of the queries: dx[t, b, c] += Σ_s d(score) · k[s, b, c] (additive: · v[c] (1 − h²)).</summary>
    private static void ClassicQueriesBackwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, W = a.Width;
        int c = index % W, rest = index / W, b = rest % B, t = rest / B;
        long row = ((long)b * T + t) * S;
        float acc = 0f;
        for (int s = 0; s < S; s++)
        {
            float g = v.Scratch[row + s];
            if (g == 0f) continue; // past the live keys (whose tanh values were never written)
            acc += g * (a.Additive != 0 ? AdditiveSlope(v, (row + s) * W + c, c) : v.K[((long)s * B + b) * W + c]);
        }
        v.DX[index] += acc;
    }

    /// <summary>Back, one element of the keys: dk[s, b, c] += Σ_t d(score) · x[t, b, c] (additive: · v[c] (1 − h²)).</summary>
    private static void ClassicKeysBackwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, W = a.Width;
        int c = index % W, rest = index / W, b = rest % B, s = rest / B;
        float acc = 0f;
        for (int t = 0; t < T; t++)
        {
            long at = ((long)b * T + t) * S + s;
            float g = v.Scratch[at];
            if (g == 0f) continue;
            acc += g * (a.Additive != 0 ? AdditiveSlope(v, at * W + c, c) : v.X[((long)t * B + b) * W + c]);
        }
        v.DK[index] += acc;
    }

    /// <summary>Back, one unit of the additive score's vector: dv[c] += Σ d(score) · h over every sequence, query and key.</summary>
    private static void ClassicVectorBackwardKernel(Index1D index, ClassicViews v, ClassicArgs a)
    {
        int c = index;
        long scores = (long)a.Batch * a.Steps * a.Keys;
        float acc = 0f;
        for (long at = 0; at < scores; at++)
        {
            float g = v.Scratch[at];
            if (g != 0f) acc += g * v.Hidden[at * a.Width + c];
        }
        v.DV[c] += acc;
    }

}

/// <summary>
/// The buffers of classic attention: the queries X [T, B, W] (the projected q for the additive score), keys K [S, B, W],
/// the memory [S, B, M], the additive score's vector V [W] and tanh values Hidden [B, T, S, W], the weights and dropout
/// mask [B, T, S], the context [T, B, M]; back, the gradients (added to) and the scores' gradients in Scratch [B, T, S].
/// </summary>
internal struct ClassicViews
{
    public ArrayView<float> X;
    public ArrayView<float> K;
    public ArrayView<float> Memory;
    public ArrayView<float> V;
    public ArrayView<float> Hidden;
    public ArrayView<float> Weights;
    public ArrayView<float> Mask;
    public ArrayView<float> Context;
    public ArrayView<float> DContext;
    public ArrayView<float> DX;
    public ArrayView<float> DK;
    public ArrayView<float> DMemory;
    public ArrayView<float> DV;
    public ArrayView<float> Scratch;
    public ArrayView<int> Lengths;
}

/// <summary>The sizes of classic attention: T queries, S keys, the batch, the score's width W (Q, or the additive units A), the memory's M.</summary>
internal struct ClassicArgs
{
    public int Steps;
    public int Keys;
    public int Batch;
    public int Width;
    public int MemoryWidth;
    public float Scale;
    public int Causal;
    public int HasLengths;
    public int HasMask;
    public int Additive;
}
