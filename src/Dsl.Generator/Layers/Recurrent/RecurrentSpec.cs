using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Layers.Recurrent;

/// <summary>The options every recurrent layer shares (RecurrentAttribute).</summary>
internal sealed record RecurrentOptions(int Hidden, int Layers, bool Bidirectional, float Dropout, bool ReturnSequences, InitKind WeightInit,
    InitKind RecurrentInit, bool LearnInitialState, float RecurrentDropout)
{
    public static RecurrentOptions Read(AttributeReader a) => new(a.Int("hidden", 0), a.Int("layers", 1), a.Bool("bidirectional", false),
        a.Float("dropout", 0f), a.Bool("returnsequences", true), a.Init("weightinit"), a.Init("recurrentinit"), a.Bool("learninitialstate", false),
        a.Float("recurrentdropout", 0f));
}

/// <summary>A recurrent layer (RNN, LSTM, GRU): the shared options, and what its kind says about its gates and states.</summary>
internal abstract record RecurrentSpec(LayerHeader Header, RecurrentOptions Options) : LayerSpec(Header)
{
    public int Hidden => Options.Hidden;

    public int Layers => Options.Layers;

    /// <inheritdoc/>
    public override int WrittenLayers => System.Math.Max(1, System.Math.Min(Options.Layers, RecurrentLayer<Dsl.Generator.Layers.Rnn.RnnSpec>.MaxLayers));

    public bool Bidirectional => Options.Bidirectional;

    public int Directions => Options.Bidirectional ? 2 : 1;

    /// <summary>Gate blocks per hidden unit: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n). Written here once.</summary>
    public abstract int GateBlocks { get; }

    /// <summary>Rows of the gate matrices: <see cref="GateBlocks"/> × H.</summary>
    public int Gates => GateBlocks * Hidden;

    /// <summary>Width R of h, per direction: what the layer outputs, feeds back and carries (H, or an LSTM's projection P).</summary>
    public virtual int StateWidth => Hidden;

    /// <summary>True when h is a projection of the cell's output (LSTM with Projection): R &lt; H.</summary>
    public bool Projected => StateWidth != Hidden;

    /// <summary>True when the layer carries a cell state c beside h (LSTM).</summary>
    public virtual bool HasCellState => false;

    /// <summary>The default initialiser of the input weights (Xavier for tanh and sigmoid gates).</summary>
    public virtual InitKind DefaultInputInit => InitKind.XavierUniform;
}

/// <summary>
/// One direction of one stacked layer. <see cref="Aux"/> is the kind's per-step buffer (LSTM cell states, GRU
/// candidates), <see cref="LearnedH"/>/<see cref="LearnedC"/> the learned initial states and the buffers
/// [B, H] they are broadcast into, <see cref="RecurrentMask"/>/<see cref="MaskedStates"/> variational dropout.
/// </summary>
internal sealed record DirectionPlan(bool Reverse, BufferRef Gates, BufferRef? Aux, ParamRef WeightIh, ParamRef WeightHh, ParamRef BiasIh, ParamRef BiasHh,
    ParamRef? LearnedH, ParamRef? LearnedC, BufferRef? LearnedHBuffer, BufferRef? LearnedCBuffer, BufferRef? RecurrentMask, BufferRef? MaskedStates,
    ProjectionPlan? Projection = null);

/// <summary>
/// An LSTM's projection of h (nn.LSTM's proj_size): h = m · W_hrᵀ with m = o ⊙ tanh(c) kept per step in
/// <see cref="Unprojected"/> [T, B, H], and the gradient of each step's projected h in <see cref="StateGradient"/> [T, B, R].
/// </summary>
internal sealed record ProjectionPlan(ParamRef Weight, BufferRef Unprojected, BufferRef StateGradient);

/// <summary>
/// One stacked layer l: input X (width XWidth) to output Y ([T, B, directions × H]). <see cref="Mask"/> is the
/// dropout applied to Y before the next stacked layer, whose input is then <see cref="NextX"/>. <see cref="StateH"/>/
/// <see cref="StateC"/> are the carried state, <see cref="FinalH"/>/<see cref="FinalC"/> an encoder's final states.
/// </summary>
internal sealed record SubLayerPlan(int Index, int XWidth, BufferRef X, BufferRef? DX, BufferRef Y, BufferRef DY, BufferRef? Mask, BufferRef? NextX,
    StateRef? StateH, StateRef? StateC, Helpers.EquatableArray<DirectionPlan> Directions, FinalStateRef? FinalH, FinalStateRef? FinalC);

