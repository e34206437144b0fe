using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// The Transformer encoder–decoder declared from Dsl's layers equals nn.TransformerEncoderLayer +
/// nn.TransformerDecoderLayer (Fixtures/make_fixtures.py, make_transformer), post-norm and pre-norm: logits, loss and
/// every gradient of a training step on padded sources; and greedy decoding with the key/value cache equals PyTorch's
/// greedy decoding by full recompute, token for token and logit for logit. The joint case is Vaswani et al.'s sharing: one
/// table for both embeddings and the output layer, the embeddings scaled by √d.
/// </summary>
public class TransformerParityTests
{
    private interface ICase
    {
        ParameterSet Parameters { get; }
        Tensor<float> Forward(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput);
        float Backward(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput, ReadOnlyTensorSpan<int> targets);
        int[] Greedy(ReadOnlyTensorSpan<int> source, int start, int maxLength);
        IReadOnlyList<Hypothesis> Beam(ReadOnlyTensorSpan<int> source, int start, int width, int maxLength);
        IDecoderState Encode(ReadOnlyTensorSpan<int> source);
        IModel<int> Decoder { get; }
    }

    private sealed class Case<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> m) : ICase
        where TEncoder : IEncoder<int> where TDecoder : IModel<int>
    {
        public ParameterSet Parameters => m.Parameters;
        public Tensor<float> Forward(ReadOnlyTensorSpan<int> s, ReadOnlySpan<int> l, ReadOnlyTensorSpan<int> d) => m.Forward(s, l, d);
        public float Backward(ReadOnlyTensorSpan<int> s, ReadOnlySpan<int> l, ReadOnlyTensorSpan<int> d, ReadOnlyTensorSpan<int> t) => m.Backward(s, l, d, t);
        public int[] Greedy(ReadOnlyTensorSpan<int> s, int start, int maxLength) => m.Greedy(s, start, maxLength);
        public IReadOnlyList<Hypothesis> Beam(ReadOnlyTensorSpan<int> s, int start, int width, int maxLength) => m.Beam(s, start, width, maxLength);
        public IDecoderState Encode(ReadOnlyTensorSpan<int> s) => m.Encode(s);
        public IModel<int> Decoder => m.Decoder;
    }

    public static TheoryData<string> Cases => new() { nameof(TransformerSeq2Seq), nameof(TransformerSeq2SeqPreNorm), nameof(TransformerSeq2SeqJoint) };

    private static (ICase Model, Dictionary<string, SafeTensor> Expected) Load(string name)
    {
        ICase model = name switch
        {
            nameof(TransformerSeq2Seq) => new Case<TfEncoder, TfDecoder>(new TransformerSeq2Seq()),
            nameof(TransformerSeq2SeqJoint) => new Case<TfJointEncoder, TfJointDecoder>(new TransformerSeq2SeqJoint()),
            _ => new Case<TfPreNormEncoder, TfPreNormDecoder>(new TransformerSeq2SeqPreNorm()),
        };
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        return (model, SafeTensors.Read(Fixture.Path(name + ".expected.safetensors")));
    }

    private static ReadOnlyTensorSpan<int> Tokens(Dictionary<string, SafeTensor> expected, string key) => ParityModel.Span(expected[key].ToInt32(), expected[key].Shape);

    /// <summary>Source <paramref name="b"/> of the fixture without its padding, as one sequence [1, length].</summary>
    private static ReadOnlyTensorSpan<int> OneSource(Dictionary<string, SafeTensor> expected, int b)
    {
        int[] source = expected["source"].ToInt32(), lengths = expected["lengths"].ToInt32();
        int steps = (int)expected["source"].Shape[1];
        return new ReadOnlyTensorSpan<int>(source.AsSpan(b * steps, lengths[b]).ToArray(), [1, lengths[b]]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingStepMatchesPyTorch(string name)
    {
        var (model, expected) = Load(name);
        ReadOnlyTensorSpan<int> source = Tokens(expected, "source"), decoderInput = Tokens(expected, "decoder_input"), targets = Tokens(expected, "targets");
        int[] lengths = expected["lengths"].ToInt32();

        Tolerance.AssertClose(expected["output"].ToFloat(), ParityModel.Flatten(model.Forward(source, lengths, decoderInput)), $"{name} output");
        model.Parameters.ZeroGrad();
        float loss = model.Backward(source, lengths, decoderInput, targets);
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} loss");
        Tolerance.AssertGradients(expected, model.Parameters, name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyDecodingWithTheCacheMatchesFullRecompute(string name)
    {
        var (model, expected) = Load(name);
        for (int b = 0; b < 3; b++)
        {
            int[] reference = expected[$"greedy_{b}"].ToInt32();
            Assert.Equal(reference, model.Greedy(OneSource(expected, b), start: 1, maxLength: reference.Length));

            // each step's logits, from the cache, equal PyTorch's over the whole prefix
            IDecoderState state = model.Encode(OneSource(expected, b));
            int token = 1;
            float[] logits = expected[$"greedy_logits_{b}"].ToFloat();
            int vocabulary = model.Decoder.OutputWidth;
            for (int t = 0; t < reference.Length; t++)
            {
                Tensor<float> step = model.Decoder.Step(new ReadOnlyTensorSpan<int>(new[] { token }, [1]), state);
                Tolerance.AssertClose(logits.AsSpan(t * vocabulary, vocabulary), ParityModel.Flatten(step), $"{name} source {b} step {t} logits");
                token = reference[t];
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BeamSearchScoresEqualTeacherForcedLogProbabilities(string name)
    {
        var (model, expected) = Load(name);
        ReadOnlyTensorSpan<int> source = OneSource(expected, 0);
        IReadOnlyList<Hypothesis> beams = model.Beam(source, start: 1, width: 3, maxLength: 5);
        Assert.Equal(3, beams.Count);
        int[] greedy = model.Greedy(source, start: 1, maxLength: 5);
        Assert.Equal(greedy, model.Beam(source, start: 1, width: 1, maxLength: 5)[0].Tokens);
        foreach (Hypothesis h in beams)
        {
            // the beam's score, summed step by step from the cache, is the log-probability of its tokens under a whole-sequence Forward
            int[] input = new[] { 1 }.Concat(h.Tokens.Take(h.Tokens.Length - 1)).ToArray();
            float[] logits = ParityModel.Flatten(model.Forward(source, default, new ReadOnlyTensorSpan<int>(input, [1, input.Length])));
            int vocabulary = model.Decoder.OutputWidth;
            double logP = 0;
            for (int t = 0; t < h.Tokens.Length; t++)
            {
                ReadOnlySpan<float> row = logits.AsSpan(t * vocabulary, vocabulary);
                float max = TensorPrimitives.Max(row);
                double sum = 0;
                foreach (float v in row) sum += Math.Exp(v - max);
                logP += row[h.Tokens[t]] - max - Math.Log(sum);
            }
            Assert.Equal(logP, h.LogProbability, 3);
        }
    }
}
