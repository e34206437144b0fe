using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Training;

/// <summary>
/// <see cref="Trainer"/> over a model of feature vectors and a <see cref="FeatureBatcher"/>: values per step (the mean
/// squared error), class ids, one label or one value vector per sequence; each batch read at its sequences' lengths, so a
/// step of the loop is exactly a hand-written Backward over the padded batch; the data checked against the model first.
/// </summary>
public class FeatureTrainingTests
{
    /// <summary>Sequences of 2 to 7 steps of <paramref name="features"/> values in [−1, 1].</summary>
    private static float[][] Sequences(int count, int features, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, (2 + rng.Next(6)) * features).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    /// <summary>A target per step, two values: the running sum of the first feature and the second feature's sign.</summary>
    private static float[] RunningSums(float[] input, int features)
    {
        var target = new float[input.Length / features * 2];
        float sum = 0;
        for (int t = 0; t < input.Length / features; t++)
        {
            sum += input[t * features];
            target[2 * t] = sum;
            target[2 * t + 1] = MathF.Sign(input[t * features + 1]);
        }
        return target;
    }

    [Fact]
    public void AStepOfTheLoopIsABackwardOverThePaddedBatchAtItsLengths()
    {
        float[][] inputs = Sequences(5, 3, seed: 1);
        var items = inputs.Select(x => (x, RunningSums(x, 3))).ToArray();
        var looped = new GruCho(seed: 2);
        new Trainer(looped, new Sgd(looped.Parameters, learningRate: 0.3f), clipNorm: null)
            .Fit(new FeatureBatcher(items, features: 3, batchSize: 5, shuffle: false), null, epochs: 1);

        // by hand: the batch padded with zeros to the longest, its lengths, the targets padded likewise
        var manual = new GruCho(seed: 2);
        int steps = inputs.Max(x => x.Length / 3);
        var x = new float[5 * steps * 3];
        var y = new float[5 * steps * 2];
        int[] lengths = inputs.Select(i => i.Length / 3).ToArray();
        for (int b = 0; b < 5; b++)
        {
            inputs[b].CopyTo(x, b * steps * 3);
            items[b].Item2.CopyTo(y, b * steps * 2);
        }
        manual.Backward(new ReadOnlyTensorSpan<float>(x, [5, steps, 3]), new ReadOnlyTensorSpan<float>(y, [5, steps, 2]), lengths);
        new Sgd(manual.Parameters, learningRate: 0.3f).Step();
        foreach (Parameter p in manual.Parameters)
            Assert.Equal(p.AsSpan().ToArray(), looped.Parameters[p.Name].AsSpan().ToArray());
    }

    [Fact]
    public void ARegressorLearnsReportsNoPerplexityOrAccuracyAndStopsEarly()
    {
        float[][] inputs = Sequences(96, 3, seed: 3);
        var (train, valid) = Batcher.Split(inputs.Select(x => (x, RunningSums(x, 3))).ToArray(), 0.25, seed: 1);
        var model = new GruCho(seed: 4);
        var trainer = new Trainer(model, new Adam(model.Parameters, learningRate: 0.03f));
        var reports = new List<TrainingProgress>();
        var validation = new FeatureBatcher(valid, 3, 16, shuffle: false);
        float before = trainer.Evaluate(validation).Loss;
        TrainingReport report = trainer.Fit(new FeatureBatcher(train, 3, 8, seed: 5), validation, epochs: 25, patience: 4,
            progress: new Reports(reports));
        Assert.True(report.BestValidationLoss < before * 0.3f, $"validation loss {before} -> {report.BestValidationLoss}");
        Assert.All(reports, r => Assert.True(float.IsNaN(r.Perplexity)));
        Assert.All(reports.Where(r => r.EndOfEpoch), r => Assert.True(float.IsNaN(r.ValidationAccuracy!.Value)));
        var (loss, accuracy) = trainer.Evaluate(validation);
        Assert.True(float.IsNaN(accuracy));
        // the best epoch's weights when it stopped early (restored), else the last epoch's
        Assert.Equal(report.StoppedEarly ? report.BestValidationLoss!.Value : reports.Last(r => r.EndOfEpoch).ValidationLoss!.Value, loss, 1e-5f);
    }

