using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Training;

public class TruncatedBpttTests
{
    /// <summary><paramref name="count"/> ids below <paramref name="vocab"/>, drawn from <paramref name="rng"/>.</summary>
    private static int[] Ids(Rng rng, int count, int vocab) => Enumerable.Range(0, count).Select(_ => rng.NextInt(vocab)).ToArray();

    [Fact]
    public void AChunkWithNoTargetIsCarriedThroughWithoutALossOrAnUpdate()
    {
        // chunks of 4 over 8 steps, the second all padding: one loss (the first chunk's), one update; the state still moves
        // through the padded chunk, so a third chunk's loss starts from it
        const int batch = 2, steps = 12;
        var rng = new Rng(6);
        int[] x = Ids(rng, batch * steps, 11);
        int[] y = Enumerable.Range(0, batch * steps).Select(i => i % steps is >= 4 and < 8 ? -1 : rng.NextInt(11)).ToArray();
        var model = new StatefulLstm(seed: 5);
        int updates = 0;
        float loss = new TruncatedBptt<int>(model, k1: 4, k2: 4).Train(x, y, batch, steps, () => updates++);
        Assert.Equal(2, updates);
        // the same by hand: chunk 1 with its state, chunk 2 forward only, chunk 3 from there
        var reference = new StatefulLstm(seed: 5);
        var state = reference.CreateState(batch);
        int[] Chunk(int[] values, int c) => Enumerable.Range(0, batch).SelectMany(b => values.Skip(b * steps + c * 4).Take(4)).ToArray();
        float first = reference.Backward(new ReadOnlyTensorSpan<int>(Chunk(x, 0), [batch, 4]), new ReadOnlyTensorSpan<int>(Chunk(y, 0), [batch, 4]), state);
        reference.Forward(new ReadOnlyTensorSpan<int>(Chunk(x, 1), [batch, 4]), state);
        float third = reference.Backward(new ReadOnlyTensorSpan<int>(Chunk(x, 2), [batch, 4]), new ReadOnlyTensorSpan<int>(Chunk(y, 2), [batch, 4]), state);
        Assert.Equal((first + third) / 2, loss, 1e-6f);
        Assert.True(float.IsNaN(new TruncatedBptt<int>(new StatefulLstm(seed: 5), 4, 4).Train(x, Enumerable.Repeat(-1, batch * steps).ToArray(), batch, steps, () => updates++)),
            "no target at all: NaN, as PyTorch's mean over nothing");
        Assert.Equal(2, updates);
    }

