using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Dsl.Kernels;

namespace Dsl;

/// <summary>
/// How one state tensor of the decoder is initialised from the encoder's final states: copied when the widths agree,
/// else through a generated Dense (<c>bridge.…weight</c> [To, From], <c>bridge.…bias</c>), tanh for hidden states and
/// linear for LSTM cell states.
/// </summary>
/// <param name="Name">The bridge's parameter prefix, e.g. <c>bridge.h_l0</c>.</param>
/// <param name="From">Index into the encoder's <see cref="EncoderOutput.FinalStates"/>.</param>
/// <param name="To">Index into the decoder state's <see cref="IModelState.Tensors"/>.</param>
/// <param name="InWidth">Width of the encoder's final state (directions × hidden).</param>
/// <param name="OutWidth">Width of the decoder's state.</param>
/// <param name="Dense">True: a learned affine map; false: a copy (the widths agree).</param>
/// <param name="Tanh">True: tanh after the affine map (hidden states).</param>
public sealed record Bridge(string Name, int From, int To, int InWidth, int OutWidth, bool Dense, bool Tanh);

/// <summary>
/// An encoder–decoder (sequence-to-sequence) model composed of two generated models: the encoder reads the source, its
/// final recurrent states start the decoder (through <see cref="Bridge"/>s) and the decoder's cross-attention layers attend
/// over its outputs. Training uses teacher forcing with a ratio that can be scheduled (scheduled sampling, Bengio et al.
/// 2015); gradients flow through decoder, attention, bridge and encoder. The generated class
/// (<c>[EncoderDecoder(typeof(E), typeof(D))]</c>) derives from this one.
/// </summary>
public abstract class EncoderDecoderModel<TSource, TEncoder, TDecoder> : IModel, IHasRandoms, IComposedModel
    where TEncoder : IEncoder<TSource>
    where TDecoder : IModel<int>
{
    private readonly Bridge[] _bridges;
    private readonly Parameter?[] _weights, _biases;
    private float[][] _bridged = Array.Empty<float[]>();
    private float[] _scratch = Array.Empty<float>();
    private int[] _inputs = Array.Empty<int>(), _stepTokens = Array.Empty<int>();
    private float[] _stepLogits = Array.Empty<float>();
    private IDecoderState? _stepState;
    private IDecoderState? _trainingState;

    /// <summary>Composes <paramref name="encoder"/> and <paramref name="decoder"/>; the bridges' weights come from <paramref name="seed"/>.</summary>
    protected EncoderDecoderModel(TEncoder encoder, TDecoder decoder, IReadOnlyList<Bridge> bridges, int seed)
        : this(encoder, decoder, bridges, seed, sharedEmbedding: null)
    {
    }

    /// <summary>
    /// A part whose mixture of experts adds a load-balancing loss is refused: the composition's loss is the decoder's
    /// cross-entropy, which would leave the term out of what Loss reports while its gradient still reached the router.
    /// </summary>
    private static void RefuseLoadBalancing(IModel part, string role)
    {
        if (part.Architecture?.Layers.OfType<MoeInfo>().FirstOrDefault(m => m.LoadBalancingLoss > 0f) is { } moe)
            throw new NotSupportedException($"The {role} {part.GetType().Name} declares LoadBalancingLoss = {moe.LoadBalancingLoss.ToString(System.Globalization.CultureInfo.InvariantCulture)} on layer "
                + $"'{moe.Name}': an encoder–decoder's loss does not add its parts' load-balancing terms; declare the [Moe] without it here.");
    }

    /// <summary>
    /// Composes <paramref name="encoder"/> and <paramref name="decoder"/>; the bridges' weights come from <paramref name="seed"/>.
    /// With <paramref name="sharedEmbedding"/> (<c>ShareEmbedding = true</c>), the decoder's parameter of that name is the
    /// encoder's from now on (the decoder's own values dropped): listed once, as <c>encoder.…</c>, the decoder's name tied to it.
    /// </summary>
    protected EncoderDecoderModel(TEncoder encoder, TDecoder decoder, IReadOnlyList<Bridge> bridges, int seed, (string Encoder, string Decoder)? sharedEmbedding)
    {
        Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        Decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        RefuseLoadBalancing(Encoder, "encoder");
        RefuseLoadBalancing(Decoder, "decoder");
        _bridges = bridges.ToArray();
        _weights = new Parameter?[_bridges.Length];
        _biases = new Parameter?[_bridges.Length];
        // the decoder's names as the composition lists them: the shared table under the encoder's
        string? sharedName = null;
        if (sharedEmbedding is { } share)
        {
            Decoder.Parameters[share.Decoder].ShareStorageOf(Encoder.Parameters[share.Encoder]);
            sharedName = share.Decoder;
        }
        string Listed(string decoderName) => decoderName == sharedName ? EncoderPrefix + sharedEmbedding!.Value.Encoder : DecoderPrefix + decoderName;
        var parameters = Encoder.Parameters.Select(p => p.WithName(EncoderPrefix + p.Name)).ToList();
        for (int i = 0; i < _bridges.Length; i++)
        {
            Bridge b = _bridges[i];
            if (!b.Dense) continue;
            var weight = new Parameter(b.Name + ".weight", b.OutWidth, b.InWidth);
            Initializers.Apply(b.Tanh ? Init.XavierUniform : Init.PyTorch, weight.AsSpan(), b.OutWidth, b.InWidth, b.InWidth, b.OutWidth, b.OutWidth,
                1f / MathF.Sqrt(b.InWidth), Rng.ForParameter(seed, weight.Name));
            _weights[i] = weight;
            _biases[i] = new Parameter(b.Name + ".bias", b.OutWidth);
            parameters.Add(weight);
            parameters.Add(_biases[i]!);
        }
        parameters.AddRange(Decoder.Parameters.Where(p => p.Name != sharedName).Select(p => p.WithName(DecoderPrefix + p.Name)));
        var tied = Encoder.Parameters.Tied.Select(t => KeyValuePair.Create(EncoderPrefix + t.Key, EncoderPrefix + t.Value))
            .Concat(Decoder.Parameters.Tied.Select(t => KeyValuePair.Create(DecoderPrefix + t.Key, Listed(t.Value)))).ToDictionary();
        if (sharedName is not null) tied.Add(DecoderPrefix + sharedName, Listed(sharedName));
        Parameters = new ParameterSet(parameters, tied);
        TeacherForcingRandom = Rng.ForParameter(seed, "<teacher forcing>");
    }

    /// <summary>The encoder: reads the source.</summary>
    public TEncoder Encoder { get; }

    /// <summary>The decoder: predicts the target one token at a time from the encoder's state and outputs.</summary>
    public TDecoder Decoder { get; }

    /// <summary>The bridges from the encoder's final states to the decoder's initial state.</summary>
    public IReadOnlyList<Bridge> Bridges => _bridges;

    /// <summary>Every parameter: <c>encoder.…</c>, <c>bridge.…</c>, <c>decoder.…</c> (the parts' own tensors, renamed).</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The coin flips of teacher forcing below 1 (seeded; checkpoints may save it).</summary>
    public Rng TeacherForcingRandom { get; }

    /// <summary>
    /// Label smoothing ε of the decoder's class loss (PyTorch's <c>CrossEntropyLoss(label_smoothing=ε)</c>), in [0, 1]: the
    /// decoder's own <see cref="IModel.LabelSmoothing"/>, which <see cref="Backward"/> and <see cref="Loss"/> apply.
    /// </summary>
    public float LabelSmoothing { get => Decoder.LabelSmoothing; set => Decoder.LabelSmoothing = value; }

    int IModel.InputWidth => Encoder.InputWidth;
    int IModel.OutputWidth => Decoder.OutputWidth;
    bool IModel.ReturnsSequences => true;
    Rng IModel.DropoutRandom => Decoder.DropoutRandom;

    /// <summary>What the encoder's and the decoder's parameter names take before them in <see cref="Parameters"/>.</summary>
    internal const string EncoderPrefix = "encoder.", DecoderPrefix = "decoder.";

    IEnumerable<(string Prefix, IModel Part)> IComposedModel.Parts => [(EncoderPrefix, Encoder), (DecoderPrefix, Decoder)];

    IEnumerable<(string Name, Rng Rng)> IHasRandoms.OtherRandoms => [("encoder_dropout", Encoder.DropoutRandom), ("teacher_forcing", TeacherForcingRandom)];

    /// <summary>
    /// Encodes a batch of sources [batch, steps] (padded to <paramref name="lengths"/> when not empty) in inference mode and
    /// returns the decoder's initial state for it: the bridged final states, and the memory its attention reads — a copy of
    /// the encoder's outputs, so that states from several calls stay valid side by side (the encoder's next pass rewrites
    /// its own outputs in place).
    /// </summary>
    public IDecoderState Encode(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths = default)
    {
        (EncoderOutput encoded, IDecoderState state) = Start(source, lengths, training: false);
        // the caller keeps the state past the encoder's next pass, which rewrites its outputs in place: it attends over a copy
        if (state.NeedsMemory) state.Attend(encoded.Snapshot());
        return state;
    }

    /// <summary>Teacher-forced inference: the decoder reads <paramref name="decoderInput"/> [batch, steps] (start token, then the target shifted); returns logits [batch, steps, vocabulary].</summary>
    public Tensor<float> Forward(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput)
    {
        RequireDecoderInput(source, decoderInput);
        IDecoderState state = Start(source, lengths, training: false).State;
        return Decoder.Forward(decoderInput, state);
    }

    /// <summary>Teacher-forced cross-entropy of <paramref name="targets"/> [batch, steps] (negative ids ignored), in inference mode.</summary>
    public float Loss(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput, ReadOnlyTensorSpan<int> targets)
    {
        RequireDecoderShapes(source, decoderInput, targets, training: false);
        IDecoderState state = Start(source, lengths, training: false).State;
        Tensor<float> logits = Decoder.Forward(decoderInput, state);
        var flatTargets = new int[targets.FlattenedLength];
        targets.FlattenTo(flatTargets);
        var flatLogits = new float[logits.FlattenedLength];
        logits.FlattenTo(flatLogits);
        return Losses.SoftmaxCrossEntropy(flatLogits, flatTargets, Decoder.OutputWidth, default, "targets", Decoder.LabelSmoothing);
    }

    /// <summary>
    /// Training step: encodes the source (dropout active), runs the decoder over <paramref name="decoderInput"/> [batch, steps]
    /// and returns the mean cross-entropy against <paramref name="targets"/> [batch, steps] (negative ids ignored), accumulating
    /// every parameter's gradient. With <paramref name="teacherForcing"/> below 1, each input token after the first is, with
    /// probability 1 − ratio, replaced by the decoder's own prediction at the previous step (greedy, computed step by step;
    /// no gradient flows through the choice).
    /// </summary>
    public float Backward(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput,
        ReadOnlyTensorSpan<int> targets, float teacherForcing = 1f)
    {
        if (!(teacherForcing >= 0f && teacherForcing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(teacherForcing), teacherForcing, "the teacher-forcing ratio must be in [0, 1]");
        // every shape before the encoder runs: a failed call draws nothing from the dropout and teacher-forcing streams
        RequireDecoderShapes(source, decoderInput, targets, training: true);
        (EncoderOutput encoded, IDecoderState state) = Start(source, lengths, training: true);
        ReadOnlyTensorSpan<int> inputs = teacherForcing < 1f ? ScheduledInputs(state, decoderInput, teacherForcing) : decoderInput;
        encoded.ClearGradient();
        state.KeepGradients = true;
        float loss = Decoder.Backward(inputs, targets, state);
        BridgeBackward(encoded, state);
        Encoder.BackwardFromEncoded(encoded);
        return loss;
    }

    /// <summary>Greedy decoding of one source [1, steps]: feeds <paramref name="startToken"/>, then its own choices, until <paramref name="endToken"/> or <paramref name="maxLength"/> tokens.</summary>
    public int[] Greedy(ReadOnlyTensorSpan<TSource> source, int startToken, int maxLength, EndTokens endToken = default)
    {
        // the decoding arguments before the encoder runs: a refused call leaves an encoding the caller holds as it was
        Dsl.Decode.RequireDecoding(Decoder, [startToken], maxLength, endToken, nameof(startToken));
        return Dsl.Decode.Greedy(Decoder, RequireOne(source), [startToken], maxLength, endToken);
    }

    /// <summary>Beam search over one source [1, steps] (see <see cref="Dsl.Decode.Beam(IModel{int}, IModelState, ReadOnlySpan{int}, int, int, EndTokens, float)"/>); best first.</summary>
    public IReadOnlyList<Hypothesis> Beam(ReadOnlyTensorSpan<TSource> source, int startToken, int beamWidth, int maxLength, EndTokens endToken = default, float lengthPenalty = 1f)
    {
        Dsl.Decode.RequireDecoding(Decoder, [startToken], maxLength, endToken, nameof(startToken));
        Dsl.Decode.RequireBeam(beamWidth, lengthPenalty);
        return Dsl.Decode.Beam(Decoder, RequireOne(source), [startToken], beamWidth, maxLength, endToken, lengthPenalty);
    }

    /// <summary>
    /// Greedy decoding of a batch of sources [batch, steps] (padded to <paramref name="lengths"/>; empty: every step) in one
    /// call: element b holds source b's tokens, as <see cref="Greedy(ReadOnlyTensorSpan{TSource}, int, int, EndTokens)"/> decodes
    /// that source alone. The sources are encoded as one batch and decoded as the rows of one state (each step reads the
    /// decoder's weights once for all of them; a sequence that ends leaves the batch).
    /// </summary>
    public int[][] Greedy(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, int startToken, int maxLength, EndTokens endToken = default)
    {
        Dsl.Decode.RequireDecoding(Decoder, [startToken], maxLength, endToken, nameof(startToken));
        return Dsl.Decode.GreedyEach(Decoder, Start(source, lengths, training: false).State, [startToken], maxLength, endToken);
    }

    /// <summary>
    /// Beam search over a batch of sources [batch, steps] (padded to <paramref name="lengths"/>; empty: every step) in one
    /// call: element b holds source b's best sequences, best first, as <see cref="Beam(ReadOnlyTensorSpan{TSource}, int, int, int, EndTokens, float)"/>
    /// finds them for that source alone. Every source's hypotheses are rows of one state, stepped together.
    /// </summary>
    public IReadOnlyList<Hypothesis>[] Beam(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, int startToken, int beamWidth, int maxLength, EndTokens endToken = default,
        float lengthPenalty = 1f)
    {
        Dsl.Decode.RequireDecoding(Decoder, [startToken], maxLength, endToken, nameof(startToken));
        Dsl.Decode.RequireBeam(beamWidth, lengthPenalty);
        return Dsl.Decode.BeamEach(Decoder, Start(source, lengths, training: false).State, [startToken], beamWidth, maxLength, endToken, lengthPenalty);
    }

    /// <summary>
    /// Decodes one source [1, steps] as <paramref name="config"/> says (its <see cref="GenerationConfig.DecoderStartToken"/>, else
    /// its <see cref="GenerationConfig.BeginToken"/>, fed first; greedy, sampling or beam search, as <see cref="Dsl.Decode.Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>
    /// chooses, <see cref="GenerationConfig.MaxLength"/> counting the start token, as transformers counts an encoder–decoder's);
    /// T5's <c>generation_config.json</c> says start 0, end 1. Returns the tokens after the start token.
    /// </summary>
    public int[] Generate(ReadOnlyTensorSpan<TSource> source, GenerationConfig config, Rng? rng = null)
    {
        var (start, count) = Generating(config, rng, "Generate");
        return Dsl.Decode.Generate(Decoder, RequireOne(source), [start], count, config, rng);
    }

    /// <summary>
    /// The tokens <see cref="Generate(ReadOnlyTensorSpan{TSource}, GenerationConfig, Rng?)"/> gives for one source, each as
    /// soon as it is chosen (see <see cref="Dsl.Decode.Stream(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>; greedy decoding and sampling): the source is encoded at the
    /// call, the decoder's start token read at the first <c>MoveNext</c>.
    /// </summary>
    /// <exception cref="NotSupportedException">Beam search (<see cref="GenerationConfig.NumBeams"/> above 1), whose tokens are known only when it ends.</exception>
    public IEnumerable<int> Stream(ReadOnlyTensorSpan<TSource> source, GenerationConfig config, Rng? rng = null)
    {
        var (start, count) = Generating(config, rng, "Stream");
        Dsl.Decode.RequireStreamable(config); // (before the encoder runs)
        return Dsl.Decode.Stream(Decoder, RequireOne(source), [start], count, config, rng);
    }

    /// <summary>
    /// Decodes a batch of sources [batch, steps] (padded to <paramref name="lengths"/>; empty: every step) as
    /// <paramref name="config"/> says, in one call: element b is what <see cref="Generate(ReadOnlyTensorSpan{TSource}, GenerationConfig, Rng?)"/>
    /// gives for source b alone (sampling draws for the rows that choose in row order at each step); with
    /// <see cref="GenerationConfig.NumReturnSequences"/> n above 1, element b·n + i is source b's i-th (see <see cref="Dsl.Decode.GenerateBatch"/>).
    /// </summary>
    public int[][] Generate(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, GenerationConfig config, Rng? rng = null)
    {
        var (start, count) = Generating(config, rng, oneSequence: null);
        return Dsl.Decode.GenerateEach(Decoder, Start(source, lengths, training: false).State, [start], count, config, rng);
    }

    /// <summary>The decoder's start token and how many tokens to decode after it, checked before the encoder runs.</summary>
    private (int Start, int Count) Generating(GenerationConfig config, Rng? rng, string? oneSequence)
    {
        ArgumentNullException.ThrowIfNull(config);
        // transformers falls back to bos_token_id
        int start = config.DecoderStartToken ?? config.BeginToken
            ?? throw new ArgumentException("config: no DecoderStartToken (decoder_start_token_id) nor BeginToken (bos_token_id): an encoder–decoder's decoder is fed one first.", nameof(config));
        return (start, Dsl.Decode.Generating(Decoder, [start], config, rng, "the decoder's start token", "config.DecoderStartToken", oneSequence));
    }

    /// <summary>
    /// The decoder's input is [batch, steps] for the source's batch, and its targets one per decoder step (a transposed or
    /// flattened array would pair logits with the wrong targets); the input's token ids are in the decoder's vocabulary and
    /// the targets' class ids below its output width (negative: ignored). All before the encoder runs, so that a failed
    /// call draws nothing from the dropout and teacher-forcing generators. A training step reads its targets in place (they
    /// must be dense); the loss copies them, strided or not, and checks the ids of strided ones as it computes.
    /// </summary>
    private void RequireDecoderShapes(ReadOnlyTensorSpan<TSource> source, ReadOnlyTensorSpan<int> decoderInput, ReadOnlyTensorSpan<int> targets, bool training)
    {
        Span<int> dims = [-1, -1];
        RequireDecoderInput(source, decoderInput, dims);
        if (!(targets.Rank == 2 && targets.Lengths[0] == dims[0] && targets.Lengths[1] == dims[1])) // (the message is built only for a mismatch: a training step allocates nothing)
            Check.Shape(targets, nameof(targets), $"batch = {dims[0]}, steps = {dims[1]} (the decoder input's)", dims);
        if (training || targets.IsDense) Check.ClassIds(Check.Shape(targets, nameof(targets), "batch, steps", dims), Decoder.OutputWidth, nameof(targets));
    }

    /// <summary>
    /// The source is [batch, steps] (token ids; [batch, steps, features] for features) and the decoder's input [batch, steps]
    /// for the source's batch, with token ids in the decoder's vocabulary: checked before the encoder runs, each error naming
    /// the argument at fault. (Generated compositions call it before their own passes: AttentionWeights.)
    /// </summary>
    protected void RequireDecoderInput(ReadOnlyTensorSpan<TSource> source, ReadOnlyTensorSpan<int> decoderInput) => RequireDecoderInput(source, decoderInput, stackalloc int[2]);

    private void RequireDecoderInput(ReadOnlyTensorSpan<TSource> source, ReadOnlyTensorSpan<int> decoderInput, Span<int> dims)
    {
        int rank = typeof(TSource) == typeof(int) ? 2 : 3;
        if (source.Rank != rank)
            throw new ArgumentException($"source: expected [{(rank == 2 ? "batch, steps" : $"batch, steps, {Encoder.InputWidth}")}], got {Shapes.Format(source.Lengths)}.", nameof(source));
        nint batch = source.Lengths[0];
        if (decoderInput.Rank != 2 || decoderInput.Lengths[0] != batch)
            throw new ArgumentException($"decoderInput: expected [batch = {batch}, steps] (the source's batch), got {Shapes.Format(decoderInput.Lengths)}.", nameof(decoderInput));
        dims.Fill(-1);
        Check.Tokens(Check.Shape(decoderInput, nameof(decoderInput), "batch, steps", dims), Decoder.InputWidth, nameof(decoderInput));
        // a learned position table's rows, the encoder's and the decoder's, before either runs
        if (ModelLimits.Exceeded(Encoder, source.Lengths[1]) is { } encoder)
            throw new ArgumentException($"source: {source.Lengths[1]} steps, but layer '{encoder.Layer}' of {Encoder.GetType().Name} holds {encoder.Positions} positions (maxLength).", nameof(source));
        if (ModelLimits.Exceeded(Decoder, dims[1]) is { } decoder)
            throw new ArgumentException($"decoderInput: {dims[1]} steps, but layer '{decoder.Layer}' of {Decoder.GetType().Name} holds {decoder.Positions} positions (maxLength).", nameof(decoderInput));
    }

    private IDecoderState RequireOne(ReadOnlyTensorSpan<TSource> source)
    {
        if (source.Rank < 1 || source.Lengths[0] != 1)
            throw new ArgumentException($"source: expected one sequence [1, steps], got {Shapes.Format(source.Lengths)}; a batch decodes in one call with Greedy(source, lengths, …) or Beam(source, lengths, …).", nameof(source));
        return Start(source, default, training: false).State; // (decoded at once: no copy of the encoder's outputs)
    }

    private (EncoderOutput Encoded, IDecoderState State) Start(ReadOnlyTensorSpan<TSource> source, ReadOnlySpan<int> lengths, bool training)
    {
        EncoderOutput encoded = Encoder.Encode(source, lengths, training);
        IDecoderState state;
        if (training)
        {
            // A training step's state never leaves this object: reuse it (zeroed) from one step to the next, so that a
            // warm training step allocates nothing. Encode hands its state to the caller, so it gets a fresh one.
            if (_trainingState is null || _trainingState.Batch != encoded.Batch) _trainingState = (IDecoderState)Decoder.CreateState(encoded.Batch);
            state = _trainingState;
            state.Reset();
        }
        else state = (IDecoderState)Decoder.CreateState(encoded.Batch);
        if (state.NeedsMemory) state.Attend(encoded);
        BridgeForward(encoded, state);
        return (encoded, state);
    }

    private void BridgeForward(EncoderOutput encoded, IDecoderState state)
    {
        int B = encoded.Batch;
        if (_bridged.Length != _bridges.Length || (_bridges.Length > 0 && _bridged[0].Length != B * _bridges[0].OutWidth))
            SizeBridgeBuffers(B);
        for (int i = 0; i < _bridges.Length; i++)
        {
            Bridge bridge = _bridges[i];
            ReadOnlySpan<float> x = encoded.FinalStates[bridge.From].AsSpan();
            Span<float> y = _bridged[i];
            if (!bridge.Dense) x.CopyTo(y);
            else
            {
                Gemm.MatMulTransB(B, bridge.OutWidth, bridge.InWidth, x, bridge.InWidth, _weights[i]!.AsSpan(), bridge.InWidth, y, bridge.OutWidth, accumulate: false);
                Activations.AddBias(y, B, _biases[i]!.AsSpan());
                if (bridge.Tanh) Activations.Apply(Activation.Tanh, y);
            }
            y.CopyTo(state.Tensors[bridge.To].AsSpan());
        }
    }

    /// <summary>
    /// Sizes the bridges' buffers for <paramref name="batch"/> sequences. A method of its own: a lambda capturing the batch in
    /// <see cref="BridgeForward"/> would allocate its closure on every call, sized or not.
    /// </summary>
    private void SizeBridgeBuffers(int batch)
    {
        _bridged = _bridges.Select(b => new float[batch * b.OutWidth]).ToArray();
        _scratch = new float[batch * _bridges.Select(b => b.OutWidth).DefaultIfEmpty(0).Max()];
    }

    private void BridgeBackward(EncoderOutput encoded, IDecoderState state)
    {
        int B = encoded.Batch;
        IReadOnlyList<NamedTensor> gradients = encoded.FinalStateGradients;
        for (int i = 0; i < gradients.Count; i++) gradients[i].AsSpan().Clear(); // (a foreach over the interface allocates an enumerator)
        for (int i = 0; i < _bridges.Length; i++)
        {
            Bridge bridge = _bridges[i];
            ReadOnlySpan<float> dy = state.Gradients[bridge.To].AsSpan();
            Span<float> dx = encoded.FinalStateGradients[bridge.From].AsSpan();
            if (!bridge.Dense)
            {
                TensorPrimitives.Add(dx, dy, dx);
                continue;
            }
            Span<float> da = _scratch.AsSpan(0, B * bridge.OutWidth);
            dy.CopyTo(da);
            if (bridge.Tanh) Activations.Backward(Activation.Tanh, _bridged[i], da);
            ReadOnlySpan<float> x = encoded.FinalStates[bridge.From].AsSpan();
            Gemm.MatMulTransA(bridge.OutWidth, bridge.InWidth, B, da, bridge.OutWidth, x, bridge.InWidth, _weights[i]!.GradAsSpan(), bridge.InWidth, accumulate: true);
            Activations.AddColumnSums(da, B, _biases[i]!.GradAsSpan());
            Gemm.MatMul(B, bridge.InWidth, bridge.OutWidth, da, bridge.OutWidth, _weights[i]!.AsSpan(), bridge.InWidth, dx, bridge.InWidth, accumulate: true);
        }
    }

    /// <summary>The decoder's inputs under scheduled sampling: step by step, each token after the first is the given one with probability <paramref name="ratio"/>, else the previous step's greedy prediction.</summary>
    private ReadOnlyTensorSpan<int> ScheduledInputs(IDecoderState start, ReadOnlyTensorSpan<int> decoderInput, float ratio)
    {
        int B = (int)decoderInput.Lengths[0], T = (int)decoderInput.Lengths[1], V = Decoder.OutputWidth;
        if (_inputs.Length != B * T) _inputs = new int[B * T];
        decoderInput.FlattenTo(_inputs);
        // The step-by-step pass reuses its state and buffers from one training step to the next.
        if (_stepState is null || _stepState.Batch != B) _stepState = (IDecoderState)Decoder.CreateState(B);
        IDecoderState state = _stepState;
        state.CopyFrom(start);
        if (_stepTokens.Length != B) _stepTokens = new int[B];
        if (_stepLogits.Length != B * V) _stepLogits = new float[B * V];
        int[] tokens = _stepTokens;
        float[] logits = _stepLogits;
        for (int t = 0; t < T; t++)
        {
            for (int b = 0; b < B; b++)
            {
                if (t > 0 && TeacherForcingRandom.NextFloat() >= ratio) _inputs[b * T + t] = TensorPrimitives.IndexOfMax(logits.AsSpan(b * V, V));
                tokens[b] = _inputs[b * T + t];
            }
            Decoder.Step(new ReadOnlyTensorSpan<int>(tokens, [B]), state, new TensorSpan<float>(logits, [B, V]));
        }
        return new ReadOnlyTensorSpan<int>(_inputs, [B, T]);
    }
}
