using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>
/// A sparse mixture of experts (Shazeer et al. 2017; the Switch Transformer; Mixtral): the router's softmax chooses each row's
/// top k experts (<see cref="Route"/>), the rows are grouped by expert — k copies of each row, an expert's rows together — so that
/// each expert runs as two products over its own rows (<see cref="Forward"/>), and the outputs are added back per row, weighted.
/// The step back (<see cref="Backward"/>, <see cref="RouteBackward"/>) follows the same groups; the choice itself has no gradient.
/// </summary>
/// <remarks>
/// Layouts, for <c>rows</c> rows, E experts, k chosen per row, width D, U units inside (I = 2U gated, else U): the router's
/// probabilities [rows, E]; the weights, the choices (most probable first), and each choice's position among the grouped rows
/// [rows, k]; the grouped rows' sources (the row each copies) [rows · k]; the groups' offsets [E + 1]; the grouped rows
/// [rows · k, D], their inner maps [rows · k, I], units [rows · k, U] and expert outputs [rows · k, D]. Expert e's weights are
/// block e of <c>weightIn</c> [E, I, D] and <c>weightOut</c> [E, D, U]; its biases row e of [E, I] and [E, D] (empty: none).
/// </remarks>
public static class Experts
{
    /// <summary>
    /// <paramref name="probs"/> [rows, E] holds the router's logits and becomes their softmax; each row's <paramref name="topK"/> most
    /// probable experts (the lower index first among equals) go to <paramref name="choice"/>, their probabilities to
    /// <paramref name="weights"/> (divided by their sum with <paramref name="normalize"/>); the rows are grouped by expert, in
    /// the order of the rows: <paramref name="offsets"/>, <paramref name="sources"/> and <paramref name="positions"/>.
    /// </summary>
    public static void Route(int rows, int experts, int topK, bool normalize, Span<float> probs, Span<float> weights, Span<int> choice, Span<int> positions,
        Span<int> sources, Span<int> offsets)
    {
        RequireRouting(rows, experts, topK, probs.Length, weights.Length, choice.Length, positions.Length, sources.Length, offsets.Length);
        for (int r = 0; r < rows; r++)
        {
            Span<float> p = probs.Slice(r * experts, experts);
            Activations.StableSoftmax(p);
            Span<int> chosen = choice.Slice(r * topK, topK);
            Span<float> w = weights.Slice(r * topK, topK);
            float sum = 0f;
            for (int j = 0; j < topK; j++)
            {
                int best = -1;
                for (int e = 0; e < experts; e++)
                    if ((best < 0 || p[e] > p[best]) && !chosen[..j].Contains(e)) best = e;
                chosen[j] = best;
                w[j] = p[best];
                sum += p[best];
            }
            if (normalize) TensorPrimitives.Divide(w, sum, w);
        }
        Group(rows, experts, topK, choice, positions, sources, offsets);
    }

    /// <summary>Counts each expert's rows into <paramref name="offsets"/> and lays the rows' copies out expert by expert, each expert's in the order of the rows.</summary>
    private static void Group(int rows, int experts, int topK, ReadOnlySpan<int> choice, Span<int> positions, Span<int> sources, Span<int> offsets)
    {
        int slots = rows * topK;
        offsets.Slice(0, experts + 1).Clear();
        for (int s = 0; s < slots; s++) offsets[choice[s] + 1]++;
        for (int e = 0; e < experts; e++) offsets[e + 1] += offsets[e];
        // offsets[e] serves as expert e's cursor, then moves back one place
        for (int s = 0; s < slots; s++)
        {
            int at = offsets[choice[s]]++;
            positions[s] = at;
            sources[at] = s / topK;
        }
        for (int e = experts; e > 0; e--) offsets[e] = offsets[e - 1];
        offsets[0] = 0;
    }

