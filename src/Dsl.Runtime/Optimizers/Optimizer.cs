using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsl.Kernels;

namespace Dsl;

/// <summary>
/// Base of the optimisers: each updates the parameters from their accumulated gradients with the
/// update rule and defaults of its <c>torch.optim</c> namesake.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates an optimiser over <paramref name="parameters"/>.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        RequireRate(learningRate, nameof(learningRate));
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0)
            throw new ArgumentException("The optimiser got an empty parameter list (as torch.optim refuses): pass a model's Parameters, or a filter of them that keeps some.", nameof(parameters));
        if (parameters is ParameterGroups groups)
        {
            Groups = groups.Groups;
            _groupDecays = groups.Groups.SelectMany(g => g.Parameters.Select(_ => g.WeightDecay)).ToArray();
            _groupOf = groups.Groups.SelectMany((g, i) => g.Parameters.Select(_ => i)).ToArray();
            _rates = groups.Groups.Select(g => g.LearningRate ?? learningRate).ToArray();
        }
        else _rates = [learningRate];
        var tensors = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (Parameter p in Parameters)
        {
            if (p is null) throw new ArgumentException("The parameter list holds a null.", nameof(parameters));
            if (!tensors.Add(p.Storage))
                throw new ArgumentException($"Parameter '{p.Name}' is given twice (itself, or another name of the same tensor): it would be updated twice per step.", nameof(parameters));
        }
    }

    /// <summary>The parameters this optimiser updates (those of every group, in order).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The parameter groups it was built over (a <see cref="ParameterGroups"/> in place of the parameters), or null.</summary>
    public IReadOnlyList<ParameterGroup>? Groups { get; }

    /// <summary>Each parameter's group's own weight decay (null: the optimiser's), when built over groups.</summary>
    private readonly float?[]? _groupDecays;

    /// <summary>Each parameter's group (index into <see cref="Groups"/>), when built over groups.</summary>
    private readonly int[]? _groupOf;

    /// <summary>Each group's learning rate now (one rate without groups).</summary>
    private readonly float[] _rates;

    /// <summary>
    /// The weight decay λ of every parameter whose group sets none (torch.optim's <c>weight_decay</c>): an L2 term λ·θ added
    /// to the gradient, or in <see cref="AdamW"/> decoupled from it (the values shrink by lr·λ before the update).
    /// </summary>
    public float WeightDecay { get; protected init; }

    /// <summary>
    /// Whether the update ascends the gradient instead (torch.optim's <c>maximize</c>): each update starts from −∇, as if the
    /// objective had been negated.
    /// </summary>
    public bool Maximize { get; protected init; }

    /// <summary>The weight decay parameter <paramref name="index"/> (of <see cref="Parameters"/>) is updated with: its group's, or <see cref="WeightDecay"/>.</summary>
    public float WeightDecayOf(int index) => _groupDecays?[index] ?? WeightDecay;

    /// <summary>
    /// <see cref="Settings"/>, whether it maximises, and over groups the number of groups (<c>param_groups</c>, 1 without),
    /// each parameter's group (<c>group[name]</c>) and weight decay (<c>weight_decay[name]</c>): what a checkpoint records and
    /// compares on resuming (another split would resume a parameter at another group's rate).
    /// </summary>
    internal (string Name, float Value)[] AllSettings => Groups is null
        ? [.. Settings, ("maximize", Maximize ? 1f : 0f), ("param_groups", 1f)]
        : [.. Settings, ("maximize", Maximize ? 1f : 0f), ("param_groups", Groups.Count),
            .. Parameters.Select((p, i) => ($"group[{p.Name}]", (float)_groupOf![i])), .. Parameters.Select((p, i) => ($"weight_decay[{p.Name}]", WeightDecayOf(i)))];

    /// <summary>What each update multiplies the gradient by: −1 when maximising, else 1 (the same bits as the gradient).</summary>
    internal float GradientSign => Maximize ? -1f : 1f;

    /// <summary>
    /// The learning rate, finite and non-negative; a schedule may change it between steps. Over groups, the first group's
    /// (torch's <c>param_groups[0]['lr']</c>), and setting it sets every group's (<c>for g in param_groups: g['lr'] = …</c>;
    /// <see cref="SetGroupLearningRate"/> sets one).
    /// </summary>
    public float LearningRate
    {
        get => _rates[0];
        set => Array.Fill(_rates, RequireRate(value, nameof(LearningRate)));
    }

    /// <summary>The number of parameter groups: <see cref="Groups"/>' count, or 1.</summary>
    public int GroupCount => _rates.Length;

    /// <summary>Group <paramref name="group"/>'s learning rate now (its own, or the optimiser's, as a schedule has moved it).</summary>
    public float GroupLearningRate(int group) => _rates[group];

    /// <summary>Sets group <paramref name="group"/>'s learning rate (finite and non-negative).</summary>
    public void SetGroupLearningRate(int group, float rate)
    {
        if ((uint)group >= (uint)_rates.Length) throw new ArgumentOutOfRangeException(nameof(group), group, $"the optimiser has {_rates.Length} group(s)");
        _rates[group] = RequireRate(rate, nameof(rate));
    }

    /// <summary>The learning rate parameter <paramref name="index"/> (of <see cref="Parameters"/>) is updated with: its group's.</summary>
    public float LearningRateOf(int index) => _rates[_groupOf?[index] ?? 0];

    /// <summary>Checks a learning rate: finite and ≥ 0 (the optimisers', the groups', a plateau's lowest).</summary>
    internal static float RequireRate(float value, string name) => value >= 0 && float.IsFinite(value) ? value
        : throw new ArgumentOutOfRangeException(name, value, "the learning rate must be finite and non-negative");

    /// <summary>
    /// The rates every schedule over this optimiser starts from, one per group: the rates when the first schedule was
    /// attached (PyTorch's <c>initial_lr</c>), so that a second schedule built beside a warm-up that has already lowered the
    /// rates does not start from the lowered ones.
    /// </summary>
    internal float[]? ScheduleBases { get; set; }

    /// <summary>Number of <see cref="Step"/> calls so far.</summary>
    public long StepCount { get; internal set; }

    /// <summary>The per-parameter state buffers by slot name (Adam's "m", "v"…), for checkpoints.</summary>
    internal abstract (string Slot, float[][] Buffers)[] StateSlots { get; }

    /// <summary>Flags a checkpoint must carry besides the buffers (SGD: whether each momentum buffer has started).</summary>
    internal virtual bool[]? Flags => null;

    /// <summary>
    /// The hyperparameters fixed at construction, by their torch.optim names (a flag as 0 or 1): a checkpoint records them,
    /// and resuming with others is refused, since the run would not continue as it was.
    /// </summary>
    internal abstract (string Name, float Value)[] Settings { get; }

    /// <summary>Applies one update from the current gradients (on the device, when every parameter lives on one).</summary>
    public void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
            if (Parameters[i].Precision != Precision.Float32)
                throw new InvalidOperationException($"An optimiser steps parameters in float32, but '{Parameters[i].Name}' is held in {Kernels.Weights.Describe(Parameters[i].Precision)} (for inference): "
                    + "call Parameters.HoldWeightsIn(Precision.Float32) first. Nothing was changed.");
        StepCount++;
        try
        {
            if (ParameterDevice.Of(Parameters) is { } device && device.TryStep(this)) return;
            for (int i = 0; i < Parameters.Count; i++) Update(i, Parameters[i].AsSpan(), Parameters[i].GradAsSpan());
        }
        catch
        {
            // a step that fails (a subclass's update refused, the device out of memory) is not counted: a retry takes this
            // step's bias correction, not the next one's
            StepCount--;
            throw;
        }
    }

    /// <summary>Brings the state buffers up to date on the host (a device may hold newer ones), before a checkpoint reads them.</summary>
    internal void StateToHost() => ParameterDevice.Of(Parameters)?.StateToHost(this);

    /// <summary>The host's state buffers were written (a checkpoint was loaded): a device takes them before its next step.</summary>
    internal void StateFromHost() => ParameterDevice.Of(Parameters)?.StateFromHost(this);

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        for (int i = 0; i < Parameters.Count; i++) Parameters[i].ZeroGrad();
    }

    /// <summary>
    /// Updates parameter <paramref name="index"/> in place; <see cref="StepCount"/> is already the new step. An update reads
    /// the parameter's own rate and decay, <see cref="LearningRateOf"/> and <see cref="WeightDecayOf"/> (its group's), and
    /// <see cref="Maximize"/>.
    /// </summary>
    protected abstract void Update(int index, Span<float> value, ReadOnlySpan<float> grad);

    /// <summary>
    /// Refuses a gradient or a state buffer shorter than the values an update runs over (the updates read and write them
    /// through references, unchecked): what a subclass passing its own spans to <see cref="Update"/> would otherwise overrun.
    /// </summary>
    private protected static void RequireLengths(int index, ReadOnlySpan<float> value, ReadOnlySpan<float> grad, float[] state)
    {
        if (grad.Length < value.Length || state.Length < value.Length)
            throw new ArgumentException($"Optimizer: parameter {index} has {value.Length} values, its gradient {grad.Length} and its state {state.Length}; each needs at least as many.", nameof(grad));
    }

    /// <summary>Per-parameter state buffers of the same length as each parameter, created lazily.</summary>
    protected float[][] CreateState() => Parameters.Select(p => new float[p.Length]).ToArray();

    /// <summary>Throws unless <paramref name="value"/> lies in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    protected static void RequireRange(float value, float min, float max, string name)
    {
        if (!(value >= min && value < max)) throw new ArgumentOutOfRangeException(name, value, $"must be in [{min}, {max})");
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and ≥ 0 (a rate's, a decay's, an ε's range): <see cref="RequireRange"/> over [0, float.MaxValue).</summary>
    private protected static void RequireNonNegative(float value, string name) => RequireRange(value, 0f, float.MaxValue, name);

    /// <summary>Throws unless <paramref name="value"/> lies in [<paramref name="min"/>, <paramref name="max"/>] (NaN never does).</summary>
    private protected static void RequireClosedRange(float value, float min, float max, string name)
    {
        if (!(value >= min && value <= max)) throw new ArgumentOutOfRangeException(name, value, $"must be in [{min}, {max}]");
    }
}

/// <summary>Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (<c>torch.optim.SGD</c>).</summary>
public sealed class Sgd : Optimizer
{
    private readonly float[][] _momentum;
    private readonly bool[] _started;

    /// <summary>Creates SGD.</summary>
    public Sgd(IEnumerable<Parameter> parameters, float learningRate, float momentum = 0f, float dampening = 0f, bool nesterov = false, float weightDecay = 0f,
        bool maximize = false)
        : base(parameters, learningRate)
    {
        RequireNonNegative(momentum, nameof(momentum));
        RequireNonNegative(weightDecay, nameof(weightDecay));
        // (torch checks no dampening; a NaN or ∞ one had turned every parameter NaN from the second step, without a word)
        RequireClosedRange(dampening, 0f, 1f, nameof(dampening));
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum requires momentum > 0 and zero dampening.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        Maximize = maximize;
        _momentum = CreateState();
        _started = new bool[Parameters.Count];
    }

    internal override (string Slot, float[][] Buffers)[] StateSlots => [("momentum", _momentum)];

    internal override bool[]? Flags => _started;

    internal override (string Name, float Value)[] Settings =>
        [("momentum", Momentum), ("dampening", Dampening), ("nesterov", Nesterov ? 1 : 0), ("weight_decay", WeightDecay)];

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>Dampening of the momentum.</summary>
    public float Dampening { get; }
    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad)
    {
        RequireLengths(index, value, grad, _momentum[index]);
        bool first = !_started[index];
        _started[index] = true;
        var kernel = new SgdKernel
        {
            Value = ref MemoryMarshal.GetReference(value), Grad = ref MemoryMarshal.GetReference(grad), Buf = ref MemoryMarshal.GetArrayDataReference(_momentum[index]),
            Length = value.Length, LearningRate = LearningRateOf(index), WeightDecay = WeightDecayOf(index), Momentum = Momentum, Damped = 1 - Dampening, First = first, Nesterov = Nesterov,
            Sign = GradientSign,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// g = ∇ (−∇ when maximising) + λ·θ; with momentum b = μ·b + (1 − τ)·g (b = g on the first step) and g = g + μ·b (Nesterov) or b; θ −= lr·g.
    /// On the widest vectors, the scalar lanes on the tail: the same float operations in the same order on every lane.
    /// </summary>
    private ref struct SgdKernel : ILaneKernel
    {
        public ref float Value, Grad, Buf;
        public int Length;
        public float LearningRate, WeightDecay, Momentum, Damped, Sign;
        public bool First, Nesterov;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float value = ref Value, grad = ref Grad, buf = ref Buf;
            T lr = T.Create(LearningRate), wd = T.Create(WeightDecay), mu = T.Create(Momentum), damped = T.Create(Damped), sign = T.Create(Sign);
            bool momentum = Momentum != 0, first = First, nesterov = Nesterov;
            for (; j <= Length - T.Count; j += T.Count)
            {
                T theta = T.Load(ref value, j);
                T g = T.Load(ref grad, j) * sign + wd * theta;
                if (momentum)
                {
                    T b = first ? g : mu * T.Load(ref buf, j) + damped * g;
                    T.Store(b, ref buf, j);
                    g = nesterov ? g + mu * b : b;
                }
                T.Store(theta - lr * g, ref value, j);
            }
            return j;
        }
    }
}

/// <summary>Adam (Kingma and Ba, 2015) with optional L2 weight decay (<c>torch.optim.Adam</c>).</summary>
public class Adam : Optimizer
{
    private readonly float[][] _m;
    private readonly float[][] _v;
    private readonly float[][]? _vMax;

    /// <summary>
    /// Creates Adam. <paramref name="amsgrad"/>: AMSGrad (Reddi et al., 2018; <c>torch.optim.Adam(amsgrad=True)</c>), which
    /// divides by the square root of the largest second moment so far instead of the current one.
    /// </summary>
    public Adam(IEnumerable<Parameter> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f,
        bool amsgrad = false, bool maximize = false)
        : base(parameters, learningRate)
    {
        RequireRange(beta1, 0f, 1f, nameof(beta1));
        RequireRange(beta2, 0f, 1f, nameof(beta2));
        RequireNonNegative(epsilon, nameof(epsilon));
        RequireNonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
        Maximize = maximize;
        _m = CreateState();
        _v = CreateState();
        if (amsgrad) _vMax = CreateState();
    }

    internal override (string Slot, float[][] Buffers)[] StateSlots => _vMax is null ? [("m", _m), ("v", _v)] : [("m", _m), ("v", _v), ("v_max", _vMax)];

    internal override (string Name, float Value)[] Settings =>
        [("beta1", Beta1), ("beta2", Beta2), ("eps", Epsilon), ("weight_decay", WeightDecay), ("amsgrad", AmsGrad ? 1f : 0f)];

    /// <summary>Decay of the first moment.</summary>
    public float Beta1 { get; }
    /// <summary>Decay of the second moment.</summary>
    public float Beta2 { get; }
    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; }
    /// <summary>Whether the update divides by the largest second moment so far (AMSGrad) rather than the current one.</summary>
    public bool AmsGrad { get; }

    /// <summary>True for AdamW's decoupled decay.</summary>
    private protected virtual bool Decoupled => false;

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad)
    {
        RequireLengths(index, value, grad, _m[index]);
        RequireLengths(index, value, grad, _v[index]);
        if (_vMax is not null) RequireLengths(index, value, grad, _vMax[index]);
        float lr = LearningRateOf(index), decay = WeightDecayOf(index);
        float bias1 = 1 - MathF.Pow(Beta1, StepCount);
        float bias2Sqrt = MathF.Sqrt(1 - MathF.Pow(Beta2, StepCount));
        var kernel = new AdamKernel
        {
            Value = ref MemoryMarshal.GetReference(value), Grad = ref MemoryMarshal.GetReference(grad), M = ref MemoryMarshal.GetArrayDataReference(_m[index]),
            V = ref MemoryMarshal.GetArrayDataReference(_v[index]), VMax = ref MemoryMarshal.GetArrayDataReference((_vMax ?? _v)[index]), Length = value.Length,
            Beta1 = Beta1, Beta2 = Beta2, Keep1 = 1 - Beta1, Keep2 = 1 - Beta2, Bias2Sqrt = bias2Sqrt, Epsilon = Epsilon, StepSize = lr / bias1,
            WeightDecay = decay, Shrink = 1 - lr * decay, Decoupled = Decoupled, AmsGrad = _vMax is not null, Sign = GradientSign,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// g = ∇ (−∇ when maximising); θ ·= 1 − lr·λ (AdamW) or g = g + λ·θ (Adam); m = β₁·m + (1 − β₁)·g; v = β₂·v + (1 − β₂)·g·g;
    /// θ −= (lr / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε), with AMSGrad v_max = max(v_max, v) in place of v there (a NaN kept, as
    /// torch.maximum keeps it). On the widest vectors, the scalar lanes on the tail: the same float operations in the same
    /// order on every lane (a square root is correctly rounded on each).
    /// </summary>
    private ref struct AdamKernel : ILaneKernel
    {
        public ref float Value, Grad, M, V, VMax;
        public int Length;
        public float Beta1, Beta2, Keep1, Keep2, Bias2Sqrt, Epsilon, StepSize, WeightDecay, Shrink, Sign;
        public bool Decoupled, AmsGrad;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float value = ref Value, grad = ref Grad, m = ref M, v = ref V, vMax = ref VMax;
            T beta1 = T.Create(Beta1), beta2 = T.Create(Beta2), keep1 = T.Create(Keep1), keep2 = T.Create(Keep2), bias2Sqrt = T.Create(Bias2Sqrt),
                epsilon = T.Create(Epsilon), stepSize = T.Create(StepSize), wd = T.Create(WeightDecay), shrink = T.Create(Shrink), sign = T.Create(Sign);
            bool decoupled = Decoupled, amsgrad = AmsGrad;
            for (; j <= Length - T.Count; j += T.Count)
            {
                T theta = T.Load(ref value, j), g = T.Load(ref grad, j) * sign;
                if (decoupled) theta = theta * shrink;
                else g = g + wd * theta;
                T mt = beta1 * T.Load(ref m, j) + keep1 * g;
                T vt = beta2 * T.Load(ref v, j) + keep2 * g * g;
                T.Store(mt, ref m, j);
                T.Store(vt, ref v, j);
                if (amsgrad)
                {
                    vt = T.Max(T.Load(ref vMax, j), vt);
                    T.Store(vt, ref vMax, j);
                }
                T denominator = T.Sqrt(vt) / bias2Sqrt + epsilon;
                T.Store(theta - stepSize * mt / denominator, ref value, j);
            }
            return j;
        }
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, 2019; <c>torch.optim.AdamW</c>).</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW.</summary>
    public AdamW(IEnumerable<Parameter> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 1e-2f,
        bool amsgrad = false, bool maximize = false)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, maximize)
    {
    }

    private protected override bool Decoupled => true;
}

