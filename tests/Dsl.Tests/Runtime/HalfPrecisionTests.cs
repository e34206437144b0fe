using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Dsl.Kernels;
using Dsl.Tests.Gpu;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Weights held in bfloat16 for inference (<see cref="ParameterSet.HoldWeightsIn"/>): the rounding is PyTorch's, the kernels that
/// widen them give the bits of the widened floats, every model kind (held in bfloat16 and in 8 bits: <see cref="Int8WeightsTests"/>)
/// runs forward as the same model with its weights widened in float32, its floats are let go, and training refuses before anything changes.
/// </summary>
public class HalfPrecisionTests
{
    /// <summary>float32 bits and the bfloat16 bits PyTorch 1.13 rounds them to (Fixtures/bfloat16_rounding.py printed them).</summary>
    private static readonly (uint Float, ushort BFloat16)[] PyTorchRounding =
    [
        (0x3F800000, 0x3F80), (0x3F808000, 0x3F80), (0x3F80C000, 0x3F81), (0x3F818000, 0x3F82), (0x8002B8E6, 0x8003),
        (0x7F7FFFFF, 0x7F80), (0xFF7F0906, 0xFF7F), (0x7F800000, 0x7F80), (0xFF800000, 0xFF80), (0x00000001, 0x0000),
        (0x3DCCCCCD, 0x3DCD), (0xBDCCCCCD, 0xBDCD), (0x477FE000, 0x4780), (0x40490FDB, 0x4049), (0x80000000, 0x8000),
        (0x00800000, 0x0080), (0x7F7F0000, 0x7F7F), (0x7F7F8000, 0x7F80),
    ];

