using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Recurrent;

// Recurrent layers (RNN, LSTM, GRU). Letters in shape comments: T steps, B batch, X input width, H hidden units, G gate
// rows (H, 4H or 3H), Y = directions × H (the width of the layer's output, in which direction d owns columns d·H …
// d·H + H − 1). All buffers are time-major [T, B, ·].

/// <summary>
/// What the generator knows about one direction of a recurrent layer, the same for every stacked layer: each is a
/// constant or an absent branch in that direction's cell methods, not a run-time test.
/// </summary>
internal sealed record CellOptions(
    bool Reverse,
    bool HasInitialState,  // h0 (c0) can be given: a carried state (forward direction of a model that steps) or a learned one
    bool RecurrentDropout, // variational dropout on h(t−1)
    bool Holding,          // a reverse direction with a learned initial state holds it through the padding
    bool LearnedGradient,  // the gradient of a learned initial state is accumulated into its parameter
    bool StateGradient,    // the gradient of a carried initial state is kept per sequence (an encoder behind a decoder)
    bool FinalCellGradient, // an encoder's final cell state receives a gradient from the decoder
    bool Feed = false,      // input feeding: the attention's context of the previous step joins the input
    bool Tokens = false)    // the input is an embedding of token ids: the first stacked layer's projection can read the table
{
    public static CellOptions Of(RecurrentPlan layer, DirectionPlan d)
    {
        SubLayerPlan sub = layer.SubLayers[0];
        bool carried = !d.Reverse && sub.StateH is not null, learned = d.LearnedH is not null;
        return new CellOptions(d.Reverse, carried || learned, d.RecurrentMask is not null, d.Reverse && learned, learned, carried, sub.FinalC is not null,
            layer.Feed is not null, layer.Tokens is not null);
    }

    /// <summary>The cell methods' name for this direction: <c>{layer}_cell</c> or <c>{layer}_cell_reverse</c>.</summary>
    public string Method(RecurrentPlan layer) => layer.Name + (Reverse ? "_cell_reverse" : "_cell");
}

/// <summary>What a kind's cell step writes with: the writer, the options, and the expressions the time loop defines.</summary>
internal sealed class CellWriter
{
    public CellWriter(SourceWriter w, CellOptions options, bool cellState, bool projection, FeedStep? feed = null)
    {
        W = w;
        O = options;
        CellState = cellState;
        Projection = projection;
        Feed = feed;
    }

    /// <summary>Input feeding from the attention layer after this one (the cell methods write its step), or null.</summary>
    public FeedStep? Feed { get; }

    /// <summary>The row stride of W_ih: X, or X + M under input feeding (the fed context's columns follow the input's).</summary>
    public string XW => Feed is null ? "X" : "XW";

    public SourceWriter W { get; }

    public CellOptions O { get; }

    public bool CellState { get; }

    /// <summary>h is an LSTM's projection of o ⊙ tanh(c): the cell methods take W_hr and its buffers.</summary>
    public bool Projection { get; }

    /// <summary>The constant holding the width of h in the cell methods: R under a projection, else H (the same width).</summary>
    public string R => Projection ? "R" : "H";

    /// <summary>The condition under which the gradient of the previous step's state is wanted.</summary>
    public string WantPrevious => O.LearnedGradient || O.StateGradient ? "s > 0 || wantDh0" : "s > 0";

    /// <summary>The initial hidden state in the cell methods (empty = zeros).</summary>
    public string H0 => O.HasInitialState ? "h0" : "default";

    public string C0 => O.HasInitialState ? "c0" : "default";

    /// <summary>The previous step's hidden rows of the whole batch (the initial state's at the first, or none), <see cref="PreviousLd"/> apart.</summary>
    public string PreviousRows => O.HasInitialState
        ? $"s > 0 ? ({RoSpan})y.Slice(tp * B * Y + yOffset) : h0"
        : $"s > 0 ? ({RoSpan})y.Slice(tp * B * Y + yOffset) : default";

    /// <summary>The distance between the rows of <see cref="PreviousRows"/>.</summary>
    public string PreviousLd => $"s > 0 ? Y : {R}";

