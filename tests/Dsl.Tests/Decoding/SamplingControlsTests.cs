using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// Hugging Face's repetition penalty (a logit of a token the sequence holds divided by p when positive, multiplied by p when
/// negative, once however often it occurs) and min-p sampling (only the tokens at least min-p times as likely as the most
/// likely one, at the temperature), on a model of fixed logits whose choices can be worked out by hand, and on a generated
/// model's batch of prompts (each row's repetitions its own).
/// </summary>
public class SamplingControlsTests
{
    /// <summary>The same logits at every step, whatever was fed (each token readable back).</summary>
    private sealed class FixedModel(params float[] logits) : StepOnlyModel
    {
        private sealed class State(int batch) : IModelState
        {
            public int Batch => batch;
            public void Reset() { }
            public IReadOnlyList<NamedTensor> Tensors => [];
        }

        public override ParameterSet Parameters { get; } = new([]);
        public override int InputWidth => logits.Length;
        public override int OutputWidth => logits.Length;
        public override bool ReturnsSequences => true;
        public override Rng DropoutRandom { get; } = new(0);
        public override IModelState CreateState(int batch = 1) => new State(batch);

        public override void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination)
        {
            new ReadOnlyTensorSpan<float>(logits, [1, logits.Length]).CopyTo(destination); // (a state per sequence: one row)
        }
    }

    private static int[] Greedy(FixedModel model, int[] prefix, int maxLength, float penalty) =>
        Decode.Sample(model, prefix, maxLength, temperature: 0f, topK: 0, rng: null, repetitionPenalty: penalty);

    [Fact]
    public void ARepeatedTokensPositiveLogitIsDividedAndANegativeOneMultiplied()
    {
        // 2 / 1.2 = 1.67 falls below 1.9: token 1; then both are seen (1.67 against 1.58): token 0, and 0 again
        var positive = new FixedModel(2f, 1.9f, 0.5f, -1f);
        Assert.Equal([0, 0, 0, 0], Greedy(positive, [0], 4, 1f));
        Assert.Equal([1, 0, 0, 0], Greedy(positive, [0], 4, 1.2f));
        // −1 · 1.2 = −1.2 falls below −1.1: token 1; then −1.2 against −1.32: token 0
        var negative = new FixedModel(-1f, -1.1f, -3f, -4f);
        Assert.Equal([1, 0, 0], Greedy(negative, [0], 3, 1.2f));
        // a token the prefix holds three times is penalised once: 2 / 1.2 = 1.67 still above 1.5 (2 / 1.2³ = 1.16 would not be)
        var once = new FixedModel(2f, 1.5f, 0.5f, -1f);
        Assert.Equal([0, 0], Greedy(once, [0, 0, 0], 2, 1.2f));
        // a penalty below 1 favours what was seen
        Assert.Equal([2, 2], Greedy(new FixedModel(2f, 1.9f, 1.8f, 0f), [2], 2, 0.8f));
    }

    [Fact]
    public void MinPKeepsTheTokensWithinAFactorOfTheMostLikely()
    {
        // probabilities relative to the most likely: e^−1 = 0.37, e^−2 = 0.14, e^−3 = 0.05 at temperature 1; e^−0.5 = 0.61,
        // e^−1 = 0.37, e^−1.5 = 0.22 at temperature 2: min-p 0.3 keeps two tokens, then three
        var model = new FixedModel(3f, 2f, 1f, 0f);
        int[] one = Decode.Sample(model, [0], 3000, temperature: 1f, topK: 0, new Rng(5), minP: 0.3f);
        Assert.Equal([0, 1], one.Distinct().Order());
        double share = one.Count(t => t == 1) / 3000.0, expected = Math.Exp(-1) / (1 + Math.Exp(-1));
        Assert.InRange(share, expected - 0.03, expected + 0.03);
        int[] two = Decode.Sample(model, [0], 3000, temperature: 2f, topK: 0, new Rng(5), minP: 0.3f);
        Assert.Equal([0, 1, 2], two.Distinct().Order());
        Assert.Equal([0, 1, 2, 3], Decode.Sample(model, [0], 3000, temperature: 2f, topK: 0, new Rng(5)).Distinct().Order());
        // top-p before min-p, as Hugging Face orders them: probabilities 0.5, 0.3, 0.1, 0.05, 0.05; top-p 0.85 keeps three, of which
        // min-p 0.15 (0.075) keeps all three (min-p first would drop the last two, and top-p then only two: 0.56 + 0.33)
        var five = new FixedModel([.. new[] { 0.5, 0.3, 0.1, 0.05, 0.05 }.Select(p => (float)Math.Log(p))]);
        Assert.Equal([0, 1, 2], Decode.Sample(five, [0], 2000, temperature: 1f, topK: 0, new Rng(6), topP: 0.85f, minP: 0.15f).Distinct().Order());
        // min-p 1 keeps the most likely alone (and min-p 0 every token, as above)
        Assert.All(Decode.Sample(model, [0], 50, temperature: 1f, topK: 0, new Rng(5), minP: 1f), t => Assert.Equal(0, t));
    }

    /// <summary>A batch's rows each count their own prompt and tokens: greedy with a penalty decodes each prompt as it decodes alone.</summary>
    [Fact]
    public void EachRowOfABatchCountsItsOwnRepetitions()
    {
        var model = new TinyGpt(seed: 3);
        int[] prompts = [1, 2, 3, 1, 4, 0, 0, 0, 2, 1, 0, 0];
        int[] lengths = [4, 2, 3];
        foreach (float penalty in new[] { 1f, 1.5f, 3f })
        {
            int[][] batch = Decode.SampleBatch(model, new ReadOnlyTensorSpan<int>(prompts, [3, 4]), lengths, 8, temperature: 0f, topK: 0, rng: null, repetitionPenalty: penalty);
            for (int b = 0; b < 3; b++)
                Assert.Equal(Decode.Sample(model, prompts.AsSpan(4 * b, lengths[b]), 8, 0f, 0, null, repetitionPenalty: penalty), batch[b]);
        }
        // the penalty reaches the batch's rows: at 3 some row decodes otherwise than at 1
        int[][] Batch(float penalty) => Decode.SampleBatch(model, new ReadOnlyTensorSpan<int>(prompts, [3, 4]), lengths, 8, 0f, 0, null, repetitionPenalty: penalty);
        int[][] plain = Batch(1f), penalised = Batch(3f);
        Assert.Contains(Enumerable.Range(0, 3), b => !plain[b].SequenceEqual(penalised[b]));
        // nanoGPT's generate counts them as sampling does
        Assert.Equal(Decode.Sample(model, [1, 2], 8, 0f, 0, null, repetitionPenalty: 3f), Decode.Generate(model, [1, 2], 8, context: 16, repetitionPenalty: 3f));
    }

    /// <summary>Top-k's threshold, the k-th largest logit found with a heap, is what a sort of them all gives: ties, −∞, +∞ and NaN (below every number) included.</summary>
    [Fact]
    public void TheKthLargestIsWhatASortGives()
    {
        var random = new Random(3);
        float[] specials = [float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -0f, 1f];
        for (int trial = 0; trial < 500; trial++)
        {
            int length = 1 + random.Next(300);
            float[] values = [.. Enumerable.Range(0, length).Select(_ => random.Next(5) == 0 ? specials[random.Next(specials.Length)] : MathF.Round((float)random.NextDouble() * 8f) / 4f)];
            int k = 1 + random.Next(length);
            float[] sorted = (float[])values.Clone();
            Array.Sort(sorted);
            Assert.Equal(sorted[length - k], Decode.KthLargest(values, k, new float[k]));
        }
    }

    [Fact]
    public void BadControlsAreRefusedNamingTheirRange()
    {
        var model = new FixedModel(1f, 0f);
        foreach (float minP in new[] { -0.1f, 1.5f, float.NaN })
            Assert.Equal("minP", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Sample(model, [0], 3, 1f, 0, new Rng(1), minP: minP)).ParamName);
        foreach (float penalty in new[] { 0f, -1f, float.PositiveInfinity, float.NaN })
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decode.SampleBatch(model, new ReadOnlyTensorSpan<int>([0], [1, 1]), default, 3, 0f, 0, null, repetitionPenalty: penalty));
            Assert.Equal("repetitionPenalty", error.ParamName);
            Assert.Contains("1: none", error.Message);
        }
    }
}
