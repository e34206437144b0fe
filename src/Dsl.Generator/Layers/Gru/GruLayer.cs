using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Gru;

/// <summary>
/// <c>[Gru(hidden: H)]</c>: nn.GRU, gates r, z, n; <see cref="ResetAfter"/> (PyTorch, cuDNN) applies the reset to
/// W_hn h + b_hn, Cho et al. 2014 (false) to h before the product.
/// </summary>
internal sealed record GruSpec(LayerHeader Header, RecurrentOptions Options, bool ResetAfter) : RecurrentSpec(Header, Options)
{
    public override LayerKind Kind => LayerKind.Gru;

    public override int GateBlocks => 3;
}

internal sealed class GruLayer : RecurrentLayer<GruSpec>
{
    private const string Cell = "global::Dsl.Kernels.GruCell";

    public override LayerKind Kind => LayerKind.Gru;

    public override string AttributeName => "Dsl.GruAttribute";

    public override LayerSpec Parse(AttributeReader a) => new GruSpec(a.Header, RecurrentOptions.Read(a), a.Bool("resetafter", true));

    protected override string? AuxName(GruSpec spec) => spec.ResetAfter ? "hn" : "rh";

    protected override string AuxComment(GruSpec spec) => spec.ResetAfter ? "recurrent candidate W_hn h + b_hn" : "reset hidden state r * h";

    protected override bool NeedsSecondGateGradient(GruSpec spec) => spec.ResetAfter;

    protected override bool NeedsSecondCarry(GruSpec spec) => !spec.ResetAfter;

    private static bool After(RecurrentSpec spec) => ((GruSpec)spec).ResetAfter;

    protected override bool DescribedResetAfter(GruSpec spec) => spec.ResetAfter;

    public override string Describe(RecurrentSpec spec) => After(spec) ? "GRU (reset after, PyTorch)" : "GRU (reset before, Cho 2014)";

    public override string ForwardComment(RecurrentSpec spec) => After(spec)
        ? "// r, z = σ(x·W_i{r,z}ᵀ + b_i{r,z} + h·W_h{r,z}ᵀ + b_h{r,z}); n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h"
        : "// r, z = σ(x·W_i{r,z}ᵀ + b_i{r,z} + h·W_h{r,z}ᵀ + b_h{r,z}); n = tanh(x·W_inᵀ + b_in + (r ⊙ h)·W_hnᵀ + b_hn); h' = (1 − z) ⊙ n + z ⊙ h";

    public override bool BiasHhInGates(RecurrentSpec spec) => false;

    public override (string Rows, string Width)? PaddedStepClear(RecurrentSpec spec) => After(spec) ? ("dh2", "G") : null;

    public override void EmitPack(RecurrentSpec spec, CellWriter c, bool backward)
    {
        if (After(spec))
        {
            base.EmitPack(spec, c, backward);
            return;
        }
        // Cho's GRU multiplies h by W_h{r,z} and r ⊙ h by W_hn: two products, packed apart
        if (backward)
        {
            c.W.Line($"{Span} packedN = packed.Slice(0, {Gemm}.PackedLength(H, H)), packedRz = packed.Slice(packedN.Length, {Gemm}.PackedLength(2 * H, H));");
            c.W.Line($"if (prepacked) {Gemm}.PackB(H, H, w_hh.Slice(2 * H * H), H, transposed: false, packedN);");
            c.W.Line($"if (prepacked) {Gemm}.PackB(2 * H, H, w_hh, H, transposed: false, packedRz);");
        }
        else
        {
            c.W.Line($"{Span} packedRz = packed.Slice(0, {Gemm}.PackedLength(H, 2 * H)), packedN = packed.Slice(packedRz.Length, {Gemm}.PackedLength(H, H));");
            c.W.Line($"if (prepacked) {Gemm}.PackB(H, 2 * H, w_hh, H, transposed: true, packedRz);");
            c.W.Line($"if (prepacked) {Gemm}.PackB(H, H, w_hh.Slice(2 * H * H), H, transposed: true, packedN);");
        }
    }

