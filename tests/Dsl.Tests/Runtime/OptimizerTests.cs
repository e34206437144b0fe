using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Each optimiser matches torch.optim step for step over five steps on the same gradients (fixture: optimizers.safetensors),
/// and its vectorised update gives, bit for bit, the update rule written one value at a time (CI runs these again on
/// narrower vectors).
/// </summary>
public class OptimizerTests
{
    private static readonly Dictionary<string, SafeTensor> Fixture = SafeTensors.Read(Tests.Fixture.Path("optimizers.safetensors"));

    public static TheoryData<string> Configurations => new()
    {
        "sgd", "sgd_momentum", "sgd_nesterov", "sgd_dampening", "adam", "adam_l2", "adamw", "adam_amsgrad", "adamw_amsgrad", "adagrad",
        "adagrad_decay", "rmsprop", "rmsprop_centered_momentum", "sgd_maximize", "adam_maximize", "adamw_maximize", "adagrad_maximize",
        "rmsprop_maximize",
    };

    private static Optimizer Create(string name, Parameter p) => name switch
    {
        "sgd" => new Sgd([p], learningRate: 0.1f),
        "sgd_momentum" => new Sgd([p], learningRate: 0.05f, momentum: 0.9f, weightDecay: 0.01f),
        "sgd_nesterov" => new Sgd([p], learningRate: 0.05f, momentum: 0.8f, nesterov: true),
        "sgd_dampening" => new Sgd([p], learningRate: 0.05f, momentum: 0.7f, dampening: 0.3f),
        "adam" => new Adam([p], learningRate: 0.01f),
        "adam_l2" => new Adam([p], learningRate: 0.02f, beta1: 0.8f, beta2: 0.99f, epsilon: 1e-6f, weightDecay: 0.1f),
        "adamw" => new AdamW([p], learningRate: 0.01f, weightDecay: 0.05f),
        "adam_amsgrad" => new Adam([p], learningRate: 0.02f, beta1: 0.8f, beta2: 0.9f, weightDecay: 0.1f, amsgrad: true),
        "adamw_amsgrad" => new AdamW([p], learningRate: 0.01f, beta1: 0.9f, beta2: 0.95f, weightDecay: 0.05f, amsgrad: true),
        "adagrad" => new Adagrad([p], learningRate: 0.1f),
        "adagrad_decay" => new Adagrad([p], learningRate: 0.1f, learningRateDecay: 0.05f, weightDecay: 0.1f, initialAccumulatorValue: 0.5f, epsilon: 1e-6f),
        "rmsprop" => new RmsProp([p], learningRate: 0.01f),
        "rmsprop_centered_momentum" => new RmsProp([p], learningRate: 0.01f, alpha: 0.9f, momentum: 0.5f, centered: true, weightDecay: 0.01f),
        "sgd_maximize" => new Sgd([p], learningRate: 0.05f, momentum: 0.9f, weightDecay: 0.01f, maximize: true),
        "adam_maximize" => new Adam([p], learningRate: 0.02f, weightDecay: 0.1f, maximize: true),
        "adamw_maximize" => new AdamW([p], learningRate: 0.01f, weightDecay: 0.05f, amsgrad: true, maximize: true),
        "adagrad_maximize" => new Adagrad([p], learningRate: 0.1f, learningRateDecay: 0.05f, weightDecay: 0.1f, maximize: true),
        "rmsprop_maximize" => new RmsProp([p], learningRate: 0.01f, momentum: 0.5f, centered: true, weightDecay: 0.01f, maximize: true),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void MatchesTorchOptimStepForStep(string name)
    {
        var p = new Parameter("w", 3, 4);
        Fixture["param"].ToFloat().CopyTo(p.AsSpan());
        Optimizer optimizer = Create(name, p);
        for (int k = 0; k < 5; k++)
        {
            Fixture[$"grad.{k}"].ToFloat().CopyTo(p.GradAsSpan());
            optimizer.Step();
            Tolerance.AssertClose(Fixture[$"{name}.step{k + 1}"].ToFloat(), p.AsSpan(), $"{name} after step {k + 1}", rtol: 1e-5f);
        }
        Assert.Equal(5, optimizer.StepCount);
    }

    /// <summary>
    /// The AMSGrad fixtures are not plain Adam's (over their five steps a second moment fell below its largest), so matching
    /// them tests the largest moments.
    /// </summary>
    [Theory]
    [InlineData("adam_amsgrad")]
    [InlineData("adamw_amsgrad")]
    public void AmsGradDiffersFromPlainAdamOnTheFixturesGradients(string name)
    {
        var withMax = new Parameter("w", 3, 4);
        var plain = new Parameter("w", 3, 4);
        Fixture["param"].ToFloat().CopyTo(withMax.AsSpan());
        Fixture["param"].ToFloat().CopyTo(plain.AsSpan());
        var amsgrad = (Adam)Create(name, withMax);
        Adam adam = amsgrad is AdamW
            ? new AdamW([plain], amsgrad.LearningRate, amsgrad.Beta1, amsgrad.Beta2, amsgrad.Epsilon, amsgrad.WeightDecay)
            : new Adam([plain], amsgrad.LearningRate, amsgrad.Beta1, amsgrad.Beta2, amsgrad.Epsilon, amsgrad.WeightDecay);
        for (int k = 0; k < 5; k++)
        {
            Fixture[$"grad.{k}"].ToFloat().CopyTo(withMax.GradAsSpan());
            Fixture[$"grad.{k}"].ToFloat().CopyTo(plain.GradAsSpan());
            amsgrad.Step();
            adam.Step();
        }
        Assert.True(amsgrad.AmsGrad && !adam.AmsGrad);
        float largest = Enumerable.Range(0, 12).Max(i => MathF.Abs(withMax.AsSpan()[i] - plain.AsSpan()[i]));
        // ten times what MatchesTorchOptimStepForStep allows (rtol 1e-5 on values of about 1)
        Assert.True(largest > 1e-4f, $"{name}: AMSGrad moved the values by at most {largest} from plain Adam's");
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TheUpdateIsTheRuleOneValueAtATimeBitForBit(string name)
    {
        // 1037 values: every vector width's loop and a scalar tail
        const int n = 1037;
        var rng = new Rng(21);
        var p = new Parameter("w", n);
        for (int i = 0; i < n; i++) p.AsSpan()[i] = rng.NextNormal();
        float[] expected = p.AsSpan().ToArray();
        var state = new float[3][] { new float[n], new float[n], new float[n] };
        Optimizer optimizer = Create(name, p);
        for (int step = 1; step <= 4; step++)
        {
            float[] grad = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
            grad.CopyTo(p.GradAsSpan());
            optimizer.Step();
            ReferenceStep(optimizer, step, expected, grad, state);
            Assert.Equal(expected, p.AsSpan().ToArray());
        }
    }

    private sealed class ShortGradientAdam(Parameter p) : Adam([p])
    {
        protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad) => base.Update(index, value, grad.Slice(0, grad.Length - 1));
    }

    [Fact]
    public void AnUpdateGivenAShortGradientIsRefusedAndChangesNothing()
    {
        var p = new Parameter("w", 40);
        p.AsSpan().Fill(1f);
        p.GradAsSpan().Fill(0.5f);
        var adam = new ShortGradientAdam(p);
        var e = Assert.Throws<ArgumentException>(() => adam.Step());
        Assert.Contains("parameter 0 has 40 values, its gradient 39", e.Message);
        Assert.All(p.AsSpan().ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(0, adam.StepCount); // a failed step is not counted (a retry had taken the next step's bias correction)
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(-0.5f)]
    [InlineData(1.5f)]
    public void SgdRefusesADampeningOutsideZeroToOne(float dampening)
    {
        // a NaN dampening had made every parameter NaN from the second step on
        var p = new Parameter("w", 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], 0.1f, momentum: 0.9f, dampening: dampening));
        Assert.Equal("dampening", e.ParamName);
        Assert.Contains("must be in [0, 1]", e.Message);
        Assert.Equal(1f, new Sgd([p], 0.1f, momentum: 0.9f, dampening: 1f).Dampening);
        Assert.Contains("must be in [0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], alpha: 1.5f)).Message);
    }

    /// <summary>The update rules as each optimiser wrote them before they ran in vectors, one value at a time.</summary>
    private static void ReferenceStep(Optimizer optimizer, int step, float[] value, float[] grad, float[][] state)
    {
        float lr = optimizer.LearningRate;
        for (int i = 0; i < value.Length; i++)
        {
            float gradient = optimizer.Maximize ? -grad[i] : grad[i];
            switch (optimizer)
            {
                case Sgd sgd:
                {
                    float[] buf = state[0];
                    float g = gradient + sgd.WeightDecay * value[i];
                    if (sgd.Momentum != 0)
                    {
                        buf[i] = step == 1 ? g : sgd.Momentum * buf[i] + (1 - sgd.Dampening) * g;
                        g = sgd.Nesterov ? g + sgd.Momentum * buf[i] : buf[i];
                    }
                    value[i] -= lr * g;
                    break;
                }
                case Adam adam:
                {
                    float[] m = state[0], v = state[1], vMax = state[2];
                    float bias1 = 1 - MathF.Pow(adam.Beta1, step), bias2Sqrt = MathF.Sqrt(1 - MathF.Pow(adam.Beta2, step)), stepSize = lr / bias1;
                    float g = gradient;
                    if (adam is AdamW) value[i] *= 1 - lr * adam.WeightDecay;
                    else g += adam.WeightDecay * value[i];
                    m[i] = adam.Beta1 * m[i] + (1 - adam.Beta1) * g;
                    v[i] = adam.Beta2 * v[i] + (1 - adam.Beta2) * g * g;
                    float second = v[i];
                    if (adam.AmsGrad) second = vMax[i] = MathF.Max(vMax[i], v[i]);
                    float denominator = MathF.Sqrt(second) / bias2Sqrt + adam.Epsilon;
                    value[i] -= stepSize * m[i] / denominator;
                    break;
                }
                case Adagrad adagrad:
                {
                    float[] sum = state[0];
                    if (step == 1) sum[i] = adagrad.InitialAccumulatorValue;
                    float rate = (float)(lr / (1 + (step - 1) * (double)adagrad.LearningRateDecay));
                    float g = gradient;
                    if (adagrad.WeightDecay != 0) g += adagrad.WeightDecay * value[i];
                    sum[i] += g * g;
                    value[i] += -rate * g / (MathF.Sqrt(sum[i]) + adagrad.Epsilon);
                    break;
                }
                case RmsProp rms:
                {
                    float[] sq = state[0], mean = state[1], buf = state[2];
                    float g = gradient + rms.WeightDecay * value[i];
                    sq[i] = rms.Alpha * sq[i] + (1 - rms.Alpha) * g * g;
                    float avg;
                    if (rms.Centered)
                    {
                        mean[i] = rms.Alpha * mean[i] + (1 - rms.Alpha) * g;
                        avg = MathF.Sqrt(sq[i] - mean[i] * mean[i]) + rms.Epsilon;
                    }
                    else
                    {
                        avg = MathF.Sqrt(sq[i]) + rms.Epsilon;
                    }
                    if (rms.Momentum > 0)
                    {
                        buf[i] = rms.Momentum * buf[i] + g / avg;
                        value[i] -= lr * buf[i];
                    }
                    else
                    {
                        value[i] -= lr * g / avg;
                    }
                    break;
                }
                default: throw new ArgumentException(optimizer.GetType().Name);
            }
        }
    }

    [Theory]
    [InlineData("l2", 2f)]
    [InlineData("inf", float.PositiveInfinity)]
    public void ClipGradNormMatchesClipGradNorm_(string tag, float normType)
    {
        var a = new Parameter("a", 3, 4);
        var b = new Parameter("b", 5);
        Fixture["grad.0"].ToFloat().CopyTo(a.GradAsSpan());
        Fixture[$"clip_{tag}.b_before"].ToFloat().CopyTo(b.GradAsSpan());
        var set = new ParameterSet([a, b]);
        float norm = Fixture[$"clip_{tag}.norm"].ToFloat()[0];
        float total = set.ClipGradNorm(maxNorm: 0.5f, normType: normType);
        Assert.Equal(norm, total, 1e-4f);
        Tolerance.AssertClose(Fixture[$"clip_{tag}.a"].ToFloat(), a.GradAsSpan(), $"clipped a ({tag})");
        Tolerance.AssertClose(Fixture[$"clip_{tag}.b"].ToFloat(), b.GradAsSpan(), $"clipped b ({tag})");
    }

    [Fact]
    public void ClipGradValueClampsEachValue()
    {
        var p = new Parameter("p", 4);
        new[] { -3f, -0.5f, 0.2f, 9f }.CopyTo(p.GradAsSpan());
        new ParameterSet([p]).ClipGradValue(1f);
        Assert.Equal(new[] { -1f, -0.5f, 0.2f, 1f }, p.GradAsSpan().ToArray());
    }

    [Fact]
    public void ClipGradNormLeavesSmallGradientsAlone()
    {
        var p = new Parameter("p", 2);
        new[] { 0.3f, 0.4f }.CopyTo(p.GradAsSpan());
        float norm = new ParameterSet([p]).ClipGradNorm(1f);
        Assert.Equal(0.5f, norm, 1e-6f);
        Assert.Equal(new[] { 0.3f, 0.4f }, p.GradAsSpan().ToArray());
    }

    [Fact]
    public void TheNormOfALargeTensorOfSmallGradientsIsExact()
    {
        // 8 M gradients of 1e-3: one float sum per vector lane of millions of squares had rounded each small square to a
        // whole number of the running total's float steps, percents off at 128 bits; the closed form is √(8 M · 1e-6)
        var p = new Parameter("p", 8192, 1024);
        p.GradAsSpan().Fill(1e-3f);
        double square = (double)1e-3f * 1e-3f;
        double expected = Math.Sqrt(p.Length * square);
        float norm = new ParameterSet([p]).GradNorm();
        Assert.True(Math.Abs(norm - expected) <= 1e-6 * expected, $"norm {norm}, expected {expected}");
    }

    [Fact]
    public void ATensorListedTwiceUnderTwoNamesIsRefused()
    {
        // it had counted twice in the norm (7.07 for a gradient of norm 5) and been scaled twice, as the optimisers refuse it
        var p = new Parameter("p", 2);
        var e = Assert.Throws<ArgumentException>(() => new ParameterSet([p, new Parameter("r", 1), p.WithName("q")]));
        Assert.Contains("Parameters 'p' and 'q' are the same tensor", e.Message);
        Assert.Contains("Parameter 1 of the list is null", Assert.Throws<ArgumentException>(() => new ParameterSet([p, null!])).Message);
    }

    [Fact]
    public void ANonFiniteNormClipsAsPyTorchAndGradNormChangesNothing()
    {
        // torch.nn.utils.clip_grad_norm_ (error_if_nonfinite=False) multiplies by clamp(max_norm / (NaN + 1e-6), max=1) = NaN
        var p = new Parameter("p", 3);
        new[] { 1f, float.NaN, 2f }.CopyTo(p.GradAsSpan());
        Assert.True(float.IsNaN(new ParameterSet([p]).ClipGradNorm(1f)));
        Assert.All(p.GradAsSpan().ToArray(), g => Assert.True(float.IsNaN(g)));
        // measuring the norm rewrites nothing, even when it is infinite (clipping would zero the finite gradients)
        var q = new Parameter("q", 2);
        new[] { 3f, float.PositiveInfinity }.CopyTo(q.GradAsSpan());
        Assert.Equal(float.PositiveInfinity, new ParameterSet([q]).GradNorm());
        Assert.Equal(new[] { 3f, float.PositiveInfinity }, q.GradAsSpan().ToArray());
        new[] { 0.3f, 0.4f }.CopyTo(q.GradAsSpan());
        Assert.Equal(0.5f, new ParameterSet([q]).GradNorm(), 1e-6f);
    }

    [Fact]
    public void AnEmptyOrRepeatedParameterListIsRefused()
    {
        var empty = Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<Parameter>()));
        Assert.Contains("empty parameter list", empty.Message);
        var p = new Parameter("p", 3);
        var twice = Assert.Throws<ArgumentException>(() => new Sgd([p, p.WithName("q")], 0.1f));
        Assert.Contains("'q' is given twice", twice.Message);
    }
}

