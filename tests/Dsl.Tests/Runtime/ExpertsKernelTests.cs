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
}
