namespace Dsl.Generator.Layers;

/// <summary>The layer kinds the DSL knows; one per attribute class of Dsl.Attributes and per definition in <see cref="LayerRegistry"/>.</summary>
internal enum LayerKind
{
    Input,
    Embedding,
    Rnn,
    Lstm,
    Gru,
    Dense,
    Dropout,
    Attention,
    LayerNorm,
    Residual,
    PositionalEncoding,
    PositionEmbedding,
    RmsNorm,
    Pool,
    TokenTypeEmbedding,
    Branch,
    Scale,
    Moe,
}
