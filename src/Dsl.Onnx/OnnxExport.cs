using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Dsl.Onnx;

namespace Dsl;

/// <summary>Options of <see cref="OnnxExport.ExportOnnx"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Adds an int64 input <c>lengths</c> [batch]: padded sequences, as <c>Forward(input, lengths)</c> (recurrent layers'
    /// <c>sequence_lens</c>). Each length must lie in 1 … steps: the runtime refuses others, and so does ONNX Runtime's CPU provider running the graph.
    /// </summary>
    public bool Lengths { get; init; }

    /// <summary>
    /// Where <see cref="OnnxExport.ExportOnnx"/> puts the weights: in the model file unless it would pass protobuf's 2 GB
    /// (<see cref="OnnxExternalData.WhenLarge"/>, the default), always beside it, or never beside it.
    /// </summary>
    public OnnxExternalData ExternalData { get; init; }

    /// <summary>No longer read: a positional encoding is computed in the graph for any number of steps (it had been a constant table of this many rows).</summary>
    [Obsolete("Positional encodings are computed in the graph for any number of steps; MaxSteps is not read.")]
    public int MaxSteps { get; init; } = 1024;
}

/// <summary>
/// Where an exported model's weights go: inside the model file (a protobuf message, at most 2 GB), or in ONNX's external
/// data — one file beside the model named after it with <c>.data</c> added (<c>model.onnx</c> → <c>model.onnx.data</c>), as
/// PyTorch's exporter names it — holding every weight and float constant of 1 KiB or more at an offset that is a multiple of 4096, which the
/// model refers to by that relative name: the two files move together. ONNX Runtime, <c>onnx.load</c> and other ONNX
/// readers load it from the model's path (not from its bytes alone).
/// </summary>
public enum OnnxExternalData
{
    /// <summary>Inside the model file, unless that would pass protobuf's 2 GB limit on one message: then as <see cref="Always"/>.</summary>
    WhenLarge,

    /// <summary>The weights in the data file beside the model, whatever their size.</summary>
    Always,

    /// <summary>Inside the model file; a model past 2 GB is refused, naming its size, and nothing is written.</summary>
    Never,
}

/// <summary>
/// Exports a generated model to ONNX (opset 17): one input <c>input</c> — int64 token ids [batch, steps] or float
/// [batch, steps, features] — and one output <c>output</c> ([batch, steps, out] or [batch, out]), batch and steps dynamic.
/// Embedding → Gather (a negative id made out of range, as the runtime refuses it; then Mul by √dim with ScaleBySqrtDim); Dense → MatMul + Add (+ activation);
/// Dropout → nothing; RNN/LSTM/GRU → ONNX's RNN/LSTM/GRU, one node per stacked layer with both directions, the gates
/// reordered (<see cref="GateOrder"/>) and the input and recurrent biases side by side; LayerNorm → LayerNormalization; RmsNorm → x / √(ReduceMean(x²) + ε) · weight;
/// Residual → Add; positional encoding → computed for the input's steps (Range, Sin and Cos in double); attention →
/// MatMul/Softmax; an LSTM projection → a Loop over one cell. What a graph cannot hold (a decoder's cross-attention
/// outside its step graph, input feeding over a whole sequence) is an error naming the layer. The layers are written by
/// <see cref="Exporter"/>.
/// </summary>
public static class OnnxExport
{
    private const int Opset = 17;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> as an ONNX model, its weights inside it or beside it in
    /// <c>{path}.data</c> (<see cref="OnnxExportOptions.ExternalData"/>). The files are replaced only once all are written: a
    /// failure leaves the old ones as they were.
    /// </summary>
    public static void ExportOnnx(this IModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxExportOptions();
        Placement(options.ExternalData, nameof(options));
        AtomicFile.WriteAll(Build(model, options).Files(path, options.ExternalData));
    }

    /// <summary>
    /// The ONNX model's bytes (a ModelProto), every weight inside it; a model past protobuf's 2 GB is refused:
    /// <see cref="ExportOnnx"/> writes it with its weights beside it.
    /// </summary>
    public static byte[] ToOnnx(this IModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        if (Placement(options.ExternalData, nameof(options)) == OnnxExternalData.Always)
            throw new ArgumentException("ExternalData = Always puts the weights in a file beside the model: export to a path (ExportOnnx); ToOnnx returns one message holding them.", nameof(options));
        return Build(model, options).Bytes();
    }