    [Fact]
    public void ManyToOneModelsLearnLabelsAndValuesPerSequence()
    {
        // a label per sequence: which third of [−1, 1] its mean first feature falls in (attention pooling, 3 classes)
        float[][] inputs = Sequences(120, 6, seed: 6);
        int Label(float[] x)
        {
            float mean = Enumerable.Range(0, x.Length / 6).Average(t => x[t * 6]);
            return mean < -0.15f ? 0 : mean < 0.15f ? 1 : 2;
        }
        var classifier = new AttentionPool(seed: 7);
        var labelled = new FeatureBatcher(inputs.Select(x => (x, Label(x))), 6, 16, seed: 8);
        var trainer = new Trainer(classifier, new Adam(classifier.Parameters, learningRate: 0.03f));
        float first = trainer.Evaluate(labelled).Loss;
        trainer.Fit(labelled, null, epochs: 30);
        var (loss, accuracy) = trainer.Evaluate(labelled);
        Assert.True(loss < first * 0.6f && accuracy > 0.7f, $"labels: loss {first} -> {loss}, accuracy {accuracy}");

        // a value per sequence: the mean first feature (a stacked LSTM's last step, tanh)
        float[][] four = Sequences(96, 4, seed: 9);
        var regressor = new LstmStackedManyToOne(seed: 10);
        var values = FeatureBatcher.SequenceValues(four.Select(x => (x, new[] { (float)Enumerable.Range(0, x.Length / 4).Average(t => x[t * 4]) })), 4, 16, seed: 11);
        var fit = new Trainer(regressor, new Adam(regressor.Parameters, learningRate: 0.02f));
        float start = fit.Evaluate(values).Loss;
        fit.Fit(values, null, epochs: 30);
        Assert.True(fit.Evaluate(values).Loss < start * 0.3f, $"values: loss {start} -> {fit.Evaluate(values).Loss}");
    }

