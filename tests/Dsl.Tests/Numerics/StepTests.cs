using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Numerics;

/// <summary>Stepping one token at a time from a carried State gives what Forward gives over the whole sequence.</summary>
public class StepTests
{
    [Fact] public void LstmStepsMatchForward() => StepsMatchForward(new Models.Lstm(seed: 1), vocab: 11);
    [Fact] public void GruStepsMatchForward() => StepsMatchForward(new Models.Gru(seed: 2), vocab: 9);
    [Fact] public void RnnStepsMatchForward() => StepsMatchForward(new RnnTanh(seed: 3), vocab: 7);
    [Fact] public void StackedLstmAndGruStepsMatchForward() => StepsMatchForward(new LstmGruDense(seed: 4), vocab: 10);
    [Fact] public void ChoGruStepsMatchForward() => FeatureStepsMatchForward(new GruCho(seed: 5), features: 3);
    [Fact] public void ResidualAndLayerNormStepsMatchForward() => StepsMatchForward(new LstmResidualNorm(seed: 6), vocab: 7);

    [Fact] public void LstmProjectionStepsMatchForward() => StepsMatchForward(new LstmProjection(seed: 9), vocab: 9);
    [Fact] public void StackedLstmProjectionStepsMatchForward() => StepsMatchForward(new StatefulLstmProjection(seed: 10), vocab: 11);

    // causal self-attention steps from the key/value cache in the state, beside an LSTM's h and c
    [Fact] public void CausalAttentionAfterAnLstmStepsMatchForward() => StepsMatchForward(new AttentionCausalStack(seed: 7), vocab: 11);
    [Fact] public void CausalAttentionOverFeaturesStepsMatchForward() => FeatureStepsMatchForward(new ParallelAttention(seed: 8), features: 32);
    [Fact] public void CausalAdditiveAttentionStepsMatchForward() => StepsMatchForward(new AttentionAdditiveCausal(seed: 11), vocab: 9);

    // an embedding scaled by √dim, stepped as it runs over the sequence (under attention's cache, and unfolded under an LSTM)
    [Fact] public void LlamaBlockStepsMatchForward() => StepsMatchForward(new LlamaBlock(seed: 18), vocab: 13);
    [Fact] public void ScaledRotaryFrequenciesStepAsForward() => StepsMatchForward(new HfTinyLlama31(seed: 20), vocab: 19);
    [Fact] public void LinearlyScaledRotaryFrequenciesStepAsForward() => StepsMatchForward(new HfTinyLinearLlama(seed: 21), vocab: 13);
    [Fact] public void APartialRotationStepsAsForward() => StepsMatchForward(new PartialRotaryBlock(seed: 24), vocab: 13);
    // (6 steps within LongRoPE's original context of 8: the short factors for the whole pass and every step alike; past it a whole
    // pass takes the long factors for every position and a stepping decoder for the steps past it only, as transformers does)
    [Fact] public void LongRopeWithinItsOriginalContextStepsAsForward() => StepsMatchForward(new HfTinyPhi3LongRope(seed: 25), vocab: 13);
    // (the same for dynamic NTK within its original context of 8; past it, HuggingFaceTests decodes as transformers' cache does)
    [Fact] public void DynamicNtkWithinItsOriginalContextStepsAsForward() => StepsMatchForward(new HfTinyDynamicLlama(seed: 26), vocab: 13);
    [Fact] public void YarnScaledRotaryFrequenciesStepAsForward() => StepsMatchForward(new HfTinyYarnLlama(seed: 21), vocab: 13);
    [Fact] public void GroupedQueryBlockStepsMatchForward() => StepsMatchForward(new GroupedQueryBlock(seed: 19), vocab: 13);
    [Fact] public void SlidingWindowBlockStepsMatchForward() => StepsMatchForward(new SlidingWindowBlock(seed: 20), vocab: 13);
    [Fact] public void QwenBlockStepsMatchForward() => StepsMatchForward(new QwenBlock(seed: 21), vocab: 13);
    [Fact] public void MixtureOfExpertsBlockStepsMatchForward() => StepsMatchForward(new MoeBlock(seed: 23), vocab: 13);
    [Fact] public void Gemma2BlockStepsMatchForward() => StepsMatchForward(new Gemma2Block(seed: 22), vocab: 13);
    [Fact] public void Gemma2LayersStepMatchForward() => StepsMatchForward(new HfTinyGemma2(seed: 23), vocab: 13);
    [Fact] public void Gemma3LayersStepMatchForward() => StepsMatchForward(new HfTinyGemma3(seed: 22), vocab: 13);
    [Fact] public void RotaryBlockStepsMatchForward() => StepsMatchForward(new RotaryBlock(seed: 17), vocab: 13);
    [Fact] public void RmsNormBlockStepsMatchForward() => StepsMatchForward(new RmsNormBlock(seed: 16), vocab: 13);
    [Fact] public void ScaledEmbeddingAttentionStepsMatchForward() => StepsMatchForward(new ScaledEmbeddingAttention(seed: 15), vocab: 13);
    [Fact] public void ScaledEmbeddingLstmStepsMatchForward() => StepsMatchForward(new ScaledEmbeddingLstm(seed: 16), vocab: 7);

