using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// Weights as 4-bit integers with one float scale per group of consecutive values along a row (block-wise symmetric
/// quantization: ONNX Runtime's <c>MatMulNBits</c> without zero points, llama.cpp's <c>Q4_0</c> with float scales). A group's
/// scale is its value of the largest magnitude, sign kept, over −8 (so that value is −8 exactly; <see cref="Scale"/>); each value
/// <c>q = clamp(round(w · (1 / scale) + 8), 0, 15)</c>, rounded half away from zero (a group of zeros: scale 0, every q 8),
/// and stands for <c>(q − 8) · scale</c>, a float product — the rule and the arithmetic of ONNX Runtime's block quantizer
/// (MLAS's <c>BlockwiseQuantizer</c>, symmetric). An eighth of the memory of floats, plus a scale a group.
/// </summary>
/// <remarks>
/// Layout: each block of <see cref="Block"/> values as 16 bytes, byte i holding value i in its low four bits and value i + 16
/// in its high four (llama.cpp's order, which a vector of bytes widens into two vectors of values with a mask and a shift);
/// a group is one or more blocks. The values' rows are a whole number of groups, so no group spans two rows.
/// </remarks>
public static class Int4
{
    /// <summary>Values per block of 16 bytes.</summary>
    public const int Block = 32;

    /// <summary>The group size <see cref="ParameterSet.HoldWeightsIn(Precision, int)"/> takes unless told (llama.cpp's Q4_0).</summary>
    public const int DefaultGroupSize = 32;

    /// <summary>Whether <paramref name="groupSize"/> is one that 4-bit weights take: 32, 64, 128 or 256 values.</summary>
    public static bool IsGroupSize(int groupSize) => groupSize is 32 or 64 or 128 or 256;

    /// <summary>Bytes that <paramref name="count"/> values (a whole number of blocks) take.</summary>
    public static int Bytes(int count) => count / 2;

    /// <summary>
    /// The scale of a group: its value of the largest magnitude, sign kept, over −8 — the group's maximum where its magnitude
    /// exceeds the minimum's, else the minimum (as ONNX Runtime's quantizer chooses).
    /// </summary>
    /// <exception cref="ArgumentException">The group holds a value that is not finite.</exception>
    public static float Scale(ReadOnlySpan<float> group)
    {
        float min = 0f, max = 0f;
        if (!group.IsEmpty) (min, max) = (float.MaxValue, float.MinValue);
        foreach (float v in group)
        {
            if (!float.IsFinite(v)) throw new ArgumentException($"Int4: a group holds {(float.IsNaN(v) ? "NaN" : "an infinity")}: 4-bit weights hold finite values only.", nameof(group));
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }
        return (MathF.Abs(max) > MathF.Abs(min) ? max : min) / -8f;
    }

