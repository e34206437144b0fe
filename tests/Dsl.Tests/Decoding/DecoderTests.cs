using System.Numerics.Tensors;
using System.Text.Json;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Decoding;

public class DecoderTests
{
    /// <summary>
    /// A hand-built model: the next token's distribution depends only on the current token. From the start (0):
    /// A (1) 0.6, B (2) 0.4. After A: end (3) 0.4, A 0.3, B 0.3. After B: end 0.9, A 0.05, B 0.05.
    /// Greedy takes A then ends (0.24); the best sequence is B then end (0.36).
    /// </summary>
    private sealed class MarkovModel : StepOnlyModel
    {
        private static readonly float[][] Next =
        [
            [0f, 0.6f, 0.4f, 0f],
            [0f, 0.3f, 0.3f, 0.4f],
            [0f, 0.05f, 0.05f, 0.9f],
            [0.25f, 0.25f, 0.25f, 0.25f],
        ];

        private sealed class State(int batch) : IModelState
        {
            public readonly float[] Last = new float[batch];
            public int Batch => batch;
            public void Reset() => Array.Clear(Last);
            public IReadOnlyList<NamedTensor> Tensors => [new NamedTensor("last", Last, batch, 1)];
        }

        public override ParameterSet Parameters { get; } = new([]);
        public override int InputWidth => 4;
        public override int OutputWidth => Fixed?.Length ?? 4;
        public override bool ReturnsSequences => true;

        /// <summary>When set, the logits of every step, whatever came before (−∞ masks a token; a fifth one is an id the model cannot read).</summary>
        public float[]? Fixed { get; init; }
        public override Rng DropoutRandom { get; } = new(0);
        public int Steps { get; private set; }

        /// <summary>From this step on (counting every step taken) the logits are NaN: a model that diverges part-way.</summary>
        public int NaNFromStep { get; init; } = int.MaxValue;

        public override IModelState CreateState(int batch = 1) => new State(batch);

