using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl.Onnx;

/// <summary>Writes each layer's nodes; values are batch-major [B, T, W] between layers.</summary>
internal sealed class Exporter(OnnxGraph g, ParameterSet parameters, string prefix = "")
{
    private string? _lengths32;

    /// <summary>The token ids the embedding read [B, T] (int64), which token types are counted over.</summary>
    private string? _ids;

    /// <summary>State values a recurrent layer starts from, by the State's tensor names (lstm.h_l0…): a step graph's inputs.</summary>
    public Dictionary<string, string> StateIn { get; } = new(StringComparer.Ordinal);

    /// <summary>Each recurrent layer's final states, by the same names, [B, dirs·width], directions side by side.</summary>
    public Dictionary<string, string> StateOut { get; } = new(StringComparer.Ordinal);

    /// <summary>What cross-attention reads: the encoder's outputs [B, S, M] and their lengths [B] (int64).</summary>
    public (string Memory, string Lengths)? Memory { get; init; }

    /// <summary>A step graph: one step from a carried state (what needs the position or the steps before is refused).</summary>
    public bool Stepping { get; init; }

    /// <summary>A step graph's position input (int64 [1]: the steps taken), for positional encodings.</summary>
    public string? Position { get; init; }

    /// <summary>A step graph's key/value caches by layer name ([B, past, 2E]: keys then values), and the next ones.</summary>
    public Dictionary<string, string> CacheIn { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> CacheOut { get; } = new(StringComparer.Ordinal);

    /// <summary>Each embedding's table, by layer name: the initializer a Dense tied to it transposes.</summary>
    private readonly Dictionary<string, string> _tables = new(StringComparer.Ordinal);

    /// <summary>
    /// A parameter's values for what the exporter computes from them (a bias summed, a constant folded): its own floats, or
    /// widened (a copy) when it is held in less (bfloat16, 8-bit). A weight goes into the graph as held: <see cref="WeightTensor"/>.
    /// </summary>
    internal static ReadOnlySpan<float> Values(Parameter p) => p.Precision == Precision.Float32 ? p.AsSpan() : p.ToArray();

    private Parameter Param(LayerInfo layer, string suffix) =>
        parameters.TryGet(prefix + layer.Name + "." + suffix, out Parameter p) ? p
        : throw new InvalidOperationException($"Layer '{layer.Name}': no parameter {prefix}{layer.Name}.{suffix}.");

    private static NotSupportedException Unsupported(LayerInfo layer, string what) =>
        new($"Layer '{layer.Name}' cannot be exported to ONNX yet: {what}.");

    /// <summary>
    /// The nodes of <paramref name="layer"/> reading <paramref name="x"/>; <paramref name="next"/> is the layer after it (an
    /// input-fed attention there feeds its context into this one).
    /// </summary>
    public string Layer(LayerInfo layer, string x, string[] outputs, string? lengths, LayerInfo? next = null) => layer switch
    {
        InputInfo => x,
        EmbeddingInfo e => Embedding(e, x),
        DenseInfo d => Dense(d, x),
        DropoutInfo => x,
        ScaleInfo s => g.Add("Mul", s.Name, [x, g.Floats(s.Name + "_factor", [s.Factor])]),
        MoeInfo m => Moe(m, x),
        LayerNormInfo n => g.Add("LayerNormalization", n.Name, n.Bias ? [x, Weight(n, "weight"), Weight(n, "bias")] : [x, NormScale(n, n.ElementwiseAffine)], ("axis", -1L), ("epsilon", n.Epsilon)),
        RmsNormInfo n => RmsNorm(n, x),
        ResidualInfo r => g.Add("Add", r.Name, [x, outputs[r.From]]),
        BranchInfo b => outputs[b.From],
        PositionalEncodingInfo p when Stepping => PositionalStep(p, x),
        PositionalEncodingInfo p => PositionalEncoding(p, x),
        TokenTypeEmbeddingInfo t when Stepping => throw new NotSupportedException($"Layer '{t.Name}' counts the token types from the sequence's first token: a model with it does not step."),
        TokenTypeEmbeddingInfo t => TokenTypes(t, x),
        PositionEmbeddingInfo p => g.Add("Add", p.Name, [x, g.Add("Gather", p.Name + "_rows", [Weight(p, "weight"), Stepping ? Position! : StepRange(x, p.Name)], ("axis", 0L))]),
        RecurrentInfo r => Recurrent(r, x, lengths, next),
        PoolInfo p when Stepping => throw new NotSupportedException($"Layer '{p.Name}' pools over the whole sequence: a model with it does not step."),
        PoolInfo p => Pool(p, x, lengths),
        AttentionInfo { MemoryWidth: 0, Pool: false, Score: AttentionScore.ScaledDot or AttentionScore.Dot } a when !Stepping => SelfAttention(a, x, lengths),
        AttentionInfo { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot or AttentionScore.Dot } a when CacheIn.ContainsKey(a.Name + ".cache") => SelfAttentionStep(a, x),
        AttentionInfo { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.General or AttentionScore.Additive } a
            when CacheIn.ContainsKey(a.Name + ".inputs") => ClassicSelfStep(a, x),
        AttentionInfo { Pool: true } a when Stepping => throw new NotSupportedException($"Layer '{a.Name}' pools over the whole sequence: a model with it does not step."),
        AttentionInfo { MemoryWidth: 0, Pool: true, Score: AttentionScore.ScaledDot or AttentionScore.Dot } a => MultiHeadPool(a, x, lengths),
        AttentionInfo { MemoryWidth: 0, Score: AttentionScore.General or AttentionScore.Additive } a when !Stepping => ClassicSelf(a, x, lengths),
        AttentionInfo { MemoryWidth: > 0 } a when Memory is not null && (!a.InputFeeding || Stepping) => CrossAttention(a, x),
        AttentionInfo a => throw Unsupported(a, a.MemoryWidth > 0 ? "cross-attention exports in an encoder–decoder's step graph (ExportOnnx of the composition)"
            : $"no ONNX form for this attention (score {a.Score}, pooling {a.Pool}, causal {a.Causal})"),
        _ => throw Unsupported(layer, $"no ONNX form for {layer.GetType().Name}"),
    };

    /// <summary>A parameter as the graph's value, in its own shape (held in bfloat16 or 8 bits: those values, widened by a node).</summary>
    private string Weight(LayerInfo layer, string suffix)
    {
        Parameter p = Param(layer, suffix);
        return WeightTensor.Of(p).AddTo(g, $"{layer.Name}.{suffix}", p.Shape.ToArray().Select(d => (long)d).ToArray());
    }

    /// <summary>
    /// The embedding's rows at the ids. A negative id becomes the vocabulary's size first: Gather would read −1 as the last
    /// row, and the runtime refuses ids outside [0, vocab); out of range, ONNX Runtime fails on it as on an id ≥ vocab. A
    /// scaled embedding (ScaleBySqrtDim) multiplies the rows by its scale after the Gather (a tied output layer reads the
    /// table itself).
    /// </summary>
    private string Embedding(EmbeddingInfo e, string ids)
    {
        _ids = ids;
        string checkedIds = g.Add("Where", e.Name + "_ids", [g.Add("Less", e.Name + "_negative", [ids, g.Int64Scalar(e.Name + "_zero_id", 0)]),
            g.Int64Scalar(e.Name + "_vocabulary", e.Vocabulary), ids]);
        string table = _tables[e.Name] = Weight(e, "weight");
        bool scaled = e.Scale != 1f;
        string rows = g.Add("Gather", scaled ? e.Name + "_rows" : e.Name, [table, checkedIds], ("axis", 0L));
        return scaled ? g.Add("Mul", e.Name, [rows, g.Floats(e.Name + "_scale", [e.Scale])]) : rows;
    }

    /// <summary>
    /// x / √(mean(x²) + ε) · weight over the last axis, as PyTorch exports nn.RMSNorm at opset 17 (RMSNormalization came in
    /// opset 23).
    /// </summary>
    private string RmsNorm(RmsNormInfo n, string x) => RmsNormalised(n.Name, x, n.Epsilon, NormScale(n, n.ElementwiseAffine));

    /// <summary>A norm's learned scale, or a row of ones where it learns none (LayerNormalization needs a Scale input).</summary>
    private string NormScale(LayerInfo n, bool learned) => learned ? Weight(n, "weight") : g.Floats(n.Name + ".unit_scale", Enumerable.Repeat(1f, n.OutWidth).ToArray(), n.OutWidth);

    /// <summary>x / √(mean(x²) + ε) · weight over the last axis, the last node named <paramref name="name"/>.</summary>
    private string RmsNormalised(string name, string x, float epsilon, string weight)
    {
        string meanSquare = g.Add("ReduceMean", name + "_mean_square", [g.Add("Mul", name + "_square", [x, x])], ("axes", new long[] { -1 }), ("keepdims", 1L));
        string rms = g.Add("Sqrt", name + "_rms", [g.Add("Add", name + "_plus_eps", [meanSquare, g.Floats(name + "_eps", [epsilon])])]);
        return g.Add("Mul", name, [g.Add("Div", name + "_normalised", [x, rms]), weight]);
    }

    private string Dense(DenseInfo d, string x)
    {
        // y = x·Wᵀ + b: the transposed weight [in, units] as the initializer, so that MatMul serves sequences and vectors alike;
        // a weight tied to the embedding transposes the table's initializer in the graph, which then holds the table once
        string weight = d.TiedTo is { } embedding && _tables.TryGetValue(embedding, out string? table)
            ? g.Add("Transpose", d.Name + "_weight_t", [table], ("perm", new long[] { 1, 0 }))
            : Transposed(d, "weight", d.Gated ? 2 * d.Units : d.Units, d.InWidth);
        string y = g.Add("MatMul", d.Name + "_matmul", [x, weight]);
        if (d.Bias) y = g.Add("Add", d.Name + "_bias", [y, Weight(d, "bias")]);
        if (d.SoftCap > 0f) return Capped(d.Name, y, 1f / d.SoftCap, d.SoftCap); // (no activation beside it)
        return Inner(d, d.Gated, d.Activation, y, d.Units, d.Name);
    }

    /// <summary>An inner map's units: a gated linear unit's <paramref name="units"/> (<paramref name="gated"/>), else <paramref name="y"/> through the activation.</summary>
    private string Inner(LayerInfo layer, bool gated, Activation activation, string y, int units, string name) =>
        gated ? GatedUnits(layer, activation, y, units, name) : Activate(layer, activation, y, name);

    /// <summary>A gated linear unit: value ⊙ act(gate), the two halves of <paramref name="y"/>'s last axis, the last node named <paramref name="name"/>.</summary>
    private string GatedUnits(LayerInfo layer, Activation activation, string y, int units, string name)
    {
        string[] halves = g.AddMany("Split", name + "_halves", [y, g.Int64s(name + "_sizes", units, units)], 2, ("axis", -1L));
        return g.Add("Mul", name, [halves[0], Activate(layer, activation, halves[1], name + "_gate")]);
    }

    /// <summary>
    /// A mixture of experts, sparse as the runtime's pass and transformers' Mixtral: the router's softmax, its TopK (divided
    /// by their sum with NormalizeTopK) scattered into [N, E] (0 for the experts a row did not choose), then each expert in
    /// turn over only the rows that chose it (NonZero of its column, Gather), its output weighted by its probability and
    /// added into the rows it came from (ScatterND with reduction add). k / E of the dense form's products; an expert no row
    /// chose runs on zero rows. A shared expert's output is added after (<see cref="SharedExpert"/>). The same outputs as the
    /// runtime's pass, up to the order of each row's sums.
    /// </summary>
    private string Moe(MoeInfo m, string x)
    {
        string n = m.Name;
        int d = m.Width, u = m.Units, inner = (m.Gated ? 2 : 1) * u;
        string rows = g.Add("Reshape", n + "_rows", [x, g.Int64s(n + "_rows_shape", -1, d)]); // [N, D]
        string probs = g.Add("Softmax", n + "_probs", [g.Add("MatMul", n + "_logits", [rows, Transposed(m, "router", m.Experts, d)])], ("axis", -1L)); // [N, E]
        string[] top = g.AddMany("TopK", n + "_top", [probs, g.Int64s(n + "_k", m.TopK)], 2, ("axis", -1L), ("largest", 1L), ("sorted", 1L));
        string weights = top[0];
        if (m.NormalizeTopK)
            weights = g.Add("Div", n + "_normalised", [weights, g.Add("ReduceSum", n + "_chosen_sum", [weights, g.Int64s(n + "_last_axis", -1)], ("keepdims", 1L))]);
        string zeros = g.Add("Mul", n + "_zeros", [probs, g.Floats(n + "_zero", [0f])]);
        string gates = g.Add("ScatterElements", n + "_gates", [zeros, top[1], weights], ("axis", -1L)); // [N, E]: a row's weight of each expert
        string ones = g.Add("Expand", n + "_ones", [g.Floats(n + "_one", [1f]), g.Add("Shape", n + "_top_shape", [weights])]);
        string chosen = g.Add("ScatterElements", n + "_chosen", [zeros, top[1], ones], ("axis", -1L)); // [N, E]: 1 where a row chose the expert
        var columns = Enumerable.Repeat(1L, m.Experts).ToArray();
        string[] gateColumns = g.AddMany("Split", n + "_gate_columns", [gates, g.Int64s(n + "_column_sizes", columns)], m.Experts, ("axis", 1L)); // each [N, 1]
        string[] chosenColumns = g.AddMany("Split", n + "_chosen_columns", [chosen, g.Int64s(n + "_chosen_sizes", columns)], m.Experts, ("axis", 1L));
        string[] weightIn = ExpertWeights(m, "weight_in", inner, d), weightOut = ExpertWeights(m, "weight_out", d, u);
        string flat = g.Int64s(n + "_flat", -1);
        string mixed = g.Add("ConstantOfShape", n + "_mixed0", [g.Add("Shape", n + "_rows_shape_of", [rows])]); // [N, D] zeros
        for (int e = 0; e < m.Experts; e++)
        {
            string en = $"{n}_expert{e}";
            string where = g.Add("NonZero", en + "_where", [g.Add("Reshape", en + "_chosen", [chosenColumns[e], flat])]); // [1, n_e]
            string indices = g.Add("Transpose", en + "_indices", [where], ("perm", new long[] { 1, 0 })); // [n_e, 1]
            string taken = g.Add("Reshape", en + "_taken", [where, flat]); // [n_e]
            string pre = g.Add("MatMul", en + "_pre", [g.Add("Gather", en + "_rows", [rows, taken], ("axis", 0L)), weightIn[e]]); // [n_e, I]
            if (m.Bias) pre = g.Add("Add", en + "_pre_bias", [pre, ExpertBias(m, "bias_in", e, inner)]);
            string hidden = Inner(m, m.Gated, m.Activation, pre, u, en + "_hidden"); // [n_e, U]
            string output = g.Add("MatMul", en + "_out", [hidden, weightOut[e]]); // [n_e, D]
            if (m.Bias) output = g.Add("Add", en + "_out_bias", [output, ExpertBias(m, "bias_out", e, d)]);
            string weighted = g.Add("Mul", en + "_weighted", [output, g.Add("Gather", en + "_gate", [gateColumns[e], taken], ("axis", 0L))]); // · [n_e, 1]
            mixed = g.Add("ScatterND", e == m.Experts - 1 ? n + "_mixed" : en + "_mixed", [mixed, indices, weighted], ("reduction", "add"));
        }
        if (m.SharedUnits > 0) mixed = g.Add("Add", n + "_with_shared", [mixed, SharedExpert(m, rows)]);
        return g.Add("Reshape", n, [mixed, g.Add("Shape", n + "_shape", [x])]);
    }

    /// <summary>
    /// A mixture's shared expert over every row [N, D]: its inner map (MatMul by the transposed moe.shared_in, its bias), the
    /// experts' activation or gated unit, its out map; scaled by Sigmoid(rows · moe.shared_gateᵀ) [N, 1] with SharedExpertGate.
    /// </summary>
    private string SharedExpert(MoeInfo m, string rows)
    {
        string n = m.Name + "_shared";
        int d = m.Width, u = m.SharedUnits, inner = (m.Gated ? 2 : 1) * u;
        string pre = g.Add("MatMul", n + "_pre", [rows, Transposed(m, "shared_in", inner, d)]);
        if (m.Bias) pre = g.Add("Add", n + "_pre_bias", [pre, Weight(m, "shared_bias_in")]);
        string hidden = Inner(m, m.Gated, m.Activation, pre, u, n + "_hidden");
        string output = g.Add("MatMul", n + "_out", [hidden, Transposed(m, "shared_out", d, u)]);
        if (m.Bias) output = g.Add("Add", n + "_out_bias", [output, Weight(m, "shared_bias_out")]);
        if (!m.SharedExpertGate) return output;
        string scale = g.Add("Sigmoid", n + "_scale", [g.Add("MatMul", n + "_logit", [rows, Transposed(m, "shared_gate", 1, d)])]); // [N, 1]
        return g.Add("Mul", n + "_gated", [output, scale]);
    }

    /// <summary>
    /// Each expert's block of a stacked parameter [E, rows, cols] transposed, [cols, rows], as an initializer of its own (the
    /// right side of its MatMul), all kept in one array.
    /// </summary>
    private string[] ExpertWeights(MoeInfo m, string suffix, int rows, int cols)
    {
        WeightTensor all = WeightTensor.Of(Param(m, suffix), m.Experts * rows, cols);
        var names = new string[m.Experts];
        for (int e = 0; e < m.Experts; e++) names[e] = all.RowRange(e * rows, rows).Transposed().AddTo(g, $"{m.Name}.{suffix}_t.{e}", cols, rows);
        return names;
    }

    /// <summary>Expert <paramref name="e"/>'s row of a stacked bias [E, width], as an initializer [width].</summary>
    private string ExpertBias(MoeInfo m, string suffix, int e, int width) =>
        g.Floats($"{m.Name}.{suffix}.{e}", Param(m, suffix).AsMemory().Slice(e * width, width), width);

    /// <summary>cap · tanh(x · scale), soft-capping as the runtime's (scale folds 1/cap with a score scale), the last node named <paramref name="name"/>.</summary>
    private string Capped(string name, string x, float scale, float cap) =>
        g.Add("Mul", name, [g.Add("Tanh", name + "_tanh", [g.Add("Mul", name + "_over_cap", [x, g.Floats(name + "_cap_scale", [scale])])]), g.Floats(name + "_cap", [cap])]);

    /// <summary><paramref name="y"/> through the layer's activation, the last node named <paramref name="name"/>.</summary>
    private string Activate(LayerInfo layer, Activation activation, string y, string name)
    {
        return activation switch
        {
            Activation.None => y,
            Activation.Tanh => g.Add("Tanh", name, [y]),
            Activation.Relu => g.Add("Relu", name, [y]),
            Activation.Sigmoid => g.Add("Sigmoid", name, [y]),
            // x · Φ(x) = x · (1 + erf(x / √2)) / 2 (opset 17 has Erf; Gelu itself came in opset 20)
            Activation.Gelu => g.Add("Mul", name, [y, g.Add("Mul", name + "_cdf", [g.Add("Add", name + "_one_plus_erf",
                [g.Add("Erf", name + "_erf", [g.Add("Mul", name + "_scaled", [y, g.Floats(name + "_inv_sqrt2", [0.70710678f])])]),
                 g.Floats(name + "_one", [1f])]), g.Floats(name + "_half", [0.5f])])]),
            // x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2
            Activation.GeluTanh => g.Add("Mul", name, [g.Add("Mul", name + "_half_x", [y, g.Floats(name + "_half", [0.5f])]),
                g.Add("Add", name + "_one_plus_tanh", [g.Floats(name + "_one", [1f]), g.Add("Tanh", name + "_tanh", [g.Add("Mul", name + "_u",
                    [g.Floats(name + "_scale", [0.79788456f]), g.Add("Add", name + "_cubic", [y, g.Add("Mul", name + "_cube",
                        [g.Floats(name + "_weight", [0.044715f]), g.Add("Mul", name + "_x3", [y, g.Add("Mul", name + "_x2", [y, y])])])])])])])]),
            Activation.Silu => g.Add("Mul", name, [y, g.Add("Sigmoid", name + "_sigmoid", [y])]),
            _ => throw Unsupported(layer, $"activation {activation}"),
        };
    }

    /// <summary>x + pe[0 … T − 1], computed in the graph for the input's steps (any number, as the runtime's).</summary>
    private string PositionalEncoding(PositionalEncodingInfo p, string x)
    {
        string positions = g.Add("Unsqueeze", p.Name + "_positions", [StepRange(x, p.Name), g.Int64s(p.Name + "_axis1", 1)]); // [T, 1]
        return g.Add("Add", p.Name, [x, Encodings(p, positions)]);
    }

    /// <summary>
    /// Multi-head self-attention as nn.MultiheadAttention computes it, decomposed: [q, k, v] = x·W_inᵀ + b_in, per head
    /// softmax(q·kᵀ·scale + masks)·v, the heads side by side, ·W_outᵀ + b_out. The masks add −1e9 (exp underflows to 0):
    /// above the diagonal when causal, and at keys past each sequence's length when the graph takes lengths.
    /// </summary>
    private string SelfAttention(AttentionInfo a, string x, string? lengths)
    {
        string n = a.Name;
        var (parts, scale) = Projected(a, x);
        var masks = new List<string>();
        if (a.SlidingWindow > 0 && lengths is not null) masks.Add(g.Add("Unsqueeze", n + "_window_padding_4d", [WindowPaddingMask(x, lengths, n, a), g.Int64s(n + "_axis1", 1)]));
        else
        {
            if (a.Causal || a.SlidingWindow > 0) masks.Add(StepsMask(x, n, a.SlidingWindow, a.Causal));
            if (lengths is not null) masks.Add(g.Add("Unsqueeze", n + "_padding_4d", [KeyMask(x, lengths, n), g.Int64s(n + "_axis1", 1)]));
        }
        if (a.RelativeBuckets > 0 || a.Alibi)
        {
            string steps = StepRange(x, a.Name + "_relative_steps");
            masks.Insert(0, PositionBias(a, steps, steps));
        }
        return Heads(a, parts[0], parts[1], parts[2], scale, masks.ToArray());
    }

    /// <summary>
    /// T5's and MPNet's relative position bias on the scores, [1, heads, T, T] over the steps' range (a step graph's: [1, heads,
    /// 1, keys], its position's query over the <paramref name="keys"/>' positions): each key's distance j − i clipped to
    /// ±maxDistance (past it a half's distances share its last bucket), its bucket from a constant of the 2 · maxDistance + 1
    /// distances' (the runtime's <c>RelativePositionKernel.Bucket</c>, one-sided for a causal layer), then that bucket's row of
    /// the learned table.
    /// </summary>
    private string PositionBias(AttentionInfo a, string queries, string keys) => a.Alibi ? AlibiBias(a, queries, keys) : RelativeBias(a, queries, keys);

    /// <summary>
    /// ALiBi's bias on the scores, [1, heads, Tq, Tk]: −m_h · |j − i| for the <paramref name="queries"/>' and <paramref name="keys"/>'
    /// positions (the runtime's <c>AlibiKernel</c>: each head's slope a constant, the distances' magnitudes cast to float).
    /// </summary>
    private string AlibiBias(AttentionInfo a, string queries, string keys)
    {
        string n = a.Name + "_alibi";
        string distance = g.Add("Abs", n + "_distance", [g.Add("Sub", n + "_difference", [g.Add("Unsqueeze", n + "_keys", [keys, g.Int64s(n + "_keys_axis", 0)]),
            g.Add("Unsqueeze", n + "_queries", [queries, g.Int64s(n + "_queries_axis", 1)])])]); // [Tq, Tk]: |j − i|
        // (falcon-rw's, added before the scores' scale: its slopes scaled with them, as the runtime's AlibiKernel.Expand scales them)
        float[] slopes = Enumerable.Range(0, a.Heads).Select(h => (float)(-Kernels.AlibiKernel.Slope(h, a.Heads) * (a.AlibiScaled ? a.ScoreScale : 1f))).ToArray();
        string bias = g.Add("Mul", n + "_by_head", [g.Add("Cast", n + "_float", [distance], ("to", (long)ElementType.Float)), g.Floats(n + "_slopes", slopes, a.Heads, 1, 1)]);
        return g.Add("Unsqueeze", n + "_bias", [bias, g.Int64s(n + "_batch_axis", 0)]); // [1, heads, Tq, Tk]
    }

    private string RelativeBias(AttentionInfo a, string queries, string keys)
    {
        string n = a.Name + "_relative";
        int far = a.RelativeMaxDistance;
        string distance = g.Add("Sub", n + "_distance", [g.Add("Unsqueeze", n + "_keys", [keys, g.Int64s(n + "_keys_axis", 0)]),
            g.Add("Unsqueeze", n + "_queries", [queries, g.Int64s(n + "_queries_axis", 1)])]); // [Tq, Tk]: j − i
        string clipped = g.Add("Max", n + "_from", [g.Add("Min", n + "_to", [distance, g.Int64s(n + "_far", far)]), g.Int64s(n + "_near", -far)]);
        string index = g.Add("Add", n + "_index", [clipped, g.Int64s(n + "_offset", far)]);
        long[] buckets = Enumerable.Range(-far, 2 * far + 1).Select(d => (long)Kernels.RelativePositionKernel.Bucket(d, a.RelativeBuckets, far, bidirectional: !a.Causal)).ToArray();
        string bucket = g.Add("Gather", n + "_bucket", [g.Int64s(n + "_buckets", buckets), index], ("axis", 0L)); // [Tq, Tk]
        // (a layer that shares the first's table reads that one initializer)
        string table = a.RelativeSharedWith is { } owner ? Weight(a with { Name = owner }, "relative_attention_bias.weight") : Weight(a, "relative_attention_bias.weight");
        string bias = g.Add("Gather", n + "_by_bucket", [table, bucket], ("axis", 0L)); // [Tq, Tk, heads]
        return g.Add("Unsqueeze", n + "_bias", [g.Add("Transpose", n + "_heads", [bias], ("perm", new long[] { 2, 0, 1 })), g.Int64s(n + "_batch_axis", 0)]);
    }

    /// <summary>
    /// Self-attention's [q, k, v] = x·W_inᵀ + b_in (clipped to ±ClipQkv where it is set), q [B, T, heads · d] and k, v [B, T, kvHeads · d], each head of q and k
    /// RMS-normalised with QK-norm, q and k turned by their positions when the layer is rotary (the steps' range, or a step
    /// graph's position input), and its score scale (1/√d; 1 for Dot).
    /// </summary>
    private (string[] Parts, float Scale) Projected(AttentionInfo a, string x)
    {
        int kv = a.KeyValueWidth;
        string n = a.Name;
        string qkv = InProjection(a, x);
        if (a.ClipQkv > 0f) qkv = g.Add("Clip", n + "_clipped", [qkv, g.Floats(n + "_clip_low", [-a.ClipQkv]), g.Floats(n + "_clip_high", [a.ClipQkv])]);
        string[] parts = g.AddMany("Split", n + "_split", [qkv, g.Int64s(n + "_sizes", a.QueryWidth, kv, kv)], 3, ("axis", 2L));
        if (a.QueryKeyNorm)
            parts = a.QueryKeyNormAcrossHeads
                ? [RmsNormalised(n + "_q_norm", parts[0], a.QueryKeyNormEpsilon, Weight(a, "q_norm.weight")), RmsNormalised(n + "_k_norm", parts[1], a.QueryKeyNormEpsilon, Weight(a, "k_norm.weight")), parts[2]]
                : [HeadsNormalised(a, parts[0], "q", a.Heads), HeadsNormalised(a, parts[1], "k", a.KeyValueHeadCount), parts[2]];
        if (a.RotaryBase > 0f)
        {
            var (cos, sin) = RotaryAngles(a, Stepping ? Position! : StepRange(x, n + "_rotary"));
            // a new array: the Split node's outputs are the array it returned
            parts = [Rotated(a, parts[0], "q", a.Heads, cos, sin), Rotated(a, parts[1], "k", a.KeyValueHeadCount, cos, sin), parts[2]];
        }
        return (parts, a.ScoreScale);
    }

    /// <summary>QK-norm: q or k [B, T, h · d] (h its heads) with each head RMS-normalised and scaled by <c>{which}_norm.weight</c>.</summary>
    private string HeadsNormalised(AttentionInfo a, string value, string which, int h)
    {
        string n = $"{a.Name}_{which}_norm";
        string heads = g.Add("Reshape", n + "_heads", [value, g.Int64s(n + "_shape", 0, 0, h, a.HeadSize)]);
        string normalised = RmsNormalised(n + "_scaled", heads, a.QueryKeyNormEpsilon, Weight(a, which + "_norm.weight"));
        return g.Add("Reshape", n, [normalised, g.Int64s(n + "_flat", 0, 0, h * a.HeadSize)]);
    }

    /// <summary>[q, k, v] = x·W_inᵀ (+ b_in), [B, T, heads · d + 2 · E_kv] (3E for nn.MultiheadAttention's heads).</summary>
    private string InProjection(AttentionInfo a, string x)
    {
        string product = g.Add("MatMul", a.Name + "_in", [x, Transposed(a, "in_proj_weight", a.QueryWidth + 2 * a.KeyValueWidth, a.InWidth)]);
        return a.Bias ? g.Add("Add", a.Name + "_qkv", [product, Weight(a, "in_proj_bias")]) : product;
    }

    /// <summary>The heads' outputs side by side through out_proj: context·W_outᵀ (+ b_out), the last node named after the layer.</summary>
    private string OutProjection(AttentionInfo a, string context)
    {
        bool bias = a.HasOutputBias;
        string product = g.Add("MatMul", bias ? a.Name + "_out" : a.Name, [context, Transposed(a, "out_proj.weight", a.InWidth, a.QueryWidth)]);
        return bias ? g.Add("Add", a.Name, [product, Weight(a, "out_proj.bias")]) : product;
    }

    /// <summary>
    /// The rotary angles' cosines and sines at <paramref name="positions"/> (int64 [T]) as the runtime computes them: position ·
    /// base^(−2j/d) in double, rounded to float after Cos and Sin; each [T, 1, d/2], to broadcast over [B, T, heads, d/2].
    /// </summary>
    private (string Cos, string Sin) RotaryAngles(AttentionInfo a, string positions)
    {
        string n = a.Name + "_rotary";
        int d = a.RotaryWidth, half = d / 2; // (the values turned: a partial rotation's first ones)
        string Frequencies(string name, RotaryScaling scaling) =>
            g.Doubles(name, Enumerable.Range(0, half).Select(j => Kernels.RotaryKernel.Frequency(j, d, a.RotaryBase, scaling)).ToArray());
        // the pass's reach, its last position + 1 ([1], int64), by which LongRoPE and dynamic NTK choose their frequencies
        string Reach() => g.Add("Add", n + "_reach", [g.Add("ReduceMax", n + "_last", [positions], ("keepdims", 0L)), g.Int64s(n + "_one", 1)]);
        string frequencies = Frequencies(n + ".frequencies", a.RotaryScaling.ForPass(0));
        if (a.RotaryScaling is { Kind: RotaryScalingKind.LongRope, IsScaled: true } longRope)
        {
            // LongRoPE: the long factors' frequencies where the pass reaches past the original context, as the runtime
            string past = g.Add("Greater", n + "_past_original", [Reach(), g.Int64s(n + "_original", longRope.OriginalContext)]);
            frequencies = g.Add("Where", n + "_frequencies", [past, Frequencies(n + ".long_frequencies", longRope.ForPass(long.MaxValue)), frequencies]);
        }
        else if (a.RotaryScaling is { Kind: RotaryScalingKind.Dynamic, IsScaled: true } dynamic)
        {
            // dynamic NTK: past the original context L, the base θ · (factor · reach / L − (factor − 1))^(d / (d − 2)), then
            // base^(−2j/d), in double and in the runtime's order (RotaryScaling.DynamicBase); within it the constant frequencies, as
            // the runtime's (the growth clamped at 1 keeps the unused branch finite)
            double growthFactor = dynamic.Factor;
            string reachInt = Reach();
            string reach = g.Add("Cast", n + "_reach_double", [reachInt], ("to", (long)ElementType.Double));
            string growth = g.Add("Sub", n + "_growth_raw", [g.Add("Div", n + "_over_original", [g.Add("Mul", n + "_times_factor", [reach, g.Doubles(n + "_factor", growthFactor)]),
                g.Doubles(n + "_original", dynamic.OriginalContext)]), g.Doubles(n + "_factor_less_one", growthFactor - 1.0)]);
            growth = g.Add("Max", n + "_growth", [growth, g.Doubles(n + "_unit", 1.0)]);
            string raised = g.Add("Mul", n + "_base", [g.Add("Pow", n + "_growth_power", [growth, g.Doubles(n + "_exponent", d / (d - 2.0))]), g.Doubles(n + "_theta", a.RotaryBase)]);
            string past = g.Add("Greater", n + "_past_original", [reachInt, g.Int64s(n + "_original_steps", dynamic.OriginalContext)]);
            frequencies = g.Add("Where", n + "_frequencies", [past,
                g.Add("Pow", n + "_raised_frequencies", [raised, g.Doubles(n + "_pair_exponents", Enumerable.Range(0, half).Select(j => -2.0 * j / d).ToArray())]), frequencies]);
        }
        string column = g.Add("Cast", n + "_positions", [g.Add("Unsqueeze", n + "_column", [positions, g.Int64s(n + "_axis1", 1)])], ("to", (long)ElementType.Double));
        string angles = g.Add("Mul", n + "_angles", [column, frequencies]); // [T, d/2]
        // (YaRN's and LongRoPE's attention factor on the cosines and sines after the rounding, as the runtime's table)
        float factor = a.RotaryScaling.AttentionFactor;
        string Rounded(string op) => g.Add("Cast", $"{n}_{op}", [g.Add(op, $"{n}_{op}_double", [angles])], ("to", (long)ElementType.Float));
        string Scaled(string op) => factor == 1f ? Rounded(op) : g.Add("Mul", $"{n}_{op}_scaled", [Rounded(op), g.Floats($"{n}_{op}_factor", [factor])]);
        string Rows(string op) => g.Add("Unsqueeze", $"{n}_{op}_3d", [Scaled(op), g.Int64s($"{n}_{op}_axis", 1)]);
        return (Rows("Cos"), Rows("Sin"));
    }

    /// <summary>q or k [B, T, h · d] (h its heads) with each head's pairs (j, j + d/2) turned: (x·cos − y·sin, y·cos + x·sin).</summary>
    private string Rotated(AttentionInfo a, string value, string which, int h, string cos, string sin)
    {
        string n = $"{a.Name}_{which}_rotary";
        int half = a.RotaryWidth / 2, d = a.HeadSize, E = h * d, rest = d - 2 * half;
        string heads = g.Add("Reshape", n + "_heads", [value, g.Int64s(n + "_shape", 0, 0, h, d)]);
        // a partial rotation leaves each head's values past its first 2 · half as they are
        string[] xy = rest == 0 ? g.AddMany("Split", n + "_halves", [heads, g.Int64s(n + "_sizes", half, half)], 2, ("axis", 3L))
            : g.AddMany("Split", n + "_halves", [heads, g.Int64s(n + "_sizes", half, half, rest)], 3, ("axis", 3L));
        string Product(string left, string right, string hint) => g.Add("Mul", n + hint, [left, right]);
        string x = g.Add("Sub", n + "_x", [Product(xy[0], cos, "_x_cos"), Product(xy[1], sin, "_y_sin")]);
        string y = g.Add("Add", n + "_y", [Product(xy[1], cos, "_y_cos"), Product(xy[0], sin, "_x_sin")]);
        string[] turned = rest == 0 ? [x, y] : [x, y, xy[2]];
        return g.Add("Reshape", n, [g.Add("Concat", n + "_pairs", turned, ("axis", 3L)), g.Int64s(n + "_flat", 0, 0, E)]);
    }

    /// <summary>
    /// nn.MultiheadAttention after its input projections: q [B, T, h·d], k and v [B, S, g·d] (E and E but for grouped-query attention or heads of their own width) split into heads, per head
    /// softmax(q·kᵀ·scale + masks)·v (each mask broadcast to [B, heads, T, S]), the heads side by side, ·W_outᵀ + b_out.
    /// Grouped-query attention: k and v [B, S, E_kv] have fewer heads, each gathered for the group of query heads that reads it.
    /// </summary>
    private string Heads(AttentionInfo a, string q, string k, string v, float scale, params string[] masks)
    {
        string n = a.Name;
        int h = a.Heads, d = a.HeadSize, E = h * d, kvHeads = a.KeyValueHeadCount;
        string shape = g.Int64s(n + "_heads_shape", 0, 0, h, d);
        string kvShape = kvHeads == h ? shape : g.Int64s(n + "_kv_heads_shape", 0, 0, kvHeads, d);
        string groups = kvHeads == h ? "" : g.Int64s(n + "_kv_groups", Enumerable.Range(0, h).Select(i => (long)(i / (h / kvHeads))).ToArray());
        string Split(string value, string which, long[] perm, bool keyValue = false)
        {
            string heads = g.Add("Transpose", $"{n}_{which}_heads", [g.Add("Reshape", $"{n}_{which}_split", [value, keyValue ? kvShape : shape])], ("perm", perm));
            // query head i reads key/value head i / group (Hugging Face's repeat_kv)
            return !keyValue || kvHeads == h ? heads : g.Add("Gather", $"{n}_{which}_grouped", [heads, groups], ("axis", 1L));
        }
        string qk = g.Add("MatMul", n + "_qk", [Split(q, "q", [0, 2, 1, 3]), Split(k, "kT", [0, 2, 3, 1], true)]);
        // Gemma 2's soft cap: cap · tanh(q·k · scale / cap)
        string scores = a.SoftCap > 0f ? Capped(n + "_scores", qk, scale / a.SoftCap, a.SoftCap) : g.Add("Mul", n + "_scores", [qk, g.Floats(n + "_scale", [scale])]);
        foreach (string mask in masks) scores = g.Add("Add", n + "_masked", [scores, mask]);
        string weights = g.Add("Softmax", n + "_weights", [scores], ("axis", -1L));
        string context = g.Add("Transpose", n + "_context", [g.Add("MatMul", n + "_av", [weights, Split(v, "v", [0, 2, 1, 3], true)])], ("perm", new long[] { 0, 2, 1, 3 }));
        context = g.Add("Reshape", n + "_concat", [context, g.Int64s(n + "_flat", 0, 0, E)]);
        return OutProjection(a, context);
    }

    /// <summary>
    /// One step of causal multi-head self-attention from its key/value cache [B, past, 2E]: this step's keys and values
    /// join the cache (the next cache is an output), and its query attends over all of them.
    /// </summary>
    private string SelfAttentionStep(AttentionInfo a, string x)
    {
        string n = a.Name;
        int kv = a.KeyValueWidth;
        var (parts, scale) = Projected(a, x);
        string[] cached = g.AddMany("Split", n + "_cache_split", [CacheIn[n + ".cache"], g.Int64s(n + "_cache_sizes", kv, kv)], 2, ("axis", 2L));
        string keys = g.Add("Concat", n + "_keys", [cached[0], parts[1]], ("axis", 1L)), values = g.Add("Concat", n + "_values", [cached[1], parts[2]], ("axis", 1L));
        CacheOut[n + ".cache"] = g.Add("Concat", n + "_next_cache", [keys, values], ("axis", 2L));
        // the keys' positions 0 … position (for a relative position bias)
        string? positions = a.RelativeBuckets == 0 && !a.Alibi ? null : g.Add("Range", n + "_key_positions", [g.Int64Scalar(n + "_key_first", 0),
            g.Add("Add", n + "_key_count", [g.Add("Squeeze", n + "_position_scalar", [Position!]), g.Int64Scalar(n + "_key_one", 1)]), g.Int64Scalar(n + "_key_step", 1)]);
        if (a.SlidingWindow > 0)
        {
            // the step's query sees the window's most recent keys and values (Slice clamps a start before the first to it)
            string[] bounds = [g.Int64s(n + "_window_start", -a.SlidingWindow), g.Int64s(n + "_window_end", long.MaxValue), g.Int64s(n + "_window_axis", 1)];
            keys = g.Add("Slice", n + "_window_keys", [keys, .. bounds]);
            values = g.Add("Slice", n + "_window_values", [values, .. bounds]);
            if (positions is not null) positions = g.Add("Slice", n + "_window_positions", [positions, bounds[0], bounds[1], g.Int64s(n + "_window_positions_axis", 0)]);
        }
        return positions is null ? Heads(a, parts[0], keys, values, scale) : Heads(a, parts[0], keys, values, scale, PositionBias(a, Position!, positions));
    }

    /// <summary>
    /// One step of causal General or Additive self-attention from its caches: the step's input and key join the
    /// inputs and keys of the steps taken (the next caches are outputs); its query attends over all of them.
    /// </summary>
    private string ClassicSelfStep(AttentionInfo a, string x)
    {
        string n = a.Name;
        int E = a.InWidth, units = a.Units > 0 ? a.Units : E;
        string inputs = g.Add("Concat", n + "_inputs", [CacheIn[n + ".inputs"], x], ("axis", 1L)); // [B, past + 1, E]
        string scores;
        if (a.Score == AttentionScore.General)
        {
            string keys = g.Add("Concat", n + "_keys", [CacheIn[n + ".keys"], g.Add("MatMul", n + "_key", [x, Transposed(a, "weight", E, E)])], ("axis", 1L));
            CacheOut[n + ".keys"] = keys;
            scores = g.Add("MatMul", n + "_scores", [x, g.Add("Transpose", n + "_keys_t", [keys], ("perm", new long[] { 0, 2, 1 }))]); // [B, 1, past + 1]
        }
        else
        {
            string keys = g.Add("Concat", n + "_keys", [CacheIn[n + ".keys"], g.Add("MatMul", n + "_key", [x, Transposed(a, "key.weight", units, E)])], ("axis", 1L));
            CacheOut[n + ".keys"] = keys;
            string q = g.Add("Add", n + "_q", [g.Add("MatMul", n + "_q_matmul", [x, Transposed(a, "query.weight", units, E)]), Weight(a, "query.bias")]);
            string hidden = g.Add("Tanh", n + "_hidden", [g.Add("Add", n + "_sum", [g.Add("Unsqueeze", n + "_q4", [q, g.Int64s(n + "_axis2", 2)]),
                g.Add("Unsqueeze", n + "_k4", [keys, g.Int64s(n + "_axis1_k", 1)])])]);
            scores = g.Add("Squeeze", n + "_scores", [g.Add("MatMul", n + "_v", [hidden, Transposed(a, "v.weight", 1, units)]), g.Int64s(n + "_last", -1)]);
        }
        CacheOut[n + ".inputs"] = inputs;
        string context = g.Add("MatMul", n + "_context", [g.Add("Softmax", n + "_weights", [scores], ("axis", -1L)), inputs]);
        return g.Add("Concat", n, [x, context], ("axis", 2L));
    }

    /// <summary>x + pe[position], the row at the step graph's position input (<see cref="Encodings"/>): any position.</summary>
    private string PositionalStep(PositionalEncodingInfo p, string x) => g.Add("Add", p.Name, [x, Encodings(p, Position!)]);

    /// <summary>
    /// pe at <paramref name="positions"/> (int64, [T, 1] or [1]) as the runtime computes it: angles in double precision,
    /// position · 10000^(−2i/W), sines at even columns and cosines at odd ones, then rounded to float; [T, W] or [W].
    /// </summary>
    private string Encodings(PositionalEncodingInfo p, string positions)
    {
        int W = p.Width;
        var frequencies = new byte[W * 8];
        var even = new byte[W];
        for (int j = 0; j < W; j++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(frequencies.AsSpan(j * 8), Kernels.PositionalEncodingKernel.Frequency(j, W));
            even[j] = (byte)(j % 2 == 0 ? 1 : 0);
        }
        string angles = g.Add("Mul", p.Name + "_angles", [g.Add("Cast", p.Name + "_position", [positions], ("to", (long)ElementType.Double)),
            g.Raw(p.Name + ".frequencies", ElementType.Double, frequencies, W)]);
        string rows = g.Add("Where", p.Name + "_rows_double", [g.Raw(p.Name + ".even", ElementType.Bool, even, W),
            g.Add("Sin", p.Name + "_sin", [angles]), g.Add("Cos", p.Name + "_cos", [angles])]);
        return g.Add("Cast", p.Name + "_rows", [rows], ("to", (long)ElementType.Float));
    }

    /// <summary>Wᵀ [cols, rows] of a parameter W [rows, cols], as the graph's value (for x·Wᵀ by MatMul).</summary>
    private string Transposed(LayerInfo layer, string suffix, int rows, int cols) =>
        WeightTensor.Of(Param(layer, suffix), rows, cols).Transposed().AddTo(g, $"{layer.Name}.{suffix}_t", cols, rows);

    /// <summary>The steps of a batch-major value [B, T, …] as a 1-D int64 [T].</summary>
    private string Steps(string x, string hint)
    {
        string shape = g.Add("Shape", hint + "_shape", [x]);
        return g.Add("Slice", hint + "_steps", [shape, g.Int64s(hint + "_one", 1), g.Int64s(hint + "_two", 2), g.Int64s(hint + "_zero", 0)]);
    }

    private string Recurrent(RecurrentInfo r, string x, string? lengths, LayerInfo? next)
    {
        if (r.FedWidth > 0)
        {
            // input feeding, one step: the input is [x; the context the state carries], [B, 1, X + M] — the context of the
            // attention layer right after this one (InputFeeding.Attach), each fed layer its own
            if (!Stepping) throw Unsupported(r, "input feeding couples it with the attention after it step by step: it exports in a step graph (ExportOnnx of the composition)");
            if (next is not AttentionInfo { InputFeeding: true } feeder)
                throw new InvalidOperationException($"Layer '{r.Name}' is fed a context {r.FedWidth} wide, but the layer after it is no input-fed attention.");
            string fed = StateIn.TryGetValue(feeder.Name + ".context", out string? context) ? context
                : throw new InvalidOperationException($"Layer '{r.Name}': the step graph carries no state '{feeder.Name}.context', the context attention '{feeder.Name}' feeds it.");
            x = g.Add("Concat", r.Name + "_fed_input", [x, g.Add("Unsqueeze", r.Name + "_fed_step", [fed, g.Int64s(r.Name + "_fed_axis", 1)])], ("axis", 2L));
        }
        if (r.Projection > 0) return ProjectedLstm(r, x, lengths);
        int dirs = r.Bidirectional ? 2 : 1, H = r.Hidden, G = r.Kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 } * H;
        string op = r.Kind switch { RecurrentKind.Lstm => "LSTM", RecurrentKind.Gru => "GRU", _ => "RNN" };
        if (lengths is not null) _lengths32 ??= g.Add("Cast", "lengths_int32", [lengths], ("to", (long)ElementType.Int32));
        // time-major [T, B, X], as ONNX's recurrent operators read it (layout 0)
        string seq = g.Add("Transpose", r.Name + "_time_major", [x], ("perm", new long[] { 1, 0, 2 }));
        string[] last = [];
        for (int l = 0; l < r.Layers; l++)
        {
            int inWidth = l == 0 ? r.InWidth + r.FedWidth : dirs * H;
            var w = new List<WeightTensor>();
            var rw = new List<WeightTensor>();
            var b = new float[dirs * 2 * G];
            var h0 = r.LearnInitialState ? new float[dirs * H] : null;
            var c0 = r.LearnInitialState && r.Kind == RecurrentKind.Lstm ? new float[dirs * H] : null;
            for (int d = 0; d < dirs; d++)
            {
                string suffix = $"_l{l}" + (d == 1 ? "_reverse" : "");
                w.Add(WeightTensor.Of(Param(r, "weight_ih" + suffix), G, inWidth));
                rw.Add(WeightTensor.Of(Param(r, "weight_hh" + suffix), G, H));
                GateOrder.ToOnnx(r.Kind, Values(Param(r, "bias_ih" + suffix)), H, 1, b.AsSpan(d * 2 * G));
                GateOrder.ToOnnx(r.Kind, Values(Param(r, "bias_hh" + suffix)), H, 1, b.AsSpan(d * 2 * G + G));
                if (h0 is not null) Values(Param(r, "h0" + suffix)).CopyTo(h0.AsSpan(d * H));
                if (c0 is not null) Values(Param(r, "c0" + suffix)).CopyTo(c0.AsSpan(d * H));
            }
            string name = $"{r.Name}_l{l}";
            var inputs = new List<string>
            {
                seq, WeightTensor.Gates(r.Kind, H, w).AddTo(g, $"{r.Name}.W_l{l}", dirs, G, inWidth), WeightTensor.Gates(r.Kind, H, rw).AddTo(g, $"{r.Name}.R_l{l}", dirs, G, H),
                g.Floats($"{r.Name}.B_l{l}", b, dirs, 2 * G),
                _lengths32 ?? "",
            };
            if (StateIn.TryGetValue($"{r.Name}.h_l{l}", out string? carried))
            {
                // a step graph: the carried state [B, width] as ONNX's initial_h [1, B, width] (a stepping layer is unidirectional);
                // a learned initial state is the input's default, [1, width]: expanded to the batch
                string? shape = h0 is null ? null
                    : g.Add("Concat", name + "_state_shape", [g.Int64s(name + "_dirs", 1), Batch(seq, name), g.Int64s(name + "_hidden", H)], ("axis", 0L));
                string Initial(string state, string hint)
                {
                    string value = g.Add("Unsqueeze", hint, [state, g.Int64s(hint + "_axis0", 0)]);
                    return shape is null ? value : g.Add("Expand", hint + "_batch", [value, shape]);
                }
                inputs.Add(Initial(carried, name + "_h0"));
                if (r.Kind == RecurrentKind.Lstm) inputs.Add(Initial(StateIn[$"{r.Name}.c_l{l}"], name + "_c0"));
            }
            else if (h0 is not null)
            {
                // a learned initial state, the same for every sequence: [dirs, 1, H] expanded to [dirs, B, H]
                string shape = g.Add("Concat", name + "_state_shape", [g.Int64s(name + "_dirs", dirs), Batch(seq, name), g.Int64s(name + "_hidden", H)], ("axis", 0L));
                inputs.Add(g.Add("Expand", name + "_h0", [g.Floats($"{r.Name}.h0_l{l}", h0, dirs, 1, H), shape]));
                if (c0 is not null) inputs.Add(g.Add("Expand", name + "_c0", [g.Floats($"{r.Name}.c0_l{l}", c0, dirs, 1, H), shape]));
            }
            var attributes = new List<(string, object)> { ("hidden_size", (long)H), ("direction", r.Bidirectional ? "bidirectional" : "forward") };
            if (r.Kind == RecurrentKind.Gru) attributes.Add(("linear_before_reset", r.ResetAfter ? 1L : 0L));
            if (r.Kind == RecurrentKind.Rnn)
            {
                string act = r.Activation == Activation.Relu ? "Relu" : "Tanh";
                attributes.Add(("activations", Enumerable.Repeat(act, dirs).ToArray()));
            }
            last = g.AddMany(op, name, inputs.ToArray(), r.Kind == RecurrentKind.Lstm ? 3 : 2, attributes.ToArray());
            // the final states, each direction's at its last step (Y_h, Y_c [dirs, B, H]) → [B, dirs·H]
            StateOut[$"{r.Name}.h_l{l}"] = Final(last[1], name + "_hn");
            if (r.Kind == RecurrentKind.Lstm) StateOut[$"{r.Name}.c_l{l}"] = Final(last[2], name + "_cn");
            // Y [T, dirs, B, H] → [T, B, dirs·H], directions side by side as PyTorch puts them
            string y = g.Add("Transpose", name + "_y", [last[0]], ("perm", new long[] { 0, 2, 1, 3 }));
            seq = g.Add("Reshape", name + "_out", [y, g.Int64s(name + "_shape", 0, 0, -1)]);
        }
        if (r.OutIsSequence) return g.Add("Transpose", r.Name, [seq], ("perm", new long[] { 1, 0, 2 }));
        // many-to-one: the last layer's final states Y_h [dirs, B, H] → [B, dirs·H]
        string hn = g.Add("Transpose", r.Name + "_final", [last[1]], ("perm", new long[] { 1, 0, 2 }));
        return g.Add("Reshape", r.Name, [hn, g.Int64s(r.Name + "_final_shape", 0, -1)]);
    }

