using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>The recurrent state a model carries between <see cref="IModel{TInput}.Step(ReadOnlyTensorSpan{TInput}, IModelState)"/> calls.</summary>
public interface IModelState
{
    /// <summary>Number of sequences advanced together.</summary>
    int Batch { get; }

    /// <summary>Sets every state back to zero (a new sequence).</summary>
    void Reset();

    /// <summary>
    /// The state's tensors, [batch, hidden] each, named <c>layer.h_l0</c>, <c>layer.c_l0</c> (LSTM)…:
    /// read them, or write them to start from a given state (PyTorch's h0, c0).
    /// </summary>
    System.Collections.Generic.IReadOnlyList<NamedTensor> Tensors { get; }

    /// <summary>
    /// The steps the state has taken since it was created or <see cref="Reset"/>, counted by a model that reads the position
    /// (a positional encoding, a learned position table, a key/value cache); 0 for a state whose model does not count them.
    /// </summary>
    int Position => 0;
}

/// <summary>What every generated model offers whatever its input: parameters, shapes, the dropout generator.</summary>
public interface IModel
{
    /// <summary>The model's parameters in PyTorch state_dict order.</summary>
    ParameterSet Parameters { get; }

    /// <summary>Features per step, or the vocabulary size of a token model.</summary>
    int InputWidth { get; }

    /// <summary>Width of the output.</summary>
    int OutputWidth { get; }

    /// <summary>True when the output is a sequence [batch, steps, OutputWidth]; false for [batch, OutputWidth].</summary>
    bool ReturnsSequences { get; }

    /// <summary>The generator of the dropout masks (seeded from the model's seed); checkpoints save and restore it.</summary>
    Rng DropoutRandom { get; }

    /// <summary>What the model is made of, layer by layer (generated models; null for a model written by hand).</summary>
    ModelArchitecture? Architecture => null;

    /// <summary>
    /// False for a model whose training pass can start only from a fresh state: one with causal self-attention, whose
    /// back-propagation does not reach the key/value cache of the steps a carried state has taken. Such a model trains on
    /// whole sequences (a <see cref="Batcher"/>), not on a <see cref="StreamBatcher"/> or with <see cref="TruncatedBptt{TInput}"/>'s
    /// carried state. True for every other model (a model written by hand: unless it says otherwise).
    /// </summary>
    bool TrainsFromCarriedState => true;

    /// <summary>
    /// Label smoothing ε of the class loss (PyTorch's <c>CrossEntropyLoss(label_smoothing=ε)</c>), in [0, 1]: each target
    /// counts 1 − ε on its class and ε / <see cref="OutputWidth"/> on every class, in training steps and evaluations alike.
    /// Generated models and encoder–decoders keep it; a model written by hand has none unless it implements it (0, and
    /// setting another value throws).
    /// </summary>
    float LabelSmoothing
    {
        get => 0f;
        set
        {
            if (Losses.RequireLabelSmoothing(value, nameof(value)) != 0f)
                throw new NotSupportedException($"{GetType().Name} has no label smoothing (a model written by hand implements IModel.LabelSmoothing to have one).");
        }
    }
}

/// <summary>A model made of other models (an encoder–decoder): each part, and the prefix its parameters take in the whole's names.</summary>
internal interface IComposedModel
{
    System.Collections.Generic.IEnumerable<(string Prefix, IModel Part)> Parts { get; }
}

/// <summary>A model made of parts that draw from more random generators than <see cref="IModel.DropoutRandom"/>; checkpoints save them all.</summary>
public interface IHasRandoms
{
    /// <summary>The other generators, each with a stable name.</summary>
    System.Collections.Generic.IEnumerable<(string Name, Rng Rng)> OtherRandoms { get; }
}

/// <summary>
/// What every generated model offers, for code that works with any model: training loops,
/// decoders, tools. <typeparamref name="TInput"/> is <c>int</c> for token models (an
/// <c>[Embedding]</c> first) and <c>float</c> for feature models (an <c>[Input]</c> first).
/// </summary>
public interface IModel<TInput> : IModel
{
    /// <summary>Inference on [batch, steps] token ids or [batch, steps, features].</summary>
    Tensor<float> Forward(ReadOnlyTensorSpan<TInput> input);

    /// <summary>Inference into a caller's buffer.</summary>
    void Forward(ReadOnlyTensorSpan<TInput> input, TensorSpan<float> destination);

    /// <summary>Training step against class ids (softmax cross-entropy; negative ids ignored): returns the mean loss and accumulates gradients.</summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets);

    /// <summary>Training step against float targets (mean squared error): returns the mean loss and accumulates gradients.</summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets);

    /// <summary>Mean cross-entropy in inference mode, without gradients.</summary>
    float Loss(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets);

    /// <summary>Mean squared error in inference mode, without gradients.</summary>
    float Loss(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets);

    /// <summary>
    /// Inference from <paramref name="state"/> (PyTorch's h0, c0) over a chunk of steps; leaves the final
    /// state in it, so that a long sequence can be fed chunk by chunk.
    /// </summary>
    Tensor<float> Forward(ReadOnlyTensorSpan<TInput> input, IModelState state);

