using System.Numerics.Tensors;
using Dsl.Tests.Models;

namespace Dsl.Tests.Parity;

/// <summary>A generated model seen through the inputs a fixture holds (token ids or floats, class ids or float targets).</summary>
internal interface IParityModel
{
    ParameterSet Parameters { get; }

    float[] Forward(SafeTensor input);

    float Backward(SafeTensor input, SafeTensor targets);
}

internal static class ParityModel
{
    public static IParityModel Create(string name) => name switch
    {
        nameof(RnnTanh) => Tokens(new RnnTanh(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(RnnRelu) => Floats(new RnnRelu(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(Models.Lstm) => Tokens(new Models.Lstm(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(Models.Gru) => Tokens(new Models.Gru(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(GruCho) => Floats(new GruCho(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(LstmStackedBidirectional) => Floats(new LstmStackedBidirectional(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(GruBidirectionalManyToOne) => Tokens(new GruBidirectionalManyToOne(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(LstmStackedManyToOne) => Floats(new LstmStackedManyToOne(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(RnnStackedBidirectional) => Tokens(new RnnStackedBidirectional(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(GruChoStackedBidirectional) => Floats(new GruChoStackedBidirectional(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(LstmGruDense) => Tokens(new LstmGruDense(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        nameof(LstmSingleStep) => Tokens(new LstmSingleStep(), m => m.Parameters, (m, x) => m.Forward(x), (m, x, t) => m.Backward(x, t), (m, x, t) => m.Backward(x, t)),
        _ => throw new ArgumentException($"No parity model named '{name}'.", nameof(name)),
    };

    public delegate Tensor<float> ForwardOf<TModel, TIn>(TModel model, ReadOnlyTensorSpan<TIn> input);

    public delegate float BackwardOf<TModel, TIn, TTarget>(TModel model, ReadOnlyTensorSpan<TIn> input, ReadOnlyTensorSpan<TTarget> targets);

    private static IParityModel Tokens<TModel>(TModel model, Func<TModel, ParameterSet> parameters, ForwardOf<TModel, int> forward,
        BackwardOf<TModel, int, int> classTargets, BackwardOf<TModel, int, float> floatTargets) =>
        new Adapter<TModel, int>(model, parameters(model), forward, classTargets, floatTargets, t => t.ToInt32());

    private static IParityModel Floats<TModel>(TModel model, Func<TModel, ParameterSet> parameters, ForwardOf<TModel, float> forward,
        BackwardOf<TModel, float, int> classTargets, BackwardOf<TModel, float, float> floatTargets) =>
        new Adapter<TModel, float>(model, parameters(model), forward, classTargets, floatTargets, t => t.ToFloat());

    public static ReadOnlyTensorSpan<T> Span<T>(T[] values, long[] shape) => new(values, shape.Select(d => (nint)d).ToArray());

    private sealed class Adapter<TModel, TIn>(TModel model, ParameterSet parameters, ForwardOf<TModel, TIn> forward,
        BackwardOf<TModel, TIn, int> classTargets, BackwardOf<TModel, TIn, float> floatTargets, Func<SafeTensor, TIn[]> read) : IParityModel
    {
        public ParameterSet Parameters => parameters;

        public float[] Forward(SafeTensor input)
        {
            Tensor<float> y = forward(model, Span(read(input), input.Shape));
            var flat = new float[y.FlattenedLength];
            y.FlattenTo(flat);
            return flat;
        }

        public float Backward(SafeTensor input, SafeTensor targets) =>
            targets.DType is SafeTensorsDType.I64 or SafeTensorsDType.I32
                ? classTargets(model, Span(read(input), input.Shape), Span(targets.ToInt32(), targets.Shape))
                : floatTargets(model, Span(read(input), input.Shape), Span(targets.ToFloat(), targets.Shape));
    }
}
