using Dsl;

namespace Dsl.Tests.Models;

// The tiny LLaMA of the HfLlama fixture (a Hugging Face LlamaForCausalLM checkpoint): two decoder layers, 4 query heads over
// 2 key/value heads, LLaMA 3's rope_theta.
[Embedding(vocab: 17, dim: 16)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(17, Bias = false)]
public partial class HfTinyLlama;

// A LLaMA wide enough that loading its checkpoint shows what loading holds (1.6 M values, 6.4 MB): LoadingHoldsNoCopyOfTheFile.
[Embedding(vocab: 2000, dim: 256)]
[RmsNorm] [Attention(Heads = 4, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(512, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(256, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(2000, Bias = false)]
public partial class WideLlama;

// WideLlama's layer four times (2.3 M values of its 3.6 M in layers of the same shapes): what loading into a model held in bfloat16
// holds, LoadingIntoAModelHeldInBFloat16StagesHalfTheBytes.
[Embedding(vocab: 2000, dim: 256)]
[Repeat(4)]
[RmsNorm] [Attention(Heads = 4, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(512, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(256, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm] [Dense(2000, Bias = false)]
public partial class DeepLlama;

// HfTinyLlama with GPT-Neo's attention biases (the output projection's alone), which no LLaMA-family configuration says.
[Embedding(vocab: 17, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, OutputBias = true)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(17, Bias = false)]
public partial class HfTinyLlamaOutputBias;

// The same with its output layer tied to the token table (tie_word_embeddings), as TinyLlama-like small checkpoints do.
[Embedding(vocab: 17, dim: 16)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(17, Bias = false, TieEmbedding = true)]
public partial class HfTinyLlamaTied;

// One decoder layer where the fixture has two, and plain multi-head attention: what the configuration check names.
[Embedding(vocab: 17, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(17, Bias = false)]
public partial class HfOtherLlama;

// The HfLlama31 fixture's model: LLaMA 3.1's scaled rotary frequencies (its original context shortened to 16), multi-query
// attention (one key/value head), tied embeddings, and the configuration's default ε; its decoder layers declared once, [Repeat]ed.
[Embedding(vocab: 19, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryScaling = 4f, RotaryOriginalContext = 16, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(19, Bias = false, TieEmbedding = true)]
public partial class HfTinyLlama31;

// HfTinyLlama with its two decoder layers declared once and [Repeat]ed: the same layers, parameters and initial values.
[Embedding(vocab: 17, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(17, Bias = false)]
public partial class HfTinyLlamaRepeated;

// Two decoder layers of different feed-forward widths: no one LLaMA configuration describes them.
[Embedding(vocab: 17, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(32, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(17, Bias = false)]
public partial class HfUnalikeLlama;

// The HfQwen2 fixture's model: Qwen2's attention, with biases on the queries, keys and values and none on the output
// projection (OutputBias = false), 6 query heads over 2, Qwen2's rope_theta, tied embeddings.
[Embedding(vocab: 23, dim: 24)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(23, Bias = false, TieEmbedding = true)]
public partial class HfTinyQwen2;

// The HfQwen3 fixture's model: Qwen3's attention, 4 query heads over 2, each 8 wide where 16 / 4 is 4 (HeadWidth), each
// head's queries and keys RMS-normalised (QueryKeyNorm, at rms_norm_eps), Qwen3's rope_theta, tied embeddings.
[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyQwen3;

// The HfGemma3 fixture's model: Gemma 3's sandwich (a norm on the attention's and the feed-forward's outputs, before each
// residual), heads 8 wide over a width of 16 with q_norm and k_norm, a sliding layer (4 steps, rotary base 10000) then a full
// one (rotary base 1e6, linearly scaled by 2), the embedding scaled by √16 and tied.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, SlidingWindow = 4, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, RotaryScaling = 2f, RotaryScalingKind = RotaryScalingKind.Linear, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyGemma3;

// The HfGemma2 fixture's model: Gemma 2's sandwich of norms without QK-norm, a sliding layer (4 steps) then a full one, one
// rotary base, the scores scaled by 1/√12 (query_pre_attn_scalar 12, heads 8 wide) and soft-capped at 2, the logits at 1.5.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, Scale = 0.288675135f, SoftCap = 2f, Causal = true, Rotary = true, SlidingWindow = 4, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, Scale = 0.288675135f, SoftCap = 2f, Causal = true, Rotary = true, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true, SoftCap = 1.5f)]
public partial class HfTinyGemma2;

// LLaMA's layers with the logits soft-capped: no configuration but Gemma 2's says so (SaveLlama refuses it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false, SoftCap = 30f)]
public partial class HfLlamaCapped;

// A partial rotation, which only Phi-3's configuration says, with what Phi-3's cannot: projection biases and YaRN (SaveLlama refuses it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryDimensions = 4, RotaryScaling = 2f, RotaryScalingKind = RotaryScalingKind.Yarn, RotaryOriginalContext = 8)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false)]
public partial class HfPartialUnwritable;

// 30 of each head's 44 values turned: 30 / 44 as a double times 44 is just under 30, so Phi-3's partial_rotary_factor is written one ulp up.
[Embedding(vocab: 13, dim: 88)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryDimensions = 30, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(88, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(13, Bias = false)]
public partial class HfThirdRotated;

// LongRoPE by 2.5 over 3 steps: no whole max_position_embeddings over 3 gives 2.5 (SaveLlama refuses it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false, RotaryScaling = 2.5f, RotaryScalingKind = RotaryScalingKind.LongRope, RotaryOriginalContext = 3,
    RotaryShortFactors = new[] { 1f, 1f, 1f, 1f }, RotaryLongFactors = new[] { 1f, 2f, 3f, 4f })] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false)]
public partial class HfLongRopeUnwritable;

// A soft cap on the feed-forward's down_proj: no configuration's layout (LoadLlama and SaveLlama refuse it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false, SoftCap = 30f)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false)]
public partial class HfLlamaCappedDown;

// Gemma 3 27B's scores: scaled by 1/√168 apart from its heads' width (Scale, query_pre_attn_scalar 168), one full layer.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Scale = 0.0771516785f, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyGemma3Scaled;

// Gemma 3's sandwich of norms under an unscaled embedding: no configuration's layout.
[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfSandwichUnscaled;

// Gemma 1's layers with a sliding window, which Gemma 1's configuration cannot say.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, SlidingWindow = 4, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyGemmaWindowed;

// The HfLlamaLinear fixture's model: linear rotary scaling (rope_type "linear", factor 4), plain multi-head attention.
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Linear, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false)]
public partial class HfTinyLinearLlama;

// The HfLlamaYarn fixture's model: YaRN's rotary scaling (factor 4 over an original context of 64), heads 16 wide, one key/value head.
[Embedding(vocab: 13, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Yarn, RotaryOriginalContext = 64, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false)]
public partial class HfTinyYarnLlama;

// The HfLlamaDynamic fixture's model: dynamic NTK (factor 4 over max_position_embeddings 8): a pass past 8 steps raises the base of 100.
[Embedding(vocab: 13, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 100f, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Dynamic, RotaryOriginalContext = 8, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false)]
public partial class HfTinyDynamicLlama;

// The HfGpt2 fixture's model: GPT-2's layout (learned positions, pre-norm blocks with every bias, GELU's tanh form, the
// output layer tied to the token table), 2 blocks of 4 heads over 16.
[Embedding(vocab: 13, dim: 16)]
[PositionEmbedding(maxLength: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(16)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(13, TieEmbedding = true, Bias = false)]
public partial class HfTinyGpt2;

// The HfBloom fixture's model (BloomForCausalLM): the token table and its norm, 2 blocks of 6 heads over 24 with ALiBi (no
// position table), GELU's tanh form, ln_f and the tied head.
[Embedding(vocab: 17, dim: 24)] [LayerNorm]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 6, Causal = true, Alibi = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(96, Activation = Activation.GeluTanh)] [Dense(24)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(17, TieEmbedding = true, Bias = false)]
public partial class HfTinyBloom;

// The HfMpt fixture's model (MptForCausalLM): the token table, 2 blocks of 6 heads over 24 with ALiBi and no biases, exact GELU,
// norm_f and the tied head.
[Embedding(vocab: 19, dim: 24)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 6, Causal = true, Alibi = true, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(96, Activation = Activation.Gelu, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)] [Dense(19, TieEmbedding = true, Bias = false)]
public partial class HfTinyMpt;

// The HfGptNeoX fixture's model (GPTNeoXForCausalLM, Pythia's parallel blocks: x + attn(ln1(x)) + mlp(ln2(x))): 2 blocks of 4
// heads over 32, each turning the first 4 of its 8 values (rotary_pct 0.5) at base 1000, exact GELU, embed_out of its own.
[Embedding(vocab: 23, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Rotary = true, RotaryBase = 1000f, RotaryDimensions = 4)]
[Branch(Layers = 2)]
[LayerNorm] [Dense(96, Activation = Activation.Gelu)] [Dense(32)]
[Residual(Layers = 4)] [Residual(Layers = 7)]
[EndRepeat]
[LayerNorm] [Dense(23, Bias = false)]
public partial class HfTinyGptNeoX;

// The HfGptNeoXSequential fixture's model (use_parallel_residual false): the same blocks one after the other, GELU's tanh form.
[Embedding(vocab: 23, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Rotary = true, RotaryBase = 1000f, RotaryDimensions = 4)] [Residual(Layers = 2)]
[LayerNorm] [Dense(96, Activation = Activation.GeluTanh)] [Dense(32)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(23, Bias = false)]
public partial class HfTinyGptNeoXSequential;

// The HfPhi fixture's model (PhiForCausalLM: phi-1, phi-1_5, phi-2): parallel layers with one norm for both branches
// (x + attn(ln(x)) + mlp(ln(x))), 4 heads over 2 key/value heads of 10 values, the first 4 turned at base 500, GELU's tanh form,
// lm_head with its bias.
[Embedding(vocab: 27, dim: 40)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f, RotaryDimensions = 4)]
[Branch]
[Dense(80, Activation = Activation.GeluTanh)] [Dense(40)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(27)]
public partial class HfTinyPhi;

// HfTinyPhi for fine-tuning: dropout after the embedding (embd_pdrop), on the attention's weights and after each branch (resid_pdrop).
[Embedding(vocab: 27, dim: 40)] [Dropout(0.1f)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f, RotaryDimensions = 4, Dropout = 0.1f)] [Dropout(0.1f)]
[Branch(Layers = 2)]
[Dense(80, Activation = Activation.GeluTanh)] [Dense(40)] [Dropout(0.1f)]
[Residual(Layers = 4)] [Residual(Layers = 8)]
[EndRepeat]
[LayerNorm] [Dense(27)]
public partial class HfTinyPhiDropout;

// The HfGptJ fixture's model (GPTJForCausalLM): parallel layers with one norm for both branches, 4 heads of 8 values, the first 4
// turned at GPT-J's base 10000 (its pairs (2j, 2j + 1) read as (j, j + 2)), no attention biases, GELU's tanh form, lm_head with its bias.
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Rotary = true, RotaryDimensions = 4, Bias = false)]
[Branch]
[Dense(64, Activation = Activation.GeluTanh)] [Dense(32)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(31)]
public partial class HfTinyGptJ;

// The HfCodeGen fixture's model (CodeGenForCausalLM): GPT-J's blocks, 8 heads of 6 values, all turned, n_inner 4 · 48.
[Embedding(vocab: 29, dim: 48)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 8, Causal = true, Rotary = true, Bias = false)]
[Branch]
[Dense(192, Activation = Activation.GeluTanh)] [Dense(48)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(29)]
public partial class HfTinyCodeGen;

// The HfOpt fixture's model (OPTForCausalLM, opt-125m's layout): pre-norm, learned positions (OPT's table 2 rows longer), 4 heads,
// ReLU, lm_head tied to the token table.
[Embedding(vocab: 37, dim: 32)] [PositionEmbedding(maxLength: 16)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.Relu)] [Dense(32)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(37, TieEmbedding = true, Bias = false)]
public partial class HfTinyOpt;

// The HfOptPostNorm fixture's model (opt-350m's layout): each norm after its residual, a token table of 16 projected in to the
// layers' 32 (project_in) and out again before the tied output layer (project_out).
[Embedding(vocab: 33, dim: 16)] [Dense(32, Bias = false)] [PositionEmbedding(maxLength: 16)]
[Repeat(2)]
[Attention(Heads = 2, Causal = true)] [Residual] [LayerNorm]
[Dense(48, Activation = Activation.Relu)] [Dense(32)] [Residual(Layers = 2)] [LayerNorm]
[EndRepeat]
[Dense(16, Bias = false)] [Dense(33, TieEmbedding = true, Bias = false)]
public partial class HfTinyOptPostNorm;

// The HfGptNeo fixture's model (GPTNeoForCausalLM: gpt-neo's and the TinyStories models' layout): GPT-2's blocks with unscaled
// scores, out_proj's bias alone, a global layer then a local one over the 4 latest steps, lm_head tied to the token table.
[Embedding(vocab: 41, dim: 32)] [PositionEmbedding(maxLength: 16)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Score = AttentionScore.Dot, Bias = false, OutputBias = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(128, Activation = Activation.GeluTanh)] [Dense(32)] [Residual(Layers = 3)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Score = AttentionScore.Dot, Bias = false, OutputBias = true, SlidingWindow = 4)] [Residual(Layers = 2)]
[LayerNorm] [Dense(128, Activation = Activation.GeluTanh)] [Dense(32)] [Residual(Layers = 3)]
[LayerNorm] [Dense(41, TieEmbedding = true, Bias = false)]
public partial class HfTinyGptNeo;

// The HfStarcoder2 fixture's model (Starcoder2ForCausalLM): GPT-2's blocks with 4 heads over 2 key/value heads, whole heads turned at
// base 5000, a sliding window of 5 steps, every bias, lm_head tied to the token table.
[Embedding(vocab: 43, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 5000f, SlidingWindow = 5)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(32)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(43, TieEmbedding = true, Bias = false)]
public partial class HfTinyStarcoder2;

// The HfFalconSequential fixture's model (Falcon's old architecture without parallel_attn and multi_query, with bias: falcon-rw's
// layers without its ALiBi): a key and value head per query head, every bias, the feed-forward after the attention's residual.
[Embedding(vocab: 25, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Rotary = true, RotaryBase = 3000f)] [Residual(Layers = 2)]
[LayerNorm] [Dense(48, Activation = Activation.Gelu)] [Dense(32)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(25, TieEmbedding = true, Bias = false)]
public partial class HfTinyFalconSequential;

// The HfFalconRw fixture's model (falcon-rw-1b's and -7b's layout): HfTinyFalconSequential's layers with ALiBi in place of the
// rotation, added to the scores before their scale (AlibiScaled).
[Embedding(vocab: 25, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Alibi = true, AlibiScaled = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(48, Activation = Activation.Gelu)] [Dense(32)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(25, TieEmbedding = true, Bias = false)]
public partial class HfTinyFalconRw;

// The HfStableLm fixture's model (StableLmForCausalLM, stablelm-2's layers): layer norms, 2 heads over 1 key/value head of 16
// values with q, k and v biases (use_qkv_bias) and none on o_proj, the first 4 values turned at base 2000, SwiGLU.
[Embedding(vocab: 29, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryBase = 2000f, RotaryDimensions = 4, OutputBias = false)] [Residual(Layers = 2)]
[LayerNorm] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(29, Bias = false)]
public partial class HfTinyStableLm;

// The HfStableLmParallel fixture's model (use_parallel_residual): one norm for both branches, no biases on the attention.
[Embedding(vocab: 29, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryBase = 2000f, RotaryDimensions = 4, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(29, Bias = false)]
public partial class HfTinyStableLmParallel;

// The HfOlmo fixture's model (OlmoForCausalLM, OLMo-1B's layers): layer norms that learn nothing, 4 heads over 2 key/value heads
// of 8 values turned whole at base 5000, no biases, SwiGLU, the output layer tied to the token table.
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[LayerNorm(ElementwiseAffine = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 5000f, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(ElementwiseAffine = false)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(ElementwiseAffine = false)] [Dense(31, TieEmbedding = true, Bias = false)]
public partial class HfTinyOlmo;

// The HfOlmoBiased fixture's model (attention_bias): biases on q, k, v and o_proj, 2 heads of 16 values, lm_head of its own.
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[LayerNorm(ElementwiseAffine = false)] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryBase = 5000f)] [Residual(Layers = 2)]
[LayerNorm(ElementwiseAffine = false)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(ElementwiseAffine = false)] [Dense(31, Bias = false)]
public partial class HfTinyOlmoBiased;

// The HfOlmoClipped fixture's model: HfOlmoBiased's with OLMo 1.7's clip_qkv (0.6).
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[LayerNorm(ElementwiseAffine = false)] [Attention(Heads = 2, Causal = true, Rotary = true, RotaryBase = 5000f, ClipQkv = 0.6f)] [Residual(Layers = 2)]
[LayerNorm(ElementwiseAffine = false)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(ElementwiseAffine = false)] [Dense(31, Bias = false)]
public partial class HfTinyOlmoClipped;

// The HfOlmo2 fixture's model (Olmo2ForCausalLM): QK-norm across 4 heads over 2 key/value heads of 8 values (rms_norm_eps 1e-6),
// turned whole at base 500000, RMS norms after the attention and after the feed-forward, lm_head of its own.
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)]
[RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 2)]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(31, Bias = false)]
public partial class HfTinyOlmo2;

