using System;
using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Moe;

/// <summary>
/// <c>[Moe(experts, units)]</c>: a sparse mixture of expert feed-forward networks. A router (x · Rᵀ, no bias) and a softmax score
/// each row; the row goes to its <see cref="TopK"/> most probable experts, each a feed-forward network in → units → in
/// (<see cref="Gated"/>: a gated linear unit inside), and the output is their outputs weighted by the chosen probabilities
/// (renormalised over the chosen with <see cref="NormalizeTopK"/>).
/// </summary>
internal sealed record MoeSpec(LayerHeader Header, int Experts, int Units, int TopK, bool NormalizeTopK, ActivationKind Activation, bool Gated, bool Bias, InitKind WeightInit,
    float LoadBalancing = 0f, int SharedUnits = 0, bool SharedGate = false) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Moe;

    /// <summary>The width of each expert's inner map: 2 × units gated (value rows, then gate rows), else units.</summary>
    public int InnerWidth => (Gated ? 2 : 1) * Units;

    /// <summary>The shared expert's inner map's width, as <see cref="InnerWidth"/> for <see cref="SharedUnits"/>.</summary>
    public int SharedInnerWidth => (Gated ? 2 : 1) * SharedUnits;
}

internal sealed record MoePlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, ParamRef Router, ParamRef WeightIn, ParamRef WeightOut,
    ParamRef? BiasIn, ParamRef? BiasOut) : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class MoeLayer : LayerDefinition<MoeSpec, MoePlan>
{
    public override LayerKind Kind => LayerKind.Moe;

    public override string AttributeName => "Dsl.MoeAttribute";

    public override LayerSpec Parse(AttributeReader a) => new MoeSpec(a.Header, a.Int("experts", 0), a.Int("units", 0), a.Int("topk", 2), a.Bool("normalizetopk", true),
        a.Activation(ActivationKind.Silu), a.Bool("gated", true), a.Bool("bias", false), a.Init("weightinit"), a.Float("loadbalancingloss", 0f),
        a.Int("sharedunits", 0), a.Bool("sharedexpertgate", false));

    protected override void Check(MoeSpec spec, OptionChecks checks)
    {
        checks.Positive("experts", "experts", spec.Experts);
        checks.Positive("units", "units", spec.Units);
        checks.Positive("topk", "TopK", spec.TopK);
        if (spec.Experts > 0 && spec.TopK > 0) checks.AtMost("topk", "TopK", spec.TopK, spec.Experts, "a row goes to that many different experts");
        // one expert per row, renormalised: every weight is 1, and the router's gradient, which comes through the weights, 0
        if (spec.TopK == 1 && spec.NormalizeTopK && spec.Experts > 1)
            checks.Report(Diagnostics.DiagnosticDescriptors.RouterLearnsNothing, "topk", checks.Name);
        if (!Enum.IsDefined(typeof(ActivationKind), spec.Activation)) checks.Invalid("activation", $"Activation = {(int)spec.Activation} is not a known activation");
        checks.KnownInit("weightinit", spec.WeightInit);
        if (!(spec.LoadBalancing >= 0f) || float.IsInfinity(spec.LoadBalancing))
            checks.Invalid("loadbalancingloss", $"LoadBalancingLoss is the load-balancing loss's coefficient: a finite number of at least 0 (0: none), not {spec.LoadBalancing.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        checks.AtLeastZero("sharedunits", "SharedUnits", spec.SharedUnits);
        if (spec.SharedGate && spec.SharedUnits == 0)
            checks.Invalid("sharedexpertgate", "SharedExpertGate scales the shared expert's output: declare SharedUnits (the shared expert's width inside) with it");
    }

    protected override ShapedLayer Shape(MoeSpec spec, ShapeContext c)
    {
        string why = "a tensor must fit in one .NET array";
        c.LimitTotal(spec.Location, System.FormattableString.Invariant($"weight_in [{spec.Experts}, {spec.InnerWidth}, {c.InWidth}]"), why,
            () => checked((long)spec.Experts * spec.InnerWidth * c.InWidth));
        c.LimitTotal(spec.Location, System.FormattableString.Invariant($"weight_out [{spec.Experts}, {c.InWidth}, {spec.Units}]"), why,
            () => checked((long)spec.Experts * c.InWidth * spec.Units));
        if (spec.SharedUnits > 0) c.Limit(spec, "shared_in", spec.SharedInnerWidth, c.InWidth);
        return c.SameShape(spec);
    }

    protected override string Describe(ShapedLayer layer, MoeSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.MoeInfo({Literal(layer.Name)}, {layer.InWidth}, {spec.Experts}, {spec.Units}, {spec.TopK}, {Literal(layer.OutIsSequence)}, global::Dsl.Activation.{spec.Activation}"
        + $"{(spec.Gated ? "" : ", Gated: false")}{(spec.NormalizeTopK ? "" : ", NormalizeTopK: false")}{(spec.Bias ? ", Bias: true" : "")}"
        + $"{(spec.LoadBalancing > 0f ? $", LoadBalancingLoss: {Helpers.SourceWriter.Float(spec.LoadBalancing)}" : "")}"
        + $"{(spec.SharedUnits > 0 ? $", SharedUnits: {spec.SharedUnits}" : "")}{(spec.SharedGate ? ", SharedExpertGate: true" : "")})";

    protected override MoePlan Lower(ShapedLayer layer, MoeSpec spec, LowerContext c)
    {
        int d = layer.InWidth, u = spec.Units, e = spec.Experts, k = spec.TopK, inner = spec.InnerWidth;
        InitKind init = ParamInit.Pick(spec.WeightInit, spec.Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform);
        ParamRef router = c.Matrix("router", e, d, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.XavierUniform), d, e, e, 1f / (float)Math.Sqrt(d)));
        ParamRef weightIn = c.Stack("weight_in", e, inner, d, new ParamInit(init, d, inner, inner, 1f / (float)Math.Sqrt(d)));
        ParamRef? biasIn = spec.Bias ? c.Matrix("bias_in", e, inner, ParamInit.Zeros(d, inner)) : null;
        ParamRef weightOut = c.Stack("weight_out", e, d, u, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.XavierUniform), u, d, d, 1f / (float)Math.Sqrt(u)));
        ParamRef? biasOut = spec.Bias ? c.Matrix("bias_out", e, d, ParamInit.Zeros(u, d)) : null;

        Rows rowsOf = Rows.Of(layer.OutIsSequence);
        string shape = layer.OutIsSequence ? "[T, B, " : "[B, ";
        BufferRef probs = c.Own("probs", e, rowsOf, BufferUse.Forward, $"the router's logits, then their softmax over the experts {shape}{e}]");
        BufferRef weights = c.Own("weights", k, rowsOf, BufferUse.Forward, $"the weights of each row's chosen experts {shape}{k}]");
        BufferRef choice = c.Buffer(c.Name + "_choice", k, rowsOf, BufferUse.Forward, $"{c.Name}: each row's chosen experts, most probable first {shape}{k}]", isInt: true);
        BufferRef positions = c.Buffer(c.Name + "_positions", k, rowsOf, BufferUse.Forward, $"{c.Name}: where each row's choices lie among the rows grouped by expert {shape}{k}]", isInt: true);
        BufferRef sources = c.Buffer(c.Name + "_sources", k, rowsOf, BufferUse.Forward, $"{c.Name}: the row each grouped row copies {shape}{k}]", isInt: true);
        BufferRef offsets = c.Buffer(c.Name + "_offsets", e + 1, Rows.One, BufferUse.Forward, $"{c.Name}: where each expert's group starts, and the end [{e + 1}]", isInt: true);
        BufferRef gathered = c.Own("gathered", k * d, rowsOf, BufferUse.Forward, $"the rows grouped by expert, k copies of each row {shape}{k} · {d}]");
        BufferRef pre = c.Own("pre", k * inner, rowsOf, BufferUse.Forward, $"each grouped row's inner map before the activation {shape}{k} · {inner}]");
        BufferRef hidden = c.Own("hidden", k * u, rowsOf, BufferUse.Forward, $"each grouped row's inner units {shape}{k} · {u}]");
        BufferRef expertOut = c.Own("expert_out", k * d, rowsOf, BufferUse.Forward, $"each grouped row's expert output {shape}{k} · {d}]");
        var (output, dOutput) = c.Output("the chosen experts' outputs, weighted");

        Dim rows = Dim.Rows(layer.OutIsSequence);
        Operand kind = new ScalarOperand("global::Dsl.Activation." + spec.Activation), gated = ScalarOperand.Of(spec.Gated), normalize = ScalarOperand.Of(spec.NormalizeTopK);
        Operand rowCount = ScalarOperand.Of(rows), width = ScalarOperand.Of(d), units = ScalarOperand.Of(u), experts = ScalarOperand.Of(e), topK = ScalarOperand.Of(k);
        string act = spec.Activation == ActivationKind.None ? "identity" : spec.Activation.ToString().ToLowerInvariant();
        string expert = spec.Gated ? $"value ⊙ {act}(gate) of x · W_inᵀ" : $"{act}(x · W_inᵀ)";
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: {EmitContext.Shape(layer.InIsSequence, d)} -> same, a mixture of {e} experts, {k} per row: p = softmax(x · Rᵀ); out = Σ over the chosen e of w_e · ({expert}{(spec.Bias ? " + b_in" : "")}) · W_outᵀ{(spec.Bias ? " + b_out" : "")}, w the chosen p{(spec.NormalizeTopK ? " over their sum" : "")}")
            .Add(new MatMulOp(rows, e, d, c.In, false, router.Values, true, probs, false, "the router's logits"))
            .Add(new KernelOp(Kernels.Experts, "Route", rowCount, experts, topK, normalize, probs, weights, choice, positions, sources, offsets));
        // the load-balancing loss: each expert's share of the choices (padded steps left out), the term added to the pass's loss
        BufferRef? balance = spec.LoadBalancing > 0f
            ? c.Own("balance", e, Rows.One, BufferUse.Forward, $"α · E · f_e / N: the load-balancing loss's slope in each row's probability of expert e [{e}]")
            : null;
        Operand lengths = layer.OutIsSequence ? new LengthsOperand() : Operand.None, coefficient = ScalarOperand.Of(spec.LoadBalancing);
        if (balance is not null)
            pass.Comment($"the load-balancing loss α · E · Σ_e f_e · P_e, α = {Helpers.SourceWriter.Float(spec.LoadBalancing)}, added to the pass's")
                .Add(new KernelOp(Kernels.Experts, "Balance", rowCount, ScalarOperand.Of(Dim.B), topK, coefficient, probs, choice, lengths, balance, c.AuxiliaryLoss()));
        pass
            .Add(new KernelOp(Kernels.Experts, "Forward", kind, gated, rowCount, topK, width, units, c.In, new WeightsOperand(weightIn.Values), Bias(biasIn, false), new WeightsOperand(weightOut.Values), Bias(biasOut, false),
                weights, positions, sources, offsets, gathered, pre, hidden, expertOut, output));
        SharedExpert? shared = spec.SharedUnits > 0 ? SharedExpert.Lower(layer, spec, c, init, output) : null;
        shared?.Forward(pass);

        BufferRef dWeights = c.Own("dweights", k, rowsOf, BufferUse.Training, $"gradient of the chosen experts' weights {shape}{k}]");
        BufferRef dExpertOut = c.Own("dexpert_out", k * d, rowsOf, BufferUse.Training, $"gradient of each grouped row's expert output, then of its copy of the row {shape}{k} · {d}]");
        BufferRef dHidden = c.Own("dhidden", k * u, rowsOf, BufferUse.Training, $"gradient of each grouped row's inner units {shape}{k} · {u}]");
        BufferRef dPre = c.Own("dpre", k * inner, rowsOf, BufferUse.Training, $"gradient of each grouped row's inner map {shape}{k} · {inner}]");
        BufferRef dLogits = c.Own("dlogits", e, rowsOf, BufferUse.Training, $"gradient of the router's logits {shape}{e}]");
        pass.Backward()
            .Doc($"// {layer.Name} backward: dw = dout · expert out; each expert back through its two maps (dW_out, dW_in{(spec.Bias ? ", the biases" : "")}, dx of its rows); dlogits = softmax' of dp (dp of the chosen from dw{(spec.NormalizeTopK ? " over their sum" : "")}, 0 elsewhere); dR += dlogitsᵀ · x; dx += dlogits · R")
            .Add(new KernelOp(Kernels.Experts, "Backward", kind, gated, rowCount, topK, width, units, weightIn.Values, weightOut.Values, weights, positions, sources, offsets,
                gathered, pre, hidden, expertOut, dOutput, dWeights, dExpertOut, dHidden, dPre, weightIn.Gradient, Bias(biasIn, true), weightOut.Gradient, Bias(biasOut, true),
                c.DIn is null ? Operand.None : c.DIn))
            .Add(new KernelOp(Kernels.Experts, "RouteBackward", rowCount, experts, topK, normalize, probs, weights, choice, dWeights, dLogits));
        if (balance is not null) pass.Add(new KernelOp(Kernels.Experts, "BalanceBackward", rowCount, ScalarOperand.Of(Dim.B), probs, balance, lengths, dLogits));
        pass.Add(new MatMulOp(e, d, rows, dLogits, true, c.In, false, router.Gradient, true, "the router's gradient"));
        if (c.DIn is not null) pass.Add(new MatMulOp(rows, d, e, dLogits, false, router.Values, false, c.DIn, true, "through the router"));
        shared?.Backward(pass, dOutput);
        return new MoePlan(layer, c.In, c.DIn, output, dOutput, router, weightIn, weightOut, biasIn, biasOut) { Passes = pass.Build() };
    }

    private static Operand Bias(ParamRef? bias, bool gradient) => bias is null ? Operand.None : gradient ? bias.Gradient : bias.Values;

    /// <summary>
    /// The shared expert every row goes through besides its chosen ones (Qwen2-MoE's, DeepSeekMoE's): [value, gate] = x · S_inᵀ (+ b),
    /// h = value ⊙ act(gate) (not gated: act(x · S_inᵀ + b)), s = h · S_outᵀ (+ b), out += σ(x · gᵀ) · s with the gate, else out += s;
    /// back the same way, its dx added to the routed experts' and the router's.
    /// </summary>
    private sealed class SharedExpert
    {
        private readonly ShapedLayer _layer;
        private readonly MoeSpec _spec;
        private readonly LowerContext _c;
        private readonly ParamRef _in, _out;
        private readonly ParamRef? _biasIn, _biasOut, _gate;
        private readonly BufferRef? _pre, _logit;
        private readonly BufferRef _hidden, _value, _output;

        private SharedExpert(ShapedLayer layer, MoeSpec spec, LowerContext c, InitKind init, BufferRef output)
        {
            _layer = layer;
            _spec = spec;
            _c = c;
            _output = output;
            int d = layer.InWidth, u = spec.SharedUnits, inner = spec.SharedInnerWidth;
            _in = c.Matrix("shared_in", inner, d, new ParamInit(init, d, inner, inner, 1f / (float)Math.Sqrt(d)));
            _biasIn = spec.Bias ? c.Vector("shared_bias_in", inner) : null;
            _out = c.Matrix("shared_out", d, u, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.XavierUniform), u, d, d, 1f / (float)Math.Sqrt(u)));
            _biasOut = spec.Bias ? c.Vector("shared_bias_out", d) : null;
            _gate = spec.SharedGate ? c.Matrix("shared_gate", 1, d, new ParamInit(ParamInit.Pick(spec.WeightInit, InitKind.XavierUniform), d, 1, 1, 1f / (float)Math.Sqrt(d))) : null;
            Rows rowsOf = Rows.Of(layer.OutIsSequence);
            string shape = layer.OutIsSequence ? "[T, B, " : "[B, ";
            _pre = spec.Gated || spec.Activation.KeepsInput() ? c.Own("shared_pre", inner, rowsOf, BufferUse.Forward, $"the shared expert's inner map before the activation {shape}{inner}]") : null;
            _hidden = c.Own("shared_hidden", u, rowsOf, BufferUse.Forward, $"the shared expert's inner units {shape}{u}]");
            _value = c.Own("shared_value", d, rowsOf, BufferUse.Forward, $"the shared expert's output {shape}{d}]");
            _logit = spec.SharedGate ? c.Own("shared_logit", 1, rowsOf, BufferUse.Forward, $"the shared expert's gate logit x · gᵀ {shape}1]") : null;
        }

        public static SharedExpert Lower(ShapedLayer layer, MoeSpec spec, LowerContext c, InitKind init, BufferRef output) => new(layer, spec, c, init, output);

        private Dim RowsDim => Dim.Rows(_layer.OutIsSequence);

        private Operand Kind => new ScalarOperand("global::Dsl.Activation." + _spec.Activation);

        public void Forward(PassBuilder pass)
        {
            int d = _layer.InWidth, u = _spec.SharedUnits, inner = _spec.SharedInnerWidth;
            Dim rows = RowsDim;
            pass.Comment($"the shared expert, {u} units{(_gate is null ? "" : ", scaled by σ(x · gᵀ)")}, added to every row")
                .Affine(rows, inner, d, _c.In, _in, _biasIn, _pre ?? (Operand)_hidden);
            if (_spec.Gated) pass.Add(new KernelOp(Kernels.Gated, "Forward", Kind, ScalarOperand.Of(rows), ScalarOperand.Of(u), _pre!, _hidden));
            else if (_spec.Activation != ActivationKind.None) pass.Add(new ActivationOp(_spec.Activation, _hidden, _pre is null ? null : (Operand)_pre));
            pass.Affine(rows, d, u, _hidden, _out, _biasOut, _value);
            if (_gate is not null) pass.Add(new MatMulOp(rows, 1, d, _c.In, false, _gate.Values, true, _logit!, false, "the shared expert's gate logit"));
            pass.Add(new KernelOp(Kernels.Experts, "AddShared", ScalarOperand.Of(rows), ScalarOperand.Of(d), _logit is null ? Operand.None : _logit, _value, _output));
        }

        public void Backward(PassBuilder pass, BufferRef dOutput)
        {
            int d = _layer.InWidth, u = _spec.SharedUnits, inner = _spec.SharedInnerWidth;
            Dim rows = RowsDim;
            Rows rowsOf = Rows.Of(_layer.OutIsSequence);
            string shape = _layer.OutIsSequence ? "[T, B, " : "[B, ";
            Operand dValue = dOutput;
            if (_gate is not null)
            {
                BufferRef dScaled = _c.Own("dshared_value", d, rowsOf, BufferUse.Training, $"gradient of the shared expert's output {shape}{d}]");
                BufferRef dLogit = _c.Own("dshared_logit", 1, rowsOf, BufferUse.Training, $"gradient of the shared expert's gate logit {shape}1]");
                pass.Comment("the shared expert: its gate, then its two maps")
                    .Add(new KernelOp(Kernels.Experts, "SharedBackward", ScalarOperand.Of(rows), ScalarOperand.Of(d), _logit!, _value, dOutput, dScaled, dLogit))
                    .Add(new MatMulOp(1, d, rows, dLogit, true, _c.In, false, _gate.Gradient, true, "the shared expert's gate's gradient"));
                if (_c.DIn is not null) pass.Add(new MatMulOp(rows, d, 1, dLogit, false, _gate.Values, false, _c.DIn, true, "through the shared expert's gate"));
                dValue = dScaled;
            }
            else pass.Comment("the shared expert's two maps");
            BufferRef dHidden = _c.Own("dshared_hidden", u, rowsOf, BufferUse.Training, $"gradient of the shared expert's inner units {shape}{u}]");
            pass.AffineBackward(rows, d, u, _hidden, _out, _biasOut, dValue, dHidden);
            Operand dPre = dHidden;
            if (_spec.Gated)
            {
                BufferRef dGated = _c.Own("dshared_pre", inner, rowsOf, BufferUse.Training, $"gradient of the shared expert's inner map {shape}{inner}]");
                pass.Add(new KernelOp(Kernels.Gated, "Backward", Kind, ScalarOperand.Of(rows), ScalarOperand.Of(u), _pre!, dHidden, dGated));
                dPre = dGated;
            }
            else if (_spec.Activation != ActivationKind.None) pass.Add(new ActivationBackwardOp(_spec.Activation, _hidden, dHidden, _pre is null ? null : (Operand)_pre));
            // (its dx added to what the routed experts and the router wrote)
            pass.AffineBackward(rows, inner, d, _c.In, _in, _biasIn, dPre, _c.DIn, accumulateDx: true);
        }
    }
}
