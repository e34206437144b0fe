using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// Single-precision matrix products C (+)= op(A) · op(B) on row-major matrices with leading
/// dimensions (row strides), so that a column slice of a wider buffer (one direction of a
/// bidirectional layer) is a matrix too. The transposed variants read the operands in place:
/// nothing is transposed in memory.
/// <para>
/// The kernel follows Goto and van de Geijn, as BLIS: B is packed into k-blocks of NR-column slivers and A
/// into MR-row slivers (on x64, A is read where it lies, unless it is Aᵀ with rows a multiple of 4 KB apart: <see cref="GemmJob.ReadsAInPlace"/>),
/// and a register-blocked micro-kernel keeps an MR × NR tile of C in registers. There is
/// one micro-kernel per vector width, its tile shaped by the register file (<see cref="GemmPath"/>): 8 × 32
/// with <see cref="Vector512{T}"/>, 6 × 16 with <see cref="Vector256{T}"/>, 6 × 8 with <see cref="Vector128{T}"/>
/// on x64 and 8 × 12 on Arm64, 4 × 4 scalar. The widest this process accelerates is used
/// (<see cref="MicroKernel"/>), with a cache blocking sized for this core's L1d and L2 (<see cref="CacheBlocking"/>). Large products are split over the cores (<see cref="GemmWorkers"/>).
/// <see cref="GemmReference"/> is the scalar reference every path is tested against.
/// </para>
/// <para>
/// C must not share memory with A, B or a bias row (nor a packed B with B): the products write C while they still read
/// their operands, tile by tile, so C written over A gives results that depend on the path, the vector width and the
/// threads (BLAS's rule too). Disjoint column slices of one buffer, as a bidirectional layer's directions are, are fine.
/// </para>
/// </summary>
public static unsafe class Gemm
{
    /// <summary>The micro-kernel and blocking this process uses, chosen from the vectors it accelerates.</summary>
    internal static readonly GemmPath Path = GemmPath.Select();

    /// <summary>The micro-kernel this process uses: vector width and register tile, e.g. <c>v512-8x32</c>, <c>v128-6x8</c>, <c>scalar-4x4</c>.</summary>
    public static string MicroKernel => Path.Name;

    /// <summary>
    /// The cache blocking this process uses and the caches it was sized for, e.g. <c>KC 384, MC 288, NC 4096 (L1d 48 KiB,
    /// L2 1 MiB, sysfs)</c>: the depth of a packed block, the rows of A and the columns of B packed at once.
    /// </summary>
    public static string CacheBlocking => $"KC {Path.KC}, MC {Path.MC}, NC {Path.NC} ({CacheSizes.Describe()})";