    /// <summary>
    /// An LSTM with a projection (nn.LSTM's proj_size), which ONNX's LSTM has not: each direction is a <c>Loop</c> over
    /// the steps whose body is one cell — gates = x_t·W_ihᵀ + b + h·W_hhᵀ, c' = f ⊙ c + i ⊙ g, h' = (o ⊙ tanh c')·W_hrᵀ —
    /// the input projection of every step computed before it. With lengths, a step past a sequence's length keeps its
    /// state and outputs zeros; the reverse direction reads each sequence reversed within its length (ReverseSequence).
    /// </summary>
    private string ProjectedLstm(RecurrentInfo r, string x, string? lengths)
    {
        int dirs = r.Bidirectional ? 2 : 1, H = r.Hidden, P = r.Projection, G = 4 * H;
        string n = r.Name;
        string seq = g.Add("Transpose", n + "_time_major", [x], ("perm", new long[] { 1, 0, 2 }));
        string shape = g.Add("Shape", n + "_shape", [seq]);
        string steps = g.Add("Gather", n + "_steps", [shape, g.Int64Scalar(n + "_zero", 0)], ("axis", 0L));
        string batch = g.Add("Slice", n + "_batch", [shape, g.Int64s(n + "_one", 1), g.Int64s(n + "_two", 2), g.Int64s(n + "_axis0", 0)]);
        // every sequence's length: the given ones, or all the steps (the reverse direction needs them to reverse)
        string? lens = lengths ?? (dirs == 2 ? g.Add("Expand", n + "_full", [g.Add("Unsqueeze", n + "_steps_1", [steps, g.Int64s(n + "_axis00", 0)]), batch]) : null);
        string Zeros(string hint, int width) =>
            g.Add("ConstantOfShape", hint, [g.Add("Concat", hint + "_shape", [batch, g.Int64s(hint + "_width", width)], ("axis", 0L))]);
        for (int l = 0; l < r.Layers; l++)
        {
            int inWidth = l == 0 ? r.InWidth + r.FedWidth : dirs * P;
            var outputs = new List<(string Y, string H, string C)>();
            for (int d = 0; d < dirs; d++)
            {
                string suffix = $"_l{l}" + (d == 1 ? "_reverse" : ""), name = n + suffix;
                float[] bias = Values(Param(r, "bias_ih" + suffix)).ToArray();
                ReadOnlySpan<float> bhh = Values(Param(r, "bias_hh" + suffix));
                for (int i = 0; i < G; i++) bias[i] += bhh[i];
                string input = d == 0 ? seq : g.Add("ReverseSequence", name + "_reversed", [seq, lens!], ("batch_axis", 1L), ("time_axis", 0L));
                string projected = g.Add("Add", name + "_xw", [g.Add("MatMul", name + "_xw_matmul", [input, Transposed(r, "weight_ih" + suffix, G, inWidth)]),
                    g.Floats(name + ".bias", bias, G)]); // [T, B, 4H]
                // a carried state [B, width]; one a layer learns has its learned value [1, width] as the input's default: expanded to the batch
                string Carried(string state, string hint, int width) => !r.LearnInitialState ? state
                    : g.Add("Expand", hint, [state, g.Add("Concat", hint + "_shape", [batch, g.Int64s(hint + "_width", width)], ("axis", 0L))]);
                string h0 = d == 0 && StateIn.TryGetValue($"{n}.h_l{l}", out string? carried) ? Carried(carried, name + "_h0_batch", P)
                    : r.LearnInitialState ? g.Add("Expand", name + "_h0", [g.Floats($"{name}.h0", Values(Param(r, "h0" + suffix)), 1, P), g.Add("Concat", name + "_h0_shape", [batch, g.Int64s(name + "_p", P)], ("axis", 0L))])
                    : Zeros(name + "_h0", P);
                string c0 = d == 0 && StateIn.TryGetValue($"{n}.c_l{l}", out string? carriedC) ? Carried(carriedC, name + "_c0_batch", H)
                    : r.LearnInitialState ? g.Add("Expand", name + "_c0", [g.Floats($"{name}.c0", Values(Param(r, "c0" + suffix)), 1, H), g.Add("Concat", name + "_c0_shape", [batch, g.Int64s(name + "_h", H)], ("axis", 0L))])
                    : Zeros(name + "_c0", H);
                string recurrent = Transposed(r, "weight_hh" + suffix, G, P), projection = Transposed(r, "weight_hr" + suffix, P, H);
                string sizes = g.Int64s(name + "_gate_sizes", H, H, H, H);

                // one step: the Loop's body, reading the values above from the enclosing graph
                OnnxGraph body = g.Subgraph(name + "_step");
                string iteration = body.Input(body.Fresh(name + "_t"), ElementType.Int64, Array.Empty<object>()); // scalars
                string condition = body.Input(body.Fresh(name + "_cond"), ElementType.Bool, Array.Empty<object>());
                string h = body.Input(body.Fresh(name + "_h"), ElementType.Float), c = body.Input(body.Fresh(name + "_c"), ElementType.Float);
                string xt = body.Add("Gather", name + "_x_t", [projected, iteration], ("axis", 0L));
                string gates = body.Add("Add", name + "_gates", [xt, body.Add("MatMul", name + "_hw", [h, recurrent])]);
                string[] gate = body.AddMany("Split", name + "_gate", [gates, sizes], 4, ("axis", 1L));
                string ig = body.Add("Sigmoid", name + "_i", [gate[0]]), fg = body.Add("Sigmoid", name + "_f", [gate[1]]);
                string gg = body.Add("Tanh", name + "_g", [gate[2]]), og = body.Add("Sigmoid", name + "_o", [gate[3]]);
                string cNext = body.Add("Add", name + "_c_next", [body.Add("Mul", name + "_fc", [fg, c]), body.Add("Mul", name + "_ig", [ig, gg])]);
                string hNext = body.Add("MatMul", name + "_h_next", [body.Add("Mul", name + "_m", [og, body.Add("Tanh", name + "_tanh_c", [cNext])]), projection]);
                string y = hNext;
                if (lens is not null)
                {
                    // past a sequence's length: keep the state, output zeros
                    string valid = body.Add("Unsqueeze", name + "_valid", [body.Add("Less", name + "_live", [iteration, lens]), g.Int64s(name + "_axis1", 1)]);
                    hNext = body.Add("Where", name + "_h_kept", [valid, hNext, h]);
                    cNext = body.Add("Where", name + "_c_kept", [valid, cNext, c]);
                    y = body.Add("Mul", name + "_y", [y, body.Add("Cast", name + "_valid_f", [valid], ("to", (long)ElementType.Float))]);
                }
                string conditionOut = body.Add("Identity", name + "_cond_out", [condition]);
                string hOut = body.Add("Identity", name + "_h_out", [hNext]), cOut = body.Add("Identity", name + "_c_out", [cNext]), yOut = body.Add("Identity", name + "_y_out", [y]);
                body.Output(conditionOut, ElementType.Bool, Array.Empty<object>());
                body.Output(hOut, ElementType.Float);
                body.Output(cOut, ElementType.Float);
                body.Output(yOut, ElementType.Float);
                string[] loop = g.AddMany("Loop", name + "_loop", [steps, "", h0, c0], 3, ("body", body));
                string ys = d == 0 ? loop[2] : g.Add("ReverseSequence", name + "_y_reversed", [loop[2], lens!], ("batch_axis", 1L), ("time_axis", 0L));
                outputs.Add((ys, loop[0], loop[1]));
            }
            seq = dirs == 1 ? outputs[0].Y : g.Add("Concat", $"{n}_l{l}_out", [outputs[0].Y, outputs[1].Y], ("axis", 2L));
            StateOut[$"{n}.h_l{l}"] = dirs == 1 ? outputs[0].H : g.Add("Concat", $"{n}_l{l}_hn", [outputs[0].H, outputs[1].H], ("axis", 1L));
            StateOut[$"{n}.c_l{l}"] = dirs == 1 ? outputs[0].C : g.Add("Concat", $"{n}_l{l}_cn", [outputs[0].C, outputs[1].C], ("axis", 1L));
        }
        return r.OutIsSequence ? g.Add("Transpose", n, [seq], ("perm", new long[] { 1, 0, 2 })) : StateOut[$"{n}.h_l{r.Layers - 1}"];
    }

