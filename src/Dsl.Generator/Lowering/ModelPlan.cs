using System.Collections.Generic;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Lowering;

// The typed plan of a valid model: parameters and buffers as references, and per layer a plan record of its kind
// (Layers/<Kind>/) that names exactly what the layer's code reads and writes. Every size is resolved here; emitters
// only format, reading references (never rebuilding a name, never picking by position). Must stay structurally equatable.

/// <summary>How a parameter is initialised: the initialiser, its fans, the rows of one block (orthogonal per gate) and the bound.</summary>
internal sealed record ParamInit(InitKind Kind, int FanIn, int FanOut, int BlockRows, float Bound)
{
    public static ParamInit Zeros(int fanIn, int fanOut) => new(InitKind.Zeros, fanIn, fanOut, 1, 0f);

    /// <summary>The initialiser the user chose, or the layer's default when they chose none.</summary>
    public static InitKind Pick(InitKind chosen, InitKind fallback) => chosen == InitKind.Default ? fallback : chosen;
}

/// <summary>A constant written over part of a parameter after its initialiser: LSTM's forget-gate bias, a norm's unit scale.</summary>
internal sealed record ParamFill(int Start, int Length, float Value, string Why);

/// <summary>
/// One parameter tensor: its state_dict name, the field that holds it, shape, initialiser. <see cref="Blocks"/> &gt; 1: a stack of
/// that many [rows, cols] matrices, [blocks, rows, cols] (a mixture's experts), each initialised as a matrix of its own.
/// </summary>
internal sealed record ParamRef(string Name, string Field, int Rows, int Cols, bool IsVector, ParamInit Init, ParamFill? Fill, int Blocks = 1)
{
    public string Dims => IsVector ? $"[{Cols}]" : Blocks > 1 ? $"[{Blocks}, {Rows}, {Cols}]" : $"[{Rows}, {Cols}]";

    /// <summary>The shape as the arguments of <c>new Parameter(name, …)</c>.</summary>
    public string ShapeArguments => IsVector ? $"{Cols}" : Blocks > 1 ? $"{Blocks}, {Rows}, {Cols}" : $"{Rows}, {Cols}";

    /// <summary>The parameter's values, as a span expression of the generated code.</summary>
    public string Value => Field + ".AsSpan()";

    /// <summary>
    /// The parameter's values as the runtime's <c>Dsl.Kernels.Weights</c> (floats, or bfloat16, 8- or 4-bit values when held so), for
    /// hand-written C# that reads it only as weights (<see cref="MacroOp.WeightsRead"/>).
    /// </summary>
    public string Weights => Field + ".Weights";

    /// <summary>The parameter's gradient, as a span expression of the generated code.</summary>
    public string Grad => Field + ".GradAsSpan()";

    /// <summary>The values as an op's operand.</summary>
    public Operand Values => new ParamOperand(this, false);

    /// <summary>The gradient as an op's operand.</summary>
    public Operand Gradient => new ParamOperand(this, true);
}

/// <summary>A parameter's name that is another layer's tensor (a Dense tied to the embedding): <see cref="Name"/> is <see cref="Target"/>.</summary>
internal sealed record TiedRef(string Name, ParamRef Target);

/// <summary>
/// A symbolic number of rows: T^Steps · B^Batch · S^Source · Fixed, with T the steps of a pass, B the batch, S the
/// source steps of the memory cross-attention reads, and Fixed a count the declaration fixes (a key/value cache's
/// declared maximum of steps: <c>new Rows(0, 1, 0, Fixed: maxSteps)</c> is [maxSteps, B]).
/// </summary>
internal sealed record Rows(int Steps, int Batch, int Source, int Fixed = 1, int Below = 0)
{
    public static readonly Rows One = new(0, 0, 0);
    public static readonly Rows Batch1 = new(0, 1, 0);
    public static readonly Rows StepsBatch = new(1, 1, 0);
    public static readonly Rows Steps1 = new(1, 0, 0);
    public static readonly Rows StepsSquared = new(2, 0, 0);
    public static readonly Rows StepsSquaredBatch = new(2, 1, 0);
    public static readonly Rows SourceBatch = new(0, 1, 1);
    public static readonly Rows StepsSourceBatch = new(1, 1, 1);

    /// <summary>
    /// <paramref name="rows"/> rows when a pass has more rows of steps than that (t · b &gt; rows), else none: a table that
    /// stands in for the steps only when it is the smaller (a recurrent layer's projection of an embedding's table).
    /// </summary>
    public static Rows FewerThanSteps(int rows) => new(0, 0, 0, Below: rows);

