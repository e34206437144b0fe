using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.RmsNorm;

/// <summary><c>[RmsNorm]</c>: nn.RMSNorm over each step's features, with its scale or (<see cref="Affine"/> false) none.</summary>
internal sealed record RmsNormSpec(LayerHeader Header, float Epsilon, bool Affine) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.RmsNorm;
}

/// <summary><see cref="Rstd"/> is each row's 1/√(mean(x²) + ε), kept for the backward pass; <see cref="Weight"/> is null without the scale.</summary>
internal sealed record RmsNormPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef? Weight, BufferRef Rstd, float Epsilon)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class RmsNormLayer : LayerDefinition<RmsNormSpec, RmsNormPlan>
{
    /// <summary>nn.RMSNorm's ε when given none: the float's machine epsilon.</summary>
    public const float DefaultEpsilon = 1.1920929e-7f;

    public override LayerKind Kind => LayerKind.RmsNorm;

    public override string AttributeName => "Dsl.RmsNormAttribute";

    public override LayerSpec Parse(AttributeReader a) => new RmsNormSpec(a.Header, a.Float("epsilon", DefaultEpsilon), a.Bool("elementwiseaffine", true));

    protected override void Check(RmsNormSpec spec, OptionChecks checks)
    {
        if (!(spec.Epsilon > 0f) || float.IsInfinity(spec.Epsilon)) checks.Invalid("epsilon", $"Epsilon must be a positive finite number, not {spec.Epsilon}");
    }

    protected override ShapedLayer Shape(RmsNormSpec spec, ShapeContext c) => c.SameShape(spec);

    protected override string Describe(ShapedLayer layer, RmsNormSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.RmsNormInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {SourceWriter.Float(spec.Epsilon)}{(spec.Affine ? "" : ", ElementwiseAffine: false")})";

    protected override RmsNormPlan Lower(ShapedLayer layer, RmsNormSpec spec, LowerContext c)
    {
        int wd = layer.OutWidth;
        Rows rows = Rows.Of(layer.OutIsSequence);
        string rowsText = layer.OutIsSequence ? "T, B" : "B";
        ParamRef? weight = spec.Affine ? c.Vector("weight", wd, fill: new ParamFill(0, wd, 1f, "a scale of one")) : null;
        var fixedScale = weight is null ? NormConstants.Of(c, "unit_scale", "scale", wd, 1f) : null;
        BufferRef rstd = c.Own("rstd", 1, rows, BufferUse.Forward, $"each row's 1/√(mean(x²) + ε) [{rowsText}]");
        var (output, dOutput) = c.Output(weight is null ? "normalised" : "normalised and scaled");
        string eps = SourceWriter.Float(spec.Epsilon);
        Operand rowCount = ScalarOperand.Of(Dim.Rows(layer.OutIsSequence)), width = ScalarOperand.Of(wd);
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, wd)} -> same: out = x / √(mean(x²) + {eps}){(weight is null ? "" : " · weight")}, per row (nn.RMSNorm)");
        fixedScale?.Set(pass);
        pass.Add(new KernelOp(Kernels.RmsNorm, "Forward", rowCount, width, c.In, weight?.Values ?? fixedScale!.Row, ScalarOperand.Of(spec.Epsilon), output, rstd))
            .Backward()
            .Doc(weight is null ? $"// {layer.Name} backward: dx = rstd · (dout − x̂ · mean(dout ⊙ x̂)), x̂ = x · rstd"
                : $"// {layer.Name} backward: dx = rstd · (g − x̂ · mean(g ⊙ x̂)), g = dout ⊙ weight, x̂ = x · rstd; dweight += Σ dout ⊙ x̂");
        fixedScale?.ClearGradient(pass);
        pass.Add(new KernelOp(Kernels.RmsNorm, "Backward", rowCount, width, c.In, weight?.Values ?? fixedScale!.Row, rstd, dOutput, c.DIn is null ? Operand.None : c.DIn,
            weight?.Gradient ?? fixedScale!.Gradient));
        return new RmsNormPlan(layer, c.In, c.DIn, output, dOutput, weight, rstd, spec.Epsilon) { Passes = pass.Build() };
    }
}
