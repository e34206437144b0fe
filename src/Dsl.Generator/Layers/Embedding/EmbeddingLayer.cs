using System;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Embedding;

/// <summary><c>[Embedding(vocab: V, dim: D)]</c>: token ids → vectors (nn.Embedding); must be first.</summary>
internal sealed record EmbeddingSpec(LayerHeader Header, int Vocab, int Dim, InitKind WeightInit, bool ScaleBySqrtDim = false) : LayerSpec(Header)
{
    /// <summary>What the table's rows are multiplied by: √dim with <c>ScaleBySqrtDim</c>, else 1.</summary>
    public float Scale => ScaleBySqrtDim ? (float)Math.Sqrt(Dim) : 1f;

    public override LayerKind Kind => LayerKind.Embedding;

    public override bool IsInput => true;
}

/// <summary>Reads the token ids (<see cref="LayerPlan.In"/>); <see cref="Weight"/> is the table [V, D], its rows multiplied by <see cref="Scale"/>.</summary>
internal sealed record EmbeddingPlan(ShapedLayer Layer, BufferRef In, BufferRef Out, BufferRef? DOut, ParamRef Weight, float Scale) : LayerPlan(Layer, In, null, Out, DOut);

internal sealed class EmbeddingLayer : LayerDefinition<EmbeddingSpec, EmbeddingPlan>
{
    public override LayerKind Kind => LayerKind.Embedding;

    public override string AttributeName => "Dsl.EmbeddingAttribute";

    public override LayerSpec Parse(AttributeReader a) =>
        new EmbeddingSpec(a.Header, a.Int("vocab", 0), a.Int("dim", 0), a.Init("weightinit"), a.Bool("scalebysqrtdim", false));

    protected override void Check(EmbeddingSpec spec, OptionChecks checks)
    {
        checks.Positive("vocab", "vocab", spec.Vocab);
        checks.Positive("dim", "dim", spec.Dim);
        checks.KnownInit("weightinit", spec.WeightInit);
    }

    protected override ShapedLayer Shape(EmbeddingSpec spec, ShapeContext c)
    {
        c.Limit(spec, "weight", spec.Vocab, spec.Dim);
        if (c.Index == 0) return new ShapedLayer(spec, c.Name, 0, spec.Dim, true, true);
        // every layer before it, the first included, produces floats
        c.Report(DiagnosticDescriptors.EmbeddingAfterFloatLayer, spec.Location, c.Name, c.Names[c.Index - 1]);
        return c.SameShape(spec);
    }

    protected override string Describe(ShapedLayer layer, EmbeddingSpec spec, ShapedModel model, int index) =>
        spec.ScaleBySqrtDim
            ? $"new global::Dsl.EmbeddingInfo({Literal(layer.Name)}, {spec.Vocab}, {spec.Dim}) {{ Scale = {SourceWriter.Float(spec.Scale)} }}"
            : $"new global::Dsl.EmbeddingInfo({Literal(layer.Name)}, {spec.Vocab}, {spec.Dim})";

    protected override EmbeddingPlan Lower(ShapedLayer layer, EmbeddingSpec spec, LowerContext c)
    {
        int d = layer.OutWidth;
        ParamRef weight = c.Matrix("weight", spec.Vocab, d, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.Normal), spec.Vocab, d, spec.Vocab, 1f / (float)Math.Sqrt(d)));
        var (output, dOutput) = c.Output("embedding vectors");
        float scale = spec.Scale;
        string times = spec.ScaleBySqrtDim ? $" · √{d}" : "";
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: token ids [T, B] -> vectors [T, B, {d}]: out[t, b] = weight[tokens[t, b]]{times}")
            .Add(new GatherRowsOp(weight.Values, c.In, d, output, scale))
            .Backward()
            .Doc($"// {layer.Name} backward: dweight[tokens[t, b]] += dout[t, b]{times}")
            .Add(new ScatterAddRowsOp(c.In, dOutput, d, weight.Gradient, scale));
        return new EmbeddingPlan(layer, c.In, output, dOutput, weight, scale) { Passes = pass.Build() };
    }
}
