using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu.Kernels;

/// <summary>
/// Multi-head self-attention on the device, as <c>Dsl.Kernels.AttentionKernel</c> (the projections are the caller's
/// products): one thread per (sequence, head, query) forward; back, the scores' gradients per query row, then the
/// queries', keys' and values' per column. A stepping decoder's key/value cache stays in its host <c>State</c>: the
/// cached step runs on the host from the step's projections (a few rows) and its output goes back.
/// </summary>
public static class AttentionKernel
{
    /// <summary>Weights [B, heads, T, T] and the heads' outputs [T, B, E] from qkv [T, B, 3E].</summary>
    public static void Forward(int steps, int batch, int width, int heads, float scale, bool causal,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan context, DeviceSpan scratch) =>
        Forward(steps, batch, width, heads, scale, causal, default, qkv, weights, mask, context, scratch);

    /// <summary>As above for padded sequences: keys at steps ≥ lengths[b] get no weight.</summary>
    public static void Forward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan context, DeviceSpan scratch, int window = 0, float softCap = 0f,
        DeviceSpan positionBias = default) =>
        Forward(steps, batch, width, heads, heads, scale, causal, lengths, qkv, weights, mask, context, scratch, window, softCap, positionBias);

    /// <summary>
    /// Grouped-query attention: qkv [T, B, E + 2 · E_kv], query head h reading key/value head h / (heads / keyValueHeads); a
    /// positive <paramref name="softCap"/> caps the scaled scores, cap · tanh(score / cap), as the host's; a non-empty
    /// <paramref name="positionBias"/> [heads, 2T − 1] is added to them by distance, as the host's.
    /// </summary>
    public static void Forward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, bool causal, ReadOnlySpan<int> lengths,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan context, DeviceSpan scratch, int window = 0, float softCap = 0f,
        DeviceSpan positionBias = default)
    {
        Dsl.Kernels.AttentionKernel.RequireSelf(steps, batch, width, heads, keyValueHeads, causal, window, lengths, qkv.Length, weights.Length, mask.Length, context.Length);
        Dsl.Kernels.AttentionKernel.RequireCap(softCap);
        Dsl.Kernels.AttentionKernel.RequirePositionBias(steps, 1, heads, softCap, positionBias.IsEmpty ? -1 : positionBias.Length, "positionBias");
        if (steps == 0 || batch == 0) return;
        Device device = qkv.Device;
        AttentionArgs args = Self(steps, batch, width, heads, keyValueHeads, scale, causal, lengths, mask, window, softCap);
        args.HasPositionBias = positionBias.IsEmpty ? 0 : 1;
        var views = new AttentionViews
        {
            Q = qkv.View, K = qkv.View, V = qkv.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device), Context = context.View,
            Lengths = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch)), PositionBias = positionBias.ViewOrPlaceholder(device),
        };
        device.Kernels.AttentionForward(Fill(views, device), args);
    }

    /// <summary>d(qkv) [T, B, 3E] from d(context) [T, B, E] and the forward pass's weights (and dropout mask).</summary>
    public static void Backward(int steps, int batch, int width, int heads, float scale, bool causal,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan dContext, DeviceSpan dQkv, DeviceSpan scratch) =>
        Backward(steps, batch, width, heads, scale, causal, default, qkv, weights, mask, dContext, dQkv, scratch);

    /// <summary>As above for padded sequences.</summary>
    public static void Backward(int steps, int batch, int width, int heads, float scale, bool causal, ReadOnlySpan<int> lengths,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan dContext, DeviceSpan dQkv, DeviceSpan scratch, int window = 0, float softCap = 0f,
        DeviceSpan dPositionBias = default) =>
        Backward(steps, batch, width, heads, heads, scale, causal, lengths, qkv, weights, mask, dContext, dQkv, scratch, window, softCap, dPositionBias);

    /// <summary>
    /// Grouped-query attention: d(qkv) [T, B, E + 2 · E_kv], each key/value head's gradients summed over its group of query heads;
    /// a non-empty <paramref name="dPositionBias"/> [B, heads, 2T − 1] receives the scores' gradients by distance, as the host's.
    /// </summary>
    public static void Backward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, bool causal, ReadOnlySpan<int> lengths,
        DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan dContext, DeviceSpan dQkv, DeviceSpan scratch, int window = 0, float softCap = 0f,
        DeviceSpan dPositionBias = default)
    {
        Dsl.Kernels.AttentionKernel.RequireSelf(steps, batch, width, heads, keyValueHeads, causal, window, lengths, qkv.Length, weights.Length, mask.Length,
            dContext.Length, dQkv.Length);
        Dsl.Kernels.AttentionKernel.RequireCap(softCap);
        Dsl.Kernels.AttentionKernel.RequirePositionBias(steps, batch, heads, softCap, dPositionBias.IsEmpty ? -1 : dPositionBias.Length, "dPositionBias");
        if (steps == 0 || batch == 0) return;
        long pairs = (long)batch * heads * steps * steps;
        Device device = qkv.Device;
        AttentionArgs args = Self(steps, batch, width, heads, keyValueHeads, scale, causal, lengths, mask, window, softCap);
        args.HasPositionBias = dPositionBias.IsEmpty ? 0 : 1;
        ArrayView<int> lengthsView = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch));
        var views = new AttentionViews
        {
            Q = qkv.View, K = qkv.View, V = qkv.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device),
            DContext = dContext.View, DQ = dQkv.View, DK = dQkv.View, DV = dQkv.View, Scratch = device.Scratch(pairs), Lengths = lengthsView,
            DPositionBias = dPositionBias.ViewOrPlaceholder(device),
        };
        device.Kernels.AttentionBackward(Fill(views, device), args);
    }

    /// <summary>Causal self-attention from a key/value cache held on the host (see <c>Dsl.Kernels.AttentionKernel.CachedForward</c>).</summary>
    public static void CachedForward(int steps, int batch, int width, int heads, float scale, int position,
        DeviceSpan qkv, Span<float> cache, DeviceSpan weights, DeviceSpan context, int window = 0, float softCap = 0f,
        DeviceSpan relativeTable = default, int relativeBuckets = 0, int relativeMaxDistance = 0, bool alibi = false, float alibiScale = 1f) =>
        CachedForward(steps, batch, width, heads, heads, scale, position, qkv, cache, weights, context, window, softCap, relativeTable, relativeBuckets, relativeMaxDistance, alibi, alibiScale);

    /// <summary>
    /// As above for grouped-query attention (qkv [T, B, E + 2 · E_kv], the cache [capacity, B, 2 · E_kv]); a non-empty
    /// <paramref name="relativeTable"/> [buckets, heads] is read on the host, as the host's kernel reads it (and ALiBi's bias, <paramref name="alibi"/>,
    /// its slopes times <paramref name="alibiScale"/>, is the host's).
    /// </summary>
    public static void CachedForward(int steps, int batch, int width, int heads, int keyValueHeads, float scale, int position,
        DeviceSpan qkv, Span<float> cache, DeviceSpan weights, DeviceSpan context, int window = 0, float softCap = 0f,
        DeviceSpan relativeTable = default, int relativeBuckets = 0, int relativeMaxDistance = 0, bool alibi = false, float alibiScale = 1f)
    {
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "Attention: the steps the cache holds are 0 or more.");
        Dsl.Kernels.AttentionKernel.RequireHeads(steps, position + (long)steps, batch, width, heads);
        Dsl.Kernels.AttentionKernel.RequireGroups(heads, keyValueHeads);
        Dsl.Kernels.AttentionKernel.RequireWindow(window);
        Dsl.Kernels.AttentionKernel.RequireCap(softCap);
        // every buffer checked before the host's call appends to the cache: a call refused changes nothing
        Require(qkv, (long)steps * batch * Dsl.Kernels.AttentionKernel.PackedWidth(width, heads, keyValueHeads), "qkv");
        Require(context, (long)steps * batch * width, "context");
        if (position == 0) Require(weights, (long)batch * heads * steps * steps, "weights");
        float[] hostQkv = qkv.Slice(0, steps * batch * Dsl.Kernels.AttentionKernel.PackedWidth(width, heads, keyValueHeads)).ToArray(), hostContext = new float[steps * batch * width];
        float[] hostWeights = position == 0 ? new float[batch * heads * steps * steps] : [];
        float[] hostTable = relativeTable.IsEmpty ? [] : relativeTable.ToArray();
        Dsl.Kernels.AttentionKernel.CachedForward(steps, batch, width, heads, keyValueHeads, scale, position, hostQkv, cache, hostWeights, hostContext, window, softCap,
            hostTable, relativeBuckets, relativeMaxDistance, alibi, alibiScale);
        context.CopyFrom(hostContext);
        if (position == 0) weights.CopyFrom(hostWeights);
    }

    /// <summary>Appends the keys and values of qkv's rows to a host cache (see <c>Dsl.Kernels.AttentionKernel.Append</c>).</summary>
    public static void Append(int steps, int batch, int width, int position, DeviceSpan qkv, Span<float> cache) =>
        Append(steps, batch, width, 1, 1, position, qkv, cache);

    /// <summary>As above for grouped-query attention: the keys and values of qkv [T, B, E + 2 · E_kv] to a cache [capacity, B, 2 · E_kv].</summary>
    public static void Append(int steps, int batch, int width, int heads, int keyValueHeads, int position, DeviceSpan qkv, Span<float> cache)
    {
        Dsl.Kernels.AttentionKernel.RequireAppend(steps, batch, width, heads, keyValueHeads, position);
        Dsl.Kernels.AttentionKernel.Append(steps, batch, width, heads, keyValueHeads, position,
            qkv.Slice(0, steps * batch * Dsl.Kernels.AttentionKernel.PackedWidth(width, heads, keyValueHeads)).ToArray(), cache);
    }

    /// <summary>
    /// Multi-head cross-attention, as <c>Dsl.Kernels.AttentionKernel.CrossForward</c>: queries q [T, B, E] over the keys k
    /// and values v [S, B, E] of each sequence's valid source steps; writes the weights [B, heads, T, S] and the heads' outputs.
    /// </summary>
    public static void CrossForward(int steps, int sourceSteps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan q, DeviceSpan k, DeviceSpan v, DeviceSpan weights, DeviceSpan mask, DeviceSpan context)
    {
        Dsl.Kernels.AttentionKernel.RequireCross(steps, sourceSteps, batch, width, heads, lengths, q.Length, k.Length, v.Length, weights.Length, mask.Length, context.Length);
        if (steps == 0 || batch == 0) return;
        if (CrossAttentionKernel.NoSourceSteps(sourceSteps, context, steps * batch * width)) return;
        Device device = q.Device;
        var views = new AttentionViews
        {
            Q = q.View, K = k.View, V = v.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device), Context = context.View,
            Lengths = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch)),
        };
        device.Kernels.AttentionForward(Fill(views, device), Cross(steps, sourceSteps, batch, width, heads, scale, lengths, mask));
    }

    /// <summary>Back through <see cref="CrossForward"/>: writes d(q) [T, B, E], d(k) and d(v) [S, B, E] from d(context).</summary>
    public static void CrossBackward(int steps, int sourceSteps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan q, DeviceSpan k, DeviceSpan v, DeviceSpan weights, DeviceSpan mask, DeviceSpan dContext, DeviceSpan dq, DeviceSpan dk, DeviceSpan dv)
    {
        Dsl.Kernels.AttentionKernel.RequireCross(steps, sourceSteps, batch, width, heads, lengths, q.Length, k.Length, v.Length, weights.Length, mask.Length,
            dContext.Length, dq.Length, dk.Length, dv.Length);
        if (steps == 0 || batch == 0) return;
        long pairs = (long)batch * heads * steps * sourceSteps;
        if (sourceSteps == 0)
        {
            dq.Slice(0, steps * batch * width).Clear(); // the context did not depend on the queries
            return;
        }
        Device device = q.Device;
        ArrayView<int> lengthsView = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch));
        var views = new AttentionViews
        {
            Q = q.View, K = k.View, V = v.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device), DContext = dContext.View,
            DQ = dq.View, DK = dk.View, DV = dv.View, Scratch = device.Scratch(pairs), Lengths = lengthsView,
        };
        device.Kernels.AttentionBackward(Fill(views, device), Cross(steps, sourceSteps, batch, width, heads, scale, lengths, mask));
    }

    /// <summary>
    /// Attention pooling, as <c>Dsl.Kernels.AttentionKernel.PoolForward</c>: the projected learned query [E] attends over each
    /// sequence's valid steps of qkv [T, B, 3E]; writes the weights [B, heads, T] and the pooled outputs [B, E].
    /// </summary>
    public static void PoolForward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan query, DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan context, DeviceSpan scratch)
    {
        Dsl.Kernels.AttentionKernel.RequirePool(steps, batch, width, heads, lengths, query.Length, qkv.Length, weights.Length, mask.Length, context.Length);
        if (steps == 0 || batch == 0) return;
        Device device = qkv.Device;
        var views = new AttentionViews
        {
            Q = query.View, K = qkv.View, V = qkv.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device), Context = context.View,
            Lengths = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch)),
        };
        device.Kernels.AttentionForward(Fill(views, device), Pool(steps, batch, width, heads, scale, lengths, mask));
    }

    /// <summary>
    /// Back through the pooling: writes the keys' and values' gradients into d(qkv) [T, B, 3E] (the query columns zero) and adds
    /// the projected query's gradient (summed over the sequences) to d(query) [E].
    /// </summary>
    public static void PoolBackward(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan query, DeviceSpan qkv, DeviceSpan weights, DeviceSpan mask, DeviceSpan dContext, DeviceSpan dQkv, DeviceSpan dQuery, DeviceSpan scratch)
    {
        Dsl.Kernels.AttentionKernel.RequirePool(steps, batch, width, heads, lengths, query.Length, qkv.Length, weights.Length, mask.Length, dContext.Length, dQkv.Length, dQuery.Length);
        if (steps == 0 || batch == 0) return;
        Device device = qkv.Device;
        dQkv.Slice(0, steps * batch * 3 * width).Clear();
        ArrayView<int> lengthsView = device.Upload(lengths.IsEmpty ? [0] : lengths.Slice(0, batch));
        // one scratch: the scores' gradients [B, heads, T], then each sequence's query gradient [B, E]
        long scores = (long)batch * heads * steps;
        ArrayView<float> both = device.Scratch(scores + (long)batch * width);
        ArrayView<float> perSequence = both.SubView(scores, (long)batch * width);
        var views = new AttentionViews
        {
            Q = query.View, K = qkv.View, V = qkv.View, Weights = weights.View, Mask = mask.ViewOrPlaceholder(device), DContext = dContext.View,
            DQ = perSequence, DK = dQkv.View, DV = dQkv.View, Scratch = both.SubView(0, scores), Lengths = lengthsView,
        };
        device.Kernels.AttentionBackward(Fill(views, device), Pool(steps, batch, width, heads, scale, lengths, mask));
        device.Kernels.ColumnSums(width, perSequence, dQuery.View, batch);
    }

    /// <summary>The empty views as placeholders (a kernel never reads what its arguments say it has not).</summary>
    private static AttentionViews Fill(AttentionViews v, Device device)
    {
        ArrayView<float> p = device.Placeholder;
        if (!v.Context.IsValid) v.Context = p;
        if (!v.DContext.IsValid) v.DContext = p;
        if (!v.DQ.IsValid) v.DQ = p;
        if (!v.DK.IsValid) v.DK = p;
        if (!v.DV.IsValid) v.DV = p;
        if (!v.Scratch.IsValid) v.Scratch = p;
        if (!v.PositionBias.IsValid) v.PositionBias = p;
        if (!v.DPositionBias.IsValid) v.DPositionBias = p;
        return v;
    }

    private static AttentionArgs Self(int steps, int batch, int width, int heads, int keyValueHeads, float scale, bool causal, ReadOnlySpan<int> lengths, DeviceSpan mask, int window,
        float softCap)
    {
        int row = Dsl.Kernels.AttentionKernel.PackedWidth(width, heads, keyValueHeads);
        return new()
        {
            Steps = steps, Keys = steps, Batch = batch, Width = width, Heads = heads, Group = heads / keyValueHeads, QRow = row, DQRow = row, KRow = row,
            KOffset = width, VOffset = width + width / heads * keyValueHeads, Scale = scale, SoftCap = softCap, Causal = causal ? 1 : 0, Window = window, HasLengths = lengths.IsEmpty ? 0 : 1,
            PaddedQueries = lengths.IsEmpty ? 0 : 1, HasMask = mask.IsEmpty ? 0 : 1,
        };
    }

    private static AttentionArgs Cross(int steps, int sourceSteps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths, DeviceSpan mask) => new()
    {
        Steps = steps, Keys = sourceSteps, Batch = batch, Width = width, Heads = heads, Group = 1, QRow = width, DQRow = width, KRow = width,
        Scale = scale, HasLengths = lengths.IsEmpty ? 0 : 1, HasMask = mask.IsEmpty ? 0 : 1,
    };

    /// <summary>Pooling as attention of one query (row 0 of every sequence: QRow 0) over the keys and values of qkv.</summary>
    private static AttentionArgs Pool(int steps, int batch, int width, int heads, float scale, ReadOnlySpan<int> lengths, DeviceSpan mask) => new()
    {
        Steps = 1, Keys = steps, Batch = batch, Width = width, Heads = heads, Group = 1, QRow = 0, DQRow = width, KRow = 3 * width, KOffset = width, VOffset = 2 * width,
        Scale = scale, HasLengths = lengths.IsEmpty ? 0 : 1, HasMask = mask.IsEmpty ? 0 : 1,
    };

    /// <summary>A buffer of at least <paramref name="length"/> values (counted in a long: B · heads · T · T passes an int's range at 8k steps and 32 heads).</summary>
    private static void Require(DeviceSpan span, long length, string name) => Dsl.Kernels.AttentionKernel.RequireLength(span.Length, length, name);
}

