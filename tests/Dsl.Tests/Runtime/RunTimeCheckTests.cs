using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>What the compiler cannot know is checked at run time, with messages that name the tensor, the expected and the actual shape.</summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public class RunTimeCheckTests
{
    [Fact]
    public void WrongFeatureCountNamesTheInputAndBothShapes()
    {
        var model = new GruCho();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<float>(new float[2 * 5 * 4], [2, 5, 4])));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("expected shape [batch, steps, 3] but got [2, 5, 4]", e.Message);
    }

    [Fact]
    public void WrongRankIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(new int[6], [6])));
        Assert.Contains("tokens: expected shape [batch, steps] but got [6]", e.Message);
    }

    [Fact]
    public void TokenOutsideTheVocabularyIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([1, 2, 11, 3], [2, 2])));
        Assert.Contains("token id 11 at flat position 2 is outside the vocabulary [0, 11)", e.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([1, -1, 0, 3], [2, 2])));
    }

    [Fact]
    public void TargetsOfAnotherBatchOrStepCountAreRejected()
    {
        var model = new Models.Lstm();
        var tokens = new int[2 * 3];
        var e = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>(tokens, [2, 3]), new ReadOnlyTensorSpan<int>(new int[2 * 4], [2, 4])));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("expected shape [batch, steps] but got [2, 4]", e.Message);
        var f = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>(tokens, [2, 3]), new ReadOnlyTensorSpan<float>(new float[2 * 3 * 5], [2, 3, 5])));
        Assert.Contains("expected shape [batch, steps, 11] but got [2, 3, 5]", f.Message);
    }

    [Fact]
    public void ClassIdBeyondTheOutputIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>([1, 2], [1, 2]), new ReadOnlyTensorSpan<int>([3, 11], [1, 2])));
        Assert.Contains("class id 11", e.Message);
    }

    [Fact]
    public void DestinationOfTheWrongShapeIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() =>
            model.Forward(new ReadOnlyTensorSpan<int>(new int[4], [2, 2]), new TensorSpan<float>(new float[2 * 2 * 10], [2, 2, 10])));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("[2, 2, 11] but got [2, 2, 10]", e.Message);
    }

    [Fact]
    public void NonFiniteLossRaisesAndAccumulatesNothing()
    {
        var model = new GruCho();
        float[] x = new float[2 * 3 * 3];
        x[4] = float.NaN;
        var e = Assert.Throws<ArithmeticException>(() =>
            model.Backward(new ReadOnlyTensorSpan<float>(x, [2, 3, 3]), new ReadOnlyTensorSpan<float>(new float[2 * 3 * 2], [2, 3, 2])));
        Assert.Contains("GruCho: the loss is NaN", e.Message);
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
    }

    [Fact]
    public void EveryTargetIgnoredIsReportedNotTrainedOn()
    {
        var model = new Models.Lstm();
        Assert.Throws<ArithmeticException>(() =>
            model.Backward(new ReadOnlyTensorSpan<int>([1, 2], [1, 2]), new ReadOnlyTensorSpan<int>([-100, -1], [1, 2])));
    }

    [Fact]
    public void ATrainingStepAllocatesNothingOnceWarm()
    {
        // Wide enough that the products are packed and split over the cores.
        var model = new LstmWide();
        var optimizer = new Adam(model.Parameters);
        var rng = new Rng(1);
        int[] x = Enumerable.Range(0, 16 * 40).Select(_ => rng.NextInt(13)).ToArray();
        int[] y = Enumerable.Range(0, 16 * 40).Select(_ => rng.NextInt(13)).ToArray();
        void Step()
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(x, [16, 40]), new ReadOnlyTensorSpan<int>(y, [16, 40]));
            model.Parameters.ClipGradNorm(1f);
            optimizer.Step();
        }
        Step();
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ForwardIntoADestinationAllocatesNothingOnceWarm()
    {
        var model = new Models.Lstm();
        var tokens = new int[3 * 5];
        var output = new float[3 * 5 * 11];
        model.Forward(new ReadOnlyTensorSpan<int>(tokens, [3, 5]), new TensorSpan<float>(output, [3, 5, 11]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Forward(new ReadOnlyTensorSpan<int>(tokens, [3, 5]), new TensorSpan<float>(output, [3, 5, 11]));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
