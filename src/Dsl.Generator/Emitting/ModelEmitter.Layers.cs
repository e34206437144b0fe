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
        if (l.IsCrossAttention)
        {
            EmitCrossAttention(w, layer);
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
        w.Line($"global::Dsl.Kernels.AttentionKernel.Forward(T, B, E, Heads, {scale}, causal: {causal}, ws.HasLengths ? ws.lengths : default, ws.{n}_qkv, ws.{n}_weights, {maskArg}, ws.{n}_context, ws.{n}_scratch);");
        Affine(w, "T * B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.Out}");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: through the output projection, the heads (softmax included) and the input projection");
        w.Open($"private void {n}_backward(Workspace ws)");
        w.Line($"const int E = {e}, Heads = {heads};");
        w.Line("int B = ws.B, T = ws.T;");
        AffineBackward(w, "T * B", "E", "E", $"ws.{n}_context", outW, outB, $"ws.{layer.DOut}", $"ws.{n}_dcontext");
        w.Line($"global::Dsl.Kernels.AttentionKernel.Backward(T, B, E, Heads, {scale}, causal: {causal}, ws.HasLengths ? ws.lengths : default, ws.{n}_qkv, ws.{n}_weights, {mask}, ws.{n}_dcontext, ws.{n}_dqkv, ws.{n}_scratch);");
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

    private static void EmitCrossAttention(SourceWriter w, LayerPlan layer)
    {
        ShapedLayer l = layer.Layer;
        int q = l.InWidth, m = l.MemoryWidth, score = l.Spec.Score;
        string n = l.Name;
        string scoreText = score switch
        {
            0 => $"x·k / √{q} (scaled dot)",
            1 => "x·k (dot)",
            2 => "x·W·k (Luong's general)",
            _ => "vᵀ tanh(W_q x + b_q + W_k k) (Bahdanau's additive)",
        };
        string dx = $"ws.{layer.DIn}";
        w.Line($"// {n}: [T, B, {q}] -> [T, B, {q + m}], cross-attention over the outputs k of {l.MemoryModel} [S, B, {m}], score {scoreText}:");
        w.Line($"// a[t] = softmax_s(score(x[t], k[s])) over the source's valid steps; out[t] = [x[t]; Σ_s a[t, s] k[s]]");
        w.Open($"private void {n}_forward(Workspace ws, bool training)");
        w.Line($"const int Q = {q}, M = {m};");
        w.Line("int B = ws.B, T = ws.T, S = ws.S;");
        w.Line("global::Dsl.EncoderOutput memory = ws.Memory!;");
        switch (score)
        {
            case 0:
            case 1:
                string scale = score == 1 ? "1f" : SourceWriter.Float((float)(1.0 / Math.Sqrt(q)));
                w.Line($"{Cross}.DotForward(T, S, B, Q, M, {scale}, memory.Lengths, ws.{layer.In}, memory.Memory.Span, memory.Memory.Span, ws.{n}_weights, ws.{n}_context);");
                break;
            case 2:
                w.Line($"{Gemm}.MatMulTransB(S * B, Q, M, memory.Memory.Span, M, {layer.ParamFields[0]}.AsSpan(), M, ws.{n}_keys, Q, accumulate: false); // keys = memory·Wᵀ");
                w.Line($"{Cross}.DotForward(T, S, B, Q, M, 1f, memory.Lengths, ws.{layer.In}, ws.{n}_keys, memory.Memory.Span, ws.{n}_weights, ws.{n}_context);");
                break;
            default:
                w.Line($"const int A = {Lowerer.AdditiveUnits(l)};");
                Affine(w, "T * B", "A", "Q", $"ws.{layer.In}", layer.ParamFields[0], layer.ParamFields[1], $"ws.{n}_q");
                w.Line($"{Gemm}.MatMulTransB(S * B, A, M, memory.Memory.Span, M, {layer.ParamFields[2]}.AsSpan(), M, ws.{n}_k, A, accumulate: false);");
                w.Line($"{Cross}.AdditiveForward(T, S, B, A, M, memory.Lengths, ws.{n}_q, ws.{n}_k, {layer.ParamFields[3]}.AsSpan(), memory.Memory.Span, ws.{n}_hidden, ws.{n}_weights, ws.{n}_context);");
                break;
        }
        w.Line($"{Cross}.Concat(T * B, Q, M, ws.{layer.In}, ws.{n}_context, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {n} backward: dx and d(context) from the output, then through the softmax and the score; the memory's gradient adds into the encoder's");
        w.Open($"private void {n}_backward(Workspace ws)");
        w.Line($"const int Q = {q}, M = {m};");
        w.Line("int B = ws.B, T = ws.T, S = ws.S;");
        w.Line("global::Dsl.EncoderOutput memory = ws.Memory!;");
        w.Line($"{Cross}.Split(T * B, Q, M, ws.{layer.DOut}, {dx}, ws.{n}_dcontext);");
        switch (score)
        {
            case 0:
            case 1:
                string scale = score == 1 ? "1f" : SourceWriter.Float((float)(1.0 / Math.Sqrt(q)));
                w.Line($"{Cross}.DotBackward(T, S, B, Q, M, {scale}, memory.Lengths, ws.{layer.In}, memory.Memory.Span, memory.Memory.Span, ws.{n}_weights, ws.{n}_dcontext,");
                w.Line($"    {dx}, memory.MemoryGradient.Span, memory.MemoryGradient.Span, ws.{n}_scratch);");
                break;
            case 2:
            {
                string weight = layer.ParamFields[0];
                w.Line($"ws.{n}_dkeys.Clear();");
                w.Line($"{Cross}.DotBackward(T, S, B, Q, M, 1f, memory.Lengths, ws.{layer.In}, ws.{n}_keys, memory.Memory.Span, ws.{n}_weights, ws.{n}_dcontext,");
                w.Line($"    {dx}, ws.{n}_dkeys, memory.MemoryGradient.Span, ws.{n}_scratch);");
                w.Line("// keys = memory·Wᵀ: dW += dkeysᵀ·memory; d(memory) += dkeys·W");
                w.Line($"{Gemm}.MatMulTransA(Q, M, S * B, ws.{n}_dkeys, Q, memory.Memory.Span, M, {weight}.GradAsSpan(), M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, Q, ws.{n}_dkeys, Q, {weight}.AsSpan(), M, memory.MemoryGradient.Span, M, accumulate: true);");
                break;
            }
            default:
            {
                string wq = layer.ParamFields[0], bq = layer.ParamFields[1], wk = layer.ParamFields[2], v = layer.ParamFields[3];
                w.Line($"const int A = {Lowerer.AdditiveUnits(l)};");
                w.Line($"ws.{n}_dq.Clear();");
                w.Line($"ws.{n}_dk.Clear();");
                w.Line($"{Cross}.AdditiveBackward(T, S, B, A, M, memory.Lengths, {v}.AsSpan(), memory.Memory.Span, ws.{n}_hidden, ws.{n}_weights, ws.{n}_dcontext,");
                w.Line($"    ws.{n}_dq, ws.{n}_dk, {v}.GradAsSpan(), memory.MemoryGradient.Span, ws.{n}_scratch);");
                w.Line("// q = x·W_qᵀ + b_q: dW_q += dqᵀ·x, db_q += Σ dq, dx += dq·W_q; k = memory·W_kᵀ: dW_k += dkᵀ·memory, d(memory) += dk·W_k");
                w.Line($"{Gemm}.MatMulTransA(A, Q, T * B, ws.{n}_dq, A, ws.{layer.In}, Q, {wq}.GradAsSpan(), Q, accumulate: true);");
                w.Line($"{Act}.AddColumnSums(ws.{n}_dq, T * B, {bq}.GradAsSpan());");
                w.Line($"{Gemm}.MatMul(T * B, Q, A, ws.{n}_dq, A, {wq}.AsSpan(), Q, {dx}, Q, accumulate: true);");
                w.Line($"{Gemm}.MatMulTransA(A, M, S * B, ws.{n}_dk, A, memory.Memory.Span, M, {wk}.GradAsSpan(), M, accumulate: true);");
                w.Line($"{Gemm}.MatMul(S * B, M, A, ws.{n}_dk, A, {wk}.AsSpan(), M, memory.MemoryGradient.Span, M, accumulate: true);");
                break;
            }
        }
        w.Close();
        w.Line();
    }
}
