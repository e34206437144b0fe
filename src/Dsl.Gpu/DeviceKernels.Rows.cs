using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

// Row-wise layout kernels: rows of a step's buffers with their own strides (columns concatenated or split, the rows a
// padded step holds or clears, two row sets added or multiplied), one thread per element written.
internal sealed partial class DeviceKernels
{
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ColumnCopy> _copyColumns;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PaddedCopy> _copyPadded;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowsBinary> _rowsBinary;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, Rotation> _rotate;

    /// <summary>
    /// Turns the pairs (j, j + d/2) of every query and key head of packed [T, B, 3E] rows by the cosines and sines of
    /// <paramref name="table"/> ([T, d]: each step's d/2 cosines, then its sines, the sines times the rotation's sign): one
    /// thread per pair.
    /// </summary>
    public void Rotate(ArrayView<float> qkv, ArrayView<float> table, Rotation rotation)
    {
        long n = (long)rotation.Steps * rotation.Batch * rotation.Turned * rotation.Half;
        if (n > 0) _rotate(checked((int)n), qkv, table, rotation);
    }

    private static void RotateKernel(Index1D index, ArrayView<float> qkv, ArrayView<float> table, Rotation r)
    {
        int j = index % r.Half, rest = index / r.Half;
        int head = rest % r.Turned, row = rest / r.Turned, t = row / r.Batch;
        long at = (long)row * r.Row + (long)head * r.HeadWidth + j, angle = (long)t * 2 * r.Half + j;
        float x = qkv[at], y = qkv[at + r.Half], c = table[angle], s = table[angle + r.Half] * r.Sign;
        qkv[at] = x * c - y * s;
        qkv[at + r.Half] = y * c + x * s;
    }

    /// <summary>into[r, intoOffset + j] = from[r, fromOffset + j] for j below the width, over every row (concatenating or splitting columns).</summary>
    public void CopyColumns(int rows, ArrayView<float> from, ArrayView<float> into, ColumnCopy copy)
    {
        if (rows > 0 && copy.Width > 0) _copyColumns(rows * copy.Width, from, into, copy);
    }

    /// <summary>Rows b with step ≥ lengths[b] take row b of from (zeros when there is none): one thread per element of every row, the rows not padded left.</summary>
    public void CopyPaddedRows(int batch, ArrayView<float> from, ArrayView<float> into, ArrayView<int> lengths, PaddedCopy copy)
    {
        if (batch > 0 && copy.Width > 0) _copyPadded(batch * copy.Width, from, into, lengths, copy);
    }

    private static void CopyPaddedRowsKernel(Index1D index, ArrayView<float> from, ArrayView<float> into, ArrayView<int> lengths, PaddedCopy copy)
    {
        int j = index % copy.Width, b = index / copy.Width;
        if (copy.Step < lengths[b]) return;
        into[(long)b * copy.IntoRow + j] = copy.HasFrom != 0 ? from[(long)b * copy.FromRow + j] : 0f;
    }

    /// <summary>into[b] = a[b] (op) b[b] for each row, rows with their own strides: 0 add, 1 multiply.</summary>
    public void RowsBinaryOp(int batch, ArrayView<float> a, ArrayView<float> b, ArrayView<float> into, RowsBinary rows)
    {
        if (batch > 0 && rows.Width > 0) _rowsBinary(batch * rows.Width, a, b, into, rows);
    }

    private static void RowsBinaryKernel(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> into, RowsBinary rows)
    {
        int j = index % rows.Width, r = index / rows.Width;
        float x = a[(long)r * rows.LdA + j], y = b[(long)r * rows.LdB + j];
        into[(long)r * rows.LdInto + j] = rows.Op == 0 ? x + y : x * y;
    }

    private static void CopyColumnsKernel(Index1D index, ArrayView<float> from, ArrayView<float> into, ColumnCopy copy)
    {
        int j = index % copy.Width, r = index / copy.Width;
        into[(long)r * copy.IntoRow + copy.IntoOffset + j] = from[(long)r * copy.FromRow + copy.FromOffset + j];
    }
}

/// <summary>
/// What <see cref="DeviceKernels.Rotate"/> turns: T steps of B rows Row wide, the first Turned heads of HeadWidth values (the queries',
/// then the keys'), the first 2 · Half values of each; Sign −1 turns back.
/// </summary>
internal struct Rotation
{
    public int Steps;
    public int Batch;
    public int Row;
    public int Turned;
    public int Half;
    /// <summary>A head's width: the pairs turned are its first 2 · Half values (all of them, or fewer: a partial rotation).</summary>
    public int HeadWidth;
    public float Sign;
}

/// <summary>What <see cref="DeviceKernels.RowsBinaryOp"/> computes: the row width, each operand's row distance, the operation.</summary>
internal struct RowsBinary
{
    public int Width;
    public int LdA;
    public int LdB;
    public int LdInto;
    public int Op;
}

/// <summary>What <see cref="DeviceKernels.CopyPaddedRows"/> copies: the row width, the step, each side's row distance, whether there is a source.</summary>
internal struct PaddedCopy
{
    public int Width;
    public int Step;
    public int FromRow;
    public int IntoRow;
    public int HasFrom;
}

/// <summary>Which columns <see cref="DeviceKernels.CopyColumns"/> copies: a width, and each side's row length and first column.</summary>
internal struct ColumnCopy
{
    public int Width;
    public int FromRow;
    public int FromOffset;
    public int IntoRow;
    public int IntoOffset;
}
