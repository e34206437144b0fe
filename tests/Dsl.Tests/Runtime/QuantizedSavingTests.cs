using System.Text.Json.Nodes;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// A model held in 8 bits saves through the Hugging Face savers as compressed-tensors' <c>int-quantized</c> checkpoint: each
/// weight matrix its I8 integers beside a <c>weight_scale</c> per output channel, config.json's <c>quantization_config</c>
/// saying so; tables of embeddings and matrices a saver adjusts as the floats they stand for, the adjusted layers named in
/// <c>ignore</c>. Loaded back, a model held in 8 bits takes the very integers and scales, and a float32 model their floats.
/// </summary>
public sealed class QuantizedSavingTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-int8-save-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static Dictionary<string, SafeTensor> Saved(string folder) => SafeTensors.Read(Path.Combine(folder, "model.safetensors"));

    private static JsonObject Quantization(string folder) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["quantization_config"]!;

    private static string[] Ignored(string folder) => [.. Quantization(folder)["ignore"]!.AsArray().Select(n => (string)n!)];

    /// <summary>A model <paramref name="create"/> makes with seed 1, held in 8 bits, written by <paramref name="save"/> into a folder named <paramref name="name"/>.</summary>
    private (T Held, string Folder) SavedHeld<T>(Func<int, T> create, Action<IModel, string> save, string name) where T : IModel
    {
        T held = create(1);
        Assert.True(held.Parameters.HoldWeightsIn(Precision.Int8) > 0);
        string folder = Path.Combine(_temp, name);
        save(held, folder);
        return (held, folder);
    }

    /// <summary><paramref name="folder"/> read by <paramref name="load"/> into a model <paramref name="create"/> makes with seed 2, held in 8 bits before it loads.</summary>
    private static T LoadedHeld<T>(Func<int, T> create, Action<IModel, string> load, string folder) where T : IModel
    {
        T again = create(2);
        again.Parameters.HoldWeightsIn(Precision.Int8);
        load(again, folder);
        return again;
    }

    /// <summary>
    /// Every parameter of <paramref name="model"/> held as <paramref name="expected"/>'s is: the same precision, integers and
    /// scales (or floats); the token table, written as the floats it stands for (no Linear layer), quantized anew from them:
    /// each value within a step of its row's new scale.
    /// </summary>
    private static void AssertHeldAlike(IModel expected, IModel model)
    {
        foreach (Parameter p in expected.Parameters)
        {
            Parameter q = model.Parameters[p.Name];
            Assert.Equal(p.Precision, q.Precision);
            if (p.Name == "embedding.weight")
            {
                float[] a = p.ToArray(), b = q.ToArray();
                float step = q.Weights.Int8Scales.ToArray().Max();
                Assert.All(Enumerable.Range(0, a.Length), i => Assert.True(MathF.Abs(a[i] - b[i]) <= step, $"{p.Name}[{i}]: {a[i]} against {b[i]}"));
                continue;
            }
            Assert.Equal(p.ToArray(), q.ToArray());
            if (p.Precision == Precision.Int8)
            {
                Assert.True(p.Weights.Int8Values.SequenceEqual(q.Weights.Int8Values), $"{p.Name}'s integers");
                Assert.True(p.Weights.Int8Scales.SequenceEqual(q.Weights.Int8Scales), $"{p.Name}'s scales");
            }
        }
    }

    [Fact]
    public void AModelHeldIn8BitsSavesItsIntegersAndScalesAsTheyAre()
    {
        var (held, folder) = SavedHeld(seed => new HfTinyLlama(seed), HuggingFace.SaveLlama, "llama8");
        Dictionary<string, SafeTensor> saved = Saved(folder);
        // every projection and the (untied) head: I8 integers, a scale per output channel
        string[] quantized = [.. saved.Keys.Where(n => n.EndsWith("_proj.weight", StringComparison.Ordinal)), "lm_head.weight"];
        Assert.Equal(2 * 7 + 1, quantized.Length);
        foreach (string name in quantized)
        {
            SafeTensor weight = saved[name], scale = saved[name[..^".weight".Length] + ".weight_scale"];
            Assert.Equal(SafeTensorsDType.I8, weight.DType);
            Assert.Equal(SafeTensorsDType.F32, scale.DType);
            Assert.Equal([weight.Shape[0], 1L], scale.Shape);
        }
        // the in-projection's k rows: its integers and its rows' scales
        Parameter inProj = held.Parameters["attention_1.in_proj_weight"];
        SafeTensor k = saved["model.layers.1.self_attn.k_proj.weight"];
        Assert.Equal(inProj.Weights.Int8Values.Slice(16 * 16, 8 * 16).ToArray(), k.Data.Select(b => (sbyte)b).ToArray());
        Assert.Equal(inProj.Weights.Int8Scales.Slice(16, 8).ToArray(), saved["model.layers.1.self_attn.k_proj.weight_scale"].ToFloat());
        // the token table: the floats it stands for, named nowhere (no Linear layer); the norms: F32
        Assert.Equal(SafeTensorsDType.F32, saved["model.embed_tokens.weight"].DType);
        Assert.Equal(held.Parameters["embedding.weight"].ToArray(), saved["model.embed_tokens.weight"].ToFloat());
        Assert.DoesNotContain(saved.Keys, n => n.StartsWith("model.embed_tokens.weight_", StringComparison.Ordinal));
        Assert.Empty(Ignored(folder));
        JsonObject q = Quantization(folder);
        Assert.Equal("compressed-tensors", (string)q["quant_method"]!);
        Assert.Equal("int-quantized", (string)q["format"]!);
        JsonNode weights = q["config_groups"]!["group_0"]!["weights"]!;
        Assert.Equal(8, (int)weights["num_bits"]!);
        Assert.Equal("channel", (string)weights["strategy"]!);
        Assert.True((bool)weights["symmetric"]!);
        // a quarter of the bytes of the matrices
        var wide = new HfTinyLlama(seed: 1);
        string floats = Path.Combine(_temp, "llama32");
        HuggingFace.SaveLlama(wide, floats);
        Assert.Equal(SafeTensorsDType.F32, Saved(floats)["lm_head.weight"].DType);
        Assert.Null(JsonNode.Parse(File.ReadAllText(Path.Combine(floats, "config.json")))!["quantization_config"]);
        Assert.True(new FileInfo(Path.Combine(folder, "model.safetensors")).Length < 0.6 * new FileInfo(Path.Combine(floats, "model.safetensors")).Length);

        // loaded back: held in 8 bits, the very integers and scales (the table quantized anew from its floats)
        AssertHeldAlike(held, LoadedHeld(seed => new HfTinyLlama(seed), HuggingFace.LoadLlama, folder));
        // in float32, the floats they stand for: the logits of the held model
        var widened = new HfTinyLlama(seed: 3);
        HuggingFace.LoadLlama(widened, folder);
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        Tolerance.AssertClose(ParityModel.Flatten(held.Forward(ParityModel.Span(tokens, [2, 6]))), ParityModel.Flatten(widened.Forward(ParityModel.Span(tokens, [2, 6]))),
            "logits of the saved 8-bit checkpoint");
    }

    /// <summary>A head tied to the token table is not written: <c>ignore</c> names <c>lm_head</c>, as llm-compressor's recipes do.</summary>
    [Fact]
    public void ATiedHeadIsIgnored()
    {
        var (held, folder) = SavedHeld(seed => new HfTinyLlamaTied(seed), HuggingFace.SaveLlama, "tied8");
        Assert.DoesNotContain("lm_head.weight", Saved(folder).Keys);
        Assert.Equal(["lm_head"], Ignored(folder));
        AssertHeldAlike(held, LoadedHeld(seed => new HfTinyLlamaTied(seed), HuggingFace.LoadLlama, folder));
    }

    /// <summary>Phi-3's fused qkv_proj and gate_up_proj gather each part's integers and scales, row for row.</summary>
    [Fact]
    public void FusedTensorsGatherTheirPartsIntegers()
    {
        var (held, folder) = SavedHeld(seed => new HfTinyPhi3Partial(seed), HuggingFace.SaveLlama, "phi8");
        Dictionary<string, SafeTensor> saved = Saved(folder);
        Assert.Contains(saved.Keys, n => n.EndsWith(".qkv_proj.weight", StringComparison.Ordinal));
        foreach (string name in saved.Keys.Where(n => n.EndsWith("qkv_proj.weight", StringComparison.Ordinal) || n.EndsWith("gate_up_proj.weight", StringComparison.Ordinal)))
            Assert.Equal(SafeTensorsDType.I8, saved[name].DType);
        AssertHeldAlike(held, LoadedHeld(seed => new HfTinyPhi3Partial(seed), HuggingFace.LoadLlama, folder));
    }

    /// <summary>T5's tables (the shared token table, each block's relative position bias: Embeddings in transformers) stay floats; its projections are integers.</summary>
    [Fact]
    public void T5sTablesStayFloats()
    {
        var (held, folder) = SavedHeld(seed => new HfTinyT5(seed), HuggingFace.SaveT5Encoder, "t58");
        Dictionary<string, SafeTensor> saved = Saved(folder);
        Assert.Contains(saved.Keys, n => n.Contains("relative_attention_bias", StringComparison.Ordinal));
        foreach ((string name, SafeTensor t) in saved)
        {
            bool table = name.Contains("relative_attention_bias", StringComparison.Ordinal) || name.EndsWith("shared.weight", StringComparison.Ordinal)
                || name.EndsWith("embed_tokens.weight", StringComparison.Ordinal);
            if (table || t.Shape.Length == 1) Assert.Equal(SafeTensorsDType.F32, t.DType);
        }
        Assert.Contains(saved.Values, t => t.DType == SafeTensorsDType.I8);
        var widened = new HfTinyT5(seed: 2);
        HuggingFace.LoadT5Encoder(widened, folder);
        foreach (Parameter p in held.Parameters) Assert.Equal(p.ToArray(), widened.Parameters[p.Name].ToArray());
    }

    /// <summary>A whole T5's tables (shared by its encoder and decoder, under their prefixes) stay floats too.</summary>
    [Fact]
    public void AnEncoderDecodersTablesStayFloats()
    {
        var (_, folder) = SavedHeld(seed => new HfTinyT5Seq2Seq(seed), (model, f) => HuggingFace.SaveT5((HfTinyT5Seq2Seq)model, f), "t5s8");
        Dictionary<string, SafeTensor> saved = Saved(folder);
        foreach (string table in new[] { "shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight" })
        {
            Assert.Equal(SafeTensorsDType.F32, saved[table].DType);
            Assert.DoesNotContain(table[..^".weight".Length] + ".weight_scale", saved.Keys);
        }
        Assert.Contains(saved.Values, t => t.DType == SafeTensorsDType.I8);
        Assert.DoesNotContain("shared", Ignored(folder));
    }

    /// <summary>
    /// GPT-J's saver reorders the query and key rows it writes (rotary pairs interleaved): those are written as the floats they
    /// stand for and named in <c>ignore</c>; the other projections keep their integers.
    /// </summary>
    [Fact]
    public void AdjustedMatricesAreWrittenAsFloatsAndIgnored()
    {
        var (held, folder) = SavedHeld(seed => new HfTinyGptJ(seed), HuggingFace.SaveGptJ, "gptj8");
        Dictionary<string, SafeTensor> saved = Saved(folder);
        string[] ignored = Ignored(folder);
        foreach (string name in saved.Keys.Where(n => n.EndsWith("_proj.weight", StringComparison.Ordinal)))
        {
            bool reordered = name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("k_proj.weight", StringComparison.Ordinal);
            Assert.Equal(reordered ? SafeTensorsDType.F32 : SafeTensorsDType.I8, saved[name].DType);
            Assert.Equal(reordered, ignored.Contains(name[..^".weight".Length]));
        }
        Assert.Contains(saved.Keys, n => n.EndsWith("v_proj.weight", StringComparison.Ordinal));
        Assert.Equal(SafeTensorsDType.I8, saved["lm_head.weight"].DType);
        Assert.DoesNotContain("lm_head", ignored);
        // the floats come back as the held model's
        var widened = new HfTinyGptJ(seed: 2);
        HuggingFace.LoadGptJ(widened, folder);
        foreach (Parameter p in held.Parameters) Assert.Equal(p.ToArray(), widened.Parameters[p.Name].ToArray());
    }
}
