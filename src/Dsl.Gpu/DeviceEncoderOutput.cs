using System;

namespace Dsl.Gpu;

/// <summary>
/// What a decoder's cross-attention reads on the device: the encoder's outputs [S, B, M] of the pass, and their gradient,
/// which the decoder's backward pass adds to. From an encoder on the same device they are the encoder's own device memory
/// (<see cref="ResidentEncoderOutput"/>: nothing crosses to the host and back); from an encoder on the host or on another
/// device they are copied over, and the gradient copied back for the encoder. One per device workspace of a decoder;
/// generated code uses it.
/// </summary>
public sealed class DeviceEncoderOutput : IDisposable
{
    private readonly Device _device;
    private EncoderOutput? _host;
    private ResidentEncoderOutput? _shared;
    private DeviceMemory? _memory, _gradient;

    /// <summary>Device memory for the outputs of encoders on <paramref name="device"/>.</summary>
    public DeviceEncoderOutput(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <summary>The encoder's outputs on the device (after <see cref="Load"/>).</summary>
    public DeviceSpan Outputs => _shared?.Outputs ?? (_memory ?? throw NotLoaded()).Span;

    /// <summary>Their gradient on the device (after <see cref="GradientToDevice"/>).</summary>
    public DeviceSpan Gradient => _shared?.Gradient ?? (_gradient ?? throw NotLoaded()).Span;

    /// <summary>Each source sequence's length (empty: all of its steps), as the host's.</summary>
    public ReadOnlySpan<int> Lengths => _host is null ? default : _host.Lengths;

    /// <summary>The encoder's outputs of this pass on the device: its own memory when it is on this device, else a copy.</summary>
    public void Load(EncoderOutput encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        _host = encoded;
        if (encoded.Twin is ResidentEncoderOutput resident && ReferenceEquals(resident.Device, _device))
        {
            _shared = resident;
            return;
        }
        Copy(encoded);
    }

    private void Copy(EncoderOutput encoded)
    {
        _shared = null;
        ReadOnlySpan<float> outputs = encoded.Memory.Span; // (from another device: copied to the host first)
        if (_memory is null || _gradient is null || _memory.Length != outputs.Length)
        {
            _memory?.Dispose();
            _gradient?.Dispose();
            _memory = _gradient = null; // an allocation that fails leaves none, not disposed buffers of the right length
            _memory = new DeviceMemory(_device, outputs.Length);
            _gradient = new DeviceMemory(_device, outputs.Length);
        }
        _memory.Span.CopyFrom(outputs);
    }

    /// <summary>
    /// Before the decoder's backward pass: the gradient so far (cross-attention adds to it) on the device — the encoder's
    /// own (from the host first if the host holds it), or a copy of the host's.
    /// </summary>
    public void GradientToDevice()
    {
        EncoderOutput host = _host ?? throw NotLoaded();
        if (_shared is not null)
        {
            if (ReferenceEquals(host.Twin, _shared))
            {
                if (!host.HasGradient) throw InferenceOnly();
                host.GradientToTwin();
                return;
            }
            Copy(host); // the encoder's device workspace was let go since the forward pass: its outputs went back to the host
        }
        if (!host.HasGradient) throw InferenceOnly();
        _gradient!.Span.CopyFrom(host.MemoryGradient.Span);
    }

    private static InvalidOperationException InferenceOnly() =>
        new("The encoder's outputs were encoded for inference (training: false), which keeps no room for their gradient: encode with training: true to back-propagate through them.");

    /// <summary>After the decoder's backward pass: the gradient where the encoder's backward pass reads it (it is there already when shared).</summary>
    public void GradientFromDevice()
    {
        EncoderOutput host = _host ?? throw NotLoaded();
        if (_shared is null) _gradient!.Span.CopyTo(host.MemoryGradient.Span);
    }

    private static InvalidOperationException NotLoaded() => new("No encoder's outputs were loaded.");

    /// <inheritdoc/>
    public void Dispose()
    {
        _memory?.Dispose();
        _gradient?.Dispose();
        _memory = _gradient = null;
        _host = null;
        _shared = null;
    }
}

/// <summary>
/// An encoder's outputs and their gradient kept in its device workspace after an <c>Encode</c> on the device: the
/// <see cref="EncoderOutput"/> of the pass stands for them on the host, copying them over only when the host reads them,
/// and a decoder on the same device uses them in place. One per device workspace of an encoder; generated code uses it.
/// </summary>
public sealed class ResidentEncoderOutput : IEncoderOutputTwin
{
    /// <summary>The encoder workspace's output and output-gradient buffers (the gradient empty in a workspace for inference).</summary>
    public ResidentEncoderOutput(DeviceSpan outputs, DeviceSpan gradient)
    {
        if (gradient.Length != outputs.Length && !gradient.IsEmpty)
            throw new ArgumentException($"gradient: expected {outputs.Length} floats (as the outputs) or none, got {gradient.Length}.", nameof(gradient));
        Outputs = outputs;
        Gradient = gradient;
    }

    internal Device Device => Outputs.Device;

    /// <summary>The outputs [S, B, M] on the device.</summary>
    public DeviceSpan Outputs { get; }

    /// <summary>Their gradient on the device.</summary>
    public DeviceSpan Gradient { get; }

    /// <summary>After an encoder's pass on the device: <paramref name="encoded"/>'s outputs are these (the host's copy is left stale until read).</summary>
    public void Keep(EncoderOutput encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        encoded.Attach(this);
    }

    /// <summary>
    /// Whether <paramref name="encoded"/>'s gradient is this device memory's (a decoder on the device added to it): the
    /// encoder's backward pass then starts from it as it is, instead of from the host's.
    /// </summary>
    public bool HoldsGradientOf(EncoderOutput? encoded) => encoded is not null && ReferenceEquals(encoded.Twin, this) && encoded.GradientOnTwin;

    /// <summary>Before the encoder's next pass overwrites the workspace: <paramref name="encoded"/> forgets this memory (the record was valid until then).</summary>
    public void Drop(EncoderOutput? encoded)
    {
        if (encoded is not null && ReferenceEquals(encoded.Twin, this)) encoded.Detach(keep: false);
    }

    /// <summary>Before this memory is freed (the model leaves the device): what only it holds of <paramref name="encoded"/> goes to the host.</summary>
    public void Release(EncoderOutput? encoded)
    {
        if (encoded is not null && ReferenceEquals(encoded.Twin, this)) encoded.Detach(keep: true);
    }

    void IEncoderOutputTwin.OutputsTo(Span<float> host) => Outputs.CopyTo(host);

    void IEncoderOutputTwin.GradientTo(Span<float> host) => Gradient.CopyTo(host);

    void IEncoderOutputTwin.GradientFrom(ReadOnlySpan<float> host) => Gradient.CopyFrom(host);

    void IEncoderOutputTwin.ClearGradient() => Gradient.Clear();
}
