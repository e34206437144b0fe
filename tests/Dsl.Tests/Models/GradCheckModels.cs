using Dsl;

// Tiny models with odd sizes for finite-difference gradient checks: every layer kind and option.
namespace Dsl.Tests.Models;

[Embedding(vocab: 5, dim: 3)]
[Rnn(hidden: 7)]
[Dense(5)]
public partial class GcRnnTanh;

[Input(features: 3)]
[Rnn(hidden: 5, Activation = Activation.Relu, Layers = 2, Bidirectional = true)]
[Dense(3)]
public partial class GcRnnReluStackedBidirectional;

[Input(features: 3)]
[Lstm(hidden: 5, Layers = 2, Bidirectional = true, ReturnSequences = false)]
[Dense(3, Activation = Activation.Tanh)]
public partial class GcLstmBidirectionalManyToOne;

[Embedding(vocab: 7, dim: 3)]
[Gru(hidden: 5)]
[Dense(7, Activation = Activation.Sigmoid)]
public partial class GcGru;

[Input(features: 5)]
[Gru(hidden: 3, ResetAfter = false, Bidirectional = true, Layers = 2)]
[Dense(3, Activation = Activation.Tanh)]
public partial class GcGruChoStackedBidirectional;

[Embedding(vocab: 5, dim: 3)]
[Dropout(0.3f)]
[Lstm(hidden: 3, Layers = 3, Dropout = 0.4f)]
[Dropout(0.2f)]
[Dense(5)]
public partial class GcDropout;

[Input(features: 3)]
[Gru(hidden: 5, Layers = 2, ReturnSequences = false, Dropout = 0.25f)]
[Dropout(0.25f)]
[Dense(7, Activation = Activation.Tanh)]
[Dense(3)]
public partial class GcGruManyToOneDense;

[Input(features: 3)]
[Lstm(hidden: 5, ForgetBias = 0f, WeightInit = Init.PyTorch, RecurrentInit = Init.PyTorch)]
[Rnn(hidden: 3, Name = "decoder")]
[Dense(3, Name = "head")]
public partial class GcNamedStack;

[Input(features: 4)]
[Dense(5, Activation = Activation.Tanh)]
[Lstm(hidden: 3, ReturnSequences = false)]
[Dense(2)]
public partial class GcDenseBeforeRecurrent;

[Embedding(vocab: 6, dim: 3)]
[Dense(6)]
public partial class GcEmbeddingDense;

// Weight tying: the Dense's weight is the embedding's table (its gradient the sum of both uses); the GRU folds the table
// into its input projection in passes of more than 6 ids, as the check's 12 are.
[Embedding(vocab: 6, dim: 3)]
[Dense(6, TieEmbedding = true)]
public partial class GcTiedDense;

[Embedding(vocab: 6, dim: 4)]
[Gru(hidden: 4)]
[Dense(6, TieEmbedding = true, Activation = Activation.Tanh)]
public partial class GcTiedGru;

// Dense layers without a bias (nn.Linear(bias=False)), one with an activation, before and after a recurrent layer.
[Input(features: 3)]
[Dense(5, Bias = false, Activation = Activation.Tanh)]
[Gru(hidden: 4)]
[Dense(2, Bias = false)]
public partial class GcDenseWithoutBias;

// GELU (its derivative from the kept pre-activation) on every step and on one vector per sequence.
[Input(features: 3)]
[Dense(6, Activation = Activation.Gelu)]
[Lstm(hidden: 4, ReturnSequences = false)]
[Dense(2, Activation = Activation.Gelu)]
public partial class GcGelu;

// SiLU and GELU's tanh form, likewise.
[Input(features: 3)]
[Dense(6, Activation = Activation.Silu)]
[Gru(hidden: 4)]
[Dense(2, Activation = Activation.GeluTanh)]
public partial class GcSiluGeluTanh;

// Layer normalisation without its shift (nn.LayerNorm(bias=False)), on steps and on one vector per sequence.
[Input(features: 4)]
[Dense(6, Activation = Activation.Tanh)]
[LayerNorm(Bias = false)]
[Gru(hidden: 5, ReturnSequences = false)]
[LayerNorm(Bias = false, Epsilon = 1e-3f)]
[Dense(2)]
public partial class GcNormWithoutShift;

