using Dsl;

namespace DateTranslator;

// Human-readable dates in, ISO dates out: a bidirectional LSTM reads the characters of the source, an LSTM decoder
// writes the ten characters of yyyy-mm-dd, attending at every step over the encoder's outputs with Bahdanau's additive
// score. The decoder starts from the encoder's final states (forward and backward concatenated: 2 × 64 = 128, its width).

[Embedding(vocab: Dates.SourceVocabulary, dim: 32)]
[Lstm(hidden: 64, Bidirectional = true)]
public partial class DateEncoder;

[Embedding(vocab: Dates.TargetVocabulary, dim: 16)]
[Lstm(hidden: 128)]
[Attention(Over = typeof(DateEncoder), Score = AttentionScore.Additive, Units = 64)]
[Dense(128, Activation = Activation.Tanh)]
[Dense(Dates.TargetVocabulary)]
public partial class DateDecoder;

[EncoderDecoder(typeof(DateEncoder), typeof(DateDecoder))]
public partial class DateModel;

// The same task for a Transformer (Vaswani et al. 2017) of one encoder block and one decoder block, post-norm as
// nn.TransformerEncoderLayer/DecoderLayer: width 64, 4 heads of 16, feed-forward 128 wide. No recurrence: the encoder's
// self-attention reads the whole source at once, the decoder's causal self-attention reads what it has written so far
// (from a key/value cache when decoding), and its cross-attention (the layer named attention_1) reads the encoder.

[Embedding(vocab: Dates.SourceVocabulary, dim: 64)]
[PositionalEncoding]
[Attention(Heads = 4)]
[Residual]
[LayerNorm]
[Dense(128, Activation = Activation.Relu)]
[Dense(64)]
[Residual(Layers = 2)]
[LayerNorm]
public partial class DateTransformerEncoder;

[Embedding(vocab: Dates.TargetVocabulary, dim: 64)]
[PositionalEncoding]
[Attention(Heads = 4, Causal = true)]
[Residual]
[LayerNorm]
[Attention(Over = typeof(DateTransformerEncoder), Heads = 4)]
[Residual]
[LayerNorm]
[Dense(128, Activation = Activation.Relu)]
[Dense(64)]
[Residual(Layers = 2)]
[LayerNorm]
[Dense(Dates.TargetVocabulary)]
public partial class DateTransformerDecoder;

[EncoderDecoder(typeof(DateTransformerEncoder), typeof(DateTransformerDecoder))]
public partial class DateTransformer;
