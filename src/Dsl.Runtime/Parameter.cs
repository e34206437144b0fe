using System;
using System.Numerics.Tensors;
using System.Threading;
using Dsl.Kernels;

namespace Dsl;

/// <summary>
/// One named, trainable tensor of a model and the gradient accumulated for it.
/// Names and layouts are PyTorch's <c>state_dict</c> ones (<c>lstm.weight_ih_l0</c>, [4H, X]).
/// </summary>
public sealed class Parameter
{
    // (not readonly: an encoder–decoder that shares an embedding points its decoder's table at the encoder's: ShareStorageOf)
    private float[] _value; // pinned; the values start at _origin, on a 64-byte boundary (Kernels.Aligned)
    private int _origin;
    private readonly int _length;
    private readonly int[] _shape;
    private Home _home; // shared by every name of the same tensor (WithName)
    private Tensor<float> _valueTensor;

    /// <summary>
    /// Where the tensor also lives, shared by the views <see cref="WithName"/> makes: its device copy, and its gradient, taken
    /// the first time it is asked for — a model only ever run forward (a loaded checkpoint generating text) holds its values
    /// alone, half the memory.
    /// </summary>
    private sealed class Home
    {
        public ParameterMirror? Mirror;
        public Gradient? Grad; // null until first asked for
    }

    /// <summary>A gradient's pinned floats (from <see cref="Origin"/>, on a 64-byte boundary) and its tensor view.</summary>
    private sealed record Gradient(float[] Floats, int Origin, Tensor<float> Tensor);

