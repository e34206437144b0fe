using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl.Kernels;

namespace Dsl.Onnx;

/// <summary>
/// A weight as the exported graph holds it: a matrix [rows, columns] of floats, of bfloat16 bits, of 8-bit integers with
/// a scale per row (per column once transposed), or of 4-bit integers with a scale per group of a row. A parameter held in
/// bfloat16, 8 or 4 bits (<see cref="ParameterSet.HoldWeightsIn"/>) keeps its bytes in the graph — half, a quarter or an
/// eighth of the floats' — and nodes widen them into the floats the model computes with: <c>Cast</c> for bfloat16 (exact),
/// <c>DequantizeLinear</c> for 8 bits (q · scale, one rounding, the floats the runtime's kernels stand for), and for 4 bits
/// (opset 17 has no 4-bit type) the bytes as uint8 split into their low and high four bits by <c>Mod</c> and
/// <c>BitShift</c>, less 8, times their groups' scales (one rounding: the runtime's floats). Rows are cut, transposed and
/// reordered here before they are written, on whichever values the parameter holds, so that the exporter's layers are
/// written once for every precision (4-bit rows are transposed by a node: the groups run along them).
/// </summary>
internal sealed class WeightTensor
{
    private readonly ReadOnlyMemory<float> _floats;
    private readonly ushort[]? _bits;
    private readonly sbyte[]? _int8;
    private readonly float[]? _scales; // 8 bits: one a row, or one a column when ByColumn; 4 bits: one a group of a row
    private readonly byte[]? _int4; // 4 bits: Int4's layout, rows of the untransposed matrix (ByColumn: the transposed is written)
    private readonly int _group;

    private WeightTensor(int rows, int columns, ReadOnlyMemory<float> floats, ushort[]? bits, sbyte[]? int8, float[]? scales, bool byColumn, byte[]? int4 = null, int group = 0)
    {
        (Rows, Columns, _floats, _bits, _int8, _scales, ByColumn, _int4, _group) = (rows, columns, floats, bits, int8, scales, byColumn, int4, group);
    }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>8 bits transposed: a scale per column (DequantizeLinear's axis 1) rather than per row.</summary>
    private bool ByColumn { get; }

    public Precision Precision => _bits is not null ? Precision.BFloat16 : _int8 is not null ? Precision.Int8 : _int4 is not null ? Precision.Int4 : Precision.Float32;

    /// <summary>
    /// <paramref name="p"/>'s values as rows of its last dimension, as it holds them: its own floats (not a copy), or a copy of
    /// its bfloat16 bits or of its 8-bit values and scales.
    /// </summary>
    public static WeightTensor Of(Parameter p)
    {
        int columns = p.Shape.Length == 0 ? 1 : p.RowLength, rows = columns == 0 ? 0 : p.Length / columns;
        if (p.Precision == Precision.Float32) return new(rows, columns, p.AsMemory(), null, null, null, false);
        Weights w = p.Weights;
        return w.Precision switch
        {
            Precision.Int8 => new(rows, columns, default, null, w.Int8Values.ToArray(), w.Int8Scales.ToArray(), false),
            Precision.Int4 => new(rows, columns, default, null, null, w.Int4Scales.ToArray(), false, w.Int4Values.ToArray(), w.GroupSize),
            _ => new(rows, columns, default, w.BFloat16Bits.ToArray(), null, null, false),
        };
    }

    /// <summary>
    /// <see cref="Of(Parameter)"/> read as a matrix [<paramref name="rows"/>, <paramref name="columns"/>]: floats and bfloat16 in
    /// any such shape of their values, 8 bits only in rows of the parameter's last dimension (one scale each).
    /// </summary>
    public static WeightTensor Of(Parameter p, int rows, int columns)
    {
        WeightTensor t = Of(p);
        if (t.Rows == rows && t.Columns == columns) return t;
        if ((long)rows * columns != p.Length || t.Precision is Precision.Int8 or Precision.Int4)
            throw new InvalidOperationException($"Parameter {p.Name} [{string.Join(", ", p.Shape.ToArray())}]{(t.Precision == Precision.Int8 ? ", held in 8 bits with a scale per row of its last dimension," : t.Precision == Precision.Int4 ? ", held in 4 bits with a scale per group of its last dimension," : "")} cannot be exported as a matrix [{rows}, {columns}].");
        return new(rows, columns, t._floats, t._bits, null, null, false);
    }

    /// <summary>Rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 (a block of a stacked or packed matrix).</summary>
    public WeightTensor RowRange(int start, int count)
    {
        if (ByColumn) throw new InvalidOperationException($"Rows of a transposed {Weights.Describe(Precision)} weight are not cut (its scales run along the rows).");
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start} … {start + count - 1} of a weight of {Rows} rows.");
        if (_int4 is not null)
            return new(count, Columns, default, null, null, _scales.AsSpan(start * (Columns / _group), count * (Columns / _group)).ToArray(), false,
                _int4.AsSpan(start * (Columns / 2), count * (Columns / 2)).ToArray(), _group);
        int from = start * Columns, length = count * Columns;
        return new(count, Columns, _floats.IsEmpty ? default : _floats.Slice(from, length), _bits?.AsSpan(from, length).ToArray(),
            _int8?.AsSpan(from, length).ToArray(), _scales?.AsSpan(start, count).ToArray(), false);
    }

