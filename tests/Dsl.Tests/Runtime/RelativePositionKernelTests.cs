using System.Text.Json;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// T5's and MPNet's relative position buckets (<see cref="RelativePositionKernel"/>) against PyTorch's, and the table read by
/// distance and its gradient summed back by bucket.
/// </summary>
public class RelativePositionKernelTests
{
    /// <summary>
    /// Every distance −3000 … 3000 falls into the bucket transformers' <c>relative_position_bucket</c> gives it in PyTorch's float32
    /// arithmetic (relative_buckets.json, written by make_fixtures.py --relative), at T5's and MPNet's 32 buckets up to 128 and
    /// at five other sizes on both sides of a query, and one-sided (T5's decoder's) at 32 up to 128 and four other sizes.
    /// </summary>
    [Fact]
    public void EveryDistanceFallsIntoPyTorchsBucket()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("relative_buckets.json")));
        int sizes = 0;
        foreach (JsonElement row in doc.RootElement.EnumerateArray())
        {
            int buckets = row.GetProperty("buckets").GetInt32(), far = row.GetProperty("max_distance").GetInt32(), first = row.GetProperty("first").GetInt32();
            bool both = row.GetProperty("bidirectional").GetBoolean();
            int at = 0;
            foreach (JsonElement expected in row.GetProperty("bucket").EnumerateArray())
            {
                int distance = first + at++, bucket = RelativePositionKernel.Bucket(distance, buckets, far, both);
                Assert.True(expected.GetInt32() == bucket,
                    $"{buckets} {(both ? "two" : "one")}-sided buckets up to {far}, distance {distance}: PyTorch's bucket {expected.GetInt32()}, got {bucket}");
            }
            Assert.Equal(6001, at);
            sizes += both ? 1 : 100;
        }
        Assert.Equal(6 + 5 * 100, sizes); // six sizes on both sides, five one-sided
    }

    /// <summary>
    /// Expand writes each head's bucket value at each distance, and Collect is its transpose: ⟨Expand(table), Σ_b g_b⟩ =
    /// ⟨table, Collect(g)⟩ for any g, and Collect adds to what the table's gradient held.
    /// </summary>
    [Theory]
    [InlineData(1, 3, 8, 6, true)]
    [InlineData(20, 2, 32, 128, true)]
    [InlineData(40, 3, 8, 6, true)]
    [InlineData(20, 2, 32, 128, false)]
    [InlineData(40, 3, 5, 6, false)]
    public void CollectIsTheTransposeOfExpand(int steps, int batch, int buckets, int far, bool bidirectional)
    {
        const int heads = 3;
        int n = 2 * steps - 1;
        var rng = new Rng((ulong)(steps * 7 + buckets));
        float[] table = Enumerable.Range(0, buckets * heads).Select(_ => rng.NextNormal()).ToArray();
        float[] g = Enumerable.Range(0, batch * heads * n).Select(_ => rng.NextNormal()).ToArray();
        var bias = new float[heads * n];
        RelativePositionKernel.Expand(steps, heads, buckets, far, table, bias, bidirectional);
        for (int h = 0; h < heads; h++)
            for (int o = 0; o < n; o++)
                Assert.Equal(table[RelativePositionKernel.Bucket(o - (steps - 1), buckets, far, bidirectional) * heads + h], bias[h * n + o]);
        float[] dTable = Enumerable.Repeat(0.5f, buckets * heads).ToArray();
        RelativePositionKernel.Collect(steps, batch, heads, buckets, far, g, dTable, bidirectional);
        double left = 0, right = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < heads * n; i++) left += (double)bias[i] * g[b * heads * n + i];
        for (int i = 0; i < table.Length; i++) right += (double)table[i] * (dTable[i] - 0.5f);
        Assert.True(Math.Abs(left - right) <= 1e-4 * Math.Max(1, Math.Abs(left)), $"⟨Expand(table), g⟩ = {left}, ⟨table, Collect(g)⟩ = {right}");
    }

    /// <summary>Buckets that are odd or fewer than 4, a maximum distance within the exact ones, and short buffers are refused naming them.</summary>
    [Fact]
    public void BadSizesAndShortBuffersAreRefused()
    {
        Assert.Contains("even count of 4 or more", Assert.Throws<ArgumentOutOfRangeException>(() => RelativePositionKernel.Expand(3, 2, 7, 128, new float[14], new float[10])).Message);
        Assert.Contains("must pass the 8 exact distances of 32 buckets", Assert.Throws<ArgumentOutOfRangeException>(() => RelativePositionKernel.Expand(3, 2, 32, 8, new float[64], new float[10])).Message);
        Assert.Contains("bias: expected at least 10 values, got 9", Assert.Throws<ArgumentException>(() => RelativePositionKernel.Expand(3, 2, 8, 6, new float[16], new float[9])).Message);
        Assert.Contains("table: expected at least 16 values, got 15", Assert.Throws<ArgumentException>(() => RelativePositionKernel.Expand(3, 2, 8, 6, new float[15], new float[10])).Message);
        Assert.Contains("dBias: expected at least 20 values, got 10", Assert.Throws<ArgumentException>(() => RelativePositionKernel.Collect(3, 2, 2, 8, 6, new float[10], new float[16])).Message);
        var dTable = new float[16];
        Assert.Contains("dTable: expected at least 16 values, got 15", Assert.Throws<ArgumentException>(() => RelativePositionKernel.Collect(3, 2, 2, 8, 6, new float[20], new float[15])).Message);
        Assert.All(dTable, v => Assert.Equal(0f, v));
        // one-sided: 2 or more buckets, half of them exact distances
        Assert.Contains("one-sided buckets are 2 or more", Assert.Throws<ArgumentOutOfRangeException>(() => RelativePositionKernel.Expand(3, 2, 1, 128, new float[2], new float[10], bidirectional: false)).Message);
        Assert.Contains("must pass the 16 exact distances of 32 one-sided buckets", Assert.Throws<ArgumentOutOfRangeException>(() => RelativePositionKernel.Expand(3, 2, 32, 16, new float[64], new float[10], bidirectional: false)).Message);
    }

    /// <summary>
    /// A causal layer stepping from its cache reads the table by each query's distance to every key: a step's outputs are those
    /// of a whole pass's last query; a short table, a soft cap beside it and bad buckets are refused before the cache changes.
    /// </summary>
    [Fact]
    public void CachedStepsReadTheTableAsAWholePass()
    {
        const int steps = 23, batch = 2, heads = 2, width = 8, buckets = 32, far = 128;
        var rng = new Rng(5);
        float[] qkv = Enumerable.Range(0, steps * batch * 3 * width).Select(_ => rng.NextNormal()).ToArray();
        float[] table = Enumerable.Range(0, buckets * heads).Select(_ => rng.NextNormal()).ToArray();
        var bias = new float[heads * RelativePositionKernel.Distances(steps)];
        RelativePositionKernel.Expand(steps, heads, buckets, far, table, bias, bidirectional: false);
        var whole = new float[steps * batch * width];
        AttentionKernel.Forward(steps, batch, width, heads, 0.5f, true, default, qkv, new float[batch * heads * steps * steps], default, whole, default, positionBias: bias);
        var cache = new float[steps * batch * 2 * width];
        var step = new float[batch * width];
        int row = batch * 3 * width;
        for (int t = 0; t < steps; t++)
        {
            AttentionKernel.CachedForward(1, batch, width, heads, 0.5f, t, qkv.AsSpan(t * row, row), cache, new float[batch * heads], step, relativeTable: table,
                relativeBuckets: buckets, relativeMaxDistance: far);
            Tolerance.AssertClose(whole.AsSpan(t * batch * width, batch * width), step, $"step {t}");
        }
        var fresh = new float[cache.Length];
        Assert.Contains("table: expected at least 64 values, got 63", Assert.Throws<ArgumentException>(() => AttentionKernel.CachedForward(1, batch, width, heads, 0.5f, 0,
            qkv.AsSpan(0, row), fresh, new float[batch * heads], step, relativeTable: table.AsSpan(0, 63), relativeBuckets: buckets, relativeMaxDistance: far)).Message);
        Assert.Contains("a relative position bias and a soft cap", Assert.Throws<ArgumentException>(() => AttentionKernel.CachedForward(1, batch, width, heads, 0.5f, 0,
            qkv.AsSpan(0, row), fresh, new float[batch * heads], step, softCap: 2f, relativeTable: table, relativeBuckets: buckets, relativeMaxDistance: far)).Message);
        Assert.Contains("must pass the 16 exact distances", Assert.Throws<ArgumentOutOfRangeException>(() => AttentionKernel.CachedForward(1, batch, width, heads, 0.5f, 0,
            qkv.AsSpan(0, row), fresh, new float[batch * heads], step, relativeTable: table, relativeBuckets: buckets, relativeMaxDistance: 10)).Message);
        Assert.All(fresh, v => Assert.Equal(0f, v));
    }
}

