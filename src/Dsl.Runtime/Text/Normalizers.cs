using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>tokenizer.json's <c>normalizer</c>: text to text before pre-tokenization, one step of the tokenizers library's each.</summary>
internal abstract class Normalizer
{
    /// <summary>The text normalized.</summary>
    public string Normalize(string text)
    {
        bool fromStart = true;
        return Normalize(text, ref fromStart);
    }

    /// <summary>
    /// The text normalized; <paramref name="fromStart"/> cleared where the result's first character no longer comes from the
    /// text's first (leading characters removed: a Strip, a Replace by nothing, StripAccents), and set again where a Replace's
    /// empty match at the start puts something before it (the library aligns that to the start), as the
    /// library's offsets say: Metaspace's <c>prepend_scheme</c> "first" prepends only to a piece whose original offset is 0.
    /// </summary>
    public abstract string Normalize(string text, ref bool fromStart);

    public const string Supported = "Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, BertNormalizer, Precompiled, Nmt";

    /// <summary>The normalizer a tokenizer.json describes (null: none).</summary>
    public static Normalizer? Parse(JsonElement json, string where)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = Json.Type(json, where);
        return type switch
        {
            "Sequence" => new SequenceNormalizer(Json.Steps(json, "normalizers", where, Parse)),
            "Prepend" => new PrependNormalizer(Json.String(json, "prepend", where)),
            "Replace" => new ReplaceNormalizer(TextPattern.Parse(Json.Property(json, "pattern", where), where), Json.String(json, "content", where)),
            "NFC" => new FormNormalizer(NormalizationForm.FormC),
            "NFD" => new FormNormalizer(NormalizationForm.FormD),
            "NFKC" => new FormNormalizer(NormalizationForm.FormKC),
            "NFKD" => new FormNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(Json.Bool(json, "strip_left", true, where), Json.Bool(json, "strip_right", true, where)),
            "StripAccents" => new StripAccentsNormalizer(),
            "BertNormalizer" => BertNormalizer.Read(json, where),
            "Precompiled" => PrecompiledNormalizer.Read(json, where),
            "Nmt" => new NmtNormalizer(),
            _ => throw Json.Unsupported(where, type, Supported),
        };
    }
}

internal sealed class SequenceNormalizer(Normalizer[] steps) : Normalizer
{
    public override string Normalize(string text, ref bool fromStart)
    {
        foreach (Normalizer step in steps) text = step.Normalize(text, ref fromStart);
        return text;
    }
}

/// <summary>Prepends a string to a non-empty text (SentencePiece's "▁" before the first word).</summary>
internal sealed class PrependNormalizer(string prefix) : Normalizer
{
    // (what the library prepends takes the first character's place in the offsets: fromStart stays as it was)
    public override string Normalize(string text, ref bool fromStart) => text.Length == 0 ? text : prefix + text;
}

internal sealed class ReplaceNormalizer(TextPattern pattern, string content) : Normalizer
{
    public override string Normalize(string text, ref bool fromStart) => pattern.Replace(text, content, ref fromStart);
}

/// <summary>A Unicode normalization form, from the tables of <see cref="UnicodeNormalization"/> (alike on every platform, and without ICU).</summary>
internal sealed class FormNormalizer(NormalizationForm form) : Normalizer
{
    public override string Normalize(string text, ref bool fromStart) => UnicodeNormalization.Normalize(text, form);
}

/// <summary>
/// Lower case character by character, as Rust's <c>char::to_lowercase</c>: the invariant simple mapping, and the one
/// unconditional full mapping, İ (U+0130) to "i̇" (i and U+0307).
/// </summary>
internal sealed class LowercaseNormalizer : Normalizer
{
    public override string Normalize(string text, ref bool fromStart) => Lower(text);

    /// <summary>The text in lower case, as Rust's <c>str::to_lowercase</c> character by character.</summary>
    public static string Lower(string text) =>
        !text.Contains('\u0130') ? text.ToLowerInvariant() : text.Replace("\u0130", "i\u0307", StringComparison.Ordinal).ToLowerInvariant();
}

/// <summary>Leading and trailing whitespace removed (each side as asked).</summary>
internal sealed class StripNormalizer(bool left, bool right) : Normalizer
{
    public override string Normalize(string text, ref bool fromStart)
    {
        if (left && text.Length > 0 && char.IsWhiteSpace(text[0])) fromStart = false;
        return left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
    }
}

/// <summary>Combining marks removed (after NFD: accents off their letters).</summary>
internal sealed class StripAccentsNormalizer : Normalizer
{
    public override string Normalize(string text, ref bool fromStart)
    {
        var result = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
                result.Append(rune.ToString());
            else if (result.Length == 0) fromStart = false;
        }
        return result.ToString();
    }
}
