using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace Dsl.Gpu;

/// <summary>
/// A model parameter's values and gradient in a device's memory, kept consistent with the host's copy: the device code
/// reads <see cref="AsSpan"/> and accumulates into <see cref="GradAsSpan"/>; the host's <see cref="Parameter.Value"/>,
/// <see cref="Parameter.Grad"/>, <c>AsSpan</c> and <c>GradAsSpan</c> copy the device's newer values back first, and what
/// the host may have written is copied over before the device next computes.
/// </summary>
public sealed class DeviceParameter
{
    private DeviceMemory _value; // (new memory when the parameter comes back: Attached)
    private DeviceMemory _grad;
    private readonly Mirror _mirror;

    // Which side holds the newer copy: the host's is stale after the device wrote; the device's after the host may have written.
    private bool _hostValueStale, _deviceValueStale, _hostGradStale, _deviceGradStale;

    private DeviceParameter(Parameter parameter, Device device)
    {
        Parameter = parameter;
        Device = device;
        (_value, _grad) = Allocate(parameter, device);
        _mirror = new Mirror(this);
        device.Parameters.Arrived(this);
    }

    /// <summary>The device's copy of the parameter's values and gradient, taken from the host's.</summary>
    private static (DeviceMemory Value, DeviceMemory Grad) Allocate(Parameter parameter, Device device)
    {
        DeviceMemory? grad = null;
        var value = new DeviceMemory(device, parameter.Length);
        try
        {
            grad = new DeviceMemory(device, parameter.Length);
            value.Span.CopyFrom(parameter.HostValues);
            // (a gradient the host has not made yet is zero, as the device's memory starts)
            if (parameter.HasGradient) grad.Span.CopyFrom(parameter.HostGradient);
            return (value, grad);
        }
        catch
        {
            // the device's memory spent part-way: what was allocated is released, the parameter stays on the host
            grad?.Dispose();
            value.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes sure the parameter is on the device for this run: one tensor used by two models (an encoder–decoder's shared
    /// embedding) is brought home when one of them moves to the host, and comes back, from the host's current copy, the
    /// next time the other runs here. A parameter now on another device is not taken from it.
    /// </summary>
    private void Attached()
    {
        if (ReferenceEquals(Parameter.Mirror, _mirror)) return;
        if (Parameter.Mirror is not null)
            throw new InvalidOperationException($"Parameter '{Parameter.Name}' moved to another device, which a model sharing it took it to; move every model that uses it to one device.");
        (_value, _grad) = Allocate(Parameter, Device);
        _hostValueStale = _deviceValueStale = _hostGradStale = _deviceGradStale = false;
        Parameter.Mirror = _mirror;
        Device.Parameters.Arrived(this);
    }

    /// <summary>The host parameter this mirrors.</summary>
    public Parameter Parameter { get; }

    /// <summary>The device it lives on.</summary>
    public Device Device { get; }

    /// <summary>
    /// The device copy of <paramref name="parameter"/> on <paramref name="device"/>: the one it already has, or a new one (a
    /// copy on another device is brought back to the host first and then left).
    /// </summary>
    public static DeviceParameter On(Parameter parameter, Device device)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(device);
        if (parameter.Mirror is Mirror existing)
        {
            if (ReferenceEquals(existing.Owner.Device, device)) return existing.Owner;
            existing.Owner.Detach();
        }
        var created = new DeviceParameter(parameter, device);
        parameter.Mirror = created._mirror;
        return created;
    }

    /// <summary>Brings <paramref name="parameter"/> back to the host if a device holds it.</summary>
    internal static void Release(Parameter parameter)
    {
        if (parameter.Mirror is Mirror existing) existing.Owner.Detach();
    }

    /// <summary>
    /// Brings the host copy up to date and leaves the device: the parameter lives on the host only from now on. The state of
    /// an optimiser that stepped it on the device (Adam's moments, momentum) comes back to the host too, and the device
    /// memory of both is released.
    /// </summary>
    public void Detach()
    {
        if (!ReferenceEquals(Parameter.Mirror, _mirror)) return;
        _mirror.HostAccess(grad: false);
        _mirror.HostAccess(grad: true);
        Parameter.Mirror = null;
        Device.Parameters.Left(this);
        _value.Dispose();
        _grad.Dispose();
    }

    /// <summary>The values, for the device to read (the host's newer values are copied over first).</summary>
    public DeviceSpan AsSpan()
    {
        Attached();
        if (_deviceValueStale)
        {
            _value.Span.CopyFrom(Parameter.HostValues);
            _deviceValueStale = false;
        }
        return _value.Span;
    }

    /// <summary>The values, for the device to write (an optimiser's update): the host's copy is stale afterwards.</summary>
    internal DeviceSpan ValueForWrite()
    {
        DeviceSpan span = AsSpan();
        _hostValueStale = true;
        return span;
    }

    /// <summary>The gradient, for the device to accumulate into: the host's copy is stale afterwards.</summary>
    public DeviceSpan GradAsSpan()
    {
        Attached();
        if (_deviceGradStale)
        {
            _grad.Span.CopyFrom(Parameter.HostGradient);
            _deviceGradStale = false;
        }
        _hostGradStale = true;
        return _grad.Span;
    }

    /// <summary>What the host runtime sees: its parameter's mirror on this device.</summary>
    private sealed class Mirror(DeviceParameter owner) : ParameterMirror
    {
        public DeviceParameter Owner { get; } = owner;

        public override ParameterDevice Device => Owner.Device.Parameters;

        public override void HostAccess(bool grad)
        {
            DeviceParameter o = Owner;
            using Device.PassScope pass = o.Device.Pass();
            if (grad)
            {
                if (o._hostGradStale) o._grad.Span.CopyTo(o.Parameter.HostGradient);
                o._hostGradStale = false;
                o._deviceGradStale = true;
            }
            else
            {
                if (o._hostValueStale) o._value.Span.CopyTo(o.Parameter.HostValues);
                o._hostValueStale = false;
                o._deviceValueStale = true;
            }
        }

        public override void ZeroGrad()
        {
            // the host has just zeroed its copy: zero the device's, and both agree
            using Device.PassScope pass = Owner.Device.Pass();
            Owner._grad.Span.Clear();
            Owner._hostGradStale = false;
            Owner._deviceGradStale = false;
        }
    }
}

/// <summary>Clipping and the optimisers' updates for parameters that live on one device: one kernel launch per parameter.</summary>
internal sealed class DeviceParameters(Device device) : ParameterDevice
{
    private const int Parts = 256;
    private readonly ConditionalWeakTable<Optimizer, DeviceMemory[][]> _states = new();
    private readonly HashSet<DeviceParameter> _attached = new(ReferenceEqualityComparer.Instance);

    /// <summary>A parameter came to this device.</summary>
    internal void Arrived(DeviceParameter parameter)
    {
        lock (_attached) _attached.Add(parameter);
    }

    /// <summary>
    /// A parameter left this device: every optimiser that steps it here brings its state (for all its parameters) to the
    /// host and drops the device copy, so that its next step — on the host, or here again — starts from the current state.
    /// </summary>
    internal void Left(DeviceParameter parameter)
    {
        lock (_attached) _attached.Remove(parameter);
        var leaving = new List<Optimizer>();
        foreach (var (optimizer, _) in _states)
            // (by tensor, not by object: an encoder–decoder's optimiser holds its parts' parameters under their prefixed names)
            if (optimizer.Parameters.Any(p => ReferenceEquals(p.Storage, parameter.Parameter.Storage))) leaving.Add(optimizer);
        foreach (Optimizer optimizer in leaving)
        {
            StateToHost(optimizer);
            if (_states.TryGetValue(optimizer, out DeviceMemory[][]? state))
                foreach (DeviceMemory[] slot in state) foreach (DeviceMemory memory in slot) memory.Dispose();
            _states.Remove(optimizer);
        }
    }

    /// <summary>Every parameter still here goes back to the host (the device is being disposed).</summary>
    internal void ReleaseAll()
    {
        DeviceParameter[] attached;
        lock (_attached) attached = [.. _attached];
        foreach (DeviceParameter p in attached) p.Detach();
    }

    public override float ClipGradNorm(IReadOnlyList<Parameter> parameters, float maxNorm, float normType)
    {
        using Device.PassScope pass = device.Pass();
        // every parameter's partial norms into its own Parts floats of one scratch, then one copy back (a synchronisation
        // and a copy per parameter had cost a round trip to the host for each), combined in the parameters' order
        double total = 0;
        int count = parameters.Count;
        var partials = new float[(long)Parts * count];
        ArrayView<float> scratch = device.Scratch(partials.LongLength);
        for (int k = 0; k < count; k++)
        {
            DeviceSpan g = Mirrored(parameters[k]).GradAsSpan();
            int parts = Math.Min(Parts, g.Length);
            device.Kernels.PartialNorms(parts, g.View, scratch.SubView((long)k * Parts, parts), g.Length, normType);
        }
        device.Accelerator.Synchronize();
        if (count > 0) scratch.SubView(0, partials.LongLength).CopyToCPU(partials);
        for (int k = 0; k < count; k++)
        {
            int parts = Math.Min(Parts, parameters[k].Length); // (what the launch above wrote: a gradient has its parameter's length)
            for (int i = k * Parts; i < k * Parts + parts; i++)
                total = float.IsPositiveInfinity(normType) ? Math.Max(total, partials[i])
                    : total + (normType == 2f ? (double)partials[i] * partials[i] : Math.Pow(partials[i], normType));
        }
        float norm = float.IsPositiveInfinity(normType) ? (float)total
            : normType == 2f ? (float)Math.Sqrt(total)
            : (float)Math.Pow(total, 1.0 / normType);
        if (ClipScale(maxNorm, norm, out float coefficient)) ScaleGrad(parameters, coefficient);
        return norm;
    }

    public override void ClipGradValue(IReadOnlyList<Parameter> parameters, float clip) => ScaleClamp(parameters, 1f, -clip, clip);

    public override void ScaleGrad(IReadOnlyList<Parameter> parameters, float factor) =>
        ScaleClamp(parameters, factor, float.NegativeInfinity, float.PositiveInfinity);

    /// <summary>Every gradient g becomes clamp(g · factor, low, high).</summary>
    private void ScaleClamp(IReadOnlyList<Parameter> parameters, float factor, float low, float high)
    {
        using Device.PassScope pass = device.Pass();
        foreach (Parameter p in parameters)
        {
            DeviceSpan g = Mirrored(p).GradAsSpan();
            device.Kernels.ScaleClamp(g.Length, g.View, factor, low, high);
        }
    }

    public override bool TryStep(Optimizer optimizer)
    {
        using Device.PassScope pass = device.Pass();
        OptimizerArgs args;
        float bias1 = 1f; // Adam's first-moment correction 1 − β₁ᵗ: its step size is lr / bias1
        switch (optimizer)
        {
            case Sgd sgd:
                args = new OptimizerArgs { Kind = 0, Momentum = sgd.Momentum, Dampening = sgd.Dampening, Nesterov = sgd.Nesterov ? 1 : 0 };
                break;
            // Adam and AdamW as the library defines them: a subclass's own update (it may override Update) runs on the host
            case Adam adam when adam.GetType() == typeof(Adam) || adam is AdamW:
            {
                bias1 = 1 - MathF.Pow(adam.Beta1, optimizer.StepCount);
                float bias2Sqrt = MathF.Sqrt(1 - MathF.Pow(adam.Beta2, optimizer.StepCount));
                args = new OptimizerArgs
                {
                    Kind = 1, Beta1 = adam.Beta1, Beta2 = adam.Beta2, Epsilon = adam.Epsilon, Decoupled = adam is AdamW ? 1 : 0,
                    AmsGrad = adam.AmsGrad ? 1 : 0,
                    Bias2Sqrt = bias2Sqrt,
                };
                break;
            }
            case Adagrad adagrad:
                args = new OptimizerArgs { Kind = 3, Epsilon = adagrad.Epsilon };
                break;
            case RmsProp rms:
                args = new OptimizerArgs { Kind = 2, Beta2 = rms.Alpha, Epsilon = rms.Epsilon, Momentum = rms.Momentum, Centered = rms.Centered ? 1 : 0 };
                break;
            default:
                return false;
        }
        args.Sign = optimizer.GradientSign;
        DeviceMemory[][] state = States(optimizer);
        bool[]? started = optimizer.Flags;
        for (int i = 0; i < optimizer.Parameters.Count; i++)
        {
            DeviceParameter p = Mirrored(optimizer.Parameters[i]);
            DeviceSpan grad = p.GradAsSpan();
            DeviceSpan value = p.ValueForWrite();
            var views = new OptimizerViews
            {
                Value = value.View, Grad = grad.View,
                S1 = state.Length > 0 ? state[0][i].Span.View : device.Placeholder,
                S2 = state.Length > 1 ? state[1][i].Span.View : device.Placeholder,
                S3 = state.Length > 2 ? state[2][i].Span.View : device.Placeholder,
            };
            args.First = started is not null && !started[i] ? 1 : 0;
            // its group's rate and decay, or the optimiser's
            args.LearningRate = optimizer.LearningRateOf(i);
            args.WeightDecay = optimizer.WeightDecayOf(i);
            args.StepSize = optimizer is Adagrad adagrad ? adagrad.StepRate(i) : args.LearningRate / bias1;
            device.Kernels.Optimizer(value.Length, views, args);
            if (started is not null) started[i] = true;
        }
        return true;
    }

    public override void StateToHost(Optimizer optimizer)
    {
        using Device.PassScope pass = device.Pass();
        if (!_states.TryGetValue(optimizer, out DeviceMemory[][]? state)) return;
        var slots = optimizer.StateSlots;
        for (int s = 0; s < slots.Length; s++)
        for (int i = 0; i < slots[s].Buffers.Length; i++) state[s][i].Span.CopyTo(slots[s].Buffers[i]);
    }

    public override void StateFromHost(Optimizer optimizer)
    {
        using Device.PassScope pass = device.Pass();
        if (!_states.TryGetValue(optimizer, out DeviceMemory[][]? state)) return;
        var slots = optimizer.StateSlots;
        for (int s = 0; s < slots.Length; s++)
        for (int i = 0; i < slots[s].Buffers.Length; i++) state[s][i].Span.CopyFrom(slots[s].Buffers[i]);
    }

    /// <summary>The optimiser's state on the device, copied from its host buffers the first time.</summary>
    private DeviceMemory[][] States(Optimizer optimizer)
    {
        if (_states.TryGetValue(optimizer, out DeviceMemory[][]? state)) return state;
        var slots = optimizer.StateSlots;
        state = new DeviceMemory[slots.Length][];
        try
        {
            for (int s = 0; s < slots.Length; s++)
            {
                state[s] = new DeviceMemory[slots[s].Buffers.Length];
                for (int i = 0; i < state[s].Length; i++)
                {
                    state[s][i] = new DeviceMemory(device, slots[s].Buffers[i].Length);
                    state[s][i].Span.CopyFrom(slots[s].Buffers[i]);
                }
            }
        }
        catch
        {
            // out of device memory part-way: what was allocated goes back (each retry had kept another set)
            foreach (DeviceMemory[]? slot in state)
                foreach (DeviceMemory? buffer in slot ?? []) buffer?.Dispose();
            throw;
        }
        _states.Add(optimizer, state);
        return state;
    }

    private DeviceParameter Mirrored(Parameter p) => DeviceParameter.On(p, device);
}
