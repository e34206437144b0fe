using System;
using Dsl.Kernels;

namespace Dsl;

/// <summary>
/// A parameter's values held in less memory than floats for inference (<see cref="Parameter.Precision"/>): bfloat16 bits, 8-bit
/// integers with a scale per row, or 4-bit integers with a scale per group; pinned and on a cache line as floats are (a decoding step reads the weights where they lie).
/// </summary>
internal abstract class HeldValues
{
    /// <summary>How they are held.</summary>
    public abstract Precision Precision { get; }

    /// <summary>Number of values.</summary>
    public abstract int Length { get; }

    /// <summary>The values as the kernels that widen them read them.</summary>
    public abstract Weights Weights { get; }

    /// <summary>The floats the values stand for, into <paramref name="destination"/> (<see cref="Length"/> or more).</summary>
    public abstract void CopyTo(Span<float> destination);

    /// <summary>Sets the values from <paramref name="source"/> (<see cref="Length"/> of them), rounded or quantized.</summary>
    public abstract void CopyFrom(ReadOnlySpan<float> source);

    /// <summary>
    /// <paramref name="values"/> held in <paramref name="precision"/> (8-bit: rows of <paramref name="rowLength"/>, a scale each;
    /// 4-bit: groups of <paramref name="groupSize"/>, a scale each).
    /// </summary>
    public static HeldValues Of(Precision precision, ReadOnlySpan<float> values, int rowLength, int groupSize = Int4.DefaultGroupSize)
    {
        HeldValues held = precision switch
        {
            Precision.BFloat16 => new BFloat16Held(values.Length),
            Precision.Int8 => new Int8Held(values.Length, rowLength),
            Precision.Int4 => new Int4Held(values.Length, groupSize),
            _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Precision.BFloat16, Precision.Int8 or Precision.Int4."),
        };
        held.CopyFrom(values);
        return held;
    }

    /// <summary>
    /// 8-bit values held as given, not quantized here (a quantized checkpoint's own): <paramref name="values"/> and
    /// <paramref name="scales"/> (one per row of <paramref name="rowLength"/>) are where the caller writes them.
    /// </summary>
    public static HeldValues OfInt8(int length, int rowLength, out Span<sbyte> values, out Span<float> scales)
    {
        var held = new Int8Held(length, rowLength);
        values = held.Values;
        scales = held.Scales;
        return held;
    }

    /// <summary>
    /// 4-bit values held as given, not quantized here (a quantized checkpoint's own): <paramref name="values"/> (<see cref="Int4"/>'s
    /// layout) and <paramref name="scales"/> (one per group of <paramref name="groupSize"/>) are where the caller writes them.
    /// </summary>
    public static HeldValues OfInt4(int length, int groupSize, out Span<byte> values, out Span<float> scales)
    {
        var held = new Int4Held(length, groupSize);
        values = held.Values;
        scales = held.Scales;
        return held;
    }

    /// <summary>A pinned array of <paramref name="length"/> values with room to start on a 64-byte boundary, and that start.</summary>
    protected static unsafe T[] Pinned<T>(int length, out int origin) where T : unmanaged
    {
        int perLine = 64 / sizeof(T);
        T[] values = GC.AllocateUninitializedArray<T>(length + perLine - 1, pinned: true);
        fixed (T* p = values)
            origin = (int)(((64 - (nint)p % 64) % 64) / sizeof(T));
        return values;
    }

    private sealed class BFloat16Held : HeldValues
    {
        private readonly ushort[] _bits;
        private readonly int _origin, _length;

        public BFloat16Held(int length)
        {
            _length = length;
            _bits = Pinned<ushort>(length, out _origin);
        }

        private Span<ushort> Bits => _bits.AsSpan(_origin, _length);
        public override Precision Precision => Precision.BFloat16;
        public override int Length => _length;
        public override Weights Weights => Weights.FromBFloat16(Bits);
        public override void CopyTo(Span<float> destination) => BFloat16.ToFloat(Bits, destination);
        public override void CopyFrom(ReadOnlySpan<float> source) => BFloat16.FromFloat(source, Bits);
    }

    private sealed class Int8Held : HeldValues
    {
        private readonly sbyte[] _values;
        private readonly float[] _scales;
        private readonly int _origin, _length, _rowLength;

        public Int8Held(int length, int rowLength)
        {
            _length = length;
            _rowLength = rowLength;
            _values = Pinned<sbyte>(length, out _origin);
            _scales = GC.AllocateUninitializedArray<float>(length / rowLength, pinned: true);
        }

        public Span<sbyte> Values => _values.AsSpan(_origin, _length);
        public Span<float> Scales => _scales;
        public override Precision Precision => Precision.Int8;
        public override int Length => _length;
        public override Weights Weights => Weights.FromInt8(Values, _scales, _rowLength);
        public override void CopyTo(Span<float> destination) => Int8.Dequantize(Values, _scales, _rowLength, destination);
        public override void CopyFrom(ReadOnlySpan<float> source) => Int8.Quantize(source, _rowLength, Values, _scales);
    }

    private sealed class Int4Held : HeldValues
    {
        private readonly byte[] _values;
        private readonly float[] _scales;
        private readonly int _origin, _length, _groupSize;

        public Int4Held(int length, int groupSize)
        {
            _length = length;
            _groupSize = groupSize;
            _values = Pinned<byte>(Int4.Bytes(length), out _origin);
            _scales = GC.AllocateUninitializedArray<float>(length / groupSize, pinned: true);
        }

        public Span<byte> Values => _values.AsSpan(_origin, Int4.Bytes(_length));
        public Span<float> Scales => _scales;
        public override Precision Precision => Precision.Int4;
        public override int Length => _length;
        public override Weights Weights => Weights.FromInt4(Values, _scales, _groupSize);
        public override void CopyTo(Span<float> destination) => Int4.Dequantize(Values, _scales, _groupSize, destination);
        public override void CopyFrom(ReadOnlySpan<float> source) => Int4.Quantize(source, _groupSize, Values, _scales);
    }
}
