using System.Collections.Generic;
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
    public const string WeightsType = "global::Dsl.Kernels.Weights";
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

    /// <summary>
    /// Every name the generated code declares directly in a model class (ModelEmitter, DeviceEmitter; valid or not), besides
    /// the per-layer ones of <see cref="LayerMember"/>: a class of one of these names cannot hold its members (CS0542), which
    /// DSL0009 reports. A member an emitter adds is added here (GeneratedNameTests compares the list with the output).
    /// </summary>
    public static readonly IReadOnlyCollection<string> ModelMembers = new HashSet<string>(System.StringComparer.Ordinal)
    {
        "State", "Workspace", "DeviceRun", "InputWidth", "VocabularySize", "OutputWidth", "ReturnsSequences", "CanStep", "Architecture", "Parameters",
        "Forward", "Backward", "Loss", "ClassLoss", "ValueLoss", "AttentionWeights", "CreateState", "Step", "NewOutput", "ForwardInto", "RequireState",
        "ReadInputShape", "NewWorkspace", "LoadInput", "AsState", "RequireMemory", "ForwardPass", "BackwardPass", "Device", "To", "ToHost",
        "LabelSmoothing", "_dropoutRng", "_labelSmoothing", "_workspace", "_stepWorkspace", "_deviceRun",
    };

    /// <summary>Every name the generated code declares directly in an encoder–decoder composition (CompositionEmitter; valid or not).</summary>
    public static readonly IReadOnlyCollection<string> CompositionMembers = new HashSet<string>(System.StringComparer.Ordinal)
    {
        "SourceWidth", "TargetVocabulary", "s_bridges", "AttentionWeights", "Fail", "Parameters", "Encode", "Forward", "Loss", "Backward", "Greedy", "Beam", "Generate", "Stream",
    };

    /// <summary>
    /// Whether <paramref name="name"/> is of the form of a member the generated code declares for layer <paramref name="layer"/>:
    /// its passes and cells (<c>lstm_forward</c>, <c>lstm_cell_reverse_backward</c>) and its parameters and helpers (<c>_lstm_weight_ih_l0</c>).
    /// </summary>
    public static bool LayerMember(string name, string layer) =>
        (name.StartsWith(layer + "_", System.StringComparison.Ordinal) && (name.EndsWith("_forward", System.StringComparison.Ordinal) || name.EndsWith("_backward", System.StringComparison.Ordinal)))
        || name.StartsWith("_" + layer + "_", System.StringComparison.Ordinal);
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