    /// <summary>A final state [dirs, B, H] as [B, dirs·H].</summary>
    private string Final(string state, string hint) =>
        g.Add("Reshape", hint, [g.Add("Transpose", hint + "_batch_major", [state], ("perm", new long[] { 1, 0, 2 })), g.Int64s(hint + "_shape", 0, -1)]);

    /// <summary>−1e9 at the memory's steps past each sequence's length: [B, 1, S], for scores [B, T, S].</summary>
    private string MemoryMask(string hint) => KeyMask(Memory!.Value.Memory, Memory.Value.Lengths, hint);

    /// <summary>−1e9 at the steps of <paramref name="keys"/> (batch-major [B, S, …]) past each sequence's length: [B, 1, S].</summary>
    private string KeyMask(string keys, string lengths, string hint)
    {
        string mask = g.Add("Where", hint + "_padding", [Past(keys, lengths, hint), g.Floats(hint + "_minus", [-1e9f]), g.Floats(hint + "_zero_f", [0f])]);
        return g.Add("Unsqueeze", hint + "_mask", [mask, g.Int64s(hint + "_mask_axis", 1)]);
    }

    /// <summary>True at the steps of <paramref name="x"/> (batch-major [B, T, …]) past each sequence's length: bool [B, T].</summary>
    private string Past(string x, string lengths, string hint) =>
        g.Add("GreaterOrEqual", hint + "_past", [g.Add("Unsqueeze", hint + "_row", [StepRange(x, hint), g.Int64s(hint + "_axes0", 0)]),
            g.Add("Unsqueeze", hint + "_column", [lengths, g.Int64s(hint + "_axes1", 1)])]);

