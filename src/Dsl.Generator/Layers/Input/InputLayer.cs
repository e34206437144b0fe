using Dsl.Generator.Diagnostics;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Input;

/// <summary><c>[Input(features: N)]</c>: N floats per step; must be first.</summary>
internal sealed record InputSpec(LayerHeader Header, int Features) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Input;

    public override bool IsInput => true;
}

/// <summary>The model's float input, time-major: it names the buffer the input is copied into and has no pass.</summary>
internal sealed record InputPlan(ShapedLayer Layer, BufferRef Out) : LayerPlan(Layer, Out, null, Out, null)
{
    public override bool HasPass => false;
}

internal sealed class InputLayer : LayerDefinition<InputSpec, InputPlan>
{
    public override LayerKind Kind => LayerKind.Input;

    public override string AttributeName => "Dsl.InputAttribute";

    public override LayerSpec Parse(AttributeReader a) => new InputSpec(a.Header, a.Int("features", 0));

    protected override void Check(InputSpec spec, OptionChecks checks) => checks.Positive("features", "features", spec.Features);

    protected override ShapedLayer Shape(InputSpec spec, ShapeContext c)
    {
        if (c.Index == 0) return new ShapedLayer(spec, c.Name, 0, spec.Features, true, true);
        c.Report(DiagnosticDescriptors.MisplacedInputLayer, spec.Location, c.Name, c.Model.Name, c.Index + 1);
        return c.SameShape(spec);
    }

    protected override string Describe(ShapedLayer layer, InputSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.InputInfo({Literal(layer.Name)}, {spec.Features})";

    protected override InputPlan Lower(ShapedLayer layer, InputSpec spec, LowerContext c) =>
        new(layer, c.Own("out", layer.OutWidth, Rows.StepsBatch, BufferUse.Forward, $"input features, time-major [T, B, {layer.OutWidth}]"));
}
