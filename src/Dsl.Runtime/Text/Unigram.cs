using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// The unigram language model (Kudo 2018; SentencePiece's, which T5, ALBERT, XLM-RoBERTa and mBART use) as the tokenizers
/// library's Unigram model runs it: of every way to cut a piece into tokens of the vocabulary, the one whose scores (log
/// probabilities) sum highest (Viterbi over the piece's characters; the first best found kept on a tie). A character no token
/// of its own length covers may also stand as the unknown token, scored 10 below the vocabulary's lowest; unknown neighbours
/// are fused into one, which with <c>byte_fallback</c> becomes its UTF-8 bytes' <c>&lt;0xXX&gt;</c> tokens where the
/// vocabulary has them all.
/// </summary>
internal sealed class Unigram : TokenModel
{
    /// <summary>What an unknown character scores below the vocabulary's lowest (the library's <c>K_UNK_PENALTY</c>).</summary>
    private const double UnknownPenalty = 10.0;

    private readonly Dictionary<string, int> _vocab; // (a token listed twice: its last id, as the library's map)
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly double[] _scores;
    private readonly int _unknown; // −1: none (a character no token covers is then an error, as in the library)
    private readonly double _unknownScore;
    private readonly int[]? _bytes; // with byte_fallback: the <0xXX> tokens' ids, −1 where one is missing
    private readonly PieceTrie _trie;
    private readonly PieceCache _cache;

