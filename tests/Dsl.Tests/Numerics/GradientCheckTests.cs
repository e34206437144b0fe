using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Numerics;

/// <summary>
/// Central finite differences against the analytic gradients of Backward, for every layer kind and option.
/// The dropout generators are rewound before each loss evaluation, so dropout draws the same masks every time
/// and the check covers training mode exactly.
/// </summary>
public class GradientCheckTests
{
    private const float Epsilon = 1e-2f;

    [Fact] public void RnnTanh() => CheckTokens(() => new GcRnnTanh(seed: 3), vocab: 5, classes: 5, batch: 3, steps: 5);
    // ReLU has kinks: a step of 1e-2 on every coordinate at once (the directional check) crosses some of them, 1e-3 does not
    [Fact] public void RnnReluStackedBidirectional() => CheckFeatures(() => new GcRnnReluStackedBidirectional(seed: 4), features: 3, outputShape: [2, 5, 3], batch: 2, steps: 5, epsilon: 1e-3f);
    [Fact] public void LstmBidirectionalManyToOne() => CheckFeatures(() => new GcLstmBidirectionalManyToOne(seed: 5), features: 3, outputShape: [3, 3], batch: 3, steps: 4);
    [Fact] public void Gru() => CheckTokens(() => new GcGru(seed: 6), vocab: 7, classes: 7, batch: 3, steps: 5);
    [Fact] public void GruWithLabelSmoothing() => CheckTokens(() => new GcGru(seed: 6) { LabelSmoothing = 0.3f }, vocab: 7, classes: 7, batch: 3, steps: 5);
    [Fact] public void GruChoStackedBidirectional() => CheckFeatures(() => new GcGruChoStackedBidirectional(seed: 7), features: 5, outputShape: [2, 3, 3], batch: 2, steps: 3);
    [Fact] public void DropoutEverywhere() => CheckTokens(() => new GcDropout(seed: 8), vocab: 5, classes: 5, batch: 3, steps: 4);
    [Fact] public void GruManyToOneThroughDenseStack() => CheckFeatures(() => new GcGruManyToOneDense(seed: 9), features: 3, outputShape: [3, 3], batch: 3, steps: 5);
    [Fact] public void DenseBeforeARecurrentLayer() => CheckFeatures(() => new GcDenseBeforeRecurrent(seed: 11), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void EmbeddingStraightIntoDense() => CheckTokens(() => new GcEmbeddingDense(seed: 12), vocab: 6, classes: 6, batch: 2, steps: 3);
    [Fact] public void EmbeddingIntoADenseTiedToIt() => CheckTokens(() => new GcTiedDense(seed: 20), vocab: 6, classes: 6, batch: 2, steps: 3);
    [Fact] public void GeluOnStepsAndOnAVector() => CheckFeatures(() => new GcGelu(seed: 23), features: 3, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void SiluAndGeluTanh() => CheckFeatures(() => new GcSiluGeluTanh(seed: 24), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void LayerNormWithoutItsShift() => CheckFeatures(() => new GcNormWithoutShift(seed: 25), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    // clipping has kinks too: the step of 1e-3
    [Fact] public void ClippedQueriesKeysAndValues() => CheckFeatures(() => new GcClipQkv(seed: 28), features: 8, outputShape: [3, 4, 2], batch: 3, steps: 4, epsilon: 1e-3f);
    [Fact] public void QueryKeyNormAcrossTheHeads() => CheckFeatures(() => new GcQueryKeyNormAcrossHeads(seed: 29), features: 8, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void ConstantScales() => CheckFeatures(() => new GcScale(seed: 30), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    // A router's choice is a step, where a difference quotient across it measures the jump: the step of 1e-3 (ReLU's kinks
    // too), and seeds whose rows keep their experts under it (about half of the seeds tried for the second model put some
    // row's second and third choices closer than that; the gradients' parity with PyTorch holds for any)
    [Fact] public void MixtureOfExperts() => CheckFeatures(() => new GcMoe(seed: 31), features: 5, outputShape: [3, 2], batch: 3, steps: 4, epsilon: 1e-3f);
    [Fact] public void MixtureOfExpertsWithTheLoadBalancingLoss() => CheckFeatures(() => Spread(new GcMoeBalanced(seed: 33)), features: 5, outputShape: [3, 4, 2], batch: 3, steps: 4, epsilon: 1e-3f);
    [Fact] public void MixtureOfExpertsTopOneAllAndUngated() => CheckFeatures(() => Spread(new GcMoeVariants(seed: 40)), features: 4, outputShape: [3, 4, 2], batch: 3, steps: 4, epsilon: 1e-3f);
    [Fact] public void MixtureOfExpertsWithASharedExpert() => CheckFeatures(() => Spread(new GcMoeShared(seed: 41)), features: 5, outputShape: [3, 4, 2], batch: 3, steps: 4, epsilon: 1e-3f);
    [Fact] public void NormsWithoutTheirAffineMaps() => CheckFeatures(() => new GcNormWithoutAffine(seed: 27), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void RmsNormOnStepsAndOnAVector() => CheckFeatures(() => new GcRmsNorm(seed: 30), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void GatedLinearUnitsWithSmoothGates() => CheckFeatures(() => Spread(new GcGatedSmooth(seed: 34)), features: 3, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void GatedLinearUnitsReluAndBilinear() => CheckFeatures(() => Spread(new GcGatedKinked(seed: 35)), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4, epsilon: 1e-3f);

    /// <summary>Every parameter moved by N(0, 0.3²): biases that are not zero, so that a gated unit's value and gate both carry signal.</summary>
    private static T Spread<T>(T model) where T : IModel
    {
        var rng = new Rng(98);
        foreach (Parameter p in model.Parameters)
            for (int i = 0; i < p.Length; i++) p.AsSpan()[i] += 0.3f * rng.NextNormal();
        return model;
    }
    [Fact] public void AttentionWithoutItsOutputBias() => CheckFeatures(() => new GcOutputWithoutBias(seed: 37), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact]
    public void AttentionWithItsOutputBiasAlone()
    {
        // Bias = false with OutputBias = true: out_proj's bias, no in_proj_bias
        string[] names = new GcOutputBiasAlone(seed: 1).Parameters.Select(p => p.Name).Where(n => n.StartsWith("attention.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["attention.in_proj_weight", "attention.out_proj.weight", "attention.out_proj.bias"], names);
        CheckFeatures(() => new GcOutputBiasAlone(seed: 38), features: 3, outputShape: [3, 5, 2], batch: 3, steps: 5);
    }
    [Fact] public void GroupedQueryAttention() => CheckFeatures(() => new GcGroupedQuery(seed: 36), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void QueryKeyNormAndHeadWidth() => CheckFeatures(() => new GcQueryKeyNorm(seed: 37), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void RelativePositionBias() => CheckFeatures(() => new GcRelative(seed: 39), features: 3, outputShape: [3, 7, 2], batch: 3, steps: 7);
    [Fact] public void ParallelBranches() => CheckFeatures(() => new GcParallel(seed: 42), features: 3, outputShape: [3, 5, 2], batch: 3, steps: 5);
    [Fact] public void AlibiBias() => CheckFeatures(() => new GcAlibi(seed: 41), features: 3, outputShape: [3, 7, 2], batch: 3, steps: 7);
    [Fact] public void CausalRelativePositionBias() => CheckFeatures(() => new GcCausalRelative(seed: 40), features: 3, outputShape: [3, 7, 2], batch: 3, steps: 7);
    [Fact] public void SoftCappedScoresAndOutputs() => CheckFeatures(() => new GcSoftCap(seed: 38), features: 3, outputShape: [3, 5, 2], batch: 3, steps: 5);
    [Fact] public void BidirectionalSlidingWindow() => CheckTokens(() => new GcBidirectionalWindow(seed: 53), vocab: 7, classes: 7, batch: 3, steps: 7);

    [Fact]
    public void BidirectionalSlidingWindowOverPaddedSequences()
    {
        var rng = new Rng(54);
        int[] x = Enumerable.Range(0, 3 * 7).Select(_ => rng.NextInt(7)).ToArray(), y = Enumerable.Range(0, 3 * 7).Select(_ => rng.NextInt(7)).ToArray();
        Check<IModel<int>>(() => new GcBidirectionalWindow(seed: 55), m => m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 7]), new ReadOnlyTensorSpan<int>(y, [3, 7]), [7, 3, 5]));
    }

    [Fact] public void SlidingWindowAttention() => CheckFeatures(() => new GcSlidingWindow(seed: 37), features: 3, outputShape: [2, 6, 2], batch: 2, steps: 6);
    [Fact] public void LongRopeScaledRotaryPositions() => CheckFeatures(() => new GcLongRope(seed: 41), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void PartialRotation() => CheckFeatures(() => new GcPartialRotary(seed: 40), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void DynamicNtkScaledRotaryPositions() => CheckFeatures(() => new GcDynamic(seed: 43), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);

    [Fact] public void YarnScaledRotaryPositions() => CheckFeatures(() => new GcYarn(seed: 39), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void RotaryPositionsOnCausalAttention() => CheckFeatures(() => new GcRotary(seed: 31), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void RotaryPositionsOnAttentionOverTheWholeSequence() => CheckTokens(() => new GcRotaryTokens(seed: 32), vocab: 7, classes: 7, batch: 3, steps: 5);

    [Fact] public void LearnedPositionsBeforeCausalAttention() => CheckTokens(() => new GcPositionEmbedding(seed: 26), vocab: 7, classes: 7, batch: 3, steps: 5);
    [Fact] public void AnEmbeddingScaledBySqrtDimUnderAGruTiedToTheOutput() => CheckTokens(() => new GcScaledEmbeddingTied(seed: 29), vocab: 7, classes: 7, batch: 3, steps: 5);
    [Fact] public void LearnedPositionsUnderAGru() => CheckFeatures(() => new GcPositionEmbeddingGru(seed: 27), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);

    [Fact]
    public void LearnedPositionsFromACarriedStatePastItsStart()
    {
        // a pass from a state that has taken 5 steps reads (and trains) rows 5 … 8 of the table; the rows before get nothing
        var rng = new Rng(45);
        float[] prefix = Enumerable.Range(0, 2 * 5 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] x = Enumerable.Range(0, 2 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 2 * 4 * 2).Select(_ => rng.NextNormal()).ToArray();
        // the state the prefix leaves with the unperturbed weights, a constant of every evaluation (Backward detaches it)
        IModel<float> reference = new GcPositionEmbeddingGru(seed: 28);
        IModelState start = reference.CreateState(2);
        reference.Forward(new ReadOnlyTensorSpan<float>(prefix, [2, 5, 3]), start);
        IModelState From(IModel<float> m)
        {
            IModelState state = m.CreateState(2);
            m.Forward(new ReadOnlyTensorSpan<float>(prefix, [2, 5, 3]), state); // to position 5
            for (int i = 0; i < state.Tensors.Count; i++) start.Tensors[i].AsSpan().CopyTo(state.Tensors[i].AsSpan());
            return state;
        }
        Check<IModel<float>>(() => new GcPositionEmbeddingGru(seed: 28),
            m => m.Backward(new ReadOnlyTensorSpan<float>(x, [2, 4, 3]), new ReadOnlyTensorSpan<float>(y, [2, 4, 2]), From(m)));
        var model = new GcPositionEmbeddingGru(seed: 28);
        ((IModel<float>)model).Backward(new ReadOnlyTensorSpan<float>(x, [2, 4, 3]), new ReadOnlyTensorSpan<float>(y, [2, 4, 2]), From(model));
        float[] table = model.Parameters["positionembedding.weight"].GradAsSpan().ToArray();
        Assert.All(table[..(5 * 3)], g => Assert.Equal(0f, g));
        Assert.All(table[(9 * 3)..], g => Assert.Equal(0f, g));
        Assert.Contains(table[(5 * 3)..(9 * 3)], g => g != 0f);
    }

    [Fact] public void DenseLayersWithoutABias() => CheckFeatures(() => new GcDenseWithoutBias(seed: 22), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);
    [Fact] public void TiedDenseAfterAGruThatFoldsTheTable() => CheckTokens(() => new GcTiedGru(seed: 21), vocab: 6, classes: 6, batch: 3, steps: 4);
    [Fact] public void LearnedLstmInitialState() => CheckFeatures(() => Perturbed(new GcLearnedLstmState(seed: 13)), features: 3, outputShape: [2, 4, 3], batch: 2, steps: 4);
    [Fact] public void LearnedChoGruAndRnnInitialState() => CheckTokens(() => Perturbed(new GcLearnedGruRnnState(seed: 14)), vocab: 5, classes: 5, batch: 3, steps: 3);
    [Fact] public void LearnedGruInitialState() => CheckFeatures(() => Perturbed(new GcLearnedGruState(seed: 15)), features: 3, outputShape: [2, 3, 2], batch: 2, steps: 3);

    /// <summary>Learned initial states start at zero; move them away so that the check sees their effect.</summary>
    private static T Perturbed<T>(T model) where T : IModel
    {
        var rng = new Rng(99);
        foreach (Parameter p in model.Parameters.Where(p => p.Name.Contains(".h0") || p.Name.Contains(".c0")))
            for (int i = 0; i < p.Length; i++) p.AsSpan()[i] = 0.5f * rng.NextNormal();
        return model;
    }

    [Fact] public void VariationalDropoutLstm() => CheckFeatures(() => new GcVariationalLstm(seed: 16), features: 3, outputShape: [2, 4, 3], batch: 2, steps: 4);
    [Fact] public void VariationalDropoutGruBothVariantsWithLearnedState() => CheckTokens(() => Perturbed(new GcVariationalGru(seed: 17)), vocab: 5, classes: 5, batch: 3, steps: 4);
    [Fact] public void VariationalDropoutRnn() => CheckFeatures(() => new GcVariationalRnn(seed: 18), features: 3, outputShape: [3, 4, 2], batch: 3, steps: 4);

    [Fact]
    public void VariationalDropoutIsOffInInferenceAndChangesTraining()
    {
        var withDropout = new GcVariationalLstm(seed: 19);
        var without = new GcVariationalLstmTwin(seed: 19);
        foreach (Parameter p in without.Parameters) Assert.Equal(p.AsSpan().ToArray(), withDropout.Parameters[p.Name].AsSpan().ToArray());
        var rng = new Rng(5);
        float[] x = Enumerable.Range(0, 2 * 6 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = new float[2 * 6 * 3];
        Assert.Equal(Flatten(without.Forward(new ReadOnlyTensorSpan<float>(x, [2, 6, 3]))), Flatten(withDropout.Forward(new ReadOnlyTensorSpan<float>(x, [2, 6, 3]))));
        Assert.NotEqual(without.Backward(new ReadOnlyTensorSpan<float>(x, [2, 6, 3]), new ReadOnlyTensorSpan<float>(y, [2, 6, 3])),
            withDropout.Backward(new ReadOnlyTensorSpan<float>(x, [2, 6, 3]), new ReadOnlyTensorSpan<float>(y, [2, 6, 3])));
    }

    private static float[] Flatten(Tensor<float> t) => Dsl.Tests.Parity.ParityModel.Flatten(t);

    /// <summary>BERT's embeddings with token types: pairs, a third segment, a text without a separator, padded and not.</summary>
    [Fact]
    public void TokenTypesCountedOverTheSeparator()
    {
        int[] x = [2, 5, 3, 6, 4, /**/ 2, 3, 3, 5, 3, /**/ 2, 4, 5, 6, 1];
        var rng = new Rng(51);
        int[] y = Enumerable.Range(0, 15).Select(_ => rng.NextInt(7)).ToArray();
        foreach (int[]? lengths in (int[]?[])[null, [5, 4, 2]])
            Check<IModel<int>>(() => new GcTokenTypes(seed: 52), m => lengths is null
                ? m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 5]), new ReadOnlyTensorSpan<int>(y, [3, 5]))
                : m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 5]), new ReadOnlyTensorSpan<int>(y, [3, 5]), lengths));
    }

    [Fact] public void MeanPoolingAfterAttention() => CheckFeatures(() => new GcPoolMean(seed: 44), features: 3, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void FirstStepPoolingAfterAGru() => CheckFeatures(() => new GcPoolFirst(seed: 45), features: 3, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void LastStepPooling() => CheckFeatures(() => new GcPoolLast(seed: 46), features: 3, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void MaxPoolingAfterAnLstm() => CheckFeatures(() => new GcPoolMax(seed: 56), features: 3, outputShape: [3, 2], batch: 3, steps: 4);

    /// <summary>Each pooling over padded sequences: the padded steps' inputs get no gradient, the valid ones theirs.</summary>
    [Fact]
    public void PoolingPaddedSequences()
    {
        int[] lengths = [4, 1, 3];
        var rng = new Rng(50);
        float[] x = Enumerable.Range(0, 3 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 3 * 2).Select(_ => rng.NextNormal()).ToArray();
        foreach (Func<IModel<float>> create in (Func<IModel<float>>[])[() => new GcPoolMean(seed: 47), () => new GcPoolFirst(seed: 48), () => new GcPoolLast(seed: 49), () => new GcPoolMax(seed: 57)])
            Check(create, m => m.Backward(new ReadOnlyTensorSpan<float>(x, [3, 4, 3]), new ReadOnlyTensorSpan<float>(y, [3, 2]), lengths));
    }

    [Fact]
    public void LearnedInitialStatesWithLengths()
    {
        int[] lengths = [3, 1, 2];
        var rng = new Rng(44);
        int[] x = Enumerable.Range(0, 3 * 3).Select(_ => rng.NextInt(5)).ToArray();
        int[] y = Enumerable.Range(0, 3 * 3).Select(_ => rng.NextInt(5)).ToArray();
        Check<IModel<int>>(() => Perturbed(new GcLearnedGruRnnState(seed: 20)),
            m => m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 3]), new ReadOnlyTensorSpan<int>(y, [3, 3]), lengths));
    }

    [Fact]
    public void LearnedInitialStatesOfBidirectionalLayersWithLengths()
    {
        // The reverse direction starts from its learned h0 (and c0) at each sequence's last step.
        int[] lengths = [4, 1, 3];
        var rng = new Rng(49);
        float[] x = Enumerable.Range(0, 3 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] lstmTargets = Enumerable.Range(0, 3 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] gruTargets = Enumerable.Range(0, 3 * 4 * 2).Select(_ => rng.NextNormal()).ToArray();
        Check<IModel<float>>(() => Perturbed(new GcLearnedLstmState(seed: 29)),
            m => m.Backward(new ReadOnlyTensorSpan<float>(x, [3, 4, 3]), new ReadOnlyTensorSpan<float>(lstmTargets, [3, 4, 3]), lengths));
        Check<IModel<float>>(() => Perturbed(new GcLearnedGruState(seed: 30)),
            m => m.Backward(new ReadOnlyTensorSpan<float>(x, [3, 4, 3]), new ReadOnlyTensorSpan<float>(gruTargets, [3, 4, 2]), lengths));
    }

    [Fact]
    public void APaddedSequenceWithLearnedStatesEqualsItselfUnpadded()
    {
        // Sequence 0 of length 3, padded to 5 beside a full one, gives the outputs and gradients it gives alone, unpadded.
        var rng = new Rng(50);
        float[] seq = Enumerable.Range(0, 3 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] other = Enumerable.Range(0, 5 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] target = Enumerable.Range(0, 3 * 3).Select(_ => rng.NextNormal()).ToArray();
        var alone = Perturbed(new GcLearnedLstmState(seed: 31));
        float[] aloneOut = Flatten(alone.Forward(new ReadOnlyTensorSpan<float>(seq, [1, 3, 3])));
        float aloneLoss = alone.Backward(new ReadOnlyTensorSpan<float>(seq, [1, 3, 3]), new ReadOnlyTensorSpan<float>(target, [1, 3, 3]));

        var padded = Perturbed(new GcLearnedLstmState(seed: 31));
        float[] x = new float[2 * 5 * 3], y = new float[2 * 5 * 3];
        seq.CopyTo(x, 0);
        for (int i = 9; i < 15; i++) x[i] = 7f; // garbage in the padding
        other.CopyTo(x, 15);
        target.CopyTo(y, 0);
        float[] paddedOut = Flatten(padded.Forward(new ReadOnlyTensorSpan<float>(x, [2, 5, 3]), [3, 5]));
        Tolerance.AssertClose(aloneOut, paddedOut.AsSpan(0, 9), "sequence 0's outputs");
        // The loss over sequence 0 alone: the other sequence's targets equal its outputs, so it adds nothing.
        paddedOut.AsSpan(15, 15).CopyTo(y.AsSpan(15));
        float paddedLoss = padded.Backward(new ReadOnlyTensorSpan<float>(x, [2, 5, 3]), new ReadOnlyTensorSpan<float>(y, [2, 5, 3]), [3, 5]);
        // MSE with lengths averages over the valid elements: (3 + 5)·3, against 3·3 alone.
        Assert.Equal(aloneLoss, paddedLoss * 24f / 9f, 4);
        foreach (Parameter p in alone.Parameters)
        {
            float[] scaled = padded.Parameters[p.Name].GradAsSpan().ToArray().Select(v => v * 24f / 9f).ToArray();
            Tolerance.AssertClose(p.GradAsSpan(), scaled, $"grad.{p.Name}", rtol: 1e-3f);
        }
    }

    [Fact] public void AttentionDotCausalWithDropout() => CheckFeatures(() => new GcAttentionDotDropout(seed: 22), features: 6, outputShape: [2, 5, 3], batch: 2, steps: 5);

    [Fact]
    public void AttentionIntoAManyToOneGru()
    {
        var rng = new Rng(45);
        int[] x = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] y = Enumerable.Range(0, 3).Select(_ => rng.NextInt(5)).ToArray();
        Check<IModel<int>>(() => new GcAttentionThenGru(seed: 23), m => m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 4]), new ReadOnlyTensorSpan<int>(y, [3])));
    }

    [Fact] public void GeneralScoreOverItsOwnStepsCausal() => CheckFeatures(() => new GcGeneralSelfCausal(seed: 27), features: 3, outputShape: [2, 5, 3], batch: 2, steps: 5);

    [Fact]
    public void AdditivePoolingAfterAGruWithLengths()
    {
        var rng = new Rng(48);
        int[] x = Enumerable.Range(0, 3 * 5).Select(_ => rng.NextInt(5)).ToArray();
        int[] y = Enumerable.Range(0, 3).Select(_ => rng.NextInt(3)).ToArray();
        Check<IModel<int>>(() => new GcAdditivePool(seed: 28), m => m.Backward(new ReadOnlyTensorSpan<int>(x, [3, 5]), new ReadOnlyTensorSpan<int>(y, [3]), [5, 2, 4]));
    }

    [Fact] public void TransformerBlockWithResidualsAndLayerNorm() => CheckFeatures(() => new GcTransformerBlock(seed: 32), features: 4, outputShape: [2, 5, 3], batch: 2, steps: 5);

    [Fact] public void AttentionPoolingAfterAnLstm() => CheckFeatures(() => new GcAttentionPool(seed: 24), features: 4, outputShape: [3, 3], batch: 3, steps: 5);

    [Fact] public void NamedLayersWithOverriddenInit() => CheckFeatures(() => new GcNamedStack(seed: 10), features: 3, outputShape: [2, 4, 3], batch: 2, steps: 4);

    [Fact] public void DenseReluAfterInputDropout() => CheckFeatures(() => new GcReluWithInputDropout(seed: 40), features: 4, outputShape: [2, 4, 3], batch: 2, steps: 4, epsilon: 1e-3f);
    [Fact] public void AdditiveScoreOverItsOwnSteps() => CheckFeatures(() => new GcAdditiveSelf(seed: 41), features: 3, outputShape: [2, 4, 2], batch: 2, steps: 4);
    [Fact] public void GeneralPoolingAfterAnLstm() => CheckFeatures(() => new GcGeneralPool(seed: 42), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void ScaledDotPoolingAfterAGru() => CheckFeatures(() => new GcScaledDotPool(seed: 43), features: 4, outputShape: [3, 2], batch: 3, steps: 4);

    [Fact]
    public void MaskedMultiHeadSelfAttention()
    {
        var rng = new Rng(48);
        int[] tokens = Enumerable.Range(0, 3 * 5).Select(_ => rng.NextInt(6)).ToArray();
        int[] targets = Enumerable.Range(0, 3 * 5).Select(i => i % 5 >= 3 ? -100 : rng.NextInt(6)).ToArray();
        Check(() => new GcMaskedMultiHead(seed: 44), m => m.Backward(new ReadOnlyTensorSpan<int>(tokens, [3, 5]), new ReadOnlyTensorSpan<int>(targets, [3, 5]), [5, 2, 3]));
    }

    [Fact]
    public void BackwardFromACarriedState()
    {
        // the state is a constant of the pass (gradients stop at it): every evaluation starts from the same one
        var rng = new Rng(49);
        float[] x = Enumerable.Range(0, 2 * 3 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 2 * 3 * 2).Select(_ => rng.NextNormal()).ToArray();
        float[][] start = null!;
        Check(() => new GcStateful(seed: 45), m =>
        {
            var state = m.CreateState(2);
            start ??= state.Tensors.Select(t => Enumerable.Range(0, t.AsSpan().Length).Select(_ => 0.5f * rng.NextNormal()).ToArray()).ToArray();
            for (int i = 0; i < start.Length; i++) start[i].CopyTo(state.Tensors[i].AsSpan());
            return m.Backward(new ReadOnlyTensorSpan<float>(x, [2, 3, 3]), new ReadOnlyTensorSpan<float>(y, [2, 3, 2]), state);
        });
    }

    [Fact]
    public void EncoderDecoderWithDotScoreAndCopiedBridges()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(51);
        Check(() => new GcS2sDot(seed: 50), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void EncoderDecoderWithMultiHeadCrossAttention()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(53);
        Check(() => new GcS2sMultiHead(seed: 52), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void EncoderDecoderWithMultiHeadCrossAttentionWithoutBiases()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(54);
        Check(() => new GcS2sMultiHeadWithoutBias(seed: 55), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
        var model = new GcS2sMultiHeadWithoutBias(seed: 55);
        Assert.DoesNotContain(model.Parameters, p => p.Name.Contains("in_proj_bias") || p.Name.Contains("out_proj.bias"));
        Assert.Contains(model.Parameters, p => p.Name == "decoder.attention.q_proj_weight");
    }

    [Fact]
    public void EncoderDecoderOfLlamasPieces()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(56);
        Check(() => new GcLlamaSeq2Seq(seed: 57), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void EncoderDecoderLaidOutAsT5s()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(58);
        Check(() => new GcT5Seq2Seq(seed: 59), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
        var model = new GcT5Seq2Seq(seed: 59);
        Assert.Equal(18 * 8, model.Parameters["decoder.attention_1.in_proj_weight"].Length); // [3 · 2 · 3, 8]
        Assert.Equal(8 * 6, model.Parameters["decoder.attention_1.out_proj.weight"].Length);
    }

    [Fact]
    public void LstmProjectionWithLearnedStatesRecurrentDropoutAndLengths()
    {
        int[] lengths = [4, 1, 3];
        var rng = new Rng(61);
        float[] x = Enumerable.Range(0, 3 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 3 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        Check<IModel<float>>(() => Perturbed(new GcLstmProjection(seed: 60)),
            m => m.Backward(new ReadOnlyTensorSpan<float>(x, [3, 4, 3]), new ReadOnlyTensorSpan<float>(y, [3, 4, 3]), lengths));
    }

    [Fact]
    public void EncoderDecoderWithLstmProjectionsAndBridges()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(63);
        var model = new GcProjectionSeq2Seq(seed: 62);
        // h: 2 directions × 2 → 3 and c: 2 × 5 → 4, each through its own Dense
        Assert.Equal(["bridge.h_l0", "bridge.c_l0"], model.Bridges.Select(b => b.Name));
        Assert.Equal([(4, 3), (10, 4)], model.Bridges.Select(b => (b.InWidth, b.OutWidth)));
        Check(() => new GcProjectionSeq2Seq(seed: 62), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void TransformerEncoderDecoder()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(57);
        Check(() => new GcTransformer(seed: 59), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact] public void GeneralSelfAttentionWithDropoutOnTheWeights() => CheckFeatures(() => new GcGeneralSelfDropout(seed: 54), features: 3, outputShape: [2, 5, 3], batch: 2, steps: 5);

    [Fact]
    public void AdditivePoolingWithDropoutOnTheWeights()
    {
        var rng = new Rng(55);
        int[] tokens = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 3).Select(_ => rng.NextInt(3)).ToArray();
        Check(() => new GcAdditivePoolDropout(seed: 56), m => m.Backward(new ReadOnlyTensorSpan<int>(tokens, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3]), [4, 2, 3]));
        Check(() => new GcMultiHeadPoolDropout(seed: 57), m => m.Backward(new ReadOnlyTensorSpan<int>(tokens, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3]), [4, 2, 3]));
    }

    [Fact]
    public void MultiHeadPoolingDropsWeightsOnlyInTraining()
    {
        // Dropout changes the training loss, not the evaluation: Loss twice is the same, Backward differs from it.
        var rng = new Rng(56);
        int[] tokens = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 3).Select(_ => rng.NextInt(3)).ToArray();
        var model = new GcMultiHeadPoolDropout(seed: 58);
        var x = new ReadOnlyTensorSpan<int>(tokens, [3, 4]);
        var y = new ReadOnlyTensorSpan<int>(targets, [3]);
        float evaluation = model.Loss(x, y);
        Assert.Equal(evaluation, model.Loss(x, y));
        Assert.NotEqual(evaluation, model.Backward(x, y));
    }

    [Fact]
    public void EncoderDecoderWithDotScoreAndDropoutOnTheWeights()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(57);
        Check(() => new GcS2sDotDropout(seed: 58), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void DropoutOnClassicWeightsIsOffInInferenceAndChangesTraining()
    {
        var rng = new Rng(59);
        float[] x = Enumerable.Range(0, 2 * 5 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 2 * 5 * 3).Select(_ => rng.NextNormal()).ToArray();
        var model = new GcGeneralSelfDropout(seed: 60);
        var input = new ReadOnlyTensorSpan<float>(x, [2, 5, 3]);
        float[] first = Flatten(model.Forward(input)), second = Flatten(model.Forward(input));
        Assert.Equal(first, second); // inference: no mask
        float lossA = model.Loss(input, new ReadOnlyTensorSpan<float>(y, [2, 5, 3]));
        float trainA = model.Backward(input, new ReadOnlyTensorSpan<float>(y, [2, 5, 3]));
        float trainB = model.Backward(input, new ReadOnlyTensorSpan<float>(y, [2, 5, 3]));
        Assert.NotEqual(trainA, trainB); // a fresh mask each training pass
        Assert.NotEqual(lossA, trainA);
    }

    private static (int[] Source, int[] Lengths, int[] Input, int[] Targets) EncoderDecoderBatch(int seed)
    {
        var rng = new Rng((ulong)seed);
        int[] source = Enumerable.Range(0, 3 * 5).Select(_ => rng.NextInt(6)).ToArray();
        int[] input = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 3 * 4).Select(i => i == 7 ? -100 : rng.NextInt(5)).ToArray();
        return (source, [5, 2, 4], input, targets);
    }

    private static void CheckTokens(Func<IModel<int>> create, int vocab, int classes, int batch, int steps)
    {
        var rng = new Rng(42);
        var x = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(vocab)).ToArray();
        var y = Enumerable.Range(0, batch * steps).Select(i => i % 5 == 2 ? -1 : rng.NextInt(classes)).ToArray();
        Check(create, m => m.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps])));
    }

    private static void CheckFeatures(Func<IModel<float>> create, int features, nint[] outputShape, int batch, int steps, float epsilon = Epsilon)
    {
        var rng = new Rng(43);
        var x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        int outLength = (int)outputShape.Aggregate((a, b) => a * b);
        var y = Enumerable.Range(0, outLength).Select(_ => rng.NextNormal()).ToArray();
        Check(create, m => m.Backward(new ReadOnlyTensorSpan<float>(x, [batch, steps, features]), new ReadOnlyTensorSpan<float>(y, outputShape)), epsilon);
    }

    [Fact]
    public void EncoderDecoderWithStackedBridgesAndGeneralScore()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(46);
        Check(() => new GcS2sGeneral(seed: 25), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void AnEncoderDecoderSharingOneTableForBothEmbeddingsAndTheOutputLayer()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(47);
        Check(() => new GcS2sShared(seed: 26), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void InputFeedingWithTheAdditiveScoreAndChoGru()
    {
        var rng = new Rng(64);
        float[] source = Enumerable.Range(0, 2 * 6 * 3).Select(_ => rng.NextNormal()).ToArray();
        int[] input = Enumerable.Range(0, 2 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 2 * 4).Select(_ => rng.NextInt(5)).ToArray();
        Check(() => new GcFeedAdditive(seed: 65), m => m.Backward(new ReadOnlyTensorSpan<float>(source, [2, 6, 3]), [3, 6],
            new ReadOnlyTensorSpan<int>(input, [2, 4]), new ReadOnlyTensorSpan<int>(targets, [2, 4])));
    }

    [Fact]
    public void InputFeedingWithTheGeneralScoreAndAnLstmProjection()
    {
        var (source, lengths, input, targets) = EncoderDecoderBatch(66);
        Check(() => new GcFeedGeneral(seed: 67), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
            new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4])));
    }

    [Fact]
    public void EncoderDecoderWithFloatSourceDenseMemoryAndAdditiveScore()
    {
        var rng = new Rng(47);
        float[] source = Enumerable.Range(0, 2 * 6 * 3).Select(_ => rng.NextNormal()).ToArray();
        int[] input = Enumerable.Range(0, 2 * 3).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 2 * 3).Select(_ => rng.NextInt(5)).ToArray();
        int[] lengths = [3, 6];
        Check(() => new GcS2sAdditive(seed: 26), m => m.Backward(new ReadOnlyTensorSpan<float>(source, [2, 6, 3]), lengths,
            new ReadOnlyTensorSpan<int>(input, [2, 3]), new ReadOnlyTensorSpan<int>(targets, [2, 3])));
    }

    /// <summary>
    /// Analytic against central differences through the runtime's <see cref="GradCheck"/> (which rewinds the dropout
    /// generators before every pass): every coordinate of small tensors, a seeded sample of larger ones; relative error at
    /// most 2 %, dividing by no less than 5e-5 (about four times the float loss's rounding over the step), so gradients down
    /// to that size are checked.
    /// </summary>
    private static void Check<TModel>(Func<TModel> create, Func<TModel, float> backward, float epsilon = Epsilon) where TModel : IModel
    {
        TModel model = create();
        GradCheckReport report = GradCheck.Run(model, () => backward(model), new GradCheckOptions(Epsilon: epsilon));
        Assert.True(report.Passed(2e-2f), report.ToString());
        Assert.All(report, r => Assert.True(r.Checked > 0, $"{r.Parameter}: nothing probed"));
    }
}
