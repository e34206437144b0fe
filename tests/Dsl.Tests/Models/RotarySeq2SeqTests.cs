using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Models;

/// <summary>
/// Rotary positions inside an encoder–decoder (<see cref="GcLlamaSeq2Seq"/>): the decoder's cached steps turn each query and
/// key by its own position, so stepping from the key/value cache gives what a whole-sequence Forward gives at every step,
/// greedy decoding and beam search agree with it, and a batch decodes as its sources one by one.
/// </summary>
public class RotarySeq2SeqTests
{
    private static readonly int[] s_source = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];

    [Fact]
    public void StepsFromTheCacheGiveWhatAWholeSequenceForwardGives()
    {
        var model = new GcLlamaSeq2Seq(seed: 11);
        var source = new ReadOnlyTensorSpan<int>(s_source, [1, 12]);
        int[] greedy = model.Greedy(source, startToken: 1, maxLength: 9);
        Assert.Equal(9, greedy.Length);
        // teacher forcing with the greedy tokens: row t of the whole pass is step t's logits
        int[] input = new[] { 1 }.Concat(greedy.Take(8)).ToArray();
        float[] whole = Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(source, default, new ReadOnlyTensorSpan<int>(input, [1, 9])));
        IDecoderState state = model.Encode(source);
        IModel<int> decoder = model.Decoder;
        int vocabulary = GcLlamaDecoder.OutputWidth;
        for (int t = 0; t < 9; t++)
        {
            float[] step = Dsl.Tests.Parity.ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(new[] { input[t] }, [1]), state));
            Tolerance.AssertClose(whole.AsSpan(t * vocabulary, vocabulary), step, $"step {t}");
            Assert.Equal(greedy[t], Array.IndexOf(step, step.Max()));
        }
        Assert.Equal(greedy, model.Beam(source, startToken: 1, beamWidth: 1, maxLength: 9)[0].Tokens);
    }

    /// <summary>
    /// T5's layout (<see cref="GcT5Seq2Seq"/>): the decoder's relative position bias read by distance at each cached step gives
    /// what a whole-sequence Forward gives, and greedy decoding agrees with it.
    /// </summary>
    [Fact]
    public void RelativeBiasStepsFromTheCacheAsAWholeSequence()
    {
        var model = new GcT5Seq2Seq(seed: 13);
        var source = new ReadOnlyTensorSpan<int>(s_source, [1, 12]);
        int[] greedy = model.Greedy(source, startToken: 0, maxLength: 9);
        int[] input = new[] { 0 }.Concat(greedy.Take(8)).ToArray();
        float[] whole = Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(source, default, new ReadOnlyTensorSpan<int>(input, [1, 9])));
        IDecoderState state = model.Encode(source);
        IModel<int> decoder = model.Decoder;
        for (int t = 0; t < 9; t++)
        {
            float[] step = Dsl.Tests.Parity.ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(new[] { input[t] }, [1]), state));
            Tolerance.AssertClose(whole.AsSpan(t * GcT5Decoder.OutputWidth, GcT5Decoder.OutputWidth), step, $"step {t}");
            Assert.Equal(greedy[t], Array.IndexOf(step, step.Max()));
        }
    }

    [Fact]
    public void TheStepsPositionsMatter()
    {
        // the same token at two positions scores differently: the rotation is applied (a model without it would repeat itself
        // only if its inputs did)
        var model = new GcLlamaSeq2Seq(seed: 12);
        var source = new ReadOnlyTensorSpan<int>(s_source, [1, 12]);
        IDecoderState state = model.Encode(source);
        IModel<int> decoder = model.Decoder;
        float[] first = Dsl.Tests.Parity.ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(new[] { 2 }, [1]), state));
        float[] second = Dsl.Tests.Parity.ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(new[] { 2 }, [1]), state));
        Assert.NotEqual(first, second);
        // and a source read whole equals the same source read with lengths (padding after it changes nothing)
        int[] padded = [.. s_source, 0, 7, 7];
        float[] a = Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(source, default, new ReadOnlyTensorSpan<int>(new[] { 1, 2, 3 }, [1, 3])));
        float[] b = Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(padded, [1, 15]), [12], new ReadOnlyTensorSpan<int>(new[] { 1, 2, 3 }, [1, 3])));
        Tolerance.AssertClose(a, b, "padded source");
    }
}
