using System;
using System.Linq;
using System.Runtime.CompilerServices;

namespace Dsl;

/// <summary>
/// The tokens that end a decoded sequence: none (<c>default</c>), one (an <c>int</c> converts: <c>endToken: 2</c>), or several
/// (a collection expression: <c>endToken: [128001, 128008, 128009]</c>, LLaMA 3's), as Hugging Face's <c>eos_token_id</c> is one
/// id or a list. A sequence ends at the first of them it chooses.
/// </summary>
[CollectionBuilder(typeof(EndTokens), nameof(Create))]
public readonly struct EndTokens : IEquatable<EndTokens>
{
    private readonly int[]? _tokens; // distinct, in the order given; null: none

    private EndTokens(int[]? tokens) => _tokens = tokens;

    /// <summary>No end token: decoding runs to its length.</summary>
    public static EndTokens None => default;

    /// <summary>The tokens of <paramref name="tokens"/>, each once (empty: none).</summary>
    public static EndTokens Create(ReadOnlySpan<int> tokens) => tokens.IsEmpty ? default : new EndTokens(tokens.ToArray().Distinct().ToArray());

    /// <summary>One end token.</summary>
    public static implicit operator EndTokens(int token) => new([token]);

    /// <summary>One end token, or none for null (what the decoders took before they took several).</summary>
    public static implicit operator EndTokens(int? token) => token is int t ? new([t]) : default;

    /// <summary>The tokens, each once, in the order given.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    /// <summary>How many (0: none).</summary>
    public int Count => _tokens?.Length ?? 0;

    /// <summary>Whether there is none.</summary>
    public bool IsEmpty => _tokens is null;

    /// <summary>Whether <paramref name="token"/> ends a sequence.</summary>
    public bool Contains(int token) => _tokens is not null && Array.IndexOf(_tokens, token) >= 0;

    /// <summary>The tokens (what a collection expression and <c>foreach</c> read).</summary>
    public ReadOnlySpan<int>.Enumerator GetEnumerator() => Tokens.GetEnumerator();

    /// <summary>The same tokens in the same order.</summary>
    public bool Equals(EndTokens other) => Tokens.SequenceEqual(other.Tokens);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is EndTokens other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int t in Tokens) hash.Add(t);
        return hash.ToHashCode();
    }

    /// <summary>The same tokens in the same order.</summary>
    public static bool operator ==(EndTokens left, EndTokens right) => left.Equals(right);

    /// <summary>Other tokens, or another order.</summary>
    public static bool operator !=(EndTokens left, EndTokens right) => !left.Equals(right);

    /// <summary>"none", the token, or the tokens in brackets.</summary>
    public override string ToString() => Count switch
    {
        0 => "none",
        1 => _tokens![0].ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => $"[{string.Join(", ", _tokens!)}]",
    };
}
