using System.Numerics.Tensors;
using Dsl.Tests.Gpu;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// A batch of prompts (<see cref="Decode.GreedyBatch"/>, <see cref="Decode.SampleBatch"/>, <see cref="Decode.BeamBatch"/>) or
/// of sources (an encoder–decoder's <c>Greedy</c> and <c>Beam</c> with lengths) decodes in one call, stepped as the rows of
/// one state, to what each decodes to alone: prompts of several lengths, sequences that end at different steps, beams of
/// several sources side by side.
/// </summary>
public class BatchDecodingTests
{
    /// <summary>
    /// Three prompts of three lengths padded to four steps (the padding an id no model reads): the shortest's two tokens read
    /// together (a generated model's in one pass), then the longer ones' rest a token a step.
    /// </summary>
    private static readonly int[] Prompts = [1, 2, 3, 1, 4, 0, int.MaxValue, int.MaxValue, 2, 1, 0, int.MaxValue];
    private static readonly int[] PromptLengths = [4, 2, 3];

    private static int[] Prompt(int row) => Prompts.AsSpan(row * 4, PromptLengths[row]).ToArray();

    private static ReadOnlyTensorSpan<int> PromptTensor => new(Prompts, [3, 4]);

    /// <summary>How many tokens the model can decode after the longest prompt (a learned position table holds so many).</summary>
    private static int MaxLength(IModel<int> model, int prefix, int wanted) => Math.Min(wanted, ModelLimits.Positions(model)?.Positions - prefix + 1 ?? wanted);

    [Theory]
    [MemberData(nameof(BeamRowsTests.SteppingModels), MemberType = typeof(BeamRowsTests))]
    public void ABatchOfPromptsDecodesAsEachPromptAlone(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        int maxLength = MaxLength(model, 4, 5);
        // an end token the first prompt's greedy decoding reaches early: its row leaves the batch while the others go on
        int[] first = Decode.Greedy(model, Prompt(0), maxLength);
        int end = first[Math.Min(1, first.Length - 1)];
        int[][] greedy = Decode.GreedyBatch(model, PromptTensor, PromptLengths, maxLength, end);
        Assert.Equal(3, greedy.Length);
        for (int b = 0; b < 3; b++)
            Assert.True(Decode.Greedy(model, Prompt(b), maxLength, end).SequenceEqual(greedy[b]), $"{name}: row {b} decodes [{string.Join(", ", greedy[b])}] in the batch");
        IReadOnlyList<Hypothesis>[] beams = Decode.BeamBatch(model, PromptTensor, PromptLengths, beamWidth: 3, maxLength, end);
        Assert.Equal(3, beams.Length);
        for (int b = 0; b < 3; b++)
        {
            Assert.NotEmpty(beams[b]);
            BeamRowsTests.AssertSameBeams(Decode.Beam(model, Prompt(b), 3, maxLength, end), beams[b], $"{name}, row {b}");
        }
    }

