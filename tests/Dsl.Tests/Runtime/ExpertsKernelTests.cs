using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>The mixture of experts' routing and grouping (Kernels.Experts), and its refusals, apart from the layer that calls them.</summary>
public class ExpertsKernelTests
{
    private static (float[] Probs, float[] Weights, int[] Choice, int[] Positions, int[] Sources, int[] Offsets) Route(float[] logits, int rows, int experts, int k, bool normalize)
    {
        float[] probs = (float[])logits.Clone(), weights = new float[rows * k];
        int[] choice = new int[rows * k], positions = new int[rows * k], sources = new int[rows * k], offsets = new int[experts + 1];
        Experts.Route(rows, experts, k, normalize, probs, weights, choice, positions, sources, offsets);
        return (probs, weights, choice, positions, sources, offsets);
    }

    [Fact]
    public void EachRowGoesToItsMostProbableExpertsMostProbableFirst()
    {
        // row 0 prefers 2, then 0; row 1 prefers 3, then 1; row 2 holds a tie, which goes to the lower index first
        float[] logits = [1f, -1f, 2f, 0f, /**/ -2f, 0.5f, 0f, 3f, /**/ 1f, 1f, -1f, -1f];
        var r = Route(logits, rows: 3, experts: 4, k: 2, normalize: false);
        Assert.Equal([2, 0, 3, 1, 0, 1], r.Choice);
        for (int row = 0; row < 3; row++)
        {
            float[] expected = logits.Skip(row * 4).Take(4).Select(MathF.Exp).ToArray();
            float sum = expected.Sum();
            for (int e = 0; e < 4; e++) Assert.Equal(expected[e] / sum, r.Probs[row * 4 + e], 1e-6f);
            for (int j = 0; j < 2; j++) Assert.Equal(r.Probs[row * 4 + r.Choice[row * 2 + j]], r.Weights[row * 2 + j]);
        }
    }

    [Fact]
    public void NormalisedWeightsAddToOne()
    {
        var rng = new Rng(5);
        float[] logits = Enumerable.Range(0, 7 * 5).Select(_ => rng.NextNormal()).ToArray();
        var r = Route(logits, rows: 7, experts: 5, k: 3, normalize: true);
        for (int row = 0; row < 7; row++)
        {
            Assert.Equal(1f, r.Weights.Skip(row * 3).Take(3).Sum(), 1e-6f);
            Assert.True(r.Weights[row * 3] >= r.Weights[row * 3 + 1] && r.Weights[row * 3 + 1] >= r.Weights[row * 3 + 2]);
            Assert.Equal(3, r.Choice.Skip(row * 3).Take(3).Distinct().Count());
        }
    }

    [Fact]
    public void TheRowsAreGroupedByExpertInTheOrderOfTheRows()
    {
        var rng = new Rng(6);
        int rows = 11, experts = 4, k = 2;
        float[] logits = Enumerable.Range(0, rows * experts).Select(_ => 2f * rng.NextNormal()).ToArray();
        var r = Route(logits, rows, experts, k, normalize: true);
        Assert.Equal(0, r.Offsets[0]);
        Assert.Equal(rows * k, r.Offsets[experts]);
        for (int e = 0; e < experts; e++)
        {
            Assert.Equal(r.Choice.Count(c => c == e), r.Offsets[e + 1] - r.Offsets[e]);
            int[] group = r.Sources[r.Offsets[e]..r.Offsets[e + 1]];
            Assert.Equal(group.Order().ToArray(), group); // in the order of the rows
        }
        // each choice's position holds a copy of its row, in its expert's group, and no position serves two choices
        Assert.Equal(rows * k, r.Positions.Distinct().Count());
        for (int slot = 0; slot < rows * k; slot++)
        {
            int at = r.Positions[slot], e = r.Choice[slot];
            Assert.Equal(slot / k, r.Sources[at]);
            Assert.InRange(at, r.Offsets[e], r.Offsets[e + 1] - 1);
        }
    }

    [Fact]
    public void BadSizesAreRefusedNamingWhatWasExpected()
    {
        var e1 = Assert.Throws<ArgumentException>(() => Experts.Route(2, 3, 4, true, new float[6], new float[8], new int[8], new int[8], new int[8], new int[4]));
        Assert.Contains("1 ≤ topK ≤ experts", e1.Message);
        Assert.Contains("topK 4", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Experts.Route(2, 3, 2, true, new float[5], new float[4], new int[4], new int[4], new int[4], new int[4]));
        Assert.Contains("need 6 logits", e2.Message);
        Assert.Contains("got 5", e2.Message);
        // the experts' weights of another shape: [E, I, D] expected
        int[] offsets = [0, 2, 4];
        var e3 = Assert.Throws<ArgumentException>(() => Experts.Forward(Activation.Silu, true, 2, 2, 3, 4, new float[6], new float[2 * 8 * 3 - 1], default, new float[2 * 3 * 4], default,
            new float[4], new int[4], new int[4], offsets, new float[12], new float[32], new float[16], new float[12], new float[6]));
        Assert.Contains("weight_in [2, 8, 3]", e3.Message);
        // Forward before Route: the groups do not hold the rows' choices
        var e4 = Assert.Throws<ArgumentException>(() => Experts.Forward(Activation.Silu, true, 2, 2, 3, 4, new float[6], new float[2 * 8 * 3], default, new float[2 * 3 * 4], default,
            new float[4], new int[4], new int[4], new int[3], new float[12], new float[32], new float[16], new float[12], new float[6]));
        Assert.Contains("Route first", e4.Message);
    }

