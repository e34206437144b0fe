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
        w.Line($"for (int r = 0; r < ws.{Lowerer.Tokens}.Length; r++) table.Slice(ws.{Lowerer.Tokens}[r] * D, D).CopyTo({Slice($"ws.{layer.Out}", "r * D", "D")});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dweight[tokens[t, b]] += dout[t, b]");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line($"const int D = {D};");
        w.Line($"{Span} dtable = {weight}.GradAsSpan();");
        w.Open($"for (int r = 0; r < ws.{Lowerer.Tokens}.Length; r++)");
        w.Line($"{Span} row = dtable.Slice(ws.{Lowerer.Tokens}[r] * D, D);");
        w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Add(row, {Slice($"ws.{layer.DOut}", "r * D", "D")}, row);");
        w.Close();
        w.Close();
        w.Line();
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
        w.Line($"{Gemm}.MatMulTransB(R, U, I, ws.{layer.In}, I, {weight}.AsSpan(), I, ws.{layer.Out}, U, accumulate: false);");
        w.Line($"{Act}.AddBias(ws.{layer.Out}, R, {bias}.AsSpan());");
        if (hasAct) w.Line($"{Act}.Apply(global::Dsl.Activation.{act}, ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: da = dout ⊙ act'(out); dW += daᵀ · x; db += Σ da; dx = da · W");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        w.Line($"const int I = {l.InWidth}, U = {l.OutWidth};");
        w.Line($"int R = {Rows(l, output: true)};");
        if (hasAct) w.Line($"{Act}.Backward(global::Dsl.Activation.{act}, ws.{layer.Out}, ws.{layer.DOut});");
        w.Line($"{Gemm}.MatMulTransA(U, I, R, ws.{layer.DOut}, U, ws.{layer.In}, I, {weight}.GradAsSpan(), I, accumulate: true);");
        w.Line($"{Act}.AddColumnSums(ws.{layer.DOut}, R, {bias}.GradAsSpan());");
        if (layer.DIn is not null) w.Line($"{Gemm}.MatMul(R, I, U, ws.{layer.DOut}, U, {weight}.AsSpan(), I, ws.{layer.DIn}, I, accumulate: false);");
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
        w.Line($"else {Whole($"ws.{layer.In}")}.CopyTo(ws.{layer.Out});");
        w.Close();
        w.Line();
        w.Line($"// {l.Name} backward: dx = dout ⊙ mask");
        w.Open($"private void {l.Name}_backward(Workspace ws)");
        if (layer.DIn is not null) w.Line($"global::System.Numerics.Tensors.TensorPrimitives.Multiply(ws.{layer.DOut}, ws.{layer.Mask}, ws.{layer.DIn});");
        w.Close();
        w.Line();
    }
}
