using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

/// <summary>
/// σ and tanh in single precision on any <see cref="ILanes{TSelf}"/>, for the recurrent cells' one pass over a step (each
/// gate's activation, the cell update and its output in registers, where a chain of <c>TensorPrimitives</c> calls makes
/// seven passes over the step and <see cref="System.Numerics.Vector{T}"/>'s own <c>Exp</c> widens to double). e^x by Cody and
/// Waite's reduction x = n·ln 2 + r and Cephes's degree-6 polynomial for e^r; tanh by Cephes's odd polynomial below
/// |x| = 0.625 (no cancellation near 0) and 1 − 2 / (e^{2x} + 1) above. Within 3e-7 relative of the exact functions (2.4e-7 the worst measured)
/// (CellMathTests), on every width alike. Φ and GELU through erfc (Numerical Recipes' erfcc over this e^x): within 1e-6
/// relative for |x| ≤ 1.4, the lower tail's error growing with x²/2 (the rounding of e^(−x²/2)'s argument; ActivationTests).
/// </summary>
internal static class CellMath
{
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    // 127 · ln 2 and −126 · ln 2: n = round(x / ln 2) stays within [−126, 127], where 2^n is a normal float
    private const float ExpMax = 88.02969193111305f, ExpMin = -87.3365447504f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    // (internal: the device kernels' tanh, Dsl.Gpu's DeviceKernels.Tanh, is this polynomial over the device's exp)
    internal const float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f, T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;
    internal const float TanhSmall = 0.625f;
    private const float Shifter = 12582912f; // 1.5 · 2²³

    /// <summary>e^x, x clamped to where the result is a normal float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x) where T : struct, ILanes<T>
    {
        x = T.Clamp(x, ExpMin, ExpMax);
        // n = round(x / ln 2), ties to even, by adding 1.5 · 2²³: in [2²³, 2²⁴) a float's ulp is 1, so the sum is rounded
        // to an integer (ties to even, as Round) and its mantissa holds n, whence the exponent bits of 2^n; no rounding
        // instruction and no float-to-int conversion (a saturating one costs several instructions without AVX-512)
        T shifted = x * T.Create(Log2E) + T.Create(Shifter);
        T n = shifted - T.Create(Shifter);
        T r = T.MultiplyAdd(n, T.Create(-Ln2Hi), x);
        r = T.MultiplyAdd(n, T.Create(-Ln2Lo), r);
        T p = T.MultiplyAdd(T.Create(P0), r, T.Create(P1));
        p = T.MultiplyAdd(p, r, T.Create(P2));
        p = T.MultiplyAdd(p, r, T.Create(P3));
        p = T.MultiplyAdd(p, r, T.Create(P4));
        p = T.MultiplyAdd(p, r, T.Create(P5));
        p = T.MultiplyAdd(p, r * r, r + T.Create(1f));
        return p * T.ExponentFromMantissa(shifted);
    }

