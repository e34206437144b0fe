using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>Whether a <see cref="ReduceLrOnPlateau"/> watches a quantity that should fall (a loss) or rise (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (torch's <c>mode='min'</c>).</summary>
    Min,

    /// <summary>Higher is better (<c>mode='max'</c>).</summary>
    Max,
}

/// <summary>How a <see cref="ReduceLrOnPlateau"/>'s threshold measures an improvement.</summary>
public enum PlateauThreshold
{
    /// <summary>Relative: better than best · (1 ∓ threshold) (torch's <c>threshold_mode='rel'</c>).</summary>
    Relative,

    /// <summary>Absolute: better than best ∓ threshold (<c>'abs'</c>).</summary>
    Absolute,
}

/// <summary>
/// Lowers the learning rate when a watched quantity stops improving (<c>torch.optim.lr_scheduler.ReduceLROnPlateau</c>,
/// Keras's <c>ReduceLROnPlateau</c>): <see cref="Step"/> takes the epoch's metric (a validation loss); after more than
/// <c>patience</c> steps without an improvement beyond the threshold, every group's rate is multiplied by <c>factor</c>
/// (not below its <c>minimumRate</c>; a change of <c>eps</c> or less is not made), and <c>cooldown</c> steps follow in which
/// bad steps are not counted. A <see cref="Trainer"/> given one steps it with each epoch's validation loss; a checkpoint
/// saves its position.
/// </summary>
public sealed class ReduceLrOnPlateau
{
    private readonly float[] _minimumRates;

    /// <summary>Watches a metric for <paramref name="optimizer"/>'s rate (torch's defaults).</summary>
    public ReduceLrOnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, float factor = 0.1f, int patience = 10, float threshold = 1e-4f,
        PlateauThreshold thresholdMode = PlateauThreshold.Relative, int cooldown = 0, float minimumRate = 0f, float eps = 1e-8f)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "must be Min or Max");
        if (!Enum.IsDefined(thresholdMode)) throw new ArgumentOutOfRangeException(nameof(thresholdMode), thresholdMode, "must be Relative or Absolute");
        if (!(factor >= 0f && factor < 1f)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be in [0, 1) (torch: factor should be < 1.0)");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must not be negative");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, "must not be negative");
        RequireFinite(threshold, nameof(threshold));
        Optimizer.RequireRate(minimumRate, nameof(minimumRate));
        RequireFinite(eps, nameof(eps));
        Optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Epsilon = eps;
        _minimumRates = Enumerable.Repeat(minimumRate, optimizer.GroupCount).ToArray();
        Best = mode == PlateauMode.Min ? float.PositiveInfinity : float.NegativeInfinity;
    }

    private static void RequireFinite(float value, string name)
    {
        if (!(value >= 0f && float.IsFinite(value))) throw new ArgumentOutOfRangeException(name, value, "must be finite and non-negative");
    }

    /// <summary>The optimiser whose rates this lowers.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Whether lower or higher is better.</summary>
    public PlateauMode Mode { get; }

    /// <summary>What a reduction multiplies the rates by.</summary>
    public float Factor { get; }

    /// <summary>Steps without improvement that are tolerated; one more reduces the rates.</summary>
    public int Patience { get; }

    /// <summary>How much better than the best a metric must be to count as an improvement.</summary>
    public float Threshold { get; }

    /// <summary>Whether <see cref="Threshold"/> is relative or absolute.</summary>
    public PlateauThreshold ThresholdMode { get; }

    /// <summary>Steps after a reduction in which bad steps are not counted.</summary>
    public int Cooldown { get; }

    /// <summary>The smallest change of a rate that is made.</summary>
    public float Epsilon { get; }

    /// <summary>Each group's lowest rate (one value for every group as built; set one with <see cref="SetMinimumRate"/>).</summary>
    public IReadOnlyList<float> MinimumRates => _minimumRates;

    /// <summary>Sets group <paramref name="group"/>'s lowest rate (torch's <c>min_lr</c> list).</summary>
    public void SetMinimumRate(int group, float rate)
    {
        if ((uint)group >= (uint)_minimumRates.Length) throw new ArgumentOutOfRangeException(nameof(group), group, $"the optimiser has {_minimumRates.Length} group(s)");
        _minimumRates[group] = Optimizer.RequireRate(rate, nameof(rate));
    }

    /// <summary>The best metric so far (+∞ for <see cref="PlateauMode.Min"/>, −∞ for Max before the first step).</summary>
    public float Best { get; private set; }

    /// <summary>Steps since the last improvement (torch's <c>num_bad_epochs</c>).</summary>
    public int BadSteps { get; private set; }

    /// <summary>Cooldown steps left (torch's <c>cooldown_counter</c>).</summary>
    public int CooldownLeft { get; private set; }

    /// <summary>Steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>Reductions made so far.</summary>
    public int Reductions { get; private set; }

    /// <summary>
    /// Takes the epoch's <paramref name="metric"/>; lowers the rates when it has not improved for more than
    /// <see cref="Patience"/> steps. A NaN metric never improves. Returns whether the rates were lowered.
    /// </summary>
    public bool Step(float metric)
    {
        StepCount++;
        if (IsBetter(metric))
        {
            Best = metric;
            BadSteps = 0;
        }
        else BadSteps++;
        if (CooldownLeft > 0)
        {
            CooldownLeft--;
            BadSteps = 0; // bad steps in cooldown are ignored
        }
        if (BadSteps <= Patience) return false;
        bool lowered = false;
        for (int g = 0; g < _minimumRates.Length; g++)
        {
            float old = Optimizer.GroupLearningRate(g), lower = MathF.Max(old * Factor, _minimumRates[g]);
            if (old - lower > Epsilon)
            {
                Optimizer.SetGroupLearningRate(g, lower);
                lowered = true;
            }
        }
        if (lowered) Reductions++;
        CooldownLeft = Cooldown;
        BadSteps = 0;
        return lowered;
    }

    /// <summary>torch's <c>is_better</c> (in double, as Python computes it).</summary>
    private bool IsBetter(float metric) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, PlateauThreshold.Relative) => metric < Best * (1.0 - Threshold),
        (PlateauMode.Min, _) => metric < (double)Best - Threshold,
        (_, PlateauThreshold.Relative) => metric > Best * (Threshold + 1.0),
        _ => metric > (double)Best + Threshold,
    };

    /// <summary>What it was built with, by torch's names (a mode as 0 / 1): a checkpoint records them and resuming with others is refused.</summary>
    internal (string Name, double Value)[] Settings =>
    [
        ("mode", (int)Mode), ("factor", Factor), ("patience", Patience), ("threshold", Threshold), ("threshold_mode", (int)ThresholdMode),
        ("cooldown", Cooldown), ("eps", Epsilon), .. _minimumRates.Select((r, g) => ($"min_lr[{g}]", (double)r)),
    ];

    /// <summary>Its position (a checkpoint's).</summary>
    internal PlateauPosition Position => new(Best, BadSteps, CooldownLeft, StepCount, Reductions);

    /// <summary>What is wrong with a checkpoint's position for this watcher (a position no run of it reaches), or null.</summary>
    internal string? PositionProblem(PlateauPosition p) =>
        float.IsNaN(p.Best) ? "its best metric is NaN"
        : p.BadSteps < 0 || p.BadSteps > Patience ? $"{p.BadSteps} bad steps, not 0 to its patience {Patience}"
        : p.CooldownLeft < 0 || p.CooldownLeft > Cooldown ? $"{p.CooldownLeft} cooldown steps left, not 0 to its cooldown {Cooldown}"
        : p.StepCount < 0 || p.Reductions < 0 || p.Reductions > p.StepCount ? $"{p.StepCount} steps and {p.Reductions} reductions"
        : null;

    /// <summary>Puts back a checkpoint's position (checked by <see cref="PositionProblem"/>).</summary>
    internal void Restore(PlateauPosition p) => (Best, BadSteps, CooldownLeft, StepCount, Reductions) = (p.Best, p.BadSteps, p.CooldownLeft, p.StepCount, p.Reductions);
}

/// <summary>Where a <see cref="ReduceLrOnPlateau"/> stands: its best metric, bad steps, cooldown left, steps and reductions.</summary>
internal readonly record struct PlateauPosition(float Best, int BadSteps, int CooldownLeft, int StepCount, int Reductions);
