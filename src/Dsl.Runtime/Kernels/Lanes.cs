using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// The lanes of one vector width, as a struct the element-wise kernels are written once against and the JIT specialises
/// (TensorPrimitives' operator-struct pattern): <see cref="Lanes512"/>, <see cref="Lanes256"/>, <see cref="Lanes128"/> and
/// <see cref="Lanes1"/>, the scalar reference, which runs the same code one value at a time. A kernel runs its main loop on
/// the widest accelerated width and its tail on the narrower ones (<see cref="LaneLoop"/>), so that a value's result
/// does not depend on where in a row it lies any more than the formulas do.
/// </summary>
internal interface ILanes<TSelf> where TSelf : struct, ILanes<TSelf>
{
    /// <summary>Values per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Whether this process accelerates the width (always true of <see cref="Lanes1"/>).</summary>
    static abstract bool IsAccelerated { get; }

    static abstract TSelf Load(ref float start, int offset);

    /// <summary>
    /// 2 · <see cref="Count"/> bfloat16 values from <paramref name="p"/> widened as two vectors, the even-numbered values in
    /// <paramref name="even"/> and the odd ones in <paramref name="odd"/> (each pair of 16-bit values one 32-bit lane: a shift
    /// and a mask, no widening shuffle).
    /// </summary>
    static abstract unsafe void LoadBFloat16Pairs(ushort* p, out TSelf even, out TSelf odd);

    /// <summary><see cref="Count"/> 8-bit integers from <paramref name="p"/> as floats (exact: sign-extended, then converted).</summary>
    static abstract unsafe TSelf LoadInt8(sbyte* p);

    /// <summary>
    /// <see cref="Count"/> bytes of 4-bit values from <paramref name="p"/> (<see cref="Int4"/>'s layout) as two vectors of floats:
    /// each byte's low four bits in <paramref name="low"/> and its high four in <paramref name="high"/>, each q as it is (0 … 15).
    /// </summary>
    static abstract unsafe void LoadInt4(byte* p, out TSelf low, out TSelf high);
    static abstract void Store(TSelf value, ref float start, int offset);
    static abstract TSelf Create(float value);

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);

    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>The square root, correctly rounded (as <see cref="MathF.Sqrt"/>).</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>The sum of the lanes.</summary>
    static abstract float Sum(TSelf x);

    /// <summary>
    /// The sums of four vectors' lanes, [Σa, Σb, Σc, Σd], folded together (halves added, then pairs): a few shuffles for
    /// the four instead of a full reduction each. The lanes are added in another order than <see cref="Sum"/>'s.
    /// </summary>
    static abstract Vector128<float> SumFour(TSelf a, TSelf b, TSelf c, TSelf d);

    /// <summary>a·b + c, fused where the hardware has the instruction (never a software fallback).</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>
    /// x clamped to [lo, hi] with the hardware's own min and max (one instruction each: .NET's Min and Max order NaNs and
    /// signed zeros as IEEE 754-2019, which costs compares and blends without AVX-512), the operands in the order that
    /// keeps a NaN x a NaN.
    /// </summary>
    static abstract TSelf Clamp(TSelf x, float lo, float hi);

    /// <summary>
    /// 2^n from the float n + 1.5 · 2²³ (n integral in [−126, 127]), whose mantissa holds n: its bits plus 127, shifted
    /// into the exponent field (see <see cref="CellMath"/>'s e^x).
    /// </summary>
    static abstract TSelf ExponentFromMantissa(TSelf shifted);

    /// <summary>|x| &lt; limit ? a : b, lane by lane.</summary>
    static abstract TSelf SelectAbsLess(TSelf x, float limit, TSelf a, TSelf b);

    /// <summary>x &gt; 0 ? a : b, lane by lane (a NaN x takes b).</summary>
    static abstract TSelf SelectPositive(TSelf x, TSelf a, TSelf b);

    /// <summary>x ≤ 0 ? a : b, lane by lane (a NaN x takes b).</summary>
    static abstract TSelf SelectAtMostZero(TSelf x, TSelf a, TSelf b);
}

