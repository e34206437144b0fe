using System;

namespace Dsl.Kernels;

/// <summary>
/// A learned bias on self-attention's scores by the distance between query and key, in buckets (T5's
/// <c>relative_attention_bias</c>, MPNet's). Bidirectional (T5's encoder, MPNet): the distances j − i fall into
/// <c>buckets</c> buckets, half for the keys after the query, half for those at or before it; one-sided (T5's decoder,
/// causal attention: <c>bidirectional=False</c>): every bucket for the keys at or before the query, those after it in bucket 0.
/// Within each half (or the whole), distances below half of its buckets have one bucket each and the rest share buckets
/// logarithmically up to <c>maxDistance</c>, past which they share the last. A table [buckets, heads] (PyTorch's
/// <c>nn.Embedding(buckets, heads)</c>) holds each head's bias per bucket, added to the scaled scores before the softmax. A
/// pass reads it by distance: <see cref="Expand"/> writes each head's bias for the distances −(T − 1) … T − 1, the attention
/// kernels add it, and back, <see cref="Collect"/> sums the scores' gradients by bucket.
/// </summary>
public static class RelativePositionKernel
{
    /// <summary>
    /// The bucket of the key at <paramref name="relative"/> = j − i steps from its query, as transformers' T5 and MPNet
    /// compute it (<c>relative_position_bucket</c>; <paramref name="bidirectional"/> false: T5's decoder's, every bucket for
    /// the keys at or before the query), the logarithm in double: the same buckets as PyTorch's float32 arithmetic for every
    /// distance up to 3000 at the usual sizes (checked against it in the tests).
    /// </summary>
    public static int Bucket(int relative, int buckets, int maxDistance, bool bidirectional = true)
    {
        int half = bidirectional ? buckets / 2 : buckets, exact = half / 2;
        int bucket = bidirectional && relative > 0 ? half : 0;
        int n = bidirectional ? Math.Abs(relative) : Math.Max(-relative, 0);
        if (n < exact) return bucket + n;
        int large = exact + (int)(Math.Log((double)n / exact) / Math.Log((double)maxDistance / exact) * (half - exact));
        return bucket + Math.Min(large, half - 1);
    }

    /// <summary>
    /// The bucket and distance sizes every relative-bias kernel accepts: bidirectional, an even count of 4 or more buckets (a
    /// quarter of them exact distances), one-sided 2 or more (half of them exact); and a maximum distance beyond the exact
    /// ones; the host's and the device's check.
    /// </summary>
    internal static void RequireBuckets(int buckets, int maxDistance, bool bidirectional = true)
    {
        if (bidirectional ? buckets < 4 || buckets % 2 != 0 : buckets < 2)
            throw new ArgumentOutOfRangeException(nameof(buckets), buckets, bidirectional
                ? "RelativePosition: the buckets are an even count of 4 or more (half for the keys after a query, half for the rest)."
                : "RelativePosition: one-sided buckets are 2 or more (half of them one distance each).");
        int exact = bidirectional ? buckets / 4 : buckets / 2;
        if (maxDistance <= exact)
            throw new ArgumentOutOfRangeException(nameof(maxDistance), maxDistance, $"RelativePosition: the maximum distance must pass the {exact} exact distances of {buckets} {(bidirectional ? "" : "one-sided ")}buckets.");
    }

    /// <summary>The distances a pass of <paramref name="steps"/> steps spans, −(T − 1) … T − 1: 2T − 1 (0 without steps).</summary>
    public static int Distances(int steps) => steps > 0 ? 2 * steps - 1 : 0;

    /// <summary>
    /// Each distance's bucket, <paramref name="bucketOf"/>[o] for j − i = o − (T − 1), o &lt; 2T − 1: the index every kernel
    /// reads the table and its gradient by (the device's kernels are handed it).
    /// </summary>
    public static void Buckets(int steps, int buckets, int maxDistance, Span<int> bucketOf, bool bidirectional = true)
    {
        RequireBuckets(buckets, maxDistance, bidirectional);
        int n = Distances(steps);
        if (bucketOf.Length < n) throw new ArgumentException($"bucketOf: expected at least {n} values, got {bucketOf.Length}.", nameof(bucketOf));
        for (int o = 0; o < n; o++) bucketOf[o] = Bucket(o - (steps - 1), buckets, maxDistance, bidirectional);
    }