    /// <summary>c += a · Wᵀ for one step: from the packed weights when the sequence packed them, else from W itself.</summary>
    public string Recurrent(string m, string n, string k, string a, string lda, string w, string packed, string c, string ldc) =>
        $"{{ if (prepacked) {Gemm}.MatMulPacked({m}, {n}, {k}, {a}, {lda}, {packed}, {c}, {ldc}, accumulate: true); else {Gemm}.MatMulTransB({m}, {n}, {k}, {a}, {lda}, {w}, {k}, {c}, {ldc}, accumulate: true); }}";

    /// <summary>carry (+)= d · W for one step back (W stored [k, H]).</summary>
    public string BackProduct(string k, string d, string ldd, string w, string packed, bool accumulate, string c = "carry") =>
        $"{{ if (prepacked) {Gemm}.MatMulPacked(B, {R}, {k}, {d}, {ldd}, {packed}, {c}, {R}, accumulate: {(accumulate ? "true" : "false")}); else {Gemm}.MatMul(B, {R}, {k}, {d}, {ldd}, {w}, {R}, {c}, {R}, accumulate: {(accumulate ? "true" : "false")}); }}";

    /// <summary>Under variational dropout, dh(t−1) = (dG · W_hh) ⊙ mask.</summary>
    public void ApplyRecurrentMask()
    {
        if (O.RecurrentDropout)
            W.Line($"if ({WantPrevious}) {TP}.Multiply(carry.Slice(0, B * {R}), rmask.Slice(0, B * {R}), carry.Slice(0, B * {R})); // every row at once: both are [B, {R}]");
    }

    /// <summary>
    /// db_hh += Σ over every step and sequence of the recurrent gates' gradient <paramref name="dgh"/>: the column sums
    /// the input bias already took (<c>dbias</c>) when those are the gates' own gradients (<c>dg</c>).
    /// </summary>
    public void BiasGradient(string dgh) => W.Line(dgh == "dg"
        ? $"{TP}.Add(db_hh, dbias, db_hh); // the same sums as b_ih's"
        : $"{Act}.AddColumnSums({dgh}.Slice(0, T * B * G), T * B, db_hh);");

    /// <summary>dW_hh += Σ_t dgᵀ · h(t−1) over the first <paramref name="rows"/> gate rows (h(t−1) ⊙ mask under variational dropout).</summary>
    public void DefaultRecurrentWeightGradients(string dgh, string rows)
    {
        if (O.RecurrentDropout)
        {
            W.Line("// the recurrent products saw the masked states, kept step by step (zero where there was no previous state)");
            W.Line($"{Gemm}.MatMulTransA({rows}, {R}, T * B, {dgh}, G, hm, {R}, dw_hh, {R}, accumulate: true);");
        }
        else
        {
            W.Line(O.Reverse
                ? "const int first = 0, prev = 1; // the steps that had a previous state (all but the last), and where that state is"
                : "const int first = 1, prev = 0; // the steps that had a previous state (all but the first), and where that state is");
            W.Line($"if (T > 1) {Gemm}.MatMulTransA({rows}, {R}, (T - 1) * B, {dgh}.Slice(first * B * G), G, y.Slice(prev * B * Y + yOffset), Y, dw_hh, {R}, accumulate: true);");
            if (O.HasInitialState)
            {
                W.Line("// the first step's product with the initial state h0 (zero unless the pass started from one)");
                W.Line($"if (!h0.IsEmpty) {Gemm}.MatMulTransA({rows}, {R}, B, {dgh}.Slice({(O.Reverse ? "(T - 1)" : "0")} * B * G), G, h0, {R}, dw_hh, {R}, accumulate: true);");
            }
        }
    }
}

/// <summary>
/// The signature of a direction's cell methods: their name, the options that specialise them, and which of the kind's
/// buffers they take.
/// </summary>
internal sealed record CellSignature(string Method, CellOptions Options, bool Aux, bool SecondGateGradient, bool SecondCarry, bool CellState, bool Projection = false);