// The HfOlmo2Tied fixture's model: 2 heads of 16 values, the output layer tied to the token table.
[Embedding(vocab: 31, dim: 32)]
[Repeat(2)]
[Attention(Heads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)]
[RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 2)]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(31, TieEmbedding = true, Bias = false)]
public partial class HfTinyOlmo2Tied;

// The HfGptBigCode fixture's model (GPTBigCodeForCausalLM, multi_query: santacoder's, starcoder's): GPT-2's layout with one
// key/value head for the 4 query heads, n_inner 40, gelu_pytorch_tanh, the tied head.
[Embedding(vocab: 21, dim: 24)]
[PositionEmbedding(maxLength: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 1, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(40, Activation = Activation.GeluTanh)] [Dense(24)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(21, TieEmbedding = true, Bias = false)]
public partial class HfTinyGptBigCode;

// The HfGptBigCodeMha fixture's model (multi_query false): GPT-2's heads, c_attn's rows read head by head.
[Embedding(vocab: 21, dim: 24)]
[PositionEmbedding(maxLength: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(40, Activation = Activation.GeluTanh)] [Dense(24)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(21, TieEmbedding = true, Bias = false)]
public partial class HfTinyGptBigCodeMha;

// The HfFalcon fixture's model (FalconForCausalLM, falcon-7b's layers): parallel with one norm for both branches, 4 heads over one
// key/value head (multi_query), whole heads turned at base 3000, no biases, exact GELU, the tied head.
[Embedding(vocab: 25, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryBase = 3000f, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Gelu, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(25, TieEmbedding = true, Bias = false)]
public partial class HfTinyFalcon;

// The HfFalconNew fixture's model (new_decoder_architecture: falcon-40b's): 2 key/value heads, a norm for each branch.
[Embedding(vocab: 25, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 3000f, Bias = false)]
[Branch(Layers = 2)]
[LayerNorm] [Dense(48, Activation = Activation.Gelu, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 4)] [Residual(Layers = 7)]
[EndRepeat]
[LayerNorm] [Dense(25, TieEmbedding = true, Bias = false)]
public partial class HfTinyFalconNew;

// The HfFalconOneNorm fixture's model (falcon-11B's: the new architecture with num_ln_in_parallel_attn 1): 2 key/value heads,
// one norm for both branches.
[Embedding(vocab: 25, dim: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 3000f, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Gelu, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm] [Dense(25, TieEmbedding = true, Bias = false)]
public partial class HfTinyFalconOneNorm;

// HfTinyMpt with an output layer of its own, which MptForCausalLM ties to wte whatever its configuration says: not saved.
[Embedding(vocab: 19, dim: 24)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 6, Causal = true, Alibi = true, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(96, Activation = Activation.Gelu, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)] [Dense(19, Bias = false)]
public partial class HfTinyMptUntied;

// GPT-2's layout with an output layer of its own (tie_word_embeddings false).
[Embedding(vocab: 13, dim: 16)]
[PositionEmbedding(maxLength: 32)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(16)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm] [Dense(13, Bias = false)]
public partial class HfTinyGpt2Untied;

// GPT-2's layout with blocks of 4 and 2 heads: no one GPT-2 configuration (SaveGpt2 refuses it).
[Embedding(vocab: 13, dim: 16)]
[PositionEmbedding(maxLength: 32)]
[LayerNorm] [Attention(Heads = 4, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(16)] [Residual(Layers = 3)]
[LayerNorm] [Attention(Heads = 2, Causal = true)] [Residual(Layers = 2)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(16)] [Residual(Layers = 3)]
[LayerNorm] [Dense(13, TieEmbedding = true, Bias = false)]
public partial class HfGpt2Unlike;

// The HfPhi3Partial fixture's model: Phi-3's layers with Phi-4-mini's partial rotation (6 of each head's 8 values turned).
[Embedding(vocab: 13, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, RotaryDimensions = 6, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(13, Bias = false)]
public partial class HfTinyPhi3Partial;

// The HfPhi3LongRope fixture's model: Phi-3's layers with LongRoPE (factor 4 over an original context of 8; per pair, the short
// factors within it and the long ones past it).
[Embedding(vocab: 13, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.LongRope,
    RotaryOriginalContext = 8, RotaryShortFactors = new[] { 1f, 1.25f, 1.5f, 2f }, RotaryLongFactors = new[] { 1f, 2.5f, 6f, 12f })] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(13, Bias = false)]
public partial class HfTinyPhi3LongRope;

// The HfMistral fixture's model: Mistral's sliding window (each step over the 4 most recent), 4 query heads over 2 key/value heads.
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Bias = false, SlidingWindow = 4)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(13, Bias = false)]
public partial class HfTinyMistral;

// A sliding window with the projections' biases: no Hugging Face configuration has both (SaveLlama refuses it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, SlidingWindow = 4)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false)]
public partial class HfBiasedWindowLlama;

// The HfGemma fixture's model: Gemma's embedding scaled by √16 and tied to the output layer, GELU's tanh approximation on
// the gate, multi-query attention.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.GeluTanh, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyGemma;

// The same with SiLU on the gate (LLaMA's): what the configuration check names for Gemma.
[Embedding(vocab: 13, dim: 16, ScaleBySqrtDim = true)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyGemmaSilu;

// The HfBert fixture's model: BERT's post-norm encoder, 2 layers of 4 heads over a width of 16, 32 positions.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyBert;

// The HfJinaBert fixture's model (jina-embeddings-v2's JinaBertModel): no position table, ALiBi on both sides in every layer, the
// GLU feed-forward (GELU on gated_layers' first half, no bias), 2 layers of 4 heads over 16.
[Embedding(vocab: 29, dim: 16)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4, Alibi = true)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyJinaBert;

// HfTinyJinaBert with BERT's masked-LM head (JinaBertForMaskedLM's): its decoder reads the word table, which the first token
// type's fold would change without a [TokenTypeEmbedding].
[Embedding(vocab: 29, dim: 16)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4, Alibi = true)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Dense(16, Activation = Activation.Gelu)] [LayerNorm(Epsilon = 1e-12f)] [Dense(29, TieEmbedding = true)]
public partial class HfTinyJinaBertMaskedLM;

// The same encoder with a head of its own to fine-tune: attention pooling and a classifier, which LoadBert leaves as they are.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4, Dropout = 0.1f)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Attention(Pool = true)] [Dense(3)]
public partial class HfTinyBertClassifier;

// The HfRoberta fixture's model: RoBERTa's encoder (BERT's layers, ε 1e-5), 30 positions after the table's first 2 rows.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
public partial class HfTinyRoberta;

// The HfBert encoder with a head of seven layers that begins as a BERT layer does (attention, residual) and then is not one.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Attention(Heads = 2)] [Residual] [LayerNorm] [Dense(32, Activation = Activation.Relu)] [Dense(8)] [Dense(4)] [Dense(3)]
public partial class HfTinyBertAttentionHead;

// The HfQwen2Window fixture's model: Qwen2's layers, the first over every earlier step, the second over the 4 most recent
// (use_sliding_window, max_window_layers 1).
[Embedding(vocab: 23, dim: 24)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false, SlidingWindow = 4)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(23, Bias = false, TieEmbedding = true)]
public partial class HfTinyQwen2Window;

// Qwen2's layers windowed the other way round (the first slides, the second does not): no max_window_layers says so (SaveLlama refuses it).
[Embedding(vocab: 23, dim: 24)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false, SlidingWindow = 4)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 6, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1000000f, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(24, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(23, Bias = false, TieEmbedding = true)]
public partial class HfQwen2WindowFirst;

// The HfGpt2 fixture's layers with GPT-2's dropouts for fine-tuning (embd_pdrop, attn_pdrop, resid_pdrop): the identity at inference.
[Embedding(vocab: 13, dim: 16)]
[PositionEmbedding(maxLength: 32)] [Dropout(0.1f)]
[Repeat(2)]
[LayerNorm] [Attention(Heads = 4, Causal = true, Dropout = 0.1f)] [Dropout(0.1f)] [Residual(Layers = 3)]
[LayerNorm] [Dense(64, Activation = Activation.GeluTanh)] [Dense(16)] [Dropout(0.1f)] [Residual(Layers = 4)]
[EndRepeat]
[LayerNorm] [Dense(13, TieEmbedding = true, Bias = false)]
public partial class HfTinyGpt2Dropout;

// The HfBert fixture's encoder with BERT's dropouts for fine-tuning (hidden_dropout_prob, attention_probs_dropout_prob).
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)] [Dropout(0.1f)]
[Repeat(2)]
[Attention(Heads = 4, Dropout = 0.1f)] [Dropout(0.1f)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Dropout(0.1f)] [Residual(Layers = 3)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyBertDropout;

// LLaMA's layers (no biases, no QK-norm) with a window on the second alone: only Qwen's and Gemma's configurations window by layer (SaveLlama refuses it).
[Embedding(vocab: 13, dim: 16)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Attention(Heads = 2, Causal = true, Rotary = true, Bias = false, SlidingWindow = 4)] [Residual(Layers = 2)]
[RmsNorm] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm] [Dense(13, Bias = false)]
public partial class HfLlamaWindowLater;

