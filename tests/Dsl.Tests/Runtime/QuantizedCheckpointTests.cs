using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// A checkpoint quantized by compressed-tensors (the HfLlamaInt8 fixture: llm-compressor's W8A16 layout, 8-bit integer weights
/// with a bfloat16 scale per output channel) loads as the floats it stands for, into a model held in 8 bits as the integers and
/// scales themselves, against make_fixtures.py's reference on the dequantized weights; every other quantization is refused.
/// </summary>
public sealed class QuantizedCheckpointTests : IDisposable
{
    private const string Fixture8 = "HfLlamaInt8";
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-int8-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static Dictionary<string, SafeTensor> Checkpoint() => SafeTensors.Read(Fixture.Path(Path.Combine(Fixture8, "model.safetensors")));

    /// <summary>The floats a quantized weight stands for: each integer times its row's scale, in float32.</summary>
    private static float[] Dequantized(Dictionary<string, SafeTensor> checkpoint, string module)
    {
        SafeTensor q = checkpoint[module + ".weight"];
        float[] scales = checkpoint[module + ".weight_scale"].ToFloat();
        int columns = (int)q.Shape[1];
        return q.Data.Select((b, i) => (sbyte)b * scales[i / columns]).ToArray();
    }

    private static void AssertLogits(IModel<int> model)
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(Fixture8 + ".expected.safetensors"));
        SafeTensor ids = expected["ids"];
        Tolerance.AssertClose(expected["logits"].ToFloat(), ParityModel.Flatten(model.Forward(ParityModel.Span(ids.ToInt32(), ids.Shape))), "logits of the 8-bit checkpoint");
    }

    [Fact]
    public void An8BitCheckpointLoadsAsTheFloatsItStandsFor()
    {
        var model = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path(Fixture8));
        AssertLogits(model);
        Dictionary<string, SafeTensor> checkpoint = Checkpoint();
        float[] inProj = model.Parameters["attention_1.in_proj_weight"].ToArray();
        Assert.Equal(Dequantized(checkpoint, "model.layers.1.self_attn.k_proj"), inProj.AsSpan(16 * 16, 8 * 16).ToArray());
        Assert.Equal(Dequantized(checkpoint, "model.layers.0.mlp.gate_proj"), model.Parameters["dense.weight"].ToArray().AsSpan(24 * 16).ToArray());
    }

    /// <summary>
    /// A model held in 8 bits before it loads takes the checkpoint's integers and scales as they are (each row's scale is the
    /// checkpoint's, not its largest value over 127.5 again), so its weights are the very floats the float32 model loads; holding
    /// the float32 model in 8 bits after it loaded quantizes anew, and gives other values.
    /// </summary>
    [Fact]
    public void AModelHeldIn8BitsTakesTheCheckpointsIntegersAsTheyAre()
    {
        var wide = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(wide, Fixture.Path(Fixture8));
        var held = new HfTinyLlama(seed: 2);
        Assert.True(held.Parameters.HoldWeightsIn(Precision.Int8) > 0);
        HuggingFace.LoadLlama(held, Fixture.Path(Fixture8));
        foreach (string name in new[] { "attention_1.in_proj_weight", "attention_1.out_proj.weight", "dense.weight", "dense_1.weight" })
        {
            Assert.Equal(Precision.Int8, held.Parameters[name].Precision);
            Assert.Equal(wide.Parameters[name].ToArray(), held.Parameters[name].ToArray());
        }
        // (its embedding and output layer, bfloat16 in the checkpoint, are quantized anew as HoldWeightsIn quantizes any weight:
        // the held model computes what float32 weights of its values compute)
        var widened = new HfTinyLlama(seed: 4);
        for (int i = 0; i < held.Parameters.Count; i++) widened.Parameters[i].CopyFrom(held.Parameters[i].ToArray());
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        Tolerance.AssertClose(ParityModel.Flatten(widened.Forward(ParityModel.Span(tokens, [2, 6]))), ParityModel.Flatten(held.Forward(ParityModel.Span(tokens, [2, 6]))),
            "logits held in 8 bits");
        var requantized = new HfTinyLlama(seed: 3);
        HuggingFace.LoadLlama(requantized, Fixture.Path(Fixture8));
        requantized.Parameters.HoldWeightsIn(Precision.Int8);
        Assert.NotEqual(wide.Parameters["attention_1.in_proj_weight"].ToArray(), requantized.Parameters["attention_1.in_proj_weight"].ToArray());
    }

    /// <summary>A copy of the fixture with its config edited and its tensors as <paramref name="edit"/> leaves them (written byte for byte).</summary>
    private string Copy(Action<JsonObject>? config = null, Action<Dictionary<string, SafeTensor>>? edit = null)
    {
        string folder = Path.Combine(_temp, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(Fixture8, "config.json"))))!;
        config?.Invoke(json);
        File.WriteAllText(Path.Combine(folder, "config.json"), json.ToJsonString());
        Dictionary<string, SafeTensor> tensors = Checkpoint();
        edit?.Invoke(tensors);
        WriteRaw(Path.Combine(folder, "model.safetensors"), tensors);
        return folder;
    }

    /// <summary>Tensors written as they are (their type and bytes), as safetensors lays them out.</summary>
    private static void WriteRaw(string path, Dictionary<string, SafeTensor> tensors)
    {
        var header = new JsonObject();
        long offset = 0;
        foreach ((string name, SafeTensor t) in tensors)
        {
            header[name] = new JsonObject { ["dtype"] = t.DType.ToString(), ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(offset, offset + t.Data.Length) };
            offset += t.Data.Length;
        }
        byte[] text = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((long)text.Length));
        file.Write(text);
        foreach (SafeTensor t in tensors.Values) file.Write(t.Data);
    }

    /// <summary>The refusal of loading <paramref name="folder"/>, after which the model holds what it held.</summary>
    private static string Refusal(string folder)
    {
        var model = new HfTinyLlama(seed: 1);
        float[] before = model.Parameters["attention_1.in_proj_weight"].ToArray();
        string message = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(model, folder)).Message;
        Assert.Equal(before, model.Parameters["attention_1.in_proj_weight"].ToArray());
        Assert.Contains("Nothing was loaded", message);
        return message;
    }

    private static JsonObject Weights(JsonObject config) => (JsonObject)config["quantization_config"]!["config_groups"]!["group_0"]!["weights"]!;

    [Fact]
    public void TheWrittenCopyLoadsAsTheFixture()
    {
        var model = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(model, Copy());
        AssertLogits(model);
    }

    [Fact]
    public void AnotherQuantizationIsRefusedNamingWhatDiffers()
    {
        Assert.Contains("quant_method is \"gptq\"", Refusal(Copy(c => c["quantization_config"]!["quant_method"] = "gptq")));
        Assert.Contains("4-bit weights packed", Refusal(Copy(c => c["quantization_config"]!["format"] = "pack-quantized")));
        Assert.Contains("input_activations quantizes activations (W8A8)", Refusal(Copy(c =>
            c["quantization_config"]!["config_groups"]!["group_0"]!["input_activations"] = new JsonObject { ["num_bits"] = 8, ["type"] = "int", ["strategy"] = "token", ["dynamic"] = true })));
        string grouped = Refusal(Copy(c =>
        {
            Weights(c)["strategy"] = "group";
            Weights(c)["group_size"] = 128;
        }));
        Assert.Contains("weights.strategy is \"group\"", grouped);
        Assert.Contains("weights.group_size is 128", grouped);
        Assert.Contains("weights.num_bits is 4", Refusal(Copy(c => Weights(c)["num_bits"] = 4)));
        Assert.Contains("symmetric weights", Refusal(Copy(c => Weights(c)["symmetric"] = false)));
        Assert.Contains("kv_cache_scheme", Refusal(Copy(c => c["quantization_config"]!["kv_cache_scheme"] = new JsonObject { ["num_bits"] = 8 })));
    }

    [Fact]
    public void QuantizedTensorsThatDoNotMatchAreRefused()
    {
        Assert.Contains("'model.layers.1.mlp.up_proj.weight' holds 8-bit integers without a scale",
            Refusal(Copy(edit: t => t.Remove("model.layers.1.mlp.up_proj.weight_scale"))));
        Assert.Contains("'model.layers.0.self_attn.q_proj.weight_zero_point' is not all zeros", Refusal(Copy(edit: t =>
        {
            SafeTensor zero = t["model.layers.0.self_attn.q_proj.weight_zero_point"];
            t["model.layers.0.self_attn.q_proj.weight_zero_point"] = OneAt(zero);
        })));
        Assert.Contains("'model.layers.0.mlp.down_proj.weight_scale' is BF16 [1, 24]", Refusal(Copy(edit: t =>
            t["model.layers.0.mlp.down_proj.weight_scale"] = Reshaped(t["model.layers.0.mlp.up_proj.weight_scale"], [1, 24]))));
        Assert.Contains("activations", Refusal(Copy(edit: t => t["model.layers.0.mlp.down_proj.input_scale"] = t["model.layers.0.mlp.down_proj.weight_scale"])));
    }

    /// <summary>A scale for the whole tensor (compressed-tensors' "tensor" strategy) scales every row of it, held or not.</summary>
    [Fact]
    public void OneScaleForATensorScalesEveryRow()
    {
        const string Module = "model.layers.0.mlp.down_proj";
        string folder = Copy(edit: t => t[Module + ".weight_scale"] = Reshaped(t[Module + ".weight_scale"], [1]));
        Dictionary<string, SafeTensor> checkpoint = Checkpoint();
        float scale = checkpoint[Module + ".weight_scale"].ToFloat()[0];
        float[] expected = checkpoint[Module + ".weight"].Data.Select(b => (sbyte)b * scale).ToArray();
        foreach (bool held in new[] { false, true })
        {
            var model = new HfTinyLlama(seed: 1);
            if (held) model.Parameters.HoldWeightsIn(Precision.Int8);
            HuggingFace.LoadLlama(model, folder);
            Assert.Equal(expected, model.Parameters["dense_1.weight"].ToArray());
        }
    }

    /// <summary>A copy of a tensor with its first byte 1.</summary>
    private static SafeTensor OneAt(SafeTensor t) => Rewritten(t, t.Shape, bytes => bytes[0] = 1);

    private static SafeTensor Reshaped(SafeTensor t, long[] shape) => Rewritten(t, shape, _ => { });

    /// <summary>A tensor of <paramref name="t"/>'s type with <paramref name="shape"/> (its first values) and their bytes changed by <paramref name="change"/>, read back through a file.</summary>
    private static SafeTensor Rewritten(SafeTensor t, long[] shape, Action<byte[]> change)
    {
        // (the first values' bytes, as many as the shape holds)
        byte[] bytes = t.Data.AsSpan(0, (int)(shape.Aggregate(1L, (a, d) => a * d) * (t.Data.Length / t.ElementCount))).ToArray();
        change(bytes);
        string path = Path.GetTempFileName();
        try
        {
            var header = new JsonObject { ["x"] = new JsonObject { ["dtype"] = t.DType.ToString(), ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(0, bytes.Length) } };
            byte[] text = Encoding.UTF8.GetBytes(header.ToJsonString());
            File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)text.Length), .. text, .. bytes]);
            return SafeTensors.Read(path)["x"];
        }
        finally
        {
            File.Delete(path);
        }
    }
}
