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
    /// the mean over the rows counted; d(mean loss)/d(logits) into <paramref name="gradient"/> when it is not empty.
    /// </summary>
    /// <returns>The mean loss, or NaN when every target is ignored (as PyTorch).</returns>
    public static float SoftmaxCrossEntropy(DeviceSpan logits, ReadOnlySpan<int> targets, int classes, DeviceSpan gradient, string targetName = "targets")
    {
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
            counted == 0 ? 0f : 1f / counted, wantGradient);
        Span<float> losses = device.HostScratch(rows);
        device.Accelerator.Synchronize();
        rowLoss.SubView(0, rows).CopyToCPU(losses);
        double total = 0;
        for (int r = 0; r < rows; r++) total += losses[r];
        return counted == 0 ? float.NaN : (float)(total / counted);
    }
}