// The HfElectra fixture's model: ELECTRA's embeddings 8 wide, normalised, projected to the layers' 16 (embeddings_project).
[Embedding(vocab: 13, dim: 8)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)] [Dense(16)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyElectra;

// The HfBertClassifier fixture's model: BERT's encoder with BertForSequenceClassification's head: the [CLS] vector, the
// pooler (tanh), dropout, the classifier of three labels.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dense(16, Activation = Activation.Tanh)] [Dropout(0.1f)] [Dense(3)]
public partial class HfTinyBertSequenceClassifier;

// BERT's encoder and its pooler alone (BertModel's pooler_output).
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dense(16, Activation = Activation.Tanh)]
public partial class HfTinyBertPooler;

// DistilBertForSequenceClassification's head: the first token's vector, pre_classifier (ReLU), dropout, the classifier.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dense(16, Activation = Activation.Relu)] [Dropout(0.2f)] [Dense(2)]
public partial class HfTinyDistilBertClassifier;

// ElectraForSequenceClassification's head: the first token's vector, classifier.dense (GELU), classifier.out_proj.
[Embedding(vocab: 13, dim: 8)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)] [Dense(16)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dropout(0.1f)] [Dense(16, Activation = Activation.Gelu)] [Dropout(0.1f)] [Dense(2)]
public partial class HfTinyElectraClassifier;

