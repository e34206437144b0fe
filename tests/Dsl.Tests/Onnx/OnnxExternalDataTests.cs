using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Dsl.Onnx;
using Dsl.Tests.Models;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Dsl.Tests.Onnx;

/// <summary>
/// ONNX external data: a model's weights in <c>{file}.data</c> beside the graph. Each graph written so runs in ONNX Runtime
/// from its path as the model does (the whole graph, its step graph, an encoder–decoder's two graphs), and its files read
/// back as ONNX's external data says: every tensor of 1 KiB or more in the data file at a multiple of 4096 with its exact
/// length and bytes, the smaller ones in the graph. The test models are small: the threshold is lowered to 64 bytes (and
/// the size limit, to reach it without 2 GB), process-wide, so these tests run alone.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public sealed class OnnxExternalDataTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dsl-onnx-external-").FullName;

    public OnnxExternalDataTests() => OnnxGraph.ExternalThreshold = 64;

    public void Dispose()
    {
        OnnxGraph.ExternalThreshold = 1024;
        OnnxGraph.MaxModelBytes = int.MaxValue;
        Directory.Delete(_folder, recursive: true);
    }

    private string PathOf(string file) => Path.Combine(_folder, file);

    private string[] FileNames() => Directory.GetFiles(_folder).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void AtOnnxsDefaultThresholdTheWeightsGoOutAndTheSmallConstantsStay()
    {
        OnnxGraph.ExternalThreshold = 1024;
        IModel model = OnnxExportTests.Perturbed(new OnnxUntiedWide());
        string path = PathOf("wide.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always });
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        // the table (300 × 32), the GRU's and the output's weights: 38 400 + 12 288 + 12 288 + 38 400 bytes at 4096-byte offsets
        Assert.InRange(new FileInfo(path + ".data").Length, 38_400 + 12_288 + 12_288 + 38_400, 38_400 + 12_288 + 12_288 + 38_400 + 4 * 4096);
        Assert.InRange(new FileInfo(path).Length, 1, 8_000);
        using var session = new InferenceSession(path);
        OnnxExportTests.Compare(model, session, 2, 5, null, "at the default threshold");
    }

    [Theory]
    [InlineData(nameof(Dsl.Tests.Models.Lstm))]
    [InlineData(nameof(LstmStackedBidirectional))]
    [InlineData(nameof(LstmProjection))] // a Loop whose body reads the weights
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(Gpt2Block))]
    [InlineData(nameof(GcTiedGru))]
    [InlineData(nameof(OnnxLearnedStates))]
    public void WeightsGoBesideTheGraphAndItRunsFromItsPath(string name)
    {
        IModel model = OnnxExportTests.Perturbed(OnnxExportTests.Create(name));
        string path = PathOf("model.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always });
        Assert.Equal(["model.onnx", "model.onnx.data"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        Assert.True(new FileInfo(path).Length < new FileInfo(path + ".data").Length, "the graph holds the weights");
        using (var session = new InferenceSession(path))
            OnnxExportTests.Compare(model, session, 2, 5, null, $"{name} from external data");

        // the data file is found beside the graph wherever the two move together (its name is relative)
        string moved = Directory.CreateDirectory(PathOf("moved")).FullName;
        File.Move(path, Path.Combine(moved, "model.onnx"));
        File.Move(path + ".data", Path.Combine(moved, "model.onnx.data"));
        using (var session = new InferenceSession(Path.Combine(moved, "model.onnx")))
            OnnxExportTests.Compare(model, session, 3, 1, null, $"{name} moved");
    }

    [Theory]
    [InlineData(Precision.Int8)]
    [InlineData(Precision.BFloat16)]
    public void HeldWeightsGoBesideTheGraphAsHeld(Precision precision)
    {
        IModel model = OnnxExportTests.Perturbed(new TinyGpt(seed: 19));
        model.Parameters.HoldWeightsIn(precision);
        string path = PathOf("held.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always });
        var names = new List<string>();
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true, names);
        Assert.Contains(names, n => n.EndsWith(precision == Precision.Int8 ? ".int8" : ".bfloat16", StringComparison.Ordinal));
        using var options = OnnxHeldWeightsTests.Widening();
        using var session = new InferenceSession(path, options);
        OnnxExportTests.Compare(model, session, 2, 5, null, $"held in {precision}, external data");
    }

    [Fact]
    public void PaddedGraphsTakeTheirWeightsFromExternalDataToo()
    {
        IModel model = OnnxExportTests.Perturbed(new MaskedLstmAttention(seed: 21));
        string path = PathOf("padded.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { Lengths = true, ExternalData = OnnxExternalData.Always });
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        using var session = new InferenceSession(path);
        OnnxExportTests.Compare(model, session, 3, 6, [6, 2, 4], "padded, external data");
    }

    [Theory]
    [InlineData(nameof(Gpt2Block))] // key/value caches and a position
    [InlineData(nameof(StatefulLstmProjection))] // a Loop over one cell
    [InlineData(nameof(OnnxLearnedStepLstm))] // learned initial states: overridable initializers
    public void AStepGraphRunsFromExternalData(string name)
    {
        IModel model = OnnxExportTests.Perturbed(OnnxExportTests.Create(name));
        string path = PathOf("step.onnx");
        model.ExportOnnxStep(path, OnnxExternalData.Always);
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        using var session = new InferenceSession(path);
        OnnxExportTests.AssertStepsAsStep(model, session, name + " (external data)");
    }

    [Theory]
    [InlineData(nameof(TransformerSeq2Seq))]
    [InlineData(nameof(Seq2SeqFeedGeneral))]
    public void AnEncoderDecodersTwoGraphsEachTakeTheirOwnDataFile(string name)
    {
        OnnxExportTests.Composition composition = OnnxExportTests.Compose(name, perturbed: true);
        string encoder = PathOf("encoder.onnx"), decoder = PathOf("decoder.onnx");
        composition.Export(encoder, decoder, OnnxExternalData.Always);
        Assert.Equal(["decoder.onnx", "decoder.onnx.data", "encoder.onnx", "encoder.onnx.data"],
            Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        AssertLaidOutAsOnnxSays(encoder, model: null, expectExternal: true);
        AssertLaidOutAsOnnxSays(decoder, model: null, expectExternal: true);
        using var encoderSession = new InferenceSession(encoder);
        using var decoderSession = new InferenceSession(decoder);
        OnnxExportTests.AssertDecodesAsGreedy(composition, encoderSession, decoderSession, name + " (external data)");

        Assert.Throws<ArgumentException>(() => composition.Export(encoder, encoder, OnnxExternalData.Always));
    }

    [Fact]
    public void ByDefaultASmallModelKeepsItsWeightsInsideAndNeverDoesWhenAsked()
    {
        var model = new Dsl.Tests.Models.Lstm(seed: 1);
        string path = PathOf("small.onnx");
        model.ExportOnnx(path);
        Assert.Equal(model.ToOnnx(), File.ReadAllBytes(path));
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Never });
        model.ExportOnnxStep(PathOf("small-step.onnx"));
        Assert.Equal(model.ToOnnxStep(), File.ReadAllBytes(PathOf("small-step.onnx")));
        Assert.Equal(["small-step.onnx", "small.onnx"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void APathWithoutAFileNameOrAnUnknownPlacementIsRefused()
    {
        var model = new Dsl.Tests.Models.Lstm(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => model.ExportOnnx(_folder + Path.DirectorySeparatorChar));
        Assert.Contains("names a folder", e.Message);
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportOnnx(PathOf("m.onnx"), new OnnxExportOptions { ExternalData = (OnnxExternalData)7 })).ParamName);
        Assert.Equal("externalData", Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportOnnxStep(PathOf("m.onnx"), (OnnxExternalData)7)).ParamName);
        // ONNX's checker refuses a data file named with ".." in it; the bytes of ToOnnx cannot hold external data
        var dots = Assert.Throws<ArgumentException>(() => model.ExportOnnx(PathOf("v1..2.onnx"), new OnnxExportOptions { ExternalData = OnnxExternalData.Always }));
        Assert.Contains("v1..2.onnx.data", dots.Message);
        Assert.Contains("ExportOnnx", Assert.Throws<ArgumentException>(() => model.ToOnnx(new OnnxExportOptions { ExternalData = OnnxExternalData.Always })).Message);
        // a graph on the other graph's data file
        var clash = Assert.Throws<ArgumentException>(() => new Seq2SeqDot().ExportOnnx(PathOf("e.onnx"), PathOf("e.onnx.data"), OnnxExternalData.Always));
        Assert.Contains("e.onnx.data' is among the files to write twice", clash.Message);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void AModelPastTheLimitIsWrittenWithExternalDataByDefaultAndRefusedInOneMessage()
    {
        var model = OnnxExportTests.Perturbed(new Dsl.Tests.Models.Lstm(seed: 1));
        byte[] inline = model.ToOnnx();
        OnnxGraph.MaxModelBytes = inline.Length - 1;
        string path = PathOf("large.onnx");
        model.ExportOnnx(path);
        Assert.Equal(["large.onnx", "large.onnx.data"], FileNames());
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        using (var session = new InferenceSession(path))
            OnnxExportTests.Compare(model, session, 2, 5, null, "past the limit, external data");
        var e = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
        Assert.Contains("export it to a file (ExportOnnx, ExportOnnxStep), which writes its weights beside it as ONNX external data", e.Message);

        // the step graph and an encoder–decoder's graphs likewise
        string step = PathOf("step.onnx");
        OnnxGraph.MaxModelBytes = int.MaxValue;
        OnnxGraph.MaxModelBytes = model.ToOnnxStep().Length - 1;
        model.ExportOnnxStep(step);
        Assert.True(File.Exists(step + ".data"));
        using (var session = new InferenceSession(step)) OnnxExportTests.AssertStepsAsStep(model, session, "step past the limit");
        OnnxGraph.MaxModelBytes = int.MaxValue;
        OnnxExportTests.Composition composition = OnnxExportTests.Compose(nameof(Seq2SeqDot), perturbed: true);
        // each graph on its own: the decoder step past the limit goes out, the encoder within it stays whole
        Assert.True(composition.Encoder.Length < composition.DecoderStep.Length - 1);
        OnnxGraph.MaxModelBytes = composition.DecoderStep.Length - 1;
        composition.Export(PathOf("encoder.onnx"), PathOf("decoder.onnx"), OnnxExternalData.WhenLarge);
        Assert.Equal(["decoder.onnx", "decoder.onnx.data", "encoder.onnx", "large.onnx", "large.onnx.data", "step.onnx", "step.onnx.data"], FileNames());
        Assert.Equal(composition.Encoder, File.ReadAllBytes(PathOf("encoder.onnx")));
        using var encoderSession = new InferenceSession(PathOf("encoder.onnx"));
        using var decoderSession = new InferenceSession(PathOf("decoder.onnx"));
        OnnxExportTests.AssertDecodesAsGreedy(composition, encoderSession, decoderSession, "encoder–decoder past the limit");
    }

    [Fact]
    public void ARefusedExportWritesNothingAndLeavesTheOldFilesAsTheyWere()
    {
        var model = new Dsl.Tests.Models.Lstm(seed: 1);
        string path = PathOf("kept.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always });
        byte[] graph = File.ReadAllBytes(path), data = File.ReadAllBytes(path + ".data");
        byte[] inline = model.ToOnnx();
        OnnxGraph.MaxModelBytes = inline.Length - 1;
        var never = Assert.Throws<NotSupportedException>(() => new Dsl.Tests.Models.Lstm(seed: 2).ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Never }));
        Assert.Contains("OnnxExternalData.Never keeps the weights in it", never.Message);
        // a graph past the limit even with its weights outside it
        OnnxGraph.MaxModelBytes = 100;
        var always = Assert.Throws<NotSupportedException>(() => new Dsl.Tests.Models.Lstm(seed: 2).ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always }));
        Assert.Contains("even with its weights in external data", always.Message);
        Assert.Throws<NotSupportedException>(() => new Seq2SeqDot().ExportOnnx(PathOf("e.onnx"), PathOf("d.onnx"), OnnxExternalData.Always));
        Assert.Equal(["kept.onnx", "kept.onnx.data"], FileNames());
        Assert.Equal(graph, File.ReadAllBytes(path));
        Assert.Equal(data, File.ReadAllBytes(path + ".data"));
    }

    [Theory]
    [InlineData(nameof(LstmProjection))]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(GcLearnedGruState))]
    public void EveryFloatTensorMayGoToExternalData(string name)
    {
        // every float constant (the Loop body's too) as well as the weights; the integer ones stay (shape inference reads them)
        OnnxGraph.ExternalThreshold = 0;
        IModel model = OnnxExportTests.Perturbed(OnnxExportTests.Create(name));
        string path = PathOf("all.onnx");
        model.ExportOnnx(path, new OnnxExportOptions { ExternalData = OnnxExternalData.Always });
        AssertLaidOutAsOnnxSays(path, model, expectExternal: true);
        using var session = new InferenceSession(path);
        OnnxExportTests.Compare(model, session, 2, 5, null, $"{name}, every tensor outside");
    }

    [Fact]
    public void ASubgraphsTensorsGoToTheDataFileToo()
    {
        // a Loop whose body holds a weight of its own (the exporter's Loops read the outer graph's; the file format allows both)
        var g = new OnnxGraph();
        string outer = g.Floats("outer", Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), 40);
        OnnxGraph body = g.Subgraph("body");
        string inner = body.Floats("inner", Enumerable.Range(0, 50).Select(i => -(float)i).ToArray(), 50);
        body.Input("i", ElementType.Int64);
        body.Output(inner, ElementType.Float);
        g.Add("Loop", "loop", [g.Int64Scalar("trips", 1), "", outer], ("body", body));
        string path = PathOf("loop.onnx");
        AtomicFile.WriteAll(g.Files(path, OnnxExternalData.Always, "loop", 17, "Dsl", "test"));
        var names = new List<string>();
        AssertLaidOutAsOnnxSays(path, model: null, expectExternal: true, names);
        Assert.Contains("inner", names);
        Assert.Contains("outer", names);
        byte[] data = File.ReadAllBytes(path + ".data");
        Assert.Equal(4096 + 200, data.Length); // the outer 160 bytes at 0, zeros to 4096, the inner 200 bytes
        Assert.All(data.AsSpan(160, 4096 - 160).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(-49f, BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(4096 + 196)));
    }

    /// <summary>
    /// Reads the graph at <paramref name="path"/> and its data file as an ONNX reader does: every initializer (the subgraphs'
    /// too) either holds its bytes (an integer tensor, or fewer weight bytes — float, bfloat16, 8-bit — than the threshold) or names the data file beside it, an offset that is a multiple of 4096
    /// and the length its type and dimensions take, within the file and overlapping no other; a tensor named after one of
    /// <paramref name="model"/>'s parameters holds that parameter's values.
    /// </summary>
    internal static void AssertLaidOutAsOnnxSays(string path, IModel? model, bool expectExternal, List<string>? externalNames = null)
    {
        byte[] data = expectExternal ? File.ReadAllBytes(path + ".data") : [];
        var spans = new List<(long Offset, long Length)>();
        int external = 0, matched = 0;
        foreach (Tensor t in Tensors(File.ReadAllBytes(path)))
        {
            long expectedLength = t.Dims.Aggregate(1L, (a, d) => a * d) * t.Type switch { 1 or 6 => 4, 7 or 11 => 8, 3 or 9 => 1, 16 => 2, _ => throw new Xunit.Sdk.XunitException($"{t.Name}: type {t.Type}") };
            byte[] bytes;
            if (t.Location is null)
            {
                Assert.True(t.Raw is not null, $"{t.Name} holds no bytes and names no data file");
                Assert.True(t.Type is not (1 or 3 or 16) || t.Raw!.Length < OnnxGraph.ExternalThreshold || !expectExternal, $"{t.Name}: {t.Raw!.Length} weight bytes kept in the graph");
                bytes = t.Raw;
            }
            else
            {
                external++;
                externalNames?.Add(t.Name);
                Assert.Null(t.Raw);
                Assert.Equal(1, t.DataLocation);
                Assert.True(t.Type is 1 or 3 or 16, $"{t.Name} of type {t.Type} in the data file"); // weights only (floats, bfloat16, 8 bits): integer tensors stay for shape inference
                Assert.Equal(Path.GetFileName(path) + ".data", t.Location);
                Assert.True(t.Offset % 4096 == 0, $"{t.Name} at offset {t.Offset}");
                Assert.True(t.Length >= OnnxGraph.ExternalThreshold, $"{t.Name}: {t.Length} bytes sent out");
                Assert.True(t.Offset + t.Length <= data.Length, $"{t.Name} ends at {t.Offset + t.Length}, past the data file's {data.Length} bytes");
                spans.Add((t.Offset, t.Length));
                bytes = data.AsSpan(checked((int)t.Offset), checked((int)t.Length)).ToArray();
            }
            Assert.Equal(expectedLength, bytes.Length);
            // (a bidirectional layer's learned initial state is both directions' under the forward one's name)
            if (model?.Parameters.FirstOrDefault(p => p.Name == t.Name) is { } parameter && parameter.AsSpan().Length == expectedLength / 4)
            {
                Assert.Equal(1, t.Type);
                float[] values = new float[bytes.Length / 4];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
                Assert.Equal(parameter.AsSpan().ToArray(), values);
                matched++;
            }
        }
        if (expectExternal) Assert.True(external > 0, "no tensor in the data file");
        if (model is not null) Assert.True(matched > 0, "no tensor named after a parameter");
        spans.Sort();
        for (int i = 1; i < spans.Count; i++) Assert.True(spans[i - 1].Offset + spans[i - 1].Length <= spans[i].Offset, "two tensors overlap in the data file");
    }

    /// <summary>A TensorProto as read: its fields of onnx.proto (dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14).</summary>
    internal sealed record Tensor(string Name, int Type, long[] Dims, byte[]? Raw, string? Location, long Offset, long Length, int DataLocation);

    /// <summary>Every initializer of a ModelProto's graph (field 7) and of its nodes' subgraphs (node 1 → attribute 5 → graph 6).</summary>
    internal static IEnumerable<Tensor> Tensors(byte[] model)
    {
        foreach (var (field, _, graph) in Fields(model))
            if (field == 7)
                foreach (Tensor t in GraphTensors(graph)) yield return t;
    }

    private static IEnumerable<Tensor> GraphTensors(ReadOnlyMemory<byte> graph)
    {
        foreach (var (field, _, value) in Fields(graph))
        {
            if (field == 5) yield return ReadTensor(value);
            if (field != 1) continue;
            foreach (var (nodeField, _, attribute) in Fields(value))
                if (nodeField == 5)
                    foreach (var (attributeField, _, body) in Fields(attribute))
                        if (attributeField == 6)
                            foreach (Tensor t in GraphTensors(body)) yield return t;
        }
    }

    private static Tensor ReadTensor(ReadOnlyMemory<byte> tensor)
    {
        string name = "";
        int type = 0, location = 0;
        var dims = new List<long>();
        byte[]? raw = null;
        var entries = new Dictionary<string, string>();
        foreach (var (field, number, value) in Fields(tensor))
        {
            switch (field)
            {
                case 1:
                    for (int at = 0; at < value.Length;) dims.Add((long)Varint(value.Span, ref at));
                    break;
                case 2: type = (int)number; break;
                case 8: name = System.Text.Encoding.UTF8.GetString(value.Span); break;
                case 9: raw = value.ToArray(); break;
                case 13:
                    string key = "", text = "";
                    foreach (var (entryField, _, entry) in Fields(value))
                    {
                        if (entryField == 1) key = System.Text.Encoding.UTF8.GetString(entry.Span);
                        else if (entryField == 2) text = System.Text.Encoding.UTF8.GetString(entry.Span);
                    }
                    entries.Add(key, text);
                    break;
                case 14: location = (int)number; break;
            }
        }
        long Number(string key) => entries.TryGetValue(key, out string? v) ? long.Parse(v, CultureInfo.InvariantCulture) : -1;
        return new Tensor(name, type, [.. dims], raw, entries.GetValueOrDefault("location"), Number("offset"), Number("length"), location);
    }

    /// <summary>A message's fields: number, varint value (wire type 0) and bytes (wire type 2); 32- and 64-bit fields skipped.</summary>
    private static List<(int Field, ulong Number, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ulong, ReadOnlyMemory<byte>)>();
        ReadOnlySpan<byte> span = message.Span;
        for (int at = 0; at < span.Length;)
        {
            ulong tag = Varint(span, ref at);
            int field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0: fields.Add((field, Varint(span, ref at), ReadOnlyMemory<byte>.Empty)); break;
                case 1: at += 8; break;
                case 2:
                    int length = checked((int)Varint(span, ref at));
                    fields.Add((field, 0, message.Slice(at, length)));
                    at += length;
                    break;
                case 5: at += 4; break;
                default: throw new Xunit.Sdk.XunitException($"wire type {tag & 7} at byte {at}");
            }
        }
        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> span, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = span[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }
}