    // erfc(z) ≈ t · e^(−z² + C0 + t(C1 + t(C2 + … + t C9))), t = 1 / (1 + z / 2), z ≥ 0: Numerical Recipes' erfcc, fractional
    // error below 1.2e-7 for every z (internal: the device kernels' Φ, Dsl.Gpu's DeviceKernels.NormalCdf, is this over its exp)
    internal const float ErfcC0 = -1.26551223f, ErfcC1 = 1.00002368f, ErfcC2 = 0.37409196f, ErfcC3 = 0.09678418f, ErfcC4 = -0.18628806f,
        ErfcC5 = 0.27886807f, ErfcC6 = -1.13520398f, ErfcC7 = 1.48851587f, ErfcC8 = -0.82215223f, ErfcC9 = 0.17087277f;
    internal const float InvSqrt2 = 0.70710678118654752f, InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>
    /// Φ(x), the standard normal distribution function (1 + erf(x / √2)) / 2, through erfc of z = |x| / √2: 1 − erfc(z) / 2
    /// above 0 and erfc(z) / 2 below, so that the lower tail keeps its relative precision (no 1 − (1 − tiny)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T NormalCdf<T>(T x) where T : struct, ILanes<T>
    {
        T z = T.Max(x, -x) * T.Create(InvSqrt2);
        T t = T.Create(1f) / T.MultiplyAdd(z, T.Create(0.5f), T.Create(1f));
        T p = T.MultiplyAdd(T.Create(ErfcC9), t, T.Create(ErfcC8));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC7));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC6));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC5));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC4));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC3));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC2));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC1));
        p = T.MultiplyAdd(p, t, T.Create(ErfcC0));
        T half = T.Create(0.5f) * t * Exp(p - z * z); // erfc(z) / 2
        return T.SelectPositive(x, T.Create(1f) - half, half);
    }

    /// <summary>GELU(x) = x · Φ(x) (PyTorch's exact <c>nn.GELU()</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Gelu<T>(T x) where T : struct, ILanes<T> => x * NormalCdf(x);

    // Past |x| = 13, e^(−x²/2) is below the normal floats where Exp clamps (it would give 1.2e-38, not 0), so the activations
    // take their limits there: GELU' → Φ (x φ(x) < 1e-36), the tanh form's slope and SiLU's → 1 above and 0 below (SiLU from
    // |x| = 88, where e^−x leaves the normal range), SiLU itself → x · [x > 0]. The device kernels switch at the same points.
    internal const float GeluLimit = 13f, SiluLimit = 88f;

    /// <summary>GELU'(x) = Φ(x) + x · φ(x), φ(x) = e^(−x²/2) / √(2π).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluDerivative<T>(T x) where T : struct, ILanes<T>
    {
        T cdf = NormalCdf(x);
        return T.SelectAbsLess(x, GeluLimit, T.MultiplyAdd(x * T.Create(InvSqrt2Pi), Exp(x * x * T.Create(-0.5f)), cdf), cdf);
    }

    internal const float GeluTanhScale = 0.79788456080286536f, GeluTanhCube = 0.044715f; // √(2/π), and the cube's weight

    /// <summary>GELU's tanh approximation x (1 + tanh u) / 2, u = √(2/π) (x + 0.044715 x³) (<c>nn.GELU(approximate='tanh')</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluTanh<T>(T x) where T : struct, ILanes<T>
    {
        T t = Tanh(T.Create(GeluTanhScale) * T.MultiplyAdd(T.Create(GeluTanhCube) * x * x, x, x));
        return T.Create(0.5f) * x * (T.Create(1f) + t);
    }

    /// <summary>Its derivative, (1 + t) / 2 + x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²) / 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluTanhDerivative<T>(T x) where T : struct, ILanes<T>
    {
        T x2 = x * x;
        T t = Tanh(T.Create(GeluTanhScale) * T.MultiplyAdd(T.Create(GeluTanhCube) * x2, x, x));
        T du = T.Create(GeluTanhScale) * T.MultiplyAdd(T.Create(3f * GeluTanhCube), x2, T.Create(1f));
        return T.SelectAbsLess(x, GeluLimit, T.Create(0.5f) * T.MultiplyAdd(x * (T.Create(1f) - t * t), du, T.Create(1f) + t), Step(x));
    }

    /// <summary>SiLU x σ(x) (<c>nn.SiLU()</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Silu<T>(T x) where T : struct, ILanes<T> => x * T.SelectAbsLess(x, SiluLimit, Sigmoid(x), Step(x));

    /// <summary>Its derivative, σ(x) (1 + x (1 − σ(x))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SiluDerivative<T>(T x) where T : struct, ILanes<T>
    {
        T s = Sigmoid(x);
        return T.SelectAbsLess(x, SiluLimit, s * T.MultiplyAdd(x, T.Create(1f) - s, T.Create(1f)), Step(x));
    }

    /// <summary>1 above 0, 0 elsewhere, and NaN for NaN (x · 0 keeps it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Step<T>(T x) where T : struct, ILanes<T> => T.SelectPositive(x, T.Create(1f), x * T.Create(0f));

    /// <summary>σ(x) = 1 / (1 + e^−x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : struct, ILanes<T> => T.Create(1f) / (T.Create(1f) + Exp(-x));

    /// <summary>tanh x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : struct, ILanes<T>
    {
        T z = x * x;
        T p = T.MultiplyAdd(T.Create(T0), z, T.Create(T1));
        p = T.MultiplyAdd(p, z, T.Create(T2));
        p = T.MultiplyAdd(p, z, T.Create(T3));
        p = T.MultiplyAdd(p, z, T.Create(T4));
        T small = T.MultiplyAdd(p * z, x, x);
        T large = T.Create(1f) - T.Create(2f) / (Exp(x + x) + T.Create(1f));
        return T.SelectAbsLess(x, TanhSmall, small, large);
    }

    /// <summary>
    /// e = exp(z − max), lane by lane on every vector width (<see cref="Exp{T}(T)"/>, 0 where z − max is below −87.3: no
    /// subnormals), and Σ e in double precision. <paramref name="e"/> may be <paramref name="z"/> itself.
    /// </summary>
    public static double ShiftedExp(ReadOnlySpan<float> z, float max, Span<float> e)
    {
        ScaledShiftedExp(z, 1f, max, e);
        double sum = 0;
        foreach (float v in e.Slice(0, z.Length)) sum += v;
        return sum;
    }

    /// <summary>
    /// e = exp(scale · z − max) as <see cref="ShiftedExp"/> (scale · z rounded first, then the shift: a softmax of scaled
    /// scores), and Σ e in float lanes (a row of attention scores: the exact sum of a few lanes' partial sums).
    /// </summary>
    public static float ScaledShiftedExp(ReadOnlySpan<float> z, float scale, float max, Span<float> e)
    {
        if (e.Length < z.Length) throw new ArgumentException($"ShiftedExp: {z.Length} values need as many outputs, got {e.Length}.", nameof(e));
        var kernel = new ShiftedExpKernel { Z = ref MemoryMarshal.GetReference(z), E = ref MemoryMarshal.GetReference(e), Count = z.Length, Scale = scale, Max = max };
        LaneLoop.Run(ref kernel);
        return kernel.Sum;
    }

    private ref struct ShiftedExpKernel : ILaneKernel
    {
        public ref float Z, E;
        public int Count;
        public float Scale, Max, Sum;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float z = ref Z, e = ref E;
            T scale = T.Create(Scale), max = T.Create(Max);
            T min = T.Create(ExpMin), zero = T.Create(0f), sum = zero;
            for (; j <= Count - T.Count; j += T.Count)
            {
                // below e^ExpMin (the smallest normal float) the exponential is 0, as torch.softmax's underflow gives
                // (e^x alone clamps there): a score of −∞ or far below the row's maximum gets no weight at all
                T v = T.Load(ref z, j) * scale - max;
                T ev = T.SelectPositive(v - min, CellMath.Exp(v), zero);
                T.Store(ev, ref e, j);
                sum += ev;
            }
            Sum += T.Sum(sum);
            return j;
        }
    }

    /// <summary>The scalar σ, as every width computes it.</summary>
    public static float Sigmoid(float x) => Sigmoid(new Lanes1(x)).Value;

    /// <summary>The scalar tanh, as every width computes it.</summary>
    public static float Tanh(float x) => Tanh(new Lanes1(x)).Value;

    /// <summary>The scalar e^x, as every width computes it.</summary>
    public static float Exp(float x) => Exp(new Lanes1(x)).Value;
}
