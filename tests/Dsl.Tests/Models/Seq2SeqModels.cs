namespace Dsl.Tests.Models;

// Encoder–decoder models matching the Seq2Seq cases of Fixtures/make_fixtures.py: a bidirectional encoder over padded
// sources, a decoder that starts from its final states (copied, or bridged when widths differ) and attends over its
// outputs with each score.

[Embedding(vocab: 10, dim: 4)]
[Lstm(hidden: 3, Bidirectional = true)]
public partial class S2sLstmEncoder;

[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.Dot)]
[Dense(9)]
public partial class S2sDotDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sDotDecoder))]
public partial class Seq2SeqDot;

// ScaledDot over an encoder is nn.MultiheadAttention(Q, heads, kdim = M, vdim = M): in_proj_weight when M = Q (6 = 6)…
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Heads = 2)]
[Dense(9)]
public partial class S2sScaledDotDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sScaledDotDecoder))]
public partial class Seq2SeqScaledDotFreeRunning;

// … and q_proj_weight, k_proj_weight, v_proj_weight when M ≠ Q (6 ≠ 4).
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 4)]
[Attention(Over = typeof(S2sLstmEncoder), Heads = 2)]
[Dense(9)]
public partial class S2sMultiHeadDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sMultiHeadDecoder))]
public partial class Seq2SeqMultiHead;

[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 5)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.General)]
[Dense(9)]
public partial class S2sGeneralDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sGeneralDecoder))]
public partial class Seq2SeqGeneral;

[Embedding(vocab: 10, dim: 4)]
[Gru(hidden: 4, Bidirectional = true)]
public partial class S2sGruEncoder;

[Embedding(vocab: 9, dim: 3)]
[Gru(hidden: 5)]
[Attention(Over = typeof(S2sGruEncoder), Score = AttentionScore.Additive, Units = 7)]
[Dense(6, Activation = Activation.Tanh)]
[Dense(9)]
public partial class S2sAdditiveDecoder;

[EncoderDecoder(typeof(S2sGruEncoder), typeof(S2sAdditiveDecoder))]
public partial class Seq2SeqAdditive;

// Learns to reverse short token sequences (LearningTests): 2 = start, 3 = end, 4… the symbols.
[Embedding(vocab: 10, dim: 8)]
[Gru(hidden: 16, Bidirectional = true)]
public partial class ReverseEncoder;

[Embedding(vocab: 10, dim: 8)]
[Gru(hidden: 32)]
[Attention(Over = typeof(ReverseEncoder), Score = AttentionScore.General)]
[Dense(10)]
public partial class ReverseDecoder;

[EncoderDecoder(typeof(ReverseEncoder), typeof(ReverseDecoder))]
public partial class Reverser;

// Dropout in both parts, for checkpoint resumption with every generator (CheckpointTests).
[Embedding(vocab: 8, dim: 4)]
[Dropout(0.2f)]
[Lstm(hidden: 5, Bidirectional = true)]
public partial class CkEncoder;

[Embedding(vocab: 6, dim: 3)]
[Lstm(hidden: 10)]
[Dropout(0.3f)]
[Attention(Over = typeof(CkEncoder))]
[Dense(6)]
public partial class CkDecoder;

[EncoderDecoder(typeof(CkEncoder), typeof(CkDecoder))]
public partial class CkSeq2Seq;

// Input feeding (Fixtures/make_fixtures.py, make_input_feeding): the previous step's context joins the decoder's input.
// Bahdanau's: GRU, additive score.
[Embedding(vocab: 9, dim: 3)]
[Gru(hidden: 5)]
[Attention(Over = typeof(S2sGruEncoder), Score = AttentionScore.Additive, Units = 7, InputFeeding = true)]
[Dense(6, Activation = Activation.Tanh)]
[Dense(9)]
public partial class S2sFeedAdditiveDecoder;

[EncoderDecoder(typeof(S2sGruEncoder), typeof(S2sFeedAdditiveDecoder))]
public partial class Seq2SeqFeedAdditive;

// Luong's: LSTM, general score (bridged states, 6 → 5).
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 5)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.General, InputFeeding = true)]
[Dense(9)]
public partial class S2sFeedGeneralDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sFeedGeneralDecoder))]
public partial class Seq2SeqFeedGeneral;

// The dot score, trained free running (each input the previous step's prediction, the context carried in the state).
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.Dot, InputFeeding = true)]
[Dense(9)]
public partial class S2sFeedDotDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sFeedDotDecoder))]
public partial class Seq2SeqFeedDotFreeRunning;

// A recurrent encoder–decoder without attention, every part of which runs on a device (DeviceModelTests).
[Embedding(vocab: 9, dim: 4)]
[Lstm(hidden: 5, Bidirectional = true)]
public partial class PlainEncoder;

[Embedding(vocab: 7, dim: 3)]
[Lstm(hidden: 6)]
[Dropout(0.2f)]
[Dense(7)]
public partial class PlainDecoder;

[EncoderDecoder(typeof(PlainEncoder), typeof(PlainDecoder))]
public partial class PlainSeq2Seq;

// Weight tying in a decoder (Press and Wolf 2017's translation models): Luong's attentional layer tanh(W_c [h; c]) as wide
// as the target embedding, whose table is the output layer's weight.
[Embedding(vocab: 9, dim: 3)]
[Lstm(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.General)]
[Dense(3, Activation = Activation.Tanh)]
[Dense(9, TieEmbedding = true)]
public partial class S2sTiedDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sTiedDecoder))]
public partial class Seq2SeqTied;

// A joint vocabulary (Vaswani et al. 2017, §3.4): the decoder's embedding is the encoder's table (ShareEmbedding), and its
// output layer's weight is that table too (TieEmbedding), three uses of one matrix; Luong's attentional layer as wide as it.
[Embedding(vocab: 10, dim: 4)]
[Lstm(hidden: 6)]
[Attention(Over = typeof(S2sLstmEncoder), Score = AttentionScore.General)]
[Dense(4, Activation = Activation.Tanh)]
[Dense(10, TieEmbedding = true)]
public partial class S2sSharedDecoder;

[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sSharedDecoder), ShareEmbedding = true)]
public partial class Seq2SeqShared;
