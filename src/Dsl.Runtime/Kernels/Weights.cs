using System;

namespace Dsl.Kernels;

/// <summary>
/// A weight matrix's values as a kernel reads them: floats, bfloat16 bits, 8-bit integers with one scale per row, or 4-bit
/// integers with one scale per group (a parameter held in less memory for inference: <see cref="Parameter.Precision"/>), which the kernels that take one widen as
/// they read (<see cref="Gemm"/>'s A · Bᵀ, <see cref="Layout.GatherRows(Weights, ReadOnlySpan{int}, int, Span{float}, float)"/>).
/// Floats convert to it implicitly, so a span passes where a <see cref="Weights"/> is taken.
/// </summary>
/// <remarks>
/// 8-bit weights are rows of <see cref="RowLength"/> values (a parameter's last dimension), row r's value i standing for
/// <c>values[r · RowLength + i] · scales[r]</c> (<see cref="Int8"/>). A slice keeps track of where in its first row it starts
/// (<see cref="Column"/>), so that a kernel finds each value's scale; a kernel reads such weights only by whole runs within a row.
/// 4-bit weights are groups of <see cref="GroupSize"/> values, each with its scale (<see cref="Int4"/>); a slice starts and ends
/// on a group's edge.
/// </remarks>
public readonly ref struct Weights
{
    private readonly ReadOnlySpan<float> _floats;
    private readonly ReadOnlySpan<ushort> _bits;
    private readonly ReadOnlySpan<sbyte> _int8;
    private readonly ReadOnlySpan<byte> _int4;
    private readonly ReadOnlySpan<float> _scales; // an 8-bit slice's: from the row its first value lies in; a 4-bit one's: its groups'

    private Weights(ReadOnlySpan<float> floats, ReadOnlySpan<ushort> bits, ReadOnlySpan<sbyte> int8, ReadOnlySpan<float> scales, Precision precision, int rowLength = 0, int column = 0,
        ReadOnlySpan<byte> int4 = default, int groupSize = 0)
    {
        _floats = floats;
        _bits = bits;
        _int8 = int8;
        _int4 = int4;
        _scales = scales;
        Precision = precision;
        RowLength = rowLength;
        Column = column;
        GroupSize = groupSize;
    }

    /// <summary>Weights held as bfloat16 bits.</summary>
    public static Weights FromBFloat16(ReadOnlySpan<ushort> bits) => new(default, bits, default, default, Precision.BFloat16);

    /// <summary>
    /// Weights held as 8-bit integers, rows of <paramref name="rowLength"/> values each times its own scale (<see cref="Int8.Quantize"/>):
    /// <paramref name="values"/> holds <paramref name="scales"/>.Length rows.
    /// </summary>
    public static Weights FromInt8(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int rowLength)
    {
        if (rowLength <= 0 || (long)scales.Length * rowLength != values.Length)
            throw new ArgumentException($"Weights.FromInt8: {values.Length} values in rows of {rowLength} need {(rowLength > 0 ? values.Length / rowLength : 0)} scales and a whole number of rows; got {scales.Length} scales.", nameof(scales));
        return new(default, default, values, scales, Precision.Int8, rowLength);
    }

    /// <summary>
    /// Weights held as 4-bit integers (<see cref="Int4.Quantize"/>'s layout: two a byte), groups of <paramref name="groupSize"/>
    /// values each times its own scale: <paramref name="values"/> holds <paramref name="scales"/>.Length groups.
    /// </summary>
    public static Weights FromInt4(ReadOnlySpan<byte> values, ReadOnlySpan<float> scales, int groupSize)
    {
        if (!Int4.IsGroupSize(groupSize) || (long)scales.Length * groupSize != 2L * values.Length)
            throw new ArgumentException($"Weights.FromInt4: {2L * values.Length} values in groups of {groupSize} (32, 64, 128 or 256) need {(groupSize > 0 ? 2L * values.Length / groupSize : 0)} scales and a whole number of groups; got {scales.Length} scales.", nameof(scales));
        return new(default, default, default, scales, Precision.Int4, int4: values, groupSize: groupSize);
    }

    /// <summary>How the values are held: floats, bfloat16 bits, 8-bit integers with a scale per row or 4-bit integers with a scale per group.</summary>
    public Precision Precision { get; }

    /// <summary>Whether the values are bfloat16 (<see cref="BFloat16Bits"/>).</summary>
    public bool IsBFloat16 => Precision == Precision.BFloat16;

    /// <summary>Whether the values are 8-bit integers with a scale per row (<see cref="Int8Values"/>, <see cref="Int8Scales"/>).</summary>
    public bool IsInt8 => Precision == Precision.Int8;

    /// <summary>Whether the values are 4-bit integers with a scale per group (<see cref="Int4Values"/>, <see cref="Int4Scales"/>).</summary>
    public bool IsInt4 => Precision == Precision.Int4;

    /// <summary>Number of values.</summary>
    public int Length => Precision switch { Precision.BFloat16 => _bits.Length, Precision.Int8 => _int8.Length, Precision.Int4 => 2 * _int4.Length, _ => _floats.Length };

    /// <summary>The values as floats; only when they are floats.</summary>
    public ReadOnlySpan<float> Floats => Precision == Precision.Float32 ? _floats
        : throw new InvalidOperationException($"These weights are held in {Describe(Precision)}: a kernel that reads floats cannot take them.");

    /// <summary>The values' bfloat16 bits; only when they are bfloat16.</summary>
    public ReadOnlySpan<ushort> BFloat16Bits => IsBFloat16 ? _bits
        : throw new InvalidOperationException($"These weights are {Describe(Precision)}, not bfloat16.");

    /// <summary>The 8-bit values; only when they are held so.</summary>
    public ReadOnlySpan<sbyte> Int8Values => IsInt8 ? _int8
        : throw new InvalidOperationException($"These weights are {Describe(Precision)}, not 8-bit integers.");

    /// <summary>The scales of 8-bit values, one per row from the row the first value lies in; only when they are held so.</summary>
    public ReadOnlySpan<float> Int8Scales => IsInt8 ? _scales
        : throw new InvalidOperationException($"These weights are {Describe(Precision)}, not 8-bit integers.");

    /// <summary>The 4-bit values, two a byte (<see cref="Int4"/>'s layout); only when they are held so.</summary>
    public ReadOnlySpan<byte> Int4Values => IsInt4 ? _int4
        : throw new InvalidOperationException($"These weights are {Describe(Precision)}, not 4-bit integers.");

    /// <summary>The scales of 4-bit values, one per group; only when they are held so.</summary>
    public ReadOnlySpan<float> Int4Scales => IsInt4 ? _scales
        : throw new InvalidOperationException($"These weights are {Describe(Precision)}, not 4-bit integers.");

    /// <summary>Values per group of 4-bit weights (each group one scale); 0 for others.</summary>
    public int GroupSize { get; }

    /// <summary>Values per row of 8-bit weights (each row one scale); 0 for others.</summary>
    public int RowLength { get; }

    /// <summary>Where in its first row an 8-bit slice starts (0 for whole rows, and for others).</summary>
    public int Column { get; }

    // (what a kernel pins: those not in use are empty)
    internal ReadOnlySpan<float> RawFloats => _floats;
    internal ReadOnlySpan<ushort> RawBits => _bits;
    internal ReadOnlySpan<sbyte> RawInt8 => _int8;
    internal ReadOnlySpan<byte> RawInt4 => _int4;
    internal ReadOnlySpan<float> RawScales => _scales;

    /// <summary>The values from <paramref name="start"/> on.</summary>
    public Weights Slice(int start) => Slice(start, Length - start);

    /// <summary><paramref name="length"/> values from <paramref name="start"/>.</summary>
    public Weights Slice(int start, int length)
    {
        switch (Precision)
        {
            case Precision.BFloat16: return new(default, _bits.Slice(start, length), default, default, Precision.BFloat16);
            case Precision.Int8:
                ReadOnlySpan<sbyte> values = _int8.Slice(start, length); // (checks the range before the scales move)
                int from = Column + start;
                return new(default, default, values, _scales.Slice(from / RowLength), Precision.Int8, RowLength, from % RowLength);
            case Precision.Int4:
                if (start < 0 || length < 0 || (long)start + length > Length || start % GroupSize != 0 || length % GroupSize != 0)
                    throw new ArgumentOutOfRangeException(nameof(start), $"Weights: 4-bit weights in groups of {GroupSize} are cut on a group's edge; got {length} values from {start} of {Length}.");
                return new(default, default, default, _scales.Slice(start / GroupSize, length / GroupSize), Precision.Int4, int4: _int4.Slice(start / 2, length / 2), groupSize: GroupSize);
            default: return new(_floats.Slice(start, length), default, default, default, Precision.Float32);
        }
    }

    /// <summary>
    /// The step between the scales of rows <paramref name="ld"/> values apart of which a kernel reads <paramref name="count"/>
    /// values each (8-bit weights: each run must lie within one of the weights' rows, whose scale it takes); refuses a read
    /// that does not, naming <paramref name="what"/>.
    /// </summary>
    internal int ScaleStride(long ld, int count, string what)
    {
        if (ld % RowLength != 0 || Column + count > RowLength)
            throw new ArgumentException($"{what}: 8-bit weights in rows of {RowLength} (a scale each) are read as runs of {count} values {ld} apart from column {Column}: "
                + "each run must lie within one of their rows.");
        return (int)(ld / RowLength);
    }

    /// <summary>A precision in words (an error message's).</summary>
    internal static string Describe(Precision precision) => precision switch
    {
        Precision.BFloat16 => "bfloat16",
        Precision.Int8 => "8-bit integers",
        Precision.Int4 => "4-bit integers",
        _ => "float32",
    };

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(ReadOnlySpan<float> floats) => new(floats, default, default, default, Precision.Float32);

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(Span<float> floats) => new(floats, default, default, default, Precision.Float32);

    /// <summary>Float weights.</summary>
    public static implicit operator Weights(float[]? floats) => new(floats, default, default, default, Precision.Float32);
}
