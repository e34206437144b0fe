using System.Runtime.Intrinsics;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The vectorised GEMM against the double-precision reference, over every small size and edge tile, on every
/// micro-kernel this process can run (<see cref="GemmPath"/>): the one it selected and each narrower one. CI runs these
/// again with the wider vectors switched off (DOTNET_PreferredVectorBitWidth=128, DOTNET_EnableAVX2=0, …), where the
/// narrower kernels are selected and compiled without the wider instruction sets.
/// </summary>
public class GemmTests
{
    /// <summary>The paths this process supports, by name (a theory argument must be serialisable).</summary>
    public static TheoryData<string> Paths() => new(GemmPath.All.Where(p => p.Supported).Select(p => p.Name));

    private static GemmPath PathNamed(string name) => GemmPath.All.Single(p => p.Name == name);

    public static TheoryData<string, int, int, int> Sizes()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (string path in Paths())
        {
            // Every m and n from 0 to 67 on each path: every edge tile of every register tile (MR ≤ 8, NR ≤ 32), and the k
            // remainders of the 4-deep transposes in the packing.
            for (int m = 0; m <= 67; m++)
                data.Add(path, m, (m * 5 + 3) % 68, (m * 7 + 1) % 37);
            for (int n = 0; n <= 67; n++)
                data.Add(path, n % 9 + 1, n, (n * 3 + 2) % 41);
            for (int m = 96; m <= 109; m++)  // the 512-bit path's tall rows and their edges (A read in place takes the 8-row tile)
                data.Add(path, m, (m * 3) % 70, (m * 11) % 29 + 1);
            data.Add(path, 64, 1024, 256);   // the LSTM recurrent product shape
            data.Add(path, 130, 520, 300);   // crosses the k and n blocks
            data.Add(path, 7, 257, 513);
            data.Add(path, 2, 40, 70);       // two rows against Bᵀ: dot products
            data.Add(path, 1, 15, 53);       // one row against Bᵀ: dot products eight columns at a time, then four, then one; k with a tail
            data.Add(path, 1, 384, 128);     // a decoding step's projection: whole groups, no tail
            data.Add(path, 1, 12, 95);       // bfloat16 pairs: 2 vectors of k at a time (64 at 512 bits), a tail of 31 and less
            data.Add(path, 64, 64, 32);      // an attention head's products, read where they lie
            data.Add(path, 64, 32, 64);
            // split by rows over two threads, the last part one row: against Bᵀ it runs as dot products, which must clear C
            // themselves (the packed parts write it on their first k-block instead)
            data.Add(path, PathNamed(path).MR + 1, 5, 30000);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AllThreeLayoutsMatchTheReference(string pathName, int m, int n, int k)
    {
        GemmPath path = PathNamed(pathName);
        var rng = new Rng((ulong)(m * 100_003 + n * 1009 + k));
        // Leading dimensions wider than the matrices, as for one direction of a bidirectional buffer.
        int lda = k + 3, ldb = n + 2, ldc = n + 5, ldat = m + 1, ldbt = k + 4;
        float[] a = Random(rng, Math.Max(m, 1) * lda), b = Random(rng, Math.Max(k, 1) * ldb), at = Random(rng, Math.Max(k, 1) * ldat), bt = Random(rng, Math.Max(n, 1) * ldbt);
        float[] bias = Random(rng, n + 3);
        ushort[] bt16 = new ushort[bt.Length];
        float[] btWide = new float[bt.Length];
        BFloat16.FromFloat(bt, bt16);
        BFloat16.ToFloat(bt16, btWide);
        // Bᵀ held as 8-bit integers, a scale per row of ldbt values, and the floats they stand for
        sbyte[] bt8 = new sbyte[bt.Length];
        float[] scales = new float[bt.Length / ldbt], bt8Wide = new float[bt.Length];
        Int8.Quantize(bt, ldbt, bt8, scales);
        Int8.Dequantize(bt8, scales, ldbt, bt8Wide);
        // held weights give the very bits of the floats they stand for where the product is blocked for both (B packed as the
        // floats are); one or two rows, or up to 32 against Bᵀ with k long enough, take dot products (Gemm.IsRowWise): those
        // read bfloat16 in pairs or pack it, and sum 8-bit values before their scale, in another order
        bool blocked = m > 2 && !Gemm.ManyRowsTakeDotProducts(path, m, k);
        // small products run where their operands lie unless told to pack (direct: false): both ways, every size
        foreach (bool direct in new[] { true, false })
        foreach (bool accumulate in new[] { false, true })
        {
            float[] c0 = Random(rng, Math.Max(m, 1) * ldc);
            string how = direct ? "" : " blocked";
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMul(path, m, n, k, a, lda, b, ldb, c, ldc, accumulate, direct),
                c => GemmReference.MatMul(false, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate), $"{path} NN {m}x{n}x{k}{how}");
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransA(path, m, n, k, at, ldat, b, ldb, c, ldc, accumulate, direct),
                c => GemmReference.MatMul(true, false, m, n, k, at, ldat, b, ldb, c, ldc, accumulate), $"{path} TN {m}x{n}x{k}{how}");
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, ldbt, c, ldc, accumulate, direct),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, ldbt, c, ldc, accumulate), $"{path} NT {m}x{n}x{k}{how}");
            // Bᵀ held in bfloat16 (a weight matrix held so: Weights): the reference's products of the widened values, and, where
            // blocked, the very bits of those floats (packed as they are)
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromBFloat16(bt16), ldbt, c, ldc, accumulate, direct),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, btWide, ldbt, c, ldc, accumulate), $"{path} NT bfloat16 {m}x{n}x{k}{how}");
            if (blocked) AssertSameBits(c0,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromBFloat16(bt16), ldbt, c, ldc, accumulate, direct),
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, btWide, ldbt, c, ldc, accumulate, direct: false), $"{path} NT bfloat16 {m}x{n}x{k}{how}");
            // Bᵀ held as 8-bit integers: the reference's products of the floats they stand for, and, where blocked, the very bits
            // of those floats (widened and scaled as packed); the dot products sum the integers, each column's sums then times its scale
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromInt8(bt8, scales, ldbt), ldbt, c, ldc, accumulate, direct),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt8Wide, ldbt, c, ldc, accumulate), $"{path} NT int8 {m}x{n}x{k}{how}");
            if (blocked) AssertSameBits(c0,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromInt8(bt8, scales, ldbt), ldbt, c, ldc, accumulate, direct),
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt8Wide, ldbt, c, ldc, accumulate, direct: false), $"{path} NT int8 {m}x{n}x{k}{how}");
            if (accumulate) continue;
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromInt8(bt8, scales, ldbt), ldbt, bias, c, ldc, direct),
                c =>
                {
                    for (int i = 0; i < m; i++) bias.AsSpan(0, n).CopyTo(c.AsSpan(i * ldc, n));
                    GemmReference.MatMul(false, true, m, n, k, a, lda, bt8Wide, ldbt, c, ldc, accumulate: true);
                }, $"{path} NT + bias int8 {m}x{n}x{k}{how}");
            if (blocked) AssertSameBits(c0,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromInt8(bt8, scales, ldbt), ldbt, bias, c, ldc, direct),
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt8Wide, ldbt, bias, c, ldc, direct: false), $"{path} NT + bias int8 {m}x{n}x{k}{how}");
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromBFloat16(bt16), ldbt, bias, c, ldc, direct),
                c =>
                {
                    for (int i = 0; i < m; i++) bias.AsSpan(0, n).CopyTo(c.AsSpan(i * ldc, n));
                    GemmReference.MatMul(false, true, m, n, k, a, lda, btWide, ldbt, c, ldc, accumulate: true);
                }, $"{path} NT + bias bfloat16 {m}x{n}x{k}{how}");
            if (blocked) AssertSameBits(c0,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, Weights.FromBFloat16(bt16), ldbt, bias, c, ldc, direct),
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, btWide, ldbt, bias, c, ldc, direct: false), $"{path} NT + bias bfloat16 {m}x{n}x{k}{how}");
            // y = x · Wᵀ + b: C written from the bias row (k = 0 included: C is the bias)
            Compare(c0, ldc, m, n, accumulate,
                c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, ldbt, bias, c, ldc, direct),
                c =>
                {
                    for (int i = 0; i < m; i++) bias.AsSpan(0, n).CopyTo(c.AsSpan(i * ldc, n));
                    GemmReference.MatMul(false, true, m, n, k, a, lda, bt, ldbt, c, ldc, accumulate: true);
                }, $"{path} NT + bias {m}x{n}x{k}{how}");
        }
    }

    /// <summary>
    /// A few rows against Bᵀ take dot products, two or four rows reading each column of B at once (floats, bfloat16, 8 bits):
    /// each row's values are the very bits the same row gives alone, for row counts up to the most that take them, column
    /// counts and depths with every tail (and split over the cores, 9000 columns).
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void RowsAgainstBTransposedGiveEachRowsOwnBits(string pathName)
    {
        GemmPath path = PathNamed(pathName);
        var rng = new Rng(17);
        foreach (int m in new[] { 2, 3, 4, 5, 6, 7, 9, 16, Gemm.RowWiseRows - 1, Gemm.RowWiseRows })
            foreach (var (n, k) in new[] { (1, 5), (3, 17), (4, 16), (7, 33), (13, 64), (37, 95), (64, 128), (9000, 300) })
            {
                if (m > 2 && !Gemm.ManyRowsTakeDotProducts(path, m, k)) continue; // blocked: AllThreeLayoutsMatchTheReference
                if (m > 9 && n == 9000 && m != Gemm.RowWiseRows) continue;
                int lda = k + 3, ldb = k + 2, ldc = n + 1;
                float[] a = Random(rng, m * lda), b = Random(rng, n * ldb), bias = Random(rng, n);
                sbyte[] b8 = new sbyte[b.Length];
                float[] scales = new float[n];
                Int8.Quantize(b, ldb, b8, scales);
                ushort[] b16 = new ushort[b.Length];
                BFloat16.FromFloat(b, b16);
                foreach (Precision held in new[] { Precision.Float32, Precision.BFloat16, Precision.Int8 })
                {
                    Weights Held() => held switch { Precision.Int8 => Weights.FromInt8(b8, scales, ldb), Precision.BFloat16 => Weights.FromBFloat16(b16), _ => b };
                    float[] all = Random(rng, m * ldc), alone = (float[])all.Clone();
                    Gemm.MatMulTransB(path, m, n, k, a, lda, Held(), ldb, bias, all, ldc);
                    for (int i = 0; i < m; i++) Gemm.MatMulTransB(path, 1, n, k, a.AsSpan(i * lda), lda, Held(), ldb, bias, alone.AsSpan(i * ldc), ldc);
                    for (int j = 0; j < all.Length; j++)
                        if (BitConverter.SingleToInt32Bits(all[j]) != BitConverter.SingleToInt32Bits(alone[j]))
                            Assert.Fail($"{path} {held} {m}x{n}x{k}: value {j} is {all[j]:R} for {m} rows, {alone[j]:R} for its row alone.");
                }
            }
    }

    public static TheoryData<string, int, int, int> PrepackedSizes()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (string path in Paths())
        {
            data.Add(path, 1, 1024, 256);
            data.Add(path, 3, 37, 300);
            data.Add(path, 32, 1024, 256);
            data.Add(path, 70, 100, 513);
            data.Add(path, 2048, 33, 64);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PrepackedSizes))]
    public void PrepackedProductsMatchTheReference(string pathName, int m, int n, int k)
    {
        GemmPath path = PathNamed(pathName);
        var rng = new Rng((ulong)(m * 7 + n * 13 + k));
        int lda = k + 2, ldc = n + 3;
        float[] a = Random(rng, m * lda), w = Random(rng, n * k), wt = Random(rng, k * n);
        var packed = new float[Gemm.PackedLength(path, k, n) + 5];
        foreach (bool transposed in new[] { true, false })
        {
            float[] b = transposed ? w : wt;          // [n, k] used as Bᵀ, or [k, n] used as it is
            int ldb = transposed ? k : n;
            Gemm.PackB(path, k, n, b, ldb, transposed, packed);
            float[] c0 = Random(rng, m * ldc);
            Compare(c0, ldc, m, n, accumulate: true,
                c => Gemm.MatMulPacked(path, m, n, k, a, lda, packed, c, ldc, accumulate: true),
                c => GemmReference.MatMul(false, transposed, m, n, k, a, lda, b, ldb, c, ldc, accumulate: true), $"{path} packed transposed={transposed} {m}x{n}x{k}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AProductWhoseCOutgrowsTheCachesKeepsItAcrossKBlocksAndMatchesTheReference(string pathName)
    {
        // Two k-blocks, more than two panels of rows, and a C of over 8 MB: the C-resident order, in every layout, packed or
        // not. The reference checks the rows either side of each panel's border and of the register tiles' (a full
        // reference product on the scalar path would take seconds).
        GemmPath path = PathNamed(pathName);
        int k = path.KC + 37, m = 2 * path.MC + 5, n = (1 << 21) / m + path.NR + 3;
        Assert.Equal(path.MC, path.ResidentRows((long)m * n, k, path.MR));
        Assert.Equal(0, path.ResidentRows((long)m * n / 2, k, path.MR));   // a C that stays in cache keeps BLIS's order
        Assert.Equal(0, path.ResidentRows((long)m * n, path.KC, path.MR)); // and so does a single k-block
        var rng = new Rng(41);
        int lda = k + 1, ldc = n + 2;
        float[] a = Random(rng, m * lda), at = Random(rng, k * m), b = Random(rng, k * n), bt = Random(rng, n * k), c0 = Random(rng, m * ldc);
        Assert.True(k <= 1024);
        float[] wide = Random(rng, m * 1024);
        var packed = new float[Gemm.PackedLength(path, k, n)];
        Gemm.PackB(path, k, n, bt, k, transposed: true, packed);
        int[] rows = [0, 1, path.MR - 1, path.MR, path.MC - 1, path.MC, path.MC + 1, 2 * path.MC - 1, 2 * path.MC, m - 1];
        foreach (bool accumulate in new[] { true, false })
        {
            CompareRows("NN", c => Gemm.MatMul(path, m, n, k, a, lda, b, n, c, ldc, accumulate), (i, c) => GemmReference.MatMul(false, false, 1, n, k, a.AsSpan(i * lda), lda, b, n, c, ldc, accumulate));
            CompareRows("TN", c => Gemm.MatMulTransA(path, m, n, k, at, m, b, n, c, ldc, accumulate), (i, c) => GemmReference.MatMul(true, false, 1, n, k, at.AsSpan(i), m, b, n, c, ldc, accumulate));
            CompareRows("NT", c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, k, c, ldc, accumulate), (i, c) => GemmReference.MatMul(false, true, 1, n, k, a.AsSpan(i * lda), lda, bt, k, c, ldc, accumulate));
            CompareRows("packed", c => Gemm.MatMulPacked(path, m, n, k, a, lda, packed, c, ldc, accumulate), (i, c) => GemmReference.MatMul(false, true, 1, n, k, a.AsSpan(i * lda), lda, bt, k, c, ldc, accumulate));
            // A's rows 4 KB apart, read in place on x64 as other rows are (GemmJob.ReadsAInPlace)
            CompareRows("NN, A's rows 4 KB apart", c => Gemm.MatMul(path, m, n, k, wide, 1024, b, n, c, ldc, accumulate), (i, c) => GemmReference.MatMul(false, false, 1, n, k, wide.AsSpan(i * 1024), 1024, b, n, c, ldc, accumulate));

            void CompareRows(string layout, Action<float[]> fast, Action<int, float[]> referenceRow)
            {
                float[] actual = (float[])c0.Clone();
                fast(actual);
                foreach (int i in rows)
                {
                    float[] expected = c0.AsSpan(i * ldc, ldc).ToArray();
                    referenceRow(i, expected);
                    Tolerance.AssertClose(expected.AsSpan(0, n), actual.AsSpan(i * ldc, n), $"{path} {layout} {m}x{n}x{k} accumulate={accumulate} row {i}", rtol: 1e-4f);
                    Assert.Equal(c0.AsSpan(i * ldc + n, 2).ToArray(), actual.AsSpan(i * ldc + n, 2).ToArray()); // the padding is never written
                }
            }
        }
    }

    [Fact]
    public void AIsReadInPlaceOnX64UnlessItIsAᵀWithRowsAMultipleOf4KBApart()
    {
        foreach (GemmPath path in new[] { GemmPath.V512, GemmPath.V256, GemmPath.V128 })
        {
            Assert.True(GemmJob.ReadsInPlace(path, 128, 1), $"{path}: rows of 128 floats");
            Assert.True(GemmJob.ReadsInPlace(path, 512, 1), $"{path}: rows 2 KB apart");
            Assert.True(GemmJob.ReadsInPlace(path, 1027, 1), $"{path}: a bidirectional buffer's rows");
            Assert.True(GemmJob.ReadsInPlace(path, 1024, 1), $"{path}: rows 4 KB apart (an LSTM's gate gradients at H = 256)");
            Assert.True(GemmJob.ReadsInPlace(path, 3072, 1), $"{path}: rows 12 KB apart");
            Assert.True(GemmJob.ReadsInPlace(path, 1, 384), $"{path}: Aᵀ (a weight gradient's dYᵀ), its rows 1.5 KB apart");
            Assert.False(GemmJob.ReadsInPlace(path, 1, 1024), $"{path}: Aᵀ with rows 4 KB apart: each k's line in one set of L1");
            Assert.False(GemmJob.ReadsInPlace(path, 1, 3072), $"{path}: Aᵀ with rows 12 KB apart");
            Assert.False(GemmJob.ReadsInPlace(path, 3, 384), $"{path}: neither rows nor columns contiguous");
        }
        Assert.False(GemmJob.ReadsInPlace(GemmPath.V128Arm, 128, 1));
        Assert.False(GemmJob.ReadsInPlace(GemmPath.Scalar, 128, 1));
    }

    public static TheoryData<string, int> PackedRows()
    {
        var data = new TheoryData<string, int>();
        foreach (string path in Paths())
        {
            int mr = PathNamed(path).MR;
            // edge tiles of the path's tile, short (run a row at a time) and long (a partly filled sliver); at 512 bits the
            // tall 12-row tile's from 96 rows on
            foreach (int m in new[] { mr + 1, mr + mr / 2 + 1, 2 * mr - 1, 67, 96, 98, 103, 107, 109 }.Distinct()) data.Add(path, m); // (4 × 4: 7 twice)
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PackedRows))]
    public void AnAWhoseLinesAre4KBApartMatchesTheReference(string pathName, int m)
    {
        // Rows of A 4 KB apart, read in place on x64, and Aᵀ's, packed: the packed path, which on x64 now runs only for
        // Aᵀ with rows a multiple of 4 KB apart (every edge tile, the 512-bit path's 8-row and tall 12-row tiles), and the
        // in-place path on the rows that had been packed; two k-blocks, against B, Bᵀ and a prepacked B, accumulating or not.
        GemmPath path = PathNamed(pathName);
        const int n = 70, lda = 1024;
        int k = path.KC + 37;
        Assert.Equal(path.ReadsAInPlace, GemmJob.ReadsInPlace(path, lda, 1));
        Assert.False(GemmJob.ReadsInPlace(path, 1, lda));
        var rng = new Rng((ulong)(43 + m));
        float[] a = Random(rng, m * lda), at = Random(rng, k * lda), b = Random(rng, k * n), bt = Random(rng, n * k);
        var packed = new float[Gemm.PackedLength(path, k, n)];
        Gemm.PackB(path, k, n, bt, k, transposed: true, packed);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] c0 = Random(rng, m * n);
            Compare(c0, n, m, n, accumulate, c => Gemm.MatMul(path, m, n, k, a, lda, b, n, c, n, accumulate),
                c => GemmReference.MatMul(false, false, m, n, k, a, lda, b, n, c, n, accumulate), $"{path} NN, A's rows 4 KB apart");
            Compare(c0, n, m, n, accumulate, c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, k, c, n, accumulate),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, k, c, n, accumulate), $"{path} NT, A's rows 4 KB apart");
            Compare(c0, n, m, n, accumulate, c => Gemm.MatMulTransA(path, m, n, k, at, lda, b, n, c, n, accumulate),
                c => GemmReference.MatMul(true, false, m, n, k, at, lda, b, n, c, n, accumulate), $"{path} TN, Aᵀ's rows 4 KB apart");
            Compare(c0, n, m, n, accumulate, c => Gemm.MatMulPacked(path, m, n, k, a, lda, packed, c, n, accumulate),
                c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, k, c, n, accumulate), $"{path} prepacked, A's rows 4 KB apart");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AOneRowProductReadsBWhereItLiesWithTheBlockedProductsBits(string pathName)
    {
        // a decoding step's weights times the cached values: B's full column blocks read in place, the last packed; the
        // same bits as the blocked product (direct: false), which packs all of B, over widths with and without a narrower
        // last block and depths of one k-block and several
        GemmPath path = PathNamed(pathName);
        var rng = new Rng(47);
        foreach (int n in new[] { 1, 7, 16, 31, 32, 33, 65, 100 })
            foreach (int k in new[] { 1, 5, 99, path.KC + 37, 3 * path.KC + 1 })
            {
                int lda = k + 2, ldb = n + 5;
                float[] a = Random(rng, lda), b = Random(rng, k * ldb), c0 = Random(rng, n + 3);
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] direct = (float[])c0.Clone(), blocked = (float[])c0.Clone(), expected = (float[])c0.Clone();
                    Gemm.MatMul(path, 1, n, k, a, lda, b, ldb, direct, n, accumulate, direct: true);
                    Gemm.MatMul(path, 1, n, k, a, lda, b, ldb, blocked, n, accumulate, direct: false);
                    GemmReference.MatMul(false, false, 1, n, k, a, lda, b, ldb, expected, n, accumulate);
                    Assert.True(direct.AsSpan().SequenceEqual(blocked), $"{path} 1x{n}x{k} accumulate={accumulate}: the direct row differs from the blocked product");
                    Tolerance.AssertClose(expected, direct, $"{path} 1x{n}x{k} accumulate={accumulate}", rtol: 1e-4f);
                }
            }
    }

    /// <summary>
    /// A last sliver at most one vector wide (a layer of 65 outputs, a classifier of 10) runs the tile's rows against one
    /// vector of B (<see cref="HalfTile"/>): its columns have the bits they have inside a full sliver of a wider product,
    /// for every layout, with a bias and accumulating, on full and edge rows, A in place and packed (the 12-row tile).
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void AnEdgeSliverOneVectorWideHasTheBitsOfAFullSliver(string pathName)
    {
        GemmPath path = PathNamed(pathName);
        int nr = path.NR, wide = 2 * nr, k = path.KC + 45; // two k-blocks
        var rng = new Rng(53);
        // (rows past Gemm.RowWiseRows: fewer take dot products against Bᵀ, their columns' bits their own, not a sliver's)
        int[] rows = path == GemmPath.V512 ? [2 * path.MR, 3 * path.MR - 1, GemmPath.TallRows + 11, Gemm.RowWiseRows + path.MR + 1] : [2 * path.MR, 3 * path.MR - 1, Gemm.RowWiseRows + path.MR + 1];
        foreach (int m in rows)
        {
            // B and Bᵀ hold 2·NR columns; the narrow products read the first NR + edge of them, the wide one all
            int lda = k + 3, ldat = 1024, ldbt = k + 1; // Aᵀ's rows 4 KB apart: packed, so the tall rows take the 12-row tile
            float[] a = Random(rng, m * lda), at = Random(rng, k * ldat), b = Random(rng, k * wide), bt = Random(rng, wide * ldbt), bias = Random(rng, wide);
            foreach (int edge in new[] { 1, nr / 4 + 1, nr / 2 })
            {
                int n = nr + edge;
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] c0 = Random(rng, m * wide);
                    Same(c => Gemm.MatMul(path, m, n, k, a, lda, b, wide, c, wide, accumulate, direct: false), c => Gemm.MatMul(path, m, wide, k, a, lda, b, wide, c, wide, accumulate, direct: false), "NN");
                    Same(c => Gemm.MatMul(path, m, n, k, a, lda, b, wide, c, wide, accumulate, direct: true), c => Gemm.MatMul(path, m, wide, k, a, lda, b, wide, c, wide, accumulate, direct: true), "NN direct");
                    Same(c => Gemm.MatMulTransA(path, m, n, k, at, ldat, b, wide, c, wide, accumulate), c => Gemm.MatMulTransA(path, m, wide, k, at, ldat, b, wide, c, wide, accumulate), "TN");
                    if (Gemm.ManyRowsTakeDotProducts(path, m, k)) continue;
                    Same(c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, ldbt, c, wide, accumulate), c => Gemm.MatMulTransB(path, m, wide, k, a, lda, bt, ldbt, c, wide, accumulate), "NT");
                    if (!accumulate) Same(c => Gemm.MatMulTransB(path, m, n, k, a, lda, bt, ldbt, bias, c, wide), c => Gemm.MatMulTransB(path, m, wide, k, a, lda, bt, ldbt, bias, c, wide), "NT + bias");

                    void Same(Action<float[]> narrow, Action<float[]> full, string layout)
                    {
                        float[] cn = (float[])c0.Clone(), cw = (float[])c0.Clone();
                        narrow(cn);
                        full(cw);
                        for (int i = 0; i < m; i++)
                        {
                            Assert.True(cn.AsSpan(i * wide, n).SequenceEqual(cw.AsSpan(i * wide, n)), $"{path} {layout} {m}x{n}x{k} accumulate={accumulate}: row {i}'s edge columns differ from a full sliver's");
                            Assert.True(cn.AsSpan(i * wide + n, wide - n).SequenceEqual(c0.AsSpan(i * wide + n, wide - n)), $"{path} {layout} {m}x{n}x{k}: row {i} was written past its {n} columns");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void DeepProductsAreCutIntoEqualBlocksNoDeeperThanKC()
    {
        foreach (GemmPath path in GemmPath.All)
            foreach (int k in new[] { 1, 5, path.KC - 1, path.KC, path.KC + 1, 256, 300, 513, 4 * path.KC + 3 })
            {
                int depth = path.Depth(k), blocks = (k + depth - 1) / depth;
                Assert.InRange(depth, 1, path.KC);
                Assert.Equal((k + path.KC - 1) / path.KC, blocks);           // as few blocks as KC allows
                Assert.True(k - (blocks - 1) * depth >= depth - blocks, $"{path} k = {k}: blocks of {depth}, the last {k - (blocks - 1) * depth}");
            }
        Assert.Equal(128, GemmPath.Depth(256, 192));   // not 192 + 64 (the 512-bit path's blocking on a 48 KiB L1d)
        Assert.Equal(256, GemmPath.Depth(256, 256));
        Assert.Equal(100, GemmPath.Depth(300, 128));   // 3 × 100, not 128 + 128 + 44
        Assert.InRange(GemmPath.Depth(int.MaxValue, 192), 1, 192); // not the whole depth in one block (k + kc − 1 wrapped)
    }

    /// <summary>
    /// Sizes near int.MaxValue: the blocked loops stepped past it and wrapped (never ending, or writing before C), and a split's
    /// unit count wrapped to one part of one tile; a product refuses such a size before it reads a span, and the splits count in long.
    /// </summary>
    [Fact]
    public void SizesNearTheLargestIntAreRefusedAndSplitsCountInLong()
    {
        float[] one = [1f];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MatMul(int.MaxValue - 100, 1, 1, one, 1, one, 1, one, 1, accumulate: false));
        Assert.Contains($"a product's sizes are at most {Gemm.MaxDimension} each", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MatMul(1, 1, int.MaxValue, one, int.MaxValue, one, 1, one, 1, accumulate: false));
        Assert.Equal((1073741824, int.MaxValue), GemmWorkers.Range(int.MaxValue, 1, 2));
        Assert.Equal((0, 1073741824), GemmWorkers.Range(int.MaxValue, 0, 2));
        var (parts, chunk) = GemmWorkers.Cut(int.MaxValue, 32);
        Assert.True((long)parts * chunk >= int.MaxValue, $"{parts} parts of {chunk}");
    }

    [Fact]
    public void ThePathSelectedIsTheWidestThisProcessAccelerates()
    {
        // CI sets DSL_EXPECT_GEMM_PATH beside the variables that narrow the vectors: the selection must follow them.
        string? expected = Environment.GetEnvironmentVariable("DSL_EXPECT_GEMM_PATH");
        if (!string.IsNullOrEmpty(expected)) Assert.Equal(expected, Gemm.MicroKernel);
        string width = Vector512.IsHardwareAccelerated ? "v512-" : Vector256.IsHardwareAccelerated ? "v256-" : Vector128.IsHardwareAccelerated ? "v128-" : "scalar-";
        Assert.StartsWith(width, Gemm.MicroKernel);
        Assert.Same(Gemm.Path, GemmPath.All.First(p => p.Supported && (p.Id != GemmPath.Kernel.V128Arm || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported)));
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
        // judged at the scale of the whole C (element [i · n + j]): an element that cancels to near zero, alone in its row,
        // carries the rounding of its terms, not of its own size
        float[] e = new float[m * n], a = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            expected.AsSpan(i * ldc, n).CopyTo(e.AsSpan(i * n));
            actual.AsSpan(i * ldc, n).CopyTo(a.AsSpan(i * n));
            // Padding between rows is never written.
            for (int j = n; j < ldc && i * ldc + j < c0.Length; j++) Assert.Equal(c0[i * ldc + j], actual[i * ldc + j]);
        }
        Tolerance.AssertClose(e, a, $"{what} accumulate={accumulate}", rtol: 1e-4f);
    }

    private static void AssertSameBits(float[] c0, Action<float[]> actual, Action<float[]> expected, string what)
    {
        float[] x = (float[])c0.Clone(), y = (float[])c0.Clone();
        actual(x);
        expected(y);
        for (int i = 0; i < x.Length; i++)
            if (BitConverter.SingleToInt32Bits(x[i]) != BitConverter.SingleToInt32Bits(y[i]))
                Assert.Fail($"{what}: value {i} is {x[i]:R}, its widened floats' {y[i]:R}.");
    }

    private static float[] Random(Rng rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        return x;
    }
}
