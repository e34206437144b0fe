using Dsl.Generator.Diagnostics;
using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Residual;

/// <summary><c>[Residual(Layers = k)]</c>: out = x + the input of the layer k places back.</summary>
internal sealed record ResidualSpec(LayerHeader Header, int Layers) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Residual;
}

/// <summary>
/// Adds <see cref="SkipIn"/> (the output it skips from) to its input; its gradient goes to <see cref="DSkip"/>, which
/// joins the skipped output's gradient (null when that output is the model's input).
/// </summary>
internal sealed record ResidualPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef SkipIn, BufferRef? DSkip)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class ResidualLayer : LayerDefinition<ResidualSpec, ResidualPlan>
{
    public override LayerKind Kind => LayerKind.Residual;

    public override string AttributeName => "Dsl.ResidualAttribute";

    public override LayerSpec Parse(AttributeReader a) => new ResidualSpec(a.Header, a.Int("layers", 1));

    protected override void Check(ResidualSpec spec, OptionChecks checks) => checks.Positive("layers", "Layers", spec.Layers);

    protected override ShapedLayer Shape(ResidualSpec spec, ShapeContext c)
    {
        int from = c.EarlierOutput(spec, spec.Layers, "skips past");
        if (from < 0) return c.SameShape(spec);
        ShapedLayer source = c.Previous[from];
        if (source.OutWidth != c.InWidth || source.OutIsSequence != c.InIsSequence)
        {
            static string Describe(int w, bool seq) => seq ? $"[batch, steps, {w}]" : $"[batch, {w}]";
            c.Report(DiagnosticDescriptors.ResidualWidthsDiffer, spec.Location, c.Name, c.Names[from + 1],
                Describe(source.OutWidth, source.OutIsSequence), c.Names[c.Index - 1], Describe(c.InWidth, c.InIsSequence));
        }
        return c.SameShape(spec) with { SkipFrom = from };
    }

    protected override string Describe(ShapedLayer layer, ResidualSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.ResidualInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {layer.SkipFrom})";

    protected override ResidualPlan Lower(ShapedLayer layer, ResidualSpec spec, LowerContext c)
    {
        LayerPlan source = c.Layers[layer.SkipFrom];
        string shape = EmitContext.Shape(layer.OutIsSequence, layer.OutWidth);
        var (output, dOutput) = c.Output($"the previous output plus {c.Model.Layers[layer.SkipFrom + 1].Name}'s input");
        BufferRef? dSkip = c.GradientOf(layer.SkipFrom, "dskip", $"{layer.Name}'s skip");
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {shape} -> same: out = x + the output of layer {layer.SkipFrom} (a residual connection)")
            .Add(new AddOp(c.In, source.Out, output))
            .Backward()
            .Doc($"// {layer.Name} backward: the gradient goes both ways unchanged (the skip's joins its output's gradient in BackwardPass)");
        if (c.DIn is not null) pass.Add(new CopyOp(dOutput, c.DIn));
        if (dSkip is not null) pass.Add(new CopyOp(dOutput, dSkip));
        return new ResidualPlan(layer, c.In, c.DIn, output, dOutput, source.Out, dSkip) { Passes = pass.Build() };
    }
}