/// <summary>One direction of one stacked layer through time, forward or back: a call of that direction's cell method.</summary>
internal sealed record RecurrenceOp(CellSignature Cell, SubLayerPlan Sub, DirectionPlan Direction, RecurrentScratch Scratch, bool Backward, FeedStep? Feed = null,
    TokenInput? Tokens = null) : MacroOp
{
    public override void WriteCSharp(EmitContext context) =>
        RecurrentEmitter.Call(context.W, Cell.Method + (Backward ? "_backward" : "_forward"), RecurrentEmitter.CellArguments(this));

    /// <summary>
    /// Forward, the input, recurrent and projection matrices are read only as weights (the B of A · Bᵀ, packed transposed for
    /// the steps): held in bfloat16 or 8 bits, the products widen them. Back through time, floats (a held model does not train).
    /// </summary>
    public override IEnumerable<ParamRef> WeightsRead => Backward ? System.Array.Empty<ParamRef>()
        : Direction.Projection is { } p ? new[] { Direction.WeightIh, Direction.WeightHh, p.Weight } : new[] { Direction.WeightIh, Direction.WeightHh };

    /// <summary>Input feeding reads W_ih's fed columns on their own, from the input's width on (<c>w_ih.Slice(X)</c>).</summary>
    public override IEnumerable<(ParamRef Param, int Column)> ColumnsReadFrom => Backward || Feed is null
        ? System.Array.Empty<(ParamRef, int)>() : new[] { (Direction.WeightIh, Sub.XWidth) };
}

/// <summary>The time loop of a recurrent layer around its kind's cell, forward and back through time, as C#.</summary>
internal static class RecurrentEmitter
{
    /// <summary>The cell methods of each direction, specialised by its options.</summary>
    public static void EmitCells(RecurrentPlan layer, IRecurrentCell cell, EmitContext c)
    {
        foreach (DirectionPlan d in layer.SubLayers[0].Directions)
        {
            CellSignature signature = layer.Signature(d);
            var cw = new CellWriter(c.W, signature.Options, signature.CellState, signature.Projection, layer.Feed);
            SubLayerPlan sub = layer.SubLayers[0];
            CellForward(layer, cell, cw, CellArguments(new RecurrenceOp(signature, sub, d, layer.Scratch, Backward: false, layer.Feed, layer.Tokens)));
            CellBackward(layer, cell, cw, CellArguments(new RecurrenceOp(signature, sub, d, layer.Scratch, Backward: true, layer.Feed, layer.Tokens)));
        }
    }

    public static void Call(SourceWriter w, string method, List<(string Parameter, string Argument)> args)
    {
        foreach (string line in Wrapped(method, args.Select(a => a.Argument).ToList(), perLine: 8, close: ");")) w.Line(line);
    }

    private static string[] Signature(string head, List<(string Parameter, string Argument)> args) =>
        Wrapped(head, args.Select(a => a.Parameter).ToList(), perLine: 6, close: ")");

    /// <summary><paramref name="head"/>(items…<paramref name="close"/>, <paramref name="perLine"/> items a line, continuation lines indented.</summary>
    private static string[] Wrapped(string head, List<string> items, int perLine, string close)
    {
        var lines = new List<string>();
        for (int i = 0; i < items.Count; i += perLine)
        {
            string part = string.Join(", ", items.Skip(i).Take(perLine));
            bool first = i == 0, last = i + perLine >= items.Count;
            lines.Add((first ? head + "(" : "    ") + part + (last ? close : ","));
        }
        return lines.ToArray();
    }

