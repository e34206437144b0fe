using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dsl;

/// <summary>Element types a safetensors file may hold that Dsl reads.</summary>
public enum SafeTensorsDType
{
    /// <summary>32-bit IEEE float.</summary>
    F32,
    /// <summary>64-bit IEEE float.</summary>
    F64,
    /// <summary>16-bit IEEE float.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>32-bit signed integer.</summary>
    I32,
    /// <summary>64-bit signed integer.</summary>
    I64,
    /// <summary>Booleans, one byte each (0 or 1): the causal-mask buffers older checkpoints keep (GPT-NeoX's <c>attention.bias</c>).</summary>
    BOOL,
    /// <summary>8-bit unsigned integer.</summary>
    U8,
    /// <summary>8-bit signed integer.</summary>
    I8,
    /// <summary>16-bit signed integer.</summary>
    I16,
}

/// <summary>One tensor read from a safetensors file: its type, shape and raw little-endian bytes.</summary>
public sealed class SafeTensor
{
    private readonly byte[]? _data;
    private readonly float[]? _floats;
    private readonly FileRange? _range; // a tensor left in its file (SafeTensors.Index): read when its values are asked for
    private readonly float[]? _scales; // of integers that stand for floats (a quantized checkpoint's weight): one per group of a row's columns, one per row, or one for all
    private readonly bool _offsetBinary; // those integers stored as q + 2^(bits − 1) (compressed-tensors' packing into int32s)
    private readonly int _bits; // of each integer: 8 (a byte each) or 4 (two to a byte, the first in the low half)
    private readonly long _group; // columns per scale: the row's length for a scale per row or one for all

    /// <summary>
    /// Where a tensor's bytes lie in a file: <see cref="Length"/> bytes from <see cref="Offset"/>, in the file of
    /// <see cref="FileLength"/> bytes last written at <see cref="Written"/> when its header was read.
    /// </summary>
    internal sealed record FileRange(string Path, long Offset, long Length, long FileLength, DateTime Written);

