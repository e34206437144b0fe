using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

// The element-wise part of one recurrent step for one sequence (one row of the batch), called by
// generated code after the step's recurrent product. Every cell's step, forward and back (LSTM, both GRU variants, the
// Elman RNN), is one pass over the row written once against ILanes (Lanes.cs): the widest vectors this process
// accelerates (512 bits on AVX-512, 256 on AVX2, 128 on Arm64 or with DOTNET_PreferredVectorBitWidth=128), then each
// narrower width on the tail, the scalar lanes last, with σ and tanh from CellMath. Gate rows are laid out as PyTorch's:
// LSTM [i, f, g, o], GRU [r, z, n], each H wide. An empty span for a previous state means zero (the first step from a
// zero state).

/// <summary>LSTM: i, f, g, o = σ, σ, tanh, σ(pre); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').</summary>
public static partial class LstmCell
{
    /// <summary>Turns the pre-activations <paramref name="gates"/> [4H] into activations in place and writes c' and h' (one pass over the row).</summary>
    public static void Forward(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        int H = c.Length;
        if (gates.Length < 4L * H || h.Length < H || (!cPrev.IsEmpty && cPrev.Length < H))
            throw new ArgumentException($"LstmCell: gates [{gates.Length}], cPrev [{cPrev.Length}] and h [{h.Length}] are too small for {H} units (4H, H or empty, H).");
        var kernel = new ForwardKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), CPrev = ref MemoryMarshal.GetReference(cPrev), C = ref MemoryMarshal.GetReference(c),
            H = ref MemoryMarshal.GetReference(h), Hidden = H, HasPrev = !cPrev.IsEmpty,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>One pass over a row: each gate's activation (kept for the step back), c' and h'.</summary>
    private ref struct ForwardKernel : ILaneKernel
    {
        public ref float Gates, CPrev, C, H;
        public int Hidden;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            // locals, not fields: a store through one of the refs could otherwise be read as changing the others
            ref float g = ref Gates, cPrev = ref CPrev, cNext = ref C, h = ref H;
            int n = Hidden;
            bool hasPrev = HasPrev;
            for (; j <= n - T.Count; j += T.Count)
            {
                T i = CellMath.Sigmoid(T.Load(ref g, j)), f = CellMath.Sigmoid(T.Load(ref g, n + j));
                T u = CellMath.Tanh(T.Load(ref g, 2 * n + j)), o = CellMath.Sigmoid(T.Load(ref g, 3 * n + j));
                T.Store(i, ref g, j); T.Store(f, ref g, n + j); T.Store(u, ref g, 2 * n + j); T.Store(o, ref g, 3 * n + j);
                T c = hasPrev ? T.MultiplyAdd(f, T.Load(ref cPrev, j), i * u) : i * u;
                T.Store(c, ref cNext, j);
                T.Store(o * CellMath.Tanh(c), ref h, j);
            }
            return j;
        }
    }

    /// <summary>
    /// One step back: from dy (the output's gradient) plus the carried dh and dc, writes the gate
    /// pre-activation gradients <paramref name="dGates"/> [4H] and replaces dc by the gradient for the previous cell.
    /// (dh for the previous step is dGates · W_hh, the caller's product.) One pass over the row, tanh(c) recomputed as the forward pass computed it.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> gates, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGates)
    {
        int H = c.Length;
        if (gates.Length < 4L * H || dGates.Length < 4L * H || dy.Length < H || dh.Length < H || dc.Length < H || (!cPrev.IsEmpty && cPrev.Length < H))
            throw new ArgumentException($"LstmCell: gates [{gates.Length}], dGates [{dGates.Length}], dy [{dy.Length}], dh [{dh.Length}], dc [{dc.Length}] and cPrev [{cPrev.Length}] are too small for {H} units (4H, 4H, H, H, H, H or empty).");
        var kernel = new BackwardKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), C = ref MemoryMarshal.GetReference(c), CPrev = ref MemoryMarshal.GetReference(cPrev),
            Dy = ref MemoryMarshal.GetReference(dy), Dh = ref MemoryMarshal.GetReference(dh), Dc = ref MemoryMarshal.GetReference(dc),
            DGates = ref MemoryMarshal.GetReference(dGates), Hidden = H, HasPrev = !cPrev.IsEmpty,
        };
        LaneLoop.Run(ref kernel);
    }

    private ref struct BackwardKernel : ILaneKernel
    {
        public ref float Gates, C, CPrev, Dy, Dh, Dc, DGates;
        public int Hidden;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref Gates, c = ref C, cPrev = ref CPrev, dy = ref Dy, dh = ref Dh, dc = ref Dc, d = ref DGates;
            int n = Hidden;
            bool hasPrev = HasPrev;
            T one = T.Create(1f);
            for (; j <= n - T.Count; j += T.Count)
            {
                T i = T.Load(ref g, j), f = T.Load(ref g, n + j), u = T.Load(ref g, 2 * n + j), o = T.Load(ref g, 3 * n + j);
                T t = CellMath.Tanh(T.Load(ref c, j));
                T dhv = T.Load(ref dy, j) + T.Load(ref dh, j);
                T dcv = T.Load(ref dc, j) + dhv * o * (one - t * t);
                T cp = hasPrev ? T.Load(ref cPrev, j) : T.Create(0f);
                T.Store(dcv * u * i * (one - i), ref d, j);
                T.Store(dcv * cp * f * (one - f), ref d, n + j);
                T.Store(dcv * i * (one - u * u), ref d, 2 * n + j);
                T.Store(dhv * t * o * (one - o), ref d, 3 * n + j);
                T.Store(dcv * f, ref dc, j);
            }
            return j;
        }
    }
}

