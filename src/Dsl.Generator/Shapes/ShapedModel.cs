using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Shapes;

// Must stay immutable and structurally equatable (see Parsing/ModelSpec.cs).

/// <summary>
/// A layer with its resolved name and the widths flowing in and out of it. <see cref="StepBlocker"/> says why the
/// layer cannot advance one step at a time (null when it can): the one rule for whether a model can step.
/// </summary>
internal sealed record ShapedLayer(
    LayerSpec Spec,
    string Name,
    int InWidth,
    int OutWidth,
    bool InIsSequence,
    bool OutIsSequence,
    int Directions = 1,
    int MemoryWidth = 0,
    string? MemoryModel = null,
    int SkipFrom = -1,
    string? StepBlocker = null)
{
    public LayerKind Kind => Spec.Kind;

    // SkipFrom: for a residual connection, the index of the layer whose output it adds (−1 otherwise).

    /// <summary>Cross-attention: attends over <see cref="MemoryModel"/>'s outputs, <see cref="MemoryWidth"/> wide.</summary>
    public bool IsCrossAttention => MemoryWidth > 0;

    /// <summary>Width of what the layer reads as keys and values: the encoder's outputs, or its own input.</summary>
    public int KeyWidth => IsCrossAttention ? MemoryWidth : InWidth;
}

/// <summary>How one decoder state tensor starts: from encoder final state <see cref="From"/>, copied or through a Dense.</summary>
internal sealed record BridgeSpec(string Name, int From, int To, int InWidth, int OutWidth, bool Dense, bool Tanh);

/// <summary>The embedding tables one table serves (<c>ShareEmbedding</c>): the encoder's parameter, and the decoder's that is it.</summary>
internal sealed record SharedEmbedding(string EncoderWeight, string DecoderWeight);

/// <summary>
/// A valid or invalid encoder–decoder composition: both models shaped, the bridges between their states, and the embedding
/// the two share (null when each has its own).
/// </summary>
internal sealed record ShapedComposition(ShapedModel? Encoder, ShapedModel? Decoder, EquatableArray<BridgeSpec> Bridges, SharedEmbedding? Shared = null);

/// <summary>
/// The model after shape inference: every width known, every declaration mistake found.
/// <see cref="IsValid"/> is false when any error was found; the emitter then writes throwing bodies.
/// </summary>
internal sealed record ShapedModel(
    ModelSpec Spec,
    EquatableArray<ShapedLayer> Layers,
    bool TakesTokens,
    int InputWidth,
    int Vocabulary,
    int OutputWidth,
    bool OutputIsSequence,
    bool CanStep,
    EquatableArray<DiagnosticInfo> Diagnostics,
    bool IsValid,
    ShapedComposition? Composition = null)
{
    /// <summary>True when a layer attends over another model's outputs: the model then runs from a state that carries them.</summary>
    public bool HasCrossAttention => Layers.Any(l => l.IsCrossAttention);

    /// <summary>The first layer that keeps the model from stepping (null when it can), and why, in the words of DSL1002.</summary>
    public (ShapedLayer Layer, string Why)? StepBlocker =>
        Layers.FirstOrDefault(l => l.StepBlocker is not null) is { } l ? (l, l.StepBlocker!) : null;
}
