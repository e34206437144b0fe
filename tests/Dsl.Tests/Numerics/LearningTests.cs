using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Numerics;

/// <summary>Models learn: with a fixed seed the loss falls below a stated bound.</summary>
public class LearningTests
{
    [Fact]
    public void LstmLearnsToPredictTheNextTokenOfARepeatingPattern()
    {
        // The sequence 0 1 2 … 10 0 1 2 …: every next token is determined by the current one.
        var model = new Models.Lstm(seed: 1);
        var optimizer = new Adam(model.Parameters, learningRate: 0.02f);
        const int batch = 4, steps = 12;
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
            {
                x[b * steps + t] = (b * 3 + t) % 11;
                y[b * steps + t] = (b * 3 + t + 1) % 11;
            }
        float first = 0, loss = 0;
        for (int i = 0; i < 150; i++)
        {
            model.Parameters.ZeroGrad();
            loss = model.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps]));
            if (i == 0) first = loss;
            model.Parameters.ClipGradNorm(5f);
            optimizer.Step();
        }
        Assert.InRange(first, 2.0f, 3.0f); // about ln 11 = 2.4 at the start
        Assert.True(loss < 0.05f, $"loss after 150 Adam steps is {loss}, expected < 0.05");
    }

    [Fact]
    public void AMixtureOfExpertsWithItsLoadBalancingLossLearnsEachTokensSuccessor()
    {
        // token → (token + 1) mod 11 through two mixtures (2 of 4 experts, then 1 of 3), each adding its load-balancing loss:
        // the loss it falls to is about the evenly used experts' α · k per layer (0.1 · 2 + 0.05 · 1) and little cross-entropy
        var model = new MoeBalanced(seed: 1);
        var optimizer = new Adam(model.Parameters, learningRate: 0.02f);
        const int batch = 4, steps = 11;
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (i * 7) % 11;
            y[i] = (x[i] + 1) % 11;
        }
        float first = 0, loss = 0;
        for (int i = 0; i < 200; i++)
        {
            model.Parameters.ZeroGrad();
            loss = model.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps]));
            if (i == 0) first = loss;
            optimizer.Step();
        }
        Assert.InRange(first, 2.3f, 3.2f); // ln 11 = 2.4, and the balancing terms
        Assert.True(loss < 0.45f, $"loss after 200 Adam steps is {loss}, expected < 0.45 (the balancing terms come to about 0.25 at an even use)");
    }

    [Fact]
    public void AQwen2MoeShapedDecoderWithItsSharedExpertLearnsEachTokensSuccessor()
    {
        // token → (token + 1) mod 27 through two of Qwen2-MoE's layers (causal attention, 2 of 4 experts as they are and a shared
        // expert scaled by its sigmoid gate): the shared expert's gate and maps learn with the rest
        var model = new HfTinyQwen2Moe(seed: 1);
        var optimizer = new Adam(model.Parameters, learningRate: 0.01f);
        const int batch = 4, steps = 12;
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (i * 5) % 27;
            y[i] = (x[i] + 1) % 27;
        }
        float[] gateBefore = model.Parameters.First(p => p.Name.EndsWith(".shared_gate", StringComparison.Ordinal)).AsSpan().ToArray();
        float first = 0, loss = 0;
        for (int i = 0; i < 150; i++)
        {
            model.Parameters.ZeroGrad();
            loss = model.Backward(new ReadOnlyTensorSpan<int>(x, [batch, steps]), new ReadOnlyTensorSpan<int>(y, [batch, steps]));
            if (i == 0) first = loss;
            optimizer.Step();
        }
        Assert.InRange(first, 2.8f, 4.0f); // about ln 27 = 3.3 at the start
        Assert.True(loss < 0.02f, $"loss after 150 Adam steps is {loss}, expected < 0.02");
        Assert.NotEqual(gateBefore, model.Parameters.First(p => p.Name.EndsWith(".shared_gate", StringComparison.Ordinal)).AsSpan().ToArray());
    }

    [Fact]
    public void StackedLstmLearnsToSumItsInputManyToOne()
    {
        // Regression read at the last step: 0.3 × the sum of the first feature over the sequence.
        var model = new LstmStackedManyToOne(seed: 2); // 4 features -> LSTM 6 (2 layers) -> last step -> Dense(1, tanh)
        var optimizer = new Adam(model.Parameters, learningRate: 0.01f);
        var rng = new Rng(3);
        const int batch = 16, steps = 5, features = 4;
        var x = new float[batch * steps * features];
        var y = new float[batch];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() - 0.5f;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++) y[b] += 0.3f * x[(b * steps + t) * features];
        float first = 0, loss = 0;
        for (int i = 0; i < 300; i++)
        {
            model.Parameters.ZeroGrad();
            loss = model.Backward(new ReadOnlyTensorSpan<float>(x, [batch, steps, features]), new ReadOnlyTensorSpan<float>(y, [batch, 1]));
            if (i == 0) first = loss;
            optimizer.Step();
        }
        Assert.True(loss < first / 20, $"MSE fell from {first} to {loss}; expected below {first / 20}");
        Assert.True(loss < 0.003f, $"MSE after 300 Adam steps is {loss}, expected < 0.003");
    }

    [Fact]
    public void EncoderDecoderLearnsToReverseSequences()
    {
        // Sources of 3 to 6 symbols (padded, with lengths); the target is the source reversed, then the end token.
        var rng = new Rng(11);
        int[] Sample() => Enumerable.Range(0, 3 + rng.NextInt(4)).Select(_ => 4 + rng.NextInt(6)).ToArray();
        var model = new Reverser(seed: 2);
        var optimizer = new Adam(model.Parameters, learningRate: 1e-2f);
        const int B = 32, S = 6, T = 7;
        var schedule = TeacherForcingSchedule.Linear(1f, 0.7f, 150);
        for (int step = 0; step < 300; step++)
        {
            var (source, lengths, input, targets) = Batch(Enumerable.Range(0, B).Select(_ => Sample()).ToArray());
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(source, [B, S]), lengths, new ReadOnlyTensorSpan<int>(input, [B, T]),
                new ReadOnlyTensorSpan<int>(targets, [B, T]), schedule.Ratio(step));
            model.Parameters.ClipGradNorm(1f);
            optimizer.Step();
        }
        int correct = 0;
        for (int i = 0; i < 50; i++)
        {
            int[] x = Sample();
            int[] y = model.Greedy(new ReadOnlyTensorSpan<int>(x, [1, x.Length]), startToken: 2, maxLength: 8, endToken: 3);
            if (y.SequenceEqual(x.Reverse().Append(3))) correct++;
        }
        Assert.True(correct >= 45, $"{correct} of 50 reversed exactly");

        static (int[] Source, int[] Lengths, int[] Input, int[] Targets) Batch(int[][] items)
        {
            var source = new int[B * S];
            var lengths = new int[B];
            var input = new int[B * T];
            var targets = Enumerable.Repeat(-100, B * T).ToArray();
            for (int b = 0; b < B; b++)
            {
                int[] x = items[b];
                x.CopyTo(source, b * S);
                lengths[b] = x.Length;
                int[] y = [.. x.Reverse(), 3];
                input[b * T] = 2;
                for (int t = 0; t < y.Length; t++)
                {
                    targets[b * T + t] = y[t];
                    if (t + 1 < T) input[b * T + t + 1] = y[t];
                }
            }
            return (source, lengths, input, targets);
        }
    }
}
