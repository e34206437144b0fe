using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Lowering;

/// <summary>
/// Lowers a valid <see cref="ShapedModel"/> to a <see cref="ModelPlan"/>: each layer kind lowers itself through a
/// <see cref="LowerContext"/>, which collects the parameters (in PyTorch's state_dict order), the buffers, the carried
/// state and the scratch that layers share.
/// </summary>
internal static class Lowerer
{
    public static ModelPlan Lower(ShapedModel model)
    {
        var context = new LowerContext(model);
        BufferRef? tokens = context.Tokens = model.TakesTokens
            ? context.Buffer("tokens", 1, Rows.StepsBatch, BufferUse.Forward, "token ids, time-major [T, B]", isInt: true)
            : null;
        BufferRef? previousOut = tokens, previousDOut = null;
        for (int i = 0; i < model.Layers.Count; i++)
        {
            context.Begin(i, previousOut, previousDOut);
            LayerPlan plan = LayerRegistry.Of(model.Layers[i].Spec).Lower(model.Layers[i], context);
            context.Layers.Add(plan);
            previousOut = plan.Out;
            previousDOut = plan.DOut;
        }

        Rows last = Rows.Of(model.OutputIsSequence);
        BufferRef targets = context.Buffer("targets", 1, last, BufferUse.Forward, "class-id targets, time-major", isInt: true);
        BufferRef values = context.Buffer("target_values", model.OutputWidth, last, BufferUse.Forward, "float targets, time-major");
        return context.Finish(tokens, targets, values);
    }
}

/// <summary>
/// What a layer kind's lowering works with: its place in the model, what flows in, and the means to declare
/// parameters, buffers, scratch shared between layers, state tensors and gradient joins.
/// </summary>
internal sealed class LowerContext
{
    private readonly List<ParamRef> _parameters = new();
    private readonly List<BufferRef> _buffers = new();
    private readonly List<StateRef> _states = new();
    private readonly List<FinalStateRef> _finals = new();
    private readonly List<GradientJoin> _joins = new();
    private readonly List<CacheRef> _caches = new(), _memoryCaches = new();
    private readonly List<TiedRef> _tied = new();
    private PositionLimit? _positionLimit;
    private bool _keepsPosition;
    private bool _auxiliaryLoss;
    private readonly Dictionary<string, int> _shared = new();
    // every workspace member and parameter field taken: a layer's name is the user's, so that "packed" + "_weights" can meet
    // the shared "packed_weights", and "attention_in_proj" + "_weight" the attention's "in_proj_weight" field
    private readonly HashSet<string> _bufferNames = new(System.StringComparer.Ordinal), _fieldNames = new(System.StringComparer.Ordinal);
    private bool _positional;
    private int _foldVocab;

    public LowerContext(ShapedModel model) => Model = model;

    /// <summary><paramref name="name"/>, or with a number after it when that is taken (a user's layer name met another buffer's).</summary>
    private static string Unique(HashSet<string> taken, string name)
    {
        string unique = name;
        for (int k = 2; !taken.Add(unique); k++) unique = name + "_" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return unique;
    }

    public ShapedModel Model { get; }

    /// <summary>The plans of the layers lowered so far.</summary>
    public List<LayerPlan> Layers { get; } = new();

    public int Index { get; private set; }

    public ShapedLayer Layer => Model.Layers[Index];

    public string Name => Layer.Name;

    /// <summary>What the layer reads: the previous layer's output, or the token ids after an embedding's place.</summary>
    public BufferRef In { get; private set; } = null!;

    /// <summary>The model's token ids [T, B] (what its embedding reads), null when it takes features.</summary>
    public BufferRef? Tokens { get; internal set; }

    /// <summary>Where the gradient of <see cref="In"/> goes; null when nothing before the layer learns (the model's input).</summary>
    public BufferRef? DIn { get; private set; }

    internal void Begin(int index, BufferRef? previousOut, BufferRef? previousDOut)
    {
        Index = index;
        In = previousOut!;
        DIn = previousDOut;
    }

    /// <summary>A parameter <c>{layer}.{suffix}</c> [rows, cols] (or a vector [cols]) held in field <c>_{layer}_{suffix}</c>.</summary>
    public ParamRef Param(string suffix, int rows, int cols, bool isVector, ParamInit init, ParamFill? fill = null, int blocks = 1)
    {
        string name = Name + "." + suffix;
        var p = new ParamRef(name, Unique(_fieldNames, "_" + name.Replace('.', '_')), rows, cols, isVector, init, fill, blocks);
        _parameters.Add(p);
        return p;
    }

    /// <summary>
    /// The layer's parameter <c>{layer}.{suffix}</c> is <paramref name="target"/>, declared by an earlier layer (weight tying): no
    /// tensor of its own, the name an alias the state_dict answers to. Returns <paramref name="target"/>.
    /// </summary>
    public ParamRef Tie(string suffix, ParamRef target)
    {
        _tied.Add(new TiedRef(Name + "." + suffix, target));
        return target;
    }