// The HfRobertaClassifier fixture's model (XLMRobertaForSequenceClassification, a reranker's layout): RoBERTa's encoder, then
// the first token's vector, classifier.dense (tanh), classifier.out_proj.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dropout(0.1f)] [Dense(16, Activation = Activation.Tanh)] [Dropout(0.1f)] [Dense(2)]
public partial class HfTinyRobertaClassifier;

// The HfBertTokenClassifier fixture's model (BertForTokenClassification, a named-entity tagger): BERT's encoder, then a
// classifier of five labels on every token.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Dropout(0.1f)] [Dense(5)]
public partial class HfTinyBertTokenClassifier;

// The HfBertCrossEncoder fixture's model: BERT's encoder with its token types (counted over [SEP] = 2: a pair's query, then
// its passage) and BertForSequenceClassification's head of one label (a cross-encoder's score of the pair).
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [TokenTypeEmbedding(types: 2, separator: 2)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dense(16, Activation = Activation.Tanh)] [Dropout(0.1f)] [Dense(1)]
public partial class HfTinyBertCrossEncoder;

// Its encoder alone, the token types declared before the positions (the sum is the same)
[Embedding(vocab: 13, dim: 16)] [TokenTypeEmbedding(types: 2, separator: 2)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyBertTypes;

// With three token types, which no BERT checkpoint of two loads
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [TokenTypeEmbedding(types: 3, separator: 2)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyBertThreeTypes;

// The HfBertQuestionAnswering fixture's model (BertForQuestionAnswering, an extractive answerer): BERT's encoder with its
// token types (the question, then its context), then qa_outputs on every token: its start and end logits.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [TokenTypeEmbedding(types: 2, separator: 2)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Dense(2)]
public partial class HfTinyBertQuestionAnswering;

// The HfModernBert fixture's model (ModernBertModel): the token table and its norm (no biases anywhere), then four pre-norm
// layers — the first without a norm before its attention, global over every key (rotary base 160000); then two local ones over
// a window of 4 (the keys within 2 steps on either side, base 10000); then a global one — each with its GeGLU feed-forward,
// then final_norm.
[Embedding(vocab: 13, dim: 16)] [LayerNorm(Bias = false)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 10000f, SlidingWindow = 4, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[LayerNorm(Bias = false)]
public partial class HfTinyModernBert;

// Its layers all global: the checkpoint's second layer is local, which the load names
[Embedding(vocab: 13, dim: 16)] [LayerNorm(Bias = false)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[Repeat(3)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)]
public partial class HfTinyModernBertGlobal;

// HfModernBert's encoder with ModernBertForSequenceClassification's head (classifier_pooling "mean"): the mean of the valid
// steps, head.dense (GELU, no bias), head.norm, dropout, the classifier of three labels
[Embedding(vocab: 13, dim: 16)] [LayerNorm(Bias = false)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 10000f, SlidingWindow = 4, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[LayerNorm(Bias = false)]
[Pool(PoolKind.Mean)] [Dense(16, Activation = Activation.Gelu, Bias = false)] [LayerNorm(Bias = false)] [Dropout(0.1f)] [Dense(3)]
public partial class HfTinyModernBertClassifier;

// And with ModernBertForMaskedLM's: every step through the same head, then the decoder tied to the token table, with its bias
[Embedding(vocab: 13, dim: 16)] [LayerNorm(Bias = false)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 10000f, SlidingWindow = 4, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[LayerNorm(Bias = false)] [Attention(Heads = 4, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual(Layers = 2)]
[LayerNorm(Bias = false)] [Dense(24, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[LayerNorm(Bias = false)]
[Dense(16, Activation = Activation.Gelu, Bias = false)] [LayerNorm(Bias = false)] [Dense(13, TieEmbedding = true)]
public partial class HfTinyModernBertMaskedLM;

// The HfNomicBert fixture's model (NomicBertModel, nomic-embed-text-v1.5's layout): the words (the first token type's row
// folded in), emb_ln, then two post-norm blocks: rotary attention of base 1000 without biases, norm1, the SwiGLU MLP without
// biases, norm2.
[Embedding(vocab: 13, dim: 16)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 1000f, Bias = false)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(256, Gated = true, Activation = Activation.Silu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyNomicBert;

// The HfNomicBertPair fixture's: its token types counted over [SEP] = 2, and half of each head turned (rotary_emb_fraction 0.5)
[Embedding(vocab: 13, dim: 16)] [TokenTypeEmbedding(types: 2, separator: 2)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4, Rotary = true, RotaryBase = 1000f, RotaryDimensions = 2, Bias = false)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(256, Gated = true, Activation = Activation.Silu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
public partial class HfTinyNomicBertPair;

// The HfMpnet fixture's model (all-mpnet-base-v2's layout): BERT's post-norm layers (ε 1e-5), 30 positions after the table's
// first 2 rows, no token types, MPNet's one relative position table (32 buckets up to 128) read by every layer's scores.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4, RelativeBuckets = 32)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
public partial class HfTinyMpnet;

// The HfMpnetClassifier fixture's model (MPNetForSequenceClassification): the same encoder, then the first token's vector,
// classifier.dense (tanh), classifier.out_proj to three labels.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4, RelativeBuckets = 32)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
[Pool(PoolKind.First)] [Dropout(0.1f)] [Dense(16, Activation = Activation.Tanh)] [Dropout(0.1f)] [Dense(3)]
public partial class HfTinyMpnetClassifier;

// HfTinyMpnet with a table of its own in each layer (RelativeShared = false): not MPNet's one table.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4, RelativeBuckets = 32, RelativeShared = false)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
public partial class HfTinyMpnetUnshared;

// The HfT5 fixture's model (flan-t5's encoder, T5EncoderModel): pre-norm blocks of RMS norms, 4 heads 6 wide (d_kv: 24 where
// d_model is 16), the scores unscaled plus the first block's relative table (8 buckets up to 12) read by both, the gated-gelu
// feed-forward (gelu_new: GELU's tanh form), the final norm.
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, HeadWidth = 6, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 8, RelativeMaxDistance = 12)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Gated = true, Activation = Activation.GeluTanh, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)]
public partial class HfTinyT5;

// The HfT5Generation fixture's decoder (flan-t5's, T5ForConditionalGeneration): pre-norm blocks, causal self-attention of 4 heads
// 6 wide with one-sided relative buckets (8 up to 12, the first block's table read by both), EncDecAttention over HfTinyT5's
// outputs (unscaled, no biases), the gated-gelu feed-forward, the final norm and lm_head (its own weight).
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, HeadWidth = 6, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 8, RelativeMaxDistance = 12)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Over = typeof(HfTinyT5), Heads = 4, HeadWidth = 6, Scale = 1f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Gated = true, Activation = Activation.GeluTanh, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class HfTinyT5Decoder;

// flan-t5's whole model: HfTinyT5 and its decoder over one token table (shared).
[EncoderDecoder(typeof(HfTinyT5), typeof(HfTinyT5Decoder), ShareEmbedding = true)]
public partial class HfTinyT5Seq2Seq;


// The HfT5Tied fixture's decoder (T5 v1.0's, t5-small's laid out small): one block of 4 heads of 4, one-sided buckets (32 up to
// 128), the ReLU feed-forward, its lm_head the tied table times d_model^−0.5 as a weight of its own; over HfTinyT5Relu's encoder.
[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 32)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Over = typeof(HfTinyT5Relu), Heads = 4, Scale = 1f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Relu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
[Dense(13, Bias = false)]
public partial class HfTinyT5v1Decoder;

[EncoderDecoder(typeof(HfTinyT5Relu), typeof(HfTinyT5v1Decoder), ShareEmbedding = true)]
public partial class HfTinyT5v1Seq2Seq;

// The HfT5Relu fixture's model (t5-small's encoder): heads of d_model / num_heads, 32 buckets up to 128, the ReLU feed-forward.
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Relu, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)]
public partial class HfTinyT5Relu;

// HfTinyQwen3 without its output layer: a base model (Qwen3Model, Qwen3-Embedding's layout), its last hidden state the output.
[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)]
public partial class HfTinyQwen3Base;

// The HfUmt5 fixture's model (UMT5EncoderModel): HfTinyT5 with a relative position table in each block (RelativeShared = false).
[Embedding(vocab: 13, dim: 16)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, HeadWidth = 6, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 8, RelativeMaxDistance = 12, RelativeShared = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Gated = true, Activation = Activation.GeluTanh, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)]
public partial class HfTinyUmt5;

// The HfBertMaskedLM fixture's model (BertForMaskedLM): HfTinyBert's encoder, then the masked-LM head on every token: dense
// (GELU), LayerNorm, the decoder tied to the token table with a bias of its own.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Dense(16, Activation = Activation.Gelu)] [LayerNorm(Epsilon = 1e-12f)] [Dense(13, TieEmbedding = true)]
public partial class HfTinyBertMaskedLM;

// HfTinyBertMaskedLM with a head of another activation than BERT's layers' (ReLU for GELU): refused.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 32)] [LayerNorm(Epsilon = 1e-12f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-12f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-12f)]
[EndRepeat]
[Dense(16, Activation = Activation.Relu)] [LayerNorm(Epsilon = 1e-12f)] [Dense(13, TieEmbedding = true)]
public partial class HfTinyBertMaskedLMRelu;

// The HfRobertaMaskedLM fixture's model (RobertaForMaskedLM): HfTinyRoberta's encoder, then RobertaLMHead: dense (GELU),
// layer_norm, the decoder tied to the token table with its bias.
[Embedding(vocab: 13, dim: 16)] [PositionEmbedding(maxLength: 30)] [LayerNorm(Epsilon = 1e-5f)]
[Repeat(2)]
[Attention(Heads = 4)] [Residual] [LayerNorm(Epsilon = 1e-5f)]
[Dense(24, Activation = Activation.Gelu)] [Dense(16)] [Residual(Layers = 2)] [LayerNorm(Epsilon = 1e-5f)]
[EndRepeat]
[Dense(16, Activation = Activation.Gelu)] [LayerNorm(Epsilon = 1e-5f)] [Dense(13, TieEmbedding = true)]
public partial class HfTinyRobertaMaskedLM;

// The HfGranite fixture's model (GraniteForCausalLM): the embedding times 12, 4 heads over 2 key/value heads scaled by 0.125,
// every bias (attention_bias, mlp_bias), each sub-layer's output times 0.25 before its residual, the tied logits divided by 8.
[Embedding(vocab: 29, dim: 32)] [Scale(12f)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Scale = 0.125f)] [Scale(0.25f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true)] [Dense(32)] [Scale(0.25f)] [Residual(Layers = 4)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(29, TieEmbedding = true, Bias = false)] [Scale(0.125f)]
public partial class HfTinyGranite;

// The HfCohere fixture's model (CohereForCausalLM): parallel layers, one layer norm without a shift for both branches, 4 heads over
// 2 with attention_bias, Cohere's interleaved rotation at base 500 (read by reordering the query and key rows), the tied head, the
// logits times logit_scale.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm(Bias = false)] [Dense(27, TieEmbedding = true, Bias = false)] [Scale(0.25f)]
public partial class HfTinyCohere;

// The HfCohereUntied fixture's model: HfTinyCohere's without the attention's biases, its head its own.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[EndRepeat]
[LayerNorm(Bias = false)] [Dense(27, Bias = false)] [Scale(0.25f)]
public partial class HfTinyCohereUntied;

// The HfCohere2 fixture's model (Cohere2ForCausalLM): Cohere's parallel layers, the first and last sliding (turned, a window of 4
// steps), the middle one full (turned nothing, every earlier step).
[Embedding(vocab: 27, dim: 32)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f, SlidingWindow = 4, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[LayerNorm(Bias = false)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500f, SlidingWindow = 4, Bias = false)]
[Branch]
[Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)]
[Residual(Layers = 3)] [Residual(Layers = 6)]
[LayerNorm(Bias = false)] [Dense(27, TieEmbedding = true, Bias = false)] [Scale(0.25f)]
public partial class HfTinyCohere2;

