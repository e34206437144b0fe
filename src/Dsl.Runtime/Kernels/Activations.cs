using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

/// <summary>
/// Element-wise non-linearities and their derivatives expressed through their outputs
/// (what back-propagation keeps): σ' = y(1 − y), tanh' = 1 − y², relu' = [y &gt; 0]; GELU's and SiLU's through their input,
/// which their output does not determine (<see cref="FromInput"/>, <see cref="BackwardFromInput"/>).
/// Span versions go through <see cref="TensorPrimitives"/>; scalar ones are for the generated cell loops.
/// </summary>
public static class Activations
{
    /// <summary>Logistic sigmoid of one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Rectified linear unit of one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => x <= 0f ? 0f : x; // NaN stays NaN, as torch.relu and the span form keep it

    /// <summary>
    /// Softmax in place, shifted by the maximum first as <c>torch.softmax</c> is (TensorPrimitives.SoftMax exponentiates the
    /// values as they are, so a score above ~88 overflows to ∞ and the row becomes NaN).
    /// </summary>
    public static void StableSoftmax(Span<float> x)
    {
        if (x.IsEmpty) return;
        float max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max) || float.IsNaN(max))
        {
            TensorPrimitives.SoftMax(x, x);
            return;
        }
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.SoftMax(x, x);
    }

    /// <summary>
    /// softmax(scale · x) in place, as <c>torch.softmax(x * scale)</c> (attention scores): the maximum of x scaled, then one
    /// pass of exp(scale · x − max) and its sum (<see cref="CellMath"/>'s e^x on every width), then the division; a row with
    /// a NaN or an infinity, or a scale that is not positive, takes <see cref="StableSoftmax"/> after the scaling.
    /// </summary>
    public static void ScaledSoftmax(Span<float> x, float scale)
    {
        if (x.IsEmpty) return;
        float max = TensorPrimitives.Max(x) * scale;
        if (!(scale > 0f) || !float.IsFinite(max))
        {
            TensorPrimitives.Multiply(x, scale, x);
            StableSoftmax(x);
            return;
        }
        // scale · x ≤ max element by element (rounding is monotonic), so each exponential is at most 1 and the sum at least 1
        float sum = CellMath.ScaledShiftedExp(x, scale, max, x);
        TensorPrimitives.Divide(x, sum, x);
    }

    /// <summary>
    /// A softmax row's step back, in place over its first <paramref name="valid"/> values: d(scores) = scale · p ⊙ (d(p) −
    /// Σ d(p) ⊙ p) from d(p) in <paramref name="grad"/> and the softmax <paramref name="p"/>; zero beyond
    /// <paramref name="valid"/> (masked or padded keys). In vectors, the same float operations as the formula in order.
    /// </summary>
    public static void SoftmaxBackward(Span<float> grad, ReadOnlySpan<float> p, int valid, float scale)
    {
        Span<float> g = grad.Slice(0, valid);
        ReadOnlySpan<float> pv = p.Slice(0, valid);
        float dot = TensorPrimitives.Dot(g, pv);
        // ((g − dot) · p) · scale in one pass: the three passes it was, their operations in the same order on every lane
        var kernel = new SoftmaxBackwardKernel { G = ref MemoryMarshal.GetReference(g), P = ref MemoryMarshal.GetReference(pv), Length = valid, Dot = dot, Scale = scale };
        LaneLoop.Run(ref kernel);
        grad.Slice(valid).Clear();
    }

    private ref struct SoftmaxBackwardKernel : ILaneKernel
    {
        public ref float G, P;
        public int Length;
        public float Dot, Scale;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref G, p = ref P;
            T dot = T.Create(Dot), scale = T.Create(Scale);
            for (; j <= Length - T.Count; j += T.Count) T.Store((T.Load(ref g, j) - dot) * T.Load(ref p, j) * scale, ref g, j);
            return j;
        }
    }

    /// <summary>
    /// Soft-capping in place, x = cap · tanh(x / cap): Gemma 2's <c>final_logit_softcapping</c> on the logits (a Dense layer's
    /// <c>SoftCap</c>). Values well below the cap pass nearly unchanged; every value stays within ±cap. tanh as the cells compute
    /// it (<see cref="CellMath"/>'s, on every vector width and on the device alike).
    /// </summary>
    public static void SoftCap(float cap, Span<float> x)
    {
        RequireSoftCap(cap);
        Cap(x, 1f / cap, cap);
    }

    /// <summary>Back through <see cref="SoftCap"/>: dy ⊙= 1 − (y / cap)², from the capped output <paramref name="y"/>.</summary>
    public static void SoftCapBackward(float cap, ReadOnlySpan<float> y, Span<float> dy)
    {
        RequireSoftCap(cap);
        if (y.Length != dy.Length) throw new ArgumentException($"SoftCap backward: y has {y.Length} values, dy {dy.Length}.", nameof(dy));
        var kernel = new CapKernel { X = ref MemoryMarshal.GetReference(y), Out = ref MemoryMarshal.GetReference(dy), Length = dy.Length, Scale = 1f / cap, Slope = true, FromOutput = true };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>y = x · <paramref name="factor"/> (a <c>[Scale]</c> layer's pass, and its step back on the gradient).</summary>
    public static void Scale(float factor, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"Scale: x has {x.Length} values, y {y.Length}.", nameof(y));
        TensorPrimitives.Multiply(x, factor, y);
    }

    /// <summary>
    /// Clipping in place, x = clamp(x, −limit, limit), NaN kept NaN (PyTorch's <c>clamp</c>: OLMo's <c>clip_qkv</c> on the projected
    /// queries, keys and values); where <paramref name="kept"/> is not empty it receives each value's slope, 1 where |x| ≤ limit
    /// and 0 where x was clipped (or NaN), which the step back multiplies the gradient by.
    /// </summary>
    public static void Clip(float limit, Span<float> x, Span<float> kept)
    {
        RequireClip(limit);
        if (!kept.IsEmpty && kept.Length != x.Length) throw new ArgumentException($"Clip: x has {x.Length} values, kept {kept.Length}.", nameof(kept));
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<float> high = new(limit), low = -high;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> v = new(x[i..]);
                if (!kept.IsEmpty) Vector.ConditionalSelect(Vector.LessThanOrEqual(Vector.Abs(v), high), Vector<float>.One, Vector<float>.Zero).CopyTo(kept[i..]);
                // (comparisons with a NaN are false: it stays)
                Vector.ConditionalSelect(Vector.GreaterThan(v, high), high, Vector.ConditionalSelect(Vector.LessThan(v, low), low, v)).CopyTo(x[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            if (!kept.IsEmpty) kept[i] = MathF.Abs(v) <= limit ? 1f : 0f;
            x[i] = v > limit ? limit : v < -limit ? -limit : v;
        }
    }

    /// <summary>Refuses a clipping limit that is not a positive finite number.</summary>
    internal static void RequireClip(float limit)
    {
        if (!(limit > 0f) || float.IsInfinity(limit))
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Clip: the limit is a positive finite number.");
    }

    /// <summary>A soft cap is a positive finite number whose inverse is finite too (the kernels divide by it): the layer's and the attention kernels' check.</summary>
    internal static bool IsSoftCap(float cap) => cap > 0f && float.IsFinite(cap) && float.IsFinite(1f / cap);

    /// <summary>Refuses a cap that is not <see cref="IsSoftCap"/>.</summary>
    internal static void RequireSoftCap(float cap)
    {
        if (!IsSoftCap(cap))
            throw new ArgumentOutOfRangeException(nameof(cap), cap, "SoftCap: the cap is a positive finite number (whose inverse is finite too).");
    }

    /// <summary>
    /// x = cap · tanh(x · <paramref name="scale"/>) in place (<paramref name="scale"/> folds the 1/cap with a score scale: Gemma 2's
    /// attention scores, cap · tanh(q·k · s / cap)).
    /// </summary>
    internal static void Cap(Span<float> x, float scale, float cap)
    {
        var kernel = new CapKernel { X = ref MemoryMarshal.GetReference(x), Out = ref MemoryMarshal.GetReference(x), Length = x.Length, Scale = scale, Cap = cap };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// grad ⊙= 1 − tanh²(raw · <paramref name="scale"/>): the slope of <see cref="Cap"/> (less its factor cap · scale) at the
    /// values before it, <paramref name="raw"/> (the attention kernels' step back recomputes them).
    /// </summary>
    internal static void CapSlope(ReadOnlySpan<float> raw, float scale, Span<float> grad)
    {
        var kernel = new CapKernel { X = ref MemoryMarshal.GetReference(raw), Out = ref MemoryMarshal.GetReference(grad), Length = grad.Length, Scale = scale, Slope = true };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// t = tanh(X · Scale) (or, <see cref="FromOutput"/>, t = X · Scale: X is the capped output); forward Out = Cap · t, back
    /// (<see cref="Slope"/>) Out ⊙= 1 − t².
    /// </summary>
    private ref struct CapKernel : ILaneKernel
    {
        public ref float X, Out;
        public int Length;
        public float Scale, Cap;
        public bool Slope, FromOutput;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float x = ref X, o = ref Out;
            T scale = T.Create(Scale), cap = T.Create(Cap), one = T.Create(1f);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T u = T.Load(ref x, j) * scale, t = FromOutput ? u : CellMath.Tanh(u);
                T.Store(Slope ? T.Load(ref o, j) * (one - t * t) : cap * t, ref o, j);
            }
            return j;
        }
    }

    /// <summary>Applies <paramref name="kind"/> in place.</summary>
    public static void Apply(Activation kind, Span<float> x)
    {
        switch (kind)
        {
            case Activation.None: break;
            case Activation.Tanh: TensorPrimitives.Tanh(x, x); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(x, x); break;
            case Activation.Relu: TensorPrimitives.Max(x, 0f, x); break;
            case Activation.Gelu or Activation.GeluTanh or Activation.Silu: Apply(kind, x, x); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>Whether <paramref name="kind"/>'s derivative needs its input (GELU, its tanh form, SiLU), rather than its output.</summary>
    public static bool FromInput(Activation kind) => kind is Activation.Gelu or Activation.GeluTanh or Activation.Silu;

    /// <summary><paramref name="y"/> = <paramref name="kind"/>(<paramref name="x"/>), for an activation whose step back reads its input (<see cref="FromInput"/>).</summary>
    public static void Apply(Activation kind, ReadOnlySpan<float> x, Span<float> y)
    {
        if (!FromInput(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "only GELU and SiLU keep their input apart");
        if (y.Length != x.Length) throw new ArgumentException($"Activation: x has {x.Length} values, y {y.Length}.", nameof(y));
        Run(kind, x, y, backward: false);
    }

    /// <summary>
    /// dy ⊙= <paramref name="kind"/>'(x) in place, from the activation's input <paramref name="x"/> (GELU: Φ(x) + x φ(x)),
    /// on the widest vectors and the scalar lanes alike.
    /// </summary>
    public static void BackwardFromInput(Activation kind, ReadOnlySpan<float> x, Span<float> dy)
    {
        if (!FromInput(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "only GELU and SiLU step back from their input");
        if (x.Length != dy.Length) throw new ArgumentException($"Activation backward: x has {x.Length} values, dy {dy.Length}.", nameof(dy));
        Run(kind, x, dy, backward: true);
    }

    private static void Run(Activation kind, ReadOnlySpan<float> x, Span<float> output, bool backward)
    {
        switch (kind)
        {
            case Activation.Gelu: Run<Gelu>(x, output, backward); break;
            case Activation.GeluTanh: Run<GeluTanh>(x, output, backward); break;
            default: Run<Silu>(x, output, backward); break;
        }
    }

    private static void Run<F>(ReadOnlySpan<float> x, Span<float> output, bool backward) where F : struct, IFromInput
    {
        var kernel = new FromInputKernel<F> { X = ref MemoryMarshal.GetReference(x), Out = ref MemoryMarshal.GetReference(output), Length = output.Length, Backward = backward };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>An activation that steps back through its input: its value and its derivative at x.</summary>
    private interface IFromInput
    {
        static abstract T Value<T>(T x) where T : struct, ILanes<T>;

        static abstract T Derivative<T>(T x) where T : struct, ILanes<T>;
    }

    private struct Gelu : IFromInput
    {
        public static T Value<T>(T x) where T : struct, ILanes<T> => CellMath.Gelu(x);

        public static T Derivative<T>(T x) where T : struct, ILanes<T> => CellMath.GeluDerivative(x);
    }

    private struct GeluTanh : IFromInput
    {
        public static T Value<T>(T x) where T : struct, ILanes<T> => CellMath.GeluTanh(x);

        public static T Derivative<T>(T x) where T : struct, ILanes<T> => CellMath.GeluTanhDerivative(x);
    }

    private struct Silu : IFromInput
    {
        public static T Value<T>(T x) where T : struct, ILanes<T> => CellMath.Silu(x);

        public static T Derivative<T>(T x) where T : struct, ILanes<T> => CellMath.SiluDerivative(x);
    }

    /// <summary>F of X into Out, or (<see cref="Backward"/>) Out ⊙= F'(X).</summary>
    private ref struct FromInputKernel<F> : ILaneKernel where F : struct, IFromInput
    {
        public ref float X, Out;
        public int Length;
        public bool Backward;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float x = ref X, o = ref Out;
            int n = Length;
            if (Backward)
                for (; j <= n - T.Count; j += T.Count) T.Store(T.Load(ref o, j) * F.Derivative(T.Load(ref x, j)), ref o, j);
            else
                for (; j <= n - T.Count; j += T.Count) T.Store(F.Value(T.Load(ref x, j)), ref o, j);
            return j;
        }
    }

    /// <summary>
    /// Turns the gradient with respect to an activation's output <paramref name="y"/> into the gradient
    /// with respect to its input, in place in <paramref name="dy"/>: one pass on the widest vectors, the scalar lanes on the
    /// tail (<see cref="LaneLoop"/>), each lane the same float operations as <see cref="BackwardReference"/>.
    /// </summary>
    public static void Backward(Activation kind, ReadOnlySpan<float> y, Span<float> dy)
    {
        if (y.Length != dy.Length) throw new ArgumentException($"Activation backward: y has {y.Length} values, dy {dy.Length}.", nameof(dy));
        switch (kind)
        {
            case Activation.Gelu or Activation.GeluTanh or Activation.Silu:
                throw new ArgumentException($"{kind}'s derivative needs its input, which its output does not determine: BackwardFromInput.", nameof(kind));
            case Activation.None: break;
            case Activation.Tanh: Backward<TanhGradient>(y, dy); break;
            case Activation.Sigmoid: Backward<SigmoidGradient>(y, dy); break;
            case Activation.Relu: Backward<ReluGradient>(y, dy); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>
    /// <see cref="Backward(Activation, ReadOnlySpan{float}, Span{float})"/> one value at a time, as written in the
    /// derivatives above (for tests): a ReLU stops dy where y ≤ 0 and passes it elsewhere, a NaN y included, as PyTorch's
    /// threshold_backward and the device kernel do.
    /// </summary>
    internal static void BackwardReference(Activation kind, ReadOnlySpan<float> y, Span<float> dy)
    {
        for (int i = 0; i < dy.Length; i++)
            dy[i] = kind switch
            {
                Activation.None => dy[i],
                Activation.Tanh => dy[i] * (1f - y[i] * y[i]),
                Activation.Sigmoid => dy[i] * (y[i] * (1f - y[i])),
                Activation.Relu => y[i] <= 0f ? 0f : dy[i],
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
    }

    private static void Backward<G>(ReadOnlySpan<float> y, Span<float> dy) where G : struct, IGradient
    {
        var kernel = new GradientKernel<G> { Y = ref MemoryMarshal.GetReference(y), Dy = ref MemoryMarshal.GetReference(dy), Length = dy.Length };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>An activation's derivative through its output, times the incoming gradient.</summary>
    private interface IGradient
    {
        static abstract T Apply<T>(T y, T dy) where T : struct, ILanes<T>;
    }

    private struct TanhGradient : IGradient
    {
        public static T Apply<T>(T y, T dy) where T : struct, ILanes<T> => dy * (T.Create(1f) - y * y);
    }

    private struct SigmoidGradient : IGradient
    {
        public static T Apply<T>(T y, T dy) where T : struct, ILanes<T> => dy * (y * (T.Create(1f) - y));
    }

    private struct ReluGradient : IGradient
    {
        // a select, not a branch: the signs of a layer's outputs are as good as random, and a branch mispredicted on half of
        // them made this pass cost as much as the layer's products
        public static T Apply<T>(T y, T dy) where T : struct, ILanes<T> => T.SelectAtMostZero(y, T.Create(0f), dy);
    }

    private ref struct GradientKernel<G> : ILaneKernel where G : struct, IGradient
    {
        public ref float Y, Dy;
        public int Length;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float y = ref Y, dy = ref Dy;
            int n = Length;
            for (; j <= n - T.Count; j += T.Count) T.Store(G.Apply(T.Load(ref y, j), T.Load(ref dy, j)), ref dy, j);
            return j;
        }
    }

    /// <summary>Adds <paramref name="bias"/> to each of the <paramref name="rows"/> rows of <paramref name="x"/>.</summary>
    public static void AddBias(Span<float> x, int rows, ReadOnlySpan<float> bias)
    {
        int n = bias.Length;
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = x.Slice(r * n, n);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>Adds the column sums of <paramref name="x"/> [rows, n] to <paramref name="sum"/> [n] (a bias gradient).</summary>
    public static void AddColumnSums(ReadOnlySpan<float> x, int rows, Span<float> sum)
    {
        int n = sum.Length;
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(sum, x.Slice(r * n, n), sum);
    }
}

/// <summary>
/// Gated linear units (Dauphin et al. 2017; Shazeer 2020, "GLU Variants Improve Transformer"): each row of the affine map's
/// output [rows, 2U] is a value half and a gate half, and the unit is value ⊙ act(gate): GLU with the sigmoid (PyTorch's
/// <c>F.glu</c>), ReGLU, GEGLU, SwiGLU (LLaMA's feed-forward), the bilinear form with none.
/// </summary>
public static class GatedActivations
{
    /// <summary>y [rows, U] = value ⊙ act(gate), value and gate the two halves of each row of <paramref name="pre"/> [rows, 2U].</summary>
    public static void Forward(Activation kind, int rows, int units, ReadOnlySpan<float> pre, Span<float> y)
    {
        Require(rows, units, pre, 2, "pre");
        Require(rows, units, y, 1, "y");
        Run(kind, rows, units, pre, y, default);
    }

    /// <summary>
    /// From dy [rows, U] writes dpre [rows, 2U] (overwritten): d(value) = dy ⊙ act(gate), d(gate) = dy ⊙ value ⊙ act'(gate).
    /// </summary>
    public static void Backward(Activation kind, int rows, int units, ReadOnlySpan<float> pre, ReadOnlySpan<float> dy, Span<float> dPre)
    {
        Require(rows, units, pre, 2, "pre");
        Require(rows, units, dy, 1, "dy");
        Require(rows, units, dPre, 2, "dPre");
        Run(kind, rows, units, pre, dy, dPre);
    }

    /// <summary>Both ways over the rows split among the cores: forward into <paramref name="y"/>, or (with <paramref name="dPre"/>) back from it as dy.</summary>
    private static unsafe void Run(Activation kind, int rows, int units, ReadOnlySpan<float> pre, ReadOnlySpan<float> y, Span<float> dPre)
    {
        if ((long)rows * units == 0) return;
        fixed (float* p = pre, py = y, pd = dPre)
        {
            var a = new Args { Kind = kind, Rows = rows, Units = units, Pre = p, Y = py, DPre = dPre.IsEmpty ? null : pd };
            GemmWorkers.Run(&Part, &a, GemmWorkers.Parts(rows, (long)rows * units, 1L << 15));
        }
    }

    private static unsafe void Part(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int u = a.Units;
        var (first, end) = GemmWorkers.Range(a.Rows, part, parts);
        for (int r = first; r < end; r++)
        {
            var value = new ReadOnlySpan<float>(a.Pre + 2L * r * u, u);
            var gate = new ReadOnlySpan<float>(a.Pre + 2L * r * u + u, u);
            if (a.DPre == null)
            {
                var y = new Span<float>(a.Y + (long)r * u, u);
                Activate(a.Kind, gate, y);
                TensorPrimitives.Multiply(value, y, y);
                continue;
            }
            var dy = new ReadOnlySpan<float>(a.Y + (long)r * u, u);
            var dValue = new Span<float>(a.DPre + 2L * r * u, u);
            var dGate = new Span<float>(a.DPre + 2L * r * u + u, u);
            Activate(a.Kind, gate, dValue); // act(gate), kept here until the gate's gradient has read it
            TensorPrimitives.Multiply(dy, value, dGate);
            if (Activations.FromInput(a.Kind)) Activations.BackwardFromInput(a.Kind, gate, dGate);
            else Activations.Backward(a.Kind, dValue, dGate);
            TensorPrimitives.Multiply(dy, dValue, dValue);
        }
    }

    /// <summary>y = act(x).</summary>
    private static void Activate(Activation kind, ReadOnlySpan<float> x, Span<float> y)
    {
        if (Activations.FromInput(kind)) Activations.Apply(kind, x, y);
        else
        {
            x.CopyTo(y);
            Activations.Apply(kind, y);
        }
    }

    private static void Require(int rows, int units, ReadOnlySpan<float> span, int halves, string name)
    {
        if (rows < 0 || units < 0) throw new ArgumentOutOfRangeException(name, $"Gated activation: rows {rows} and units {units} are 0 or more.");
        long needed = (long)rows * units * halves;
        if (span.Length < needed) throw new ArgumentException($"Gated activation: {name} needs at least {needed} values ({rows} × {halves * units}), got {span.Length}.", name);
    }

    private unsafe struct Args
    {
        public Activation Kind;
        public int Rows, Units;
        public float* Pre, Y, DPre;
    }
}