    [Fact]
    public void K1EqualK2EqualTIsFullBptt()
    {
        var full = new StatefulLstm(seed: 5);
        var truncated = new StatefulLstm(seed: 5);
        const int batch = 3, steps = 8;
        var rng = new Rng(6);
        int[] x = Ids(rng, batch * steps, 11);
        int[] y = Ids(rng, batch * steps, 11);
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
    public void AShortLastChunkIsThatChunkAloneWhenK1EqualsK2()
    {
        // 10 steps in chunks of 4: [0, 4), [4, 8), [8, 10), the state carried, as x[:, i:i + 4] in PyTorch (the last
        // window must not reach back to step 6: its steps would backpropagate twice)
        const int batch = 2, steps = 10, k = 4;
        var rng = new Rng(8);
        int[] x = Ids(rng, batch * steps, 11);
        int[] y = Ids(rng, batch * steps, 11);
        var reference = new StatefulLstm(seed: 7);
        IModelState state = ((IModel<int>)reference).CreateState(batch);
        float expected = 0;
        foreach ((int start, int length) in new[] { (0, 4), (4, 4), (8, 2) })
        {
            int[] xc = new int[batch * length], yc = new int[batch * length];
            for (int b = 0; b < batch; b++)
            {
                Array.Copy(x, b * steps + start, xc, b * length, length);
                Array.Copy(y, b * steps + start, yc, b * length, length);
            }
            expected += ((IModel<int>)reference).Backward(new ReadOnlyTensorSpan<int>(xc, [batch, length]), new ReadOnlyTensorSpan<int>(yc, [batch, length]), state);
        }
        var model = new StatefulLstm(seed: 7);
        float loss = new TruncatedBptt<int>(model, k, k).Train(x, y, batch, steps, () => { });
        Assert.Equal(expected / 3, loss, 1e-6f);
        foreach (Parameter p in reference.Parameters) Tolerance.AssertClose(p.GradAsSpan(), model.Parameters[p.Name].GradAsSpan(), p.Name);
    }

    [Fact]
    public void AShortLastIndependentChunkStartsFromZerosAtItsOwnStart()
    {
        // 7 steps in independent chunks of 3 under mean squared error: [0, 3), [3, 6), [6, 7), each counted once
        const int batch = 2, steps = 7, features = 4, outputs = 3;
        var rng = new Rng(12);
        float[] x = Enumerable.Range(0, batch * steps * features).Select(_ => rng.NextNormal()).ToArray();
        float[] y = Enumerable.Range(0, batch * steps * outputs).Select(_ => rng.NextNormal()).ToArray();
        var reference = new StatefulGru(seed: 4);
        float expected = 0;
        foreach ((int start, int length) in new[] { (0, 3), (3, 3), (6, 1) })
        {
            float[] xc = new float[batch * length * features], yc = new float[batch * length * outputs];
            for (int b = 0; b < batch; b++)
            {
                Array.Copy(x, (b * steps + start) * features, xc, b * length * features, length * features);
                Array.Copy(y, (b * steps + start) * outputs, yc, b * length * outputs, length * outputs);
            }
            expected += reference.Backward(new ReadOnlyTensorSpan<float>(xc, [batch, length, features]), new ReadOnlyTensorSpan<float>(yc, [batch, length, outputs]));
        }
        var model = new StatefulGru(seed: 4);
        float loss = new TruncatedBptt<float>(model, 3, 3, independentChunks: true).Train(x, y, batch, steps, () => { });
        Assert.Equal(expected / 3, loss, 1e-6f);
        foreach (Parameter p in reference.Parameters) Tolerance.AssertClose(p.GradAsSpan(), model.Parameters[p.Name].GradAsSpan(), p.Name);
    }

    /// <summary>
    /// A positional encoding reads the state's position: each window starts at its own first step's position, in every
    /// pass (a second pass started where the first had ended, and with k1 &lt; k2 a window started where the window before
    /// it had ended).
    /// </summary>
    [Fact]
    public void EachWindowStartsAtItsOwnPosition()
    {
        const int batch = 2, steps = 4;
        var rng = new Rng(8);
        int[] x = Ids(rng, batch * steps, 7);
        int[] y = Ids(rng, batch * steps, 7);
        var model = new TbpttPositionalGru(seed: 3);
        float whole = model.Loss(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps]));
        var full = new TruncatedBptt<int>(model, steps, steps);
        Assert.Equal(whole, full.Train(x, y, batch, steps, () => { }), 1e-6f);
        Assert.Equal(whole, full.Train(x, y, batch, steps, () => { }), 1e-6f); // a second pass starts at position 0 again

