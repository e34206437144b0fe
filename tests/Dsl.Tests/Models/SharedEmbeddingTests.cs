using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Models;

/// <summary>
/// <c>[EncoderDecoder(…, ShareEmbedding = true)]</c>: the decoder's embedding is the encoder's table (and, tied, the output
/// layer's weight). The gradient of the three uses against PyTorch is EncoderDecoderParityTests' Seq2SeqShared, the
/// finite differences GradientCheckTests', the device DeviceModelTests'; here, what a user relies on besides: one tensor,
/// initialised as the encoder's, listed, optimised and saved once, loading from either name.
/// </summary>
public class SharedEmbeddingTests
{
    [Fact]
    public void OneTensorServesBothEmbeddingsAndTheOutputLayer()
    {
        var model = new Seq2SeqShared(seed: 3);
        Parameter table = model.Parameters["encoder.embedding.weight"];
        // the encoder's own table, drawn as the encoder alone draws it
        Assert.Equal(new S2sLstmEncoder(seed: 3).Parameters["embedding.weight"].AsSpan().ToArray(), table.AsSpan().ToArray());
        Assert.Same(table.Storage, model.Decoder.Parameters["embedding.weight"].Storage);
        Assert.Same(table.Storage, model.Decoder.Parameters["dense_1.weight"].Storage);
        Assert.Same(table, model.Parameters["decoder.embedding.weight"]);
        Assert.Same(table, model.Parameters["decoder.dense_1.weight"]);
        // listed once: not among the parameters, both of the decoder's names tied to it
        Assert.DoesNotContain(model.Parameters, p => p.Name is "decoder.embedding.weight" or "decoder.dense_1.weight");
        Assert.Equal("encoder.embedding.weight", model.Parameters.Tied["decoder.embedding.weight"]);
        Assert.Equal("encoder.embedding.weight", model.Parameters.Tied["decoder.dense_1.weight"]);
        Assert.Equal(new Seq2SeqUnshared(seed: 3).Parameters.Count - 1, model.Parameters.Count);
        // a write through one name is read through the others
        model.Decoder.Parameters["embedding.weight"].AsSpan()[5] = 42f;
        Assert.Equal(42f, table.AsSpan()[5]);
        Assert.Equal(42f, model.Encoder.Parameters["embedding.weight"].AsSpan()[5]);
    }

    [Fact]
    public void BothSidesGradientsAddIntoTheOneTableAndOneStepMovesIt()
    {
        // the same weights in a twin whose decoder has a table of its own: the shared table's gradient is the sum of the
        // twin's two tables' gradients (the decoder's with its tied output layer's), every other gradient the twin's
        var model = new Seq2SeqShared(seed: 5);
        var twin = new Seq2SeqUnshared(seed: 5);
        foreach (Parameter p in twin.Parameters) model.Parameters[p.Name].AsSpan().CopyTo(p.AsSpan());
        model.Parameters.ZeroGrad();
        twin.Parameters.ZeroGrad();
        Assert.Equal(Backward(twin), Backward(model));
        float[] sum = twin.Parameters["encoder.embedding.weight"].GradAsSpan().ToArray();
        TensorPrimitives.Add(sum, twin.Parameters["decoder.embedding.weight"].GradAsSpan(), sum);
        Tolerance.AssertClose(sum, model.Parameters["encoder.embedding.weight"].GradAsSpan().ToArray(), "the shared table's gradient");
        foreach (Parameter p in model.Parameters.Where(p => p.Name != "encoder.embedding.weight"))
            Assert.Equal(twin.Parameters[p.Name].GradAsSpan().ToArray(), p.GradAsSpan().ToArray());

        float[] before = model.Parameters["encoder.embedding.weight"].AsSpan().ToArray();
        new Adam(model.Parameters, learningRate: 0.01f).Step();
        float[] after = model.Decoder.Parameters["dense_1.weight"].AsSpan().ToArray();
        Assert.NotEqual(before, after);
        Assert.Equal(after, model.Encoder.Parameters["embedding.weight"].AsSpan().ToArray());
    }

    [Fact]
    public void SavedOnceAndLoadedFromEitherNameWhereTheNamesAgree()
    {
        var model = new Seq2SeqShared(seed: 7);
        string path = Path.Combine(Path.GetTempPath(), $"dsl-shared-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Parameters.Save(path);
            Dictionary<string, SafeTensor> saved = SafeTensors.Read(path);
            Assert.Contains("encoder.embedding.weight", saved.Keys);
            Assert.DoesNotContain("decoder.embedding.weight", saved.Keys);
            Assert.DoesNotContain("decoder.dense_1.weight", saved.Keys);
            var other = new Seq2SeqShared(seed: 8);
            other.Parameters.Load(path);
            Assert.Equal(model.Parameters["encoder.embedding.weight"].AsSpan().ToArray(), other.Decoder.Parameters["embedding.weight"].AsSpan().ToArray());

            // PyTorch's state_dict lists the table under all three names (Fixtures/Seq2SeqShared.weights.safetensors): it loads;
            // the same file with the decoder's copy changed does not, and nothing moves
            other.Parameters.Load(Fixture.Path("Seq2SeqShared.weights.safetensors"));
            var tensors = SafeTensors.Read(Fixture.Path("Seq2SeqShared.weights.safetensors"))
                .Select(kv => (kv.Key, (ReadOnlyMemory<int>)kv.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)kv.Value.ToFloat())).ToList();
            int at = tensors.FindIndex(t => t.Key == "decoder.embedding.weight");
            float[] changed = tensors[at].Item3.ToArray();
            changed[0] += 1f;
            tensors[at] = (tensors[at].Key, tensors[at].Item2, changed);
            SafeTensors.Write(path, tensors);
            float[] kept = other.Parameters["encoder.embedding.weight"].AsSpan().ToArray();
            var e = Assert.Throws<InvalidDataException>(() => other.Parameters.Load(path));
            Assert.Contains("'decoder.embedding.weight' and 'encoder.embedding.weight' differ", e.Message);
            Assert.Equal(kept, other.Parameters["encoder.embedding.weight"].AsSpan().ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Sources [3, 5] (lengths 5, 2, 4), decoder inputs and targets [3, 4].</summary>
    private static (int[] Source, int[] Lengths, int[] Input, int[] Targets) Batch()
    {
        var rng = new Rng(11);
        int[] source = Enumerable.Range(0, 3 * 5).Select(_ => 1 + rng.NextInt(9)).ToArray();
        int[] input = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(10)).ToArray();
        int[] targets = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextInt(10)).ToArray();
        return (source, [5, 2, 4], input, targets);
    }

    private static float Backward<TDecoder>(EncoderDecoderModel<int, S2sLstmEncoder, TDecoder> model) where TDecoder : IModel<int>
    {
        var (source, lengths, input, targets) = Batch();
        return model.Backward(new ReadOnlyTensorSpan<int>(source, [3, 5]), lengths, new ReadOnlyTensorSpan<int>(input, [3, 4]), new ReadOnlyTensorSpan<int>(targets, [3, 4]));
    }
}

// Seq2SeqShared's twin without ShareEmbedding: the decoder's table its own (its output layer still tied to it).
[EncoderDecoder(typeof(S2sLstmEncoder), typeof(S2sSharedDecoder))]
public partial class Seq2SeqUnshared;