    /// <summary>0 … T − 1 (int64 [T]) for the steps of a batch-major value [B, T, …].</summary>
    private string StepRange(string x, string hint) =>
        g.Add("Range", hint + "_range", [g.Int64Scalar(hint + "_first", 0), g.Add("Squeeze", hint + "_count", [Steps(x, hint + "_of")]), g.Int64Scalar(hint + "_step", 1)]);

    /// <summary>
    /// A float input (or memory) [B, T, F] with zeros at each sequence's padded steps, as the runtime reads it: what padding
    /// holds (NaN included) then reaches no valid step, through an attention's scores (NaN + −1e9 is NaN) or a product by 0.
    /// </summary>
    public string MaskPaddedSteps(string x, string lengths, string hint = "input") =>
        g.Add("Where", hint + "_masked", [g.Add("Unsqueeze", hint + "_past_3d", [Past(x, lengths, hint), g.Int64s(hint + "_axis2", 2)]),
            g.Floats(hint + "_zero", [0f]), x]);

    /// <summary>
    /// x plus the row of each token's type: the separators before it (CumSum, exclusive, of ids = separator), at most types − 1,
    /// over the model's ids as the embedding read them.
    /// </summary>
    private string TokenTypes(TokenTypeEmbeddingInfo t, string x)
    {
        string n = t.Name, ids = _ids ?? throw Unsupported(t, "its model reads no token ids");
        string separators = g.Add("Cast", n + "_separators", [g.Add("Equal", n + "_is_separator", [ids, g.Int64Scalar(n + "_separator", t.Separator)])], ("to", (long)ElementType.Int64));
        string before = g.Add("CumSum", n + "_before", [separators, g.Int64Scalar(n + "_steps_axis", 1)], ("exclusive", 1L));
        string types = g.Add("Min", n + "_types", [before, g.Int64Scalar(n + "_last_type", t.Types - 1)]);
        return g.Add("Add", n, [x, g.Add("Gather", n + "_rows", [Weight(t, "weight"), types], ("axis", 0L))]);
    }

