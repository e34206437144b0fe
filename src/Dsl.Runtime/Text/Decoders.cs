using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>tokenizer.json's <c>decoder</c>: the tokens of some ids back to text, a chain of steps over the token strings.</summary>
internal abstract class TokenDecoder
{
    public const string Supported = "Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece";

    /// <summary>The tokens after this step (the last step's are joined into the text).</summary>
    public abstract List<string> Decode(List<string> tokens);

    public static TokenDecoder? Parse(JsonElement json, string where)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = Json.Type(json, where);
        return type switch
        {
            "Sequence" => new SequenceDecoder(Json.Steps(json, "decoders", where, Parse)),
            "ByteLevel" => new ByteLevelDecoder(),
            "Metaspace" => new MetaspaceDecoder(Metaspace.Parse(json, where)),
            "Replace" => new ReplaceDecoder(TextPattern.Parse(Json.Property(json, "pattern", where), where), Json.String(json, "content", where)),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(Json.String(json, "content", where), Json.Int(json, "start", 0, where), Json.Int(json, "stop", 0, where)),
            "WordPiece" => new WordPieceDecoder(Json.OptionalString(json, "prefix") ?? "##", Json.Bool(json, "cleanup", true, where)),
            _ => throw Json.Unsupported(where, type, Supported),
        };
    }
}

internal sealed class SequenceDecoder(TokenDecoder[] steps) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        foreach (TokenDecoder step in steps) tokens = step.Decode(tokens);
        return tokens;
    }
}

/// <summary>The byte-level tokens' bytes, joined and read as UTF-8 (invalid sequences as U+FFFD); a token of other characters as its own UTF-8.</summary>
internal sealed class ByteLevelDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string token in tokens)
        {
            if (!ByteLevel.TryDecode(token, bytes)) bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

/// <summary>
/// "▁" back to spaces, except in the first token, whose "▁" are dropped unless the scheme never prepends one (as the
/// tokenizers library decodes: the one the pre-tokenizer put before the text goes, and with it any other of that token's).
/// </summary>
internal sealed class MetaspaceDecoder(Metaspace metaspace) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
            result.Add(i == 0 && metaspace.PrependScheme != "never"
                ? tokens[i].Replace(metaspace.Replacement.ToString(), "", StringComparison.Ordinal)
                : tokens[i].Replace(metaspace.Replacement, ' '));
        return result;
    }
}

internal sealed class ReplaceDecoder(TextPattern pattern, string content) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.Select(t => pattern.Replace(t, content)).ToList();
}

/// <summary>
/// Runs of <c>&lt;0xXX&gt;</c> tokens (SentencePiece's byte fallback) read as UTF-8: a run that is valid UTF-8 becomes its
/// text, one that is not becomes U+FFFD per byte (as the tokenizers library does).
/// </summary>
internal sealed class ByteFallbackDecoder : TokenDecoder
{
    private static readonly UTF8Encoding s_strict = new(false, throwOnInvalidBytes: true);

    public override List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            try
            {
                result.Add(s_strict.GetString(bytes.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                for (int i = 0; i < bytes.Count; i++) result.Add("\uFFFD");
            }
            bytes.Clear();
        }
        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            Flush();
            result.Add(token);
        }
        Flush();
        return result;
    }
}

internal sealed class FuseDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> characters taken off each token.</summary>
internal sealed class StripDecoder : TokenDecoder
{
    private readonly char _content;
    private readonly int _start, _stop;

    public StripDecoder(string content, int start, int stop)
    {
        if (content.Length != 1) throw new InvalidDataException($"decoder Strip: the content must be one character, got \"{content}\".");
        (_content, _start, _stop) = (content[0], start, stop);
    }

    public override List<string> Decode(List<string> tokens) => tokens.Select(token =>
    {
        int from = 0, to = token.Length;
        while (from < Math.Min(_start, token.Length) && token[from] == _content) from++;
        while (token.Length - to < _stop && to > from && token[to - 1] == _content) to--;
        return token[from..to];
    }).ToList();
}

/// <summary>
/// tokenizer.json's <c>post_processor</c>: the special tokens put around an encoded text (LLaMA's &lt;s&gt; before it), or around
/// and between a pair of texts (BERT's <c>[CLS] A [SEP] B [SEP]</c>, RoBERTa's <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>).
/// </summary>
internal abstract class PostProcessor
{
    public const string Supported = "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence";

    /// <summary>The special tokens put around <paramref name="ids"/>, and <paramref name="pair"/>'s ids after them where there is a pair: all in <paramref name="ids"/>.</summary>
    public abstract void Process(List<int> ids, List<int>? pair = null);

    /// <summary>How many special tokens <see cref="Process"/> adds to one text, or to a pair.</summary>
    public abstract int Added(bool pair);

