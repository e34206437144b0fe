using System.Numerics.Tensors;
using Dsl.Kernels;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>Splitting products, cells and attention heads over the cores changes no result: one thread and all threads agree bit for bit.</summary>
[Collection(nameof(Training.SerialCollection))]
public class ThreadingTests
{
    private sealed record Result(float[] Output, float Loss, float[][] Grads);

    /// <summary>Runs <paramref name="pass"/> on a fresh model with <paramref name="threads"/> threads, then restores the setting.</summary>
    private static Result WithThreads<TModel>(int threads, Func<TModel> create, Func<TModel, (float[] Output, float Loss)> pass) where TModel : IModel
    {
        Result? result = null;
        OnThreads(threads, () =>
        {
            TModel model = create();
            var (output, loss) = pass(model);
            result = new Result(output, loss, model.Parameters.Select(p => p.GradAsSpan().ToArray()).ToArray());
        });
        return result!;
    }

    private static void AssertSame<TModel>(Func<TModel> create, Func<TModel, (float[] Output, float Loss)> pass) where TModel : IModel
    {
        Result one = WithThreads(1, create, pass), all = WithThreads(Environment.ProcessorCount, create, pass);
        Assert.Equal(one.Output, all.Output);
        Assert.Equal(one.Loss, all.Loss);
        for (int i = 0; i < one.Grads.Length; i++) Assert.Equal(one.Grads[i], all.Grads[i]);
        Assert.Contains(one.Grads, g => g.Any(v => v != 0f));
    }

    /// <summary>Runs <paramref name="run"/> with <paramref name="threads"/> threads, then restores the setting.</summary>
    private static void OnThreads(int threads, Action run)
    {
        int saved = Gemm.Threads;
        Gemm.Threads = threads;
        try
        {
            run();
        }
        finally
        {
            Gemm.Threads = saved;
        }
    }

