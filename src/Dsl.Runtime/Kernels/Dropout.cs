using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

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
        var kernel = new ThresholdKernel { U = ref MemoryMarshal.GetReference(u), Length = u.Length, P = p, Keep = keep };
        LaneLoop.Run(ref kernel);
    }

    private ref struct ThresholdKernel : ILaneKernel
    {
        public ref float U;
        public int Length;
        public float P, Keep;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float u = ref U;
            T p = T.Create(P), zero = T.Create(0f), keep = T.Create(Keep);
            // p − u > 0 exactly when u < p: the difference of two distinct floats is never 0 (subnormals), and its sign is exact
            for (; j <= Length - T.Count; j += T.Count) T.Store(T.SelectPositive(p - T.Load(ref u, j), zero, keep), ref u, j);
            return j;
        }
    }
}
