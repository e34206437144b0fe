using System.Runtime.CompilerServices;
using Dsl.Kernels;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Weights held as 8-bit integers with a scale per row for inference (<see cref="ParameterSet.HoldWeightsIn"/> with
/// <see cref="Precision.Int8"/>): the quantization is PyTorch's per-channel symmetric qint8, the kernels that widen them give the
/// bits of the floats they stand for, the floats are let go, and what cannot be held is refused before anything changes.
/// (Every model kind held in 8 bits against its dequantized twin: <see cref="HalfPrecisionTests"/>; the GEMM on every path and
/// size: <see cref="GemmTests"/>.)
/// </summary>
public class Int8WeightsTests
{
    /// <summary>
    /// Fixtures/Int8Weights.expected.safetensors (make_fixtures.py --int8): rows of every kind quantized by PyTorch 1.13's
    /// PerChannelMinMaxObserver(qint8, per_channel_symmetric) and quantize_per_channel — each scale, each integer and each
    /// dequantized value bit for bit.
    /// </summary>
    [Fact]
    public void QuantizationIsPyTorchsPerChannelSymmetricQInt8()
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("Int8Weights.expected.safetensors"));
        float[] weight = expected["weight"].ToFloat(), scale = expected["scale"].ToFloat(), q = expected["q"].ToFloat(), dequantized = expected["dequantized"].ToFloat();
        int rows = scale.Length, row = weight.Length / rows;
        var values = new sbyte[weight.Length];
        var scales = new float[rows];
        Int8.Quantize(weight, row, values, scales);
        Assert.Equal(scale.Select(BitConverter.SingleToInt32Bits), scales.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(q, values.Select(v => (float)v));
        var back = new float[weight.Length];
        Int8.Dequantize(values, scales, row, back);
        Assert.Equal(dequantized.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));

        // a parameter held so holds the same (its rows are its last dimension) and reads back the dequantized values
        var p = new Parameter("w", rows, row) { HoldsOnlyWeights = true };
        p.CopyFrom(weight);
        Assert.Equal(weight.Length, new ParameterSet([p]).HoldWeightsIn(Precision.Int8));
        Assert.Equal(Precision.Int8, p.Precision);
        Assert.Equal(dequantized, p.ToArray());
        Assert.True(p.Weights.IsInt8);
        Assert.Equal(values, p.Weights.Int8Values.ToArray());
        Assert.Equal(scales, p.Weights.Int8Scales.ToArray());
    }

    /// <summary>
    /// Quantizing and widening a vector at a time give what one value at a time gives (the formula: ties to even, clamped), at
    /// every length (the tails included), halfway values among them.
    /// </summary>
    [Fact]
    public void QuantizingAndDequantizingAVectorAtATimeGiveTheScalarValues()
    {
        var rng = new Rng(11);
        for (int length = 1; length <= 70; length++)
        {
            float[] x = new float[2 * length];
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal() * (i < length ? 1f : 1e-3f);
            // the first row's scale 1 (its largest magnitude 127.5), and halves in it: ties
            for (int i = 0; i < length; i += 3) x[i] = (i % 7 - 3) * 0.5f;
            x[0] = -127.5f;
            var values = new sbyte[x.Length];
            var scales = new float[2];
            Int8.Quantize(x, length, values, scales);
            for (int i = 0; i < x.Length; i++)
                Assert.Equal((sbyte)Math.Clamp(MathF.Round(x[i] * (1f / scales[i / length])), -128f, 127f), values[i]);
            var back = new float[x.Length];
            Int8.Dequantize(values, scales, length, back);
            for (int i = 0; i < x.Length; i++) Assert.Equal(values[i] * scales[i / length], back[i]);
        }
        Assert.Throws<ArgumentException>(() => Int8.Quantize(new float[6], 4, new sbyte[6], new float[2]));
        Assert.Throws<ArgumentException>(() => Int8.Quantize(new float[8], 4, new sbyte[8], new float[1]));
        Assert.Throws<ArgumentException>(() => Int8.Dequantize(new sbyte[8], new float[2], 4, new float[7]));
        Assert.Throws<ArgumentException>(() => Weights.FromInt8(new sbyte[8], new float[3], 4));
    }

    /// <summary>
    /// A slice of 8-bit weights keeps each value's scale: B read from a column within its rows, and rows read every other one
    /// (rows 2 · ldb apart), give the same reads of the dequantized floats (their bits through the blocked product, from three
    /// rows; one or two rows scale each column's sums), split over the cores by columns or rows as they are large enough to be;
    /// a read that would cross a row is refused.
    /// </summary>
    [Fact]
    public void ASliceKeepsItsRowsScalesAndAReadAcrossRowsIsRefused()
    {
        var rng = new Rng(5);
        const int rows = 2400, row = 200, k = 190;
        float[] w = new float[rows * row];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextNormal() * (1 + i / row);
        var values = new sbyte[w.Length];
        var scales = new float[rows];
        Int8.Quantize(w, row, values, scales);
        float[] wide = new float[w.Length];
        Int8.Dequantize(values, scales, row, wide);
        foreach (GemmPath path in GemmPath.All.Where(p => p.Supported))
            foreach (int m in new[] { 1, 2, 5, 40 })
            {
                float[] a = new float[m * k];
                for (int i = 0; i < a.Length; i++) a[i] = rng.NextNormal();
                // columns 7 … 196 of rows 1 … 2398, and of every other row (products split over the cores: GemmWorkers)
                foreach (int ld in new[] { row, 2 * row })
                {
                    int n = (rows - 2) * row / ld;
                    float[] expected = new float[m * n], actual = new float[m * n];
                    Gemm.MatMulTransB(path, m, n, k, a, k, wide.AsSpan(row + 7), ld, expected, n, accumulate: false, direct: false);
                    Gemm.MatMulTransB(path, m, n, k, a, k, Weights.FromInt8(values, scales, row).Slice(row + 7), ld, actual, n, accumulate: false);
                    if (m > 2 && !Gemm.ManyRowsTakeDotProducts(path, m, k)) Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
                    else Tolerance.AssertClose(expected, actual, $"{path} {m} rows {ld} apart");
                }
            }
        // 194 values from column 7 run past the row of 200; rows 300 values apart do not start each in a row of its own
        float[] c = new float[4];
        var e = Assert.Throws<ArgumentException>(() => Gemm.MatMulTransB(1, 2, 194, new float[194], 194, Weights.FromInt8(values, scales, row).Slice(7), row, c, 2, false));
        Assert.Contains("8-bit weights in rows of 200", e.Message);
        Assert.Throws<ArgumentException>(() => Gemm.MatMulTransB(1, 2, 20, new float[20], 20, Weights.FromInt8(values, scales, row), 300, c, 2, false));
    }

    /// <summary>An 8-bit table gathers the dequantized rows (then scaled), bit for bit; rows of another width are refused.</summary>
    [Fact]
    public void AGatherFromAnInt8TableGivesItsDequantizedRows()
    {
        var rng = new Rng(3);
        const int rows = 40, width = 37;
        float[] table = new float[rows * width];
        for (int i = 0; i < table.Length; i++) table[i] = rng.NextNormal();
        var values = new sbyte[table.Length];
        var scales = new float[rows];
        Int8.Quantize(table, width, values, scales);
        float[] wide = new float[table.Length];
        Int8.Dequantize(values, scales, width, wide);
        int[] ids = [3, 0, 39, 3, 17];
        foreach (float scale in new[] { 1f, 2.5f })
        {
            float[] expected = new float[ids.Length * width], actual = new float[ids.Length * width];
            Layout.GatherRows(wide, ids, width, expected, scale);
            Layout.GatherRows(Weights.FromInt8(values, scales, width), ids, width, actual, scale);
            Assert.Equal(expected, actual);
        }
        var e = Assert.Throws<ArgumentException>(() => Layout.GatherRows(Weights.FromInt8(values, scales, width), [1], 36, new float[36]));
        Assert.Contains("gathered by whole rows", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Layout.GatherRows(Weights.FromInt8(values, scales, width), [40], width, new float[width]));
    }

    /// <summary>
    /// Held in 8 bits, a model's weights take a quarter of their bytes (and a scale per row): the floats are let go; read and
    /// assigned through CopyTo and CopyFrom (each row's scale made anew); refused as floats, by an optimiser and by training.
    /// </summary>
    [Fact]
    public void HeldInInt8AParameterLetsItsFloatsGoAndRefusesToBeReadAsThem()
    {
        var model = new TinyGpt(seed: 1);
        Parameter table = model.Parameters["embedding.weight"];
        WeakReference floats = FloatsOf(table);
        float[] expected = table.ToArray();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long held = model.Parameters.HoldWeightsIn(Precision.Int8);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(floats.IsAlive, "the table's floats are still held");
        Assert.Equal(model.Parameters.Where(p => p.HoldsOnlyWeights).Sum(p => (long)p.Length), held);
        long bytes = model.Parameters.Where(p => p.HoldsOnlyWeights).Sum(p => p.Length + 4L * (p.Length / p.Shape[^1]));
        Assert.InRange(allocated, bytes, bytes + 4096 * model.Parameters.Count);

        float[] back = table.ToArray();
        var again = new float[expected.Length];
        HeldValues.Of(Precision.Int8, expected, table.RowLength).CopyTo(again);
        Assert.Equal(again, back);
        var e = Assert.Throws<InvalidOperationException>(() => table.AsSpan());
        Assert.Contains("'embedding.weight' is held in 8-bit integers", e.Message);
        Assert.Contains("HoldWeightsIn(Precision.Float32)", e.Message);
        table.CopyFrom(expected);
        Assert.Equal(back, table.ToArray());
        float[] infinite = (float[])expected.Clone();
        infinite[5] = float.PositiveInfinity;
        Assert.Contains("'embedding.weight' is held in 8-bit integers", Assert.Throws<ArgumentException>(() => table.CopyFrom(infinite)).Message);
        Assert.Equal(back, table.ToArray());
        var adam = new Adam(model.Parameters, 0.01f);
        Assert.Contains("held in 8-bit integers", Assert.Throws<InvalidOperationException>(() => adam.Step()).Message);
        Assert.Equal(0, adam.StepCount);

        // from 8 bits to bfloat16 through the floats they stand for, and back to float32
        model.Parameters.HoldWeightsIn(Precision.BFloat16);
        Assert.Equal(Precision.BFloat16, table.Precision);
        float[] rounded = new float[back.Length];
        HeldValues.Of(Precision.BFloat16, back, table.RowLength).CopyTo(rounded);
        Assert.Equal(rounded, table.ToArray());
        model.Parameters.HoldWeightsIn(Precision.Float32);
        Assert.Equal(rounded, table.AsSpan().ToArray());
    }

    /// <summary>
    /// A weight that is not finite cannot be held in 8 bits: holding refuses, naming it, and loading a checkpoint with one into a
    /// model held so refuses too; neither changes anything.
    /// </summary>
    [Fact]
    public void AWeightThatIsNotFiniteIsRefusedBeforeAnythingChanges()
    {
        var model = new TinyGpt(seed: 1);
        model.Parameters["dense.weight"].AsSpan()[3] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => model.Parameters.HoldWeightsIn(Precision.Int8));
        Assert.Contains("'dense.weight' holds a value that is not finite", e.Message);
        Assert.All(model.Parameters, p => Assert.Equal(Precision.Float32, p.Precision));
        Assert.Throws<ArgumentException>(() => Int8.Scale([1f, float.PositiveInfinity]));
        // bfloat16 holds an infinity (a float past its largest rounds to one): held so first, 8 bits refuse it as well
        model.Parameters["dense.weight"].AsSpan()[3] = 3.4e38f;
        model.Parameters.HoldWeightsIn(Precision.BFloat16);
        Assert.Equal(float.PositiveInfinity, model.Parameters["dense.weight"].ToArray()[3]);
        Precision[] heldAs = model.Parameters.Select(p => p.Precision).ToArray();
        Assert.Contains("'dense.weight' holds a value that is not finite", Assert.Throws<ArgumentException>(() => model.Parameters.HoldWeightsIn(Precision.Int8)).Message);
        Assert.Equal(heldAs, model.Parameters.Select(p => p.Precision));
        model.Parameters.HoldWeightsIn(Precision.Float32);
        model.Parameters["dense.weight"].AsSpan()[3] = float.NaN;

        string path = Path.Combine(Path.GetTempPath(), $"dsl-int8-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Parameters.Save(path);
            var held = new TinyGpt(seed: 2);
            held.Parameters.HoldWeightsIn(Precision.Int8);
            float[][] before = held.Parameters.Select(p => p.ToArray()).ToArray();
            var load = Assert.Throws<InvalidDataException>(() => held.Parameters.Load(path));
            Assert.Contains("'dense.weight' holds a value that is not finite", load.Message);
            for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], held.Parameters[i].ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A model held in 8 bits saves the floats its weights stand for (F32: safetensors has no per-row scales PyTorch reads back
    /// into a model); loaded into float32 they are those values, and loaded into a model held in 8 bits they are quantized again.
    /// </summary>
    [Fact]
    public void AModelHeldInInt8SavesTheFloatsItsWeightsStandFor()
    {
        var model = new TinyGpt(seed: 4);
        model.Parameters.HoldWeightsIn(Precision.Int8);
        string path = Path.Combine(Path.GetTempPath(), $"dsl-int8-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Parameters.Save(path);
            Assert.All(SafeTensors.Read(path).Values, t => Assert.Equal(SafeTensorsDType.F32, t.DType));
            var reloaded = new TinyGpt(seed: 2);
            reloaded.Parameters.Load(path);
            for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].ToArray(), reloaded.Parameters[i].ToArray());
            var heldToo = new TinyGpt(seed: 2);
            heldToo.Parameters.HoldWeightsIn(Precision.Int8);
            heldToo.Parameters.Load(path);
            foreach (Parameter p in heldToo.Parameters)
            {
                float[] expected = model.Parameters[p.Name].ToArray();
                if (p.Precision == Precision.Int8) HeldValues.Of(Precision.Int8, expected, p.RowLength).CopyTo(expected);
                Assert.Equal(expected, p.ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference FloatsOf(Parameter p) => new(p.Value);
}
