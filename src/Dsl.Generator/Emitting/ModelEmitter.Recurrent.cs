using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

// Recurrent layers (RNN, LSTM, GRU). Letters in shape comments: T steps, B batch, X input width,
// H hidden units, G gate rows (H, 4H or 3H), Y = directions × H (the width of the layer's output,
// in which direction d owns columns d·H … d·H + H − 1). All buffers are time-major [T, B, ·].
internal static partial class ModelEmitter
{
    private static void EmitRecurrent(SourceWriter w, ModelPlan plan, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        int H = layer.Hidden, D = l.Directions;
        string kind = l.Kind == LayerKind.Gru ? (l.Spec.ResetAfter ? "GRU (reset after, PyTorch)" : "GRU (reset before, Cho 2014)") : l.Kind.ToString().ToUpperInvariant();
        w.Line($"// {l.Name}: {kind}, {l.Spec.Layers} layer(s){(D == 2 ? ", bidirectional" : "")}: [T, B, {l.InWidth}] -> {Shape(l.OutIsSequence, l.OutWidth)}");
        w.Open($"private void {l.Name}_forward(Workspace ws, bool training, State? state)");
        w.Line("int B = ws.B, T = ws.T;");
        if (layer.SubLayers.Any(s => s.Directions.Any(d => d.LearnedH is not null)))
        {
            w.Line("// the learned initial states, one row per sequence");
            foreach (DirectionPlan d in layer.SubLayers.SelectMany(s => s.Directions))
            {
                w.Line($"for (int b = 0; b < B; b++) {d.LearnedH}.AsSpan().CopyTo(ws.{d.LearnedHBuffer}.Slice(b * {H}, {H}));");
                if (d.LearnedC is not null) w.Line($"for (int b = 0; b < B; b++) {d.LearnedC}.AsSpan().CopyTo(ws.{d.LearnedCBuffer}.Slice(b * {H}, {H}));");
            }
        }
        if (l.Spec.RecurrentDropout > 0f)
        {
            w.Line("// variational dropout: one mask per sequence and direction for the whole pass (training only)");
            foreach (DirectionPlan d in layer.SubLayers.SelectMany(s => s.Directions))
                w.Line($"if (training) global::Dsl.Kernels.DropoutKernel.Mask(ws.{d.RecurrentMask}, {SourceWriter.Float(l.Spec.RecurrentDropout)}, _dropoutRng);");
        }
        foreach (SubLayerPlan sub in layer.SubLayers)
        {
            foreach (DirectionPlan d in sub.Directions)
            {
                string h0 = InitialState(d, sub.InitialH, d.LearnedHBuffer), c0 = InitialState(d, sub.InitialC, d.LearnedCBuffer);
                string aux = d.Aux.Length > 0 ? $"ws.{d.Aux}" : "default";
                w.Line($"{sub.CellMethod}_forward(B, T, reverse: {(d.Reverse ? "true" : "false")}, ws.{sub.X}, ws.{sub.Y}, yOffset: {(d.Reverse ? H : 0)}, ws.{d.Gates}, {aux}, ws.{Lowerer.StepScratch}, ws.{Lowerer.PackedWeights},");
                w.Line($"    {d.WeightIh}.AsSpan(), {d.WeightHh}.AsSpan(), {d.BiasIh}.AsSpan(), {d.BiasHh}.AsSpan(), h0: {h0}, c0: {c0}, lengths: ws.HasLengths ? ws.lengths : default,");
                w.Line(d.RecurrentMask is null ? "    rmask: default, hm: default);" : $"    rmask: training ? ws.{d.RecurrentMask} : default, hm: ws.{d.MaskedStates});");
            }
            if (sub.Mask is not null)
            {
                w.Line($"// dropout between layer {sub.Index} and {sub.Index + 1} (training only)");
                w.Line($"if (training) global::Dsl.Kernels.DropoutKernel.Forward(ws.{sub.Y}, ws.{sub.Mask}, ws.{sub.NextX}, {SourceWriter.Float(l.Spec.Dropout)}, _dropoutRng);");
                w.Line($"else ws.{sub.Y}.CopyTo(ws.{sub.NextX});");
            }
        }
        if (plan.Model.CanStep)
        {
            w.Open("if (state is not null)");
            w.Line("// the new state is the last step's h (and c)");
            foreach (SubLayerPlan sub in layer.SubLayers)
            {
                w.Line($"ws.{sub.Y}.Slice((T - 1) * B * {H}, B * {H}).CopyTo(state.{sub.StateH});");
                if (sub.StateC is not null) w.Line($"ws.{sub.Directions[0].Aux}.Slice((T - 1) * B * {H}, B * {H}).CopyTo(state.{sub.StateC});");
            }
            w.Close();
        }
        SubLayerPlan top = layer.SubLayers[layer.SubLayers.Count - 1];
        if (!l.OutIsSequence)
            w.Line($"{Layout}.GatherLastStep(ws.{top.Y}, ws.{layer.Out}, B, T, {H}, {D}, ws.HasLengths ? ws.lengths : default); // many-to-one: the final hidden state of each direction");
        else
        {
            if (top.Y != layer.Out) w.Line($"ws.{top.Y}.CopyTo(ws.{layer.Out}); // the states keep the reverse direction's initial state in the padding; the output does not");
            w.Line($"if (ws.HasLengths) {Layout}.MaskSteps(ws.{layer.Out}, ws.lengths, B, T, {l.OutWidth}); // padded steps output zeros");
        }
        w.Close();
        w.Line();

        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line("int B = ws.B, T = ws.T;");
        if (!l.OutIsSequence) w.Line($"{Layout}.ScatterLastStep(ws.{layer.DOut}, ws.{top.DY}, B, T, {H}, {D}, ws.HasLengths ? ws.lengths : default);");
        else w.Line($"if (ws.HasLengths) {Layout}.MaskSteps(ws.{layer.DOut}, ws.lengths, B, T, {l.OutWidth});");
        for (int i = layer.SubLayers.Count - 1; i >= 0; i--)
        {
            SubLayerPlan sub = layer.SubLayers[i];
            if (sub.FinalHGrad is not null)
            {
                w.Line($"// an encoder: the gradient of layer {sub.Index}'s final hidden states, from the decoder they started");
                foreach (DirectionPlan d in sub.Directions)
                {
                    string offset = d.Reverse ? H.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0";
                    w.Line($"if (ws.InjectFinal) {Layout}.AddToFinalState(ws.{sub.FinalHGrad}, {D * H}, {offset}, ws.{sub.DY}, {D * H}, {offset}, B, T, {H}, {(d.Reverse ? "true" : "false")}, ws.HasLengths ? ws.lengths : default);");
                }
            }
            if (sub.DX is not null) w.Line($"ws.{sub.DX}.Clear(); // both directions add into dx");
            foreach (DirectionPlan d in sub.Directions)
            {
                string aux = d.Aux.Length > 0 ? $"ws.{d.Aux}" : "default";
                string dx = sub.DX is not null ? $"ws.{sub.DX}" : "default";
                w.Line($"{sub.CellMethod}_backward(B, T, reverse: {(d.Reverse ? "true" : "false")}, ws.{sub.X}, ws.{sub.Y}, yOffset: {(d.Reverse ? H : 0)}, ws.{d.Gates}, {aux}, ws.{sub.DY}, {dx},");
                w.Line($"    ws.{Lowerer.DGates}, ws.{Lowerer.DGates2}, ws.{Lowerer.Carry}, ws.{Lowerer.Carry2}, ws.{Lowerer.StepScratch}, ws.{Lowerer.PackedWeights}, {d.WeightIh}.AsSpan(), {d.WeightHh}.AsSpan(),");
                w.Line($"    {d.WeightIh}.GradAsSpan(), {d.WeightHh}.GradAsSpan(), {d.BiasIh}.GradAsSpan(), {d.BiasHh}.GradAsSpan(), h0: {InitialState(d, sub.InitialH, d.LearnedHBuffer)}, c0: {InitialState(d, sub.InitialC, d.LearnedCBuffer)},");
                w.Line($"    lengths: ws.HasLengths ? ws.lengths : default, dh0: {LearnedGrad(d, sub.InitialH, d.LearnedH)}, dc0: {LearnedGrad(d, sub.InitialH, d.LearnedC)},");
                string dh0Rows = !d.Reverse && sub.InitialHGrad is not null ? $"ws.HasInitialState ? ws.{sub.InitialHGrad} : default" : "default";
                string dc0Rows = !d.Reverse && sub.InitialCGrad is not null ? $"ws.HasInitialState ? ws.{sub.InitialCGrad} : default" : "default";
                string dcLast = sub.FinalCGrad is not null ? $"ws.InjectFinal ? ws.{sub.FinalCGrad} : default" : "default";
                w.Line($"    dh0Rows: {dh0Rows}, dc0Rows: {dc0Rows}, dcLast: {dcLast},");
                w.Line(d.RecurrentMask is null ? $"    rmask: default, hm: default, held: ws.{Lowerer.Held});" : $"    rmask: ws.{d.RecurrentMask}, hm: ws.{d.MaskedStates}, held: ws.{Lowerer.Held});");
            }
            if (i > 0 && layer.SubLayers[i - 1].Mask is { } mask)
                w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Multiply(ws.{sub.DX}, ws.{mask}, ws.{sub.DX}); // through the dropout between layer {i - 1} and {i}");
        }
        w.Close();
        w.Line();

        var emitted = new HashSet<string>();
        foreach (SubLayerPlan sub in layer.SubLayers)
        {
            if (!emitted.Add(sub.CellMethod)) continue;
            EmitCellForward(w, l, sub, layer);
            EmitCellBackward(w, l, sub, layer);
        }
    }

