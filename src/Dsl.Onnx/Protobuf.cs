using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Dsl.Onnx;

/// <summary>
/// The few protocol-buffer encodings ONNX's messages need (varints, 32-bit floats, length-delimited strings, bytes and
/// nested messages, packed repeated numbers), written by hand: the exporter then depends on nothing beyond the runtime
/// (Google.Protobuf would need code generated from onnx.proto, and reflection-free use of it is not trimming-proof).
/// A counter (<see cref="Counter"/>) runs the same writes and keeps only their byte count: a message's size before it is built.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream? _stream;

    public ProtoWriter() : this(counting: false)
    {
    }

    private ProtoWriter(bool counting) => _stream = counting ? null : new MemoryStream();

    /// <summary>A writer that writes nothing and counts the bytes it would write (<see cref="Length"/>).</summary>
    public static ProtoWriter Counter() => new(counting: true);

    /// <summary>The bytes written (or counted) so far.</summary>
    public long Length { get; private set; }

    public byte[] ToArray() => _stream?.ToArray() ?? throw new InvalidOperationException("A counter holds no bytes.");

    private void Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream?.Write(bytes);
        Length += bytes.Length;
    }

    private void Varint(ulong value)
    {
        Span<byte> bytes = stackalloc byte[10];
        int n = 0;
        while (value >= 0x80)
        {
            bytes[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        bytes[n++] = (byte)value;
        Write(bytes[..n]);
    }

    /// <summary>An int32, int64 or enum field (negative values take ten bytes, as protobuf says).</summary>
    public ProtoWriter Int(int field, long value)
    {
        Tag(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        Write(bytes);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        Write(value);
        return this;
    }

    /// <summary>A bytes field of <paramref name="length"/> bytes that <paramref name="write"/> writes (a counter only counts them).</summary>
    public ProtoWriter Bytes(int field, long length, Action<Stream> write)
    {
        Tag(field, 2);
        Varint((ulong)length);
        if (_stream is not null)
        {
            long before = _stream.Length;
            write(_stream);
            if (_stream.Length - before != length) throw new InvalidOperationException($"Field {field}: {_stream.Length - before} bytes written, {length} announced.");
        }
        Length += length;
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A nested message, written (or counted, by a counter) by <paramref name="write"/>.</summary>
    public ProtoWriter Message(int field, Action<ProtoWriter> write)
    {
        var inner = new ProtoWriter(counting: _stream is null);
        write(inner);
        if (_stream is not null) return Bytes(field, inner.ToArray());
        Tag(field, 2);
        Varint((ulong)inner.Length);
        Length += inner.Length;
        return this;
    }

    /// <summary>A packed repeated int64 field.</summary>
    public ProtoWriter PackedInts(int field, IReadOnlyList<long> values)
    {
        var inner = new ProtoWriter();
        foreach (long v in values) inner.Varint(unchecked((ulong)v));
        return Bytes(field, inner.ToArray());
    }

    /// <summary>A packed repeated float field.</summary>
    public ProtoWriter PackedFloats(int field, IReadOnlyList<float> values)
    {
        var bytes = new byte[values.Count * 4];
        for (int i = 0; i < values.Count; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return Bytes(field, bytes);
    }
}
