using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;

namespace Dsl;

/// <summary>
/// The ordered, named parameters of a model, in PyTorch's <c>state_dict</c> order, with the
/// operations a training loop needs: zeroing and clipping gradients, saving and loading weights.
/// </summary>
public sealed class ParameterSet : IReadOnlyList<Parameter>
{
    private static readonly IReadOnlyDictionary<string, string> s_noTies = new Dictionary<string, string>();
    private readonly Parameter[] _items;
    private readonly Dictionary<string, Parameter> _byName;

    /// <summary>Creates a set from parameters with distinct names.</summary>
    public ParameterSet(IEnumerable<Parameter> parameters) : this(parameters, null) { }

    /// <summary>
    /// Creates a set from parameters with distinct names, and names that are one of them (<paramref name="tied"/>: each alias
    /// and the name of the parameter it is, as a Dense tied to an embedding has: <c>["dense.weight"] = "embedding.weight"</c>).
    /// </summary>
    public ParameterSet(IEnumerable<Parameter> parameters, IReadOnlyDictionary<string, string>? tied)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _items = parameters.ToArray();
        _byName = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        var tensors = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _items.Length; i++)
        {
            Parameter p = _items[i] ?? throw new ArgumentException($"Parameter {i} of the list is null.", nameof(parameters));
            if (!_byName.TryAdd(p.Name, p)) throw new ArgumentException($"Two parameters are named '{p.Name}'.", nameof(parameters));
            // one tensor under two names (WithName) would count twice in a norm, be clipped twice and loaded twice (as the
            // optimisers refuse it)
            if (!tensors.TryAdd(p.Storage, p.Name))
                throw new ArgumentException($"Parameters '{tensors[p.Storage]}' and '{p.Name}' are the same tensor (one is the other's WithName); list it once.", nameof(parameters));
        }
        Tied = tied is null || tied.Count == 0 ? s_noTies : new Dictionary<string, string>(tied, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> tie in Tied)
        {
            if (_byName.ContainsKey(tie.Key)) throw new ArgumentException($"'{tie.Key}' is tied to '{tie.Value}' but is also a parameter of its own.", nameof(tied));
            if (!_byName.ContainsKey(tie.Value)) throw new ArgumentException($"'{tie.Key}' is tied to '{tie.Value}', which is not a parameter of the set.", nameof(tied));
        }
    }

    /// <summary>
    /// The names that are another parameter's tensor (weight tying): each alias and the name of the parameter it is, e.g.
    /// <c>dense.weight</c> → <c>embedding.weight</c>. PyTorch's state_dict lists both names; here the tensor is listed once
    /// (counted, clipped and optimised once, saved once under its own name: <c>safetensors.torch.save_model</c> too keeps one
    /// name of the two), and
    /// the alias finds it (<see cref="this[string]"/>, <see cref="TryGet"/>) and loads it (<see cref="Load"/>). Empty for most models.
    /// </summary>
    public IReadOnlyDictionary<string, string> Tied { get; }

    /// <summary>Number of parameter tensors.</summary>
    public int Count => _items.Length;

    /// <summary>Total number of scalar weights.</summary>
    public long ElementCount => _items.Sum(p => (long)p.Length);

    /// <summary>The parameter at <paramref name="index"/>, in <c>state_dict</c> order.</summary>
    public Parameter this[int index] => _items[index];

    /// <summary>The parameter named <paramref name="name"/> (or tied to that name: <see cref="Tied"/>).</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name; the message lists the names there are.</exception>
    public Parameter this[string name] => TryGet(name, out Parameter p)
        ? p
        : throw new KeyNotFoundException($"No parameter is named '{name}'. The parameters are: {string.Join(", ", _items.Select(x => x.Name).Concat(Tied.Keys))}.");

    /// <summary>Looks up a parameter by name, or by a name tied to it (<see cref="Tied"/>).</summary>
    public bool TryGet(string name, out Parameter parameter) =>
        _byName.TryGetValue(name, out parameter!) || (Tied.TryGetValue(name, out string? target) && _byName.TryGetValue(target, out parameter!));

    /// <summary>Sets every gradient to zero (PyTorch <c>zero_grad</c>); gradients otherwise accumulate.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _items) p.ZeroGrad();
    }

    /// <summary>
    /// Rescales all gradients together so that their global norm is at most <paramref name="maxNorm"/>,
    /// with PyTorch's <c>clip_grad_norm_</c> semantics (coefficient maxNorm / (norm + 1e-6), applied when below 1; a NaN
    /// norm makes every gradient NaN and an infinite one zeroes the finite ones, as PyTorch's does without
    /// <c>error_if_nonfinite</c>).
    /// </summary>
    /// <param name="maxNorm">Largest allowed norm; <see cref="float.PositiveInfinity"/> measures only (<see cref="GradNorm"/>).</param>
    /// <param name="normType">The p of the p-norm; <see cref="float.PositiveInfinity"/> for the max-norm.</param>
    /// <returns>The total norm before clipping, for logging.</returns>
    public float ClipGradNorm(float maxNorm, float normType = 2f)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "must be positive");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "must be positive");
        if (ParameterDevice.Of(_items) is { } device) return device.ClipGradNorm(_items, maxNorm, normType);
        double total = 0;
        foreach (Parameter p in _items)
        {
            ReadOnlySpan<float> g = p.GradAsSpan();
            if (float.IsPositiveInfinity(normType)) total = Math.Max(total, Math.Abs(TensorPrimitives.MaxMagnitude(g)));
            else if (normType == 2f) total += Losses.SquaredDifferences(g, default, default, 0f); // Σ g², summed in double
            else foreach (float v in g) total += Math.Pow(Math.Abs(v), normType);
        }
        float norm = float.IsPositiveInfinity(normType) ? (float)total
            : normType == 2f ? (float)Math.Sqrt(total)
            : (float)Math.Pow(total, 1.0 / normType);
        if (ParameterDevice.ClipScale(maxNorm, norm, out float coefficient)) MultiplyGradients(coefficient);
        return norm;
    }

    /// <summary>
    /// The total p-norm of every gradient, as <see cref="ClipGradNorm"/> measures it, changing nothing (even when it is
    /// infinite or NaN, where clipping would rewrite the gradients).
    /// </summary>
    public float GradNorm(float normType = 2f) => ClipGradNorm(float.PositiveInfinity, normType);

    /// <summary>Clamps every gradient value to [−clip, clip] (PyTorch <c>clip_grad_value_</c>).</summary>
    public void ClipGradValue(float clip)
    {
        if (!(clip > 0)) throw new ArgumentOutOfRangeException(nameof(clip), clip, "must be positive");
        if (ParameterDevice.Of(_items) is { } device)
        {
            device.ClipGradValue(_items, clip);
            return;
        }
        foreach (Parameter p in _items) TensorPrimitives.Clamp(p.GradAsSpan(), -clip, clip, p.GradAsSpan());
    }

    /// <summary>
    /// Multiplies every gradient by <paramref name="factor"/> (PyTorch's <c>p.grad.mul_(factor)</c> over the parameters): to
    /// average gradients accumulated over several batches before a step, as <see cref="Trainer"/>'s <c>accumulationSteps</c> does.
    /// </summary>
    public void ScaleGrad(float factor)
    {
        if (!float.IsFinite(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be finite");
        if (ParameterDevice.Of(_items) is { } device)
        {
            device.ScaleGrad(_items, factor);
            return;
        }
        MultiplyGradients(factor);
    }

    /// <summary>Every gradient times <paramref name="factor"/>, on the host (clipping's scale and <see cref="ScaleGrad"/>'s).</summary>
    private void MultiplyGradients(float factor)
    {
        foreach (Parameter p in _items) TensorPrimitives.Multiply(p.GradAsSpan(), factor, p.GradAsSpan());
    }

    /// <summary>
    /// Saves every parameter to a safetensors file under its <c>state_dict</c> name, readable by
    /// <c>safetensors.torch.load_file</c>. Written atomically: a failed save leaves the old file intact. A parameter held in
    /// bfloat16 (<see cref="HoldWeightsIn"/>) is written as BF16, its values as they are (half the bytes); the others as F32.
    /// </summary>
    public void Save(string path) =>
        SafeTensors.Write(path, _items.Select(p => (p.Name, (ReadOnlyMemory<int>)p.Shape.ToArray(), (ReadOnlyMemory<float>)p.ToArray())), null,
            _items.Where(p => p.Precision == Precision.BFloat16).Select(p => p.Name).ToHashSet(StringComparer.Ordinal));

    /// <summary>
    /// Loads every parameter from a safetensors file (F32, F64, F16 or BF16). The file must hold exactly
    /// this model's tensors with the same shapes; otherwise nothing is changed and the error names each
    /// missing, extra or wrongly shaped tensor. A tied tensor (<see cref="Tied"/>) may come under either name or both
    /// (PyTorch's state_dict has both); both must then hold the same values.
    /// </summary>
    /// <exception cref="InvalidDataException">The file does not match the model, or is not safetensors.</exception>
    public void Load(string path)
    {
        // (each tensor read from the file as it is converted: the file's bytes are not held besides)
        Dictionary<string, SafeTensor> tensors = SafeTensors.Index(path);
        var problems = new List<string>();
        Staged[] values = Prepare(tensors, "", problems);
        if (problems.Count > 0)
            throw new InvalidDataException($"Cannot load '{path}': {string.Join("; ", problems)}. Nothing was loaded.");
        Assign(values);
    }

    /// <summary>
    /// Checks that <paramref name="tensors"/> hold every parameter (under <paramref name="prefix"/>) with its shape, and
    /// nothing under the prefix that is not a parameter (a checkpoint of a bigger model), adding what is wrong to
    /// <paramref name="problems"/>, and returns the values staged (<see cref="Staged"/>); assigns nothing, so that a caller can
    /// validate everything before changing anything. Names outside the prefix are the caller's (a checkpoint's optimiser state).
    /// </summary>
    internal Staged[] Prepare(Dictionary<string, SafeTensor> tensors, string prefix, List<string> problems)
    {
        int before = problems.Count; // the caller's own (a checkpoint's metadata): this call's checks still run
        var sources = new string[_items.Length];
        for (int i = 0; i < _items.Length; i++)
        {
            Parameter p = _items[i];
            // the tensor under its own name, else under a name tied to it (a file that kept the other name of the two)
            string name = prefix + p.Name;
            if (!tensors.ContainsKey(name))
                name = Tied.Where(t => t.Value == p.Name && tensors.ContainsKey(prefix + t.Key)).Select(t => prefix + t.Key).FirstOrDefault() ?? name;
            sources[i] = name;
            if (!tensors.TryGetValue(name, out SafeTensor? t)) problems.Add($"missing tensor '{name}' {Shapes.Format(p.Shape)}");
            else CheckTensor(name, t, p, problems);
        }
        foreach (string name in tensors.Keys)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && !_byName.ContainsKey(name.Substring(prefix.Length)) && !Tied.ContainsKey(name.Substring(prefix.Length)))
                problems.Add($"unexpected tensor '{name}' (the model has no such parameter)");
        }
        if (problems.Count > before) return [];
        foreach (KeyValuePair<string, string> tie in Tied)
        {
            // both names in the file (a PyTorch state_dict): one tensor here, so they must agree
            string alias = prefix + tie.Key;
            int i = Array.FindIndex(_items, p => p.Name == tie.Value);
            if (sources[i] == alias || !tensors.TryGetValue(alias, out SafeTensor? t)) continue;
            if (!CheckTensor(alias, t, _items[i], problems)) continue;
            if (!t.SameValues(tensors[sources[i]]))
                problems.Add($"tensors '{alias}' and '{sources[i]}' differ, but the model holds one tensor for both (tied weights)");
        }
        if (problems.Count > 0) return [];
        var scratch = new Dictionary<int, float[]>();
        return sources.Select((name, i) =>
        {
            float[] values = Staged.ReadInto(_items[i], scratch);
            tensors[name].CopyFloatsTo(0, values);
            return Staged.Of(_items[i], values, problems);
        }).ToArray();
    }

    /// <summary>
    /// Checks and converts, for a checkpoint whose names are another library's: <paramref name="sources"/> gives, for every
    /// parameter by name, the tensors of <paramref name="tensors"/> whose rows, one after the other, are its values, and how
    /// many rows each must have (Hugging Face's <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into one <c>in_proj_weight</c>),
    /// or which rows of a larger tensor they are (Phi-3's <c>gate_up_proj</c>, whose halves go in the other order).
    /// Every tensor must be floating-point with the parameter's rank, its trailing sizes and its own rows; a tensor no
    /// parameter reads is a problem unless <paramref name="ignored"/> says it may be left (a buffer the model recomputes).
    /// A parameter <paramref name="kept"/> names (a layer of the model's own after the checkpoint's) keeps its values.
    /// <paramref name="adjust"/> changes a parameter's values, by its name, before they are staged (Gemma's norms, GPT-J's rotated rows);
    /// <paramref name="adjusted"/> says which names it changes (null: any), the others read as they are (a quantized checkpoint's
    /// integers and scales, into a parameter held in 8 bits).
    /// Adds what is wrong to <paramref name="problems"/> and returns the values staged, or nothing when something is; assigns nothing.
    /// </summary>
    internal Staged[] PrepareStacked(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, TensorRows[]> sources,
        Func<string, bool> ignored, List<string> problems, Func<string, bool>? kept = null, Action<string, float[]>? adjust = null, Func<string, bool>? adjusted = null)
    {
        int before = problems.Count;
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (Parameter p in _items)
        {
            if (kept?.Invoke(p.Name) == true) continue;
            if (!sources.TryGetValue(p.Name, out TensorRows[]? parts) || p.Shape.Length == 0 || TensorRows.StackedShape(p.Shape, parts) is not { } stacked
                || parts.Sum(x => (long)x.Rows) != stacked[0])
                throw new ArgumentException($"The sources given for parameter '{p.Name}' {Shapes.Format(p.Shape)} do not make up its rows.", nameof(sources));
            int at = 0;
            foreach (TensorRows part in parts)
            {
                int[] shape = part.TensorShape(stacked);
                string where = parts.Length == 1 ? $"for '{p.Name}'" : $"rows {at} … {at + part.Rows - 1} of '{p.Name}' {Shapes.Format(p.Shape)}";
                at += part.Rows;
                // a tensor two parts read (a fused projection) is checked, and named, once
                if (!read.Add(part.Name)) continue;
                if (part.Total != part.Rows) where = $"for '{p.Name}' {Shapes.Format(p.Shape)}";
                if (!tensors.TryGetValue(part.Name, out SafeTensor? t)) problems.Add($"missing tensor '{part.Name}' {Shapes.Format<int>(shape)} ({where})");
                else CheckTensor(part.Name, t, shape, problems, $" ({where})");
            }
        }
        foreach (string name in tensors.Keys.Where(n => !read.Contains(n) && !ignored(n)).OrderBy(n => n, StringComparer.Ordinal))
            problems.Add($"unexpected tensor '{name}' (the model has no parameter it loads into)");
        if (problems.Count > before) return [];
        var scratch = new Dictionary<int, float[]>();
        return _items.Select(p =>
        {
            if (kept?.Invoke(p.Name) == true) return default(Staged); // (a parameter the checkpoint has no part in: as it is)
            TensorRows[] parts = sources[p.Name];
            int rows = TensorRows.StackedShape(p.Shape, parts)![0];
            int at = 0, row = rows == 0 ? 0 : p.Length / rows;
            if ((adjust is null || adjusted?.Invoke(p.Name) == false) && Staged.QuantizedAsHeld(p, parts, tensors, row) is { } held) return held;
            float[] values = Staged.ReadInto(p, scratch);
            foreach (TensorRows part in parts)
            {
                // each part's rows straight into the parameter's values (a tensor left in its file reads those rows alone)
                tensors[part.Name].CopyFloatsTo((long)part.First * row, values.AsSpan(at, part.Rows * row));
                at += part.Rows * row;
            }
            adjust?.Invoke(p.Name, values);
            return Staged.Of(p, values, problems);
        }).ToArray();
    }

    /// <summary>
    /// A parameter's values read from a checkpoint and checked, waiting until every other is to be assigned: floats, or the held
    /// values of a parameter held in less (<see cref="HoldWeightsIn"/>: a model held before it loads stages half the bytes in
    /// bfloat16 and a quarter in 8 bits, one parameter's floats at a time besides); neither for a parameter that keeps its values.
    /// </summary>
    internal readonly record struct Staged(float[]? Floats, HeldValues? Held)
    {
        /// <summary>
        /// Where <paramref name="p"/>'s values are read into: a new array, or for a parameter held in less than float32 the one of its
        /// length in <paramref name="scratch"/>, which the next held parameter of that length reads into once <see cref="Of"/> has
        /// rounded or quantized them (so that loading holds one parameter's floats at a time, not every one's).
        /// </summary>
        public static float[] ReadInto(Parameter p, Dictionary<int, float[]> scratch)
        {
            if (p.Precision == Precision.Float32) return new float[p.Length];
            if (!scratch.TryGetValue(p.Length, out float[]? values)) scratch[p.Length] = values = new float[p.Length];
            return values;
        }

        /// <summary>
        /// The 8-bit integers and scales of a quantized checkpoint's <paramref name="parts"/> (rows of <paramref name="row"/> values)
        /// as they are, for <paramref name="p"/> held in 8 bits with a scale per row of that length: no quantizing anew (which
        /// would scale each row by its largest value again); null where a part is not quantized or the rows differ.
        /// </summary>
        public static Staged? QuantizedAsHeld(Parameter p, TensorRows[] parts, IReadOnlyDictionary<string, SafeTensor> tensors, int row)
        {
            if (p.Precision == Precision.Int4) return FourBitAsHeld(p, parts, tensors, row);
            if (p.Precision != Precision.Int8 || row != p.RowLength || row == 0) return null;
            foreach (TensorRows part in parts)
                if (tensors[part.Name] is not { IsQuantized: true } t || t.Shape[^1] != row) return null;
            HeldValues held = HeldValues.OfInt8(p.Length, row, out Span<sbyte> values, out Span<float> scales);
            int at = 0;
            foreach (TensorRows part in parts)
            {
                SafeTensor t = tensors[part.Name];
                t.CopyInt8To((long)part.First * row, values.Slice(at * row, part.Rows * row));
                for (int r = 0; r < part.Rows; r++) scales[at + r] = t.ScaleAt((part.First + r) * (long)row);
                at += part.Rows;
            }
            return new Staged(null, held);
        }

        /// <summary>
        /// The 4-bit integers and group scales of a quantized checkpoint's <paramref name="parts"/> (rows of <paramref name="row"/>
        /// values, compressed-tensors' W4A16: q + 8 and a scale per group of a row's columns) as they are, for <paramref name="p"/>
        /// held in 4 bits in groups of that size or dividing it (each taking the scale of the checkpoint's group it lies in) —
        /// (q + 8 − 8) · scale is q · scale, the checkpoint's own floats; null where a part is not quantized so.
        /// </summary>
        private static Staged? FourBitAsHeld(Parameter p, TensorRows[] parts, IReadOnlyDictionary<string, SafeTensor> tensors, int row)
        {
            int group = p.GroupSize;
            if (row != p.RowLength || row == 0) return null;
            foreach (TensorRows part in parts)
                if (!tensors[part.Name].IsQuantizedInGroupsOf(group) || tensors[part.Name].Shape[^1] != row) return null;
            HeldValues held = HeldValues.OfInt4(p.Length, group, out Span<byte> values, out Span<float> scales);
            byte[] levels = new byte[parts.Max(part => part.Rows) * row];
            int at = 0;
            foreach (TensorRows part in parts)
            {
                SafeTensor t = tensors[part.Name];
                Span<byte> partLevels = levels.AsSpan(0, part.Rows * row);
                t.CopyInt4To((long)part.First * row, partLevels);
                Kernels.Int4.Pack(partLevels, values.Slice(at * row / 2, part.Rows * row / 2));
                for (int g = 0; g < part.Rows * row / group; g++) scales[at * row / group + g] = t.ScaleAt((long)part.First * row + (long)g * group);
                at += part.Rows;
            }
            return new Staged(null, held);
        }

        /// <summary>
        /// <paramref name="values"/> as <paramref name="p"/> will hold them (rounded or quantized when it is held in less). A value
        /// 8 bits cannot hold (not finite) is a problem named in <paramref name="problems"/>.
        /// </summary>
        public static Staged Of(Parameter p, float[] values, List<string> problems)
        {
            if (p.Precision == Precision.Float32) return new(values, null);
            if (p.Precision is Precision.Int8 or Precision.Int4 && !float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(values)))
            {
                problems.Add($"tensor for '{p.Name}' holds a value that is not finite, which a parameter held in {Kernels.Weights.Describe(p.Precision)} cannot hold");
                return default;
            }
            return new(null, HeldValues.Of(p.Precision, values, p.RowLength, p.GroupSize));
        }
    }

    /// <summary>
    /// Where a parameter's rows come from in a checkpoint: rows <see cref="First"/> … <see cref="First"/> + <see cref="Rows"/> − 1
    /// of the tensor <see cref="Name"/>, which has <see cref="Total"/> rows (all of it where <see cref="Total"/> is <see cref="Rows"/>).
    /// </summary>
    /// <remarks>
    /// <see cref="Blocks"/>: the rows are those of a stack of matrices [blocks, rows, cols] with its first two dimensions merged
    /// (a mixture's experts, [E, I, D], read from a tensor [I', D] per expert and part), where otherwise they are the first dimension's.
    /// <see cref="Stack"/> (0: none): the tensor is itself such a stack, [Stack, Total / Stack, cols], read with its first two
    /// dimensions merged (transformers 5's fused experts, <c>gate_up_proj</c> [E, 2I, D]).
    /// </remarks>
    internal readonly record struct TensorRows(string Name, int Rows, int First, int Total, bool Blocks = false, int Stack = 0)
    {
        /// <summary>A whole tensor of <paramref name="rows"/> rows.</summary>
        public TensorRows(string name, int rows) : this(name, rows, 0, rows) { }

        public static implicit operator TensorRows((string Name, int Rows) whole) => new(whole.Name, whole.Rows);

        /// <summary>The shape of the tensor this part reads, for a parameter stacked as <paramref name="stacked"/> (<see cref="StackedShape"/>): [Total, …], or [Stack, Total / Stack, …].</summary>
        public int[] TensorShape(int[] stacked) => Stack > 0 ? [Stack, Total / Stack, .. stacked[1..]] : [Total, .. stacked[1..]];

        /// <summary>
        /// The shape a parameter's <paramref name="parts"/> stack along: the parameter's own, or with <see cref="Blocks"/> its first two
        /// dimensions merged (null where the parameter has fewer than three).
        /// </summary>
        public static int[]? StackedShape(ReadOnlySpan<int> shape, TensorRows[] parts)
        {
            if (parts.Length == 0 || !parts[0].Blocks) return shape.ToArray();
            if (shape.Length < 3) return null;
            return [shape[0] * shape[1], .. shape[2..]];
        }
    }

    private static bool CheckTensor(string name, SafeTensor t, Parameter p, List<string> problems) => CheckTensor(name, t, p.Shape, problems, "");

    /// <summary>A tensor of the <paramref name="expected"/> shape and a floating-point type; else the problem, <paramref name="where"/> after the shapes.</summary>
    private static bool CheckTensor(string name, SafeTensor t, ReadOnlySpan<int> expected, List<string> problems, string where)
    {
        if (!ShapeEquals(t.Shape, expected)) problems.Add($"tensor '{name}' has shape {Shapes.Format<long>(t.Shape)}, expected {Shapes.Format(expected)}{where}");
        else if (!t.IsFloatingPoint) problems.Add($"tensor '{name}' holds {t.DType}, expected a floating-point type");
        else return true;
        return false;
    }

    /// <summary>Copies values staged by <see cref="Prepare"/> or <see cref="PrepareStacked"/> into the parameters.</summary>
    internal void Assign(Staged[] values)
    {
        for (int i = 0; i < _items.Length; i++)
        {
            if (values[i].Floats is { } floats) _items[i].CopyFrom(floats);
            else if (values[i].Held is { } held) _items[i].CopyHeldFrom(held);
        }
    }

    /// <summary>
    /// Holds the model's weights in <paramref name="precision"/> for inference, weight only: with <see cref="Precision.BFloat16"/>
    /// (PyTorch's <c>model.to(torch.bfloat16)</c>) every parameter the model reads only as weights when it runs forward
    /// (<see cref="Parameter.HoldsOnlyWeights"/>: its matrices multiplied as Wᵀ, its embedding tables, its recurrent layers' W_ih,
    /// W_hh and projections) is rounded to bfloat16, half
    /// their memory; with <see cref="Precision.Int8"/> each row of them (the last dimension: a matrix's output channel, a table's
    /// token) is quantized to 8-bit integers with its own scale, as PyTorch's per-channel symmetric <c>qint8</c> (<see cref="Kernels.Int8"/>),
    /// a quarter of their memory; with <see cref="Precision.Int4"/> each group of <paramref name="groupSize"/> values along their rows
    /// is quantized to 4-bit integers with its own scale (block-wise symmetric, as ONNX Runtime's <c>MatMulNBits</c> quantizer and
    /// llama.cpp's <c>Q4_0</c>: <see cref="Kernels.Int4"/>), an eighth of their memory and a scale a group — a weight whose rows are
    /// not a whole number of groups, or whose groups would span a column the model reads from (<see cref="Parameter.ReadFromColumn"/>),
    /// is held in 8 bits instead. Their floats (and any gradient) are dropped, and the kernels widen the values as they read them,
    /// summing in float: a model held in 8 bits computes what the same model with the dequantized weights in float32 computes (the
    /// same bits where the blocked product widens them as it packs them — more than 32 rows, or a k too short for the vectors;
    /// the dot products of fewer rows multiply each column's sums of the integers by its scale, the same up to rounding; 4-bit
    /// groups' sums likewise, group by group).
    /// A recurrent layer's matrices are among them (its forward reads them only as weights). The other parameters (norms' scales,
    /// biases, a table a recurrent layer folds into its input projection) stay float32. A checkpoint stored in bfloat16 loses nothing in bfloat16.
    /// With <see cref="Precision.Float32"/>, every parameter is widened back (bfloat16 exactly; 8-bit values to the floats they
    /// stand for), as training, optimisers and devices need. A tensor two models share (an encoder–decoder's table) is held only
    /// when both read it as weights alone. A span or tensor taken from a parameter before it is held reads values no longer used,
    /// and so does one taken before it is widened back. Returns the number of values held in less than float32 afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// 8- or 4-bit integers asked for while a weight holds a value that is not finite (named), or a group size other than 32, 64,
    /// 128 or 256; nothing was changed.
    /// </exception>
    public long HoldWeightsIn(Precision precision, int groupSize = Kernels.Int4.DefaultGroupSize)
    {
        if (precision is not (Precision.Float32 or Precision.BFloat16 or Precision.Int8 or Precision.Int4))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Precision.Float32, Precision.BFloat16, Precision.Int8 or Precision.Int4.");
        if (precision == Precision.Int4 && !Kernels.Int4.IsGroupSize(groupSize))
            throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "Expected a group size of 32, 64, 128 or 256 values (4-bit weights: a scale per group). Nothing was changed.");
        foreach (Parameter p in _items)
        {
            if (p.Mirror is not null && precision != Precision.Float32)
                throw new InvalidOperationException($"Parameter '{p.Name}' lives on a device: a model is held in {Kernels.Weights.Describe(precision)} on the host, before it moves to one. Nothing was changed.");
            // (bfloat16 holds infinities: a parameter held so is checked through the floats it stands for)
            if (precision is Precision.Int8 or Precision.Int4 && p.HoldsOnlyWeights && p.Precision is not (Precision.Int8 or Precision.Int4)
                && !float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(p.Precision == Precision.Float32 ? p.AsSpan() : p.ToArray())))
                throw new ArgumentException($"Parameter '{p.Name}' holds a value that is not finite: {Kernels.Weights.Describe(precision)} hold finite weights only. Nothing was changed.", nameof(precision));
        }
        long held = 0;
        foreach (Parameter p in _items)
        {
            Precision own = precision != Precision.Float32 && p.HoldsOnlyWeights ? precision : Precision.Float32;
            // (4 bits take rows of whole groups, none spanning a column the model reads from; another weight takes 8 bits, a scale per row)
            if (own == Precision.Int4 && !p.TakesGroupsOf(groupSize)) own = Precision.Int8;
            p.HoldIn(own, groupSize);
            if (p.Precision != Precision.Float32) held += p.Length;
        }
        return held;
    }

    /// <summary>
    /// Refuses, before anything changes, a pass that needs every parameter in float32 (a training pass, an optimiser's step)
    /// while one is held in less for inference (<see cref="HoldWeightsIn"/>).
    /// </summary>
    public void RequireFloat32(string what)
    {
        foreach (Parameter p in _items)
            if (p.Precision != Precision.Float32)
                throw new InvalidOperationException($"{what} needs the parameters in float32, but '{p.Name}' is held in {Kernels.Weights.Describe(p.Precision)} (for inference): "
                    + "call Parameters.HoldWeightsIn(Precision.Float32) first. Nothing was changed.");
    }

    private static bool ShapeEquals(long[] a, ReadOnlySpan<int> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i]) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public IEnumerator<Parameter> GetEnumerator() => ((IEnumerable<Parameter>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
}