    /// <summary>Under variational dropout, dh(t−1) = (dG · W_hh) ⊙ mask.</summary>
    private static void ApplyRecurrentMask(SourceWriter w) =>
        w.Line($"if (!rmask.IsEmpty && (s > 0 || wantDh0)) for (int b = 0; b < B; b++) global::System.Numerics.Tensors.TensorPrimitives.Multiply(carry.Slice(b * H, H), rmask.Slice(b * H, H), carry.Slice(b * H, H));");

    /// <summary>
    /// At a padded step (t ≥ length) nothing flows: zero the step's gate gradients and carried gradients; but a reverse
    /// direction that started from an initial state held it through the padding, so the gradient of that state passes
    /// through unchanged (restored from <c>held</c>, where the first padded step saved it).
    /// </summary>
    private static void MaskPaddedGradients(SourceWriter w, bool lstm, string? always)
    {
        w.Open("if (!lengths.IsEmpty)");
        w.Open("for (int b = 0; b < B; b++)");
        w.Line("if (t < lengths[b]) continue; // a padded step: no gradient reaches it or leaves it");
        w.Line("d.Slice(b * G, G).Clear();");
        if (always is not null) w.Line(always);
        w.Open("if (holding)");
        w.Line("held.Slice(b * 2 * H, H).CopyTo(carry.Slice(b * H, H));");
        if (lstm) w.Line("held.Slice(b * 2 * H + H, H).CopyTo(carry2.Slice(b * H, H));");
        w.Close();
        w.Open("else");
        w.Line("carry.Slice(b * H, H).Clear();");
        if (lstm) w.Line("carry2.Slice(b * H, H).Clear();");
        w.Close();
        w.Close();
        w.Close();
    }