    [Fact]
    public void CausalClassicAttentionReadsChunksFromTheState()
    {
        // the second chunk's queries sit at positions 3… among the keys the state kept: the causal mask is offset
        var model = new AttentionAdditiveCausal(seed: 13);
        var rng = new Rng(14);
        int[] x = Enumerable.Range(0, 2 * 7).Select(_ => rng.NextInt(9)).ToArray();
        float[] whole = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(x, [2, 7])));
        var state = model.CreateState(2);
        int[] Part(int from, int count) => Enumerable.Range(0, 2).SelectMany(b => x.Skip(b * 7 + from).Take(count)).ToArray();
        float[] first = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(Part(0, 3), [2, 3]), state));
        float[] rest = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(Part(3, 4), [2, 4]), state));
        for (int b = 0; b < 2; b++)
        {
            Tolerance.AssertClose(whole.AsSpan(b * 7 * 9, 3 * 9), first.AsSpan(b * 3 * 9, 3 * 9), $"first chunk, sequence {b}");
            Tolerance.AssertClose(whole.AsSpan((b * 7 + 3) * 9, 4 * 9), rest.AsSpan(b * 4 * 9, 4 * 9), $"second chunk, sequence {b}");
        }
    }
    // T5's decoder's relative position bias: each step's query reads the table by its distance to every key taken
    // (24 steps: past the 16 exact distances of 32 one-sided buckets into the logarithmic ones)
    [Fact] public void CausalRelativeBiasStepsMatchForward() => FeatureStepsMatchForward(new CausalRelativeAttention(seed: 27), features: 12, steps: 24);
    [Fact] public void CausalRelativeBiasReadsChunksFromTheState() => FeatureChunksMatchForward(new GcCausalRelative(seed: 28), features: 3);
    // ALiBi: each step's bias by its distance to every key taken
    [Fact] public void ParallelBlocksStepAsForward() => StepsMatchForward(new ParallelBlock(seed: 31), vocab: 13);
    [Fact] public void ParallelBranchesReadChunksFromTheState() => FeatureChunksMatchForward(new GcParallel(seed: 32), features: 3);
    [Fact] public void AlibiStepsMatchForward() => FeatureStepsMatchForward(new GcAlibiCausal(seed: 29), features: 3, steps: 12);
    [Fact] public void AlibiReadsChunksFromTheState() => FeatureChunksMatchForward(new GcAlibiCausal(seed: 30), features: 3);
    [Fact] public void CausalGeneralAttentionStepsMatchForward() => FeatureStepsMatchForward(new GcGeneralSelfDropout(seed: 12), features: 3);

    [Fact]
    public void ManyToOneStepAfterLastInputMatchesForward()
    {
        var model = new LstmStackedManyToOne(seed: 6);
        const int batch = 2, steps = 4, features = 4;
        var rng = new Rng(1);
        float[] x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        float[] expected = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [batch, steps, features])));
        var state = model.CreateState(batch);
        float[] last = [];
        for (int t = 0; t < steps; t++)
        {
            float[] xt = new float[batch * features];
            for (int b = 0; b < batch; b++) Array.Copy(x, (b * steps + t) * features, xt, b * features, features);
            last = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<float>(xt, [batch, features]), state));
        }
        Assert.Equal(batch * LstmStackedManyToOne.OutputWidth, last.Length);
        Tolerance.AssertClose(expected, last, "many-to-one step");
    }

    [Fact]
    public void LearnedInitialStatesAreWhereAStateFromCreateStateStarts()
    {
        // a GRU and an RNN that learn their initial states: stepping from CreateState gives what Forward gives (which starts
        // from the learned h0), and Reset goes back to them; a state made with new State(batch) starts from zeros
        var model = new GcLearnedGruRnnState(seed: 3);
        var rng = new Rng(4);
        foreach (string name in new[] { "gru.h0_l0", "rnn.h0_l0" })
        {
            Span<float> h0 = model.Parameters[name].AsSpan();
            for (int i = 0; i < h0.Length; i++) h0[i] = rng.NextNormal();
        }
        StepsMatchForward(model, vocab: 5);
        var state = model.CreateState(2);
        float[] first = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([1, 2], [2]), state));
        model.Step(new ReadOnlyTensorSpan<int>([3, 4], [2]), state);
        state.Reset();
        Assert.Equal(first, ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([1, 2], [2]), state)));
        var zeros = new GcLearnedGruRnnState.State(2);
        Assert.All(zeros.Tensors, t => Assert.All(t.AsSpan().ToArray(), v => Assert.Equal(0f, v)));
        Assert.NotEqual(first, ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([1, 2], [2]), zeros)));
    }

    [Fact]
    public void ResetStartsANewSequence()
    {
        var model = new Models.Lstm(seed: 7);
        var state = model.CreateState();
        float[] first = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([3], [1]), state));
        model.Step(new ReadOnlyTensorSpan<int>([4], [1]), state);
        state.Reset();
        float[] again = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([3], [1]), state));
        Assert.Equal(first, again);
    }

    [Fact]
    public void BidirectionalModelsCannotStep()
    {
        Assert.False(LstmStackedBidirectional.CanStep);
        // Called directly, this is compile error DSL1002 (see DiagnosticTests); through the interface it throws.
        IModel<float> model = new LstmStackedBidirectional();
        var e = Assert.Throws<NotSupportedException>(() => model.CreateState());
        Assert.Contains("cannot carry a state from step to step: layer 'lstm' is bidirectional", e.Message);
    }

    [Fact]
    public void StepRejectsAStateOfTheWrongBatch()
    {
        var model = new Models.Lstm();
        var state = model.CreateState(batch: 2);
        var e = Assert.Throws<ArgumentException>(() => model.Step(new ReadOnlyTensorSpan<int>([1, 2, 3], [3]), state));
        Assert.Contains("expected batch (the state's batch size) = 2 but got 3", e.Message);
    }

    private static void StepsMatchForward(IModel<int> model, int vocab)
    {
        var rng = new Rng(9);
        StepsMatchForward(model, batch: 3, steps: 6, width: 1, Enumerable.Range(0, 3 * 6).Select(_ => rng.NextInt(vocab)).ToArray());
    }

    private static void FeatureStepsMatchForward(IModel<float> model, int features, int steps = 5)
    {
        var rng = new Rng(10);
        StepsMatchForward(model, batch: 2, steps: steps, width: features, Enumerable.Range(0, 2 * steps * features).Select(_ => rng.NextNormal()).ToArray());
    }

    /// <summary>Forward over [2, 9, features] against chunks of 4, 1 and 4 steps read from one carried state.</summary>
    private static void FeatureChunksMatchForward(IModel<float> model, int features)
    {
        const int batch = 2, steps = 9;
        var rng = new Rng(11);
        float[] x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        float[] whole = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [batch, steps, features])));
        int c = model.OutputWidth, from = 0;
        IModelState state = model.CreateState(batch);
        foreach (int count in new[] { 4, 1, 4 })
        {
            float[] part = Enumerable.Range(0, batch).SelectMany(b => x.Skip((b * steps + from) * features).Take(count * features)).ToArray();
            float[] y = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(part, [batch, count, features]), state));
            for (int b = 0; b < batch; b++)
                Tolerance.AssertClose(whole.AsSpan((b * steps + from) * c, count * c), y.AsSpan(b * count * c, count * c), $"chunk from {from}, sequence {b}");
            from += count;
        }
    }

    /// <summary>Forward over x [batch, steps(, width)] against Step over each step's [batch(, width)] slice.</summary>
    private static void StepsMatchForward<T>(IModel<T> model, int batch, int steps, int width, T[] x)
    {
        bool tokens = typeof(T) == typeof(int);
        float[] expected = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<T>(x, tokens ? [batch, steps] : [batch, steps, width])));
        int c = model.OutputWidth;
        IModelState state = model.CreateState(batch);
        for (int t = 0; t < steps; t++)
        {
            var xt = new T[batch * width];
            for (int b = 0; b < batch; b++) Array.Copy(x, (b * steps + t) * width, xt, b * width, width);
            float[] y = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<T>(xt, tokens ? [batch] : [batch, width]), state));
            for (int b = 0; b < batch; b++)
                Tolerance.AssertClose(expected.AsSpan((b * steps + t) * c, c), y.AsSpan(b * c, c), $"step {t}, sequence {b}");
        }
    }
}
