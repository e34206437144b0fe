using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

/// <summary>
/// Layer normalisation over each row's W features, as <c>nn.LayerNorm(W, eps)</c>: y = (x − μ) / √(σ² + ε) · γ + β,
/// σ² the biased variance. The forward pass keeps each row's μ and 1/√(σ² + ε) for back-propagation.
/// </summary>
public static class LayerNormKernel
{
    /// <summary>Normalises <paramref name="rows"/> rows of x [rows, W] into y, keeping <paramref name="mean"/> and <paramref name="rstd"/> [rows]. The rows are split over the cores.</summary>
    public static unsafe void Forward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> rstd)
    {
        const string Kind = "LayerNorm";
        Require(Kind, rows, width, x, "x");
        Require(Kind, rows, width, y, "y");
        Require(Kind, 1, width, gamma, "gamma");
        Require(Kind, 1, width, beta, "beta");
        Require(Kind, rows, 1, mean, "mean");
        Require(Kind, rows, 1, rstd, "rstd");
        Normalise(rows, width, x, gamma, beta, epsilon, y, mean, rstd, centred: true);
    }

    /// <summary>
    /// The forward pass of both norms: centred (layer norm, <paramref name="beta"/> and <paramref name="mean"/> used) or not
    /// (RMS norm: μ taken as 0, no shift, no mean kept). The spans are checked by the caller. A row normalised is W values;
    /// <paramref name="segments"/> of them lie side by side in each row of x (and of y) that is <paramref name="xRow"/> (and
    /// <paramref name="yRow"/>) values long (0: W, rows one after the other), as the heads of an attention's packed rows. A
    /// non-empty <paramref name="keep"/> (rows <paramref name="keepRow"/> long) gets each row of x before y is written, so y may
    /// be x itself.
    /// </summary>
    internal static unsafe void Normalise(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> rstd, bool centred, int segments = 1, int xRow = 0, int yRow = 0, Span<float> keep = default, int keepRow = 0)
    {
        int W = width;
        if (rows == 0 || W == 0) return;
        fixed (float* px = x, pg = gamma, pb = beta, py = y, pm = mean, ps = rstd, pk = keep)
        {
            var a = new Args
            {
                Rows = rows, Width = W, Epsilon = epsilon, X = px, Gamma = pg, Beta = centred ? pb : null, Y = py, Mean = centred ? pm : null, Rstd = ps, Centred = centred,
                Segments = segments, XRow = xRow > 0 ? xRow : W * segments, YRow = yRow > 0 ? yRow : W * segments, Keep = keep.IsEmpty ? null : pk, KeepRow = keepRow,
            };
            GemmWorkers.Run(&ForwardPart, &a, Parts(rows, W));
        }
    }

    private static unsafe void ForwardPart(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int W = a.Width;
        var (first, end) = GemmWorkers.Range(a.Rows, part, parts);
        for (int r = first; r < end; r++)
        {
            float* xr = a.X + a.At(r, a.XRow), yr = a.Y + a.At(r, a.YRow);
            if (a.Keep != null) new ReadOnlySpan<float>(xr, W).CopyTo(new Span<float>(a.Keep + a.At(r, a.KeepRow), W));
            float mu = 0f;
            if (a.Centred)
            {
                mu = TensorPrimitives.Sum(new ReadOnlySpan<float>(xr, W)) / W;
                if (!float.IsFinite(mu)) mu = MeanInDouble(xr, W); // finite values whose float sum overflows (|Σx| > 3.4e38)
                a.Mean[r] = mu;
            }
            // y = x − μ and Σ y² in one pass, then y = (y · s) · γ (+ β) in another
            var centre = new CentreKernel { X = xr, Y = yr, Length = W, Mean = mu };
            LaneLoop.Run(ref centre);
            float s = 1f / MathF.Sqrt(centre.Squares / W + a.Epsilon);
            a.Rstd[r] = s;
            var scale = new ScaleKernel { Y = yr, Gamma = a.Gamma, Beta = a.Beta, Length = W, Rstd = s };
            LaneLoop.Run(ref scale);
        }
    }

    /// <summary>
    /// The mean summed in double: finite floats whose float sum overflows still have a finite mean, as torch's layer_norm
    /// (Welford's running mean) gives; a row holding ±∞ or NaN keeps its non-finite mean.
    /// </summary>
    private static unsafe float MeanInDouble(float* x, int width)
    {
        double sum = 0;
        for (int j = 0; j < width; j++) sum += x[j];
        return (float)(sum / width);
    }

    private unsafe struct CentreKernel : ILaneKernel
    {
        public float* X, Y;
        public int Length;
        public float Mean, Squares;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T mu = T.Create(Mean), sum = T.Create(0f);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T y = T.Load(ref X[j], 0) - mu;
                T.Store(y, ref Y[j], 0);
                sum = sum + y * y;
            }
            Squares += T.Sum(sum);
            return j;
        }
    }

    private unsafe struct ScaleKernel : ILaneKernel
    {
        public float* Y, Gamma, Beta;
        public int Length;
        public float Rstd;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T s = T.Create(Rstd);
            if (Beta == null)
            {
                for (; j <= Length - T.Count; j += T.Count)
                    T.Store(T.Load(ref Y[j], 0) * s * T.Load(ref Gamma[j], 0), ref Y[j], 0);
                return j;
            }
            for (; j <= Length - T.Count; j += T.Count)
                T.Store(T.MultiplyAdd(T.Load(ref Y[j], 0) * s, T.Load(ref Gamma[j], 0), T.Load(ref Beta[j], 0)), ref Y[j], 0);
            return j;
        }
    }

    /// <summary>
    /// From dy [rows, W] writes dx (overwritten) and adds to dγ and dβ [W]:
    /// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ and x̂ = (x − μ) · rstd (skipped when
    /// <paramref name="dx"/> is empty). <paramref name="scratch"/> is not used (each thread keeps its own). Each core takes
    /// some rows of dx and some columns of dγ and dβ, summed over every row in order: one thread and all give the same bits.
    /// </summary>
    public static unsafe void Backward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dGamma, Span<float> dBeta, Span<float> scratch)
    {
        const string Kind = "LayerNorm";
        Require(Kind, rows, width, x, "x");
        Require(Kind, rows, width, dy, "dy");
        if (!dx.IsEmpty) Require(Kind, rows, width, dx, "dx");
        Require(Kind, 1, width, gamma, "gamma");
        Require(Kind, 1, width, dGamma, "dGamma");
        Require(Kind, 1, width, dBeta, "dBeta");
        Require(Kind, rows, 1, mean, "mean");
        Require(Kind, rows, 1, rstd, "rstd");
        Differentiate(Kind, rows, width, x, gamma, mean, rstd, dy, dx, dGamma, dBeta, centred: true);
    }

    /// <summary>
    /// The backward pass of both norms (see <see cref="Normalise"/>, whose <paramref name="segments"/> and row lengths these are:
    /// <paramref name="xRow"/> for x, <paramref name="yRow"/> for dy and dx); RMS norm's has no mean and no dβ. The spans are
    /// checked by the caller.
    /// </summary>
    internal static unsafe void Differentiate(string kind, int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dGamma, Span<float> dBeta, bool centred, int segments = 1, int xRow = 0, int yRow = 0)
    {
        int W = width;
        // a part keeps x̂ and g for one row (2W floats): refused here, before any part adds to dγ and dβ
        if (!dx.IsEmpty && 2L * W > Aligned.MostFloats)
            throw new ArgumentException($"{kind}: rows of {W} values; the step back holds two rows at once, at most {Aligned.MostFloats / 2} values each.", nameof(width));
        if (rows == 0 || W == 0) return;
        fixed (float* px = x, pg = gamma, pm = mean, ps = rstd, pdy = dy, pdx = dx, pdg = dGamma, pdb = dBeta)
        {
            var a = new Args
            {
                Rows = rows, Width = W, X = px, Gamma = pg, Mean = centred ? pm : null, Rstd = ps, Dy = pdy, Dx = dx.IsEmpty ? null : pdx, DGamma = pdg,
                DBeta = centred ? pdb : null, Centred = centred, Segments = segments, XRow = xRow > 0 ? xRow : W * segments, YRow = yRow > 0 ? yRow : W * segments,
            };
            // a part sums dγ and dβ over every row before it writes its rows of dx: dx written over dy or x (in place) waits
            // until every part has summed (a second hand-off), so that no row is written before all have been read
            int parts = Parts(rows, W);
            bool inPlace = !dx.IsEmpty && (dx.Overlaps(dy) || dx.Overlaps(x));
            if (inPlace && parts > 1)
            {
                GemmWorkers.Run(&ParameterGradientPart, &a, parts);
                GemmWorkers.Run(&InputGradientPart, &a, parts);
            }
            else GemmWorkers.Run(&BackwardPart, &a, parts);
        }
    }

    private static unsafe void BackwardPart(void* state, int part, int parts)
    {
        ParameterGradientPart(state, part, parts);
        InputGradientPart(state, part, parts);
    }

    /// <summary>dγ and dβ: this part's columns (whole vectors of 16), over every row in order, one pass a row.</summary>
    private static unsafe void ParameterGradientPart(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int W = a.Width;
        int columns = (W + 15) / 16;
        var (c0, c1) = GemmWorkers.Range(columns, part, parts);
        (c0, c1) = (Math.Min(W, c0 * 16), Math.Min(W, c1 * 16));
        for (int r = 0; r < a.Rows && c0 < c1; r++)
        {
            var sums = new ParameterGradientKernel
            {
                X = a.X + a.At(r, a.XRow) + c0, Dy = a.Dy + a.At(r, a.YRow) + c0, DGamma = a.DGamma + c0, DBeta = a.Centred ? a.DBeta + c0 : null, Length = c1 - c0,
                Mean = a.Centred ? a.Mean[r] : 0f, Rstd = a.Rstd[r],
            };
            LaneLoop.Run(ref sums);
        }
    }

    /// <summary>dx: this part's rows, two passes a row (x̂, g and their sums; then dx).</summary>
    private static unsafe void InputGradientPart(void* state, int part, int parts)
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        int W = a.Width;
        if (a.Dx == null) return;
        Span<float> scratch = GemmWorkers.Scratch(2 * W);
        fixed (float* xhat = scratch, g = scratch.Slice(W))
        {
            var (first, end) = GemmWorkers.Range(a.Rows, part, parts);
            for (int r = first; r < end; r++)
            {
                var sums = new RowSumsKernel
                {
                    X = a.X + a.At(r, a.XRow), Dy = a.Dy + a.At(r, a.YRow), Gamma = a.Gamma, XHat = xhat, G = g, Length = W, Mean = a.Centred ? a.Mean[r] : 0f, Rstd = a.Rstd[r],
                };
                LaneLoop.Run(ref sums);
                // RMS norm: no centring, so no mean(g) term
                var dx = new InputGradientKernel
                {
                    XHat = xhat, G = g, Dx = a.Dx + a.At(r, a.YRow), Length = W, MeanG = a.Centred ? sums.SumG / W : 0f, MeanGx = sums.SumGx / W, Rstd = a.Rstd[r],
                };
                LaneLoop.Run(ref dx);
            }
        }
    }

    /// <summary>x̂ = (x − μ) · s; dγ = dy · x̂ + dγ (fused); dβ += dy (no dβ: RMS norm).</summary>
    private unsafe struct ParameterGradientKernel : ILaneKernel
    {
        public float* X, Dy, DGamma, DBeta;
        public int Length;
        public float Mean, Rstd;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T mu = T.Create(Mean), s = T.Create(Rstd);
            if (DBeta == null)
            {
                for (; j <= Length - T.Count; j += T.Count)
                    T.Store(T.MultiplyAdd(T.Load(ref Dy[j], 0), (T.Load(ref X[j], 0) - mu) * s, T.Load(ref DGamma[j], 0)), ref DGamma[j], 0);
                return j;
            }
            for (; j <= Length - T.Count; j += T.Count)
            {
                T dy = T.Load(ref Dy[j], 0), xhat = (T.Load(ref X[j], 0) - mu) * s;
                T.Store(T.MultiplyAdd(dy, xhat, T.Load(ref DGamma[j], 0)), ref DGamma[j], 0);
                T.Store(T.Load(ref DBeta[j], 0) + dy, ref DBeta[j], 0);
            }
            return j;
        }
    }

    /// <summary>x̂ = (x − μ) · s and g = dy · γ (kept), with Σ g and Σ g · x̂.</summary>
    private unsafe struct RowSumsKernel : ILaneKernel
    {
        public float* X, Dy, Gamma, XHat, G;
        public int Length;
        public float Mean, Rstd, SumG, SumGx;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T mu = T.Create(Mean), s = T.Create(Rstd), sumG = T.Create(0f), sumGx = T.Create(0f);
            for (; j <= Length - T.Count; j += T.Count)
            {
                T xhat = (T.Load(ref X[j], 0) - mu) * s, g = T.Load(ref Dy[j], 0) * T.Load(ref Gamma[j], 0);
                T.Store(xhat, ref XHat[j], 0);
                T.Store(g, ref G[j], 0);
                sumG = sumG + g;
                sumGx = sumGx + g * xhat;
            }
            SumG += T.Sum(sumG);
            SumGx += T.Sum(sumGx);
            return j;
        }
    }

    /// <summary>dx = ((g − mean g) − x̂ · mean(g x̂)) · s.</summary>
    private unsafe struct InputGradientKernel : ILaneKernel
    {
        public float* XHat, G, Dx;
        public int Length;
        public float MeanG, MeanGx, Rstd;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            T meanG = T.Create(MeanG), meanGx = T.Create(MeanGx), s = T.Create(Rstd);
            for (; j <= Length - T.Count; j += T.Count)
                T.Store((T.Load(ref G[j], 0) - meanG - T.Load(ref XHat[j], 0) * meanGx) * s, ref Dx[j], 0);
            return j;
        }
    }

    /// <summary>Parts to split <paramref name="rows"/> rows of <paramref name="width"/> into: each core some, from 32K values.</summary>
    private static int Parts(int rows, int width) => GemmWorkers.Parts(rows, (long)rows * width, 1L << 15);

    private unsafe struct Args
    {
        public int Rows, Width, Segments, XRow, YRow, KeepRow;
        public float Epsilon;
        public bool Centred;
        public float* X, Gamma, Beta, Y, Mean, Rstd, Dy, Dx, DGamma, DBeta, Keep;

        /// <summary>Where normalised row <paramref name="r"/> starts in a buffer whose rows are <paramref name="row"/> values long.</summary>
        public readonly nint At(int r, int row) => Segments == 1 ? (nint)r * row : (nint)(r / Segments) * row + (nint)(r % Segments) * Width;
    }

    internal static void Require(string kind, int rows, int width, ReadOnlySpan<float> span, string name)
    {
        if (rows < 0 || width < 0) throw new ArgumentOutOfRangeException(name, $"{kind}: rows {rows} and width {width} are 0 or more.");
        if (span.Length < (long)rows * width) throw new ArgumentException($"{kind}: {name} needs at least {(long)rows * width} values ({rows} × {width}), got {span.Length}.", name);
    }
}

