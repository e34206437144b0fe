using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Attention;

/// <summary>The score of a classic attention layer, with the parameters and buffers that score has.</summary>
internal abstract record ClassicScore;

/// <summary>x·k (Dot) or x·k/√Q (ScaledDot): no parameters.</summary>
internal sealed record DotScore(bool Scaled, float Scale) : ClassicScore;

/// <summary>
/// Luong's general score x·W·k: the keys memory·Wᵀ are computed once (<see cref="Keys"/>); pooling has a learned
/// <see cref="Query"/>, copied to every sequence (<see cref="Queries"/>).
/// </summary>
internal sealed record GeneralScore(ParamRef Weight, BufferRef Keys, BufferRef DKeys, ParamRef? Query, BufferRef? Queries, BufferRef? DQueries) : ClassicScore;

/// <summary>
/// Bahdanau's additive score vᵀ tanh(W_q x + b_q + W_k k) with <see cref="Units"/> hidden units; pooling has no query
/// projection, its learned <see cref="KeyBias"/> plays the query's part.
/// </summary>
internal sealed record AdditiveScore(int Units, ParamRef? QueryWeight, ParamRef? QueryBias, ParamRef KeyWeight, ParamRef? KeyBias, ParamRef V,
    BufferRef Q, BufferRef DQ, BufferRef K, BufferRef DK, BufferRef Hidden) : ClassicScore;

/// <summary>
/// Classic attention, one head: over an encoder's outputs (cross), over the layer's own steps (self; output [x; context])
/// or from a learned query (pooling; output the context). <see cref="DIn"/> is always set (a buffer of its own when
/// nothing upstream learns: the keys' gradients add into it).
/// </summary>
internal sealed record ClassicAttentionPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    ClassicScore Score, BufferRef Scratch, BufferRef? Context, BufferRef? DContext, bool Cross, bool Pool, bool Causal, BufferRef? Mask = null, float Dropout = 0f,
    StepCaches? Caches = null, CacheRef? ProjectedKeys = null)
    : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>
/// What causal self-attention keeps in the carried state to step: the inputs of every step taken (its values, and the
/// keys of the dot scores) and, for the General and Additive scores, their keys (x·Wᵀ, x·W_kᵀ).
/// </summary>
internal sealed record StepCaches(CacheRef Inputs, CacheRef? Keys, Operand Position, Operand Through);

/// <summary>Lowering and emission of the classic attention forms (Luong, Bahdanau).</summary>
internal static class ClassicAttention
{
    /// <summary>Width of the additive score's hidden layer: Units, or the query's width.</summary>
    public static int AdditiveUnits(AttentionSpec spec, int queryWidth) => spec.Units > 0 ? spec.Units : queryWidth;