/// <summary>Learning-rate schedules give torch.optim.lr_scheduler's rates step for step.</summary>
public class ScheduleTests
{
    private static readonly Dictionary<string, SafeTensor> Fixture = SafeTensors.Read(Tests.Fixture.Path("optimizers.safetensors"));

    [Theory]
    [InlineData("step_lr")]
    [InlineData("exponential_lr")]
    [InlineData("cosine_lr")]
    [InlineData("linear_warmup")]
    [InlineData("warm_restarts")]
    [InlineData("warm_restarts_flat")]
    [InlineData("polynomial")]
    public void RatesMatchTorch(string name)
    {
        var optimizer = new Sgd([new Parameter("p", 1)], learningRate: 0.1f);
        LearningRateSchedule schedule = name switch
        {
            "step_lr" => new StepLr(optimizer, stepSize: 3, gamma: 0.5f),
            "exponential_lr" => new ExponentialLr(optimizer, gamma: 0.9f),
            "cosine_lr" => new CosineAnnealingLr(optimizer, period: 5, minimum: 0.001f),
            "warm_restarts" => new CosineAnnealingWarmRestarts(optimizer, period: 3, periodMultiplier: 2, minimum: 0.001f),
            "warm_restarts_flat" => new CosineAnnealingWarmRestarts(optimizer, period: 4),
            "polynomial" => new PolynomialLr(optimizer, steps: 5, power: 2f),
            _ => new LinearWarmup(optimizer, steps: 4, startFactor: 0.25f),
        };
        float[] expected = Fixture["schedule." + name].ToFloat();
        var actual = new float[expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            actual[i] = optimizer.LearningRate;
            optimizer.Step();
            schedule.Step();
        }
        Tolerance.AssertClose(expected, actual, name, rtol: 1e-5f);
        schedule.Resume(2);
        Assert.Equal(expected[2], optimizer.LearningRate, 1e-6f);
    }