/// <summary>Layer normalisation on the device, as <c>Dsl.Kernels.LayerNormKernel</c>: one thread per row; dγ and dβ over chunks of rows, then per column in order.</summary>
public static class LayerNormKernel
{
    /// <summary>Normalises rows of x [rows, W] into y, keeping mean and rstd [rows].</summary>
    public static void Forward(int rows, int width, DeviceSpan x, DeviceSpan gamma, DeviceSpan beta, float epsilon, DeviceSpan y, DeviceSpan mean, DeviceSpan rstd)
    {
        if (rows == 0) return;
        Device device = x.Device;
        var views = new NormViews { X = x.View, Gamma = gamma.View, Beta = beta.View, Y = y.View, Mean = mean.View, Rstd = rstd.View, Centred = 1 };
        device.Kernels.LayerNormForward(rows, Fill(views, device, width), width, epsilon);
    }

    /// <summary>dx (overwritten; skipped when empty) and dγ, dβ (added to) from dy.</summary>
    public static void Backward(int rows, int width, DeviceSpan x, DeviceSpan gamma, DeviceSpan mean, DeviceSpan rstd, DeviceSpan dy, DeviceSpan dx,
        DeviceSpan dGamma, DeviceSpan dBeta, DeviceSpan scratch)
    {
        if (rows == 0) return;
        Device device = x.Device;
        var views = new NormViews
        {
            X = x.View, Gamma = gamma.View, Mean = mean.View, Rstd = rstd.View, Dy = dy.View, Dx = dx.ViewOrPlaceholder(device), DGamma = dGamma.View, DBeta = dBeta.View,
            Centred = 1,
        };
        device.Kernels.LayerNormBackward(rows, Fill(views, device, width), width, dx: !dx.IsEmpty);
    }

