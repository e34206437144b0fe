using System;
using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

// The element-wise part of one recurrent step for a whole batch, split by rows over the cores (the same persistent
// workers as the products): each sequence's row is independent, and at batch 32 and 256 units the epilogue is a
// fifth of a step. Below a few thousand elements it stays on the calling thread.

/// <summary>Splits a step's rows over the cores.</summary>
internal static unsafe class CellRows
{
    /// <summary>Parts to split <paramref name="batch"/> rows of <paramref name="width"/> units into.</summary>
    public static int Parts(int batch, int width) => GemmWorkers.Parts(batch, (long)batch * width, 4096);

    /// <summary>
    /// Values a buffer of <paramref name="batch"/> rows of <paramref name="width"/> values, <paramref name="ld"/> apart, reaches
    /// (in long: the checks cannot wrap), after refusing a negative batch and rows that overlap (parts would race on them).
    /// </summary>
    public static long Extent(int batch, int ld, int width)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must be 0 or more.");
        if (width < 0) throw new ArgumentOutOfRangeException(nameof(width), width, "The units must be 0 or more.");
        if (ld < width) throw new ArgumentOutOfRangeException(nameof(ld), ld, $"A row stride must be at least the {width} values of a row.");
        return batch == 0 ? 0 : (batch - 1L) * ld + width;
    }

    /// <summary>Pointers and strides of one step's buffers (null = empty span).</summary>
    public struct Args
    {
        public float* A, B, C, D, E, F, G;
        public int LdA, LdB, LdC, LdD, LdE, LdF, LdG;
        public int Batch, Hidden;

        public static Span<float> Row(float* p, int ld, int b, int length) => p == null ? default : new Span<float>(p + (nint)b * ld, length);
    }
}

public static partial class LstmCell
{
    /// <summary>
    /// <see cref="Forward"/> for every row of a step: gates [B, 4H], cPrev [B, H] (empty = zero), c [B, H], and h' written
    /// with row stride <paramref name="ldy"/>. Split over the cores by rows.
    /// </summary>
    public static unsafe void ForwardRows(int batch, int hidden, Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h, int ldy)
    {
        int H = hidden;
        Require(gates.Length >= (long)batch * 4 * H && c.Length >= (long)batch * H && h.Length >= CellRows.Extent(batch, ldy, H) && (cPrev.IsEmpty || cPrev.Length >= (long)batch * H), batch, H);
        fixed (float* pg = gates, pp = cPrev, pc = c, ph = h)
        {
            var a = new CellRows.Args { A = pg, LdA = 4 * H, B = cPrev.IsEmpty ? null : pp, LdB = H, C = pc, LdC = H, D = ph, LdD = ldy, Batch = batch, Hidden = H };
            GemmWorkers.Run(&ForwardPart, &a, CellRows.Parts(batch, 4 * H));
        }
    }

    private static unsafe void ForwardPart(void* state, int part, int parts)
    {
        ref CellRows.Args a = ref Unsafe.AsRef<CellRows.Args>(state);
        int H = a.Hidden;
        var (start, end) = GemmWorkers.Range(a.Batch, part, parts);
        for (int b = start; b < end; b++)
            Forward(CellRows.Args.Row(a.A, a.LdA, b, 4 * H), CellRows.Args.Row(a.B, a.LdB, b, H), CellRows.Args.Row(a.C, a.LdC, b, H), CellRows.Args.Row(a.D, a.LdD, b, H));
    }

    /// <summary>
    /// <see cref="Backward"/> for every row of a step: gates [B, 4H], c [B, H], cPrev [B, H] (empty = zero), dy with row
    /// stride <paramref name="ldy"/>, the carried dh and dc [B, H], and dGates [B, 4H]. Split over the cores by rows.
    /// </summary>
    public static unsafe void BackwardRows(int batch, int hidden, ReadOnlySpan<float> gates, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> dy, int ldy, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGates)
    {
        int H = hidden, G = 4 * H;
        Require(gates.Length >= (long)batch * G && c.Length >= (long)batch * H && dy.Length >= CellRows.Extent(batch, ldy, H) && dh.Length >= (long)batch * H
            && dc.Length >= (long)batch * H && dGates.Length >= (long)batch * G && (cPrev.IsEmpty || cPrev.Length >= (long)batch * H), batch, H);
        fixed (float* pg = gates, pc = c, pp = cPrev, pdy = dy, pdh = dh, pdc = dc, pd = dGates)
        {
            var a = new CellRows.Args
            {
                A = pg, LdA = G, B = pc, LdB = H, C = cPrev.IsEmpty ? null : pp, LdC = H, D = pdy, LdD = ldy, E = pdh, LdE = H, F = pdc, LdF = H, G = pd, LdG = G,
                Batch = batch, Hidden = H,
            };
            GemmWorkers.Run(&BackwardPart, &a, CellRows.Parts(batch, G));
        }
    }

    private static unsafe void BackwardPart(void* state, int part, int parts)
    {
        ref CellRows.Args a = ref Unsafe.AsRef<CellRows.Args>(state);
        int H = a.Hidden, G = 4 * H;
        var (start, end) = GemmWorkers.Range(a.Batch, part, parts);
        for (int b = start; b < end; b++)
            Backward(CellRows.Args.Row(a.A, a.LdA, b, G), CellRows.Args.Row(a.B, a.LdB, b, H), CellRows.Args.Row(a.C, a.LdC, b, H), CellRows.Args.Row(a.D, a.LdD, b, H),
                CellRows.Args.Row(a.E, a.LdE, b, H), CellRows.Args.Row(a.F, a.LdF, b, H), CellRows.Args.Row(a.G, a.LdG, b, G));
    }

