using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace Dsl.Onnx;

/// <summary>ONNX's element types used here (TensorProto.DataType).</summary>
internal enum ElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Double = 11,
    BFloat16 = 16,
}

/// <summary>
/// An ONNX graph being built: nodes in order, initializers (the weights and constants), the graph's inputs and outputs,
/// and fresh value names; <see cref="Serialize(string, int, string, string)"/> writes the ModelProto (onnx.proto's field
/// numbers), <see cref="Files"/> the model's files, its weights inside it or in external data beside it.
/// </summary>
internal sealed class OnnxGraph
{
    private abstract record Attribute(string Name);

    private sealed record IntAttribute(string Name, long Value) : Attribute(Name);

    private sealed record FloatAttribute(string Name, float Value) : Attribute(Name);

    private sealed record IntsAttribute(string Name, long[] Values) : Attribute(Name);

    private sealed record StringAttribute(string Name, string Value) : Attribute(Name);

    private sealed record StringsAttribute(string Name, string[] Values) : Attribute(Name);

    private sealed record GraphAttribute(string Name, OnnxGraph Body) : Attribute(Name);

    private sealed record Node(string OpType, string Name, string[] Inputs, string[] Outputs, Attribute[] Attributes);

    /// <summary>
    /// A tensor the graph holds: floats (weights, constants), bfloat16 bits (a held weight), or the little-endian bytes of
    /// another type. Floats are kept as floats — a weight as the parameter's own memory, not a copy — and floats and bfloat16
    /// bits are written in pieces, so that one table may pass 2 GB (a byte array's limit) when it goes to external data.
    /// </summary>
    private sealed class Initializer(string name, ElementType type, long[] dims, ReadOnlyMemory<float> floats, byte[]? raw, ushort[]? halves = null)
    {
        public string Name { get; } = name;

        public ElementType Type { get; } = type;

        public long[] Dims { get; } = dims;

        public long ByteLength => raw?.Length ?? (halves is not null ? 2L * halves.Length : 4L * floats.Length);

        /// <summary>Writes the tensor's little-endian bytes.</summary>
        public void WriteTo(Stream stream)
        {
            if (raw is not null)
            {
                stream.Write(raw);
                return;
            }
            if (halves is not null)
            {
                const int Halves = 1 << 19; // 1 MiB at a time
                byte[] piece = new byte[2 * Math.Min(Halves, halves.Length)];
                for (int start = 0; start < halves.Length; start += Halves)
                {
                    int count = Math.Min(Halves, halves.Length - start);
                    for (int i = 0; i < count; i++) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(piece.AsSpan(2 * i), halves[start + i]);
                    stream.Write(piece, 0, 2 * count);
                }
                return;
            }
            const int Piece = 1 << 18; // floats: 1 MiB at a time
            byte[]? swapped = BitConverter.IsLittleEndian ? null : new byte[4 * Piece];
            for (int start = 0; start < floats.Length; start += Piece)
            {
                ReadOnlySpan<float> piece = floats.Span.Slice(start, Math.Min(Piece, floats.Length - start));
                if (swapped is null)
                {
                    stream.Write(MemoryMarshal.AsBytes(piece));
                    continue;
                }
                for (int i = 0; i < piece.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(swapped.AsSpan(4 * i), piece[i]);
                stream.Write(swapped, 0, 4 * piece.Length);
            }
        }
    }

    private sealed record ValueInfo(string Name, ElementType Type, object[]? Dims);

    private readonly List<Node> _nodes = new();
    private readonly List<Initializer> _initializers = new();
    private readonly List<ValueInfo> _inputs = new(), _outputs = new();
    private readonly HashSet<string> _names;

    public OnnxGraph() => _names = new HashSet<string>(StringComparer.Ordinal);

    private OnnxGraph(HashSet<string> names, string name)
    {
        _names = names;
        Name = name;
    }

    /// <summary>A subgraph's name (a Loop's body), null for the model's graph.</summary>
    public string? Name { get; }

