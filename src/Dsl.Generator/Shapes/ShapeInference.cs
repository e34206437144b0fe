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
    public static ShapedModel Infer(ModelSpec model)
    {
        var diagnostics = new List<DiagnosticInfo>();
        if (!model.IsPartial) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNotPartial, model.NameLocation, model.Name));
        if (model.UnsupportedReason is { } reason) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModelType, model.NameLocation, model.Name, reason));
        foreach (ContainingTypeSpec outer in model.ContainingTypes)
        {
            if (!outer.IsPartial) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContainingTypeNotPartial, outer.NameLocation, model.Name, outer.Name));
        }

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
                    break;
                case LayerKind.Attention:
                    if (!sequence)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceLayerFedVector, layer.Location, names[i], producer, producerReturns));
                    if (layer.Heads > 0 && width > 0 && width % layer.Heads != 0)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadsDoNotDivideWidth, layer.ArgumentLocation("heads"), names[i], layer.Heads, width));
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
            CheckSize(layer, names[i], inWidth, directions, diagnostics);
            shaped.Add(new ShapedLayer(layer, names[i], inWidth, width, inSequence, sequence, directions));
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
            case LayerKind.Attention:
                Positive("heads", "Heads", layer.Heads);
                if (!(layer.Dropout >= 0f && layer.Dropout < 1f))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, layer.ArgumentLocation("dropout"), name, "Dropout", layer.Dropout));
                if (layer.Pool && layer.Causal) Invalid("causal", "Causal does not apply to attention pooling: its one query has no position");
                else if (layer.Pool && layer.Dropout > 0f) Invalid("dropout", "Dropout on the weights of attention pooling is not available yet");
                if (layer.Score is 2 or 3)
                    Invalid("score", $"Score = {(layer.Score == 2 ? "General" : "Additive")} is not available for self-attention yet; use ScaledDot or Dot");
                else if (layer.Score is not (0 or 1))
                    Invalid("score", $"Score = {layer.Score} is not a known AttentionScore");
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
    private static void CheckSize(LayerSpec layer, string name, int inWidth, int directions, List<DiagnosticInfo> diagnostics)
    {
        void Limit(string tensor, long rows, long cols)
        {
            if (rows > 0 && cols > 0 && rows * cols > MaxArrayLength)
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
