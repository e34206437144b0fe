using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// Outputs, loss and every parameter gradient match PyTorch 1.13 on the same weights
/// (fixtures from Fixtures/make_fixtures.py) to 1e-4 relative.
/// </summary>
public class ParityTests
{
    public static TheoryData<string> Cases => new(ParityModel.Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardLossAndGradientsMatchPyTorch(string name)
    {
        IParityModel model = ParityModel.Create(name);
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));

        float[] output = model.Forward(expected["input"]);
        Tolerance.AssertClose(expected["output"].ToFloat(), output, $"{name} output");

        model.Parameters.ZeroGrad();
        float loss = model.Backward(expected["input"], expected["targets"]);
        Tolerance.AssertClose(expected["loss"].ToFloat(), new[] { loss }, $"{name} loss");
        Tolerance.AssertGradients(expected, model.Parameters, name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsAccumulateUntilZeroed(string name)
    {
        IParityModel model = ParityModel.Create(name);
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        model.Backward(expected["input"], expected["targets"]);
        model.Backward(expected["input"], expected["targets"]);
        foreach (Parameter p in model.Parameters)
        {
            float[] twice = expected["grad." + p.Name].ToFloat().Select(v => 2 * v).ToArray();
            Tolerance.AssertClose(twice, p.GradAsSpan().ToArray(), $"{name} 2 × grad.{p.Name}");
        }

        // ZeroGrad clears every gradient, and the next Backward starts from zero: exactly one pass's gradient again.
        model.Parameters.ZeroGrad();
        foreach (Parameter p in model.Parameters)
            Assert.True(p.GradAsSpan().ToArray().All(v => v == 0f), $"{name}: grad.{p.Name} is not zero after ZeroGrad");
        model.Backward(expected["input"], expected["targets"]);
        Tolerance.AssertGradients(expected, model.Parameters, name + " after ZeroGrad");
    }
}
