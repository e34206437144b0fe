using System.Numerics.Tensors;
using Dsl.Tests.Models;

namespace Dsl.Tests.Parity;

/// <summary>A generated model seen through the inputs a fixture holds (token ids or floats, class ids or float targets).</summary>
internal interface IParityModel
{
    ParameterSet Parameters { get; }

    float[] Forward(SafeTensor input);

    float Backward(SafeTensor input, SafeTensor targets);
}

internal static class ParityModel
{
    /// <summary>Every model <see cref="Create"/> makes, each with a PyTorch fixture (ParityTests; tests/arm64 runs them under qemu).</summary>
    public static readonly string[] Names =
    [
        nameof(RnnTanh), nameof(RnnRelu), nameof(Models.Lstm), nameof(Models.Gru), nameof(GruCho),
        nameof(LstmStackedBidirectional), nameof(GruBidirectionalManyToOne), nameof(LstmStackedManyToOne),
        nameof(RnnStackedBidirectional), nameof(GruChoStackedBidirectional), nameof(LstmGruDense), nameof(LstmSingleStep),
        nameof(LstmWide), nameof(GruWide), nameof(GruChoWide), nameof(RnnWide),
        nameof(AttentionSelf), nameof(AttentionCausalStack), nameof(AttentionWide), nameof(AttentionPool),
        nameof(AttentionGeneralSelf), nameof(AttentionAdditiveCausal), nameof(AttentionGeneralPool), nameof(AttentionAdditivePool),
        nameof(TransformerBlock), nameof(LstmResidualNorm),
        nameof(LstmProjection), nameof(LstmProjectionStackedBidirectional), nameof(LstmProjectionWide),
        nameof(LstmTied), nameof(AttentionTied), nameof(GptBlock), nameof(FeedForwardActivations), nameof(NanoGptBlock),
        nameof(Gpt2Block), nameof(PositionEmbeddingLstm), nameof(ScaledEmbeddingAttention), nameof(ScaledEmbeddingLstm),
        nameof(RmsNormBlock), nameof(RmsNormManyToOne), nameof(RotaryBlock), nameof(RotaryWide),
        nameof(GatedFeedForward), nameof(LlamaBlock), nameof(AttentionWithoutBias), nameof(GroupedQueryBlock), nameof(MultiQueryAttention),
        nameof(SlidingWindowBlock), nameof(SlidingWindowAttention), nameof(QwenBlock), nameof(HeadWidthAttention),
        nameof(Gemma2Block), nameof(SoftCapAttention), nameof(PartialRotaryBlock), nameof(RelativeAttention), nameof(CausalRelativeAttention), nameof(AlibiAttention),
        nameof(ParallelBlock), nameof(NormsWithoutAffine), nameof(ClippedAttention), nameof(Olmo2Block), nameof(ScaledBlock),
        nameof(MoeBlock), nameof(MoeVariants), nameof(MoeBalanced), nameof(MoeShared)
    ];

