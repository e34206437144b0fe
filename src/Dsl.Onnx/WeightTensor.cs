using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl.Kernels;

namespace Dsl.Onnx;

/// <summary>
/// A weight as the exported graph holds it: a matrix [rows, columns] of floats, of bfloat16 bits, or of 8-bit integers with
/// a scale per row (per column once transposed). A parameter held in bfloat16 or 8 bits (<see cref="ParameterSet.HoldWeightsIn"/>)
/// keeps its bytes in the graph — half or a quarter of the floats' — and one node widens them into the floats the model
/// computes with: <c>Cast</c> for bfloat16 (exact), <c>DequantizeLinear</c> for 8 bits (q · scale, one rounding, the
/// floats the runtime's kernels stand for). Rows are cut, transposed and reordered here before they are written, on
/// whichever values the parameter holds, so that the exporter's layers are written once for every precision.
/// </summary>
internal sealed class WeightTensor
{
    private readonly ReadOnlyMemory<float> _floats;
    private readonly ushort[]? _bits;
    private readonly sbyte[]? _int8;
    private readonly float[]? _scales; // 8 bits: one a row, or one a column when ByColumn

    private WeightTensor(int rows, int columns, ReadOnlyMemory<float> floats, ushort[]? bits, sbyte[]? int8, float[]? scales, bool byColumn)
    {
        (Rows, Columns, _floats, _bits, _int8, _scales, ByColumn) = (rows, columns, floats, bits, int8, scales, byColumn);
    }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>8 bits transposed: a scale per column (DequantizeLinear's axis 1) rather than per row.</summary>
    private bool ByColumn { get; }

    public Precision Precision => _bits is not null ? Precision.BFloat16 : _int8 is not null ? Precision.Int8 : Precision.Float32;

    /// <summary>
    /// <paramref name="p"/>'s values as rows of its last dimension, as it holds them: its own floats (not a copy), or a copy of
    /// its bfloat16 bits or of its 8-bit values and scales.
    /// </summary>
    public static WeightTensor Of(Parameter p)
    {
        int columns = p.Shape.Length == 0 ? 1 : p.RowLength, rows = columns == 0 ? 0 : p.Length / columns;
        if (p.Precision == Precision.Float32) return new(rows, columns, p.AsMemory(), null, null, null, false);
        Weights w = p.Weights;
        return w.IsInt8
            ? new(rows, columns, default, null, w.Int8Values.ToArray(), w.Int8Scales.ToArray(), false)
            : new(rows, columns, default, w.BFloat16Bits.ToArray(), null, null, false);
    }

    /// <summary>
    /// <see cref="Of(Parameter)"/> read as a matrix [<paramref name="rows"/>, <paramref name="columns"/>]: floats and bfloat16 in
    /// any such shape of their values, 8 bits only in rows of the parameter's last dimension (one scale each).
    /// </summary>
    public static WeightTensor Of(Parameter p, int rows, int columns)
    {
        WeightTensor t = Of(p);
        if (t.Rows == rows && t.Columns == columns) return t;
        if ((long)rows * columns != p.Length || t.Precision == Precision.Int8)
            throw new InvalidOperationException($"Parameter {p.Name} [{string.Join(", ", p.Shape.ToArray())}]{(t.Precision == Precision.Int8 ? ", held in 8 bits with a scale per row of its last dimension," : "")} cannot be exported as a matrix [{rows}, {columns}].");
        return new(rows, columns, t._floats, t._bits, null, null, false);
    }

    /// <summary>Rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 (a block of a stacked or packed matrix).</summary>
    public WeightTensor RowRange(int start, int count)
    {
        if (ByColumn) throw new InvalidOperationException("Rows of a transposed 8-bit weight are not cut (its scales run along the rows).");
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start} … {start + count - 1} of a weight of {Rows} rows.");
        int from = start * Columns, length = count * Columns;
        return new(count, Columns, _floats.IsEmpty ? default : _floats.Slice(from, length), _bits?.AsSpan(from, length).ToArray(),
            _int8?.AsSpan(from, length).ToArray(), _scales?.AsSpan(start, count).ToArray(), false);
    }

