using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Branch;

/// <summary><c>[Branch(Layers = k)]</c>: out = the input of the layer k places back (a second branch from it; a later residual adds the first in).</summary>
internal sealed record BranchSpec(LayerHeader Header, int Layers) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Branch;
}

/// <summary>
/// Copies <see cref="Source"/> (the earlier output it branches from) to its output; its output's gradient goes to
/// <see cref="DSource"/>, which joins the source's (null when that output is the model's input), and the output before it,
/// which it does not read, gets none from it.
/// </summary>
internal sealed record BranchPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Source, BufferRef? DSource)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class BranchLayer : LayerDefinition<BranchSpec, BranchPlan>
{
    public override LayerKind Kind => LayerKind.Branch;

    public override string AttributeName => "Dsl.BranchAttribute";

    public override LayerSpec Parse(AttributeReader a) => new BranchSpec(a.Header, a.Int("layers", 1));

    protected override void Check(BranchSpec spec, OptionChecks checks) => checks.Positive("layers", "Layers", spec.Layers);

    protected override ShapedLayer Shape(BranchSpec spec, ShapeContext c)
    {
        int from = c.EarlierOutput(spec, spec.Layers, "reaches past");
        if (from < 0) return c.SameShape(spec);
        ShapedLayer source = c.Previous[from];
        return new ShapedLayer(spec, c.Name, c.InWidth, source.OutWidth, c.InIsSequence, source.OutIsSequence, SkipFrom: from);
    }

    protected override string Describe(ShapedLayer layer, BranchSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.BranchInfo({Literal(layer.Name)}, {layer.InWidth}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {layer.SkipFrom})";

    protected override BranchPlan Lower(ShapedLayer layer, BranchSpec spec, LowerContext c)
    {
        LayerPlan source = c.Layers[layer.SkipFrom];
        string shape = EmitContext.Shape(layer.OutIsSequence, layer.OutWidth);
        string reads = c.Model.Layers[layer.SkipFrom + 1].Name;
        var (output, dOutput) = c.Output($"{reads}'s input again");
        BufferRef? dSource = c.GradientOf(layer.SkipFrom, "dsource", $"{layer.Name}'s branch");
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {shape}: the output of layer {layer.SkipFrom} ({reads}'s input) again, a second branch from it")
            .Add(new CopyOp(source.Out, output))
            .Backward()
            .Doc($"// {layer.Name} backward: the gradient goes to the output it copied (joined in BackwardPass); the layer before gets none from it");
        if (c.DIn is not null) pass.Add(new ClearOp(c.DIn, "not read by the branch: a later residual's skip adds its gradient"));
        if (dSource is not null) pass.Add(new CopyOp(dOutput, dSource));
        return new BranchPlan(layer, c.In, c.DIn, output, dOutput, source.Out, dSource) { Passes = pass.Build() };
    }
}
