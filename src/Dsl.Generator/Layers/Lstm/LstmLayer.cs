using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Lstm;

/// <summary><c>[Lstm(hidden: H)]</c>: nn.LSTM, gates i, f, g, o.</summary>
internal sealed record LstmSpec(LayerHeader Header, RecurrentOptions Options, float ForgetBias, int Projection, bool ForgetBiasSet = false) : RecurrentSpec(Header, Options)
{
    public override LayerKind Kind => LayerKind.Lstm;

    public override int GateBlocks => 4;

    public override bool HasCellState => true;

    /// <summary>h is projected to <see cref="Projection"/> values (nn.LSTM's proj_size), when set.</summary>
    public override int StateWidth => Projection > 0 ? Projection : Hidden;
}

internal sealed class LstmLayer : RecurrentLayer<LstmSpec>
{
    private const string Cell = "global::Dsl.Kernels.LstmCell";

    public override LayerKind Kind => LayerKind.Lstm;

    public override string AttributeName => "Dsl.LstmAttribute";

    public override LayerSpec Parse(AttributeReader a) => new LstmSpec(a.Header, RecurrentOptions.Read(a), a.Float("forgetbias", 1f), a.Int("projection", 0), a.Has("forgetbias"));

    protected override void CheckCell(LstmSpec spec, OptionChecks c)
    {
        if (float.IsNaN(spec.ForgetBias) || float.IsInfinity(spec.ForgetBias)) c.Invalid("forgetbias", "ForgetBias must be a finite number");
        if (c.AtLeastZero("projection", "Projection", spec.Projection) && spec.Projection > 0 && spec.Hidden > 0 && spec.Projection >= spec.Hidden)
            c.Invalid("projection", $"Projection = {spec.Projection} must be smaller than hidden = {spec.Hidden} (nn.LSTM's proj_size < hidden_size)");
    }

    protected override string? AuxName(LstmSpec spec) => "cell";

    protected override string AuxComment(LstmSpec spec) => "cell states c";

    /// <summary>
    /// The forget gate's block of b_ih starts at ForgetBias (1 by default), as Jozefowicz et al. advise; biases drawn as
    /// PyTorch draws them (WeightInit = PyTorch) keep their draw unless ForgetBias is written out (0 too: what is written wins).
    /// </summary>
    protected override ParamFill? InputBiasFill(LstmSpec spec, bool drawn) =>
        (drawn ? spec.ForgetBiasSet : spec.ForgetBias != 0f) ? new ParamFill(spec.Hidden, spec.Hidden, spec.ForgetBias, "forget-gate bias") : null;

    public override string Describe(RecurrentSpec spec) => "LSTM";

    public override string ForwardComment(RecurrentSpec spec) => spec.Projected
        ? "// i, f, g, o = σ, σ, tanh, σ(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh); c' = f ⊙ c + i ⊙ g; h' = (o ⊙ tanh(c'))·W_hrᵀ (the projection, nn.LSTM's proj_size)"
        : "// i, f, g, o = σ, σ, tanh, σ(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')";

    public override void EmitForwardStep(RecurrentSpec spec, CellWriter c)
    {
        c.W.Line($"if (hasPrev) {c.Recurrent("B", "G", c.R, "hIn", "ldi", "w_hh", "packed", "g", "G")}");
        c.W.Line($"{RoSpan} cPrev = s > 0 ? ({RoSpan})aux.Slice(tp * B * H, B * H) : {c.C0};");
        if (!c.Projection)
        {
            c.W.Line($"{Cell}.ForwardRows(B, H, g, cPrev, aux.Slice(t * B * H, B * H), y.Slice(t * B * Y + yOffset), Y); // every row's cell, split over the cores");
            return;
        }
        c.W.Line($"{Cell}.ForwardRows(B, H, g, cPrev, aux.Slice(t * B * H, B * H), m.Slice(t * B * H), H); // m = o ⊙ tanh(c), every row's cell split over the cores");
        c.W.Line($"{Gemm}.MatMulTransB(B, R, H, m.Slice(t * B * H), H, w_hr, H, y.Slice(t * B * Y + yOffset), Y, accumulate: false); // h = m·W_hrᵀ");
    }

    public override void EmitBackwardStep(RecurrentSpec spec, CellWriter c)
    {
        string cPrev = $"s > 0 ? aux.Slice(tp * B * H, B * H) : {c.C0}";
        if (!c.Projection)
        {
            c.W.Line($"{Cell}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), {cPrev},");
            c.W.Line("    dy.Slice(t * B * Y + yOffset), Y, carry, carry2, d); // every row's cell, split over the cores");
        }
        else
        {
            c.W.Line("// dh of step t (the output's gradient and what the next step carried back), kept for dW_hr; through the projection: dm = dh·W_hr");
            c.W.Line($"{Layout}.AddRows(B, R, dy.Slice(t * B * Y + yOffset), Y, carry, R, dhp.Slice(t * B * R), R);");
            c.W.Line($"{Gemm}.MatMul(B, H, R, dhp.Slice(t * B * R), R, w_hr, H, dm, H, accumulate: false);");
            c.W.Line($"{Cell}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), {cPrev},");
            c.W.Line("    dm, H, zeros, carry2, d); // every row's cell, split over the cores");
        }
        c.W.Line($"if ({c.WantPrevious}) {c.BackProduct("G", "d", "G", "w_hh", "packed", accumulate: false)} // dh of the previous step (or of the initial state)");
        c.ApplyRecurrentMask();
    }

    /// <summary>A padded step's projected-state gradient counts for nothing in dW_hr.</summary>
    public override (string Rows, string Width)? PaddedStepClear(RecurrentSpec spec) => spec.Projected ? ("dhp.Slice(t * B * R)", "R") : null;

    public override void EmitRecurrentWeightGradients(RecurrentSpec spec, CellWriter c)
    {
        base.EmitRecurrentWeightGradients(spec, c);
        if (c.Projection) c.W.Line($"{Gemm}.MatMulTransA(R, H, T * B, dhp, R, m, H, dw_hr, H, accumulate: true); // dW_hr += Σ dhᵀ·m over every step");
    }
}
