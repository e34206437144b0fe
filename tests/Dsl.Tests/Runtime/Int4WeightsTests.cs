using System.Numerics.Tensors;
using Dsl.Kernels;
using Dsl.Tests.Gpu;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

// Models whose weights are mostly rows of whole groups of 32 (the last layer's of 40 are not: it takes 8 bits), so that
// holding them in 4 bits holds most of them so (the device-test models are narrower: mostly 8 bits).
[Embedding(vocab: 40, dim: 64)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(96, Activation = Activation.Relu)]
[Dense(64)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(40)]
[Dense(11)]
public partial class Int4Gpt;

[Input(features: 32)]
[Lstm(hidden: 64)]
[Dense(40)]
[Dense(11)]
public partial class Int4Lstm;

[Input(features: 32)]
[Gru(hidden: 64, ResetAfter = false)]
[Dense(40)]
public partial class Int4GruCho;

[Embedding(vocab: 40, dim: 32)]
[Lstm(hidden: 64, Layers = 2, Bidirectional = true, Projection = 32)]
[Dense(40)]
public partial class Int4LstmProjection;

[Input(features: 32)]
[Moe(experts: 4, units: 64)]
[Dense(40)]
public partial class Int4Moe;

// input feeding: the decoder's W_ih [3H, X + M] read from column X on for the fed context; X = 32 keeps the groups of 32 off the
// cut (held in 4 bits), X = 48 (M = 16) does not (held in 8 bits)
[Embedding(vocab: 30, dim: 32)]
[Gru(hidden: 32)]
public partial class Int4FeedEncoder;

[Embedding(vocab: 30, dim: 32)]
[Gru(hidden: 64)]
[Attention(Over = typeof(Int4FeedEncoder), Score = AttentionScore.Additive, Units = 32, InputFeeding = true)]
[Dense(30)]
public partial class Int4FeedDecoder;

[EncoderDecoder(typeof(Int4FeedEncoder), typeof(Int4FeedDecoder))]
public partial class Int4Feed;

[Embedding(vocab: 30, dim: 32)]
[Gru(hidden: 16)]
public partial class Int4FeedNarrowEncoder;

[Embedding(vocab: 30, dim: 48)]
[Gru(hidden: 64)]
[Attention(Over = typeof(Int4FeedNarrowEncoder), Score = AttentionScore.Additive, Units = 32, InputFeeding = true)]
[Dense(30)]
public partial class Int4FeedNarrowDecoder;

[EncoderDecoder(typeof(Int4FeedNarrowEncoder), typeof(Int4FeedNarrowDecoder))]
public partial class Int4FeedNarrow;

