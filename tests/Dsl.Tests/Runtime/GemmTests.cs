using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>The vectorised GEMM against the double-precision reference, over every small size and edge tile.</summary>
public class GemmTests
{
    public static TheoryData<int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int>();
        int[] small = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33];
        foreach (int m in new[] { 0, 1, 3, 4, 5, 9 })
            foreach (int n in small)
                data.Add(m, n, (m * 7 + n * 3) % 37);
        data.Add(64, 1024, 256);   // the LSTM recurrent product shape
        data.Add(130, 520, 300);   // crosses the k and n blocks
        data.Add(7, 257, 513);
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AllThreeLayoutsMatchTheReference(int m, int n, int k)
    {
        var rng = new Rng((ulong)(m * 100_003 + n * 1009 + k));
        // Leading dimensions wider than the matrices, as for one direction of a bidirectional buffer.
        int lda = k + 3, ldb = n + 2, ldc = n + 5, ldat = m + 1, ldbt = k + 4;
        float[] a = Random(rng, Math.Max(m, 1) * lda), b = Random(rng, Math.Max(k, 1) * ldb), at = Random(rng, Math.Max(k, 1) * ldat), bt = Random(rng, Math.Max(n, 1) * ldbt);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] c0 = Random(rng, Math.Max(m, 1) * ldc);
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMul(m, n, k, a, lda, b, ldb, c, ldc, accumulate),
                c => GemmReference.MatMul(false, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate), $"NN {m}x{n}x{k}");
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransA(m, n, k, at, ldat, b, ldb, c, ldc, accumulate),
                c => GemmReference.MatMul(true, false, m, n, k, at, ldat, b, ldb, c, ldc, accumulate), $"TN {m}x{n}x{k}");
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(m, n, k, a, lda, bt, ldbt, c, ldc, accumulate),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, ldbt, c, ldc, accumulate), $"NT {m}x{n}x{k}");
        }
    }

    [Theory]
    [InlineData(1, 1024, 256)]
    [InlineData(3, 37, 300)]
    [InlineData(32, 1024, 256)]
    [InlineData(70, 100, 513)]
    [InlineData(2048, 33, 64)]
    public void PrepackedProductsMatchTheReference(int m, int n, int k)
    {
        var rng = new Rng((ulong)(m * 7 + n * 13 + k));
        int lda = k + 2, ldc = n + 3;
        float[] a = Random(rng, m * lda), w = Random(rng, n * k), wt = Random(rng, k * n);
        var packed = new float[Gemm.PackedLength(k, n) + 5];
        foreach (bool transposed in new[] { true, false })
        {
            float[] b = transposed ? w : wt;          // [n, k] used as Bᵀ, or [k, n] used as it is
            int ldb = transposed ? k : n;
            Gemm.PackB(k, n, b, ldb, transposed, packed);
            float[] c0 = Random(rng, m * ldc);
            Compare(c0, ldc, m, n, accumulate: true,
                c => Gemm.MatMulPacked(m, n, k, a, lda, packed, c, ldc, accumulate: true),
                c => GemmReference.MatMul(false, transposed, m, n, k, a, lda, b, ldb, c, ldc, accumulate: true), $"packed transposed={transposed} {m}x{n}x{k}");
        }
    }

    [Fact]
    public void ShortBuffersAreRejectedWithTheirSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.MatMul(2, 3, 4, new float[7], 4, new float[12], 3, new float[6], 3, false));
        Assert.Contains("A [2, 4] with leading dimension 4 needs 8 values, got 7", e.Message);
    }

    private static void Compare(float[] c0, int ldc, int m, int n, bool accumulate, Action<float[]> fast, Action<float[]> reference, string what)
    {
        float[] actual = (float[])c0.Clone(), expected = (float[])c0.Clone();
        fast(actual);
        reference(expected);
        for (int i = 0; i < m; i++)
        {
            Tolerance.AssertClose(expected.AsSpan(i * ldc, n), actual.AsSpan(i * ldc, n), $"{what} accumulate={accumulate} row {i}", rtol: 1e-4f);
            // Padding between rows is never written.
            for (int j = n; j < ldc && i * ldc + j < c0.Length; j++) Assert.Equal(c0[i * ldc + j], actual[i * ldc + j]);
        }
    }

    private static float[] Random(Rng rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        return x;
    }
}
