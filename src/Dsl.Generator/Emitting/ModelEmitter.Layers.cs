using System;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

internal static partial class ModelEmitter
{
    private static void EmitEmbedding(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        string weight = layer.ParamFields[0];
        int D = l.OutWidth;
        w.Line($"// {l.Name}: token ids [T, B] -> vectors [T, B, {D}]: out[t, b] = weight[tokens[t, b]]");
        w.Open($"private void {l.Name}_forward(Workspace ws)");
        w.Line($"const int D = {D};");
        w.Line($"{RoSpan} table = {weight}.AsSpan();");
        w.Line($"for (int r = 0; r < ws.{Lowerer.Tokens}.Length; r++) table.Slice(ws.{Lowerer.Tokens}[r] * D, D).CopyTo(ws.{layer.Out}.Slice(r * D, D));");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dweight[tokens[t, b]] += dout[t, b]");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line($"const int D = {D};");
        w.Line($"{Span} dtable = {weight}.GradAsSpan();");
        w.Open($"for (int r = 0; r < ws.{Lowerer.Tokens}.Length; r++)");
        w.Line($"{Span} row = dtable.Slice(ws.{Lowerer.Tokens}[r] * D, D);");
        w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Add(row, ws.{layer.DOut}.Slice(r * D, D), row);");
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>y[rows, n] = x[rows, k] · Wᵀ + b: dense layers and the attention projections.</summary>
    private static void Affine(SourceWriter w, string rows, string n, string k, string x, string weight, string bias, string y)
    {
        w.Line($"{Gemm}.MatMulTransB({rows}, {n}, {k}, {x}, {k}, {weight}.AsSpan(), {k}, {y}, {n}, accumulate: false);");
        w.Line($"{Act}.AddBias({y}, {rows}, {bias}.AsSpan());");
    }

    /// <summary>The adjoint of <see cref="Affine"/>: dW += dyᵀ · x, db += Σ dy, and dx = dy · W when <paramref name="dx"/> is wanted.</summary>
    private static void AffineBackward(SourceWriter w, string rows, string n, string k, string x, string weight, string bias, string dy, string? dx)
    {
        w.Line($"{Gemm}.MatMulTransA({n}, {k}, {rows}, {dy}, {n}, {x}, {k}, {weight}.GradAsSpan(), {k}, accumulate: true);");
        w.Line($"{Act}.AddColumnSums({dy}, {rows}, {bias}.GradAsSpan());");
        if (dx is not null) w.Line($"{Gemm}.MatMul({rows}, {k}, {n}, {dy}, {n}, {weight}.AsSpan(), {k}, {dx}, {k}, accumulate: false);");
    }

    private static void EmitDense(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        string weight = layer.ParamFields[0], bias = layer.ParamFields[1];
        string act = l.Spec.Activation.ToString();
        bool hasAct = l.Spec.Activation != ActivationKind.None;
        w.Line($"// {l.Name}: {Shape(l.InIsSequence, l.InWidth)} -> {Shape(l.OutIsSequence, l.OutWidth)}: out = {(hasAct ? act.ToLowerInvariant() + "(" : "")}x · Wᵀ + b{(hasAct ? ")" : "")}");
        w.Open($"private void {l.Name}_forward(Workspace ws)");
        w.Line($"const int I = {l.InWidth}, U = {l.OutWidth};");
        w.Line($"int R = {Rows(l, output: true)};");
        Affine(w, "R", "U", "I", $"ws.{layer.In}", weight, bias, $"ws.{layer.Out}");
        if (hasAct) w.Line($"{Act}.Apply(global::Dsl.Activation.{act}, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: da = dout ⊙ act'(out); dW += daᵀ · x; db += Σ da; dx = da · W");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line($"const int I = {l.InWidth}, U = {l.OutWidth};");
        w.Line($"int R = {Rows(l, output: true)};");
        if (hasAct) w.Line($"{Act}.Backward(global::Dsl.Activation.{act}, ws.{layer.Out}, ws.{layer.DOut});");
        AffineBackward(w, "R", "U", "I", $"ws.{layer.In}", weight, bias, $"ws.{layer.DOut}", layer.DIn is null ? null : $"ws.{layer.DIn}");
        w.Close();
        w.Line();
    }

    private static void EmitLayerNorm(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        string weight = layer.ParamFields[0], bias = layer.ParamFields[1], eps = SourceWriter.Float(l.Spec.Epsilon);
        w.Line($"// {l.Name}: {Shape(l.InIsSequence, l.InWidth)} -> same: out = (x − mean) / √(var + {eps}) · weight + bias, per row (nn.LayerNorm)");
        w.Open($"private void {l.Name}_forward(Workspace ws)");
        w.Line($"const int W = {l.OutWidth};");
        w.Line($"int R = {Rows(l, output: true)};");
        w.Line($"global::Dsl.Kernels.LayerNormKernel.Forward(R, W, ws.{layer.In}, {weight}.AsSpan(), {bias}.AsSpan(), {eps}, ws.{layer.Out}, ws.{l.Name}_mean, ws.{l.Name}_rstd);");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), g = dout ⊙ weight; dweight += Σ dout ⊙ x̂; dbias += Σ dout");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line($"const int W = {l.OutWidth};");
        w.Line($"int R = {Rows(l, output: true)};");
        w.Line($"global::Dsl.Kernels.LayerNormKernel.Backward(R, W, ws.{layer.In}, {weight}.AsSpan(), ws.{l.Name}_mean, ws.{l.Name}_rstd, ws.{layer.DOut}, {(layer.DIn is null ? "default" : $"ws.{layer.DIn}")}, {weight}.GradAsSpan(), {bias}.GradAsSpan(), ws.{l.Name}_scratch);");
        w.Close();
        w.Line();
    }