    /// <summary>Before a reverse direction's first padded step: save the initial state's gradient that the padding must pass on.</summary>
    private static void HoldInitialStateGradient(SourceWriter w, bool lstm)
    {
        w.Open("if (holding)");
        w.Open("for (int b = 0; b < B; b++)");
        w.Line("if (t != lengths[b]) continue;");
        w.Line("carry.Slice(b * H, H).CopyTo(held.Slice(b * 2 * H, H));");
        if (lstm) w.Line("carry2.Slice(b * H, H).CopyTo(held.Slice(b * 2 * H + H, H));");
        w.Close();
        w.Close();
    }

    /// <summary>The state a direction starts from: the carried one for the forward direction of a stateful pass, else zeros.</summary>
    private static string InitialState(DirectionPlan d, string? carried, string? learned)
    {
        string fallback = learned is not null ? $"ws.{learned}" : "default";
        return !d.Reverse && carried is not null ? $"ws.HasInitialState ? ws.{carried} : {fallback}" : fallback;
    }

    /// <summary>Where the gradient of a learned initial state goes: its parameter's gradient, unless a carried state replaced it.</summary>
    private static string LearnedGrad(DirectionPlan d, string? carried, string? learned)
    {
        if (learned is null) return "default";
        return !d.Reverse && carried is not null ? $"ws.HasInitialState ? default : {learned}.GradAsSpan()" : $"{learned}.GradAsSpan()";
    }

    private static void CellConstants(SourceWriter w, SubLayerPlan sub, LayerPlan layer, ShapedLayer l) =>
        w.Line($"const int X = {sub.XWidth}, H = {layer.Hidden}, G = {layer.Gates}, Y = {l.Directions * layer.Hidden};");

