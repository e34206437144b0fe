using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;

namespace Dsl.Generator.Lowering;

/// <summary>
/// Which parameters a model reads, when it runs forward, only as weights a kernel can widen from bfloat16, 8 or 4 bits (the runtime's
/// <c>Dsl.Kernels.Weights</c>): the B of a product A · Bᵀ (a Dense's or a projection's matrix), the table of a row gather
/// (an embedding) and a kernel's argument lowered as a <see cref="WeightsOperand"/> (a mixture's experts). Those the generated code marks <c>HoldsOnlyWeights</c>, which <c>ParameterSet.HoldWeightsIn</c> may hold in
/// half or a quarter of the memory; the emitter passes them as <c>.Weights</c> in those places (<see cref="Emitting.CSharpOps"/>). Any other read
/// forward — a kernel's argument, an element-wise op, a layer whose C# is written by hand (a <see cref="MacroOp"/>: a
/// recurrent layer's time loop), except the parameters it declares it reads as weights (<see cref="MacroOp.WeightsRead"/>: a
/// recurrent layer's matrices), an op this analysis does not know — keeps the parameter in float32.
/// </summary>
internal static class WeightReads
{
    /// <summary>Where in <see cref="Operands"/> the operand of <paramref name="op"/> its kernel takes as weights (floats, bfloat16, 8- or 4-bit) is; −1 for none.</summary>
    public static int Index(Op op) => op switch
    {
        MatMulOp { TransB: true, TransA: false } => 1,
        GatherRowsOp => 0,
        _ => -1,
    };

    /// <summary>The parameter a weights operand reads, itself or a slice of it (never its gradient); null for any other operand.</summary>
    public static ParamRef? Param(Operand o) => o switch
    {
        ParamOperand { Grad: false } p => p.Param,
        SliceOperand s => Param(s.Of),
        _ => null,
    };

    /// <summary>The names of the parameters <paramref name="plan"/>'s forward passes read only as weights.</summary>
    public static EquatableArray<string> Find(ModelPlan plan)
    {
        var asWeights = new HashSet<string>(System.StringComparer.Ordinal);
        var otherwise = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (LayerPlan layer in plan.Layers)
        {
            bool opaque = false;
            var declared = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (Op op in layer.Passes.Forward.Concat(layer.Setup).Concat(layer.Encode))
                opaque |= !Scan(op, asWeights, otherwise, declared);
            // a layer with C# written by hand, or an op not known here: every parameter its plan names (its own, through its
            // records and ops; a recurrent layer's token table; the attention it feeds) is read as floats, but those its
            // hand-written ops declare they read only as weights
            if (opaque)
                foreach (ParamRef p in Named(layer, new HashSet<object>(ReferenceEqualityComparer.Instance)))
                    if (!declared.Contains(p.Name)) otherwise.Add(p.Name);
        }
        return plan.Parameters.Select(p => p.Name).Where(n => asWeights.Contains(n) && !otherwise.Contains(n)).ToEquatableArray();
    }

    /// <summary>
    /// The column within each row from which a forward pass also reads a weight of <see cref="ModelPlan.WeightsOnly"/> on its own
    /// (<see cref="MacroOp.ColumnsReadFrom"/>), by parameter: the generated code sets it as <c>Parameter.ReadFromColumn</c>, which
    /// keeps a group of 4-bit values from spanning it.
    /// </summary>
    public static EquatableArray<(string Name, int Column)> Cuts(ModelPlan plan)
    {
        var cuts = new SortedDictionary<string, int>(System.StringComparer.Ordinal);
        foreach (LayerPlan layer in plan.Layers)
            foreach (MacroOp macro in layer.Passes.Forward.Concat(layer.Setup).Concat(layer.Encode).SelectMany(Flat).OfType<MacroOp>())
                foreach ((ParamRef p, int column) in macro.ColumnsReadFrom)
                    if (plan.WeightsOnly.Contains(p.Name)) cuts[p.Name] = column;
        return cuts.Select(c => (c.Key, c.Value)).ToEquatableArray();
    }

    /// <summary>An op and the ops inside it (a conditional's branches).</summary>
    private static IEnumerable<Op> Flat(Op op) => op is WhenOp conditional ? conditional.Body.Concat(conditional.Otherwise).SelectMany(Flat).Prepend(op) : new[] { op };

