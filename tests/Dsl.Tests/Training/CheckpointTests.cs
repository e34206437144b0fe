using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Training;

[Collection(nameof(SerialCollection))]
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsl-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A small training run with dropout everywhere, Adam, a cosine schedule and random batches.</summary>
    private sealed class Run
    {
        public readonly GcDropout Model = new(seed: 7);
        public readonly Adam Optimizer;
        public readonly CosineAnnealingLr Schedule;
        public readonly Rng Data = new(11);

        public Run()
        {
            Optimizer = new Adam(Model.Parameters, learningRate: 0.05f);
            Schedule = new CosineAnnealingLr(Optimizer, period: 10, minimum: 0.001f);
        }

        public void Steps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                int[] x = Enumerable.Range(0, 3 * 4).Select(_ => Data.NextInt(5)).ToArray();
                int[] y = Enumerable.Range(0, 3 * 4).Select(_ => Data.NextInt(5)).ToArray();
                Model.Parameters.ZeroGrad();
                Model.Backward(new ReadOnlyTensorSpan<int>(x, [3, 4]), new ReadOnlyTensorSpan<int>(y, [3, 4]));
                Optimizer.Step();
                Schedule.Step();
            }
        }
    }

    [Fact]
    public void AResumedRunContinuesBitForBit()
    {
        var straight = new Run();
        straight.Steps(8);

        var first = new Run();
        first.Steps(3);
        string path = Path.Combine(_dir, "run.safetensors");
        Checkpoint.Save(path, first.Model, first.Optimizer, first.Schedule, first.Data, step: 3);

        var resumed = new Run();
        Assert.Equal(3, Checkpoint.Load(path, resumed.Model, resumed.Optimizer, resumed.Schedule, resumed.Data));
        resumed.Steps(5);

        foreach (Parameter p in straight.Model.Parameters)
            Assert.Equal(p.AsSpan().ToArray(), resumed.Model.Parameters[p.Name].AsSpan().ToArray());
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        Assert.Equal(straight.Optimizer.StepCount, resumed.Optimizer.StepCount);
    }

    [Fact]
    public void AnEncoderDecoderResumesBitForBitWithDropoutAndScheduledSampling()
    {
        void Steps(CkSeq2Seq model, Adam optimizer, Rng data, int count)
        {
            for (int i = 0; i < count; i++)
            {
                int[] source = Enumerable.Range(0, 2 * 5).Select(_ => data.NextInt(8)).ToArray();
                int[] input = Enumerable.Range(0, 2 * 4).Select(_ => data.NextInt(6)).ToArray();
                int[] targets = Enumerable.Range(0, 2 * 4).Select(_ => data.NextInt(6)).ToArray();
                model.Parameters.ZeroGrad();
                model.Backward(new ReadOnlyTensorSpan<int>(source, [2, 5]), [5, 3], new ReadOnlyTensorSpan<int>(input, [2, 4]),
                    new ReadOnlyTensorSpan<int>(targets, [2, 4]), teacherForcing: 0.5f);
                optimizer.Step();
            }
        }
        var straight = new CkSeq2Seq(seed: 3);
        var straightOptimizer = new Adam(straight.Parameters, learningRate: 0.05f);
        Steps(straight, straightOptimizer, new Rng(5), 6);

        var first = new CkSeq2Seq(seed: 3);
        var firstOptimizer = new Adam(first.Parameters, learningRate: 0.05f);
        var firstData = new Rng(5);
        Steps(first, firstOptimizer, firstData, 2);
        string path = Path.Combine(_dir, "seq2seq.safetensors");
        Checkpoint.Save(path, first, firstOptimizer, random: firstData, step: 2);

        var resumed = new CkSeq2Seq(seed: 3);
        var resumedOptimizer = new Adam(resumed.Parameters, learningRate: 0.05f);
        var resumedData = new Rng(0);
        Assert.Equal(2, Checkpoint.Load(path, resumed, resumedOptimizer, random: resumedData));
        Steps(resumed, resumedOptimizer, resumedData, 4);

        foreach (Parameter p in straight.Parameters)
            Assert.Equal(p.AsSpan().ToArray(), resumed.Parameters[p.Name].AsSpan().ToArray());
    }

    [Fact]
    public void SgdMomentumStateResumesToo()
    {
        Parameter Make() => new("w", 3);
        var a = Make();
        var sgd = new Sgd([a], learningRate: 0.1f, momentum: 0.9f);
        var model = new Holder(a);
        new[] { 1f, 2f, 3f }.CopyTo(a.GradAsSpan());
        sgd.Step();
        string path = Path.Combine(_dir, "sgd.safetensors");
        Checkpoint.Save(path, model, sgd);
        sgd.Step();

        var b = Make();
        var sgd2 = new Sgd([b], learningRate: 0.1f, momentum: 0.9f);
        Checkpoint.Load(path, new Holder(b), sgd2);
        new[] { 1f, 2f, 3f }.CopyTo(b.GradAsSpan());
        sgd2.Step();
        Assert.Equal(a.AsSpan().ToArray(), b.AsSpan().ToArray());
    }

    [Fact]
    public void AKilledSaveKeepsThePreviousCheckpoint()
    {
        var run = new Run();
        run.Steps(2);
        string path = Path.Combine(_dir, "run.safetensors");
        Checkpoint.Save(path, run.Model, run.Optimizer, run.Schedule, run.Data, step: 2);
        byte[] before = File.ReadAllBytes(path);
        run.Steps(2);
        try
        {
            SafeTensors.FailAfterBytesForTests = 200; // the process "dies" part-way through writing
            Assert.Throws<IOException>(() => Checkpoint.Save(path, run.Model, run.Optimizer, run.Schedule, run.Data, step: 4));
        }
        finally
        {
            SafeTensors.FailAfterBytesForTests = null;
        }
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
        var resumed = new Run();
        Assert.Equal(2, Checkpoint.Load(path, resumed.Model, resumed.Optimizer, resumed.Schedule, resumed.Data));
    }

    [Fact]
    public void AMismatchedCheckpointChangesNothing()
    {
        var run = new Run();
        run.Steps(1);
        string path = Path.Combine(_dir, "run.safetensors");
        Checkpoint.Save(path, run.Model, run.Optimizer, run.Schedule, run.Data, step: 1);

        var other = new Models.Lstm(seed: 1);
        float[] weights = other.Parameters[0].AsSpan().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, new Sgd(other.Parameters, 0.1f)));
        Assert.Contains("tensor 'model.lstm.weight_ih_l0' has shape [12, 3], expected [28, 5]", e.Message);
        Assert.Contains("the optimiser was 'Adam', not Sgd", e.Message);
        Assert.Equal(weights, other.Parameters[0].AsSpan().ToArray());

        new Models.Lstm().Parameters.Save(Path.Combine(_dir, "plain.safetensors"));
        Assert.Contains("not a Dsl checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(Path.Combine(_dir, "plain.safetensors"), new Models.Lstm())).Message);
    }

    [Fact]
    public void ACheckpointOfABiggerModelIsRefused()
    {
        // every shape the smaller model has matches (a stacked layer's second layer removed): the extra tensors must not
        // be dropped silently, as load_state_dict(strict=True) would not
        var big = new Holder(new Parameter("a", 2), new Parameter("b", 3));
        string path = Path.Combine(_dir, "big.safetensors");
        Checkpoint.Save(path, big, new Adam(big.Parameters, 0.1f), step: 4);
        var small = new Holder(new Parameter("a", 2));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, small, new Adam(small.Parameters, 0.1f)));
        Assert.Contains("unexpected tensor 'model.b'", e.Message);
    }

    [Theory]
    [InlineData("dsl.step", "abc", "a whole number")]
    [InlineData("dsl.optimizer.learning_rate", "abc", "a finite rate")]
    [InlineData("dsl.optimizer.step_count", "-3", "a whole number")]
    [InlineData("dsl.schedule.step", "-1", "a whole number")]
    [InlineData("dsl.step", "", "a whole number")]                        // present but empty: not a silent 0
    [InlineData("dsl.optimizer.step_count", "", "a whole number")]
    [InlineData("dsl.optimizer.learning_rate", "", "a finite rate")]        // not a learning rate of 0
    [InlineData("dsl.schedule.step", "", "a whole number")]
    public void MalformedMetadataIsRefusedBeforeAnythingChanges(string key, string value, string expected)
    {
        var run = new Run();
        run.Steps(1);
        string path = Path.Combine(_dir, "run.safetensors");
        Checkpoint.Save(path, run.Model, run.Optimizer, run.Schedule, run.Data, step: 1);
        var tensors = SafeTensors.Read(path, out Dictionary<string, string> metadata);
        metadata[key] = value;
        SafeTensors.Write(path, tensors.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())), metadata);
        var fresh = new Run();
        float[] weights = fresh.Model.Parameters[0].AsSpan().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh.Model, fresh.Optimizer, fresh.Schedule, fresh.Data));
        Assert.Contains($"'{key}' is '{value}', expected {expected}", e.Message);
        Assert.Equal(weights, fresh.Model.Parameters[0].AsSpan().ToArray());
    }

    /// <summary>
    /// A schedule step whose rate is not a finite rate ≥ 0 (a StepLr of gamma 10, 100 steps on: 10¹⁰⁰ times the base rate) is
    /// refused with the other checks, before the weights change; resuming it would have thrown half-way.
    /// </summary>
    [Fact]
    public void AScheduleStepWhoseRateOverflowsIsRefusedBeforeAnythingChanges()
    {
        var model = new Holder(new Parameter("a", 2));
        var sgd = new Sgd(model.Parameters, learningRate: 0.1f);
        var schedule = new StepLr(sgd, stepSize: 1, gamma: 10f);
        schedule.Step();
        model.Parameters[0].AsSpan().Fill(3f);
        string path = Path.Combine(_dir, "schedule.safetensors");
        Checkpoint.Save(path, model, sgd, schedule, step: 1);
        var tensors = SafeTensors.Read(path, out Dictionary<string, string> metadata);
        metadata["dsl.schedule.step"] = "100";
        SafeTensors.Write(path, tensors.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())), metadata);

        var fresh = new Holder(new Parameter("a", 2));
        var sgd2 = new Sgd(fresh.Parameters, learningRate: 0.1f);
        var schedule2 = new StepLr(sgd2, stepSize: 1, gamma: 10f);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, sgd2, schedule2));
        Assert.Contains("the schedule's rate after 100 steps is", e.Message);
        Assert.Contains("Nothing was changed", e.Message);
        Assert.Equal(new float[2], fresh.Parameters[0].AsSpan().ToArray());
        Assert.Equal(0.1f, sgd2.LearningRate);
        Assert.Equal(0, schedule2.StepCount);
    }

    [Theory]
    [InlineData("dsl.optimizer.flags", "", "the optimiser had 0 parameters, not 2")]
    [InlineData("dsl.optimizer.flags", "1x", "expected 0s and 1s")]
    [InlineData("dsl.optimizer", "", "the optimiser was '', not Sgd")]
    [InlineData("dsl.dropout_rng", "", "Not an Rng state")]
    [InlineData("dsl.dropout_rng", "0:0:0:0:-", "all zero")]
    [InlineData("dsl.dropout_rng", "10000000000000000:1:1:1:-", "16 hexadecimal digits")]
    public void AMalformedSgdCheckpointIsRefusedAndChangesNothing(string key, string value, string expected)
    {
        var a = new Parameter("a", 2);
        var b = new Parameter("b", 3);
        var model = new Holder(a, b);
        var sgd = new Sgd(model.Parameters, learningRate: 0.1f, momentum: 0.9f);
        a.GradAsSpan().Fill(1f);
        sgd.Step();
        string path = Path.Combine(_dir, "sgd.safetensors");
        Checkpoint.Save(path, model, sgd, step: 1);
        var tensors = SafeTensors.Read(path, out Dictionary<string, string> metadata);
        metadata[key] = value;
        SafeTensors.Write(path, tensors.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())), metadata);

        var a2 = new Parameter("a", 2);
        var b2 = new Parameter("b", 3);
        var fresh = new Holder(a2, b2);
        var sgd2 = new Sgd(fresh.Parameters, learningRate: 0.5f, momentum: 0.9f);
        string rng = fresh.DropoutRandom.Save();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, sgd2));
        Assert.Contains(expected, e.Message);
        Assert.Contains("Nothing was changed", e.Message);
        Assert.Equal(new float[2], a2.AsSpan().ToArray());
        Assert.Equal(0.5f, sgd2.LearningRate);
        Assert.Equal(rng, fresh.DropoutRandom.Save());
    }

    /// <summary>
    /// The optimiser's hyperparameters are recorded, and resuming with others is refused before anything changes (the run
    /// would not continue as it was); a checkpoint from before they were recorded still resumes; a malformed one is refused.
    /// </summary>
    [Fact]
    public void AnOptimiserBuiltWithOtherHyperparametersIsRefused()
    {
        var model = new Holder(new Parameter("a", 2));
        var adam = new Adam(model.Parameters, learningRate: 0.1f, beta2: 0.99f);
        model.Parameters[0].GradAsSpan().Fill(1f);
        adam.Step();
        string path = Path.Combine(_dir, "adam.safetensors");
        Checkpoint.Save(path, model, adam, step: 1);

        var fresh = new Holder(new Parameter("a", 2));
        var other = new Adam(fresh.Parameters, learningRate: 0.1f, epsilon: 1e-6f);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, other));
        Assert.Contains("the optimiser's beta2 was 0.99, not 0.999", e.Message);
        Assert.Contains("the optimiser's eps was 1E-08, not 1E-06", e.Message);
        Assert.Contains("Nothing was changed", e.Message);
        Assert.Equal(new float[2], fresh.Parameters[0].AsSpan().ToArray());
        Assert.Equal(0, other.StepCount);
        var rms = new Holder(new Parameter("a", 2));
        Assert.Contains("the optimiser was 'Adam', not RmsProp", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, rms, new RmsProp(rms.Parameters))).Message);

        // built as it was: resumes
        var same = new Holder(new Parameter("a", 2));
        var again = new Adam(same.Parameters, learningRate: 0.1f, beta2: 0.99f);
        Assert.Equal(1, Checkpoint.Load(path, same, again));
        Assert.Equal(model.Parameters[0].AsSpan().ToArray(), same.Parameters[0].AsSpan().ToArray());

        // a checkpoint without the settings (written before they were recorded) resumes into any; a malformed one is refused
        var tensors = SafeTensors.Read(path, out Dictionary<string, string> metadata);
        void Rewrite() => SafeTensors.Write(path, tensors.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())), metadata);
        foreach (string key in metadata.Keys.Where(k => k.StartsWith("dsl.optimizer.setting.", StringComparison.Ordinal)).ToList()) metadata.Remove(key);
        Rewrite();
        var older = new Holder(new Parameter("a", 2));
        Assert.Equal(1, Checkpoint.Load(path, older, new Adam(older.Parameters, learningRate: 0.1f)));
        metadata["dsl.optimizer.setting.beta1"] = "x";
        Rewrite();
        var malformed = new Holder(new Parameter("a", 2));
        Assert.Contains("'dsl.optimizer.setting.beta1' is 'x', expected a number",
            Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, malformed, new Adam(malformed.Parameters, learningRate: 0.1f))).Message);
    }

    /// <summary>
    /// A schedule's settings and base rate are recorded, and resuming into one built otherwise (another period, or an
    /// optimiser built at another rate) is refused before anything changes; a negative step is refused before the file is
    /// touched (Load would refuse it, and the good checkpoint would be gone).
    /// </summary>
    [Fact]
    public void AScheduleBuiltWithOtherSettingsIsRefusedAndANegativeStepIsNotSaved()
    {
        var model = new Holder(new Parameter("a", 2));
        var sgd = new Sgd(model.Parameters, learningRate: 0.1f);
        var cosine = new CosineAnnealingLr(sgd, period: 100, minimum: 0.001f);
        for (int i = 0; i < 50; i++) cosine.Step();
        string path = Path.Combine(_dir, "cosine.safetensors");
        Checkpoint.Save(path, model, sgd, cosine, step: 50);
        byte[] saved = File.ReadAllBytes(path);
        Assert.Equal("step", Assert.Throws<ArgumentOutOfRangeException>(() => Checkpoint.Save(path, model, sgd, cosine, step: -1)).ParamName);
        Assert.Equal(saved, File.ReadAllBytes(path));

        var fresh = new Holder(new Parameter("a", 2));
        var sgd2 = new Sgd(fresh.Parameters, learningRate: 0.1f);
        var shorter = new CosineAnnealingLr(sgd2, period: 10, minimum: 0.001f);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, sgd2, shorter));
        Assert.Contains("the schedule's T_max was 100, not 10", e.Message);
        Assert.Equal(0, shorter.StepCount);
        Assert.Equal(0.1f, sgd2.LearningRate);
        var sgd3 = new Sgd(fresh.Parameters, learningRate: 0.2f);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, sgd3, new CosineAnnealingLr(sgd3, period: 100, minimum: 0.001f)));
        Assert.Contains("the schedule's base_lr was 0.10000000149011612, not 0.20000000298023224", e.Message);

        var sgd4 = new Sgd(fresh.Parameters, learningRate: 0.1f);
        var same = new CosineAnnealingLr(sgd4, period: 100, minimum: 0.001f);
        Assert.Equal(50, Checkpoint.Load(path, fresh, sgd4, same));
        Assert.Equal(sgd.LearningRate, sgd4.LearningRate);
        cosine.Step();
        same.Step();
        Assert.Equal(sgd.LearningRate, sgd4.LearningRate);
    }

    /// <summary>
    /// Optimiser state for a parameter the resuming optimiser does not update (it was saved over more of them) is refused,
    /// as the model's extra tensors are, not dropped silently; SGD's flags and RMSprop's settings are checked the same way.
    /// </summary>
    [Fact]
    public void OptimiserStateForParametersItDoesNotUpdateIsRefused()
    {
        var model = new Holder(new Parameter("a", 2), new Parameter("b", 3));
        var rms = new RmsProp(model.Parameters, learningRate: 0.01f, momentum: 0.5f, centered: true);
        string path = Path.Combine(_dir, "rms.safetensors");
        Checkpoint.Save(path, model, rms, step: 2);

        var fresh = new Holder(new Parameter("a", 2), new Parameter("b", 3));
        var onlyA = new RmsProp(fresh.Parameters.Where(p => p.Name == "a"), learningRate: 0.01f, momentum: 0.5f, centered: true);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, onlyA));
        Assert.Contains("unexpected optimiser state 'optimizer.mean.b'", e.Message);
        Assert.Contains("unexpected optimiser state 'optimizer.square.b'", e.Message);
        var notCentered = new RmsProp(fresh.Parameters, learningRate: 0.01f, momentum: 0.5f);
        Assert.Contains("the optimiser's centered was 1, not 0", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, fresh, notCentered)).Message);
        Assert.Equal(2, Checkpoint.Load(path, fresh, new RmsProp(fresh.Parameters, learningRate: 0.01f, momentum: 0.5f, centered: true)));
        // the weights alone (no optimiser given) load from a full checkpoint
        Assert.Equal(2, Checkpoint.Load(path, new Holder(new Parameter("a", 2), new Parameter("b", 3))));

        var sgdModel = new Holder(new Parameter("a", 2));
        string sgdPath = Path.Combine(_dir, "sgd-settings.safetensors");
        Checkpoint.Save(sgdPath, sgdModel, new Sgd(sgdModel.Parameters, 0.1f, momentum: 0.9f, nesterov: true), step: 1);
        var sgdFresh = new Holder(new Parameter("a", 2));
        var plain = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(sgdPath, sgdFresh, new Sgd(sgdFresh.Parameters, 0.1f, momentum: 0.8f)));
        Assert.Contains("the optimiser's momentum was 0.9, not 0.8", plain.Message);
        Assert.Contains("the optimiser's nesterov was 1, not 0", plain.Message);
    }

    /// <summary>A bare IModel over given parameters, for optimiser-only checks.</summary>
    /// <summary>
    /// AMSGrad's largest second moments are saved and restored (a resumed run continues bit for bit), and resuming with
    /// AMSGrad from a checkpoint without it, or the other way round, is refused before anything changes.
    /// </summary>
    [Fact]
    public void AmsGradsLargestMomentsResumeAndAMismatchIsRefused()
    {
        var rng = new Rng(8);
        float[][] grads = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 5).Select(_ => rng.NextNormal() * 2).ToArray()).ToArray();
        void Steps(Holder model, Adam adam, int from, int to)
        {
            for (int k = from; k < to; k++)
            {
                grads[k].CopyTo(model.Parameters[0].GradAsSpan());
                adam.Step();
            }
        }
        var straight = new Holder(new Parameter("a", 5));
        Steps(straight, new Adam(straight.Parameters, learningRate: 0.1f, beta2: 0.9f, amsgrad: true), 0, 6);

        var first = new Holder(new Parameter("a", 5));
        var firstAdam = new Adam(first.Parameters, learningRate: 0.1f, beta2: 0.9f, amsgrad: true);
        Steps(first, firstAdam, 0, 3);
        string path = Path.Combine(_dir, "amsgrad.safetensors");
        Checkpoint.Save(path, first, firstAdam, step: 3);
        Assert.Contains("optimizer.v_max.a", SafeTensors.Read(path).Keys);

        var plain = new Holder(new Parameter("a", 5));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, plain, new Adam(plain.Parameters, learningRate: 0.1f, beta2: 0.9f)));
        Assert.Contains("the optimiser's amsgrad was 1, not 0", e.Message);
        Assert.Equal(new float[5], plain.Parameters[0].AsSpan().ToArray());

        var resumed = new Holder(new Parameter("a", 5));
        var resumedAdam = new Adam(resumed.Parameters, learningRate: 0.1f, beta2: 0.9f, amsgrad: true);
        Assert.Equal(3, Checkpoint.Load(path, resumed, resumedAdam));
        Steps(resumed, resumedAdam, 3, 6);
        Assert.Equal(straight.Parameters[0].AsSpan().ToArray(), resumed.Parameters[0].AsSpan().ToArray());

        // a checkpoint without AMSGrad's state does not resume into AMSGrad
        string plainPath = Path.Combine(_dir, "plain.safetensors");
        var before = new Holder(new Parameter("a", 5));
        var beforeAdam = new Adam(before.Parameters, learningRate: 0.1f, beta2: 0.9f);
        Steps(before, beforeAdam, 0, 2);
        Checkpoint.Save(plainPath, before, beforeAdam, step: 2);
        var into = new Holder(new Parameter("a", 5));
        var message = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(plainPath, into, new Adam(into.Parameters, learningRate: 0.1f, beta2: 0.9f, amsgrad: true))).Message;
        Assert.Contains("missing optimiser state 'optimizer.v_max.a'", message);
    }

    /// <summary>Adagrad's sums resume (bit for bit with a run never stopped), and its settings are compared as Adam's are.</summary>
    [Fact]
    public void AdagradsSumsResumeAndOtherSettingsAreRefused()
    {
        var rng = new Rng(9);
        float[][] grads = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 4).Select(_ => rng.NextNormal()).ToArray()).ToArray();
        Adagrad Make(Holder h, float initial = 0.2f) => new(h.Parameters, learningRate: 0.1f, learningRateDecay: 0.1f, initialAccumulatorValue: initial);
        void Steps(Holder model, Optimizer optimizer, int from, int to)
        {
            for (int k = from; k < to; k++)
            {
                grads[k].CopyTo(model.Parameters[0].GradAsSpan());
                optimizer.Step();
            }
        }
        var straight = new Holder(new Parameter("a", 4));
        Steps(straight, Make(straight), 0, 6);
        var first = new Holder(new Parameter("a", 4));
        var firstAdagrad = Make(first);
        Steps(first, firstAdagrad, 0, 3);
        string path = Path.Combine(_dir, "adagrad.safetensors");
        Checkpoint.Save(path, first, firstAdagrad, step: 3);

        var other = new Holder(new Parameter("a", 4));
        Assert.Contains("the optimiser's initial_accumulator_value was 0.2, not 0",
            Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, Make(other, initial: 0f))).Message);
        var resumed = new Holder(new Parameter("a", 4));
        var resumedAdagrad = Make(resumed);
        Assert.Equal(3, Checkpoint.Load(path, resumed, resumedAdagrad));
        Steps(resumed, resumedAdagrad, 3, 6);
        Assert.Equal(straight.Parameters[0].AsSpan().ToArray(), resumed.Parameters[0].AsSpan().ToArray());
    }

    internal sealed class Holder(params Parameter[] parameters) : IModel
    {
        public ParameterSet Parameters { get; } = new(parameters);
        public int InputWidth => 0;
        public int OutputWidth => 0;
        public bool ReturnsSequences => false;
        public Rng DropoutRandom { get; } = new(0);
    }
}

/// <summary>
/// Tests that must not run beside others: the SafeTensors failure hook is process-wide, and allocation counts are
/// disturbed when another test holds the shared GEMM workers (the product then runs on the caller's thread).
/// </summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public sealed class SerialCollection;
