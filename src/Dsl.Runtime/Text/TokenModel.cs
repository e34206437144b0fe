using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>tokenizer.json's <c>model</c>: a pre-tokenized piece to ids, over its vocabulary.</summary>
internal abstract class TokenModel
{
    /// <summary>The model's tokens and their ids.</summary>
    public abstract IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public abstract void Encode(string piece, List<int> ids);

    /// <summary>The model a tokenizer.json describes (BPE where it names no type, as the library's older files).</summary>
    public static TokenModel Parse(JsonElement json, string where)
    {
        string type = Json.Type(json, where, fallback: "BPE");
        return type switch
        {
            "BPE" => Bpe.Read(json, where),
            "WordPiece" => WordPiece.Read(json, where),
            "Unigram" => Unigram.Read(json, where),
            "WordLevel" => WordLevel.Read(json, where),
            _ => throw Json.Unsupported(where, type, "BPE (byte-pair encoding: GPT-2, LLaMA, Mistral, Qwen and most decoders), WordPiece (BERT's), Unigram (SentencePiece's: T5, ALBERT, XLM-RoBERTa) and WordLevel"),
        };
    }

    /// <summary>A tokenizer.json vocab, token → id (each a whole number 0 or more).</summary>
    public static Dictionary<string, int> ReadVocabulary(JsonElement json, string where)
    {
        JsonElement vocabJson = Json.Property(json, "vocab", where);
        if (vocabJson.ValueKind != JsonValueKind.Object) throw new System.IO.InvalidDataException($"{where}: expected the vocab as an object of token → id, got {Json.Short(vocabJson)}.");
        var vocab = new Dictionary<string, int>(System.StringComparer.Ordinal);
        foreach (JsonProperty entry in vocabJson.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new System.IO.InvalidDataException($"{where}.vocab: token {Json.Quote(entry.Name)} has id {Json.Short(entry.Value)}, expected a whole number 0 or more.");
            vocab[entry.Name] = id;
        }
        return vocab;
    }
}

/// <summary>
/// A model's tokens of the pieces it has seen (the same few thousand words make most of a text), as the library caches them:
/// up to 65 536 pieces, then emptied; a long piece (a whole paragraph where no pre-tokenizer splits, as LLaMA 2's) is encoded
/// each time rather than kept. Safe from several threads.
/// </summary>
internal sealed class PieceCache(Func<string, int[]> encode)
{
    private const int Limit = 1 << 16, LongestKept = 256;
    private readonly ConcurrentDictionary<string, int[]> _pieces = new(StringComparer.Ordinal);
    private int _count; // (counted apart: the dictionary's own Count takes every lock)

    /// <summary>Appends the piece's tokens, encoded once.</summary>
    public void Encode(string piece, List<int> ids)
    {
        if (piece.Length > LongestKept)
        {
            ids.AddRange(encode(piece));
            return;
        }
        if (!_pieces.TryGetValue(piece, out int[]? cached))
        {
            cached = encode(piece);
            if (Interlocked.Increment(ref _count) > Limit)
            {
                _pieces.Clear();
                Interlocked.Exchange(ref _count, 0);
            }
            _pieces.TryAdd(piece, cached);
        }
        ids.AddRange(cached);
    }
}
