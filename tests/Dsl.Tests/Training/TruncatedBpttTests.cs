using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Training;

public class TruncatedBpttTests
{
    [Fact]
    public void K1EqualK2EqualTIsFullBptt()
    {
        var full = new StatefulLstm(seed: 5);
        var truncated = new StatefulLstm(seed: 5);
        const int batch = 3, steps = 8;
        var rng = new Rng(6);
        int[] x = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(11)).ToArray();
        int[] y = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(11)).ToArray();
        float expected = full.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps]));
        int updates = 0;
        float loss = new TruncatedBptt<int>(truncated, k1: steps, k2: steps).Train(x, y, batch, steps, () => updates++);
        Assert.Equal(1, updates);
        Assert.Equal(expected, loss);
        foreach (Parameter p in full.Parameters) Assert.Equal(p.GradAsSpan().ToArray(), truncated.Parameters[p.Name].GradAsSpan().ToArray());
    }

    [Theory]
    [InlineData(nameof(TbpttLstm), 3, 5, 0.5f)]
    [InlineData(nameof(TbpttGru), 2, 4, 0.3f)]
    public void K1BelowK2MatchesAHandWrittenPyTorchReference(string name, int k1, int k2, float lr)
    {
        IModel<int> model = name == nameof(TbpttLstm) ? new TbpttLstm() : new TbpttGru();
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        int batch = (int)expected["input"].Shape[0], steps = (int)expected["input"].Shape[1];
        var sgd = new Sgd(model.Parameters, learningRate: lr);
        float loss = new TruncatedBptt<int>(model, k1, k2).Train(expected["input"].ToInt32(), expected["targets"].ToInt32(), batch, steps, () =>
        {
            sgd.Step();
            model.Parameters.ZeroGrad();
        });
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} mean window loss");
        foreach (Parameter p in model.Parameters)
            Tolerance.AssertClose(expected["trained." + p.Name].ToFloat(), p.AsSpan(), $"{name} {p.Name} after truncated BPTT");
    }

    [Fact]
    public void IndependentChunksStartFromZeros()
    {
        var model = new StatefulGru(seed: 2);
        const int batch = 2, steps = 6, features = 4;
        var rng = new Rng(3);
        float[] x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, batch * steps * 3).Select(_ => rng.NextNormal()).ToArray();
        // Each chunk of 3 equals an ordinary Backward over that chunk alone.
        var reference = new StatefulGru(seed: 2);
        float expected = 0;
        for (int c = 0; c < 2; c++)
        {
            float[] xc = new float[batch * 3 * features], yc = new float[batch * 3 * 3];
            for (int b = 0; b < batch; b++)
            {
                Array.Copy(x, (b * steps + 3 * c) * features, xc, b * 3 * features, 3 * features);
                Array.Copy(y, (b * steps + 3 * c) * 3, yc, b * 9, 9);
            }
            expected += reference.Backward(new ReadOnlyTensorSpan<float>(xc, [batch, 3, features]), new ReadOnlyTensorSpan<float>(yc, [batch, 3, 3]));
        }
        float loss = new TruncatedBptt<float>(model, 3, 3, independentChunks: true).Train(x, y, batch, steps, () => { });
        Assert.Equal(expected / 2, loss, 1e-6f);
        foreach (Parameter p in reference.Parameters) Tolerance.AssertClose(p.GradAsSpan(), model.Parameters[p.Name].GradAsSpan(), p.Name);
    }

    [Fact]
    public void FloatTargetsNeedEqualK1AndK2()
    {
        var t = new TruncatedBptt<float>(new StatefulGru(), 2, 4);
        Assert.Throws<InvalidOperationException>(() => t.Train(new float[2 * 4 * 4], new float[2 * 4 * 3], 2, 4, () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedBptt<float>(new StatefulGru(), 3, 2));
    }
}