/// <summary>
/// Adagrad (Duchi, Hazan and Singer, 2011; <c>torch.optim.Adagrad</c>): each value's step divided by the root of the sum of
/// its squared gradients so far, the rate decayed as lr / (1 + (t − 1) · lr_decay).
/// </summary>
public sealed class Adagrad : Optimizer
{
    private readonly float[][] _sum;

    /// <summary>Creates Adagrad with torch.optim's defaults; <paramref name="initialAccumulatorValue"/> is where each sum starts.</summary>
    public Adagrad(IEnumerable<Parameter> parameters, float learningRate = 1e-2f, float learningRateDecay = 0f, float weightDecay = 0f,
        float initialAccumulatorValue = 0f, float epsilon = 1e-10f, bool maximize = false)
        : base(parameters, learningRate)
    {
        RequireNonNegative(learningRateDecay, nameof(learningRateDecay));
        RequireNonNegative(weightDecay, nameof(weightDecay));
        RequireNonNegative(initialAccumulatorValue, nameof(initialAccumulatorValue));
        RequireNonNegative(epsilon, nameof(epsilon));
        LearningRateDecay = learningRateDecay;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = epsilon;
        Maximize = maximize;
        _sum = CreateState();
        foreach (float[] sum in _sum) Array.Fill(sum, initialAccumulatorValue);
    }

