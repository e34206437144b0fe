using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Attention;

/// <summary>
/// Input feeding (Bahdanau et al. 2015; Luong et al. 2015): a classic cross-attention layer with <c>InputFeeding</c> feeds
/// its context of step t − 1 into the input of the recurrent layer right before it at step t. That layer's time loop
/// runs the attention's step (<see cref="ClassicFeed"/>): forward, the context of the previous step from its h; back,
/// the fed context's gradient into dh(t − 1), the memory and the attention's parameters. The attention's own pass is
/// unchanged: it attends from every step's h once the loop has run, for the layer's output.
/// </summary>
internal static class InputFeeding
{
    /// <summary>Shape rule: the layer before is a unidirectional recurrent layer of one stacked layer, without learned states or recurrent dropout.</summary>
    public static void CheckRecurrentBefore(AttentionSpec spec, ShapeContext c)
    {
        ShapedLayer? before = c.Previous.Count > 0 ? c.Previous[c.Previous.Count - 1] : null;
        string? why = before?.Spec switch
        {
            RecurrentSpec { Bidirectional: true } => $"'{before!.Name}' is bidirectional: its steps cannot wait for a context",
            RecurrentSpec { Layers: > 1 } r => $"'{before!.Name}' stacks {r.Layers} layers; the context feeds a one-layer recurrent layer",
            RecurrentSpec { Options.LearnInitialState: true } => $"'{before!.Name}' learns its initial state, which input feeding does not support yet",
            RecurrentSpec { Options.RecurrentDropout: > 0f } => $"'{before!.Name}' has recurrent dropout, which input feeding does not support yet",
            RecurrentSpec => null,
            _ => "the layer right before must be the recurrent layer (Rnn, Lstm or Gru) the context feeds into",
        };
        if (why is not null)
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("inputfeeding"), c.Name, $"InputFeeding: {why}");
    }

    /// <summary>The width fed into the recurrent layer at <paramref name="index"/>: the encoder's width when the next layer feeds it, else 0.</summary>
    public static int FedWidth(ShapedModel model, int index) =>
        index + 1 < model.Layers.Count && model.Layers[index + 1] is { Spec: AttentionSpec { InputFeeding: true } } next ? next.MemoryWidth : 0;

    /// <summary>Lowers the feed of <paramref name="plan"/> and hands it to the recurrent layer before, whose passes then run it.</summary>
    public static StateRef? Attach(ClassicAttentionPlan plan, LowerContext c, int q, int m)
    {
        string n = plan.Name;
        BufferRef Own(string name, int width, Rows rows, BufferUse use, string what) => c.Own(name, width, rows, use, what);
        BufferRef fed = Own("fed", m, Rows.StepsBatch, BufferUse.Forward, $"the context each step was fed, that of the step before [T, B, {m}]");
        BufferRef dFed = Own("dfed", m, Rows.Batch1, BufferUse.Training, $"one step's gradient of the fed context [B, {m}]");
        BufferRef weights = Own("fed_weights", 1, Rows.StepsSourceBatch, BufferUse.Forward, "each step's weights for the context it fed on [T, B, S]");
        BufferRef scratch = Own("fed_scratch", 1, new Rows(0, 0, 1), BufferUse.Training, "scratch, one step's d(scores) [S]");
        StateRef? state = c.Model.CanStep
            ? c.State($"{n}_context", $"{n}.context", m, $"{n}_context0", $"{n}_dcontext0", "the context of the step before the first, fed to it")
            : null;
        FeedStep feed = plan.Score switch
        {
            GeneralScore g => new ClassicFeed(m, fed, dFed, state, q, weights, scratch, 1f, g.Weight,
                Own("fed_keys", q, Rows.SourceBatch, BufferUse.Forward, $"keys memory·Wᵀ for the fed contexts [S, B, {q}]"),
                Own("fed_dkeys", q, Rows.SourceBatch, BufferUse.Training, $"their gradient [S, B, {q}]"), null, null, null, null, null, null),
            AdditiveScore a => new ClassicFeed(m, fed, dFed, state, q, weights, scratch, 1f, null, null, null, a,
                Own("fed_q", a.Units, Rows.StepsBatch, BufferUse.Forward, $"each step's query, h(t − 1)·W_qᵀ + b_q [T, B, {a.Units}]"),
                Own("fed_dq", a.Units, Rows.StepsBatch, BufferUse.Training, $"its gradient [T, B, {a.Units}]"),
                Own("fed_k", a.Units, Rows.SourceBatch, BufferUse.Forward, $"keys memory·W_kᵀ for the fed contexts [S, B, {a.Units}]"),
                Own("fed_hidden", a.Units, Rows.StepsSourceBatch, BufferUse.Forward, $"each step's tanh(q + k) [T, B, S, {a.Units}]"),
                Own("fed_dk", a.Units, Rows.SourceBatch, BufferUse.Training, $"the gradient of those keys [S, B, {a.Units}]")),
            DotScore dot => new ClassicFeed(m, fed, dFed, state, q, weights, scratch, dot.Scale, null, null, null, null, null, null, null, null, null),
            _ => throw new System.InvalidOperationException($"Layer '{n}': input feeding has no score {plan.Score.GetType().Name}."),
        };
        int before = c.Layers.Count - 1;
        var recurrent = (RecurrentPlan)c.Layers[before];
        c.Layers[before] = ((IRecurrentCell)LayerRegistry.Of(recurrent.Spec)).WithFeed(recurrent, feed);
        return state;
    }
}

