using Dsl.Gpu;
using Dsl.Kernels;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Device = Dsl.Gpu.Device;
using Xunit;

namespace Dsl.Tests.Gpu;

/// <summary>The device GEMM on ILGPU's CPU accelerator (what CI has) against the scalar reference: edges, layouts, accumulation.</summary>
public class TiledGemmTests
{
    [Fact]
    public void OpenReturnsTheKindAskedForAndAutoFindsOne()
    {
        using Device cpu = Device.Open(DeviceKind.Cpu);
        Assert.Equal(DeviceKind.Cpu, cpu.Kind);
        Assert.False(string.IsNullOrEmpty(cpu.Name));
        using Device best = Device.Open();
        Assert.NotEqual(DeviceKind.Auto, best.Kind);
    }

    [Fact]
    public void UploadedIntsAreTheLastValuesAskedForWhetherRepeatedChangedOrGrown()
    {
        // a repeated upload (a pass's lengths, read by every layer) is not copied again: what is there must still be right
        using Device cpu = Device.Open(DeviceKind.Cpu);
        int[] Read(ArrayView<int> view, int n)
        {
            var values = new int[n];
            view.SubView(0, n).CopyToCPU(values);
            return values;
        }
        int[] lengths = [4, 2, 3], other = [4, 2, 1], longer = Enumerable.Range(0, 300).ToArray();
        Assert.Equal(lengths, Read(cpu.Upload(lengths), 3));
        Assert.Equal(lengths, Read(cpu.Upload(lengths), 3));
        Assert.Equal(other, Read(cpu.Upload(other), 3));
        Assert.Equal([4, 2], Read(cpu.Upload([4, 2]), 2));
        Assert.Equal(longer, Read(cpu.Upload(longer), 300));
        Assert.Equal(lengths, Read(cpu.Upload(lengths), 3));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(63, 5)]     // one chunk
    [InlineData(64, 3)]     // eight chunks of eight rows
    [InlineData(1000, 65)]  // 31 chunks of 32 or 33 rows (a bias's gradient, as the char model's)
    [InlineData(3, 2048)]
    public void ColumnSumsAddEveryRowOnceInChunks(int rows, int width)
    {
        // the device sums each chunk of rows, then the chunks in order: every row counted once, whatever the split, added to
        // what the destination held
        using Device cpu = Device.Open(DeviceKind.Cpu);
        var rng = new Rng((ulong)(rows + width));
        float[] x = Enumerable.Range(0, rows * width).Select(_ => rng.NextNormal()).ToArray();
        float[] into = Enumerable.Range(0, width).Select(j => (float)j).ToArray();
        using var dx = new DeviceMemory(cpu, x.Length);
        using var dInto = new DeviceMemory(cpu, width);
        dx.Span.CopyFrom(x);
        dInto.Span.CopyFrom(into);
        Dsl.Gpu.Kernels.Activations.AddColumnSums(dx.Span, rows, dInto.Span);
        var got = new float[width];
        dInto.Span.CopyTo(got);
        for (int j = 0; j < width; j++)
        {
            double expected = j;
            for (int r = 0; r < rows; r++) expected += x[r * width + j];
            Assert.True(Math.Abs(got[j] - expected) <= 1e-5 * (rows + j), $"column {j}: {got[j]}, expected {expected}");
        }
        Assert.Equal(rows < 64 ? 1 : (int)Math.Sqrt(rows), Dsl.Gpu.DeviceKernels.Chunks(rows));
    }

    [Fact]
    public void CuBlasIsUsedOnlyOnCudaAndTheDeviceSaysWhatComputesItsProducts()
    {
        using Device cpu = Device.Open(DeviceKind.Cpu);
        Assert.Null(CuBlasProducts.TryOpen(cpu, out string why));
        Assert.Equal("not a CUDA device", why);
        Assert.Null(cpu.Blas);
        Assert.Equal("GEMM without shared memory", cpu.Products);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(16, 16, 16)]
    [InlineData(17, 33, 9)]
    [InlineData(5, 3, 40)]
    [InlineData(40, 23, 31)]
    [InlineData(70, 130, 19)]
    public void MatchesTheReferenceInEveryLayout(int m, int n, int k)
    {
        foreach (GemmKernel kernel in Enum.GetValues<GemmKernel>()) MatchesTheReference(m, n, k, kernel);
    }

    private static void MatchesTheReference(int m, int n, int k, GemmKernel kernel)
    {
        using Device device = Device.Open(DeviceKind.Cpu);
        var gemm = new TiledGemm(device, kernel);
        Assert.Equal(kernel, gemm.Variant);
        var rng = new Rng((ulong)(m * 10007 + n * 101 + k));
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
        {
            // leading dimensions wider than the rows (a slice of a wider buffer)
            int lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
            float[] a = Random(rng, (transA ? k : m) * lda), b = Random(rng, (transB ? n : k) * ldb), c = Random(rng, m * ldc);
            float[] expected = (float[])c.Clone();
            GemmReference.MatMul(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);

            using MemoryBuffer1D<float, Stride1D.Dense> da = device.Accelerator.Allocate1D(a), db = device.Accelerator.Allocate1D(b), dc = device.Accelerator.Allocate1D(c);
            gemm.Run(m, n, k, da.View.AsContiguous(), lda, transA, db.View.AsContiguous(), ldb, transB, dc.View.AsContiguous(), ldc, accumulate);
            float[] actual = dc.GetAsArray1D();
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.True(MathF.Abs(expected[i * ldc + j] - actual[i * ldc + j]) <= 1e-4f * (1f + MathF.Abs(expected[i * ldc + j])),
                    $"({m}, {n}, {k}) {kernel} transA={transA} transB={transB} accumulate={accumulate}: C[{i}, {j}] {actual[i * ldc + j]} vs {expected[i * ldc + j]}");
            // the padding between rows is left as it was
            for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.Equal(c[i * ldc + j], actual[i * ldc + j]);
        }
    }

