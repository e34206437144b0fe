using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// One padded batch of feature sequences: [Batch, Steps, Features] inputs, batch-major, zeros past each sequence's length,
/// with each sequence's length; targets either class ids (<see cref="Classes"/>, −100 ignored) or values
/// (<see cref="Values"/>, <see cref="ValueWidth"/> per target), one per step ([Batch, Steps(, ValueWidth)]) or, when
/// <see cref="SequenceTargets"/>, one per sequence ([Batch(, ValueWidth)]).
/// </summary>
public sealed record FeatureBatch(float[] Inputs, int Batch, int Steps, int Features, int[] Lengths, int[]? Classes, float[]? Values, int ValueWidth,
    bool SequenceTargets)
{
    /// <summary>The shape of <see cref="Inputs"/>: [Batch, Steps, Features].</summary>
    public nint[] InputShape => [Batch, Steps, Features];

    /// <summary>The shape of the targets: [Batch] or [Batch, Steps] for class ids, with a last dimension of <see cref="ValueWidth"/> for values.</summary>
    public nint[] TargetShape => (SequenceTargets, Values is null) switch
    {
        (true, true) => [Batch],
        (false, true) => [Batch, Steps],
        (true, false) => [Batch, ValueWidth],
        (false, false) => [Batch, Steps, ValueWidth],
    };

    /// <summary>
    /// What the loss averages over, as a count of targets: class ids that are not negative; for values, the valid steps (or
    /// the sequences), each of <see cref="ValueWidth"/> values (the same width in every batch of a batcher, so it cancels
    /// in the weighting of batches).
    /// </summary>
    public int Counted => Classes is not null ? Classes.Count(t => t >= 0) : SequenceTargets ? Batch : Lengths.Sum();
}

/// <summary>
/// Groups variable-length sequences of feature vectors (time series, sensor readings, a float model's <c>[Input(features)]</c>)
/// into padded batches for <see cref="Trainer"/>, as <see cref="Batcher"/> does token sequences: zeros past each sequence's
/// length (which the model never reads: every batch carries its lengths), shuffled with a seed each pass, optionally
/// bucketed by length. A sequence is its steps' features one after another (steps × features values). Targets: values
/// per step (steps × width: the mean squared error), class ids per step, one label per sequence (a classifier), or one
/// value vector per sequence (<see cref="SequenceValues"/>: a many-to-one regressor).
/// </summary>
public sealed class FeatureBatcher
{
    private readonly float[][] _inputs;
    private readonly int[][]? _classes;
    private readonly float[][]? _values;
    private readonly Rng _rng;

    /// <summary>Sequences with a value vector per step: each target holds steps × width values (width the same for all).</summary>
    public FeatureBatcher(IEnumerable<(float[] Input, float[] Target)> items, int features, int batchSize, bool shuffle = true, bool bucketByLength = false, int seed = 0)
        : this(features, batchSize, shuffle, bucketByLength, seed, sequenceTargets: false)
    {
        ArgumentNullException.ThrowIfNull(items);
        var list = items.ToArray();
        _inputs = Inputs(list.Select(i => i.Input), nameof(items));
        _values = list.Select(i => i.Target).ToArray();
        ValueWidth = Width(_values, i => Steps(i), "step", nameof(items));
    }

    /// <summary>Sequences with a class id per step (−100: ignored).</summary>
    public FeatureBatcher(IEnumerable<(float[] Input, int[] Target)> items, int features, int batchSize, bool shuffle = true, bool bucketByLength = false, int seed = 0)
        : this(features, batchSize, shuffle, bucketByLength, seed, sequenceTargets: false)
    {
        ArgumentNullException.ThrowIfNull(items);
        var list = items.ToArray();
        _inputs = Inputs(list.Select(i => i.Input), nameof(items));
        _classes = list.Select(i => i.Target).ToArray();
        for (int i = 0; i < _classes.Length; i++)
        {
            if (_classes[i] is null || _classes[i].Length != Steps(i))
                throw new ArgumentException($"Item {i}: {Steps(i)} steps of {features} features, but {(_classes[i] is null ? "no targets" : $"{_classes[i].Length} target ids")}; expected one id per step.", nameof(items));
        }
    }

