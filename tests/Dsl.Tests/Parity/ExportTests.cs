using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Parity;

/// <summary>
/// Weights move both ways. PyTorch → Dsl: every parity test loads a PyTorch state_dict and this test trains on.
/// Dsl → PyTorch: this test trains here and writes Fixtures/exported/*.safetensors (weights, and the inputs and
/// outputs they give here); <c>/usr/bin/python3 tests/Dsl.Tests/Fixtures/make_fixtures.py --check-exported</c>
/// loads them into the matching nn.Module with <c>load_state_dict</c> and checks that PyTorch computes the same outputs.
/// </summary>
public class ExportTests
{
    private static string ExportDirectory([CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "..", "Fixtures", "exported");

    [Fact]
    public void WeightsTrainedInPyTorchContinueTrainingAndTrainedWeightsExportForPyTorch()
    {
        // Start from PyTorch's weights (the Lstm parity case), train a few steps here.
        var model = new LstmGruDense();
        model.Parameters.Load(Fixture.Path(nameof(LstmGruDense) + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(nameof(LstmGruDense) + ".expected.safetensors"));
        int[] x = expected["input"].ToInt32();
        int[] y = expected["targets"].ToInt32();
        var shape = expected["input"].Shape.Select(d => (nint)d).ToArray();
        var optimizer = new Adam(model.Parameters, learningRate: 0.01f);
        float first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            model.Parameters.ZeroGrad();
            last = model.Backward(new ReadOnlyTensorSpan<int>(x, shape), new ReadOnlyTensorSpan<int>(y, shape));
            if (i == 0) first = last;
            optimizer.Step();
        }
        Assert.True(last < first * 0.8f, $"training from PyTorch's weights: loss {first} -> {last}");

        // Export what PyTorch needs to check it: the weights as a plain state_dict, and inputs with our outputs.
        string directory = ExportDirectory();
        Directory.CreateDirectory(directory);
        model.Parameters.Save(Path.Combine(directory, "LstmGruDense.weights.safetensors"));
        float[] output = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(x, shape)));
        SafeTensors.Write(Path.Combine(directory, "LstmGruDense.check.safetensors"), new (string, ReadOnlyMemory<int>, ReadOnlyMemory<float>)[]
        {
            ("input", shape.Select(d => (int)d).ToArray(), x.Select(v => (float)v).ToArray()),
            ("output", new[] { (int)shape[0], (int)shape[1], 10 }, output),
        });
        var reread = new LstmGruDense();
        reread.Parameters.Load(Path.Combine(directory, "LstmGruDense.weights.safetensors"));
        Assert.Equal(output, ParityModel.Flatten(reread.Forward(new ReadOnlyTensorSpan<int>(x, shape))));
    }
}
