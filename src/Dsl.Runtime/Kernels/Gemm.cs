using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Single-precision matrix products on row-major matrices with leading dimensions (row strides),
/// so that a column slice of a wider buffer (one direction of a bidirectional layer) is a matrix too.
/// <para>
/// The kernel keeps a 4 × 16 tile of C in registers and streams A and B through it in k-blocks;
/// <see cref="GemmReference"/> is the scalar reference it is tested against.
/// </para>
/// </summary>
public static class Gemm
{
    private const int KBlock = 256;
    private const int NBlock = 512;

    [ThreadStatic] private static float[]? s_transposed;

    /// <summary>C[m, n] (+)= A[m, k] · B[k, n].</summary>
    public static void MatMul(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("B", b, k, n, ldb);
        Require("C", c, m, n, ldc);
        Prepare(m, n, c, ldc, accumulate);
        if (m == 0 || n == 0 || k == 0) return;
        Run(m, n, k, a, lda, 1, b, ldb, c, ldc);
    }

    /// <summary>C[m, n] (+)= Aᵀ · B, where A is stored [k, m] and B is [k, n].</summary>
    public static void MatMulTransA(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, k, m, lda);
        Require("B", b, k, n, ldb);
        Require("C", c, m, n, ldc);
        Prepare(m, n, c, ldc, accumulate);
        if (m == 0 || n == 0 || k == 0) return;
        Run(m, n, k, a, 1, lda, b, ldb, c, ldc);
    }

    /// <summary>C[m, n] (+)= A · Bᵀ, where A is [m, k] and B is stored [n, k] (a weight matrix [out, in]).</summary>
    public static void MatMulTransB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Require("A", a, m, k, lda);
        Require("B", b, n, k, ldb);
        Require("C", c, m, n, ldc);
        Prepare(m, n, c, ldc, accumulate);
        if (m == 0 || n == 0 || k == 0) return;
        // Lay Bᵀ out as [k, n] so that the kernel reads B's rows contiguously.
        float[] bt = s_transposed is { } t && t.Length >= k * n ? t : (s_transposed = new float[Math.Max(k * n, 1024)]);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<float> row = b.Slice(j * ldb, k);
            for (int p = 0; p < k; p++) bt[p * n + j] = row[p];
        }
        Run(m, n, k, a, lda, 1, bt, n, c, ldc);
    }

    private static void Require(string name, ReadOnlySpan<float> span, int rows, int cols, int ld)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has negative size [{rows}, {cols}].");
        if (ld < cols) throw new ArgumentOutOfRangeException(name, $"Gemm: {name} has leading dimension {ld} < {cols} columns.");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (span.Length < need) throw new ArgumentException($"Gemm: {name} [{rows}, {cols}] with leading dimension {ld} needs {need} values, got {span.Length}.", name);
    }

    private static void Prepare(int m, int n, Span<float> c, int ldc, bool accumulate)
    {
        if (accumulate) return;
        for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
    }

    private static unsafe void Run(int m, int n, int k, ReadOnlySpan<float> a, nint aRow, nint aCol, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (!Vector256.IsHardwareAccelerated)
            {
                Scalar(m, n, k, pa, aRow, aCol, pb, ldb, pc, ldc);
                return;
            }
            for (int k0 = 0; k0 < k; k0 += KBlock)
            {
                int kc = Math.Min(KBlock, k - k0);
                for (int j0 = 0; j0 < n; j0 += NBlock)
                {
                    int nc = Math.Min(NBlock, n - j0);
                    int i = 0;
                    for (; i + 4 <= m; i += 4)
                        Block4(kc, nc, pa + i * aRow + k0 * aCol, aRow, aCol, pb + (nint)k0 * ldb + j0, ldb, pc + (nint)i * ldc + j0, ldc);
                    for (; i < m; i++)
                        Block1(kc, nc, pa + i * aRow + k0 * aCol, aCol, pb + (nint)k0 * ldb + j0, ldb, pc + (nint)i * ldc + j0);
                }
            }
        }
    }

    // Four rows of C: a 4 × 16 tile in eight registers, then 4 × 8, then scalar columns.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block4(int kc, int nc, float* a, nint aRow, nint aCol, float* b, nint ldb, float* c, nint ldc)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        float* a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
        int j = 0;
        for (; j + 16 <= nc; j += 16)
        {
            Vector256<float> x00 = Vector256.Load(c0 + j), x01 = Vector256.Load(c0 + j + 8);
            Vector256<float> x10 = Vector256.Load(c1 + j), x11 = Vector256.Load(c1 + j + 8);
            Vector256<float> x20 = Vector256.Load(c2 + j), x21 = Vector256.Load(c2 + j + 8);
            Vector256<float> x30 = Vector256.Load(c3 + j), x31 = Vector256.Load(c3 + j + 8);
            float* bp = b + j;
            for (int p = 0; p < kc; p++, bp += ldb)
            {
                Vector256<float> b0 = Vector256.Load(bp), b1 = Vector256.Load(bp + 8);
                nint o = p * aCol;
                Vector256<float> s = Vector256.Create(a0[o]);
                x00 = Vector256.FusedMultiplyAdd(s, b0, x00); x01 = Vector256.FusedMultiplyAdd(s, b1, x01);
                s = Vector256.Create(a1[o]);
                x10 = Vector256.FusedMultiplyAdd(s, b0, x10); x11 = Vector256.FusedMultiplyAdd(s, b1, x11);
                s = Vector256.Create(a2[o]);
                x20 = Vector256.FusedMultiplyAdd(s, b0, x20); x21 = Vector256.FusedMultiplyAdd(s, b1, x21);
                s = Vector256.Create(a3[o]);
                x30 = Vector256.FusedMultiplyAdd(s, b0, x30); x31 = Vector256.FusedMultiplyAdd(s, b1, x31);
            }
            x00.Store(c0 + j); x01.Store(c0 + j + 8);
            x10.Store(c1 + j); x11.Store(c1 + j + 8);
            x20.Store(c2 + j); x21.Store(c2 + j + 8);
            x30.Store(c3 + j); x31.Store(c3 + j + 8);
        }
        for (; j + 8 <= nc; j += 8)
        {
            Vector256<float> x0 = Vector256.Load(c0 + j), x1 = Vector256.Load(c1 + j);
            Vector256<float> x2 = Vector256.Load(c2 + j), x3 = Vector256.Load(c3 + j);
            float* bp = b + j;
            for (int p = 0; p < kc; p++, bp += ldb)
            {
                Vector256<float> b0 = Vector256.Load(bp);
                nint o = p * aCol;
                x0 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[o]), b0, x0);
                x1 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[o]), b0, x1);
                x2 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[o]), b0, x2);
                x3 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[o]), b0, x3);
            }
            x0.Store(c0 + j); x1.Store(c1 + j); x2.Store(c2 + j); x3.Store(c3 + j);
        }
        for (; j < nc; j++)
        {
            float s0 = c0[j], s1 = c1[j], s2 = c2[j], s3 = c3[j];
            float* bp = b + j;
            for (int p = 0; p < kc; p++, bp += ldb)
            {
                float bv = *bp;
                nint o = p * aCol;
                s0 += a0[o] * bv; s1 += a1[o] * bv; s2 += a2[o] * bv; s3 += a3[o] * bv;
            }
            c0[j] = s0; c1[j] = s1; c2[j] = s2; c3[j] = s3;
        }
    }

    // One row of C (the rows left over after the blocks of four).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block1(int kc, int nc, float* a, nint aCol, float* b, nint ldb, float* c)
    {
        int j = 0;
        for (; j + 8 <= nc; j += 8)
        {
            Vector256<float> x = Vector256.Load(c + j);
            float* bp = b + j;
            for (int p = 0; p < kc; p++, bp += ldb) x = Vector256.FusedMultiplyAdd(Vector256.Create(a[p * aCol]), Vector256.Load(bp), x);
            x.Store(c + j);
        }
        for (; j < nc; j++)
        {
            float s = c[j];
            float* bp = b + j;
            for (int p = 0; p < kc; p++, bp += ldb) s += a[p * aCol] * *bp;
            c[j] = s;
        }
    }

    private static unsafe void Scalar(int m, int n, int k, float* a, nint aRow, nint aCol, float* b, nint ldb, float* c, nint ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                float av = a[i * aRow + p * aCol];
                float* bp = b + p * ldb;
                float* cp = c + i * ldc;
                for (int j = 0; j < n; j++) cp[j] += av * bp[j];
            }
        }
    }
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