    /// <summary>Sequences with one label each, for a many-to-one classifier (a negative label: ignored).</summary>
    public FeatureBatcher(IEnumerable<(float[] Input, int Label)> items, int features, int batchSize, bool shuffle = true, bool bucketByLength = false, int seed = 0)
        : this(features, batchSize, shuffle, bucketByLength, seed, sequenceTargets: true)
    {
        ArgumentNullException.ThrowIfNull(items);
        var list = items.ToArray();
        _inputs = Inputs(list.Select(i => i.Input), nameof(items));
        _classes = list.Select(i => new[] { i.Label }).ToArray();
    }

    private FeatureBatcher(float[][] inputs, float[][] values, int features, int batchSize, bool shuffle, bool bucketByLength, int seed)
        : this(features, batchSize, shuffle, bucketByLength, seed, sequenceTargets: true)
    {
        _inputs = inputs;
        _values = values;
        ValueWidth = Width(values, _ => 1, "sequence", "items");
    }

    private FeatureBatcher(int features, int batchSize, bool shuffle, bool bucketByLength, int seed, bool sequenceTargets)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "must be positive");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        Features = features;
        BatchSize = batchSize;
        Shuffle = shuffle;
        BucketByLength = bucketByLength;
        SequenceTargets = sequenceTargets;
        _rng = new Rng((ulong)seed);
        _inputs = [];
    }

    /// <summary>Sequences with one value vector each (the same width for all), for a many-to-one regressor.</summary>
    public static FeatureBatcher SequenceValues(IEnumerable<(float[] Input, float[] Value)> items, int features, int batchSize, bool shuffle = true,
        bool bucketByLength = false, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "must be positive");
        var list = items.ToArray();
        return new FeatureBatcher(Inputs(list.Select(i => i.Input), features, nameof(items)), list.Select(i => i.Value).ToArray(), features, batchSize, shuffle, bucketByLength, seed);
    }

    /// <summary>Input features per step.</summary>
    public int Features { get; }

    /// <summary>Sequences per batch (the last batch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each pass visits the sequences in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether batches hold sequences of similar length (sorted within shuffled buckets).</summary>
    public bool BucketByLength { get; }

    /// <summary>True for one target per sequence (a many-to-one model's), false for one per step.</summary>
    public bool SequenceTargets { get; }

    /// <summary>True for class-id targets (cross-entropy), false for values (mean squared error).</summary>
    public bool Classes => _classes is not null;

    /// <summary>Values per target (0 for class ids).</summary>
    public int ValueWidth { get; }

    /// <summary>Number of sequences.</summary>
    public int Count => _inputs.Length;

    /// <summary>Batches per pass.</summary>
    public int BatchCount => (int)(((long)_inputs.Length + BatchSize - 1) / BatchSize);

    /// <summary>The generator that shuffles the batches, one draw per epoch (a checkpoint that saves it resumes the batch order).</summary>
    public Rng Random => _rng;

    private int Steps(int item) => _inputs[item].Length / Features;

    private float[][] Inputs(IEnumerable<float[]> inputs, string name) => Inputs(inputs, Features, name);

    private static float[][] Inputs(IEnumerable<float[]> inputs, int features, string name)
    {
        float[][] all = inputs.ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i] is null || all[i].Length == 0 || all[i].Length % features != 0)
                throw new ArgumentException($"Item {i}: its input holds {(all[i] is null ? "nothing (null)" : $"{all[i].Length} values")}; expected a positive number of steps of {features} features.", name);
        }
        return all;
    }

    /// <summary>The values per step (or per sequence: <paramref name="steps"/> 1) that every item's target holds, the same for all.</summary>
    private static int Width(float[][] values, Func<int, int> steps, string per, string name)
    {
        int width = 0;
        for (int i = 0; i < values.Length; i++)
        {
            int n = steps(i);
            if (values[i] is null || values[i].Length == 0 || values[i].Length % n != 0)
                throw new ArgumentException($"Item {i}: {(values[i] is null ? "no target" : $"a target of {values[i].Length} values")} for {n} {per}{(n == 1 ? "" : "s")}; expected the same positive number of values for each.", name);
            int w = values[i].Length / n;
            if (width == 0) width = w;
            else if (w != width) throw new ArgumentException($"Item {i}: {w} target values per {per}, item 0 has {width}; they must be the same.", name);
        }
        return width;
    }

    /// <summary>
    /// Checks the data against a float model before it trains on any: its features, its targets' width or classes, and one
    /// target per step for a model that returns sequences, one per sequence for a many-to-one model. Names what is wrong.
    /// </summary>
    internal void Check(IModel model, string name)
    {
        if (Count == 0) return;
        // a NaN or an infinity met mid-epoch would stop the run after earlier batches had moved the weights
        for (int i = 0; i < _inputs.Length; i++)
        {
            int at = Array.FindIndex(_inputs[i], v => !float.IsFinite(v));
            if (at >= 0) throw new ArgumentException($"{name}: sequence {i} holds {_inputs[i][at]} at step {at / Features}, feature {at % Features}; inputs must be finite.", name);
            if (_values is not null && Array.FindIndex(_values[i], v => !float.IsFinite(v)) is int v and >= 0)
                throw new ArgumentException($"{name}: sequence {i}'s target holds {_values[i][v]}{(SequenceTargets ? "" : $" at step {v / ValueWidth}")}; targets must be finite.", name);
        }
        if (Features != model.InputWidth)
            throw new ArgumentException($"{name}: sequences of {Features} features, but the model reads {model.InputWidth}.", name);
        if (SequenceTargets == model.ReturnsSequences)
            throw new ArgumentException(SequenceTargets
                ? $"{name}: one target per sequence, but the model returns a sequence ([batch, steps, {model.OutputWidth}]): give a target per step."
                : $"{name}: a target per step, but the model returns one vector per sequence ([batch, {model.OutputWidth}]): give one target per sequence.", name);
        if (_values is not null && ValueWidth != model.OutputWidth)
            throw new ArgumentException($"{name}: targets of {ValueWidth} values, but the model outputs {model.OutputWidth}.", name);
        if (_classes is null) return;
        for (int i = 0; i < _classes.Length; i++)
        {
            for (int t = 0; t < _classes[i].Length; t++)
            {
                if (_classes[i][t] >= model.OutputWidth)
                    throw new ArgumentException($"{name}: sequence {i} has class {_classes[i][t]}{(SequenceTargets ? "" : $" at step {t}")}, outside the model's classes [0, {model.OutputWidth}) (negative ids are ignored).", name);
            }
        }
    }

    /// <summary>The longest sequence (its index and steps; (−1, 0) when there is none): what a learned position table must hold.</summary>
    internal (int Index, int Steps) Longest()
    {
        (int, int) longest = (-1, 0);
        for (int i = 0; i < _inputs.Length; i++)
        {
            if (_inputs[i].Length / Features > longest.Item2) longest = (i, _inputs[i].Length / Features);
        }
        return longest;
    }

    /// <summary>One pass over the data.</summary>
    public IEnumerable<FeatureBatch> Batches()
    {
        foreach (int[] members in Batcher.Members(_inputs.Length, BatchSize, Shuffle, BucketByLength, _rng, i => _inputs[i].Length))
            yield return Pad(members);
    }

    private FeatureBatch Pad(int[] members)
    {
        int steps = members.Max(Steps), rows = members.Length, per = SequenceTargets ? 1 : steps;
        var inputs = new float[rows * steps * Features];
        var lengths = new int[rows];
        int[]? classes = _classes is null ? null : new int[rows * per];
        float[]? values = _values is null ? null : new float[rows * per * ValueWidth];
        if (classes is not null) Array.Fill(classes, Batcher.IgnoredTarget);
        for (int r = 0; r < rows; r++)
        {
            int i = members[r];
            _inputs[i].CopyTo(inputs, r * steps * Features);
            lengths[r] = Steps(i);
            _classes?[i].CopyTo(classes!, r * per);
            _values?[i].CopyTo(values!, r * per * ValueWidth);
        }
        return new FeatureBatch(inputs, rows, steps, Features, lengths, classes, values, ValueWidth, SequenceTargets);
    }
}
