using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;

namespace Dsl.Generator.Layers.Attention;

/// <summary>
/// The encoder's outputs as a cross-attention layer projects them (its keys, its values), made once per sequence of a
/// stepping decoder: a step (<see cref="Condition.SingleStep"/>) projects them and keeps them in the carried state
/// (<see cref="ModelPlan.MemoryCaches"/>), the passes after read them back (<see cref="Condition.ProjectedMemory"/>); any
/// other pass projects them (a teacher-forced pass over a whole sequence from a fresh state keeps nothing).
/// </summary>
internal static class ProjectedMemory
{
    /// <summary>The ops that fill each projection's buffer [S, B, width]: read back from the state, or projected (and kept when stepping).</summary>
    public static Op Once(params (Op Project, BufferRef Into, CacheRef Kept)[] projections)
    {
        Operand[] Rows(CacheRef kept) => [ScalarOperand.Of(new Dim(1, Source: 1)), ScalarOperand.Of(Dim.B), ScalarOperand.Of(kept.Width), ScalarOperand.Of(0)];
        Op[] read = projections.Select(p => (Op)new KernelOp(Kernels.Layout, "ReadSteps", [.. Rows(p.Kept), new CacheOperand(p.Kept), p.Into])).ToArray();
        Op[] keep = projections.Select(p => (Op)new KernelOp(Kernels.Layout, "AppendSteps", [.. Rows(p.Kept), p.Into, new CacheOperand(p.Kept)])).ToArray();
        return new WhenOp(Condition.ProjectedMemory, read.ToEquatableArray(),
            projections.Select(p => p.Project).Append(new WhenOp(Condition.SingleStep, keep)).ToEquatableArray());
    }
}
