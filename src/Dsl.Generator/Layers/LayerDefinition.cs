using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers;

/// <summary>
/// Everything one layer kind means, in one place (its folder under Layers/): how its attribute is read, which options
/// are valid, the shape it produces, the parameters and buffers it lowers to, and the code it emits. The pipeline's
/// stages call these through <see cref="LayerRegistry"/>; none of them switches on the kind.
/// </summary>
internal abstract class LayerDefinition
{
    /// <summary>The kind this definition is for.</summary>
    public abstract LayerKind Kind { get; }

    /// <summary>The attribute's metadata name in Dsl.Attributes, e.g. <c>Dsl.DenseAttribute</c>.</summary>
    public abstract string AttributeName { get; }

    /// <summary>A layer's default name: its kind in lower case (then <c>dense_1</c>, <c>dense_2</c>… for later ones).</summary>
    public string DefaultName => Kind.ToString().ToLowerInvariant();

    /// <summary>Reads the attribute's arguments into the kind's spec.</summary>
    public abstract LayerSpec Parse(AttributeReader attribute);

    /// <summary>Reports options that are out of range or do not apply, whatever the layers around.</summary>
    public abstract void CheckOptions(LayerSpec spec, OptionChecks checks);

    /// <summary>The layer's widths and whether it can step, given what flows into it; reports shape mistakes.</summary>
    public abstract ShapedLayer Shape(LayerSpec spec, ShapeContext context);

    /// <summary>The layer's parameters and buffers, and its forward and backward passes as ops over them (<see cref="LayerPlan.Passes"/>).</summary>
    public abstract LayerPlan Lower(ShapedLayer layer, LowerContext context);

    /// <summary>The layer's <c>Dsl.LayerInfo</c> in the generated <c>Architecture</c>, as a C# expression; <paramref name="index"/> is its place.</summary>
    public abstract string Describe(ShapedLayer layer, ShapedModel model, int index);

    /// <summary>A string literal.</summary>
    protected static string Literal(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>A bool literal.</summary>
    protected static string Literal(bool b) => b ? "true" : "false";
}

/// <summary>A <see cref="LayerDefinition"/> over its own spec and plan types: the casts are made once, here.</summary>
internal abstract class LayerDefinition<TSpec, TPlan> : LayerDefinition
    where TSpec : LayerSpec
    where TPlan : LayerPlan
{
    public sealed override void CheckOptions(LayerSpec spec, OptionChecks checks) => Check((TSpec)spec, checks);

    public sealed override ShapedLayer Shape(LayerSpec spec, ShapeContext context) => Shape((TSpec)spec, context);

    public sealed override LayerPlan Lower(ShapedLayer layer, LowerContext context) => Lower(layer, (TSpec)layer.Spec, context);

    public sealed override string Describe(ShapedLayer layer, ShapedModel model, int index) => Describe(layer, (TSpec)layer.Spec, model, index);

    protected abstract string Describe(ShapedLayer layer, TSpec spec, ShapedModel model, int index);

    protected abstract void Check(TSpec spec, OptionChecks checks);

    protected abstract ShapedLayer Shape(TSpec spec, ShapeContext context);

    protected abstract TPlan Lower(ShapedLayer layer, TSpec spec, LowerContext context);
}
