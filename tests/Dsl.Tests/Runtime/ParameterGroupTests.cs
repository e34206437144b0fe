using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Parameter groups with weight decays of their own match torch.optim's parameter groups step for step (fixture:
/// parameter_groups.safetensors, the optimiser's decay, 0 and 0.3 over three tensors); the split by dimension; refusals;
/// and a checkpoint that records each parameter's decay (CI runs the steps again on narrower vectors).
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
        new(new ParameterGroup([ps[0]]), new ParameterGroup([ps[1]], weightDecay: 0f), new ParameterGroup([ps[2]], weightDecay: 0.3f));

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
        for (int k = 0; k < 5; k++)
        {
            foreach (Parameter p in ps) Fixture[$"{p.Name}.grad{k}"].ToFloat().CopyTo(p.GradAsSpan());
            optimizer.Step();
            foreach (Parameter p in ps)
                Tolerance.AssertClose(Fixture[$"{name}.{p.Name}.step{k + 1}"].ToFloat(), p.AsSpan(), $"{name}: {p.Name} after step {k + 1}", rtol: 1e-5f);
        }
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
    public void BadGroupsAreRefused()
    {
        Parameter[] ps = Start();
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([ps[1]], weightDecay: -0.1f)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterGroup([ps[1]], weightDecay: float.NaN));
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
            Assert.Equal(Fixture["w.start"].ToFloat(), other[0].AsSpan().ToArray());
            var changed = new AdamW(new ParameterGroups(new ParameterGroup([other[0]]), new ParameterGroup([other[1]], weightDecay: 0f), new ParameterGroup([other[2]], weightDecay: 0.2f)),
                learningRate: 0.02f, weightDecay: 0.1f, amsgrad: true);
            Assert.Contains("weight_decay[c] was 0.3, not 0.2", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new Holder(other), changed)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Holder(params Parameter[] parameters) : IModel
    {
        public ParameterSet Parameters { get; } = new(parameters);
        public int InputWidth => 0;
        public int OutputWidth => 0;
        public bool ReturnsSequences => false;
        public Rng DropoutRandom { get; } = new(0);
    }
}
