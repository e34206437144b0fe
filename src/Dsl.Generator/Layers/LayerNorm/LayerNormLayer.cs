using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.LayerNorm;

/// <summary>
/// <c>[LayerNorm]</c>: nn.LayerNorm over each step's features, with or without its shift (<see cref="Bias"/>), or with no
/// parameter at all (<see cref="Affine"/> false: elementwise_affine=False). <see cref="BiasGiven"/>: Bias was written.
/// </summary>
internal sealed record LayerNormSpec(LayerHeader Header, float Epsilon, bool Bias, bool Affine, bool BiasGiven) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.LayerNorm;

    /// <summary>Whether the layer learns its shift: Bias, and only with the scale.</summary>
    public bool HasBias => Bias && Affine;
}

/// <summary><see cref="Mean"/> and <see cref="Rstd"/> are each row's statistics, kept for the backward pass; <see cref="Weight"/> is null without the affine map.</summary>
internal sealed record LayerNormPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef? Weight, ParamRef? Bias,
    BufferRef Mean, BufferRef Rstd, BufferRef Scratch, float Epsilon) : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class LayerNormLayer : LayerDefinition<LayerNormSpec, LayerNormPlan>
{
    public override LayerKind Kind => LayerKind.LayerNorm;

    public override string AttributeName => "Dsl.LayerNormAttribute";

    public override LayerSpec Parse(AttributeReader a) =>
        new LayerNormSpec(a.Header, a.Float("epsilon", 1e-5f), a.Bool("bias", true), a.Bool("elementwiseaffine", true), a.Has("bias"));

    protected override void Check(LayerNormSpec spec, OptionChecks checks)
    {
        if (!(spec.Epsilon > 0f) || float.IsInfinity(spec.Epsilon)) checks.Invalid("epsilon", $"Epsilon must be a positive finite number, not {spec.Epsilon}");
        if (!spec.Affine && spec.Bias && spec.BiasGiven)
            checks.Invalid("bias", "Bias = true needs ElementwiseAffine = true: without the affine map the norm learns no shift (drop Bias, or keep the scale)");
    }

    protected override ShapedLayer Shape(LayerNormSpec spec, ShapeContext c) => c.SameShape(spec);

    protected override string Describe(ShapedLayer layer, LayerNormSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.LayerNormInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {Helpers.SourceWriter.Float(spec.Epsilon)}"
        + $"{(spec.HasBias ? "" : ", Bias: false")}{(spec.Affine ? "" : ", ElementwiseAffine: false")})";

    protected override LayerNormPlan Lower(ShapedLayer layer, LayerNormSpec spec, LowerContext c)
    {
        int wd = layer.OutWidth;
        Rows rows = Rows.Of(layer.OutIsSequence);
        string rowsText = layer.OutIsSequence ? "T, B" : "B";
        ParamRef? weight = spec.Affine ? c.Vector("weight", wd, fill: new ParamFill(0, wd, 1f, "a scale of one")) : null;
        ParamRef? bias = spec.HasBias ? c.Vector("bias", wd) : null;
        // without a learned scale or shift the kernels read a row of ones or zeros and write its gradient into scratch that
        // nothing reads (cleared before each use: the workspace's memory is not promised to start at zero)
        var fixedScale = weight is null ? NormConstants.Of(c, "unit_scale", "scale", wd, 1f) : null;
        var fixedShift = bias is null ? NormConstants.Of(c, "zero_shift", "shift", wd, 0f) : null;
        BufferRef mean = c.Own("mean", 1, rows, BufferUse.Forward, $"each row's mean [{rowsText}]");
        BufferRef scratch = c.Own("scratch", 2 * wd, Rows.One, BufferUse.Training, $"scratch [2, {wd}]");
        BufferRef rstd = c.Own("rstd", 1, rows, BufferUse.Forward, $"each row's 1/√(var + ε) [{rowsText}]");
        var (output, dOutput) = c.Output(weight is null ? "normalised" : "normalised, scaled and shifted");
        string eps = SourceWriter.Float(spec.Epsilon);
        Operand rowCount = ScalarOperand.Of(Dim.Rows(layer.OutIsSequence)), width = ScalarOperand.Of(wd);
        string affine = weight is null ? "" : bias is null ? " · weight" : " · weight + bias";
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, wd)} -> same: out = (x − mean) / √(var + {eps}){affine}, per row (nn.LayerNorm)");
        fixedScale?.Set(pass);
        fixedShift?.Set(pass);
        pass.Add(new KernelOp(Kernels.LayerNorm, "Forward", rowCount, width, c.In, weight?.Values ?? fixedScale!.Row, bias?.Values ?? fixedShift!.Row,
                ScalarOperand.Of(spec.Epsilon), output, mean, rstd))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), g = dout{(weight is null ? "" : " ⊙ weight; dweight += Σ dout ⊙ x̂")}{(bias is null ? "" : "; dbias += Σ dout")}");
        fixedScale?.ClearGradient(pass);
        fixedShift?.ClearGradient(pass);
        pass.Add(new KernelOp(Kernels.LayerNorm, "Backward", rowCount, width, c.In, weight?.Values ?? fixedScale!.Row, mean, rstd, dOutput, c.DIn is null ? Operand.None : c.DIn,
                weight?.Gradient ?? fixedScale!.Gradient, bias?.Gradient ?? fixedShift!.Gradient, scratch));
        return new LayerNormPlan(layer, c.In, c.DIn, output, dOutput, weight, bias, mean, rstd, scratch, spec.Epsilon) { Passes = pass.Build() };
    }
}