    [Fact]
    public void NegativeSizesAreRefused()
    {
        using Device device = Device.Open(DeviceKind.Cpu);
        var gemm = new TiledGemm(device);
        using var buffer = device.Accelerator.Allocate1D<float>(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => gemm.Run(-1, 1, 1, buffer.View.AsContiguous(), 1, false, buffer.View.AsContiguous(), 1, false, buffer.View.AsContiguous(), 1, false));
    }

    [Fact]
    public void AProductOfMoreRowsThanOneLaunchTakesRunsInSeveralLaunches()
    {
        // CUDA caps a grid's second dimension (the blocks of rows) at 65,535: more rows had failed to launch. With the cap
        // lowered to one block, every variant runs a product of several blocks of rows launch by launch, each from its own
        // rows of op(A) (transposed too) and C
        long cap = TiledGemm.MaxGridRows;
        TiledGemm.MaxGridRows = 1;
        try
        {
            foreach (GemmKernel kernel in Enum.GetValues<GemmKernel>()) MatchesTheReference(70, 23, 19, kernel);
        }
        finally
        {
            TiledGemm.MaxGridRows = cap;
        }
    }

    private static float[] Random(Rng rng, int length) => Enumerable.Range(0, length).Select(_ => rng.NextNormal()).ToArray();
}

/// <summary>Every device kernel compiles to PTX (CUDA) without a GPU, so a kernel ILGPU cannot translate fails here, not on a GPU machine.</summary>
public class PtxCompileTests
{
    /// <summary>The PTX of a static kernel method of <paramref name="type"/>, compiled for SM 8.0 without a GPU.</summary>
    private static string Ptx(Type type, string name, bool explicitlyGrouped)
    {
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var backend = new ILGPU.Backends.PTX.PTXBackend(context, ILGPU.Runtime.Cuda.CudaArchitecture.SM_80, ILGPU.Runtime.Cuda.CudaInstructionSet.ISA_70, nvvmAPI: null);
        var method = type.GetMethod(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static);
        Assert.NotNull(method);
        var entry = explicitlyGrouped
            ? ILGPU.Backends.EntryPoints.EntryPointDescription.FromExplicitlyGroupedKernel(method)
            : ILGPU.Backends.EntryPoints.EntryPointDescription.FromImplicitlyGroupedKernel(method);
        return ((ILGPU.Backends.PTX.PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
    }

    [Fact]
    public void TheTiledGemmCompilesToPtx()
    {
        string ptx = Ptx(typeof(TiledGemm), "Kernel", explicitlyGrouped: true);
        Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        Assert.Contains("bar.sync", ptx, StringComparison.Ordinal); // the barriers between the shared-memory tiles
    }

    [Fact]
    public void TheRegisterBlockedGemmCompilesToPtx()
    {
        string ptx = Ptx(typeof(TiledGemm), "BlockedKernel", explicitlyGrouped: true);
        Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        Assert.Contains("bar.sync", ptx, StringComparison.Ordinal);
        Assert.Contains(".shared", ptx, StringComparison.Ordinal);
    }

    [Fact]
    public void TheGemmWithoutSharedMemoryCompilesToPtx()
    {
        Assert.Contains(".entry", Ptx(typeof(TiledGemm), "SimpleKernel", explicitlyGrouped: false), StringComparison.Ordinal);
    }

    public static TheoryData<string> DeviceKernels => [.. Dsl.Gpu.DeviceKernels.Names];

    [Theory]
    [MemberData(nameof(DeviceKernels))]
    public void EveryElementWiseCellAndOptimiserKernelCompilesToPtx(string name)
    {
        string ptx = Ptx(typeof(Dsl.Gpu.DeviceKernels), name, explicitlyGrouped: false);
        Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        // XMath.Tanh compiles to tanh.approx.f32 from SM 7.5 on (relative error up to about 2^-11, past the 1e-4 the device
        // is held to): the kernels take the host's tanh instead (DeviceKernels.Tanh)
        Assert.DoesNotContain("tanh.approx", ptx, StringComparison.Ordinal);
    }

    [Fact]
    public void XMathsTanhWouldCompileToTheApproximation()
    {
        // what the assertion above guards against: the same backend turns XMath.Tanh into the hardware's approximation
        Assert.Contains("tanh.approx", Ptx(typeof(PtxCompileTests), nameof(ApproximateTanhKernel), explicitlyGrouped: false), StringComparison.Ordinal);
    }

    private static void ApproximateTanhKernel(Index1D i, ArrayView<float> x) => x[i] = XMath.Tanh(x[i]);

    [Theory]
    [InlineData(0f)]
    [InlineData(1e-20f)]
    [InlineData(-0.3f)]
    [InlineData(0.6249f)]
    [InlineData(0.625f)]
    [InlineData(-2.5f)]
    [InlineData(9f)]
    [InlineData(-30f)]
    [InlineData(100f)]
    public void TheDevicesTanhIsTheHosts(float x)
    {
        // the same polynomial and formula; the exp differs (the device's own), so equal to within a few ulp
        float device = Dsl.Gpu.DeviceKernels.Tanh(x), host = Dsl.Kernels.CellMath.Tanh(x);
        Assert.True(Math.Abs(device - host) <= 4e-7f * Math.Max(Math.Abs(host), 1e-30f), $"tanh({x}): device {device}, host {host}");
        Assert.True(Math.Abs(device - Math.Tanh(x)) <= 3e-7 * Math.Abs(Math.Tanh(x)) + 1e-45, $"tanh({x}) = {Math.Tanh(x)}, device {device}");
    }
}
