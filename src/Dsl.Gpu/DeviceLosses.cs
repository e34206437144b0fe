using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

/// <summary>
/// Losses on the device, with <see cref="Losses"/>' semantics (PyTorch's <c>reduction='mean'</c>): the logits stay in
/// device memory and the gradient is written there, for the backward pass to start from; only one loss per row comes
/// back, summed on the host in double precision. The targets are checked on the host by <see cref="Losses.CountTargets"/>,
/// with the host loss's message.
/// </summary>
public static class DeviceLosses
{
    /// <summary>
    /// Softmax cross-entropy of <paramref name="logits"/> [rows, classes] against class ids (a negative id is ignored):
    /// the mean over the rows counted; d(mean loss)/d(logits) into <paramref name="gradient"/> when it is not empty. A
    /// <paramref name="labelSmoothing"/> ε smooths each counted row's target to (1 − ε) one-hot + ε / classes, as
    /// <see cref="Losses.SoftmaxCrossEntropy"/>.
    /// </summary>
    /// <returns>The mean loss, or NaN when every target is ignored (as PyTorch).</returns>
    public static float SoftmaxCrossEntropy(DeviceSpan logits, ReadOnlySpan<int> targets, int classes, DeviceSpan gradient, string targetName = "targets", float labelSmoothing = 0f)
    {
        Losses.RequireLabelSmoothing(labelSmoothing, nameof(labelSmoothing));
        int rows = targets.Length;
        if (logits.Length < (long)rows * classes) throw new ArgumentException($"Cross-entropy: logits have {logits.Length} values, expected {rows} × {classes}.", nameof(logits));
        bool wantGradient = !gradient.IsEmpty;
        if (wantGradient && gradient.Length < (long)rows * classes)
            throw new ArgumentException($"Cross-entropy: gradient has {gradient.Length} values, expected {rows} × {classes}.", nameof(gradient));
        int counted = Losses.CountTargets(targets, classes, targetName);
        if (rows == 0) return float.NaN;
        Device device = logits.Device;
        ArrayView<float> rowLoss = device.Scratch(rows);
        device.Kernels.CrossEntropyRows(rows, logits.View, device.Upload(targets), wantGradient ? gradient.View : device.Placeholder, rowLoss, classes,
            counted == 0 ? 0f : 1f / counted, labelSmoothing, wantGradient);
        double total = SumOfRows(device, rowLoss, rows);
        return counted == 0 ? float.NaN : (float)(total / counted);
    }

    /// <summary>
    /// Mean squared error over every element (PyTorch <c>F.mse_loss</c>), as <see cref="Losses.MeanSquaredError(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>:
    /// the targets go over, d(loss)/d(prediction) = 2 (p − t) / n is written on the device when <paramref name="gradient"/> is not empty.
    /// </summary>
    public static float MeanSquaredError(DeviceSpan prediction, ReadOnlySpan<float> target, DeviceSpan gradient)
    {
        if (prediction.Length != target.Length) throw new ArgumentException($"MSE: prediction has {prediction.Length} values, target {target.Length}.", nameof(target));
        const int chunk = 64; // elements per thread (a row of the kernel), the last one shorter
        return SquaredError(prediction, target, gradient, default, 0, chunk, (target.Length + chunk - 1) / chunk, target.Length);
    }

    /// <summary>
    /// Mean squared error over the valid steps (t &lt; lengths[b]) of time-major [T, B, W] predictions, as
    /// <see cref="Losses.MeanSquaredError(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{int}, int, int, int)"/>:
    /// every feature counted, the gradient zero on padded steps.
    /// </summary>
    public static float MeanSquaredError(DeviceSpan prediction, ReadOnlySpan<float> target, DeviceSpan gradient, ReadOnlySpan<int> lengths, int batch, int steps, int width)
    {
        if (prediction.Length != (long)batch * steps * width || target.Length != prediction.Length)
            throw new ArgumentException($"MSE: expected {batch} × {steps} × {width} predictions and targets, got {prediction.Length} and {target.Length}.", nameof(target));
        if (lengths.Length != batch) throw new ArgumentException($"MSE: expected {batch} lengths, got {lengths.Length}.", nameof(lengths));
        long count = 0;
        for (int b = 0; b < batch; b++) count += (long)lengths[b] * width;
        return SquaredError(prediction, target, gradient, lengths, batch, width, batch * steps, count);
    }

    private static float SquaredError(DeviceSpan prediction, ReadOnlySpan<float> target, DeviceSpan gradient, ReadOnlySpan<int> lengths, int batch, int width, int rows, long count)
    {
        bool wantGradient = !gradient.IsEmpty;
        if (wantGradient && gradient.Length != prediction.Length)
            throw new ArgumentException($"MSE: gradient has {gradient.Length} values, expected {prediction.Length}.", nameof(gradient));
        if (count == 0) return float.NaN;
        Device device = prediction.Device;
        // the targets and the rows' losses share one scratch allocation: they go over, one loss per row comes back
        ArrayView<float> scratch = device.Scratch((long)target.Length + rows);
        ArrayView<float> targets = scratch.SubView(0, target.Length), rowLoss = scratch.SubView(target.Length, rows);
        targets.CopyFromCPU(target);
        var views = new SquaredErrorViews
        {
            Prediction = prediction.View, Target = targets, Gradient = wantGradient ? gradient.View : device.Placeholder, RowLoss = rowLoss,
            // (without lengths the kernel reads none: no upload, which would wait for the device and evict the ints it holds)
            Lengths = batch == 0 ? device.Placeholder.Cast<int>() : device.Upload(lengths),
        };
        device.Kernels.SquaredErrorRows(rows, views, new SquaredErrorArgs { Width = width, Total = target.Length, Batch = batch, Scale = 2f / count, WantGradient = wantGradient ? 1 : 0, PerElement = 1.0 / count });
        return (float)SumOfRows(device, rowLoss, rows);
    }

    /// <summary>The first <paramref name="rows"/> losses a kernel left in <paramref name="rowLoss"/>, brought back once the device is done and summed in double precision.</summary>
    private static double SumOfRows(Device device, ArrayView<float> rowLoss, int rows)
    {
        Span<float> losses = device.HostScratch(rows);
        device.Accelerator.Synchronize();
        rowLoss.SubView(0, rows).CopyToCPU(losses);
        double total = 0;
        foreach (float loss in losses) total += loss;
        return total;
    }
}