// Norms without their affine maps (elementwise_affine=False), on steps and on one vector per sequence.
[Input(features: 4)]
[Dense(6, Activation = Activation.Tanh)]
[LayerNorm(ElementwiseAffine = false)]
[Gru(hidden: 5, ReturnSequences = false)]
[RmsNorm(ElementwiseAffine = false, Epsilon = 1e-3f)]
[Dense(2)]
public partial class GcNormWithoutAffine;

// The projected queries, keys and values clipped (ClipQkv: OLMo 1.7's clip_qkv), some of them past the limit.
[Input(features: 8)]
[Attention(Heads = 2, Causal = true, Rotary = true, ClipQkv = 0.4f)]
[Dense(2)]
public partial class GcClipQkv;

// QK-norm across the heads (OLMo 2's), over fewer key/value heads, on features.
[Input(features: 8)]
[Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)]
[Dense(2)]
public partial class GcQueryKeyNormAcrossHeads;

// Constant scales ([Scale]) on steps (negative) and on one vector per sequence.
[Input(features: 4)]
[Dense(6, Activation = Activation.Tanh)]
[Scale(-1.5f)]
[Gru(hidden: 5, ReturnSequences = false)]
[Scale(0.5f)]
[Dense(2)]
public partial class GcScale;

// a mixture of SwiGLU experts, 2 of 3 per row, renormalised (Mixtral's), on steps and on a vector
[Input(features: 5)]
[Moe(experts: 3, units: 5)]
[Gru(hidden: 5, ReturnSequences = false)]
[Moe(experts: 3, units: 3, Name = "moe_vector")]
[Dense(2)]
public partial class GcMoe;

// the Switch Transformer's top 1 (ReLU experts, not gated, with biases), then all 3 experts of GELU-tanh units with biases,
// and 2 of 4 bilinear units, the probabilities as they are
[Input(features: 4)]
[Moe(experts: 4, units: 3, TopK = 1, NormalizeTopK = false, Activation = Activation.Relu, Gated = false, Bias = true)]
[Moe(experts: 3, units: 5, TopK = 3, NormalizeTopK = false, Activation = Activation.GeluTanh, Bias = true)]
[Moe(experts: 4, units: 3, NormalizeTopK = false, Activation = Activation.None)]
[Dense(2)]
public partial class GcMoeVariants;

// a shared expert beside the routed ones: SwiGLU scaled by its sigmoid gate (Qwen2-MoE's); GELU-tanh units (kept apart from
// their input) with biases and a gate, the top 1; tanh units (in place) added as they are (DeepSeekMoE's)
[Input(features: 5)]
[Moe(experts: 3, units: 4, SharedUnits = 3, SharedExpertGate = true)]
[Moe(experts: 3, units: 3, TopK = 1, NormalizeTopK = false, Activation = Activation.GeluTanh, Gated = false, Bias = true, SharedUnits = 4, SharedExpertGate = true)]
[Moe(experts: 4, units: 3, NormalizeTopK = false, Activation = Activation.Tanh, Gated = false, SharedUnits = 2)]
[Dense(2)]
public partial class GcMoeShared;

// the load-balancing loss of each mixture (large coefficients: its gradient weighs in the check), renormalised and the top 1
[Input(features: 5)]
[Moe(experts: 4, units: 3, LoadBalancingLoss = 0.5f)]
[Moe(experts: 3, units: 4, TopK = 1, NormalizeTopK = false, Activation = Activation.Relu, Gated = false, LoadBalancingLoss = 0.2f)]
[Dense(2)]
public partial class GcMoeBalanced;

// the same loss over padded sequences: the padded steps' rows count in neither f nor P, and get none of its gradient
[Embedding(vocab: 7, dim: 5)]
[Moe(experts: 3, units: 4, LoadBalancingLoss = 0.3f)]
[Attention(Heads = 1, Causal = true)]
[Dense(7)]
public partial class GcMoeBalancedTokens;

// RMS norm (nn.RMSNorm) on steps and on one vector per sequence, 19 wide (the vector lanes and a tail).
[Input(features: 4)]
[Dense(19, Activation = Activation.Tanh)]
[RmsNorm]
[Gru(hidden: 5, ReturnSequences = false)]
[RmsNorm(Epsilon = 1e-3f)]
[Dense(2)]
public partial class GcRmsNorm;

// Rotary position embeddings on causal attention (stepping from a carried state turns by later positions) and on
// attention over the whole sequence at another base.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Attention(Heads = 2, Causal = true, Rotary = true)]
[Residual]
[Dense(2)]
public partial class GcRotary;