    /// <summary>
    /// Forward against the mixture written out in double, row by row (an expert no row chose among them), and Backward's
    /// gradients against difference quotients of that reference with the routing held: the weights', each row's, and the
    /// experts' weights' and biases'. No rows at all: nothing to do, nothing refused.
    /// </summary>
    [Fact]
    public void ForwardAndBackwardMatchTheMixtureWrittenOut()
    {
        const int rows = 5, E = 4, k = 2, D = 3, U = 2, I = 2 * U;
        var rng = new Rng(7);
        float[] Draw(int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => scale * rng.NextNormal()).ToArray();
        float[] x = Draw(rows * D), wIn = Draw(E * I * D, 0.7f), bIn = Draw(E * I, 0.3f), wOut = Draw(E * D * U, 0.7f), bOut = Draw(E * D, 0.3f), dy = Draw(rows * D);
        float[] logits = Draw(rows * E);
        for (int r = 0; r < rows; r++) logits[r * E + 3] = -10f; // expert 3: no row's choice
        var route = Route(logits, rows, E, k, normalize: true);
        Assert.Equal(0, route.Offsets[4] - route.Offsets[3]);
        float[] gathered = new float[rows * k * D], pre = new float[rows * k * I], hidden = new float[rows * k * U], expertOut = new float[rows * k * D], y = new float[rows * D];
        Experts.Forward(Activation.Silu, true, rows, k, D, U, x, wIn, bIn, wOut, bOut, route.Weights, route.Positions, route.Sources, route.Offsets, gathered, pre, hidden, expertOut, y);

        double Silu(double v) => v / (1 + Math.Exp(-v));
        double[] Expert(int e, double[] row, double[] win, double[] bin, double[] wout, double[] bout)
        {
            var h = new double[U];
            for (int u = 0; u < U; u++)
            {
                double value = bin[e * I + u], gate = bin[e * I + U + u];
                for (int d = 0; d < D; d++)
                {
                    value += win[(e * I + u) * D + d] * row[d];
                    gate += win[(e * I + U + u) * D + d] * row[d];
                }
                h[u] = value * Silu(gate);
            }
            var o = new double[D];
            for (int d = 0; d < D; d++)
            {
                o[d] = bout[e * D + d];
                for (int u = 0; u < U; u++) o[d] += wout[(e * D + d) * U + u] * h[u];
            }
            return o;
        }
        // L = Σ dy · y with the routing held: the reference's value at the given inputs and weights
        double Loss(double[] xs, double[] win, double[] bin, double[] wout, double[] bout, double[] w)
        {
            double sum = 0;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < k; j++)
                {
                    double[] o = Expert(route.Choice[r * k + j], xs[(r * D)..(r * D + D)], win, bin, wout, bout);
                    for (int d = 0; d < D; d++) sum += dy[r * D + d] * w[r * k + j] * o[d];
                }
            return sum;
        }
        double[] X = [.. x.Select(v => (double)v)], WIn = [.. wIn.Select(v => (double)v)], BIn = [.. bIn.Select(v => (double)v)], WOut = [.. wOut.Select(v => (double)v)],
            BOut = [.. bOut.Select(v => (double)v)], W = [.. route.Weights.Select(v => (double)v)];
        for (int r = 0; r < rows; r++)
        {
            var expected = new double[D];
            for (int j = 0; j < k; j++)
            {
                double[] o = Expert(route.Choice[r * k + j], X[(r * D)..(r * D + D)], WIn, BIn, WOut, BOut);
                for (int d = 0; d < D; d++) expected[d] += W[r * k + j] * o[d];
            }
            for (int d = 0; d < D; d++) Assert.Equal(expected[d], y[r * D + d], 1e-5);
        }

