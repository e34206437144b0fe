using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>
/// One named, trainable tensor of a model and the gradient accumulated for it.
/// Names and layouts are PyTorch's <c>state_dict</c> ones (<c>lstm.weight_ih_l0</c>, [4H, X]).
/// </summary>
public sealed class Parameter
{
    private readonly float[] _value;
    private readonly float[] _grad;
    private readonly int[] _shape;
    private readonly Home _home; // shared by every name of the same tensor (WithName)
    private readonly Tensor<float> _valueTensor;
    private readonly Tensor<float> _gradTensor;

    /// <summary>Where the tensor also lives: shared by the views <see cref="WithName"/> makes.</summary>
    private sealed class Home
    {
        public ParameterMirror? Mirror;
    }

    /// <summary>Creates a zero parameter of the given shape.</summary>
    public Parameter(string name, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long length = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Parameter '{name}': every dimension must be positive, got {Shapes.Format(shape)}.", nameof(shape));
            length *= d;
        }
        if (length > Array.MaxLength) throw new ArgumentException($"Parameter '{name}' with shape {Shapes.Format(shape)} is too large.", nameof(shape));
        Name = name;
        _shape = (int[])shape.Clone();
        _value = new float[length];
        _grad = new float[length];
        var lengths = new nint[shape.Length];
        for (int i = 0; i < shape.Length; i++) lengths[i] = shape[i];
        _valueTensor = Tensor.Create(_value, lengths);
        _gradTensor = Tensor.Create(_grad, lengths);
        _home = new Home();
    }

    private Parameter(string name, Parameter storage)
    {
        Name = name;
        _shape = storage._shape;
        _value = storage._value;
        _grad = storage._grad;
        _valueTensor = storage._valueTensor;
        _gradTensor = storage._gradTensor;
        _home = storage._home;
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
            return _gradTensor;
        }
    }

    /// <summary>The device copy of this tensor, when its model was moved to a device; null on the host.</summary>
    internal ParameterMirror? Mirror
    {
        get => _home.Mirror;
        set => _home.Mirror = value;
    }

    /// <summary>The host's values without synchronising (what a device mirror copies to and from).</summary>
    internal float[] HostValues => _value;

    /// <summary>The host's gradient without synchronising.</summary>
    internal float[] HostGradient => _grad;

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of elements.</summary>
    public int Length => _value.Length;

    /// <summary>The values as a flat, row-major span (synchronised from a device as <see cref="Value"/> is).</summary>
    public Span<float> AsSpan()
    {
        _home.Mirror?.HostAccess(grad: false);
        return _value;
    }

    /// <summary>The gradient as a flat, row-major span (synchronised from a device as <see cref="Grad"/> is).</summary>
    public Span<float> GradAsSpan()
    {
        _home.Mirror?.HostAccess(grad: true);
        return _grad;
    }

    /// <summary>Sets the gradient to zero (on the device too, where the model lives on one).</summary>
    public void ZeroGrad()
    {
        Array.Clear(_grad);
        _home.Mirror?.ZeroGrad();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shapes.Format(_shape)}";
}