    /// <summary>
    /// The parameters of a direction's cell method and the arguments of one stacked layer's call, side by side, so the
    /// two cannot disagree: what the options rule out is neither a parameter nor an argument.
    /// </summary>
    public static List<(string Parameter, string Argument)> CellArguments(RecurrenceOp op)
    {
        CellSignature cell = op.Cell;
        CellOptions o = cell.Options;
        SubLayerPlan sub = op.Sub;
        DirectionPlan d = op.Direction;
        RecurrentScratch k = op.Scratch;
        bool forward = !op.Backward, lstm = cell.CellState;
        var a = new List<(string, string)>
        {
            ("int B", "B"), ("int T", "T"), ("int X", sub.XWidth.ToString(CultureInfo.InvariantCulture)),
            ($"{RoSpan} x", sub.X.Ws), ((forward ? Span : RoSpan) + " y", sub.Y.Ws), ((forward ? Span : RoSpan) + " gates", d.Gates.Ws),
        };
        if (cell.Aux) a.Add(((forward ? Span : RoSpan) + " aux", d.Aux!.Ws));
        if (!forward)
        {
            a.Add(($"{RoSpan} dy", sub.DY.Ws));
            a.Add(($"{Span} dx", sub.DX?.Ws ?? "default"));
            a.Add(($"{Span} dg", k.DGates.Ws));
            if (cell.SecondGateGradient) a.Add(($"{Span} dg2", k.DGates2!.Ws));
            a.Add(($"{Span} carry", k.Carry.Ws));
            if (cell.SecondCarry) a.Add(($"{Span} carry2", k.Carry2!.Ws));
        }
        a.Add(($"{Span} scratch", k.Step.Ws));
        a.Add(($"{Span} packed", k.Packed.Ws));
        // forward, the matrices as weights (floats, or held in bfloat16 or 8 bits: RecurrenceOp.WeightsRead); back, floats
        a.Add(forward ? ($"{WeightsType} w_ih", d.WeightIh.Weights) : ($"{RoSpan} w_ih", d.WeightIh.Value));
        a.Add(forward ? ($"{WeightsType} w_hh", d.WeightHh.Weights) : ($"{RoSpan} w_hh", d.WeightHh.Value));
        if (cell.Projection)
        {
            ProjectionPlan p = d.Projection!;
            a.Add(forward ? ($"{WeightsType} w_hr", p.Weight.Weights) : ($"{RoSpan} w_hr", p.Weight.Value));
            a.Add(((forward ? Span : RoSpan) + " m", p.Unprojected.Ws));
            if (!forward)
            {
                a.Add(($"{Span} dw_hr", p.Weight.Grad));
                a.Add(($"{Span} dhp", p.StateGradient.Ws));
                a.Add(($"{Span} dm", k.ProjectedGradient!.Ws));
                a.Add(($"{RoSpan} zeros", k.Zeros!.Ws));
            }
        }
        if (forward)
        {
            a.Add(($"{RoSpan} b_ih", d.BiasIh.Value));
            a.Add(($"{RoSpan} b_hh", d.BiasHh.Value));
        }
        else
        {
            a.Add(($"{Span} dw_ih", d.WeightIh.Grad));
            a.Add(($"{Span} dw_hh", d.WeightHh.Grad));
            a.Add(($"{Span} db_ih", d.BiasIh.Grad));
            a.Add(($"{Span} db_hh", d.BiasHh.Grad));
        }
        if (o.HasInitialState)
        {
            a.Add(($"{RoSpan} h0", Initial(d, sub.StateH?.Initial, d.LearnedHBuffer)));
            if (lstm) a.Add(($"{RoSpan} c0", Initial(d, sub.StateC?.Initial, d.LearnedCBuffer)));
        }
        a.Add(($"{Lengths} lengths", WsLengths));
        if (!forward && o.LearnedGradient)
        {
            a.Add(($"{Span} dh0", LearnedGradient(d, sub.StateH, d.LearnedH!)));
            if (lstm) a.Add(($"{Span} dc0", LearnedGradient(d, sub.StateH, d.LearnedC!)));
        }
        if (!forward && o.StateGradient)
        {
            a.Add(($"{Span} dh0Rows", $"ws.HasInitialState ? {sub.StateH!.InitialGrad.Ws} : default"));
            if (lstm) a.Add(($"{Span} dc0Rows", $"ws.HasInitialState ? {sub.StateC!.InitialGrad.Ws} : default"));
        }
        if (!forward && o.FinalCellGradient && lstm) a.Add(($"{RoSpan} dcLast", $"ws.InjectFinal ? {sub.FinalC!.Grad.Ws} : default"));
        if (o.RecurrentDropout)
        {
            a.Add(($"{RoSpan} rmask", forward ? $"training ? {d.RecurrentMask!.Ws} : default" : d.RecurrentMask!.Ws));
            a.Add(((forward ? Span : RoSpan) + " hm", d.MaskedStates!.Ws));
        }
        if (!forward && o.Holding) a.Add(($"{Span} held", k.Held!.Ws));
        if (op.Tokens is { } tokens)
        {
            // the first stacked layer's input is an embedding of these ids; the layers above it read vectors
            bool first = sub.Index == 0;
            a.Add(($"{Lengths} tokens", first ? tokens.Ids.Ws : "default"));
            a.Add(($"{RoSpan} table", first ? tokens.Table.Value : "default"));
            if (!forward) a.Add(($"{Span} dtable", first ? tokens.Table.Grad : "default"));
            a.Add(($"{Span} folded", tokens.Folded.Ws));
            a.Add(("bool fold", first ? "ws.FoldsTokens" : "false"));
        }
        if (op.Feed is { } feed && sub.Index == 0)
        {
            // input feeding: the fed contexts [T, B, M] (written forward), the first step's, and one step's gradient
            a.Add(((forward ? Span : RoSpan) + " fed", feed.Fed.Ws));
            if (forward) a.Add(($"{RoSpan} fed0", feed.State is { } s ? $"ws.HasInitialState ? {s.Initial.Ws} : default" : "default"));
            else a.Add(($"{Span} dfed", feed.DFed.Ws));
            a.AddRange(feed.Arguments(!forward));
        }
        return a;
    }


