using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Dsl.Text;

/// <summary>
/// A word-level model (the tokenizers library's <c>WordLevel</c>): each pre-tokenized piece is one token of the vocabulary,
/// or the unknown token (<c>unk_token</c>, "&lt;unk&gt;" by default); a piece it lacks where the vocabulary lacks the unknown
/// token too is an error, as in the library.
/// </summary>
internal sealed class WordLevel : TokenModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string _unk;

    private WordLevel(Dictionary<string, int> vocab, string unk) => (_vocab, _unk) = (vocab, unk);

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public static WordLevel Read(JsonElement json, string where) => new(ReadVocabulary(json, where), Json.OptionalString(json, "unk_token") ?? "<unk>");

    public override void Encode(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        ids.Add(_vocab.TryGetValue(piece, out int id) || _vocab.TryGetValue(_unk, out id) ? id
            : throw new InvalidOperationException($"WordLevel: {Json.Quote(piece)} is no token of the vocabulary, and the unk_token {Json.Quote(_unk)} it would be is not in the vocabulary either."));
    }
}
