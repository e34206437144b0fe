using System;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dsl.Gpu;

/// <summary>
/// The matrix products through NVIDIA's cuBLAS (ILGPU.Algorithms' wrapper), on a CUDA device whose machine has libcublas:
/// row-major C (+)= op(A) · op(B) as cuBLAS's column-major Cᵀ = op(B)ᵀ · op(A)ᵀ, on the accelerator's stream so that it
/// queues between the kernels. Where libcublas cannot be loaded the tiled kernel runs instead (see <see cref="Device.Products"/>).
/// </summary>
internal sealed class CuBlasProducts : IDisposable
{
    private readonly CuBlas _blas;

    private CuBlasProducts(CuBlas blas) => _blas = blas;

    /// <summary>cuBLAS on <paramref name="device"/>, or null (with the reason) where it is not a CUDA device or the library cannot be loaded.</summary>
    public static CuBlasProducts? TryOpen(Device device, out string why)
    {
        if (device.Accelerator is not CudaAccelerator cuda)
        {
            why = "not a CUDA device";
            return null;
        }
        if (Environment.GetEnvironmentVariable("DSL_GPU_CUBLAS") == "0")
        {
            why = "DSL_GPU_CUBLAS=0";
            return null;
        }
        try
        {
            var blas = new CuBlas(cuda) { Stream = (CudaStream)cuda.DefaultStream };
            var products = new CuBlasProducts(blas);
            // one small product through every call path (the library loads lazily on some systems), checked on the host
            using var buffer = cuda.Allocate1D<float>(6);
            ArrayView<float> v = buffer.View.AsContiguous();
            v.CopyFromCPU(new float[] { 2f, 3f, 5f, 7f, 0f, 0f });
            products.Run(1, 2, 1, v.SubView(0, 1), 1, false, v.SubView(2, 2), 2, false, v.SubView(4, 2), 2, accumulate: false); // [2]·[5 7]
            cuda.Synchronize();
            var got = new float[6];
            v.CopyToCPU(got);
            if (got[4] != 10f || got[5] != 14f)
            {
                products.Dispose();
                why = $"cuBLAS gave [{got[4]}, {got[5]}] for [10, 14] in a check";
                return null;
            }
            why = "";
            return products;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or CuBlasException or TypeInitializationException)
        {
            why = $"libcublas could not be loaded ({e.GetType().Name}: {e.Message})";
            return null;
        }
    }

    /// <summary>C[m, n] (+)= op(A) · op(B), row-major with leading dimensions, as <see cref="TiledGemm.Run(int, int, int, ArrayView{float}, int, bool, ArrayView{float}, int, bool, ArrayView{float}, int, bool)"/>.</summary>
    public void Run(int m, int n, int k, ArrayView<float> a, int lda, bool transA, ArrayView<float> b, int ldb, bool transB, ArrayView<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        // column-major, the row-major B viewed as stored is Bᵀ (op N) unless B is stored transposed (op T); likewise A
        _blas.Gemm(transB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose, transA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            n, m, k, 1f, b, ldb, a, lda, accumulate ? 1f : 0f, c, ldc);
    }

    public void Dispose() => _blas.Dispose();
}
