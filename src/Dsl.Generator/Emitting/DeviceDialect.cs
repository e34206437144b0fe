using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Lowering;

namespace Dsl.Generator.Emitting;

/// <summary>
/// How host code becomes device code: every kernel the generated code calls is named in full (<see cref="Names"/>), and
/// Dsl.Gpu provides the same classes, methods and signatures over <c>DeviceSpan</c> (device memory) in
/// <c>Dsl.Gpu.Kernels</c>, so the device's layer and cell methods are the host's with these names exchanged — one
/// walker, one time loop per cell, two backends. What the device lacks is found here from the ops, before anything is
/// written (<see cref="Blocker"/>), and <c>To(device)</c> then refuses the model naming the layer.
/// </summary>
internal static class DeviceDialect
{
    private static readonly (string Host, string Device)[] Map =
    [
        // the encoder's outputs cross-attention reads, and their gradient (Dsl.Gpu.DeviceEncoderOutput)
        ("ws.Memory!.Memory.Span", "ws.Memory!.Outputs"),
        ("ws.Memory!.MemoryGradient.Span", "ws.Memory!.Gradient"),
        ("global::System.Numerics.Tensors.TensorPrimitives.", "global::Dsl.Gpu.Kernels.TensorPrimitives."),
        ("global::Dsl.Kernels.Weights", "global::Dsl.Gpu.DeviceSpan"), // (a hand-written method's weights: the device holds floats)
        ("global::Dsl.Kernels.", "global::Dsl.Gpu.Kernels."),
        ("global::System.ReadOnlySpan<float>", "global::Dsl.Gpu.DeviceSpan"),
        ("global::System.Span<float>", "global::Dsl.Gpu.DeviceSpan"),
    ];

    /// <summary>The kernels of the host's runtime families that Dsl.Gpu provides (besides the products, cells and element-wise operations every layer uses).</summary>
    private static readonly HashSet<string> DeviceKernels =
    [
        "Layout.MaskSteps", "Layout.MeanSteps", "Layout.MeanStepsBackward", "Layout.MaxSteps", "Layout.MaxStepsBackward", "Layout.GatherLastStep", "Layout.ScatterLastStep", "Layout.GatherFinalState", "Layout.AddToFinalState",
        "Layout.GatherRows", "Layout.ScatterAddRows", "Layout.TokenTypes", "Layout.RepeatRows",
        "AttentionKernel.Forward", "AttentionKernel.Backward", "AttentionKernel.CachedForward", "AttentionKernel.Append",
        "LayerNormKernel.Forward", "LayerNormKernel.Backward", "RmsNormKernel.Forward", "RmsNormKernel.Backward", "RotaryKernel.Apply", "QueryKeyNormKernel.Forward", "QueryKeyNormKernel.Backward", "GatedActivations.Forward", "GatedActivations.Backward", "Activations.SoftCap", "Activations.SoftCapBackward", "Activations.Clip", "Activations.Scale", "PositionalEncodingKernel.Add", "PositionEmbeddingKernel.Add", "PositionEmbeddingKernel.Backward",
        "AttentionKernel.CrossForward", "AttentionKernel.CrossBackward", "AttentionKernel.PoolForward", "AttentionKernel.PoolBackward",
        "CrossAttentionKernel.DotForward", "CrossAttentionKernel.DotBackward", "CrossAttentionKernel.AdditiveForward", "CrossAttentionKernel.AdditiveBackward",
        "CrossAttentionKernel.Concat", "CrossAttentionKernel.Split", "Layout.AppendSteps", "Layout.ReadSteps", "RelativePositionKernel.Expand", "RelativePositionKernel.Collect",
        "Experts.Route", "Experts.Forward", "Experts.Backward", "Experts.RouteBackward", "Experts.Balance", "Experts.BalanceBackward", "Experts.AddShared", "Experts.SharedBackward",
    ];

    /// <summary>Host C# as device C#.</summary>
    public static string Translate(string csharp)
    {
        foreach (var (host, device) in Map) csharp = csharp.Replace(host, device);
        // a parameter read as weights (floats, bfloat16 or 8 bits on the host: WeightReads) is the device's floats
        return s_weights.Replace(csharp, "$1.AsSpan()");
    }

    /// <summary>A parameter's field read as weights: <c>_dense_weight.Weights</c>.</summary>
    private static readonly System.Text.RegularExpressions.Regex s_weights = new(@"\b(_[A-Za-z0-9_]+)\.Weights\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Why <paramref name="op"/> cannot run on a device, or null when it can.</summary>
    public static string? Blocker(Op op) => op switch
    {
        KernelOp k when !DeviceKernels.Contains(k.Family + "." + k.Method) => $"needs {k.Family}.{k.Method}, which has no device kernel yet",
        KernelOp k => k.Arguments.Select(Blocker).FirstOrDefault(b => b is not null),
        WhenOp w => w.Body.Concat(w.Otherwise).Select(Blocker).FirstOrDefault(b => b is not null),
        MacroOp m => m.DeviceBlocker,
        MatMulOp mm => new[] { mm.A, mm.B, mm.C, mm.Bias }.Where(o => o is not null).Select(o => Blocker(o!)).FirstOrDefault(b => b is not null),
        CopyOp c => Blocker(c.From) ?? Blocker(c.To),
        AddOp a => Blocker(a.A) ?? Blocker(a.B) ?? Blocker(a.Into),
        MultiplyOp mu => Blocker(mu.A) ?? Blocker(mu.B) ?? Blocker(mu.Into),
        _ => null,
    };

    private static string? Blocker(Operand o) => o switch
    {
        SliceOperand s => Blocker(s.Of),
        TrainingOnlyOperand t => Blocker(t.Of),
        WeightsOperand w => Blocker(w.Of),
        NamedOperand n => Blocker(n.Of),
        _ => null,
    };
}
