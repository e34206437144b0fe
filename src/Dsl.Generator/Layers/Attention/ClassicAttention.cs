using System;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

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
    ClassicScore Score, BufferRef Scratch, BufferRef? Context, BufferRef? DContext, bool Cross, bool Pool, bool Causal)
    : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>Lowering and emission of the classic attention forms (Luong, Bahdanau).</summary>
internal static class ClassicAttention
{
    private const string Kernel = "global::Dsl.Kernels.CrossAttentionKernel";

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
            default:
                score = new DotScore(spec.Score == ScoreKind.ScaledDot, spec.Score == ScoreKind.Dot ? 1f : (float)(1.0 / Math.Sqrt(q)));
                break;
        }
        BufferRef weights = c.Own("weights", 1, pairRows, BufferUse.Forward, $"attention weights (softmax over the keys) [B, {queries}, {keys}]");
        BufferRef scratch = c.Own("scratch", 1, cross ? Rows.StepsSourceBatch : pool ? Rows.StepsBatch : Rows.StepsSquared, BufferUse.Training, $"scratch, d(scores) [{queries}, {keys}]");
        BufferRef? context = null, dContext = null;
        if (!pool)
        {
            context = c.Own("context", m, Rows.Of(layer.OutIsSequence), BufferUse.Forward, $"the context Σ_s a[t, s]·k[s] [T, B, {m}]");
            dContext = c.Own("dcontext", m, Rows.Of(layer.OutIsSequence), BufferUse.Training, $"gradient of the context [T, B, {m}]");
        }
        BufferRef dIn = c.DIn ?? c.Own("dx", q, Rows.Of(layer.InIsSequence), BufferUse.Training, $"gradient of the input, unused upstream [T, B, {q}]");
        var (output, dOutput) = c.Output(pool ? "the pooled context" : "[x; context]");
        return new ClassicAttentionPlan(layer, c.In, dIn, output, dOutput, weights, score, scratch, context, dContext, cross, pool, !cross && !pool && spec.Causal);
    }

    public static void Emit(ClassicAttentionPlan p, EmitContext c)
    {
        var w = c.W;
        ShapedLayer l = p.Layer;
        int q = l.InWidth, m = l.KeyWidth;
        bool cross = p.Cross, pool = p.Pool;
        string n = p.Name;
        string scoreText = p.Score switch
        {
            DotScore { Scaled: true } => $"x·k / √{q} (scaled dot)",
            DotScore => "x·k (dot)",
            GeneralScore => "x·W·k (Luong's general)",
            _ => pool ? "vᵀ tanh(W_k k + b_k) (additive)" : "vᵀ tanh(W_q x + b_q + W_k k) (Bahdanau's additive)",
        };
        string dx = p.DIn!.Ws;
        string mem = cross ? "memory.Memory.Span" : p.In.Ws, dmem = cross ? "memory.MemoryGradient.Span" : dx;
        string lengths = cross ? "memory.Lengths" : WsLengths;
        string causal = p.Causal ? ", causal: true" : "";
        string steps = pool ? "1" : "T";
        var general = p.Score as GeneralScore;
        string xq = general?.Queries is { } queries ? queries.Ws : p.In.Ws, dxq = general?.DQueries is { } dQueries ? dQueries.Ws : dx;
        string context = p.Context?.Ws ?? p.Out.Ws, dContext = p.DContext?.Ws ?? p.Dy.Ws;
        string what = cross ? $"the outputs k of {l.MemoryModel} [S, B, {m}]" : pool ? $"the sequence k [T, B, {m}] from a learned query" : $"its own steps k [T, B, {m}]{(p.Causal ? ", causal" : "")}";
        w.Line($"// {n}: {EmitContext.Shape(l.InIsSequence, l.InWidth)} -> {EmitContext.Shape(l.OutIsSequence, l.OutWidth)}, attention over {what}, score {scoreText}:");
        w.Line(pool ? "// a = softmax_t(score(query, k[t])) over the valid steps; out = Σ_t a[t] k[t]"
            : "// a[t] = softmax_s(score(x[t], k[s])) over the valid steps; out[t] = [x[t]; Σ_s a[t, s] k[s]]");

        void Locals()
        {
            w.Line(p.Score is AdditiveScore && pool ? $"const int M = {m};" : $"const int Q = {q}, M = {m};"); // additive pooling has no query width
            w.Line($"int B = ws.B, T = ws.T, S = {(cross ? "ws.S" : "ws.T")};");
            if (cross) w.Line("global::Dsl.EncoderOutput memory = ws.Memory!;");
            if (p.Score is AdditiveScore additive) w.Line($"const int A = {additive.Units};");
        }

        c.OpenForward(p);
        Locals();
        switch (p.Score)
        {
            case DotScore dot:
                w.Line($"{Kernel}.DotForward({steps}, S, B, Q, M, {SourceWriter.Float(dot.Scale)}, {lengths}, {xq}, {mem}, {mem}, {p.Weights.Ws}, {context}{causal});");
                break;
            case GeneralScore g:
                if (g.Query is not null) w.Line($"for (int b = 0; b < B; b++) {g.Query.Value}.CopyTo({g.Queries!.Ws}.Slice(b * Q, Q)); // the learned query, for every sequence");
                w.Line($"{Gemm}.MatMulTransB(S * B, Q, M, {mem}, M, {g.Weight.Value}, M, {g.Keys.Ws}, Q, accumulate: false); // keys = memory·Wᵀ");
                w.Line($"{Kernel}.DotForward({steps}, S, B, Q, M, 1f, {lengths}, {xq}, {g.Keys.Ws}, {mem}, {p.Weights.Ws}, {context}{causal});");
                break;
            case AdditiveScore a:
                if (a.KeyBias is not null) w.Line($"for (int b = 0; b < B; b++) {a.KeyBias.Value}.CopyTo({a.Q.Ws}.Slice(b * A, A)); // the learned query, for every sequence");
                if (a.QueryWeight is not null) c.Affine("T * B", "A", "Q", p.In.Ws, a.QueryWeight, a.QueryBias!, a.Q.Ws);
                w.Line($"{Gemm}.MatMulTransB(S * B, A, M, {mem}, M, {a.KeyWeight.Value}, M, {a.K.Ws}, A, accumulate: false);");
                w.Line($"{Kernel}.AdditiveForward({steps}, S, B, A, M, {lengths}, {a.Q.Ws}, {a.K.Ws}, {a.V.Value}, {mem}, {a.Hidden.Ws}, {p.Weights.Ws}, {context}{causal});");
                break;
        }
        if (!pool) w.Line($"{Kernel}.Concat(T * B, Q, M, {p.In.Ws}, {context}, {p.Out.Ws});");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: {(pool ? "" : "dx and d(context) from the output, then ")}through the softmax and the score; {(cross ? "the memory's gradient adds into the encoder's" : "keys and values are x: their gradients add into dx")}");
        c.OpenBackward(p);
        Locals();
        if (pool) w.Line($"{dx}.Clear(); // x is only keys and values here: every part of its gradient adds up below");
        else w.Line($"{Kernel}.Split(T * B, Q, M, {p.Dy.Ws}, {dx}, {dContext});");
        switch (p.Score)
        {
            case DotScore dot:
                w.Line($"{Kernel}.DotBackward({steps}, S, B, Q, M, {SourceWriter.Float(dot.Scale)}, {lengths}, {xq}, {mem}, {mem}, {p.Weights.Ws}, {dContext},");
                w.Line($"    {dxq}, {dmem}, {dmem}, {p.Scratch.Ws}{causal});");
                break;
            case GeneralScore g:
                w.Line($"{g.DKeys.Ws}.Clear();");
                if (g.DQueries is not null) w.Line($"{g.DQueries.Ws}.Clear();");
                w.Line($"{Kernel}.DotBackward({steps}, S, B, Q, M, 1f, {lengths}, {xq}, {g.Keys.Ws}, {mem}, {p.Weights.Ws}, {dContext},");
                w.Line($"    {dxq}, {g.DKeys.Ws}, {dmem}, {p.Scratch.Ws}{causal});");
                w.Line("// keys = memory·Wᵀ: dW += dkeysᵀ·memory; d(memory) += dkeys·W");
                w.Line($"{Gemm}.MatMulTransA(Q, M, S * B, {g.DKeys.Ws}, Q, {mem}, M, {g.Weight.Grad}, M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, Q, {g.DKeys.Ws}, Q, {g.Weight.Value}, M, {dmem}, M, accumulate: true);");
                if (g.Query is not null) w.Line($"{Act}.AddColumnSums({g.DQueries!.Ws}, B, {g.Query.Grad}); // the one query serves every sequence");
                break;
            case AdditiveScore a:
                w.Line($"{a.DQ.Ws}.Clear();");
                w.Line($"{a.DK.Ws}.Clear();");
                w.Line($"{Kernel}.AdditiveBackward({steps}, S, B, A, M, {lengths}, {a.V.Value}, {mem}, {a.Hidden.Ws}, {p.Weights.Ws}, {dContext},");
                w.Line($"    {a.DQ.Ws}, {a.DK.Ws}, {a.V.Grad}, {dmem}, {p.Scratch.Ws}{causal});");
                if (a.KeyBias is not null)
                {
                    w.Line($"{Act}.AddColumnSums({a.DQ.Ws}, B, {a.KeyBias.Grad}); // the bias serves every sequence");
                }
                else
                {
                    w.Line("// q = x·W_qᵀ + b_q: dW_q += dqᵀ·x, db_q += Σ dq, dx += dq·W_q");
                    w.Line($"{Gemm}.MatMulTransA(A, Q, T * B, {a.DQ.Ws}, A, {p.In.Ws}, Q, {a.QueryWeight!.Grad}, Q, accumulate: true);");
                    w.Line($"{Act}.AddColumnSums({a.DQ.Ws}, T * B, {a.QueryBias!.Grad});");
                    w.Line($"{Gemm}.MatMul(T * B, Q, A, {a.DQ.Ws}, A, {a.QueryWeight.Value}, Q, {dx}, Q, accumulate: true);");
                }
                w.Line("// k = memory·W_kᵀ: dW_k += dkᵀ·memory, d(memory) += dk·W_k");
                w.Line($"{Gemm}.MatMulTransA(A, M, S * B, {a.DK.Ws}, A, {mem}, M, {a.KeyWeight.Grad}, M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, A, {a.DK.Ws}, A, {a.KeyWeight.Value}, M, {dmem}, M, accumulate: true);");
                break;
        }
        w.Close();
        w.Line();
    }
}