        public override void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination)
        {
            Steps++;
            var s = (State)state;
            int token = input[0];
            s.Last[0] = token;
            float[] logits = Fixed ?? Next[token].Select(p => Steps >= NaNFromStep ? float.NaN : p > 0 ? MathF.Log(p) : -1e9f).ToArray();
            new ReadOnlyTensorSpan<float>(logits, [1, logits.Length]).CopyTo(destination);
        }
    }

    [Fact]
    public void BeamSearchFindsTheBestSequenceWhereGreedyDoesNot()
    {
        var model = new MarkovModel();
        Assert.Equal(new[] { 1, 3 }, Decode.Greedy(model, [0], maxLength: 5, endToken: 3));
        IReadOnlyList<Hypothesis> beams = Decode.Beam(model, [0], beamWidth: 2, maxLength: 5, endToken: 3, lengthPenalty: 0f);
        Assert.Equal(new[] { 2, 3 }, beams[0].Tokens);
        Assert.Equal(MathF.Log(0.36f), beams[0].LogProbability, 1e-5f);
        Assert.Equal(new[] { 1, 3 }, beams[1].Tokens);
        Assert.Equal(MathF.Log(0.24f), beams[1].LogProbability, 1e-5f);
        // Width 1 is greedy without length normalisation (with it, a longer ending can score better than greedy's)
        Assert.Equal(new[] { 1, 3 }, Decode.Beam(model, [0], beamWidth: 1, maxLength: 5, endToken: 3, lengthPenalty: 0f)[0].Tokens);
    }

    [Fact]
    public void ABeamNeverChoosesATokenOfNoProbability()
    {
        // only the end token is possible: one sequence ends, and no beam fills up with masked tokens (it had returned [0, 0, 0,
        // 0, 0] beside [3], of log-probability −∞)
        var model = new MarkovModel { Fixed = [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 0f] };
        Hypothesis only = Assert.Single(Decode.Beam(model, [0], beamWidth: 2, maxLength: 5, endToken: 3));
        Assert.Equal([3], only.Tokens);
        Assert.Equal(0f, only.LogProbability);
        // two possible tokens, no end token: the beams are the two, never a masked one
        var two = new MarkovModel { Fixed = [float.NegativeInfinity, 0f, 0f, float.NegativeInfinity] };
        IReadOnlyList<Hypothesis> beams = Decode.Beam(two, [0], beamWidth: 3, maxLength: 2);
        Assert.All(beams, h => Assert.True(float.IsFinite(h.LogProbability) && h.Tokens.All(t => t is 1 or 2), string.Join(",", h.Tokens)));
        // a width past what an int doubles to still searches
        Assert.NotEmpty(Decode.Beam(new MarkovModel(), [0], beamWidth: 1 << 30, maxLength: 3, endToken: 3));
    }

    [Fact]
    public void MaxLengthZeroIsOneEmptySequenceForEveryDecoder()
    {
        var model = new MarkovModel();
        Assert.Empty(Decode.Greedy(model, [0], maxLength: 0));
        Hypothesis empty = Assert.Single(Decode.Beam(model, [0], beamWidth: 2, maxLength: 0));
        Assert.Empty(empty.Tokens);
        Assert.Equal(0f, empty.LogProbability);
    }

    [Fact]
    public void EndTokensAndPrefixesOutsideTheModelAreRefusedNamingThem()
    {
        // an end token the model cannot choose had never matched: decoding ran to maxLength without a word; a prefix id past
        // the vocabulary had failed inside the model's Step, naming its "tokens"
        var model = new MarkovModel();
        Assert.Equal("endToken", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Greedy(model, [0], 5, endToken: 4)).ParamName);
        Assert.Equal("endToken", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Beam(model, [0], 2, 5, endToken: -1)).ParamName);
        Assert.Equal("endToken", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 5, 1f, 0, new Rng(1), endToken: 9)).ParamName);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Greedy(model, [0, 7], 5));
        Assert.Equal("prefix", error.ParamName);
        Assert.Contains("[0, 4)", error.Message);
        Assert.Equal("prefix", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Beam(model, [-1], 2, 5)).ParamName);
        Assert.Equal(0, model.Steps); // refused before the model ran
        // greedy from a null initial state starts from zeros, as sampling and beam search do
        Assert.Equal(Decode.Greedy(model, [0], 5, 3), Decode.Greedy(model, null, [0], 5, 3));
    }

    [Fact]
    public void AChosenTokenTheModelCannotReadBackIsNamed()
    {
        // five outputs, four inputs: token 4 can only end a sequence
        var model = new MarkovModel { Fixed = [0f, 0f, 0f, 0f, 5f] };
        Assert.Equal([4], Decode.Greedy(model, [0], 3, endToken: 4));
        var error = Assert.Throws<InvalidOperationException>(() => Decode.Greedy(model, [0], 3));
        Assert.Contains("chose token 4, which it cannot read back", error.Message);
        Assert.Equal([4], Decode.Greedy(model, [0], 1)); // the last token is never fed back
        Assert.Contains("chose token 4", Assert.Throws<InvalidOperationException>(() => Decode.Beam(model, [0], 2, 3)).Message);
    }

    /// <summary>A model written by hand (its state has no rows to copy) decodes a batch of prompts a state per row, to what each decodes to alone.</summary>
    [Fact]
    public void AHandWrittenModelDecodesABatchRowByRow()
    {
        var prompts = new ReadOnlyTensorSpan<int>([0, 2, 1, 1], [2, 2]);
        int[] lengths = [1, 2];
        var model = new MarkovModel();
        int[][] greedy = Decode.GreedyBatch(model, prompts, lengths, maxLength: 5, endToken: 3);
        Assert.Equal([[1, 3], [3]], greedy);
        IReadOnlyList<Hypothesis>[] beams = Decode.BeamBatch(model, prompts, lengths, beamWidth: 2, maxLength: 5, endToken: 3, lengthPenalty: 0f);
        Assert.Equal([2, 3], beams[0][0].Tokens); // greedy's miss, found from each prompt
        Assert.Equal(MathF.Log(0.36f), beams[0][0].LogProbability, 1e-5f);
        Assert.Equal(Decode.Beam(model, [2, 1], 2, 5, 3, 0f).Select(h => h.Tokens), beams[1].Select(h => h.Tokens));
        // four prompts of one length: a state per row, each source's search stopping when its own sequences have ended
        var four = new ReadOnlyTensorSpan<int>([0, 1, 2, 3], [4, 1]);
        foreach ((int width, float penalty) in new[] { (2, 0f), (3, 1f), (1, 0.5f) })
        {
            IReadOnlyList<Hypothesis>[] each = Decode.BeamBatch(new MarkovModel(), four, default, width, maxLength: 6, endToken: 3, lengthPenalty: penalty);
            for (int b = 0; b < 4; b++)
            {
                IReadOnlyList<Hypothesis> alone = Decode.Beam(new MarkovModel(), [b], width, 6, 3, penalty);
                Assert.Equal(alone.Select(h => h.Tokens), each[b].Select(h => h.Tokens));
                Assert.Equal(alone.Select(h => h.Score), each[b].Select(h => h.Score));
            }
        }
        int[][] greedyFour = Decode.GreedyBatch(new MarkovModel(), four, default, 6, endToken: 3);
        for (int b = 0; b < 4; b++) Assert.Equal(Decode.Greedy(new MarkovModel(), [b], 6, 3), greedyFour[b]);
    }

    /// <summary>A batch whose sampling fails part-way (a row chooses a token the model cannot read back) leaves the caller's generator as it was.</summary>
    [Fact]
    public void AFailedBatchLeavesTheGeneratorAsItWas()
    {
        var rng = new Rng(7);
        string before = rng.Save();
        // five outputs, four inputs: token 4 ends nothing and cannot be fed back; rows draw it sooner or later
        var model = new MarkovModel { Fixed = [0f, 0f, 0f, 0f, 0f] };
        int[] tokens = [0, 1, 2];
        Assert.Contains("cannot read back", Assert.Throws<InvalidOperationException>(() => Decode.SampleBatch(model, new ReadOnlyTensorSpan<int>(tokens, [3, 1]), default, 50, 1f, 0, rng)).Message);
        var prompts = new ReadOnlyTensorSpan<int>(tokens, [3, 1]);
        Assert.Equal(before, rng.Save());
        // with token 4 the end, the same generator draws what a fresh one of the seed draws
        Assert.Equal(Decode.SampleBatch(model, prompts, default, 50, 1f, 0, new Rng(7), endToken: 4), Decode.SampleBatch(model, prompts, default, 50, 1f, 0, rng, endToken: 4));
    }

    [Fact]
    public void TheBeamStaysFullWhenSequencesEnd()
    {
        // per-token scores (lengthPenalty 1): B end −0.51, A B end −0.61 (0.6 · 0.3 · 0.9 over 3 tokens), A end −0.71. At the
        // second step both of width 2's best candidates end; a beam that narrowed with them would stop there and return
        // A end second. Kept 2 wide, it goes on with A A and A B, and finds A B end.
        var model = new MarkovModel();
        IReadOnlyList<Hypothesis> beams = Decode.Beam(model, [0], beamWidth: 2, maxLength: 5, endToken: 3, lengthPenalty: 1f);
        Assert.Equal(2, beams.Count);
        Assert.Equal(new[] { 2, 3 }, beams[0].Tokens);
        Assert.Equal(new[] { 1, 2, 3 }, beams[1].Tokens);
        Assert.Equal(MathF.Log(0.162f), beams[1].LogProbability, 1e-5f);
        Assert.Equal(MathF.Log(0.162f) / 3, beams[1].Score, 1e-5f);
    }

    [Fact]
    public void SamplingFollowsTemperatureAndTopK()
    {
        var model = new MarkovModel();
        var rng = new Rng(3);
        int firstIsA = Enumerable.Range(0, 4000).Count(_ => Decode.Sample(model, [0], 1, temperature: 1f, topK: 0, rng)[0] == 1);
        Assert.InRange(firstIsA / 4000.0, 0.57, 0.63);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, Decode.Sample(model, [0], 1, temperature: 1f, topK: 1, rng)[0]));
        Assert.Equal(Decode.Greedy(model, [0], 4, 3), Decode.Sample(model, [0], 4, temperature: 0f, topK: 0, rng: null, endToken: 3));
    }

    [Fact]
    public void DecodingArgumentsOutOfRangeFailNamingTheArgument()
    {
        var model = new MarkovModel();
        var rng = new Rng(3);
        // a negative temperature is the mistake, not the missing generator it would otherwise be reported as
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 2, temperature: -1f, topK: 0, rng: null)).ParamName);
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 2, temperature: float.NaN, topK: 0, rng)).ParamName);
        Assert.Equal("topK", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 2, temperature: 1f, topK: -1, rng)).ParamName);
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Beam(model, [0], beamWidth: 2, maxLength: -1)).ParamName);
        IModelState two = ((IModel<int>)model).CreateState(2);
        Assert.Equal("initial", Assert.Throws<ArgumentException>(() => Decode.Greedy(model, two, [0], 2)).ParamName);
    }

    /// <summary>A state of given tensors, as another model (or a user) might hand one over.</summary>
    private sealed class GivenState(params NamedTensor[] tensors) : IModelState
    {
        public int Batch => 1;
        public void Reset() { }
        public IReadOnlyList<NamedTensor> Tensors => tensors;
    }

    [Fact]
    public void AnotherModelsStateIsRefusedNamingTheTensors()
    {
        // a hand-written model's state ("last" [1, 1]) is copied tensor by tensor: one of another width or another count
        // was copied in part, or threw half-way
        var model = new MarkovModel();
        var wide = new GivenState(new NamedTensor("last", new float[2], 1, 2));
        var e = Assert.Throws<ArgumentException>(() => Decode.Greedy(model, wide, [0], 2));
        Assert.Equal("initial", e.ParamName);
        Assert.Contains("tensor 'last' [1, 2] is not this model's 'last' [1, 1]", e.Message);
        var two = new GivenState(new NamedTensor("last", new float[1], 1, 1), new NamedTensor("other", new float[1], 1, 1));
        Assert.Contains("holds 2 tensors; this model's state holds 1 (last)", Assert.Throws<ArgumentException>(() => Decode.Beam(model, two, [0], 2, 2)).Message);
        var renamed = new GivenState(new NamedTensor("first", new float[1], 1, 1));
        Assert.Contains("'first' [1, 1] is not this model's 'last'", Assert.Throws<ArgumentException>(() => Decode.Greedy(model, renamed, [0], 2)).Message);
        Assert.Equal(2, Decode.Greedy(model, new GivenState(new NamedTensor("last", new float[1], 1, 1)), [0], 2).Length);
        // a generated model's state carries its own type check
        var lstm = new Models.Lstm(seed: 4);
        Assert.Throws<ArgumentException>(() => Decode.Greedy(lstm, new StatefulLstm(seed: 1).CreateState(1), [1], 3));
    }

    [Fact]
    public void NaNLogitsAreRefusedByGreedyAndBeamSearchAsBySampling()
    {
        var model = new Models.Lstm(seed: 4);
        model.Parameters[model.Parameters.Count - 1].AsSpan().Fill(float.NaN); // the output layer's bias: every logit NaN
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Decode.Greedy(model, [1], 3)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Decode.Beam(model, [1], beamWidth: 2, maxLength: 3)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Sampling.Greedy([1f, float.NaN, 0f])).Message);
        Assert.Equal(1, Sampling.Greedy([1f, float.PositiveInfinity, 0f]));
        Assert.Equal("lengthPenalty", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Beam(new Models.Lstm(seed: 4), [1], 2, 3, lengthPenalty: float.NaN)).ParamName);
    }

    [Fact]
    public void NucleusSamplingKeepsTheFewestLikeliestTokensThatReachTopP()
    {
        // after token 0 the model gives A (1) 0.6 and B (2) 0.4; after token 3 the four are tied at 0.25
        var model = new MarkovModel();
        var rng = new Rng(3);
        int[] Drawn(int from, float temperature, float topP, int topK = 0) =>
            Enumerable.Range(0, 400).Select(_ => Decode.Sample(model, [from], 1, temperature, topK, rng, topP: topP)[0]).Distinct().Order().ToArray();
        Assert.Equal([1], Drawn(0, 1f, 0.55f));        // 0.6 reaches 0.55 alone
        Assert.Equal([1, 2], Drawn(0, 4f, 0.55f));     // at temperature 4 they are 0.525 and 0.475: both are needed
        Assert.Equal([1, 2], Drawn(0, 1f, 0.7f));
        Assert.Equal([1, 2], Drawn(0, 1f, 1f));
        Assert.Equal([0, 1, 2, 3], Drawn(3, 1f, 0.3f)); // the token that reaches 0.3, and the three tied with it
        Assert.Equal([1], Drawn(0, 4f, 0.55f, topK: 1)); // top-k first, then top-p over what it left
        foreach (float bad in new[] { 0f, -0.5f, 1.5f, float.NaN })
            Assert.Equal("topP", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 1, 1f, 0, rng, topP: bad)).ParamName);
    }

    [Fact]
    public void SamplingThatFailsPartWayLeavesTheGeneratorAsItWas()
    {
        // the logits turn NaN at the third step: two tokens had been drawn, and the caller's generator stayed advanced
        var rng = new Rng(5);
        string before = rng.Save();
        var e = Assert.Throws<ArgumentException>(() => Decode.Sample(new MarkovModel { NaNFromStep = 3 }, [0], 5, 1f, 0, rng));
        Assert.Contains("NaN", e.Message);
        Assert.Equal(before, rng.Save());
        // and the same generator then draws what a fresh one of the seed draws
        Assert.Equal(Decode.Sample(new MarkovModel(), [0], 5, 1f, 0, new Rng(5)), Decode.Sample(new MarkovModel(), [0], 5, 1f, 0, rng));
    }

    [Fact]
    public void GreedyRefusesLogitsThatAreAllMinusInfinityAsSamplingDoes()
    {
        // every token masked: greedy had decoded index 0 over and over, where any temperature above 0 refused
        float[] masked = [float.NegativeInfinity, float.NegativeInfinity];
        Assert.Contains("only −∞", Assert.Throws<ArgumentException>(() => Sampling.Greedy(masked)).Message);
        Assert.Contains("only −∞", Assert.Throws<ArgumentException>(() => Sampling.Sample(masked, 0f, new Rng(1))).Message);
        Assert.Contains("only −∞", Assert.Throws<ArgumentException>(() => Sampling.Sample(masked, 1e-30f, new Rng(1))).Message);
        Assert.Equal(1, Sampling.Greedy([float.NegativeInfinity, -5f]));
    }

    [Fact]
    public void GreedyDecodingOfAGeneratedModelMatchesItsArgMaxStepByStep()
    {
        var model = new Models.Lstm(seed: 4);
        int[] tokens = Decode.Greedy(model, [1, 2], maxLength: 6);
        Assert.Equal(6, tokens.Length);
        var state = model.CreateState();
        int current = 1;
        var logits = new float[11];
        model.Step(new ReadOnlyTensorSpan<int>([current], [1]), state, new TensorSpan<float>(logits, [1, 11]));
        current = 2;
        foreach (int expected in tokens)
        {
            model.Step(new ReadOnlyTensorSpan<int>([current], [1]), state, new TensorSpan<float>(logits, [1, 11]));
            current = TensorPrimitives.IndexOfMax(logits);
            Assert.Equal(expected, current);
        }
    }

    private static int BleuCorpusCount()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("bleu.json")));
        return doc.RootElement.GetArrayLength();
    }

    public static TheoryData<int> BleuCases => new(Enumerable.Range(0, BleuCorpusCount()));

    [Fact]
    public void TheBleuFixtureHasCorporaWhereSmoothingMatters()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("bleu.json")));
        var corpora = doc.RootElement.EnumerateArray().ToList();
        Assert.True(corpora.Count >= 19, $"{corpora.Count} corpora");
        Assert.True(corpora.Count(c => c.GetProperty("bleu").GetDouble() != c.GetProperty("bleu_smoothed").GetDouble()) >= 14,
            "method1 must differ from method0 on most corpora, or the smoothed comparison tests little");
    }

    /// <summary>Relative comparison: NLTK's unsmoothed score with a zero higher-order count is ~1e-77 … 1e-231, far below any absolute tolerance.</summary>
    private static void AssertRelative(double expected, double actual, string what)
    {
        if (expected == 0) Assert.True(actual == 0, $"{what}: expected 0, got {actual:R}");
        else Assert.True(Math.Abs(actual - expected) <= 1e-12 * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R} (relative difference {Math.Abs(actual - expected) / Math.Abs(expected):G3})");
    }

    [Theory]
    [MemberData(nameof(BleuCases))]
    public void CorpusBleuMatchesNltk(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("bleu.json")));
        JsonElement c = doc.RootElement[index];
        var references = c.GetProperty("refs").EnumerateArray()
            .Select(r => (IReadOnlyList<IReadOnlyList<string>>)r.EnumerateArray().Select(x => (IReadOnlyList<string>)x.EnumerateArray().Select(t => t.GetString()!).ToList()).ToList()).ToList();
        var hypotheses = c.GetProperty("hyps").EnumerateArray().Select(h => (IReadOnlyList<string>)h.EnumerateArray().Select(t => t.GetString()!).ToList()).ToList();
        AssertRelative(c.GetProperty("bleu").GetDouble(), Bleu.Corpus(references, hypotheses), $"corpus {index} method0");
        AssertRelative(c.GetProperty("bleu_smoothed").GetDouble(), Bleu.Corpus(references, hypotheses, smoothing: true), $"corpus {index} method1");
    }

    [Fact]
    public void ExactMatchCountsIdenticalSequences()
    {
        IReadOnlyList<IReadOnlyList<int>> refs = [[1, 2], [3], [4, 5]];
        IReadOnlyList<IReadOnlyList<int>> hyps = [[1, 2], [3, 3], [4, 5]];
        Assert.Equal(2 / 3.0, Bleu.ExactMatch(refs, hyps), 1e-12);
        // a hypothesis per reference: three references against one hypothesis is a mistake, not a perfect score
        Assert.Throws<ArgumentException>(() => Bleu.ExactMatch(refs, [[1, 2]]));
    }

    [Fact]
    public void ANullHypothesisOrReferenceIsNamedByItsIndex()
    {
        IReadOnlyList<IReadOnlyList<IReadOnlyList<int>>> refs = [[[1, 2]], [[3]]];
        var e = Assert.Throws<ArgumentException>(() => Bleu.Corpus(refs, [[1, 2], null!]));
        Assert.Contains("Hypothesis 1 is null", e.Message);
        e = Assert.Throws<ArgumentException>(() => Bleu.Corpus([[[1, 2]], [null!]], [[1, 2], [3]]));
        Assert.Contains("references of hypothesis 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => Bleu.ExactMatch([[1], null!], [[1], [2]]));
        Assert.Contains("reference of pair 1 is null", e.Message);
    }

    [Fact]
    public void AHeatmapDrawsANaNWeightAsNaNNotAsFullAttention()
    {
        string svg = AttentionHeatmap.ToSvg([new AttentionHeatmap.Panel([0.25f, float.NaN], ["q"], ["a", "b"], "t")]);
        Assert.Contains("<title>NaN</title>", svg);
        Assert.Contains("rgb(220,40,40)", svg);
        Assert.DoesNotContain("rgb(0,0,255)", svg); // what the NaN used to become: the darkest cell
        Assert.Throws<ArgumentNullException>(() => AttentionHeatmap.ToSvg([new AttentionHeatmap.Panel(null!, ["q"], ["a"], "t")]));
    }

    [Fact]
    public void AHeatmapOfTokensXmlCannotHoldIsStillWellFormed()
    {
        // a byte-level vocabulary's control characters (and a lone surrogate) had been written as they were: XML readers and
        // browsers refused the file; they are shown as visible escapes, the rest encoded as before
        string svg = AttentionHeatmap.ToSvg([1f, 0f], ["\u0001"], ["a\uD800", "<b>&\U0001F600"], "t\u001B");
        var doc = System.Xml.Linq.XDocument.Parse(svg);
        var texts = doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        Assert.Contains("\\u0001", texts);
        Assert.Contains("a\\uD800", texts);
        Assert.Contains("<b>&\U0001F600", texts);
        Assert.Contains("t\\u001B", texts);
    }

    [Fact]
    public void BleuComparesTokensByTheirEqualityNotTheirText()
    {
        // tokens whose ToString is their type's name: n-grams keyed by text would all match
        IReadOnlyList<IReadOnlyList<IReadOnlyList<int>>> refs = [[[1, 2, 3, 4, 5, 6]], [[7, 8, 9, 10]]];
        IReadOnlyList<IReadOnlyList<int>> hyps = [[1, 2, 3, 9, 5, 6], [7, 8, 3, 10]];
        IReadOnlyList<IReadOnlyList<TokenId>> Ids(IReadOnlyList<IReadOnlyList<int>> s) => s.Select(x => (IReadOnlyList<TokenId>)x.Select(v => new TokenId(v)).ToArray()).ToArray();
        double expected = Bleu.Corpus(refs, hyps, smoothing: true);
        Assert.True(expected < 0.9, $"the hypotheses differ from their references: {expected}");
        Assert.Equal(expected, Bleu.Corpus(refs.Select(Ids).ToArray(), Ids(hyps), smoothing: true), 1e-12);
    }

    private readonly struct TokenId : IEquatable<TokenId>
    {
        private readonly int _value;

        public TokenId(int value) => _value = value;

        public bool Equals(TokenId other) => _value == other._value;

        public override bool Equals(object? obj) => obj is TokenId other && Equals(other);

        public override int GetHashCode() => _value;
    }
}

