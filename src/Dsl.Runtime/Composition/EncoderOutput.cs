using System;
using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// What an encoder's pass leaves for a decoder: its output sequence (the memory that cross-attention reads), the source
/// lengths, the final recurrent states, and the buffers their gradients are gathered in before
/// <see cref="IEncoder{TSource}.BackwardFromEncoded"/> carries them into the encoder. Views into the encoder's
/// workspace: valid until its next pass. An encoder on a device keeps its outputs and their gradient there: a decoder on the
/// same device reads and adds to them in place, and <see cref="Memory"/> and <see cref="MemoryGradient"/> copy them to the
/// host only when read.
/// </summary>
public sealed class EncoderOutput
{
    private readonly Memory<float> _memory, _memoryGradient;
    private IEncoderOutputTwin? _twin;
    private bool _outputsOnHost = true, _gradientOnTwin;

    internal EncoderOutput(int batch, int steps, int width, Memory<float> memory, Memory<float> memoryGradient, int[] lengths,
        IReadOnlyList<NamedTensor> finalStates, IReadOnlyList<NamedTensor> finalStateGradients)
    {
        Batch = batch;
        Steps = steps;
        Width = width;
        _memory = memory;
        _memoryGradient = memoryGradient;
        LengthsBuffer = lengths;
        FinalStates = finalStates;
        FinalStateGradients = finalStateGradients;
    }

