using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// bfloat16 values as their 16 bits (a float's sign, exponent and top seven mantissa bits: PyTorch's <c>torch.bfloat16</c>, the
/// type most published checkpoints are stored in). Widening is exact (the bits shifted into a float's top half); narrowing
/// rounds to nearest, ties to even, as PyTorch's <c>tensor.to(torch.bfloat16)</c> does, and keeps a NaN a NaN.
/// </summary>
public static class BFloat16
{
    /// <summary>The float <paramref name="bits"/> stand for (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary><paramref name="value"/> rounded to the nearest bfloat16, ties to even; a NaN stays a (quiet) NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x40); // NaN: quieted, never rounded to infinity
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Widens <paramref name="bits"/> into <paramref name="destination"/> (exact), a vector at a time.</summary>
    public static void ToFloat(ReadOnlySpan<ushort> bits, Span<float> destination)
    {
        if (destination.Length < bits.Length)
            throw new ArgumentException($"BFloat16.ToFloat: the destination needs {bits.Length} values, got {destination.Length}.", nameof(destination));
        ref ushort s = ref MemoryMarshal.GetReference(bits);
        ref uint d = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
        int i = 0, n = bits.Length;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                (lo << 16).StoreUnsafe(ref d, (nuint)i);
                (hi << 16).StoreUnsafe(ref d, (nuint)i + 8);
            }
        else if (Vector128.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
            {
                (Vector128<uint> lo, Vector128<uint> hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                (lo << 16).StoreUnsafe(ref d, (nuint)i);
                (hi << 16).StoreUnsafe(ref d, (nuint)i + 4);
            }
        for (; i < n; i++) Unsafe.Add(ref d, i) = (uint)Unsafe.Add(ref s, i) << 16;
    }

    /// <summary>Rounds <paramref name="values"/> into <paramref name="destination"/> (nearest, ties to even; NaN kept), a vector at a time.</summary>
    public static void FromFloat(ReadOnlySpan<float> values, Span<ushort> destination)
    {
        if (destination.Length < values.Length)
            throw new ArgumentException($"BFloat16.FromFloat: the destination needs {values.Length} values, got {destination.Length}.", nameof(destination));
        ref uint s = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        ref ushort d = ref MemoryMarshal.GetReference(destination);
        int i = 0, n = values.Length;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                Vector256.Narrow(Round(Vector256.LoadUnsafe(ref s, (nuint)i)), Round(Vector256.LoadUnsafe(ref s, (nuint)i + 8))).StoreUnsafe(ref d, (nuint)i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                Vector128.Narrow(Round(Vector128.LoadUnsafe(ref s, (nuint)i)), Round(Vector128.LoadUnsafe(ref s, (nuint)i + 4))).StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = FromFloat(BitConverter.UInt32BitsToSingle(Unsafe.Add(ref s, i)));
    }

    // As FromFloat(float), lane by lane: the rounded bits in each lane's low half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> bits)
    {
        Vector256<uint> rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        Vector256<uint> nan = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(nan, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Round(Vector128<uint> bits)
    {
        Vector128<uint> rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
        Vector128<uint> nan = Vector128.GreaterThan(bits & Vector128.Create(0x7FFF_FFFFu), Vector128.Create(0x7F80_0000u));
        return Vector128.ConditionalSelect(nan, (bits >> 16) | Vector128.Create(0x40u), rounded);
    }

    /// <summary>Four bfloat16 values from <paramref name="p"/> widened (an 8-byte read: nothing past the four).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector128<float> Load4(ushort* p) =>
        (Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)p).AsUInt16()) << 16).AsSingle();
}

/// <summary>
/// A weight matrix's values as a kernel reads them: floats, or bfloat16 bits (a parameter held in half the memory for
/// inference: <see cref="Parameter.Precision"/>), which the kernels that take one widen as they read (<see cref="Gemm"/>'s
/// A · Bᵀ, <see cref="Layout.GatherRows(Weights, ReadOnlySpan{int}, int, Span{float}, float)"/>). Floats convert to it
/// implicitly, so a span passes where a <see cref="Weights"/> is taken.
/// </summary>
public readonly ref struct Weights
{
    private readonly ReadOnlySpan<float> _floats;
    private readonly ReadOnlySpan<ushort> _bits;

    private Weights(ReadOnlySpan<float> floats, ReadOnlySpan<ushort> bits, bool isBFloat16)
    {
        _floats = floats;
        _bits = bits;
        IsBFloat16 = isBFloat16;
    }

    /// <summary>Weights held as bfloat16 bits.</summary>
    public static Weights FromBFloat16(ReadOnlySpan<ushort> bits) => new(default, bits, true);

    /// <summary>Whether the values are bfloat16 (<see cref="BFloat16Bits"/>) rather than floats (<see cref="Floats"/>).</summary>
    public bool IsBFloat16 { get; }

    /// <summary>Number of values.</summary>
    public int Length => IsBFloat16 ? _bits.Length : _floats.Length;

    /// <summary>The values as floats; only when they are floats.</summary>
    public ReadOnlySpan<float> Floats => !IsBFloat16 ? _floats
        : throw new InvalidOperationException("These weights are held in bfloat16: a kernel that reads floats cannot take them.");

    /// <summary>The values' bfloat16 bits; only when they are bfloat16.</summary>
    public ReadOnlySpan<ushort> BFloat16Bits => IsBFloat16 ? _bits
        : throw new InvalidOperationException("These weights are floats, not bfloat16.");

    // (what a kernel pins: the one that is not in use is empty)
    internal ReadOnlySpan<float> RawFloats => _floats;
    internal ReadOnlySpan<ushort> RawBits => _bits;

    /// <summary>The values from <paramref name="start"/> on.</summary>
    public Weights Slice(int start) => IsBFloat16 ? new(default, _bits.Slice(start), true) : new(_floats.Slice(start), default, false);

    /// <summary><paramref name="length"/> values from <paramref name="start"/>.</summary>
    public Weights Slice(int start, int length) =>
        IsBFloat16 ? new(default, _bits.Slice(start, length), true) : new(_floats.Slice(start, length), default, false);

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(ReadOnlySpan<float> floats) => new(floats, default, false);

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(Span<float> floats) => new(floats, default, false);

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(float[]? floats) => new(floats, default, false);
}
