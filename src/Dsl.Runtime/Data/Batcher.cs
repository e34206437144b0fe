using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// One padded batch of token sequences: [Batch, Steps] inputs, batch-major, with each sequence's length; targets
/// [Batch, Steps] (one per step), or [Batch] when <see cref="SequenceTargets"/> (one label per sequence: a classifier).
/// </summary>
public sealed record TokenBatch(int[] Inputs, int[] Targets, int Batch, int Steps, int[] Lengths, bool SequenceTargets = false)
{
    /// <summary>The shape of <see cref="Targets"/>: [Batch] or [Batch, Steps].</summary>
    public nint[] TargetShape => SequenceTargets ? [Batch] : [Batch, Steps];
}

/// <summary>
/// Groups variable-length (input, target) token sequences into padded batches: inputs padded with
/// <see cref="Vocabulary.PadId"/>, targets with −100 (ignored by the loss). Optionally shuffles with a seed
/// each pass, and sorts or buckets by length so that a batch holds sequences of similar length.
/// Each batch carries its lengths: <see cref="Trainer"/> passes them on, so that padding changes nothing for any model
/// (bidirectional and many-to-one included). A batcher over (sequence, label) pairs batches a classifier's data.
/// </summary>
public sealed class Batcher
{
    /// <summary>The target id that the loss ignores.</summary>
    public const int IgnoredTarget = -100;

    private readonly (int[] Input, int[] Target)[] _items;
    private readonly bool _labels;
    private readonly Rng _rng;

    /// <summary>
    /// The generator that shuffles the batches, one draw per epoch: a checkpoint that saves it
    /// (<c>Checkpoint.Save(…, random: batcher.Random)</c>, as <see cref="Trainer"/>'s does) resumes the run's batch order.
    /// </summary>
    public Rng Random => _rng;

    /// <summary>Creates a batcher over pairs of equal-length input and target sequences.</summary>
    public Batcher(IEnumerable<(int[] Input, int[] Target)> items, int batchSize, bool shuffle = true, bool bucketByLength = false, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        _items = items.ToArray();
        for (int i = 0; i < _items.Length; i++)
        {
            if (_items[i].Input is null || _items[i].Target is null)
                throw new ArgumentException($"Item {i}: its {(_items[i].Input is null ? "input" : "target")} is null; expected an array of ids.", nameof(items));
            if (_items[i].Input.Length != _items[i].Target.Length || _items[i].Input.Length == 0)
                throw new ArgumentException($"Item {i}: input has {_items[i].Input.Length} ids and target {_items[i].Target.Length}; they must be equal and positive.", nameof(items));
        }
        BatchSize = batchSize;
        Shuffle = shuffle;
        BucketByLength = bucketByLength;
        _rng = new Rng((ulong)seed);
    }

    /// <summary>
    /// Creates a batcher over (sequence, label) pairs for a many-to-one model: each batch's targets are one label per
    /// sequence, [Batch] (<see cref="TokenBatch.SequenceTargets"/>).
    /// </summary>
    public Batcher(IEnumerable<(int[] Input, int Label)> items, int batchSize, bool shuffle = true, bool bucketByLength = false, int seed = 0)
        : this(Labelled(items), batchSize, shuffle, bucketByLength, seed) => _labels = true;

    /// <summary>A label as a one-step target, checked like the sequences (the constructor above pairs it with its sequence).</summary>
    private static IEnumerable<(int[] Input, int[] Target)> Labelled(IEnumerable<(int[] Input, int Label)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        int i = 0;
        foreach (var (input, label) in items)
        {
            if (input is null || input.Length == 0) throw new ArgumentException($"Item {i}: the sequence is {(input is null ? "null" : "empty")}; it must hold at least one id.", nameof(items));
            // the target array has the sequence's length for the checks, the label first
            var target = new int[input.Length];
            Array.Fill(target, IgnoredTarget);
            target[0] = label;
            yield return (input, target);
            i++;
        }
    }

    /// <summary>Sequences per batch (the last batch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each pass visits the sequences in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether batches hold sequences of similar length (sorted within shuffled buckets).</summary>
    public bool BucketByLength { get; }

    /// <summary>Number of sequences.</summary>
    public int Count => _items.Length;

    /// <summary>True when the targets are one label per sequence (a many-to-one model's), false for one per step.</summary>
    public bool Labels => _labels;