// YaRN's rotary scaling on causal attention (heads 8 wide over an original context of 6: the first pair kept, the next blended,
// the rest divided; the cosines and sines scaled), stepping from a carried state by later positions.
[Input(features: 3)]
[Dense(16, Activation = Activation.Tanh)]
[Attention(Heads = 2, Causal = true, Rotary = true, RotaryScaling = 3f, RotaryScalingKind = RotaryScalingKind.Yarn, RotaryOriginalContext = 6)]
[Residual]
[Dense(2)]
public partial class GcYarn;

// A partial rotation: 4 of each head's 8 values turned, over heads of their own width on grouped key/value heads, YaRN-scaled.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, KeyValueHeads = 1, HeadWidth = 8, RotaryDimensions = 4, Causal = true, Rotary = true, RotaryScaling = 2f, RotaryScalingKind = RotaryScalingKind.Yarn, RotaryOriginalContext = 4)]
[Residual]
[Dense(2)]
public partial class GcPartialRotary;

// LongRoPE past its original context of 3 steps (the long factors), over a partial rotation of 4 of each head's 6 values.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, RotaryDimensions = 4, Causal = true, Rotary = true, RotaryScaling = 8f, RotaryScalingKind = RotaryScalingKind.LongRope, RotaryOriginalContext = 3,
    RotaryShortFactors = new[] { 1f, 1.5f }, RotaryLongFactors = new[] { 2f, 7f })]
[Residual]
[Dense(2)]
public partial class GcLongRope;

// Dynamic NTK past its original context of 3 steps (the base raised by the pass's reach), over a partial rotation of 6 of each head's 8 values.
[Input(features: 3)]
[Dense(16, Activation = Activation.Tanh)]
[Attention(Heads = 2, RotaryDimensions = 6, Causal = true, Rotary = true, RotaryBase = 50f, RotaryScaling = 3f, RotaryScalingKind = RotaryScalingKind.Dynamic, RotaryOriginalContext = 3)]
[Residual]
[Dense(2)]
public partial class GcDynamic;

// Grouped-query attention: two query heads sharing one key/value head (causal, rotary), then six sharing three in pairs.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true)]
[Residual]
[Attention(Heads = 6, KeyValueHeads = 3)]
[Dense(2)]
public partial class GcGroupedQuery;

// Sliding-window attention: two query heads over one key/value head, each step over the 2 most recent (rotary); then three
// heads over the 3 most recent.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, SlidingWindow = 2)]
[Residual]
[Attention(Heads = 3, Causal = true, SlidingWindow = 3)]
[Dense(2)]
public partial class GcSlidingWindow;

// ModernBERT's local attention: each step over the steps within 2 of it on either side (SlidingWindow 4, over the whole
// sequence), rotary positions, no biases, under a norm without a bias; then a window of 1 (each step its own)
[Embedding(vocab: 7, dim: 8)]
[LayerNorm(Bias = false)]
[Attention(Heads = 2, Rotary = true, SlidingWindow = 4, Bias = false)]
[Residual]
[Attention(Heads = 2, SlidingWindow = 1)]
[Dense(7)]
public partial class GcBidirectionalWindow;

// Heads of their own width: two query heads 4 wide over one key/value head, each head's queries and keys RMS-normalised
// (causal, rotary, no biases); then three heads 5 wide over 12 with QK-norm at another ε, with biases, the scores scaled by 0.25.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, KeyValueHeads = 1, HeadWidth = 4, QueryKeyNorm = true, Causal = true, Rotary = true, Bias = false)]
[Residual]
[Attention(Heads = 3, HeadWidth = 5, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-3f, Scale = 0.25f)]
[Dense(2)]
public partial class GcQueryKeyNorm;

// Soft caps: causal grouped heads over a window of 3 (rotary, no biases) with their scores soft-capped at 0.7, then three
// heads over the whole sequence capped at 1.2, then the outputs capped at 0.6 (every cap small enough that tanh bends it).
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, SlidingWindow = 3, SoftCap = 0.7f, Bias = false)]
[Residual]
[Attention(Heads = 3, SoftCap = 1.2f)]
[Dense(2, SoftCap = 0.6f)]
public partial class GcSoftCap;

// T5's and MPNet's relative position bias: 8 buckets up to a distance of 5 over 7 steps (exact, logarithmic and shared
// buckets on both sides) in two layers that share one table (its gradient summed over both), then grouped heads with 6
// buckets of their own.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Attention(Heads = 2, RelativeBuckets = 8, RelativeMaxDistance = 5)]
[Residual]
[Attention(Heads = 2, RelativeBuckets = 8, RelativeMaxDistance = 5)]
[Attention(Heads = 4, KeyValueHeads = 2, RelativeBuckets = 6, RelativeMaxDistance = 3, RelativeShared = false)]
[Dense(2)]
public partial class GcRelative;

