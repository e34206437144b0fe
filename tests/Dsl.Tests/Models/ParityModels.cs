using Dsl;

// The models of the PyTorch parity fixtures (Fixtures/make_fixtures.py declares the same stacks).
namespace Dsl.Tests.Models;

[Embedding(vocab: 7, dim: 4)]
[Rnn(hidden: 5)]
[Dense(7)]
public partial class RnnTanh;

[Input(features: 3)]
[Rnn(hidden: 5, Activation = Activation.Relu)]
[Dense(2)]
public partial class RnnRelu;

[Embedding(vocab: 11, dim: 5)]
[Lstm(hidden: 7)]
[Dense(11)]
public partial class Lstm;

[Embedding(vocab: 9, dim: 4)]
[Gru(hidden: 6)]
[Dense(9)]
public partial class Gru;

[Input(features: 3)]
[Gru(hidden: 5, ResetAfter = false)]
[Dense(2)]
public partial class GruCho;

[Input(features: 3)]
[Lstm(hidden: 4, Layers = 2, Bidirectional = true)]
[Dense(3)]
public partial class LstmStackedBidirectional;

[Embedding(vocab: 8, dim: 3)]
[Gru(hidden: 5, Bidirectional = true, ReturnSequences = false)]
[Dense(4)]
public partial class GruBidirectionalManyToOne;

[Input(features: 4)]
[Lstm(hidden: 6, Layers = 2, ReturnSequences = false)]
[Dense(1, Activation = Activation.Tanh)]
public partial class LstmStackedManyToOne;

[Embedding(vocab: 6, dim: 4)]
[Rnn(hidden: 3, Layers = 3, Bidirectional = true)]
[Dense(6, Activation = Activation.Relu)]
public partial class RnnStackedBidirectional;

[Input(features: 2)]
[Gru(hidden: 4, ResetAfter = false, Layers = 2, Bidirectional = true)]
[Dense(3, Activation = Activation.Sigmoid)]
public partial class GruChoStackedBidirectional;

[Embedding(vocab: 10, dim: 4)]
[Lstm(hidden: 5)]
[Gru(hidden: 6)]
[Dense(8, Activation = Activation.Tanh)]
[Dense(10)]
public partial class LstmGruDense;

[Embedding(vocab: 5, dim: 3)]
[Lstm(hidden: 4)]
[Dense(5)]
public partial class LstmSingleStep;

[Embedding(vocab: 13, dim: 9)]
[Lstm(hidden: 37, Layers = 2)]
[Dense(13)]
public partial class LstmWide;

[Input(features: 11)]
[Gru(hidden: 33)]
[Dense(3)]
public partial class GruWide;

[Input(features: 6)]
[Gru(hidden: 35, ResetAfter = false, Bidirectional = true)]
[Dense(4)]
public partial class GruChoWide;

[Input(features: 5)]
[Rnn(hidden: 40, Activation = Activation.Relu, Bidirectional = true, ReturnSequences = false)]
[Dense(2)]
public partial class RnnWide;

// Models that start from a given state (Fixtures/make_fixtures.py, STATEFUL).

[Embedding(vocab: 11, dim: 5)]
[Lstm(hidden: 19, Layers = 2)]
[Dense(11)]
public partial class StatefulLstm;

[Input(features: 4)]
[Gru(hidden: 17)]
[Dense(3)]
public partial class StatefulGru;

[Input(features: 3)]
[Gru(hidden: 9, ResetAfter = false)]
[Dense(2)]
public partial class StatefulGruCho;

[Embedding(vocab: 6, dim: 3)]
[Rnn(hidden: 9, Layers = 2)]
[Dense(6)]
public partial class StatefulRnn;

// Truncated BPTT references (Fixtures/make_fixtures.py, make_tbptt).

[Embedding(vocab: 7, dim: 4)]
[Lstm(hidden: 6)]
[Dense(7)]
public partial class TbpttLstm;

[Embedding(vocab: 7, dim: 4)]
[Gru(hidden: 10)]
[Dense(7)]
public partial class TbpttGru;

