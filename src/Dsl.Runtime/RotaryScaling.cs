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
