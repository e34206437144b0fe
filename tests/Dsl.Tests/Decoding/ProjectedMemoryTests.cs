using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// A decoder stepping from its state projects the encoder's outputs (cross-attention's keys and values) at its first
/// pass and reads them back at the next ones, as Hugging Face's cache keeps them: the steps after read the projections of
/// the memory the state attends over, made with the weights of its sequence's first step (Attend and Reset project again;
/// greedy and beam decoding against PyTorch show the projections read back are right).
/// </summary>
public class ProjectedMemoryTests
{
    private static float[] Step(IModel<int> decoder, IModelState state, int token) =>
        ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>([token], [1]), state));

    private static ReadOnlyTensorSpan<int> Source(params int[] tokens) => new(tokens, [1, tokens.Length]);

    [Fact]
    public void KeptProjectionsStepAsProjectionsMadeAfresh()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        IModel<int> decoder = model.Decoder;
        IDecoderState kept = model.Encode(Source(3, 1, 4, 1, 5));
        IDecoderState other = model.Encode(Source(9, 2, 6, 5, 3)); // as many source steps: the same step workspace
        var fresh = (IDecoderState)decoder.CreateState(1);
        fresh.CopyFrom(kept);
        foreach (int token in new[] { 1, 6, 2, 7 })
        {
            float[] expected = Step(decoder, fresh, token);
            ((TfDecoder.State)fresh).MemoryProjected = false; // projected again at every step
            ((TfDecoder.State)other).MemoryProjected = false;
            Step(decoder, other, token); // (the workspace's keys and values are another memory's now: kept ones must be read back)
            Assert.Equal(expected, Step(decoder, kept, token));
        }
        Assert.True(((TfDecoder.State)kept).MemoryProjected);
    }

    /// <summary>
    /// Rows copied into a state that holds the projections of the very memory selected (a beam's rows reordered within each
    /// source) keep them; rows of another memory bring that memory's, however many rows the state holds of its own.
    /// </summary>
    [Fact]
    public void CopiedRowsKeepOnlyTheProjectionsOfTheirMemory()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        IModel<int> decoder = model.Decoder;
        var sources = new[] { model.Encode(new ReadOnlyTensorSpan<int>([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [2, 5])), model.Encode(new ReadOnlyTensorSpan<int>([2, 7, 1, 8, 2, 8, 1, 8, 2, 8], [2, 5])) };
        var rowed = new IDecoderState[2];
        for (int i = 0; i < 2; i++)
        {
            rowed[i] = (IDecoderState)decoder.CreateState(4);
            rowed[i].CopyRowsFrom(sources[i], [0, 0, 1, 1]);
            decoder.Step(new ReadOnlyTensorSpan<int>([1, 2, 3, 4], [4]), rowed[i]); // (projects the memory and keeps it)
        }
        var state = (IDecoderState)decoder.CreateState(4);
        foreach ((int from, int[] rows) in new[] { (0, new[] { 1, 0, 3, 2 }), (0, new[] { 0, 0, 2, 3 }), (1, new[] { 1, 1, 2, 2 }), (0, new[] { 1, 1, 3, 2 }) })
        {
            state.CopyRowsFrom(rowed[from], rows);
            var fresh = (IDecoderState)decoder.CreateState(4);
            fresh.CopyRowsFrom(rowed[from], rows);
            ((TfDecoder.State)fresh).MemoryProjected = false; // projected afresh at its step
            var tokens = new ReadOnlyTensorSpan<int>([5, 6, 7, 8], [4]);
            Assert.Equal(ParityModel.Flatten(decoder.Step(tokens, fresh)), ParityModel.Flatten(decoder.Step(tokens, state)));
            state.CopyRowsFrom(rowed[from], rows); // (back to the rows copied, for the next selection to start from)
        }
    }

    /// <summary>
    /// Rows copied from a state that projected the same memory record at another step (with other weights) bring that step's
    /// projections: sharing the record is not sharing the projections.
    /// </summary>
    [Fact]
    public void CopiedRowsOfTheSameRecordProjectedElsewhereBringTheirProjections()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        IModel<int> decoder = model.Decoder;
        EncoderOutput record = MemoryOf(model.Encode(Source(3, 1, 4, 1, 5)));
        var first = (IDecoderState)decoder.CreateState(1);
        var second = (IDecoderState)decoder.CreateState(1);
        first.Attend(record);
        Step(decoder, first, 1); // projects with the weights as they are
        foreach (Parameter p in decoder.Parameters)
        {
            Span<float> values = p.AsSpan();
            for (int i = 0; i < values.Length; i++) values[i] = values[i] * 1.25f + 0.01f;
        }
        second.Attend(record);
        Step(decoder, second, 1); // projects with the new weights
        first.CopyRowsFrom(second, [0]);
        Assert.Equal(Step(decoder, second, 6), Step(decoder, first, 6));
    }

    /// <summary>After the weights change, a state Reset projects the memory with the new weights, as a new state does.</summary>
    [Fact]
    public void ResetProjectsTheMemoryAgain()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        IModel<int> decoder = model.Decoder;
        IDecoderState state = model.Encode(Source(3, 1, 4, 1, 5));
        Step(decoder, state, 1);
        Step(decoder, state, 6);
        foreach (Parameter p in decoder.Parameters)
        {
            Span<float> values = p.AsSpan();
            for (int i = 0; i < values.Length; i++) values[i] = values[i] * 1.25f + 0.01f;
        }
        state.Reset();
        IDecoderState fresh = model.Encode(Source(3, 1, 4, 1, 5)); // (the encoder's weights did not change: the same memory)
        Assert.Equal(Step(decoder, fresh, 1), Step(decoder, state, 1));
        Assert.Equal(Step(decoder, fresh, 6), Step(decoder, state, 6));
    }

    private static (IModel<int> Decoder, IDecoderState First, IDecoderState Second) TwoSources<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model)
        where TEncoder : IEncoder<int> where TDecoder : IModel<int> => (model.Decoder, model.Encode(Source(3, 1, 4, 1, 5)), model.Encode(Source(2, 7, 1, 8)));

    private static EncoderOutput MemoryOf(IDecoderState state) => (EncoderOutput)state.GetType().GetProperty("Memory")!.GetValue(state)!;

    /// <summary>A state given another memory attends over that memory's projections from its next step (multi-head, Luong's general and Bahdanau's additive scores).</summary>
    [Theory]
    [InlineData(nameof(Seq2SeqMultiHead))]
    [InlineData(nameof(Seq2SeqGeneral))]
    [InlineData(nameof(Seq2SeqAdditive))]
    public void AttendProjectsTheNewMemory(string name)
    {
        var (decoder, first, second) = name switch
        {
            nameof(Seq2SeqMultiHead) => TwoSources(new Seq2SeqMultiHead(seed: 3)),
            nameof(Seq2SeqGeneral) => TwoSources(new Seq2SeqGeneral(seed: 3)),
            _ => TwoSources(new Seq2SeqAdditive(seed: 3)),
        };
        Step(decoder, first, 1); // (first's projections kept)
        // the same recurrent state, attending over the second memory from the start
        var reference = (IDecoderState)decoder.CreateState(1);
        for (int i = 0; i < first.Tensors.Count; i++) first.Tensors[i].AsSpan().CopyTo(reference.Tensors[i].AsSpan());
        reference.Attend(MemoryOf(second));
        first.Attend(MemoryOf(second));
        Assert.Equal(Step(decoder, reference, 2), Step(decoder, first, 2));
        Assert.Equal(Step(decoder, reference, 4), Step(decoder, first, 4));
    }

    /// <summary>A pass over several steps (a teacher-forced Forward) projects without keeping: the first step keeps them.</summary>
    [Fact]
    public void OnlyAStepKeepsTheProjections()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        IModel<int> decoder = model.Decoder;
        var state = (TfDecoder.State)model.Encode(Source(3, 1, 4, 1, 5));
        decoder.Forward(new ReadOnlyTensorSpan<int>([1, 6, 2], [1, 3]), state);
        Assert.False(state.MemoryProjected);
        Assert.Empty(state._attention_1_memory_k);
        Step(decoder, state, 7);
        Assert.True(state.MemoryProjected);
        decoder.Forward(new ReadOnlyTensorSpan<int>([1, 6], [1, 2]), state); // (reads them back)
        Assert.True(state.MemoryProjected);
    }

    /// <summary>A training pass from a state leaves it to project the memory again (the weights it read may change after).</summary>
    [Fact]
    public void ATrainingPassFromAStateProjectsAgainAfter()
    {
        var model = new Seq2SeqMultiHead(seed: 3);
        IModel<int> decoder = model.Decoder;
        EncoderOutput encoded = ((IEncoder<int>)model.Encoder).Encode(Source(3, 1, 4, 1, 5), default, training: true); // (room for the memory's gradient)
        var state = (S2sMultiHeadDecoder.State)decoder.CreateState(1);
        state.Attend(encoded);
        Step(decoder, state, 1);
        Assert.True(state.MemoryProjected);
        decoder.Backward(new ReadOnlyTensorSpan<int>([2, 3], [1, 2]), new ReadOnlyTensorSpan<int>([3, 4], [1, 2]), state);
        Assert.False(state.MemoryProjected);
        Step(decoder, state, 4);
        Assert.True(state.MemoryProjected);
    }
}