    /// <summary>
    /// Schedules step the optimiser's current rate, as torch's chainable form: two over one optimiser compose (each step had
    /// set its own closed form, so the one stepped last overwrote the other), and a rate set by hand is where the next starts.
    /// </summary>
    [Theory]
    [InlineData("exponential_and_step")]
    [InlineData("warmup_and_cosine")]
    [InlineData("cosine_by_hand")]
    public void SchedulesComposeAndFollowARateSetByHandAsTorchs(string name)
    {
        var optimizer = new Sgd([new Parameter("p", 1)], learningRate: 0.1f);
        LearningRateSchedule[] schedules = name switch
        {
            "exponential_and_step" => [new ExponentialLr(optimizer, gamma: 0.9f), new StepLr(optimizer, stepSize: 2, gamma: 0.1f)],
            "warmup_and_cosine" => [new LinearWarmup(optimizer, steps: 4, startFactor: 0.25f), new CosineAnnealingLr(optimizer, period: 6, minimum: 0.001f)],
            _ => [new CosineAnnealingLr(optimizer, period: 5, minimum: 0.001f)],
        };
        float[] expected = SafeTensors.Read(Tests.Fixture.Path("schedules.safetensors"))["schedule." + name].ToFloat();
        var actual = new float[expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            if (name == "cosine_by_hand" && i == 7) optimizer.LearningRate = 0.05f;
            actual[i] = optimizer.LearningRate;
            optimizer.Step();
            foreach (LearningRateSchedule s in schedules) s.Step();
        }
        Tolerance.AssertClose(expected, actual, name, rtol: 1e-5f);
    }