// Stateful training over a token stream (Fixtures/make_fixtures.py, make_stream).

[Embedding(vocab: 11, dim: 5)]
[Lstm(hidden: 7, Layers = 2)]
[Dense(11)]
public partial class StreamLstm;

[Embedding(vocab: 9, dim: 4)]
[Gru(hidden: 6)]
[Dense(9)]
public partial class StreamGru;

[Input(features: 3)]
[Lstm(hidden: 5)]
[Dense(2)]
public partial class FeatureStreamLstm;

[Input(features: 4)]
[Gru(hidden: 6)]
[Dense(3)]
public partial class FeatureStreamGru;

// (not from a fixture) learned positions under a GRU: a stream's sequences must fit the table
[Embedding(vocab: 9, dim: 4)]
[PositionEmbedding(maxLength: 20)]
[Gru(hidden: 6)]
[Dense(9)]
public partial class StreamPositions;

// Padded sequences with lengths (Fixtures/make_fixtures.py, make_masked).

[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 6, Layers = 2, Bidirectional = true)]
[Dense(9)]
public partial class MaskedLstm;

[Input(features: 3)]
[Gru(hidden: 5, Bidirectional = true, ReturnSequences = false)]
[Dense(2)]
public partial class MaskedGruManyToOne;

[Embedding(vocab: 7, dim: 3)]
[Rnn(hidden: 10, Bidirectional = true)]
[Dense(7)]
public partial class MaskedRnn;

[Input(features: 3)]
[Gru(hidden: 11, ResetAfter = false, Bidirectional = true, Layers = 2)]
[Dense(2)]
public partial class MaskedGruCho;

// Self-attention (nn.MultiheadAttention).

[Input(features: 8)]
[Attention(Heads = 2)]
[Dense(3)]
public partial class AttentionSelf;

[Embedding(vocab: 11, dim: 6)]
[Lstm(hidden: 6)]
[Attention(Heads = 3, Causal = true)]
[Dense(11)]
public partial class AttentionCausalStack;

[Input(features: 24)]
[Attention(Heads = 4)]
[Dense(2)]
public partial class AttentionWide;

[Embedding(vocab: 9, dim: 6)]
[Attention(Heads = 3, Causal = true)]
[Dense(9)]
public partial class MaskedAttention;

[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 3, Bidirectional = true)]
[Attention(Heads = 2)]
[Dense(9)]
public partial class MaskedLstmAttention;

[Input(features: 6)]
[Attention(Heads = 2, Pool = true)]
[Dense(3)]
public partial class AttentionPool;

[Embedding(vocab: 9, dim: 4)]
[Gru(hidden: 6)]
[Attention(Heads = 3, Pool = true)]
[Dense(5)]
public partial class MaskedAttentionPool;

// Wide enough at batch 24 that each step's cells are split over the cores (RunTimeCheckTests compares 1 and 2 threads).
[Embedding(vocab: 20, dim: 16)]
[Lstm(hidden: 64, Bidirectional = true)]
[Gru(hidden: 64)]
[Dense(20)]
public partial class ParallelStack;

// The classic scores without Over (make_fixtures.py's ClassicAttention): over the layer's own steps and as pooling.
[Input(features: 5)]
[Attention(Score = AttentionScore.General)]
[Dense(3)]
public partial class AttentionGeneralSelf;

[Embedding(vocab: 9, dim: 4)]
[Gru(hidden: 6)]
[Attention(Score = AttentionScore.Additive, Units = 5, Causal = true)]
[Dense(9)]
public partial class AttentionAdditiveCausal;

[Input(features: 4)]
[Lstm(hidden: 6)]
[Attention(Score = AttentionScore.General, Pool = true)]
[Dense(2)]
public partial class AttentionGeneralPool;

[Embedding(vocab: 8, dim: 5)]
[Attention(Score = AttentionScore.Additive, Pool = true, Units = 4)]
[Dense(3)]
public partial class AttentionAdditivePool;

