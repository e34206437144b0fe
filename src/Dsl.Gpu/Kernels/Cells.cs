using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu.Kernels;

/// <summary>LSTM steps on the device, as <c>Dsl.Kernels.LstmCell</c>: one thread per (row, unit).</summary>
public static class LstmCell
{
    /// <summary>Every row of a step: gates [B, 4H] become i, f, g, o; c' [B, H]; h' with row stride <paramref name="ldy"/>.</summary>
    public static void ForwardRows(int batch, int hidden, DeviceSpan gates, DeviceSpan cPrev, DeviceSpan c, DeviceSpan h, int ldy)
    {
        Cell.Require(gates.Length >= batch * 4 * hidden && c.Length >= batch * hidden && h.Length >= (batch - 1) * ldy + hidden, "LstmCell", batch, hidden);
        Device device = gates.Device;
        var args = new CellArgs { Hidden = hidden, LdY = ldy, HasPrev = cPrev.IsEmpty ? 0 : 1 };
        device.Kernels.LstmForward(batch * hidden, gates.View, cPrev.ViewOrPlaceholder(device), args, c.View, h.View);
    }

    /// <summary>Every row of a step back: dGates [B, 4H]; the carried dc replaced by the previous cell's gradient.</summary>
    public static void BackwardRows(int batch, int hidden, DeviceSpan gates, DeviceSpan c, DeviceSpan cPrev, DeviceSpan dy, int ldy, DeviceSpan dh,
        DeviceSpan dc, DeviceSpan dGates)
    {
        Cell.Require(gates.Length >= batch * 4 * hidden && dGates.Length >= batch * 4 * hidden && dy.Length >= (batch - 1) * ldy + hidden, "LstmCell", batch, hidden);
        Device device = gates.Device;
        var views = new CellViews { Gates = gates.View, State = c.View, Previous = cPrev.ViewOrPlaceholder(device), Dy = dy.View, Carry = dh.View, Carry2 = dc.View, DGates = dGates.View };
        device.Kernels.LstmBackward(batch * hidden, Cell.Fill(views, device), new CellArgs { Hidden = hidden, LdY = ldy, HasPrev = cPrev.IsEmpty ? 0 : 1 });
    }
}

/// <summary>GRU steps on the device, as <c>Dsl.Kernels.GruCell</c>.</summary>
public static class GruCell
{
    /// <summary>Reset-after, every row of a step (see <c>Dsl.Kernels.GruCell.ForwardRows</c>).</summary>
    public static void ForwardRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hiddenGates, DeviceSpan hPrev, int ldh, DeviceSpan hn, DeviceSpan h, int ldy)
    {
        Cell.Require(gates.Length >= batch * 3 * hidden && hiddenGates.Length >= batch * 3 * hidden && hn.Length >= batch * hidden, "GruCell", batch, hidden);
        Device device = gates.Device;
        var views = new CellViews { Gates = gates.View, Hidden = hiddenGates.View, State = hn.View, Previous = hPrev.ViewOrPlaceholder(device) };
        device.Kernels.GruForward(batch * hidden, Cell.Fill(views, device), new CellArgs { Hidden = hidden, LdY = ldy, LdPrevious = ldh, HasPrev = hPrev.IsEmpty ? 0 : 1, H = h.View });
    }

    /// <summary>Reset-after, every row of a step back (see <c>Dsl.Kernels.GruCell.BackwardRows</c>).</summary>
    public static void BackwardRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hn, DeviceSpan hPrev, int ldh, DeviceSpan dy, int ldy, DeviceSpan dh,
        DeviceSpan dInput, DeviceSpan dHidden)
    {
        Cell.Require(gates.Length >= batch * 3 * hidden && dInput.Length >= batch * 3 * hidden && dHidden.Length >= batch * 3 * hidden, "GruCell", batch, hidden);
        Device device = gates.Device;
        var views = new CellViews { Gates = gates.View, State = hn.View, Previous = hPrev.ViewOrPlaceholder(device), Dy = dy.View, Carry = dh.View, DGates = dInput.View, Hidden = dHidden.View };
        device.Kernels.GruBackward(batch * hidden, Cell.Fill(views, device), new CellArgs { Hidden = hidden, LdY = ldy, LdPrevious = ldh, HasPrev = hPrev.IsEmpty ? 0 : 1 });
    }

    /// <summary>Reset-before (Cho), every row of a step, first half: r, z in place; rh = r ⊙ hPrev (rows <paramref name="ldh"/> apart).</summary>
    public static void ForwardResetBeforeRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hiddenGates, DeviceSpan hPrev, int ldh, DeviceSpan rh) =>
        Rows(0, batch, hidden, gates, new CellViews { Hidden = hiddenGates.View, State = rh.View }, hPrev, ldh, default, 0);

    /// <summary>Reset-before, every row, second half: n in place; h' (rows <paramref name="ldy"/> apart).</summary>
    public static void FinishResetBeforeRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hiddenGates, DeviceSpan hPrev, int ldh, DeviceSpan h, int ldy) =>
        Rows(1, batch, hidden, gates, new CellViews { Hidden = hiddenGates.View }, hPrev, ldh, h, ldy);

    /// <summary>Reset-before, every row back, first half: dn and dz; dh becomes its direct part.</summary>
    public static void BackwardResetBeforeRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hPrev, int ldh, DeviceSpan dy, int ldy, DeviceSpan dh, DeviceSpan dGates) =>
        Rows(2, batch, hidden, gates, new CellViews { Dy = dy.View, Carry = dh.View, DGates = dGates.View }, hPrev, ldh, default, ldy);

    /// <summary>Reset-before, every row back, second half: dr; dh += d(r ⊙ h) ⊙ r.</summary>
    public static void FinishBackwardResetBeforeRows(int batch, int hidden, DeviceSpan gates, DeviceSpan hPrev, int ldh, DeviceSpan dRh, DeviceSpan dh, DeviceSpan dGates) =>
        Rows(3, batch, hidden, gates, new CellViews { Carry2 = dRh.View, Carry = dh.View, DGates = dGates.View }, hPrev, ldh, default, 0);

    /// <summary>One launch over every unit of every row: mode 0–3 as the four halves above.</summary>
    private static void Rows(int mode, int batch, int hidden, DeviceSpan gates, CellViews views, DeviceSpan hPrev, int ldh, DeviceSpan h, int ldy)
    {
        Cell.Require(gates.Length >= batch * 3 * hidden, "GruCell", batch, hidden);
        Device device = gates.Device;
        views.Gates = gates.View;
        views.Previous = hPrev.ViewOrPlaceholder(device);
        device.Kernels.GruResetBefore(batch * hidden, Cell.Fill(views, device),
            new CellArgs { Hidden = hidden, HasPrev = hPrev.IsEmpty ? 0 : 1, LdPrevious = ldh, LdY = ldy, Mode = mode, H = h.ViewOrPlaceholder(device) });
    }
}

