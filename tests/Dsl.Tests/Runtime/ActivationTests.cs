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

    [Fact]
    public void BackwardRefusesBuffersOfDifferentLengths()
    {
        var error = Assert.Throws<ArgumentException>(() => Activations.Backward(Activation.Relu, new float[4], new float[5]));
        Assert.Contains("y has 4 values, dy 5", error.Message);
    }
}
