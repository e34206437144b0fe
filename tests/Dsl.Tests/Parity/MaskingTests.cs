using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// Padded sequences with their lengths: parity with PyTorch's pack_padded_sequence (bidirectional and stacked
/// layers, many-to-one), and padding that reproduces exactly the gradients of the unpadded sequences.
/// </summary>
public class MaskingTests
{
    [Theory]
    [InlineData(nameof(MaskedLstm))]
    [InlineData(nameof(MaskedGruManyToOne))]
    [InlineData(nameof(MaskedRnn))]
    [InlineData(nameof(MaskedAttention))]
    [InlineData(nameof(MaskedLstmAttention))]
    [InlineData(nameof(MaskedAttentionPool))]
    [InlineData(nameof(MaskedAdditiveSelf))]
    [InlineData(nameof(MaskedGeneralPool))]
    [InlineData(nameof(MaskedLstmProjection))]
    public void PaddedSequencesMatchPackPaddedSequence(string name)
    {
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        int[] lengths = expected["lengths"].ToInt32();
        if (name == nameof(MaskedGruManyToOne)) Check(new MaskedGruManyToOne(), name, expected, lengths, t => t.ToFloat());
        else if (name == nameof(MaskedGeneralPool)) Check(new MaskedGeneralPool(), name, expected, lengths, t => t.ToFloat());
        else Check(name switch
        {
            nameof(MaskedLstm) => new MaskedLstm(),
            nameof(MaskedAttention) => new MaskedAttention(),
            nameof(MaskedLstmAttention) => new MaskedLstmAttention(),
            nameof(MaskedAttentionPool) => new MaskedAttentionPool(),
            nameof(MaskedAdditiveSelf) => new MaskedAdditiveSelf(),
            nameof(MaskedLstmProjection) => new MaskedLstmProjection(),
            _ => new MaskedRnn(),
        }, name, expected, lengths, t => t.ToInt32());
    }

    private static void Check<TIn>(IModel<TIn> model, string name, Dictionary<string, SafeTensor> expected, int[] lengths, Func<SafeTensor, TIn[]> read)
    {
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var x = ParityModel.Span(read(expected["input"]), expected["input"].Shape);
        Tolerance.AssertClose(expected["output"].ToFloat(), ParityModel.Flatten(model.Forward(x, lengths)), $"{name} output");
        SafeTensor targets = expected["targets"];
        float loss = targets.DType == SafeTensorsDType.I64
            ? model.Backward(x, ParityModel.Span(targets.ToInt32(), targets.Shape), lengths)
            : model.Backward(x, ParityModel.Span(targets.ToFloat(), targets.Shape), lengths);
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} loss");
        Tolerance.AssertGradients(expected, model.Parameters, name);
    }

    [Fact]
    public void PaddingReproducesTheUnpaddedGradientsOfABidirectionalChoGru()
    {
        int[] lengths = [5, 2, 4];
        const int steps = 5, features = 3;
        var rng = new Rng(8);
        float[] x = Enumerable.Range(0, lengths.Length * steps * features).Select(_ => rng.NextNormal()).ToArray();
        int[] classes = Enumerable.Range(0, lengths.Length * steps).Select(_ => rng.NextInt(2)).ToArray();
        // A classification of every valid step, as floats for MSE: one-hot targets.
        float[] y = classes.SelectMany(c => new[] { c == 0 ? 1f : 0f, c == 1 ? 1f : 0f }).ToArray();

        var padded = new MaskedGruCho(seed: 4);
        // Garbage in the padded steps must change nothing.
        for (int b = 0; b < lengths.Length; b++)
            for (int i = lengths[b] * features; i < steps * features; i++) x[b * steps * features + i] = 1000f;
        float loss = padded.Backward(new ReadOnlyTensorSpan<float>(x, [lengths.Length, steps, features]), new ReadOnlyTensorSpan<float>(y, [lengths.Length, steps, 2]), lengths);
        float[] output = ParityModel.Flatten(padded.Forward(new ReadOnlyTensorSpan<float>(x, [lengths.Length, steps, features]), lengths));

        var single = new MaskedGruCho(seed: 4);
        int total = lengths.Sum() * 2;
        double expectedLoss = 0;
        var sums = single.Parameters.Select(p => new double[p.Length]).ToArray();
        for (int b = 0; b < lengths.Length; b++)
        {
            int n = lengths[b];
            float[] xb = x.Skip(b * steps * features).Take(n * features).ToArray();
            float[] yb = y.Skip(b * steps * 2).Take(n * 2).ToArray();
            single.Parameters.ZeroGrad();
            expectedLoss += single.Backward(new ReadOnlyTensorSpan<float>(xb, [1, n, features]), new ReadOnlyTensorSpan<float>(yb, [1, n, 2])) * n * 2;
            for (int p = 0; p < sums.Length; p++)
                for (int i = 0; i < sums[p].Length; i++) sums[p][i] += single.Parameters[p].GradAsSpan()[i] * n * 2 / (double)total;
            float[] alone = ParityModel.Flatten(single.Forward(new ReadOnlyTensorSpan<float>(xb, [1, n, features])));
            Tolerance.AssertClose(alone, output.AsSpan(b * steps * 2, n * 2), $"sequence {b} output");
            // The padded steps (garbage 1000 in the input) give what the final Dense makes of the GRU's zeros: its bias, exactly.
            float[] bias = padded.Parameters["dense.bias"].AsSpan().ToArray();
            for (int t = n; t < steps; t++) Assert.Equal(bias, output.AsSpan((b * steps + t) * 2, 2).ToArray());
        }
        Assert.Equal(expectedLoss / total, loss, 1e-5);
        for (int p = 0; p < sums.Length; p++)
            Tolerance.AssertClose(sums[p].Select(v => (float)v).ToArray(), padded.Parameters[p].GradAsSpan(), padded.Parameters[p].Name);
    }

    [Fact]
    public void LengthsAreChecked()
    {
        var model = new MaskedRnn();
        var x = new int[2 * 3];
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(x, [2, 3]), [3, 4]));
        Assert.Contains("the length of sequence 1 is 4, more than the 3 steps of the input; expected 1 … 3.", e.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(x, [2, 3]), [3]));
    }
}