    [Fact]
    public void OneThreadAndAllThreadsGiveTheSameOutputsAndGradients()
    {
        var rng = new Rng(9);
        const int B = 24, T = 6;
        int[] x = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(20)).ToArray();
        int[] y = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(20)).ToArray();
        int[] lengths = Enumerable.Range(0, B).Select(b => 1 + b % T).ToArray();
        AssertSame(() => new ParallelStack(seed: 5), model => (
            Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(x, [B, T]), lengths)),
            model.Backward(new ReadOnlyTensorSpan<int>(x, [B, T]), new ReadOnlyTensorSpan<int>(y, [B, T]), lengths)));
    }

    /// <summary>
    /// A product split by rows over the cores tiles each part's rows as the whole product would (the tall 12-row tile at
    /// 512 bits included), so its edge rows — run one row at a time, their sums in another order — are the same rows on
    /// one thread and on all: every path, rows that leave short and long edges, bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    public void AProductSplitByRowsGivesOneThreadsBits(string pathName)
    {
        GemmPath path = GemmPath.All.Single(p => p.Name == pathName);
        var rng = new Rng(12);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => rng.NextNormal()).ToArray();
        foreach (int m in new[] { 101, 113, 194, 200, 1000 + path.MR / 2 })
        {
            const int n = 70, k = 150;
            float[] a = Random(m * k), b = Random(k * n);
            AssertSameBits(m * n, c => Gemm.MatMul(path, m, n, k, a, k, b, n, c, n, accumulate: false), $"{path} {m}x{n}x{k}");
            // Aᵀ read in place, A's rows 4 KB apart read in place, and Aᵀ's rows 4 KB apart packed (the 512-bit path's tall
            // tile): their edge rows as well
            const int lda = 1024;
            float[] wide = Random(m * lda), at = Random(k * (m + 1)), atWide = Random(k * lda);
            AssertSameBits(m * n, c => Gemm.MatMul(path, m, n, k, wide, lda, b, n, c, n, accumulate: false), $"{path} {m}x{n}x{k}, A's rows 4 KB apart");
            AssertSameBits(m * n, c => Gemm.MatMulTransA(path, m, n, k, at, m + 1, b, n, c, n, accumulate: false), $"{path} {m}x{n}x{k}, Aᵀ");
            AssertSameBits(m * n, c => Gemm.MatMulTransA(path, m, n, k, atWide, lda, b, n, c, n, accumulate: false), $"{path} {m}x{n}x{k}, Aᵀ's rows 4 KB apart");
        }
        // against Bᵀ, a last part of rows ending in a tile of one or two rows runs them as the whole product's edge rows, not as
        // dot products; and a product of a few rows, which takes dot products (Gemm.IsRowWise), is cut by columns only, each
        // column's sums its own
        foreach (int m in new[] { Gemm.RowWiseRows + path.MR + 1, Gemm.RowWiseRows + path.MR + 2, 3, 7, Gemm.RowWiseRows })
        {
            int n = m > Gemm.RowWiseRows ? m : 1000 + m, k = Math.Max(96, (1 << 20) / (m * n) + 1);
            float[] a = Random(m * k), bt = Random(n * k);
            AssertSameBits(m * n, c => Gemm.MatMulTransB(path, m, n, k, a, k, bt, k, c, n, accumulate: false), $"{path} {m}x{n}x{k} against Bᵀ");
        }
    }

    /// <summary>The product into a fresh C on one thread and on all, bit for bit.</summary>
    private static void AssertSameBits(int length, Action<float[]> product, string what)
    {
        float[] On(int threads)
        {
            int saved = Gemm.Threads;
            Gemm.Threads = threads;
            try
            {
                var c = new float[length];
                product(c);
                return c;
            }
            finally
            {
                Gemm.Threads = saved;
            }
        }
        float[] one = On(1), all = On(Environment.ProcessorCount);
        Assert.True(one.AsSpan().SequenceEqual(all), $"{what}: one thread and {Environment.ProcessorCount} differ");
    }

    /// <summary>
    /// Recurrent weights are packed by every core, each the columns it will multiply by: the packed matrix is the one a
    /// single thread packs, bit for bit and every padded value written, on every path, from B and from Bᵀ, over several
    /// k-blocks and with a last sliver only partly filled.
    /// </summary>
    [Theory]
    [MemberData(nameof(GemmTests.Paths), MemberType = typeof(GemmTests))]
    public void AMatrixPackedByEveryCoreIsTheOnePackedByOne(string pathName)
    {
        GemmPath path = GemmPath.All.Single(p => p.Name == pathName);
        var rng = new Rng(13);
        int k = 2 * path.KC + 37, n = ((1 << 16) / k / path.NR + 2) * path.NR + 3;
        float[] b = Enumerable.Range(0, k * n).Select(_ => rng.NextNormal()).ToArray();
        foreach (bool transposed in new[] { false, true })
        {
            float[] On(int threads)
            {
                int saved = Gemm.Threads;
                Gemm.Threads = threads;
                try
                {
                    var packed = new float[Gemm.PackedLength(path, k, n)];
                    Array.Fill(packed, float.NaN);
                    Gemm.PackB(path, k, n, b, transposed ? k : n, transposed, packed);
                    return packed;
                }
                finally
                {
                    Gemm.Threads = saved;
                }
            }
            float[] one = On(1), all = On(Environment.ProcessorCount);
            Assert.DoesNotContain(one, float.IsNaN);
            Assert.True(one.AsSpan().SequenceEqual(all), $"{path} [{k}, {n}] transposed: {transposed}: one thread and {Environment.ProcessorCount} packed differently");
        }
    }

    /// <summary>Every part of a split runs once, whichever thread claims it (each thread's own part first, then the rest).</summary>
    [Fact]
    public unsafe void EveryPartOfASplitRunsOnce()
    {
        int saved = Gemm.Threads;
        Gemm.Threads = GemmWorkers.Available;
        try
        {
            int* runs = stackalloc int[8];
            for (int round = 0; round < 2000; round++)
            {
                int parts = 1 + round % GemmWorkers.Available;
                for (int p = 0; p < 8; p++) runs[p] = 0;
                GemmWorkers.Run(&CountPart, runs, parts);
                for (int p = 0; p < 8; p++) Assert.Equal(p < parts ? 1 : 0, runs[p]);
            }
        }
        finally
        {
            Gemm.Threads = saved;
        }
    }

    private static unsafe void CountPart(void* state, int part, int parts) => Interlocked.Increment(ref ((int*)state)[part]);

    /// <summary>
    /// A gather large enough to split over the cores (a folded input projection's rows, [T·B, 4H]) copies every row from
    /// the row its index names, on one thread and on all, and writes nothing past the rows it was given.
    /// </summary>
    [Theory]
    [InlineData(3200, 1024, 65)] // the char model's folded gates: 3.3 M values, split
    [InlineData(257, 300, 7)]    // 77 K values, split into parts of unequal rows
    [InlineData(63, 1000, 5)]    // below the split: on the calling thread
    public void AGatherSplitOverTheCoresCopiesEveryRowFromItsIndex(int rows, int width, int vocab)
    {
        var rng = new Rng(14);
        float[] table = Enumerable.Range(0, vocab * width).Select(_ => rng.NextNormal()).ToArray();
        int[] indices = Enumerable.Range(0, rows).Select(_ => rng.NextInt(vocab)).ToArray();
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
            OnThreads(threads, () =>
            {
                float[] into = Enumerable.Repeat(float.NaN, rows * width + 5).ToArray();
                Layout.GatherRows(table, indices, width, into);
                for (int r = 0; r < rows; r++)
                    Assert.True(into.AsSpan(r * width, width).SequenceEqual(table.AsSpan(indices[r] * width, width)), $"{threads} thread(s): row {r} is not table row {indices[r]}");
                Assert.All(into[(rows * width)..], v => Assert.True(float.IsNaN(v), "a value past the gathered rows was written"));
            });
    }

    /// <summary>
    /// A scatter large enough to split over the cores (the char model's gate gradients summed per token: 3200 rows of
    /// 1024 into 65) gives every table row the bits of adding its rows one by one in index order, on one thread and on
    /// all, with the indices skewed as a text's characters are (one id in three rows, most ids rare).
    /// </summary>
    [Theory]
    [InlineData(3200, 1024, 65)]
    [InlineData(5000, 128, 97)]
    [InlineData(700, 96, 2)]     // two ids: as few table rows as there are parts
    public void AScatterSplitOverTheCoresAddsEachTableRowsRowsInOrder(int count, int width, int vocab)
    {
        var rng = new Rng(15);
        int[] indices = Enumerable.Range(0, count).Select(r => r % 3 == 0 ? 1 : rng.NextInt(vocab)).ToArray();
        float[] rows = Enumerable.Range(0, count * width).Select(_ => rng.NextNormal()).ToArray();
        float[] start = Enumerable.Range(0, vocab * width).Select(_ => rng.NextNormal()).ToArray();
        float[] expected = (float[])start.Clone();
        for (int r = 0; r < count; r++)
            for (int j = 0; j < width; j++) expected[indices[r] * width + j] += rows[r * width + j];
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
            OnThreads(threads, () =>
            {
                float[] table = (float[])start.Clone();
                Layout.ScatterAddRows(indices, rows, width, table);
                Assert.True(table.AsSpan().SequenceEqual(expected), $"{threads} thread(s): a table row differs from its rows added in order");
            });
    }

    /// <summary>A scatter given an index past the table refuses it, naming it, before any row of the table changes.</summary>
    [Fact]
    public void AScatterRefusesAnIndexPastTheTableBeforeChangingIt()
    {
        const int count = 4096, width = 32, vocab = 10;
        int[] indices = Enumerable.Range(0, count).Select(r => r % vocab).ToArray();
        indices[count - 2] = -1;
        float[] rows = Enumerable.Repeat(1f, count * width).ToArray(), table = new float[vocab * width];
        OnThreads(Environment.ProcessorCount, () =>
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => Layout.ScatterAddRows(indices, rows, width, table));
            Assert.Contains($"Index {count - 2} is -1: the table has {vocab} rows of {width}", error.Message);
            Assert.All(table, v => Assert.Equal(0f, v));
            indices[count - 2] = vocab;
            Assert.Throws<ArgumentOutOfRangeException>(() => Layout.ScatterAddRows(indices, rows, width, table));
            Assert.All(table, v => Assert.Equal(0f, v));
        });
    }

    /// <summary>An index past the table (or one whose offset would wrap round) and too short a destination are named before any row moves.</summary>
    [Fact]
    public void AGatherSplitOverTheCoresRefusesAnIndexPastTheTable()
    {
        const int rows = 2048, width = 64, vocab = 10;
        float[] table = new float[vocab * width];
        int[] indices = Enumerable.Range(0, rows).Select(r => r % vocab).ToArray();
        indices[rows - 3] = vocab; // in the last part
        OnThreads(Environment.ProcessorCount, () =>
        {
            var past = Assert.Throws<ArgumentOutOfRangeException>(() => Layout.GatherRows(table, indices, width, new float[rows * width]));
            Assert.Contains($"Index {rows - 3} is {vocab}: the table has {vocab} rows of {width}", past.Message);
            var error = Assert.Throws<ArgumentException>(() => Layout.GatherRows(table, indices.AsSpan(0, 4).ToArray(), width, new float[4 * width - 1]));
            Assert.Contains($"expected at least {4 * width} values (4 rows of {width}), got {4 * width - 1}", error.Message);
            // an index whose offset wraps round in 32 bits (2²⁶ · 64 = 2³²: row 0) is refused, not read as another row
            var wrapped = Assert.Throws<ArgumentOutOfRangeException>(() => Layout.GatherRows(table, [1, 1 << 26], width, new float[2 * width]));
            Assert.Contains($"Index 1 is {1 << 26}", wrapped.Message);
        });
    }

    /// <summary>
    /// Enough rows to split over the cores (a char model's 3200 steps, a long batch): the loss is summed in fixed chunks of
    /// rows, so one thread and all give the same bits, loss and gradient, with a gradient and without; both match the
    /// double-precision reference.
    /// </summary>
    [Theory]
    [InlineData(65, 3200)]   // 50 chunks of 64 rows
    [InlineData(97, 20011)]  // more rows than 256 chunks of 64: 79-row chunks, the last one short
    [InlineData(1030, 301)]  // without a gradient, a row's exponentials in two pieces
    public void CrossEntropySplitOverTheCoresGivesOneThreadsBits(int classes, int rows)
    {
        var rng = new Rng((ulong)(classes * 131 + rows));
        float[] logits = new float[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = rng.NextNormal() * 3;
        int[] targets = Enumerable.Range(0, rows).Select(r => r % 11 == 5 ? -100 : (r * 13 + 1) % classes).ToArray();
        double total = 0;
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] < 0) continue;
            counted++;
            double max = double.NegativeInfinity, sum = 0;
            for (int c = 0; c < classes; c++) max = Math.Max(max, logits[r * classes + c]);
            for (int c = 0; c < classes; c++) sum += Math.Exp(logits[r * classes + c] - max);
            total += max + Math.Log(sum) - logits[r * classes + targets[r]];
        }
        float expected = (float)(total / counted);
        var results = new List<(float Loss, float Plain, float[] Gradient)>();
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
            OnThreads(threads, () =>
            {
                var gradient = new float[rows * classes];
                float loss = Losses.SoftmaxCrossEntropy(logits, targets, classes, gradient);
                results.Add((loss, Losses.SoftmaxCrossEntropy(logits, targets, classes, default), gradient));
            });
        Assert.Equal(expected, results[0].Loss, 1e-5f * Math.Max(1f, Math.Abs(expected)));
        Assert.Equal(BitConverter.SingleToInt32Bits(results[0].Loss), BitConverter.SingleToInt32Bits(results[1].Loss));
        Assert.Equal(BitConverter.SingleToInt32Bits(results[0].Plain), BitConverter.SingleToInt32Bits(results[1].Plain));
        Assert.Equal(results[0].Loss, results[0].Plain, 1e-6f * Math.Max(1f, Math.Abs(expected)));
        Assert.True(results[0].Gradient.AsSpan().SequenceEqual(results[1].Gradient), "the gradient differs between one thread and all");
        Assert.All(results[1].Gradient.AsSpan(5 * classes, classes).ToArray(), g => Assert.Equal(0f, g)); // row 5 is ignored
    }

    [Fact]
    public void AdditiveAttentionSplitOverTheCoresGivesTheSameResults()
    {
        var rng = new Rng(12);
        const int B = 8, T = 24;
        float[] x = Enumerable.Range(0, B * T * 24).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, B * T * 3).Select(_ => rng.NextNormal()).ToArray();
        int[] lengths = Enumerable.Range(0, B).Select(b => T - 2 * b).ToArray();
        AssertSame(() => new ParallelAdditiveAttention(seed: 7), model => (
            Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [B, T, 24]), lengths)),
            model.Backward(new ReadOnlyTensorSpan<float>(x, [B, T, 24]), new ReadOnlyTensorSpan<float>(y, [B, T, 3]), lengths)));
    }

    [Fact]
    public void LayerNormSplitOverTheCoresGivesTheSameResults()
    {
        var rng = new Rng(13);
        const int B = 16, T = 40;
        float[] x = Enumerable.Range(0, B * T * 64).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, B * T * 3).Select(_ => rng.NextNormal()).ToArray();
        AssertSame(() => new ParallelLayerNorm(seed: 8), model => (
            Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [B, T, 64]))),
            model.Backward(new ReadOnlyTensorSpan<float>(x, [B, T, 64]), new ReadOnlyTensorSpan<float>(y, [B, T, 3]))));
    }

    [Fact]
    public void RmsNormSplitOverTheCoresGivesTheSameResults()
    {
        var rng = new Rng(15);
        const int B = 16, T = 40;
        float[] x = Enumerable.Range(0, B * T * 64).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, B * T * 3).Select(_ => rng.NextNormal()).ToArray();
        AssertSame(() => new ParallelRmsNorm(seed: 9), model => (
            Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [B, T, 64]))),
            model.Backward(new ReadOnlyTensorSpan<float>(x, [B, T, 64]), new ReadOnlyTensorSpan<float>(y, [B, T, 3]))));
    }

    [Fact]
    public void LayerNormBackwardInPlaceGivesWhatSeparateBuffersGive()
    {
        // dx written over dy: every part reads dy for its columns of dγ and dβ, so the step back stays on one thread
        const int rows = 1024, width = 96;
        var rng = new Rng(14);
        float[] x = Enumerable.Range(0, rows * width).Select(_ => rng.NextNormal()).ToArray();
        float[] dy = Enumerable.Range(0, rows * width).Select(_ => rng.NextNormal()).ToArray();
        float[] gamma = Enumerable.Range(0, width).Select(_ => rng.NextNormal()).ToArray(), beta = new float[width];
        float[] y = new float[rows * width], mean = new float[rows], rstd = new float[rows];
        LayerNormKernel.Forward(rows, width, x, gamma, beta, 1e-5f, y, mean, rstd);
        float[] dx = new float[rows * width], dGamma = new float[width], dBeta = new float[width];
        LayerNormKernel.Backward(rows, width, x, gamma, mean, rstd, dy, dx, dGamma, dBeta, default);
        float[] inPlace = (float[])dy.Clone(), dGamma2 = new float[width], dBeta2 = new float[width];
        LayerNormKernel.Backward(rows, width, x, gamma, mean, rstd, inPlace, inPlace, dGamma2, dBeta2, default);
        Assert.Equal(dx, inPlace);
        Assert.Equal(dGamma, dGamma2);
        Assert.Equal(dBeta, dBeta2);
    }

    [Fact]
    public void AttentionHeadsSplitOverTheCoresGiveTheSameResults()
    {
        var rng = new Rng(10);
        const int B = 8, T = 32;
        float[] x = Enumerable.Range(0, B * T * 32).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, B * T * 3).Select(_ => rng.NextNormal()).ToArray();
        int[] lengths = Enumerable.Range(0, B).Select(b => T - 3 * b).ToArray();
        AssertSame(() => new ParallelAttention(seed: 6), model => (
            Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [B, T, 32]), lengths)),
            model.Backward(new ReadOnlyTensorSpan<float>(x, [B, T, 32]), new ReadOnlyTensorSpan<float>(y, [B, T, 3]), lengths)));
    }
}
