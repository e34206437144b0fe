using System;

namespace Dsl.Gpu;

/// <summary>
/// What a decoder's cross-attention reads on the device: the encoder's outputs [S, B, M] of the pass (copied over from
/// the <see cref="EncoderOutput"/> its state carries), and their gradient, which the decoder's backward pass adds to and
/// hands back to the host for the encoder. One per device workspace of a decoder; generated code uses it.
/// </summary>
public sealed class DeviceEncoderOutput : IDisposable
{
    private readonly Device _device;
    private EncoderOutput? _host;
    private DeviceMemory? _memory, _gradient;

    /// <summary>Device memory for the outputs of encoders on <paramref name="device"/>.</summary>
    public DeviceEncoderOutput(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <summary>The encoder's outputs on the device (after <see cref="Load"/>).</summary>
    public DeviceMemory Memory => _memory ?? throw new InvalidOperationException("No encoder's outputs were loaded.");

    /// <summary>Their gradient on the device (after <see cref="GradientFromHost"/>).</summary>
    public DeviceMemory MemoryGradient => _gradient ?? throw new InvalidOperationException("No encoder's outputs were loaded.");

    /// <summary>Each source sequence's length (empty: all of its steps), as the host's.</summary>
    public ReadOnlySpan<int> Lengths => _host is null ? default : _host.Lengths;

    /// <summary>Copies <paramref name="encoded"/>'s outputs to the device for this pass.</summary>
    public void Load(EncoderOutput encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        ReadOnlySpan<float> outputs = encoded.Memory.Span;
        if (_memory is null || _memory.Length != outputs.Length)
        {
            _memory?.Dispose();
            _gradient?.Dispose();
            _memory = new DeviceMemory(_device, outputs.Length);
            _gradient = new DeviceMemory(_device, outputs.Length);
        }
        _memory.Span.CopyFrom(outputs);
        _host = encoded;
    }

    /// <summary>The gradient the host holds so far (the backward pass adds to it).</summary>
    public void GradientFromHost() => MemoryGradient.Span.CopyFrom(Host.MemoryGradient.Span);

    /// <summary>The gradient back to the host, where the encoder's backward pass reads it.</summary>
    public void GradientToHost() => MemoryGradient.Span.CopyTo(Host.MemoryGradient.Span);

    private EncoderOutput Host => _host ?? throw new InvalidOperationException("No encoder's outputs were loaded.");

    /// <inheritdoc/>
    public void Dispose()
    {
        _memory?.Dispose();
        _gradient?.Dispose();
        _memory = _gradient = null;
        _host = null;
    }
}
