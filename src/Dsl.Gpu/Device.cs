using System;
using System.Linq;
using System.Threading;
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

/// <summary>
/// An accelerator that models run on: opened once, disposed when done (which brings every model still on it back to the
/// host first). A device runs one pass at a time: models that share it may be used from several threads, and their passes
/// take turns (<see cref="Pass"/>).
/// </summary>
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

    /// <summary>Waits until the work queued on the device is done (for timing; reading results on the host waits by itself).</summary>
    public void Synchronize() => Accelerator.Synchronize();

    private DeviceKernels? _kernels;
    private TiledGemm? _gemm;
    private MemoryBuffer1D<float, Stride1D.Dense>? _placeholder;
    private MemoryBuffer1D<int, Stride1D.Dense>? _ints;
    private MemoryBuffer1D<float, Stride1D.Dense>? _floats;
    private readonly object _sync = new();

    private DeviceParameters? _parameters;

    /// <summary>Clipping and optimiser updates for the parameters on this device.</summary>
    internal DeviceParameters Parameters
    {
        get
        {
            lock (_sync) return _parameters ??= new DeviceParameters(this);
        }
    }

    /// <summary>The element-wise and cell kernels, compiled for this device on first use.</summary>
    internal DeviceKernels Kernels
    {
        get
        {
            lock (_sync) return _kernels ??= new DeviceKernels(Accelerator);
        }
    }

    private CuBlasProducts? _blas;
    private string? _noBlas;

    /// <summary>cuBLAS, on a CUDA device whose machine has libcublas (null elsewhere, or with DSL_GPU_CUBLAS=0).</summary>
    internal CuBlasProducts? Blas
    {
        get
        {
            if (Volatile.Read(ref _blasResolved)) return _blas; // every product asks: no lock once it is known
            lock (_sync)
            {
                if (!_blasResolved)
                {
                    _blas = CuBlasProducts.TryOpen(this, out _noBlas);
                    Volatile.Write(ref _blasResolved, true);
                }
                return _blas;
            }
        }
    }

    private bool _blasResolved;

    /// <summary>What computes the matrix products here: cuBLAS, ILGPU's register-blocked kernel (and why not cuBLAS), or (on the CPU accelerator) the kernel without shared memory.</summary>
    public string Products => Blas is not null ? "cuBLAS" : Gemm.Variant switch
    {
        GemmKernel.Simple => "GEMM without shared memory",
        GemmKernel.Blocked => $"register-blocked GEMM ({(Kind == DeviceKind.Cuda ? "no cuBLAS: " + _noBlas : "not CUDA")})",
        _ => "tiled GEMM",
    };

    /// <summary>C (+)= op(A) · op(B) (see <see cref="TiledGemm.Run(int, int, int, ArrayView{float}, int, bool, ArrayView{float}, int, bool, ArrayView{float}, int, bool)"/>) with cuBLAS where present, else the tiled kernel.</summary>
    internal void Product(int m, int n, int k, ArrayView<float> a, int lda, bool transA, ArrayView<float> b, int ldb, bool transB, ArrayView<float> c, int ldc, bool accumulate)
    {
        if (Blas is { } blas) blas.Run(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate);
        else Gemm.Run(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate);
    }

    /// <summary>The matrix product every accelerator runs.</summary>
    internal TiledGemm Gemm
    {
        get
        {
            lock (_sync) return _gemm ??= new TiledGemm(this);
        }
    }

    /// <summary>One float standing for an empty span in a kernel's arguments (the kernel does not read it).</summary>
    internal ArrayView<float> Placeholder
    {
        get
        {
            lock (_sync) return (_placeholder ??= Accelerator.Allocate1D<float>(1)).View.AsContiguous();
        }
    }

    /// <summary>
    /// Host ints (token ids, lengths) copied into device scratch memory for one kernel: valid until the next call. The same
    /// values as the last call's (a pass's lengths, read by each layer and each padded step) are already there: nothing is
    /// copied and the device is not waited for.
    /// </summary>
    internal ArrayView<int> Upload(ReadOnlySpan<int> values)
    {
        lock (_sync)
        {
            if (_ints is not null && values.Length == _uploadedLength && values.SequenceEqual(_uploaded.AsSpan(0, _uploadedLength)))
                return _ints.View.AsContiguous().SubView(0, Math.Max(1, values.Length));
            if (_ints is null || _ints.Length < values.Length)
            {
                _uploadedLength = -1;
                Grow(Accelerator, ref _ints, values.Length, 64);
            }
            ArrayView<int> view = _ints.View.AsContiguous().SubView(0, Math.Max(1, values.Length));
            Accelerator.Synchronize(); // a kernel queued earlier may still read the scratch
            if (!values.IsEmpty) view.SubView(0, values.Length).CopyFromCPU(values);
            if (_uploaded.Length < values.Length) _uploaded = new int[Math.Max(64, values.Length * 2)];
            values.CopyTo(_uploaded);
            _uploadedLength = values.Length;
            return view;
        }
    }

    private int[] _uploaded = new int[64];
    private int _uploadedLength = -1;

    /// <summary>
    /// Ints that stay on the device under <paramref name="key"/> (the buckets of a relative position bias's distances for a shape):
    /// made by <paramref name="make"/> and copied over the first time, then handed out without a copy or a wait, so that they do
    /// not take <see cref="Upload"/>'s one scratch from a pass's lengths.
    /// </summary>
    internal ArrayView<int> Constant<TKey>(TKey key, Func<int[]> make) where TKey : notnull
    {
        lock (_sync)
        {
            if (!_constants.TryGetValue(key, out MemoryBuffer1D<int, Stride1D.Dense>? buffer))
            {
                int[] values = make();
                buffer = Accelerator.Allocate1D<int>(Math.Max(1, values.Length));
                if (values.Length > 0) buffer.View.SubView(0, values.Length).CopyFromCPU(values);
                _constants[key] = buffer;
            }
            return buffer.View.AsContiguous();
        }
    }

    private readonly System.Collections.Generic.Dictionary<object, MemoryBuffer1D<int, Stride1D.Dense>> _constants = new();

    /// <summary>Host floats of <paramref name="length"/> to copy a small result into (a loss per row): valid until the next call, allocated once.</summary>
    internal Span<float> HostScratch(int length)
    {
        lock (_sync)
        {
            if (_hostFloats.Length < length) _hostFloats = new float[Math.Max(256, length * 2)];
            return _hostFloats.AsSpan(0, length);
        }
    }

    private float[] _hostFloats = [];

    /// <summary>
    /// Makes <paramref name="buffer"/> hold at least <paramref name="length"/> values (twice as many, <paramref name="minimum"/>
    /// at least, when it grows). Growing waits for the device first (queued work may read the old buffer) and lets the old
    /// one go before allocating: an allocation that fails (the device's memory spent) leaves no freed buffer that a later
    /// call, finding it long enough, would hand out.
    /// </summary>
    internal static void Grow<T>(Accelerator accelerator, [System.Diagnostics.CodeAnalysis.NotNull] ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length, long minimum) where T : unmanaged
    {
        if (buffer is not null && buffer.Length >= length) return;
        accelerator.Synchronize();
        buffer?.Dispose();
        buffer = null;
        buffer = accelerator.Allocate1D<T>(Math.Max(minimum, length * 2));
    }

    /// <summary>Device scratch floats of at least <paramref name="length"/> (a dropout mask drawn on the host, partial norms): valid until the next call.</summary>
    internal ArrayView<float> Scratch(long length)
    {
        lock (_sync)
        {
            Grow(Accelerator, ref _floats, length, 256);
            Accelerator.Synchronize();
            return _floats.View.AsContiguous().SubView(0, Math.Max(1, length));
        }
    }

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

    private readonly object _pass = new();

    /// <summary>
    /// Holds the device for one pass until the scope is disposed: the passes of models that share the device, and their
    /// optimiser steps and host reads, take turns (the device's staging buffers are one pass's at a time), so such models
    /// may be used from several threads. Generated code takes it around each pass; it may be taken again on the same thread.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public PassScope Pass()
    {
        Monitor.Enter(_pass);
        return new PassScope(_pass);
    }

    /// <summary>What <see cref="Pass"/> holds: disposing it lets the next pass in.</summary>
    public readonly struct PassScope : IDisposable
    {
        private readonly object _gate;

        internal PassScope(object gate) => _gate = gate;

        /// <summary>Ends the pass.</summary>
        public void Dispose() => Monitor.Exit(_gate);
    }

    private readonly System.Collections.Generic.List<WeakReference<IDeviceModel>> _models = new();
    private bool _disposed;

    /// <summary>
    /// Records that <paramref name="model"/> computes on this device, so that disposing the device brings it back to the host
    /// first. A generated model's <c>To</c> calls it.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public void Hold(IDeviceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_models)
        {
            _models.RemoveAll(w => !w.TryGetTarget(out _));
            _models.Add(new WeakReference<IDeviceModel>(model));
        }
    }

    /// <summary>
    /// Brings every model and parameter still on the device back to the host — its trained weights, gradients and optimiser
    /// state are kept, and it computes on the host from then on — then releases the device.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        using PassScope pass = Pass();
        IDeviceModel[] models;
        lock (_models) models = [.. _models.Select(w => w.TryGetTarget(out IDeviceModel? m) ? m : null).OfType<IDeviceModel>()];
        foreach (IDeviceModel model in models)
            if (ReferenceEquals(model.Device, this)) model.ToHost();
        _parameters?.ReleaseAll();
        _disposed = true;
        _blas?.Dispose();
        _placeholder?.Dispose();
        _ints?.Dispose();
        _floats?.Dispose();
        foreach (MemoryBuffer1D<int, Stride1D.Dense> constant in _constants.Values) constant.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