/// <summary>Elman steps on the device, as <c>Dsl.Kernels.RnnCell</c>.</summary>
public static class RnnCell
{
    /// <summary>h' = act(pre), one row.</summary>
    public static void Forward(DeviceSpan preActivation, DeviceSpan h, bool relu) => ForwardRows(1, h.Length, preActivation, h.Length, h, h.Length, relu);

    /// <summary>d(pre) = (dy + dh) ⊙ act'(h), one row.</summary>
    public static void Backward(DeviceSpan h, DeviceSpan dy, DeviceSpan dh, DeviceSpan dPre, bool relu) => BackwardRows(1, h.Length, h, h.Length, dy, h.Length, dh, dPre, h.Length, relu);

    /// <summary>Every row of a step: h' (row stride <paramref name="ldy"/>) = act(pre) (row stride <paramref name="ldg"/>).</summary>
    public static void ForwardRows(int batch, int hidden, DeviceSpan preActivation, int ldg, DeviceSpan h, int ldy, bool relu)
    {
        if (ldg != hidden) throw new ArgumentException($"RnnCell: pre-activation rows {ldg} apart, expected {hidden}.", nameof(ldg));
        Device device = h.Device;
        var views = new CellViews { Gates = preActivation.View };
        device.Kernels.Rnn(batch * hidden, Cell.Fill(views, device), new CellArgs { Hidden = hidden, LdY = ldy, Relu = relu ? 1 : 0, H = h.View });
    }

    /// <summary>Every row of a step back: dPre [B, H] (row stride <paramref name="ldd"/>) from h (row stride <paramref name="ldh"/>), dy (row stride <paramref name="ldy"/>) and the carried dh [B, H].</summary>
    public static void BackwardRows(int batch, int hidden, DeviceSpan h, int ldh, DeviceSpan dy, int ldy, DeviceSpan dh, DeviceSpan dPre, int ldd, bool relu)
    {
        if (ldd != hidden) throw new ArgumentException($"RnnCell: gradient rows {ldd} apart, expected {hidden}.", nameof(ldd));
        Device device = h.Device;
        var views = new CellViews { Previous = h.View, Dy = dy.View, Carry = dh.View, DGates = dPre.View };
        device.Kernels.Rnn(batch * hidden, Cell.Fill(views, device), new CellArgs { Hidden = hidden, LdY = ldy, LdPrevious = ldh, Relu = relu ? 1 : 0, Backward = 1 });
    }
}

internal static class Cell
{
    /// <summary>Every view a kernel does not use becomes the placeholder (a kernel argument cannot be an empty view on every backend).</summary>
    public static CellViews Fill(CellViews v, Device device)
    {
        ArrayView<float> p = device.Placeholder;
        if (!v.Gates.IsValid) v.Gates = p;
        if (!v.Hidden.IsValid) v.Hidden = p;
        if (!v.State.IsValid) v.State = p;
        if (!v.Previous.IsValid) v.Previous = p;
        if (!v.Dy.IsValid) v.Dy = p;
        if (!v.Carry.IsValid) v.Carry = p;
        if (!v.Carry2.IsValid) v.Carry2 = p;
        if (!v.DGates.IsValid) v.DGates = p;
        return v;
    }

    public static void Require(bool ok, string cell, int batch, int hidden)
    {
        if (!ok) throw new ArgumentException($"{cell}: a buffer is too small for batch {batch} and hidden {hidden}.");
    }
}