    private Unigram(Dictionary<string, int> vocab, double[] scores, int unknown, bool byteFallback)
    {
        _vocab = vocab;
        _lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
        _unknown = unknown;
        double lowest = double.PositiveInfinity;
        foreach (double score in scores) lowest = Math.Min(lowest, score);
        _unknownScore = lowest - UnknownPenalty;
        if (byteFallback)
        {
            _bytes = new int[256];
            for (int b = 0; b < 256; b++) _bytes[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
        _trie = PieceTrie.Build(vocab);
        _cache = new PieceCache(Cut);
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    /// <summary>A tokenizer.json's Unigram model: <c>vocab</c> as [token, score] pairs (a token's id its place), <c>unk_id</c>, <c>byte_fallback</c>.</summary>
    public static Unigram Read(JsonElement json, string where)
    {
        JsonElement list = Json.Property(json, "vocab", where);
        if (list.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: expected the vocab as an array of [token, score] pairs, got {Json.Short(list)}.");
        var vocab = new Dictionary<string, int>(list.GetArrayLength(), StringComparer.Ordinal);
        var scores = new double[list.GetArrayLength()];
        int id = 0;
        foreach (JsonElement entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String
                || entry[1].ValueKind != JsonValueKind.Number || !double.IsFinite(entry[1].GetDouble()))
                throw new InvalidDataException($"{where}.vocab[{id}]: expected [token, score] (a string and a finite number), got {Json.Short(entry)}.");
            vocab[entry[0].GetString()!] = id;
            scores[id++] = entry[1].GetDouble();
        }
        int unknown = -1;
        if (json.TryGetProperty("unk_id", out JsonElement unk) && unk.ValueKind != JsonValueKind.Null
            && !(unk.ValueKind == JsonValueKind.Number && unk.TryGetInt32(out unknown) && unknown >= 0 && unknown < scores.Length))
            throw new InvalidDataException($"{where}: expected unk_id as the id of a token of the vocab (0 to {scores.Length - 1}) or null, got {Json.Short(unk)}.");
        return new Unigram(vocab, scores, unknown, Json.Bool(json, "byte_fallback", false, where));
    }

    public override void Encode(string piece, List<int> ids)
    {
        if (piece.Length > 0) _cache.Encode(piece, ids);
    }

    /// <summary>The piece's tokens: the best cut's.</summary>
    private int[] Cut(string piece)
    {
        int n = piece.Length;
        var ids = new List<int>(n);
        // best[end]: the highest score of a cut of piece[..end]; from[end] where its last token starts (−1: not reached); token[end] its id
        double[] best = ArrayPool<double>.Shared.Rent(n + 1);
        int[] from = ArrayPool<int>.Shared.Rent(n + 1), token = ArrayPool<int>.Shared.Rent(n + 1), ends = ArrayPool<int>.Shared.Rent(n + 1);
        try
        {
            best[0] = 0;
            from.AsSpan(0, n + 1).Fill(-1);
            for (int start = 0; start < n;)
            {
                int length = char.IsHighSurrogate(piece[start]) && start + 1 < n && char.IsLowSurrogate(piece[start + 1]) ? 2 : 1;
                double here = best[start];
                bool single = false;
                // every token the piece holds from here, shortest first
                for (int end = start, node = PieceTrie.Root; end < n;)
                {
                    if ((node = _trie.Child(node, piece[end++])) < 0) break;
                    int id = _trie.Id(node);
                    if (id < 0 || (end < n && char.IsLowSurrogate(piece[end]) && char.IsHighSurrogate(piece[end - 1]))) continue;
                    Offer(end, start, id, _scores[id] + here);
                    single |= end - start == length;
                }
                if (!single)
                {
                    if (_unknown < 0)
                        throw new InvalidOperationException($"Unigram: {Json.Quote(piece.Substring(start, length))} in {Json.Quote(piece)} is no token of the vocabulary, and the model has no unk_id.");
                    Offer(start + length, start, _unknown, _unknownScore + here);
                }
                start += length;
            }
            // back from the end: where the best cut's tokens end; then forward, neighbouring unknown ones fused into one
            int count = 0;
            for (int end = n; end > 0; end = from[end]) ends[count++] = end;
            for (int i = count - 1; i >= 0; i--)
            {
                int end = ends[i], start = from[end];
                if (token[end] != _unknown)
                {
                    ids.Add(token[end]);
                    continue;
                }
                while (i > 0 && token[ends[i - 1]] == _unknown) end = ends[--i];
                AddUnknown(piece.AsSpan(start, end - start), ids);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(best);
            ArrayPool<int>.Shared.Return(from);
            ArrayPool<int>.Shared.Return(token);
            ArrayPool<int>.Shared.Return(ends);
        }
        return [.. ids];

        void Offer(int end, int start, int id, double score)
        {
            if (from[end] >= 0 && !(score > best[end])) return;
            best[end] = score;
            from[end] = start;
            token[end] = id;
        }
    }

    /// <summary>
    /// A stretch of fused unknown characters: the token its text is, if any; else, with byte fallback, its UTF-8 bytes'
    /// tokens where the vocabulary has all of them; else the unknown token.
    /// </summary>
    private void AddUnknown(ReadOnlySpan<char> text, List<int> ids)
    {
        if (_lookup.TryGetValue(text, out int id))
        {
            ids.Add(id);
            return;
        }
        if (_bytes is not null)
        {
            int size = Encoding.UTF8.GetByteCount(text);
            byte[]? onHeap = size > 256 ? new byte[size] : null;
            Span<byte> utf8 = onHeap ?? stackalloc byte[256];
            utf8 = utf8[..Encoding.UTF8.GetBytes(text, utf8)];
            bool all = true;
            foreach (byte b in utf8) all &= _bytes[b] >= 0;
            if (all)
            {
                foreach (byte b in utf8) ids.Add(_bytes[b]);
                return;
            }
        }
        ids.Add(_unknown);
    }
}

/// <summary>
/// The vocabulary's tokens as a trie over UTF-16 code units, its nodes numbered breadth first so that each node's children
/// (sorted by their character) lie together: three arrays, about 10 bytes a node.
/// </summary>
internal sealed class PieceTrie
{
    public const int Root = 0;

    private readonly char[] _label;      // the character leading to each node
    private readonly int[] _firstChild;  // node k's children: _firstChild[k] to _firstChild[k + 1] − 1
    private readonly int[] _id;          // the token a node ends, −1 where none

    private PieceTrie(char[] label, int[] firstChild, int[] id) => (_label, _firstChild, _id) = (label, firstChild, id);

    /// <summary>The child of <paramref name="node"/> along <paramref name="c"/>, or −1.</summary>
    public int Child(int node, char c)
    {
        int lo = _firstChild[node], hi = _firstChild[node + 1] - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            char at = _label[mid];
            if (at == c) return mid;
            if (at < c) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>The id of the token that ends at <paramref name="node"/>, or −1.</summary>
    public int Id(int node) => _id[node];

    /// <summary>The trie of the tokens (their ids the dictionary's), built level by level from the tokens in ordinal order.</summary>
    public static PieceTrie Build(Dictionary<string, int> tokens)
    {
        string[] keys = [.. tokens.Keys];
        Array.Sort(keys, StringComparer.Ordinal);
        var label = new List<char> { '\0' };
        var id = new List<int> { -1 };
        var firstChild = new List<int>();
        // node k covers the keys [lo, hi) that share their first depth characters; nodes are made in the order they are visited
        var ranges = new List<(int Lo, int Hi, int Depth)> { (0, keys.Length, 0) };
        for (int node = 0; node < ranges.Count; node++)
        {
            var (lo, hi, depth) = ranges[node];
            firstChild.Add(label.Count);
            if (lo < hi && keys[lo].Length == depth)
            {
                id[node] = tokens[keys[lo]];
                lo++;
            }
            while (lo < hi)
            {
                char c = keys[lo][depth];
                int next = lo + 1;
                while (next < hi && keys[next][depth] == c) next++;
                label.Add(c);
                id.Add(-1);
                ranges.Add((lo, next, depth + 1));
                lo = next;
            }
        }
        firstChild.Add(label.Count);
        return new PieceTrie([.. label], [.. firstChild], [.. id]);
    }
}
