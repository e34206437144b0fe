using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Dsl.Tests.Parity;
using Xunit;

namespace Dsl.Tests.Training;

public sealed class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsl-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ABatchOfEverythingIsOneBatch()
    {
        // batchSize int.MaxValue (one batch of all the data): the count had overflowed to 0 batches (training silently did
        // nothing) or −1, and bucketing's window of 50 batches to a negative length
        var items = Enumerable.Range(1, 5).Select(n => (Enumerable.Repeat(1, n).ToArray(), Enumerable.Repeat(2, n).ToArray())).ToArray();
        foreach (bool bucket in new[] { false, true })
        {
            var batcher = new Batcher(items, int.MaxValue, shuffle: bucket, bucketByLength: bucket);
            Assert.Equal(1, batcher.BatchCount);
            Assert.Equal(5, Assert.Single(batcher.Batches()).Batch);
        }
    }

    [Fact]
    public void NullItemsAreNamedAsNull()
    {
        var error = Assert.Throws<ArgumentException>(() => new Batcher(new (int[], int)[] { ([1], 0), (null!, 1) }, 2));
        Assert.Contains("Item 1: the sequence is null", error.Message);
        Assert.Contains("Item 1 of the texts is null", Assert.Throws<ArgumentException>(() => Vocabulary.Words(["a b", null!])).Message);
    }

    [Fact]
    public void CharacterVocabularyPutsSpecialsFirstThenByFrequency()
    {
        var v = Vocabulary.Characters("abracadabra\n");
        Assert.Equal(new[] { "<pad>", "<unk>", "<s>", "</s>", "a", "b", "r", "\n", "c", "d" }, Enumerable.Range(0, v.Count).Select(i => v[i]));
        Assert.Equal(new[] { 2, 4, 5, 1, 3 }, v.Encode("abz", addStart: true, addEnd: true));
        Assert.Equal("ab<unk>", v.Decode(v.Encode("abz", addStart: true, addEnd: true)));
        string path = Path.Combine(_dir, "chars.txt");
        v.Save(path);
        var loaded = Vocabulary.Load(path);
        Assert.Equal(Enumerable.Range(0, v.Count).Select(i => v[i]), Enumerable.Range(0, loaded.Count).Select(i => loaded[i]));
        Assert.True(loaded.IsCharacters);
    }

    [Fact]
    public void ACharacterOutsideTheBasicPlaneIsOneTokenAndSurvivesSaveAndLoad()
    {
        var v = Vocabulary.Characters("a\U0001F600b\U0001F600");
        Assert.Equal(4 + 3, v.Count);
        int[] ids = v.Encode("\U0001F600");
        Assert.Single(ids);
        Assert.Equal("\U0001F600", v.Decode(ids));
        string path = Path.Combine(_dir, "emoji.txt");
        v.Save(path);
        var loaded = Vocabulary.Load(path);
        Assert.Equal(v.Count, loaded.Count);
        Assert.Equal(v.Encode("ba\U0001F600"), loaded.Encode("ba\U0001F600"));
    }

    [Fact]
    public void AWordWithALoneSurrogateSurvivesSaveAndLoad()
    {
        // a lone surrogate is U+FFFD in the file (UTF-8 has no other way): words that differ only there are one token, as
        // characters are; two tokens had been saved as one line each and merged on load, shifting every later id
        var v = Vocabulary.Words(["a\uD800 a\uD801 b b"]);
        Assert.Equal(4 + 2, v.Count);
        Assert.Equal(v.Encode("a\uD800"), v.Encode("a\uFFFD"));
        string path = Path.Combine(_dir, "words.txt");
        v.Save(path);
        var loaded = Vocabulary.Load(path);
        Assert.Equal(v.Count, loaded.Count);
        Assert.Equal(v.Encode("b a\uD801 c"), loaded.Encode("b a\uD801 c"));
        Assert.Equal(v.Decode([4, 5]), loaded.Decode([4, 5]));
    }

    [Theory]
    [InlineData("words\na\nb\na\n", "line 4: the token 'a' is on line 2 too")]
    [InlineData("words\n<unk>\nx\n", "line 2: the special token '<unk>' has its fixed id")]
    [InlineData("characters\nx\n\ny\n", "line 3: an empty token")]
    public void AVocabularyFileWhoseIdsWouldShiftIsRefused(string text, string expected)
    {
        string path = Path.Combine(_dir, "bad.txt");
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDataException>(() => Vocabulary.Load(path));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void WordVocabularyKeepsFrequentWords()
    {
        var v = Vocabulary.Words(["the cat sat", "the dog sat on the mat"], minCount: 2);
        Assert.Equal(6, v.Count); // 4 specials, "the", "sat"
        Assert.Equal(new[] { 4, 1, 5 }, v.Encode("the fish sat"));
        Assert.Equal("the <unk> sat", v.Decode(v.Encode("the fish sat")));
        Assert.Throws<InvalidDataException>(() => Vocabulary.Load(WriteFile("bad.txt", "nonsense")));
    }

    [Fact]
    public void SpecialTokensInTheTextTakeNoneOfTheMaxSizePlaces()
    {
        // "<unk>" is the most frequent word here: it used to take one of the two places and be dropped as already there
        var v = Vocabulary.Words(["<unk> <unk> <unk> a b c </s>"], maxSize: 6);
        Assert.Equal(6, v.Count);
        Assert.Equal(new[] { Vocabulary.UnknownId, 4, 5, Vocabulary.UnknownId }, v.Encode("<unk> a b c"));
        Assert.Equal(7, Vocabulary.Characters("<<<ab", maxSize: 7).Count); // '<' is a character, not a special token
    }

    private string WriteFile(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int[], int[])[] Sequences(int count, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int length = 1 + rng.NextInt(7);
            int[] x = Enumerable.Range(0, length).Select(_ => rng.NextInt(11)).ToArray();
            int[] y = Enumerable.Range(0, length).Select(_ => rng.NextInt(11)).ToArray();
            return (x, y);
        }).ToArray();
    }

    [Fact]
    public void BatcherPadsInputsAndIgnoresPaddedTargets()
    {
        var items = new[] { (new[] { 5, 6, 7 }, new[] { 6, 7, 8 }), (new[] { 9 }, new[] { 10 }) };
        TokenBatch b = new Batcher(items, batchSize: 2, shuffle: false).Batches().Single();
        Assert.Equal((2, 3), (b.Batch, b.Steps));
        Assert.Equal(new[] { 5, 6, 7, 9, 0, 0 }, b.Inputs);
        Assert.Equal(new[] { 6, 7, 8, 10, -100, -100 }, b.Targets);
        Assert.Equal(new[] { 3, 1 }, b.Lengths);
    }

    [Fact]
    public void ShufflingIsSeededAndBucketingGroupsLengths()
    {
        var items = Sequences(200, 1);
        string Order(Batcher b) => string.Join(";", b.Batches().Select(x => string.Join(",", x.Lengths)));
        Assert.Equal(Order(new Batcher(items, 16, seed: 4)), Order(new Batcher(items, 16, seed: 4)));
        Assert.NotEqual(Order(new Batcher(items, 16, seed: 4)), Order(new Batcher(items, 16, seed: 5)));
        int Padding(Batcher b) => b.Batches().Sum(x => x.Batch * x.Steps - x.Lengths.Sum());
        Assert.True(Padding(new Batcher(items, 16, bucketByLength: true, seed: 4)) < Padding(new Batcher(items, 16, seed: 4)) / 2);
        Assert.Equal(200, new Batcher(items, 16, bucketByLength: true).Batches().Sum(x => x.Batch));
        var (train, valid) = Batcher.Split(items, 0.1, seed: 3);
        Assert.Equal((180, 20), (train.Length, valid.Length));
        Assert.Empty(train.Intersect(valid));
    }

    [Fact]
    public void ASplitThatLeavesNoTrainingItemAndNullSequencesAreRefusedNamingWhy()
    {
        // 3 items at 0.9: 2.7 rounds to 3 for validation, and the training set came back empty
        var e = Assert.Throws<ArgumentException>(() => Batcher.Split(new[] { 1, 2, 3 }, 0.9));
        Assert.Contains("of 3 items leaves no training item (3 for validation)", e.Message);
        // rounded up, as scikit-learn's train_test_split: ⌈1.2⌉ = 2, ⌈0.5⌉ = 1 (half to even had held out nothing), ⌈2.5⌉ = 3
        Assert.Equal((1, 2), (Batcher.Split(new[] { 1, 2, 3 }, 0.4).Training.Length, Batcher.Split(new[] { 1, 2, 3 }, 0.4).Validation.Length));
        Assert.Equal((9, 1), (Batcher.Split(Enumerable.Range(0, 10).ToArray(), 0.05).Training.Length, Batcher.Split(Enumerable.Range(0, 10).ToArray(), 0.05).Validation.Length));
        Assert.Equal(3, Batcher.Split(Enumerable.Range(0, 10).ToArray(), 0.25).Validation.Length);
        Assert.Empty(Batcher.Split(Enumerable.Range(0, 10).ToArray(), 0).Validation);
        Assert.Equal((0, 0), (Batcher.Split(Array.Empty<int>(), 0.5).Training.Length, Batcher.Split(Array.Empty<int>(), 0.5).Validation.Length));
        // a null sequence was a NullReferenceException
        e = Assert.Throws<ArgumentException>(() => new Batcher(new (int[], int[])[] { ([1, 2], [2, 3]), (null!, [1]) }, 4));
        Assert.Contains("Item 1: its input is null", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Batcher(new (int[], int[])[] { ([1, 2], null!) }, 4));
        Assert.Contains("Item 0: its target is null", e.Message);
    }

    [Fact]
    public void PaddingAtTheEndReproducesTheUnpaddedGradientsOfAUnidirectionalModel()
    {
        var items = Sequences(4, 2);
        var padded = new StatefulLstm(seed: 1);
        TokenBatch b = new Batcher(items, 4, shuffle: false).Batches().Single();
        float loss = padded.Backward(new ReadOnlyTensorSpan<int>(b.Inputs, [b.Batch, b.Steps]), new ReadOnlyTensorSpan<int>(b.Targets, [b.Batch, b.Steps]));

        // The same sequences one by one, unpadded, weighted by their token counts.
        var single = new StatefulLstm(seed: 1);
        int total = items.Sum(i => i.Item1.Length);
        double expected = 0;
        var sums = single.Parameters.Select(p => new double[p.Length]).ToArray();
        foreach (var (x, y) in items)
        {
            single.Parameters.ZeroGrad();
            expected += single.Backward(new ReadOnlyTensorSpan<int>(x, [1, x.Length]), new ReadOnlyTensorSpan<int>(y, [1, y.Length])) * x.Length;
            for (int p = 0; p < sums.Length; p++)
                for (int i = 0; i < sums[p].Length; i++) sums[p][i] += single.Parameters[p].GradAsSpan()[i] * x.Length / (double)total;
        }
        Assert.Equal(expected / total, loss, 1e-5);
        for (int p = 0; p < sums.Length; p++)
            Tolerance.AssertClose(sums[p].Select(v => (float)v).ToArray(), padded.Parameters[p].GradAsSpan(), padded.Parameters[p].Name);
    }

    /// <summary>Next-token prediction on a repeating pattern of 11 tokens: 40 windows of 8, split 80/20 with seed 1.</summary>
    private static ((int[], int[])[] Train, (int[], int[])[] Valid) RepeatingPattern()
    {
        var items = Enumerable.Range(0, 40).Select(i =>
        {
            int[] x = Enumerable.Range(i, 8).Select(t => t % 11).ToArray();
            return (x, x.Select(t => (t + 1) % 11).ToArray());
        }).ToArray();
        return Batcher.Split(items, 0.2, seed: 1);
    }

    [Fact]
    public void TrainerRejectsEmptyDataAndAClipNormThatIsNotPositive()
    {
        var model = new StatefulLstm(seed: 2);
        var adam = new Adam(model.Parameters, learningRate: 0.01f);
        Assert.Equal("clipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, adam, clipNorm: 0f)).ParamName);
        Assert.Equal("clipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, adam, clipNorm: float.NaN)).ParamName);
        var trainer = new Trainer(model, adam);
        var (train, _) = RepeatingPattern();
        var none = Array.Empty<(int[], int[])>();
        Assert.Equal("training", Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(none, 8), null, 1)).ParamName);
        // an empty validation set: an error, not a NaN "best" loss
        var empty = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(train, 8), new Batcher(none, 8), 1));
        Assert.Equal("validation", empty.ParamName);
        // a patience with no validation data would never act (Keras warns that val_loss is not available)
        var patience = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(train, 8), null, 3, patience: 2));
        Assert.Equal("patience", patience.ParamName);
        Assert.Contains("no validation data", patience.Message);
    }

    [Fact]
    public void IdsOutsideTheModelAreRefusedBeforeTheFirstStep()
    {
        // an id past the vocabulary in a later batch had stopped the run after the first batches had moved the weights,
        // the optimiser and the shuffle; validation data was checked only after a whole epoch of training
        var (train, valid) = RepeatingPattern();
        var model = new StatefulLstm(seed: 2);
        var adam = new Adam(model.Parameters, learningRate: 0.01f);
        var trainer = new Trainer(model, adam, schedule: new StepLr(adam, 1));
        float[] weights = model.Parameters[0].AsSpan().ToArray();
        (int[], int[]) badTarget = (train[0].Item1, train[0].Item2.Select((t, i) => i == 5 ? 11 : t).ToArray());
        (int[], int[]) badInput = (train[0].Item1.Select((t, i) => i == 2 ? -3 : t).ToArray(), train[0].Item2);
        var batcher = new Batcher(train.Append(badTarget), 4, seed: 5);
        string shuffle = batcher.Random.Save();
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(batcher, null, 2));
        Assert.Equal("training", e.ParamName);
        Assert.Contains($"sequence {train.Length} has target id 11 at step 5, outside the model's classes [0, 11)", e.Message);
        e = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(train, 4), new Batcher(valid.Append(badInput), 4), 2));
        Assert.Equal("validation", e.ParamName);
        Assert.Contains($"sequence {valid.Length} holds token id -3 at step 2, outside the model's vocabulary [0, 11)", e.Message);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => trainer.Evaluate(new Batcher([badTarget], 1))).ParamName);
        var labels = new Batcher(new (int[], int)[] { ([1, 2], 11) }, 1);
        Assert.Contains("sequence 0 has label 11", Assert.Throws<ArgumentException>(() => labels.CheckIds(11, 11, "training")).Message);
        // nothing moved
        Assert.Equal(weights, model.Parameters[0].AsSpan().ToArray());
        Assert.Equal(0, adam.StepCount);
        Assert.Equal(0.01f, adam.LearningRate);
        Assert.Equal(shuffle, batcher.Random.Save());
    }

    /// <summary>A generated model whose gradient overflows to +∞ from a given batch on, its loss still finite.</summary>
    private sealed class OverflowingGradient(IModel<int> inner, int fromBatch) : IModel<int>
    {
        private int _batches;
        public ParameterSet Parameters => inner.Parameters;
        public int InputWidth => inner.InputWidth;
        public int OutputWidth => inner.OutputWidth;
        public bool ReturnsSequences => inner.ReturnsSequences;
        public Rng DropoutRandom => inner.DropoutRandom;

        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths)
        {
            float loss = inner.Backward(input, targets, lengths);
            if (++_batches >= fromBatch) Parameters[0].GradAsSpan()[0] = float.PositiveInfinity;
            return loss;
        }

        public Tensor<float> Forward(ReadOnlyTensorSpan<int> input) => inner.Forward(input);
        public void Forward(ReadOnlyTensorSpan<int> input, TensorSpan<float> destination) => inner.Forward(input, destination);
        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets) => inner.Backward(input, targets);
        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets) => inner.Backward(input, targets);
        public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets) => inner.Loss(input, targets);
        public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets) => inner.Loss(input, targets);
        public Tensor<float> Forward(ReadOnlyTensorSpan<int> input, IModelState state) => inner.Forward(input, state);
        public void Forward(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination) => inner.Forward(input, state, destination);
        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, IModelState state) => inner.Backward(input, targets, state);
        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, IModelState state) => inner.Backward(input, targets, state);
        public Tensor<float> Forward(ReadOnlyTensorSpan<int> input, ReadOnlySpan<int> lengths) => inner.Forward(input, lengths);
        public float Backward(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths) => inner.Backward(input, targets, lengths);
        public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<int> targets, ReadOnlySpan<int> lengths) => inner.Loss(input, targets, lengths);
        public float Loss(ReadOnlyTensorSpan<int> input, ReadOnlyTensorSpan<float> targets, ReadOnlySpan<int> lengths) => inner.Loss(input, targets, lengths);
        public IModelState CreateState(int batch = 1) => inner.CreateState(batch);
        public Tensor<float> Step(ReadOnlyTensorSpan<int> input, IModelState state) => inner.Step(input, state);
        public void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination) => inner.Step(input, state, destination);
    }

    [Theory]
    [InlineData(5f)]
    [InlineData(null)]
    public void AGradientThatOverflowsStopsTheRunBeforeTheOptimiserSteps(float? clipNorm)
    {
        // clipping scaled the +∞ gradient by 0 (NaN) and Adam stepped on it: NaN weights from a run that reported finite losses
        var (train, valid) = RepeatingPattern();
        var model = new OverflowingGradient(new StatefulLstm(seed: 2), fromBatch: 3);
        var adam = new Adam(model.Parameters, learningRate: 0.01f);
        var trainer = new Trainer(model, adam, clipNorm);
        var e = Assert.Throws<ArithmeticException>(() => trainer.Fit(new Batcher(train, 8), null, 2));
        Assert.Contains("the gradients' norm is +infinity in epoch 1, batch 3", e.Message);
        Assert.Equal(2, adam.StepCount);
        Assert.All(model.Parameters, p => Assert.All(p.AsSpan().ToArray(), v => Assert.True(float.IsFinite(v))));
        // with validation, the best epoch's weights come back, as for a loss that is not finite
        model = new OverflowingGradient(new StatefulLstm(seed: 2), fromBatch: 6);
        adam = new Adam(model.Parameters, learningRate: 0.01f);
        e = Assert.Throws<ArithmeticException>(() => new Trainer(model, adam, clipNorm).Fit(new Batcher(train, 8), new Batcher(valid, 8), 3));
        Assert.Contains("weights of epoch 1", e.Message);
    }

    [Fact]
    public void AScheduleOverAnotherOptimiserIsRefused()
    {
        // it would have set the other optimiser's rate every epoch, leaving the trained one at its own
        var model = new StatefulLstm(seed: 2);
        var adam = new Adam(model.Parameters, learningRate: 0.01f);
        var other = new Adam(model.Parameters, learningRate: 0.01f);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, adam, schedule: new StepLr(other, 1)));
        Assert.Equal("schedule", e.ParamName);
        Assert.Contains("another optimiser", e.Message);
    }

    [Fact]
    public void ABatchWithEveryTargetIgnoredLeavesTheEpochsLossAndTheBestLossFinite()
    {
        var (train, _) = RepeatingPattern();
        (int[], int[]) ignored = (train[0].Item1, train[0].Item2.Select(_ => -1).ToArray());
        var model = new StatefulLstm(seed: 2);
        var trainer = new Trainer(model, new Adam(model.Parameters, learningRate: 0.01f));
        // the ignored sequence is a batch of its own (batch size 1, in order): it neither trains nor turns the mean into NaN
        TrainingReport report = trainer.Fit(new Batcher(train.Prepend(ignored), 1, shuffle: false), null, epochs: 1);
        Assert.True(float.IsFinite(report.LastTrainingLoss), $"training loss {report.LastTrainingLoss}");
        // a validation set with nothing to score gives a NaN loss, which never becomes the best
        TrainingReport unscored = trainer.Fit(new Batcher(train, 8), new Batcher([ignored], 1), epochs: 3, patience: 2);
        Assert.Null(unscored.BestValidationLoss);
        Assert.True(unscored.StoppedEarly);
    }

    [Fact]
    public void ARunThatDivergesKeepsTheBestEpochsWeightsAndSaysSo()
    {
        var (train, valid) = RepeatingPattern();
        var model = new StatefulLstm(seed: 2);
        var trainer = new Trainer(model, new Adam(model.Parameters, learningRate: 0.01f));
        var atEpochEnd = new List<float[][]>();
        // after epoch 3's first batch a weight turns NaN, as a diverging run's would: its second batch's loss is NaN
        var progress = new Callback(p =>
        {
            if (p.EndOfEpoch) atEpochEnd.Add(model.Parameters.Select(q => q.AsSpan().ToArray()).ToArray());
            if (p.Epoch == 3 && p.Batch == 1 && !p.EndOfEpoch) model.Parameters[0].AsSpan()[0] = float.NaN;
        });
        var e = Assert.Throws<ArithmeticException>(() => trainer.Fit(new Batcher(train, 8, seed: 1), new Batcher(valid, 8), epochs: 5, progress: progress));
        Assert.Contains("Training diverged in epoch 3; the weights of epoch", e.Message);
        Assert.IsType<ArithmeticException>(e.InnerException);
        // the best epoch's weights (1 or 2), never the diverged ones
        int best = e.Message.Contains("the weights of epoch 1 ") ? 1 : 2;
        Assert.Contains($"the weights of epoch {best} ", e.Message);
        for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(atEpochEnd[best - 1][i], model.Parameters[i].AsSpan().ToArray());
    }

    /// <summary>IProgress that runs on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class Callback(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [Fact]
    public void ATrainersCheckpointResumesTheRunWithItsBatchOrder()
    {
        // three epochs straight against one epoch, its checkpoint loaded into new objects, then two more epochs
        var (train, _) = RepeatingPattern();
        (StatefulLstm Model, Adam Adam, StepLr Schedule, Batcher Data) Build()
        {
            var model = new StatefulLstm(seed: 2);
            var adam = new Adam(model.Parameters, learningRate: 0.01f);
            return (model, adam, new StepLr(adam, stepSize: 1, gamma: 0.5f), new Batcher(train, 8, seed: 5));
        }
        var straight = Build();
        new Trainer(straight.Model, straight.Adam, schedule: straight.Schedule).Fit(straight.Data, null, epochs: 3);
        string path = Path.Combine(_dir, "run.safetensors");
        var first = Build();
        new Trainer(first.Model, first.Adam, schedule: first.Schedule).Fit(first.Data, null, epochs: 1, checkpointPath: path);
        var resumed = Build();
        Assert.Equal(1, Checkpoint.Load(path, resumed.Model, resumed.Adam, resumed.Schedule, resumed.Data.Random));
        var reports = new List<TrainingProgress>();
        TrainingReport report = new Trainer(resumed.Model, resumed.Adam, schedule: resumed.Schedule)
            .Fit(resumed.Data, null, epochs: 3, progress: new Progress(reports), checkpointPath: path, initialEpoch: 1);
        int[] epochs = reports.Where(r => r.EndOfEpoch).Select(r => r.Epoch).ToArray();
        foreach (Parameter p in straight.Model.Parameters) Assert.Equal(p.AsSpan().ToArray(), resumed.Model.Parameters[p.Name].AsSpan().ToArray());
        // numbered as the run's: epochs 2 and 3, and the checkpoint's step 3 (a second resume would find no epoch left)
        Assert.Equal([2, 3], epochs);
        Assert.Equal(3, report.Epochs);
        var again = Build();
        Assert.Equal(3, Checkpoint.Load(path, again.Model, again.Adam, again.Schedule, again.Data.Random));
        foreach (Parameter p in straight.Model.Parameters) Assert.Equal(p.AsSpan().ToArray(), again.Model.Parameters[p.Name].AsSpan().ToArray());
        var none = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(again.Model, again.Adam).Fit(again.Data, null, epochs: 3, initialEpoch: 3));
        Assert.Equal("initialEpoch", none.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(again.Model, again.Adam).Fit(again.Data, null, epochs: 3, initialEpoch: -1));
    }


    [Fact]
    public void TrainerLearnsReportsProgressAndStopsEarly()
    {
        // Next-token prediction on a repeating pattern.
        var (train, valid) = RepeatingPattern();
        var model = new StatefulLstm(seed: 2);
        var reports = new List<TrainingProgress>();
        var trainer = new Trainer(model, new Adam(model.Parameters, learningRate: 0.02f), clipNorm: 5f);
        TrainingReport report = trainer.Fit(new Batcher(train, 8, seed: 1), new Batcher(valid, 8, shuffle: false), epochs: 15,
            progress: new Progress(reports));
        Assert.Equal(15, report.Epochs);
        Assert.False(report.StoppedEarly);
        Assert.True(report.BestValidationLoss < 0.1f, $"validation loss {report.BestValidationLoss}");
        Assert.Equal(15, reports.Count(r => r.EndOfEpoch));
        Assert.True(reports.Last().ValidationAccuracy > 0.95f, $"validation accuracy {reports.Last().ValidationAccuracy}");
        Assert.Equal(reports.Last().ValidationLoss!.Value, trainer.Evaluate(new Batcher(valid, 8, shuffle: false)).Loss, 1e-5f);
        Assert.All(reports, r => Assert.True(r.TokensPerSecond > 0 && r.GradientNorm >= 0));

        // With a zero learning rate nothing improves: training stops after `patience` epochs without progress.
        var frozen = new StatefulLstm(seed: 3);
        TrainingReport stopped = new Trainer(frozen, new Sgd(frozen.Parameters, learningRate: 0f))
            .Fit(new Batcher(train, 8, seed: 1), new Batcher(valid, 8, shuffle: false), epochs: 10, patience: 2);
        Assert.True(stopped.StoppedEarly);
        Assert.Equal(3, stopped.Epochs);
        Assert.Equal(1, stopped.BestEpoch);
    }

    [Fact]
    public void TrainerTrainsAManyToOneClassifierOnPaddedSequencesOfLabels()
    {
        // Does the sequence hold a 7? Sequences of 2 to 9 ids in 1…7, padded in batches; a bidirectional GRU reads them at
        // their own lengths (its reverse direction would start in the padding otherwise).
        var rng = new Rng(11);
        var items = Enumerable.Range(0, 240).Select(_ =>
        {
            int[] x = Enumerable.Range(0, 2 + rng.NextInt(8)).Select(_ => 1 + rng.NextInt(6)).ToArray(); // 1…6
            bool seven = rng.NextInt(2) == 1;
            if (seven) x[rng.NextInt(x.Length)] = 7;
            return (x, seven ? 1 : 0);
        }).ToArray();
        var (train, valid) = Batcher.Split(items, 0.25, seed: 2);
        TokenBatch first = new Batcher(train, 8, shuffle: false).Batches().First();
        Assert.True(first.SequenceTargets);
        Assert.Equal([first.Batch], first.TargetShape);
        Assert.Equal(train.Take(8).Select(i => i.Item2), first.Targets);

        var model = new GruBidirectionalManyToOne(seed: 4);
        var trainer = new Trainer(model, new Adam(model.Parameters, learningRate: 0.03f));
        float before = trainer.Evaluate(new Batcher(valid, 16, shuffle: false)).Accuracy;
        TrainingReport report = trainer.Fit(new Batcher(train, 8, seed: 3), new Batcher(valid, 16, shuffle: false), epochs: 12);
        var (loss, accuracy) = trainer.Evaluate(new Batcher(valid, 16, shuffle: false));
        Assert.True(accuracy > 0.95f, $"accuracy {accuracy} (before training {before}), loss {loss}");
        Assert.Equal(report.BestValidationLoss!.Value, Math.Min(report.BestValidationLoss.Value, loss), 5);

        // the evaluation reads each sequence at its length: the same as the model on one unpadded sequence at a time
        int right = valid.Count(v => TensorPrimitives.IndexOfMax(ParityModel.Flatten(model.Forward(new ReadOnlyTensorSpan<int>(v.Item1, [1, v.Item1.Length])))) == v.Item2);
        Assert.Equal((float)right / valid.Length, accuracy, 5);

        // labels for a model that returns a sequence (and the reverse) are refused, naming both shapes
        var wrong = Assert.Throws<ArgumentException>(() => new Trainer(new StatefulLstm(), new Sgd(new StatefulLstm().Parameters, 0.1f)).Fit(new Batcher(train, 8), null, 1));
        Assert.Contains("training: one label per sequence, but the model returns a sequence", wrong.Message);
        var (seqTrain, _) = RepeatingPattern();
        var reverse = Assert.Throws<ArgumentException>(() => trainer.Fit(new Batcher(seqTrain, 8), null, 1));
        Assert.Contains("training: a target per step, but the model returns one vector per sequence ([batch, 4])", reverse.Message);
    }

    [Fact]
    public void EarlyStoppingRestoresTheWeightsOfTheBestEpoch()
    {
        // Three epochs at a small rate improve the validation loss; then the schedule multiplies the rate by 100 and
        // Adam's steps of ~2 per weight make it worse. Training stops `patience` epochs after the best one, and the
        // model must then hold exactly the weights it had at the end of the best epoch: not the last epoch's, not the first's.
        var (train, valid) = RepeatingPattern();
        var model = new StatefulLstm(seed: 2);
        var optimizer = new Adam(model.Parameters, learningRate: 0.02f);
        var weightsAtEpochEnd = new Dictionary<int, float[][]>();
        var validationLoss = new Dictionary<int, float>();
        var progress = new Snapshot(p =>
        {
            if (!p.EndOfEpoch) return;
            weightsAtEpochEnd[p.Epoch] = model.Parameters.Select(x => x.AsSpan().ToArray()).ToArray();
            validationLoss[p.Epoch] = p.ValidationLoss!.Value;
        });
        TrainingReport report = new Trainer(model, optimizer, clipNorm: 5f, new StepLr(optimizer, stepSize: 3, gamma: 100f))
            .Fit(new Batcher(train, 8, seed: 1), new Batcher(valid, 8, shuffle: false), epochs: 12, patience: 2, progress: progress);

        Assert.True(report.StoppedEarly);
        Assert.Equal(3, report.BestEpoch);
        Assert.Equal(report.BestEpoch + 2, report.Epochs);
        Assert.True(validationLoss[1] > validationLoss[2] && validationLoss[2] > validationLoss[3], string.Join(", ", validationLoss));
        Assert.True(validationLoss[4] > validationLoss[3] && validationLoss[5] > validationLoss[3], string.Join(", ", validationLoss));
        Assert.Equal(validationLoss[3], report.BestValidationLoss);
        float[][] best = weightsAtEpochEnd[report.BestEpoch], last = weightsAtEpochEnd[report.Epochs];
        for (int i = 0; i < best.Length; i++)
        {
            Assert.Equal(best[i], model.Parameters[i].AsSpan().ToArray());
        }
        Assert.Contains(Enumerable.Range(0, best.Length), i => !best[i].AsSpan().SequenceEqual(last[i]));
        // And the restored model's validation loss is the best epoch's.
        var trainer = new Trainer(model, optimizer);
        Assert.Equal(validationLoss[3], trainer.Evaluate(new Batcher(valid, 8, shuffle: false)).Loss);
    }

    private sealed class Snapshot(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }

    /// <summary>Collects reports synchronously (System.Progress posts them to the thread pool).</summary>
    private sealed class Progress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }

    [Fact]
    public void AccumulatingGradientsStepsAsOneBatchThatManyTimesLarger()
    {
        // 10 sequences of different lengths, some targets ignored: at batch 2 and 4 steps accumulated, the optimiser steps
        // on batches 1–4 (8 sequences) and then on batch 5, what a batch of 8 does in its two batches; the loss is the mean
        // over each step's targets, so batches counting different targets weigh by them
        var rng = new Rng(12);
        var items = Enumerable.Range(0, 10).Select(i =>
        {
            int n = 3 + (int)(rng.NextFloat() * 6);
            int[] x = Enumerable.Range(0, n).Select(_ => (int)(rng.NextFloat() * 11)).ToArray();
            int[] y = x.Select((t, s) => (s + i) % 3 == 0 ? Batcher.IgnoredTarget : (t + 1) % 11).ToArray();
            return (x, y);
        }).ToArray();
        foreach (float? clip in new float?[] { null, 0.5f })
        {
            var (accumulated, large) = (new Models.Lstm(seed: 4), new Models.Lstm(seed: 4));
            var trainer = new Trainer(accumulated, new Sgd(accumulated.Parameters, learningRate: 0.5f), clip, accumulationSteps: 4);
            Assert.Equal(4, trainer.AccumulationSteps);
            var norms = new List<float>();
            trainer.Fit(new Batcher(items, 2, shuffle: false), null, epochs: 2, progress: new Callback(p => norms.Add(p.GradientNorm)));
            new Trainer(large, new Sgd(large.Parameters, learningRate: 0.5f), clip).Fit(new Batcher(items, 8, shuffle: false), null, epochs: 2);
            foreach (Parameter p in large.Parameters)
                Tolerance.AssertClose(p.AsSpan(), accumulated.Parameters[p.Name].AsSpan(), $"clip {clip}: {p.Name} after 4 steps");
            // the progress after each batch carries the last step's norm: none before the first step, then the same until the next
            Assert.Equal(0f, norms[0]);
            Assert.Equal(norms[3], norms[4]);
            Assert.NotEqual(norms[2], norms[3]);
        }
        var model = new Models.Lstm(seed: 4);
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, new Sgd(model.Parameters, 0.1f), accumulationSteps: 0));
        Assert.Equal("accumulationSteps", refused.ParamName);
    }
}
