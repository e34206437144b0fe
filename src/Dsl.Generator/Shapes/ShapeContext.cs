using System.Collections.Generic;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Parsing;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Shapes;

/// <summary>
/// What a layer kind's shape rule sees: the model, the layer's place and name, what flows into it, the layers before
/// it, and where to report mistakes. <see cref="ShapeInference"/> walks the stack and fills it layer by layer.
/// </summary>
internal sealed class ShapeContext
{
    /// <summary>The most floats a weight tensor holds: the largest .NET array (Array.MaxLength) with a cache line of slack before its first value.</summary>
    public const long MaxArrayLength = 0x7FFFFFC7 - 15; // Array.MaxLength less a cache line's slack: the runtime's Aligned.MostFloats, what a Parameter holds

    private readonly List<DiagnosticInfo> _diagnostics;
    private readonly System.Func<string, ShapeContext, ShapedModel?> _shapeReferenced;

    public ShapeContext(ModelSpec model, IReadOnlyList<string> names, IReadOnlyList<ShapedLayer> previous, List<DiagnosticInfo> diagnostics,
        System.Func<string, ShapeContext, ShapedModel?> shapeReferenced, System.Func<string, ModelSpec?> resolve, int depth)
    {
        Model = model;
        Names = names;
        Previous = previous;
        _diagnostics = diagnostics;
        _shapeReferenced = shapeReferenced;
        Resolve = resolve;
        Depth = depth;
    }

    public ModelSpec Model { get; }

    /// <summary>Every layer's resolved name, by position.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The layers before this one, shaped.</summary>
    public IReadOnlyList<ShapedLayer> Previous { get; }

    /// <summary>Finds another model by key (null when none); see <see cref="ShapeReferenced"/> to shape it.</summary>
    public System.Func<string, ModelSpec?> Resolve { get; }

    /// <summary>How deep in a chain of models referring to each other this model is shaped.</summary>
    public int Depth { get; }

    public int Index { get; internal set; }

    public string Name => Names[Index];

    /// <summary>Width of what flows in (0 when unknown after an earlier mistake).</summary>
    public int InWidth { get; internal set; }

    /// <summary>True when what flows in is a sequence [batch, steps, width]; false for one vector per sequence.</summary>
    public bool InIsSequence { get; internal set; }

    /// <summary>The layer that turned the sequence into one vector, and what it returns, for DSL1003's message.</summary>
    internal string Producer { get; set; } = "";

    internal string ProducerReturns { get; set; } = "";

    /// <summary>Set by a layer that turns a sequence into one vector: what it returns, in DSL1003's words.</summary>
    public string? VectorReason { get; set; }

    public void Report(DiagnosticDescriptor descriptor, LocationInfo? at, params object[] arguments) =>
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, at, arguments));

    /// <summary>DSL1003 unless what flows in is a sequence.</summary>
    public void RequireSequence(LayerSpec spec, LocationInfo? at = null)
    {
        if (!InIsSequence) Report(DiagnosticDescriptors.SequenceLayerFedVector, at ?? spec.Location, Name, Producer, ProducerReturns);
    }

    /// <summary>DSL1004 when a [rows, cols] tensor cannot fit in one array (so neither in the generated int arithmetic).</summary>
    public void Limit(LayerSpec spec, string tensor, long rows, long cols)
    {
        if (rows > 0 && cols > 0 && rows > MaxArrayLength / cols) // rows · cols > MaxArrayLength, without overflowing
            TooLarge(spec.Location, System.FormattableString.Invariant($"{tensor} [{rows}, {cols}]"), "a tensor must fit in one .NET array");
    }

    /// <summary>
    /// DSL1004 (on <paramref name="at"/>) unless the <paramref name="count"/> of elements is at most <see cref="MaxArrayLength"/>.
    /// <paramref name="count"/> computes in checked long arithmetic: a count past what a long holds (an OverflowException) is too many as well.
    /// </summary>
    public void LimitTotal(LocationInfo? at, string what, string why, System.Func<long> count)
    {
        long total;
        try
        {
            total = count();
        }
        catch (System.OverflowException)
        {
            total = long.MaxValue;
        }
        if (total > MaxArrayLength) TooLarge(at, what, why);
    }

    private void TooLarge(LocationInfo? at, string what, string why) => Report(DiagnosticDescriptors.LayerTooLarge, at, Name, what, why);

    /// <summary>The width of two concatenated widths, or (with DSL1004) the first when the sum does not fit in an array row.</summary>
    public int Concatenated(LayerSpec spec, int first, int second)
    {
        long total = (long)first + second;
        if (total <= MaxArrayLength) return (int)total;
        Limit(spec, "output", 1L, total);
        return first;
    }

    /// <summary>Shapes another model this one refers to (one level deeper), or null when it cannot be found.</summary>
    public ShapedModel? ShapeReferenced(string key) => _shapeReferenced(key, this);

    /// <summary>
    /// The index of the layer whose output is the input of the layer <paramref name="layers"/> places back (what a residual adds, a
    /// branch reads again), or −1: <paramref name="layers"/> not positive (DSL0002 from the options), or past the first layer (DSL0007
    /// here, the layer's Layers = k <paramref name="past"/> the first layer).
    /// </summary>
    public int EarlierOutput(LayerSpec spec, int layers, string past)
    {
        if (layers <= 0) return -1;
        int from = Index - layers - 1;
        if (from >= 0) return from;
        Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("layers"), Name,
            $"Layers = {layers} {past} the first layer: only {Index - 1} layer(s) come between it and the input");
        return -1;
    }

    /// <summary>A layer whose output has the shape of its input.</summary>
    public ShapedLayer SameShape(LayerSpec spec, string? stepBlocker = null) =>
        new(spec, Name, InWidth, InWidth, InIsSequence, InIsSequence, StepBlocker: stepBlocker);

    /// <summary>A layer of output width <paramref name="width"/>, a sequence when what flows in is one.</summary>
    public ShapedLayer WithWidth(LayerSpec spec, int width) =>
        new(spec, Name, InWidth, width, InIsSequence, InIsSequence);
}