    /// <summary>
    /// y [rows, D] = Σ over each row's choices of weight · expert(x): the rows gathered by expert, then per expert
    /// pre = gathered · W_inᵀ (+ b_in), hidden = act (value ⊙ act(gate) when <paramref name="gated"/>), out = hidden · W_outᵀ (+ b_out);
    /// keeps the gathered rows, pre, hidden and the expert outputs for <see cref="Backward"/>. The experts' weights may be held in
    /// bfloat16 or 8 bits (<see cref="Weights"/>: each expert's rows whole).
    /// </summary>
    public static void Forward(Activation kind, bool gated, int rows, int topK, int width, int units, ReadOnlySpan<float> x, Weights weightIn, ReadOnlySpan<float> biasIn,
        Weights weightOut, ReadOnlySpan<float> biasOut, ReadOnlySpan<float> weights, ReadOnlySpan<int> positions, ReadOnlySpan<int> sources,
        ReadOnlySpan<int> offsets, Span<float> gathered, Span<float> pre, Span<float> hidden, Span<float> expertOut, Span<float> y)
    {
        var s = CheckForward(gated, rows, topK, width, units, x.Length, weightIn.Length, biasIn.Length, weightOut.Length, biasOut.Length, weights.Length, offsets, gathered.Length, pre.Length,
            hidden.Length, expertOut.Length, y.Length);
        Layout.GatherRows(x, sources.Slice(0, s.Slots), width, gathered.Slice(0, s.Slots * width));
        int inner = s.Inner;
        for (int e = 0; e < s.Experts; e++)
        {
            int first = offsets[e], n = offsets[e + 1] - first;
            if (n == 0) continue;
            ReadOnlySpan<float> g = gathered.Slice(first * width, n * width);
            Weights wIn = weightIn.Slice(e * inner * width, inner * width), wOut = weightOut.Slice(e * width * units, width * units);
            Span<float> p = pre.Slice(first * inner, n * inner), h = hidden.Slice(first * units, n * units), o = expertOut.Slice(first * width, n * width);
            if (biasIn.IsEmpty) Gemm.MatMulTransB(n, inner, width, g, width, wIn, width, p, inner, accumulate: false);
            else Gemm.MatMulTransB(n, inner, width, g, width, wIn, width, biasIn.Slice(e * inner, inner), p, inner);
            if (gated) GatedActivations.Forward(kind, n, units, p, h);
            else if (Activations.FromInput(kind)) Activations.Apply(kind, p, h);
            else
            {
                p.CopyTo(h);
                Activations.Apply(kind, h);
            }
            if (biasOut.IsEmpty) Gemm.MatMulTransB(n, width, units, h, units, wOut, units, o, width, accumulate: false);
            else Gemm.MatMulTransB(n, width, units, h, units, wOut, units, biasOut.Slice(e * width, width), o, width);
        }
        Combine(rows, s.TopK, width, expertOut, weights, positions, y);
    }

