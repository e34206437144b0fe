using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// Byte-pair encoding (Sennrich et al. 2016) as the tokenizers library's BPE model runs it: a piece's characters looked up in
/// the vocabulary (an unknown one as its UTF-8 bytes' <c>&lt;0xXX&gt;</c> tokens with <c>byte_fallback</c>, else the unknown
/// token, fused with <c>fuse_unk</c>, else dropped), then the adjacent pair of lowest merge rank merged, the leftmost first,
/// until no pair merges; with <c>ignore_merges</c> (LLaMA 3) a piece that is itself a token is that token.
/// </summary>
internal sealed class Bpe : TokenModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int _unknown; // −1: none
    private readonly bool _byteFallback, _fuseUnknown, _ignoreMerges;
    private readonly string _prefix, _suffix;
    private readonly int[] _bytes; // the <0xXX> tokens' ids, −1 where the vocabulary lacks one
    private readonly PieceCache _cache;

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    private Bpe(Dictionary<string, int> vocab, Dictionary<long, (int, int)> merges, int unknown, bool byteFallback, bool fuseUnknown, bool ignoreMerges,
        string prefix, string suffix)
    {
        _vocab = vocab;
        _merges = merges;
        _unknown = unknown;
        _byteFallback = byteFallback;
        _fuseUnknown = fuseUnknown;
        _ignoreMerges = ignoreMerges;
        _prefix = prefix;
        _suffix = suffix;
        _bytes = new int[256];
        for (int b = 0; b < 256; b++) _bytes[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        _cache = new PieceCache(Merge);
    }

    public static Bpe Read(JsonElement json, string where)
    {
        if (json.TryGetProperty("dropout", out JsonElement dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new InvalidDataException($"{where}: dropout {dropout.GetRawText()} makes the merges random (BPE-dropout, for training); a tokenizer for inference has none.");
        Dictionary<string, int> vocab = ReadVocabulary(json, where);
        var merges = new Dictionary<long, (int, int)>();
        int rank = 0;
        string prefix = Json.OptionalString(json, "continuing_subword_prefix") ?? "";
        foreach (JsonElement merge in Json.Array(json, "merges", where).EnumerateArray())
        {
            // "a b" (older files) or ["a", "b"] (newer ones, whose tokens may hold spaces)
            string? left, right;
            if (merge.ValueKind == JsonValueKind.String && merge.GetString()!.Split(' ') is [var l, var r]) (left, right) = (l, r);
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                (left, right) = (merge[0].GetString(), merge[1].GetString());
            else throw new InvalidDataException($"{where}.merges[{rank}]: expected \"a b\" or [\"a\", \"b\"], got {Json.Short(merge)}.");
            // with a continuing_subword_prefix ("##"), the right part's prefix is not in the merged token: "a" + "##b" is "ab"
            string merged = left + (prefix.Length > 0 && right!.StartsWith(prefix, StringComparison.Ordinal) ? right[prefix.Length..] : right);
            if (!vocab.TryGetValue(left!, out int a) || !vocab.TryGetValue(right!, out int b) || !vocab.TryGetValue(merged, out int id))
                throw new InvalidDataException($"{where}.merges[{rank}]: {Json.Short(merge)} merges tokens the vocabulary lacks ({Json.Quote(left!)}, {Json.Quote(right!)} or {Json.Quote(merged)}).");
            merges[Pair(a, b)] = (rank, id); // a pair listed twice takes its last rank, as the library's map (collected in order)
            rank++;
        }
        int unknown = -1;
        if (Json.OptionalString(json, "unk_token") is { } unk && !vocab.TryGetValue(unk, out unknown))
            throw new InvalidDataException($"{where}: the unk_token {Json.Quote(unk)} is not in the vocabulary.");
        return new Bpe(vocab, merges, unknown, Json.Bool(json, "byte_fallback", false, where), Json.Bool(json, "fuse_unk", false, where),
            Json.Bool(json, "ignore_merges", false, where), prefix, Json.OptionalString(json, "end_of_word_suffix") ?? "");
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public override void Encode(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(piece, out int whole))
        {
            ids.Add(whole);
            return;
        }
        _cache.Encode(piece, ids);
    }

    /// <summary>The piece's symbols merged: each character's token (or its bytes', or the unknown one), then the merges by rank.</summary>
    private int[] Merge(string piece)
    {
        var symbols = new List<int>(piece.Length);
        int pendingUnknown = 0; // unknown characters not yet written (fused into one with fuse_unk)
        var lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        bool affixes = _prefix.Length > 0 || _suffix.Length > 0;
        for (int i = 0; i < piece.Length;)
        {
            int length = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            ReadOnlySpan<char> symbol = piece.AsSpan(i, length);
            if (affixes)
                symbol = string.Concat(_prefix.Length > 0 && i > 0 ? _prefix : "", symbol, _suffix.Length > 0 && i + length == piece.Length ? _suffix : "");
            i += length;
            if (lookup.TryGetValue(symbol, out int id))
            {
                FlushUnknown(symbols, ref pendingUnknown);
                symbols.Add(id);
                continue;
            }
            if (_byteFallback && Bytes(symbol, symbols))
            {
                // (the library writes a pending unknown after these bytes: it flushes only before a vocabulary hit)
                continue;
            }
            if (_unknown < 0) continue; // no unknown token: the character is dropped, as the library drops it
            if (pendingUnknown > 0 && !_fuseUnknown) symbols.Add(_unknown);
            else if (pendingUnknown > 0) continue;
            pendingUnknown = 1;
        }
        FlushUnknown(symbols, ref pendingUnknown);
        return MergeAll(symbols);
    }

    private void FlushUnknown(List<int> symbols, ref int pending)
    {
        if (pending == 0) return;
        symbols.Add(_unknown);
        pending = 0;
    }

    /// <summary>The symbol's UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens, when the vocabulary has every one.</summary>
    private bool Bytes(ReadOnlySpan<char> symbol, List<int> symbols)
    {
        int most = Encoding.UTF8.GetMaxByteCount(symbol.Length);
        Span<byte> utf8 = most <= 64 ? stackalloc byte[64] : new byte[most];
        int count = Encoding.UTF8.GetBytes(symbol, utf8);
        for (int b = 0; b < count; b++)
        {
            if (_bytes[utf8[b]] < 0) return false;
        }
        for (int b = 0; b < count; b++) symbols.Add(_bytes[utf8[b]]);
        return true;
    }

    /// <summary>Merges the adjacent pair of lowest rank (the leftmost of equal ranks) until none merges.</summary>
    private int[] MergeAll(List<int> symbols)
    {
        int n = symbols.Count;
        if (n < 2) return symbols.ToArray();
        if (n <= ShortWord) return MergeShort(symbols);
        int[] ids = symbols.ToArray(), next = new int[n], previous = new int[n];
        bool[] gone = new bool[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            previous[i] = i - 1;
        }
        var queue = new PriorityQueue<int, (int Rank, int Position)>();
        for (int i = 0; i + 1 < n; i++)
        {
            if (_merges.TryGetValue(Pair(ids[i], ids[i + 1]), out var m)) queue.Enqueue(i, (m.Rank, i));
        }
        while (queue.TryDequeue(out int at, out var key))
        {
            // stale entries (a symbol merged away, or its neighbour changed) are skipped
            if (gone[at] || next[at] < 0) continue;
            int right = next[at];
            if (!_merges.TryGetValue(Pair(ids[at], ids[right]), out var m) || m.Rank != key.Rank) continue;
            ids[at] = m.Id;
            gone[right] = true;
            next[at] = next[right];
            if (next[at] >= 0) previous[next[at]] = at;
            if (previous[at] >= 0 && _merges.TryGetValue(Pair(ids[previous[at]], ids[at]), out var before)) queue.Enqueue(previous[at], (before.Rank, previous[at]));
            if (next[at] >= 0 && _merges.TryGetValue(Pair(ids[at], ids[next[at]]), out var after)) queue.Enqueue(at, (after.Rank, at));
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(ids[i]);
        return result.ToArray();
    }

    /// <summary>Words up to this many symbols are merged by scanning their pairs each round (no queue): most words.</summary>
    private const int ShortWord = 24;

    /// <summary>
    /// <see cref="MergeAll"/> for a short word: each round merges the pair of lowest rank, the leftmost of equal ranks — the
    /// queue's order, so the same merges in the same order.
    /// </summary>
    private int[] MergeShort(List<int> symbols)
    {
        Span<int> ids = stackalloc int[symbols.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = symbols[i];
        int n = ids.Length;
        while (n > 1)
        {
            int best = -1, bestRank = int.MaxValue, bestId = 0;
            for (int i = 0; i + 1 < n; i++)
            {
                if (_merges.TryGetValue(Pair(ids[i], ids[i + 1]), out var m) && m.Rank < bestRank) (best, bestRank, bestId) = (i, m.Rank, m.Id);
            }
            if (best < 0) break;
            ids[best] = bestId;
            ids.Slice(best + 2, n - best - 2).CopyTo(ids.Slice(best + 1));
            n--;
        }
        return ids.Slice(0, n).ToArray();
    }
}