    public static IParityModel Create(string name) => name switch
    {
        nameof(RnnTanh) => Tokens(new RnnTanh()),
        nameof(RnnRelu) => Floats(new RnnRelu()),
        nameof(Models.Lstm) => Tokens(new Models.Lstm()),
        nameof(Models.Gru) => Tokens(new Models.Gru()),
        nameof(GruCho) => Floats(new GruCho()),
        nameof(LstmStackedBidirectional) => Floats(new LstmStackedBidirectional()),
        nameof(GruBidirectionalManyToOne) => Tokens(new GruBidirectionalManyToOne()),
        nameof(LstmStackedManyToOne) => Floats(new LstmStackedManyToOne()),
        nameof(RnnStackedBidirectional) => Tokens(new RnnStackedBidirectional()),
        nameof(GruChoStackedBidirectional) => Floats(new GruChoStackedBidirectional()),
        nameof(LstmGruDense) => Tokens(new LstmGruDense()),
        nameof(LstmSingleStep) => Tokens(new LstmSingleStep()),
        nameof(LstmWide) => Tokens(new LstmWide()),
        nameof(GruWide) => Floats(new GruWide()),
        nameof(GruChoWide) => Floats(new GruChoWide()),
        nameof(RnnWide) => Floats(new RnnWide()),
        nameof(AttentionSelf) => Floats(new AttentionSelf()),
        nameof(AttentionCausalStack) => Tokens(new AttentionCausalStack()),
        nameof(AttentionWide) => Floats(new AttentionWide()),
        nameof(AttentionPool) => Floats(new AttentionPool()),
        nameof(AttentionGeneralSelf) => Floats(new AttentionGeneralSelf()),
        nameof(AttentionAdditiveCausal) => Tokens(new AttentionAdditiveCausal()),
        nameof(AttentionGeneralPool) => Floats(new AttentionGeneralPool()),
        nameof(AttentionAdditivePool) => Tokens(new AttentionAdditivePool()),
        nameof(TransformerBlock) => Floats(new TransformerBlock()),
        nameof(LstmResidualNorm) => Tokens(new LstmResidualNorm()),
        nameof(LstmProjection) => Tokens(new LstmProjection()),
        nameof(LstmProjectionStackedBidirectional) => Floats(new LstmProjectionStackedBidirectional()),
        nameof(LstmProjectionWide) => Floats(new LstmProjectionWide()),
        nameof(LstmTied) => Tokens(new LstmTied()),
        nameof(AttentionTied) => Tokens(new AttentionTied()),
        nameof(GptBlock) => Tokens(new GptBlock()),
        nameof(FeedForwardActivations) => Floats(new FeedForwardActivations()),
        nameof(NanoGptBlock) => Tokens(new NanoGptBlock()),
        nameof(Gpt2Block) => Tokens(new Gpt2Block()),
        nameof(PositionEmbeddingLstm) => Floats(new PositionEmbeddingLstm()),
        nameof(ScaledEmbeddingAttention) => Tokens(new ScaledEmbeddingAttention()),
        nameof(ScaledEmbeddingLstm) => Tokens(new ScaledEmbeddingLstm()),
        nameof(RmsNormBlock) => Tokens(new RmsNormBlock()),
        nameof(RmsNormManyToOne) => Floats(new RmsNormManyToOne()),
        nameof(RotaryBlock) => Tokens(new RotaryBlock()),
        nameof(RotaryWide) => Floats(new RotaryWide()),
        nameof(GatedFeedForward) => Floats(new GatedFeedForward()),
        nameof(LlamaBlock) => Tokens(new LlamaBlock()),
        nameof(AttentionWithoutBias) => Tokens(new AttentionWithoutBias()),
        nameof(GroupedQueryBlock) => Tokens(new GroupedQueryBlock()),
        nameof(MultiQueryAttention) => Floats(new MultiQueryAttention()),
        nameof(SlidingWindowBlock) => Tokens(new SlidingWindowBlock()),
        nameof(SlidingWindowAttention) => Floats(new SlidingWindowAttention()),
        nameof(QwenBlock) => Tokens(new QwenBlock()),
        nameof(HeadWidthAttention) => Floats(new HeadWidthAttention()),
        nameof(Gemma2Block) => Tokens(new Gemma2Block()),
        nameof(SoftCapAttention) => Floats(new SoftCapAttention()),
        nameof(RelativeAttention) => Floats(new RelativeAttention()),
        nameof(CausalRelativeAttention) => Floats(new CausalRelativeAttention()),
        nameof(AlibiAttention) => Floats(new AlibiAttention()),
        nameof(ParallelBlock) => Tokens(new ParallelBlock()),
        nameof(NormsWithoutAffine) => Tokens(new NormsWithoutAffine()),
        nameof(ClippedAttention) => Tokens(new ClippedAttention()),
        nameof(Olmo2Block) => Tokens(new Olmo2Block()),
        nameof(ScaledBlock) => Tokens(new ScaledBlock()),
        nameof(MoeBlock) => Tokens(new MoeBlock()),
        nameof(MoeVariants) => Floats(new MoeVariants()),
        nameof(MoeBalanced) => Tokens(new MoeBalanced()),
        nameof(MoeShared) => Floats(new MoeShared()),
        nameof(PartialRotaryBlock) => Tokens(new PartialRotaryBlock()),
        _ => throw new ArgumentException($"No parity model named '{name}'.", nameof(name)),
    };

    private static IParityModel Tokens(IModel<int> model) => new Adapter<int>(model, t => t.ToInt32());

    private static IParityModel Floats(IModel<float> model) => new Adapter<float>(model, t => t.ToFloat());

    public static ReadOnlyTensorSpan<T> Span<T>(T[] values, long[] shape) => new(values, shape.Select(d => (nint)d).ToArray());

    public static float[] Flatten(Tensor<float> y)
    {
        var flat = new float[y.FlattenedLength];
        y.FlattenTo(flat);
        return flat;
    }

    private sealed class Adapter<TIn>(IModel<TIn> model, Func<SafeTensor, TIn[]> read) : IParityModel
    {
        public ParameterSet Parameters => model.Parameters;

        public float[] Forward(SafeTensor input) => Flatten(model.Forward(Span(read(input), input.Shape)));

        public float Backward(SafeTensor input, SafeTensor targets) =>
            targets.DType is SafeTensorsDType.I64 or SafeTensorsDType.I32
                ? model.Backward(Span(read(input), input.Shape), Span(targets.ToInt32(), targets.Shape))
                : model.Backward(Span(read(input), input.Shape), Span(targets.ToFloat(), targets.Shape));
    }
}
