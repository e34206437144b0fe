using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>Parameters are initialised deterministically with the literature's defaults.</summary>
public class InitializationTests
{
    [Fact]
    public void TheSameSeedGivesTheSameWeightsAndAnotherSeedOthers()
    {
        var a = new LstmStackedBidirectional(seed: 11);
        var b = new LstmStackedBidirectional(seed: 11);
        var c = new LstmStackedBidirectional(seed: 12);
        foreach (Parameter p in a.Parameters)
        {
            Assert.Equal(p.AsSpan().ToArray(), b.Parameters[p.Name].AsSpan().ToArray());
            if (!p.Name.Contains("bias")) Assert.NotEqual(p.AsSpan().ToArray(), c.Parameters[p.Name].AsSpan().ToArray());
        }
    }

    [Fact]
    public void ParametersFollowPyTorchStateDictNamesOrderAndShapes()
    {
        var model = new LstmStackedBidirectional();
        Assert.Equal(new[]
        {
            "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l0_reverse", "lstm.bias_hh_l0_reverse",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
            "lstm.weight_ih_l1_reverse", "lstm.weight_hh_l1_reverse", "lstm.bias_ih_l1_reverse", "lstm.bias_hh_l1_reverse",
            "dense.weight", "dense.bias",
        }, model.Parameters.Select(p => p.Name));
        Assert.Equal(new[] { 16, 3 }, model.Parameters["lstm.weight_ih_l0"].Shape.ToArray());
        Assert.Equal(new[] { 16, 8 }, model.Parameters["lstm.weight_ih_l1"].Shape.ToArray());
        Assert.Equal(new[] { 16, 4 }, model.Parameters["lstm.weight_hh_l1_reverse"].Shape.ToArray());
        Assert.Equal(new[] { 3, 8 }, model.Parameters["dense.weight"].Shape.ToArray());
    }

    [Fact]
    public void RepeatedAndExplicitNamesArePrefixes()
    {
        Assert.Contains(new LstmGruDense().Parameters, p => p.Name == "dense_1.weight");
        var named = new GcNamedStack();
        Assert.Equal(new[] { "lstm", "decoder", "head" }, named.Parameters.Select(p => p.Name.Split('.')[0]).Distinct());
    }