/// <summary>
/// The scratch the recurrent layers of a model share: one step's recurrent product, the packed recurrent weights,
/// the gradients of the gate pre-activations, the carried gradients, and a reverse direction's held gradients.
/// </summary>
internal sealed record RecurrentScratch(BufferRef Step, BufferRef Packed, BufferRef DGates, BufferRef? DGates2, BufferRef Carry, BufferRef? Carry2, BufferRef? Held,
    BufferRef? ProjectedGradient = null, BufferRef? Zeros = null);

/// <summary>Which of the shared buffers a kind's cell takes: its per-step buffer, a second gate gradient, a second carry.</summary>
internal sealed record CellTraits(bool Aux, bool SecondGateGradient, bool SecondCarry);

/// <summary>
/// Input feeding into a recurrent layer (an attention layer after it with InputFeeding): at step t the layer's input is
/// [x_t; f_t], f_t the attention's context of step t − 1 (<see cref="Fed"/> [T, B, Width]; <see cref="Initial"/> at the
/// first step, zeros without a carried state). The attention writes what its step needs inside the layer's time loop:
/// the context from h(t − 1) forward, and back from d(f_t) into dh(t − 1), memory and its parameters.
/// </summary>
internal abstract record FeedStep(int Width, BufferRef Fed, BufferRef DFed, StateRef? State)
{
    /// <summary>The cell methods' parameters and their arguments for the attention's step (memory, keys, weights, buffers).</summary>
    public abstract Helpers.EquatableArray<(string Parameter, string Argument)> Arguments(bool backward);

    /// <summary>Before the forward time loop (keys of the memory, once).</summary>
    public abstract void EmitForwardStart(CellWriter c);

    /// <summary>In the loop at step t ≥ 1: the context of step t − 1 from hPrev into <c>fedRow</c>.</summary>
    public abstract void EmitForwardStep(CellWriter c);

    /// <summary>Before the backward time loop (clears what the steps accumulate).</summary>
    public abstract void EmitBackwardStart(CellWriter c);

    /// <summary>In the loop at step t ≥ 1, from <c>dfed</c> [B, Width]: adds dh(t − 1) into <c>carry</c>.</summary>
    public abstract void EmitBackwardStep(CellWriter c);

    /// <summary>After the backward loop: the parameter and memory gradients of what the steps accumulated.</summary>
    public abstract void EmitBackwardEnd(CellWriter c);
}

/// <summary>
/// The first stacked layer's input is an embedding's vectors of token ids (<see cref="Ids"/> [T, B]) with nothing in
/// between: when a pass has more ids than the table has rows (V &lt; T·B), the input projection x·W_ihᵀ is that of the
/// table's rows, gathered by id (V rows of products instead of T·B), and its gradients go through the gate gradients
/// summed per id, S [V, G]: dW_ih += Sᵀ·table, d(table) += S·W_ih. <see cref="Folded"/> holds the projected table
/// forward and S backward, [V, G]. Whether a pass folds is the workspace's <c>FoldsTokens</c>. <see cref="VectorsOnlyUnfolded"/>:
/// nothing else reads the embedding's vectors or their gradient (no residual connection skips from it), so that the
/// embedding gathers and scatters them only in passes that do not fold.
/// </summary>
internal sealed record TokenInput(BufferRef Ids, ParamRef Table, int Vocab, BufferRef Folded, bool VectorsOnlyUnfolded);

internal sealed record RecurrentPlan(Shapes.ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut,
    Helpers.EquatableArray<SubLayerPlan> SubLayers, int Hidden, int Gates, RecurrentScratch Scratch, CellTraits Traits) : LayerPlan(Layer, In, DIn, Out, DOut)
{
    /// <summary>Input feeding from the attention layer after this one, or null.</summary>
    public FeedStep? Feed { get; init; }

    /// <summary>The input is an embedding of token ids (its projection can read the table), or null.</summary>
    public TokenInput? Tokens { get; init; }

    public RecurrentSpec Spec => (RecurrentSpec)Layer.Spec;

    /// <summary>Width R of h per direction (H, or an LSTM's projection).</summary>
    public int StateWidth => Spec.StateWidth;

    /// <summary>The cell methods of direction <paramref name="d"/>: the same for every stacked layer.</summary>
    public CellSignature Signature(DirectionPlan d)
    {
        CellOptions options = CellOptions.Of(this, d);
        return new CellSignature(options.Method(this), options, Traits.Aux, Traits.SecondGateGradient, Traits.SecondCarry, Spec.HasCellState, Spec.Projected);
    }

    public override void EmitHelpers(Emitting.EmitContext context) =>
        RecurrentEmitter.EmitCells(this, (IRecurrentCell)LayerRegistry.Of(Spec), context);
}
