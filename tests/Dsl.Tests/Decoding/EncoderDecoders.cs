using Dsl.Tests.Models;

namespace Dsl.Tests.Decoding;

/// <summary>Something a test does with an encoder–decoder of whichever generated types.</summary>
internal interface IEncoderDecoderUse<out T>
{
    T Use<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model) where TEncoder : IEncoder<int> where TDecoder : IModel<int>;
}

/// <summary>The encoder–decoders the decoding tests run (every kind of cross-attention, input feeding, a shared table, T5's), by name.</summary>
internal static class EncoderDecoders
{
    public static readonly string[] Names =
    [
        nameof(Seq2SeqDot), nameof(Seq2SeqGeneral), nameof(Seq2SeqMultiHead), nameof(TransformerSeq2Seq), nameof(TransformerSeq2SeqPreNorm),
        nameof(Seq2SeqFeedGeneral), nameof(Seq2SeqShared), nameof(GcLlamaSeq2Seq), nameof(GcT5Seq2Seq), nameof(HfTinyT5Seq2Seq),
    ];

    /// <summary>What <paramref name="use"/> makes of the model <paramref name="name"/>, made with seed 2.</summary>
    public static T Use<T>(string name, IEncoderDecoderUse<T> use) => name switch
    {
        nameof(Seq2SeqDot) => use.Use(new Seq2SeqDot(seed: 2)),
        nameof(Seq2SeqGeneral) => use.Use(new Seq2SeqGeneral(seed: 2)),
        nameof(Seq2SeqMultiHead) => use.Use(new Seq2SeqMultiHead(seed: 2)),
        nameof(TransformerSeq2Seq) => use.Use(new TransformerSeq2Seq(seed: 2)),
        nameof(TransformerSeq2SeqPreNorm) => use.Use(new TransformerSeq2SeqPreNorm(seed: 2)),
        nameof(Seq2SeqFeedGeneral) => use.Use(new Seq2SeqFeedGeneral(seed: 2)),
        nameof(Seq2SeqShared) => use.Use(new Seq2SeqShared(seed: 2)),
        nameof(GcLlamaSeq2Seq) => use.Use(new GcLlamaSeq2Seq(seed: 2)),
        nameof(GcT5Seq2Seq) => use.Use(new GcT5Seq2Seq(seed: 2)),
        nameof(HfTinyT5Seq2Seq) => use.Use(new HfTinyT5Seq2Seq(seed: 2)),
        _ => throw new ArgumentException(name),
    };
}
