using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Models;

/// <summary>
/// <c>[TokenTypeEmbedding]</c>: each token's type counted over the separator as BERT's tokenizers number a pair's
/// (<c>[CLS] A [SEP]</c> 0, <c>B [SEP]</c> 1, padding after it the last type), its row added to the embedding's and the
/// position's, its place in the architecture, a model with it does not step.
/// </summary>
public class TokenTypeTests
{
    // [CLS]=2 A [SEP]=3 B [SEP]; two separators at once; no separator; a pair padded (id 0) after its second [SEP]
    private static readonly int[] Ids = [2, 5, 3, 6, 4, 3, /**/ 2, 3, 3, 5, 3, 6, /**/ 2, 4, 5, 6, 1, 0, /**/ 2, 4, 3, 5, 3, 0];
    private const int Batch = 4, Steps = 6;

    [Fact]
    public void TypesCountTheSeparatorsBeforeEachToken()
    {
        // time-major, as the kernel reads them
        int[] tokens = new int[Batch * Steps];
        for (int b = 0; b < Batch; b++) for (int t = 0; t < Steps; t++) tokens[t * Batch + b] = Ids[b * Steps + t];
        int[] types = new int[Batch * Steps];
        Kernels.Layout.TokenTypes(tokens, types, Steps, Batch, separator: 3, count: 2);
        int[][] expected = [[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]];
        for (int b = 0; b < Batch; b++) Assert.Equal(expected[b], Enumerable.Range(0, Steps).Select(t => types[t * Batch + b]));
        // three types: the third segment its own, a fourth the third's
        Kernels.Layout.TokenTypes(tokens, types, Steps, Batch, separator: 3, count: 3);
        Assert.Equal([0, 0, 1, 2, 2, 2], Enumerable.Range(0, Steps).Select(t => types[t * Batch + 1]));
        Assert.Throws<ArgumentException>(() => Kernels.Layout.TokenTypes(tokens, types, Steps, Batch, separator: 3, count: 0));
        Assert.Throws<ArgumentException>(() => Kernels.Layout.TokenTypes(tokens.AsSpan(1), types, Steps, Batch, separator: 3, count: 2));
    }

    [Fact]
    public void TheOutputIsTheWordsThePositionsAndTheTypes()
    {
        var model = new TokenTypeSum(seed: 5);
        float[] words = model.Parameters["embedding.weight"].AsSpan().ToArray(), positions = model.Parameters["positionembedding.weight"].AsSpan().ToArray(),
            types = model.Parameters["tokentypeembedding.weight"].AsSpan().ToArray();
        Assert.NotEqual(types[..4], types[4..]);
        int[][] typeOf = [[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]];
        foreach (int[]? lengths in (int[]?[])[null, [6, 6, 4, 5]])
        {
            Tensor<float> y = lengths is null ? model.Forward(new ReadOnlyTensorSpan<int>(Ids, [Batch, Steps])) : model.Forward(new ReadOnlyTensorSpan<int>(Ids, [Batch, Steps]), lengths);
            float[] flat = new float[y.FlattenedLength];
            y.FlattenTo(flat);
            for (int b = 0; b < Batch; b++)
                for (int t = 0; t < (lengths?[b] ?? Steps); t++)
                    for (int j = 0; j < 4; j++)
                        Assert.Equal(words[Ids[b * Steps + t] * 4 + j] + positions[t * 4 + j] + types[typeOf[b][t] * 4 + j], flat[(b * Steps + t) * 4 + j], 6);
        }
    }

    [Fact]
    public void ThreeTypesBeforeThePositions()
    {
        var model = new ThreeTokenTypes(seed: 6);
        int[] ids = [1, 0, 2, 0, 4, 0, 5];
        float[] words = model.Parameters["embedding.weight"].AsSpan().ToArray(), positions = model.Parameters["positionembedding.weight"].AsSpan().ToArray(),
            types = model.Parameters["tokentypeembedding.weight"].AsSpan().ToArray();
        float[] flat = new float[7 * 4];
        model.Forward(new ReadOnlyTensorSpan<int>(ids, [1, 7])).FlattenTo(flat);
        int[] typeOf = [0, 0, 1, 1, 2, 2, 2];
        for (int t = 0; t < 7; t++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(words[ids[t] * 4 + j] + types[typeOf[t] * 4 + j] + positions[t * 4 + j], flat[t * 4 + j], 6);
    }

    [Fact]
    public void ItsPlaceInTheArchitectureAndNoStepping()
    {
        var model = new TokenTypeSum(seed: 5);
        Assert.Equal(new TokenTypeEmbeddingInfo("tokentypeembedding", 4, 2, 3), ((IModel)model).Architecture!.Layers[2]);
        Assert.Equal([2, 4], model.Parameters["tokentypeembedding.weight"].Shape.ToArray());
        // (the analyzer refuses the call on the class itself: DSL1002; through the interface it throws)
        var e = Assert.Throws<NotSupportedException>(() => ((IModel<int>)model).CreateState(1));
        Assert.Contains("counts the token types from the sequence's first token", e.Message);
    }
}
