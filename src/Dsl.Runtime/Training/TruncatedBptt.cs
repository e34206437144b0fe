using System;

namespace Dsl;

/// <summary>
/// Truncated back-propagation through time over long sequences, with Sutskever's two parameters
/// (thesis, 2013, §2.8.6): every <see cref="K1"/> steps the model is updated from a backward pass over
/// the last <see cref="K2"/> steps (K2 ≥ K1). The state at a window's start is the one the forward
/// passes computed, with the weights of that moment, and is a constant for the backward pass
/// (PyTorch's <c>detach()</c>). Only the last K1 steps' losses count in each window; a last chunk
/// shorter than K1 ends a window of its own (the last K2 steps). K1 = K2 = T is full BPTT; K1 = K2 &lt; T
/// splits the sequence into chunks that carry the state, as <c>x[:, i:i + k]</c> does in PyTorch — a last
/// chunk shorter than K1 is then that chunk alone; <see cref="IndependentChunks"/> gives the naive
/// variant in which each chunk starts from zeros.
/// </summary>
public sealed class TruncatedBptt<TInput>
{
    private readonly IModel<TInput> _model;
    private TInput[] _window = Array.Empty<TInput>();
    private int[] _windowTargets = Array.Empty<int>();
    private float[] _windowValues = Array.Empty<float>();

    /// <summary>Trains <paramref name="model"/> every <paramref name="k1"/> steps over the last <paramref name="k2"/> steps.</summary>
    public TruncatedBptt(IModel<TInput> model, int k1, int k2, bool independentChunks = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (k1 <= 0) throw new ArgumentOutOfRangeException(nameof(k1), k1, "must be positive");
        if (k2 < k1) throw new ArgumentOutOfRangeException(nameof(k2), k2, $"must be at least k1 = {k1}");
        if (independentChunks && k2 != k1) throw new ArgumentException("Independent chunks need k1 = k2.", nameof(k2));
        _model = model;
        K1 = k1;
        K2 = k2;
        IndependentChunks = independentChunks;
    }

    /// <summary>Steps between updates.</summary>
    public int K1 { get; }

    /// <summary>Steps each backward pass reaches back.</summary>
    public int K2 { get; }

    /// <summary>True: every chunk starts from a zero state (nothing is carried).</summary>
    public bool IndependentChunks { get; }

