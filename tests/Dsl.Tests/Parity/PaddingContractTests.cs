using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// The padding contract of <c>Forward/Backward/Loss(…, lengths)</c>, bit for bit: whatever the padded steps hold (any
/// in-vocabulary token, any float at all, NaN and infinities included), the valid steps'
/// outputs, the loss and every gradient are the same. A recurrent layer outputs zeros at padded steps, and the layers after
/// it compute on those zeros (a final Dense gives its bias there), so where the padding reaches the output only through
/// recurrent layers the padded steps' outputs are fixed too. Where an attention or residual layer reads the input layer
/// directly, the padded steps' outputs are computed from the padding and mean nothing (README, "Variable-length sequences").
/// </summary>
public class PaddingContractTests
{
    private const int B = 3, T = 5;
    private static readonly int[] s_lengths = [5, 2, 4];

    public enum Padded { Fixed, ManyToOne, FromPadding }

    public static TheoryData<string, Padded> Models => new()
    {
        { nameof(MaskedLstm), Padded.Fixed }, { nameof(MaskedRnn), Padded.Fixed }, { nameof(MaskedGruCho), Padded.Fixed },
        { nameof(MaskedLstmAttention), Padded.Fixed }, { nameof(PaddedFloatStack), Padded.Fixed },
        { nameof(MaskedGruManyToOne), Padded.ManyToOne }, { nameof(MaskedAttentionPool), Padded.ManyToOne }, { nameof(MaskedGeneralPool), Padded.ManyToOne },
        { nameof(MaskedAttention), Padded.FromPadding }, { nameof(MaskedAdditiveSelf), Padded.FromPadding },
        { nameof(TransformerBlock), Padded.FromPadding }, { nameof(LstmResidualNorm), Padded.FromPadding },
        // learned positions: the padded steps' rows of the table get no gradient from what those steps hold
        { nameof(GcPositionEmbeddingGru), Padded.Fixed }, { nameof(GcPositionEmbedding), Padded.FromPadding },
        // rotary positions turn the padded steps' queries and keys as any other's
        { nameof(GcRotary), Padded.FromPadding }, { nameof(GcRotaryTokens), Padded.FromPadding },
        // grouped-query attention: a padded step's keys and values reach none of the group's query heads
        { nameof(GcGroupedQuery), Padded.FromPadding },
        // sliding windows: a padded step's window keeps one valid key, and reaches no valid step's output or gradient
        { nameof(GcSlidingWindow), Padded.FromPadding },
        // QK-norm normalises a padded step's query and key heads as any other's, and they reach no valid step
        { nameof(GcQueryKeyNorm), Padded.FromPadding },
        // soft-capped scores: a padded key's capped score is masked as an uncapped one, and reaches no valid step
        { nameof(GcSoftCap), Padded.FromPadding },
        // the relative position bias: a padded key's biased score is masked as any other, and reaches no valid step
        { nameof(GcRelative), Padded.FromPadding },
        // a mixture's load-balancing loss counts the valid steps' rows alone
        { nameof(GcMoeBalancedTokens), Padded.FromPadding },
    };

    private static IModel Create(string name) => name switch
    {
        nameof(MaskedLstm) => new MaskedLstm(seed: 3),
        nameof(MaskedRnn) => new MaskedRnn(seed: 3),
        nameof(MaskedGruCho) => new MaskedGruCho(seed: 3),
        nameof(MaskedGruManyToOne) => new MaskedGruManyToOne(seed: 3),
        nameof(MaskedAttention) => new MaskedAttention(seed: 3),
        nameof(MaskedLstmAttention) => new MaskedLstmAttention(seed: 3),
        nameof(MaskedAttentionPool) => new MaskedAttentionPool(seed: 3),
        nameof(MaskedAdditiveSelf) => new MaskedAdditiveSelf(seed: 3),
        nameof(MaskedGeneralPool) => new MaskedGeneralPool(seed: 3),
        nameof(TransformerBlock) => new TransformerBlock(seed: 3),
        nameof(LstmResidualNorm) => new LstmResidualNorm(seed: 3),
        nameof(PaddedFloatStack) => new PaddedFloatStack(seed: 3),
        nameof(GcPositionEmbeddingGru) => new GcPositionEmbeddingGru(seed: 3),
        nameof(GcPositionEmbedding) => new GcPositionEmbedding(seed: 3),
        nameof(GcRotary) => new GcRotary(seed: 3),
        nameof(GcRotaryTokens) => new GcRotaryTokens(seed: 3),
        nameof(GcGroupedQuery) => new GcGroupedQuery(seed: 3),
        nameof(GcQueryKeyNorm) => new GcQueryKeyNorm(seed: 3),
        nameof(GcSlidingWindow) => new GcSlidingWindow(seed: 3),
        nameof(GcSoftCap) => new GcSoftCap(seed: 3),
        nameof(GcRelative) => new GcRelative(seed: 3),
        nameof(GcMoeBalancedTokens) => new GcMoeBalancedTokens(seed: 3),
        _ => throw new ArgumentException(name),
    };

