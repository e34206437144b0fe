using System;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Layers.Attention;

/// <summary>nn.MultiheadAttention's projections: in_proj [3E, E] for queries, keys and values, out_proj [E, E].</summary>
internal sealed record Projections(ParamRef InWeight, ParamRef InBias, ParamRef OutWeight, ParamRef OutBias);

/// <summary>
/// Multi-head self-attention with q = k = v = x (nn.MultiheadAttention): <see cref="Qkv"/> holds the projected queries,
/// keys and values [T, B, 3E], <see cref="Context"/> the heads' outputs; <see cref="Mask"/> the dropout on the weights.
/// </summary>
internal sealed record SelfAttentionPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    Projections Projections, BufferRef Qkv, BufferRef DQkv, BufferRef Context, BufferRef DContext, BufferRef? Mask, int Heads, float Scale, bool Causal, float Dropout)
    : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>Attention pooling: a learned <see cref="QueryParam"/>, projected into <see cref="Query"/>, attends over the sequence.</summary>
internal sealed record AttentionPoolPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    Projections Projections, ParamRef QueryParam, BufferRef Query, BufferRef DQuery, BufferRef Qkv, BufferRef DQkv, BufferRef Context, BufferRef DContext,
    BufferRef Scratch, int Heads, float Scale) : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>Lowering and emission of the ScaledDot and Dot scores without Over: nn.MultiheadAttention, self or pooling.</summary>
internal static class MultiHeadAttention
{
    private const string Kernel = "global::Dsl.Kernels.AttentionKernel";

    public static AttentionPlan Lower(ShapedLayer layer, AttentionSpec spec, LowerContext c)
    {
        int e = layer.InWidth, heads = spec.Heads;
        float bound = 1f / (float)Math.Sqrt(e);
        float scale = spec.Score == Parsing.ScoreKind.Dot ? 1f : (float)(1.0 / Math.Sqrt(e / heads));
        var projections = new Projections(
            c.Matrix("in_proj_weight", 3 * e, e, new ParamInit(Parsing.InitKind.XavierUniform, e, 3 * e, 3 * e, bound)),
            c.Vector("in_proj_bias", 3 * e, ParamInit.Zeros(e, 3 * e)),
            c.Matrix("out_proj.weight", e, e, new ParamInit(Parsing.InitKind.PyTorch, e, e, e, bound)),
            c.Vector("out_proj.bias", e));
        string shape = EmitContext.Shape(layer.OutIsSequence, e);
        Rows outRows = Rows.Of(layer.OutIsSequence);
        if (spec.Pool)
        {
            ParamRef queryParam = c.Vector("query", e, new ParamInit(Parsing.InitKind.PyTorch, e, e, 1, bound));
            BufferRef query = c.Own("query", e, Rows.One, BufferUse.Forward, $"the learned query, projected [{e}]");
            BufferRef dQuery = c.Own("dquery", e, Rows.One, BufferUse.Training, $"gradient of the projected query [{e}]");
            BufferRef qkv = c.Own("qkv", 3 * e, Rows.StepsBatch, BufferUse.Forward, $"queries, keys and values [T, B, {3 * e}]");
            BufferRef weights = c.Own("weights", heads, Rows.StepsBatch, BufferUse.Forward, $"pooling weights (softmax) [B, {heads}, T]");
            BufferRef context = c.Own("context", e, outRows, BufferUse.Forward, $"the heads' outputs, concatenated {shape}");
            BufferRef dContext = c.Own("dcontext", e, outRows, BufferUse.Training, $"gradient of the heads' outputs {shape}");
            BufferRef dQkv = c.Own("dqkv", 3 * e, Rows.StepsBatch, BufferUse.Training, $"gradient of the queries, keys and values [T, B, {3 * e}]");
            BufferRef scratch = c.Own("scratch", 2, Rows.StepsBatch, BufferUse.Training, "scratch [2, T]");
            var (pooled, dPooled) = c.Output("attention output");
            return new AttentionPoolPlan(layer, c.In, c.DIn, pooled, dPooled, weights, projections, queryParam, query, dQuery, qkv, dQkv, context, dContext, scratch, heads, scale);
        }
        BufferRef selfQkv = c.Own("qkv", 3 * e, Rows.StepsBatch, BufferUse.Forward, $"queries, keys and values [T, B, {3 * e}]");
        BufferRef selfWeights = c.Own("weights", heads, Rows.StepsSquaredBatch, BufferUse.Forward, $"attention weights (softmax) [B, {heads}, T, T]");
        BufferRef? mask = spec.Dropout > 0f
            ? c.Own("weights_mask", heads, Rows.StepsSquaredBatch, BufferUse.Training, $"dropout mask on the attention weights [B, {heads}, T, T]")
            : null;
        BufferRef selfContext = c.Own("context", e, outRows, BufferUse.Forward, $"the heads' outputs, concatenated {shape}");
        BufferRef selfDContext = c.Own("dcontext", e, outRows, BufferUse.Training, $"gradient of the heads' outputs {shape}");
        BufferRef selfDQkv = c.Own("dqkv", 3 * e, Rows.StepsBatch, BufferUse.Training, $"gradient of the queries, keys and values [T, B, {3 * e}]");
        var (output, dOutput) = c.Output("attention output");
        return new SelfAttentionPlan(layer, c.In, c.DIn, output, dOutput, selfWeights, projections, selfQkv, selfDQkv, selfContext, selfDContext, mask,
            heads, scale, spec.Causal, spec.Dropout);
    }