    /// <summary>Creates a zero parameter of the given shape.</summary>
    public Parameter(string name, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        // (a scalar is [1]: a tensor of no dimensions would hold nothing, where the span holds one float)
        if (shape.Length == 0) throw new ArgumentException($"Parameter '{name}': expected at least one dimension (a scalar is [1]), got none.", nameof(shape));
        // (an array holds the values and up to 15 floats before the first cache line: Aligned.Floats)
        long most = Aligned.MostFloats;
        long length = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Parameter '{name}': every dimension must be positive, got {Shapes.Format(shape)}.", nameof(shape));
            length *= d; // at most most · int.MaxValue < 2⁶³: checked before it could wrap round
            if (length > most)
                throw new ArgumentException($"Parameter '{name}' with shape {Shapes.Format(shape)} is too large: one array holds at most {most} values.", nameof(shape));
        }
        Name = name;
        _shape = (int[])shape.Clone();
        // On cache lines, as the workspaces are: a decoding step reads the weights where they lie, and a 64-byte read from
        // an array's own start (wherever the GC put it, 8 bytes apart) would straddle two lines.
        _length = (int)length;
        _value = Aligned.Floats(_length, null, out _origin);
        _valueTensor = View(_value, _origin, shape);
        _home = new Home();
    }

    /// <summary>A row-major tensor of <paramref name="shape"/> over <paramref name="floats"/> from <paramref name="origin"/> on.</summary>
    private static Tensor<float> View(float[] floats, int origin, int[] shape)
    {
        var lengths = new nint[shape.Length];
        for (int i = 0; i < shape.Length; i++) lengths[i] = shape[i];
        // row-major strides, which the library works out (given explicitly, System.Numerics.Tensors 11 refused a shape with a
        // dimension of 1, [1] or [1, 4], starting past the array's first element)
        return Tensor.Create(floats, origin, lengths, strides: []);
    }

    /// <summary>
    /// The gradient, made (zero) the first time any name of this tensor asks; once made, read without a lock. Two threads asking
    /// at once get the same one.
    /// </summary>
    private Gradient TheGradient()
    {
        Gradient? grad = Volatile.Read(ref _home.Grad);
        if (grad is not null) return grad;
        lock (_home)
        {
            if (_home.Grad is null)
            {
                float[] floats = Aligned.Floats(_length, null, out int origin);
                Volatile.Write(ref _home.Grad, new Gradient(floats, origin, View(floats, origin, _shape)));
            }
            return _home.Grad!;
        }
    }

    private Parameter(string name, Parameter storage)
    {
        Name = name;
        _shape = storage._shape;
        _length = storage._length;
        Take(storage);
    }

    /// <summary>Points this parameter at <paramref name="storage"/>'s values, gradient and device copy.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_value), nameof(_valueTensor), nameof(_home))]
    private void Take(Parameter storage)
    {
        _value = storage._value;
        _origin = storage._origin;
        _valueTensor = storage._valueTensor;
        _home = storage._home;
    }

    /// <summary>
    /// Makes this parameter <paramref name="source"/>'s tensor from now on — its values, its gradient and its device copy —
    /// keeping its own name: how an encoder–decoder with <c>ShareEmbedding</c> gives its decoder the encoder's table, after
    /// both parts are built and before either runs. Its own values are dropped.
    /// </summary>
    internal void ShareStorageOf(Parameter source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!_shape.AsSpan().SequenceEqual(source._shape))
            throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} cannot share the tensor of '{source.Name}' {Shapes.Format(source._shape)}: the shapes differ.", nameof(source));
        if (_home.Mirror is not null || source._home.Mirror is not null)
            throw new InvalidOperationException($"Parameters '{Name}' and '{source.Name}' share a tensor only on the host, before either moves to a device.");
        Take(source);
    }

    /// <summary>The same tensor (values and gradient shared) under another name: how a composed model prefixes its parts' names.</summary>
    public Parameter WithName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new Parameter(name, this);
    }

    /// <summary>The <c>state_dict</c> name, e.g. <c>lstm.weight_hh_l0_reverse</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// The values; a view over the same memory the model computes with. For a model moved to a device (Dsl.Gpu), reading
    /// it copies the device's values back first (and the device takes the host's copy before it next computes).
    /// </summary>
    public Tensor<float> Value
    {
        get
        {
            _home.Mirror?.HostAccess(grad: false);
            return _valueTensor;
        }
    }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/> (synchronised as <see cref="Value"/> is).</summary>
    public Tensor<float> Grad
    {
        get
        {
            _home.Mirror?.HostAccess(grad: true);
            return TheGradient().Tensor;
        }
    }

    /// <summary>The device copy of this tensor, when its model was moved to a device; null on the host.</summary>
    internal ParameterMirror? Mirror
    {
        get => _home.Mirror;
        set => _home.Mirror = value;
    }

    /// <summary>The host's values without synchronising (what a device mirror copies to and from).</summary>
    internal Span<float> HostValues => _value.AsSpan(_origin, _length);

    /// <summary>The host's gradient without synchronising.</summary>
    internal Span<float> HostGradient
    {
        get
        {
            Gradient grad = TheGradient();
            return grad.Floats.AsSpan(grad.Origin, _length);
        }
    }

    /// <summary>
    /// Whether the host's copy of this tensor's gradient has been made: false until a backward pass on the host, an optimiser or a
    /// read of <see cref="Grad"/> asks for it (a model only run forward never makes it; a model on a device accumulates into the
    /// device's copy, and the host's is made when <see cref="Grad"/> brings it back).
    /// </summary>
    public bool HasGradient => Volatile.Read(ref _home.Grad) is not null;

    /// <summary>
    /// The values (synchronised from a device as <see cref="AsSpan"/>) as memory that may be kept a while: what the ONNX
    /// exporter writes a weight from without copying it.
    /// </summary>
    internal ReadOnlyMemory<float> AsMemory()
    {
        _home.Mirror?.HostAccess(grad: false);
        return new ReadOnlyMemory<float>(_value, _origin, _length);
    }

    /// <summary>The array the values live in: the same for every name of one tensor (<see cref="WithName"/>).</summary>
    internal float[] Storage => _value;

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of elements.</summary>
    public int Length => _length;

    /// <summary>The values as a flat, row-major span (synchronised from a device as <see cref="Value"/> is).</summary>
    public Span<float> AsSpan()
    {
        _home.Mirror?.HostAccess(grad: false);
        return HostValues;
    }

    /// <summary>The gradient as a flat, row-major span (synchronised from a device as <see cref="Grad"/> is).</summary>
    public Span<float> GradAsSpan()
    {
        _home.Mirror?.HostAccess(grad: true);
        return HostGradient;
    }

    /// <summary>Sets the gradient to zero (on the device too, where the model lives on one); one not made yet stays unmade.</summary>
    public void ZeroGrad()
    {
        if (HasGradient) HostGradient.Clear();
        _home.Mirror?.ZeroGrad();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shapes.Format(_shape)}";
}
