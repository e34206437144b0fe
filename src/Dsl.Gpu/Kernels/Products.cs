using System;

// The device counterparts of Dsl.Kernels, with the same class names, methods and signatures over DeviceSpan: the device
// code the generator writes is the same code as the host's, compiled against these (Emitting/DeviceDialect.cs says how).
namespace Dsl.Gpu.Kernels;

/// <summary>Matrix products on the device (cuBLAS where present, else the tiled GEMM every accelerator runs), as <c>Dsl.Kernels.Gemm</c>.</summary>
public static class Gemm
{
    /// <summary>C (+)= A · B; A [m, k], B [k, n], row-major with leading dimensions.</summary>
    public static void MatMul(int m, int n, int k, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan c, int ldc, bool accumulate) =>
        Run(m, n, k, a, lda, false, b, ldb, false, c, ldc, accumulate);

    /// <summary>C (+)= Aᵀ · B; A stored [k, m].</summary>
    public static void MatMulTransA(int m, int n, int k, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan c, int ldc, bool accumulate) =>
        Run(m, n, k, a, lda, true, b, ldb, false, c, ldc, accumulate);

    /// <summary>C (+)= A · Bᵀ; B stored [n, k].</summary>
    public static void MatMulTransB(int m, int n, int k, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan c, int ldc, bool accumulate) =>
        Run(m, n, k, a, lda, false, b, ldb, true, c, ldc, accumulate);

    /// <summary>C = A · Bᵀ + 1 · biasᵀ (C's rows contiguous: <paramref name="ldc"/> = n): the bias laid down, then the product added.</summary>
    public static void MatMulTransB(int m, int n, int k, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan bias, DeviceSpan c, int ldc)
    {
        if (ldc != n) throw new ArgumentException($"Gemm.MatMulTransB with a bias: C's rows must be contiguous (ldc = {n}), got ldc = {ldc}.", nameof(ldc));
        Layout.RepeatRows(bias.Slice(0, n), m, c);
        Run(m, n, k, a, lda, false, b, ldb, true, c, ldc, accumulate: true);
    }

    /// <summary>Floats <see cref="PackB"/> writes for a [k, n] operand: the operand itself, row-major.</summary>
    public static int PackedLength(int k, int n) => checked(k * n);

    /// <summary>B [k, n] (stored [n, k] when <paramref name="transposed"/>) copied row-major into <paramref name="packed"/>, once per sequence.</summary>
    public static void PackB(int k, int n, DeviceSpan b, int ldb, bool transposed, DeviceSpan packed)
    {
        if (k == 0 || n == 0) return;
        if (packed.Length < k * n) throw new ArgumentException($"Gemm.PackB: {packed.Length} floats for a [{k}, {n}] operand.", nameof(packed));
        if (transposed)
        {
            b.Device.Kernels.Transpose(k, n, b.View, ldb, packed.View);
            return;
        }
        if (ldb == n)
        {
            b.Slice(0, k * n).CopyTo(packed);
            return;
        }
        for (int r = 0; r < k; r++) b.Slice(r * ldb, n).CopyTo(packed.Slice(r * n, n));
    }

    /// <summary>C (+)= A · B with B as <see cref="PackB"/> wrote it.</summary>
    public static void MatMulPacked(int m, int n, int k, DeviceSpan a, int lda, DeviceSpan packed, DeviceSpan c, int ldc, bool accumulate) =>
        Run(m, n, k, a, lda, false, packed, n, false, c, ldc, accumulate);

    private static void Run(int m, int n, int k, DeviceSpan a, int lda, bool transA, DeviceSpan b, int ldb, bool transB, DeviceSpan c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        Device device = c.Device;
        device.Product(m, n, k, a.ViewOrPlaceholder(device), lda, transA, b.ViewOrPlaceholder(device), ldb, transB, c.View, ldc, accumulate);
    }
}

/// <summary>Gated linear units on the device, as <c>Dsl.Kernels.GatedActivations</c>: one thread per unit.</summary>
public static class GatedActivations
{
    /// <summary>y [rows, U] = value ⊙ act(gate), the two halves of each row of <paramref name="pre"/> [rows, 2U].</summary>
    public static void Forward(Activation kind, int rows, int units, DeviceSpan pre, DeviceSpan y)
    {
        int n = rows * units;
        if (n == 0) return;
        Require(pre.Length >= 2 * n, "GatedActivations.Forward (pre)", pre.Length, 2 * n);
        Require(y.Length >= n, "GatedActivations.Forward (y)", y.Length, n);
        y.Device.Kernels.Gated(n, pre.View, y.View, y.View, units, (int)kind, backward: false);
    }