    /// <summary>A subgraph (a Loop's body): its values share this graph's names, and it may read this graph's values.</summary>
    public OnnxGraph Subgraph(string hint) => new(_names, Fresh(hint));

    /// <summary>A subgraph's input or output of unknown shape.</summary>
    public string Input(string name, ElementType type)
    {
        _names.Add(name);
        _inputs.Add(new ValueInfo(name, type, null));
        return name;
    }

    public void Output(string name, ElementType type) => _outputs.Add(new ValueInfo(name, type, null));

    /// <summary>A 0-D int64 initializer (a Loop's trip count, an index).</summary>
    public string Int64Scalar(string hint, long value)
    {
        var raw = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw, value);
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.Int64, Array.Empty<long>(), default, raw));
        return name;
    }

    /// <summary>A value name not used yet, from <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        string name = hint;
        for (int i = 1; !_names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    /// <summary>A graph input; a dimension is a number or a symbolic name (dynamic).</summary>
    public string Input(string name, ElementType type, params object[] dims)
    {
        _names.Add(name);
        _inputs.Add(new ValueInfo(name, type, dims));
        return name;
    }

    public void Output(string name, ElementType type, params object[] dims) => _outputs.Add(new ValueInfo(name, type, dims));

    /// <summary>A float initializer (a weight or a constant table).</summary>
    public string Floats(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.Float, dims, Checked(hint, values.ToArray(), dims), null));
        return name;
    }

    /// <summary>A bfloat16 initializer from its bits (a held weight), written in pieces (it may pass a byte array's 2 GB).</summary>
    public string BFloat16s(string hint, ushort[] bits, params long[] dims)
    {
        if (bits.Length != dims.Aggregate(1L, (a, d) => a * d))
            throw new ArgumentException($"{hint}: {bits.Length} values for dimensions [{string.Join(", ", dims)}].");
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.BFloat16, dims, default, null, bits));
        return name;
    }

    /// <summary>An initializer of <paramref name="type"/> from its little-endian bytes (raw_data).</summary>
    public string Raw(string hint, ElementType type, byte[] raw, params long[] dims)
    {
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, type, dims, default, raw));
        return name;
    }

    /// <summary>
    /// The value the graph input <paramref name="input"/> takes when it is not fed: an initializer of the input's own name
    /// (IR version 4 and later; ONNX Runtime lists it among the session's overridable initializers, not its inputs).
    /// </summary>
    public void Default(string input, ReadOnlySpan<float> values, params long[] dims)
    {
        if (!_inputs.Any(i => i.Name == input)) throw new ArgumentException($"{input} is not an input of the graph.", nameof(input));
        _initializers.Add(new Initializer(input, ElementType.Float, dims, Checked(input, values.ToArray(), dims), null));
    }

    /// <summary>
    /// A float initializer that keeps <paramref name="values"/> rather than a copy (a parameter's memory): the graph is
    /// written before the values can change.
    /// </summary>
    public string Floats(string hint, ReadOnlyMemory<float> values, params long[] dims)
    {
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.Float, dims, Checked(hint, values, dims), null));
        return name;
    }

    private static ReadOnlyMemory<float> Checked(string hint, ReadOnlyMemory<float> values, long[] dims)
    {
        if (values.Length != dims.Aggregate(1L, (a, d) => a * d))
            throw new ArgumentException($"{hint}: {values.Length} values for dimensions [{string.Join(", ", dims)}].");
        return values;
    }

    /// <summary>A 1-D double initializer (the rotary frequencies and the numbers they are computed from).</summary>
    public string Doubles(string hint, params double[] values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), values[i]);
        return Raw(hint, ElementType.Double, raw, values.Length);
    }

    /// <summary>A 1-D int64 initializer (shapes, axes, indices).</summary>
    public string Int64s(string hint, params long[] values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.Int64, new long[] { values.Length }, default, raw));
        return name;
    }

    /// <summary>A node with one output; returns the output's name.</summary>
    public string Add(string opType, string hint, string[] inputs, params (string Name, object Value)[] attributes) =>
        AddMany(opType, hint, inputs, 1, attributes)[0];

    /// <summary>A node with <paramref name="outputs"/> outputs; returns their names. An empty input name is an omitted optional input.</summary>
    public string[] AddMany(string opType, string hint, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        string[] names = Enumerable.Range(0, outputs).Select(i => Fresh(outputs == 1 ? hint : $"{hint}_{i}")).ToArray();
        Attribute[] attrs = attributes.Select(a => a.Value switch
        {
            int i => (Attribute)new IntAttribute(a.Name, i),
            long l => new IntAttribute(a.Name, l),
            float f => new FloatAttribute(a.Name, f),
            long[] ls => new IntsAttribute(a.Name, ls),
            string s => new StringAttribute(a.Name, s),
            string[] ss => new StringsAttribute(a.Name, ss),
            OnnxGraph body => new GraphAttribute(a.Name, body),
            _ => throw new ArgumentException($"No ONNX attribute for a {a.Value.GetType().Name}."),
        }).ToArray();
        _nodes.Add(new Node(opType, Fresh("node_" + hint), inputs, names, attrs));
        return names;
    }

    /// <summary>
    /// Keeps <paramref name="names"/> from the fresh names: the graph's outputs, named before the layers are written (a layer
    /// named <c>output</c> would otherwise take the name, and the graph's output would be bound to its value).
    /// </summary>
    public void Reserve(params string[] names)
    {
        foreach (string name in names) _names.Add(name);
    }

    /// <summary>The graph output <paramref name="name"/> (reserved beforehand with <see cref="Reserve"/>): <paramref name="value"/> under that name.</summary>
    public void Output(string name, string value, ElementType type, params object[] dims)
    {
        _nodes.Add(new Node("Identity", Fresh("node_" + name), [value], [name], []));
        _outputs.Add(new ValueInfo(name, type, dims));
    }

    /// <summary>
    /// The most bytes a ModelProto may take: protobuf's limit on one message, 2 GB (2³¹ − 1 bytes), past which readers
    /// (ONNX Runtime among them) refuse it. Lowered by tests to reach the refusal without 2 GB of weights.
    /// </summary>
    internal static long MaxModelBytes = int.MaxValue;

    /// <summary>
    /// The fewest bytes a weight tensor (floats, or a held weight's bfloat16 or 8-bit values) takes to go to external data (the
    /// <c>onnx</c> package's <c>size_threshold</c>): smaller ones (scalars, short constants) stay in the graph, as do the
    /// integer tensors (shapes, axes, indices), which ONNX
    /// Runtime reads while it infers shapes, before any external data is loaded. Lowered by tests.
    /// </summary>
    internal static long ExternalThreshold = 1024;

    /// <summary>
    /// The ModelProto with every tensor inside it: IR version 8, the default domain at <paramref name="opset"/>. Its size is
    /// counted first: a model past <see cref="MaxModelBytes"/> is refused before any nested message is built.
    /// </summary>
    public byte[] Serialize(string graphName, int opset, string producer, string producerVersion) =>
        Serialize(graphName, opset, producer, producerVersion, external: null,
            "export it to a file (ExportOnnx, ExportOnnxStep), which writes its weights beside it as ONNX external data.");

    /// <summary>
    /// The files of the model saved at <paramref name="path"/>, to be written together (<see cref="AtomicFile.WriteAll"/>):
    /// the graph alone, or — per <paramref name="mode"/> — its data file (<c>{file name}.data</c> in the same folder) and the
    /// graph that refers to it. Everything that can fail (a model too large) fails here, before anything is written.
    /// </summary>
    public List<(string Path, Action<Stream> Write)> Files(string path, OnnxExternalData mode, string graphName, int opset, string producer, string producerVersion)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Path.GetFileName(path);
        if (file.Length == 0) throw new ArgumentException($"'{path}' names a folder; the ONNX model needs a file name (model.onnx).", nameof(path));
        long? whole = mode == OnnxExternalData.WhenLarge ? Count(graphName, opset, producer, producerVersion, null) : null;
        if (mode == OnnxExternalData.Never || whole <= MaxModelBytes)
        {
            byte[] bytes = Serialize(graphName, opset, producer, producerVersion, external: null,
                "OnnxExternalData.Never keeps the weights in it; WhenLarge (the default) or Always writes them beside it as external data.", whole);
            return [(path, stream => stream.Write(bytes))];
        }
        // (ONNX's checker refuses a location with ".." anywhere in it, as a way out of the model's folder)
        if (file.Contains("..", StringComparison.Ordinal))
            throw new ArgumentException($"'{path}': the weights would go to '{file}.data', and ONNX readers refuse a data file whose name holds \"..\"; choose another file name.", nameof(path));
        ExternalData data = Place(file + ".data");
        byte[] model = Serialize(graphName, opset, producer, producerVersion, data, "even with its weights in external data.");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return [(Path.Combine(folder, data.Location), data.WriteTo), (path, stream => stream.Write(model))];
    }

    /// <summary>The ModelProto, refused (with <paramref name="remedy"/>) past <see cref="MaxModelBytes"/>; <paramref name="counted"/>: its length, when already counted.</summary>
    private byte[] Serialize(string graphName, int opset, string producer, string producerVersion, ExternalData? external, string remedy, long? counted = null)
    {
        long length = counted ?? Count(graphName, opset, producer, producerVersion, external);
        if (length > MaxModelBytes)
            throw new NotSupportedException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The ONNX model '{graphName}' would take {length:N0} bytes, past the 2 GB protobuf limit on one message (at most {MaxModelBytes:N0} bytes), which ONNX Runtime could not read: ") + remedy);
        var writer = new ProtoWriter();
        Write(writer, graphName, opset, producer, producerVersion, external);
        return writer.ToArray();
    }

    /// <summary>The ModelProto's bytes, counted without building it.</summary>
    private long Count(string graphName, int opset, string producer, string producerVersion, ExternalData? external)
    {
        ProtoWriter counter = ProtoWriter.Counter();
        Write(counter, graphName, opset, producer, producerVersion, external);
        return counter.Length;
    }

    private void Write(ProtoWriter model, string graphName, int opset, string producer, string producerVersion, ExternalData? external)
    {
        model.Int(1, 8); // ir_version
        model.String(2, producer).String(3, producerVersion);
        model.Message(7, g => WriteGraph(g, graphName, external));
        model.Message(8, o => o.String(1, "").Int(2, opset)); // opset_import: the default domain
    }

    /// <summary>
    /// Where the weight tensors of <see cref="ExternalThreshold"/> bytes or more — this graph's and its subgraphs' — go in the data
    /// file <paramref name="location"/>: one after another, each at a multiple of <see cref="ExternalData.Alignment"/>.
    /// </summary>
    private ExternalData Place(string location)
    {
        var data = new ExternalData(location);
        foreach (Initializer t in Initializers())
            if (t.Type is ElementType.Float or ElementType.UInt8 or ElementType.Int8 or ElementType.BFloat16 && t.ByteLength >= ExternalThreshold) data.Add(t);
        return data;
    }

    private IEnumerable<Initializer> Initializers() =>
        _initializers.Concat(_nodes.SelectMany(n => n.Attributes.OfType<GraphAttribute>()).SelectMany(a => a.Body.Initializers()));

    /// <summary>
    /// ONNX external data: the tensors' bytes in one file beside the graph, each tensor naming the file (relative to the
    /// graph's folder), its offset and its length; offsets are multiples of 4096, as ONNX asks so that runtimes may map them.
    /// </summary>
    private sealed class ExternalData(string location)
    {
        public const int Alignment = 4096;

        private readonly List<Initializer> _tensors = new();
        private readonly Dictionary<Initializer, long> _offsets = new(ReferenceEqualityComparer.Instance);
        private long _length;

        public string Location { get; } = location;

        public void Add(Initializer t)
        {
            long offset = (_length + Alignment - 1) / Alignment * Alignment;
            _offsets.Add(t, offset);
            _tensors.Add(t);
            _length = offset + t.ByteLength;
        }

        public bool TryGetOffset(Initializer t, out long offset) => _offsets.TryGetValue(t, out offset);

        public void WriteTo(Stream stream)
        {
            long written = 0;
            var zeros = new byte[Alignment];
            foreach (Initializer t in _tensors)
            {
                long offset = _offsets[t];
                stream.Write(zeros, 0, (int)(offset - written));
                t.WriteTo(stream);
                written = offset + t.ByteLength;
            }
        }
    }

    /// <summary>The GraphProto's fields: nodes, name, initializers, inputs, outputs.</summary>
    private void WriteGraph(ProtoWriter g, string graphName, ExternalData? external)
    {
        {
            foreach (Node n in _nodes)
            {
                g.Message(1, w =>
                {
                    foreach (string i in n.Inputs) w.String(1, i);
                    foreach (string o in n.Outputs) w.String(2, o);
                    w.String(3, n.Name).String(4, n.OpType);
                    foreach (Attribute a in n.Attributes) w.Message(5, at => WriteAttribute(at, a, external));
                });
            }
            g.String(2, graphName);
            foreach (Initializer t in _initializers) g.Message(5, w => WriteTensor(w, t, external));
            foreach (ValueInfo v in _inputs) g.Message(11, w => WriteValueInfo(w, v));
            foreach (ValueInfo v in _outputs) g.Message(12, w => WriteValueInfo(w, v));
        }
    }

    /// <summary>A TensorProto: its bytes in raw_data, or where they lie in the external data (external_data, data_location).</summary>
    private static void WriteTensor(ProtoWriter w, Initializer t, ExternalData? external)
    {
        w.PackedInts(1, t.Dims).Int(2, (int)t.Type).String(8, t.Name);
        if (external is null || !external.TryGetOffset(t, out long offset))
        {
            w.Bytes(9, t.ByteLength, t.WriteTo);
            return;
        }
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        w.Message(13, e => e.String(1, "location").String(2, external.Location));
        w.Message(13, e => e.String(1, "offset").String(2, offset.ToString(invariant)));
        w.Message(13, e => e.String(1, "length").String(2, t.ByteLength.ToString(invariant)));
        w.Int(14, 1); // data_location: EXTERNAL
    }

    private static void WriteAttribute(ProtoWriter w, Attribute a, ExternalData? external)
    {
        w.String(1, a.Name);
        switch (a)
        {
            case IntAttribute i: w.Int(3, i.Value).Int(20, 2); break;
            case FloatAttribute f: w.Float(2, f.Value).Int(20, 1); break;
            case IntsAttribute l: w.PackedInts(8, l.Values).Int(20, 7); break;
            case StringAttribute s: w.String(4, s.Value).Int(20, 3); break;
            case StringsAttribute ss:
                foreach (string s in ss.Values) w.String(9, s);
                w.Int(20, 8);
                break;
            case GraphAttribute body:
                w.Message(6, g => body.Body.WriteGraph(g, body.Body.Name ?? body.Name, external)).Int(20, 5);
                break;
        }
    }

    private static void WriteValueInfo(ProtoWriter w, ValueInfo v)
    {
        w.String(1, v.Name);
        w.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, (int)v.Type);
            if (v.Dims is null) return; // a subgraph's value of unknown shape
            tensor.Message(2, shape =>
            {
                foreach (object d in v.Dims)
                    shape.Message(1, dim => { if (d is string s) dim.String(2, s); else dim.Int(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)); });
            });
        }));
    }
}
