using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Scale;

/// <summary><c>[Scale(factor)]</c>: out = x · factor (Keras's Rescaling; Granite's embedding, residual and logit multipliers).</summary>
internal sealed record ScaleSpec(LayerHeader Header, float Factor) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Scale;
}

internal sealed record ScalePlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, float Factor)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class ScaleLayer : LayerDefinition<ScaleSpec, ScalePlan>
{
    public override LayerKind Kind => LayerKind.Scale;

    public override string AttributeName => "Dsl.ScaleAttribute";

    public override LayerSpec Parse(AttributeReader a) => new ScaleSpec(a.Header, a.Float("factor", 1f));

    protected override void Check(ScaleSpec spec, OptionChecks checks)
    {
        if (float.IsNaN(spec.Factor) || float.IsInfinity(spec.Factor)) checks.Invalid("factor", $"Factor must be a finite number, not {spec.Factor}");
    }

    protected override ShapedLayer Shape(ScaleSpec spec, ShapeContext c) => c.SameShape(spec);

    protected override string Describe(ShapedLayer layer, ScaleSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.ScaleInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {SourceWriter.Float(spec.Factor)})";

    protected override ScalePlan Lower(ShapedLayer layer, ScaleSpec spec, LowerContext c)
    {
        string factor = SourceWriter.Float(spec.Factor);
        var (output, dOutput) = c.Output($"the input times {factor}");
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, layer.InWidth)} -> same: out = x · {factor}")
            .Add(new KernelOp(Kernels.Activations, "Scale", ScalarOperand.Of(spec.Factor), c.In, output))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = dout · {factor}");
        if (c.DIn is not null) pass.Add(new KernelOp(Kernels.Activations, "Scale", ScalarOperand.Of(spec.Factor), dOutput, c.DIn));
        return new ScalePlan(layer, c.In, c.DIn, output, dOutput, spec.Factor) { Passes = pass.Build() };
    }
}