[Embedding(vocab: 9, dim: 4)]
[Attention(Score = AttentionScore.Additive)]
[Dense(9)]
public partial class MaskedAdditiveSelf;

[Input(features: 3)]
[Attention(Score = AttentionScore.General, Pool = true)]
[Dense(2)]
public partial class MaskedGeneralPool;

// A Transformer encoder block (post-norm) and a residual LSTM.
[Input(features: 8)]
[PositionalEncoding]
[Attention(Heads = 2)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm(Epsilon = 1e-3f)]
[Dense(3)]
public partial class TransformerBlock;

[Embedding(vocab: 7, dim: 6)]
[Lstm(hidden: 6)]
[Residual]
[LayerNorm]
[Dense(7)]
public partial class LstmResidualNorm;

// Weight tying (Press and Wolf 2017): the output layer's weight is the embedding's table. The LSTM folds the table into its
// input projection (15 ids > 11 rows), so the table's gradient gathers three uses.
[Embedding(vocab: 11, dim: 7)]
[Lstm(hidden: 7)]
[Dense(11, TieEmbedding = true)]
public partial class LstmTied;

// GPT-2's output layer: tied to the embedding, and no bias.
[Embedding(vocab: 13, dim: 8)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(13, TieEmbedding = true, Bias = false)]
public partial class AttentionTied;

// A GPT-style block: causal attention, a GELU feed-forward, the output layer tied to the embedding without a bias.
[Embedding(vocab: 13, dim: 8)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(32, Activation = Activation.Gelu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(13, TieEmbedding = true, Bias = false)]
public partial class GptBlock;

// nanoGPT's block with bias=False: pre-norm, no shift in the norms, no bias in the projection, the output layer tied.
[Embedding(vocab: 13, dim: 8)]
[PositionalEncoding]
[LayerNorm(Bias = false)]
[Attention(Heads = 2, Causal = true)]
[Residual(Layers = 2)]
[LayerNorm(Bias = false)]
[Dense(32, Activation = Activation.Gelu)]
[Dense(8, Bias = false)]
[Residual(Layers = 3)]
[LayerNorm(Bias = false)]
[Dense(13, TieEmbedding = true, Bias = false)]
public partial class NanoGptBlock;

// GPT-2's learned positions (wpe) in a pre-norm block, its feed-forward with GELU's tanh form, the output layer tied.
[Embedding(vocab: 13, dim: 8)]
[PositionEmbedding(maxLength: 9)]
[LayerNorm]
[Attention(Heads = 2, Causal = true)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(32, Activation = Activation.GeluTanh)]
[Dense(8)]
[Residual(Layers = 3)]
[LayerNorm]
[Dense(13, TieEmbedding = true, Bias = false)]
public partial class Gpt2Block;

// Learned positions on feature vectors, under an LSTM.
[Input(features: 3)]
[PositionEmbedding(maxLength: 6)]
[Lstm(hidden: 5)]
[Dense(2)]
public partial class PositionEmbeddingLstm;

// An embedding scaled by √dim (Vaswani et al. §3.4) under sinusoids and causal attention, the output layer tied to the
// unscaled table; and under an LSTM with more ids than rows, where an unscaled table is folded into the input projection.
[Embedding(vocab: 13, dim: 8, ScaleBySqrtDim = true)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(13, TieEmbedding = true)]
public partial class ScaledEmbeddingAttention;

[Embedding(vocab: 7, dim: 4, ScaleBySqrtDim = true)]
[Lstm(hidden: 5)]
[Dense(7)]
public partial class ScaledEmbeddingLstm;

// RMS norm (nn.RMSNorm): LLaMA's pre-norm block (a SiLU feed-forward, no biases after it) at nn.RMSNorm's default ε and at
// LLaMA's, and on a many-to-one LSTM's last state, 37 wide (the vector lanes and a tail).
[Embedding(vocab: 13, dim: 24)]
[PositionalEncoding]
[RmsNorm]
[Attention(Heads = 2, Causal = true)]
[Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)]
[Dense(40, Activation = Activation.Silu)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class RmsNormBlock;

[Input(features: 4)]
[Lstm(hidden: 37, ReturnSequences = false)]
[RmsNorm]
[Dense(2)]
public partial class RmsNormManyToOne;

// Rotary position embeddings (RoPE, Hugging Face LLaMA's rotate_half form) in a pre-norm causal block; and without the mask
// at another base, heads 40 wide (20 pairs: the vector lanes and a tail).
[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 2, Causal = true, Rotary = true)]
[Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)]
[Dense(40, Activation = Activation.Silu)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class RotaryBlock;

[Input(features: 80)]
[Attention(Heads = 2, Rotary = true, RotaryBase = 500f)]
[Dense(3)]
public partial class RotaryWide;

// Gated linear units (Shazeer 2020): SwiGLU, GEGLU (both GELUs), F.glu's sigmoid, ReGLU, tanh and the bilinear form, the first
// 20 wide (the vector lanes and a tail), against the fixture's weights (at the seeded initialisation, with zero biases, seven
// products of two halves in a row leave nothing: GcGated puts norms between them for the device's test); and LLaMA's block:
// RMS norm, rotary causal attention, a SwiGLU feed-forward without biases.
[Input(features: 5)]
[Dense(20, Activation = Activation.Silu, Gated = true)]
[Dense(9, Activation = Activation.Gelu, Gated = true)]
[Dense(7, Activation = Activation.GeluTanh, Gated = true, Bias = false)]
[Dense(6, Activation = Activation.Sigmoid, Gated = true)]
[Dense(5, Activation = Activation.Relu, Gated = true)]
[Dense(4, Activation = Activation.Tanh, Gated = true)]
[Dense(3, Gated = true)]
public partial class GatedFeedForward;

[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)]
[Residual(Layers = 2)]
[RmsNorm]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(13, Bias = false)]
public partial class LlamaBlock;

