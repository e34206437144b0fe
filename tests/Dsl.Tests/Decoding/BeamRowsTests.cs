using System.Numerics.Tensors;
using Dsl.Tests.Gpu;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// Beam search steps its live hypotheses as the rows of one state (<see cref="IDecoderState.CopyRowsFrom"/>, as Hugging
/// Face reorders its cache): it finds what stepping each hypothesis from a copy of its own state finds, for every model
/// that steps (recurrent states, key/value caches, an encoder's memory); a state's rows copy, repeat and reorder exactly;
/// a refused copy says why and changes nothing.
/// </summary>
public class BeamRowsTests
{
    public static TheoryData<string> SteppingModels()
    {
        var data = new TheoryData<string>();
        foreach (string name in DeviceModelTests.Models)
        {
            IModel model = DeviceModelTests.Create(name);
            if (model is IModel<int> && model.ReturnsSequences && DeviceModelTests.Steps(model)) data.Add(name);
        }
        return data;
    }

    /// <summary>Both ways of stepping a beam find the same sequences, scored alike (rows of one batch and rows alone may round apart).</summary>
    internal static void AssertSameBeams(IReadOnlyList<Hypothesis> alone, IReadOnlyList<Hypothesis> together, string what)
    {
        Assert.Equal(alone.Count, together.Count);
        for (int i = 0; i < alone.Count; i++)
        {
            Assert.True(alone[i].Tokens.SequenceEqual(together[i].Tokens),
                $"{what}: hypothesis {i} is [{string.Join(", ", together[i].Tokens)}] stepped together, [{string.Join(", ", alone[i].Tokens)}] alone.");
            Tolerance.AssertClose([alone[i].LogProbability, alone[i].Score], [together[i].LogProbability, together[i].Score], $"{what}: hypothesis {i}'s log-probability and score");
        }
    }

    [Theory]
    [MemberData(nameof(SteppingModels))]
    public void ADecoderFindsTheSameBeamsSteppingItsHypothesesTogether(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        int[] prefix = [1, 2];
        foreach ((int width, int? end) in new[] { (3, (int?)null), (4, 0) })
        {
            int maxLength = Math.Min(6, ModelLimits.Positions(model)?.Positions - prefix.Length ?? 6);
            var alone = Decode.Beam(model, null, prefix, width, maxLength, end, 1f, together: false);
            var together = Decode.Beam(model, null, prefix, width, maxLength, end, 1f, together: true);
            Assert.NotEmpty(together);
            AssertSameBeams(alone, together, $"{name}, width {width}, end {end}");
        }
    }

    public static TheoryData<string> EncoderDecoders() => [.. Decoding.EncoderDecoders.Names];

    /// <summary>The decoder and its state after encoding <paramref name="source"/> [1, S] (the memory it attends over, its bridged states).</summary>
    private static (IModel<int> Decoder, IDecoderState Encoded) Encode(string name, int[] source) => Decoding.EncoderDecoders.Use(name, new Encoding(source));

