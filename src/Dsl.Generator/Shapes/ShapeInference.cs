using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Shapes;

/// <summary>
/// Resolves names and widths through the layer stack and finds every mistake a declaration can
/// hold. Written once; the generator and (later) the analyzers both read its findings.
/// </summary>
internal static class ShapeInference
{
    /// <summary>Models that refer to each other deeper than this are taken to form a cycle.</summary>
    private const int MaxDepth = 8;

    /// <summary>
    /// Shapes <paramref name="model"/>; <paramref name="resolve"/> finds the models it refers to (cross-attention's
    /// <c>Over</c>, a composition's encoder and decoder) by <see cref="ModelSpec.Key"/>, null when there is none.
    /// </summary>
    public static ShapedModel Infer(ModelSpec model, System.Func<string, ModelSpec?> resolve) => Infer(model, resolve, 0);

    private static ShapedModel Infer(ModelSpec model, System.Func<string, ModelSpec?> resolve, int depth)
    {
        var diagnostics = new List<DiagnosticInfo>();
        if (!model.IsPartial) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNotPartial, model.NameLocation, model.Name));
        if (model.UnsupportedReason is { } reason) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModelType, model.NameLocation, model.Name, reason));
        foreach (ContainingTypeSpec outer in model.ContainingTypes)
        {
            if (!outer.IsPartial) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContainingTypeNotPartial, outer.NameLocation, model.Name, outer.Name));
        }

        if (model.Composition is { } composition) return InferComposition(model, composition, resolve, depth, diagnostics);

        string[] names = ResolveNames(model, diagnostics);
        foreach (var (layer, i) in model.Layers.Select((l, i) => (l, i))) CheckOptions(layer, names[i], diagnostics);

        var shaped = new List<ShapedLayer>();
        LayerSpec first = model.Layers[0];
        bool takesTokens = first.Kind == LayerKind.Embedding;
        if (!first.IsInput)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingInputLayer, first.Location, model.Name, names[0]));
        for (int i = 1; i < model.Layers.Count; i++)
        {
            LayerSpec layer = model.Layers[i];
            if (layer.Kind == LayerKind.Embedding) // every layer before it, the first included, produces floats
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmbeddingAfterFloatLayer, layer.Location, names[i], names[i - 1]));
            else if (layer.IsInput)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MisplacedInputLayer, layer.Location, names[i], model.Name, i + 1));
        }
        if (model.Layers.Count == 1 && first.IsInput)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoLayerAfterInput, first.Location, model.Name));

        int width = first.IsInput ? first.Size : 0;
        bool sequence = true;
        string producer = names[0], producerReturns = "";
        bool canStep = true;
        for (int i = 0; i < model.Layers.Count; i++)
        {
            LayerSpec layer = model.Layers[i];
            int inWidth = width;
            bool inSequence = sequence;
            int directions = layer.IsRecurrent && layer.Bidirectional ? 2 : 1;
            int memoryWidth = 0, skipFrom = -1;
            string? memoryModel = null;
            switch (layer.Kind)
            {
                case LayerKind.Input:
                case LayerKind.Embedding:
                    if (i == 0) width = layer.Size;
                    break;
                case LayerKind.Rnn:
                case LayerKind.Lstm:
                case LayerKind.Gru:
                    if (!sequence)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceLayerFedVector, layer.Location, names[i], producer, producerReturns));
                    width = directions * layer.Size;
                    sequence = layer.ReturnSequences;
                    if (layer.Bidirectional) canStep = false;
                    break;
                case LayerKind.Dense:
                    width = layer.Size;
                    break;
                case LayerKind.Dropout:
                case LayerKind.LayerNorm:
                    break;
                case LayerKind.PositionalEncoding:
                    if (!sequence)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceLayerFedVector, layer.Location, names[i], producer, producerReturns));
                    canStep = false;
                    break;
                case LayerKind.Residual:
                {
                    int from = i - layer.Layers - 1;
                    if (layer.Layers <= 0) break; // DSL0002 from CheckOptions
                    if (from < 0)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, layer.ArgumentLocation("layers"), names[i],
                            $"Layers = {layer.Layers} skips past the first layer: only {i - 1} layer(s) come between it and the input"));
                        break;
                    }
                    ShapedLayer source = shaped[from];
                    if (source.OutWidth != width || source.OutIsSequence != sequence)
                    {
                        string Describe(int w, bool seq) => seq ? $"[batch, steps, {w}]" : $"[batch, {w}]";
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ResidualWidthsDiffer, layer.Location, names[i], names[from + 1],
                            Describe(source.OutWidth, source.OutIsSequence), names[i - 1], Describe(width, sequence)));
                    }
                    skipFrom = from;
                    break;
                }
                case LayerKind.Attention:
                    if (!sequence)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceLayerFedVector, layer.Location, names[i], producer, producerReturns));
                    if (layer.IsCrossAttention)
                    {
                        (memoryWidth, memoryModel) = ResolveMemory(model, layer, names[i], inWidth, resolve, depth, diagnostics);
                        width = memoryWidth > 0 ? ConcatenatedWidth(layer, names[i], inWidth, memoryWidth, diagnostics) : inWidth;
                        break;
                    }
                    bool classic = layer.Score is 2 or 3;
                    if (!classic && layer.Heads > 0 && width > 0 && width % layer.Heads != 0)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadsDoNotDivideWidth, layer.ArgumentLocation("heads"), names[i], layer.Heads, width));
                    if (classic && !layer.Pool) width = ConcatenatedWidth(layer, names[i], inWidth, inWidth, diagnostics); // [x; context]
                    int bidirectional = Enumerable.Range(0, i).Where(j => model.Layers[j].IsRecurrent && model.Layers[j].Bidirectional).DefaultIfEmpty(-1).First();
                    if (layer.Causal && bidirectional >= 0)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.CausalAfterBidirectional, layer.ArgumentLocation("causal"), names[i], names[bidirectional]));
                    canStep = false;
                    if (layer.Pool)
                    {
                        sequence = false;
                        producer = names[i];
                        producerReturns = "one pooled vector per sequence (Pool = true)";
                    }
                    break;
            }
            if (layer.IsRecurrent && !layer.ReturnSequences)
            {
                producer = names[i];
                producerReturns = "its last step only (ReturnSequences = false)";
            }
            CheckSize(layer, names[i], inWidth, memoryWidth > 0 ? memoryWidth : inWidth, directions, diagnostics);
            shaped.Add(new ShapedLayer(layer, names[i], inWidth, width, inSequence, sequence, directions, memoryWidth, memoryModel, skipFrom));
        }

        bool valid = !diagnostics.Any(d => DiagnosticDescriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);
        return new ShapedModel(
            model,
            shaped.ToEquatableArray(),
            takesTokens,
            first.IsInput ? (takesTokens ? first.Vocab : first.Size) : 0,
            takesTokens ? first.Vocab : 0,
            width,
            sequence,
            canStep,
            diagnostics.ToEquatableArray(),
            valid);
    }

    /// <summary>The width of the outputs a cross-attention layer attends over, 0 (with a diagnostic) when they cannot be used.</summary>
    private static (int Width, string? Model) ResolveMemory(ModelSpec model, LayerSpec layer, string name, int queryWidth,
        System.Func<string, ModelSpec?> resolve, int depth, List<DiagnosticInfo> diagnostics)
    {
        LocationInfo? at = layer.ArgumentLocation("over");
        ModelSpec? encoder = resolve(layer.Over!);
        if (encoder is null || encoder.Composition is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAModel, at, $"Layer '{name}'", "Over", layer.OverDisplay ?? "?"));
            return (0, null);
        }
        if (encoder.Key == model.Key)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, at, name,
                "Over must name another model (the encoder); a model attends over its own sequence with self-attention, without Over"));
            return (0, null);
        }
        if (depth >= MaxDepth)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EncoderDecoderMismatch, at, model.Name, $"its layer '{name}' starts a chain of models attending over each other that does not end"));
            return (0, null);
        }
        ShapedModel memory = Infer(encoder, resolve, depth + 1);
        if (!memory.IsValid)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EncoderDecoderMismatch, at, model.Name, $"its layer '{name}' attends over '{encoder.Name}', which has declaration errors"));
            return (0, encoder.Name);
        }
        if (!memory.OutputIsSequence)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceLayerFedVector, at, name, encoder.Name, "one vector per sequence"));
            return (0, encoder.Name);
        }
        if (layer.Score is 0 or 1 && queryWidth > 0 && queryWidth != memory.OutputWidth)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AttentionWidthsDiffer, layer.ArgumentLocation("score"), name,
                layer.Score == 0 ? "ScaledDot" : "Dot", queryWidth, encoder.Name, memory.OutputWidth));
        }
        return (memory.OutputWidth, encoder.Name);
    }

    /// <summary>
    /// An encoder–decoder: both parts valid, the decoder a token model that steps and attends over this encoder, and the
    /// bridges from the encoder's last recurrent layer's final states to the decoder's first recurrent layer.
    /// </summary>
    private static ShapedModel InferComposition(ModelSpec model, CompositionSpec c, System.Func<string, ModelSpec?> resolve, int depth, List<DiagnosticInfo> diagnostics)
    {
        void Mismatch(LocationInfo? at, string why) => diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EncoderDecoderMismatch, at, model.Name, why));
        ShapedModel? Part(string? key, string display, LocationInfo? at, string role)
        {
            ModelSpec? spec = key is null ? null : resolve(key);
            if (spec is null || spec.Composition is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAModel, at, $"'{model.Name}'", "the " + role, display));
                return null;
            }
            if (depth >= MaxDepth) return null;
            ShapedModel shaped = Infer(spec, resolve, depth + 1);
            if (!shaped.IsValid) Mismatch(at, $"its {role} '{spec.Name}' has declaration errors");
            return shaped.IsValid ? shaped : null;
        }

        ShapedModel? encoder = Part(c.Encoder, c.EncoderDisplay, c.EncoderLocation, "encoder");
        ShapedModel? decoder = Part(c.Decoder, c.DecoderDisplay, c.DecoderLocation, "decoder");
        var bridges = new List<BridgeSpec>();
        if (encoder is not null && decoder is not null)
        {
            string d = decoder.Spec.Name;
            if (!encoder.OutputIsSequence)
                Mismatch(c.EncoderLocation, $"its encoder '{encoder.Spec.Name}' returns one vector per sequence; an encoder returns a sequence (no ReturnSequences = false, no pooling) for the decoder to attend over and start from");
            if (!decoder.TakesTokens)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' must read tokens (an [Embedding] first): decoding feeds it its own predictions");
            if (decoder.StepBlocker is { } blocker)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' cannot step (layer '{blocker.Layer.Name}' {blocker.Why}); decoding runs one token at a time");
            foreach (ShapedLayer l in decoder.Layers.Where(l => l.Spec.IsCrossAttention && l.Spec.Over != c.Encoder))
                Mismatch(c.DecoderLocation, $"the decoder's layer '{l.Name}' attends over '{l.MemoryModel ?? l.Spec.OverDisplay}', not over the encoder '{encoder.Spec.Name}'");
            ShapedLayer? from = encoder.Layers.LastOrDefault(l => l.Spec.IsRecurrent), to = decoder.Layers.FirstOrDefault(l => l.Spec.IsRecurrent);
            if (from is not null && to is not null)
            {
                int le = from.Spec.Layers, ld = to.Spec.Layers;
                if (ld > le)
                    Mismatch(c.DecoderLocation, $"the decoder's '{to.Name}' has {ld} stacked layers but the encoder's '{from.Name}' only {le}; each decoder layer starts from an encoder layer");
                else
                {
                    bool encoderLstm = from.Kind == LayerKind.Lstm, decoderLstm = to.Kind == LayerKind.Lstm;
                    int inWidth = from.Directions * from.Spec.Size, outWidth = to.Spec.Size;
                    for (int l = 0; l < ld; l++)
                    {
                        int source = (le - ld + l) * (encoderLstm ? 2 : 1), target = l * (decoderLstm ? 2 : 1);
                        bridges.Add(new BridgeSpec($"bridge.h_l{l}", source, target, inWidth, outWidth, inWidth != outWidth, Tanh: true));
                        if (encoderLstm && decoderLstm)
                            bridges.Add(new BridgeSpec($"bridge.c_l{l}", source + 1, target + 1, inWidth, outWidth, inWidth != outWidth, Tanh: false));
                    }
                }
            }
        }
        bool valid = encoder is not null && decoder is not null && !diagnostics.Any(x => DiagnosticDescriptors.ById(x.Id).DefaultSeverity == DiagnosticSeverity.Error);
        return new ShapedModel(model, EquatableArray<ShapedLayer>.Empty, encoder?.TakesTokens ?? false, encoder?.InputWidth ?? 0, decoder?.Vocabulary ?? 0,
            decoder?.OutputWidth ?? 0, true, false, diagnostics.ToEquatableArray(), valid, new ShapedComposition(encoder, decoder, bridges.ToEquatableArray()));
    }

    /// <summary>Default names are the kind in lower case, then kind_1, kind_2…; explicit names override.</summary>
    private static string[] ResolveNames(ModelSpec model, List<DiagnosticInfo> diagnostics)
    {
        var names = new string[model.Layers.Count];
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < names.Length; i++)
        {
            LayerSpec layer = model.Layers[i];
            if (layer.ExplicitName is { } explicitName)
            {
                names[i] = explicitName;
                continue;
            }
            string kind = layer.Kind.ToString().ToLowerInvariant();
            counts.TryGetValue(kind, out int n);
            counts[kind] = n + 1;
            names[i] = n == 0 ? kind : kind + "_" + n;
        }
        var seen = new HashSet<string>();
        for (int i = 0; i < names.Length; i++)
        {
            if (!seen.Add(names[i]))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateLayerName, model.Layers[i].ArgumentLocation("name"), names[i], model.Name));
        }
        return names;
    }

    private static void CheckOptions(LayerSpec layer, string name, List<DiagnosticInfo> diagnostics)
    {
        void Positive(string argument, string display, int value)
        {
            if (value <= 0) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NonPositiveSize, layer.ArgumentLocation(argument), name, display, value));
        }
        void Invalid(string argument, string message) =>
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, layer.ArgumentLocation(argument), name, message));

        if (layer.ExplicitName is { } explicitName && !IsIdentifier(explicitName))
            Invalid("name", $"Name = \"{explicitName}\" must be a non-empty identifier of letters, digits and '_' that does not start with a digit");

        switch (layer.Kind)
        {
            case LayerKind.Input:
                Positive("features", "features", layer.Size);
                break;
            case LayerKind.Embedding:
                Positive("vocab", "vocab", layer.Vocab);
                Positive("dim", "dim", layer.Size);
                break;
            case LayerKind.Dense:
                Positive("units", "units", layer.Size);
                if (!System.Enum.IsDefined(typeof(ActivationKind), layer.Activation)) Invalid("activation", $"Activation = {(int)layer.Activation} is not a known activation");
                break;
            case LayerKind.Dropout:
                if (!(layer.Dropout >= 0f && layer.Dropout < 1f))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, layer.ArgumentLocation("p"), name, "p", layer.Dropout));
                break;
            case LayerKind.LayerNorm:
                if (!(layer.Epsilon > 0f) || float.IsInfinity(layer.Epsilon)) Invalid("epsilon", $"Epsilon must be a positive finite number, not {layer.Epsilon}");
                break;
            case LayerKind.Residual:
                Positive("layers", "Layers", layer.Layers);
                break;
            case LayerKind.PositionalEncoding:
                break;
            case LayerKind.Attention:
                Positive("heads", "Heads", layer.Heads);
                if (!(layer.Dropout >= 0f && layer.Dropout < 1f))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, layer.ArgumentLocation("dropout"), name, "Dropout", layer.Dropout));
                if (layer.Over is not null)
                {
                    if (layer.Heads > 1) Invalid("heads", "cross-attention (Over) has one head; Heads applies to self-attention");
                    if (layer.Causal) Invalid("causal", "Causal does not apply to cross-attention: every step may attend to the whole source");
                    if (layer.Pool) Invalid("pool", "Pool and Over exclude each other: pooling attends over the model's own sequence");
                    if (layer.Dropout > 0f) Invalid("dropout", "Dropout on the weights of cross-attention is not available yet");
                }
                else
                {
                    if (layer.Pool && layer.Causal) Invalid("causal", "Causal does not apply to attention pooling: its one query has no position");
                    else if (layer.Pool && layer.Dropout > 0f) Invalid("dropout", "Dropout on the weights of attention pooling is not available yet");
                    else if (layer.Score is 2 or 3 && layer.Dropout > 0f) Invalid("dropout", "Dropout on the weights of General or Additive attention is not available yet");
                    if (layer.Score is 2 or 3 && layer.Heads > 1) Invalid("heads", "the General and Additive scores have one head; Heads applies to ScaledDot and Dot");
                }
                if (layer.Score is not (0 or 1 or 2 or 3))
                    Invalid("score", $"Score = {layer.Score} is not a known AttentionScore");
                if (layer.Units != 0 && layer.Score != 3)
                    Invalid("units", "Units sets the width of the additive score's hidden layer; it applies only with Score = Additive");
                else if (layer.Units < 0)
                    Positive("units", "Units", layer.Units);
                break;
            default:
                Positive("hidden", "hidden", layer.Size);
                Positive("layers", "Layers", layer.Layers);
                if (!(layer.Dropout >= 0f && layer.Dropout < 1f))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, layer.ArgumentLocation("dropout"), name, "Dropout", layer.Dropout));
                else if (layer.Dropout > 0f && layer.Layers == 1)
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SingleLayerDropout, layer.ArgumentLocation("dropout"), name, layer.Dropout));
                if (!(layer.RecurrentDropout >= 0f && layer.RecurrentDropout < 1f))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, layer.ArgumentLocation("recurrentdropout"), name, "RecurrentDropout", layer.RecurrentDropout));
                if (layer.Kind == LayerKind.Rnn && layer.Activation is not (ActivationKind.Tanh or ActivationKind.Relu))
                    Invalid("activation", $"an RNN's Activation must be Tanh or Relu, not {layer.Activation}");
                if (layer.Kind == LayerKind.Lstm && (float.IsNaN(layer.ForgetBias) || float.IsInfinity(layer.ForgetBias)))
                    Invalid("forgetbias", "ForgetBias must be a finite number");
                break;
        }
        foreach (var (arg, init) in new[] { ("weightinit", layer.WeightInit), ("recurrentinit", layer.RecurrentInit) })
        {
            if (!System.Enum.IsDefined(typeof(InitKind), init)) Invalid(arg, $"{(int)init} is not a known Init");
        }
    }

    /// <summary>The largest .NET array of floats (Array.MaxLength).</summary>
    private const long MaxArrayLength = 0x7FFFFFC7;

    /// <summary>Every weight tensor must fit in one array (and so the generated constant arithmetic in an int).</summary>
    /// <summary>The width of [x; context], or (with a diagnostic) x's width when the sum does not fit in an array row.</summary>
    private static int ConcatenatedWidth(LayerSpec layer, string name, int queryWidth, int keyWidth, List<DiagnosticInfo> diagnostics)
    {
        long total = (long)queryWidth + keyWidth;
        if (total <= MaxArrayLength) return (int)total;
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerTooLarge, layer.Location, name, "output", 1L, total));
        return queryWidth;
    }

    /// <param name="keyWidth">For attention: the width of what it attends over (the encoder's outputs, or the input).</param>
    private static void CheckSize(LayerSpec layer, string name, int inWidth, int keyWidth, int directions, List<DiagnosticInfo> diagnostics)
    {
        void Limit(string tensor, long rows, long cols)
        {
            if (rows > 0 && cols > 0 && rows > MaxArrayLength / cols) // rows · cols > MaxArrayLength, without overflowing
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerTooLarge, layer.Location, name, tensor, rows, cols));
        }
        switch (layer.Kind)
        {
            case LayerKind.Embedding:
                Limit("weight", layer.Vocab, layer.Size);
                break;
            case LayerKind.Dense:
                Limit("weight", layer.Size, inWidth);
                break;
            case LayerKind.Attention when layer.Over is not null || layer.Score is 2 or 3:
                long units = layer.Units > 0 ? layer.Units : inWidth;
                if (layer.Score == 2) Limit("weight", inWidth, keyWidth);
                if (layer.Score == 3) Limit("key.weight", units, keyWidth);
                if (layer.Score == 3 && !layer.Pool) Limit("query.weight", units, inWidth);
                break;
            case LayerKind.Attention:
                Limit("in_proj_weight", 3L * inWidth, inWidth);
                break;
            case LayerKind.Rnn:
            case LayerKind.Lstm:
            case LayerKind.Gru:
                long gates = (layer.Kind == LayerKind.Lstm ? 4L : layer.Kind == LayerKind.Gru ? 3L : 1L) * layer.Size;
                Limit("weight_ih_l0", gates, inWidth);
                Limit("weight_hh_l0", gates, layer.Size);
                if (layer.Layers > 1) Limit("weight_ih_l1", gates, (long)directions * layer.Size);
                break;
        }
    }

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && !char.IsDigit(name[0]) && name.All(c => c == '_' || (c < 128 && char.IsLetterOrDigit(c)));
}
