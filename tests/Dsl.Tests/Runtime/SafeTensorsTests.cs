using System.Buffers.Binary;
using System.Text;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsl-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void SaveThenLoadRoundTripsEveryParameterExactly()
    {
        var source = new LstmStackedBidirectional(seed: 1);
        source.Parameters.Save(PathOf("m.safetensors"));
        var target = new LstmStackedBidirectional(seed: 2);
        Assert.NotEqual(source.Parameters[0].AsSpan().ToArray(), target.Parameters[0].AsSpan().ToArray());
        target.Parameters.Load(PathOf("m.safetensors"));
        foreach (Parameter p in source.Parameters) Assert.Equal(p.AsSpan().ToArray(), target.Parameters[p.Name].AsSpan().ToArray());
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void TheFileUsesPyTorchNamesShapesAndF32()
    {
        new Models.Lstm().Parameters.Save(PathOf("m.safetensors"));
        var tensors = SafeTensors.Read(PathOf("m.safetensors"));
        Assert.Equal(new[] { "dense.bias", "dense.weight", "embedding.weight", "lstm.bias_hh_l0", "lstm.bias_ih_l0", "lstm.weight_hh_l0", "lstm.weight_ih_l0" },
            tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 28, 5 }, tensors["lstm.weight_ih_l0"].Shape);
        Assert.All(tensors.Values, t => Assert.Equal(SafeTensorsDType.F32, t.DType));
    }

    [Fact]
    public void MissingTensorIsNamedAndNothingIsLoaded()
    {
        var other = new Models.Gru(); // embedding 9×4, gru, dense: no lstm tensors
        other.Parameters.Save(PathOf("gru.safetensors"));
        var model = new Models.Lstm(seed: 3);
        float[] before = model.Parameters["embedding.weight"].AsSpan().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => model.Parameters.Load(PathOf("gru.safetensors")));
        Assert.Contains("missing tensor 'lstm.weight_ih_l0' [28, 5]", e.Message);
        Assert.Contains("unexpected tensor 'gru.weight_ih_l0'", e.Message);
        Assert.Contains("tensor 'embedding.weight' has shape [9, 4], expected [11, 5]", e.Message);
        Assert.Equal(before, model.Parameters["embedding.weight"].AsSpan().ToArray());
    }

    [Fact]
    public void WronglyShapedTensorIsNamed()
    {
        string path = PathOf("bad.safetensors");
        var model = new Models.Lstm();
        var tensors = model.Parameters.Select(p => (p.Name, (ReadOnlyMemory<int>)(p.Name == "dense.bias" ? new[] { 12 } : p.Shape.ToArray()),
            (ReadOnlyMemory<float>)new float[p.Name == "dense.bias" ? 12 : p.Length]));
        SafeTensors.Write(path, tensors);
        var e = Assert.Throws<InvalidDataException>(() => model.Parameters.Load(path));
        Assert.Contains("tensor 'dense.bias' has shape [12], expected [11]", e.Message);
    }

    [Fact]
    public void TruncatedOrCorruptFilesAreRejectedClearly()
    {
        string path = PathOf("m.safetensors");
        new Models.Lstm().Parameters.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(PathOf("short.safetensors"), bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<InvalidDataException>(() => new Models.Lstm().Parameters.Load(PathOf("short.safetensors")));
        Assert.Contains("outside the", e.Message);

        File.WriteAllBytes(PathOf("tiny.safetensors"), [1, 2, 3]);
        Assert.Throws<InvalidDataException>(() => new Models.Lstm().Parameters.Load(PathOf("tiny.safetensors")));

        byte[] header = Encoding.UTF8.GetBytes("{not json");
        byte[] junk = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(junk, (ulong)header.Length);
        header.CopyTo(junk, 8);
        File.WriteAllBytes(PathOf("junk.safetensors"), junk);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(PathOf("junk.safetensors"))).Message);
    }

    [Fact]
    public void FailedSaveLeavesThePreviousFileIntactAndNoTemporaryBehind()
    {
        string path = PathOf("m.safetensors");
        var model = new Models.Lstm(seed: 1);
        model.Parameters.Save(path);
        byte[] before = File.ReadAllBytes(path);

        // A save whose final rename cannot happen (the destination is a directory) fails without trace.
        string dirPath = PathOf("taken");
        Directory.CreateDirectory(dirPath);
        Assert.ThrowsAny<IOException>(() => model.Parameters.Save(dirPath));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));

        // A save into a folder that does not exist fails before touching anything.
        Assert.ThrowsAny<IOException>(() => model.Parameters.Save(Path.Combine(_dir, "missing", "m.safetensors")));

        // A save that fails while building the file leaves the old checkpoint byte for byte.
        var duplicate = new (string, ReadOnlyMemory<int>, ReadOnlyMemory<float>)[] { ("a", new[] { 1 }, new float[1]), ("a", new[] { 1 }, new float[1]) };
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, duplicate));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));

        // So does one whose header would pass the format's limit (no reader, this one included, would read the file back).
        var huge = new Dictionary<string, string> { ["notes"] = new string('x', (int)SafeTensors.MaxHeaderBytes) };
        var error = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", new[] { 1 }, new float[1])], huge));
        Assert.Equal("metadata", error.ParamName);
        Assert.Contains("the format allows at most 100000000", error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void AnI64ValuePastAnIntIsNamed()
    {
        string path = PathOf("ids.safetensors");
        byte[] header = System.Text.Encoding.UTF8.GetBytes("""{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}""");
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)header.Length));
        bytes.AddRange(header);
        bytes.AddRange(BitConverter.GetBytes(7L));
        bytes.AddRange(BitConverter.GetBytes(1L << 31));
        File.WriteAllBytes(path, bytes.ToArray());
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path)["ids"].ToInt32());
        Assert.Equal("Tensor 'ids': value 2147483648 at index 1 does not fit an int (I64 read as int).", error.Message);
    }

    [Fact]
    public void BooleansAndNarrowIntegersReadAsIntsAndAreNoParameters()
    {
        // the buffers older checkpoints keep (GPT-NeoX's causal mask as BOOL) and quantisation's narrow integers: read, refused as floats
        string path = PathOf("narrow.safetensors");
        const string header = "{\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2,2],\"data_offsets\":[0,4]},\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
            + "\"i\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[6,8]},\"s\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[8,12]}}";
        File.WriteAllBytes(path, Raw(null, header,
            [1, 0, 1, 1, 200, 7, 0xFF, 5, 0x00, 0x80, 0x39, 0x30]));
        Dictionary<string, SafeTensor> t = SafeTensors.Read(path);
        Assert.Equal([SafeTensorsDType.BOOL, SafeTensorsDType.U8, SafeTensorsDType.I8, SafeTensorsDType.I16], new[] { "mask", "u", "i", "s" }.Select(n => t[n].DType));
        Assert.Equal([1, 0, 1, 1], t["mask"].ToInt32());
        Assert.Equal([200, 7], t["u"].ToInt32());
        Assert.Equal([-1, 5], t["i"].ToInt32());
        Assert.Equal([-32768, 12345], t["s"].ToInt32());
        Assert.All(t.Values, v => Assert.False(v.IsFloatingPoint));
        Assert.Equal("Tensor 'mask' holds BOOL; expected a floating-point type (F32, F64, F16, BF16).", Assert.Throws<InvalidDataException>(() => t["mask"].ToFloat()).Message);
    }

    [Theory]
    [InlineData("F16", SafeTensorsDType.F16)]
    [InlineData("BF16", SafeTensorsDType.BF16)]
    public void HalfPrecisionWeightsWrittenByTorchConvertOnLoadExactlyAsTorchConvertsThem(string tag, SafeTensorsDType dtype)
    {
        // HalfPrecision.{F16,BF16}.safetensors: a state_dict torch saved in that type (make_fixtures.py); the expected
        // file holds torch's own conversion of each tensor back to float32, which every value must equal bit for bit.
        string path = Fixture.Path($"HalfPrecision.{tag}.safetensors");
        Assert.All(SafeTensors.Read(path).Values, t => Assert.Equal(dtype, t.DType));
        var expected = SafeTensors.Read(Fixture.Path("HalfPrecision.expected.safetensors"));
        var model = new RnnTanh(seed: 5);
        model.Parameters.Load(path);
        foreach (Parameter p in model.Parameters)
        {
            float[] want = expected[$"{tag}.{p.Name}"].ToFloat();
            Assert.Equal(want.Select(BitConverter.SingleToInt32Bits), p.AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        // Loading a float16 file into the model and saving it again writes float32 values equal to torch's conversion.
        model.Parameters.Save(PathOf("widened.safetensors"));
        foreach (var (name, t) in SafeTensors.Read(PathOf("widened.safetensors")))
            Assert.Equal(expected[$"{tag}.{name}"].Data, t.Data);

        // Signed zeros, the extremes, subnormals, infinities and NaN, as torch converts them.
        SafeTensor special = expected[$"special.{tag}"];
        Assert.Equal(dtype, special.DType);
        float[] got = special.ToFloat();
        float[] torch = expected[$"special.{tag}.float"].ToFloat();
        Assert.Equal(15, got.Length);
        for (int i = 0; i < got.Length; i++)
        {
            if (float.IsNaN(torch[i])) Assert.True(float.IsNaN(got[i]), $"special {i}: expected NaN, got {got[i]}");
            else Assert.Equal(BitConverter.SingleToInt32Bits(torch[i]), BitConverter.SingleToInt32Bits(got[i]));
        }
        Assert.Contains(torch, v => float.IsSubnormal(v) || (dtype == SafeTensorsDType.F16 && v != 0 && Math.Abs(v) < 6.1035156e-05f));
    }

    /// <summary>
    /// A tensor left in its file (the index the Hugging Face loaders read a checkpoint through) gives, for any range of its values,
    /// what the whole file read at once gives, bit for bit, in every floating-point type — ranges across the blocks the narrow types
    /// convert a block at a time included; a file cut short after its header was read is named with the tensor.
    /// </summary>
    [Theory]
    [InlineData("F32", 4)]
    [InlineData("F64", 8)]
    [InlineData("F16", 2)]
    [InlineData("BF16", 2)]
    public void ATensorLeftInItsFileReadsAnyRangeAsTheWholeFileReadsIt(string dtype, int size)
    {
        const int count = 40000; // (past two blocks of 16384 values)
        var data = new byte[8 + count * size]; // (a small tensor first, so the large one starts past the data's first byte)
        new Random(7).NextBytes(data);
        string header = $"{{\"small\":{{\"dtype\":\"{dtype}\",\"shape\":[{8 / size}],\"data_offsets\":[0,8]}},"
            + $"\"w\":{{\"dtype\":\"{dtype}\",\"shape\":[200,{count / 200}],\"data_offsets\":[8,{8 + count * size}]}}}}";
        string path = PathOf($"left-{dtype}.safetensors");
        File.WriteAllBytes(path, Raw(null, header, data));
        Dictionary<string, SafeTensor> whole = SafeTensors.Read(path), left = SafeTensors.Index(path);
        static int[] Bits(ReadOnlySpan<float> v) => v.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
        foreach (string name in new[] { "small", "w" })
        {
            Assert.Equal(whole[name].Shape, left[name].Shape);
            Assert.Equal(whole[name].DType, left[name].DType);
            Assert.Equal(whole[name].Data, left[name].Data);
            Assert.Equal(Bits(whole[name].ToFloat()), Bits(left[name].ToFloat()));
        }
        float[] all = whole["w"].ToFloat();
        foreach (var (first, length) in new[] { (0, count), (1, 1), (12345, 20000), (16383, 2), (count - 3, 3), (200, 0) })
        {
            var part = new float[length];
            left["w"].CopyFloatsTo(first, part);
            Assert.Equal(Bits(all.AsSpan(first, length)), Bits(part));
            int chunk = SafeTensor.ReadChunkValues;
            SafeTensor.ReadChunkValues = 777; // (read in many chunks and blocks, as a tensor past 64 MB is: the same values)
            try
            {
                part.AsSpan().Clear();
                left["w"].CopyFloatsTo(first, part);
                Assert.Equal(Bits(all.AsSpan(first, length)), Bits(part));
            }
            finally
            {
                SafeTensor.ReadChunkValues = chunk;
            }
            var fromMemory = new float[length];
            whole["w"].CopyFloatsTo(first, fromMemory);
            Assert.Equal(Bits(all.AsSpan(first, length)), Bits(fromMemory));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => left["w"].CopyFloatsTo(count - 1, new float[2]));

        // the file changed after its header was read (cut short; or rewritten at its length): the tensor's read names it
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write)) file.SetLength(file.Length - 10);
        var error = Assert.Throws<InvalidDataException>(() => left["w"].ToFloat());
        Assert.Contains("it changed after its header was read, before tensor 'w' was (read it again)", error.Message);
        File.WriteAllBytes(path, Raw(null, header, data));
        left = SafeTensors.Index(path);
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(5));
        error = Assert.Throws<InvalidDataException>(() => left["small"].CopyFloatsTo(0, new float[1]));
        Assert.Contains("it changed after its header was read, before tensor 'small' was", error.Message);
    }

    /// <summary>
    /// <see cref="ParameterSet.Load"/> reads each tensor from the file as it converts it: it allocates the staged values, not the
    /// file's bytes besides (with the file read whole it took twice the values).
    /// </summary>
    [Fact]
    public void LoadingParametersHoldsNoCopyOfTheFile()
    {
        var saved = new WsCharModel(seed: 1);
        string path = PathOf("char.safetensors");
        saved.Parameters.Save(path);
        var model = new WsCharModel(seed: 2);
        new WsCharModel(seed: 3).Parameters.Load(path); // (warm)
        long values = model.Parameters.Sum(p => (long)p.Length) * sizeof(float);
        long before = GC.GetAllocatedBytesForCurrentThread(); // (this thread's: the other test classes run beside this one)
        model.Parameters.Load(path);
        long loading = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(loading < values * 5 / 4, $"loading {values} bytes of values allocated {loading} bytes");
        Assert.Equal(saved.Parameters.SelectMany(p => p.AsSpan().ToArray()), model.Parameters.SelectMany(p => p.AsSpan().ToArray()));
    }

    [Fact]
    public void DoublePrecisionWeightsConvertOnLoad()
    {
        string path = PathOf("f64.safetensors");
        var model = new RnnTanh(seed: 4);
        // Write a float64 file by hand, as torch.save_file would for a .double() model.
        var header = new StringBuilder("{");
        long offset = 0;
        var data = new List<byte>();
        foreach (Parameter p in model.Parameters)
        {
            header.Append($"\"{p.Name}\":{{\"dtype\":\"F64\",\"shape\":[{string.Join(",", p.Shape.ToArray())}],\"data_offsets\":[{offset},{offset + 8 * p.Length}]}},");
            foreach (float v in p.AsSpan()) data.AddRange(BitConverter.GetBytes((double)v));
            offset += 8 * p.Length;
        }
        header.Length--;
        header.Append('}');
        byte[] h = Encoding.UTF8.GetBytes(header.ToString());
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)h.Length));
            f.Write(h);
            f.Write(data.ToArray());
        }
        var loaded = new RnnTanh(seed: 5);
        loaded.Parameters.Load(path);
        foreach (Parameter p in model.Parameters) Assert.Equal(p.AsSpan().ToArray(), loaded.Parameters[p.Name].AsSpan().ToArray());
    }

    [Fact]
    public void WritingAShapeThatDoesNotHoldItsValuesFailsAndKeepsTheFile()
    {
        string path = Path.Combine(_dir, "good.safetensors");
        SafeTensors.Write(path, [("w", new[] { 2, 3 }, new float[6])]);
        byte[] before = File.ReadAllBytes(path);
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", new[] { 2, 3 }, new float[5])]));
        Assert.Contains("shape [2, 3] holds 6 values, got 5", e.Message);
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", new[] { -1 }, new float[0])]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("__metadata__", new[] { 1 }, new float[1])]));
        // 2⁶⁴ values wrapped to 0 in a long, and matched no values at all
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", new[] { 65536, 65536, 65536, 65536 }, new float[0])]));
        Assert.Contains("got 0", e.Message);
        // a null metadata value is not a string: no reader (ours or Python's) accepts the file it would make
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", new[] { 2, 3 }, new float[6])], new Dictionary<string, string> { ["note"] = null! }));
        Assert.Contains("Metadata 'note' is null", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void ACallersFormatMetadataIsKeptAndPtIsTheDefault()
    {
        string path = Path.Combine(_dir, "format.safetensors");
        SafeTensors.Write(path, [("w", new[] { 1 }, new float[] { 2f })], new Dictionary<string, string> { ["format"] = "np", ["note"] = "x" });
        SafeTensors.Read(path, out Dictionary<string, string> metadata);
        Assert.Equal("np", metadata["format"]);
        Assert.Equal("x", metadata["note"]);
        SafeTensors.Write(path, [("w", new[] { 1 }, new float[] { 2f })]);
        SafeTensors.Read(path, out metadata);
        Assert.Equal("pt", metadata["format"]);
    }

    [Fact]
    public void AFileIsRefusedForWhatItsBytesAreRefusedFor()
    {
        // Read(path) streams the file tensor by tensor; Read(bytes) parses a buffer: the same rules, the same messages
        var cases = new List<byte[]>
        {
            new byte[5],                                                                      // shorter than the length prefix
            Raw(1000, "{}"),                                                                  // a header longer than the file
            Raw(null, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),  // a gap before 'a'
            Raw(null, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]),  // past the end
        };
        foreach (byte[] bytes in cases)
        {
            string path = Path.Combine(_dir, "bad.safetensors");
            File.WriteAllBytes(path, bytes);
            string fromBytes = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(bytes, path)).Message;
            string fromFile = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path)).Message;
            Assert.Equal(fromBytes, fromFile);
        }
    }

    [Fact]
    public void ATensorLargerThanAnArrayIsRefusedByNameWithoutReadingIt()
    {
        // a sparse file of 3 GiB of data: its offsets are longs, and one byte array cannot hold the tensor (an F32 tensor
        // that size reads into floats; F64 is converted from its bytes)
        string path = Path.Combine(_dir, "huge.safetensors");
        long bytes = 3L << 30;
        byte[] prefix = Raw(null, $"{{\"huge\":{{\"dtype\":\"F64\",\"shape\":[{bytes / 8}],\"data_offsets\":[0,{bytes}]}}}}");
        using (var file = new FileStream(path, FileMode.Create))
        {
            file.Write(prefix);
            file.SetLength(prefix.Length + bytes);
        }
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains("tensor 'huge' of dtype F64 has 3221225472 bytes; one tensor of that type can hold at most", e.Message);
    }

    /// <summary>A file's bytes: the 8-byte header length (the header's own unless <paramref name="claimed"/>), the header padded to 8, the data.</summary>
    internal static byte[] Raw(long? claimed, string header, byte[]? data = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header.PadRight((header.Length + 7) / 8 * 8));
        data ??= [];
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(claimed ?? h.Length));
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }
}

