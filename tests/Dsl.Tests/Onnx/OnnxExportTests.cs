using System.Numerics.Tensors;
using Dsl.Onnx;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Dsl.Tests.Onnx;

/// <summary>
/// Round trips: each model exported to ONNX, its parameters drawn at random (<see cref="Perturbed"/>), runs in ONNX Runtime
/// (CPU) and gives what <c>Forward</c> gives (1e-4 relative), at two shapes, for every layer kind and option the exporter
/// writes; what it cannot write is refused naming the layer.
/// </summary>
public class OnnxExportTests
{
    internal static IModel Create(string name) => name switch
    {
        nameof(Dsl.Tests.Models.Lstm) => new Dsl.Tests.Models.Lstm(seed: 1),
        nameof(LstmStackedBidirectional) => new LstmStackedBidirectional(seed: 2),
        nameof(GruBidirectionalManyToOne) => new GruBidirectionalManyToOne(seed: 3),
        nameof(GruCho) => new GruCho(seed: 4),
        nameof(GruChoStackedBidirectional) => new GruChoStackedBidirectional(seed: 5),
        nameof(RnnRelu) => new RnnRelu(seed: 6),
        nameof(RnnStackedBidirectional) => new RnnStackedBidirectional(seed: 7),
        nameof(LstmStackedManyToOne) => new LstmStackedManyToOne(seed: 8),
        nameof(LstmResidualNorm) => new LstmResidualNorm(seed: 9),
        nameof(LstmGruDense) => new LstmGruDense(seed: 10),
        nameof(OnnxPositionalGru) => new OnnxPositionalGru(seed: 11),
        nameof(OnnxLearnedStates) => new OnnxLearnedStates(seed: 12),
        nameof(OnnxLearnedStepLstm) => new OnnxLearnedStepLstm(seed: 34),
        nameof(OnnxLayersNamedAsOutputs) => new OnnxLayersNamedAsOutputs(seed: 36),
        nameof(GcLearnedGruRnnState) => new GcLearnedGruRnnState(seed: 35),
        nameof(MaskedLstm) => new MaskedLstm(seed: 13),
        nameof(MaskedGruManyToOne) => new MaskedGruManyToOne(seed: 14),
        nameof(MaskedRnn) => new MaskedRnn(seed: 15),
        nameof(TransformerBlock) => new TransformerBlock(seed: 16),
        nameof(AttentionCausalStack) => new AttentionCausalStack(seed: 17),
        nameof(AttentionWide) => new AttentionWide(seed: 18),
        nameof(TinyGpt) => new TinyGpt(seed: 19),
        nameof(MaskedAttention) => new MaskedAttention(seed: 20),
        nameof(MaskedLstmAttention) => new MaskedLstmAttention(seed: 21),
        nameof(TfEncoder) => new TfEncoder(seed: 22),
        nameof(AttentionGeneralSelf) => new AttentionGeneralSelf(seed: 23),
        nameof(AttentionAdditiveCausal) => new AttentionAdditiveCausal(seed: 24),
        nameof(AttentionPool) => new AttentionPool(seed: 25),
        nameof(AttentionGeneralPool) => new AttentionGeneralPool(seed: 26),
        nameof(AttentionAdditivePool) => new AttentionAdditivePool(seed: 27),
        nameof(MaskedAttentionPool) => new MaskedAttentionPool(seed: 28),
        nameof(MaskedAdditiveSelf) => new MaskedAdditiveSelf(seed: 29),
        nameof(MaskedGeneralPool) => new MaskedGeneralPool(seed: 30),
        nameof(LstmProjection) => new LstmProjection(seed: 31),
        nameof(LstmProjectionStackedBidirectional) => new LstmProjectionStackedBidirectional(seed: 32),
        nameof(LstmProjectionWide) => new LstmProjectionWide(seed: 33),
        nameof(MaskedLstmProjection) => new MaskedLstmProjection(seed: 34),
        nameof(StatefulLstmProjection) => new StatefulLstmProjection(seed: 35),
        nameof(GcDropout) => new GcDropout(seed: 40),
        nameof(GcGruManyToOneDense) => new GcGruManyToOneDense(seed: 41),
        nameof(GcVariationalLstm) => new GcVariationalLstm(seed: 42),
        nameof(GcVariationalGru) => new GcVariationalGru(seed: 43),
        nameof(GcVariationalRnn) => new GcVariationalRnn(seed: 44),
        nameof(GcAttentionDotDropout) => new GcAttentionDotDropout(seed: 45),
        nameof(GcGeneralSelfCausal) => new GcGeneralSelfCausal(seed: 46),
        nameof(GcReluWithInputDropout) => new GcReluWithInputDropout(seed: 47),
        nameof(GcGeneralSelfDropout) => new GcGeneralSelfDropout(seed: 48),
        nameof(GcAdditivePoolDropout) => new GcAdditivePoolDropout(seed: 49),
        nameof(GcMultiHeadPoolDropout) => new GcMultiHeadPoolDropout(seed: 50),
        nameof(GcLearnedLstmState) => new GcLearnedLstmState(seed: 51),
        nameof(GcLearnedGruState) => new GcLearnedGruState(seed: 52),
        nameof(GcLstmProjection) => new GcLstmProjection(seed: 53),
        nameof(GcGruChoStackedBidirectional) => new GcGruChoStackedBidirectional(seed: 54),
        nameof(LstmTied) => new LstmTied(seed: 55),
        nameof(AttentionTied) => new AttentionTied(seed: 56),
        nameof(GcTiedGru) => new GcTiedGru(seed: 57),
        nameof(GcDenseWithoutBias) => new GcDenseWithoutBias(seed: 58),
        nameof(GcGelu) => new GcGelu(seed: 59),
        nameof(GptBlock) => new GptBlock(seed: 60),
        nameof(GcSiluGeluTanh) => new GcSiluGeluTanh(seed: 61),
        nameof(NanoGptBlock) => new NanoGptBlock(seed: 62),
        nameof(Gpt2Block) => new Gpt2Block(seed: 63),
        nameof(GcPositionEmbedding) => new GcPositionEmbedding(seed: 64),
        nameof(GcPositionEmbeddingGru) => new GcPositionEmbeddingGru(seed: 65),
        nameof(ScaledEmbeddingAttention) => new ScaledEmbeddingAttention(seed: 66),
        nameof(ScaledEmbeddingLstm) => new ScaledEmbeddingLstm(seed: 67),
        nameof(RmsNormBlock) => new RmsNormBlock(seed: 68),
        nameof(RmsNormManyToOne) => new RmsNormManyToOne(seed: 69),
        nameof(GcRmsNorm) => new GcRmsNorm(seed: 70),
        nameof(RotaryBlock) => new RotaryBlock(seed: 71),
        nameof(RotaryWide) => new RotaryWide(seed: 72),
        nameof(GcRotary) => new GcRotary(seed: 73),
        nameof(GcRotaryTokens) => new GcRotaryTokens(seed: 74),
        nameof(GatedFeedForward) => new GatedFeedForward(seed: 75),
        nameof(GcGated) => new GcGated(seed: 76),
        nameof(LlamaBlock) => new LlamaBlock(seed: 77),
        nameof(AttentionWithoutBias) => new AttentionWithoutBias(seed: 78),
        nameof(GroupedQueryBlock) => new GroupedQueryBlock(seed: 79),
        nameof(MultiQueryAttention) => new MultiQueryAttention(seed: 80),
        nameof(GcGroupedQuery) => new GcGroupedQuery(seed: 81),
        nameof(SlidingWindowBlock) => new SlidingWindowBlock(seed: 82),
        nameof(SlidingWindowAttention) => new SlidingWindowAttention(seed: 83),
        nameof(GcSlidingWindow) => new GcSlidingWindow(seed: 84),
        nameof(GcBidirectionalWindow) => new GcBidirectionalWindow(seed: 98),
        nameof(HfTinyLlama31) => new HfTinyLlama31(seed: 82),
        nameof(HfTinyQwen2) => new HfTinyQwen2(seed: 83),
        nameof(HfTinyLinearLlama) => new HfTinyLinearLlama(seed: 84),
        nameof(HfTinyYarnLlama) => new HfTinyYarnLlama(seed: 94),
        nameof(GcYarn) => new GcYarn(seed: 95),
        nameof(PartialRotaryBlock) => new PartialRotaryBlock(seed: 96),
        nameof(GcPartialRotary) => new GcPartialRotary(seed: 97),
        nameof(HfTinyPhi3LongRope) => new HfTinyPhi3LongRope(seed: 98),
        nameof(GcLongRope) => new GcLongRope(seed: 99),
        nameof(HfTinyDynamicLlama) => new HfTinyDynamicLlama(seed: 100),
        nameof(GcDynamic) => new GcDynamic(seed: 101),
        nameof(HfTinyBert) => new HfTinyBert(seed: 102),
        nameof(HfTinyQwen2Window) => new HfTinyQwen2Window(seed: 103),
        nameof(QwenBlock) => new QwenBlock(seed: 85),
        nameof(HeadWidthAttention) => new HeadWidthAttention(seed: 86),
        nameof(GcQueryKeyNorm) => new GcQueryKeyNorm(seed: 87),
        nameof(HfTinyQwen3) => new HfTinyQwen3(seed: 88),
        nameof(HfTinyGemma3) => new HfTinyGemma3(seed: 89),
        nameof(Gemma2Block) => new Gemma2Block(seed: 90),
        nameof(SoftCapAttention) => new SoftCapAttention(seed: 91),
        nameof(RelativeAttention) => new RelativeAttention(seed: 95),
        nameof(CausalRelativeAttention) => new CausalRelativeAttention(seed: 97),
        nameof(AlibiAttention) => new AlibiAttention(seed: 99),
        nameof(GcAlibi) => new GcAlibi(seed: 100),
        nameof(ParallelBlock) => new ParallelBlock(seed: 102),
        nameof(GcParallel) => new GcParallel(seed: 103),
        nameof(HfTinyGptNeoX) => new HfTinyGptNeoX(seed: 104),
        nameof(HfTinyPhi) => new HfTinyPhi(seed: 105),
        nameof(HfTinyStableLm) => new HfTinyStableLm(seed: 106),
        nameof(HfTinyStableLmParallel) => new HfTinyStableLmParallel(seed: 107),
        nameof(HfTinyGptBigCode) => new HfTinyGptBigCode(seed: 108),
        nameof(HfTinyFalcon) => new HfTinyFalcon(seed: 109),
        nameof(HfTinyFalconNew) => new HfTinyFalconNew(seed: 110),
        nameof(HfTinyGptJ) => new HfTinyGptJ(seed: 111),
        nameof(HfTinyOptPostNorm) => new HfTinyOptPostNorm(seed: 112),
        nameof(HfTinyGptNeo) => new HfTinyGptNeo(seed: 113),
        nameof(HfTinyStarcoder2) => new HfTinyStarcoder2(seed: 114),
        nameof(HfTinyFalconRw) => new HfTinyFalconRw(seed: 115),
        nameof(GcAlibiCausal) => new GcAlibiCausal(seed: 101),
        nameof(HfTinyBloom) => new HfTinyBloom(seed: 102),
        nameof(HfTinyJinaBert) => new HfTinyJinaBert(seed: 103),
        nameof(HfTinyMpt) => new HfTinyMpt(seed: 104),
        nameof(GcCausalRelative) => new GcCausalRelative(seed: 98),
        nameof(GcRelative) => new GcRelative(seed: 96),
        nameof(HfTinyMpnet) => new HfTinyMpnet(seed: 97),
        nameof(HfTinyT5) => new HfTinyT5(seed: 98),
        nameof(HfTinyUmt5) => new HfTinyUmt5(seed: 99),
        nameof(GcSoftCap) => new GcSoftCap(seed: 92),
        nameof(HfTinyGemma2) => new HfTinyGemma2(seed: 93),
        nameof(GcPoolMean) => new GcPoolMean(seed: 94),
        nameof(GcPoolFirst) => new GcPoolFirst(seed: 95),
        nameof(GcPoolLast) => new GcPoolLast(seed: 96),
        nameof(GcTokenTypes) => new GcTokenTypes(seed: 97),
        nameof(HfTinyModernBert) => new HfTinyModernBert(seed: 104),
        nameof(GcPoolMax) => new GcPoolMax(seed: 105),
        nameof(NormsWithoutAffine) => new NormsWithoutAffine(seed: 106),
        nameof(GcNormWithoutAffine) => new GcNormWithoutAffine(seed: 107),
        nameof(HfTinyOlmo) => new HfTinyOlmo(seed: 108),
        nameof(HfTinyOlmoBiased) => new HfTinyOlmoBiased(seed: 109),
        nameof(HfTinyOlmoClipped) => new HfTinyOlmoClipped(seed: 110),
        nameof(ClippedAttention) => new ClippedAttention(seed: 111),
        nameof(GcClipQkv) => new GcClipQkv(seed: 112),
        nameof(Olmo2Block) => new Olmo2Block(seed: 113),
        nameof(GcQueryKeyNormAcrossHeads) => new GcQueryKeyNormAcrossHeads(seed: 114),
        nameof(HfTinyOlmo2) => new HfTinyOlmo2(seed: 115),
        nameof(ScaledBlock) => new ScaledBlock(seed: 116),
        nameof(GcScale) => new GcScale(seed: 117),
        nameof(HfTinyGranite) => new HfTinyGranite(seed: 118),
        nameof(MoeBlock) => new MoeBlock(seed: 119),
        nameof(MoeVariants) => new MoeVariants(seed: 120),
        nameof(GcMoe) => new GcMoe(seed: 121),
        nameof(GcMoeVariants) => new GcMoeVariants(seed: 122),
        nameof(MoeShared) => new MoeShared(seed: 126),
        nameof(GcMoeShared) => new GcMoeShared(seed: 127),
        nameof(HfTinyQwen2Moe) => new HfTinyQwen2Moe(seed: 128),
        nameof(HfTinyGraniteMoe) => new HfTinyGraniteMoe(seed: 129),
        nameof(HfTinyMixtral) => new HfTinyMixtral(seed: 123),
        nameof(HfTinyOlmoe) => new HfTinyOlmoe(seed: 124),
        nameof(HfTinyQwen3Moe) => new HfTinyQwen3Moe(seed: 125),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> Exportable => new()
    {
        nameof(Dsl.Tests.Models.Lstm), nameof(LstmStackedBidirectional), nameof(GruBidirectionalManyToOne), nameof(GruCho), nameof(GruChoStackedBidirectional),
        nameof(RnnRelu), nameof(RnnStackedBidirectional), nameof(LstmStackedManyToOne), nameof(LstmResidualNorm), nameof(LstmGruDense),
        nameof(OnnxPositionalGru), nameof(OnnxLearnedStates),
        nameof(TransformerBlock), nameof(AttentionCausalStack), nameof(AttentionWide), nameof(TinyGpt), nameof(TfEncoder),
        nameof(AttentionGeneralSelf), nameof(AttentionAdditiveCausal), nameof(AttentionPool), nameof(AttentionGeneralPool), nameof(AttentionAdditivePool),
        nameof(LstmProjection), nameof(LstmProjectionStackedBidirectional), nameof(LstmProjectionWide), nameof(OnnxLayersNamedAsOutputs),
        // dropout of every kind (nothing at inference), learned initial states, causal General scores, Cho's GRU stacked both ways
        nameof(GcDropout), nameof(GcGruManyToOneDense), nameof(GcVariationalLstm), nameof(GcVariationalGru), nameof(GcVariationalRnn), nameof(GcAttentionDotDropout), nameof(GcGeneralSelfCausal), nameof(GcReluWithInputDropout), nameof(GcGeneralSelfDropout), nameof(GcAdditivePoolDropout), nameof(GcMultiHeadPoolDropout), nameof(GcLearnedLstmState), nameof(GcLearnedGruState), nameof(GcLstmProjection), nameof(GcGruChoStackedBidirectional),
        // weight tying: the output layer transposes the embedding's table
        nameof(LstmTied), nameof(AttentionTied), nameof(GcTiedGru), nameof(GcDenseWithoutBias), nameof(GcGelu), nameof(GptBlock), nameof(GcSiluGeluTanh), nameof(NanoGptBlock),
        // learned positions: a Gather of the table's rows
        nameof(Gpt2Block), nameof(GcPositionEmbedding), nameof(GcPositionEmbeddingGru),
        // an embedding scaled by √dim: a Mul after the Gather (the tied output layer reads the table unscaled)
        nameof(ScaledEmbeddingAttention), nameof(ScaledEmbeddingLstm),
        // RMS norm: x / √(ReduceMean(x²) + ε) · weight
        nameof(RmsNormBlock), nameof(RmsNormManyToOne), nameof(GcRmsNorm),
        // rotary positions: each head's halves turned by Cos and Sin of the steps' range (in double, as the runtime)
        nameof(RotaryBlock), nameof(RotaryWide), nameof(GcRotary), nameof(GcRotaryTokens),
        // gated linear units: the map's output Split into value and gate, value · act(gate)
        nameof(GatedFeedForward), nameof(GcGated), nameof(LlamaBlock),
        // nn.MultiheadAttention(bias=False): the projections' MatMuls alone
        nameof(AttentionWithoutBias),
        // grouped-query attention: the key/value heads Gathered for each group of query heads
        nameof(GroupedQueryBlock), nameof(MultiQueryAttention), nameof(GcGroupedQuery),
        // sliding windows: the causal mask's lower triangle below the window too; a step graph's query over the cache's last keys
        nameof(SlidingWindowBlock), nameof(SlidingWindowAttention), nameof(GcSlidingWindow), nameof(GcBidirectionalWindow),
        // LLaMA 3.1's and the linear scaled rotary frequencies: the constant frequencies scaled as the runtime scales them
        nameof(HfTinyLlama31), nameof(HfTinyLinearLlama), nameof(HfTinyYarnLlama), nameof(GcYarn),
        // a partial rotation: each head split into the turned pairs and the values kept, concatenated back
        nameof(PartialRotaryBlock), nameof(GcPartialRotary),
        // LongRoPE: the long factors' frequencies Where the pass's last position reaches past the original context
        nameof(HfTinyPhi3LongRope), nameof(GcLongRope),
        // dynamic NTK: the base raised by the pass's reach past the original context (Max, Pow), the frequencies its powers
        nameof(HfTinyDynamicLlama), nameof(GcDynamic),
        // BERT's post-norm encoder (LayerNorm after each residual)
        nameof(HfTinyBert),
        // Qwen2's window on its later layer alone
        nameof(HfTinyQwen2Window),
        // Qwen2's attention: the input projection's bias added, the output projection's MatMul alone
        nameof(HfTinyQwen2),
        // heads of their own width (the Split, the heads' Reshapes and out_proj's MatMul at heads · d); QK-norm: each head's
        // queries and keys reshaped to [B, T, h, d] and RMS-normalised over the last axis
        nameof(QwenBlock), nameof(HeadWidthAttention), nameof(GcQueryKeyNorm),
        // Qwen3's and Gemma 3's checkpoints' models: Gemma 3's norms after the attention and the feed-forward, a sliding layer
        // then a full one with its own rotary base and scaled frequencies
        nameof(HfTinyQwen3), nameof(HfTinyGemma3),
        // Gemma 2's soft caps: the scaled scores and the logits through Mul, Tanh, Mul
        nameof(Gemma2Block), nameof(SoftCapAttention), nameof(GcSoftCap), nameof(HfTinyGemma2),
        // T5's and MPNet's relative position bias: each distance clipped, its bucket from a constant, the table's row gathered
        nameof(RelativeAttention), nameof(GcRelative), nameof(HfTinyMpnet), nameof(HfTinyT5), nameof(HfTinyUmt5),
        // T5's decoder's: causal, the buckets' constant one-sided
        nameof(CausalRelativeAttention), nameof(GcCausalRelative),
        // ALiBi: |j − i| cast to float times each head's negative slope
        nameof(AlibiAttention), nameof(GcAlibi), nameof(GcAlibiCausal), nameof(HfTinyBloom), nameof(HfTinyMpt), nameof(HfTinyJinaBert),
        // parallel blocks: a [Branch] reads an earlier layer's output again, the residuals add the branches
        nameof(ParallelBlock), nameof(GcParallel), nameof(HfTinyGptNeoX), nameof(HfTinyPhi), nameof(HfTinyStableLmParallel), nameof(HfTinyGptBigCode), nameof(HfTinyFalconNew), nameof(HfTinyGptJ),
        // OPT's post-norm layers: the token table projected in before the learned positions, and out again before the tied output layer
        nameof(HfTinyOptPostNorm),
        // GPT-Neo's blocks: unscaled scores, the output projection's bias alone, a global layer and a local one
        nameof(HfTinyGptNeo),
        // StarCoder2's: layer norms, grouped rotary heads in a sliding window, every bias, the tied head
        nameof(HfTinyStarcoder2),
        // falcon-rw's ALiBi, added before the scores' scale: its slopes scaled with them
        nameof(HfTinyFalconRw),
        // [Pool]: ReduceMean over the steps, a Gather of the first and of the last step, ReduceMax
        nameof(GcPoolMean), nameof(GcPoolFirst), nameof(GcPoolLast), nameof(GcPoolMax),
        // BERT's token types: the separators before each id (CumSum, exclusive), at most the last type, its row gathered
        nameof(GcTokenTypes),
        // norms without their affine maps: LayerNormalization's scale a row of ones, no shift; the RMS norm's Mul by ones
        nameof(NormsWithoutAffine), nameof(GcNormWithoutAffine), nameof(HfTinyOlmo), nameof(HfTinyOlmoBiased),
        // OLMo 1.7's clip_qkv: a Clip after the input projection
        nameof(ClippedAttention), nameof(GcClipQkv), nameof(HfTinyOlmoClipped),
        // OLMo 2's QK-norm across the heads: q and k RMS-normalised over the last axis as they come from the Split
        nameof(Olmo2Block), nameof(GcQueryKeyNormAcrossHeads), nameof(HfTinyOlmo2),
        // [Scale]: a Mul by the constant
        nameof(ScaledBlock), nameof(GcScale), nameof(HfTinyGranite),
        // [Moe]: each expert over the rows that chose it (NonZero, Gather), weighted and added back (ScatterND, add); with
        // 3 rows of one step, some expert is chosen by none (a MatMul over zero rows)
        nameof(MoeBlock), nameof(MoeVariants), nameof(GcMoe), nameof(GcMoeVariants), nameof(HfTinyMixtral), nameof(HfTinyOlmoe), nameof(HfTinyQwen3Moe),
        // a shared expert: its two MatMuls over every row, scaled by Sigmoid of its gate's, added
        nameof(MoeShared), nameof(GcMoeShared), nameof(HfTinyQwen2Moe), nameof(HfTinyGraniteMoe),
        // ModernBERT's layers: rotary positions of two bases, the local layers' band on both sides, GeGLU, norms without biases
        nameof(HfTinyModernBert),
    };

    public static TheoryData<string> PaddedModels => new()
    {
        nameof(MaskedLstm), nameof(MaskedGruManyToOne), nameof(MaskedRnn), nameof(MaskedAttention), nameof(MaskedLstmAttention), nameof(TfEncoder),
        nameof(MaskedAttentionPool), nameof(MaskedAdditiveSelf), nameof(MaskedGeneralPool), nameof(MaskedLstmProjection),
        nameof(OnnxLearnedStates), nameof(GcLearnedLstmState), nameof(GcLearnedGruState), nameof(GcGruChoStackedBidirectional), nameof(GcVariationalRnn), nameof(GcGruManyToOneDense), nameof(GcGeneralSelfCausal), nameof(GcLstmProjection), nameof(GcMultiHeadPoolDropout), nameof(GcAdditivePoolDropout), nameof(RnnRelu), nameof(GruCho),
        nameof(GcPositionEmbedding), nameof(GcPositionEmbeddingGru), nameof(GcRotary), nameof(GcRotaryTokens), nameof(GcGroupedQuery), nameof(GcQueryKeyNorm), nameof(SoftCapAttention), nameof(HfTinyBert), nameof(GcRelative),
        // [Pool] over the valid steps: the padded ones zeroed, summed and divided by the length; the step at length − 1 kept by Where
        nameof(GcPoolMean), nameof(GcPoolFirst), nameof(GcPoolLast), nameof(GcPoolMax), nameof(GcTokenTypes),
        // a window, on both sides and causal, over padded sequences: the band and the padding masks together, a padded query
        // whose window holds no valid key kept on the last valid one
        nameof(GcBidirectionalWindow), nameof(GcSlidingWindow), nameof(HfTinyModernBert),
        // ALiBi's bias beside the padding mask (JinaBERT's)
        nameof(HfTinyJinaBert), nameof(GcAlibi),
    };

    /// <summary>
    /// Every parameter of <paramref name="model"/> drawn anew, uniform in [−0.5, 0.5] from a fixed seed: a seed-initialised
    /// model starts its biases, LayerNorm's shift, attention's biases and learned initial states at 0 and LayerNorm's scale
    /// at 1, where a bias in the wrong place, or a missing one, would give the same outputs.
    /// </summary>
    internal static T Perturbed<T>(T model, ulong seed = 0x5EED) where T : IModel
    {
        var rng = new Rng(seed);
        foreach (Parameter p in model.Parameters)
            foreach (ref float v in p.AsSpan()) v = rng.NextFloat() - 0.5f;
        return model;
    }

    /// <summary>
    /// The exported mixture runs each expert over the rows that chose it only, as the runtime does: an expert no row chose
    /// whose weights hold infinities leaves the outputs finite and equal to the runtime's (every expert computed densely and
    /// weighted by 0 gave NaN there).
    /// </summary>
    [Fact]
    public void AnExpertNoRowChoseIsNotComputed()
    {
        var model = Perturbed(new MoeVariants(seed: 120));
        const int steps = 2;
        var rng = new Rng((ulong)(1 * 31 + steps)); // Compare's input for [1, steps]
        float[] x = Enumerable.Range(0, steps * MoeVariants.InputWidth).Select(_ => rng.NextNormal()).ToArray();
        Parameter router = model.Parameters.First(p => p.Name.EndsWith(".router", StringComparison.Ordinal));
        int experts = router.Shape[0], width = router.Shape[1];
        var chosen = new HashSet<int>();
        for (int row = 0; row < steps; row++)
        {
            // the first mixture takes its top 1: the expert of the largest logit x · router[e]
            double[] logits = Enumerable.Range(0, experts).Select(e => Enumerable.Range(0, width).Sum(i => (double)x[row * width + i] * router.AsSpan()[e * width + i])).ToArray();
            chosen.Add(Array.IndexOf(logits, logits.Max()));
        }
        int idle = Enumerable.Range(0, experts).First(e => !chosen.Contains(e));
        Parameter weightOut = model.Parameters.First(p => p.Name == router.Name.Replace(".router", ".weight_out", StringComparison.Ordinal));
        int block = weightOut.Shape[1] * weightOut.Shape[2];
        weightOut.AsSpan().Slice(idle * block, block).Fill(float.PositiveInfinity);
        float[] expected = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<float>(x, [1, steps, MoeVariants.InputWidth])));
        Assert.All(expected, v => Assert.True(float.IsFinite(v), $"the runtime's output {v} (expert {idle} of {experts} chosen by no row)"));
        using var session = new InferenceSession(model.ToOnnx());
        Compare(model, session, 1, steps, lengths: null, $"{nameof(MoeVariants)}, expert {idle} infinite and chosen by no row");
    }

    [Theory]
    [MemberData(nameof(Exportable))]
    public void ExportedModelsRunInOnnxRuntimeAsForward(string name)
    {
        IModel model = Perturbed(Create(name));
        using var session = new InferenceSession(model.ToOnnx());
        foreach (var (batch, steps) in new[] { (2, 5), (3, 1) })
            Compare(model, session, batch, steps, lengths: null, $"{name} [{batch}, {steps}]");
    }

    [Theory]
    [MemberData(nameof(PaddedModels))]
    public void PaddedSequencesTakeALengthsInput(string name)
    {
        IModel model = Perturbed(Create(name));
        using var session = new InferenceSession(model.ToOnnx(new OnnxExportOptions { Lengths = true }));
        Assert.Contains("lengths", session.InputMetadata.Keys);
        Compare(model, session, 3, 6, [6, 2, 4], $"{name} lengths 6, 2, 4");
        Compare(model, session, 2, 3, [1, 3], $"{name} lengths 1, 3");
        // NaN at the padded steps of a float input reaches nothing in either (the graph reads them as zeros, as the runtime does)
        if (model is IModel<float>) Compare(model, session, 3, 6, [6, 2, 4], $"{name} lengths 6, 2, 4, NaN padding", padding: float.NaN);
    }

    [Fact]
    public void APositionalEncodingServesSequencesLongerThanATableWouldHold()
    {
        // the full graph had sliced a constant table of 1024 rows (MaxSteps): 1100 steps failed in ONNX Runtime
        var model = new OnnxPositionalGru(seed: 11);
        using var session = new InferenceSession(model.ToOnnx());
        Compare(model, session, 1, 1100, lengths: null, "1100 steps");
    }

    [Fact]
    public void TheGraphHasTheContractsNamesAndDynamicShapes()
    {
        using var tokens = new InferenceSession(new Dsl.Tests.Models.Lstm().ToOnnx());
        Assert.Equal(["input"], tokens.InputMetadata.Keys);
        Assert.Equal(typeof(long), tokens.InputMetadata["input"].ElementType);
        Assert.Equal([-1, -1], tokens.InputMetadata["input"].Dimensions);
        Assert.Equal(["output"], tokens.OutputMetadata.Keys);
        Assert.Equal([-1, -1, 11], tokens.OutputMetadata["output"].Dimensions);
        using var floats = new InferenceSession(new LstmStackedManyToOne().ToOnnx());
        Assert.Equal(typeof(float), floats.InputMetadata["input"].ElementType);
        Assert.Equal([-1, -1, 4], floats.InputMetadata["input"].Dimensions);
        Assert.Equal([-1, 1], floats.OutputMetadata["output"].Dimensions);
    }

    [Fact]
    public void WhatCannotBeExportedYetIsRefusedNamingTheLayer()
    {
        var cross = Assert.Throws<NotSupportedException>(() => new TfDecoder().ToOnnx());
        Assert.Contains("Layer 'attention_1' cannot be exported to ONNX yet: cross-attention exports in an encoder–decoder's step graph", cross.Message);
        var feeding = Assert.Throws<NotSupportedException>(() => new S2sFeedGeneralDecoder().ToOnnx());
        Assert.Contains("Layer 'lstm' cannot be exported to ONNX yet: input feeding couples it with the attention after it step by step: it exports in a step graph", feeding.Message);
        var composition = Assert.Throws<NotSupportedException>(() => ((IModel)new Seq2SeqDot()).ToOnnx());
        Assert.Contains("Seq2SeqDot is an encoder–decoder: it exports as two graphs, ExportOnnx(encoderPath, decoderStepPath)", composition.Message);
    }

    [Fact]
    public void AStepGraphRefusesAModelThatCannotStepNamingTheLayer()
    {
        var pool = Assert.Throws<NotSupportedException>(() => new MaskedAttentionPool(seed: 1).ToOnnxStep());
        Assert.Equal("Layer 'attention' pools over the whole sequence: a model with it does not step.", pool.Message);
        var bidirectional = Assert.Throws<NotSupportedException>(() => new LstmStackedBidirectional(seed: 1).ToOnnxStep());
        Assert.Contains("is bidirectional: a model with it does not step", bidirectional.Message);
    }

    [Fact]
    public void AStepGraphsPositionalEncodingServesPositionsPastTheTable()
    {
        // the step graph computes pe[position] (a table would end at MaxSteps, 1024): step 1500 as the runtime's Step
        var model = new OnnxPositionalGru(seed: 11);
        var rng = new Rng(4);
        OnnxPositionalGru.State state = model.CreateState(1);
        float[] x = new float[OnnxPositionalGru.InputWidth];
        for (int t = 0; t < 1500; t++)
        {
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
            model.Step(new ReadOnlyTensorSpan<float>(x, [1, OnnxPositionalGru.InputWidth]), state);
        }
        var carried = state.Tensors.Select(t => NamedOnnxValue.CreateFromTensor(t.Name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(t.AsSpan().ToArray(), [1, t.AsSpan().Length]))).ToList();
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        float[] expected = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<float>(x, [1, OnnxPositionalGru.InputWidth]), state));
        using var session = new InferenceSession(model.ToOnnxStep());
        using var results = session.Run([.. carried,
            NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [1, OnnxPositionalGru.InputWidth])),
            NamedOnnxValue.CreateFromTensor("position", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 1500 }, [1]))]);
        Tolerance.AssertClose(expected, results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray(), "step 1500");
    }

    [Fact]
    public void ExportOnnxWritesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dsl-onnx-{Guid.NewGuid():N}.onnx");
        try
        {
            new GruCho(seed: 4).ExportOnnx(path);
            using var session = new InferenceSession(path);
            Compare(new GruCho(seed: 4), session, 2, 4, null, "from the file");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm, new[] { 0, 3, 1, 2 })]
    [InlineData(RecurrentKind.Gru, new[] { 1, 0, 2 })]
    [InlineData(RecurrentKind.Rnn, new[] { 0 })]
    public void GatesMoveFromPyTorchsOrderToOnnxs(RecurrentKind kind, int[] expected)
    {
        Assert.Equal(expected, GateOrder.OnnxFromPyTorch(kind));
        // two hidden units, three columns: each value says its PyTorch gate, row and column
        int gates = expected.Length, hidden = 2, columns = 3;
        float[] rows = Enumerable.Range(0, gates * hidden * columns).Select(i => (float)i).ToArray();
        var onnx = new float[rows.Length];
        GateOrder.ToOnnx(kind, rows, hidden, columns, onnx);
        for (int g = 0; g < gates; g++)
            Assert.Equal(rows.AsSpan(expected[g] * hidden * columns, hidden * columns).ToArray(), onnx.AsSpan(g * hidden * columns, hidden * columns).ToArray());
        Assert.Throws<ArgumentException>(() => GateOrder.ToOnnx(kind, rows.AsSpan(1), hidden, columns, onnx));
    }

    /// <summary>
    /// A step graph's carried inputs — recurrent states, key/value caches, the position — started empty (zeros, no past
    /// steps, position 0) and replaced after each step by the graph's <c>next.*</c> outputs.
    /// </summary>
    private sealed class Carried
    {
        private readonly Dictionary<string, (float[]? Floats, long[]? Ints, int[] Dims)> _values = new();

        public Carried(InferenceSession session, int batch)
        {
            foreach (var (name, meta) in session.InputMetadata)
            {
                if (name is "input" or "memory" or "memory_lengths") continue;
                if (name == "position") _values[name] = (null, [0], [1]);
                else
                {
                    // [batch, width] states start at zero; [batch, past, width] caches start with no past step
                    int[] dims = meta.Dimensions.Length == 2 ? [batch, meta.Dimensions[1]] : [batch, 0, meta.Dimensions[2]];
                    _values[name] = (new float[dims.Aggregate(1, (a, d) => a * d)], null, dims);
                }
            }
        }

        public IEnumerable<string> Names => _values.Keys;

        public float[] this[string name] => _values[name].Floats!;

        public IEnumerable<NamedOnnxValue> Inputs => _values.Select(kv => kv.Value.Floats is { } f
            ? NamedOnnxValue.CreateFromTensor(kv.Key, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(f, kv.Value.Dims))
            : NamedOnnxValue.CreateFromTensor(kv.Key, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(kv.Value.Ints!, kv.Value.Dims)));

        public void Set(string name, float[] values, int[] dims) => _values[name] = (values, null, dims);

        public void Update(IEnumerable<DisposableNamedOnnxValue> results)
        {
            foreach (DisposableNamedOnnxValue r in results.Where(r => r.Name.StartsWith("next.", StringComparison.Ordinal)))
            {
                string name = r.Name["next.".Length..];
                _values[name] = name == "position"
                    ? (null, r.AsEnumerable<long>().ToArray(), [1])
                    : (r.AsEnumerable<float>().ToArray(), null, r.AsTensor<float>().Dimensions.ToArray());
            }
        }
    }

    [Theory]
    [InlineData(nameof(Dsl.Tests.Models.Lstm))]
    [InlineData(nameof(LstmGruDense))]
    [InlineData(nameof(RnnRelu))]
    [InlineData(nameof(TinyGpt))]
    [InlineData(nameof(OnnxPositionalGru))]
    [InlineData(nameof(StatefulLstmProjection))]
    [InlineData(nameof(AttentionAdditiveCausal))]
    [InlineData(nameof(AttentionCausalStack))]
    [InlineData(nameof(OnnxLayersNamedAsOutputs))]
    [InlineData(nameof(LstmTied))]
    [InlineData(nameof(AttentionTied))]
    [InlineData(nameof(GptBlock))]
    [InlineData(nameof(NanoGptBlock))]
    [InlineData(nameof(Gpt2Block))]
    [InlineData(nameof(GcPositionEmbeddingGru))]
    [InlineData(nameof(ScaledEmbeddingAttention))]
    [InlineData(nameof(ScaledEmbeddingLstm))]
    [InlineData(nameof(RmsNormBlock))]
    [InlineData(nameof(RotaryBlock))]
    [InlineData(nameof(GcRotary))]
    [InlineData(nameof(LlamaBlock))]
    [InlineData(nameof(GroupedQueryBlock))]
    [InlineData(nameof(SlidingWindowBlock))]
    [InlineData(nameof(HfTinyLlama31))]
    [InlineData(nameof(QwenBlock))]
    [InlineData(nameof(HfTinyGemma3))]
    [InlineData(nameof(Gemma2Block))]
    [InlineData(nameof(PartialRotaryBlock))]
    [InlineData(nameof(GcLongRope))]
    [InlineData(nameof(GcDynamic))]
    [InlineData(nameof(CausalRelativeAttention))]
    [InlineData(nameof(GcAlibiCausal))]
    [InlineData(nameof(HfTinyBloom))]
    [InlineData(nameof(HfTinyMpt))]
    [InlineData(nameof(ParallelBlock))]
    [InlineData(nameof(NormsWithoutAffine))]
    [InlineData(nameof(HfTinyOlmo))]
    [InlineData(nameof(HfTinyOlmoClipped))]
    [InlineData(nameof(HfTinyOlmo2))]
    [InlineData(nameof(ScaledBlock))]
    [InlineData(nameof(MoeBlock))]
    [InlineData(nameof(HfTinyMixtral))]
    [InlineData(nameof(HfTinyQwen2Moe))]
    [InlineData(nameof(GcParallel))]
    [InlineData(nameof(HfTinyGptNeoX))]
    [InlineData(nameof(HfTinyPhi))]
    [InlineData(nameof(HfTinyStableLm))]
    [InlineData(nameof(HfTinyGptBigCode))]
    [InlineData(nameof(HfTinyFalcon))]
    [InlineData(nameof(HfTinyOptPostNorm))]
    [InlineData(nameof(HfTinyGptNeo))]
    [InlineData(nameof(HfTinyFalconRw))]
    public void StepGraphsCarryTheStatesAsStepDoes(string name) => AssertStepGraphStepsAsStep(Perturbed(Create(name)), name);

    [Theory]
    [InlineData(nameof(OnnxLearnedStepLstm))]
    [InlineData(nameof(GcLearnedGruRnnState))]
    public void AStepGraphStartsFromTheLearnedInitialStatesWhenTheyAreLeftOut(string name)
    {
        var model = Create(name);
        var rng = new Rng(9);
        // learned states start at zero: make them something a zero start cannot pass for
        var learned = model.Parameters.Where(p => p.Name.Contains(".h0_", StringComparison.Ordinal) || p.Name.Contains(".c0_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(learned);
        foreach (Parameter p in learned) foreach (ref float v in p.AsSpan()) v = rng.NextNormal();
        // the session lists them as overridable initializers, not inputs: the first step leaves them out
        IModelState fresh = model is IModel<int> tokens ? tokens.CreateState(1) : ((IModel<float>)model).CreateState(1);
        using (var session = new InferenceSession(model.ToOnnxStep()))
        {
            Assert.All(fresh.Tensors, t => Assert.DoesNotContain(t.Name, session.InputMetadata.Keys));
            Assert.All(fresh.Tensors, t => Assert.Contains(t.Name, session.OverridableInitializerMetadata.Keys));
        }
        AssertStepGraphStepsAsStep(model, name);
    }

    internal static void AssertStepGraphStepsAsStep(IModel model, string name)
    {
        using var session = new InferenceSession(model.ToOnnxStep());
        AssertStepsAsStep(model, session, name);
    }

    /// <summary>Four steps of <paramref name="session"/> (a model's step graph) from zero states give what <c>Step</c> gives, outputs and states.</summary>
    internal static void AssertStepsAsStep(IModel model, InferenceSession session, string name)
    {
        const int batch = 2;
        var rng = new Rng(5);
        var carried = new Carried(session, batch);
        IModelState state = model is IModel<int> tokens ? tokens.CreateState(batch) : ((IModel<float>)model).CreateState(batch);
        for (int t = 0; t < 4; t++)
        {
            var inputs = new List<NamedOnnxValue>(carried.Inputs);
            float[] expected;
            if (model is IModel<int> tm)
            {
                int[] ids = [rng.NextInt(model.InputWidth), rng.NextInt(model.InputWidth)];
                expected = ParityModel.Flatten(tm.Step(new ReadOnlyTensorSpan<int>(ids, [batch]), state));
                inputs.Add(NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids.Select(i => (long)i).ToArray(), [batch])));
            }
            else
            {
                float[] values = Enumerable.Range(0, batch * model.InputWidth).Select(_ => rng.NextNormal()).ToArray();
                expected = ParityModel.Flatten(((IModel<float>)model).Step(new ReadOnlyTensorSpan<float>(values, [batch, model.InputWidth]), state));
                inputs.Add(NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, [batch, model.InputWidth])));
            }
            using var results = session.Run(inputs);
            Tolerance.AssertClose(expected, results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray(), $"{name} step {t}");
            carried.Update(results);
            foreach (NamedTensor tensor in state.Tensors) Tolerance.AssertClose(tensor.AsSpan(), carried[tensor.Name], $"{name} step {t} {tensor.Name}");
        }
    }

    /// <summary>The encoder–decoders with PyTorch's weights (Fixtures/make_fixtures.py).</summary>
    private static readonly string[] WithFixtures =
    [
        nameof(Seq2SeqDot), nameof(Seq2SeqGeneral), nameof(Seq2SeqMultiHead), nameof(Seq2SeqAdditive), nameof(TransformerSeq2Seq), nameof(TransformerSeq2SeqPreNorm),
        nameof(Seq2SeqFeedAdditive), nameof(Seq2SeqFeedGeneral), nameof(Seq2SeqTied), nameof(Seq2SeqShared), nameof(TransformerSeq2SeqJoint),
    ];

    /// <summary>Each encoder–decoder with its fixture's weights and with every parameter perturbed; two input-fed layers, perturbed.</summary>
    public static TheoryData<string, bool> EncoderDecoders
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (string name in WithFixtures)
            {
                data.Add(name, false);
                data.Add(name, true);
            }
            data.Add(nameof(OnnxTwoFedSeq2Seq), true);
            data.Add(nameof(OnnxUnbiasedSeq2Seq), true);
            data.Add(nameof(GcLlamaSeq2Seq), true);
            data.Add(nameof(GcT5Seq2Seq), true);
            data.Add(nameof(HfTinyT5Seq2Seq), true);
            return data;
        }
    }

    /// <summary>
    /// An encoder–decoder through what the tests read of it: its decoder, the memory's width, its two graphs, its greedy
    /// decoding, and the decoder's logits at each step of that decoding.
    /// </summary>
    internal sealed record Composition(IModel<int> Decoder, int MemoryWidth, byte[] Encoder, byte[] DecoderStep, Func<int[], int[]> Greedy, Func<int[], float[][]> Logits,
        Action<string, string, OnnxExternalData> Export);

    /// <summary>
    /// The encoder–decoder <paramref name="name"/>, with its fixture's weights or every parameter perturbed, its weights held
    /// in <paramref name="held"/> (float32: as they are).
    /// </summary>
    internal static Composition Compose(string name, bool perturbed, Precision held = Precision.Float32) => name switch
    {
        nameof(Seq2SeqDot) => Parts(new Seq2SeqDot(), name, perturbed, held),
        nameof(Seq2SeqGeneral) => Parts(new Seq2SeqGeneral(), name, perturbed, held),
        nameof(Seq2SeqMultiHead) => Parts(new Seq2SeqMultiHead(), name, perturbed, held),
        nameof(Seq2SeqAdditive) => Parts(new Seq2SeqAdditive(), name, perturbed, held),
        nameof(TransformerSeq2Seq) => Parts(new TransformerSeq2Seq(), name, perturbed, held),
        nameof(TransformerSeq2SeqPreNorm) => Parts(new TransformerSeq2SeqPreNorm(), name, perturbed, held),
        nameof(Seq2SeqFeedAdditive) => Parts(new Seq2SeqFeedAdditive(), name, perturbed, held),
        nameof(Seq2SeqFeedGeneral) => Parts(new Seq2SeqFeedGeneral(), name, perturbed, held),
        nameof(OnnxTwoFedSeq2Seq) => Parts(new OnnxTwoFedSeq2Seq(), name, perturbed, held),
        nameof(Seq2SeqTied) => Parts(new Seq2SeqTied(), name, perturbed, held),
        nameof(Seq2SeqShared) => Parts(new Seq2SeqShared(), name, perturbed, held),
        nameof(TransformerSeq2SeqJoint) => Parts(new TransformerSeq2SeqJoint(), name, perturbed, held),
        nameof(OnnxUnbiasedSeq2Seq) => Parts(new OnnxUnbiasedSeq2Seq(), name, perturbed, held),
        nameof(GcLlamaSeq2Seq) => Parts(new GcLlamaSeq2Seq(), name, perturbed, held),
        nameof(GcT5Seq2Seq) => Parts(new GcT5Seq2Seq(), name, perturbed, held),
        nameof(HfTinyT5Seq2Seq) => Parts(new HfTinyT5Seq2Seq(), name, perturbed, held),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(EncoderDecoders))]
    public void EncoderAndDecoderStepGraphsDecodeAsGreedy(string name, bool perturbed)
    {
        Composition composition = Compose(name, perturbed);
        using var encoderSession = new InferenceSession(composition.Encoder);
        using var decoderSession = new InferenceSession(composition.DecoderStep);
        AssertDecodesAsGreedy(composition, encoderSession, decoderSession, name + (perturbed ? " (perturbed)" : ""));
    }

    /// <summary>
    /// The encoder and decoder step sessions of <paramref name="composition"/> decode each source token for token as its
    /// greedy search does, with its logits at every step, one source at a time and both in one padded batch.
    /// </summary>
    internal static void AssertDecodesAsGreedy(Composition composition, InferenceSession encoderSession, InferenceSession decoderSession, string name)
    {
        (Func<int[], int[]> greedy, Func<int[], float[][]> steps) = (composition.Greedy, composition.Logits);
        foreach (int[] source in new[] { new[] { 3, 7, 1, 8, 2 }, new[] { 5, 9 } })
        {
            int[] expected = greedy(source);
            float[][] expectedLogits = steps(source);
            using var encoded = encoderSession.Run([
                NamedOnnxValue.CreateFromTensor("source", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(source.Select(i => (long)i).ToArray(), [1, source.Length])),
                NamedOnnxValue.CreateFromTensor("source_lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { source.Length }, [1]))]);
            var carried = new Carried(decoderSession, 1);
            // the decoder's initial states are the encoder's outputs under their names
            foreach (DisposableNamedOnnxValue r in encoded.Where(r => r.Name != "memory"))
                carried.Set(r.Name, r.AsEnumerable<float>().ToArray(), r.AsTensor<float>().Dimensions.ToArray());
            float[] memory = encoded.Single(r => r.Name == "memory").AsEnumerable<float>().ToArray();
            int width = memory.Length / source.Length;
            var tokens = new List<int>();
            int token = 1;
            for (int t = 0; t < expected.Length; t++)
            {
                var inputs = new List<NamedOnnxValue>(carried.Inputs)
                {
                    NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { token }, [1])),
                    NamedOnnxValue.CreateFromTensor("memory", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(memory, [1, source.Length, width])),
                    NamedOnnxValue.CreateFromTensor("memory_lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { source.Length }, [1])),
                };
                using var results = decoderSession.Run(inputs);
                float[] logits = results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
                Tolerance.AssertClose(expectedLogits[t], logits, $"{name} step {t}");
                carried.Update(results);
                token = TensorPrimitives.IndexOfMax(logits);
                tokens.Add(token);
            }
            Assert.Equal(expected, tokens);
        }

        // both sources in one padded batch (source_lengths 5 and 2, the second's padding an id the vocabulary has): each row
        // of the memory and of every step's logits is that of its source alone (the encoder's sequence_lens or key mask, the
        // decoder's memory mask); each row is fed its own greedy tokens, a finished row the start token
        int[][] sources = [[3, 7, 1, 8, 2], [5, 9]];
        int S = sources[0].Length;
        long[] padded = sources.SelectMany(x => x.Concat(Enumerable.Repeat(4, S - x.Length)).Select(i => (long)i)).ToArray();
        long[] lengths = sources.Select(x => (long)x.Length).ToArray();
        using var both = encoderSession.Run([
            NamedOnnxValue.CreateFromTensor("source", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(padded, [2, S])),
            NamedOnnxValue.CreateFromTensor("source_lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(lengths, [2]))]);
        var batched = new Carried(decoderSession, 2);
        foreach (DisposableNamedOnnxValue r in both.Where(r => r.Name != "memory"))
            batched.Set(r.Name, r.AsEnumerable<float>().ToArray(), r.AsTensor<float>().Dimensions.ToArray());
        float[] memories = both.Single(r => r.Name == "memory").AsEnumerable<float>().ToArray();
        int[][] greedyTokens = sources.Select(greedy).ToArray();
        float[][][] logitsAlone = sources.Select(steps).ToArray();
        int longest = greedyTokens.Max(g => g.Length);
        for (int t = 0; t < longest; t++)
        {
            long[] fed = greedyTokens.Select(g => (long)(t == 0 || t > g.Length ? 1 : g[t - 1])).ToArray();
            var inputs = new List<NamedOnnxValue>(batched.Inputs)
            {
                NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(fed, [2])),
                NamedOnnxValue.CreateFromTensor("memory", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(memories, [2, S, memories.Length / (2 * S)])),
                NamedOnnxValue.CreateFromTensor("memory_lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(lengths, [2])),
            };
            using var results = decoderSession.Run(inputs);
            float[] logits = results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
            int vocab = logits.Length / 2;
            for (int b = 0; b < 2; b++)
            {
                if (t < greedyTokens[b].Length)
                    Tolerance.AssertClose(logitsAlone[b][t], logits.AsSpan(b * vocab, vocab), $"{name} padded batch, row {b}, step {t}");
            }
            batched.Update(results);
        }
    }

    private static Composition Parts<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model, string name, bool perturbed, Precision held)
        where TEncoder : IEncoder<int> where TDecoder : IModel<int>
    {
        if (perturbed) Perturbed(model);
        else model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        model.Parameters.HoldWeightsIn(held);
        var (encoder, decoder) = model.ToOnnx();
        int[] Greedy(int[] source) => model.Greedy(new ReadOnlyTensorSpan<int>(source, [1, source.Length]), startToken: 1, maxLength: 6);
        float[][] Logits(int[] source)
        {
            int[] output = Greedy(source);
            IModelState state = model.Encode(new ReadOnlyTensorSpan<int>(source, [1, source.Length]));
            return new[] { 1 }.Concat(output[..^1]).Select(token => ParityModel.Flatten(model.Decoder.Step(new ReadOnlyTensorSpan<int>([token], [1]), state))).ToArray();
        }
        return new Composition(model.Decoder, model.Encoder.OutputWidth, encoder, decoder, Greedy, Logits, (e, d, external) => model.ExportOnnx(e, d, external));
    }

    private static NamedOnnxValue Longs(string name, long[] values, params int[] dims) =>
        NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(values, dims));

    private static NamedOnnxValue Floats(string name, float[] values, params int[] dims) =>
        NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, dims));

    [Fact]
    public void TokenIdsOutsideTheVocabularyFailInOnnxRuntimeAsInTheRuntime()
    {
        // the runtime refuses ids outside [0, vocab); ONNX's Gather would read −1 as the last row (−vocab as the first): the
        // graphs make a negative id out of range, so that ONNX Runtime fails on it as on an id ≥ vocab
        var model = new Dsl.Tests.Models.Lstm(seed: 1);
        int vocab = ((IModel)model).InputWidth;
        Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([2, -1], [1, 2])));
        long[] refused = [-1, -vocab, vocab];
        using (var full = new InferenceSession(model.ToOnnx()))
        {
            using (full.Run([Longs("input", [2, vocab - 1, 0], 1, 3)])) { } // the ids at both ends of the vocabulary run
            foreach (long id in refused) Assert.Throws<OnnxRuntimeException>(() => full.Run([Longs("input", [2, id], 1, 2)]));
        }
        using (var padded = new InferenceSession(model.ToOnnx(new OnnxExportOptions { Lengths = true })))
            foreach (long id in refused) Assert.Throws<OnnxRuntimeException>(() => padded.Run([Longs("input", [2, id], 1, 2), Longs("lengths", [2], 1)]));
        using (var step = new InferenceSession(model.ToOnnxStep()))
        {
            var carried = new Carried(step, 1);
            using (step.Run([.. carried.Inputs, Longs("input", [vocab - 1], 1)])) { }
            foreach (long id in refused) Assert.Throws<OnnxRuntimeException>(() => step.Run([.. carried.Inputs, Longs("input", [id], 1)]));
        }
        // an encoder–decoder's encoder and decoder step
        Composition composition = Compose(nameof(Seq2SeqDot), perturbed: true);
        using var encoder = new InferenceSession(composition.Encoder);
        foreach (long id in new long[] { -1, -10, 10 }) // the encoder's vocabulary: 10
            Assert.Throws<OnnxRuntimeException>(() => encoder.Run([Longs("source", [3, id], 1, 2), Longs("source_lengths", [2], 1)]));
        using var decoder = new InferenceSession(composition.DecoderStep);
        var states = new Carried(decoder, 1);
        NamedOnnxValue[] memory = [Floats("memory", new float[2 * composition.MemoryWidth], 1, 2, composition.MemoryWidth), Longs("memory_lengths", [2], 1)];
        using (decoder.Run([.. states.Inputs, .. memory, Longs("input", [8], 1)])) { }
        foreach (long id in new long[] { -1, -9, 9 }) // the decoder's vocabulary: 9
            Assert.Throws<OnnxRuntimeException>(() => decoder.Run([.. states.Inputs, .. memory, Longs("input", [id], 1)]));
    }

    [Fact]
    public void LengthsOutsideOneToTheStepsFailInOnnxRuntimeAsInTheRuntime()
    {
        // the runtime refuses a length of 0, a negative one or one past the steps; the graphs fail on them too, naming the rule
        var model = new MaskedLstm(seed: 1);
        Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([2, 3], [1, 2]), [3]));
        using (var full = new InferenceSession(model.ToOnnx(new OnnxExportOptions { Lengths = true })))
        {
            using (full.Run([Longs("input", [2, 3, 1, 4], 2, 2), Longs("lengths", [2, 1], 2)])) { } // both ends run
            foreach (long length in new long[] { 0, -1, 3 })
            {
                var e = Assert.Throws<OnnxRuntimeException>(() => full.Run([Longs("input", [2, 3, 1, 4], 2, 2), Longs("lengths", [2, length], 2)]));
                Assert.Contains("lengths_must_be_1_to_steps", e.Message);
            }
        }
        Composition composition = Compose(nameof(Seq2SeqDot), perturbed: true);
        using var encoder = new InferenceSession(composition.Encoder);
        using (encoder.Run([Longs("source", [3, 4], 1, 2), Longs("source_lengths", [2], 1)])) { }
        foreach (long length in new long[] { 0, 3 })
        {
            var e = Assert.Throws<OnnxRuntimeException>(() => encoder.Run([Longs("source", [3, 4], 1, 2), Longs("source_lengths", [length], 1)]));
            Assert.Contains("source_lengths_must_be_1_to_steps", e.Message);
        }
        using var decoder = new InferenceSession(composition.DecoderStep);
        var states = new Carried(decoder, 1);
        NamedOnnxValue[] Memory(long length) => [Floats("memory", new float[2 * composition.MemoryWidth], 1, 2, composition.MemoryWidth), Longs("memory_lengths", [length], 1)];
        using (decoder.Run([.. states.Inputs, .. Memory(1), Longs("input", [8], 1)])) { }
        foreach (long length in new long[] { 0, 3 })
        {
            var e = Assert.Throws<OnnxRuntimeException>(() => decoder.Run([.. states.Inputs, .. Memory(length), Longs("input", [8], 1)]));
            Assert.Contains("memory_lengths_must_be_1_to_steps", e.Message);
        }
    }

    public static TheoryData<string> DecodersOverPaddedMemory => new(WithFixtures.Append(nameof(OnnxTwoFedSeq2Seq)));

    [Theory]
    [MemberData(nameof(DecodersOverPaddedMemory))]
    public void WhatAPaddedMemoryStepHoldsReachesNoOutputOfTheDecoderStep(string name)
    {
        // the runtime's cross-attention reads the first memory_lengths[b] steps of each source only; the graph reads the
        // padded steps as zeros, so NaN there (past the length: a caller's padding) reaches no output, as in the runtime
        Composition composition = Compose(name, perturbed: true);
        const int B = 2, S = 5;
        int W = composition.MemoryWidth;
        int[] lengths = [S, 2];
        var rng = new Rng(21);
        float[] memory = new float[B * S * W]; // batch-major [B, S, W], as the graph reads it
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++)
                for (int w = 0; w < W; w++) memory[(b * S + s) * W + w] = s < lengths[b] ? rng.NextNormal() : float.NaN;
        float[] timeMajor = new float[S * B * W]; // [S, B, W], as the runtime keeps it
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) memory.AsSpan((b * S + s) * W, W).CopyTo(timeMajor.AsSpan((s * B + b) * W, W));
        EncoderOutput encoded = EncoderOutput.Create(B, S, W, timeMajor, default, lengths, [], []);
        encoded.SetHasLengths(true);
        var state = (IDecoderState)composition.Decoder.CreateState(B);
        state.Attend(encoded);

        using var session = new InferenceSession(composition.DecoderStep);
        var carried = new Carried(session, B);
        for (int t = 0; t < 4; t++)
        {
            int[] ids = [rng.NextInt(composition.Decoder.InputWidth), rng.NextInt(composition.Decoder.InputWidth)];
            float[] expected = ParityModel.Flatten(composition.Decoder.Step(new ReadOnlyTensorSpan<int>(ids, [B]), state));
            Assert.All(expected, v => Assert.True(float.IsFinite(v), $"{name}: the runtime's step {t} is not finite"));
            using var results = session.Run([.. carried.Inputs, Longs("input", ids.Select(i => (long)i).ToArray(), B),
                Floats("memory", memory, B, S, W), Longs("memory_lengths", lengths.Select(l => (long)l).ToArray(), B)]);
            Tolerance.AssertClose(expected, results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray(), $"{name} NaN in padded memory, step {t}");
            carried.Update(results);
            foreach (NamedTensor tensor in state.Tensors) Tolerance.AssertClose(tensor.AsSpan(), carried[tensor.Name], $"{name} NaN in padded memory, step {t} {tensor.Name}");
        }
    }

    /// <summary>Random input of the shape, through ONNX Runtime and through Forward (with lengths when given).</summary>
    internal static void Compare(IModel model, InferenceSession session, int batch, int steps, int[]? lengths, string what, float? padding = null)
    {
        List<NamedOnnxValue> inputs = Inputs(model, batch, steps, lengths, padding, out float[] expected);
        Tolerance.AssertClose(expected, Output(session, inputs), what);
    }

    /// <summary>The graph's output <c>output</c> for <paramref name="inputs"/>.</summary>
    internal static float[] Output(InferenceSession session, List<NamedOnnxValue> inputs)
    {
        using var results = session.Run(inputs);
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    /// <summary>
    /// A batch of inputs drawn for [<paramref name="batch"/>, <paramref name="steps"/>] (token ids or normal floats, the padded
    /// steps set to <paramref name="padding"/>), as the graph's inputs, and what <c>Forward</c> gives for them.
    /// </summary>
    internal static List<NamedOnnxValue> Inputs(IModel model, int batch, int steps, int[]? lengths, float? padding, out float[] expected)
    {
        var rng = new Rng((ulong)(batch * 31 + steps));
        var inputs = new List<NamedOnnxValue>();
        if (model is IModel<int> tokens)
        {
            int[] ids = Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(model.InputWidth)).ToArray();
            var x = new ReadOnlyTensorSpan<int>(ids, [batch, steps]);
            expected = ParityModel.Flatten(lengths is null ? tokens.Forward(x) : tokens.Forward(x, lengths));
            inputs.Add(NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids.Select(i => (long)i).ToArray(), [batch, steps])));
        }
        else
        {
            var floats = (IModel<float>)model;
            float[] values = Enumerable.Range(0, batch * steps * model.InputWidth).Select(_ => rng.NextNormal()).ToArray();
            for (int b = 0; b < batch && padding is float pad; b++)
                values.AsSpan((b * steps + lengths![b]) * model.InputWidth, (steps - lengths[b]) * model.InputWidth).Fill(pad);
            var x = new ReadOnlyTensorSpan<float>(values, [batch, steps, model.InputWidth]);
            expected = ParityModel.Flatten(lengths is null ? floats.Forward(x) : floats.Forward(x, lengths));
            inputs.Add(NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, [batch, steps, model.InputWidth])));
        }
        if (lengths is not null)
            inputs.Add(NamedOnnxValue.CreateFromTensor("lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(lengths.Select(l => (long)l).ToArray(), [batch])));
        return inputs;
    }
}