// T5's decoder's: causal layers with one-sided buckets, 6 up to a distance of 4 over 7 steps (exact, logarithmic and shared
// buckets) in two layers sharing one table, a residual between them.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Attention(Heads = 2, Causal = true, RelativeBuckets = 6, RelativeMaxDistance = 4)]
[Residual]
[Attention(Heads = 2, Causal = true, RelativeBuckets = 6, RelativeMaxDistance = 4)]
[Dense(2)]
public partial class GcCausalRelative;

// ALiBi over the whole sequence (6 heads: slopes interpolated) then causal (3 heads) with a residual between.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 6, Alibi = true)]
[Residual]
[Attention(Heads = 3, Causal = true, Alibi = true)]
[Dense(2)]
public partial class GcAlibi;

// ALiBi in causal layers only, which step: 3 heads, then 6 over two key/value heads.
[Input(features: 3)]
[Dense(12, Activation = Activation.Tanh)]
[Attention(Heads = 3, Causal = true, Alibi = true)]
[Residual]
[Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Alibi = true)]
[Dense(2)]
public partial class GcAlibiCausal;

// Branches: two dense towers from the model's input (whose gradient goes nowhere), then a parallel block with two norms
// (GPT-NeoX's) and one with a norm for both (GPT-J's), causal so that the model steps.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Branch]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm] [Attention(Heads = 2, Causal = true)]
[Branch(Layers = 2)]
[LayerNorm] [Dense(12, Activation = Activation.Gelu)] [Dense(8)]
[Residual(Layers = 4)] [Residual(Layers = 7)]
[LayerNorm] [Attention(Heads = 2, Causal = true, Rotary = true)]
[Branch]
[Dense(10, Activation = Activation.Tanh)] [Dense(8)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[Dense(2)]
public partial class GcParallel;

// Qwen2's attention: biases on the queries, keys and values, none on the output projection.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Attention(Heads = 2, Causal = true, Rotary = true, OutputBias = false)]
[Dense(2)]
public partial class GcOutputWithoutBias;

// GPT-Neo's attention: unscaled scores over a causal window, no biases on the queries, keys and values, one on the output projection.
[Input(features: 3)]
[Dense(8, Activation = Activation.Tanh)]
[Attention(Heads = 2, Causal = true, Score = AttentionScore.Dot, SlidingWindow = 3, Bias = false, OutputBias = true)]
[Dense(2)]
public partial class GcOutputBiasAlone;

[Embedding(vocab: 7, dim: 12)]
[Attention(Heads = 3, Rotary = true, RotaryBase = 100f)]
[Dense(7)]
public partial class GcRotaryTokens;

// Gated linear units on steps and on one vector per sequence, every activation, with and without a bias, norms between them so
// that the products keep their scale.
[Input(features: 3)]
[Dense(6, Activation = Activation.Silu, Gated = true)]
[RmsNorm]
[Dense(5, Activation = Activation.Gelu, Gated = true, Bias = false)]
[LayerNorm]
[Dense(5, Activation = Activation.GeluTanh, Gated = true)]
[Lstm(hidden: 4, ReturnSequences = false)]
[Dense(4, Activation = Activation.Sigmoid, Gated = true)]
[RmsNorm]
[Dense(4, Activation = Activation.Tanh, Gated = true)]
[RmsNorm]
[Dense(3, Activation = Activation.Relu, Gated = true)]
[RmsNorm]
[Dense(2, Gated = true)]
public partial class GcGated;

// The finite differences' gated units: smooth gates (with biases drawn by the test, so that no product starts at zero), then
// ReLU's and the bilinear form apart (a kink wants the smaller step).
[Input(features: 3)]
[Dense(6, Activation = Activation.Silu, Gated = true)]
[Dense(5, Activation = Activation.Gelu, Gated = true, Bias = false)]
[Lstm(hidden: 4, ReturnSequences = false)]
[Dense(4, Activation = Activation.Sigmoid, Gated = true)]
[Dense(3, Activation = Activation.Tanh, Gated = true)]
[Dense(2, Activation = Activation.GeluTanh, Gated = true)]
public partial class GcGatedSmooth;

[Input(features: 3)]
[Dense(5, Activation = Activation.Relu, Gated = true)]
[Dense(2, Gated = true)]
public partial class GcGatedKinked;

// Learned positions (GPT-2's wpe) before causal attention, and on feature vectors under a GRU: tables long enough for the
// device tests' passes from a carried state and their steps.
[Embedding(vocab: 7, dim: 4)]
[PositionEmbedding(maxLength: 16)]
[Attention(Heads = 2, Causal = true)]
[Residual]
[Dense(7)]
public partial class GcPositionEmbedding;

// BERT's embeddings: the words, the positions and the token types (counted over the separator 3, a pair's [SEP]; a third
// segment reads the second's row), normalised, under attention over the whole sequence
[Embedding(vocab: 7, dim: 4)]
[PositionEmbedding(maxLength: 16)]
[TokenTypeEmbedding(types: 2, separator: 3)]
[LayerNorm]
[Attention(Heads = 2)]
[Residual]
[Dense(7)]
public partial class GcTokenTypes;

[Input(features: 3)]
[PositionEmbedding(maxLength: 16)]
[Gru(hidden: 4)]
[Dense(2)]
public partial class GcPositionEmbeddingGru;

[Input(features: 3)]
[Lstm(hidden: 5, Layers = 2, Bidirectional = true, LearnInitialState = true)]
[Dense(3)]
public partial class GcLearnedLstmState;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 7, ResetAfter = false, LearnInitialState = true)]
[Rnn(hidden: 3, LearnInitialState = true)]
[Dense(5)]
public partial class GcLearnedGruRnnState;

