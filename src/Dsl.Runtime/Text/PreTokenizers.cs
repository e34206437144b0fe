using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// A piece of text on its way to the model: its text, and whether it starts where the input did (offset 0 of the text
/// given to Encode, before any added token: what Metaspace's <c>prepend_scheme</c> "first" asks).
/// </summary>
internal readonly record struct Piece(string Text, bool AtStart);

/// <summary>How a split keeps what its pattern matches (the tokenizers library's <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>tokenizer.json's <c>pre_tokenizer</c>: pieces into smaller pieces, each then encoded by the model alone.</summary>
internal abstract class PreTokenizer
{
    public const string Supported = "Sequence, ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer";

    /// <summary>Splits each of <paramref name="pieces"/> in place of it.</summary>
    public abstract void Split(List<Piece> pieces);

    public static PreTokenizer? Parse(JsonElement json, string where)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = Json.Type(json, where);
        return type switch
        {
            "Sequence" => new SequencePreTokenizer(Json.Steps(json, "pretokenizers", where, Parse)),
            "ByteLevel" => new ByteLevelPreTokenizer(Json.Bool(json, "add_prefix_space", true, where), Json.Bool(json, "use_regex", true, where)),
            "Split" => new SplitPreTokenizer(TextPattern.Parse(Json.Property(json, "pattern", where), where), Behavior(json, where), Json.Bool(json, "invert", false, where)),
            "Metaspace" => new MetaspacePreTokenizer(Metaspace.Parse(json, where), Json.Bool(json, "split", true, where)),
            "Digits" => new CharSplitPreTokenizer(Rune.IsNumber, Json.Bool(json, "individual_digits", false, where) ? SplitBehavior.Isolated : SplitBehavior.Contiguous),
            "Punctuation" => new CharSplitPreTokenizer(IsPunctuation, Behavior(json, where, SplitBehavior.Isolated)),
            // the regex crate's \w (Alphabetic, marks, decimal digits, connector punctuation, joiners), not .NET's (no Mc)
            "Whitespace" => new SplitPreTokenizer(TextPattern.Regex(@"[\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\u200C\u200D]+|[^\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\u200C\u200D\s]+", where), SplitBehavior.Removed, invert: true),
            "WhitespaceSplit" => new CharSplitPreTokenizer(Rune.IsWhiteSpace, SplitBehavior.Removed),
            // BERT's: split at whitespace (dropped), then each punctuation character (ASCII's and Unicode's P*) on its own
            "BertPreTokenizer" => new SequencePreTokenizer([new CharSplitPreTokenizer(Rune.IsWhiteSpace, SplitBehavior.Removed),
                new CharSplitPreTokenizer(IsPunctuation, SplitBehavior.Isolated)]),
            _ => throw Json.Unsupported(where, type, Supported),
        };
    }

    private static SplitBehavior Behavior(JsonElement json, string where, SplitBehavior? fallback = null)
    {
        string? name = Json.OptionalString(json, "behavior");
        if (name is null && fallback is { } f) return f;
        return name switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            _ => throw new System.IO.InvalidDataException($"{where}: expected a behavior (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous), got {(name is null ? "none" : $"\"{name}\"")}."),
        };
    }

    /// <summary>The tokenizers library's punctuation: ASCII punctuation and Unicode's P* categories.</summary>
    private static bool IsPunctuation(Rune r) =>
        (r.Value is > 0x20 and < 0x7F && !char.IsAsciiLetterOrDigit((char)r.Value)) || Rune.GetUnicodeCategory(r) is
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>
    /// The pieces a split leaves of <paramref name="piece"/> given its pattern's <paramref name="matches"/> (offsets, in order),
    /// inverted when the matches are what to keep; empty pieces are dropped.
    /// </summary>
    protected static void SplitBy(Piece piece, List<(int Start, int End)> matches, SplitBehavior behavior, bool invert, List<Piece> into)
    {
        string text = piece.Text;
        // the text as alternating runs: (start, end, matched)
        var runs = new List<(int Start, int End, bool Match)>(2 * matches.Count + 1);
        int at = 0;
        foreach (var (start, end) in matches)
        {
            if (start > at) runs.Add((at, start, invert));
            runs.Add((start, end, !invert));
            at = end;
        }
        if (at < text.Length) runs.Add((at, text.Length, invert));
        // as the tokenizers library folds them (NormalizedString::split): a delimiter joins the piece before it (or after it)
        // unless that one was a delimiter too; Contiguous joins runs of delimiters
        var kept = new List<(int Start, int End)>(runs.Count);
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var r in runs) if (!r.Match) kept.Add((r.Start, r.End));
                break;
            case SplitBehavior.Isolated:
                foreach (var r in runs) kept.Add((r.Start, r.End));
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var r in runs)
                {
                    if (r.Match && !previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, r.End);
                    else kept.Add((r.Start, r.End));
                    previousMatch = r.Match;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (int i = runs.Count - 1; i >= 0; i--)
                {
                    var r = runs[i];
                    if (r.Match && !previousMatch && kept.Count > 0) kept[^1] = (r.Start, kept[^1].End);
                    else kept.Add((r.Start, r.End));
                    previousMatch = r.Match;
                }
                kept.Reverse();
                break;
            case SplitBehavior.Contiguous:
                foreach (var r in runs)
                {
                    if (r.Match == previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, r.End);
                    else kept.Add((r.Start, r.End));
                    previousMatch = r.Match;
                }
                break;
        }
        foreach (var (start, end) in kept)
        {
            if (end > start) into.Add(new Piece(text.Substring(start, end - start), piece.AtStart && start == 0));
        }
    }

    /// <summary>Applies <paramref name="split"/> to every piece of <paramref name="pieces"/>.</summary>
    protected static void Each(List<Piece> pieces, Action<Piece, List<Piece>> split)
    {
        var result = new List<Piece>(pieces.Count * 2);
        foreach (Piece piece in pieces) split(piece, result);
        pieces.Clear();
        pieces.AddRange(result);
    }
}

