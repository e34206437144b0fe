using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// WordPiece (Schuster and Nakajima 2012; BERT's) as the tokenizers library's WordPiece model runs it: a piece is split
/// greedily into the longest tokens of the vocabulary from its start, each after the first looked up with the
/// <c>continuing_subword_prefix</c> ("##"); a piece with a stretch no token covers, or of more than
/// <c>max_input_chars_per_word</c> characters, is the unknown token alone.
/// </summary>
internal sealed class WordPiece : TokenModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _unknown; // −1: the vocabulary lacks the unk_token (an error only when a word needs it, as in the library)
    private readonly string _unk, _prefix;
    private readonly int _maxChars;
    private readonly PieceCache _cache;

    private WordPiece(Dictionary<string, int> vocab, string unk, string prefix, int maxChars)
    {
        _vocab = vocab;
        _lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _unk = unk;
        _unknown = vocab.TryGetValue(unk, out int unknown) ? unknown : -1;
        _prefix = prefix;
        _maxChars = maxChars;
        _cache = new PieceCache(Split);
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public static WordPiece Read(JsonElement json, string where)
    {
        Dictionary<string, int> vocab = ReadVocabulary(json, where);
        string unk = Json.OptionalString(json, "unk_token") ?? "[UNK]";
        int maxChars = 100;
        if (json.TryGetProperty("max_input_chars_per_word", out JsonElement max) && max.ValueKind != JsonValueKind.Null
            && !(max.ValueKind == JsonValueKind.Number && max.TryGetInt32(out maxChars) && maxChars >= 0))
            throw new InvalidDataException($"{where}: expected max_input_chars_per_word as a whole number 0 or more, got {Json.Short(max)}.");
        return new WordPiece(vocab, unk, Json.OptionalString(json, "continuing_subword_prefix") ?? "##", maxChars);
    }

    public override void Encode(string piece, List<int> ids)
    {
        if (piece.Length > 0) _cache.Encode(piece, ids);
    }

    /// <summary>The piece's tokens: the longest of the vocabulary from its start, then after the prefix; or the unknown token alone.</summary>
    private int[] Split(string piece)
    {
        var ids = new List<int>(4);
        if (piece.Length > _maxChars && CountRunes(piece) > _maxChars) return [Unknown(piece)];
        // the prefix, then the candidate after it: one buffer, looked up as a span (nothing allocated per candidate)
        int length = _prefix.Length + piece.Length;
        char[]? onHeap = length > 256 ? new char[length] : null;
        Span<char> buffer = onHeap ?? stackalloc char[256];
        _prefix.CopyTo(buffer);
        for (int start = 0; start < piece.Length;)
        {
            int end = piece.Length, id = -1;
            while (start < end)
            {
                scoped ReadOnlySpan<char> candidate = piece.AsSpan(start, end - start);
                if (start > 0)
                {
                    candidate.CopyTo(buffer[_prefix.Length..]);
                    candidate = buffer[..(_prefix.Length + candidate.Length)];
                }
                if (_lookup.TryGetValue(candidate, out id)) break;
                id = -1;
                // one character shorter (a surrogate pair is one character)
                end -= end - 2 >= start && char.IsLowSurrogate(piece[end - 1]) && char.IsHighSurrogate(piece[end - 2]) ? 2 : 1;
            }
            if (id < 0) return [Unknown(piece)];
            ids.Add(id);
            start = end;
        }
        return [.. ids];
    }

    /// <summary>The unknown token's id for <paramref name="piece"/>, or the library's error where the vocabulary lacks it.</summary>
    private int Unknown(string piece) => _unknown >= 0 ? _unknown
        : throw new InvalidOperationException($"WordPiece: {Json.Quote(piece)} has no tokens in the vocabulary, and the unk_token {Json.Quote(_unk)} it would be is not in the vocabulary either.");

    private static int CountRunes(string text)
    {
        int count = 0;
        foreach (Rune _ in text.EnumerateRunes()) count++;
        return count;
    }
}

