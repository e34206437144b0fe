using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="Tokenizer"/> against the Hugging Face tokenizers library: six tokenizer.json files in the layouts of GPT-2,
/// LLaMA 3, Qwen2, LLaMA 2, Mistral 7B and one of the parts none of those uses (Fixtures/Tokenizers/make_tokenizers.py), each
/// case's ids and decoded text as the library gives them (written by tests/TokenizerReference); then the refusals.
/// </summary>
public sealed class TokenizerTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-tok-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string> Families => new() { "gpt2", "llama3", "qwen2", "llama2", "mistral", "misc" };

    private static string Path(string file) => Fixture.Path(System.IO.Path.Combine("Tokenizers", file));

    [Theory]
    [MemberData(nameof(Families))]
    public void EveryCaseEncodesAndDecodesAsTheTokenizersLibraryDoes(string family)
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family + ".tokenizer.json"));
        JsonElement expected = JsonDocument.Parse(File.ReadAllText(Path(family + ".expected.json"))).RootElement;
        int cases = 0;
        foreach (JsonElement c in expected.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"{family}: {JsonSerializer.Serialize(text)}: expected [{string.Join(' ', ids)}], got [{string.Join(' ', tokenizer.Encode(text))}]");
            Assert.Equal(c.GetProperty("decoded").GetString(), tokenizer.Decode(ids, skipSpecialTokens: true));
            cases++;
        }
        Assert.Equal(30, cases);
    }

    [Fact]
    public void SpecialTokensAreAddedAndSkippedAsAsked()
    {
        Tokenizer llama = HuggingFace.LoadTokenizer(Path("llama3.tokenizer.json"));
        int bos = llama.TokenToId("<|begin_of_text|>")!.Value, eot = llama.TokenToId("<|eot_id|>")!.Value;
        int[] ids = llama.Encode("Hello<|eot_id|>");
        Assert.Equal(bos, ids[0]);
        Assert.Equal(eot, ids[^1]);
        Assert.Equal(ids[1..], llama.Encode("Hello<|eot_id|>", addSpecialTokens: false));
        Assert.Equal("<|begin_of_text|>Hello<|eot_id|>", llama.Decode(ids));
        Assert.Equal("Hello", llama.Decode(ids, skipSpecialTokens: true));
        Assert.True(llama.IsSpecial(eot));
        Assert.False(llama.IsSpecial(ids[1]));
        Assert.Equal("<|eot_id|>", llama.IdToToken(eot));
        Assert.Equal(eot + 1, llama.VocabularySize);
        Assert.Null(llama.IdToToken(llama.VocabularySize));
        Assert.Null(llama.TokenToId("not a token"));
        // GPT-2's byte-level tokens as the vocabulary writes them: a space is "Ġ"
        Tokenizer gpt2 = HuggingFace.LoadTokenizer(Path("gpt2.tokenizer.json"));
        Assert.Equal(" the", gpt2.Decode([gpt2.TokenToId("Ġthe")!.Value]));
    }

    /// <summary>What a text gives encoded and decoded once is the text itself, for the byte-level families (every byte has a token).</summary>
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama3")]
    [InlineData("qwen2")]
    public void ByteLevelTokenizersGiveAnyTextBack(string family)
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family + ".tokenizer.json"));
        var rng = new Rng(3);
        string[] alphabet = ["a", "Z", " ", "\n", "'s", "é", "你", "🙂", "7", ".", "\t", "𝐀", "\u00A0"];
        for (int i = 0; i < 200; i++)
        {
            string text = string.Concat(Enumerable.Range(0, 1 + rng.NextInt(30)).Select(_ => alphabet[rng.NextInt(alphabet.Length)]));
            string back = tokenizer.Decode(tokenizer.Encode(text, addSpecialTokens: false));
            Assert.Equal(family == "qwen2" ? text.Normalize(System.Text.NormalizationForm.FormC) : text, back);
        }
    }

    [Fact]
    public void AFolderWithoutATokenizerAndPartsNotReadAreRefusedNamingThem()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadTokenizer(_temp));
        Assert.Contains("holds no tokenizer.json", missing.Message, StringComparison.Ordinal);
        File.WriteAllText(System.IO.Path.Combine(_temp, "tokenizer.model"), "");
        missing = Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadTokenizer(_temp));
        Assert.Contains("tokenizer.model, SentencePiece's own format, is not read", missing.Message, StringComparison.Ordinal);

        JsonObject Edited(Action<JsonObject> edit)
        {
            var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("llama2.tokenizer.json")))!;
            edit(json);
            return json;
        }
        string Refusal(Action<JsonObject> edit) => Assert.Throws<InvalidDataException>(() => Tokenizer.Parse(Edited(edit).ToJsonString())).Message;
        Assert.Contains("model: type \"Unigram\" is not supported (supported: BPE", Refusal(j => j["model"]!["type"] = "Unigram"), StringComparison.Ordinal);
        Assert.Contains("normalizer: type \"BertNormalizer\" is not supported (supported: Sequence, Prepend", Refusal(j => j["normalizer"] = new JsonObject { ["type"] = "BertNormalizer" }), StringComparison.Ordinal);
        Assert.Contains("normalizer.normalizers[1]: type \"Precompiled\" is not supported", Refusal(j => j["normalizer"]!["normalizers"]![1] = new JsonObject { ["type"] = "Precompiled" }), StringComparison.Ordinal);
        Assert.Contains("pre_tokenizer: type \"UnicodeScripts\" is not supported", Refusal(j => j["pre_tokenizer"] = new JsonObject { ["type"] = "UnicodeScripts" }), StringComparison.Ordinal);
        Assert.Contains("decoder: type \"WordPiece\" is not supported", Refusal(j => j["decoder"] = new JsonObject { ["type"] = "WordPiece" }), StringComparison.Ordinal);
        Assert.Contains("dropout 0.1 makes the merges random", Refusal(j => j["model"]!["dropout"] = 0.1), StringComparison.Ordinal);
        var firstMerge = (JsonArray)Edited(_ => { })["model"]!["merges"]![0]!;
        string merged = firstMerge[0]!.GetValue<string>() + firstMerge[1]!.GetValue<string>();
        Assert.Contains("model.merges[0]: ", Refusal(j => ((JsonObject)j["model"]!["vocab"]!).Remove(merged)), StringComparison.Ordinal);
        Assert.Contains("merges tokens the vocabulary lacks", Refusal(j => ((JsonObject)j["model"]!["vocab"]!).Remove(merged)), StringComparison.Ordinal);
        Assert.Contains("the unk_token \"<oops>\" is not in the vocabulary", Refusal(j => j["model"]!["unk_token"] = "<oops>"), StringComparison.Ordinal);
        Assert.Contains("the regex \"(unclosed\" is not one .NET reads", Refusal(j => j["pre_tokenizer"] = JsonNode.Parse("""{"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}""")), StringComparison.Ordinal);
        Assert.Contains("is not valid JSON", Assert.Throws<InvalidDataException>(() => Tokenizer.Parse("{ not json")).Message, StringComparison.Ordinal);

        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path("llama2.tokenizer.json"));
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, tokenizer.VocabularySize]));
        Assert.Contains($"id {tokenizer.VocabularySize} at 1 is not a token of this tokenizer", bad.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// In .NET's globalization-invariant mode Unicode normalization does nothing: a Qwen2 text past ASCII is refused there
    /// (its ids would differ from the library's), an ASCII one is not (no form changes it).
    /// </summary>
    [Fact]
    public void WithoutDotNetsNormalizationANonAsciiTextIsRefusedWhereTheTokenizerNormalizes()
    {
        Tokenizer qwen = HuggingFace.LoadTokenizer(Path("qwen2.tokenizer.json")), llama = HuggingFace.LoadTokenizer(Path("llama3.tokenizer.json"));
        Assert.True(Dsl.Text.UnicodeForms.Available, "the tests run with ICU");
        int[] ascii = qwen.Encode("plain text"), accented = qwen.Encode("café"), unnormalized = llama.Encode("café");
        try
        {
            Dsl.Text.UnicodeForms.Available = false;
            Assert.Equal(ascii, qwen.Encode("plain text"));
            var e = Assert.Throws<NotSupportedException>(() => qwen.Encode("café"));
            Assert.StartsWith("The tokenizer's normalizer is NFC (Unicode normalization), which .NET does not apply in globalization-invariant mode", e.Message, StringComparison.Ordinal);
            Assert.Equal(unnormalized, llama.Encode("café")); // LLaMA 3's tokenizer does not normalize
        }
        finally
        {
            Dsl.Text.UnicodeForms.Available = true;
        }
        Assert.Equal(accented, qwen.Encode("café"));
    }

    /// <summary>Encoding from several threads at once gives each thread what one thread alone gives (the word cache is shared).</summary>
    [Fact]
    public void EncodingFromSeveralThreadsGivesWhatOneThreadGives()
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path("llama3.tokenizer.json"));
        string[] texts = Enumerable.Range(0, 64).Select(i => $"text {i}: the quick brown fox {i * 7919} jumps 🙂 über {new string('x', i % 9)}").ToArray();
        int[][] alone = texts.Select(t => tokenizer.Encode(t)).ToArray();
        var together = new int[texts.Length][];
        Parallel.For(0, texts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => together[i % texts.Length] = tokenizer.Encode(texts[i % texts.Length]));
        for (int i = 0; i < texts.Length; i++) Assert.Equal(alone[i], together[i]);
    }
}
