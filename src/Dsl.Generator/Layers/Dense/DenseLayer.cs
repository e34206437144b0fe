using System;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Emitting;
using Dsl.Generator.Layers.Embedding;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Dense;

/// <summary>
/// <c>[Dense(units)]</c>: x·Wᵀ + b and an optional activation (nn.Linear), on every step or on a vector; with
/// <see cref="TieEmbedding"/>, W is the first layer's embedding table (weight tying); without <see cref="Bias"/>, no b; with
/// <see cref="Gated"/>, a gated linear unit: the map is 2 × units wide and the output value ⊙ act(gate); with <see cref="SoftCap"/>,
/// the outputs soft-capped, cap · tanh(y / cap) (Gemma 2's final logits).
/// </summary>
internal sealed record DenseSpec(LayerHeader Header, int Units, ActivationKind Activation, InitKind WeightInit, bool TieEmbedding, bool Bias, bool Gated = false,
    float SoftCap = 0f) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Dense;
}

internal sealed record DensePlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Weight, ParamRef? Bias, ActivationKind Activation)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class DenseLayer : LayerDefinition<DenseSpec, DensePlan>
{
    public override LayerKind Kind => LayerKind.Dense;

    public override string AttributeName => "Dsl.DenseAttribute";

    public override LayerSpec Parse(AttributeReader a) => new DenseSpec(a.Header, a.Int("units", 0), a.Activation(ActivationKind.None), a.Init("weightinit"), a.Bool("tieembedding", false), a.Bool("bias", true),
        a.Bool("gated", false), a.Float("softcap", 0f));

    protected override void Check(DenseSpec spec, OptionChecks checks)
    {
        checks.Positive("units", "units", spec.Units);
        if (!Enum.IsDefined(typeof(ActivationKind), spec.Activation)) checks.Invalid("activation", $"Activation = {(int)spec.Activation} is not a known activation");
        checks.KnownInit("weightinit", spec.WeightInit);
        if (checks.SoftCap(spec.SoftCap) && (spec.Gated || spec.Activation != ActivationKind.None))
            checks.Invalid("softcap", spec.Gated ? "SoftCap caps a layer's outputs (Gemma 2's final logits); a gated unit's are value ⊙ act(gate), which it does not apply to"
                : $"SoftCap is a tanh of its own, cap · tanh(y / cap), on the affine map's outputs (logits); it does not apply after Activation = {spec.Activation}");
        if (spec.Gated && spec.TieEmbedding)
            checks.Invalid("gated", "Gated and TieEmbedding exclude each other: a gated unit's weight is [2 × units, in], the embedding's table [vocab, dim]");
        // (PyTorch still draws the bias as nn.Linear's)
        if (spec.TieEmbedding && spec.WeightInit is not (InitKind.Default or InitKind.PyTorch))
            checks.Invalid("weightinit", $"WeightInit = {spec.WeightInit} does not apply with TieEmbedding = true: the weight is the embedding's table, which the embedding's WeightInit initialises (PyTorch, which draws the bias as nn.Linear's, is allowed)");
    }

    protected override ShapedLayer Shape(DenseSpec spec, ShapeContext c)
    {
        if (spec.TieEmbedding) CheckTie(spec, c);
        else c.Limit(spec, "weight", (spec.Gated ? 2L : 1L) * spec.Units, c.InWidth);
        return c.WithWidth(spec, spec.Units);
    }

