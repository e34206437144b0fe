using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Dropout;

/// <summary><c>[Dropout(p)]</c>: inverted dropout in training, the identity otherwise.</summary>
internal sealed record DropoutSpec(LayerHeader Header, float P) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Dropout;
}

internal sealed record DropoutPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Mask, float P)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class DropoutLayer : LayerDefinition<DropoutSpec, DropoutPlan>
{
    public override LayerKind Kind => LayerKind.Dropout;

    public override string AttributeName => "Dsl.DropoutAttribute";

    public override LayerSpec Parse(AttributeReader a) => new DropoutSpec(a.Header, a.Float("p", 0f));

    protected override void Check(DropoutSpec spec, OptionChecks checks) => checks.Probability("p", "p", spec.P);

    protected override ShapedLayer Shape(DropoutSpec spec, ShapeContext c) => c.SameShape(spec);

    protected override string Describe(ShapedLayer layer, DropoutSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.DropoutInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {Helpers.SourceWriter.Float(spec.P)})";

    protected override DropoutPlan Lower(ShapedLayer layer, DropoutSpec spec, LowerContext c)
    {
        var (output, dOutput) = c.Output("input with dropped values zeroed");
        BufferRef mask = c.Own("mask", layer.OutWidth, Rows.Of(layer.OutIsSequence), BufferUse.Training,
            $"dropout mask, 0 or 1/(1-p) {EmitContext.Shape(layer.OutIsSequence, layer.OutWidth)}");
        string shape = EmitContext.Shape(layer.InIsSequence, layer.InWidth);
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {shape} -> same; training: out = x ⊙ mask (p = {SourceWriter.Float(spec.P)}), inference: out = x")
            .Add(new DropoutOp(c.In, mask, output, spec.P))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = dout ⊙ mask");
        if (c.DIn is not null) pass.Add(new MultiplyOp(dOutput, mask, c.DIn));
        return new DropoutPlan(layer, c.In, c.DIn, output, dOutput, mask, spec.P) { Passes = pass.Build() };
    }
}