    /// <summary>
    /// <c>[Pool]</c> over a batch-major [B, T, W]: the first step (Gather), the last (of each length: the step where
    /// t = length − 1 kept by Where, the others zero, summed over the steps), or the mean (of the valid steps: the padded ones
    /// zeroed, summed, divided by the length).
    /// </summary>
    private string Pool(PoolInfo p, string x, string? lengths)
    {
        string n = p.Name, stepsAxis = g.Int64s(n + "_steps_axis", 1);
        switch (p.Kind)
        {
            case PoolKind.First:
                return g.Add("Gather", n, [x, g.Int64Scalar(n + "_first", 0)], ("axis", 1L));
            case PoolKind.Last when lengths is null:
                return g.Add("Gather", n, [x, g.Int64Scalar(n + "_last", -1)], ("axis", 1L));
            case PoolKind.Last:
                string last = g.Add("Sub", n + "_last_step", [lengths, g.Int64s(n + "_one", 1)]);
                string at = g.Add("Equal", n + "_at_last", [g.Add("Unsqueeze", n + "_row", [StepRange(x, n), g.Int64s(n + "_axes0", 0)]),
                    g.Add("Unsqueeze", n + "_column", [last, g.Int64s(n + "_axes1", 1)])]);
                string kept = g.Add("Where", n + "_kept", [g.Add("Unsqueeze", n + "_at_last_3d", [at, g.Int64s(n + "_axis2", 2)]), x, g.Floats(n + "_zero", [0f])]);
                return g.Add("ReduceSum", n, [kept, stepsAxis], ("keepdims", 0L));
            case PoolKind.Max:
                // the padded steps at −∞, then the largest over the steps
                string valid = lengths is null ? x : g.Add("Where", n + "_valid", [g.Add("Unsqueeze", n + "_past_3d", [Past(x, lengths, n), g.Int64s(n + "_axis2", 2)]),
                    g.Floats(n + "_minus_infinity", [float.NegativeInfinity]), x]);
                return g.Add("ReduceMax", n, [valid], ("axes", new long[] { 1 }), ("keepdims", 0L));
            default:
                if (lengths is null) return g.Add("ReduceMean", n, [x], ("axes", new long[] { 1 }), ("keepdims", 0L));
                string sum = g.Add("ReduceSum", n + "_sum", [MaskPaddedSteps(x, lengths, n), stepsAxis], ("keepdims", 0L));
                string count = g.Add("Unsqueeze", n + "_count", [g.Add("Cast", n + "_lengths_float", [lengths], ("to", (long)ElementType.Float)), g.Int64s(n + "_count_axis", 1)]);
                return g.Add("Div", n, [sum, count]);
        }
    }

