using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// Starting from a given state (PyTorch's h0, c0, detached): outputs, loss, every gradient and the final
/// state match PyTorch; and chunked passes that carry the state equal one pass over the whole sequence.
/// </summary>
public class StatefulParityTests
{
    public static TheoryData<string> Cases => new() { nameof(StatefulLstm), nameof(StatefulGru), nameof(StatefulGruCho), nameof(StatefulRnn), nameof(StatefulLstmProjection) };

    private static IModel<int>? Tokens(string name) => name switch
    {
        nameof(StatefulLstm) => new StatefulLstm(),
        nameof(StatefulRnn) => new StatefulRnn(),
        nameof(StatefulLstmProjection) => new StatefulLstmProjection(),
        _ => null,
    };

    private static IModel<float>? Floats(string name) => name switch
    {
        nameof(StatefulGru) => new StatefulGru(),
        nameof(StatefulGruCho) => new StatefulGruCho(),
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FromAGivenStateMatchesPyTorch(string name)
    {
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        if (Tokens(name) is { } tokens) Check(tokens, name, expected, t => t.ToInt32());
        else Check(Floats(name)!, name, expected, t => t.ToFloat());
    }

    private static void Check<TIn>(IModel<TIn> model, string name, Dictionary<string, SafeTensor> expected, Func<SafeTensor, TIn[]> read)
    {
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        SafeTensor input = expected["input"], targets = expected["targets"];
        int batch = (int)input.Shape[0];
        var x = ParityModel.Span(read(input), input.Shape);

        IModelState state = model.CreateState(batch);
        SetInitial(state, expected);
        Tolerance.AssertClose(expected["output"].ToFloat(), ParityModel.Flatten(model.Forward(x, state)), $"{name} output");
        AssertFinal(state, expected, name);

        SetInitial(state, expected);
        model.Parameters.ZeroGrad();
        float loss = targets.DType == SafeTensorsDType.I64
            ? model.Backward(x, ParityModel.Span(targets.ToInt32(), targets.Shape), state)
            : model.Backward(x, ParityModel.Span(targets.ToFloat(), targets.Shape), state);
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} loss");
        Tolerance.AssertGradients(expected, model.Parameters, name);
        AssertFinal(state, expected, name);
    }

    private static void SetInitial(IModelState state, Dictionary<string, SafeTensor> expected)
    {
        Assert.NotEmpty(state.Tensors);
        foreach (NamedTensor t in state.Tensors) expected["initial." + t.Name].ToFloat().CopyTo(t.AsSpan());
    }

    private static void AssertFinal(IModelState state, Dictionary<string, SafeTensor> expected, string name)
    {
        foreach (NamedTensor t in state.Tensors) Tolerance.AssertClose(expected["final." + t.Name].ToFloat(), t.AsSpan(), $"{name} final {t.Name}");
    }

    [Fact]
    public void ChunksThatCarryTheStateEqualOnePass()
    {
        var model = new StatefulLstm(seed: 3);
        const int batch = 2, steps = 9;
        var rng = new Rng(4);
        int[] x = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(11)).ToArray();
        float[] whole = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(x, [batch, steps])));
        var state = model.CreateState(batch);
        int start = 0;
        foreach (int length in new[] { 4, 1, 4 })
        {
            int[] chunk = new int[batch * length];
            for (int b = 0; b < batch; b++) Array.Copy(x, b * steps + start, chunk, b * length, length);
            float[] y = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(chunk, [batch, length]), state));
            for (int b = 0; b < batch; b++)
                Tolerance.AssertClose(whole.AsSpan((b * steps + start) * 11, length * 11), y.AsSpan(b * length * 11, length * 11), $"chunk at {start}, sequence {b}");
            start += length;
        }
    }
}
