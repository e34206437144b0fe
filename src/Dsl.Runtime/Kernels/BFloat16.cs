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