    /// <summary>The views left out set to the placeholder; rows one after the other, <paramref name="width"/> long, unless set.</summary>
    internal static NormViews Fill(NormViews v, Device device, int width)
    {
        if (v.Segments == 0) (v.Segments, v.XRow, v.YRow) = (1, width, width);
        ArrayView<float> p = device.Placeholder;
        if (!v.Keep.IsValid) v.Keep = p;
        if (!v.Mean.IsValid) v.Mean = p;
        if (!v.Beta.IsValid) v.Beta = p;
        if (!v.Y.IsValid) v.Y = p;
        if (!v.Dy.IsValid) v.Dy = p;
        if (!v.Dx.IsValid) v.Dx = p;
        if (!v.DGamma.IsValid) v.DGamma = p;
        if (!v.DBeta.IsValid) v.DBeta = p;
        return v;
    }
}

/// <summary>RMS normalisation on the device, as <c>Dsl.Kernels.RmsNormKernel</c>: layer norm's kernels without the centring and the shift.</summary>
public static class RmsNormKernel
{
    /// <summary>Normalises rows of x [rows, W] into y, keeping rstd [rows].</summary>
    public static void Forward(int rows, int width, DeviceSpan x, DeviceSpan gamma, float epsilon, DeviceSpan y, DeviceSpan rstd)
    {
        if (rows == 0) return;
        Device device = x.Device;
        var views = new NormViews { X = x.View, Gamma = gamma.View, Y = y.View, Rstd = rstd.View, Centred = 0 };
        device.Kernels.LayerNormForward(rows, LayerNormKernel.Fill(views, device, width), width, epsilon);
    }