/// <summary>Reports a layer's options that are invalid whatever surrounds it (DSL0002, DSL0005, DSL0007).</summary>
internal sealed class OptionChecks
{
    private readonly List<DiagnosticInfo> _diagnostics;

    public OptionChecks(LayerSpec spec, string name, List<DiagnosticInfo> diagnostics)
    {
        Spec = spec;
        Name = name;
        _diagnostics = diagnostics;
    }

    public LayerSpec Spec { get; }

    public string Name { get; }

    /// <summary>DSL0002 unless <paramref name="value"/> is positive.</summary>
    public void Positive(string argument, string display, int value)
    {
        if (value <= 0) _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NonPositiveSize, Spec.ArgumentLocation(argument), Name, display, value, "positive"));
    }

    /// <summary>DSL0002 when <paramref name="value"/> is past <paramref name="max"/> (<paramref name="why"/> says what bounds it); returns whether it is not.</summary>
    public bool AtMost(string argument, string display, int value, int max, string why)
    {
        if (value <= max) return true;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NonPositiveSize, Spec.ArgumentLocation(argument), Name, display, value,
            System.FormattableString.Invariant($"at most {max} ({why})")));
        return false;
    }

    /// <summary>DSL0002 when <paramref name="value"/>, a size for which 0 means none (an LSTM's Projection, attention's Units), is negative; returns whether it is not.</summary>
    public bool AtLeastZero(string argument, string display, int value)
    {
        if (value >= 0) return true;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NonPositiveSize, Spec.ArgumentLocation(argument), Name, display, value, "at least 0"));
        return false;
    }

    /// <summary>DSL0005 unless 0 ≤ <paramref name="p"/> &lt; 1; returns whether it is.</summary>
    public bool Probability(string argument, string display, float p)
    {
        if (p >= 0f && p < 1f) return true;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ProbabilityOutOfRange, Spec.ArgumentLocation(argument), Name, display, p));
        return false;
    }

    /// <summary>
    /// DSL0007 unless a <c>SoftCap</c> (attention's scores, a Dense layer's outputs) is 0 (none) or a positive finite number whose
    /// inverse is finite too, as the runtime's kernels require; returns whether it is a cap (positive and valid).
    /// </summary>
    public bool SoftCap(float cap)
    {
        if (cap >= 0f && !float.IsInfinity(cap) && !(cap > 0f && float.IsInfinity(1f / cap))) return cap > 0f;
        Invalid("softcap", $"SoftCap must be a positive finite number (0: none), not {cap}");
        return false;
    }

    /// <summary>DSL0007: an option that is invalid, with why.</summary>
    public void Invalid(string argument, string message) =>
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, Spec.ArgumentLocation(argument), Name, message));

    public void Report(DiagnosticDescriptor descriptor, string argument, params object[] arguments) =>
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, Spec.ArgumentLocation(argument), arguments));

    /// <summary>DSL0007 unless <paramref name="init"/> is a known Init.</summary>
    public void KnownInit(string argument, InitKind init)
    {
        if (!System.Enum.IsDefined(typeof(InitKind), init)) Invalid(argument, $"{(int)init} is not a known Init");
    }
}
