using System;
using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// What an encoder's pass leaves for a decoder: its output sequence (the memory that cross-attention reads), the source
/// lengths, the final recurrent states, and the buffers their gradients are gathered in before
/// <see cref="IEncoder{TSource}.BackwardFromEncoded"/> carries them into the encoder. Views into the encoder's
/// workspace: valid until its next pass.
/// </summary>
public sealed class EncoderOutput
{
    internal EncoderOutput(int batch, int steps, int width, Memory<float> memory, Memory<float> memoryGradient, int[] lengths,
        IReadOnlyList<NamedTensor> finalStates, IReadOnlyList<NamedTensor> finalStateGradients)
    {
        Batch = batch;
        Steps = steps;
        Width = width;
        Memory = memory;
        MemoryGradient = memoryGradient;
        LengthsBuffer = lengths;
        FinalStates = finalStates;
        FinalStateGradients = finalStateGradients;
    }

    /// <summary>Creates the record of one pass; called by generated encoders.</summary>
    public static EncoderOutput Create(int batch, int steps, int width, Memory<float> memory, Memory<float> memoryGradient, int[] lengths,
        IReadOnlyList<NamedTensor> finalStates, IReadOnlyList<NamedTensor> finalStateGradients) =>
        new(batch, steps, width, memory, memoryGradient, lengths, finalStates, finalStateGradients);

    /// <summary>Number of source sequences.</summary>
    public int Batch { get; }

    /// <summary>Source steps S (the padded length).</summary>
    public int Steps { get; }

    /// <summary>Width of each output step.</summary>
    public int Width { get; }

    /// <summary>The encoder's outputs, time-major [S, B, Width]; padded steps are zero.</summary>
    public Memory<float> Memory { get; }

    /// <summary>The gradient of the loss with respect to <see cref="Memory"/>, [S, B, Width]: attention layers add into it.</summary>
    public Memory<float> MemoryGradient { get; }

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
    public void SetHasLengths(bool value) => HasLengths = value;
}