    public static AttentionPlan Lower(ShapedLayer layer, AttentionSpec spec, LowerContext c)
    {
        int q = layer.InWidth, m = layer.KeyWidth;
        bool cross = layer.IsCrossAttention, pool = spec.Pool;
        Rows memoryRows = cross ? Rows.SourceBatch : Rows.StepsBatch;
        Rows queryRows = pool ? Rows.Batch1 : Rows.StepsBatch;
        Rows pairRows = cross ? Rows.StepsSourceBatch : pool ? Rows.StepsBatch : Rows.StepsSquaredBatch;
        string keys = cross ? "S" : "T", queries = pool ? "1" : "T";
        ParamInit PyTorch(int fanIn, int fanOut, int blockRows) => new(InitKind.PyTorch, fanIn, fanOut, blockRows, 1f / (float)Math.Sqrt(fanIn));

        ClassicScore score;
        switch (spec.Score)
        {
            case ScoreKind.General:
            {
                ParamRef? query = null;
                BufferRef? queriesBuffer = null, dQueries = null;
                if (pool)
                {
                    query = c.Vector("query", q, PyTorch(q, q, 1));
                    queriesBuffer = c.Own("queries", q, Rows.Batch1, BufferUse.Forward, $"the learned query, one row per sequence [B, {q}]");
                    dQueries = c.Own("dqueries", q, Rows.Batch1, BufferUse.Training, $"its gradient per sequence [B, {q}]");
                }
                ParamRef weight = c.Matrix("weight", q, m, PyTorch(m, q, q));
                BufferRef keysBuffer = c.Own("keys", q, memoryRows, BufferUse.Forward, $"the keys, memory·Wᵀ [{keys}, B, {q}]");
                BufferRef dKeys = c.Own("dkeys", q, memoryRows, BufferUse.Training, $"gradient of the keys [{keys}, B, {q}]");
                score = new GeneralScore(weight, keysBuffer, dKeys, query, queriesBuffer, dQueries);
                break;
            }
            case ScoreKind.Additive:
            {
                int a = AdditiveUnits(spec, q);
                ParamRef? wq = null, bq = null, bk = null;
                if (!pool)
                {
                    wq = c.Matrix("query.weight", a, q, PyTorch(q, a, a));
                    bq = c.Vector("query.bias", a, ParamInit.Zeros(q, a));
                }
                ParamRef wk = c.Matrix("key.weight", a, m, PyTorch(m, a, a));
                if (pool) bk = c.Vector("key.bias", a, ParamInit.Zeros(m, a));
                ParamRef v = c.Matrix("v.weight", 1, a, PyTorch(a, 1, 1));
                score = new AdditiveScore(a, wq, bq, wk, bk, v,
                    c.Own("q", a, queryRows, BufferUse.Forward, pool ? $"the key bias, one row per sequence [B, {a}]" : $"projected queries x·W_qᵀ + b_q [T, B, {a}]"),
                    c.Own("dq", a, queryRows, BufferUse.Training, $"their gradient [{queries}, B, {a}]"),
                    c.Own("k", a, memoryRows, BufferUse.Forward, $"projected keys m·W_kᵀ [{keys}, B, {a}]"),
                    c.Own("dk", a, memoryRows, BufferUse.Training, $"their gradient [{keys}, B, {a}]"),
                    c.Own("hidden", a, pairRows, BufferUse.Forward, $"tanh(q[t] + k[s]) [B, {queries}, {keys}, {a}]"));
                break;
            }
            case ScoreKind.ScaledDot:
            case ScoreKind.Dot:
                score = new DotScore(spec.Score == ScoreKind.ScaledDot, spec.Score == ScoreKind.Dot ? 1f : (float)(1.0 / Math.Sqrt(q)));
                break;
            default:
                throw new InvalidOperationException($"Layer '{layer.Name}': score {spec.Score} was not rejected by its options."); // DSL0007 makes the model invalid
        }
        BufferRef weights = c.Own("weights", 1, pairRows, BufferUse.Forward, $"attention weights (softmax over the keys) [B, {queries}, {keys}]");
        BufferRef scratch = c.Own("scratch", 1, cross ? Rows.StepsSourceBatch : pool ? Rows.StepsBatch : Rows.StepsSquared, BufferUse.Training, $"scratch, d(scores) [{queries}, {keys}]");
        BufferRef? mask = spec.Dropout > 0f
            ? c.Own("weights_mask", 1, pairRows, BufferUse.Training, $"dropout mask on the attention weights [B, {queries}, {keys}]")
            : null;
        BufferRef? context = null, dContext = null;
        if (!pool)
        {
            context = c.Own("context", m, Rows.Of(layer.OutIsSequence), BufferUse.Forward, $"the context Σ_s a[t, s]·k[s] [T, B, {m}]");
            dContext = c.Own("dcontext", m, Rows.Of(layer.OutIsSequence), BufferUse.Training, $"gradient of the context [T, B, {m}]");
        }
        BufferRef dIn = c.DIn ?? c.Own("dx", q, Rows.Of(layer.InIsSequence), BufferUse.Training, $"gradient of the input, unused upstream [T, B, {q}]");
        var (output, dOutput) = c.Output(pool ? "the pooled context" : "[x; context]");
        bool causal = !cross && !pool && spec.Causal;
        StepCaches? caches = null;
        if (causal)
        {
            int keyWidth = score switch { GeneralScore => q, AdditiveScore a => a.Units, _ => 0 };
            caches = new StepCaches(c.Cache("inputs", q, $"inputs of every step taken [steps, B, {q}]"),
                keyWidth > 0 ? c.Cache("keys", keyWidth, $"keys of every step taken [steps, B, {keyWidth}]") : null, c.Position(), c.Position(throughPass: true));
        }
        // the keys a cross-attention's General or Additive score projects from the encoder's outputs: once per sequence when stepping
        int projected = !cross ? 0 : score switch { GeneralScore => q, AdditiveScore a => a.Units, _ => 0 };
        CacheRef? projectedKeys = projected > 0 ? c.MemoryCache("memory_keys", projected, $"the encoder's outputs as keys [S, B, {projected}], kept from the first step") : null;
        var plan = new ClassicAttentionPlan(layer, c.In, dIn, output, dOutput, weights, score, scratch, context, dContext, cross, pool, causal, mask, spec.Dropout, caches, projectedKeys);
        Passes passes = Passes(plan, q, m);
        if (spec.InputFeeding && InputFeeding.Attach(plan, c, q, m) is { } fedState)
        {
            // the context of the pass's last step is what the next pass feeds its first step
            Op keep = new WhenOp(Condition.CarriedState, new CopyOp(((Operand)context!).Slice(new Dim(m, Batch: 1, PreviousSteps: 1), new Dim(m, Batch: 1)),
                new StateOperand(fedState), "the context fed to the next step"));
            passes = passes with { Forward = passes.Forward.Append(keep).ToEquatableArray() };
        }
        return plan with { Passes = passes };
    }

