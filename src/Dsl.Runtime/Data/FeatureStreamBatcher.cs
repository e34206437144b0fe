using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// One long series of feature vectors (a sensor log, a price history, a simulation) for stateful training of a float model,
/// as <see cref="StreamBatcher"/> reads a token corpus (Keras's <c>stateful=True</c> over one series): the series is cut
/// into <see cref="BatchSize"/> contiguous streams of <see cref="StreamLength"/> steps (the last <see cref="DroppedSteps"/>,
/// fewer than <see cref="BatchSize"/>, dropped), and each batch holds the next <see cref="Steps"/> steps of every stream (the
/// last batch shorter) with their targets: a value vector per step (the mean squared error) or a class id per step. Batches
/// come in order, never shuffled; <see cref="Trainer"/> carries the model's state from one to the next, detached, from a
/// fresh state each epoch.
/// </summary>
public sealed class FeatureStreamBatcher
{
    private readonly float[][] _inputs;   // stream b's steps, StreamLength × Features
    private readonly float[][]? _values;  // stream b's targets, StreamLength × ValueWidth
    private readonly int[][]? _classes;   // stream b's class ids, StreamLength
    private readonly FeatureBatcher _streams; // the streams as sequences: what the data is checked against a model through

    /// <summary>
    /// A series of steps × <paramref name="features"/> <paramref name="inputs"/> with a value vector per step,
    /// <paramref name="targets"/> (steps × width: the width is what they hold per step), cut into
    /// <paramref name="batchSize"/> streams read <paramref name="steps"/> at a time.
    /// </summary>
    public FeatureStreamBatcher(ReadOnlySpan<float> inputs, int features, ReadOnlySpan<float> targets, int batchSize, int steps)
        : this(inputs, features, batchSize, steps, targets.Length, "targets")
    {
        ValueWidth = targets.Length / (StreamLength * BatchSize + DroppedSteps);
        var cut = new float[BatchSize][];
        for (int b = 0; b < BatchSize; b++) cut[b] = targets.Slice(b * StreamLength * ValueWidth, StreamLength * ValueWidth).ToArray();
        _values = cut;
        _streams = new FeatureBatcher(_inputs.Zip(_values), features, batchSize, shuffle: false);
    }

    /// <summary>As the constructor above, with a class id per step (cross-entropy; negative ids ignored).</summary>
    public FeatureStreamBatcher(ReadOnlySpan<float> inputs, int features, ReadOnlySpan<int> classes, int batchSize, int steps)
        : this(inputs, features, batchSize, steps, classes.Length, "classes")
    {
        var ids = classes;
        int[][] cut = new int[BatchSize][];
        for (int b = 0; b < BatchSize; b++) cut[b] = ids.Slice(b * StreamLength, StreamLength).ToArray();
        _classes = cut;
        ValueWidth = 1;
        _streams = new FeatureBatcher(_inputs.Zip(_classes), features, batchSize, shuffle: false);
    }

    private FeatureStreamBatcher(ReadOnlySpan<float> inputs, int features, int batchSize, int steps, int targetLength, string targetName)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "must be positive");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be positive");
        if (inputs.Length % features != 0)
            throw new ArgumentException($"inputs: {inputs.Length} values are not whole steps of {features} features.", nameof(inputs));
        int total = inputs.Length / features;
        if (targetName == "classes" && targetLength != total)
            throw new ArgumentException($"classes: {targetLength} class ids for {total} steps; expected one per step.", targetName);
        if (total == 0 || targetLength == 0 || targetLength % total != 0)
            throw new ArgumentException($"{targetName}: {targetLength} values for {total} steps; expected the same positive number for each step.", targetName);
        int length = total / batchSize;
        if (length < 1)
            throw new ArgumentException($"inputs: {total} steps make {batchSize} streams of none; at least {batchSize} steps are needed, or a smaller batch size.", nameof(inputs));
        BatchSize = batchSize;
        Steps = steps;
        Features = features;
        StreamLength = length;
        DroppedSteps = total - length * batchSize;
        float[][] cut = new float[batchSize][];
        for (int b = 0; b < batchSize; b++) cut[b] = inputs.Slice(b * length * features, length * features).ToArray();
        _inputs = cut;
        _streams = null!; // set by the public constructors
    }

    /// <summary>Streams read side by side: the rows of every batch.</summary>
    public int BatchSize { get; }

    /// <summary>Steps per batch (the last batch of a pass may have fewer): how far back-propagation reaches.</summary>
    public int Steps { get; }

    /// <summary>Features per step.</summary>
    public int Features { get; }

    /// <summary>Steps in each stream.</summary>
    public int StreamLength { get; }

    /// <summary>Steps at the end of the series that make no whole column of streams, left out.</summary>
    public int DroppedSteps { get; }

    /// <summary>True when the targets are class ids, false for value vectors.</summary>
    public bool Classes => _classes is not null;

    /// <summary>Values per target (1 for class ids).</summary>
    public int ValueWidth { get; }

    /// <summary>How a model reads each stream: one sequence of <see cref="StreamLength"/> steps, of StreamLength × BatchSize in all.</summary>
    internal (int Steps, long Total) Reading => (StreamLength, (long)StreamLength * BatchSize);

    /// <summary>Batches per pass: ⌈StreamLength / Steps⌉.</summary>
    public int BatchCount => (StreamLength - 1) / Steps + 1;

    /// <summary>
    /// One pass over the streams, in order: batch i holds steps [i · Steps, i · Steps + n) of every stream, n = min(Steps,
    /// StreamLength − i · Steps), inputs [BatchSize, n, Features] and their targets.
    /// </summary>
    public IEnumerable<FeatureBatch> Batches()
    {
        for (long at = 0; at < StreamLength; at += Steps)
        {
            int start = (int)at, n = Math.Min(Steps, StreamLength - start);
            var inputs = new float[BatchSize * n * Features];
            float[]? values = _values is null ? null : new float[BatchSize * n * ValueWidth];
            int[]? classes = _classes is null ? null : new int[BatchSize * n];
            for (int b = 0; b < BatchSize; b++)
            {
                Array.Copy(_inputs[b], start * Features, inputs, b * n * Features, n * Features);
                if (values is not null) Array.Copy(_values![b], start * ValueWidth, values, b * n * ValueWidth, n * ValueWidth);
                if (classes is not null) Array.Copy(_classes![b], start, classes, b * n, n);
            }
            var lengths = new int[BatchSize];
            Array.Fill(lengths, n);
            yield return new FeatureBatch(inputs, BatchSize, n, Features, lengths, classes, values, values is null ? 0 : ValueWidth, SequenceTargets: false);
        }
    }

    /// <summary>Checks the series against a float model before it trains (finite values, features, the targets' width or classes), naming the stream and step.</summary>
    internal void Check(IModel model, string name) => _streams.Check(model, name);
}
