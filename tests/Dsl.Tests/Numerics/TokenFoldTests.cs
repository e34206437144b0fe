using System.Numerics.Tensors;
using Dsl.Tests.Generator;
using Xunit;

namespace Dsl.Tests.Numerics;

[Embedding(vocab: 6, dim: 4)]
[Gru(hidden: 5, Bidirectional = true, Layers = 2)]
[Dense(6)]
public partial class FoldGru;

[Embedding(vocab: 7, dim: 3)]
[Lstm(hidden: 4, Bidirectional = true, Projection = 3)]
[Dense(7)]
public partial class FoldLstm;

[Embedding(vocab: 7, dim: 4)]
[Lstm(hidden: 4)]
[Residual]
[Dense(7)]
public partial class FoldLstmWithSkip;

[Embedding(vocab: 20000, dim: 4)]
[Gru(hidden: 8)]
[Dense(3)]
public partial class FoldWideVocabulary;

/// <summary>
/// A recurrent layer right after an embedding projects the table's rows instead of each step's vectors when a pass has
/// more token ids than the table has rows (V &lt; T·B), and takes the table's gradient through the gate gradients summed
/// per id. A batch of B sequences (folded) gives what each sequence alone (T &lt; V: not folded) gives: outputs, loss,
/// and every gradient, the batch's being the mean of the sequences'.
/// </summary>
public class TokenFoldTests
{
    private const int Batch = 4, Steps = 5;

    [Fact]
    public void AFoldedGruBatchGivesWhatEachSequenceGivesAlone() => Agree(new FoldGru(seed: 3), new FoldGru(seed: 3), vocab: 6);

    [Fact]
    public void AFoldedLstmBatchGivesWhatEachSequenceGivesAlone() => Agree(new FoldLstm(seed: 5), new FoldLstm(seed: 5), vocab: 7);

    /// <summary>
    /// A residual connection reads the embedding's vectors past the layer that folds them, and sends their gradient back:
    /// a folded pass still gathers and scatters them (a pass that folds skips both where nothing else reads them).
    /// </summary>
    [Fact]
    public void AFoldedBatchWhoseResidualReadsTheVectorsGivesWhatEachSequenceGivesAlone() =>
        Agree(new FoldLstmWithSkip(seed: 9), new FoldLstmWithSkip(seed: 9), vocab: 7);

