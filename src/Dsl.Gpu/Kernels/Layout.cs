using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu.Kernels;

/// <summary>Inverted dropout on the device: the mask is drawn on the host from the model's <see cref="Rng"/> (the same stream as the CPU path, so a seeded run is the same run) and copied over.</summary>
public static class DropoutKernel
{
    [ThreadStatic] private static float[]? t_mask;

    /// <summary>Draws a mask (0 or 1 / (1 − p)) into <paramref name="mask"/> and writes y = x ⊙ mask.</summary>
    public static void Forward(DeviceSpan x, DeviceSpan mask, DeviceSpan y, float p, Rng rng)
    {
        if (mask.Length != x.Length || y.Length != x.Length) throw new ArgumentException($"Dropout: x has {x.Length} values, mask {mask.Length}, y {y.Length}.");
        Mask(mask, p, rng);
        TensorPrimitives.Multiply(x, mask, y);
    }

    /// <summary>Draws a mask of 0 or 1 / (1 − p) into <paramref name="mask"/>.</summary>
    public static void Mask(DeviceSpan mask, float p, Rng rng)
    {
        float[] host = t_mask is { } m && m.Length >= mask.Length ? m : (t_mask = new float[mask.Length]);
        Dsl.Kernels.DropoutKernel.Mask(host.AsSpan(0, mask.Length), p, rng);
        mask.CopyFrom(host.AsSpan(0, mask.Length));
    }
}

/// <summary>Layout operations on the device, as <c>Dsl.Kernels.Layout</c>; the lengths and token ids stay on the host and are copied over per call.</summary>
public static class Layout
{
    /// <summary>Each token's type, as <c>Dsl.Kernels.Layout.TokenTypes</c>: the ids, and so their types, stay on the host.</summary>
    public static void TokenTypes(ReadOnlySpan<int> tokens, Span<int> types, int steps, int batch, int separator, int count) =>
        Dsl.Kernels.Layout.TokenTypes(tokens, types, steps, batch, separator, count);

    /// <summary>into[r] = table[indices[r]] · <paramref name="scale"/>, rows of <paramref name="width"/> (an embedding).</summary>
    public static void GatherRows(DeviceSpan table, ReadOnlySpan<int> indices, int width, DeviceSpan into, float scale = 1f)
    {
        int n = indices.Length * width;
        if (n == 0) return;
        Activations.Require(into.Length >= n, "Layout.GatherRows", into.Length, n);
        Dsl.Kernels.Layout.TableRows(indices, table.Length, width); // every index names a row of the table, as on the host
        Device device = table.Device;
        device.Kernels.GatherRows(n, table.View, device.Upload(indices), into.View, width, scale);
    }

    /// <summary>
    /// table[indices[r]] += rows[r] · <paramref name="scale"/> (an embedding's gradient, the token fold's per-id sums). The
    /// rows that share an index are added by one thread per (index, column) in the order of r, as the host adds them: the
    /// same bits as <c>Dsl.Kernels.Layout.ScatterAddRows</c>, on every device, run after run, with no atomics — for a scale
    /// of 1; a scaled table's gradient may differ from the host's in the last bit where a GPU fuses the product into the sum.
    /// </summary>
    public static void ScatterAddRows(ReadOnlySpan<int> indices, DeviceSpan rows, int width, DeviceSpan table, float scale = 1f)
    {
        int count = indices.Length;
        if (count == 0 || width == 0) return;
        Activations.Require(rows.Length >= (long)count * width, "Layout.ScatterAddRows", rows.Length, count * width);
        Span<int> groups = IndexGroups.Of(indices, table.Length / width);
        Device device = table.Device;
        int distinct = groups[count];
        device.Kernels.ScatterAddRows(distinct * width, rows.View, device.Upload(groups), table.View, width, count, scale);
    }

