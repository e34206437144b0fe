using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Dsl;

/// <summary>
/// Tokens ↔ ids for character or word models, with the four special tokens at fixed ids:
/// <see cref="PadId"/> 0, <see cref="UnknownId"/> 1, <see cref="StartId"/> 2, <see cref="EndId"/> 3.
/// Other tokens follow by decreasing frequency (ties in ordinal order), so a vocabulary built from the
/// same text is always the same.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>Padding token.</summary>
    public const string Pad = "<pad>";
    /// <summary>Unknown token.</summary>
    public const string Unknown = "<unk>";
    /// <summary>Start-of-sequence token.</summary>
    public const string Start = "<s>";
    /// <summary>End-of-sequence token.</summary>
    public const string End = "</s>";

    /// <summary>Id of <see cref="Pad"/>.</summary>
    public const int PadId = 0;
    /// <summary>Id of <see cref="Unknown"/>.</summary>
    public const int UnknownId = 1;
    /// <summary>Id of <see cref="Start"/>.</summary>
    public const int StartId = 2;
    /// <summary>Id of <see cref="End"/>.</summary>
    public const int EndId = 3;

    private readonly List<string> _tokens;
    private readonly Dictionary<string, int> _ids;

    private Vocabulary(bool characters, IEnumerable<string> tokens)
    {
        IsCharacters = characters;
        _tokens = new List<string> { Pad, Unknown, Start, End };
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Count; i++) _ids[_tokens[i]] = i;
        foreach (string t in tokens)
        {
            if (_ids.TryAdd(t, _tokens.Count)) _tokens.Add(t);
        }
    }

    /// <summary>
    /// True for a character vocabulary (each character a token: a Unicode scalar value, so an emoji or a CJK
    /// extension character is one token, not two UTF-16 halves that a UTF-8 file cannot hold), false for words split on
    /// white space.
    /// </summary>
    public bool IsCharacters { get; }

    /// <summary>Number of ids, special tokens included: the <c>vocab</c> of an <c>[Embedding]</c>.</summary>
    public int Count => _tokens.Count;

    /// <summary>A character vocabulary of <paramref name="text"/>, at most <paramref name="maxSize"/> ids.</summary>
    public static Vocabulary Characters(string text, int? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Vocabulary(true, ByFrequency(CharacterTokens(text), 1, maxSize));
    }

    /// <summary>A word vocabulary of <paramref name="texts"/> (split on white space), words seen at least <paramref name="minCount"/> times.</summary>
    public static Vocabulary Words(IEnumerable<string> texts, int minCount = 1, int? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return new Vocabulary(false, ByFrequency(texts.Select((text, i) => text ?? throw new ArgumentException($"Item {i} of the texts is null.", nameof(texts))).SelectMany(Split), minCount, maxSize));
    }

    private static IEnumerable<string> ByFrequency(IEnumerable<string> tokens, int minCount, int? maxSize)
    {
        if (maxSize is int m && m < 4) throw new ArgumentOutOfRangeException(nameof(maxSize), m, "must leave room for the four special tokens");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string t in tokens) counts[t] = counts.TryGetValue(t, out int n) ? n + 1 : 1;
        // a special token in the text (a word "<unk>") keeps its fixed id: it takes none of the maxSize − 4 places
        var ordered = counts.Where(kv => kv.Value >= minCount && kv.Key is not (Pad or Unknown or Start or End)).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        return maxSize is int max ? ordered.Take(max - 4) : ordered;
    }

    /// <summary>The words of <paramref name="text"/>, split on white space, each a string of Unicode scalar values (a lone surrogate: U+FFFD, as for characters).</summary>
    private static IEnumerable<string> Split(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(ScalarValues);

    /// <summary>
    /// <paramref name="word"/> with each lone surrogate replaced by U+FFFD, as UTF-8 writes it: the vocabulary file then
    /// reads back the same tokens (two words that differ only in their lone surrogates had become one, shifting every later id).
    /// </summary>
    private static string ScalarValues(string word)
    {
        foreach (char c in word)
        {
            if (char.IsSurrogate(c)) return string.Concat(word.EnumerateRunes().Select(r => r.ToString()));
        }
        return word;
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnknownId"/>.</summary>
    public int this[string token] => _ids.TryGetValue(token, out int id) ? id : UnknownId;

    /// <summary>The token of <paramref name="id"/>.</summary>
    public string this[int id] => (uint)id < (uint)_tokens.Count ? _tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"ids are 0 … {_tokens.Count - 1}");

    /// <summary>The characters of <paramref name="text"/> one by one, as Unicode scalar values (a lone surrogate: U+FFFD, as UTF-8 writes it).</summary>
    private static IEnumerable<string> CharacterTokens(string text) => text.EnumerateRunes().Select(r => r.ToString());

    /// <summary>Ids of <paramref name="text"/>, optionally framed by start and end tokens.</summary>
    public int[] Encode(string text, bool addStart = false, bool addEnd = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        IEnumerable<string> tokens = IsCharacters ? CharacterTokens(text) : Split(text);
        var ids = new List<int>();
        if (addStart) ids.Add(StartId);
        foreach (string t in tokens) ids.Add(this[t]);
        if (addEnd) ids.Add(EndId);
        return ids.ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>, without padding, start and end tokens; words joined by spaces.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (id is PadId or StartId or EndId) continue;
            if (!IsCharacters && sb.Length > 0) sb.Append(' ');
            sb.Append(this[id]);
        }
        return sb.ToString();
    }

    /// <summary>Writes the vocabulary as text, atomically: the kind on the first line, then one token per line (escaped).</summary>
    public void Save(string path)
    {
        var lines = new[] { IsCharacters ? "characters" : "words" }.Concat(_tokens.Skip(4).Select(Escape));
        AtomicFile.WriteText(path, string.Join("\n", lines) + "\n");
    }

    /// <summary>Reads a vocabulary written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not one: its first line is not the kind, or a token is empty,
    /// special or repeated (its id, and every later one, would not be the saved one).</exception>
    public static Vocabulary Load(string path)
    {
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] is not ("characters" or "words"))
            throw new InvalidDataException($"'{path}' is not a Dsl vocabulary: its first line must be 'characters' or 'words'.");
        var tokens = new List<string>(lines.Length - 1);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal) { [Pad] = -1, [Unknown] = -1, [Start] = -1, [End] = -1 };
        for (int i = 1; i < lines.Length; i++)
        {
            string token = Unescape(lines[i]);
            if (token.Length == 0) throw new InvalidDataException($"'{path}', line {i + 1}: an empty token; each line after the first holds one token.");
            if (!seen.TryAdd(token, i + 1))
                throw new InvalidDataException(seen[token] < 0
                    ? $"'{path}', line {i + 1}: the special token '{token}' has its fixed id; the file lists only the others."
                    : $"'{path}', line {i + 1}: the token '{lines[i]}' is on line {seen[token]} too; each token has one id.");
            tokens.Add(token);
        }
        return new Vocabulary(lines[0] == "characters", tokens);
    }

    private static string Escape(string token) => token.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\r", "\\r");

    private static string Unescape(string line)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] != '\\' || i + 1 == line.Length) { sb.Append(line[i]); continue; }
            char next = line[++i];
            sb.Append(next switch { 'n' => '\n', 'r' => '\r', _ => next });
        }
        return sb.ToString();
    }
}