    /// <summary>
    /// One pass over a batch of long sequences: <paramref name="input"/> [batch, steps(, features)] batch-major,
    /// class-id <paramref name="targets"/> [batch, steps] (negative ids ignored). <paramref name="update"/> runs after
    /// each window's gradients are accumulated (clip, optimiser step, zero the gradients); a window whose targets are all
    /// ignored is passed through (its state carried) without a loss or an update. Returns the mean of the windows' losses.
    /// </summary>
    public float Train(ReadOnlySpan<TInput> input, ReadOnlySpan<int> targets, int batch, int steps, Action update)
    {
        ArgumentNullException.ThrowIfNull(update);
        int features = Features(input.Length, batch, steps, targets.Length, 1, nameof(targets));
        // every id checked before the first window updates the weights (the model checks each window's, by then too late)
        CheckTokens(input);
        Check.ClassIds(targets, _model.OutputWidth, nameof(targets));
        BeginPass(batch, steps);
        double total = 0;
        int windows = 0;
        for (int chunkStart = 0; chunkStart < steps; chunkStart += K1)
        {
            (int window, int length, IModelState? state) = PrepareWindow(input, batch, steps, features, chunkStart);
            // The window's targets, with those before this chunk ignored: only the last K1 steps' losses count.
            EnsureLength(ref _windowTargets, batch * length);
            bool anyTarget = false;
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < length; t++)
                {
                    int target = window + t < chunkStart ? -1 : targets[b * steps + window + t];
                    _windowTargets[b * length + t] = target;
                    anyTarget |= target >= 0;
                }
            }
            var x = Window(batch, length, features);
            if (!anyTarget)
            {
                // nothing to learn from this chunk (every target ignored: padding): the carried state moves through it, the
                // weights stay, and it counts in neither the mean nor the optimiser's steps (as Trainer skips such a batch)
                if (state is not null) _model.Forward(x, state);
                CarryState(input, batch, steps, features, chunkStart, window);
                continue;
            }
            var y = new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(_windowTargets, 0, [batch, length], default);
            total += state is null ? _model.Backward(x, y) : _model.Backward(x, y, state);
            windows++;
            CarryState(input, batch, steps, features, chunkStart, window);
            update();
        }
        return windows == 0 ? float.NaN : (float)(total / windows); // no target at all: NaN, as PyTorch's mean over nothing
    }

    /// <summary>
    /// As <see cref="Train(ReadOnlySpan{TInput}, ReadOnlySpan{int}, int, int, Action)"/> with float targets
    /// [batch, steps, outputs] and mean squared error; needs K1 = K2 (mean squared error has no ignored positions).
    /// </summary>
    public float Train(ReadOnlySpan<TInput> input, ReadOnlySpan<float> targets, int batch, int steps, Action update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (K1 != K2) throw new InvalidOperationException("Float targets (mean squared error) need k1 = k2: every step of a window counts.");
        int outputs = _model.OutputWidth;
        int features = Features(input.Length, batch, steps, targets.Length, outputs, nameof(targets));
        CheckTokens(input);
        BeginPass(batch, steps);
        double total = 0;
        int windows = 0;
        for (int chunkStart = 0; chunkStart < steps; chunkStart += K1)
        {
            (int window, int length, IModelState? state) = PrepareWindow(input, batch, steps, features, chunkStart);
            EnsureLength(ref _windowValues, batch * length * outputs);
            for (int b = 0; b < batch; b++)
                targets.Slice((b * steps + window) * outputs, length * outputs).CopyTo(_windowValues.AsSpan(b * length * outputs));
            var x = Window(batch, length, features);
            var y = new System.Numerics.Tensors.ReadOnlyTensorSpan<float>(_windowValues, 0, [batch, length, outputs], default);
            total += state is null ? _model.Backward(x, y) : _model.Backward(x, y, state);
            windows++;
            CarryState(input, batch, steps, features, chunkStart, window);
            update();
        }
        return (float)(total / windows);
    }

    private IModelState? _known, _start;

    private void BeginPass(int batch, int steps)
    {
        // a window that starts past step 0 starts from a carried state, which such a model refuses mid-pass, after an update
        if (!IndependentChunks && steps > K2 && !_model.TrainsFromCarriedState)
            throw new InvalidOperationException($"{_model.GetType().Name} cannot train from a carried state (back-propagation does not reach its causal self-attention's key/value cache of the steps before), " +
                $"and {steps} steps in windows of {K2} would carry one: train it on whole sequences (k2 ≥ steps), or with independentChunks: true.");
        // a carried state reaches the sequence's last step; independent chunks their own lengths
        int reach = IndependentChunks ? Math.Min(K1, steps) : steps;
        if (ModelLimits.Positions(_model) is { } limit && reach > limit.Positions)
            throw new ArgumentException($"steps: the state carried through {reach} steps would pass layer '{limit.Layer}''s {limit.Positions} positions (maxLength) of {_model.GetType().Name}; train on sequences of at most {limit.Positions} steps.", nameof(steps));
        if (IndependentChunks) return;
        if (_known is null || _known.Batch != batch)
        {
            _known = _model.CreateState(batch);
            _start = _model.CreateState(batch);
        }
        _known.Reset();
    }

    /// <summary>
    /// The window that ends with the chunk starting at <paramref name="chunkStart"/>: its first step and length, its
    /// inputs copied into the window buffer, and a copy of the state it starts from (null for zeros).
    /// </summary>
    private (int Start, int Length, IModelState? State) PrepareWindow(ReadOnlySpan<TInput> input, int batch, int steps, int features, int chunkStart)
    {
        int chunkEnd = Math.Min(steps, chunkStart + K1);
        int windowStart = WindowStart(chunkStart, chunkEnd);
        if (_known is not null) ModelStates.Copy(_known, _start!, "carried state", "state");
        Slice(input, batch, steps, features, windowStart, chunkEnd - windowStart);
        return (windowStart, chunkEnd - windowStart, _start);
    }

    /// <summary>
    /// Before the update, brings the known state to the next window's start with the weights the window just used:
    /// the window's own final state when the next window starts where this one ended (K1 = K2), else a forward
    /// pass from this window's start.
    /// </summary>
    private void CarryState(ReadOnlySpan<TInput> input, int batch, int steps, int features, int chunkStart, int windowStart)
    {
        if (_known is null) return;
        int chunkEnd = Math.Min(steps, chunkStart + K1);
        int nextWindowStart = WindowStart(chunkEnd, Math.Min(steps, chunkEnd + K1));
        if (nextWindowStart == chunkEnd) ModelStates.Copy(_start!, _known, "carried state", "state");
        else if (nextWindowStart > windowStart)
        {
            Slice(input, batch, steps, features, windowStart, nextWindowStart - windowStart);
            _model.Forward(Window(batch, nextWindowStart - windowStart, features), _known);
        }
    }

    /// <summary>
    /// The first step of the window that ends with the chunk [<paramref name="chunkStart"/>, <paramref name="chunkEnd"/>):
    /// K2 steps before its end, or the chunk itself when K1 = K2 (chunks: a short last one must not reach back into the
    /// chunk before it, which would count its steps twice under a float loss and start an independent chunk early).
    /// </summary>
    private int WindowStart(int chunkStart, int chunkEnd) => K1 == K2 ? chunkStart : Math.Max(0, chunkEnd - K2);

    private void Slice(ReadOnlySpan<TInput> input, int batch, int steps, int features, int from, int length)
    {
        EnsureLength(ref _window, batch * length * features);
        for (int b = 0; b < batch; b++)
            input.Slice((b * steps + from) * features, length * features).CopyTo(_window.AsSpan(b * length * features));
    }

    /// <summary>
    /// The window's inputs, [batch, steps] (token ids) or [batch, steps, features], from the front of the window buffer (which
    /// keeps the longest window's length: windows of K2 and K1 steps alternate, and a buffer sized to each allocated twice a window).
    /// </summary>
    private System.Numerics.Tensors.ReadOnlyTensorSpan<TInput> Window(int batch, int steps, int features) => typeof(TInput) == typeof(int)
        ? new(_window, 0, [batch, steps], default)
        : new(_window, 0, [batch, steps, features], default);

    /// <summary>Token ids (a token model's input) in the model's vocabulary, checked for the whole pass at once.</summary>
    private void CheckTokens(ReadOnlySpan<TInput> input)
    {
        if (typeof(TInput) != typeof(int)) return;
        ReadOnlySpan<int> ids = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
            ref System.Runtime.CompilerServices.Unsafe.As<TInput, int>(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(input)), input.Length);
        Check.Tokens(ids, _model.InputWidth, "input");
    }

    private static int Features(int inputLength, int batch, int steps, int targetLength, int targetWidth, string targetName)
    {
        if (batch <= 0 || steps <= 0) throw new ArgumentOutOfRangeException(nameof(batch), $"batch and steps must be positive, got {batch} and {steps}.");
        long positions = (long)batch * steps; // in long: batch · steps past int.MaxValue cannot wrap into a match (or a division by 0)
        if (typeof(TInput) == typeof(int) && inputLength != positions)
            throw new ArgumentException($"input: expected token ids [batch = {batch}, steps = {steps}] ({positions} values), got {inputLength}.", "input");
        if (inputLength == 0 || inputLength % positions != 0)
            throw new ArgumentException($"input: expected [batch = {batch}, steps = {steps}, features] values, got {inputLength}.", "input");
        if (targetLength != positions * targetWidth)
            throw new ArgumentException($"{targetName}: expected {batch} × {steps}{(targetWidth > 1 ? $" × {targetWidth}" : "")} values, got {targetLength}.", targetName);
        return (int)(inputLength / positions);
    }

    /// <summary>A buffer of at least <paramref name="length"/> values (grown, never shrunk: warm windows allocate nothing).</summary>
    private static void EnsureLength<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }
}
