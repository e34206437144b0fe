using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// Weights as 8-bit integers with one float scale per row (a weight matrix's output channel: PyTorch's per-channel symmetric
/// quantization, <c>PerChannelMinMaxObserver(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)</c> then
/// <c>torch.quantize_per_channel</c>): a row's scale is its largest magnitude over 127.5 (at least float32's epsilon), each value
/// <c>round(w · (1 / scale))</c>, ties to even, clamped to [−128, 127], and stands for <c>q · scale</c> (a float product, as
/// PyTorch's <c>dequantize</c> gives). A quarter of the memory of floats; the kernels that take <see cref="Weights"/> widen
/// the values as they read them (the blocked product to the very floats <see cref="Dequantize"/> gives; a one- or two-row
/// product sums the integers and scales each column's sum).
/// </summary>
public static class Int8
{
    /// <summary>The least scale (PyTorch's observers clamp to float32's epsilon, 2⁻²³): a row of zeros has it.</summary>
    public const float LeastScale = 1.1920929E-07f;

    /// <summary>The scale of a row: its largest magnitude over 127.5, at least <see cref="LeastScale"/>.</summary>
    /// <exception cref="ArgumentException">The row holds a value that is not finite (no scale represents it).</exception>
    public static float Scale(ReadOnlySpan<float> row)
    {
        float most = row.IsEmpty ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        if (!float.IsFinite(most)) throw new ArgumentException($"Int8: a row holds {(float.IsNaN(most) ? "NaN" : "an infinity")}: 8-bit weights hold finite values only.", nameof(row));
        return MathF.Max(most / 127.5f, LeastScale);
    }

    /// <summary>
    /// Quantizes <paramref name="values"/>, rows of <paramref name="rowLength"/>, into <paramref name="destination"/> with a scale
    /// per row in <paramref name="scales"/> (<see cref="Scale"/>). A value that is not finite is refused before anything is written.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, int rowLength, Span<sbyte> destination, Span<float> scales)
    {
        int rows = Rows(values.Length, rowLength, destination.Length, scales.Length, "Quantize");
        Scale(values); // (refuses a value that is not finite before anything is written)
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = values.Slice(r * rowLength, rowLength);
            float scale = scales[r] = Scale(row);
            float inverse = 1f / scale;
            Span<sbyte> q = destination.Slice(r * rowLength, rowLength);
            for (int i = 0; i < row.Length; i++) q[i] = (sbyte)Math.Clamp(MathF.Round(row[i] * inverse), -128f, 127f);
        }
    }

    /// <summary>Widens <paramref name="values"/>, rows of <paramref name="rowLength"/> each times its scale, into <paramref name="destination"/>.</summary>
    public static unsafe void Dequantize(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int rowLength, Span<float> destination)
    {
        int rows = Rows(values.Length, rowLength, destination.Length, scales.Length, "Dequantize");
        fixed (sbyte* q = values)
        fixed (float* d = destination)
            for (int r = 0; r < rows; r++) Widen(q + (nint)r * rowLength, rowLength, scales[r], d + (nint)r * rowLength);
    }

    /// <summary>d[i] = q[i] · scale for <paramref name="count"/> values, a vector at a time (the same products one at a time).</summary>
    internal static unsafe void Widen(sbyte* q, int count, float scale, float* d)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> s = Vector128.Create(scale);
            for (; i + 16 <= count; i += 16)
            {
                (Vector128<short> lo, Vector128<short> hi) = Vector128.Widen(Vector128.Load(q + i));
                (Vector128<int> a, Vector128<int> b) = Vector128.Widen(lo);
                (Vector128<int> c, Vector128<int> e) = Vector128.Widen(hi);
                (Vector128.ConvertToSingle(a) * s).Store(d + i);
                (Vector128.ConvertToSingle(b) * s).Store(d + i + 4);
                (Vector128.ConvertToSingle(c) * s).Store(d + i + 8);
                (Vector128.ConvertToSingle(e) * s).Store(d + i + 12);
            }
        }
        for (; i < count; i++) d[i] = q[i] * scale;
    }

    /// <summary>Four 8-bit values from <paramref name="p"/> times <paramref name="scale"/> (a 4-byte read: nothing past the four).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector128<float> Load4(sbyte* p, float scale) => Widen4(p) * Vector128.Create(scale);

    /// <summary>Four 8-bit values from <paramref name="p"/> as floats (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector128<float> Widen4(sbyte* p) => Vector128.ConvertToSingle(Sse41.IsSupported
        ? Sse41.ConvertToVector128Int32(p) // (one instruction that reads the four bytes and sign-extends them)
        : Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<int>(p)).AsSByte())));

    private static int Rows(int values, int rowLength, int destination, int scales, string what)
    {
        if (rowLength <= 0 || values % rowLength != 0)
            throw new ArgumentException($"Int8.{what}: expected whole rows of a positive length; got {values} values in rows of {rowLength}.", nameof(rowLength));
        int rows = values / rowLength;
        if (destination < values || scales < rows)
            throw new ArgumentException($"Int8.{what}: {rows} rows of {rowLength} need {values} values and {rows} scales; got room for {destination} and {scales}.");
        return rows;
    }
}