    // This thread's packing buffers (Aligned.Buffer: on a 64-byte boundary, grown once per thread and size).
    [ThreadStatic] private static float[]? s_packedA;
    [ThreadStatic] private static float[]? s_packedB;
    [ThreadStatic] private static float[]? s_pairs; // A's rows rearranged for B's bfloat16 pairs (DotColumnsPairs, DotColumnsPairsOfRows)

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
    public static void MatMul(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        MatMul(Path, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    /// <summary>C[m, n] (+)= Aᵀ · B, where A is stored [k, m] and B is [k, n].</summary>
    public static void MatMulTransA(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        MatMulTransA(Path, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    /// <summary>
    /// C[m, n] (+)= A · Bᵀ, where A is [m, k] and B is stored [n, k] (a weight matrix [out, in]), as floats or as bfloat16
    /// (<see cref="Weights"/>: widened as they are read, the sums in float).
    /// </summary>
    public static void MatMulTransB(int m, int n, int k, ReadOnlySpan<float> a, int lda, Weights b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        MatMulTransB(Path, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    /// <summary>
    /// C[m, n] = A · Bᵀ + 1 · biasᵀ (a dense layer's y = x · Wᵀ + b): the bias is where the first k-block's tiles start, so C is
    /// written once, neither cleared nor filled with the bias in a pass of its own.
    /// </summary>
    public static void MatMulTransB(int m, int n, int k, ReadOnlySpan<float> a, int lda, Weights b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc) =>
        MatMulTransB(Path, m, n, k, a, lda, b, ldb, bias, c, ldc);

    /// <summary>Floats needed to hold op(B) [k, n] packed by <see cref="PackB(int, int, Weights, int, bool, Span{float})"/>.</summary>
    public static int PackedLength(int k, int n) => PackedLength(Path, k, n);

    /// <summary>
    /// Packs op(B) [k, n] once for many products with <see cref="MatMulPacked(int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, Span{float}, int, bool)"/>:
    /// B is stored [k, n], or [n, k] when <paramref name="transposed"/> (a weight matrix [out, in] used as Wᵀ). A recurrent layer
    /// packs its recurrent weights once per sequence instead of once per step.
    /// </summary>
    public static void PackB(int k, int n, Weights b, int ldb, bool transposed, Span<float> packed) => PackB(Path, k, n, b, ldb, transposed, packed);

    /// <summary>
    /// C[m, n] (+)= A[m, k] · op(B), with op(B) packed by <see cref="PackB(int, int, Weights, int, bool, Span{float})"/>
    /// with the same k and n: the packed layout depends on both (its k-blocks' depth and their rounded width), and only the
    /// length is checked, so a B packed for another k or n gives wrong results, not an error.
    /// </summary>
    public static void MatMulPacked(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packed, Span<float> c, int ldc, bool accumulate) =>
        MatMulPacked(Path, m, n, k, a, lda, packed, c, ldc, accumulate);

    // The same on a given path: tests run every path this process supports, not only the one it selected, and small
    // products both where their operands lie and packed (direct: false).

    internal static void MatMul(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool direct = true)
    {
        Require("A", a, m, k, lda);
        Require("B", b, k, n, ldb);
        Run(path, m, n, k, a, lda, 1, b, ldb, 1, c, ldc, accumulate, direct);
    }

    internal static void MatMulTransA(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool direct = true)
    {
        Require("A", a, k, m, lda);
        Require("B", b, k, n, ldb);
        Run(path, m, n, k, a, 1, lda, b, ldb, 1, c, ldc, accumulate, direct);
    }

    internal static void MatMulTransB(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, int lda, Weights b, int ldb, Span<float> c, int ldc, bool accumulate, bool direct = true,
        int dotRows = RowWiseRows)
    {
        Require("A", a, m, k, lda);
        Require("B", b.Length, n, k, ldb);
        Run(path, m, n, k, a, lda, 1, b, 1, ldb, c, ldc, accumulate, direct, dotRows: dotRows);
    }

    /// <summary>
    /// <see cref="MatMulTransB(int, int, int, ReadOnlySpan{float}, int, Weights, int, Span{float}, int, bool)"/> where rows past
    /// two take the products attention's scores were tuned with (operands read where they lie, <see cref="IsDirect"/>, or
    /// blocked), not the dot products of a few rows against a weight matrix: those measured no faster there (session 50:
    /// attention forward 4.6–5.5 ms as tuned, 5.1–5.7 with the dot products, on a busy machine).
    /// </summary>
    internal static void MatMulTransBTuned(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        MatMulTransB(Path, m, n, k, a, lda, b, ldb, c, ldc, accumulate, dotRows: 2);

    internal static void MatMulTransB(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, int lda, Weights b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool direct = true)
    {
        Require("A", a, m, k, lda);
        Require("B", b.Length, n, k, ldb);
        if (bias.Length < n) throw new ArgumentException($"Gemm: the bias needs {n} values, got {bias.Length}.", nameof(bias));
        Run(path, m, n, k, a, lda, 1, b, 1, ldb, c, ldc, accumulate: false, direct, bias.Slice(0, n));
    }

    internal static int PackedLength(GemmPath path, int k, int n)
    {
        if (k < 0 || n < 0) throw new ArgumentOutOfRangeException(k < 0 ? nameof(k) : nameof(n), $"Gemm: op(B) [{k}, {n}]; its dimensions are 0 or more.");
        // in long: NR-padded columns × k past int.MaxValue wrapped round to a length a short buffer passed
        long length = ((long)n + path.NR - 1) / path.NR * path.NR * k;
        return length <= Array.MaxLength ? (int)length
            : throw new ArgumentException($"Gemm: op(B) [{k}, {n}] packed takes {length} values, more than one array holds ({Array.MaxLength}).");
    }

    internal static void PackB(GemmPath path, int k, int n, Weights b, int ldb, bool transposed, Span<float> packed)
    {
        Require("B", b.Length, transposed ? n : k, transposed ? k : n, ldb);
        if (packed.Length < PackedLength(path, k, n)) throw new ArgumentException($"Gemm: packed B needs {PackedLength(path, k, n)} values, got {packed.Length}.", nameof(packed));
        if (k == 0 || n == 0) return;
        int scaleStride = ScaleStride(b, transposed ? 1 : ldb, transposed ? ldb : 1, k);
        fixed (float* pb = b.RawFloats, pp = packed, pscales = b.RawScales)
        fixed (ushort* pb16 = b.RawBits)
        fixed (sbyte* pb8 = b.RawInt8)
        fixed (byte* pb4 = b.RawInt4)
        {
            var work = new PackWork
            {
                Job = Holding(new GemmJob(path, null, 0, 0, pb, transposed ? 1 : ldb, transposed ? ldb : 1, null, 0, 0, n, k), b, pb16, pb8, pb4, pscales, scaleStride),
                Packed = pp,
            };
            // A matrix packed for many steps (recurrent weights) is packed by every core, each the columns it will multiply
            // by: the cut of the steps' products, so that its share is in its own cache when the first step starts.
            (int parts, work.Chunk) = (long)k * n >= PackParallelThreshold && GemmWorkers.Count > 1 ? GemmWorkers.Cut(n, path.NR) : (1, n);
            // (work lives on this stack frame, which the parts' threads read while Run waits for them)
            void* state = Unsafe.AsPointer(ref work);
            if (parts > 1) GemmWorkers.Run(&PackPart, state, parts);
            else PackPart(state, 0, 1);
        }
    }

    /// <summary>Matrices of fewer values are packed on one thread (a 256 × 1024 one takes tens of microseconds).</summary>
    private const long PackParallelThreshold = 1L << 16;

    private struct PackWork
    {
        public GemmJob Job;
        public float* Packed;
        public int Chunk;
    }

    /// <summary>Packs the columns of <paramref name="part"/> (PackWork.Chunk each) into every k-block of the packed matrix.</summary>
    private static void PackPart(void* state, int part, int parts)
    {
        ref PackWork work = ref Unsafe.AsRef<PackWork>(state);
        ref readonly GemmJob job = ref work.Job;
        int jc = part * work.Chunk, nc = Math.Min(work.Chunk, job.N - jc);
        if (nc <= 0) return;
        int nPad = RoundUp(job.N, job.Path.NR), kb = job.Path.Depth(job.K);
        for (int pc = 0; pc < job.K; pc += kb)
        {
            int kc = Math.Min(kb, job.K - pc);
            PackBlockB(job, pc, kc, jc, nc, work.Packed + (nint)pc * nPad + (nint)jc * kc);
        }
    }

    internal static void MatMulPacked(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packed, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("C", c, m, n, ldc);
        if (packed.Length < PackedLength(path, k, n)) throw new ArgumentException($"Gemm: packed B needs {PackedLength(path, k, n)} values, got {packed.Length}.", nameof(packed));
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pp = packed, pc = c)
        {
            var job = new GemmJob(path, pa, lda, 1, null, 0, 0, pc, ldc, m, n, k) { Packed = pp, PackedN = RoundUp(n, path.NR), Accumulate = accumulate };
            if (k == 0)
            {
                if (!accumulate) Clear(job);
                return;
            }
            // A per-step product with few rows is bound by reading the weights: split it early, so that each
            // core keeps its share of the packed weights in its own cache from step to step.
            if ((long)m * n * k >= GemmWorkers.ParallelThreshold / 16 && GemmWorkers.Count > 1) GemmWorkers.Split(job);
            else Execute(job);
        }
    }

    /// <summary>
    /// C = 0, or the bias row in every row, before a product that does not write it: one of depth 0 (no k-block), or one the
    /// dot products run (they add).
    /// </summary>
    private static void Clear(in GemmJob job)
    {
        for (int i = 0; i < job.M; i++)
        {
            var row = new Span<float>(job.C + (nint)i * job.Ldc, job.N);
            if (job.Bias == null) row.Clear();
            else new ReadOnlySpan<float>(job.Bias, job.N).CopyTo(row);
        }
    }

    /// <summary>
    /// The largest m, n or k a product takes: the blocked loops step by a block (at most a few thousand) in int, and a block
    /// starting within one of int.MaxValue wrapped to a negative index (the loop never ended, or wrote before C).
    /// </summary>
    internal const int MaxDimension = int.MaxValue - (1 << 24);

    private static void Require(string name, ReadOnlySpan<float> span, int rows, int cols, int ld) => Require(name, span.Length, rows, cols, ld);

    private static void Require(string name, int length, int rows, int cols, int ld)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has negative size [{rows}, {cols}].");
        if (rows > MaxDimension || cols > MaxDimension)
            throw new ArgumentOutOfRangeException(name, $"Gemm: {name} is [{rows}, {cols}]; a product's sizes are at most {MaxDimension} each.");
        if (ld < cols) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has leading dimension {ld} < {cols} columns.");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need) throw new ArgumentException($"Gemm: {name} [{rows}, {cols}] with leading dimension {ld} needs {need} values, got {length}.", name);
    }

    // A(i, p) = a[i·rsA + p·csA], B(p, j) = b[p·rsB + j·csB].
    // B as bfloat16, 8- or 4-bit integers (Weights) leaves job.B null and sets job.B16, job.B8 or job.B4 (and its scales): the
    // products that take it widen its values as they read them (packing, or the dot products of a few rows), and the small products
    // read in place take floats only. 8-bit B is Bᵀ of a weight matrix [out, in] (rsB = 1), each column's run within one row;
    // 4-bit B too, each column starting a group.
    private static void Run(GemmPath path, int m, int n, int k, ReadOnlySpan<float> a, nint rsA, nint csA, Weights b, nint rsB, nint csB, Span<float> c, int ldc, bool accumulate, bool direct,
        ReadOnlySpan<float> bias = default, int dotRows = RowWiseRows)
    {
        Require("C", c, m, n, ldc);
        if (m == 0 || n == 0) return;
        int scaleStride = ScaleStride(b, rsB, csB, k);
        fixed (float* pa = a, pb = b.RawFloats, pc = c, pbias = bias, pscales = b.RawScales)
        fixed (ushort* pb16 = b.RawBits)
        fixed (sbyte* pb8 = b.RawInt8)
        fixed (byte* pb4 = b.RawInt4)
        {
            GemmJob job = Holding(new GemmJob(path, pa, rsA, csA, pb, rsB, csB, pc, ldc, m, n, k) { Accumulate = accumulate, Bias = bias.IsEmpty ? null : pbias, DotRows = dotRows },
                b, pb16, pb8, pb4, pscales, scaleStride);
            if (k == 0)
            {
                if (!accumulate) Clear(job);
                return;
            }
            if (direct && IsDirect(job))
            {
                Direct(job);
                return;
            }
            if (direct && IsDirectRow(job))
            {
                DirectRow(job);
                return;
            }
            // A product of a few rows is bound by reading B: it pays to split it sooner, once B itself is large (as for one or two
            // rows: 32 rows of a small B, [32 × 64 × 64], would otherwise go to the workers for well under a microsecond's work)
            bool split = IsRowWise(job) ? (long)m * n * k >= GemmWorkers.ParallelThreshold / 32 && (long)n * k >= GemmWorkers.ParallelThreshold / 64
                : (long)m * n * k >= GemmWorkers.ParallelThreshold;
            if (split && GemmWorkers.Count > 1) GemmWorkers.Split(job);
            else Execute(job);
        }
    }

    /// <summary>
    /// The step between the scales of 8- or 4-bit B's columns (runs of k along its rows: Bᵀ of a weight matrix, rsB = 1): a
    /// scale a column (8 bits) or its groups' (4 bits); 0 for others.
    /// </summary>
    private static int ScaleStride(Weights b, nint rsB, nint csB, int k)
    {
        if (!b.IsInt8 && !b.IsInt4) return 0;
        if (rsB != 1) throw new ArgumentException($"Gemm: {Weights.Describe(b.Precision)} are read as Bᵀ of a weight matrix (MatMulTransB, PackB transposed) only.", nameof(b));
        if (b.IsInt8) return b.ScaleStride(csB, k, "Gemm: B");
        if (csB % b.GroupSize != 0)
            throw new ArgumentException($"Gemm: B: 4-bit weights in groups of {b.GroupSize} are read as columns {csB} values apart: each column must start a group.", nameof(b));
        return (int)(csB / b.GroupSize);
    }

    /// <summary>
    /// <paramref name="job"/> (its B at <see cref="GemmJob.B"/>) reading <paramref name="b"/> as it is held: floats where they are,
    /// else <see cref="GemmJob.B"/> null and the bfloat16 bits, or the 8- or 4-bit values (and their scales), set at the pointers given.
    /// </summary>
    private static GemmJob Holding(GemmJob job, Weights b, ushort* bits, sbyte* int8, byte* int4, float* scales, int scaleStride) => b.Precision switch
    {
        Precision.Float32 => job,
        Precision.BFloat16 => job with { B = null, B16 = bits },
        Precision.Int4 => job with { B = null, B4 = int4, Scales = scales, ScaleStride = scaleStride, Group = b.GroupSize },
        _ => job with { B = null, B8 = int8, Scales = scales, ScaleStride = scaleStride },
    };

    /// <summary>
    /// A product below the split threshold and within one k-block, of at least two rows, whose A lies within
    /// <see cref="CompactSpan"/> (an attention head's, [64 × 64 × 32], on operands gathered per head): packing A and B, each
    /// read once, cost a third of the micro-kernel's time there, so A is read where it lies and B too when its rows are
    /// contiguous and compact (<see cref="Direct{K}"/>). Rows far apart take the blocked product (a head's rows of a
    /// [T, B, 3E] buffer are 96 KB apart), which packs B and, except on x64, A.
    /// </summary>
    private static bool IsDirect(in GemmJob job) =>
        job.Packed == null && job.B != null && job.M >= 2 && job.K <= job.Path.KC && (long)job.M * job.N * job.K < GemmWorkers.ParallelThreshold && !IsRowWise(job)
        && Extent(job.M, job.RsA, job.K, job.CsA) <= CompactSpan;

    /// <summary>The most floats an operand read in place may span (64 KB: within L2, and no rows a page apart beyond 16).</summary>
    private const long CompactSpan = 1 << 14;

    /// <summary>Floats from the first element of a [rows, cols] operand with these strides to its last.</summary>
    private static long Extent(int rows, nint rs, int cols, nint cs) => (rows - 1) * (long)rs + (cols - 1) * (long)cs + 1;

    /// <summary>Runs a small product where its operands lie (see <see cref="IsDirect"/>) on the calling thread.</summary>
    private static void Direct(in GemmJob job)
    {
        switch (job.Path.Id)
        {
            case GemmPath.Kernel.V512: Direct<Kernel512x8x32>(job); break;
            case GemmPath.Kernel.V256: Direct<Kernel256x6x16>(job); break;
            case GemmPath.Kernel.V128: Direct<Kernel128x6x8>(job); break;
            case GemmPath.Kernel.V128Arm: Direct<Kernel128x8x12>(job); break;
            default: Direct<KernelScalar4x4>(job); break;
        }
    }

    /// <summary>
    /// C (+)= A · B with A read where it lies (the micro-kernel broadcasts its values, whatever their strides) and B's
    /// column blocks too when its rows are contiguous and compact; else B is packed once (transposing, when it is stored
    /// transposed), and so is the last column block when it is narrower than the tile (a full-width read would pass the
    /// end of B's rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Direct<K>(in GemmJob job) where K : struct, IDirectKernel
    {
        int mr = K.MR, nr = K.NR, k = job.K;
        bool packAll = job.CsB != 1 || Extent(k, job.RsB, job.N, 1) > CompactSpan;
        int inPlace = packAll ? 0 : job.N / nr * nr; // columns read where they lie
        int packedColumns = job.N - inPlace;
        int need = RoundUp(packedColumns, nr) * k;
        float* bp = need == 0 ? null : Aligned.Buffer(ref s_packedB, need);
        float* tile = stackalloc float[K.MR * K.NR];
        if (packedColumns > 0) PackBlockB<K>(job, 0, k, inPlace, packedColumns, bp);
        for (int jr = 0; jr < job.N; jr += nr)
        {
            bool here = jr < inPlace;
            float* bs = here ? job.B + jr : bp + (nint)(jr - inPlace) * k;
            nint ldb = here ? job.RsB : nr;
            int nrr = Math.Min(nr, job.N - jr);
            for (int ir = 0; ir < job.M; ir += mr)
                K.RunStrided(k, job.A + ir * job.RsA, job.RsA, job.CsA, bs, ldb, job.C + ir * job.Ldc + jr, job.Ldc, Math.Min(mr, job.M - ir), nrr, tile, Init(job, 0, jr));
        }
    }

    /// <summary>
    /// One row against B's contiguous rows (a decoding step's attention weights times the cached values, [1 × d × S]),
    /// below the split threshold, on a vector path: B is read where it lies, each of its values used once, where the
    /// blocked product packed all of it for that single use (<see cref="DirectRow{T, K}"/>).
    /// </summary>
    private static bool IsDirectRow(in GemmJob job) =>
        job.M == 1 && job.CsB == 1 && job.Packed == null && job.B != null && (long)job.N * job.K < GemmWorkers.ParallelThreshold
        && job.Path.Id is GemmPath.Kernel.V512 or GemmPath.Kernel.V256 or GemmPath.Kernel.V128;

    private static void DirectRow(in GemmJob job)
    {
        switch (job.Path.Id)
        {
            case GemmPath.Kernel.V512: DirectRow<Lanes512, Kernel512x8x32>(job); break;
            case GemmPath.Kernel.V256: DirectRow<Lanes256, Kernel256x6x16>(job); break;
            case GemmPath.Kernel.V128: DirectRow<Lanes128, Kernel128x6x8>(job); break;
            default: throw new InvalidOperationException($"Gemm: the {job.Path} path has no direct one-row product.");
        }
    }

    /// <summary>
    /// C[1, n] (+)= a · B with B's full NR-column blocks read where they lie, the k-blocks and the row kernel of the blocked
    /// product (<see cref="IMicroKernel.RunRow"/>: 2 · T.Count = NR columns), so the same sums in the same order; the last,
    /// narrower block is packed, zero-padded, as there (a full-width read would pass the end of B's rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectRow<T, K>(in GemmJob job) where T : struct, ILanes<T> where K : struct, IMicroKernel
    {
        int nr = K.NR, KC = job.Path.Depth(job.K), full = job.N / nr * nr;
        float* bp = full < job.N ? Aligned.Buffer(ref s_packedB, nr * KC) : null;
        float* tile = stackalloc float[K.NR];
        for (int pc = 0; pc < job.K; pc += KC)
        {
            int kc = Math.Min(KC, job.K - pc);
            float* a = job.A + pc * job.CsA, b = job.B + pc * job.RsB;
            for (int jr = 0; jr < full; jr += nr) RowKernel.Run<T>(kc, a, job.CsA, b + jr, job.RsB, job.C + jr, nr, tile, Init(job, pc, jr));
            if (full == job.N) continue;
            PackBlockB<K>(job, pc, kc, full, job.N - full, bp);
            RowKernel.Run<T>(kc, a, job.CsA, bp, job.C + full, job.N - full, tile, Init(job, pc, full));
        }
    }

    /// <summary>
    /// A product of a few rows against B's contiguous rows (x · Wᵀ of a weight matrix [out, in]): dot products beat packing —
    /// transposing — all of B for those rows' use. One or two rows on every path; up to <see cref="RowWiseRows"/> rows (and
    /// <see cref="GemmJob.DotRows"/>) on a vector path, A's rows contiguous, k long enough for four of its vectors.
    /// </summary>
    internal static bool IsRowWise(in GemmJob job) => job.CsB != 1 && job.RsB == 1 && job.Packed == null && !job.RowPart
        && (job.M <= 2 || job.M <= job.DotRows && job.CsA == 1 && ManyRowsTakeDotProducts(job.Path, job.M, job.K));

    /// <summary>Whether <paramref name="m"/> rows past two, contiguous, against Bᵀ [n, k] (floats, bfloat16 or 8 bits), take dot products on <paramref name="path"/>.</summary>
    internal static bool ManyRowsTakeDotProducts(GemmPath path, int m, int k) => m <= RowWiseRows && path.Bits >= 128 && k >= 4 * path.Bits / 32;

    /// <summary>
    /// The most rows <see cref="IsRowWise"/> takes past two: up to about 32 rows the dot products (four rows at a time at 512
    /// bits, two at 256) beat packing Bᵀ for the blocked product, at 512 and 256 bits alike (docs/performance.md, session 50).
    /// </summary>
    internal const int RowWiseRows = 32;

    /// <summary>Runs a product (or a part of one) on the calling thread.</summary>
    internal static void Execute(in GemmJob job)
    {
        if (IsRowWise(job))
        {
            if (!job.Accumulate) Clear(job);
            if (job.B16 != null) Rows<BFloat16Values>(job);
            else if (job.B8 != null) Rows<Int8Values>(job);
            else if (job.B4 != null) RowsInt4(job);
            else Rows<FloatValues>(job);
            return;
        }
        if (job.ReadsAInPlace)
        {
            switch (job.Path.Id)
            {
                case GemmPath.Kernel.V512: Blocked<Kernel512x8x32, InPlaceRows<Kernel512x8x32>>(job); break;
                case GemmPath.Kernel.V256: Blocked<Kernel256x6x16, InPlaceRows<Kernel256x6x16>>(job); break;
                case GemmPath.Kernel.V128: Blocked<Kernel128x6x8, InPlaceRows<Kernel128x6x8>>(job); break;
                default: throw new InvalidOperationException($"Gemm: the {job.Path} path does not read A in place (GemmPath.ReadsAInPlace).");
            }
            return;
        }
        switch (job.Path.Id)
        {
            case GemmPath.Kernel.V512 when job.Tall: Blocked<Kernel512x12x32, PackedRows<Kernel512x12x32>>(job); break;
            case GemmPath.Kernel.V512: Blocked<Kernel512x8x32, PackedRows<Kernel512x8x32>>(job); break;
            case GemmPath.Kernel.V256: Blocked<Kernel256x6x16, PackedRows<Kernel256x6x16>>(job); break;
            case GemmPath.Kernel.V128: Blocked<Kernel128x6x8, PackedRows<Kernel128x6x8>>(job); break;
            case GemmPath.Kernel.V128Arm: Blocked<Kernel128x8x12, PackedRows<Kernel128x8x12>>(job); break;
            default: Blocked<KernelScalar4x4, PackedRows<KernelScalar4x4>>(job); break;
        }
    }

    /// <summary>
    /// C += A·B for a few rows (<see cref="IsRowWise"/>) when B's columns are contiguous in k (a weight matrix [out, in] used
    /// as Wᵀ): each output is a dot product, four at a time so that each row of A is loaded once per four, two or four rows at
    /// a time (<see cref="DotColumnsOfRows{T, S}"/>, <see cref="DotColumnsPairsOfRows{T}"/>). B's values are
    /// <typeparamref name="S"/>'s: floats (<see cref="DotColumns{T}"/>), bfloat16 read in pairs (<see cref="DotColumnsPairs{T}"/>),
    /// or 8-bit integers widened (<see cref="DotColumnsInt8{T}"/>: each column's sums times its scale).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<S>(in GemmJob job) where S : struct, IValues
    {
        int k = job.K, bits = job.Path.Bits;
        bool pairs = typeof(S) == typeof(BFloat16Values) && job.CsA == 1;
        float* rearranged = pairs ? Aligned.Buffer(ref s_pairs, job.M * k) : null;
        // rows in pairs read each column of B once for two (four columns at a time), each row's sums as one row's
        int both = job.M < 2 || job.CsA != 1 ? 0 : pairs ? bits switch
        {
            512 => DotColumnsPairsOfRows<Lanes512>(job, rearranged),
            256 => DotColumnsPairsOfRows<Lanes256>(job, rearranged),
            128 => DotColumnsPairsOfRows<Lanes128>(job, rearranged),
            _ => 0,
        } : bits switch
        {
            512 => DotColumnsOfRows<Lanes512, S>(job),
            256 => DotColumnsOfRows<Lanes256, S>(job),
            128 => DotColumnsOfRows<Lanes128, S>(job),
            _ => 0,
        };
        for (int i = 0; i < job.M; i++)
        {
            float* ci = job.C + (nint)i * job.Ldc;
            float* ai = job.A + i * job.RsA;
            int jj = job.CsA != 1 ? 0 : both > 0 ? both : pairs ? bits switch
            {
                512 => DotColumnsPairs<Lanes512>(job, ai, rearranged, ci),
                256 => DotColumnsPairs<Lanes256>(job, ai, rearranged, ci),
                128 => DotColumnsPairs<Lanes128>(job, ai, rearranged, ci),
                _ => 0,
            } : typeof(S) == typeof(Int8Values) ? bits switch
            {
                512 => DotColumnsInt8<Lanes512>(job, ai, ci),
                256 => DotColumnsInt8<Lanes256>(job, ai, ci),
                128 => DotColumnsInt8<Lanes128>(job, ai, ci),
                _ => 0,
            } : bits switch
            {
                512 => DotColumns<Lanes512>(job, ai, ci),
                256 => DotColumns<Lanes256>(job, ai, ci),
                128 => DotColumns<Lanes128>(job, ai, ci),
                _ => 0,
            };
            // The rest (and the scalar path, and a strided A): one dot product at a time.
            for (; jj < job.N; jj++)
            {
                float s = 0;
                void* b = S.Values(job);
                nint bj = jj * job.CsB;
                for (int p = 0; p < k; p++) s += ai[p * job.CsA] * S.Get(b, bj + p);
                ci[jj] += typeof(S) == typeof(Int8Values) ? s * job.Scales[jj * job.ScaleStride] : s;
            }
        }
    }

    /// <summary>
    /// How a product reads B's values where it does not read floats in vectors: floats, bfloat16 bits widened, or 8-bit integers
    /// — as they are in the one- and two-row products' tails (<see cref="Get"/>: 8-bit sums are scaled once, by the caller), or
    /// as the floats they stand for when packed (<see cref="Widened"/>, <see cref="Widened4"/>).
    /// </summary>
    private interface IValues
    {
        /// <summary>Where the job's B lies in this representation.</summary>
        static abstract void* Values(in GemmJob job);

        /// <summary>Element <paramref name="at"/> of <paramref name="b"/> (an 8-bit integer as it is, unscaled).</summary>
        static abstract float Get(void* b, nint at);

        /// <summary>B(p, j), the float it stands for.</summary>
        static abstract float Widened(in GemmJob job, nint j, nint p);

        /// <summary>B(p … p + 3, j), the floats they stand for (B's columns contiguous in k: rsB = 1).</summary>
        static abstract Vector128<float> Widened4(in GemmJob job, nint j, nint p);
    }

    private readonly struct FloatValues : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void* Values(in GemmJob job) => job.B;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Get(void* b, nint at) => ((float*)b)[at];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Widened(in GemmJob job, nint j, nint p) => job.B[j * job.CsB + p * job.RsB];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Widened4(in GemmJob job, nint j, nint p) => Vector128.Load(job.B + j * job.CsB + p);
    }

    private readonly struct BFloat16Values : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void* Values(in GemmJob job) => job.B16;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Get(void* b, nint at) => BFloat16.ToFloat(((ushort*)b)[at]);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Widened(in GemmJob job, nint j, nint p) => BFloat16.ToFloat(job.B16[j * job.CsB + p * job.RsB]);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Widened4(in GemmJob job, nint j, nint p) => BFloat16.Load4(job.B16 + j * job.CsB + p);
    }

    private readonly struct Int8Values : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void* Values(in GemmJob job) => job.B8;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Get(void* b, nint at) => ((sbyte*)b)[at];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Widened(in GemmJob job, nint j, nint p) => job.B8[j * job.CsB + p * job.RsB] * job.Scales[j * job.ScaleStride];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Widened4(in GemmJob job, nint j, nint p) => Int8.Load4(job.B8 + j * job.CsB + p, job.Scales[j * job.ScaleStride]);
    }

    private readonly struct Int4Values : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void* Values(in GemmJob job) => job.B4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Get(void* b, nint at) => Int4.Get((byte*)b, at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Widened(in GemmJob job, nint j, nint p) => Int4.Get(job.B4, j * job.CsB + p) * job.Scales[j * job.ScaleStride + p / job.Group];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Widened4(in GemmJob job, nint j, nint p) => (p & 3) == 0
            ? Int4.Get4(job.B4, j * job.CsB + p) * job.Scales[j * job.ScaleStride + p / job.Group] // (four values of one group: groups are whole blocks)
            : Vector128.Create(Widened(job, j, p), Widened(job, j, p + 1), Widened(job, j, p + 2), Widened(job, j, p + 3));
    }

    /// <summary>
    /// C += A·B for a few rows (<see cref="IsRowWise"/>) against 4-bit B (<see cref="GemmJob.B4"/>): the dot products of
    /// <see cref="DotColumnsInt4OfRows{T}"/>, then the last columns (fewer than four) and a strided A one value at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsInt4(in GemmJob job)
    {
        int jj = job.CsA != 1 ? 0 : job.Path.Bits switch
        {
            512 => DotColumnsInt4OfRows<Lanes512>(job),
            256 => DotColumnsInt4OfRows<Lanes256>(job),
            128 => DotColumnsInt4OfRows<Lanes128>(job),
            _ => DotColumnsInt4OfRows<Lanes1>(job),
        };
        for (int i = 0; i < job.M; i++)
        {
            float* ai = job.A + i * job.RsA, ci = job.C + (nint)i * job.Ldc;
            for (int j = jj; j < job.N; j++)
            {
                float s = 0;
                for (int p = 0; p < job.K; p++) s += ai[p * job.CsA] * Int4Values.Widened(job, j, p);
                ci[j] += s;
            }
        }
    }

    /// <summary>
    /// The dot products of every row of A (contiguous) with 4-bit B's columns, four columns at a time, each block of four read
    /// from memory once for all the rows and each of its vectors widened once for four rows at a time at 512 bits (two at 256 and
    /// 128, where sixteen registers would not hold four rows' sums): 16 bytes of a column give the values of their low and of
    /// their high four bits (<see cref="ILanes{TSelf}.LoadInt4"/>), widened to the floats they stand for (<see cref="Widened{T}"/>),
    /// against the matching halves of A's block of 32 (one row: <see cref="OneRowInt4{T}"/>); the values past the last whole block
    /// one at a time. Returns the first column not done (0 where k is shorter than a block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DotColumnsInt4OfRows<T>(in GemmJob job) where T : struct, ILanes<T>
    {
        int full = job.K / Int4.Block * Int4.Block, jj = 0;
        if (full == 0) return 0;
        for (; jj + 4 <= job.N; jj += 4)
        {
            int i = 0;
            for (; T.Count == 16 && i + 4 <= job.M; i += 4) FourRowsInt4<T>(job, jj, i, full);
            for (; i + 2 <= job.M; i += 2) TwoRowsInt4<T>(job, jj, i, full);
            if (i < job.M) OneRowInt4<T>(job, jj, i, full);
        }
        return jj;
    }

    // (each number of rows a method of its own: in one, the JIT's inlining budget ran out before the last, whose vector
    // operations then ran as calls — a one-row product 30 times slower)

    /// <summary>Rows <paramref name="i"/> … i + 3 against 4-bit columns <paramref name="jj"/> … jj + 3 (<see cref="DotColumnsInt4OfRows{T}"/>, 512 bits).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void FourRowsInt4<T>(in GemmJob job, int jj, int i, int full) where T : struct, ILanes<T>
    {
        const int Half = Int4.Block / 2;
        int group = job.Group;
        nint cs = job.CsB, ss = job.ScaleStride;
        byte* q0 = job.B4 + jj * cs / 2, q1 = q0 + cs / 2, q2 = q1 + cs / 2, q3 = q2 + cs / 2;
        float* f0 = job.Scales + jj * ss, f1 = f0 + ss, f2 = f1 + ss, f3 = f2 + ss;
        float* a0 = job.A + i * job.RsA, a1 = a0 + job.RsA, a2 = a1 + job.RsA, a3 = a2 + job.RsA;
        T s00 = T.Create(0f), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        T s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        for (int p = 0; p < full; p += Int4.Block)
        {
            int g = p / group;
            nint at = p / 2;
            T x0 = T.Load(ref a0[p], 0), y0 = T.Load(ref a0[p + Half], 0), x1 = T.Load(ref a1[p], 0), y1 = T.Load(ref a1[p + Half], 0);
            T x2 = T.Load(ref a2[p], 0), y2 = T.Load(ref a2[p + Half], 0), x3 = T.Load(ref a3[p], 0), y3 = T.Load(ref a3[p + Half], 0);
            Widened<T>(q0 + at, f0[g], out T lo, out T hi);
            s00 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s00)); s10 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s10));
            s20 = T.MultiplyAdd(y2, hi, T.MultiplyAdd(x2, lo, s20)); s30 = T.MultiplyAdd(y3, hi, T.MultiplyAdd(x3, lo, s30));
            Widened<T>(q1 + at, f1[g], out lo, out hi);
            s01 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s01)); s11 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s11));
            s21 = T.MultiplyAdd(y2, hi, T.MultiplyAdd(x2, lo, s21)); s31 = T.MultiplyAdd(y3, hi, T.MultiplyAdd(x3, lo, s31));
            Widened<T>(q2 + at, f2[g], out lo, out hi);
            s02 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s02)); s12 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s12));
            s22 = T.MultiplyAdd(y2, hi, T.MultiplyAdd(x2, lo, s22)); s32 = T.MultiplyAdd(y3, hi, T.MultiplyAdd(x3, lo, s32));
            Widened<T>(q3 + at, f3[g], out lo, out hi);
            s03 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s03)); s13 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s13));
            s23 = T.MultiplyAdd(y2, hi, T.MultiplyAdd(x2, lo, s23)); s33 = T.MultiplyAdd(y3, hi, T.MultiplyAdd(x3, lo, s33));
        }
        AddInt4Sums(job, T.SumFour(s00, s01, s02, s03), a0, jj, full, job.C + (nint)i * job.Ldc + jj);
        AddInt4Sums(job, T.SumFour(s10, s11, s12, s13), a1, jj, full, job.C + (nint)(i + 1) * job.Ldc + jj);
        AddInt4Sums(job, T.SumFour(s20, s21, s22, s23), a2, jj, full, job.C + (nint)(i + 2) * job.Ldc + jj);
        AddInt4Sums(job, T.SumFour(s30, s31, s32, s33), a3, jj, full, job.C + (nint)(i + 3) * job.Ldc + jj);
    }

    /// <summary>Rows <paramref name="i"/> and i + 1 against 4-bit columns <paramref name="jj"/> … jj + 3 (<see cref="DotColumnsInt4OfRows{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TwoRowsInt4<T>(in GemmJob job, int jj, int i, int full) where T : struct, ILanes<T>
    {
        const int Half = Int4.Block / 2;
        int w = T.Count, group = job.Group;
        nint cs = job.CsB, ss = job.ScaleStride;
        byte* q0 = job.B4 + jj * cs / 2, q1 = q0 + cs / 2, q2 = q1 + cs / 2, q3 = q2 + cs / 2;
        float* f0 = job.Scales + jj * ss, f1 = f0 + ss, f2 = f1 + ss, f3 = f2 + ss;
        float* a0 = job.A + i * job.RsA, a1 = a0 + job.RsA;
        T s00 = T.Create(0f), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        for (int p = 0; p < full; p += Int4.Block)
        {
            int g = p / group;
            for (int o = 0; o < Half; o += w)
            {
                nint at = p / 2 + o;
                T x0 = T.Load(ref a0[p + o], 0), y0 = T.Load(ref a0[p + Half + o], 0), x1 = T.Load(ref a1[p + o], 0), y1 = T.Load(ref a1[p + Half + o], 0);
                Widened<T>(q0 + at, f0[g], out T lo, out T hi);
                s00 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s00)); s10 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s10));
                Widened<T>(q1 + at, f1[g], out lo, out hi);
                s01 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s01)); s11 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s11));
                Widened<T>(q2 + at, f2[g], out lo, out hi);
                s02 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s02)); s12 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s12));
                Widened<T>(q3 + at, f3[g], out lo, out hi);
                s03 = T.MultiplyAdd(y0, hi, T.MultiplyAdd(x0, lo, s03)); s13 = T.MultiplyAdd(y1, hi, T.MultiplyAdd(x1, lo, s13));
            }
        }
        AddInt4Sums(job, T.SumFour(s00, s01, s02, s03), a0, jj, full, job.C + (nint)i * job.Ldc + jj);
        AddInt4Sums(job, T.SumFour(s10, s11, s12, s13), a1, jj, full, job.C + (nint)(i + 1) * job.Ldc + jj);
    }

    /// <summary>
    /// Row <paramref name="i"/> against 4-bit columns <paramref name="jj"/> … jj + 3 (<see cref="DotColumnsInt4OfRows{T}"/>): the
    /// products of A's values with the integers as they are (0 … 15), less 8 times A's values (summed lane by lane once for the
    /// four columns), each group's sums then times its scale — no widening of the weights to floats, as 8 bits scale each column's
    /// sums. The low and high halves sum in chains of their own: eight chains of multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void OneRowInt4<T>(in GemmJob job, int jj, int i, int full) where T : struct, ILanes<T>
    {
        const int Half = Int4.Block / 2;
        int w = T.Count, group = job.Group;
        nint cs = job.CsB, ss = job.ScaleStride;
        byte* q0 = job.B4 + jj * cs / 2, q1 = q0 + cs / 2, q2 = q1 + cs / 2, q3 = q2 + cs / 2;
        float* f0 = job.Scales + jj * ss, f1 = f0 + ss, f2 = f1 + ss, f3 = f2 + ss;
        float* a0 = job.A + i * job.RsA;
        T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, minusEight = T.Create(-8f);
        for (int g0 = 0, g = 0; g0 < full; g0 += group, g++)
        {
            int end = Math.Min(g0 + group, full);
            T l0 = T.Create(0f), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0, sum = l0;
            for (int p = g0; p < end; p += Int4.Block)
                for (int o = 0; o < Half; o += w)
                {
                    nint at = p / 2 + o;
                    T x = T.Load(ref a0[p + o], 0), y = T.Load(ref a0[p + Half + o], 0);
                    sum = sum + x + y;
                    T.LoadInt4(q0 + at, out T lo, out T hi); l0 = T.MultiplyAdd(x, lo, l0); h0 = T.MultiplyAdd(y, hi, h0);
                    T.LoadInt4(q1 + at, out lo, out hi); l1 = T.MultiplyAdd(x, lo, l1); h1 = T.MultiplyAdd(y, hi, h1);
                    T.LoadInt4(q2 + at, out lo, out hi); l2 = T.MultiplyAdd(x, lo, l2); h2 = T.MultiplyAdd(y, hi, h2);
                    T.LoadInt4(q3 + at, out lo, out hi); l3 = T.MultiplyAdd(x, lo, l3); h3 = T.MultiplyAdd(y, hi, h3);
                }
            s0 = T.MultiplyAdd(T.MultiplyAdd(sum, minusEight, l0 + h0), T.Create(f0[g]), s0);
            s1 = T.MultiplyAdd(T.MultiplyAdd(sum, minusEight, l1 + h1), T.Create(f1[g]), s1);
            s2 = T.MultiplyAdd(T.MultiplyAdd(sum, minusEight, l2 + h2), T.Create(f2[g]), s2);
            s3 = T.MultiplyAdd(T.MultiplyAdd(sum, minusEight, l3 + h3), T.Create(f3[g]), s3);
        }
        AddInt4Sums(job, T.SumFour(s0, s1, s2, s3), a0, jj, full, job.C + (nint)i * job.Ldc + jj);
    }

    /// <summary>
    /// T.Count bytes of 4-bit values from <paramref name="q"/> as the floats they stand for, low and high halves: q · scale − 8 ·
    /// scale in one multiply-add, which rounds once where it is fused — (q − 8) · scale, the dequantized floats' very bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widened<T>(byte* q, float scale, out T low, out T high) where T : struct, ILanes<T>
    {
        T.LoadInt4(q, out low, out high);
        T s = T.Create(scale), offset = T.Create(-8f * scale);
        (low, high) = (T.MultiplyAdd(low, s, offset), T.MultiplyAdd(high, s, offset));
    }

    /// <summary>
    /// c[0 … 3] += the four sums of 4-bit columns <paramref name="jj"/> … jj + 3 plus the products of A's values past the last whole
    /// block (from <paramref name="full"/> to k) with the floats those columns' values stand for.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInt4Sums(in GemmJob job, Vector128<float> sums, float* ai, int jj, int full, float* c)
    {
        if (full < job.K)
        {
            float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (int p = full; p < job.K; p++)
            {
                float a = ai[p];
                t0 += a * Int4Values.Widened(job, jj, p); t1 += a * Int4Values.Widened(job, jj + 1, p);
                t2 += a * Int4Values.Widened(job, jj + 2, p); t3 += a * Int4Values.Widened(job, jj + 3, p);
            }
            sums += Vector128.Create(t0, t1, t2, t3);
        }
        Vector128.Store(Vector128.Load(c) + sums, c);
    }

    /// <summary>
    /// C[jj …] += the dot products of A's row with B's columns (contiguous in k): eight columns at a time (eight
    /// multiply-add chains, enough to hide their latency), then four; each group's sums folded together
    /// (<see cref="ILanes{TSelf}.SumFour"/>). Returns the first column not done (0 when k is shorter than one vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DotColumns<T>(in GemmJob job, float* ai, float* ci) where T : struct, ILanes<T>
    {
        int k = job.K, w = T.Count, jj = 0, full = k / w * w;
        if (full == 0) return 0;
        nint cs = job.CsB;
        for (; jj + 8 <= job.N; jj += 8)
        {
            float* b0 = job.B + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs, b4 = b3 + cs, b5 = b4 + cs, b6 = b5 + cs, b7 = b6 + cs;
            T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (nint p = 0; p < full; p += w)
            {
                T a = T.Load(ref ai[p], 0);
                s0 = T.MultiplyAdd(a, T.Load(ref b0[p], 0), s0);
                s1 = T.MultiplyAdd(a, T.Load(ref b1[p], 0), s1);
                s2 = T.MultiplyAdd(a, T.Load(ref b2[p], 0), s2);
                s3 = T.MultiplyAdd(a, T.Load(ref b3[p], 0), s3);
                s4 = T.MultiplyAdd(a, T.Load(ref b4[p], 0), s4);
                s5 = T.MultiplyAdd(a, T.Load(ref b5[p], 0), s5);
                s6 = T.MultiplyAdd(a, T.Load(ref b6[p], 0), s6);
                s7 = T.MultiplyAdd(a, T.Load(ref b7[p], 0), s7);
            }
            AddSums<FloatValues>(T.SumFour(s0, s1, s2, s3), ai, job.B, jj * cs, cs, full, k, ci + jj);
            AddSums<FloatValues>(T.SumFour(s4, s5, s6, s7), ai, job.B, (jj + 4) * cs, cs, full, k, ci + jj + 4);
        }
        for (; jj + 4 <= job.N; jj += 4)
        {
            float* b0 = job.B + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs;
            T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0;
            for (nint p = 0; p < full; p += w)
            {
                T a = T.Load(ref ai[p], 0);
                s0 = T.MultiplyAdd(a, T.Load(ref b0[p], 0), s0);
                s1 = T.MultiplyAdd(a, T.Load(ref b1[p], 0), s1);
                s2 = T.MultiplyAdd(a, T.Load(ref b2[p], 0), s2);
                s3 = T.MultiplyAdd(a, T.Load(ref b3[p], 0), s3);
            }
            AddSums<FloatValues>(T.SumFour(s0, s1, s2, s3), ai, job.B, jj * cs, cs, full, k, ci + jj);
        }
        return jj;
    }

    /// <summary>
    /// <see cref="DotColumns{T}"/> (floats) or <see cref="DotColumnsInt8{T}"/> (8 bits) of every row of A, two rows at a time
    /// (an odd last row alone), four columns at a time: each vector of B read once for two rows, and each block of four
    /// columns of B read from memory once for all the rows (then from the cache), where the blocked product would pack all of
    /// B — transposing it — for a few rows' use. Each column's sums are those of one row's routine, whatever the rows beside
    /// it. Returns the first column not done. (A call of its own: inlined, it grew <see cref="Rows{S}"/> past what the JIT
    /// inlines into, and one row's product slowed 0.79 → 1.48 µs at [1 × 65 × 257].)
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int DotColumnsOfRows<T, S>(in GemmJob job) where T : struct, ILanes<T> where S : struct, IValues
    {
        int k = job.K, w = T.Count, jj = 0, full = k / w * w;
        if (full == 0) return 0;
        nint cs = job.CsB, size = typeof(S) == typeof(Int8Values) ? sizeof(sbyte) : sizeof(float);
        byte* b = (byte*)S.Values(job);
        for (; jj + 4 <= job.N; jj += 4)
        {
            byte* b0 = b + jj * cs * size, b1 = b0 + cs * size, b2 = b1 + cs * size, b3 = b2 + cs * size;
            Vector128<float> scales = typeof(S) == typeof(Int8Values) ? Scales4(job, jj) : default;
            int i = 0;
            // four rows at a time where the registers hold their sixteen sums (32 of 512 bits; 16 of 256 would spill)
            for (; T.Count == 16 && i + 4 <= job.M; i += 4)
            {
                float* a0 = job.A + i * job.RsA, a1 = a0 + job.RsA, a2 = a1 + job.RsA, a3 = a2 + job.RsA, c0 = job.C + (nint)i * job.Ldc + jj;
                T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                T u0 = s0, u1 = s0, u2 = s0, u3 = s0, r0 = s0, r1 = s0, r2 = s0, r3 = s0;
                for (nint p = 0; p < full; p += w)
                {
                    T x = T.Load(ref a0[p], 0), y = T.Load(ref a1[p], 0), z = T.Load(ref a2[p], 0), o = T.Load(ref a3[p], 0), v = Vector<T, S>(b0, p);
                    s0 = T.MultiplyAdd(x, v, s0); t0 = T.MultiplyAdd(y, v, t0); u0 = T.MultiplyAdd(z, v, u0); r0 = T.MultiplyAdd(o, v, r0);
                    v = Vector<T, S>(b1, p);
                    s1 = T.MultiplyAdd(x, v, s1); t1 = T.MultiplyAdd(y, v, t1); u1 = T.MultiplyAdd(z, v, u1); r1 = T.MultiplyAdd(o, v, r1);
                    v = Vector<T, S>(b2, p);
                    s2 = T.MultiplyAdd(x, v, s2); t2 = T.MultiplyAdd(y, v, t2); u2 = T.MultiplyAdd(z, v, u2); r2 = T.MultiplyAdd(o, v, r2);
                    v = Vector<T, S>(b3, p);
                    s3 = T.MultiplyAdd(x, v, s3); t3 = T.MultiplyAdd(y, v, t3); u3 = T.MultiplyAdd(z, v, u3); r3 = T.MultiplyAdd(o, v, r3);
                }
                AddSums<S>(T.SumFour(s0, s1, s2, s3), a0, b, jj * cs, cs, full, k, c0, scales);
                AddSums<S>(T.SumFour(t0, t1, t2, t3), a1, b, jj * cs, cs, full, k, c0 + job.Ldc, scales);
                AddSums<S>(T.SumFour(u0, u1, u2, u3), a2, b, jj * cs, cs, full, k, c0 + 2 * job.Ldc, scales);
                AddSums<S>(T.SumFour(r0, r1, r2, r3), a3, b, jj * cs, cs, full, k, c0 + 3 * job.Ldc, scales);
            }
            for (; i + 2 <= job.M; i += 2)
            {
                float* a0 = job.A + i * job.RsA, a1 = a0 + job.RsA, c0 = job.C + (nint)i * job.Ldc + jj;
                T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                for (nint p = 0; p < full; p += w)
                {
                    T x = T.Load(ref a0[p], 0), y = T.Load(ref a1[p], 0), v = Vector<T, S>(b0, p);
                    s0 = T.MultiplyAdd(x, v, s0); t0 = T.MultiplyAdd(y, v, t0);
                    v = Vector<T, S>(b1, p);
                    s1 = T.MultiplyAdd(x, v, s1); t1 = T.MultiplyAdd(y, v, t1);
                    v = Vector<T, S>(b2, p);
                    s2 = T.MultiplyAdd(x, v, s2); t2 = T.MultiplyAdd(y, v, t2);
                    v = Vector<T, S>(b3, p);
                    s3 = T.MultiplyAdd(x, v, s3); t3 = T.MultiplyAdd(y, v, t3);
                }
                AddSums<S>(T.SumFour(s0, s1, s2, s3), a0, b, jj * cs, cs, full, k, c0, scales);
                AddSums<S>(T.SumFour(t0, t1, t2, t3), a1, b, jj * cs, cs, full, k, c0 + job.Ldc, scales);
            }
            if (i < job.M)
            {
                float* a0 = job.A + i * job.RsA;
                T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0;
                for (nint p = 0; p < full; p += w)
                {
                    T x = T.Load(ref a0[p], 0);
                    s0 = T.MultiplyAdd(x, Vector<T, S>(b0, p), s0);
                    s1 = T.MultiplyAdd(x, Vector<T, S>(b1, p), s1);
                    s2 = T.MultiplyAdd(x, Vector<T, S>(b2, p), s2);
                    s3 = T.MultiplyAdd(x, Vector<T, S>(b3, p), s3);
                }
                AddSums<S>(T.SumFour(s0, s1, s2, s3), a0, b, jj * cs, cs, full, k, job.C + (nint)i * job.Ldc + jj, scales);
            }
        }
        return jj;
    }

    /// <summary>T.Count values of B from element <paramref name="p"/> of the column at <paramref name="column"/>: floats, or 8-bit integers as they are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Vector<T, S>(byte* column, nint p) where T : struct, ILanes<T> where S : struct, IValues =>
        typeof(S) == typeof(Int8Values) ? T.LoadInt8((sbyte*)column + p) : T.Load(ref ((float*)column)[p], 0);

    /// <summary>
    /// <see cref="DotColumns{T}"/> of B's columns held in bfloat16: each 2 · T.Count values of a column read as one vector of
    /// pairs and split into its even and odd values by a shift and a mask (<see cref="ILanes{TSelf}.LoadBFloat16Pairs"/>: no
    /// widening shuffle, half the loads), against A's row rearranged the same way once (<paramref name="pairs"/>: each run of
    /// 2 · T.Count values, its even values then its odd ones). The sums come in another order than the widened floats' would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DotColumnsPairs<T>(in GemmJob job, float* ai, float* pairs, float* ci) where T : struct, ILanes<T>
    {
        int k = job.K, w = T.Count, step = 2 * w, jj = 0, full = k / step * step;
        if (full == 0) return 0;
        for (int p0 = 0; p0 < full; p0 += step)
            for (int i = 0; i < w; i++) (pairs[p0 + i], pairs[p0 + w + i]) = (ai[p0 + 2 * i], ai[p0 + 2 * i + 1]);
        ushort* b = job.B16;
        nint cs = job.CsB;
        for (; jj + 8 <= job.N; jj += 8)
        {
            ushort* b0 = b + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs, b4 = b3 + cs, b5 = b4 + cs, b6 = b5 + cs, b7 = b6 + cs;
            T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (nint p = 0; p < full; p += step)
            {
                T ae = T.Load(ref pairs[p], 0), ao = T.Load(ref pairs[p + w], 0);
                T.LoadBFloat16Pairs(b0 + p, out T e, out T o); s0 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s0));
                T.LoadBFloat16Pairs(b1 + p, out e, out o); s1 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s1));
                T.LoadBFloat16Pairs(b2 + p, out e, out o); s2 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s2));
                T.LoadBFloat16Pairs(b3 + p, out e, out o); s3 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s3));
                T.LoadBFloat16Pairs(b4 + p, out e, out o); s4 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s4));
                T.LoadBFloat16Pairs(b5 + p, out e, out o); s5 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s5));
                T.LoadBFloat16Pairs(b6 + p, out e, out o); s6 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s6));
                T.LoadBFloat16Pairs(b7 + p, out e, out o); s7 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s7));
            }
            AddSums<BFloat16Values>(T.SumFour(s0, s1, s2, s3), ai, b, jj * cs, cs, full, k, ci + jj);
            AddSums<BFloat16Values>(T.SumFour(s4, s5, s6, s7), ai, b, (jj + 4) * cs, cs, full, k, ci + jj + 4);
        }
        for (; jj + 4 <= job.N; jj += 4)
            AddSums<BFloat16Values>(PairsOfFour<T>(b + jj * cs, cs, pairs, full), ai, b, jj * cs, cs, full, k, ci + jj);
        return jj;
    }

    /// <summary>
    /// The sums of four bfloat16 columns of B (from <paramref name="b0"/>, <paramref name="cs"/> apart) times a row of A
    /// rearranged in pairs, over its first <paramref name="full"/> values (<see cref="DotColumnsPairs{T}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> PairsOfFour<T>(ushort* b0, nint cs, float* pairs, int full) where T : struct, ILanes<T>
    {
        int w = T.Count, step = 2 * w;
        ushort* b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs;
        T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0;
        for (nint p = 0; p < full; p += step)
        {
            T ae = T.Load(ref pairs[p], 0), ao = T.Load(ref pairs[p + w], 0);
            T.LoadBFloat16Pairs(b0 + p, out T e, out T o); s0 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s0));
            T.LoadBFloat16Pairs(b1 + p, out e, out o); s1 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s1));
            T.LoadBFloat16Pairs(b2 + p, out e, out o); s2 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s2));
            T.LoadBFloat16Pairs(b3 + p, out e, out o); s3 = T.MultiplyAdd(ao, o, T.MultiplyAdd(ae, e, s3));
        }
        return T.SumFour(s0, s1, s2, s3);
    }

    /// <summary>
    /// <see cref="DotColumnsPairs{T}"/> of every row of A, two rows at a time (an odd last row alone), four columns at a time,
    /// as <see cref="DotColumnsOfRows{T, S}"/> reads floats: each row rearranged once into <paramref name="pairs"/> (M rows of
    /// k), each column's sums those of one row's routine. Returns the first column not done.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int DotColumnsPairsOfRows<T>(in GemmJob job, float* pairs) where T : struct, ILanes<T>
    {
        int k = job.K, w = T.Count, step = 2 * w, jj = 0, full = k / step * step;
        if (full == 0) return 0;
        for (int i = 0; i < job.M; i++)
        {
            float* ai = job.A + i * job.RsA, ri = pairs + (nint)i * k;
            for (int p0 = 0; p0 < full; p0 += step)
                for (int q = 0; q < w; q++) (ri[p0 + q], ri[p0 + w + q]) = (ai[p0 + 2 * q], ai[p0 + 2 * q + 1]);
        }
        ushort* b = job.B16;
        nint cs = job.CsB;
        for (; jj + 4 <= job.N; jj += 4)
        {
            ushort* b0 = b + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs;
            int i = 0;
            for (; i + 2 <= job.M; i += 2)
            {
                float* r0 = pairs + (nint)i * k, r1 = r0 + k, c0 = job.C + (nint)i * job.Ldc + jj;
                T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                for (nint p = 0; p < full; p += step)
                {
                    T xe = T.Load(ref r0[p], 0), xo = T.Load(ref r0[p + w], 0), ye = T.Load(ref r1[p], 0), yo = T.Load(ref r1[p + w], 0);
                    T.LoadBFloat16Pairs(b0 + p, out T e, out T o); s0 = T.MultiplyAdd(xo, o, T.MultiplyAdd(xe, e, s0)); t0 = T.MultiplyAdd(yo, o, T.MultiplyAdd(ye, e, t0));
                    T.LoadBFloat16Pairs(b1 + p, out e, out o); s1 = T.MultiplyAdd(xo, o, T.MultiplyAdd(xe, e, s1)); t1 = T.MultiplyAdd(yo, o, T.MultiplyAdd(ye, e, t1));
                    T.LoadBFloat16Pairs(b2 + p, out e, out o); s2 = T.MultiplyAdd(xo, o, T.MultiplyAdd(xe, e, s2)); t2 = T.MultiplyAdd(yo, o, T.MultiplyAdd(ye, e, t2));
                    T.LoadBFloat16Pairs(b3 + p, out e, out o); s3 = T.MultiplyAdd(xo, o, T.MultiplyAdd(xe, e, s3)); t3 = T.MultiplyAdd(yo, o, T.MultiplyAdd(ye, e, t3));
                }
                float* a0 = job.A + i * job.RsA;
                AddSums<BFloat16Values>(T.SumFour(s0, s1, s2, s3), a0, b, jj * cs, cs, full, k, c0);
                AddSums<BFloat16Values>(T.SumFour(t0, t1, t2, t3), a0 + job.RsA, b, jj * cs, cs, full, k, c0 + job.Ldc);
            }
            if (i < job.M)
                AddSums<BFloat16Values>(PairsOfFour<T>(b0, cs, pairs + (nint)i * k, full), job.A + i * job.RsA, b, jj * cs, cs, full, k, job.C + (nint)i * job.Ldc + jj);
        }
        return jj;
    }

    /// <summary>
    /// <see cref="DotColumns{T}"/> of B's columns held as 8-bit integers: each vector widened (<see cref="ILanes{TSelf}.LoadInt8"/>)
    /// and multiplied by A's values, the sums of each column then multiplied by its scale (<see cref="AddSums{S}"/>): one product
    /// less per vector than widening the weights to the floats they stand for, in a product bound by arithmetic where B is in cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DotColumnsInt8<T>(in GemmJob job, float* ai, float* ci) where T : struct, ILanes<T>
    {
        int k = job.K, w = T.Count, jj = 0, full = k / w * w;
        if (full == 0) return 0;
        nint cs = job.CsB;
        for (; jj + 8 <= job.N; jj += 8)
        {
            sbyte* b0 = job.B8 + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs, b4 = b3 + cs, b5 = b4 + cs, b6 = b5 + cs, b7 = b6 + cs;
            T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (nint p = 0; p < full; p += w)
            {
                T a = T.Load(ref ai[p], 0);
                s0 = T.MultiplyAdd(a, T.LoadInt8(b0 + p), s0);
                s1 = T.MultiplyAdd(a, T.LoadInt8(b1 + p), s1);
                s2 = T.MultiplyAdd(a, T.LoadInt8(b2 + p), s2);
                s3 = T.MultiplyAdd(a, T.LoadInt8(b3 + p), s3);
                s4 = T.MultiplyAdd(a, T.LoadInt8(b4 + p), s4);
                s5 = T.MultiplyAdd(a, T.LoadInt8(b5 + p), s5);
                s6 = T.MultiplyAdd(a, T.LoadInt8(b6 + p), s6);
                s7 = T.MultiplyAdd(a, T.LoadInt8(b7 + p), s7);
            }
            AddSums<Int8Values>(T.SumFour(s0, s1, s2, s3), ai, job.B8, jj * cs, cs, full, k, ci + jj, Scales4(job, jj));
            AddSums<Int8Values>(T.SumFour(s4, s5, s6, s7), ai, job.B8, (jj + 4) * cs, cs, full, k, ci + jj + 4, Scales4(job, jj + 4));
        }
        for (; jj + 4 <= job.N; jj += 4)
        {
            sbyte* b0 = job.B8 + jj * cs, b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs;
            T s0 = T.Create(0f), s1 = s0, s2 = s0, s3 = s0;
            for (nint p = 0; p < full; p += w)
            {
                T a = T.Load(ref ai[p], 0);
                s0 = T.MultiplyAdd(a, T.LoadInt8(b0 + p), s0);
                s1 = T.MultiplyAdd(a, T.LoadInt8(b1 + p), s1);
                s2 = T.MultiplyAdd(a, T.LoadInt8(b2 + p), s2);
                s3 = T.MultiplyAdd(a, T.LoadInt8(b3 + p), s3);
            }
            AddSums<Int8Values>(T.SumFour(s0, s1, s2, s3), ai, job.B8, jj * cs, cs, full, k, ci + jj, Scales4(job, jj));
        }
        return jj;
    }

    /// <summary>The scales of 8-bit columns <paramref name="j"/> … j + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Scales4(in GemmJob job, nint j)
    {
        float* sc = job.Scales + j * job.ScaleStride;
        nint ss = job.ScaleStride;
        return Vector128.Create(sc[0], sc[ss], sc[2 * ss], sc[3 * ss]);
    }

    /// <summary>
    /// c[0 … 3] += the four sums plus the products of A's last values (from <paramref name="from"/> to k) with four columns of B
    /// (from element <paramref name="b0"/>), times <paramref name="scales"/> (8-bit columns', whose sums are of their integers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddSums<S>(Vector128<float> sums, float* ai, void* b, nint b0, nint cs, int from, int k, float* c, Vector128<float> scales = default) where S : struct, IValues
    {
        if (from < k)
        {
            float t0 = sums.GetElement(0), t1 = sums.GetElement(1), t2 = sums.GetElement(2), t3 = sums.GetElement(3);
            nint b1 = b0 + cs, b2 = b1 + cs, b3 = b2 + cs;
            for (int p = from; p < k; p++)
            {
                float a = ai[p];
                t0 += a * S.Get(b, b0 + p); t1 += a * S.Get(b, b1 + p); t2 += a * S.Get(b, b2 + p); t3 += a * S.Get(b, b3 + p);
            }
            sums = Vector128.Create(t0, t1, t2, t3);
        }
        if (typeof(S) == typeof(Int8Values)) sums *= scales;
        Vector128.Store(Vector128.Load(c) + sums, c);
    }

    /// <summary>
    /// The blocked product on the calling thread (a job may be a slice of a larger product): B packed by k-blocks of NC
    /// columns (or prepacked), and A's rows as <typeparamref name="R"/> reads them, packed into MR-row slivers
    /// (<see cref="PackedRows{K}"/>) or where they lie (<see cref="InPlaceRows{K}"/>, <see cref="GemmJob.ReadsAInPlace"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked<K, R>(in GemmJob job) where K : struct, IMicroKernel where R : struct, IBlockRows
    {
        int mr = K.MR, nr = K.NR;
        GemmPath path = job.Path;
        int KC = path.Depth(job.K), NC = path.NC;
        // A C too large for the caches, over more than one k-block, has every block of an A panel and of a B panel packed
        // first (C-resident order, below; GemmPath.ResidentRows); else one k-block at a time, each pass over C reloading it
        // (BLIS's order).
        int residentRows = path.ResidentRows(job.WholeC, job.K, mr);
        bool resident = residentRows > 0;
        int MC = resident ? residentRows : path.MC;
        int ncMax = Math.Min(NC, RoundUp(job.N, nr));
        int mcMax = Math.Min(MC, RoundUp(job.M, mr));
        int depth = resident ? job.K : Math.Min(KC, job.K); // the depth packed at once
        bool prepacked = job.Packed != null;
        float* bp = prepacked ? null : Aligned.Buffer(ref s_packedB, ncMax * depth);
        float* ap = R.Packs ? Aligned.Buffer(ref s_packedA, mcMax * depth) : null;
        float* tile = stackalloc float[K.MR * K.NR];
        for (int jc = 0; jc < job.N; jc += NC)
        {
            int nc = Math.Min(NC, job.N - jc), ncR = RoundUp(nc, nr);
            if (resident)
            {
                // C-resident order: the k-blocks run innermost but one, so the C tiles of a column sliver [MC, NR] stay in
                // cache from one k-block to the next (a projection of 8192 rows of depth 512 otherwise streamed its 64 MB
                // of C through memory once per k-block), while each B sliver [KC, NR] stays in L1 across the rows.
                // The panels' k-blocks lie one after the other, block pc at pc · (its panel's rounded width).
                if (!prepacked)
                    for (int pc = 0; pc < job.K; pc += KC) PackBlockB<K>(job, pc, Math.Min(KC, job.K - pc), jc, nc, bp + (nint)pc * ncR);
                for (int ic = 0; ic < job.M; ic += MC)
                {
                    int mc = Math.Min(MC, job.M - ic), mcR = RoundUp(mc, mr);
                    for (int pc = 0; pc < job.K; pc += KC) R.Pack(job, ic, mc, pc, Math.Min(KC, job.K - pc), ap + (nint)pc * mcR);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nrr = Math.Min(nr, nc - jr);
                        for (int pc = 0; pc < job.K; pc += KC)
                        {
                            int kc = Math.Min(KC, job.K - pc);
                            float* bs = (prepacked ? PackedBlock(job, pc, kc, jc) : bp + (nint)pc * ncR) + (nint)jr * kc;
                            R.Column(job, kc, ic, pc, ap + (nint)pc * mcR, bs, jc + jr, mc, nrr, tile);
                        }
                    }
                }
                continue;
            }
            for (int pc = 0; pc < job.K; pc += KC)
            {
                int kc = Math.Min(KC, job.K - pc);
                float* blockB = bp;
                if (prepacked) blockB = PackedBlock(job, pc, kc, jc);
                else PackBlockB<K>(job, pc, kc, jc, nc, bp);
                for (int ic = 0; ic < job.M; ic += MC)
                {
                    int mc = Math.Min(MC, job.M - ic);
                    R.Pack(job, ic, mc, pc, kc, ap);
                    for (int jr = 0; jr < nc; jr += nr) R.Column(job, kc, ic, pc, ap, blockB + (nint)jr * kc, jc + jr, mc, Math.Min(nr, nc - jr), tile);
                }
            }
        }
    }

    /// <summary>How <see cref="Blocked{K, R}"/> reads A's rows: packed first, or where they lie.</summary>
    private interface IBlockRows
    {
        /// <summary>Whether <see cref="Pack"/> writes the rows into the packing buffer.</summary>
        static abstract bool Packs { get; }

        /// <summary>Makes rows [ic, ic + mc) at depth <paramref name="pc"/> (<paramref name="kc"/> deep) ready at <paramref name="ap"/>.</summary>
        static abstract void Pack(in GemmJob job, int ic, int mc, int pc, int kc, float* ap);

        /// <summary>One B sliver [kc, NR] at <paramref name="bs"/> (C's columns from <paramref name="column"/>) against rows [ic, ic + mc).</summary>
        static abstract void Column(in GemmJob job, int kc, int ic, int pc, float* ap, float* bs, int column, int mc, int nrr, float* tile);
    }

    /// <summary>A packed into MR-row slivers; one row (a matrix-vector product) is read where it lies, as packing would pad it to MR rows.</summary>
    private readonly struct PackedRows<K> : IBlockRows where K : struct, IMicroKernel
    {
        public static bool Packs => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Pack(in GemmJob job, int ic, int mc, int pc, int kc, float* ap)
        {
            if (job.M > 1) PackA<K>(job, ic, mc, pc, kc, ap);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Column(in GemmJob job, int kc, int ic, int pc, float* ap, float* bs, int column, int mc, int nrr, float* tile)
        {
            float* c = job.C + (nint)ic * job.Ldc + column;
            if (job.M == 1) K.RunRow(kc, job.A + pc * job.CsA, job.CsA, bs, c, nrr, tile, Init(job, pc, column));
            else MacroColumn<K>(job, kc, ap, bs, c, mc, nrr, tile, Init(job, pc, column));
        }
    }

    /// <summary>
    /// A read where it lies (<see cref="GemmJob.ReadsAInPlace"/>): each tile reads its MR rows through the kernel's strides.
    /// A's block is then read from cache as often as its packed slivers would be, and the pass that packs it goes: a
    /// product reuses each packed sliver only N / NR times (4 for a 128-wide layer), so that the packing had cost 10–20 % of
    /// the products of a Transformer layer, forward and back. Each C value gets the same multiply-adds in the same order as
    /// from packed slivers of the same kernel.
    /// </summary>
    private readonly struct InPlaceRows<K> : IBlockRows where K : struct, IDirectKernel
    {
        public static bool Packs => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Pack(in GemmJob job, int ic, int mc, int pc, int kc, float* ap) { }

        /// <summary>As <see cref="MacroColumn{K}"/> on rows where they lie: a short edge tile one row at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Column(in GemmJob job, int kc, int ic, int pc, float* ap, float* bs, int column, int mc, int nrr, float* tile)
        {
            int mr = K.MR;
            float* init = Init(job, pc, column);
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mrr = Math.Min(mr, mc - ir);
                float* a = job.A + (nint)(ic + ir) * job.RsA + pc * job.CsA;
                float* cs = job.C + (nint)(ic + ir) * job.Ldc + column;
                if (mrr * 2 <= mr)
                    for (int r = 0; r < mrr; r++) K.RunRow(kc, a + r * job.RsA, job.CsA, bs, cs + (nint)r * job.Ldc, nrr, tile, init);
                else K.RunStrided(kc, a, job.RsA, job.CsA, bs, K.NR, cs, job.Ldc, mrr, nrr, tile, init);
            }
        }
    }

    /// <summary>
    /// What the k-block at depth <paramref name="pc"/> starts C's columns from <paramref name="column"/> on: the first block of
    /// a product that does not accumulate writes C from its bias row, or from zeros (C is neither read nor cleared first);
    /// null adds to C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Init(in GemmJob job, int pc, int column) =>
        pc != 0 || job.Accumulate ? null : job.Bias != null ? job.Bias + column : ZeroRow;

    /// <summary>NR zeros (the widest tile's), where a C written without a bias starts.</summary>
    private static readonly float* ZeroRow = (float*)NativeMemory.AllocZeroed(32, sizeof(float));

    /// <summary>Where a prepacked B's k-block at depth <paramref name="pc"/> (of depth <paramref name="kc"/>) holds this job's column <paramref name="jc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* PackedBlock(in GemmJob job, int pc, int kc, int jc) => job.Packed + (nint)pc * job.PackedN + (nint)(job.PackedColumn + jc) * kc;

    /// <summary>One B sliver [kc, NR] against every A sliver of a packed block of <paramref name="mc"/> rows: C[mc, nrr] (+)= A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MacroColumn<K>(in GemmJob job, int kc, float* ap, float* bs, float* c, int mc, int nrr, float* tile, float* init) where K : struct, IMicroKernel
    {
        int mr = K.MR;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int mrr = Math.Min(mr, mc - ir);
            float* cs = c + (nint)ir * job.Ldc;
            float* asl = ap + (nint)ir * kc;
            if (mrr * 2 <= mr)
            {
                // a short edge tile (the 2 rows left of 32 under a 6-row tile): the full tile would spend most of its
                // multiply-adds on padding, one row at a time spends none (alternating in one process, a recurrent step's
                // [32 × 1024 × 256] 0.93× as long at 256 bits; [33 | 34 × 1024 × 256] 0.87× at 512)
                for (int r = 0; r < mrr; r++) K.RunRow(kc, asl + r, mr, bs, cs + (nint)r * job.Ldc, nrr, tile, init);
            }
            else K.Run(kc, asl, bs, cs, job.Ldc, mrr, nrr, tile, init);
        }
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    private static void PackBlockB(in GemmJob job, int pc, int kc, int jc, int nc, float* dst)
    {
        switch (job.Path.Id)
        {
            case GemmPath.Kernel.V512: PackBlockB<Kernel512x8x32>(job, pc, kc, jc, nc, dst); break;
            case GemmPath.Kernel.V256: PackBlockB<Kernel256x6x16>(job, pc, kc, jc, nc, dst); break;
            case GemmPath.Kernel.V128: PackBlockB<Kernel128x6x8>(job, pc, kc, jc, nc, dst); break;
            case GemmPath.Kernel.V128Arm: PackBlockB<Kernel128x8x12>(job, pc, kc, jc, nc, dst); break;
            default: PackBlockB<KernelScalar4x4>(job, pc, kc, jc, nc, dst); break;
        }
    }

    // B block [kc, nc] → slivers of NR columns, each [kc, NR] contiguous, zero-padded past n. B's rows are copied with
    // the kernel's vectors; Bᵀ (a weight matrix [out, in]) is transposed 4 × 4 in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBlockB<K>(in GemmJob job, int pc, int kc, int jc, int nc, float* dst) where K : struct, IMicroKernel
    {
        if (job.B16 != null)
        {
            PackBlockWidened<K, BFloat16Values>(job, pc, kc, jc, nc, dst);
            return;
        }
        if (job.B8 != null)
        {
            PackBlockWidened<K, Int8Values>(job, pc, kc, jc, nc, dst);
            return;
        }
        if (job.B4 != null)
        {
            PackBlockWidened<K, Int4Values>(job, pc, kc, jc, nc, dst);
            return;
        }
        int nr = K.NR;
        int packed = 0;
        if (job.CsB == 1)
        {
            // B's rows are contiguous: eight rows at a time are read along the block and dealt NR at a time to the full
            // slivers, so that each sliver is written eight rows (8 · NR values) at a time. One row at a time wrote NR
            // values to slivers KC · NR apart, all in one cache set; sliver by sliver, the reads are a row of B apart.
            packed = nc / nr * nr;
            float* src = job.B + (nint)pc * job.RsB + jc;
            const int Rows = 8;
            for (int p0 = 0; p0 < kc; p0 += Rows)
            {
                int rows = Math.Min(Rows, kc - p0);
                for (int jr = 0; jr < packed; jr += nr)
                {
                    float* s = src + p0 * job.RsB + jr, d = dst + (nint)jr * kc + (nint)p0 * nr;
                    for (int p = 0; p < rows; p++, s += job.RsB, d += nr) K.CopyRow(s, d);
                }
            }
        }
        for (int jr = packed; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)jr * kc;
            float* src = job.B + (nint)pc * job.RsB + (jc + jr) * job.CsB;
            int p0 = 0;
            if (cols == nr && job.RsB == 1 && Vector128.IsHardwareAccelerated)
            {
                // a cache line of each column at a time (16 deep), four columns by four deep transposed in registers: the
                // columns lie a row of Bᵀ apart, often 4 KB — one set of L1 — and a line read 4 deep at a time was gone
                // before the next 4 were read
                for (; p0 + 4 <= kc; p0 += 4)
                {
                    int depth = p0 + 16 <= kc ? 16 : 4;
                    for (int j = 0; j < nr; j += 4)
                        for (int q = 0; q < depth; q += 4) GemmEdge.Transpose4x4(src + j * job.CsB + p0 + q, job.CsB, d + (nint)(p0 + q) * nr + j, nr);
                    p0 += depth - 4;
                }
            }
            for (int p = p0; p < kc; p++)
            {
                float* s = src + p * job.RsB;
                float* dp = d + (nint)p * nr;
                int j = 0;
                for (; j < cols; j++) dp[j] = s[j * job.CsB];
                for (; j < nr; j++) dp[j] = 0f;
            }
        }
    }

    // The same from bfloat16 (job.B16) or 8- or 4-bit integers (job.B8, job.B4), each value widened as it is packed (S): Bᵀ (a weight matrix
    // [out, in], the product that takes them) four columns by four deep, transposed in registers; other strides one value at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBlockWidened<K, S>(in GemmJob job, int pc, int kc, int jc, int nc, float* dst) where K : struct, IMicroKernel where S : struct, IValues
    {
        int nr = K.NR;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)jr * kc;
            int p0 = 0;
            if (cols == nr && job.RsB == 1 && Vector128.IsHardwareAccelerated)
            {
                // 16 deep for each four columns, then 4 (as PackBlockB reads floats: a column's run read while it is in L1)
                for (; p0 + 4 <= kc; p0 += 4)
                {
                    int depth = p0 + 16 <= kc ? 16 : 4;
                    for (int j = 0; j < nr; j += 4)
                        for (int q = 0; q < depth; q += 4)
                        {
                            nint col = jc + jr + j, p = pc + p0 + q;
                            GemmEdge.Transpose4x4(S.Widened4(job, col, p), S.Widened4(job, col + 1, p), S.Widened4(job, col + 2, p), S.Widened4(job, col + 3, p), d + (nint)(p0 + q) * nr + j, nr);
                        }
                    p0 += depth - 4;
                }
            }
            for (int p = p0; p < kc; p++)
            {
                float* dp = d + (nint)p * nr;
                int j = 0;
                for (; j < cols; j++) dp[j] = S.Widened(job, jc + jr + j, pc + p);
                for (; j < nr; j++) dp[j] = 0f;
            }
        }
    }

    // A block [mc, kc] → slivers of MR rows, each stored k-major [kc, MR], zero-padded past m. A's rows are transposed
    // 4 × 4 in registers; Aᵀ's rows are copied.
    /// <summary>How far ahead <see cref="PackA{K}"/> prefetches in Aᵀ stored row-major (x64): the run of rows 4 p on.</summary>
    private const int RowsAhead = 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<K>(in GemmJob job, int ic, int mc, int pc, int kc, float* dst) where K : struct, IMicroKernel
    {
        int mr = K.MR;
        int packed = 0;
        if (job.RsA == 1 && mc >= mr && Vector128.IsHardwareAccelerated)
        {
            // Aᵀ stored row-major (a weight gradient's dGᵀ): each p is a contiguous run of the block's rows, read once along
            // the run and dealt MR at a time to the full slivers. Sliver by sliver instead, each read would be MR values a
            // whole row of Aᵀ apart, and a row of 4 KB maps every read to the same cache set.
            packed = mc / mr * mr;
            float* src = job.A + ic + pc * job.CsA;
            for (int p = 0; p < kc; p++)
            {
                float* s = src + p * job.CsA, dp = dst + (nint)p * mr;
                // the run a few p on, prefetched on x64 (its rows are a row of Aᵀ apart): a 512-wide layer's weight gradient
                // over 4096 rows 122 -> 170 GFLOP/s on one thread, when it was packed (x64 now packs Aᵀ only for rows a
                // multiple of 4 KB apart, an LSTM's gate gradients at H = 256: GemmJob.ReadsAInPlace)
                if (Sse.IsSupported)
                    for (int q = 0; q < packed; q += 16) Sse.Prefetch0(s + RowsAhead * job.CsA + q);
                for (int ir = 0; ir < packed; ir += mr, s += mr, dp += (nint)mr * kc)
                {
                    int r = 0;
                    for (; r + 4 <= mr; r += 4) Vector128.Load(s + r).Store(dp + r);
                    for (; r < mr; r++) dp[r] = s[r];
                }
            }
        }
        for (int ir = packed; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (nint)ir * kc;
            float* src = job.A + (ic + ir) * job.RsA + pc * job.CsA;
            int p0 = 0;
            if (rows == mr && Vector128.IsHardwareAccelerated)
            {
                if (job.CsA == 1)
                {
                    for (; p0 + 4 <= kc; p0 += 4)
                    {
                        // the sliver's rows are MR streams a row apart, read 16 bytes at a time; only Arm64 comes here (x64
                        // reads A stored row-major where it lies: GemmJob.ReadsAInPlace), and .NET has no prefetch there
                        int r = 0;
                        for (; r + 4 <= mr; r += 4) GemmEdge.Transpose4x4(src + r * job.RsA + p0, job.RsA, d + (nint)p0 * mr + r, mr);
                        if (r + 2 <= mr)
                        {
                            GemmEdge.Transpose2x4(src + r * job.RsA + p0, job.RsA, d + (nint)p0 * mr + r, mr);
                            r += 2;
                        }
                        for (; r < mr; r++)
                        {
                            float* s = src + r * job.RsA + p0;
                            d[p0 * mr + r] = s[0]; d[(p0 + 1) * mr + r] = s[1]; d[(p0 + 2) * mr + r] = s[2]; d[(p0 + 3) * mr + r] = s[3];
                        }
                    }
                }
            }
            for (int p = p0; p < kc; p++)
            {
                float* s = src + p * job.CsA, dp = d + (nint)p * mr;
                int r = 0;
                for (; r < rows; r++) dp[r] = s[r * job.RsA];
                for (; r < mr; r++) dp[r] = 0f;
            }
        }
    }
}

