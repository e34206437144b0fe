using System;
using System.Linq;

namespace Dsl;

/// <summary>
/// A scaling of the rotary frequencies for long contexts (Hugging Face's <c>rope_scaling</c>). LLaMA 3.1's (<c>rope_type</c>
/// "llama3", <see cref="RotaryScalingKind.Llama3"/>): a frequency whose wavelength 2π / f is shorter than
/// <see cref="OriginalContext"/> / <see cref="HighFrequencyFactor"/> is kept, one longer than <see cref="OriginalContext"/> /
/// <see cref="LowFrequencyFactor"/> is divided by <see cref="Factor"/>, and those between move smoothly from one to the other.
/// Linear ("linear", <see cref="RotaryScalingKind.Linear"/>): every frequency divided by <see cref="Factor"/>, the other three
/// unused. YaRN ("yarn", <see cref="RotaryScalingKind.Yarn"/>): by the head's dimension, the pairs that turn more than 32 times over
/// <see cref="OriginalContext"/> kept, those that turn less than once divided by <see cref="Factor"/>, a linear ramp between
/// (transformers' <c>beta_fast</c> 32 and <c>beta_slow</c> 1, truncated), and the cosines and sines times
/// <see cref="AttentionFactor"/>; the low and high frequency factors unused. LongRoPE ("longrope", <see cref="LongRope"/>): each
/// pair's frequency divided by its own factor. Dynamic NTK ("dynamic", <see cref="RotaryScalingKind.Dynamic"/>): a pass that
/// reaches past <see cref="OriginalContext"/> takes a larger base (<see cref="ForPass"/>). The default (a factor of 0) scales nothing.
/// </summary>
/// <param name="Factor">How much longer the context is than the one trained on: 8 (LLaMA 3.1), 32 (LLaMA 3.2); 0 for none.</param>
/// <param name="LowFrequencyFactor"><c>low_freq_factor</c> (LLaMA 3.1: 1).</param>
/// <param name="HighFrequencyFactor"><c>high_freq_factor</c> (LLaMA 3.1: 4), above <paramref name="LowFrequencyFactor"/>.</param>
/// <param name="OriginalContext"><c>original_max_position_embeddings</c> (LLaMA 3.1: 8192).</param>
/// <param name="Kind">Which scaling: LLaMA 3.1's (the default), linear, YaRN, LongRoPE or dynamic NTK.</param>
public readonly record struct RotaryScaling(float Factor, float LowFrequencyFactor, float HighFrequencyFactor, int OriginalContext,
    RotaryScalingKind Kind = RotaryScalingKind.Llama3)
{
    /// <summary>The linear scaling ("linear"): every frequency divided by <paramref name="factor"/>.</summary>
    public static RotaryScaling Linear(float factor) => new(factor, 1f, 4f, 8192, RotaryScalingKind.Linear);

    /// <summary>LongRoPE's divisors of each pair's frequency while a pass stays within the original context (<c>short_factor</c>), one per pair.</summary>
    public float[]? ShortFactors { get; init; }

    /// <summary>LongRoPE's divisors when a pass reaches past the original context (<c>long_factor</c>), one per pair.</summary>
    public float[]? LongFactors { get; init; }

    /// <summary>LongRoPE: whether this pass reaches past the original context, and takes <see cref="LongFactors"/> (<see cref="ForPass"/>).</summary>
    public bool Long { get; init; }

    /// <summary>
    /// Dynamic NTK: the reach (last position + 1) of a pass that reaches past the original context, whose base it scales; 0 for a
    /// pass within it (<see cref="ForPass"/>).
    /// </summary>
    public long Reach { get; init; }

    private static RotaryScaling[] s_longRope = [];
    private static readonly object s_longRopeLock = new();

    /// <summary>
    /// LongRoPE ("longrope"): <paramref name="factor"/> is the context's growth over <paramref name="originalContext"/> (Phi-3's
    /// max_position_embeddings / original_max_position_embeddings, 32), which sets the attention factor; the two factor lists
    /// divide each pair's frequency. The same lists give the same value (the generated code calls this with constant spans every
    /// pass, and allocates nothing after the first).
    /// </summary>
    public static RotaryScaling LongRope(float factor, int originalContext, ReadOnlySpan<float> shortFactors, ReadOnlySpan<float> longFactors)
    {
        foreach (RotaryScaling known in System.Threading.Volatile.Read(ref s_longRope))
        {
            if (known.Factor == factor && known.OriginalContext == originalContext && known.ShortFactors.AsSpan().SequenceEqual(shortFactors) && known.LongFactors.AsSpan().SequenceEqual(longFactors))
                return known;
        }
        var made = new RotaryScaling(factor, 1f, 4f, originalContext, RotaryScalingKind.LongRope) { ShortFactors = shortFactors.ToArray(), LongFactors = longFactors.ToArray() };
        made.Require();
        lock (s_longRopeLock) System.Threading.Volatile.Write(ref s_longRope, [.. s_longRope, made]);
        return made;
    }

    /// <summary>
    /// The scaling as a pass that reaches position <paramref name="end"/> − 1 takes it: LongRoPE's long factors past the original
    /// context, dynamic NTK's base for that reach past it (<see cref="Reach"/>), else itself. transformers takes the same by the
    /// pass's last position; for dynamic NTK it keeps the longest pass's base until a pass fits the original context again, which a
    /// pass here does not remember (the same for a first pass and for decoding, whose reach grows).
    /// </summary>
    public RotaryScaling ForPass(long end) => !IsScaled ? this
        : Kind == RotaryScalingKind.LongRope ? this with { Long = end > OriginalContext }
        : Kind == RotaryScalingKind.Dynamic ? this with { Reach = end > OriginalContext ? end : 0 }
        : this;

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
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Rotary scaling: the kind is RotaryScalingKind.Llama3, Linear, Yarn, LongRope or Dynamic.");
        if (!IsScaled || Kind == RotaryScalingKind.Linear) return;
        if (Kind is RotaryScalingKind.Yarn or RotaryScalingKind.Dynamic)
        {
            if (OriginalContext <= 0)
                throw new ArgumentOutOfRangeException(nameof(OriginalContext), OriginalContext, $"Rotary scaling ({(Kind == RotaryScalingKind.Yarn ? "YaRN" : "dynamic NTK")}): the original context is above 0.");
            return;
        }
        if (Kind == RotaryScalingKind.LongRope)
        {
            if (OriginalContext <= 1)
                throw new ArgumentOutOfRangeException(nameof(OriginalContext), OriginalContext, "Rotary scaling (LongRoPE): the original context is above 1.");
            if (ShortFactors is not { Length: > 0 } shorts || LongFactors is not { } longs || longs.Length != shorts.Length
                || shorts.Concat(longs).Any(f => !(f > 0f) || float.IsInfinity(f)))
                throw new ArgumentException($"Rotary scaling (LongRoPE): the short and long factors are as many, one per pair, each a positive finite number (got {ShortFactors?.Length ?? 0} and {LongFactors?.Length ?? 0}).", nameof(ShortFactors));
            return;
        }
        if (!(LowFrequencyFactor > 0f) || !(HighFrequencyFactor > LowFrequencyFactor) || float.IsInfinity(HighFrequencyFactor) || OriginalContext <= 0)
            throw new ArgumentOutOfRangeException(nameof(HighFrequencyFactor),
                $"Rotary scaling (LLaMA 3.1's): the low-frequency factor ({LowFrequencyFactor}) is above 0, the high one ({HighFrequencyFactor}) finite and above it, and the original context ({OriginalContext}) above 0.");
    }

    /// <summary>YaRN's thresholds, transformers' defaults: the pairs that turn more than <c>beta_fast</c> times over the original context keep their frequency, those under <c>beta_slow</c> are divided.</summary>
    internal const double YarnFast = 32, YarnSlow = 1;

    /// <summary>
    /// What the rotation's cosines and sines are multiplied by: YaRN's 0.1 · ln(factor) + 1 (its "attention factor", which scales
    /// every score by its square), 1 for the other scalings.
    /// </summary>
    public float AttentionFactor =>
        Kind == RotaryScalingKind.Yarn && Factor > 1f ? (float)(0.1 * Math.Log(Factor) + 1.0)
        : Kind == RotaryScalingKind.LongRope && Factor > 1f ? (float)Math.Sqrt(1 + Math.Log(Factor) / Math.Log(OriginalContext)) // (LongRoPE's)
        : 1f;

    /// <summary>
    /// The frequency of pair <paramref name="j"/> of a head <paramref name="headWidth"/> wide at base <paramref name="theta"/> as the
    /// scaling leaves it (YaRN's depends on the pair's place, not on its frequency alone).
    /// </summary>
    public double Scale(int j, int headWidth, float theta, double frequency)
    {
        if (IsScaled && Kind == RotaryScalingKind.LongRope) return frequency / (Long ? LongFactors! : ShortFactors!)[j];
        if (IsScaled && Kind == RotaryScalingKind.Dynamic) return Reach > OriginalContext ? Math.Pow(DynamicBase(headWidth, theta), -2.0 * j / headWidth) : frequency;
        if (!IsScaled || Kind != RotaryScalingKind.Yarn) return Scale(frequency);
        // the dimension (counted in pairs) at which a pair turns r times over the original context, floored and ceiled, then a ramp
        int context = OriginalContext;
        double Dimension(double turns) => headWidth * Math.Log(context / (turns * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = Math.Max(Math.Floor(Dimension(YarnFast)), 0), high = Math.Min(Math.Ceiling(Dimension(YarnSlow)), headWidth - 1);
        if (low == high) high += 0.001;
        double ramp = Math.Clamp((j - low) / (high - low), 0, 1), kept = 1 - ramp;
        return frequency / Factor * (1 - kept) + frequency * kept;
    }

    /// <summary>
    /// Dynamic NTK's base for this pass's <see cref="Reach"/> past the original context L: θ · (factor · reach / L − (factor − 1))^(d / (d − 2)),
    /// in double as transformers computes it (d the values turned in a head, above 2).
    /// </summary>
    public double DynamicBase(int headWidth, float theta) =>
        theta * Math.Pow(Factor * (double)Reach / OriginalContext - (Factor - 1.0), headWidth / (headWidth - 2.0));

    /// <summary>The frequency <paramref name="frequency"/> (radians per position) as LLaMA 3.1's or the linear scaling leaves it (YaRN's: <see cref="Scale(int, int, float, double)"/>).</summary>
    public double Scale(double frequency)
    {
        if (!IsScaled) return frequency;
        if (Kind is RotaryScalingKind.Yarn or RotaryScalingKind.LongRope or RotaryScalingKind.Dynamic)
            throw new InvalidOperationException($"{Kind} scales a frequency by its pair's place in the head: Scale(j, headWidth, theta, frequency).");
        if (Kind == RotaryScalingKind.Linear) return frequency / Factor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < OriginalContext / (double)HighFrequencyFactor) return frequency;
        if (wavelength > OriginalContext / (double)LowFrequencyFactor) return frequency / Factor;
        double smooth = (OriginalContext / wavelength - LowFrequencyFactor) / ((double)HighFrequencyFactor - LowFrequencyFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}