    /// <summary><paramref name="mode"/>, when it is one of <see cref="OnnxExternalData"/>'s values.</summary>
    private static OnnxExternalData Placement(OnnxExternalData mode, string parameter) => Enum.IsDefined(mode)
        ? mode
        : throw new ArgumentOutOfRangeException(parameter, mode, $"Expected OnnxExternalData.WhenLarge, Always or Never, got {(int)mode}.");

    /// <summary>A graph built, with what its files are written under.</summary>
    private readonly record struct Built(OnnxGraph Graph, string Name)
    {
        public byte[] Bytes() => Graph.Serialize(Name, Opset, "Dsl", Version);

        public List<(string Path, Action<Stream> Write)> Files(string path, OnnxExternalData mode) => Graph.Files(path, mode, Name, Opset, "Dsl", Version);
    }

    private static Built Build(IModel model, OnnxExportOptions options)
    {
        ModelArchitecture arch = Describe(model);
        var g = new OnnxGraph();
        g.Reserve("output");
        var x = new Exporter(g, model.Parameters);
        string input = arch.TakesTokens
            ? g.Input("input", ElementType.Int64, "batch", "steps")
            : g.Input("input", ElementType.Float, "batch", "steps", model.InputWidth);
        string? lengths = options.Lengths ? CheckedLengths(g, g.Input("lengths", ElementType.Int64, "batch"), input, "lengths") : null;
        if (lengths is not null && !arch.TakesTokens) input = x.MaskPaddedSteps(input, lengths);
        string current = Layers(x, arch, input, lengths);
        g.Output("output", current, ElementType.Float, model.ReturnsSequences ? new object[] { "batch", "steps", model.OutputWidth } : new object[] { "batch", model.OutputWidth });
        return new Built(g, arch.Name);
    }

    /// <summary>
    /// The model as one step from a carried state, for decoding or streaming in any ONNX runtime: inputs <c>input</c>
    /// (int64 [batch] or float [batch, features]) and each recurrent state under its <c>State</c> name (<c>lstm.h_l0</c>,
    /// <c>lstm.c_l0</c>… [batch, width]; zeros start a sequence — and for a layer with <c>LearnInitialState</c>, leaving the
    /// input out: its learned state is the input's default, an initializer of its name that ONNX Runtime lists among the
    /// session's overridable initializers), and for cross-attention <c>memory</c> [batch, source steps, M] and
    /// <c>memory_lengths</c> (int64 [batch], each in 1 … source steps: the runtime refuses others, and so does the graph in
    /// ONNX Runtime; the memory past a source's length is read as zeros); with positional encodings or causal multi-head
    /// self-attention, <c>position</c> (int64 [1], the steps taken) and each such layer's key/value cache
    /// <c>attention.cache</c> [batch, past, 2E] (keys then values, 2 · E_kv with grouped-query attention; no past step to start). Outputs <c>output</c>
    /// [batch, out] and the next of each carried input (<c>next.lstm.h_l0</c>, <c>next.attention.cache</c>,
    /// <c>next.position</c>…).
    /// </summary>
    public static byte[] ToOnnxStep(this IModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Step(model, model.Parameters, "").Bytes();
    }