    internal override (string Slot, float[][] Buffers)[] StateSlots => [("sum", _sum)];

    internal override (string Name, float Value)[] Settings =>
        [("lr_decay", LearningRateDecay), ("weight_decay", WeightDecay), ("initial_accumulator_value", InitialAccumulatorValue), ("eps", Epsilon)];

    /// <summary>How the rate decays with the steps: lr / (1 + (t − 1) · lr_decay) at step t.</summary>
    public float LearningRateDecay { get; }
    /// <summary>Where each value's sum of squared gradients starts.</summary>
    public float InitialAccumulatorValue { get; }
    /// <summary>Added to the root of the sum.</summary>
    public float Epsilon { get; }

    /// <summary>The rate of the step being taken, lr / (1 + (t − 1) · lr_decay) (in double, as torch computes it, then float).</summary>
    internal float StepRate(int index) => (float)(LearningRateOf(index) / (1 + (StepCount - 1) * (double)LearningRateDecay));

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad)
    {
        RequireLengths(index, value, grad, _sum[index]);
        var kernel = new AdagradKernel
        {
            Value = ref MemoryMarshal.GetReference(value), Grad = ref MemoryMarshal.GetReference(grad), Sum = ref MemoryMarshal.GetArrayDataReference(_sum[index]),
            Length = value.Length, NegativeRate = -StepRate(index), WeightDecay = WeightDecayOf(index), Epsilon = Epsilon, Sign = GradientSign,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// g = ∇ (−∇ when maximising) + λ·θ (when λ ≠ 0); s = s + g·g; θ = θ + (−rate · g) / (√s + ε), as torch's addcdiv orders it. On the widest
    /// vectors, the scalar lanes on the tail: the same float operations on every lane.
    /// </summary>
    private ref struct AdagradKernel : ILaneKernel
    {
        public ref float Value, Grad, Sum;
        public int Length;
        public float NegativeRate, WeightDecay, Epsilon, Sign;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float value = ref Value, grad = ref Grad, sum = ref Sum;
            T rate = T.Create(NegativeRate), wd = T.Create(WeightDecay), epsilon = T.Create(Epsilon), sign = T.Create(Sign);
            bool decay = WeightDecay != 0f;
            for (; j <= Length - T.Count; j += T.Count)
            {
                T theta = T.Load(ref value, j), g = T.Load(ref grad, j) * sign;
                if (decay) g = g + wd * theta;
                T s = T.Load(ref sum, j) + g * g;
                T.Store(s, ref sum, j);
                T.Store(theta + rate * g / (T.Sqrt(s) + epsilon), ref value, j);
            }
            return j;
        }
    }
}

