using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Parsing;

// The parser's output. These records must stay immutable and structurally equatable (strings,
// numbers, enums, EquatableArray): no ISymbol, SyntaxNode, Location or Compilation, or the
// incremental generator can no longer cache.

/// <summary>Mirror of <c>Dsl.Activation</c> (same values): the generator does not load Dsl.Attributes.</summary>
internal enum ActivationKind
{
    None = 0,
    Tanh = 1,
    Relu = 2,
    Sigmoid = 3,
    Gelu = 4,
    GeluTanh = 5,
    Silu = 6,
}

internal static class ActivationKinds
{
    /// <summary>
    /// Whether the activation's derivative reads its input, which its output does not determine (GELU's, SiLU's: the runtime's
    /// <c>Activations.FromInput</c>): a layer keeps its pre-activation apart from its output.
    /// </summary>
    public static bool KeepsInput(this ActivationKind kind) => kind is ActivationKind.Gelu or ActivationKind.GeluTanh or ActivationKind.Silu;
}

/// <summary>Mirror of <c>Dsl.Init</c> (same values).</summary>
internal enum InitKind
{
    Default = 0,
    Zeros = 1,
    XavierUniform = 2,
    XavierNormal = 3,
    HeUniform = 4,
    HeNormal = 5,
    Orthogonal = 6,
    PyTorch = 7,
    Normal = 8,
}

/// <summary>Where one attribute argument was written, for a squiggle on exactly that argument.</summary>
internal sealed record ArgumentSpec(string Name, LocationInfo? Location);

/// <summary>Mirror of <c>Dsl.AttentionScore</c> (same values).</summary>
internal enum ScoreKind
{
    ScaledDot = 0,
    Dot = 1,
    General = 2,
    Additive = 3,
}

/// <summary>What every layer attribute carries, whatever its kind: where it stands, its explicit name, where it was written.</summary>
/// <param name="CSharpErrors">C# refused an argument of the attribute (not a constant, of another type, missing): its value is not known.</param>
internal sealed record LayerHeader(int Position, string? ExplicitName, LocationInfo? Location, EquatableArray<ArgumentSpec> Arguments, bool CSharpErrors = false);

/// <summary>
/// One layer attribute as written: a sealed record per kind (Layers/&lt;Kind&gt;/), each holding only the options that
/// kind has. The kind's <see cref="Layers.LayerDefinition"/> parses, shapes, lowers and emits it.
/// </summary>
internal abstract record LayerSpec(LayerHeader Header)
{
    public abstract LayerKind Kind { get; }

    public int Position => Header.Position;

    public string? ExplicitName => Header.ExplicitName;

    public LocationInfo? Location => Header.Location;

    /// <summary>True for the layers that read the model's input (Input, Embedding): they must come first.</summary>
    public virtual bool IsInput => false;

    /// <summary>
    /// How many layers' code this attribute writes (a recurrent layer's stacked layers each have their own), counted against
    /// <see cref="ModelParser.MaxLayers"/> when repeats write it out; between 1 and the kind's own limit.
    /// </summary>
    public virtual int WrittenLayers => 1;

    /// <summary>The key (<see cref="ModelSpec.Key"/>) of another model this layer reads, e.g. cross-attention's Over; null for none.</summary>
    public virtual string? ReferencedModel => null;

    /// <summary>How the declaration names <see cref="ReferencedModel"/> (the class's name), for messages.</summary>
    public virtual string? ReferencedModelDisplay => null;

    /// <summary>The location of argument <paramref name="name"/> (lower case) if it was written, else the attribute's.</summary>
    public LocationInfo? ArgumentLocation(string name)
    {
        foreach (ArgumentSpec a in Header.Arguments)
        {
            if (a.Name == name) return a.Location;
        }
        return Header.Location;
    }
}

/// <summary>A type that encloses the model class (for nested models).</summary>
internal sealed record ContainingTypeSpec(string Keyword, string Name, bool IsPartial, LocationInfo? NameLocation);

/// <summary>
/// An <c>[EncoderDecoder(typeof(E), typeof(D))]</c> composition: the keys (<see cref="ModelSpec.Key"/>) of the two
/// models, the names to show, where each argument was written, and whether the decoder's embedding is the encoder's.
/// </summary>
internal sealed record CompositionSpec(
    string? Encoder,
    string EncoderDisplay,
    LocationInfo? EncoderLocation,
    string? Decoder,
    string DecoderDisplay,
    LocationInfo? DecoderLocation,
    bool ShareEmbedding = false,
    LocationInfo? ShareEmbeddingLocation = null);

