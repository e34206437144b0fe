using System;
using System.Numerics.Tensors;

namespace Dsl.Kernels;

/// <summary>
/// Moves data between the user's batch-major layout [B, T, W] and the time-major layout [T, B, W]
/// that generated code computes in (each step's rows are then contiguous for the recurrent GEMM).
/// </summary>
public static class Layout
{
    /// <summary>Wᵀ [cols, rows] of a row-major W [rows, cols] (an ONNX initializer for x·Wᵀ, GPT-2's Conv1D weights).</summary>
    internal static float[] Transposed(ReadOnlySpan<float> w, int rows, int cols)
    {
        var t = new float[(long)rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[(long)c * rows + r] = w[(int)((long)r * cols + c)];
        return t;
    }

    /// <summary>
    /// Appends <paramref name="rows"/> [T, B, W] to a time-major <paramref name="cache"/> [capacity, B, W] after the
    /// <paramref name="position"/> steps it holds (a stepping layer's inputs or keys).
    /// </summary>
    public static void AppendSteps(int steps, int batch, int width, int position, ReadOnlySpan<float> rows, Span<float> cache)
    {
        int length = checked(steps * batch * width);
        if (rows.Length < length) throw new ArgumentException($"rows: expected at least {length} values, got {rows.Length}.", nameof(rows));
        int at = checked(position * batch * width);
        if (cache.Length < at + length) throw new ArgumentException($"cache: expected at least {at + length} values, got {cache.Length}.", nameof(cache));
        rows.Slice(0, length).CopyTo(cache.Slice(at));
    }

    /// <summary>
    /// Reads <paramref name="steps"/> steps [T, B, W] from a time-major <paramref name="cache"/> [capacity, B, W] from step
    /// <paramref name="position"/> into <paramref name="rows"/>: what <see cref="AppendSteps"/> wrote (a decoder's projected
    /// memory, read back at each step).
    /// </summary>
    public static void ReadSteps(int steps, int batch, int width, int position, ReadOnlySpan<float> cache, Span<float> rows)
    {
        int length = checked(steps * batch * width), at = checked(position * batch * width);
        if (rows.Length < length) throw new ArgumentException($"rows: expected room for {length} values, got {rows.Length}.", nameof(rows));
        if (cache.Length < at + length) throw new ArgumentException($"cache: expected at least {at + length} values, got {cache.Length}.", nameof(cache));
        cache.Slice(at, length).CopyTo(rows);
    }

    /// <summary>
    /// Row <c>i</c> of every step of a time-major <paramref name="destination"/> [T, rows.Length, W] from row
    /// <c>rows[i]</c> of the same step of <paramref name="source"/> [T, <paramref name="sourceBatch"/>, W]: a state's rows
    /// (T = 1) or a key/value cache's, reordered and repeated as a beam search keeps its hypotheses (PyTorch's
    /// <c>index_select</c> on the batch dimension). The rows are checked by the caller (<see cref="Check.Rows"/>).
    /// </summary>
    public static void GatherRows(ReadOnlySpan<float> source, int sourceBatch, Span<float> destination, ReadOnlySpan<int> rows, int steps, int width)
    {
        long need = (long)steps * sourceBatch * width, room = (long)steps * rows.Length * width;
        if (source.Length < need) throw new ArgumentException($"source: expected at least {steps} × {sourceBatch} × {width} = {need} values, got {source.Length}.", nameof(source));
        if (destination.Length < room) throw new ArgumentException($"destination: expected at least {steps} × {rows.Length} × {width} = {room} values, got {destination.Length}.", nameof(destination));
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<float> from = source.Slice(t * sourceBatch * width, sourceBatch * width);
            Span<float> to = destination.Slice(t * rows.Length * width, rows.Length * width);
            for (int i = 0; i < rows.Length; i++) from.Slice(rows[i] * width, width).CopyTo(to.Slice(i * width, width));
        }
    }

