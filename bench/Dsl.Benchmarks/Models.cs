using Dsl;

namespace Dsl.Benchmarks;

// The DESIGN §6 configurations. A recurrent layer alone is benchmarked with MSE on its output,
// as bench/pytorch/bench.py does with nn.LSTM / nn.GRU / nn.RNN.

[Input(features: 256)] [Lstm(hidden: 256)] public partial class Lstm256;
[Input(features: 256)] [Gru(hidden: 256)] public partial class Gru256;
[Input(features: 256)] [Rnn(hidden: 256)] public partial class Rnn256;
[Input(features: 512)] [Lstm(hidden: 512)] public partial class Lstm512;
[Input(features: 512)] [Gru(hidden: 512)] public partial class Gru512;
[Input(features: 512)] [Rnn(hidden: 512)] public partial class Rnn512;

/// <summary>The character model: T = 100, B = 32, embedding 65 → 128, LSTM 256, Dense 65, trained with Adam.</summary>
[Embedding(vocab: 65, dim: 128)] [Lstm(hidden: 256)] [Dense(65)] public partial class CharBench;

/// <summary>DESIGN §6's attention: 256 wide, 8 heads (nn.MultiheadAttention(256, 8)); T = 64, B = 32.</summary>
[Input(features: 256)] [Attention(Heads = 8)] public partial class Attention256;

/// <summary>A decoder-only Transformer block (width 128, 4 heads, feed-forward 512, 65 tokens) for decoding with and without its key/value cache.</summary>
[Embedding(vocab: 65, dim: 128)] [PositionalEncoding]
[Attention(Heads = 4, Causal = true)] [Residual] [LayerNorm]
[Dense(512, Activation = Activation.Relu)] [Dense(128)] [Residual(Layers = 2)] [LayerNorm]
[Dense(65)]
public partial class GptBench;

/// <summary>
/// The same block as LLaMA builds it: RMS norms, rotary positions on attention without biases, a SwiGLU feed-forward of 344
/// (about 2/3 of 512, LLaMA's sizing: the same multiply-adds as GptBench's 512), no biases, 65 tokens.
/// </summary>
[Embedding(vocab: 65, dim: 128)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(344, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(128, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(65, Bias = false)]
public partial class LlamaBench;

/// <summary>
/// A LLaMA decoder too large for the caches (width 1024, 16 heads, SwiGLU of 2816, two layers, 4096 tokens: 33.6 M weights,
/// 134 MB in float32), whose decoding steps stream every weight once per token: its weights in float32 or held in bfloat16.
/// </summary>
[Embedding(vocab: 4096, dim: 1024)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 16, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(2816, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(1024, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(4096, Bias = false)]
public partial class WideLlamaBench;

/// <summary>
/// LlamaBench's block with a sparse mixture of experts in place of its feed-forward, as Mixtral builds it: 8 SwiGLU experts of
/// 344 (each as wide as LlamaBench's feed-forward), 2 per token, their weights renormalised.
/// </summary>
[Embedding(vocab: 65, dim: 128)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 8, units: 344)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(65, Bias = false)]
public partial class MoeBench;

/// <summary>
/// A Transformer encoder–decoder of T5-small's width (512, 8 heads, feed-forward 2048; two layers each side, 4096 tokens,
/// post-norm as nn.Transformer): its decoding steps attend over a source of 128 steps, whose keys and values each
/// cross-attention layer projects once per sequence and keeps in the decoder's state.
/// </summary>
[Embedding(vocab: 4096, dim: 512)] [PositionalEncoding]
[Repeat(2)]
[Attention(Heads = 8)] [Residual] [LayerNorm]
[Dense(2048, Activation = Activation.Relu)] [Dense(512)] [Residual(Layers = 2)] [LayerNorm]
[EndRepeat]
public partial class Seq2SeqBenchEncoder;

[Embedding(vocab: 4096, dim: 512)] [PositionalEncoding]
[Repeat(2)]
[Attention(Heads = 8, Causal = true)] [Residual] [LayerNorm]
[Attention(Over = typeof(Seq2SeqBenchEncoder), Heads = 8)] [Residual] [LayerNorm]
[Dense(2048, Activation = Activation.Relu)] [Dense(512)] [Residual(Layers = 2)] [LayerNorm]
[EndRepeat]
[Dense(4096)]
public partial class Seq2SeqBenchDecoder;

[EncoderDecoder(typeof(Seq2SeqBenchEncoder), typeof(Seq2SeqBenchDecoder))]
public partial class Seq2SeqBench;

/// <summary>
/// LLaMA 3's vocabulary (128,256 tokens) over a model of little else: what choosing a token (a top-k, a nucleus) costs beside
/// a step that computes its logits.
/// </summary>
[Embedding(vocab: 128256, dim: 16)]
[Attention(Heads = 2, Causal = true)]
[Dense(128256)]
public partial class WideVocabularyBench;