    /// <summary>
    /// The step back of <see cref="Forward"/>: dweights [rows, k] = dy · each choice's expert output; each expert back through its
    /// two maps (their gradients added, the biases' with them); <paramref name="dx"/> [rows, D] (empty: not wanted) written with
    /// the sum of each row's copies' gradients. <paramref name="dExpertOut"/> holds each grouped row's output gradient, then its
    /// input's; <paramref name="dHidden"/> and <paramref name="dPre"/> are scratch of hidden's and pre's shapes.
    /// </summary>
    public static void Backward(Activation kind, bool gated, int rows, int topK, int width, int units, ReadOnlySpan<float> weightIn, ReadOnlySpan<float> weightOut, ReadOnlySpan<float> weights,
        ReadOnlySpan<int> positions, ReadOnlySpan<int> sources, ReadOnlySpan<int> offsets, ReadOnlySpan<float> gathered, ReadOnlySpan<float> pre, ReadOnlySpan<float> hidden,
        ReadOnlySpan<float> expertOut, ReadOnlySpan<float> dy, Span<float> dWeights, Span<float> dExpertOut, Span<float> dHidden, Span<float> dPre, Span<float> dWeightIn,
        Span<float> dBiasIn, Span<float> dWeightOut, Span<float> dBiasOut, Span<float> dx)
    {
        var s = CheckBackward(gated, rows, topK, width, units, weightIn.Length, weightOut.Length, weights.Length, offsets, gathered.Length, pre.Length, hidden.Length, expertOut.Length,
            dy.Length, dWeights.Length, dExpertOut.Length, dHidden.Length, dPre.Length, dWeightIn.Length, dBiasIn.Length, dWeightOut.Length, dBiasOut.Length, dx.Length);
        int k = s.TopK, inner = s.Inner;
        for (int slot = 0; slot < s.Slots; slot++)
        {
            ReadOnlySpan<float> d = dy.Slice(slot / k * width, width);
            int at = positions[slot] * width;
            dWeights[slot] = TensorPrimitives.Dot(d, expertOut.Slice(at, width));
            TensorPrimitives.Multiply(d, weights[slot], dExpertOut.Slice(at, width));
        }
        for (int e = 0; e < s.Experts; e++)
        {
            int first = offsets[e], n = offsets[e + 1] - first;
            if (n == 0) continue;
            ReadOnlySpan<float> g = gathered.Slice(first * width, n * width), p = pre.Slice(first * inner, n * inner), h = hidden.Slice(first * units, n * units);
            ReadOnlySpan<float> wIn = weightIn.Slice(e * inner * width, inner * width), wOut = weightOut.Slice(e * width * units, width * units);
            Span<float> dOut = dExpertOut.Slice(first * width, n * width), dh = dHidden.Slice(first * units, n * units), dp = dPre.Slice(first * inner, n * inner);
            Gemm.MatMul(n, units, width, dOut, width, wOut, units, dh, units, accumulate: false);
            Gemm.MatMulTransA(width, units, n, dOut, width, h, units, dWeightOut.Slice(e * width * units, width * units), units, accumulate: true);
            if (!dBiasOut.IsEmpty) Activations.AddColumnSums(dOut, n, dBiasOut.Slice(e * width, width));
            if (gated) GatedActivations.Backward(kind, n, units, p, dh, dp);
            else
            {
                dh.CopyTo(dp);
                if (Activations.FromInput(kind)) Activations.BackwardFromInput(kind, p, dp);
                else Activations.Backward(kind, h, dp);
            }
            Gemm.MatMulTransA(inner, width, n, dp, inner, g, width, dWeightIn.Slice(e * inner * width, inner * width), width, accumulate: true);
            if (!dBiasIn.IsEmpty) Activations.AddColumnSums(dp, n, dBiasIn.Slice(e * inner, inner));
            // the grouped rows' own gradient, over their output's (read already)
            if (!dx.IsEmpty) Gemm.MatMul(n, width, inner, dp, inner, wIn, width, dOut, width, accumulate: false);
        }
        if (!dx.IsEmpty) Combine(rows, k, width, dExpertOut, default, positions, dx);
    }

