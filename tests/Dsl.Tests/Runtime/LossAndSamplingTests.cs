using Xunit;

namespace Dsl.Tests.Runtime;

public class LossAndSamplingTests
{
    [Fact]
    public void CrossEntropyIgnoresNegativeTargetsAndAveragesOverTheRest()
    {
        float[] logits = [1f, 2f, 3f, 0f, 0f, 0f, 5f, -1f, 2f];
        int[] targets = [2, -100, 0];
        var grad = new float[9];
        float loss = Losses.SoftmaxCrossEntropy(logits, targets, 3, grad);
        double l0 = -Math.Log(Math.Exp(3) / (Math.Exp(1) + Math.Exp(2) + Math.Exp(3)));
        double l2 = -Math.Log(Math.Exp(5) / (Math.Exp(5) + Math.Exp(-1) + Math.Exp(2)));
        Assert.Equal((l0 + l2) / 2, loss, 1e-6);
        Assert.Equal(new float[3], grad[3..6]);
        Assert.Equal(0f, grad[..3].Sum(), 1e-6f);
        Assert.True(grad[2] < 0 && grad[6] < 0);
    }

    [Fact]
    public void MeanSquaredErrorAndItsGradient()
    {
        var grad = new float[2];
        Assert.Equal(2.5f, Losses.MeanSquaredError([1f, 2f], [2f, 4f], grad));
        Assert.Equal(new[] { -1f, -2f }, grad);
    }

    [Fact]
    public void SamplingFollowsTheTemperedDistribution()
    {
        var rng = new Rng(5);
        float[] logits = [0f, MathF.Log(3f)]; // p = 1/4, 3/4
        int ones = Enumerable.Range(0, 20_000).Count(_ => Sampling.Sample(logits, 1f, rng) == 1);
        Assert.InRange(ones / 20_000.0, 0.73, 0.77);
        int sharp = Enumerable.Range(0, 20_000).Count(_ => Sampling.Sample(logits, 0.5f, rng) == 1); // p ∝ 1, 9
        Assert.InRange(sharp / 20_000.0, 0.88, 0.92);
        Assert.Equal(1, Sampling.Sample(logits, 0f, rng));
        // NaN, +∞ or nothing but −∞ is no distribution: refused (it drew the last id, step after step)
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Sampling.Sample([1f, float.NaN, 0f], 1f, rng)).Message);
        Assert.Contains("+∞", Assert.Throws<ArgumentException>(() => Sampling.Sample([1f, float.PositiveInfinity], 1f, rng)).Message);
        Assert.Contains("only −∞", Assert.Throws<ArgumentException>(() => Sampling.Sample([float.NegativeInfinity, float.NegativeInfinity], 1f, rng)).Message);
        Assert.Equal(1, Sampling.Sample([float.NegativeInfinity, 0f], 1f, rng)); // −∞ beside a finite logit: never drawn
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(logits, -1f, rng));
    }

    [Fact]
    public void RngIsReproducibleAndUniform()
    {
        var a = new Rng(9);
        var b = new Rng(9);
        Assert.Equal(Enumerable.Range(0, 10).Select(_ => a.NextUInt64()), Enumerable.Range(0, 10).Select(_ => b.NextUInt64()));
        var r = new Rng(1);
        double mean = Enumerable.Range(0, 50_000).Average(_ => r.NextFloat());
        Assert.InRange(mean, 0.49, 0.51);
        double var = Enumerable.Range(0, 50_000).Select(_ => (double)r.NextNormal()).Select(x => x * x).Average();
        Assert.InRange(var, 0.97, 1.03);
    }
}