/// <summary>
/// One step of classic attention inside a recurrent layer's time loop, for input feeding. <see cref="Weights"/> keeps each
/// step's weights [T, B, S]; the General score has its own keys (<see cref="Keys"/>), the Additive score its queries,
/// keys and tanh values (<see cref="Q"/>, <see cref="K"/>, <see cref="Hidden"/>).
/// </summary>
internal sealed record ClassicFeed(int Width, BufferRef Fed, BufferRef DFed, StateRef? State, int QueryWidth, BufferRef Weights, BufferRef Scratch, float Scale,
    ParamRef? GeneralWeight, BufferRef? Keys, BufferRef? DKeys, AdditiveScore? Additive, BufferRef? Q, BufferRef? DQ, BufferRef? K, BufferRef? Hidden, BufferRef? DK)
    : FeedStep(Width, Fed, DFed, State)
{
    private static string F(float f) => SourceWriter.Float(f);

    private string Units => Additive!.Units.ToString(CultureInfo.InvariantCulture);

    public override EquatableArray<(string Parameter, string Argument)> Arguments(bool backward)
    {
        var a = new List<(string, string)>
        {
            ("int S", "S"), ($"{RoSpan} memory", "ws.Memory!.Memory.Span"), ($"{Lengths} memoryLengths", "ws.Memory!.Lengths"),
            ((backward ? RoSpan : Span) + " fweights", Weights.Ws),
        };
        if (backward) a.Add(($"{Span} dmemory", "ws.Memory!.MemoryGradient.Span"));
        if (backward) a.Add(($"{Span} fscratch", Scratch.Ws));
        if (GeneralWeight is not null)
        {
            a.Add(($"{RoSpan} fw", GeneralWeight.Value));
            a.Add(((backward ? RoSpan : Span) + " fkeys", Keys!.Ws));
            if (backward) a.AddRange(new[] { ($"{Span} dfw", GeneralWeight.Grad), ($"{Span} fdkeys", DKeys!.Ws) });
        }
        if (Additive is { } s)
        {
            a.AddRange(new[] { ($"{RoSpan} fwq", s.QueryWeight!.Value), ($"{RoSpan} fbq", s.QueryBias!.Value), ($"{RoSpan} fwk", s.KeyWeight.Value), ($"{RoSpan} fv", s.V.Value) });
            a.AddRange(new[] { ((backward ? RoSpan : Span) + " fq", Q!.Ws), ((backward ? RoSpan : Span) + " fk", K!.Ws), ((backward ? RoSpan : Span) + " fhidden", Hidden!.Ws) });
            if (backward)
                a.AddRange(new[] { ($"{Span} dfwq", s.QueryWeight.Grad), ($"{Span} dfbq", s.QueryBias.Grad), ($"{Span} dfwk", s.KeyWeight.Grad), ($"{Span} dfv", s.V.Grad),
                    ($"{Span} fdq", DQ!.Ws), ($"{Span} fdk", DK!.Ws) });
        }
        return a.ToEquatableArray();
    }

    public override void EmitForwardStart(CellWriter c)
    {
        if (GeneralWeight is null && Additive is null) return;
        // (read from the second step on: a pass of one step, a decoder's Step, feeds the carried context and projects nothing)
        c.W.Line("if (T > 1) " + (GeneralWeight is not null
            ? $"{Gemm}.MatMulTransB(S * B, {QueryWidth}, M, memory, M, fw, M, fkeys, {QueryWidth}, accumulate: false); // the fed contexts' keys, memory·Wᵀ"
            : $"{Gemm}.MatMulTransB(S * B, {Units}, M, memory, M, fwk, M, fk, {Units}, accumulate: false); // the fed contexts' keys, memory·W_kᵀ"));
    }

    /// <summary>h(t − 1), the query of the context fed to step t: the previous step's output rows (one direction, one layer).</summary>
    private const string Query = "y.Slice(tp * B * Y, B * Y)";

    public override void EmitForwardStep(CellWriter c)
    {
        string weights = "fweights.Slice(t * B * S, B * S)";
        if (Additive is null)
        {
            string keys = GeneralWeight is null ? "memory" : "fkeys";
            c.W.Line($"global::Dsl.Kernels.{Kernels.CrossAttention}.DotForward(1, S, B, {QueryWidth}, M, {F(Scale)}, memoryLengths, {Query}, {keys}, memory, {weights}, fedRow);");
            return;
        }
        c.W.Line($"{Span} qRow = fq.Slice(t * B * {Units}, B * {Units}); // h(t − 1)·W_qᵀ + b_q");
        c.W.Line($"{Gemm}.MatMulTransB(B, {Units}, {QueryWidth}, {Query}, Y, fwq, {QueryWidth}, qRow, {Units}, accumulate: false);");
        c.W.Line($"{Act}.AddBias(qRow, B, fbq);");
        c.W.Line($"global::Dsl.Kernels.{Kernels.CrossAttention}.AdditiveForward(1, S, B, {Units}, M, memoryLengths, qRow, fk, fv, memory, fhidden.Slice(t * B * S * {Units}, B * S * {Units}), {weights}, fedRow);");
    }

    public override void EmitBackwardStart(CellWriter c)
    {
        if (DKeys is not null) c.W.Line($"fdkeys.Slice(0, S * B * {QueryWidth}).Clear(); // the fed contexts' key gradients, summed over the steps");
        if (Additive is not null)
        {
            c.W.Line($"fdq.Slice(0, T * B * {Units}).Clear(); // the fed contexts' query and key gradients, summed over the steps");
            c.W.Line($"fdk.Slice(0, S * B * {Units}).Clear();");
        }
    }

    public override void EmitBackwardStep(CellWriter c)
    {
        string weights = "fweights.Slice(t * B * S, B * S)";
        if (Additive is null)
        {
            string keys = GeneralWeight is null ? "memory" : "fkeys", dKeys = GeneralWeight is null ? "dmemory" : "fdkeys";
            c.W.Line($"global::Dsl.Kernels.{Kernels.CrossAttention}.DotBackward(1, S, B, {QueryWidth}, M, {F(Scale)}, memoryLengths, {Query}, {keys}, memory, {weights}, dfed,");
            c.W.Line($"    carry, {dKeys}, dmemory, fscratch); // dh(t − 1) += d(fed)·(its attention)");
            return;
        }
        c.W.Line($"{Span} dqRow = fdq.Slice(t * B * {Units}, B * {Units});");
        c.W.Line($"global::Dsl.Kernels.{Kernels.CrossAttention}.AdditiveBackward(1, S, B, {Units}, M, memoryLengths, fv, memory, fhidden.Slice(t * B * S * {Units}, B * S * {Units}), {weights}, dfed,");
        c.W.Line("    dqRow, fdk, dfv, dmemory, fscratch);");
        c.W.Line($"{Gemm}.MatMul(B, {QueryWidth}, {Units}, dqRow, {Units}, fwq, {QueryWidth}, carry, {QueryWidth}, accumulate: true); // dh(t − 1) += dq·W_q");
    }

    public override void EmitBackwardEnd(CellWriter c)
    {
        if (GeneralWeight is not null)
        {
            c.W.Line("// the fed contexts' keys memory·Wᵀ: dW += dkeysᵀ·memory, d(memory) += dkeys·W");
            c.W.Line($"{Gemm}.MatMulTransA({QueryWidth}, M, S * B, fdkeys, {QueryWidth}, memory, M, dfw, M, accumulate: true);");
            c.W.Line($"{Gemm}.MatMul(S * B, M, {QueryWidth}, fdkeys, {QueryWidth}, fw, M, dmemory, M, accumulate: true);");
        }
        if (Additive is not null)
        {
            c.W.Line("// the fed contexts' queries h(t − 1)·W_qᵀ + b_q (steps 1 … T − 1) and keys memory·W_kᵀ");
            c.W.Open("if (T > 1)");
            c.W.Line($"{Gemm}.MatMulTransA({Units}, {QueryWidth}, (T - 1) * B, fdq.Slice(B * {Units}), {Units}, y, Y, dfwq, {QueryWidth}, accumulate: true);");
            c.W.Line($"{Act}.AddColumnSums(fdq.Slice(B * {Units}, (T - 1) * B * {Units}), (T - 1) * B, dfbq);");
            c.W.Close();
            c.W.Line($"{Gemm}.MatMulTransA({Units}, M, S * B, fdk, {Units}, memory, M, dfwk, M, accumulate: true);");
            c.W.Line($"{Gemm}.MatMul(S * B, M, {Units}, fdk, {Units}, fwk, M, dmemory, M, accumulate: true);");
        }
    }
}