    private string? _memory;

    /// <summary>
    /// The memory cross-attention reads, zero at each source's padded steps (past memory_lengths), computed once for every
    /// cross-attention layer: the runtime reads only a source's own steps, and what padding holds (NaN included) would
    /// otherwise reach the outputs (NaN + −1e9 in the scores, 0·NaN in weights·memory).
    /// </summary>
    private string MemoryValue => _memory ??= MaskPaddedSteps(Memory!.Value.Memory, Memory.Value.Lengths, "memory");

    /// <summary>
    /// A sliding window's band and the padded keys' mask together, [B, T, T]: where a padded query's window holds no valid key,
    /// it keeps the sequence's last valid one, as the runtime's kernels (its output is padding's, but the graph gives the same).
    /// </summary>
    private string WindowPaddingMask(string x, string lengths, string n, AttentionInfo a)
    {
        string both = g.Add("Add", n + "_band_padding", [StepsMask(x, n, a.SlidingWindow, a.Causal), KeyMask(x, lengths, n)]);
        string best = g.Add("ReduceMax", n + "_best_key", [both], ("axes", new long[] { -1 }), ("keepdims", 1L));
        string none = g.Add("Less", n + "_no_key", [best, g.Floats(n + "_half_minus", [-5e8f])]); // [B, T, 1]
        string last = g.Add("Sub", n + "_last_valid", [lengths, g.Int64s(n + "_one_key", 1)]);
        string atLast = g.Add("Equal", n + "_at_last_key", [g.Add("Unsqueeze", n + "_key_row", [StepRange(x, n + "_keys"), g.Int64s(n + "_keys_axes0", 0)]),
            g.Add("Unsqueeze", n + "_last_column", [last, g.Int64s(n + "_last_axes1", 1)])]); // [B, T]
        string fallback = g.Add("Where", n + "_last_only", [atLast, g.Floats(n + "_keep_f", [0f]), g.Floats(n + "_drop_f", [-1e9f])]);
        return g.Add("Where", n + "_window_padding", [none, g.Add("Unsqueeze", n + "_fallback", [fallback, g.Int64s(n + "_fallback_axis", 1)]), both]);
    }

