using System;
using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

/// <summary>
/// Rotary position embedding (RoPE; Su et al. 2021, RoFormer) as LLaMA's Hugging Face form and GPT-NeoX apply it to the
/// queries and keys of multi-head self-attention: in each head of d values, the pair (j, j + d/2), j &lt; d/2, is turned by
/// the angle p · θ_j, p the step's position and θ_j = base^(−2j/d), so that a query's score against a key depends on
/// their distance. The angles are computed in double and their cosines and sines rounded to float; a workspace keeps those
/// of positions 0 … T − 1 in a table (<see cref="Fill(Span{float}, int, int, float)"/>), and a pass from a later position computes its own.
/// </summary>
public static class RotaryKernel
{
    /// <summary>The angle per position of the pair (j, j + d/2) in a head of <paramref name="headWidth"/> values: base^(−2j/d).</summary>
    public static double Frequency(int j, int headWidth, float theta) => Math.Pow(theta, -2.0 * j / headWidth);

    /// <summary>As above, then scaled (<paramref name="scaling"/>; none when its factor is 0).</summary>
    public static double Frequency(int j, int headWidth, float theta, RotaryScaling scaling) => scaling.Scale(j, headWidth, theta, Frequency(j, headWidth, theta));

    /// <summary>
    /// Writes the table of positions 0 … <paramref name="steps"/> − 1, [steps, d]: row t holds the d/2 cosines of t · θ_j,
    /// then their sines.
    /// </summary>
    public static void Fill(Span<float> table, int steps, int headWidth, float theta) => Fill(table, steps, headWidth, theta, default);

