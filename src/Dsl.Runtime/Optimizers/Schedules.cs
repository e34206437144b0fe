using System;

namespace Dsl;

/// <summary>
/// A learning-rate schedule over an optimiser, with <c>torch.optim.lr_scheduler</c>'s semantics: the
/// optimiser's rate when its first schedule is attached is the base rate of every schedule over it (PyTorch's
/// <c>initial_lr</c>: a cosine built beside a warm-up starts from the full rate, not the warm-up's lowered one), and each
/// <see cref="Step"/> (after <c>optimizer.Step()</c>, once per epoch or per batch as the user chooses) moves to the next rate.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Attaches to <paramref name="optimizer"/>; its rate when its first schedule was attached is the base rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLearningRate = optimizer.ScheduleBase ??= optimizer.LearningRate;
    }

    /// <summary>The optimiser whose rate this sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The rate the schedule started from.</summary>
    public float BaseLearningRate { get; }

    /// <summary>Steps taken (PyTorch's <c>last_epoch</c>).</summary>
    public int StepCount { get; private set; }

    /// <summary>Moves to the next rate and sets it on the optimiser.</summary>
    /// <exception cref="InvalidOperationException">The next rate is not a finite rate ≥ 0 (a factor above 1 overflows after
    /// enough steps); nothing changes.</exception>
    public void Step()
    {
        if (StepCount == int.MaxValue) throw new InvalidOperationException($"{GetType().Name}: {StepCount} steps, as many as a schedule counts.");
        float rate = Checked(StepCount + 1);
        StepCount++;
        Optimizer.LearningRate = rate;
    }

    /// <summary>Resumes at <paramref name="stepCount"/> steps (a checkpoint's position).</summary>
    public void Resume(int stepCount)
    {
        if (stepCount < 0) throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, "must not be negative");
        float rate = Checked(stepCount);
        StepCount = stepCount;
        Optimizer.LearningRate = rate;
    }

    /// <summary>The rate after <paramref name="step"/> steps, refused unless it is a finite rate ≥ 0 (an optimiser takes no other).</summary>
    private float Checked(int step) => RateProblem(step, out float rate) is string problem
        ? throw new InvalidOperationException($"{problem}; the schedule and the optimiser's rate are left as they were.")
        : rate;

    /// <summary>What is wrong with the rate after <paramref name="step"/> steps (a factor above 1 overflows after enough), or null.</summary>
    internal string? RateProblem(int step, out float rate)
    {
        rate = Rate(step);
        if (rate >= 0 && float.IsFinite(rate)) return null;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return $"the schedule's rate after {step} steps is {rate.ToString(c)}, not a finite rate ≥ 0 ({GetType().Name} from the base rate {BaseLearningRate.ToString(c)})";
    }

    /// <summary>The rate after <paramref name="step"/> steps.</summary>
    public abstract float Rate(int step);

    // The built-in schedules check their arguments in their base constructor's argument list (Valid), before this
    // constructor fixes the optimiser's base rate: a schedule refused leaves the optimiser as it was.

    private protected static void RequirePositive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, "must be positive");
    }

    /// <summary>Throws unless <paramref name="value"/> lies in [<paramref name="min"/>, <paramref name="max"/>] (a rate or factor below 0 would ascend the gradient).</summary>
    private protected static void RequireBetween(float value, float min, float max, string name)
    {
        if (!(value >= min && value <= max)) throw new ArgumentOutOfRangeException(name, value, $"must be in [{min}, {max}]");
    }
}

/// <summary>Multiplies the rate by <c>gamma</c> every <c>stepSize</c> steps (<c>StepLR</c>).</summary>
public sealed class StepLr : LearningRateSchedule
{
    private readonly int _stepSize;
    private readonly double _gamma;

    /// <summary>Creates the schedule.</summary>
    public StepLr(Optimizer optimizer, int stepSize, float gamma = 0.1f) : base(Valid(optimizer, stepSize, gamma))
    {
        _stepSize = stepSize;
        _gamma = gamma;
    }

    private static Optimizer Valid(Optimizer optimizer, int stepSize, float gamma)
    {
        RequirePositive(stepSize, nameof(stepSize));
        RequireBetween(gamma, 0f, float.MaxValue, nameof(gamma));
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step) => (float)(BaseLearningRate * Math.Pow(_gamma, step / _stepSize));
}

/// <summary>Multiplies the rate by <c>gamma</c> every step (<c>ExponentialLR</c>).</summary>
public sealed class ExponentialLr : LearningRateSchedule
{
    private readonly double _gamma;

    /// <summary>Creates the schedule.</summary>
    public ExponentialLr(Optimizer optimizer, float gamma) : base(Valid(optimizer, gamma)) => _gamma = gamma;

    private static Optimizer Valid(Optimizer optimizer, float gamma)
    {
        RequireBetween(gamma, 0f, float.MaxValue, nameof(gamma));
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step) => (float)(BaseLearningRate * Math.Pow(_gamma, step));
}

/// <summary>Half a cosine from the base rate down to <c>minimum</c> over <c>period</c> steps, then back up (<c>CosineAnnealingLR</c>).</summary>
public sealed class CosineAnnealingLr : LearningRateSchedule
{
    private readonly int _period;
    private readonly double _minimum;

    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLr(Optimizer optimizer, int period, float minimum = 0f) : base(Valid(optimizer, period, minimum))
    {
        _period = period;
        _minimum = minimum;
    }

    private static Optimizer Valid(Optimizer optimizer, int period, float minimum)
    {
        RequirePositive(period, nameof(period));
        RequireBetween(minimum, 0f, float.MaxValue, nameof(minimum));
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step) =>
        (float)(_minimum + (BaseLearningRate - _minimum) * (1 + Math.Cos(Math.PI * step / _period)) / 2);
}

/// <summary>
/// Linear warm-up: the rate grows linearly from <c>startFactor</c> × base to <c>endFactor</c> × base over
/// <c>steps</c> steps, then stays (<c>LinearLR</c>).
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    private readonly double _start, _end;
    private readonly int _steps;

    /// <summary>Creates the schedule.</summary>
    public LinearWarmup(Optimizer optimizer, int steps, float startFactor = 1f / 3, float endFactor = 1f) : base(Valid(optimizer, steps, startFactor, endFactor))
    {
        _start = startFactor;
        _end = endFactor;
        _steps = steps;
        optimizer.LearningRate = Rate(0); // warm-up starts below the base rate
    }

    private static Optimizer Valid(Optimizer optimizer, int steps, float startFactor, float endFactor)
    {
        RequirePositive(steps, nameof(steps));
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "must be in (0, 1]");
        RequireBetween(endFactor, 0f, 1f, nameof(endFactor)); // as torch's LinearLR
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step) =>
        (float)(BaseLearningRate * (_start + (_end - _start) * Math.Min(step, _steps) / _steps));
}
