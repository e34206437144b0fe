using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>The composed encoder–decoder: names, storage, decoding paths that must agree, schedules and errors.</summary>
public class EncoderDecoderTests
{
    private static ReadOnlyTensorSpan<int> Tokens(int[] values, params nint[] shape) => new(values, shape);

    private static Seq2SeqGeneral Trained()
    {
        var model = new Seq2SeqGeneral(seed: 3);
        model.Parameters.Load(Fixture.Path("Seq2SeqGeneral.weights.safetensors"));
        return model;
    }

    [Fact]
    public void StatesFromTwoEncodesOfOneShapeEachAttendOverTheirOwnSource()
    {
        // the encoder reuses its outputs' buffer for a second source of the same shape: the first state keeps its own copy
        Seq2SeqGeneral model = Trained();
        var first = Tokens([5, 5, 2, 9], 1, 4);
        var second = Tokens([3, 1, 7, 7], 1, 4);
        int[] expected = model.Greedy(first, startToken: 1, maxLength: 5);
        IDecoderState a = model.Encode(first);
        IDecoderState b = model.Encode(second);
        Assert.Equal(expected, Decode.Greedy(model.Decoder, a, [1], maxLength: 5));
        Assert.Equal(model.Greedy(second, startToken: 1, maxLength: 5), Decode.Greedy(model.Decoder, b, [1], maxLength: 5));
    }

    [Fact]
    public void ABackwardWithWrongShapesFailsBeforeDrawingFromItsStreams()
    {
        // the shapes are checked before the encoder runs: a failed call leaves the dropout and teacher-forcing streams where
        // they were, so that a seeded run that catches the error and goes on still reproduces
        Seq2SeqGeneral model = Trained();
        IModel encoder = model.Encoder;
        string dropout = encoder.DropoutRandom.Save();
        string[] others = ((IHasRandoms)model).OtherRandoms.Select(r => r.Rng.Save()).ToArray();
        int[] source = [5, 5, 2, 9, 1, 3];
        var error = Assert.Throws<ArgumentException>(() => model.Backward(Tokens(source, 2, 3), default, Tokens([1, 4, 4, 1, 6, 6], 2, 3), Tokens([4, 4, 2, 6, 6], 1, 5), teacherForcing: 0.5f));
        Assert.Equal("targets", error.ParamName);
        Assert.Equal("decoderInput", Assert.Throws<ArgumentException>(() => model.Backward(Tokens(source, 2, 3), default, Tokens([1, 4, 4], 1, 3), Tokens([4, 4, 2], 1, 3))).ParamName);
        Assert.Equal(dropout, encoder.DropoutRandom.Save());
        Assert.Equal(others, ((IHasRandoms)model).OtherRandoms.Select(r => r.Rng.Save()).ToArray());
    }

