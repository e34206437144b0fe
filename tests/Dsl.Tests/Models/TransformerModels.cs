namespace Dsl.Tests.Models;

// Transformer encoder–decoders declared from the existing layers, matching nn.TransformerEncoderLayer and
// nn.TransformerDecoderLayer (ReLU, dropout 0, batch_first) in Fixtures/make_fixtures.py (make_transformer):
// post-norm (nn's default) and pre-norm (norm_first, with the final LayerNorm of nn.TransformerEncoder/Decoder).

[Embedding(vocab: 10, dim: 8)]
[PositionalEncoding]
[Attention(Heads = 2)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
public partial class TfEncoder;

[Embedding(vocab: 9, dim: 8)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Attention(Over = typeof(TfEncoder), Heads = 2)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(9)]
public partial class TfDecoder;

[EncoderDecoder(typeof(TfEncoder), typeof(TfDecoder))]
public partial class TransformerSeq2Seq;

// Vaswani et al.'s sharing over a joint vocabulary (§3.4): one table for both embeddings and the output layer, the
// looked-up vectors times √8 (the TransformerSeq2SeqJoint fixture).
[Embedding(vocab: 10, dim: 8, ScaleBySqrtDim = true)]
[PositionalEncoding]
[Attention(Heads = 2)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
public partial class TfJointEncoder;

[Embedding(vocab: 10, dim: 8, ScaleBySqrtDim = true)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Attention(Over = typeof(TfJointEncoder), Heads = 2)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(10, TieEmbedding = true)]
public partial class TfJointDecoder;

[EncoderDecoder(typeof(TfJointEncoder), typeof(TfJointDecoder), ShareEmbedding = true)]
public partial class TransformerSeq2SeqJoint;

[Embedding(vocab: 10, dim: 8)]
[PositionalEncoding]
[LayerNorm]
[Attention(Heads = 2)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 3)]
[LayerNorm]
public partial class TfPreNormEncoder;

[Embedding(vocab: 9, dim: 8)]
[PositionalEncoding]
[LayerNorm]
[Attention(Heads = 2, Causal = true)]
[Residual(Layers = 2)]
[LayerNorm]
[Attention(Over = typeof(TfPreNormEncoder), Heads = 2)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 3)]
[LayerNorm]
[Dense(9)]
public partial class TfPreNormDecoder;

[EncoderDecoder(typeof(TfPreNormEncoder), typeof(TfPreNormDecoder))]
public partial class TransformerSeq2SeqPreNorm;

// A decoder-only Transformer language model (GPT's shape, post-norm): it steps token by token from a key/value cache.
[Embedding(vocab: 11, dim: 8)]
[PositionalEncoding]
[Attention(Heads = 2, Causal = true)]
[Residual]
[LayerNorm]
[Dense(16, Activation = Activation.Relu)]
[Dense(8)]
[Residual(Layers = 2)]
[LayerNorm]
[Attention(Heads = 4, Causal = true, Score = AttentionScore.Dot)]
[Dense(11)]
public partial class TinyGpt;

// Learned positions on both sides (GPT-2's wpe, BERT's position embeddings): the source and the target each have their
// table, 6 and 5 positions, and an encoder–decoder refuses longer ones before either side runs.
[Embedding(vocab: 10, dim: 8)]
[PositionEmbedding(maxLength: 6)]
[Attention(Heads = 2)]
[Residual]
[LayerNorm]
public partial class LearnedPositionEncoder;

[Embedding(vocab: 9, dim: 8)]
[PositionEmbedding(maxLength: 5)]
[Attention(Heads = 2, Causal = true)]
[Residual]
[Attention(Over = typeof(LearnedPositionEncoder), Heads = 2)]
[Residual]
[LayerNorm]
[Dense(9)]
public partial class LearnedPositionDecoder;

[EncoderDecoder(typeof(LearnedPositionEncoder), typeof(LearnedPositionDecoder))]
public partial class LearnedPositionSeq2Seq;