    public static PostProcessor? Parse(JsonElement json, string where)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = Json.Type(json, where);
        return type switch
        {
            "Sequence" => new SequenceProcessor(Json.Steps(json, "processors", where, Parse)),
            "ByteLevel" => null, // its trim_offsets moves offsets, not ids
            "TemplateProcessing" => Template(json, where),
            "BertProcessing" or "RobertaProcessing" => Around(Special(json, "cls", where), Special(json, "sep", where), roberta: type == "RobertaProcessing"),
            _ => throw Json.Unsupported(where, type, Supported),
        };
    }

    /// <summary>A Bert or Roberta processor's ["token", id].</summary>
    private static int Special(JsonElement json, string name, string where)
    {
        JsonElement pair = Json.Array(json, name, where);
        return pair.GetArrayLength() == 2 && pair[1].ValueKind == JsonValueKind.Number && pair[1].TryGetInt32(out int id) && id >= 0 ? id
            : throw new InvalidDataException($"{where}: expected \"{name}\" as [\"token\", id], got {Json.Short(pair)}.");
    }

    /// <summary>BERT's [CLS] A [SEP] (B [SEP]), or RoBERTa's &lt;s&gt; A &lt;/s&gt; (&lt;/s&gt; B &lt;/s&gt;).</summary>
    private static TemplateProcessor Around(int cls, int sep, bool roberta)
    {
        TemplatePart Cls = new([cls], '\0'), Sep = new([sep], '\0'), A = new([], 'A'), B = new([], 'B');
        return new TemplateProcessor([Cls, A, Sep], roberta ? [Cls, A, Sep, Sep, B, Sep] : [Cls, A, Sep, B, Sep]);
    }

    /// <summary>A template's <c>single</c> and <c>pair</c> lists: the special tokens' ids, and where sequence A and B go.</summary>
    private static TemplateProcessor Template(JsonElement json, string where)
    {
        JsonElement specials = Json.Property(json, "special_tokens", where);
        TemplatePart[] Parts(string key)
        {
            var parts = new List<TemplatePart>();
            foreach (JsonElement item in Json.Array(json, key, where).EnumerateArray())
            {
                if (item.TryGetProperty("Sequence", out JsonElement sequence))
                {
                    string id = Json.String(sequence, "id", $"{where}.{key}");
                    parts.Add(new TemplatePart([], id is "A" or "B" ? id[0] : throw new InvalidDataException($"{where}.{key}: expected sequence \"A\" or \"B\", got {Json.Quote(id)}.")));
                    continue;
                }
                string name = Json.String(Json.Property(item, "SpecialToken", $"{where}.{key}"), "id", $"{where}.{key}");
                if (!specials.TryGetProperty(name, out JsonElement special))
                    throw new InvalidDataException($"{where}: the template's special token {Json.Quote(name)} is not among its special_tokens.");
                parts.Add(new TemplatePart([.. Json.Array(special, "ids", $"{where}.special_tokens.{name}").EnumerateArray().Select(id => id.GetInt32())], '\0'));
            }
            return [.. parts];
        }
        // (a file without a pair template: the library's default, $A then $B)
        return new TemplateProcessor(Parts("single"), json.TryGetProperty("pair", out JsonElement p) && p.ValueKind == JsonValueKind.Array ? Parts("pair") : [new([], 'A'), new([], 'B')]);
    }
}

/// <summary>A part of a template: special tokens' <see cref="Ids"/>, or the place of <see cref="Sequence"/> 'A' or 'B'.</summary>
internal sealed record TemplatePart(int[] Ids, char Sequence);

internal sealed class TemplateProcessor(TemplatePart[] single, TemplatePart[] pair) : PostProcessor
{
    public override void Process(List<int> ids, List<int>? second = null)
    {
        int[] first = [.. ids];
        ids.Clear();
        foreach (TemplatePart part in second is null ? single : pair)
        {
            if (part.Sequence == 'A') ids.AddRange(first);
            else if (part.Sequence == 'B') ids.AddRange((IEnumerable<int>?)second ?? []);
            else ids.AddRange(part.Ids);
        }
    }

    public override int Added(bool isPair) => (isPair ? pair : single).Sum(p => p.Ids.Length);
}

internal sealed class SequenceProcessor(PostProcessor[] steps) : PostProcessor
{
    // (the first step joins a pair into one; those after it see one sequence)
    public override void Process(List<int> ids, List<int>? pair = null)
    {
        foreach (PostProcessor step in steps)
        {
            step.Process(ids, pair);
            pair = null;
        }
        if (pair is not null) ids.AddRange(pair); // (no step joined them: A then B, as the library's default)
    }

    public override int Added(bool pair) => steps.Select((s, i) => s.Added(pair && i == 0)).Sum();
}
