using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// What a generated model is made of, layer by layer, as its declaration says (after shape inference): for tools that
/// rebuild the model elsewhere, such as the ONNX exporter (Dsl.Onnx). Every generated model exposes it as the static
/// <c>Architecture</c> and through <see cref="IModel.Architecture"/>; the parameters are in <see cref="IModel.Parameters"/>
/// under each layer's name.
/// </summary>
/// <param name="Name">The model's class name.</param>
/// <param name="TakesTokens">True for token ids [batch, steps] (an <c>[Embedding]</c> first), false for [batch, steps, features].</param>
/// <param name="Layers">The layers in order, the first reading the model's input.</param>
public sealed record ModelArchitecture(string Name, bool TakesTokens, IReadOnlyList<LayerInfo> Layers);

/// <summary>One layer: its name (the prefix of its parameters), the widths in and out, and whether it outputs a sequence.</summary>
public abstract record LayerInfo(string Name, int InWidth, int OutWidth, bool OutIsSequence);

/// <summary><c>[Input(features)]</c>.</summary>
public sealed record InputInfo(string Name, int Features) : LayerInfo(Name, Features, Features, true);

/// <summary><c>[Embedding(vocab, dim)]</c>.</summary>
public sealed record EmbeddingInfo(string Name, int Vocabulary, int Dim) : LayerInfo(Name, Vocabulary, Dim, true)
{
    /// <summary>What the table's rows are multiplied by: √dim with <c>ScaleBySqrtDim</c>, else 1.</summary>
    public float Scale { get; init; } = 1f;
}

/// <summary>
/// <c>[Dense(units)]</c> on every step or on a vector; <see cref="TiedTo"/>: the embedding layer whose table is its weight
/// (<c>TieEmbedding = true</c>), null for a weight of its own; <see cref="Bias"/>: whether it adds a bias (<c>dense.bias</c>).
/// </summary>
/// <remarks>
/// <see cref="Gated"/>: a gated linear unit (<c>Gated = true</c>): the weight is [2 · Units, InWidth], value rows then gate rows, and the output
/// value ⊙ act(gate); <see cref="SoftCap"/>: the outputs capped at cap · tanh(y / cap) (Gemma 2's <c>final_logit_softcapping</c>), 0 for none.
/// </remarks>
public sealed record DenseInfo(string Name, int InWidth, int Units, bool OutIsSequence, Activation Activation, string? TiedTo = null, bool Bias = true, bool Gated = false,
    float SoftCap = 0f)
    : LayerInfo(Name, InWidth, Units, OutIsSequence);

/// <summary>
/// <c>[Moe(experts, units)]</c>: a mixture of <see cref="Experts"/> feed-forward experts (Width → <see cref="Units"/> → Width), each row
/// sent to its <see cref="TopK"/> most probable by the router (<c>moe.router</c> [Experts, Width]); <see cref="NormalizeTopK"/>: the chosen
/// probabilities divided by their sum; <see cref="Gated"/>: each expert's inner map a gated linear unit of <see cref="Activation"/>
/// (<c>moe.weight_in</c> [Experts, 2 · Units, Width], value rows then gate rows), else <c>[Experts, Units, Width]</c> and the activation on it;
/// <c>moe.weight_out</c> [Experts, Width, Units]; <see cref="Bias"/>: <c>moe.bias_in</c> and <c>moe.bias_out</c>.
/// </summary>
/// <remarks>
/// <see cref="LoadBalancingLoss"/>: the coefficient of the load-balancing loss the layer adds in training (0: none).
/// <see cref="SharedUnits"/>: a shared expert's inner width (0: none; <c>moe.shared_in</c>, <c>moe.shared_out</c>, with <see cref="Bias"/>
/// <c>moe.shared_bias_in</c> and <c>moe.shared_bias_out</c>), every row's output added to the chosen experts', scaled by σ(x · <c>moe.shared_gate</c>ᵀ)
/// with <see cref="SharedExpertGate"/>.
/// </remarks>
public sealed record MoeInfo(string Name, int Width, int Experts, int Units, int TopK, bool OutIsSequence, Activation Activation, bool Gated = true, bool NormalizeTopK = true,
    bool Bias = false, float LoadBalancingLoss = 0f, int SharedUnits = 0, bool SharedExpertGate = false) : LayerInfo(Name, Width, Width, OutIsSequence);

