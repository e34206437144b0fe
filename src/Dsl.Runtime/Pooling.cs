using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>One vector per sequence from a model's outputs at every step: what sentence embeddings are made of.</summary>
public static class Pooling
{
    /// <summary>
    /// The mean of each sequence's valid steps, [batch, width] from <paramref name="hidden"/> [batch, steps, width] (an encoder's
    /// last hidden state over padded sequences of the given <paramref name="lengths"/>): sentence-transformers' mean pooling
    /// over the attention mask. With <paramref name="normalize"/>, each mean divided by its L2 norm (its <c>Normalize</c> module,
    /// <c>F.normalize</c>: a norm below 1e-12 divides as 1e-12), so that a dot product of two is their cosine similarity.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not [batch, steps, width], or the lengths are not one per sequence from 1 to steps.</exception>
    public static Tensor<float> Mean(Tensor<float> hidden, ReadOnlySpan<int> lengths, bool normalize = false)
    {
        var (batch, steps, width) = Sizes(hidden, "Mean");
        CheckLengths(lengths, batch, steps, "Mean");
        float[] values = Values(hidden);
        var pooled = new float[batch * width];
        var sum = new double[width];
        for (int b = 0; b < batch; b++)
        {
            Array.Clear(sum);
            for (int t = 0; t < lengths[b]; t++)
            {
                ReadOnlySpan<float> row = values.AsSpan((b * steps + t) * width, width);
                for (int j = 0; j < width; j++) sum[j] += row[j];
            }
            Span<float> mean = pooled.AsSpan(b * width, width);
            for (int j = 0; j < width; j++) mean[j] = (float)(sum[j] / lengths[b]);
            if (normalize) Normalize(mean);
        }
        return Tensor.Create(pooled, [batch, width]);
    }

    /// <summary>
    /// Each sequence's first step, [batch, width] from <paramref name="hidden"/> [batch, steps, width]: the <c>[CLS]</c> token's
    /// state, sentence-transformers' CLS pooling (BAAI's bge models), normalised as <see cref="Mean"/> does with <paramref name="normalize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not [batch, steps, width] with a step at least.</exception>
    public static Tensor<float> First(Tensor<float> hidden, bool normalize = false)
    {
        var (batch, steps, width) = Sizes(hidden, "First");
        if (steps == 0) throw new ArgumentException("Pooling.First: the outputs have no steps.", nameof(hidden));
        float[] values = Values(hidden);
        var pooled = new float[batch * width];
        for (int b = 0; b < batch; b++)
        {
            values.AsSpan(b * steps * width, width).CopyTo(pooled.AsSpan(b * width, width));
            if (normalize) Normalize(pooled.AsSpan(b * width, width));
        }
        return Tensor.Create(pooled, [batch, width]);
    }

    /// <summary>
    /// Each sequence's last valid step, [batch, width] from <paramref name="hidden"/> [batch, steps, width] over padded sequences
    /// of the given <paramref name="lengths"/> (step length − 1; the last step where <paramref name="lengths"/> is empty):
    /// sentence-transformers' last-token pooling, which decoder-based embedding models read (e5-mistral's, gte-Qwen2's, whose
    /// texts end in an end-of-sequence token), normalised as <see cref="Mean"/> does with <paramref name="normalize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not [batch, steps, width], or the lengths are not one per sequence from 1 to steps.</exception>
    public static Tensor<float> Last(Tensor<float> hidden, ReadOnlySpan<int> lengths, bool normalize = false)
    {
        var (batch, steps, width) = Stepped(hidden, lengths, "Last");
        float[] values = Values(hidden);
        var pooled = new float[batch * width];
        for (int b = 0; b < batch; b++)
        {
            int t = (lengths.IsEmpty ? steps : lengths[b]) - 1;
            values.AsSpan((b * steps + t) * width, width).CopyTo(pooled.AsSpan(b * width, width));
            if (normalize) Normalize(pooled.AsSpan(b * width, width));
        }
        return Tensor.Create(pooled, [batch, width]);
    }

    /// <summary>
    /// The largest value of each feature over each sequence's valid steps, [batch, width] from <paramref name="hidden"/> [batch,
    /// steps, width] over padded sequences of the given <paramref name="lengths"/> (every step where it is empty):
    /// sentence-transformers' max pooling (<c>pooling_mode_max_tokens</c>, the padded steps at −1e9 so that none is the maximum),
    /// normalised as <see cref="Mean"/> does with <paramref name="normalize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not [batch, steps, width] with a step at least, or the lengths are not one per sequence from 1 to steps.</exception>
    public static Tensor<float> Max(Tensor<float> hidden, ReadOnlySpan<int> lengths, bool normalize = false)
    {
        var (batch, steps, width) = Stepped(hidden, lengths, "Max");
        float[] values = Values(hidden);
        var pooled = new float[batch * width];
        for (int b = 0; b < batch; b++)
        {
            Span<float> max = pooled.AsSpan(b * width, width);
            values.AsSpan(b * steps * width, width).CopyTo(max);
            for (int t = 1; t < (lengths.IsEmpty ? steps : lengths[b]); t++) TensorPrimitives.Max(max, values.AsSpan((b * steps + t) * width, width), max);
            if (normalize) Normalize(max);
        }
        return Tensor.Create(pooled, [batch, width]);
    }

    /// <summary>The outputs' sizes, with a step at least, and the lengths checked against them where given (every step where not).</summary>
    private static (int Batch, int Steps, int Width) Stepped(Tensor<float> hidden, ReadOnlySpan<int> lengths, string who)
    {
        var (batch, steps, width) = Sizes(hidden, who);
        if (steps == 0) throw new ArgumentException($"Pooling.{who}: the outputs have no steps.", nameof(hidden));
        if (!lengths.IsEmpty) CheckLengths(lengths, batch, steps, who);
        return (batch, steps, width);
    }

    private static void CheckLengths(ReadOnlySpan<int> lengths, int batch, int steps, string who)
    {
        if (lengths.Length != batch)
            throw new ArgumentException($"Pooling.{who}: {lengths.Length} lengths for {batch} sequences; give one per sequence.", nameof(lengths));
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < 1 || lengths[b] > steps)
                throw new ArgumentException($"Pooling.{who}: sequence {b}'s length is {lengths[b]}; expected 1 to {steps} (the steps of the outputs).", nameof(lengths));
        }
    }

    private static (int Batch, int Steps, int Width) Sizes(Tensor<float> hidden, string who)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (hidden.Rank != 3)
            throw new ArgumentException($"Pooling.{who}: expected outputs of a sequence, [batch, steps, width], got {hidden.Rank} dimension(s).", nameof(hidden));
        return (checked((int)hidden.Lengths[0]), checked((int)hidden.Lengths[1]), checked((int)hidden.Lengths[2]));
    }

    private static float[] Values(Tensor<float> hidden)
    {
        var values = new float[hidden.FlattenedLength];
        hidden.FlattenTo(values);
        return values;
    }

    /// <summary>x / max(‖x‖₂, 1e-12), in place (<c>F.normalize</c>).</summary>
    internal static void Normalize(Span<float> x) => TensorPrimitives.Divide(x, MathF.Max(TensorPrimitives.Norm(x), 1e-12f), x);
}