// nn.MultiheadAttention(bias=False): LLaMA's attention without projection biases (rotary, causal), then over the whole
// sequence and as pooling without them.
[Embedding(vocab: 11, dim: 16)]
[Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)]
[Residual]
[Attention(Heads = 4, Bias = false)]
[Attention(Heads = 2, Pool = true, Bias = false)]
[Dense(3)]
public partial class AttentionWithoutBias;

// GELU's tanh form (GPT-2's "gelu_new") and SiLU.
[Input(features: 5)]
[Dense(8, Activation = Activation.Silu)]
[Dense(6, Activation = Activation.GeluTanh)]
[Dense(3)]
public partial class FeedForwardActivations;

// Enough (sequence, head) work at batch 8 that attention splits its heads over the cores (ThreadingTests).
[Input(features: 32)]
[Attention(Heads = 4, Causal = true, Dropout = 0.1f)]
[Dense(3)]
public partial class ParallelAttention;

// Enough (query, key) pairs at batch 8 that additive attention splits its sequences over the cores (ThreadingTests), with
// dropout on the weights: v's gradient is summed over every sequence.
[Input(features: 24)]
[Attention(Score = AttentionScore.Additive, Units = 40, Dropout = 0.1f)]
[Dense(3)]
public partial class ParallelAdditiveAttention;

// Enough rows of 64 at batch 16 that layer normalisation splits its rows (and, on the way back, dγ's and dβ's columns) over
// the cores (ThreadingTests).
[Input(features: 64)]
[Dense(64, Activation = Activation.Tanh)]
[LayerNorm]
[Dense(3)]
public partial class ParallelLayerNorm;

// The same for RMS norm: its rows, and dγ's columns on the way back, split over the cores (ThreadingTests).
[Input(features: 64)]
[Dense(64, Activation = Activation.Tanh)]
[RmsNorm]
[Dense(3)]
public partial class ParallelRmsNorm;

// nn.LSTM(proj_size = P) (Fixtures/make_fixtures.py, PROJECTION): h = (o ⊙ tanh(c))·W_hrᵀ is P wide.
[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 6, Projection = 3)]
[Dense(9)]
public partial class LstmProjection;