    private static void StepIndices(SourceWriter w)
    {
        w.Line("int t = reverse ? T - 1 - s : s;   // the step processed s-th");
        w.Line("int tp = reverse ? t + 1 : t - 1;  // the step before it in processing order");
    }

    private const string Lstm = "global::Dsl.Kernels.LstmCell";
    private const string GruK = "global::Dsl.Kernels.GruCell";
    private const string RnnK = "global::Dsl.Kernels.RnnCell";
    private const string TP = "global::System.Numerics.Tensors.TensorPrimitives";

    /// <summary>c += a · Wᵀ for one step: from the packed weights when the sequence packed them, else from W itself.</summary>
    private static string Recurrent(string m, string n, string k, string a, string lda, string w, string packed, string c, string ldc) =>
        $"{{ if (prepacked) {Gemm}.MatMulPacked({m}, {n}, {k}, {a}, {lda}, {packed}, {c}, {ldc}, accumulate: true); else {Gemm}.MatMulTransB({m}, {n}, {k}, {a}, {lda}, {w}, {k}, {c}, {ldc}, accumulate: true); }}";

    /// <summary>carry (+)= d · W for one step back (W stored [k, H]).</summary>
    private static string BackProduct(string k, string d, string ldd, string w, string packed, bool accumulate, string c = "carry") =>
        $"{{ if (prepacked) {Gemm}.MatMulPacked(B, H, {k}, {d}, {ldd}, {packed}, {c}, H, accumulate: {(accumulate ? "true" : "false")}); else {Gemm}.MatMul(B, H, {k}, {d}, {ldd}, {w}, H, {c}, H, accumulate: {(accumulate ? "true" : "false")}); }}";

