using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Text;

namespace Dsl;

/// <summary>How <see cref="GradCheck"/> probes a model.</summary>
/// <param name="Epsilon">
/// The step of the central differences, taken over five points: (8 (L(θ + ε) − L(θ − ε)) − (L(θ + 2ε) − L(θ − 2ε))) / 12ε,
/// whose error shrinks as ε⁴ where (L(θ + ε) − L(θ − ε)) / 2ε's shrinks as ε² (with ε = 1e-2 in float, that error of a
/// tanh network's small gradients had reached 3 % of them).
/// </param>
/// <param name="MaxPerParameter">Coordinates probed per parameter: all of a smaller tensor, a seeded sample of a larger one.</param>
/// <param name="Floor">
/// The smallest gradient the relative error divides by, |analytic − numeric| / max(|analytic|, |numeric|, Floor); 0 (the
/// default) sets it to 300 quanta of the numeric derivative, 300 · ulp(loss) / 2ε: below that the float pass's rounding would
/// swamp a single coordinate's difference. Gradients smaller than the floor are still checked together, by the
/// directional derivative along a random ±1 direction over the whole tensor (<see cref="GradCheckResult.DirectionalError"/>),
/// whose error is relative to the larger of the two derivatives, the floor and the gradient's norm ‖g‖₂ (the size of a
/// derivative along a random sign vector: one whose terms cancel is not judged by what is left of them).
/// </param>
/// <param name="Seed">Chooses the sampled coordinates and the directions.</param>
public sealed record GradCheckOptions(float Epsilon = 1e-2f, int MaxPerParameter = 24, float Floor = 0f, int Seed = 7);

/// <summary>
/// One parameter's result: how many coordinates were probed, the worst of them, and the relative error of the derivative
/// along a random ±1 direction over every coordinate at once (which sums gradients too small to check one by one).
/// </summary>
public sealed record GradCheckResult(string Parameter, int Checked, float WorstRelativeError, int WorstIndex, float Analytic, float Numeric,
    float DirectionalError = 0f);

/// <summary>The results of a <see cref="GradCheck"/>, one per parameter, in the model's order.</summary>
public sealed class GradCheckReport : IReadOnlyList<GradCheckResult>
{
    private readonly GradCheckResult[] _results;

    internal GradCheckReport(GradCheckResult[] results) => _results = results;

    /// <summary>The worst relative error over every parameter, coordinates and directions.</summary>
    public float WorstRelativeError => _results.Length == 0 ? 0f : _results.Max(r => MathF.Max(r.WorstRelativeError, r.DirectionalError));

    /// <summary>True when every probed coordinate and every direction agrees within <paramref name="tolerance"/> (relative).</summary>
    public bool Passed(float tolerance = 2e-2f) =>
        _results.Length > 0 && _results.All(r => r.WorstRelativeError <= tolerance && r.DirectionalError <= tolerance);

    /// <inheritdoc/>
    public int Count => _results.Length;

    /// <inheritdoc/>
    public GradCheckResult this[int index] => _results[index];

    /// <inheritdoc/>
    public IEnumerator<GradCheckResult> GetEnumerator() => ((IEnumerable<GradCheckResult>)_results).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A table: parameter, coordinates probed, worst relative error and where.</summary>
    public override string ToString()
    {
        var s = new StringBuilder();
        foreach (GradCheckResult r in _results)
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Parameter,-32} {r.Checked,4} probed   worst relative error {r.WorstRelativeError:E2} at [{r.WorstIndex}]: analytic {r.Analytic:G6}, numeric {r.Numeric:G6}; along a direction {r.DirectionalError:E2}"));
        return s.ToString();
    }
}

