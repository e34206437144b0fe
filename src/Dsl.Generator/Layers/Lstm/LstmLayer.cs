using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Lstm;

/// <summary><c>[Lstm(hidden: H)]</c>: nn.LSTM, gates i, f, g, o.</summary>
internal sealed record LstmSpec(LayerHeader Header, RecurrentOptions Options, float ForgetBias) : RecurrentSpec(Header, Options)
{
    public override LayerKind Kind => LayerKind.Lstm;

    public override int GateBlocks => 4;

    public override bool HasCellState => true;
}

internal sealed class LstmLayer : RecurrentLayer<LstmSpec>
{
    private const string Cell = "global::Dsl.Kernels.LstmCell";

    public override LayerKind Kind => LayerKind.Lstm;

    public override string AttributeName => "Dsl.LstmAttribute";

    public override LayerSpec Parse(AttributeReader a) => new LstmSpec(a.Header, RecurrentOptions.Read(a), a.Float("forgetbias", 1f));

    protected override void CheckCell(LstmSpec spec, OptionChecks c)
    {
        if (float.IsNaN(spec.ForgetBias) || float.IsInfinity(spec.ForgetBias)) c.Invalid("forgetbias", "ForgetBias must be a finite number");
    }

    protected override string? AuxName(LstmSpec spec) => "cell";

    protected override string AuxComment(LstmSpec spec) => "cell states c";

    /// <summary>The forget gate's block of b_ih starts at ForgetBias (1 by default), as Jozefowicz et al. advise.</summary>
    protected override ParamFill? InputBiasFill(LstmSpec spec) => spec.ForgetBias != 0f ? new ParamFill(spec.Hidden, spec.Hidden, spec.ForgetBias, "forget-gate bias") : null;

    public override string Describe(RecurrentSpec spec) => "LSTM";

    public override string ForwardComment(RecurrentSpec spec) => "// i, f, g, o = σ, σ, tanh, σ(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')";

    public override void EmitForwardStep(RecurrentSpec spec, CellWriter c)
    {
        c.W.Line($"if (hasPrev) {c.Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "g", "G")}");
        c.W.Line($"{RoSpan} cPrev = s > 0 ? ({RoSpan})aux.Slice(tp * B * H, B * H) : {c.C0};");
        c.W.Line($"{Cell}.ForwardRows(B, H, g, cPrev, aux.Slice(t * B * H, B * H), y.Slice(t * B * Y + yOffset), Y); // every row's cell, split over the cores");
    }

    public override void EmitBackwardStep(RecurrentSpec spec, CellWriter c)
    {
        c.W.Line($"{Cell}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), s > 0 ? aux.Slice(tp * B * H, B * H) : {c.C0},");
        c.W.Line("    dy.Slice(t * B * Y + yOffset), Y, carry, carry2, d); // every row's cell, split over the cores");
        c.W.Line($"if ({c.WantPrevious}) {c.BackProduct("G", "d", "G", "w_hh", "packed", accumulate: false)} // dh of the previous step (or of the initial state)");
        c.ApplyRecurrentMask();
    }
}