    /// <summary>into[b] = row for each of <paramref name="rows"/> rows (a learned vector broadcast over the batch).</summary>
    public static void RepeatRows(DeviceSpan row, int rows, DeviceSpan into)
    {
        int n = rows * row.Length;
        if (n == 0) return;
        Activations.Require(into.Length >= n, "Layout.RepeatRows", into.Length, n);
        row.Device.Kernels.RepeatRows(n, row.View, into.View, row.Length);
    }

    /// <summary>Appends <paramref name="steps"/> steps of rows [T, B, W] to a stepping state's cache in host memory, after the <paramref name="position"/> steps it holds.</summary>
    public static void AppendSteps(int steps, int batch, int width, int position, DeviceSpan rows, Span<float> cache) =>
        Dsl.Kernels.Layout.AppendSteps(steps, batch, width, position, rows.Slice(0, steps * batch * width).ToArray(), cache);

    /// <summary>Reads <paramref name="steps"/> steps of rows [T, B, W] from a stepping state's cache in host memory, from step <paramref name="position"/>, into device memory.</summary>
    public static void ReadSteps(int steps, int batch, int width, int position, ReadOnlySpan<float> cache, DeviceSpan rows)
    {
        int length = checked(steps * batch * width), at = checked(position * batch * width);
        if (cache.Length < at + length) throw new ArgumentException($"cache: expected at least {at + length} values, got {cache.Length}.", nameof(cache));
        rows.Slice(0, length).CopyFrom(cache.Slice(at, length));
    }

    /// <summary>into[r] = a[r] + b[r] over rows with their own strides (as <c>Dsl.Kernels.Layout.AddRows</c>), one launch.</summary>
    public static void AddRows(int rows, int width, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan into, int ldInto) =>
        Rows(rows, width, a, lda, b, ldb, into, ldInto, op: 0);

    /// <summary>into[r] = a[r] ⊙ b[r] over rows with their own strides (as <c>Dsl.Kernels.Layout.MultiplyRows</c>), one launch.</summary>
    public static void MultiplyRows(int rows, int width, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan into, int ldInto) =>
        Rows(rows, width, a, lda, b, ldb, into, ldInto, op: 1);

    private static void Rows(int rows, int width, DeviceSpan a, int lda, DeviceSpan b, int ldb, DeviceSpan into, int ldInto, int op)
    {
        if (rows == 0 || width == 0) return;
        Device device = into.Device;
        device.Kernels.RowsBinaryOp(rows, a.View, b.View, into.View, new RowsBinary { Width = width, LdA = lda, LdB = ldb, LdInto = ldInto, Op = op });
    }

    /// <summary>
    /// As <c>Dsl.Kernels.Layout.CopyPaddedRows</c>: at <paramref name="step"/>, the rows it pads take those of <paramref name="from"/>
    /// (zeros when empty). Nothing is launched at a step that pads no row (the lengths are read on the host).
    /// </summary>
    public static void CopyPaddedRows(int batch, int width, int step, ReadOnlySpan<int> lengths, DeviceSpan from, int ldFrom, DeviceSpan to, int ldTo)
    {
        bool any = false;
        for (int b = 0; b < batch && !any; b++) any = step >= lengths[b];
        if (!any || width == 0) return;
        Device device = to.Device;
        var copy = new PaddedCopy { Width = width, Step = step, FromRow = ldFrom, IntoRow = ldTo, HasFrom = from.IsEmpty ? 0 : 1 };
        device.Kernels.CopyPaddedRows(batch, from.ViewOrPlaceholder(device), to.View, device.Upload(lengths.Slice(0, batch)), copy);
    }

    /// <summary>Zeroes the padded steps (t ≥ lengths[b]) of a time-major [T, B, W] buffer.</summary>
    public static void MaskSteps(DeviceSpan x, ReadOnlySpan<int> lengths, int batch, int steps, int width)
    {
        int n = steps * batch * width;
        if (n == 0) return;
        Device device = x.Device;
        device.Kernels.MaskSteps(n, x.View, device.Upload(lengths.Slice(0, batch)), batch, steps, width);
    }

