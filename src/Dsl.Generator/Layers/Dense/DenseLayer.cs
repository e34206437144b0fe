using System;
using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Dense;

/// <summary><c>[Dense(units)]</c>: x·Wᵀ + b and an optional activation (nn.Linear), on every step or on a vector.</summary>
internal sealed record DenseSpec(LayerHeader Header, int Units, ActivationKind Activation, InitKind WeightInit) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Dense;
}

internal sealed record DensePlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Weight, ParamRef Bias, ActivationKind Activation)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class DenseLayer : LayerDefinition<DenseSpec, DensePlan>
{
    public override LayerKind Kind => LayerKind.Dense;

    public override string AttributeName => "Dsl.DenseAttribute";

    public override LayerSpec Parse(AttributeReader a) => new DenseSpec(a.Header, a.Int("units", 0), a.Activation(ActivationKind.None), a.Init("weightinit"));

    protected override void Check(DenseSpec spec, OptionChecks checks)
    {
        checks.Positive("units", "units", spec.Units);
        if (!Enum.IsDefined(typeof(ActivationKind), spec.Activation)) checks.Invalid("activation", $"Activation = {(int)spec.Activation} is not a known activation");
        checks.KnownInit("weightinit", spec.WeightInit);
    }

    protected override ShapedLayer Shape(DenseSpec spec, ShapeContext c)
    {
        c.Limit(spec, "weight", spec.Units, c.InWidth);
        return c.WithWidth(spec, spec.Units);
    }

    protected override DensePlan Lower(ShapedLayer layer, DenseSpec spec, LowerContext c)
    {
        int i = layer.InWidth, u = layer.OutWidth;
        InitKind fallback = spec.Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform;
        ParamRef weight = c.Matrix("weight", u, i, new ParamInit(ParamInit.Pick(spec.WeightInit, fallback), i, u, u, 1f / (float)Math.Sqrt(i)));
        ParamRef bias = c.Vector("bias", u);
        var (output, dOutput) = c.Output("activations");
        return new DensePlan(layer, c.In, c.DIn, output, dOutput, weight, bias, spec.Activation);
    }

    protected override void Emit(DensePlan p, EmitContext c)
    {
        var w = c.W;
        ShapedLayer l = p.Layer;
        string act = p.Activation.ToString();
        bool hasAct = p.Activation != ActivationKind.None;
        w.Line($"// {l.Name}: {EmitContext.Shape(l.InIsSequence, l.InWidth)} -> {EmitContext.Shape(l.OutIsSequence, l.OutWidth)}: out = {(hasAct ? act.ToLowerInvariant() + "(" : "")}x · Wᵀ + b{(hasAct ? ")" : "")}");
        c.OpenForward(p);
        w.Line($"const int I = {l.InWidth}, U = {l.OutWidth};");
        w.Line($"int R = {EmitContext.Rows(l)};");
        c.Affine("R", "U", "I", p.In.Ws, p.Weight, p.Bias, p.Out.Ws);
        if (hasAct) w.Line($"{Act}.Apply(global::Dsl.Activation.{act}, {p.Out.Ws});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: da = dout ⊙ act'(out); dW += daᵀ · x; db += Σ da; dx = da · W");
        c.OpenBackward(p);
        w.Line($"const int I = {l.InWidth}, U = {l.OutWidth};");
        w.Line($"int R = {EmitContext.Rows(l)};");
        if (hasAct) w.Line($"{Act}.Backward(global::Dsl.Activation.{act}, {p.Out.Ws}, {p.Dy.Ws});");
        c.AffineBackward("R", "U", "I", p.In.Ws, p.Weight, p.Bias, p.Dy.Ws, p.DIn?.Ws);
        w.Close();
        w.Line();
    }
}