public class AttentionWeightsTests
{
    [Fact]
    public void WeightsOfTheLastPassAreSoftmaxRowsAndCausalOnesAreLowerTriangular()
    {
        var model = new AttentionCausalStack(seed: 2);
        var rng = new Rng(1);
        int[] x = Enumerable.Range(0, 2 * 5).Select(_ => rng.NextInt(11)).ToArray();
        Assert.Throws<InvalidOperationException>(() => model.AttentionWeights());
        model.Forward(new ReadOnlyTensorSpan<int>(x, [2, 5]));
        Tensor<float> weights = model.AttentionWeights();
        Assert.Equal(new nint[] { 2, 3, 5, 5 }, weights.Lengths.ToArray());
        float[] w = Dsl.Tests.Parity.ParityModel.Flatten(weights);
        for (int row = 0; row < 2 * 3 * 5; row++)
        {
            int i = row % 5;
            Assert.Equal(1f, w.AsSpan(row * 5, 5).ToArray().Sum(), 1e-5f);
            for (int j = i + 1; j < 5; j++) Assert.Equal(0f, w[row * 5 + j]);
        }
        Assert.Throws<ArgumentException>(() => model.AttentionWeights("nope"));

        string svg = AttentionHeatmap.ToSvg(w.AsSpan(0, 25), ["a", "b", "c", "<d>", "e"], ["1", "2", "3", "4", "5"], "layer 'attention', head 0");
        Assert.Equal(25, svg.Split("<rect x=").Length - 1);
        Assert.Contains("&lt;d&gt;", svg);
        Assert.Contains("layer &#39;attention&#39;, head 0", svg);
    }
}