    /// <summary>The keys' projection: of an encoder's outputs once per sequence of a stepping decoder (<see cref="ProjectedMemory"/>), else as it is.</summary>
    private static Op OncePerSequence(ClassicAttentionPlan p, Op project, BufferRef keys) =>
        p.ProjectedKeys is { } kept ? ProjectedMemory.Once((project, keys, kept)) : project;

    /// <summary>The forward and backward ops of a classic attention layer, per score.</summary>
    private static Passes Passes(ClassicAttentionPlan p, int q, int m)
    {
        ShapedLayer l = p.Layer;
        bool cross = p.Cross, pool = p.Pool;
        Operand x = p.In, dx = p.DIn!;
        Operand mem = cross ? new MemoryOperand(false) : x, dmem = cross ? new MemoryOperand(true) : dx;
        Operand lengths = new LengthsOperand(OfMemory: cross);
        Operand steps = ScalarOperand.Of(pool ? Dim.One : new Dim(1, Steps: 1)), keySteps = ScalarOperand.Of(cross ? new Dim(1, Source: 1) : new Dim(1, Steps: 1));
        Operand batch = ScalarOperand.Of(Dim.B), queryWidth = ScalarOperand.Of(q), keyWidth = ScalarOperand.Of(m);
        Dim memoryRows = cross ? Dim.SB : Dim.TB;
        // optional kernel arguments: the causal mask, and dropout on the weights (a fresh mask per training pass)
        var forwardOptions = new System.Collections.Generic.List<Operand>();
        var backwardOptions = new System.Collections.Generic.List<Operand>();
        if (p.Causal)
        {
            forwardOptions.Add(new ScalarOperand("causal: true"));
            backwardOptions.Add(new ScalarOperand("causal: true"));
        }
        if (p.Mask is not null)
        {
            forwardOptions.Add(new NamedOperand("mask", new TrainingOnlyOperand(p.Mask)));
            backwardOptions.Add(new NamedOperand("mask", p.Mask));
        }
        Operand[] causal = forwardOptions.ToArray(), causalBack = backwardOptions.ToArray();
        var general = p.Score as GeneralScore;
        Operand xq = general?.Queries is { } queries ? queries : x, dxq = general?.DQueries is { } dQueries ? dQueries : dx;
        Operand context = p.Context is { } ctx ? ctx : p.Out, dContext = p.DContext is { } dctx ? dctx : p.Dy;
        string scoreText = p.Score switch
        {
            DotScore { Scaled: true } => $"x·k / √{q} (scaled dot)",
            DotScore => "x·k (dot)",
            GeneralScore => "x·W·k (Luong's general)",
            _ => pool ? "vᵀ tanh(W_k k + b_k) (additive)" : "vᵀ tanh(W_q x + b_q + W_k k) (Bahdanau's additive)",
        };
        string what = cross ? $"the outputs k of {l.MemoryModel} [S, B, {m}]" : pool ? $"the sequence k [T, B, {m}] from a learned query" : $"its own steps k [T, B, {m}]{(p.Causal ? ", causal" : "")}";
        var pass = new PassBuilder()
            .Doc($"// {l.Name}: {EmitContext.Shape(l.InIsSequence, l.InWidth)} -> {EmitContext.Shape(l.OutIsSequence, l.OutWidth)}, attention over {what}, score {scoreText}:")
            .Doc(pool ? "// a = softmax_t(score(query, k[t])) over the valid steps; out = Σ_t a[t] k[t]"
                : "// a[t] = softmax_s(score(x[t], k[s])) over the valid steps; out[t] = [x[t]; Σ_s a[t, s] k[s]]");
        // the attention proper, and (causal self-attention) the same over the caches of the steps a carried state has taken
        Op attend, stepping;
        Operand keysOfPass = mem;
        if (p.Mask is not null) pass.Doc($"// training: the context is made of a ⊙ mask (dropout p = {SourceWriter.Float(p.Dropout)} on the weights)").Add(new DropoutMaskOp(p.Mask, p.Dropout));
        StepCaches? k = p.Caches;
        Operand inputs = k is null ? Operand.None : new CacheOperand(k.Inputs), keyCache = k?.Keys is { } kc ? new CacheOperand(kc) : inputs;
        Operand[] cachedOptions = k is null ? [] : [new ScalarOperand("causal: true"), new NamedOperand("position", k.Position)];
        Operand through = k?.Through ?? Operand.None;
        switch (p.Score)
        {
            case DotScore dot:
                attend = new KernelOp(Kernels.CrossAttention, "DotForward", [steps, keySteps, batch, queryWidth, keyWidth, ScalarOperand.Of(dot.Scale), lengths, xq, mem, mem, p.Weights, context, .. causal]);
                stepping = new KernelOp(Kernels.CrossAttention, "DotForward", [steps, through, batch, queryWidth, keyWidth, ScalarOperand.Of(dot.Scale), Operand.None, xq, inputs, inputs, p.Weights, context, .. cachedOptions]);
                break;
            case GeneralScore g:
                if (g.Query is not null) pass.Add(new RepeatRowsOp(g.Query.Values, q, g.Queries!, "the learned query, for every sequence"));
                pass.Add(OncePerSequence(p, new MatMulOp(memoryRows, q, m, mem, false, g.Weight.Values, true, g.Keys, false, "keys = memory·Wᵀ"), g.Keys));
                keysOfPass = g.Keys;
                attend = new KernelOp(Kernels.CrossAttention, "DotForward", [steps, keySteps, batch, queryWidth, keyWidth, ScalarOperand.Of(1f), lengths, xq, g.Keys, mem, p.Weights, context, .. causal]);
                stepping = new KernelOp(Kernels.CrossAttention, "DotForward", [steps, through, batch, queryWidth, keyWidth, ScalarOperand.Of(1f), Operand.None, xq, keyCache, inputs, p.Weights, context, .. cachedOptions]);
                break;
            case AdditiveScore a:
                if (a.KeyBias is not null) pass.Add(new RepeatRowsOp(a.KeyBias.Values, a.Units, a.Q, "the learned query, for every sequence"));
                if (a.QueryWeight is not null) pass.Affine(Dim.TB, a.Units, q, x, a.QueryWeight, a.QueryBias!, a.Q);
                pass.Add(OncePerSequence(p, new MatMulOp(memoryRows, a.Units, m, mem, false, a.KeyWeight.Values, true, a.K, false), a.K));
                keysOfPass = a.K;
                attend = new KernelOp(Kernels.CrossAttention, "AdditiveForward", [steps, keySteps, batch, ScalarOperand.Of(a.Units), keyWidth, lengths, a.Q, a.K, a.V.Values, mem, a.Hidden, p.Weights, context, .. causal]);
                stepping = new KernelOp(Kernels.CrossAttention, "AdditiveForward", [steps, through, batch, ScalarOperand.Of(a.Units), keyWidth, Operand.None, a.Q, keyCache, a.V.Values, inputs, a.Hidden, p.Weights, context, .. cachedOptions]);
                break;
            default:
                throw new InvalidOperationException($"Layer '{l.Name}': no classic score {p.Score.GetType().Name}.");
        }
        if (k is null) pass.Add(attend);
        else
        {
            // a carried state keeps this pass's inputs (and keys) after those of the steps it has taken
            var append = new List<Op> { new KernelOp(Kernels.Layout, "AppendSteps", steps, batch, queryWidth, k.Position, x, inputs) };
            if (k.Keys is { } keys) append.Add(new KernelOp(Kernels.Layout, "AppendSteps", steps, batch, ScalarOperand.Of(keys.Width), k.Position, keysOfPass, keyCache));
            pass.Comment("stepping (inference from a carried state): keep this pass's inputs and keys, attend over every step taken");
            pass.Add(new WhenOp(Condition.SteppingState, new List<Op>(append) { stepping }.ToEquatableArray(),
                new Op[] { attend, new WhenOp(Condition.CarriedState, append.ToEquatableArray(), EquatableArray<Op>.Empty) }.ToEquatableArray()));
        }
        if (!pool) pass.Add(new KernelOp(Kernels.CrossAttention, "Concat", ScalarOperand.Of(Dim.TB), queryWidth, keyWidth, x, context, p.Out));

        pass.Backward().Doc($"// {l.Name} backward: {(pool ? "" : "dx and d(context) from the output, then ")}through the softmax and the score; {(cross ? "the memory's gradient adds into the encoder's" : "keys and values are x: their gradients add into dx")}");
        if (pool) pass.Add(new ClearOp(dx, "x is only keys and values here: every part of its gradient adds up below"));
        else pass.Add(new KernelOp(Kernels.CrossAttention, "Split", ScalarOperand.Of(Dim.TB), queryWidth, keyWidth, p.Dy, dx, dContext));
        switch (p.Score)
        {
            case DotScore dot:
                pass.Add(new KernelOp(Kernels.CrossAttention, "DotBackward", [steps, keySteps, batch, queryWidth, keyWidth, ScalarOperand.Of(dot.Scale), lengths, xq, mem, mem, p.Weights, dContext,
                    dxq, dmem, dmem, p.Scratch, .. causalBack]));
                break;
            case GeneralScore g:
                pass.Add(new ClearOp(g.DKeys));
                if (g.DQueries is not null) pass.Add(new ClearOp(g.DQueries));
                pass.Add(new KernelOp(Kernels.CrossAttention, "DotBackward", [steps, keySteps, batch, queryWidth, keyWidth, ScalarOperand.Of(1f), lengths, xq, g.Keys, mem, p.Weights, dContext,
                    dxq, g.DKeys, dmem, p.Scratch, .. causalBack]));
                pass.Comment("keys = memory·Wᵀ: dW += dkeysᵀ·memory; d(memory) += dkeys·W");
                pass.Add(new MatMulOp(q, m, memoryRows, g.DKeys, true, mem, false, g.Weight.Gradient, true));
                pass.Add(new MatMulOp(memoryRows, m, q, g.DKeys, false, g.Weight.Values, false, dmem, true));
                if (g.Query is not null) pass.Add(new ColumnSumsOp(g.DQueries!, Dim.B, g.Query.Gradient, "the one query serves every sequence"));
                break;
            case AdditiveScore a:
                pass.Add(new ClearOp(a.DQ)).Add(new ClearOp(a.DK));
                pass.Add(new KernelOp(Kernels.CrossAttention, "AdditiveBackward", [steps, keySteps, batch, ScalarOperand.Of(a.Units), keyWidth, lengths, a.V.Values, mem, a.Hidden, p.Weights, dContext,
                    a.DQ, a.DK, a.V.Gradient, dmem, p.Scratch, .. causalBack]));
                if (a.KeyBias is not null)
                {
                    pass.Add(new ColumnSumsOp(a.DQ, Dim.B, a.KeyBias.Gradient, "the bias serves every sequence"));
                }
                else
                {
                    pass.Comment("q = x·W_qᵀ + b_q: dW_q += dqᵀ·x, db_q += Σ dq, dx += dq·W_q");
                    pass.Add(new MatMulOp(a.Units, q, Dim.TB, a.DQ, true, x, false, a.QueryWeight!.Gradient, true));
                    pass.Add(new ColumnSumsOp(a.DQ, Dim.TB, a.QueryBias!.Gradient));
                    pass.Add(new MatMulOp(Dim.TB, q, a.Units, a.DQ, false, a.QueryWeight.Values, false, dx, true));
                }
                pass.Comment("k = memory·W_kᵀ: dW_k += dkᵀ·memory, d(memory) += dk·W_k");
                pass.Add(new MatMulOp(a.Units, m, memoryRows, a.DK, true, mem, false, a.KeyWeight.Gradient, true));
                pass.Add(new MatMulOp(memoryRows, m, a.Units, a.DK, false, a.KeyWeight.Values, false, dmem, true));
                break;
        }
        return pass.Build();
    }
}