/// <summary>
/// BERT's normalizer (<c>BertNormalizer</c>): with <c>clean_text</c>, NUL, U+FFFD and control characters (categories Cc,
/// Cf, Co, Cs; tab, newline and carriage return kept) removed and every whitespace made a space; with
/// <c>handle_chinese_chars</c>, a space on each side of every CJK ideograph; with <c>strip_accents</c> (by default as
/// <c>lowercase</c>), NFD and the nonspacing marks removed; with <c>lowercase</c>, lower case as Rust's <c>to_lowercase</c>.
/// </summary>
internal sealed class BertNormalizer(bool cleanText, bool chineseChars, bool stripAccents, bool lowercase) : Normalizer
{
    public static BertNormalizer Read(JsonElement json, string where)
    {
        bool lower = Json.Bool(json, "lowercase", true, where);
        bool strip = json.TryGetProperty("strip_accents", out JsonElement s) && s.ValueKind != JsonValueKind.Null ? Json.Bool(json, "strip_accents", lower, where) : lower;
        return new BertNormalizer(Json.Bool(json, "clean_text", true, where), Json.Bool(json, "handle_chinese_chars", true, where), strip, lower);
    }

    /// <summary>
    /// As transformers' BertTokenizerFast rebuilds it from tokenizer_config.json: <c>do_lower_case</c>, <c>strip_accents</c>
    /// (null: as the lower case) and <c>tokenize_chinese_chars</c> over the file's, clean_text kept.
    /// </summary>
    public BertNormalizer Configured(bool lower, bool? strip, bool chinese) => new(cleanText, chinese, strip ?? lower, lower);

    public override string Normalize(string text, ref bool fromStart)
    {
        var result = new StringBuilder(text.Length + 8);
        Span<char> units = stackalloc char[2];
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (cleanText)
            {
                if (rune.Value is 0 or 0xFFFD || IsControl(rune))
                {
                    if (result.Length == 0) fromStart = false;
                    continue;
                }
                if (rune.Value is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(rune))
                {
                    result.Append(' ');
                    continue;
                }
            }
            int n = rune.EncodeToUtf16(units);
            if (chineseChars && IsChinese(rune.Value)) result.Append(' ').Append(units[..n]).Append(' ');
            else result.Append(units[..n]);
        }
        string normalized = result.ToString();
        if (stripAccents)
        {
            result.Clear();
            foreach (Rune rune in UnicodeNormalization.Normalize(normalized, NormalizationForm.FormD).EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) result.Append(units[..rune.EncodeToUtf16(units)]);
                else if (result.Length == 0) fromStart = false;
            }
            normalized = result.ToString();
        }
        return lowercase ? LowercaseNormalizer.Lower(normalized) : normalized;
    }

    /// <summary>A control character as BERT's clean_text removes it (tab, newline and carriage return are whitespace instead).</summary>
    private static bool IsControl(Rune rune) => rune.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    /// <summary>The CJK Unified Ideographs blocks BERT sets apart (its extensions A–E and the compatibility ideographs).</summary>
    internal static bool IsChinese(int c) => c is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
        or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}

/// <summary>
/// WordPiece's decoder: each token after the first joined with a space before it, or without one where it begins with the
/// prefix ("##", which is dropped); with <c>cleanup</c>, the spaces before punctuation and English contractions taken out as
/// the library's <c>cleanup</c> takes them.
/// </summary>
internal sealed class WordPieceDecoder(string prefix, bool cleanup) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var decoded = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            if (i != 0) token = token.StartsWith(prefix, StringComparison.Ordinal) ? token[prefix.Length..] : " " + token;
            decoded.Add(cleanup ? Cleanup(token) : token);
        }
        return decoded;
    }

    private static string Cleanup(string text) => text.Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal).Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal).Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" do not", " don't", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal).Replace(" 've", "'ve", StringComparison.Ordinal).Replace(" 're", "'re", StringComparison.Ordinal);
}