    private static bool IsPadded(int b, int t) => t >= s_lengths[b];

    [Theory]
    [MemberData(nameof(Models))]
    public void WhatPaddedStepsHoldChangesNothing(string name, Padded padded)
    {
        IModel model = Create(name);
        // Non-zero biases, so that "the Dense gives its bias at a padded step" is not "zero".
        foreach (Parameter p in model.Parameters)
        {
            if (p.Name.EndsWith("bias", StringComparison.Ordinal)) p.AsSpan().Fill(0.25f);
        }
        var rng = new Rng(11);
        int O = model.OutputWidth;
        bool classes = name is not (nameof(MaskedGruCho) or nameof(MaskedGruManyToOne) or nameof(MaskedGeneralPool) or nameof(TransformerBlock) or nameof(PaddedFloatStack) or nameof(GcPositionEmbeddingGru));
        int targetRows = model.ReturnsSequences ? B * T : B;
        // Targets: valid ones shared; at padded steps -100 (ignored) in the clean run and real-looking ones in the dirty run.
        int[] cleanClasses = new int[targetRows], dirtyClasses = new int[targetRows];
        float[] cleanValues = new float[targetRows * O], dirtyValues = new float[targetRows * O];
        for (int r = 0; r < targetRows; r++)
        {
            bool pad = model.ReturnsSequences && IsPadded(r / T, r % T);
            cleanClasses[r] = pad ? -100 : rng.NextInt(O);
            dirtyClasses[r] = pad ? rng.NextInt(O) : cleanClasses[r];
            for (int o = 0; o < O; o++)
            {
                cleanValues[r * O + o] = pad ? 0f : rng.NextNormal();
                dirtyValues[r * O + o] = pad ? 100f * rng.NextNormal() : cleanValues[r * O + o];
            }
        }

        if (model is IModel<int> tokens)
        {
            int V = tokens.InputWidth;
            int[] clean = new int[B * T], dirty = new int[B * T];
            for (int i = 0; i < clean.Length; i++)
            {
                clean[i] = IsPadded(i / T, i % T) ? 0 : rng.NextInt(V);
                dirty[i] = IsPadded(i / T, i % T) ? rng.NextInt(V) : clean[i];
            }
            Compare(tokens, new ReadOnlyTensorSpan<int>(clean, [B, T]), new ReadOnlyTensorSpan<int>(dirty, [B, T]), padded, name, training: true,
                classes, cleanClasses, dirtyClasses, cleanValues, dirtyValues);
        }
        else
        {
            var floats = (IModel<float>)model;
            int F = floats.InputWidth;
            float[] clean = new float[B * T * F];
            for (int i = 0; i < clean.Length; i++) clean[i] = IsPadded(i / F / T, i / F % T) ? 0f : rng.NextNormal();
            // Finite garbage for everything, training included.
            float[] dirty = clean.Select((v, i) => IsPadded(i / F / T, i / F % T) ? 1000f * rng.NextNormal() : v).ToArray();
            Compare(floats, new ReadOnlyTensorSpan<float>(clean, [B, T, F]), new ReadOnlyTensorSpan<float>(dirty, [B, T, F]), padded, name, training: true,
                classes, cleanClasses, dirtyClasses, cleanValues, dirtyValues);
            // Any float, NaN and infinities included, for inference and training (the padded input rows are zeroed once the lengths are read).
            foreach (float poison in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue })
            {
                float[] poisoned = clean.Select((v, i) => IsPadded(i / F / T, i / F % T) ? poison : v).ToArray();
                Compare(floats, new ReadOnlyTensorSpan<float>(clean, [B, T, F]), new ReadOnlyTensorSpan<float>(poisoned, [B, T, F]), padded, $"{name} ({poison} padding)",
                    training: true, classes, cleanClasses, dirtyClasses, cleanValues, dirtyValues);
            }
        }
    }

    private static void Compare<TIn>(IModel<TIn> model, ReadOnlyTensorSpan<TIn> clean, ReadOnlyTensorSpan<TIn> dirty, Padded padded, string what, bool training,
        bool classes, int[] cleanClasses, int[] dirtyClasses, float[] cleanValues, float[] dirtyValues)
    {
        int O = model.OutputWidth;
        float[] a = ParityModel.Flatten(model.Forward(clean, s_lengths));
        float[] b = ParityModel.Flatten(model.Forward(dirty, s_lengths));
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            int sequence = model.ReturnsSequences ? i / O / T : i / O, step = model.ReturnsSequences ? i / O % T : 0;
            bool pad = model.ReturnsSequences && IsPadded(sequence, step);
            if (pad && padded == Padded.FromPadding) continue; // computed from the padding: meaningless, not compared
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]),
                $"{what}: output [{sequence}, {step}, {i % O}] is {a[i]:R} with zero padding but {b[i]:R} with garbage ({(pad ? "a padded step" : "a valid step")})");
            Assert.True(float.IsFinite(a[i]), $"{what}: output {i} is {a[i]}");
        }
        if (padded == Padded.Fixed && model.Parameters.Last() is { } last && last.Name.EndsWith("dense.bias", StringComparison.Ordinal)
            && model.Parameters.Select(p => p.Name).All(n => !n.StartsWith("attention", StringComparison.Ordinal)))
        {
            // Recurrent layers then a Dense: the output at a padded step is exactly the Dense's bias (its input is zero).
            float[] bias = last.AsSpan().ToArray();
            for (int sq = 0; sq < B; sq++)
                for (int t = s_lengths[sq]; t < T; t++)
                    Assert.Equal(bias, a.AsSpan((sq * T + t) * O, O).ToArray());
        }
        if (!training) return;

        int rows = cleanClasses.Length;
        ReadOnlyTensorSpan<int> Ids(int[] v) => model.ReturnsSequences ? new(v, [B, T]) : new(v, [B]);
        ReadOnlyTensorSpan<float> Values(float[] v) => model.ReturnsSequences ? new(v, [B, T, O]) : new(v, [B, O]);
        float lossA = classes ? model.Loss(clean, Ids(cleanClasses), s_lengths) : model.Loss(clean, Values(cleanValues), s_lengths);
        float lossB = classes ? model.Loss(dirty, Ids(dirtyClasses), s_lengths) : model.Loss(dirty, Values(dirtyValues), s_lengths);
        Assert.Equal(BitConverter.SingleToInt32Bits(lossA), BitConverter.SingleToInt32Bits(lossB));

        model.Parameters.ZeroGrad();
        float trainA = classes ? model.Backward(clean, Ids(cleanClasses), s_lengths) : model.Backward(clean, Values(cleanValues), s_lengths);
        float[][] gradA = model.Parameters.Select(p => p.GradAsSpan().ToArray()).ToArray();
        model.Parameters.ZeroGrad();
        float trainB = classes ? model.Backward(dirty, Ids(dirtyClasses), s_lengths) : model.Backward(dirty, Values(dirtyValues), s_lengths);
        Assert.Equal(BitConverter.SingleToInt32Bits(trainA), BitConverter.SingleToInt32Bits(trainB));
        Assert.Equal(BitConverter.SingleToInt32Bits(lossA), BitConverter.SingleToInt32Bits(trainA));
        for (int p = 0; p < gradA.Length; p++)
        {
            Parameter parameter = model.Parameters[p];
            Assert.True(gradA[p].Any(g => g != 0) || parameter.Name.Contains("embedding"), $"{what}: grad.{parameter.Name} is all zero");
            float[] gradB = parameter.GradAsSpan().ToArray();
            int first = Enumerable.Range(0, gradB.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(gradA[p][i]) != BitConverter.SingleToInt32Bits(gradB[i]), -1);
            Assert.True(first < 0, $"{what}: grad.{parameter.Name}[{first}] is {(first < 0 ? 0 : gradA[p][first]):R} with zero padding but {(first < 0 ? 0 : gradB[first]):R} with garbage");
        }
    }
}