[Input(features: 3)]
[Lstm(hidden: 7, Layers = 2, Bidirectional = true, Projection = 4)]
[Dense(3)]
public partial class LstmProjectionStackedBidirectional;

[Input(features: 5)]
[Lstm(hidden: 37, Bidirectional = true, ReturnSequences = false, Projection = 19)]
[Dense(2)]
public partial class LstmProjectionWide;

[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 6, Layers = 2, Bidirectional = true, Projection = 3)]
[Dense(9)]
public partial class MaskedLstmProjection;

[Embedding(vocab: 11, dim: 5)]
[Lstm(hidden: 9, Layers = 2, Projection = 5)]
[Dense(11)]
public partial class StatefulLstmProjection;

// ONNX export (OnnxExportTests): positional encoding before a recurrent layer, learned initial states.
[Input(features: 4)]
[PositionalEncoding]
[Gru(hidden: 5)]
[Dense(2, Activation = Activation.Sigmoid)]
public partial class OnnxPositionalGru;

[Embedding(vocab: 7, dim: 3)]
[Lstm(hidden: 4, Bidirectional = true, LearnInitialState = true)]
[Dense(7)]
public partial class OnnxLearnedStates;

/// <summary>Layers named as the graphs' outputs are: the outputs keep their names and values.</summary>
[Input(features: 4)]
[Dense(8, Activation = Activation.Relu, Name = "output")]
[Gru(hidden: 3, Name = "next")]
[Dense(3, Name = "memory")]
public partial class OnnxLayersNamedAsOutputs;

/// <summary>Learned initial states that step: stacked LSTM layers and a projected one (a step graph's state defaults).</summary>
[Input(features: 3)]
[Lstm(hidden: 5, Layers = 2, LearnInitialState = true)]
[Lstm(hidden: 6, Projection = 4, LearnInitialState = true)]
[Dense(2)]
public partial class OnnxLearnedStepLstm;

// Grouped-query attention (LLaMA 2 70B's, LLaMA 3's, Mistral's): LLaMA's block with 4 query heads sharing 2 key/value heads.
[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false)]
[Residual(Layers = 2)]
[RmsNorm]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(13, Bias = false)]
public partial class GroupedQueryBlock;

// Multi-query attention (one key/value head for 6 query heads), then causal grouped-query attention (4 over 2), with biases.
[Input(12)]
[Attention(Heads = 6, KeyValueHeads = 1)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true)]
[Dense(3)]
public partial class MultiQueryAttention;

// Sliding-window attention (Mistral's): LLaMA's block with grouped heads, each step attending to the 3 most recent steps.
[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false, SlidingWindow = 3)]
[Residual(Layers = 2)]
[RmsNorm]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(13, Bias = false)]
public partial class SlidingWindowBlock;

// nn.MultiheadAttention's heads over sliding windows of 1 step (each step itself), 4 and 40 (past the 11 steps: causal attention).
[Input(8)]
[Attention(Heads = 2, Causal = true, SlidingWindow = 1)]
[Attention(Heads = 2, Causal = true, SlidingWindow = 4)]
[Attention(Heads = 4, Causal = true, SlidingWindow = 40)]
[Dense(3)]
public partial class SlidingWindowAttention;

// Qwen3's block: grouped heads 20 wide apart from the layer's 24 / 4 (HeadWidth; queries 80 wide), each head's queries and keys
// RMS-normalised before the rotation (QueryKeyNorm).
[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 20, QueryKeyNorm = true, Causal = true, Rotary = true, Bias = false)]
[Residual(Layers = 2)]
[RmsNorm]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(13, Bias = false)]
public partial class QwenBlock;

// Heads of their own width (3 of 6 over 12) with biases and the scores scaled by 0.3 (Scale), then QK-norm at another ε over
// nn.MultiheadAttention's heads, causal.
[Input(12)]
[Attention(Heads = 3, HeadWidth = 6, Scale = 0.3f)]
[Attention(Heads = 2, Causal = true, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-5f)]
[Dense(3)]
public partial class HeadWidthAttention;

