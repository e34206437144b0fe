using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Label smoothing of the class loss equals PyTorch 1.13's <c>F.cross_entropy(label_smoothing=ε, ignore_index=-100)</c>
/// (Fixtures/make_fixtures.py, make_label_smoothing): the loss and its gradient at three ε, a recurrent model's training
/// step and the Transformer encoder–decoder's; a value outside [0, 1] is refused and changes nothing.
/// </summary>
public class LabelSmoothingTests
{
    private const int Classes = 7;

    [Fact]
    public void TheLossAndItsGradientMatchPyTorch()
    {
        var expected = SafeTensors.Read(Fixture.Path("label_smoothing.safetensors"));
        float[] logits = expected["logits"].ToFloat(), smoothing = expected["smoothing"].ToFloat();
        int[] targets = expected["targets"].ToInt32();
        for (int i = 0; i < smoothing.Length; i++)
        {
            var gradient = new float[logits.Length];
            float loss = Losses.SoftmaxCrossEntropy(logits, targets, Classes, gradient, labelSmoothing: smoothing[i]);
            Tolerance.AssertClose(expected[$"loss_{i}"].ToFloat(), [loss], $"loss at ε = {smoothing[i]}");
            Tolerance.AssertClose(expected[$"grad_{i}"].ToFloat(), gradient, $"gradient at ε = {smoothing[i]}");
            Assert.All(gradient.AsSpan(2 * Classes, Classes).ToArray(), g => Assert.Equal(0f, g)); // an ignored row
            Assert.Equal(loss, Losses.SoftmaxCrossEntropy(logits, targets, Classes, default, labelSmoothing: smoothing[i]));
        }
        Assert.NotEqual(expected["loss_0"].ToFloat()[0], Losses.SoftmaxCrossEntropy(logits, targets, Classes, default), 3);
    }

