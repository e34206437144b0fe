using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Multi-head self-attention's per-head part (<see cref="AttentionKernel"/>) forward and back against a double-precision
/// reference written from the formulas, at lengths that take a causal head through several blocks of query rows (and a
/// partial last one), with padded sequences and dropout on the weights; and a cache read in chunks against one pass. CI runs
/// these again on narrower vectors.
/// </summary>
public class AttentionKernelTests
{
    private const int E = 12, Heads = 3, D = E / Heads;
    private const float Scale = 0.5f;

    public static TheoryData<int, bool, bool, bool> Cases()
    {
        var data = new TheoryData<int, bool, bool, bool>();
        foreach (int steps in new[] { 5, 2 * AttentionKernel.CausalBlock + 6 })
            foreach (bool causal in new[] { true, false })
                foreach (bool padded in new[] { false, true })
                    foreach (bool dropout in new[] { false, true })
                        data.Add(steps, causal, padded, dropout);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchTheFormulas(int T, bool causal, bool padded, bool dropout) =>
        AssertMatchesTheFormulas(T, causal, padded, dropout, window: 0, seed: (ulong)(T * 16 + (causal ? 8 : 0) + (padded ? 4 : 0) + (dropout ? 2 : 0)));

    /// <summary>
    /// The kernels' weights (zeros past the valid keys and before a window, whatever the buffer held), context and d(qkv) for two
    /// sequences, the second padded when <paramref name="padded"/>, against <see cref="Reference"/>.
    /// </summary>
    private static void AssertMatchesTheFormulas(int T, bool causal, bool padded, bool dropout, int window, ulong seed)
    {
        const int B = 2;
        var rng = new Rng(seed);
        float[] qkv = Normal(rng, T * B * 3 * E), dContext = Normal(rng, T * B * E);
        int[] lengths = padded ? [T, Math.Max(1, T - AttentionKernel.CausalBlock / 2 - 3)] : [];
        float[] mask = dropout ? Enumerable.Range(0, B * Heads * T * T).Select(_ => rng.NextFloat() < 0.2f ? 0f : 1.25f).ToArray() : [];
        var weights = new float[B * Heads * T * T];
        var context = new float[T * B * E];
        var dQkv = new float[T * B * 3 * E];
        Array.Fill(weights, float.NaN);
        AttentionKernel.Forward(T, B, E, Heads, Scale, causal, lengths, qkv, weights, mask, context, default, window);
        AttentionKernel.Backward(T, B, E, Heads, Scale, causal, lengths, qkv, weights, mask, dContext, dQkv, default, window);
        var (p, c, dq) = Reference(T, B, causal, lengths, qkv, mask, dContext, window);
        AssertClose(p, weights, "weights");
        AssertClose(c, context, "context");
        AssertClose(dq, dQkv, "dQkv");
    }

    public static TheoryData<int, int, bool, bool> RelativeCases()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (int window in new[] { 0, 7 })
            foreach (bool padded in new[] { false, true })
                foreach (bool dropout in new[] { false, true })
                    data.Add(2 * AttentionKernel.CausalBlock + 6, window, padded, dropout);
        data.Add(5, 0, true, false);
        data.Add(1, 0, false, false);
        return data;
    }

    /// <summary>
    /// A relative position bias (T5's and MPNet's, by distance) over the whole sequence or a window on both sides: the formulas'
    /// weights, context and gradients, and the scores' gradients by distance that the table's gradient is summed from.
    /// </summary>
    [Theory]
    [MemberData(nameof(RelativeCases))]
    public void ARelativePositionBiasMatchesTheFormulas(int T, int window, bool padded, bool dropout)
    {
        const int B = 2;
        var rng = new Rng((ulong)(T * 64 + window * 4 + (padded ? 2 : 0) + (dropout ? 1 : 0) + 11));
        float[] qkv = Normal(rng, T * B * 3 * E), dContext = Normal(rng, T * B * E), bias = Normal(rng, Heads * (2 * T - 1));
        int[] lengths = padded ? [T, Math.Max(1, T - AttentionKernel.CausalBlock / 2 - 3)] : [];
        float[] mask = dropout ? Enumerable.Range(0, B * Heads * T * T).Select(_ => rng.NextFloat() < 0.2f ? 0f : 1.25f).ToArray() : [];
        var weights = new float[B * Heads * T * T];
        var context = new float[T * B * E];
        var dQkv = new float[T * B * 3 * E];
        float[] dBias = Enumerable.Repeat(float.NaN, B * Heads * (2 * T - 1)).ToArray(); // every value written, whatever it held
        AttentionKernel.Forward(T, B, E, Heads, Scale, false, lengths, qkv, weights, mask, context, default, window, positionBias: bias);
        AttentionKernel.Backward(T, B, E, Heads, Scale, false, lengths, qkv, weights, mask, dContext, dQkv, default, window, dPositionBias: dBias);
        var expectedDBias = new double[dBias.Length];
        var (p, c, dq) = Reference(T, B, false, lengths, qkv, mask, dContext, window, bias, expectedDBias);
        AssertClose(p, weights, "weights");
        AssertClose(c, context, "context");
        AssertClose(dq, dQkv, "dQkv");
        AssertClose(expectedDBias, dBias, "dPositionBias");
        // the bias changes the weights: without it they are another's
        var plain = new float[weights.Length];
        AttentionKernel.Forward(T, B, E, Heads, Scale, false, lengths, qkv, plain, mask, new float[context.Length], default, window);
        Assert.True(T == 1 || !plain.SequenceEqual(weights), "the relative position bias left the weights as they were");
    }