    /// <summary>dx (overwritten; skipped when empty) and dγ (added to) from dy.</summary>
    public static void Backward(int rows, int width, DeviceSpan x, DeviceSpan gamma, DeviceSpan rstd, DeviceSpan dy, DeviceSpan dx, DeviceSpan dGamma)
    {
        if (rows == 0) return;
        Device device = x.Device;
        var views = new NormViews { X = x.View, Gamma = gamma.View, Rstd = rstd.View, Dy = dy.View, Dx = dx.ViewOrPlaceholder(device), DGamma = dGamma.View, Centred = 0 };
        device.Kernels.LayerNormBackward(rows, LayerNormKernel.Fill(views, device, width), width, dx: !dx.IsEmpty);
    }
}

/// <summary>
/// QK-norm on the device, as <c>Dsl.Kernels.QueryKeyNormKernel</c>: RMS norm's kernels over each head of the packed rows'
/// queries, then of their keys (or, across the heads, over all of each row's queries, then its keys), in place (the raw
/// queries and keys kept by the forward's threads before they write).
/// </summary>
public static class QueryKeyNormKernel
{
    /// <summary>Normalises the queries' and keys' heads (or all of them per row) of packed [rows, width + 2 · kvHeads · d] in place, keeping them in raw (unless empty).</summary>
    public static void Forward(int rows, int width, int heads, int keyValueHeads, DeviceSpan qGamma, DeviceSpan kGamma, float epsilon,
        DeviceSpan qkv, DeviceSpan raw, DeviceSpan rstd, bool acrossHeads = false)
    {
        var w = Dsl.Kernels.QueryKeyNormKernel.Require(rows, width, heads, keyValueHeads, qGamma.Length, kGamma.Length, qkv.Length, rstd.Length, acrossHeads);
        if (!raw.IsEmpty) Dsl.Kernels.AttentionKernel.RequireLength(raw.Length, (long)rows * w.Normed, "raw");
        if (rows == 0 || w.D == 0) return;
        Device device = qkv.Device;
        // the queries' segments (from column 0, rstd from 0), then the keys' (from column width, rstd from rows · the queries' segments)
        for (int part = 0; part < 2; part++)
        {
            var (count, segment, offset, at) = part == 0 ? (w.QuerySegments, w.QueryWidth, 0, 0) : (w.KeySegments, w.KeyWidth, width, rows * w.QuerySegments);
            var views = new NormViews
            {
                X = qkv.Slice(offset).View, Gamma = (part == 0 ? qGamma : kGamma).View, Y = qkv.Slice(offset).View, Rstd = rstd.Slice(at).View, Centred = 0,
                Keep = raw.IsEmpty ? default : raw.Slice(offset).View, Segments = count, XRow = w.Packed, YRow = w.Packed, KeepRow = raw.IsEmpty ? 0 : w.Normed,
            };
            device.Kernels.LayerNormForward(rows * count, LayerNormKernel.Fill(views, device, segment), segment, epsilon);
        }
    }