    [Fact]
    public void ASecondScheduleStartsFromTheRateBeforeTheFirst()
    {
        // PyTorch keeps initial_lr: a cosine built beside a warm-up (which lowers the rate at once) anneals from the full rate
        var optimizer = new Adam([new Parameter("p", 1)], learningRate: 0.1f);
        var warmup = new LinearWarmup(optimizer, steps: 5, startFactor: 0.05f);
        var cosine = new CosineAnnealingLr(optimizer, period: 10);
        Assert.Equal(0.005f, optimizer.LearningRate, 1e-7f);
        Assert.Equal(0.1f, warmup.BaseLearningRate);
        Assert.Equal(0.1f, cosine.BaseLearningRate);
        Assert.Equal(0.1f, cosine.Rate(0));
    }

    [Fact]
    public void AStepWhoseRateOverflowsIsRefusedAndChangesNothing()
    {
        // a factor above 1 overflows float after enough steps: the step had counted itself before the optimiser refused the
        // rate, and the message named neither the schedule nor the step
        var sgd = new Sgd([new Parameter("p", 1)], learningRate: 0.02f);
        var schedule = new StepLr(sgd, stepSize: 1, gamma: 100f);
        int taken = 0;
        float last = sgd.LearningRate;
        var e = Assert.Throws<InvalidOperationException>(() => { for (int i = 0; i < 100; i++, taken++) { schedule.Step(); last = sgd.LearningRate; } });
        Assert.Equal(taken, schedule.StepCount);
        Assert.Equal(last, sgd.LearningRate);
        Assert.Equal(schedule.Rate(taken), sgd.LearningRate, schedule.Rate(taken) * 1e-5f);
        Assert.Contains($"the schedule's rate after {taken + 1} steps is Infinity, not a finite rate ≥ 0 (StepLr from the base rate 0.02)", e.Message);
        Assert.Throws<InvalidOperationException>(() => schedule.Resume(100));
        Assert.Equal(taken, schedule.StepCount);
        Assert.Equal(last, sgd.LearningRate);
        schedule.Resume(1);
        Assert.Equal(2f, sgd.LearningRate, 6);
    }

