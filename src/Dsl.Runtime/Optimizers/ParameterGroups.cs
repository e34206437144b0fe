using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// Parameters that share options of their own inside one optimiser: one of torch.optim's parameter groups
/// (<c>{'params': embeddings, 'lr': 1e-4}</c>, <c>{'params': biases, 'weight_decay': 0}</c>). A group's
/// <see cref="LearningRate"/> and <see cref="WeightDecay"/> replace the optimiser's for its parameters; null keeps the
/// optimiser's. A schedule moves each group's rate from its own starting rate, as torch's schedulers do.
/// </summary>
public sealed class ParameterGroup
{
    /// <summary>Groups <paramref name="parameters"/> (none is allowed: a model without biases still has the group).</summary>
    public ParameterGroup(IEnumerable<Parameter> parameters, float? learningRate = null, float? weightDecay = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (learningRate is float rate) Optimizer.RequireRate(rate, nameof(learningRate));
        if (weightDecay is float decay && !(decay >= 0f && decay < float.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), decay, "must be in [0, 3.4028235E+38) (or null: the optimiser's)");
        Parameters = parameters.ToArray();
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>The group's parameters.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The learning rate the group's parameters start with; null: the optimiser's.</summary>
    public float? LearningRate { get; }

    /// <summary>The weight decay of the group's parameters; null: the optimiser's.</summary>
    public float? WeightDecay { get; }
}

/// <summary>
/// Parameter groups, passed where an optimiser takes its parameters (torch.optim's list of dicts):
/// <c>new AdamW(new ParameterGroups(new(weights), new(biases, weightDecay: 0f)), weightDecay: 0.1f)</c>, or
/// <see cref="DecayMatricesOnly"/>. The optimiser updates every group's parameters, each with its group's options; a
/// parameter in two groups is refused as one given twice. Pass the object itself: a query over it (<c>groups.Where(…)</c>)
/// is a flat list of parameters, and the groups' options are not seen.
/// </summary>
public sealed class ParameterGroups : IEnumerable<Parameter>
{
    /// <summary>The groups, in order: the optimiser's <see cref="Optimizer.Parameters"/> are theirs, group after group.</summary>
    public ParameterGroups(params ParameterGroup[] groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (Array.IndexOf(groups, null) is int at and >= 0) throw new ArgumentException($"Group {at} is null.", nameof(groups));
        Groups = groups.ToArray();
    }

    /// <summary>The groups.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>
    /// The usual split for Transformers and recurrent networks alike (nanoGPT's <c>p.dim() &gt;= 2</c>, Hugging Face's): the
    /// matrices (weights, embeddings, a mixture's stacked expert weights) take the optimiser's weight decay, and the biases and the
    /// parameters of one dimension — layer-norm gains and shifts — none; a mixture's per-expert biases (<c>moe.bias_in</c> [E, I],
    /// <c>moe.bias_out</c> [E, D]: two dimensions, a bias per expert) count as biases. Two groups, the matrices first.
    /// </summary>
    public static ParameterGroups DecayMatricesOnly(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameter[] all = parameters.ToArray();
        return new ParameterGroups(new ParameterGroup(all.Where(p => p is null || Decays(p))), new ParameterGroup(all.Where(p => p is not null && !Decays(p)), weightDecay: 0f));
    }

    /// <summary>A matrix that is not a stack of biases (a parameter whose name's last part starts with "bias": a mixture's per-expert biases).</summary>
    private static bool Decays(Parameter p) => p.Shape.Length > 1 && !p.Name[(p.Name.LastIndexOf('.') + 1)..].StartsWith("bias", StringComparison.Ordinal);

    /// <inheritdoc/>
    public IEnumerator<Parameter> GetEnumerator() => Groups.SelectMany(g => g.Parameters).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