internal sealed class SequencePreTokenizer(PreTokenizer[] steps) : PreTokenizer
{
    public override void Split(List<Piece> pieces)
    {
        foreach (PreTokenizer step in steps) step.Split(pieces);
    }
}

internal sealed class SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert) : PreTokenizer
{
    public override void Split(List<Piece> pieces)
    {
        var matches = new List<(int Start, int End)>();
        Each(pieces, (piece, into) =>
        {
            pattern.Matches(piece.Text, matches);
            SplitBy(piece, matches, behavior, invert, into);
        });
    }
}

/// <summary>Splits where single code points of a kind stand (digits, punctuation, whitespace).</summary>
internal sealed class CharSplitPreTokenizer(Func<Rune, bool> kind, SplitBehavior behavior) : PreTokenizer
{
    public override void Split(List<Piece> pieces)
    {
        var matches = new List<(int Start, int End)>();
        Each(pieces, (piece, into) =>
        {
            matches.Clear();
            string text = piece.Text;
            for (int i = 0; i < text.Length;)
            {
                Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int used);
                if (kind(rune)) matches.Add((i, i + used));
                i += used;
            }
            SplitBy(piece, matches, behavior, invert: false, into);
        });
    }
}

/// <summary>
/// GPT-2's byte-level pre-tokenization: a space before a piece that has none (<c>add_prefix_space</c>), GPT-2's split into
/// words, numbers, punctuation and spaces (<c>use_regex</c>), then each piece's UTF-8 bytes as <see cref="ByteLevel"/>'s
/// printable characters.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    private static readonly TextPattern s_words = TextPattern.Regex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", "ByteLevel");

    public override void Split(List<Piece> pieces)
    {
        var matches = new List<(int Start, int End)>();
        Each(pieces, (piece, into) =>
        {
            if (addPrefixSpace && !piece.Text.StartsWith(' ')) piece = piece with { Text = " " + piece.Text };
            if (!useRegex)
            {
                into.Add(piece);
                return;
            }
            s_words.Matches(piece.Text, matches);
            SplitBy(piece, matches, SplitBehavior.Isolated, invert: false, into);
        });
        for (int i = 0; i < pieces.Count; i++) pieces[i] = pieces[i] with { Text = ByteLevel.Encode(pieces[i].Text) };
    }
}

/// <summary>SentencePiece's word boundary: spaces as "▁", a "▁" before the text (as <c>prepend_scheme</c> says), split before each "▁".</summary>
internal sealed class MetaspacePreTokenizer(Metaspace metaspace, bool split) : PreTokenizer
{
    public override void Split(List<Piece> pieces)
    {
        var matches = new List<(int Start, int End)>();
        Each(pieces, (piece, into) =>
        {
            piece = piece with { Text = metaspace.Prepare(piece.Text, piece.AtStart) };
            if (!split)
            {
                if (piece.Text.Length > 0) into.Add(piece);
                return;
            }
            matches.Clear();
            for (int i = piece.Text.IndexOf(metaspace.Replacement); i >= 0; i = piece.Text.IndexOf(metaspace.Replacement, i + 1)) matches.Add((i, i + 1));
            SplitBy(piece, matches, SplitBehavior.MergedWithNext, invert: false, into);
        });
    }
}

/// <summary>Metaspace's settings, shared by its pre-tokenizer and its decoder.</summary>
internal sealed record Metaspace(char Replacement, string PrependScheme)
{
    public static Metaspace Parse(JsonElement json, string where)
    {
        string replacement = Json.String(json, "replacement", where, "\u2581");
        if (replacement.Length != 1) throw new System.IO.InvalidDataException($"{where}: the replacement must be one character, got \"{replacement}\".");
        // older files say add_prefix_space (true: always) instead of prepend_scheme
        string scheme = Json.OptionalString(json, "prepend_scheme") ?? (Json.Bool(json, "add_prefix_space", true, where) ? "always" : "never");
        if (scheme is not ("always" or "first" or "never"))
            throw new System.IO.InvalidDataException($"{where}: expected a prepend_scheme of \"always\", \"first\" or \"never\", got \"{scheme}\".");
        return new Metaspace(replacement[0], scheme);
    }

    /// <summary>Spaces replaced, and the replacement put before a text that lacks it as the scheme says.</summary>
    public string Prepare(string text, bool atStart)
    {
        text = text.Replace(' ', Replacement);
        bool prepend = PrependScheme == "always" || (PrependScheme == "first" && atStart);
        return prepend && !text.StartsWith(Replacement) ? Replacement + text : text;
    }
}

/// <summary>
/// GPT-2's map of the 256 byte values to printable characters (its <c>bytes_to_unicode</c>): the printable ones stand for
/// themselves, the others for U+0100 upwards in order, so that any UTF-8 text is a string of vocabulary symbols.
/// </summary>
internal static class ByteLevel
{
    private static readonly char[] s_toChar = Table();
    private static readonly Dictionary<char, byte> s_toByte = Enumerable.Range(0, 256).ToDictionary(b => s_toChar[b], b => (byte)b);

    private static char[] Table()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = s_toChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes a token's characters stand for; null when one is not a byte's character (an added token's own text).</summary>
    public static bool TryDecode(string token, List<byte> into)
    {
        int mark = into.Count;
        foreach (char c in token)
        {
            if (!s_toByte.TryGetValue(c, out byte b))
            {
                into.RemoveRange(mark, into.Count - mark);
                return false;
            }
            into.Add(b);
        }
        return true;
    }
}