/// <summary>GRU: r, z = σ(…); n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)) (reset after) or with (r ⊙ h)·W_hnᵀ (Cho 2014); h' = (1 − z) ⊙ n + z ⊙ h.</summary>
public static partial class GruCell
{
    /// <summary>
    /// Reset-after step: <paramref name="gates"/> [3H] holds x·W_ihᵀ + b_ih and becomes [r, z, n];
    /// <paramref name="hiddenGates"/> [3H] is h·W_hhᵀ + b_hh; its n part is saved in <paramref name="hn"/>.
    /// </summary>
    public static void Forward(Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, Span<float> hn, Span<float> h)
    {
        int H = h.Length;
        if (gates.Length < 3L * H || hiddenGates.Length < 3L * H || hn.Length < H || (!hPrev.IsEmpty && hPrev.Length < H))
            throw new ArgumentException($"GruCell: gates [{gates.Length}], hiddenGates [{hiddenGates.Length}], hPrev [{hPrev.Length}] and hn [{hn.Length}] are too small for {H} units (3H, 3H, H or empty, H).");
        var kernel = new ForwardKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), Hidden = ref MemoryMarshal.GetReference(hiddenGates), HPrev = ref MemoryMarshal.GetReference(hPrev),
            Hn = ref MemoryMarshal.GetReference(hn), H = ref MemoryMarshal.GetReference(h), Units = H, HasPrev = !hPrev.IsEmpty,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>One pass over a row: r, z, n (kept for the step back), the hidden candidate h·W_hnᵀ + b_hn, and h'.</summary>
    private ref struct ForwardKernel : ILaneKernel
    {
        public ref float Gates, Hidden, HPrev, Hn, H;
        public int Units;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref Gates, gh = ref Hidden, hPrev = ref HPrev, hn = ref Hn, h = ref H;
            int u = Units;
            bool hasPrev = HasPrev;
            for (; j <= u - T.Count; j += T.Count)
            {
                T r = CellMath.Sigmoid(T.Load(ref g, j) + T.Load(ref gh, j));
                T z = CellMath.Sigmoid(T.Load(ref g, u + j) + T.Load(ref gh, u + j));
                T candidate = T.Load(ref gh, 2 * u + j);
                T n = CellMath.Tanh(T.MultiplyAdd(r, candidate, T.Load(ref g, 2 * u + j)));
                T.Store(r, ref g, j); T.Store(z, ref g, u + j); T.Store(n, ref g, 2 * u + j);
                T.Store(candidate, ref hn, j);
                T.Store(Blend(z, n, ref hPrev, j, hasPrev), ref h, j);
            }
            return j;
        }
    }

    /// <summary>
    /// Reset-after step back. Writes the gradients of the input-side pre-activations <paramref name="dInput"/> [3H]
    /// ([dr, dz, dn]) and of the hidden-side ones <paramref name="dHidden"/> [3H] ([dr, dz, dn ⊙ r]); replaces dh by
    /// its direct part dh ⊙ z (the caller adds dHidden · W_hh).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> gates, ReadOnlySpan<float> hn, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dy,
        Span<float> dh, Span<float> dInput, Span<float> dHidden)
    {
        int H = hn.Length;
        if (gates.Length < 3L * H || dInput.Length < 3L * H || dHidden.Length < 3L * H || dy.Length < H || dh.Length < H || (!hPrev.IsEmpty && hPrev.Length < H))
            throw new ArgumentException($"GruCell: gates [{gates.Length}], dInput [{dInput.Length}], dHidden [{dHidden.Length}], dy [{dy.Length}], dh [{dh.Length}] and hPrev [{hPrev.Length}] are too small for {H} units (3H, 3H, 3H, H, H, H or empty).");
        var kernel = new BackwardKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), Hn = ref MemoryMarshal.GetReference(hn), HPrev = ref MemoryMarshal.GetReference(hPrev),
            Dy = ref MemoryMarshal.GetReference(dy), Dh = ref MemoryMarshal.GetReference(dh), DInput = ref MemoryMarshal.GetReference(dInput),
            DHidden = ref MemoryMarshal.GetReference(dHidden), Units = H, HasPrev = !hPrev.IsEmpty,
        };
        LaneLoop.Run(ref kernel);
    }

    private ref struct BackwardKernel : ILaneKernel
    {
        public ref float Gates, Hn, HPrev, Dy, Dh, DInput, DHidden;
        public int Units;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref Gates, hn = ref Hn, hPrev = ref HPrev, dy = ref Dy, dh = ref Dh, di = ref DInput, dhd = ref DHidden;
            int u = Units;
            bool hasPrev = HasPrev;
            T one = T.Create(1f);
            for (; j <= u - T.Count; j += T.Count)
            {
                T r = T.Load(ref g, j), z = T.Load(ref g, u + j), n = T.Load(ref g, 2 * u + j);
                T hp = hasPrev ? T.Load(ref hPrev, j) : T.Create(0f);
                T dhv = T.Load(ref dy, j) + T.Load(ref dh, j);
                T dan = dhv * (one - z) * (one - n * n);
                T dar = dan * T.Load(ref hn, j) * r * (one - r);
                T daz = dhv * (hp - n) * z * (one - z);
                T.Store(dar, ref di, j); T.Store(daz, ref di, u + j); T.Store(dan, ref di, 2 * u + j);
                T.Store(dar, ref dhd, j); T.Store(daz, ref dhd, u + j); T.Store(dan * r, ref dhd, 2 * u + j);
                T.Store(dhv * z, ref dh, j);
            }
            return j;
        }
    }

    /// <summary>
    /// <see cref="ForwardResetBefore"/> for every row of a step: gates and hiddenGates [B, 3H], hPrev with row stride
    /// <paramref name="ldh"/> (empty = zero), rh [B, H].
    /// </summary>
    public static void ForwardResetBeforeRows(int batch, int hidden, Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, int ldh, Span<float> rh)
    {
        int H = hidden, G = 3 * H;
        for (int b = 0; b < batch; b++)
            ForwardResetBefore(gates.Slice(b * G, G), hiddenGates.Slice(b * G, G), hPrev.IsEmpty ? default : hPrev.Slice(b * ldh, H), rh.Slice(b * H, H));
    }

    /// <summary><see cref="FinishResetBefore"/> for every row of a step: h' written with row stride <paramref name="ldy"/>.</summary>
    public static void FinishResetBeforeRows(int batch, int hidden, Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, int ldh, Span<float> h, int ldy)
    {
        int H = hidden, G = 3 * H;
        for (int b = 0; b < batch; b++)
            FinishResetBefore(gates.Slice(b * G, G), hiddenGates.Slice(b * G, G), hPrev.IsEmpty ? default : hPrev.Slice(b * ldh, H), h.Slice(b * ldy, H));
    }

    /// <summary><see cref="BackwardResetBefore"/> for every row of a step: dy with row stride <paramref name="ldy"/>, the carried dh [B, H], dGates [B, 3H].</summary>
    public static void BackwardResetBeforeRows(int batch, int hidden, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, int ldh, ReadOnlySpan<float> dy, int ldy,
        Span<float> dh, Span<float> dGates)
    {
        int H = hidden, G = 3 * H;
        for (int b = 0; b < batch; b++)
            BackwardResetBefore(gates.Slice(b * G, G), hPrev.IsEmpty ? default : hPrev.Slice(b * ldh, H), dy.Slice(b * ldy, H), dh.Slice(b * H, H), dGates.Slice(b * G, G));
    }

    /// <summary><see cref="FinishBackwardResetBefore"/> for every row of a step: d(r ⊙ h) and dh [B, H].</summary>
    public static void FinishBackwardResetBeforeRows(int batch, int hidden, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, int ldh, ReadOnlySpan<float> dRh,
        Span<float> dh, Span<float> dGates)
    {
        int H = hidden, G = 3 * H;
        for (int b = 0; b < batch; b++)
            FinishBackwardResetBefore(gates.Slice(b * G, G), hPrev.IsEmpty ? default : hPrev.Slice(b * ldh, H), dRh.Slice(b * H, H), dh.Slice(b * H, H), dGates.Slice(b * G, G));
    }

    /// <summary>Reset-before (Cho) step, first half: r, z = σ(gates[0:2H] + hiddenGates[0:2H]) in place; rh = r ⊙ hPrev.</summary>
    public static void ForwardResetBefore(Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, Span<float> rh)
    {
        int H = rh.Length;
        RequireUnits(gates.Length >= 3L * H && hiddenGates.Length >= 2L * H && (hPrev.IsEmpty || hPrev.Length >= H), H, "gates 3H, hiddenGates 2H, hPrev H or empty");
        var kernel = new ResetBeforeKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), Hidden = ref MemoryMarshal.GetReference(hiddenGates), HPrev = ref MemoryMarshal.GetReference(hPrev),
            Out = ref MemoryMarshal.GetReference(rh), Units = H, HasPrev = !hPrev.IsEmpty, Half = 0,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>Reset-before step, second half: n = tanh(gates[2H:3H] + hiddenGates[2H:3H]) in place; h' = (1 − z) ⊙ n + z ⊙ hPrev.</summary>
    public static void FinishResetBefore(Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, Span<float> h)
    {
        int H = h.Length;
        RequireUnits(gates.Length >= 3L * H && hiddenGates.Length >= 3L * H && (hPrev.IsEmpty || hPrev.Length >= H), H, "gates 3H, hiddenGates 3H, hPrev H or empty");
        var kernel = new ResetBeforeKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), Hidden = ref MemoryMarshal.GetReference(hiddenGates), HPrev = ref MemoryMarshal.GetReference(hPrev),
            Out = ref MemoryMarshal.GetReference(h), Units = H, HasPrev = !hPrev.IsEmpty, Half = 1,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>The reset-before step's two halves (the product by W_hn of r ⊙ h comes between them).</summary>
    private ref struct ResetBeforeKernel : ILaneKernel
    {
        public ref float Gates, Hidden, HPrev, Out;
        public int Units, Half;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref Gates, gh = ref Hidden, hPrev = ref HPrev, o = ref Out;
            int u = Units;
            bool hasPrev = HasPrev, first = Half == 0;
            for (; j <= u - T.Count; j += T.Count)
            {
                if (first)
                {
                    T r = CellMath.Sigmoid(T.Load(ref g, j) + T.Load(ref gh, j));
                    T.Store(r, ref g, j);
                    T.Store(CellMath.Sigmoid(T.Load(ref g, u + j) + T.Load(ref gh, u + j)), ref g, u + j);
                    T.Store(hasPrev ? r * T.Load(ref hPrev, j) : T.Create(0f), ref o, j);
                    continue;
                }
                T n = CellMath.Tanh(T.Load(ref g, 2 * u + j) + T.Load(ref gh, 2 * u + j));
                T z = T.Load(ref g, u + j);
                T.Store(n, ref g, 2 * u + j);
                T.Store(Blend(z, n, ref hPrev, j, hasPrev), ref o, j);
            }
            return j;
        }
    }

    /// <summary>Reset-before step back, first half: dn and dz into <paramref name="dGates"/>; dh becomes its direct part dh ⊙ z.</summary>
    public static void BackwardResetBefore(ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dy, Span<float> dh, Span<float> dGates)
    {
        int H = dh.Length;
        RequireUnits(gates.Length >= 3L * H && dGates.Length >= 3L * H && dy.Length >= H && (hPrev.IsEmpty || hPrev.Length >= H), H, "gates 3H, dGates 3H, dy H, hPrev H or empty");
        var kernel = new ResetBeforeBackKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), HPrev = ref MemoryMarshal.GetReference(hPrev), In = ref MemoryMarshal.GetReference(dy),
            Dh = ref MemoryMarshal.GetReference(dh), DGates = ref MemoryMarshal.GetReference(dGates), Units = H, HasPrev = !hPrev.IsEmpty, Half = 0,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>Reset-before step back, second half: from d(r ⊙ h) writes dr and adds d(r ⊙ h) ⊙ r to dh.</summary>
    public static void FinishBackwardResetBefore(ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dRh, Span<float> dh, Span<float> dGates)
    {
        int H = dh.Length;
        RequireUnits(gates.Length >= 3L * H && dGates.Length >= 3L * H && dRh.Length >= H && (hPrev.IsEmpty || hPrev.Length >= H), H, "gates 3H, dGates 3H, dRh H, hPrev H or empty");
        var kernel = new ResetBeforeBackKernel
        {
            Gates = ref MemoryMarshal.GetReference(gates), HPrev = ref MemoryMarshal.GetReference(hPrev), In = ref MemoryMarshal.GetReference(dRh),
            Dh = ref MemoryMarshal.GetReference(dh), DGates = ref MemoryMarshal.GetReference(dGates), Units = H, HasPrev = !hPrev.IsEmpty, Half = 1,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>The reset-before step back's two halves (the product of dn by W_hn comes between them).</summary>
    private ref struct ResetBeforeBackKernel : ILaneKernel
    {
        public ref float Gates, HPrev, In, Dh, DGates;
        public int Units, Half;
        public bool HasPrev;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float g = ref Gates, hPrev = ref HPrev, input = ref In, dh = ref Dh, d = ref DGates;
            int u = Units;
            bool hasPrev = HasPrev, first = Half == 0;
            T one = T.Create(1f);
            for (; j <= u - T.Count; j += T.Count)
            {
                T hp = hasPrev ? T.Load(ref hPrev, j) : T.Create(0f);
                if (first)
                {
                    T z = T.Load(ref g, u + j), n = T.Load(ref g, 2 * u + j);
                    T dhv = T.Load(ref input, j) + T.Load(ref dh, j);
                    T.Store(dhv * (one - z) * (one - n * n), ref d, 2 * u + j);
                    T.Store(dhv * (hp - n) * z * (one - z), ref d, u + j);
                    T.Store(dhv * z, ref dh, j);
                    continue;
                }
                T r = T.Load(ref g, j), drh = T.Load(ref input, j);
                T.Store(drh * hp * r * (one - r), ref d, j);
                T.Store(T.MultiplyAdd(drh, r, T.Load(ref dh, j)), ref dh, j);
            }
            return j;
        }
    }

    /// <summary>h' = (1 − z) ⊙ n + z ⊙ hPrev = n + z ⊙ (hPrev − n), both variants' last step (hPrev zero when there is none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Blend<T>(T z, T n, ref float hPrev, int j, bool hasPrev) where T : struct, ILanes<T> =>
        hasPrev ? T.MultiplyAdd(z, T.Load(ref hPrev, j) - n, n) : n - z * n;

    private static void RequireUnits(bool ok, int hidden, string sizes)
    {
        if (!ok) throw new ArgumentException($"GruCell: a buffer is too small for {hidden} units (expected {sizes}).");
    }
}

