using System;
using System.Numerics;
using System.Numerics.Tensors;
using Dsl.Kernels;

namespace Dsl;

/// <summary>Losses with PyTorch's <c>reduction='mean'</c> semantics and their gradients.</summary>
public static class Losses
{
    /// <summary>
    /// Softmax cross-entropy of <paramref name="logits"/> [rows, classes] against class ids
    /// (PyTorch <c>F.cross_entropy</c>): the mean over the rows whose target is not negative;
    /// a negative target (e.g. −100 for padding) is ignored. Writes d(mean loss)/d(logits) into
    /// <paramref name="gradient"/> when it is not empty (zero on ignored rows). With <paramref name="labelSmoothing"/> ε
    /// above 0 (PyTorch's <c>label_smoothing</c>), each counted row's target is (1 − ε) on its class and ε / classes on
    /// every class: its loss (1 − ε) (−log p[t]) + ε / classes · Σ_c −log p[c].
    /// </summary>
    /// <returns>The mean loss, or NaN when every target is ignored (as PyTorch).</returns>
    public static unsafe float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> gradient, string targetName = "targets", float labelSmoothing = 0f)
    {
        RequireLabelSmoothing(labelSmoothing, nameof(labelSmoothing));
        int rows = targets.Length;
        if (logits.Length != (long)rows * classes) throw new ArgumentException($"Cross-entropy: logits have {logits.Length} values, expected {rows} × {classes}.", nameof(logits));
        bool wantGrad = !gradient.IsEmpty;
        if (wantGrad && gradient.Length != logits.Length) throw new ArgumentException($"Cross-entropy: gradient has {gradient.Length} values, expected {logits.Length}.", nameof(gradient));
        int counted = CountTargets(targets, classes, targetName);
        // The rows in fixed chunks, whatever the threads: each chunk's losses summed in double in row order, then the
        // chunks' sums in chunk order, so one thread and all give the same total. The chunks are split over the cores
        // (a language model's vocabulary of 50 000 makes this pass as long as a layer).
        int chunkRows = Math.Max(CrossEntropyChunkRows, (rows + CrossEntropyMaxChunks - 1) / CrossEntropyMaxChunks);
        int chunks = (rows + chunkRows - 1) / chunkRows;
        Span<double> sums = stackalloc double[Math.Max(chunks, 1)];
        fixed (float* pz = logits, pg = gradient)
        fixed (int* pt = targets)
        fixed (double* ps = sums)
        {
            var work = new CrossEntropyWork
            {
                Logits = pz, Gradient = wantGrad ? pg : null, Targets = pt, Sums = ps, Rows = rows, Classes = classes, ChunkRows = chunkRows, Chunks = chunks,
                Scale = counted == 0 ? 0f : 1f / counted, Smoothing = labelSmoothing,
            };
            GemmWorkers.Run(&CrossEntropyPart, &work, GemmWorkers.Parts(chunks, (long)rows * classes, CrossEntropySplitFrom));
        }
        double total = 0;
        for (int c = 0; c < chunks; c++) total += sums[c];
        return counted == 0 ? float.NaN : (float)(total / counted);
    }

    /// <summary>
    /// Checks a label smoothing ε: in [0, 1], as PyTorch's <c>label_smoothing</c> (0: none; 1: a uniform target). The
    /// models' <c>LabelSmoothing</c> and the device's loss check theirs here.
    /// </summary>
    /// <returns><paramref name="value"/>.</returns>
    public static float RequireLabelSmoothing(float value, string paramName) =>
        value is >= 0f and <= 1f ? value
            : throw new ArgumentOutOfRangeException(paramName, value, $"Label smoothing must be in [0, 1] (PyTorch's label_smoothing), got {value}.");

    /// <summary>Rows per chunk of the loss's sum (at least; more when there would be over <see cref="CrossEntropyMaxChunks"/> chunks).</summary>
    private const int CrossEntropyChunkRows = 64;
    private const int CrossEntropyMaxChunks = 256;

    /// <summary>Logits from which the loss is split over the cores (32 K: a few tens of microseconds on one).</summary>
    private const long CrossEntropySplitFrom = 1 << 15;

    private unsafe struct CrossEntropyWork
    {
        public float* Logits, Gradient;
        public int* Targets;
        public double* Sums;
        public int Rows, Classes, ChunkRows, Chunks;
        public float Scale, Smoothing;
    }

    private static unsafe void CrossEntropyPart(void* state, int part, int parts)
    {
        ref CrossEntropyWork w = ref System.Runtime.CompilerServices.Unsafe.AsRef<CrossEntropyWork>(state);
        int classes = w.Classes;
        var (first, end) = GemmWorkers.Range(w.Chunks, part, parts);
        // without a gradient to hold them, the row's exponentials go through a buffer on the stack, a chunk at a time
        Span<float> buffer = w.Gradient != null ? default : stackalloc float[Math.Clamp(classes, 1, 1024)];
        for (int chunk = first; chunk < end; chunk++)
        {
            double sum = 0;
            int r1 = Math.Min(w.Rows, (chunk + 1) * w.ChunkRows);
            for (int r = chunk * w.ChunkRows; r < r1; r++)
            {
                var z = new ReadOnlySpan<float>(w.Logits + (nint)r * classes, classes);
                Span<float> g = w.Gradient == null ? default : new Span<float>(w.Gradient + (nint)r * classes, classes);
                sum += RowLoss(z, w.Targets[r], w.Scale, w.Smoothing, g, buffer);
            }
            w.Sums[chunk] = sum;
        }
    }

    /// <summary>
    /// One row's loss, log Σ exp(z) − z[t], and its gradient (scaled) when <paramref name="gradient"/> is not empty; 0 and a
    /// zero gradient for an ignored row (t &lt; 0). <paramref name="buffer"/> holds the exponentials when there is no gradient.
    /// With a smoothing ε, the target is (1 − ε) one-hot + ε / C: the loss log Σ exp(z) − (1 − ε) z[t] − ε / C · Σ z, the
    /// gradient's target subtracted likewise.
    /// </summary>
    private static double RowLoss(ReadOnlySpan<float> z, int t, float scale, float smoothing, Span<float> gradient, Span<float> buffer)
    {
        if (t < 0)
        {
            gradient.Clear();
            return 0;
        }
        // log Σ exp(z) = max + log Σ exp(z − max): the exponentials in float on every vector width (CellMath's, within
        // 3e-7), their sum and the log in double; the gradient is softmax(z) = exp(z − max) / Σ, scaled, less the one-hot
        float max = TensorPrimitives.Max(z);
        double sum = 0;
        if (!gradient.IsEmpty)
        {
            sum = CellMath.ShiftedExp(z, max, gradient);
            TensorPrimitives.Multiply(gradient, (float)(scale / sum), gradient);
            if (smoothing == 0f) gradient[t] -= scale;
            else
            {
                TensorPrimitives.Subtract(gradient, scale * smoothing / z.Length, gradient);
                gradient[t] -= scale * (1f - smoothing);
            }
        }
        else
        {
            for (int c0 = 0; c0 < z.Length; c0 += buffer.Length)
            {
                int n = Math.Min(buffer.Length, z.Length - c0);
                sum += CellMath.ShiftedExp(z.Slice(c0, n), max, buffer.Slice(0, n));
            }
        }
        if (smoothing == 0f) return max + Math.Log(sum) - z[t];
        double total = 0; // Σ z in double: with tens of thousands of classes a float sum would lose the small ones
        foreach (float v in z) total += v;
        return max + Math.Log(sum) - (1.0 - smoothing) * z[t] - smoothing * total / z.Length;
    }

    /// <summary>
    /// The targets <see cref="SoftmaxCrossEntropy"/> counts (those not negative), after checking that each is a class id below
    /// <paramref name="classes"/>: the error names the id, its position and the range. The device's loss checks its targets here too.
    /// </summary>
    public static int CountTargets(ReadOnlySpan<int> targets, int classes, string targetName = "targets") =>
        Check.CountClassIds(targets, classes, targetName, "position");

    /// <summary>
    /// Mean squared error over every element (PyTorch <c>F.mse_loss</c>); writes d(loss)/d(prediction)
    /// = 2 (p − t) / n into <paramref name="gradient"/> when it is not empty.
    /// </summary>
    public static float MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> gradient)
    {
        if (prediction.Length != target.Length) throw new ArgumentException($"MSE: prediction has {prediction.Length} values, target {target.Length}.", nameof(target));
        if (!gradient.IsEmpty && gradient.Length != prediction.Length) throw new ArgumentException($"MSE: gradient has {gradient.Length} values, expected {prediction.Length}.", nameof(gradient));
        int n = prediction.Length;
        if (n == 0) return float.NaN;
        return (float)(SquaredDifferences(prediction, target, gradient, 2f / n) / n);
    }

    /// <summary>
    /// Mean squared error over the valid steps (t &lt; lengths[b]) of time-major [T, B, W] predictions, every feature
    /// counted; the gradient is zero on padded steps.
    /// </summary>
    public static float MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> gradient, ReadOnlySpan<int> lengths, int batch, int steps, int width)
    {
        if (batch < 0 || steps < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"MSE: a shape of {batch} × {steps} × {width}; every dimension is 0 or more.");
        if (prediction.Length != (long)batch * steps * width || target.Length != prediction.Length)
            throw new ArgumentException($"MSE: expected {batch} × {steps} × {width} predictions and targets, got {prediction.Length} and {target.Length}.", nameof(target));
        if (!gradient.IsEmpty && gradient.Length != prediction.Length)
            throw new ArgumentException($"MSE: gradient has {gradient.Length} values, expected {prediction.Length}.", nameof(gradient));
        // a length past the steps divided by too much, a negative one flipped the loss's sign: each is 1 … steps
        Check.Lengths(lengths, batch, steps, nameof(lengths));
        long count = 0;
        for (int b = 0; b < batch; b++) count += (long)lengths[b] * width;
        if (count == 0) return float.NaN;
        double total = 0;
        float scale = 2f / count;
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                int row = (t * batch + b) * width;
                Span<float> g = gradient.IsEmpty ? default : gradient.Slice(row, width);
                if (t < lengths[b]) total += SquaredDifferences(prediction.Slice(row, width), target.Slice(row, width), g, scale);
                else g.Clear();
            }
        }
        return (float)(total / count);
    }

    /// <summary>
    /// Σ (p − t)² in double precision (each difference in float, as before the sum), and scale · (p − t) into
    /// <paramref name="gradient"/> when it is not empty. An empty <paramref name="t"/> is zeros: Σ p² (a gradient's norm).
    /// </summary>
    internal static double SquaredDifferences(ReadOnlySpan<float> p, ReadOnlySpan<float> t, Span<float> gradient, float scale)
    {
        int i = 0;
        double total = 0;
        bool wantGrad = !gradient.IsEmpty, hasTarget = !t.IsEmpty;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
            var s = new Vector<float>(scale);
            for (; i <= p.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> d = hasTarget ? new Vector<float>(p.Slice(i)) - new Vector<float>(t.Slice(i)) : new Vector<float>(p.Slice(i));
                if (wantGrad) (d * s).CopyTo(gradient.Slice(i));
                Vector.Widen(d, out Vector<double> dl, out Vector<double> dh);
                low += dl * dl;
                high += dh * dh;
            }
            total = Vector.Sum(low + high);
        }
        for (; i < p.Length; i++)
        {
            float d = hasTarget ? p[i] - t[i] : p[i];
            total += (double)d * d;
            if (wantGrad) gradient[i] = scale * d;
        }
        return total;
    }
}