        float[] dWeights = new float[rows * k], dExpertOut = new float[rows * k * D], dHidden = new float[rows * k * U], dPre = new float[rows * k * I];
        float[] dWIn = new float[wIn.Length], dBIn = new float[bIn.Length], dWOut = new float[wOut.Length], dBOut = new float[bOut.Length], dx = new float[rows * D];
        Experts.Backward(Activation.Silu, true, rows, k, D, U, wIn, wOut, route.Weights, route.Positions, route.Sources, route.Offsets, gathered, pre, hidden, expertOut, dy,
            dWeights, dExpertOut, dHidden, dPre, dWIn, dBIn, dWOut, dBOut, dx);
        // each gradient against a central difference of the reference in double
        void Check(float[] analytic, double[] at, string what)
        {
            for (int i = 0; i < at.Length; i++)
            {
                double keep = at[i], h = 1e-6;
                at[i] = keep + h;
                double up = Loss(X, WIn, BIn, WOut, BOut, W);
                at[i] = keep - h;
                double down = Loss(X, WIn, BIn, WOut, BOut, W);
                at[i] = keep;
                Assert.True(Math.Abs((up - down) / (2 * h) - analytic[i]) <= 1e-4 + 1e-4 * Math.Abs(analytic[i]), $"{what}[{i}]: analytic {analytic[i]}, numeric {(up - down) / (2 * h)}");
            }
        }
        Check(dWeights, W, "dWeights");
        Check(dx, X, "dx");
        Check(dWIn, WIn, "dWeightIn");
        Check(dBIn, BIn, "dBiasIn");
        Check(dWOut, WOut, "dWeightOut");
        Check(dBOut, BOut, "dBiasOut");
        // the expert no row chose learns nothing
        Assert.All(dWIn.AsSpan(3 * I * D, I * D).ToArray(), g => Assert.Equal(0f, g));

        // no rows: the groups empty, nothing written, nothing refused
        var none = Route([], 0, E, k, normalize: true);
        Assert.Equal(new int[E + 1], none.Offsets);
        Experts.Forward(Activation.Silu, true, 0, k, D, U, [], wIn, bIn, wOut, bOut, [], [], [], none.Offsets, [], [], [], [], []);
        Experts.Backward(Activation.Silu, true, 0, k, D, U, wIn, wOut, [], [], [], none.Offsets, [], [], [], [], [], [], [], [], [], new float[wIn.Length], [], new float[wOut.Length], [], []);
        Experts.RouteBackward(0, E, k, true, [], [], [], [], []);
    }

    /// <summary>
    /// The load-balancing loss over padded sequences: counts, means and the slope over the valid rows alone (N = 6 of 8 here, not
    /// every row), as transformers' load_balancing_loss_func with its attention mask; its gradient only in valid rows, back through
    /// the softmax.
    /// </summary>
    [Fact]
    public void TheLoadBalancingLossCountsTheValidRowsAlone()
    {
        const int T = 4, B = 2, rows = T * B, E = 3, k = 2;
        const float alpha = 0.3f;
        int[] lengths = [4, 2]; // sequence 1's steps 2 and 3 padded: rows 5 and 7 (time-major, row = t · B + b)
        var rng = new Rng(9);
        float[] logits = Enumerable.Range(0, rows * E).Select(_ => rng.NextNormal()).ToArray();
        var route = Route(logits, rows, E, k, normalize: true);
        float[] balance = new float[E];
        float loss = 0.5f;
        Experts.Balance(rows, B, k, alpha, route.Probs, route.Choice, lengths, balance, ref loss);
        int[] valid = [0, 1, 2, 3, 4, 6];
        double n = valid.Length, expectedLoss = 0;
        var count = new double[E];
        var mean = new double[E];
        foreach (int r in valid)
        {
            for (int j = 0; j < k; j++) count[route.Choice[r * k + j]]++;
            for (int e = 0; e < E; e++) mean[e] += route.Probs[r * E + e] / n;
        }
        for (int e = 0; e < E; e++) expectedLoss += count[e] / n * mean[e];
        Assert.Equal(0.5 + alpha * E * expectedLoss, loss, 1e-6);
        for (int e = 0; e < E; e++) Assert.Equal(alpha * E * count[e] / (n * n), balance[e], 1e-6);

        float[] dLogits = new float[rows * E];
        Experts.BalanceBackward(rows, B, route.Probs, balance, lengths, dLogits);
        foreach (int r in new[] { 5, 7 }) Assert.All(dLogits.AsSpan(r * E, E).ToArray(), g => Assert.Equal(0f, g));
        // a valid row's: the loss's slope in each logit, by a difference quotient of the probabilities' softmax (the counts held)
        foreach (int r in valid)
            for (int e = 0; e < E; e++)
            {
                double Term(double shift)
                {
                    var z = Enumerable.Range(0, E).Select(i => (double)logits[r * E + i] + (i == e ? shift : 0)).ToArray();
                    double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
                    return Enumerable.Range(0, E).Sum(i => alpha * E * count[i] / (n * n) * Math.Exp(z[i] - max) / sum);
                }
                Assert.Equal((Term(1e-5) - Term(-1e-5)) / 2e-5, dLogits[r * E + e], 1e-5);
            }
        // without lengths every row counts
        float all = 0f;
        Experts.Balance(rows, B, k, alpha, route.Probs, route.Choice, default, balance, ref all);
        Assert.NotEqual(loss - 0.5f, all, 1e-4f);
        Assert.Throws<ArgumentException>(() => Experts.Balance(rows, B, k, alpha, route.Probs, route.Choice, [4, 2, 1], balance, ref all));
    }
}