[Input(features: 3)]
[Gru(hidden: 9, LearnInitialState = true, Bidirectional = true)]
[Dense(2)]
public partial class GcLearnedGruState;

[Input(features: 3)]
[Lstm(hidden: 5, RecurrentDropout = 0.3f, Bidirectional = true, Layers = 2)]
[Dense(3)]
public partial class GcVariationalLstm;

[Input(features: 3)]
[Lstm(hidden: 5, Bidirectional = true, Layers = 2)]
[Dense(3)]
public partial class GcVariationalLstmTwin;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 6, RecurrentDropout = 0.4f)]
[Gru(hidden: 4, ResetAfter = false, RecurrentDropout = 0.3f, LearnInitialState = true)]
[Dense(5)]
public partial class GcVariationalGru;

[Input(features: 3)]
[Rnn(hidden: 7, RecurrentDropout = 0.5f, Bidirectional = true)]
[Dense(2)]
public partial class GcVariationalRnn;

[Input(features: 6)]
[Attention(Heads = 3, Score = AttentionScore.Dot, Causal = true, Dropout = 0.3f)]
[Dense(3, Activation = Activation.Tanh)]
public partial class GcAttentionDotDropout;

[Embedding(vocab: 5, dim: 4)]
[Attention(Heads = 2)]
[Gru(hidden: 5, ReturnSequences = false)]
[Dense(5)]
public partial class GcAttentionThenGru;

[Input(features: 4)]
[Lstm(hidden: 6)]
[Attention(Heads = 3, Pool = true, Score = AttentionScore.Dot)]
[Dense(3)]
public partial class GcAttentionPool;

// Encoder–decoders: stacked bidirectional LSTM encoder into a stacked LSTM decoder through dense bridges (h and c of
// both layers), Luong's general score; and a float-input GRU encoder whose memory is a Dense after the GRU, into an
// RNN decoder with the additive score.
[Embedding(vocab: 6, dim: 3)]
[Lstm(hidden: 3, Bidirectional = true, Layers = 2)]
public partial class GcS2sLstmEncoder;

[Embedding(vocab: 5, dim: 3)]
[Lstm(hidden: 4, Layers = 2)]
[Attention(Over = typeof(GcS2sLstmEncoder), Score = AttentionScore.General)]
[Dense(5)]
public partial class GcS2sGeneralDecoder;

[EncoderDecoder(typeof(GcS2sLstmEncoder), typeof(GcS2sGeneralDecoder))]
public partial class GcS2sGeneral;

[Input(features: 3)]
[Gru(hidden: 4, Bidirectional = true)]
[Dense(5, Activation = Activation.Tanh)]
public partial class GcS2sGruEncoder;

[Embedding(vocab: 5, dim: 3)]
[Rnn(hidden: 5)]
[Attention(Over = typeof(GcS2sGruEncoder), Score = AttentionScore.Additive, Units = 3)]
[Dense(5)]
public partial class GcS2sAdditiveDecoder;