    public override void EmitForwardStep(RecurrentSpec spec, CellWriter c)
    {
        var w = c.W;
        if (After(spec))
        {
            w.Line($"{Span} gh = scratch.Slice(0, B * G); // h·W_hhᵀ + b_hh");
            w.Line($"{Layout}.RepeatRows(b_hh, B, gh);");
            w.Line($"if (hasPrev) {c.Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "gh", "G")}");
            w.Line($"{Cell}.ForwardRows(B, H, g, gh, hasPrev ? hPrev : default, ldh, aux.Slice(t * B * H, B * H), y.Slice(t * B * Y + yOffset), Y); // every row's cell, split over the cores");
            return;
        }
        w.Line($"{Span} gh = scratch.Slice(0, B * G); // [h·W_h{{r,z}}ᵀ + b_h{{r,z}}, (r ⊙ h)·W_hnᵀ + b_hn]");
        w.Line($"{Layout}.RepeatRows(b_hh, B, gh);");
        w.Line($"if (hasPrev) {c.Recurrent("B", "2 * H", "H", "hIn", "ldi", "w_hh", "packedRz", "gh", "G")}");
        w.Line($"{Span} rh = aux.Slice(t * B * H, B * H);");
        w.Line($"{Cell}.ForwardResetBeforeRows(B, H, g, gh, hasPrev ? hIn : default, ldi, rh);");
        w.Line($"if (hasPrev) {c.Recurrent("B", "H", "H", "rh", "H", "w_hh.Slice(2 * H * H)", "packedN", "gh.Slice(2 * H)", "G")}");
        w.Line($"{Cell}.FinishResetBeforeRows(B, H, g, gh, hasPrev ? hPrev : default, ldh, y.Slice(t * B * Y + yOffset), Y);");
    }

    public override void EmitBackwardStep(RecurrentSpec spec, CellWriter c)
    {
        var w = c.W;
        const string gRows = "gates.Slice(t * B * G, B * G)";
        const string dyRows = "dy.Slice(t * B * Y + yOffset)";
        if (After(spec))
        {
            w.Line($"{Span} dh2 = dg2.Slice(t * B * G, B * G); // d(h·W_hhᵀ + b_hh) of step t");
            w.Line($"{Cell}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), s > 0 ? y.Slice(tp * B * Y + yOffset) : {c.H0}, s > 0 ? Y : H,");
            w.Line("    dy.Slice(t * B * Y + yOffset), Y, carry, d, dh2); // every row's cell, split over the cores");
            if (!c.O.RecurrentDropout)
            {
                w.Line($"if ({c.WantPrevious}) {c.BackProduct("G", "dh2", "G", "w_hh", "packed", accumulate: true)} // dh of the previous step (or of the initial state)");
                return;
            }
            w.Open($"if ({c.WantPrevious})");
            w.Line($"{Span} dhm = scratch.Slice(0, B * H); // d(h(t−1) ⊙ mask)");
            w.Line(c.BackProduct("G", "dh2", "G", "w_hh", "packed", accumulate: false, c: "dhm"));
            w.Line($"{TP}.FusedMultiplyAdd(dhm.Slice(0, B * H), rmask.Slice(0, B * H), carry.Slice(0, B * H), carry.Slice(0, B * H));");
            w.Close();
            return;
        }
        w.Line($"{RoSpan} previous = {c.PreviousRows}; // h(t − 1), rows {c.PreviousLd} apart (empty = zeros)");
        w.Line($"int ldp = {c.PreviousLd};");
        w.Line($"{Cell}.BackwardResetBeforeRows(B, H, {gRows}, previous, ldp, {dyRows}, Y, carry, d);");
        w.Line($"{c.BackProduct("H", "d.Slice(2 * H)", "G", "w_hh.Slice(2 * H * H)", "packedN", accumulate: false, c: "carry2")} // d(r ⊙ h)");
        if (!c.O.RecurrentDropout)
        {
            w.Line($"{Cell}.FinishBackwardResetBeforeRows(B, H, {gRows}, previous, ldp, carry2, carry, d);");
            w.Line($"if ({c.WantPrevious}) {c.BackProduct("2 * H", "d", "G", "w_hh", "packedRz", accumulate: true)} // dh of the previous step (or of the initial state)");
            return;
        }
        w.Line("// under variational dropout the recurrent products saw h(t−1) ⊙ mask: gradients reach h(t−1) through the mask");
        w.Line($"{Span} dhm = scratch.Slice(0, B * H);");
        w.Line("dhm.Clear();");
        w.Line($"{Cell}.FinishBackwardResetBeforeRows(B, H, {gRows}, hm.Slice(t * B * H), H, carry2, dhm, d);");
        w.Line($"if ({c.WantPrevious}) {c.BackProduct("2 * H", "d", "G", "w_hh", "packedRz", accumulate: true, c: "dhm")}");
        w.Line($"{TP}.FusedMultiplyAdd(dhm.Slice(0, B * H), rmask.Slice(0, B * H), carry.Slice(0, B * H), carry.Slice(0, B * H));");
    }

    public override void EmitRecurrentWeightGradients(RecurrentSpec spec, CellWriter c)
    {
        if (After(spec))
        {
            c.DefaultRecurrentWeightGradients("dg2", "G");
            c.BiasGradient("dg2");
            return;
        }
        c.DefaultRecurrentWeightGradients("dg", "2 * H");
        c.W.Line($"{Gemm}.MatMulTransA(H, H, T * B, dg.Slice(2 * H), G, aux, H, dw_hh.Slice(2 * H * H), H, accumulate: true); // (r ⊙ h)·W_hnᵀ");
        c.BiasGradient("dg");
    }
}
