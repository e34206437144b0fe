using Dsl;

namespace DeviceCheck;

// Agreement: the kinds and options the device runs, small.
[Embedding(vocab: 11, dim: 5)] [Dropout(0.2f)] [Lstm(hidden: 9, Layers = 2, Bidirectional = true)] [Dense(11)] public partial class AgreeLstm;
[Input(features: 4)] [Gru(hidden: 7, Layers = 2)] [Dense(3, Activation = Activation.Tanh)] public partial class AgreeGru;
[Input(features: 4)] [Gru(hidden: 6, ResetAfter = false, Bidirectional = true, ReturnSequences = false)] [Dense(3)] public partial class AgreeGruCho;
[Embedding(vocab: 7, dim: 3)] [Rnn(hidden: 8, Activation = Activation.Relu, LearnInitialState = true)] [Dense(7)] public partial class AgreeRnn;
[Input(features: 3)] [Lstm(hidden: 8, Projection = 5, RecurrentDropout = 0.2f)] [Dense(3)] public partial class AgreeLstmProjection;
[Embedding(vocab: 13, dim: 8)] [PositionalEncoding] [Attention(Heads = 2, Causal = true, Dropout = 0.1f)] [Residual] [LayerNorm]
[Dense(16, Activation = Activation.Relu)] [Dense(8)] [Residual(Layers = 2)] [LayerNorm] [Dense(13)] public partial class AgreeGpt;
[Input(features: 6)] [Attention(Heads = 3)] [Residual] [LayerNorm] [Dense(2)] public partial class AgreeEncoderBlock;
// T5's and MPNet's relative position bias: two layers reading one table (its gradient summed over both), the buckets' logarithmic part reached.
[Input(features: 6)] [Attention(Heads = 3, RelativeBuckets = 8, RelativeMaxDistance = 6)] [Residual] [LayerNorm] [Attention(Heads = 3, RelativeBuckets = 8, RelativeMaxDistance = 6)]
[Dense(2)] public partial class AgreeRelative;
// ALiBi over the whole sequence (6 heads: slopes between powers of two), then causal.
[Input(features: 6)] [Attention(Heads = 6, Alibi = true)] [Residual] [LayerNorm] [Attention(Heads = 3, Causal = true, Alibi = true)] [Dense(2)] public partial class AgreeAlibi;
// Pythia's parallel blocks: a branch back to the block's input, two residuals adding the branches, a partial rotation.
[Embedding(vocab: 10, dim: 8)] [LayerNorm] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryDimensions = 2)] [Branch(Layers = 2)] [LayerNorm]
[Dense(16, Activation = Activation.Gelu)] [Dense(8)] [Residual(Layers = 4)] [Residual(Layers = 7)] [LayerNorm] [Dense(10, Bias = false)] public partial class AgreeParallel;
// T5's layout: two-sided buckets in the encoder, one-sided (causal) in the decoder, unscaled cross-attention of heads 3 wide.
[Embedding(vocab: 10, dim: 8)] [RmsNorm] [Attention(Heads = 2, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 8, RelativeMaxDistance = 6)] [Residual(Layers = 2)]
[RmsNorm] public partial class AgreeT5Encoder;
[Embedding(vocab: 10, dim: 8)] [RmsNorm] [Attention(Heads = 2, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 8, RelativeMaxDistance = 6)]
[Residual(Layers = 2)] [RmsNorm] [Attention(Over = typeof(AgreeT5Encoder), Heads = 2, HeadWidth = 3, Scale = 1f, Bias = false)] [Residual(Layers = 2)] [RmsNorm]
[Dense(10, Bias = false)] public partial class AgreeT5Decoder;
[EncoderDecoder(typeof(AgreeT5Encoder), typeof(AgreeT5Decoder), ShareEmbedding = true)] public partial class AgreeT5;
// Encoder–decoders: Bahdanau's (bidirectional GRU encoder, GRU decoder with additive attention), Luong's with input
// feeding (an LSTM decoder, general score, bridged from the GRU encoder) and a Transformer's.
[Embedding(vocab: 10, dim: 4)] [Gru(hidden: 4, Bidirectional = true)] public partial class AgreeGruEncoder;
[Embedding(vocab: 9, dim: 3)] [Gru(hidden: 5)] [Attention(Over = typeof(AgreeGruEncoder), Score = AttentionScore.Additive, Units = 7)] [Dense(9)]
public partial class AgreeAdditiveDecoder;
[EncoderDecoder(typeof(AgreeGruEncoder), typeof(AgreeAdditiveDecoder))] public partial class AgreeBahdanau;
[Embedding(vocab: 9, dim: 3)] [Lstm(hidden: 5)] [Attention(Over = typeof(AgreeGruEncoder), Score = AttentionScore.General, InputFeeding = true)] [Dense(9)]
public partial class AgreeFeedingDecoder;
[EncoderDecoder(typeof(AgreeGruEncoder), typeof(AgreeFeedingDecoder))] public partial class AgreeLuongFeeding;
[Embedding(vocab: 10, dim: 8)] [PositionalEncoding] [Attention(Heads = 2)] [Residual] [LayerNorm] [Dense(16, Activation = Activation.Relu)] [Dense(8)]
[Residual(Layers = 2)] [LayerNorm] public partial class AgreeTfEncoder;
[Embedding(vocab: 9, dim: 8)] [PositionalEncoding] [Attention(Heads = 2, Causal = true)] [Residual] [LayerNorm] [Attention(Over = typeof(AgreeTfEncoder), Heads = 2)]
[Residual] [LayerNorm] [Dense(16, Activation = Activation.Relu)] [Dense(8)] [Residual(Layers = 2)] [LayerNorm] [Dense(9)] public partial class AgreeTfDecoder;
[EncoderDecoder(typeof(AgreeTfEncoder), typeof(AgreeTfDecoder))] public partial class AgreeTransformer;

// Timings: bench/'s char model (T = 100, B = 32, Adam) and the LSTM (128, 64, 512, 512) with MSE on its output.
[Embedding(vocab: 65, dim: 128)] [Lstm(hidden: 256)] [Dense(65)] public partial class CharBench;
[Input(features: 512)] [Lstm(hidden: 512)] public partial class Lstm512;
