using System;

namespace Dsl;

/// <summary>
/// A scaling of the rotary frequencies for long contexts (Hugging Face's <c>rope_scaling</c>). LLaMA 3.1's (<c>rope_type</c>
/// "llama3", <see cref="RotaryScalingKind.Llama3"/>): a frequency whose wavelength 2π / f is shorter than
/// <see cref="OriginalContext"/> / <see cref="HighFrequencyFactor"/> is kept, one longer than <see cref="OriginalContext"/> /
/// <see cref="LowFrequencyFactor"/> is divided by <see cref="Factor"/>, and those between move smoothly from one to the other.
/// Linear ("linear", <see cref="RotaryScalingKind.Linear"/>): every frequency divided by <see cref="Factor"/>, the other three
/// unused. The default (a factor of 0) scales nothing.
/// </summary>
/// <param name="Factor">How much longer the context is than the one trained on: 8 (LLaMA 3.1), 32 (LLaMA 3.2); 0 for none.</param>
/// <param name="LowFrequencyFactor"><c>low_freq_factor</c> (LLaMA 3.1: 1).</param>
/// <param name="HighFrequencyFactor"><c>high_freq_factor</c> (LLaMA 3.1: 4), above <paramref name="LowFrequencyFactor"/>.</param>
/// <param name="OriginalContext"><c>original_max_position_embeddings</c> (LLaMA 3.1: 8192).</param>
/// <param name="Kind">Which scaling: LLaMA 3.1's (the default) or linear.</param>
public readonly record struct RotaryScaling(float Factor, float LowFrequencyFactor, float HighFrequencyFactor, int OriginalContext,
    RotaryScalingKind Kind = RotaryScalingKind.Llama3)
{
    /// <summary>The linear scaling ("linear"): every frequency divided by <paramref name="factor"/>.</summary>
    public static RotaryScaling Linear(float factor) => new(factor, 1f, 4f, 8192, RotaryScalingKind.Linear);

    /// <summary>Whether the frequencies are scaled at all (a factor above 0).</summary>
    public bool IsScaled => Factor > 0f;

    /// <summary>
    /// Refuses a scaling no configuration describes (what the generator's DSL0007 refuses in a declaration): a factor other than
    /// 0 below 1, or not finite, a kind not named, or for LLaMA 3.1's a low-frequency factor not above 0, a high one not above it,
    /// or an original context not above 0 (the smooth band would divide by 0).
    /// </summary>
    public void Require()
    {
        if (!(Factor == 0f || Factor >= 1f) || float.IsInfinity(Factor))
            throw new ArgumentOutOfRangeException(nameof(Factor), Factor, "Rotary scaling: the factor is 0 (none) or a finite number of 1 or more (LLaMA 3.1's: 8).");
        if (!Enum.IsDefined(Kind))
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Rotary scaling: the kind is RotaryScalingKind.Llama3 or RotaryScalingKind.Linear.");
        if (!IsScaled || Kind == RotaryScalingKind.Linear) return;
        if (!(LowFrequencyFactor > 0f) || !(HighFrequencyFactor > LowFrequencyFactor) || float.IsInfinity(HighFrequencyFactor) || OriginalContext <= 0)
            throw new ArgumentOutOfRangeException(nameof(HighFrequencyFactor),
                $"Rotary scaling (LLaMA 3.1's): the low-frequency factor ({LowFrequencyFactor}) is above 0, the high one ({HighFrequencyFactor}) finite and above it, and the original context ({OriginalContext}) above 0.");
    }

    /// <summary>The frequency <paramref name="frequency"/> (radians per position) as the scaling leaves it.</summary>
    public double Scale(double frequency)
    {
        if (!IsScaled) return frequency;
        if (Kind == RotaryScalingKind.Linear) return frequency / Factor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < OriginalContext / (double)HighFrequencyFactor) return frequency;
        if (wavelength > OriginalContext / (double)LowFrequencyFactor) return frequency / Factor;
        double smooth = (OriginalContext / wavelength - LowFrequencyFactor) / ((double)HighFrequencyFactor - LowFrequencyFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}
