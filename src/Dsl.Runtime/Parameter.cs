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
        Value = Tensor.Create(_value, lengths);
        Grad = Tensor.Create(_grad, lengths);
    }

    private Parameter(string name, Parameter storage)
    {
        Name = name;
        _shape = storage._shape;
        _value = storage._value;
        _grad = storage._grad;
        Value = storage.Value;
        Grad = storage.Grad;
    }

    /// <summary>The same tensor (values and gradient shared) under another name: how a composed model prefixes its parts' names.</summary>
    public Parameter WithName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new Parameter(name, this);
    }

    /// <summary>The <c>state_dict</c> name, e.g. <c>lstm.weight_hh_l0_reverse</c>.</summary>
    public string Name { get; }

    /// <summary>The values; a view over the same memory the model computes with.</summary>
    public Tensor<float> Value { get; }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/>.</summary>
    public Tensor<float> Grad { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of elements.</summary>
    public int Length => _value.Length;

    /// <summary>The values as a flat, row-major span.</summary>
    public Span<float> AsSpan() => _value;

    /// <summary>The gradient as a flat, row-major span.</summary>
    public Span<float> GradAsSpan() => _grad;

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Array.Clear(_grad);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shapes.Format(_shape)}";
}
