using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="HuggingFace.LoadPooling"/>: a sentence-transformers folder's modules.json and Pooling config read into the
/// pooling its embeddings take (mean, CLS, last token; normalised where a Normalize module follows), applied as
/// <see cref="Pooling"/> applies it; the modules and modes not read here refused, naming them.
/// </summary>
public sealed class SentencePoolingTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-pooling-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Folder(string name, string modules, string? pooling)
    {
        string folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        File.WriteAllText(Path.Combine(folder, "modules.json"), modules);
        if (pooling is not null) File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), pooling);
        return folder;
    }

    private const string Transformer = """{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}""";
    private const string Pool = """{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}""";
    private const string Normalize = """{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}""";

    private static string Modes(string on) =>
        $$"""{"word_embedding_dimension": 2, "pooling_mode_cls_token": {{(on == "cls" ? "true" : "false")}}, "pooling_mode_mean_tokens": {{(on == "mean" ? "true" : "false")}}, "pooling_mode_max_tokens": {{(on == "max" ? "true" : "false")}}, "pooling_mode_lasttoken": {{(on == "last" ? "true" : "false")}}}""";

    [Fact]
    public void MeanClsAndLastTokenPoolingAreReadAndApplied()
    {
        // all-MiniLM-L6-v2's: mean pooling, then Normalize
        SentencePooling mean = HuggingFace.LoadPooling(Folder("minilm", $"[{Transformer}, {Pool}, {Normalize}]", Modes("mean")));
        Assert.Equal(new SentencePooling(PoolKind.Mean, true), mean);
        Assert.Equal(new SentencePooling(PoolKind.First, false), HuggingFace.LoadPooling(Folder("cls", $"[{Transformer}, {Pool}]", Modes("cls"))));
        Assert.Equal(new SentencePooling(PoolKind.Last, true), HuggingFace.LoadPooling(Folder("last", $"[{Transformer}, {Pool}, {Normalize}]", Modes("last"))));
        Assert.Equal(new SentencePooling(PoolKind.Max, false), HuggingFace.LoadPooling(Folder("max", $"[{Transformer}, {Pool}]", Modes("max"))));

        Tensor<float> hidden = Tensor.Create(new float[] { 1, 2, 3, 4, 5, 6, /* */ 3, 4, 1, 0, 1000, 1000 }, [2, 3, 2]);
        int[] lengths = [3, 2];
        Assert.Equal(Parity.ParityModel.Flatten(Pooling.Mean(hidden, lengths, normalize: true)), Parity.ParityModel.Flatten(mean.Apply(hidden, lengths)));
        Assert.Equal(Parity.ParityModel.Flatten(Pooling.First(hidden)), Parity.ParityModel.Flatten(new SentencePooling(PoolKind.First, false).Apply(hidden, lengths)));
        Assert.Equal([5f, 6f, 1f, 0f], Parity.ParityModel.Flatten(new SentencePooling(PoolKind.Last, false).Apply(hidden, lengths)));
        // each feature's largest over the valid steps (the padded 1000s read by none); over every step without lengths
        Assert.Equal([5f, 6f, 3f, 4f], Parity.ParityModel.Flatten(new SentencePooling(PoolKind.Max, false).Apply(hidden, lengths)));
        Assert.Equal([5f, 6f, 1000f, 1000f], Parity.ParityModel.Flatten(Pooling.Max(hidden, default)));
        float[] unit = Parity.ParityModel.Flatten(Pooling.Max(hidden, lengths, normalize: true));
        Assert.Equal(5f / MathF.Sqrt(61f), unit[0], 6);
    }

    /// <summary>
    /// sentence-t5's layout: T5's encoder at the folder's root, the mean, two Dense modules (LaBSE's kind, tanh with a bias, then
    /// sentence-t5's projection without one) and Normalize give the embeddings SentenceTransformer.encode gives
    /// (HfSentenceT5, written by make_fixtures.py).
    /// </summary>
    [Fact]
    public void DenseModulesAfterThePoolingGiveSentenceTransformersEmbeddings()
    {
        string folder = Fixture.Path("HfSentenceT5");
        var encoder = new Models.HfTinyT5(seed: 1);
        HuggingFace.LoadT5Encoder(encoder, folder);
        SentencePooling pooling = HuggingFace.LoadPooling(folder);
        Assert.Equal([(16, 12, Activation.Tanh, 12), (12, 8, Activation.None, 0)], pooling.Dense.Select(d => (d.In, d.Out, d.Activation, d.Bias.Length)));
        Assert.True(pooling.Normalize);
        Dictionary<string, SafeTensor> expected = SafeTensors.Read(Fixture.Path("HfSentenceT5.expected.safetensors"));
        int[] ids = expected["ids"].ToInt32(), lengths = expected["lengths"].ToInt32();
        Tensor<float> hidden = encoder.Forward(Parity.ParityModel.Span(ids, [lengths.Length, ids.Length / lengths.Length]), lengths);
        Tensor<float> embeddings = pooling.Apply(hidden, lengths);
        Assert.Equal([2, 8], embeddings.Lengths.ToArray().Select(l => (int)l));
        Tolerance.AssertClose(expected["embeddings"].ToFloat(), Parity.ParityModel.Flatten(embeddings), "sentence-t5's embeddings");
        // the Dense layers' outputs, each row divided by its norm last; and a second load is the same pooling, value for value
        float[] unnormalised = Parity.ParityModel.Flatten((pooling with { Normalize = false }).Apply(hidden, lengths)), normalised = Parity.ParityModel.Flatten(embeddings);
        for (int b = 0; b < 2; b++)
        {
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(unnormalised.AsSpan(b * 8, 8));
            Assert.True(Math.Abs(norm - 1f) > 1e-3f, "the Dense layers' outputs were already of unit norm: the test would not see the normalisation");
            for (int j = 0; j < 8; j++) Assert.Equal(unnormalised[b * 8 + j] / norm, normalised[b * 8 + j], 5);
        }
        Assert.Equal(pooling, HuggingFace.LoadPooling(folder));
    }

    /// <summary>A Dense module out of place, without its weights in safetensors, of another activation or of sizes its weights or its neighbour do not have is refused, named.</summary>
    [Fact]
    public void DenseModulesNotReadHereAreRefused()
    {
        string Dense(int index, string path) => $$"""{"idx": {{index}}, "name": "{{index}}", "path": "{{path}}", "type": "sentence_transformers.models.Dense"}""";
        string WithDense(string name, string modules, params (string Path, string Config, Dictionary<string, float[]>? Weights, bool Bin)[] layers)
        {
            string folder = Folder(name, modules, Modes("mean"));
            foreach (var (path, config, weights, bin) in layers)
            {
                Directory.CreateDirectory(Path.Combine(folder, path));
                File.WriteAllText(Path.Combine(folder, path, "config.json"), config);
                if (bin) File.WriteAllBytes(Path.Combine(folder, path, "pytorch_model.bin"), [0]);
                if (weights is not null)
                    SafeTensors.Write(Path.Combine(folder, path, "model.safetensors"),
                        weights.Select(w => (w.Key, (ReadOnlyMemory<int>)(w.Key.EndsWith("weight", StringComparison.Ordinal) ? new[] { w.Value.Length / 2, 2 } : new[] { w.Value.Length }), (ReadOnlyMemory<float>)w.Value)));
            }
            return folder;
        }
        const string TwoToThree = """{"in_features": 2, "out_features": 3, "bias": true, "activation_function": "torch.nn.modules.activation.Tanh"}""";
        var good = new Dictionary<string, float[]> { ["linear.weight"] = new float[6], ["linear.bias"] = new float[3] };
        Contains<InvalidDataException>(() => HuggingFace.LoadPooling(WithDense("before", $"[{Transformer}, {Dense(1, "1_Dense")}, {Pool}]", ("1_Dense", TwoToThree, good, false))),
            "module \"sentence_transformers.models.Dense\" at '1_Dense' stands before the Pooling module");
        Contains<InvalidDataException>(() => HuggingFace.LoadPooling(WithDense("afternorm", $"[{Transformer}, {Pool}, {Normalize}, {Dense(3, "3_Dense")}]", ("3_Dense", TwoToThree, good, false))),
            "stands after the Normalize module");
        Contains<FileNotFoundException>(() => HuggingFace.LoadPooling(WithDense("bin", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}]", ("2_Dense", TwoToThree, null, true))),
            "holds the Dense module's weights as pytorch_model.bin (a pickle, not read here)");
        Contains<InvalidDataException>(() => HuggingFace.LoadPooling(WithDense("act", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}]",
            ("2_Dense", TwoToThree.Replace("activation.Tanh", "activation.Softplus"), good, false))), "activation_function \"torch.nn.modules.activation.Softplus\" is not applied here");
        Contains<InvalidDataException>(() => HuggingFace.LoadPooling(WithDense("shape", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}]",
            ("2_Dense", TwoToThree.Replace("\"out_features\": 3", "\"out_features\": 4"), good, false))), "expected 'linear.weight' of shape [4, 2] (in_features 2, out_features 4), got [3, 2]");
        Contains<InvalidDataException>(() => HuggingFace.LoadPooling(WithDense("chain", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}, {Dense(3, "3_Dense")}]",
            ("2_Dense", TwoToThree, good, false), ("3_Dense", TwoToThree, good, false))), "Dense module 2 takes 2 features, but the one before it gives 3");
        Contains<FileNotFoundException>(() => HuggingFace.LoadPooling(Folder("noconfig-dense", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}]", Modes("mean"))), "The Dense module's");
        var pooling = HuggingFace.LoadPooling(WithDense("ok", $"[{Transformer}, {Pool}, {Dense(2, "2_Dense")}]", ("2_Dense", TwoToThree, good, false)));
        Contains<ArgumentException>(() => pooling.Apply(Tensor.Create(new float[12], [2, 2, 3]), [2, 2]), "SentenceDense: expected 2 rows of 2 features (4 values), got 6 values");
    }

    private static void Contains<T>(Action act, string part) where T : Exception => Assert.Contains(part, Assert.Throws<T>(act).Message, StringComparison.Ordinal);

    [Fact]
    public void ModulesAndModesNotReadHereAreRefused()
    {
        Assert.Contains("holds no modules.json", Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadPooling(_temp)).Message, StringComparison.Ordinal);
        string weighted = """{"idx": 2, "name": "2", "path": "2_Weighted", "type": "sentence_transformers.models.WeightedLayerPooling"}""";
        Assert.Contains("\"sentence_transformers.models.WeightedLayerPooling\" at '2_Weighted' is not applied here (read: Transformer, Pool",
            Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("weighted", $"[{Transformer}, {Pool}, {weighted}]", Modes("mean")))).Message, StringComparison.Ordinal);
        Assert.Contains("pooling by no mode", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("none", $"[{Transformer}, {Pool}]", Modes("")))).Message, StringComparison.Ordinal);
        string both = Modes("mean").Replace("\"pooling_mode_max_tokens\": false", "\"pooling_mode_max_tokens\": true", StringComparison.Ordinal);
        Assert.Contains("\"pooling_mode_max_tokens\": true", both, StringComparison.Ordinal);
        Assert.Contains("pooling pooling_mode_mean_tokens and pooling_mode_max_tokens", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("both", $"[{Transformer}, {Pool}]", both))).Message, StringComparison.Ordinal);
        Assert.Contains("no sentence_transformers.models.Pooling module", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("nopool", $"[{Transformer}]", null))).Message, StringComparison.Ordinal);
        Assert.Contains("config.json' is missing", Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadPooling(Folder("noconfig", $"[{Transformer}, {Pool}]", null))).Message, StringComparison.Ordinal);
    }
}
