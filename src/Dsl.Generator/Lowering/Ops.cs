using System.Collections.Generic;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Lowering;

// The operations of a layer's forward and backward pass: what the plan says each layer computes, over typed operands
// (buffers, parameters' values and gradients, the memory cross-attention reads) with symbolic sizes. Emitters walk these
// lists: Emitting/CSharpOps.cs writes C#; a GPU emitter launches a kernel per op. No op re-derives a layer's maths from
// its kind: everything an op needs is in it. Must stay structurally equatable.

/// <summary>A symbolic size: <see cref="Constant"/> · T^Steps · (T − 1)^PreviousSteps · S^Source · B^Batch.</summary>
internal sealed record Dim(int Constant, int Steps = 0, int Batch = 0, int Source = 0, int PreviousSteps = 0)
{
    public static readonly Dim One = new(1);
    public static readonly Dim B = new(1, Batch: 1);
    public static readonly Dim TB = new(1, Steps: 1, Batch: 1);
    public static readonly Dim SB = new(1, Batch: 1, Source: 1);

    public static implicit operator Dim(int constant) => new(constant);

    /// <summary>One row per step and sequence for a sequence, else one per sequence.</summary>
    public static Dim Rows(bool sequence) => sequence ? TB : B;

    public static Dim operator *(Dim d, int k) => d with { Constant = d.Constant * k };

    public override string ToString() => Emitting.CSharpOps.Format(this);
}

/// <summary>What an op reads or writes.</summary>
internal abstract record Operand
{
    public static implicit operator Operand(BufferRef buffer) =>
        new BufferOperand(buffer ?? throw new System.ArgumentNullException(nameof(buffer), "a missing buffer is Operand.None, not null"));

    /// <summary>No tensor (an empty span): the op skips what would read or write it.</summary>
    public static readonly Operand None = new NoOperand();

    /// <summary>A part of this operand: <paramref name="length"/> elements from <paramref name="start"/> (to the end when null).</summary>
    public Operand Slice(Dim start, Dim? length = null) => new SliceOperand(this, start, length);
}

internal sealed record NoOperand : Operand;

/// <summary>The pass's auxiliary loss, which a kernel adds its term into (a mixture's load-balancing loss): <c>ref ws.AuxiliaryLoss</c>.</summary>
internal sealed record AuxiliaryLossOperand : Operand;

internal sealed record BufferOperand(BufferRef Buffer) : Operand;

/// <summary>A parameter's values, or its gradient.</summary>
internal sealed record ParamOperand(ParamRef Param, bool Grad) : Operand;

/// <summary>The encoder outputs a cross-attention layer reads [S, B, M], or their gradient (added into the encoder's).</summary>
internal sealed record MemoryOperand(bool Grad) : Operand;

internal sealed record SliceOperand(Operand Of, Dim Start, Dim? Length) : Operand;

/// <summary>
/// A kernel's argument it takes as weights (the runtime's <c>Dsl.Kernels.Weights</c>: floats, or bfloat16, 8- or 4-bit values it widens as it reads
/// them): a parameter's values, which may then be held so (<see cref="WeightReads"/>).
/// </summary>
internal sealed record WeightsOperand(Operand Of) : Operand;

/// <summary>A tensor of the carried <c>State</c> of the pass (or its gradient).</summary>
internal sealed record StateOperand(StateRef State, bool Grad = false) : Operand;

/// <summary>A layer's key/value cache in the carried <c>State</c> [capacity, B, Width], which stepping appends to.</summary>
internal sealed record CacheOperand(CacheRef Cache) : Operand;

/// <summary>
/// The position of the pass's first step in its sequence: the steps the carried state has taken (0 without a state);
/// <see cref="ThroughPass"/>: plus the pass's steps (the keys a stepping pass attends over); <see cref="Kept"/>: as the
/// forward pass recorded it in the workspace, for the backward pass (which runs after the state has moved on).
/// </summary>
internal sealed record PositionOperand(bool ThroughPass = false, bool Kept = false) : Operand;

/// <summary>The operand in a training pass, none in inference (a dropout mask on attention weights).</summary>
internal sealed record TrainingOnlyOperand(Operand Of) : Operand;

/// <summary>
/// The per-sequence lengths of the pass (none when the sequences are not padded); of the memory's when
/// <see cref="OfMemory"/>; the lengths buffer itself when <see cref="Always"/> (inside a padded-only op).
/// </summary>
internal sealed record LengthsOperand(bool OfMemory = false, bool Always = false) : Operand;

