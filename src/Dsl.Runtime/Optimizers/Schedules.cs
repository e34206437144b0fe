using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// A learning-rate schedule over an optimiser, with <c>torch.optim.lr_scheduler</c>'s semantics: the
/// optimiser's rate when its first schedule is attached is the base rate of every schedule over it (PyTorch's
/// <c>initial_lr</c>: a cosine built beside a warm-up starts from the full rate, not the warm-up's lowered one), and each
/// <see cref="Step"/> (after <c>optimizer.Step()</c>, once per epoch or per batch as the user chooses) moves the optimiser's
/// current rate to the next, as PyTorch's chainable form does: two schedules stepped over one optimiser compose (an
/// exponential decay and a step decay multiply; a warm-up stepped beside a cosine scales it), and a rate set by hand between
/// steps is where the next step starts — except <see cref="CosineAnnealingWarmRestarts"/>, which sets its closed form at
/// every step, as torch's does (stepped beside another, the one stepped last wins). <see cref="Rate"/> is the closed form of the schedule alone, which
/// <see cref="Resume"/> sets (a checkpoint then puts back the rate it saved). Over parameter groups, each group's rate moves
/// from its own base rate, as torch's schedulers move each group's (<c>base_lrs</c>).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Attaches to <paramref name="optimizer"/>; its rates when its first schedule was attached are the base rates (one per group).</summary>
    protected LearningRateSchedule(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        _bases = optimizer.ScheduleBases ??= Enumerable.Range(0, optimizer.GroupCount).Select(optimizer.GroupLearningRate).ToArray();
        _next = new float[_bases.Length];
    }

    private readonly float[] _bases;
    private readonly float[] _next; // each group's next rate, all checked before any is set

    /// <summary>
    /// The base rates (one optimiser's: every schedule over it shares them) and the group whose rate this thread is computing
    /// (in <see cref="Step"/>, <see cref="Resume"/>, a checkpoint's check): <see cref="BaseLearningRate"/> of any schedule over
    /// that optimiser is that group's base there (a schedule whose Next asks another for its rate gets the same group's), and
    /// the first group's anywhere else, on any other thread too.
    /// </summary>
    [ThreadStatic] private static (float[]? Bases, int Group) t_computing;

    /// <summary>The optimiser whose rate this sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>
    /// The rate the schedule started from: the first group's, and, while <see cref="Rate"/> and <see cref="Next"/> compute
    /// another group's rate (on the thread stepping the schedule), that group's.
    /// </summary>
    public float BaseLearningRate => ReferenceEquals(t_computing.Bases, _bases) ? _bases[t_computing.Group] : _bases[0];

    /// <summary>Each parameter group's starting rate (torch's <c>base_lrs</c>); one without groups.</summary>
    public IReadOnlyList<float> BaseLearningRates => _bases;

    /// <summary>Steps taken (PyTorch's <c>last_epoch</c>).</summary>
    public int StepCount { get; private set; }

    /// <summary>Moves every group's current rate to its next one (<see cref="Next"/>) and sets them.</summary>
    /// <exception cref="InvalidOperationException">The next rate is not a finite rate ≥ 0 (a factor above 1 overflows after
    /// enough steps); nothing changes.</exception>
    public void Step()
    {
        if (StepCount == int.MaxValue) throw new InvalidOperationException($"{GetType().Name}: {StepCount} steps, as many as a schedule counts.");
        int step = StepCount + 1;
        if (NextRates(step, chained: true) is string problem) throw Refused(problem);
        StepCount = step;
        SetNextRates();
    }

    /// <summary>
    /// The rate after <paramref name="step"/> steps from a group's <paramref name="current"/> rate (PyTorch's chainable
    /// <c>get_lr</c>), called once per group, <see cref="BaseLearningRate"/> then being that group's; by default the closed form
    /// <see cref="Rate"/>, which ignores the current rate.
    /// </summary>
    protected virtual double Next(double current, int step) => Rate(step);

    /// <summary>Resumes at <paramref name="stepCount"/> steps (a checkpoint's position).</summary>
    public void Resume(int stepCount)
    {
        if (stepCount < 0) throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, "must not be negative");
        if (RateProblem(stepCount) is string problem) throw Refused(problem);
        StepCount = stepCount;
        SetNextRates();
    }

    /// <summary>
    /// What is wrong with a group's rate after <paramref name="step"/> steps, in closed form (a factor above 1 overflows
    /// after enough), or null; every group's rate is left in <see cref="_next"/>.
    /// </summary>
    internal string? RateProblem(int step) => NextRates(step, chained: false);

    /// <summary>
    /// Each group's rate after <paramref name="step"/> steps into <see cref="_next"/>, from its current rate
    /// (<see cref="Next"/>) or in closed form (<see cref="Rate"/>), <see cref="BaseLearningRate"/> being that group's meanwhile;
    /// what is wrong with the first rate that is not a finite rate ≥ 0, or null.
    /// </summary>
    private string? NextRates(int step, bool chained)
    {
        var outer = t_computing;
        try
        {
            for (int g = 0; g < _bases.Length; g++)
            {
                t_computing = (_bases, g);
                float rate = _next[g] = chained ? (float)Next(Optimizer.GroupLearningRate(g), step) : Rate(step);
                if (Problem(step, rate) is string problem) return problem;
            }
            return null;
        }
        finally
        {
            t_computing = outer;
        }
    }

    /// <summary>Sets every group's rate to the one <see cref="NextRates"/> computed.</summary>
    private void SetNextRates()
    {
        for (int g = 0; g < _next.Length; g++) Optimizer.SetGroupLearningRate(g, _next[g]);
    }

    private static InvalidOperationException Refused(string problem) =>
        new($"{problem}; the schedule and the optimiser's rate are left as they were.");

    private string? Problem(int step, float rate)
    {
        if (rate >= 0 && float.IsFinite(rate)) return null;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return $"the schedule's rate after {step} steps is {rate.ToString(c)}, not a finite rate ≥ 0 ({GetType().Name} from the base rate {BaseLearningRate.ToString(c)})";
    }

    /// <summary>
    /// What the schedule was built with, by torch's names (<c>base_lr</c> first: PyTorch's <c>initial_lr</c>): a checkpoint
    /// records them, and resuming with others is refused, since the run would not continue as it was. A schedule defined
    /// outside the library records its base rate only.
    /// </summary>
    internal virtual (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate)];

    /// <summary><see cref="Settings"/>, and over groups every other group's base rate (<c>base_lr[1]</c>, …): what a checkpoint records.</summary>
    internal (string Name, double Value)[] AllSettings => _bases.Length == 1
        ? Settings
        : [.. Settings, .. _bases.Skip(1).Select((b, i) => ($"base_lr[{i + 1}]", (double)b))];

    /// <summary>The rate after <paramref name="step"/> steps from <see cref="BaseLearningRate"/> (the first group's, unless called for another group's while the schedule steps).</summary>
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

    /// <inheritdoc/>
    protected override double Next(double current, int step) => step % _stepSize == 0 ? current * _gamma : current;

    internal override (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate), ("step_size", _stepSize), ("gamma", _gamma)];
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

    /// <inheritdoc/>
    protected override double Next(double current, int step) => current * _gamma;

    internal override (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate), ("gamma", _gamma)];
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

    /// <inheritdoc/>
    /// <remarks>
    /// torch's recursive form: the cosine's ratio from one step to the next applied to the distance from the minimum, and at
    /// the first step past each trough (where that ratio would divide by zero) a rise by the first step's fall.
    /// </remarks>
    protected override double Next(double current, int step)
    {
        if ((step - 1 - _period) % (2L * _period) == 0)
            return current + (BaseLearningRate - _minimum) * (1 - Math.Cos(Math.PI / _period)) / 2;
        return (1 + Math.Cos(Math.PI * step / _period)) / (1 + Math.Cos(Math.PI * (step - 1) / _period)) * (current - _minimum) + _minimum;
    }

    internal override (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate), ("T_max", _period), ("eta_min", _minimum)];
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
        // warm-up starts below the current rates (torch's first get_lr)
        for (int g = 0; g < optimizer.GroupCount; g++) optimizer.SetGroupLearningRate(g, (float)(optimizer.GroupLearningRate(g) * _start));
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

    /// <inheritdoc/>
    protected override double Next(double current, int step) =>
        step > _steps ? current : current * (1 + (_end - _start) / (_steps * _start + (step - 1) * (_end - _start)));

    internal override (string Name, double Value)[] Settings =>
        [("base_lr", BaseLearningRate), ("total_iters", _steps), ("start_factor", _start), ("end_factor", _end)];
}