    /// <summary>dpre [rows, 2U] (overwritten) from dy [rows, U]: d(value) = dy ⊙ act(gate), d(gate) = dy ⊙ value ⊙ act'(gate).</summary>
    public static void Backward(Activation kind, int rows, int units, DeviceSpan pre, DeviceSpan dy, DeviceSpan dPre)
    {
        int n = rows * units;
        if (n == 0) return;
        Require(pre.Length >= 2 * n, "GatedActivations.Backward (pre)", pre.Length, 2 * n);
        Require(dy.Length >= n, "GatedActivations.Backward (dy)", dy.Length, n);
        Require(dPre.Length >= 2 * n, "GatedActivations.Backward (dPre)", dPre.Length, 2 * n);
        dPre.Device.Kernels.Gated(n, pre.View, dy.View, dPre.View, units, (int)kind, backward: true);
    }

    private static void Require(bool ok, string what, int has, int needs) => Activations.Require(ok, what, has, needs);
}

/// <summary>Bias, column sums and activations on the device, as <c>Dsl.Kernels.Activations</c>.</summary>
public static class Activations
{
    /// <summary>Adds <paramref name="bias"/> to each of the <paramref name="rows"/> rows of <paramref name="x"/>.</summary>
    public static void AddBias(DeviceSpan x, int rows, DeviceSpan bias)
    {
        int n = rows * bias.Length;
        if (n == 0) return;
        Require(x.Length >= n, "AddBias", x.Length, n);
        x.Device.Kernels.AddBias(n, x.View, bias.View, bias.Length);
    }

    /// <summary>Adds the column sums of <paramref name="x"/> [rows, n] to <paramref name="sum"/> [n].</summary>
    public static void AddColumnSums(DeviceSpan x, int rows, DeviceSpan sum)
    {
        if (rows == 0 || sum.IsEmpty) return;
        Require(x.Length >= rows * sum.Length, "AddColumnSums", x.Length, rows * sum.Length);
        sum.Device.Kernels.ColumnSums(sum.Length, x.View, sum.View, rows);
    }

    /// <summary>Applies <paramref name="kind"/> in place.</summary>
    public static void Apply(Activation kind, DeviceSpan x)
    {
        if (kind == Activation.None || x.IsEmpty) return;
        x.Device.Kernels.Activation(x.Length, x.View, x.View, x.View, (int)kind, backward: false);
    }

    /// <summary><paramref name="y"/> = GELU or SiLU of <paramref name="x"/>, as the host's <c>Activations.Apply(kind, x, y)</c>.</summary>
    public static void Apply(Activation kind, DeviceSpan x, DeviceSpan y)
    {
        if (!Dsl.Kernels.Activations.FromInput(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "only GELU and SiLU keep their input apart");
        if (y.Length != x.Length) throw new ArgumentException($"Activation: x has {x.Length} values, y {y.Length}.", nameof(y));
        if (!x.IsEmpty) x.Device.Kernels.Activation(x.Length, x.View, y.View, y.View, (int)kind, backward: false);
    }

    /// <summary>Soft-capping in place, x = cap · tanh(x / cap), as the host's <c>Activations.SoftCap</c> (Gemma 2's logits).</summary>
    public static void SoftCap(float cap, DeviceSpan x)
    {
        Dsl.Kernels.Activations.RequireSoftCap(cap);
        if (!x.IsEmpty) x.Device.Kernels.SoftCap(x.Length, x.View, x.View, 1f / cap, cap, backward: false);
    }

    /// <summary>y = x · <paramref name="factor"/>, as the host's <c>Activations.Scale</c> (NaN kept).</summary>
    public static void Scale(float factor, DeviceSpan x, DeviceSpan y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"Scale: x has {x.Length} values, y {y.Length}.", nameof(y));
        if (x.IsEmpty) return;
        x.CopyTo(y);
        y.Device.Kernels.ScaleClamp(y.Length, y.View, factor, float.NegativeInfinity, float.PositiveInfinity);
    }

