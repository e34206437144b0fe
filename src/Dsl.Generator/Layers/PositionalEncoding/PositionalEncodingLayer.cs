using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.PositionalEncoding;

/// <summary><c>[PositionalEncoding]</c>: adds Vaswani et al.'s sinusoidal encoding of each step's position (counted from a carried state's position when stepping).</summary>
internal sealed record PositionalEncodingSpec(LayerHeader Header) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.PositionalEncoding;
}

/// <summary><see cref="Table"/> holds the encoding of every step [T, width], filled once per workspace.</summary>
internal sealed record PositionalEncodingPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Table)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class PositionalEncodingLayer : LayerDefinition<PositionalEncodingSpec, PositionalEncodingPlan>
{
    public override LayerKind Kind => LayerKind.PositionalEncoding;

    public override string AttributeName => "Dsl.PositionalEncodingAttribute";

    public override LayerSpec Parse(AttributeReader a) => new PositionalEncodingSpec(a.Header);

    protected override void Check(PositionalEncodingSpec spec, OptionChecks checks) { }

    protected override ShapedLayer Shape(PositionalEncodingSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        return c.SameShape(spec); // a carried state counts the steps taken: stepping adds the encoding of each one's position
    }

    protected override string Describe(ShapedLayer layer, PositionalEncodingSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.PositionalEncodingInfo({Literal(layer.Name)}, {layer.OutWidth})";

    protected override PositionalEncodingPlan Lower(ShapedLayer layer, PositionalEncodingSpec spec, LowerContext c)
    {
        BufferRef table = c.Own("table", layer.OutWidth, Rows.Steps1, BufferUse.Forward, $"the encoding of each step, filled once per workspace [T, {layer.OutWidth}]");
        var (output, dOutput) = c.Output("input plus the encoding of its step");
        int w = layer.OutWidth;
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {w}] -> same: out[t] = x[t] + pe[p + t], pe[t, 2i] = sin(t / 10000^(2i/{w})), pe[t, 2i+1] = cos(…),")
            .Doc("// p the steps a carried state has taken (0 without one)")
            .Add(new KernelOp(Kernels.PositionalEncoding, "Add", ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(w), c.Position(), table, c.In, output))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = dout");
        if (c.DIn is not null) pass.Add(new CopyOp(dOutput, c.DIn));
        var setup = new Op[] { new KernelOp(Kernels.PositionalEncoding, "Fill", table, ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(w)) { Note = "once per shape" } };
        return new PositionalEncodingPlan(layer, c.In, c.DIn, output, dOutput, table) { Passes = pass.Build(), Setup = setup.ToEquatableArray() };
    }
}