/// <summary>
/// A model past protobuf's 2 GB limit on one message is refused before it is written, naming its size: reached through
/// the lowered limit (<see cref="OnnxGraph.MaxModelBytes"/>, process-wide: serial), not 2 GB of weights.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public sealed class OnnxSizeLimitTests : IDisposable
{
    public void Dispose() => OnnxGraph.MaxModelBytes = int.MaxValue;

    [Fact]
    public void AModelPastTheProtobufLimitIsRefusedNamingItsSize()
    {
        Assert.Equal(int.MaxValue, OnnxGraph.MaxModelBytes);
        // the size is counted exactly (the Loop body of an LSTM projection included): a model of the limit's size is written
        foreach (IModel model in new IModel[] { new Dsl.Tests.Models.Lstm(seed: 1), new LstmProjection(seed: 31) })
        {
            byte[] bytes = model.ToOnnx();
            OnnxGraph.MaxModelBytes = bytes.Length;
            Assert.Equal(bytes, model.ToOnnx());
            OnnxGraph.MaxModelBytes = bytes.Length - 1;
            var e = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
            Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"would take {bytes.Length:N0} bytes, past the 2 GB protobuf limit on one message (at most {bytes.Length - 1:N0} bytes)"), e.Message);
            OnnxGraph.MaxModelBytes = int.MaxValue;
        }
        // the step graph and an encoder–decoder's graphs
        OnnxGraph.MaxModelBytes = 100;
        Assert.Throws<NotSupportedException>(() => new Dsl.Tests.Models.Lstm(seed: 1).ToOnnxStep());
        Assert.Throws<NotSupportedException>(() => new Seq2SeqDot().ToOnnx());
    }
}