    /// <summary>[B, T, W] → [T, B, W].</summary>
    public static void ToTimeMajor<T>(ReadOnlySpan<T> source, Span<T> destination, int batch, int steps, int width)
    {
        Require(source.Length, destination.Length, batch, steps, width);
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++) source.Slice((b * steps + t) * width, width).CopyTo(destination.Slice((t * batch + b) * width, width));
        }
    }

    /// <summary>[T, B, W] → [B, T, W].</summary>
    public static void ToBatchMajor<T>(ReadOnlySpan<T> source, Span<T> destination, int batch, int steps, int width)
    {
        Require(source.Length, destination.Length, batch, steps, width);
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++) source.Slice((t * batch + b) * width, width).CopyTo(destination.Slice((b * steps + t) * width, width));
        }
    }

    private static void Require(int source, int destination, int batch, int steps, int width)
    {
        long need = (long)batch * steps * width;
        if (source < need || destination < need)
            throw new ArgumentException($"Layout: [{batch}, {steps}, {width}] needs {need} values; source has {source}, destination {destination}.");
    }

    /// <summary>
    /// Many-to-one: copies each direction's final hidden state from h [T, B, D·H] into out [B, D·H]:
    /// step T − 1 for the forward direction, step 0 for the reverse one (PyTorch's h_n).
    /// </summary>
    public static void GatherLastStep(ReadOnlySpan<float> h, Span<float> output, int batch, int steps, int hidden, int directions) =>
        GatherLastStep(h, output, batch, steps, hidden, directions, default);

    /// <summary>As above for sequences of the given <paramref name="lengths"/> (empty: all full): the forward direction's last step is length − 1.</summary>
    public static void GatherLastStep(ReadOnlySpan<float> h, Span<float> output, int batch, int steps, int hidden, int directions, ReadOnlySpan<int> lengths)
    {
        int width = directions * hidden;
        for (int b = 0; b < batch; b++)
        {
            for (int d = 0; d < directions; d++)
            {
                int t = d == 0 ? (lengths.IsEmpty ? steps : lengths[b]) - 1 : 0;
                h.Slice((t * batch + b) * width + d * hidden, hidden).CopyTo(output.Slice(b * width + d * hidden, hidden));
            }
        }
    }

    /// <summary>
    /// Mean pooling: out[b] = the mean of x [T, B, W]'s rows of sequence b over its first lengths[b] steps (all T where
    /// <paramref name="lengths"/> is empty), summed in step order, then divided; a sequence of length 0 gives zeros.
    /// </summary>
    public static void MeanSteps(ReadOnlySpan<float> x, Span<float> output, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int length = lengths.IsEmpty ? steps : lengths[b];
            Span<float> row = output.Slice(b * width, width);
            row.Clear();
            for (int t = 0; t < length; t++) TensorPrimitives.Add(row, x.Slice((t * batch + b) * width, width), row);
            if (length > 0) TensorPrimitives.Divide(row, length, row);
        }
    }

    /// <summary>
    /// Max pooling: output[b, j] = the largest x[t, b, j] over each sequence's valid steps (x [T, B, W], time-major; all the
    /// steps where <paramref name="lengths"/> is empty), and in <paramref name="argmax"/> [B, W] the step it came from (the first
    /// on ties, as a float) for the step back; a NaN is never the maximum unless every value is NaN.
    /// </summary>
    public static void MaxSteps(ReadOnlySpan<float> x, Span<float> output, Span<float> argmax, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int length = lengths.IsEmpty ? steps : lengths[b];
            Span<float> best = output.Slice(b * width, width), from = argmax.Slice(b * width, width);
            x.Slice(b * width, width).CopyTo(best);
            from.Clear();
            for (int t = 1; t < length; t++)
            {
                ReadOnlySpan<float> row = x.Slice((t * batch + b) * width, width);
                for (int j = 0; j < width; j++)
                    if (row[j] > best[j] || (float.IsNaN(best[j]) && !float.IsNaN(row[j]))) (best[j], from[j]) = (row[j], t);
            }
        }
    }

    /// <summary>The adjoint of MaxSteps: dx [T, B, W] is dout[b, j] at the step each maximum came from, zero elsewhere.</summary>
    public static void MaxStepsBackward(ReadOnlySpan<float> dOutput, Span<float> dx, ReadOnlySpan<float> argmax, int batch, int steps, int width)
    {
        dx.Slice(0, steps * batch * width).Clear();
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < width; j++) dx[((int)argmax[b * width + j] * batch + b) * width + j] = dOutput[b * width + j];
    }

    /// <summary>
    /// Each token's type (BERT's <c>token_type_ids</c>), time-major [T, B]: the number of <paramref name="separator"/> ids before
    /// it in its sequence, at most <paramref name="count"/> − 1 (<c>[CLS] A [SEP]</c> type 0, <c>B [SEP]</c> after it type 1).
    /// </summary>
    public static void TokenTypes(ReadOnlySpan<int> tokens, Span<int> types, int steps, int batch, int separator, int count)
    {
        long n = (long)steps * batch;
        if (steps < 0 || batch < 0 || count < 1 || tokens.Length < n || types.Length < n)
            throw new ArgumentException($"Layout.TokenTypes: [T = {steps}, B = {batch}] of {count} types needs {n} tokens and types, got {tokens.Length} and {types.Length}.");
        for (int b = 0; b < batch; b++)
        {
            int type = 0;
            for (int t = 0; t < steps; t++)
            {
                int at = t * batch + b;
                types[at] = type;
                if (tokens[at] == separator && type < count - 1) type++;
            }
        }
    }

    /// <summary>The adjoint of MeanSteps: dx[t, b] = dout[b] / lengths[b] at the valid steps, zero at the padded ones.</summary>
    public static void MeanStepsBackward(ReadOnlySpan<float> dOutput, Span<float> dx, int batch, int steps, int width, ReadOnlySpan<int> lengths)
    {
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                int length = lengths.IsEmpty ? steps : lengths[b];
                Span<float> row = dx.Slice((t * batch + b) * width, width);
                if (t < length) TensorPrimitives.Divide(dOutput.Slice(b * width, width), length, row);
                else row.Clear();
            }
        }
    }

    /// <summary>The adjoint of GatherLastStep: dh [T, B, D·H] is zero except where the last steps were read.</summary>
    public static void ScatterLastStep(ReadOnlySpan<float> dOutput, Span<float> dh, int batch, int steps, int hidden, int directions) =>
        ScatterLastStep(dOutput, dh, batch, steps, hidden, directions, default);

    /// <summary>The adjoint of the gather with lengths.</summary>
    public static void ScatterLastStep(ReadOnlySpan<float> dOutput, Span<float> dh, int batch, int steps, int hidden, int directions, ReadOnlySpan<int> lengths)
    {
        int width = directions * hidden;
        dh.Slice(0, steps * batch * width).Clear();
        for (int b = 0; b < batch; b++)
        {
            for (int d = 0; d < directions; d++)
            {
                int t = d == 0 ? (lengths.IsEmpty ? steps : lengths[b]) - 1 : 0;
                dOutput.Slice(b * width + d * hidden, hidden).CopyTo(dh.Slice((t * batch + b) * width + d * hidden, hidden));
            }
        }
    }

    /// <summary>
    /// Copies one direction's final state from a time-major buffer [T, B, <paramref name="sourceWidth"/>] (its columns from
    /// <paramref name="sourceOffset"/>) into [B, <paramref name="destinationWidth"/>] at <paramref name="destinationOffset"/>:
    /// step length − 1 for the forward direction, step 0 for the reverse one (PyTorch's h_n, c_n).
    /// </summary>
    public static void GatherFinalState(ReadOnlySpan<float> source, int sourceWidth, int sourceOffset, Span<float> destination, int destinationWidth,
        int destinationOffset, int batch, int steps, int hidden, bool reverse, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int t = reverse ? 0 : (lengths.IsEmpty ? steps : lengths[b]) - 1;
            source.Slice((t * batch + b) * sourceWidth + sourceOffset, hidden).CopyTo(destination.Slice(b * destinationWidth + destinationOffset, hidden));
        }
    }

    /// <summary>The adjoint of <see cref="GatherFinalState"/>: adds the final state's gradient into the time-major gradient buffer.</summary>
    public static void AddToFinalState(ReadOnlySpan<float> gradient, int gradientWidth, int gradientOffset, Span<float> destination, int destinationWidth,
        int destinationOffset, int batch, int steps, int hidden, bool reverse, ReadOnlySpan<int> lengths)
    {
        for (int b = 0; b < batch; b++)
        {
            int t = reverse ? 0 : (lengths.IsEmpty ? steps : lengths[b]) - 1;
            Span<float> row = destination.Slice((t * batch + b) * destinationWidth + destinationOffset, hidden);
            System.Numerics.Tensors.TensorPrimitives.Add(row, gradient.Slice(b * gradientWidth + gradientOffset, hidden), row);
        }
    }

    /// <summary>
    /// into[r] = table[indices[r]] for every index, rows of <paramref name="width"/> (an embedding's lookup, or a folded input
    /// projection's rows picked by token). Split by rows over the cores from 64 K values: a copy into memory not yet in
    /// cache runs at what one core can fetch, and two fetch more (12.8 MB of rows 4 KB wide, on a 2-core Zen 5 VM, in
    /// four runs: 0.52-1.5 ms on one core, 0.36-0.52 ms on two). With <paramref name="scale"/> ≠ 1, each row is multiplied by
    /// it (an embedding scaled by √dim). A table held in bfloat16, 8- or 4-bit integers (<see cref="Weights"/>) has its rows widened
    /// as they are copied (8-bit rows times their scales, 4-bit groups times theirs: the floats they stand for, then times <paramref name="scale"/>).
    /// </summary>
    public static unsafe void GatherRows(Weights table, ReadOnlySpan<int> indices, int width, Span<float> into, float scale = 1f)
    {
        long length = RowsLength(indices.Length, width, into.Length, nameof(into));
        if (width == 0) return; // (no values to move: the indices name no rows)
        TableRows(indices, table.Length, width);
        if (table.IsInt8 && width > 0 && (table.RowLength != width || table.Column != 0))
            throw new ArgumentException($"Layout.GatherRows: a table of 8-bit rows of {table.RowLength} (a scale each){(table.Column != 0 ? $" sliced from column {table.Column}" : "")} is gathered by whole rows, not rows of {width}.", nameof(table));
        if (table.IsInt4 && width % table.GroupSize != 0)
            throw new ArgumentException($"Layout.GatherRows: a table of 4-bit values in groups of {table.GroupSize} (a scale each) is gathered by rows of whole groups, not rows of {width}.", nameof(table));
        fixed (float* pt = table.RawFloats, pi = into, ps = table.RawScales)
        fixed (ushort* pt16 = table.RawBits)
        fixed (sbyte* pt8 = table.RawInt8)
        fixed (byte* pt4 = table.RawInt4)
        fixed (int* px = indices)
        {
            var rows = new RowsByIndex
            {
                Table = table.Precision == Precision.Float32 ? pt : null, Table16 = table.IsBFloat16 ? pt16 : null, Table8 = table.IsInt8 ? pt8 : null,
                Table4 = table.IsInt4 ? pt4 : null, Group = table.GroupSize,
                Scales = table.IsInt8 || table.IsInt4 ? ps : null, TableLength = table.Length, Indices = px, Count = indices.Length, Width = width, Rows = pi, Scale = scale,
            };
            GemmWorkers.Run(&GatherPart, &rows, GemmWorkers.Parts(indices.Length, length, RowsSplitFrom));
        }
    }

    /// <summary>Values a gather or a scatter moves from which it is split over the cores (64 K: 256 KB, some 20 µs on one core).</summary>
    private const long RowsSplitFrom = 1 << 16;

    /// <summary>
    /// The values <paramref name="count"/> rows of <paramref name="width"/> take, after refusing a negative width and a
    /// buffer (<paramref name="name"/>) of fewer: a gather's destination, a scatter's rows.
    /// </summary>
    private static long RowsLength(int count, int width, int have, string name)
    {
        if (width < 0) throw new ArgumentOutOfRangeException(nameof(width), width, "A row's width must be 0 or more.");
        long length = (long)count * width;
        if (have < length) throw new ArgumentException($"{name}: expected at least {length} values ({count} rows of {width}), got {have}.", name);
        return length;
    }

    /// <summary>
    /// The rows of <paramref name="width"/> (above 0) a table of <paramref name="tableLength"/> values holds, after checking
    /// that every index names one of them: a gather or a scatter then reads and writes only the table's rows (an index
    /// times the width could otherwise wrap round to another row). The device's gather checks its indices here too.
    /// </summary>
    internal static int TableRows(ReadOnlySpan<int> indices, int tableLength, int width)
    {
        int tableRows = tableLength / width;
        for (int r = 0; r < indices.Length; r++)
            if ((uint)indices[r] >= (uint)tableRows)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[r], $"Index {r} is {indices[r]}: the table has {tableRows} rows of {width}.");
        return tableRows;
    }

    /// <summary>A table, the indices of its rows and the rows they pick or add, for the parts of a split (a scatter's ranges of table rows in Bounds).</summary>
    private unsafe struct RowsByIndex
    {
        public float* Table, Rows;
        public ushort* Table16; // a gather's table held in bfloat16, where Table is null
        public sbyte* Table8; // or in 8-bit integers, row r times Scales[r]
        public byte* Table4; // or in 4-bit integers, group g times Scales[g] (groups of Group)
        public float* Scales;
        public int* Indices, Bounds;
        public int TableLength, Count, Width, Group;
        public float Scale; // what each row is multiplied by as it is gathered or added
    }

    private static unsafe void GatherPart(void* state, int part, int parts)
    {
        ref RowsByIndex a = ref System.Runtime.CompilerServices.Unsafe.AsRef<RowsByIndex>(state);
        var (start, end) = GemmWorkers.Range(a.Count, part, parts);
        // (every index was checked against the table's rows: TableRows)
        for (int r = start; r < end; r++)
        {
            var into = new Span<float>(a.Rows + (nint)r * a.Width, a.Width);
            if (a.Table16 != null || a.Table8 != null || a.Table4 != null)
            {
                nint first = (nint)a.Indices[r] * a.Width;
                if (a.Table16 != null) BFloat16.ToFloat(new ReadOnlySpan<ushort>(a.Table16 + first, a.Width), into);
                else if (a.Table8 != null) Int8.Widen(a.Table8 + first, a.Width, a.Scales[a.Indices[r]], a.Rows + (nint)r * a.Width);
                else Int4.Widen(a.Table4 + first / 2, a.Scales + first / a.Group, a.Group, a.Width, a.Rows + (nint)r * a.Width);
                if (a.Scale != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(into, a.Scale, into);
                continue;
            }
            var from = new ReadOnlySpan<float>(a.Table + (nint)a.Indices[r] * a.Width, a.Width);
            if (a.Scale == 1f) from.CopyTo(into);
            else System.Numerics.Tensors.TensorPrimitives.Multiply(from, a.Scale, into);
        }
    }

    /// <summary>
    /// table[indices[r]] += rows[r] for every index (an embedding's gradient, or a folded input projection's gate gradients
    /// summed per token). Every index is checked before the table changes. From 64 K values it is split over the cores by
    /// ranges of table rows holding about as many of the indices each: every core reads whole rows, and each table row
    /// adds its rows in index order, as on one thread (the same bits). 3200 rows of 4 KB into 65: 611 → 534 µs on two
    /// cores of a Zen 5 VM, where splitting each row's columns instead took 946–1103. With <paramref name="scale"/> ≠ 1, each
    /// row is added times it (row · scale, then the sum: an embedding scaled by √dim).
    /// </summary>
    public static unsafe void ScatterAddRows(ReadOnlySpan<int> indices, ReadOnlySpan<float> rows, int width, Span<float> table, float scale = 1f)
    {
        long length = RowsLength(indices.Length, width, rows.Length, nameof(rows));
        if (width == 0) return;
        int tableRows = TableRows(indices, table.Length, width);
        int parts = GemmWorkers.Parts(indices.Length, length, RowsSplitFrom);
        if (parts > 1 && tableRows < parts) parts = 1;
        // the table's rows cut into ranges holding about as many indices each: parts + 1 bounds
        Span<int> bounds = stackalloc int[parts + 1];
        if (parts > 1) CutByCount(indices, tableRows, bounds);
        else (bounds[0], bounds[1]) = (0, tableRows);
        fixed (float* pt = table, pr = rows)
        fixed (int* px = indices, pb = bounds)
        {
            var work = new RowsByIndex { Table = pt, TableLength = table.Length, Indices = px, Count = indices.Length, Width = width, Rows = pr, Bounds = pb, Scale = scale };
            GemmWorkers.Run(&ScatterPart, &work, parts);
        }
    }

    /// <summary>
    /// Bounds of table rows, b[0] = 0 … b[parts] = <paramref name="tableRows"/>, such that each range holds about as many of
    /// <paramref name="indices"/> as the others (a token's frequency decides where an embedding's work lies).
    /// </summary>
    private static void CutByCount(ReadOnlySpan<int> indices, int tableRows, Span<int> bounds)
    {
        int parts = bounds.Length - 1;
        int[] counts = System.Buffers.ArrayPool<int>.Shared.Rent(tableRows);
        try
        {
            Array.Clear(counts, 0, tableRows);
            foreach (int v in indices) counts[v]++;
            bounds[0] = 0;
            int v0 = 0;
            long seen = 0;
            for (int p = 1; p < parts; p++)
            {
                long goal = (long)indices.Length * p / parts;
                while (v0 < tableRows && seen + counts[v0] <= goal) seen += counts[v0++];
                bounds[p] = v0;
            }
            bounds[parts] = tableRows;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(counts);
        }
    }

    private static unsafe void ScatterPart(void* state, int part, int parts)
    {
        ref RowsByIndex a = ref System.Runtime.CompilerServices.Unsafe.AsRef<RowsByIndex>(state);
        int v0 = a.Bounds[part], v1 = a.Bounds[part + 1], width = a.Width;
        float scale = a.Scale;
        for (int r = 0; r < a.Count; r++)
        {
            int v = a.Indices[r];
            if (v < v0 || v >= v1) continue;
            var row = new Span<float>(a.Table + (nint)v * width, width);
            var added = new ReadOnlySpan<float>(a.Rows + (nint)r * width, width);
            if (scale == 1f) System.Numerics.Tensors.TensorPrimitives.Add(row, added, row);
            else
                for (int j = 0; j < width; j++) row[j] += added[j] * scale; // the product rounded, then the sum (as ILGPU's CPU accelerator; a GPU may fuse them)
        }
    }

    /// <summary>into[b] = row for each of <paramref name="rows"/> rows (a learned vector, or a bias, broadcast over the batch).</summary>
    public static void RepeatRows(ReadOnlySpan<float> row, int rows, Span<float> into)
    {
        for (int b = 0; b < rows; b++) row.CopyTo(into.Slice(b * row.Length, row.Length));
    }

    /// <summary>into[r] = a[r] + b[r] for each of <paramref name="rows"/> rows of <paramref name="width"/>, each operand's rows its own distance apart.</summary>
    public static void AddRows(int rows, int width, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> into, int ldInto)
    {
        for (int r = 0; r < rows; r++)
            System.Numerics.Tensors.TensorPrimitives.Add(a.Slice(r * lda, width), b.Slice(r * ldb, width), into.Slice(r * ldInto, width));
    }

    /// <summary>into[r] = a[r] ⊙ b[r] for each of <paramref name="rows"/> rows of <paramref name="width"/>, each operand's rows its own distance apart.</summary>
    public static void MultiplyRows(int rows, int width, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> into, int ldInto)
    {
        for (int r = 0; r < rows; r++)
            System.Numerics.Tensors.TensorPrimitives.Multiply(a.Slice(r * lda, width), b.Slice(r * ldb, width), into.Slice(r * ldInto, width));
    }

    /// <summary>
    /// At step <paramref name="step"/> of a recurrence over padded sequences: every row b the step pads (step ≥ lengths[b])
    /// takes row b of <paramref name="from"/> (rows <paramref name="ldFrom"/> apart), or zeros when it is empty; the other
    /// rows are left alone. What a padded step holds (the state it keeps) forward, and the gradients it stops back.
    /// </summary>
    public static void CopyPaddedRows(int batch, int width, int step, ReadOnlySpan<int> lengths, ReadOnlySpan<float> from, int ldFrom, Span<float> to, int ldTo)
    {
        for (int b = 0; b < batch; b++)
        {
            if (step < lengths[b]) continue;
            Span<float> row = to.Slice(b * ldTo, width);
            if (from.IsEmpty) row.Clear();
            else from.Slice(b * ldFrom, width).CopyTo(row);
        }
    }

    /// <summary>Zeroes the padded steps (t ≥ lengths[b]) of a time-major [T, B, W] buffer, as PyTorch's pad_packed_sequence leaves them.</summary>
    public static void MaskSteps(Span<float> x, ReadOnlySpan<int> lengths, int batch, int steps, int width)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int t = lengths[b]; t < steps; t++) x.Slice((t * batch + b) * width, width).Clear();
        }
    }

    /// <summary>Marks the targets of padded steps (t ≥ lengths[b]) of a time-major [T, B] buffer as ignored (−1).</summary>
    public static void IgnorePaddedTargets(Span<int> targets, ReadOnlySpan<int> lengths, int batch, int steps)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int t = lengths[b]; t < steps; t++) targets[t * batch + b] = -1;
        }
    }
}