    private static void Agree(IModel<int> batched, IModel<int> single, int vocab)
    {
        Assert.True(vocab < Batch * Steps && Steps < vocab); // the batch folds, one sequence does not
        var rng = new Rng(11);
        int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => rng.NextInt(vocab)).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(_ => rng.NextInt(vocab)).ToArray();
        float loss = batched.Backward(new ReadOnlyTensorSpan<int>(tokens, [Batch, Steps]), new ReadOnlyTensorSpan<int>(targets, [Batch, Steps]));
        Tensor<float> outputs = batched.Forward(new ReadOnlyTensorSpan<int>(tokens, [Batch, Steps]));
        float[] flat = new float[outputs.FlattenedLength];
        outputs.FlattenTo(flat);
        int width = batched.OutputWidth;
        var grads = single.Parameters.Select(p => new float[p.Length]).ToArray();
        float mean = 0;
        for (int b = 0; b < Batch; b++)
        {
            var x = new ReadOnlyTensorSpan<int>(tokens, b * Steps, [1, Steps], default);
            single.Parameters.ZeroGrad();
            mean += single.Backward(x, new ReadOnlyTensorSpan<int>(targets, b * Steps, [1, Steps], default)) / Batch;
            for (int i = 0; i < grads.Length; i++) TensorPrimitives.MultiplyAdd(single.Parameters[i].GradAsSpan(), 1f / Batch, grads[i], grads[i]);
            Tensor<float> one = single.Forward(x);
            float[] row = new float[one.FlattenedLength];
            one.FlattenTo(row);
            Tolerance.AssertClose(flat.AsSpan(b * Steps * width, Steps * width), row, $"sequence {b}'s outputs");
        }
        Tolerance.AssertClose([mean], [loss], "loss");
        for (int i = 0; i < grads.Length; i++)
            Tolerance.AssertClose(grads[i], batched.Parameters[i].GradAsSpan(), $"grad.{batched.Parameters[i].Name}");
    }

    /// <summary>Padded sequences: the batch (folded) gives each sequence's results alone, over its own length.</summary>
    [Fact]
    public void AFoldedPaddedBatchGivesWhatEachSequenceGivesAlone()
    {
        var batched = new FoldLstm(seed: 7);
        var single = new FoldLstm(seed: 7);
        int[] lengths = [5, 2, 4, 3];
        var rng = new Rng(13);
        int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => rng.NextInt(7)).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(_ => rng.NextInt(7)).ToArray();
        float loss = batched.Backward(new ReadOnlyTensorSpan<int>(tokens, [Batch, Steps]), new ReadOnlyTensorSpan<int>(targets, [Batch, Steps]), lengths);
        int total = lengths.Sum();
        var grads = single.Parameters.Select(p => new float[p.Length]).ToArray();
        float expected = 0;
        for (int b = 0; b < Batch; b++)
        {
            single.Parameters.ZeroGrad();
            float weight = (float)lengths[b] / total; // the batch's mean is over every valid step
            expected += weight * single.Backward(new ReadOnlyTensorSpan<int>(tokens, b * Steps, [1, Steps], default),
                new ReadOnlyTensorSpan<int>(targets, b * Steps, [1, Steps], default), [lengths[b]]);
            for (int i = 0; i < grads.Length; i++) TensorPrimitives.MultiplyAdd(single.Parameters[i].GradAsSpan(), weight, grads[i], grads[i]);
        }
        Tolerance.AssertClose([expected], [loss], "loss");
        for (int i = 0; i < grads.Length; i++)
            Tolerance.AssertClose(grads[i], batched.Parameters[i].GradAsSpan(), $"grad.{batched.Parameters[i].Name}");
    }

    /// <summary>
    /// The projected table [V, G] is room only a pass of more than V ids needs: a workspace for fewer (a step, a short
    /// batch) has none, so a large vocabulary costs nothing there.
    /// </summary>
    [Fact]
    public void APassOfFewerIdsThanTheTableHasRowsHoldsNoProjectedTable()
    {
        var model = new FoldWideVocabulary(seed: 1);
        var tokens = new ReadOnlyTensorSpan<int>(new[] { 1, 19999, 5 }, [1, 3]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Forward(tokens);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 256 * 1024, $"a forward pass of 3 ids allocated {allocated} bytes: the [20000, 24] projected table is 1.9 MB");
    }

    /// <summary>
    /// The fold is there only where the embedding's vectors reach the layer as they are; a pass that folds then gathers
    /// and scatters no vectors, unless a residual connection reads them.
    /// </summary>
    [Fact]
    public void OnlyARecurrentLayerRightAfterAnEmbeddingFolds()
    {
        const string folded = """
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 9, dim: 3)] [Lstm(hidden: 4)] [Dense(9)]
            public partial class Folded;
            [Embedding(vocab: 9, dim: 3)] [Dropout(0.1f)] [Lstm(hidden: 4)] [Dense(9)]
            public partial class AfterDropout;
            [Input(features: 3)] [Gru(hidden: 4)] [Dense(9)]
            public partial class Features;
            [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 4)] [Residual] [Dense(9)]
            public partial class Skipped;
            """;
        var (_, diagnostics, _, result) = GeneratorHarness.Run(folded);
        Assert.Empty(diagnostics);
        string Source(string name) => result.Results.Single().GeneratedSources.Single(s => s.HintName == $"Demo.{name}.g.cs").SourceText.ToString();
        Assert.Contains("public bool FoldsTokens => 9 < T * B;", Source("Folded"));
        Assert.Contains("ws.token_gates, ws.FoldsTokens);", Source("Folded"));
        Assert.Contains("Layout.GatherRows(folded, tokens.Slice(0, T * B), G, gates);", Source("Folded"));
        Assert.Contains("Layout.ScatterAddRows(tokens.Slice(0, T * B), dg, G, folded);", Source("Folded"));
        Assert.Contains("if (!ws.FoldsTokens) global::Dsl.Kernels.Layout.GatherRows(_embedding_weight.Weights, ws.tokens, 3, ws.embedding_out);", Source("Folded"));
        Assert.Contains("if (!ws.FoldsTokens) ws.embedding_dout.Clear();", Source("Folded"));
        Assert.Matches(@"if \(!ws\.FoldsTokens\)\s*\{\s*global::Dsl\.Kernels\.Layout\.ScatterAddRows\(ws\.tokens, ws\.embedding_dout", Source("Folded"));
        Assert.Contains("ws.token_gates, ws.FoldsTokens);", Source("Skipped"));
        Assert.Contains("            global::Dsl.Kernels.Layout.GatherRows(_embedding_weight.Weights, ws.tokens, 4, ws.embedding_out);", Source("Skipped"));
        Assert.DoesNotContain("if (!ws.FoldsTokens)", Source("Skipped"));
        Assert.DoesNotContain("bool fold", Source("AfterDropout"));
        Assert.DoesNotContain("FoldsTokens", Source("AfterDropout"));
        Assert.DoesNotContain("bool fold", Source("Features"));
    }
}