    /// <summary>
    /// Checks every sequence's ids against a model before it trains on any (an id past the vocabulary found in a later
    /// batch would otherwise stop a run after the weights had changed): inputs in [0, <paramref name="vocab"/>), targets
    /// (or labels) below <paramref name="classes"/> or negative (ignored). The error names the sequence and the step.
    /// </summary>
    internal void CheckIds(int vocab, int classes, string name)
    {
        for (int i = 0; i < _items.Length; i++)
        {
            var (input, target) = _items[i];
            for (int t = 0; t < input.Length; t++)
            {
                if ((uint)input[t] >= (uint)vocab)
                    throw new ArgumentException($"{name}: sequence {i} holds token id {input[t]} at step {t}, outside the model's vocabulary [0, {vocab}).", name);
                if (target[t] >= classes)
                    throw new ArgumentException(_labels
                        ? $"{name}: sequence {i} has label {target[t]}, outside the model's classes [0, {classes}) (negative labels are ignored)."
                        : $"{name}: sequence {i} has target id {target[t]} at step {t}, outside the model's classes [0, {classes}) (negative ids are ignored as padding).", name);
            }
        }
    }

    /// <summary>The longest sequence (its index and steps; (−1, 0) when there is none): what a learned position table must hold.</summary>
    internal (int Index, int Steps) Longest()
    {
        (int, int) longest = (-1, 0);
        for (int i = 0; i < _items.Length; i++)
        {
            if (_items[i].Input.Length > longest.Item2) longest = (i, _items[i].Input.Length);
        }
        return longest;
    }

    /// <summary>Batches per pass.</summary>
    public int BatchCount => (int)(((long)_items.Length + BatchSize - 1) / BatchSize); // (in long: a batch size of int.MaxValue, one batch of everything, had made 0 batches)

    /// <summary>One pass over the data.</summary>
    public IEnumerable<TokenBatch> Batches()
    {
        foreach (int[] members in Members(_items.Length, BatchSize, Shuffle, BucketByLength, _rng, i => _items[i].Input.Length))
            yield return Pad(members);
    }

    /// <summary>
    /// The items of each batch of one pass, for this batcher and <see cref="FeatureBatcher"/>: in a new random order each pass
    /// when <paramref name="shuffle"/> (one draw of <paramref name="rng"/>); with <paramref name="bucketByLength"/>, sorted by
    /// <paramref name="length"/> within windows of 50 batches and the batches then shuffled, so that lengths are close but
    /// batches still vary.
    /// </summary>
    internal static IEnumerable<int[]> Members(int count, int batchSize, bool shuffle, bool bucketByLength, Rng rng, Func<int, int> length)
    {
        int[] order = Enumerable.Range(0, count).ToArray();
        if (shuffle) rng.Shuffle<int>(order);
        if (bucketByLength)
        {
            int window = (int)Math.Min(50L * batchSize, int.MaxValue);
            for (int start = 0; start < order.Length; start += window)
                Array.Sort(order, start, Math.Min(window, order.Length - start), Comparer<int>.Create((a, b) => length(a).CompareTo(length(b))));
        }
        var batches = Enumerable.Range(0, (int)(((long)count + batchSize - 1) / batchSize)).ToArray();
        if (shuffle && bucketByLength) rng.Shuffle<int>(batches);
        foreach (int b in batches)
            yield return order.Skip((int)Math.Min((long)b * batchSize, int.MaxValue)).Take(batchSize).ToArray();
    }

    private TokenBatch Pad(int[] members)
    {
        int steps = members.Max(i => _items[i].Input.Length);
        var inputs = new int[members.Length * steps];
        var targets = new int[_labels ? members.Length : members.Length * steps];
        Array.Fill(targets, IgnoredTarget);
        var lengths = new int[members.Length];
        for (int r = 0; r < members.Length; r++)
        {
            var (input, target) = _items[members[r]];
            input.CopyTo(inputs, r * steps);
            if (_labels) targets[r] = target[0];
            else target.CopyTo(targets, r * steps);
            lengths[r] = input.Length;
        }
        return new TokenBatch(inputs, targets, members.Length, steps, lengths, _labels);
    }

    /// <summary>
    /// Splits <paramref name="items"/> into training and validation sets, the latter <paramref name="validationFraction"/> of
    /// them rounded up (scikit-learn's <c>train_test_split</c>: ⌈fraction × count⌉, so a fraction above 0 always holds some
    /// items out), shuffled with <paramref name="seed"/>. A split that would leave no training item is refused, as
    /// scikit-learn refuses it.
    /// </summary>
    public static (T[] Training, T[] Validation) Split<T>(IReadOnlyList<T> items, double validationFraction, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!(validationFraction >= 0 && validationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "must be in [0, 1)");
        var rng = new Rng((ulong)seed);
        int[] order = Enumerable.Range(0, items.Count).ToArray();
        rng.Shuffle<int>(order);
        int validation = (int)Math.Ceiling(items.Count * validationFraction);
        if (items.Count > 0 && validation >= items.Count)
            throw new ArgumentException($"A validation fraction of {validationFraction} of {items.Count} items leaves no training item " +
                $"({validation} for validation); expected a smaller fraction or more items.", nameof(validationFraction));
        return (order.Skip(validation).Select(i => items[i]).ToArray(), order.Take(validation).Select(i => items[i]).ToArray());
    }
}
