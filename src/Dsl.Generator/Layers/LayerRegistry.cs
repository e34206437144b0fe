using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Layers.Attention;
using Dsl.Generator.Layers.Branch;
using Dsl.Generator.Layers.Dense;
using Dsl.Generator.Layers.Dropout;
using Dsl.Generator.Layers.Embedding;
using Dsl.Generator.Layers.Gru;
using Dsl.Generator.Layers.Input;
using Dsl.Generator.Layers.LayerNorm;
using Dsl.Generator.Layers.Lstm;
using Dsl.Generator.Layers.Moe;
using Dsl.Generator.Layers.PositionalEncoding;
using Dsl.Generator.Layers.PositionEmbedding;
using Dsl.Generator.Layers.Pool;
using Dsl.Generator.Layers.TokenTypeEmbedding;
using Dsl.Generator.Layers.RmsNorm;
using Dsl.Generator.Layers.Residual;
using Dsl.Generator.Layers.Rnn;
using Dsl.Generator.Layers.Scale;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Layers;

/// <summary>Every layer kind the DSL knows. A test proves that each layer attribute of Dsl.Attributes is listed here.</summary>
internal static class LayerRegistry
{
    /// <summary>The definitions, one per kind, in the order of <see cref="LayerKind"/>.</summary>
    public static readonly IReadOnlyList<LayerDefinition> All = new LayerDefinition[]
    {
        new InputLayer(),
        new EmbeddingLayer(),
        new RnnLayer(),
        new LstmLayer(),
        new GruLayer(),
        new DenseLayer(),
        new DropoutLayer(),
        new AttentionLayer(),
        new LayerNormLayer(),
        new ResidualLayer(),
        new PositionalEncodingLayer(),
        new PositionEmbeddingLayer(),
        new RmsNormLayer(),
        new PoolLayer(),
        new TokenTypeEmbeddingLayer(),
        new BranchLayer(),
        new ScaleLayer(),
        new MoeLayer(),
    };

    private static readonly Dictionary<LayerKind, LayerDefinition> s_byKind = All.ToDictionary(d => d.Kind);

    private static readonly Dictionary<string, LayerDefinition> s_byAttribute = All.ToDictionary(d => d.AttributeName);

    /// <summary>The definition of <paramref name="kind"/>.</summary>
    public static LayerDefinition Of(LayerKind kind) => s_byKind[kind];

    /// <summary>The definition of a spec's kind.</summary>
    public static LayerDefinition Of(LayerSpec spec) => s_byKind[spec.Kind];

    /// <summary>The definition whose attribute has this metadata name, or null.</summary>
    public static LayerDefinition? ForAttribute(string? metadataName) =>
        metadataName is not null && s_byAttribute.TryGetValue(metadataName, out LayerDefinition? d) ? d : null;
}