    /// <summary>A relative position bias too short for the heads' distances, or beside a soft cap, is refused naming it; nothing is written.</summary>
    [Fact]
    public void ARelativePositionBiasOfTheWrongLengthOrBesideASoftCapIsRefused()
    {
        const int T = 4, B = 1;
        float[] qkv = new float[T * B * 3 * E], weights = new float[B * Heads * T * T], context = new float[T * B * E];
        var shortBias = Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(T, B, E, Heads, Scale, false, default, qkv, weights, default, context, default,
            positionBias: new float[Heads * (2 * T - 1) - 1]));
        Assert.Contains("positionBias: expected at least 21 values, got 20", shortBias.Message);
        var capped = Assert.Throws<ArgumentException>(() => AttentionKernel.Forward(T, B, E, Heads, Scale, false, default, qkv, weights, default, context, default,
            softCap: 5f, positionBias: new float[Heads * (2 * T - 1)]));
        Assert.Contains("a relative position bias and a soft cap on the scores exclude each other", capped.Message);
        var shortGradient = Assert.Throws<ArgumentException>(() => AttentionKernel.Backward(T, 2, E, Heads, Scale, false, default, new float[T * 2 * 3 * E],
            new float[2 * Heads * T * T], default, new float[T * 2 * E], new float[T * 2 * 3 * E], default, dPositionBias: new float[Heads * (2 * T - 1)]));
        Assert.Contains("dPositionBias: expected at least 42 values, got 21", shortGradient.Message);
        Assert.All(context, v => Assert.Equal(0f, v));
    }

    public static TheoryData<int, int, bool, bool> WindowCases()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (int window in new[] { 1, 3, AttentionKernel.CausalBlock + 5 })
            foreach (bool padded in new[] { false, true })
                foreach (bool dropout in new[] { false, true })
                    data.Add(2 * AttentionKernel.CausalBlock + 6, window, padded, dropout);
        data.Add(5, 2, false, false);
        return data;
    }

    /// <summary>
    /// A sliding window (each query over the window's most recent keys, its own included; blocks of query rows starting past a
    /// window's first key): the formulas' weights — zero before the window, whatever the buffer held —, context and gradients.
    /// </summary>
    [Theory]
    [MemberData(nameof(WindowCases))]
    public void ASlidingWindowMatchesTheFormulas(int T, int window, bool padded, bool dropout) =>
        AssertMatchesTheFormulas(T, causal: true, padded, dropout, window, seed: (ulong)(T * 64 + window * 4 + (padded ? 2 : 0) + (dropout ? 1 : 0)));

    public static TheoryData<int, int, bool, bool> BidirectionalWindowCases()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (int window in new[] { 1, 2, 7, AttentionKernel.CausalBlock + 5 })
            foreach (bool padded in new[] { false, true })
                foreach (bool dropout in new[] { false, true })
                    data.Add(2 * AttentionKernel.CausalBlock + 6, window, padded, dropout);
        return data;
    }

    /// <summary>
    /// A sliding window without causality (ModernBERT's local attention: each query over the keys within half the window on
    /// either side, |j − i| ≤ window / 2; blocks of query rows against the keys their windows span): the formulas' weights,
    /// context and gradients.
    /// </summary>
    [Theory]
    [MemberData(nameof(BidirectionalWindowCases))]
    public void ABidirectionalWindowMatchesTheFormulas(int T, int window, bool padded, bool dropout) =>
        AssertMatchesTheFormulas(T, causal: false, padded, dropout, window, seed: (ulong)(T * 64 + window * 4 + (padded ? 2 : 0) + (dropout ? 1 : 0) + 7));

    /// <summary>
    /// A window as long as the sequence or longer is causal attention, bit for bit; a window of one step gives each query its
    /// own value; stepping from a cache attends over the window as one pass does; without causality, a window twice the sequence
    /// is attention over the whole sequence; a negative window is refused.
    /// </summary>
    [Fact]
    public void AWindowPastTheStepsIsCausalAttentionAndStepsSeeTheSameWindow()
    {
        const int B = 2, T = 2 * AttentionKernel.CausalBlock + 6;
        var rng = new Rng(12);
        float[] qkv = Normal(rng, T * B * 3 * E), dContext = Normal(rng, T * B * E);
        (float[] Weights, float[] Context, float[] DQkv) Run(int window)
        {
            var w = new float[B * Heads * T * T];
            var c = new float[T * B * E];
            var dq = new float[T * B * 3 * E];
            AttentionKernel.Forward(T, B, E, Heads, Scale, true, default, qkv, w, default, c, default, window);
            AttentionKernel.Backward(T, B, E, Heads, Scale, true, default, qkv, w, default, dContext, dq, default, window);
            return (w, c, dq);
        }
        var causal = Run(0);
        foreach (int window in new[] { T, T + 1, 1000 })
        {
            var windowed = Run(window);
            Assert.Equal(causal.Weights, windowed.Weights);
            Assert.Equal(causal.Context, windowed.Context);
            Assert.Equal(causal.DQkv, windowed.DQkv);
        }
        var own = Run(1).Context;
        for (int r = 0; r < T * B; r++)
            Assert.True(own.AsSpan(r * E, E).SequenceEqual(qkv.AsSpan(r * 3 * E + 2 * E, E)), $"row {r}: a window of one step gives the step's own value");
        // steps from a cache, in chunks and one by one, over a window of 5
        var whole = new float[T * B * E];
        AttentionKernel.Forward(T, B, E, Heads, Scale, true, default, qkv, new float[B * Heads * T * T], default, whole, default, window: 5);
        var cache = new float[T * B * 2 * E];
        var stepped = new float[T * B * E];
        int position = 0;
        foreach (int steps in new[] { 7, 1, 1, AttentionKernel.CausalBlock + 3, T - AttentionKernel.CausalBlock - 12 })
        {
            AttentionKernel.CachedForward(steps, B, E, Heads, Scale, position, qkv.AsSpan(position * B * 3 * E, steps * B * 3 * E), cache,
                new float[B * Heads * steps * steps], stepped.AsSpan(position * B * E, steps * B * E), window: 5);
            position += steps;
        }
        Assert.Equal(T, position);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - stepped[i]) <= 2e-6, $"context[{i}]: one pass {whole[i]}, steps {stepped[i]}");
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Run(-1));
        Assert.Contains("a sliding window is 0 (none) or more steps", negative.Message);
        (float[] Weights, float[] Context, float[] DQkv) Whole(int window)
        {
            var w = new float[B * Heads * T * T];
            var c = new float[T * B * E];
            var dq = new float[T * B * 3 * E];
            AttentionKernel.Forward(T, B, E, Heads, Scale, false, default, qkv, w, default, c, default, window);
            AttentionKernel.Backward(T, B, E, Heads, Scale, false, default, qkv, w, default, dContext, dq, default, window);
            return (w, c, dq);
        }
        var all = Whole(0);
        foreach (var wide in new[] { Whole(2 * T), Whole(2 * T + 1) })
        {
            Assert.Equal(all.Weights, wide.Weights);
            Assert.Equal(all.Context, wide.Context);
            Tolerance.AssertClose(all.DQkv, wide.DQkv, "a window past both ends: the gradients");
        }
    }

    [Fact]
    public void ACacheReadInChunksGivesWhatOnePassGives()
    {
        // chunks longer than a block of query rows, from positions that are not a multiple of it
        const int B = 2, T = 75;
        int[] chunks = [AttentionKernel.CausalBlock + 9, 1, T - AttentionKernel.CausalBlock - 10];
        var rng = new Rng(11);
        float[] qkv = Normal(rng, T * B * 3 * E);
        var whole = new float[T * B * E];
        AttentionKernel.Forward(T, B, E, Heads, Scale, causal: true, qkv, new float[B * Heads * T * T], default, whole, default);
        var cache = new float[T * B * 2 * E];
        var stepped = new float[T * B * E];
        int position = 0;
        foreach (int steps in chunks)
        {
            var part = qkv.AsSpan(position * B * 3 * E, steps * B * 3 * E);
            AttentionKernel.CachedForward(steps, B, E, Heads, Scale, position, part, cache, new float[B * Heads * steps * steps], stepped.AsSpan(position * B * E, steps * B * E));
            position += steps;
        }
        Assert.Equal(T, position);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - stepped[i]) <= 2e-6, $"context[{i}]: one pass {whole[i]}, chunks {stepped[i]}");
    }

    /// <summary>
    /// Heads of a wide layer (6 of 64 values at 128 steps), split over the cores by (sequence, head) — at batch 1 a core's
    /// share starts and ends inside a sequence — with grouped key/value heads too: every head gives what it gives as attention
    /// of one head over its own queries, keys and values: the same weights, context and dq bit for bit, and a shared key/value
    /// head's dk and dv the sum of its query heads'.
    /// </summary>
    [Theory]
    [InlineData(2, 6, true, false)]
    [InlineData(2, 6, false, true)]
    [InlineData(1, 6, true, true)]
    [InlineData(2, 2, true, true)]
    [InlineData(1, 2, false, false)]
    public void EachHeadOfAWideLayerGivesWhatItGivesAlone(int B, int kvHeads, bool causal, bool padded)
    {
        const int T = 128, d = 64, heads = 6, width = heads * d;
        int group = heads / kvHeads, kv = kvHeads * d, row = width + 2 * kv;
        var rng = new Rng((ulong)(B * 100 + kvHeads * 10 + (causal ? 2 : 0) + (padded ? 1 : 0)));
        float[] qkv = Normal(rng, T * B * row), dContext = Normal(rng, T * B * width);
        int[] lengths = padded ? [.. Enumerable.Range(0, B).Select(b => T - 37 * b - 21)] : [];
        var weights = new float[B * heads * T * T];
        var context = new float[T * B * width];
        var dQkv = new float[T * B * row];
        AttentionKernel.Forward(T, B, width, heads, kvHeads, Scale, causal, lengths, qkv, weights, default, context, default);
        AttentionKernel.Backward(T, B, width, heads, kvHeads, Scale, causal, lengths, qkv, weights, default, dContext, dQkv, default);

        var dkv = new double[T * B * 2 * kv]; // each key/value head's dk and dv summed over its group
        for (int h = 0; h < heads; h++)
        {
            int g = h / group;
            var one = new float[T * B * 3 * d];
            var dOne = new float[T * B * d];
            for (int r = 0; r < T * B; r++)
            {
                qkv.AsSpan(r * row + h * d, d).CopyTo(one.AsSpan(r * 3 * d, d));
                qkv.AsSpan(r * row + width + g * d, d).CopyTo(one.AsSpan(r * 3 * d + d, d));
                qkv.AsSpan(r * row + width + kv + g * d, d).CopyTo(one.AsSpan(r * 3 * d + 2 * d, d));
                dContext.AsSpan(r * width + h * d, d).CopyTo(dOne.AsSpan(r * d, d));
            }
            var w1 = new float[B * T * T];
            var c1 = new float[T * B * d];
            var dq1 = new float[T * B * 3 * d];
            AttentionKernel.Forward(T, B, d, 1, Scale, causal, lengths, one, w1, default, c1, default);
            AttentionKernel.Backward(T, B, d, 1, Scale, causal, lengths, one, w1, default, dOne, dq1, default);
            for (int b = 0; b < B; b++)
                Assert.True(w1.AsSpan(b * T * T, T * T).SequenceEqual(weights.AsSpan((b * heads + h) * T * T, T * T)), $"weights of sequence {b}, head {h}");
            for (int r = 0; r < T * B; r++)
            {
                Assert.True(c1.AsSpan(r * d, d).SequenceEqual(context.AsSpan(r * width + h * d, d)), $"context row {r}, head {h}");
                Assert.True(dq1.AsSpan(r * 3 * d, d).SequenceEqual(dQkv.AsSpan(r * row + h * d, d)), $"dq row {r}, head {h}");
                for (int j = 0; j < d; j++)
                {
                    dkv[r * 2 * kv + g * d + j] += dq1[r * 3 * d + d + j];
                    dkv[r * 2 * kv + kv + g * d + j] += dq1[r * 3 * d + 2 * d + j];
                }
            }
        }
        for (int r = 0; r < T * B; r++)
            for (int j = 0; j < 2 * kv; j++)
            {
                double expected = dkv[r * 2 * kv + j];
                float actual = dQkv[r * row + width + j];
                Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"d{(j < kv ? "k" : "v")} row {r}, column {j % kv}: got {actual}, expected {expected}");
            }
    }

    /// <summary>The weights [B, heads, T, T], context [T, B, E] and d(qkv) [T, B, 3E] from the formulas, in double.</summary>
    /// <param name="bias">A relative position bias by distance [heads, 2T − 1] added to the scaled scores (null: none).</param>
    /// <param name="dBias">With <paramref name="bias"/>: receives the scores' gradients by distance [B, heads, 2T − 1].</param>
    private static (double[] P, double[] Context, double[] DQkv) Reference(int T, int B, bool causal, int[] lengths, float[] qkv, float[] mask, float[] dContext, int window = 0,
        float[]? bias = null, double[]? dBias = null)
    {
        int distances = 2 * T - 1;
        var p = new double[B * Heads * T * T];
        var context = new double[T * B * E];
        var dQkv = new double[T * B * 3 * E];
        double Q(int t, int b, int part, int j) => qkv[(t * B + b) * 3 * E + part * E + j];
        // a padded query (t ≥ its sequence's length) passes nothing back: its d(context) reaches no gradient
        dContext = (float[])dContext.Clone();
        for (int b = 0; b < B && lengths.Length > 0; b++)
            for (int t = lengths[b]; t < T; t++) Array.Clear(dContext, (t * B + b) * E, E);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < Heads; h++)
            {
                int pair = b * Heads + h, keys = lengths.Length > 0 ? lengths[b] : T;
                double M(int i, int j) => mask.Length > 0 ? mask[(pair * T + i) * T + j] : 1;
                int Valid(int i) => Math.Min(causal ? i + 1 : window > 0 ? i + window / 2 + 1 : T, keys);
                // a sliding window: keys i − window < j ≤ i, or without causality |j − i| ≤ window / 2 (a padded query keeps its last valid key)
                int First(int i) => window > 0 ? Math.Min(Math.Max(i - (causal ? window - 1 : window / 2), 0), Valid(i) - 1) : 0;
                var dA = new double[T, T];
                for (int i = 0; i < T; i++)
                {
                    int valid = Valid(i), first = First(i);
                    var s = new double[valid - first];
                    for (int j = first; j < valid; j++)
                    {
                        for (int k = 0; k < D; k++) s[j - first] += Q(i, b, 0, h * D + k) * Q(j, b, 1, h * D + k) * Scale;
                        if (bias is not null) s[j - first] += bias[h * distances + j - i + T - 1];
                    }
                    double max = s.Max(), sum = s.Sum(v => Math.Exp(v - max));
                    for (int j = first; j < valid; j++) p[(pair * T + i) * T + j] = Math.Exp(s[j - first] - max) / sum;
                    for (int j = first; j < valid; j++)
                        for (int k = 0; k < D; k++)
                        {
                            double a = p[(pair * T + i) * T + j] * M(i, j);
                            context[(i * B + b) * E + h * D + k] += a * Q(j, b, 2, h * D + k);
                            // dv_j += A'[i, j] dC_i; dA'[i, j] = dC_i · v_j
                            dQkv[(j * B + b) * 3 * E + 2 * E + h * D + k] += a * dContext[(i * B + b) * E + h * D + k];
                            dA[i, j] += dContext[(i * B + b) * E + h * D + k] * Q(j, b, 2, h * D + k) * M(i, j);
                        }
                    double dot = 0;
                    for (int j = first; j < valid; j++) dot += dA[i, j] * p[(pair * T + i) * T + j];
                    for (int j = first; j < valid; j++)
                    {
                        double dS = Scale * p[(pair * T + i) * T + j] * (dA[i, j] - dot);
                        if (dBias is not null) dBias[pair * distances + j - i + T - 1] += p[(pair * T + i) * T + j] * (dA[i, j] - dot);
                        for (int k = 0; k < D; k++)
                        {
                            dQkv[(i * B + b) * 3 * E + h * D + k] += dS * Q(j, b, 1, h * D + k);
                            dQkv[(j * B + b) * 3 * E + E + h * D + k] += dS * Q(i, b, 0, h * D + k);
                        }
                    }
                }
            }
        return (p, context, dQkv);
    }

    private static float[] Normal(Rng rng, int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();

    private static void AssertClose(double[] expected, float[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{name}[{i}]: got {actual[i]}, expected {expected[i]}");
    }
}
