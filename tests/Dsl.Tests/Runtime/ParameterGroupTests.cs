using Dsl.Tests.Models;
using Holder = Dsl.Tests.Training.CheckpointTests.Holder;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Parameter groups with rates and weight decays of their own match torch.optim's parameter groups step for step (fixture:
/// parameter_groups.safetensors: the optimiser's decay, 0 and 0.3, the optimiser's rate and 0.01, over three tensors), and
/// schedules move each group's rate as torch's do; the split by dimension; refusals; and a checkpoint that records each
/// parameter's decay and each group's rate (CI runs the steps again on narrower vectors).
/// </summary>
public class ParameterGroupTests
{
    private static readonly Dictionary<string, SafeTensor> Fixture = SafeTensors.Read(Tests.Fixture.Path("parameter_groups.safetensors"));

    private static readonly string[] Names = ["w", "b", "c"];

    private static Parameter[] Start()
    {
        Parameter[] ps = [new("w", 3, 4), new("b", 4), new("c", 2, 3)];
        foreach (Parameter p in ps) Fixture[$"{p.Name}.start"].ToFloat().CopyTo(p.AsSpan());
        return ps;
    }

    private static ParameterGroups Groups(Parameter[] ps) =>
        new(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], learningRate: 0.01f, weightDecay: 0f), new ParameterGroup([ps[2]], weightDecay: 0.3f));

    private static Optimizer Create(string name, ParameterGroups groups) => name switch
    {
        "sgd" => new Sgd(groups, learningRate: 0.05f, momentum: 0.9f, weightDecay: 0.1f),
        "adam" => new Adam(groups, learningRate: 0.02f, weightDecay: 0.1f),
        "adamw" => new AdamW(groups, learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true),
        "adagrad" => new Adagrad(groups, learningRate: 0.1f, learningRateDecay: 0.05f, weightDecay: 0.1f),
        "rmsprop" => new RmsProp(groups, learningRate: 0.01f, momentum: 0.5f, centered: true, weightDecay: 0.1f),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("adagrad")]
    [InlineData("rmsprop")]
    public void EachGroupsDecayMatchesTorchOptimStepForStep(string name)
    {
        Parameter[] ps = Start();
        Optimizer optimizer = Create(name, Groups(ps));
        Assert.Equal(ps, optimizer.Parameters);
        Assert.Equal([0.1f, 0f, 0.3f], Enumerable.Range(0, 3).Select(optimizer.WeightDecayOf));
        Assert.Equal(3, optimizer.Groups!.Count);
        Assert.Equal(3, optimizer.GroupCount);
        Assert.Equal(0.01f, optimizer.LearningRateOf(1));
        Assert.Equal(optimizer.LearningRate, optimizer.LearningRateOf(2));
        for (int k = 0; k < 5; k++)
        {
            foreach (Parameter p in ps) Fixture[$"{p.Name}.grad{k}"].ToFloat().CopyTo(p.GradAsSpan());
            optimizer.Step();
            foreach (Parameter p in ps)
                Tolerance.AssertClose(Fixture[$"{name}.{p.Name}.step{k + 1}"].ToFloat(), p.AsSpan(), $"{name}: {p.Name} after step {k + 1}", rtol: 1e-5f);
        }
    }

    [Theory]
    [InlineData("step_lr")]
    [InlineData("exponential_lr")]
    [InlineData("cosine_lr")]
    [InlineData("linear_warmup")]
    [InlineData("warmup_and_cosine")]
    public void SchedulesMoveEachGroupsRateAsTorchDoes(string name)
    {
        Parameter[] ps = [new("a", 1), new("b", 1), new("c", 1)];
        var sgd = new Sgd(new ParameterGroups(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], learningRate: 0.02f), new ParameterGroup([ps[2]], learningRate: 0.5f)), 0.1f);
        LearningRateSchedule[] schedules = name switch
        {
            "step_lr" => [new StepLr(sgd, stepSize: 3, gamma: 0.5f)],
            "exponential_lr" => [new ExponentialLr(sgd, gamma: 0.9f)],
            "cosine_lr" => [new CosineAnnealingLr(sgd, period: 5, minimum: 0.001f)],
            "linear_warmup" => [new LinearWarmup(sgd, steps: 4, startFactor: 0.25f)],
            _ => [new LinearWarmup(sgd, steps: 4, startFactor: 0.25f), new CosineAnnealingLr(sgd, period: 8, minimum: 0.001f)],
        };
        Assert.Equal([0.1f, 0.02f, 0.5f], schedules[^1].BaseLearningRates);
        float[] expected = Fixture[$"schedule.{name}"].ToFloat();
        for (int k = 0; k < 12; k++)
        {
            float[] rates = Enumerable.Range(0, 3).Select(sgd.GroupLearningRate).ToArray();
            Tolerance.AssertClose(expected.AsSpan(3 * k, 3), rates, $"{name}: the groups' rates before step {k + 1}", rtol: 1e-5f);
            Assert.Equal(rates[0], sgd.LearningRate);
            foreach (LearningRateSchedule schedule in schedules) schedule.Step();
        }
        // setting the rate sets every group's; one group's alone, and its index checked
        sgd.LearningRate = 0.3f;
        Assert.Equal([0.3f, 0.3f, 0.3f], Enumerable.Range(0, 3).Select(sgd.GroupLearningRate));
        sgd.SetGroupLearningRate(2, 0.7f);
        Assert.Equal(0.7f, sgd.LearningRateOf(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.SetGroupLearningRate(3, 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.SetGroupLearningRate(0, float.NaN));
    }

    /// <summary>A schedule written by a user that asks another for its rate (SequentialLR's way): each group gets its own base from both.</summary>
    private sealed class HalfThenCosine(Optimizer optimizer, CosineAnnealingLr cosine) : LearningRateSchedule(optimizer)
    {
        public override float Rate(int step) => step < 2 ? BaseLearningRate * 0.5f : cosine.Rate(step - 2);
    }

    [Fact]
    public void AScheduleThatAsksAnotherForItsRateGetsEachGroupsBase()
    {
        Parameter[] ps = [new("a", 1), new("b", 1)];
        var sgd = new Sgd(new ParameterGroups(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], learningRate: 0.4f)), 0.1f);
        var schedule = new HalfThenCosine(sgd, new CosineAnnealingLr(sgd, period: 4));
        float[] bases = [0.1f, 0.4f];
        for (int step = 1; step <= 4; step++)
        {
            schedule.Step();
            for (int g = 0; g < 2; g++)
            {
                double expected = step < 2 ? bases[g] * 0.5 : bases[g] * (1 + Math.Cos(Math.PI * (step - 2) / 4)) / 2;
                Assert.Equal(expected, sgd.GroupLearningRate(g), 1e-6);
            }
        }
    }

    [Fact]
    public void AStepThatOverflowsOneGroupsRateIsRefusedAndChangesNoGroup()
    {
        Parameter[] ps = [new("a", 1), new("b", 1)];
        var sgd = new Sgd(new ParameterGroups(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], learningRate: 3e38f)), 1f);
        var growth = new ExponentialLr(sgd, gamma: 1.5f);
        var e = Assert.Throws<InvalidOperationException>(growth.Step);
        Assert.Contains("from the base rate 3E+38", e.Message); // the group that overflowed, named by its own base
        Assert.Equal((0, 1f, 3e38f), (growth.StepCount, sgd.GroupLearningRate(0), sgd.GroupLearningRate(1)));
        Assert.Equal(1f, growth.BaseLearningRate); // the first group's outside a step
    }

    [Fact]
    public void DecayMatricesOnlyLeavesBiasesAndNormsUndecayed()
    {
        var model = new GcTransformerBlock(seed: 1);
        ParameterGroups groups = ParameterGroups.DecayMatricesOnly(model.Parameters);
        Assert.Equal(2, groups.Groups.Count);
        Assert.Null(groups.Groups[0].WeightDecay);
        Assert.Equal(0f, groups.Groups[1].WeightDecay);
        Assert.All(groups.Groups[0].Parameters, p => Assert.Equal(2, p.Shape.Length));
        Assert.All(groups.Groups[1].Parameters, p => Assert.Single(p.Shape.ToArray()));
        Assert.Contains(groups.Groups[1].Parameters, p => p.Name.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Contains(groups.Groups[1].Parameters, p => p.Name.StartsWith("layernorm", StringComparison.Ordinal) && p.Name.EndsWith(".weight", StringComparison.Ordinal));
        Assert.Equal(model.Parameters.Count, groups.Count());
        var adamw = new AdamW(groups, weightDecay: 0.1f);
        for (int i = 0; i < adamw.Parameters.Count; i++)
            Assert.Equal(adamw.Parameters[i].Shape.Length > 1 ? 0.1f : 0f, adamw.WeightDecayOf(i));
    }

    [Fact]
    public void DecayMatricesOnlyDecaysTheExpertsWeightsNotTheirBiases()
    {
        // a mixture's stacked weights [E, I, D] and router decay; its per-expert biases [E, I] and [E, D] are biases
        var model = new MoeVariants(seed: 1);
        ParameterGroups groups = ParameterGroups.DecayMatricesOnly(model.Parameters);
        string[] decayed = [.. groups.Groups[0].Parameters.Select(p => p.Name)], kept = [.. groups.Groups[1].Parameters.Select(p => p.Name)];
        Assert.Contains("moe.weight_in", decayed);
        Assert.Contains("moe.weight_out", decayed);
        Assert.Contains("moe_1.router", decayed);
        Assert.Contains("moe.bias_in", kept);
        Assert.Contains("moe_1.bias_out", kept);
        Assert.Contains("dense.bias", kept);
        Assert.Equal(2, model.Parameters["moe.bias_in"].Shape.Length);
    }

    [Fact]
    public void BadGroupsAreRefused()
    {
        Parameter[] ps = Start();
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([ps[1]], weightDecay: -0.1f)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([ps[1]], weightDecay: float.NaN));
        Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([ps[1]], learningRate: float.PositiveInfinity)).ParamName);
        Assert.Throws<ArgumentException>(() => new ParameterGroups(new ParameterGroup([ps[0]]), null!));
        var twice = new ParameterGroups(new ParameterGroup([ps[0], ps[1]]), new ParameterGroup([ps[1]], weightDecay: 0f));
        Assert.Contains("'b' is given twice", Assert.Throws<ArgumentException>(() => new AdamW(twice)).Message);
        Assert.Contains("empty parameter list", Assert.Throws<ArgumentException>(() => new Sgd(new ParameterGroups(new ParameterGroup([])), 0.1f)).Message);
        // an empty group beside others is allowed (a model without biases keeps the split)
        Assert.Equal(1, new Sgd(new ParameterGroups(new ParameterGroup([ps[0]]), new ParameterGroup([], weightDecay: 0f)), 0.1f).Parameters.Count);
    }

    [Fact]
    public void ACheckpointRecordsEachParametersDecayAndRefusesAnotherSplit()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dsl-groups-{Guid.NewGuid():N}.safetensors");
        try
        {
            Parameter[] ps = Start();
            var optimizer = (AdamW)Create("adamw", Groups(ps));
            foreach (Parameter p in ps) Fixture[$"{p.Name}.grad0"].ToFloat().CopyTo(p.GradAsSpan());
            optimizer.Step();
            Checkpoint.Save(path, new Holder(ps), optimizer);

            // the same split resumes and continues as torch does
            Parameter[] again = Start();
            var resumed = (AdamW)Create("adamw", Groups(again));
            Assert.Equal(0, Checkpoint.Load(path, new Holder(again), resumed));
            for (int k = 1; k < 5; k++)
            {
                foreach (Parameter p in again) Fixture[$"{p.Name}.grad{k}"].ToFloat().CopyTo(p.GradAsSpan());
                resumed.Step();
            }
            foreach (Parameter p in again) Tolerance.AssertClose(Fixture[$"adamw.{p.Name}.step5"].ToFloat(), p.AsSpan(), $"resumed {p.Name}", rtol: 1e-5f);

            // without the groups, or with another decay for one of them: refused, naming what differs, and nothing loaded
            Parameter[] other = Start();
            var plain = new AdamW(other, learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), plain));
            Assert.Contains("param_groups was 3, not 1", e.Message);
            var ascending = new AdamW(Groups(other), learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true, maximize: true);
            Assert.Contains("maximize was 0, not 1", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), ascending)).Message);
            // a file from before maximize was recorded descended too
            var file = SafeTensors.Read(path, out Dictionary<string, string> metadata);
            Assert.True(metadata.Remove("dsl.optimizer.setting.maximize"));
            SafeTensors.Write(path, file.Select(t => (t.Key, (ReadOnlyMemory<int>)t.Value.Shape.Select(d => (int)d).ToArray(), (ReadOnlyMemory<float>)t.Value.ToFloat())), metadata);
            Assert.Contains("did not maximise", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), ascending)).Message);
            Assert.Equal(Fixture["w.start"].ToFloat(), other[0].AsSpan().ToArray());
            var changed = new AdamW(new ParameterGroups(new ParameterGroup([other[0]]), new ParameterGroup([other[1]], learningRate: 0.01f, weightDecay: 0f), new ParameterGroup([other[2]], weightDecay: 0.2f)),
                learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true);
            Assert.Contains("weight_decay[c] was 0.3, not 0.2", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), changed)).Message);
            // the same decays and rates, another split: b would resume at w's rate
            var resplit = new AdamW(new ParameterGroups(new ParameterGroup([other[0], other[1]]), new ParameterGroup([], learningRate: 0.01f, weightDecay: 0f),
                new ParameterGroup([other[2]], weightDecay: 0.3f)), learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true);
            Assert.Contains("group[b] was 1, not 0", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), resplit)).Message);

            // each group's rate, moved by a schedule and one set by hand, comes back with the schedule's position
            Sgd Scheduled(Parameter[] p, out StepLr schedule)
            {
                var sgd = new Sgd(new ParameterGroups(new ParameterGroup([p[0]]), new ParameterGroup([p[1], p[2]], learningRate: 0.02f)), 0.1f);
                schedule = new StepLr(sgd, stepSize: 2, gamma: 0.5f);
                return sgd;
            }
            Sgd saved = Scheduled(Start(), out StepLr savedSchedule);
            for (int k = 0; k < 3; k++) savedSchedule.Step();
            saved.SetGroupLearningRate(1, 0.004f);
            Checkpoint.Save(path, new Holder([.. saved.Parameters]), saved, savedSchedule);
            Sgd loaded = Scheduled(Start(), out StepLr loadedSchedule);
            Checkpoint.Load(path, new Holder([.. loaded.Parameters]), loaded, loadedSchedule);
            Assert.Equal(3, loadedSchedule.StepCount);
            Assert.Equal([0.05f, 0.004f], [loaded.GroupLearningRate(0), loaded.GroupLearningRate(1)]);
            loadedSchedule.Step();
            Assert.Equal([0.025f, 0.002f], [loaded.GroupLearningRate(0), loaded.GroupLearningRate(1)]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