/// <summary><c>[Scale(factor)]</c>: every value times <see cref="Factor"/>.</summary>
public sealed record ScaleInfo(string Name, int Width, bool OutIsSequence, float Factor) : LayerInfo(Name, Width, Width, OutIsSequence);

/// <summary><c>[Dropout(p)]</c>: identity outside training.</summary>
public sealed record DropoutInfo(string Name, int Width, bool OutIsSequence, float P) : LayerInfo(Name, Width, Width, OutIsSequence);

/// <summary>The recurrent kinds.</summary>
public enum RecurrentKind
{
    /// <summary>Elman RNN (<c>nn.RNN</c>).</summary>
    Rnn,

    /// <summary>LSTM (<c>nn.LSTM</c>).</summary>
    Lstm,

    /// <summary>GRU (<c>nn.GRU</c>, or Cho's with ResetAfter = false).</summary>
    Gru,
}

/// <summary>
/// <c>[Rnn]</c>, <c>[Lstm]</c> or <c>[Gru]</c>: <see cref="Hidden"/> units per direction (h is <see cref="Projection"/> wide
/// when an LSTM projects it), <see cref="Layers"/> stacked, <see cref="Activation"/> for an RNN, <see cref="ResetAfter"/> for a GRU.
/// </summary>
public sealed record RecurrentInfo(string Name, RecurrentKind Kind, int InWidth, int OutWidth, bool OutIsSequence, int Hidden, int Layers, bool Bidirectional,
    Activation Activation, bool ResetAfter, int Projection, bool LearnInitialState, int FedWidth) : LayerInfo(Name, InWidth, OutWidth, OutIsSequence);

/// <summary>
/// <c>[LayerNorm]</c>: <see cref="Bias"/> whether it learns its shift, <see cref="ElementwiseAffine"/> whether it learns anything
/// (false: no scale and no shift, Bias false too).
/// </summary>
public sealed record LayerNormInfo(string Name, int Width, bool OutIsSequence, float Epsilon, bool Bias = true, bool ElementwiseAffine = true)
    : LayerInfo(Name, Width, Width, OutIsSequence)
{
    private readonly bool _bias = Bias;

    /// <summary>Whether the norm learns its shift: never without its affine map, however it was constructed or copied.</summary>
    public bool Bias { get => _bias && ElementwiseAffine; init => _bias = value; }

    /// <summary>Equal by what the norm is (its <see cref="Bias"/> as read), not by the shift it was given beside no affine map.</summary>
    public bool Equals(LayerNormInfo? other) =>
        other is not null && base.Equals(other) && Width == other.Width && Epsilon.Equals(other.Epsilon) && Bias == other.Bias && ElementwiseAffine == other.ElementwiseAffine;

    /// <inheritdoc/>
    public override int GetHashCode() => System.HashCode.Combine(base.GetHashCode(), Width, Epsilon, Bias, ElementwiseAffine);
}

/// <summary><c>[RmsNorm]</c>: <see cref="ElementwiseAffine"/> whether it learns its scale.</summary>
public sealed record RmsNormInfo(string Name, int Width, bool OutIsSequence, float Epsilon, bool ElementwiseAffine = true) : LayerInfo(Name, Width, Width, OutIsSequence);

/// <summary><c>[Residual]</c>: adds the output of layer <see cref="From"/> (an index into the layers) to its input.</summary>
public sealed record ResidualInfo(string Name, int Width, bool OutIsSequence, int From) : LayerInfo(Name, Width, Width, OutIsSequence);

