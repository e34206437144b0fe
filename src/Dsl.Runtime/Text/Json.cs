using System;
using System.Linq;
using System.IO;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>Reading tokenizer.json's parts, each refusal naming where in the file and what was expected.</summary>
internal static class Json
{
    /// <summary>The part's <c>type</c>, or <paramref name="fallback"/> when it has none.</summary>
    public static string Type(JsonElement part, string where, string? fallback = null)
    {
        if (part.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected an object, got {Short(part)}.");
        if (part.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String) return type.GetString()!;
        return fallback ?? throw new InvalidDataException($"{where}: expected a \"type\", got {Short(part)}.");
    }

    /// <summary>A property that must be there (of any kind).</summary>
    public static JsonElement Property(JsonElement part, string name, string where) =>
        part.ValueKind == JsonValueKind.Object && part.TryGetProperty(name, out JsonElement v) ? v
            : throw new InvalidDataException($"{where}: expected a \"{name}\", got {Short(part)}.");

    public static string String(JsonElement part, string name, string where, string? fallback = null)
    {
        if (part.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String) return v.GetString()!;
        if (fallback is not null && (!part.TryGetProperty(name, out v) || v.ValueKind == JsonValueKind.Null)) return fallback;
        throw new InvalidDataException($"{where}: expected a string \"{name}\", got {(part.TryGetProperty(name, out v) ? Short(v) : "none")}.");
    }

    public static string? OptionalString(JsonElement part, string name) =>
        part.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Bool(JsonElement part, string name, bool fallback, string where)
    {
        if (!part.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{where}: expected true or false for \"{name}\", got {Short(v)}."),
        };
    }

    public static int Int(JsonElement part, string name, int fallback, string where)
    {
        if (!part.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int value) && value >= 0) return value;
        throw new InvalidDataException($"{where}: expected a whole number 0 or more for \"{name}\", got {Short(v)}.");
    }

    public static JsonElement Array(JsonElement part, string name, string where)
    {
        if (part.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Array) return v;
        throw new InvalidDataException($"{where}: expected an array \"{name}\", got {(part.TryGetProperty(name, out v) ? Short(v) : "none")}.");
    }

    /// <summary>
    /// A Sequence part's steps: each object of the array <paramref name="name"/> read by <paramref name="parse"/> (its place
    /// named in messages), those it reads as nothing left out.
    /// </summary>
    public static T[] Steps<T>(JsonElement part, string name, string where, Func<JsonElement, string, T?> parse) where T : class =>
        Array(part, name, where).EnumerateArray().Select((step, i) => parse(step, $"{where}.{name}[{i}]")).OfType<T>().ToArray();

    /// <summary>A string as JSON writes it, quoted and escaped (readably: "▁the", "&lt;s&gt;"), for messages.</summary>
    public static string Quote(string text) =>
        "\"" + JsonEncodedText.Encode(text, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";

    /// <summary>A JSON value as the start of its text (a vocabulary would fill a message).</summary>
    public static string Short(JsonElement value)
    {
        string text = value.GetRawText();
        return text.Length <= 80 ? text : text[..77] + "…";
    }

    /// <summary>A part whose type is not read here: the message names it and what is.</summary>
    public static InvalidDataException Unsupported(string where, string type, string supported) =>
        new($"{where}: type \"{type}\" is not supported (supported: {supported}).");
}
