using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Layers.Embedding;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.TokenTypeEmbedding;

/// <summary>
/// <c>[TokenTypeEmbedding(types: N, separator: id)]</c>: adds a learned vector per token type (BERT's token_type_embeddings), a
/// token's type the number of separator ids before it in its sequence (at most N − 1).
/// </summary>
internal sealed record TokenTypeEmbeddingSpec(LayerHeader Header, int Types, int Separator, InitKind WeightInit) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.TokenTypeEmbedding;
}

/// <summary><see cref="Weight"/> is the table [types, width]; <see cref="TypeIds"/> each token's type [T, B], which the backward pass reads.</summary>
internal sealed record TokenTypeEmbeddingPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Weight, BufferRef TypeIds)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class TokenTypeEmbeddingLayer : LayerDefinition<TokenTypeEmbeddingSpec, TokenTypeEmbeddingPlan>
{
    public override LayerKind Kind => LayerKind.TokenTypeEmbedding;

    public override string AttributeName => "Dsl.TokenTypeEmbeddingAttribute";

    public override LayerSpec Parse(AttributeReader a) => new TokenTypeEmbeddingSpec(a.Header, a.Int("types", 0), a.Int("separator", -1), a.Init("weightinit"));

    protected override void Check(TokenTypeEmbeddingSpec spec, OptionChecks checks)
    {
        checks.Positive("types", "types", spec.Types);
        if (spec.Separator < 0) checks.Invalid("separator", $"separator must be a token id (0 or more), not {spec.Separator}");
        checks.KnownInit("weightinit", spec.WeightInit);
    }

    protected override ShapedLayer Shape(TokenTypeEmbeddingSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        // the types are counted over the model's token ids: its first layer reads them (an embedding elsewhere has DSL1003)
        if (c.Previous.Count == 0 || c.Previous[0].Spec is not EmbeddingSpec embedding)
        {
            if (!c.Previous.Any(l => l.Spec is EmbeddingSpec))
                c.Report(DiagnosticDescriptors.InvalidOption, spec.Location, c.Name, "token types are counted over the model's token ids: its first layer must be an [Embedding]");
        }
        else if (spec.Separator >= embedding.Vocab && embedding.Vocab > 0)
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("separator"), c.Name,
                $"separator {spec.Separator} is no token of '{c.Names[0]}' (its vocabulary holds ids 0 … {embedding.Vocab - 1})");
        ShapedLayer shaped = c.SameShape(spec, "counts the token types from the sequence's first token");
        c.Limit(spec, "weight", spec.Types, shaped.OutWidth);
        return shaped;
    }

    protected override string Describe(ShapedLayer layer, TokenTypeEmbeddingSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.TokenTypeEmbeddingInfo({Literal(layer.Name)}, {layer.OutWidth}, {spec.Types}, {spec.Separator})";

    protected override TokenTypeEmbeddingPlan Lower(ShapedLayer layer, TokenTypeEmbeddingSpec spec, LowerContext c)
    {
        int w = layer.OutWidth;
        // nn.Embedding's N(0, 1) by default, as [Embedding]'s table
        ParamRef weight = c.Matrix("weight", spec.Types, w, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.Normal), spec.Types, w, spec.Types, 1f / (float)System.Math.Sqrt(w)));
        BufferRef types = c.Buffer(layer.Name + "_types", 1, Rows.StepsBatch, BufferUse.Forward, $"{layer.Name}: each token's type, time-major [T, B]", isInt: true);
        var (output, dOutput) = c.Output("input plus the embedding of its token's type");
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {w}] -> same: out[t, b] = x[t, b] + weight[type], type = the ids {spec.Separator} before t in sequence b (at most {spec.Types - 1})")
            .Add(new KernelOp(Kernels.Layout, "TokenTypes", c.Tokens is { } tokens ? tokens : Operand.None, types, ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(spec.Separator), ScalarOperand.Of(spec.Types)))
            .Add(new GatherRowsOp(weight.Values, types, w, output))
            .Add(new AddOp(c.In, output, output))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = dout; dweight[type] += dout[t, b]");
        if (c.DIn is not null) pass.Add(new CopyOp(dOutput, c.DIn));
        pass.Add(new ScatterAddRowsOp(types, dOutput, w, weight.Gradient));
        return new TokenTypeEmbeddingPlan(layer, c.In, c.DIn, output, dOutput, weight, types) { Passes = pass.Build() };
    }
}
