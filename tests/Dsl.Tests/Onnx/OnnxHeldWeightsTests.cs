using Dsl.Tests.Models;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Dsl.Tests.Onnx;

/// <summary>
/// A model whose weights are held in bfloat16 or 8 bits (<see cref="ParameterSet.HoldWeightsIn"/>) exports them as held: a
/// bfloat16 initializer widened by <c>Cast</c>, or 8-bit values with a float scale per output channel widened by
/// <c>DequantizeLinear</c>. Every exportable model so held, against its twin holding the same values widened in float32:
/// each float its twin exports for a held weight is a bfloat16 or 8-bit value in the graph (and nothing else changed), and
/// ONNX Runtime computes what the twin's graph computes, bit for bit, and what the held model's <c>Forward</c> gives.
/// </summary>
/// <remarks>
/// ONNX Runtime's default optimizations fuse an 8-bit weight's DequantizeLinear and the MatMul reading it into its own
/// <c>MatMulNBits</c>, which by default (<c>session.qdq_matmulnbits_accuracy_level</c> 4) also rounds the activations to 8
/// bits: the tests that compare with the model's outputs widen the weights once as the session loads the graph
/// (<c>session.disable_quant_qdq</c>: <see cref="Widening"/>); <see cref="OnnxRuntimesOwnProductsOfHeldWeights"/> checks the others.
/// </remarks>
public class OnnxHeldWeightsTests
{
    public static TheoryData<string, Precision> Held
    {
        get
        {
            var data = new TheoryData<string, Precision>();
            foreach (string name in OnnxExportTests.Exportable)
            {
                data.Add(name, Precision.BFloat16);
                data.Add(name, Precision.Int8);
            }
            return data;
        }
    }

    /// <summary><paramref name="name"/> perturbed and held in <paramref name="precision"/>, and its twin: the same model holding those values widened.</summary>
    private static (IModel Held, IModel Twin) Twins(string name, Precision precision)
    {
        IModel held = OnnxExportTests.Perturbed(OnnxExportTests.Create(name));
        IModel twin = OnnxExportTests.Perturbed(OnnxExportTests.Create(name));
        held.Parameters.HoldWeightsIn(precision);
        foreach (Parameter p in held.Parameters) twin.Parameters[p.Name].CopyFrom(p.ToArray());
        return (held, twin);
    }

    /// <summary>Session options under which ONNX Runtime widens the 8-bit weights once, as it loads the graph (its constant folding).</summary>
    internal static SessionOptions Widening()
    {
        var options = new SessionOptions();
        options.AddSessionConfigEntry("session.disable_quant_qdq", "1");
        return options;
    }

