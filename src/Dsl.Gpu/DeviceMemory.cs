using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

/// <summary>One allocation of floats in a device's memory; <see cref="DeviceSpan"/>s are views into it.</summary>
public sealed class DeviceMemory : IDisposable
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;

    /// <summary>Allocates <paramref name="length"/> floats on <paramref name="device"/>, zeroed.</summary>
    public DeviceMemory(Device device, long length)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Device = device;
        Length = length;
        _buffer = device.Accelerator.Allocate1D<float>(Math.Max(1, length));
        _buffer.View.MemSetToZero();
    }

    /// <summary>The device the memory is on.</summary>
    public Device Device { get; }

    /// <summary>Number of floats.</summary>
    public long Length { get; }

    /// <summary>The whole allocation as a span (at most <see cref="int.MaxValue"/> floats).</summary>
    public DeviceSpan Span => new(this, 0, checked((int)Length));

    internal ArrayView<float> View => (_buffer ?? throw new ObjectDisposedException(nameof(DeviceMemory))).View.AsContiguous();

    /// <inheritdoc/>
    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}

/// <summary>
/// A contiguous run of floats in a device's memory: the device counterpart of <see cref="Span{T}"/> that the generated
/// device code passes to the kernels of <c>Dsl.Gpu.Kernels</c> (the same names and signatures as <c>Dsl.Kernels</c>).
/// The default value is the empty span, which kernels read as "none" (a zero initial state) as the host kernels do.
/// </summary>
public readonly struct DeviceSpan
{
    private readonly DeviceMemory? _memory;
    private readonly long _offset;

    internal DeviceSpan(DeviceMemory memory, long offset, int length)
    {
        _memory = memory;
        _offset = offset;
        Length = length;
    }

    /// <summary>Number of floats.</summary>
    public int Length { get; }

    /// <summary>True for the empty span.</summary>
    public bool IsEmpty => Length == 0;

    internal Device Device => _memory?.Device ?? throw new InvalidOperationException("An empty device span belongs to no device.");

    internal Accelerator Accelerator => Device.Accelerator;

    /// <summary>The floats as an ILGPU view (never for the empty span).</summary>
    internal ArrayView<float> View => _memory is null ? throw new InvalidOperationException("The empty device span has no view.") : _memory.View.SubView(_offset, Length);

    /// <summary>A view for a kernel argument: this span's, or a one-float placeholder for the empty span (which the kernel then ignores).</summary>
    internal ArrayView<float> ViewOrPlaceholder(Device device) => IsEmpty ? device.Placeholder : View;

    /// <summary>The floats from <paramref name="start"/> to the end.</summary>
    public DeviceSpan Slice(int start)
    {
        if ((uint)start > (uint)Length) throw new ArgumentOutOfRangeException(nameof(start), start, $"must be in [0, {Length}]");
        return new DeviceSpan(_memory!, _offset + start, Length - start);
    }

    /// <summary><paramref name="length"/> floats from <paramref name="start"/>.</summary>
    public DeviceSpan Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
            throw new ArgumentOutOfRangeException(nameof(length), $"[{start}, {start} + {length}) is not within the {Length} floats of the span");
        return new DeviceSpan(_memory!, _offset + start, length);
    }

    /// <summary>Sets every float to zero.</summary>
    public void Clear()
    {
        if (!IsEmpty) View.MemSetToZero();
    }

    /// <summary>Sets every float to <paramref name="value"/>.</summary>
    public void Fill(float value)
    {
        if (!IsEmpty) Device.Kernels.Fill(Length, View, value);
    }

    /// <summary>Copies this span into the start of <paramref name="destination"/> on the same device.</summary>
    public void CopyTo(DeviceSpan destination)
    {
        if (IsEmpty) return;
        if (destination.Length < Length) throw new ArgumentException($"Destination too short: {destination.Length} floats for {Length}.", nameof(destination));
        View.CopyTo(destination.View.SubView(0, Length));
    }

    /// <summary>Copies this span into host memory (waits for the device's queued work first).</summary>
    public void CopyTo(Span<float> destination)
    {
        if (IsEmpty) return;
        if (destination.Length < Length) throw new ArgumentException($"Destination too short: {destination.Length} floats for {Length}.", nameof(destination));
        Accelerator.Synchronize();
        View.CopyToCPU(destination.Slice(0, Length));
    }

    /// <summary>Copies host floats into the start of this span.</summary>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        if (source.IsEmpty) return;
        if (source.Length > Length) throw new ArgumentException($"Source too long: {source.Length} floats for {Length}.", nameof(source));
        Accelerator.Synchronize();
        View.SubView(0, source.Length).CopyFromCPU(source);
    }

    /// <summary>The floats as a new host array (for tests and inspection).</summary>
    public float[] ToArray()
    {
        var result = new float[Length];
        CopyTo(result);
        return result;
    }
}
