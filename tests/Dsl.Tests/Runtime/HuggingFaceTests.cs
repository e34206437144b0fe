using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="HuggingFace.LoadLlama"/> on the HfLlama fixture: a LlamaForCausalLM checkpoint in bfloat16 with its config.json,
/// whose logits (make_fixtures.py's transformers-style LLaMA) the loaded model must give; sharded, tied, and every refusal.
/// </summary>
public sealed class HuggingFaceTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-hf-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>The fixture's token ids through <paramref name="model"/>, against the reference's logits.</summary>
    private static void AssertLogits(IModel<int> model, string fixture = "HfLlama", string suffix = "")
    {
        Dictionary<string, SafeTensor> expectedOutputs = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        SafeTensor ids = expectedOutputs["ids" + suffix], logits = expectedOutputs["logits" + suffix];
        float[] actual = ParityModel.Flatten(model.Forward(ParityModel.Span(ids.ToInt32(), ids.Shape))), expected = logits.ToFloat();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + MathF.Abs(expected[i])), $"logit {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>
    /// A causal language model's fixture (token ids of sequences right-padded to one length, their lengths, the logits) against
    /// <paramref name="model"/>'s: each sequence's logits at its valid steps, and the first sequence's stepped token by token from a new
    /// state; returns the ids, the lengths and the whole pass's logits.
    /// </summary>
    private static (int[] Ids, int[] Lengths, float[] Actual) AssertCausalLogits(IModel<int> model, string fixture)
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        int batch = lengths.Length, steps = ids.Length / batch;
        float[] logits = expected["logits"].ToFloat(), actual = ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        int vocab = logits.Length / ids.Length;
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(logits.AsSpan(b * steps * vocab, lengths[b] * vocab), actual.AsSpan(b * steps * vocab, lengths[b] * vocab), $"{fixture}: sequence {b}'s valid steps");
        var state = model.CreateState(1);
        for (int t = 0; t < steps; t++)
            Tolerance.AssertClose(logits.AsSpan(t * vocab, vocab), ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([ids[t]], [1]), state)), $"{fixture}: step {t}");
        return (ids, lengths, actual);
    }

    /// <summary>
    /// The tensors saved in <paramref name="folder"/> are the fixture's, name for name and value for value (bfloat16 widened to
    /// float32 exactly), but for those <paramref name="kept"/> says the save leaves out (buffers), each under the name
    /// <paramref name="savedAs"/> gives it (GPT-2's transformer. prefix).
    /// </summary>
    private static void AssertSavedAsLoaded(string fixture, string folder, Func<string, bool>? kept = null, Func<string, string>? savedAs = null)
    {
        Dictionary<string, SafeTensor> original = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")));
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        savedAs ??= name => name;
        Assert.Equal(original.Keys.Where(kept ?? (_ => true)).Select(savedAs).Order(StringComparer.Ordinal), saved.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in original.Where(o => saved.ContainsKey(savedAs(o.Key))))
        {
            Assert.Equal(t.Shape, saved[savedAs(name)].Shape);
            Assert.Equal(t.ToFloat(), saved[savedAs(name)].ToFloat());
        }
    }

    /// <summary>A copy of the fixture's folder whose tensors and config <paramref name="edit"/> changed.</summary>
    private string Copy(Action<Dictionary<string, SafeTensor>, JsonObject>? edit = null, string name = "copy", string fixture = "HfLlama")
    {
        string folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")));
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))))!;
        edit?.Invoke(tensors, config);
        Write(Path.Combine(folder, "model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        return folder;
    }

    /// <summary>Writes tensors under their keys (a tensor may be copied under another name).</summary>
    private static void Write(string path, IEnumerable<KeyValuePair<string, SafeTensor>> tensors) =>
        SafeTensors.Write(path, tensors.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())));

    /// <summary>Asserts that <paramref name="message"/> says <paramref name="part"/>, printing all of it when it does not.</summary>
    private static void Contains(string message, string part) => Assert.True(message.Contains(part, StringComparison.Ordinal), $"'{part}' not in: {message}");

    [Fact]
    public void ALlamaCheckpointLoadsAndGivesItsLogits()
    {
        var model = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlama"));
        AssertLogits(model);
        // q_proj, k_proj and v_proj stacked into in_proj_weight [16 + 2 · 8, 16]; up_proj then gate_proj into the gated Dense
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfLlama", "model.safetensors")));
        float[] inProj = model.Parameters["attention_1.in_proj_weight"].AsSpan().ToArray();
        Assert.Equal(hf["model.layers.1.self_attn.k_proj.weight"].ToFloat(), inProj.AsSpan(16 * 16, 8 * 16).ToArray());
        Assert.Equal(hf["model.layers.0.mlp.gate_proj.weight"].ToFloat(), model.Parameters["dense.weight"].AsSpan().Slice(24 * 16).ToArray());
    }

    /// <summary>
    /// A checkpoint of bfloat16 values loads into a model held in bfloat16 losing nothing: the values and logits of the same
    /// checkpoint loaded in float32, and saved again, the same tensors.
    /// </summary>
    [Fact]
    public void ABFloat16CheckpointLoadsIntoAModelHeldInBFloat16AsIntoFloat32()
    {
        var source = new HfTinyLlama(seed: 1);
        HuggingFace.LoadLlama(source, Fixture.Path("HfLlama"));
        source.Parameters.HoldWeightsIn(Precision.BFloat16); // its weights rounded as a bfloat16 checkpoint holds them
        source.Parameters.HoldWeightsIn(Precision.Float32);
        string folder = Path.Combine(_temp, "bf16-llama"), again = Path.Combine(_temp, "bf16-llama-again");
        HuggingFace.SaveLlama(source, folder);
        var wide = new HfTinyLlama(seed: 2);
        HuggingFace.LoadLlama(wide, folder);
        var held = new HfTinyLlama(seed: 2);
        Assert.True(held.Parameters.HoldWeightsIn(Precision.BFloat16) > 0);
        HuggingFace.LoadLlama(held, folder);
        Assert.Equal(Precision.BFloat16, held.Parameters["attention_1.in_proj_weight"].Precision);
        for (int i = 0; i < wide.Parameters.Count; i++) Assert.Equal(wide.Parameters[i].ToArray(), held.Parameters[i].ToArray());
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        Tolerance.AssertClose(ParityModel.Flatten(wide.Forward(ParityModel.Span(tokens, [2, 6]))), ParityModel.Flatten(held.Forward(ParityModel.Span(tokens, [2, 6]))),
            "logits held in bfloat16");
        HuggingFace.SaveLlama(held, again);
        Dictionary<string, SafeTensor> first = SafeTensors.Read(Path.Combine(folder, "model.safetensors")), second = SafeTensors.Read(Path.Combine(again, "model.safetensors"));
        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        foreach (string name in first.Keys) Assert.Equal(first[name].ToFloat(), second[name].ToFloat());
        // the held model's matrices written as BF16 (as published checkpoints are: half the bytes), its norms as F32
        Assert.Equal(SafeTensorsDType.BF16, second["model.layers.0.self_attn.k_proj.weight"].DType);
        Assert.Equal(SafeTensorsDType.BF16, second["model.embed_tokens.weight"].DType);
        Assert.Equal(SafeTensorsDType.F32, second["model.norm.weight"].DType);
        Assert.Equal(SafeTensorsDType.F32, first["model.layers.0.self_attn.k_proj.weight"].DType);
    }

    /// <summary>
    /// Loading a checkpoint reads each tensor's rows from the file into the staged values as it converts them: it allocates the staged
    /// values (and their bookkeeping), not a copy of the file's bytes nor a converted copy of each tensor besides, which made it hold
    /// three times the model's floats for a float32 file (the file, the conversions, the staged values); the values load as saved.
    /// </summary>
    [Fact]
    public void LoadingHoldsNoCopyOfTheFile()
    {
        var saved = new WideLlama(seed: 1);
        string folder = Path.Combine(_temp, "wide-llama");
        HuggingFace.SaveLlama(saved, folder);
        var model = new WideLlama(seed: 2);
        HuggingFace.LoadLlama(new WideLlama(seed: 3), folder); // (warm: the first load of a kind also fills its statics)
        long values = model.Parameters.Sum(p => (long)p.Length) * sizeof(float);
        long before = GC.GetAllocatedBytesForCurrentThread(); // (this thread's: the other test classes run beside this one)
        HuggingFace.LoadLlama(model, folder);
        long loading = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(loading < values * 5 / 4, $"loading {values} bytes of values allocated {loading} bytes");
        Assert.Equal(saved.Parameters.SelectMany(p => p.AsSpan().ToArray()), model.Parameters.SelectMany(p => p.AsSpan().ToArray()));
    }

    /// <summary>
    /// A model held in bfloat16 or 8 bits before it loads stages its held parameters so, reading each one's floats into a buffer the
    /// next of its length reuses: loading allocates the held bytes and one buffer per length, where staging floats allocated all
    /// of the model's float32 bytes and then their held copies; the values are the file's rounded, or quantized, as held.
    /// </summary>
    [Theory]
    [InlineData(Precision.BFloat16)]
    [InlineData(Precision.Int8)]
    public void LoadingIntoAModelHeldInLessStagesTheHeldBytes(Precision precision)
    {
        var saved = new DeepLlama(seed: 1);
        string folder = Path.Combine(_temp, $"deep-llama-{precision}");
        HuggingFace.SaveLlama(saved, folder);
        var warm = new DeepLlama(seed: 3);
        warm.Parameters.HoldWeightsIn(precision);
        HuggingFace.LoadLlama(warm, folder); // (the first load of a kind also fills its statics)
        var model = new DeepLlama(seed: 2);
        model.Parameters.HoldWeightsIn(precision);
        // bfloat16: 2 bytes a value; 8 bits: 1 byte a value and a 4-byte scale a row
        long held = model.Parameters.Sum(p => p.Precision switch
        {
            Precision.BFloat16 => 2L * p.Length,
            Precision.Int8 => p.Length + 4L * (p.Length / p.Shape[^1]),
            _ => 4L * p.Length,
        });
        long floats = model.Parameters.Sum(p => (long)p.Length * 4);
        long buffers = model.Parameters.Where(p => p.Precision != Precision.Float32).Select(p => p.Length).Distinct().Sum(n => (long)n * 4);
        long before = GC.GetAllocatedBytesForCurrentThread(); // (this thread's: the other test classes run beside this one)
        HuggingFace.LoadLlama(model, folder);
        long loading = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(loading < held * 11 / 10 + buffers, $"loading {held} bytes held ({floats} as float32, buffers {buffers}) allocated {loading} bytes");
        Assert.True(held * 11 / 10 + buffers < floats, "the bound is below what staging floats allocated");
        foreach (Parameter p in saved.Parameters)
        {
            Parameter into = model.Parameters[p.Name];
            float[] expected = p.ToArray();
            if (into.Precision != Precision.Float32) HeldValues.Of(precision, expected, into.RowLength).CopyTo(expected);
            Assert.Equal(expected, into.ToArray());
        }
    }

    /// <summary>A LLaMA declared with [Repeat] is the one written out: the same parameters, initial values and outputs, and it loads the checkpoint.</summary>
    [Fact]
    public void ALlamaDeclaredWithARepeatIsTheLlamaWrittenOut()
    {
        var written = new HfTinyLlama(seed: 4);
        var repeated = new HfTinyLlamaRepeated(seed: 4);
        Assert.Equal(written.Parameters.Select(p => (p.Name, string.Join("x", p.Shape.ToArray()))), repeated.Parameters.Select(p => (p.Name, string.Join("x", p.Shape.ToArray()))));
        foreach (Parameter p in written.Parameters) Assert.Equal(p.AsSpan().ToArray(), repeated.Parameters[p.Name].AsSpan().ToArray());
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        float[] a = new float[2 * 6 * 17], b = new float[2 * 6 * 17];
        written.Forward(new ReadOnlyTensorSpan<int>(tokens, [2, 6]), new TensorSpan<float>(a, [2, 6, 17]));
        repeated.Forward(new ReadOnlyTensorSpan<int>(tokens, [2, 6]), new TensorSpan<float>(b, [2, 6, 17]));
        Assert.Equal(a, b);
        HuggingFace.LoadLlama(repeated, Fixture.Path("HfLlama"));
        AssertLogits(repeated);
    }

    [Fact]
    public void ALlama31CheckpointWithScaledRotaryFrequenciesAndTiedEmbeddingsGivesItsLogits()
    {
        // rope_scaling "llama3" (every frequency of the 8-wide heads moved), one key/value head, lm_head tied and left out of
        // the file, rms_norm_eps and rope_theta at their defaults
        var model = new HfTinyLlama31(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlama31"));
        AssertLogits(model, "HfLlama31");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama31(seed: 1), Fixture.Path("HfLlama")));
        Contains(error.Message, "rope_scaling is absent, but 'attention' scales its rotary frequencies (RotaryScaling = 4)");
    }

    [Fact]
    public void ShardsListedByAnIndexLoadAsOneFile()
    {
        string folder = Path.Combine(_temp, "sharded");
        Directory.CreateDirectory(folder);
        File.Copy(Fixture.Path(Path.Combine("HfLlama", "config.json")), Path.Combine(folder, "config.json"));
        KeyValuePair<string, SafeTensor>[] all = SafeTensors.Read(Fixture.Path(Path.Combine("HfLlama", "model.safetensors"))).OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        var map = new JsonObject();
        for (int shard = 0; shard < 2; shard++)
        {
            string file = $"model-0000{shard + 1}-of-00002.safetensors";
            KeyValuePair<string, SafeTensor>[] part = all.Where((_, i) => i % 2 == shard).ToArray();
            Write(Path.Combine(folder, file), part);
            foreach (var t in part) map[t.Key] = file;
        }
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        var model = new HfTinyLlama(seed: 2);
        HuggingFace.LoadLlama(model, folder);
        AssertLogits(model);
    }

    [Fact]
    public void ATiedCheckpointLoadsIntoATiedModelOnly()
    {
        string folder = Copy((tensors, config) =>
        {
            tensors.Remove("lm_head.weight");
            config["tie_word_embeddings"] = true;
        });
        var tied = new HfTinyLlamaTied(seed: 3);
        HuggingFace.LoadLlama(tied, folder);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfLlama", "model.safetensors")))["model.embed_tokens.weight"].ToFloat(), tied.Parameters["dense_4.weight"].AsSpan().ToArray());
        var untied = new HfTinyLlama(seed: 3);
        float[] before = untied.Parameters["dense_4.weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(untied, folder));
        Contains(error.Message, "tie_word_embeddings is true: declare 'dense_4' with TieEmbedding = true");
        // a configuration that says nothing of tying (false by default), over a file without lm_head: the file says it
        File.WriteAllText(Path.Combine(folder, "config.json"), File.ReadAllText(Path.Combine(folder, "config.json")).Replace("\"tie_word_embeddings\":true,", "", StringComparison.Ordinal));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(untied, folder));
        Contains(error.Message, "no 'lm_head.weight', and its config.json does not tie the output layer to the token table (tie_word_embeddings false, as 'dense_4' is declared): the checkpoint lacks its output layer's weights");
        Assert.Equal(before, untied.Parameters["dense_4.weight"].AsSpan().ToArray());
        // the untied checkpoint into the tied model: its config says so
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(tied, Fixture.Path("HfLlama")));
        Contains(error.Message, "tie_word_embeddings is false, but 'dense_4' is tied to the embedding (TieEmbedding = true)");
    }

    [Fact]
    public void AConfigurationOtherThanTheModelsIsRefusedWithEveryDifferenceNamed()
    {
        var model = new HfOtherLlama(seed: 4);
        float[] before = model.Parameters.SelectMany(p => p.AsSpan().ToArray()).ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(model, Fixture.Path("HfLlama")));
        Contains(error.Message, "num_hidden_layers is 2, the model declares 1 (its decoder layers)");
        Contains(error.Message, "num_attention_heads is 4, the model declares 2 ('attention')");
        Contains(error.Message, "rope_theta is 500000, the model declares 10000 ('attention' RotaryBase)");
        Contains(error.Message, "rms_norm_eps is 1E-05, the model declares 1E-06 ('rmsnorm' Epsilon)");
        Contains(error.Message, "Nothing was loaded");
        Assert.Equal(before, model.Parameters.SelectMany(p => p.AsSpan().ToArray()).ToArray());
    }

    [Theory]
    [InlineData("rope_scaling", """{"rope_type": "llama3", "factor": 8.0}""", "\"llama3\",\"factor\":8.0}: declare 'attention' with RotaryScaling = its factor")]
    [InlineData("rope_scaling", """{"type": "mrope", "mrope_section": [16, 24, 24]}""", "of the rotary scalings only LLaMA 3.1's (rope_type \"llama3\"), the linear one (\"linear\"), YaRN (\"yarn\"), dynamic NTK (\"dynamic\") and Phi-3's LongRoPE (\"longrope\") are computed here")]
    [InlineData("attention_bias", "true", "attention_bias is true: declare 'attention' with Bias = true (the q, k, v and o projections' biases)")]
    [InlineData("hidden_act", "\"relu\"", "hidden_act is \"relu\": the gated Dense layers here take SiLU (\"silu\"), GELU (\"gelu\") or its tanh approximation (\"gelu_pytorch_tanh\")")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu")]
    [InlineData("num_key_value_heads", "4", "num_key_value_heads is 4, the model declares 2")]
    public void WhatTheDeclarationCannotExpressIsRefused(string key, string json, string message)
    {
        string folder = Copy((_, config) => config[key] = JsonNode.Parse(json));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 5), folder));
        Contains(error.Message, message);
    }

    /// <summary>An attention with the output projection's bias alone (GPT-Neo's) is no LLaMA-family configuration's: refused to load and to save, named.</summary>
    [Fact]
    public void AnOutputBiasAloneIsNoLlamasAttention()
    {
        var model = new HfTinyLlamaOutputBias(seed: 5);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(model, Fixture.Path("HfLlama")));
        Contains(error.Message, "'attention' has the output projection's bias alone (OutputBias = true without Bias): this attention has all four biases (attention_bias) or none");
        var save = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(model, Path.Combine(_temp, "output-bias")));
        Contains(save.Message, "'attention' has the output projection's bias alone (OutputBias = true without Bias)");
        Assert.False(Directory.Exists(Path.Combine(_temp, "output-bias")));
    }

    [Fact]
    public void MissingExtraAndMisshapenTensorsAreAllNamedAndNothingLoads()
    {
        string folder = Copy((tensors, _) =>
        {
            tensors.Remove("model.layers.1.mlp.up_proj.weight");
            SafeTensor k = tensors["model.layers.0.self_attn.k_proj.weight"];
            tensors["model.layers.0.self_attn.k_proj.weight"] = new SafeTensor(k.Name, SafeTensorsDType.F32, [16, 16], new byte[16 * 16 * 4]);
            tensors["model.layers.2.self_attn.q_proj.weight"] = tensors["model.layers.1.self_attn.q_proj.weight"];
            tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = new SafeTensor("model.layers.0.self_attn.rotary_emb.inv_freq", SafeTensorsDType.F32, [2], new byte[8]);
        });
        var model = new HfTinyLlama(seed: 6);
        float[] before = model.Parameters.SelectMany(p => p.AsSpan().ToArray()).ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(model, folder));
        Contains(error.Message, "missing tensor 'model.layers.1.mlp.up_proj.weight' [24, 16] (rows 0 … 23 of 'dense_2.weight' [48, 16])");
        Contains(error.Message, "tensor 'model.layers.0.self_attn.k_proj.weight' has shape [16, 16], expected [8, 16] (rows 16 … 23 of 'attention.in_proj_weight' [32, 16])");
        Contains(error.Message, "unexpected tensor 'model.layers.2.self_attn.q_proj.weight'");
        Assert.DoesNotContain("inv_freq", error.Message); // a buffer older exports kept: the model computes its own
        Assert.Equal(before, model.Parameters.SelectMany(p => p.AsSpan().ToArray()).ToArray());
    }

    [Fact]
    public void TheConfigurationIsReadWithItsModelTypesDefaultsAndNewerRotaryParameters()
    {
        // Mistral's defaults: 8 key/value heads and a 4096-step window when the configuration leaves them out
        string mistral = Copy((_, config) =>
        {
            config["model_type"] = "mistral";
            config.Remove("num_key_value_heads");
        }, "mistral");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 8), mistral));
        Contains(error.Message, "num_key_value_heads is 8 (its default), the model declares 2");
        Contains(error.Message, "sliding_window is 4096 (Mistral's default)");
        // a Mistral without a window, its heads given, loads
        string windowless = Copy((_, config) =>
        {
            config["model_type"] = "mistral";
            config["sliding_window"] = null;
        }, "windowless");
        var model = new HfTinyLlama(seed: 8);
        HuggingFace.LoadLlama(model, windowless);
        AssertLogits(model);
        // rope_theta inside rope_parameters (newer configurations)
        string parameters = Copy((_, config) =>
        {
            config.Remove("rope_theta");
            config.Remove("rope_scaling");
            config["rope_parameters"] = new JsonObject { ["rope_theta"] = 10000.0, ["rope_type"] = "default" };
        }, "parameters");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 8), parameters));
        Contains(error.Message, "rope_parameters' rope_theta is 10000, the model declares 500000 ('attention' RotaryBase)");
        string other = Copy((_, config) => config["model_type"] = "olmo2", "olmo");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 8), other));
        Contains(error.Message, "model_type is \"olmo2\": LoadLlama reads LLaMA's (\"llama\"), Mistral's (\"mistral\"), Qwen2's (\"qwen2\"), Qwen3's (\"qwen3\"), Phi-3's (\"phi3\"), Gemma's (\"gemma\"), Gemma 2's (\"gemma2\") and Gemma 3's (\"gemma3_text\") checkpoints");
        // no config.json: the tensors alone do not say the heads, ε or rotary base
        File.Delete(Path.Combine(other, "config.json"));
        var missing = Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 8), other));
        Contains(missing.Message, "No config.json beside");
    }

    /// <summary>
    /// What transformers reads of a configuration, this reads alike: LlamaForCausalLM ignores a sliding_window (a merge from a
    /// Mistral base may carry one) and MistralForCausalLM attention_bias; "swish" is SiLU; num_key_value_heads null means as
    /// many as the query heads; Mistral's window of 0 is refused.
    /// </summary>
    [Fact]
    public void KeysTheModelTypeIgnoresAreIgnoredAndOthersReadAsTransformersReadsThem()
    {
        var model = new HfTinyLlama(seed: 11);
        HuggingFace.LoadLlama(model, Copy((_, config) =>
        {
            config["sliding_window"] = 4096;
            config["hidden_act"] = "swish";
        }, "llama-window"));
        AssertLogits(model);
        model = new HfTinyLlama(seed: 12);
        HuggingFace.LoadLlama(model, Copy((_, config) =>
        {
            config["model_type"] = "mistral";
            config["sliding_window"] = null;
            config["attention_bias"] = true;
        }, "mistral-bias"));
        AssertLogits(model);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 13), Copy((_, config) =>
        {
            config["model_type"] = "mistral";
            config["num_key_value_heads"] = null;
            config["sliding_window"] = 0;
        }, "mistral-null-heads")));
        Contains(error.Message, "num_key_value_heads is 4 (its default), the model declares 2");
        Contains(error.Message, "sliding_window is 0, not a positive whole number of steps");
        // a window declared where the configuration is LLaMA's
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 13), Copy((_, config) => config["model_type"] = "llama", "llama-declared-window", "HfMistral")));
        Contains(error.Message, "model_type is \"llama\", whose attention reads every earlier step, but 'attention' declares SlidingWindow = 4");
    }

    [Fact]
    public void AShardTheIndexNamesThatIsMissingIsNamed()
    {
        string folder = Copy(name: "unsharded");
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), """{"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}""");
        File.Delete(Path.Combine(folder, "model.safetensors"));
        var error = Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 14), folder));
        Contains(error.Message, "puts 'model.norm.weight' in the shard 'model-00002-of-00002.safetensors', which is not beside it");
    }

    /// <summary>The weights and config.json are replaced together: a config that cannot be written leaves the old weights too.</summary>
    [Fact]
    public void ASaveThatCannotWriteItsConfigurationLeavesThePreviousCheckpointWhole()
    {
        var model = new HfTinyLlama(seed: 15);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlama"));
        string folder = Path.Combine(_temp, "atomic");
        HuggingFace.SaveLlama(model, folder);
        byte[] weights = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        File.Delete(Path.Combine(folder, "config.json"));
        Directory.CreateDirectory(Path.Combine(folder, "config.json")); // in the way of the new config.json
        Assert.ThrowsAny<Exception>(() => HuggingFace.SaveLlama(new HfTinyLlama(seed: 16), folder));
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
    }

    private static IModel<int> For(string fixture, int seed) => fixture switch
    {
        "HfLlama" => new HfTinyLlama(seed),
        "HfLlama31" => new HfTinyLlama31(seed),
        "HfLlamaLinear" => new HfTinyLinearLlama(seed),
        "HfMistral" => new HfTinyMistral(seed),
        "HfQwen3" => new HfTinyQwen3(seed),
        "HfGemma" => new HfTinyGemma(seed),
        "HfGemma3" => new HfTinyGemma3(seed),
        "HfGemma2" => new HfTinyGemma2(seed),
        "HfLlamaYarn" => new HfTinyYarnLlama(seed),
        "HfLlamaDynamic" => new HfTinyDynamicLlama(seed),
        "HfPhi3LongRope" => new HfTinyPhi3LongRope(seed),
        "HfPhi3Partial" => new HfTinyPhi3Partial(seed),
        "HfQwen2Window" => new HfTinyQwen2Window(seed),
        _ => new HfTinyQwen2(seed),
    };

    /// <summary>
    /// Linear rotary scaling (rope_type "linear": every frequency divided by the factor), under its older key "type" too; a
    /// declaration scaled otherwise, or not at all, is refused naming what to declare.
    /// </summary>
    [Fact]
    public void ACheckpointWithLinearRotaryScalingGivesItsLogits()
    {
        var model = new HfTinyLinearLlama(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlamaLinear"));
        AssertLogits(model, "HfLlamaLinear");
        var older = new HfTinyLinearLlama(seed: 2);
        HuggingFace.LoadLlama(older, Copy((_, config) => config["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 4.0 }, "older", "HfLlamaLinear"));
        AssertLogits(older, "HfLlamaLinear");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLinearLlama(seed: 3),
            Copy((_, config) => config["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0 }, "other-factor", "HfLlamaLinear")));
        Contains(error.Message, "rope_scaling's factor is 2, 'attention' declares RotaryScaling = 4");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama31(seed: 3), Fixture.Path("HfLlamaLinear")));
        Contains(error.Message, "declare 'attention' with RotaryScaling = its factor and RotaryScalingKind = RotaryScalingKind.Linear");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLinearLlama(seed: 3),
            Copy((_, config) => config["rope_scaling"] = new JsonObject { ["rope_type"] = "dynamic", ["factor"] = 4.0 }, "dynamic", "HfLlamaLinear")));
        Contains(error.Message, "declare 'attention' with RotaryScaling = its factor, RotaryScalingKind = RotaryScalingKind.Dynamic and RotaryOriginalContext");
    }

    /// <summary>
    /// JinaBERT (jina-embeddings-v2's JinaBertModel, its modeling_bert written out: no position table, ALiBi's symmetric bias,
    /// the GLU feed-forward): the last hidden state at every valid step and its mean are PyTorch's, the first token type's row
    /// folded into the words; saved under its names and read back to the same outputs; a configuration or layout that differs
    /// refused, named.
    /// </summary>
    [Fact]
    public void AJinaBertCheckpointGivesItsLastHiddenState()
    {
        var model = new HfTinyJinaBert(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfJinaBert"));
        var (ids, lengths, batch, steps) = AssertEncoderOutputs(model, "HfJinaBert");
        // gated_layers' first 24 rows are the activated half: the Dense's gate rows, after its 24 value rows
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfJinaBert", "model.safetensors")));
        Assert.Equal(hf["encoder.layer.1.mlp.gated_layers.weight"].ToFloat().AsSpan(0, 24 * 16).ToArray(), model.Parameters["dense_2.weight"].AsSpan().Slice(24 * 16).ToArray());
        string folder = Path.Combine(_temp, "jina-saved");
        HuggingFace.SaveBert(model, folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal("alibi", config.RootElement.GetProperty("position_embedding_type").GetString());
            Assert.Equal("geglu", config.RootElement.GetProperty("feed_forward_type").GetString());
            // transformers' BertModel has no ALiBi: jina's classes, through the auto_map to its code
            Assert.Equal("JinaBertModel", config.RootElement.GetProperty("architectures")[0].GetString());
            Assert.Equal("jinaai/jina-bert-implementation--modeling_bert.JinaBertModel", config.RootElement.GetProperty("auto_map").GetProperty("AutoModel").GetString());
        }
        var reloaded = new HfTinyJinaBert(seed: 7);
        HuggingFace.LoadBert(reloaded, folder);
        Assert.Equal(ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths)), ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyJinaBert(seed: 2), Edited("HfJinaBert", "jina-config", c =>
        {
            c["feed_forward_type"] = "reglu";
            c["position_embedding_type"] = "absolute";
        })));
        Contains(error.Message, "feed_forward_type is \"reglu\": declare 'dense' with Gated = true, Activation = Activation.Relu, Bias = false (JinaBERT's mlp.gated_layers)");
        Contains(error.Message, "position_embedding_type is \"absolute\": the positions are a learned table, but the model declares none (its attention ALiBi's)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 2), Edited("HfBert", "bert-as-jina", c => c["position_embedding_type"] = "alibi")));
        Contains(error.Message, "position_embedding_type is \"alibi\" (JinaBERT's): declare no [PositionEmbedding] and each attention with Alibi = true");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyJinaBert(seed: 2), Edited("HfJinaBert", "jina-original", c => c.Remove("feed_forward_type"))));
        Contains(error.Message, "feed_forward_type is \"original\" (its default), but 'dense' is gated (JinaBERT's mlp.gated_layers)");
        // a masked-LM head over the words: saved as JinaBertForMaskedLM, refused on loading without a [TokenTypeEmbedding] (the first
        // type's row folded into the words would move its logits)
        var masked = new HfTinyJinaBertMaskedLM(seed: 3);
        string maskedFolder = Path.Combine(_temp, "jina-masked");
        HuggingFace.SaveBert(masked, maskedFolder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(maskedFolder, "config.json"))))
            Assert.Equal("JinaBertForMaskedLM", config.RootElement.GetProperty("architectures")[0].GetString());
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyJinaBertMaskedLM(seed: 4), maskedFolder));
        Contains(error.Message, "'dense_5' reads JinaBERT's word table, which holds the first token type's row here (there is no position table to fold it into): declare a [TokenTypeEmbedding] after the [Embedding]");
    }

    /// <summary>
    /// BLOOM's checkpoints (BloomForCausalLM, transformers' modeling_bloom written out: ALiBi as build_alibi_tensor adds it, m_h
    /// · j with float32 slopes): the logits of a full and a right-padded sequence at their valid steps, greedy decoding from the
    /// key/value cache against a whole pass, the fused query_key_value read head by head and written back so; a configuration
    /// that differs refused, named.
    /// </summary>
    [Fact]
    public void ABloomCheckpointGivesItsLogits()
    {
        var model = new HfTinyBloom(seed: 1);
        HuggingFace.LoadBloom(model, Fixture.Path("HfBloom"));
        // the logits at each sequence's valid steps, and each cached step's
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfBloom");
        // query_key_value's rows lie [heads, 3, d]: head 2's key rows (3 · 2 + 1) · 4 … are in_proj_weight's rows 24 + 2 · 4 …
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfBloom", "model.safetensors")));
        Assert.Equal(hf["h.1.self_attention.query_key_value.weight"].ToFloat().AsSpan(7 * 4 * 24, 4 * 24).ToArray(),
            model.Parameters["attention_1.in_proj_weight"].AsSpan().Slice((24 + 8) * 24, 4 * 24).ToArray());
        string folder = Path.Combine(_temp, "bloom-saved");
        HuggingFace.SaveBloom(model, folder);
        AssertSavedAsLoaded("HfBloom", folder, savedAs: name => "transformer." + name);
        var reloaded = new HfTinyBloom(seed: 5);
        HuggingFace.LoadBloom(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBloom(new HfTinyBloom(seed: 3), Copy((_, config) =>
        {
            config["n_head"] = 4;
            config["apply_residual_connection_post_layernorm"] = true;
            config["layer_norm_epsilon"] = 1e-6;
            config["tie_word_embeddings"] = false;
        }, "bloom-config", "HfBloom")));
        Contains(error.Message, "n_head is 4, the model declares 6 ('attention')");
        Contains(error.Message, "apply_residual_connection_post_layernorm is true: BLOOM's residual taken after the norm is not laid out here");
        Contains(error.Message, "layer_norm_epsilon is 1E-06, the model declares 1E-05 ('layernorm' Epsilon)");
        Contains(error.Message, "tie_word_embeddings is false, but 'dense_4' is tied to the embedding (TieEmbedding = true)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadBloom(new HfTinyGpt2(seed: 3), Fixture.Path("HfBloom")));
        Contains(layout.Message, "HfTinyGpt2 is not laid out as BLOOM");
    }

    /// <summary>
    /// GPT-NeoX's checkpoints (GPTNeoXForCausalLM, transformers' modeling_gpt_neox written out): Pythia's parallel blocks (a
    /// [Branch] back to each block's input) and the sequential ones, query_key_value read head by head, a partial rotation at
    /// base 1000, the old checkpoints' buffers left: the logits of a full and a right-padded sequence at their valid steps and each
    /// cached step; saved under its names and read back; a configuration or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfGptNeoX")]
    [InlineData("HfGptNeoXSequential")]
    public void AGptNeoXCheckpointGivesItsLogits(string fixture)
    {
        bool parallel = fixture == "HfGptNeoX";
        IModel<int> Create(int seed) => parallel ? new HfTinyGptNeoX(seed) : new HfTinyGptNeoXSequential(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadGptNeoX(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveGptNeoX(model, folder);
        // (the old checkpoints' buffers are not written: transformers recomputes them)
        AssertSavedAsLoaded(fixture, folder, kept: n => !n.EndsWith(".attention.bias", StringComparison.Ordinal) && !n.EndsWith("masked_bias", StringComparison.Ordinal)
            && !n.EndsWith("inv_freq", StringComparison.Ordinal));
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(parallel, config.RootElement.GetProperty("use_parallel_residual").GetBoolean());
            Assert.Equal(0.5, config.RootElement.GetProperty("rotary_pct").GetDouble());
            Assert.Equal(1000, config.RootElement.GetProperty("rotary_emb_base").GetDouble());
        }
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadGptNeoX(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        // a configuration that differs: each difference named, nothing loaded
        IModel<int> untouched = Create(3);
        float[] before = untouched.Parameters["dense_4.weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeoX(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["use_parallel_residual"] = !parallel;
            c["rotary_pct"] = 0.25;
            c["rotary_emb_base"] = 10000;
            c["hidden_act"] = "relu";
            c["attention_bias"] = false;
            c["tie_word_embeddings"] = true;
            c["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 2.0 };
        })));
        Contains(error.Message, parallel ? "use_parallel_residual is false, the model declares parallel blocks ([Branch] back to each block's input)"
            : "use_parallel_residual is true, the model declares sequential blocks (a [Residual] around the attention, no [Branch])");
        Contains(error.Message, "rotary_pct is 0.25: the rotation turns 2 of each head's 8 values; declare 'attention' with RotaryDimensions = 2");
        Contains(error.Message, "rotary_emb_base is 10000, the model declares 1000 ('attention' RotaryBase)");
        Contains(error.Message, "hidden_act is \"relu\": declare 'dense' with Activation = Activation.Relu");
        Contains(error.Message, "attention_bias is false, the model declares 'attention' with biases");
        Contains(error.Message, "tie_word_embeddings is true: declare 'dense_4' with TieEmbedding = true");
        Contains(error.Message, "rope_scaling is {\"type\":\"linear\",\"factor\":2}: GPT-NeoX's scaled rotary frequencies are not laid out here");
        Assert.Equal(before, untouched.Parameters["dense_4.weight"].AsSpan().ToArray());
        // newer transformers keep the rotation in rope_parameters; the top-level partial_rotary_factor and rope_theta copy
        // rotary_pct and rotary_emb_base, which stand; gpt-neox-20b's gelu_fast is GELU's tanh form
        HuggingFace.LoadGptNeoX(untouched, Edited(fixture, fixture + "-rope-parameters", c =>
        {
            c["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = c["rotary_emb_base"]!.DeepClone(), ["partial_rotary_factor"] = c["rotary_pct"]!.DeepClone() };
            c.Remove("rotary_pct");
            c.Remove("rotary_emb_base");
            if (!parallel) c["hidden_act"] = "gelu_fast";
        }));
        Assert.Equal(actual, ParityModel.Flatten(untouched.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeoX(untouched, Edited(fixture, fixture + "-copies", c =>
        {
            c["partial_rotary_factor"] = 0.25;
            c["rope_theta"] = 10000;
            c["rotary_emb_base"] = 500;
            c["rope_parameters"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0 };
        })));
        Contains(error.Message, "rotary_emb_base is 500, the model declares 1000 ('attention' RotaryBase)");
        Contains(error.Message, "rope_parameters' rope_type is \"linear\": GPT-NeoX's scaled rotary frequencies are not laid out here");
        Assert.DoesNotContain("rotary_pct", error.Message, StringComparison.Ordinal);
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGptNeoX(new HfTinyBloom(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyBloom is not laid out as GPT-NeoX");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeoX(Create(3), Fixture.Path("HfBloom")));
        Contains(error.Message, "model_type is \"bloom\": LoadGptNeoX reads GPT-NeoX's checkpoints (\"gpt_neox\")");
    }

    /// <summary>
    /// Phi's checkpoints (PhiForCausalLM, transformers' modeling_phi written out): parallel layers with one norm for both branches
    /// (a [Branch] back to it), grouped heads with a partial rotation, lm_head with its bias: the logits of a full and a right-padded
    /// sequence at their valid steps and each cached step; saved under its names and read back; a configuration or layout that
    /// differs refused, named.
    /// </summary>
    [Fact]
    public void APhiCheckpointGivesItsLogits()
    {
        var model = new HfTinyPhi(seed: 1);
        HuggingFace.LoadPhi(model, Fixture.Path("HfPhi"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfPhi");
        string folder = Path.Combine(_temp, "phi-saved");
        HuggingFace.SavePhi(model, folder);
        AssertSavedAsLoaded("HfPhi", folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(0.4, config.RootElement.GetProperty("partial_rotary_factor").GetDouble());
            Assert.Equal(2, config.RootElement.GetProperty("num_key_value_heads").GetInt32());
        }
        var reloaded = new HfTinyPhi(seed: 5);
        HuggingFace.LoadPhi(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        // with dropout for fine-tuning (the identity in Forward): the same logits
        var dropping = new HfTinyPhiDropout(seed: 6);
        HuggingFace.LoadPhi(dropping, Fixture.Path("HfPhi"));
        Assert.Equal(actual, ParityModel.Flatten(dropping.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var untouched = new HfTinyPhi(seed: 3);
        float[] before = untouched.Parameters["dense_4.weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPhi(untouched, Edited("HfPhi", "phi-config", c =>
        {
            c["num_key_value_heads"] = 4;
            c["partial_rotary_factor"] = 0.5;
            c["rope_theta"] = 10000;
            c["hidden_act"] = "gelu";
            c["qk_layernorm"] = true;
            c["tie_word_embeddings"] = true;
            c["layer_norm_eps"] = 1e-6;
        })));
        Contains(error.Message, "num_key_value_heads is 4, the model declares 2 ('attention' KeyValueHeads)");
        Contains(error.Message, "partial_rotary_factor is 0.5: the rotation would turn 5 of each head's 10 values, which are not whole pairs (not computed here)");
        Contains(error.Message, "rope_theta is 10000, the model declares 500 ('attention' RotaryBase)");
        Contains(error.Message, "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Contains(error.Message, "qk_layernorm is true");
        Contains(error.Message, "tie_word_embeddings is true");
        Contains(error.Message, "layer_norm_eps is 1E-06, the model declares 1E-05 ('layernorm' Epsilon)");
        Assert.Equal(before, untouched.Parameters["dense_4.weight"].AsSpan().ToArray());
        // num_key_value_heads null (PhiConfig's default): as many as the heads, which the model does not declare
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPhi(untouched, Edited("HfPhi", "phi-kv-null", c => c["num_key_value_heads"] = null)));
        Contains(error.Message, "'attention' has 2 key/value heads, but num_key_value_heads is unset (null or absent): as many as num_attention_heads (4)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadPhi(new HfTinyGptNeoX(seed: 3), Fixture.Path("HfPhi")));
        Contains(layout.Message, "HfTinyGptNeoX is not laid out as Phi");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPhi(new HfTinyPhi(seed: 3), Fixture.Path("HfGptNeoX")));
        Contains(error.Message, "model_type is \"gpt_neox\": LoadPhi reads Phi's checkpoints");
    }

    /// <summary>
    /// StableLM's checkpoints (StableLmForCausalLM, transformers' modeling_stablelm written out): layer norms, grouped heads with a
    /// partial rotation, q, k and v biases (stablelm-2's), SwiGLU; sequential, and parallel through a [Branch]: the logits of a full and
    /// a right-padded sequence at their valid steps and each cached step; saved under its names and read back; a configuration or
    /// layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfStableLm")]
    [InlineData("HfStableLmParallel")]
    public void AStableLmCheckpointGivesItsLogits(string fixture)
    {
        bool parallel = fixture == "HfStableLmParallel";
        IModel<int> Create(int seed) => parallel ? new HfTinyStableLmParallel(seed) : new HfTinyStableLm(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadStableLm(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveStableLm(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadStableLm(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = Create(3);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadStableLm(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["use_qkv_bias"] = parallel;
            c["use_parallel_residual"] = !parallel;
            c["partial_rotary_factor"] = 0.5;
            c["num_key_value_heads"] = 2;
            c["hidden_act"] = "gelu";
            c["qk_layernorm"] = true;
        })));
        Contains(error.Message, parallel ? "use_qkv_bias is true, the model declares 'attention' without biases on q, k and v (Bias = false)"
            : "use_qkv_bias is false, the model declares 'attention' with biases on q, k and v (Bias = true)");
        Contains(error.Message, parallel ? "use_parallel_residual is false, the model declares parallel layers ([Branch] back to each layer's norm)"
            : "use_parallel_residual is true, the model declares sequential layers (a [Residual] around the attention, no [Branch])");
        Contains(error.Message, "partial_rotary_factor is 0.5: the rotation turns 8 of each head's 16 values; declare 'attention' with RotaryDimensions = 8");
        Contains(error.Message, "num_key_value_heads is 2, the model declares 1 ('attention' KeyValueHeads)");
        Contains(error.Message, "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Contains(error.Message, "qk_layernorm is true");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadStableLm(new HfTinyPhi(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyPhi is not laid out as StableLM");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadStableLm(Create(3), Fixture.Path("HfPhi")));
        Contains(error.Message, "model_type is \"phi\": LoadStableLm reads StableLM's checkpoints (\"stablelm\")");
    }

    /// <summary>
    /// OLMo's checkpoints (OlmoForCausalLM, transformers' modeling_olmo written out): layer norms without weights or biases (none in
    /// the checkpoint either), grouped heads turned whole, tied (OLMo-1B's) or with attention_bias and lm_head: the logits of a full and
    /// a right-padded sequence at their valid steps and each cached step; saved under its names and read back; a configuration or
    /// layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfOlmo")]
    [InlineData("HfOlmoBiased")]
    [InlineData("HfOlmoClipped")]
    public void AnOlmoCheckpointGivesItsLogits(string fixture)
    {
        bool tied = fixture == "HfOlmo", clipped = fixture == "HfOlmoClipped";
        IModel<int> Create(int seed) => tied ? new HfTinyOlmo(seed) : clipped ? new HfTinyOlmoClipped(seed) : new HfTinyOlmoBiased(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadOlmo(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveOlmo(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadOlmo(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = Create(3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmo(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["attention_bias"] = tied;
            c["tie_word_embeddings"] = !tied;
            c["clip_qkv"] = 8.0;
            c["rope_theta"] = 10000.0;
            c.Remove("num_key_value_heads");
            c["hidden_act"] = "gelu";
        })));
        Contains(error.Message, tied ? "attention_bias is true, the model declares 'attention' without biases on q, k, v and o_proj (Bias = false)"
            : "attention_bias is false, the model declares 'attention' with biases on q, k, v and o_proj (Bias = true)");
        Contains(error.Message, tied ? "tie_word_embeddings is false, the model declares 'dense_4' tied to the embedding (TieEmbedding = true)"
            : "tie_word_embeddings is true, the model declares 'dense_4' with its own weights (declare TieEmbedding = true to tie it)");
        Contains(error.Message, "clip_qkv is 8: declare 'attention' with ClipQkv = 8" + (clipped ? " (it declares 0.6)" : ""));
        Contains(error.Message, "rope_theta is 10000, the model declares 5000 ('attention' RotaryBase)");
        if (tied) Contains(error.Message, "num_key_value_heads is 4 (its default), the model declares 2 ('attention' KeyValueHeads)");
        Contains(error.Message, "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOlmo(new HfTinyStableLm(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyStableLm is not laid out as OLMo: layer 1 ('layernorm', LayerNorm) is where decoder layer 0's input_layernorm ([LayerNorm(ElementwiseAffine = false)]) belongs");
        if (clipped)
        {
            var unclipped = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmo(Create(3), Fixture.Path("HfOlmoBiased")));
            Contains(unclipped.Message, "clip_qkv is unset (null or absent): the projections are not clipped, but 'attention' declares ClipQkv = 0.6");
            // a clipping attention is OLMo's alone: LLaMA's walk, which does not read clip_qkv, does not match it
            var llama = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new HfTinyLlamaClipped(seed: 3), Fixture.Path("HfLlama")));
            Contains(llama.Message, "HfTinyLlamaClipped is not laid out as LLaMA: layer 2 ('attention', Attention(Heads = 4, KeyValueHeads = 2, Score = ScaledDot, Causal = true, Rotary = true, Bias = false, ClipQkv = 8))");
        }
        var learned = Assert.Throws<ArgumentException>(() => HuggingFace.LoadStableLm(Create(3), Fixture.Path("HfStableLm")));
        Contains(learned.Message, "is not laid out as StableLM: layer 1 ('layernorm', LayerNorm(ElementwiseAffine = false)) is where decoder layer 0's input_layernorm ([LayerNorm]) belongs");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmo(Create(3), Fixture.Path("HfStableLm")));
        Contains(error.Message, "model_type is \"stablelm\": LoadOlmo reads OLMo's checkpoints (\"olmo\"");
    }

    /// <summary>
    /// OLMo 2's checkpoints (Olmo2ForCausalLM, transformers' modeling_olmo2 written out): QK-norm across the heads (grouped, or not),
    /// RMS norms after the attention and the feed-forward, untied or tied: the logits of a full and a right-padded sequence at their
    /// valid steps and each cached step; saved under its names and read back; a configuration or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfOlmo2")]
    [InlineData("HfOlmo2Tied")]
    public void AnOlmo2CheckpointGivesItsLogits(string fixture)
    {
        bool tied = fixture == "HfOlmo2Tied";
        IModel<int> Create(int seed) => tied ? new HfTinyOlmo2Tied(seed) : new HfTinyOlmo2(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadOlmo2(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveOlmo2(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadOlmo2(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = Create(3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmo2(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["attention_bias"] = true;
            c["tie_word_embeddings"] = !tied;
            c["rms_norm_eps"] = 1e-5;
            c["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0 };
            c["num_key_value_heads"] = 1;
        })));
        Contains(error.Message, "attention_bias is true, the model declares 'attention' without biases on q, k, v and o_proj (Bias = false)");
        Contains(error.Message, tied ? "tie_word_embeddings is false, the model declares 'dense_4' tied to the embedding (TieEmbedding = true)"
            : "tie_word_embeddings is true, the model declares 'dense_4' with its own weights (declare TieEmbedding = true to tie it)");
        Contains(error.Message, "rms_norm_eps is 1E-05, the model declares 1E-06 ('rmsnorm' Epsilon)");
        Contains(error.Message, "rope_scaling is {");
        Contains(error.Message, "num_key_value_heads is 1, the model declares 2 ('attention' KeyValueHeads)");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        // a per-head QK-norm (Qwen3's) is not OLMo 2's, nor clipping (OLMo 1.7's, which OLMo 2 dropped), nor is QK-norm across the
        // heads LLaMA's (Qwen3's)
        var perHead = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOlmo2(new HfTinyOlmo2PerHead(seed: 3), Fixture.Path(fixture)));
        Contains(perHead.Message, "HfTinyOlmo2PerHead is not laid out as OLMo 2: layer 1 ('attention', Attention(Heads = 4, KeyValueHeads = 2, Score = ScaledDot, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true))");
        var clipping = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOlmo2(new HfTinyOlmo2Clipped(seed: 3), Fixture.Path(fixture)));
        Contains(clipping.Message, "HfTinyOlmo2Clipped is not laid out as OLMo 2: layer 1 ('attention', Attention(Heads = 4, KeyValueHeads = 2, Score = ScaledDot, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, ClipQkv = 8))");
        var across = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new HfTinyQwen3Across(seed: 3), Fixture.Path("HfQwen3")));
        Contains(across.Message, "HfTinyQwen3Across is not laid out as LLaMA: layer 2 ('attention', Attention(Heads = 4, KeyValueHeads = 2, Score = ScaledDot, Causal = true, Rotary = true, Bias = false, HeadWidth = 8, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true))");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmo2(Create(3), Fixture.Path("HfOlmo")));
        Contains(error.Message, "model_type is \"olmo\": LoadOlmo2 reads OLMo 2's checkpoints (\"olmo2\"");
    }

    /// <summary>
    /// Mixtral's checkpoints (MixtralForCausalLM, transformers' modeling_mixtral written out): a mixture of experts per layer from a
    /// tensor per expert and projection, in a sliding window with an untied head, and without a window tied: the logits of a full
    /// and a right-padded sequence at their valid steps and each cached step; saved under its names and read back; a configuration
    /// or layout that differs refused, named, nothing loaded.
    /// </summary>
    [Fact]
    public void MixtralCheckpointsGiveTheirLogits()
    {
        const string fixture = "HfMixtral";
        IModel<int> model = new HfTinyMixtral(seed: 1);
        HuggingFace.LoadMixtral(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveMixtral(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = new HfTinyMixtral(seed: 5);
        HuggingFace.LoadMixtral(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        // the experts' blocks as the checkpoint's tensors: expert 2's w3 (up) rows, then its w1 (gate) rows, in block 2 of weight_in
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")));
        Parameter weightIn = model.Parameters["moe_1.weight_in"];
        Assert.Equal([4, 48, 32], weightIn.Shape.ToArray());
        Assert.Equal(tensors["model.layers.1.block_sparse_moe.experts.2.w3.weight"].ToFloat(), weightIn.AsSpan().Slice(2 * 48 * 32, 24 * 32).ToArray());
        Assert.Equal(tensors["model.layers.1.block_sparse_moe.experts.2.w1.weight"].ToFloat(), weightIn.AsSpan().Slice(2 * 48 * 32 + 24 * 32, 24 * 32).ToArray());

        IModel<int> tied = new HfTinyMixtralTied(seed: 1);
        HuggingFace.LoadMixtral(tied, Fixture.Path("HfMixtralTied"));
        AssertCausalLogits(tied, "HfMixtralTied");
        string tiedFolder = Path.Combine(_temp, "mixtral-tied-saved");
        HuggingFace.SaveMixtral(tied, tiedFolder);
        AssertSavedAsLoaded("HfMixtralTied", tiedFolder);

        IModel<int> untouched = new HfTinyMixtral(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMixtral(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["num_local_experts"] = 8;
            c["num_experts_per_tok"] = 1;
            c["sliding_window"] = null;
            c["hidden_act"] = "gelu";
            c.Remove("rope_theta");
            c["intermediate_size"] = 12;
        })));
        Contains(error.Message, "num_local_experts is 8, the model declares 4 ('moe' experts)");
        Contains(error.Message, "num_experts_per_tok is 1, the model declares 2 ('moe' TopK)");
        Contains(error.Message, "sliding_window is unset: the attention reads every earlier step, but 'attention' declares SlidingWindow = 6");
        Contains(error.Message, "hidden_act is \"gelu\": declare 'moe' with Activation = Activation.Gelu");
        Contains(error.Message, "intermediate_size is 12, the model declares 24 ('moe' units)");
        Assert.DoesNotContain("rope_theta", error.Message); // (MixtralConfig's default, 1e6, is the model's)
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        // a checkpoint missing an expert's tensor: named, nothing loaded
        string missing = Copy((t, _) => t.Remove("model.layers.0.block_sparse_moe.experts.3.w2.weight"), "mixtral-missing", fixture);
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMixtral(untouched, missing));
        Contains(error.Message, "missing tensor 'model.layers.0.block_sparse_moe.experts.3.w2.weight' [32, 24] (rows 96 … 127 of 'moe.weight_out' [4, 32, 24])");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadMixtral(new HfTinyMixtralUnnormalised(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyMixtralUnnormalised is not laid out as Mixtral: layer 5 ('moe', Moe(experts: 4, units: 24, TopK = 2, NormalizeTopK = false, Activation = Silu)) is where decoder layer 0's block_sparse_moe");
        var llama = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new HfTinyMixtral(seed: 3), Fixture.Path("HfLlama")));
        Contains(llama.Message, "HfTinyMixtral is not laid out as LLaMA: layer 5 ('moe', Moe(experts: 4, units: 24, TopK = 2, Activation = Silu))");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMixtral(new HfTinyMixtral(seed: 3), Fixture.Path("HfLlama")));
        Contains(error.Message, "model_type is \"llama\": LoadMixtral reads Mixtral's checkpoints (\"mixtral\")");
        // the parity block (one Mixtral layer) written as a checkpoint and read back, tensor for tensor
        var block = new MoeBlock(seed: 7);
        string blockFolder = Path.Combine(_temp, "mixtral-block");
        HuggingFace.SaveMixtral(block, blockFolder);
        var back = new MoeBlock(seed: 8);
        HuggingFace.LoadMixtral(back, blockFolder);
        Assert.Equal(block.Parameters.SelectMany(p => p.AsSpan().ToArray()), back.Parameters.SelectMany(p => p.AsSpan().ToArray()));
    }

    /// <summary>
    /// OLMoE's and Qwen3-MoE's checkpoints (OlmoeForCausalLM, Qwen3MoeForCausalLM, transformers' modeling code written out): QK-norm
    /// across the heads or per head, a mixture of experts from a tensor per expert and projection (mlp.experts.{e}.gate_proj,
    /// up_proj, down_proj), norm_topk_prob either way: the logits of a full and a right-padded sequence at their valid steps and each
    /// cached step; saved under their names and read back; configurations and layouts that differ refused, named, nothing loaded.
    /// </summary>
    [Fact]
    public void OlmoeAndQwen3MoeCheckpointsGiveTheirLogits()
    {
        IModel<int> olmoe = new HfTinyOlmoe(seed: 1);
        HuggingFace.LoadOlmoe(olmoe, Fixture.Path("HfOlmoe"));
        AssertCausalLogits(olmoe, "HfOlmoe");
        string folder = Path.Combine(_temp, "olmoe-saved");
        HuggingFace.SaveOlmoe(olmoe, folder);
        AssertSavedAsLoaded("HfOlmoe", folder);
        IModel<int> qwen = new HfTinyQwen3Moe(seed: 1);
        HuggingFace.LoadQwen3Moe(qwen, Fixture.Path("HfQwen3Moe"));
        AssertCausalLogits(qwen, "HfQwen3Moe");
        folder = Path.Combine(_temp, "qwen3moe-saved");
        HuggingFace.SaveQwen3Moe(qwen, folder);
        AssertSavedAsLoaded("HfQwen3Moe", folder);
        var back = new HfTinyQwen3Moe(seed: 2);
        HuggingFace.LoadQwen3Moe(back, folder);
        Assert.Equal(qwen.Parameters.SelectMany(p => p.AsSpan().ToArray()), back.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyOlmoe(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmoe(untouched, Edited("HfOlmoe", "olmoe-config", c =>
        {
            c["norm_topk_prob"] = true;
            c["clip_qkv"] = 8.0;
            c["attention_bias"] = false;
            c.Remove("num_experts");
        })));
        Contains(error.Message, "norm_topk_prob is true, the model declares 'moe' (NormalizeTopK = false)");
        Contains(error.Message, "clip_qkv is 8: OLMoE clamps its queries, keys and values after their norms");
        Contains(error.Message, "attention_bias is false, the model declares 'attention'");
        Contains(error.Message, "num_experts is 64 (its default), the model declares 4 ('moe' experts)");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen3Moe(new HfTinyQwen3Moe(seed: 3), Edited("HfQwen3Moe", "qwen3moe-config", c =>
        {
            c["decoder_sparse_step"] = 2;
            c["mlp_only_layers"] = new JsonArray(1);
            c["use_sliding_window"] = true;
            c.Remove("head_dim");
            c["moe_intermediate_size"] = 16;
        })));
        Contains(error.Message, "decoder layer 0 is dense in the checkpoint (mlp_only_layers [1], decoder_sparse_step 2), the model declares a mixture of experts there ('moe')");
        Contains(error.Message, "decoder layer 1 is dense in the checkpoint (mlp_only_layers [1], decoder_sparse_step 2), the model declares a mixture of experts there ('moe_1')");
        Contains(error.Message, "use_sliding_window is true: Qwen3-MoE's sliding layers are not laid out here");
        Contains(error.Message, "head_dim is 8 (its default), the model declares 12 ('attention' HeadWidth)"); // hidden_size / num_attention_heads
        Contains(error.Message, "moe_intermediate_size is 16, the model declares 24 ('moe' units)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOlmoe(new HfTinyOlmoe(seed: 3), Fixture.Path("HfQwen3Moe")));
        Contains(error.Message, "model_type is \"qwen3_moe\": LoadOlmoe reads OLMoE's checkpoints (\"olmoe\")");
        // each family's attention in its own place: Mixtral's walk has no QK-norm, OLMoE's none per head
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadMixtral(new HfTinyOlmoe(seed: 3), Fixture.Path("HfMixtral")));
        Contains(layout.Message, "HfTinyOlmoe is not laid out as Mixtral: layer 2 ('attention'");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOlmoe(new HfTinyQwen3Moe(seed: 3), Fixture.Path("HfOlmoe")));
        Contains(layout.Message, "HfTinyQwen3Moe is not laid out as OLMoE: layer 2 ('attention'");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadQwen3Moe(new HfTinyMixtralTied(seed: 3), Fixture.Path("HfQwen3Moe")));
        Contains(layout.Message, "HfTinyMixtralTied is not laid out as Qwen3-MoE: layer 2 ('attention'");
    }

    /// <summary>
    /// transformers 5's fused experts (its checkpoint conversion for mixtral, olmoe, qwen2_moe and qwen3_moe: each layer's experts'
    /// gate then up rows stacked into <c>mlp.experts.gate_up_proj</c> [E, 2I, D], their down rows into <c>mlp.experts.down_proj</c>
    /// [E, D, I], Mixtral's <c>block_sparse_moe.gate</c> renamed <c>mlp.gate</c>) load as the Hub's tensor per expert do, bit for bit;
    /// a fused stack of another shape is refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfMixtral")]
    [InlineData("HfOlmoe")]
    [InlineData("HfQwen2Moe")]
    [InlineData("HfQwen3Moe")]
    public void FusedExpertsLoadAsATensorPerExpert(string fixture)
    {
        var (create, load, prefix, gate, up, down) = fixture switch
        {
            "HfMixtral" => ((Func<IModel>)(() => new HfTinyMixtral(seed: 1)), (Action<IModel, string>)HuggingFace.LoadMixtral, "block_sparse_moe.", "w1", "w3", "w2"),
            "HfOlmoe" => (() => new HfTinyOlmoe(seed: 1), HuggingFace.LoadOlmoe, "mlp.", "gate_proj", "up_proj", "down_proj"),
            "HfQwen3Moe" => (() => new HfTinyQwen3Moe(seed: 1), HuggingFace.LoadQwen3Moe, "mlp.", "gate_proj", "up_proj", "down_proj"),
            _ => (() => new HfTinyQwen2Moe(seed: 1), HuggingFace.LoadQwen2Moe, "mlp.", "gate_proj", "up_proj", "down_proj"),
        };
        IModel split = create(), fused = create();
        load(split, Fixture.Path(fixture));
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")));
        var written = new List<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)>();
        var expert = new System.Text.RegularExpressions.Regex(@"^model\.layers\.(\d+)\." + System.Text.RegularExpressions.Regex.Escape(prefix) + @"experts\.(\d+)\.(\w+)\.weight$");
        foreach (var (name, t) in tensors.Where(t => !expert.IsMatch(t.Key)))
            written.Add((name.Replace("." + prefix + "gate.", ".mlp.gate.", StringComparison.Ordinal), t.Shape.Select(d => (int)d).ToArray(), t.ToFloat()));
        foreach (var layer in tensors.Keys.Select(k => expert.Match(k)).Where(m => m.Success).GroupBy(m => m.Groups[1].Value))
        {
            int experts = layer.Max(m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)) + 1;
            float[] Part(int e, string projection) => tensors[$"model.layers.{layer.Key}.{prefix}experts.{e}.{projection}.weight"].ToFloat();
            long[] shape = tensors[$"model.layers.{layer.Key}.{prefix}experts.0.{gate}.weight"].Shape; // [I, D]
            int inner = (int)shape[0], width = (int)shape[1];
            float[] gateUp = Enumerable.Range(0, experts).SelectMany(e => Part(e, gate).Concat(Part(e, up))).ToArray();
            float[] downs = Enumerable.Range(0, experts).SelectMany(e => Part(e, down)).ToArray();
            written.Add(($"model.layers.{layer.Key}.mlp.experts.gate_up_proj", new[] { experts, 2 * inner, width }, gateUp));
            written.Add(($"model.layers.{layer.Key}.mlp.experts.down_proj", new[] { experts, width, inner }, downs));
        }
        string folder = Path.Combine(_temp, fixture + "-fused");
        Directory.CreateDirectory(folder);
        SafeTensors.Write(Path.Combine(folder, "model.safetensors"), written);
        File.Copy(Fixture.Path(Path.Combine(fixture, "config.json")), Path.Combine(folder, "config.json"), overwrite: true);
        load(fused, folder);
        foreach (Parameter p in split.Parameters) Assert.Equal(p.AsSpan().ToArray(), fused.Parameters[p.Name].AsSpan().ToArray());

        // the layers read each in its own layout: the first as a tensor per expert again, the last as stacks
        string mixed = Path.Combine(_temp, fixture + "-mixed");
        Directory.CreateDirectory(mixed);
        SafeTensors.Write(Path.Combine(mixed, "model.safetensors"), written.Where(t => !t.Name.StartsWith("model.layers.0.mlp.", StringComparison.Ordinal))
            .Concat(tensors.Where(t => t.Key.StartsWith($"model.layers.0.{prefix}", StringComparison.Ordinal)).Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat()))));
        File.Copy(Fixture.Path(Path.Combine(fixture, "config.json")), Path.Combine(mixed, "config.json"), overwrite: true);
        IModel both = create();
        load(both, mixed);
        foreach (Parameter p in split.Parameters) Assert.Equal(p.AsSpan().ToArray(), both.Parameters[p.Name].AsSpan().ToArray());

        // a stack of one expert too few: named, with the shape expected
        int last = written.FindLastIndex(t => t.Name.EndsWith("gate_up_proj", StringComparison.Ordinal));
        var (stackName, stackShape, stackValues) = written[last];
        int[] fewer = [stackShape.Span[0] - 1, stackShape.Span[1], stackShape.Span[2]];
        written[last] = (stackName, fewer, stackValues[..(fewer[0] * fewer[1] * fewer[2])]);
        SafeTensors.Write(Path.Combine(folder, "model.safetensors"), written);
        var error = Assert.Throws<InvalidDataException>(() => load(create(), folder));
        Contains(error.Message, $"tensor '{stackName}' has shape [{fewer[0]}, {fewer[1]}, {fewer[2]}], expected [{stackShape.Span[0]}, {stackShape.Span[1]}, {stackShape.Span[2]}]");
    }

    /// <summary>
    /// Qwen2-MoE's checkpoint (Qwen2MoeForCausalLM, transformers' modeling_qwen2_moe written out): Qwen2's attention biases, the
    /// routed experts as they are, and the shared expert scaled by its sigmoid gate — the logits of a full and a right-padded
    /// sequence and each cached step; saved under its names and read back; a configuration or layout that differs refused, named.
    /// </summary>
    [Fact]
    public void AQwen2MoeCheckpointLoadsWithItsSharedExpertAndSavesBack()
    {
        IModel<int> qwen = new HfTinyQwen2Moe(seed: 1);
        HuggingFace.LoadQwen2Moe(qwen, Fixture.Path("HfQwen2Moe"));
        AssertCausalLogits(qwen, "HfQwen2Moe");
        string folder = Path.Combine(_temp, "qwen2moe-saved");
        HuggingFace.SaveQwen2Moe(qwen, folder);
        AssertSavedAsLoaded("HfQwen2Moe", folder);
        var back = new HfTinyQwen2Moe(seed: 2);
        HuggingFace.LoadQwen2Moe(back, folder);
        Assert.Equal(qwen.Parameters.SelectMany(p => p.AsSpan().ToArray()), back.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyQwen2Moe(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen2Moe(untouched, Edited("HfQwen2Moe", "qwen2moe-config", c =>
        {
            c["shared_expert_intermediate_size"] = 16;
            c["qkv_bias"] = false;
            c["norm_topk_prob"] = true;
            c["decoder_sparse_step"] = 2;
        })));
        Contains(error.Message, "shared_expert_intermediate_size is 16, the model declares 20 ('moe' SharedUnits)");
        Contains(error.Message, "qkv_bias is false, the model declares 'attention' with biases on q, k and v (Bias = true)");
        Contains(error.Message, "norm_topk_prob is true, the model declares 'moe' (NormalizeTopK = false)");
        Contains(error.Message, "decoder layer 0 is dense in the checkpoint (mlp_only_layers [], decoder_sparse_step 2), the model declares a mixture of experts there ('moe')");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        // a shared expert where the family has none, and none where it has one; Qwen2's biases where Qwen3-MoE has none
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadQwen2Moe(new HfTinyMixtral(seed: 3), Fixture.Path("HfQwen2Moe")));
        Contains(layout.Message, "HfTinyMixtral is not laid out as Qwen2-MoE");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadQwen3Moe(new HfTinyQwen2Moe(seed: 3), Fixture.Path("HfQwen3Moe")));
        Contains(layout.Message, "HfTinyQwen2Moe is not laid out as Qwen3-MoE: layer 2 ('attention'");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOlmoe(new HfTinyQwen2Moe(seed: 3), Fixture.Path("HfOlmoe")));
        Contains(layout.Message, "HfTinyQwen2Moe is not laid out as OLMoE");
        // a mixture with a shared expert where Mixtral's has none: the layer's description names it
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadMixtral(new MoeSharedInMixtral(seed: 3), Fixture.Path("HfMixtral")));
        Contains(layout.Message, "SharedUnits = 20, SharedExpertGate = true");
    }

    /// <summary>
    /// Dense layers among the sparse ones (Qwen2MoeDecoderLayer's and Qwen3MoeDecoderLayer's choice: layer i dense where it is in
    /// mlp_only_layers or i + 1 is not a multiple of decoder_sparse_step), declared as LLaMA's feed-forward in their places: the
    /// logits of both fixtures (mlp_only_layers [0]; decoder_sparse_step 2) at every step and each cached one; saved with the dense
    /// layers listed and read back; a configuration whose layers differ from the model's refused, each layer named, nothing loaded.
    /// </summary>
    [Fact]
    public void DenseLayersAmongTheSparseOnesLoadAndSave()
    {
        IModel<int> qwen2 = new HfTinyQwen2MoeMixed(seed: 1);
        HuggingFace.LoadQwen2Moe(qwen2, Fixture.Path("HfQwen2MoeMixed"));
        AssertCausalLogits(qwen2, "HfQwen2MoeMixed");
        string folder = Path.Combine(_temp, "qwen2moe-mixed-saved");
        HuggingFace.SaveQwen2Moe(qwen2, folder);
        AssertSavedAsLoaded("HfQwen2MoeMixed", folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("[0]", config["mlp_only_layers"]!.ToJsonString());
        Assert.Equal(48, (int)config["intermediate_size"]!);

        IModel<int> qwen3 = new HfTinyQwen3MoeMixed(seed: 1);
        HuggingFace.LoadQwen3Moe(qwen3, Fixture.Path("HfQwen3MoeMixed"));
        AssertCausalLogits(qwen3, "HfQwen3MoeMixed");
        folder = Path.Combine(_temp, "qwen3moe-mixed-saved");
        HuggingFace.SaveQwen3Moe(qwen3, folder);
        AssertSavedAsLoaded("HfQwen3MoeMixed", folder);
        config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("[0,2]", config["mlp_only_layers"]!.ToJsonString()); // decoder_sparse_step 2's layers, listed
        var back = new HfTinyQwen3MoeMixed(seed: 2);
        HuggingFace.LoadQwen3Moe(back, folder);
        Assert.Equal(qwen3.Parameters.SelectMany(p => p.AsSpan().ToArray()), back.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyQwen3MoeMixed(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen3Moe(untouched, Edited("HfQwen3MoeMixed", "qwen3moe-mixed-config", c =>
        {
            c["decoder_sparse_step"] = 1;
            c["mlp_only_layers"] = new JsonArray(1);
            c["intermediate_size"] = 40;
        })));
        Contains(error.Message, "decoder layer 0 is sparse in the checkpoint (mlp_only_layers [1], decoder_sparse_step 1), the model declares a dense feed-forward there ('dense'): declare its [Moe]");
        Contains(error.Message, "decoder layer 1 is dense in the checkpoint (mlp_only_layers [1], decoder_sparse_step 1), the model declares a mixture of experts there ('moe')");
        Contains(error.Message, "decoder layer 2 is sparse in the checkpoint");
        Contains(error.Message, "intermediate_size is 40, the model declares 48 ('dense' units)");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen3Moe(untouched, Edited("HfQwen3MoeMixed", "qwen3moe-mixed-bad", c =>
        {
            c["decoder_sparse_step"] = 0;
            c["mlp_only_layers"] = "0";
        })));
        Contains(error.Message, "decoder_sparse_step is 0: expected a positive whole number (1: every layer sparse)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen3Moe(untouched, Edited("HfQwen3MoeMixed", "qwen3moe-mixed-list", c => c["mlp_only_layers"] = "0")));
        Contains(error.Message, "mlp_only_layers is \"0\": expected a list of layer indices");
        // no experts at all: every layer dense in transformers, whatever the other keys say
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen3Moe(untouched, Edited("HfQwen3MoeMixed", "qwen3moe-no-experts", c => c["num_experts"] = 0)));
        Contains(error.Message, "decoder layer 1 is dense in the checkpoint (num_experts 0), the model declares a mixture of experts there ('moe')");
        // every layer sparse in the checkpoint, the model's first dense
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadQwen2Moe(new HfTinyQwen2MoeMixed(seed: 3), Edited("HfQwen2MoeMixed", "qwen2moe-mixed-config", c => c["mlp_only_layers"] = new JsonArray())));
        Contains(error.Message, "decoder layer 0 is sparse in the checkpoint (mlp_only_layers [], decoder_sparse_step 1)");
        // a decoder with no mixture at all, and a dense layer where the family has none
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadQwen2Moe(new HfTinyQwen2(seed: 3), Fixture.Path("HfQwen2MoeMixed")));
        Contains(layout.Message, "HfTinyQwen2 is not laid out as Qwen2-MoE: none of its 2 decoder layers has a mixture of experts");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadMixtral(new HfTinyQwen3MoeMixed(seed: 3), Fixture.Path("HfMixtral")));
        Contains(layout.Message, "HfTinyQwen3MoeMixed is not laid out as Mixtral");
    }

    /// <summary>
    /// Granite's checkpoint (GraniteForCausalLM, transformers' modeling_granite written out): its embedding, residual, attention and
    /// logit multipliers ([Scale] layers and the attention's Scale), every bias, tied: the logits of a full and a right-padded
    /// sequence at their valid steps and each cached step; saved under its names and read back; a configuration or layout that
    /// differs refused, named.
    /// </summary>
    [Fact]
    public void AGraniteCheckpointGivesItsLogits()
    {
        const string fixture = "HfGranite";
        IModel<int> model = new HfTinyGranite(seed: 1);
        HuggingFace.LoadGranite(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveGranite(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = new HfTinyGranite(seed: 5);
        HuggingFace.LoadGranite(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = new HfTinyGranite(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGranite(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["embedding_multiplier"] = 10.0;
            c.Remove("residual_multiplier");
            c["attention_multiplier"] = 0.5;
            c["logits_scaling"] = 16.0;
            c["mlp_bias"] = false;
            c["rms_norm_eps"] = 1e-5;
        })));
        Contains(error.Message, "embedding_multiplier is 10, the model declares 12 ('scale')");
        Contains(error.Message, "residual_multiplier is 1 (its default), the model declares 0.25 ('scale_1')");
        Contains(error.Message, "attention_multiplier is 0.5, the model declares 0.125 ('attention' (its scores' scale: Scale, else 1/√d))");
        Contains(error.Message, "logits_scaling is 16: the logits are divided by it, so declare [Scale(0.0625f)] after 'dense_4' ('scale_5' is 0.125)");
        Contains(error.Message, "mlp_bias is false, the model declares 'dense'");
        Contains(error.Message, "rms_norm_eps is 1E-05, the model declares 1E-06 ('rmsnorm' Epsilon)");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGranite(new HfTinyOlmo(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyOlmo is not laid out as Granite: layer 1 ('layernorm', LayerNorm(ElementwiseAffine = false)) is where decoder layer 0's input_layernorm ([RmsNorm])");
        // LLaMA's walk has no place for a [Scale]
        var llama = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new HfTinyGranite(seed: 3), Fixture.Path("HfLlama")));
        Contains(llama.Message, "HfTinyGranite is not laid out as LLaMA: layer 1 ('scale', Scale(12))");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGranite(new HfTinyGranite(seed: 3), Fixture.Path("HfOlmo")));
        Contains(error.Message, "model_type is \"olmo\": LoadGranite reads Granite's checkpoints (\"granite\"");
        // multipliers of 1 left out: the residuals over two and three layers; the fixture's multipliers then named
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGranite(new HfTinyGraniteBare(seed: 3), Fixture.Path(fixture)));
        Contains(error.Message, "embedding_multiplier is 12, the model declares 1 (no [Scale] after 'embedding')");
        Contains(error.Message, "residual_multiplier is 0.25, the model declares 1 (no [Scale] between 'attention' and its residual)");
        Contains(error.Message, "num_hidden_layers is 2, the model declares 1 (its decoder layers)");
        // saved and read back with a logit factor whose reciprocal float would not give it back
        var bare = new HfTinyGraniteBare(seed: 4);
        string bareFolder = Path.Combine(_temp, "granite-bare");
        HuggingFace.SaveGranite(bare, bareFolder);
        var bareBack = new HfTinyGraniteBare(seed: 6);
        HuggingFace.LoadGranite(bareBack, bareFolder);
        Assert.Equal(bare.Parameters.SelectMany(p => p.AsSpan().ToArray()), bareBack.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        var uneven = Assert.Throws<ArgumentException>(() => HuggingFace.SaveGranite(new HfTinyGraniteUneven(seed: 3), Path.Combine(_temp, "granite-uneven")));
        Contains(uneven.Message, "decoder layer 0's feed-forward is scaled by 0.5 before its residual and decoder layer 0's attention by 0.25: Granite's residuals share one residual_multiplier");
        Assert.False(Directory.Exists(Path.Combine(_temp, "granite-uneven")));
    }

    /// <summary>
    /// Granite MoE's checkpoint (GraniteMoeForCausalLM, transformers' modeling_granitemoe written out): Granite's multipliers, its experts'
    /// stacks (input_linear [E, 2I, D], gate rows first; output_linear [E, D, I]) and its router's softmax over the top 2 scores — the
    /// logits of a full and a right-padded sequence and each cached step; saved as the same stacks and read back; a configuration or
    /// layout that differs refused, named.
    /// </summary>
    [Fact]
    public void AGraniteMoeCheckpointLoadsWithItsStackedExpertsAndSavesBack()
    {
        const string fixture = "HfGraniteMoe";
        IModel<int> model = new HfTinyGraniteMoe(seed: 1);
        HuggingFace.LoadGraniteMoe(model, Fixture.Path(fixture));
        AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveGraniteMoe(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = new HfTinyGraniteMoe(seed: 5);
        HuggingFace.LoadGraniteMoe(reloaded, folder);
        Assert.Equal(model.Parameters.SelectMany(p => p.AsSpan().ToArray()), reloaded.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyGraniteMoe(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoe(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["num_local_experts"] = 8;
            c["num_experts_per_tok"] = 1;
            c["intermediate_size"] = 16;
            c["position_embedding_type"] = "nope";
            c["residual_multiplier"] = 0.5;
        })));
        Contains(error.Message, "num_local_experts is 8, the model declares 4 ('moe' experts)");
        Contains(error.Message, "num_experts_per_tok is 1, the model declares 2 ('moe' TopK)");
        Contains(error.Message, "intermediate_size is 16, the model declares 24 ('moe')");
        Contains(error.Message, "position_embedding_type is \"nope\": Granite MoE's layers are laid out here with rotary positions (\"rope\")");
        Contains(error.Message, "residual_multiplier is 0.5, the model declares 0.25 ('scale_1')");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoe(untouched, Edited(fixture, fixture + "-no-positions", c => c["position_embedding_type"] = null)));
        Contains(error.Message, "position_embedding_type is null: Granite MoE's layers are laid out here with rotary positions (\"rope\")");
        // each loader its own family: the dense layers where the experts are, and the experts where a feed-forward is
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGraniteMoe(new HfTinyGranite(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyGranite is not laid out as Granite MoE: layer 7 ('dense', Dense(40, Activation = Silu, Gated = true)) is where decoder layer 0's block_sparse_moe");
        layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGranite(new HfTinyGraniteMoe(seed: 3), Fixture.Path("HfGranite")));
        Contains(layout.Message, "HfTinyGraniteMoe is not laid out as Granite: layer 7 ('moe', Moe(experts: 4, units: 24, TopK = 2, Activation = Silu))");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoe(new HfTinyGraniteMoe(seed: 3), Fixture.Path("HfGranite")));
        Contains(error.Message, "model_type is \"granite\": LoadGraniteMoe reads Granite MoE's checkpoints (\"granitemoe\"; LoadGraniteMoeShared reads granitemoeshared's)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGranite(new HfTinyGranite(seed: 3), Fixture.Path(fixture)));
        Contains(error.Message, "model_type is \"granitemoe\": LoadGranite reads Granite's checkpoints (\"granite\"; LoadGraniteMoe reads granitemoe's experts)");
    }

    /// <summary>
    /// Granite MoE with shared experts (GraniteMoeSharedForCausalLM, transformers' modeling_granitemoeshared written out): each
    /// layer's shared_mlp (input_linear's gate rows then up rows, output_linear) added to the experts' sum as it is — the logits of a
    /// full and a right-padded sequence and each cached step; saved with input_linear stacked as its checkpoints hold it and read
    /// back; a configuration or layout that differs refused, named, nothing loaded.
    /// </summary>
    [Fact]
    public void AGraniteMoeSharedCheckpointLoadsWithItsSharedExpertsAndSavesBack()
    {
        const string fixture = "HfGraniteMoeShared";
        IModel<int> model = new HfTinyGraniteMoeShared(seed: 1);
        HuggingFace.LoadGraniteMoeShared(model, Fixture.Path(fixture));
        AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveGraniteMoeShared(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        Assert.Equal(20, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["shared_intermediate_size"]!);
        IModel<int> reloaded = new HfTinyGraniteMoeShared(seed: 5);
        HuggingFace.LoadGraniteMoeShared(reloaded, folder);
        Assert.Equal(model.Parameters.SelectMany(p => p.AsSpan().ToArray()), reloaded.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyGraniteMoeShared(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoeShared(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["shared_intermediate_size"] = 16;
            c["position_embedding_type"] = "nope";
        })));
        Contains(error.Message, "shared_intermediate_size is 16, the model declares 20 ('moe' SharedUnits)");
        Contains(error.Message, "position_embedding_type is \"nope\": GraniteMoeShared's layers are laid out here with rotary positions");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoeShared(untouched, Edited(fixture, fixture + "-unshared", c => c.Remove("shared_intermediate_size"))));
        Contains(error.Message, "shared_intermediate_size is 0 (its default), the model declares 20 ('moe' SharedUnits)");
        // each loader its own checkpoints, and Granite MoE's mixtures have no shared expert
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoeShared(new HfTinyGraniteMoeShared(seed: 3), Fixture.Path("HfGraniteMoe")));
        Contains(error.Message, "model_type is \"granitemoe\": LoadGraniteMoeShared reads Granite MoE's checkpoints with shared experts (\"granitemoeshared\"; LoadGraniteMoe reads granitemoe's)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGraniteMoe(new HfTinyGraniteMoe(seed: 3), Fixture.Path(fixture)));
        Contains(error.Message, "model_type is \"granitemoeshared\": LoadGraniteMoe reads Granite MoE's checkpoints (\"granitemoe\"; LoadGraniteMoeShared reads granitemoeshared's)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGraniteMoe(new HfTinyGraniteMoeShared(seed: 3), Fixture.Path("HfGraniteMoe")));
        Contains(layout.Message, "HfTinyGraniteMoeShared is not laid out as Granite MoE: layer 7 ('moe'");
        // a mixture without a shared expert where the configuration says none (shared_intermediate_size 0): Granite MoE's checkpoint, relabelled
        IModel<int> plain = new HfTinyGraniteMoe(seed: 1);
        HuggingFace.LoadGraniteMoeShared(plain, Edited("HfGraniteMoe", "granitemoe-as-shared", c => c["model_type"] = "granitemoeshared"));
        AssertCausalLogits(plain, "HfGraniteMoe");
    }

    /// <summary>
    /// Cohere's checkpoints (CohereForCausalLM, transformers' modeling_cohere written out): parallel layers with one bias-free layer
    /// norm, the interleaved rotation read by reordering each head's query and key rows (and biases), the logits scaled — tied with
    /// attention biases, and untied without: the logits of a full and a right-padded sequence at their valid steps and each cached
    /// step; saved with the rows back in Cohere's order and read back; a configuration or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfCohere")]
    [InlineData("HfCohereUntied")]
    public void ACohereCheckpointGivesItsLogits(string fixture)
    {
        Func<int, IModel<int>> create = fixture == "HfCohere" ? seed => new HfTinyCohere(seed) : seed => new HfTinyCohereUntied(seed);
        IModel<int> model = create(1);
        HuggingFace.LoadCohere(model, Fixture.Path(fixture));
        AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveCohere(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        IModel<int> reloaded = create(5);
        HuggingFace.LoadCohere(reloaded, folder);
        Assert.Equal(model.Parameters.SelectMany(p => p.AsSpan().ToArray()), reloaded.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = create(3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c.Remove("logit_scale");
            c["use_qk_norm"] = true;
            c["layer_norm_eps"] = 1e-6;
            c["rope_theta"] = 10000.0;
            c.Remove("tie_word_embeddings");
        })));
        Contains(error.Message, "logit_scale is 0.0625 (its default): the logits are scaled by it, so declare [Scale(0.0625f)] after 'dense_4' ('scale' is 0.25)");
        Contains(error.Message, "use_qk_norm is true: Command R+'s layer norm of each head's queries and keys is not laid out here");
        Contains(error.Message, "layer_norm_eps is 1E-06, the model declares 1E-05 ('layernorm' Epsilon)");
        Contains(error.Message, "rope_theta is 10000, the model declares 500 ('attention' RotaryBase)");
        if (fixture == "HfCohereUntied") Contains(error.Message, "tie_word_embeddings is true (its default), the model declares 'dense_4' with its own weights (declare TieEmbedding = true to tie it)");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere(create(3), Fixture.Path("HfLlama")));
        Contains(error.Message, "LoadCohere reads Cohere's checkpoints (\"cohere\"; LoadCohere2 reads cohere2's)");
        // the norms and the feed-forward in their places: LLaMA's sequential layers are not Cohere's parallel ones
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadCohere(new HfTinyQwen2(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyQwen2 is not laid out as Cohere");
    }

    /// <summary>
    /// Cohere 2's checkpoint (Cohere2ForCausalLM, transformers' modeling_cohere2 written out): its sliding layers turned and windowed,
    /// its full one neither (its rows not reordered) — the logits of a full and a right-padded sequence and each cached step (the
    /// windows' steps past included); saved with its layer_types and read back; each layer of another kind than the configuration's
    /// named, nothing loaded.
    /// </summary>
    [Fact]
    public void ACohere2CheckpointGivesItsLogits()
    {
        const string fixture = "HfCohere2";
        IModel<int> model = new HfTinyCohere2(seed: 1);
        HuggingFace.LoadCohere2(model, Fixture.Path(fixture));
        AssertCausalLogits(model, fixture);
        // the full layer's rows as the checkpoint holds them (its scores would not show a reordering of both q and k)
        float[] q = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")))["model.layers.1.self_attn.q_proj.weight"].ToFloat();
        Assert.Equal(q, model.Parameters["attention_1.in_proj_weight"].AsSpan()[..q.Length].ToArray());
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveCohere2(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("[\"sliding_attention\",\"full_attention\",\"sliding_attention\"]", config["layer_types"]!.ToJsonString());
        IModel<int> reloaded = new HfTinyCohere2(seed: 5);
        HuggingFace.LoadCohere2(reloaded, folder);
        Assert.Equal(model.Parameters.SelectMany(p => p.AsSpan().ToArray()), reloaded.Parameters.SelectMany(p => p.AsSpan().ToArray()));

        IModel<int> untouched = new HfTinyCohere2(seed: 3);
        float[] before = [.. untouched.Parameters.SelectMany(p => p.AsSpan().ToArray())];
        // the older configurations' pattern: every 4th layer full, so all three of these slide
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere2(untouched, Edited(fixture, fixture + "-pattern", c =>
        {
            c.Remove("layer_types");
            c["sliding_window"] = 8;
        })));
        Contains(error.Message, "layer 0 is \"sliding_attention\": declare 'attention' with Rotary = true and SlidingWindow = 8 (sliding_window)");
        Contains(error.Message, "layer 1 is \"sliding_attention\": declare 'attention_1' with Rotary = true and SlidingWindow = 8 (sliding_window)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere2(untouched, Edited(fixture, fixture + "-types", c =>
            c["layer_types"] = new JsonArray("full_attention", "full_attention", "sliding_attention"))));
        Contains(error.Message, "layer 0 is \"full_attention\": declare 'attention' without Rotary or SlidingWindow (Cohere 2's full layers turn nothing and see every earlier step)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere2(untouched, Edited(fixture, fixture + "-unwindowed", c => c["sliding_window"] = null)));
        Contains(error.Message, "sliding_window is null: Cohere 2's sliding layers are masked by it, which transformers' Cohere 2 needs given");
        Assert.Equal(before, untouched.Parameters.SelectMany(p => p.AsSpan().ToArray()));
        // each loader its own checkpoints and layers; a Cohere 2 has a sliding layer at least (Cohere's layers all turn, none slides)
        var unturned = Assert.Throws<ArgumentException>(() => HuggingFace.LoadCohere2(new HfTinyCohere(seed: 3), Fixture.Path(fixture)));
        Contains(unturned.Message, "HfTinyCohere is not laid out as Cohere 2");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadCohere2(new HfTinyCohere2(seed: 3), Fixture.Path("HfCohere")));
        Contains(error.Message, "LoadCohere2 reads Cohere 2's checkpoints (\"cohere2\"; LoadCohere reads cohere's)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadCohere(new HfTinyCohere2(seed: 3), Fixture.Path("HfCohere")));
        Contains(layout.Message, "HfTinyCohere2 is not laid out as Cohere");
    }

    /// <summary>
    /// GPT-BigCode's checkpoints (GPTBigCodeForCausalLM, transformers' modeling_gpt_bigcode written out): nn.Linear weights read as they
    /// are, one key/value head (multi_query) or c_attn's rows head by head (without): the logits of a full and a right-padded
    /// sequence at their valid steps and each cached step; saved under its names and read back; a configuration or layout that
    /// differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfGptBigCode")]
    [InlineData("HfGptBigCodeMha")]
    public void AGptBigCodeCheckpointGivesItsLogits(string fixture)
    {
        bool multiQuery = fixture == "HfGptBigCode";
        IModel<int> Create(int seed) => multiQuery ? new HfTinyGptBigCode(seed) : new HfTinyGptBigCodeMha(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadGptBigCode(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveGptBigCode(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal("gpt_bigcode", config.RootElement.GetProperty("model_type").GetString());
            Assert.Equal(multiQuery, config.RootElement.GetProperty("multi_query").GetBoolean());
            Assert.Equal("gelu_pytorch_tanh", config.RootElement.GetProperty("activation_function").GetString());
        }
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadGptBigCode(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptBigCode(Create(3), Edited(fixture, fixture + "-config", c =>
        {
            c["multi_query"] = !multiQuery;
            c["n_inner"] = 96;
        })));
        Contains(error.Message, multiQuery ? "multi_query is false, the model declares 'attention' with one key/value head (KeyValueHeads = 1)"
            : "multi_query is true, the model declares 'attention' with a key/value head per query head");
        Contains(error.Message, "n_inner is 96, the model declares 40 ('dense')");
        // GPT-2's loader and GPT-BigCode's each refuse the other's checkpoints and layouts
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptBigCode(Create(3), Fixture.Path("HfGpt2")));
        Contains(error.Message, "model_type is \"gpt2\": LoadGptBigCode reads GPT-BigCode's checkpoints (\"gpt_bigcode\")");
        if (multiQuery)
        {
            var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGpt2(Create(3), Fixture.Path(fixture)));
            Contains(layout.Message, "HfTinyGptBigCode is not laid out as GPT-2");
        }
        else
        {
            error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGpt2(Create(3), Fixture.Path(fixture)));
            Contains(error.Message, "model_type is \"gpt_bigcode\": LoadGpt2 reads GPT-2's checkpoints");
        }
    }

    /// <summary>
    /// GPT-J's and CodeGen's checkpoints (GPTJForCausalLM, CodeGenForCausalLM; transformers' modeling_gptj and modeling_codegen written
    /// out): parallel layers with one norm, no attention biases, each head's first rotary_dim values turned in pairs (2j, 2j + 1), read
    /// as the attention's pairs (j, j + r/2) by reordering the query and key rows, CodeGen's qkv_proj in its 4 groups: the logits of a
    /// full and a right-padded sequence at their valid steps and each cached step; saved in their order and read back; a configuration
    /// or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfGptJ")]
    [InlineData("HfCodeGen")]
    public void AGptJCheckpointGivesItsLogits(string fixture)
    {
        bool codeGen = fixture == "HfCodeGen";
        IModel<int> Create(int seed) => codeGen ? new HfTinyCodeGen(seed) : new HfTinyGptJ(seed);
        Action<IModel, string> load = codeGen ? HuggingFace.LoadCodeGen : HuggingFace.LoadGptJ;
        IModel<int> model = Create(1);
        load(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        (codeGen ? (Action<IModel, string>)HuggingFace.SaveCodeGen : HuggingFace.SaveGptJ)(model, folder);
        AssertSavedAsLoaded(fixture, folder, name => !name.Contains("_bias", StringComparison.Ordinal) && !name.EndsWith("attn.bias", StringComparison.Ordinal)
            && !name.EndsWith("causal_mask", StringComparison.Ordinal));
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(codeGen ? "codegen" : "gptj", config.RootElement.GetProperty("model_type").GetString());
            Assert.Equal(codeGen ? 6 : 4, config.RootElement.GetProperty("rotary_dim").GetInt32());
        }
        IModel<int> reloaded = Create(5);
        load(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = Create(3);
        float[] before = untouched.Parameters["attention.in_proj_weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => load(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["rotary_dim"] = codeGen ? 4 : 8;
            c["n_inner"] = 96;
            c["activation_function"] = "gelu";
            c["layer_norm_epsilon"] = 1e-6;
            c["tie_word_embeddings"] = true;
        })));
        Contains(error.Message, codeGen ? "rotary_dim is 4, the model declares 6 ('attention' whole head, without RotaryDimensions)"
            : "rotary_dim is 8, the model declares 4 ('attention' RotaryDimensions)");
        Contains(error.Message, $"n_inner is 96, the model declares {(codeGen ? 192 : 64)} ('dense')");
        Contains(error.Message, "activation_function is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Contains(error.Message, "layer_norm_epsilon is 1E-06");
        Contains(error.Message, "tie_word_embeddings is true");
        Assert.Equal(before, untouched.Parameters["attention.in_proj_weight"].AsSpan().ToArray());
        error = Assert.Throws<InvalidDataException>(() => load(untouched, Edited(fixture, fixture + "-null", c =>
        {
            c["rotary_dim"] = null;
            c.Remove("n_inner");
            if (codeGen) c["auto_map"] = new JsonObject { ["AutoModelForCausalLM"] = "modeling_codegen.CodeGenForCausalLM" };
        })));
        Contains(error.Message, $"rotary_dim is null: {(codeGen ? "CodeGen" : "GPT-J")}'s attention then turns pairs over the whole width (n_embd), which fits one head alone, not 'attention''s {(codeGen ? 8 : 4)}");
        if (codeGen) Contains(error.Message, "auto_map is {\"AutoModelForCausalLM\":\"modeling_codegen.CodeGenForCausalLM\"}: the checkpoint runs modelling code of its own (CodeGen2's");
        if (!codeGen) Contains(error.Message, "n_inner is unset (null or absent): 4 · n_embd = 128, the model declares 64 ('dense')");
        error = Assert.Throws<InvalidDataException>(() => load(untouched, Edited(fixture, fixture + "-odd", c => c["rotary_dim"] = 3)));
        Contains(error.Message, "rotary_dim is 3: the rotation turns an even number of each head's");
        // each loader refuses the other's checkpoints, and Phi's layout (its attention biases)
        error = Assert.Throws<InvalidDataException>(() => load(Create(3), Fixture.Path(codeGen ? "HfGptJ" : "HfCodeGen")));
        Contains(error.Message, codeGen ? "model_type is \"gptj\": LoadCodeGen reads CodeGen's checkpoints (\"codegen\")" : "model_type is \"codegen\": LoadGptJ reads GPT-J's checkpoints (\"gptj\")");
        var layout = Assert.Throws<ArgumentException>(() => load(new HfTinyPhi(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, $"HfTinyPhi is not laid out as {(codeGen ? "CodeGen" : "GPT-J")}: layer 2 ('attention', Attention(Heads = 4, KeyValueHeads = 2");
    }

    /// <summary>
    /// OPT's checkpoints (OPTForCausalLM, transformers' modeling_opt written out): opt-125m's pre-norm layers and opt-350m's post-norm
    /// ones with project_in and project_out, learned positions read 2 rows into OPT's table, the output layer tied: the logits of a
    /// full and a right-padded sequence at their valid steps and each cached step; saved under its names (the table's two offset rows
    /// zeros) and read back; a configuration or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfOpt")]
    [InlineData("HfOptPostNorm")]
    public void AnOptCheckpointGivesItsLogits(string fixture)
    {
        bool preNorm = fixture == "HfOpt";
        IModel<int> Create(int seed) => preNorm ? new HfTinyOpt(seed) : new HfTinyOptPostNorm(seed);
        IModel<int> model = Create(1);
        HuggingFace.LoadOpt(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveOpt(model, folder);
        // the fixture's tensors, name for name and value for value, but the position table's two offset rows, which it saves as zeros
        Dictionary<string, SafeTensor> original = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors")));
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(original.Keys.Order(StringComparer.Ordinal), saved.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in original)
        {
            Assert.Equal(t.Shape, saved[name].Shape);
            float[] expected = t.ToFloat();
            if (name == "model.decoder.embed_positions.weight") expected.AsSpan(0, 2 * 32).Clear();
            Assert.Equal(expected, saved[name].ToFloat());
        }
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(preNorm, config.RootElement.GetProperty("do_layer_norm_before").GetBoolean());
            Assert.Equal(preNorm ? 32 : 16, config.RootElement.GetProperty("word_embed_proj_dim").GetInt32());
        }
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadOpt(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        IModel<int> untouched = Create(3);
        float[] before = untouched.Parameters["positionembedding.weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOpt(untouched, Edited(fixture, fixture + "-config", c =>
        {
            c["do_layer_norm_before"] = !preNorm;
            c["max_position_embeddings"] = 2048;
            c["activation_function"] = "gelu";
            c["enable_bias"] = false;
            c["layer_norm_elementwise_affine"] = false;
            c["tie_word_embeddings"] = false;
            c.Remove("word_embed_proj_dim");
        })));
        Contains(error.Message, preNorm ? "do_layer_norm_before is false, the model declares its norms before the attention and the feed-forward (pre-norm)"
            : "do_layer_norm_before is true, the model declares its norms after the residuals (post-norm)");
        Contains(error.Message, "max_position_embeddings is 2048, the model declares 16 ('positionembedding' maxLength)");
        Contains(error.Message, $"activation_function is \"gelu\": declare '{(preNorm ? "dense" : "dense_1")}' with Activation = Activation.Gelu");
        Contains(error.Message, "enable_bias is false, the model declares 'attention'");
        Contains(error.Message, "layer_norm_elementwise_affine is false");
        Contains(error.Message, "tie_word_embeddings is false, the model declares 'dense_");
        if (!preNorm) Contains(error.Message, "word_embed_proj_dim is unset (null or absent): hidden_size, 32, the model declares 16 ('embedding')");
        Assert.Equal(before, untouched.Parameters["positionembedding.weight"].AsSpan().ToArray());
        if (preNorm)
        {
            error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOpt(untouched, Edited(fixture, fixture + "-no-last-norm", c => c["_remove_final_layer_norm"] = true)));
            Contains(error.Message, "_remove_final_layer_norm is true, the model declares decoder.final_layer_norm ('layernorm_4')");
            // a null flag reads false, as OPT's modules test it: post-norm layers, no biases
            error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOpt(untouched, Edited(fixture, fixture + "-nulls", c =>
            {
                c["do_layer_norm_before"] = null;
                c["enable_bias"] = null;
            })));
            Contains(error.Message, "do_layer_norm_before is null (false), the model declares its norms before the attention and the feed-forward (pre-norm)");
            Contains(error.Message, "enable_bias is null (false), the model declares 'attention'");
            // OPTModel's names (no model. prefix, as facebook's checkpoints have them) with the tied lm_head beside them: the same logits
            string plain = Copy((tensors, _) =>
            {
                foreach (string name in tensors.Keys.ToArray())
                {
                    tensors.Remove(name, out SafeTensor? t);
                    tensors[name["model.".Length..]] = t!;
                }
                tensors["lm_head.weight"] = tensors["decoder.embed_tokens.weight"];
            }, "opt-plain", fixture);
            var renamed = new HfTinyOpt(seed: 7);
            HuggingFace.LoadOpt(renamed, plain);
            Assert.Equal(actual, ParityModel.Flatten(renamed.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        }
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadOpt(new HfTinyGptNeoX(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyGptNeoX is not laid out as OPT");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadOpt(Create(3), Fixture.Path("HfGpt2")));
        Contains(error.Message, "model_type is \"gpt2\": LoadOpt reads OPT's checkpoints (\"opt\")");
    }

    /// <summary>
    /// GPT-Neo's checkpoints (GPTNeoForCausalLM, transformers' modeling_gpt_neo written out): GPT-2's blocks with unscaled scores, the
    /// output projection's bias alone, a global layer and a local one: the logits of a full and a right-padded sequence at their valid
    /// steps and each cached step (the local window past its size); saved under its names and read back; a configuration or layout
    /// that differs refused, named.
    /// </summary>
    [Fact]
    public void AGptNeoCheckpointGivesItsLogits()
    {
        var model = new HfTinyGptNeo(seed: 1);
        HuggingFace.LoadGptNeo(model, Fixture.Path("HfGptNeo"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfGptNeo");
        string folder = Path.Combine(_temp, "gpt-neo-saved");
        HuggingFace.SaveGptNeo(model, folder);
        AssertSavedAsLoaded("HfGptNeo", folder, name => !name.EndsWith(".attn.attention.bias", StringComparison.Ordinal) && !name.EndsWith("masked_bias", StringComparison.Ordinal));
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(["global", "local"], config.RootElement.GetProperty("attention_layers").EnumerateArray().Select(k => k.GetString()));
            Assert.Equal(4, config.RootElement.GetProperty("window_size").GetInt32());
        }
        var reloaded = new HfTinyGptNeo(seed: 5);
        HuggingFace.LoadGptNeo(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var untouched = new HfTinyGptNeo(seed: 3);
        float[] before = untouched.Parameters["attention.out_proj.bias"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeo(untouched, Edited("HfGptNeo", "neo-config", c =>
        {
            c["attention_layers"] = new JsonArray("local", "global");
            c["window_size"] = 8;
            c["intermediate_size"] = 64;
            c["tie_word_embeddings"] = false;
        })));
        Contains(error.Message, "block 0's attention is local over window_size 8: declare 'attention' with SlidingWindow = 8");
        Contains(error.Message, "block 1's attention is global, but 'attention_1' declares SlidingWindow = 4");
        Contains(error.Message, "intermediate_size is 64, the model declares 128 ('dense')");
        Contains(error.Message, "tie_word_embeddings is false, the model declares 'dense_4' tied to the embedding (TieEmbedding = true)");
        Assert.Equal(before, untouched.Parameters["attention.out_proj.bias"].AsSpan().ToArray());
        // without attention_layers, attention_types expanded; a malformed one named
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeo(untouched, Edited("HfGptNeo", "neo-types", c =>
        {
            c.Remove("attention_layers");
            c["attention_types"] = JsonNode.Parse("[[[\"global\"], 2]]");
        })));
        Contains(error.Message, "block 1's attention is global, but 'attention_1' declares SlidingWindow = 4");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeo(untouched, Edited("HfGptNeo", "neo-bad-types", c =>
        {
            c.Remove("attention_layers");
            c["attention_types"] = JsonNode.Parse("[[\"global\", 2]]");
        })));
        Contains(error.Message, "attention_types is [[\"global\",2]], not a list of [[kinds], times]");
        // GPT-2's blocks (scaled scores, every bias) are not GPT-Neo's
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGptNeo(new HfTinyGpt2(seed: 3), Fixture.Path("HfGptNeo")));
        Contains(layout.Message, "HfTinyGpt2 is not laid out as GPT-Neo: layer 3 ('attention'");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGptNeo(new HfTinyGptNeo(seed: 3), Fixture.Path("HfGpt2")));
        Contains(error.Message, "model_type is \"gpt2\": LoadGptNeo reads GPT-Neo's checkpoints (\"gpt_neo\")");
    }

    /// <summary>
    /// StarCoder2's checkpoints (Starcoder2ForCausalLM, transformers' modeling_starcoder2 written out): layer norms, grouped heads with
    /// rotary positions and a sliding window, every bias, GELU's tanh form, the tied head: the logits of a full and a right-padded
    /// sequence at their valid steps and each cached step (past the window); saved under its names and read back; a configuration or
    /// layout that differs refused, named.
    /// </summary>
    [Fact]
    public void AStarcoder2CheckpointGivesItsLogits()
    {
        var model = new HfTinyStarcoder2(seed: 1);
        HuggingFace.LoadStarcoder2(model, Fixture.Path("HfStarcoder2"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfStarcoder2");
        string folder = Path.Combine(_temp, "starcoder2-saved");
        HuggingFace.SaveStarcoder2(model, folder);
        AssertSavedAsLoaded("HfStarcoder2", folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.Equal(5, config.RootElement.GetProperty("sliding_window").GetInt32());
            Assert.Equal("gelu_pytorch_tanh", config.RootElement.GetProperty("hidden_act").GetString());
            Assert.True(config.RootElement.GetProperty("tie_word_embeddings").GetBoolean());
        }
        var reloaded = new HfTinyStarcoder2(seed: 5);
        HuggingFace.LoadStarcoder2(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var untouched = new HfTinyStarcoder2(seed: 3);
        float[] before = untouched.Parameters["attention.in_proj_bias"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadStarcoder2(untouched, Edited("HfStarcoder2", "starcoder2-config", c =>
        {
            c["sliding_window"] = null;
            c["num_key_value_heads"] = 4;
            c["rope_theta"] = 10000;
            c["use_bias"] = false;
            c["tie_word_embeddings"] = false;
            c["hidden_act"] = "gelu";
        })));
        Contains(error.Message, "sliding_window is unset (null or absent): the attention reads every earlier step, but 'attention' declares SlidingWindow = 5");
        Contains(error.Message, "num_key_value_heads is 4, the model declares 2 ('attention' KeyValueHeads)");
        Contains(error.Message, "rope_theta is 10000, the model declares 5000 ('attention' RotaryBase)");
        Contains(error.Message, "use_bias is false, the model declares 'attention'");
        Contains(error.Message, "tie_word_embeddings is false, the model declares 'dense_4' tied to the embedding (TieEmbedding = true)");
        Contains(error.Message, "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Assert.Equal(before, untouched.Parameters["attention.in_proj_bias"].AsSpan().ToArray());
        // a null flag reads false, as transformers' modules test it; a window of no step is refused; a base in rope_parameters stands
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadStarcoder2(untouched, Edited("HfStarcoder2", "starcoder2-nulls", c =>
        {
            c["use_bias"] = null;
            c["sliding_window"] = 0;
            c["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 10000.0 };
        })));
        Contains(error.Message, "use_bias is null (false), the model declares 'attention'");
        Contains(error.Message, "sliding_window is 0: a window of no step would block every key");
        Contains(error.Message, "rope_parameters' rope_theta is 10000, the model declares 5000 ('attention' RotaryBase)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadStarcoder2(new HfTinyGpt2(seed: 3), Fixture.Path("HfStarcoder2")));
        Contains(layout.Message, "HfTinyGpt2 is not laid out as StarCoder2: layer 1 ('positionembedding'");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadStarcoder2(new HfTinyStarcoder2(seed: 3), Fixture.Path("HfGptBigCode")));
        Contains(error.Message, "model_type is \"gpt_bigcode\": LoadStarcoder2 reads StarCoder2's checkpoints (\"starcoder2\"; LoadGptBigCode reads the first StarCoder's)");
    }

    /// <summary>
    /// Falcon's checkpoints (FalconForCausalLM, transformers' modeling_falcon written out): falcon-7b's parallel layers with one norm
    /// and one key/value head, and the new architecture's grouped heads with a norm per branch, query_key_value read group by group:
    /// the logits of a full and a right-padded sequence at their valid steps and each cached step; saved under its names and read
    /// back; a configuration or layout that differs refused, named.
    /// </summary>
    [Theory]
    [InlineData("HfFalcon")]
    [InlineData("HfFalconNew")]
    [InlineData("HfFalconOneNorm")]
    public void AFalconCheckpointGivesItsLogits(string fixture)
    {
        bool newArchitecture = fixture != "HfFalcon", twoNorms = fixture == "HfFalconNew";
        IModel<int> Create(int seed) => fixture switch { "HfFalconNew" => new HfTinyFalconNew(seed), "HfFalconOneNorm" => new HfTinyFalconOneNorm(seed), _ => new HfTinyFalcon(seed) };
        IModel<int> model = Create(1);
        HuggingFace.LoadFalcon(model, Fixture.Path(fixture));
        var (ids, lengths, actual) = AssertCausalLogits(model, fixture);
        string folder = Path.Combine(_temp, fixture + "-saved");
        HuggingFace.SaveFalcon(model, folder);
        AssertSavedAsLoaded(fixture, folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
            Assert.Equal(newArchitecture, config.RootElement.GetProperty("new_decoder_architecture").GetBoolean());
        IModel<int> reloaded = Create(5);
        HuggingFace.LoadFalcon(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(Create(3), Edited(fixture, fixture + "-config", c =>
        {
            c["new_decoder_architecture"] = !newArchitecture;
            c["num_kv_heads"] = 4;
            c["bias"] = true;
            c["rope_theta"] = 10000; // (read where alibi is false: the rotation's base; AFalconRwCheckpointGivesItsLogits reads alibi)
        })));
        Contains(error.Message, newArchitecture
            ? "the configuration gives 1 key/value head (multi_query), the model declares 2 ('attention' KeyValueHeads)"
            : "the configuration gives 4 key/value heads (new_decoder_architecture's num_kv_heads), the model declares 1 ('attention' KeyValueHeads)");
        if (twoNorms) Contains(error.Message, "the configuration's layers are parallel with one norm (parallel_attn); declare [Branch] back to 'layernorm' before 'dense'");
        else if (!newArchitecture) Contains(error.Message, "new_decoder_architecture is true: each branch has its norm (ln_attn, ln_mlp); declare [Branch(Layers = 2)] [LayerNorm] before 'dense'");
        Contains(error.Message, "bias is true, the model declares 'attention' without biases");
        Contains(error.Message, "rope_theta is 10000, the model declares 3000 ('attention' RotaryBase)");
        if (fixture == "HfFalconOneNorm")
        {
            // falcon-11B's one norm read as the new architecture's two
            error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(Create(3), Edited(fixture, fixture + "-two-norms", c => c["num_ln_in_parallel_attn"] = 2)));
            Contains(error.Message, "new_decoder_architecture is true: each branch has its norm (ln_attn, ln_mlp); declare [Branch(Layers = 2)] [LayerNorm] before 'dense'");
        }
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadFalcon(new HfTinyGptNeoX(seed: 3), Fixture.Path(fixture)));
        Contains(layout.Message, "HfTinyGptNeoX is not laid out as Falcon");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(Create(3), Fixture.Path("HfGptNeoX")));
        Contains(error.Message, "model_type is \"gpt_neox\": LoadFalcon reads Falcon's checkpoints");
    }

    /// <summary>
    /// Falcon's old architecture without parallel_attn and multi_query, with bias (falcon-rw's layers, without its ALiBi):
    /// query_key_value head by head with its bias, the feed-forward after post_attention_layernorm: the logits, cached steps, saved
    /// and read back; the parallel, multi-query and unbiased readings of the same layers refused, named.
    /// </summary>
    [Fact]
    public void ASequentialFalconCheckpointGivesItsLogits()
    {
        var model = new HfTinyFalconSequential(seed: 1);
        HuggingFace.LoadFalcon(model, Fixture.Path("HfFalconSequential"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfFalconSequential");
        string folder = Path.Combine(_temp, "falcon-sequential-saved");
        HuggingFace.SaveFalcon(model, folder);
        AssertSavedAsLoaded("HfFalconSequential", folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        {
            Assert.False(config.RootElement.GetProperty("parallel_attn").GetBoolean());
            Assert.True(config.RootElement.GetProperty("bias").GetBoolean());
            Assert.False(config.RootElement.GetProperty("multi_query").GetBoolean());
        }
        var reloaded = new HfTinyFalconSequential(seed: 5);
        HuggingFace.LoadFalcon(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(new HfTinyFalconSequential(seed: 3), Edited("HfFalconSequential", "falcon-sequential-config", c =>
        {
            c["parallel_attn"] = true;
            c["multi_query"] = true;
            c["bias"] = false;
        })));
        Contains(error.Message, "the configuration's layers are parallel with one norm (parallel_attn); declare [Branch] back to 'layernorm' before 'dense'");
        Contains(error.Message, "the configuration gives 1 key/value head (multi_query), the model declares 4 ('attention' KeyValueHeads)");
        Contains(error.Message, "bias is false, the model declares 'attention' with biases");
    }

    /// <summary>
    /// falcon-rw's checkpoints (FalconForCausalLM with alibi: ALiBi added to the scores before their scale, transformers'
    /// modeling_falcon written out): the logits, cached steps (the scaled bias by each step's distance), saved and read back; the
    /// rotary reading of the same configuration, and ALiBi added after the scale (BLOOM's), refused, named.
    /// </summary>
    [Fact]
    public void AFalconRwCheckpointGivesItsLogits()
    {
        var model = new HfTinyFalconRw(seed: 1);
        HuggingFace.LoadFalcon(model, Fixture.Path("HfFalconRw"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfFalconRw");
        string folder = Path.Combine(_temp, "falcon-rw-saved");
        HuggingFace.SaveFalcon(model, folder);
        AssertSavedAsLoaded("HfFalconRw", folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
            Assert.True(config.RootElement.GetProperty("alibi").GetBoolean());
        var reloaded = new HfTinyFalconRw(seed: 5);
        HuggingFace.LoadFalcon(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(new HfTinyFalconSequential(seed: 3), Fixture.Path("HfFalconRw")));
        Contains(error.Message, "alibi is true: falcon-rw's ALiBi, added to the scores before their scale, takes the rotation's place; declare 'attention' with Alibi = true, AlibiScaled = true and no Rotary");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadFalcon(new HfTinyFalconRw(seed: 3), Fixture.Path("HfFalconSequential")));
        Contains(error.Message, "alibi is false: Falcon's positions are rotary; declare 'attention' with Rotary = true, not Alibi");
        // BLOOM's ALiBi (after the scale) is not falcon-rw's
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadFalcon(new HfTinyBloom(seed: 3), Fixture.Path("HfFalconRw")));
        Contains(layout.Message, "HfTinyBloom is not laid out as Falcon");
    }

    /// <summary>
    /// MPT's checkpoints (MptForCausalLM, transformers' modeling_mpt written out: build_mpt_alibi_tensor's slopes and key
    /// positions, no biases, exact GELU): the logits of a full and a right-padded sequence at their valid steps and each cached
    /// step; saved under its names and read back; a configuration that differs refused, named.
    /// </summary>
    [Fact]
    public void AnMptCheckpointGivesItsLogits()
    {
        var model = new HfTinyMpt(seed: 1);
        HuggingFace.LoadMpt(model, Fixture.Path("HfMpt"));
        var (ids, lengths, actual) = AssertCausalLogits(model, "HfMpt");
        string folder = Path.Combine(_temp, "mpt-saved");
        HuggingFace.SaveMpt(model, folder);
        AssertSavedAsLoaded("HfMpt", folder);
        var reloaded = new HfTinyMpt(seed: 5);
        HuggingFace.LoadMpt(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMpt(new HfTinyMpt(seed: 3), Copy((_, config) =>
        {
            config["expansion_ratio"] = 2;
            config["no_bias"] = false;
            var attention = (JsonObject)config["attn_config"]!;
            attention["alibi"] = false;
            attention["clip_qkv"] = 6;
            attention["qk_ln"] = true;
            attention["alibi_bias_max"] = 16;
            attention["prefix_lm"] = true;
            config["logit_scale"] = 0.5;
            config["norm_type"] = "rmsnorm";
            config["ffn_config"] = new JsonObject { ["ffn_type"] = "te_ln_mlp", ["ffn_act_fn"] = new JsonObject { ["name"] = "silu" } };
        }, "mpt-config", "HfMpt")));
        Contains(error.Message, "expansion_ratio is 2: declare 'dense' with 48 units (d_model · expansion_ratio)");
        Contains(error.Message, "attn_config's prefix_lm is true");
        Contains(error.Message, "logit_scale is 0.5");
        Contains(error.Message, "norm_type is \"rmsnorm\"");
        Contains(error.Message, "ffn_config's ffn_type is \"te_ln_mlp\"");
        Contains(error.Message, "ffn_config's ffn_act_fn is {\"name\":\"silu\"}");
        Contains(error.Message, "no_bias is false: MPT's layers with biases are not laid out here");
        Contains(error.Message, "attn_config's alibi is false: MPT's learned positions are not laid out here");
        Contains(error.Message, "attn_config's clip_qkv is 6");
        Contains(error.Message, "attn_config's qk_ln is true");
        Contains(error.Message, "attn_config's alibi_bias_max is 16");
        // alibi true by default (transformers' MPT always adds it); llm-foundry's fractional ratio, here a whole 4.0
        var defaulted = new HfTinyMpt(seed: 3);
        HuggingFace.LoadMpt(defaulted, Copy((_, config) =>
        {
            ((JsonObject)config["attn_config"]!).Remove("alibi");
            config["expansion_ratio"] = 4.0;
            config["ffn_config"] = new JsonObject { ["ffn_type"] = "mptmlp", ["ffn_act_fn"] = new JsonObject { ["name"] = "gelu", ["approximate"] = "none" } };
        }, "mpt-defaults", "HfMpt"));
        Assert.Equal(actual, ParityModel.Flatten(defaulted.Forward(ParityModel.Span(ids, [2, 11]), lengths)));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMpt(new HfTinyMpt(seed: 3), Copy((_, config) => config["expansion_ratio"] = 3.5, "mpt-ratio", "HfMpt")));
        Contains(error.Message, "expansion_ratio is 3.5: declare 'dense' with 84 units (d_model · expansion_ratio)");
        // an output layer of its own: MptForCausalLM would read the token table in its place
        var untied = Assert.Throws<ArgumentException>(() => HuggingFace.SaveMpt(new HfTinyMptUntied(seed: 1), Path.Combine(_temp, "mpt-untied")));
        Contains(untied.Message, "'dense_4' has a weight of its own, but MPT's lm_head is its token table (declare it with TieEmbedding = true)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadMpt(new HfTinyBloom(seed: 3), Fixture.Path("HfMpt")));
        Contains(layout.Message, "HfTinyBloom is not laid out as MPT");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadMpt(new HfTinyMpt(seed: 3), Fixture.Path("HfBloom")));
        Contains(error.Message, "model_type is \"bloom\": LoadMpt reads MPT's checkpoints (\"mpt\")");
    }

    /// <summary>
    /// GPT-2's checkpoints (GPT2LMHeadModel): Conv1D weights read transposed, the causal-mask buffers left, the names with or
    /// without the transformer. prefix; a configuration or layout that differs is refused naming what to declare.
    /// </summary>
    [Fact]
    public void AGpt2CheckpointWithItsConv1DWeightsGivesItsLogits()
    {
        var model = new HfTinyGpt2(seed: 1);
        HuggingFace.LoadGpt2(model, Fixture.Path("HfGpt2"));
        AssertLogits(model, "HfGpt2");
        // c_attn.weight [in, out] = in_proj_weightᵀ; its bias as it is
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfGpt2", "model.safetensors")));
        float[] cAttn = hf["h.1.attn.c_attn.weight"].ToFloat(), inProj = model.Parameters["attention_1.in_proj_weight"].AsSpan().ToArray();
        Assert.Equal(cAttn[5 * 48 + 40], inProj[40 * 16 + 5]);
        Assert.Equal(hf["h.0.mlp.c_fc.bias"].ToFloat(), model.Parameters["dense.bias"].AsSpan().ToArray());
        // save_pretrained's names: transformer.h.0…, the tied lm_head written out beside the table
        var prefixed = new HfTinyGpt2(seed: 2);
        HuggingFace.LoadGpt2(prefixed, Copy((tensors, _) =>
        {
            foreach (string name in tensors.Keys.ToList())
            {
                tensors["transformer." + name] = tensors[name];
                tensors.Remove(name);
            }
            tensors["lm_head.weight"] = tensors["transformer.wte.weight"];
        }, "gpt2-prefixed", "HfGpt2"));
        AssertLogits(prefixed, "HfGpt2");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGpt2(new HfTinyGpt2(seed: 3), Copy((_, config) =>
        {
            config["n_head"] = 2;
            config["activation_function"] = "gelu";
            config["scale_attn_weights"] = false;
            config["scale_attn_by_inverse_layer_idx"] = true;
            config["n_inner"] = 32;
            config["layer_norm_epsilon"] = 1e-6;
        }, "gpt2-config", "HfGpt2")));
        Contains(error.Message, "n_head is 2, the model declares 4 ('attention')");
        Contains(error.Message, "activation_function is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        Contains(error.Message, "scale_attn_weights is false: declare 'attention' with Score = AttentionScore.Dot (unscaled)");
        Contains(error.Message, "scale_attn_by_inverse_layer_idx is true: the scores scaled by 1 / (layer index + 1) as well are not computed here");
        Contains(error.Message, "n_inner is 32, the model declares 64 ('dense')");
        Contains(error.Message, "layer_norm_epsilon is 1E-06, the model declares 1E-05 ('layernorm' Epsilon)");
        // a c_fc weight stored as nn.Linear's [out, in] reads transposed, the wrong way round: refused, named
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGpt2(new HfTinyGpt2(seed: 3), Copy((tensors, _) =>
            tensors["h.0.mlp.c_fc.weight"] = tensors["h.0.mlp.c_proj.weight"], "gpt2-linear", "HfGpt2")));
        Contains(error.Message, "tensor 'h.0.mlp.c_fc.weight' has shape [16, 64], expected [64, 16]");
        Contains(error.Message, "(GPT-2's Conv1D weights, [in, out] in the file, are read transposed)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGpt2(new HfTinyGpt2(seed: 3), Fixture.Path("HfLlama")));
        Contains(error.Message, "model_type is \"llama\": LoadGpt2 reads GPT-2's checkpoints");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadGpt2(new HfTinyLlama(seed: 3), Fixture.Path("HfGpt2")));
        Contains(layout.Message, "HfTinyLlama is not laid out as GPT-2: layer 1 ('rmsnorm', RmsNorm) is where the position table (wpe: a [PositionEmbedding]) belongs");
    }

    /// <summary>
    /// SaveGpt2 writes GPT-2's names and Conv1D orientation back (the buffers left out, as save_pretrained leaves them) and the
    /// configuration the fixture's says, and LoadGpt2 reads it back; blocks that differ are refused.
    /// </summary>
    [Fact]
    public void ASavedGpt2CheckpointHasGpt2sNamesAndConfigurationAndLoadsBack()
    {
        var model = new HfTinyGpt2(seed: 9);
        HuggingFace.LoadGpt2(model, Fixture.Path("HfGpt2"));
        string folder = Path.Combine(_temp, "gpt2-saved");
        HuggingFace.SaveGpt2(model, folder);
        AssertSavedAsLoaded("HfGpt2", folder, name => !name.EndsWith(".attn.bias", StringComparison.Ordinal), name => "transformer." + name);
        JsonObject expected = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine("HfGpt2", "config.json"))))!;
        JsonObject written = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        foreach (string key in new[] { "architectures", "model_type", "vocab_size", "n_embd", "n_layer", "n_head", "n_positions", "activation_function", "layer_norm_epsilon", "scale_attn_weights" })
            Assert.True(JsonNode.DeepEquals(expected[key], written[key]), $"{key}: expected {expected[key]?.ToJsonString()}, wrote {written[key]?.ToJsonString()}");
        Assert.Equal(64, written["n_inner"]!.GetValue<int>()); // (the fixture's null: 4 · n_embd)
        var reloaded = new HfTinyGpt2(seed: 10);
        HuggingFace.LoadGpt2(reloaded, folder);
        AssertLogits(reloaded, "HfGpt2");
        // an output layer of its own: lm_head.weight beside the transformer.-prefixed base model, as save_pretrained writes it
        var untied = new HfTinyGpt2Untied(seed: 11);
        HuggingFace.LoadGpt2(untied, Copy((tensors, config) =>
        {
            config["tie_word_embeddings"] = false;
            tensors["lm_head.weight"] = tensors["wte.weight"];
        }, "gpt2-untied", "HfGpt2"));
        AssertLogits(untied, "HfGpt2");
        HuggingFace.SaveGpt2(untied, Path.Combine(_temp, "gpt2-untied-saved"));
        Dictionary<string, SafeTensor> withHead = SafeTensors.Read(Path.Combine(_temp, "gpt2-untied-saved", "model.safetensors"));
        Assert.Contains("lm_head.weight", withHead.Keys);
        Assert.All(withHead.Keys.Where(k => k != "lm_head.weight"), k => Assert.StartsWith("transformer.", k));
        var untiedAgain = new HfTinyGpt2Untied(seed: 12);
        HuggingFace.LoadGpt2(untiedAgain, Path.Combine(_temp, "gpt2-untied-saved"));
        AssertLogits(untiedAgain, "HfGpt2");
        var unlike = Assert.Throws<ArgumentException>(() => HuggingFace.SaveGpt2(new HfGpt2Unlike(seed: 1), Path.Combine(_temp, "gpt2-unlike")));
        Contains(unlike.Message, "'attention_1' differs from 'attention' in its heads or score: GPT-2's blocks are alike (one n_head, one scale_attn_weights)");
    }

    /// <summary>
    /// Phi-3's partial rotation (partial_rotary_factor, Phi-4-mini's 0.75): int(head_dim · factor) values of each head turned,
    /// declared as RotaryDimensions; a model type whose attention turns whole heads refuses one. A save writes Phi-3's
    /// configuration, with a partial_rotary_factor whose int(head_dim · f) is the turned width where r / d falls short of it.
    /// </summary>
    [Fact]
    public void APhi3CheckpointWithAPartialRotationGivesItsLogits()
    {
        var model = new HfTinyPhi3Partial(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfPhi3Partial"));
        AssertLogits(model, "HfPhi3Partial");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyPhi3Partial(seed: 2), Copy((_, config) => config.Remove("partial_rotary_factor"), "phi-whole", "HfPhi3Partial")));
        Contains(error.Message, "'attention' turns 6 of each head's 8 values (RotaryDimensions), but the configuration has no partial_rotary_factor");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyPhi3Partial(seed: 2), Copy((_, config) => config["model_type"] = "llama", "phi-as-llama", "HfPhi3Partial")));
        Contains(error.Message, "partial_rotary_factor is 0.75: model_type \"llama\"'s attention turns whole heads (transformers computes a partial rotation for Phi-3's, \"phi3\")");
        // 30 / 44 as a double, times 44, is 29.999…: the factor written is the next double up, and the model reads back as it was
        var third = new HfThirdRotated(seed: 3);
        string folder = Path.Combine(_temp, "phi-third");
        HuggingFace.SaveLlama(third, folder);
        JsonObject written = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("Phi3ForCausalLM", written["architectures"]![0]!.GetValue<string>());
        Assert.Equal(1e-5, written["rms_norm_eps"]!.GetValue<double>());
        // (Phi3Config's default padding id, 32000, is past a vocabulary of 13: transformers' embedding would refuse it)
        Assert.True(written.ContainsKey("pad_token_id") && written["pad_token_id"] is null);
        double fraction = written["partial_rotary_factor"]!.GetValue<double>();
        Assert.True((int)(44 * (30 / 44.0)) == 29 && (int)(44 * fraction) == 30 && fraction > 30 / 44.0, $"partial_rotary_factor {fraction:R}");
        Assert.True(SafeTensors.Read(Path.Combine(folder, "model.safetensors")).ContainsKey("model.layers.0.self_attn.qkv_proj.weight"));
        var back = new HfThirdRotated(seed: 4);
        HuggingFace.LoadLlama(back, folder);
        int[] tokens = [1, 5, 2, 7, 3, 11, 0, 4];
        Assert.Equal(ParityModel.Flatten(third.Forward(ParityModel.Span(tokens, [2, 4]))), ParityModel.Flatten(back.Forward(ParityModel.Span(tokens, [2, 4]))));
    }

    /// <summary>
    /// LongRoPE (Phi-3 at 128k, Phi-3.5): a pass past the original context takes the long factors, one within it the short ones, as
    /// transformers chooses by the pass's last position; factors, context, factor or attention factor that differ are refused.
    /// </summary>
    [Fact]
    public void APhi3CheckpointWithLongRopeGivesItsLogitsWithinAndPastTheOriginalContext()
    {
        var model = new HfTinyPhi3LongRope(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfPhi3LongRope"));
        AssertLogits(model, "HfPhi3LongRope");
        AssertLogits(model, "HfPhi3LongRope", "_short");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyPhi3LongRope(seed: 2), Copy((_, config) =>
        {
            config["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = new JsonArray(1.0, 1.25, 1.5, 3.0), ["long_factor"] = new JsonArray(1.0, 2.5, 6.0),
                ["attention_factor"] = 1.5 };
            config["original_max_position_embeddings"] = 16;
        }, "longrope-other", "HfPhi3LongRope")));
        Contains(error.Message, "rope_scaling's short_factor (4 factors) differs from 'attention' RotaryShortFactors (4), first at pair 3");
        Contains(error.Message, "rope_scaling's long_factor (3 factors) differs from 'attention' RotaryLongFactors (4)");
        Contains(error.Message, "original_max_position_embeddings is 16, 'attention' declares RotaryOriginalContext = 8");
        Contains(error.Message, "LongRoPE's factor is 2 (max_position_embeddings / original_max_position_embeddings), 'attention' declares RotaryScaling = 4");
        Contains(error.Message, "rope_scaling's attention_factor is 1.5: LongRoPE's is computed here as √(1 + ln(factor) / ln(original))");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyPhi3Partial(seed: 2), Copy((_, config) => config.Remove("partial_rotary_factor"), "longrope-undeclared", "HfPhi3LongRope")));
        Contains(error.Message, "rope_scaling is LongRoPE's: declare 'attention' with RotaryScaling = its factor (max_position_embeddings / original_max_position_embeddings), RotaryScalingKind = RotaryScalingKind.LongRope");
    }

    /// <summary>
    /// Dynamic NTK (rope_type "dynamic"): a pass past max_position_embeddings raises the base by its reach, one within keeps it,
    /// and decoding one token at a time raises it step by step, the cached keys kept as they were turned (transformers' decoding
    /// with its key/value cache); a factor or context other than the declared one, or another declared scaling, is refused.
    /// </summary>
    [Fact]
    public void ACheckpointWithDynamicNtkScalingGivesItsLogitsWithinPastAndDecodingPastTheOriginalContext()
    {
        IModel<int> model = new HfTinyDynamicLlama(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlamaDynamic"));
        AssertLogits(model, "HfLlamaDynamic");
        AssertLogits(model, "HfLlamaDynamic", "_short");
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfLlamaDynamic.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32();
        float[] decoded = expected["logits_decoded"].ToFloat();
        int batch = (int)expected["ids"].Shape[0], steps = (int)expected["ids"].Shape[1], vocab = model.OutputWidth;
        IModelState state = model.CreateState(batch);
        for (int t = 0; t < steps; t++)
        {
            int[] step = Enumerable.Range(0, batch).Select(b => ids[b * steps + t]).ToArray();
            float[] logits = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>(step, [batch]), state));
            for (int b = 0; b < batch; b++)
            {
                for (int v = 0; v < vocab; v++)
                {
                    float e = decoded[(b * steps + t) * vocab + v], a = logits[b * vocab + v];
                    Assert.True(MathF.Abs(e - a) <= 1e-4f * (1 + MathF.Abs(e)), $"step {t}, sequence {b}, logit {v}: expected {e}, got {a}");
                }
            }
        }
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyDynamicLlama(seed: 2), Copy((_, config) =>
        {
            config["rope_scaling"] = new JsonObject { ["rope_type"] = "dynamic", ["factor"] = 2.0 };
            config["max_position_embeddings"] = 16;
        }, "dynamic-other", "HfLlamaDynamic")));
        Contains(error.Message, "rope_scaling's factor is 2, 'attention' declares RotaryScaling = 4");
        Contains(error.Message, "max_position_embeddings is 16 (dynamic NTK's original context), 'attention' declares RotaryOriginalContext = 8");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyDynamicLlama(seed: 2), Copy((_, config) => config.Remove("max_position_embeddings"), "dynamic-unbounded", "HfLlamaDynamic")));
        Contains(error.Message, "max_position_embeddings is 2048 (model_type \"llama\"'s default) (dynamic NTK's original context), 'attention' declares RotaryOriginalContext = 8");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLinearLlama(seed: 3), Fixture.Path("HfLlamaDynamic")));
        Contains(error.Message, "declare 'attention' with RotaryScaling = its factor, RotaryScalingKind = RotaryScalingKind.Dynamic and RotaryOriginalContext = the configuration's max_position_embeddings");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyDynamicLlama(seed: 3), Fixture.Path("HfLlamaLinear")));
        Contains(error.Message, "declare 'attention' with RotaryScaling = its factor and RotaryScalingKind = RotaryScalingKind.Linear");
    }

    /// <summary>
    /// YaRN's rotary scaling (rope_type "yarn": the pairs blended by their place in the head, the cosines and sines scaled), its
    /// original context from max_position_embeddings where rope_scaling gives none; a factor, context, threshold or attention
    /// factor other than the declared or computed ones is refused naming it.
    /// </summary>
    [Fact]
    public void ACheckpointWithYarnRotaryScalingGivesItsLogits()
    {
        var model = new HfTinyYarnLlama(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfLlamaYarn"));
        AssertLogits(model, "HfLlamaYarn");
        var byMaximum = new HfTinyYarnLlama(seed: 2);
        HuggingFace.LoadLlama(byMaximum, Copy((_, config) =>
        {
            config["max_position_embeddings"] = 64;
            config["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0, ["beta_fast"] = 32, ["attention_factor"] = 1.1386294361119891 };
        }, "yarn-maximum", "HfLlamaYarn"));
        AssertLogits(byMaximum, "HfLlamaYarn");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyYarnLlama(seed: 3), Copy((_, config) =>
            config["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 8.0, ["original_max_position_embeddings"] = 128, ["beta_slow"] = 2, ["mscale"] = 0.707, ["mscale_all_dim"] = 1.0 },
            "yarn-other", "HfLlamaYarn")));
        Contains(error.Message, "rope_scaling's factor is 8, 'attention' declares RotaryScaling = 4");
        Contains(error.Message, "YaRN's original context is 128, 'attention' declares RotaryOriginalContext = 64");
        Contains(error.Message, "rope_scaling's beta_slow is 2: YaRN is computed here at transformers' default beta_slow, 1");
        Contains(error.Message, "(attention_factor, or mscale over mscale_all_dim): it is computed here as 0.1 · ln(factor) + 1 = 1.1386294");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLinearLlama(seed: 3), Fixture.Path("HfLlamaYarn")));
        Contains(error.Message, "declare 'attention' with RotaryScaling = its factor, RotaryScalingKind = RotaryScalingKind.Yarn and RotaryOriginalContext = its original_max_position_embeddings");
    }

    /// <summary>
    /// Mistral's sliding window (<c>sliding_window</c>: each step over the most recent steps, its own included), declared as
    /// <c>SlidingWindow</c>: the checkpoint's logits; a window that differs, a window the checkpoint does not have, Qwen2's
    /// window and a window with biases (no configuration has both) are refused, naming what to declare.
    /// </summary>
    [Fact]
    public void AMistralCheckpointWithASlidingWindowGivesItsLogits()
    {
        var model = new HfTinyMistral(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfMistral"));
        AssertLogits(model, "HfMistral");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2),
            Copy((_, config) => config["sliding_window"] = 5, "window-5", "HfMistral")));
        Contains(error.Message, "sliding_window is 5: declare 'attention' with SlidingWindow = 5");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2),
            Copy((_, config) => config["sliding_window"] = null, "window-null", "HfMistral")));
        Contains(error.Message, "sliding_window is null, but 'attention' declares SlidingWindow = 4 (the checkpoint's attention reads every earlier step)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2),
            Copy((_, config) =>
            {
                config["model_type"] = "qwen2";
                config["use_sliding_window"] = true;
            }, "qwen-window", "HfMistral")));
        // Qwen2 windows the layers from max_window_layers (28 by default) on: none of these two
        Contains(error.Message, "Qwen2's layer 0 attends to every earlier step (max_window_layers 28 (its default)), but 'attention' declares SlidingWindow = 4");
        Contains(error.Message, "Qwen2's layer 1 attends to every earlier step (max_window_layers 28 (its default)), but 'attention_1' declares SlidingWindow = 4");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2),
            Copy((_, config) =>
            {
                config["model_type"] = "qwen2";
                config["use_sliding_window"] = true;
                config["max_window_layers"] = 1;
            }, "qwen-window-1", "HfMistral")));
        Contains(error.Message, "Qwen2's layer 0 attends to every earlier step (max_window_layers 1), but 'attention' declares SlidingWindow = 4");
        Assert.DoesNotContain("layer 1 attends", error.Message, StringComparison.Ordinal);
        // from layer 0 on: every layer windowed, as declared (the biases Qwen2's attention has are what differs)
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2),
            Copy((_, config) =>
            {
                config["model_type"] = "qwen2";
                config["use_sliding_window"] = true;
                config["max_window_layers"] = 0;
            }, "qwen-all-layers", "HfMistral")));
        Contains(error.Message, "Qwen2's attention has biases on q_proj, k_proj and v_proj");
        Assert.DoesNotContain("sliding", error.Message, StringComparison.OrdinalIgnoreCase);
        var unsaved = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfBiasedWindowLlama(seed: 2), Path.Combine(_temp, "biased")));
        Contains(unsaved.Message, "'attention' has a sliding window and projection biases: transformers writes a window in Mistral's configuration, whose attention has no biases");
        Assert.False(Directory.Exists(Path.Combine(_temp, "biased")));

        // Qwen2's window on its later layers alone (max_window_layers 1 of 2), loaded, saved as Qwen2's configuration and read back
        var qwen = new HfTinyQwen2Window(seed: 3);
        HuggingFace.LoadLlama(qwen, Fixture.Path("HfQwen2Window"));
        AssertLogits(qwen, "HfQwen2Window");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen2(seed: 3), Fixture.Path("HfQwen2Window")));
        Contains(error.Message, "Qwen2's layer 1 attends to the 4 most recent steps (use_sliding_window, sliding_window, max_window_layers 1); declare 'attention_1' with SlidingWindow = 4");
        Assert.DoesNotContain("layer 0", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen2Window(seed: 3), Copy((_, config) =>
            config["layer_types"] = new JsonArray("sliding_attention", "full_attention"), "qwen-layer-types", "HfQwen2Window")));
        Contains(error.Message, "Qwen2's layer 0 attends to the 4 most recent steps (use_sliding_window, sliding_window, layer_types); declare 'attention' with SlidingWindow = 4");
        Contains(error.Message, "Qwen2's layer 1 attends to every earlier step (layer_types), but 'attention_1' declares SlidingWindow = 4");
        string saved = Path.Combine(_temp, "qwen-window-saved");
        HuggingFace.SaveLlama(qwen, saved);
        JsonObject written = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!;
        Assert.True(written["use_sliding_window"]!.GetValue<bool>());
        Assert.Equal(4, written["sliding_window"]!.GetValue<int>());
        Assert.Equal(1, written["max_window_layers"]!.GetValue<int>());
        // a window before an unwindowed layer is no max_window_layers
        unsaved = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfQwen2WindowFirst(seed: 2), Path.Combine(_temp, "qwen-first")));
        Contains(unsaved.Message, "'attention_1' attends to every earlier step after 'attention' slides: Qwen's configuration windows its layers from max_window_layers on");
    }

    /// <summary>
    /// Phi-3's checkpoint (Phi3ForCausalLM): q, k and v in one qkv_proj and the gate and up projections in one gate_up_proj,
    /// the gate's rows first, read into LLaMA's layers (the gated Dense holds the value's rows first); its window and ε from
    /// Phi-3's defaults; saved as Mistral's configuration, which computes the same; LongRoPE or a partial rotation undeclared, a window the
    /// configuration leaves out and a fused tensor missing or misshapen are refused, each named once.
    /// </summary>
    [Fact]
    public void APhi3CheckpointWithFusedProjectionsGivesItsLogits()
    {
        var model = new HfTinyMistral(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfPhi3"));
        AssertLogits(model, "HfPhi3");
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfPhi3", "model.safetensors")));
        float[] gateUp = hf["model.layers.1.mlp.gate_up_proj.weight"].ToFloat(), gated = model.Parameters["dense_2.weight"].AsSpan().ToArray();
        Assert.Equal(gateUp.AsSpan(24 * 16).ToArray(), gated.AsSpan(0, 24 * 16).ToArray()); // up's rows: the value
        Assert.Equal(gateUp.AsSpan(0, 24 * 16).ToArray(), gated.AsSpan(24 * 16).ToArray()); // gate's rows: the gate
        Assert.Equal(hf["model.layers.1.self_attn.qkv_proj.weight"].ToFloat(), model.Parameters["attention_1.in_proj_weight"].AsSpan().ToArray());

        // written under Mistral's names and configuration, and read back to the same logits
        string folder = Path.Combine(_temp, "phi3-saved");
        HuggingFace.SaveLlama(model, folder);
        JsonObject written = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("mistral", written["model_type"]!.GetValue<string>());
        Assert.Equal(4, written["sliding_window"]!.GetValue<int>());
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(gateUp.AsSpan(0, 24 * 16).ToArray(), saved["model.layers.1.mlp.gate_proj.weight"].ToFloat());
        var reloaded = new HfTinyMistral(seed: 2);
        HuggingFace.LoadLlama(reloaded, folder);
        AssertLogits(reloaded, "HfPhi3");

        // Phi-3's configuration has no window unless it says one
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((_, config) => config.Remove("sliding_window"), "phi-no-window", "HfPhi3")));
        Contains(error.Message, "sliding_window is absent (Phi-3's default: none), but 'attention' declares SlidingWindow = 4");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3),
            Copy((_, config) => config["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = new JsonArray(1.0, 1.0), ["long_factor"] = new JsonArray(2.0, 2.0) }, "phi-longrope", "HfPhi3")));
        Contains(error.Message, "rope_scaling is LongRoPE's: declare 'attention' with RotaryScaling = its factor");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((_, config) => config["partial_rotary_factor"] = 0.75, "phi-partial", "HfPhi3")));
        Contains(error.Message, "partial_rotary_factor is 0.75: the rotation would turn 3 of each head's 4 values, which are not whole pairs (not computed here)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((_, config) => config["partial_rotary_factor"] = 0.5, "phi-half", "HfPhi3")));
        Contains(error.Message, "partial_rotary_factor is 0.5: the rotation turns 2 of each head's 4 values; declare 'attention' with RotaryDimensions = 2");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((_, config) => config["rms_norm_eps"] = 1e-6, "phi-eps", "HfPhi3")));
        Contains(error.Message, "rms_norm_eps is 1E-06, the model declares 1E-05");

        // a fused tensor missing is named once, for the parameter its two halves make up; one of another shape likewise
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3),
            Copy((tensors, _) => tensors.Remove("model.layers.0.mlp.gate_up_proj.weight"), "phi-missing", "HfPhi3")));
        Contains(error.Message, "missing tensor 'model.layers.0.mlp.gate_up_proj.weight' [48, 16] (for 'dense.weight' [48, 16])");
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, "gate_up_proj"));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((tensors, _) =>
        {
            tensors["model.layers.0.self_attn.qkv_proj.weight"] = tensors["model.layers.0.mlp.gate_up_proj.weight"];
        }, "phi-misshapen", "HfPhi3")));
        Contains(error.Message, "tensor 'model.layers.0.self_attn.qkv_proj.weight' has shape [48, 16], expected [32, 16] (for 'attention.in_proj_weight')");
        // LLaMA's unfused names are not Phi-3's
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 3), Copy((_, config) => config["model_type"] = "phi3", "phi-unfused", "HfMistral")));
        Contains(error.Message, "missing tensor 'model.layers.0.self_attn.qkv_proj.weight'");
        Contains(error.Message, "unexpected tensor 'model.layers.0.self_attn.q_proj.weight'");
    }

    /// <summary>
    /// Gemma's checkpoint (GemmaForCausalLM): the embedding scaled by √hidden_size (ScaleBySqrtDim) and tied by default, norms
    /// storing their weight less 1 (loaded as 1 + weight), GELU's tanh approximation on the gate (hidden_activation over
    /// hidden_act); another activation, an unscaled embedding, Gemma 7B's wider heads and saving are refused, naming what differs.
    /// </summary>
    [Fact]
    public void AGemmaCheckpointWithScaledEmbeddingAndShiftedNormsGivesItsLogits()
    {
        var model = new HfTinyGemma(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfGemma"));
        AssertLogits(model, "HfGemma");
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfGemma", "model.safetensors")));
        Assert.Equal(hf["model.norm.weight"].ToFloat().Select(w => 1f + w).ToArray(), model.Parameters["rmsnorm_4.weight"].AsSpan().ToArray());
        // hidden_act decides (GELU's tanh approximation where absent), as transformers reads it since 4.48: Gemma 1.1's
        // hidden_activation is not read, so its hidden_act "gelu" is the exact GELU
        var byDefault = new HfTinyGemma(seed: 2);
        HuggingFace.LoadLlama(byDefault, Copy((_, config) => config.Remove("hidden_act"), "gemma-default", "HfGemma"));
        AssertLogits(byDefault, "HfGemma");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma(seed: 2), Copy((_, config) =>
        {
            config["hidden_act"] = "gelu";
            config["hidden_activation"] = "gelu_pytorch_tanh";
        }, "gemma-act", "HfGemma")));
        Contains(error.Message, "hidden_act is \"gelu\": declare 'dense' with Activation = Activation.Gelu");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemmaSilu(seed: 2), Fixture.Path("HfGemma")));
        Contains(error.Message, "hidden_act is \"gelu_pytorch_tanh\": declare 'dense' with Activation = Activation.GeluTanh");
        // Gemma 7B's heads: head_dim 256 where hidden_size / num_attention_heads is 8 here
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma(seed: 2), Copy((_, config) => config.Remove("head_dim"), "gemma-head", "HfGemma")));
        Contains(error.Message, "head_dim is 256 (its default), the model declares 8 ('attention' hidden_size / num_attention_heads: declare HeadWidth for heads of their own width)");
        // an unscaled embedding is not Gemma's, a scaled one not LLaMA's
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2), Fixture.Path("HfGemma")));
        Contains(error.Message, "model_type is \"gemma\": Gemma scales its embedding by √hidden_size; declare 'embedding' with ScaleBySqrtDim = true");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma(seed: 2), Copy((_, config) => config["model_type"] = "llama", "gemma-as-llama", "HfGemma")));
        Contains(error.Message, "model_type is \"llama\", whose embedding is not scaled, but 'embedding' declares ScaleBySqrtDim = true");
        Contains(error.Message, "tie_word_embeddings is false (its default), but 'dense_4' is tied to the embedding");
        // written back as Gemma's (ASavedCheckpoint… checks the round trip); a window is not Gemma 1's
        var windowed = new HfTinyGemmaWindowed(seed: 1);
        var unsaved = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(windowed, Path.Combine(_temp, "gemma")));
        Contains(unsaved.Message, "'attention' has a sliding window, which Gemma 1's attention has not");
    }

    [Fact]
    public void AQwen2CheckpointWithBiasedQueriesKeysAndValuesGivesItsLogits()
    {
        var model = new HfTinyQwen2(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfQwen2"));
        AssertLogits(model, "HfQwen2");
        // q_proj.bias, k_proj.bias and v_proj.bias stacked into in_proj_bias [24 + 2 · 8]; no out_proj.bias
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfQwen2", "model.safetensors")));
        Assert.Equal(hf["model.layers.1.self_attn.v_proj.bias"].ToFloat(), model.Parameters["attention_1.in_proj_bias"].AsSpan().Slice(32).ToArray());
        Assert.False(model.Parameters.TryGet("attention.out_proj.bias", out _));
        // LLaMA's declaration (no biases) is refused with what Qwen2 needs
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 1), Copy((_, config) => config["model_type"] = "qwen2", "qwen")));
        Contains(error.Message, "model_type is \"qwen2\": Qwen2's attention has biases on q_proj, k_proj and v_proj and none on o_proj; declare 'attention' with OutputBias = false (and Bias = true)");
    }

    [Fact]
    public void AGemma3CheckpointWithItsSandwichNormsAndAlternatingLayersGivesItsLogits()
    {
        var model = new HfTinyGemma3(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfGemma3"));
        AssertLogits(model, "HfGemma3");
        // every norm stored less 1, q_norm and k_norm too; post_attention_layernorm is the norm on the attention's output
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfGemma3", "model.safetensors")));
        Assert.Equal(hf["model.layers.1.self_attn.k_norm.weight"].ToFloat().Select(w => 1f + w).ToArray(), model.Parameters["attention_1.k_norm.weight"].AsSpan().ToArray());
        Assert.Equal(hf["model.layers.0.post_attention_layernorm.weight"].ToFloat().Select(w => 1f + w).ToArray(), model.Parameters["rmsnorm_1.weight"].AsSpan().ToArray());
        Assert.Equal(hf["model.layers.0.pre_feedforward_layernorm.weight"].ToFloat().Select(w => 1f + w).ToArray(), model.Parameters["rmsnorm_2.weight"].AsSpan().ToArray());
        // older configurations say which layers slide with sliding_window_pattern (every layer but each n-th)
        var byPattern = new HfTinyGemma3(seed: 2);
        HuggingFace.LoadLlama(byPattern, Copy((_, config) =>
        {
            config.Remove("layer_types");
            config["sliding_window_pattern"] = 2;
        }, "gemma3-pattern", "HfGemma3"));
        AssertLogits(byPattern, "HfGemma3");
        // transformers 5 writes each kind of layer's rotary settings in rope_parameters
        var byParameters = new HfTinyGemma3(seed: 3);
        HuggingFace.LoadLlama(byParameters, Copy((_, config) =>
        {
            foreach (string key in new[] { "rope_theta", "rope_local_base_freq", "rope_scaling" }) config.Remove(key);
            config["rope_parameters"] = new JsonObject
            {
                ["full_attention"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0, ["rope_theta"] = 1000000.0 },
                ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 10000.0 },
            };
        }, "gemma3-parameters", "HfGemma3"));
        AssertLogits(byParameters, "HfGemma3");
        var unscaled = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 2), Copy((_, config) =>
        {
            foreach (string key in new[] { "rope_theta", "rope_local_base_freq", "rope_scaling" }) config.Remove(key);
            config["rope_parameters"] = new JsonObject
            {
                ["full_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 1000000.0 },
                ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 20000.0 },
            };
        }, "gemma3-parameters-unscaled", "HfGemma3")));
        Contains(unscaled.Message, "whose rotary base is 20000 (rope_local_base_freq), the model declares 10000");
        Contains(unscaled.Message, "'attention_1'");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 2), Copy((_, config) =>
            config["layer_types"] = new JsonArray("full_attention", "sliding_attention"), "gemma3-types", "HfGemma3")));
        Contains(error.Message, "layer 0 is \"full_attention\": declare 'attention' with SlidingWindow = 0 (every earlier step)");
        Contains(error.Message, "layer 0 is \"full_attention\", whose rotary base is 1000000 (rope_theta), the model declares 10000 ('attention' RotaryBase)");
        Contains(error.Message, "layer 1 is \"sliding_attention\": declare 'attention_1' with SlidingWindow = 4 (sliding_window)");
        Contains(error.Message, "layer 1 is \"sliding_attention\", whose rotary frequencies are not scaled, but 'attention_1' declares RotaryScaling = 2");
        // what is not computed here: Gemma 3 27B's score scale, Gemma 2's soft-capping
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 2), Copy((_, config) =>
        {
            config["query_pre_attn_scalar"] = 168;
            config["final_logit_softcapping"] = 30.0;
        }, "gemma3-scale", "HfGemma3")));
        Contains(error.Message, "query_pre_attn_scalar is 168: the scores are scaled by 1/√168 = 0.07715168; declare 'attention' with Scale = 0.07715168f");
        Contains(error.Message, "final_logit_softcapping is 30: Gemma 3's scores and logits are not soft-capped (Gemma 2's are, model_type \"gemma2\")");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 2), Copy((_, config) => config["use_bidirectional_attention"] = true, "gemma3-bidirectional", "HfGemma3")));
        Contains(error.Message, "use_bidirectional_attention is true: EmbeddingGemma's attention reads the steps on both sides");
        // Gemma 1's layout (two norms a layer) is not Gemma 3's, nor the other way round
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma(seed: 2), Fixture.Path("HfGemma3")));
        Contains(error.Message, "model_type is \"gemma3_text\": Gemma 3 normalises the attention's and the feed-forward's outputs too");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 2), Copy((_, config) => config["model_type"] = "gemma", "gemma3-as-gemma", "HfGemma3")));
        Contains(error.Message, "whose decoder layers have two norms, but 'rmsnorm_1' normalises the attention's output (Gemma 2's and 3's sandwich)");
        // Gemma 3 4B and up: an image-text checkpoint, whose language model loads (its text_config; the vision tower left out)
        foreach (var (prefix, head) in new[] { ("language_model.model.", "language_model.lm_head.weight"), ("model.language_model.", "lm_head.weight") })
        {
            var text = new HfTinyGemma3(seed: 4);
            HuggingFace.LoadLlama(text, Copy((tensors, config) =>
            {
                foreach (string name in tensors.Keys.ToList())
                {
                    tensors["x" + name] = tensors[name];
                    tensors.Remove(name);
                }
                foreach (string name in tensors.Keys.ToList())
                {
                    tensors[prefix + name["xmodel.".Length..]] = tensors[name];
                    tensors.Remove(name);
                }
                tensors[head] = tensors[prefix + "embed_tokens.weight"]; // (the tied output layer, as some saves write it)
                tensors["vision_tower.vision_model.post_layernorm.weight"] = tensors[prefix + "norm.weight"];
                tensors["multi_modal_projector.mm_soft_emb_norm.weight"] = tensors[prefix + "norm.weight"];
                var textConfig = (JsonObject)config.DeepClone();
                textConfig.Remove("model_type");
                config.Clear();
                config["architectures"] = new JsonArray("Gemma3ForConditionalGeneration");
                config["model_type"] = "gemma3";
                config["text_config"] = textConfig;
                config["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model", ["hidden_size"] = 4 };
            }, "gemma3-multimodal-" + prefix[..5], "HfGemma3"));
            AssertLogits(text, "HfGemma3");
        }
        // written back as Gemma 3's (ASavedCheckpoint… checks the round trip), a scale apart from 1/√head_dim as its
        // query_pre_attn_scalar; the sandwich under an unscaled embedding is no configuration's
        var scaled = new HfTinyGemma3Scaled(seed: 1);
        HuggingFace.SaveLlama(scaled, Path.Combine(_temp, "gemma3-scaled"));
        Assert.Equal(168, JsonNode.Parse(File.ReadAllText(Path.Combine(_temp, "gemma3-scaled", "config.json")))!["query_pre_attn_scalar"]!.GetValue<double>());
        var reloaded = new HfTinyGemma3Scaled(seed: 2);
        HuggingFace.LoadLlama(reloaded, Path.Combine(_temp, "gemma3-scaled"));
        Assert.Equal(scaled.Parameters["attention.q_norm.weight"].AsSpan().ToArray(), reloaded.Parameters["attention.q_norm.weight"].AsSpan().ToArray());
        var unsaved = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfSandwichUnscaled(seed: 1), Path.Combine(_temp, "sandwich")));
        Contains(unsaved.Message, "'rmsnorm_1' normalises the attention's output (Gemma 3's sandwich of norms) under an unscaled embedding");
    }

    /// <summary>
    /// Gemma 2's checkpoints: the sandwich of norms without QK-norm, its layers alternating (the first sliding) where layer_types
    /// is absent, the scores scaled by query_pre_attn_scalar and soft-capped, the logits soft-capped; caps that differ from the
    /// declared ones, or are declared where the model type has none, are refused naming what to declare.
    /// </summary>
    [Fact]
    public void AGemma2CheckpointWithItsSoftCapsAndAlternatingLayersGivesItsLogits()
    {
        var model = new HfTinyGemma2(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfGemma2"));
        AssertLogits(model, "HfGemma2");
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfGemma2", "model.safetensors")));
        Assert.Equal(hf["model.layers.1.post_feedforward_layernorm.weight"].ToFloat().Select(w => 1f + w).ToArray(), model.Parameters["rmsnorm_7.weight"].AsSpan().ToArray());
        // the same layers listed in layer_types, and the rotary base in rope_parameters (transformers 5)
        var listed = new HfTinyGemma2(seed: 2);
        HuggingFace.LoadLlama(listed, Copy((_, config) =>
        {
            config["layer_types"] = new JsonArray("sliding_attention", "full_attention");
            config.Remove("rope_theta");
            config["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 10000.0 };
        }, "gemma2-types", "HfGemma2"));
        AssertLogits(listed, "HfGemma2");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma2(seed: 3), Copy((_, config) =>
        {
            config.Remove("attn_logit_softcapping");
            config["final_logit_softcapping"] = null;
            config["layer_types"] = new JsonArray("full_attention", "sliding_attention");
        }, "gemma2-caps", "HfGemma2")));
        Contains(error.Message, "attn_logit_softcapping is 50 (its default): declare 'attention' with SoftCap = 50f");
        Contains(error.Message, "final_logit_softcapping is null: declare 'dense_4' with no SoftCap");
        Contains(error.Message, "layer 0 is \"full_attention\": declare 'attention' with SlidingWindow = 0 (every earlier step)");
        Contains(error.Message, "layer 1 is \"sliding_attention\": declare 'attention_1' with SlidingWindow = 4 (sliding_window)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma2(seed: 3), Copy((_, config) => config["query_pre_attn_scalar"] = 8, "gemma2-scale", "HfGemma2")));
        Contains(error.Message, "query_pre_attn_scalar is 8: the scores are scaled by 1/√8 = 0.35355338; declare 'attention' with no Scale (1/√head_dim, its default)");
        // Gemma 2's layout is not Gemma 3's (QK-norm), and soft caps are Gemma 2's alone
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma3(seed: 3), Fixture.Path("HfGemma2")));
        Contains(error.Message, "model_type is \"gemma2\", whose attention has no q_norm and k_norm, but 'attention' declares QueryKeyNorm = true");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyGemma2(seed: 3), Copy((_, config) =>
        {
            config["model_type"] = "gemma3_text";
            config["attn_logit_softcapping"] = null;
            config["final_logit_softcapping"] = null;
        }, "gemma2-as-gemma3", "HfGemma2")));
        Contains(error.Message, "model_type is \"gemma3_text\", whose scores are not soft-capped, but 'attention' declares SoftCap = 2 (Gemma 2's)");
        // a soft cap where the configuration written has no place for it
        var capped = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfLlamaCapped(seed: 1), Path.Combine(_temp, "capped")));
        Contains(capped.Message, "'dense_2' soft-caps its outputs: only Gemma 2's configuration can say so (attn_logit_softcapping, final_logit_softcapping)");
        var down = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfLlamaCappedDown(seed: 1), Path.Combine(_temp, "capped-down")));
        Contains(down.Message, "layer 6 ('dense_1', Dense(16, Bias = false, SoftCap = 30)) is where decoder layer 0's down_proj ([Dense(16, Bias = false)]) belongs");
    }

    /// <summary>
    /// A base model (Qwen3Model, as Qwen3-Embedding, gte-Qwen2 and e5-mistral are published: names without model., no lm_head),
    /// declared without the output layer: its last hidden state times the token table (Qwen3 ties them) is PyTorch's logits, from
    /// the base checkpoint and from the causal language model's (its head left); its last token's state is the embedding
    /// (Pooling.Last); saved as Qwen3Model under the base names and read back to the same outputs.
    /// </summary>
    [Fact]
    public void ABaseModelsLastHiddenStateIsTheCausalModelsBeforeItsHead()
    {
        string folder = Copy((tensors, config) =>
        {
            foreach (string name in tensors.Keys.ToArray())
            {
                tensors.Remove(name, out SafeTensor? t);
                tensors[name["model.".Length..]] = t!;
            }
            config["architectures"] = new JsonArray("Qwen3Model");
        }, "qwen3-base", "HfQwen3");
        Assert.DoesNotContain(SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys, k => k.StartsWith("model.", StringComparison.Ordinal));
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfQwen3.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32();
        float[] logits = expected["logits"].ToFloat();
        foreach (string from in new[] { folder, Fixture.Path("HfQwen3") })
        {
            var model = new HfTinyQwen3Base(seed: 1);
            HuggingFace.LoadLlama(model, from);
            float[] hidden = ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [2, 11])));
            float[] table = model.Parameters["embedding.weight"].AsSpan().ToArray();
            for (int r = 0; r < 22; r++)
                for (int v = 0; v < 13; v++)
                {
                    float logit = System.Numerics.Tensors.TensorPrimitives.Dot(hidden.AsSpan(r * 16, 16), table.AsSpan(v * 16, 16)), want = logits[r * 13 + v];
                    Assert.True(MathF.Abs(logit - want) <= 1e-4f * (1 + MathF.Abs(want)), $"{from}: row {r}, logit {v}: expected {want}, got {logit}");
                }
            // last-token pooling reads each sequence's last valid step
            float[] last = ParityModel.Flatten(Pooling.Last(model.Forward(ParityModel.Span(ids, [2, 11]), [11, 7]), [11, 7]));
            Assert.Equal(ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [2, 11]), [11, 7])).AsSpan((11 + 6) * 16, 16).ToArray(), last.AsSpan(16, 16).ToArray());
        }
        var loaded = new HfTinyQwen3Base(seed: 1);
        HuggingFace.LoadLlama(loaded, folder);
        string saved = Path.Combine(_temp, "qwen3-base-saved");
        HuggingFace.SaveLlama(loaded, saved);
        Assert.Equal(SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order(), SafeTensors.Read(Path.Combine(saved, "model.safetensors")).Keys.Order());
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(saved, "config.json"))))
            Assert.Equal("Qwen3Model", config.RootElement.GetProperty("architectures")[0].GetString());
        var reloaded = new HfTinyQwen3Base(seed: 5);
        HuggingFace.LoadLlama(reloaded, saved);
        Assert.Equal(ParityModel.Flatten(loaded.Forward(ParityModel.Span(ids, [2, 11]))), ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 11]))));
        // the causal language model needs its head: a base checkpoint of an untied model lacks it
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 1), Copy((tensors, _) =>
        {
            tensors.Remove("lm_head.weight");
            foreach (string name in tensors.Keys.ToArray())
            {
                tensors.Remove(name, out SafeTensor? t);
                tensors[name["model.".Length..]] = t!;
            }
        }, "llama-base")));
        Contains(error.Message, "no 'lm_head.weight', and its config.json does not tie the output layer to the token table");
    }

    [Fact]
    public void AQwen3CheckpointWithWiderHeadsAndNormalisedQueriesAndKeysGivesItsLogits()
    {
        var model = new HfTinyQwen3(seed: 1);
        HuggingFace.LoadLlama(model, Fixture.Path("HfQwen3"));
        AssertLogits(model, "HfQwen3");
        // q_proj [4 · 8, 16] above k_proj and v_proj [2 · 8, 16] in in_proj_weight; q_norm and k_norm [8] as they are
        Dictionary<string, SafeTensor> hf = SafeTensors.Read(Fixture.Path(Path.Combine("HfQwen3", "model.safetensors")));
        Assert.Equal(hf["model.layers.1.self_attn.k_norm.weight"].ToFloat(), model.Parameters["attention_1.k_norm.weight"].AsSpan().ToArray());
        Assert.Equal(hf["model.layers.0.self_attn.q_norm.weight"].ToFloat(), model.Parameters["attention.q_norm.weight"].AsSpan().ToArray());
        Assert.Equal(hf["model.layers.0.self_attn.v_proj.weight"].ToFloat(), model.Parameters["attention.in_proj_weight"].AsSpan().Slice(48 * 16).ToArray());
        Assert.Equal([16, 32], model.Parameters["attention.out_proj.weight"].Shape.ToArray());
        // Qwen3's head_dim defaults to 128; QK-norm is Qwen3's alone; LLaMA's declaration lacks it
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen3(seed: 2), Copy((_, config) => config.Remove("head_dim"), "qwen3-head", "HfQwen3")));
        Contains(error.Message, "head_dim is 128 (its default), the model declares 8 ('attention' HeadWidth)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen3(seed: 2), Copy((_, config) => config["model_type"] = "llama", "qwen3-as-llama", "HfQwen3")));
        Contains(error.Message, "model_type is \"llama\", whose attention has no q_norm and k_norm, but 'attention' declares QueryKeyNorm = true (Qwen3's)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyMistral(seed: 2), Fixture.Path("HfQwen3")));
        Contains(error.Message, "model_type is \"qwen3\": its attention RMS-normalises each head's queries and keys (q_norm, k_norm); declare 'attention' with QueryKeyNorm = true");
        Contains(error.Message, "head_dim is 8, the model declares 4 ('attention' hidden_size / num_attention_heads: declare HeadWidth for heads of their own width)");
        // the window is Qwen2's rule: configured but unused without use_sliding_window
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen3(seed: 2), Copy((_, config) =>
        {
            config["use_sliding_window"] = true;
            config["max_window_layers"] = 0;
            config["sliding_window"] = 4;
        }, "qwen3-window", "HfQwen3")));
        Contains(error.Message, "Qwen3's layer 0 attends to the 4 most recent steps (use_sliding_window, sliding_window, max_window_layers 0); declare 'attention' with SlidingWindow = 4");
        Contains(error.Message, "Qwen3's layer 1 attends to the 4 most recent steps (use_sliding_window, sliding_window, max_window_layers 0); declare 'attention_1' with SlidingWindow = 4");
        // the windowed layers as layer_types lists them; no window where sliding_window is null
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new HfTinyQwen3(seed: 2), Copy((_, config) =>
        {
            config["use_sliding_window"] = true;
            config["sliding_window"] = 4;
            config["layer_types"] = new JsonArray("full_attention", "sliding_attention");
        }, "qwen3-types", "HfQwen3")));
        Contains(error.Message, "Qwen3's layer 1 attends to the 4 most recent steps (use_sliding_window, sliding_window, layer_types); declare 'attention_1' with SlidingWindow = 4");
        Assert.DoesNotContain("layer 0", error.Message, StringComparison.Ordinal);
        var unwindowed = new HfTinyQwen3(seed: 2);
        HuggingFace.LoadLlama(unwindowed, Copy((_, config) =>
        {
            config["use_sliding_window"] = true;
            config["max_window_layers"] = 1;
            config["sliding_window"] = null;
        }, "qwen3-null-window", "HfQwen3"));
        AssertLogits(unwindowed, "HfQwen3");
    }

    [Theory]
    [InlineData("HfLlama")]
    [InlineData("HfLlama31")]
    [InlineData("HfQwen2")]
    [InlineData("HfLlamaLinear")]
    [InlineData("HfMistral")]
    [InlineData("HfQwen3")]
    [InlineData("HfGemma")]
    [InlineData("HfGemma3")]
    [InlineData("HfGemma2")]
    [InlineData("HfLlamaYarn")]
    [InlineData("HfLlamaDynamic")]
    [InlineData("HfPhi3LongRope")]
    [InlineData("HfPhi3Partial")]
    [InlineData("HfQwen2Window")]
    public void ASavedCheckpointHasHuggingFacesNamesAndConfigurationAndLoadsBack(string fixture)
    {
        IModel<int> model = For(fixture, 9);
        HuggingFace.LoadLlama(model, Fixture.Path(fixture));
        string folder = Path.Combine(_temp, "saved");
        HuggingFace.SaveLlama(model, folder);
        // the tensors are the checkpoint's, name for name and value for value (bfloat16 widened to float32 exactly)
        AssertSavedAsLoaded(fixture, folder);
        // every setting the fixture's config.json gives, the saved one gives alike (numbers as numbers)
        JsonObject expected = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))))!;
        string text = File.ReadAllText(Path.Combine(folder, "config.json"));
        JsonObject written = (JsonObject)JsonNode.Parse(text)!;
        // floats as Python writes them, whole ones with ".0" (transformers warns of a rope_scaling factor written as 8)
        Assert.DoesNotMatch(@"""(rope_theta|rms_norm_eps|factor|low_freq_factor|high_freq_factor)"":\s*-?\d+\s*[,}\r\n]", text);
        foreach (string key in new[] { "architectures", "model_type", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "head_dim", "num_hidden_layers",
            "vocab_size", "rms_norm_eps", "rope_theta", "hidden_act", "tie_word_embeddings", "rope_scaling", "use_sliding_window", "sliding_window", "attention_bias",
            "hidden_activation", "layer_types", "query_pre_attn_scalar", "rope_local_base_freq", "attn_logit_softcapping", "final_logit_softcapping" })
        {
            JsonNode? e = expected[key], w = written[key];
            if (e is null && !expected.ContainsKey(key)) continue; // left to its default in the fixture
            if (key == "sliding_window" && expected["model_type"]?.GetValue<string>() is not ("mistral" or "gemma2" or "gemma3_text")) continue; // Qwen2's, unused without use_sliding_window
            Assert.True(JsonNode.DeepEquals(Normalised(e), Normalised(w)), $"{key}: expected {e?.ToJsonString() ?? "null"}, wrote {w?.ToJsonString() ?? "null"}");
        }
        var reloaded = For(fixture, 10);
        HuggingFace.LoadLlama(reloaded, folder);
        AssertLogits(reloaded, fixture);
        // (LongRoPE within its original context too: the short factors, and max_position_embeddings over the original as the factor)
        if (fixture is "HfPhi3LongRope" or "HfLlamaDynamic") AssertLogits(reloaded, fixture, "_short");
    }

    /// <summary>A JSON value with its numbers as doubles (8 and 8.0 alike), for comparing configurations.</summary>
    private static JsonNode? Normalised(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Normalised(p.Value)))),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => JsonValue.Create((float)v.GetValue<double>()),
        _ => node?.DeepClone(),
    };

    [Fact]
    public void LayersThatNoOneConfigurationDescribesAreNotSaved()
    {
        var error = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfUnalikeLlama(seed: 1), Path.Combine(_temp, "unalike")));
        Contains(error.Message, "'dense_2' is 32 wide and 'dense' 24: LLaMA's decoder layers are alike");
        Assert.False(Directory.Exists(Path.Combine(_temp, "unalike")));
        // a partial rotation or LongRoPE is written as Phi-3's configuration, which cannot say biases, other scalings or a factor
        // that is not a whole context over the original one
        error = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfPartialUnwritable(seed: 1), Path.Combine(_temp, "partial")));
        Contains(error.Message, "'attention' turns 4 of each head's 8 values (RotaryDimensions), which only Phi-3's configuration says, but it has projection biases: Phi-3's qkv_proj and o_proj have none (declare Bias = false)");
        Contains(error.Message, "but it scales its rotary frequencies as Yarn: Phi-3's configuration scales them as LongRoPE or not at all");
        error = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfLongRopeUnwritable(seed: 1), Path.Combine(_temp, "longrope")));
        Contains(error.Message, "'attention' scales its rotary frequencies as LongRoPE by 2.5 over 3 steps: Phi-3's configuration gives the factor as a whole max_position_embeddings over original_max_position_embeddings");
        Assert.False(Directory.Exists(Path.Combine(_temp, "partial")) || Directory.Exists(Path.Combine(_temp, "longrope")));
        // windows that differ by layer without Qwen's attention: no LLaMA or Mistral configuration says so
        error = Assert.Throws<ArgumentException>(() => HuggingFace.SaveLlama(new HfLlamaWindowLater(seed: 1), Path.Combine(_temp, "window-later")));
        Contains(error.Message, "'attention_1' and 'attention' attend over other windows (4 and 0, 0 for every earlier step): only Qwen2's and Qwen3's configurations");
    }

    /// <summary>A copy of the BERT fixture, edited (its int64 position_ids buffer left out: the copies are written as floats).</summary>
    private string BertCopy(Action<Dictionary<string, SafeTensor>, JsonObject> edit, string name, string fixture = "HfBert") => Copy((tensors, config) =>
    {
        tensors.Remove("embeddings.position_ids");
        tensors.Remove("roberta.embeddings.position_ids");
        tensors.Remove("distilbert.embeddings.position_ids");
        tensors.Remove("bert.embeddings.position_ids");
        edit(tensors, config);
    }, name, fixture);

    /// <summary>
    /// An encoder fixture's last hidden state at each sequence's valid steps and its mean over them (<c>hidden</c>, <c>pooled</c>:
    /// the reference's, 16 wide) against <paramref name="model"/>'s over the fixture's ids and lengths, which it returns.
    /// </summary>
    private static (int[] Ids, int[] Lengths, int Batch, int Steps) AssertEncoderOutputs(IModel<int> model, string fixture)
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        int batch = lengths.Length, steps = ids.Length / batch;
        Tensor<float> states = model.Forward(ParityModel.Span(ids, [batch, steps]), lengths);
        float[] hidden = expected["hidden"].ToFloat(), actual = ParityModel.Flatten(states);
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(hidden.AsSpan(b * steps * 16, lengths[b] * 16), actual.AsSpan(b * steps * 16, lengths[b] * 16), $"{fixture}: sequence {b}'s valid steps");
        Tolerance.AssertClose(expected["pooled"].ToFloat(), ParityModel.Flatten(Pooling.Mean(states, lengths)), $"{fixture}: the mean over the valid steps");
        return (ids, lengths, batch, steps);
    }

    /// <summary>The BERT fixture's last hidden state at each sequence's valid steps (its lengths), against <paramref name="model"/>'s.</summary>
    private static void AssertBertHidden(IModel<int> model, string fixture = "HfBert")
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        float[] hidden = expected["hidden"].ToFloat();
        int batch = lengths.Length, steps = ids.Length / batch, width = model.OutputWidth;
        float[] actual = ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        for (int b = 0; b < batch; b++)
        {
            for (int i = b * steps * width; i < (b * steps + lengths[b]) * width; i++)
                Assert.True(MathF.Abs(hidden[i] - actual[i]) <= 1e-4f * (1 + MathF.Abs(hidden[i])), $"sequence {b}, value {i}: expected {hidden[i]}, got {actual[i]}");
        }
        // the whole sequence alone, without lengths, as in the batch
        float[] first = ParityModel.Flatten(model.Forward(ParityModel.Span(ids.AsSpan(0, steps).ToArray(), [1, steps])));
        Tolerance.AssertClose(hidden.AsSpan(0, steps * width), first, "sequence 0 alone");
        // each text's embedding as sentence-transformers makes it: the mean of its valid steps, normalised
        float[] pooled = ParityModel.Flatten(Pooling.Mean(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths), lengths, normalize: true));
        Tolerance.AssertClose(expected["pooled"].ToFloat(), pooled, "mean pooled and normalised");
    }

    /// <summary>
    /// BERT's encoder (BertModel, as sentence-transformers' checkpoints hold it): the token types' first row folded into the
    /// positions, post-norm layers, padded keys masked by the lengths; the pooler and the position ids left; the bert. prefix and
    /// the older gamma and beta read; a head of the model's own left as it is; a configuration or checkpoint that does not fit
    /// refused, naming each difference; a save read back to the same outputs.
    /// </summary>
    [Fact]
    public void ABertCheckpointGivesItsLastHiddenState()
    {
        var model = new HfTinyBert(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfBert"));
        AssertBertHidden(model);
        // as a pre-training checkpoint names its tensors (bert. prefix, LayerNorm's gamma and beta, the heads beside them)
        var prefixed = new HfTinyBert(seed: 2);
        HuggingFace.LoadBert(prefixed, BertCopy((tensors, _) =>
        {
            foreach (string name in tensors.Keys.ToArray())
            {
                string renamed = "bert." + name.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta");
                tensors[renamed] = tensors[name];
                tensors.Remove(name);
            }
            tensors["cls.predictions.bias"] = tensors["bert.pooler.dense.bias"];
            tensors["classifier.weight"] = tensors["bert.pooler.dense.weight"]; // (a fine-tuned task's head beside the encoder)
        }, "bert-pretraining"));
        AssertBertHidden(prefixed);

        // a head of the model's own after the encoder keeps its values
        var classifier = new HfTinyBertClassifier(seed: 3);
        float[][] head = classifier.Parameters.Where(p => p.Name.StartsWith("attention_2", StringComparison.Ordinal) || p.Name.StartsWith("dense_4", StringComparison.Ordinal))
            .Select(p => p.AsSpan().ToArray()).ToArray();
        Assert.True(head.Length >= 3, $"{head.Length} head parameters"); // (the pooling attention's and the classifier's)
        HuggingFace.LoadBert(classifier, Fixture.Path("HfBert"));
        Assert.Equal(model.Parameters["dense_3.weight"].AsSpan().ToArray(), classifier.Parameters["dense_3.weight"].AsSpan().ToArray());
        Assert.Equal(head, classifier.Parameters.Where(p => p.Name.StartsWith("attention_2", StringComparison.Ordinal) || p.Name.StartsWith("dense_4", StringComparison.Ordinal))
            .Select(p => p.AsSpan().ToArray()).ToArray());

        // a head that begins as an encoder layer does and then is not one is the model's own too
        var attentionHead = new HfTinyBertAttentionHead(seed: 6);
        float[] headAttention = attentionHead.Parameters["attention_2.in_proj_weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(attentionHead, Fixture.Path("HfBert"));
        Assert.Equal(model.Parameters["attention_1.in_proj_weight"].AsSpan().ToArray(), attentionHead.Parameters["attention_1.in_proj_weight"].AsSpan().ToArray());
        Assert.Equal(headAttention, attentionHead.Parameters["attention_2.in_proj_weight"].AsSpan().ToArray());

        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 4), BertCopy((_, config) =>
        {
            config["hidden_act"] = "relu";
            config["position_embedding_type"] = "relative_key";
            config["is_decoder"] = true;
            config["layer_norm_eps"] = 1e-5;
            config["num_attention_heads"] = 2;
        }, "bert-other")));
        Contains(error.Message, "hidden_act is \"relu\": declare 'dense' with Activation = Activation.Relu");
        Contains(error.Message, "position_embedding_type is \"relative_key\": the positions here are a learned table (\"absolute\")");
        Contains(error.Message, "is_decoder is true: BERT as a causal decoder is not laid out here");
        Contains(error.Message, "layer_norm_eps is 1E-05, the model declares 1E-12 ('layernorm' Epsilon)");
        Contains(error.Message, "num_attention_heads is 2, the model declares 4 ('attention')");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 4), BertCopy((_, config) => config["model_type"] = "deberta-v2", "bert-deberta")));
        Contains(error.Message, "model_type is \"deberta-v2\": LoadBert reads BERT's checkpoints (\"bert\"), RoBERTa's");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 4), BertCopy((tensors, _) =>
        {
            tensors.Remove("embeddings.token_type_embeddings.weight");
            tensors.Remove("encoder.layer.1.attention.self.key.bias");
            tensors["encoder.layer.0.intermediate.dense.weight"] = tensors["encoder.layer.0.output.dense.weight"];
        }, "bert-tensors")));
        Contains(error.Message, "missing tensor 'embeddings.token_type_embeddings.weight' [2, 16] (its first row is added to every position)");
        Contains(error.Message, "missing tensor 'encoder.layer.1.attention.self.key.bias' [16] (rows 16 … 31 of 'attention_1.in_proj_bias' [48])");
        Contains(error.Message, "tensor 'encoder.layer.0.intermediate.dense.weight' has shape [16, 24], expected [24, 16] (for 'dense.weight')");
        var gpt = Assert.Throws<ArgumentException>(() => HuggingFace.LoadBert(new HfTinyGpt2(seed: 1), Fixture.Path("HfBert")));
        Assert.StartsWith("HfTinyGpt2 is not laid out as BERT: layer 3 ('attention', Attention(Heads = 4, Score = ScaledDot, Causal = true)) is where layer 0's attention", gpt.Message);

        // saved as BertModel (query, key and value apart, token types of zeros beside the positions), read back to the same outputs
        string folder = Path.Combine(_temp, "bert-saved");
        HuggingFace.SaveBert(classifier, folder);
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Dictionary<string, SafeTensor> original = SafeTensors.Read(Fixture.Path(Path.Combine("HfBert", "model.safetensors")));
        Assert.Equal(original.Keys.Where(k => !k.StartsWith("pooler.", StringComparison.Ordinal) && k != "embeddings.position_ids").Order(), saved.Keys.Order());
        Assert.Equal(original["encoder.layer.1.attention.self.value.weight"].ToFloat(), saved["encoder.layer.1.attention.self.value.weight"].ToFloat());
        Assert.All(saved["embeddings.token_type_embeddings.weight"].ToFloat(), v => Assert.Equal(0f, v));
        JsonObject config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        JsonObject expectedConfig = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine("HfBert", "config.json"))))!;
        foreach (string key in new[] { "architectures", "model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
            "max_position_embeddings", "type_vocab_size", "vocab_size", "layer_norm_eps", "position_embedding_type" })
            Assert.True(JsonNode.DeepEquals(Normalised(expectedConfig[key]), Normalised(config[key])), $"{key}: expected {expectedConfig[key]?.ToJsonString()}, wrote {config[key]?.ToJsonString()}");
        var reloaded = new HfTinyBert(seed: 5);
        HuggingFace.LoadBert(reloaded, folder);
        Assert.Equal(model.Parameters.Select(p => p.AsSpan().ToArray()), reloaded.Parameters.Select(p => p.AsSpan().ToArray()));
    }

    /// <summary>The model's outputs for the fixture's texts (padded, with their lengths) against the head's output the fixture holds.</summary>
    private static void AssertHead(IModel<int> model, string fixture, string key)
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        int batch = lengths.Length, steps = ids.Length / batch;
        Tolerance.AssertClose(expected[key].ToFloat(), ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths)), $"{fixture} {key}");
    }

    /// <summary>
    /// The heads transformers' models put on the first token load into [Pool(PoolKind.First)] and the Dense layers after it:
    /// BertForSequenceClassification's pooler (tanh) and classifier (the bert. prefix), BertModel's pooler alone,
    /// DistilBERT's pre_classifier (ReLU) and classifier, ELECTRA's classifier.dense (GELU) and out_proj, XLM-RoBERTa's
    /// classifier.dense (tanh) and out_proj (a reranker's layout, its positions after the padding id); their outputs are
    /// PyTorch's. A base checkpoint's missing classifier leaves the model's own; a classifier of other labels and a dense layer
    /// of another activation are refused, naming them.
    /// </summary>
    [Fact]
    public void TaskHeadsOnTheFirstTokenGiveTransformersLogits()
    {
        T Loaded<T>(T model, string fixture, string key) where T : IModel<int>
        {
            HuggingFace.LoadBert(model, Fixture.Path(fixture));
            AssertHead(model, fixture, key);
            return model;
        }
        var classifier = Loaded(new HfTinyBertSequenceClassifier(seed: 1), "HfBertClassifier", "logits");
        var pooler = Loaded(new HfTinyBertPooler(seed: 1), "HfBert", "pooler_output");
        var distil = Loaded(new HfTinyDistilBertClassifier(seed: 1), "HfDistilBert", "logits");
        Loaded(new HfTinyElectraClassifier(seed: 1), "HfElectra", "logits");
        Loaded(new HfTinyRobertaClassifier(seed: 1), "HfRobertaClassifier", "logits");

        // a base model's checkpoint: its pooler loads, the classifier keeps the model's own values (transformers' new head)
        var fresh = new HfTinyBertSequenceClassifier(seed: 2);
        float[] own = fresh.Parameters["dense_5.weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(fresh, Fixture.Path("HfBert"));
        Assert.Equal(own, fresh.Parameters["dense_5.weight"].AsSpan().ToArray());
        Assert.Equal(pooler.Parameters["dense_4.weight"].AsSpan().ToArray(), fresh.Parameters["dense_4.weight"].AsSpan().ToArray());
        Assert.Equal(classifier.Parameters["dense_4.bias"].AsSpan().ToArray(), fresh.Parameters["dense_4.bias"].AsSpan().ToArray());

        // a base model's pooler under a head of another activation: the head is the model's own
        var ownHead = new HfTinyDistilBertClassifier(seed: 3);
        float[] ownDense = ownHead.Parameters["dense_4.weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(ownHead, Fixture.Path("HfBert"));
        Assert.Equal(ownDense, ownHead.Parameters["dense_4.weight"].AsSpan().ToArray());
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyDistilBertClassifier(seed: 3), Fixture.Path("HfBertClassifier")));
        Contains(error.Message, "tensor 'classifier.weight' has shape [3, 16], expected [2, 16]");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBertSequenceClassifier(seed: 3), Fixture.Path("HfDistilBert")));
        Contains(error.Message, "'dense_4' takes Tanh where DistilBERT's pre_classifier applies ReLU (declare it with Activation = Activation.Relu)");

        // saved as BertForSequenceClassification (the encoder and pooler under bert., the classifier, id2label) and read back
        string[] labels = ["negative", "neutral", "positive"];
        Assert.Equal(labels, HuggingFace.LoadLabels(Fixture.Path("HfBertClassifier")));
        Assert.Null(HuggingFace.LoadLabels(Fixture.Path("HfBert")));
        string folder = Path.Combine(_temp, "bert-classifier-saved");
        HuggingFace.SaveBert(classifier, folder, labels);
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBertClassifier", "model.safetensors"))).Keys.Where(k => k != "bert.embeddings.position_ids").Order(), saved.Keys.Order());
        Assert.Equal(labels, HuggingFace.LoadLabels(folder));
        Contains(File.ReadAllText(Path.Combine(folder, "config.json")), "\"BertForSequenceClassification\"");
        var reloaded = new HfTinyBertSequenceClassifier(seed: 9);
        HuggingFace.LoadBert(reloaded, folder);
        AssertHead(reloaded, "HfBertClassifier", "logits");
        HuggingFace.SaveBert(classifier, folder);
        Assert.Equal(["LABEL_0", "LABEL_1", "LABEL_2"], HuggingFace.LoadLabels(folder));
        // the pooler alone: BertModel's names with its pooler
        HuggingFace.SaveBert(pooler, folder);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBert", "model.safetensors"))).Keys.Where(k => k != "embeddings.position_ids").Order(),
            SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
        Assert.Null(HuggingFace.LoadLabels(folder));
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(classifier, folder, ["a", "b"])).Message, "2 labels for 'dense_5''s 3 outputs");
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(pooler, folder, ["a"])).Message, "labels given, but HfTinyBertPooler has no classifier");
        // DistilBERT's head (ReLU) is no pooler: the encoder alone is written, as BertModel
        HuggingFace.SaveBert(distil, folder);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBert", "model.safetensors"))).Keys.Where(k => !k.StartsWith("pooler.", StringComparison.Ordinal) && k != "embeddings.position_ids").Order(),
            SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(distil, folder, ["a", "b"])).Message, "labels given, but HfTinyDistilBertClassifier has no classifier BertForSequenceClassification or BertForTokenClassification holds");
    }

    /// <summary>A masked-LM fixture's logits on each sequence's valid steps against <paramref name="model"/>'s; returns the ids, lengths and the model's logits.</summary>
    private static (int[] Ids, int[] Lengths, float[] Actual) AssertMaskedLogits(IModel<int> model, string fixture)
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        float[] logits = expected["logits"].ToFloat(), actual = ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [2, 7]), lengths));
        for (int b = 0; b < 2; b++)
            Tolerance.AssertClose(logits.AsSpan(b * 7 * 13, lengths[b] * 13), actual.AsSpan(b * 7 * 13, lengths[b] * 13), $"{fixture}: sequence {b}'s masked-LM logits");
        return (ids, lengths, actual);
    }

    /// <summary>
    /// BertForMaskedLM's head (cls.predictions: dense, GELU, LayerNorm, the decoder tied to the token table with its bias) and
    /// RobertaForMaskedLM's (lm_head) load into the Dense, LayerNorm and tied Dense after the encoder: their logits on every valid
    /// step are PyTorch's; saved as BertForMaskedLM
    /// and read back to the same logits; a base checkpoint leaves the head the model's own; a decoder copy that is not the token
    /// table refused.
    /// </summary>
    [Fact]
    public void ABertMaskedLanguageModelGivesItsLogits()
    {
        // RoBERTa's head under lm_head (its positions after the padding id) as BERT's under cls.predictions
        var roberta = new HfTinyRobertaMaskedLM(seed: 1);
        HuggingFace.LoadBert(roberta, Fixture.Path("HfRobertaMaskedLM"));
        AssertMaskedLogits(roberta, "HfRobertaMaskedLM");
        var model = new HfTinyBertMaskedLM(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfBertMaskedLM"));
        var (ids, lengths, actual) = AssertMaskedLogits(model, "HfBertMaskedLM");
        string folder = Path.Combine(_temp, "bert-mlm-saved");
        HuggingFace.SaveBert(model, folder);
        Dictionary<string, SafeTensor> written = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Assert.Contains("cls.predictions.bias", written.Keys);
        Assert.Contains("cls.predictions.transform.LayerNorm.weight", written.Keys);
        Assert.All(written.Keys.Where(k => !k.StartsWith("cls.", StringComparison.Ordinal)), k => Assert.StartsWith("bert.", k));
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
            Assert.Equal("BertForMaskedLM", config.RootElement.GetProperty("architectures")[0].GetString());
        var reloaded = new HfTinyBertMaskedLM(seed: 7);
        HuggingFace.LoadBert(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [2, 7]), lengths)));
        // a base checkpoint: the head is the model's own
        var fresh = new HfTinyBertMaskedLM(seed: 2);
        float[] own = fresh.Parameters["layernorm_5.weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(fresh, Fixture.Path("HfBert"));
        Assert.Equal(own, fresh.Parameters["layernorm_5.weight"].AsSpan().ToArray());
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBertMaskedLM(seed: 1), BertCopy((tensors, _) =>
            tensors["cls.predictions.decoder.weight"] = new SafeTensor("cls.predictions.decoder.weight", [13, 16], new float[13 * 16]), "bert-mlm-decoder", "HfBertMaskedLM")));
        Contains(error.Message, "'cls.predictions.decoder.weight' differs from 'embeddings.word_embeddings.weight'");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBertMaskedLMRelu(seed: 1), Fixture.Path("HfBertMaskedLM")));
        Contains(error.Message, "'dense_4' takes Relu where cls.predictions.transform.dense applies Gelu (declare it with Activation = Activation.Gelu)");
    }

    /// <summary>
    /// MPNet (MPNetModel, as transformers computes it: BERT's post-norm layers whose scores add the encoder's one relative position
    /// table by the bucket of each distance, positions after the padding id): its last hidden state on every valid step and its
    /// mean (all-mpnet-base-v2's pooling) are PyTorch's, as are MPNetForSequenceClassification's logits; saved as MPNet's checkpoint
    /// under the fixture's names and read back to the same outputs; a model whose layers lack the bias, or keep tables of their
    /// own, refused, named.
    /// </summary>
    [Fact]
    public void MpnetsLastHiddenStateIsTransformers()
    {
        var model = new HfTinyMpnet(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfMpnet"));
        var (ids, lengths, batch, steps) = AssertEncoderOutputs(model, "HfMpnet");
        // one table read by both layers: the second's name an alias of the first's
        Assert.Same(model.Parameters["attention.relative_attention_bias.weight"], model.Parameters["attention_1.relative_attention_bias.weight"]);

        var classifier = new HfTinyMpnetClassifier(seed: 1);
        HuggingFace.LoadBert(classifier, Fixture.Path("HfMpnetClassifier"));
        AssertHead(classifier, "HfMpnetClassifier", "logits");
        Assert.Equal(["negative", "neutral", "positive"], HuggingFace.LoadLabels(Fixture.Path("HfMpnetClassifier")));

        foreach (var (saved, fixture, labels) in new (IModel<int>, string, string[]?)[] { (model, "HfMpnet", null), (classifier, "HfMpnetClassifier", ["negative", "neutral", "positive"]) })
        {
            string folder = Path.Combine(_temp, fixture + "-saved");
            HuggingFace.SaveBert(saved, folder, labels);
            Dictionary<string, SafeTensor> original = SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors"))), written = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
            Assert.Equal(original.Keys.Order(), written.Keys.Order());
            string positions = (labels is null ? "" : "mpnet.") + "embeddings.position_embeddings.weight";
            Assert.Equal(original[positions].Shape, written[positions].Shape);
            Assert.All(written[positions].ToFloat().AsSpan(0, 2 * 16).ToArray(), v => Assert.Equal(0f, v));
            using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            using JsonDocument source = JsonDocument.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))));
            foreach (string key in (string[])["architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "max_position_embeddings", "relative_attention_num_buckets", "pad_token_id"])
                Assert.Equal(source.RootElement.GetProperty(key).GetRawText().Replace(" ", "").Replace("\n", ""), config.RootElement.GetProperty(key).GetRawText().Replace(" ", "").Replace("\n", ""));
            IModel<int> reloaded = (IModel<int>)Activator.CreateInstance(saved.GetType(), 9)!;
            HuggingFace.LoadBert(reloaded, folder);
            Assert.Equal(ParityModel.Flatten(saved.Forward(ParityModel.Span(ids, [batch, steps]), lengths)), ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths)));
        }

        var plain = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyRoberta(seed: 1), Fixture.Path("HfMpnet")));
        Contains(plain.Message, "MPNet's layers add its relative position bias to their scores: declare 'attention' with RelativeBuckets = 32");
        var unshared = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyMpnetUnshared(seed: 1), Fixture.Path("HfMpnet")));
        Contains(unshared.Message, "'attention_1' holds a relative position table of its own, not 'attention''s: MPNet's encoder keeps one for every layer (declare no layer with RelativeShared = false)");
        var other = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyMpnet(seed: 1), Fixture.Path("HfRoberta")));
        Contains(other.Message, "'attention' adds a relative position bias (RelativeBuckets = 32), which only MPNet's checkpoints (model_type \"mpnet\") hold");
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(new HfTinyMpnetUnshared(seed: 1), Path.Combine(_temp, "unshared"))).Message,
            "HfTinyMpnetUnshared cannot be written as one MPNet configuration: 'attention_1' holds a relative position table of its own");
    }

    /// <summary>
    /// T5's encoder (T5EncoderModel and a full T5ForConditionalGeneration checkpoint's encoder, as transformers computes it: pre-norm
    /// RMS blocks, unscaled scores plus the first block's relative position table, gated-gelu or ReLU feed-forwards; UMT5's with a
    /// table in each block): its last
    /// hidden state on every valid step and its mean are PyTorch's; saved as T5EncoderModel and read back to the same outputs;
    /// a model declared otherwise than its configuration refused, each difference named.
    /// </summary>
    [Fact]
    public void T5sEncoderGivesTransformersLastHiddenState()
    {
        foreach (var (model, fixture) in new (IModel<int>, string)[] { (new HfTinyT5(seed: 1), "HfT5"), (new HfTinyT5Relu(seed: 1), "HfT5Relu"), (new HfTinyUmt5(seed: 1), "HfUmt5") })
        {
            HuggingFace.LoadT5Encoder(model, Fixture.Path(fixture));
            var (ids, lengths, batch, steps) = AssertEncoderOutputs(model, fixture);

            string folder = Path.Combine(_temp, fixture + "-saved");
            HuggingFace.SaveT5Encoder(model, folder);
            var written = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
            Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors"))).Keys.Where(k => !k.StartsWith("decoder.") && !k.StartsWith("lm_head."))
                .Append("encoder.embed_tokens.weight").Distinct().Order(), written.Keys.Order());
            using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            using JsonDocument source = JsonDocument.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))));
            foreach (string key in (string[])["model_type", "vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets", "relative_attention_max_distance", "feed_forward_proj"])
                Assert.Equal(source.RootElement.GetProperty(key).GetRawText(), config.RootElement.GetProperty(key).GetRawText());
            IModel<int> reloaded = (IModel<int>)Activator.CreateInstance(model.GetType(), 9)!;
            HuggingFace.LoadT5Encoder(reloaded, folder);
            Assert.Equal(ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths)), ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths)));
        }
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyT5Relu(seed: 1), Fixture.Path("HfT5")));
        Contains(error.Message, "d_kv is 6, the model declares 4 ('attention''s heads: d_model / num_heads; declare HeadWidth = d_kv where they differ)");
        Contains(error.Message, "relative_attention_num_buckets is 8, the model declares 32 ('attention' RelativeBuckets)");
        Contains(error.Message, "feed_forward_proj is \"gated-gelu\": declare 'dense' with Gated = true, Activation = Activation.GeluTanh");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadT5Encoder(new HfTinyMpnet(seed: 1), Fixture.Path("HfT5")));
        Contains(layout.Message, "is not laid out as T5's encoder");
        // dense_act_fn and is_gated_act, where written, are what transformers' T5Config keeps
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyT5(seed: 1), Edited("HfT5", "t5-dense-act", c => c["dense_act_fn"] = "gelu")));
        Contains(error.Message, "feed_forward_proj is \"gated-gelu\", dense_act_fn \"gelu\": declare 'dense' with Gated = true, Activation = Activation.Gelu");
        HuggingFace.LoadT5Encoder(new HfTinyT5(seed: 1), Edited("HfT5", "t5-dense-act-new", c => { c["dense_act_fn"] = "gelu_new"; c["is_gated_act"] = true; }));
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyT5(seed: 1), Edited("HfT5", "t5-ungated", c => c["is_gated_act"] = false)));
        Contains(error.Message, "feed_forward_proj is \"gated-gelu\", is_gated_act false: declare 'dense' with Activation = Activation.GeluTanh");
        // UMT5's blocks each read their own table, T5's the first's
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyT5(seed: 1), Fixture.Path("HfUmt5")));
        Contains(error.Message, "model_type is \"umt5\", whose blocks each keep a relative position table of their own: declare every attention with RelativeShared = false");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyUmt5(seed: 1), Fixture.Path("HfT5")));
        Contains(error.Message, "model_type is \"t5\", whose blocks read the first block's relative position table, but the model's layers keep tables of their own");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5Encoder(new HfTinyT5(seed: 1), Fixture.Path("HfMpnet")));
        Contains(error.Message, "model_type is \"mpnet\": LoadT5Encoder reads T5's checkpoints (\"t5\", mT5's \"mt5\", UMT5's \"umt5\")");
    }

    /// <summary>
    /// A whole T5 (T5ForConditionalGeneration as flan-t5's, lm_head its own; transformers' code written out): the teacher-forced
    /// logits of two decoder inputs over a full and a padded source, and greedy decoding from the decoder's cache, are PyTorch's
    /// (its full recompute, token for token); saved as T5ForConditionalGeneration and read back to the same logits; a tied lm_head
    /// (T5 v1.0's), another number of decoder blocks and an encoder–decoder laid out otherwise refused, each named.
    /// </summary>
    [Fact]
    public void AWholeT5GivesTransformersLogitsAndGreedyTokens()
    {
        var model = new HfTinyT5Seq2Seq(seed: 1);
        HuggingFace.LoadT5(model, Fixture.Path("HfT5Generation"));
        var (ids, lengths, decoderIds, logits) = AssertT5Generates(model, "HfT5Generation");
        int batch = lengths.Length, steps = ids.Length / batch, targetSteps = decoderIds.Length / batch;

        string folder = Path.Combine(_temp, "t5-generation-saved");
        HuggingFace.SaveT5(model, folder);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfT5Generation", "model.safetensors"))).Keys.Order(), SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
        using (JsonDocument source = JsonDocument.Parse(File.ReadAllText(Fixture.Path(Path.Combine("HfT5Generation", "config.json")))))
        {
            foreach (string key in (string[])["architectures", "model_type", "vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads",
                "relative_attention_num_buckets", "relative_attention_max_distance", "feed_forward_proj", "tie_word_embeddings", "decoder_start_token_id", "eos_token_id"])
                Assert.Equal(source.RootElement.GetProperty(key).GetRawText(), config.RootElement.GetProperty(key).GetRawText());
        }
        var reloaded = new HfTinyT5Seq2Seq(seed: 9);
        HuggingFace.LoadT5(reloaded, folder);
        Assert.Equal(logits, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths, ParityModel.Span(decoderIds, [batch, targetSteps]))));

        // a tied lm_head that the checkpoint keeps apart from the table is refused, nothing loaded
        var untouched = new HfTinyT5Seq2Seq(seed: 2);
        float[] before = untouched.Parameters["decoder.dense_2.weight"].AsSpan().ToArray();
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5(untouched, Edited("HfT5Generation", "t5-tied", c => c["tie_word_embeddings"] = true)));
        Contains(error.Message, "'lm_head.weight' differs from 'shared.weight', which tie_word_embeddings ties it to");
        Assert.Equal(before, untouched.Parameters["decoder.dense_2.weight"].AsSpan().ToArray());
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5(untouched, Edited("HfT5Generation", "t5-decoder-layers", c => c["num_decoder_layers"] = 3)));
        Contains(error.Message, "num_decoder_layers is 3, the model declares 2 (the decoder's blocks)");
        // without num_decoder_layers, as many as num_layers
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5(untouched, Edited("HfT5Generation", "t5-no-decoder-layers", c => { c.Remove("num_decoder_layers"); c["num_layers"] = 3; })));
        Contains(error.Message, "num_layers is 3, the model declares 2 (its blocks)");
        Contains(error.Message, "num_decoder_layers is 3 (its default), the model declares 2 (the decoder's blocks)");
        // an mT5 configuration's defaults are MT5Config's
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadT5(untouched, Edited("HfT5Generation", "t5-as-mt5", c => { c["model_type"] = "mt5"; c.Remove("d_ff"); c.Remove("num_heads"); })));
        Contains(error.Message, "d_ff is 1024 (its default)");
        Contains(error.Message, "num_heads is 6 (its default)");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadT5(new GcLlamaSeq2Seq(seed: 1), Fixture.Path("HfT5Generation")));
        Contains(layout.Message, "is not laid out as T5's encoder");
    }

    /// <summary>
    /// T5 v1.0's tied lm_head (HfT5Tied: tie_word_embeddings left at its default, no lm_head tensor, the decoder's output times
    /// d_model^−0.5 before the table): it loads into the head's own weight with PyTorch's logits and greedy tokens, and saves as an
    /// untied T5 with the same logits.
    /// </summary>
    [Fact]
    public void T5v1sTiedHeadLoadsAsTheTableScaled()
    {
        var model = new HfTinyT5v1Seq2Seq(seed: 1);
        HuggingFace.LoadT5(model, Fixture.Path("HfT5Tied"));
        var (ids, lengths, decoderIds, logits) = AssertT5Generates(model, "HfT5Tied");
        float[] table = model.Parameters["encoder.embedding.weight"].AsSpan().ToArray();
        Assert.Equal(table.Select(v => v * 0.25f), model.Parameters["decoder.dense_2.weight"].AsSpan().ToArray());
        string folder = Path.Combine(_temp, "t5-tied-saved");
        HuggingFace.SaveT5(model, folder);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
            Assert.False(config.RootElement.GetProperty("tie_word_embeddings").GetBoolean());
        var reloaded = new HfTinyT5v1Seq2Seq(seed: 9);
        HuggingFace.LoadT5(reloaded, folder);
        int batch = lengths.Length;
        Assert.Equal(logits, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, ids.Length / batch]), lengths, ParityModel.Span(decoderIds, [batch, decoderIds.Length / batch]))));
    }

    /// <summary>
    /// A T5 fixture's teacher-forced logits and each source's greedy decoding (startToken 0, end 1, 12 tokens at most) against
    /// <paramref name="model"/>'s; returns the inputs and the logits.
    /// </summary>
    private static (int[] Ids, int[] Lengths, int[] DecoderIds, float[] Logits) AssertT5Generates<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model, string fixture)
        where TEncoder : IEncoder<int>
        where TDecoder : IModel<int>
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path(fixture + ".expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32(), decoderIds = expected["decoder_ids"].ToInt32(), greedy = expected["greedy"].ToInt32();
        int batch = lengths.Length, steps = ids.Length / batch, targetSteps = decoderIds.Length / batch;
        float[] logits = ParityModel.Flatten(model.Forward(ParityModel.Span(ids, [batch, steps]), lengths, ParityModel.Span(decoderIds, [batch, targetSteps])));
        Tolerance.AssertClose(expected["logits"].ToFloat(), logits, $"{fixture}: the teacher-forced logits");
        for (int b = 0; b < batch; b++)
        {
            var source = ParityModel.Span(ids.AsSpan(b * steps, lengths[b]).ToArray(), [1, lengths[b]]);
            int[] tokens = model.Greedy(source, startToken: 0, maxLength: 12, endToken: 1);
            Assert.Equal(greedy.Skip(b * 12).Take(12).TakeWhile(t => t >= 0).ToArray(), tokens);
            // a beam of one is greedy decoding (the decoder's cache reordered each step)
            Assert.Equal(tokens, model.Beam(source, startToken: 0, beamWidth: 1, maxLength: 12, endToken: 1)[0].Tokens);
        }
        return (ids, lengths, decoderIds, logits);
    }

    /// <summary>
    /// ModernBERT (ModernBertModel, as transformers computes it: pre-norm layers without biases, rotary positions of two bases, the
    /// local layers over a window on both sides, GeGLU feed-forwards): its last hidden state on every valid step, and its mean
    /// over them (an embedding model's pooling), are PyTorch's; a model whose layers differ from the configuration's types, and
    /// other layouts, refused, named.
    /// </summary>
    [Fact]
    public void ModernBertsLastHiddenStateIsTransformers()
    {
        var model = new HfTinyModernBert(seed: 1);
        HuggingFace.LoadModernBert(model, Fixture.Path("HfModernBert"));
        var (ids, lengths, batch, steps) = AssertEncoderOutputs(model, "HfModernBert");

        // the task models' heads: a classifier on the mean of the valid steps, the masked-LM decoder on every step
        var classifier = new HfTinyModernBertClassifier(seed: 1);
        HuggingFace.LoadModernBert(classifier, Fixture.Path("HfModernBertClassifier"));
        AssertHead(classifier, "HfModernBertClassifier", "logits");
        Assert.Equal(["negative", "neutral", "positive"], HuggingFace.LoadLabels(Fixture.Path("HfModernBertClassifier")));
        var maskedLm = new HfTinyModernBertMaskedLM(seed: 1);
        HuggingFace.LoadModernBert(maskedLm, Fixture.Path("HfModernBertMaskedLM"));
        float[] logits = SafeTensors.Read(Fixture.Path("HfModernBertMaskedLM.expected.safetensors"))["logits"].ToFloat();
        float[] predicted = ParityModel.Flatten(maskedLm.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(logits.AsSpan(b * steps * 13, lengths[b] * 13), predicted.AsSpan(b * steps * 13, lengths[b] * 13), $"sequence {b}'s masked-LM logits");
        // a base checkpoint leaves the head the model's own; a head of another pooling, or another task's, refused
        var fresh = new HfTinyModernBertClassifier(seed: 2);
        float[] own = fresh.Parameters["dense_8.weight"].AsSpan().ToArray();
        HuggingFace.LoadModernBert(fresh, Fixture.Path("HfModernBert"));
        Assert.Equal(own, fresh.Parameters["dense_8.weight"].AsSpan().ToArray());
        Assert.Equal(classifier.Parameters["embedding.weight"].AsSpan().ToArray(), fresh.Parameters["embedding.weight"].AsSpan().ToArray());
        var wrongTask = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadModernBert(new HfTinyModernBertMaskedLM(seed: 3), Fixture.Path("HfModernBertClassifier")));
        Contains(wrongTask.Message, "architectures is [\"ModernBertForSequenceClassification\"]: the model's head after 'dense_8' is ModernBertForMaskedLM's");

        // saved as ModernBertModel, ModernBertForSequenceClassification and ModernBertForMaskedLM, each under the fixture's names,
        // and read back to the same outputs
        foreach (var (saved, fixture, labels) in new (IModel<int>, string, string[]?)[] { (model, "HfModernBert", null), (classifier, "HfModernBertClassifier", ["negative", "neutral", "positive"]),
            (maskedLm, "HfModernBertMaskedLM", null) })
        {
            string folder = Path.Combine(_temp, fixture + "-saved");
            HuggingFace.SaveModernBert(saved, folder, labels);
            Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine(fixture, "model.safetensors"))).Keys.Order(), SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
            using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            using JsonDocument original = JsonDocument.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))));
            foreach (string key in (string[])["architectures", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "norm_bias", "local_attention", "global_attn_every_n_layers"])
                Assert.Equal(original.RootElement.GetProperty(key).GetRawText().Replace(" ", "").Replace("\n", ""), config.RootElement.GetProperty(key).GetRawText().Replace(" ", "").Replace("\n", ""));
            Assert.Equal(["full_attention", "sliding_attention", "sliding_attention", "full_attention"], config.RootElement.GetProperty("layer_types").EnumerateArray().Select(t => t.GetString()));
            IModel<int> reloaded = (IModel<int>)Activator.CreateInstance(saved.GetType(), 9)!;
            HuggingFace.LoadModernBert(reloaded, folder);
            Assert.Equal(ParityModel.Flatten(saved.Forward(ParityModel.Span(ids, [batch, steps]), lengths)), ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths)));
        }
        Assert.Equal(["negative", "neutral", "positive"], HuggingFace.LoadLabels(Path.Combine(_temp, "HfModernBertClassifier-saved")));
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveModernBert(maskedLm, Path.Combine(_temp, "mlm"), ["a"])).Message,
            "SaveModernBert: labels given, but HfTinyModernBertMaskedLM has no classifier after its final norm.");

        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadModernBert(new HfTinyModernBertGlobal(seed: 1), Fixture.Path("HfModernBert")));
        Contains(error.Message, "layer 1 is local (global_attn_every_n_layers 3: layers 0, 3, 6, … are global): declare 'attention_1' with SlidingWindow = 4 (local_attention: the keys within 2 steps on either side)");
        Contains(error.Message, "declare 'attention_1' with RotaryBase = 10000f (local_rope_theta), not 160000");
        var layout = Assert.Throws<ArgumentException>(() => HuggingFace.LoadModernBert(new HfTinyBert(seed: 1), Fixture.Path("HfModernBert")));
        Contains(layout.Message, "is not laid out as ModernBERT");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadModernBert(model, Fixture.Path("HfBert")));
        Contains(error.Message, "model_type is \"bert\": LoadModernBert reads ModernBERT's checkpoints (\"modernbert\")");
    }

    /// <summary>
    /// NomicBERT (nomic-embed-text-v1.5's NomicBertModel, as nomic's modeling_hf_nomic_bert computes it: post-norm blocks, rotary
    /// attention, a SwiGLU MLP): its last hidden state on every valid step and its mean pooling are PyTorch's, with the token
    /// types folded into the words, and with a pair's types counted over [SEP] and half of each head turned; a model of other
    /// options refused, named.
    /// </summary>
    [Fact]
    public void NomicBertsLastHiddenStateIsNomics()
    {
        void Check(IModel<int> model, string fixture)
        {
            HuggingFace.LoadNomicBert(model, Fixture.Path(fixture));
            AssertEncoderOutputs(model, fixture);
        }
        Check(new HfTinyNomicBert(seed: 1), "HfNomicBert");
        Check(new HfTinyNomicBertPair(seed: 1), "HfNomicBertPair");

        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadNomicBert(new HfTinyNomicBertPair(seed: 1), Fixture.Path("HfNomicBert")));
        Contains(error.Message, "rotary_emb_fraction is 1: each head's first 4 of 4 values turn; declare 'attention' with no RotaryDimensions");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadNomicBert(new HfTinyNomicBert(seed: 1), Fixture.Path("HfBert")));
        Contains(error.Message, "model_type is \"bert\": LoadNomicBert reads NomicBERT's checkpoints (\"nomic_bert\")");
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.LoadNomicBert(new HfTinyModernBert(seed: 1), Fixture.Path("HfNomicBert"))).Message, "is not laid out as NomicBERT");
    }

    /// <summary>
    /// A fixture's checkpoint under a configuration edited by <paramref name="edit"/>, in a folder of its own: the weights copied,
    /// the config.json rewritten.
    /// </summary>
    private string Edited(string fixture, string name, Action<JsonObject> edit)
    {
        string folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        File.Copy(Fixture.Path(Path.Combine(fixture, "model.safetensors")), Path.Combine(folder, "model.safetensors"), overwrite: true);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Fixture.Path(Path.Combine(fixture, "config.json"))))!;
        edit(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        return folder;
    }

    /// <summary>
    /// What the remote code and ModernBertConfig make of options the fixtures leave at one value: NomicBERT's ungated MLP takes the
    /// exact GELU whatever GELU its configuration names, its gated MLP rounds n_inner up to 256, a rotary_scaling_factor of 0 scales
    /// nothing; ModernBERT's local layers turn by the global base where local_rope_theta is null.
    /// </summary>
    [Fact]
    public void ConfigurationsAreReadAsTheirModelsReadThem()
    {
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadNomicBert(new HfTinyNomicBert(seed: 1),
            Edited("HfNomicBert", "nomic-gelu-new", c => c["activation_function"] = "gelu_new")));
        Contains(error.Message, "activation_function is \"gelu_new\": declare 'dense' with Activation = Activation.Gelu");
        var rounded = new HfTinyNomicBert(seed: 1);
        HuggingFace.LoadNomicBert(rounded, Edited("HfNomicBert", "nomic-inner-200", c => { c["n_inner"] = 200; c["rotary_scaling_factor"] = 0; }));
        var loaded = new HfTinyNomicBert(seed: 2);
        HuggingFace.LoadNomicBert(loaded, Fixture.Path("HfNomicBert"));
        Assert.Equal(loaded.Parameters["dense.weight"].AsSpan().ToArray(), rounded.Parameters["dense.weight"].AsSpan().ToArray());
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadNomicBert(new HfTinyNomicBert(seed: 1),
            Edited("HfNomicBert", "nomic-inner-300", c => c["n_inner"] = 300)));
        Contains(error.Message, "n_inner is 300 (512 rows as the MLP makes them), the model declares 256 ('dense')");

        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadModernBert(new HfTinyModernBert(seed: 1),
            Edited("HfModernBert", "modernbert-local-null", c => c["local_rope_theta"] = null)));
        Contains(error.Message, "layer 1 is local (global_attn_every_n_layers 3: layers 0, 3, 6, … are global): declare 'attention_1' with RotaryBase = 160000f (local_rope_theta), not 10000");
    }

    /// <summary>
    /// A cross-encoder (BertForSequenceClassification of one label over pairs, [CLS] A [SEP] B [SEP]): its token types load into
    /// a [TokenTypeEmbedding] over [SEP], and its scores and last hidden state are PyTorch's given the tokenizer's token_type_ids
    /// (the fixture's, written by position); without the layer the second segment reads type 0 and the scores differ. Saved
    /// with its token types and read back; a model of other types, and DistilBERT's checkpoint (none), refused.
    /// </summary>
    [Fact]
    public void ACrossEncodersScoresReadTheTokenTypes()
    {
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfBertCrossEncoder.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32(), types = expected["token_types"].ToInt32();
        int batch = lengths.Length, steps = ids.Length / batch;
        Assert.Contains(1, types);
        var crossEncoder = new HfTinyBertCrossEncoder(seed: 1);
        HuggingFace.LoadBert(crossEncoder, Fixture.Path("HfBertCrossEncoder"));
        AssertHead(crossEncoder, "HfBertCrossEncoder", "logits");
        Assert.Equal(["LABEL_0"], HuggingFace.LoadLabels(Fixture.Path("HfBertCrossEncoder")));
        // the encoder alone, its types declared before the positions: the last hidden state on every valid step
        var encoder = new HfTinyBertTypes(seed: 1);
        HuggingFace.LoadBert(encoder, Fixture.Path("HfBertCrossEncoder"));
        float[] hidden = expected["hidden"].ToFloat(), actual = ParityModel.Flatten(encoder.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(hidden.AsSpan(b * steps * 16, lengths[b] * 16), actual.AsSpan(b * steps * 16, lengths[b] * 16), $"pair {b}'s valid steps");

        // without the layer every token reads type 0's row: the pairs' pooled vectors are not PyTorch's
        var folded = new HfTinyBertPooler(seed: 1);
        HuggingFace.LoadBert(folded, Fixture.Path("HfBertCrossEncoder"));
        float[] foldedPooled = ParityModel.Flatten(folded.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        Assert.True(foldedPooled.Zip(expected["pooler_output"].ToFloat()).Max(p => Math.Abs(p.First - p.Second)) > 1e-2f, "the pooler's outputs without the token types should differ");

        // saved as BertForSequenceClassification with its token types and read back
        string folder = Path.Combine(_temp, "bert-cross-encoder-saved");
        HuggingFace.SaveBert(crossEncoder, folder);
        Dictionary<string, SafeTensor> saved = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBertCrossEncoder", "model.safetensors"))).Keys.Where(k => k != "bert.embeddings.position_ids").Order(), saved.Keys.Order());
        Assert.Equal(crossEncoder.Parameters["tokentypeembedding.weight"].AsSpan().ToArray(), saved["bert.embeddings.token_type_embeddings.weight"].ToFloat());
        var reloaded = new HfTinyBertCrossEncoder(seed: 9);
        HuggingFace.LoadBert(reloaded, folder);
        AssertHead(reloaded, "HfBertCrossEncoder", "logits");

        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBertThreeTypes(seed: 1), Fixture.Path("HfBertCrossEncoder")));
        Contains(error.Message, "type_vocab_size");
        Contains(error.Message, "'tokentypeembedding' types");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBertTypes(seed: 1), Fixture.Path("HfDistilBert")));
        Contains(error.Message, "DistilBERT has no token types, but the model declares 'tokentypeembedding' ([TokenTypeEmbedding])");
    }

    /// <summary>
    /// An extractive answerer (BertForQuestionAnswering: qa_outputs on every token of [CLS] question [SEP] context [SEP], its token
    /// types read): each valid token's start and end logits are PyTorch's, and the best span of the context is the one found by
    /// trying every span; a checkpoint of another head leaves it the model's own; saved as BertForQuestionAnswering and read back;
    /// a head that is no qa_outputs, and labels for one, refused.
    /// </summary>
    [Fact]
    public void AnAnswerersStartAndEndLogits()
    {
        var answerer = new HfTinyBertQuestionAnswering(seed: 1);
        HuggingFace.LoadBert(answerer, Fixture.Path("HfBertQuestionAnswering"));
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfBertQuestionAnswering.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        float[] logits = expected["logits"].ToFloat();
        int batch = lengths.Length, steps = ids.Length / batch;
        float[] actual = ParityModel.Flatten(answerer.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(logits.AsSpan(b * steps * 2, lengths[b] * 2), actual.AsSpan(b * steps * 2, lengths[b] * 2), $"sequence {b}'s valid steps");
        Assert.Null(HuggingFace.LoadLabels(Fixture.Path("HfBertQuestionAnswering")));

        // the answer in the first pair's context (after its first [SEP] at 3, before its last at 6): every span tried by hand
        float[] first = actual[..(steps * 2)];
        AnswerSpan span = AnswerSpans.Best(first, contextStart: 4, contextEnd: 6, maxAnswerLength: 2);
        var (bestStart, bestEnd) = (from s in Enumerable.Range(4, 2) from e in Enumerable.Range(s, 6 - s) select (s, e))
            .MaxBy(p => actual[2 * p.s] + actual[2 * p.e + 1]);
        Assert.Equal((bestStart, bestEnd), (span.Start, span.End));
        double Softmax(int at, int column) => Math.Exp(actual[2 * at + column]) / Enumerable.Range(4, 2).Sum(t => Math.Exp(actual[2 * t + column]));
        Assert.Equal(Softmax(span.Start, 0) * Softmax(span.End, 1), span.Probability, 5);
        Assert.Equal(new AnswerSpan(4, 4, 1f), AnswerSpans.Best(first, 4, 5));
        Assert.Throws<ArgumentException>(() => AnswerSpans.Best(first, 5, 5));
        Assert.Throws<ArgumentException>(() => AnswerSpans.Best(first[..3], 0, 1));
        // the context found by the separators ([CLS]=1 question [SEP]=2 context [SEP]=2): the same span
        Assert.Equal(AnswerSpans.Best(first, 4, 6), AnswerSpans.InPair(first, ids.AsSpan(0, steps), separator: 2, lengths[0]));
        Assert.Equal(AnswerSpans.Best(actual.AsSpan(steps * 2, steps * 2), 3, 4), AnswerSpans.InPair(actual.AsSpan(steps * 2, steps * 2), ids.AsSpan(steps, steps), 2, lengths[1]));
        Contains(Assert.Throws<ArgumentException>(() => AnswerSpans.InPair(first, ids.AsSpan(0, steps), separator: 12, lengths[0])).Message, "got no separator in the 7 ids");

        // a checkpoint of another head (a cross-encoder's classifier on the first token): the answerer's qa_outputs its own
        var fresh = new HfTinyBertQuestionAnswering(seed: 2);
        float[] own = fresh.Parameters["dense_4.weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(fresh, Fixture.Path("HfBertCrossEncoder"));
        Assert.Equal(own, fresh.Parameters["dense_4.weight"].AsSpan().ToArray());

        string folder = Path.Combine(_temp, "bert-answerer-saved");
        HuggingFace.SaveBert(answerer, folder, questionAnswering: true);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBertQuestionAnswering", "model.safetensors"))).Keys.Where(k => k != "bert.embeddings.position_ids").Order(),
            SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
        string config = File.ReadAllText(Path.Combine(folder, "config.json"));
        Contains(config, "\"BertForQuestionAnswering\"");
        Assert.DoesNotContain("id2label", config, StringComparison.Ordinal);
        var reloaded = new HfTinyBertQuestionAnswering(seed: 9);
        HuggingFace.LoadBert(reloaded, folder);
        Assert.Equal(actual, ParityModel.Flatten(reloaded.Forward(ParityModel.Span(ids, [batch, steps]), lengths)));
        // saved as a tagger of two labels, the same head is the classifier
        HuggingFace.SaveBert(answerer, folder);
        Contains(File.ReadAllText(Path.Combine(folder, "config.json")), "\"BertForTokenClassification\"");
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(answerer, folder, ["start", "end"], questionAnswering: true)).Message,
            "labels given for BertForQuestionAnswering");
        Contains(Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(new HfTinyBertCrossEncoder(seed: 1), folder, questionAnswering: true)).Message,
            "BertForQuestionAnswering holds a [Dense(2)] on every token right after the encoder (qa_outputs: each token's start and end logits); HfTinyBertCrossEncoder has 'dense_5' of 1 output on the first token");
    }

    /// <summary>
    /// A named-entity tagger (BertForTokenClassification: the encoder under bert., no pooler, a classifier on every token): its
    /// logits on every valid step are PyTorch's; a base checkpoint leaves the tagger the model's own (no …ForTokenClassification
    /// in its architectures); saved as BertForTokenClassification with its labels and read back.
    /// </summary>
    [Fact]
    public void ATokenClassifiersLogitsOnEveryToken()
    {
        var tagger = new HfTinyBertTokenClassifier(seed: 1);
        HuggingFace.LoadBert(tagger, Fixture.Path("HfBertTokenClassifier"));
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfBertTokenClassifier.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        float[] logits = expected["logits"].ToFloat();
        int batch = lengths.Length, steps = ids.Length / batch;
        float[] actual = ParityModel.Flatten(tagger.Forward(ParityModel.Span(ids, [batch, steps]), lengths));
        for (int b = 0; b < batch; b++)
            Tolerance.AssertClose(logits.AsSpan(b * steps * 5, lengths[b] * 5), actual.AsSpan(b * steps * 5, lengths[b] * 5), $"sequence {b}'s valid steps");
        string[] labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
        Assert.Equal(labels, HuggingFace.LoadLabels(Fixture.Path("HfBertTokenClassifier")));

        var fresh = new HfTinyBertTokenClassifier(seed: 2);
        float[] own = fresh.Parameters["dense_4.weight"].AsSpan().ToArray();
        HuggingFace.LoadBert(fresh, Fixture.Path("HfBert"));
        Assert.Equal(own, fresh.Parameters["dense_4.weight"].AsSpan().ToArray());

        string folder = Path.Combine(_temp, "bert-tagger-saved");
        HuggingFace.SaveBert(tagger, folder, labels);
        Assert.Equal(SafeTensors.Read(Fixture.Path(Path.Combine("HfBertTokenClassifier", "model.safetensors"))).Keys.Where(k => k != "bert.embeddings.position_ids").Order(),
            SafeTensors.Read(Path.Combine(folder, "model.safetensors")).Keys.Order());
        Contains(File.ReadAllText(Path.Combine(folder, "config.json")), "\"BertForTokenClassification\"");
        Assert.Equal(labels, HuggingFace.LoadLabels(folder));
        var reloaded = new HfTinyBertTokenClassifier(seed: 3);
        HuggingFace.LoadBert(reloaded, folder);
        Assert.Equal(tagger.Parameters.Select(p => p.AsSpan().ToArray()), reloaded.Parameters.Select(p => p.AsSpan().ToArray()));
    }

    /// <summary>
    /// RoBERTa's encoder (RobertaForMaskedLM's checkpoint: the roberta. prefix, the masked-LM head left): BERT's layers with the
    /// position table read from the padding id + 1 on; a table of other rows refused, naming RoBERTa's offset.
    /// </summary>
    [Fact]
    public void ARobertaCheckpointGivesItsLastHiddenState()
    {
        var model = new HfTinyRoberta(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfRoberta"));
        AssertBertHidden(model, "HfRoberta");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 2), Fixture.Path("HfRoberta")));
        Contains(error.Message, "max_position_embeddings is 32, the model declares 34 ('positionembedding' maxLength 32 + RoBERTa's 2 rows before position 0)");
        Contains(error.Message, "layer_norm_eps is 1E-05, the model declares 1E-12");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyRoberta(seed: 2), BertCopy((_, config) => config["pad_token_id"] = 0, "roberta-pad", "HfRoberta")));
        Contains(error.Message, "max_position_embeddings is 32, the model declares 31 ('positionembedding' maxLength 30 + RoBERTa's 1 row before position 0)");
    }

    /// <summary>
    /// DistilBERT's encoder (DistilBertForSequenceClassification's checkpoint: the distilbert. prefix, its own names, no token
    /// types, the classifier left) into BERT's layers; its configuration's own keys checked, its norms' ε fixed at 1e-12.
    /// </summary>
    [Fact]
    public void ADistilBertCheckpointGivesItsLastHiddenState()
    {
        var model = new HfTinyBert(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfDistilBert"));
        AssertBertHidden(model, "HfDistilBert");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyRoberta(seed: 2), BertCopy((_, config) =>
        {
            config["n_heads"] = 2;
            config["activation"] = "relu";
        }, "distil-other", "HfDistilBert")));
        Contains(error.Message, "n_heads is 2, the model declares 4 ('attention')");
        Contains(error.Message, "activation is \"relu\": declare 'dense' with Activation = Activation.Relu");
        Contains(error.Message, "max_position_embeddings is 32, the model declares 30 ('positionembedding' maxLength)");
        Contains(error.Message, "DistilBERT's norms take ε 1e-12, the model declares 1E-05 ('layernorm' Epsilon)");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 2), BertCopy((tensors, _) =>
            tensors.Remove("distilbert.transformer.layer.1.ffn.lin2.bias"), "distil-missing", "HfDistilBert")));
        Contains(error.Message, "missing tensor 'transformer.layer.1.ffn.lin2.bias' [16] (for 'dense_3.bias')");
    }

    /// <summary>
    /// GPT-2's and BERT's layers with their dropouts declared for fine-tuning ([Dropout] after the embeddings and before each
    /// residual, the attention's own on its weights) load as without them (the identity at inference), train, and save the same
    /// checkpoint.
    /// </summary>
    [Fact]
    public void DropoutsForFineTuningStandInGpt2sAndBertsLayouts()
    {
        var gpt2 = new HfTinyGpt2Dropout(seed: 1);
        HuggingFace.LoadGpt2(gpt2, Fixture.Path("HfGpt2"));
        AssertLogits(gpt2, "HfGpt2");
        var plain = new HfTinyGpt2(seed: 2);
        HuggingFace.LoadGpt2(plain, Fixture.Path("HfGpt2"));
        string folder = Path.Combine(_temp, "gpt2-dropout");
        HuggingFace.SaveGpt2(gpt2, folder);
        HuggingFace.LoadGpt2(plain, folder);
        AssertLogits(plain, "HfGpt2");
        int[] tokens = [1, 5, 2, 7, 3, 11, 0, 4];
        float loss = gpt2.Backward(ParityModel.Span(tokens, [2, 4]), ParityModel.Span(tokens.Reverse().ToArray(), [2, 4]));
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");

        var bert = new HfTinyBertDropout(seed: 1);
        HuggingFace.LoadBert(bert, Fixture.Path("HfBert"));
        AssertBertHidden(bert);
        var error = Assert.Throws<ArgumentException>(() => HuggingFace.LoadBert(new HfTinyGpt2Dropout(seed: 3), Fixture.Path("HfBert")));
        Assert.StartsWith("HfTinyGpt2Dropout is not laid out as BERT: layer 2", error.Message);
    }

    /// <summary>
    /// ELECTRA's encoder (ElectraForSequenceClassification's checkpoint: the electra. prefix, the classifier left): BERT's layers
    /// after embeddings narrower than them, projected by embeddings_project, declared as a Dense after the embeddings' norm; a
    /// projection missing or where no ELECTRA is, refused; not written as BertModel.
    /// </summary>
    [Fact]
    public void AnElectraCheckpointGivesItsLastHiddenState()
    {
        var model = new HfTinyElectra(seed: 1);
        HuggingFace.LoadBert(model, Fixture.Path("HfElectra"));
        AssertBertHidden(model, "HfElectra");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyBert(seed: 2), Fixture.Path("HfElectra")));
        Contains(error.Message, "embedding_size is 8, the model declares 16 ('embedding')");
        error = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadBert(new HfTinyElectra(seed: 2), Fixture.Path("HfBert")));
        Contains(error.Message, "model_type is \"bert\": no projection follows the embeddings' norm, but 'dense' maps them to 16");
        var unsaved = Assert.Throws<ArgumentException>(() => HuggingFace.SaveBert(model, Path.Combine(_temp, "electra-saved")));
        Contains(unsaved.Message, "'dense' projects the embeddings to the layers' width (ELECTRA's embeddings_project), which BertModel has not");
    }

    [Fact]
    public void AModelNotLaidOutAsLlamaIsRefusedAtItsFirstDifferingLayer()
    {
        // RotaryBlock is LLaMA's block but for its feed-forward, a plain SiLU layer where LLaMA's is gated
        var error = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new RotaryBlock(seed: 7), Fixture.Path("HfLlama")));
        Assert.StartsWith("RotaryBlock is not laid out as LLaMA: layer 5 ('dense', Dense(40, Activation = Silu)) is where decoder layer 0's gate_proj and up_proj", error.Message);
        // AttentionWithoutBias has no norm before its attention
        error = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new AttentionWithoutBias(seed: 7), Fixture.Path("HfLlama")));
        Assert.StartsWith("AttentionWithoutBias is not laid out as LLaMA: layer 1 ('attention', Attention(Heads = 2, Score = ScaledDot, Causal = true, Rotary = true, Bias = false)) is where decoder layer 0's input_layernorm", error.Message);
        // LlamaBlock is laid out as LLaMA, with other sizes than the checkpoint's
        var sized = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadLlama(new LlamaBlock(seed: 7), Fixture.Path("HfLlama")));
        Contains(sized.Message, "vocab_size is 17, the model declares 13 ('embedding')");
        error = Assert.Throws<ArgumentException>(() => HuggingFace.LoadLlama(new GcRotary(seed: 7), Fixture.Path("HfLlama")));
        Contains(error.Message, "GcRotary is not laid out as LLaMA: layer 0");
        Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadLlama(new HfTinyLlama(seed: 7), Path.Combine(_temp, "nothing here")));
    }
}
