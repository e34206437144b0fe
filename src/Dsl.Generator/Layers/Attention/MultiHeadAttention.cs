using System;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;

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
            Operand[] poolArgs = { ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(e), ScalarOperand.Of(heads), ScalarOperand.Of(scale) };
            Operand inBiasQ = projections.InBias.Values.Slice(0, e), inBiasGradQ = projections.InBias.Gradient.Slice(0, e);
            var pool = new PassBuilder()
                .Doc($"// {layer.Name}: [T, B, {e}] -> [B, {e}], attention pooling with {heads} head(s): a learned query q = query·W_qᵀ + b_q attends over")
                .Doc("// the keys x·W_kᵀ + b_k (steps below each length); out = concat(A·v)·W_outᵀ + b_out")
                .Affine(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, qkv)
                .Add(new MatMulOp(1, e, e, queryParam.Values, false, projections.InWeight.Values, true, query, false))
                .Add(new AddOp(query, inBiasQ, query))
                .Add(new KernelOp(Kernels.Attention, "PoolForward", [.. poolArgs, new LengthsOperand(), query, qkv, weights, context]))
                .Affine(Dim.B, e, e, context, projections.OutWeight, projections.OutBias, pooled)
                .Backward()
                .Doc($"// {layer.Name} backward: through the output projection, the pooling (softmax included), the key/value projection and the query's")
                .AffineBackward(Dim.B, e, e, context, projections.OutWeight, projections.OutBias, dPooled, dContext)
                .Add(new ClearOp(dQuery))
                .Add(new KernelOp(Kernels.Attention, "PoolBackward", [.. poolArgs, new LengthsOperand(), query, qkv, weights, dContext, dQkv, dQuery, scratch]))
                .AffineBackward(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, dQkv, c.DIn)
                .Comment("the query's projection: dW_q += dqᵀ·query, db_q += dq, dquery += dq·W_q")
                .Add(new MatMulOp(e, e, 1, dQuery, true, queryParam.Values, false, projections.InWeight.Gradient, true))
                .Add(new AddOp(inBiasGradQ, dQuery, inBiasGradQ))
                .Add(new MatMulOp(1, e, e, dQuery, false, projections.InWeight.Values, false, queryParam.Gradient, true));
            return new AttentionPoolPlan(layer, c.In, c.DIn, pooled, dPooled, weights, projections, queryParam, query, dQuery, qkv, dQkv, context, dContext, scratch, heads, scale)
                { Passes = pool.Build() };
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
        Operand[] args = { ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(e), ScalarOperand.Of(heads), ScalarOperand.Of(scale),
            ScalarOperand.Of(spec.Causal), new LengthsOperand(), selfQkv, selfWeights };
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {e}] -> [T, B, {e}], self-attention with {heads} head(s){(spec.Causal ? ", causal" : "")} (nn.MultiheadAttention; with lengths, padded keys are masked):")
            .Doc($"// [q, k, v] = x·W_inᵀ + b_in; per head A = softmax(q·kᵀ · {SourceWriter.Float(scale)}); out = concat(A·v)·W_outᵀ + b_out")
            .Affine(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, selfQkv);
        if (mask is not null) pass.Add(new DropoutMaskOp(mask, spec.Dropout));
        pass.Add(new KernelOp(Kernels.Attention, "Forward", [.. args, mask is null ? Operand.None : new TrainingOnlyOperand(mask), selfContext, new ScalarOperand("scratch: default")]))
            .Affine(Dim.TB, e, e, selfContext, projections.OutWeight, projections.OutBias, output)
            .Backward()
            .Doc($"// {layer.Name} backward: through the output projection, the heads (softmax included) and the input projection")
            .AffineBackward(Dim.TB, e, e, selfContext, projections.OutWeight, projections.OutBias, dOutput, selfDContext)
            .Add(new KernelOp(Kernels.Attention, "Backward", [.. args, mask ?? Operand.None, selfDContext, selfDQkv, new ScalarOperand("scratch: default")]))
            .AffineBackward(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, selfDQkv, c.DIn);
        return new SelfAttentionPlan(layer, c.In, c.DIn, output, dOutput, selfWeights, projections, selfQkv, selfDQkv, selfContext, selfDContext, mask,
            heads, scale, spec.Causal, spec.Dropout) { Passes = pass.Build() };
    }
}
