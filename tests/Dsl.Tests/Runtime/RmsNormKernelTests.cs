using Dsl.Kernels;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="RmsNormKernel"/> against the formula in double, at widths around every vector length (the lanes and their
/// tails on each path CI narrows the JIT to), in place, and on bad buffers.
/// </summary>
public class RmsNormKernelTests
{
    public static TheoryData<int> Widths => new() { 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 67 };

    [Theory]
    [MemberData(nameof(Widths))]
    public void ForwardAndBackwardMatchTheFormulaInDouble(int width)
    {
        const int rows = 5;
        const float epsilon = 1e-5f;
        var rng = new Rng((ulong)width);
        float[] x = Values(rng, rows * width), gamma = Values(rng, width), dy = Values(rng, rows * width);
        x[2 * width + width / 2] *= 40f; // one large value: a row far from unit scale
        Array.Clear(x, 3 * width, width); // a row of zeros: y = 0, rstd = 1/√ε
        float[] y = new float[rows * width], rstd = new float[rows], dx = new float[rows * width], dGamma = new float[width];
        Array.Fill(dGamma, 0.5f); // added to, as a gradient accumulates
        RmsNormKernel.Forward(rows, width, x, gamma, epsilon, y, rstd);
        RmsNormKernel.Backward(rows, width, x, gamma, rstd, dy, dx, dGamma);

        var expectedDGamma = new double[width];
        Array.Fill(expectedDGamma, 0.5);
        for (int r = 0; r < rows; r++)
        {
            // y = x·s·γ, s = (Σx²/W + ε)^(−½); dx = s·(g − x̂·Σ(g·x̂)/W), g = dy·γ, x̂ = x·s; dγ += dy·x̂
            double squares = 0, gx = 0;
            for (int j = 0; j < width; j++) squares += (double)x[r * width + j] * x[r * width + j];
            double s = 1 / Math.Sqrt(squares / width + epsilon);
            Assert.Equal(s, rstd[r], s * 1e-5);
            for (int j = 0; j < width; j++) gx += (double)dy[r * width + j] * gamma[j] * x[r * width + j] * s;
            for (int j = 0; j < width; j++)
            {
                int at = r * width + j;
                double xhat = x[at] * s, g = (double)dy[at] * gamma[j];
                Assert.Equal(xhat * gamma[j], y[at], 1e-5 * (1 + Math.Abs(xhat * gamma[j])));
                double expectedDx = s * (g - xhat * gx / width);
                Assert.Equal(expectedDx, dx[at], 1e-4 * s * (1 + Math.Abs(g)));
                expectedDGamma[j] += dy[at] * xhat;
            }
        }
        for (int j = 0; j < width; j++) Assert.Equal(expectedDGamma[j], dGamma[j], 1e-4 * (1 + Math.Abs(expectedDGamma[j])));
        Assert.All(y.AsSpan(3 * width, width).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(1 / Math.Sqrt(epsilon), rstd[3], 1e-2);
    }

    [Fact]
    public void BackwardInPlaceGivesWhatSeparateBuffersGive()
    {
        // dx written over dy: every part reads dy for its columns of dγ, so the step back stays on one thread
        const int rows = 1024, width = 96;
        var rng = new Rng(16);
        float[] x = Values(rng, rows * width), dy = Values(rng, rows * width), gamma = Values(rng, width);
        float[] y = new float[rows * width], rstd = new float[rows];
        RmsNormKernel.Forward(rows, width, x, gamma, 1e-6f, y, rstd);
        float[] dx = new float[rows * width], dGamma = new float[width];
        RmsNormKernel.Backward(rows, width, x, gamma, rstd, dy, dx, dGamma);
        float[] inPlace = (float[])dy.Clone(), dGamma2 = new float[width];
        RmsNormKernel.Backward(rows, width, x, gamma, rstd, inPlace, inPlace, dGamma2);
        Assert.Equal(dx, inPlace);
        Assert.Equal(dGamma, dGamma2);
    }

    [Fact]
    public void ShortBuffersAreRefusedNamingTheBufferAndTheSizes()
    {
        var error = Assert.Throws<ArgumentException>(() => RmsNormKernel.Forward(3, 4, new float[12], new float[4], 1e-6f, new float[12], new float[2]));
        Assert.Equal("RmsNorm: rstd needs at least 3 values (3 × 1), got 2. (Parameter 'rstd')", error.Message);
        error = Assert.Throws<ArgumentException>(() => RmsNormKernel.Backward(3, 4, new float[12], new float[4], new float[3], new float[11], new float[12], new float[4]));
        Assert.Equal("RmsNorm: dy needs at least 12 values (3 × 4), got 11. (Parameter 'dy')", error.Message);
    }

    [Fact]
    public void TheDefaultEpsilonIsNnRmsNormsAndEachLayerKeepsItsOwn()
    {
        // nn.RMSNorm(eps=None) takes torch.finfo(torch.float32).eps
        RmsNormInfo[] norms = RmsNormBlock.Architecture.Layers.OfType<RmsNormInfo>().ToArray();
        Assert.Equal([1.1920929e-7f, 1e-5f, 1e-6f], norms.Select(n => n.Epsilon));
        Assert.Equal(["rmsnorm", "rmsnorm_1", "rmsnorm_2"], norms.Select(n => n.Name));
        Assert.Equal(["rmsnorm.weight", "rmsnorm_1.weight", "rmsnorm_2.weight"], new RmsNormBlock(seed: 1).Parameters.Select(p => p.Name).Where(n => n.StartsWith("rmsnorm")));
        Assert.All(new RmsNormBlock(seed: 1).Parameters["rmsnorm.weight"].AsSpan().ToArray(), w => Assert.Equal(1f, w));
    }

    [Fact]
    public void NormsWithoutTheirAffineMapsLearnNothingAndSaySo()
    {
        // NormsWithoutAffine: a layer norm and an RMS norm without their affine maps, then a layer norm again: no parameters of theirs
        LayerInfo[] layers = [.. NormsWithoutAffine.Architecture.Layers.Where(l => l is LayerNormInfo or RmsNormInfo)];
        Assert.Equal(3, layers.Length);
        Assert.All(layers.OfType<LayerNormInfo>(), n => Assert.False(n.ElementwiseAffine || n.Bias));
        Assert.All(layers.OfType<RmsNormInfo>(), n => Assert.False(n.ElementwiseAffine));
        Assert.DoesNotContain(new NormsWithoutAffine(seed: 1).Parameters, p => p.Name.StartsWith("layernorm", StringComparison.Ordinal) || p.Name.StartsWith("rmsnorm", StringComparison.Ordinal));
        // a shift given beside no affine map is none, however the record was made, and compares so
        var plain = new LayerNormInfo("n", 4, true, 1e-5f, Bias: false, ElementwiseAffine: false);
        var given = new LayerNormInfo("n", 4, true, 1e-5f, Bias: true, ElementwiseAffine: false);
        var copied = new LayerNormInfo("n", 4, true, 1e-5f) with { ElementwiseAffine = false };
        Assert.False(given.Bias);
        Assert.False(copied.Bias);
        Assert.Equal(plain, given);
        Assert.Equal(plain, copied);
        Assert.Equal(plain.GetHashCode(), copied.GetHashCode());
        Assert.NotEqual(plain, plain with { Epsilon = 1e-6f });
        Assert.NotEqual(new LayerNormInfo("n", 4, true, 1e-5f), new LayerNormInfo("n", 4, true, 1e-5f, Bias: false));
    }

    private static float[] Values(Rng rng, int count) => Enumerable.Range(0, count).Select(_ => rng.NextNormal()).ToArray();
}
