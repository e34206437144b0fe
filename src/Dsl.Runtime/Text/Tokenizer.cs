using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Dsl.Text;

namespace Dsl;

/// <summary>
/// A Hugging Face tokenizer, read from the <c>tokenizer.json</c> a model's folder holds (the tokenizers library's format,
/// which transformers' fast tokenizers save): text to token ids and back, the ids those tokenizers give. Byte-pair encoding
/// models: GPT-2's, LLaMA 3's and Qwen2's byte-level ones, and SentencePiece's converted with byte fallback (LLaMA 2,
/// TinyLlama, Mistral); WordPiece models (BERT's, with its normalizer, pre-tokenizer and decoder); Unigram models
/// (SentencePiece's: T5's, ALBERT's, XLM-RoBERTa's, with SentencePiece's compiled normalization rules); WordLevel models. <see cref="Encode"/> runs the file's pipeline — its added (special) tokens matched first, the
/// normalizer (NFC, Prepend, Replace, BERT's, …), the pre-tokenizer (a regex split, ByteLevel, Metaspace, digits, BERT's, …), the
/// model (BPE's merges, WordPiece's longest tokens, or Unigram's best-scoring cut), then the post-processor's special tokens (LLaMA's <c>&lt;s&gt;</c> before
/// the text, BERT's <c>[CLS]</c> and <c>[SEP]</c> around it); <see cref="Decode"/> runs the decoder (ByteLevel, or Replace,
/// ByteFallback, Fuse and Strip, or WordPiece's). A BERT tokenizer's normalizer follows the <c>do_lower_case</c>,
/// <c>strip_accents</c> and <c>tokenize_chinese_chars</c> of the tokenizer_config.json beside it, as transformers' BertTokenizerFast. Managed code only; safe to call from several threads.
/// </summary>
/// <remarks>
/// A part of the file this does not read is refused when the file is loaded, naming it. The file's <c>truncation</c> and <c>padding</c> are not
/// applied, as transformers does not apply them unless asked.
/// </remarks>
public sealed class Tokenizer
{
    private Normalizer? _normalizer; // (BERT's: replaced once by its tokenizer_config.json, before the tokenizer is handed out)
    private readonly PreTokenizer? _preTokenizer;
    private readonly TokenModel _model;
    private readonly PostProcessor? _post;
    private readonly TokenDecoder? _decoder;
    private readonly AddedTokenMatcher _raw;
    private AddedTokenMatcher _normalized;
    private readonly Dictionary<int, AddedToken> _added;
    private readonly Dictionary<string, int> _addedIds;
    private readonly string?[] _tokens; // id → token, the added tokens' content over the model's

    private Tokenizer(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: expected a tokenizer.json object, got {Json.Short(root)}.");
        JsonElement Part(string name) => root.TryGetProperty(name, out JsonElement v) ? v : default;
        _normalizer = Part("normalizer") is { ValueKind: JsonValueKind.Object } n ? Normalizer.Parse(n, $"{source}: normalizer") : null;
        _preTokenizer = Part("pre_tokenizer") is { ValueKind: JsonValueKind.Object } p ? PreTokenizer.Parse(p, $"{source}: pre_tokenizer") : null;
        _model = TokenModel.Parse(Json.Property(root, "model", source), $"{source}: model");
        _post = Part("post_processor") is { ValueKind: JsonValueKind.Object } pp ? PostProcessor.Parse(pp, $"{source}: post_processor") : null;
        _decoder = Part("decoder") is { ValueKind: JsonValueKind.Object } d ? TokenDecoder.Parse(d, $"{source}: decoder") : null;
        var listed = new List<AddedToken>();
        if (Part("added_tokens") is { ValueKind: JsonValueKind.Array } list)
        {
            int i = 0;
            foreach (JsonElement token in list.EnumerateArray()) listed.Add(AddedToken.Parse(token, $"{source}: added_tokens[{i++}]"));
        }
        List<AddedToken> added = AssignIds(listed, _model.Vocabulary);
        _added = new Dictionary<int, AddedToken>();
        _addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken token in added)
        {
            _added[token.Id] = token;
            _addedIds[token.Content] = token.Id;
        }
        // the tokens normalized=false are found in the text as given; the others in each normalized stretch, by their normalized text
        _raw = new AddedTokenMatcher(added.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        _normalized = NormalizedMatcher();
        long size = Math.Max(_model.Vocabulary.Count == 0 ? 0 : _model.Vocabulary.Values.Max() + 1L, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1L);
        if (size > MaxIds)
            throw new InvalidDataException($"{source}: ids run up to {size - 1}; a vocabulary of more than {MaxIds} tokens is not read (the largest in use hold about 256 000).");
        _tokens = new string?[size];
        foreach (var (token, id) in _model.Vocabulary) _tokens[id] = token;
        foreach (AddedToken token in added) _tokens[token.Id] = token.Content;
    }

