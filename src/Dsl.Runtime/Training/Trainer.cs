using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;

namespace Dsl;

/// <summary>What a <see cref="Trainer"/> reports after each batch and each epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Batch">1-based batch within the epoch (equal to <paramref name="BatchesPerEpoch"/> at the end of an epoch).</param>
/// <param name="BatchesPerEpoch">Batches in an epoch.</param>
/// <param name="Loss">Mean training loss of the epoch so far (cross-entropy in nats, the smoothed loss when the model has <see cref="IModel.LabelSmoothing"/>; or the mean squared error).</param>
/// <param name="Perplexity">e^Loss: the perplexity without label smoothing (with it, e^ of the smoothed loss, higher); NaN for a squared error.</param>
/// <param name="GradientNorm">Global gradient norm of the last optimiser step (the last batch's, or with gradient accumulation the
/// accumulated batches'), before clipping; 0 before the epoch's first step.</param>
/// <param name="TokensPerSecond">Training throughput of the epoch so far, in targets (tokens, steps or sequences) per second.</param>
/// <param name="ValidationLoss">Mean validation loss, at the end of an epoch when there is validation data.</param>
/// <param name="ValidationAccuracy">Fraction of validation targets predicted (arg max), with <paramref name="ValidationLoss"/>; NaN for value targets.</param>
/// <param name="EndOfEpoch">True for the report that closes an epoch.</param>
public sealed record TrainingProgress(int Epoch, int Batch, int BatchesPerEpoch, float Loss, float Perplexity, float GradientNorm,
    double TokensPerSecond, float? ValidationLoss, float? ValidationAccuracy, bool EndOfEpoch);

/// <summary>The outcome of <c>Trainer.Fit</c>.</summary>
public sealed record TrainingReport(int Epochs, float LastTrainingLoss, float? BestValidationLoss, int BestEpoch, bool StoppedEarly);

/// <summary>
/// A training loop in a few lines (Keras's <c>fit</c>): for a token model, batches from a <see cref="Batcher"/>, for a model
/// of feature vectors (<c>[Input(features)]</c>), from a <see cref="FeatureBatcher"/> — read at their own lengths, so
/// padding changes nothing; one target per step, or one per sequence for a many-to-one model —, or statefully over one
/// long token stream from a <see cref="StreamBatcher"/> or one long series from a <see cref="FeatureStreamBatcher"/> (the
/// state carried from batch to batch), cross-entropy on class ids
/// or the mean squared error on values,
/// gradient clipping, an optimiser (stepping after every batch, or after every <c>accumulationSteps</c> batches on the
/// gradient of all their targets together), an optional per-epoch schedule and an optional <see cref="ReduceLrOnPlateau"/>; progress
/// through <see cref="IProgress{T}"/>; early stopping on the validation loss (the best weights are restored);
/// an optional checkpoint after every epoch: the weights, the optimiser, the schedule, the plateau watcher, the model's
/// dropout generator and the training batcher's shuffle generator, with the epoch as its step — <c>Checkpoint.Load(path,
/// model, optimizer, schedule, training.Random, plateau)</c> into objects built as before, then <c>Fit</c> with the run's <c>epochs</c> and the step it returned as
/// <c>initialEpoch</c> (Keras's <c>initial_epoch</c>), continues the run as it would have gone, its epochs and checkpoints
/// numbered as the run's (the early-stopping record starts afresh).
/// </summary>
public sealed class Trainer
{
    private readonly IModel _model;
    private readonly IModel<int>? _tokens;
    private readonly IModel<float>? _features;
    private readonly Optimizer _optimizer;
    private readonly float? _clipNorm;
    private readonly LearningRateSchedule? _schedule;
    private readonly ReduceLrOnPlateau? _plateau;
    private readonly int _accumulationSteps;

    /// <summary>
    /// Creates a trainer; <paramref name="schedule"/>, if any, steps once per epoch, and so does <paramref name="plateau"/>,
    /// with the epoch's validation loss (the training loss without validation data). With <paramref name="accumulationSteps"/>
    /// k &gt; 1 (gradient accumulation: Hugging Face's <c>gradient_accumulation_steps</c>) the optimiser steps once every k
    /// batches, and once more at the end of an epoch for what is left, on the gradient of the mean loss over all their
    /// targets — what one batch k times larger would give, on k times less memory — clipped as one.
    /// </summary>
    public Trainer(IModel<int> model, Optimizer optimizer, float? clipNorm = 5f, LearningRateSchedule? schedule = null, ReduceLrOnPlateau? plateau = null,
        int accumulationSteps = 1)
        : this((IModel)model, optimizer, clipNorm, schedule, plateau, accumulationSteps) => _tokens = model;

