using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>A named view over a float array with a shape: a recurrent state's h or c, for reading or setting it.</summary>
public sealed class NamedTensor
{
    private readonly float[] _values;
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="values"/> (not copied) as a tensor of <paramref name="shape"/>.</summary>
    public NamedTensor(string name, float[] values, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        long length = Shapes.Count(shape);
        if (length < 0) throw new ArgumentException($"'{name}': shape {Shapes.Format<int>(shape)} has a negative dimension.", nameof(shape));
        if (length != values.Length) throw new ArgumentException($"'{name}': shape {Shapes.Format<int>(shape)} needs {length} values, got {values.Length}.", nameof(values));
        Name = name;
        _values = values;
        _shape = (int[])shape.Clone();
        var lengths = new nint[shape.Length];
        for (int i = 0; i < shape.Length; i++) lengths[i] = shape[i];
        Value = Tensor.Create(values, lengths);
    }

    /// <summary>The name, e.g. <c>lstm.h_l0</c>.</summary>
    public string Name { get; }

    /// <summary>The values, a view over the state's memory.</summary>
    public Tensor<float> Value { get; }

    /// <summary>The dimensions, e.g. [batch, hidden].</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The values as a flat, row-major span.</summary>
    public Span<float> AsSpan() => _values;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shapes.Format<int>(_shape)}";
}