/// <summary>
/// Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter 2017; <c>CosineAnnealingWarmRestarts</c>): half a cosine
/// from the base rate down to <c>minimum</c> over <c>period</c> steps, then back at the base rate for a period
/// <c>periodMultiplier</c> times as long, and so on. As torch's, not chainable: each step sets the closed form.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LearningRateSchedule
{
    private readonly int _period, _multiplier;
    private readonly double _minimum;

    /// <summary>Creates the schedule: the first restart after <paramref name="period"/> steps (torch's <c>T_0</c>, <c>T_mult</c>, <c>eta_min</c>).</summary>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int period, int periodMultiplier = 1, float minimum = 0f)
        : base(Valid(optimizer, period, periodMultiplier, minimum))
    {
        _period = period;
        _multiplier = periodMultiplier;
        _minimum = minimum;
    }

    private static Optimizer Valid(Optimizer optimizer, int period, int periodMultiplier, float minimum)
    {
        RequirePositive(period, nameof(period));
        RequirePositive(periodMultiplier, nameof(periodMultiplier));
        RequireBetween(minimum, 0f, float.MaxValue, nameof(minimum));
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step)
    {
        // where in its period the step lies: periods of T₀, T₀·m, T₀·m², … (whole numbers, counted exactly)
        long at = step, length = _period;
        while (at >= length)
        {
            at -= length;
            length *= _multiplier;
            if (_multiplier == 1) { at %= length; break; }
        }
        return (float)(_minimum + (BaseLearningRate - _minimum) * (1 + Math.Cos(Math.PI * at / length)) / 2);
    }

    internal override (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate), ("T_0", _period), ("T_mult", _multiplier), ("eta_min", _minimum)];
}

