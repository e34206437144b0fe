using Dsl;

namespace CharRnn;

// Character-level language models: ids of characters in, logits of the next character out.
// Sizes are compile-time constants in Dsl, so each hidden size is its own declaration.
// Dropout before the output layer keeps the model from memorising a small corpus.

[Embedding(vocab: Chars.Count, dim: 64)]
[Lstm(hidden: 128)]
[Dropout(0.25f)]
[Dense(Chars.Count)]
public partial class CharLstm128;

[Embedding(vocab: Chars.Count, dim: 64)]
[Lstm(hidden: 256)]
[Dropout(0.25f)]
[Dense(Chars.Count)]
public partial class CharLstm256;

[Embedding(vocab: Chars.Count, dim: 64)]
[Lstm(hidden: 512)]
[Dropout(0.25f)]
[Dense(Chars.Count)]
public partial class CharLstm512;

/// <summary>The vocabulary: newline, the 95 printable ASCII characters, and one id for anything else.</summary>
public static class Chars
{
    public const int Count = 97;
    private const int Unknown = 96;

    public static int Encode(char c) => c == '\n' ? 0 : c is >= ' ' and <= '~' ? c - ' ' + 1 : Unknown;

    public static char Decode(int id) => id == 0 ? '\n' : id is > 0 and < Unknown ? (char)(id - 1 + ' ') : '?';

    public static int[] Encode(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++) ids[i] = Encode(text[i]);
        return ids;
    }
}