    /// <summary>
    /// Quantizes <paramref name="values"/> (a whole number of groups of <paramref name="groupSize"/>) into
    /// <paramref name="destination"/> (<see cref="Bytes"/> of them), a scale per group in <paramref name="scales"/>. A value that
    /// is not finite is refused before anything is written.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, int groupSize, Span<byte> destination, Span<float> scales)
    {
        int groups = Groups(values.Length, groupSize, destination.Length, scales.Length, quantizing: true);
        foreach (float v in values)
            if (!float.IsFinite(v)) throw new ArgumentException($"Int4.Quantize: the values hold {(float.IsNaN(v) ? "NaN" : "an infinity")}: 4-bit weights hold finite values only.", nameof(values));
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<float> group = values.Slice(g * groupSize, groupSize);
            float scale = scales[g] = Scale(group);
            float inverse = scale != 0f ? 1f / scale : 0f;
            for (int b = 0; b < groupSize; b += Block)
            {
                Span<byte> d = destination.Slice((g * groupSize + b) / 2, Block / 2);
                for (int i = 0; i < Block / 2; i++)
                    d[i] = (byte)(Level(group[b + i], inverse) | Level(group[b + i + Block / 2], inverse) << 4);
            }
        }
    }

    /// <summary>
    /// Packs <paramref name="levels"/>, one 4-bit value (0 … 15, q + 8) a byte in the values' order and a whole number of
    /// blocks, into <paramref name="destination"/> in this layout (value i and i + 16 of a block in one byte).
    /// </summary>
    internal static void Pack(ReadOnlySpan<byte> levels, Span<byte> destination)
    {
        if (levels.Length % Block != 0 || destination.Length < Bytes(levels.Length))
            throw new ArgumentException($"Int4.Pack: {levels.Length} values (whole blocks of {Block}) into {destination.Length} bytes.");
        for (int b = 0; b < levels.Length; b += Block)
            for (int i = 0; i < Block / 2; i++)
                destination[b / 2 + i] = (byte)(levels[b + i] & 15 | (levels[b + Block / 2 + i] & 15) << 4);
    }

    /// <summary>A value's four bits: round(w · inverse + 8), half away from zero, clamped to [0, 15].</summary>
    private static int Level(float w, float inverse) => (int)Math.Clamp(MathF.Round(w * inverse + 8f, MidpointRounding.AwayFromZero), 0f, 15f);

    /// <summary>Widens <paramref name="values"/> (groups of <paramref name="groupSize"/>, each times its scale) into <paramref name="destination"/>.</summary>
    public static unsafe void Dequantize(ReadOnlySpan<byte> values, ReadOnlySpan<float> scales, int groupSize, Span<float> destination)
    {
        int count = values.Length * 2;
        Groups(count, groupSize, destination.Length, scales.Length, quantizing: false);
        fixed (byte* q = values)
        fixed (float* s = scales, d = destination)
            Widen(q, s, groupSize, count, d);
    }

    /// <summary>d[i] = (q_i − 8) · the scale of i's group for <paramref name="count"/> values (whole blocks) from the start of a group.</summary>
    internal static unsafe void Widen(byte* q, float* scales, int groupSize, int count, float* d)
    {
        for (int b = 0; b < count; b += Block)
        {
            float scale = scales[b / groupSize];
            byte* block = q + b / 2;
            int i = 0;
            if (Vector128.IsHardwareAccelerated)
            {
                Vector128<float> s = Vector128.Create(scale);
                for (; i < Block / 2; i += 4)
                {
                    (Vector128<float> low, Vector128<float> high) = Halves4(block + i);
                    (low * s).Store(d + b + i);
                    (high * s).Store(d + b + Block / 2 + i);
                }
            }
            for (; i < Block / 2; i++)
            {
                d[b + i] = ((block[i] & 15) - 8) * scale;
                d[b + Block / 2 + i] = ((block[i] >> 4) - 8) * scale;
            }
        }
    }

    /// <summary>Value <paramref name="i"/> (from the start of a block) of 4-bit values at <paramref name="q"/>: q − 8, unscaled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe int Get(byte* q, nint i)
    {
        nint inBlock = i & (Block - 1);
        byte b = q[(i - inBlock) / 2 + (inBlock & (Block / 2 - 1))];
        return (inBlock < Block / 2 ? b & 15 : b >> 4) - 8;
    }

    /// <summary>
    /// Values <paramref name="i"/> … i + 3 (i a multiple of 4, from the start of a block) of 4-bit values at <paramref name="q"/>,
    /// q − 8 as floats, unscaled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector128<float> Get4(byte* q, nint i)
    {
        nint inBlock = i & (Block - 1);
        (Vector128<float> low, Vector128<float> high) = Halves4(q + (i - inBlock) / 2 + (inBlock & (Block / 2 - 1)));
        return inBlock < Block / 2 ? low : high;
    }

    /// <summary>The four bytes at <paramref name="p"/> as the values of their low four bits and of their high four, each q − 8, as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe (Vector128<float> Low, Vector128<float> High) Halves4(byte* p)
    {
        (Vector128<float> low, Vector128<float> high) = Nibbles4(p);
        Vector128<float> eight = Vector128.Create(8f);
        return (low - eight, high - eight);
    }

    /// <summary>The four bytes at <paramref name="p"/> as the values of their low four bits and of their high four, q as it is (0 … 15), as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe (Vector128<float> Low, Vector128<float> High) Nibbles4(byte* p)
    {
        Vector128<int> x = Sse41.IsSupported
            ? Sse41.ConvertToVector128Int32(p) // (one instruction that reads the four bytes and zero-extends them)
            : Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte())).AsInt32();
        return (Vector128.ConvertToSingle(x & Vector128.Create(15)), Vector128.ConvertToSingle(Vector128.ShiftRightLogical(x, 4)));
    }

    /// <summary>The groups of <paramref name="values"/>, after refusing sizes that do not fit (the destination: bytes quantizing, floats widening).</summary>
    private static int Groups(int values, int groupSize, int destination, int scales, bool quantizing)
    {
        string what = quantizing ? "Quantize" : "Dequantize";
        if (!IsGroupSize(groupSize))
            throw new ArgumentException($"Int4.{what}: expected a group size of 32, 64, 128 or 256; got {groupSize}.", nameof(groupSize));
        if (values % groupSize != 0)
            throw new ArgumentException($"Int4.{what}: expected whole groups of {groupSize}; got {values} values.", nameof(values));
        int groups = values / groupSize;
        int need = quantizing ? Bytes(values) : values;
        if (destination < need || scales < groups)
            throw new ArgumentException($"Int4.{what}: {groups} groups of {groupSize} need {need} {(quantizing ? "bytes" : "floats")} and {groups} scales; got room for {destination} and {scales}.");
        return groups;
    }
}