    private static void Require(bool ok, int batch, int hidden)
    {
        if (!ok) throw new ArgumentException($"LstmCell: a buffer is too small for batch {batch} and hidden {hidden}.");
    }
}

public static partial class GruCell
{
    /// <summary>
    /// Reset-after <see cref="Forward"/> for every row of a step: gates and hiddenGates [B, 3H], hPrev with row stride
    /// <paramref name="ldh"/> (empty = zero), hn [B, H], h' with row stride <paramref name="ldy"/>. Split over the cores by rows.
    /// </summary>
    public static unsafe void ForwardRows(int batch, int hidden, Span<float> gates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> hPrev, int ldh,
        Span<float> hn, Span<float> h, int ldy)
    {
        int H = hidden, G = 3 * H;
        Require(gates.Length >= (long)batch * G && hiddenGates.Length >= (long)batch * G && hn.Length >= (long)batch * H && h.Length >= CellRows.Extent(batch, ldy, H)
            && (hPrev.IsEmpty || hPrev.Length >= CellRows.Extent(batch, ldh, H)), batch, H);
        fixed (float* pg = gates, pgh = hiddenGates, pp = hPrev, pn = hn, ph = h)
        {
            var a = new CellRows.Args
            {
                A = pg, LdA = G, B = pgh, LdB = G, C = hPrev.IsEmpty ? null : pp, LdC = ldh, D = pn, LdD = H, E = ph, LdE = ldy, Batch = batch, Hidden = H,
            };
            GemmWorkers.Run(&ForwardPart, &a, CellRows.Parts(batch, G));
        }
    }

    private static unsafe void ForwardPart(void* state, int part, int parts)
    {
        ref CellRows.Args a = ref Unsafe.AsRef<CellRows.Args>(state);
        int H = a.Hidden, G = 3 * H;
        var (start, end) = GemmWorkers.Range(a.Batch, part, parts);
        for (int b = start; b < end; b++)
            Forward(CellRows.Args.Row(a.A, a.LdA, b, G), CellRows.Args.Row(a.B, a.LdB, b, G), CellRows.Args.Row(a.C, a.LdC, b, H),
                CellRows.Args.Row(a.D, a.LdD, b, H), CellRows.Args.Row(a.E, a.LdE, b, H));
    }

    /// <summary>
    /// Reset-after <see cref="Backward"/> for every row of a step: gates [B, 3H], hn [B, H], hPrev (row stride
    /// <paramref name="ldh"/>, empty = zero), dy (row stride <paramref name="ldy"/>), the carried dh [B, H], dInput and
    /// dHidden [B, 3H]. Split over the cores by rows.
    /// </summary>
    public static unsafe void BackwardRows(int batch, int hidden, ReadOnlySpan<float> gates, ReadOnlySpan<float> hn, ReadOnlySpan<float> hPrev, int ldh,
        ReadOnlySpan<float> dy, int ldy, Span<float> dh, Span<float> dInput, Span<float> dHidden)
    {
        int H = hidden, G = 3 * H;
        Require(gates.Length >= (long)batch * G && hn.Length >= (long)batch * H && dy.Length >= CellRows.Extent(batch, ldy, H) && dh.Length >= (long)batch * H
            && dInput.Length >= (long)batch * G && dHidden.Length >= (long)batch * G && (hPrev.IsEmpty || hPrev.Length >= CellRows.Extent(batch, ldh, H)), batch, H);
        fixed (float* pg = gates, pn = hn, pp = hPrev, pdy = dy, pdh = dh, pdi = dInput, pdd = dHidden)
        {
            var a = new CellRows.Args
            {
                A = pg, LdA = G, B = pn, LdB = H, C = hPrev.IsEmpty ? null : pp, LdC = ldh, D = pdy, LdD = ldy, E = pdh, LdE = H, F = pdi, LdF = G, G = pdd, LdG = G,
                Batch = batch, Hidden = H,
            };
            GemmWorkers.Run(&BackwardPart, &a, CellRows.Parts(batch, G));
        }
    }

    private static unsafe void BackwardPart(void* state, int part, int parts)
    {
        ref CellRows.Args a = ref Unsafe.AsRef<CellRows.Args>(state);
        int H = a.Hidden, G = 3 * H;
        var (start, end) = GemmWorkers.Range(a.Batch, part, parts);
        for (int b = start; b < end; b++)
            Backward(CellRows.Args.Row(a.A, a.LdA, b, G), CellRows.Args.Row(a.B, a.LdB, b, H), CellRows.Args.Row(a.C, a.LdC, b, H), CellRows.Args.Row(a.D, a.LdD, b, H),
                CellRows.Args.Row(a.E, a.LdE, b, H), CellRows.Args.Row(a.F, a.LdF, b, G), CellRows.Args.Row(a.G, a.LdG, b, G));
    }

    private static void Require(bool ok, int batch, int hidden)
    {
        if (!ok) throw new ArgumentException($"GruCell: a buffer is too small for batch {batch} and hidden {hidden}.");
    }
}
