using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Training;

/// <summary>
/// <see cref="Trainer"/> over one long token stream (<see cref="StreamBatcher"/>): the corpus cut as PyTorch's
/// word_language_model cuts it, the state carried from batch to batch and reset each epoch, against that example's loop in
/// PyTorch (Fixtures/make_fixtures.py, make_stream), against a hand-written loop bit for bit, and the data and models it refuses.
/// </summary>
public class StreamTrainingTests
{
    private static int[] Ids(int count, int vocab, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextInt(vocab)).ToArray();
    }

    [Fact]
    public void BatchesCutTheStreamAsBatchifyAndGetBatchDo()
    {
        // 23 tokens in 3 streams of 7 (2 dropped), read 4 steps at a time: steps 0-3 then 4-5, targets one later
        int[] ids = Enumerable.Range(0, 23).ToArray();
        var data = new StreamBatcher(ids, batchSize: 3, steps: 4);
        Assert.Equal((3, 4, 7, 2, 18L, 2), (data.BatchSize, data.Steps, data.StreamLength, data.DroppedTokens, data.Targets, data.BatchCount));
        TokenBatch[] batches = data.Batches().ToArray();
        Assert.Equal(2, batches.Length);
        Assert.Equal([0, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 17], batches[0].Inputs);
        Assert.Equal([1, 2, 3, 4, 8, 9, 10, 11, 15, 16, 17, 18], batches[0].Targets);
        Assert.Equal((3, 4), (batches[0].Batch, batches[0].Steps));
        Assert.Equal([4, 5, 11, 12, 18, 19], batches[1].Inputs);
        Assert.Equal([5, 6, 12, 13, 19, 20], batches[1].Targets);
        Assert.Equal([2, 2, 2], batches[1].Lengths);
        // a stream of exactly Steps + 1 tokens: one full batch
        Assert.Equal(1, new StreamBatcher(ids.AsSpan(0, 10), batchSize: 2, steps: 4).BatchCount);
        // the same pass every time: nothing is shuffled
        Assert.Equal(batches.SelectMany(b => b.Inputs), data.Batches().SelectMany(b => b.Inputs));
    }

    [Theory]
    [InlineData(nameof(StreamLstm))]
    [InlineData(nameof(StreamGru))]
    public void TrainsAsPyTorchsWordLanguageModelExample(string name)
    {
        IModel<int> model = name == nameof(StreamLstm) ? new StreamLstm() : new StreamGru();
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        // the cases' settings, as make_streams() in make_fixtures.py gives them
        (int batch, int steps, int validBatch, int epochs, float clip, Optimizer optimizer) = name == nameof(StreamLstm)
            ? (4, 8, 3, 2, 0.5f, (Optimizer)new Sgd(model.Parameters, learningRate: 0.5f, momentum: 0.5f))
            : (3, 7, 2, 3, 1f, new Adam(model.Parameters, learningRate: 0.02f));
        var training = new StreamBatcher(expected["corpus"].ToInt32(), batch, steps);
        var validation = new StreamBatcher(expected["valid"].ToInt32(), validBatch, steps);
        var reports = new List<TrainingProgress>();
        TrainingReport report = new Trainer(model, optimizer, clipNorm: clip).Fit(training, validation, epochs, progress: new Reports(reports));

        // every batch's report is the epoch's mean so far: rebuild PyTorch's from its batch losses
        float[] batchLosses = expected["batch_losses"].ToFloat();
        var running = new List<float>();
        for (int e = 0; e < epochs; e++)
        {
            double sum = 0, count = 0;
            int b = 0;
            foreach (TokenBatch tb in training.Batches())
            {
                int n = tb.Batch * tb.Steps;
                sum += batchLosses[e * training.BatchCount + b++] * (double)n;
                count += n;
                running.Add((float)(sum / count));
            }
        }
        Tolerance.AssertClose(running.ToArray(), reports.Where(r => !r.EndOfEpoch).Select(r => r.Loss).ToArray(), $"{name} running losses");
        TrainingProgress[] ends = reports.Where(r => r.EndOfEpoch).ToArray();
        Tolerance.AssertClose(expected["epoch_losses"].ToFloat(), ends.Select(r => r.Loss).ToArray(), $"{name} epoch losses");
        Tolerance.AssertClose(expected["valid_losses"].ToFloat(), ends.Select(r => r.ValidationLoss!.Value).ToArray(), $"{name} validation losses");
        Assert.Equal(expected["valid_accuracies"].ToFloat(), ends.Select(r => r.ValidationAccuracy!.Value).ToArray());
        Assert.Equal(epochs, report.Epochs);
        foreach (Parameter p in model.Parameters)
            Tolerance.AssertClose(expected["trained." + p.Name].ToFloat(), p.AsSpan(), $"{name} {p.Name} after {epochs} epochs");
    }

    [Theory]
    [InlineData(nameof(FeatureStreamLstm))]
    [InlineData(nameof(FeatureStreamGru))]
    public void TrainsOnASeriesOfFeatureVectorsAsPyTorchDoesStatefully(string name)
    {
        bool classes = name == nameof(FeatureStreamGru);
        IModel<float> model = classes ? new FeatureStreamGru() : new FeatureStreamLstm();
        model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
        var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
        // the cases' settings, as make_streams() in make_fixtures.py gives them
        (int batch, int steps, int validBatch, int epochs, float clip, Optimizer optimizer) = classes
            ? (3, 7, 2, 2, 0.5f, (Optimizer)new Sgd(model.Parameters, learningRate: 0.3f))
            : (4, 6, 3, 2, 1f, new Adam(model.Parameters, learningRate: 0.02f));
        int features = model.InputWidth;
        FeatureStreamBatcher Series(string inputs, string targets, int b) => classes
            ? new FeatureStreamBatcher(expected[inputs].ToFloat(), features, expected[targets].ToInt32(), b, steps)
            : new FeatureStreamBatcher(expected[inputs].ToFloat(), features, expected[targets].ToFloat(), b, steps);
        FeatureStreamBatcher training = Series("inputs", "targets", batch), validation = Series("valid_inputs", "valid_targets", validBatch);
        var reports = new List<TrainingProgress>();
        new Trainer(model, optimizer, clipNorm: clip).Fit(training, validation, epochs, progress: new Reports(reports));

        float[] batchLosses = expected["batch_losses"].ToFloat();
        var running = new List<float>();
        for (int e = 0; e < epochs; e++)
        {
            double sum = 0, count = 0;
            int b = 0;
            foreach (FeatureBatch fb in training.Batches())
            {
                sum += batchLosses[e * training.BatchCount + b++] * (double)fb.Counted;
                count += fb.Counted;
                running.Add((float)(sum / count));
            }
        }
        Tolerance.AssertClose(running.ToArray(), reports.Where(r => !r.EndOfEpoch).Select(r => r.Loss).ToArray(), $"{name} running losses");
        TrainingProgress[] ends = reports.Where(r => r.EndOfEpoch).ToArray();
        Tolerance.AssertClose(expected["epoch_losses"].ToFloat(), ends.Select(r => r.Loss).ToArray(), $"{name} epoch losses");
        Tolerance.AssertClose(expected["valid_losses"].ToFloat(), ends.Select(r => r.ValidationLoss!.Value).ToArray(), $"{name} validation losses");
        if (classes) Assert.Equal(expected["valid_accuracies"].ToFloat(), ends.Select(r => r.ValidationAccuracy!.Value).ToArray());
        else Assert.All(ends, r => Assert.True(float.IsNaN(r.ValidationAccuracy!.Value) && float.IsNaN(r.Perplexity)));
        foreach (Parameter p in model.Parameters)
            Tolerance.AssertClose(expected["trained." + p.Name].ToFloat(), p.AsSpan(), $"{name} {p.Name} after {epochs} epochs");
    }

    [Fact]
    public void ASeriesIsCutIntoStreamsReadInOrder()
    {
        // 11 steps of 2 features, a 1-value target each, in 3 streams of 3 (2 dropped), read 2 steps at a time
        float[] x = Enumerable.Range(0, 22).Select(i => (float)i).ToArray(), y = Enumerable.Range(0, 11).Select(i => 100f + i).ToArray();
        var data = new FeatureStreamBatcher(x, features: 2, targets: y, batchSize: 3, steps: 2);
        Assert.Equal((3, 2, 2, 1, 2), (data.StreamLength, data.DroppedSteps, data.BatchCount, data.ValueWidth, data.Features));
        Assert.False(data.Classes);
        FeatureBatch[] batches = data.Batches().ToArray();
        Assert.Equal([0f, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15], batches[0].Inputs);
        Assert.Equal([100f, 101, 103, 104, 106, 107], batches[0].Values);
        Assert.Equal([4f, 5, 10, 11, 16, 17], batches[1].Inputs);
        Assert.Equal([102f, 105, 108], batches[1].Values);
        Assert.Equal([1, 1, 1], batches[1].Lengths);
        var ids = new FeatureStreamBatcher(x, 2, Enumerable.Range(0, 11).ToArray(), batchSize: 3, steps: 2);
        Assert.True(ids.Classes);
        Assert.Equal([0, 1, 3, 4, 6, 7], ids.Batches().First().Classes);
        // what does not fit is named
        Assert.Contains("whole steps of 2 features", Assert.Throws<ArgumentException>(() => new FeatureStreamBatcher(x.AsSpan(0, 21), 2, y, 3, 2)).Message);
        Assert.Contains("one per step", Assert.Throws<ArgumentException>(() => new FeatureStreamBatcher(x, 2, new int[12], 3, 2)).Message);
        Assert.Contains("at least 12 steps", Assert.Throws<ArgumentException>(() => new FeatureStreamBatcher(x, 2, y, 12, 2)).Message);
        // and what does not fit the model, before any step: a NaN, the features, the targets' width
        var model = new FeatureStreamLstm(seed: 1);
        float[] before = model.Parameters[0].AsSpan().ToArray();
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1f));
        float[] series = Enumerable.Range(0, 60).Select(i => MathF.Sin(i)).ToArray(), targets = new float[40];
        series[37] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => trainer.Fit(new FeatureStreamBatcher(series, 3, targets, 2, 4), null, 1)).Message);
        Assert.Contains("reads 3", Assert.Throws<ArgumentException>(() => trainer.Fit(new FeatureStreamBatcher(new float[40], 2, targets, 2, 4), null, 1)).Message);
        Assert.Contains("outputs 2", Assert.Throws<ArgumentException>(() => trainer.Fit(new FeatureStreamBatcher(new float[60], 3, new float[60], 2, 4), null, 1)).Message);
        Assert.Equal("validation", Assert.Throws<ArgumentException>(() => trainer.Fit(new FeatureStreamBatcher(new float[60], 3, targets, 2, 4),
            new FeatureStreamBatcher(new float[60], 3, new int[20], 2, 4), 1)).ParamName);
        Assert.Equal(before, model.Parameters[0].AsSpan().ToArray());
    }

    [Fact]
    public void AFeatureStreamStepIsABackwardFromTheCarriedState()
    {
        var rng = new Rng(9);
        float[] x = Enumerable.Range(0, 41 * 3).Select(_ => rng.NextNormal()).ToArray(), y = Enumerable.Range(0, 41 * 2).Select(_ => rng.NextNormal()).ToArray();
        var looped = new FeatureStreamLstm(seed: 4);
        new Trainer(looped, new Sgd(looped.Parameters, 0.2f), clipNorm: null).Fit(new FeatureStreamBatcher(x, 3, y, 4, 3), null, epochs: 2);
        var manual = new FeatureStreamLstm(seed: 4);
        var sgd = new Sgd(manual.Parameters, 0.2f);
        var state = manual.CreateState(4);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            state.Reset();
            foreach (FeatureBatch b in new FeatureStreamBatcher(x, 3, y, 4, 3).Batches())
            {
                manual.Parameters.ZeroGrad();
                manual.Backward(new ReadOnlyTensorSpan<float>(b.Inputs, [4, b.Steps, 3]), new ReadOnlyTensorSpan<float>(b.Values!, [4, b.Steps, 2]), state);
                sgd.Step();
            }
        }
        foreach (Parameter p in manual.Parameters) Assert.Equal(p.AsSpan().ToArray(), looped.Parameters[p.Name].AsSpan().ToArray());
        // evaluation carries its state: the series as 4 whole sequences
        var (loss, accuracy) = new Trainer(manual, sgd).Evaluate(new FeatureStreamBatcher(x, 3, y, 4, 3));
        float whole = manual.Loss(new ReadOnlyTensorSpan<float>(x, [4, 10, 3]), new ReadOnlyTensorSpan<float>(y, [4, 10, 2]));
        Assert.Equal(whole, loss, 1e-5f);
        Assert.True(float.IsNaN(accuracy));
    }

    [Fact]
    public void AFeatureStreamBatchWithNoTargetStillMovesTheState()
    {
        // class ids per step, the second batch (steps 4-7 of every stream) all ignored: no step on it, but the state goes
        // through it, so the third batch starts where the stream is
        var rng = new Rng(10);
        float[] x = Enumerable.Range(0, 2 * 12 * 4).Select(_ => rng.NextNormal()).ToArray();
        int[] y = Enumerable.Range(0, 24).Select(i => i % 12 is >= 4 and < 8 ? -1 : rng.NextInt(3)).ToArray();
        var looped = new FeatureStreamGru(seed: 2);
        var reports = new List<TrainingProgress>();
        new Trainer(looped, new Sgd(looped.Parameters, 0.3f), clipNorm: null).Fit(new FeatureStreamBatcher(x, 4, y, 2, 4), null, epochs: 1, progress: new Reports(reports));
        Assert.Equal(2, reports.Count(r => !r.EndOfEpoch));
        var manual = new FeatureStreamGru(seed: 2);
        var sgd = new Sgd(manual.Parameters, 0.3f);
        var state = manual.CreateState(2);
        foreach (FeatureBatch b in new FeatureStreamBatcher(x, 4, y, 2, 4).Batches())
        {
            var input = new ReadOnlyTensorSpan<float>(b.Inputs, [2, 4, 4]);
            if (b.Counted == 0)
            {
                manual.Forward(input, state);
                continue;
            }
            manual.Parameters.ZeroGrad();
            manual.Backward(input, new ReadOnlyTensorSpan<int>(b.Classes!, [2, 4]), state);
            sgd.Step();
        }
        foreach (Parameter p in manual.Parameters) Assert.Equal(p.AsSpan().ToArray(), looped.Parameters[p.Name].AsSpan().ToArray());
    }

    [Fact]
    public void AStepIsABackwardFromTheCarriedStateAndEachEpochStartsAfresh()
    {
        int[] ids = Ids(157, 11, seed: 3);
        var looped = new StreamLstm();
        new Trainer(looped, new Sgd(looped.Parameters, learningRate: 0.4f), clipNorm: 1f).Fit(new StreamBatcher(ids, 4, 6), null, epochs: 2);

        // by hand: one state, reset at each epoch, carried through every batch in order
        var manual = new StreamLstm();
        var sgd = new Sgd(manual.Parameters, learningRate: 0.4f);
        var state = manual.CreateState(4);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            state.Reset();
            foreach (TokenBatch b in new StreamBatcher(ids, 4, 6).Batches())
            {
                manual.Parameters.ZeroGrad();
                manual.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [4, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, [4, b.Steps]), state);
                manual.Parameters.ClipGradNorm(1f);
                sgd.Step();
            }
        }
        foreach (Parameter p in manual.Parameters) Assert.Equal(p.AsSpan().ToArray(), looped.Parameters[p.Name].AsSpan().ToArray());

        // and not what independent windows give: the carried state matters
        var windows = new StreamLstm();
        var fresh = new Sgd(windows.Parameters, learningRate: 0.4f);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (TokenBatch b in new StreamBatcher(ids, 4, 6).Batches())
            {
                windows.Parameters.ZeroGrad();
                windows.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [4, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, [4, b.Steps]));
                windows.Parameters.ClipGradNorm(1f);
                fresh.Step();
            }
        }
        Assert.NotEqual(windows.Parameters["lstm.weight_hh_l0"].AsSpan().ToArray(), looped.Parameters["lstm.weight_hh_l0"].AsSpan().ToArray());
    }

    [Fact]
    public void EvaluationCarriesTheStateThroughTheStream()
    {
        var model = new StreamGru(seed: 4);
        int[] ids = Ids(90, 9, seed: 5);
        var data = new StreamBatcher(ids, batchSize: 2, steps: 5);
        var (loss, accuracy) = new Trainer(model, new Adam(model.Parameters)).Evaluate(data);

        // the same stream read as two whole sequences from a zero state: one Forward each
        int length = data.StreamLength;
        int[] x = [.. ids[..(length - 1)], .. ids[length..(2 * length - 1)]];
        int[] y = [.. ids[1..length], .. ids[(length + 1)..(2 * length)]];
        float whole = model.Loss(new ReadOnlyTensorSpan<int>(x, [2, length - 1]), new ReadOnlyTensorSpan<int>(y, [2, length - 1]));
        Assert.Equal(whole, loss, 1e-5f);
        var logits = model.Forward(new ReadOnlyTensorSpan<int>(x, [2, length - 1]));
        int right = 0;
        for (int r = 0; r < y.Length; r++)
        {
            float[] row = Enumerable.Range(0, 9).Select(c => logits[r / (length - 1), r % (length - 1), c]).ToArray();
            if (Array.IndexOf(row, row.Max()) == y[r]) right++;
        }
        Assert.Equal((float)right / y.Length, accuracy);
    }

    [Fact]
    public void ResumingFromAnEpochsCheckpointContinuesTheRun()
    {
        string dir = Directory.CreateTempSubdirectory("dsl-stream").FullName;
        try
        {
            int[] ids = Ids(121, 11, seed: 8);
            string path = Path.Combine(dir, "run.safetensors");
            var whole = new StreamLstm(seed: 2);
            new Trainer(whole, new Adam(whole.Parameters, learningRate: 0.01f)).Fit(new StreamBatcher(ids, 3, 5), null, epochs: 3);

            // a run stopped after its first epoch, resumed from that epoch's checkpoint into new objects
            var first = new StreamLstm(seed: 2);
            new Trainer(first, new Adam(first.Parameters, learningRate: 0.01f)).Fit(new StreamBatcher(ids, 3, 5), null, epochs: 1, checkpointPath: path);
            var resumed = new StreamLstm(seed: 9);
            var adam = new Adam(resumed.Parameters, learningRate: 0.01f);
            Assert.Equal(1, Checkpoint.Load(path, resumed, adam));
            TrainingReport report = new Trainer(resumed, adam).Fit(new StreamBatcher(ids, 3, 5), null, epochs: 3, initialEpoch: 1);
            Assert.Equal(3, report.Epochs);
            foreach (Parameter p in whole.Parameters) Assert.Equal(p.AsSpan().ToArray(), resumed.Parameters[p.Name].AsSpan().ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadStreamsAreRefusedNamingWhatCame()
    {
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => new StreamBatcher(new int[7], batchSize: 4, steps: 3)).Message);
        Assert.Contains("token id -1 at position 5", Assert.Throws<ArgumentException>(() => new StreamBatcher([1, 2, 3, 4, 5, -1, 2, 3], 2, 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamBatcher(new int[8], batchSize: 0, steps: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamBatcher(new int[8], batchSize: 2, steps: 0));

        // an id past the vocabulary is found before the first step: the weights stay
        var model = new StreamGru(seed: 1);
        float[] before = model.Parameters["gru.weight_hh_l0"].AsSpan().ToArray();
        int[] ids = Ids(60, 9, seed: 2);
        ids[47] = 9; // stream 1 (of 2, 30 each), position 17
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, new Sgd(model.Parameters, 0.1f)).Fit(new StreamBatcher(ids, 2, 4), null, epochs: 1));
        Assert.Contains("stream 1 holds token id 9 at position 17", e.Message);
        Assert.Equal(before, model.Parameters["gru.weight_hh_l0"].AsSpan().ToArray());
    }

    [Fact]
    public void ModelsThatCannotReadAStreamAreRefusedBeforeAnyStep()
    {
        var data = new StreamBatcher(Ids(40, 6, seed: 1), 2, 4);
        // one label per sequence
        var classifier = new GruBidirectionalManyToOne();
        Assert.Contains("one vector per sequence", Assert.Throws<InvalidOperationException>(() =>
            new Trainer(classifier, new Sgd(classifier.Parameters, 0.1f)).Fit(data, null, 1)).Message);
        // a causal self-attention's key/value cache is not back-propagated through: it says so, and so does TruncatedBptt
        var gpt = new GptBlock();
        Assert.False(((IModel)gpt).TrainsFromCarriedState);
        Assert.True(((IModel)new StreamLstm()).TrainsFromCarriedState);
        float[] before = gpt.Parameters[0].AsSpan().ToArray();
        Assert.Contains("cannot train from a carried state", Assert.Throws<InvalidOperationException>(() =>
            new Trainer(gpt, new Sgd(gpt.Parameters, 0.1f)).Fit(new StreamBatcher(Ids(40, 6, seed: 1), 2, 4), null, 1)).Message);
        Assert.Equal(before, gpt.Parameters[0].AsSpan().ToArray());
        int[] x = Ids(16, 13, seed: 2), y = Ids(16, 13, seed: 3);
        int updates = 0;
        Assert.Contains("cannot train from a carried state", Assert.Throws<InvalidOperationException>(() => new TruncatedBptt<int>(gpt, 4, 4).Train(x, y, 2, 8, () => updates++)).Message);
        Assert.Equal(0, updates);
        Assert.Equal(before, gpt.Parameters[0].AsSpan().ToArray());
        // windows that carry nothing: independent chunks, one window over the whole sequence, windows of k2 from its start
        new TruncatedBptt<int>(gpt, 4, 4, independentChunks: true).Train(x, y, 2, 8, () => updates++);
        new TruncatedBptt<int>(gpt, 8, 8).Train(x, y, 2, 8, () => updates++);
        new TruncatedBptt<int>(gpt, 4, 8).Train(x, y, 2, 8, () => updates++);
        Assert.Equal(5, updates);
        // evaluating is inference: its cache carries the stream
        Assert.True(float.IsFinite(new Trainer(gpt, new Sgd(gpt.Parameters, 0.1f)).Evaluate(new StreamBatcher(Ids(40, 13, seed: 4), 2, 4)).Loss));
        // a model of feature vectors
        var features = new StatefulGru();
        Assert.Contains("feature vectors", Assert.Throws<InvalidOperationException>(() =>
            new Trainer(features, new Sgd(features.Parameters, 0.1f)).Fit(data, null, 1)).Message);
    }

    [Fact]
    public void AStreamLongerThanTheModelsPositionsIsRefusedBeforeAnyStep()
    {
        // 2 streams of 30 tokens are sequences of 29 steps: past the table's 20 positions
        var model = new StreamPositions(seed: 1);
        float[] before = model.Parameters["positionembedding.weight"].AsSpan().ToArray();
        int[] ids = Ids(60, 9, seed: 5);
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1f));
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(new StreamBatcher(ids, 2, 5), null, 1));
        Assert.Contains("sequence of 29 steps, but layer 'positionembedding' of StreamPositions holds 20 positions", e.Message);
        Assert.Contains("batchSize, 3 or more", e.Message);
        e = Assert.Throws<ArgumentException>(() => trainer.Fit(new StreamBatcher(ids, 3, 5), new StreamBatcher(ids, 2, 5), 1));
        Assert.Equal("validation", e.ParamName);
        Assert.Throws<ArgumentException>(() => trainer.Evaluate(new StreamBatcher(ids, 2, 5)));
        Assert.Equal(before, model.Parameters["positionembedding.weight"].AsSpan().ToArray());
        // 3 streams of 20: 19 steps each, epoch after epoch from position 0
        TrainingReport report = trainer.Fit(new StreamBatcher(ids, 3, 5), new StreamBatcher(ids, 4, 5), epochs: 3);
        Assert.Equal(3, report.Epochs);
        Assert.NotEqual(before, model.Parameters["positionembedding.weight"].AsSpan().ToArray());
        // TruncatedBptt carries the state through the whole sequence: at most 20 steps (independent chunks: their own)
        int updates = 0;
        int[] x = Ids(2 * 25, 9, seed: 6), y = Ids(2 * 25, 9, seed: 7);
        Assert.Throws<ArgumentException>(() => new TruncatedBptt<int>(model, 5, 5).Train(x, y, 2, 25, () => updates++));
        Assert.Equal(0, updates);
        new TruncatedBptt<int>(model, 5, 5, independentChunks: true).Train(x, y, 2, 25, () => updates++);
        Assert.Equal(5, updates);
    }

    /// <summary>
    /// Batched sequences are held to a learned position table up front too: the longest one (wherever the shuffle would put
    /// it) refuses the run before any step, in training and in validation data, and Evaluate likewise.
    /// </summary>
    [Fact]
    public void ASequenceLongerThanTheModelsPositionsIsRefusedBeforeAnyBatch()
    {
        var model = new StreamPositions(seed: 2);
        float[] before = model.Parameters["positionembedding.weight"].AsSpan().ToArray();
        (int[], int[]) Sequence(int steps, int seed) => (Ids(steps, 9, seed), Ids(steps, 9, seed + 100));
        var fits = Enumerable.Range(0, 6).Select(i => Sequence(8 + i, i)).ToArray();
        var tooLong = fits.Append(Sequence(21, 50)).ToArray();
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1f));
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(tooLong, 2), null, 1));
        Assert.Equal("training: sequence 6 has 21 steps, but layer 'positionembedding' of StreamPositions holds 20 positions (maxLength): cut the sequences to at most 20 steps.", e.Message.Split(" (Parameter")[0]);
        e = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(fits, 2), new Batcher(tooLong, 2), 1));
        Assert.Equal("validation", e.ParamName);
        Assert.Throws<ArgumentException>(() => trainer.Evaluate(new Batcher(tooLong, 2)));
        Assert.Equal(before, model.Parameters["positionembedding.weight"].AsSpan().ToArray());
        // 20 steps fit
        trainer.Fit(new Batcher(fits.Append(Sequence(20, 51)), 2), new Batcher(fits, 3), 1);
        Assert.NotEqual(before, model.Parameters["positionembedding.weight"].AsSpan().ToArray());
    }

    private sealed class Reports(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