// The HfGraniteMoe fixture's model (GraniteMoeForCausalLM): Granite's multipliers and attention, a mixture of 4 SwiGLU experts of
// 24, 2 per row (the softmax of the two top scores: the renormalised top 2), its output times 0.25 before its residual.
[Embedding(vocab: 29, dim: 32)] [Scale(12f)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Scale = 0.125f)] [Scale(0.25f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24)] [Scale(0.25f)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(29, TieEmbedding = true, Bias = false)] [Scale(0.125f)]
public partial class HfTinyGraniteMoe;

// The HfGraniteMoeShared fixture's model (GraniteMoeSharedForCausalLM): HfTinyGraniteMoe's layers, each mixture with a shared
// expert of 20 (shared_mlp) added as it is.
[Embedding(vocab: 29, dim: 32)] [Scale(12f)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Scale = 0.125f)] [Scale(0.25f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24, SharedUnits = 20)] [Scale(0.25f)] [Residual(Layers = 3)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(29, TieEmbedding = true, Bias = false)] [Scale(0.125f)]
public partial class HfTinyGraniteMoeShared;

// Granite's layers with no multiplier left but the attention's and the logits' (their residuals over two and three layers), the
// logits' a factor whose reciprocal is not exact in float; and one whose residual multipliers differ (which one config.json
// cannot say).
[Embedding(vocab: 29, dim: 32)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Scale = 0.125f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true)] [Dense(32)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(29, TieEmbedding = true, Bias = false)] [Scale(0.4055292f)]
public partial class HfTinyGraniteBare;

