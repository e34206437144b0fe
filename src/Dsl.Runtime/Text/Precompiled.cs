using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// SentencePiece's compiled normalization rules (<c>Precompiled</c>: T5's, ALBERT's, XLM-RoBERTa's <c>nmt_nfkc</c>, NFKC and
/// the rules for machine translation, which remove control characters and make other spaces a space), as the tokenizers
/// library applies them: a grapheme cluster (Unicode's extended ones) of fewer than 6 UTF-8 bytes is replaced by the rule of
/// the shortest key that begins it; any other, or one no key begins, character by character by each one's rule.
/// </summary>
/// <remarks>
/// <c>precompiled_charsmap</c> is base64 of: the trie's size in bytes (4 bytes, little-endian), the trie (darts-clone's
/// double array: 32-bit units of a label, a leaf flag and an offset to the children, over the keys' UTF-8 bytes; a leaf's unit
/// holds where its replacement starts), then the replacements, each ending in a NUL byte. Where a removed character leads the
/// text, the library still aligns what follows to the text's start (its transformation begins at offset 0): Metaspace's
/// "first" prepends there as before.
/// </remarks>
internal sealed class PrecompiledNormalizer : Normalizer
{
    private readonly uint[] _units;
    private readonly byte[] _replacements;
    private readonly ConcurrentDictionary<int, string> _decoded = new();

    private readonly string?[] _ascii = new string?[128]; // each ASCII character's replacement alone (null: none)

    private PrecompiledNormalizer(uint[] units, byte[] replacements)
    {
        (_units, _replacements) = (units, replacements);
        for (int c = 1; c < 128; c++) _ascii[c] = Replacement([(byte)c]);
    }

    public static PrecompiledNormalizer Read(JsonElement json, string where)
    {
        string text = Json.String(json, "precompiled_charsmap", where);
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"{where}: expected precompiled_charsmap as base64, got {Json.Quote(text.Length <= 40 ? text : text[..37] + "…")}.");
        }
        uint size = blob.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(blob) : 0;
        if (blob.Length < 4 || size / 4 < 1 || size > blob.Length - 4L)
            throw new InvalidDataException($"{where}: expected precompiled_charsmap as a trie's size (4 bytes), the trie of that many bytes and the replacements; got {blob.Length} bytes{(blob.Length >= 4 ? $", the first saying {size}" : "")}.");
        var units = new uint[size / 4];
        for (int i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + 4 * i));
        byte[] replacements = blob[(int)(4 + size)..];
        try
        {
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(replacements);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"{where}: precompiled_charsmap's replacements are not UTF-8.");
        }
        return new PrecompiledNormalizer(units, replacements);
    }

    public override string Normalize(string text, ref bool fromStart)
    {
        StringBuilder? result = null; // (null while nothing has changed)
        Span<byte> utf8 = stackalloc byte[8];
        for (int at = 0; at < text.Length;)
        {
            // an ASCII character before another (CR LF aside) is a cluster of its own, whose only key is itself
            char first = text[at];
            if (first < 128 && first != '\r' && (at + 1 == text.Length || text[at + 1] < 128))
            {
                if (_ascii[first] is { } replaced) (result ??= new StringBuilder(text, 0, at, text.Length + 8)).Append(replaced);
                else result?.Append(first);
                at++;
                continue;
            }
            ReadOnlySpan<char> cluster = text.AsSpan(at);
            cluster = cluster[..StringInfo.GetNextTextElementLength(cluster)];
            string? whole = Encoding.UTF8.GetByteCount(cluster) < 6 ? Replacement(utf8[..Encoding.UTF8.GetBytes(cluster, utf8)]) : null;
            if (whole is not null) (result ??= new StringBuilder(text, 0, at, text.Length + 8)).Append(whole);
            else
            {
                for (int i = 0; i < cluster.Length;)
                {
                    int units = char.IsHighSurrogate(cluster[i]) && i + 1 < cluster.Length && char.IsLowSurrogate(cluster[i + 1]) ? 2 : 1;
                    ReadOnlySpan<char> character = cluster.Slice(i, units);
                    string? replaced = Replacement(utf8[..Encoding.UTF8.GetBytes(character, utf8)]);
                    if (replaced is not null) (result ??= new StringBuilder(text, 0, at + i, text.Length + 8)).Append(replaced);
                    else result?.Append(character);
                    i += units;
                }
            }
            at += cluster.Length;
        }
        return result?.ToString() ?? text;
    }

    /// <summary>The replacement of the shortest key that begins <paramref name="key"/> (its UTF-8 bytes), or null where none does.</summary>
    private string? Replacement(ReadOnlySpan<byte> key)
    {
        uint[] units = _units;
        long node = Offset(units[0]);
        foreach (byte c in key)
        {
            if (c == 0) break;
            node ^= c;
            if ((ulong)node >= (ulong)units.Length) return null;
            uint unit = units[node];
            if ((unit & 0x800000FFu) != c) return null;
            node ^= Offset(unit);
            if (((unit >> 8) & 1) != 0)
            {
                if ((ulong)node >= (ulong)units.Length) return null;
                int start = (int)(units[node] & 0x7FFFFFFFu);
                return start < _replacements.Length ? _decoded.GetOrAdd(start, Decode) : "";
            }
        }
        return null;
    }

    private string Decode(int start)
    {
        int length = _replacements.AsSpan(start).IndexOf((byte)0);
        return Encoding.UTF8.GetString(_replacements, start, length < 0 ? _replacements.Length - start : length);
    }

    /// <summary>A unit's offset to its children (scaled by 256 where its bit 9 says so).</summary>
    private static long Offset(uint unit) => (long)(unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}

/// <summary>
/// The tokenizers library's <c>Nmt</c> normalizer (SentencePiece's rules for machine translation): ASCII control characters
/// but tab, newline, form feed and carriage return removed (and U+008F, U+009F); those four, U+1680, U+200B–U+200F, the line and
/// paragraph separators, "▁", the byte order mark and U+FFFD made a space.
/// </summary>
internal sealed class NmtNormalizer : Normalizer
{
    public override string Normalize(string text, ref bool fromStart)
    {
        var result = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is (>= '\u0001' and <= '\u0008') or '\u000B' or (>= '\u000E' and <= '\u001F') or '\u007F' or '\u008F' or '\u009F')
            {
                if (result.Length == 0) fromStart = false;
                continue;
            }
            result.Append(c is '\t' or '\n' or '\f' or '\r' or '\u1680' or (>= '\u200B' and <= '\u200F') or '\u2028' or '\u2029' or '\u2581' or '\uFEFF' or '\uFFFD' ? ' ' : c);
        }
        return result.ToString();
    }
}
