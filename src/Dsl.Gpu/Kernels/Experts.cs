using System;

namespace Dsl.Gpu.Kernels;

/// <summary>
/// A mixture of experts on the device, as <c>Dsl.Kernels.Experts</c>: the routing (a softmax and the top k of [rows, E], and the
/// grouping by expert) runs on the host, where the choices' ints live, through the host's own <c>Route</c> and
/// <c>RouteBackward</c> (the router's logits copied over, the probabilities and weights copied back); each expert's two
/// products and its activation run on the device over its own rows, and the rows' weighted sums in kernels of their own.
/// </summary>
public static class Experts
{
    [ThreadStatic] private static float[]? t_probs, t_weights, t_dWeights, t_dLogits, t_balance;

    private static Span<float> Host(ref float[]? scratch, long length)
    {
        if (scratch is null || scratch.Length < length) scratch = new float[Math.Max(64, length)];
        return scratch.AsSpan(0, (int)length);
    }

    /// <summary>As the host's <c>Experts.Route</c>: <paramref name="probs"/> holds the logits and becomes their softmax.</summary>
    public static void Route(int rows, int experts, int topK, bool normalize, DeviceSpan probs, DeviceSpan weights, Span<int> choice, Span<int> positions, Span<int> sources, Span<int> offsets)
    {
        Dsl.Kernels.Experts.RequireRouting(rows, experts, topK, probs.Length, weights.Length, choice.Length, positions.Length, sources.Length, offsets.Length);
        int cells = rows * experts, slots = rows * topK;
        Span<float> p = Host(ref t_probs, cells), w = Host(ref t_weights, slots);
        probs.Slice(0, cells).CopyTo(p);
        Dsl.Kernels.Experts.Route(rows, experts, topK, normalize, p, w, choice, positions, sources, offsets);
        probs.CopyFrom(p);
        weights.CopyFrom(w);
    }

    /// <summary>As the host's <c>Experts.Forward</c>.</summary>
    public static void Forward(Activation kind, bool gated, int rows, int topK, int width, int units, DeviceSpan x, DeviceSpan weightIn, DeviceSpan biasIn, DeviceSpan weightOut,
        DeviceSpan biasOut, DeviceSpan weights, ReadOnlySpan<int> positions, ReadOnlySpan<int> sources, ReadOnlySpan<int> offsets, DeviceSpan gathered, DeviceSpan pre,
        DeviceSpan hidden, DeviceSpan expertOut, DeviceSpan y)
    {
        var s = Dsl.Kernels.Experts.CheckForward(gated, rows, topK, width, units, x.Length, weightIn.Length, biasIn.Length, weightOut.Length, biasOut.Length, weights.Length, offsets,
            gathered.Length, pre.Length, hidden.Length, expertOut.Length, y.Length);
        if (s.Slots == 0) return;
        Layout.GatherRows(x, sources.Slice(0, s.Slots), width, gathered);
        int inner = s.Inner;
        for (int e = 0; e < s.Experts; e++)
        {
            int first = offsets[e], n = offsets[e + 1] - first;
            if (n == 0) continue;
            DeviceSpan g = gathered.Slice(first * width, n * width), wIn = weightIn.Slice(e * inner * width, inner * width), wOut = weightOut.Slice(e * width * units, width * units);
            DeviceSpan p = pre.Slice(first * inner, n * inner), h = hidden.Slice(first * units, n * units), o = expertOut.Slice(first * width, n * width);
            if (biasIn.IsEmpty) Gemm.MatMulTransB(n, inner, width, g, width, wIn, width, p, inner, accumulate: false);
            else Gemm.MatMulTransB(n, inner, width, g, width, wIn, width, biasIn.Slice(e * inner, inner), p, inner);
            if (gated) GatedActivations.Forward(kind, n, units, p, h);
            else if (Dsl.Kernels.Activations.FromInput(kind)) Activations.Apply(kind, p, h);
            else
            {
                p.CopyTo(h);
                Activations.Apply(kind, h);
            }
            if (biasOut.IsEmpty) Gemm.MatMulTransB(n, width, units, h, units, wOut, units, o, width, accumulate: false);
            else Gemm.MatMulTransB(n, width, units, h, units, wOut, units, biasOut.Slice(e * width, width), o, width);
        }
        Combine(rows, topK, width, expertOut, weights, positions, y);
    }

