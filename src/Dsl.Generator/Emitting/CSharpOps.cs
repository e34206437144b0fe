using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using static Dsl.Generator.Emitting.Names;

namespace Dsl.Generator.Emitting;

/// <summary>Where ops are written: in a pass method (buffers are <c>ws.x</c>, sizes T, B, S) or in the workspace's constructor (t, b, s).</summary>
internal enum Scope
{
    Pass,
    Workspace,
}

/// <summary>Writes the plan's ops as C#: one statement per op, calling the runtime's kernels.</summary>
internal static class CSharpOps
{
    /// <summary>A size as C#, over the pass's locals T, B and S (or the workspace constructor's t, b and s).</summary>
    public static string Format(Dim d, Scope scope = Scope.Pass)
    {
        string t = scope == Scope.Pass ? "T" : "t", b = scope == Scope.Pass ? "B" : "b", s = scope == Scope.Pass ? "S" : "s";
        var factors = new List<string>();
        if (d.Constant != 1 || d.Steps + d.PreviousSteps + d.Batch + d.Source == 0) factors.Add(d.Constant.ToString(System.Globalization.CultureInfo.InvariantCulture));
        for (int i = 0; i < d.Steps; i++) factors.Add(t);
        for (int i = 0; i < d.PreviousSteps; i++) factors.Add($"({t} - 1)");
        for (int i = 0; i < d.Source; i++) factors.Add(s);
        for (int i = 0; i < d.Batch; i++) factors.Add(b);
        return d.Constant == 0 ? "0" : string.Join(" * ", factors);
    }

    public static string Format(Operand o, Scope scope = Scope.Pass) => o switch
    {
        NoOperand => "default",
        AuxiliaryLossOperand => "ref ws.AuxiliaryLoss",
        BufferOperand b => scope == Scope.Pass ? b.Buffer.Ws : b.Buffer.Name,
        ParamOperand p => p.Grad ? p.Param.Grad : p.Param.Value,
        MemoryOperand m => m.Grad ? "ws.Memory!.MemoryGradient.Span" : "ws.Memory!.Memory.Span",
        SliceOperand s => $"{Format(s.Of, scope)}.Slice({Format(s.Start, scope)}{(s.Length is { } length ? ", " + Format(length, scope) : "")})",
        StateOperand s => $"state.{s.State.Field}{(s.Grad ? "_grad" : "")}",
        CacheOperand k => $"state!.{k.Cache.Field}",
        PositionOperand { Kept: true } => "ws.StartPosition",
        PositionOperand p => p.ThroughPass ? $"((state?.Position ?? 0) + {Format(new Dim(1, Steps: 1), scope)})" : "(state?.Position ?? 0)",
        TrainingOnlyOperand t => $"training ? {Format(t.Of, scope)} : default",
        WeightsOperand w => FormatWeights(w.Of, scope),
        LengthsOperand l => l.OfMemory ? "ws.Memory!.Lengths" : l.Always ? "ws.lengths" : WsLengths,
        ScalarOperand s => s.Text,
        DimOperand d => Format(d.Dim, scope),
        NamedOperand n => $"{n.Name}: {Format(n.Of, scope)}",
        _ => throw new InvalidOperationException($"No C# for operand {o.GetType().Name}."),
    };

    /// <summary>
    /// An operand a kernel takes as weights (<see cref="WeightReads"/>): a parameter's values as <c>.Weights</c>, floats, bfloat16 or 8-bit
    /// as the parameter is held, and a slice of them; any other operand as <see cref="Format(Operand, Scope)"/> writes it.
    /// </summary>
    public static string FormatWeights(Operand o, Scope scope = Scope.Pass) => o switch
    {
        ParamOperand { Grad: false } p => p.Param.Field + ".Weights",
        SliceOperand s when WeightReads.Param(s.Of) is not null =>
            $"{FormatWeights(s.Of, scope)}.Slice({Format(s.Start, scope)}{(s.Length is { } length ? ", " + Format(length, scope) : "")})",
        _ => Format(o, scope),
    };

    private static string Note(string? note) => note is null ? "" : " // " + note;

    /// <summary>A gather's or a scatter's scale as a last argument, or nothing for 1 (the kernels' default).</summary>
    private static string ScaleArgument(float scale) => scale == 1f ? "" : ", scale: " + SourceWriter.Float(scale);

    /// <summary>Writes <paramref name="ops"/> in order.</summary>
    public static void Write(IEnumerable<Op> ops, EmitContext c, Scope scope = Scope.Pass)
    {
        foreach (Op op in ops) Write(op, c, scope);
    }

