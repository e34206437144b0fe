using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The softmax attention uses, forward (shifted by the row's maximum) and back (vectorised), against a
/// double-precision reference over row lengths on either side of each vector width. CI runs these again on narrower vectors.
/// </summary>
public class SoftmaxTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(64)]
    [InlineData(200)]
    public void SoftmaxAndItsStepBackMatchTheReference(int n)
    {
        var rng = new Rng((ulong)n + 7);
        float[] x = Enumerable.Range(0, n).Select(_ => rng.NextNormal() * 5).ToArray();
        if (n > 3) x[2] = float.NegativeInfinity;   // a masked score: no weight at all
        double max = x.Max();
        double[] expected = x.Select(v => Math.Exp(v - max)).ToArray();
        double sum = expected.Sum();
        for (int i = 0; i < n; i++) expected[i] /= sum;
        float[] p = (float[])x.Clone();
        Activations.StableSoftmax(p);
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(p[i] - expected[i]) <= 1e-6 * Math.Max(expected[i], 1e-3), $"p[{i}] = {p[i]}, expected {expected[i]}");
        if (n > 3) Assert.Equal(0f, p[2]);

        // back: d(scores) = scale · p ⊙ (d(p) − Σ d(p) ⊙ p) over the first `valid` values, zero beyond
        int valid = Math.Max(1, n - 2);
        const float scale = 0.25f;
        float[] grad = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        float dot = 0;
        for (int i = 0; i < valid; i++) dot += grad[i] * p[i];
        float[] back = (float[])grad.Clone();
        Activations.SoftmaxBackward(back, p, valid, scale);
        for (int i = 0; i < n; i++)
        {
            float want = i < valid ? p[i] * (grad[i] - dot) * scale : 0f;
            Assert.True(Math.Abs(back[i] - want) <= 1e-6f * Math.Max(Math.Abs(want), 1f), $"d[{i}] = {back[i]}, expected {want}");
        }
        // the one pass gives the bits of the three it replaced: g − Σ g ⊙ p, times p, times the scale
        float[] passes = grad.AsSpan(0, valid).ToArray();
        float dotOfPasses = System.Numerics.Tensors.TensorPrimitives.Dot(passes, p.AsSpan(0, valid));
        System.Numerics.Tensors.TensorPrimitives.Subtract(passes, dotOfPasses, passes);
        System.Numerics.Tensors.TensorPrimitives.Multiply(passes, p.AsSpan(0, valid), passes);
        System.Numerics.Tensors.TensorPrimitives.Multiply(passes, scale, passes);
        Assert.Equal(passes, back.AsSpan(0, valid).ToArray());
    }

    [Theory]
    [InlineData(1, 0.125f)]
    [InlineData(5, 0.5f)]
    [InlineData(16, 0.176776695f)]
    [InlineData(33, 0.125f)]
    [InlineData(64, 0.176776695f)]
    [InlineData(71, 3f)]
    public void TheScaledSoftmaxOfAttentionMatchesTheReference(int n, float scale)
    {
        var rng = new Rng((ulong)n * 31 + 5);
        float[] x = Enumerable.Range(0, n).Select(_ => rng.NextNormal() * 8).ToArray();
        if (n > 3) x[1] = float.NegativeInfinity;   // a masked score
        if (n > 4) x[3] = -1e38f;                   // scaled, far below the maximum: no weight, as torch's underflow gives
        // torch.softmax(x * scale): the scaled scores rounded to float first
        double[] scaled = x.Select(v => (double)(v * scale)).ToArray();
        double max = scaled.Max();
        double[] expected = scaled.Select(v => Math.Exp(v - max)).ToArray();
        double sum = expected.Sum();
        for (int i = 0; i < n; i++) expected[i] /= sum;
        float[] p = (float[])x.Clone();
        Activations.ScaledSoftmax(p, scale);
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(p[i] - expected[i]) <= 1e-6 * Math.Max(expected[i], 1e-3), $"p[{i}] = {p[i]}, expected {expected[i]}");
        if (n > 3) Assert.Equal(0f, p[1]);
        if (n > 4) Assert.Equal(0f, p[3]);
    }

    [Fact]
    public void TheScaledSoftmaxOfARowWithANaNOrAnInfinityOrANegativeScaleIsTorchs()
    {
        float[] nan = [1f, float.NaN, 2f];
        Activations.ScaledSoftmax(nan, 0.5f);
        Assert.All(nan, v => Assert.True(float.IsNaN(v)));
        float[] masked = [float.NegativeInfinity, float.NegativeInfinity];
        Activations.ScaledSoftmax(masked, 0.5f);
        Assert.All(masked, v => Assert.True(float.IsNaN(v)));
        float[] infinite = [1f, float.PositiveInfinity, 2f];   // torch: inf − inf is NaN
        Activations.ScaledSoftmax(infinite, 0.5f);
        Assert.All(infinite, v => Assert.True(float.IsNaN(v)));
        float[] negative = [1f, 2f, 4f];                         // softmax(−x): the smallest value gets the most weight
        Activations.ScaledSoftmax(negative, -1f);
        double z = Math.Exp(-1) + Math.Exp(-2) + Math.Exp(-4);
        Assert.Equal(Math.Exp(-1) / z, negative[0], 1e-6);
        Assert.Equal(Math.Exp(-4) / z, negative[2], 1e-6);
    }

    [Fact]
    public void ARowOfMinusInfinityOrWithANaNIsNaNAsTorchSoftmaxGives()
    {
        float[] masked = [float.NegativeInfinity, float.NegativeInfinity];
        Activations.StableSoftmax(masked);
        Assert.All(masked, v => Assert.True(float.IsNaN(v)));
        float[] nan = [1f, float.NaN, 2f];
        Activations.StableSoftmax(nan);
        Assert.All(nan, v => Assert.True(float.IsNaN(v)));
    }
}
