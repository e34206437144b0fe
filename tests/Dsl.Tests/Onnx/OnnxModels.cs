using Dsl.Tests.Models;

namespace Dsl.Tests.Onnx;

// Models of the ONNX export tests alone.

// Two input-fed attention layers: each feeds its context of the step before into the recurrent layer right before it
// (attention's into lstm, attention_1's into lstm_1).
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 5)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.General, InputFeeding = true)]
[Gru(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.Dot, InputFeeding = true)]
[Dense(9)]
public partial class OnnxTwoFedDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(OnnxTwoFedDecoder))]
public partial class OnnxTwoFedSeq2Seq;

// Multi-head cross-attention without its projections' biases (nn.MultiheadAttention(bias=False)): MatMuls alone, q, k and v
// projected apart (the decoder 4 wide, the encoder's outputs 6).
[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 4)]
[Attention(Over = typeof(S2sLstmEncoder), Heads = 2, Bias = false)]
[Dense(9)]
public partial class OnnxUnbiasedDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(OnnxUnbiasedDecoder))]
public partial class OnnxUnbiasedSeq2Seq;

// Weight tying: the tied graph transposes the embedding's table rather than holding a second copy (WeightTyingTests
// compares its size with the untied twin's).
[Embedding(vocab: 300, dim: 32)]
[Gru(hidden: 32)]
[Dense(300, TieEmbedding = true)]
public partial class OnnxTiedWide;

[Embedding(vocab: 300, dim: 32)]
[Gru(hidden: 32)]
[Dense(300)]
public partial class OnnxUntiedWide;