/// <summary>
/// A model declaration: the class and its layer stack in source order, or (with <see cref="Composition"/> set and no
/// layers) an encoder–decoder composed of two other models. <see cref="Accessibility"/> is the class's effective
/// accessibility: its own, narrowed by the types around it.
/// </summary>
internal sealed record ModelSpec(
    string Namespace,
    string Name,
    string HintName,
    EquatableArray<ContainingTypeSpec> ContainingTypes,
    bool IsPartial,
    string? UnsupportedReason,
    LocationInfo? NameLocation,
    EquatableArray<LayerSpec> Layers,
    CompositionSpec? Composition = null,
    Accessibility Accessibility = Accessibility.Public)
{
    /// <summary>
    /// Whether code may name this class wherever it may name <paramref name="other"/> (C#'s rule for a base class and its
    /// type arguments, CS0060): an encoder–decoder's generated base class names both its parts.
    /// </summary>
    public bool IsAtLeastAsAccessibleAs(ModelSpec other) => (Reach(Accessibility) & Reach(other.Accessibility)) == Reach(other.Accessibility);

    /// <summary>The effective accessibility of a type declared <paramref name="declared"/> inside a type of effective accessibility <paramref name="outer"/>.</summary>
    public static Accessibility Within(Accessibility declared, Accessibility outer) =>
        (Reach(declared) & Reach(outer)) switch
        {
            Everyone => Accessibility.Public,
            Assembly | DerivedOutside | DerivedInside => Accessibility.ProtectedOrInternal,
            Assembly | DerivedInside => Accessibility.Internal,
            DerivedOutside | DerivedInside => Accessibility.Protected,
            DerivedInside => Accessibility.ProtectedAndInternal,
            _ => Accessibility.Private,
        };

    /// <summary>How C# writes an accessibility.</summary>
    public static string Words(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Public => "public",
        Accessibility.ProtectedOrInternal => "protected internal",
        Accessibility.Internal => "internal",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => "private",
    };

    // who may name a type, as bits: code anywhere, in the assembly, in derived types outside it, in derived types inside it
    private const int DerivedInside = 1, DerivedOutside = 2, Assembly = 4, Everyone = 15;

    private static int Reach(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Public or Accessibility.NotApplicable => Everyone,
        Accessibility.ProtectedOrInternal => Assembly | DerivedOutside | DerivedInside,
        Accessibility.Internal => Assembly | DerivedInside,
        Accessibility.Protected => DerivedOutside | DerivedInside,
        Accessibility.ProtectedAndInternal => DerivedInside,
        _ => 0,
    };

    /// <summary>The class's metadata name (<c>Ns.Outer+Model</c>): how other declarations refer to it.</summary>
    public string Key => HintName.Substring(0, HintName.Length - ".g.cs".Length);

    /// <summary>
    /// The generated files' name before <c>.g.cs</c> / <c>.Device.g.cs</c>: the key, with a tag of its exact spelling when
    /// another model's key differs from it only in case (Roslyn compares source names without regard to case: the second
    /// of Demo.M and Demo.m had failed the generator, and every model of the project lost its code).
    /// </summary>
    public string? OutputStem { get; init; }

    /// <summary>
    /// Whether <c>[Repeat]</c> wrote some of <see cref="Layers"/> more than once (each copy's mistakes are then the first
    /// copy's, reported once).
    /// </summary>
    public bool Repeats { get; init; }

    /// <summary>What is wrong with the declaration's <c>[Repeat]</c> … <c>[EndRepeat]</c> (DSL0014); its layers stand as written once.</summary>
    public EquatableArray<DiagnosticInfo> RepeatProblems { get; init; } = EquatableArray<DiagnosticInfo>.Empty;

    /// <summary>The class as C# code names it from anywhere: <c>global::Ns.Outer.Model</c>.</summary>
    public string TypeName => "global::" + (Namespace.Length > 0 ? Namespace + "." : "") + string.Concat(ContainingTypes.Select(c => c.Name + ".")) + Name;

    /// <summary>Whether members can be added to the class: it and every type around it are partial, and it is a plain class.</summary>
    public bool CanGenerate => IsPartial && UnsupportedReason is null && ContainingTypes.All(c => c.IsPartial);

    /// <summary>
    /// The spec without its source locations: what the generator carries down its pipeline (it reports nothing; the analyzer
    /// does, from specs of its own). With them, an edit above a model — a line added — would shift its spans and rerun its
    /// shaping, lowering and emission at every keystroke though nothing of the model changed.
    /// </summary>
    public ModelSpec WithoutLocations() => this with
    {
        NameLocation = null,
        ContainingTypes = ContainingTypes.Select(c => c with { NameLocation = null }).ToEquatableArray(),
        Layers = Layers.Select(l => l with
        {
            Header = l.Header with { Location = null, Arguments = l.Header.Arguments.Select(a => a with { Location = null }).ToEquatableArray() },
        }).ToEquatableArray(),
        Composition = Composition is null ? null : Composition with { EncoderLocation = null, DecoderLocation = null, ShareEmbeddingLocation = null },
        // kept without their spans: the analyzer reports them from a spec of its own, and the generator's shaping must find the
        // model invalid as the analyzer's does (a bad repeat with its diagnostic turned down had built a model of one copy)
        RepeatProblems = RepeatProblems.Select(p => p with { Location = null }).ToEquatableArray(),
    };
}