    /// <summary>A weight matrix [rows, cols].</summary>
    public ParamRef Matrix(string suffix, int rows, int cols, ParamInit init) => Param(suffix, rows, cols, false, init);

    /// <summary>A stack of <paramref name="blocks"/> weight matrices [blocks, rows, cols], each initialised as one (a mixture's experts).</summary>
    public ParamRef Stack(string suffix, int blocks, int rows, int cols, ParamInit init) => Param(suffix, rows, cols, false, init, blocks: blocks);

    /// <summary>A vector [length], zeros unless <paramref name="init"/> says otherwise.</summary>
    public ParamRef Vector(string suffix, int length, ParamInit? init = null, ParamFill? fill = null) =>
        Param(suffix, 1, length, true, init ?? ParamInit.Zeros(length, length), fill);

    /// <summary>A buffer named exactly <paramref name="name"/> (layer buffers start with the layer's name).</summary>
    public BufferRef Buffer(string name, int width, Rows rows, BufferUse use, string comment, bool isInt = false, bool standalone = false)
    {
        var b = new BufferRef(Unique(_bufferNames, name), width, rows, use, comment, isInt, standalone);
        _buffers.Add(b);
        return b;
    }

    /// <summary>A buffer of this layer: <c>{layer}_{suffix}</c>.</summary>
    public BufferRef Own(string suffix, int width, Rows rows, BufferUse use, string comment) =>
        Buffer(Name + "_" + suffix, width, rows, use, $"{Name}: {comment}");

    /// <summary>The layer's output <c>{layer}_out</c> and its gradient <c>{layer}_dout</c>, shaped as the layer's output.</summary>
    public (BufferRef Out, BufferRef DOut) Output(string what)
    {
        string shape = Layer.OutIsSequence ? $"[T, B, {Layer.OutWidth}]" : $"[B, {Layer.OutWidth}]";
        Rows rows = Rows.Of(Layer.OutIsSequence);
        return (Own("out", Layer.OutWidth, rows, BufferUse.Forward, $"{what} {shape}"),
            Own("dout", Layer.OutWidth, rows, BufferUse.Training, $"gradient of the output {shape}"));
    }

    /// <summary>
    /// Scratch shared by every layer that asks for it by <paramref name="name"/>: one buffer as wide as the widest request.
    /// A layer's reference carries the width it asked for; the workspace allocates the widest.
    /// </summary>
    public BufferRef Shared(string name, int width, Rows rows, BufferUse use, string comment)
    {
        if (_shared.TryGetValue(name, out int index))
        {
            var requested = _buffers[index] with { Width = width, Comment = comment, Rows = rows, Use = use };
            if (_buffers[index].Width < width) _buffers[index] = requested;
            return requested;
        }
        var first = new BufferRef(Unique(_bufferNames, name), width, rows, use, comment);
        _shared[name] = _buffers.Count;
        _buffers.Add(first);
        return first;
    }

    /// <summary>
    /// A tensor of the carried state [B, width] (field <paramref name="field"/> of the State class, named
    /// <paramref name="name"/> for users), with the workspace's copy a pass starts from and its gradient; <paramref name="learned"/>:
    /// the parameter a new state starts from (a layer that learns its initial state), else zeros.
    /// </summary>
    public StateRef State(string field, string name, int width, string initialBuffer, string gradBuffer, string what, ParamRef? learned = null)
    {
        BufferRef initial = Buffer(initialBuffer, width, Rows.Batch1, BufferUse.Forward, $"{Name}: {what} [B, {width}]");
        BufferRef grad = Buffer(gradBuffer, width, Rows.Batch1, BufferUse.Training, $"{Name}: gradient of {what} [B, {width}]");
        var s = new StateRef(field, name, width, initial, grad, learned);
        _states.Add(s);
        return s;
    }

    /// <summary>An encoder's final state [B, width] (an array of its own) and its gradient from a decoder.</summary>
    public FinalStateRef Final(string which, int l, int width, string what)
    {
        BufferRef state = Buffer($"{Name}_final_{which}_l{l}", width, Rows.Batch1, BufferUse.Forward, $"{Name}: layer {l}'s final {what} state, directions concatenated [B, {width}]", standalone: true);
        BufferRef grad = Buffer($"{Name}_final_d{which}_l{l}", width, Rows.Batch1, BufferUse.Forward, $"{Name}: its gradient, from a decoder [B, {width}] (in every workspace: the encoder hands it out)", standalone: true);
        var f = new FinalStateRef($"{Name}.{which}_l{l}", width, state, grad);
        _finals.Add(f);
        return f;
    }