    /// <summary>
    /// Sampling draws, step by step, for each unfinished row whose prompt is through, in row order (a row whose prompt goes on
    /// is fed its next token meanwhile; rows leave as they end): what stepping each row from a state of its own and drawing in
    /// that order draws.
    /// </summary>
    [Theory]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(StatefulLstm))]
    [InlineData(nameof(GcTiedGru))]
    public void ABatchSamplesRowByRowEachStep(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        const float temperature = 1.5f;
        int maxLength = MaxLength(model, 4, 8);
        foreach (int? end in new int?[] { null, 1 })
        {
            int[][] sampled = Decode.SampleBatch(model, PromptTensor, PromptLengths, maxLength, temperature, topK: 0, new Rng(11), end);
            var rng = new Rng(11);
            var states = Enumerable.Range(0, 3).Select(_ => model.CreateState(1)).ToArray();
            var logits = Enumerable.Range(0, 3).Select(b => Step(model, Prompt(b)[0], states[b])).ToArray();
            var fed = new[] { 1, 1, 1 };
            var expected = Enumerable.Range(0, 3).Select(_ => new List<int>()).ToArray();
            var going = new List<int> { 0, 1, 2 };
            while (going.Count > 0)
                foreach (int b in going.ToArray())
                {
                    if (fed[b] < PromptLengths[b])
                    {
                        logits[b] = Step(model, Prompt(b)[fed[b]++], states[b]);
                        continue;
                    }
                    int next = Sampling.Sample(logits[b], temperature, rng);
                    expected[b].Add(next);
                    if (next == end || expected[b].Count == maxLength) going.Remove(b);
                    else logits[b] = Step(model, next, states[b]);
                }
            for (int b = 0; b < 3; b++) Assert.Equal(expected[b], sampled[b]);
            if (end is not null) Assert.True(sampled.Any(s => s.Length < maxLength), $"{name}: no row drew the end token {end}");
        }
    }

    private static float[] Step(IModel<int> model, int token, IModelState state)
    {
        var logits = new float[model.OutputWidth];
        model.Step(new ReadOnlyTensorSpan<int>([token], [1]), state, new TensorSpan<float>(logits, [1, logits.Length]));
        return logits;
    }

    /// <summary>
    /// Prompts step as one batch, from the first prompt token on, whatever their lengths (a row whose prompt goes on is fed it
    /// while the others choose); a row that ends leaves it; a beam's rows are every prompt's hypotheses, a prompt one row until
    /// it is through.
    /// </summary>
    [Fact]
    public void PromptsStepAsOneBatch()
    {
        var counted = new BeamRowsTests.CountingModel(new TinyGpt(seed: 2));
        int[] prompts = [1, 2, 3, 4, 2, 1];
        int[][] alone = [.. Enumerable.Range(0, 3).Select(b => Decode.Greedy(new TinyGpt(seed: 2), prompts.AsSpan(2 * b, 2), 5))];
        int end = alone[0][1];
        alone = [.. Enumerable.Range(0, 3).Select(b => Decode.Greedy(new TinyGpt(seed: 2), prompts.AsSpan(2 * b, 2), 5, end))];
        Decode.GreedyBatch(counted, new ReadOnlyTensorSpan<int>(prompts, [3, 2]), default, 5, end);
        // two prompt steps of three rows, then a step for each token chosen that is fed back: as many rows as go on
        var expected = new List<int> { 3, 3 };
        for (int j = 0; j < 4; j++)
        {
            int going = alone.Count(a => a.Length > j + 1);
            if (going > 0) expected.Add(going);
        }
        Assert.Contains(expected.Skip(2), n => n < 3); // (the end token ends a row early)
        Assert.Equal(expected, counted.Batches);
        counted.Batches.Clear();
        Decode.BeamBatch(counted, new ReadOnlyTensorSpan<int>(prompts, [3, 2]), default, beamWidth: 2, maxLength: 4);
        Assert.Equal([3, 3, 6, 6, 6], counted.Batches);
        counted.Batches.Clear();
        Decode.GreedyBatch(counted, new ReadOnlyTensorSpan<int>(prompts, [3, 2]), [2, 1, 2], 3);
        // every row's first token; rows 0 and 2 fed their second while row 1 chooses; all three choose; row 1 has its three
        Assert.Equal([3, 3, 3, 2], counted.Batches);
        counted.Batches.Clear();
        Decode.BeamBatch(counted, new ReadOnlyTensorSpan<int>(prompts, [3, 2]), [2, 1, 2], beamWidth: 2, maxLength: 3);
        // the first tokens; rows 0 and 2 fed their second beside row 1's two hypotheses; two hypotheses each; row 1's search
        // has stopped (its third tokens end it), rows 0 and 2 choose their last
        Assert.Equal([3, 4, 6, 4], counted.Batches);
    }

    /// <summary>An encoder–decoder as the tests drive it: its single-source and batched decoders.</summary>
    private sealed record Translator(
        Func<int[], int[]> Greedy, Func<int[], IReadOnlyList<Hypothesis>> Beam,
        Func<int[], int[], int, int[][]> GreedyBatch, Func<int[], int[], int, IReadOnlyList<Hypothesis>[]> BeamBatch);

    private const int Start = 1, MaxTokens = 5;

    private static Translator Create(string name, int? end) => EncoderDecoders.Use(name, new Wrapping(end));

    private sealed class Wrapping(int? end) : IEncoderDecoderUse<Translator>
    {
        public Translator Use<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model) where TEncoder : IEncoder<int> where TDecoder : IModel<int> => new(
            source => model.Greedy(new ReadOnlyTensorSpan<int>(source, [1, source.Length]), Start, MaxTokens, end),
            source => model.Beam(new ReadOnlyTensorSpan<int>(source, [1, source.Length]), Start, beamWidth: 3, MaxTokens, end),
            (sources, lengths, steps) => model.Greedy(new ReadOnlyTensorSpan<int>(sources, [lengths.Length, steps]), lengths, Start, MaxTokens, end),
            (sources, lengths, steps) => model.Beam(new ReadOnlyTensorSpan<int>(sources, [lengths.Length, steps]), lengths, Start, beamWidth: 3, MaxTokens, end));
    }

    /// <summary>
    /// Three sources padded to five steps decode, greedily and by beams of three, to what each decodes to alone: the
    /// encoder's padding masked, each source's memory and states its own rows, its hypotheses ranked apart from the others'.
    /// </summary>
    [Theory]
    [MemberData(nameof(BeamRowsTests.EncoderDecoders), MemberType = typeof(BeamRowsTests))]
    public void ABatchOfSourcesDecodesAsEachSourceAlone(string name)
    {
        int[] sources = [3, 1, 4, 1, 5, 9, 2, 6, 0, 0, 5, 3, 5, 8, 0];
        int[] lengths = [5, 3, 4];
        int[] Source(int b) => sources.AsSpan(b * 5, lengths[b]).ToArray();
        // without an end token (every row steps to the end), and with one the first source's greedy decoding reaches at its
        // second token (rows leave the batch at different steps where the sources decode apart)
        Translator free = Create(name, end: null);
        foreach (Translator model in new[] { free, Create(name, free.Greedy(Source(0))[1]) })
        {
            int[][] greedy = model.GreedyBatch(sources, lengths, 5);
            IReadOnlyList<Hypothesis>[] beams = model.BeamBatch(sources, lengths, 5);
            for (int b = 0; b < 3; b++)
            {
                int[] alone = model.Greedy(Source(b));
                Assert.True(alone.SequenceEqual(greedy[b]), $"{name}: source {b} decodes [{string.Join(", ", greedy[b])}] in the batch, [{string.Join(", ", alone)}] alone.");
                BeamRowsTests.AssertSameBeams(model.Beam(Source(b)), beams[b], $"{name}, source {b}");
            }
        }
    }

    /// <summary>A batch of sources given without lengths decodes every step of every source.</summary>
    [Fact]
    public void SourcesWithoutLengthsAreEveryStep()
    {
        var model = new TransformerSeq2Seq(seed: 3);
        int[] sources = [3, 1, 4, 1, 5, 9];
        int[][] batch = model.Greedy(new ReadOnlyTensorSpan<int>(sources, [2, 3]), default, Start, MaxTokens);
        Assert.Equal(model.Greedy(new ReadOnlyTensorSpan<int>(sources[..3], [1, 3]), Start, MaxTokens), batch[0]);
        Assert.Equal(model.Greedy(new ReadOnlyTensorSpan<int>(sources[3..], [1, 3]), Start, MaxTokens), batch[1]);
    }

    /// <summary>Rows selected as a beam reorders them (each source's rows kept in their places) leave the encoder's memory shared; any other selection copies.</summary>
    [Fact]
    public void ABeamOfSeveralSourcesSharesTheirMemory()
    {
        var model = new TransformerSeq2Seq(seed: 5);
        IModel<int> decoder = model.Decoder;
        var encoded = (TfDecoder.State)model.Encode(new ReadOnlyTensorSpan<int>([3, 1, 4, 1, 5, 9], [2, 3]));
        var first = (TfDecoder.State)decoder.CreateState(4);
        var second = (TfDecoder.State)decoder.CreateState(4);
        first.CopyRowsFrom(encoded, [0, 0, 1, 1]);
        second.CopyRowsFrom(first, [1, 0, 3, 3]);
        Assert.Same(first.Memory, second.Memory);
        first.CopyRowsFrom(second, [0, 2, 1, 3]); // sources 0, 1, 0, 1: the rows change
        Assert.NotSame(second.Memory, first.Memory);
        EncoderOutput two = encoded.Memory!, four = first.Memory!;
        int width = two.Width;
        int[] origin = [0, 1, 0, 1];
        for (int t = 0; t < two.Steps; t++)
            for (int i = 0; i < 4; i++)
                Assert.Equal(two.Memory.Span.Slice((t * 2 + origin[i]) * width, width).ToArray(), four.Memory.Span.Slice((t * 4 + i) * width, width).ToArray());
    }

    [Fact]
    public void ABadBatchSaysWhatWasExpected()
    {
        var model = new TinyGpt(seed: 1);
        Assert.Contains("expected [batch, steps]", Assert.Throws<ArgumentException>(() => Decode.GreedyBatch(model, new ReadOnlyTensorSpan<int>([1, 2], [2]), default, 3)).Message);
        Assert.Contains("expected [batch, steps]", Assert.Throws<ArgumentException>(() => Decode.BeamBatch(model, new ReadOnlyTensorSpan<int>(Prompts, [3, 4, 1]), default, 2, 3)).Message);
        Assert.Contains("one length per sequence", Assert.Throws<ArgumentException>(() => Decode.GreedyBatch(model, PromptTensor, [3, 2], 3)).Message);
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => Decode.GreedyBatch(model, PromptTensor, [3, 0, 3], 3)).Message);
        // an id outside the vocabulary in a prompt is named with its row and step; in the padding after a prompt it is never read
        var vocabulary = Assert.Throws<ArgumentOutOfRangeException>(() => Decode.GreedyBatch(model, PromptTensor, default, 3));
        Assert.Contains("row 1's prompt holds this id at step 2", vocabulary.Message);
        Assert.Equal("prompts", vocabulary.ParamName);
        Assert.Equal(3, Decode.GreedyBatch(model, PromptTensor, PromptLengths, 3).Length);
        Assert.Contains("must be positive", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.BeamBatch(model, PromptTensor, PromptLengths, 0, 3)).Message);
        Assert.Throws<ArgumentNullException>(() => Decode.SampleBatch(model, PromptTensor, PromptLengths, 3, 1f, 0, rng: null));
        // an encoder–decoder's single-source decoders name the batched ones
        var translator = new TransformerSeq2Seq(seed: 1);
        int[] two = [3, 1, 4, 1, 5, 9];
        Assert.Contains("Greedy(source, lengths, …)", Assert.Throws<ArgumentException>(() => translator.Greedy(new ReadOnlyTensorSpan<int>(two, [2, 3]), Start, 3)).Message);
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => translator.Beam(new ReadOnlyTensorSpan<int>(two, [2, 3]), [3, 0], Start, 2, 3)).Message);
    }
}