    /// <summary>The matrix transposed, [columns, rows] (x · Wᵀ by MatMul): 8-bit scales then run along the columns.</summary>
    public WeightTensor Transposed() => new(Columns, Rows,
        Precision == Precision.Float32 ? Layout.Transposed(_floats.Span, Rows, Columns) : default,
        _bits is null ? null : Transposed(_bits, Rows, Columns), _int8 is null ? null : Transposed(_int8, Rows, Columns), _scales, !ByColumn);

    /// <summary>
    /// A recurrent layer's matrices for ONNX's operator: each direction's [gates · hidden, columns] with its gates moved from
    /// PyTorch's order to ONNX's (<see cref="GateOrder"/>), the directions one after another (rows; scales moved with them).
    /// </summary>
    public static WeightTensor Gates(RecurrentKind kind, int hidden, IReadOnlyList<WeightTensor> directions)
    {
        WeightTensor first = directions[0];
        int rows = directions.Sum(d => d.Rows), columns = first.Columns;
        T[] Reordered<T>(Func<WeightTensor, ReadOnlyMemory<T>> values, int width)
        {
            var all = new T[directions.Count * first.Rows * width];
            for (int d = 0; d < directions.Count; d++)
                GateOrder.ToOnnx(kind, values(directions[d]).Span, hidden, width, all.AsSpan(d * first.Rows * width, first.Rows * width));
            return all;
        }
        if (directions.Any(d => d.Precision != first.Precision || d.ByColumn || d.Rows != first.Rows || d.Columns != columns))
            throw new ArgumentException("A recurrent layer's directions hold their matrices alike.", nameof(directions));
        return first.Precision switch
        {
            Precision.BFloat16 => new(rows, columns, default, Reordered<ushort>(d => d._bits, columns), null, null, false),
            Precision.Int8 => new(rows, columns, default, null, Reordered<sbyte>(d => d._int8, columns), Reordered<float>(d => d._scales, 1), false),
            _ => new(rows, columns, Reordered(d => d._floats, columns), null, null, null, false),
        };
    }

    /// <summary>
    /// Adds the tensor to <paramref name="g"/> as the value <paramref name="hint"/> of shape <paramref name="dims"/> (rows · columns
    /// values): a float initializer, or the held initializer and the node widening it (DequantizeLinear on [rows, columns], then
    /// a Reshape where <paramref name="dims"/> differ).
    /// </summary>
    public string AddTo(OnnxGraph g, string hint, params long[] dims)
    {
        switch (Precision)
        {
            case Precision.BFloat16:
                return g.Add("Cast", hint, [g.BFloat16s(hint + ".bfloat16", _bits!, dims)], ("to", (long)ElementType.Float));
            case Precision.Int8:
            {
                bool reshaped = dims.Length != 2 || dims[0] != Rows || dims[1] != Columns;
                string values = g.Raw(hint + ".int8", ElementType.Int8, MemoryMarshal.AsBytes(_int8.AsSpan()).ToArray(), Rows, Columns);
                string dequantized = g.Add("DequantizeLinear", reshaped ? hint + "_dequantized" : hint,
                    [values, g.Floats(hint + ".scale", _scales!.AsMemory(), _scales!.Length), g.Raw(hint + ".zero_point", ElementType.Int8, new byte[_scales!.Length], _scales!.Length)],
                    ("axis", ByColumn ? 1L : 0L));
                return reshaped ? g.Add("Reshape", hint, [dequantized, g.Int64s(hint + "_shape", dims)]) : dequantized;
            }
            default:
                return g.Floats(hint, _floats, dims);
        }
    }

    private static T[] Transposed<T>(T[] w, int rows, int columns)
    {
        var t = new T[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) t[(long)c * rows + r] = w[(long)r * columns + c];
        return t;
    }
}