/// <summary>
/// A safetensors file of more than 2 GiB (a large model's checkpoint with its optimiser state) reads tensor by tensor
/// (File.ReadAllBytes, which it once went through, stops at 2 GiB), and an F32 tensor of more bytes than one array holds
/// (a parameter of over 537 M floats, which saved but could not be read back) reads into one float array. Serial: it
/// holds 2.2 GB while it runs (about 10 s on a VM whose page faults are slow).
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public sealed class LargeSafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsl-safetensors-large-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFileOfMoreThan2GiBAndATensorOfMoreBytesThanAnArrayHoldsRead()
    {
        // a sparse file: "w", 550 M floats (2.2 GB), markers at its ends and where its second part starts, then "b" past 2 GiB
        string path = Path.Combine(_dir, "large.safetensors");
        long count = 550L << 20, bytes = 4 * count;
        byte[] prefix = SafeTensorsTests.Raw(null,
            $"{{\"w\":{{\"dtype\":\"F32\",\"shape\":[{count / 1024},1024],\"data_offsets\":[0,{bytes}]}},\"b\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[{bytes},{bytes + 8}]}}}}");
        long part = Array.MaxLength / 4; // the floats of the first part read
        using (var file = new FileStream(path, FileMode.Create))
        {
            file.Write(prefix);
            file.SetLength(prefix.Length + bytes + 8);
            Span<byte> marker = stackalloc byte[4];
            foreach (var (at, value) in new[] { (0L, 1.5f), (part - 1, 2.5f), (part, -3.5f), (count - 1, 4.5f), (count, 5.5f), (count + 1, -6.5f) })
            {
                BinaryPrimitives.WriteSingleLittleEndian(marker, value);
                file.Position = prefix.Length + 4 * at;
                file.Write(marker);
            }
        }
        Assert.True(new FileInfo(path).Length > 2L << 30);
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(path);
        SafeTensor w = tensors["w"];
        Assert.Equal(new[] { count / 1024, 1024L }, w.Shape);
        Assert.Equal(SafeTensorsDType.F32, w.DType);
        var e = Assert.Throws<InvalidOperationException>(() => w.Data);
        Assert.Contains($"Tensor 'w' has {bytes} bytes, more than one byte array holds", e.Message);
        ReadOnlySpan<float> values = w.HeldFloats;
        Assert.Equal(count, values.Length);
        Assert.Equal([1.5f, 0f], values[..2].ToArray());
        Assert.Equal([0f, 2.5f, -3.5f, 0f], values[(int)(part - 2)..(int)(part + 2)].ToArray());
        Assert.Equal(4.5f, values[^1]);
        Assert.Equal([5.5f, -6.5f], tensors["b"].ToFloat());
        Assert.Equal(8, tensors["b"].Data.Length);
    }
}

