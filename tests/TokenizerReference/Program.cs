using System.Text;
using System.Text.Json;

// reference TOKENIZER.json CASES.json OUT.json: each case's ids (with the post-processor's special tokens) and the ids
//   decoded (special tokens skipped), by the Hugging Face tokenizers library: what the tests' fixtures hold.
// compare TOKENIZER.json... [--corpus FILE]: Dsl's Tokenizer against the library on the built-in texts (and FILE's
//   paragraphs), printing each difference; exits 1 when there is one.
if (args.Length >= 4 && args[0] == "reference") return Reference(args[1], args[2], args[3]);
if (args.Length >= 2 && args[0] == "compare") return Compare(args.Skip(1).TakeWhile(a => a != "--corpus").ToArray(),
    args.SkipWhile(a => a != "--corpus").Skip(1).FirstOrDefault());
Console.Error.WriteLine("usage: reference TOKENIZER.json CASES.json OUT.json | compare TOKENIZER.json... [--corpus FILE]");
return 2;

static int Reference(string tokenizerPath, string casesPath, string outPath)
{
    using var hf = new Tokenizers.DotNet.Tokenizer(tokenizerPath);
    string[] cases = JsonSerializer.Deserialize<string[]>(File.ReadAllText(casesPath))!;
    using var stream = File.Create(outPath);
    using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    w.WriteStartObject();
    w.WriteString("library", $"tokenizers (Rust) through Tokenizers.DotNet {hf.GetVersion()}");
    w.WriteStartArray("cases");
    foreach (string text in cases)
    {
        uint[] ids = hf.Encode(text);
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteStartArray("ids");
        foreach (uint id in ids) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteString("decoded", hf.Decode(ids));
        w.WriteEndObject();
    }
    w.WriteEndArray();
    w.WriteEndObject();
    Console.WriteLine($"{cases.Length} cases -> {outPath}");
    return 0;
}

static int Compare(string[] tokenizers, string? corpus)
{
    List<string> texts = Texts(corpus);
    int failures = 0;
    foreach (string path in tokenizers)
    {
        // the library applies the file's truncation and padding; transformers and Dsl do not
        string json = File.ReadAllText(path);
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node["truncation"] = null;
        node["padding"] = null;
        string plain = Path.Combine(Path.GetTempPath(), $"tokref-{Guid.NewGuid():N}.json");
        File.WriteAllText(plain, node.ToJsonString());
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Dsl.Tokenizer dsl = Dsl.HuggingFace.LoadTokenizer(plain);
        double load = watch.Elapsed.TotalMilliseconds;
        using var hf = new Tokenizers.DotNet.Tokenizer(plain);
        int differ = 0, tokens = 0;
        double dslMs = 0, hfMs = 0;
        foreach (string text in texts)
        {
            watch.Restart();
            int[] mine = dsl.Encode(text);
            dslMs += watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            int[] theirs = hf.Encode(text).Select(i => (int)i).ToArray();
            hfMs += watch.Elapsed.TotalMilliseconds;
            tokens += theirs.Length;
            string decoded = dsl.Decode(theirs, skipSpecialTokens: true), expected = hf.Decode(theirs.Select(i => (uint)i).ToArray());
            if (!mine.SequenceEqual(theirs) || decoded != expected)
            {
                if (differ++ < 5)
                {
                    Console.WriteLine($"  {Path.GetFileName(path)}: {Show(text)}");
                    if (!mine.SequenceEqual(theirs))
                    {
                        int at = 0;
                        while (at < Math.Min(mine.Length, theirs.Length) && mine[at] == theirs[at]) at++;
                        int from = Math.Max(0, at - 5);
                        Console.WriteLine($"    ids from {from} (first difference at {at}) dsl {string.Join(' ', mine.Skip(from).Take(20))}\n         hf  {string.Join(' ', theirs.Skip(from).Take(20))}");
                    }
                    if (decoded != expected) Console.WriteLine($"    text dsl {Show(decoded)}\n         hf  {Show(expected)}");
                }
            }
        }
        // a second pass, warm (the JIT's work and the word cache's first fill done)
        watch.Restart();
        foreach (string text in texts) dsl.Encode(text);
        double dslWarm = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        foreach (string text in texts) hf.Encode(text);
        double hfWarm = watch.Elapsed.TotalMilliseconds;
        Console.WriteLine($"  warm: Dsl {dslWarm:F1} ms, library {hfWarm:F1} ms");
        File.Delete(plain);
        Console.WriteLine($"{Path.GetFileName(path)}: {texts.Count - differ}/{texts.Count} texts alike ({tokens} tokens); load {load:F0} ms; encode Dsl {dslMs:F1} ms, library {hfMs:F1} ms");
        failures += differ;
    }
    return failures == 0 ? 0 : 1;
}

static string Show(string s) => JsonSerializer.Serialize(s.Length > 120 ? s[..120] + "…" : s, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

static List<string> Texts(string? corpus)
{
    var texts = new List<string>
    {
        "", " ", "  ", "\n", "Hello world", " Hello  world ", "Hello world!\n\nSecond paragraph.\r\n\tIndented\ttabs",
        "I'm here, they've gone; it's 2024! WE'LL SEE, DON'T WE? She'S", "naïve café — “quotes” ‘single’ … résumé Ångström",
        "你好，世界。日本語のテキスト、한국어 텍스트", "emoji 🙂 and 👍🏽 and 🇫🇷 flags; love🙂you; 🙂🙂🙂", "𝐀𝐁𝐂 math letters 𝟏𝟐𝟑 and 𠀀𠀁 ext-B",
        "numbers 1 12 123 1234 12345 3.14159 1,000,000 ½ ² ٣ ४", "code: for (int i = 0; i < n; i++) { x += a[i] * b[i]; } // done",
        "def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))", "   leading and trailing   ", "a\u00A0b\u3000c\u2028d\u0085e",
        "<|endoftext|>Hi<|endoftext|>", "<s>Hello</s> <unk> [INST] hi [/INST]", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>", "\u200b zero width \u200d joiner \ufeff bom",
        "Ünïcödé NFC: e\u0301 vs é; ﬁ ligature; Ｆｕｌｌｗｉｄｔｈ", "URL https://example.com/a/b?c=d&e=f#g and email a.b@c.de",
        new string('a', 300), string.Concat(Enumerable.Repeat("ab ", 100)), "x" + new string(' ', 17) + "y", "\t\t\n\n\r\r  \n",
        "mixed 中文 English 123 🙂 ok", "Ελληνικά κείμενο, русский текст, עברית, العربية", "tabs\tand\u000Bvertical\u000Cfeed",
    };
    var rng = new Random(7);
    string[] alphabet = ["a", "b", "Z", " ", "  ", "\n", "'", "s", "é", "ß", "你", "🙂", "1", "23", ".", ",", "-", "_", "\t", "<s>", "</s>", "▁", "Ġ", "\u00A0", "𝐀", "ﬁ"];
    for (int i = 0; i < 400; i++)
        texts.Add(string.Concat(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => alphabet[rng.Next(alphabet.Length)])));
    if (corpus is not null)
        texts.AddRange(File.ReadAllText(corpus).Split("\n\n").Where(p => p.Length > 0));
    return texts;
}
