using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

/// <summary>
/// C[m, n] (+)= op(A) · op(B) on the device, row-major with leading dimensions as <see cref="Dsl.Kernels.Gemm"/>: a tiled
/// kernel that stages tiles of A and B in shared memory, one thread per element of C (16 × 16 tiles, or 4 × 4 on an
/// accelerator with fewer threads per group). It runs on every accelerator (CUDA, OpenCL, CPU); on ILGPU's CPU
/// accelerator, whose simulated barriers make it very slow, a kernel without shared memory runs instead.
/// <see cref="Dsl.Kernels.GemmReference"/> is what both are tested against.
/// </summary>
public sealed class TiledGemm
{
    private const int MaxTile = 16;

    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _kernel;

    /// <summary>Compiles the kernel for <paramref name="device"/> (once per device).</summary>
    public TiledGemm(Device device) : this(device, tiled: null)
    {
    }

    /// <summary>
    /// <paramref name="tiled"/>: the shared-memory kernel (true), one thread per element of C with no shared memory (false),
    /// or the first on a GPU and the second on ILGPU's CPU accelerator, which simulates a group's barriers with OS threads
    /// and runs the tiled kernel thousands of times slower (null).
    /// </summary>
    internal TiledGemm(Device device, bool? tiled)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        Tiled = tiled ?? device.Kind != DeviceKind.Cpu;
        if (Tiled) _kernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(Kernel);
        else _simple = device.Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(SimpleKernel);
        _tile = device.Accelerator.MaxNumThreadsPerGroup >= MaxTile * MaxTile ? MaxTile : 4;
    }

    private readonly Action<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _simple;

    /// <summary>Whether the shared-memory kernel runs (else the one without shared memory).</summary>
    internal bool Tiled { get; }

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
        var shape = new GemmShape(m, n, k, lda, ldb, ldc, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, tile);
        if (!Tiled)
        {
            _simple!(new Index2D(n, m), a, b, c, shape);
            return;
        }
        var groups = new Index2D((n + tile - 1) / tile, (m + tile - 1) / tile);
        _kernel!(new KernelConfig(groups, new Index2D(tile, tile)), a, b, c, shape);
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