// Gemma 2's block: the embedding scaled by √24, a norm before and after the attention and the feed-forward (the sandwich),
// grouped heads 20 wide scaled by 0.3 over a window of 4, their scores soft-capped at 1.5 (SoftCap), GELU's tanh form on the
// gate, and the logits soft-capped at 2 (caps small enough that tanh bends every score and logit).
[Embedding(vocab: 13, dim: 24, ScaleBySqrtDim = true)]
[RmsNorm]
[Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 20, Scale = 0.3f, SlidingWindow = 4, SoftCap = 1.5f, Causal = true, Rotary = true, Bias = false)]
[RmsNorm]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(40, Activation = Activation.GeluTanh, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[RmsNorm]
[Residual(Layers = 4)]
[RmsNorm]
[Dense(13, Bias = false, SoftCap = 2f)]
public partial class Gemma2Block;

// A partial rotation (GPT-NeoX's rotary_pct, Phi-4-mini's partial_rotary_factor): the first 4 of each head's 6 values turned.
[Embedding(vocab: 13, dim: 24)]
[RmsNorm]
[Attention(Heads = 4, KeyValueHeads = 2, RotaryDimensions = 4, Causal = true, Rotary = true, Bias = false)]
[Residual(Layers = 2)]
[RmsNorm]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[Residual(Layers = 3)]
[RmsNorm]
[Dense(13, Bias = false)]
public partial class PartialRotaryBlock;

// Soft-capped scores over nn.MultiheadAttention's heads (not causal, then causal with one key/value head), the outputs capped.
[Input(12)]
[Attention(Heads = 3, SoftCap = 0.8f)]
[Attention(Heads = 2, KeyValueHeads = 1, Causal = true, SoftCap = 2f)]
[Dense(3, SoftCap = 0.5f)]
public partial class SoftCapAttention;

// T5's and MPNet's relative position bias: 32 buckets up to 128 (MPNet's) in two layers that share one table, then 8 buckets
// up to 6 of its own over two key/value heads.
[Input(12)]
[Attention(Heads = 3, RelativeBuckets = 32)]
[Attention(Heads = 3, RelativeBuckets = 32)]
[Attention(Heads = 4, KeyValueHeads = 2, RelativeBuckets = 8, RelativeMaxDistance = 6, RelativeShared = false)]
[Dense(3)]
public partial class RelativeAttention;

// T5's decoder's relative position bias: causal layers, one-sided buckets (every bucket for the keys at or before a query), 32 up
// to 128 in two layers sharing one table, then 6 up to 4 of its own over two key/value heads.
[Input(12)]
[Attention(Heads = 3, Causal = true, RelativeBuckets = 32)]
[Attention(Heads = 3, Causal = true, RelativeBuckets = 32)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, RelativeBuckets = 6, RelativeMaxDistance = 4, RelativeShared = false)]
[Dense(3)]
public partial class CausalRelativeAttention;

// ALiBi (BLOOM's, MPT's, JinaBERT's): −m_h · |j − i| on the scores, over the whole sequence with 6 heads (the slopes between
// powers of two interpolated), then causal with 4 heads over two key/value heads.
[Input(12)]
[Attention(Heads = 6, Alibi = true)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Alibi = true)]
[Dense(3)]
public partial class AlibiAttention;

