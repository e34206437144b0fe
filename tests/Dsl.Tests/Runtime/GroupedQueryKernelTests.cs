using Dsl.Kernels;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Grouped-query attention's kernels against plain multi-head attention over the keys and values repeated for every query
/// head of their group (Hugging Face's <c>repeat_kv</c>): the same weights and outputs, the same queries' gradients, and each
/// key/value head's gradients the sum of its group's; the cached steps against a whole pass; the rotation of the fewer key
/// heads; bad arguments.
/// </summary>
public class GroupedQueryKernelTests
{
    public static TheoryData<int, int, bool, bool> Groups => new()
    {
        { 4, 2, false, false }, { 4, 2, true, false }, { 6, 1, false, true }, { 6, 3, true, true }, { 4, 4, true, false },
        { 8, 2, true, true }, // groups of 4 heads, each 5 wide: the vector lanes' tails
    };

    /// <summary>[T, B, E + 2 · E_kv] → [T, B, 3E], each key/value head copied for every query head of its group.</summary>
    private static float[] Repeated(float[] grouped, int rows, int width, int heads, int kvHeads)
    {
        int d = width / heads, kv = d * kvHeads, packed = width + 2 * kv;
        var full = new float[rows * 3 * width];
        for (int r = 0; r < rows; r++)
        {
            grouped.AsSpan(r * packed, width).CopyTo(full.AsSpan(r * 3 * width));
            for (int h = 0; h < heads; h++)
            for (int part = 0; part < 2; part++) // keys, then values
                grouped.AsSpan(r * packed + width + part * kv + h / (heads / kvHeads) * d, d).CopyTo(full.AsSpan(r * 3 * width + (1 + part) * width + h * d));
        }
        return full;
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public void AGroupReadsItsSharedKeysAndValuesAndSumsTheirGradients(int heads, int kvHeads, bool causal, bool padded)
    {
        int steps = 7, batch = 3, d = heads == 8 ? 5 : 4, width = heads * d, kv = d * kvHeads, packed = width + 2 * kv, rows = steps * batch;
        int[] lengths = padded ? [7, 3, 5] : [];
        float scale = 1f / MathF.Sqrt(d);
        var rng = new Rng((ulong)(heads * 10 + kvHeads));
        float[] qkv = Enumerable.Range(0, rows * packed).Select(_ => rng.NextNormal()).ToArray();
        float[] dContext = Enumerable.Range(0, rows * width).Select(_ => rng.NextNormal()).ToArray();
        float[] full = Repeated(qkv, rows, width, heads, kvHeads);
        int scores = batch * heads * steps * steps;

        float[] weights = new float[scores], context = new float[rows * width], expectedWeights = new float[scores], expectedContext = new float[rows * width];
        AttentionKernel.Forward(steps, batch, width, heads, kvHeads, scale, causal, lengths, qkv, weights, default, context, default);
        AttentionKernel.Forward(steps, batch, width, heads, scale, causal, lengths, full, expectedWeights, default, expectedContext, default);
        Assert.Equal(expectedWeights, weights);
        Assert.Equal(expectedContext, context);

        float[] dQkv = Enumerable.Repeat(float.NaN, rows * packed).ToArray(), dFull = new float[rows * 3 * width];
        AttentionKernel.Backward(steps, batch, width, heads, kvHeads, scale, causal, lengths, qkv, weights, default, dContext, dQkv, default);
        AttentionKernel.Backward(steps, batch, width, heads, scale, causal, lengths, full, expectedWeights, default, dContext, dFull, default);
        int group = heads / kvHeads;
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(dFull.AsSpan(r * 3 * width, width).ToArray(), dQkv.AsSpan(r * packed, width).ToArray());
            for (int part = 0; part < 2; part++)
            for (int g = 0; g < kvHeads; g++)
            for (int c = 0; c < d; c++)
            {
                float sum = 0f; // the group's heads added in order, as the kernel adds them
                for (int h = g * group; h < (g + 1) * group; h++) sum += dFull[r * 3 * width + (1 + part) * width + h * d + c];
                Assert.Equal(sum, dQkv[r * packed + width + part * kv + g * d + c], 1e-5f * (1 + MathF.Abs(sum)));
            }
        }
    }

