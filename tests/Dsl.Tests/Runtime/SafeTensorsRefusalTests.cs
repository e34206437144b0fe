using System.Buffers.Binary;
using System.Text;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The safetensors format's rules, each refused with an <see cref="InvalidDataException"/> that says what is wrong: a header
/// of at most 100 MB and no longer than the file, tensor names that appear once, integer offsets that tile the data buffer
/// exactly (no gap, no overlap, nothing after the last tensor), and byte ranges that match dtype × shape. A model that
/// fails to load keeps every weight it had.
/// </summary>
public sealed class SafeTensorsRefusalTests
{
    /// <summary>A file from a raw header (JSON text, padded to 8 bytes as the reference writer does) and data bytes.</summary>
    private static byte[] File(string header, byte[] data) => File(Encoding.UTF8.GetBytes(header.PadRight((header.Length + 7) / 8 * 8)), data);

    private static byte[] File(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static string Refused(byte[] bytes) =>
        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(bytes, "t.safetensors")).Message;

    [Fact]
    public void AWellFormedFileIsRead()
    {
        // The baseline the cases below break one rule of: two tensors tiling 12 bytes, and a zero-size one.
        var t = SafeTensors.Read(File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}""", new byte[12]), "t");
        Assert.Equal(["a", "b", "e"], t.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(t["e"].ToFloat());
    }

    /// <summary>
    /// A name or value that is not valid text (bytes that are not UTF-8, an escaped lone surrogate) is refused naming the file,
    /// as an <see cref="InvalidDataException"/> like every other fault of a header.
    /// </summary>
    [Fact]
    public void AHeaderStringThatIsNotValidTextIsRefused()
    {
        byte[] name = [.. Encoding.UTF8.GetBytes("""{"a"""), 0xCE, .. Encoding.UTF8.GetBytes("""b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  """)];
        Assert.Equal("'t.safetensors' is not a valid safetensors file: the header holds a name or value that is not valid text: Cannot transcode invalid UTF-8 JSON text to UTF-16 string.",
            Refused(File(name, new byte[4])));
        byte[] value = [.. Encoding.UTF8.GetBytes("{\"__metadata__\":{\"k\":\"x"), 0xFF, .. Encoding.UTF8.GetBytes("\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}  ")];
        Assert.Contains("not valid text", Refused(File(value, new byte[4])));
        Assert.Contains("not valid text",
            Refused(File("""{"__metadata__":{"k":"\ud800"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])));
    }

    [Fact]
    public void ADuplicateTensorNameIsRefused()
    {
        string m = Refused(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: tensor 'a' appears twice in the header.", m);
        Assert.Contains("__metadata__ appears twice",
            Refused(File("""{"__metadata__":{},"__metadata__":{},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])));
        Assert.Contains("__metadata__ key 'k' appears twice",
            Refused(File("""{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])));
    }

    [Fact]
    public void AGapBetweenTensorsIsRefused()
    {
        string m = Refused(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", new byte[12]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: the data bytes [4, 8) between tensor 'a' and tensor 'b' belong to no tensor; the tensors must cover the data buffer exactly.", m);
        Assert.Contains("the data bytes [0, 4) belong to no tensor (tensor 'b' starts at 4)",
            Refused(File("""{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8])));
    }

    [Fact]
    public void BytesAfterTheLastTensorAreRefused()
    {
        string m = Refused(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[5]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: the last 1 data bytes (from 4 to the end of the file at 5) belong to no tensor; the tensors must cover the data buffer exactly.", m);
    }

    [Fact]
    public void OverlappingTensorsAreRefused()
    {
        string m = Refused(File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: tensor 'b' (data_offsets [4, 8]) overlaps tensor 'a', which ends at 8.", m);
        // Two tensors on the very same bytes.
        Assert.Contains("overlaps", Refused(File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])));
    }

    [Theory]
    [InlineData("[0.5,4]", "[0.5, 4]")]
    [InlineData("[0,4.0]", "[0, 4.0]")]
    [InlineData("[\"0\",4]", "[\"0\", 4]")]
    [InlineData("[0,1e30]", "[0, 1e30]")]
    public void NonIntegerOffsetsAreRefused(string offsets, string shown)
    {
        string m = Refused(File($$$"""{"a":{"dtype":"F32","shape":[1],"data_offsets":{{{offsets}}}}}""", new byte[4]));
        Assert.Equal($"'t.safetensors' is not a valid safetensors file: tensor 'a' has data_offsets {shown}; they must be integers.", m);
    }

    [Fact]
    public void NonIntegerDimensionsAreRefused()
    {
        Assert.Contains("tensor 'a' has the dimension 1.5; a dimension is a non-negative integer",
            Refused(File("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", new byte[4])));
        Assert.Contains("tensor 'a' has the dimension -1",
            Refused(File("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4])));
    }

    [Fact]
    public void ARangeThatDoesNotMatchDtypeTimesShapeIsRefused()
    {
        // Three F16 values are 6 bytes, not 8.
        string m = Refused(File("""{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}""", new byte[8]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: tensor 'a' of shape [3] and dtype F16 needs 6 bytes but data_offsets give 8.", m);
        // A shape whose element count times the element size overflows 64 bits (2^31 × 2^31 × 2^2 F64 values) is too large,
        // not an OverflowException and not, wrapped around, a small number.
        string huge = Refused(File("""{"a":{"dtype":"F64","shape":[2147483648,2147483648,4],"data_offsets":[0,8]}}""", new byte[8]));
        Assert.Equal("'t.safetensors' is not a valid safetensors file: tensor 'a' of shape [2147483648, 2147483648, 4] and dtype F64 needs more bytes than the file's 8 data bytes.", huge);
        Assert.Contains("needs more bytes", Refused(File("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}""", [])));
    }

    [Fact]
    public void AHeaderOver100MBIsRefusedWithoutReadingIt()
    {
        // the reference reader's limit, 100 000 000 bytes (it had been 100 MiB here: files it refuses were read)
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 100_000_001);
        Assert.Equal("'t.safetensors' is not a valid safetensors file: the header claims 100000001 bytes; the format allows at most 100000000.", Refused(bytes));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains($"the header claims {ulong.MaxValue} bytes; the format allows at most", Refused(bytes));
    }

    [Fact]
    public void AHeaderLongerThanTheFileIsRefused()
    {
        byte[] bytes = File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(bytes.Length - 8 + 1));
        Assert.Equal($"'t.safetensors' is not a valid safetensors file: the header claims {bytes.Length - 7} bytes but the file has {bytes.Length - 8} after the length.", Refused(bytes));
    }

    /// <summary>
    /// Each rule broken in a file that otherwise holds exactly the model's tensors (so that, but for the broken rule, the
    /// load would succeed and change every weight): the load is refused and every weight keeps its value, bit for bit.
    /// </summary>
    [Theory]
    [InlineData("duplicate")]
    [InlineData("gap")]
    [InlineData("overlap")]
    [InlineData("trailing")]
    [InlineData("fractional offset")]
    [InlineData("wrong size")]
    [InlineData("header too long")]
    [InlineData("header over 100 MB")]
    public void AFailedLoadChangesNothing(string broken)
    {
        var source = new RnnTanh(seed: 1);
        var header = new StringBuilder("{");
        var data = new List<byte>();
        Parameter[] ps = source.Parameters.ToArray();
        for (int i = 0; i < ps.Length; i++)
        {
            Parameter p = ps[i];
            long begin = data.Count, end = begin + 4L * p.Length;
            string beginText = begin.ToString(), name = p.Name, shape = string.Join(",", p.Shape.ToArray());
            if (broken == "gap" && i == ps.Length - 1) { data.AddRange(new byte[4]); begin += 4; end += 4; beginText = begin.ToString(); }
            if (broken == "overlap" && i == ps.Length - 1) { begin -= 4; end -= 4; beginText = begin.ToString(); }
            if (broken == "fractional offset" && i == ps.Length - 1) beginText = begin + ".5";
            if (broken == "wrong size" && i == ps.Length - 1) shape = (p.Length + 1).ToString();
            header.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{shape}],\"data_offsets\":[{beginText},{end}]}},");
            foreach (float v in p.AsSpan()) data.AddRange(BitConverter.GetBytes(v));
            if (broken == "overlap" && i == ps.Length - 1) data.RemoveRange(data.Count - 4, 4);
        }
        if (broken == "duplicate") header.Append($"\"{ps[0].Name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", ps[0].Shape.ToArray())}],\"data_offsets\":[0,{4 * ps[0].Length}]}},");
        if (broken == "trailing") data.Add(0);
        header.Length--;
        header.Append('}');
        byte[] bytes = File(header.ToString(), data.ToArray());
        if (broken == "header too long") BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        if (broken == "header over 100 MB") BinaryPrimitives.WriteUInt64LittleEndian(bytes, 200UL << 20);

        string path = Path.Combine(Directory.CreateTempSubdirectory("dsl-refusal-").FullName, "m.safetensors");
        try
        {
            System.IO.File.WriteAllBytes(path, bytes);
            var target = new RnnTanh(seed: 2);
            int[][] before = target.Parameters.Select(p => p.AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
            Assert.NotEqual(before[0], ps[0].AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());
            string message = Assert.Throws<InvalidDataException>(() => target.Parameters.Load(path)).Message;
            Assert.Contains("is not a valid safetensors file", message);
            for (int i = 0; i < before.Length; i++)
                Assert.Equal(before[i], target.Parameters[i].AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
