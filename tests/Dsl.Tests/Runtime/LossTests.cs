using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The losses (vectorised: float exponentials on every width for the cross-entropy, double-precision sums) against a
/// plain double-precision reference, over class counts on either side of the vector widths and of the 1024-value chunks
/// a loss without a gradient works in, ignored and padded targets included. CI runs these again on narrower vectors.
/// </summary>
public class LossTests
{
    [Theory]
    [InlineData(1, 5)]
    [InlineData(3, 7)]
    [InlineData(17, 4)]
    [InlineData(65, 9)]
    [InlineData(1030, 3)]
    [InlineData(2100, 2)]
    public void CrossEntropyMatchesTheReferenceWithAndWithoutAGradient(int classes, int rows)
    {
        var rng = new Rng((ulong)(classes * 31 + rows));
        float[] logits = Enumerable.Range(0, rows * classes).Select(_ => rng.NextNormal() * 4).ToArray();
        int[] targets = Enumerable.Range(0, rows).Select(r => r == 1 ? -100 : (r * 7 + 3) % classes).ToArray();
        // reference: log Σ exp(z) − z[t] and softmax − one-hot, in double, over the rows counted
        var expectedGradient = new double[rows * classes];
        double total = 0;
        int counted = targets.Count(t => t >= 0);
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] < 0) continue;
            double max = logits.Skip(r * classes).Take(classes).Max(), sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(logits[r * classes + c] - max);
            double logSum = max + Math.Log(sum);
            total += logSum - logits[r * classes + targets[r]];
            for (int c = 0; c < classes; c++) expectedGradient[r * classes + c] = (Math.Exp(logits[r * classes + c] - logSum) - (c == targets[r] ? 1 : 0)) / counted;
        }
        float expected = (float)(total / counted);
        var gradient = Enumerable.Repeat(9f, rows * classes).ToArray();   // an ignored row's gradient must become 0
        float loss = Losses.SoftmaxCrossEntropy(logits, targets, classes, gradient);
        Assert.Equal(expected, loss, 1e-5f * Math.Max(1f, Math.Abs(expected)));
        Assert.Equal(loss, Losses.SoftmaxCrossEntropy(logits, targets, classes, default), 1e-6f * Math.Max(1f, Math.Abs(loss)));
        for (int i = 0; i < gradient.Length; i++) Assert.True(Math.Abs(gradient[i] - expectedGradient[i]) <= 1e-6 + 1e-5 * Math.Abs(expectedGradient[i]), $"gradient[{i}] = {gradient[i]}, expected {expectedGradient[i]}");
        if (rows > 1) Assert.All(gradient.AsSpan(classes, classes).ToArray(), g => Assert.Equal(0f, g));
    }

    /// <summary>Logits too few for rows × classes are refused even where that product wraps round in 32 bits (2¹⁶ rows of 2¹⁶ + 1 classes).</summary>
    [Fact]
    public void LogitsTooFewForRowsTimesClassesAreRefusedWhereTheProductWrapsRound()
    {
        const int rows = 1 << 16, classes = (1 << 16) + 1; // rows · classes = 2³² + 2¹⁶, 2¹⁶ once wrapped
        var e = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[rows], new int[rows], classes, new float[rows]));
        Assert.Contains($"expected {rows} × {classes}", e.Message);
    }

    [Fact]
    public void ANaNLogitGivesANaNLossEveryTargetIgnoredGivesNaNAndMinusInfinityGivesZero()
    {
        float[] logits = [0.5f, float.NaN, 1f, 2f, 3f, 4f];
        Assert.True(float.IsNaN(Losses.SoftmaxCrossEntropy(logits, [0, 2], 3, new float[6])));
        Assert.True(float.IsNaN(Losses.SoftmaxCrossEntropy(logits, [0, 2], 3, default)));
        Assert.True(float.IsNaN(Losses.SoftmaxCrossEntropy([1f, 2f], [-1], 2, new float[2])), "every target ignored: NaN, as PyTorch");
        // a class at −∞ (or far below the row's maximum) has probability 0 exactly, as PyTorch's underflow gives
        var gradient = new float[3];
        float loss = Losses.SoftmaxCrossEntropy([0f, float.NegativeInfinity, -200f], [0], 3, gradient);
        Assert.Equal(0f, loss);
        Assert.Equal([0f, 0f, 0f], gradient);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(64)]
    [InlineData(1001)]
    public void MeanSquaredErrorMatchesTheReference(int n)
    {
        var rng = new Rng((ulong)n);
        float[] p = Enumerable.Range(0, n).Select(_ => rng.NextNormal() * 3).ToArray(), t = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        double total = 0;
        for (int i = 0; i < n; i++) total += (double)(p[i] - t[i]) * (p[i] - t[i]);
        var gradient = new float[n];
        Assert.Equal((float)(total / n), Losses.MeanSquaredError(p, t, gradient), 1e-6f * (float)(total / n));
        for (int i = 0; i < n; i++) Assert.Equal(2f / n * (p[i] - t[i]), gradient[i]);   // the same float operations on every lane
        Assert.Equal(Losses.MeanSquaredError(p, t, gradient), Losses.MeanSquaredError(p, t, default));
    }

    [Fact]
    public void MeanSquaredErrorOverValidStepsCountsOnlyThem()
    {
        const int batch = 3, steps = 4, width = 21;
        var rng = new Rng(5);
        int n = batch * steps * width;
        float[] p = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray(), t = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        int[] lengths = [4, 1, 2];
        double total = 0;
        long count = 0;
        for (int s = 0; s < steps; s++)
            for (int b = 0; b < batch; b++)
                if (s < lengths[b])
                    for (int j = 0; j < width; j++, count++)
                    {
                        int i = (s * batch + b) * width + j;
                        total += (double)(p[i] - t[i]) * (p[i] - t[i]);
                    }
        var gradient = Enumerable.Repeat(9f, n).ToArray();
        float loss = Losses.MeanSquaredError(p, t, gradient, lengths, batch, steps, width);
        Assert.Equal((float)(total / count), loss, 1e-6f * loss);
        for (int s = 0; s < steps; s++)
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < width; j++)
                {
                    int i = (s * batch + b) * width + j;
                    Assert.Equal(s < lengths[b] ? 2f / count * (p[i] - t[i]) : 0f, gradient[i]);
                }
    }

    [Fact]
    public void TheMaskedMeanSquaredErrorRefusesLengthsAndGradientsThatDoNotFit()
    {
        float[] p = [1, 2, 3, 4], t = [0, 0, 0, 0], g = new float[4];
        // batch 2, steps 2, width 1: a length of 5 divided by too much, −3 flipped the loss's sign
        Assert.Contains("more than the 2 steps", Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(p, t, g, [5, 1], 2, 2, 1)).Message);
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(p, t, g, [-3, 1], 2, 2, 1)).Message);
        Assert.Contains("one length per sequence", Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(p, t, g, [1], 2, 2, 1)).Message);
        Assert.Contains("gradient has 3 values", Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(p, t, new float[3], [2, 2], 2, 2, 1)).Message);
        Assert.Equal(new float[4], g); // nothing written by any refusal
        Assert.Equal(7.5f, Losses.MeanSquaredError(p, t, g, [2, 2], 2, 2, 1));
    }
}
