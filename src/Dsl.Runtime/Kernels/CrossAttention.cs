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
        RequireDot(T, S, B, Q, M, lengths, x, keys, memory, context, mask);
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "Attention: the steps the cache holds are 0 or more.");
        // the weights are kept unless a step continues from a cache (the keys then outnumber the queries' rows)
        if (position == 0) AttentionKernel.Require(weights, (long)B * T * S, "weights");
        if (NoSourceSteps(S, context, (long)T * B * M)) return;
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

    /// <summary>The dot scores' shapes and buffers (their lengths counted in longs), checked before anything is read or written.</summary>
    private static void RequireDot(int T, int S, int B, int Q, int M, ReadOnlySpan<int> lengths, ReadOnlySpan<float> x, ReadOnlySpan<float> keys,
        ReadOnlySpan<float> memory, ReadOnlySpan<float> context, ReadOnlySpan<float> mask)
    {
        if (T < 0 || S < 0 || B < 0 || Q < 0 || M < 0)
            throw new ArgumentOutOfRangeException(nameof(T), $"Dot attention: steps {T}, source steps {S}, batch {B}, query width {Q} and memory width {M} are 0 or more.");
        AttentionKernel.RequireLengths(lengths, B, S);
        AttentionKernel.Require(x, (long)T * B * Q, "x");
        AttentionKernel.Require(keys, (long)S * B * Q, "keys");
        AttentionKernel.Require(memory, (long)S * B * M, "memory");
        AttentionKernel.Require(context, (long)T * B * M, "context");
        if (!mask.IsEmpty) AttentionKernel.Require(mask, (long)B * T * S, "mask");
    }

    /// <summary>
    /// No source step to attend to (<paramref name="sourceSteps"/> = 0): each query's weighted sum is empty, so the first
    /// <paramref name="length"/> values of <paramref name="context"/> are zeros (what a product over 0 keys gives in PyTorch).
    /// </summary>
    internal static bool NoSourceSteps(int sourceSteps, Span<float> context, long length)
    {
        if (sourceSteps != 0) return false;
        context.Slice(0, checked((int)length)).Clear();
        return true;
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
    /// weights kept for inspection and back-propagation stay undropped), in <paramref name="into"/> or else a per-thread scratch.
    /// </summary>
    private static ReadOnlySpan<float> Dropped(ReadOnlySpan<float> a, ReadOnlySpan<float> mask, int b, int length, Span<float> into = default)
    {
        if (mask.IsEmpty) return a;
        Span<float> used = into.IsEmpty ? GemmWorkers.Scratch(length) : into.Slice(0, length);
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
        RequireDot(T, S, B, Q, M, lengths, x, keys, memory, dContext, mask);
        AttentionKernel.Require(weights, (long)B * T * S, "weights");
        AttentionKernel.Require(dx, (long)T * B * Q, "dx");
        AttentionKernel.Require(dKeys, (long)S * B * Q, "dKeys");
        AttentionKernel.Require(dMemory, (long)S * B * M, "dMemory");
        AttentionKernel.Require(scratch, (long)T * S, "scratch");
        if (S == 0) return; // the context was zeros: nothing to add
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
    /// The sequences are split over the cores; each (query, key) pair's tanh and score are one pass over its A units.
    /// </summary>
    public static unsafe void AdditiveForward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> memory, Span<float> hidden,
        Span<float> weights, Span<float> context, bool causal = false, ReadOnlySpan<float> mask = default, int position = 0)
    {
        int T = steps, S = sourceSteps, B = batch, A = units, M = memoryWidth;
        if (T < 0 || S < 0 || B < 0 || A < 1 || M < 0 || position < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Additive attention: steps {T}, source steps {S}, batch {B}, memory width {M} and position {position} are 0 or more, units {A} 1 or more.");
        // stepping from a cache (weights too short to keep): one sequence's weights and tanh values at a time, in each thread's
        // scratch; a pass from position 0 keeps them
        if (position == 0) AttentionKernel.Require(weights, (long)B * T * S, "weights");
        bool keep = weights.Length >= (long)B * T * S;
        if (!keep && !mask.IsEmpty) throw new ArgumentException("weights: dropout on the weights needs them kept for back-propagation.", nameof(weights));
        AttentionKernel.Require(q, (long)T * B * A, "q");
        AttentionKernel.Require(k, (long)S * B * A, "k");
        AttentionKernel.Require(v, A, "v");
        AttentionKernel.Require(memory, (long)S * B * M, "memory");
        AttentionKernel.Require(context, (long)T * B * M, "context");
        if (keep) AttentionKernel.Require(hidden, (long)B * T * S * A, "hidden");
        if (!mask.IsEmpty) AttentionKernel.Require(mask, (long)B * T * S, "mask"); // (read through a pointer: a short one must not pass)
        AttentionKernel.RequireLengths(lengths, B, S);
        if ((long)T * B == 0 || NoSourceSteps(S, context, (long)T * B * M)) return;
        fixed (float* pq = q, pk = k, pv = v, pm = memory, ph = hidden, pw = weights, pc = context, pmask = mask)
        fixed (int* pl = lengths)
        {
            var a = new AdditiveArgs
            {
                T = T, S = S, B = B, A = A, M = M, Position = position, Causal = causal, Keep = keep, Lengths = lengths.IsEmpty ? null : pl,
                Q = pq, K = pk, V = pv, Memory = pm, MemoryLength = memory.Length, Hidden = ph, Weights = pw, Context = pc, Mask = mask.IsEmpty ? null : pmask,
            };
            GemmWorkers.Run(&AdditiveForwardPart, &a, AdditiveParts(T, S, B, A));
        }
    }

    private static unsafe void AdditiveForwardPart(void* state, int part, int parts)
    {
        ref AdditiveArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<AdditiveArgs>(state);
        int T = x.T, S = x.S, B = x.B, A = x.A, M = x.M;
        var (first, end) = GemmWorkers.Range(B, part, parts);
        ReadOnlySpan<int> lengths = x.LengthsView;
        ReadOnlySpan<float> memory = x.MemoryView, mask = x.MaskView;
        var context = new Span<float>(x.Context, T * B * M);
        Span<float> own = x.Keep ? default : GemmWorkers.Scratch(T * S * (A + 1));
        fixed (float* po = own)
        for (int b = first; b < end; b++)
        {
            int valid = Valid(lengths, b, S);
            Span<float> a = x.Keep ? new Span<float>(x.Weights + (nint)b * T * S, T * S) : own.Slice(0, T * S);
            float* hiddenOfB = x.Keep ? x.Hidden + (nint)b * T * S * A : po + T * S;
            for (int t = 0; t < T; t++)
            {
                float* qt = x.Q + (nint)(t * B + b) * A;
                for (int s = 0; s < Keys(valid, x.Position + t, x.Causal); s++)
                    a[t * S + s] = AdditiveScore(qt, x.K + (nint)(s * B + b) * A, x.V, hiddenOfB + (nint)(t * S + s) * A, A);
            }
            Softmax(a, T, S, 1f, valid, x.Causal, x.Position);
            Gemm.MatMul(T, M, valid, Dropped(a, mask, b, T * S), S, memory.Slice(b * M), B * M, context.Slice(b * M), B * M, accumulate: false);
        }
    }

    /// <summary>
    /// The adjoint of <see cref="AdditiveForward"/>: adds to <paramref name="dq"/> [T, B, A], <paramref name="dk"/> [S, B, A],
    /// <paramref name="dv"/> [A] and <paramref name="dMemory"/> [S, B, M]. <paramref name="scratch"/> is not used (each thread
    /// keeps its own). The sequences are split over the cores; dv is summed per sequence, then the sequences' sums in order,
    /// so that one thread and all give the same bits.
    /// </summary>
    public static unsafe void AdditiveBackward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> v, ReadOnlySpan<float> memory, ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights, ReadOnlySpan<float> dContext,
        Span<float> dq, Span<float> dk, Span<float> dv, Span<float> dMemory, Span<float> scratch, bool causal = false, ReadOnlySpan<float> mask = default)
    {
        int T = steps, S = sourceSteps, B = batch, A = units, M = memoryWidth;
        if (T < 0 || S < 0 || B < 0 || A < 1 || M < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Additive attention: steps {T}, source steps {S}, batch {B} and memory width {M} are 0 or more, units {A} 1 or more.");
        AttentionKernel.Require(v, A, "v");
        AttentionKernel.Require(dv, A, "dv");
        AttentionKernel.Require(memory, (long)S * B * M, "memory");
        AttentionKernel.Require(dMemory, (long)S * B * M, "dMemory");
        AttentionKernel.Require(hidden, (long)B * T * S * A, "hidden");
        AttentionKernel.Require(weights, (long)B * T * S, "weights");
        AttentionKernel.Require(dContext, (long)T * B * M, "dContext");
        AttentionKernel.Require(dq, (long)T * B * A, "dq");
        AttentionKernel.Require(dk, (long)S * B * A, "dk");
        if (!mask.IsEmpty) AttentionKernel.Require(mask, (long)B * T * S, "mask");
        AttentionKernel.RequireLengths(lengths, B, S);
        if ((long)T * B == 0 || S == 0) return; // no source step: the context was zeros, nothing to add
        // each sequence's share of dv, summed in order once every part is done
        float[] partials = s_partials is { } held && held.Length >= B * A ? held : (s_partials = new float[B * A]);
        fixed (float* pv = v, pm = memory, ph = hidden, pw = weights, pdc = dContext, pdq = dq, pdk = dk, pdm = dMemory, pmask = mask, pp = partials)
        fixed (int* pl = lengths)
        {
            var a = new AdditiveArgs
            {
                T = T, S = S, B = B, A = A, M = M, Causal = causal, Keep = true, Lengths = lengths.IsEmpty ? null : pl,
                V = pv, Memory = pm, MemoryLength = memory.Length, Hidden = ph, Weights = pw, Mask = mask.IsEmpty ? null : pmask,
                DContext = pdc, DQ = pdq, DK = pdk, DMemory = pdm, DMemoryLength = dMemory.Length, Partials = pp,
            };
            GemmWorkers.Run(&AdditiveBackwardPart, &a, AdditiveParts(T, S, B, A));
        }
        for (int b = 0; b < B; b++) TensorPrimitives.Add(dv.Slice(0, A), partials.AsSpan(b * A, A), dv.Slice(0, A));
    }

    [ThreadStatic] private static float[]? s_partials;

    private static unsafe void AdditiveBackwardPart(void* state, int part, int parts)
    {
        ref AdditiveArgs x = ref System.Runtime.CompilerServices.Unsafe.AsRef<AdditiveArgs>(state);
        int T = x.T, S = x.S, B = x.B, A = x.A, M = x.M;
        var (first, end) = GemmWorkers.Range(B, part, parts);
        ReadOnlySpan<int> lengths = x.LengthsView;
        ReadOnlySpan<float> memory = x.MemoryView, mask = x.MaskView;
        var dMemory = new Span<float>(x.DMemory, x.DMemoryLength);
        var dContext = new ReadOnlySpan<float>(x.DContext, T * B * M);
        Span<float> scratch = GemmWorkers.Scratch(2 * T * S);
        Span<float> ds = scratch.Slice(0, T * S), dropped = scratch.Slice(T * S, T * S);
        for (int b = first; b < end; b++)
        {
            int valid = Valid(lengths, b, S);
            var a = new ReadOnlySpan<float>(x.Weights + (nint)b * T * S, T * S);
            ReadOnlySpan<float> dc = dContext.Slice(b * M);
            // the valid source steps only, as the forward pass and the dot scores' step back read them (the dropped weights
            // in this part's own buffer: the thread's scratch holds ds)
            Gemm.MatMulTransA(valid, M, T, Dropped(a, mask, b, T * S, dropped), S, dc, B * M, dMemory.Slice(b * M), B * M, accumulate: true);
            Gemm.MatMulTransB(T, valid, M, dc, B * M, memory.Slice(b * M), B * M, ds, S, accumulate: false);
            if (!mask.IsEmpty) TensorPrimitives.Multiply(ds, mask.Slice(b * T * S, T * S), ds);
            SoftmaxBackward(a, ds, T, S, 1f, valid, x.Causal);
            float* dvOfB = x.Partials + (nint)b * A;
            new Span<float>(dvOfB, A).Clear();
            for (int t = 0; t < T; t++)
            {
                float* dqt = x.DQ + (nint)(t * B + b) * A;
                for (int s = 0; s < Keys(valid, t, x.Causal); s++)
                {
                    float g = ds[t * S + s];
                    if (g == 0f) continue;
                    // d(score)/d(v) = h; d(pre) = g · v ⊙ (1 − h²), which reaches both q[t] and k[s]
                    AdditiveScoreBackward(x.Hidden + ((nint)(b * T + t) * S + s) * A, x.V, g, dvOfB, dqt, x.DK + (nint)(s * B + b) * A, A);
                }
            }
        }
    }

    /// <summary>Parts to split the sequences into: each core some, when there are at least two and enough pairs' units.</summary>
    private static int AdditiveParts(int steps, int sourceSteps, int batch, int units) => GemmWorkers.Parts(batch, (long)steps * sourceSteps * batch * units, 1L << 15);

    /// <summary>Pointers of one additive-attention call's operands (null = absent) for its parts.</summary>
    private unsafe struct AdditiveArgs
    {
        public int T, S, B, A, M, Position, MemoryLength, DMemoryLength;
        public bool Causal, Keep;
        public int* Lengths;
        public float* Q, K, V, Memory, Hidden, Weights, Context, Mask, DContext, DQ, DK, DMemory, Partials;

        /// <summary>The lengths (empty: all steps valid) as a span.</summary>
        public readonly ReadOnlySpan<int> LengthsView => Lengths == null ? default : new ReadOnlySpan<int>(Lengths, B);

        /// <summary>The memory [S, B, M] as a span.</summary>
        public readonly ReadOnlySpan<float> MemoryView => new(Memory, MemoryLength);

        /// <summary>The dropout mask on the weights [B, T, S] as a span (empty: none).</summary>
        public readonly ReadOnlySpan<float> MaskView => Mask == null ? default : new ReadOnlySpan<float>(Mask, B * T * S);
    }

    /// <summary>h = tanh(q + k) (stored), and the score v · h: one pass over the A units.</summary>
    private static unsafe float AdditiveScore(float* q, float* k, float* v, float* h, int units)
    {
        var kernel = new ScoreKernel { Q = q, K = k, V = v, H = h, Length = units };
        LaneLoop.Run(ref kernel);
        return kernel.Sum;
    }

    private unsafe struct ScoreKernel : ILaneKernel
    {
        public float* Q, K, V, H;
        public int Length;
        public float Sum;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T sum = T.Create(0f);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T h = CellMath.Tanh(T.Load(ref Q[j], 0) + T.Load(ref K[j], 0));
                T.Store(h, ref H[j], 0);
                sum = sum + T.Load(ref V[j], 0) * h;
            }
            Sum += T.Sum(sum);
            return j;
        }
    }

    /// <summary>dv += g · h; d = (1 − h²) · v · g; dq += d; dk += d: one pass over the A units, each lane the float operations of the formula in order.</summary>
    private static unsafe void AdditiveScoreBackward(float* h, float* v, float g, float* dv, float* dq, float* dk, int units)
    {
        var kernel = new ScoreBackwardKernel { H = h, V = v, G = g, DV = dv, DQ = dq, DK = dk, Length = units };
        LaneLoop.Run(ref kernel);
    }

    private unsafe struct ScoreBackwardKernel : ILaneKernel
    {
        public float* H, V, DV, DQ, DK;
        public float G;
        public int Length;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T g = T.Create(G), one = T.Create(1f);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T h = T.Load(ref H[j], 0);
                T.Store(h * g + T.Load(ref DV[j], 0), ref DV[j], 0);
                T d = (one - h * h) * T.Load(ref V[j], 0) * g;
                T.Store(T.Load(ref DQ[j], 0) + d, ref DQ[j], 0);
                T.Store(T.Load(ref DK[j], 0) + d, ref DK[j], 0);
            }
            return j;
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