    [Fact]
    public void AScheduleRefusedForItsArgumentsLeavesTheOptimisersBaseRate()
    {
        // the base rate (PyTorch's initial_lr) was fixed by the first schedule's constructor before it checked its arguments:
        // a refused schedule kept every later one at the rate of that moment
        var sgd = new Sgd([new Parameter("p", 1)], learningRate: 0.1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(sgd, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialLr(sgd, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLr(sgd, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(sgd, 5, startFactor: 0f));
        Assert.Equal("periodMultiplier", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(sgd, 3, periodMultiplier: 0)).ParamName);
        Assert.Equal("power", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialLr(sgd, 5, power: -1f)).ParamName);
        Assert.Equal(0.1f, sgd.LearningRate);
        sgd.LearningRate = 0.01f;
        Assert.Equal(0.01f, new StepLr(sgd, 10).BaseLearningRate);
        Assert.Equal(0.01f, new CosineAnnealingLr(sgd, 10).BaseLearningRate); // the first schedule's base, as before
    }

    [Fact]
    public void FactorsThatWouldAscendTheGradientAreRefused()
    {
        var optimizer = new Sgd([new Parameter("p", 1)], learningRate: 0.1f);
        Assert.Equal("endFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(optimizer, 5, endFactor: -1f)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialLr(optimizer, -0.9f)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(optimizer, 2, float.NaN)).ParamName);
        Assert.Equal("minimum", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLr(optimizer, 5, minimum: -0.1f)).ParamName);
        var nan = Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRate = float.NaN);
        Assert.Contains("finite and non-negative", nan.Message);
        Assert.Equal(0.1f, optimizer.LearningRate); // and the rate is kept
    }
}
