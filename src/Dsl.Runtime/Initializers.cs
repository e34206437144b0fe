using System;

namespace Dsl;

/// <summary>
/// Weight initialisers. Each fills a row-major [rows, cols] matrix (or a vector, rows = 1);
/// <c>fanIn</c> and <c>fanOut</c> are passed explicitly because a gate-stacked matrix
/// ([4H, X] for an LSTM) is one Keras kernel [X, 4H] with fan-in X and fan-out 4H.
/// </summary>
public static class Initializers
{
    /// <summary>
    /// Fills <paramref name="w"/> by <paramref name="kind"/>. <paramref name="blockRows"/> splits the
    /// matrix into blocks of rows for <see cref="Init.Orthogonal"/> (one orthogonal block per gate).
    /// <see cref="Init.PyTorch"/> draws U(−bound, bound) with <paramref name="bound"/>.
    /// </summary>
    public static void Apply(Init kind, Span<float> w, int rows, int cols, int fanIn, int fanOut, int blockRows, float bound, Rng rng)
    {
        RequireShape(w, rows, cols, rng);
        // the bounds divide by the fans: one of 0 or less would fill the weights with ±∞ or NaN
        bool usesFanIn = kind is Init.XavierUniform or Init.XavierNormal or Init.HeUniform or Init.HeNormal;
        if (usesFanIn && fanIn <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, $"Initialiser {kind}: the fan-in must be positive.");
        if (kind is Init.XavierUniform or Init.XavierNormal && fanOut <= 0) throw new ArgumentOutOfRangeException(nameof(fanOut), fanOut, $"Initialiser {kind}: the fan-out must be positive.");
        if (kind == Init.Orthogonal && blockRows <= 0) throw new ArgumentOutOfRangeException(nameof(blockRows), blockRows, "Initialiser Orthogonal: the rows of a block must be positive (one block per gate: the hidden size).");
        if (kind == Init.PyTorch && !(bound >= 0 && float.IsFinite(bound))) throw new ArgumentOutOfRangeException(nameof(bound), bound, "Initialiser PyTorch: the bound must be a finite value of 0 or more.");
        switch (kind)
        {
            case Init.Zeros:
                w.Clear();
                break;
            case Init.XavierUniform:
                Uniform(w, MathF.Sqrt(6f / (fanIn + fanOut)), rng);
                break;
            case Init.XavierNormal:
                Normal(w, MathF.Sqrt(2f / (fanIn + fanOut)), rng);
                break;
            case Init.HeUniform:
                Uniform(w, MathF.Sqrt(6f / fanIn), rng);
                break;
            case Init.HeNormal:
                Normal(w, MathF.Sqrt(2f / fanIn), rng);
                break;
            case Init.Orthogonal:
                for (int r = 0; r < rows; r += blockRows)
                    Orthogonal(w.Slice(r * cols, Math.Min(blockRows, rows - r) * cols), Math.Min(blockRows, rows - r), cols, rng);
                break;
            case Init.PyTorch:
                Uniform(w, bound, rng);
                break;
            case Init.Normal:
                Normal(w, 1f, rng);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Init.Default must be resolved to a concrete initialiser by the layer.");
        }
    }

    /// <summary>A generator, and <paramref name="w"/> holding exactly <paramref name="rows"/> × <paramref name="cols"/> values (each 0 or more).</summary>
    private static void RequireShape(Span<float> w, int rows, int cols, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols), $"Initialiser: a shape of {rows} × {cols}; rows and columns are 0 or more.");
        if (w.Length != (long)rows * cols) throw new ArgumentException($"Initialiser: expected {rows} × {cols} = {(long)rows * cols} values, got {w.Length}.", nameof(w));
    }

    /// <summary>U(−bound, bound).</summary>
    public static void Uniform(Span<float> w, float bound, Rng rng)
    {
        for (int i = 0; i < w.Length; i++) w[i] = (2f * rng.NextFloat() - 1f) * bound;
    }

    /// <summary>N(0, std²).</summary>
    public static void Normal(Span<float> w, float std, Rng rng)
    {
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextNormal() * std;
    }

    /// <summary>
    /// A random [rows, cols] matrix with orthonormal rows (rows ≤ cols) or columns (rows &gt; cols):
    /// a Gaussian matrix orthonormalised by modified Gram–Schmidt, with the sign convention of a QR
    /// decomposition whose R has a positive diagonal (Saxe et al. 2014; Keras and PyTorch likewise).
    /// </summary>
    public static void Orthogonal(Span<float> w, int rows, int cols, Rng rng)
    {
        RequireShape(w, rows, cols, rng); // before anything is written: a short buffer had been half filled, then overrun
        bool transpose = rows > cols;
        int n = transpose ? cols : rows;   // vectors to orthonormalise
        int m = transpose ? rows : cols;   // their length (n <= m)
        var q = new double[n * m];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextNormal();
        for (int i = 0; i < n; i++)
        {
            Span<double> vi = q.AsSpan(i * m, m);
            for (int j = 0; j < i; j++)
            {
                Span<double> vj = q.AsSpan(j * m, m);
                double dot = 0;
                for (int k = 0; k < m; k++) dot += vi[k] * vj[k];
                for (int k = 0; k < m; k++) vi[k] -= dot * vj[k];
            }
            double norm = 0;
            for (int k = 0; k < m; k++) norm += vi[k] * vi[k];
            norm = Math.Sqrt(norm);
            if (norm < 1e-12) throw new InvalidOperationException("Orthogonal initialisation met a degenerate random matrix.");
            for (int k = 0; k < m; k++) vi[k] /= norm;
        }
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) w[r * cols + c] = (float)(transpose ? q[c * m + r] : q[r * m + c]);
        }
    }
}
