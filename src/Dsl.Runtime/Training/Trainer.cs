using System;
using System.Diagnostics;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;

namespace Dsl;

/// <summary>What a <see cref="Trainer"/> reports after each batch and each epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Batch">1-based batch within the epoch (equal to <paramref name="BatchesPerEpoch"/> at the end of an epoch).</param>
/// <param name="BatchesPerEpoch">Batches in an epoch.</param>
/// <param name="Loss">Mean training loss of the epoch so far (nats; the smoothed loss when the model has <see cref="IModel.LabelSmoothing"/>).</param>
/// <param name="Perplexity">e^Loss: the perplexity without label smoothing (with it, e^ of the smoothed loss, higher).</param>
/// <param name="GradientNorm">Global gradient norm of the last optimiser step (the last batch's, or with gradient accumulation the
/// accumulated batches'), before clipping; 0 before the epoch's first step.</param>
/// <param name="TokensPerSecond">Training throughput of the epoch so far, in target tokens.</param>
/// <param name="ValidationLoss">Mean validation loss, at the end of an epoch when there is validation data.</param>
/// <param name="ValidationAccuracy">Fraction of validation targets predicted (arg max), with <paramref name="ValidationLoss"/>.</param>
/// <param name="EndOfEpoch">True for the report that closes an epoch.</param>
public sealed record TrainingProgress(int Epoch, int Batch, int BatchesPerEpoch, float Loss, float Perplexity, float GradientNorm,
    double TokensPerSecond, float? ValidationLoss, float? ValidationAccuracy, bool EndOfEpoch);

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
public sealed record TrainingReport(int Epochs, float LastTrainingLoss, float? BestValidationLoss, int BestEpoch, bool StoppedEarly);

/// <summary>
/// A training loop for token models in a few lines: batches from a <see cref="Batcher"/> (read at their own lengths, so
/// padding changes nothing; one target per step, or one label per sequence for a many-to-one model), cross-entropy,
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
    private readonly IModel<int> _model;
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
        if (training.Count == 0) throw new ArgumentException("training: no sequences to train on.", nameof(training));
        if (validation is { Count: 0 })
            throw new ArgumentException("validation: no sequences (pass null to train without validation).", nameof(validation));
        CheckTargets(training, nameof(training));
        if (validation is not null) CheckTargets(validation, nameof(validation));
        training.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(training));
        validation?.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(validation));
        if (epochs <= 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "must be positive");
        if (initialEpoch < 0 || initialEpoch >= epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch,
                $"expected the epochs already done, 0 to {epochs - 1} (epochs, {epochs}, is the run's last epoch, as Keras's initial_epoch and epochs)");
        if (patience <= 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must be positive");
        // early stopping watches the validation loss: without validation data a patience would silently never act
        if (validation is null && patience != int.MaxValue)
            throw new ArgumentException($"patience: {patience} epochs of no improvement in the validation loss, but no validation data was given; pass a validation Batcher (Batcher.Split) or leave patience out.", nameof(patience));
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
                foreach (TokenBatch b in training.Batches())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    batch++;
                    // a batch whose targets are all ignored has no loss and no gradient: nothing to learn from it
                    int counted = b.Targets.Count(t => t >= 0);
                    if (counted == 0) continue;
                    if (pending == 0) _model.Parameters.ZeroGrad();
                    else if (counted != lastCounted) _model.Parameters.ScaleGrad((float)lastCounted / counted);
                    loss = _model.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, b.TargetShape), b.Lengths);
                    pending++;
                    pendingTargets += counted;
                    lastCounted = counted;
                    if (pending == _accumulationSteps) Step();
                    sum += (double)loss * counted;
                    tokens += counted;
                    lastLoss = (float)(sum / tokens);
                    progress?.Report(new TrainingProgress(epoch, batch, training.BatchCount, lastLoss, MathF.Exp(lastLoss), norm, tokens / clock.Elapsed.TotalSeconds, null, null, false));
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
                (float Loss, float Accuracy)? evaluation = validation is null ? null : Evaluate(validation);
                float? validationLoss = evaluation?.Loss;
                _plateau?.Step(validationLoss ?? lastLoss);
                progress?.Report(new TrainingProgress(epoch, batch, training.BatchCount, lastLoss, MathF.Exp(lastLoss), norm, tokens / clock.Elapsed.TotalSeconds,
                    validationLoss, evaluation?.Accuracy, true));
                if (checkpointPath is not null) Checkpoint.Save(checkpointPath, _model, _optimizer, _schedule, training.Random, epoch, _plateau);
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
    /// the loss its training steps report), and the fraction predicted right (arg max), in inference mode.
    /// </summary>
    public (float Loss, float Accuracy) Evaluate(Batcher data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckTargets(data, nameof(data));
        data.CheckIds(_model.InputWidth, _model.OutputWidth, nameof(data));
        double sum = 0, tokens = 0, right = 0;
        int classes = _model.OutputWidth;
        float smoothing = _model.LabelSmoothing;
        foreach (TokenBatch b in data.Batches())
        {
            int counted = b.Targets.Count(t => t >= 0);
            if (counted == 0) continue;
            Tensor<float> logits = _model.Forward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), b.Lengths);
            var flat = new float[logits.FlattenedLength];
            logits.FlattenTo(flat);
            sum += (double)Losses.SoftmaxCrossEntropy(flat, b.Targets, classes, default, labelSmoothing: smoothing) * counted;
            for (int r = 0; r < b.Targets.Length; r++)
            {
                if (b.Targets[r] >= 0 && TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(flat, r * classes, classes)) == b.Targets[r]) right++;
            }
            tokens += counted;
        }
        return tokens == 0 ? (float.NaN, float.NaN) : ((float)(sum / tokens), (float)(right / tokens));
    }
}