/// <summary>
/// Weights held as 4-bit integers with a scale per group for inference (<see cref="ParameterSet.HoldWeightsIn"/> with
/// <see cref="Precision.Int4"/>): the quantization is ONNX Runtime's block-wise symmetric rule, the products and gathers that
/// widen them compute what the floats they stand for give (the very bits where the product packs them), and a weight whose rows
/// are not whole groups takes 8 bits instead. (Every model kind held in 4 bits against its dequantized twin:
/// <see cref="HalfPrecisionTests"/>; the export as bytes widened by the graph's nodes: <see cref="Onnx.OnnxHeldWeightsTests"/>.)
/// </summary>
public class Int4WeightsTests
{
    /// <summary>
    /// The rule worked by hand: a group's scale is its value of the largest magnitude over −8 (the minimum on a tie), each value
    /// round(w / scale + 8) half away from zero, clamped to [0, 15]; values i and i + 16 of a block share a byte (low, high); a
    /// group of zeros has scale 0 and every value 8; each stands for (q − 8) · scale.
    /// </summary>
    [Fact]
    public void QuantizationIsTheBlockwiseSymmetricRuleWorkedByHand()
    {
        float[] w = new float[96];
        // group 0: −4 and 4 tie, so the minimum: scale −4 / −8 = 0.5. −4 → 0; 4 → 16, clamped to 15; 0.25 → 8.5 → 9 and
        // −0.25 → 7.5 → 8 (halves away from zero); 1 → 10; −1.2 → 5.6 → 6; the zeros → 8
        w[0] = -4f; w[1] = 4f; w[2] = 0.25f; w[3] = -0.25f; w[16] = 1f; w[17] = -1.2f;
        // group 1: largest magnitude 3 (the minimum −2.5 is smaller): scale 3 / −8 = −0.375; 3 → −8 + 8 = 0; −2.5 → 6.67 + 8 → 15
        w[32] = 3f; w[33] = -2.5f; w[48] = 0.375f;
        // group 2: zeros
        var q = new byte[48];
        var scales = new float[3];
        Int4.Quantize(w, 32, q, scales);
        Assert.Equal([0.5f, -0.375f, 0f], scales);
        byte[] expected = Enumerable.Repeat((byte)0x88, 48).ToArray();
        expected[0] = 0 | 10 << 4;  // w[0], w[16]
        expected[1] = 15 | 6 << 4;  // w[1], w[17]
        expected[2] = 9 | 8 << 4;   // w[2], w[18]
        expected[3] = 8 | 8 << 4;   // w[3], w[19]
        expected[16] = 0 | 7 << 4;  // w[32], w[48]: 0.375 / −0.375 + 8 = 7
        expected[17] = 15 | 8 << 4; // w[33], w[49]
        Assert.Equal(expected, q);
        var back = new float[96];
        Int4.Dequantize(q, scales, 32, back);
        Assert.Equal(-4f, back[0]);
        Assert.Equal(3.5f, back[1]);
        Assert.Equal(0.5f, back[2]);
        Assert.Equal(0f, back[3]);
        Assert.Equal(1f, back[16]);
        Assert.Equal(-1f, back[17]);
        Assert.Equal(3f, back[32]);
        Assert.Equal(7 * -0.375f, back[33]);
        Assert.Equal(0.375f, back[48]);
        Assert.All(back.AsSpan(64).ToArray(), v => Assert.Equal(0f, v));
    }

    /// <summary>
    /// Quantizing then widening gives, value by value, the formula's floats: groups of 32 to 256, random values of every scale;
    /// the vector widening (16 bytes a block) and one value at a time agree; bad sizes and non-finite values are refused.
    /// </summary>
    [Fact]
    public void WideningGivesEachValueItsGroupsScaleTimesItsLevel()
    {
        var rng = new Rng(17);
        foreach (int group in new[] { 32, 64, 128, 256 })
        {
            float[] x = new float[4 * group];
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal() * (1 + i / group);
            var q = new byte[x.Length / 2];
            var scales = new float[4];
            Int4.Quantize(x, group, q, scales);
            var back = new float[x.Length];
            Int4.Dequantize(q, scales, group, back);
            for (int i = 0; i < x.Length; i++)
            {
                float scale = scales[i / group], inverse = 1f / scale;
                int level = (int)Math.Clamp(MathF.Round(x[i] * inverse + 8f, MidpointRounding.AwayFromZero), 0f, 15f);
                Assert.Equal((level - 8) * scale, back[i]);
                Assert.InRange(MathF.Abs(back[i] - x[i]), 0f, MathF.Abs(scale) * 0.5001f + 1e-6f + (level is 15 ? MathF.Abs(scale) : 0f));
            }
        }
        Assert.Throws<ArgumentException>(() => Int4.Quantize(new float[48], 32, new byte[24], new float[2]));   // not whole groups
        Assert.Throws<ArgumentException>(() => Int4.Quantize(new float[64], 16, new byte[32], new float[4]));   // a group of 16
        Assert.Throws<ArgumentException>(() => Int4.Quantize(new float[64], 32, new byte[31], new float[2]));   // too few bytes
        Assert.Throws<ArgumentException>(() => Int4.Dequantize(new byte[32], new float[1], 32, new float[64])); // too few scales
        Assert.Throws<ArgumentException>(() => Weights.FromInt4(new byte[32], new float[3], 32));
        float[] nan = new float[32];
        nan[7] = float.NaN;
        byte[] untouched = Enumerable.Repeat((byte)1, 16).ToArray();
        Assert.Throws<ArgumentException>(() => Int4.Quantize(nan, 32, untouched, new float[1]));
        Assert.All(untouched, b => Assert.Equal(1, b));
    }

