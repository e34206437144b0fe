using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Recurrent;

/// <summary>
/// What RNN, LSTM and GRU layers share: options, shape, lowering (stacked layers, directions, states, masks) and the
/// time loop around the cell. Each kind (Layers/Rnn, Lstm, Gru) supplies its cell: the step forward and backward.
/// </summary>
internal abstract class RecurrentLayer<TSpec> : LayerDefinition<TSpec, RecurrentPlan>, IRecurrentCell
    where TSpec : RecurrentSpec
{
    /// <summary>
    /// The most stacked layers one attribute declares: lowering writes a plan, and the emitter code, per stacked layer, and
    /// Layers = 10^8 of one unit each (weights that fit in an array, so no DSL1004) had been lowered one layer at a time in
    /// the IDE's generator. Stacks in use are a few layers deep, tens at most.
    /// </summary>
    public const int MaxLayers = 256;

    protected override void Check(TSpec spec, OptionChecks c)
    {
        c.Positive("hidden", "hidden", spec.Hidden);
        c.Positive("layers", "Layers", spec.Layers);
        c.AtMost("layers", "Layers", spec.Layers, MaxLayers, "the generator writes out each stacked layer's code");
        if (c.Probability("dropout", "Dropout", spec.Options.Dropout) && spec.Options.Dropout > 0f && spec.Layers == 1)
            c.Report(Diagnostics.DiagnosticDescriptors.SingleLayerDropout, "dropout", c.Name, spec.Options.Dropout);
        c.Probability("recurrentdropout", "RecurrentDropout", spec.Options.RecurrentDropout);
        c.KnownInit("weightinit", spec.Options.WeightInit);
        c.KnownInit("recurrentinit", spec.Options.RecurrentInit);
        CheckCell(spec, c);
    }

    /// <summary>The kind's own options.</summary>
    protected virtual void CheckCell(TSpec spec, OptionChecks c) { }

    protected override ShapedLayer Shape(TSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        long gates = (long)spec.GateBlocks * spec.Hidden;
        c.Limit(spec, "weight_ih_l0", gates, c.InWidth);
        c.Limit(spec, "weight_hh_l0", gates, spec.StateWidth);
        if (spec.Projected) c.Limit(spec, "weight_hr_l0", spec.StateWidth, spec.Hidden);
        if (spec.Layers > 1) c.Limit(spec, "weight_ih_l1", gates, (long)spec.Directions * spec.StateWidth);
        if (spec.Layers > 1 && spec.Layers <= MaxLayers) // (more is DSL0002)
        {
            // the stacked layers' weights together, counted before anything is written per layer (the lowering's plans, a
            // composition's bridges): Layers = int.MaxValue had allocated without end
            long g = gates, r = spec.StateWidth, h = spec.Hidden, d = spec.Directions;
            long Weights(long x) => checked(g * x + g * r + 2 * g + (spec.Projected ? r * h : 0) + (spec.Options.LearnInitialState ? r + (spec.HasCellState ? h : 0) : 0));
            c.LimitTotal(spec.ArgumentLocation("layers"), $"the total of its {spec.Layers} stacked layers' weights",
                "a layer's weights together are held to what one .NET array holds; lower Layers or hidden",
                () => checked(d * (Weights(c.InWidth) + (spec.Layers - 1L) * Weights(d * r))));
        }
        // the packing buffer of the per-step products, (G + 64)(H + 32) floats (Lower): an int product past an array had
        // compiled into a negative workspace length (reported when the weights themselves fit: else they are named)
        if (gates * spec.StateWidth <= ShapeContext.MaxArrayLength)
            c.Limit(spec, "weight_hh_l0 packed for the step products", gates + 64, (long)spec.Hidden + 32);
        if (!spec.Options.ReturnSequences) c.VectorReason = "its last step only (ReturnSequences = false)";
        return new ShapedLayer(spec, c.Name, c.InWidth, spec.Directions * spec.StateWidth, c.InIsSequence, spec.Options.ReturnSequences, spec.Directions,
            StepBlocker: spec.Bidirectional ? "is bidirectional and needs the whole sequence" : null);
    }

    protected override string Describe(ShapedLayer layer, TSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.RecurrentInfo({Literal(layer.Name)}, global::Dsl.RecurrentKind.{spec.Kind}, {layer.InWidth}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, " +
        $"{spec.Hidden}, {spec.Layers}, {Literal(spec.Bidirectional)}, global::Dsl.Activation.{DescribedActivation(spec)}, {Literal(DescribedResetAfter(spec))}, " +
        $"{(spec.Projected ? spec.StateWidth : 0)}, {Literal(spec.Options.LearnInitialState)}, {Attention.InputFeeding.FedWidth(model, index)})";

    /// <summary>The activation of an RNN's cell (tanh for the others' candidates).</summary>
    protected virtual ActivationKind DescribedActivation(TSpec spec) => ActivationKind.Tanh;

    /// <summary>A GRU's reset-after variant (PyTorch's); true for the kinds without a reset.</summary>
    protected virtual bool DescribedResetAfter(TSpec spec) => true;

    protected override RecurrentPlan Lower(ShapedLayer layer, TSpec spec, LowerContext c)
    {
        string n = layer.Name;
        // H the cell's width, R that of h (H, or the projection P), the output d·R wide
        int hidden = spec.Hidden, r = spec.StateWidth, gates = spec.Gates, d = layer.Directions, width = d * r, count = spec.Layers;
        var scratch = new RecurrentScratch(
            c.Shared("step_scratch", gates, Rows.Batch1, BufferUse.Forward, "scratch: one step's recurrent product [B, G]"),
            // at most (G + 64)(H + 32) floats whatever the tile width (Gemm.PackedLength)
            c.Shared("packed_weights", (gates + 64) * (hidden + 32), Rows.One, BufferUse.Forward, "scratch: the recurrent weights packed once per sequence for the per-step products"),
            c.Shared("dgates", gates, Rows.StepsBatch, BufferUse.Training, "scratch: gradient of the gate pre-activations [T, B, G]"),
            NeedsSecondGateGradient(spec) ? c.Shared("dgates2", gates, Rows.StepsBatch, BufferUse.Training, "scratch: GRU gradient of the recurrent gate inputs [T, B, G]") : null,
            c.Shared("carry", hidden, Rows.Batch1, BufferUse.Training, "scratch: gradient carried to the previous step, dh [B, H]"),
            NeedsSecondCarry(spec) ? c.Shared("carry2", hidden, Rows.Batch1, BufferUse.Training, "scratch: second carried gradient (LSTM dc; GRU d(r*h)) [B, H]") : null,
            spec.Bidirectional && spec.Options.LearnInitialState
                ? c.Shared("held", 2 * hidden, Rows.Batch1, BufferUse.Training, "scratch: a reverse direction's initial-state gradients held through the padding [B, 2H]")
                : null,
            spec.Projected ? c.Shared("projected_dm", hidden, Rows.Batch1, BufferUse.Training, "scratch: an LSTM projection's gradient of o ⊙ tanh(c), dh·W_hr [B, H]") : null,
            spec.Projected ? c.Shared("zeros", hidden, Rows.Batch1, BufferUse.Training, "scratch: zeros, never written [B, H]") : null);

        InitKind inputInit = ParamInit.Pick(spec.Options.WeightInit, spec.DefaultInputInit);
        InitKind recurrentInit = ParamInit.Pick(spec.Options.RecurrentInit, InitKind.Orthogonal);
        float bound = 1f / (float)Math.Sqrt(hidden);
        bool torchBiases = spec.Options.WeightInit == InitKind.PyTorch;
        BufferRef x = c.In;
        BufferRef? dx = c.DIn;
        // A reverse direction with a learned initial state holds it in its padded steps, which BPTT reads:
        // then the top layer's states stay in a buffer of their own and the layer's output is a masked copy.
        bool ownTop = spec.Options.LearnInitialState && d == 2;
        // the model's last recurrent layer hands its final states on when the model encodes for a decoder
        bool finals = c.Model.OutputIsSequence && !c.Model.Layers.Skip(c.Index + 1).Any(l => l.Spec is RecurrentSpec);
        string sequenceShape = $"[T, B, {width}]";
        var (output, dOutput) = layer.OutIsSequence
            ? (ownTop ? c.Own("out", width, Rows.StepsBatch, BufferUse.Forward, $"the top layer's hidden states, zero at padded steps {sequenceShape}") : null,
               c.Own("dout", width, Rows.StepsBatch, BufferUse.Training, $"gradient of layer {count - 1}'s hidden states {sequenceShape}"))
            : (c.Own("out", width, Rows.Batch1, BufferUse.Forward, $"last step's hidden states [B, {width}]"),
               c.Own("dout", width, Rows.Batch1, BufferUse.Training, $"gradient of the last step's hidden states [B, {width}]"));

        var subs = new List<SubLayerPlan>();
        for (int l = 0; l < count; l++)
        {
            int xWidth = l == 0 ? layer.InWidth : width;
            bool top = l == count - 1;
            BufferRef y = c.Own(top && layer.OutIsSequence && !ownTop ? "out" : $"y_l{l}", width, Rows.StepsBatch, BufferUse.Forward, $"layer {l} hidden states h {sequenceShape}");
            if (top && layer.OutIsSequence && !ownTop) output = y;
            BufferRef dy = top && layer.OutIsSequence ? dOutput : c.Own($"dy_l{l}", width, Rows.StepsBatch, BufferUse.Training, $"gradient of layer {l}'s hidden states {sequenceShape}");
            var directions = new List<DirectionPlan>();
            for (int dir = 0; dir < d; dir++)
            {
                string suffix = $"_l{l}" + (dir == 1 ? "_reverse" : "");
                // input feeding (an attention layer after this one feeds its context back): the input is [x; context]
                int fedWidth = l == 0 ? Attention.InputFeeding.FedWidth(c.Model, c.Index) : 0;
                ParamRef wih = c.Matrix("weight_ih" + suffix, gates, xWidth + fedWidth, new ParamInit(inputInit, xWidth + fedWidth, gates, gates, bound));
                ParamRef whh = c.Matrix("weight_hh" + suffix, gates, r, new ParamInit(recurrentInit, r, gates, hidden, bound));
                // WeightInit = PyTorch draws the biases as torch does too (every parameter of nn.LSTM/GRU/RNN from U(±1/√H)); else zeros
                ParamRef bih = c.Vector("bias_ih" + suffix, gates, torchBiases ? new ParamInit(InitKind.PyTorch, xWidth, gates, gates, bound) : ParamInit.Zeros(xWidth, gates),
                    InputBiasFill(spec, torchBiases));
                ParamRef bhh = c.Vector("bias_hh" + suffix, gates, torchBiases ? new ParamInit(InitKind.PyTorch, hidden, gates, gates, bound) : ParamInit.Zeros(hidden, gates));
                ProjectionPlan? projection = spec.Projected
                    ? new ProjectionPlan(c.Matrix("weight_hr" + suffix, r, hidden, new ParamInit(InitKind.PyTorch, hidden, r, r, bound)),
                        c.Own("m" + suffix, hidden, Rows.StepsBatch, BufferUse.Forward, $"o ⊙ tanh(c) before the projection [T, B, {hidden}]"),
                        c.Own("dh" + suffix, r, Rows.StepsBatch, BufferUse.Training, $"gradient of each step's projected h [T, B, {r}]"))
                    : null;
                BufferRef gatesBuffer = c.Own("gates" + suffix, gates, Rows.StepsBatch, BufferUse.Forward, $"{GatesComment} [T, B, {gates}]");
                BufferRef? aux = AuxName(spec) is { } auxName
                    ? c.Own(auxName + suffix, hidden, Rows.StepsBatch, BufferUse.Forward, $"{AuxComment(spec)} [T, B, {hidden}]")
                    : null;
                ParamRef? learnedH = null, learnedC = null;
                BufferRef? learnedHBuffer = null, learnedCBuffer = null;
                if (spec.Options.LearnInitialState)
                {
                    learnedH = c.Vector("h0" + suffix, r, ParamInit.Zeros(r, r));
                    learnedHBuffer = c.Own("h0p" + suffix, r, Rows.Batch1, BufferUse.Forward, $"the learned initial hidden state, one row per sequence [B, {r}]");
                    if (spec.HasCellState)
                    {
                        learnedC = c.Vector("c0" + suffix, hidden, ParamInit.Zeros(hidden, hidden));
                        learnedCBuffer = c.Own("c0p" + suffix, hidden, Rows.Batch1, BufferUse.Forward, $"the learned initial cell state, one row per sequence [B, {hidden}]");
                    }
                }
                BufferRef? recurrentMask = null, maskedStates = null;
                if (spec.Options.RecurrentDropout > 0f)
                {
                    recurrentMask = c.Own("rmask" + suffix, r, Rows.Batch1, BufferUse.Training, $"variational dropout mask on h(t-1), the same at every step [B, {r}]");
                    maskedStates = c.Own("hm" + suffix, r, Rows.StepsBatch, BufferUse.Training, $"each step's masked recurrent input h(t-1) ⊙ mask [T, B, {r}]");
                }
                directions.Add(new DirectionPlan(dir == 1, gatesBuffer, aux, wih, whh, bih, bhh, learnedH, learnedC, learnedHBuffer, learnedCBuffer, recurrentMask, maskedStates,
                    projection));
            }
            BufferRef? subMask = null, nextX = null;
            if (!top && spec.Options.Dropout > 0f)
            {
                subMask = c.Own($"mask_l{l}", width, Rows.StepsBatch, BufferUse.Training, $"dropout mask between layers {l} and {l + 1} {sequenceShape}");
                nextX = c.Own($"x_l{l + 1}", width, Rows.StepsBatch, BufferUse.Forward, $"input of layer {l + 1} after dropout {sequenceShape}");
            }
            StateRef? stateH = null, stateC = null;
            if (c.Model.CanStep)
            {
                // the carried state, and the workspace's copy of the state a pass started from (BPTT reads it); a new state
                // starts from the learned initial state where the layer learns one (a model that steps has one direction)
                stateH = c.State($"{n}_h_l{l}", $"{n}.h_l{l}", r, $"{n}_h0_l{l}", $"{n}_dh0_l{l}", $"layer {l}'s initial hidden state", directions[0].LearnedH);
                if (spec.HasCellState) stateC = c.State($"{n}_c_l{l}", $"{n}.c_l{l}", hidden, $"{n}_c0_l{l}", $"{n}_dc0_l{l}", $"layer {l}'s initial cell state", directions[0].LearnedC);
            }
            FinalStateRef? finalH = null, finalC = null;
            if (finals)
            {
                // an encoder's final states, for a decoder to start from
                finalH = c.Final("h", l, width, "hidden");
                if (spec.HasCellState) finalC = c.Final("c", l, d * hidden, "cell");
            }
            subs.Add(new SubLayerPlan(l, xWidth, x, dx, y, dy, subMask, nextX, stateH, stateC, directions.ToEquatableArray(), finalH, finalC));
            x = nextX ?? y;
            dx = dy;
        }
        var plan = new RecurrentPlan(layer, c.In, c.DIn, output!, dOutput, subs.ToEquatableArray(), hidden, gates, scratch,
            new CellTraits(AuxName(spec) is not null, NeedsSecondGateGradient(spec), NeedsSecondCarry(spec))) { Tokens = TokensOf(c, gates) };
        return plan with { Passes = Passes(plan), Encode = FinalStates(plan) };
    }

    /// <summary>The embedding right before the layer, when the layer reads its vectors as they are (see <see cref="TokenInput"/>).</summary>
    private static TokenInput? TokensOf(LowerContext c, int gates)
    {
        // (a scaled table's rows are not the vectors the layer reads: it reads the embedding's output)
        if (c.Index == 0 || c.Layers[c.Index - 1] is not Embedding.EmbeddingPlan { Scale: 1f } embedding || embedding.Out != c.In) return null;
        BufferRef folded = c.Shared("token_gates", gates, Rows.FewerThanSteps(embedding.Weight.Rows), BufferUse.Forward,
            "scratch: the input projection of each token id, or the gate gradients summed per id [V, G] (only for a pass of more than V ids)");
        return new TokenInput(embedding.In, embedding.Weight, embedding.Weight.Rows, folded, VectorsOnlyUnfolded: c.FoldTokens(embedding.Weight.Rows));
    }

    /// <summary>The layer's passes: learned states, masks, each direction of each stacked layer through time, dropout between them.</summary>
    private Passes Passes(RecurrentPlan layer)
    {
        ShapedLayer l = layer.Layer;
        RecurrentSpec spec = layer.Spec;
        int H = layer.Hidden, R = layer.StateWidth, D = l.Directions;
        Operand steps = ScalarOperand.Of(new Dim(1, Steps: 1)), batch = ScalarOperand.Of(Dim.B), hidden = ScalarOperand.Of(R), directions = ScalarOperand.Of(D);
        var pass = new PassBuilder().Doc($"// {l.Name}: {Describe(spec)}, {spec.Layers} layer(s){(D == 2 ? ", bidirectional" : "")}: [T, B, {l.InWidth}] -> {EmitContext.Shape(l.OutIsSequence, l.OutWidth)}");
        var all = layer.SubLayers.SelectMany(x => x.Directions).ToList();
        if (all.Any(d => d.LearnedH is not null))
        {
            pass.Comment("the learned initial states, one row per sequence");
            foreach (DirectionPlan d in all)
            {
                pass.Add(new RepeatRowsOp(d.LearnedH!.Values, R, d.LearnedHBuffer!));
                if (d.LearnedC is not null) pass.Add(new RepeatRowsOp(d.LearnedC.Values, H, d.LearnedCBuffer!));
            }
        }
        if (spec.Options.RecurrentDropout > 0f)
        {
            pass.Comment("variational dropout: one mask per sequence and direction for the whole pass (training only)");
            foreach (DirectionPlan d in all) pass.Add(new DropoutMaskOp(d.RecurrentMask!, spec.Options.RecurrentDropout));
        }
        foreach (SubLayerPlan sub in layer.SubLayers)
        {
            foreach (DirectionPlan d in sub.Directions) pass.Add(new RecurrenceOp(layer.Signature(d), sub, d, layer.Scratch, Backward: false, layer.Feed, layer.Tokens));
            if (sub.Mask is not null)
            {
                pass.Comment($"dropout between layer {sub.Index} and {sub.Index + 1} (training only)");
                pass.Add(new DropoutOp(sub.Y, sub.Mask, sub.NextX!, spec.Options.Dropout));
            }
        }
        if (layer.SubLayers.Any(x => x.StateH is not null))
        {
            var save = new List<Op> { new CommentOp("the new state is the last step's h (and c)") };
            Dim last = new(R, Batch: 1, PreviousSteps: 1), rows = new(R, Batch: 1), lastC = new(H, Batch: 1, PreviousSteps: 1), rowsC = new(H, Batch: 1);
            foreach (SubLayerPlan sub in layer.SubLayers)
            {
                save.Add(new CopyOp(((Operand)sub.Y).Slice(last, rows), new StateOperand(sub.StateH!)));
                if (sub.StateC is not null) save.Add(new CopyOp(((Operand)sub.Directions[0].Aux!).Slice(lastC, rowsC), new StateOperand(sub.StateC)));
            }
            pass.Add(new WhenOp(Condition.CarriedState, save.ToEquatableArray(), EquatableArray<Op>.Empty));
        }
        SubLayerPlan top = layer.SubLayers[layer.SubLayers.Count - 1];
        if (!l.OutIsSequence)
            pass.Add(new KernelOp(Kernels.Layout, "GatherLastStep", top.Y, layer.Out, batch, steps, hidden, directions, new LengthsOperand()) { Note = "many-to-one: the final hidden state of each direction" });
        else
        {
            if (top.Y != layer.Out) pass.Add(new CopyOp(top.Y, layer.Out, "the states keep the reverse direction's initial state in the padding; the output does not"));
            pass.Add(new WhenOp(Condition.Padded, new KernelOp(Kernels.Layout, "MaskSteps", layer.Out, new LengthsOperand(Always: true), batch, steps, ScalarOperand.Of(l.OutWidth)) { Note = "padded steps output zeros" }));
        }

        pass.Backward();
        if (!l.OutIsSequence) pass.Add(new KernelOp(Kernels.Layout, "ScatterLastStep", layer.Dy, top.DY, batch, steps, hidden, directions, new LengthsOperand()));
        else pass.Add(new WhenOp(Condition.Padded, new KernelOp(Kernels.Layout, "MaskSteps", layer.Dy, new LengthsOperand(Always: true), batch, steps, ScalarOperand.Of(l.OutWidth))));
        for (int i = layer.SubLayers.Count - 1; i >= 0; i--)
        {
            SubLayerPlan sub = layer.SubLayers[i];
            if (sub.FinalH is not null)
            {
                pass.Comment($"an encoder: the gradient of layer {sub.Index}'s final hidden states, from the decoder they started");
                foreach (DirectionPlan d in sub.Directions)
                {
                    Operand offset = ScalarOperand.Of(d.Reverse ? R : 0), width = ScalarOperand.Of(D * R);
                    pass.Add(new WhenOp(Condition.InjectFinal, new KernelOp(Kernels.Layout, "AddToFinalState", sub.FinalH.Grad, width, offset, sub.DY, width, offset,
                        batch, steps, hidden, ScalarOperand.Of(d.Reverse), new LengthsOperand())));
                }
            }
            if (sub.DX is not null)
            {
                Op clear = new ClearOp(sub.DX, D == 2 ? "both directions add into dx" : "the cell adds into dx");
                // a pass that folds the token table adds nothing to the embedding's vectors, which nothing then reads
                pass.Add(i == 0 && layer.Tokens is { VectorsOnlyUnfolded: true } ? new WhenOp(Condition.TokenVectors, clear) : clear);
            }
            foreach (DirectionPlan d in sub.Directions) pass.Add(new RecurrenceOp(layer.Signature(d), sub, d, layer.Scratch, Backward: true, layer.Feed, layer.Tokens));
            if (i > 0 && layer.SubLayers[i - 1].Mask is { } mask)
                pass.Add(new MultiplyOp(sub.DX!, mask, sub.DX!, $"through the dropout between layer {i - 1} and {i}"));
        }
        return pass.Build();
    }

    /// <summary>An encoder's final states: each direction's state at its last step, gathered after the forward pass.</summary>
    private static EquatableArray<Op> FinalStates(RecurrentPlan layer)
    {
        int H = layer.Hidden, R = layer.StateWidth, D = layer.Layer.Directions;
        var ops = new List<Op>();
        Operand steps = ScalarOperand.Of(new Dim(1, Steps: 1)), batch = ScalarOperand.Of(Dim.B), hidden = ScalarOperand.Of(H), width = ScalarOperand.Of(D * R);
        Operand cellWidth = ScalarOperand.Of(D * H), stateWidth = ScalarOperand.Of(R);
        foreach (SubLayerPlan sub in layer.SubLayers.Where(x => x.FinalH is not null))
        {
            ops.Add(new CommentOp($"{layer.Name} layer {sub.Index}'s final states, each direction's at its last step"));
            foreach (DirectionPlan d in sub.Directions)
            {
                Operand offset = ScalarOperand.Of(d.Reverse ? R : 0), cellOffset = ScalarOperand.Of(d.Reverse ? H : 0), reverse = ScalarOperand.Of(d.Reverse);
                ops.Add(new KernelOp(Kernels.Layout, "GatherFinalState", sub.Y, width, offset, sub.FinalH!.State, width, offset, batch, steps, stateWidth, reverse, new LengthsOperand()));
                if (sub.FinalC is not null)
                    ops.Add(new KernelOp(Kernels.Layout, "GatherFinalState", d.Aux!, hidden, ScalarOperand.Of(0), sub.FinalC.State, cellWidth, cellOffset, batch, steps, hidden, reverse, new LengthsOperand()));
            }
        }
        return ops.ToEquatableArray();
    }

    // ---- the cell: what each kind supplies ----

    /// <summary>The comment on the gates buffer.</summary>
    protected virtual string GatesComment => "gate activations";

    /// <summary>The name of the kind's per-step buffer (LSTM "cell", GRU "hn" or "rh"), or null for none.</summary>
    protected virtual string? AuxName(TSpec spec) => null;

    protected virtual string AuxComment(TSpec spec) => "";

    /// <summary>A constant over part of the input bias (LSTM's forget-gate bias), or null; <paramref name="drawn"/>: the biases are drawn as PyTorch's.</summary>
    protected virtual ParamFill? InputBiasFill(TSpec spec, bool drawn) => null;

    /// <summary>True when back-propagation keeps the gradient of the recurrent gate inputs apart (GRU reset-after).</summary>
    protected virtual bool NeedsSecondGateGradient(TSpec spec) => false;

    /// <summary>True when the cell carries a second gradient back through time (LSTM's dc, Cho GRU's d(r ⊙ h)).</summary>
    protected virtual bool NeedsSecondCarry(TSpec spec) => spec.HasCellState;

    public abstract string Describe(RecurrentSpec spec);

    public abstract string ForwardComment(RecurrentSpec spec);

    public virtual bool BiasHhInGates(RecurrentSpec spec) => true;

    public virtual void EmitPack(RecurrentSpec spec, CellWriter c, bool backward)
    {
        c.W.Line(backward
            ? $"if (prepacked) {Names.Gemm}.PackB(G, {c.R}, w_hh, {c.R}, transposed: false, packed);"
            : $"if (prepacked) {Names.Gemm}.PackB({c.R}, G, w_hh, {c.R}, transposed: true, packed);");
    }

    public abstract void EmitForwardStep(RecurrentSpec spec, CellWriter c);

    public abstract void EmitBackwardStep(RecurrentSpec spec, CellWriter c);

    /// <summary>dW_hh (+ db_hh) from the gate gradients of every step at once; see <see cref="CellWriter"/> for the buffers.</summary>
    public virtual void EmitRecurrentWeightGradients(RecurrentSpec spec, CellWriter c)
    {
        c.DefaultRecurrentWeightGradients("dg", "G");
        c.BiasGradient("dg");
    }

    /// <summary>
    /// A step's extra gradient rows a padded step clears (GRU reset-after its second gate gradient, a projected LSTM its
    /// projection's): the buffer from the step's first row, and the row width (also the rows' distance); null for none.
    /// </summary>
    public virtual (string Rows, string Width)? PaddedStepClear(RecurrentSpec spec) => null;

    public bool HasAux(RecurrentSpec spec) => AuxName((TSpec)spec) is not null;

    public RecurrentPlan WithFeed(RecurrentPlan plan, FeedStep feed)
    {
        RecurrentPlan fed = plan with { Feed = feed };
        return fed with { Passes = Passes(fed) };
    }

    public bool HasSecondGateGradient(RecurrentSpec spec) => NeedsSecondGateGradient((TSpec)spec);

    public bool HasSecondCarry(RecurrentSpec spec) => NeedsSecondCarry((TSpec)spec);
}

/// <summary>The cell of a recurrent kind, as the shared time loop (<see cref="RecurrentEmitter"/>) calls it.</summary>
internal interface IRecurrentCell
{
    string Describe(RecurrentSpec spec);

    string ForwardComment(RecurrentSpec spec);

    /// <summary>True when b_hh joins the input projection (not for GRU, whose b_hn sits inside the reset).</summary>
    bool BiasHhInGates(RecurrentSpec spec);

    bool HasAux(RecurrentSpec spec);

    bool HasSecondGateGradient(RecurrentSpec spec);

    bool HasSecondCarry(RecurrentSpec spec);

    void EmitPack(RecurrentSpec spec, CellWriter c, bool backward);

    void EmitForwardStep(RecurrentSpec spec, CellWriter c);

    void EmitBackwardStep(RecurrentSpec spec, CellWriter c);

    void EmitRecurrentWeightGradients(RecurrentSpec spec, CellWriter c);

    (string Rows, string Width)? PaddedStepClear(RecurrentSpec spec);

    /// <summary>The layer with input feeding from the attention layer after it: its time loop runs the attention's step.</summary>
    RecurrentPlan WithFeed(RecurrentPlan plan, FeedStep feed);
}