[EncoderDecoder(typeof(GcS2sGruEncoder), typeof(GcS2sAdditiveDecoder))]
public partial class GcS2sAdditive;

// The classic scores over a layer's own sequence (causal, General) and as pooling (Additive).
[Input(features: 3)]
[Attention(Score = AttentionScore.General, Causal = true)]
[Dense(3)]
public partial class GcGeneralSelfCausal;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 4)]
[Attention(Score = AttentionScore.Additive, Pool = true, Units = 3)]
[Dense(3)]
public partial class GcAdditivePool;

// Layer norm straight over the input (the device's kernel against the host's on rows whose sum overflows a float).
[Input(features: 5)]
[LayerNorm]
public partial class InputLayerNorm;

// A Transformer-style block (finite differences): positions, causal attention, residuals around it and a two-layer
// feed-forward, layer norms.
[Input(features: 4)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(6, Activation = Activation.Tanh)]
[Dense(4)]
[Residual(Layers = 2)]
[LayerNorm(Epsilon = 0.01f)]
[Dense(3)]
public partial class GcTransformerBlock;

// Cases the audit found unchecked: Dense ReLU, input dropout after [Input], the additive score over the layer's own steps,
// General and ScaledDot pooling, masked multi-head self-attention (with lengths), Backward from a carried state, and the
// encoder–decoder forms: Dot (copied bridges) and ScaledDot (projected multi-head) cross-attention.
[Input(features: 4)]
[Dropout(0.3f)]
[Dense(5, Activation = Activation.Relu)]
[Dense(3)]
public partial class GcReluWithInputDropout;

[Input(features: 3)]
[Attention(Score = AttentionScore.Additive, Units = 4)]
[Dense(2)]
public partial class GcAdditiveSelf;

[Input(features: 4)]
[Lstm(hidden: 4)]
[Attention(Score = AttentionScore.General, Pool = true)]
[Dense(2)]
public partial class GcGeneralPool;

[Input(features: 4)]
[Gru(hidden: 6)]
[Attention(Heads = 2, Pool = true)]
[Dense(2)]
public partial class GcScaledDotPool;

[Embedding(vocab: 6, dim: 6)]
[Attention(Heads = 3)]
[Dense(6)]
public partial class GcMaskedMultiHead;

[Input(features: 3)]
[Lstm(hidden: 4, Layers = 2)]
[Gru(hidden: 3)]
[Dense(2)]
public partial class GcStateful;

[Embedding(vocab: 6, dim: 3)]
[Gru(hidden: 3, Bidirectional = true)]
public partial class GcS2sDotEncoder;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 6)]
[Attention(Over = typeof(GcS2sDotEncoder), Score = AttentionScore.Dot)]
[Dense(5)]
public partial class GcS2sDotDecoder;

[EncoderDecoder(typeof(GcS2sDotEncoder), typeof(GcS2sDotDecoder))]
public partial class GcS2sDot;

// an encoder whose mixture adds a load-balancing loss: refused in a composition (its loss is the decoder's cross-entropy)
[Embedding(vocab: 6, dim: 3)]
[Moe(experts: 3, units: 4, LoadBalancingLoss = 0.1f)]
[Gru(hidden: 3, Bidirectional = true)]
public partial class MoeBalancedEncoder;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 6)]
[Attention(Over = typeof(MoeBalancedEncoder), Score = AttentionScore.Dot)]
[Dense(5)]
public partial class MoeBalancedEncoderDecoder_Decoder;

[EncoderDecoder(typeof(MoeBalancedEncoder), typeof(MoeBalancedEncoderDecoder_Decoder))]
public partial class MoeBalancedEncoderDecoder;

[Embedding(vocab: 5, dim: 3)]
[Lstm(hidden: 4)]
[Attention(Over = typeof(GcS2sLstmEncoder), Heads = 2)]
[Dense(5)]
public partial class GcS2sMultiHeadDecoder;

[EncoderDecoder(typeof(GcS2sLstmEncoder), typeof(GcS2sMultiHeadDecoder))]
public partial class GcS2sMultiHead;

// The same cross-attention without its projections' biases (nn.MultiheadAttention(bias=False)).
[Embedding(vocab: 5, dim: 4)]
[Lstm(hidden: 4)]
[Attention(Over = typeof(GcS2sLstmEncoder), Heads = 2, Bias = false)]
[Dense(5)]
public partial class GcS2sUnbiasedDecoder;