/// <summary>RMSprop (Hinton), with momentum and the centred variant (<c>torch.optim.RMSprop</c>).</summary>
public sealed class RmsProp : Optimizer
{
    private readonly float[][] _square;
    private readonly float[][] _mean;
    private readonly float[][] _momentum;

    /// <summary>Creates RMSprop.</summary>
    public RmsProp(IEnumerable<Parameter> parameters, float learningRate = 1e-2f, float alpha = 0.99f, float epsilon = 1e-8f, float weightDecay = 0f, float momentum = 0f, bool centered = false,
        bool maximize = false)
        : base(parameters, learningRate)
    {
        RequireClosedRange(alpha, 0f, 1f, nameof(alpha));
        RequireNonNegative(epsilon, nameof(epsilon));
        RequireNonNegative(weightDecay, nameof(weightDecay));
        RequireNonNegative(momentum, nameof(momentum));
        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        Maximize = maximize;
        _square = CreateState();
        _mean = CreateState();
        _momentum = CreateState();
    }

    internal override (string Slot, float[][] Buffers)[] StateSlots => [("square", _square), ("mean", _mean), ("momentum", _momentum)];

    internal override (string Name, float Value)[] Settings =>
        [("alpha", Alpha), ("eps", Epsilon), ("weight_decay", WeightDecay), ("momentum", Momentum), ("centered", Centered ? 1 : 0)];