    /// <summary>
    /// −1e9 above the diagonal of a [T, T] matrix of the steps of <paramref name="x"/> (batch-major [B, T, …]), and with a
    /// sliding <paramref name="window"/>, at and below its <paramref name="window"/>-th subdiagonal too (key j ≤ i − window);
    /// not <paramref name="causal"/>, −1e9 where |j − i| &gt; window / 2 (the window on both sides).
    /// </summary>
    private string StepsMask(string x, string hint, int window = 0, bool causal = true)
    {
        string steps = Steps(x, hint + "_causal");
        string square = g.Add("Concat", hint + "_square", [steps, steps], ("axis", 0L));
        string ones = g.Add("Add", hint + "_ones", [g.Add("ConstantOfShape", hint + "_zeros", [square]), g.Floats(hint + "_one", [1f])]);
        int after = causal ? 0 : window / 2, before = causal ? window - 1 : window / 2; // (the keys seen after and before the query)
        string masked = g.Add("Trilu", hint + "_upper", [ones, g.Int64Scalar(hint + "_k", after + 1)], ("upper", 1L)); // k: a 0-D tensor, as the spec has it
        if (window > 0)
            masked = g.Add("Add", hint + "_outside_window", [masked, g.Add("Trilu", hint + "_before_window", [ones, g.Int64Scalar(hint + "_window_k", -(before + 1))], ("upper", 0L))]);
        return g.Add("Mul", hint + "_causal_mask", [masked, g.Floats(hint + "_minus_causal", [-1e9f])]);
    }