    /// <summary>
    /// The matrix transposed, [columns, rows] (x · Wᵀ by MatMul): 8-bit scales then run along the columns; 4-bit values stay as
    /// they are and a node transposes the floats they stand for.
    /// </summary>
    public WeightTensor Transposed() => _int4 is not null ? new(Columns, Rows, default, null, null, _scales, !ByColumn, _int4, _group) : new(Columns, Rows,
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
            Precision.Int4 when directions.All(d => d._group == first._group) =>
                new(rows, columns, default, null, null, Reordered<float>(d => d._scales, columns / first._group), false, Reordered<byte>(d => d._int4, columns / 2), first._group),
            Precision.Int4 => throw new ArgumentException("A recurrent layer's directions hold their matrices in groups alike.", nameof(directions)),
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
            case Precision.Int4:
                return Int4Nodes(g, hint, dims);
            default:
                return g.Floats(hint, _floats, dims);
        }
    }

    /// <summary>
    /// The floats 4-bit values stand for: the bytes [rows, blocks, 16] (Int4's layout, rows of the untransposed matrix) as uint8,
    /// their low four bits (Mod 16: values 0 … 15 of each block) and high four (BitShift right 4: values 16 … 31) side by side,
    /// cast, less 8, each group times its scale; then transposed where the weight is read so, and shaped as <paramref name="dims"/>.
    /// </summary>
    private string Int4Nodes(OnnxGraph g, string hint, long[] dims)
    {
        int rows = ByColumn ? Columns : Rows, columns = ByColumn ? Rows : Columns, groups = columns / _group;
        string bytes = g.Raw(hint + ".int4", ElementType.UInt8, _int4!, rows, columns / Int4.Block, Int4.Block / 2);
        string low = g.Add("Mod", hint + "_low", [bytes, g.Raw(hint + "_sixteen", ElementType.UInt8, [16])], ("fmod", 0L));
        string high = g.Add("BitShift", hint + "_high", [bytes, g.Raw(hint + "_four", ElementType.UInt8, [4])], ("direction", "RIGHT"));
        string levels = g.Add("Cast", hint + "_levels", [g.Add("Concat", hint + "_halves", [low, high], ("axis", -1L))], ("to", (long)ElementType.Float));
        string centred = g.Add("Sub", hint + "_centred", [g.Add("Reshape", hint + "_grouped", [levels, g.Int64s(hint + "_groups", rows, groups, _group)]), g.Floats(hint + "_eight", new float[] { 8f })]);
        string matrix = g.Add("Reshape", hint + "_matrix", [g.Add("Mul", hint + "_scaled", [centred, g.Floats(hint + ".scale", _scales!.AsMemory(), rows, groups, 1)]), g.Int64s(hint + "_rows", rows, columns)]);
        if (ByColumn) matrix = g.Add("Transpose", hint + "_transposed", [matrix], ("perm", new long[] { 1, 0 }));
        bool reshaped = dims.Length != 2 || dims[0] != Rows || dims[1] != Columns;
        return reshaped ? g.Add("Reshape", hint, [matrix, g.Int64s(hint + "_shape", dims)]) : matrix;
    }

    private static T[] Transposed<T>(T[] w, int rows, int columns)
    {
        var t = new T[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) t[(long)c * rows + r] = w[(long)r * columns + c];
        return t;
    }
}