/// <summary>
/// Root-mean-square normalisation over each row's W features, as <c>nn.RMSNorm(W, eps)</c> (Zhang and Sennrich 2019):
/// y = x / √(mean(x²) + ε) · γ. Layer norm without the centring and the shift: the same kernels, μ taken as 0.
/// </summary>
public static class RmsNormKernel
{
    private const string Kind = "RmsNorm";

    /// <summary>Normalises <paramref name="rows"/> rows of x [rows, W] into y, keeping each row's 1/√(mean(x²) + ε) in <paramref name="rstd"/> [rows].</summary>
    public static void Forward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, float epsilon, Span<float> y, Span<float> rstd)
    {
        LayerNormKernel.Require(Kind, rows, width, x, "x");
        LayerNormKernel.Require(Kind, rows, width, y, "y");
        LayerNormKernel.Require(Kind, 1, width, gamma, "gamma");
        LayerNormKernel.Require(Kind, rows, 1, rstd, "rstd");
        LayerNormKernel.Normalise(rows, width, x, gamma, default, epsilon, y, default, rstd, centred: false);
    }

    /// <summary>
    /// From dy [rows, W] writes dx (overwritten; skipped when empty) and adds to dγ [W]: dx = rstd · (g − x̂ · mean(g ⊙ x̂)) with
    /// g = dy ⊙ γ and x̂ = x · rstd. One thread and all give the same bits.
    /// </summary>
    public static void Backward(int rows, int width, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dGamma)
    {
        LayerNormKernel.Require(Kind, rows, width, x, "x");
        LayerNormKernel.Require(Kind, rows, width, dy, "dy");
        if (!dx.IsEmpty) LayerNormKernel.Require(Kind, rows, width, dx, "dx");
        LayerNormKernel.Require(Kind, 1, width, gamma, "gamma");
        LayerNormKernel.Require(Kind, 1, width, dGamma, "dGamma");
        LayerNormKernel.Require(Kind, rows, 1, rstd, "rstd");
        LayerNormKernel.Differentiate(Kind, rows, width, x, gamma, default, rstd, dy, dx, dGamma, default, centred: false);
    }
}

