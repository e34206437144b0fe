using System;
using System.Collections.Generic;
using System.IO;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>One of tokenizer.json's <c>added_tokens</c>: a string matched whole in the text before the model sees it.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized)
{
    public static AddedToken Parse(JsonElement json, string where)
    {
        if (json.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected an added token object, got {Json.Short(json)}.");
        int id = json.TryGetProperty("id", out JsonElement i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out int value) && value >= 0 ? value
            : throw new InvalidDataException($"{where}: expected an id 0 or more, got {Json.Short(json)}.");
        string content = Json.String(json, "content", where);
        return new AddedToken(id, content, Json.Bool(json, "special", false, where), Json.Bool(json, "single_word", false, where),
            Json.Bool(json, "lstrip", false, where), Json.Bool(json, "rstrip", false, where), Json.Bool(json, "normalized", true, where));
    }
}

/// <summary>A stretch of text: an added token's id, or text for the normalizer and the model (Id −1), from offset Start of what was split.</summary>
internal readonly record struct Segment(string Text, int Id, int Start);

/// <summary>
/// Finds added tokens in a text as the tokenizers library does: the leftmost, longest match first, then on from its end
/// (Aho–Corasick's leftmost-longest); a <c>single_word</c> token only between non-word characters, <c>lstrip</c> and
/// <c>rstrip</c> taking the whitespace beside it.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, (string Content, AddedToken Token)[]> _byFirst;

    /// <summary>Matches <paramref name="tokens"/> by the text each shows (its content, normalized when it is matched in normalized text).</summary>
    public AddedTokenMatcher(IEnumerable<(string Content, AddedToken Token)> tokens) =>
        _byFirst = tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    public bool IsEmpty => _byFirst.Count == 0;

    public void Split(string text, List<Segment> into)
    {
        if (IsEmpty)
        {
            if (text.Length > 0) into.Add(new Segment(text, -1, 0));
            return;
        }
        int from = 0; // where the text not yet written starts
        for (int i = 0; i < text.Length;)
        {
            if (Longest(text, i) is not var (content, token))
            {
                i++;
                continue;
            }
            int start = i, stop = i + content.Length;
            i = stop;
            if (token.SingleWord && ((start > 0 && Rune.TryGetRuneAt(text, char.IsLowSurrogate(text[start - 1]) && start > 1 ? start - 2 : start - 1, out Rune before) && IsWord(before))
                || (stop < text.Length && Rune.TryGetRuneAt(text, stop, out Rune after) && IsWord(after)))) continue;
            if (token.LStrip)
            {
                int s = start;
                while (s > 0 && char.IsWhiteSpace(text[s - 1])) s--;
                start = Math.Max(s, from);
            }
            if (token.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
                i = stop;
            }
            if (start > from) into.Add(new Segment(text[from..start], -1, from));
            into.Add(new Segment(text[start..stop], token.Id, start));
            from = stop;
        }
        if (from < text.Length) into.Add(new Segment(text[from..], -1, from));
    }

    private (string Content, AddedToken Token)? Longest(string text, int at)
    {
        if (!_byFirst.TryGetValue(text[at], out var candidates)) return null;
        foreach (var candidate in candidates)
        {
            if (text.AsSpan(at).StartsWith(candidate.Content, StringComparison.Ordinal)) return candidate;
        }
        return null;
    }

    /// <summary>The regex crate's <c>\w</c>, which the library's single_word test reads: letters and letter numbers, marks, decimal digits, connector punctuation, joiners.</summary>
    private static bool IsWord(Rune r) => r.Value is 0x200C or 0x200D || Rune.GetUnicodeCategory(r) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
        or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation;
}
