using System;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu.Kernels;

/// <summary>
/// Attention with the classic scores on the device, as <c>Dsl.Kernels.CrossAttentionKernel</c> (the same signatures over
/// <see cref="DeviceSpan"/>). A stepping decoder's causal self-attention keeps the inputs and keys of the steps taken in
/// its host <c>State</c>: those overloads take the cache as host memory and run the step on the host (a few rows), the
/// context and weights going back to the device.
/// </summary>
public static class CrossAttentionKernel
{
    /// <summary>Dot-product scores (keys [S, B, Q]: the memory itself, or Luong's general keys); weights [B, T, S], context [T, B, M].</summary>
    public static void DotForward(int steps, int sourceSteps, int batch, int queryWidth, int memoryWidth, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan x, DeviceSpan keys, DeviceSpan memory, DeviceSpan weights, DeviceSpan context, bool causal = false, DeviceSpan mask = default)
    {
        Dsl.Kernels.AttentionKernel.RequireLengths(lengths, batch, sourceSteps); // as the host: a length outside 1 … S is refused
        if (steps == 0 || batch == 0 || NoSourceSteps(sourceSteps, context, steps * batch * memoryWidth)) return;
        Device device = x.Device;
        var views = new ClassicViews { X = x.View, K = keys.View, Memory = memory.View, Weights = weights.View, Context = context.View };
        device.Kernels.ClassicForward(Fill(views, device, lengths, mask), Args(steps, sourceSteps, batch, queryWidth, memoryWidth, scale, lengths, causal, mask, additive: false));
    }

    /// <summary>Causal self-attention stepping over the inputs and keys of the steps taken, kept in host memory.</summary>
    public static void DotForward(int steps, int sourceSteps, int batch, int queryWidth, int memoryWidth, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan x, ReadOnlySpan<float> keys, ReadOnlySpan<float> memory, DeviceSpan weights, DeviceSpan context, bool causal, int position)
    {
        float[] hostWeights = Kept(weights, batch * steps * sourceSteps), hostContext = new float[steps * batch * memoryWidth];
        Dsl.Kernels.CrossAttentionKernel.DotForward(steps, sourceSteps, batch, queryWidth, memoryWidth, scale, lengths, x.Slice(0, steps * batch * queryWidth).ToArray(),
            keys, memory, hostWeights, hostContext, causal, default, position);
        context.CopyFrom(hostContext);
        weights.CopyFrom(hostWeights);
    }

    /// <summary>The adjoint of the dot scores: adds to dx [T, B, Q], d(keys) [S, B, Q] and d(memory) [S, B, M] (the same buffer twice for the dot scores).</summary>
    public static void DotBackward(int steps, int sourceSteps, int batch, int queryWidth, int memoryWidth, float scale, ReadOnlySpan<int> lengths,
        DeviceSpan x, DeviceSpan keys, DeviceSpan memory, DeviceSpan weights, DeviceSpan dContext, DeviceSpan dx, DeviceSpan dKeys, DeviceSpan dMemory,
        DeviceSpan scratch, bool causal = false, DeviceSpan mask = default)
    {
        Dsl.Kernels.AttentionKernel.RequireLengths(lengths, batch, sourceSteps);
        if (steps == 0 || batch == 0 || sourceSteps == 0) return; // no source step: the context was zeros, nothing to add
        Device device = x.Device;
        var views = new ClassicViews
        {
            X = x.View, K = keys.View, Memory = memory.View, Weights = weights.View, DContext = dContext.View, DX = dx.View, DK = dKeys.View, DMemory = dMemory.View,
        };
        Backward(device, views, Args(steps, sourceSteps, batch, queryWidth, memoryWidth, scale, lengths, causal, mask, additive: false), lengths, mask);
    }