    [Fact]
    public void RecurrentWeightsAreOrthogonalPerGateAndInputWeightsXavier()
    {
        var model = new Models.Lstm(seed: 3); // X = 5, H = 7
        float[] whh = model.Parameters["lstm.weight_hh_l0"].AsSpan().ToArray();
        const int H = 7;
        for (int gate = 0; gate < 4; gate++)
        {
            for (int i = 0; i < H; i++)
            {
                for (int j = 0; j < H; j++)
                {
                    double dot = 0;
                    for (int k = 0; k < H; k++) dot += whh[(gate * H + i) * H + k] * whh[(gate * H + j) * H + k];
                    Assert.Equal(i == j ? 1.0 : 0.0, dot, 1e-5);
                }
            }
        }
        float bound = MathF.Sqrt(6f / (5 + 4 * H));
        Assert.All(model.Parameters["lstm.weight_ih_l0"].AsSpan().ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void LstmForgetBiasIsOneAndOtherBiasesZero()
    {
        var model = new Models.Lstm();
        float[] bih = model.Parameters["lstm.bias_ih_l0"].AsSpan().ToArray();
        Assert.Equal(Enumerable.Repeat(0f, 7).Concat(Enumerable.Repeat(1f, 7)).Concat(Enumerable.Repeat(0f, 14)), bih);
        Assert.All(model.Parameters["lstm.bias_hh_l0"].AsSpan().ToArray(), v => Assert.Equal(0f, v));
        Assert.All(model.Parameters["dense.bias"].AsSpan().ToArray(), v => Assert.Equal(0f, v));
        // PyTorch's uniform initialiser as WeightInit draws the biases as torch does, U(±1/√H) (they had stayed zero), and
        // the ForgetBias written out (0) still sets the forget block
        var named = new GcNamedStack(); // Lstm(hidden: 5, ForgetBias = 0f, WeightInit = Init.PyTorch, RecurrentInit = Init.PyTorch)
        float bound = 1f / MathF.Sqrt(5);
        float[] drawnIh = named.Parameters["lstm.bias_ih_l0"].AsSpan().ToArray(), drawnHh = named.Parameters["lstm.bias_hh_l0"].AsSpan().ToArray();
        Assert.Equal(new float[5], drawnIh[5..10]);
        foreach (float[] drawn in new[] { drawnIh[..5].Concat(drawnIh[10..]).ToArray(), drawnHh })
        {
            Assert.All(drawn, v => Assert.InRange(v, -bound, bound));
            Assert.True(drawn.Distinct().Count() > drawn.Length / 2, "drawn, not constant");
        }
        Assert.All(named.Parameters["lstm.weight_hh_l0"].AsSpan().ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void PyTorchsInitialiserDrawsTheBiasesAsTorchDoes()
    {
        // nn.LSTM: every parameter U(±1/√H), no forget-gate constant; nn.Linear: the bias U(±1/√fan_in)
        var model = new TorchInitialised();
        float lstmBound = 1f / MathF.Sqrt(6), denseBound = 1f / MathF.Sqrt(6);
        foreach (string name in new[] { "lstm.bias_ih_l0", "lstm.bias_hh_l0", "lstm.weight_ih_l0" }) // (weight_hh follows RecurrentInit: orthogonal here)
        {
            float[] values = model.Parameters[name].AsSpan().ToArray();
            Assert.All(values, v => Assert.InRange(v, -lstmBound, lstmBound));
            Assert.True(values.Distinct().Count() > values.Length / 2, $"{name} drawn");
        }
        float[] bias = model.Parameters["dense.bias"].AsSpan().ToArray();
        Assert.All(bias, v => Assert.InRange(v, -denseBound, denseBound));
        Assert.True(bias.Distinct().Count() == bias.Length, "dense.bias drawn");
        // the default initialisers keep zero biases
        Assert.All(new Models.Lstm().Parameters["dense.bias"].AsSpan().ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ReluLayersUseHeInitialisation()
    {
        var model = new RnnStackedBidirectional(); // Dense(6, Relu) after a bidirectional RNN of 2 × 3
        float bound = MathF.Sqrt(6f / 6);
        float[] w = model.Parameters["dense.weight"].AsSpan().ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max(MathF.Abs) > MathF.Sqrt(6f / (6 + 6)), "He's bound is wider than Xavier's; some weight should use it");
    }

    [Fact]
    public void OrthogonalRefusesABufferOfAnotherShapeBeforeWritingIt()
    {
        // a short buffer had been filled up to its end, then overrun with a bare IndexOutOfRangeException
        var w = new float[5];
        var e = Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(w, 2, 3, new Rng(1)));
        Assert.Contains("expected 2 × 3 = 6 values, got 5", e.Message);
        Assert.All(w, v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(new float[7], 2, 3, new Rng(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Orthogonal(new float[0], -1, 3, new Rng(1)));
    }

    [Fact]
    public void OrthogonalHandlesTallAndWideMatrices()
    {
        var rng = new Rng(1);
        foreach (var (rows, cols) in new[] { (3, 8), (8, 3), (5, 5) })
        {
            var w = new float[rows * cols];
            Initializers.Orthogonal(w, rows, cols, rng);
            int n = Math.Min(rows, cols);
            bool byRows = rows <= cols;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double dot = 0;
                    for (int k = 0; k < (byRows ? cols : rows); k++)
                        dot += byRows ? w[i * cols + k] * w[j * cols + k] : w[k * cols + i] * w[k * cols + j];
                    Assert.Equal(i == j ? 1.0 : 0.0, dot, 1e-5);
                }
            }
        }
    }

    [Fact]
    public void InitialiserArgumentsThatCannotMakeWeightsAreRefused()
    {
        var rng = new Rng(1);
        var w = new float[4];
        // blocks of 0 rows looped for ever; a fan-in of 0 filled the weights with ±∞; −1 × −1 matched 1 value
        Assert.Equal("blockRows", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Apply(Init.Orthogonal, w, 2, 2, 2, 2, 0, 0f, rng)).ParamName);
        Assert.Equal("fanIn", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Apply(Init.HeUniform, w, 2, 2, 0, 2, 2, 0f, rng)).ParamName);
        Assert.Equal("fanOut", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Apply(Init.XavierNormal, w, 2, 2, 2, 0, 2, 0f, rng)).ParamName);
        Assert.Equal("bound", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Apply(Init.PyTorch, w, 2, 2, 2, 2, 2, float.NaN, rng)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Apply(Init.Zeros, new float[1], -1, -1, 1, 1, 1, 0f, rng));
        Assert.Equal(new float[4], w);
        Initializers.Apply(Init.Orthogonal, w, 2, 2, 2, 2, 2, 0f, rng);
        Assert.Equal(1f, w[0] * w[0] + w[1] * w[1], 1e-5f);
    }

    [Fact]
    public void ANamedTensorRefusesANegativeDimension()
    {
        var e = Assert.Throws<ArgumentException>(() => new NamedTensor("h", new float[2], -1, -2));
        Assert.Contains("negative dimension", e.Message);
        Assert.Throws<ArgumentException>(() => new NamedTensor("h", new float[0], 65536, 65536, 65536, 65536));
        Assert.Equal(0, new NamedTensor("h", new float[0], 3, 0).AsSpan().Length);
    }
}

[Input(features: 3)]
[Lstm(hidden: 6, WeightInit = Init.PyTorch)]
[Dense(4, WeightInit = Init.PyTorch)]
public partial class TorchInitialised;