/// <summary>Elman RNN: h' = act(pre), tanh or ReLU.</summary>
public static class RnnCell
{
    /// <summary>h' = act(pre).</summary>
    public static void Forward(ReadOnlySpan<float> preActivation, Span<float> h, bool relu)
    {
        if (preActivation.Length < h.Length) throw new ArgumentException($"RnnCell: pre-activations [{preActivation.Length}] are too few for {h.Length} units.");
        var kernel = new RowKernel { In = ref MemoryMarshal.GetReference(preActivation), Out = ref MemoryMarshal.GetReference(h), Units = h.Length, Relu = relu };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// <see cref="Forward"/> for every row of a step: pre-activations [B, H] (rows <paramref name="ldg"/> apart) into h'
    /// (rows <paramref name="ldy"/> apart).
    /// </summary>
    public static void ForwardRows(int batch, int hidden, ReadOnlySpan<float> preActivation, int ldg, Span<float> h, int ldy, bool relu)
    {
        for (int b = 0; b < batch; b++) Forward(preActivation.Slice(b * ldg, hidden), h.Slice(b * ldy, hidden), relu);
    }

    /// <summary>
    /// <see cref="Backward"/> for every row of a step: h and dy with row strides <paramref name="ldh"/> and <paramref name="ldy"/>, the
    /// carried dh [B, H], and d(pre) with row stride <paramref name="ldd"/>.
    /// </summary>
    public static void BackwardRows(int batch, int hidden, ReadOnlySpan<float> h, int ldh, ReadOnlySpan<float> dy, int ldy, ReadOnlySpan<float> dh,
        Span<float> dPre, int ldd, bool relu)
    {
        for (int b = 0; b < batch; b++)
            Backward(h.Slice(b * ldh, hidden), dy.Slice(b * ldy, hidden), dh.Slice(b * hidden, hidden), dPre.Slice(b * ldd, hidden), relu);
    }

    /// <summary>d(pre) = (dy + dh) ⊙ act'(h).</summary>
    public static void Backward(ReadOnlySpan<float> h, ReadOnlySpan<float> dy, ReadOnlySpan<float> dh, Span<float> dPre, bool relu)
    {
        int H = h.Length;
        if (dy.Length < H || dh.Length < H || dPre.Length < H)
            throw new ArgumentException($"RnnCell: dy [{dy.Length}], dh [{dh.Length}] and dPre [{dPre.Length}] are too small for {H} units.");
        var kernel = new RowKernel
        {
            In = ref MemoryMarshal.GetReference(h), Out = ref MemoryMarshal.GetReference(dPre), Dy = ref MemoryMarshal.GetReference(dy),
            Dh = ref MemoryMarshal.GetReference(dh), Units = H, Relu = relu, Back = true,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>A row forward (Out = act(In)) or back (Out = (Dy + Dh) ⊙ act'(h), In = h).</summary>
    private ref struct RowKernel : ILaneKernel
    {
        public ref float In, Out, Dy, Dh;
        public int Units;
        public bool Relu, Back;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float x = ref In, y = ref Out, dy = ref Dy, dh = ref Dh;
            int u = Units;
            bool relu = Relu, back = Back;
            T zero = T.Create(0f), one = T.Create(1f);
            for (; j <= u - T.Count; j += T.Count)
            {
                T v = T.Load(ref x, j);
                if (!back)
                {
                    T.Store(relu ? T.Max(v, zero) : CellMath.Tanh(v), ref y, j);
                    continue;
                }
                T dp = T.Load(ref dy, j) + T.Load(ref dh, j);
                T.Store(relu ? T.SelectAtMostZero(v, zero, dp) : dp * (one - v * v), ref y, j); // a NaN h passes dh on, as torch's threshold_backward
            }
            return j;
        }
    }
}
