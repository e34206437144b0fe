using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// ReduceLrOnPlateau lowers every group's rate as torch.optim.lr_scheduler.ReduceLROnPlateau does for the same metrics
/// (fixture: plateau.safetensors, four configurations over 24 metrics with a NaN among them); a Trainer steps it with each
/// epoch's validation loss; a checkpoint saves its position and refuses another configuration.
/// </summary>
public class PlateauTests
{
    private static readonly Dictionary<string, SafeTensor> Fixture = SafeTensors.Read(Tests.Fixture.Path("plateau.safetensors"));

    private static Sgd ThreeGroups()
    {
        Parameter[] ps = [new("a", 1), new("b", 1), new("c", 1)];
        return new Sgd(new ParameterGroups(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], learningRate: 0.02f), new ParameterGroup([ps[2]], learningRate: 0.5f)), 0.1f);
    }

    private static ReduceLrOnPlateau Create(string name, Optimizer optimizer) => name switch
    {
        "min_rel" => new ReduceLrOnPlateau(optimizer, factor: 0.5f, patience: 2, threshold: 0.01f, cooldown: 1, minimumRate: 0.004f),
        "min_abs" => new ReduceLrOnPlateau(optimizer, factor: 0.3f, patience: 1, threshold: 0.02f, thresholdMode: PlateauThreshold.Absolute, eps: 1e-3f),
        "max_rel" => new ReduceLrOnPlateau(optimizer, PlateauMode.Max, factor: 0.1f, patience: 0, threshold: 0f),
        "max_abs" => Minimums(new ReduceLrOnPlateau(optimizer, PlateauMode.Max, factor: 0.5f, patience: 1, threshold: 0.01f, thresholdMode: PlateauThreshold.Absolute, cooldown: 2),
            0.05f, 0.001f, 0.2f),
        "defaults" => new ReduceLrOnPlateau(optimizer),
        _ => throw new ArgumentException(name),
    };

    private static ReduceLrOnPlateau Minimums(ReduceLrOnPlateau plateau, params float[] rates)
    {
        for (int g = 0; g < rates.Length; g++) plateau.SetMinimumRate(g, rates[g]);
        return plateau;
    }

    [Theory]
    [InlineData("max_abs")]
    [InlineData("min_rel")]
    [InlineData("min_abs")]
    [InlineData("max_rel")]
    [InlineData("defaults")]
    public void LowersEachGroupsRateAsTorchDoes(string name)
    {
        Sgd sgd = ThreeGroups();
        ReduceLrOnPlateau plateau = Create(name, sgd);
        float[] metrics = Fixture["metrics"].ToFloat(), expected = Fixture[$"plateau.{name}"].ToFloat();
        for (int k = 0; k < metrics.Length; k++)
        {
            plateau.Step(metrics[k]);
            float[] rates = Enumerable.Range(0, 3).Select(sgd.GroupLearningRate).ToArray();
            Tolerance.AssertClose(expected.AsSpan(3 * k, 3), rates, $"{name}: the groups' rates after metric {k + 1} ({metrics[k]})", rtol: 1e-5f);
        }
        Assert.Equal(metrics.Length, plateau.StepCount);
        Assert.False(float.IsNaN(plateau.Best), "a NaN metric is never the best");
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Sgd sgd = ThreeGroups();
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(sgd, factor: 1f)).ParamName);
        Assert.Equal("patience", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(sgd, patience: -1)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(sgd, threshold: float.NaN)).ParamName);
        Assert.Equal("mode", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(sgd, (PlateauMode)7)).ParamName);
        var plateau = new ReduceLrOnPlateau(sgd, minimumRate: 0.01f);
        plateau.SetMinimumRate(2, 0.3f);
        Assert.Equal([0.01f, 0.01f, 0.3f], plateau.MinimumRates);
        Assert.Throws<ArgumentOutOfRangeException>(() => plateau.SetMinimumRate(3, 0.1f));
        Assert.Throws<ArgumentException>(() => new Trainer(new StatefulLstm(seed: 1), new Sgd(new StatefulLstm(seed: 1).Parameters, 0.1f), plateau: plateau));
    }

    [Fact]
    public void ATrainerStepsItWithTheValidationLossAndACheckpointResumesIt()
    {
        var items = Enumerable.Range(0, 12).Select(i =>
        {
            int[] x = Enumerable.Range(i, 6).Select(t => t % 11).ToArray();
            return (x, x.Select(t => (t + 1) % 11).ToArray());
        }).ToArray();
        var (train, valid) = Batcher.Split(items, 0.25, seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"dsl-plateau-{Guid.NewGuid():N}.safetensors");
        try
        {
            // a rate too small to move the validation loss by the threshold: every epoch after the first is a bad one
            var model = new StatefulLstm(seed: 2);
            var sgd = new Sgd(model.Parameters, learningRate: 1e-9f);
            var plateau = new ReduceLrOnPlateau(sgd, factor: 0.5f, patience: 1, eps: 0f);
            var reports = new List<TrainingProgress>();
            new Trainer(model, sgd, plateau: plateau).Fit(new Batcher(train, 4, seed: 1), new Batcher(valid, 4, shuffle: false), epochs: 5,
                progress: new Progress(reports), checkpointPath: path);
            Assert.Equal(5, plateau.StepCount);
            Assert.Equal(reports.First(r => r.EndOfEpoch).ValidationLoss, plateau.Best);
            Assert.Equal(2, plateau.Reductions); // after epochs 3 and 5
            Assert.Equal(0.25e-9f, sgd.LearningRate, 1e-15f);

            var again = new StatefulLstm(seed: 2);
            var resumedSgd = new Sgd(again.Parameters, learningRate: 1e-9f);
            var resumed = new ReduceLrOnPlateau(resumedSgd, factor: 0.5f, patience: 1, eps: 0f);
            Assert.Equal(5, Checkpoint.Load(path, again, resumedSgd, plateau: resumed));
            Assert.Equal((plateau.Best, plateau.BadSteps, plateau.CooldownLeft, plateau.StepCount, plateau.Reductions),
                (resumed.Best, resumed.BadSteps, resumed.CooldownLeft, resumed.StepCount, resumed.Reductions));
            Assert.Equal(sgd.LearningRate, resumedSgd.LearningRate);

            var other = new ReduceLrOnPlateau(new Sgd(again.Parameters, learningRate: 1e-9f), factor: 0.5f, patience: 3, eps: 0f);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, again, plateau: other));
            Assert.Contains("plateau watcher's patience was 1, not 3", e.Message);
            Assert.Equal(0, other.StepCount);

            // a best of +∞ (no metric has improved yet: the first was NaN) and a cooldown part-way come back as they were
            var fresh = new ReduceLrOnPlateau(resumedSgd, factor: 0.5f, patience: 1, cooldown: 3, eps: 0f);
            foreach (float metric in new[] { float.NaN, float.NaN, float.NaN }) fresh.Step(metric);
            Assert.Equal((float.PositiveInfinity, 2, 1), (fresh.Best, fresh.CooldownLeft, fresh.Reductions));
            Checkpoint.Save(path, again, plateau: fresh);
            var back = new ReduceLrOnPlateau(new Sgd(again.Parameters, learningRate: 1e-9f), factor: 0.5f, patience: 1, cooldown: 3, eps: 0f);
            Checkpoint.Load(path, again, plateau: back);
            Assert.Equal((fresh.Best, fresh.BadSteps, fresh.CooldownLeft, fresh.StepCount, fresh.Reductions), (back.Best, back.BadSteps, back.CooldownLeft, back.StepCount, back.Reductions));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Progress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
