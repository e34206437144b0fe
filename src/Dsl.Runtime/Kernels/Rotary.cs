using System;
using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

/// <summary>
/// Rotary position embedding (RoPE; Su et al. 2021, RoFormer) as LLaMA's Hugging Face form and GPT-NeoX apply it to the
/// queries and keys of multi-head self-attention: in each head of d values, the pair (j, j + d/2), j &lt; d/2, is turned by
/// the angle p · θ_j, p the step's position and θ_j = base^(−2j/d), so that a query's score against a key depends on
/// their distance. The angles are computed in double and their cosines and sines rounded to float.
/// </summary>
public static class RotaryKernel
{
    /// <summary>The angle per position of the pair (j, j + d/2) in a head of <paramref name="headWidth"/> values: base^(−2j/d).</summary>
    public static double Frequency(int j, int headWidth, float theta) => Math.Pow(theta, -2.0 * j / headWidth);

    /// <summary>
    /// Rotates, in place, the queries and keys of nn.MultiheadAttention's packed projections <paramref name="qkv"/>, time-major
    /// [steps, batch, 3 · width] (queries in columns [0, width), keys in [width, 2 · width), values left alone): step t's by
    /// position <paramref name="position"/> + t. <paramref name="inverse"/>: by the opposite angles, the step back (a rotation's
    /// transpose is its inverse), applied to the gradients of the rotated queries and keys.
    /// </summary>
    public static unsafe void Apply(int steps, int batch, int width, int heads, int position, float theta, Span<float> qkv, bool inverse)
    {
        if (steps < 0 || batch < 0 || width < 0 || heads <= 0 || position < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Rotary: steps {steps}, batch {batch}, width {width} and position {position} are 0 or more, heads {heads} 1 or more.");
        if (width % heads != 0 || width / heads % 2 != 0)
            throw new ArgumentException($"Rotary: a head's width must be even, got width {width} over {heads} head(s).", nameof(width));
        long length = (long)steps * batch * 3 * width;
        if (qkv.Length < length) throw new ArgumentException($"Rotary: qkv needs at least {length} values ({steps} × {batch} × {3 * width}), got {qkv.Length}.", nameof(qkv));
        if (length == 0) return;
        fixed (float* p = qkv)
        {
            var a = new Args { Steps = steps, Batch = batch, Width = width, Heads = heads, Position = position, Theta = theta, Sign = inverse ? -1f : 1f, Qkv = p };
            GemmWorkers.Run(&Part, &a, GemmWorkers.Parts(steps, length, 1L << 15));
        }
    }

    private static unsafe void Part(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int d = a.Width / a.Heads, half = d / 2;
        Span<float> table = GemmWorkers.Scratch(2 * half);
        fixed (float* cos = table, sin = table.Slice(half))
        {
            var (first, end) = GemmWorkers.Range(a.Steps, part, parts);
            for (int t = first; t < end; t++)
            {
                Angles(a.Position + t, d, a.Theta, a.Sign, cos, sin);
                for (int b = 0; b < a.Batch; b++)
                {
                    float* row = a.Qkv + ((long)t * a.Batch + b) * 3 * a.Width;
                    for (int h = 0; h < 2 * a.Heads; h++) // the queries' heads, then the keys'
                    {
                        var turn = new TurnKernel { X = row + h * d, Y = row + h * d + half, Cos = cos, Sin = sin, Length = half };
                        LaneLoop.Run(ref turn);
                    }
                }
            }
        }
    }

    /// <summary>cos and sign · sin of <paramref name="position"/> · θ_j for the d/2 pairs of a head of <paramref name="headWidth"/>.</summary>
    private static unsafe void Angles(int position, int headWidth, float theta, float sign, float* cos, float* sin)
    {
        for (int j = 0; j < headWidth / 2; j++)
        {
            double angle = position * Frequency(j, headWidth, theta);
            cos[j] = (float)Math.Cos(angle);
            sin[j] = sign * (float)Math.Sin(angle);
        }
    }

    /// <summary>
    /// The cosines and sines (negated when <paramref name="inverse"/>) of positions <paramref name="position"/> … + steps − 1, [steps, d/2]
    /// each: what the device's kernel reads.
    /// </summary>
    public static unsafe void Table(int steps, int position, int headWidth, float theta, bool inverse, Span<float> cos, Span<float> sin)
    {
        int half = headWidth / 2;
        if (cos.Length < (long)steps * half || sin.Length < (long)steps * half)
            throw new ArgumentException($"Rotary: the table needs {(long)steps * half} values per part, got {cos.Length} and {sin.Length}.", nameof(cos));
        fixed (float* c = cos, s = sin)
        {
            for (int t = 0; t < steps; t++) Angles(position + t, headWidth, theta, inverse ? -1f : 1f, c + (long)t * half, s + (long)t * half);
        }
    }

    /// <summary>(x, y) ← (x · cos − y · sin, y · cos + x · sin), lane by lane, with no fused multiply-add (every path gives the same bits).</summary>
    private unsafe struct TurnKernel : ILaneKernel
    {
        public float* X, Y, Cos, Sin;
        public int Length;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            for (; j <= Length - T.Count; j += T.Count)
            {
                T x = T.Load(ref X[j], 0), y = T.Load(ref Y[j], 0), c = T.Load(ref Cos[j], 0), s = T.Load(ref Sin[j], 0);
                T.Store(x * c - y * s, ref X[j], 0);
                T.Store(y * c + x * s, ref Y[j], 0);
            }
            return j;
        }
    }

    private unsafe struct Args
    {
        public int Steps, Batch, Width, Heads, Position;
        public float Theta, Sign;
        public float* Qkv;
    }
}
