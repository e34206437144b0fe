using System;
using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// One long token stream (a corpus) for stateful language-model training, as PyTorch's word_language_model example
/// reads it (<c>batchify</c>, <c>get_batch</c>): the stream is cut into <see cref="BatchSize"/> contiguous streams of
/// <see cref="StreamLength"/> tokens each (the last <see cref="DroppedTokens"/> tokens, fewer than <see cref="BatchSize"/>,
/// are dropped), and each batch holds the next <see cref="Steps"/> tokens of every stream, its targets the tokens one
/// step later (the last batch shorter when the streams do not divide evenly). Batches come in order, never shuffled:
/// row b of each batch continues row b of the batch before, so <see cref="Trainer"/> carries the model's state from one
/// batch to the next (detached: truncated back-propagation through time over the whole corpus), from a fresh state at
/// each epoch's start, and evaluates the same way.
/// </summary>
public sealed class StreamBatcher
{
    private readonly int[] _streams; // [BatchSize, StreamLength], stream b at b · StreamLength

    /// <summary>
    /// Cuts <paramref name="ids"/> into <paramref name="batchSize"/> streams, read <paramref name="steps"/> tokens at a time
    /// (PyTorch's <c>bptt</c>). Every stream needs two tokens at least (an input and its target); ids must not be negative
    /// (a stream has no padding), and are checked against the model when it trains.
    /// </summary>
    public StreamBatcher(ReadOnlySpan<int> ids, int batchSize, int steps)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be positive");
        int length = ids.Length / batchSize;
        if (length < 2)
            throw new ArgumentException($"ids: {ids.Length} tokens make {batchSize} streams of {length} token(s); each stream needs at least 2 (an input and its target), so at least {2L * batchSize} tokens, or a smaller batch size.", nameof(ids));
        for (int i = 0; i < length * batchSize; i++)
        {
            if (ids[i] < 0)
                throw new ArgumentException($"ids: token id {ids[i]} at position {i}; a stream's ids are a vocabulary's, 0 or more (a stream has no padding to ignore).", nameof(ids));
        }
        _streams = ids[..(length * batchSize)].ToArray();
        BatchSize = batchSize;
        Steps = steps;
        StreamLength = length;
        DroppedTokens = ids.Length - length * batchSize;
    }

    /// <summary>Streams read side by side: the rows of every batch.</summary>
    public int BatchSize { get; }

    /// <summary>Steps per batch (the last batch of a pass may have fewer): how far back-propagation reaches.</summary>
    public int Steps { get; }

    /// <summary>Tokens in each stream.</summary>
    public int StreamLength { get; }

    /// <summary>Tokens at the end of the ids that make no whole column of streams, left out (as <c>batchify</c> leaves them).</summary>
    public int DroppedTokens { get; }

    /// <summary>Targets in one pass: every stream's tokens after its first.</summary>
    public long Targets => (long)BatchSize * (StreamLength - 1);

    /// <summary>How a model reads each stream: one sequence of <see cref="StreamLength"/> − 1 steps, of <see cref="Targets"/> in all.</summary>
    internal (int Steps, long Total) Reading => (StreamLength - 1, Targets);

    /// <summary>Batches per pass: ⌈(StreamLength − 1) / Steps⌉.</summary>
    public int BatchCount => (StreamLength - 2) / Steps + 1; // ⌈(StreamLength − 1) / Steps⌉ with StreamLength ≥ 2, without overflowing

    /// <summary>
    /// One pass over the streams, in order: batch i holds steps [i · Steps, i · Steps + n) of every stream, n = min(Steps,
    /// StreamLength − 1 − i · Steps), [BatchSize, n] batch-major, and the next token of each as its target.
    /// </summary>
    public IEnumerable<TokenBatch> Batches()
    {
        for (long at = 0; at < StreamLength - 1; at += Steps)
        {
            int start = (int)at, n = Math.Min(Steps, StreamLength - 1 - start);
            var inputs = new int[BatchSize * n];
            var targets = new int[BatchSize * n];
            for (int b = 0; b < BatchSize; b++)
            {
                Array.Copy(_streams, b * StreamLength + start, inputs, b * n, n);
                Array.Copy(_streams, b * StreamLength + start + 1, targets, b * n, n);
            }
            var lengths = new int[BatchSize];
            Array.Fill(lengths, n);
            yield return new TokenBatch(inputs, targets, BatchSize, n, lengths);
        }
    }

    /// <summary>
    /// Checks every id against a model before it trains (an id past the vocabulary found late would stop a run after the
    /// weights had changed): inputs (every token but each stream's last) in [0, <paramref name="vocab"/>), targets (every
    /// token but each stream's first) below <paramref name="classes"/>. The error names the stream and the position.
    /// </summary>
    internal void CheckIds(int vocab, int classes, string name)
    {
        for (int b = 0; b < BatchSize; b++)
        {
            for (int t = 0; t < StreamLength; t++)
            {
                int id = _streams[b * StreamLength + t];
                if (t < StreamLength - 1 && id >= vocab)
                    throw new ArgumentException($"{name}: stream {b} holds token id {id} at position {t} (position {b * StreamLength + t} of the ids), outside the model's vocabulary [0, {vocab}).", name);
                if (t > 0 && id >= classes)
                    throw new ArgumentException($"{name}: stream {b} holds token id {id} at position {t} (position {b * StreamLength + t} of the ids), a target outside the model's classes [0, {classes}).", name);
            }
        }
    }
}