    /// <summary>Mean pooling, as <c>Dsl.Kernels.Layout.MeanSteps</c>: out [B, W] = the mean of x [T, B, W] over each sequence's valid steps.</summary>
    public static void MeanSteps(DeviceSpan x, DeviceSpan output, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        Device device = x.Device;
        device.Kernels.MeanSteps(batch * width, x.View, output.View, device.Upload(Lengths(lengths, batch, steps, stackalloc int[Math.Min(batch, 256)])), batch, width);
    }

    /// <summary>The adjoint of <see cref="MeanSteps"/>.</summary>
    public static void MeanStepsBackward(DeviceSpan dOutput, DeviceSpan dx, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        Device device = dx.Device;
        device.Kernels.MeanStepsBackward(steps * batch * width, dOutput.View, dx.View, device.Upload(Lengths(lengths, batch, steps, stackalloc int[Math.Min(batch, 256)])), batch, width);
    }

    /// <summary>Max pooling, as <c>Dsl.Kernels.Layout.MaxSteps</c>: out [B, W] the largest of x [T, B, W] over each sequence's valid steps, and the step each came from.</summary>
    public static void MaxSteps(DeviceSpan x, DeviceSpan output, DeviceSpan argmax, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        Device device = x.Device;
        device.Kernels.MaxSteps(batch * width, x.View, output.View, argmax.View, device.Upload(Lengths(lengths, batch, steps, stackalloc int[Math.Min(batch, 256)])), batch, width);
    }

    /// <summary>The adjoint of <see cref="MaxSteps"/>.</summary>
    public static void MaxStepsBackward(DeviceSpan dOutput, DeviceSpan dx, DeviceSpan argmax, int batch, int steps, int width)
    {
        Device device = dx.Device;
        device.Kernels.MaxStepsBackward(steps * batch * width, dOutput.View, dx.View, argmax.View, batch, width);
    }

    /// <summary>The sequences' lengths, each of all the steps where none were given (in <paramref name="scratch"/> where it holds them: nothing allocated per pass).</summary>
    private static ReadOnlySpan<int> Lengths(ReadOnlySpan<int> lengths, int batch, int steps, Span<int> scratch)
    {
        if (!lengths.IsEmpty) return lengths.Slice(0, batch);
        Span<int> all = scratch.Length >= batch ? scratch[..batch] : new int[batch];
        all.Fill(steps);
        return all;
    }

    /// <summary>Many-to-one: each direction's final hidden state from h [T, B, D·H] into out [B, D·H].</summary>
    public static void GatherLastStep(DeviceSpan h, DeviceSpan output, int batch, int steps, int hidden, int directions) =>
        GatherLastStep(h, output, batch, steps, hidden, directions, default);

    /// <summary>As above for sequences of the given lengths.</summary>
    public static void GatherLastStep(DeviceSpan h, DeviceSpan output, int batch, int steps, int hidden, int directions, ReadOnlySpan<int> lengths)
    {
        int width = directions * hidden;
        for (int b = 0; b < batch; b++)
        for (int d = 0; d < directions; d++)
        {
            int t = d == 0 ? (lengths.IsEmpty ? steps : lengths[b]) - 1 : 0;
            h.Slice((t * batch + b) * width + d * hidden, hidden).CopyTo(output.Slice(b * width + d * hidden, hidden));
        }
    }

    /// <summary>The adjoint of <see cref="GatherLastStep(DeviceSpan, DeviceSpan, int, int, int, int)"/>.</summary>
    public static void ScatterLastStep(DeviceSpan dOutput, DeviceSpan dh, int batch, int steps, int hidden, int directions) =>
        ScatterLastStep(dOutput, dh, batch, steps, hidden, directions, default);

    /// <summary>The adjoint of the gather with lengths.</summary>
    public static void ScatterLastStep(DeviceSpan dOutput, DeviceSpan dh, int batch, int steps, int hidden, int directions, ReadOnlySpan<int> lengths)
    {
        int width = directions * hidden;
        dh.Slice(0, steps * batch * width).Clear();
        for (int b = 0; b < batch; b++)
        for (int d = 0; d < directions; d++)
        {
            int t = d == 0 ? (lengths.IsEmpty ? steps : lengths[b]) - 1 : 0;
            dOutput.Slice(b * width + d * hidden, hidden).CopyTo(dh.Slice((t * batch + b) * width + d * hidden, hidden));
        }
    }

