using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Lowering;

// The plan of a valid model: parameters, buffers and, per layer, which buffers it reads and
// writes. Every size is resolved here; the emitter only formats. Must stay structurally equatable.

/// <summary>One parameter tensor: its state_dict name, the field that holds it, shape and initialiser.</summary>
internal sealed record ParamPlan(
    string Name,
    string Field,
    int Rows,
    int Cols,
    bool IsVector,
    InitKind Init,
    int FanIn,
    int FanOut,
    int BlockRows,
    float Bound,
    int FillStart,
    int FillLength,
    float FillValue);

/// <summary>How many rows a buffer has: one per (step, sequence), one per sequence, or a fixed count.</summary>
internal enum RowKind
{
    StepsTimesBatch,
    Batch,
    One,
    StepsSquaredTimesBatch,
    StepsSquared,
    /// <summary>One per (source step, sequence) of the memory a cross-attention layer reads: S × B.</summary>
    SourceTimesBatch,
    /// <summary>One per (step, source step, sequence): T × S × B.</summary>
    StepsTimesSourceTimesBatch,
    /// <summary>One per step: T.</summary>
    Steps,
}

/// <summary>
/// A workspace buffer: [rows, Width] floats (or ints), named for what it holds. Float buffers are views into the
/// workspace's one allocation, unless <see cref="Standalone"/> (an array of its own, handed out in a NamedTensor).
/// </summary>
internal sealed record BufferPlan(string Name, int Width, RowKind Rows, bool IsInt, string Comment, bool Standalone = false)
{
    /// <summary>A view into the workspace's one float allocation (a Span property), rather than an array field.</summary>
    public bool IsView => !IsInt && !Standalone;
}

/// <summary>One direction of one stacked layer of a recurrent layer.</summary>
/// <remarks><see cref="LearnedH"/>/<see cref="LearnedC"/> name the learned initial-state parameters (null when not learned) and
/// <see cref="LearnedHBuffer"/>/<see cref="LearnedCBuffer"/> the workspace buffers [B, H] they are broadcast into.</remarks>
internal sealed record DirectionPlan(bool Reverse, string Gates, string Aux, string WeightIh, string WeightHh, string BiasIh, string BiasHh,
    string? LearnedH = null, string? LearnedC = null, string? LearnedHBuffer = null, string? LearnedCBuffer = null,
    string? RecurrentMask = null, string? MaskedStates = null);

/// <summary>
/// One stacked layer l of a recurrent layer: input X (width XWidth) to output Y ([T, B, Directions × H]).
/// <see cref="Mask"/> names the inter-layer dropout mask applied to Y before the next stacked layer.
/// </summary>
internal sealed record SubLayerPlan(
    int Index,
    int XWidth,
    string X,
    string? DX,
    string Y,
    string DY,
    string? Mask,
    string? NextX,
    string CellMethod,
    string? StateH,
    string? StateC,
    string? InitialH,
    string? InitialC,
    EquatableArray<DirectionPlan> Directions,
    string? InitialHGrad = null,
    string? InitialCGrad = null,
    string? FinalH = null,
    string? FinalC = null,
    string? FinalHGrad = null,
    string? FinalCGrad = null);

/// <summary>A layer: what it reads, writes and learns. A residual connection also reads <see cref="SkipIn"/> (the output it adds)
/// and sends its gradient to <see cref="SkipDIn"/> (null when that output is the model's input).</summary>
internal sealed record LayerPlan(
    ShapedLayer Layer,
    string In,
    string? DIn,
    string Out,
    string DOut,
    string? Mask,
    EquatableArray<string> ParamFields,
    EquatableArray<SubLayerPlan> SubLayers,
    int Hidden,
    int Gates,
    string? SkipIn = null,
    string? SkipDIn = null)
{
    public string Name => Layer.Name;
}

/// <summary>
/// The lowered model. <see cref="StateGradFields"/> hold d(loss)/d(initial state) per state tensor (a decoder's Backward
/// from a state); <see cref="FinalStates"/> name the buffers [B, directions × H] the final states of the last recurrent
/// layer are gathered in when the model encodes for a decoder, <see cref="FinalStateNames"/> their names.
/// </summary>
internal sealed record ModelPlan(
    ShapedModel Model,
    EquatableArray<ParamPlan> Parameters,
    EquatableArray<BufferPlan> Buffers,
    EquatableArray<LayerPlan> Layers,
    EquatableArray<string> StateFields,
    EquatableArray<string> StateNames,
    EquatableArray<int> StateWidths,
    int MaxGates,
    int MaxHidden,
    EquatableArray<string> StateGradFields,
    EquatableArray<string> FinalStates,
    EquatableArray<string> FinalStateGrads,
    EquatableArray<string> FinalStateNames,
    EquatableArray<int> FinalStateWidths);