/// <summary>A scalar argument of a kernel: a size, a flag or a number, already resolved.</summary>
/// <summary>An argument given by name (an optional parameter of a kernel).</summary>
internal sealed record NamedOperand(string Name, Operand Of) : Operand;

/// <summary>A size as an argument, written over the locals of where the op runs.</summary>
internal sealed record DimOperand(Dim Dim) : Operand;

internal sealed record ScalarOperand(string Text) : Operand
{
    public static Operand Of(Dim d) => new DimOperand(d);

    public static Operand Of(int n) => new DimOperand(n);

    public static ScalarOperand Of(bool b) => new(b ? "true" : "false");

    public static ScalarOperand Of(float f) => new(SourceWriter.Float(f));
}

internal abstract record Op;

/// <summary>C (+)= op(A) · op(B), C [M, N]; A is [M, K] (stored [K, M] when <see cref="TransA"/>), B is [K, N] (stored [N, K] when <see cref="TransB"/>).</summary>
internal sealed record MatMulOp(Dim M, Dim N, Dim K, Operand A, bool TransA, Operand B, bool TransB, Operand C, bool Accumulate, string? Note = null, Operand? Bias = null) : Op;

/// <summary>Into += Σ over <see cref="Rows"/> rows of X (a bias's gradient).</summary>
internal sealed record ColumnSumsOp(Operand X, Dim Rows, Operand Into, string? Note = null) : Op;

/// <summary>Y = act(Y) in place, or Y = act(X) from the input <see cref="X"/> an activation whose derivative reads it keeps (GELU).</summary>
internal sealed record ActivationOp(ActivationKind Kind, Operand Y, Operand? X = null) : Op;

/// <summary>DY = DY ⊙ act'(·), from the activated Y, or from the input <see cref="X"/> when the activation keeps it.</summary>
internal sealed record ActivationBackwardOp(ActivationKind Kind, Operand Y, Operand DY, Operand? X = null) : Op;

internal sealed record CopyOp(Operand From, Operand To, string? Note = null) : Op;

/// <summary>Into = A + B, element-wise.</summary>
internal sealed record AddOp(Operand A, Operand B, Operand Into, string? Note = null) : Op;

/// <summary>Into = A ⊙ B, element-wise.</summary>
internal sealed record MultiplyOp(Operand A, Operand B, Operand Into, string? Note = null) : Op;

internal sealed record ClearOp(Operand X, string? Note = null) : Op;

/// <summary>Every float of X set to <see cref="Value"/> (a constant row a kernel reads, such as a norm's scale of ones where it learns none).</summary>
internal sealed record FillOp(Operand X, float Value, string? Note = null) : Op;

/// <summary>
/// Into[r] = Row for each of <see cref="Rows"/> rows (the batch when null: a learned vector broadcast over the sequences), rows of
/// <see cref="Width"/>; a bias laid down before the product that adds to it.
/// </summary>
internal sealed record RepeatRowsOp(Operand Row, Dim Width, Operand Into, string? Note = null, Dim? Rows = null) : Op;

/// <summary>Into[r] = Table[Indices[r]] · Scale, rows of <see cref="Width"/> (an embedding; Scale √dim with ScaleBySqrtDim).</summary>
internal sealed record GatherRowsOp(Operand Table, Operand Indices, Dim Width, Operand Into, float Scale = 1f) : Op;

/// <summary>Table[Indices[r]] += Rows[r] · Scale (an embedding's gradient).</summary>
internal sealed record ScatterAddRowsOp(Operand Indices, Operand Rows, Dim Width, Operand Table, float Scale = 1f) : Op;

/// <summary>Training: a new inverted-dropout mask (0 or 1/(1−p)) and Out = In ⊙ Mask; inference: Out = In.</summary>
internal sealed record DropoutOp(Operand In, Operand Mask, Operand Out, float P, string? Note = null) : Op;

/// <summary>Training only: a new inverted-dropout mask.</summary>
internal sealed record DropoutMaskOp(Operand Mask, float P, string? Note = null) : Op;

