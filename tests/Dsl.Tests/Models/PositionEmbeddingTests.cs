using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Models;

/// <summary>
/// <c>[PositionEmbedding(maxLength)]</c> beyond its PyTorch parity (Gpt2Block, PositionEmbeddingLstm), finite differences and
/// the device and ONNX checks: the table's rows are the positions a carried state has reached, and a pass past the last row
/// is refused before anything moves.
/// </summary>
public class PositionEmbeddingTests
{
    private static Tensor<float> Features(int batch, int steps, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Tensor.Create(Enumerable.Range(0, batch * steps * 3).Select(_ => rng.NextNormal()).ToArray(), [batch, steps, 3]);
    }

    [Fact]
    public void TheTableIsOneParameterPerPositionAndFeedsTheLayerAfterIt()
    {
        var model = new GcPositionEmbeddingGru(seed: 1);
        Parameter table = model.Parameters["positionembedding.weight"];
        Assert.Equal([16, 3], table.Shape.ToArray());
        // nn.Embedding's N(0, 1)
        float[] values = table.AsSpan().ToArray();
        double mean = values.Average(), sd = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(sd, 0.6, 1.4);
        Assert.Equal(new PositionEmbeddingInfo("positionembedding", 3, 16), GcPositionEmbeddingGru.Architecture.Layers[1]);
        // adding a row's worth to position 2 changes step 2 of the output and nothing before it
        Tensor<float> x = Features(2, 4, 3);
        float[] before = Flat(model.Forward(x));
        foreach (ref float v in table.AsSpan().Slice(2 * 3, 3)) v += 1f;
        float[] after = Flat(model.Forward(x));
        for (int b = 0; b < 2; b++)
        {
            for (int t = 0; t < 4; t++)
            {
                bool same = before.Skip((b * 4 + t) * 2).Take(2).SequenceEqual(after.Skip((b * 4 + t) * 2).Take(2));
                Assert.Equal(t < 2, same);
            }
        }
    }

    [Fact]
    public void AStateContinuesFromItsPositionAsOneLongerPassDoes()
    {
        var model = new GcPositionEmbeddingGru(seed: 2);
        Tensor<float> x = Features(2, 7, 4);
        float[] whole = Flat(model.Forward(x));
        var state = model.CreateState(2);
        var first = Flat(model.Forward(Tensor.Create(Slice(x, 0, 3), [2, 3, 3]), state));
        var rest = Flat(model.Forward(Tensor.Create(Slice(x, 3, 7), [2, 4, 3]), state));
        Assert.Equal(7, state.Position);
        for (int b = 0; b < 2; b++)
        {
            Tolerance.AssertClose(whole.Skip(b * 14).Take(6).ToArray(), first.Skip(b * 6).Take(6).ToArray(), $"sequence {b}, steps 0-2");
            Tolerance.AssertClose(whole.Skip(b * 14 + 6).Take(8).ToArray(), rest.Skip(b * 8).Take(8).ToArray(), $"sequence {b}, steps 3-6");
        }
    }