    /// <summary>
    /// Sorts the parameters <paramref name="op"/> reads; false when it cannot see them all (hand-written C#, an op it does not
    /// know), having added those hand-written C# declares it reads only as weights to <paramref name="declared"/> too.
    /// </summary>
    private static bool Scan(Op op, HashSet<string> asWeights, HashSet<string> otherwise, HashSet<string> declared)
    {
        switch (op)
        {
            case WhenOp conditional:
            {
                bool seen = true;
                foreach (Op inner in conditional.Body.Concat(conditional.Otherwise)) seen &= Scan(inner, asWeights, otherwise, declared);
                return seen;
            }
            case CommentOp:
                return true;
            case MacroOp macro:
                foreach (ParamRef p in macro.WeightsRead)
                {
                    asWeights.Add(p.Name);
                    declared.Add(p.Name);
                }
                return false;
        }
        if (Operands(op) is not { } operands) return false;
        int weights = Index(op), i = 0;
        foreach (Operand o in operands)
        {
            if ((i++ == weights || o is WeightsOperand) && Param(o is WeightsOperand w ? w.Of : o) is { } p) asWeights.Add(p.Name);
            else foreach (ParamRef q in ParamsIn(o)) otherwise.Add(q.Name);
        }
        return true;
    }

    /// <summary>Every operand of an op this analysis knows (its weights at <see cref="Index"/>); null for one it does not.</summary>
    private static IEnumerable<Operand>? Operands(Op op) => op switch
    {
        MatMulOp m => new[] { m.A, m.B, m.C, m.Bias ?? Operand.None },
        ColumnSumsOp s => new[] { s.X, s.Into },
        ActivationOp a => new[] { a.Y, a.X ?? Operand.None },
        ActivationBackwardOp a => new[] { a.Y, a.DY, a.X ?? Operand.None },
        CopyOp c => new[] { c.From, c.To },
        AddOp a => new[] { a.A, a.B, a.Into },
        MultiplyOp m => new[] { m.A, m.B, m.Into },
        ClearOp c => new[] { c.X },
        FillOp f => new[] { f.X },
        RepeatRowsOp r => new[] { r.Row, r.Into },
        GatherRowsOp g => new[] { g.Table, g.Indices, g.Into },
        ScatterAddRowsOp s => new[] { s.Indices, s.Rows, s.Table },
        DropoutOp d => new[] { d.In, d.Mask, d.Out },
        DropoutMaskOp d => new[] { d.Mask },
        KernelOp k => k.Arguments,
        _ => null,
    };

    /// <summary>Every parameter <paramref name="o"/> (a plan, an op, a record of one) refers to, found through its properties.</summary>
    private static IEnumerable<ParamRef> Named(object? o, HashSet<object> seen)
    {
        if (o is null || o is string || o.GetType().IsPrimitive || o.GetType().IsEnum || !seen.Add(o)) yield break;
        if (o is ParamRef p)
        {
            yield return p;
            yield break;
        }
        if (o is System.Collections.IEnumerable items)
        {
            foreach (object? item in items)
                foreach (ParamRef q in Named(item, seen)) yield return q;
            yield break;
        }
        // the generator's own records only (a layer's shapes and declaration hold no parameters)
        if (o.GetType().Namespace?.StartsWith("Dsl.Generator", System.StringComparison.Ordinal) != true || o is Shapes.ShapedLayer) yield break;
        foreach (System.Reflection.PropertyInfo property in o.GetType().GetProperties())
        {
            if (property.GetIndexParameters().Length > 0 || property.Name == "EqualityContract") continue;
            foreach (ParamRef q in Named(property.GetValue(o), seen)) yield return q;
        }
    }

    /// <summary>Compares by reference (netstandard2.0 has no ReferenceEqualityComparer).</summary>
    private sealed class ReferenceEqualityComparer : IEqualityComparer<object>
    {
        public static readonly ReferenceEqualityComparer Instance = new();
        public new bool Equals(object? x, object? y) => ReferenceEquals(x, y);
        public int GetHashCode(object o) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(o);
    }

    /// <summary>The parameters (values, not gradients) an operand reads.</summary>
    private static IEnumerable<ParamRef> ParamsIn(Operand o) => o switch
    {
        ParamOperand { Grad: false } p => new[] { p.Param },
        SliceOperand s => ParamsIn(s.Of),
        TrainingOnlyOperand t => ParamsIn(t.Of),
        NamedOperand n => ParamsIn(n.Of),
        WeightsOperand w => ParamsIn(w.Of),
        _ => System.Array.Empty<ParamRef>(),
    };
}
