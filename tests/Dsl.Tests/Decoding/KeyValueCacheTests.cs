using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// A decoder-only Transformer (<see cref="TinyGpt"/>: positional encoding, causal ScaledDot and Dot self-attention)
/// steps from the key/value cache in its <c>State</c>: stepping over a sequence, or reading it in chunks, equals one
/// Forward over the whole of it; the state counts its position, copies, resets and grows; training runs from a fresh
/// state only.
/// </summary>
public class KeyValueCacheTests
{
    private const int Vocabulary = 11;

    private static int[] RandomTokens(int batch, int steps, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, batch * steps).Select(_ => rng.Next(Vocabulary)).ToArray();
    }

    /// <summary>Column <paramref name="t"/> of batch-major tokens [B, T].</summary>
    private static int[] Column(int[] tokens, int batch, int steps, int t) => Enumerable.Range(0, batch).Select(b => tokens[b * steps + t]).ToArray();

    /// <summary>Logits [B, T, V] of step <paramref name="t"/>: [B, V].</summary>
    private static float[] At(float[] logits, int batch, int steps, int t) =>
        Enumerable.Range(0, batch).SelectMany(b => logits.AsSpan((b * steps + t) * Vocabulary, Vocabulary).ToArray()).ToArray();

    [Theory]
    [InlineData(1, 5)]
    [InlineData(3, 40)] // past several doublings of the cache
    public void SteppingEqualsForward(int batch, int steps)
    {
        var model = new TinyGpt(seed: 3);
        int[] tokens = RandomTokens(batch, steps, seed: steps);
        float[] whole = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(tokens, [batch, steps])));
        TinyGpt.State state = model.CreateState(batch);
        for (int t = 0; t < steps; t++)
        {
            Assert.Equal(t, state.Position);
            Tensor<float> step = model.Step(new ReadOnlyTensorSpan<int>(Column(tokens, batch, steps, t), [batch]), state);
            Tolerance.AssertClose(At(whole, batch, steps, t), ParityModel.Flatten(step), $"step {t}");
        }
        Assert.Equal(steps, state.Position);
    }

    [Fact]
    public void ChunksContinueFromTheState()
    {
        var model = new TinyGpt(seed: 4);
        const int B = 2, T = 9;
        int[] tokens = RandomTokens(B, T, seed: 1);
        float[] whole = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(tokens, [B, T])));
        TinyGpt.State state = model.CreateState(B);
        int done = 0;
        foreach (int chunk in new[] { 4, 1, 4 })
        {
            int[] part = Enumerable.Range(0, B).SelectMany(b => tokens.Skip(b * T + done).Take(chunk)).ToArray();
            float[] logits = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(part, [B, chunk]), state));
            for (int t = 0; t < chunk; t++)
                Tolerance.AssertClose(At(whole, B, T, done + t), At(logits, B, chunk, t), $"chunk step {done + t}");
            done += chunk;
        }
        Assert.Equal(T, state.Position);
    }

    /// <summary>
    /// A pass that continues a sequence does not keep its self-attention weights (its steps' weights over the cached keys):
    /// AttentionWeights says so, naming the layer, instead of returning an earlier pass's weights.
    /// </summary>
    [Fact]
    public void AttentionWeightsAreRefusedAfterAPassThatContinuedASequence()
    {
        var model = new TinyGpt(seed: 6);
        const int B = 1, T = 3;
        int[] first = RandomTokens(B, T, seed: 7), second = RandomTokens(B, T, seed: 8);
        TinyGpt.State state = model.CreateState(B);
        model.Forward(new ReadOnlyTensorSpan<int>(first, [B, T]), state);
        float[] fromStart = model.AttentionWeights().ToArray(); // a pass from position 0 keeps them
        Assert.Equal(B * 2 * T * T, fromStart.Length);
        model.Forward(new ReadOnlyTensorSpan<int>(second, [B, T]), state);
        foreach (string layer in new[] { "attention", "attention_1" })
        {
            var error = Assert.Throws<InvalidOperationException>(() => model.AttentionWeights(layer));
            Assert.Contains($"'{layer}'", error.Message);
            Assert.Contains("position 3", error.Message);
        }
        model.Forward(new ReadOnlyTensorSpan<int>(second, [B, T]));
        Assert.Equal(B * 2 * T * T, model.AttentionWeights().ToArray().Length);

        // the classic causal scores keep only a pass from position 0 too
        var classic = new AttentionAdditiveCausal(seed: 6);
        var classicState = classic.CreateState(B);
        int[] ids = first.Select(t => t % 9).ToArray();
        classic.Forward(new ReadOnlyTensorSpan<int>(ids, [B, T]), classicState);
        Assert.Equal(B * T * T, classic.AttentionWeights().ToArray().Length);
        classic.Forward(new ReadOnlyTensorSpan<int>(ids, [B, T]), classicState);
        Assert.Contains("'attention'", Assert.Throws<InvalidOperationException>(() => classic.AttentionWeights()).Message);
    }

    /// <summary>
    /// A pass whose key/value cache would outgrow an array fails before the workspace is chosen: the last pass (its attention
    /// weights) and the state are as they were. (It had failed inside the pass, after a workspace of the new shape replaced
    /// the last one.)
    /// </summary>
    [Fact]
    public void ACacheThatWouldOutgrowAnArrayFailsWithTheLastPassKept()
    {
        var model = new TinyGpt(seed: 6);
        int[] first = RandomTokens(1, 3, seed: 7), second = RandomTokens(1, 5, seed: 8);
        model.Forward(new ReadOnlyTensorSpan<int>(first, [1, 3]));
        float[] weights = model.AttentionWeights().ToArray();
        TinyGpt.State state = model.CreateState(1);
        state.Position = int.MaxValue - 2; // (as if that many steps had run: no cache is that large)
        foreach (Action pass in new Action[]
        {
            () => model.Forward(new ReadOnlyTensorSpan<int>(second, [1, 5]), state),
            () => model.Step(new ReadOnlyTensorSpan<int>(second, [1]), state),
        })
        {
            Assert.Contains("more than one array holds", Assert.Throws<InvalidOperationException>(pass).Message);
            Assert.Equal(int.MaxValue - 2, state.Position);
            Assert.Equal(weights, model.AttentionWeights().ToArray());
        }
    }

    [Fact]
    public void SteppingWithoutAStateIsAnArgumentNullException()
    {
        var model = new TinyGpt(seed: 6);
        Assert.Equal("state", Assert.Throws<ArgumentNullException>(() => model.Step(new ReadOnlyTensorSpan<int>([1], [1]), null!)).ParamName);
        Assert.Equal("state", Assert.Throws<ArgumentNullException>(() => model.Step(new ReadOnlyTensorSpan<int>([1], [1]), null!, new TensorSpan<float>(new float[Vocabulary], [1, Vocabulary]))).ParamName);
    }

    [Fact]
    public void CopyFromAndResetCarryTheCache()
    {
        var model = new TinyGpt(seed: 5);
        int[] tokens = RandomTokens(1, 8, seed: 2);
        TinyGpt.State a = model.CreateState(), b = model.CreateState(), fresh = model.CreateState();
        for (int t = 0; t < 5; t++) model.Step(new ReadOnlyTensorSpan<int>([tokens[t]], [1]), a);
        b.CopyFrom(a);
        Assert.Equal(5, b.Position);
        for (int t = 5; t < 8; t++)
        {
            float[] ya = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([tokens[t]], [1]), a));
            float[] yb = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([tokens[t]], [1]), b));
            Assert.Equal(ya, yb);
        }
        // a copy is independent: a step of one leaves the other's cache as it was
        Assert.Equal(8, a.Position);
        a.Reset();
        Assert.Equal(0, a.Position);
        for (int t = 0; t < 3; t++)
        {
            float[] ya = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([tokens[t]], [1]), a));
            float[] yf = ParityModel.Flatten(model.Step(new ReadOnlyTensorSpan<int>([tokens[t]], [1]), fresh));
            Assert.Equal(yf, ya);
        }
    }

    [Fact]
    public void WarmSteppingAllocatesNothing()
    {
        var model = new TinyGpt(seed: 6);
        TinyGpt.State state = model.CreateState();
        var logits = new float[Vocabulary];
        int[] token = [1];
        void Run()
        {
            for (int t = 0; t < 64; t++)
            {
                token[0] = t % Vocabulary;
                model.Step(new ReadOnlyTensorSpan<int>(token, [1]), state, new TensorSpan<float>(logits, [1, Vocabulary]));
            }
        }
        Run(); // the cache grows to 64 steps
        state.Reset(); // and keeps its capacity
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void TrainingFromAFreshStateEqualsTrainingWithoutOneAndFillsTheCache()
    {
        const int B = 2, T = 6;
        int[] tokens = RandomTokens(B, T, seed: 3), targets = RandomTokens(B, T, seed: 4);
        var x = new ReadOnlyTensorSpan<int>(tokens, [B, T]);
        var y = new ReadOnlyTensorSpan<int>(targets, [B, T]);
        TinyGpt plain = new(seed: 7), stated = new(seed: 7);
        float expected = plain.Backward(x, y);
        TinyGpt.State state = stated.CreateState(B);
        Assert.Equal(expected, stated.Backward(x, y, state));
        for (int i = 0; i < plain.Parameters.Count; i++)
            Assert.Equal(plain.Parameters[i].GradAsSpan().ToArray(), stated.Parameters[i].GradAsSpan().ToArray());

        // the pass left its keys and values: a step continues the sequence as a Forward over T + 1 tokens would
        Assert.Equal(T, state.Position);
        int[] next = [3, 8];
        float[] stepped = ParityModel.Flatten(stated.Step(new ReadOnlyTensorSpan<int>(next, [B]), state));
        int[] longer = Enumerable.Range(0, B).SelectMany(b => tokens.Skip(b * T).Take(T).Append(next[b])).ToArray();
        float[] whole = ParityModel.Flatten(stated.Forward(new ReadOnlyTensorSpan<int>(longer, [B, T + 1])));
        Tolerance.AssertClose(At(whole, B, T + 1, T), stepped, "the step after a training pass");

        // back-propagation does not reach the cache of earlier steps: training from an advanced state is refused
        var e = Assert.Throws<NotSupportedException>(() => stated.Backward(new ReadOnlyTensorSpan<int>(tokens, [B, T]), new ReadOnlyTensorSpan<int>(targets, [B, T]), state));
        Assert.Contains("trains from a fresh state only (its position is 7)", e.Message);
        Assert.Equal(T + 1, state.Position); // and the state is as it was
    }

    [Fact]
    public void DecodingFeedsThePrefixThenSteps()
    {
        var model = new TinyGpt(seed: 8);
        int[] prefix = [1, 4, 2];
        int[] greedy = Decode.Greedy(model, prefix, maxLength: 6);
        Assert.Equal(6, greedy.Length);
        // greedy decoding by full recompute: the argmax of a Forward over the prefix and the tokens so far
        var sequence = prefix.ToList();
        for (int t = 0; t < 6; t++)
        {
            float[] logits = ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(sequence.ToArray(), [1, sequence.Count])));
            sequence.Add(TensorPrimitives.IndexOfMax(logits.AsSpan((sequence.Count - 1) * Vocabulary, Vocabulary)));
        }
        Assert.Equal(sequence.Skip(prefix.Length), greedy);
        int[] sampled = Decode.Sample(model, prefix, maxLength: 10, temperature: 0.8f, topK: 5, rng: new Rng(1));
        Assert.Equal(10, sampled.Length);
        Assert.All(sampled, t => Assert.InRange(t, 0, Vocabulary - 1));
        Assert.Equal(greedy, Decode.Beam(model, prefix, beamWidth: 1, maxLength: 6)[0].Tokens);
    }
}