    /// <summary>As the host's <c>Experts.Backward</c>.</summary>
    public static void Backward(Activation kind, bool gated, int rows, int topK, int width, int units, DeviceSpan weightIn, DeviceSpan weightOut, DeviceSpan weights,
        ReadOnlySpan<int> positions, ReadOnlySpan<int> sources, ReadOnlySpan<int> offsets, DeviceSpan gathered, DeviceSpan pre, DeviceSpan hidden, DeviceSpan expertOut, DeviceSpan dy,
        DeviceSpan dWeights, DeviceSpan dExpertOut, DeviceSpan dHidden, DeviceSpan dPre, DeviceSpan dWeightIn, DeviceSpan dBiasIn, DeviceSpan dWeightOut, DeviceSpan dBiasOut, DeviceSpan dx)
    {
        var s = Dsl.Kernels.Experts.CheckBackward(gated, rows, topK, width, units, weightIn.Length, weightOut.Length, weights.Length, offsets, gathered.Length, pre.Length, hidden.Length,
            expertOut.Length, dy.Length, dWeights.Length, dExpertOut.Length, dHidden.Length, dPre.Length, dWeightIn.Length, dBiasIn.Length, dWeightOut.Length, dBiasOut.Length, dx.Length);
        if (s.Slots == 0) return;
        Device device = dy.Device;
        int inner = s.Inner;
        ILGPU.ArrayView<int> at = device.Upload(positions.Slice(0, s.Slots)); // (valid until the next upload: both kernels read it first)
        device.Kernels.ExpertsDots(s.Slots, dy.View, expertOut.View, at, dWeights.View, width, topK);
        device.Kernels.ExpertsSpread(s.Slots * width, dy.View, weights.View, at, dExpertOut.View, width, topK);
        for (int e = 0; e < s.Experts; e++)
        {
            int first = offsets[e], n = offsets[e + 1] - first;
            if (n == 0) continue;
            DeviceSpan g = gathered.Slice(first * width, n * width), p = pre.Slice(first * inner, n * inner), h = hidden.Slice(first * units, n * units);
            DeviceSpan wIn = weightIn.Slice(e * inner * width, inner * width), wOut = weightOut.Slice(e * width * units, width * units);
            DeviceSpan dOut = dExpertOut.Slice(first * width, n * width), dh = dHidden.Slice(first * units, n * units), dp = dPre.Slice(first * inner, n * inner);
            Gemm.MatMul(n, units, width, dOut, width, wOut, units, dh, units, accumulate: false);
            Gemm.MatMulTransA(width, units, n, dOut, width, h, units, dWeightOut.Slice(e * width * units, width * units), units, accumulate: true);
            if (!dBiasOut.IsEmpty) Activations.AddColumnSums(dOut, n, dBiasOut.Slice(e * width, width));
            if (gated) GatedActivations.Backward(kind, n, units, p, dh, dp);
            else
            {
                dh.CopyTo(dp);
                if (Dsl.Kernels.Activations.FromInput(kind)) Activations.BackwardFromInput(kind, p, dp);
                else Activations.Backward(kind, h, dp);
            }
            Gemm.MatMulTransA(inner, width, n, dp, inner, g, width, dWeightIn.Slice(e * inner * width, inner * width), width, accumulate: true);
            if (!dBiasIn.IsEmpty) Activations.AddColumnSums(dp, n, dBiasIn.Slice(e * inner, inner));
            if (!dx.IsEmpty) Gemm.MatMul(n, width, inner, dp, inner, wIn, width, dOut, width, accumulate: false);
        }
        if (!dx.IsEmpty) Combine(rows, topK, width, dExpertOut, default, positions, dx);
    }

    /// <summary>As the host's <c>Experts.RouteBackward</c>: the gradients of the chosen weights copied over, the logits' copied back.</summary>
    public static void RouteBackward(int rows, int experts, int topK, bool normalize, DeviceSpan probs, DeviceSpan weights, ReadOnlySpan<int> choice, DeviceSpan dWeights, DeviceSpan dLogits)
    {
        Dsl.Kernels.Experts.RequireRouteBackward(rows, experts, topK, probs.Length, weights.Length, choice.Length, dWeights.Length, dLogits.Length);
        int cells = rows * experts, slots = rows * topK;
        if (cells == 0) return;
        Span<float> p = Host(ref t_probs, cells), w = Host(ref t_weights, slots), dw = Host(ref t_dWeights, slots);
        probs.Slice(0, cells).CopyTo(p);
        weights.Slice(0, slots).CopyTo(w);
        dWeights.Slice(0, slots).CopyTo(dw);
        Span<float> dl = Host(ref t_dLogits, cells);
        Dsl.Kernels.Experts.RouteBackward(rows, experts, topK, normalize, p, w, choice, dw, dl);
        dLogits.CopyFrom(dl);
    }

