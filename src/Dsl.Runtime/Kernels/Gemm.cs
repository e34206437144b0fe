using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Single-precision matrix products C (+)= op(A) · op(B) on row-major matrices with leading
/// dimensions (row strides), so that a column slice of a wider buffer (one direction of a
/// bidirectional layer) is a matrix too. The transposed variants read the operands in place:
/// nothing is transposed in memory.
/// <para>
/// The kernel follows Goto and van de Geijn: B is packed into k-blocks of NR-column slivers and A
/// into MR-row slivers, and a register-blocked micro-kernel keeps an MR × NR tile of C in registers
/// (8 × 32 with <see cref="Vector512{T}"/>, 4 × 16 with <see cref="Vector256{T}"/>, chosen once at
/// start-up). Large products are split over the cores (<see cref="GemmWorkers"/>).
/// <see cref="GemmReference"/> is the scalar reference the kernel is tested against.
/// </para>
/// </summary>
public static unsafe class Gemm
{
    private const int KC = 256;   // depth of a packed block: an 8 × 256 A sliver and a 256 × 32 B sliver stay in L1
    private const int MC = 128;   // rows of A packed at once (L2)
    private const int NC = 2048;  // columns of B packed at once

    /// <summary>Rows × columns of the register tile, fixed by the widest vector this machine accelerates.</summary>
    internal static readonly int MR = Vector512.IsHardwareAccelerated ? 8 : 4;

    /// <summary>Columns of the register tile.</summary>
    internal static readonly int NR = Vector512.IsHardwareAccelerated ? 32 : 16;

    private static readonly bool s_vectorised = Vector256.IsHardwareAccelerated;

    [ThreadStatic] private static float[]? s_packedA;
    [ThreadStatic] private static float[]? s_packedB;

    /// <summary>
    /// Threads a large product is split over (PyTorch's <c>torch.set_num_threads</c>): the machine's cores
    /// (at most 8) by default; set 1 to stay on the calling thread.
    /// </summary>
    public static int Threads
    {
        get => GemmWorkers.Count;
        set => GemmWorkers.Count = value;
    }

    /// <summary>C[m, n] (+)= A[m, k] · B[k, n].</summary>
    public static void MatMul(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("B", b, k, n, ldb);
        Run(m, n, k, a, lda, 1, b, ldb, 1, c, ldc, accumulate);
    }