/// <summary>
/// Polynomial decay over <c>steps</c> steps (<c>PolynomialLR</c>): base · (1 − min(t, steps) / steps)^power, which reaches 0
/// at <c>steps</c> (for a power above 0; a power of 0 keeps the base rate, as torch's 0⁰ = 1); in torch's chainable form.
/// </summary>
public sealed class PolynomialLr : LearningRateSchedule
{
    private readonly int _steps;
    private readonly double _power;

    /// <summary>Creates the schedule (torch's <c>total_iters</c>, <c>power</c>).</summary>
    public PolynomialLr(Optimizer optimizer, int steps = 5, float power = 1f) : base(Valid(optimizer, steps, power))
    {
        _steps = steps;
        _power = power;
    }

    private static Optimizer Valid(Optimizer optimizer, int steps, float power)
    {
        RequirePositive(steps, nameof(steps));
        RequireBetween(power, 0f, float.MaxValue, nameof(power));
        return optimizer;
    }

    /// <inheritdoc/>
    public override float Rate(int step) => (float)(BaseLearningRate * Math.Pow(1 - (double)Math.Min(step, _steps) / _steps, _power));

    /// <inheritdoc/>
    protected override double Next(double current, int step) =>
        step > _steps ? current : current * Math.Pow((1.0 - (double)step / _steps) / (1.0 - (double)(step - 1) / _steps), _power);

    internal override (string Name, double Value)[] Settings => [("base_lr", BaseLearningRate), ("total_iters", _steps), ("power", _power)];
}