    /// <summary>How many values of each element type the graph's initializers hold (ONNX's TensorProto.DataType: 1 float, 3 int8, 16 bfloat16).</summary>
    private static Dictionary<int, long> ValuesByType(byte[] graph) =>
        OnnxExternalDataTests.Tensors(graph).GroupBy(t => t.Type).ToDictionary(g => g.Key, g => g.Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d)));

    [Theory]
    [MemberData(nameof(Held))]
    public void AHeldModelExportsItsWeightsAsHeldAndComputesAsItsWidenedTwin(string name, Precision precision)
    {
        var (held, twin) = Twins(name, precision);
        long heldValues = held.Parameters.Where(p => p.Precision == precision).Sum(p => (long)p.Length);
        Assert.True(heldValues > 0, $"{name} holds no weight in {precision}");
        byte[] heldGraph = held.ToOnnx(), twinGraph = twin.ToOnnx();

        // every float the twin writes for a held weight is one held value here (a weight written twice, twice); the 8-bit
        // weights add their scales (floats) and zero points (8 bits, one a scale); nothing else changes
        Dictionary<int, long> mine = ValuesByType(heldGraph), theirs = ValuesByType(twinGraph);
        long Count(Dictionary<int, long> counts, int type) => counts.GetValueOrDefault(type);
        if (precision == Precision.BFloat16)
        {
            Assert.Equal(Count(theirs, 1), Count(mine, 1) + Count(mine, 16));
            Assert.InRange(Count(mine, 16), heldValues, long.MaxValue);
            Assert.Equal(Count(theirs, 3), Count(mine, 3));
        }
        else
        {
            long scales = OnnxExternalDataTests.Tensors(heldGraph).Where(t => t.Type == 1 && t.Name.EndsWith(".scale", StringComparison.Ordinal)).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
            long int8 = Count(mine, 3) - scales; // less the zero points
            Assert.Equal(Count(theirs, 1), Count(mine, 1) - scales + int8);
            Assert.InRange(int8, heldValues, long.MaxValue);
            Assert.Equal(0, Count(mine, 16));
        }
        // the file: (4 − 2) or (4 − 1) bytes less a held value, each held tensor's node, names and scales more
        int bytes = precision == Precision.Int8 ? 1 : 2;
        long tensors = OnnxExternalDataTests.Tensors(heldGraph).Count(t => t.Type == (precision == Precision.Int8 ? 3 : 16)) / (precision == Precision.Int8 ? 2 : 1);
        long saved = (4 - bytes) * Count(mine, precision == Precision.Int8 ? 3 : 16);
        Assert.InRange(heldGraph.Length, 1, twinGraph.Length - saved + 5 * Count(mine, 3) + 320 * tensors);

        using var options = Widening();
        using var heldSession = new InferenceSession(heldGraph, options);
        using var twinSession = new InferenceSession(twinGraph);
        foreach (var (batch, steps) in new[] { (2, 5), (3, 1) })
        {
            string what = $"{name} in {precision} [{batch}, {steps}]";
            List<NamedOnnxValue> inputs = OnnxExportTests.Inputs(held, batch, steps, lengths: null, padding: null, out float[] expected);
            float[] actual = OnnxExportTests.Output(heldSession, inputs);
            Assert.Equal(OnnxExportTests.Output(twinSession, inputs), actual);
            Tolerance.AssertClose(expected, actual, what);
        }
    }

    /// <summary>
    /// ONNX Runtime's own ways with 8-bit weights: by default it keeps DequantizeLinear and fuses it with the MatMul after it
    /// into <c>MatMulNBits</c>, which rounds the activations to 8 bits too (its accuracy level 4: within 2 % of the largest
    /// output here); at accuracy level 0 that product computes in float32, as the model does (within 1e-4); a recurrent
    /// operator's weights are widened at each run.
    /// </summary>
    [Theory]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(LstmStackedBidirectional))]
    [InlineData(nameof(HfTinyMixtral))]
    public void OnnxRuntimesOwnProductsOfHeldWeights(string name)
    {
        var (held, _) = Twins(name, Precision.Int8);
        byte[] graph = held.ToOnnx();
        List<NamedOnnxValue> inputs = OnnxExportTests.Inputs(held, 2, 5, lengths: null, padding: null, out float[] expected);
        using var floats = new SessionOptions();
        floats.AddSessionConfigEntry("session.qdq_matmulnbits_accuracy_level", "0");
        using (var session = new InferenceSession(graph, floats))
            Tolerance.AssertClose(expected, OnnxExportTests.Output(session, inputs), $"{name}, accuracy level 0");
        using (var session = new InferenceSession(graph))
            Tolerance.AssertClose(expected, OnnxExportTests.Output(session, inputs), $"{name}, ONNX Runtime's defaults", rtol: 2e-2f, scaleFraction: 1f);
    }

    [Theory]
    [InlineData(nameof(Dsl.Tests.Models.Lstm), Precision.Int8)]
    [InlineData(nameof(StatefulLstmProjection), Precision.Int8)] // the Loop's body reads held weights of the graph around it
    [InlineData(nameof(TinyGpt), Precision.Int8)]
    [InlineData(nameof(TinyGpt), Precision.BFloat16)]
    [InlineData(nameof(HfTinyMixtral), Precision.Int8)]
    [InlineData(nameof(LstmTied), Precision.Int8)] // the output layer transposes the widened table
    public void AHeldModelsStepGraphStepsAsItsStep(string name, Precision precision)
    {
        var (held, _) = Twins(name, precision);
        byte[] graph = held.ToOnnxStep();
        long heldValues = held.Parameters.Where(p => p.Precision == precision).Sum(p => (long)p.Length);
        int type = precision == Precision.Int8 ? 3 : 16;
        long written = OnnxExternalDataTests.Tensors(graph).Where(t => t.Type == type && !t.Name.EndsWith(".zero_point", StringComparison.Ordinal)).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
        Assert.InRange(written, heldValues, long.MaxValue); // every held weight written as held
        using var options = Widening();
        using var session = new InferenceSession(graph, options);
        OnnxExportTests.AssertStepsAsStep(held, session, $"{name} in {precision}");
    }

    [Theory]
    [InlineData(nameof(Seq2SeqMultiHead), Precision.Int8)] // packed in_proj rows cut for q, k and v
    [InlineData(nameof(Seq2SeqFeedGeneral), Precision.Int8)]
    [InlineData(nameof(TransformerSeq2Seq), Precision.BFloat16)]
    [InlineData(nameof(HfTinyT5Seq2Seq), Precision.Int8)]
    [InlineData(nameof(Seq2SeqShared), Precision.Int8)]
    public void AHeldEncoderDecoderDecodesInOnnxRuntimeAsItsGreedySearch(string name, Precision precision)
    {
        OnnxExportTests.Composition composition = OnnxExportTests.Compose(name, perturbed: true, held: precision);
        Assert.Contains(OnnxExternalDataTests.Tensors(composition.DecoderStep), t => t.Type == (precision == Precision.Int8 ? 3 : 16));
        using var options = Widening();
        using var encoderSession = new InferenceSession(composition.Encoder, options);
        using var decoderSession = new InferenceSession(composition.DecoderStep, options);
        OnnxExportTests.AssertDecodesAsGreedy(composition, encoderSession, decoderSession, $"{name} in {precision}");
    }

    /// <summary>
    /// Held in 4 bits, a Transformer (its matrices read as Wᵀ, its table gathered) and an LSTM (ONNX's LSTM operator reading its
    /// W and R, gates reordered) export each 4-bit weight as its bytes (uint8, half a byte a value) and a scale a group, widened
    /// by the graph's own nodes: ONNX Runtime computes what the twin holding the widened floats computes, bit for bit, and what
    /// the held model's Forward gives; the step graph steps as the model steps. The file is about an eighth of the twin's
    /// for the 4-bit weights.
    /// </summary>
    [Theory]
    [InlineData(nameof(Dsl.Tests.Runtime.Int4Gpt))]
    [InlineData(nameof(Dsl.Tests.Runtime.Int4Lstm))]
    public void AModelHeldInInt4ExportsItsNibblesAndComputesAsItsWidenedTwin(string name)
    {
        IModel Create() => name == nameof(Dsl.Tests.Runtime.Int4Gpt) ? new Dsl.Tests.Runtime.Int4Gpt(seed: 5) : new Dsl.Tests.Runtime.Int4Lstm(seed: 5);
        IModel held = Create(), twin = Create();
        held.Parameters.HoldWeightsIn(Precision.Int4);
        foreach (Parameter p in held.Parameters) twin.Parameters[p.Name].CopyFrom(p.ToArray());
        long fourBit = held.Parameters.Where(p => p.Precision == Precision.Int4).Sum(p => (long)p.Length);
        Assert.True(fourBit > 0);
        byte[] heldGraph = held.ToOnnx(), twinGraph = twin.ToOnnx();
        var tensors = OnnxExternalDataTests.Tensors(heldGraph).ToList();
        long nibbles = tensors.Where(t => t.Type == 2 && t.Name.EndsWith(".int4", StringComparison.Ordinal)).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
        Assert.InRange(nibbles, fourBit / 2, long.MaxValue); // every 4-bit weight written as its bytes
        Assert.InRange(heldGraph.Length, 1, twinGraph.Length - 3 * fourBit + 64 * 1024);

        // (the last layer's rows of 40 are held in 8 bits: ONNX Runtime widens them once, as Widening says)
        using var options = Widening();
        using var heldSession = new InferenceSession(heldGraph, options);
        using var twinSession = new InferenceSession(twinGraph);
        foreach (var (batch, steps) in new[] { (2, 5), (3, 1) })
        {
            List<NamedOnnxValue> inputs = OnnxExportTests.Inputs(held, batch, steps, lengths: null, padding: null, out float[] expected);
            float[] actual = OnnxExportTests.Output(heldSession, inputs);
            Assert.Equal(OnnxExportTests.Output(twinSession, inputs), actual);
            Tolerance.AssertClose(expected, actual, $"{name} in 4 bits [{batch}, {steps}]");
        }
        using var stepSession = new InferenceSession(held.ToOnnxStep(), options);
        OnnxExportTests.AssertStepsAsStep(held, stepSession, $"{name} in 4 bits");
    }
}