    /// <summary>C[m, n] (+)= Aᵀ · B, where A is stored [k, m] and B is [k, n].</summary>
    public static void MatMulTransA(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, k, m, lda);
        Require("B", b, k, n, ldb);
        Run(m, n, k, a, 1, lda, b, ldb, 1, c, ldc, accumulate);
    }

    /// <summary>C[m, n] (+)= A · Bᵀ, where A is [m, k] and B is stored [n, k] (a weight matrix [out, in]).</summary>
    public static void MatMulTransB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("B", b, n, k, ldb);
        Run(m, n, k, a, lda, 1, b, 1, ldb, c, ldc, accumulate);
    }

    /// <summary>Columns of a packed B of <paramref name="n"/> columns: n rounded up to the register tile.</summary>
    internal static int PackedWidth(int n) => RoundUp(n, NR);

    /// <summary>Floats needed to hold op(B) [k, n] packed by <see cref="PackB"/>.</summary>
    public static int PackedLength(int k, int n) => RoundUp(n, NR) * k;

    /// <summary>
    /// Packs op(B) [k, n] once for many products with <see cref="MatMulPacked"/>: B is stored [k, n], or
    /// [n, k] when <paramref name="transposed"/> (a weight matrix [out, in] used as Wᵀ). A recurrent layer
    /// packs its recurrent weights once per sequence instead of once per step.
    /// </summary>
    public static void PackB(int k, int n, ReadOnlySpan<float> b, int ldb, bool transposed, Span<float> packed)
    {
        Require("B", b, transposed ? n : k, transposed ? k : n, ldb);
        if (packed.Length < PackedLength(k, n)) throw new ArgumentException($"Gemm: packed B needs {PackedLength(k, n)} values, got {packed.Length}.", nameof(packed));
        if (k == 0 || n == 0) return;
        int nPad = RoundUp(n, NR);
        fixed (float* pb = b, pp = packed)
        {
            var job = new GemmJob(null, 0, 0, pb, transposed ? 1 : ldb, transposed ? ldb : 1, null, 0, 0, n, k);
            for (int pc = 0; pc < k; pc += KC)
                PackBlockB(job, pc, Math.Min(KC, k - pc), 0, n, pp + (nint)pc * nPad, NR);
        }
    }

    /// <summary>C[m, n] (+)= A[m, k] · op(B), with op(B) packed by <see cref="PackB"/>.</summary>
    public static void MatMulPacked(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packed, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("C", c, m, n, ldc);
        if (packed.Length < PackedLength(k, n)) throw new ArgumentException($"Gemm: packed B needs {PackedLength(k, n)} values, got {packed.Length}.", nameof(packed));
        if (!accumulate)
        {
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        }
        if (m == 0 || n == 0 || k == 0) return;
        fixed (float* pa = a, pp = packed, pc = c)
        {
            var job = new GemmJob(pa, lda, 1, null, 0, 0, pc, ldc, m, n, k) { Packed = pp, PackedN = RoundUp(n, NR) };
            // A per-step product with few rows is bound by reading the weights: split it early, so that each
            // core keeps its share of the packed weights in its own cache from step to step.
            if ((long)m * n * k >= GemmWorkers.ParallelThreshold / 16 && GemmWorkers.Count > 1) GemmWorkers.Split(job);
            else Execute(job);
        }
    }

    private static void Require(string name, ReadOnlySpan<float> span, int rows, int cols, int ld)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has negative size [{rows}, {cols}].");
        if (ld < cols) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has leading dimension {ld} < {cols} columns.");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (span.Length < need) throw new ArgumentException($"Gemm: {name} [{rows}, {cols}] with leading dimension {ld} needs {need} values, got {span.Length}.", name);
    }

    // A(i, p) = a[i·rsA + p·csA], B(p, j) = b[p·rsB + j·csB].
    private static void Run(int m, int n, int k, ReadOnlySpan<float> a, nint rsA, nint csA, ReadOnlySpan<float> b, nint rsB, nint csB, Span<float> c, int ldc, bool accumulate)
    {
        Require("C", c, m, n, ldc);
        if (!accumulate)
        {
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        }
        if (m == 0 || n == 0 || k == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = new GemmJob(pa, rsA, csA, pb, rsB, csB, pc, ldc, m, n, k);
            // A matrix-vector product is bound by reading B: it pays to split it sooner (the workers spin between steps).
            long threshold = IsRowWise(job) ? GemmWorkers.ParallelThreshold / 8 : GemmWorkers.ParallelThreshold;
            if ((long)m * n * k >= threshold && GemmWorkers.Count > 1) GemmWorkers.Split(job);
            else Execute(job);
        }
    }

    /// <summary>A product of one or two rows against B's contiguous rows: dot products beat packing.</summary>
    private static bool IsRowWise(in GemmJob job) => job.M <= 2 && job.CsB != 1 && job.RsB == 1 && job.Packed == null;

    /// <summary>Runs a product (or a part of one) on the calling thread.</summary>
    internal static void Execute(in GemmJob job)
    {
        if (IsRowWise(job)) Rows(job, 0, job.M);
        else Packed(job);
    }

    /// <summary>
    /// C += A·B for one or two rows when B's columns are contiguous in k (a weight matrix [out, in] used
    /// as Wᵀ): each output is a dot product, four at a time so that each row of A is loaded once per four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(in GemmJob job, int i0, int i1)
    {
        int k = job.K;
        for (int i = i0; i < i1; i++)
        {
            float* ci = job.C + (nint)i * job.Ldc;
            float* ai = job.A + i * job.RsA;
            if (job.CsA != 1 || !Vector256.IsHardwareAccelerated)
            {
                for (int j = 0; j < job.N; j++)
                {
                    float* bj = job.B + j * job.CsB;
                    float s = 0;
                    for (int p = 0; p < k; p++) s += ai[p * job.CsA] * bj[p * job.RsB];
                    ci[j] += s;
                }
                continue;
            }
            int jj = 0;
            for (; jj + 4 <= job.N && Vector512.IsHardwareAccelerated && k >= 16; jj += 4)
            {
                float* b0 = job.B + jj * job.CsB, b1 = b0 + job.CsB, b2 = b1 + job.CsB, b3 = b2 + job.CsB;
                Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 16 <= k; p += 16)
                {
                    Vector512<float> a = Vector512.Load(ai + p);
                    s0 = Vector512.FusedMultiplyAdd(a, Vector512.Load(b0 + p), s0);
                    s1 = Vector512.FusedMultiplyAdd(a, Vector512.Load(b1 + p), s1);
                    s2 = Vector512.FusedMultiplyAdd(a, Vector512.Load(b2 + p), s2);
                    s3 = Vector512.FusedMultiplyAdd(a, Vector512.Load(b3 + p), s3);
                }
                float t0 = Vector512.Sum(s0), t1 = Vector512.Sum(s1), t2 = Vector512.Sum(s2), t3 = Vector512.Sum(s3);
                for (; p < k; p++)
                {
                    float a = ai[p];
                    t0 += a * b0[p]; t1 += a * b1[p]; t2 += a * b2[p]; t3 += a * b3[p];
                }
                ci[jj] += t0; ci[jj + 1] += t1; ci[jj + 2] += t2; ci[jj + 3] += t3;
            }
            for (; jj + 4 <= job.N; jj += 4)
            {
                float* b0 = job.B + jj * job.CsB, b1 = b0 + job.CsB, b2 = b1 + job.CsB, b3 = b2 + job.CsB;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    Vector256<float> a = Vector256.Load(ai + p);
                    s0 = Vector256.FusedMultiplyAdd(a, Vector256.Load(b0 + p), s0);
                    s1 = Vector256.FusedMultiplyAdd(a, Vector256.Load(b1 + p), s1);
                    s2 = Vector256.FusedMultiplyAdd(a, Vector256.Load(b2 + p), s2);
                    s3 = Vector256.FusedMultiplyAdd(a, Vector256.Load(b3 + p), s3);
                }
                float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    float a = ai[p];
                    t0 += a * b0[p]; t1 += a * b1[p]; t2 += a * b2[p]; t3 += a * b3[p];
                }
                ci[jj] += t0; ci[jj + 1] += t1; ci[jj + 2] += t2; ci[jj + 3] += t3;
            }
            for (; jj < job.N; jj++) ci[jj] += TensorPrimitives.Dot(new ReadOnlySpan<float>(ai, k), new ReadOnlySpan<float>(job.B + jj * job.CsB, k));
        }
    }

    /// <summary>The blocked, packed product on the calling thread (a job may be a slice of a larger product).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Packed(in GemmJob job)
    {
        int mr = MR, nr = NR;
        int ncMax = Math.Min(NC, RoundUp(job.N, nr));
        int mcMax = Math.Min(MC, RoundUp(job.M, mr));
        int kcMax = Math.Min(KC, job.K);
        bool prepacked = job.Packed != null;
        float[] packedB = prepacked ? Array.Empty<float>() : s_packedB is { } pbuf && pbuf.Length >= ncMax * kcMax ? pbuf : (s_packedB = new float[Math.Max(ncMax * kcMax, 4096)]);
        float[] packedA = s_packedA is { } pabuf && pabuf.Length >= mcMax * kcMax ? pabuf : (s_packedA = new float[Math.Max(mcMax * kcMax, 4096)]);
        float* tile = stackalloc float[8 * 32];
        fixed (float* bp = packedB, ap = packedA)
        {
            for (int jc = 0; jc < job.N; jc += NC)
            {
                int nc = Math.Min(NC, job.N - jc);
                for (int pc = 0; pc < job.K; pc += KC)
                {
                    int kc = Math.Min(KC, job.K - pc);
                    float* blockB = bp;
                    if (prepacked) blockB = job.Packed + (nint)pc * job.PackedN + (nint)(job.PackedColumn + jc) * kc;
                    else PackBlockB(job, pc, kc, jc, nc, bp, nr);
                    for (int ic = 0; ic < job.M; ic += MC)
                    {
                        int mc = Math.Min(MC, job.M - ic);
                        PackA(job, ic, mc, pc, kc, ap, mr);
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int nrr = Math.Min(nr, nc - jr);
                            float* bs = blockB + (nint)jr * kc;
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int mrr = Math.Min(mr, mc - ir);
                                float* cs = job.C + (nint)(ic + ir) * job.Ldc + jc + jr;
                                float* asl = ap + (nint)ir * kc;
                                if (mr == 8 && mrr == 1) Kernel1x32(kc, asl, bs, cs, nrr, tile);
                                else if (mr == 8) Kernel8x32(kc, asl, bs, cs, job.Ldc, mrr, nrr, tile);
                                else if (s_vectorised) Kernel4x16(kc, asl, bs, cs, job.Ldc, mrr, nrr, tile);
                                else KernelScalar(kc, asl, bs, cs, job.Ldc, mrr, nrr, mr, nr);
                            }
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    // B block [kc, nc] → slivers of nr columns, each [kc, nr] contiguous, zero-padded past n.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBlockB(in GemmJob job, int pc, int kc, int jc, int nc, float* dst, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)jr * kc;
            float* src = job.B + (nint)pc * job.RsB + (jc + jr) * job.CsB;
            if (job.CsB == 1 && cols == nr)
            {
                for (int p = 0; p < kc; p++, d += nr)
                {
                    float* s = src + p * job.RsB;
                    if (nr == 32)
                    {
                        Vector512.Load(s).Store(d);
                        Vector512.Load(s + 16).Store(d + 16);
                    }
                    else
                    {
                        for (int j = 0; j < nr; j++) d[j] = s[j];
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, d += nr)
                {
                    float* s = src + p * job.RsB;
                    int j = 0;
                    for (; j < cols; j++) d[j] = s[j * job.CsB];
                    for (; j < nr; j++) d[j] = 0f;
                }
            }
        }
    }

    // A block [mc, kc] → slivers of mr rows, each stored k-major [kc, mr], zero-padded past m.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(in GemmJob job, int ic, int mc, int pc, int kc, float* dst, int mr)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (nint)ir * kc;
            float* src = job.A + (ic + ir) * job.RsA + pc * job.CsA;
            if (job.RsA == 1 && rows == mr && mr == 8)
            {
                // Aᵀ stored row-major: each p is 8 contiguous values.
                for (int p = 0; p < kc; p++, d += 8) Vector256.Load(src + p * job.CsA).Store(d);
                continue;
            }
            for (int p = 0; p < kc; p++, d += mr)
            {
                float* s = src + p * job.CsA;
                int r = 0;
                for (; r < rows; r++) d[r] = s[r * job.RsA];
                for (; r < mr; r++) d[r] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++, a += 8, b += 32)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> x = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        if (mr == 8 && nr == 32)
        {
            Add(c, c00, c01); Add(c + ldc, c10, c11); Add(c + 2 * ldc, c20, c21); Add(c + 3 * ldc, c30, c31);
            Add(c + 4 * ldc, c40, c41); Add(c + 5 * ldc, c50, c51); Add(c + 6 * ldc, c60, c61); Add(c + 7 * ldc, c70, c71);
            return;
        }
        // An edge tile: spill to the scratch tile and add only the valid part.
        c00.Store(tile); c01.Store(tile + 16); c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80); c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144); c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208); c70.Store(tile + 224); c71.Store(tile + 240);
        AddEdge(c, ldc, tile, 32, mr, nr);
    }

    // One row (a matrix-vector product, e.g. a batch-1 recurrent step): the 8-row tile would spend 7/8 of its FMAs on
    // padding, so this keeps two chains of two accumulators over the packed sliver instead.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel1x32(int kc, float* a, float* b, float* c, int nr, float* tile)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        int p = 0;
        for (; p + 1 < kc; p += 2, a += 16, b += 64)
        {
            Vector512<float> x = Vector512.Create(a[0]), y = Vector512.Create(a[8]);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + 48), c3);
        }
        if (p < kc)
        {
            Vector512<float> x = Vector512.Create(a[0]);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
        }
        c0 += c2;
        c1 += c3;
        if (nr == 32)
        {
            Add(c, c0, c1);
            return;
        }
        c0.Store(tile);
        c1.Store(tile + 16);
        for (int j = 0; j < nr; j++) c[j] += tile[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        (Vector512.Load(c) + x0).Store(c);
        (Vector512.Load(c + 16) + x1).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x16(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++, a += 4, b += 16)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        AddEdge(c, ldc, tile, 16, mr, nr);
    }

    private static void KernelScalar(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, int mrFull, int nrFull)
    {
        for (int r = 0; r < mr; r++)
        {
            for (int j = 0; j < nr; j++)
            {
                float s = 0;
                for (int p = 0; p < kc; p++) s += a[p * mrFull + r] * b[p * nrFull + j];
                c[r * ldc + j] += s;
            }
        }
    }

    private static void AddEdge(float* c, nint ldc, float* tile, int tileCols, int mr, int nr)
    {
        for (int r = 0; r < mr; r++)
        {
            float* cr = c + r * ldc;
            float* tr = tile + r * tileCols;
            for (int j = 0; j < nr; j++) cr[j] += tr[j];
        }
    }
}