    /// <summary>One row per step and sequence when <paramref name="sequence"/>, else one per sequence.</summary>
    public static Rows Of(bool sequence) => sequence ? StepsBatch : Batch1;

    /// <summary>The count in the workspace constructor, whose locals are t, b and s.</summary>
    public string Expression(string t = "t", string b = "b", string s = "s")
    {
        if (Below > 0) return $"({Below} < checked({t} * {b}) ? {Below} : 0)";
        var factors = new List<string>();
        if (Fixed != 1) factors.Add(Fixed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        for (int i = 0; i < Steps; i++) factors.Add(t);
        for (int i = 0; i < Source; i++) factors.Add(s);
        for (int i = 0; i < Batch; i++) factors.Add(b);
        return factors.Count switch { 0 => "1", 1 => factors[0], _ => "checked(" + string.Join(" * ", factors) + ")" };
    }
}

/// <summary>When a buffer is needed: by every pass, or only by training (gradients, masks, what BPTT alone reads).</summary>
internal enum BufferUse
{
    Forward,
    Training,
}

/// <summary>
/// A workspace buffer [rows, Width] of floats (or ints), named for what it holds. Float buffers are views into the
/// workspace's one allocation, unless <see cref="Standalone"/> (an array of its own, handed out in a NamedTensor).
/// A <see cref="BufferUse.Training"/> buffer is empty in a workspace made for inference.
/// </summary>
internal sealed record BufferRef(string Name, int Width, Rows Rows, BufferUse Use, string Comment, bool IsInt = false, bool Standalone = false)
{
    /// <summary>A view into the workspace's one float allocation (a Span property), rather than an array field.</summary>
    public bool IsView => !IsInt && !Standalone;

    /// <summary>The buffer in the generated pass methods, whose workspace is <c>ws</c>.</summary>
    public string Ws => "ws." + Name;

    public override string ToString() => Ws;
}

/// <summary>One tensor of the carried <c>State</c> (a recurrent layer's h or c), and the workspace's copy a pass starts from.</summary>
internal sealed record StateRef(string Field, string Name, int Width, BufferRef Initial, BufferRef InitialGrad, ParamRef? Learned = null);

/// <summary>A layer that holds <see cref="Positions"/> positions: a pass reaching position <see cref="Positions"/> or past it is refused.</summary>
internal sealed record PositionLimit(int Positions, string Layer);

/// <summary>
/// A layer's key/value cache, held by the carried <c>State</c> (field <see cref="Field"/>): [capacity, B, Width], one
/// row per step taken and sequence; the state grows it as the sequence grows (<see cref="ModelPlan.Positional"/>).
/// </summary>
internal sealed record CacheRef(string Field, int Width, string Comment);

/// <summary>An encoder's final state for a decoder to start from: [B, Width], directions concatenated, and its gradient.</summary>
internal sealed record FinalStateRef(string Name, int Width, BufferRef State, BufferRef Grad);

/// <summary>A gradient that joins another once a layer's backward has run: Target += Source (a residual's skip).</summary>
internal sealed record GradientJoin(int AfterLayer, BufferRef Target, BufferRef Source, string Why);

/// <summary>
/// A layer's plan: what it reads (<see cref="In"/>, the previous output or the tokens), what it writes, and where the
/// gradients go (<see cref="DIn"/> is null when nothing upstream learns). Each kind derives its own sealed record with
/// its parameters and buffers as named references.
/// </summary>
internal abstract record LayerPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut)
{
    public string Name => Layer.Name;

    /// <summary>The gradient of the output, which every layer with a pass has.</summary>
    public BufferRef Dy => DOut ?? throw new System.InvalidOperationException($"Layer '{Name}' has no output gradient.");

    /// <summary>False for a layer that only names the model's input (it has no forward or backward).</summary>
    public virtual bool HasPass => true;

    /// <summary>The attention weights the model exposes for this layer after a pass, and their dimensions; null for none.</summary>
    public virtual (BufferRef Weights, string Dims)? AttentionWeights => null;

    /// <summary>What the layer computes forward and backward, as ops.</summary>
    public Passes Passes { get; init; } = Passes.Empty;

    /// <summary>Ops the workspace runs once per shape (a table of positional encodings), in its constructor.</summary>
    public EquatableArray<Op> Setup { get; init; } = EquatableArray<Op>.Empty;