    /// <summary>As <see cref="Forward(ReadOnlyTensorSpan{TInput}, IModelState)"/>, into a caller's buffer.</summary>
    void Forward(ReadOnlyTensorSpan<TInput> input, IModelState state, TensorSpan<float> destination);

    /// <summary>
    /// Training step from <paramref name="state"/>, which is treated as a constant (detached): gradients stop at
    /// the chunk's border. Leaves the final state in it: truncated back-propagation through time.
    /// </summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets, IModelState state);

    /// <summary>As <see cref="Backward(ReadOnlyTensorSpan{TInput}, ReadOnlyTensorSpan{int}, IModelState)"/>, with mean squared error.</summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets, IModelState state);

    /// <summary>
    /// Inference on padded sequences of the given <paramref name="lengths"/> [batch] (PyTorch's pack_padded_sequence):
    /// what padded steps hold changes no valid step's output (recurrent layers output zeros at padded steps, and the layers
    /// after them compute on those zeros: a final Dense gives its bias there), and a bidirectional layer's backward direction
    /// starts at each sequence's end. Read only the valid steps of the result.
    /// </summary>
    Tensor<float> Forward(ReadOnlyTensorSpan<TInput> input, ReadOnlySpan<int> lengths);

    /// <summary>Training step on padded sequences of the given lengths: padded steps affect neither loss nor gradients.</summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths);

    /// <summary>Training step on padded sequences with mean squared error over the valid steps.</summary>
    float Backward(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths);

    /// <summary>Cross-entropy of padded sequences in inference mode.</summary>
    float Loss(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths);

    /// <summary>Mean squared error of padded sequences in inference mode.</summary>
    float Loss(ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths);

    /// <summary>A zero state for <paramref name="batch"/> sequences.</summary>
    IModelState CreateState(int batch = 1);

    /// <summary>Advances one step ([batch] token ids or [batch, features]); returns [batch, OutputWidth].</summary>
    Tensor<float> Step(ReadOnlyTensorSpan<TInput> input, IModelState state);

    /// <summary>Advances one step into a caller's buffer [batch, OutputWidth].</summary>
    void Step(ReadOnlyTensorSpan<TInput> input, IModelState state, TensorSpan<float> destination);
}

/// <summary>What a model's architecture bounds.</summary>
internal static class ModelLimits
{
    /// <summary>
    /// The fewest positions a learned position table of the model holds (<c>[PositionEmbedding(maxLength)]</c>) and that
    /// layer's name: a sequence, with the steps a carried state has taken, is at most that long. Null: no such layer.
    /// </summary>
    public static (int Positions, string Layer)? Positions(IModel model)
    {
        // (no LINQ: a training step of an encoder–decoder checks it, and allocates nothing)
        (int, string)? fewest = null;
        if (model.Architecture is { } architecture)
        {
            for (int i = 0; i < architecture.Layers.Count; i++)
            {
                if (architecture.Layers[i] is PositionEmbeddingInfo p && (fewest is null || p.MaxLength < fewest.Value.Item1)) fewest = (p.MaxLength, p.Name);
            }
        }
        return fewest;
    }

    /// <summary>The model's learned position table that <paramref name="steps"/> from position 0 would pass, or null when they fit.</summary>
    public static (int Positions, string Layer)? Exceeded(IModel model, long steps) => Positions(model) is { } limit && steps > limit.Positions ? limit : null;
}

/// <summary>Copying one model state into another of the same model.</summary>
internal static class ModelStates
{
    /// <summary>
    /// Makes <paramref name="to"/> the state <paramref name="from"/> is: a generated model's state copies itself (its tensors,
    /// the position in the sequence a positional encoding reads, the memory a decoder attends over); another's tensors are
    /// copied after checking they are the same tensors (another model's state, 64 units where this one has 32, would copy
    /// in part or throw half-way): the same tensors, or nothing. Errors call the source <paramref name="what"/> and name
    /// <paramref name="parameter"/>.
    /// </summary>
    public static void Copy(IModelState from, IModelState to, string what, string parameter)
    {
        if (to is IDecoderState decoder)
        {
            decoder.CopyFrom(from);
            return;
        }
        if (from.Tensors.Count != to.Tensors.Count)
            throw new System.ArgumentException($"The {what} holds {from.Tensors.Count} tensors; this model's state holds {to.Tensors.Count} ({string.Join(", ", System.Linq.Enumerable.Select(to.Tensors, t => t.Name))}).", parameter);
        for (int i = 0; i < from.Tensors.Count; i++)
        {
            NamedTensor source = from.Tensors[i], target = to.Tensors[i];
            if (source.Name != target.Name || !source.Shape.SequenceEqual(target.Shape))
                throw new System.ArgumentException($"The {what}'s tensor '{source.Name}' {Shapes.Format(source.Shape)} is not this model's '{target.Name}' {Shapes.Format(target.Shape)}.", parameter);
        }
        for (int i = 0; i < from.Tensors.Count; i++) from.Tensors[i].AsSpan().CopyTo(to.Tensors[i].AsSpan());
    }
}