    [Fact]
    public void TheLossWeighsBatchesByTheirTargetsWhateverTheBatchSize()
    {
        // values per step over sequences of 2 to 7 steps, class ids per step with some ignored: the mean over every target
        // is the same in batches of 3 (uneven, padded) as in one batch of everything
        float[][] inputs = Sequences(11, 3, seed: 12);
        var model = new GruCho(seed: 13);
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1f));
        var values = inputs.Select(x => (x, RunningSums(x, 3))).ToArray();
        Assert.Equal(trainer.Evaluate(new FeatureBatcher(values, 3, 11)).Loss, trainer.Evaluate(new FeatureBatcher(values, 3, 3, bucketByLength: true)).Loss, 1e-6f);
        var ids = inputs.Select((x, i) => (x, Enumerable.Range(0, x.Length / 3).Select(t => (t + i) % 4 == 0 ? -100 : t % 2).ToArray())).ToArray();
        var (all, accuracy) = trainer.Evaluate(new FeatureBatcher(ids, 3, 11));
        var (batched, batchedAccuracy) = trainer.Evaluate(new FeatureBatcher(ids, 3, 3));
        Assert.Equal(all, batched, 1e-6f);
        Assert.Equal(accuracy, batchedAccuracy, 1e-6f);

        // class ids per step train a float model too, with accumulation (two batches of 3 = one of 6)
        var (accumulated, large) = (new GruCho(seed: 14), new GruCho(seed: 14));
        new Trainer(accumulated, new Sgd(accumulated.Parameters, 0.5f), clipNorm: null, accumulationSteps: 2).Fit(new FeatureBatcher(ids[..6], 3, 3, shuffle: false), null, 1);
        new Trainer(large, new Sgd(large.Parameters, 0.5f), clipNorm: null).Fit(new FeatureBatcher(ids[..6], 3, 6, shuffle: false), null, 1);
        foreach (Parameter p in large.Parameters)
            Tolerance.AssertClose(p.AsSpan(), accumulated.Parameters[p.Name].AsSpan(), $"accumulated {p.Name}");
    }

    [Fact]
    public void DataThatDoesNotFitTheModelIsRefusedBeforeAnyStepNamingWhat()
    {
        var model = new GruCho(seed: 1);
        float[] before = model.Parameters[0].AsSpan().ToArray();
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1f));
        float[][] inputs = Sequences(4, 3, seed: 2);
        string Refusal(FeatureBatcher data) => Assert.Throws<ArgumentException>(() => trainer.Fit(data, null, 1)).Message;

        Assert.Contains("sequences of 4 features, but the model reads 3", Refusal(new FeatureBatcher(Sequences(4, 4, 3).Select(x => (x, new float[x.Length / 4 * 2])), 4, 2)));
        Assert.Contains("targets of 3 values, but the model outputs 2", Refusal(new FeatureBatcher(inputs.Select(x => (x, new float[x.Length])), 3, 2)));
        Assert.Contains("one target per sequence, but the model returns a sequence", Refusal(FeatureBatcher.SequenceValues(inputs.Select(x => (x, new float[2])), 3, 2)));
        Assert.Contains("sequence 1 has class 2 at step 0, outside the model's classes [0, 2)",
            Refusal(new FeatureBatcher(inputs.Select((x, i) => (x, Enumerable.Repeat(i == 1 ? 2 : 0, x.Length / 3).ToArray())), 3, 2)));
        float[][] withNaN = inputs.Select(x => (float[])x.Clone()).ToArray();
        withNaN[2][4] = float.NaN;
        Assert.Contains("sequence 2 holds NaN at step 1, feature 1; inputs must be finite", Refusal(new FeatureBatcher(withNaN.Select(x => (x, new float[x.Length / 3 * 2])), 3, 2)));
        string infinite = Refusal(new FeatureBatcher(inputs.Select((x, i) => (x, Enumerable.Repeat(i == 0 ? float.PositiveInfinity : 0f, x.Length / 3 * 2).ToArray())), 3, 2));
        Assert.Contains("sequence 0's target holds ", infinite); // (∞ or Infinity, as the culture writes it)
        Assert.Contains(" at step 0; targets must be finite", infinite);
        var mixed = Assert.Throws<ArgumentException>(() => trainer.Fit(new FeatureBatcher(inputs.Select(x => (x, new int[x.Length / 3])), 3, 2),
            new FeatureBatcher(inputs.Select(x => (x, new float[x.Length / 3 * 2])), 3, 2), 1));
        Assert.Contains("validation: values as targets, but the training data has class ids", mixed.Message);
        Assert.Equal(before, model.Parameters[0].AsSpan().ToArray());

        // the batcher's own checks: whole steps, one id per step, one width for every target
        var steps = Assert.Throws<ArgumentException>(() => new FeatureBatcher([(new float[7], new float[4])], 3, 2));
        Assert.Contains("Item 0: its input holds 7 values; expected a positive number of steps of 3 features", steps.Message);
        var ids = Assert.Throws<ArgumentException>(() => new FeatureBatcher([(new float[6], new int[3])], 3, 2));
        Assert.Contains("Item 0: 2 steps of 3 features, but 3 target ids; expected one id per step", ids.Message);
        var width = Assert.Throws<ArgumentException>(() => new FeatureBatcher([(new float[6], new float[4]), (new float[3], new float[3])], 3, 2));
        Assert.Contains("Item 1: 3 target values per step, item 0 has 2", width.Message);

        // a token model and a float model each take their own batcher
        var tokens = new Models.Lstm(seed: 1);
        var wrong = Assert.Throws<InvalidOperationException>(() => new Trainer(tokens, new Sgd(tokens.Parameters, 0.1f)).Fit(new FeatureBatcher(inputs.Select(x => (x, new float[x.Length / 3 * 2])), 3, 2), null, 1));
        Assert.Contains("reads token ids, not feature vectors: fit it on a Batcher", wrong.Message);
        var other = Assert.Throws<InvalidOperationException>(() => trainer.Fit(new Batcher([([1, 2], [2, 3])], 1), null, 1));
        Assert.Contains("reads feature vectors, not token ids: fit it on a FeatureBatcher", other.Message);
    }

    private sealed class Reports(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