    /// <summary>DSL1010 unless the model's first layer is an embedding whose table [vocab, dim] is this layer's weight [units, in].</summary>
    private static void CheckTie(DenseSpec spec, ShapeContext c)
    {
        LocationInfo? at = spec.ArgumentLocation("tieembedding");
        if (c.Previous.Count == 0 || c.Previous[0].Spec is not EmbeddingSpec embedding)
        {
            // an embedding elsewhere has DSL1003 (it must be first) already
            if (!c.Previous.Any(l => l.Spec is EmbeddingSpec))
                c.Report(DiagnosticDescriptors.TiedWeightDoesNotFit, at, c.Name, "the model has no [Embedding] (it must be the first layer, reading token ids)");
            return;
        }
        // sizes that are not positive have DSL0002 already; an unknown input width (0) follows an earlier error
        var problems = new System.Collections.Generic.List<string>();
        if (spec.Units != embedding.Vocab && spec.Units > 0 && embedding.Vocab > 0) problems.Add($"units is {spec.Units}, the vocabulary {embedding.Vocab}");
        if (c.InWidth != embedding.Dim && c.InWidth > 0 && embedding.Dim > 0) problems.Add($"its input is {c.InWidth} wide, the embedding's vectors {embedding.Dim}");
        if (problems.Count > 0)
            c.Report(DiagnosticDescriptors.TiedWeightDoesNotFit, at, c.Name,
                $"its weight [{spec.Units}, {c.InWidth}] must be the table of '{c.Names[0]}' [{embedding.Vocab}, {embedding.Dim}], but {string.Join(" and ", problems)}");
    }

