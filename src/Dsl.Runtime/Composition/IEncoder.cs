using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>
/// A model that can encode a source for a decoder: every generated model whose output is a sequence. Its pass keeps what
/// back-propagation needs, so that the gradients a decoder sends back (to the memory and the final states) reach the
/// encoder's parameters.
/// </summary>
public interface IEncoder<TSource> : IModel<TSource>
{
    /// <summary>Runs the encoder over [batch, steps] (padded to <paramref name="lengths"/> when not empty); dropout is active when <paramref name="training"/>.</summary>
    EncoderOutput Encode(ReadOnlyTensorSpan<TSource> source, System.ReadOnlySpan<int> lengths, bool training);

    /// <summary>Back-propagates the gradients left in <paramref name="encoded"/> (memory and final states) through the last training <see cref="Encode"/>, accumulating every parameter's gradient.</summary>
    void BackwardFromEncoded(EncoderOutput encoded);
}

/// <summary>
/// The state of a model that can serve as a decoder: every generated model that steps. Beyond <see cref="IModelState"/>
/// it carries the encoder's memory for cross-attention and, on request, the gradient of the loss with respect to the
/// state a pass started from (which an encoder–decoder sends back to the encoder).
/// </summary>
public interface IDecoderState : IModelState
{
    /// <summary>When true, a Backward from this state writes d(loss)/d(initial state) into <see cref="Gradients"/>.</summary>
    bool KeepGradients { get; set; }

    /// <summary>The gradients of the state's tensors, same names and shapes as <see cref="IModelState.Tensors"/>.</summary>
    IReadOnlyList<NamedTensor> Gradients { get; }

    /// <summary>True when the model has a cross-attention layer and so needs <see cref="Attend"/> before it runs.</summary>
    bool NeedsMemory { get; }

    /// <summary>Gives the state the encoder's outputs that the model's cross-attention layers read (and add their gradient into).</summary>
    void Attend(EncoderOutput encoded);

    /// <summary>Copies another state of the same model: its tensors and the memory it attends over.</summary>
    void CopyFrom(IModelState source);

    /// <summary>
    /// Makes row <c>i</c> of this state row <c>rows[i]</c> of <paramref name="source"/>, another state of the same model at
    /// any batch size: its tensors, its key/value caches and position, and the memory it attends over (a row may be taken
    /// more than once, or not at all). Beam search keeps its hypotheses as the rows of one state this way, and steps them
    /// together (Hugging Face's <c>_reorder_cache</c>). <paramref name="rows"/> holds one row per row of this state.
    /// </summary>
    void CopyRowsFrom(IModelState source, ReadOnlySpan<int> rows);
}
