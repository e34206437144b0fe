using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dsl.Text;

/// <summary>
/// A tokenizer.json pattern (<c>{"String": "…"}</c> or <c>{"Regex": "…"}</c>) matched over code points, as the tokenizers
/// library's Oniguruma regexes match: .NET's regexes read UTF-16, where a character past U+FFFF (an emoji, a CJK Extension B
/// ideograph, a mathematical letter) is two surrogates, neither of which is a letter, a number or a symbol. A text holding
/// such characters is matched with each folded to one placeholder (a noncharacter, U+FDD0 + its general category) and the
/// pattern's classes widened to take the placeholders of their categories, so that <c>[^\r\n\p{L}\p{N}]?\p{L}+</c> reads
/// "🙂you" as one piece, as LLaMA 3's pre-tokenizer does.
/// </summary>
internal sealed class TextPattern
{
    private readonly string? _literal;
    private readonly Regex? _regex, _folded;

    private TextPattern(string? literal, Regex? regex, Regex? folded)
    {
        _literal = literal;
        _regex = regex;
        _folded = folded;
    }

    /// <summary>A literal pattern (the tokenizers library's <c>SplitPattern::String</c>).</summary>
    public static TextPattern Literal(string text) => new(text, null, null);

    /// <summary>A regex, its code-point form beside it.</summary>
    public static TextPattern Regex(string pattern, string where)
    {
        // (Multiline: Oniguruma's Ruby syntax, the library's, reads ^ and $ at every line's start and end)
        const RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.Multiline;
        // the folded texts hold a category's placeholder where such a character stood, so one written in the pattern would
        // never match (and .NET would read it as two surrogates): refused rather than matched otherwise than the library
        for (int i = 0; i < pattern.Length; i++)
        {
            if (char.IsSurrogate(pattern[i]))
                throw new InvalidDataException($"{where}: the regex {Json.Quote(pattern)} holds {(char.IsHighSurrogate(pattern[i]) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1]) ? $"U+{char.ConvertToUtf32(pattern[i], pattern[i + 1]):X4}" : $"a lone surrogate (U+{(int)pattern[i]:X4})")}, a character past U+FFFF, which a pattern here cannot match (it matches such characters in a text by their general category, \\p{{…}}, alone).");
        }
        try
        {
            string onig = OnigurumaWords(pattern);
            return new TextPattern(null, new Regex(onig, options), new Regex(Widen(onig), options));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: the regex {Json.Quote(pattern)} is not one .NET reads ({e.Message}).", e);
        }
    }

    /// <summary>Reads <c>{"String": "…"}</c> or <c>{"Regex": "…"}</c> (a bare string is a literal, as older files write it).</summary>
    public static TextPattern Parse(JsonElement pattern, string where)
    {
        if (pattern.ValueKind == JsonValueKind.String) return Literal(pattern.GetString()!);
        if (pattern.ValueKind == JsonValueKind.Object)
        {
            if (pattern.TryGetProperty("String", out JsonElement s) && s.ValueKind == JsonValueKind.String) return Literal(s.GetString()!);
            if (pattern.TryGetProperty("Regex", out JsonElement r) && r.ValueKind == JsonValueKind.String) return Regex(r.GetString()!, where);
        }
        throw new InvalidDataException($"{where}: expected a pattern {{\"String\": …}} or {{\"Regex\": …}}, got {pattern.GetRawText()}.");
    }

    /// <summary>
    /// The non-overlapping matches in <paramref name="text"/>, left to right, as (start, end) offsets into it, empty ones
    /// included as Oniguruma finds them: an empty match where the previous match ended is skipped (.NET, as Perl, would
    /// give it: "x*" over "axb" is (0, 0), (1, 2), (3, 3) there, and (2, 2) too here).
    /// </summary>
    public void Matches(string text, List<(int Start, int End)> into)
    {
        into.Clear();
        if (text.Length == 0) return; // (the library finds nothing in an empty text, an empty match included)
        if (_literal is not null)
        {
            if (_literal.Length == 0) return;
            for (int at = text.IndexOf(_literal, StringComparison.Ordinal); at >= 0; at = text.IndexOf(_literal, at + _literal.Length, StringComparison.Ordinal))
                into.Add((at, at + _literal.Length));
            return;
        }
        int last = -1; // where the previous match ended
        if (!HasSurrogates(text))
        {
            foreach (ValueMatch m in _regex!.EnumerateMatches(text))
            {
                if (m.Length == 0 && m.Index == last) continue;
                into.Add((m.Index, m.Index + m.Length));
                last = m.Index + m.Length;
            }
            return;
        }
        var (folded, map) = Fold(text);
        foreach (ValueMatch m in _folded!.EnumerateMatches(folded))
        {
            if (m.Length == 0 && m.Index == last) continue;
            into.Add((map[m.Index], map[m.Index + m.Length]));
            last = m.Index + m.Length;
        }
    }

    /// <summary>Every match replaced by <paramref name="content"/> (the Replace decoder), an empty match taking it too.</summary>
    public string Replace(string text, string content)
    {
        bool fromStart = true;
        return Replace(text, content, ref fromStart);
    }