    /// <summary>Ops an encoder runs after its forward pass to gather the final states a decoder starts from.</summary>
    public EquatableArray<Op> Encode { get; init; } = EquatableArray<Op>.Empty;

    /// <summary>Methods the layer's ops call that a backend writes for it (a recurrent layer's cells, one per direction).</summary>
    public virtual void EmitHelpers(EmitContext context) { }
}

/// <summary>A layer's forward and backward ops, each with the comment lines that explain it.</summary>
internal sealed record Passes(EquatableArray<string> ForwardDoc, EquatableArray<Op> Forward, EquatableArray<string> BackwardDoc, EquatableArray<Op> Backward)
{
    public static readonly Passes Empty = new(EquatableArray<string>.Empty, EquatableArray<Op>.Empty, EquatableArray<string>.Empty, EquatableArray<Op>.Empty);

    /// <summary>These passes, each run only when <paramref name="condition"/> holds.</summary>
    public Passes When(Condition condition) => this with { Forward = When(condition, Forward), Backward = When(condition, Backward) };

    private static EquatableArray<Op> When(Condition condition, EquatableArray<Op> ops) =>
        ops.Count == 0 ? ops : new Op[] { new WhenOp(condition, ops, EquatableArray<Op>.Empty) }.ToEquatableArray();
}

/// <summary>
/// The lowered model: parameters in PyTorch's state_dict order, buffers, layer plans, the carried state's tensors,
/// the final states an encoder hands a decoder, the gradients that join after a layer's backward, the key/value caches
/// a stepping decoder keeps, whether a layer reads the position of a step (<see cref="Positional"/>: the state counts them),
/// and the rows of the token table a recurrent layer folds into its input projection (<see cref="FoldVocab"/>: a pass of more
/// ids than that folds, the workspace's <c>FoldsTokens</c>; 0 where no layer folds).
/// </summary>
internal sealed record ModelPlan(
    ShapedModel Model,
    EquatableArray<ParamRef> Parameters,
    EquatableArray<BufferRef> Buffers,
    EquatableArray<LayerPlan> Layers,
    EquatableArray<StateRef> States,
    EquatableArray<FinalStateRef> Finals,
    EquatableArray<GradientJoin> Joins,
    EquatableArray<CacheRef> Caches,
    bool Positional,
    BufferRef? Tokens,
    BufferRef Targets,
    BufferRef TargetValues,
    int FoldVocab)
{
    public LayerPlan Last => Layers[Layers.Count - 1];

    /// <summary>The parameter names that are another's tensor (weight tying), in layer order; none in most models.</summary>
    public EquatableArray<TiedRef> Tied { get; init; } = EquatableArray<TiedRef>.Empty;

    /// <summary>The fewest positions a layer of the model holds (a learned position table), and that layer; null: no limit.</summary>
    public PositionLimit? Positions { get; init; }

    /// <summary>True when a backward pass reads where its forward pass started (<c>ws.StartPosition</c>, a learned position table's rows).</summary>
    public bool KeepsPosition { get; init; }

    /// <summary>True when a layer adds a term to the model's loss (a mixture's load-balancing loss): <c>ws.AuxiliaryLoss</c>, reset before each pass.</summary>
    public bool AuxiliaryLoss { get; init; }

    /// <summary>
    /// The encoder's outputs projected by a cross-attention layer, kept by the carried <c>State</c> [S, B, Width] (a
    /// <see cref="CacheRef"/> of the source's steps): a stepping pass projects them once, at its first pass after
    /// <c>Attend</c> or <c>Reset</c>, and reads them back after (<c>State.MemoryProjected</c>), as Hugging Face's cache keeps
    /// the cross-attention's keys and values.
    /// </summary>
    public EquatableArray<CacheRef> MemoryCaches { get; init; } = EquatableArray<CacheRef>.Empty;

    /// <summary>The parameters the forward passes read only as weights, which may be held in bfloat16, 8 or 4 bits (<see cref="WeightReads"/>).</summary>
    public EquatableArray<string> WeightsOnly { get; init; } = EquatableArray<string>.Empty;

    /// <summary>Of <see cref="WeightsOnly"/>, those also read from a column within their rows on, and that column (<see cref="WeightReads.Cuts"/>).</summary>
    public EquatableArray<(string Name, int Column)> ColumnCuts { get; init; } = EquatableArray<(string Name, int Column)>.Empty;
}