    /// <summary>The added tokens matched in each normalized stretch, by their normalized text (in the file's order).</summary>
    private AddedTokenMatcher NormalizedMatcher() =>
        new(_added.Values.Where(t => t.Normalized).Select(t => (_normalizer?.Normalize(t.Content) ?? t.Content, t)));

    /// <summary>
    /// The added tokens with the ids the library gives them (its <c>AddedVocabulary::add_tokens</c>, one call for the file's
    /// list, in its order): a token the vocabulary or an earlier added token holds keeps that id; each other one takes the
    /// next id from the vocabulary's size on. The file's own ids are not read (the library only warns where they differ); a
    /// content listed twice keeps its first id and its last options, special if any was; an empty one is skipped.
    /// </summary>
    private static List<AddedToken> AssignIds(List<AddedToken> listed, IReadOnlyDictionary<string, int> vocabulary)
    {
        var added = new List<AddedToken>(listed.Count);
        var index = new Dictionary<string, int>(StringComparer.Ordinal); // content → its place in added
        int next = vocabulary.Count;
        foreach (AddedToken token in listed)
        {
            if (token.Content.Length == 0) continue;
            int id = index.TryGetValue(token.Content, out int at) ? added[at].Id
                : vocabulary.TryGetValue(token.Content, out int known) ? known
                : next++;
            if (index.ContainsKey(token.Content)) added[at] = token with { Id = id, Special = token.Special || added[at].Special };
            else
            {
                index[token.Content] = added.Count;
                added.Add(token with { Id = id });
            }
        }
        return added;
    }

    /// <summary>
    /// Reads a tokenizer.json (see <see cref="HuggingFace.LoadTokenizer"/>, which finds it in a model's folder).
    /// </summary>
    /// <exception cref="InvalidDataException">The text is not a tokenizer.json this reads; the message names the part and what was expected.</exception>
    public static Tokenizer Parse(string json) => Parse(json, "tokenizer.json");