    /// <summary>
    /// As <see cref="Replace(string, string)"/> (the Replace normalizer); <paramref name="fromStart"/> cleared where a match at
    /// the start is replaced by nothing (the text's first characters gone).
    /// </summary>
    public string Replace(string text, string content, ref bool fromStart)
    {
        if (_literal is not null)
        {
            if (_literal.Length == 0) return text;
            if ((content.Length == 0 || CodePoints(_literal) > 1) && text.StartsWith(_literal, StringComparison.Ordinal)) fromStart = false;
            return text.Replace(_literal, content, StringComparison.Ordinal);
        }
        var matches = new List<(int Start, int End)>();
        Matches(text, matches);
        if (matches.Count == 0) return text;
        // the library aligns a replacement to the last character it replaces: the text's first character is gone where a
        // match at the start is replaced by nothing, or spans more than one character; what an empty match inserts at the
        // start is aligned to offset 0, the text's start again
        if (matches[0] is (0, > 0) && (content.Length == 0 || CodePoints(text.AsSpan(0, matches[0].End)) > 1)) fromStart = false;
        else if (matches[0] is (0, 0) && content.Length > 0) fromStart = true;
        var result = new StringBuilder(text.Length);
        int at = 0;
        foreach (var (start, end) in matches)
        {
            result.Append(text, at, start - at).Append(content);
            at = end;
        }
        return result.Append(text, at, text.Length - at).ToString();
    }

    private static int CodePoints(ReadOnlySpan<char> text)
    {
        int n = 0;
        foreach (Rune _ in text.EnumerateRunes()) n++;
        return n;
    }

    private static bool HasSurrogates(string text)
    {
        foreach (char c in text)
        {
            if (char.IsSurrogate(c)) return true;
        }
        return false;
    }

    /// <summary>The placeholder of a code point past U+FFFF: U+FDD0 + its general category (a noncharacter, unassigned: Cn).</summary>
    private static char Placeholder(UnicodeCategory category) => (char)(0xFDD0 + (int)category);

    /// <summary>The text with each code point past U+FFFF folded to its placeholder, and each folded offset's offset in the text.</summary>
    private static (string Folded, int[] Map) Fold(string text)
    {
        var folded = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                folded.Append(Placeholder(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))));
                i++;
            }
            else folded.Append(text[i]);
        }
        map.Add(text.Length);
        return (folded.ToString(), map.ToArray());
    }

    // The general categories by their two-letter names, in UnicodeCategory's order.
    private static readonly string[] s_categories =
        ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Cn"];

    /// <summary>The placeholders (as <c>\uFDxx</c> escapes) of the categories a class name covers: "L" all letters, "Lu" one; none for a block.</summary>
    private static string Placeholders(string name)
    {
        var text = new StringBuilder();
        for (int c = 0; c < s_categories.Length; c++)
        {
            if (name.Length == 1 ? s_categories[c][0] == name[0] : s_categories[c] == name) text.Append("\\u").Append(((int)Placeholder((UnicodeCategory)c)).ToString("X4", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>
    /// Walks a pattern's escapes (<c>\x</c>, <c>\p{…}</c>) knowing whether each stands in a character class; <paramref name="map"/>
    /// gives an escape's replacement (null: kept as written).
    /// </summary>
    private static string Rewrite(string pattern, Func<string, bool, string?> map)
    {
        var result = new StringBuilder(pattern.Length + 64);
        int depth = 0; // inside a character class (nested classes counted)
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                int end = i + 1;
                if (pattern[i + 1] is 'p' or 'P' && i + 2 < pattern.Length && pattern[i + 2] == '{' && pattern.IndexOf('}', i + 3) is int close and > 0) end = close;
                string escape = pattern.Substring(i, end - i + 1);
                result.Append(map(escape, depth > 0) ?? escape);
                i = end;
                continue;
            }
            if (c == '[')
            {
                depth++;
                result.Append(c);
                // a ']' first in a class (after '^') is a literal
                if (i + 1 < pattern.Length && pattern[i + 1] == '^') result.Append(pattern[++i]);
                if (i + 1 < pattern.Length && pattern[i + 1] == ']') result.Append(pattern[++i]);
                continue;
            }
            if (c == ']' && depth > 0) depth--;
            result.Append(c);
        }
        return result.ToString();
    }

    /// <summary>
    /// Oniguruma's <c>\w</c> as the tokenizers library builds it, in .NET's terms: letters, marks, decimal and letter numbers,
    /// connector punctuation, and Latin-1's ¹ ² ³ ¼ ½ ¾ (no other number: ⁴, ₂ and ① are not word characters there; found
    /// character by character against the library). .NET's own <c>\w</c> leaves out spacing and enclosing marks and letter
    /// numbers. <c>\W</c> in a class is kept as written.
    /// </summary>
    private const string OnigurumaWord = @"\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\u00B2\u00B3\u00B9\u00BC-\u00BE";

    private static string OnigurumaWords(string pattern) => Rewrite(pattern, (escape, inClass) => escape switch
    {
        @"\w" => inClass ? OnigurumaWord : "[" + OnigurumaWord + "]",
        @"\W" when !inClass => "[^" + OnigurumaWord + "]",
        _ => null,
    });

    /// <summary>
    /// The pattern for folded texts: each <c>\p{X}</c> and <c>\d</c> takes the placeholders of its categories (in a class,
    /// appended to it; outside, as a class of its own); <c>\P{X}</c> and <c>\D</c> outside a class leave them out.
    /// </summary>
    private static string Widen(string pattern) => Rewrite(pattern, (escape, inClass) =>
    {
        char e = escape[1];
        string? name = escape.Length > 3 ? escape[3..^1] : null;
        bool negated = e is 'P' or 'D' || (name?.StartsWith('^') ?? false);
        if (name is not null && name.StartsWith('^')) name = name[1..];
        string extra = name is not null ? Placeholders(name) : e is 'd' or 'D' ? Placeholders("Nd") : "";
        if (extra.Length == 0 || (negated && inClass)) return null;
        if (inClass) return escape + extra;
        return negated ? "[^" + (e is 'D' ? @"\d" : @"\p{" + name + "}") + extra + "]" : "[" + escape + extra + "]";
    });
}