/// <summary>Float input through a bidirectional LSTM and an RNN: NaN padding must not reach the valid steps through the input projections.</summary>
[Input(features: 3)]
[Lstm(hidden: 5, Bidirectional = true)]
[Rnn(hidden: 4)]
[Dense(2)]
public partial class PaddedFloatStack;

public class AttentionSoftmaxTests
{
    [Fact]
    public void LargeScoresGiveFiniteWeightsAsTorchSoftmaxDoes()
    {
        // Scores of 1000 and 990 (exp overflows float above ~88): softmax is shift-invariant, so the weights are those of 10 and 0.
        float[] row = [1000f, 990f, -5f];
        Dsl.Kernels.Activations.StableSoftmax(row);
        float e = MathF.Exp(-10f);
        Assert.Equal(1f / (1f + e), row[0], 1e-6f);
        Assert.Equal(e / (1f + e), row[1], 1e-6f);
        Assert.Equal(0f, row[2]);

        // Through a model: self-attention over inputs large enough that q · k exceeds 88 gives finite outputs and gradients.
        var model = new Dsl.Tests.Models.TransformerBlock(seed: 3);
        var rng = new Rng(2);
        float[] x = Enumerable.Range(0, 2 * 4 * 8).Select(_ => 300f * rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, 2 * 4 * 3).Select(_ => rng.NextNormal()).ToArray();
        float[] output = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [2, 4, 8])));
        Assert.All(output, v => Assert.True(float.IsFinite(v), $"output {v}"));
        float[] weights = ParityModel.Flatten(model.AttentionWeights());
        Assert.Contains(weights, w => w > 0.999f); // the scores are large: some rows are (nearly) one-hot
        model.Backward(new ReadOnlyTensorSpan<float>(x, [2, 4, 8]), new ReadOnlyTensorSpan<float>(y, [2, 4, 3]));
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.True(float.IsFinite(g), $"grad.{p.Name} {g}")));
    }
}