    /// <summary>The raw queries' and keys' gradient written over the normalised ones' in dqkv; dγ_q and dγ_k added to.</summary>
    public static void Backward(int rows, int width, int heads, int keyValueHeads, DeviceSpan qGamma, DeviceSpan kGamma, DeviceSpan raw, DeviceSpan rstd,
        DeviceSpan dqkv, DeviceSpan dqGamma, DeviceSpan dkGamma, bool acrossHeads = false)
    {
        var w = Dsl.Kernels.QueryKeyNormKernel.Require(rows, width, heads, keyValueHeads, qGamma.Length, kGamma.Length, dqkv.Length, rstd.Length, acrossHeads);
        Dsl.Kernels.AttentionKernel.RequireLength(raw.Length, (long)rows * w.Normed, "raw");
        Dsl.Kernels.AttentionKernel.RequireLength(dqGamma.Length, w.QueryWidth, "dqGamma");
        Dsl.Kernels.AttentionKernel.RequireLength(dkGamma.Length, w.KeyWidth, "dkGamma");
        if (rows == 0 || w.D == 0) return;
        Device device = dqkv.Device;
        for (int part = 0; part < 2; part++)
        {
            var (count, segment, offset, at) = part == 0 ? (w.QuerySegments, w.QueryWidth, 0, 0) : (w.KeySegments, w.KeyWidth, width, rows * w.QuerySegments);
            var views = new NormViews
            {
                X = raw.Slice(offset).View, Gamma = (part == 0 ? qGamma : kGamma).View, Rstd = rstd.Slice(at).View, Dy = dqkv.Slice(offset).View,
                Dx = dqkv.Slice(offset).View, DGamma = (part == 0 ? dqGamma : dkGamma).View, Centred = 0, Segments = count, XRow = w.Normed, YRow = w.Packed,
            };
            // dγ's column sums run before dx is written over dy
            device.Kernels.LayerNormBackward(rows * count, LayerNormKernel.Fill(views, device, segment), segment, dx: true);
        }
    }
}