    /// <summary>The state a direction starts from: the carried one for the forward direction of a stateful pass, else the learned one, else zeros.</summary>
    private static string Initial(DirectionPlan d, BufferRef? carried, BufferRef? learned)
    {
        string fallback = learned?.Ws ?? "default";
        return !d.Reverse && carried is not null ? $"ws.HasInitialState ? {carried.Ws} : {fallback}" : fallback;
    }

    /// <summary>Where the gradient of a learned initial state goes: its parameter's gradient, unless a carried state replaced it.</summary>
    private static string LearnedGradient(DirectionPlan d, StateRef? carried, ParamRef learned) =>
        !d.Reverse && carried is not null ? $"ws.HasInitialState ? default : {learned.Grad}" : learned.Grad;

    private static void Constants(RecurrentPlan layer, CellWriter c)
    {
        int H = layer.Hidden, R = layer.StateWidth;
        if (c.Feed is { } feed) c.W.Line($"const int M = {feed.Width}; int XW = X + M; // input feeding: the input is [x; the attention's previous context], M wide more");
        c.W.Line(c.Projection
            ? $"const int H = {H}, R = {R}, G = {layer.Gates}, Y = {layer.Layer.Directions * R}, yOffset = {(c.O.Reverse ? R : 0)}; // h is R wide (the projection), c H wide"
            : $"const int H = {H}, G = {layer.Gates}, Y = {layer.Layer.Directions * H}, yOffset = {(c.O.Reverse ? H : 0)};");
    }

    /// <summary>The table's rows; <c>fold</c>, whether a pass projects the table instead of each step's vectors (see <see cref="TokenInput"/>), is the workspace's.</summary>
    private static string FoldCondition(RecurrentPlan layer) =>
        $"const int V = {layer.Tokens!.Vocab}; // fold: more ids than V, in the first stacked layer (the layers above read vectors)";

    /// <summary>What comes before the statement a pass runs when it does not fold: <c>else </c> after the folded branch, where there is one.</summary>
    private static string Unfolded(CellWriter c) => c.O.Tokens ? "else " : "";

    private static void StepIndices(CellWriter c)
    {
        c.W.Line(c.O.Reverse ? "int t = T - 1 - s;  // the step processed s-th" : "int t = s;          // the step processed s-th");
        c.W.Line(c.O.Reverse ? "int tp = t + 1;     // the step before it in processing order" : "int tp = t - 1;     // the step before it in processing order");
    }