/// <summary>
/// The float path for tensors past one byte array's length, taken by small tensors with the limit lowered (process-wide:
/// serial): a model's parameters round-trip bit for bit, read in parts; F64 past the limit is refused by name.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public sealed class SafeTensorsFloatPathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsl-safetensors-floats-").FullName;

    public void Dispose()
    {
        SafeTensors.MaxArrayBytes = Array.MaxLength;
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ParametersPastTheLimitRoundTripThroughFloats()
    {
        var source = new Models.Lstm(seed: 3);
        string path = Path.Combine(_dir, "m.safetensors");
        source.Parameters.Save(path);
        SafeTensors.MaxArrayBytes = 36; // 9 floats a part: every weight reads in several parts, the last one short
        var target = new Models.Lstm(seed: 4);
        target.Parameters.Load(path);
        foreach (Parameter p in source.Parameters) Assert.Equal(p.AsSpan().ToArray(), target.Parameters[p.Name].AsSpan().ToArray());
        Assert.Throws<InvalidOperationException>(() => SafeTensors.Read(path)["lstm.weight_ih_l0"].Data);

        string doubles = Path.Combine(_dir, "f64.safetensors");
        File.WriteAllBytes(doubles, SafeTensorsTests.Raw(null, "{\"d\":{\"dtype\":\"F64\",\"shape\":[5],\"data_offsets\":[0,40]}}", new byte[40]));
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(doubles));
        Assert.Contains("tensor 'd' of dtype F64 has 40 bytes; one tensor of that type can hold at most 36 here", e.Message);
    }
}
