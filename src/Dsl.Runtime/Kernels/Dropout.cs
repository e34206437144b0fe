using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>Inverted dropout: values are zeroed with probability p and the survivors scaled by 1 / (1 − p).</summary>
public static class DropoutKernel
{
    /// <summary>Draws a mask (0 or 1 / (1 − p)) into <paramref name="mask"/> and writes y = x ⊙ mask.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> mask, Span<float> y, float p, Rng rng)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1)");
        if (mask.Length != x.Length || y.Length != x.Length) throw new ArgumentException($"Dropout: x has {x.Length} values, mask {mask.Length}, y {y.Length}.");
        Mask(mask, p, rng);
        TensorPrimitives.Multiply(x, mask, y);
    }

    /// <summary>Draws a mask of 0 or 1 / (1 − p) into <paramref name="mask"/> (variational dropout keeps it for a whole sequence).</summary>
    public static void Mask(Span<float> mask, float p, Rng rng)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1)");
        // the uniform draws first (the generator's state in registers), then each compared with p in vectors: the same
        // mask, value for value, as a draw and a branch per value, which mispredicted on about p of them
        rng.NextFloats(mask);
        Threshold(mask, p, 1f / (1f - p));
    }

    /// <summary>u ← u &lt; p ? 0 : keep, value by value.</summary>
    private static void Threshold(Span<float> u, float p, float keep)
    {
        ref float start = ref MemoryMarshal.GetReference(u);
        int i = 0, n = u.Length;
        if (Vector512.IsHardwareAccelerated)
            for (Vector512<float> pv = Vector512.Create(p), kv = Vector512.Create(keep); i <= n - 16; i += 16)
                Vector512.ConditionalSelect(Vector512.LessThan(Vector512.LoadUnsafe(ref start, (nuint)i), pv), Vector512<float>.Zero, kv).StoreUnsafe(ref start, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (Vector256<float> pv = Vector256.Create(p), kv = Vector256.Create(keep); i <= n - 8; i += 8)
                Vector256.ConditionalSelect(Vector256.LessThan(Vector256.LoadUnsafe(ref start, (nuint)i), pv), Vector256<float>.Zero, kv).StoreUnsafe(ref start, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (Vector128<float> pv = Vector128.Create(p), kv = Vector128.Create(keep); i <= n - 4; i += 4)
                Vector128.ConditionalSelect(Vector128.LessThan(Vector128.LoadUnsafe(ref start, (nuint)i), pv), Vector128<float>.Zero, kv).StoreUnsafe(ref start, (nuint)i);
        for (; i < n; i++) u[i] = u[i] < p ? 0f : keep;
    }
}