    /// <summary>As the host's <c>Experts.Balance</c>: the probabilities copied over, each expert's slope copied back.</summary>
    public static void Balance(int rows, int batch, int topK, float coefficient, DeviceSpan probs, ReadOnlySpan<int> choice, ReadOnlySpan<int> lengths, DeviceSpan balance,
        ref float loss)
    {
        Dsl.Kernels.Experts.RequireBalance(rows, batch, balance.Length, probs.Length, lengths.Length);
        int cells = rows * balance.Length;
        Span<float> p = Host(ref t_probs, cells), b = Host(ref t_balance, balance.Length);
        probs.Slice(0, cells).CopyTo(p);
        Dsl.Kernels.Experts.Balance(rows, batch, topK, coefficient, p, choice, lengths, b, ref loss);
        balance.CopyFrom(b);
    }

    /// <summary>As the host's <c>Experts.BalanceBackward</c>: the probabilities, the slopes and the logits' gradient copied over, the gradient back.</summary>
    public static void BalanceBackward(int rows, int batch, DeviceSpan probs, DeviceSpan balance, ReadOnlySpan<int> lengths, DeviceSpan dLogits)
    {
        Dsl.Kernels.Experts.RequireBalance(rows, batch, balance.Length, probs.Length, lengths.Length);
        int cells = rows * balance.Length;
        if (cells == 0) return;
        if (dLogits.Length < cells) throw new ArgumentException($"Experts.BalanceBackward: {dLogits.Length} logits' gradients for {rows} rows × {balance.Length} experts.", nameof(dLogits));
        Span<float> p = Host(ref t_probs, cells), b = Host(ref t_balance, balance.Length), dl = Host(ref t_dLogits, cells);
        probs.Slice(0, cells).CopyTo(p);
        balance.CopyTo(b);
        dLogits.Slice(0, cells).CopyTo(dl);
        Dsl.Kernels.Experts.BalanceBackward(rows, batch, p, b, lengths, dl);
        dLogits.CopyFrom(dl);
    }

    /// <summary>As the host's <c>Experts.AddShared</c>: y += σ(gate) · shared per row (gate empty: y += shared).</summary>
    public static void AddShared(int rows, int width, DeviceSpan gate, DeviceSpan shared, DeviceSpan y)
    {
        Dsl.Kernels.Experts.RequireShared(nameof(AddShared), rows, width, gate.Length, optionalGate: true, shared.Length, y.Length);
        Device device = y.Device;
        device.Kernels.ExpertsShared(rows * width, gate.ViewOrPlaceholder(device), shared.View, y.View, width, gated: !gate.IsEmpty);
    }

    /// <summary>As the host's <c>Experts.SharedBackward</c>.</summary>
    public static void SharedBackward(int rows, int width, DeviceSpan gate, DeviceSpan shared, DeviceSpan dy, DeviceSpan dShared, DeviceSpan dGate)
    {
        Dsl.Kernels.Experts.RequireShared(nameof(SharedBackward), rows, width, gate.Length, optionalGate: false, shared.Length, dy.Length, dShared.Length);
        if (dGate.Length < rows) throw new ArgumentException($"Experts.SharedBackward: dGate has {dGate.Length} values, expected at least {rows} (one per row).", nameof(dGate));
        dy.Device.Kernels.ExpertsSharedBackward(rows, gate.View, shared.View, dy.View, dShared.View, dGate.View, width);
    }

    /// <summary>into[r] = Σ over row r's choices of (weights[r, j] ·) grouped[positions[r, j]]; weights empty: 1.</summary>
    private static void Combine(int rows, int topK, int width, DeviceSpan grouped, DeviceSpan weights, ReadOnlySpan<int> positions, DeviceSpan into)
    {
        Device device = into.Device;
        device.Kernels.ExpertsCombine(rows * width, grouped.View, weights.ViewOrPlaceholder(device), device.Upload(positions.Slice(0, rows * topK)), into.View, width, topK,
            weighted: !weights.IsEmpty);
    }
}
