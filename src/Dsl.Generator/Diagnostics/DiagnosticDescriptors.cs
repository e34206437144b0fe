using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Diagnostics;

/// <summary>
/// Every diagnostic Dsl reports. IDs are stable and never reused: DSL0xxx declarations,
/// DSL1xxx shapes, DSL2xxx performance. Each has a help page docs/diagnostics/DSLnnnn.md.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Usage = "Dsl.Usage";
    private const string Shape = "Dsl.Shape";
    /// <summary>The help pages' root, set at build time (DslHelpRoot in Directory.Build.props, or -p:DslHelpRoot=…).</summary>
    internal static readonly string HelpRoot = System.Reflection.CustomAttributeExtensions
        .GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>(typeof(DiagnosticDescriptors).Assembly)
        .FirstOrDefault(a => a.Key == "DslHelpRoot")?.Value ?? "";

    private static DiagnosticDescriptor Error(string id, string title, string message, string category) =>
        new(id, title, message, category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpRoot + id + ".md");

    private static DiagnosticDescriptor Warning(string id, string title, string message, string category) =>
        new(id, title, message, category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpRoot + id + ".md");

    public static readonly DiagnosticDescriptor ClassNotPartial = Error("DSL0001", "Model class is not partial",
        "Class '{0}' declares layers but is not partial; add the 'partial' modifier so that the generated members can be added", Usage);

    public static readonly DiagnosticDescriptor UnknownOption = Error("DSL0013", "Unknown layer option",
        "[{0}] has no option '{1}'{2}", Usage);

    public static readonly DiagnosticDescriptor InvalidRepeat = Error("DSL0014", "Invalid repeat",
        "Model '{0}': {1}", Usage);

    public static readonly DiagnosticDescriptor NonPositiveSize = Error("DSL0002", "Size must be positive",
        "Layer '{0}': {1} must be {3}, but is {2}", Usage);

    public static readonly DiagnosticDescriptor MissingInputLayer = Error("DSL0003", "Model has no input layer",
        "Model '{0}' must start with [Input(features: N)] or [Embedding(vocab: V, dim: D)], but its first layer is '{1}'", Shape);

    public static readonly DiagnosticDescriptor MisplacedInputLayer = Error("DSL0004", "Input layer is not first",
        "Layer '{0}' is an input layer and must be the first layer of '{1}', but it is layer {2}", Shape);

    public static readonly DiagnosticDescriptor SequenceLayerFedVector = Error("DSL1001", "Sequence layer fed a vector",
        "Layer '{0}' expects a sequence but '{1}' returns {2}", Shape);

    public static readonly DiagnosticDescriptor ProbabilityOutOfRange = Error("DSL0005", "Probability outside [0, 1)",
        "Layer '{0}': {1} must be in [0, 1), but is {2}", Usage);

    public static readonly DiagnosticDescriptor DuplicateLayerName = Error("DSL0006", "Duplicate layer name",
        "Layer name '{0}' is used by more than one layer of '{1}'; parameter names would collide", Usage);

    public static readonly DiagnosticDescriptor InvalidOption = Error("DSL0007", "Invalid layer option",
        "Layer '{0}': {1}", Usage);

    public static readonly DiagnosticDescriptor NoLayerAfterInput = Error("DSL0008", "Model has no layer after its input",
        "Model '{0}' has only an input layer; add at least one layer such as [Dense(units)] after it", Shape);

    public static readonly DiagnosticDescriptor UnsupportedModelType = Error("DSL0009", "Unsupported model type",
        "'{0}' cannot be a model: {1}", Usage);

    public static readonly DiagnosticDescriptor SingleLayerDropout = Warning("DSL0010", "Dropout on a single-layer recurrent layer",
        "Layer '{0}': Dropout = {1} only acts between stacked layers, and this layer has Layers = 1; it has no effect (PyTorch warns likewise)", Usage);

    public static readonly DiagnosticDescriptor RouterLearnsNothing = Warning("DSL0015", "Router learns nothing",
        "Layer '{0}': with TopK = 1 and NormalizeTopK = true each row's one weight is 1, so the loss gives the router no gradient and it learns nothing of the task (a load-balancing loss alone moves it); set NormalizeTopK = false (the Switch Transformer's), or choose more experts per row", Usage);

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error("DSL0011", "Containing type is not partial",
        "Model '{0}' is nested in '{1}', which is not partial; add the 'partial' modifier to '{1}' so that the generated members can be added", Usage);

    public static readonly DiagnosticDescriptor StepOnBidirectionalModel = Error("DSL1002", "Model cannot step",
        "'{0}' cannot advance one step at a time: layer '{1}' {2}; use Forward over whole sequences", Shape);

    public static readonly DiagnosticDescriptor EmbeddingAfterFloatLayer = Error("DSL1003", "Embedding after a float layer",
        "Layer '{0}' looks up token ids but follows '{1}', which produces floats; an embedding must be the model's first layer", Shape);

    public static readonly DiagnosticDescriptor LayerTooLarge = Error("DSL1004", "Layer too large",
        "Layer '{0}': {1} has more than 2,147,483,576 elements; {2}", Shape);

    public static readonly DiagnosticDescriptor HeadsDoNotDivideWidth = Error("DSL1005", "Heads do not divide the width",
        "Layer '{0}': {1} heads do not divide the width {2}; each head needs an equal share", Shape);

    public static readonly DiagnosticDescriptor CausalAfterBidirectional = Warning("DSL1006", "Causal attention after a bidirectional layer",
        "Layer '{0}' is causal but '{1}' before it is bidirectional: every step already sees the future through it", Shape);

    public static readonly DiagnosticDescriptor NotAModel = Error("DSL0012", "Type is not a model",
        "{0}: {1} names '{2}', which is not a model (a class with layer attributes)", Usage);

    public static readonly DiagnosticDescriptor AttentionWidthsDiffer = Error("DSL1007", "Attention widths differ",
        "Layer '{0}': the {1} score compares the query (width {2}) with the outputs of '{3}' (width {4}); the widths must be equal, or use Score = General or Additive", Shape);

    public static readonly DiagnosticDescriptor EncoderDecoderMismatch = Error("DSL1008", "Encoder and decoder do not fit",
        "'{0}' cannot be used: {1}", Shape);

    public static readonly DiagnosticDescriptor ResidualWidthsDiffer = Error("DSL1009", "Residual widths differ",
        "Layer '{0}' adds the input of '{1}' ({2}) to the output of '{3}' ({4}); a residual connection needs the same shape on both sides", Shape);

    public static readonly DiagnosticDescriptor TiedWeightDoesNotFit = Error("DSL1010", "Tied weight does not fit",
        "Layer '{0}' ties its weight to the embedding: {1}", Shape);

    public static readonly DiagnosticDescriptor OutputReadByNothing = Warning("DSL1011", "Output read by nothing",
        "The output of '{0}' is read by nothing: '{1}' after it goes back to the input of '{2}', and no [Residual] after it adds that output", Shape);

    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
    {
        ClassNotPartial, NonPositiveSize, MissingInputLayer, MisplacedInputLayer, ProbabilityOutOfRange, DuplicateLayerName,
        InvalidOption, NoLayerAfterInput, UnsupportedModelType, SingleLayerDropout, ContainingTypeNotPartial,
        SequenceLayerFedVector, StepOnBidirectionalModel, EmbeddingAfterFloatLayer, LayerTooLarge, HeadsDoNotDivideWidth,
        CausalAfterBidirectional, NotAModel, AttentionWidthsDiffer, EncoderDecoderMismatch,
        ResidualWidthsDiffer, UnknownOption, TiedWeightDoesNotFit, InvalidRepeat, OutputReadByNothing, RouterLearnsNothing,
    };

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = All.ToDictionary(d => d.Id);

    public static DiagnosticDescriptor ById(string id) => s_byId[id];
}
