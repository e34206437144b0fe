using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="Tokenizer"/> against the Hugging Face tokenizers library: ten tokenizer.json files in the layouts of GPT-2,
/// LLaMA 3, Qwen2, LLaMA 2, Mistral 7B, BERT uncased and cased (WordPiece), and three of the parts none of those uses (Fixtures/Tokenizers/make_tokenizers.py), each
/// case's ids and decoded text as the library gives them (written by tests/TokenizerReference); then the refusals.
/// </summary>
public sealed class TokenizerTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-tok-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string> Families => new() { "gpt2", "llama3", "qwen2", "llama2", "mistral", "misc", "affixes", "edges", "bert", "bertcased", "t5", "xlmr", "albert", "unigrambytes", "wordlevel" };

    private static string Path(string file) => Fixture.Path(System.IO.Path.Combine("Tokenizers", file));

    /// <summary>
    /// Every case's ids decoded as a stream: the pieces join into the library's text, and none holds part of a character (the
    /// byte-level files' emoji and CJK cases span several tokens) unless the whole text does.
    /// </summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void ATokenStreamDecodesPieceByPieceToTheWholeText(string family)
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family + ".tokenizer.json"));
        JsonElement expected = JsonDocument.Parse(File.ReadAllText(Path(family + ".expected.json"))).RootElement;
        bool split = false; // a case whose ids part-way decode to part of a character
        foreach (JsonElement c in expected.GetProperty("cases").EnumerateArray())
        {
            int[] ids = c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            string whole = c.GetProperty("decoded").GetString()!;
            List<string> pieces = tokenizer.DecodeStream(ids, skipSpecialTokens: true).ToList();
            Assert.Equal(whole, string.Concat(pieces));
            if (!whole.Contains('\uFFFD')) Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
            split |= Enumerable.Range(1, ids.Length).Any(n => tokenizer.Decode(ids[..n], skipSpecialTokens: true).EndsWith('\uFFFD'));
        }
        if (family is "gpt2" or "llama3" or "qwen2") Assert.True(split, $"{family}: no case splits a character across its tokens");
    }

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
        // (WordPiece's files: cases.json's and ten more, wordpiece-cases.json; the unigram and word-level files: those and thirteen more, unigram-cases.json)
        Assert.Equal(family.StartsWith("bert", StringComparison.Ordinal) ? 52 : family is "t5" or "xlmr" or "albert" or "unigrambytes" or "wordlevel" ? 65 : 42, cases);
    }

    /// <summary>A model's folder in the temporary one holding the BERT fixture's tokenizer.json (a tokenizer_config.json to write beside it).</summary>
    private string BertFolder(string name)
    {
        string folder = System.IO.Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        File.Copy(Path("bert.tokenizer.json"), System.IO.Path.Combine(folder, "tokenizer.json"));
        return folder;
    }

    /// <summary>
    /// BERT's tokenizer beside its tokenizer_config.json: transformers' BertTokenizerFast rebuilds the normalizer from
    /// do_lower_case (default true), strip_accents and tokenize_chinese_chars, so a cased configuration over an uncased file
    /// reads the text cased; another tokenizer class leaves the file's. An added token with normalized = true is matched by its
    /// normalized text.
    /// </summary>
    [Fact]
    public void BertsConfigurationSetsItsNormalizerAndNormalizedAddedTokensMatchAsNormalized()
    {
        string folder = BertFolder("bert");
        Tokenizer uncased = HuggingFace.LoadTokenizer(folder);
        int unknown = uncased.TokenToId("[UNK]")!.Value, hello = uncased.TokenToId("hello")!.Value;
        Assert.Equal([2, hello, 3], uncased.Encode("Hello"));
        File.WriteAllText(System.IO.Path.Combine(folder, "tokenizer_config.json"), """{"do_lower_case": false, "tokenizer_class": "BertTokenizer"}""");
        Assert.Equal([2, unknown, 3], HuggingFace.LoadTokenizer(folder).Encode("Hello")); // (the vocabulary has no capitals)
        Assert.Equal(HuggingFace.LoadTokenizer(folder).Encode("你好"), uncased.Encode("你好"));
        File.WriteAllText(System.IO.Path.Combine(folder, "tokenizer_config.json"), """{"do_lower_case": false, "tokenizer_class": "PreTrainedTokenizerFast"}""");
        Assert.Equal([2, hello, 3], HuggingFace.LoadTokenizer(folder).Encode("Hello"));
        File.WriteAllText(System.IO.Path.Combine(folder, "tokenizer_config.json"), """{"tokenize_chinese_chars": false}""");
        // (one word of two ideographs: 你 then ##好, where spaced apart each is a word of its own)
        Assert.Equal([2, uncased.TokenToId("你")!.Value, uncased.TokenToId("##好")!.Value, 3], HuggingFace.LoadTokenizer(folder).Encode("你好"));
        Assert.Equal([2, uncased.TokenToId("你")!.Value, uncased.TokenToId("好")!.Value, 3], uncased.Encode("你好"));

        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("bert.tokenizer.json")))!;
        ((JsonObject)((JsonArray)json["added_tokens"]!)[4]!)["normalized"] = true; // [MASK], matched as "[mask]" in the lower-cased text
        Tokenizer normalized = Tokenizer.Parse(json.ToJsonString());
        int mask = normalized.TokenToId("[MASK]")!.Value;
        Assert.Equal([2, hello, mask, hello, 3], normalized.Encode("hello [MASK]hello"));
        Assert.Equal([2, hello, mask, hello, 3], normalized.Encode("HELLO [Mask] hello"));
        Assert.DoesNotContain(mask, uncased.Encode("HELLO [Mask] hello"));
    }

    /// <summary>
    /// A padded batch as transformers' tokenizer(texts, padding=True, truncation=True, max_length=…) gives it: each row the text's
    /// ids, cut to the length with the special tokens kept, padded with the configuration's pad_token to the longest row.
    /// </summary>
    [Fact]
    public void TextsAreBatchedPaddedAndTruncatedWithTheirSpecialTokens()
    {
        string folder = BertFolder("bert-batch");
        Tokenizer unpadded = HuggingFace.LoadTokenizer(folder);
        Assert.Null(unpadded.PadTokenId);
        Assert.Contains("give padId", Assert.Throws<InvalidOperationException>(() => unpadded.EncodeBatch(["hello world", "hello"])).Message, StringComparison.Ordinal);
        File.WriteAllText(System.IO.Path.Combine(folder, "tokenizer_config.json"), "{\"pad_token\": \"[PAD]\", \"do_lower_case\": true}");
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(folder);
        int pad = tokenizer.PadTokenId!.Value;
        Assert.Equal(tokenizer.TokenToId("[PAD]"), pad);
        int[] longer = tokenizer.Encode("hello world again"), shorter = tokenizer.Encode("hello");
        EncodedBatch batch = tokenizer.EncodeBatch(["hello world again", "hello"]);
        Assert.Equal((2, longer.Length), (batch.Count, batch.Steps));
        Assert.Equal([longer.Length, shorter.Length], batch.Lengths);
        Assert.Equal([.. longer, .. shorter, .. Enumerable.Repeat(pad, longer.Length - shorter.Length)], batch.Ids);
        Assert.Equal([2L, longer.Length], batch.AsTensor().Lengths.ToArray().Select(l => (long)l));
        // cut to 3: [CLS], the first token, [SEP]
        EncodedBatch cut = tokenizer.EncodeBatch(["hello world again", "hello"], maxLength: 3);
        Assert.Equal([longer[0], longer[1], longer[^1], .. shorter], cut.Ids);
        Assert.Equal([3, 3], cut.Lengths);
        Assert.Equal([longer[1], longer[2]], tokenizer.EncodeBatch(["hello world again"], maxLength: 2, addSpecialTokens: false).Ids);
        Assert.Contains("2 ids leave no room for a token beside the post-processor's 2 special ones",
            Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.EncodeBatch(["hello"], maxLength: 2)).Message, StringComparison.Ordinal);
        Assert.Equal(0, tokenizer.EncodeBatch([]).Steps);
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

    /// <summary>
    /// The added tokens take the ids the library gives them, not the file's (the edges fixture's are wrong on purpose): one in
    /// the vocabulary its id there, the others the next past the vocabulary in the file's order; a content listed twice keeps
    /// its first id and its last options (here single_word: "&lt;mask&gt;" inside a word is no token).
    /// </summary>
    [Fact]
    public void AddedTokensTakeTheIdsTheLibraryGivesThemNotTheFiles()
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path("edges.tokenizer.json"));
        var file = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("edges.tokenizer.json")))!;
        int size = ((JsonObject)file["model"]!["vocab"]!).Count;
        Assert.Equal(size, tokenizer.TokenToId("<mask>"));
        Assert.Equal(size + 1, tokenizer.TokenToId("<sep>"));
        Assert.Equal(file["model"]!["vocab"]!["▁the"]!.GetValue<int>(), tokenizer.TokenToId("▁the"));
        Assert.Equal(size + 2, tokenizer.VocabularySize);
        Assert.Null(tokenizer.IdToToken(999));
        Assert.Null(tokenizer.IdToToken(5000));
        Assert.Equal([1, size, size + 1], tokenizer.Encode(" <mask><sep>"));
        Assert.DoesNotContain(size, tokenizer.Encode("x<mask>y"));
        Assert.Contains(size, tokenizer.Encode("x <mask> y"));
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
        Assert.Contains("model: type \"Chars\" is not supported (supported: BPE", Refusal(j => j["model"]!["type"] = "Chars"), StringComparison.Ordinal);
        Assert.Contains("normalizer: type \"ByteLevel\" is not supported (supported: Sequence, Prepend", Refusal(j => j["normalizer"] = new JsonObject { ["type"] = "ByteLevel" }), StringComparison.Ordinal);
        Assert.Contains("normalizer.normalizers[1]: type \"ByteLevel\" is not supported", Refusal(j => j["normalizer"]!["normalizers"]![1] = new JsonObject { ["type"] = "ByteLevel" }), StringComparison.Ordinal);
        // a charsmap that is not base64, or shorter than the trie it announces
        Assert.Contains("normalizer: expected precompiled_charsmap as base64, got \"not base64!\"", Refusal(j => j["normalizer"] = new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = "not base64!" }), StringComparison.Ordinal);
        Assert.Contains("got 8 bytes, the first saying 64", Refusal(j => j["normalizer"] = new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = Convert.ToBase64String([64, 0, 0, 0, 1, 2, 3, 4]) }), StringComparison.Ordinal);
        Assert.Contains("got 0 bytes", Refusal(j => j["normalizer"] = new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = "" }), StringComparison.Ordinal);
        Assert.Contains("pre_tokenizer: type \"UnicodeScripts\" is not supported", Refusal(j => j["pre_tokenizer"] = new JsonObject { ["type"] = "UnicodeScripts" }), StringComparison.Ordinal);
        Assert.Contains("decoder: type \"CTC\" is not supported", Refusal(j => j["decoder"] = new JsonObject { ["type"] = "CTC" }), StringComparison.Ordinal);
        Assert.Contains("dropout 0.1 makes the merges random", Refusal(j => j["model"]!["dropout"] = 0.1), StringComparison.Ordinal);
        // WordPiece's own: its unknown token in the vocabulary, a whole number of characters per word
        string WordPieceRefusal(Action<JsonObject> edit)
        {
            var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("bert.tokenizer.json")))!;
            edit(json);
            return Assert.Throws<InvalidDataException>(() => Tokenizer.Parse(json.ToJsonString())).Message;
        }
        // (an unk_token the vocabulary lacks is an error only where a word needs it, as in the library)
        var withoutUnknown = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("bert.tokenizer.json")))!;
        withoutUnknown["model"]!["unk_token"] = "<oops>";
        Tokenizer lax = Tokenizer.Parse(withoutUnknown.ToJsonString());
        Assert.Equal(HuggingFace.LoadTokenizer(Path("bert.tokenizer.json")).Encode("hello world"), lax.Encode("hello world"));
        Assert.Contains("\"supercalifragilisticexpialidocious\" has no tokens in the vocabulary, and the unk_token \"<oops>\"",
            Assert.Throws<InvalidOperationException>(() => lax.Encode("supercalifragilisticexpialidocious")).Message, StringComparison.Ordinal);
        Assert.Contains("model: expected max_input_chars_per_word as a whole number 0 or more, got -1", WordPieceRefusal(j => j["model"]!["max_input_chars_per_word"] = -1), StringComparison.Ordinal);
        var firstMerge = (JsonArray)Edited(_ => { })["model"]!["merges"]![0]!;
        string merged = firstMerge[0]!.GetValue<string>() + firstMerge[1]!.GetValue<string>();
        Assert.Contains("model.merges[0]: ", Refusal(j => ((JsonObject)j["model"]!["vocab"]!).Remove(merged)), StringComparison.Ordinal);
        Assert.Contains("merges tokens the vocabulary lacks", Refusal(j => ((JsonObject)j["model"]!["vocab"]!).Remove(merged)), StringComparison.Ordinal);
        Assert.Contains("the unk_token \"<oops>\" is not in the vocabulary", Refusal(j => j["model"]!["unk_token"] = "<oops>"), StringComparison.Ordinal);
        Assert.Contains("the regex \"(unclosed\" is not one .NET reads", Refusal(j => j["pre_tokenizer"] = JsonNode.Parse("""{"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}""")), StringComparison.Ordinal);
        Assert.Contains("is not valid JSON", Assert.Throws<InvalidDataException>(() => Tokenizer.Parse("{ not json")).Message, StringComparison.Ordinal);
        // a character past U+FFFF written in a regex: the texts' such characters are matched by their category alone
        Assert.Contains("the regex \"\\uD83D\\uDE00+\" holds U+1F600, a character past U+FFFF", Refusal(j => j["pre_tokenizer"] = JsonNode.Parse("""{"type": "Split", "pattern": {"Regex": "😀+"}, "behavior": "Isolated"}""")), StringComparison.Ordinal);

        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path("llama2.tokenizer.json"));
        // an id past the vocabulary (a model's embedding may have more rows) is skipped, as the library skips it; a negative one is refused
        int[] hello = tokenizer.Encode("Hello");
        Assert.Equal(tokenizer.Decode(hello), tokenizer.Decode([.. hello, tokenizer.VocabularySize, 1 << 20]));
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, -3]));
        Assert.Contains("id -3 at 1 is negative", bad.Message, StringComparison.Ordinal);
        // a lone surrogate is no character: refused, not turned into U+FFFD's bytes
        var lone = Assert.Throws<ArgumentException>(() => tokenizer.Encode("a\uD800b"));
        Assert.Contains("lone surrogate (U+D800) at 1", lone.Message, StringComparison.Ordinal);
        // values of other kinds than their places take are refused as InvalidDataException, naming the file
        Assert.Contains("added_tokens[0]: expected an added token object, got 5", Refusal(j => j["added_tokens"] = new JsonArray(5)), StringComparison.Ordinal);
        Assert.Contains("expected \"cls\" as [\"token\", id]", Refusal(j => j["post_processor"] = JsonNode.Parse("""{"type": "BertProcessing", "cls": ["[CLS]"], "sep": ["[SEP]", 2]}""")), StringComparison.Ordinal);
        Assert.Contains("is not a tokenizer.json this reads", Refusal(j => j["post_processor"]!["special_tokens"] = new JsonArray()), StringComparison.Ordinal);
        Assert.Contains("a vocabulary of more than 16777216 tokens is not read", Refusal(j => j["model"]!["vocab"]!["huge"] = int.MaxValue), StringComparison.Ordinal);
    }

    /// <summary>
    /// Pairs of texts (a reranker's query and passage) as the library joins them by each file's post-processor — BERT's
    /// [CLS] A [SEP] B [SEP] by a template and by BertProcessing, XLM-RoBERTa's &lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;, T5's, ALBERT's,
    /// LLaMA 2's and Mistral's templates, GPT-2's none — whole and truncated "longest_first" to 24, 13 and 7 ids
    /// (pairs.expected.json, from the library's Node binding), and for BERT's and XLM-RoBERTa's files "only_second" and
    /// "only_first" too (refused where the library refuses). BERT's and ALBERT's token types, as [TokenTypeEmbedding] counts
    /// them over the ids (the [SEP]s before each), are the library's type ids on every row.
    /// </summary>
    [Fact]
    public void PairsAreJoinedAndTruncatedAsTheLibraryDoes()
    {
        JsonElement expected = JsonDocument.Parse(File.ReadAllText(Path("pairs.expected.json"))).RootElement;
        (string, string)[] pairs = [.. expected.GetProperty("pairs").EnumerateArray().Select(p => (p[0].GetString()!, p[1].GetString()!))];
        int checkedRows = 0, checkedTypes = 0;
        foreach (JsonProperty family in expected.GetProperty("families").EnumerateObject())
        {
            Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family.Name + ".tokenizer.json"));
            JsonElement[] rows = [.. family.Value.EnumerateArray()];
            for (int r = 0; r < rows.Length; r++)
            {
                var (text, pair) = pairs[r % pairs.Length];
                int[] ids = [.. rows[r].GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())];
                int? max = rows[r].GetProperty("max").ValueKind == JsonValueKind.Null ? null : rows[r].GetProperty("max").GetInt32();
                int[] actual = max is null ? tokenizer.EncodePair(text, pair) : tokenizer.EncodePairs([(text, pair)], max, padId: 0).Ids;
                Assert.True(ids.SequenceEqual(actual), $"{family.Name}, max {max}, pair {r % pairs.Length}: {JsonSerializer.Serialize(new[] { text, pair })}: expected [{string.Join(' ', ids)}], got [{string.Join(' ', actual)}]");
                checkedRows++;
                if (family.Name is "bert" or "bertcased" or "albert")
                {
                    int[] types = [.. rows[r].GetProperty("types").EnumerateArray().Select(i => i.GetInt32())], counted = new int[ids.Length];
                    Kernels.Layout.TokenTypes(ids, counted, ids.Length, 1, tokenizer.TokenToId("[SEP]")!.Value, count: 2);
                    Assert.True(types.SequenceEqual(counted), $"{family.Name}, max {max}, pair {r % pairs.Length}: types [{string.Join(' ', types)}], counted [{string.Join(' ', counted)}]");
                    Assert.Contains(1, counted);
                    checkedTypes++;
                }
            }
        }
        Assert.Equal(8 * 4 * 12, checkedRows);
        Assert.Equal(3 * 4 * 12, checkedTypes);
        // only_second and only_first (BERT's and XLM-RoBERTa's files): the ids, or a refusal where the library refuses
        int checkedStrategies = 0, refused = 0;
        foreach (JsonProperty strategy in expected.GetProperty("strategies").EnumerateObject())
        {
            PairTruncation truncation = Enum.Parse<PairTruncation>(strategy.Name);
            foreach (JsonProperty family in strategy.Value.EnumerateObject())
            {
                Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family.Name + ".tokenizer.json"));
                JsonElement[] rows = [.. family.Value.EnumerateArray()];
                for (int r = 0; r < rows.Length; r++)
                {
                    var (text, pair) = pairs[r % pairs.Length];
                    int max = rows[r].GetProperty("max").GetInt32();
                    string what = $"{strategy.Name}, {family.Name}, max {max}, pair {r % pairs.Length}";
                    if (rows[r].TryGetProperty("error", out JsonElement error))
                    {
                        Assert.Contains("Sequence to truncate too short", error.GetString(), StringComparison.Ordinal);
                        var e = Assert.Throws<ArgumentException>(() => tokenizer.EncodePairs([(text, pair)], max, padId: 0, truncation: truncation));
                        Assert.Contains("it would keep none", e.Message, StringComparison.Ordinal);
                        refused++;
                    }
                    else
                    {
                        int[] ids = [.. rows[r].GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())];
                        int[] actual = tokenizer.EncodePairs([(text, pair)], max, padId: 0, truncation: truncation).Ids;
                        Assert.True(ids.SequenceEqual(actual), $"{what}: expected [{string.Join(' ', ids)}], got [{string.Join(' ', actual)}]");
                    }
                    checkedStrategies++;
                }
            }
        }
        Assert.Equal(2 * 2 * 3 * 12, checkedStrategies);
        Assert.InRange(refused, 1, checkedStrategies - 1);
        // a batch of pairs padded to its longest; a max_length that leaves no room beside a pair's special tokens refused
        Tokenizer bert = HuggingFace.LoadTokenizer(Path("bert.tokenizer.json"));
        EncodedBatch batch = bert.EncodePairs([("hello", "world"), ("the quick brown fox", "jumps over the lazy dog")], padId: 0);
        Assert.Equal([bert.EncodePair("hello", "world").Length, bert.EncodePair("the quick brown fox", "jumps over the lazy dog").Length], batch.Lengths);
        Assert.Equal([.. bert.EncodePair("hello", "world"), .. new int[batch.Steps - batch.Lengths[0]]], batch.Ids[..batch.Steps]);
        Assert.Equal(bert.Encode("hello", addSpecialTokens: false).Concat(bert.Encode("world", addSpecialTokens: false)), bert.EncodePair("hello", "world", addSpecialTokens: false));
        // a post-processor that joins nothing (a Sequence of ByteLevel alone): A then B, as the library's default
        var gpt2 = (JsonObject)JsonNode.Parse(File.ReadAllText(Path("gpt2.tokenizer.json")))!;
        gpt2["post_processor"] = JsonNode.Parse("""{"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}]}""");
        Tokenizer byteLevel = Tokenizer.Parse(gpt2.ToJsonString());
        Assert.Equal(byteLevel.Encode("hello").Concat(byteLevel.Encode(" world")), byteLevel.EncodePair("hello", " world"));
        var tight = Assert.Throws<ArgumentOutOfRangeException>(() => bert.EncodePairs([("a", "b")], maxLength: 3));
        Assert.Contains("EncodePairs: 3 ids leave no room for a token beside the post-processor's 3 special ones for a pair", tight.Message, StringComparison.Ordinal);
    }

    /// <summary>A tokenizer.json of a Unigram model over <paramref name="vocab"/> (token, score) and nothing else.</summary>
    private static Tokenizer UnigramOf((string Token, double Score)[] vocab, int? unk, bool byteFallback = false) => Tokenizer.Parse(new JsonObject
    {
        ["model"] = new JsonObject
        {
            ["type"] = "Unigram",
            ["unk_id"] = unk,
            ["byte_fallback"] = byteFallback,
            ["vocab"] = new JsonArray([.. vocab.Select(v => (JsonNode)new JsonArray(v.Token, v.Score))]),
        },
    }.ToJsonString());

    /// <summary>
    /// The unigram model's best cut, as the library's documentation of <c>Unigram::encode</c> gives it ("abcdacdxx": abcd, a,
    /// cd and the two unknown x fused into one <c>&lt;unk&gt;</c>); unknown neighbours as their bytes with byte fallback; a
    /// character no token covers refused where the model has no unk_id, naming it; a vocab entry that is no [token, score] pair
    /// and an unk_id past the vocab refused when the file loads.
    /// </summary>
    [Fact]
    public void UnigramCutsTheBestScoringWayAndFusesUnknownCharacters()
    {
        (string, double)[] vocab = [("<unk>", 0), ("a", 0), ("b", 0), ("c", 0), ("d", 0), ("cd", 1), ("ab", 2), ("abc", 5), ("abcd", 10)];
        Tokenizer tokenizer = UnigramOf(vocab, unk: 0);
        Assert.Equal([8, 1, 5, 0], tokenizer.Encode("abcdacdxx"));
        // "abc" + "d" (5 + 0) beats "ab" + "cd" (2 + 1); without "abcd" the best of the rest
        Assert.Equal([7, 4], UnigramOf(vocab[..^1], unk: 0).Encode("abcd"));
        Assert.Equal([1, 0, 2, 0, 3], tokenizer.Encode("axbyc")); // (unknown characters apart stay apart)
        Assert.Equal([0], tokenizer.Encode("😀é")); // (a character past U+FFFF is one character)
        // byte fallback: the fused unknown stretch as its UTF-8 bytes, where the vocabulary has every one
        (string, double)[] bytes = [.. vocab, .. Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", -5.0))];
        Tokenizer fallback = UnigramOf(bytes, unk: 0, byteFallback: true);
        Assert.Equal([1, 9 + 0xC3, 9 + 0xA9, 9 + 'x', 2], fallback.Encode("aéxb"));
        Assert.Equal([1, 0, 2], UnigramOf([.. bytes.Where(b => b.Item1 != "<0x78>")], unk: 0, byteFallback: true).Encode("aéxb"));
        var none = Assert.Throws<InvalidOperationException>(() => UnigramOf(vocab[1..], unk: null).Encode("abxd"));
        Assert.Contains("\"x\" in \"abxd\" is no token of the vocabulary, and the model has no unk_id", none.Message, StringComparison.Ordinal);
        Assert.Equal([5, 0], UnigramOf(vocab[1..], unk: null).Encode("aba")); // (none needed: no error)
        var far = Assert.Throws<InvalidDataException>(() => UnigramOf(vocab, unk: 9));
        Assert.Contains("expected unk_id as the id of a token of the vocab (0 to 8) or null, got 9", far.Message, StringComparison.Ordinal);
        var pair = Assert.Throws<InvalidDataException>(() => Tokenizer.Parse("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["a"]]}}"""));
        Assert.Contains("model.vocab[1]: expected [token, score] (a string and a finite number), got [\"a\"]", pair.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The tokenizers' Unicode normalization is the library's own (no ICU: the same in .NET's globalization-invariant mode,
    /// where <c>string.Normalize</c> returns its text unchanged): NFC, NFD, NFKC and NFKD of every character assigned in
    /// its tables' Unicode version, and of mixed sequences (marks out of order, jamo, compatibility characters), equal .NET's
    /// with ICU (the tests run with it; Unicode's stability policy fixes those characters' data in later versions).
    /// </summary>
    [Fact]
    public void UnicodeNormalizationEqualsDotNetsOnEveryAssignedCharacter()
    {
        Assert.Equal("\u00E9 fi", "e\u0301 ﬁ".Normalize(System.Text.NormalizationForm.FormKC)); // .NET normalizes here: ICU
        JsonElement assigned = JsonDocument.Parse(File.ReadAllText(Fixture.Path("unicode-assigned.json"))).RootElement;
        Assert.Equal(assigned.GetProperty("unicode").GetString(), Dsl.Text.UnicodeNormalization.Version);
        var forms = new[] { System.Text.NormalizationForm.FormC, System.Text.NormalizationForm.FormD, System.Text.NormalizationForm.FormKC, System.Text.NormalizationForm.FormKD };
        int characters = 0;
        var differ = new List<string>();
        foreach (JsonElement range in assigned.GetProperty("ranges").EnumerateArray())
        {
            for (int cp = range[0].GetInt32(); cp <= range[1].GetInt32(); cp++)
            {
                string text = char.ConvertFromUtf32(cp);
                foreach (var form in forms)
                {
                    if (Dsl.Text.UnicodeNormalization.Normalize(text, form) != text.Normalize(form) && differ.Count < 10) differ.Add($"U+{cp:X4} {form}");
                }
                characters++;
            }
        }
        Assert.True(differ.Count == 0, "differ from .NET's: " + string.Join(", ", differ));
        Assert.True(characters > 140_000, $"{characters} characters");
        // sequences: marks of several classes out of order, Hangul jamo and syllables, compatibility characters, a starter that blocks
        var rng = new Rng(5);
        string[] parts = ["a", "e", "A", "\u0301", "\u0300", "\u0323", "\u0327", "\u031B", "\u0345", "\u03B1", "\u1100", "\u1161", "\u11A8", "\uAC00", "\uAC01", "\u1E0B",
            "\u0041\u030A", "\u212B", "ﬁ", "½", "Ｆ", "\u00C7", "\u0F73", "\u0F71", "\u0F72", "𝐀", "\u05B0", "\u0591", "ǅ", "\u2126", "\u1FBE", "\u0344"];
        for (int i = 0; i < 3000; i++)
        {
            string text = string.Concat(Enumerable.Range(0, 1 + rng.NextInt(8)).Select(_ => parts[rng.NextInt(parts.Length)]));
            foreach (var form in forms) Assert.Equal(text.Normalize(form), Dsl.Text.UnicodeNormalization.Normalize(text, form));
        }
    }

    /// <summary>The folder's tokenizer_config.json names the BOS and EOS tokens (a string, or an object with its content), as transformers reads it.</summary>
    [Fact]
    public void TheConfigurationBesideTheTokenizerNamesItsBosAndEosTokens()
    {
        File.Copy(Path("llama3.tokenizer.json"), System.IO.Path.Combine(_temp, "tokenizer.json"));
        Tokenizer bare = HuggingFace.LoadTokenizer(_temp);
        Assert.Null(bare.BosTokenId);
        Assert.Null(bare.EosTokenId);
        string config = System.IO.Path.Combine(_temp, "tokenizer_config.json");
        File.WriteAllText(config, """{"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>", "special": true}, "pad_token": null}""");
        Tokenizer named = HuggingFace.LoadTokenizer(_temp);
        Assert.Equal(named.TokenToId("<|begin_of_text|>"), named.BosTokenId);
        Assert.Equal(named.TokenToId("<|eot_id|>"), named.EosTokenId);
        File.WriteAllText(config, """{"eos_token": "<|nowhere|>"}""");
        var e = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadTokenizer(_temp));
        Assert.Contains("its eos_token \"<|nowhere|>\" is not a token of the tokenizer", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Encoding from several threads at once gives each thread what one thread alone gives (the word cache is shared).</summary>
    [Theory]
    [InlineData("llama3")]
    [InlineData("xlmr")]
    public void EncodingFromSeveralThreadsGivesWhatOneThreadGives(string family)
    {
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Path(family + ".tokenizer.json"));
        string[] texts = Enumerable.Range(0, 64).Select(i => $"text {i}: the quick brown fox {i * 7919} jumps 🙂 über ﬁ\u0301 {new string('x', i % 9)}").ToArray();
        int[][] alone = texts.Select(t => tokenizer.Encode(t)).ToArray();
        var together = new int[texts.Length][];
        Parallel.For(0, texts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => together[i % texts.Length] = tokenizer.Encode(texts[i % texts.Length]));
        for (int i = 0; i < texts.Length; i++) Assert.Equal(alone[i], together[i]);
    }
}
