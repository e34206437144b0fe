using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.LayerNorm;

/// <summary><c>[LayerNorm]</c>: nn.LayerNorm over each step's features, with or without its shift (<see cref="Bias"/>).</summary>
internal sealed record LayerNormSpec(LayerHeader Header, float Epsilon, bool Bias) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.LayerNorm;
}

/// <summary><see cref="Mean"/> and <see cref="Rstd"/> are each row's statistics, kept for the backward pass.</summary>
internal sealed record LayerNormPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Weight, ParamRef? Bias,
    BufferRef Mean, BufferRef Rstd, BufferRef Scratch, float Epsilon) : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class LayerNormLayer : LayerDefinition<LayerNormSpec, LayerNormPlan>
{
    public override LayerKind Kind => LayerKind.LayerNorm;

    public override string AttributeName => "Dsl.LayerNormAttribute";

    public override LayerSpec Parse(AttributeReader a) => new LayerNormSpec(a.Header, a.Float("epsilon", 1e-5f), a.Bool("bias", true));

    protected override void Check(LayerNormSpec spec, OptionChecks checks)
    {
        if (!(spec.Epsilon > 0f) || float.IsInfinity(spec.Epsilon)) checks.Invalid("epsilon", $"Epsilon must be a positive finite number, not {spec.Epsilon}");
    }

    protected override ShapedLayer Shape(LayerNormSpec spec, ShapeContext c) => c.SameShape(spec);

    protected override string Describe(ShapedLayer layer, LayerNormSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.LayerNormInfo({Literal(layer.Name)}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {Helpers.SourceWriter.Float(spec.Epsilon)}{(spec.Bias ? "" : ", Bias: false")})";

    protected override LayerNormPlan Lower(ShapedLayer layer, LayerNormSpec spec, LowerContext c)
    {
        int wd = layer.OutWidth;
        Rows rows = Rows.Of(layer.OutIsSequence);
        string rowsText = layer.OutIsSequence ? "T, B" : "B";
        ParamRef weight = c.Vector("weight", wd, fill: new ParamFill(0, wd, 1f, "a scale of one"));
        ParamRef? bias = spec.Bias ? c.Vector("bias", wd) : null;
        // without a shift the kernels read a row of zeros and write its gradient into scratch that nothing reads (cleared
        // before each use: the workspace's memory is not promised to start at zero)
        BufferRef? zeros = spec.Bias ? null : c.Own("zero_shift", wd, Rows.One, BufferUse.Forward, $"zeros: no shift [{wd}]");
        BufferRef? unused = spec.Bias ? null : c.Own("shift_gradient", wd, Rows.One, BufferUse.Training, $"the gradient of the zero shift, never read [{wd}]");
        BufferRef mean = c.Own("mean", 1, rows, BufferUse.Forward, $"each row's mean [{rowsText}]");
        BufferRef scratch = c.Own("scratch", 2 * wd, Rows.One, BufferUse.Training, $"scratch [2, {wd}]");
        BufferRef rstd = c.Own("rstd", 1, rows, BufferUse.Forward, $"each row's 1/√(var + ε) [{rowsText}]");
        var (output, dOutput) = c.Output("normalised, scaled and shifted");
        string eps = SourceWriter.Float(spec.Epsilon);
        Operand rowCount = ScalarOperand.Of(Dim.Rows(layer.OutIsSequence)), width = ScalarOperand.Of(wd);
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, wd)} -> same: out = (x − mean) / √(var + {eps}) · weight{(bias is null ? "" : " + bias")}, per row (nn.LayerNorm)");
        if (zeros is not null) pass.Add(new ClearOp(zeros));
        pass.Add(new KernelOp(Kernels.LayerNorm, "Forward", rowCount, width, c.In, weight.Values, bias?.Values ?? zeros!, ScalarOperand.Of(spec.Epsilon), output, mean, rstd))
            .Backward()
            .Doc($"// {layer.Name} backward: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), g = dout ⊙ weight; dweight += Σ dout ⊙ x̂{(bias is null ? "" : "; dbias += Σ dout")}");
        if (unused is not null) pass.Add(new ClearOp(unused));
        pass.Add(new KernelOp(Kernels.LayerNorm, "Backward", rowCount, width, c.In, weight.Values, mean, rstd, dOutput, c.DIn is null ? Operand.None : c.DIn,
                weight.Gradient, bias?.Gradient ?? unused!, scratch));
        return new LayerNormPlan(layer, c.In, c.DIn, output, dOutput, weight, bias, mean, rstd, scratch, spec.Epsilon) { Passes = pass.Build() };
    }
}
