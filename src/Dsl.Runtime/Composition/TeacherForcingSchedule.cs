using System;

namespace Dsl;

/// <summary>
/// The teacher-forcing ratio over training (scheduled sampling, Bengio et al. 2015): the probability that the decoder
/// reads the true previous token rather than its own prediction. Start at 1 and decay so that the model learns to
/// recover from its own mistakes, which it meets at decoding time. Pass <c>Ratio(step)</c> to
/// <see cref="EncoderDecoderModel{TSource, TEncoder, TDecoder}.Backward"/>.
/// </summary>
public sealed class TeacherForcingSchedule
{
    private readonly Func<long, float> _ratio;

    private TeacherForcingSchedule(Func<long, float> ratio, string description)
    {
        _ratio = ratio;
        Description = description;
    }

    /// <summary>What the schedule does, for logs.</summary>
    public string Description { get; }

    /// <summary>The ratio at training step <paramref name="step"/> (0-based), in [0, 1].</summary>
    public float Ratio(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Math.Clamp(_ratio(step), 0f, 1f);
    }

    /// <summary>Always <paramref name="ratio"/> (1: plain teacher forcing).</summary>
    public static TeacherForcingSchedule Constant(float ratio)
    {
        Probability(ratio, nameof(ratio));
        return new(_ => ratio, $"constant {ratio}");
    }

    /// <summary>From <paramref name="start"/> to <paramref name="end"/> in a straight line over <paramref name="steps"/> steps, then <paramref name="end"/>.</summary>
    public static TeacherForcingSchedule Linear(float start, float end, long steps)
    {
        Probability(start, nameof(start));
        Probability(end, nameof(end));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        return new(step => step >= steps ? end : start + (end - start) * step / steps, $"linear {start} → {end} over {steps} steps");
    }

    /// <summary><paramref name="start"/> · <paramref name="decay"/>^step, never below <paramref name="minimum"/>.</summary>
    public static TeacherForcingSchedule Exponential(float start, float decay, float minimum = 0f)
    {
        Probability(start, nameof(start));
        Probability(minimum, nameof(minimum));
        if (!(decay > 0f && decay <= 1f)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "must be in (0, 1]");
        return new(step => Math.Max(minimum, start * MathF.Pow(decay, step)), $"exponential {start} · {decay}^step, at least {minimum}");
    }

    /// <summary>Bengio et al.'s inverse sigmoid decay k / (k + exp(step / k)), k ≥ 1: near 1 at first, then falling around step k·ln k.</summary>
    public static TeacherForcingSchedule InverseSigmoid(float k)
    {
        if (!(k >= 1f)) throw new ArgumentOutOfRangeException(nameof(k), k, "must be at least 1");
        return new(step => (float)(k / (k + Math.Exp(step / (double)k))), $"inverse sigmoid, k = {k}");
    }

    private static void Probability(float value, string name)
    {
        if (!(value >= 0f && value <= 1f)) throw new ArgumentOutOfRangeException(name, value, "must be in [0, 1]");
    }
}