    [Fact]
    public void RoundingIsPyTorchsToNearestTiesToEvenAndWideningIsExact()
    {
        foreach (var (f, expected) in PyTorchRounding)
        {
            float value = BitConverter.UInt32BitsToSingle(f);
            Assert.Equal(expected, BFloat16.FromFloat(value));
            Assert.Equal(BitConverter.UInt32BitsToSingle((uint)expected << 16), BFloat16.ToFloat(expected));
        }
        // NaN stays NaN (PyTorch's vectorised conversion writes 0xFFFF, its scalar one 0x7FC0: both NaN), never infinity
        foreach (uint nan in new uint[] { 0x7FC00000, 0x7F800001, 0xFFFFFFFF, 0x7F80FFFF })
            Assert.True(float.IsNaN(BFloat16.ToFloat(BFloat16.FromFloat(BitConverter.UInt32BitsToSingle(nan)))), $"0x{nan:X8}");

        // the vector loops give the scalar's bits at every length and offset (the tails included), a NaN among them too
        var rng = new Rng(7);
        for (int length = 0; length <= 70; length++)
        {
            float[] x = new float[length];
            for (int i = 0; i < length; i++) x[i] = rng.NextNormal() * MathF.Pow(2, i % 40 - 20);
            if (length > 9) x[9] = float.NaN;
            ushort[] bits = new ushort[length];
            BFloat16.FromFloat(x, bits);
            float[] back = new float[length];
            BFloat16.ToFloat(bits, back);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(BFloat16.FromFloat(x[i]), bits[i]);
                Assert.Equal(BitConverter.SingleToInt32Bits(BFloat16.ToFloat(bits[i])), BitConverter.SingleToInt32Bits(back[i]));
            }
        }
        Assert.Throws<ArgumentException>(() => BFloat16.FromFloat(new float[5], new ushort[4]));
        Assert.Throws<ArgumentException>(() => BFloat16.ToFloat(new ushort[5], new float[4]));
    }

    [Fact]
    public void AGatherFromABFloat16TableWidensItsRowsAndScalesThem()
    {
        var rng = new Rng(3);
        const int rows = 40, width = 37;
        float[] table = new float[rows * width];
        for (int i = 0; i < table.Length; i++) table[i] = rng.NextNormal();
        ushort[] bits = new ushort[table.Length];
        BFloat16.FromFloat(table, bits);
        float[] wide = new float[table.Length];
        BFloat16.ToFloat(bits, wide);
        int[] ids = [3, 0, 39, 3, 17];
        foreach (float scale in new[] { 1f, 2.5f })
        {
            float[] expected = new float[ids.Length * width], actual = new float[ids.Length * width];
            Layout.GatherRows(wide, ids, width, expected, scale);
            Layout.GatherRows(Weights.FromBFloat16(bits), ids, width, actual, scale);
            Assert.Equal(expected, actual);
        }
        // an index past the table is refused, naming it, as for floats
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Layout.GatherRows(Weights.FromBFloat16(bits), [40], width, new float[width]));
        Assert.Contains("the table has 40 rows", e.Message);
    }

    private const int B = DeviceModelTests.B, T = DeviceModelTests.T;
    private static readonly int[] Lengths = DeviceModelTests.Lengths;

    /// <summary>Every model kind the device tests run (recurrent, attention of every score, mixtures, norms, the Hugging Face families), held in bfloat16 and in 8 bits.</summary>
    public static TheoryData<string, Precision> Models()
    {
        var data = new TheoryData<string, Precision>();
        foreach (Precision precision in new[] { Precision.BFloat16, Precision.Int8, Precision.Int4 })
            foreach (string name in DeviceModelTests.Models) data.Add(name, precision);
        return data;
    }

    /// <summary>
    /// Held in bfloat16 or 8-bit integers, a model gives the outputs of the same model whose weights are the floats those stand
    /// for (rounded, or quantized and scaled back) — forward, padded, from a carried state and step by step — within the sums'
    /// reordering (the held products take the blocked path, never the small products read in place); training is refused
    /// before anything changes; and widened back, it is that model.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void AModelHeldInLessComputesAsItsWeightsWidenedInFloat32(string name, Precision precision)
    {
        IModel rounded = DeviceModelTests.Create(name), held = DeviceModelTests.Create(name);
        Assert.Equal(Widen(rounded.Parameters, precision), held.Parameters.HoldWeightsIn(precision));
        foreach (Parameter p in held.Parameters)
            Assert.Equal(p.HoldsOnlyWeights ? HeldAs(p, precision) : Precision.Float32, p.Precision);

        if (rounded is IModel<int>) Compare((IModel<int>)rounded, (IModel<int>)held, DeviceModelTests.Tokens(rounded.InputWidth), name);
        else Compare((IModel<float>)rounded, (IModel<float>)held, DeviceModelTests.Features(rounded.InputWidth), name);

        // widened back, exactly the rounded model's values, and it trains again
        held.Parameters.HoldWeightsIn(Precision.Float32);
        for (int i = 0; i < held.Parameters.Count; i++)
        {
            Assert.Equal(Precision.Float32, held.Parameters[i].Precision);
            Assert.Equal(rounded.Parameters[i].ToArray(), held.Parameters[i].ToArray());
        }
    }

    /// <summary>
    /// A recurrent model held in bfloat16 or 8 bits steps as its widened twin at batch 1 and 2 (the one- and two-row products
    /// read W_hh, the projection's W_hr and a Cho GRU's W_hn slice as they are held) and runs a batch-1 sequence as it (W_hh
    /// widened as it is packed for the steps).
    /// </summary>
    [Theory]
    [InlineData(nameof(StatefulLstm), Precision.Int8)]
    [InlineData(nameof(StatefulLstmProjection), Precision.Int8)]
    [InlineData(nameof(StatefulLstmProjection), Precision.BFloat16)]
    [InlineData(nameof(StatefulGruCho), Precision.Int8)]
    [InlineData(nameof(StatefulGruCho), Precision.BFloat16)]
    public void ARecurrentModelHeldInLessStepsAsItsWidenedTwinOneAndTwoRowsAtATime(string name, Precision precision)
    {
        IModel twin = DeviceModelTests.Create(name), held = DeviceModelTests.Create(name);
        Widen(twin.Parameters, precision);
        held.Parameters.HoldWeightsIn(precision);
        Assert.All(held.Parameters.Where(p => p.Name.Contains("weight_hh", StringComparison.Ordinal) || p.Name.Contains("weight_hr", StringComparison.Ordinal)),
            p => Assert.Equal(precision, p.Precision));
        var rng = new Rng(5);
        int width = twin.InputWidth;
        if (twin is IModel<int> tokens)
            StepsAsTwin(tokens, (IModel<int>)held, n => Enumerable.Range(0, n).Select(_ => rng.NextInt(width)).ToArray(), [], name);
        else StepsAsTwin((IModel<float>)twin, (IModel<float>)held, n => Enumerable.Range(0, n * width).Select(_ => rng.NextNormal()).ToArray(), [width], name);
    }

    internal static void StepsAsTwin<TIn>(IModel<TIn> twin, IModel<TIn> held, Func<int, TIn[]> inputs, nint[] width, string name)
    {
        foreach (int batch in new[] { 1, 2 })
        {
            IModelState ts = twin.CreateState(batch), hs = held.CreateState(batch);
            for (int s = 0; s < 4; s++)
            {
                Tensor<TIn> x = Tensor.Create(inputs(batch), [batch, .. width]);
                AssertClose(twin.Step(x, ts), held.Step(x, hs), $"{name} batch {batch} step {s}");
            }
        }
        Tensor<TIn> sequence = Tensor.Create(inputs(9), [1, 9, .. width]);
        AssertClose(twin.Forward(sequence), held.Forward(sequence), $"{name} a sequence of batch 1");
    }

    /// <summary>
    /// An encoder–decoder held in bfloat16 or 8 bits (its recurrent layers' matrices among the weights, input feeding reading the
    /// fed context's columns of W_ih from within its rows, a table both sides share) gives its widened twin's logits, its greedy
    /// tokens and its best beam, and refuses to train.
    /// </summary>
    [Theory]
    [InlineData(nameof(Seq2SeqFeedAdditive), Precision.BFloat16)]
    [InlineData(nameof(Seq2SeqFeedAdditive), Precision.Int8)]
    [InlineData(nameof(Seq2SeqFeedGeneral), Precision.Int8)]
    [InlineData(nameof(Seq2SeqFeedDotFreeRunning), Precision.BFloat16)]
    [InlineData(nameof(Seq2SeqShared), Precision.Int8)]
    [InlineData(nameof(Seq2SeqMultiHead), Precision.Int8)]
    [InlineData(nameof(TransformerSeq2Seq), Precision.Int8)]
    public void AnEncoderDecoderHeldInLessDecodesAsItsWidenedTwin(string name, Precision precision)
    {
        switch (name)
        {
            case nameof(Seq2SeqFeedAdditive): Decodes(new Seq2SeqFeedAdditive(seed: 4), new Seq2SeqFeedAdditive(seed: 4), precision); break;
            case nameof(Seq2SeqFeedGeneral): Decodes(new Seq2SeqFeedGeneral(seed: 4), new Seq2SeqFeedGeneral(seed: 4), precision); break;
            case nameof(Seq2SeqFeedDotFreeRunning): Decodes(new Seq2SeqFeedDotFreeRunning(seed: 4), new Seq2SeqFeedDotFreeRunning(seed: 4), precision); break;
            case nameof(Seq2SeqShared): Decodes(new Seq2SeqShared(seed: 4), new Seq2SeqShared(seed: 4), precision); break;
            case nameof(Seq2SeqMultiHead): Decodes(new Seq2SeqMultiHead(seed: 4), new Seq2SeqMultiHead(seed: 4), precision); break;
            case nameof(TransformerSeq2Seq): Decodes(new TransformerSeq2Seq(seed: 4), new TransformerSeq2Seq(seed: 4), precision); break;
            default: throw new ArgumentException(name);
        }
    }

    internal static void Decodes<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> twin, EncoderDecoderModel<int, TEncoder, TDecoder> held, Precision precision)
        where TEncoder : IEncoder<int>
        where TDecoder : IModel<int>
    {
        Widen(twin.Parameters, precision);
        Assert.True(held.Parameters.HoldWeightsIn(precision) > 0);
        // the recurrent layers' matrices are held with the rest
        Assert.All(held.Parameters.Where(p => p.Name.Contains("weight_hh", StringComparison.Ordinal)), p => Assert.Equal(HeldAs(p, precision), p.Precision));
        const int batch = 3, sourceSteps = 4, steps = 3;
        var rng = new Rng(21);
        int vocabulary = twin.Decoder.OutputWidth;
        Tensor<int> Ids(int n, int count, int length) => Tensor.Create(Enumerable.Range(0, count * length).Select(_ => (int)(rng.NextFloat() * n) % n).ToArray(), [count, length]);
        Tensor<int> source = Ids(twin.Encoder.InputWidth, batch, sourceSteps), decoderInput = Ids(Math.Min(vocabulary, twin.Decoder.InputWidth), batch, steps), targets = Ids(vocabulary, batch, steps);
        int[] lengths = [4, 4, 2];
        AssertClose(twin.Forward(source, lengths, decoderInput), held.Forward(source, lengths, decoderInput), "logits");
        var one = Tensor.Create(DeviceModelTests.Flat(source).Take(sourceSteps).ToArray(), [1, sourceSteps]);
        Assert.Equal(twin.Greedy(one, startToken: 1, maxLength: 5), held.Greedy(one, startToken: 1, maxLength: 5));
        var twinBeams = twin.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5);
        var heldBeams = held.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5);
        Assert.Equal(twinBeams[0].Tokens, heldBeams[0].Tokens);
        Tolerance.AssertClose([twinBeams[0].Score], [heldBeams[0].Score], "the best beam's score");
        var e = Assert.Throws<InvalidOperationException>(() => held.Backward(source, lengths, decoderInput, targets, 1f));
        Assert.Contains("HoldWeightsIn(Precision.Float32)", e.Message);
    }

    /// <summary>
    /// Sets every parameter read only as weights to the floats it would stand for held in <paramref name="precision"/> (rounded,
    /// or quantized and scaled back), each tensor once: the twin a held model is compared with. Returns the values so set.
    /// </summary>
    /// <summary>How a weight is held when its model's are held in <paramref name="precision"/>: 4 bits take rows of whole groups of 32, other rows 8.</summary>
    internal static Precision HeldAs(Parameter p, Precision precision) =>
        precision == Precision.Int4 && (p.RowLength % Int4.DefaultGroupSize != 0 || p.ReadFromColumn % Int4.DefaultGroupSize != 0) ? Precision.Int8 : precision;

    /// <summary>Every weight of <paramref name="parameters"/> set to the floats its values held in <paramref name="precision"/> stand for; returns their number.</summary>
    internal static long Widen(ParameterSet parameters, Precision precision)
    {
        long weights = 0;
        var widened = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (Parameter p in parameters)
        {
            if (!p.HoldsOnlyWeights || !widened.Add(p.Storage)) continue;
            float[] values = p.ToArray();
            HeldValues.Of(HeldAs(p, precision), values, p.RowLength).CopyTo(values);
            p.CopyFrom(values);
            weights += p.Length;
        }
        return weights;
    }

    private static void Compare<TIn>(IModel<TIn> rounded, IModel<TIn> held, Tensor<TIn> input, string name)
    {
        Tensor<int> targets = DeviceModelTests.Targets(rounded);
        AssertClose(rounded.Forward(input), held.Forward(input), name + " forward");
        AssertClose(rounded.Forward(input, Lengths), held.Forward(input, Lengths), name + " forward with lengths");
        Assert.Equal(rounded.Loss(input, targets), held.Loss(input, targets), 4);

        // training refused before anything changes: no gradient made, the weights as they were (a model that held none would
        // train as its twin)
        float[][] before = held.Parameters.Select(p => p.ToArray()).ToArray();
        if (held.Parameters.FirstOrDefault(p => p.Precision != Precision.Float32) is { } some)
        {
            var e = Assert.Throws<InvalidOperationException>(() => held.Backward(input, targets));
            Assert.Contains($"held in {Weights.Describe(some.Precision)}", e.Message);
            Assert.Contains("HoldWeightsIn(Precision.Float32)", e.Message);
            for (int i = 0; i < before.Length; i++)
            {
                Assert.Equal(before[i], held.Parameters[i].ToArray());
                Assert.False(held.Parameters[i].HasGradient);
            }
        }
        else Assert.Equal(rounded.Backward(input, targets), held.Backward(input, targets), 4);
        if (!rounded.ReturnsSequences || !DeviceModelTests.Steps(rounded)) return;
        IModelState rs = rounded.CreateState(B), hs = held.CreateState(B);
        AssertClose(rounded.Forward(input, rs), held.Forward(input, hs), name + " forward from a state");
        TIn[] all = DeviceModelTests.Flat(input);
        int width = all.Length / (B * T);
        Tensor<TIn> StepInput(int s) => Tensor.Create(Enumerable.Range(0, B).SelectMany(b => all.Skip((b * T + s) * width).Take(width)).ToArray(),
            typeof(TIn) == typeof(int) ? [B] : [B, width]);
        for (int s = 0; s < 3; s++) AssertClose(rounded.Step(StepInput(s), rs), held.Step(StepInput(s), hs), $"{name} step {s}");
    }

    private static void AssertClose(Tensor<float> expected, Tensor<float> actual, string what) =>
        Tolerance.AssertClose(DeviceModelTests.Flat(expected), DeviceModelTests.Flat(actual), what);

    /// <summary>
    /// What the generator marks as read only as weights: every matrix multiplied as Wᵀ, the embedding table, a mixture's router,
    /// experts and shared expert, a recurrent layer's matrices; never a norm's scale, a bias, nor the table a recurrent layer folds.
    /// </summary>
    [Fact]
    public void TheMatricesTablesExpertsAndRecurrentWeightsAreHeldNotNormsOrBiases()
    {
        static string[] Held(IModel model) => model.Parameters.Where(p => p.HoldsOnlyWeights).Select(p => p.Name).ToArray();
        Assert.Equal(["embedding.weight", "attention.in_proj_weight", "attention.out_proj.weight", "dense.weight", "dense_1.weight", "dense_2.weight"],
            Held(new LlamaBlock(seed: 1)));
        Assert.Equal(["embedding.weight", "attention.in_proj_weight", "attention.out_proj.weight", "moe.router", "moe.weight_in", "moe.weight_out", "dense.weight"],
            Held(new MoeBlock(seed: 1)));
        Assert.Equal(["moe.router", "moe.weight_in", "moe.weight_out", "moe.shared_in", "moe.shared_out", "moe.shared_gate"], Held(new MoeShared(seed: 1)).Take(6));
        // the LSTM's matrices are read as weights by its hand-written loop (RecurrenceOp.WeightsRead: the B of its products, packed
        // transposed for the steps); it folds the table into its input projection, reading it as floats: the table stays float32
        Assert.Equal(["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1", "dense.weight"], Held(new StatefulLstm(seed: 1)));
    }

    /// <summary>
    /// A tensor two models share (an encoder–decoder's table, ShareEmbedding) is held only when both read it as weights alone: a
    /// decoder whose recurrent layer folds the table reads it as floats, and holding either side leaves it float32.
    /// </summary>
    [Fact]
    public void ASharedTableIsHeldOnlyWhenBothModelsReadItAsWeights()
    {
        var encoderTable = new Parameter("embedding.weight", 10, 4) { HoldsOnlyWeights = true };
        var decoderTable = new Parameter("embedding.weight", 10, 4);
        decoderTable.ShareStorageOf(encoderTable);
        Assert.False(encoderTable.HoldsOnlyWeights);
        Assert.Equal(0, new ParameterSet([encoderTable]).HoldWeightsIn(Precision.BFloat16));
        Assert.Equal(Precision.Float32, decoderTable.Precision);
        var both = new Parameter("a", 3) { HoldsOnlyWeights = true };
        new Parameter("b", 3) { HoldsOnlyWeights = true }.ShareStorageOf(both);
        Assert.True(both.HoldsOnlyWeights);
        // Seq2SeqShared's LSTM encoder and decoder both fold their table: held, the model keeps it float32
        var model = new Seq2SeqShared(seed: 1);
        model.Parameters.HoldWeightsIn(Precision.BFloat16);
        Assert.Equal(Precision.Float32, model.Parameters["encoder.embedding.weight"].Precision);
        // a held tensor is not shared afterwards
        var held = new Parameter("c", 3) { HoldsOnlyWeights = true };
        new ParameterSet([held]).HoldWeightsIn(Precision.BFloat16);
        Assert.Throws<InvalidOperationException>(() => new Parameter("d", 3).ShareStorageOf(held));
    }

    /// <summary>A parameter held in bfloat16 holds half the bytes: its floats are let go (nothing else keeps them), and reading them as floats is refused.</summary>
    [Fact]
    public void HeldInBFloat16AParameterLetsItsFloatsGoAndRefusesToBeReadAsThem()
    {
        var model = new TinyGpt(seed: 1);
        Parameter table = model.Parameters["embedding.weight"];
        Assert.True(table.HoldsOnlyWeights);
        WeakReference floats = FloatsOf(table);
        float[] expected = table.ToArray();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        model.Parameters.HoldWeightsIn(Precision.BFloat16);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(floats.IsAlive, "the table's floats are still held");
        long halves = model.Parameters.Where(p => p.HoldsOnlyWeights).Sum(p => 2L * p.Length);
        Assert.InRange(allocated, halves, halves + 4096 * model.Parameters.Count);

        // read and assigned through CopyTo and CopyFrom (rounded); refused as floats, naming the parameter and the way back
        float[] back = table.ToArray();
        for (int i = 0; i < back.Length; i++) Assert.Equal(BFloat16.ToFloat(BFloat16.FromFloat(expected[i])), back[i]);
        var e = Assert.Throws<InvalidOperationException>(() => table.AsSpan());
        Assert.Contains("'embedding.weight' is held in bfloat16", e.Message);
        Assert.Throws<InvalidOperationException>(() => table.Value);
        Assert.Throws<InvalidOperationException>(() => table.GradAsSpan());
        table.CopyFrom(expected);
        Assert.Equal(back, table.ToArray());
        Assert.Throws<ArgumentException>(() => table.CopyFrom(new float[3]));

        // an optimiser refuses to step it, before counting the step
        var adam = new Adam(model.Parameters, 0.01f);
        Assert.Contains("held in bfloat16", Assert.Throws<InvalidOperationException>(() => adam.Step()).Message);
        Assert.Equal(0, adam.StepCount);

        // saved as it is held (BF16 tensors for the held parameters, F32 for the others), and loaded into float32 it is the rounded model
        string path = Path.Combine(Path.GetTempPath(), $"dsl-bf16-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Parameters.Save(path);
            Dictionary<string, SafeTensor> file = SafeTensors.Read(path);
            foreach (Parameter p in model.Parameters)
                Assert.Equal(p.Precision == Precision.BFloat16 ? SafeTensorsDType.BF16 : SafeTensorsDType.F32, file[p.Name].DType);
            Assert.Equal(SafeTensorsDType.F32, file["layernorm.weight"].DType);
            Assert.Equal(SafeTensorsDType.BF16, file["attention.in_proj_weight"].DType);
            var reloaded = new TinyGpt(seed: 2);
            reloaded.Parameters.Load(path);
            for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].ToArray(), reloaded.Parameters[i].ToArray());
            // and loaded into a model held in bfloat16, its values are those
            var heldToo = new TinyGpt(seed: 2);
            heldToo.Parameters.HoldWeightsIn(Precision.BFloat16);
            heldToo.Parameters.Load(path);
            for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].ToArray(), heldToo.Parameters[i].ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference FloatsOf(Parameter p) => new(p.Value);
}