/// <summary>
/// RMS normalisation of each attention head's query and key (Qwen3's and Gemma 3's <c>q_norm</c> and <c>k_norm</c>), in the
/// packed rows the attention kernels read: [q (heads · d) | k (kvHeads · d) | v (kvHeads · d)], <c>width</c> = heads · d the
/// queries' width. Every d-wide head of q becomes q_h / √(mean(q_h²) + ε) · γ_q, every head of k likewise with γ_k; v is left
/// as it is. The forward pass keeps q and k as they came (<c>raw</c> [rows, width + kvHeads · d], for the step back) and each
/// head's 1/√(mean(x²) + ε) (<c>rstd</c> [rows · heads] for the queries, then [rows · kvHeads] for the keys). With
/// <c>acrossHeads</c> (OLMo 2's) each row's queries are normalised all together, and its keys: γ_q [heads · d], γ_k
/// [kvHeads · d], <c>rstd</c> [rows] then [rows].
/// </summary>
public static class QueryKeyNormKernel
{
    private const string Kind = "QueryKeyNorm";

    /// <summary>
    /// Normalises the queries' and keys' heads (or, <paramref name="acrossHeads"/>, all the queries and all the keys of each row)
    /// of <paramref name="rows"/> packed rows of <paramref name="qkv"/> in place, each segment copied into <paramref name="raw"/>
    /// before it is written over (empty: inference, nothing kept but <paramref name="rstd"/>).
    /// </summary>
    public static void Forward(int rows, int width, int heads, int keyValueHeads, ReadOnlySpan<float> qGamma, ReadOnlySpan<float> kGamma, float epsilon,
        Span<float> qkv, Span<float> raw, Span<float> rstd, bool acrossHeads = false)
    {
        var w = Widths(rows, width, heads, keyValueHeads, qGamma, kGamma, qkv, rstd, acrossHeads);
        if (!raw.IsEmpty) LayerNormKernel.Require(Kind, rows, w.Normed, raw, "raw");
        if (rows == 0 || w.D == 0) return;
        // in place, each segment's raw values kept (training) by the thread that normalises it
        int queries = rows * w.QuerySegments;
        LayerNormKernel.Normalise(queries, w.QueryWidth, qkv, qGamma, default, epsilon, qkv, default, rstd, centred: false, w.QuerySegments, w.Packed, w.Packed, raw, w.Normed);
        LayerNormKernel.Normalise(rows * w.KeySegments, w.KeyWidth, qkv.Slice(width), kGamma, default, epsilon, qkv.Slice(width), default, rstd.Slice(queries),
            centred: false, w.KeySegments, w.Packed, w.Packed, raw.IsEmpty ? default : raw.Slice(width), w.Normed);
    }

