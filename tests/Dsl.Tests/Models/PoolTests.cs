using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Models;

/// <summary>
/// <c>[Pool]</c>'s vectors against the steps they pool, taken by hand from the same layers without it: the first step, the
/// last of each length, the mean of the valid steps (what padding holds read by none); its place in the architecture; a
/// model that pools does not step.
/// </summary>
public class PoolTests
{
    private const int Batch = 3, Steps = 4, Width = 4;
    private static readonly int[] Lengths = [4, 1, 3];

    private static (float[] X, float[] Steps) Input()
    {
        var rng = new Rng(7);
        float[] x = Enumerable.Range(0, Batch * Steps * 3).Select(_ => rng.NextNormal()).ToArray();
        for (int t = 1; t < Steps; t++) for (int f = 0; f < 3; f++) x[(1 * Steps + t) * 3 + f] = float.NaN; // sequence 1's padding
        var steps = new GcPoolSteps(seed: 3);
        // (the padded steps' outputs are NaN there too: only the valid ones are read below)
        Tensor<float> all = steps.Forward(new ReadOnlyTensorSpan<float>(x, [Batch, Steps, 3]));
        float[] flat = new float[all.FlattenedLength];
        all.FlattenTo(flat);
        return (x, flat);
    }

    private static float[] Pooled<T>(T model, float[] x, int[]? lengths) where T : IModel<float>
    {
        Assert.Equal(new GcPoolSteps(seed: 3).Parameters.Select(p => p.AsSpan().ToArray()).SelectMany(v => v), model.Parameters.Select(p => p.AsSpan().ToArray()).SelectMany(v => v));
        Tensor<float> y = lengths is null ? model.Forward(new ReadOnlyTensorSpan<float>(x, [Batch, Steps, 3])) : model.Forward(new ReadOnlyTensorSpan<float>(x, [Batch, Steps, 3]), lengths);
        Assert.Equal([Batch, Width], y.Lengths.ToArray());
        float[] flat = new float[y.FlattenedLength];
        y.FlattenTo(flat);
        return flat;
    }

    private static ReadOnlySpan<float> Step(float[] steps, int b, int t) => steps.AsSpan((b * Steps + t) * Width, Width);

    [Fact]
    public void TheFirstStepTheLastOfEachLengthAndTheMeanOfTheValidSteps()
    {
        var (x, steps) = Input();
        float[] first = Pooled(new PoolFirstStep(seed: 3), x, Lengths), last = Pooled(new PoolLastStep(seed: 3), x, Lengths), mean = Pooled(new PoolMeanSteps(seed: 3), x, Lengths),
            max = Pooled(new PoolMaxSteps(seed: 3), x, Lengths);
        for (int b = 0; b < Batch; b++)
        {
            Assert.Equal(Step(steps, b, 0), first.AsSpan(b * Width, Width));
            Assert.Equal(Step(steps, b, Lengths[b] - 1), last.AsSpan(b * Width, Width));
            var sum = new float[Width];
            for (int t = 0; t < Lengths[b]; t++) TensorPrimitives.Add(sum, Step(steps, b, t), sum);
            TensorPrimitives.Divide(sum, Lengths[b], sum);
            Assert.Equal(sum, mean.AsSpan(b * Width, Width).ToArray());
            for (int j = 0; j < Width; j++)
                Assert.Equal(Enumerable.Range(0, Lengths[b]).Max(t => Step(steps, b, t)[j]), max[b * Width + j]);
        }
        // without lengths every step counts (sequence 1's NaN included)
        var (full, _) = Input();
        for (int i = 0; i < full.Length; i++) if (float.IsNaN(full[i])) full[i] = 0.25f;
        float[] fullOutputs = FullSteps(full);
        float[] lastAll = Pooled(new PoolLastStep(seed: 3), full, null), meanAll = Pooled(new PoolMeanSteps(seed: 3), full, null);
        for (int b = 0; b < Batch; b++)
        {
            Assert.Equal(Step(fullOutputs, b, Steps - 1), lastAll.AsSpan(b * Width, Width));
            var sum = new float[Width];
            for (int t = 0; t < Steps; t++) TensorPrimitives.Add(sum, Step(fullOutputs, b, t), sum);
            TensorPrimitives.Divide(sum, Steps, sum);
            Assert.Equal(sum, meanAll.AsSpan(b * Width, Width).ToArray());
        }
        Assert.NotEqual(mean, meanAll);
    }

    private static float[] FullSteps(float[] x)
    {
        Tensor<float> all = new GcPoolSteps(seed: 3).Forward(new ReadOnlyTensorSpan<float>(x, [Batch, Steps, 3]));
        float[] flat = new float[all.FlattenedLength];
        all.FlattenTo(flat);
        return flat;
    }

    [Fact]
    public void ThePoolIsALayerOfTheArchitectureAndTheModelDoesNotStep()
    {
        Assert.Equal(new PoolInfo("pool", 4, PoolKind.Mean), PoolMeanSteps.Architecture.Layers[2]);
        Assert.Equal(new PoolInfo("pool", 4, PoolKind.Last), GcPoolLast.Architecture.Layers[2]);
        Assert.Equal(new PoolInfo("pool", 4, PoolKind.Max), PoolMaxSteps.Architecture.Layers[2]);
        Assert.False(GcPoolFirst.ReturnsSequences);
        Assert.False(GcPoolFirst.CanStep); // (a call that steps is DSL1002 at compile time: "layer 'pool' pools the whole sequence into one vector")
    }
}