[EncoderDecoder(typeof(GcS2sLstmEncoder), typeof(GcS2sUnbiasedDecoder))]
public partial class GcS2sMultiHeadWithoutBias;

// An encoder–decoder of LLaMA's pieces: pre-norm blocks with RMS norms, rotary self-attention (over the whole source in the
// encoder, causal in the decoder, whose key/value cache keeps its keys turned), cross-attention and projections without
// biases, SwiGLU feed-forwards.
[Embedding(vocab: 10, dim: 8)]
[RmsNorm] [Attention(Heads = 2, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(12, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(8, Bias = false)] [Residual(Layers = 3)]
[RmsNorm]
public partial class GcLlamaEncoder;

[Embedding(vocab: 9, dim: 8)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Attention(Over = typeof(GcLlamaEncoder), Heads = 2, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(12, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(8, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(9, Bias = false)]
public partial class GcLlamaDecoder;

[EncoderDecoder(typeof(GcLlamaEncoder), typeof(GcLlamaDecoder))]
public partial class GcLlamaSeq2Seq;

// An encoder–decoder laid out as T5's: unscaled scores; the encoder's relative position buckets on both sides of a query, the
// decoder's one-sided (causal; its cached steps read the table by distance); cross-attention of 2 heads of 3 (6 of the width 8)
// with Scale = 1 and without biases; gated GELU feed-forwards (flan-t5's; a ReLU's kinks are past what finite differences
// take here); one token table for both sides.
[Embedding(vocab: 10, dim: 8)]
[RmsNorm] [Attention(Heads = 2, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 6, RelativeMaxDistance = 4)] [Residual(Layers = 2)]
[RmsNorm] [Dense(12, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(8, Bias = false)] [Residual(Layers = 3)]
[RmsNorm]
public partial class GcT5Encoder;

[Embedding(vocab: 10, dim: 8)]
[RmsNorm] [Attention(Heads = 2, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 6, RelativeMaxDistance = 4)] [Residual(Layers = 2)]
[RmsNorm] [Attention(Over = typeof(GcT5Encoder), Heads = 2, HeadWidth = 3, Scale = 1f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(12, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(8, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(10, Bias = false)]
public partial class GcT5Decoder;

[EncoderDecoder(typeof(GcT5Encoder), typeof(GcT5Decoder), ShareEmbedding = true)]
public partial class GcT5Seq2Seq;

// LSTM projections (proj_size): learned initial states held through the padding, variational dropout on the projected
// h, stacked and bidirectional; and an encoder–decoder whose bridges map h (R wide) and c (H wide) apart.
[Input(features: 3)]
[Lstm(hidden: 5, Layers = 2, Bidirectional = true, Projection = 3, LearnInitialState = true, RecurrentDropout = 0.25f)]
[Dense(3)]
public partial class GcLstmProjection;

[Embedding(vocab: 6, dim: 3)]
[Lstm(hidden: 5, Bidirectional = true, Projection = 2)]
public partial class GcProjectionEncoder;

[Embedding(vocab: 5, dim: 3)]
[Lstm(hidden: 4, Projection = 3)]
[Attention(Over = typeof(GcProjectionEncoder), Score = AttentionScore.General)]
[Dense(5)]
public partial class GcProjectionDecoder;

[EncoderDecoder(typeof(GcProjectionEncoder), typeof(GcProjectionDecoder))]
public partial class GcProjectionSeq2Seq;

// Input feeding with the Cho GRU and the additive score, and with an LSTM projection and the general score.
[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 4, ResetAfter = false)]
[Attention(Over = typeof(GcS2sGruEncoder), Score = AttentionScore.Additive, Units = 3, InputFeeding = true)]
[Dense(5)]
public partial class GcFeedAdditiveDecoder;

[EncoderDecoder(typeof(GcS2sGruEncoder), typeof(GcFeedAdditiveDecoder))]
public partial class GcFeedAdditive;

[Embedding(vocab: 5, dim: 3)]
[Lstm(hidden: 5, Projection = 3)]
[Attention(Over = typeof(GcS2sLstmEncoder), Score = AttentionScore.General, InputFeeding = true)]
[Dense(5)]
public partial class GcFeedGeneralDecoder;

[EncoderDecoder(typeof(GcS2sLstmEncoder), typeof(GcFeedGeneralDecoder))]
public partial class GcFeedGeneral;

// A Transformer encoder–decoder (post-norm, one block each, no recurrent layer: no bridges).
[Embedding(vocab: 6, dim: 4)]
[PositionalEncoding]
[Attention(Heads = 2)]
[Residual]
[LayerNorm]
public partial class GcTfEncoder;

[Embedding(vocab: 5, dim: 4)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Attention(Over = typeof(GcTfEncoder), Heads = 2)]
[Residual]
[LayerNorm]
[Dense(5)]
public partial class GcTfDecoder;

[EncoderDecoder(typeof(GcTfEncoder), typeof(GcTfDecoder))]
public partial class GcTransformer;

// Dropout on the weights of the classic scores: over the layer's own steps, as pooling, and over an encoder.
[Input(features: 3)]
[Attention(Score = AttentionScore.General, Causal = true, Dropout = 0.3f)]
[Dense(3)]
public partial class GcGeneralSelfDropout;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 4)]
[Attention(Score = AttentionScore.Additive, Pool = true, Units = 3, Dropout = 0.25f)]
[Dense(3)]
public partial class GcAdditivePoolDropout;

[Embedding(vocab: 5, dim: 4)]
[Attention(Heads = 2, Pool = true, Dropout = 0.3f)]
[Dense(3)]
public partial class GcMultiHeadPoolDropout;

[Embedding(vocab: 5, dim: 3)]
[Gru(hidden: 6)]
[Attention(Over = typeof(GcS2sDotEncoder), Score = AttentionScore.Dot, Dropout = 0.3f)]
[Dense(5)]
public partial class GcS2sDotDropoutDecoder;

[EncoderDecoder(typeof(GcS2sDotEncoder), typeof(GcS2sDotDropoutDecoder))]
public partial class GcS2sDotDropout;

// One table for the encoder's embedding, the decoder's and the decoder's output layer (ShareEmbedding and TieEmbedding):
// the finite differences move all three uses at once.
[Embedding(vocab: 6, dim: 3)]
[Lstm(hidden: 4, Layers = 2)]
[Attention(Over = typeof(GcS2sLstmEncoder), Score = AttentionScore.General)]
[Dense(3, Activation = Activation.Tanh)]
[Dense(6, TieEmbedding = true)]
public partial class GcS2sSharedDecoder;

[EncoderDecoder(typeof(GcS2sLstmEncoder), typeof(GcS2sSharedDecoder), ShareEmbedding = true)]
public partial class GcS2sShared;

// An embedding scaled by √dim (ScaleBySqrtDim) under a GRU, the output layer tied to the unscaled table: the table's
// gradient is the scaled lookups' and the output layer's.
[Embedding(vocab: 7, dim: 4, ScaleBySqrtDim = true)]
[Gru(hidden: 4)]
[Dense(7, TieEmbedding = true)]
public partial class GcScaledEmbeddingTied;

// [Pool]: the mean of the valid steps after self-attention, the first step of a GRU's outputs, the last of each length
[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Attention(Heads = 2)]
[Pool(PoolKind.Mean)]
[Dense(2, Activation = Activation.Tanh)]
public partial class GcPoolMean;

[Input(features: 3)]
[Gru(hidden: 4)]
[Pool(PoolKind.First)]
[Dense(2)]
public partial class GcPoolFirst;

[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Pool(PoolKind.Last)]
[Dense(2)]
public partial class GcPoolLast;

[Input(features: 3)]
[Lstm(hidden: 4)]
[Pool(PoolKind.Max)]
[Dense(2)]
public partial class GcPoolMax;

[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Pool(PoolKind.Max)]
public partial class PoolMaxSteps;

// what the pooled models read, without the pooling: their outputs pooled by hand
[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
public partial class GcPoolSteps;

[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Pool(PoolKind.Mean)]
public partial class PoolMeanSteps;

[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Pool(PoolKind.First)]
public partial class PoolFirstStep;

[Input(features: 3)]
[Dense(4, Activation = Activation.Tanh)]
[Pool(PoolKind.Last)]
public partial class PoolLastStep;

// BERT's three tables alone, their sum the output (the token types counted over the separator 3)
[Embedding(vocab: 7, dim: 4)]
[PositionEmbedding(maxLength: 8)]
[TokenTypeEmbedding(types: 2, separator: 3)]
public partial class TokenTypeSum;

// three types over the separator 0, before the positions
[Embedding(vocab: 7, dim: 4)]
[TokenTypeEmbedding(types: 3, separator: 0)]
[PositionEmbedding(maxLength: 8)]
public partial class ThreeTokenTypes;