    [Fact]
    public void ForwardAndAttentionWeightsNameTheArgumentAtFault()
    {
        // checked before the encoder runs: a decoder input of another batch had reached the decoder, whose error spoke of
        // its state's batch; a source of the wrong rank had been reported as the decoder input's
        Seq2SeqGeneral model = Trained();
        int[] source = [5, 5, 2, 9, 1, 3], oneRow = [1, 4, 4], twoRows = [1, 4, 4, 1, 6, 6];
        var error = Assert.Throws<ArgumentException>(() => model.Forward(Tokens(source, 2, 3), default, Tokens(oneRow, 1, 3)));
        Assert.Equal("decoderInput", error.ParamName);
        Assert.Contains("batch = 2", error.Message);
        Assert.Equal("decoderInput", Assert.Throws<ArgumentException>(() => model.AttentionWeights(Tokens(source, 2, 3), default, Tokens(oneRow, 1, 3))).ParamName);
        Assert.Equal("decoderInput", Assert.Throws<ArgumentException>(() => model.Forward(Tokens(source, 2, 3), default, Tokens([1, 4, 9, 1, 4, 4], 2, 3))).ParamName);
        error = Assert.Throws<ArgumentException>(() => model.Forward(Tokens(oneRow, 3), default, Tokens(oneRow, 1, 3)));
        Assert.Equal("source", error.ParamName);
        Assert.Contains("expected [batch, steps], got [3]", error.Message);
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => model.AttentionWeights(Tokens(oneRow, 3), default, Tokens(oneRow, 1, 3))).ParamName);
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => model.Loss(Tokens(oneRow, 3), default, Tokens(oneRow, 1, 3), Tokens(oneRow, 1, 3))).ParamName);
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => model.Backward(Tokens(oneRow, 3), default, Tokens(oneRow, 1, 3), Tokens(oneRow, 1, 3))).ParamName);
        // and the calls that are right still run
        Assert.Equal([2, 3, 9], model.Forward(Tokens(source, 2, 3), default, Tokens(twoRows, 2, 3)).Lengths.ToArray().Select(n => (int)n));
        Assert.Equal([2, 1, 3, 3], model.AttentionWeights(Tokens(source, 2, 3), default, Tokens(twoRows, 2, 3)).Lengths.ToArray().Select(n => (int)n));
    }

    [Fact]
    public void GreedyAndBeamCheckTheirArgumentsBeforeTheEncoderRuns()
    {
        // a refused decoding call had run the encoder first, rewriting the outputs of an encoding the caller held
        Seq2SeqGeneral model = Trained();
        EncoderOutput held = ((IEncoder<int>)model.Encoder).Encode(Tokens([5, 5, 2, 9], 1, 4), default, training: false);
        float[] memory = held.Memory.ToArray();
        int[] other = [3, 1, 7, 7];
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => model.Greedy(Tokens(other, 1, 4), startToken: 1, maxLength: -1)).ParamName);
        Assert.Equal("beamWidth", Assert.Throws<ArgumentOutOfRangeException>(() => model.Beam(Tokens(other, 1, 4), startToken: 1, beamWidth: 0, maxLength: 5)).ParamName);
        Assert.Equal("lengthPenalty", Assert.Throws<ArgumentOutOfRangeException>(() => model.Beam(Tokens(other, 1, 4), 1, 2, 5, lengthPenalty: float.NaN)).ParamName);
        Assert.Equal("endToken", Assert.Throws<ArgumentOutOfRangeException>(() => model.Greedy(Tokens(other, 1, 4), 1, 5, endToken: 9)).ParamName);
        // a start token outside the decoder's vocabulary is named as the caller's startToken (it had been the decoder's "tokens")
        Assert.Equal("startToken", Assert.Throws<ArgumentOutOfRangeException>(() => model.Greedy(Tokens(other, 1, 4), startToken: 9, maxLength: 5)).ParamName);
        Assert.Equal("startToken", Assert.Throws<ArgumentOutOfRangeException>(() => model.Beam(Tokens(other, 1, 4), startToken: -1, beamWidth: 2, maxLength: 5)).ParamName);
        Assert.Equal(memory, held.Memory.ToArray());
    }

    [Fact]
    public void ParametersAreTheEncodersBridgesAndDecodersUnderPrefixedNames()
    {
        var model = new Seq2SeqGeneral(seed: 1);
        string[] names = model.Parameters.Select(p => p.Name).ToArray();
        Assert.Equal(model.Encoder.Parameters.Select(p => "encoder." + p.Name), names.Take(model.Encoder.Parameters.Count));
        Assert.Equal(["bridge.h_l0.weight", "bridge.h_l0.bias", "bridge.c_l0.weight", "bridge.c_l0.bias"], names.Skip(model.Encoder.Parameters.Count).Take(4));
        Assert.Equal(model.Decoder.Parameters.Select(p => "decoder." + p.Name), names.Skip(model.Encoder.Parameters.Count + 4));
        Assert.Equal([5, 6], model.Parameters["bridge.h_l0.weight"].Shape.ToArray());
        // The composed set shares the parts' storage: a change through one is seen through the other.
        model.Parameters["encoder.lstm.weight_ih_l0"].AsSpan()[0] = 42f;
        Assert.Equal(42f, model.Encoder.Parameters["lstm.weight_ih_l0"].AsSpan()[0]);
        // Encoder and decoder get different initial weights although both have an 'embedding'.
        Assert.NotEqual(model.Encoder.Parameters["embedding.weight"].AsSpan()[0], model.Decoder.Parameters["embedding.weight"].AsSpan()[0]);
    }

    [Fact]
    public void EqualWidthsAreCopiedWithoutABridge()
    {
        var model = new Seq2SeqDot();
        Assert.DoesNotContain(model.Parameters, p => p.Name.StartsWith("bridge.", StringComparison.Ordinal));
        Assert.All(model.Bridges, b => Assert.False(b.Dense));
        Assert.Equal(2, model.Bridges.Count); // h and c
    }

    [Fact]
    public void SavedWeightsLoadIntoAFreshModel()
    {
        Seq2SeqGeneral model = Trained();
        string path = Path.Combine(Path.GetTempPath(), $"dsl-s2s-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Parameters.Save(path);
            var other = new Seq2SeqGeneral(seed: 99);
            other.Parameters.Load(path);
            foreach (Parameter p in model.Parameters) Assert.Equal(p.AsSpan().ToArray(), other.Parameters[p.Name].AsSpan().ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void GreedyStepsAgreeWithTheWholeSequencePass()
    {
        Seq2SeqGeneral model = Trained();
        int[] source = [3, 7, 1, 8, 2];
        int[] output = model.Greedy(Tokens(source, 1, 5), startToken: 1, maxLength: 6);
        Assert.Equal(6, output.Length);
        // Teacher-forced on its own output, the decoder's argmax at every step is what stepping chose.
        int[] input = [1, .. output[..^1]];
        float[] logits = Dsl.Tests.Parity.ParityModel.Flatten(model.Forward(Tokens(source, 1, 5), default, Tokens(input, 1, input.Length)));
        for (int t = 0; t < output.Length; t++) Assert.Equal(output[t], TensorPrimitives.IndexOfMax(logits.AsSpan(t * 9, 9)));
    }

    [Fact]
    public void BeamOfWidthOneIsGreedyAndWiderBeamsScoreAtLeastAsWell()
    {
        Seq2SeqGeneral model = Trained();
        var source = Tokens([5, 5, 2, 9], 1, 4);
        int[] greedy = model.Greedy(source, startToken: 1, maxLength: 5);
        IReadOnlyList<Hypothesis> one = model.Beam(source, startToken: 1, beamWidth: 1, maxLength: 5, lengthPenalty: 0f);
        Assert.Equal(greedy, one[0].Tokens);
        IReadOnlyList<Hypothesis> four = model.Beam(source, startToken: 1, beamWidth: 4, maxLength: 5, lengthPenalty: 0f);
        Assert.True(four[0].LogProbability >= one[0].LogProbability - 1e-5f);
    }

    [Fact]
    public void TeacherForcingBelowOneIsSeededAndChangesTheStep()
    {
        var expected = SafeTensors.Read(Fixture.Path("Seq2SeqGeneral.expected.safetensors"));
        int[] source = expected["source"].ToInt32(), lengths = expected["lengths"].ToInt32();
        int[] input = expected["decoder_input"].ToInt32(), targets = expected["targets"].ToInt32();
        float Loss(float ratio) =>
            Trained().Backward(Tokens(source, 3, 5), lengths, Tokens(input, 3, 4), Tokens(targets, 3, 4), ratio);
        Assert.Equal(Loss(0.3f), Loss(0.3f));
        Assert.NotEqual(Loss(1f), Loss(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Loss(1.5f));
    }

    [Fact]
    public void ADecoderWithCrossAttentionNeedsTheEncodersOutputs()
    {
        var decoder = new S2sDotDecoder();
        var e = Assert.Throws<InvalidOperationException>(() => decoder.Forward(Tokens([1, 2, 3], 1, 3)));
        Assert.Contains("attends over an encoder's outputs", e.Message);
        var state = decoder.CreateState(2);
        Assert.True(state.NeedsMemory);
        Assert.Throws<InvalidOperationException>(() => decoder.Step(Tokens([1, 2], 2), state));
        // Memory of another batch size is refused, naming both sizes.
        var encoder = new S2sLstmEncoder();
        EncoderOutput encoded = ((IEncoder<int>)encoder).Encode(Tokens([1, 2, 3], 1, 3), default, training: false);
        var wrong = Assert.Throws<ArgumentException>(() => state.Attend(encoded));
        // the state's batch (2) is what is expected; the encoder's (1) is what came
        Assert.Equal("encoded: expected batch (the state's batch size) = 2 but got 1. (Parameter 'encoded')", wrong.Message);
        Assert.Equal("encoded", wrong.ParamName);
    }

    /// <summary>
    /// A record built by hand is checked where it is built: a memory that is not [steps, batch, width], a gradient of another
    /// length, lengths outside 1 … steps (a decoder had failed inside a kernel, after its state had moved a step).
    /// </summary>
    [Fact]
    public void AnEncoderOutputOfTheWrongSizesIsRefusedWhereItIsBuilt()
    {
        var e = Assert.Throws<ArgumentException>(() => EncoderOutput.Create(2, 5, 8, new float[2 * 4 * 8], default, new int[2], [], []));
        Assert.Equal("memory", e.ParamName);
        Assert.Contains("expected 5 × 2 × 8 = 80 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => EncoderOutput.Create(2, 5, 8, new float[80], new float[1], new int[2], [], []));
        Assert.Equal("memoryGradient", e.ParamName);
        Assert.Equal("lengths", Assert.Throws<ArgumentException>(() => EncoderOutput.Create(2, 5, 8, new float[80], default, new int[1], [], [])).ParamName);
        EncoderOutput encoded = EncoderOutput.Create(2, 5, 8, new float[80], new float[80], [0, 3], [], []);
        e = Assert.Throws<ArgumentException>(() => encoded.SetHasLengths(true));
        Assert.Contains("the length of sequence 0 is 0", e.Message);
        Assert.False(encoded.HasLengths);
        encoded.SetHasLengths(false);
    }

    [Fact]
    public void BackPropagatingAnInferenceEncodingIsRefusedClearly()
    {
        // an inference workspace holds no gradient buffer: back-propagating through it is an error that says why
        var encoder = new S2sLstmEncoder();
        EncoderOutput encoded = ((IEncoder<int>)encoder).Encode(Tokens([1, 2, 3], 1, 3), default, training: false);
        var e = Assert.Throws<InvalidOperationException>(() => ((IEncoder<int>)encoder).BackwardFromEncoded(encoded));
        Assert.Equal("Model 'S2sLstmEncoder': the output was encoded for inference (training: false); encode with training: true to back-propagate.", e.Message);
        EncoderOutput trained = ((IEncoder<int>)encoder).Encode(Tokens([1, 2, 3], 1, 3), default, training: true);
        ((IEncoder<int>)encoder).BackwardFromEncoded(trained); // a training encoding back-propagates (throws nothing)

        // the training workspace hands out the same record to every Encode: an inference Encode after the training one, or a
        // Forward of the same shape, had been back-propagated through the old pass's values without a word
        EncoderOutput again = ((IEncoder<int>)encoder).Encode(Tokens([3, 2, 1], 1, 3), default, training: false);
        Assert.Same(trained, again);
        e = Assert.Throws<InvalidOperationException>(() => ((IEncoder<int>)encoder).BackwardFromEncoded(again));
        Assert.Contains("encoded for inference (training: false)", e.Message);
        trained = ((IEncoder<int>)encoder).Encode(Tokens([1, 2, 3], 1, 3), default, training: true);
        encoder.Forward(Tokens([3, 2, 1], 1, 3));
        e = Assert.Throws<InvalidOperationException>(() => ((IEncoder<int>)encoder).BackwardFromEncoded(trained));
        Assert.Equal("Model 'S2sLstmEncoder': the encoded output is not that of its last pass (it has run another pass since); encode again before back-propagating.", e.Message);
    }

    [Fact]
    public void EncoderOutputsHoldTheFinalStatesOfEachDirection()
    {
        var encoder = new S2sLstmEncoder(seed: 4);
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 0];
        EncoderOutput encoded = ((IEncoder<int>)encoder).Encode(Tokens(tokens, 2, 4), [4, 2], training: false);
        Assert.Equal((2, 4, 6), (encoded.Batch, encoded.Steps, encoded.Width));
        Assert.Equal(["lstm.h_l0", "lstm.c_l0"], encoded.FinalStates.Select(s => s.Name));
        // Memory is time-major [S, B, 6]: the forward half of h_n is the output at step length − 1, the reverse half at step 0.
        float[] h = encoded.FinalStates[0].AsSpan().ToArray();
        for (int b = 0; b < 2; b++)
        {
            int last = b == 0 ? 3 : 1;
            Assert.Equal(encoded.Memory.Span.Slice((last * 2 + b) * 6, 3).ToArray(), h.AsSpan(b * 6, 3).ToArray());
            Assert.Equal(encoded.Memory.Span.Slice((0 * 2 + b) * 6 + 3, 3).ToArray(), h.AsSpan(b * 6 + 3, 3).ToArray());
        }
        // Padded steps of the second sequence are zero.
        Assert.All(encoded.Memory.Span.Slice((2 * 2 + 1) * 6, 6).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TeacherForcingSchedules()
    {
        var linear = TeacherForcingSchedule.Linear(1f, 0.5f, 10);
        Assert.Equal(1f, linear.Ratio(0));
        Assert.Equal(0.75f, linear.Ratio(5), 6);
        Assert.Equal(0.5f, linear.Ratio(10));
        Assert.Equal(0.5f, linear.Ratio(1000));
        var exponential = TeacherForcingSchedule.Exponential(1f, 0.9f, minimum: 0.2f);
        Assert.Equal(0.81f, exponential.Ratio(2), 5);
        Assert.Equal(0.2f, exponential.Ratio(100));
        var sigmoid = TeacherForcingSchedule.InverseSigmoid(10f);
        Assert.Equal(10f / (10f + 1f), sigmoid.Ratio(0), 5);
        Assert.True(sigmoid.Ratio(100) < sigmoid.Ratio(10));
        Assert.Equal(0.7f, TeacherForcingSchedule.Constant(0.7f).Ratio(12345));
        Assert.Throws<ArgumentOutOfRangeException>(() => TeacherForcingSchedule.Linear(1.2f, 0f, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => TeacherForcingSchedule.Exponential(1f, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => TeacherForcingSchedule.InverseSigmoid(0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => linear.Ratio(-1));
    }

    [Fact]
    public void HeatmapPanelsStackOneUnderTheOther()
    {
        var a = new AttentionHeatmap.Panel([0.25f, 0.75f, 1f, 0f], ["x", "y"], ["p", "q"], "first");
        var b = new AttentionHeatmap.Panel([1f, 0f, 0f], ["z"], ["p", "q", "r"], "second <&>");
        string svg = AttentionHeatmap.ToSvg([a, b]);
        Assert.Contains(">first<", svg);
        Assert.Contains("second &lt;&amp;&gt;", svg);
        Assert.Contains("translate(0 186)", svg); // the second panel starts below the first (110 + 2·28 + 20)
        Assert.Equal(2 + 3, svg.Split("<rect x=").Length - 1 - 2); // 4 + 3 cells
        Assert.Throws<ArgumentException>(() => AttentionHeatmap.ToSvg([new AttentionHeatmap.Panel([1f], ["x"], ["p", "q"], "bad")]));
    }
}