    /// <summary>
    /// From the gradient of the normalised queries and keys in <paramref name="dqkv"/> (packed as the forward's rows) writes,
    /// in place, the gradient of the raw ones (the values' gradient left as it is) and adds to dγ_q and dγ_k. One thread and all
    /// give the same bits.
    /// </summary>
    public static void Backward(int rows, int width, int heads, int keyValueHeads, ReadOnlySpan<float> qGamma, ReadOnlySpan<float> kGamma,
        ReadOnlySpan<float> raw, ReadOnlySpan<float> rstd, Span<float> dqkv, Span<float> dqGamma, Span<float> dkGamma, bool acrossHeads = false)
    {
        var w = Widths(rows, width, heads, keyValueHeads, qGamma, kGamma, dqkv, rstd, acrossHeads);
        LayerNormKernel.Require(Kind, rows, w.Normed, raw, "raw");
        LayerNormKernel.Require(Kind, 1, w.QueryWidth, dqGamma, "dqGamma");
        LayerNormKernel.Require(Kind, 1, w.KeyWidth, dkGamma, "dkGamma");
        if (rows == 0 || w.D == 0) return;
        int queries = rows * w.QuerySegments;
        LayerNormKernel.Differentiate(Kind, queries, w.QueryWidth, raw, qGamma, default, rstd, dqkv, dqkv, dqGamma, default, centred: false, w.QuerySegments, w.Normed, w.Packed);
        LayerNormKernel.Differentiate(Kind, rows * w.KeySegments, w.KeyWidth, raw.Slice(width), kGamma, default, rstd.Slice(queries), dqkv.Slice(width), dqkv.Slice(width),
            dkGamma, default, centred: false, w.KeySegments, w.Normed, w.Packed);
    }

