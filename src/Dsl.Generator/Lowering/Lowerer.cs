using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Lowering;

/// <summary>
/// Lowers a valid <see cref="ShapedModel"/> to a <see cref="ModelPlan"/>: the parameters in
/// PyTorch's state_dict order with their initialisers, and the buffers that the forward pass fills
/// and back-propagation through time reads (gate activations, cell states, outputs, masks).
/// </summary>
internal static class Lowerer
{
    public const string Tokens = "tokens";
    public const string Targets = "targets";
    public const string TargetValues = "target_values";
    public const string Carry = "carry";
    public const string Carry2 = "carry2";
    public const string Held = "held";
    public const string StepScratch = "step_scratch";
    public const string DGates = "dgates";
    public const string DGates2 = "dgates2";
    public const string PackedWeights = "packed_weights";

    public static ModelPlan Lower(ShapedModel model)
    {
        var parameters = new List<ParamPlan>();
        var buffers = new List<BufferPlan>();
        var layers = new List<LayerPlan>();
        var stateFields = new List<string>();
        var stateNames = new List<string>();
        var stateWidths = new List<int>();
        var stateGrads = new List<string>();
        var finals = new List<string>();
        var finalGrads = new List<string>();
        var finalNames = new List<string>();
        var finalWidths = new List<int>();
        int maxGates = 0, maxHidden = 0;
        int lastRecurrent = -1;
        for (int i = 0; i < model.Layers.Count; i++) if (model.Layers[i].Spec.IsRecurrent) lastRecurrent = i;

        void Buffer(string name, int width, RowKind rows, string comment, bool isInt = false, bool standalone = false) =>
            buffers.Add(new BufferPlan(name, width, rows, isInt, comment, standalone));

        if (model.TakesTokens) Buffer(Tokens, 1, RowKind.StepsTimesBatch, "token ids, time-major [T, B]", isInt: true);

        string? previousOut = null, previousDOut = null;
        for (int i = 0; i < model.Layers.Count; i++)
        {
            ShapedLayer layer = model.Layers[i];
            string n = layer.Name;
            RowKind inRows = layer.InIsSequence ? RowKind.StepsTimesBatch : RowKind.Batch;
            RowKind outRows = layer.OutIsSequence ? RowKind.StepsTimesBatch : RowKind.Batch;
            string shapeOut = layer.OutIsSequence ? $"[T, B, {layer.OutWidth}]" : $"[B, {layer.OutWidth}]";
            string outName = n + "_out", dOutName = n + "_dout";
            bool needsDIn = i > 0 && model.Layers[i - 1].Kind != LayerKind.Input;
            string? dIn = needsDIn ? previousDOut : null;
            var fields = new List<string>();
            var subs = new List<SubLayerPlan>();
            string? mask = null, skipIn = null, skipDIn = null;
            int hidden = 0, gates = 0;
            string names(int index) => model.Layers[index].Name;

            string Param(string suffix, int rows, int cols, bool isVector, InitKind init, int fanIn, int fanOut, int blockRows, float bound, int fillStart = 0, int fillLength = 0, float fillValue = 0f)
            {
                string name = n + "." + suffix;
                string field = "_" + name.Replace('.', '_');
                parameters.Add(new ParamPlan(name, field, rows, cols, isVector, init, fanIn, fanOut, blockRows, bound, fillStart, fillLength, fillValue));
                fields.Add(field);
                return field;
            }

            switch (layer.Kind)
            {
                case LayerKind.Input:
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: input features, time-major {shapeOut}");
                    break;
                case LayerKind.Embedding:
                    Param("weight", layer.Spec.Vocab, layer.OutWidth, false, Resolve(layer.Spec.WeightInit, InitKind.Normal),
                        layer.Spec.Vocab, layer.OutWidth, layer.Spec.Vocab, 1f / (float)Math.Sqrt(layer.OutWidth));
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: embedding vectors {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the output {shapeOut}");
                    break;
                case LayerKind.Dense:
                {
                    InitKind fallback = layer.Spec.Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform;
                    Param("weight", layer.OutWidth, layer.InWidth, false, Resolve(layer.Spec.WeightInit, fallback), layer.InWidth, layer.OutWidth, layer.OutWidth, 1f / (float)Math.Sqrt(layer.InWidth));
                    Param("bias", 1, layer.OutWidth, true, InitKind.Zeros, layer.InWidth, layer.OutWidth, 1, 0f);
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: activations {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the activations {shapeOut}");
                    break;
                }
                case LayerKind.Attention when layer.IsClassicAttention:
                {
                    // Classic scores over an encoder's outputs (cross), over the layer's own steps (self) or from a learned query (pooling).
                    int q = layer.InWidth, m = layer.KeyWidth;
                    bool cross = layer.IsCrossAttention, pool = layer.Spec.Pool;
                    RowKind memoryRows = cross ? RowKind.SourceTimesBatch : RowKind.StepsTimesBatch;
                    RowKind queryRows = pool ? RowKind.Batch : RowKind.StepsTimesBatch;
                    RowKind pairRows = cross ? RowKind.StepsTimesSourceTimesBatch : pool ? RowKind.StepsTimesBatch : RowKind.StepsSquaredTimesBatch;
                    string keys = cross ? "S" : "T", queries = pool ? "1" : "T";
                    if (layer.Spec.Score == 2)
                    {
                        if (pool)
                        {
                            Param("query", 1, q, true, InitKind.PyTorch, q, q, 1, 1f / (float)Math.Sqrt(q));
                            Buffer(n + "_queries", q, RowKind.Batch, $"{n}: the learned query, one row per sequence [B, {q}]");
                            Buffer(n + "_dqueries", q, RowKind.Batch, $"{n}: its gradient per sequence [B, {q}]");
                        }
                        Param("weight", q, m, false, InitKind.PyTorch, m, q, q, 1f / (float)Math.Sqrt(m));
                        Buffer(n + "_keys", q, memoryRows, $"{n}: the keys, memory·Wᵀ [{keys}, B, {q}]");
                        Buffer(n + "_dkeys", q, memoryRows, $"{n}: gradient of the keys [{keys}, B, {q}]");
                    }
                    else if (layer.Spec.Score == 3)
                    {
                        int a = AdditiveUnits(layer);
                        if (!pool)
                        {
                            Param("query.weight", a, q, false, InitKind.PyTorch, q, a, a, 1f / (float)Math.Sqrt(q));
                            Param("query.bias", 1, a, true, InitKind.Zeros, q, a, 1, 0f);
                        }
                        Param("key.weight", a, m, false, InitKind.PyTorch, m, a, a, 1f / (float)Math.Sqrt(m));
                        if (pool) Param("key.bias", 1, a, true, InitKind.Zeros, m, a, 1, 0f);
                        Param("v.weight", 1, a, false, InitKind.PyTorch, a, 1, 1, 1f / (float)Math.Sqrt(a));
                        Buffer(n + "_q", a, queryRows, pool ? $"{n}: the key bias, one row per sequence [B, {a}]" : $"{n}: projected queries x·W_qᵀ + b_q [T, B, {a}]");
                        Buffer(n + "_dq", a, queryRows, $"{n}: their gradient [{queries}, B, {a}]");
                        Buffer(n + "_k", a, memoryRows, $"{n}: projected keys m·W_kᵀ [{keys}, B, {a}]");
                        Buffer(n + "_dk", a, memoryRows, $"{n}: their gradient [{keys}, B, {a}]");
                        Buffer(n + "_hidden", a, pairRows, $"{n}: tanh(q[t] + k[s]) [B, {queries}, {keys}, {a}]");
                    }
                    Buffer(n + "_weights", 1, pairRows, $"{n}: attention weights (softmax over the keys) [B, {queries}, {keys}]");
                    Buffer(n + "_scratch", 1, cross ? RowKind.StepsTimesSourceTimesBatch : pool ? RowKind.StepsTimesBatch : RowKind.StepsSquared, $"{n}: scratch, d(scores) [{queries}, {keys}]");
                    if (!pool)
                    {
                        Buffer(n + "_context", m, outRows, $"{n}: the context Σ_s a[t, s]·k[s] [T, B, {m}]");
                        Buffer(n + "_dcontext", m, outRows, $"{n}: gradient of the context [T, B, {m}]");
                    }
                    if (dIn is null)
                    {
                        dIn = n + "_dx";
                        Buffer(dIn, q, inRows, $"{n}: gradient of the input, unused upstream [T, B, {q}]");
                    }
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: {(pool ? "the pooled context" : "[x; context]")} {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the output {shapeOut}");
                    break;
                }
                case LayerKind.Attention:
                {
                    int e = layer.InWidth;
                    float bound = 1f / (float)Math.Sqrt(e);
                    Param("in_proj_weight", 3 * e, e, false, InitKind.XavierUniform, e, 3 * e, 3 * e, bound);
                    Param("in_proj_bias", 1, 3 * e, true, InitKind.Zeros, e, 3 * e, 1, 0f);
                    Param("out_proj.weight", e, e, false, InitKind.PyTorch, e, e, e, bound);
                    Param("out_proj.bias", 1, e, true, InitKind.Zeros, e, e, 1, 0f);
                    if (layer.Spec.Pool)
                    {
                        Param("query", 1, e, true, InitKind.PyTorch, e, e, 1, bound);
                        Buffer(n + "_query", e, RowKind.One, $"{n}: the learned query, projected [{e}]");
                        Buffer(n + "_dquery", e, RowKind.One, $"{n}: gradient of the projected query [{e}]");
                    }
                    Buffer(n + "_qkv", 3 * e, RowKind.StepsTimesBatch, $"{n}: queries, keys and values [T, B, {3 * e}]");
                    if (layer.Spec.Pool)
                        Buffer(n + "_weights", layer.Spec.Heads, RowKind.StepsTimesBatch, $"{n}: pooling weights (softmax) [B, {layer.Spec.Heads}, T]");
                    else
                        Buffer(n + "_weights", layer.Spec.Heads, RowKind.StepsSquaredTimesBatch, $"{n}: attention weights (softmax) [B, {layer.Spec.Heads}, T, T]");
                    if (layer.Spec.Dropout > 0f)
                    {
                        mask = n + "_weights_mask";
                        Buffer(mask, layer.Spec.Heads, RowKind.StepsSquaredTimesBatch, $"{n}: dropout mask on the attention weights [B, {layer.Spec.Heads}, T, T]");
                    }
                    Buffer(n + "_context", e, outRows, $"{n}: the heads' outputs, concatenated {shapeOut}");
                    Buffer(n + "_dcontext", e, outRows, $"{n}: gradient of the heads' outputs {shapeOut}");
                    Buffer(n + "_dqkv", 3 * e, RowKind.StepsTimesBatch, $"{n}: gradient of the queries, keys and values [T, B, {3 * e}]");
                    if (layer.Spec.Pool) Buffer(n + "_scratch", 2, RowKind.StepsTimesBatch, $"{n}: scratch [2, T]"); // (the heads of self-attention keep their scratch per thread)
                    Buffer(outName, e, outRows, $"{n}: attention output {shapeOut}");
                    Buffer(dOutName, e, outRows, $"{n}: gradient of the output {shapeOut}");
                    break;
                }
                case LayerKind.LayerNorm:
                {
                    int wd = layer.OutWidth;
                    Param("weight", 1, wd, true, InitKind.Zeros, wd, wd, 1, 0f, 0, wd, 1f);
                    Param("bias", 1, wd, true, InitKind.Zeros, wd, wd, 1, 0f);
                    Buffer(n + "_mean", 1, outRows, $"{n}: each row's mean [{(layer.OutIsSequence ? "T, B" : "B")}]");
                    Buffer(n + "_scratch", 2 * wd, RowKind.One, $"{n}: scratch [2, {wd}]");
                    Buffer(n + "_rstd", 1, outRows, $"{n}: each row's 1/√(var + ε) [{(layer.OutIsSequence ? "T, B" : "B")}]");
                    Buffer(outName, wd, outRows, $"{n}: normalised, scaled and shifted {shapeOut}");
                    Buffer(dOutName, wd, outRows, $"{n}: gradient of the output {shapeOut}");
                    break;
                }
                case LayerKind.PositionalEncoding:
                    Buffer(n + "_table", layer.OutWidth, RowKind.Steps, $"{n}: the encoding of each step, filled once per workspace [T, {layer.OutWidth}]");
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: input plus the encoding of its step {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the output {shapeOut}");
                    break;
                case LayerKind.Residual:
                {
                    LayerPlan source = layers[layer.SkipFrom];
                    skipIn = source.Out;
                    skipDIn = source.Layer.Kind == LayerKind.Input ? null : source.DOut;
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: the previous output plus {names(layer.SkipFrom + 1)}'s input {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the output {shapeOut}");
                    if (skipDIn is not null) Buffer(n + "_dskip", layer.OutWidth, outRows, $"{n}: the gradient sent back to {source.Name}'s output {shapeOut}");
                    break;
                }
                case LayerKind.Dropout:
                    mask = n + "_mask";
                    Buffer(outName, layer.OutWidth, outRows, $"{n}: input with dropped values zeroed {shapeOut}");
                    Buffer(dOutName, layer.OutWidth, outRows, $"{n}: gradient of the output {shapeOut}");
                    Buffer(mask, layer.OutWidth, outRows, $"{n}: dropout mask, 0 or 1/(1-p) {shapeOut}");
                    break;
                default:
                {
                    hidden = layer.Spec.Size;
                    gates = layer.Kind switch { LayerKind.Lstm => 4, LayerKind.Gru => 3, _ => 1 } * hidden;
                    maxGates = Math.Max(maxGates, gates);
                    maxHidden = Math.Max(maxHidden, hidden);
                    int d = layer.Directions, width = d * hidden, count = layer.Spec.Layers;
                    string aux = layer.Kind switch
                    {
                        LayerKind.Lstm => "cell",
                        LayerKind.Gru => layer.Spec.ResetAfter ? "hn" : "rh",
                        _ => "",
                    };
                    string auxComment = layer.Kind switch
                    {
                        LayerKind.Lstm => "cell states c",
                        LayerKind.Gru => layer.Spec.ResetAfter ? "recurrent candidate W_hn h + b_hn" : "reset hidden state r * h",
                        _ => "",
                    };
                    InitKind inputInit = Resolve(layer.Spec.WeightInit, layer.Kind == LayerKind.Rnn && layer.Spec.Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform);
                    InitKind recurrentInit = Resolve(layer.Spec.RecurrentInit, InitKind.Orthogonal);
                    float bound = 1f / (float)Math.Sqrt(hidden);
                    string x = previousOut!;
                    string? dx = dIn;
                    // A reverse direction with a learned initial state holds it in its padded steps, which BPTT reads:
                    // then the top layer's states stay in a buffer of their own and the layer's output is a masked copy.
                    bool ownTop = layer.Spec.LearnInitialState && d == 2;
                    for (int l = 0; l < count; l++)
                    {
                        int xWidth = l == 0 ? layer.InWidth : width;
                        bool top = l == count - 1;
                        string y = top && layer.OutIsSequence && !ownTop ? outName : $"{n}_y_l{l}";
                        string dy = top && layer.OutIsSequence ? dOutName : $"{n}_dy_l{l}";
                        Buffer(y, width, RowKind.StepsTimesBatch, $"{n}: layer {l} hidden states h [T, B, {width}]");
                        Buffer(dy, width, RowKind.StepsTimesBatch, $"{n}: gradient of layer {l}'s hidden states [T, B, {width}]");
                        var directions = new List<DirectionPlan>();
                        for (int dir = 0; dir < d; dir++)
                        {
                            string suffix = $"_l{l}" + (dir == 1 ? "_reverse" : "");
                            string wih = Param("weight_ih" + suffix, gates, xWidth, false, inputInit, xWidth, gates, gates, bound);
                            string whh = Param("weight_hh" + suffix, gates, hidden, false, recurrentInit, hidden, gates, hidden, bound);
                            bool lstm = layer.Kind == LayerKind.Lstm;
                            string bih = Param("bias_ih" + suffix, 1, gates, true, InitKind.Zeros, xWidth, gates, 1, bound,
                                lstm ? hidden : 0, lstm ? hidden : 0, lstm ? layer.Spec.ForgetBias : 0f);
                            string bhh = Param("bias_hh" + suffix, 1, gates, true, InitKind.Zeros, hidden, gates, 1, bound);
                            string gatesBuffer = $"{n}_gates{suffix}";
                            Buffer(gatesBuffer, gates, RowKind.StepsTimesBatch, $"{n}: gate activations{(layer.Kind == LayerKind.Rnn ? " (pre-activation)" : "")} [T, B, {gates}]");
                            string auxBuffer = "";
                            if (aux.Length > 0)
                            {
                                auxBuffer = $"{n}_{aux}{suffix}";
                                Buffer(auxBuffer, hidden, RowKind.StepsTimesBatch, $"{n}: {auxComment} [T, B, {hidden}]");
                            }
                            string? learnedH = null, learnedC = null, learnedHBuffer = null, learnedCBuffer = null;
                            if (layer.Spec.LearnInitialState)
                            {
                                learnedH = Param("h0" + suffix, 1, hidden, true, InitKind.Zeros, hidden, hidden, 1, 0f);
                                learnedHBuffer = $"{n}_h0p{suffix}";
                                Buffer(learnedHBuffer, hidden, RowKind.Batch, $"{n}: the learned initial hidden state, one row per sequence [B, {hidden}]");
                                if (layer.Kind == LayerKind.Lstm)
                                {
                                    learnedC = Param("c0" + suffix, 1, hidden, true, InitKind.Zeros, hidden, hidden, 1, 0f);
                                    learnedCBuffer = $"{n}_c0p{suffix}";
                                    Buffer(learnedCBuffer, hidden, RowKind.Batch, $"{n}: the learned initial cell state, one row per sequence [B, {hidden}]");
                                }
                            }
                            string? recurrentMask = null, maskedStates = null;
                            if (layer.Spec.RecurrentDropout > 0f)
                            {
                                recurrentMask = $"{n}_rmask{suffix}";
                                maskedStates = $"{n}_hm{suffix}";
                                Buffer(recurrentMask, hidden, RowKind.Batch, $"{n}: variational dropout mask on h(t-1), the same at every step [B, {hidden}]");
                                Buffer(maskedStates, hidden, RowKind.StepsTimesBatch, $"{n}: each step's masked recurrent input h(t-1) ⊙ mask [T, B, {hidden}]");
                            }
                            directions.Add(new DirectionPlan(dir == 1, gatesBuffer, auxBuffer, wih, whh, bih, bhh, learnedH, learnedC, learnedHBuffer, learnedCBuffer, recurrentMask, maskedStates));
                        }
                        string? subMask = null, nextX = null;
                        if (!top && layer.Spec.Dropout > 0f)
                        {
                            subMask = $"{n}_mask_l{l}";
                            nextX = $"{n}_x_l{l + 1}";
                            Buffer(subMask, width, RowKind.StepsTimesBatch, $"{n}: dropout mask between layers {l} and {l + 1} [T, B, {width}]");
                            Buffer(nextX, width, RowKind.StepsTimesBatch, $"{n}: input of layer {l + 1} after dropout [T, B, {width}]");
                        }
                        string? stateH = null, stateC = null, initialH = null, initialC = null, initialHGrad = null, initialCGrad = null;
                        if (model.CanStep)
                        {
                            // The carried state, and the workspace's copy of the state a pass started from (BPTT reads it).
                            stateH = $"{n}_h_l{l}";
                            stateFields.Add(stateH);
                            stateNames.Add($"{n}.h_l{l}");
                            stateWidths.Add(hidden);
                            initialH = $"{n}_h0_l{l}";
                            Buffer(initialH, hidden, RowKind.Batch, $"{n}: layer {l}'s initial hidden state [B, {hidden}]");
                            initialHGrad = $"{n}_dh0_l{l}";
                            stateGrads.Add(initialHGrad);
                            Buffer(initialHGrad, hidden, RowKind.Batch, $"{n}: gradient of layer {l}'s initial hidden state [B, {hidden}]");
                            if (layer.Kind == LayerKind.Lstm)
                            {
                                stateC = $"{n}_c_l{l}";
                                stateFields.Add(stateC);
                                stateNames.Add($"{n}.c_l{l}");
                                stateWidths.Add(hidden);
                                initialC = $"{n}_c0_l{l}";
                                Buffer(initialC, hidden, RowKind.Batch, $"{n}: layer {l}'s initial cell state [B, {hidden}]");
                                initialCGrad = $"{n}_dc0_l{l}";
                                stateGrads.Add(initialCGrad);
                                Buffer(initialCGrad, hidden, RowKind.Batch, $"{n}: gradient of layer {l}'s initial cell state [B, {hidden}]");
                            }
                        }
                        string? finalH = null, finalC = null, finalHGrad = null, finalCGrad = null;
                        if (i == lastRecurrent && model.OutputIsSequence)
                        {
                            // An encoder's final states, for a decoder to start from.
                            (string State, string Grad) Final(string which, string what)
                            {
                                string state = $"{n}_final_{which}_l{l}", grad = $"{n}_final_d{which}_l{l}";
                                Buffer(state, width, RowKind.Batch, $"{n}: layer {l}'s final {what} state, directions concatenated [B, {width}]", standalone: true);
                                Buffer(grad, width, RowKind.Batch, $"{n}: its gradient, from a decoder [B, {width}]", standalone: true);
                                finals.Add(state);
                                finalGrads.Add(grad);
                                finalNames.Add($"{n}.{which}_l{l}");
                                finalWidths.Add(width);
                                return (state, grad);
                            }
                            (finalH, finalHGrad) = Final("h", "hidden");
                            if (layer.Kind == LayerKind.Lstm) (finalC, finalCGrad) = Final("c", "cell");
                        }
                        string cell = $"{n}_cell{(l == 0 ? "0" : "N")}";
                        subs.Add(new SubLayerPlan(l, xWidth, x, dx, y, dy, subMask, nextX, cell, stateH, stateC, initialH, initialC, directions.ToEquatableArray(),
                            initialHGrad, initialCGrad, finalH, finalC, finalHGrad, finalCGrad));
                        x = nextX ?? y;
                        dx = dy;
                    }
                    if (layer.OutIsSequence && ownTop)
                        Buffer(outName, width, RowKind.StepsTimesBatch, $"{n}: the top layer's hidden states, zero at padded steps [T, B, {width}]");
                    if (!layer.OutIsSequence)
                    {
                        Buffer(outName, width, RowKind.Batch, $"{n}: last step's hidden states [B, {width}]");
                        Buffer(dOutName, width, RowKind.Batch, $"{n}: gradient of the last step's hidden states [B, {width}]");
                    }
                    break;
                }
            }

            layers.Add(new LayerPlan(layer, previousOut ?? Tokens, dIn, outName, dOutName, mask, fields.ToEquatableArray(), subs.ToEquatableArray(), hidden, gates, skipIn, skipDIn));
            previousOut = outName;
            previousDOut = layer.Kind == LayerKind.Input ? null : dOutName;
        }

        RowKind lastRows = model.OutputIsSequence ? RowKind.StepsTimesBatch : RowKind.Batch;
        Buffer(Targets, 1, lastRows, "class-id targets, time-major", isInt: true);
        Buffer(TargetValues, model.OutputWidth, lastRows, "float targets, time-major");
        if (maxGates > 0)
        {
            Buffer(DGates, maxGates, RowKind.StepsTimesBatch, "scratch: gradient of the gate pre-activations [T, B, G]");
            Buffer(DGates2, maxGates, RowKind.StepsTimesBatch, "scratch: GRU gradient of the recurrent gate inputs [T, B, G]");
            Buffer(StepScratch, maxGates, RowKind.Batch, "scratch: one step's recurrent product [B, G]");
            Buffer(Carry, maxHidden, RowKind.Batch, "scratch: gradient carried to the previous step, dh [B, H]");
            Buffer(Carry2, maxHidden, RowKind.Batch, "scratch: second carried gradient (LSTM dc; GRU d(r*h)) [B, H]");
            Buffer(Held, 2 * maxHidden, RowKind.Batch, "scratch: a reverse direction's initial-state gradients held through the padding [B, 2H]");
            // Packed recurrent weights, at most (G + 64)(H + 32) floats whatever the tile width (Gemm.PackedLength).
            Buffer(PackedWeights, (maxGates + 64) * (maxHidden + 32), RowKind.One, "scratch: the recurrent weights packed once per sequence for the per-step products");
        }

        return new ModelPlan(model, parameters.ToEquatableArray(), buffers.ToEquatableArray(), layers.ToEquatableArray(),
            stateFields.ToEquatableArray(), stateNames.ToEquatableArray(), stateWidths.ToEquatableArray(), maxGates, maxHidden,
            stateGrads.ToEquatableArray(), finals.ToEquatableArray(), finalGrads.ToEquatableArray(), finalNames.ToEquatableArray(), finalWidths.ToEquatableArray());
    }

    /// <summary>Width of the additive score's hidden layer: Units, or the query's width.</summary>
    public static int AdditiveUnits(ShapedLayer layer) => layer.Spec.Units > 0 ? layer.Spec.Units : layer.InWidth;

    private static InitKind Resolve(InitKind chosen, InitKind fallback) => chosen == InitKind.Default ? fallback : chosen;
}