/// <summary>
/// <c>[Branch]</c>: outputs the output of layer <see cref="From"/> (an index into the layers) again, the input of the layer after it: a
/// second branch from there, which a later residual adds to the first; what flows in is not read.
/// </summary>
public sealed record BranchInfo(string Name, int InWidth, int Width, bool OutIsSequence, int From) : LayerInfo(Name, InWidth, Width, OutIsSequence);

/// <summary><c>[PositionalEncoding]</c>.</summary>
public sealed record PositionalEncodingInfo(string Name, int Width) : LayerInfo(Name, Width, Width, true);

/// <summary><c>[Pool(kind)]</c>: one vector per sequence, its first step, its last (of its length) or the mean of its valid steps.</summary>
public sealed record PoolInfo(string Name, int Width, PoolKind Kind) : LayerInfo(Name, Width, Width, false);

/// <summary><c>[PositionEmbedding]</c>: a learned table of <see cref="MaxLength"/> positions, <c>{Name}.weight</c> [MaxLength, Width].</summary>
public sealed record PositionEmbeddingInfo(string Name, int Width, int MaxLength) : LayerInfo(Name, Width, Width, true);

/// <summary>
/// <c>[TokenTypeEmbedding]</c>: a learned table of <see cref="Types"/> token types, <c>{Name}.weight</c> [Types, Width], a token's
/// type the number of <see cref="Separator"/> ids before it in its sequence (at most Types − 1).
/// </summary>
public sealed record TokenTypeEmbeddingInfo(string Name, int Width, int Types, int Separator) : LayerInfo(Name, Width, Width, true);