    [Fact]
    public void CachedStepsAttendAsAWholeCausalPass()
    {
        const int steps = 6, batch = 2, heads = 6, kvHeads = 2, d = 4, width = heads * d, kv = kvHeads * d, packed = width + 2 * kv;
        var rng = new Rng(5);
        float[] qkv = Enumerable.Range(0, steps * batch * packed).Select(_ => rng.NextNormal()).ToArray();
        float[] whole = new float[steps * batch * width], weights = new float[batch * heads * steps * steps];
        AttentionKernel.Forward(steps, batch, width, heads, kvHeads, 0.5f, true, default, qkv, weights, default, whole, default);
        float[] cache = new float[steps * batch * 2 * kv], stepped = new float[steps * batch * width];
        for (int t = 0; t < steps; t++)
        {
            AttentionKernel.CachedForward(1, batch, width, heads, kvHeads, 0.5f, t, qkv.AsSpan(t * batch * packed, batch * packed), cache,
                new float[batch * heads], stepped.AsSpan(t * batch * width, batch * width));
        }
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], stepped[i], 1e-5f);
        // the cache holds each step's keys, then its values: 2 · E_kv per row, not 2E
        for (int r = 0; r < steps * batch; r++) Assert.Equal(qkv.AsSpan(r * packed + width, 2 * kv).ToArray(), cache.AsSpan(r * 2 * kv, 2 * kv).ToArray());
    }

    [Fact]
    public void RotaryTurnsTheQueriesHeadsAndTheFewerKeyHeadsAlike()
    {
        const int steps = 5, batch = 2, heads = 4, kvHeads = 2, d = 6, width = heads * d, kv = kvHeads * d, packed = width + 2 * kv, rows = steps * batch;
        var rng = new Rng(8);
        float[] qkv = Enumerable.Range(0, rows * packed).Select(_ => rng.NextNormal()).ToArray();
        float[] full = Repeated(qkv, rows, width, heads, kvHeads), before = (float[])qkv.Clone();
        RotaryKernel.Apply(steps, batch, width, heads, kvHeads, 3, 500f, default, qkv, inverse: false);
        RotaryKernel.Apply(steps, batch, width, heads, 3, 500f, full, inverse: false);
        Assert.Equal(Repeated(qkv, rows, width, heads, kvHeads), full);
        for (int r = 0; r < rows; r++) Assert.Equal(before.AsSpan(r * packed + width + kv, kv).ToArray(), qkv.AsSpan(r * packed + width + kv, kv).ToArray()); // values stay
        RotaryKernel.Apply(steps, batch, width, heads, kvHeads, 3, 500f, default, qkv, inverse: true);
        for (int i = 0; i < qkv.Length; i++) Assert.Equal(before[i], qkv[i], 1e-5f * (1 + MathF.Abs(before[i])));
    }

    [Fact]
    public void KeyValueHeadsThatDoNotDivideTheHeadsOrBuffersTooShortAreRefused()
    {
        float[] qkv = new float[2 * 1 * (8 + 2 * 4)], weights = new float[4 * 4], context = new float[2 * 8];
        var error = Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(2, 1, 8, 4, 3, 1f, false, default, qkv, weights, default, context, default));
        Assert.Equal("Attention: key/value heads 3 must divide the 4 query head(s) (each shared by a group of them). (Parameter 'keyValueHeads')", error.Message);
        Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(2, 1, 8, 4, 0, 1f, false, default, qkv, weights, default, context, default));
        Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(2, 1, 8, 4, 8, 1f, false, default, qkv, weights, default, context, default));
        // qkv for 2 key/value heads is 16 wide a row: 31 values are one short
        error = Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(2, 1, 8, 4, 2, 1f, false, default, qkv.AsSpan(0, 31).ToArray(), weights, default, context, default));
        Assert.Equal("qkv: expected at least 32 values, got 31. (Parameter 'qkv')", error.Message);
        float[] cache = new float[2 * 8 - 1]; // two steps of 2 · E_kv = 8
        error = Assert.Throws<ArgumentException>(() => AttentionKernel.CachedForward(2, 1, 8, 4, 2, 1f, 0, qkv, cache, weights, context));
        Assert.Equal("cache: expected at least 16 values, got 15. (Parameter 'cache')", error.Message);
        Assert.All(cache, v => Assert.Equal(0f, v)); // refused before anything was written
        Assert.Throws<ArgumentException>(() => RotaryKernel.Apply(2, 1, 8, 4, 3, 0, 1f, default, qkv, false));
    }
}