    public static TheoryData<string> Paths() => GemmTests.Paths();

    /// <summary>
    /// x · Wᵀ with W held in 4 bits, on every path, for every kind of product the runtime makes of it — one row, a few rows as
    /// dot products (four columns at a time, the last columns one at a time, k past its last whole block), many rows blocked —
    /// with and without a bias, accumulating, split over the cores: the reference's products of the floats the values stand
    /// for, and where the product is blocked the very bits of those floats packed.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void ProductsAgainstInt4WeightsMatchTheirDequantizedFloats(string pathName)
    {
        GemmPath path = GemmPath.All.Single(p => p.Name == pathName);
        var rng = new Rng(23);
        foreach (int group in new[] { 32, 128 })
            foreach ((int m, int n, int k) in new[] { (1, 7, 32), (1, 9, 200), (2, 5, 64), (3, 13, 96), (4, 8, 256), (5, 4, 33), (16, 6, 160), (31, 9, 128), (33, 17, 64), (70, 37, 100), (1, 3, 5), (1, 600, 256), (8, 300, 512), (0, 4, 32), (3, 0, 32) })
            {
                int ld = (Math.Max(k, 1) + group - 1) / group * group; // rows of whole groups, k of them read
                float[] w = new float[Math.Max(n, 1) * ld];
                for (int i = 0; i < w.Length; i++) w[i] = rng.NextNormal();
                var q = new byte[w.Length / 2];
                var scales = new float[w.Length / group];
                Int4.Quantize(w, group, q, scales);
                float[] wide = new float[w.Length];
                Int4.Dequantize(q, scales, group, wide);
                float[] a = new float[Math.Max(m, 1) * k], bias = new float[n];
                for (int i = 0; i < a.Length; i++) a[i] = rng.NextNormal();
                for (int i = 0; i < n; i++) bias[i] = rng.NextNormal();
                bool blocked = m > 2 && !Gemm.ManyRowsTakeDotProducts(path, m, k);
                string what = $"{path} int4 groups of {group} {m}x{n}x{k}";
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] expected = new float[m * n], actual = new float[m * n];
                    for (int i = 0; i < expected.Length; i++) expected[i] = actual[i] = i % 5;
                    float[] same = (float[])actual.Clone();
                    GemmReference.MatMul(false, true, m, n, k, a, k, wide, ld, expected, n, accumulate);
                    Gemm.MatMulTransB(path, m, n, k, a, k, Weights.FromInt4(q, scales, group), ld, actual, n, accumulate);
                    Tolerance.AssertClose(expected, actual, what);
                    if (blocked)
                    {
                        Gemm.MatMulTransB(path, m, n, k, a, k, wide, ld, same, n, accumulate, direct: false);
                        Assert.Equal(same.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
                    }
                }
                float[] withBias = new float[m * n], reference = new float[m * n];
                for (int i = 0; i < m; i++) bias.CopyTo(reference.AsSpan(i * n));
                GemmReference.MatMul(false, true, m, n, k, a, k, wide, ld, reference, n, accumulate: true);
                Gemm.MatMulTransB(path, m, n, k, a, k, Weights.FromInt4(q, scales, group), ld, bias, withBias, n);
                Tolerance.AssertClose(reference, withBias, what + " + bias");
            }
    }

    /// <summary>
    /// Packed for many steps (a recurrent layer's W_hh), 4-bit weights pack as the floats they stand for, bit for bit; a slice
    /// on a group's edge (an expert's rows) reads as those rows; a slice within a group, and columns that do not start a group,
    /// are refused.
    /// </summary>
    [Fact]
    public void PackingAndSlicesReadTheFloatsTheyStandFor()
    {
        var rng = new Rng(29);
        const int rows = 96, row = 64;
        float[] w = new float[rows * row];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextNormal();
        var q = new byte[w.Length / 2];
        var scales = new float[w.Length / 32];
        Int4.Quantize(w, 32, q, scales);
        float[] wide = new float[w.Length];
        Int4.Dequantize(q, scales, 32, wide);
        Weights held = Weights.FromInt4(q, scales, 32);
        foreach (GemmPath path in GemmPath.All.Where(p => p.Supported))
        {
            float[] expected = new float[Gemm.PackedLength(path, row, rows)], actual = new float[expected.Length];
            Gemm.PackB(path, row, rows, wide, row, transposed: true, expected);
            Gemm.PackB(path, row, rows, held, row, transposed: true, actual);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }
        // rows 32 … 95 (a slice of whole groups) against a row of A
        float[] a = new float[row];
        for (int i = 0; i < row; i++) a[i] = rng.NextNormal();
        float[] c = new float[64], reference = new float[64];
        Gemm.MatMulTransB(1, 64, row, a, row, held.Slice(32 * row, 64 * row), row, c, 64, false);
        GemmReference.MatMul(false, true, 1, 64, row, a, row, wide.AsSpan(32 * row).ToArray(), row, reference, 64, false);
        Tolerance.AssertClose(reference, c, "a slice of rows");
        Assert.Throws<ArgumentOutOfRangeException>(() => Weights.FromInt4(q, scales, 32).Slice(16));
        Assert.Throws<ArgumentOutOfRangeException>(() => Weights.FromInt4(q, scales, 32).Slice(32, 48));
        var e = Assert.Throws<ArgumentException>(() => Gemm.MatMulTransB(1, 2, 20, new float[20], 20, Weights.FromInt4(q, scales, 32), 48, new float[2], 2, false));
        Assert.Contains("each column must start a group", e.Message);
    }

    /// <summary>A 4-bit table gathers its dequantized rows (then scaled), bit for bit; rows that are not whole groups are refused.</summary>
    [Fact]
    public void AGatherFromAnInt4TableGivesItsDequantizedRows()
    {
        var rng = new Rng(31);
        const int rows = 40, width = 96;
        float[] table = new float[rows * width];
        for (int i = 0; i < table.Length; i++) table[i] = rng.NextNormal();
        var q = new byte[table.Length / 2];
        var scales = new float[table.Length / 32];
        Int4.Quantize(table, 32, q, scales);
        float[] wide = new float[table.Length];
        Int4.Dequantize(q, scales, 32, wide);
        int[] ids = [3, 0, 39, 3, 17];
        foreach (float scale in new[] { 1f, 2.5f })
        {
            float[] expected = new float[ids.Length * width], actual = new float[ids.Length * width];
            Layout.GatherRows(wide, ids, width, expected, scale);
            Layout.GatherRows(Weights.FromInt4(q, scales, 32), ids, width, actual, scale);
            Assert.Equal(expected, actual);
        }
        var e = Assert.Throws<ArgumentException>(() => Layout.GatherRows(Weights.FromInt4(q, scales, 32), [1], 48, new float[48]));
        Assert.Contains("rows of whole groups", e.Message);
    }

    /// <summary>
    /// Held in 4 bits, a model's weights whose rows are whole groups take an eighth of their bytes and a scale a group, the others
    /// 8 bits; the parameter reads back the floats its values stand for, is assigned through CopyFrom (quantized anew), holds
    /// again in other groups through those floats, and widens back to float32; a group size other than 32–256 and a weight that
    /// is not finite are refused before anything changes.
    /// </summary>
    [Fact]
    public void HeldInInt4WholeGroupsTakeFourBitsAndOtherRowsEight()
    {
        var model = new Int4Gpt(seed: 1);
        float[][] before = model.Parameters.Select(p => p.ToArray()).ToArray();
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 48));
        Assert.All(model.Parameters, p => Assert.Equal(Precision.Float32, p.Precision));

        long held = model.Parameters.HoldWeightsIn(Precision.Int4);
        Assert.Equal(model.Parameters.Where(p => p.HoldsOnlyWeights).Sum(p => (long)p.Length), held);
        Assert.Contains(model.Parameters, p => p.Precision == Precision.Int4);
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            Parameter p = model.Parameters[i];
            Precision expected = !p.HoldsOnlyWeights ? Precision.Float32 : p.RowLength % 32 == 0 ? Precision.Int4 : Precision.Int8;
            Assert.Equal(expected, p.Precision);
            if (expected != Precision.Int4) continue;
            Assert.Equal(32, p.GroupSize);
            Assert.Equal(p.Length / 2, p.Weights.Int4Values.Length);
            float[] stand = new float[p.Length];
            HeldValues.Of(Precision.Int4, before[i], p.RowLength, 32).CopyTo(stand);
            Assert.Equal(stand, p.ToArray());
            Assert.Contains("is held in 4-bit integers", Assert.Throws<InvalidOperationException>(() => p.AsSpan()).Message);
            p.CopyFrom(before[i]);
            Assert.Equal(stand, p.ToArray());
            float[] infinite = (float[])before[i].Clone();
            infinite[1] = float.NegativeInfinity;
            Assert.Contains("held in 4-bit integers", Assert.Throws<ArgumentException>(() => p.CopyFrom(infinite)).Message);
            Assert.Equal(stand, p.ToArray());
        }

        // groups of 64: through the floats the 4-bit values stand for
        Parameter some = model.Parameters.First(p => p.Precision == Precision.Int4 && p.RowLength % 64 == 0);
        float[] now = some.ToArray();
        model.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 64);
        Assert.Equal(64, some.GroupSize);
        float[] again = new float[now.Length];
        HeldValues.Of(Precision.Int4, now, some.RowLength, 64).CopyTo(again);
        Assert.Equal(again, some.ToArray());
        model.Parameters.HoldWeightsIn(Precision.Float32);
        Assert.Equal(again, some.AsSpan().ToArray());

        var nan = new Int4Gpt(seed: 1);
        nan.Parameters["dense.weight"].AsSpan()[3] = float.NaN;
        Assert.Contains("'dense.weight' holds a value that is not finite", Assert.Throws<ArgumentException>(() => nan.Parameters.HoldWeightsIn(Precision.Int4)).Message);
        Assert.All(nan.Parameters, p => Assert.Equal(Precision.Float32, p.Precision));
    }

    /// <summary>
    /// Held in 4 bits, a Transformer and an LSTM (its W_ih and W_hh among the 4-bit weights, its last layer's rows of 40 in 8
    /// bits) give the outputs of their twins whose weights are the floats the held values stand for: a sequence forward, and
    /// steps at batch 1 and 2 (one- and two-row products reading the 4-bit matrices in place, a sequence packing W_hh widened).
    /// </summary>
    [Fact]
    public void ModelsHeldInInt4ComputeAsTheirDequantizedTwins()
    {
        var rng = new Rng(37);
        var twinGpt = new Int4Gpt(seed: 3);
        var heldGpt = new Int4Gpt(seed: 3);
        HalfPrecisionTests.Widen(twinGpt.Parameters, Precision.Int4);
        heldGpt.Parameters.HoldWeightsIn(Precision.Int4);
        Assert.Equal(Precision.Int4, heldGpt.Parameters["dense.weight"].Precision);
        Assert.Equal(Precision.Int8, heldGpt.Parameters["dense_3.weight"].Precision);
        HalfPrecisionTests.StepsAsTwin<int>(twinGpt, heldGpt, n => Enumerable.Range(0, n).Select(_ => rng.NextInt(40)).ToArray(), [], nameof(Int4Gpt));
        var tokens = Tensor.Create(Enumerable.Range(0, 3 * 40).Select(_ => rng.NextInt(40)).ToArray(), [3, 40]);
        Tolerance.AssertClose(DeviceModelTests.Flat(twinGpt.Forward(tokens)), DeviceModelTests.Flat(heldGpt.Forward(tokens)), "a batch of 3 × 40 (products of 120 rows: blocked)");

        var twinLstm = new Int4Lstm(seed: 3);
        var heldLstm = new Int4Lstm(seed: 3);
        HalfPrecisionTests.Widen(twinLstm.Parameters, Precision.Int4);
        heldLstm.Parameters.HoldWeightsIn(Precision.Int4);
        Assert.Equal(Precision.Int4, heldLstm.Parameters["lstm.weight_hh_l0"].Precision);
        HalfPrecisionTests.StepsAsTwin<float>(twinLstm, heldLstm, n => Enumerable.Range(0, n * 32).Select(_ => rng.NextNormal()).ToArray(), [32], nameof(Int4Lstm));
    }

    /// <summary>
    /// Held in 4 bits, a Cho GRU (its W_hn a slice of W_hh's rows) and a mixture of experts (each expert's rows a slice) step as
    /// their dequantized twins at batch 1 and 2 and run a sequence as them; a stacked bidirectional LSTM with a projection (W_hr)
    /// runs sequences as its twin.
    /// </summary>
    [Theory]
    [InlineData(nameof(Int4GruCho))]
    [InlineData(nameof(Int4LstmProjection))]
    [InlineData(nameof(Int4Moe))]
    public void RecurrentLayersAndExpertsHeldInInt4StepAsTheirTwins(string name)
    {
        IModel Create() => name switch
        {
            nameof(Int4GruCho) => new Int4GruCho(seed: 7),
            nameof(Int4LstmProjection) => new Int4LstmProjection(seed: 7),
            _ => new Int4Moe(seed: 7),
        };
        IModel twin = Create(), held = Create();
        HalfPrecisionTests.Widen(twin.Parameters, Precision.Int4);
        held.Parameters.HoldWeightsIn(Precision.Int4);
        string[] matrices = name switch
        {
            nameof(Int4GruCho) => ["gru.weight_ih_l0", "gru.weight_hh_l0"],
            nameof(Int4LstmProjection) => ["lstm.weight_ih_l1", "lstm.weight_hh_l0_reverse", "lstm.weight_hr_l1"],
            _ => ["moe.router", "moe.weight_in", "moe.weight_out"],
        };
        Assert.All(matrices, m => Assert.Equal(Precision.Int4, held.Parameters[m].Precision));
        var rng = new Rng(41);
        if (twin is IModel<int> tokens)
        {
            // (bidirectional: the whole sequence, a batch of 2 and of 1)
            foreach (int batch in new[] { 2, 1 })
            {
                var x = Tensor.Create(Enumerable.Range(0, batch * 9).Select(_ => rng.NextInt(40)).ToArray(), [batch, 9]);
                Tolerance.AssertClose(DeviceModelTests.Flat(tokens.Forward(x)), DeviceModelTests.Flat(((IModel<int>)held).Forward(x)), $"{name} batch {batch}");
            }
        }
        else HalfPrecisionTests.StepsAsTwin((IModel<float>)twin, (IModel<float>)held, n => Enumerable.Range(0, n * 32).Select(_ => rng.NextNormal()).ToArray(), [32], name);
    }

    /// <summary>
    /// Input feeding reads its W_ih from the input's width on: the generated code says so (<see cref="Parameter.ReadFromColumn"/>),
    /// and a weight whose groups would span that column is held in 8 bits — at 48 columns in groups of 32, or at 32 in groups of 64 —,
    /// where it would not, in 4 bits; either way the encoder–decoder decodes as its dequantized twin.
    /// </summary>
    [Fact]
    public void InputFeedingsWeightIsHeldInFourBitsOnlyWhereNoGroupSpansItsCut()
    {
        Assert.Equal(32, new Int4Feed(seed: 1).Parameters["decoder.gru.weight_ih_l0"].ReadFromColumn);
        Assert.Equal(48, new Int4FeedNarrow(seed: 1).Parameters["decoder.gru.weight_ih_l0"].ReadFromColumn);
        Assert.Equal(0, new Int4Feed(seed: 1).Parameters["decoder.gru.weight_hh_l0"].ReadFromColumn);

        var held = new Int4Feed(seed: 4);
        HalfPrecisionTests.Decodes(new Int4Feed(seed: 4), held, Precision.Int4);
        Assert.Equal(Precision.Int4, held.Parameters["decoder.gru.weight_ih_l0"].Precision);
        var narrow = new Int4FeedNarrow(seed: 4);
        HalfPrecisionTests.Decodes(new Int4FeedNarrow(seed: 4), narrow, Precision.Int4);
        Assert.Equal(Precision.Int8, narrow.Parameters["decoder.gru.weight_ih_l0"].Precision);
        var wide = new Int4Feed(seed: 4);
        wide.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 64);
        Assert.Equal(Precision.Int8, wide.Parameters["decoder.gru.weight_ih_l0"].Precision);
        Assert.Equal(Precision.Int4, wide.Parameters["decoder.gru.weight_hh_l0"].Precision);
    }
}
