using System;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>Losses with PyTorch's <c>reduction='mean'</c> semantics and their gradients.</summary>
public static class Losses
{
    /// <summary>
    /// Softmax cross-entropy of <paramref name="logits"/> [rows, classes] against class ids
    /// (PyTorch <c>F.cross_entropy</c>): the mean over the rows whose target is not negative;
    /// a negative target (e.g. −100 for padding) is ignored. Writes d(mean loss)/d(logits) into
    /// <paramref name="gradient"/> when it is not empty (zero on ignored rows).
    /// </summary>
    /// <returns>The mean loss, or NaN when every target is ignored (as PyTorch).</returns>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> gradient, string targetName = "targets")
    {
        int rows = targets.Length;
        if (logits.Length != rows * classes) throw new ArgumentException($"Cross-entropy: logits have {logits.Length} values, expected {rows} × {classes}.", nameof(logits));
        bool wantGrad = !gradient.IsEmpty;
        if (wantGrad && gradient.Length != logits.Length) throw new ArgumentException($"Cross-entropy: gradient has {gradient.Length} values, expected {logits.Length}.", nameof(gradient));
        int counted = CountTargets(targets, classes, targetName);
        double total = 0;
        float scale = counted == 0 ? 0f : 1f / counted;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> z = logits.Slice(r * classes, classes);
            int t = targets[r];
            if (t < 0)
            {
                if (wantGrad) gradient.Slice(r * classes, classes).Clear();
                continue;
            }
            float max = TensorPrimitives.Max(z);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(z[c] - max);
            double logSum = max + Math.Log(sum);
            total += logSum - z[t];
            if (wantGrad)
            {
                Span<float> g = gradient.Slice(r * classes, classes);
                for (int c = 0; c < classes; c++) g[c] = (float)Math.Exp(z[c] - logSum) * scale;
                g[t] -= scale;
            }
        }
        return counted == 0 ? float.NaN : (float)(total / counted);
    }

    /// <summary>
    /// The targets <see cref="SoftmaxCrossEntropy"/> counts (those not negative), after checking that each is a class id below
    /// <paramref name="classes"/>: the error names the id, its position and the range. The device's loss checks its targets here too.
    /// </summary>
    public static int CountTargets(ReadOnlySpan<int> targets, int classes, string targetName = "targets")
    {
        int counted = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            int t = targets[r];
            if (t >= classes) throw new ArgumentException($"{targetName}: class id {t} at position {r} is outside [0, {classes}) (negative ids are ignored as padding).", targetName);
            if (t >= 0) counted++;
        }
        return counted;
    }

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
        double total = 0;
        float scale = 2f / n;
        for (int i = 0; i < n; i++)
        {
            float d = prediction[i] - target[i];
            total += (double)d * d;
            if (!gradient.IsEmpty) gradient[i] = scale * d;
        }
        return (float)(total / n);
    }

    /// <summary>
    /// Mean squared error over the valid steps (t &lt; lengths[b]) of time-major [T, B, W] predictions, every feature
    /// counted; the gradient is zero on padded steps.
    /// </summary>
    public static float MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> gradient, ReadOnlySpan<int> lengths, int batch, int steps, int width)
    {
        if (prediction.Length != batch * steps * width || target.Length != prediction.Length)
            throw new ArgumentException($"MSE: expected {batch} × {steps} × {width} predictions and targets, got {prediction.Length} and {target.Length}.", nameof(target));
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
                bool valid = t < lengths[b];
                for (int j = 0; j < width; j++)
                {
                    float d = valid ? prediction[row + j] - target[row + j] : 0f;
                    total += (double)d * d;
                    if (!gradient.IsEmpty) gradient[row + j] = scale * d;
                }
            }
        }
        return (float)(total / count);
    }
}
