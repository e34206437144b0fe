using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>Inverted dropout: values are zeroed with probability p and the survivors scaled by 1 / (1 − p).</summary>
public static class DropoutKernel
{
    /// <summary>Draws a mask (0 or 1 / (1 − p)) into <paramref name="mask"/> and writes y = x ⊙ mask.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> mask, Span<float> y, float p, Rng rng)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1)");
        if (mask.Length != x.Length || y.Length != x.Length) throw new ArgumentException($"Dropout: x has {x.Length} values, mask {mask.Length}, y {y.Length}.");
        float keep = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() < p ? 0f : keep;
        TensorPrimitives.Multiply(x, mask, y);
    }

    /// <summary>Draws a mask of 0 or 1 / (1 − p) into <paramref name="mask"/> (variational dropout keeps it for a whole sequence).</summary>
    public static void Mask(Span<float> mask, float p, Rng rng)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1)");
        float keep = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() < p ? 0f : keep;
    }
}
