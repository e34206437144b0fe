using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Numerics;

/// <summary>
/// Central finite differences against the analytic gradients of Backward, for every layer kind and option.
/// Each loss evaluation builds a fresh model from the same seed, so dropout draws the same mask every time
/// and the check covers training mode exactly.
/// </summary>
public class GradientCheckTests
{
    private const float Epsilon = 1e-2f;

    [Fact] public void RnnTanh() => CheckTokens(() => new GcRnnTanh(seed: 3), vocab: 5, classes: 5, batch: 3, steps: 5);
    [Fact] public void RnnReluStackedBidirectional() => CheckFeatures(() => new GcRnnReluStackedBidirectional(seed: 4), features: 3, outputShape: [2, 5, 3], batch: 2, steps: 5);
    [Fact] public void LstmBidirectionalManyToOne() => CheckFeatures(() => new GcLstmBidirectionalManyToOne(seed: 5), features: 3, outputShape: [3, 3], batch: 3, steps: 4);
    [Fact] public void Gru() => CheckTokens(() => new GcGru(seed: 6), vocab: 7, classes: 7, batch: 3, steps: 5);
    [Fact] public void GruChoStackedBidirectional() => CheckFeatures(() => new GcGruChoStackedBidirectional(seed: 7), features: 5, outputShape: [2, 3, 3], batch: 2, steps: 3);
    [Fact] public void DropoutEverywhere() => CheckTokens(() => new GcDropout(seed: 8), vocab: 5, classes: 5, batch: 3, steps: 4);
    [Fact] public void GruManyToOneThroughDenseStack() => CheckFeatures(() => new GcGruManyToOneDense(seed: 9), features: 3, outputShape: [3, 3], batch: 3, steps: 5);
    [Fact] public void DenseBeforeARecurrentLayer() => CheckFeatures(() => new GcDenseBeforeRecurrent(seed: 11), features: 4, outputShape: [3, 2], batch: 3, steps: 4);
    [Fact] public void EmbeddingStraightIntoDense() => CheckTokens(() => new GcEmbeddingDense(seed: 12), vocab: 6, classes: 6, batch: 2, steps: 3);
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

    private static void CheckTokens(Func<IModel<int>> create, int vocab, int classes, int batch, int steps)
    {
        var rng = new Rng(42);
        var x = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(vocab)).ToArray();
        var y = Enumerable.Range(0, batch * steps).Select(i => i % 5 == 2 ? -1 : rng.NextInt(classes)).ToArray();
        Check(create, m => m.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps])));
    }

    private static void CheckFeatures(Func<IModel<float>> create, int features, nint[] outputShape, int batch, int steps)
    {
        var rng = new Rng(43);
        var x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        int outLength = (int)outputShape.Aggregate((a, b) => a * b);
        var y = Enumerable.Range(0, outLength).Select(_ => rng.NextNormal()).ToArray();
        Check(create, m => m.Backward(new ReadOnlyTensorSpan<float>(x, [batch, steps, features]), new ReadOnlyTensorSpan<float>(y, outputShape)));
    }

    [Fact]
    public void EncoderDecoderWithStackedBridgesAndGeneralScore()
    {
        var rng = new Rng(46);
        int[] source = Enumerable.Range(0, 3 * 5).Select(_ => rng.NextInt(6)).ToArray();
        int[] input = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(5)).ToArray();
        int[] targets = Enumerable.Range(0, 3 * 4).Select(i => i == 7 ? -100 : rng.NextInt(5)).ToArray();
        int[] lengths = [5, 2, 4];
        Check(() => new GcS2sGeneral(seed: 25), m => m.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths,
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

    private static void Check<TModel>(Func<TModel> create, Func<TModel, float> backward) where TModel : IModel
    {
        TModel reference = create();
        backward(reference);
        var rng = new Rng(7);
        int checkedCount = 0;
        foreach (Parameter p in reference.Parameters)
        {
            // Every coordinate of small tensors; a seeded sample of larger ones.
            var indices = p.Length <= 24 ? Enumerable.Range(0, p.Length) : Enumerable.Range(0, 24).Select(_ => rng.NextInt(p.Length)).Distinct();
            foreach (int i in indices)
            {
                float analytic = p.GradAsSpan()[i];
                float plus = Evaluate(create, backward, reference, p.Name, i, +Epsilon);
                float minus = Evaluate(create, backward, reference, p.Name, i, -Epsilon);
                float numeric = (plus - minus) / (2 * Epsilon);
                float tolerance = 2e-2f * MathF.Max(MathF.Abs(analytic), MathF.Abs(numeric)) + 3e-4f;
                Assert.True(MathF.Abs(numeric - analytic) <= tolerance,
                    $"{p.Name}[{i}]: analytic {analytic:G6}, numeric {numeric:G6} (|diff| {MathF.Abs(numeric - analytic):E2} > {tolerance:E2})");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 0);
    }

    private static float Evaluate<TModel>(Func<TModel> create, Func<TModel, float> backward, TModel reference, string name, int index, float delta) where TModel : IModel
    {
        TModel model = create();
        foreach (Parameter p in model.Parameters) reference.Parameters[p.Name].AsSpan().CopyTo(p.AsSpan());
        model.Parameters[name].AsSpan()[index] += delta;
        return backward(model);
    }
}