/// <summary>
/// The relative position bias on the device, as <c>Dsl.Kernels.RelativePositionKernel</c>: each distance's bucket computed on the
/// host (the same function) and kept on the device for the shape, then one thread per (head, distance) expanded, one per
/// (bucket, head) collected.
/// </summary>
public static class RelativePositionKernel
{
    /// <summary>bias [heads, 2T − 1] from the table [buckets, heads], as the host's (one-sided buckets unless <paramref name="bidirectional"/>).</summary>
    public static void Expand(int steps, int heads, int buckets, int maxDistance, DeviceSpan table, DeviceSpan bias, bool bidirectional = true)
    {
        Dsl.Kernels.RelativePositionKernel.RequireExpand(steps, heads, buckets, maxDistance, table.Length, bias.Length, bidirectional);
        int n = Dsl.Kernels.RelativePositionKernel.Distances(steps);
        if (n == 0) return;
        table.Device.Kernels.RelativeExpand(heads, n, table.View, Buckets(table.Device, steps, buckets, maxDistance, bidirectional), bias.View);
    }

    /// <summary>d(table) [buckets, heads] += the scores' gradients by distance [B, heads, 2T − 1] summed by bucket, as the host's.</summary>
    public static void Collect(int steps, int batch, int heads, int buckets, int maxDistance, DeviceSpan dBias, DeviceSpan dTable, bool bidirectional = true)
    {
        Dsl.Kernels.RelativePositionKernel.RequireCollect(steps, batch, heads, buckets, maxDistance, dBias.Length, dTable.Length, bidirectional);
        int n = Dsl.Kernels.RelativePositionKernel.Distances(steps);
        if (n == 0 || batch == 0) return;
        dBias.Device.Kernels.RelativeCollect(buckets, dBias.View, Buckets(dBias.Device, steps, buckets, maxDistance, bidirectional), dTable.View,
            new RelativeSums { Batch = batch, Heads = heads, Distances = n });
    }

