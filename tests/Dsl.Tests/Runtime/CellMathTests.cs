using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The single-precision σ, tanh and e^x the recurrent cells compute in one pass (<see cref="CellMath"/>), on every vector
/// width this process accelerates and on the scalar lanes, against double precision; and the LSTM and GRU cells written
/// on them (forward and back) against the cells' formulas in double, over rows whose width leaves a tail for every narrower width. CI runs
/// these again with the wider vectors switched off.
/// </summary>
public class CellMathTests
{
    public static TheoryData<string> Widths()
    {
        var data = new TheoryData<string>();
        if (Lanes512.IsAccelerated) data.Add("512");
        if (Lanes256.IsAccelerated) data.Add("256");
        if (Lanes128.IsAccelerated) data.Add("128");
        data.Add("1");
        return data;
    }

    private static float[] Map(string width, float[] x, string function) => width switch
    {
        "512" => Map<Lanes512>(x, function),
        "256" => Map<Lanes256>(x, function),
        "128" => Map<Lanes128>(x, function),
        _ => Map<Lanes1>(x, function),
    };

    private static float[] Map<T>(float[] x, string function) where T : struct, ILanes<T>
    {
        Assert.Equal(0, x.Length % T.Count);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += T.Count)
        {
            T v = T.Load(ref x[0], i);
            T.Store(function switch { "exp" => CellMath.Exp(v), "sigmoid" => CellMath.Sigmoid(v), _ => CellMath.Tanh(v) }, ref y[0], i);
        }
        return y;
    }

    /// <summary>−40 … 40 in steps of about 0.0004, the values near 0 and near tanh's switch at 0.625 denser, 64 values to a row.</summary>
    private static float[] Arguments()
    {
        var x = new List<float>();
        for (int i = -100_000; i < 100_000; i++) x.Add(i * 4e-4f);
        for (int i = -2000; i < 2000; i++) x.Add(i * 1e-7f);
        for (int i = -2000; i < 2000; i++) x.Add(0.625f + i * 1e-6f);
        while (x.Count % 64 != 0) x.Add(1f);
        return x.ToArray();
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SigmoidTanhAndExpAreWithinThreeTenMillionthsOfDoublePrecision(string width)
    {
        float[] x = Arguments();
        float[] s = Map(width, x, "sigmoid"), t = Map(width, x, "tanh"), e = Map(width, x, "exp");
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            AssertRelative(1 / (1 + Math.Exp(-v)), s[i], x[i], "σ");
            AssertRelative(Math.Tanh(v), t[i], x[i], "tanh");
            AssertRelative(Math.Exp(v), e[i], x[i], "exp");
        }
    }

    private static void AssertRelative(double expected, float actual, float x, string name)
    {
        double error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-30);
        Assert.True(error <= 3e-7, $"{name}({x:R}) = {actual:R}, expected {expected:R} (relative error {error:E2})");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryWidthGivesTheScalarLanesValuesBitForBit(string width)
    {
        float[] x = Arguments();
        foreach (string function in new[] { "sigmoid", "tanh", "exp" })
            Assert.Equal(Map("1", x, function), Map(width, x, function));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ExtremesSaturateAndNaNPropagates(string width)
    {
        float[] x = new float[64];
        float[] values = [float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f, 89f, -88f, float.NaN, 0f, -0f];
        for (int i = 0; i < x.Length; i++) x[i] = values[i % values.Length];
        float[] s = Map(width, x, "sigmoid"), t = Map(width, x, "tanh");
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i]))
            {
                Assert.True(float.IsNaN(s[i]) && float.IsNaN(t[i]), $"NaN in gave σ {s[i]} and tanh {t[i]}: a diverged step must stay visible");
                continue;
            }
            Assert.InRange(s[i], 0f, 1f);
            Assert.Equal(Math.Tanh(x[i]), t[i], 1e-7);
            if (x[i] > 50) Assert.Equal(1f, s[i]);
            Assert.True(float.IsFinite(Map(width, Enumerable.Repeat(x[i], 64).ToArray(), "exp")[0]), $"e^{x[i]} is clamped to a finite float");
            if (x[i] < -50) Assert.True(s[i] < 1e-21f, $"σ({x[i]}) = {s[i]}");
        }
    }

    /// <summary>Units that leave a tail for each narrower width after the widest (16 + 8 + 4 + 3).</summary>
    public static TheoryData<int, bool> Rows() => new() { { 31, true }, { 31, false }, { 64, true }, { 5, true } };

    [Theory]
    [MemberData(nameof(Rows))]
    public void TheLstmCellMatchesItsFormulasInDoublePrecision(int units, bool hasPrev)
    {
        var rng = new Rng((ulong)units);
        float[] pre = Random(rng, 4 * units, 4f), cPrev = hasPrev ? Random(rng, units, 2f) : [];
        float[] gates = (float[])pre.Clone(), c = new float[units], h = new float[units];
        LstmCell.Forward(gates, cPrev, c, h);
        for (int j = 0; j < units; j++)
        {
            double i = Sigmoid(pre[j]), f = Sigmoid(pre[units + j]), g = Math.Tanh(pre[2 * units + j]), o = Sigmoid(pre[3 * units + j]);
            double cc = i * g + (hasPrev ? f * cPrev[j] : 0);
            Assert.Equal(i, gates[j], 1e-6);
            Assert.Equal(f, gates[units + j], 1e-6);
            Assert.Equal(g, gates[2 * units + j], 1e-6);
            Assert.Equal(o, gates[3 * units + j], 1e-6);
            Assert.Equal(cc, c[j], 1e-6);
            Assert.Equal(o * Math.Tanh(cc), h[j], 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TheGruCellMatchesItsFormulasInDoublePrecision(int units, bool hasPrev)
    {
        var rng = new Rng((ulong)units + 7);
        float[] pre = Random(rng, 3 * units, 3f), hidden = Random(rng, 3 * units, 3f), hPrev = hasPrev ? Random(rng, units, 1f) : [];
        float[] gates = (float[])pre.Clone(), hn = new float[units], h = new float[units];
        GruCell.Forward(gates, hidden, hPrev, hn, h);
        for (int j = 0; j < units; j++)
        {
            double r = Sigmoid(pre[j] + (double)hidden[j]), z = Sigmoid(pre[units + j] + (double)hidden[units + j]);
            double n = Math.Tanh(pre[2 * units + j] + r * hidden[2 * units + j]);
            Assert.Equal(r, gates[j], 1e-6);
            Assert.Equal(z, gates[units + j], 1e-6);
            Assert.Equal(n, gates[2 * units + j], 1e-6);
            Assert.Equal(hidden[2 * units + j], hn[j]);
            Assert.Equal((1 - z) * n + z * (hasPrev ? hPrev[j] : 0), h[j], 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TheLstmCellsStepBackMatchesItsFormulasInDoublePrecision(int units, bool hasPrev)
    {
        var rng = new Rng((ulong)units + 11);
        float[] gates = [.. Random(rng, 4 * units, 4f).Select(x => (float)Sigmoid(x))], c = Random(rng, units, 2f), cPrev = hasPrev ? Random(rng, units, 2f) : [];
        float[] dy = Random(rng, units, 1f), dh = Random(rng, units, 1f), dc0 = Random(rng, units, 1f);
        float[] dc = (float[])dc0.Clone(), dGates = new float[4 * units];
        LstmCell.Backward(gates, c, cPrev, dy, dh, dc, dGates);
        for (int j = 0; j < units; j++)
        {
            double i = gates[j], f = gates[units + j], u = gates[2 * units + j], o = gates[3 * units + j], t = Math.Tanh(c[j]);
            double dhv = dy[j] + (double)dh[j], dcv = dc0[j] + dhv * o * (1 - t * t), cp = hasPrev ? cPrev[j] : 0;
            Assert.Equal(dcv * u * i * (1 - i), dGates[j], 1e-5);
            Assert.Equal(dcv * cp * f * (1 - f), dGates[units + j], 1e-5);
            Assert.Equal(dcv * i * (1 - u * u), dGates[2 * units + j], 1e-5);
            Assert.Equal(dhv * t * o * (1 - o), dGates[3 * units + j], 1e-5);
            Assert.Equal(dcv * f, dc[j], 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TheGruCellsStepBackMatchesItsFormulasInDoublePrecision(int units, bool hasPrev)
    {
        var rng = new Rng((ulong)units + 13);
        float[] gates = [.. Random(rng, 3 * units, 3f).Select((x, k) => k < 2 * units ? (float)Sigmoid(x) : MathF.Tanh(x))];
        float[] hn = Random(rng, units, 2f), hPrev = hasPrev ? Random(rng, units, 1f) : [], dy = Random(rng, units, 1f), dh0 = Random(rng, units, 1f);
        float[] dh = (float[])dh0.Clone(), dInput = new float[3 * units], dHidden = new float[3 * units];
        GruCell.Backward(gates, hn, hPrev, dy, dh, dInput, dHidden);
        for (int j = 0; j < units; j++)
        {
            double r = gates[j], z = gates[units + j], n = gates[2 * units + j], hp = hasPrev ? hPrev[j] : 0;
            double dhv = dy[j] + (double)dh0[j], dan = dhv * (1 - z) * (1 - n * n), dar = dan * hn[j] * r * (1 - r), daz = dhv * (hp - n) * z * (1 - z);
            Assert.Equal(dar, dInput[j], 1e-5);
            Assert.Equal(daz, dInput[units + j], 1e-5);
            Assert.Equal(dan, dInput[2 * units + j], 1e-5);
            Assert.Equal(dar, dHidden[j], 1e-5);
            Assert.Equal(daz, dHidden[units + j], 1e-5);
            Assert.Equal(dan * r, dHidden[2 * units + j], 1e-5);
            Assert.Equal(dhv * z, dh[j], 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TheResetBeforeGruHalvesMatchTheirFormulasInDoublePrecision(int units, bool hasPrev)
    {
        var rng = new Rng((ulong)units + 17);
        float[] pre = Random(rng, 3 * units, 3f), hidden = Random(rng, 3 * units, 3f), hPrev = hasPrev ? Random(rng, units, 1f) : [];
        float[] gates = (float[])pre.Clone(), rh = new float[units], h = new float[units];
        GruCell.ForwardResetBefore(gates, hidden, hPrev, rh);
        GruCell.FinishResetBefore(gates, hidden, hPrev, h);
        for (int j = 0; j < units; j++)
        {
            double r = Sigmoid(pre[j] + (double)hidden[j]), z = Sigmoid(pre[units + j] + (double)hidden[units + j]);
            double n = Math.Tanh(pre[2 * units + j] + (double)hidden[2 * units + j]), hp = hasPrev ? hPrev[j] : 0;
            Assert.Equal(r, gates[j], 1e-6);
            Assert.Equal(z, gates[units + j], 1e-6);
            Assert.Equal(n, gates[2 * units + j], 1e-6);
            Assert.Equal(r * hp, rh[j], 1e-6);
            Assert.Equal((1 - z) * n + z * hp, h[j], 1e-6);
        }

        float[] dy = Random(rng, units, 1f), dh0 = Random(rng, units, 1f), dRh = Random(rng, units, 1f);
        float[] dh = (float[])dh0.Clone(), dGates = new float[3 * units];
        GruCell.BackwardResetBefore(gates, hPrev, dy, dh, dGates);
        float[] dhDirect = (float[])dh.Clone();
        GruCell.FinishBackwardResetBefore(gates, hPrev, dRh, dh, dGates);
        for (int j = 0; j < units; j++)
        {
            double r = gates[j], z = gates[units + j], n = gates[2 * units + j], hp = hasPrev ? hPrev[j] : 0, dhv = dy[j] + (double)dh0[j];
            Assert.Equal(dhv * (1 - z) * (1 - n * n), dGates[2 * units + j], 1e-5);
            Assert.Equal(dhv * (hp - n) * z * (1 - z), dGates[units + j], 1e-5);
            Assert.Equal(dhv * z, dhDirect[j], 1e-5);
            Assert.Equal(dRh[j] * hp * r * (1 - r), dGates[j], 1e-5);
            Assert.Equal(dhv * z + dRh[j] * r, dh[j], 1e-5);
        }
    }

    [Theory]
    [InlineData(31, false)]
    [InlineData(31, true)]
    [InlineData(64, false)]
    [InlineData(5, true)]
    public void TheRnnCellMatchesItsFormulasInDoublePrecision(int units, bool relu)
    {
        var rng = new Rng((ulong)units + (relu ? 19UL : 23UL));
        float[] pre = Random(rng, units, 3f), h = new float[units];
        RnnCell.Forward(pre, h, relu);
        float[] dy = Random(rng, units, 1f), dh = Random(rng, units, 1f), dPre = new float[units];
        RnnCell.Backward(h, dy, dh, dPre, relu);
        for (int j = 0; j < units; j++)
        {
            double expected = relu ? Math.Max(pre[j], 0) : Math.Tanh(pre[j]);
            Assert.Equal(expected, h[j], 1e-6);
            double d = dy[j] + (double)dh[j];
            Assert.Equal(relu ? (h[j] > 0 ? d : 0) : d * (1 - (double)h[j] * h[j]), dPre[j], 1e-5);
        }
        Assert.True(float.IsNaN(Run(float.NaN)), "a NaN pre-activation stays NaN (a diverged step stays visible)");
        // backward from a NaN output: ReLU passes dy + dh on (torch's threshold_backward zeroes only where h ≤ 0), tanh's is NaN
        float[] back = new float[units];
        RnnCell.Backward(Enumerable.Repeat(float.NaN, units).ToArray(), Enumerable.Repeat(1f, units).ToArray(), Enumerable.Repeat(0.5f, units).ToArray(), back, relu);
        Assert.All(back, v => Assert.True(relu ? v == 1.5f : float.IsNaN(v), $"{v}"));

        float Run(float x)
        {
            float[] one = [x], y = new float[1];
            RnnCell.Forward(one, y, relu);
            return y[0];
        }
    }

    [Fact]
    public void CellsRefuseBuffersTooSmallForTheirUnits()
    {
        var e = Assert.Throws<ArgumentException>(() => LstmCell.Forward(new float[4 * 8 - 1], default, new float[8], new float[8]));
        Assert.Contains("8 units", e.Message);
        e = Assert.Throws<ArgumentException>(() => GruCell.Forward(new float[3 * 8], new float[3 * 8], new float[7], new float[8], new float[8]));
        Assert.Contains("hPrev [7]", e.Message);
        e = Assert.Throws<ArgumentException>(() => LstmCell.Backward(new float[4 * 8], new float[8], default, new float[8], new float[8], new float[8], new float[4 * 8 - 2]));
        Assert.Contains("dGates [30]", e.Message);
        e = Assert.Throws<ArgumentException>(() => GruCell.Backward(new float[3 * 8], new float[8], default, new float[7], new float[8], new float[3 * 8], new float[3 * 8]));
        Assert.Contains("dy [7]", e.Message);
        e = Assert.Throws<ArgumentException>(() => GruCell.ForwardResetBefore(new float[3 * 8], new float[8], default, new float[8]));
        Assert.Contains("hiddenGates 2H", e.Message);
        e = Assert.Throws<ArgumentException>(() => RnnCell.Backward(new float[8], new float[8], new float[8], new float[6], relu: false));
        Assert.Contains("dPre [6]", e.Message);
    }

    [Fact]
    public void BatchedCellsRefuseSizesWhoseProductsWouldWrapAndRowsThatOverlap()
    {
        // 65536 rows of 65536 units: batch · 4H is 2³⁴, which an int product wraps to 0 and every check passed, before the
        // row kernels wrote through pointers far past these 16-value buffers
        const int Big = 65536;
        float[] small = new float[16];
        Assert.Throws<ArgumentException>(() => LstmCell.ForwardRows(Big, Big, small, default, small, small, Big));
        Assert.Throws<ArgumentException>(() => LstmCell.BackwardRows(Big, Big, small, small, default, small, Big, small, small, small));
        Assert.Throws<ArgumentException>(() => GruCell.ForwardRows(Big, Big, small, small, default, Big, small, small, Big));
        Assert.Throws<ArgumentException>(() => GruCell.BackwardRows(Big, Big, small, small, default, Big, small, Big, small, small, small));
        // a row stride below the row's units: rows overlap, and the parts split over the cores would race on them
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LstmCell.ForwardRows(4, 8, new float[4 * 32], default, new float[32], new float[64], ldy: 7));
        Assert.Contains("at least the 8 values", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GruCell.ForwardRows(4, 8, new float[4 * 24], new float[4 * 24], new float[64], 5, new float[32], new float[32], 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => LstmCell.ForwardRows(-1, 8, new float[32], default, new float[8], new float[8], 8));
        // and a batch of none does nothing
        LstmCell.ForwardRows(0, 8, default, default, default, default, 8);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static float[] Random(Rng rng, int n, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (rng.NextFloat() * 2 - 1) * scale;
        return x;
    }
}