    internal static Tokenizer Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
            return new Tokenizer(document.RootElement, source);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or IndexOutOfRangeException or KeyNotFoundException or OverflowException)
        {
            // a value of another kind than its place takes (a number where an object belongs, a lone surrogate in a string)
            throw new InvalidDataException($"{source} is not a tokenizer.json this reads: {e.Message}", e);
        }
    }

    /// <summary>The most ids a tokenizer may have (the id table is that long).</summary>
    private const int MaxIds = 1 << 24;

    /// <summary>
    /// One more than the highest id (the model's tokens and the added ones): the least vocabulary a model reading these ids
    /// declares (some declare more, their embeddings padded: Qwen2's 151 936 rows over 151 665 tokens).
    /// </summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>
    /// The ids of <paramref name="text"/>, as <c>tokenizer.encode(text)</c> gives them in transformers: with the
    /// post-processor's special tokens (a BOS before it, for LLaMA) unless <paramref name="addSpecialTokens"/> is false.
    /// </summary>
    /// <exception cref="ArgumentException">The text holds a lone surrogate (no Unicode character; UTF-8 has no bytes for it).</exception>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        List<int> ids = Tokens(text, int.MaxValue);
        if (addSpecialTokens) _post?.Process(ids);
        return ids.ToArray();
    }

    /// <summary>
    /// The text's tokens, without special tokens; where <paramref name="limit"/> is less than all of them, only the pieces until
    /// their tokens reach it, as the library tokenizes a text it will truncate (its early exit: whole pieces, the last one
    /// crossing the limit; what LongestFirst then sees of a pair).
    /// </summary>
    private List<int> Tokens(string text, int limit)
    {
        ArgumentNullException.ThrowIfNull(text);
        // a lone surrogate is no character (the library's strings cannot hold one; UTF-8 would turn it into U+FFFD)
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            for (int i = 0; i < text.Length; i++)
            {
                if (!char.IsSurrogate(text[i])) continue;
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
                else throw new ArgumentException($"Encode: the text holds a lone surrogate (U+{(int)text[i]:X4}) at {i}, which is no Unicode character.", nameof(text));
            }
        }
        var ids = new List<int>(text.Length / 3 + 4);
        var segments = new List<Segment>();
        var inner = new List<Segment>();
        var pieces = new List<Piece>();
        _raw.Split(text, segments);
        bool reached = false; // (set by a piece whose tokens reach the limit; the added tokens before it count, as the library's)
        foreach (Segment segment in segments)
        {
            if (reached) break;
            if (segment.Id >= 0)
            {
                ids.Add(segment.Id);
                continue;
            }
            // the normalized text's first character at the segment's start (Metaspace's "first": the input's offset 0)
            bool fromStart = true;
            string normalized = _normalizer?.Normalize(segment.Text, ref fromStart) ?? segment.Text;
            inner.Clear();
            _normalized.Split(normalized, inner);
            foreach (Segment part in inner)
            {
                if (reached) break;
                if (part.Id >= 0)
                {
                    ids.Add(part.Id);
                    continue;
                }
                pieces.Clear();
                pieces.Add(new Piece(part.Text, AtStart: segment.Start == 0 && fromStart && part.Start == 0));
                _preTokenizer?.Split(pieces);
                foreach (Piece piece in pieces)
                {
                    _model.Encode(piece.Text, ids);
                    if (ids.Count >= limit)
                    {
                        reached = true;
                        break;
                    }
                }
            }
        }
        return ids;
    }

    /// <summary>
    /// The text of <paramref name="ids"/>, as <c>tokenizer.decode(ids)</c> gives it in transformers (without
    /// <c>clean_up_tokenization_spaces</c>): the special tokens' text kept unless <paramref name="skipSpecialTokens"/>.
    /// An id the tokenizer does not have (a model's embedding may have rows past its vocabulary: Qwen2's 151 936 over 151 665
    /// tokens) is skipped, as the library skips it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if (id < 0) throw new ArgumentOutOfRangeException(nameof(ids), id, $"Decode: id {id} at {i} is negative; token ids are 0 or more.");
            if (id >= _tokens.Length || _tokens[id] is not { } token) continue;
            if (skipSpecialTokens && _added.TryGetValue(id, out AddedToken? added) && added.Special) continue;
            tokens.Add(token);
        }
        return string.Concat(_decoder is null ? [string.Join(' ', tokens)] : _decoder.Decode(tokens));
    }

    /// <summary>
    /// The text of a stream of ids (<see cref="Dsl.Decode.Stream(IModel{int}, System.ReadOnlySpan{int}, GenerationConfig, Rng?)"/>'s tokens) as they come, given out as transformers'
    /// <c>TextStreamer</c> gives it out: after each id, the text the ids so far decode to (<see cref="Decode"/>) past what was
    /// given before, up to its last space (a word is given once a space follows it, since the ids after a word's first may
    /// still change how it reads), all of it where it ends in a newline or a CJK ideograph; when the ids end, the rest. A piece
    /// therefore never ends in part of a character (a byte-level token holding some of a character's bytes decodes to U+FFFD
    /// until the rest come). Joined, the pieces are the text of all the ids, where no id changes the text given before it;
    /// every id decodes the ids so far again (as TextStreamer's decodes its cache), so a stream of n ids decodes n(n + 1)/2.
    /// </summary>
    public IEnumerable<string> DecodeStream(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return DecodedPieces(ids, skipSpecialTokens);
    }

    private IEnumerable<string> DecodedPieces(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var seen = new List<int>();
        string text = "";
        int given = 0;
        foreach (int id in ids)
        {
            seen.Add(id);
            text = Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seen), skipSpecialTokens);
            int upTo = text.Length > 0 && (text[^1] == '\n' || System.Text.Rune.DecodeLastFromUtf16(text, out System.Text.Rune last, out _) == System.Buffers.OperationStatus.Done && BertNormalizer.IsChinese(last.Value))
                ? text.Length
                : text.LastIndexOf(' ') + 1;
            if (upTo <= given) continue;
            yield return text[given..upTo];
            given = upTo;
        }
        if (text.Length > given) yield return text[given..];
    }

    /// <summary>The id of <paramref name="token"/> (an added token's content or the model's token, as the vocabulary writes it), or null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _addedIds.TryGetValue(token, out int id) || _model.Vocabulary.TryGetValue(token, out id) ? id : null;
    }

    /// <summary>The token of <paramref name="id"/> as the vocabulary writes it ("Ġthe", "▁the", "&lt;s&gt;"), or null for an id it lacks.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>
    /// The beginning-of-sequence token's id (transformers' <c>tokenizer.bos_token_id</c>), from the <c>bos_token</c> of the
    /// <c>tokenizer_config.json</c> beside the tokenizer.json <see cref="HuggingFace.LoadTokenizer"/> read; null when none is named.
    /// </summary>
    public int? BosTokenId { get; private set; }

    /// <summary>
    /// The end-of-sequence token's id (<c>tokenizer.eos_token_id</c>: where generation stops), from the same file's
    /// <c>eos_token</c>; null when none is named.
    /// </summary>
    public int? EosTokenId { get; private set; }

    /// <summary>
    /// The padding token's id (<c>tokenizer.pad_token_id</c>: what <see cref="EncodeBatch"/> fills short rows with), from the same
    /// file's <c>pad_token</c>; null when none is named.
    /// </summary>
    public int? PadTokenId { get; private set; }

    /// <summary>
    /// The ids of a pair of texts, as <c>tokenizer(text, pair)["input_ids"]</c> gives them in transformers (what a cross-encoder
    /// or a reranker reads): each encoded as <see cref="Encode"/> encodes it, then joined by the post-processor's pair template
    /// (BERT's <c>[CLS] A [SEP] B [SEP]</c>, RoBERTa's and XLM-RoBERTa's <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>), or one
    /// after the other without special tokens where <paramref name="addSpecialTokens"/> is false or the file has no post-processor.
    /// </summary>
    /// <remarks>
    /// BERT's templates give the second text token type 1 (after the first <c>[SEP]</c>), which a model reads through a
    /// <c>[TokenTypeEmbedding(types: 2, separator: [SEP]'s id)]</c> (see <see cref="HuggingFace.LoadBert"/>): it counts the types
    /// from the ids as the template gives them. RoBERTa's and XLM-RoBERTa's models have one token type.
    /// </remarks>
    public int[] EncodePair(string text, string pair, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(pair);
        List<int> ids = Joined(Tokens(text, int.MaxValue), Tokens(pair, int.MaxValue), addSpecialTokens);
        return ids.ToArray();
    }

    /// <summary>The pair's ids joined: by the post-processor's pair template, or one after the other.</summary>
    private List<int> Joined(List<int> first, List<int> second, bool addSpecialTokens)
    {
        if (addSpecialTokens && _post is not null) _post.Process(first, second);
        else first.AddRange(second);
        return first;
    }

    /// <summary>
    /// Several texts' ids in one padded batch, as transformers' <c>tokenizer(texts, padding=True, truncation=True,
    /// max_length=…)</c> gives them: each text encoded as <see cref="Encode"/> encodes it; where <paramref name="maxLength"/> is
    /// given, its tokens cut so that with the post-processor's special tokens it holds at most that many (BERT's 512: its
    /// <c>[CLS]</c> and <c>[SEP]</c> kept); then every row padded after its end to the longest with <paramref name="padId"/>
    /// (else <see cref="PadTokenId"/>). <see cref="EncodedBatch.Lengths"/> are what a model's <c>Forward(ids, lengths)</c> takes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for a token beside the special ones.</exception>
    /// <exception cref="InvalidOperationException">Rows need padding and neither <paramref name="padId"/> nor the tokenizer's pad_token gives it.</exception>
    public EncodedBatch EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null, bool addSpecialTokens = true, int? padId = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int room = Room(maxLength, addSpecialTokens, pair: false);
        return Padded(texts.Count, i =>
        {
            List<int> ids = Tokens(texts[i] ?? throw new ArgumentException($"EncodeBatch: text {i} is null.", nameof(texts)), maxLength ?? int.MaxValue);
            if (ids.Count > room) ids.RemoveRange(room, ids.Count - room);
            if (addSpecialTokens) _post?.Process(ids);
            return ids;
        }, padId);
    }

    /// <summary>
    /// Pairs of texts' ids in one padded batch (<see cref="EncodePair"/>), as transformers' <c>tokenizer(texts, pairs,
    /// padding=True, truncation=…, max_length=…)</c> gives them: where <paramref name="maxLength"/> is given, the pair's tokens
    /// cut to fit beside the pair template's special tokens as <paramref name="truncation"/> says — "longest_first" by default
    /// (the longer text cut to what the shorter leaves, or both to half where each is longer than that), or only the first or
    /// only the second text's end (an answerer's question kept whole and its context cut: "only_second"); then padded as
    /// <see cref="EncodeBatch"/> pads.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for a token beside the special ones.</exception>
    /// <exception cref="ArgumentException">
    /// With <see cref="PairTruncation.OnlyFirst"/> or <see cref="PairTruncation.OnlySecond"/>, a pair whose text to cut would keep
    /// no token (the tokenizers library's "Sequence to truncate too short to respect the provided max_length").
    /// </exception>
    /// <exception cref="InvalidOperationException">Rows need padding and neither <paramref name="padId"/> nor the tokenizer's pad_token gives it.</exception>
    public EncodedBatch EncodePairs(IReadOnlyList<(string Text, string Pair)> pairs, int? maxLength = null, bool addSpecialTokens = true, int? padId = null,
        PairTruncation truncation = PairTruncation.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int room = Room(maxLength, addSpecialTokens, pair: true);
        return Padded(pairs.Count, i =>
        {
            var (text, pair) = pairs[i];
            if (text is null || pair is null) throw new ArgumentException($"EncodePairs: pair {i} holds a null text.", nameof(pairs));
            // (with a maxLength, each text's pieces until their tokens reach it, as the library tokenizes what it will cut: which
            // of two long texts LongestFirst takes as the longer follows from what it has tokenized)
            List<int> first = Tokens(text, maxLength ?? int.MaxValue), second = Tokens(pair, maxLength ?? int.MaxValue);
            if (first.Count + second.Count > room && truncation != PairTruncation.LongestFirst)
            {
                // only one text's end cut; where it would keep no token, refused as the library refuses it
                List<int> cut = truncation == PairTruncation.OnlyFirst ? first : second;
                int remove = first.Count + second.Count - room;
                if (cut.Count <= remove)
                    throw new ArgumentException($"EncodePairs: pair {i}'s {(truncation == PairTruncation.OnlyFirst ? "first" : "second")} text has {cut.Count} tokens, and {remove} must go for the pair to fit {maxLength} ids: it would keep none (the tokenizers library's \"Sequence to truncate too short to respect the provided max_length\"); cut the other text too (PairTruncation.LongestFirst), or give more room.", nameof(pairs));
                cut.RemoveRange(cut.Count - remove, remove);
            }
            else if (first.Count + second.Count > room)
            {
                // the tokenizers library's LongestFirst: the shorter kept where it leaves room, else both cut to about half
                int shorter = Math.Min(first.Count, second.Count), longer = shorter > room ? shorter : Math.Max(shorter, room - shorter);
                if (shorter + longer > room) (shorter, longer) = (room / 2, room / 2 + room % 2);
                var (n1, n2) = first.Count > second.Count ? (longer, shorter) : (shorter, longer);
                if (first.Count > n1) first.RemoveRange(n1, first.Count - n1);
                if (second.Count > n2) second.RemoveRange(n2, second.Count - n2);
            }
            return Joined(first, second, addSpecialTokens);
        }, padId);
    }

    /// <summary>How many of a row's ids may be the texts' own beside the special tokens (all where no <paramref name="maxLength"/>).</summary>
    private int Room(int? maxLength, bool addSpecialTokens, bool pair)
    {
        int special = addSpecialTokens && _post is not null ? _post.Added(pair) : 0;
        if (maxLength is not { } most) return int.MaxValue;
        return most > special ? most - special
            : throw new ArgumentOutOfRangeException(nameof(maxLength), most, $"{(pair ? "EncodePairs" : "EncodeBatch")}: {most} ids leave no room for a token beside the post-processor's {special} special ones{(pair ? " for a pair" : "")}.");
    }

    /// <summary>The rows padded after their ends to the longest, with their lengths.</summary>
    private EncodedBatch Padded(int count, Func<int, List<int>> row, int? padId)
    {
        var rows = new List<int>[count];
        for (int i = 0; i < count; i++) rows[i] = row(i);
        int steps = rows.Length == 0 ? 0 : rows.Max(r => r.Count);
        int? pad = padId ?? PadTokenId;
        if (pad is null && rows.Any(r => r.Count < steps))
            throw new InvalidOperationException("EncodeBatch: the texts' lengths differ and the tokenizer names no pad_token (tokenizer_config.json); give padId.");
        var all = new int[rows.Length * steps];
        var lengths = new int[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i].CopyTo(all, i * steps);
            all.AsSpan(i * steps + rows[i].Count, steps - rows[i].Count).Fill(pad ?? 0);
            lengths[i] = rows[i].Count;
        }
        return new EncodedBatch(all, lengths, steps);
    }

    /// <summary>
    /// Reads <c>bos_token</c> and <c>eos_token</c> (a string, or an object with its <c>content</c>), the other special tokens'
    /// texts and the <c>chat_template</c> (a string, or a list of named ones) from a tokenizer_config.json.
    /// </summary>
    internal void ReadConfig(string json, string source)
    {
        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: expected a JSON object, got {Json.Short(root)}.");
        string? Text(JsonElement value, string key)
        {
            if (value.ValueKind == JsonValueKind.Null) return null;
            return (value.ValueKind == JsonValueKind.String ? value.GetString() : value.ValueKind == JsonValueKind.Object ? Json.OptionalString(value, "content") : null)
                ?? throw new InvalidDataException($"{source}: expected \"{key}\" as a token's text or an object with its \"content\", got {Json.Short(value)}.");
        }
        int? Id(string key)
        {
            if (!root.TryGetProperty(key, out JsonElement value) || Text(value, key) is not { } content) return null;
            return TokenToId(content) ?? throw new InvalidDataException($"{source}: its {key} {Json.Quote(content)} is not a token of the tokenizer.");
        }
        BosTokenId = Id("bos_token");
        EosTokenId = Id("eos_token");
        PadTokenId = Id("pad_token");
        // BERT's fast tokenizers rebuild the normalizer from do_lower_case (default true), strip_accents and
        // tokenize_chinese_chars (default true) where the file's differs (a repository whose two files disagree)
        string? tokenizerClass = root.TryGetProperty("tokenizer_class", out JsonElement className) && className.ValueKind == JsonValueKind.String ? className.GetString() : null;
        if (_normalizer is BertNormalizer bert && (tokenizerClass is null or "BertTokenizer" or "BertTokenizerFast" or "DistilBertTokenizer" or "DistilBertTokenizerFast" or "ElectraTokenizer" or "ElectraTokenizerFast"))
        {
            bool? Flag(string key) => root.TryGetProperty(key, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
            _normalizer = bert.Configured(Flag("do_lower_case") ?? true, Flag("strip_accents"), Flag("tokenize_chinese_chars") ?? true);
            _normalized = NormalizedMatcher();
        }
        // the special tokens' texts, which transformers gives a chat template (special_tokens_map)
        foreach (string key in (string[])["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"])
        {
            if (root.TryGetProperty(key, out JsonElement value) && Text(value, key) is { } content) _specialTexts[key] = content;
        }
        if (root.TryGetProperty("additional_special_tokens", out JsonElement more) && more.ValueKind == JsonValueKind.Array && more.GetArrayLength() > 0)
            _specialTexts["additional_special_tokens"] = more.EnumerateArray().Select((t, i) => Text(t, $"additional_special_tokens[{i}]")).ToList();
        if (root.TryGetProperty("chat_template", out JsonElement template))
        {
            if (template.ValueKind == JsonValueKind.String) _chatTemplates["default"] = template.GetString()!;
            else if (template.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (JsonElement named in template.EnumerateArray())
                {
                    string where = $"{source}: chat_template[{i++}]";
                    if (named.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected {{\"name\": …, \"template\": …}}, got {Json.Short(named)}.");
                    _chatTemplates[Json.String(named, "name", where)] = Json.String(named, "template", where);
                }
            }
            else if (template.ValueKind != JsonValueKind.Null) throw new InvalidDataException($"{source}: expected the chat_template as a string or a list of named templates, got {Json.Short(template)}.");
        }
    }

    /// <summary>A chat template read from its own file (transformers' newer <c>chat_template.jinja</c>), over the configuration's.</summary>
    internal void ReadChatTemplate(string template) => _chatTemplates["default"] = template;

    private readonly Dictionary<string, object?> _specialTexts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _chatTemplates = new(StringComparer.Ordinal);
    private ChatTemplate? _parsed;

    /// <summary>
    /// The model's chat template (its tokenizer_config.json's <c>chat_template</c>, or the folder's chat_template.jinja; the
    /// one named "default" where the configuration lists several), or null where it has none.
    /// </summary>
    public string? ChatTemplate => _chatTemplates.GetValueOrDefault("default");

    /// <summary>Every chat template of the configuration by name (one, "default", where it gives a single string).</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates => _chatTemplates;

    /// <summary>
    /// The conversation laid out by the model's chat template, as transformers' <c>apply_chat_template(messages,
    /// tokenize=False, add_generation_prompt=…)</c> lays it out: the template sees <c>messages</c> (each a role and
    /// content), <c>add_generation_prompt</c> (true: the text ends where the assistant's answer begins, for generating it),
    /// <c>tools</c> and <c>documents</c> (none), the special tokens' texts (<c>bos_token</c>, <c>eos_token</c>, …) and
    /// <paramref name="variables"/> (a template's own settings, such as LLaMA 3.1's <c>date_string</c>; they override the rest).
    /// </summary>
    /// <exception cref="InvalidOperationException">The tokenizer has no chat template, or the template failed on the messages (its line named).</exception>
    /// <exception cref="ArgumentException">The template refused the messages (its <c>raise_exception</c>, such as roles that do not alternate).</exception>
    /// <exception cref="InvalidDataException">The template does not parse.</exception>
    public string ApplyChatTemplate(IEnumerable<ChatMessage> messages, bool addGenerationPrompt = false, IReadOnlyDictionary<string, object?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string source = ChatTemplate ?? throw new InvalidOperationException(_chatTemplates.Count > 0
            ? $"The tokenizer's configuration names its chat templates ({string.Join(", ", _chatTemplates.Keys)}) and none \"default\": render one with Dsl.ChatTemplate.Parse(tokenizer.ChatTemplates[name])."
            : "The tokenizer has no chat template (no chat_template in its tokenizer_config.json, no chat_template.jinja beside it).");
        ChatTemplate template = _parsed is { } p && ReferenceEquals(p.Source, source) ? p : (_parsed = Dsl.ChatTemplate.Parse(source));
        var all = new Dictionary<string, object?>(_specialTexts, StringComparer.Ordinal)
        {
            ["messages"] = messages.Select(m => m ?? throw new ArgumentException("A message is null.", nameof(messages))).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["tools"] = null,
            ["documents"] = null,
        };
        if (variables is not null) foreach (var (name, value) in variables) all[name] = value;
        return template.Render(all);
    }

    /// <summary>
    /// The ids of the conversation laid out by the chat template (<see cref="ApplyChatTemplate"/>), encoded without the
    /// post-processor's special tokens (the template writes its own <c>bos_token</c>), as transformers'
    /// <c>apply_chat_template(messages, add_generation_prompt=…)</c> gives them.
    /// </summary>
    public int[] EncodeChat(IEnumerable<ChatMessage> messages, bool addGenerationPrompt = false, IReadOnlyDictionary<string, object?>? variables = null) =>
        Encode(ApplyChatTemplate(messages, addGenerationPrompt, variables), addSpecialTokens: false);

    /// <summary>Whether <paramref name="id"/> is a special added token (what <see cref="Decode"/> skips when asked).</summary>
    public bool IsSpecial(int id) => _added.TryGetValue(id, out AddedToken? token) && token.Special;
}

/// <summary>
/// Which text of a pair <see cref="Tokenizer.EncodePairs"/> cuts to fit its max_length (transformers' <c>truncation</c>).</summary>
public enum PairTruncation
{
    /// <summary>"longest_first": the longer text cut to what the shorter leaves, or both to about half.</summary>
    LongestFirst,
    /// <summary>"only_first": the first text's end.</summary>
    OnlyFirst,
    /// <summary>"only_second": the second text's end (an extractive answerer's context, its question kept whole).</summary>
    OnlySecond,
}

/// <summary>
/// Texts' ids padded into one batch (<see cref="Tokenizer.EncodeBatch"/>): <see cref="Ids"/> [<see cref="Count"/>,
/// <see cref="Steps"/>] row by row, each text's <see cref="Lengths"/> before its padding.
/// </summary>
public sealed record EncodedBatch(int[] Ids, int[] Lengths, int Steps)
{
    /// <summary>How many texts (rows).</summary>
    public int Count => Lengths.Length;

    /// <summary>The ids as a model's input, [Count, Steps].</summary>
    public System.Numerics.Tensors.ReadOnlyTensorSpan<int> AsTensor() => new(Ids, [Count, Steps]);
}