    /// <summary>Each distance's bucket for the shape, computed on the host the first time and kept on the device.</summary>
    private static ArrayView<int> Buckets(Device device, int steps, int buckets, int maxDistance, bool bidirectional) =>
        device.Constant(("relative buckets", steps, buckets, maxDistance, bidirectional), () =>
        {
            var host = new int[Dsl.Kernels.RelativePositionKernel.Distances(steps)];
            Dsl.Kernels.RelativePositionKernel.Buckets(steps, buckets, maxDistance, host, bidirectional);
            return host;
        });
}

/// <summary>
/// The rotary position embedding on the device, as <c>Dsl.Kernels.RotaryKernel</c>: from position 0 the workspace's table
/// (filled on the host with the workspace, copied over with it), past it the steps' cosines and sines computed on the host
/// (the same values) and copied over; then one thread per pair turned.
/// </summary>
public static class RotaryKernel
{
    [ThreadStatic] private static float[]? t_table;

    /// <summary>Turns the queries and keys of packed [steps, batch, 3 · width] rows in place, step t by position + t (inverse: back).</summary>
    public static void Apply(int steps, int batch, int width, int heads, int position, float theta, DeviceSpan table, DeviceSpan qkv, bool inverse) =>
        Apply(steps, batch, width, heads, heads, position, theta, table, qkv, inverse);

    /// <summary>As above for grouped-query attention: [steps, batch, E + 2 · E_kv] rows, the queries' heads and the keys' fewer heads turned.</summary>
    public static void Apply(int steps, int batch, int width, int heads, int keyValueHeads, int position, float theta, DeviceSpan table, DeviceSpan qkv, bool inverse) =>
        Apply(steps, batch, width, heads, keyValueHeads, position, theta, default, table, qkv, inverse);