    /// <summary>
    /// dlogits [rows, E] from the chosen weights' gradient: the chosen probabilities' (through the division by their sum with
    /// <paramref name="normalize"/>), 0 for the others, then back through the softmax.
    /// </summary>
    public static void RouteBackward(int rows, int experts, int topK, bool normalize, ReadOnlySpan<float> probs, ReadOnlySpan<float> weights, ReadOnlySpan<int> choice,
        ReadOnlySpan<float> dWeights, Span<float> dLogits)
    {
        RequireRouteBackward(rows, experts, topK, probs.Length, weights.Length, choice.Length, dWeights.Length, dLogits.Length);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> p = probs.Slice(r * experts, experts), w = weights.Slice(r * topK, topK), dw = dWeights.Slice(r * topK, topK);
            ReadOnlySpan<int> chosen = choice.Slice(r * topK, topK);
            Span<float> dl = dLogits.Slice(r * experts, experts);
            // w = p_chosen / Σ p_chosen: dp_j = (dw_j − Σ_i dw_i w_i) / Σ p_chosen
            float sum = 0f, shift = 0f;
            if (normalize)
            {
                for (int j = 0; j < topK; j++) sum += p[chosen[j]];
                shift = TensorPrimitives.Dot(dw, w);
            }
            float dot = 0f;
            for (int j = 0; j < topK; j++) dot += Chosen(dw[j], shift, sum, normalize) * p[chosen[j]];
            // softmax: dlogit_e = p_e (dp_e − Σ dp · p)
            TensorPrimitives.Multiply(p, -dot, dl);
            for (int j = 0; j < topK; j++) dl[chosen[j]] += p[chosen[j]] * Chosen(dw[j], shift, sum, normalize);
        }
    }

    private static float Chosen(float dw, float shift, float sum, bool normalize) => normalize ? (dw - shift) / sum : dw;

    /// <summary>
    /// The Switch Transformer's load-balancing loss of the pass (Fedus et al. 2021, as Hugging Face's <c>load_balancing_loss_func</c>
    /// computes it for one layer): over the N valid rows (time-major [T, B] rows of <paramref name="batch"/> sequences, those past a
    /// sequence's length left out; every row where <paramref name="lengths"/> is empty), f_e = the rows' choices of expert e / N and
    /// P_e = the mean probability of expert e; adds <paramref name="coefficient"/> · E · Σ_e f_e · P_e to <paramref name="loss"/> and
    /// writes its slope in each valid row's probability of expert e, <paramref name="coefficient"/> · E · f_e / N, into
    /// <paramref name="balance"/> [E] for <see cref="BalanceBackward"/>.
    /// </summary>
    public static void Balance(int rows, int batch, int topK, float coefficient, ReadOnlySpan<float> probs, ReadOnlySpan<int> choice, ReadOnlySpan<int> lengths,
        Span<float> balance, ref float loss)
    {
        int experts = balance.Length;
        RequireBalance(rows, batch, experts, probs.Length, lengths.Length);
        if (choice.Length < (long)rows * topK) throw new ArgumentException($"Experts.Balance: {choice.Length} choices for {rows} rows × {topK}.", nameof(choice));
        balance.Clear();
        float[]? rented = experts > 256 ? System.Buffers.ArrayPool<float>.Shared.Rent(experts) : null;
        Span<float> mean = rented is null ? stackalloc float[experts] : rented.AsSpan(0, experts);
        mean.Clear();
        int valid = 0;
        for (int r = 0; r < rows; r++)
        {
            if (!Valid(r, batch, lengths)) continue;
            valid++;
            foreach (int e in choice.Slice(r * topK, topK)) balance[e] += 1f;
            TensorPrimitives.Add(mean, probs.Slice(r * experts, experts), mean);
        }
        if (valid > 0)
        {
            // Σ_e f_e · P_e = Σ_e count_e · Σ_r p_re / N²
            float n2 = (float)valid * valid;
            loss += coefficient * experts * (TensorPrimitives.Dot(balance, mean) / n2);
            TensorPrimitives.Multiply(balance, coefficient * experts / n2, balance);
        }
        if (rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>
    /// Adds the load-balancing loss's gradient to <paramref name="dLogits"/> [rows, E]: each valid row's probabilities' slopes
    /// (<paramref name="balance"/>, from <see cref="Balance"/>) back through the softmax, dlogit_e += p_e (g_e − Σ g · p).
    /// </summary>
    public static void BalanceBackward(int rows, int batch, ReadOnlySpan<float> probs, ReadOnlySpan<float> balance, ReadOnlySpan<int> lengths, Span<float> dLogits)
    {
        int experts = balance.Length;
        RequireBalance(rows, batch, experts, probs.Length, lengths.Length);
        if (dLogits.Length < (long)rows * experts) throw new ArgumentException($"Experts.BalanceBackward: {dLogits.Length} logits' gradients for {rows} rows × {experts} experts.", nameof(dLogits));
        for (int r = 0; r < rows; r++)
        {
            if (!Valid(r, batch, lengths)) continue;
            ReadOnlySpan<float> p = probs.Slice(r * experts, experts);
            Span<float> dl = dLogits.Slice(r * experts, experts);
            float dot = TensorPrimitives.Dot(balance, p);
            for (int e = 0; e < experts; e++) dl[e] += p[e] * (balance[e] - dot);
        }
    }

    /// <summary>Whether row <paramref name="r"/> (time-major, <paramref name="batch"/> sequences per step) lies within its sequence's length.</summary>
    private static bool Valid(int r, int batch, ReadOnlySpan<int> lengths) => lengths.IsEmpty || r / batch < lengths[r % batch];

    /// <summary><see cref="Balance"/>'s and <see cref="BalanceBackward"/>'s checks (the host's and the device's).</summary>
    internal static void RequireBalance(int rows, int batch, int experts, long probs, long lengths)
    {
        if (rows < 0 || rows > 0 && (batch < 1 || rows % batch != 0) || experts < 1 || probs < (long)rows * experts || lengths != 0 && lengths != batch)
            throw new ArgumentException($"Experts.Balance: expected rows ≥ 0 in steps of {batch} sequences, at least one expert, {rows} × {experts} probabilities and no lengths or one per sequence; got {rows} rows, {experts} experts, {probs} probabilities, {lengths} lengths.");
    }

    /// <summary>
    /// A shared expert's output added to the chosen experts': y[r] += σ(gate[r]) · shared[r] for each of the rows, the gate's
    /// logit [rows] (Qwen2-MoE's <c>shared_expert_gate</c>); <paramref name="gate"/> empty: y += shared (DeepSeekMoE's).
    /// </summary>
    public static void AddShared(int rows, int width, ReadOnlySpan<float> gate, ReadOnlySpan<float> shared, Span<float> y)
    {
        RequireShared(nameof(AddShared), rows, width, gate.Length, optionalGate: true, shared.Length, y.Length);
        int n = rows * width;
        if (gate.IsEmpty)
        {
            TensorPrimitives.Add(y.Slice(0, n), shared.Slice(0, n), y.Slice(0, n));
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = y.Slice(r * width, width);
            TensorPrimitives.MultiplyAdd(shared.Slice(r * width, width), Activations.Sigmoid(gate[r]), row, row);
        }
    }

    /// <summary>
    /// The step back of <see cref="AddShared"/> with a gate: dShared[r] = σ(gate[r]) · dy[r] and dGate[r] = σ'(gate[r]) · (dy[r] · shared[r]),
    /// both written.
    /// </summary>
    public static void SharedBackward(int rows, int width, ReadOnlySpan<float> gate, ReadOnlySpan<float> shared, ReadOnlySpan<float> dy, Span<float> dShared, Span<float> dGate)
    {
        RequireShared(nameof(SharedBackward), rows, width, gate.Length, optionalGate: false, shared.Length, dy.Length, dShared.Length);
        if (dGate.Length < rows) throw new ArgumentException($"Experts.SharedBackward: dGate has {dGate.Length} values, expected at least {rows} (one per row).", nameof(dGate));
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> dyRow = dy.Slice(r * width, width);
            float sigma = Activations.Sigmoid(gate[r]);
            dGate[r] = sigma * (1f - sigma) * TensorPrimitives.Dot(dyRow, shared.Slice(r * width, width));
            TensorPrimitives.Multiply(dyRow, sigma, dShared.Slice(r * width, width));
        }
    }

    /// <summary>
    /// <see cref="AddShared"/>'s and <see cref="SharedBackward"/>'s checks (the host's and the device's): a gate logit per row (or
    /// none where optional), and [rows, width] in each of the others (<paramref name="third"/>: where there are three).
    /// </summary>
    internal static void RequireShared(string name, int rows, int width, long gate, bool optionalGate, long first, long second, long third = long.MaxValue)
    {
        long need = (long)rows * width;
        if (rows < 0 || width < 1 || !(gate >= rows || optionalGate && gate == 0) || first < need || second < need || third < need)
            throw new ArgumentException($"Experts.{name}: expected rows ≥ 0, width ≥ 1, {(optionalGate ? "no gate or " : "")}a gate logit per row and [{rows}, {width}] ({need} values) for the rest; got {rows} rows, width {width}, {gate} gate logits, {first}, {second}{(third == long.MaxValue ? "" : $" and {third}")} values.");
    }

    /// <summary>into[r] = Σ over row r's choices j of weights[r, j] · grouped[positions[r, j]] (weights empty: 1).</summary>
    private static void Combine(int rows, int topK, int width, ReadOnlySpan<float> grouped, ReadOnlySpan<float> weights, ReadOnlySpan<int> positions, Span<float> into)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = into.Slice(r * width, width);
            for (int j = 0; j < topK; j++)
            {
                int slot = r * topK + j;
                ReadOnlySpan<float> g = grouped.Slice(positions[slot] * width, width);
                if (j == 0)
                {
                    if (weights.IsEmpty) g.CopyTo(row);
                    else TensorPrimitives.Multiply(g, weights[slot], row);
                }
                else if (weights.IsEmpty) TensorPrimitives.Add(row, g, row);
                else TensorPrimitives.MultiplyAdd(g, weights[slot], row, row);
            }
        }
    }

    /// <summary><see cref="Forward"/>'s checks of its spans' lengths (the host's and the device's): their sizes, or an ArgumentException naming what was expected.</summary>
    internal static Sizes CheckForward(bool gated, int rows, int topK, int width, int units, long x, long weightIn, long biasIn, long weightOut, long biasOut, long weights, ReadOnlySpan<int> offsets,
        long gathered, long pre, long hidden, long expertOut, long y)
    {
        var s = Sizes.Of(gated, rows, topK, width, units, weights, offsets, weightIn, weightOut);
        s.Require(x, "x", width, perRow: true);
        s.Require(y, "y", width, perRow: true);
        s.RequireGrouped(gathered, "gathered", width);
        s.RequireGrouped(pre, "pre", s.Inner);
        s.RequireGrouped(hidden, "hidden", units);
        s.RequireGrouped(expertOut, "expertOut", width);
        s.RequireBiases(biasIn, biasOut);
        return s;
    }

    /// <summary><see cref="Backward"/>'s checks of its spans' lengths (the host's and the device's); <paramref name="dx"/> 0: not wanted.</summary>
    internal static Sizes CheckBackward(bool gated, int rows, int topK, int width, int units, long weightIn, long weightOut, long weights, ReadOnlySpan<int> offsets, long gathered, long pre,
        long hidden, long expertOut, long dy, long dWeights, long dExpertOut, long dHidden, long dPre, long dWeightIn, long dBiasIn, long dWeightOut, long dBiasOut, long dx)
    {
        var s = Sizes.Of(gated, rows, topK, width, units, weights, offsets, weightIn, weightOut);
        s.Require(dy, "dy", width, perRow: true);
        s.Require(dWeights, "dWeights", 1, perRow: true, perChoice: true);
        if (dx != 0) s.Require(dx, "dx", width, perRow: true);
        s.RequireGrouped(gathered, "gathered", width);
        s.RequireGrouped(pre, "pre", s.Inner);
        s.RequireGrouped(hidden, "hidden", units);
        s.RequireGrouped(expertOut, "expertOut", width);
        s.RequireGrouped(dExpertOut, "dExpertOut", width);
        s.RequireGrouped(dHidden, "dHidden", units);
        s.RequireGrouped(dPre, "dPre", s.Inner);
        if (dWeightIn != weightIn || dWeightOut != weightOut)
            throw new ArgumentException($"Experts.Backward: the weights' gradients have {dWeightIn} and {dWeightOut} values, the weights {weightIn} and {weightOut}.");
        s.RequireBiases(dBiasIn, dBiasOut);
        return s;
    }

    /// <summary><see cref="Route"/>'s checks of its sizes and its spans' lengths (the host's and the device's).</summary>
    internal static void RequireRouting(int rows, int experts, int topK, long probs, long weights, long choice, long positions, long sources, long offsets)
    {
        if (rows < 0 || experts < 1 || topK < 1 || topK > experts)
            throw new ArgumentException($"Experts.Route: expected rows ≥ 0, at least one expert and 1 ≤ topK ≤ experts; got {rows} rows, {experts} experts, topK {topK}.");
        long slots = (long)rows * topK, cells = (long)rows * experts;
        if (probs < cells || weights < slots || choice < slots || positions < slots || sources < slots || offsets < experts + 1)
            throw new ArgumentException($"Experts.Route: {rows} rows of {experts} experts, {topK} chosen, need {cells} logits, {slots} weights, choices, positions and sources, and {experts + 1} offsets; got {probs}, {weights}, {choice}, {positions}, {sources} and {offsets}.");
    }

    /// <summary><see cref="RouteBackward"/>'s checks of its spans' lengths (the host's and the device's).</summary>
    internal static void RequireRouteBackward(int rows, int experts, int topK, long probs, long weights, long choice, long dWeights, long dLogits)
    {
        long slots = (long)rows * topK, cells = (long)rows * experts;
        if (rows < 0 || experts < 1 || topK < 1 || topK > experts || probs < cells || dLogits < cells || weights < slots || choice < slots || dWeights < slots)
            throw new ArgumentException($"Experts.RouteBackward: {rows} rows of {experts} experts, {topK} chosen, need {cells} probabilities and logits' gradients and {slots} weights, choices and weights' gradients; got {probs}, {dLogits}, {weights}, {choice} and {dWeights}.");
    }

    /// <summary>The sizes every entry point (the host's and the device's) checks its spans' lengths against.</summary>
    internal readonly record struct Sizes(int Rows, int Experts, int TopK, int Inner, int Width, int Units)
    {
        public int Slots => Rows * TopK;

        public static Sizes Of(bool gated, int rows, int topK, int width, int units, long weights, ReadOnlySpan<int> offsets, long weightIn, long weightOut)
        {
            int experts = offsets.Length - 1, inner = (gated ? 2 : 1) * units;
            if (rows < 0 || topK < 1 || width < 1 || units < 1 || experts < topK)
                throw new ArgumentException($"Experts: expected rows ≥ 0, topK, width and units ≥ 1 and offsets for at least topK experts; got {rows} rows, topK {topK}, width {width}, {units} units, {offsets.Length} offsets.");
            if (weights < (long)rows * topK)
                throw new ArgumentException($"Experts: {weights} weights, expected {rows} rows × {topK} choices.", nameof(weights));
            if (weightIn != (long)experts * inner * width || weightOut != (long)experts * width * units)
                throw new ArgumentException($"Experts: expected weight_in [{experts}, {inner}, {width}] and weight_out [{experts}, {width}, {units}], got {weightIn} and {weightOut} values.");
            if (offsets[experts] != rows * topK)
                throw new ArgumentException($"Experts: the groups hold {offsets[experts]} rows, expected {rows} rows × {topK} choices (Route first).");
            return new Sizes(rows, experts, topK, inner, width, units);
        }

        public void Require(long length, string name, int width, bool perRow, bool perChoice = false)
        {
            long need = (long)Rows * (perChoice ? TopK : 1) * width;
            if (length < need) throw new ArgumentException($"Experts: {name} has {length} values, expected at least {need} ({Rows} rows{(perChoice ? $" × {TopK} choices" : "")} × {width}).", name);
        }

        public void RequireGrouped(long length, string name, int width)
        {
            long need = (long)Slots * width;
            if (length < need) throw new ArgumentException($"Experts: {name} has {length} values, expected at least {need} ({Rows} rows × {TopK} choices × {width}).", name);
        }

        public void RequireBiases(long biasIn, long biasOut)
        {
            if (biasIn != 0 && biasIn != (long)Experts * Inner || biasOut != 0 && biasOut != (long)Experts * Width)
                throw new ArgumentException($"Experts: expected biases [{Experts}, {Inner}] and [{Experts}, {Width}] (or none), got {biasIn} and {biasOut} values.");
        }
    }
}
