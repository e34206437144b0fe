using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Shapes;

// Must stay immutable and structurally equatable (see Parsing/ModelSpec.cs).

/// <summary>A layer with its resolved name and the widths flowing in and out of it.</summary>
internal sealed record ShapedLayer(
    LayerSpec Spec,
    string Name,
    int InWidth,
    int OutWidth,
    bool InIsSequence,
    bool OutIsSequence,
    int Directions)
{
    public LayerKind Kind => Spec.Kind;
}

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
    bool IsValid);
