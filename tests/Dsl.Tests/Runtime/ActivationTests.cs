using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// An activation's step back (<see cref="Activations.Backward"/>) on the widest vectors with the narrower widths and the
/// scalar lanes on the tail, against the derivatives written one value at a time and against double precision, over
/// lengths that leave a tail for every width (CI runs these again with the wider vectors switched off).
/// </summary>
public class ActivationTests
{
    public static TheoryData<Activation, int> KindsAndLengths()
    {
        var data = new TheoryData<Activation, int>();
        foreach (Activation kind in new[] { Activation.None, Activation.Tanh, Activation.Sigmoid, Activation.Relu })
            foreach (int n in new[] { 0, 1, 3, 7, 16, 31, 64, 1029 })
                data.Add(kind, n);
        return data;
    }

    /// <summary>Outputs an activation can produce (zeros of both signs among them for the ReLU), and incoming gradients.</summary>
    private static (float[] Y, float[] Dy) Values(Activation kind, int n)
    {
        var rng = new Random(n * 7 + (int)kind);
        var y = new float[n];
        var dy = new float[n];
        for (int i = 0; i < n; i++)
        {
            float x = (float)(rng.NextDouble() * 8 - 4);
            y[i] = kind switch
            {
                Activation.Tanh => MathF.Tanh(x),
                Activation.Sigmoid => 1f / (1f + MathF.Exp(-x)),
                Activation.Relu => i % 5 == 0 ? (i % 10 == 0 ? 0f : -0f) : MathF.Max(x, 0f),
                _ => x,
            };
            dy[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return (y, dy);
    }

    [Theory]
    [MemberData(nameof(KindsAndLengths))]
    public void BackwardGivesTheScalarDerivativesBitsOnEveryWidth(Activation kind, int n)
    {
        var (y, dy) = Values(kind, n);
        float[] fast = (float[])dy.Clone(), reference = (float[])dy.Clone();
        Activations.Backward(kind, y, fast);
        Activations.BackwardReference(kind, y, reference);
        Assert.Equal(reference, fast);
        for (int i = 0; i < n; i++)
        {
            double yi = y[i], expected = kind switch
            {
                Activation.Tanh => dy[i] * (1 - yi * yi),
                Activation.Sigmoid => dy[i] * yi * (1 - yi),
                Activation.Relu => yi <= 0 ? 0 : dy[i],
                _ => dy[i],
            };
            Assert.True(Math.Abs(fast[i] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"{kind} at {i}: y {y[i]}, dy {dy[i]}: got {fast[i]}, expected {expected}");
        }
    }

    public static TheoryData<Activation, int> FromInputKindsAndLengths()
    {
        var data = new TheoryData<Activation, int>();
        foreach (Activation kind in new[] { Activation.Gelu, Activation.GeluTanh, Activation.Silu })
            foreach (int n in new[] { 1, 7, 31, 1029 })
                data.Add(kind, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(FromInputKindsAndLengths))]
    public void ActivationsThatStepBackFromTheirInputMatchDoublePrecisionOnEveryWidth(Activation kind, int n)
    {
        // x over [−9, 9] with both zeros, tiny and large values at the front (every vector width meets some of them in the
        // narrowed reruns); the lower tails are tiny, so each value is checked relative to itself (or to its terms)
        var rng = new Random(n + 100 * (int)kind);
        float[] special = [0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 0.5f, -0.5f, 3f, -3f, 6f, -6f, 100f, -100f, 1e30f, -1e30f];
        float[] x = Enumerable.Range(0, n).Select(i => i < special.Length ? special[i] : (float)(rng.NextDouble() * 18 - 9)).ToArray();
        float[] dy = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] y = new float[n], dx = (float[])dy.Clone();
        Activations.Apply(kind, x, y);
        Activations.BackwardFromInput(kind, x, dx);
        for (int i = 0; i < n; i++)
        {
            var (value, valueScale, slope, slopeScale) = Reference(kind, x[i]);
            Assert.True(Math.Abs(y[i] - value) <= valueScale + 1e-37, $"{kind}({x[i]}): got {y[i]}, expected {value}");
            Assert.True(Math.Abs(dx[i] - dy[i] * slope) <= Math.Abs(dy[i]) * slopeScale + 1e-37, $"{kind}'({x[i]}) · {dy[i]}: got {dx[i]}, expected {dy[i] * slope}");
        }
        // in place (Apply(kind, span)) as into another span
        float[] inPlace = (float[])x.Clone();
        Activations.Apply(kind, inPlace);
        Assert.Equal(y, inPlace);
        // the output does not determine the derivative: the step back from the output is refused
        Assert.Throws<ArgumentException>(() => Activations.Backward(kind, y, dx));
        Assert.True(Activations.FromInput(kind));
        Assert.False(Activations.FromInput(Activation.Tanh));
    }

    /// <summary>
    /// The activation and its slope at x in double, each with the error allowed: 1e-6 relative to the value (to the slope's
    /// terms, which cancel where it crosses 0), widened where float itself cannot do better — GELU's lower tail by the rounding
    /// of e^(−x²/2)'s argument (≈ x²/2 ulps; there PyTorch's float GELU, 0.5 x (1 + erf(x / √2)), gives 0), the tanh form's
    /// by 1 + tanh u rounding near −1 (an ulp of 1, times x; as PyTorch's does).
    /// </summary>
    private static (double Value, double ValueError, double Slope, double SlopeError) Reference(Activation kind, double x)
    {
        switch (kind)
        {
            case Activation.Gelu:
            {
                double cdf = NormalCdf(x), density = Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI), widen = Math.Max(1, x * x / 2);
                return (x * cdf, 1e-6 * widen * Math.Abs(x * cdf), cdf + x * density, 1e-6 * widen * (cdf + Math.Abs(x) * density));
            }
            case Activation.GeluTanh:
            {
                double c = Math.Sqrt(2 / Math.PI), t = Math.Tanh(c * (x + 0.044715 * x * x * x)), du = c * (1 + 3 * 0.044715 * x * x);
                double a = (1 + t) / 2, b = x * (1 - t * t) * du / 2;
                return (x * a, 1e-6 * Math.Abs(x * a) + 2e-7 * Math.Abs(x), a + b, 1e-6 * (a + Math.Abs(b)) + 2e-7 * (1 + Math.Abs(x) * du));
            }
            default:
            {
                double s = 1 / (1 + Math.Exp(-x));
                return (x * s, 1e-6 * Math.Abs(x * s), s * (1 + x * (1 - s)), 1e-6 * s * (1 + Math.Abs(x) * (1 - s)));
            }
        }
    }

    /// <summary>Φ(x) in double: erfc by its series below 2 and Lentz's continued fraction above.</summary>
    private static double NormalCdf(double x)
    {
        double z = Math.Abs(x) / Math.Sqrt(2);
        double erfc;
        if (z < 2)
        {
            double sum = 0, term = z;
            for (int k = 0; k < 60; k++)
            {
                sum += term / (2 * k + 1);
                term *= -z * z / (k + 1);
            }
            erfc = 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double fraction = z;
            for (int k = 80; k >= 1; k--) fraction = z + k / 2.0 / fraction;
            erfc = Math.Exp(-z * z) / (Math.Sqrt(Math.PI) * fraction);
        }
        return x > 0 ? 1 - erfc / 2 : erfc / 2;
    }

    [Fact]
    public void ReluBackwardStopsTheGradientAtZeroAndBelow()
    {
        // a NaN output passes its gradient on, as PyTorch's threshold_backward (and the device kernel) do; 17 values: every width
        float[] y = [-1f, -0f, 0f, 1e-30f, 2f, float.NegativeInfinity, float.PositiveInfinity, -3f, 0.5f, float.NaN, -2f, 3f, 0f, float.NaN, 1f, -1f, float.NaN];
        float[] dy = [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f, 16f, 17f];
        Activations.Backward(Activation.Relu, y, dy);
        Assert.Equal(new[] { 0f, 0f, 0f, 4f, 5f, 0f, 7f, 0f, 9f, 10f, 0f, 12f, 0f, 14f, 15f, 0f, 17f }, dy);
    }

    [Fact]
    public void ReluOfOneValueKeepsNaNAsTheSpanFormDoes()
    {
        // torch.relu(nan) is nan; the one-value form had made it 0 where the span form and the step back keep it
        Assert.True(float.IsNaN(Activations.Relu(float.NaN)));
        float[] span = [float.NaN, -1f, 2f];
        Activations.Apply(Activation.Relu, span);
        Assert.True(float.IsNaN(span[0]));
        Assert.Equal(0f, Activations.Relu(-1f));
        Assert.Equal(2f, Activations.Relu(2f));
    }

    [Fact]
    public void LayerNormOfRowsWhoseSumOverflowsIsFiniteAsTorchsIs()
    {
        // Σx of 1e38 × 20 overflows a float; torch's running mean gives μ = 1e38, σ² = 0 and y = β. A row with ∞ stays NaN.
        const int width = 20;
        float[] x = [.. Enumerable.Repeat(1e38f, width), .. Enumerable.Range(0, width).Select(j => j % 2 == 0 ? 3e38f : -1e38f),
            .. Enumerable.Repeat(1f, width - 1), float.PositiveInfinity];
        float[] gamma = Enumerable.Repeat(2f, width).ToArray(), beta = Enumerable.Range(0, width).Select(j => 0.25f * j).ToArray();
        float[] y = new float[3 * width], mean = new float[3], rstd = new float[3];
        LayerNormKernel.Forward(3, width, x, gamma, beta, 1e-5f, y, mean, rstd);
        Assert.Equal(1e38f, mean[0]);
        Assert.Equal(beta, y[..width]);
        Assert.InRange(mean[1], 0.99e38f, 1.01e38f);
        Assert.Equal(beta, y[width..(2 * width)]); // σ² overflows: rstd 0, y = β, as in torch
        Assert.True(float.IsPositiveInfinity(mean[2]));
        Assert.All(y[(2 * width)..], v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(1029)]
    public void SoftCapsMatchDoublePrecisionOnEveryWidth(int n)
    {
        // y = c tanh(x / c) and its slope 1 − (y / c)², on every lane width (the narrowed reruns) and the scalar tail
        const float cap = 2.5f;
        var rng = new Random(n);
        float[] special = [0f, -0f, 1e-30f, 1e30f, -1e30f, 2.5f, -2.5f, 40f, -40f];
        float[] x = Enumerable.Range(0, n).Select(i => i < special.Length ? special[i] : (float)(rng.NextDouble() * 20 - 10)).ToArray();
        float[] dy = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] y = (float[])x.Clone(), dx = (float[])dy.Clone();
        Activations.SoftCap(cap, y);
        Activations.SoftCapBackward(cap, y, dx);
        for (int i = 0; i < n; i++)
        {
            double t = Math.Tanh(x[i] / (double)cap);
            Assert.True(Math.Abs(y[i] - cap * t) <= 1e-6 * cap, $"SoftCap({x[i]}): got {y[i]}, expected {cap * t}");
            Assert.InRange(y[i], -cap, cap);
            Assert.True(Math.Abs(dx[i] - dy[i] * (1 - t * t)) <= 1e-6, $"SoftCap'({x[i]}) · {dy[i]}: got {dx[i]}, expected {dy[i] * (1 - t * t)}");
        }
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity, 1e-39f })
            Assert.Throws<ArgumentOutOfRangeException>(() => Activations.SoftCap(bad, y));
        Assert.Contains("y has 3 values, dy 4", Assert.Throws<ArgumentException>(() => Activations.SoftCapBackward(cap, new float[3], new float[4])).Message);
    }

    [Fact]
    public void BackwardRefusesBuffersOfDifferentLengths()
    {
        var error = Assert.Throws<ArgumentException>(() => Activations.Backward(Activation.Relu, new float[4], new float[5]));
        Assert.Contains("y has 4 values, dy 5", error.Message);
    }
}