    private static void EmitCellForward(SourceWriter w, ShapedLayer l, SubLayerPlan sub, LayerPlan layer)
    {
        bool lstm = l.Kind == LayerKind.Lstm, gru = l.Kind == LayerKind.Gru, rnn = l.Kind == LayerKind.Rnn;
        bool resetAfter = l.Spec.ResetAfter;
        w.Line($"// {l.Name} {(sub.Index == 0 ? "layer 0" : "layers 1…")}, one direction: x [T, B, {sub.XWidth}] -> h, written into y [T, B, Y] at columns yOffset…");
        w.Line(lstm ? "// i, f, g, o = σ, σ, tanh, σ(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')"
            : rnn ? $"// h' = {l.Spec.Activation.ToString().ToLowerInvariant()}(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)"
            : resetAfter ? "// r, z = σ(x·W_i{r,z}ᵀ + b_i{r,z} + h·W_h{r,z}ᵀ + b_h{r,z}); n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h"
            : "// r, z = σ(x·W_i{r,z}ᵀ + b_i{r,z} + h·W_h{r,z}ᵀ + b_h{r,z}); n = tanh(x·W_inᵀ + b_in + (r ⊙ h)·W_hnᵀ + b_hn); h' = (1 − z) ⊙ n + z ⊙ h");
        w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]");
        w.Open($"private static void {sub.CellMethod}_forward(int B, int T, bool reverse, {RoSpan} x, {Span} y, int yOffset, {Span} gates, {Span} aux, {Span} scratch, {Span} packed,",
            $"    {RoSpan} w_ih, {RoSpan} w_hh, {RoSpan} b_ih, {RoSpan} b_hh, {RoSpan} h0, {RoSpan} c0, global::System.ReadOnlySpan<int> lengths,",
            $"    {RoSpan} rmask, {Span} hm)");
        CellConstants(w, sub, layer, l);
        w.Line("// the input projection of every step at once: gates[t, b] = x[t, b]·W_ihᵀ + b_ih" + (gru ? "" : " + b_hh"));
        w.Line($"{Gemm}.MatMulTransB(T * B, G, X, x, X, w_ih, X, gates, G, accumulate: false);");
        w.Line($"{Act}.AddBias(gates.Slice(0, T * B * G), T * B, b_ih);");
        if (!gru) w.Line($"{Act}.AddBias(gates.Slice(0, T * B * G), T * B, b_hh);");
        w.Line("// the recurrent weights, packed once for every step (one step alone does not repay the packing)");
        w.Line("bool prepacked = T > 1;");
        if (gru && !resetAfter)
        {
            w.Line($"{Span} packedRz = packed.Slice(0, {Gemm}.PackedLength(H, 2 * H)), packedN = packed.Slice(packedRz.Length, {Gemm}.PackedLength(H, H));");
            w.Line($"if (prepacked) {Gemm}.PackB(H, 2 * H, w_hh, H, transposed: true, packedRz);");
            w.Line($"if (prepacked) {Gemm}.PackB(H, H, w_hh.Slice(2 * H * H), H, transposed: true, packedN);");
        }
        else
        {
            w.Line($"if (prepacked) {Gemm}.PackB(H, G, w_hh, H, transposed: true, packed);");
        }
        w.Open("for (int s = 0; s < T; s++)");
        StepIndices(w);
        w.Line("// the previous hidden state: the previous step's output, or the carried state h0 (empty = zeros)");
        w.Line($"{RoSpan} hPrev = s > 0 ? ({RoSpan})y.Slice(tp * B * Y + yOffset) : h0;");
        w.Line("int ldh = s > 0 ? Y : H;");
        w.Line("bool hasPrev = !hPrev.IsEmpty;");
        w.Line("// the recurrent input: h(t−1), or h(t−1) ⊙ mask under variational dropout (kept for back-propagation)");
        w.Line($"{RoSpan} hIn = hPrev;");
        w.Line("int ldi = ldh;");
        w.Open("if (!rmask.IsEmpty)");
        w.Line($"{Span} masked = hm.Slice(t * B * H, B * H);");
        w.Line($"if (hasPrev) for (int b = 0; b < B; b++) {TP}.Multiply(hPrev.Slice(b * ldh, H), rmask.Slice(b * H, H), masked.Slice(b * H, H));");
        w.Line("else masked.Clear();");
        w.Line("hIn = masked;");
        w.Line("ldi = H;");
        w.Close();
        w.Line($"{Span} g = gates.Slice(t * B * G, B * G);");
        const string hp = "hasPrev ? hPrev.Slice(b * ldh, H) : default";
        const string hRow = "y.Slice((t * B + b) * Y + yOffset, H)";
        if (lstm)
        {
            w.Line($"if (hasPrev) {Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "g", "G")}");
            w.Line($"{RoSpan} cPrev = s > 0 ? ({RoSpan})aux.Slice(tp * B * H, B * H) : c0;");
            w.Line($"{Lstm}.ForwardRows(B, H, g, cPrev, aux.Slice(t * B * H, B * H), y.Slice(t * B * Y + yOffset), Y); // every row's cell, split over the cores");
        }
        else if (rnn)
        {
            w.Line($"if (hasPrev) {Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "g", "G")}");
            w.Line($"for (int b = 0; b < B; b++) {RnnK}.Forward(g.Slice(b * G, G), {hRow}, relu: {(l.Spec.Activation == ActivationKind.Relu ? "true" : "false")});");
        }
        else if (resetAfter)
        {
            w.Line($"{Span} gh = scratch.Slice(0, B * G); // h·W_hhᵀ + b_hh");
            w.Line("for (int b = 0; b < B; b++) b_hh.CopyTo(gh.Slice(b * G, G));");
            w.Line($"if (hasPrev) {Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "gh", "G")}");
            w.Line($"{GruK}.ForwardRows(B, H, g, gh, hasPrev ? hPrev : default, ldh, aux.Slice(t * B * H, B * H), y.Slice(t * B * Y + yOffset), Y); // every row's cell, split over the cores");
        }
        else
        {
            w.Line($"{Span} gh = scratch.Slice(0, B * G); // [h·W_h{{r,z}}ᵀ + b_h{{r,z}}, (r ⊙ h)·W_hnᵀ + b_hn]");
            w.Line("for (int b = 0; b < B; b++) b_hh.CopyTo(gh.Slice(b * G, G));");
            w.Line($"if (hasPrev) {Recurrent("B", "2 * H", "H", "hIn", "ldi", "w_hh", "packedRz", "gh", "G")}");
            w.Line($"{Span} rh = aux.Slice(t * B * H, B * H);");
            w.Line($"for (int b = 0; b < B; b++) {GruK}.ForwardResetBefore(g.Slice(b * G, G), gh.Slice(b * G, G), hasPrev ? hIn.Slice(b * ldi, H) : default, rh.Slice(b * H, H));");
            w.Line($"if (hasPrev) {Recurrent("B", "H", "H", "rh", "H", "w_hh.Slice(2 * H * H)", "packedN", "gh.Slice(2 * H)", "G")}");
            w.Line($"for (int b = 0; b < B; b++) {GruK}.FinishResetBefore(g.Slice(b * G, G), gh.Slice(b * G, G), {hp}, {hRow});");
        }
        w.Open("if (!lengths.IsEmpty)");
        w.Line("// padded steps (t ≥ length): the forward direction keeps its state, the reverse one holds its initial state (zero,");
        w.Line("// or a learned h0) until its sequence starts at step length − 1");
        w.Open("for (int b = 0; b < B; b++)");
        w.Line("if (t < lengths[b]) continue;");
        w.Line($"{Span} h = y.Slice((t * B + b) * Y + yOffset, H);");
        w.Line("if (!reverse) y.Slice((tp * B + b) * Y + yOffset, H).CopyTo(h); else if (h0.IsEmpty) h.Clear(); else h0.Slice(b * H, H).CopyTo(h);");
        if (lstm)
        {
            w.Line($"{Span} c = aux.Slice((t * B + b) * H, H);");
            w.Line("if (!reverse) aux.Slice((tp * B + b) * H, H).CopyTo(c); else if (c0.IsEmpty) c.Clear(); else c0.Slice(b * H, H).CopyTo(c);");
        }
        w.Close();
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    private static void EmitCellBackward(SourceWriter w, ShapedLayer l, SubLayerPlan sub, LayerPlan layer)
    {
        bool lstm = l.Kind == LayerKind.Lstm, gru = l.Kind == LayerKind.Gru, rnn = l.Kind == LayerKind.Rnn;
        bool resetAfter = l.Spec.ResetAfter;
        w.Line($"// {l.Name} {(sub.Index == 0 ? "layer 0" : "layers 1…")} backward through time, one direction, from the initial state h0, c0 (empty = zeros; no gradient flows into it):");
        w.Line("// dy [T, B, Y] at columns yOffset… -> dx += [T, B, X]; weight and bias gradients accumulate.");
        w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]");
        w.Open($"private static void {sub.CellMethod}_backward(int B, int T, bool reverse, {RoSpan} x, {RoSpan} y, int yOffset, {RoSpan} gates, {RoSpan} aux,",
            $"    {RoSpan} dy, {Span} dx, {Span} dg, {Span} dg2, {Span} carry, {Span} carry2, {Span} scratch, {Span} packed, {RoSpan} w_ih, {RoSpan} w_hh,",
            $"    {Span} dw_ih, {Span} dw_hh, {Span} db_ih, {Span} db_hh, {RoSpan} h0, {RoSpan} c0, global::System.ReadOnlySpan<int> lengths, {Span} dh0, {Span} dc0,",
            $"    {Span} dh0Rows, {Span} dc0Rows, {RoSpan} dcLast, {RoSpan} rmask, {RoSpan} hm, {Span} held)");
        CellConstants(w, sub, layer, l);
        w.Line("// the recurrent weights, packed once for every step");
        w.Line("bool prepacked = T > 1;");
        if (gru && !resetAfter)
        {
            w.Line($"{Span} packedN = packed.Slice(0, {Gemm}.PackedLength(H, H)), packedRz = packed.Slice(packedN.Length, {Gemm}.PackedLength(2 * H, H));");
            w.Line($"if (prepacked) {Gemm}.PackB(H, H, w_hh.Slice(2 * H * H), H, transposed: false, packedN);");
            w.Line($"if (prepacked) {Gemm}.PackB(2 * H, H, w_hh, H, transposed: false, packedRz);");
        }
        else
        {
            w.Line($"if (prepacked) {Gemm}.PackB(G, H, w_hh, H, transposed: false, packed);");
        }
        w.Line("bool wantDh0 = !dh0.IsEmpty || !dh0Rows.IsEmpty || !dc0Rows.IsEmpty; // the gradient of the initial state is wanted");
        w.Line("bool holding = reverse && !lengths.IsEmpty && !h0.IsEmpty; // a reverse direction's initial state waits through the padding");
        w.Line("carry.Slice(0, B * H).Clear();  // dh flowing back from the next step");
        if (lstm) w.Line("carry2.Slice(0, B * H).Clear(); // dc flowing back from the next step");
        w.Open("for (int s = T - 1; s >= 0; s--)");
        StepIndices(w);
        HoldInitialStateGradient(w, lstm);
        w.Line($"{Span} d = dg.Slice(t * B * G, B * G); // d(pre-activation) of step t");
        const string gRow = "gates.Slice((t * B + b) * G, G)";
        const string dyRow = "dy.Slice((t * B + b) * Y + yOffset, H)";
        const string hp = "s > 0 ? y.Slice((tp * B + b) * Y + yOffset, H) : h0.IsEmpty ? default : h0.Slice(b * H, H)";
        if (lstm)
        {
            w.Line("// an encoder's final cell state: its gradient from the decoder enters at each direction's last step");
            w.Line("if (!dcLast.IsEmpty) for (int b = 0; b < B; b++) if (t == (reverse ? 0 : (lengths.IsEmpty ? T : lengths[b]) - 1)) " +
                $"{TP}.Add(carry2.Slice(b * H, H), dcLast.Slice(b * Y + yOffset, H), carry2.Slice(b * H, H));");
            w.Line($"{Lstm}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), s > 0 ? aux.Slice(tp * B * H, B * H) : c0,");
            w.Line("    dy.Slice(t * B * Y + yOffset), Y, carry, carry2, d); // every row's cell, split over the cores");
            w.Line($"if (s > 0 || wantDh0) {BackProduct("G", "d", "G", "w_hh", "packed", accumulate: false)} // dh of the previous step (or of a learned h0)");
            ApplyRecurrentMask(w);
        }
        else if (rnn)
        {
            w.Line($"for (int b = 0; b < B; b++) {RnnK}.Backward(y.Slice((t * B + b) * Y + yOffset, H), {dyRow}, carry.Slice(b * H, H), d.Slice(b * G, G), relu: {(l.Spec.Activation == ActivationKind.Relu ? "true" : "false")});");
            w.Line($"if (s > 0 || wantDh0) {BackProduct("G", "d", "G", "w_hh", "packed", accumulate: false)} // dh of the previous step (or of a learned h0)");
            ApplyRecurrentMask(w);
        }
        else if (resetAfter)
        {
            w.Line($"{Span} dh2 = dg2.Slice(t * B * G, B * G); // d(h·W_hhᵀ + b_hh) of step t");
            w.Line($"{GruK}.BackwardRows(B, H, gates.Slice(t * B * G, B * G), aux.Slice(t * B * H, B * H), s > 0 ? y.Slice(tp * B * Y + yOffset) : h0, s > 0 ? Y : H,");
            w.Line("    dy.Slice(t * B * Y + yOffset), Y, carry, d, dh2); // every row's cell, split over the cores");
            w.Open("if (rmask.IsEmpty)");
            w.Line($"if (s > 0 || wantDh0) {BackProduct("G", "dh2", "G", "w_hh", "packed", accumulate: true)} // dh of the previous step (or of a learned h0)");
            w.Close();
            w.Open("else if (s > 0 || wantDh0)");
            w.Line($"{Span} dhm = scratch.Slice(0, B * H); // d(h(t−1) ⊙ mask)");
            w.Line($"{BackProduct("G", "dh2", "G", "w_hh", "packed", accumulate: false, c: "dhm")}");
            w.Line($"for (int b = 0; b < B; b++) {TP}.FusedMultiplyAdd(dhm.Slice(b * H, H), rmask.Slice(b * H, H), carry.Slice(b * H, H), carry.Slice(b * H, H));");
            w.Close();
        }
        else
        {
            w.Line($"for (int b = 0; b < B; b++) {GruK}.BackwardResetBefore({gRow}, {hp}, {dyRow}, carry.Slice(b * H, H), d.Slice(b * G, G));");
            w.Line($"{BackProduct("H", "d.Slice(2 * H)", "G", "w_hh.Slice(2 * H * H)", "packedN", accumulate: false, c: "carry2")} // d(r ⊙ h)");
            w.Open("if (rmask.IsEmpty)");
            w.Line($"for (int b = 0; b < B; b++) {GruK}.FinishBackwardResetBefore({gRow}, {hp}, carry2.Slice(b * H, H), carry.Slice(b * H, H), d.Slice(b * G, G));");
            w.Line($"if (s > 0 || wantDh0) {BackProduct("2 * H", "d", "G", "w_hh", "packedRz", accumulate: true)} // dh of the previous step (or of a learned h0)");
            w.Close();
            w.Open("else");
            w.Line("// under variational dropout the recurrent products saw h(t−1) ⊙ mask: gradients reach h(t−1) through the mask");
            w.Line($"{Span} dhm = scratch.Slice(0, B * H);");
            w.Line("dhm.Clear();");
            w.Line($"for (int b = 0; b < B; b++) {GruK}.FinishBackwardResetBefore({gRow}, hm.Slice((t * B + b) * H, H), carry2.Slice(b * H, H), dhm.Slice(b * H, H), d.Slice(b * G, G));");
            w.Line($"if (s > 0 || wantDh0) {BackProduct("2 * H", "d", "G", "w_hh", "packedRz", accumulate: true, c: "dhm")}");
            w.Line($"for (int b = 0; b < B; b++) {TP}.FusedMultiplyAdd(dhm.Slice(b * H, H), rmask.Slice(b * H, H), carry.Slice(b * H, H), carry.Slice(b * H, H));");
            w.Close();
        }
        MaskPaddedGradients(w, lstm, gru && resetAfter ? "dh2.Slice(b * G, G).Clear();" : null);
        w.Close();
        w.Line("// a learned initial state: its gradient is what reached the step before the first, summed over the sequences");
        w.Line($"if (!dh0.IsEmpty) {Act}.AddColumnSums(carry.Slice(0, B * H), B, dh0);");
        if (lstm) w.Line($"if (!dc0.IsEmpty) {Act}.AddColumnSums(carry2.Slice(0, B * H), B, dc0);");
        w.Line("// a carried initial state: its gradient per sequence (for an encoder that produced it)");
        w.Line("if (!dh0Rows.IsEmpty) carry.Slice(0, B * H).CopyTo(dh0Rows);");
        if (lstm) w.Line("if (!dc0Rows.IsEmpty) carry2.Slice(0, B * H).CopyTo(dc0Rows);");
        w.Line("// weight gradients of every step at once");
        w.Line("int first = reverse ? 0 : 1, prev = reverse ? 1 : 0; // the steps that had a previous state, and where that state is");
        w.Line($"{Gemm}.MatMulTransA(G, X, T * B, dg, G, x, X, dw_ih, X, accumulate: true);");
        w.Line($"{Act}.AddColumnSums(dg.Slice(0, T * B * G), T * B, db_ih);");
        string dgh = gru && resetAfter ? "dg2" : "dg";
        w.Open("if (!rmask.IsEmpty)");
        w.Line("// the recurrent products saw the masked states, kept step by step (zero where there was no previous state)");
        w.Line($"{Gemm}.MatMulTransA({(gru && !resetAfter ? "2 * H" : "G")}, H, T * B, {(gru && resetAfter ? "dg2" : "dg")}, G, hm, H, dw_hh, H, accumulate: true);");
        w.Close();
        w.Open("else");
        if (gru && !resetAfter)
        {
            w.Line($"if (T > 1) {Gemm}.MatMulTransA(2 * H, H, (T - 1) * B, dg.Slice(first * B * G), G, y.Slice(prev * B * Y + yOffset), Y, dw_hh, H, accumulate: true);");
        }
        else
        {
            w.Line($"if (T > 1) {Gemm}.MatMulTransA(G, H, (T - 1) * B, {dgh}.Slice(first * B * G), G, y.Slice(prev * B * Y + yOffset), Y, dw_hh, H, accumulate: true);");
        }
        w.Line("// the first step's product with the carried state h0 (zero unless the pass started from a state)");
        w.Line($"if (!h0.IsEmpty) {Gemm}.MatMulTransA({(gru && !resetAfter ? "2 * H" : "G")}, H, B, {dgh}.Slice((reverse ? T - 1 : 0) * B * G), G, h0, H, dw_hh, H, accumulate: true);");
        w.Close();
        if (gru && !resetAfter) w.Line($"{Gemm}.MatMulTransA(H, H, T * B, dg.Slice(2 * H), G, aux, H, dw_hh.Slice(2 * H * H), H, accumulate: true); // (r ⊙ h)·W_hnᵀ");
        w.Line($"{Act}.AddColumnSums({dgh}.Slice(0, T * B * G), T * B, db_hh);");
        w.Line($"if (!dx.IsEmpty) {Gemm}.MatMul(T * B, X, G, dg, G, w_ih, X, dx, X, accumulate: true);");
        w.Close();
        w.Line();
    }
}