    [Fact]
    public void NoSmoothingIsThePlainLossBitForBit()
    {
        var rng = new Rng(31);
        float[] logits = Enumerable.Range(0, 9 * 40).Select(_ => rng.NextNormal() * 4).ToArray();
        int[] targets = Enumerable.Range(0, 9).Select(i => i == 3 ? -100 : rng.NextInt(40)).ToArray();
        float[] plain = new float[logits.Length], zero = new float[logits.Length];
        Assert.Equal(Losses.SoftmaxCrossEntropy(logits, targets, 40, plain), Losses.SoftmaxCrossEntropy(logits, targets, 40, zero, labelSmoothing: 0f));
        Assert.Equal(plain, zero);
        Assert.True(float.IsNaN(Losses.SoftmaxCrossEntropy(logits, Enumerable.Repeat(-100, 9).ToArray(), 40, zero, labelSmoothing: 0.1f)), "every target ignored: NaN, as PyTorch");
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void ASmoothingOutsideZeroToOneIsRefusedAndChangesNothing(float bad)
    {
        float[] logits = [1f, 2f, 3f], gradient = [9f, 9f, 9f];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.SoftmaxCrossEntropy(logits, [1], 3, gradient, labelSmoothing: bad));
        Assert.Equal("labelSmoothing", e.ParamName);
        Assert.Contains("[0, 1]", e.Message);
        Assert.Equal([9f, 9f, 9f], gradient);

        var model = new Models.Lstm { LabelSmoothing = 0.2f };
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => model.LabelSmoothing = bad);
        Assert.Equal("LabelSmoothing", refused.ParamName);
        Assert.Contains(bad.ToString(System.Globalization.CultureInfo.CurrentCulture), refused.Message);
        Assert.Equal(0.2f, model.LabelSmoothing);
    }

    [Fact]
    public void ARecurrentModelsTrainingStepMatchesPyTorch()
    {
        var model = new Models.Lstm();
        Assert.Equal(0f, model.LabelSmoothing);
        model.Parameters.Load(Fixture.Path("LstmSmoothed.weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path("LstmSmoothed.expected.safetensors"));
        model.LabelSmoothing = expected["label_smoothing"].ToFloat()[0];
        var input = ParityModel.Span(expected["input"].ToInt32(), expected["input"].Shape);
        var targets = ParityModel.Span(expected["targets"].ToInt32(), expected["targets"].Shape);
        model.Parameters.ZeroGrad();
        Tolerance.AssertClose(expected["loss"].ToFloat(), [model.Backward(input, targets)], "LstmSmoothed loss");
        Tolerance.AssertGradients(expected, model.Parameters, "LstmSmoothed");
        // the evaluation is the same loss (PyTorch's criterion applies its smoothing in eval mode too), through the interface as well
        Tolerance.AssertClose(expected["loss"].ToFloat(), [model.Loss(input, targets)], "LstmSmoothed evaluation");
        Tolerance.AssertClose(expected["loss"].ToFloat(), [((IModel<int>)model).Loss(input, targets)], "LstmSmoothed evaluation through IModel");
        ((IModel)model).LabelSmoothing = 0f;
        Assert.Equal(0f, model.LabelSmoothing);
        Assert.NotEqual(expected["loss"].ToFloat()[0], model.Loss(input, targets), 3);
    }

    [Fact]
    public void TheTransformersTrainingStepMatchesPyTorch()
    {
        var model = new TransformerSeq2Seq();
        model.Parameters.Load(Fixture.Path("TransformerSeq2SeqSmoothed.weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path("TransformerSeq2SeqSmoothed.expected.safetensors"));
        model.LabelSmoothing = expected["label_smoothing"].ToFloat()[0];
        Assert.Equal(model.LabelSmoothing, model.Decoder.LabelSmoothing);
        ReadOnlyTensorSpan<int> Tokens(string key) => ParityModel.Span(expected[key].ToInt32(), expected[key].Shape);
        int[] lengths = expected["lengths"].ToInt32();
        model.Parameters.ZeroGrad();
        float loss = model.Backward(Tokens("source"), lengths, Tokens("decoder_input"), Tokens("targets"));
        Tolerance.AssertClose(expected["loss"].ToFloat(), [loss], "TransformerSeq2SeqSmoothed loss");
        Tolerance.AssertGradients(expected, model.Parameters, "TransformerSeq2SeqSmoothed");
        Tolerance.AssertClose(expected["loss"].ToFloat(), [model.Loss(Tokens("source"), lengths, Tokens("decoder_input"), Tokens("targets"))], "TransformerSeq2SeqSmoothed evaluation");
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LabelSmoothing = 2f);
        Assert.Equal(expected["label_smoothing"].ToFloat()[0], model.Decoder.LabelSmoothing);
    }

    [Fact]
    public void TheTrainersEvaluationIsTheModelsSmoothedLoss()
    {
        var model = new StatefulLstm(seed: 2) { LabelSmoothing = 0.3f };
        var items = Enumerable.Range(0, 6).Select(i =>
        {
            int[] x = Enumerable.Range(i, 8).Select(t => t % 11).ToArray();
            return (x, x.Select(t => (t + 1) % 11).ToArray());
        }).ToArray();
        float evaluated = new Trainer(model, new Sgd(model.Parameters, learningRate: 0.1f)).Evaluate(new Batcher(items, 6, shuffle: false)).Loss;
        var input = new ReadOnlyTensorSpan<int>(items.SelectMany(p => p.Item1).ToArray(), [6, 8]);
        var targets = new ReadOnlyTensorSpan<int>(items.SelectMany(p => p.Item2).ToArray(), [6, 8]);
        Assert.Equal(model.Loss(input, targets), evaluated, 1e-5f);
        model.LabelSmoothing = 0f;
        Assert.NotEqual(model.Loss(input, targets), evaluated, 3);
    }

    [Fact]
    public void ACheckpointKeepsTheSmoothingAndRefusesAnother()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dsl-smoothing-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, new Models.Lstm(seed: 1) { LabelSmoothing = 0.2f });
            var other = new Models.Lstm(seed: 2);
            float before = other.Parameters[0].AsSpan()[0];
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other));
            Assert.Contains("label smoothing was 0.2, not 0", e.Message);
            Assert.Equal(before, other.Parameters[0].AsSpan()[0]);
            other.LabelSmoothing = 0.2f;
            Checkpoint.Load(path, other);
            Assert.Equal(new Models.Lstm(seed: 1).Parameters[0].AsSpan()[0], other.Parameters[0].AsSpan()[0]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AModelWrittenByHandHasNoneAndRefusesOne()
    {
        IModel model = new NoSmoothing();
        Assert.Equal(0f, model.LabelSmoothing);
        model.LabelSmoothing = 0f;
        Assert.Contains("NoSmoothing has no label smoothing", Assert.Throws<NotSupportedException>(() => model.LabelSmoothing = 0.1f).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LabelSmoothing = -1f);
    }

    private sealed class NoSmoothing : IModel
    {
        public ParameterSet Parameters { get; } = new([]);
        public int InputWidth => 1;
        public int OutputWidth => 1;
        public bool ReturnsSequences => true;
        public Rng DropoutRandom { get; } = new(0);
    }
}
