using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.PositionalEncoding;

/// <summary><c>[PositionalEncoding]</c>: adds Vaswani et al.'s sinusoidal encoding of each step's position.</summary>
internal sealed record PositionalEncodingSpec(LayerHeader Header) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.PositionalEncoding;
}

/// <summary><see cref="Table"/> holds the encoding of every step [T, width], filled once per workspace.</summary>
internal sealed record PositionalEncodingPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Table)
    : LayerPlan(Layer, In, DIn, Out, DOut)
{
    public override void EmitWorkspaceSetup(EmitContext context) =>
        context.W.Line($"{PositionalEncodingLayer.Kernel}.Fill({Table.Name}, t, {Layer.OutWidth}); // once per shape");
}

internal sealed class PositionalEncodingLayer : LayerDefinition<PositionalEncodingSpec, PositionalEncodingPlan>
{
    internal const string Kernel = "global::Dsl.Kernels.PositionalEncodingKernel";

    public override LayerKind Kind => LayerKind.PositionalEncoding;

    public override string AttributeName => "Dsl.PositionalEncodingAttribute";

    public override LayerSpec Parse(AttributeReader a) => new PositionalEncodingSpec(a.Header);

    protected override void Check(PositionalEncodingSpec spec, OptionChecks checks) { }

    protected override ShapedLayer Shape(PositionalEncodingSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        return c.SameShape(spec, stepBlocker: "needs each step's position in the sequence");
    }

    protected override PositionalEncodingPlan Lower(ShapedLayer layer, PositionalEncodingSpec spec, LowerContext c)
    {
        BufferRef table = c.Own("table", layer.OutWidth, Rows.Steps1, BufferUse.Forward, $"the encoding of each step, filled once per workspace [T, {layer.OutWidth}]");
        var (output, dOutput) = c.Output("input plus the encoding of its step");
        return new PositionalEncodingPlan(layer, c.In, c.DIn, output, dOutput, table);
    }

    protected override void Emit(PositionalEncodingPlan p, EmitContext c)
    {
        var w = c.W;
        ShapedLayer l = p.Layer;
        w.Line($"// {l.Name}: [T, B, {l.OutWidth}] -> same: out[t] = x[t] + pe[t], pe[t, 2i] = sin(t / 10000^(2i/{l.OutWidth})), pe[t, 2i+1] = cos(…)");
        c.OpenForward(p);
        w.Line($"{Kernel}.Add(ws.T, ws.B, {l.OutWidth}, {p.Table.Ws}, {p.In.Ws}, {p.Out.Ws});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = dout");
        c.OpenBackward(p);
        if (p.DIn is not null) w.Line($"{p.Dy.Ws}.CopyTo({p.DIn.Ws});");
        w.Close();
        w.Line();
    }
}
