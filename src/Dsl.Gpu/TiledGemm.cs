using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

/// <summary>
/// C[m, n] (+)= op(A) · op(B) on the device, row-major with leading dimensions as <see cref="Dsl.Kernels.Gemm"/>: on a GPU
/// a register-blocked kernel (64 × 64 blocks of C per group of 16 × 16 threads, 4 × 4 per thread, A's and B's slices
/// staged in shared memory); also a tiled kernel with one element of C per thread, for comparison. They run on every
/// accelerator (CUDA, OpenCL, CPU); on ILGPU's CPU accelerator, whose simulated barriers make them very slow, a kernel
/// without shared memory runs by default.
/// <see cref="Dsl.Kernels.GemmReference"/> is what both are tested against.
/// </summary>
public sealed class TiledGemm
{
    private const int MaxTile = 16;

    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _kernel;
    private readonly Action<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _simple;

    /// <summary>Compiles the kernel for <paramref name="device"/> (once per device).</summary>
    public TiledGemm(Device device) : this(device, kernel: null)
    {
    }

    /// <summary>
    /// <paramref name="kernel"/>: which kernel runs; by default the register-blocked one on a GPU, and on ILGPU's CPU
    /// accelerator, which simulates a group's barriers with OS threads and runs the shared-memory kernels thousands of times
    /// slower, the one without shared memory. Groups are 16 × 16 threads, or 4 × 4 where an accelerator allows fewer than 256.
    /// </summary>
    internal TiledGemm(Device device, GemmKernel? kernel)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        int threads = device.Accelerator.MaxNumThreadsPerGroup;
        Variant = kernel ?? (device.Kind == DeviceKind.Cpu ? GemmKernel.Simple : GemmKernel.Blocked);
        _kernel = Variant switch
        {
            GemmKernel.Blocked => device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(BlockedKernel),
            GemmKernel.Tiled => device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(Kernel),
            _ => null,
        };
        if (Variant == GemmKernel.Simple) _simple = device.Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(SimpleKernel);
        _tile = threads >= MaxTile * MaxTile ? MaxTile : 4;
    }

    /// <summary>Which kernel runs.</summary>
    internal GemmKernel Variant { get; }

    /// <summary>Whether a shared-memory kernel runs (else the one without shared memory).</summary>
    internal bool Tiled => Variant != GemmKernel.Simple;

    private readonly int _tile;

    /// <summary>The device the kernel runs on.</summary>
    public Device Device { get; }

    /// <summary>
    /// C[m, n] (+)= op(A) · op(B): A is [m, k] (stored [k, m] when <paramref name="transA"/>), B is [k, n] (stored [n, k] when
    /// <paramref name="transB"/>), each row-major with its leading dimension. Queued on the device's stream; reading C back
    /// synchronises.
    /// </summary>
    public void Run(int m, int n, int k, ArrayView<float> a, int lda, bool transA, ArrayView<float> b, int ldb, bool transB,
        ArrayView<float> c, int ldc, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"sizes must not be negative: m = {m}, n = {n}, k = {k}");
        if (m == 0 || n == 0) return;
        int tile = _tile;
        // the rows of C go on the grid's second dimension, which CUDA caps at 65,535 blocks: a product of more rows runs
        // in launches of at most that many blocks of rows, each from its own rows of op(A) and C
        long rowsPerBlock = Variant switch { GemmKernel.Simple => 1, GemmKernel.Blocked => 4 * tile, _ => tile };
        int most = (int)Math.Min(int.MaxValue, MaxGridRows * rowsPerBlock);
        for (int first = 0; first < m; first += most)
        {
            int rows = Math.Min(most, m - first);
            ArrayView<float> from = first == 0 ? a : a.SubView(transA ? first : (long)first * lda);
            ArrayView<float> into = first == 0 ? c : c.SubView((long)first * ldc);
            Launch(rows, n, k, from, lda, transA, b, ldb, transB, into, ldc, accumulate, tile);
        }
    }

    /// <summary>The most blocks of rows one launch takes (CUDA's limit on a grid's second dimension; lowered by tests).</summary>
    internal static long MaxGridRows = 65_535;

    private void Launch(int m, int n, int k, ArrayView<float> a, int lda, bool transA, ArrayView<float> b, int ldb, bool transB,
        ArrayView<float> c, int ldc, bool accumulate, int tile)
    {
        var shape = new GemmShape(m, n, k, lda, ldb, ldc, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, tile);
        switch (Variant)
        {
            case GemmKernel.Simple:
                _simple!(new Index2D(n, m), a, b, c, shape);
                break;
            case GemmKernel.Blocked:
                _kernel!(new KernelConfig(new Index2D((n + 4 * tile - 1) / (4 * tile), (m + 4 * tile - 1) / (4 * tile)), new Index2D(tile, tile)), a, b, c, shape);
                break;
            default:
                _kernel!(new KernelConfig(new Index2D((n + tile - 1) / tile, (m + tile - 1) / tile), new Index2D(tile, tile)), a, b, c, shape);
                break;
        }
    }

    /// <summary>As <see cref="Run(int, int, int, ArrayView{float}, int, bool, ArrayView{float}, int, bool, ArrayView{float}, int, bool)"/> over device spans.</summary>
    public void Run(int m, int n, int k, DeviceSpan a, int lda, bool transA, DeviceSpan b, int ldb, bool transB, DeviceSpan c, int ldc, bool accumulate) =>
        Run(m, n, k, a.ViewOrPlaceholder(Device), lda, transA, b.ViewOrPlaceholder(Device), ldb, transB, c.View, ldc, accumulate);

    /// <summary>The sizes and layouts of one product, passed by value to the kernel.</summary>
    public readonly record struct GemmShape(int M, int N, int K, int Lda, int Ldb, int Ldc, int TransA, int TransB, int Accumulate, int Tile);

    /// <summary>One thread per element of C, reading A and B from memory: what ILGPU's CPU accelerator runs fast.</summary>
    private static void SimpleKernel(Index2D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s)
    {
        int col = index.X, row = index.Y;
        float sum = 0f;
        for (int k = 0; k < s.K; k++)
            sum += a[s.TransA != 0 ? (long)k * s.Lda + row : (long)row * s.Lda + k] * b[s.TransB != 0 ? (long)col * s.Ldb + k : (long)k * s.Ldb + col];
        long at = (long)row * s.Ldc + col;
        c[at] = s.Accumulate != 0 ? c[at] + sum : sum;
    }

    /// <summary>The depth of the register-blocked kernel's shared slices, and the most rows (and columns) of C a group computes.</summary>
    private const int BlockK = 8, MaxBlock = 4 * MaxTile;

    /// <summary>
    /// The register-blocked kernel: a group of g × g threads (16 × 16 on a GPU, 4 × 4 on ILGPU's CPU accelerator) computes a
    /// 4g × 4g block of C, each thread a 4 × 4 tile of it in registers; A's and B's 4g × 8 slices are staged in shared memory
    /// (A transposed, so that a thread reads its four rows contiguously), each element read from shared memory serving four
    /// products instead of one.
    /// </summary>
    private static void BlockedKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s)
    {
        var tileA = SharedMemory.Allocate1D<float>(BlockK * MaxBlock); // [k][row], the first 4g rows used
        var tileB = SharedMemory.Allocate1D<float>(BlockK * MaxBlock); // [k][col]
        int g = s.Tile, block = 4 * g, tx = Group.IdxX, ty = Group.IdxY, thread = ty * g + tx;
        int blockRow = Grid.IdxY * block, blockCol = Grid.IdxX * block;
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int t = 0; t < s.K; t += BlockK)
        {
            // 4g × 8 values of each slice, two per thread
            for (int e = thread; e < block * BlockK; e += g * g)
            {
                int r = e / BlockK, ka = e % BlockK, row = blockRow + r, k = t + ka;
                tileA[ka * block + r] = row < s.M && k < s.K ? a[s.TransA != 0 ? (long)k * s.Lda + row : (long)row * s.Lda + k] : 0f;
                int kb = e / block, cb = e % block, col = blockCol + cb, k2 = t + kb;
                tileB[kb * block + cb] = k2 < s.K && col < s.N ? b[s.TransB != 0 ? (long)col * s.Ldb + k2 : (long)k2 * s.Ldb + col] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < BlockK; kk++)
            {
                int ar = kk * block + ty * 4, bc = kk * block + tx * 4;
                float a0 = tileA[ar], a1 = tileA[ar + 1], a2 = tileA[ar + 2], a3 = tileA[ar + 3];
                float b0 = tileB[bc], b1 = tileB[bc + 1], b2 = tileB[bc + 2], b3 = tileB[bc + 3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }
        int row0 = blockRow + ty * 4, col0 = blockCol + tx * 4;
        Store(c, s, row0 + 0, col0, c00, c01, c02, c03);
        Store(c, s, row0 + 1, col0, c10, c11, c12, c13);
        Store(c, s, row0 + 2, col0, c20, c21, c22, c23);
        Store(c, s, row0 + 3, col0, c30, c31, c32, c33);
    }

    /// <summary>One row of a thread's 4 × 4 tile into C, within its bounds.</summary>
    private static void Store(ArrayView<float> c, GemmShape s, int row, int col, float v0, float v1, float v2, float v3)
    {
        if (row >= s.M) return;
        long at = (long)row * s.Ldc + col;
        bool add = s.Accumulate != 0;
        if (col < s.N) c[at] = add ? c[at] + v0 : v0;
        if (col + 1 < s.N) c[at + 1] = add ? c[at + 1] + v1 : v1;
        if (col + 2 < s.N) c[at + 2] = add ? c[at + 2] + v2 : v2;
        if (col + 3 < s.N) c[at + 3] = add ? c[at + 3] + v3 : v3;
    }

    private static void Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s)
    {
        // shared memory is sized at compile time: the largest tile; a smaller one uses its corner
        var tileA = SharedMemory.Allocate2D<float, Stride2D.DenseX>(new Index2D(MaxTile, MaxTile), new Stride2D.DenseX(MaxTile));
        var tileB = SharedMemory.Allocate2D<float, Stride2D.DenseX>(new Index2D(MaxTile, MaxTile), new Stride2D.DenseX(MaxTile));
        int tile = s.Tile, tx = Group.IdxX, ty = Group.IdxY;
        int col = Grid.IdxX * tile + tx, row = Grid.IdxY * tile + ty;
        float sum = 0f;
        for (int t = 0; t < s.K; t += tile)
        {
            // each thread stages one element of A's tile (row, t + tx) and of B's tile (t + ty, col), zero past the edges
            int ak = t + tx, bk = t + ty;
            tileA[ty, tx] = row < s.M && ak < s.K ? a[s.TransA != 0 ? (long)ak * s.Lda + row : (long)row * s.Lda + ak] : 0f;
            tileB[ty, tx] = bk < s.K && col < s.N ? b[s.TransB != 0 ? (long)col * s.Ldb + bk : (long)bk * s.Ldb + col] : 0f;
            Group.Barrier();
            for (int i = 0; i < tile; i++) sum += tileA[ty, i] * tileB[i, tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N)
        {
            long at = (long)row * s.Ldc + col;
            c[at] = s.Accumulate != 0 ? c[at] + sum : sum;
        }
    }
}

/// <summary>The kernels <see cref="TiledGemm"/> has.</summary>
internal enum GemmKernel
{
    /// <summary>One thread per element of C, no shared memory (ILGPU's CPU accelerator).</summary>
    Simple,

    /// <summary>One thread per element of C, square tiles of A and B in shared memory.</summary>
    Tiled,

    /// <summary>4 × 4 elements of C per thread in registers, 64 × 64 per group of 256 (16 × 16 per group of 16).</summary>
    Blocked,
}