    /// <summary>
    /// Writes <paramref name="bias"/> [heads, 2T − 1], head h's bias at distance j − i = o − (T − 1) in column o, from the
    /// <paramref name="table"/> [buckets, heads]: the bias a query at i adds to its score against key j is
    /// bias[h, j − i + T − 1], so a query's keys read it in order (<paramref name="bidirectional"/> false: one-sided buckets, a
    /// causal layer's).
    /// </summary>
    public static void Expand(int steps, int heads, int buckets, int maxDistance, ReadOnlySpan<float> table, Span<float> bias, bool bidirectional = true)
    {
        RequireExpand(steps, heads, buckets, maxDistance, table.Length, bias.Length, bidirectional);
        int n = Distances(steps);
        for (int o = 0; o < n; o++)
        {
            int bucket = Bucket(o - (steps - 1), buckets, maxDistance, bidirectional);
            for (int h = 0; h < heads; h++) bias[h * n + o] = table[bucket * heads + h];
        }
    }

    /// <summary>What <see cref="Expand"/> checks (the device's too): the sizes, then the table [buckets, heads] and the bias [heads, 2T − 1].</summary>
    internal static void RequireExpand(int steps, int heads, int buckets, int maxDistance, long table, long bias, bool bidirectional = true)
    {
        RequireSizes(steps, 1, heads, buckets, maxDistance, bidirectional);
        AttentionKernel.RequireLength(table, (long)buckets * heads, "table");
        AttentionKernel.RequireLength(bias, (long)heads * Distances(steps), "bias");
    }

    /// <summary>
    /// Adds to <paramref name="dTable"/> [buckets, heads] the scores' gradients the attention kernels' step back wrote by
    /// distance, <paramref name="dBias"/> [B, heads, 2T − 1] (each sequence's, summed over its queries): each summed over the
    /// sequences, then over the distances that share a bucket (<paramref name="bidirectional"/> as the pass's <see cref="Expand"/>).
    /// </summary>
    public static void Collect(int steps, int batch, int heads, int buckets, int maxDistance, ReadOnlySpan<float> dBias, Span<float> dTable, bool bidirectional = true)
    {
        RequireCollect(steps, batch, heads, buckets, maxDistance, dBias.Length, dTable.Length, bidirectional);
        int n = Distances(steps);
        for (int o = 0; o < n; o++)
        {
            int bucket = Bucket(o - (steps - 1), buckets, maxDistance, bidirectional);
            for (int h = 0; h < heads; h++)
            {
                float sum = 0f;
                for (int b = 0; b < batch; b++) sum += dBias[(b * heads + h) * n + o];
                dTable[bucket * heads + h] += sum;
            }
        }
    }

    /// <summary>What <see cref="Collect"/> checks (the device's too): the sizes, then d(bias) [B, heads, 2T − 1] and d(table) [buckets, heads].</summary>
    internal static void RequireCollect(int steps, int batch, int heads, int buckets, int maxDistance, long dBias, long dTable, bool bidirectional = true)
    {
        RequireSizes(steps, batch, heads, buckets, maxDistance, bidirectional);
        AttentionKernel.RequireLength(dBias, (long)batch * heads * Distances(steps), "dBias");
        AttentionKernel.RequireLength(dTable, (long)buckets * heads, "dTable");
    }

    private static void RequireSizes(int steps, int batch, int heads, int buckets, int maxDistance, bool bidirectional)
    {
        if (steps < 0 || batch < 0 || heads < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), $"RelativePosition: steps {steps} and batch {batch} are 0 or more, heads {heads} 1 or more.");
        RequireBuckets(buckets, maxDistance, bidirectional);
    }
}