internal readonly struct Lanes512(Vector512<float> v) : ILanes<Lanes512>
{
    private readonly Vector512<float> _v = v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<float>.Count; }
    public static bool IsAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512.IsHardwareAccelerated; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float start, int offset) => new(Unsafe.As<float, Vector512<float>>(ref Unsafe.Add(ref start, offset)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadBFloat16Pairs(ushort* p, out Lanes512 even, out Lanes512 odd)
    {
        Vector512<uint> v = Vector512.Load((uint*)p);
        (even, odd) = (new((v << 16).AsSingle()), new((v & Vector512.Create(0xFFFF_0000u)).AsSingle()));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadInt4(byte* p, out Lanes512 low, out Lanes512 high)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<int> x = Avx512F.ConvertToVector512Int32(Vector128.Load(p));
            (low, high) = (new(Vector512.ConvertToSingle(x & Vector512.Create(15))), new(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(x, 4))));
            return;
        }
        Lanes256.LoadInt4(p, out Lanes256 l0, out Lanes256 h0);
        Lanes256.LoadInt4(p + 8, out Lanes256 l1, out Lanes256 h1);
        (low, high) = (new(Vector512.Create(l0.Vector, l1.Vector)), new(Vector512.Create(h0.Vector, h1.Vector)));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lanes512 LoadInt8(sbyte* p) => Avx512F.IsSupported
        ? new(Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(p))))
        : new(Vector512.Create(Lanes256.LoadInt8(p).Vector, Lanes256.LoadInt8(p + 8).Vector));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes512 value, ref float start, int offset) => Unsafe.As<float, Vector512<float>>(ref Unsafe.Add(ref start, offset)) = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator /(Lanes512 a, Lanes512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sqrt(Lanes512 x) => new(Vector512.Sqrt(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes512 x) => Vector512.Sum(x._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SumFour(Lanes512 a, Lanes512 b, Lanes512 c, Lanes512 d) =>
        Lanes256.SumFour(new(a._v.GetLower() + a._v.GetUpper()), new(b._v.GetLower() + b._v.GetUpper()),
            new(c._v.GetLower() + c._v.GetUpper()), new(d._v.GetLower() + d._v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Clamp(Lanes512 x, float lo, float hi) =>
        new(Vector512.MinNative(Vector512.Create(hi), Vector512.MaxNative(Vector512.Create(lo), x._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 ExponentFromMantissa(Lanes512 shifted) => new(((shifted._v.AsInt32() + Vector512.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 SelectAbsLess(Lanes512 x, float limit, Lanes512 a, Lanes512 b) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(x._v), Vector512.Create(limit)), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 SelectPositive(Lanes512 x, Lanes512 a, Lanes512 b) => new(Vector512.ConditionalSelect(Vector512.GreaterThan(x._v, Vector512<float>.Zero), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 SelectAtMostZero(Lanes512 x, Lanes512 a, Lanes512 b) => new(Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x._v, Vector512<float>.Zero), a._v, b._v));
}

internal readonly struct Lanes256(Vector256<float> v) : ILanes<Lanes256>
{
    private readonly Vector256<float> _v = v;

    /// <summary>The vector.</summary>
    internal Vector256<float> Vector => _v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<float>.Count; }
    public static bool IsAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256.IsHardwareAccelerated; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float start, int offset) => new(Unsafe.As<float, Vector256<float>>(ref Unsafe.Add(ref start, offset)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadBFloat16Pairs(ushort* p, out Lanes256 even, out Lanes256 odd)
    {
        Vector256<uint> v = Vector256.Load((uint*)p);
        (even, odd) = (new((v << 16).AsSingle()), new((v & Vector256.Create(0xFFFF_0000u)).AsSingle()));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadInt4(byte* p, out Lanes256 low, out Lanes256 high)
    {
        if (Avx2.IsSupported)
        {
            Vector256<int> x = Avx2.ConvertToVector256Int32(p);
            (low, high) = (new(Vector256.ConvertToSingle(x & Vector256.Create(15))), new(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(x, 4))));
            return;
        }
        Lanes128.LoadInt4(p, out Lanes128 l0, out Lanes128 h0);
        Lanes128.LoadInt4(p + 4, out Lanes128 l1, out Lanes128 h1);
        (low, high) = (new(Vector256.Create(l0.Vector, l1.Vector)), new(Vector256.Create(h0.Vector, h1.Vector)));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lanes256 LoadInt8(sbyte* p) => Avx2.IsSupported
        ? new(Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(p)))
        : new(Vector256.Create(Lanes128.LoadInt8(p).Vector, Lanes128.LoadInt8(p + 4).Vector));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes256 value, ref float start, int offset) => Unsafe.As<float, Vector256<float>>(ref Unsafe.Add(ref start, offset)) = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator /(Lanes256 a, Lanes256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sqrt(Lanes256 x) => new(Vector256.Sqrt(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes256 x) => Vector256.Sum(x._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SumFour(Lanes256 a, Lanes256 b, Lanes256 c, Lanes256 d) =>
        Lanes128.SumFour(new(a._v.GetLower() + a._v.GetUpper()), new(b._v.GetLower() + b._v.GetUpper()),
            new(c._v.GetLower() + c._v.GetUpper()), new(d._v.GetLower() + d._v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 c) => new(Madd.Of(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Clamp(Lanes256 x, float lo, float hi) =>
        new(Vector256.MinNative(Vector256.Create(hi), Vector256.MaxNative(Vector256.Create(lo), x._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 ExponentFromMantissa(Lanes256 shifted) => new(((shifted._v.AsInt32() + Vector256.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 SelectAbsLess(Lanes256 x, float limit, Lanes256 a, Lanes256 b) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x._v), Vector256.Create(limit)), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 SelectPositive(Lanes256 x, Lanes256 a, Lanes256 b) => new(Vector256.ConditionalSelect(Vector256.GreaterThan(x._v, Vector256<float>.Zero), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 SelectAtMostZero(Lanes256 x, Lanes256 a, Lanes256 b) => new(Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x._v, Vector256<float>.Zero), a._v, b._v));
}

internal readonly struct Lanes128(Vector128<float> v) : ILanes<Lanes128>
{
    private readonly Vector128<float> _v = v;

    /// <summary>The vector.</summary>
    internal Vector128<float> Vector => _v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<float>.Count; }
    public static bool IsAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128.IsHardwareAccelerated; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Load(ref float start, int offset) => new(Unsafe.As<float, Vector128<float>>(ref Unsafe.Add(ref start, offset)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadBFloat16Pairs(ushort* p, out Lanes128 even, out Lanes128 odd)
    {
        Vector128<uint> v = Vector128.Load((uint*)p);
        (even, odd) = (new((v << 16).AsSingle()), new((v & Vector128.Create(0xFFFF_0000u)).AsSingle()));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadInt4(byte* p, out Lanes128 low, out Lanes128 high)
    {
        (Vector128<float> l, Vector128<float> h) = Int4.Nibbles4(p);
        (low, high) = (new(l), new(h));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lanes128 LoadInt8(sbyte* p) => new(Int8.Widen4(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes128 value, ref float start, int offset) => Unsafe.As<float, Vector128<float>>(ref Unsafe.Add(ref start, offset)) = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator -(Lanes128 a, Lanes128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator -(Lanes128 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator /(Lanes128 a, Lanes128 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Sqrt(Lanes128 x) => new(Vector128.Sqrt(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes128 x) => Vector128.Sum(x._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SumFour(Lanes128 a, Lanes128 b, Lanes128 c, Lanes128 d)
    {
        // pairwise adds of two vectors: [a0 + a1, a2 + a3, b0 + b1, b2 + b3], twice
        if (Sse3.IsSupported) return Sse3.HorizontalAdd(Sse3.HorizontalAdd(a._v, b._v), Sse3.HorizontalAdd(c._v, d._v));
        if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a._v, b._v), AdvSimd.Arm64.AddPairwise(c._v, d._v));
        return Vector128.Create(Vector128.Sum(a._v), Vector128.Sum(b._v), Vector128.Sum(c._v), Vector128.Sum(d._v));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 MultiplyAdd(Lanes128 a, Lanes128 b, Lanes128 c) => new(Madd.Of(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Clamp(Lanes128 x, float lo, float hi) =>
        new(Vector128.MinNative(Vector128.Create(hi), Vector128.MaxNative(Vector128.Create(lo), x._v)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 ExponentFromMantissa(Lanes128 shifted) => new(((shifted._v.AsInt32() + Vector128.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 SelectAbsLess(Lanes128 x, float limit, Lanes128 a, Lanes128 b) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(Vector128.Abs(x._v), Vector128.Create(limit)), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 SelectPositive(Lanes128 x, Lanes128 a, Lanes128 b) => new(Vector128.ConditionalSelect(Vector128.GreaterThan(x._v, Vector128<float>.Zero), a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 SelectAtMostZero(Lanes128 x, Lanes128 a, Lanes128 b) => new(Vector128.ConditionalSelect(Vector128.LessThanOrEqual(x._v, Vector128<float>.Zero), a._v, b._v));
}

/// <summary>One value: the scalar reference and every tail.</summary>
internal readonly struct Lanes1(float v) : ILanes<Lanes1>
{
    private readonly float _v = v;

    /// <summary>The value.</summary>
    public float Value => _v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 1; }
    public static bool IsAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => true; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Load(ref float start, int offset) => new(Unsafe.Add(ref start, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadBFloat16Pairs(ushort* p, out Lanes1 even, out Lanes1 odd) => (even, odd) = (new(BFloat16.ToFloat(p[0])), new(BFloat16.ToFloat(p[1])));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LoadInt4(byte* p, out Lanes1 low, out Lanes1 high) => (low, high) = (new(*p & 15), new(*p >> 4));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lanes1 LoadInt8(sbyte* p) => new(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes1 value, ref float start, int offset) => Unsafe.Add(ref start, offset) = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Create(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator +(Lanes1 a, Lanes1 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator -(Lanes1 a, Lanes1 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator -(Lanes1 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator *(Lanes1 a, Lanes1 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator /(Lanes1 a, Lanes1 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Max(Lanes1 a, Lanes1 b) => new(MathF.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Sqrt(Lanes1 x) => new(MathF.Sqrt(x._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes1 x) => x._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SumFour(Lanes1 a, Lanes1 b, Lanes1 c, Lanes1 d) => Vector128.Create(a._v, b._v, c._v, d._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 MultiplyAdd(Lanes1 a, Lanes1 b, Lanes1 c) => new(Fused ? MathF.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Clamp(Lanes1 x, float lo, float hi) => new(MathF.Min(MathF.Max(x._v, lo), hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 ExponentFromMantissa(Lanes1 shifted) => new(BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(shifted._v) + 127) << 23));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 SelectAbsLess(Lanes1 x, float limit, Lanes1 a, Lanes1 b) => MathF.Abs(x._v) < limit ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 SelectPositive(Lanes1 x, Lanes1 a, Lanes1 b) => x._v > 0f ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 SelectAtMostZero(Lanes1 x, Lanes1 a, Lanes1 b) => x._v <= 0f ? a : b;

    private static bool Fused => Fma.IsSupported || AdvSimd.IsSupported;
}

/// <summary>An element-wise kernel over a row, written once for any <see cref="ILanes{TSelf}"/>: runs from value <c>j</c> while a whole vector fits, and says where it stopped.</summary>
internal interface ILaneKernel
{
    int Run<T>(int j) where T : struct, ILanes<T>;
}

/// <summary>Runs a row's kernel on the widest accelerated width, then its tail on each narrower one, the last values one at a time.</summary>
internal static class LaneLoop
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<K>(ref K kernel) where K : ILaneKernel, allows ref struct
    {
        int j = 0;
        if (Lanes512.IsAccelerated) j = kernel.Run<Lanes512>(j);
        if (Lanes256.IsAccelerated) j = kernel.Run<Lanes256>(j);
        if (Lanes128.IsAccelerated) j = kernel.Run<Lanes128>(j);
        kernel.Run<Lanes1>(j);
    }
}