    /// <summary>As above with the frequencies scaled (<paramref name="scaling"/>).</summary>
    public static void Fill(Span<float> table, int steps, int headWidth, float theta, RotaryScaling scaling)
    {
        if (steps < 0 || headWidth <= 0 || headWidth % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headWidth), $"Rotary: steps {steps} must be 0 or more and a head's width even, got {headWidth}.");
        Table(steps, 0, headWidth, theta, scaling, table);
    }

    /// <summary>
    /// Rotates, in place, the queries and keys of nn.MultiheadAttention's packed projections <paramref name="qkv"/>, time-major
    /// [steps, batch, 3 · width] (queries in columns [0, width), keys in [width, 2 · width), values left alone): step t's by
    /// position <paramref name="position"/> + t, read from <paramref name="table"/> (<see cref="Fill(Span{float}, int, int, float)"/>) from position 0, computed
    /// otherwise (or when the table is empty). <paramref name="inverse"/>: by the opposite angles, the step back (the transpose of
    /// the rotation, YaRN's factor on its cosines and sines included), applied to the gradients of the rotated queries and keys.
    /// </summary>
    public static void Apply(int steps, int batch, int width, int heads, int position, float theta, ReadOnlySpan<float> table, Span<float> qkv, bool inverse) =>
        Apply(steps, batch, width, heads, heads, position, theta, table, qkv, inverse);

    /// <summary>
    /// As above for grouped-query attention: <paramref name="qkv"/> [steps, batch, E + 2 · E_kv], the queries' <paramref name="heads"/>
    /// heads in columns [0, E), the keys' <paramref name="keyValueHeads"/> heads in [E, E + E_kv), all turned alike.
    /// </summary>
    public static void Apply(int steps, int batch, int width, int heads, int keyValueHeads, int position, float theta, ReadOnlySpan<float> table,
        Span<float> qkv, bool inverse) =>
        Apply(steps, batch, width, heads, keyValueHeads, position, theta, default, table, qkv, inverse);

    /// <summary>
    /// As above with the frequencies scaled (<paramref name="scaling"/>: LLaMA 3.1's long-context form). A positive
    /// <paramref name="rotaryWidth"/> r turns only each head's first r values, the pairs (j, j + r/2) by base^(−2j/r) (GPT-NeoX's
    /// <c>rotary_pct</c>, Hugging Face's <c>partial_rotary_factor</c>), the table then [steps, r]; 0 turns the whole head.
    /// </summary>
    public static unsafe void Apply(int steps, int batch, int width, int heads, int keyValueHeads, int position, float theta, RotaryScaling scaling,
        ReadOnlySpan<float> table, Span<float> qkv, bool inverse, int rotaryWidth = 0)
    {
        int row = RequireApply(steps, batch, width, heads, keyValueHeads, position, scaling, qkv.Length, table.Length, rotaryWidth);
        scaling = scaling.ForPass(position + (long)steps); // (LongRoPE's factors by the pass's reach)
        long length = (long)steps * batch * row;
        bool tabled = position == 0 && !table.IsEmpty;
        if (length == 0) return;
        int rotated = RotatedWidth(width, heads, rotaryWidth);
        // the frequencies (cached per head width, base and scaling) and the factor on the cosines and sines, for the angles past the table
        fixed (float* p = qkv, pt = table)
        fixed (double* pf = tabled ? default : Frequencies(rotated, theta, scaling))
        {
            var a = new Args
            {
                Steps = steps, Batch = batch, Width = width, Heads = heads, Turned = heads + keyValueHeads, Row = row, Position = position,
                Rotated = rotated, Sign = inverse ? -1f : 1f, Frequencies = pf, Factor = scaling.AttentionFactor, Qkv = p,
                Table = tabled ? pt : null,
            };
            GemmWorkers.Run(&Part, &a, GemmWorkers.Parts(steps, length, 1L << 15));
        }
    }

    /// <summary>
    /// The checks of <see cref="Apply(int, int, int, int, int, int, float, RotaryScaling, ReadOnlySpan{float}, Span{float}, bool, int)"/>, the
    /// host's and the device's: the sizes, even heads, the groups, the scaling, qkv's length, and a table (read at position 0 when given) of
    /// steps × r values (r the rotary width: the head's d unless <paramref name="rotaryWidth"/> turns its first values alone, even and
    /// at most d). Returns the packed row's width.
    /// </summary>
    public static int RequireApply(int steps, int batch, int width, int heads, int keyValueHeads, int position, RotaryScaling scaling, long qkvLength, long tableLength,
        int rotaryWidth = 0)
    {
        scaling.Require();
        if (steps < 0 || batch < 0 || width < 0 || heads <= 0 || position < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Rotary: steps {steps}, batch {batch}, width {width} and position {position} are 0 or more, heads {heads} 1 or more.");
        RequireEvenHeads(width, heads);
        AttentionKernel.RequireGroups(heads, keyValueHeads);
        int row = AttentionKernel.PackedWidth(width, heads, keyValueHeads);
        long length = (long)steps * batch * row;
        if (qkvLength < length) throw new ArgumentException($"Rotary: qkv needs at least {length} values ({steps} × {batch} × {row}), got {qkvLength}.", "qkv");
        if (rotaryWidth < 0 || rotaryWidth % 2 != 0 || rotaryWidth > width / heads)
            throw new ArgumentOutOfRangeException(nameof(rotaryWidth), rotaryWidth, $"Rotary: the rotary width is 0 (the whole head) or an even number up to the head's {width / heads}.");
        int rotated = RotatedWidth(width, heads, rotaryWidth);
        if (scaling is { Kind: RotaryScalingKind.LongRope, IsScaled: true, ShortFactors: { } factors } && factors.Length != rotated / 2)
            throw new ArgumentException($"Rotary scaling (LongRoPE): {factors.Length} factors for the {rotated / 2} pairs of each head's {rotated} turned values.", nameof(scaling));
        if (scaling is { Kind: RotaryScalingKind.Dynamic, IsScaled: true } && rotated <= 2)
            throw new ArgumentException($"Rotary scaling (dynamic NTK): its base's exponent d / (d − 2) needs more than 2 turned values in each head, got {rotated}.", nameof(scaling));
        if (position == 0 && tableLength > 0 && tableLength < (long)steps * rotated)
            throw new ArgumentException($"Rotary: the table needs {(long)steps * rotated} values ({steps} × {rotated}), got {tableLength}.", "table");
        return row;
    }

    /// <summary>The values of each head turned: <paramref name="rotaryWidth"/>, or the whole head's width / heads when it is 0.</summary>
    internal static int RotatedWidth(int width, int heads, int rotaryWidth) => rotaryWidth > 0 ? rotaryWidth : width / heads;

    /// <summary>Refuses heads that do not split <paramref name="width"/> into heads of an even width (the host's check and the device's).</summary>
    internal static void RequireEvenHeads(int width, int heads)
    {
        if (heads <= 0 || width % heads != 0 || width / heads % 2 != 0)
            throw new ArgumentException($"Rotary: a head's width must be even, got width {width} over {heads} head(s).", nameof(width));
    }

    /// <summary><see cref="Apply(int, int, int, int, int, float, ReadOnlySpan{float}, Span{float}, bool)"/> with every angle computed.</summary>
    public static void Apply(int steps, int batch, int width, int heads, int position, float theta, Span<float> qkv, bool inverse) =>
        Apply(steps, batch, width, heads, position, theta, default, qkv, inverse);

    private static unsafe void Part(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int d = a.Width / a.Heads, r = a.Rotated, half = r / 2;
        Span<float> scratch = a.Table != null ? default : GemmWorkers.Scratch(r);
        fixed (float* computed = scratch)
        {
            var (first, end) = GemmWorkers.Range(a.Steps, part, parts);
            for (int t = first; t < end; t++)
            {
                float* cos = computed;
                if (cos == null) cos = a.Table + (long)t * r;
                else Angles(a.Position + t, new ReadOnlySpan<double>(a.Frequencies, half), a.Factor, cos);
                for (int b = 0; b < a.Batch; b++)
                {
                    float* row = a.Qkv + ((long)t * a.Batch + b) * a.Row;
                    for (int h = 0; h < a.Turned; h++) // the queries' heads, then the keys'
                    {
                        var turn = new TurnKernel { X = row + h * d, Y = row + h * d + half, Cos = cos, Sin = cos + half, Sign = a.Sign, Length = half };
                        LaneLoop.Run(ref turn);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The d/2 cosines of <paramref name="position"/> · θ_j, then their sines, into <paramref name="row"/> [d], each times
    /// <paramref name="factor"/> (YaRN's and LongRoPE's; 1 leaves the rounded cosine and sine as they are).
    /// </summary>
    private static unsafe void Angles(int position, ReadOnlySpan<double> frequencies, float factor, float* row)
    {
        int half = frequencies.Length;
        for (int j = 0; j < half; j++)
        {
            double angle = position * frequencies[j];
            row[j] = (float)Math.Cos(angle) * factor;
            row[half + j] = (float)Math.Sin(angle) * factor;
        }
    }

    /// <summary>
    /// The cosines and sines of positions <paramref name="position"/> … + steps − 1 in <see cref="Fill(Span{float}, int, int, float)"/>'s layout, [steps, d]:
    /// what the device's kernel reads past position 0.
    /// </summary>
    public static void Table(int steps, int position, int headWidth, float theta, Span<float> table) => Table(steps, position, headWidth, theta, default, table);

    /// <summary>As above with the frequencies scaled (<paramref name="scaling"/>).</summary>
    public static unsafe void Table(int steps, int position, int headWidth, float theta, RotaryScaling scaling, Span<float> table)
    {
        if (table.Length < (long)steps * headWidth)
            throw new ArgumentException($"Rotary: the table needs {(long)steps * headWidth} values ({steps} × {headWidth}), got {table.Length}.", nameof(table));
        scaling = scaling.ForPass(position + (long)steps); // (LongRoPE's factors by the pass's reach, as Apply takes them)
        ReadOnlySpan<double> frequencies = Frequencies(headWidth, theta, scaling);
        fixed (float* p = table)
        {
            for (int t = 0; t < steps; t++) Angles(position + t, frequencies, scaling.AttentionFactor, p + (long)t * headWidth);
        }
    }

    // The frequencies of the last few (head width, base, scaling) asked for: a decoding step computes its position's angles, and
    // the d/2 powers took as long as its sines and cosines. Each entry is an immutable object published by one reference write
    // (a struct of this size is copied field by field, so a reader on another thread could see one entry's key beside another's
    // values, or none yet).
    private sealed record FrequencyEntry(int Width, float Theta, RotaryScaling Scaling, double[] Values);
    private static readonly FrequencyEntry?[] s_frequencies = new FrequencyEntry?[4];
    private static int s_nextSlot;

    // Dynamic NTK's frequencies past the original context, kept per thread for the last (head width, base, scaling) asked for: a
    // decoding step's reach grows by one each step, so the shared cache would hold none of them twice, while every layer of one
    // step asks for the same
    [ThreadStatic] private static double[]? t_reaching;
    [ThreadStatic] private static (int Width, float Theta, RotaryScaling Scaling) t_reachingKey;

    private static ReadOnlySpan<double> Frequencies(int headWidth, float theta, RotaryScaling scaling)
    {
        if (scaling.Reach > 0)
        {
            int half = headWidth / 2;
            if (t_reaching is { } known && t_reachingKey == (headWidth, theta, scaling)) return known.AsSpan(0, half);
            double[] reaching = t_reaching is { } r && r.Length >= half ? r : (t_reaching = new double[half]);
            for (int j = 0; j < half; j++) reaching[j] = Frequency(j, headWidth, theta, scaling);
            t_reachingKey = (headWidth, theta, scaling);
            return reaching.AsSpan(0, half);
        }
        for (int i = 0; i < s_frequencies.Length; i++)
        {
            if (System.Threading.Volatile.Read(ref s_frequencies[i]) is { } k && k.Width == headWidth && k.Theta == theta && k.Scaling == scaling) return k.Values;
        }
        var computed = new double[headWidth / 2];
        for (int j = 0; j < computed.Length; j++) computed[j] = Frequency(j, headWidth, theta, scaling);
        // two threads may both compute one; either entry is whole
        System.Threading.Volatile.Write(ref s_frequencies[(uint)System.Threading.Interlocked.Increment(ref s_nextSlot) % (uint)s_frequencies.Length],
            new FrequencyEntry(headWidth, theta, scaling, computed));
        return computed;
    }

    /// <summary>(x, y) ← (x · cos − y · sin, y · cos + x · sin), sin times the sign (−1: back), lane by lane, with no fused multiply-add.</summary>
    private unsafe struct TurnKernel : ILaneKernel
    {
        public float* X, Y, Cos, Sin;
        public float Sign;
        public int Length;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T sign = T.Create(Sign);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T x = T.Load(ref X[j], 0), y = T.Load(ref Y[j], 0), c = T.Load(ref Cos[j], 0), s = T.Load(ref Sin[j], 0) * sign;
                T.Store(x * c - y * s, ref X[j], 0);
                T.Store(y * c + x * s, ref Y[j], 0);
            }
            return j;
        }
    }

    private unsafe struct Args
    {
        public int Steps, Batch, Width, Heads, Position;
        /// <summary>The heads turned (the queries' and the keys', side by side from column 0) and the packed row's width.</summary>
        public int Turned, Row;
        /// <summary>The values turned at the start of each head (its whole width, or fewer: a partial rotation).</summary>
        public int Rotated;
        public float Sign;
        /// <summary>The pairs' frequencies (Rotated / 2 of them) and the factor on the cosines and sines, for the angles computed past the table.</summary>
        public double* Frequencies;
        public float Factor;
        public float* Qkv, Table;
    }
}
