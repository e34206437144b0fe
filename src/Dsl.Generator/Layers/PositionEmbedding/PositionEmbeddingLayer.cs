using System;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.PositionEmbedding;

/// <summary><c>[PositionEmbedding(maxLength: N)]</c>: adds a learned vector per position (GPT-2's wpe), counted from a carried state's position.</summary>
internal sealed record PositionEmbeddingSpec(LayerHeader Header, int MaxLength, InitKind WeightInit) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.PositionEmbedding;
}

/// <summary><see cref="Weight"/> is the table [maxLength, width]; a pass adds rows p … p + T − 1 of it.</summary>
internal sealed record PositionEmbeddingPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Weight)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class PositionEmbeddingLayer : LayerDefinition<PositionEmbeddingSpec, PositionEmbeddingPlan>
{
    public override LayerKind Kind => LayerKind.PositionEmbedding;

    public override string AttributeName => "Dsl.PositionEmbeddingAttribute";

    public override LayerSpec Parse(AttributeReader a) => new PositionEmbeddingSpec(a.Header, a.Int("maxlength", 0), a.Init("weightinit"));

    protected override void Check(PositionEmbeddingSpec spec, OptionChecks checks)
    {
        checks.Positive("maxlength", "maxLength", spec.MaxLength);
        checks.KnownInit("weightinit", spec.WeightInit);
    }

    protected override ShapedLayer Shape(PositionEmbeddingSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        ShapedLayer shaped = c.SameShape(spec);
        c.Limit(spec, "weight", spec.MaxLength, shaped.OutWidth);
        return shaped;
    }

    protected override string Describe(ShapedLayer layer, PositionEmbeddingSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.PositionEmbeddingInfo({Literal(layer.Name)}, {layer.OutWidth}, {spec.MaxLength})";

    protected override PositionEmbeddingPlan Lower(ShapedLayer layer, PositionEmbeddingSpec spec, LowerContext c)
    {
        int w = layer.OutWidth;
        // nn.Embedding's N(0, 1) by default, as [Embedding]'s table
        ParamRef weight = c.Matrix("weight", spec.MaxLength, w, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.Normal), spec.MaxLength, w, spec.MaxLength, 1f / (float)Math.Sqrt(w)));
        c.LimitPositions(spec.MaxLength);
        var (output, dOutput) = c.Output("input plus the embedding of its step's position");
        Operand steps = ScalarOperand.Of(new Dim(1, Steps: 1)), batch = ScalarOperand.Of(Dim.B), width = ScalarOperand.Of(w), position = c.Position();
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {w}] -> same: out[t] = x[t] + weight[p + t], p the steps a carried state has taken (0 without one)")
            .Add(new KernelOp(Kernels.PositionEmbedding, "Add", steps, batch, width, position, weight.Values, c.In, output))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = dout; dweight[p + t] += Σ_b dout[t, b]");
        if (c.DIn is not null) pass.Add(new CopyOp(dOutput, c.DIn));
        pass.Add(new KernelOp(Kernels.PositionEmbedding, "Backward", steps, batch, width, c.KeptPosition(), dOutput, weight.Gradient));
        return new PositionEmbeddingPlan(layer, c.In, c.DIn, output, dOutput, weight) { Passes = pass.Build() };
    }
}
