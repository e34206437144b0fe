using System;
using System.Linq;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Attention;

/// <summary>nn.MultiheadAttention's projections: in_proj [3E, E] for queries, keys and values ([h·d + 2·g·d, E] with g key/value heads or heads d wide), out_proj [E, E] ([E, h·d]); their biases unless bias=False (out_proj's also unless OutputBias = false).</summary>
internal sealed record Projections(ParamRef InWeight, ParamRef? InBias, ParamRef OutWeight, ParamRef? OutBias);

/// <summary>
/// Multi-head self-attention with q = k = v = x (nn.MultiheadAttention): <see cref="Qkv"/> holds the projected queries,
/// keys and values [T, B, 3E] ([T, B, h·d + 2·g·d] with g key/value heads or heads d wide), <see cref="Context"/> the heads'
/// outputs [T, B, h·d]; <see cref="Mask"/> the dropout on the weights.
/// </summary>
internal sealed record SelfAttentionPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    Projections Projections, BufferRef Qkv, BufferRef DQkv, BufferRef Context, BufferRef DContext, BufferRef? Mask, int Heads, float Scale, bool Causal, float Dropout,
    ParamRef? RelativeTable = null)
    : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>Attention pooling: a learned <see cref="QueryParam"/>, projected into <see cref="Query"/>, attends over the sequence.</summary>
internal sealed record AttentionPoolPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    Projections Projections, ParamRef QueryParam, BufferRef Query, BufferRef DQuery, BufferRef Qkv, BufferRef DQkv, BufferRef Context, BufferRef DContext,
    BufferRef Scratch, int Heads, float Scale) : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>One projection of nn.MultiheadAttention: its weight (a block of in_proj_weight, or q/k/v_proj_weight) and bias (a block of in_proj_bias; none without biases).</summary>
internal sealed record Projection(Operand Weight, Operand WeightGrad, Operand? Bias, Operand? BiasGrad);

/// <summary>
/// Multi-head cross-attention (nn.MultiheadAttention(Q, heads, kdim = M, vdim = M)): queries from the layer's input,
/// keys and values from the encoder's outputs, each projected (<see cref="Query"/>, <see cref="Key"/>,
/// <see cref="Value"/>; the weights are in_proj_weight's blocks when M = Q, else q/k/v_proj_weight); output width Q.
/// </summary>
internal sealed record CrossAttentionPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights,
    Projection Query, Projection Key, Projection Value, ParamRef OutWeight, ParamRef? OutBias, BufferRef Q, BufferRef K, BufferRef V,
    BufferRef DQ, BufferRef DK, BufferRef DV, BufferRef Context, BufferRef DContext, BufferRef? Mask, int Heads, float Scale)
    : AttentionPlan(Layer, In, DIn, Out, DOut, Weights);