    /// <summary>
    /// The classic scores over the layer's own steps (self) or from a learned query (pooling): General x·W·k, Additive
    /// vᵀ tanh(W_q x + b_q + W_k k) (pooling: vᵀ tanh(W_k k + b_k)); self output [x; context], pooling the context.
    /// </summary>
    private string ClassicSelf(AttentionInfo a, string x, string? lengths)
    {
        string n = a.Name;
        int E = a.InWidth, units = a.Units > 0 ? a.Units : E;
        string xT = g.Add("Transpose", n + "_x_t", [x], ("perm", new long[] { 0, 2, 1 }));
        string scores; // [B, T, T] (self) or [B, 1, T] (pooling)
        if (a.Score == AttentionScore.General)
        {
            string keys = g.Add("MatMul", n + "_keys", [x, Transposed(a, "weight", E, E)]); // x·Wᵀ: [B, T, E]
            scores = a.Pool
                ? g.Add("Transpose", n + "_scores", [g.Add("MatMul", n + "_by_query", [keys, WeightTensor.Of(Param(a, "query"), 1, E).Transposed().AddTo(g, n + ".query_column", E, 1)])], ("perm", new long[] { 0, 2, 1 }))
                : g.Add("MatMul", n + "_scores", [x, g.Add("Transpose", n + "_keys_t", [keys], ("perm", new long[] { 0, 2, 1 }))]);
        }
        else if (a.Pool)
        {
            string k = g.Add("Add", n + "_k", [g.Add("MatMul", n + "_k_matmul", [x, Transposed(a, "key.weight", units, E)]), Weight(a, "key.bias")]);
            string s = g.Add("MatMul", n + "_v", [g.Add("Tanh", n + "_hidden", [k]), Transposed(a, "v.weight", 1, units)]); // [B, T, 1]
            scores = g.Add("Transpose", n + "_scores", [s], ("perm", new long[] { 0, 2, 1 }));
        }
        else
        {
            scores = Additive(a, x, x);
        }
        if (a.Causal) scores = g.Add("Add", n + "_causal", [scores, StepsMask(x, n)]);
        if (lengths is not null) scores = g.Add("Add", n + "_padded", [scores, KeyMask(x, lengths, n)]);
        string context = g.Add("MatMul", n + "_context", [g.Add("Softmax", n + "_weights", [scores], ("axis", -1L)), x]);
        return a.Pool
            ? g.Add("Squeeze", n, [context, g.Int64s(n + "_pooled", 1)])
            : g.Add("Concat", n, [x, context], ("axis", 2L));
    }

    /// <summary>Multi-head attention pooling: the learned query's projection (a constant) attends over the keys x·W_kᵀ + b_k.</summary>
    private string MultiHeadPool(AttentionInfo a, string x, string? lengths)
    {
        int E = a.InWidth, h = a.Heads, d = E / h;
        string n = a.Name;
        ReadOnlySpan<float> w = Values(Param(a, "in_proj_weight")), b = a.Bias ? Values(Param(a, "in_proj_bias")) : new float[E], query = Values(Param(a, "query"));
        float scale = a.Score == AttentionScore.Dot ? 1f : 1f / MathF.Sqrt(d);
        var q = new float[E]; // (query·W_qᵀ + b_q)·scale, once
        for (int r = 0; r < E; r++)
        {
            float sum = b[r];
            for (int c = 0; c < E; c++) sum += query[c] * w[r * E + c];
            q[r] = sum * scale;
        }
        string qkv = InProjection(a, x);
        string[] parts = g.AddMany("Split", n + "_split", [qkv, g.Int64s(n + "_sizes", E, E, E)], 3, ("axis", 2L));
        string heads = g.Int64s(n + "_heads_shape", 0, 0, h, d);
        string kT = g.Add("Transpose", n + "_kT", [g.Add("Reshape", n + "_k_heads", [parts[1], heads])], ("perm", new long[] { 0, 2, 3, 1 }));
        string v = g.Add("Transpose", n + "_v", [g.Add("Reshape", n + "_v_heads", [parts[2], heads])], ("perm", new long[] { 0, 2, 1, 3 }));
        string scores = g.Add("MatMul", n + "_scores", [g.Floats(n + ".query_heads", q, h, 1, d), kT]); // [B, h, 1, T]
        if (lengths is not null) scores = g.Add("Add", n + "_padded", [scores, g.Add("Unsqueeze", n + "_padding_4d", [KeyMask(x, lengths, n), g.Int64s(n + "_axis1", 1)])]);
        string context = g.Add("MatMul", n + "_av", [g.Add("Softmax", n + "_weights", [scores], ("axis", -1L)), v]); // [B, h, 1, d]
        context = g.Add("Reshape", n + "_concat", [context, g.Int64s(n + "_flat", 0, E)]);
        return OutProjection(a, context);
    }

    /// <summary>
    /// Cross-attention over the memory: nn.MultiheadAttention (ScaledDot; q from x, k and v from the memory, each
    /// projected) or the classic scores (Dot x·m, General x·W·m, Additive vᵀ tanh(W_q x + b_q + W_k m); output [x; context]).
    /// Padded memory steps get −1e9, and read as zeros (<see cref="MemoryValue"/>).
    /// </summary>
    private string CrossAttention(AttentionInfo a, string x)
    {
        string n = a.Name, memory = MemoryValue;
        int Q = a.InWidth, M = a.MemoryWidth;
        if (a.Score == AttentionScore.ScaledDot)
        {
            // the heads' width qw = heads · d (Q unless HeadWidth sets d apart), the scores' scale Scale or 1/√d
            int qw = a.QueryWidth;
            bool packed = parameters.Any(p => p.Name == prefix + n + ".in_proj_weight");
            float[]? bias = a.Bias ? Values(Param(a, "in_proj_bias")).ToArray() : null;
            string Project(string value, int block, string which, int inWidth)
            {
                // one projection's weight [qw, inWidth] (a block of in_proj_weight when M = Q) transposed, and its bias block
                WeightTensor w = packed ? WeightTensor.Of(Param(a, "in_proj_weight"), 3 * qw, Q).RowRange(block * qw, qw) : WeightTensor.Of(Param(a, which + "_proj_weight"), qw, inWidth);
                string y = g.Add("MatMul", bias is null ? $"{n}_{which}" : $"{n}_{which}_matmul", [value, w.Transposed().AddTo(g, $"{n}.{which}_t", inWidth, qw)]);
                return bias is null ? y : g.Add("Add", $"{n}_{which}", [y, g.Floats($"{n}.{which}_bias", bias.AsSpan(block * qw, qw), qw)]);
            }
            return Heads(a, Project(x, 0, "q", Q), Project(memory, 1, "k", M), Project(memory, 2, "v", M), a.ScoreScale,
                g.Add("Unsqueeze", n + "_mask_4d", [MemoryMask(n), g.Int64s(n + "_axis1", 1)]));
        }
        string memoryT = g.Add("Transpose", n + "_memory_t", [memory], ("perm", new long[] { 0, 2, 1 }));
        string raw = a.Score switch
        {
            AttentionScore.Dot => g.Add("MatMul", n + "_scores", [x, memoryT]),
            AttentionScore.General => g.Add("MatMul", n + "_scores", [x, g.Add("MatMul", n + "_keys_t", [Weight(a, "weight"), memoryT])]),
            _ => Additive(a, x, memory),
        };
        string masked = g.Add("Add", n + "_masked", [raw, MemoryMask(n)]);
        string classic = g.Add("MatMul", n + "_context", [g.Add("Softmax", n + "_weights", [masked], ("axis", -1L)), memory]);
        // input feeding: this step's context is what the state carries to the next step
        if (a.InputFeeding) StateOut[$"{n}.context"] = g.Add("Squeeze", n + "_fed_context", [classic, g.Int64s(n + "_step_axis", 1)]);
        return g.Add("Concat", n, [x, classic], ("axis", 2L));
    }

    /// <summary>Bahdanau's scores vᵀ tanh(q[t] + k[s]) [B, T, S], q = x·W_qᵀ + b_q, k = memory·W_kᵀ.</summary>
    private string Additive(AttentionInfo a, string x, string memory)
    {
        string n = a.Name;
        int units = a.Units > 0 ? a.Units : a.InWidth;
        string q = g.Add("Add", n + "_q", [g.Add("MatMul", n + "_q_matmul", [x, Transposed(a, "query.weight", units, a.InWidth)]), Weight(a, "query.bias")]);
        string k = g.Add("MatMul", n + "_k", [memory, Transposed(a, "key.weight", units, a.MemoryWidth > 0 ? a.MemoryWidth : a.InWidth)]);
        string hidden = g.Add("Tanh", n + "_hidden", [g.Add("Add", n + "_sum", [g.Add("Unsqueeze", n + "_q4", [q, g.Int64s(n + "_axis2", 2)]),
            g.Add("Unsqueeze", n + "_k4", [k, g.Int64s(n + "_axis1_k", 1)])])]);
        string scores = g.Add("MatMul", n + "_v", [hidden, Transposed(a, "v.weight", 1, units)]);
        return g.Add("Squeeze", n + "_scores", [scores, g.Int64s(n + "_last", -1)]);
    }

    /// <summary>The batch of a time-major value [T, B, …] as a 1-D int64 [B].</summary>
    private string Batch(string x, string hint)
    {
        string shape = g.Add("Shape", hint + "_shape", [x]);
        return g.Add("Slice", hint + "_batch", [shape, g.Int64s(hint + "_one", 1), g.Int64s(hint + "_two", 2), g.Int64s(hint + "_zero", 0)]);
    }
}