    [Fact]
    public void APassPastTheLastPositionIsRefusedBeforeAnythingMoves()
    {
        var model = new GcPositionEmbeddingGru(seed: 3);
        // without a state: at most maxLength steps
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Features(1, 17, 5)));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("would reach position 16, but layer 'positionembedding' holds positions 0 … 15 (maxLength 16)", e.Message);
        Assert.Throws<ArgumentException>(() => model.Backward(Features(1, 17, 5), Features(1, 17, 6)[.., .., ..2]));
        Assert.Equal(16, Flat(model.Forward(Features(1, 16, 5))).Length / 2);
        // from a state at 14: two more steps, not three; the refused pass leaves the state where it was
        var state = model.CreateState(1);
        model.Forward(Features(1, 14, 7), state);
        float[] h = state.Tensors[0].AsSpan().ToArray();
        e = Assert.Throws<ArgumentException>(() => model.Forward(Features(1, 3, 8), state));
        Assert.Contains("3 step(s) from position 14 would reach position 16", e.Message);
        Assert.Equal(14, state.Position);
        Assert.Equal(h, state.Tensors[0].AsSpan().ToArray());
        model.Step(Tensor.Create(new float[3], [1, 3]), state);
        model.Step(Tensor.Create(new float[3], [1, 3]), state);
        Assert.Throws<ArgumentException>(() => model.Step(Tensor.Create(new float[3], [1, 3]), state));
        Assert.Equal(16, state.Position);
        // an encoder's source too (an encoder–decoder's), before its workspace is touched
        e = Assert.Throws<ArgumentException>(() => ((IEncoder<float>)model).Encode(Features(1, 17, 10), default, training: false));
        Assert.Equal("source", e.ParamName);
        Assert.Equal(16, ((IEncoder<float>)model).Encode(Features(2, 16, 10), default, training: false).Steps);
        // Reset starts the positions again
        state.Reset();
        model.Forward(Features(1, 16, 9), state);
    }

    [Fact]
    public void AnEncoderDecoderRefusesEitherSidePastItsPositionsBeforeEitherRuns()
    {
        var model = new LearnedPositionSeq2Seq(seed: 4);
        Tensor<int> Ids(int batch, int steps, int vocab) => Tensor.Create(Enumerable.Range(0, batch * steps).Select(i => (i * 7 + 3) % vocab).ToArray(), [batch, steps]);
        float[] before = model.Parameters["decoder.positionembedding.weight"].AsSpan().ToArray();
        // the decoder's 6 steps past its 5 positions: refused before the encoder runs (its workspace untouched, no gradient)
        var e = Assert.Throws<ArgumentException>(() => model.Backward(Ids(2, 4, 10), default, Ids(2, 6, 9), Ids(2, 6, 9)));
        Assert.Equal("decoderInput", e.ParamName);
        Assert.Contains("decoderInput: 6 steps, but layer 'positionembedding' of LearnedPositionDecoder holds 5 positions", e.Message);
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
        e = Assert.Throws<ArgumentException>(() => model.Forward(Ids(2, 7, 10), default, Ids(2, 3, 9)));
        Assert.Equal("source", e.ParamName);
        // within both tables it trains
        Assert.True(float.IsFinite(model.Backward(Ids(2, 6, 10), default, Ids(2, 5, 9), Ids(2, 5, 9))));
        Assert.NotEqual(before, model.Parameters["decoder.positionembedding.weight"].GradAsSpan().ToArray());
        // decoding: the start token and maxLength − 1 generated tokens are fed, at most 5
        Assert.Throws<ArgumentException>(() => model.Greedy(Ids(1, 4, 10), startToken: 1, maxLength: 6));
        Assert.InRange(model.Greedy(Ids(1, 4, 10), startToken: 1, maxLength: 5).Length, 1, 5);
    }

    [Fact]
    public void DecodingPastTheTableIsRefusedBeforeTheFirstStep()
    {
        var model = new GcPositionEmbedding(seed: 5);
        var rng = new Rng(3);
        ulong first = new Rng(3).NextUInt64();
        // 3 prefix tokens and 14 generated ones fed back: 17 positions of 16
        var e = Assert.Throws<ArgumentException>(() => Decode.Sample(model, [1, 2, 3], maxLength: 15, temperature: 1f, topK: 0, rng));
        Assert.Equal("maxLength", e.ParamName);
        Assert.Contains("from position 0 would take positions up to 16, but layer 'positionembedding' of GcPositionEmbedding holds 16", e.Message);
        Assert.Equal(first, rng.NextUInt64());
        Assert.Equal(14, Decode.Greedy(model, [1, 2, 3], maxLength: 14).Length);
        Assert.Throws<ArgumentException>(() => Decode.Beam(model, [1, 2, 3], beamWidth: 2, maxLength: 15));
        // from a state that has taken 10 steps: 1 prefix token and 5 fed back fit, 6 do not
        var state = model.CreateState(1);
        model.Forward(Tensor.Create(Enumerable.Range(0, 10).Select(i => i % 7).ToArray(), [1, 10]), state);
        Assert.Equal(10, ((IModelState)state).Position);
        e = Assert.Throws<ArgumentException>(() => Decode.Greedy(model, state, [1], maxLength: 7));
        Assert.Contains("from position 10 would take positions up to 16", e.Message);
        Assert.Equal(10, state.Position);
        Assert.Equal(6, Decode.Greedy(model, state, [1], maxLength: 6).Length);
        Assert.Equal(0, ((IModelState)new FeatureStreamLstm(seed: 1).CreateState(1)).Position); // a model that counts no position
    }

    [Fact]
    public void GenerateCropsTheContextAsNanoGptDoesAndRunsPastTheTable()
    {
        var model = new GcPositionEmbedding(seed: 6);
        int[] prefix = [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4]; // 18 tokens: longer than the 16 positions
        int[] generated = Decode.Generate(model, prefix, maxNewTokens: 30, context: 16);
        Assert.Equal(30, generated.Length);
        // nanoGPT's loop: every step the model over the last 16 tokens from scratch, the last step's arg max
        var idx = new List<int>(prefix);
        var expected = new List<int>();
        for (int i = 0; i < 30; i++)
        {
            int[] cond = idx.Skip(Math.Max(0, idx.Count - 16)).ToArray();
            float[] logits = Flat(model.Forward(Tensor.Create(cond, [1, cond.Length])));
            float[] last = logits[^7..];
            int next = Array.IndexOf(last, last.Max());
            expected.Add(next);
            idx.Add(next);
        }
        Assert.Equal(expected, generated);
        // within the table the cached steps give Sample's tokens
        Assert.Equal(Decode.Greedy(model, [1, 2, 3], maxLength: 13), Decode.Generate(model, [1, 2, 3], maxNewTokens: 13, context: 16));
        // a context past the table, and the usual checks
        Assert.Equal("context", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Generate(model, prefix, 5, context: 17)).ParamName);
        Assert.Equal("context", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Generate(model, prefix, 5, context: 0)).ParamName);
        Assert.Equal("maxNewTokens", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Generate(model, prefix, -1, context: 8)).ParamName);
        Assert.Empty(Decode.Generate(model, prefix, 0, context: 8));
        // sampling: the same draws as Sample while the context holds, and the generator restored by a refused call
        var a = new Rng(4);
        var b = new Rng(4);
        Assert.Equal(Decode.Sample(model, [1, 2], 10, temperature: 0.9f, topK: 3, rng: a), Decode.Generate(model, [1, 2], 10, context: 16, temperature: 0.9f, topK: 3, rng: b));
        Assert.Equal(40, Decode.Generate(model, [1, 2], 40, context: 16, temperature: 0.9f, topK: 3, rng: b).Length);
    }

    private static float[] Slice(Tensor<float> x, int from, int to)
    {
        int steps = (int)x.Lengths[1];
        float[] all = Flat(x);
        return Enumerable.Range(0, 2).SelectMany(b => all.Skip((b * steps + from) * 3).Take((to - from) * 3)).ToArray();
    }

    private static float[] Flat(Tensor<float> t) => Dsl.Tests.Parity.ParityModel.Flatten(t);
}
