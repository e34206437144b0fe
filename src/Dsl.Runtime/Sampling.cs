using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>Choosing the next token from a model's logits.</summary>
public static class Sampling
{
    /// <summary>
    /// The index of the largest logit (greedy decoding). Logits with a NaN, or nothing but −∞, are refused, as
    /// <see cref="Sample(ReadOnlySpan{float}, float, Rng)"/> refuses them: a diverged or fully masked model would otherwise decode the first index, step after
    /// step, without a word. (+∞ is a largest logit, and is taken.)
    /// </summary>
    public static int Greedy(ReadOnlySpan<float> logits) => Greedy(logits, "Sampling", nameof(logits));

    /// <summary><see cref="Greedy(ReadOnlySpan{float})"/>, its errors saying <paramref name="who"/> and naming <paramref name="parameter"/> (a decoder's: the model that made the logits).</summary>
    internal static int Greedy(ReadOnlySpan<float> logits, string who, string parameter)
    {
        if (logits.IsEmpty) throw new ArgumentException($"{who}: logits are empty.", parameter);
        if (HasNaN(logits)) throw new ArgumentException($"{who}: the logits hold NaN; no token is the largest.", parameter);
        if (float.IsNegativeInfinity(TensorPrimitives.Max(logits)))
            throw new ArgumentException($"{who}: the logits hold only −∞; every token is masked, none can be chosen.", parameter);
        return TensorPrimitives.IndexOfMax(logits);
    }

    /// <summary>
    /// Draws an index from softmax(logits / temperature). Temperature 1 samples the model's
    /// distribution, lower sharpens it, higher flattens it; 0 is greedy.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, float temperature, Rng rng) => Sample(logits, temperature, rng, "Sampling", nameof(logits));

    /// <summary><see cref="Sample(ReadOnlySpan{float}, float, Rng)"/>, its errors about the logits saying <paramref name="who"/> and naming <paramref name="parameter"/>.</summary>
    internal static int Sample(ReadOnlySpan<float> logits, float temperature, Rng rng, string who, string parameter)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (logits.IsEmpty) throw new ArgumentException($"{who}: logits are empty.", parameter);
        if (!(temperature >= 0) || float.IsInfinity(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be finite and non-negative");
        if (temperature == 0) return Greedy(logits, who, parameter);
        float max = MaxOfDistribution(logits, who, parameter);
        // (a token of no probability, −∞, adds nothing: a top-k's or a nucleus's masked tokens cost no exponential)
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] != float.NegativeInfinity) sum += Math.Exp((logits[i] - max) / temperature);
        double u = rng.NextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] == float.NegativeInfinity) continue;
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
