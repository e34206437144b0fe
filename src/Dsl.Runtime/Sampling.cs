using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>Choosing the next token from a model's logits.</summary>
public static class Sampling
{
    /// <summary>
    /// The index of the largest logit (greedy decoding). Logits with a NaN, or nothing but −∞, are refused, as
    /// <see cref="Sample"/> refuses them: a diverged or fully masked model would otherwise decode the first index, step after
    /// step, without a word. (+∞ is a largest logit, and is taken.)
    /// </summary>
    public static int Greedy(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("Sampling: logits are empty.", nameof(logits));
        if (HasNaN(logits)) throw new ArgumentException("Sampling: the logits hold NaN; no token is the largest.", nameof(logits));
        if (float.IsNegativeInfinity(TensorPrimitives.Max(logits)))
            throw new ArgumentException("Sampling: the logits hold only −∞; every token is masked, none can be chosen.", nameof(logits));
        return TensorPrimitives.IndexOfMax(logits);
    }

    /// <summary>
    /// Draws an index from softmax(logits / temperature). Temperature 1 samples the model's
    /// distribution, lower sharpens it, higher flattens it; 0 is greedy.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, float temperature, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (logits.IsEmpty) throw new ArgumentException("Sampling: logits are empty.", nameof(logits));
        if (!(temperature >= 0) || float.IsInfinity(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be finite and non-negative");
        if (temperature == 0) return Greedy(logits);
        float max = MaxOfDistribution(logits, "Sampling", nameof(logits));
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp((logits[i] - max) / temperature);
        double u = rng.NextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            acc += Math.Exp((logits[i] - max) / temperature);
            if (u < acc) return i;
        }
        return logits.Length - 1;
    }

    /// <summary>
    /// The largest logit, after checking that the logits make a distribution: NaN, +∞ or nothing but −∞ make none
    /// (torch.multinomial refuses them too) — a model's bad weights would otherwise draw the last id, or rank beams by NaN
    /// scores, step after step. Sampling and beam search check here.
    /// </summary>
    internal static float MaxOfDistribution(ReadOnlySpan<float> logits, string who, string parameter)
    {
        float max = TensorPrimitives.Max(logits);
        bool nan = HasNaN(logits);
        if (nan || !float.IsFinite(max))
            throw new ArgumentException($"{who}: the logits hold {(nan ? "NaN" : float.IsNegativeInfinity(max) ? "only −∞" : "+∞")}; a distribution cannot be drawn from them.", parameter);
        return max;
    }

    private static bool HasNaN(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (float.IsNaN(v)) return true;
        return false;
    }
}