    /// <summary>A trainer for a model of feature vectors, which <see cref="Fit(FeatureBatcher, FeatureBatcher?, int, int, IProgress{TrainingProgress}?, string?, CancellationToken, int)"/> trains; otherwise as the token model's.</summary>
    public Trainer(IModel<float> model, Optimizer optimizer, float? clipNorm = 5f, LearningRateSchedule? schedule = null, ReduceLrOnPlateau? plateau = null,
        int accumulationSteps = 1)
        : this((IModel)model, optimizer, clipNorm, schedule, plateau, accumulationSteps) => _features = model;

    private Trainer(IModel model, Optimizer optimizer, float? clipNorm, LearningRateSchedule? schedule, ReduceLrOnPlateau? plateau, int accumulationSteps)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (accumulationSteps < 1) throw new ArgumentOutOfRangeException(nameof(accumulationSteps), accumulationSteps, "must be at least 1 (1: a step after every batch)");
        if (clipNorm is float c && !(c > 0 && float.IsFinite(c)))
            throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, "must be positive and finite (null: no clipping)");
        // a schedule over another optimiser would set that one's rate each epoch while this one kept its own
        if (schedule is not null && !ReferenceEquals(schedule.Optimizer, optimizer))
            throw new ArgumentException("schedule: it sets the rate of another optimiser than the one given; build it over this trainer's optimiser.", nameof(schedule));
        if (plateau is not null && !ReferenceEquals(plateau.Optimizer, optimizer))
            throw new ArgumentException("plateau: it lowers the rate of another optimiser than the one given; build it over this trainer's optimiser.", nameof(plateau));
        _model = model;
        _optimizer = optimizer;
        _clipNorm = clipNorm;
        _schedule = schedule;
        _plateau = plateau;
        _accumulationSteps = accumulationSteps;
    }

    /// <summary>Batches whose gradients the optimiser steps on together (1: every batch its own step).</summary>
    public int AccumulationSteps => _accumulationSteps;

    /// <summary>
    /// Trains up to epoch <paramref name="epochs"/>, from epoch <paramref name="initialEpoch"/> + 1 (0, or a checkpoint's
    /// step when resuming: epochs, progress, the report and checkpoints are numbered as the run's); stops early when the
    /// validation loss has not improved for <paramref name="patience"/> epochs, and then restores the weights of the best
    /// epoch; a run that diverges (a non-finite loss: <see cref="ArithmeticException"/>) also gets the best epoch's weights
    /// back, if there was one, before the exception (which says so) propagates.
    /// </summary>
    public TrainingReport Fit(Batcher training, Batcher? validation, int epochs, int patience = int.MaxValue,
        IProgress<TrainingProgress>? progress = null, string? checkpointPath = null, CancellationToken cancellationToken = default,
        int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        IModel<int> model = _tokens ?? throw new InvalidOperationException($"{_model.GetType().Name} reads feature vectors, not token ids: fit it on a FeatureBatcher.");
        RequireSequences(training.Count, validation?.Count);
        CheckTargets(training, nameof(training));
        if (validation is not null) CheckTargets(validation, nameof(validation));
        training.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(training));
        validation?.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(validation));
        RequirePositions(training.Longest(), nameof(training));
        if (validation is not null) RequirePositions(validation.Longest(), nameof(validation));
        return Run(training.Batches, training.BatchCount, training.Random, b => b.Targets.Count(t => t >= 0),
            b => model.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, b.TargetShape), b.Lengths),
            validation is null ? null : () => Evaluate(validation), perplexity: true, epochs, patience, progress, checkpointPath, cancellationToken, initialEpoch);
    }

    /// <summary>
    /// <see cref="Fit(Batcher, Batcher?, int, int, IProgress{TrainingProgress}?, string?, CancellationToken, int)"/> for a model
    /// of feature vectors, on a <see cref="FeatureBatcher"/>'s batches: cross-entropy on class ids, the mean squared error on
    /// values (over each sequence's own steps); the data is checked against the model first (features, targets' width or
    /// classes, one target per step or per sequence), naming what does not fit.
    /// </summary>
    public TrainingReport Fit(FeatureBatcher training, FeatureBatcher? validation, int epochs, int patience = int.MaxValue,
        IProgress<TrainingProgress>? progress = null, string? checkpointPath = null, CancellationToken cancellationToken = default,
        int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        IModel<float> model = _features ?? throw new InvalidOperationException($"{_model.GetType().Name} reads token ids, not feature vectors: fit it on a Batcher.");
        RequireSequences(training.Count, validation?.Count);
        training.Check(_model, nameof(training));
        validation?.Check(_model, nameof(validation));
        RequirePositions(training.Longest(), nameof(training));
        if (validation is not null) RequirePositions(validation.Longest(), nameof(validation));
        SameTargets(training.Classes, validation?.Classes);
        return Run(training.Batches, training.BatchCount, training.Random, b => b.Counted, b => Backward(model, b),
            validation is null ? null : () => Evaluate(validation), perplexity: training.Classes, epochs, patience, progress, checkpointPath, cancellationToken, initialEpoch);
    }

    /// <summary>
    /// <see cref="Fit(Batcher, Batcher?, int, int, IProgress{TrainingProgress}?, string?, CancellationToken, int)"/> over one long
    /// token stream, as PyTorch's word_language_model example trains: the batches come in order, and the model's state is
    /// carried from each batch into the next, detached (<c>repackage_hidden</c>), from a fresh state (<see cref="IModelState.Reset"/>)
    /// at each epoch's start; a step is <c>Backward(input, targets, state)</c>. Validation reads its own stream the same way,
    /// its state carried too (<see cref="Evaluate(StreamBatcher)"/>). Needs a model that returns a sequence and can train from a
    /// carried state (<see cref="IModel.TrainsFromCarriedState"/>); every id is checked against it before the first step.
    /// A checkpoint saves no batch order (there is none to resume): resuming from epoch k gives the run's epochs from k + 1.
    /// </summary>
    public TrainingReport Fit(StreamBatcher training, StreamBatcher? validation, int epochs, int patience = int.MaxValue,
        IProgress<TrainingProgress>? progress = null, string? checkpointPath = null, CancellationToken cancellationToken = default,
        int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        IModel<int> model = _tokens ?? throw new InvalidOperationException($"{_model.GetType().Name} reads feature vectors, not token ids: fit it on a FeatureStreamBatcher.");
        RequireStream(training.Reading, nameof(training), train: true);
        if (validation is not null) RequireStream(validation.Reading, nameof(validation), train: false);
        training.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(training));
        validation?.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(validation));
        IModelState state = model.CreateState(training.BatchSize);
        return Run(() =>
            {
                state.Reset(); // each epoch reads the streams from their start, from a fresh state
                return training.Batches();
            }, training.BatchCount, random: null, b => b.Batch * b.Steps,
            b => model.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, [b.Batch, b.Steps]), state),
            validation is null ? null : () => Evaluate(validation), perplexity: true, epochs, patience, progress, checkpointPath, cancellationToken, initialEpoch);
    }

    /// <summary>
    /// <see cref="Fit(StreamBatcher, StreamBatcher?, int, int, IProgress{TrainingProgress}?, string?, CancellationToken, int)"/>
    /// over one long series of feature vectors: batches in order, the state carried from each into the next (detached) and
    /// reset at each epoch's start; a step is <c>Backward(input, targets, state)</c> with the mean squared error on value
    /// targets or cross-entropy on class ids. The series is checked against the model first (features, the targets' width or
    /// classes, finite values).
    /// </summary>
    public TrainingReport Fit(FeatureStreamBatcher training, FeatureStreamBatcher? validation, int epochs, int patience = int.MaxValue,
        IProgress<TrainingProgress>? progress = null, string? checkpointPath = null, CancellationToken cancellationToken = default,
        int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        IModel<float> model = _features ?? throw new InvalidOperationException($"{_model.GetType().Name} reads token ids, not feature vectors: fit it on a StreamBatcher.");
        RequireStream(training.Reading, nameof(training), train: true);
        if (validation is not null) RequireStream(validation.Reading, nameof(validation), train: false);
        training.Check(_model, nameof(training));
        validation?.Check(_model, nameof(validation));
        SameTargets(training.Classes, validation?.Classes);
        IModelState state = model.CreateState(training.BatchSize);
        return Run(() =>
            {
                state.Reset(); // each epoch reads the streams from their start, from a fresh state
                return training.Batches();
            }, training.BatchCount, random: null, b => b.Counted, b => Backward(model, b, state),
            validation is null ? null : () => Evaluate(validation), perplexity: training.Classes, epochs, patience, progress, checkpointPath, cancellationToken, initialEpoch,
            // a batch whose class ids are all ignored teaches nothing, but the state still moves through its steps
            skipped: b => model.Forward(new ReadOnlyTensorSpan<float>(b.Inputs, b.InputShape), state));
    }

    /// <summary>
    /// Refuses data whose longest sequence passes a learned position table of the model before any step (found in a later
    /// batch, it would stop a run after earlier batches had moved the weights, or a validation after its epoch).
    /// </summary>
    private void RequirePositions((int Index, int Steps) longest, string name)
    {
        if (ModelLimits.Exceeded(_model, longest.Steps) is { } limit)
            throw new ArgumentException($"{name}: sequence {longest.Index} has {longest.Steps} steps, but layer '{limit.Layer}' of {_model.GetType().Name} holds {limit.Positions} positions (maxLength): " +
                $"cut the sequences to at most {limit.Positions} steps.", name);
    }

    /// <summary>
    /// The model a stream trains (<paramref name="train"/>) or evaluates: it returns a sequence, carries its state into
    /// training when it trains, and holds as many positions as a stream is read as steps (a learned position table's rows);
    /// the total the streams hold gives the batch size that would fit.
    /// </summary>
    private void RequireStream((int Steps, long Total) reading, string name, bool train)
    {
        var (steps, total) = reading;
        if (!_model.ReturnsSequences)
            throw new InvalidOperationException($"{_model.GetType().Name} returns one vector per sequence ([batch, {_model.OutputWidth}]); a stream's targets are one per step: train it on sequences with one label each (a Batcher or FeatureBatcher).");
        if (train && !_model.TrainsFromCarriedState)
            throw new InvalidOperationException($"{_model.GetType().Name} cannot train from a carried state (back-propagation does not reach its causal self-attention's key/value cache of the steps before): train it on windows of the data (a Batcher or FeatureBatcher).");
        if (ModelLimits.Positions(_model) is { } limit && steps > limit.Positions)
            throw new ArgumentException($"{name}: each of its streams is read as one sequence of {steps} steps, but layer '{limit.Layer}' of {_model.GetType().Name} holds {limit.Positions} positions (maxLength): " +
                $"cut the data into more streams (a larger batchSize, {(total + limit.Positions - 1) / limit.Positions} or more), or train on windows of it.", name);
    }

    /// <summary>
    /// Validation data has the training data's kind of targets: early stopping and the plateau compare the two losses, and a
    /// cross-entropy against a squared error would mean nothing.
    /// </summary>
    private static void SameTargets(bool trainingClasses, bool? validationClasses)
    {
        if (validationClasses is bool classes && classes != trainingClasses)
            throw new ArgumentException($"validation: {(classes ? "class ids" : "values")} as targets, but the training data has {(trainingClasses ? "class ids" : "values")}; validate on the same kind of targets.", "validation");
    }

    /// <summary>Training data holds sequences, and so does validation data when there is some (an empty set: an error, not a NaN "best" loss).</summary>
    private static void RequireSequences(int training, int? validation)
    {
        if (training == 0) throw new ArgumentException("training: no sequences to train on.", nameof(training));
        if (validation == 0) throw new ArgumentException("validation: no sequences (pass null to train without validation).", nameof(validation));
    }

    private static float Backward(IModel<float> model, FeatureBatch b)
    {
        var input = new ReadOnlyTensorSpan<float>(b.Inputs, b.InputShape);
        return b.Classes is { } classes
            ? model.Backward(input, new ReadOnlyTensorSpan<int>(classes, b.TargetShape), b.Lengths)
            : model.Backward(input, new ReadOnlyTensorSpan<float>(b.Values!, b.TargetShape), b.Lengths);
    }

    /// <summary>A training step on a stream's batch from the carried <paramref name="state"/> (every sequence at full length).</summary>
    private static float Backward(IModel<float> model, FeatureBatch b, IModelState state)
    {
        var input = new ReadOnlyTensorSpan<float>(b.Inputs, b.InputShape);
        return b.Classes is { } classes
            ? model.Backward(input, new ReadOnlyTensorSpan<int>(classes, b.TargetShape), state)
            : model.Backward(input, new ReadOnlyTensorSpan<float>(b.Values!, b.TargetShape), state);
    }

    /// <summary>
    /// The loop every Fit shares, over batches of any kind: <paramref name="counted"/> targets each, <paramref name="backward"/> a
    /// training pass, <paramref name="skipped"/> what a batch with no target still does (a stream's state moves through it).
    /// </summary>
    private TrainingReport Run<TBatch>(Func<IEnumerable<TBatch>> batches, int batchCount, Rng? random, Func<TBatch, int> counted, Func<TBatch, float> backward,
        Func<(float Loss, float Accuracy)>? validate, bool perplexity, int epochs, int patience, IProgress<TrainingProgress>? progress, string? checkpointPath,
        CancellationToken cancellationToken, int initialEpoch, Action<TBatch>? skipped = null)
    {
        if (epochs <= 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "must be positive");
        if (initialEpoch < 0 || initialEpoch >= epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch,
                $"expected the epochs already done, 0 to {epochs - 1} (epochs, {epochs}, is the run's last epoch, as Keras's initial_epoch and epochs)");
        if (patience <= 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must be positive");
        // early stopping watches the validation loss: without validation data a patience would silently never act
        if (validate is null && patience != int.MaxValue)
            throw new ArgumentException($"patience: {patience} epochs of no improvement in the validation loss, but no validation data was given; pass validation data (Batcher.Split) or leave patience out.", nameof(patience));
        float? best = null;
        int bestEpoch = initialEpoch, epoch = initialEpoch;
        float[][]? bestWeights = null;
        float lastLoss = float.NaN;
        bool stopped = false;
        try
        {
            for (epoch = initialEpoch + 1; epoch <= epochs; epoch++)
            {
                double sum = 0, tokens = 0;
                lastLoss = float.NaN; // an epoch whose batches are all ignored has no loss, not the previous epoch's
                int batch = 0;
                float norm = 0, loss = 0;
                // gradient accumulation: the batches since the last step, their targets, and the last one's (the gradient
                // holds Σ n_j ∇mean_j / n_last, in units of the last batch's mean, until the step divides by Σ n_j instead)
                int pending = 0, lastCounted = 0;
                long pendingTargets = 0;
                var clock = Stopwatch.StartNew();
                foreach (TBatch b in batches())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    batch++;
                    // a batch whose targets are all ignored has no loss and no gradient: nothing to learn from it
                    int n = counted(b);
                    if (n == 0)
                    {
                        skipped?.Invoke(b);
                        continue;
                    }
                    if (pending == 0) _model.Parameters.ZeroGrad();
                    else if (n != lastCounted) _model.Parameters.ScaleGrad((float)lastCounted / n);
                    loss = backward(b);
                    pending++;
                    pendingTargets += n;
                    lastCounted = n;
                    if (pending == _accumulationSteps) Step();
                    sum += (double)loss * n;
                    tokens += n;
                    lastLoss = (float)(sum / tokens);
                    progress?.Report(new TrainingProgress(epoch, batch, batchCount, lastLoss, Perplexity(lastLoss), norm, tokens / clock.Elapsed.TotalSeconds, null, null, false));
                }
                if (pending > 0) Step(); // the epoch's last batches, fewer than accumulationSteps

                // one optimiser step on the gradient of the pending batches' mean loss, clipped, unless it overflowed
                void Step()
                {
                    if (pending > 1) _model.Parameters.ScaleGrad((float)((double)lastCounted / pendingTargets));
                    norm = _clipNorm is float max ? _model.Parameters.ClipGradNorm(max) : _model.Parameters.GradNorm();
                    // a finite loss whose gradient overflowed (an exploding step back) is not stepped on: the weights stay finite
                    if (!float.IsFinite(norm))
                        throw new ArithmeticException($"{_model.GetType().Name}: the gradients' norm is {(float.IsNaN(norm) ? "NaN" : "+infinity")} in epoch {epoch}, batch {batch} " +
                            $"(loss {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}); the optimiser did not step, so the weights are those before the " +
                            (pending > 1 ? $"{pending} batches accumulated for it. " : "batch. ") +
                            "Clipping cannot bound a gradient that overflowed: lower the learning rate or check the data.");
                    _optimizer.Step();
                    pending = 0;
                    pendingTargets = 0;
                }
                _schedule?.Step();
                (float Loss, float Accuracy)? evaluation = validate?.Invoke();
                float? validationLoss = evaluation?.Loss;
                _plateau?.Step(validationLoss ?? lastLoss);
                progress?.Report(new TrainingProgress(epoch, batch, batchCount, lastLoss, Perplexity(lastLoss), norm, tokens / clock.Elapsed.TotalSeconds,
                    validationLoss, evaluation?.Accuracy, true));
                if (checkpointPath is not null) Checkpoint.Save(checkpointPath, _model, _optimizer, _schedule, random, epoch, _plateau);
                if (validationLoss is float v)
                {
                    // a NaN loss (a diverged model) is never the best
                    if (!float.IsNaN(v) && (best is null || v < best))
                    {
                        best = v;
                        bestEpoch = epoch;
                        bestWeights = _model.Parameters.Select(p => p.AsSpan().ToArray()).ToArray();
                    }
                    else if (epoch - bestEpoch >= patience)
                    {
                        stopped = true;
                        break;
                    }
                }
            }
        }
        catch (ArithmeticException e) when (bestWeights is not null)
        {
            // a diverged run (a non-finite loss) keeps the best epoch's weights rather than the diverged ones
            RestoreBest();
            throw new ArithmeticException($"{e.Message} Training diverged in epoch {epoch}; the weights of epoch {bestEpoch} (the best validation loss, {best}) were restored.", e);
        }
        if (stopped && bestWeights is not null) RestoreBest();
        return new TrainingReport(Math.Min(epoch, epochs), lastLoss, best, bestEpoch, stopped);

        float Perplexity(float loss) => perplexity ? MathF.Exp(loss) : float.NaN;

        void RestoreBest()
        {
            for (int i = 0; i < bestWeights!.Length; i++) bestWeights[i].CopyTo(_model.Parameters[i].AsSpan());
        }
    }

    /// <summary>The batches' targets fit the model's output: one label per sequence for a many-to-one model, else one per step.</summary>
    private void CheckTargets(Batcher data, string name)
    {
        if (data.Count == 0 || data.Labels == !_model.ReturnsSequences) return;
        throw new ArgumentException(data.Labels
            ? $"{name}: one label per sequence, but the model returns a sequence ([batch, steps, {_model.OutputWidth}]): batch (sequence, target sequence) pairs."
            : $"{name}: a target per step, but the model returns one vector per sequence ([batch, {_model.OutputWidth}]): batch (sequence, label) pairs.", name);
    }

    /// <summary>
    /// Mean cross-entropy over every target token of <paramref name="data"/> (with the model's <see cref="IModel.LabelSmoothing"/>,
    /// the loss its training steps report, less a mixture's load-balancing terms, which are not the task's), and the fraction
    /// predicted right (arg max), in inference mode.
    /// </summary>
    public (float Loss, float Accuracy) Evaluate(Batcher data)
    {
        ArgumentNullException.ThrowIfNull(data);
        IModel<int> model = _tokens ?? throw new InvalidOperationException($"{_model.GetType().Name} reads feature vectors, not token ids: evaluate it on a FeatureBatcher.");
        CheckTargets(data, nameof(data));
        data.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(data));
        RequirePositions(data.Longest(), nameof(data));
        double sum = 0, tokens = 0, right = 0;
        int classes = _model.OutputWidth;
        float smoothing = _model.LabelSmoothing;
        foreach (TokenBatch b in data.Batches())
        {
            int counted = b.Targets.Count(t => t >= 0);
            if (counted == 0) continue;
            Score(model.Forward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), b.Lengths), b.Targets, classes, smoothing, counted, ref sum, ref right);
            tokens += counted;
        }
        return tokens == 0 ? (float.NaN, float.NaN) : ((float)(sum / tokens), (float)(right / tokens));
    }

    /// <summary>
    /// The mean loss over every target of <paramref name="data"/> in inference mode: cross-entropy on class ids (with the
    /// model's label smoothing) and the fraction predicted right, or the mean squared error on values (accuracy NaN).
    /// </summary>
    public (float Loss, float Accuracy) Evaluate(FeatureBatcher data)
    {
        ArgumentNullException.ThrowIfNull(data);
        IModel<float> model = _features ?? throw new InvalidOperationException($"{_model.GetType().Name} reads token ids, not feature vectors: evaluate it on a Batcher.");
        data.Check(_model, nameof(data));
        RequirePositions(data.Longest(), nameof(data));
        double sum = 0, targets = 0, right = 0;
        foreach (FeatureBatch b in data.Batches())
        {
            int counted = b.Counted;
            if (counted == 0) continue;
            var input = new ReadOnlyTensorSpan<float>(b.Inputs, b.InputShape);
            if (b.Classes is { } classes) Score(model.Forward(input, b.Lengths), classes, _model.OutputWidth, _model.LabelSmoothing, counted, ref sum, ref right);
            else sum += (double)model.Loss(input, new ReadOnlyTensorSpan<float>(b.Values!, b.TargetShape), b.Lengths) * counted;
            targets += counted;
        }
        if (targets == 0) return (float.NaN, float.NaN);
        return ((float)(sum / targets), data.Classes ? (float)(right / targets) : float.NaN);
    }

    /// <summary>
    /// The mean cross-entropy over every target of a token stream, and the fraction predicted right (arg max), in inference
    /// mode, reading the batches in order with the state carried from each into the next from a fresh one (as PyTorch's
    /// word_language_model evaluates): the loss of the whole stream read as <see cref="StreamBatcher.BatchSize"/> long sequences.
    /// </summary>
    public (float Loss, float Accuracy) Evaluate(StreamBatcher data)
    {
        ArgumentNullException.ThrowIfNull(data);
        IModel<int> model = _tokens ?? throw new InvalidOperationException($"{_model.GetType().Name} reads feature vectors, not token ids: evaluate it on a FeatureStreamBatcher.");
        RequireStream(data.Reading, nameof(data), train: false);
        data.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(data));
        IModelState state = model.CreateState(data.BatchSize);
        double sum = 0, right = 0;
        foreach (TokenBatch b in data.Batches())
            Score(model.Forward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), state), b.Targets, _model.OutputWidth, _model.LabelSmoothing, b.Targets.Length, ref sum, ref right);
        return ((float)(sum / data.Targets), (float)(right / data.Targets));
    }

    /// <summary>
    /// The mean loss over every target of a series of feature vectors in inference mode, the state carried from each batch
    /// into the next from a fresh one: the mean squared error on values (accuracy NaN), or cross-entropy on class ids (with
    /// the model's label smoothing) and the fraction predicted right.
    /// </summary>
    public (float Loss, float Accuracy) Evaluate(FeatureStreamBatcher data)
    {
        ArgumentNullException.ThrowIfNull(data);
        IModel<float> model = _features ?? throw new InvalidOperationException($"{_model.GetType().Name} reads token ids, not feature vectors: evaluate it on a StreamBatcher.");
        RequireStream(data.Reading, nameof(data), train: false);
        data.Check(_model, nameof(data));
        IModelState state = model.CreateState(data.BatchSize);
        double sum = 0, targets = 0, right = 0;
        foreach (FeatureBatch b in data.Batches())
        {
            Tensor<float> output = model.Forward(new ReadOnlyTensorSpan<float>(b.Inputs, b.InputShape), state);
            if (b.Classes is { } classes)
            {
                int counted = b.Counted;
                if (counted > 0) Score(output, classes, _model.OutputWidth, _model.LabelSmoothing, counted, ref sum, ref right);
                targets += counted;
                continue;
            }
            // the squared error of every value, summed in double: the mean over the whole series, as one Loss over it
            var flat = new float[output.FlattenedLength];
            output.FlattenTo(flat);
            for (int i = 0; i < flat.Length; i++)
            {
                double d = (double)flat[i] - b.Values![i];
                sum += d * d;
            }
            targets += flat.Length;
        }
        if (targets == 0) return (float.NaN, float.NaN);
        return ((float)(sum / targets), data.Classes ? (float)(right / targets) : float.NaN);
    }

    /// <summary>Adds a batch's cross-entropy (times its <paramref name="counted"/> targets) and its right predictions (arg max).</summary>
    private static void Score(Tensor<float> logits, int[] targets, int classes, float smoothing, int counted, ref double sum, ref double right)
    {
        var flat = new float[logits.FlattenedLength];
        logits.FlattenTo(flat);
        sum += (double)Losses.SoftmaxCrossEntropy(flat, targets, classes, default, labelSmoothing: smoothing) * counted;
        for (int r = 0; r < targets.Length; r++)
        {
            if (targets[r] >= 0 && TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(flat, r * classes, classes)) == targets[r]) right++;
        }
    }
}