/// <summary>
/// Checks a model's analytic gradients (its <c>Backward</c>) against central finite differences of its loss, like
/// <c>torch.autograd.gradcheck</c>, for users' own compositions. The model's dropout generator is rewound before every
/// evaluation, so dropout draws the same masks each time and training mode is checked exactly. The model is left as
/// after one <c>Backward</c>: its values unchanged, its gradients those of that pass.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks <c>model.Backward(input, targets)</c> (softmax cross-entropy against class ids).</summary>
    public static GradCheckReport Run<TInput>(IModel<TInput> model, ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<int> targets, GradCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (x, xShape) = Copy(input);
        var (y, yShape) = Copy(targets);
        return Run(model, () => model.Backward(new ReadOnlyTensorSpan<TInput>(x, xShape), new ReadOnlyTensorSpan<int>(y, yShape)), options);
    }

    /// <summary>Checks <c>model.Backward(input, targets)</c> (mean squared error against float targets).</summary>
    public static GradCheckReport Run<TInput>(IModel<TInput> model, ReadOnlyTensorSpan<TInput> input, ReadOnlyTensorSpan<float> targets, GradCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (x, xShape) = Copy(input);
        var (y, yShape) = Copy(targets);
        return Run(model, () => model.Backward(new ReadOnlyTensorSpan<TInput>(x, xShape), new ReadOnlyTensorSpan<float>(y, yShape)), options);
    }

    /// <summary>
    /// Checks any training pass: <paramref name="backward"/> runs one (with lengths, from a state, an encoder–decoder …)
    /// and returns its loss, accumulating the gradients of <paramref name="parameters"/>. What the pass changes besides
    /// (a carried state) it must reset itself. <paramref name="random"/> are the generators to rewind before each pass.
    /// </summary>
    public static GradCheckReport Run(ParameterSet parameters, Func<float> backward, IReadOnlyList<Rng> random, GradCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(backward);
        ArgumentNullException.ThrowIfNull(random);
        options ??= new GradCheckOptions();
        if (!(options.Epsilon > 0f) || float.IsInfinity(2 * options.Epsilon))
            throw new ArgumentOutOfRangeException(nameof(options), options.Epsilon, "Epsilon must be a positive finite step (2ε finite too).");
        string[] start = random.Select(r => r.Save()).ToArray();
        void Rewind()
        {
            for (int i = 0; i < random.Count; i++) random[i].Restore(start[i]);
        }

        // the analytic gradients of one pass
        parameters.ZeroGrad();
        Rewind();
        float loss = backward();
        if (!float.IsFinite(loss)) throw new ArithmeticException($"GradCheck: the loss is {loss}; nothing to compare.");
        string[] end = random.Select(r => r.Save()).ToArray();
        var analytic = parameters.ToDictionary(p => p.Name, p => p.GradAsSpan().ToArray());

        // a two-point difference moves in steps of ulp(loss) / 2ε, the five-point one in about 1.5 of them, and the float
        // pass adds its own rounding (measured over 200 seeds of a small LSTM stack: up to about 2.5 such steps): a single
        // coordinate is compared above 300 of them
        float quantum = (MathF.BitIncrement(MathF.Abs(loss)) - MathF.Abs(loss)) / (2 * options.Epsilon);
        float floor = options.Floor > 0f ? options.Floor : MathF.Max(300f * quantum, 1e-7f);
        // |a − n| over the larger of the two and the smallest scale compared (the floor; a direction's gradient norm too)
        static float RelativeError(float a, float n, float scale) => MathF.Abs(a - n) / MathF.Max(MathF.Max(MathF.Abs(a), MathF.Abs(n)), scale);
        var rng = new Rng((ulong)options.Seed);
        var results = new List<GradCheckResult>();
        try
        {
            foreach (Parameter p in parameters)
            {
                IEnumerable<int> indices = p.Length <= options.MaxPerParameter
                    ? Enumerable.Range(0, p.Length)
                    : Enumerable.Range(0, options.MaxPerParameter).Select(_ => rng.NextInt(p.Length)).Distinct();
                float worst = 0f, worstAnalytic = 0f, worstNumeric = 0f;
                int worstIndex = -1, count = 0;
                foreach (int i in indices)
                {
                    float original = p.AsSpan()[i], numeric;
                    try
                    {
                        numeric = Derivative(h =>
                        {
                            p.AsSpan()[i] = original + h;
                            Rewind();
                            return backward();
                        }, options.Epsilon);
                    }
                    finally
                    {
                        p.AsSpan()[i] = original;
                    }
                    float a = analytic[p.Name][i];
                    float error = RelativeError(a, numeric, floor);
                    if (worstIndex < 0 || error > worst || float.IsNaN(error)) (worst, worstIndex, worstAnalytic, worstNumeric) = (error, i, a, numeric);
                    count++;
                }
                // every coordinate at once along s ∈ {−1, +1}^n: the derivative is Σ s·g, small gradients included
                float[] direction = new float[p.Length], values = p.AsSpan().ToArray();
                for (int i = 0; i < direction.Length; i++) direction[i] = rng.NextInt(2) == 0 ? -1f : 1f;
                float expected = (float)Enumerable.Range(0, p.Length).Sum(i => (double)direction[i] * analytic[p.Name][i]);
                float alongDirection;
                try
                {
                    alongDirection = Derivative(h =>
                    {
                        TensorPrimitives.MultiplyAdd(direction, h, values, p.AsSpan());
                        Rewind();
                        return backward();
                    }, options.Epsilon);
                }
                finally
                {
                    values.CopyTo(p.AsSpan());
                }
                float norm = TensorPrimitives.Norm(analytic[p.Name]);
                float directional = RelativeError(expected, alongDirection, MathF.Max(norm, floor));
                results.Add(new GradCheckResult(p.Name, count, worst, worstIndex, worstAnalytic, worstNumeric, directional));
            }
        }
        finally
        {
            // leave the model as after the one pass, also when a perturbed pass throws: its weights, gradients and generators
            foreach (Parameter p in parameters) analytic[p.Name].CopyTo(p.GradAsSpan());
            for (int i = 0; i < random.Count; i++) random[i].Restore(end[i]);
        }
        return new GradCheckReport(results.ToArray());
    }

    /// <summary>
    /// Checks a training pass of <paramref name="model"/>, rewinding its dropout generator (and an encoder–decoder's other
    /// generators: the encoder's dropout, scheduled sampling) before each evaluation.
    /// </summary>
    public static GradCheckReport Run(IModel model, Func<float> backward, GradCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var random = new List<Rng> { model.DropoutRandom };
        if (model is IHasRandoms others) random.AddRange(others.OtherRandoms.Select(o => o.Rng));
        return Run(model.Parameters, backward, random, options);
    }

    /// <summary>
    /// dL/dh at 0 from the loss <paramref name="at"/> h = ±ε, ±2ε, over five points (8 (L(ε) − L(−ε)) − (L(2ε) − L(−2ε))) / 12ε:
    /// the ε² term of the two-point difference cancels.
    /// </summary>
    private static float Derivative(Func<float, float> at, float epsilon)
    {
        double near = (double)at(epsilon) - at(-epsilon), far = (double)at(2 * epsilon) - at(-2 * epsilon);
        return (float)((8 * near - far) / (12.0 * epsilon));
    }

    private static (T[] Values, nint[] Shape) Copy<T>(ReadOnlyTensorSpan<T> tensor)
    {
        var values = new T[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return (values, tensor.Lengths.ToArray());
    }
}