    internal SafeTensor(string name, SafeTensorsDType dtype, long[] shape, byte[] data)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        _data = data;
    }

    /// <summary>An F32 tensor of more bytes than one byte array holds, read as floats (one array holds 4 times as many bytes so).</summary>
    internal SafeTensor(string name, long[] shape, float[] floats)
    {
        Name = name;
        DType = SafeTensorsDType.F32;
        Shape = shape;
        _floats = floats;
    }

    /// <summary>Integers in <paramref name="values"/>' bytes read as the floats they stand for, each times its scale (<see cref="Quantized"/>).</summary>
    private SafeTensor(SafeTensor values, string name, long[] shape, float[] scales, bool offsetBinary, int bits, long group)
    {
        Name = name;
        DType = SafeTensorsDType.I8;
        Shape = shape;
        _data = values._data;
        _range = values._range;
        _scales = scales;
        _offsetBinary = offsetBinary;
        _bits = bits;
        _group = group;
    }

    /// <summary>
    /// This tensor's bytes read as integers of <paramref name="bits"/> (8: a byte each; 4: two to a byte, the first in the low
    /// half) of <paramref name="shape"/> under <paramref name="name"/>, as the floats they stand for: each value times its
    /// scale, <paramref name="scales"/> holding one per row of the last dimension, one per equal group of a row's columns
    /// (row after row), or one for all — as a quantized checkpoint's weights (compressed-tensors' symmetric integers) are
    /// dequantized; 8-bit integers with a scale per row or one go to a parameter held in 8 bits as they are. With
    /// <paramref name="offsetBinary"/> each value is stored as q + 2^(bits − 1) (compressed-tensors' <c>weight_packed</c>, packed
    /// into int32s little-endian: the values in the columns' order).
    /// </summary>
    internal SafeTensor Quantized(string name, long[] shape, float[] scales, bool offsetBinary, int bits = 8)
    {
        long count = 1;
        foreach (long d in shape) count *= d;
        if (bits is not (8 or 4) || bits == 4 && !offsetBinary || shape.Length == 0 || shape[^1] == 0 || shape[^1] * bits % 8 != 0 || count * bits / 8 != ElementCount * ValueBytes)
            throw new InvalidOperationException($"Tensor '{Name}' holds {ElementCount * ValueBytes} bytes; {bits}-bit integers {Shapes.Format<long>(shape)} take {count * bits / 8.0}.");
        long columns = shape[^1], rows = count / columns;
        long group = scales.Length == 1 || scales.Length == rows ? columns
            : scales.Length % rows == 0 && columns % (scales.Length / rows) == 0 ? columns / (scales.Length / rows)
            : throw new ArgumentException($"Tensor '{name}': {scales.Length} scales for {rows} rows of {columns} (one per row, per equal group of a row's columns, or one for all).", nameof(scales));
        return new SafeTensor(this, name, shape, scales, offsetBinary, bits, group);
    }

    /// <summary>Whether the values are 8-bit integers read with a scale per row or one (<see cref="Quantized"/>): what a parameter held in 8 bits takes as it is.</summary>
    internal bool IsQuantized => _scales is not null && _bits == 8 && _group == Shape[^1];

    /// <summary>
    /// Whether the values are 4-bit integers (stored as q + 8) whose scales each cover whole groups of <paramref name="groupSize"/>
    /// of a row's columns (a scale per group of that size or a multiple of it, per row or one for all, the rows whole groups):
    /// what a parameter held in 4 bits in those groups takes as it is, each of its groups the scale of the one it lies in.
    /// </summary>
    internal bool IsQuantizedInGroupsOf(int groupSize) => _scales is not null && _bits == 4 && _offsetBinary && _group % groupSize == 0 && Shape[^1] % groupSize == 0;

    /// <summary>
    /// The 4-bit integers <paramref name="first"/> … of a quantized tensor as they are stored (q + 8: 0 … 15), one a byte, into
    /// <paramref name="destination"/> (an even <paramref name="first"/> and length).
    /// </summary>
    internal void CopyInt4To(long first, Span<byte> destination)
    {
        if (_bits != 4 || first % 2 != 0 || destination.Length % 2 != 0) throw new InvalidOperationException($"Tensor '{Name}' is not read as 4-bit integers from value {first}, {destination.Length} of them.");
        if (first < 0 || first + destination.Length > ElementCount)
            throw new ArgumentOutOfRangeException(nameof(first), $"Values {first} … {first + destination.Length - 1} of tensor '{Name}' lie past its {ElementCount}.");
        Span<byte> bytes = destination.Slice(destination.Length / 2);
        if (_range is not { } r) _data.AsSpan(checked((int)(first / 2)), bytes.Length).CopyTo(bytes);
        else
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle file = OpenRange();
            ReadRange(file, r.Offset + first / 2, bytes);
        }
        // (the bytes read into the destination's second half, then spread from the front: each byte's halves land at or before it)
        for (int i = 0; i < bytes.Length; i++)
        {
            int pair = bytes[i];
            destination[2 * i] = (byte)(pair & 0xF);
            destination[2 * i + 1] = (byte)(pair >> 4);
        }
    }

    /// <summary>The scale of value <paramref name="element"/> (flat) of a quantized tensor.</summary>
    internal float ScaleAt(long element)
    {
        if (_scales!.Length == 1) return _scales[0];
        long columns = Shape[^1];
        return _scales[element / columns * (columns / _group) + element % columns / _group];
    }

    /// <summary>The 8-bit integers <paramref name="first"/> … of a quantized tensor as they are, into <paramref name="destination"/>.</summary>
    internal void CopyInt8To(long first, Span<sbyte> destination)
    {
        if (DType != SafeTensorsDType.I8 || _bits == 4) throw new InvalidOperationException($"Tensor '{Name}' holds {DType}, not 8-bit integers.");
        if (first < 0 || first + destination.Length > ElementCount)
            throw new ArgumentOutOfRangeException(nameof(first), $"Values {first} … {first + destination.Length - 1} of tensor '{Name}' lie past its {ElementCount}.");
        if (_range is not { } r) MemoryMarshal.Cast<byte, sbyte>(_data.AsSpan(checked((int)first), destination.Length)).CopyTo(destination);
        else
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle file = OpenRange();
            ReadRange(file, r.Offset + first, MemoryMarshal.AsBytes(destination));
        }
        if (_offsetBinary)
            foreach (ref sbyte q in destination) q = (sbyte)(q ^ unchecked((sbyte)0x80)); // (q + 128 as a byte: its top bit flipped)
    }

    /// <summary>A tensor whose bytes stay in its file until its values are asked for (<see cref="SafeTensors.Index"/>).</summary>
    internal SafeTensor(string name, SafeTensorsDType dtype, long[] shape, FileRange range)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        _range = range;
    }

    /// <summary>The values of a tensor read as floats (past one byte array's length), without a copy; empty for the others.</summary>
    internal ReadOnlySpan<float> HeldFloats => _floats;

    /// <summary>The tensor's name in the file.</summary>
    public string Name { get; }

    /// <summary>The element type in the file.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The dimensions.</summary>
    public long[] Shape { get; }

    /// <summary>The raw bytes, little-endian.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more bytes than one array holds (an F32 tensor of over 537 M
    /// values): read its values with <see cref="ToFloat"/>.</exception>
    public byte[] Data => _data ?? (_range is { } r && r.Length <= Array.MaxLength ? ReadRange(r.Length) : throw new InvalidOperationException(
        $"Tensor '{Name}' has {_range?.Length ?? ElementCount * 4L} bytes, more than one byte array holds ({Array.MaxLength}); read its values with ToFloat()."));

    /// <summary>All the bytes of a tensor left in its file, read now.</summary>
    private byte[] ReadRange(long count)
    {
        var bytes = new byte[count];
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = OpenRange();
        ReadRange(file, _range!.Offset, bytes);
        return bytes;
    }

    /// <summary>
    /// The file of a tensor left in it, opened to read, checked to be the file its header was read from (its length and the time it
    /// was last written): a file replaced or changed since is named, not read.
    /// </summary>
    private Microsoft.Win32.SafeHandles.SafeFileHandle OpenRange()
    {
        FileRange r = _range!;
        Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(r.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (RandomAccess.GetLength(file) != r.FileLength || File.GetLastWriteTimeUtc(r.Path) != r.Written)
        {
            file.Dispose();
            throw Changed();
        }
        return file;
    }

    private InvalidDataException Changed() =>
        new($"Invalid safetensors file '{_range!.Path}': it changed after its header was read, before tensor '{Name}' was (read it again).");

    private void ReadRange(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, Span<byte> into)
    {
        for (int done = 0; done < into.Length;)
        {
            int n = RandomAccess.Read(file, into.Slice(done), offset + done);
            if (n == 0) throw Changed();
            done += n;
        }
    }

    /// <summary>The bytes one value takes in the file.</summary>
    private int ValueBytes => DType switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>The most values one read of a tensor left in its file takes (16 M: 64 MB of F32); lowered by tests to read in several.</summary>
    internal static int ReadChunkValues = 1 << 24;

    /// <summary>
    /// Values <paramref name="first"/> … <paramref name="first"/> + <paramref name="destination"/>.Length − 1 converted to float into
    /// <paramref name="destination"/> (from F32, F64, F16 or BF16): a tensor left in its file reads those values' bytes alone (its file
    /// opened once), F32 straight into the destination and the others a block at a time — what a loader copies a parameter's rows with,
    /// no copy of the whole tensor.
    /// </summary>
    internal void CopyFloatsTo(long first, Span<float> destination)
    {
        if (!IsFloatingPoint) throw NotFloat();
        if (first < 0 || first + destination.Length > ElementCount)
            throw new ArgumentOutOfRangeException(nameof(first), $"Values {first} … {first + destination.Length - 1} of tensor '{Name}' lie past its {ElementCount}.");
        if (_bits == 4)
        {
            CopyFourBitFloatsTo(first, destination);
            return;
        }
        if (_range is not { } r)
        {
            if (_floats is not null) _floats.AsSpan(checked((int)first), destination.Length).CopyTo(destination);
            else Convert(_data.AsSpan(checked((int)(first * ValueBytes)), destination.Length * ValueBytes), destination, first);
            return;
        }
        int size = ValueBytes, chunk = Math.Max(1, ReadChunkValues);
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = OpenRange();
        if (DType == SafeTensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            // (in reads of at most a chunk: a span of bytes counts them in an int)
            for (int at = 0; at < destination.Length; at += chunk)
                ReadRange(file, r.Offset + (first + at) * 4, MemoryMarshal.AsBytes(destination.Slice(at, Math.Min(chunk, destination.Length - at))));
            return;
        }
        int block = Math.Min(chunk, 1 << 18); // (values a block: 2 MB of F64, 512 KB of F16 and BF16)
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(block, destination.Length) * size);
        try
        {
            for (int at = 0; at < destination.Length; at += block)
            {
                int n = Math.Min(block, destination.Length - at);
                Span<byte> bytes = buffer.AsSpan(0, n * size);
                ReadRange(file, r.Offset + (first + at) * size, bytes);
                Convert(bytes, destination.Slice(at, n), first + at);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>4-bit values <paramref name="first"/> … as the floats they stand for (their bytes read at once: a parameter's rows, half a byte each).</summary>
    private void CopyFourBitFloatsTo(long first, Span<float> destination)
    {
        if (destination.IsEmpty) return;
        long from = first / 2, to = (first + destination.Length + 1) / 2;
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(checked((int)(to - from)));
        try
        {
            Span<byte> bytes = buffer.AsSpan(0, (int)(to - from));
            if (_range is not { } r) _data.AsSpan(checked((int)from), bytes.Length).CopyTo(bytes);
            else
            {
                using Microsoft.Win32.SafeHandles.SafeFileHandle file = OpenRange();
                ReadRange(file, r.Offset + from, bytes);
            }
            int offset = _offsetBinary ? 8 : 0;
            for (int i = 0; i < destination.Length; i++)
            {
                long at = first + i;
                int pair = bytes[(int)(at / 2 - from)];
                destination[i] = (((at & 1) == 0 ? pair & 0xF : pair >> 4) - offset) * ScaleAt(at);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private InvalidDataException NotFloat() => new($"Tensor '{Name}' holds {DType}; expected a floating-point type (F32, F64, F16, BF16).");

    /// <summary>
    /// Little-endian values of this tensor's type, values <paramref name="first"/> … of it, converted to float (the type chosen
    /// once, not per value: a loader's whole checkpoint goes through here).
    /// </summary>
    private void Convert(ReadOnlySpan<byte> b, Span<float> into, long first)
    {
        switch (DType)
        {
            case SafeTensorsDType.I8 when _scales is not null:
                // a scale's run of columns at a time (a quantized matrix of a large model goes through here)
                long columns = Shape[^1];
                for (int i = 0; i < into.Length;)
                {
                    long at = first + i;
                    int n = (int)Math.Min(into.Length - i, _group - at % columns % _group);
                    float scale = ScaleAt(at);
                    for (int end = i + n; i < end; i++) into[i] = (sbyte)(b[i] ^ (_offsetBinary ? 0x80 : 0)) * scale;
                }
                break;
            case SafeTensorsDType.F32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, float>(b).Slice(0, into.Length).CopyTo(into);
                break;
            case SafeTensorsDType.F32:
                for (int i = 0; i < into.Length; i++) into[i] = BinaryPrimitives.ReadSingleLittleEndian(b.Slice(i * 4));
                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < into.Length; i++) into[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(b.Slice(i * 8));
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < into.Length; i++) into[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(b.Slice(i * 2));
                break;
            case SafeTensorsDType.BF16:
                for (int i = 0; i < into.Length; i++) into[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(i * 2)) << 16);
                break;
            default:
                throw NotFloat();
        }
    }

    /// <summary>
    /// Whether the values are floating-point (F32, F64, F16, BF16), or 8-bit integers read with their scales as the floats they
    /// stand for (a quantized checkpoint's weights), which parameters read; the others are integers or booleans.
    /// </summary>
    public bool IsFloatingPoint => DType is SafeTensorsDType.F32 or SafeTensorsDType.F64 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 || _scales is not null;

    /// <summary>Number of elements.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>The values converted to float (from F32, F64, F16 or BF16, or 8-bit integers with their scales).</summary>
    public float[] ToFloat()
    {
        var result = new float[ElementCount];
        CopyFloatsTo(0, result);
        return result;
    }

    /// <summary>
    /// Whether <paramref name="other"/> holds the same shape and values: the bytes compared where both have the same type
    /// (no copy of a large table), else the values as floats.
    /// </summary>
    internal bool SameValues(SafeTensor other)
    {
        if (!Shape.AsSpan().SequenceEqual(other.Shape)) return false;
        if (_floats is not null && other._floats is not null) return _floats.AsSpan().SequenceEqual(other._floats);
        if (_data is not null && other._data is not null && DType == other.DType && _scales is null && other._scales is null) return _data.AsSpan().SequenceEqual(other._data);
        // a block at a time (a tied table left in its file, a vocabulary by the width, is not converted whole, twice)
        const int Block = 1 << 20;
        long count = ElementCount;
        var mine = new float[(int)Math.Min(Block, count)];
        var theirs = new float[mine.Length];
        for (long at = 0; at < count; at += Block)
        {
            int n = (int)Math.Min(Block, count - at);
            CopyFloatsTo(at, mine.AsSpan(0, n));
            other.CopyFloatsTo(at, theirs.AsSpan(0, n));
            if (!mine.AsSpan(0, n).SequenceEqual(theirs.AsSpan(0, n))) return false;
        }
        return true;
    }

    private int Int32At(long value, int index) => value is >= int.MinValue and <= int.MaxValue ? (int)value
        : throw new InvalidDataException($"Tensor '{Name}': value {value} at index {index} does not fit an int (I64 read as int).");

    /// <summary>The values converted to int (from I32 or I64, each value checked to fit, or from BOOL, U8, I8 or I16).</summary>
    public int[] ToInt32()
    {
        var result = new int[ElementCount];
        ReadOnlySpan<byte> b = Data;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                SafeTensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(b.Slice(i * 4)),
                SafeTensorsDType.I64 => Int32At(BinaryPrimitives.ReadInt64LittleEndian(b.Slice(i * 8)), i),
                SafeTensorsDType.BOOL or SafeTensorsDType.U8 => b[i],
                SafeTensorsDType.I8 => (sbyte)b[i],
                SafeTensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(b.Slice(i * 2)),
                _ => throw new InvalidDataException($"Tensor '{Name}' holds {DType}; expected an integer type (I32, I64, I16, I8, U8 or BOOL)."),
            };
        }
        return result;
    }
}

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw data): the format PyTorch's
/// <c>safetensors.torch.save_file</c> writes and <c>load_file</c> reads.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header the format's reference reader accepts (huggingface/safetensors' MAX_HEADER_SIZE, 100 000 000 bytes): read and written alike.</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    /// <summary>Reads every tensor of a file, validating the header against the file's size.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static Dictionary<string, SafeTensor> Read(string path) => Read(path, out _);

    /// <summary>Reads every tensor from the bytes of a file; <paramref name="source"/> names it in errors.</summary>
    public static Dictionary<string, SafeTensor> Read(ReadOnlySpan<byte> bytes, string source) => Read(bytes, source, out _);

    /// <summary>Reads every tensor of a file and its <c>__metadata__</c> (string to string).</summary>
    /// <remarks>
    /// The file is read tensor by tensor, not whole: a file of 2 GiB or more (a large model's checkpoint with its optimiser
    /// state) reads as any other. A tensor of more bytes than one array holds reads when it is F32 (into one float array, as
    /// large as a <see cref="Parameter"/> can be); of another type it is refused.
    /// </remarks>
    public static Dictionary<string, SafeTensor> Read(string path, out Dictionary<string, string> metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        List<Entry> entries = ReadEntries(file, path, out long dataStart, out metadata);
        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (Entry e in entries)
        {
            if (e.End - e.Begin > MaxArrayBytes && e.DType == SafeTensorsDType.F32 && BitConverter.IsLittleEndian && (e.End - e.Begin) / 4 <= Array.MaxLength)
            {
                var floats = new float[(e.End - e.Begin) / 4];
                for (long start = 0; start < floats.Length; start += MaxArrayBytes / 4)
                {
                    Span<float> part = floats.AsSpan((int)start, (int)Math.Min(MaxArrayBytes / 4, floats.Length - start));
                    ReadAt(file, MemoryMarshal.AsBytes(part), dataStart + e.Begin + start * 4, e, path);
                }
                result.Add(e.Name, new SafeTensor(e.Name, e.Shape, floats));
                continue;
            }
            byte[] data = new byte[Checked(e, path)];
            ReadAt(file, data, dataStart + e.Begin, e, path);
            result.Add(e.Name, new SafeTensor(e.Name, e.DType, e.Shape, data));
        }
        return result;
    }

    /// <summary>Fills <paramref name="into"/> from <paramref name="offset"/> in the file (a read may return fewer bytes than asked).</summary>
    private static void ReadAt(FileStream file, Span<byte> into, long offset, Entry e, string path)
    {
        for (int done = 0; done < into.Length;)
        {
            int n = RandomAccess.Read(file.SafeFileHandle, into.Slice(done), offset + done);
            if (n == 0) throw Bad(path, $"the file ended while tensor '{e.Name}' was read (it changed while being read)");
            done += n;
        }
    }

    /// <summary>The most bytes one tensor's byte array holds (<see cref="Array.MaxLength"/>; lowered by tests to take the float path with small tensors).</summary>
    internal static long MaxArrayBytes = Array.MaxLength;

    /// <summary>Reads every tensor from the bytes of a file, and its <c>__metadata__</c>.</summary>
    public static Dictionary<string, SafeTensor> Read(ReadOnlySpan<byte> bytes, string source, out Dictionary<string, string> metadata)
    {
        ulong headerLength = HeaderLength(bytes, bytes.Length, source);
        ReadOnlySpan<byte> data = bytes.Slice(8 + (int)headerLength);
        List<Entry> entries = ParseHeader(bytes.Slice(8, (int)headerLength), data.Length, source, out metadata);
        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (Entry e in entries)
            result.Add(e.Name, new SafeTensor(e.Name, e.DType, e.Shape, data.Slice((int)e.Begin, Checked(e, source)).ToArray()));
        return result;
    }

    /// <summary>
    /// Every tensor of the safetensors file at <paramref name="path"/>, its header read and checked as <see cref="Read(string)"/> checks
    /// it, each tensor's bytes left in the file until its values are asked for: what the Hugging Face loaders read a checkpoint with,
    /// so that loading holds the model's values and the staged ones, not the file's bytes besides (a tensor's values are read again
    /// each time they are asked for; the file must stay as it is until then).
    /// </summary>
    internal static Dictionary<string, SafeTensor> Index(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long dataStart, length;
        List<Entry> entries;
        DateTime written;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            written = File.GetLastWriteTimeUtc(path);
            length = file.Length;
            entries = ReadEntries(file, path, out dataStart, out _);
        }
        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (Entry e in entries)
            result.Add(e.Name, new SafeTensor(e.Name, e.DType, e.Shape, new SafeTensor.FileRange(path, dataStart + e.Begin, e.End - e.Begin, length, written)));
        return result;
    }

    /// <summary>A file's header, read from its start and checked: its tensors' entries, where their data starts, its metadata.</summary>
    private static List<Entry> ReadEntries(FileStream file, string path, out long dataStart, out Dictionary<string, string> metadata)
    {
        long length = file.Length;
        Span<byte> prefix = stackalloc byte[8];
        int got = file.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        ulong headerLength = HeaderLength(prefix.Slice(0, got), length, path);
        byte[] header = new byte[headerLength];
        file.ReadExactly(header);
        dataStart = 8 + (long)headerLength;
        return ParseHeader(header, length - dataStart, path, out metadata);
    }

    /// <summary>One tensor the header describes: its dtype, shape and byte range in the data buffer.</summary>
    private sealed record Entry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End);

    /// <summary>The header's length from the file's first 8 bytes, checked against the format's limit and the file's <paramref name="fileLength"/>.</summary>
    private static ulong HeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source)
    {
        if (prefix.Length < 8 || fileLength < 8) throw Bad(source, $"the file is {fileLength} bytes long; a safetensors file starts with an 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw Bad(source, $"the header claims {headerLength} bytes; the format allows at most {MaxHeaderBytes}");
        if (headerLength > (ulong)(fileLength - 8))
            throw Bad(source, $"the header claims {headerLength} bytes but the file has {fileLength - 8} after the length");
        return headerLength;
    }

    /// <summary>A tensor's byte count as an array length: one array holds at most <see cref="MaxArrayBytes"/> bytes.</summary>
    private static int Checked(Entry e, string source) =>
        e.End - e.Begin <= MaxArrayBytes ? (int)(e.End - e.Begin)
            : throw Bad(source, $"tensor '{e.Name}' of dtype {e.DType} has {e.End - e.Begin} bytes; one tensor of that type can hold at most {MaxArrayBytes} here (an F32 tensor up to {Array.MaxLength} values)");

    /// <summary>Every tensor the header describes and its <c>__metadata__</c>, checked against <paramref name="dataLength"/> data bytes.</summary>
    private static List<Entry> ParseHeader(ReadOnlySpan<byte> header, long dataLength, string source, out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<Entry>();
        var ranges = new List<(long Begin, long End, string Name)>();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw Bad(source, "the header is not valid JSON: " + e.Message);
        }
        using (doc)
        {
            try
            {
                ReadHeader(doc, dataLength, source, metadata, result, ranges);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json checks a string's UTF-8 (and its \u escapes: a lone surrogate) only when it is read as text
                throw Bad(source, "the header holds a name or value that is not valid text: " + e.Message.TrimEnd('.'));
            }
        }
        CheckTiling(ranges, dataLength, source);
        return result;
    }

    /// <summary>The header's entries: the metadata, and each tensor's entry with its byte range.</summary>
    private static void ReadHeader(JsonDocument doc, long dataLength, string source, Dictionary<string, string> metadata, List<Entry> result,
        List<(long Begin, long End, string Name)> ranges)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(source, "the header is not a JSON object");
        foreach (JsonProperty entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                if (sawMetadata) throw Bad(source, "__metadata__ appears twice");
                sawMetadata = true;
                if (entry.Value.ValueKind != JsonValueKind.Object) throw Bad(source, "__metadata__ is not an object");
                foreach (JsonProperty m in entry.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String) throw Bad(source, $"__metadata__ value '{m.Name}' is not a string");
                    if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(source, $"__metadata__ key '{m.Name}' appears twice");
                }
                continue;
            }
            if (!names.Add(entry.Name)) throw Bad(source, $"tensor '{entry.Name}' appears twice in the header");
            Entry tensor = ReadEntry(entry, dataLength, source);
            result.Add(tensor);
            ranges.Add((tensor.Begin, tensor.End, entry.Name));
        }
    }

    /// <summary>
    /// The format's rule: the tensors' byte ranges cover the data buffer exactly, with no gap and no overlap (so a file
    /// cannot hide other content, nor two tensors share bytes).
    /// </summary>
    private static void CheckTiling(List<(long Begin, long End, string Name)> ranges, long dataLength, string source)
    {
        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long covered = 0;
        string? previous = null;
        foreach (var (begin, end, name) in ranges)
        {
            if (begin > covered)
                throw Bad(source, previous is null
                    ? $"the data bytes [0, {begin}) belong to no tensor (tensor '{name}' starts at {begin}); the tensors must cover the data buffer exactly"
                    : $"the data bytes [{covered}, {begin}) between tensor '{previous}' and tensor '{name}' belong to no tensor; the tensors must cover the data buffer exactly");
            if (begin < covered)
                throw Bad(source, $"tensor '{name}' (data_offsets [{begin}, {end}]) overlaps tensor '{previous}', which ends at {covered}");
            covered = end;
            previous = name;
        }
        if (covered != dataLength)
            throw Bad(source, $"the last {dataLength - covered} data bytes (from {covered} to the end of the file at {dataLength}) belong to no tensor; the tensors must cover the data buffer exactly");
    }

    private static Entry ReadEntry(JsonProperty entry, long dataLength, string source)
    {
        string name = entry.Name;
        JsonElement e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out JsonElement dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out JsonElement shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out JsonElement offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw Bad(source, $"tensor '{name}' needs 'dtype', 'shape' and 'data_offsets' [begin, end]");
        string dtypeText = dtypeEl.GetString()!;
        (SafeTensorsDType dtype, int size) = dtypeText switch
        {
            "F32" => (SafeTensorsDType.F32, 4),
            "F64" => (SafeTensorsDType.F64, 8),
            "F16" => (SafeTensorsDType.F16, 2),
            "BF16" => (SafeTensorsDType.BF16, 2),
            "I32" => (SafeTensorsDType.I32, 4),
            "I64" => (SafeTensorsDType.I64, 8),
            "BOOL" => (SafeTensorsDType.BOOL, 1),
            "U8" => (SafeTensorsDType.U8, 1),
            "I8" => (SafeTensorsDType.I8, 1),
            "I16" => (SafeTensorsDType.I16, 2),
            _ => throw Bad(source, $"tensor '{name}' has dtype {dtypeText}; supported: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL"),
        };
        var shape = new long[shapeEl.GetArrayLength()];
        // The byte count, computed in 128 bits so that no shape can overflow it; anything beyond the data is refused below.
        Int128 bytes = size;
        int i = 0;
        foreach (JsonElement d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long len) || len < 0)
                throw Bad(source, $"tensor '{name}' has the dimension {d.GetRawText()}; a dimension is a non-negative integer");
            shape[i++] = len;
            bytes *= len;
            if (bytes > dataLength) bytes = (Int128)dataLength + 1; // already too many: keep it so, without overflowing
        }
        JsonElement beginEl = offEl[0], endEl = offEl[1];
        if (beginEl.ValueKind != JsonValueKind.Number || endEl.ValueKind != JsonValueKind.Number
            || !beginEl.TryGetInt64(out long begin) || !endEl.TryGetInt64(out long end))
            throw Bad(source, $"tensor '{name}' has data_offsets [{beginEl.GetRawText()}, {endEl.GetRawText()}]; they must be integers");
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the {dataLength} data bytes");
        if (end - begin != bytes)
            throw Bad(source, bytes > dataLength
                ? $"tensor '{name}' of shape {Shapes.Format<long>(shape)} and dtype {dtypeText} needs more bytes than the file's {dataLength} data bytes"
                : $"tensor '{name}' of shape {Shapes.Format<long>(shape)} and dtype {dtypeText} needs {bytes} bytes but data_offsets give {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static InvalidDataException Bad(string source, string what) =>
        new($"'{source}' is not a valid safetensors file: {what}.");

    /// <summary>
    /// Writes float tensors to <paramref name="path"/> atomically: the bytes go to a temporary file
    /// beside it, are flushed to disk, and only then replace the old file. A failure leaves any
    /// previous file untouched.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)> tensors) =>
        Write(path, tensors, null);

    /// <summary>Writes float tensors and string <paramref name="metadata"/> (<c>__metadata__</c>) atomically.</summary>
    public static void Write(string path, IEnumerable<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)> tensors, IReadOnlyDictionary<string, string>? metadata) =>
        Write(path, tensors, metadata, null);

    /// <summary>The same, the tensors <paramref name="bfloat16"/> names written as BF16 (their values rounded: exact for values a bfloat16 parameter holds).</summary>
    internal static void Write(string path, IEnumerable<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)> tensors, IReadOnlyDictionary<string, string>? metadata,
        IReadOnlySet<string>? bfloat16)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, Writer(tensors, metadata, bfloat16));
    }

    /// <summary>
    /// What writes the file's bytes to a stream (for <see cref="AtomicFile"/>, alone or beside other files), its header built and
    /// checked first: a header no reader accepts (ours included) is refused before any file is touched.
    /// </summary>
    /// <remarks>
    /// The tensors <paramref name="bfloat16"/> names are written as BF16; those <paramref name="int8"/> holds are written as I8, its
    /// integers (their float values empty).
    /// </remarks>
    internal static Action<Stream> Writer(IEnumerable<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)> tensors, IReadOnlyDictionary<string, string>? metadata,
        IReadOnlySet<string>? bfloat16 = null, IReadOnlyDictionary<string, ReadOnlyMemory<sbyte>>? int8 = null)
    {
        var list = new List<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)>(tensors);
        byte[] header = BuildHeader(list, metadata, bfloat16, int8);
        if (header.Length > MaxHeaderBytes)
            throw new ArgumentException($"The header would take {header.Length} bytes (names, shapes and metadata); the format allows at most {MaxHeaderBytes}.", metadata is { Count: > 0 } ? nameof(metadata) : nameof(tensors));
        return stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            byte[] buffer = new byte[1 << 16];
            ushort[] bits = new ushort[buffer.Length / 2];
            void Written()
            {
                if (FailAfterBytesForTests is long limit && stream.Position > limit)
                    throw new IOException($"Simulated failure after {stream.Position} bytes (test hook).");
            }
            foreach (var t in list)
            {
                if (int8 is not null && int8.TryGetValue(t.Name, out ReadOnlyMemory<sbyte> integers))
                {
                    stream.Write(MemoryMarshal.AsBytes(integers.Span));
                    Written();
                    continue;
                }
                ReadOnlySpan<float> values = t.Values.Span;
                bool half = bfloat16?.Contains(t.Name) == true;
                for (int i = 0; i < values.Length;)
                {
                    int n = Math.Min(values.Length - i, buffer.Length / 4);
                    if (half)
                    {
                        Kernels.BFloat16.FromFloat(values.Slice(i, n), bits);
                        if (BitConverter.IsLittleEndian) stream.Write(MemoryMarshal.AsBytes(bits.AsSpan(0, n)));
                        else
                        {
                            for (int j = 0; j < n; j++) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(j * 2), bits[j]);
                            stream.Write(buffer, 0, n * 2);
                        }
                    }
                    else if (BitConverter.IsLittleEndian) stream.Write(MemoryMarshal.AsBytes(values.Slice(i, n))); // the file's byte order
                    else
                    {
                        for (int j = 0; j < n; j++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(j * 4), values[i + j]);
                        stream.Write(buffer, 0, n * 4);
                    }
                    i += n;
                    Written();
                }
            }
        };
    }

    /// <summary>Test hook: a write fails once it has written this many bytes, as a crash during a save would.</summary>
    internal static long? FailAfterBytesForTests;

    private static byte[] BuildHeader(List<(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values)> list, IReadOnlyDictionary<string, string>? metadata,
        IReadOnlySet<string>? bfloat16, IReadOnlyDictionary<string, ReadOnlyMemory<sbyte>>? int8)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            // "format": "pt" as PyTorch's tools write it, unless the caller gives its own
            string? format = null;
            if (metadata is not null && metadata.TryGetValue("format", out string? given)) format = given;
            w.WriteString("format", format ?? "pt");
            if (metadata is not null)
            {
                foreach (var (key, value) in metadata)
                {
                    // checked before the file is touched: a null is not a string, and no reader (ours, Python's) accepts it
                    if (value is null) throw new ArgumentException($"Metadata '{key}' is null; safetensors metadata values are strings.", nameof(metadata));
                    if (key != "format") w.WriteString(key, value);
                }
            }
            w.WriteEndObject();
            long offset = 0;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in list)
            {
                if (!seen.Add(t.Name)) throw new ArgumentException($"Tensor name '{t.Name}' appears twice.", "tensors");
                // checked before the file is touched: a header no reader accepts must not replace a good file
                if (t.Name == "__metadata__") throw new ArgumentException("A tensor cannot be named '__metadata__' (the header's metadata entry).", "tensors");
                long elements = Shapes.Count(t.Shape.Span);
                if (elements < 0) throw new ArgumentException($"Tensor '{t.Name}': shape {Shapes.Format(t.Shape.Span)} has a negative dimension.", "tensors");
                bool bytes = int8 is not null && int8.ContainsKey(t.Name), half = !bytes && bfloat16?.Contains(t.Name) == true;
                int count = bytes ? int8![t.Name].Length : t.Values.Length;
                if (elements != count)
                    throw new ArgumentException($"Tensor '{t.Name}': shape {Shapes.Format(t.Shape.Span)} holds {elements} values, got {count}.", "tensors");
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", bytes ? "I8" : half ? "BF16" : "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape.Span) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += (bytes ? 1L : half ? 2L : 4L) * count;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data that follows is aligned, as the reference writer does.
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