    private static void EmitResidual(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        w.Line($"// {l.Name}: {Shape(l.InIsSequence, l.InWidth)} -> same: out = x + the output of layer {l.SkipFrom} (a residual connection)");
        w.Open($"private void {l.Name}_forward(Workspace ws)");
        w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Add(ws.{layer.In}, ws.{layer.SkipIn}, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: the gradient goes both ways unchanged (the skip's joins its output's gradient in BackwardPass)");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        if (layer.DIn is not null) w.Line($"ws.{layer.DOut}.CopyTo(ws.{layer.DIn});");
        if (layer.SkipDIn is not null) w.Line($"ws.{layer.DOut}.CopyTo(ws.{l.Name}_dskip);");
        w.Close();
        w.Line();
    }

    private static void EmitPositionalEncoding(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        w.Line($"// {l.Name}: [T, B, {l.OutWidth}] -> same: out[t] = x[t] + pe[t], pe[t, 2i] = sin(t / 10000^(2i/{l.OutWidth})), pe[t, 2i+1] = cos(…)");
        w.Open($"private void {l.Name}_forward(Workspace ws)");
        w.Line($"global::Dsl.Kernels.PositionalEncodingKernel.Add(ws.T, ws.B, {l.OutWidth}, ws.{l.Name}_table, ws.{layer.In}, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = dout");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        if (layer.DIn is not null) w.Line($"ws.{layer.DOut}.CopyTo(ws.{layer.DIn});");
        w.Close();
        w.Line();
    }

    private static void EmitDropout(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        string p = SourceWriter.Float(l.Spec.Dropout);
        w.Line($"// {l.Name}: {Shape(l.InIsSequence, l.InWidth)} -> same; training: out = x ⊙ mask (p = {p}), inference: out = x");
        w.Open($"private void {l.Name}_forward(Workspace ws, bool training)");
        w.Line($"if (training) global::Dsl.Kernels.DropoutKernel.Forward(ws.{layer.In}, ws.{layer.Mask}, ws.{layer.Out}, {p}, _dropoutRng);");
        w.Line($"else ws.{layer.In}.CopyTo(ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = dout ⊙ mask");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        if (layer.DIn is not null) w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Multiply(ws.{layer.DOut}, ws.{layer.Mask}, ws.{layer.DIn});");
        w.Close();
        w.Line();
    }

    private static void EmitAttention(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        if (l.IsClassicAttention)
        {
            EmitClassicAttention(w, layer);
            return;
        }
        int heads = l.Spec.Heads, e = l.InWidth;
        string inW = layer.ParamFields[0], inB = layer.ParamFields[1], outW = layer.ParamFields[2], outB = layer.ParamFields[3];
        string n = l.Name;
        string scale = l.Spec.Score == 1 ? "1f" : SourceWriter.Float((float)(1.0 / Math.Sqrt(e / heads)));
        string causal = l.Spec.Causal ? "true" : "false";
        string mask = layer.Mask is null ? "default" : $"ws.{layer.Mask}";
        if (l.Spec.Pool)
        {
            EmitAttentionPooling(w, layer, scale);
            return;
        }
        w.Line($"// {n}: [T, B, {e}] -> [T, B, {e}], self-attention with {heads} head(s){(l.Spec.Causal ? ", causal" : "")} (nn.MultiheadAttention; with lengths, padded keys are masked):");
        w.Line($"// [q, k, v] = x·W_inᵀ + b_in; per head A = softmax(q·kᵀ · {scale}); out = concat(A·v)·W_outᵀ + b_out");
        w.Open($"private void {n}_forward(Workspace ws, bool training)");
        w.Line($"const int E = {e}, Heads = {heads};");
        w.Line("int B = ws.B, T = ws.T;");
        Affine(w, "T * B", "3 * E", "E", $"ws.{layer.In}", inW, inB, $"ws.{n}_qkv");
        if (layer.Mask is not null) w.Line($"if (training) global::Dsl.Kernels.DropoutKernel.Mask(ws.{layer.Mask}, {SourceWriter.Float(l.Spec.Dropout)}, _dropoutRng);");
        string maskArg = layer.Mask is null ? "default" : $"training ? ws.{layer.Mask} : default";
        w.Line($"global::Dsl.Kernels.AttentionKernel.Forward(T, B, E, Heads, {scale}, causal: {causal}, ws.HasLengths ? ws.lengths : default, ws.{n}_qkv, ws.{n}_weights, {maskArg}, ws.{n}_context, scratch: default);");
        Affine(w, "T * B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.Out}");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: through the output projection, the heads (softmax included) and the input projection");
        w.Open($"private void {n}_backward(Workspace ws)");
        w.Line($"const int E = {e}, Heads = {heads};");
        w.Line("int B = ws.B, T = ws.T;");
        AffineBackward(w, "T * B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.DOut}", $"ws.{n}_dcontext");
        w.Line($"global::Dsl.Kernels.AttentionKernel.Backward(T, B, E, Heads, {scale}, causal: {causal}, ws.HasLengths ? ws.lengths : default, ws.{n}_qkv, ws.{n}_weights, {mask}, ws.{n}_dcontext, ws.{n}_dqkv, scratch: default);");
        AffineBackward(w, "T * B", "3 * E", "E", $"ws.{layer.In}", inW, inB, $"ws.{n}_dqkv", layer.DIn is null ? null : $"ws.{layer.DIn}");
        w.Close();
        w.Line();
    }

    private static void EmitAttentionPooling(SourceWriter w, LayerPlan layer, string scale)
    {
        ShapedLayer l = layer.Layer;
        int heads = l.Spec.Heads, e = l.InWidth;
        string inW = layer.ParamFields[0], inB = layer.ParamFields[1], outW = layer.ParamFields[2], outB = layer.ParamFields[3], query = layer.ParamFields[4];
        string n = l.Name;
        string lengths = "ws.HasLengths ? ws.lengths : default";
        w.Line($"// {n}: [T, B, {e}] -> [B, {e}], attention pooling with {heads} head(s): a learned query q = query·W_qᵀ + b_q attends over");
        w.Line($"// the keys x·W_kᵀ + b_k (steps below each length); out = concat(A·v)·W_outᵀ + b_out");
        w.Open($"private void {n}_forward(Workspace ws, bool training)");
        w.Line($"const int E = {e}, Heads = {heads};");
        w.Line("int B = ws.B, T = ws.T;");
        Affine(w, "T * B", "3 * E", "E", $"ws.{layer.In}", inW, inB, $"ws.{n}_qkv");
        w.Line($"{Gemm}.MatMulTransB(1, E, E, {query}.AsSpan(), E, {inW}.AsSpan(), E, ws.{n}_query, E, accumulate: false);");
        w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Add(ws.{n}_query, {inB}.AsSpan().Slice(0, E), ws.{n}_query);");
        w.Line($"global::Dsl.Kernels.AttentionKernel.PoolForward(T, B, E, Heads, {scale}, {lengths}, ws.{n}_query, ws.{n}_qkv, ws.{n}_weights, ws.{n}_context);");
        Affine(w, "B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.Out}");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: through the output projection, the pooling (softmax included), the key/value projection and the query's");
        w.Open($"private void {n}_backward(Workspace ws)");
        w.Line($"const int E = {e}, Heads = {heads};");
        w.Line("int B = ws.B, T = ws.T;");
        AffineBackward(w, "B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.DOut}", $"ws.{n}_dcontext");
        w.Line($"ws.{n}_dquery.Clear();");
        w.Line($"global::Dsl.Kernels.AttentionKernel.PoolBackward(T, B, E, Heads, {scale}, {lengths}, ws.{n}_query, ws.{n}_qkv, ws.{n}_weights, ws.{n}_dcontext, ws.{n}_dqkv, ws.{n}_dquery, ws.{n}_scratch);");
        AffineBackward(w, "T * B", "3 * E", "E", $"ws.{layer.In}", inW, inB, $"ws.{n}_dqkv", layer.DIn is null ? null : $"ws.{layer.DIn}");
        w.Line("// the query's projection: dW_q += dqᵀ·query, db_q += dq, dquery += dq·W_q");
        w.Line($"{Gemm}.MatMulTransA(E, E, 1, ws.{n}_dquery, E, {query}.AsSpan(), E, {inW}.GradAsSpan(), E, accumulate: true);");
        w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Add({inB}.GradAsSpan().Slice(0, E), ws.{n}_dquery, {inB}.GradAsSpan().Slice(0, E));");
        w.Line($"{Gemm}.MatMul(1, E, E, ws.{n}_dquery, E, {inW}.AsSpan(), E, {query}.GradAsSpan(), E, accumulate: true);");
        w.Close();
        w.Line();
    }

    private const string Cross = "global::Dsl.Kernels.CrossAttentionKernel";

    /// <summary>The field of the layer's parameter <paramref name="suffix"/> (e.g. "key.weight"), as the Lowerer names it.</summary>
    private static string Field(LayerPlan layer, string suffix) => "_" + (layer.Name + "." + suffix).Replace('.', '_');

    /// <summary>
    /// Classic attention (Luong, Bahdanau), one head: cross-attention over an encoder's outputs, or General/Additive over
    /// the layer's own sequence ([x; context]) or from a learned query (pooling: the context).
    /// </summary>
    private static void EmitClassicAttention(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        int q = l.InWidth, m = l.KeyWidth, score = l.Spec.Score;
        bool cross = l.IsCrossAttention, pool = l.Spec.Pool, self = !cross && !pool;
        string n = l.Name;
        string scoreText = score switch
        {
            0 => $"x·k / √{q} (scaled dot)",
            1 => "x·k (dot)",
            2 => "x·W·k (Luong's general)",
            _ => pool ? "vᵀ tanh(W_k k + b_k) (additive)" : "vᵀ tanh(W_q x + b_q + W_k k) (Bahdanau's additive)",
        };
        string dx = $"ws.{layer.DIn}";
        string mem = cross ? "memory.Memory.Span" : $"ws.{layer.In}", dmem = cross ? "memory.MemoryGradient.Span" : dx;
        string lengths = cross ? "memory.Lengths" : "ws.HasLengths ? ws.lengths : default";
        string causal = self && l.Spec.Causal ? ", causal: true" : "";
        string steps = pool ? "1" : "T";
        string xq = pool && score == 2 ? $"ws.{n}_queries" : $"ws.{layer.In}", dxq = pool && score == 2 ? $"ws.{n}_dqueries" : dx;
        string context = pool ? $"ws.{layer.Out}" : $"ws.{n}_context", dContext = pool ? $"ws.{layer.DOut}" : $"ws.{n}_dcontext";
        string what = cross ? $"the outputs k of {l.MemoryModel} [S, B, {m}]" : pool ? $"the sequence k [T, B, {m}] from a learned query" : $"its own steps k [T, B, {m}]{(l.Spec.Causal ? ", causal" : "")}";
        w.Line($"// {n}: {Shape(l.InIsSequence, l.InWidth)} -> {Shape(l.OutIsSequence, l.OutWidth)}, attention over {what}, score {scoreText}:");
        w.Line(pool ? "// a = softmax_t(score(query, k[t])) over the valid steps; out = Σ_t a[t] k[t]"
            : "// a[t] = softmax_s(score(x[t], k[s])) over the valid steps; out[t] = [x[t]; Σ_s a[t, s] k[s]]");

        void Open(string name)
        {
            w.Open($"private void {n}_{name}(Workspace ws{(name == "forward" ? ", bool training" : "")})");
            w.Line(pool && score == 3 ? $"const int M = {m};" : $"const int Q = {q}, M = {m};"); // additive pooling has no query width
            w.Line($"int B = ws.B, T = ws.T, S = {(cross ? "ws.S" : "ws.T")};");
            if (cross) w.Line("global::Dsl.EncoderOutput memory = ws.Memory!;");
            if (score == 3) w.Line($"const int A = {Lowerer.AdditiveUnits(l)};");
        }

        Open("forward");
        if (pool) w.Line($"for (int b = 0; b < B; b++) {(score == 2 ? $"{Field(layer, "query")}.AsSpan().CopyTo(ws.{n}_queries.Slice(b * Q, Q))" : $"{Field(layer, "key.bias")}.AsSpan().CopyTo(ws.{n}_q.Slice(b * A, A))")}; // the learned query, for every sequence");
        switch (score)
        {
            case 0:
            case 1:
                string scale = score == 1 ? "1f" : SourceWriter.Float((float)(1.0 / Math.Sqrt(q)));
                w.Line($"{Cross}.DotForward({steps}, S, B, Q, M, {scale}, {lengths}, {xq}, {mem}, {mem}, ws.{n}_weights, {context}{causal});");
                break;
            case 2:
                w.Line($"{Gemm}.MatMulTransB(S * B, Q, M, {mem}, M, {Field(layer, "weight")}.AsSpan(), M, ws.{n}_keys, Q, accumulate: false); // keys = memory·Wᵀ");
                w.Line($"{Cross}.DotForward({steps}, S, B, Q, M, 1f, {lengths}, {xq}, ws.{n}_keys, {mem}, ws.{n}_weights, {context}{causal});");
                break;
            default:
                if (!pool) Affine(w, "T * B", "A", "Q", $"ws.{layer.In}", Field(layer, "query.weight"), Field(layer, "query.bias"), $"ws.{n}_q");
                w.Line($"{Gemm}.MatMulTransB(S * B, A, M, {mem}, M, {Field(layer, "key.weight")}.AsSpan(), M, ws.{n}_k, A, accumulate: false);");
                w.Line($"{Cross}.AdditiveForward({steps}, S, B, A, M, {lengths}, ws.{n}_q, ws.{n}_k, {Field(layer, "v.weight")}.AsSpan(), {mem}, ws.{n}_hidden, ws.{n}_weights, {context}{causal});");
                break;
        }
        if (!pool) w.Line($"{Cross}.Concat(T * B, Q, M, ws.{layer.In}, {context}, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: {(pool ? "" : "dx and d(context) from the output, then ")}through the softmax and the score; {(cross ? "the memory's gradient adds into the encoder's" : "keys and values are x: their gradients add into dx")}");
        Open("backward");
        if (pool) w.Line($"{dx}.Clear(); // x is only keys and values here: every part of its gradient adds up below");
        else w.Line($"{Cross}.Split(T * B, Q, M, ws.{layer.DOut}, {dx}, {dContext});");
        switch (score)
        {
            case 0:
            case 1:
                string scale = score == 1 ? "1f" : SourceWriter.Float((float)(1.0 / Math.Sqrt(q)));
                w.Line($"{Cross}.DotBackward({steps}, S, B, Q, M, {scale}, {lengths}, {xq}, {mem}, {mem}, ws.{n}_weights, {dContext},");
                w.Line($"    {dxq}, {dmem}, {dmem}, ws.{n}_scratch{causal});");
                break;
            case 2:
            {
                string weight = Field(layer, "weight");
                w.Line($"ws.{n}_dkeys.Clear();");
                if (pool) w.Line($"ws.{n}_dqueries.Clear();");
                w.Line($"{Cross}.DotBackward({steps}, S, B, Q, M, 1f, {lengths}, {xq}, ws.{n}_keys, {mem}, ws.{n}_weights, {dContext},");
                w.Line($"    {dxq}, ws.{n}_dkeys, {dmem}, ws.{n}_scratch{causal});");
                w.Line("// keys = memory·Wᵀ: dW += dkeysᵀ·memory; d(memory) += dkeys·W");
                w.Line($"{Gemm}.MatMulTransA(Q, M, S * B, ws.{n}_dkeys, Q, {mem}, M, {weight}.GradAsSpan(), M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, Q, ws.{n}_dkeys, Q, {weight}.AsSpan(), M, {dmem}, M, accumulate: true);");
                if (pool) w.Line($"{Act}.AddColumnSums(ws.{n}_dqueries, B, {Field(layer, "query")}.GradAsSpan()); // the one query serves every sequence");
                break;
            }
            default:
            {
                string wk = Field(layer, "key.weight"), v = Field(layer, "v.weight");
                w.Line($"ws.{n}_dq.Clear();");
                w.Line($"ws.{n}_dk.Clear();");
                w.Line($"{Cross}.AdditiveBackward({steps}, S, B, A, M, {lengths}, {v}.AsSpan(), {mem}, ws.{n}_hidden, ws.{n}_weights, {dContext},");
                w.Line($"    ws.{n}_dq, ws.{n}_dk, {v}.GradAsSpan(), {dmem}, ws.{n}_scratch{causal});");
                if (pool)
                {
                    w.Line($"{Act}.AddColumnSums(ws.{n}_dq, B, {Field(layer, "key.bias")}.GradAsSpan()); // the bias serves every sequence");
                }
                else
                {
                    string wq = Field(layer, "query.weight"), bq = Field(layer, "query.bias");
                    w.Line("// q = x·W_qᵀ + b_q: dW_q += dqᵀ·x, db_q += Σ dq, dx += dq·W_q");
                    w.Line($"{Gemm}.MatMulTransA(A, Q, T * B, ws.{n}_dq, A, ws.{layer.In}, Q, {wq}.GradAsSpan(), Q, accumulate: true);");
                    w.Line($"{Act}.AddColumnSums(ws.{n}_dq, T * B, {bq}.GradAsSpan());");
                    w.Line($"{Gemm}.MatMul(T * B, Q, A, ws.{n}_dq, A, {wq}.AsSpan(), Q, {dx}, Q, accumulate: true);");
                }
                w.Line("// k = memory·W_kᵀ: dW_k += dkᵀ·memory, d(memory) += dk·W_k");
                w.Line($"{Gemm}.MatMulTransA(A, M, S * B, ws.{n}_dk, A, {mem}, M, {wk}.GradAsSpan(), M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, A, ws.{n}_dk, A, {wk}.AsSpan(), M, {dmem}, M, accumulate: true);");
                break;
            }
        }
        w.Close();
        w.Line();
    }
}
