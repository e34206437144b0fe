using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// A parameter's copy in a device's memory (Dsl.Gpu), which the model computes with once moved there. The host copy is
/// brought up to date before the host reads it (<see cref="HostAccess"/>), and since the host may then write it, the device
/// takes the host's copy again before it next computes. The core runtime knows only this contract; Dsl.Gpu implements it.
/// </summary>
internal abstract class ParameterMirror
{
    /// <summary>The device whose memory holds the copy (what optimisers and clipping run on).</summary>
    public abstract ParameterDevice Device { get; }

    /// <summary>The host is about to read (and may write) the values or the gradient: copy the device's newer ones back first.</summary>
    public abstract void HostAccess(bool grad);

    /// <summary>The host zeroed the gradient: zero the device's copy too.</summary>
    public abstract void ZeroGrad();
}

/// <summary>What runs on a device for a set of parameters that all live there: clipping and the optimisers' updates.</summary>
internal abstract class ParameterDevice
{
    /// <summary>PyTorch's clip_grad_norm_ over <paramref name="parameters"/> on the device; returns the norm before clipping.</summary>
    public abstract float ClipGradNorm(IReadOnlyList<Parameter> parameters, float maxNorm, float normType);

    /// <summary>
    /// The factor clip_grad_norm_ scales every gradient by, maxNorm / (norm + 1e-6) clamped to at most 1, and whether it
    /// changes them: not when it is 1, and never for an infinite <paramref name="maxNorm"/> (a measurement: see
    /// <see cref="ParameterSet.GradNorm"/>). A NaN norm gives NaN, which makes every gradient NaN, as PyTorch's does.
    /// The host and every device decide alike.
    /// </summary>
    public static bool ClipScale(float maxNorm, float norm, out float coefficient)
    {
        coefficient = maxNorm / (norm + 1e-6f);
        return !float.IsPositiveInfinity(maxNorm) && !(coefficient >= 1f);
    }

    /// <summary>PyTorch's clip_grad_value_ on the device.</summary>
    public abstract void ClipGradValue(IReadOnlyList<Parameter> parameters, float clip);

    /// <summary>Every gradient times <paramref name="factor"/>, on the device.</summary>
    public abstract void ScaleGrad(IReadOnlyList<Parameter> parameters, float factor);

    /// <summary>One update of <paramref name="optimizer"/> (its step count already advanced) on the device; false for an optimiser the device has no kernel for (the host then runs it).</summary>
    public abstract bool TryStep(Optimizer optimizer);

    /// <summary>Copies the optimiser's state (Adam's moments…) from the device into its host buffers (before a checkpoint reads them).</summary>
    public abstract void StateToHost(Optimizer optimizer);

    /// <summary>The optimiser's host buffers were written (a checkpoint was loaded): the device takes them before its next step.</summary>
    public abstract void StateFromHost(Optimizer optimizer);

    /// <summary>The device every parameter lives on, or null when any lives on the host only (the host path then runs).</summary>
    public static ParameterDevice? Of(IReadOnlyList<Parameter> parameters)
    {
        // An index loop: a foreach over the interface would allocate an enumerator on every optimiser step.
        ParameterDevice? device = null;
        for (int i = 0; i < parameters.Count; i++)
        {
            Parameter p = parameters[i];
            if (p.Mirror?.Device is not { } d || (device is not null && !ReferenceEquals(d, device))) return null;
            device = d;
        }
        return device;
    }
}