    private static QueryKeyWidths Widths(int rows, int width, int heads, int keyValueHeads, ReadOnlySpan<float> qGamma, ReadOnlySpan<float> kGamma,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> rstd, bool acrossHeads) =>
        Require(rows, width, heads, keyValueHeads, qGamma.Length, kGamma.Length, qkv.Length, rstd.Length, acrossHeads);

    /// <summary>
    /// The heads' counts and the buffers' lengths checked (the device's kernel checks its buffers here too): the heads divide the
    /// queries' width, the key/value heads the heads; the segments each row's queries and keys are normalised in.
    /// </summary>
    internal static QueryKeyWidths Require(int rows, int width, int heads, int keyValueHeads, long qGamma, long kGamma, long qkv, long rstd, bool acrossHeads = false)
    {
        if (rows < 0 || heads < 1 || keyValueHeads < 1 || width < 0 || width % heads != 0 || heads % keyValueHeads != 0)
            throw new ArgumentException($"{Kind}: {rows} row(s), {heads} query head(s) and {keyValueHeads} key/value head(s) over queries {width} wide: the heads must divide the width, and the key/value heads the heads.", nameof(heads));
        int d = width / heads, kv = keyValueHeads * d;
        var w = acrossHeads ? new QueryKeyWidths(d, 1, width, 1, kv, width + kv, width + 2 * kv)
            : new QueryKeyWidths(d, heads, d, keyValueHeads, d, width + kv, width + 2 * kv);
        AttentionKernel.RequireLength(qkv, (long)rows * w.Packed, "qkv");
        AttentionKernel.RequireLength(qGamma, w.QueryWidth, "qGamma");
        AttentionKernel.RequireLength(kGamma, w.KeyWidth, "kGamma");
        AttentionKernel.RequireLength(rstd, (long)rows * (w.QuerySegments + w.KeySegments), "rstd");
        return w;
    }
}