    /// <summary>Clipping in place to ±limit, each value's slope into <paramref name="kept"/> unless it is empty, as the host's <c>Activations.Clip</c> (OLMo's clip_qkv).</summary>
    public static void Clip(float limit, DeviceSpan x, DeviceSpan kept)
    {
        Dsl.Kernels.Activations.RequireClip(limit);
        if (!kept.IsEmpty && kept.Length != x.Length) throw new ArgumentException($"Clip: x has {x.Length} values, kept {kept.Length}.", nameof(kept));
        if (!x.IsEmpty) x.Device.Kernels.Clip(x.Length, x.View, kept.IsEmpty ? x.View : kept.View, limit, !kept.IsEmpty);
    }

    /// <summary>Back through <see cref="SoftCap"/>: dy ⊙= 1 − (y / cap)², from the capped output <paramref name="y"/>.</summary>
    public static void SoftCapBackward(float cap, DeviceSpan y, DeviceSpan dy)
    {
        Dsl.Kernels.Activations.RequireSoftCap(cap);
        if (y.Length != dy.Length) throw new ArgumentException($"SoftCap backward: y has {y.Length} values, dy {dy.Length}.", nameof(dy));
        if (!y.IsEmpty) y.Device.Kernels.SoftCap(y.Length, y.View, dy.View, 1f / cap, cap, backward: true);
    }

    /// <summary>dy ⊙= act'(·), from the activated <paramref name="y"/>.</summary>
    public static void Backward(Activation kind, DeviceSpan y, DeviceSpan dy)
    {
        if (y.Length != dy.Length) throw new ArgumentException($"Activation backward: y has {y.Length} values, dy {dy.Length}.", nameof(dy));
        if (Dsl.Kernels.Activations.FromInput(kind)) throw new ArgumentException($"{kind}'s derivative needs its input, which its output does not determine: BackwardFromInput.", nameof(kind));
        if (kind == Activation.None || y.IsEmpty) return;
        y.Device.Kernels.Activation(y.Length, y.View, y.View, dy.View, (int)kind, backward: true);
    }

    /// <summary>dy ⊙= act'(x), from the input <paramref name="x"/>, as the host's <c>Activations.BackwardFromInput</c>.</summary>
    public static void BackwardFromInput(Activation kind, DeviceSpan x, DeviceSpan dy)
    {
        if (!Dsl.Kernels.Activations.FromInput(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "only GELU and SiLU step back from their input");
        if (x.Length != dy.Length) throw new ArgumentException($"Activation backward: x has {x.Length} values, dy {dy.Length}.", nameof(dy));
        if (!x.IsEmpty) x.Device.Kernels.Activation(x.Length, x.View, x.View, dy.View, (int)kind, backward: true);
    }

    internal static void Require(bool ok, string what, int has, int needs)
    {
        if (!ok) throw new ArgumentException($"{what}: the buffer has {has} floats, the operation needs {needs}.");
    }
}

/// <summary>The element-wise operations of System.Numerics.Tensors.TensorPrimitives the generated code uses, on the device.</summary>
public static class TensorPrimitives
{
    /// <summary>into = a + b.</summary>
    public static void Add(DeviceSpan a, DeviceSpan b, DeviceSpan into) => Binary(a, b, into, 0);

    /// <summary>into = a ⊙ b.</summary>
    public static void Multiply(DeviceSpan a, DeviceSpan b, DeviceSpan into) => Binary(a, b, into, 1);

    /// <summary>into = a − b.</summary>
    public static void Subtract(DeviceSpan a, DeviceSpan b, DeviceSpan into) => Binary(a, b, into, 2);

    /// <summary>into = a ⊙ b + c.</summary>
    public static void FusedMultiplyAdd(DeviceSpan a, DeviceSpan b, DeviceSpan c, DeviceSpan into)
    {
        Check(a, b, into);
        if (c.Length != a.Length) throw new ArgumentException($"TensorPrimitives: operands of {a.Length} and {c.Length} floats.");
        if (a.IsEmpty) return;
        a.Device.Kernels.FusedMultiplyAdd(a.Length, a.View, b.View, c.View, into.View);
    }

    private static void Binary(DeviceSpan a, DeviceSpan b, DeviceSpan into, int op)
    {
        Check(a, b, into);
        if (a.IsEmpty) return;
        a.Device.Kernels.Binary(a.Length, a.View, b.View, into.View, op);
    }

    private static void Check(DeviceSpan a, DeviceSpan b, DeviceSpan into)
    {
        if (a.Length != b.Length) throw new ArgumentException($"TensorPrimitives: operands of {a.Length} and {b.Length} floats.");
        if (into.Length < a.Length) throw new ArgumentException($"TensorPrimitives: destination too short: {into.Length} floats for {a.Length}.");
    }
}