    private static void CellForward(RecurrentPlan layer, IRecurrentCell cell, CellWriter c, List<(string Parameter, string Argument)> args)
    {
        SourceWriter w = c.W;
        RecurrentSpec spec = layer.Spec;
        w.Line($"// {layer.Name}, {(c.O.Reverse ? "reverse" : "forward")} direction of every stacked layer: x [T, B, X] -> h, written into y [T, B, Y] at columns yOffset…");
        w.Line(cell.ForwardComment(spec));
        w.Line(Hot);
        w.Open(Signature($"private static void {c.O.Method(layer)}_forward", args));
        Constants(layer, c);
        bool biasHh = cell.BiasHhInGates(spec);
        w.Line("// the input projection of every step at once: gates[t, b] = x[t, b]·W_ihᵀ + b_ih" + (biasHh ? " + b_hh" : "") + ", one product whose tiles start from the bias");
        if (biasHh) w.Line($"{TP}.Add(b_ih, b_hh, scratch.Slice(0, G));");
        string bias = biasHh ? "scratch.Slice(0, G)" : "b_ih";
        if (c.O.Tokens)
        {
            w.Line($"// x is the embedding of the token ids: with more ids than the table has rows, project the table's V = {layer.Tokens!.Vocab} rows and gather them by id");
            w.Line(FoldCondition(layer));
            w.Open("if (fold)");
            w.Line($"{Gemm}.MatMulTransB(V, G, X, table, X, w_ih, {c.XW}, {bias}, folded, G);");
            w.Line($"{Layout}.GatherRows(folded, tokens.Slice(0, T * B), G, gates);");
            w.Close();
        }
        w.Line($"{Unfolded(c)}{Gemm}.MatMulTransB(T * B, G, X, x, X, w_ih, {c.XW}, {bias}, gates, G);");
        w.Line("// the recurrent weights, packed once for every step (one step alone does not repay the packing)");
        w.Line("bool prepacked = T > 1;");
        cell.EmitPack(spec, c, backward: false);
        c.Feed?.EmitForwardStart(c);
        w.Open("for (int s = 0; s < T; s++)");
        StepIndices(c);
        if (c.O.HasInitialState)
        {
            w.Line("// the previous hidden state: the previous step's output, or the initial state h0 (empty = zeros)");
            w.Line($"{RoSpan} hPrev = s > 0 ? ({RoSpan})y.Slice(tp * B * Y + yOffset) : h0;");
            w.Line($"int ldh = s > 0 ? Y : {c.R};");
            w.Line("bool hasPrev = !hPrev.IsEmpty;");
        }
        else
        {
            w.Line("// the previous hidden state: the previous step's output (none before the first)");
            w.Line($"{RoSpan} hPrev = s > 0 ? ({RoSpan})y.Slice(tp * B * Y + yOffset) : default;");
            w.Line("const int ldh = Y;");
            w.Line("bool hasPrev = s > 0;");
        }
        if (c.O.RecurrentDropout)
        {
            w.Line("// the recurrent input: h(t−1), or h(t−1) ⊙ mask under variational dropout (kept for back-propagation)");
            w.Line($"{RoSpan} hIn = hPrev;");
            w.Line("int ldi = ldh;");
            w.Open("if (!rmask.IsEmpty)");
            string r = c.R;
            w.Line($"{Span} masked = hm.Slice(t * B * {r}, B * {r});");
            w.Line($"if (hasPrev) {Layout}.MultiplyRows(B, {r}, hPrev, ldh, rmask, {r}, masked, {r});");
            w.Line("else masked.Clear();");
            w.Line("hIn = masked;");
            w.Line($"ldi = {r};");
            w.Close();
        }
        else
        {
            w.Line($"{RoSpan} hIn = hPrev; // the recurrent input");
            w.Line("int ldi = ldh;");
        }
        w.Line($"{Span} g = gates.Slice(t * B * G, B * G);");
        if (c.Feed is { } fed)
        {
            w.Line("// input feeding: the attention's context of the previous step (the carried one, or zeros, at the first) joins the input");
            w.Line($"{Span} fedRow = fed.Slice(t * B * M, B * M);");
            w.Open("if (s > 0)");
            fed.EmitForwardStep(c);
            w.Close();
            w.Line("else if (fed0.IsEmpty) fedRow.Clear();");
            w.Line("else fed0.CopyTo(fedRow);");
            w.Line($"{Gemm}.MatMulTransB(B, G, M, fedRow, M, w_ih.Slice(X), XW, g, G, accumulate: true);");
        }
        cell.EmitForwardStep(spec, c);
        // (the forward direction's first step is never padded: every length is at least 1)
        w.Open(c.O.Reverse ? "if (!lengths.IsEmpty)" : "if (!lengths.IsEmpty && s > 0)");
        w.Line(c.O.Reverse
            ? "// padded steps (t ≥ length): the reverse direction holds its initial state until its sequence starts at step length − 1"
            : "// padded steps (t ≥ length): the forward direction keeps its state");
        string heldH = c.O.Reverse ? (c.O.HasInitialState ? "h0" : "default") : "y.Slice(tp * B * Y + yOffset)";
        w.Line($"{Layout}.CopyPaddedRows(B, {c.R}, t, lengths, {heldH}, {(c.O.Reverse ? c.R : "Y")}, y.Slice(t * B * Y + yOffset), Y);");
        if (c.CellState)
        {
            string heldC = c.O.Reverse ? (c.O.HasInitialState ? "c0" : "default") : "aux.Slice(tp * B * H)";
            w.Line($"{Layout}.CopyPaddedRows(B, H, t, lengths, {heldC}, H, aux.Slice(t * B * H), H);");
        }
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    private static void CellBackward(RecurrentPlan layer, IRecurrentCell cell, CellWriter c, List<(string Parameter, string Argument)> args)
    {
        SourceWriter w = c.W;
        RecurrentSpec spec = layer.Spec;
        bool lstm = c.CellState;
        w.Line($"// {layer.Name} backward through time, {(c.O.Reverse ? "reverse" : "forward")} direction of every stacked layer:");
        w.Line("// dy [T, B, Y] at columns yOffset… -> dx += [T, B, X]; weight and bias gradients accumulate.");
        w.Line(Hot);
        w.Open(Signature($"private static void {c.O.Method(layer)}_backward", args));
        Constants(layer, c);
        w.Line("// the recurrent weights, packed once for every step");
        w.Line("bool prepacked = T > 1;");
        cell.EmitPack(spec, c, backward: true);
        var wanted = new List<string>();
        if (c.O.LearnedGradient) wanted.Add("!dh0.IsEmpty");
        if (c.O.StateGradient) wanted.Add(lstm ? "!dh0Rows.IsEmpty || !dc0Rows.IsEmpty" : "!dh0Rows.IsEmpty");
        if (wanted.Count > 0) w.Line($"bool wantDh0 = {string.Join(" || ", wanted)}; // the gradient of the initial state is wanted");
        if (c.O.Holding) w.Line("bool holding = !lengths.IsEmpty && !h0.IsEmpty; // the initial state waits through the padding");
        c.Feed?.EmitBackwardStart(c);
        w.Line($"carry.Slice(0, B * {c.R}).Clear();  // dh flowing back from the next step");
        if (lstm) w.Line("carry2.Slice(0, B * H).Clear(); // dc flowing back from the next step");
        w.Open("for (int s = T - 1; s >= 0; s--)");
        StepIndices(c);
        if (c.O.Holding)
        {
            w.Line("// before the first padded step: save the initial state's gradient that the padding must pass on");
            w.Open("if (holding)");
            w.Open("for (int b = 0; b < B; b++)");
            w.Line("if (t != lengths[b]) continue;");
            w.Line($"carry.Slice(b * {c.R}, {c.R}).CopyTo(held.Slice(b * 2 * H, {c.R}));");
            if (lstm) w.Line("carry2.Slice(b * H, H).CopyTo(held.Slice(b * 2 * H + H, H));");
            w.Close();
            w.Close();
        }
        w.Line($"{Span} d = dg.Slice(t * B * G, B * G); // d(pre-activation) of step t");
        if (c.O.FinalCellGradient && lstm)
        {
            w.Line("// an encoder's final cell state: its gradient from the decoder enters at the direction's last step");
            string cellRow = c.Projection ? $"b * {layer.Layer.Directions * layer.Hidden} + {(c.O.Reverse ? layer.Hidden : 0)}" : "b * Y + yOffset"; // the final cell states are D·H wide
            w.Line($"if (!dcLast.IsEmpty) for (int b = 0; b < B; b++) if (t == {(c.O.Reverse ? "0" : "(lengths.IsEmpty ? T : lengths[b]) - 1")}) " +
                $"{TP}.Add(carry2.Slice(b * H, H), dcLast.Slice({cellRow}, H), carry2.Slice(b * H, H));");
        }
        cell.EmitBackwardStep(spec, c);
        // At a padded step (t ≥ length) nothing flows: zero the step's gate and carried gradients; a reverse direction that
        // held its initial state through the padding passes that state's gradient on (restored from `held`).
        w.Open("if (!lengths.IsEmpty)");
        w.Line("// a padded step: no gradient reaches it or leaves it");
        w.Line($"{Layout}.CopyPaddedRows(B, G, t, lengths, default, 0, d, G);");
        if (cell.PaddedStepClear(spec) is { } clear) w.Line($"{Layout}.CopyPaddedRows(B, {clear.Width}, t, lengths, default, 0, {clear.Rows}, {clear.Width});");
        string heldRows = c.O.Holding ? "holding ? held : default" : "default", heldCells = c.O.Holding ? "holding ? held.Slice(H) : default" : "default";
        w.Line($"{Layout}.CopyPaddedRows(B, {c.R}, t, lengths, {heldRows}, 2 * H, carry, {c.R});{(c.O.Holding ? " // the held initial state's gradient passes on" : "")}");
        if (lstm) w.Line($"{Layout}.CopyPaddedRows(B, H, t, lengths, {heldCells}, 2 * H, carry2, H);");
        w.Close();
        if (c.Feed is { } feed)
        {
            w.Line("// input feeding: the fed context's gradient d·W_ih[:, X:] goes back through the previous step's attention into dh(t − 1)");
            w.Open("if (s > 0)");
            w.Line($"{Gemm}.MatMul(B, M, G, d, G, w_ih.Slice(X), XW, dfed, M, accumulate: false);");
            feed.EmitBackwardStep(c);
            w.Close();
        }
        w.Close();
        if (c.O.LearnedGradient)
        {
            w.Line("// a learned initial state: its gradient is what reached the step before the first, summed over the sequences");
            w.Line($"if (!dh0.IsEmpty) {Act}.AddColumnSums(carry.Slice(0, B * {c.R}), B, dh0);");
            if (lstm) w.Line($"if (!dc0.IsEmpty) {Act}.AddColumnSums(carry2.Slice(0, B * H), B, dc0);");
        }
        if (c.O.StateGradient)
        {
            w.Line("// a carried initial state: its gradient per sequence (for an encoder that produced it)");
            w.Line($"if (!dh0Rows.IsEmpty) carry.Slice(0, B * {c.R}).CopyTo(dh0Rows);");
            if (lstm) w.Line("if (!dc0Rows.IsEmpty) carry2.Slice(0, B * H).CopyTo(dc0Rows);");
        }
        w.Line("// weight gradients of every step at once");
        if (c.O.Tokens)
        {
            w.Line("// x is the embedding of the token ids: with more ids than the table has rows, the gate gradients summed per id, S [V, G],");
            w.Line("// give dW_ih += Sᵀ·table (and, below, the bias's gradient and the table's, S·W_ih, instead of dx)");
            w.Line(FoldCondition(layer));
            w.Open("if (fold)");
            w.Line("folded.Slice(0, V * G).Clear();");
            w.Line($"{Layout}.ScatterAddRows(tokens.Slice(0, T * B), dg, G, folded);");
            w.Line($"{Gemm}.MatMulTransA(G, X, V, folded, G, table, X, dw_ih, {c.XW}, accumulate: true);");
            w.Close();
        }
        w.Line($"{Unfolded(c)}{Gemm}.MatMulTransA(G, X, T * B, dg, G, x, X, dw_ih, {c.XW}, accumulate: true);");
        if (c.Feed is not null) w.Line($"{Gemm}.MatMulTransA(G, M, T * B, dg, G, fed, M, dw_ih.Slice(X), XW, accumulate: true); // the fed contexts' columns");
        w.Line("// the column sums of every step's gate gradients, once: b_ih's gradient (and b_hh's, where it sees the same)");
        w.Line($"{Span} dbias = scratch.Slice(0, G);");
        w.Line("dbias.Clear();");
        w.Line((c.O.Tokens ? $"if (fold) {Act}.AddColumnSums(folded.Slice(0, V * G), V, dbias); " : "") + $"{Unfolded(c)}{Act}.AddColumnSums(dg.Slice(0, T * B * G), T * B, dbias);");
        w.Line($"{TP}.Add(db_ih, dbias, db_ih);");
        cell.EmitRecurrentWeightGradients(spec, c);
        if (c.O.Tokens) w.Line($"if (fold) {Gemm}.MatMul(V, X, G, folded, G, w_ih, {c.XW}, dtable, X, accumulate: true); // (dx stays zero: the embedding adds nothing more)");
        w.Line($"{Unfolded(c)}if (!dx.IsEmpty) {Gemm}.MatMul(T * B, X, G, dg, G, w_ih, {c.XW}, dx, X, accumulate: true);");
        c.Feed?.EmitBackwardEnd(c);
        w.Close();
        w.Line();
    }
}