    public static void Write(Op op, EmitContext c, Scope scope = Scope.Pass)
    {
        SourceWriter w = c.W;
        string F(Operand o) => Format(o, scope);
        string W(Operand o) => FormatWeights(o, scope);
        string D(Dim d) => Format(d, scope);
        switch (op)
        {
            case MatMulOp m:
            {
                if (m.TransA && m.TransB) throw new InvalidOperationException("No product with both operands transposed.");
                string method = m.TransA ? "MatMulTransA" : m.TransB ? "MatMulTransB" : "MatMul";
                string lda = m.TransA ? D(m.M) : D(m.K), ldb = m.TransB ? D(m.K) : D(m.N);
                if (m.Bias is not null)
                {
                    if (!m.TransB || m.TransA || m.Accumulate) throw new InvalidOperationException("A bias only on A · Bᵀ that writes C.");
                    w.Line($"{Gemm}.MatMulTransB({D(m.M)}, {D(m.N)}, {D(m.K)}, {F(m.A)}, {lda}, {W(m.B)}, {ldb}, {F(m.Bias)}, {F(m.C)}, {D(m.N)});{Note(m.Note)}");
                    break;
                }
                w.Line($"{Gemm}.{method}({D(m.M)}, {D(m.N)}, {D(m.K)}, {F(m.A)}, {lda}, {(WeightReads.Index(m) == 1 ? W(m.B) : F(m.B))}, {ldb}, {F(m.C)}, {D(m.N)}, accumulate: {(m.Accumulate ? "true" : "false")});{Note(m.Note)}");
                break;
            }
            case ColumnSumsOp s:
                w.Line($"{Act}.AddColumnSums({F(s.X)}, {D(s.Rows)}, {F(s.Into)});{Note(s.Note)}");
                break;
            case ActivationOp a:
                w.Line(a.X is null ? $"{Act}.Apply(global::Dsl.Activation.{a.Kind}, {F(a.Y)});" : $"{Act}.Apply(global::Dsl.Activation.{a.Kind}, {F(a.X)}, {F(a.Y)});");
                break;
            case ActivationBackwardOp a:
                w.Line(a.X is null ? $"{Act}.Backward(global::Dsl.Activation.{a.Kind}, {F(a.Y)}, {F(a.DY)});" : $"{Act}.BackwardFromInput(global::Dsl.Activation.{a.Kind}, {F(a.X)}, {F(a.DY)});");
                break;
            case CopyOp copy:
                w.Line($"{F(copy.From)}.CopyTo({F(copy.To)});{Note(copy.Note)}");
                break;
            case AddOp add:
                w.Line($"{TP}.Add({F(add.A)}, {F(add.B)}, {F(add.Into)});{Note(add.Note)}");
                break;
            case MultiplyOp mul:
                w.Line($"{TP}.Multiply({F(mul.A)}, {F(mul.B)}, {F(mul.Into)});{Note(mul.Note)}");
                break;
            case ClearOp clear:
                w.Line($"{F(clear.X)}.Clear();{Note(clear.Note)}");
                break;
            case FillOp fill:
                w.Line($"{F(fill.X)}.Fill({SourceWriter.Float(fill.Value)});{Note(fill.Note)}");
                break;
            case RepeatRowsOp r:
                w.Line($"{Layout}.RepeatRows({F(r.Row)}, {D(r.Rows ?? Dim.B)}, {F(r.Into)});{Note(r.Note)}");
                break;
            case GatherRowsOp g:
                w.Line($"{Layout}.GatherRows({W(g.Table)}, {F(g.Indices)}, {D(g.Width)}, {F(g.Into)}{ScaleArgument(g.Scale)});");
                break;
            case ScatterAddRowsOp s:
                w.Line($"{Layout}.ScatterAddRows({F(s.Indices)}, {F(s.Rows)}, {D(s.Width)}, {F(s.Table)}{ScaleArgument(s.Scale)});");
                break;
            case DropoutOp d:
                w.Line($"if (training) {DropoutKernel}.Forward({F(d.In)}, {F(d.Mask)}, {F(d.Out)}, {SourceWriter.Float(d.P)}, _dropoutRng);{Note(d.Note)}");
                w.Line($"else {F(d.In)}.CopyTo({F(d.Out)});");
                break;
            case DropoutMaskOp d:
                w.Line($"if (training) {DropoutKernel}.Mask({F(d.Mask)}, {SourceWriter.Float(d.P)}, _dropoutRng);{Note(d.Note)}");
                break;
            case KernelOp k:
                w.Line($"global::Dsl.Kernels.{k.Family}.{k.Method}({string.Join(", ", k.Arguments.Select(F))});{Note(k.Note)}");
                break;
            case CommentOp comment:
                w.Line("// " + comment.Text);
                break;
            case WhenOp branch:
            {
                string condition = branch.Condition switch
                {
                    Condition.Training => "training",
                    Condition.Padded => "ws.HasLengths",
                    Condition.CarriedState => "state is not null",
                    Condition.SteppingState => "state is not null && !training",
                    Condition.ProjectedMemory => "state is { MemoryProjected: true } && !training",
                    Condition.SingleStep => "state is not null && !training && T == 1",
                    Condition.InjectFinal => "ws.InjectFinal",
                    Condition.TokenVectors => "!ws.FoldsTokens",
                    _ => throw new InvalidOperationException($"No C# for condition {branch.Condition}."),
                };
                if (branch.Otherwise.Count > 0)
                {
                    w.Open($"if ({condition})");
                    Write(branch.Body, c, scope);
                    w.Close();
                    w.Open("else");
                    Write(branch.Otherwise, c, scope);
                    w.Close();
                    break;
                }
                if (branch.Body.Count == 1 && branch.Body[0] is not (WhenOp or ScatterAddRowsOp or DropoutOp or MacroOp or CommentOp))
                {
                    var single = new SourceWriter();
                    Write(branch.Body[0], new EmitContext(single, c.Plan), scope);
                    w.Line($"if ({condition}) {single.ToString().TrimEnd('\n')}");
                    break;
                }
                w.Open($"if ({condition})");
                Write(branch.Body, c, scope);
                w.Close();
                break;
            }
            case MacroOp macro:
                macro.WriteCSharp(c);
                break;
            default:
                throw new InvalidOperationException($"No C# for op {op.GetType().Name}.");
        }
    }
}
