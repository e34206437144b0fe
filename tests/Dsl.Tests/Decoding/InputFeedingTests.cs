using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// Input feeding (the previous step's context joins the decoder's input; parity with PyTorch is in
/// EncoderDecoderParityTests): the context is carried in the decoder's <c>State</c>, so stepping, decoding and chunks
/// agree with one pass over the whole sequence.
/// </summary>
public class InputFeedingTests
{
    private static ReadOnlyTensorSpan<int> Tokens(int[] values, params nint[] shape) => new(values, shape);

    private static Seq2SeqFeedAdditive Bahdanau()
    {
        var model = new Seq2SeqFeedAdditive();
        model.Parameters.Load(Fixture.Path("Seq2SeqFeedAdditive.weights.safetensors"));
        return model;
    }

    [Fact]
    public void TheStateCarriesTheFedContext()
    {
        var model = new Seq2SeqFeedGeneral(seed: 2);
        var state = (S2sFeedGeneralDecoder.State)model.Encode(Tokens([3, 7, 1], 1, 3));
        // the decoder's LSTM states (bridged), then the context fed to its next step: zeros before the first
        Assert.Equal(["lstm.h_l0", "lstm.c_l0", "attention.context"], state.Tensors.Select(t => t.Name));
        Assert.All(state.Tensors[2].AsSpan().ToArray(), v => Assert.Equal(0f, v));
        model.Decoder.Step(Tokens([1], 1), state);
        Assert.Contains(state.Tensors[2].AsSpan().ToArray(), v => v != 0f);
    }

    [Fact]
    public void SteppingAndChunksEqualTheWholeSequence()
    {
        Seq2SeqFeedAdditive model = Bahdanau();
        var source = Tokens([3, 7, 1, 8, 2, 4, 9, 1, 0, 0], 2, 5);
        int[] lengths = [5, 3];
        int[] input = [1, 4, 2, 7, 3, 1, 8, 8, 2, 5];
        float[] whole = ParityModel.Flatten(model.Decoder.Forward(Tokens(input, 2, 5), (S2sFeedAdditiveDecoder.State)model.Encode(source, lengths)));

        var stepped = (S2sFeedAdditiveDecoder.State)model.Encode(source, lengths);
        for (int t = 0; t < 5; t++)
        {
            float[] y = ParityModel.Flatten(model.Decoder.Step(Tokens([input[t], input[5 + t]], 2), stepped));
            for (int b = 0; b < 2; b++)
                Tolerance.AssertClose(whole.AsSpan((b * 5 + t) * 9, 9), y.AsSpan(b * 9, 9), $"step {t}, sequence {b}");
        }

        var chunked = (S2sFeedAdditiveDecoder.State)model.Encode(source, lengths);
        float[] first = ParityModel.Flatten(model.Decoder.Forward(Tokens([1, 4, 1, 8], 2, 2), chunked));
        float[] rest = ParityModel.Flatten(model.Decoder.Forward(Tokens([2, 7, 3, 8, 2, 5], 2, 3), chunked));
        for (int b = 0; b < 2; b++)
        {
            Tolerance.AssertClose(whole.AsSpan(b * 5 * 9, 2 * 9), first.AsSpan(b * 2 * 9, 2 * 9), $"first chunk, sequence {b}");
            Tolerance.AssertClose(whole.AsSpan((b * 5 + 2) * 9, 3 * 9), rest.AsSpan(b * 3 * 9, 3 * 9), $"second chunk, sequence {b}");
        }
    }

    [Fact]
    public void GreedyAndBeamDecodeWithTheFedContext()
    {
        Seq2SeqFeedAdditive model = Bahdanau();
        int[] source = [3, 7, 1, 8, 2];
        int[] greedy = model.Greedy(Tokens(source, 1, 5), startToken: 1, maxLength: 6);
        // teacher-forced on its own output, the argmax of every step is what stepping chose
        int[] input = [1, .. greedy[..^1]];
        float[] logits = ParityModel.Flatten(model.Forward(Tokens(source, 1, 5), default, Tokens(input, 1, input.Length)));
        for (int t = 0; t < greedy.Length; t++) Assert.Equal(greedy[t], TensorPrimitives.IndexOfMax(logits.AsSpan(t * 9, 9)));
        Assert.Equal(greedy, model.Beam(Tokens(source, 1, 5), startToken: 1, beamWidth: 1, maxLength: 6, lengthPenalty: 0f)[0].Tokens);
        IReadOnlyList<Hypothesis> three = model.Beam(Tokens(source, 1, 5), startToken: 1, beamWidth: 3, maxLength: 6, lengthPenalty: 0f);
        Assert.Equal(3, three.Count);
    }
}
