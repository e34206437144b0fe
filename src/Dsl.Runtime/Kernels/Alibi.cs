using System;

namespace Dsl.Kernels;

/// <summary>
/// ALiBi, attention with linear biases (Press et al. 2022; BLOOM's, MPT's, JinaBERT's): no position is added to the inputs;
/// each head h adds −m_h · |j − i| to its score of key j for query i, a penalty that grows with the distance at a slope of the
/// head's own. With n heads a power of two the slopes are 2^(−8/n), 2^(−16/n), … 2^(−8) (a geometric sequence from 2^(−8/n)); for
/// another n, the slopes of the power of two below n, then every other slope of twice that power, as many as are missing (the
/// paper's <c>get_slopes</c>). A causal query sees only −m_h · (i − j), which differs from BLOOM's m_h · j and MPT's m_h · (j −
/// (T − 1)) by a constant along each row: the same softmax. The attention kernels read it by distance, as a relative position
/// bias: <see cref="Expand"/> writes each head's bias for the distances −(T − 1) … T − 1; nothing learns, nothing goes back.
/// </summary>
public static class AlibiKernel
{
    /// <summary>Head <paramref name="head"/>'s slope among <paramref name="heads"/> heads, as the paper's <c>get_slopes</c> computes it (in double).</summary>
    public static double Slope(int head, int heads)
    {
        if (heads < 1 || head < 0 || head >= heads)
            throw new ArgumentOutOfRangeException(nameof(head), $"Alibi: head {head} of {heads}: heads are 1 or more, the head one of them.");
        int power = 1 << (int)Math.Floor(Math.Log2(heads));
        // the power of two's own slopes first, then every other slope of twice that power (the odd ones: 1, 3, 5, …)
        return head < power ? PowerOfTwoSlope(head, power) : PowerOfTwoSlope(2 * (head - power), 2 * power);
    }

    /// <summary>The slope of head <paramref name="head"/> of <paramref name="heads"/> (a power of two): start · ratio^head, start = ratio = 2^(−8/heads).</summary>
    private static double PowerOfTwoSlope(int head, int heads)
    {
        double start = Math.Pow(2, -Math.Pow(2, -(Math.Log2(heads) - 3)));
        return start * Math.Pow(start, head);
    }

    /// <summary>
    /// Writes <paramref name="bias"/> [heads, 2T − 1]: head h's −m_h · |j − i| at distance j − i = o − (T − 1) in column o, the
    /// layout <see cref="AttentionKernel.Forward(int, int, int, int, float, bool, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, float, ReadOnlySpan{float})"/>
    /// reads (its <c>positionBias</c>), each value rounded once from double; each slope times <paramref name="alibiScale"/> (falcon-rw's
    /// ALiBi, added before the scores' scale: that scale; 1 leaves the slopes as they are).
    /// </summary>
    public static void Expand(int steps, int heads, Span<float> bias, float alibiScale = 1f)
    {
        if (steps < 0 || heads < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Alibi: steps {steps} are 0 or more, heads {heads} 1 or more.");
        if (!(alibiScale > 0f) || float.IsInfinity(alibiScale))
            throw new ArgumentOutOfRangeException(nameof(alibiScale), alibiScale, "Alibi: the slopes' scale is a positive finite number.");
        int n = RelativePositionKernel.Distances(steps);
        AttentionKernel.RequireLength(bias.Length, (long)heads * n, "bias");
        for (int h = 0; h < heads; h++)
        {
            double slope = Slope(h, heads) * alibiScale;
            for (int o = 0; o < n; o++) bias[h * n + o] = (float)(-slope * Math.Abs(o - (steps - 1)));
        }
    }
}
