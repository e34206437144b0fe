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

    [Fact]
    public void ModulesAndModesNotReadHereAreRefused()
    {
        Assert.Contains("holds no modules.json", Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadPooling(_temp)).Message, StringComparison.Ordinal);
        string dense = """{"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}""";
        Assert.Contains("sentence_transformers.models.Dense", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("dense", $"[{Transformer}, {Pool}, {dense}]", Modes("mean")))).Message, StringComparison.Ordinal);
        Assert.Contains("is not applied here", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("dense2", $"[{Transformer}, {Pool}, {dense}]", Modes("mean")))).Message, StringComparison.Ordinal);
        Assert.Contains("pooling by no mode", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("none", $"[{Transformer}, {Pool}]", Modes("")))).Message, StringComparison.Ordinal);
        string both = Modes("mean").Replace("\"pooling_mode_max_tokens\": false", "\"pooling_mode_max_tokens\": true", StringComparison.Ordinal);
        Assert.Contains("\"pooling_mode_max_tokens\": true", both, StringComparison.Ordinal);
        Assert.Contains("pooling pooling_mode_mean_tokens and pooling_mode_max_tokens", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("both", $"[{Transformer}, {Pool}]", both))).Message, StringComparison.Ordinal);
        Assert.Contains("no sentence_transformers.models.Pooling module", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadPooling(Folder("nopool", $"[{Transformer}]", null))).Message, StringComparison.Ordinal);
        Assert.Contains("config.json' is missing", Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadPooling(Folder("noconfig", $"[{Transformer}, {Pool}]", null))).Message, StringComparison.Ordinal);
    }
}