    protected override string Describe(ShapedLayer layer, DenseSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.DenseInfo({Literal(layer.Name)}, {layer.InWidth}, {spec.Units}, {Literal(layer.OutIsSequence)}, global::Dsl.Activation.{spec.Activation}{(spec.TieEmbedding ? ", TiedTo: " + Literal(model.Layers[0].Name) : "")}{(spec.Bias ? "" : ", Bias: false")}{(spec.Gated ? ", Gated: true" : "")}{(spec.SoftCap > 0f ? $", SoftCap: {Helpers.SourceWriter.Float(spec.SoftCap)}" : "")})";

    protected override DensePlan Lower(ShapedLayer layer, DenseSpec spec, LowerContext c)
    {
        if (spec.Gated) return LowerGated(layer, spec, c);
        int i = layer.InWidth, u = layer.OutWidth;
        ParamRef weight = spec.TieEmbedding ? c.Tie("weight", ((EmbeddingPlan)c.Layers[0]).Weight) : Weight(spec, c, u, i);
        ParamRef? bias = Bias(spec, c, u, i);
        string b = bias is null ? "" : " + b";
        var (output, dOutput) = c.Output("activations");
        bool act = spec.Activation != ActivationKind.None;
        string name = spec.Activation.ToString().ToLowerInvariant();
        Dim rows = Dim.Rows(layer.OutIsSequence);
        // GELU's and SiLU's derivatives read their input, which their output does not determine: the affine map keeps it apart
        // (the runtime's Activations.FromInput)
        BufferRef? pre = spec.Activation.KeepsInput()
            ? c.Own("preactivation", u, Rows.Of(layer.OutIsSequence), BufferUse.Forward, $"x · Wᵀ{b} before the {name} {(layer.OutIsSequence ? "[T, B, " : "[B, ")}{u}]")
            : null;
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, i)} -> {EmitContext.Shape(layer.OutIsSequence, u)}: out = {(act ? name + "(" : "")}x · Wᵀ{b}{(act ? ")" : "")}{(spec.TieEmbedding ? $", W = {weight.Name} (tied)" : "")}")
            .Affine(rows, u, i, c.In, weight, bias, pre ?? output);
        Operand? input = pre is null ? null : (Operand)pre;
        if (act) pass.Add(new ActivationOp(spec.Activation, output, input));
        Operand cap = ScalarOperand.Of(spec.SoftCap);
        bool capped = spec.SoftCap > 0f;
        if (capped)
            pass.Comment($"soft-capped: out = {Helpers.SourceWriter.Float(spec.SoftCap)} · tanh(out / {Helpers.SourceWriter.Float(spec.SoftCap)})")
                .Add(new KernelOp(Kernels.Activations, "SoftCap", cap, output));
        pass.Backward().Doc($"// {layer.Name} backward: {(act ? $"da = dout ⊙ act'({(pre is null ? "out" : "a")}); " : capped ? "da = dout ⊙ (1 − (out / cap)²); " : "")}dW += daᵀ · x; {(bias is null ? "" : "db += Σ da; ")}dx = da · W");
        if (act) pass.Add(new ActivationBackwardOp(spec.Activation, output, dOutput, input));
        if (capped) pass.Add(new KernelOp(Kernels.Activations, "SoftCapBackward", cap, output, dOutput));
        pass.AffineBackward(rows, u, i, c.In, weight, bias, dOutput, c.DIn);
        return new DensePlan(layer, c.In, c.DIn, output, dOutput, weight, bias, spec.Activation) { Passes = pass.Build() };
    }

    /// <summary>A weight of the layer's own, [rows, in]: its WeightInit, else Xavier uniform (He uniform for ReLU).</summary>
    private static ParamRef Weight(DenseSpec spec, LowerContext c, int rows, int inWidth)
    {
        InitKind fallback = spec.Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform;
        return c.Matrix("weight", rows, inWidth, new ParamInit(ParamInit.Pick(spec.WeightInit, fallback), inWidth, rows, rows, 1f / (float)Math.Sqrt(inWidth)));
    }

    /// <summary>
    /// The bias [rows]: with WeightInit = PyTorch nn.Linear's, U(±1/√fan_in); else zeros; Bias = false: none (nn.Linear(bias=False)).
    /// </summary>
    private static ParamRef? Bias(DenseSpec spec, LowerContext c, int rows, int inWidth) => !spec.Bias ? null
        : c.Vector("bias", rows, spec.WeightInit == InitKind.PyTorch ? new ParamInit(InitKind.PyTorch, inWidth, rows, rows, 1f / (float)Math.Sqrt(inWidth)) : null);

    /// <summary>A gated linear unit: [value, gate] = x · Wᵀ + b (2U wide), out = value ⊙ act(gate); back through the gate, then the map.</summary>
    private static DensePlan LowerGated(ShapedLayer layer, DenseSpec spec, LowerContext c)
    {
        int i = layer.InWidth, u = layer.OutWidth;
        ParamRef weight = Weight(spec, c, 2 * u, i);
        ParamRef? bias = Bias(spec, c, 2 * u, i);
        Rows rowsOf = Rows.Of(layer.OutIsSequence);
        string shape = layer.OutIsSequence ? "[T, B, " : "[B, ";
        string b = bias is null ? "" : " + b";
        BufferRef pre = c.Own("preactivation", 2 * u, rowsOf, BufferUse.Forward, $"[value, gate] = x · Wᵀ{b} {shape}{2 * u}]");
        BufferRef dPre = c.Own("dpreactivation", 2 * u, rowsOf, BufferUse.Training, $"gradient of [value, gate] {shape}{2 * u}]");
        var (output, dOutput) = c.Output("gated units");
        Dim rows = Dim.Rows(layer.OutIsSequence);
        Operand kind = new ScalarOperand("global::Dsl.Activation." + spec.Activation), rowCount = ScalarOperand.Of(rows), units = ScalarOperand.Of(u);
        string act = spec.Activation == ActivationKind.None ? "identity" : spec.Activation.ToString().ToLowerInvariant();
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, i)} -> {EmitContext.Shape(layer.OutIsSequence, u)}, a gated linear unit: [value, gate] = x · Wᵀ{b}; out = value ⊙ {act}(gate)")
            .Affine(rows, 2 * u, i, c.In, weight, bias, pre)
            .Add(new KernelOp(Kernels.Gated, "Forward", kind, rowCount, units, pre, output))
            .Backward()
            .Doc($"// {layer.Name} backward: dvalue = dout ⊙ {act}(gate), dgate = dout ⊙ value ⊙ {act}'(gate); dW += d[value, gate]ᵀ · x; {(bias is null ? "" : "db += Σ d[value, gate]; ")}dx = d[value, gate] · W")
            .Add(new KernelOp(Kernels.Gated, "Backward", kind, rowCount, units, pre, dOutput, dPre))
            .AffineBackward(rows, 2 * u, i, c.In, weight, bias, dPre, c.DIn);
        return new DensePlan(layer, c.In, c.DIn, output, dOutput, weight, bias, spec.Activation) { Passes = pass.Build() };
    }
}
