using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

/// <summary>The fully qualified names generated code uses, written once.</summary>
internal static class Names
{
    public const string T = "global::System.Numerics.Tensors";
    public const string Span = "global::System.Span<float>";
    public const string RoSpan = "global::System.ReadOnlySpan<float>";
    public const string Gemm = "global::Dsl.Kernels.Gemm";
    public const string Act = "global::Dsl.Kernels.Activations";
    public const string Layout = "global::Dsl.Kernels.Layout";
    public const string Check = "global::Dsl.Check";
    public const string TP = "global::System.Numerics.Tensors.TensorPrimitives";
    public const string DropoutKernel = "global::Dsl.Kernels.DropoutKernel";
    public const string Lengths = "global::System.ReadOnlySpan<int>"; // per-sequence lengths
    public const string Hot = "[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]";

    /// <summary>The per-sequence lengths of a pass, or none.</summary>
    public const string WsLengths = "ws.HasLengths ? ws.lengths : default";
}

/// <summary>What a layer kind's emitter writes with: the writer, the model's plan, and helpers for the common shapes of code.</summary>
internal sealed class EmitContext
{
    public EmitContext(SourceWriter writer, ModelPlan plan)
    {
        W = writer;
        Plan = plan;
    }

    public SourceWriter W { get; }

    public ModelPlan Plan { get; }

    public ShapedModel Model => Plan.Model;

    /// <summary>A shape comment: [T, B, width] or [B, width].</summary>
    public static string Shape(bool sequence, int width) => sequence ? $"[T, B, {width}]" : $"[B, {width}]";
}
