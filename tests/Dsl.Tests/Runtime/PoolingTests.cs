using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="Pooling"/>: each sequence's valid steps averaged, the padded ones left out; its first step; its last valid step;
/// normalised when asked; bad shapes refused.
/// </summary>
public class PoolingTests
{
    [Fact]
    public void TheMeanTakesEachSequencesValidStepsAndNormalisesWhenAsked()
    {
        // [2, 3, 2]: the second sequence's last step is padding (a value no mean may take)
        float[] values = [1, 2, 3, 4, 5, 6, /* */ 3, 4, 1, 0, 1000, 1000];
        Tensor<float> hidden = Tensor.Create(values, [2, 3, 2]);
        Tensor<float> mean = Pooling.Mean(hidden, [3, 2]);
        Assert.Equal([2, 2], mean.Lengths.ToArray());
        Assert.Equal([3f, 4f, 2f, 2f], Dsl.Tests.Parity.ParityModel.Flatten(mean));
        float[] unit = Dsl.Tests.Parity.ParityModel.Flatten(Pooling.Mean(hidden, [3, 2], normalize: true));
        Assert.Equal([0.6f, 0.8f], unit[..2]);
        Assert.Equal(1f, MathF.Sqrt(unit[2] * unit[2] + unit[3] * unit[3]), 6);
        // a mean of zeros stays zero (the norm's floor, 1e-12, divides it)
        Assert.All(Dsl.Tests.Parity.ParityModel.Flatten(Pooling.Mean(Tensor.Create(new float[4], [1, 2, 2]), [2], normalize: true)), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TheFirstStepIsEachSequencesClsState()
    {
        Tensor<float> hidden = Tensor.Create(new float[] { 3, 4, 9, 9, /* */ 0, 2, 9, 9 }, [2, 2, 2]);
        Assert.Equal([3f, 4f, 0f, 2f], Dsl.Tests.Parity.ParityModel.Flatten(Pooling.First(hidden)));
        Assert.Equal([0.6f, 0.8f, 0f, 1f], Dsl.Tests.Parity.ParityModel.Flatten(Pooling.First(hidden, normalize: true)));
        Assert.Contains("got 2 dimension(s)", Assert.Throws<ArgumentException>(() => Pooling.First(Tensor.Create(new float[4], [2, 2]))).Message);
        Assert.Contains("the outputs have no steps", Assert.Throws<ArgumentException>(() => Pooling.First(Tensor.Create(new float[0], [2, 0, 2]))).Message);
    }

    [Fact]
    public void TheLastValidStepIsEachSequencesLastToken()
    {
        Tensor<float> hidden = Tensor.Create(new float[] { 9, 9, 3, 4, /* */ 0, 2, 9, 9 }, [2, 2, 2]);
        Assert.Equal([3f, 4f, 0f, 2f], Dsl.Tests.Parity.ParityModel.Flatten(Pooling.Last(hidden, [2, 1])));
        Assert.Equal([0.6f, 0.8f, 0f, 1f], Dsl.Tests.Parity.ParityModel.Flatten(Pooling.Last(hidden, [2, 1], normalize: true)));
        Assert.Equal([3f, 4f, 9f, 9f], Dsl.Tests.Parity.ParityModel.Flatten(Pooling.Last(hidden, [])));
        Assert.Contains("Pooling.Last: sequence 1's length is 3; expected 1 to 2", Assert.Throws<ArgumentException>(() => Pooling.Last(hidden, [1, 3])).Message);
    }

    [Fact]
    public void ShapesAndLengthsThatDoNotFitAreRefused()
    {
        Tensor<float> hidden = Tensor.Create(new float[12], [2, 3, 2]);
        Assert.Contains("expected outputs of a sequence, [batch, steps, width], got 2 dimension(s)", Assert.Throws<ArgumentException>(() => Pooling.Mean(Tensor.Create(new float[4], [2, 2]), [1, 1])).Message);
        Assert.Contains("1 lengths for 2 sequences", Assert.Throws<ArgumentException>(() => Pooling.Mean(hidden, [3])).Message);
        Assert.Contains("sequence 1's length is 4; expected 1 to 3", Assert.Throws<ArgumentException>(() => Pooling.Mean(hidden, [3, 4])).Message);
        Assert.Contains("sequence 0's length is 0", Assert.Throws<ArgumentException>(() => Pooling.Mean(hidden, [0, 1])).Message);
    }
}