/// <summary><c>[Attention]</c>: self-attention, pooling, or cross-attention over an encoder's outputs (<see cref="MemoryWidth"/> &gt; 0).</summary>
/// <remarks>
/// <see cref="RotaryBase"/>: the base of the rotary position embedding's wavelengths when it turns queries and keys (<c>Rotary</c>),
/// else 0; <see cref="Bias"/>: whether the input projections add biases (<c>in_proj_bias</c>); <see cref="KeyValueHeads"/>: the
/// keys' and values' heads in grouped-query attention (each shared by Heads / KeyValueHeads query heads), 0 when there are as
/// many as <see cref="Heads"/>; <see cref="OutputBias"/>: whether the output projection adds its bias (<c>out_proj.bias</c>; as
/// <see cref="Bias"/> unless declared otherwise: Qwen2's has none beside the input projections', GPT-Neo's one without them); <see cref="RotaryScaling"/>: the rotary frequencies' long-context scaling (LLaMA 3.1's or linear), none by default;
/// <see cref="SlidingWindow"/>: causal attention over the steps i − SlidingWindow &lt; j ≤ i (Mistral's), attention over the whole
/// sequence over the steps |j − i| ≤ SlidingWindow / 2 (ModernBERT's local layers), 0 for every step it may see;
/// <see cref="HeadWidth"/>: each head's width apart from InWidth / Heads (Hugging Face's <c>head_dim</c>), 0 when it is that;
/// <see cref="QueryKeyNorm"/>: whether each head's queries and keys are RMS-normalised (<c>q_norm</c>, <c>k_norm</c>) with
/// <see cref="QueryKeyNormEpsilon"/>; <see cref="Scale"/>: the scores' scale apart from 1/√d, 0 when it is that; <see cref="SoftCap"/>: the
/// scaled scores capped at cap · tanh(score / cap) before the softmax (Gemma 2's <c>attn_logit_softcapping</c>), 0 for none;
/// <see cref="RotaryDimensions"/>: the rotation turns each head's first values alone (a partial rotation), 0 for the whole head;
/// <see cref="RelativeBuckets"/>: the buckets of a learned bias on the scores by distance (T5's and MPNet's
/// <c>relative_attention_bias</c>; one-sided on a causal layer, T5's decoder's), with <see cref="RelativeMaxDistance"/>, 0 for none; <see cref="RelativeSharedWith"/>: the earlier
/// layer whose table it reads (T5's and MPNet's one table), null when it holds its own; <see cref="Alibi"/>: ALiBi's linear bias by
/// distance on the scores (BLOOM's, MPT's, JinaBERT's), with <see cref="AlibiScaled"/> added before the scores' scale and so scaled
/// with them (falcon-rw's); <see cref="ClipQkv"/>: the projected queries, keys and values clamped to ±ClipQkv (OLMo's
/// <c>clip_qkv</c>), 0 for none; <see cref="QueryKeyNormAcrossHeads"/>: QK-norm over each step's queries together, and its keys,
/// rather than head by head (OLMo 2's).
/// </remarks>
public sealed record AttentionInfo(string Name, int InWidth, int OutWidth, bool OutIsSequence, int Heads, bool Causal, AttentionScore Score, bool Pool,
    int MemoryWidth, int Units, bool InputFeeding, float RotaryBase = 0f, bool Bias = true, int KeyValueHeads = 0,
    RotaryScaling RotaryScaling = default, bool OutputBias = true, int SlidingWindow = 0, int HeadWidth = 0, bool QueryKeyNorm = false,
    float QueryKeyNormEpsilon = 1e-6f, float Scale = 0f, float SoftCap = 0f, int RotaryDimensions = 0, int RelativeBuckets = 0, int RelativeMaxDistance = 128,
    string? RelativeSharedWith = null, bool Alibi = false, bool AlibiScaled = false, float ClipQkv = 0f, bool QueryKeyNormAcrossHeads = false)
    : LayerInfo(Name, InWidth, OutWidth, OutIsSequence)
{
    /// <summary>The values of each head the rotation turns: <see cref="RotaryDimensions"/>, or the whole <see cref="HeadSize"/>.</summary>
    public int RotaryWidth => RotaryDimensions > 0 ? RotaryDimensions : HeadSize;

    /// <summary>A head's width d: <see cref="HeadWidth"/>, or InWidth / Heads when that is 0.</summary>
    public int HeadSize => HeadWidth > 0 ? HeadWidth : Heads > 0 ? InWidth / Heads : InWidth;

    /// <summary>The scores' scale: <see cref="Scale"/>, else 1/√<see cref="HeadSize"/> (1 for the Dot score), in float as the generated code computes it.</summary>
    public float ScoreScale => Scale > 0f ? Scale : Score == AttentionScore.Dot ? 1f : HeadScale;

    /// <summary>Whether <see cref="Scale"/> scales the scores otherwise than 1/√<see cref="HeadSize"/> (what no configuration but Gemma 3's says).</summary>
    public bool ScaledApart => Scale > 0f && Scale != HeadScale;

    /// <summary>1/√<see cref="HeadSize"/> in float, as the generated code computes it.</summary>
    private float HeadScale => (float)(1.0 / System.Math.Sqrt(HeadSize));

    /// <summary>The queries' width (and the heads' outputs', side by side): Heads · <see cref="HeadSize"/>, InWidth unless <see cref="HeadWidth"/> sets it apart.</summary>
    public int QueryWidth => Heads > 0 ? Heads * HeadSize : InWidth;

    /// <summary>The keys' and values' heads: <see cref="KeyValueHeads"/>, or <see cref="Heads"/> when that is 0.</summary>
    public int KeyValueHeadCount => KeyValueHeads > 0 ? KeyValueHeads : Heads;

    /// <summary>Whether the output projection adds its bias (<c>out_proj.bias</c>): <see cref="OutputBias"/>.</summary>
    public bool HasOutputBias => OutputBias;

    /// <summary>The keys' (and the values') width: <see cref="KeyValueHeadCount"/> heads of <see cref="HeadSize"/>.</summary>
    public int KeyValueWidth => Heads > 0 ? HeadSize * KeyValueHeadCount : InWidth;
}