    /// <summary>A cache of the layer's in the carried state, rows of <paramref name="width"/>: <c>_{layer}_{suffix}</c>.</summary>
    public CacheRef Cache(string suffix, int width, string what)
    {
        var cache = new CacheRef("_" + Name + "_" + suffix, width, $"{Name}: {what}");
        _caches.Add(cache);
        _positional = true;
        return cache;
    }

    /// <summary>
    /// The encoder's outputs as the layer projects them, kept in the carried state [S, B, <paramref name="width"/>] from a
    /// stepping pass to the next (<see cref="ModelPlan.MemoryCaches"/>): <c>_{layer}_{suffix}</c>.
    /// </summary>
    public CacheRef MemoryCache(string suffix, int width, string what)
    {
        var cache = new CacheRef("_" + Name + "_" + suffix, width, $"{Name}: {what}");
        _memoryCaches.Add(cache);
        return cache;
    }

    /// <summary>
    /// The layer holds <paramref name="positions"/> positions (a learned position table): a pass whose last step, counted
    /// from a carried state's position, would reach past them is refused at the model's entry, before anything runs. The
    /// smallest limit of the model's layers holds.
    /// </summary>
    public void LimitPositions(int positions)
    {
        _positional = true;
        if (_positionLimit is null || positions < _positionLimit.Positions) _positionLimit = new PositionLimit(positions, Name);
    }

    /// <summary>The pass's auxiliary loss, added to the model's (a mixture's load-balancing loss): the workspace then holds one.</summary>
    public Operand AuxiliaryLoss()
    {
        _auxiliaryLoss = true;
        return new AuxiliaryLossOperand();
    }

    /// <summary>The position of the pass's first step (the steps the carried state has taken); the state counts them.</summary>
    public Operand Position(bool throughPass = false)
    {
        _positional = true;
        return new PositionOperand(throughPass);
    }

    /// <summary>The position of the pass's first step as its forward pass kept it in the workspace: what a backward pass reads.</summary>
    public Operand KeptPosition()
    {
        _positional = true;
        _keepsPosition = true;
        return new PositionOperand(Kept: true);
    }

    /// <summary>
    /// The layer folds the token table of the embedding right before it into its input projection, in passes of more ids than
    /// the table's <paramref name="vocab"/> rows (<see cref="ModelPlan.FoldVocab"/>). Unless a residual connection skips from
    /// the embedding, nothing else reads its vectors or their gradient: its gather and scatter then run only in passes that do
    /// not fold (<see cref="Condition.TokenVectors"/>), and so must what the layer writes into that gradient. Returns whether
    /// they do so.
    /// </summary>
    public bool FoldTokens(int vocab)
    {
        _foldVocab = vocab;
        int embedding = Index - 1;
        if (Model.Layers.Any(l => l.SkipFrom == embedding)) return false;
        Layers[embedding] = Layers[embedding] with { Passes = Layers[embedding].Passes.When(Condition.TokenVectors) };
        return true;
    }

    /// <summary>
    /// Where this layer sends the gradient of layer <paramref name="from"/>'s output, which it reads again (a residual's skip, a
    /// branch): a buffer of its own (<c>{layer}_{suffix}</c>) joined into that output's gradient once the layer after it has written
    /// it; null when that output learns nothing (the model's input).
    /// </summary>
    public BufferRef? GradientOf(int from, string suffix, string why)
    {
        LayerPlan source = Layers[from];
        if (source.DOut is null) return null;
        BufferRef d = Own(suffix, Layer.OutWidth, Rows.Of(Layer.OutIsSequence), BufferUse.Training,
            $"the gradient sent back to {source.Name}'s output {Emitting.EmitContext.Shape(Layer.OutIsSequence, Layer.OutWidth)}");
        Join(from + 1, source.DOut, d, why);
        return d;
    }

    /// <summary>After layer <paramref name="afterLayer"/>'s backward, <paramref name="target"/> += <paramref name="source"/>.</summary>
    public void Join(int afterLayer, BufferRef target, BufferRef source, string why) => _joins.Add(new GradientJoin(afterLayer, target, source, why));

    internal ModelPlan Finish(BufferRef? tokens, BufferRef targets, BufferRef values)
    {
        var plan = new ModelPlan(Model, _parameters.ToEquatableArray(), _buffers.ToEquatableArray(), Layers.ToEquatableArray(), _states.ToEquatableArray(),
            _finals.ToEquatableArray(), _joins.ToEquatableArray(), _caches.ToEquatableArray(), _positional, tokens, targets, values, _foldVocab) { Tied = _tied.ToEquatableArray(), Positions = _positionLimit, KeepsPosition = _keepsPosition, AuxiliaryLoss = _auxiliaryLoss, MemoryCaches = _memoryCaches.ToEquatableArray() };
        plan = plan with { WeightsOnly = WeightReads.Find(plan) };
        return plan with { ColumnCuts = WeightReads.Cuts(plan) };
    }
}