    /// <summary>One direction's final state from a time-major buffer [T, B, sourceWidth] into [B, destinationWidth] (an encoder's h_n, c_n).</summary>
    public static void GatherFinalState(DeviceSpan source, int sourceWidth, int sourceOffset, DeviceSpan destination, int destinationWidth,
        int destinationOffset, int batch, int steps, int hidden, bool reverse, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int t = reverse ? 0 : (lengths.IsEmpty ? steps : lengths[b]) - 1;
            source.Slice((t * batch + b) * sourceWidth + sourceOffset, hidden).CopyTo(destination.Slice(b * destinationWidth + destinationOffset, hidden));
        }
    }

    /// <summary>The adjoint: adds a final state's gradient into the time-major gradient buffer.</summary>
    public static void AddToFinalState(DeviceSpan gradient, int gradientWidth, int gradientOffset, DeviceSpan destination, int destinationWidth,
        int destinationOffset, int batch, int steps, int hidden, bool reverse, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int t = reverse ? 0 : (lengths.IsEmpty ? steps : lengths[b]) - 1;
            DeviceSpan row = destination.Slice((t * batch + b) * destinationWidth + destinationOffset, hidden);
            TensorPrimitives.Add(row, gradient.Slice(b * gradientWidth + gradientOffset, hidden), row);
        }
    }
}

/// <summary>
/// The positions of a list of indices grouped by index, for a scatter-add with one thread per index: the indices sorted
/// (each once), where each one's positions start, and the positions in index order, ascending within an index.
/// </summary>
internal static class IndexGroups
{
    [ThreadStatic] private static long[]? t_keys;
    [ThreadStatic] private static int[]? t_groups;

    /// <summary>
    /// For n indices, each in [0, <paramref name="rows"/>), 3n + 2 ints: [0, n) the distinct indices ascending (the first D
    /// slots), [n] D, [n + 1, n + 2 + D) where each one's positions start (and the end, n), [2n + 2, 3n + 2) the positions
    /// grouped by index, ascending within each. Valid until the next call on this thread.
    /// </summary>
    public static Span<int> Of(ReadOnlySpan<int> indices, long rows)
    {
        int n = indices.Length;
        long[] keys = t_keys is { } k && k.Length >= n ? k : (t_keys = new long[Math.Max(64, n)]);
        int[] groups = t_groups is { } g && g.Length >= 3 * n + 2 ? g : (t_groups = new int[Math.Max(192, 3 * n + 2)]);
        Span<long> sorted = keys.AsSpan(0, n);
        // one key per position, the index in the high half: sorting the keys sorts by index, then by position
        for (int r = 0; r < n; r++) sorted[r] = ((long)indices[r] << 32) | (uint)r;
        sorted.Sort();
        int first = (int)(sorted[0] >> 32), last = (int)(sorted[n - 1] >> 32);
        if (first < 0 || last >= rows)
            throw new ArgumentOutOfRangeException(nameof(indices), $"Layout.ScatterAddRows: every index must be in [0, {rows}) (the table's rows), got {(first < 0 ? first : last)}.");
        Span<int> ids = groups.AsSpan(0, n), starts = groups.AsSpan(n + 1, n + 1), positions = groups.AsSpan(2 * n + 2, n);
        int distinct = 0;
        for (int q = 0; q < n; q++)
        {
            int id = (int)(sorted[q] >> 32);
            if (distinct == 0 || ids[distinct - 1] != id)
            {
                ids[distinct] = id;
                starts[distinct++] = q;
            }
            positions[q] = (int)sorted[q];
        }
        starts[distinct] = n;
        groups[n] = distinct;
        return groups.AsSpan(0, 3 * n + 2);
    }
}