/// <summary>
/// A runtime kernel of the families in Dsl.Runtime/Kernels (layer norm, attention, positional encoding, layout), by
/// its family and entry point, with resolved arguments. A backend provides each such kernel once.
/// </summary>
internal sealed record KernelOp(string Family, string Method, EquatableArray<Operand> Arguments, string? Note = null) : Op
{
    public KernelOp(string family, string method, params Operand[] arguments) : this(family, method, arguments.ToEquatableArray()) { }
}

/// <summary>A line of explanation above the ops that follow.</summary>
internal sealed record CommentOp(string Text) : Op;

/// <summary>When a run-time condition of the pass holds.</summary>
internal enum Condition
{
    /// <summary>A training pass (dropout active, back-propagation follows).</summary>
    Training,

    /// <summary>The sequences are padded (lengths were given).</summary>
    Padded,

    /// <summary>The pass runs from a carried state (a <c>State</c>).</summary>
    CarriedState,

    /// <summary>An inference pass from a carried state: a decoder stepping from its key/value cache.</summary>
    SteppingState,

    /// <summary>
    /// An inference pass from a carried state that holds the encoder's outputs projected by an earlier pass
    /// (<see cref="ModelPlan.MemoryCaches"/>): cross-attention reads them back instead of projecting them again.
    /// </summary>
    ProjectedMemory,

    /// <summary>An inference pass of one step from a carried state (a <c>Step</c>): what a decoder keeps for the steps after.</summary>
    SingleStep,

    /// <summary>Back-propagation adds the gradients of an encoder's final states, from the decoder they started.</summary>
    InjectFinal,

    /// <summary>
    /// The embedding's vectors are read: the pass does not fold the table into the recurrent layer after it
    /// (<see cref="ModelPlan.FoldVocab"/>; a pass of no more ids than the table has rows).
    /// </summary>
    TokenVectors,
}

/// <summary>Ops that run only when <see cref="Condition"/> holds, and those that run instead (<see cref="Otherwise"/>, often none).</summary>
internal sealed record WhenOp(Condition Condition, EquatableArray<Op> Body, EquatableArray<Op> Otherwise) : Op
{
    public WhenOp(Condition condition, params Op[] body) : this(condition, body.ToEquatableArray(), EquatableArray<Op>.Empty) { }
}

/// <summary>
/// An op a backend writes through the plan that made it (the time loop of a recurrent layer): the op carries every
/// reference and constant it needs; its C# is written by <see cref="WriteCSharp"/>.
/// </summary>
internal abstract record MacroOp : Op
{
    public abstract void WriteCSharp(Emitting.EmitContext context);

    /// <summary>Why the device backend cannot run this op (its C# calls a kernel the device lacks), or null when it can.</summary>
    public virtual string? DeviceBlocker => null;

    /// <summary>
    /// The parameters this op's C# reads only as weights a kernel widens (passed as <see cref="ParamRef.Weights"/>: the B of
    /// A · Bᵀ, B packed transposed), which may then be held in bfloat16, 8 or 4 bits (<see cref="WeightReads"/>); every other
    /// parameter its layer's plan names is read as floats.
    /// </summary>
    public virtual IEnumerable<ParamRef> WeightsRead => System.Array.Empty<ParamRef>();

    /// <summary>
    /// Of <see cref="WeightsRead"/>, those this op's C# also reads from a column within their rows on (a slice of each row: input
    /// feeding's W_ih, its fed context's columns after the input's), and that column (<see cref="WeightReads.Cuts"/>).
    /// </summary>
    public virtual IEnumerable<(ParamRef Param, int Column)> ColumnsReadFrom => System.Array.Empty<(ParamRef, int)>();
}

/// <summary>Kernel families of Dsl.Runtime, by class.</summary>
internal static class Kernels
{
    public const string LayerNorm = "LayerNormKernel";
    public const string RmsNorm = "RmsNormKernel";
    public const string PositionalEncoding = "PositionalEncodingKernel";
    public const string PositionEmbedding = "PositionEmbeddingKernel";
    public const string Attention = "AttentionKernel";
    public const string Rotary = "RotaryKernel";
    public const string RelativePosition = "RelativePositionKernel";
    public const string Alibi = "AlibiKernel";
    public const string QueryKeyNorm = "QueryKeyNormKernel";
    public const string Gated = "GatedActivations";
    public const string Activations = "Activations";
    public const string CrossAttention = "CrossAttentionKernel";
    public const string Layout = "Layout";
    public const string Experts = "Experts";
}