    /// <summary>Additive scores vᵀ tanh(q[t] + k[s]) (projections q [T, B, A] and k [S, B, A] the caller's); keeps the tanh values [B, T, S, A].</summary>
    public static void AdditiveForward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        DeviceSpan q, DeviceSpan k, DeviceSpan v, DeviceSpan memory, DeviceSpan hidden, DeviceSpan weights, DeviceSpan context, bool causal = false,
        DeviceSpan mask = default)
    {
        Dsl.Kernels.AttentionKernel.RequireLengths(lengths, batch, sourceSteps); // as the host: a length outside 1 … S is refused
        if (steps == 0 || batch == 0 || NoSourceSteps(sourceSteps, context, steps * batch * memoryWidth)) return;
        Device device = q.Device;
        var views = new ClassicViews { X = q.View, K = k.View, V = v.View, Memory = memory.View, Hidden = hidden.View, Weights = weights.View, Context = context.View };
        device.Kernels.ClassicForward(Fill(views, device, lengths, mask), Args(steps, sourceSteps, batch, units, memoryWidth, 1f, lengths, causal, mask, additive: true));
    }

    /// <summary>Causal additive self-attention stepping over the inputs and keys of the steps taken, kept in host memory.</summary>
    public static void AdditiveForward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        DeviceSpan q, ReadOnlySpan<float> k, DeviceSpan v, ReadOnlySpan<float> memory, DeviceSpan hidden, DeviceSpan weights, DeviceSpan context,
        bool causal, int position)
    {
        int scores = batch * steps * sourceSteps;
        float[] hostWeights = Kept(weights, scores), hostHidden = hostWeights.Length > 0 ? new float[scores * units] : [];
        float[] hostContext = new float[steps * batch * memoryWidth];
        Dsl.Kernels.CrossAttentionKernel.AdditiveForward(steps, sourceSteps, batch, units, memoryWidth, lengths, q.Slice(0, steps * batch * units).ToArray(), k,
            v.ToArray(), memory, hostHidden, hostWeights, hostContext, causal, default, position);
        context.CopyFrom(hostContext);
        weights.CopyFrom(hostWeights);
        hidden.CopyFrom(hostHidden);
    }

    /// <summary>The adjoint of the additive scores: adds to dq [T, B, A], dk [S, B, A], dv [A] and d(memory) [S, B, M].</summary>
    public static void AdditiveBackward(int steps, int sourceSteps, int batch, int units, int memoryWidth, ReadOnlySpan<int> lengths,
        DeviceSpan v, DeviceSpan memory, DeviceSpan hidden, DeviceSpan weights, DeviceSpan dContext, DeviceSpan dq, DeviceSpan dk, DeviceSpan dv,
        DeviceSpan dMemory, DeviceSpan scratch, bool causal = false, DeviceSpan mask = default)
    {
        Dsl.Kernels.AttentionKernel.RequireLengths(lengths, batch, sourceSteps);
        if (steps == 0 || batch == 0 || sourceSteps == 0) return; // no source step: the context was zeros, nothing to add
        Device device = v.Device;
        var views = new ClassicViews
        {
            V = v.View, Memory = memory.View, Hidden = hidden.View, Weights = weights.View, DContext = dContext.View, DX = dq.View, DK = dk.View, DV = dv.View,
            DMemory = dMemory.View,
        };
        Backward(device, views, Args(steps, sourceSteps, batch, units, memoryWidth, 1f, lengths, causal, mask, additive: true), lengths, mask);
    }

    /// <summary>
    /// No source step to attend to: each query's weighted sum is empty, so the context is zeros, as on the host (the kernels
    /// read at least one step, which an empty memory does not have).
    /// </summary>
    internal static bool NoSourceSteps(int sourceSteps, DeviceSpan context, int length)
    {
        if (sourceSteps != 0) return false;
        context.Slice(0, length).Clear();
        return true;
    }

    /// <summary>out[r] = [x[r]; context[r]] over rows of Q + M.</summary>
    public static void Concat(int rows, int queryWidth, int memoryWidth, DeviceSpan x, DeviceSpan context, DeviceSpan output)
    {
        if (rows == 0) return;
        int W = queryWidth + memoryWidth;
        Kernels(output).CopyColumns(rows, x.View, output.View, new ColumnCopy { Width = queryWidth, FromRow = queryWidth, IntoRow = W });
        Kernels(output).CopyColumns(rows, context.View, output.View, new ColumnCopy { Width = memoryWidth, FromRow = memoryWidth, IntoRow = W, IntoOffset = queryWidth });
    }

    /// <summary>The adjoint of <see cref="Concat"/>: dx = dOut[:, :Q] (overwritten), d(context) = dOut[:, Q:].</summary>
    public static void Split(int rows, int queryWidth, int memoryWidth, DeviceSpan dOutput, DeviceSpan dx, DeviceSpan dContext)
    {
        if (rows == 0) return;
        int W = queryWidth + memoryWidth;
        Kernels(dOutput).CopyColumns(rows, dOutput.View, dx.View, new ColumnCopy { Width = queryWidth, FromRow = W, IntoRow = queryWidth });
        Kernels(dOutput).CopyColumns(rows, dOutput.View, dContext.View, new ColumnCopy { Width = memoryWidth, FromRow = W, FromOffset = queryWidth, IntoRow = memoryWidth });
    }

    private static DeviceKernels Kernels(DeviceSpan span) => span.Device.Kernels;

    private static void Backward(Device device, ClassicViews views, ClassicArgs args, ReadOnlySpan<int> lengths, DeviceSpan mask)
    {
        views.Scratch = device.Scratch((long)args.Batch * args.Steps * args.Keys);
        device.Kernels.ClassicBackward(Fill(views, device, lengths, mask), args);
    }

    /// <summary>A host array for the weights the step keeps (the weights buffer holds them all), else none (stepping past the first steps).</summary>
    private static float[] Kept(DeviceSpan weights, int length) => weights.Length >= length ? new float[length] : [];

    private static ClassicArgs Args(int steps, int sourceSteps, int batch, int width, int memoryWidth, float scale, ReadOnlySpan<int> lengths, bool causal,
        DeviceSpan mask, bool additive) => new()
    {
        Steps = steps, Keys = sourceSteps, Batch = batch, Width = width, MemoryWidth = memoryWidth, Scale = scale, Causal = causal ? 1 : 0,
        HasLengths = lengths.IsEmpty ? 0 : 1, HasMask = mask.IsEmpty ? 0 : 1, Additive = additive ? 1 : 0,
    };

    /// <summary>The lengths and mask, and placeholders for the views a launch does not read.</summary>
    private static ClassicViews Fill(ClassicViews v, Device device, ReadOnlySpan<int> lengths, DeviceSpan mask)
    {
        ArrayView<float> p = device.Placeholder;
        v.Lengths = device.Upload(lengths.IsEmpty ? [0] : lengths);
        v.Mask = mask.ViewOrPlaceholder(device);
        if (!v.X.IsValid) v.X = p;
        if (!v.K.IsValid) v.K = p;
        if (!v.Memory.IsValid) v.Memory = p;
        if (!v.V.IsValid) v.V = p;
        if (!v.Hidden.IsValid) v.Hidden = p;
        if (!v.Weights.IsValid) v.Weights = p;
        if (!v.Context.IsValid) v.Context = p;
        if (!v.DContext.IsValid) v.DContext = p;
        if (!v.DX.IsValid) v.DX = p;
        if (!v.DK.IsValid) v.DK = p;
        if (!v.DMemory.IsValid) v.DMemory = p;
        if (!v.DV.IsValid) v.DV = p;
        if (!v.Scratch.IsValid) v.Scratch = p;
        return v;
    }
}