/// <summary>One product C += A·B as pointers and strides: A(i, p) = A[i·RsA + p·CsA], B(p, j) = B[p·RsB + j·CsB].</summary>
/// <remarks>When <see cref="Packed"/> is set, B is already packed (<see cref="Gemm.PackB"/>) with rows of
/// <see cref="PackedN"/> and this job's column 0 is the packed matrix's column <see cref="PackedColumn"/>.</remarks>
internal readonly unsafe struct GemmJob(float* a, nint rsA, nint csA, float* b, nint rsB, nint csB, float* c, nint ldc, int m, int n, int k)
{
    public readonly float* A = a;
    public readonly nint RsA = rsA, CsA = csA;
    public readonly float* B = b;
    public readonly nint RsB = rsB, CsB = csB;
    public readonly float* C = c;
    public readonly nint Ldc = ldc;
    public readonly int M = m, N = n, K = k;
    public float* Packed { get; init; }
    public int PackedN { get; init; }
    public int PackedColumn { get; init; }

    /// <summary>Rows [i0, i1) of the product.</summary>
    public GemmJob Rows(int i0, int i1) =>
        new(A + i0 * RsA, RsA, CsA, B, RsB, CsB, C + i0 * Ldc, Ldc, i1 - i0, N, K) { Packed = Packed, PackedN = PackedN, PackedColumn = PackedColumn };

    /// <summary>Columns [j0, j1) of the product (j0 a multiple of the tile width when B is packed).</summary>
    public GemmJob Columns(int j0, int j1) =>
        new(A, RsA, CsA, B + j0 * CsB, RsB, CsB, C + j0, Ldc, M, j1 - j0, K) { Packed = Packed, PackedN = PackedN, PackedColumn = PackedColumn + j0 };
}

/// <summary>The obvious triple loops, in double precision: the reference <see cref="Gemm"/> is tested against.</summary>
public static class GemmReference
{
    /// <summary>C[m, n] (+)= op(A) · op(B), with op the transpose when asked.</summary>
    public static void MatMul(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c[i * ldc + j] : 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += (double)av * bv;
                }
                c[i * ldc + j] = (float)s;
            }
        }
    }
}