/// <summary>One product C += A·B as pointers and strides: A(i, p) = A[i·RsA + p·CsA], B(p, j) = B[p·RsB + j·CsB].</summary>
/// <remarks>When <see cref="Packed"/> is set, B is already packed (<see cref="Gemm.PackB(int, int, Weights, int, bool, Span{float})"/>) with rows of
/// <see cref="PackedN"/> and this job's column 0 is the packed matrix's column <see cref="PackedColumn"/>.</remarks>
internal readonly unsafe struct GemmJob(GemmPath path, float* a, nint rsA, nint csA, float* b, nint rsB, nint csB, float* c, nint ldc, int m, int n, int k)
{
    /// <summary>The micro-kernel and blocking that run the product (and that packed B, when it is packed).</summary>
    public readonly GemmPath Path = path;
    public readonly float* A = a;
    public readonly nint RsA = rsA, CsA = csA;
    public float* B { get; init; } = b;
    public readonly nint RsB = rsB, CsB = csB;
    public readonly float* C = c;
    public readonly nint Ldc = ldc;
    public readonly int M = m, N = n, K = k;
    /// <summary>B as bfloat16 bits (same strides) when <see cref="B"/> is null: the products widen its values as they read them.</summary>
    public ushort* B16 { get; init; }
    /// <summary>B as 8-bit integers (same strides) when <see cref="B"/> is null, column j times <see cref="Scales"/>[j · <see cref="ScaleStride"/>].</summary>
    public sbyte* B8 { get; init; }
    /// <summary>
    /// B as 4-bit integers when <see cref="B"/> is null (same strides in values, two a byte: <see cref="Int4"/>'s layout), each
    /// group of <see cref="Group"/> values of column j times <see cref="Scales"/>[j · <see cref="ScaleStride"/> + its group].
    /// </summary>
    public byte* B4 { get; init; }
    public int Group { get; init; }
    public float* Scales { get; init; }
    public nint ScaleStride { get; init; }
    public float* Packed { get; init; }
    public int PackedN { get; init; }
    public int PackedColumn { get; init; }
    /// <summary>Whether C is added to; if not, the first k-block writes it (from <see cref="Bias"/> when there is one).</summary>
    public bool Accumulate { get; init; }
    /// <summary>A row [N] added to every row of C (C = A · B + 1 · biasᵀ), or null; only when not accumulating.</summary>
    public float* Bias { get; init; }
    /// <summary>The whole product's C (m × n), which a part split off keeps: the threads' parts share the last-level cache.</summary>
    public long WholeC { get; init; } = (long)m * n;

    /// <summary>
    /// Whether the whole product takes the 512-bit path's tall tile (<see cref="GemmPath.TallRows"/> rows or more) when it
    /// packs A (one that reads A in place keeps the 8-row tile: <see cref="ReadsAInPlace"/>), which a part split off keeps:
    /// every part then tiles its rows as the whole would, so that no row is an edge row (run one row at a time, its sums
    /// in another order) on more threads and not on one — one thread and all give the same bits.
    /// </summary>
    public bool Tall { get; init; } = path.Id == GemmPath.Kernel.V512 && m >= GemmPath.TallRows;

    /// <summary>
    /// Whether this is a part of rows split off a larger product: its one or two rows are then the whole's edge rows and
    /// run as the whole runs them (packed), not as dot products, whose sums come in another order.
    /// </summary>
    public bool RowPart { get; init; }

    /// <summary>
    /// The most rows against Bᵀ that take dot products (<see cref="Gemm.IsRowWise"/>): <see cref="Gemm.RowWiseRows"/>, or 2 where
    /// attention's scores keep the products they were tuned with (<see cref="Gemm.MatMulTransBTuned"/>).
    /// </summary>
    public int DotRows { get; init; } = 2;

    /// <summary>
    /// Whether the product reads A where it lies rather than packing it (<see cref="Gemm"/>'s InPlaceRows): on the x64 paths
    /// (<see cref="GemmPath.ReadsAInPlace"/>), for an A contiguous along its rows (A stored row-major), and for one
    /// contiguous along its columns (Aᵀ stored row-major: a weight gradient's dYᵀ, whose tile reads MR adjacent values of
    /// each of its rows) unless those rows are a multiple of 4 KB apart. Then every line of A a tile reads, k after k,
    /// falls in one set of L1: read in place, an LSTM's weight gradient at H = 256 [1024 × 256 × 2048] ran 8 % slower on
    /// one thread. Rows of A 4 KB apart are read in place (session 17: the step back's product [32 × 256 × 1024] 1.05×
    /// as fast on one thread and 1.2–1.3× on two, where each core had packed all of A; dX 1.04–1.1×; GEMM 1024³ the same).
    /// A product read in place runs the path's own tile (8 × 32 at 512 bits, not the tall 12 × 32, whose twelve rows 4 KB
    /// apart overflowed twelve ways: 0.75× as fast). Decided from A's strides, which every part split off keeps, so that
    /// one thread and all tile the same rows.
    /// </summary>
    public bool ReadsAInPlace => ReadsInPlace(Path, RsA, CsA);

    /// <summary>Whether a product on <paramref name="path"/> whose A(i, p) is a[i · rsA + p · csA] reads A in place (<see cref="ReadsAInPlace"/>).</summary>
    public static bool ReadsInPlace(GemmPath path, nint rsA, nint csA) =>
        path.ReadsAInPlace && (csA == 1 || (rsA == 1 && csA * sizeof(float) % 4096 != 0));

    /// <summary>Rows of the register tile that runs the product.</summary>
    public int TileRows => Tall && !ReadsAInPlace ? Kernel512x12x32.MR : Path.MR;

    /// <summary>Rows [i0, i1) of the product.</summary>
    public GemmJob Rows(int i0, int i1) =>
        new(Path, A + i0 * RsA, RsA, CsA, B, RsB, CsB, C + i0 * Ldc, Ldc, i1 - i0, N, K) { B16 = B16, B8 = B8, B4 = B4, Group = Group, Scales = Scales, ScaleStride = ScaleStride, Packed = Packed, PackedN = PackedN, PackedColumn = PackedColumn, WholeC = WholeC, Tall = Tall, RowPart = true, Accumulate = Accumulate, Bias = Bias, DotRows = DotRows };

    /// <summary>Columns [j0, j1) of the product (j0 a multiple of the tile width when B is packed).</summary>
    public GemmJob Columns(int j0, int j1) =>
        new(Path, A, RsA, CsA, B == null ? null : B + j0 * CsB, RsB, CsB, C + j0, Ldc, M, j1 - j0, K) { B16 = B16 == null ? null : B16 + j0 * CsB, B8 = B8 == null ? null : B8 + j0 * CsB, B4 = B4 == null ? null : B4 + j0 * CsB / 2, Group = Group, Scales = Scales == null ? null : Scales + j0 * ScaleStride, ScaleStride = ScaleStride, Packed = Packed, PackedN = PackedN, PackedColumn = PackedColumn + j0, WholeC = WholeC, Tall = Tall, Accumulate = Accumulate, Bias = Bias == null ? null : Bias + j0, DotRows = DotRows };
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