[Embedding(vocab: 29, dim: 32)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, Scale = 0.125f)] [Scale(0.25f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(40, Activation = Activation.Silu, Gated = true)] [Dense(32)] [Scale(0.5f)] [Residual(Layers = 4)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(29, TieEmbedding = true, Bias = false)]
public partial class HfTinyGraniteUneven;

// Models one option away from a family's layout, for the walks' refusals: LLaMA's attention clipping its projections (OLMo
// 1.7's option), Qwen3's QK-norm across the heads (OLMo 2's), OLMo 2's per head (Qwen3's) and clipping (OLMo 1.7's).
[Embedding(vocab: 17, dim: 16)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, ClipQkv = 8f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(17, Bias = false)]
public partial class HfTinyLlamaClipped;

[Embedding(vocab: 13, dim: 16)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 8, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, Causal = true, Rotary = true, RotaryBase = 1000000f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(16, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(13, Bias = false, TieEmbedding = true)]
public partial class HfTinyQwen3Across;

[Embedding(vocab: 31, dim: 32)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, QueryKeyNorm = true)]
[RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 2)]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(31, Bias = false)]
public partial class HfTinyOlmo2PerHead;

[Embedding(vocab: 31, dim: 32)]
[Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 500000f, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, ClipQkv = 8f)]
[RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 2)]
[Dense(40, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [RmsNorm(Epsilon = 1e-6f)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(31, Bias = false)]
public partial class HfTinyOlmo2Clipped;

// The HfMixtral fixture's model (MixtralForCausalLM): 4 heads over 2 key/value heads in a window of 6 steps, 4 SwiGLU experts,
// 2 per row, the untied head.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1e6f, Bias = false, SlidingWindow = 6)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Moe(experts: 4, units: 24)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(27, Bias = false)]
public partial class HfTinyMixtral;

// The HfMixtralTied fixture's: no window, the head tied to the token table.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1e6f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Moe(experts: 4, units: 24)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(27, TieEmbedding = true, Bias = false)]
public partial class HfTinyMixtralTied;

// Mixtral's layers with OLMoE's router (the probabilities as they are): no Mixtral checkpoint says so.
[Embedding(vocab: 27, dim: 32)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1e6f, Bias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Moe(experts: 4, units: 24, NormalizeTopK = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Dense(27, Bias = false)]
public partial class HfTinyMixtralUnnormalised;

// The HfOlmoe fixture's model (OlmoeForCausalLM): QK-norm across the heads, attention_bias, 4 SwiGLU experts, 2 per row, the
// probabilities as they are (norm_topk_prob false), the untied head.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, QueryKeyNormEpsilon = 1e-5f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Moe(experts: 4, units: 24, NormalizeTopK = false)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(27, Bias = false)]
public partial class HfTinyOlmoe;

// The HfQwen3Moe fixture's model (Qwen3MoeForCausalLM): heads of 12 values over a width of 32, each head's QK-norm, 4 SwiGLU
// experts, 2 per row, renormalised (norm_topk_prob), the tied head.
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 12, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-6f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(27, TieEmbedding = true, Bias = false)]
public partial class HfTinyQwen3Moe;

// Qwen2-MoE's layers (HfQwen2Moe): Qwen2's attention (biases on q, k and v, none on o_proj), 2 of 4 SwiGLU experts as they are
// (norm_topk_prob false) and a shared expert of 20, scaled by its sigmoid gate
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24, NormalizeTopK = false, SharedUnits = 20, SharedExpertGate = true)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(27, Bias = false)]
public partial class HfTinyQwen2Moe;

