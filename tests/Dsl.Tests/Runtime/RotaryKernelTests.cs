using Dsl.Kernels;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="RotaryKernel"/> against the rotation in double at head widths around every vector length (the lanes and their
/// tails on each path CI narrows the JIT to), its inverse, what it leaves alone, and bad arguments.
/// </summary>
public class RotaryKernelTests
{
    public static TheoryData<int, int> Heads => new() { { 1, 2 }, { 2, 6 }, { 3, 8 }, { 1, 16 }, { 2, 18 }, { 1, 32 }, { 2, 34 }, { 1, 64 }, { 1, 70 } };

    [Theory]
    [MemberData(nameof(Heads))]
    public void QueriesAndKeysTurnAsTheFormulaInDoubleAndValuesStay(int heads, int headWidth)
    {
        const int steps = 4, batch = 3, position = 7;
        const float theta = 10000f;
        int width = heads * headWidth, half = headWidth / 2;
        var rng = new Rng((ulong)(heads * 100 + headWidth));
        float[] qkv = Enumerable.Range(0, steps * batch * 3 * width).Select(_ => rng.NextNormal()).ToArray(), before = (float[])qkv.Clone();
        RotaryKernel.Apply(steps, batch, width, heads, position, theta, qkv, inverse: false);
        for (int t = 0; t < steps; t++)
        for (int b = 0; b < batch; b++)
        {
            int row = (t * batch + b) * 3 * width;
            for (int block = 0; block < 2; block++) // queries, then keys
            for (int h = 0; h < heads; h++)
            for (int j = 0; j < half; j++)
            {
                int at = row + block * width + h * headWidth + j;
                double angle = (position + t) * Math.Pow(theta, -2.0 * j / headWidth), x = before[at], y = before[at + half];
                Assert.Equal(x * Math.Cos(angle) - y * Math.Sin(angle), qkv[at], 1e-5 * (1 + Math.Abs(x) + Math.Abs(y)));
                Assert.Equal(y * Math.Cos(angle) + x * Math.Sin(angle), qkv[at + half], 1e-5 * (1 + Math.Abs(x) + Math.Abs(y)));
            }
            Assert.Equal(before.AsSpan(row + 2 * width, width).ToArray(), qkv.AsSpan(row + 2 * width, width).ToArray()); // the values
        }
        RotaryKernel.Apply(steps, batch, width, heads, position, theta, qkv, inverse: true);
        for (int i = 0; i < qkv.Length; i++) Assert.Equal(before[i], qkv[i], 1e-5f * (1 + Math.Abs(before[i])));
    }

    [Fact]
    public void AWorkspacesTableGivesWhatComputedAnglesGiveAndServesPositionZeroOnly()
    {
        // the table a workspace fills once (positions 0 … T − 1) turns a pass from position 0 to the same bits as angles
        // computed there; from a later position the table is not read (a table of NaN changes nothing)
        const int steps = 5, batch = 2, width = 48, heads = 2, d = width / heads;
        var rng = new Rng(9);
        float[] qkv = Enumerable.Range(0, steps * batch * 3 * width).Select(_ => rng.NextNormal()).ToArray();
        float[] table = new float[steps * d];
        RotaryKernel.Fill(table, steps, d, 10000f);
        foreach (bool inverse in new[] { false, true })
        {
            float[] computed = (float[])qkv.Clone(), tabled = (float[])qkv.Clone();
            RotaryKernel.Apply(steps, batch, width, heads, 0, 10000f, computed, inverse);
            RotaryKernel.Apply(steps, batch, width, heads, 0, 10000f, table, tabled, inverse);
            Assert.Equal(computed, tabled);
            float[] later = (float[])qkv.Clone(), laterWithNaN = (float[])qkv.Clone();
            RotaryKernel.Apply(steps, batch, width, heads, 3, 10000f, later, inverse);
            RotaryKernel.Apply(steps, batch, width, heads, 3, 10000f, Enumerable.Repeat(float.NaN, steps * d).ToArray(), laterWithNaN, inverse);
            Assert.Equal(later, laterWithNaN);
            Assert.NotEqual(computed, later);
        }
        var error = Assert.Throws<ArgumentException>(() => RotaryKernel.Apply(steps, batch, width, heads, 0, 10000f, new float[steps * d - 1], qkv, false));
        Assert.Equal($"Rotary: the table needs {steps * d} values ({steps} × {d}), got {steps * d - 1}. (Parameter 'table')", error.Message);
    }

    [Fact]
    public void ScoresDependOnTheDistanceBetweenStepsOnly()
    {
        // RoPE's point: q(p)·k(p') is a function of p − p'; the same query and key at positions (3, 1) and (10, 8) score alike
        const int width = 16;
        var rng = new Rng(5);
        float[] q = Enumerable.Range(0, width).Select(_ => rng.NextNormal()).ToArray(), k = Enumerable.Range(0, width).Select(_ => rng.NextNormal()).ToArray();
        float Score(int queryAt, int keyAt)
        {
            float[] a = [.. q, .. new float[2 * width]], c = [.. k, .. new float[2 * width]];
            RotaryKernel.Apply(1, 1, width, 1, queryAt, 10000f, a, inverse: false);
            RotaryKernel.Apply(1, 1, width, 1, keyAt, 10000f, c, inverse: false);
            return a.AsSpan(0, width).ToArray().Zip(c.AsSpan(0, width).ToArray(), (x, y) => x * y).Sum();
        }
        Assert.Equal(Score(3, 1), Score(10, 8), 1e-4f);
        Assert.NotEqual(Score(3, 1), Score(3, 2), 1e-3f);
    }

    [Fact]
    public void BadArgumentsAreRefusedNamingWhatWasExpected()
    {
        var error = Assert.Throws<ArgumentException>(() => RotaryKernel.Apply(2, 1, 6, 2, 0, 10000f, new float[36], inverse: false));
        Assert.Equal("Rotary: a head's width must be even, got width 6 over 2 head(s). (Parameter 'width')", error.Message);
        error = Assert.Throws<ArgumentException>(() => RotaryKernel.Apply(2, 1, 8, 2, 0, 10000f, new float[47], inverse: false));
        Assert.Equal("Rotary: qkv needs at least 48 values (2 × 1 × 24), got 47. (Parameter 'qkv')", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RotaryKernel.Apply(2, 1, 8, 2, -1, 10000f, new float[48], inverse: false));
    }
}

/// <summary><see cref="RotaryScaling"/> against LLaMA 3.1's rule (transformers' <c>_compute_llama3_parameters</c>) in its three bands.</summary>
public class RotaryScalingTests
{
    [Fact]
    public void HighFrequenciesStayLowOnesAreDividedAndThoseBetweenMoveSmoothly()
    {
        var llama31 = new RotaryScaling(8f, 1f, 4f, 8192);
        Assert.False(default(RotaryScaling).IsScaled);
        Assert.Equal(0.37, default(RotaryScaling).Scale(0.37));
        // wavelength 2π / f below 8192 / 4 = 2048: kept; above 8192: divided by 8
        Assert.Equal(2 * Math.PI / 2000, llama31.Scale(2 * Math.PI / 2000));
        Assert.Equal(2 * Math.PI / 9000 / 8, llama31.Scale(2 * Math.PI / 9000), 15);
        // between: (1 − s) f / 8 + s f with s = (8192 / λ − 1) / 3, continuous at both ends
        double f = 2 * Math.PI / 4096, s = (8192 / 4096.0 - 1) / 3;
        Assert.Equal((1 - s) * f / 8 + s * f, llama31.Scale(f), 15);
        Assert.Equal(2 * Math.PI / 2048, llama31.Scale(2 * Math.PI / 2048), 15);
        Assert.Equal(2 * Math.PI / 8192 / 8, llama31.Scale(2 * Math.PI / 8192), 15);
        // the kernel's frequency is the base's, then scaled
        Assert.Equal(llama31.Scale(Math.Pow(500000f, -2.0 * 5 / 64)), RotaryKernel.Frequency(5, 64, 500000f, llama31));
    }

    [Fact]
    public void TheLinearScalingDividesEveryFrequency()
    {
        var linear = RotaryScaling.Linear(4f);
        Assert.True(linear.IsScaled);
        foreach (double f in new[] { 1.0, 2 * Math.PI / 2000, 2 * Math.PI / 4096, 2 * Math.PI / 9000 }) Assert.Equal(f / 4, linear.Scale(f));
        Assert.Equal(Math.Pow(10000f, -2.0 * 3 / 16) / 4, RotaryKernel.Frequency(3, 16, 10000f, linear));
    }

    [Fact]
    public void YarnKeepsTheFastPairsDividesTheSlowOnesAndScalesTheCosinesAndSines()
    {
        // heads 16 wide, base 10000, an original context of 64: the pair turning 32 times over 64 positions sits at dimension
        // 16 ln(64 / 64π) / (2 ln 10000) < 0 (floored to 0), the one turning once at 2.02 (ceiled to 3): pair 0 kept, 1 and 2
        // blended by a third and two thirds, 3 … 7 divided by the factor
        var yarn = new RotaryScaling(4f, 1f, 4f, 64, RotaryScalingKind.Yarn);
        yarn.Require();
        for (int j = 0; j < 8; j++)
        {
            double f = Math.Pow(10000.0, -2.0 * j / 16), ramp = Math.Clamp(j / 3.0, 0, 1);
            Assert.Equal(f / 4 * ramp + f * (1 - ramp), RotaryKernel.Frequency(j, 16, 10000f, yarn), 15);
        }
        Assert.Throws<InvalidOperationException>(() => yarn.Scale(0.5)); // (a frequency alone does not say its pair)
        // the cosines and sines times 0.1 ln 4 + 1, the angles those of the scaled frequencies
        float factor = (float)(0.1 * Math.Log(4) + 1);
        Assert.Equal(factor, yarn.AttentionFactor);
        Assert.Equal(1f, RotaryScaling.Linear(4f).AttentionFactor);
        Assert.Equal(1f, new RotaryScaling(1f, 1f, 4f, 64, RotaryScalingKind.Yarn).AttentionFactor);
        float[] table = new float[5 * 16];
        RotaryKernel.Fill(table, 5, 16, 10000f, yarn);
        for (int j = 0; j < 8; j++)
        {
            double angle = 4 * RotaryKernel.Frequency(j, 16, 10000f, yarn);
            Assert.Equal((float)Math.Cos(angle) * factor, table[4 * 16 + j]);
            Assert.Equal((float)Math.Sin(angle) * factor, table[4 * 16 + 8 + j]);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryScaling(4f, 1f, 4f, 0, RotaryScalingKind.Yarn).Require());
    }

    [Fact]
    public void ATableAndAnglesComputedPastItAgreeWhenScaled()
    {
        // a workspace's table (position 0) and a later pass's computed angles use the same scaled frequencies
        var scaling = new RotaryScaling(4f, 1f, 4f, 16);
        float[] table = new float[6 * 8], later = new float[3 * 8];
        RotaryKernel.Fill(table, 6, 8, 10000f, scaling);
        RotaryKernel.Table(3, 3, 8, 10000f, scaling, later);
        Assert.Equal(table.AsSpan(3 * 8).ToArray(), later);
        float[] unscaled = new float[6 * 8];
        RotaryKernel.Fill(unscaled, 6, 8, 10000f);
        Assert.NotEqual(unscaled, table);
    }
}
