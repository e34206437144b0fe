using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// Encoder–decoder training steps match a hand-written PyTorch seq2seq (Fixtures/make_fixtures.py, Seq2Seq) on the
/// same weights: logits, attention weights, loss and the gradient of every parameter of encoder, bridge and decoder,
/// for each attention score, with teacher forcing and free running (ratio 0).
/// </summary>
public class EncoderDecoderParityTests
{
    private interface ICase
    {
        ParameterSet Parameters { get; }
        Tensor<float> Forward(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput);
        float Backward(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput, ReadOnlyTensorSpan<int> targets, float teacherForcing);
        Tensor<float> Attention(ReadOnlyTensorSpan<int> source, int[] lengths, ReadOnlyTensorSpan<int> decoderInput);
    }

    private sealed class Case<TDecoder>(EncoderDecoderModel<int, S2sLstmEncoder, TDecoder>? lstm, EncoderDecoderModel<int, S2sGruEncoder, TDecoder>? gru,
        AttentionOf attention) : ICase where TDecoder : IModel<int>
    {
        public ParameterSet Parameters => lstm?.Parameters ?? gru!.Parameters;
        public Tensor<float> Forward(ReadOnlyTensorSpan<int> s, ReadOnlySpan<int> l, ReadOnlyTensorSpan<int> d) => lstm is not null ? lstm.Forward(s, l, d) : gru!.Forward(s, l, d);
        public float Backward(ReadOnlyTensorSpan<int> s, ReadOnlySpan<int> l, ReadOnlyTensorSpan<int> d, ReadOnlyTensorSpan<int> t, float r) =>
            lstm is not null ? lstm.Backward(s, l, d, t, r) : gru!.Backward(s, l, d, t, r);
        public Tensor<float> Attention(ReadOnlyTensorSpan<int> s, int[] l, ReadOnlyTensorSpan<int> d) => attention(s, l, d);
    }

    private delegate Tensor<float> AttentionOf(ReadOnlyTensorSpan<int> source, int[] lengths, ReadOnlyTensorSpan<int> decoderInput);

    private static ICase Create(string name)
    {
        switch (name)
        {
            case nameof(Seq2SeqDot):
            {
                var m = new Seq2SeqDot();
                return new Case<S2sDotDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqScaledDotFreeRunning):
            {
                var m = new Seq2SeqScaledDotFreeRunning();
                return new Case<S2sScaledDotDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqMultiHead):
            {
                var m = new Seq2SeqMultiHead();
                return new Case<S2sMultiHeadDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqGeneral):
            {
                var m = new Seq2SeqGeneral();
                return new Case<S2sGeneralDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqTied):
            {
                var m = new Seq2SeqTied();
                return new Case<S2sTiedDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqShared):
            {
                var m = new Seq2SeqShared();
                return new Case<S2sSharedDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqFeedGeneral):
            {
                var m = new Seq2SeqFeedGeneral();
                return new Case<S2sFeedGeneralDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqFeedDotFreeRunning):
            {
                var m = new Seq2SeqFeedDotFreeRunning();
                return new Case<S2sFeedDotDecoder>(m, null, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            case nameof(Seq2SeqFeedAdditive):
            {
                var m = new Seq2SeqFeedAdditive();
                return new Case<S2sFeedAdditiveDecoder>(null, m, (s, l, d) => m.AttentionWeights(s, l, d));
            }
            default:
            {
                var m = new Seq2SeqAdditive();
                return new Case<S2sAdditiveDecoder>(null, m, (s, l, d) => m.AttentionWeights(s, l, d));
            }
        }
    }

    public static TheoryData<string> Cases => new()
    {
        nameof(Seq2SeqDot), nameof(Seq2SeqScaledDotFreeRunning), nameof(Seq2SeqMultiHead), nameof(Seq2SeqGeneral), nameof(Seq2SeqAdditive),
        nameof(Seq2SeqFeedAdditive), nameof(Seq2SeqFeedGeneral), nameof(Seq2SeqFeedDotFreeRunning), nameof(Seq2SeqTied),
        nameof(Seq2SeqShared),
    };

    /// <summary>The case's model with the fixture's weights, and the fixture's expected values.</summary>
    private static (ICase Model, Dictionary<string, SafeTensor> Expected) Load(string name)
    {
        ICase model = Create(name);
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        return (model, SafeTensors.Read(Fixture.Path(name + ".expected.safetensors")));
    }

    private static ReadOnlyTensorSpan<int> Tokens(Dictionary<string, SafeTensor> expected, string key) => ParityModel.Span(expected[key].ToInt32(), expected[key].Shape);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingStepMatchesPyTorch(string name)
    {
        var (model, expected) = Load(name);
        ReadOnlyTensorSpan<int> source = Tokens(expected, "source"), decoderInput = Tokens(expected, "decoder_input");
        ReadOnlyTensorSpan<int> used = Tokens(expected, "decoder_used"), targets = Tokens(expected, "targets");
        int[] lengths = expected["lengths"].ToInt32();
        bool freeRunning = name.EndsWith("FreeRunning", StringComparison.Ordinal);

        // Teacher-forced on the inputs the reference decoder read (free running: its own predictions) gives its logits.
        Tolerance.AssertClose(expected["output"].ToFloat(), ParityModel.Flatten(model.Forward(source, lengths, used)), $"{name} output");

        model.Parameters.ZeroGrad();
        float loss = model.Backward(source, lengths, decoderInput, targets, teacherForcing: freeRunning ? 0f : 1f);
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} loss");
        Tolerance.AssertGradients(expected, model.Parameters, name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AttentionWeightsMatchPyTorch(string name)
    {
        var (model, expected) = Load(name);
        Tensor<float> weights = model.Attention(Tokens(expected, "source"), expected["lengths"].ToInt32(), Tokens(expected, "decoder_used"));
        // [batch, heads, steps, source steps]: PyTorch's per-head weights (average_attn_weights = False), one head for the classic scores
        int heads = expected["attention"].Shape.Length == 4 ? (int)expected["attention"].Shape[1] : 1;
        Assert.Equal(new nint[] { 3, heads, 4, 5 }, weights.Lengths.ToArray());
        float[] flat = ParityModel.Flatten(weights);
        Tolerance.AssertClose(expected["attention"].ToFloat(), flat, $"{name} attention weights");
        // rows sum to 1 over each source's own steps; padded source steps get nothing
        int[] lengths = expected["lengths"].ToInt32();
        for (int b = 0; b < 3; b++)
        {
            for (int row = 0; row < heads * 4; row++)
            {
                Span<float> weightsOfRow = flat.AsSpan(((b * heads * 4) + row) * 5, 5);
                Assert.Equal(1f, weightsOfRow.ToArray().Sum(), 4);
                Assert.All(weightsOfRow[lengths[b]..].ToArray(), v => Assert.Equal(0f, v));
            }
        }
    }
}