/// <summary>Lowering of nn.MultiheadAttention: the ScaledDot and Dot scores over the layer's own steps (self or pooling) and ScaledDot over an encoder.</summary>
internal static class MultiHeadAttention
{
    public static AttentionPlan Lower(ShapedLayer layer, AttentionSpec spec, LowerContext c)
    {
        if (layer.IsCrossAttention) return LowerCross(layer, spec, c);
        int e = layer.InWidth, heads = spec.Heads;
        // d: a head's width (e / heads unless HeadWidth sets it), the queries qw = heads · d wide; grouped-query attention: the keys
        // and values have kvHeads heads (each shared by heads / kvHeads query heads), kv columns each
        int d = spec.HeadSize(e), qw = heads * d, kvHeads = spec.KvHeads, kv = d * kvHeads, packed = qw + 2 * kv;
        float bound = 1f / (float)Math.Sqrt(e);
        float scale = spec.Scale > 0f ? spec.Scale : spec.Score == Parsing.ScoreKind.Dot ? 1f : (float)(1.0 / Math.Sqrt(d));
        var projections = new Projections(
            c.Matrix("in_proj_weight", packed, e, new ParamInit(Parsing.InitKind.XavierUniform, e, packed, packed, bound)),
            spec.Bias ? c.Vector("in_proj_bias", packed, ParamInit.Zeros(e, packed)) : null,
            c.Matrix("out_proj.weight", e, qw, new ParamInit(Parsing.InitKind.PyTorch, qw, e, e, 1f / (float)Math.Sqrt(qw))),
            spec.HasOutputBias ? c.Vector("out_proj.bias", e) : null);
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
            BufferRef? poolMask = spec.Dropout > 0f
                ? c.Own("weights_mask", heads, Rows.StepsBatch, BufferUse.Training, $"dropout mask on the pooling weights [B, {heads}, T]")
                : null;
            var (pooled, dPooled) = c.Output("attention output");
            Operand[] poolArgs = { ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(e), ScalarOperand.Of(heads), ScalarOperand.Of(scale) };
            Operand? inBiasQ = projections.InBias?.Values.Slice(0, e), inBiasGradQ = projections.InBias?.Gradient.Slice(0, e);
            var pool = new PassBuilder()
                .Doc($"// {layer.Name}: [T, B, {e}] -> [B, {e}], attention pooling with {heads} head(s): a learned query q = query·W_qᵀ + b_q attends over")
                .Doc("// the keys x·W_kᵀ + b_k (steps below each length); out = concat(A·v)·W_outᵀ + b_out")
                .Affine(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, qkv)
                .Add(new MatMulOp(1, e, e, queryParam.Values, false, projections.InWeight.Values, true, query, false));
            if (inBiasQ is not null) pool.Add(new AddOp(query, inBiasQ, query));
            if (poolMask is not null) pool.Add(new DropoutMaskOp(poolMask, spec.Dropout));
            pool.Add(new KernelOp(Kernels.Attention, "PoolForward", [.. poolArgs, new LengthsOperand(), query, qkv, weights,
                    poolMask is null ? Operand.None : new TrainingOnlyOperand(poolMask), context, scratch]))
                .Affine(Dim.B, e, e, context, projections.OutWeight, projections.OutBias, pooled)
                .Backward()
                .Doc($"// {layer.Name} backward: through the output projection, the pooling (softmax included), the key/value projection and the query's")
                .AffineBackward(Dim.B, e, e, context, projections.OutWeight, projections.OutBias, dPooled, dContext)
                .Add(new ClearOp(dQuery))
                .Add(new KernelOp(Kernels.Attention, "PoolBackward", [.. poolArgs, new LengthsOperand(), query, qkv, weights, poolMask ?? Operand.None, dContext, dQkv, dQuery, scratch]))
                .AffineBackward(Dim.TB, 3 * e, e, c.In, projections.InWeight, projections.InBias, dQkv, c.DIn)
                .Comment("the query's projection: dW_q += dqᵀ·query, db_q += dq, dquery += dq·W_q")
                .Add(new MatMulOp(e, e, 1, dQuery, true, queryParam.Values, false, projections.InWeight.Gradient, true));
            if (inBiasGradQ is not null) pool.Add(new AddOp(inBiasGradQ, dQuery, inBiasGradQ));
            pool.Add(new MatMulOp(1, e, e, dQuery, false, projections.InWeight.Values, false, queryParam.Gradient, true));
            return new AttentionPoolPlan(layer, c.In, c.DIn, pooled, dPooled, weights, projections, queryParam, query, dQuery, qkv, dQkv, context, dContext, scratch, heads, scale)
                { Passes = pool.Build() };
        }
        string grouping = (spec.Grouped ? $", {kvHeads} key/value head(s) each shared by {heads / kvHeads} query heads" : "") +
            (spec.HeadWidth > 0 ? $", each {d} wide" : "") + (spec.QueryKeyNorm ? spec.QueryKeyNormAcrossHeads ? ", each step's queries and keys RMS-normalised across the heads" : ", each head's queries and keys RMS-normalised" : "") +
            (spec.SoftCap > 0f ? $", the scores soft-capped at {SourceWriter.Float(spec.SoftCap)} (cap · tanh(score / cap))" : "") +
            (spec.RelativeBuckets > 0 ? $", a learned bias by distance on the scores ({spec.RelativeBuckets} {(spec.Causal ? "one-sided " : "")}buckets up to {spec.RelativeMaxDistance} steps)" : "") +
            (spec.Alibi ? $", ALiBi's linear bias by distance on the scores (−m_h · |j − i|{(spec.AlibiScaled ? $" · {SourceWriter.Float(scale)}: added before the scores' scale" : "")})" : "") +
            (spec.ClipQkv > 0f ? $", the projected queries, keys and values clipped to ±{SourceWriter.Float(spec.ClipQkv)}" : "");
        BufferRef selfQkv = c.Own("qkv", packed, Rows.StepsBatch, BufferUse.Forward, $"queries, keys and values [T, B, {packed}]");
        BufferRef selfWeights = c.Own("weights", heads, Rows.StepsSquaredBatch, BufferUse.Forward, $"attention weights (softmax) [B, {heads}, T, T]");
        BufferRef? mask = spec.Dropout > 0f
            ? c.Own("weights_mask", heads, Rows.StepsSquaredBatch, BufferUse.Training, $"dropout mask on the attention weights [B, {heads}, T, T]")
            : null;
        string contextShape = EmitContext.Shape(layer.OutIsSequence, qw);
        BufferRef selfContext = c.Own("context", qw, outRows, BufferUse.Forward, $"the heads' outputs, concatenated {contextShape}");
        BufferRef selfDContext = c.Own("dcontext", qw, outRows, BufferUse.Training, $"gradient of the heads' outputs {contextShape}");
        BufferRef selfDQkv = c.Own("dqkv", packed, Rows.StepsBatch, BufferUse.Training, $"gradient of the queries, keys and values [T, B, {packed}]");
        var (output, dOutput) = c.Output("attention output");
        // the kernels' grouped overloads take the key/value heads after the heads; plain multi-head attention calls the others
        Operand[] headCounts = spec.Grouped ? [ScalarOperand.Of(heads), ScalarOperand.Of(kvHeads)] : [ScalarOperand.Of(heads)];
        Operand steps = ScalarOperand.Of(new Dim(1, Steps: 1)), batch = ScalarOperand.Of(Dim.B), width = ScalarOperand.Of(qw);
        Operand[] args = [steps, batch, width, .. headCounts, ScalarOperand.Of(scale), ScalarOperand.Of(spec.Causal), new LengthsOperand(), selfQkv, selfWeights];
        // a sliding window and a soft cap: the kernels' last arguments, by name (none without them: the calls as they were)
        Operand[] window = [.. spec.SlidingWindow > 0 ? [new ScalarOperand($"window: {spec.SlidingWindow}")] : Array.Empty<Operand>(),
            .. spec.SoftCap > 0f ? [new ScalarOperand($"softCap: {SourceWriter.Float(spec.SoftCap)}")] : Array.Empty<Operand>()];
        // T5's and MPNet's relative position bias: the table [buckets, heads] read by distance into [heads, 2T − 1] each pass, the
        // kernels' last arguments by name; back, the scores' gradients by distance, then summed by bucket into the table's
        ParamRef? relativeTable = null;
        BufferRef? relativeBias = null, dRelativeBias = null;
        Operand[] relativeSizes = [];
        if (spec.RelativeBuckets > 0)
        {
            // the first layer's table, read by every later one (T5's and MPNet's), unless RelativeShared = false gives it its own
            relativeTable = spec.RelativeOwner(c.Model.Layers.Take(c.Index)) is { } owner
                ? c.Tie("relative_attention_bias.weight", c.Layers.OfType<SelfAttentionPlan>().First(p => p.Layer.Name == owner.Name).RelativeTable!)
                : c.Matrix("relative_attention_bias.weight", spec.RelativeBuckets, heads, new ParamInit(Parsing.InitKind.Normal, spec.RelativeBuckets, heads, spec.RelativeBuckets, 1f));
            relativeBias = c.Own("relative_bias", 2 * heads, Rows.Steps1, BufferUse.Forward, $"each head's score bias by distance −(T − 1) … T − 1 [{heads}, 2T − 1]");
            dRelativeBias = c.Own("drelative_bias", 2 * heads, Rows.StepsBatch, BufferUse.Training, $"the scores' gradients by distance, each sequence's [B, {heads}, 2T − 1]");
            relativeSizes = [ScalarOperand.Of(spec.RelativeBuckets), ScalarOperand.Of(spec.RelativeMaxDistance)];
        }
        // a causal layer's buckets are one-sided (T5's decoder's), the kernels' last argument by name
        Operand[] sided = spec.Causal ? [new ScalarOperand("bidirectional: false")] : [];
        // ALiBi's bias by distance: fixed for the shape, written once per workspace (nothing learns it)
        if (spec.Alibi) relativeBias = c.Own("alibi", 2 * heads, Rows.Steps1, BufferUse.Forward, $"each head's ALiBi bias −m_h · |j − i| by distance −(T − 1) … T − 1, filled once per workspace [{heads}, 2T − 1]");
        // falcon-rw's ALiBi, added before the scores' scale: its slopes scaled with them (an argument only then)
        Operand[] alibiScale = spec.AlibiScaled ? [new ScalarOperand($"alibiScale: {SourceWriter.Float(scale)}")] : [];
        string causal = !spec.Causal ? "" : spec.SlidingWindow > 0 ? $", causal, each step over the {spec.SlidingWindow} most recent steps (its own included)" : ", causal";
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {e}] -> [T, B, {e}], self-attention with {heads} head(s){grouping}{causal} (nn.MultiheadAttention; with lengths, padded keys are masked):")
            .Doc(spec.Grouped || spec.HeadWidth > 0
                ? $"// [q, k, v] = x·W_inᵀ + b_in, q {qw} wide, k and v {kv}; per head h A = softmax(q_h·k_gᵀ · {SourceWriter.Float(scale)}), g = h / {heads / kvHeads}; out = concat(A·v_g)·W_outᵀ + b_out"
                : $"// [q, k, v] = x·W_inᵀ + b_in; per head A = softmax(q·kᵀ · {SourceWriter.Float(scale)}); out = concat(A·v)·W_outᵀ + b_out")
            .Affine(Dim.TB, packed, e, c.In, projections.InWeight, projections.InBias, selfQkv);
        // clip_qkv: the projected queries, keys and values clamped (OLMo's), each value's slope kept for the step back
        BufferRef? kept = null;
        if (spec.ClipQkv > 0f)
        {
            kept = c.Own("qkv_kept", packed, Rows.StepsBatch, BufferUse.Training, $"1 where a projected value was within ±{SourceWriter.Float(spec.ClipQkv)}, 0 where it was clipped [T, B, {packed}]");
            pass.Comment($"clip_qkv: every projected query, key and value clamped to ±{SourceWriter.Float(spec.ClipQkv)}")
                .Add(new KernelOp(Kernels.Activations, "Clip", [ScalarOperand.Of(spec.ClipQkv), selfQkv, new TrainingOnlyOperand(kept)]));
        }
        // QK-norm: each head's queries and keys RMS-normalised before the rotation; the raw ones kept for the step back
        ParamRef? qNorm = null, kNorm = null;
        BufferRef? rawQk = null, qkRstd = null;
        Operand[] qkNormArgs = [], qkNormBackward = [];
        if (spec.QueryKeyNorm)
        {
            // (OLMo 2's across the heads: each step's queries normalised together, and its keys, each with a scale as wide)
            bool across = spec.QueryKeyNormAcrossHeads;
            int qScale = across ? qw : d, kScale = across ? kv : d;
            qNorm = c.Vector("q_norm.weight", qScale, fill: new ParamFill(0, qScale, 1f, "a scale of one"));
            kNorm = c.Vector("k_norm.weight", kScale, fill: new ParamFill(0, kScale, 1f, "a scale of one"));
            rawQk = c.Own("qk", qw + kv, Rows.StepsBatch, BufferUse.Training, $"the queries and keys before their normalisation [T, B, {qw + kv}]");
            qkRstd = across
                ? c.Own("qk_rstd", 2, Rows.StepsBatch, BufferUse.Forward, "each step's 1/√(mean(x²) + ε), the queries' [T·B] then the keys' [T·B]")
                : c.Own("qk_rstd", heads + kvHeads, Rows.StepsBatch, BufferUse.Forward, $"each head's 1/√(mean(x²) + ε), the queries' [T·B, {heads}] then the keys' [T·B, {kvHeads}]");
            qkNormArgs = [ScalarOperand.Of(Dim.TB), width, ScalarOperand.Of(heads), ScalarOperand.Of(kvHeads), qNorm.Values, kNorm.Values];
            Operand[] acrossArgument = across ? [new ScalarOperand("acrossHeads: true")] : [];
            pass.Comment(across
                    ? $"QK-norm across the heads: q = q / √(mean(q²) + {SourceWriter.Float(spec.QueryKeyNormEpsilon)}) · q_norm over each step's {qw} queries, k likewise with k_norm over its {kv} keys"
                    : $"QK-norm: q_h = q_h / √(mean(q_h²) + {SourceWriter.Float(spec.QueryKeyNormEpsilon)}) · q_norm, k_g likewise with k_norm, per head of {d}")
                .Add(new KernelOp(Kernels.QueryKeyNorm, "Forward", [.. qkNormArgs, ScalarOperand.Of(spec.QueryKeyNormEpsilon), selfQkv, new TrainingOnlyOperand(rawQk), qkRstd, .. acrossArgument]));
            qkNormBackward = [.. qkNormArgs, rawQk, qkRstd, selfDQkv, qNorm.Gradient, kNorm.Gradient, .. acrossArgument];
        }
        // the rotary kernels' scaled overloads take the key/value heads and the scaling after the base, and a partial rotation's
        // width last, by name (each head's first r values turned; r = d: the whole head, the calls as they were)
        int r = spec.RotaryDimensions > 0 ? spec.RotaryDimensions : d;
        bool overload = spec.RotaryScaling is not null || r < d;
        Operand[] rotary = !overload ? [steps, batch, width, .. headCounts] : [steps, batch, width, ScalarOperand.Of(heads), ScalarOperand.Of(kvHeads)];
        Operand[] frequencies = overload ? [ScalarOperand.Of(spec.RotaryBase), new ScalarOperand(spec.RotaryScaling?.Code ?? "default")] : [ScalarOperand.Of(spec.RotaryBase)];
        Operand[] partial = r < d ? [new ScalarOperand($"rotaryWidth: {r}")] : [];
        string scaled = spec.RotaryScaling is { } s ? $", scaled for long contexts {(s.Linear ? "linearly" : s.Yarn ? $"as YaRN over an original context of {s.OriginalContext}" : s.LongRope ? $"as LongRoPE (its short factors within {s.OriginalContext} steps, its long ones past)" : s.Dynamic ? $"by dynamic NTK (the base raised past {s.OriginalContext} steps)" : "as LLaMA 3.1")} (factor {SourceWriter.Float(s.Factor)})" : "";
        BufferRef? angles = null;
        if (spec.Rotary)
        {
            angles = c.Own("rotary", r, Rows.Steps1, BufferUse.Forward, $"the rotary angles' cosines, then sines, of positions 0 … T − 1, filled once per workspace [T, {r}]");
            pass.Comment($"rotary positions: each head's queries and keys turned pair by pair, (j, j + {r / 2}) by p · {SourceWriter.Float(spec.RotaryBase)}^(−2j/{r}) at position p{scaled}" +
                    (r < d ? $", the first {r} of each head's {d} values alone" : ""))
                .Add(new KernelOp(Kernels.Rotary, "Apply", [.. rotary, c.Position(), .. frequencies, angles, selfQkv, ScalarOperand.Of(false), .. partial]));
        }
        var attend = new System.Collections.Generic.List<Op>();
        if (mask is not null) attend.Add(new DropoutMaskOp(mask, spec.Dropout));
        if (relativeTable is not null)
            attend.Add(new KernelOp(Kernels.RelativePosition, "Expand", [steps, ScalarOperand.Of(heads), .. relativeSizes, relativeTable.Values, relativeBias!, .. sided])
                { Note = "each head's bias by distance, from the table's buckets" });
        Operand[] positionBias = relativeBias is null ? [] : [new NamedOperand("positionBias", relativeBias)];
        attend.Add(new KernelOp(Kernels.Attention, "Forward", [.. args, mask is null ? Operand.None : new TrainingOnlyOperand(mask), selfContext, new ScalarOperand("scratch: default"), .. window, .. positionBias]));
        if (!spec.Causal) foreach (Op op in attend) pass.Add(op);
        else
        {
            // a causal layer keeps the keys and values of the steps a carried state has taken: stepping attends over them
            CacheRef cache = c.Cache("cache", 2 * kv, $"keys and values of every step taken [steps, B, {2 * kv}]");
            Operand position = c.Position();
            Operand[] cached = [steps, batch, width, .. headCounts, ScalarOperand.Of(scale), position];
            Operand[] appended = spec.Grouped ? [steps, batch, width, .. headCounts, position] : [steps, batch, width, position];
            attend.Add(new WhenOp(Condition.CarriedState, new KernelOp(Kernels.Attention, "Append", [.. appended, selfQkv, new CacheOperand(cache)])
                { Note = "a training pass from a fresh state leaves its keys and values for the steps that follow" }));
            pass.Comment(spec.SlidingWindow > 0
                ? $"stepping (inference from a carried state): append this pass's keys and values to the cache and attend over the {spec.SlidingWindow} most recent steps"
                : "stepping (inference from a carried state): append this pass's keys and values to the cache and attend over every step taken");
            // (the relative position bias read from the table by each query's distance to every key taken)
            Operand[] relativeCached = relativeTable is null ? spec.Alibi ? [new ScalarOperand("alibi: true"), .. alibiScale] : []
                : [new NamedOperand("relativeTable", relativeTable.Values), new ScalarOperand($"relativeBuckets: {spec.RelativeBuckets}"), new ScalarOperand($"relativeMaxDistance: {spec.RelativeMaxDistance}")];
            pass.Add(new WhenOp(Condition.SteppingState,
                new Op[] { new KernelOp(Kernels.Attention, "CachedForward", [.. cached, selfQkv, new CacheOperand(cache), selfWeights, selfContext, .. window, .. relativeCached]) }.ToEquatableArray(),
                attend.ToEquatableArray()));
        }
        pass.Affine(Dim.TB, e, qw, selfContext, projections.OutWeight, projections.OutBias, output)
            .Backward()
            .Doc($"// {layer.Name} backward: through the output projection, the heads (softmax included) and the input projection")
            .AffineBackward(Dim.TB, e, qw, selfContext, projections.OutWeight, projections.OutBias, dOutput, selfDContext)
            .Add(new KernelOp(Kernels.Attention, "Backward", [.. args, mask ?? Operand.None, selfDContext, selfDQkv, new ScalarOperand("scratch: default"), .. window,
                .. dRelativeBias is null ? Array.Empty<Operand>() : [new NamedOperand("dPositionBias", dRelativeBias)]]));
        if (relativeTable is not null)
        {
            pass.Comment("the relative position bias: the scores' gradients by distance, summed over the sequences and by bucket into the table's")
                .Add(new KernelOp(Kernels.RelativePosition, "Collect", [steps, batch, ScalarOperand.Of(heads), .. relativeSizes, dRelativeBias!, relativeTable.Gradient, .. sided]));
        }
        if (spec.Rotary)
        {
            pass.Comment("the rotation's step back: the queries' and keys' gradients turned by the opposite angles")
                .Add(new KernelOp(Kernels.Rotary, "Apply", [.. rotary, c.KeptPosition(), .. frequencies, angles!, selfDQkv, ScalarOperand.Of(true), .. partial]));
        }
        if (spec.QueryKeyNorm)
        {
            pass.Comment("QK-norm's step back: the normalised queries' and keys' gradients to the raw ones'; dq_norm, dk_norm summed over the rows")
                .Add(new KernelOp(Kernels.QueryKeyNorm, "Backward", qkNormBackward));
        }
        if (kept is not null) pass.Add(new MultiplyOp(selfDQkv, kept, selfDQkv, "clip_qkv's step back: no gradient through a clipped value"));
        pass.AffineBackward(Dim.TB, packed, e, c.In, projections.InWeight, projections.InBias, selfDQkv, c.DIn);
        Op[] setup = [.. angles is null ? Array.Empty<Op>()
            : [new KernelOp(Kernels.Rotary, "Fill", [angles, ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(r), .. frequencies]) { Note = "once per shape" }],
            .. !spec.Alibi ? Array.Empty<Op>() : [new KernelOp(Kernels.Alibi, "Expand", [ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(heads), relativeBias!, .. alibiScale]) { Note = "once per shape" }]];
        return new SelfAttentionPlan(layer, c.In, c.DIn, output, dOutput, selfWeights, projections, selfQkv, selfDQkv, selfContext, selfDContext, mask,
            heads, scale, spec.Causal, spec.Dropout, relativeTable) { Passes = pass.Build(), Setup = setup.ToEquatableArray() };
    }

    private static AttentionPlan LowerCross(ShapedLayer layer, AttentionSpec spec, LowerContext c)
    {
        // d: a head's width (Q / heads unless HeadWidth sets it), the queries, keys and values qw = heads · d wide
        int q = layer.InWidth, m = layer.MemoryWidth, heads = spec.Heads, d = spec.HeadSize(q), qw = heads * d;
        float scale = spec.Scale > 0f ? spec.Scale : (float)(1.0 / Math.Sqrt(d));
        ParamInit Xavier(int fanIn, int fanOut, int rows) => new(Parsing.InitKind.XavierUniform, fanIn, fanOut, rows, 1f / (float)Math.Sqrt(fanIn));
        ParamRef? inProj = null, qProj = null, kProj = null, vProj = null;
        if (m == q) inProj = c.Matrix("in_proj_weight", 3 * qw, q, Xavier(q, 3 * qw, 3 * qw)); // nn.MultiheadAttention packs them when kdim = vdim = Q
        else
        {
            qProj = c.Matrix("q_proj_weight", qw, q, Xavier(q, qw, qw));
            kProj = c.Matrix("k_proj_weight", qw, m, Xavier(m, qw, qw));
            vProj = c.Matrix("v_proj_weight", qw, m, Xavier(m, qw, qw));
        }
        ParamRef? inBias = spec.Bias ? c.Vector("in_proj_bias", 3 * qw, ParamInit.Zeros(q, 3 * qw)) : null;
        ParamRef outWeight = c.Matrix("out_proj.weight", q, qw, new ParamInit(Parsing.InitKind.PyTorch, qw, q, q, 1f / (float)Math.Sqrt(qw)));
        ParamRef? outBias = spec.HasOutputBias ? c.Vector("out_proj.bias", q) : null;
        Projection Block(int i, ParamRef? own, int cols) => new(
            own?.Values ?? inProj!.Values.Slice(i * qw * q, qw * q), own?.Gradient ?? inProj!.Gradient.Slice(i * qw * q, qw * q),
            inBias?.Values.Slice(i * qw, qw), inBias?.Gradient.Slice(i * qw, qw));
        Projection query = Block(0, qProj, q), key = Block(1, kProj, m), value = Block(2, vProj, m);

        BufferRef Own(string name, Rows rows, BufferUse use, string what) => c.Own(name, qw, rows, use, what);
        BufferRef qs = Own("q", Rows.StepsBatch, BufferUse.Forward, $"projected queries x·W_qᵀ + b_q [T, B, {qw}]");
        BufferRef ks = Own("k", Rows.SourceBatch, BufferUse.Forward, $"projected keys memory·W_kᵀ + b_k [S, B, {qw}]");
        BufferRef vs = Own("v", Rows.SourceBatch, BufferUse.Forward, $"projected values memory·W_vᵀ + b_v [S, B, {qw}]");
        BufferRef dq = Own("dq", Rows.StepsBatch, BufferUse.Training, $"gradient of the queries [T, B, {qw}]");
        BufferRef dk = Own("dk", Rows.SourceBatch, BufferUse.Training, $"gradient of the keys [S, B, {qw}]");
        BufferRef dv = Own("dv", Rows.SourceBatch, BufferUse.Training, $"gradient of the values [S, B, {qw}]");
        BufferRef weights = c.Own("weights", heads, Rows.StepsSourceBatch, BufferUse.Forward, $"attention weights (softmax over the source) [B, {heads}, T, S]");
        BufferRef? mask = spec.Dropout > 0f
            ? c.Own("weights_mask", heads, Rows.StepsSourceBatch, BufferUse.Training, $"dropout mask on the attention weights [B, {heads}, T, S]")
            : null;
        BufferRef context = Own("context", Rows.StepsBatch, BufferUse.Forward, $"the heads' outputs, concatenated [T, B, {qw}]");
        BufferRef dContext = Own("dcontext", Rows.StepsBatch, BufferUse.Training, $"gradient of the heads' outputs [T, B, {qw}]");
        var (output, dOutput) = c.Output("attention output");

        Operand memory = new MemoryOperand(false), dMemory = new MemoryOperand(true);
        // a stepping decoder projects the encoder's outputs at its first pass and keeps them in its state; later passes read them back
        CacheRef keptKeys = c.MemoryCache("memory_k", qw, $"the encoder's outputs as keys memory·W_kᵀ + b_k [S, B, {qw}], kept from the first step"),
            keptValues = c.MemoryCache("memory_v", qw, $"the encoder's outputs as values memory·W_vᵀ + b_v [S, B, {qw}], kept from the first step");
        Operand[] args = { ScalarOperand.Of(new Dim(1, Steps: 1)), ScalarOperand.Of(new Dim(1, Source: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(qw),
            ScalarOperand.Of(heads), ScalarOperand.Of(scale), new LengthsOperand(OfMemory: true), qs, ks, vs, weights };
        var pass = new PassBuilder()
            .Doc($"// {layer.Name}: [T, B, {q}] -> [T, B, {q}], cross-attention with {heads} head(s){(qw != q ? $" of {d}" : "")} over the outputs of {layer.MemoryModel} [S, B, {m}]")
            .Doc($"// (nn.MultiheadAttention(kdim = vdim = {m}); padded source steps are masked): q = x·W_qᵀ + b_q, k = memory·W_kᵀ + b_k, v = memory·W_vᵀ + b_v;")
            .Doc($"// per head A = softmax(q·kᵀ · {SourceWriter.Float(scale)}); out = concat(A·v)·W_outᵀ + b_out")
            .Affine(Dim.TB, qw, q, c.In, query.Weight, query.Bias, qs)
            .Add(ProjectedMemory.Once(
                (new MatMulOp(Dim.SB, qw, m, memory, false, key.Weight, true, ks, false, Bias: key.Bias), ks, keptKeys),
                (new MatMulOp(Dim.SB, qw, m, memory, false, value.Weight, true, vs, false, Bias: value.Bias), vs, keptValues)));
        if (mask is not null) pass.Add(new DropoutMaskOp(mask, spec.Dropout));
        pass.Add(new KernelOp(Kernels.Attention, "CrossForward", [.. args, mask is null ? Operand.None : new TrainingOnlyOperand(mask), context]))
            .Affine(Dim.TB, q, qw, context, outWeight, outBias, output)
            .Backward()
            .Doc($"// {layer.Name} backward: through the output projection and the heads (softmax included); the query projection's gradient")
            .Doc("// goes to dx, the key and value projections' add into the encoder's outputs' gradient")
            .AffineBackward(Dim.TB, q, qw, context, outWeight, outBias, dOutput, dContext)
            .Add(new KernelOp(Kernels.Attention, "CrossBackward", [.. args, mask ?? Operand.None, dContext, dq, dk, dv]))
            .Comment("q = x·W_qᵀ + b_q: dW_q += dqᵀ·x, db_q += Σ dq, dx = dq·W_q")
            .Add(new MatMulOp(qw, q, Dim.TB, dq, true, c.In, false, query.WeightGrad, true));
        if (query.BiasGrad is not null) pass.Add(new ColumnSumsOp(dq, Dim.TB, query.BiasGrad));
        if (c.DIn is not null) pass.Add(new MatMulOp(Dim.TB, q, qw, dq, false, query.Weight, false, c.DIn, false));
        foreach (var (projection, gradient, what) in new[] { (key, dk, "k"), (value, dv, "v") })
        {
            pass.Comment($"{what} = memory·W_{what}ᵀ + b_{what}: dW_{what} += d{what}ᵀ·memory, db_{what} += Σ d{what}, d(memory) += d{what}·W_{what}");
            pass.Add(new MatMulOp(qw, m, Dim.SB, gradient, true, memory, false, projection.WeightGrad, true));
            if (projection.BiasGrad is not null) pass.Add(new ColumnSumsOp(gradient, Dim.SB, projection.BiasGrad));
            pass.Add(new MatMulOp(Dim.SB, m, qw, gradient, false, projection.Weight, false, dMemory, true));
        }
        return new CrossAttentionPlan(layer, c.In, c.DIn, output, dOutput, weights, query, key, value, outWeight, outBias, qs, ks, vs, dq, dk, dv,
            context, dContext, mask, heads, scale) { Passes = pass.Build() };
    }
}
