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