    /// <summary>
    /// Creates the record of one pass; called by generated encoders. The sizes are checked here, so that a decoder handed a
    /// record built by hand refuses it at once (a memory of the wrong length had failed inside a kernel, after the decoder's
    /// state had moved a step).
    /// </summary>
    /// <exception cref="ArgumentException">A memory that is not [steps, batch, width], a gradient neither empty nor as long,
    /// or fewer lengths than sequences.</exception>
    public static EncoderOutput Create(int batch, int steps, int width, Memory<float> memory, Memory<float> memoryGradient, int[] lengths,
        IReadOnlyList<NamedTensor> finalStates, IReadOnlyList<NamedTensor> finalStateGradients)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(finalStates);
        ArgumentNullException.ThrowIfNull(finalStateGradients);
        if (batch < 0 || steps < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"EncoderOutput: batch {batch}, steps {steps} and width {width} are 0 or more.");
        long expected = (long)batch * steps * width;
        if (memory.Length != expected)
            throw new ArgumentException($"memory: expected {steps} × {batch} × {width} = {expected} values (time-major [steps, batch, width]), got {memory.Length}.", nameof(memory));
        if (!memoryGradient.IsEmpty && memoryGradient.Length != expected)
            throw new ArgumentException($"memoryGradient: expected none or {expected} values, as the memory, got {memoryGradient.Length}.", nameof(memoryGradient));
        if (lengths.Length < batch) throw new ArgumentException($"lengths: expected room for one length per sequence, {batch}, got {lengths.Length}.", nameof(lengths));
        return new(batch, steps, width, memory, memoryGradient, lengths, finalStates, finalStateGradients);
    }

    /// <summary>
    /// A copy of the outputs and lengths that the encoder's next pass does not overwrite (no gradient, no final states: what
    /// a decoder state handed to the caller attends over).
    /// </summary>
    internal EncoderOutput Snapshot()
    {
        var copy = new EncoderOutput(Batch, Steps, Width, Memory.ToArray(), default, (int[])LengthsBuffer.Clone(), [], []);
        copy.HasLengths = HasLengths;
        return copy;
    }

    /// <summary>
    /// A record of <paramref name="rows"/>.Length sequences whose sequence <c>i</c> is this record's sequence
    /// <c>rows[i]</c>: its outputs and length, copied (no gradient, no final states); or this record itself when that
    /// selection leaves every sequence as it is (each row selected holds the same source's outputs as the row it replaces:
    /// one sequence, or the rows of each source kept in their places, as a beam search reorders its hypotheses within each
    /// source). A beam search's state attends over each source's outputs once per hypothesis, copied when the beam first
    /// widens (see <see cref="IDecoderState.CopyRowsFrom"/>).
    /// </summary>
    /// <exception cref="ArgumentException">No rows, or a row outside [0, <see cref="Batch"/>).</exception>
    public EncoderOutput SelectRows(ReadOnlySpan<int> rows)
    {
        if (rows.IsEmpty) throw new ArgumentException("rows: expected at least one sequence to select.", nameof(rows));
        Check.Rows(rows, rows.Length, Batch, nameof(rows));
        if (rows.Length == Batch && SelectsItself(rows)) return this;
        var memory = new float[(long)Steps * rows.Length * Width];
        Kernels.Layout.GatherRows(Memory.Span, Batch, memory, rows, Steps, Width);
        var lengths = new int[rows.Length];
        var origins = new int[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            lengths[i] = LengthsBuffer[rows[i]];
            origins[i] = Origin(rows[i]);
        }
        return new EncoderOutput(rows.Length, Steps, Width, memory, default, lengths, [], []) { HasLengths = HasLengths, _origins = origins };
    }

    /// <summary>Whether each row selected holds the outputs of the row it would replace (both copies of one source's).</summary>
    private bool SelectsItself(ReadOnlySpan<int> rows)
    {
        for (int i = 0; i < rows.Length; i++) if (Origin(rows[i]) != Origin(i)) return false;
        return true;
    }

    /// <summary>Which sequence of the record it was selected from (through <see cref="SelectRows"/>, however many times) row <paramref name="row"/> is a copy of.</summary>
    private int Origin(int row) => _origins is null ? row : _origins[row];

    /// <summary>Of a record made by <see cref="SelectRows"/>: each row's sequence in the first record selected from (null: each its own).</summary>
    private int[]? _origins;

    /// <summary>Number of source sequences.</summary>
    public int Batch { get; }

    /// <summary>Source steps S (the padded length).</summary>
    public int Steps { get; }

    /// <summary>Width of each output step.</summary>
    public int Width { get; }

    /// <summary>The encoder's outputs, time-major [S, B, Width]; padded steps are zero. (From an encoder on a device: copied to the host when first read.)</summary>
    public Memory<float> Memory
    {
        get
        {
            if (!_outputsOnHost)
            {
                _twin!.OutputsTo(_memory.Span);
                _outputsOnHost = true;
            }
            return _memory;
        }
    }

    /// <summary>
    /// The gradient of the loss with respect to <see cref="Memory"/>, [S, B, Width]: attention layers add into it. (Of an
    /// encoder on a device: copied to the host when read, which holds it from then on.)
    /// </summary>
    public Memory<float> MemoryGradient
    {
        get
        {
            if (_gradientOnTwin)
            {
                _twin!.GradientTo(_memoryGradient.Span);
                _gradientOnTwin = false;
            }
            return _memoryGradient;
        }
    }

    /// <summary>Whether the record has room for the outputs' gradient (false when encoded for inference, training: false).</summary>
    public bool HasGradient => !_memoryGradient.IsEmpty;

    /// <summary>Zeroes <see cref="MemoryGradient"/> where it is kept (on the device of an encoder there).</summary>
    public void ClearGradient()
    {
        if (_twin is null) _memoryGradient.Span.Clear();
        else
        {
            _twin.ClearGradient();
            _gradientOnTwin = true;
        }
    }

    /// <summary>Where else the outputs and their gradient are kept (the device memory of an encoder on a device), or null.</summary>
    internal IEncoderOutputTwin? Twin => _twin;

    /// <summary>Whether the host's copy of the outputs is the pass's (false while only the twin holds them).</summary>
    internal bool OutputsOnHost => _outputsOnHost;

    /// <summary>Whether the gradient is the twin's (the host's copy is then stale).</summary>
    internal bool GradientOnTwin => _gradientOnTwin;

    /// <summary>The pass's outputs are <paramref name="twin"/>'s (the host's copy is stale); the gradient is the host's until moved.</summary>
    internal void Attach(IEncoderOutputTwin twin)
    {
        _twin = twin;
        _outputsOnHost = false;
        _gradientOnTwin = false;
    }

    /// <summary>Forgets the twin; with <paramref name="keep"/>, what only it held is copied to the host first.</summary>
    internal void Detach(bool keep)
    {
        if (_twin is null) return;
        if (keep)
        {
            _ = Memory;
            _ = MemoryGradient;
        }
        _twin = null;
        _outputsOnHost = true;
        _gradientOnTwin = false;
    }

    /// <summary>The gradient to the twin (from the host when the host holds it), where a decoder on its device adds to it.</summary>
    internal void GradientToTwin()
    {
        if (_gradientOnTwin) return;
        _twin!.GradientFrom(_memoryGradient.Span);
        _gradientOnTwin = true;
    }

    /// <summary>True when the source sequences are padded; their lengths are then in <see cref="Lengths"/>.</summary>
    public bool HasLengths { get; internal set; }

    internal int[] LengthsBuffer { get; }

    /// <summary>Each source sequence's length (all S when the batch was not padded).</summary>
    public ReadOnlySpan<int> Lengths => HasLengths ? LengthsBuffer : default;

    /// <summary>The final states of the encoder's last recurrent layer, [B, directions × H] each: <c>layer.h_l0</c>, <c>layer.c_l0</c> (LSTM), … per stacked layer; the directions' final states concatenated.</summary>
    public IReadOnlyList<NamedTensor> FinalStates { get; }

    /// <summary>Gradients of the loss with respect to <see cref="FinalStates"/>, same shapes, filled by whoever used them.</summary>
    public IReadOnlyList<NamedTensor> FinalStateGradients { get; }

    /// <summary>Marks whether the pass had per-sequence lengths; called by generated encoders.</summary>
    public void SetHasLengths(bool value)
    {
        // lengths outside 1 … steps had been refused only by the decoder's kernels, after its state had moved
        if (value) Check.Lengths(LengthsBuffer.AsSpan(0, Batch), Batch, Steps, "lengths");
        HasLengths = value;
    }
}

/// <summary>A copy of an encoder's outputs and of their gradient kept outside the host's memory (Dsl.Gpu's device memory).</summary>
internal interface IEncoderOutputTwin
{
    /// <summary>Copies the outputs to the host's <paramref name="host"/>.</summary>
    void OutputsTo(Span<float> host);

    /// <summary>Copies the gradient to the host's <paramref name="host"/>.</summary>
    void GradientTo(Span<float> host);

    /// <summary>Copies the host's gradient <paramref name="host"/> over the twin's.</summary>
    void GradientFrom(ReadOnlySpan<float> host);

    /// <summary>Zeroes the twin's gradient.</summary>
    void ClearGradient();
}