/// <summary>ALiBi's slopes (<see cref="AlibiKernel"/>) as the paper's <c>get_slopes</c> gives them, and its bias by distance.</summary>
public class AlibiKernelTests
{
    /// <summary>
    /// The slopes of 8 heads (a power of two: 2^(−8/8 · (h + 1))), 6 and 12 (the power of two below, then every other slope of
    /// twice it), as the paper's get_slopes (Press et al.'s code, JinaBERT's <c>_get_alibi_head_slopes</c>) printed them in Python.
    /// </summary>
    [Theory]
    [InlineData(8, new[] { 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625 })]
    [InlineData(6, new[] { 0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125 })]
    [InlineData(12, new[] { 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.7071067811865476, 0.35355339059327384, 0.17677669529663692, 0.08838834764831849 })]
    public void SlopesAreThePapers(int heads, double[] expected)
    {
        for (int h = 0; h < heads; h++) Assert.Equal(expected[h], AlibiKernel.Slope(h, heads), 15);
    }

    [Fact]
    public void ExpandWritesEachHeadsBiasByDistance()
    {
        const int steps = 5, heads = 3;
        var bias = new float[heads * 9];
        AlibiKernel.Expand(steps, heads, bias);
        for (int h = 0; h < heads; h++)
            for (int o = 0; o < 9; o++) Assert.Equal((float)(-AlibiKernel.Slope(h, heads) * Math.Abs(o - 4)), bias[h * 9 + o]);
        Assert.Contains("bias: expected at least 27 values, got 26", Assert.Throws<ArgumentException>(() => AlibiKernel.Expand(steps, heads, new float[26])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AlibiKernel.Slope(3, 3));
    }
}
