using System;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Dsl.Gpu;

/// <summary>Which accelerator <see cref="Device.Open"/> opens.</summary>
public enum DeviceKind
{
    /// <summary>The best found: CUDA, else OpenCL, else ILGPU's CPU accelerator.</summary>
    Auto,

    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,

    /// <summary>A GPU through OpenCL.</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator: every kernel runs on the CPU's threads (what CI runs the kernels on).</summary>
    Cpu,
}

/// <summary>An accelerator that models run on: opened once, disposed when done.</summary>
public sealed class Device : IDisposable
{
    private readonly Context _context;

    private Device(Context context, Accelerator accelerator, DeviceKind kind)
    {
        _context = context;
        Accelerator = accelerator;
        Kind = kind;
    }

    /// <summary>What was opened (never <see cref="DeviceKind.Auto"/>).</summary>
    public DeviceKind Kind { get; }

    /// <summary>The device's name, as its driver gives it.</summary>
    public string Name => Accelerator.Name;

    internal Accelerator Accelerator { get; }

    /// <summary>Opens an accelerator of <paramref name="kind"/>; with <see cref="DeviceKind.Auto"/>, the best found.</summary>
    /// <exception cref="InvalidOperationException">No accelerator of that kind is on this machine (the message lists what is).</exception>
    public static Device Open(DeviceKind kind = DeviceKind.Auto)
    {
        Context context = Context.Create(builder => builder.Default().EnableAlgorithms());
        try
        {
            foreach (DeviceKind candidate in kind == DeviceKind.Auto ? [DeviceKind.Cuda, DeviceKind.OpenCL, DeviceKind.Cpu] : new[] { kind })
            {
                AcceleratorType type = candidate switch
                {
                    DeviceKind.Cuda => AcceleratorType.Cuda,
                    DeviceKind.OpenCL => AcceleratorType.OpenCL,
                    _ => AcceleratorType.CPU,
                };
                foreach (ILGPU.Runtime.Device device in context.Devices)
                {
                    if (device.AcceleratorType == type) return new Device(context, device.CreateAccelerator(context), candidate);
                }
            }
            string found = string.Join(", ", System.Linq.Enumerable.Select(context.Devices, d => $"{d.AcceleratorType} ({d.Name})"));
            throw new InvalidOperationException($"No {kind} accelerator on this machine; found: {(found.Length > 0 ? found : "none")}.");
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
