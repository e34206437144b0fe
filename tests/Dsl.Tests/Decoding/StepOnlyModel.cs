using System.Numerics.Tensors;

namespace Dsl.Tests.Decoding;

/// <summary>A token model written by hand that only steps (what decoding calls): every other member is refused.</summary>
internal abstract class StepOnlyModel : IModel<int>
{
    public abstract ParameterSet Parameters { get; }
    public abstract int InputWidth { get; }
    public abstract int OutputWidth { get; }
    public abstract bool ReturnsSequences { get; }
    public abstract Rng DropoutRandom { get; }
    public abstract IModelState CreateState(int batch = 1);
    public abstract void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination);

    public Tensor<float> Step(ReadOnlyTensorSpan<int> input, IModelState state) => throw new NotSupportedException();
    public Tensor<float> Forward(ReadOnlyTensorSpan<int> input) => throw new NotSupportedException();
    public void Forward(ReadOnlyTensorSpan<int> input, TensorSpan<float> destination) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets) => throw new NotSupportedException();
    public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets) => throw new NotSupportedException();
    public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets) => throw new NotSupportedException();
    public Tensor<float> Forward(ReadOnlyTensorSpan<int> input, IModelState state) => throw new NotSupportedException();
    public void Forward(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, IModelState state) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, IModelState state) => throw new NotSupportedException();
    public Tensor<float> Forward(ReadOnlyTensorSpan<int> input, ReadOnlySpan<int> lengths) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths) => throw new NotSupportedException();
    public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths) => throw new NotSupportedException();
    public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths) => throw new NotSupportedException();
    public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths) => throw new NotSupportedException();
}
