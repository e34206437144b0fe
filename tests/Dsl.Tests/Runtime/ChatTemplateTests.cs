using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// <see cref="ChatTemplate"/> against jinja2 as transformers' apply_chat_template runs it: the templates of
/// Fixtures/ChatTemplates/make_chat_templates.py (LLaMA 3.1's, ChatML's, the [INST] and Gemma layouts, two of the parts none
/// of them uses) over several conversations, each case's text or error as jinja2 gives it; then the tokenizer's chat
/// template read from a model's folder.
/// </summary>
public sealed class ChatTemplateTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("dsl-chat-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static JsonElement Cases() => JsonDocument.Parse(File.ReadAllText(Fixture.Path(Path.Combine("ChatTemplates", "cases.json")))).RootElement;

    /// <summary>A JSON value as a template variable (whole numbers as long, as Python's int).</summary>
    private static object? Value(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => Value(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(Value).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    [Fact]
    public void EveryCaseRendersAsJinja2RendersIt()
    {
        int rendered = 0, refused = 0;
        foreach (JsonElement c in Cases().EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!, source = c.GetProperty("template").GetString()!;
            var variables = (Dictionary<string, object?>)Value(c.GetProperty("variables"))!;
            if (c.TryGetProperty("expected", out JsonElement expected))
            {
                Assert.True(expected.GetString() == ChatTemplate.Parse(source).Render(variables),
                    $"{name}: expected {JsonSerializer.Serialize(expected.GetString())}, got {JsonSerializer.Serialize(ChatTemplate.Parse(source).Render(variables))}");
                rendered++;
                continue;
            }
            // jinja2's error, by kind: the template's refusal (raise_exception) is the caller's input, a syntax error the template's
            string error = c.GetProperty("error").GetString()!;
            if (error.StartsWith("TemplateError: ", StringComparison.Ordinal))
            {
                var refusal = Assert.Throws<ArgumentException>(() => ChatTemplate.Parse(source).Render(variables));
                Assert.Contains(error["TemplateError: ".Length..], refusal.Message, StringComparison.Ordinal);
            }
            else if (error.StartsWith("TemplateSyntaxError", StringComparison.Ordinal) || error.Contains("no loader", StringComparison.Ordinal))
                Assert.Throws<InvalidDataException>(() => ChatTemplate.Parse(source));
            else
            {
                var failure = Assert.Throws<InvalidOperationException>(() => ChatTemplate.Parse(source).Render(variables));
                Assert.Contains("the chat template, line 1: ", failure.Message, StringComparison.Ordinal);
            }
            refused++;
        }
        Assert.Equal(32, rendered);
        Assert.Equal(11, refused);
    }

    [Fact]
    public void MistakesAreNamedWithTheirLine()
    {
        string Syntax(string source) => Assert.Throws<InvalidDataException>(() => ChatTemplate.Parse(source)).Message;
        Assert.Contains("line 2: '{% for %}' is never closed with '{% endfor %}'", Syntax("a\n{% for x in y %}\n"), StringComparison.Ordinal);
        Assert.Contains("line 3: a tag is never closed with '}}'", Syntax("\n\n{{ x "), StringComparison.Ordinal);
        Assert.Contains("line 1: '{% endif %}' closes nothing", Syntax("{% endif %}"), StringComparison.Ordinal);
        Assert.Contains("'%' where a value belongs", Syntax("{{ % }}"), StringComparison.Ordinal);
        string Failure(string source) => Assert.Throws<InvalidOperationException>(() => ChatTemplate.Parse(source).Render(new Dictionary<string, object?>())).Message;
        Assert.Contains("line 2: no filter named 'nosuch'", Failure("\n{{ 1 | nosuch }}"), StringComparison.Ordinal);
        Assert.Contains("'<' not supported between instances of 'str' and 'int'", Failure("{{ 'a' < 1 }}"), StringComparison.Ordinal);
        Assert.Contains("'set ns.x' needs ns to be a namespace()", Failure("{% set ns = {} %}{% set ns.x = 1 %}"), StringComparison.Ordinal);
        Assert.Contains("division by zero", Failure("{{ 1 / 0 }}"), StringComparison.Ordinal);
        var type = Assert.Throws<ArgumentException>(() => ChatTemplate.Parse("{{ x }}").Render(new Dictionary<string, object?> { ["x"] = new Uri("http://a") }));
        Assert.Contains("holds a Uri", type.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrftimeWritesPythonsDirectives()
    {
        var t = new DateTime(2024, 7, 6, 15, 4, 5);
        Assert.Equal("06 Jul 2024", ChatTemplate.Strftime(t, "%d %b %Y"));
        Assert.Equal("Saturday, July 06 24 03:04:05 PM 188 %", ChatTemplate.Strftime(t, "%A, %B %d %y %I:%M:%S %p %j %%"));
        // the template's date is today's where the caller gives none (LLaMA 3.1's "Today Date")
        string today = ChatTemplate.Parse("{{ strftime_now('%d %b %Y') }}").Render(new Dictionary<string, object?>());
        Assert.Contains(today, new[] { ChatTemplate.Strftime(DateTime.Now.AddMinutes(-1), "%d %b %Y"), ChatTemplate.Strftime(DateTime.Now, "%d %b %Y") });
    }

    /// <summary>A model's folder: the llama3 fixture's tokenizer.json and a tokenizer_config.json with the template given.</summary>
    private string Folder(string name, JsonNode? template, string? jinja = null)
    {
        string folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        File.Copy(Fixture.Path(Path.Combine("Tokenizers", "llama3.tokenizer.json")), Path.Combine(folder, "tokenizer.json"));
        var config = new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = new JsonObject { ["content"] = "<|end_of_text|>" } };
        if (template is not null) config["chat_template"] = template;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        if (jinja is not null) File.WriteAllText(Path.Combine(folder, "chat_template.jinja"), jinja);
        return folder;
    }

    [Fact]
    public void ATokenizersChatTemplateLaysOutAConversationAsTransformersDoes()
    {
        JsonElement llama = Cases().EnumerateArray().First(c => c.GetProperty("name").GetString() == "llama3/chat/generate");
        string source = llama.GetProperty("template").GetString()!;
        var variables = (Dictionary<string, object?>)Value(llama.GetProperty("variables"))!;
        var messages = ((List<object?>)variables["messages"]!).Cast<Dictionary<string, object?>>()
            .Select(m => new ChatMessage((string)m["role"]!, (string)m["content"]!)).ToList();
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Folder("llama", source));
        Assert.Equal(source, tokenizer.ChatTemplate);
        // the special tokens' texts come from the configuration (the fixture's bos_token is "<s>": here the folder's)
        string expected = ChatTemplate.Parse(source).Render(new Dictionary<string, object?>(variables) { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>" });
        var date = new Dictionary<string, object?> { ["date_string"] = "26 Jul 2024" };
        string text = tokenizer.ApplyChatTemplate(messages, addGenerationPrompt: true, date);
        Assert.Equal(expected, text);
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>", text, StringComparison.Ordinal);
        Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", text, StringComparison.Ordinal);
        // without the generation prompt (transformers' default) the text ends with the last message
        Assert.EndsWith("What's 2+2?<|eot_id|>", tokenizer.ApplyChatTemplate(messages, variables: date), StringComparison.Ordinal);
        // the ids: the text encoded without the post-processor's BOS (the template wrote its own)
        int[] ids = tokenizer.EncodeChat(messages, addGenerationPrompt: true, date);
        Assert.Equal(tokenizer.Encode(text, addSpecialTokens: false), ids);
        Assert.Equal(1, ids.Count(id => id == tokenizer.BosTokenId));
        // the template's refusal and a missing template
        var refused = Assert.Throws<ArgumentException>(() => HuggingFace.LoadTokenizer(Folder("inst", "{{ raise_exception('roles must alternate') }}")).ApplyChatTemplate(messages));
        Assert.Contains("The chat template refused its input: roles must alternate", refused.Message, StringComparison.Ordinal);
        var none = Assert.Throws<InvalidOperationException>(() => HuggingFace.LoadTokenizer(Folder("none", null)).ApplyChatTemplate(messages));
        Assert.Contains("The tokenizer has no chat template", none.Message, StringComparison.Ordinal);
        Assert.Null(HuggingFace.LoadTokenizer(Folder("none-again", null)).ChatTemplate);
    }

    [Fact]
    public void NamedTemplatesAndATemplateFileAreRead()
    {
        var named = new JsonArray(new JsonObject { ["name"] = "default", ["template"] = "D{{ messages | length }}" }, new JsonObject { ["name"] = "tool_use", ["template"] = "T" });
        Tokenizer tokenizer = HuggingFace.LoadTokenizer(Folder("named", named));
        Assert.Equal("D1", tokenizer.ApplyChatTemplate([new ChatMessage("user", "hi")]));
        Assert.Equal("T", tokenizer.ChatTemplates["tool_use"]);
        var noDefault = Assert.Throws<InvalidOperationException>(() => HuggingFace.LoadTokenizer(Folder("no-default", new JsonArray(new JsonObject { ["name"] = "rag", ["template"] = "R" })))
            .ApplyChatTemplate([new ChatMessage("user", "hi")]));
        Assert.Contains("names its chat templates (rag) and none \"default\"", noDefault.Message, StringComparison.Ordinal);
        // transformers' newer layout: chat_template.jinja beside the configuration, over its chat_template
        Tokenizer file = HuggingFace.LoadTokenizer(Folder("file", "from the configuration", jinja: "{{ bos_token }}from the file\n"));
        Assert.Equal("<|begin_of_text|>from the file", file.ApplyChatTemplate([]));
        var bad = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadTokenizer(Folder("bad", 5)));
        Assert.Contains("expected the chat_template as a string or a list of named templates, got 5", bad.Message, StringComparison.Ordinal);
    }
}