        // k1 = 2, k2 = 4: windows [0, 2) and [0, 4), the second counting steps 2 and 3 only
        int[] Steps(int[] values, int from, int count, bool maskBefore = false) => Enumerable.Range(0, batch)
            .SelectMany(b => Enumerable.Range(0, count).Select(t => maskBefore && t < 2 ? -1 : values[b * steps + from + t])).ToArray();
        float first = model.Loss(new ReadOnlyTensorSpan<int>(Steps(x, 0, 2), [batch, 2]), new ReadOnlyTensorSpan<int>(Steps(y, 0, 2), [batch, 2]));
        float second = model.Loss(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(Steps(y, 0, 4, maskBefore: true), [batch, steps]));
        Assert.Equal((first + second) / 2, new TruncatedBptt<int>(model, 2, 4).Train(x, y, batch, steps, () => { }), 1e-6f);
    }

    /// <summary>A causal Transformer trains only from a fresh state: with whole-sequence windows every pass starts from one.</summary>
    [Fact]
    public void ACausalTransformerTrainsPassAfterPassOnWholeSequenceWindows()
    {
        const int batch = 2, steps = 5;
        var rng = new Rng(4);
        int[] x = Ids(rng, batch * steps, 11);
        int[] y = Ids(rng, batch * steps, 11);
        var model = new TinyGpt(seed: 2);
        var truncated = new TruncatedBptt<int>(model, steps, steps);
        float first = truncated.Train(x, y, batch, steps, () => { });
        Assert.Equal(first, truncated.Train(x, y, batch, steps, () => { }), 1e-6f);
    }

    [Fact]
    public void IdsOutsideTheModelAreRefusedBeforeTheFirstWindowUpdates()
    {
        // the model checks each window's ids, by then after the earlier windows' updates: the whole pass is checked first
        var model = new StatefulLstm(seed: 3);
        float[] weights = model.Parameters[0].AsSpan().ToArray();
        var t = new TruncatedBptt<int>(model, 2, 2);
        int updates = 0;
        int[] input = Enumerable.Range(0, 2 * 6).Select(i => i % 11).ToArray(), targets = (int[])input.Clone();
        input[11] = 11;   // the last window's
        var e = Assert.Throws<ArgumentException>(() => t.Train(input, targets, 2, 6, () => updates++));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("token id 11 at flat position 11", e.Message);
        input[11] = 0;
        targets[10] = 12;
        e = Assert.Throws<ArgumentException>(() => t.Train(input, targets, 2, 6, () => updates++));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("class id 12 at flat position 10", e.Message);
        Assert.Equal(0, updates);
        Assert.Equal(weights, model.Parameters[0].AsSpan().ToArray());
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
    }

    [Fact]
    public void FloatTargetsNeedEqualK1AndK2()
    {
        var t = new TruncatedBptt<float>(new StatefulGru(), 2, 4);
        Assert.Throws<InvalidOperationException>(() => t.Train(new float[2 * 4 * 4], new float[2 * 4 * 3], 2, 4, () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedBptt<float>(new StatefulGru(), 3, 2));
    }

    [Fact]
    public void TokenIdsForMoreSequencesThanTheBatchFailNamingTheShape()
    {
        // two sequences of 8 ids with batch = 1: not a features axis (ids have none)
        var t = new TruncatedBptt<int>(new StatefulLstm(), 4, 4);
        var error = Assert.Throws<ArgumentException>(() => t.Train(new int[16], new int[8], 1, 8, () => { }));
        Assert.Equal("input", error.ParamName);
        Assert.Contains("[batch = 1, steps = 8] (8 values), got 16", error.Message);
    }

    [Fact]
    public void ABatchTimesStepsBeyondAnIntIsAShapeErrorNotADivisionByZero()
    {
        // 65536 × 65536 wrapped to 0 in int: the remainder divided by it
        var t = new TruncatedBptt<float>(new StatefulGru(), 4, 4);
        var error = Assert.Throws<ArgumentException>(() => t.Train(new float[12], new float[12], 65536, 65536, () => { }));
        Assert.Equal("input", error.ParamName);
        Assert.Contains("[batch = 65536, steps = 65536, features]", error.Message);
        var tokens = new TruncatedBptt<int>(new StatefulLstm(), 4, 4);
        error = Assert.Throws<ArgumentException>(() => tokens.Train(new int[8], new int[8], 65536, 65536, () => { }));
        Assert.Contains("(4294967296 values), got 8", error.Message);
    }
}

[Embedding(vocab: 7, dim: 4)] [PositionalEncoding] [Gru(hidden: 5)] [Dense(7)]
public partial class TbpttPositionalGru;
