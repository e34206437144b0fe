using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl.Onnx;

/// <summary>ONNX's element types used here (TensorProto.DataType).</summary>
internal enum ElementType
{
    Float = 1,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Double = 11,
}

/// <summary>
/// An ONNX graph being built: nodes in order, initializers (the weights and constants), the graph's inputs and outputs,
/// and fresh value names; <see cref="Serialize"/> writes the ModelProto (onnx.proto's field numbers).
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

    private sealed record Initializer(string Name, ElementType Type, long[] Dims, byte[] Raw);

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
        _initializers.Add(new Initializer(name, ElementType.Int64, Array.Empty<long>(), raw));
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
        _initializers.Add(new Initializer(name, ElementType.Float, dims, Raw(hint, values, dims)));
        return name;
    }

    /// <summary>An initializer of <paramref name="type"/> from its little-endian bytes (raw_data).</summary>
    public string Raw(string hint, ElementType type, byte[] raw, params long[] dims)
    {
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, type, dims, raw));
        return name;
    }

    /// <summary>
    /// The value the graph input <paramref name="input"/> takes when it is not fed: an initializer of the input's own name
    /// (IR version 4 and later; ONNX Runtime lists it among the session's overridable initializers, not its inputs).
    /// </summary>
    public void Default(string input, ReadOnlySpan<float> values, params long[] dims)
    {
        if (!_inputs.Any(i => i.Name == input)) throw new ArgumentException($"{input} is not an input of the graph.", nameof(input));
        _initializers.Add(new Initializer(input, ElementType.Float, dims, Raw(input, values, dims)));
    }

    private static byte[] Raw(string hint, ReadOnlySpan<float> values, long[] dims)
    {
        if (values.Length != dims.Aggregate(1L, (a, d) => a * d))
            throw new ArgumentException($"{hint}: {values.Length} values for dimensions [{string.Join(", ", dims)}].");
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return raw;
    }

    /// <summary>A 1-D int64 initializer (shapes, axes, indices).</summary>
    public string Int64s(string hint, params long[] values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        string name = Fresh(hint);
        _initializers.Add(new Initializer(name, ElementType.Int64, new long[] { values.Length }, raw));
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
    /// The ModelProto: IR version 8, the default domain at <paramref name="opset"/>. Its size is counted first: a model
    /// past <see cref="MaxModelBytes"/> is refused before any nested message is built (weights in external data files,
    /// ONNX's form for such models, are not written).
    /// </summary>
    public byte[] Serialize(string graphName, int opset, string producer, string producerVersion)
    {
        void Write(ProtoWriter model)
        {
            model.Int(1, 8); // ir_version
            model.String(2, producer).String(3, producerVersion);
            model.Message(7, g => WriteGraph(g, graphName));
            model.Message(8, o => o.String(1, "").Int(2, opset)); // opset_import: the default domain
        }
        ProtoWriter counter = ProtoWriter.Counter();
        Write(counter);
        if (counter.Length > MaxModelBytes)
            throw new NotSupportedException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The ONNX model '{graphName}' would take {counter.Length:N0} bytes, past the 2 GB protobuf limit on one message (at most {MaxModelBytes:N0} bytes): ") +
                "ONNX Runtime could not read it, and this exporter writes no external data files for the weights.");
        var writer = new ProtoWriter();
        Write(writer);
        return writer.ToArray();
    }

    /// <summary>The GraphProto's fields: nodes, name, initializers, inputs, outputs.</summary>
    private void WriteGraph(ProtoWriter g, string graphName)
    {
        {
            foreach (Node n in _nodes)
            {
                g.Message(1, w =>
                {
                    foreach (string i in n.Inputs) w.String(1, i);
                    foreach (string o in n.Outputs) w.String(2, o);
                    w.String(3, n.Name).String(4, n.OpType);
                    foreach (Attribute a in n.Attributes) w.Message(5, at => WriteAttribute(at, a));
                });
            }
            g.String(2, graphName);
            foreach (Initializer t in _initializers)
                g.Message(5, w => w.PackedInts(1, t.Dims).Int(2, (int)t.Type).String(8, t.Name).Bytes(9, t.Raw));
            foreach (ValueInfo v in _inputs) g.Message(11, w => WriteValueInfo(w, v));
            foreach (ValueInfo v in _outputs) g.Message(12, w => WriteValueInfo(w, v));
        }
    }

    private static void WriteAttribute(ProtoWriter w, Attribute a)
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
                w.Message(6, g => body.Body.WriteGraph(g, body.Body.Name ?? body.Name)).Int(20, 5);
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
