using System;

namespace Dsl.Onnx;

/// <summary>
/// PyTorch and ONNX stack a recurrent layer's gates in different orders: LSTM i, f, g, o (PyTorch) against i, o, f, c
/// (ONNX); GRU r, z, n against z, r, h. Weights and biases are blocks of <c>hidden</c> rows per gate; this moves them.
/// </summary>
public static class GateOrder
{
    /// <summary>For each ONNX gate block, the PyTorch block it comes from.</summary>
    public static int[] OnnxFromPyTorch(RecurrentKind kind) => kind switch
    {
        RecurrentKind.Lstm => [0, 3, 1, 2], // i, o, f, c ← i, f, g, o
        RecurrentKind.Gru => [1, 0, 2],     // z, r, h ← r, z, n
        _ => [0],
    };

    /// <summary>
    /// <paramref name="rows"/> [gates·hidden, columns] in PyTorch's gate order, written into <paramref name="destination"/>
    /// in ONNX's (a bias is one column).
    /// </summary>
    public static void ToOnnx(RecurrentKind kind, ReadOnlySpan<float> rows, int hidden, int columns, Span<float> destination) =>
        ToOnnx<float>(kind, rows, hidden, columns, destination);

    /// <summary>The same for values of any type (a weight's bfloat16 bits or 8-bit values, and its scales as one column).</summary>
    internal static void ToOnnx<T>(RecurrentKind kind, ReadOnlySpan<T> rows, int hidden, int columns, Span<T> destination)
    {
        int[] from = OnnxFromPyTorch(kind);
        int block = hidden * columns;
        if (rows.Length != from.Length * block)
            throw new ArgumentException($"rows: expected {from.Length} gates × {hidden} rows × {columns} columns = {from.Length * block} values, got {rows.Length}.", nameof(rows));
        if (destination.Length < rows.Length)
            throw new ArgumentException($"destination: expected at least {rows.Length} values, got {destination.Length}.", nameof(destination));
        for (int g = 0; g < from.Length; g++) rows.Slice(from[g] * block, block).CopyTo(destination.Slice(g * block, block));
    }
}