    /// <summary>Writes <see cref="ToOnnxStep"/> to <paramref name="path"/>, its weights where <paramref name="externalData"/> says.</summary>
    public static void ExportOnnxStep(this IModel model, string path, OnnxExternalData externalData = OnnxExternalData.WhenLarge)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        Placement(externalData, nameof(externalData));
        AtomicFile.WriteAll(Step(model, model.Parameters, "").Files(path, externalData));
    }

    /// <summary>
    /// An encoder–decoder as two graphs, so that greedy or beam search runs in any ONNX runtime. The encoder: inputs
    /// <c>source</c> (int64 [batch, source steps] or float [batch, source steps, features]) and <c>source_lengths</c>
    /// (int64 [batch], each in 1 … source steps: the runtime refuses others, and so does the graph); outputs
    /// <c>memory</c> [batch, source steps, M] and the decoder's initial states under their <c>State</c> names (the bridges
    /// applied). The decoder: <see cref="ToOnnxStep"/>, with <c>memory</c> and <c>memory_lengths</c> (the source lengths).
    /// </summary>
    public static (byte[] Encoder, byte[] DecoderStep) ToOnnx<TSource, TEncoder, TDecoder>(this EncoderDecoderModel<TSource, TEncoder, TDecoder> model)
        where TEncoder : IEncoder<TSource> where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        var (encoder, decoder) = Graphs(model);
        return (encoder.Bytes(), decoder.Bytes());
    }

    private static (Built Encoder, Built DecoderStep) Graphs<TSource, TEncoder, TDecoder>(EncoderDecoderModel<TSource, TEncoder, TDecoder> model)
        where TEncoder : IEncoder<TSource> where TDecoder : IModel<int>
    {
        ModelArchitecture encoder = Describe(model.Encoder), decoder = Describe(model.Decoder);
        List<(string Name, int Width)> states = StateNames(decoder);
        var g = new OnnxGraph();
        g.Reserve(["memory", .. states.Select(s => s.Name)]);
        var x = new Exporter(g, model.Parameters, "encoder.");
        string source = encoder.TakesTokens
            ? g.Input("source", ElementType.Int64, "batch", "source_steps")
            : g.Input("source", ElementType.Float, "batch", "source_steps", model.Encoder.InputWidth);
        string lengths = CheckedLengths(g, g.Input("source_lengths", ElementType.Int64, "batch"), source, "source_lengths");
        if (!encoder.TakesTokens) source = x.MaskPaddedSteps(source, lengths);
        string current = Layers(x, encoder, source, lengths);
        g.Output("memory", current, ElementType.Float, "batch", "source_steps", model.Encoder.OutputWidth);
        // the decoder's initial states: the encoder's last recurrent layer's final states through the bridges
        RecurrentInfo? last = encoder.Layers.OfType<RecurrentInfo>().LastOrDefault();
        var finals = new List<string>();
        if (last is not null)
            for (int l = 0; l < last.Layers; l++)
            {
                finals.Add(x.StateOut[$"{last.Name}.h_l{l}"]);
                if (last.Kind == RecurrentKind.Lstm) finals.Add(x.StateOut[$"{last.Name}.c_l{l}"]);
            }
        var bridged = new HashSet<int>();
        foreach (Bridge b in model.Bridges)
        {
            string value = finals[b.From];
            if (b.Dense)
            {
                string weight = WeightTensor.Of(model.Parameters[b.Name + ".weight"], b.OutWidth, b.InWidth).Transposed().AddTo(g, b.Name + ".weight_t", b.InWidth, b.OutWidth);
                value = g.Add("Add", b.Name, [g.Add("MatMul", b.Name + "_matmul", [value, weight]),
                    g.Floats(b.Name + ".bias", Exporter.Values(model.Parameters[b.Name + ".bias"]), b.OutWidth)]);
                if (b.Tanh) value = g.Add("Tanh", b.Name + "_tanh", [value]);
            }
            g.Output(states[b.To].Name, value, ElementType.Float, "batch", states[b.To].Width);
            bridged.Add(b.To);
        }
        // a state no bridge fills (an input-fed context, a decoder's recurrent layer without an encoder's) starts at zero, or
        // from its learned value
        string? batch = null;
        for (int i = 0; i < states.Count; i++)
        {
            if (bridged.Contains(i)) continue;
            batch ??= g.Add("Slice", "source_batch", [g.Add("Shape", "source_shape", [source]), g.Int64s("first", 0), g.Int64s("second", 1), g.Int64s("axis0", 0)]);
            string shape = g.Add("Concat", states[i].Name + "_shape", [batch, g.Int64s(states[i].Name + "_width", states[i].Width)], ("axis", 0L));
            string initial = LearnedInitialState(decoder, model.Parameters, "decoder.", states[i].Name) is { } learned
                ? g.Add("Expand", states[i].Name + "_learned", [g.Floats(states[i].Name + "_learned_value", learned, 1, states[i].Width), shape])
                : g.Add("ConstantOfShape", states[i].Name + "_zeros", [shape]);
            g.Output(states[i].Name, initial, ElementType.Float, "batch", states[i].Width);
        }
        return (new Built(g, encoder.Name), Step(model.Decoder, model.Parameters, "decoder."));
    }

    /// <summary>
    /// Writes the encoder and the decoder step of <paramref name="model"/> (see <see cref="ToOnnx{TSource, TEncoder, TDecoder}"/>),
    /// the weights of each where <paramref name="externalData"/> says; all the files are replaced together once all are written.
    /// </summary>
    public static void ExportOnnx<TSource, TEncoder, TDecoder>(this EncoderDecoderModel<TSource, TEncoder, TDecoder> model, string encoderPath, string decoderStepPath,
        OnnxExternalData externalData = OnnxExternalData.WhenLarge)
        where TEncoder : IEncoder<TSource> where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(encoderPath);
        ArgumentException.ThrowIfNullOrEmpty(decoderStepPath);
        Placement(externalData, nameof(externalData));
        var (encoder, decoder) = Graphs(model);
        // (two graphs on one path, or a graph on the other's data file, are refused by WriteAll before anything is written)
        AtomicFile.WriteAll([.. encoder.Files(encoderPath, externalData), .. decoder.Files(decoderStepPath, externalData)]);
    }

    private static string Version => typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0";

    private static ModelArchitecture Describe(IModel model) => model.Architecture
        ?? throw new NotSupportedException(IsComposition(model.GetType())
            ? $"{model.GetType().Name} is an encoder–decoder: it exports as two graphs, ExportOnnx(encoderPath, decoderStepPath)."
            : $"{model.GetType().Name} describes no architecture (only generated models export to ONNX).");

    private static bool IsComposition(Type? type)
    {
        for (; type is not null; type = type.BaseType)
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EncoderDecoderModel<,,>)) return true;
        return false;
    }

    /// <summary>A model's recurrent states in its State's order (each recurrent layer's h_l, then c_l for an LSTM), with their widths.</summary>
    private static List<(string Name, int Width)> StateNames(ModelArchitecture arch)
    {
        var names = new List<(string, int)>();
        foreach (RecurrentInfo r in arch.Layers.OfType<RecurrentInfo>())
        {
            if (r.Bidirectional) throw new NotSupportedException($"Layer '{r.Name}' is bidirectional: a model with it does not step.");
            for (int l = 0; l < r.Layers; l++)
            {
                names.Add(($"{r.Name}.h_l{l}", r.Projection > 0 ? r.Projection : r.Hidden));
                if (r.Kind == RecurrentKind.Lstm) names.Add(($"{r.Name}.c_l{l}", r.Hidden));
            }
        }
        // input feeding: the context fed to the next step, after the recurrent states (the State's order)
        foreach (AttentionInfo a in arch.Layers.OfType<AttentionInfo>().Where(a => a.InputFeeding)) names.Add(($"{a.Name}.context", a.MemoryWidth));
        return names;
    }

    /// <summary>
    /// The learned initial value of the state <paramref name="state"/> (<c>lstm.h_l0</c> → the parameter <c>lstm.h0_l0</c>)
    /// when its layer learns its initial state; null when it starts from zeros.
    /// </summary>
    private static float[]? LearnedInitialState(ModelArchitecture arch, ParameterSet parameters, string prefix, string state)
    {
        int dot = state.LastIndexOf('.');
        string layer = state[..dot], which = state[(dot + 1)..]; // h_l0, c_l0, context
        if (arch.Layers.OfType<RecurrentInfo>().FirstOrDefault(r => r.Name == layer) is not { LearnInitialState: true } || which.Length < 3 || which[1] != '_') return null;
        string parameter = $"{prefix}{layer}.{which[0]}0{which[1..]}";
        return (parameters.FirstOrDefault(p => p.Name == parameter) ?? throw new InvalidOperationException($"Layer '{layer}': no parameter {parameter}.")).ToArray();
    }

    /// <summary>
    /// The caches a step graph carries for causal self-attention: multi-head keys and values (<c>attention.cache</c>
    /// [B, past, 2E], 2 · E_kv with grouped-query attention); the General and Additive scores' inputs and keys (<c>attention.inputs</c>, <c>attention.keys</c>).
    /// </summary>
    private static List<(string Name, int Width)> CacheNames(ModelArchitecture arch)
    {
        var names = new List<(string, int)>();
        foreach (AttentionInfo a in arch.Layers.OfType<AttentionInfo>().Where(a => a is { MemoryWidth: 0, Pool: false, Causal: true }))
        {
            if (a.Score is AttentionScore.ScaledDot or AttentionScore.Dot) names.Add(($"{a.Name}.cache", 2 * a.KeyValueWidth));
            else
            {
                names.Add(($"{a.Name}.inputs", a.InWidth));
                names.Add(($"{a.Name}.keys", a.Score == AttentionScore.General ? a.InWidth : a.Units > 0 ? a.Units : a.InWidth));
            }
        }
        return names;
    }

    /// <summary>
    /// <paramref name="lengths"/> [batch], on a path that fails in ONNX Runtime (its CPU provider: CUDA's Gather does not check
    /// its indices) when one lies outside 1 … the steps of
    /// <paramref name="sequence"/> (its dimension 1), as the runtime refuses them: a Gather from one zero at index 0 for a
    /// valid length and 1, out of range, for another, its node named <c>node_{what}_must_be_1_to_steps</c>, which ONNX Runtime's
    /// error names. A length past the steps had read past the sequence in the recurrent operators, and 0 or a negative one had
    /// given outputs where the runtime gives an error.
    /// </summary>
    private static string CheckedLengths(OnnxGraph g, string lengths, string sequence, string what)
    {
        string shape = g.Add("Shape", what + "_sequence_shape", [sequence]);
        string steps = g.Add("Slice", what + "_steps", [shape, g.Int64s(what + "_one", 1), g.Int64s(what + "_two", 2), g.Int64s(what + "_axis", 0)]);
        string outside = g.Add("Or", what + "_outside", [g.Add("Less", what + "_below_one", [lengths, g.Int64s(what + "_least", 1)]),
            g.Add("Greater", what + "_past_steps", [lengths, steps])]);
        string index = g.Add("Cast", what + "_index", [outside], ("to", (long)ElementType.Int64));
        string zeros = g.Add("Gather", what + "_must_be_1_to_steps", [g.Int64s(what + "_zero", 0), index], ("axis", 0L));
        return g.Add("Add", what + "_checked", [lengths, zeros]);
    }

    /// <summary>Every layer in order from <paramref name="input"/>; returns the last output.</summary>
    private static string Layers(Exporter x, ModelArchitecture arch, string input, string? lengths)
    {
        string current = input;
        var outputs = new string[arch.Layers.Count];
        for (int i = 0; i < arch.Layers.Count; i++)
        {
            current = x.Layer(arch.Layers[i], current, outputs, lengths, i + 1 < arch.Layers.Count ? arch.Layers[i + 1] : null);
            outputs[i] = current;
        }
        return current;
    }

    /// <summary>The step graph of a model whose parameters are named with <paramref name="prefix"/> in <paramref name="parameters"/>.</summary>
    private static Built Step(IModel model, ParameterSet parameters, string prefix)
    {
        ModelArchitecture arch = Describe(model);
        var g = new OnnxGraph();
        List<(string Name, int Width)> states = StateNames(arch), caches = CacheNames(arch);
        g.Reserve(["output", "next.position", .. states.Concat(caches).Select(s => "next." + s.Name)]);
        AttentionInfo? cross = arch.Layers.OfType<AttentionInfo>().FirstOrDefault(a => a.MemoryWidth > 0);
        (string, string)? memory = null;
        if (cross is not null)
        {
            string values = g.Input("memory", ElementType.Float, "batch", "source_steps", cross.MemoryWidth);
            memory = (values, CheckedLengths(g, g.Input("memory_lengths", ElementType.Int64, "batch"), values, "memory_lengths"));
        }
        // a step at a position (positional encodings, key/value caches): the steps taken, int64 [1]
        bool positional = caches.Count > 0 || arch.Layers.Any(l => l is PositionalEncodingInfo or PositionEmbeddingInfo);
        string? position = positional ? g.Input("position", ElementType.Int64, 1) : null;
        var x = new Exporter(g, parameters, prefix) { Memory = memory, Stepping = true, Position = position };
        foreach (var (name, width) in caches) x.CacheIn[name] = g.Input(name, ElementType.Float, "batch", "past", width);
        string input = arch.TakesTokens ? g.Input("input", ElementType.Int64, "batch") : g.Input("input", ElementType.Float, "batch", model.InputWidth);
        foreach (var (name, width) in states)
        {
            x.StateIn[name] = g.Input(name, ElementType.Float, "batch", width);
            // a layer that learns its initial state starts from it when the input is left out: the learned [1, width] is the default
            if (LearnedInitialState(arch, parameters, prefix, name) is { } learned) g.Default(name, learned, 1, width);
        }
        // one step is a sequence of one: [B] → [B, 1] (or [B, F] → [B, 1, F]), and the output back to [B, out]
        string sequence = g.Add("Unsqueeze", "input_step", [input, g.Int64s("step_axis", 1)]);
        string current = Layers(x, arch, sequence, null);
        if (model.ReturnsSequences) current = g.Add("Squeeze", "output_step", [current, g.Int64s("step_axis_out", 1)]);
        g.Output("output", current, ElementType.Float, "batch", model.OutputWidth);
        foreach (var (name, width) in states) g.Output("next." + name, x.StateOut[name], ElementType.Float, "batch", width);
        foreach (var (name, width) in caches) g.Output("next." + name, x.CacheOut[name], ElementType.Float, "batch", "past_next", width);
        if (position is not null) g.Output("next.position", g.Add("Add", "position_next", [position, g.Int64s("one_step", 1)]), ElementType.Int64, 1);
        return new Built(g, arch.Name + "Step");
    }
}
