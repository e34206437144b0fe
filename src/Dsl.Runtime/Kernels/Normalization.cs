using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>
/// Layer normalisation over each row's W features, as <c>nn.LayerNorm(W, eps)</c>: y = (x − μ) / √(σ² + ε) · γ + β,
/// σ² the biased variance. The forward pass keeps each row's μ and 1/√(σ² + ε) for back-propagation.
/// </summary>
public static class LayerNormKernel
{
    /// <summary>Normalises <paramref name="rows"/> rows of x [rows, W] into y, keeping <paramref name="mean"/> and <paramref name="rstd"/> [rows].</summary>
    public static void Forward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> rstd)
    {
        int W = width;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * W, W);
            Span<float> yr = y.Slice(r * W, W);
            float mu = TensorPrimitives.Sum(xr) / W;
            TensorPrimitives.Subtract(xr, mu, yr);
            float variance = TensorPrimitives.Dot(yr, yr) / W;
            float s = 1f / MathF.Sqrt(variance + epsilon);
            mean[r] = mu;
            rstd[r] = s;
            TensorPrimitives.Multiply(yr, s, yr);
            TensorPrimitives.FusedMultiplyAdd(yr, gamma, beta, yr);
        }
    }

    /// <summary>
    /// From dy [rows, W] writes dx (overwritten) and adds to dγ and dβ [W]:
    /// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ and x̂ = (x − μ) · rstd (skipped when
    /// <paramref name="dx"/> is empty). <paramref name="scratch"/> holds 2W values.
    /// </summary>
    public static void Backward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dGamma, Span<float> dBeta, Span<float> scratch)
    {
        int W = width;
        Span<float> xhat = scratch.Slice(0, W), g = scratch.Slice(W, W);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> dyr = dy.Slice(r * W, W);
            TensorPrimitives.Subtract(x.Slice(r * W, W), mean[r], xhat);
            TensorPrimitives.Multiply(xhat, rstd[r], xhat);
            TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dGamma, dGamma);
            TensorPrimitives.Add(dBeta, dyr, dBeta);
            if (dx.IsEmpty) continue;
            TensorPrimitives.Multiply(dyr, gamma, g);
            float meanG = TensorPrimitives.Sum(g) / W, meanGx = TensorPrimitives.Dot(g, xhat) / W;
            Span<float> dxr = dx.Slice(r * W, W);
            TensorPrimitives.Subtract(g, meanG, dxr);
            TensorPrimitives.MultiplyAdd(xhat, -meanGx, dxr, dxr);
            TensorPrimitives.Multiply(dxr, rstd[r], dxr);
        }
    }
}

/// <summary>The sinusoidal position encoding of Vaswani et al. (2017), computed in double precision.</summary>
public static class PositionalEncodingKernel
{
    /// <summary>
    /// Writes pe [steps, width]: pe[t, 2i] = sin(t · e^(−2i · ln(10000) / W)), pe[t, 2i + 1] = cos(the same angle)
    /// (an odd width's last column is a sine).
    /// </summary>
    public static void Fill(Span<float> table, int steps, int width)
    {
        for (int t = 0; t < steps; t++) Row(t, table.Slice(t * width, width));
    }

    /// <summary>The encoding of position <paramref name="position"/>, pe[position], into <paramref name="row"/> [width].</summary>
    public static void Row(int position, Span<float> row)
    {
        ReadOnlySpan<double> frequencies = Frequencies(row.Length);
        for (int j = 0; j < row.Length; j++)
        {
            double angle = position * frequencies[j];
            row[j] = (float)(j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
        }
    }

    /// <summary>Column <paramref name="j"/>'s angle per step, 10000^(−2i/W) for columns 2i and 2i + 1 (an exported step graph's too).</summary>
    public static double Frequency(int j, int width) => Math.Exp(-(j - j % 2) * Math.Log(10000.0) / width);

    // The frequencies of the last few widths asked for (a model has one or two): a decoding step computes its position's
    // row, and the W exponentials and logarithms took as long as its W sines and cosines.
    private static readonly double[]?[] s_frequencies = new double[4][];
    private static int s_nextSlot;

    private static ReadOnlySpan<double> Frequencies(int width)
    {
        foreach (double[]? known in s_frequencies)
        {
            if (known is not null && known.Length == width) return known;
        }
        var computed = new double[width];
        for (int j = 0; j < width; j++) computed[j] = Frequency(j, width);
        // published whole (a reader on another thread sees a filled array or none); two threads may both compute one
        System.Threading.Volatile.Write(ref s_frequencies[(uint)System.Threading.Interlocked.Increment(ref s_nextSlot) % (uint)s_frequencies.Length], computed);
        return computed;
    }

    /// <summary>y[t, b] = x[t, b] + pe[t] for time-major [T, B, W].</summary>
    public static void Add(int steps, int batch, int width, ReadOnlySpan<float> table, ReadOnlySpan<float> x, Span<float> y) =>
        Add(steps, batch, width, 0, table, x, y);

    /// <summary>
    /// y[t, b] = x[t, b] + pe[position + t]: steps that continue a sequence from <paramref name="position"/> (a state
    /// carried from step to step). From position 0 the rows come from <paramref name="table"/> [T, W]; later ones are
    /// computed (W sines and cosines per step), equal to the table's.
    /// </summary>
    public static void Add(int steps, int batch, int width, int position, ReadOnlySpan<float> table, ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> computed = position == 0 ? default : width <= 1024 ? stackalloc float[width] : new float[width];
        for (int t = 0; t < steps; t++)
        {
            if (position != 0) Row(position + t, computed);
            ReadOnlySpan<float> pe = position == 0 ? table.Slice(t * width, width) : computed;
            for (int b = 0; b < batch; b++)
                TensorPrimitives.Add(x.Slice((t * batch + b) * width, width), pe, y.Slice((t * batch + b) * width, width));
        }
    }
}
