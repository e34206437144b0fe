using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

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

    protected override DropoutPlan Lower(ShapedLayer layer, DropoutSpec spec, LowerContext c)
    {
        var (output, dOutput) = c.Output("input with dropped values zeroed");
        BufferRef mask = c.Own("mask", layer.OutWidth, Rows.Of(layer.OutIsSequence), BufferUse.Training,
            $"dropout mask, 0 or 1/(1-p) {EmitContext.Shape(layer.OutIsSequence, layer.OutWidth)}");
        return new DropoutPlan(layer, c.In, c.DIn, output, dOutput, mask, spec.P);
    }

    protected override void Emit(DropoutPlan p, EmitContext c)
    {
        var w = c.W;
        ShapedLayer l = p.Layer;
        string prob = SourceWriter.Float(p.P);
        w.Line($"// {l.Name}: {EmitContext.Shape(l.InIsSequence, l.InWidth)} -> same; training: out = x ⊙ mask (p = {prob}), inference: out = x");
        c.OpenForward(p);
        w.Line($"if (training) {DropoutKernel}.Forward({p.In.Ws}, {p.Mask.Ws}, {p.Out.Ws}, {prob}, _dropoutRng);");
        w.Line($"else {p.In.Ws}.CopyTo({p.Out.Ws});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = dout ⊙ mask");
        c.OpenBackward(p);
        if (p.DIn is not null) w.Line($"{TP}.Multiply({p.Dy.Ws}, {p.Mask.Ws}, {p.DIn.Ws});");
        w.Close();
        w.Line();
    }
}