    public static void Emit(SelfAttentionPlan p, EmitContext c)
    {
        var w = c.W;
        Projections pr = p.Projections;
        int e = p.Layer.InWidth;
        string n = p.Name, scale = SourceWriter.Float(p.Scale), causal = p.Causal ? "true" : "false";
        w.Line($"// {n}: [T, B, {e}] -> [T, B, {e}], self-attention with {p.Heads} head(s){(p.Causal ? ", causal" : "")} (nn.MultiheadAttention; with lengths, padded keys are masked):");
        w.Line($"// [q, k, v] = x·W_inᵀ + b_in; per head A = softmax(q·kᵀ · {scale}); out = concat(A·v)·W_outᵀ + b_out");
        c.OpenForward(p);
        w.Line($"const int E = {e}, Heads = {p.Heads};");
        w.Line("int B = ws.B, T = ws.T;");
        c.Affine("T * B", "3 * E", "E", p.In.Ws, pr.InWeight, pr.InBias, p.Qkv.Ws);
        if (p.Mask is not null) w.Line($"if (training) {DropoutKernel}.Mask({p.Mask.Ws}, {SourceWriter.Float(p.Dropout)}, _dropoutRng);");
        string maskArg = p.Mask is null ? "default" : $"training ? {p.Mask.Ws} : default";
        w.Line($"{Kernel}.Forward(T, B, E, Heads, {scale}, causal: {causal}, {WsLengths}, {p.Qkv.Ws}, {p.Weights.Ws}, {maskArg}, {p.Context.Ws}, scratch: default);");
        c.Affine("T * B", "E", "E", p.Context.Ws, pr.OutWeight, pr.OutBias, p.Out.Ws);
        w.Close();
        w.Line();
        w.Line($"// {n} backward: through the output projection, the heads (softmax included) and the input projection");
        c.OpenBackward(p);
        w.Line($"const int E = {e}, Heads = {p.Heads};");
        w.Line("int B = ws.B, T = ws.T;");
        c.AffineBackward("T * B", "E", "E", p.Context.Ws, pr.OutWeight, pr.OutBias, p.Dy.Ws, p.DContext.Ws);
        w.Line($"{Kernel}.Backward(T, B, E, Heads, {scale}, causal: {causal}, {WsLengths}, {p.Qkv.Ws}, {p.Weights.Ws}, {p.Mask?.Ws ?? "default"}, {p.DContext.Ws}, {p.DQkv.Ws}, scratch: default);");
        c.AffineBackward("T * B", "3 * E", "E", p.In.Ws, pr.InWeight, pr.InBias, p.DQkv.Ws, p.DIn?.Ws);
        w.Close();
        w.Line();
    }

    public static void Emit(AttentionPoolPlan p, EmitContext c)
    {
        var w = c.W;
        Projections pr = p.Projections;
        int e = p.Layer.InWidth;
        string n = p.Name, scale = SourceWriter.Float(p.Scale);
        w.Line($"// {n}: [T, B, {e}] -> [B, {e}], attention pooling with {p.Heads} head(s): a learned query q = query·W_qᵀ + b_q attends over");
        w.Line($"// the keys x·W_kᵀ + b_k (steps below each length); out = concat(A·v)·W_outᵀ + b_out");
        c.OpenForward(p);
        w.Line($"const int E = {e}, Heads = {p.Heads};");
        w.Line("int B = ws.B, T = ws.T;");
        c.Affine("T * B", "3 * E", "E", p.In.Ws, pr.InWeight, pr.InBias, p.Qkv.Ws);
        w.Line($"{Gemm}.MatMulTransB(1, E, E, {p.QueryParam.Value}, E, {pr.InWeight.Value}, E, {p.Query.Ws}, E, accumulate: false);");
        w.Line($"{TP}.Add({p.Query.Ws}, {pr.InBias.Value}.Slice(0, E), {p.Query.Ws});");
        w.Line($"{Kernel}.PoolForward(T, B, E, Heads, {scale}, {WsLengths}, {p.Query.Ws}, {p.Qkv.Ws}, {p.Weights.Ws}, {p.Context.Ws});");
        c.Affine("B", "E", "E", p.Context.Ws, pr.OutWeight, pr.OutBias, p.Out.Ws);
        w.Close();
        w.Line();
        w.Line($"// {n} backward: through the output projection, the pooling (softmax included), the key/value projection and the query's");
        c.OpenBackward(p);
        w.Line($"const int E = {e}, Heads = {p.Heads};");
        w.Line("int B = ws.B, T = ws.T;");
        c.AffineBackward("B", "E", "E", p.Context.Ws, pr.OutWeight, pr.OutBias, p.Dy.Ws, p.DContext.Ws);
        w.Line($"{p.DQuery.Ws}.Clear();");
        w.Line($"{Kernel}.PoolBackward(T, B, E, Heads, {scale}, {WsLengths}, {p.Query.Ws}, {p.Qkv.Ws}, {p.Weights.Ws}, {p.DContext.Ws}, {p.DQkv.Ws}, {p.DQuery.Ws}, {p.Scratch.Ws});");
        c.AffineBackward("T * B", "3 * E", "E", p.In.Ws, pr.InWeight, pr.InBias, p.DQkv.Ws, p.DIn?.Ws);
        w.Line("// the query's projection: dW_q += dqᵀ·query, db_q += dq, dquery += dq·W_q");
        w.Line($"{Gemm}.MatMulTransA(E, E, 1, {p.DQuery.Ws}, E, {p.QueryParam.Value}, E, {pr.InWeight.Grad}, E, accumulate: true);");
        w.Line($"{TP}.Add({pr.InBias.Grad}.Slice(0, E), {p.DQuery.Ws}, {pr.InBias.Grad}.Slice(0, E));");
        w.Line($"{Gemm}.MatMul(1, E, E, {p.DQuery.Ws}, E, {pr.InWeight.Value}, E, {p.QueryParam.Grad}, E, accumulate: true);");
        w.Close();
        w.Line();
    }
}
