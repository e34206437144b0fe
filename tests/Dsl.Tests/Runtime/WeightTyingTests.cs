using System.Numerics.Tensors;
using Dsl.Onnx;
using Dsl.Tests.Models;
using Dsl.Tests.Onnx;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Weight tying (<c>[Dense(V, TieEmbedding = true)]</c>): one tensor under two names. Listed once (counted, optimised,
/// saved once), found and loaded under either name, refused when a file's two copies differ, exported once to ONNX. The
/// outputs and gradients against PyTorch are ParityTests' LstmTied and AttentionTied, EncoderDecoderParityTests'
/// Seq2SeqTied; finite differences are GradientCheckTests'; the device, DeviceModelTests'.
/// </summary>
public sealed class WeightTyingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dsl-tied-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string file) => Path.Combine(_folder, file);

    [Fact]
    public void TheTableIsOneParameterThatAnswersToBothNames()
    {
        var model = new LstmTied(seed: 1);
        Assert.Equal(["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "dense.bias"],
            model.Parameters.Select(p => p.Name));
        Assert.Equal(new Dictionary<string, string> { ["dense.weight"] = "embedding.weight" }, model.Parameters.Tied);
        Assert.Same(model.Parameters["embedding.weight"], model.Parameters["dense.weight"]);
        Assert.True(model.Parameters.TryGet("dense.weight", out Parameter tied));
        Assert.Same(model.Parameters[0], tied);
        Assert.Equal(11 * 7 + 2 * 28 * 7 + 2 * 28 + 11, model.Parameters.ElementCount);
        var missing = Assert.Throws<KeyNotFoundException>(() => model.Parameters["dense.kernel"]);
        Assert.Contains("dense.bias, dense.weight", missing.Message);
        Assert.Equal("embedding", ((DenseInfo)LstmTied.Architecture.Layers[2]).TiedTo);
        Assert.Null(((DenseInfo)Models.Lstm.Architecture.Layers[2]).TiedTo);
        Assert.Empty(new Models.Lstm().Parameters.Tied);
    }

    [Fact]
    public void ASetRefusesATieToNothingAndANameTakenTwice()
    {
        var a = new Parameter("a", 2, 2);
        var b = new Parameter("b", 2);
        var toNothing = Assert.Throws<ArgumentException>(() => new ParameterSet([a, b], new Dictionary<string, string> { ["c"] = "d" }));
        Assert.Contains("'c' is tied to 'd', which is not a parameter of the set", toNothing.Message);
        var taken = Assert.Throws<ArgumentException>(() => new ParameterSet([a, b], new Dictionary<string, string> { ["b"] = "a" }));
        Assert.Contains("'b' is tied to 'a' but is also a parameter of its own", taken.Message);
    }

    [Fact]
    public void SavedOnceAndLoadedUnderEitherNameOrBoth()
    {
        var source = new LstmTied(seed: 1);
        source.Parameters.Save(PathOf("tied.safetensors"));
        Assert.DoesNotContain("dense.weight", SafeTensors.Read(PathOf("tied.safetensors")).Keys); // as safetensors.torch.save_model
        var target = new LstmTied(seed: 2);
        target.Parameters.Load(PathOf("tied.safetensors"));
        AssertSameValues(source, target);

        // a PyTorch state_dict holds both names (the parity fixture: torch's own file); safetensors' save_model may keep either
        Dictionary<string, SafeTensor> state = SafeTensors.Read(Fixture.Path("LstmTied.weights.safetensors"));
        Assert.Equal(state["embedding.weight"].ToFloat(), state["dense.weight"].ToFloat());
        var fromTorch = new LstmTied(seed: 3);
        fromTorch.Parameters.Load(Fixture.Path("LstmTied.weights.safetensors"));
        Assert.Equal(state["dense.weight"].ToFloat(), fromTorch.Parameters["embedding.weight"].AsSpan().ToArray());
        Write("alias-only.safetensors", source, rename: ("embedding.weight", "dense.weight"));
        var fromAlias = new LstmTied(seed: 4);
        fromAlias.Parameters.Load(PathOf("alias-only.safetensors"));
        AssertSameValues(source, fromAlias);
    }

    [Fact]
    public void TwoNamesThatDifferOrAWrongShapeUnderTheAliasLoadNothing()
    {
        var source = new LstmTied(seed: 1);
        float[] table = source.Parameters["embedding.weight"].AsSpan().ToArray();
        float[] other = table.Select(v => v + 1f).ToArray();
        Write("differ.safetensors", source, extra: ("dense.weight", other, [11, 7]));
        var model = new LstmTied(seed: 5);
        float[] before = model.Parameters["embedding.weight"].AsSpan().ToArray();
        var differ = Assert.Throws<InvalidDataException>(() => model.Parameters.Load(PathOf("differ.safetensors")));
        Assert.Contains("tensors 'dense.weight' and 'embedding.weight' differ, but the model holds one tensor for both (tied weights)", differ.Message);
        Assert.Contains("Nothing was loaded", differ.Message);
        Assert.Equal(before, model.Parameters["embedding.weight"].AsSpan().ToArray());

        Write("shape.safetensors", source, extra: ("dense.weight", table, [7, 11]));
        var shape = Assert.Throws<InvalidDataException>(() => model.Parameters.Load(PathOf("shape.safetensors")));
        Assert.Contains("tensor 'dense.weight' has shape [7, 11], expected [11, 7]", shape.Message);
        Assert.Equal(before, model.Parameters["embedding.weight"].AsSpan().ToArray());

        Write("neither.safetensors", source, rename: ("embedding.weight", "encoder.weight"));
        var neither = Assert.Throws<InvalidDataException>(() => model.Parameters.Load(PathOf("neither.safetensors")));
        Assert.Contains("missing tensor 'embedding.weight' [11, 7]", neither.Message);
        Assert.Contains("unexpected tensor 'encoder.weight'", neither.Message);
    }

    [Fact]
    public void TrainingMovesTheOneTableAndACheckpointResumesIt()
    {
        var model = new LstmTied(seed: 1);
        var optimizer = new Adam(model.Parameters, learningRate: 0.02f);
        var rng = new Rng(7);
        int[] x = Enumerable.Range(0, 4 * 9).Select(_ => (int)(rng.NextFloat() * 11)).ToArray();
        int[] y = x.Select(v => (v + 1) % 11).ToArray(); // predict the next id: the table must serve as input and output
        var input = new ReadOnlyTensorSpan<int>(x, [4, 9]);
        var targets = new ReadOnlyTensorSpan<int>(y, [4, 9]);
        float first = 0, last = 0;
        for (int i = 0; i < 60; i++)
        {
            model.Parameters.ZeroGrad();
            last = model.Backward(input, targets);
            if (i == 0) first = last;
            optimizer.Step();
        }
        Assert.True(last < first * 0.5f, $"tied LSTM: loss {first} -> {last}");

        Checkpoint.Save(PathOf("run.safetensors"), model, optimizer, step: 60);
        var resumed = new LstmTied(seed: 9);
        var resumedOptimizer = new Adam(resumed.Parameters, learningRate: 0.02f);
        Assert.Equal(60, Checkpoint.Load(PathOf("run.safetensors"), resumed, resumedOptimizer));
        foreach (var m in new[] { model, resumed })
        {
            m.Parameters.ZeroGrad();
            m.Backward(input, targets);
        }
        optimizer.Step();
        resumedOptimizer.Step();
        AssertSameValues(model, resumed);
    }

    [Fact]
    public void AnEncoderDecodersDecoderKeepsItsTieUnderItsPrefix()
    {
        var model = new Seq2SeqTied(seed: 1);
        Assert.Equal(new Dictionary<string, string> { ["decoder.dense_1.weight"] = "decoder.embedding.weight" }, model.Parameters.Tied);
        model.Decoder.Parameters["dense_1.weight"].AsSpan()[4] = 42f; // the decoder's tensor, through its alias
        Assert.Equal(42f, model.Parameters["decoder.embedding.weight"].AsSpan()[4]);
        Assert.Equal(42f, model.Parameters["decoder.dense_1.weight"].AsSpan()[4]);
        Assert.DoesNotContain(model.Parameters, p => p.Name == "decoder.dense_1.weight");
    }

    [Fact]
    public void OnnxHoldsTheTableOnceAndComputesAsForward()
    {
        var tied = ExportedBytes(new OnnxTiedWide(seed: 1));
        var untied = ExportedBytes(new OnnxUntiedWide(seed: 1));
        // the untied twin holds a second [300, 32] matrix (38 400 bytes); the tied graph transposes the table instead
        Assert.InRange(untied.Length - tied.Length, 300 * 32 * 4 - 1024, 300 * 32 * 4 + 1024);

        var model = Dsl.Tests.Onnx.OnnxExportTests.Perturbed(new OnnxTiedWide(seed: 2));
        using var session = new InferenceSession(model.ToOnnx());
        var rng = new Rng(3);
        int[] ids = Enumerable.Range(0, 2 * 5).Select(_ => (int)(rng.NextFloat() * 300)).ToArray();
        float[] expected = Parity.ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(ids, [2, 5])));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input",
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids.Select(v => (long)v).ToArray(), [2, 5]))]);
        Tolerance.AssertClose(expected, results.Single().AsEnumerable<float>().ToArray(), "tied ONNX output");
    }

    private static byte[] ExportedBytes(IModel model) => model.ToOnnx();

    private static void AssertSameValues(IModel expected, IModel actual)
    {
        foreach (Parameter p in expected.Parameters)
            Assert.Equal(p.AsSpan().ToArray(), actual.Parameters[p.Name].AsSpan().ToArray());
    }

    /// <summary>Writes <paramref name="model"/>'s parameters, one renamed, and an extra tensor.</summary>
    private void Write(string file, IModel model, (string From, string To)? rename = null, (string Name, float[] Values, int[] Shape)? extra = null)
    {
        var tensors = model.Parameters
            .Select(p => (Name: rename is { } r && p.Name == r.From ? r.To : p.Name, Shape: (ReadOnlyMemory<int>)p.Shape.ToArray(), Values: (ReadOnlyMemory<float>)p.AsSpan().ToArray()))
            .ToList();
        if (extra is { } e) tensors.Add((e.Name, e.Shape, e.Values));
        SafeTensors.Write(PathOf(file), tensors);
    }
}