    private sealed class Encoding(int[] source) : IEncoderDecoderUse<(IModel<int>, IDecoderState)>
    {
        public (IModel<int>, IDecoderState) Use<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model) where TEncoder : IEncoder<int> where TDecoder : IModel<int> =>
            (model.Decoder, model.Encode(new ReadOnlyTensorSpan<int>(source, [1, source.Length])));
    }

    [Theory]
    [MemberData(nameof(EncoderDecoders))]
    public void AnEncoderDecoderFindsTheSameBeamsSteppingItsHypothesesTogether(string name)
    {
        (IModel<int> decoder, IDecoderState encoded) = Encode(name, [3, 1, 4, 1, 5]);
        foreach ((int width, int? end) in new[] { (3, (int?)null), (5, 2) })
        {
            var alone = Decode.Beam(decoder, encoded, [1], width, 6, end, 1f, together: false);
            var together = Decode.Beam(decoder, encoded, [1], width, 6, end, 1f, together: true);
            Assert.NotEmpty(together);
            AssertSameBeams(alone, together, $"{name}, width {width}, end {end}");
        }
    }

    /// <summary>
    /// Rows copied from a state (repeated, reordered, one left out) step as the same sequences stepped from the start in
    /// that order: every recurrent state, key/value cache and position carried.
    /// </summary>
    [Theory]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(StatefulLstm))]
    [InlineData(nameof(GcTiedGru))]
    [InlineData(nameof(HfTinyOlmo2))]
    public void CopiedRowsStepAsTheirSequences(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        int vocabulary = model.InputWidth;
        int[][] histories = [[1, 2, 3], [4, 0, 2], [3, 3, 1]];
        int[] rows = [2, 0, 2, 0]; // repeated, reordered, row 1 left out
        IModelState source = model.CreateState(3);
        for (int t = 0; t < 3; t++) model.Step(Column(histories, t), source);
        var copied = (IDecoderState)model.CreateState(4);
        // a state that held other sequences, further along: everything it held is overwritten
        for (int t = 0; t < 5; t++) model.Step(new ReadOnlyTensorSpan<int>([0, 1 % vocabulary, 0, 1 % vocabulary], [4]), copied);
        copied.CopyRowsFrom(source, rows);
        Assert.Equal(source.Position, copied.Position);

        IModelState fresh = model.CreateState(4);
        int[][] reordered = rows.Select(r => histories[r]).ToArray();
        for (int t = 0; t < 3; t++) model.Step(Column(reordered, t), fresh);
        for (int i = 0; i < fresh.Tensors.Count; i++)
            Assert.Equal(fresh.Tensors[i].AsSpan().ToArray(), copied.Tensors[i].AsSpan().ToArray());
        int[] next = [1 % vocabulary, 2 % vocabulary, 0, 3 % vocabulary];
        float[] expected = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>(next, [4]), fresh));
        float[] actual = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>(next, [4]), copied));
        Tolerance.AssertClose(expected, actual, $"{name}: the step after the copy");
    }

    private static ReadOnlyTensorSpan<int> Column(int[][] histories, int t) => new(histories.Select(h => h[t]).ToArray(), [histories.Length]);

    /// <summary>An encoder–decoder's rows carry the memory each attends over, with its length.</summary>
    [Fact]
    public void CopiedRowsAttendOverTheirSources()
    {
        var model = new TransformerSeq2Seq(seed: 5);
        int[] sources = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        IModel<int> decoder = model.Decoder;
        IDecoderState encoded = model.Encode(new ReadOnlyTensorSpan<int>(sources, [2, 5]), [5, 3]);
        decoder.Step(new ReadOnlyTensorSpan<int>([4, 2], [2]), encoded); // (its projections of the memory kept, and copied by row)
        var copied = (IDecoderState)decoder.CreateState(3);
        copied.CopyRowsFrom(encoded, [1, 1, 0]);
        IDecoderState alone = model.Encode(new ReadOnlyTensorSpan<int>([9, 2, 6, 0, 0, 9, 2, 6, 0, 0, 3, 1, 4, 1, 5], [3, 5]), [3, 3, 5]);
        decoder.Step(new ReadOnlyTensorSpan<int>([2, 2, 4], [3]), alone);
        int[] tokens = [1, 2, 3];
        for (int t = 0; t < 2; t++)
            Tolerance.AssertClose(ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(tokens, [3]), alone)),
                ParityModel.Flatten(decoder.Step(new ReadOnlyTensorSpan<int>(tokens, [3]), copied)), $"step {t}");
    }

    /// <summary>A refused copy leaves the state as it was: its tensors, its caches and its position step on as a copy made before.</summary>
    [Theory]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(StatefulLstm))]
    public void ARefusedCopySaysWhyAndChangesNothing(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        var source = (IDecoderState)model.CreateState(2);
        var target = (IDecoderState)model.CreateState(3);
        model.Step(new ReadOnlyTensorSpan<int>([1, 2], [2]), source);
        model.Step(new ReadOnlyTensorSpan<int>([3, 4, 5], [3]), target);
        model.Step(new ReadOnlyTensorSpan<int>([6, 7, 8], [3]), target);
        var before = (IDecoderState)model.CreateState(3);
        before.CopyFrom(target);
        Assert.Contains("expected one source row per row of the state, 3, but got 2", Assert.Throws<ArgumentException>(() => target.CopyRowsFrom(source, [0, 1])).Message);
        Assert.Contains("row 2 is to be the source's row 2, but the source holds 2 (rows 0 … 1)", Assert.Throws<ArgumentException>(() => target.CopyRowsFrom(source, [0, 1, 2])).Message);
        Assert.Contains("source's row -1", Assert.Throws<ArgumentException>(() => target.CopyRowsFrom(source, [0, -1, 1])).Message);
        Assert.Contains("expected another state", Assert.Throws<ArgumentException>(() => target.CopyRowsFrom(target, [0, 1, 2])).Message);
        Assert.Contains($"expected a {name}.State", Assert.Throws<ArgumentException>(() => target.CopyRowsFrom(new Lstm(seed: 1).CreateState(2), [0, 1, 1])).Message);
        Assert.Equal(before.Position, target.Position);
        for (int i = 0; i < before.Tensors.Count; i++) Assert.Equal(before.Tensors[i].AsSpan().ToArray(), target.Tensors[i].AsSpan().ToArray());
        var next = new ReadOnlyTensorSpan<int>([2, 0, 1], [3]);
        Assert.Equal(ParityModel.Flatten(model.Step(next, before)), ParityModel.Flatten(model.Step(next, target)));
    }

    /// <summary>The memory a beam's rows attend over is copied once: rows that are all one source's share it from then on.</summary>
    [Fact]
    public void RowsOfOneSourceShareItsMemory()
    {
        var model = new TransformerSeq2Seq(seed: 5);
        IModel<int> decoder = model.Decoder;
        IDecoderState encoded = model.Encode(new ReadOnlyTensorSpan<int>([3, 1, 4, 1, 5], [1, 5]));
        var first = (TfDecoder.State)decoder.CreateState(3);
        var second = (TfDecoder.State)decoder.CreateState(3);
        first.CopyRowsFrom(encoded, [0, 0, 0]);
        Assert.Equal(3, first.Memory!.Batch);
        second.CopyRowsFrom(first, [2, 0, 0]);
        Assert.Same(first.Memory, second.Memory);
        var two = (TfDecoder.State)decoder.CreateState(2);
        two.CopyRowsFrom(second, [1, 2]);
        Assert.Equal(2, two.Memory!.Batch);
        EncoderOutput one = ((TfDecoder.State)encoded).Memory!, three = first.Memory;
        int width = one.Width;
        for (int t = 0; t < one.Steps; t++)
            for (int i = 0; i < 3; i++)
                Assert.Equal(one.Memory.Span.Slice(t * width, width).ToArray(), three.Memory.Span.Slice((t * 3 + i) * width, width).ToArray());
    }

    /// <summary>A beam of three steps its hypotheses as one batch of three; asked to step them alone, as batches of one.</summary>
    [Fact]
    public void ABeamStepsItsHypothesesAsOneBatch()
    {
        var counted = new CountingModel(new TinyGpt(seed: 2));
        Decode.Beam(counted, [1, 2], beamWidth: 3, maxLength: 4);
        Assert.Equal([1, 1, 3, 3, 3], counted.Batches);
        counted.Batches.Clear();
        Decode.Beam(counted, null, [1, 2], 3, 4, null, 1f, together: false);
        Assert.Equal(Enumerable.Repeat(1, 2 + 3 * 3), counted.Batches);
    }

    /// <summary>A model that steps as another does, counting the batch of every step.</summary>
    internal sealed class CountingModel(IModel<int> inner) : StepOnlyModel
    {
        public readonly List<int> Batches = [];
        public override ParameterSet Parameters => inner.Parameters;
        public override int InputWidth => inner.InputWidth;
        public override int OutputWidth => inner.OutputWidth;
        public override bool ReturnsSequences => inner.ReturnsSequences;
        public override Rng DropoutRandom => inner.DropoutRandom;
        public override IModelState CreateState(int batch = 1) => inner.CreateState(batch);

        public override void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination)
        {
            Batches.Add(state.Batch);
            inner.Step(input, state, destination);
        }
    }
}