    /// <summary>As above with the frequencies scaled (LLaMA 3.1's long-context form), each head's first <paramref name="rotaryWidth"/> values turned (0: all), as the host's.</summary>
    public static void Apply(int steps, int batch, int width, int heads, int keyValueHeads, int position, float theta, Dsl.RotaryScaling scaling,
        DeviceSpan table, DeviceSpan qkv, bool inverse, int rotaryWidth = 0)
    {
        int row = Dsl.Kernels.RotaryKernel.RequireApply(steps, batch, width, heads, keyValueHeads, position, scaling, qkv.Length, table.Length, rotaryWidth);
        int d = Dsl.Kernels.RotaryKernel.RotatedWidth(width, heads, rotaryWidth), n = steps * d;
        if (n == 0 || batch == 0) return;
        Device device = qkv.Device;
        ArrayView<float> angles;
        if (position == 0 && !table.IsEmpty) angles = table.View;
        else
        {
            float[] host = t_table is { } r && r.Length >= n ? r : (t_table = new float[n]);
            Dsl.Kernels.RotaryKernel.Table(steps, position, d, theta, scaling, host.AsSpan(0, n));
            angles = device.Scratch(n).SubView(0, n);
            angles.CopyFromCPU(host.AsSpan(0, n));
        }
        device.Kernels.Rotate(qkv.View, angles, new Rotation
        {
            Steps = steps, Batch = batch, Row = row, Turned = heads + keyValueHeads, Half = d / 2, HeadWidth = width / heads,
            Sign = inverse ? -1f : 1f,
        });
    }
}

/// <summary>The sinusoidal position encoding on the device, as <c>Dsl.Kernels.PositionalEncodingKernel</c>.</summary>
public static class PositionalEncodingKernel
{
    [ThreadStatic] private static float[]? t_rows;

    /// <summary>y[t, b] = x[t, b] + pe[t].</summary>
    public static void Add(int steps, int batch, int width, DeviceSpan table, DeviceSpan x, DeviceSpan y) => Add(steps, batch, width, 0, table, x, y);

    /// <summary>y[t, b] = x[t, b] + pe[position + t]: from the table at position 0, else the rows computed on the host (as the host does) and copied over.</summary>
    public static void Add(int steps, int batch, int width, int position, DeviceSpan table, DeviceSpan x, DeviceSpan y)
    {
        int n = steps * batch * width;
        if (n == 0) return;
        Device device = x.Device;
        ArrayView<float> rows;
        if (position == 0) rows = table.View;
        else
        {
            float[] host = t_rows is { } r && r.Length >= steps * width ? r : (t_rows = new float[steps * width]);
            for (int t = 0; t < steps; t++) Dsl.Kernels.PositionalEncodingKernel.Row(position + t, host.AsSpan(t * width, width));
            rows = device.Scratch(steps * width).SubView(0, steps * width);
            rows.CopyFromCPU(host.AsSpan(0, steps * width));
        }
        device.Kernels.AddStepRows(n, rows, x.View, y.View, batch, width);
    }
}

/// <summary>A learned position embedding on the device, as <c>Dsl.Kernels.PositionEmbeddingKernel</c>.</summary>
public static class PositionEmbeddingKernel
{
    /// <summary>y[t, b] = x[t, b] + table[position + t].</summary>
    public static void Add(int steps, int batch, int width, int position, DeviceSpan table, DeviceSpan x, DeviceSpan y)
    {
        int n = steps * batch * width;
        if (n == 0) return;
        x.Device.Kernels.AddStepRows(n, Rows(steps, width, position, table), x.View, y.View, batch, width);
    }

    /// <summary>dtable[position + t] += Σ_b dy[t, b].</summary>
    public static void Backward(int steps, int batch, int width, int position, DeviceSpan dy, DeviceSpan dtable)
    {
        if (steps * width == 0) return;
        dy.Device.Kernels.AddStepSums(steps * width, dy.View, Rows(steps, width, position, dtable), batch, width);
    }

    /// <summary>The table's rows position … position + steps − 1, checked against its length.</summary>
    private static ArrayView<float> Rows(int steps, int width, int position, DeviceSpan table)
    {
        long start = (long)position * width, length = (long)steps * width;
        if (position < 0 || start + length > table.View.Length)
            throw new System.ArgumentOutOfRangeException(nameof(position), $"PositionEmbedding: positions {position} … {position + (long)steps - 1} asked for, but the table holds {table.View.Length / System.Math.Max(1, width)}.");
        return table.View.SubView(start, length);
    }
}