// Parallel blocks (GPT-NeoX's and Pythia's: x + attn(ln1(x)) + mlp(ln2(x)); then GPT-J's and Phi-2's, one norm for both:
// x + attn(ln(x)) + mlp(ln(x))), each a [Branch] back to the block's input or its norm, two residuals adding the branches.
[Embedding(vocab: 13, dim: 24)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Rotary = true, RotaryDimensions = 4)]
[Branch(Layers = 2)]
[LayerNorm] [Dense(48, Activation = Activation.Gelu)] [Dense(24)]
[Residual(Layers = 4)] [Residual(Layers = 7)]
[LayerNorm] [Attention(Heads = 2, Causal = true)]
[Branch]
[Dense(40, Activation = Activation.GeluTanh)] [Dense(24)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[LayerNorm] [Dense(13)]
public partial class ParallelBlock;

// Norms that learn nothing (nn.LayerNorm(elementwise_affine=False): OLMo's; an RMS norm so), in a rotary block.
[Embedding(vocab: 13, dim: 8)]
[LayerNorm(ElementwiseAffine = false)]
[Attention(Heads = 2, Causal = true, Rotary = true)]
[Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f, ElementwiseAffine = false)]
[Dense(16, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(8, Bias = false)]
[Residual(Layers = 3)]
[LayerNorm(ElementwiseAffine = false)]
[Dense(13)]
public partial class NormsWithoutAffine;

// OLMo 1.7's clip_qkv: the projected queries, keys and values clamped to ±0.5 (about half of them clipped here).
[Embedding(vocab: 13, dim: 8)]
[Attention(Heads = 2, Causal = true, Rotary = true, ClipQkv = 0.5f)]
[Residual]
[Dense(13)]
public partial class ClippedAttention;

// OLMo 2's block: QK-norm across the heads (over 2 key/value heads), RMS norms after the attention and after the feed-forward.
[Embedding(vocab: 13, dim: 24)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)]
[RmsNorm(Epsilon = 1e-6f)]
[Residual(Layers = 2)]
[Dense(32, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(24, Bias = false)]
[RmsNorm(Epsilon = 1e-6f)]
[Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class Olmo2Block;

// Granite's multipliers as [Scale] layers: the embedding's, each sub-layer's before its residual, the logits' (1 / logits_scaling).
[Embedding(vocab: 13, dim: 16)]
[Scale(12f)]
[RmsNorm(Epsilon = 1e-6f)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false, Scale = 0.125f)]
[Scale(0.25f)]
[Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)]
[Dense(16, Bias = false)]
[Scale(0.25f)]
[Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
[Scale(0.0625f)]
public partial class ScaledBlock;

// a mixture of experts in Mixtral's block: 4 SwiGLU experts, 2 per row, their weights renormalised
[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false)]
[Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)]
[Moe(experts: 4, units: 12)]
[Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class MoeBlock;

// the Switch Transformer's top 1 (ReLU experts, not gated, with biases); every expert of 3 chosen, GEGLU with biases; 2 of 4
// SwiGLU experts; each with the softmax's probabilities as they are (OLMoE's, Qwen2-MoE's norm_topk_prob=False)
[Input(features: 6)]
[Moe(experts: 5, units: 7, TopK = 1, NormalizeTopK = false, Activation = Activation.Relu, Gated = false, Bias = true)]
[Moe(experts: 3, units: 4, TopK = 3, NormalizeTopK = false, Activation = Activation.Gelu, Bias = true)]
[Moe(experts: 4, units: 5, NormalizeTopK = false)]
[Dense(3)]
public partial class MoeVariants;

// a shared expert beside the routed ones: Qwen2-MoE's (SwiGLU, scaled by its sigmoid gate, 4 of 6 as they are), then
// DeepSeekMoE's (added as it is) in ReLU experts without a gated unit, with biases
[Input(features: 6)]
[Moe(experts: 6, units: 5, TopK = 4, NormalizeTopK = false, SharedUnits = 7, SharedExpertGate = true)]
[Moe(experts: 3, units: 4, Activation = Activation.Relu, Gated = false, Bias = true, SharedUnits = 6)]
[Dense(3)]
public partial class MoeShared;

// each mixture's load-balancing loss (the Switch Transformer's) added to the model's: 2 of 4 renormalised, then the top 1 of 3
[Embedding(vocab: 11, dim: 8)]
[Moe(experts: 4, units: 6, LoadBalancingLoss = 0.1f)]
[Moe(experts: 3, units: 5, TopK = 1, NormalizeTopK = false, LoadBalancingLoss = 0.05f)]
[Dense(11)]
public partial class MoeBalanced;