/// <summary>
/// How QK-norm cuts a packed row: a head's width <see cref="D"/>; the queries in <see cref="QuerySegments"/> segments of
/// <see cref="QueryWidth"/> (each head, or all of them), the keys in <see cref="KeySegments"/> of <see cref="KeyWidth"/>; the
/// normalised part of a row (queries and keys, <see cref="Normed"/>) and the packed row's length.
/// </summary>
internal readonly record struct QueryKeyWidths(int D, int QuerySegments, int QueryWidth, int KeySegments, int KeyWidth, int Normed, int Packed);

/// <summary>The sinusoidal position encoding of Vaswani et al. (2017), computed in double precision.</summary>
public static class PositionalEncodingKernel
{
    /// <summary>
    /// Writes pe [steps, width]: pe[t, 2i] = sin(t · e^(−2i · ln(10000) / W)), pe[t, 2i + 1] = cos(the same angle)
    /// (an odd width's last column is a sine).
    /// </summary>
    public static void Fill(Span<float> table, int steps, int width)
    {
        for (int t = 0; t < steps; t++) Row(t, table.Slice(t * width, width));
    }

    /// <summary>The encoding of position <paramref name="position"/>, pe[position], into <paramref name="row"/> [width].</summary>
    public static void Row(int position, Span<float> row)
    {
        ReadOnlySpan<double> frequencies = Frequencies(row.Length);
        for (int j = 0; j < row.Length; j++)
        {
            double angle = position * frequencies[j];
            row[j] = (float)(j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
        }
    }

    /// <summary>Column <paramref name="j"/>'s angle per step, 10000^(−2i/W) for columns 2i and 2i + 1 (an exported step graph's too).</summary>
    public static double Frequency(int j, int width) => Math.Exp(-(j - j % 2) * Math.Log(10000.0) / width);

    // The frequencies of the last few widths asked for (a model has one or two): a decoding step computes its position's
    // row, and the W exponentials and logarithms took as long as its W sines and cosines.
    private static readonly double[]?[] s_frequencies = new double[4][];
    private static int s_nextSlot;

    private static ReadOnlySpan<double> Frequencies(int width)
    {
        foreach (double[]? known in s_frequencies)
        {
            if (known is not null && known.Length == width) return known;
        }
        var computed = new double[width];
        for (int j = 0; j < width; j++) computed[j] = Frequency(j, width);
        // published whole (a reader on another thread sees a filled array or none); two threads may both compute one
        System.Threading.Volatile.Write(ref s_frequencies[(uint)System.Threading.Interlocked.Increment(ref s_nextSlot) % (uint)s_frequencies.Length], computed);
        return computed;
    }

    /// <summary>y[t, b] = x[t, b] + pe[t] for time-major [T, B, W].</summary>
    public static void Add(int steps, int batch, int width, ReadOnlySpan<float> table, ReadOnlySpan<float> x, Span<float> y) =>
        Add(steps, batch, width, 0, table, x, y);

    /// <summary>
    /// y[t, b] = x[t, b] + pe[position + t]: steps that continue a sequence from <paramref name="position"/> (a state
    /// carried from step to step). From position 0 the rows come from <paramref name="table"/> [T, W]; later ones are
    /// computed (W sines and cosines per step), equal to the table's.
    /// </summary>
    public static void Add(int steps, int batch, int width, int position, ReadOnlySpan<float> table, ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> computed = position == 0 ? default : width <= 1024 ? stackalloc float[width] : new float[width];
        for (int t = 0; t < steps; t++)
        {
            if (position != 0) Row(position + t, computed);
            StepRows.Add(t, batch, position == 0 ? table.Slice(t * width, width) : computed, x, y);
        }
    }
}

/// <summary>A row added to every sequence's features at one step of time-major [T, B, W] (a position's encoding or embedding).</summary>
internal static class StepRows
{
    /// <summary>y[t, b] = x[t, b] + <paramref name="row"/> for every b of step <paramref name="t"/>.</summary>
    public static void Add(int t, int batch, ReadOnlySpan<float> row, ReadOnlySpan<float> x, Span<float> y)
    {
        int width = row.Length;
        for (int b = 0; b < batch; b++)
        {
            int at = (t * batch + b) * width;
            TensorPrimitives.Add(x.Slice(at, width), row, y.Slice(at, width));
        }
    }
}

/// <summary>A learned position embedding (GPT-2's wpe): a table of one row per position, added to each step's input.</summary>
public static class PositionEmbeddingKernel
{
    /// <summary>y[t, b] = x[t, b] + table[position + t] for time-major [T, B, W]: steps that start at <paramref name="position"/>.</summary>
    public static void Add(int steps, int batch, int width, int position, ReadOnlySpan<float> table, ReadOnlySpan<float> x, Span<float> y)
    {
        Rows(steps, batch, width, position, table.Length, x.Length, y.Length);
        for (int t = 0; t < steps; t++) StepRows.Add(t, batch, table.Slice((position + t) * width, width), x, y);
    }