// The HfQwen2MoeMixed fixture's model: HfTinyQwen2Moe's layers, the first dense (mlp_only_layers [0]: LLaMA's feed-forward of
// intermediate_size 48, no shared expert)
[Embedding(vocab: 27, dim: 32)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, OutputBias = false)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24, NormalizeTopK = false, SharedUnits = 20, SharedExpertGate = true)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-6f)] [Dense(27, Bias = false)]
public partial class HfTinyQwen2MoeMixed;

// The HfQwen3MoeMixed fixture's model: HfTinyQwen3Moe's layers, every other one dense (decoder_sparse_step 2: layers 0 and 2, LLaMA's
// feed-forward of intermediate_size 48), its head untied
[Embedding(vocab: 27, dim: 32)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 12, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-6f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 12, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-6f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Moe(experts: 4, units: 24)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Attention(Heads = 4, KeyValueHeads = 2, HeadWidth = 12, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, QueryKeyNormEpsilon = 1e-6f)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(48, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(32, Bias = false)] [Residual(Layers = 3)]
[RmsNorm(Epsilon = 1e-6f)] [Dense(27, Bias = false)]
public partial class HfTinyQwen3MoeMixed;

// Mixtral's layers with a shared expert in each mixture, which Mixtral's checkpoints have none of
[Embedding(vocab: 27, dim: 32)]
[Repeat(2)]
[RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 4, KeyValueHeads = 2, Causal = true, Rotary = true, RotaryBase = 1e6f, Bias = false, SlidingWindow = 6)] [Residual(Layers = 2)]
[RmsNorm(Epsilon = 1e-5f)] [Moe(experts: 4, units: 24, SharedUnits = 20, SharedExpertGate = true)] [Residual(Layers = 2)]
[EndRepeat]
[RmsNorm(Epsilon = 1e-5f)] [Dense(27, Bias = false)]
public partial class MoeSharedInMixtral;

