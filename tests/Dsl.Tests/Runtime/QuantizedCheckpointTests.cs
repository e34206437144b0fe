using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Runtime;

// A LLaMA whose matrices' rows are whole groups of 32 (and 64): a W4A16 checkpoint of groups of 32 loads into 4 bits as it is.
[Embedding(vocab: 40, dim: 64)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(128, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(64, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(128, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(64, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Bias = false)]
public partial class Int4Llama;

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

    /// <summary>
    /// Gemma's loader adjusts its norms as it reads them (1 + weight): its projections, quantized, still go to a model held in 8
    /// bits as their integers and scales (the HfGemma fixture's weights quantized here as compressed-tensors quantizes them).
    /// </summary>
    [Fact]
    public void ALoaderThatAdjustsSomeValuesKeepsTheOthersIntegers()
    {
        string folder = Path.Combine(_temp, "gemma8");
        Directory.CreateDirectory(folder);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine("HfGemma", "config.json"))))!;
        config["quantization_config"] = JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(Fixture8, "config.json"))))!["quantization_config"]!.DeepClone();
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var tensors = new Dictionary<string, SafeTensor>();
        foreach ((string name, SafeTensor t) in SafeTensors.Read(Fixture.Path(Path.Combine("HfGemma", "model.safetensors"))))
        {
            if (!(name.Contains(".layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal)))
            {
                tensors[name] = t;
                continue;
            }
            float[] values = t.ToFloat();
            int rows = (int)t.Shape[0];
            var q = new sbyte[values.Length];
            var scales = new float[rows];
            Kernels.Int8.Quantize(values, (int)t.Shape[1], q, scales);
            tensors[name] = Rewritten(t, SafeTensorsDType.I8, t.Shape, bytes => Buffer.BlockCopy(q, 0, bytes, 0, q.Length));
            tensors[name[..^".weight".Length] + ".weight_scale"] = Rewritten(t, SafeTensorsDType.F32, [rows, 1], bytes => Buffer.BlockCopy(scales, 0, bytes, 0, 4 * rows));
        }
        WriteRaw(Path.Combine(folder, "model.safetensors"), tensors);
        var wide = new HfTinyGemma(seed: 1);
        HuggingFace.LoadLlama(wide, folder);
        var held = new HfTinyGemma(seed: 2);
        held.Parameters.HoldWeightsIn(Precision.Int8);
        HuggingFace.LoadLlama(held, folder);
        int compared = 0;
        foreach (Parameter p in held.Parameters.Where(p => p.Precision == Precision.Int8 && p.Name.Contains("attention", StringComparison.Ordinal)))
        {
            Assert.Equal(wide.Parameters[p.Name].ToArray(), p.ToArray());
            compared++;
        }
        Assert.True(compared > 0);
        Assert.Equal(wide.Parameters.Where(p => p.Name.Contains("norm", StringComparison.Ordinal)).Select(p => p.ToArray()),
            held.Parameters.Where(p => p.Name.Contains("norm", StringComparison.Ordinal)).Select(p => p.ToArray()));
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
        Assert.Contains("8-bit floating-point weights", Refusal(Copy(c => c["quantization_config"]!["format"] = "float-quantized")));
        Assert.Contains("static activation quantization", Refusal(Copy(c =>
            c["quantization_config"]!["config_groups"]!["group_0"]!["input_activations"] = new JsonObject { ["num_bits"] = 8, ["type"] = "int", ["strategy"] = "tensor", ["dynamic"] = false })));
        Assert.Contains("weights.strategy is \"block\"", Refusal(Copy(c => Weights(c)["strategy"] = "block")));
        Assert.Contains("weights.strategy is \"group\" (group_size 0)", Refusal(Copy(c =>
        {
            Weights(c)["strategy"] = "group";
            Weights(c)["group_size"] = 0;
        })));
        Assert.Contains("weights.num_bits is 2: 8 or 4 expected", Refusal(Copy(c => Weights(c)["num_bits"] = 2)));
        Assert.Contains("symmetric weights", Refusal(Copy(c => Weights(c)["symmetric"] = false)));
        Assert.Contains("actorder is \"group\"", Refusal(Copy(c => Weights(c)["actorder"] = "group")));
        // group scales that do not match the config's group_size (compressed-tensors' last group short where it does not divide a row)
        Assert.Contains("groups of 8 of the 24 columns, but the config's group_size is 7", Refusal(Copy(c =>
        {
            Weights(c)["strategy"] = "group";
            Weights(c)["group_size"] = 7;
        }, t => t["model.layers.0.mlp.down_proj.weight_scale"] = Rewritten(t["model.layers.0.mlp.down_proj.weight_scale"], SafeTensorsDType.BF16, [16, 3], _ => { }))));
        Assert.Contains("kv_cache_scheme", Refusal(Copy(c => c["quantization_config"]!["kv_cache_scheme"] = new JsonObject { ["num_bits"] = 8 })));
        Assert.Contains("quantization_config is String", Refusal(Copy(c => c["quantization_config"] = "int8")));
        Assert.Contains("group_size is 128.0: an integer or null expected", Refusal(Copy(c => Weights(c)["group_size"] = JsonNode.Parse("128.0"))));
        Assert.Contains("symmetric is \"false\"", Refusal(Copy(c => Weights(c)["symmetric"] = "false")));
        Assert.Contains("kv_cache_scheme", Refusal(Copy(c =>
        {
            c["quantization_config"]!.AsObject().Remove("config_groups");
            c["quantization_config"]!["kv_cache_scheme"] = new JsonObject { ["num_bits"] = 8 };
        })));
        Assert.Contains("group_0 is Array", Refusal(Copy(c => c["quantization_config"]!["config_groups"]!["group_0"] = new JsonArray())));
    }

    /// <summary>
    /// What compressed-tensors writes besides the fixture's exact layout loads as it: the fields its QuantizationArgs defaults
    /// (8 bits, integers, symmetric, group_size −1 for a scale per channel, actorder false), an older "frozen" status, the older
    /// compression_config key, W8A8's activations quantized as they run (run here in float32: weight-only).
    /// </summary>
    [Fact]
    public void WhatCompressedTensorsWritesBesidesLoadsAsTheFixture()
    {
        foreach (Action<JsonObject> edit in new Action<JsonObject>[]
        {
            c =>
            {
                foreach (string key in new[] { "num_bits", "type", "symmetric", "strategy", "dynamic", "observer", "observer_kwargs" }) Weights(c).Remove(key);
                Weights(c)["group_size"] = -1;
                Weights(c)["actorder"] = false;
            },
            c => c["quantization_config"]!["quantization_status"] = "frozen",
            c => Weights(c)["actorder"] = "static", // (GPTQ's order of work: the columns stay in place)
            c =>
            {
                JsonNode q = c["quantization_config"]!;
                c.Remove("quantization_config");
                c["compression_config"] = q;
            },
            c => c["quantization_config"]!["config_groups"]!["group_0"]!["input_activations"] = new JsonObject { ["num_bits"] = 8, ["type"] = "int", ["strategy"] = "token", ["dynamic"] = true, ["symmetric"] = true },
        })
        {
            var model = new HfTinyLlama(seed: 1);
            HuggingFace.LoadLlama(model, Copy(edit));
            AssertLogits(model);
        }
    }

    /// <summary>
    /// llm-compressor's W8A16 layout: each weight's 8-bit integers packed four to an int32 (<c>weight_packed</c>, q + 128 a byte,
    /// little-endian) beside its <c>weight_shape</c>: the same weights, held or not.
    /// </summary>
    [Fact]
    public void PackedWeightsLoadAsTheirIntegers()
    {
        string folder = Copy(c => c["quantization_config"]!["format"] = "pack-quantized", t =>
        {
            foreach (string module in t.Keys.Where(k => k.EndsWith(".weight_scale", StringComparison.Ordinal)).Select(k => k[..^".weight_scale".Length]).ToList())
            {
                SafeTensor q = t[module + ".weight"];
                t.Remove(module + ".weight");
                t[module + ".weight_packed"] = Rewritten(q, SafeTensorsDType.I32, [q.Shape[0], q.Shape[1] / 4], bytes =>
                {
                    for (int i = 0; i < bytes.Length; i++) bytes[i] ^= 0x80;
                });
                t[module + ".weight_shape"] = Rewritten(q, SafeTensorsDType.I64, [2], bytes =>
                {
                    BitConverter.GetBytes(q.Shape[0]).CopyTo(bytes, 0);
                    BitConverter.GetBytes(q.Shape[1]).CopyTo(bytes, 8);
                });
            }
        });
        var wide = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(wide, Fixture.Path(Fixture8));
        foreach (bool held in new[] { false, true })
        {
            var model = new HfTinyLlama(seed: 2);
            if (held) model.Parameters.HoldWeightsIn(Precision.Int8);
            HuggingFace.LoadLlama(model, folder);
            Assert.Equal(wide.Parameters["attention.in_proj_weight"].ToArray(), model.Parameters["attention.in_proj_weight"].ToArray());
            Assert.Equal(wide.Parameters["dense_1.weight"].ToArray(), model.Parameters["dense_1.weight"].ToArray());
            if (!held) AssertLogits(model);
        }
    }

    /// <summary>
    /// llm-compressor's W4A16: 4-bit integers eight to an int32 (q + 8, the first in the low half of each byte), a scale per
    /// group of 8 columns, read as the floats they stand for (HfLlama's weights quantized so here, as compressed-tensors does).
    /// </summary>
    [Fact]
    public void FourBitGroupsLoadAsTheFloatsTheyStandFor()
    {
        const int Group = 8;
        var expected = new Dictionary<string, float[]>();
        string folder = FourBitCheckpoint(Fixture.Path("HfLlama"), Group, expected);
        var model = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(model, folder);
        Assert.Equal(expected["model.layers.1.self_attn.k_proj"], model.Parameters["attention_1.in_proj_weight"].ToArray().AsSpan(16 * 16, 8 * 16).ToArray());
        Assert.Equal(expected["model.layers.0.mlp.down_proj"], model.Parameters["dense_1.weight"].ToArray());
        // held in 8 bits: quantized anew from those floats (a scale per row), no exact copy of 4-bit groups
        var held = new HfTinyLlama(seed: 2);
        held.Parameters.HoldWeightsIn(Precision.Int8);
        HuggingFace.LoadLlama(held, folder);
        Tolerance.AssertClose(expected["model.layers.0.mlp.down_proj"], held.Parameters["dense_1.weight"].ToArray(), "4-bit weights held in 8 bits", rtol: 0.05f);
    }

    /// <summary>
    /// A W4A16 checkpoint loads into a model held in 4 bits in groups of its own size as the integers and scales themselves —
    /// each weight reads back the checkpoint's very floats, q · scale, fused q/k/v parts and all (quantizing them anew by ONNX
    /// Runtime's rule would scale each group otherwise) —, and computes what the float model loading it computes; held in
    /// groups that divide the checkpoint's, taken as they are too; in larger ones, quantized anew.
    /// </summary>
    [Fact]
    public void FourBitGroupsLoadIntoFourBitsAsTheyAre()
    {
        string source = Path.Combine(_temp, "float");
        HuggingFace.SaveLlama(new Int4Llama(seed: 1), source);
        var expected = new Dictionary<string, float[]>();
        string folder = FourBitCheckpoint(source, 32, expected);
        var floats = new Int4Llama(seed: 2);
        HuggingFace.LoadLlama(floats, folder);
        var held = new Int4Llama(seed: 3);
        held.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 32);
        HuggingFace.LoadLlama(held, folder);
        foreach (string name in new[] { "attention.in_proj_weight", "attention.out_proj.weight", "dense.weight", "dense_1.weight", "attention_1.in_proj_weight", "dense_3.weight" })
        {
            Assert.Equal(Precision.Int4, held.Parameters[name].Precision);
            Assert.Equal(floats.Parameters[name].ToArray(), held.Parameters[name].ToArray());
        }
        Assert.Equal(expected["model.layers.0.mlp.down_proj"], held.Parameters["dense_1.weight"].ToArray());
        // (the table and lm_head, floats in the checkpoint, are quantized anew: the float model takes what they stand for)
        foreach (Parameter p in held.Parameters) floats.Parameters[p.Name].CopyFrom(p.ToArray());
        var tokens = Tensor.Create(new[] { 1, 5, 9, 2, 6, 5, 30, 4 }, [2, 4]);
        Tolerance.AssertClose(Parity.ParityModel.Flatten(floats.Forward(tokens)), Parity.ParityModel.Flatten(held.Forward(tokens)), "the logits");

        // a checkpoint in groups of 64 into groups of 32: each group the scale of the checkpoint's group it lies in, exactly
        var coarse = new Dictionary<string, float[]>();
        string folder64 = FourBitCheckpoint(source, 64, coarse);
        var halves = new Int4Llama(seed: 3);
        halves.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 32);
        HuggingFace.LoadLlama(halves, folder64);
        Assert.Equal(coarse["model.layers.1.mlp.down_proj"], halves.Parameters["dense_3.weight"].ToArray());
        Assert.Equal(32, halves.Parameters["dense_3.weight"].GroupSize);

        var regrouped = new Int4Llama(seed: 3);
        regrouped.Parameters.HoldWeightsIn(Precision.Int4, groupSize: 64);
        HuggingFace.LoadLlama(regrouped, folder);
        float[] anew = regrouped.Parameters["dense.weight"].ToArray(), checkpoint = expected["model.layers.0.mlp.up_proj"].Concat(expected["model.layers.0.mlp.gate_proj"]).ToArray(); // (value rows, then gate rows)
        Assert.NotEqual(checkpoint, anew);
        float[] requantized = new float[anew.Length];
        HeldValues.Of(Precision.Int4, checkpoint, 64, 64).CopyTo(requantized);
        Assert.Equal(requantized, anew);
    }

    /// <summary>
    /// The checkpoint in <paramref name="source"/> with its layers' projections quantized as llm-compressor's W4A16 writes them:
    /// 4-bit integers eight to an int32 (q + 8, the first in the low half of each byte), a scale per <paramref name="group"/>
    /// columns (the largest magnitude over 7.5); config.json saying so. Returns its folder; <paramref name="expected"/> gets each
    /// module's dequantized floats.
    /// </summary>
    private string FourBitCheckpoint(string source, int group, Dictionary<string, float[]> expected)
    {
        string folder = Path.Combine(_temp, "w4-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!;
        var fixture = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(Fixture8, "config.json"))))!;
        config["quantization_config"] = fixture["quantization_config"]!.DeepClone();
        config["quantization_config"]!["format"] = "pack-quantized";
        Weights(config)["num_bits"] = 4;
        Weights(config)["strategy"] = "group";
        Weights(config)["group_size"] = group;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var tensors = new Dictionary<string, SafeTensor>();
        foreach ((string name, SafeTensor t) in SafeTensors.Read(Path.Combine(source, "model.safetensors")))
        {
            if (!(name.Contains(".layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal)))
            {
                tensors[name] = t;
                continue;
            }
            float[] w = t.ToFloat();
            int rows = (int)t.Shape[0], columns = (int)t.Shape[1], groups = columns / group;
            var scales = new float[rows * groups];
            var packed = new byte[w.Length / 2];
            var dequantized = new float[w.Length];
            for (int g = 0; g < scales.Length; g++)
            {
                int at = g / groups * columns + g % groups * group;
                float most = 0;
                for (int j = 0; j < group; j++) most = MathF.Max(most, MathF.Abs(w[at + j]));
                float scale = scales[g] = MathF.Max(most / 7.5f, 1.1920929E-07f);
                for (int j = 0; j < group; j++)
                {
                    int q = (int)Math.Clamp(MathF.Round(w[at + j] / scale), -8f, 7f);
                    dequantized[at + j] = q * scale;
                    packed[(at + j) / 2] |= (byte)((q + 8) << ((at + j) % 2 * 4));
                }
            }
            string module = name[..^".weight".Length];
            tensors[module + ".weight_packed"] = Rewritten(t, SafeTensorsDType.I32, [rows, columns / 8], bytes => packed.CopyTo(bytes, 0));
            tensors[module + ".weight_shape"] = Rewritten(t, SafeTensorsDType.I64, [2], bytes =>
            {
                BitConverter.GetBytes((long)rows).CopyTo(bytes, 0);
                BitConverter.GetBytes((long)columns).CopyTo(bytes, 8);
            });
            tensors[module + ".weight_scale"] = Rewritten(t, SafeTensorsDType.F32, [rows, groups], bytes => Buffer.BlockCopy(scales, 0, bytes, 0, 4 * scales.Length));
            expected[module] = dequantized;
        }
        WriteRaw(Path.Combine(folder, "model.safetensors"), tensors);
        return folder;
    }

    /// <summary>4-bit values of a packed tensor read from any value on, odd or even (the first of each byte in its low half).</summary>
    [Fact]
    public void FourBitValuesReadFromAnyValue()
    {
        int[] q = [.. Enumerable.Range(0, 32).Select(i => i * 5 % 16 - 8)];
        float[] scales = [0.5f, 2f, 0.25f, 1f]; // a scale per group of 8 of two rows of 16
        byte[] bytes = new byte[16];
        for (int i = 0; i < 32; i++) bytes[i / 2] |= (byte)((q[i] + 8) << (i % 2 * 4));
        string path = Path.Combine(_temp, "four.safetensors");
        byte[] header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)header.Length), .. header, .. bytes]);
        SafeTensor view = SafeTensors.Index(path)["w"].Quantized("w", [2, 16], scales, offsetBinary: true, bits: 4);
        foreach ((int first, int count) in new[] { (0, 32), (1, 30), (7, 3), (16, 16), (31, 1) })
        {
            var floats = new float[count];
            view.CopyFloatsTo(first, floats);
            Assert.Equal(Enumerable.Range(first, count).Select(i => q[i] * scales[i / 8]), floats);
        }
        // compressed-tensors' pack_to_int32 of one row −8 … 7: the int32s 0x76543210 and 0xFEDCBA98
        string constant = Path.Combine(_temp, "constant.safetensors");
        byte[] words = [.. BitConverter.GetBytes(0x76543210), .. BitConverter.GetBytes(unchecked((int)0xFEDCBA98))];
        byte[] one = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}");
        File.WriteAllBytes(constant, [.. BitConverter.GetBytes((long)one.Length), .. one, .. words]);
        var row = new float[16];
        SafeTensors.Index(constant)["w"].Quantized("w", [1, 16], [1f], offsetBinary: true, bits: 4).CopyFloatsTo(0, row);
        Assert.Equal(Enumerable.Range(-8, 16).Select(v => (float)v), row);
    }

    /// <summary>8-bit integers with a scale per group of a row's columns read each group times its own scale (held in 8 bits: quantized anew per row).</summary>
    [Fact]
    public void EightBitGroupsReadEachTimesItsScale()
    {
        const string Module = "model.layers.0.mlp.down_proj"; // [16, 24]: three groups of 8 a row
        Dictionary<string, SafeTensor> checkpoint = Checkpoint();
        float[] rowScales = checkpoint[Module + ".weight_scale"].ToFloat();
        float[] groupScales = [.. Enumerable.Range(0, 48).Select(g => rowScales[g / 3] * (g % 3 + 1))];
        string folder = Copy(c =>
        {
            Weights(c)["strategy"] = "group";
            Weights(c)["group_size"] = 8;
        }, t => t[Module + ".weight_scale"] = Rewritten(t[Module + ".weight_scale"], SafeTensorsDType.F32, [16, 3], bytes => Buffer.BlockCopy(groupScales, 0, bytes, 0, 4 * 48)));
        float[] expected = [.. checkpoint[Module + ".weight"].Data.Select((b, i) => (sbyte)b * groupScales[i / 24 * 3 + i % 24 / 8])];
        var model = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(model, folder);
        Assert.Equal(expected, model.Parameters["dense_1.weight"].ToArray());
        var held = new HfTinyLlama(seed: 2);
        held.Parameters.HoldWeightsIn(Precision.Int8);
        HuggingFace.LoadLlama(held, folder);
        float[] heldValues = held.Parameters["dense_1.weight"].ToArray();
        for (int i = 0; i < expected.Length; i++)
        {
            // within half a step of its row's own scale (its largest magnitude over 127.5)
            float step = expected.AsSpan(i / 24 * 24, 24).ToArray().Max(MathF.Abs) / 127.5f;
            Assert.True(MathF.Abs(expected[i] - heldValues[i]) <= 0.5f * step * 1.001f, $"value {i}: {heldValues[i]} held for {expected[i]}");
        }
    }

    /// <summary>A quantization config with nothing quantized (compressed-tensors' sparsity alone, dense) leaves a float checkpoint as it is.</summary>
    [Fact]
    public void AConfigThatQuantizesNothingLeavesTheFloats()
    {
        string folder = Path.Combine(_temp, "dense");
        Directory.CreateDirectory(folder);
        File.Copy(Fixture.Path(Path.Combine("HfLlama", "model.safetensors")), Path.Combine(folder, "model.safetensors"));
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine("HfLlama", "config.json"))))!;
        config["quantization_config"] = new JsonObject { ["quant_method"] = "compressed-tensors", ["version"] = "0.9.0", ["sparsity_config"] = new JsonObject { ["format"] = "dense" } };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        HfTinyLlama model = new(seed: 1), plain = new(seed: 1);
        HuggingFace.LoadLlama(model, folder);
        HuggingFace.LoadLlama(plain, Fixture.Path("HfLlama"));
        for (int i = 0; i < plain.Parameters.Count; i++) Assert.Equal(plain.Parameters[i].ToArray(), model.Parameters[i].ToArray());
    }

    /// <summary>A quantization not read is refused by its config before any tensor's header is read (8-bit floats' F8_E4M3 is no type a header may name here).</summary>
    [Fact]
    public void AQuantizationNotReadIsRefusedBeforeTheHeaders()
    {
        string folder = Copy(c => c["quantization_config"]!["format"] = "float-quantized");
        byte[] header = Encoding.UTF8.GetBytes("{\"model.embed_tokens.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[17,16],\"data_offsets\":[0,272]}}");
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), [.. BitConverter.GetBytes((long)header.Length), .. header, .. new byte[272]]);
        Assert.Contains("8-bit floating-point weights", Refusal(folder));
    }

    [Fact]
    public void QuantizedTensorsThatDoNotMatchAreRefused()
    {
        Assert.Contains("'model.layers.1.mlp.up_proj.weight' holds integers without a scale",
            Refusal(Copy(edit: t => t.Remove("model.layers.1.mlp.up_proj.weight_scale"))));
        Assert.Contains("'model.layers.0.self_attn.q_proj.weight_zero_point' is not all zeros", Refusal(Copy(edit: t =>
        {
            SafeTensor zero = t["model.layers.0.self_attn.q_proj.weight_zero_point"];
            t["model.layers.0.self_attn.q_proj.weight_zero_point"] = OneAt(zero);
        })));
        Assert.Contains("'model.layers.0.mlp.down_proj.weight_scale' is BF16 [1, 24]", Refusal(Copy(edit: t =>
            t["model.layers.0.mlp.down_proj.weight_scale"] = Reshaped(t["model.layers.0.mlp.up_proj.weight_scale"], [1, 24]))));
        Assert.Contains("activations", Refusal(Copy(edit: t => t["model.layers.0.mlp.down_proj.input_scale"] = t["model.layers.0.mlp.down_proj.weight_scale"])));
        Assert.Contains("finite positive scales expected", Refusal(Copy(edit: t =>
            t["model.layers.1.mlp.up_proj.weight_scale"] = Rewritten(t["model.layers.1.mlp.up_proj.weight_scale"], SafeTensorsDType.BF16, [24, 1], bytes => bytes[6] = bytes[7] = 0))));
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

    /// <summary>
    /// A quantized tensor left in its file reads any range of its values, in chunks shorter than a row: each integer as it is, or
    /// times its row's scale; stored as q + 128 (packed), the same.
    /// </summary>
    [Fact]
    public void AQuantizedTensorReadsAnyRangeInChunks()
    {
        sbyte[] q = [.. Enumerable.Range(0, 40).Select(i => (sbyte)(i * 13 % 256 - 128))];
        float[] scales = [0.5f, 0.25f, 2f, 1f, 0.125f];
        int chunk = SafeTensor.ReadChunkValues;
        try
        {
            SafeTensor.ReadChunkValues = 3;
            foreach (bool packed in new[] { false, true })
            {
                string path = Path.Combine(_temp, packed ? "packed.safetensors" : "plain.safetensors");
                byte[] bytes = [.. q.Select(v => (byte)(packed ? v ^ unchecked((sbyte)0x80) : v))];
                byte[] header = Encoding.UTF8.GetBytes($"{{\"w\":{{\"dtype\":\"{(packed ? "I32" : "I8")}\",\"shape\":[5,{(packed ? 2 : 8)}],\"data_offsets\":[0,40]}}}}");
                File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)header.Length), .. header, .. bytes]);
                SafeTensor view = SafeTensors.Index(path)["w"].Quantized("w", [5, 8], scales, packed);
                foreach ((int first, int count) in new[] { (0, 40), (5, 20), (11, 1), (37, 3), (8, 8) })
                {
                    var floats = new float[count];
                    var integers = new sbyte[count];
                    view.CopyFloatsTo(first, floats);
                    view.CopyInt8To(first, integers);
                    Assert.Equal(q.AsSpan(first, count).ToArray(), integers);
                    Assert.Equal(Enumerable.Range(first, count).Select(i => q[i] * scales[i / 8]), floats);
                }
            }
        }
        finally
        {
            SafeTensor.ReadChunkValues = chunk;
        }
    }

    /// <summary>A copy of a tensor with its first byte 1.</summary>
    private static SafeTensor OneAt(SafeTensor t) => Rewritten(t, t.DType, t.Shape, bytes => bytes[0] = 1);

    private static SafeTensor Reshaped(SafeTensor t, long[] shape) => Rewritten(t, t.DType, shape, _ => { });

    /// <summary>A tensor of <paramref name="type"/> and <paramref name="shape"/> holding <paramref name="t"/>'s first bytes, changed by <paramref name="change"/>, read back through a file.</summary>
    private static SafeTensor Rewritten(SafeTensor t, SafeTensorsDType type, long[] shape, Action<byte[]> change)
    {
        // (the first bytes, as many as the shape holds of the type, zeros past the tensor's)
        int size = type switch { SafeTensorsDType.I64 => 8, SafeTensorsDType.I32 or SafeTensorsDType.F32 => 4, SafeTensorsDType.BF16 => 2, _ => 1 };
        var bytes = new byte[shape.Aggregate(1L, (a, d) => a * d) * size];
        t.Data.AsSpan(0, Math.Min(bytes.Length, t.Data.Length)).CopyTo(bytes);
        change(bytes);
        string path = Path.GetTempFileName();
        try
        {
            var header = new JsonObject { ["x"] = new JsonObject { ["dtype"] = type.ToString(), ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(0, bytes.Length) } };
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