    /// <summary>dtable[position + t] += Σ_b dy[t, b], the batch's rows added in order.</summary>
    public static void Backward(int steps, int batch, int width, int position, ReadOnlySpan<float> dy, Span<float> dtable)
    {
        Rows(steps, batch, width, position, dtable.Length, dy.Length, dy.Length);
        for (int t = 0; t < steps; t++)
        {
            Span<float> row = dtable.Slice((position + t) * width, width);
            for (int b = 0; b < batch; b++) TensorPrimitives.Add(row, dy.Slice((t * batch + b) * width, width), row);
        }
    }

    private static void Rows(int steps, int batch, int width, int position, int table, int x, int y)
    {
        if (steps < 0 || batch < 0 || width < 0 || position < 0)
            throw new ArgumentOutOfRangeException(nameof(steps), $"PositionEmbedding: steps {steps}, batch {batch}, width {width} and position {position} are 0 or more.");
        if ((long)(position + (long)steps) * width > table)
            throw new ArgumentOutOfRangeException(nameof(position), $"PositionEmbedding: positions {position} … {position + (long)steps - 1} asked for, but the table holds {table / Math.Max(1, width)}.");
        long n = (long)steps * batch * width;
        if (x < n || y < n) throw new ArgumentException($"PositionEmbedding: [T = {steps}, B = {batch}, W = {width}] needs {n} values, got {Math.Min(x, y)}.");
    }
}