    /// <summary>Smoothing constant.</summary>
    public float Alpha { get; }
    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; }
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>Whether the gradient is normalised by its estimated variance.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad)
    {
        RequireLengths(index, value, grad, _square[index]);
        RequireLengths(index, value, grad, _mean[index]);
        RequireLengths(index, value, grad, _momentum[index]);
        var kernel = new RmsPropKernel
        {
            Value = ref MemoryMarshal.GetReference(value), Grad = ref MemoryMarshal.GetReference(grad), Square = ref MemoryMarshal.GetArrayDataReference(_square[index]),
            Mean = ref MemoryMarshal.GetArrayDataReference(_mean[index]), Buf = ref MemoryMarshal.GetArrayDataReference(_momentum[index]), Length = value.Length,
            LearningRate = LearningRateOf(index), Alpha = Alpha, Keep = 1 - Alpha, Epsilon = Epsilon, WeightDecay = WeightDecayOf(index), Momentum = Momentum, Centered = Centered,
            Sign = GradientSign,
        };
        LaneLoop.Run(ref kernel);
    }

    /// <summary>
    /// g = ∇ (−∇ when maximising) + λ·θ; s = α·s + (1 − α)·g·g; centred: μ = α·μ + (1 − α)·g, d = √(s − μ²) + ε, else d = √s + ε; with momentum
    /// b = m·b + g / d, θ −= lr·b, else θ −= lr·g / d. On the widest vectors, the scalar lanes on the tail: the same float
    /// operations in the same order on every lane.
    /// </summary>
    private ref struct RmsPropKernel : ILaneKernel
    {
        public ref float Value, Grad, Square, Mean, Buf;
        public int Length;
        public float LearningRate, Alpha, Keep, Epsilon, WeightDecay, Momentum, Sign;
        public bool Centered;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Run<T>(int j) where T : struct, ILanes<T>
        {
            ref float value = ref Value, grad = ref Grad, square = ref Square, mean = ref Mean, buf = ref Buf;
            T lr = T.Create(LearningRate), alpha = T.Create(Alpha), keep = T.Create(Keep), epsilon = T.Create(Epsilon), wd = T.Create(WeightDecay), mu = T.Create(Momentum),
                sign = T.Create(Sign);
            bool centered = Centered, momentum = Momentum > 0;
            for (; j <= Length - T.Count; j += T.Count)
            {
                T theta = T.Load(ref value, j);
                T g = T.Load(ref grad, j) * sign + wd * theta;
                T s = alpha * T.Load(ref square, j) + keep * g * g;
                T.Store(s, ref square, j);
                T avg;
                if (centered)
                {
                    T mt = alpha * T.Load(ref mean, j) + keep * g;
                    T.Store(mt, ref mean, j);
                    avg = T.Sqrt(s - mt * mt) + epsilon;
                }
                else
                {
                    avg = T.Sqrt(s) + epsilon;
                }
                if (momentum)
                {
                    T b = mu * T.Load(ref buf, j) + g / avg;
                    T.Store(b, ref buf, j);
                    T.Store(theta - lr * b, ref value, j);
                }
                else
                {
                    T.Store(theta - lr * g / avg, ref value, j);
                }
            }
            return j;
        }
    }
}
