using System;
using System.Numerics.Tensors;
using System.Threading;
using Dsl.Kernels;

namespace Dsl;

/// <summary>How a parameter's values are held (<see cref="Parameter.Precision"/>).</summary>
public enum Precision
{
    /// <summary>32-bit floats: what training, optimisers and devices take.</summary>
    Float32,

    /// <summary>bfloat16 (PyTorch's <c>torch.bfloat16</c>), half the memory, for inference: the kernels widen the values as they read them.</summary>
    BFloat16,

    /// <summary>
    /// 8-bit integers with one float scale per row (per output channel: PyTorch's per-channel symmetric <c>qint8</c>,
    /// <see cref="Kernels.Int8"/>), a quarter of the memory, for inference: the kernels widen the values as they read them and
    /// apply their rows' scales, computing what float32 weights of the values they stand for would, up to rounding.
    /// </summary>
    Int8,

    /// <summary>
    /// 4-bit integers with one float scale per group of consecutive values along a row (block-wise symmetric: ONNX Runtime's
    /// <c>MatMulNBits</c> without zero points, llama.cpp's <c>Q4_0</c>; <see cref="Kernels.Int4"/>), an eighth of the memory and a
    /// scale a group, for inference: the kernels widen the values as they read them and apply their groups' scales.
    /// </summary>
    Int4,
}

/// <summary>
/// One named, trainable tensor of a model and the gradient accumulated for it.
/// Names and layouts are PyTorch's <c>state_dict</c> ones (<c>lstm.weight_ih_l0</c>, [4H, X]).
/// </summary>
public sealed class Parameter
{
    private readonly int _length;
    private readonly int[] _shape;
    // shared by every name of the same tensor (WithName); not readonly: an encoder–decoder that shares an embedding points its
    // decoder's table at the encoder's (ShareStorageOf)
    private Home _home;

    /// <summary>
    /// The tensor, shared by the views <see cref="WithName"/> makes: its values (floats, or bfloat16, 8- or 4-bit values when held in
    /// less memory: <see cref="HoldIn"/>), its device copy, and its gradient, taken the first time it is asked for — a model only
    /// ever run forward (a loaded checkpoint generating text) holds its values alone, half the memory.
    /// </summary>
    private sealed class Home
    {
        public Values? Floats; // null while held in less than float32
        public HeldValues? Held; // the values when held so
        public bool WeightsOnly; // every model reading the tensor reads it only as weights (HoldsOnlyWeights)
        public int ReadFrom; // a column within its rows the models also read it from (ReadFromColumn; of two models', their gcd)
        public ParameterMirror? Mirror;
        public Gradient? Grad; // null until first asked for
    }

    /// <summary>Float values: pinned, from <see cref="Origin"/> on a 64-byte boundary (Kernels.Aligned), and their tensor view.</summary>
    private sealed record Values(float[] Floats, int Origin, Tensor<float> Tensor);

    /// <summary>A gradient's pinned floats (from <see cref="Origin"/>, on a 64-byte boundary) and its tensor view.</summary>
    private sealed record Gradient(float[] Floats, int Origin, Tensor<float> Tensor);

    /// <summary>Creates a zero parameter of the given shape.</summary>
    public Parameter(string name, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        // (a scalar is [1]: a tensor of no dimensions would hold nothing, where the span holds one float)
        if (shape.Length == 0) throw new ArgumentException($"Parameter '{name}': expected at least one dimension (a scalar is [1]), got none.", nameof(shape));
        // (an array holds the values and up to 15 floats before the first cache line: Aligned.Floats)
        long most = Aligned.MostFloats;
        long length = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Parameter '{name}': every dimension must be positive, got {Shapes.Format(shape)}.", nameof(shape));
            length *= d; // at most most · int.MaxValue < 2⁶³: checked before it could wrap round
            if (length > most)
                throw new ArgumentException($"Parameter '{name}' with shape {Shapes.Format(shape)} is too large: one array holds at most {most} values.", nameof(shape));
        }
        Name = name;
        _shape = (int[])shape.Clone();
        _length = (int)length;
        _home = new Home { Floats = NewValues() };
    }

    /// <summary>
    /// Zero float values of this shape, on cache lines as the workspaces are: a decoding step reads the weights where they lie,
    /// and a 64-byte read from an array's own start (wherever the GC put it, 8 bytes apart) would straddle two lines.
    /// </summary>
    private Values NewValues()
    {
        float[] floats = Aligned.Floats(_length, null, out int origin);
        return new Values(floats, origin, View(floats, origin, _shape));
    }

    /// <summary>A row-major tensor of <paramref name="shape"/> over <paramref name="floats"/> from <paramref name="origin"/> on.</summary>
    private static Tensor<float> View(float[] floats, int origin, int[] shape)
    {
        var lengths = new nint[shape.Length];
        for (int i = 0; i < shape.Length; i++) lengths[i] = shape[i];
        // row-major strides, which the library works out (given explicitly, System.Numerics.Tensors 11 refused a shape with a
        // dimension of 1, [1] or [1, 4], starting past the array's first element)
        return Tensor.Create(floats, origin, lengths, strides: []);
    }

    /// <summary>
    /// The gradient, made (zero) the first time any name of this tensor asks; once made, read without a lock. Two threads asking
    /// at once get the same one.
    /// </summary>
    private Gradient TheGradient()
    {
        Gradient? grad = Volatile.Read(ref _home.Grad);
        if (grad is not null) return grad;
        if (_home.Floats is null) throw HeldIn("it has no gradient");
        lock (_home)
        {
            if (_home.Grad is null)
            {
                float[] floats = Aligned.Floats(_length, null, out int origin);
                Volatile.Write(ref _home.Grad, new Gradient(floats, origin, View(floats, origin, _shape)));
            }
            return _home.Grad!;
        }
    }

    private Parameter(string name, Parameter storage)
    {
        Name = name;
        _shape = storage._shape;
        _length = storage._length;
        _home = storage._home;
    }

    /// <summary>
    /// Makes this parameter <paramref name="source"/>'s tensor from now on — its values, its gradient and its device copy —
    /// keeping its own name: how an encoder–decoder with <c>ShareEmbedding</c> gives its decoder the encoder's table, after
    /// both parts are built and before either runs. Its own values are dropped.
    /// </summary>
    internal void ShareStorageOf(Parameter source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!_shape.AsSpan().SequenceEqual(source._shape))
            throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} cannot share the tensor of '{source.Name}' {Shapes.Format(source._shape)}: the shapes differ.", nameof(source));
        if (_home.Mirror is not null || source._home.Mirror is not null)
            throw new InvalidOperationException($"Parameters '{Name}' and '{source.Name}' share a tensor only on the host, before either moves to a device.");
        if (Precision != Precision.Float32 || source.Precision != Precision.Float32)
            throw new InvalidOperationException($"Parameters '{Name}' and '{source.Name}' share a tensor only in float32, before either is held in less (Parameters.HoldWeightsIn).");
        // the shared tensor is read only as weights when both models read it so (a decoder's recurrent layer folds its table: floats)
        (bool mine, int from) = (_home.WeightsOnly, _home.ReadFrom);
        _home = source._home;
        _home.WeightsOnly &= mine;
        _home.ReadFrom = (int)System.Numerics.BigInteger.GreatestCommonDivisor(_home.ReadFrom, from); // (a group divides both cuts where it divides this)
    }

    /// <summary>The same tensor (values and gradient shared) under another name: how a composed model prefixes its parts' names.</summary>
    public Parameter WithName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new Parameter(name, this);
    }

    /// <summary>The <c>state_dict</c> name, e.g. <c>lstm.weight_hh_l0_reverse</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// The values; a view over the same memory the model computes with. For a model moved to a device (Dsl.Gpu), reading
    /// it copies the device's values back first (and the device takes the host's copy before it next computes).
    /// </summary>
    public Tensor<float> Value
    {
        get
        {
            _home.Mirror?.HostAccess(grad: false);
            return FloatValues().Tensor;
        }
    }

    /// <summary>The float values, or a clear error when the tensor is held in less.</summary>
    private Values FloatValues() => _home.Floats ?? throw HeldIn("its float values are not kept");

    private InvalidOperationException HeldIn(string what) =>
        new($"Parameter '{Name}' is held in {Weights.Describe(Precision)} (Precision.{Precision}, for inference): {what}. Read it with CopyTo or ToArray, assign it with "
            + "CopyFrom, and hold the model's weights in float32 again (Parameters.HoldWeightsIn(Precision.Float32)) to train it, step an optimiser over it or move it to a device.");

    /// <summary>
    /// How the values are held: <see cref="Precision.Float32"/>, or for inference <see cref="Precision.BFloat16"/> (half the memory)
    /// or <see cref="Precision.Int8"/> (a quarter, and a scale per row) or <see cref="Precision.Int4"/> (an eighth, and a scale per
    /// group of <see cref="GroupSize"/>): <see cref="ParameterSet.HoldWeightsIn(Precision, int)"/>. Computing with
    /// such weights widens them as they are read; the sums stay float.
    /// </summary>
    public Precision Precision => _home.Held?.Precision ?? Precision.Float32;

    /// <summary>Values per scale of a parameter held in 4-bit integers (<see cref="Precision.Int4"/>); 0 for others.</summary>
    public int GroupSize => _home.Held?.Weights.GroupSize ?? 0;

    /// <summary>
    /// Whether the model this parameter belongs to reads it, when it runs forward, only as weights a kernel widens from bfloat16,
    /// 8- or 4-bit integers (a matrix multiplied as Wᵀ, an embedding table gathered): what its generated code says, and what lets
    /// <see cref="ParameterSet.HoldWeightsIn"/> hold it so. A tensor two models share (an encoder–decoder's table) is
    /// read only as weights when both read it so. False for a parameter made by hand.
    /// </summary>
    public bool HoldsOnlyWeights
    {
        get => _home.WeightsOnly;
        init => _home.WeightsOnly = value;
    }

    /// <summary>
    /// A column within each row from which the model's forward pass also reads this weight on its own (input feeding's W_ih: its
    /// fed context's columns, after the input's), 0 for none: what the generated code says. A group of 4-bit values never spans
    /// it — <see cref="ParameterSet.HoldWeightsIn"/> holds the weight in 8 bits where the groups asked for would.
    /// </summary>
    public int ReadFromColumn
    {
        get => _home.ReadFrom;
        init => _home.ReadFrom = value;
    }

    /// <summary>
    /// The values as a kernel that takes <see cref="Weights"/> reads them: floats, bfloat16 bits, 8-bit integers in rows of the
    /// last dimension with a scale each, or 4-bit integers in groups along them with a scale each (synchronised from a device as
    /// <see cref="AsSpan"/>).
    /// </summary>
    public Weights Weights
    {
        get
        {
            if (_home.Held is { } held) return held.Weights;
            _home.Mirror?.HostAccess(grad: false);
            return HostValues;
        }
    }

    /// <summary>
    /// Holds the values in <paramref name="precision"/>: bfloat16 rounds each to the nearest (ties to even, as PyTorch's
    /// <c>.to(torch.bfloat16)</c>), 8-bit integers quantize each row of the last dimension with its own scale (PyTorch's per-channel
    /// symmetric <c>qint8</c>: <see cref="Kernels.Int8"/>), 4-bit integers each group of <paramref name="groupSize"/> values with its
    /// own scale (<see cref="Kernels.Int4"/>; the rows must be whole groups), and all drop the floats and any gradient; float32 widens them back (exact
    /// for bfloat16; for 8- and 4-bit values, the floats they stand for). Every name of the tensor sees it. Only on the host, and only
    /// for a tensor the model reads as weights alone (<see cref="HoldsOnlyWeights"/>): <see cref="ParameterSet.HoldWeightsIn(Precision, int)"/> decides which.
    /// </summary>
    internal void HoldIn(Precision precision, int groupSize = Kernels.Int4.DefaultGroupSize)
    {
        if (precision is not (Precision.Float32 or Precision.BFloat16 or Precision.Int8 or Precision.Int4))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Precision.Float32, Precision.BFloat16, Precision.Int8 or Precision.Int4.");
        if (precision == Precision.Int4 && !TakesGroupsOf(groupSize))
            throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} is not held in 4 bits in groups of {groupSize}: its rows of {RowLength}{(ReadFromColumn != 0 ? $", read from column {ReadFromColumn} too," : "")} are not whole groups of 32, 64, 128 or 256.", nameof(groupSize));
        bool same() => precision == Precision && (precision != Precision.Int4 || groupSize == GroupSize);
        if (same()) return; // (a model on a device asked for float32: as it is)
        if (_home.Mirror is not null)
            throw new InvalidOperationException($"Parameter '{Name}' lives on a device: a model is held in {Weights.Describe(precision)} on the host, before it moves to one.");
        lock (_home)
        {
            if (same()) return; // (decided under the lock: two threads holding one tensor convert it once)
            if (precision == Precision.Float32)
            {
                Values values = NewValues();
                _home.Held!.CopyTo(values.Floats.AsSpan(values.Origin, _length));
                (_home.Floats, _home.Held) = (values, null);
                return;
            }
            HeldValues held;
            if (_home.Held is { } from)
            {
                // from one held precision to the other: through the floats the values stand for
                float[] floats = new float[_length];
                from.CopyTo(floats);
                held = HeldValues.Of(precision, floats, RowLength, groupSize);
            }
            else held = HeldValues.Of(precision, HostValues, RowLength, groupSize);
            (_home.Held, _home.Floats, _home.Grad) = (held, null, null);
        }
    }

    /// <summary>
    /// Whether 4-bit values in groups of <paramref name="groupSize"/> fit this tensor: its rows whole groups of a size 4 bits
    /// take, none spanning the column the model also reads from (<see cref="ReadFromColumn"/>).
    /// </summary>
    internal bool TakesGroupsOf(int groupSize) =>
        Kernels.Int4.IsGroupSize(groupSize) && RowLength > 0 && RowLength % groupSize == 0 && ReadFromColumn % groupSize == 0;

    /// <summary>Values per row of the last dimension (8-bit values take a scale per row).</summary>
    internal int RowLength => _shape[^1];

    /// <summary>Copies the values (widened, when held in less than float32) into <paramref name="destination"/>, which holds <see cref="Length"/> or more.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length < _length) throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} holds {_length} values; the destination has room for {destination.Length}.", nameof(destination));
        if (_home.Held is { } held) held.CopyTo(destination);
        else AsSpan().CopyTo(destination);
    }

    /// <summary>The values as a new array (widened, when held in less than float32).</summary>
    public float[] ToArray()
    {
        var values = new float[_length];
        CopyTo(values);
        return values;
    }

    /// <summary>
    /// Sets the values from values held as they will be (<see cref="HeldValues.Of"/>, made for this parameter and not used
    /// elsewhere): they become this tensor's own when it is held so (loading stages them: no copy), else they are widened into it.
    /// </summary>
    internal void CopyHeldFrom(HeldValues values)
    {
        if (values.Length != _length) throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} holds {_length} values, got {values.Length}.", nameof(values));
        if (_home.Held is { } held && held.Precision == values.Precision && held.Weights.GroupSize == values.Weights.GroupSize)
            lock (_home)
                _home.Held = values;
        else
        {
            float[] floats = new float[_length];
            values.CopyTo(floats);
            CopyFrom(floats);
        }
    }

    /// <summary>
    /// Sets the values from <paramref name="source"/> (exactly <see cref="Length"/> of them), rounded or quantized when held in less
    /// than float32 (8-bit: each row's scale made anew from its values).
    /// </summary>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        if (source.Length != _length) throw new ArgumentException($"Parameter '{Name}' {Shapes.Format(_shape)} holds {_length} values, got {source.Length}.", nameof(source));
        if (_home.Held is { Precision: Precision.Int8 or Precision.Int4 } && !float.IsFinite(TensorPrimitives.MaxMagnitude(source)))
            throw new ArgumentException($"Parameter '{Name}' is held in {Weights.Describe(Precision)}, which hold finite values only; the values given hold one that is not. Nothing was changed.", nameof(source));
        if (_home.Held is { } held) held.CopyFrom(source);
        else source.CopyTo(AsSpan());
    }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/> (synchronised as <see cref="Value"/> is).</summary>
    public Tensor<float> Grad
    {
        get
        {
            _home.Mirror?.HostAccess(grad: true);
            return TheGradient().Tensor;
        }
    }

    /// <summary>The device copy of this tensor, when its model was moved to a device; null on the host.</summary>
    internal ParameterMirror? Mirror
    {
        get => _home.Mirror;
        set => _home.Mirror = value;
    }

    /// <summary>The host's values without synchronising (what a device mirror copies to and from).</summary>
    internal Span<float> HostValues
    {
        get
        {
            Values values = FloatValues();
            return values.Floats.AsSpan(values.Origin, _length);
        }
    }

    /// <summary>The host's gradient without synchronising.</summary>
    internal Span<float> HostGradient
    {
        get
        {
            Gradient grad = TheGradient();
            return grad.Floats.AsSpan(grad.Origin, _length);
        }
    }

    /// <summary>
    /// Whether the host's copy of this tensor's gradient has been made: false until a backward pass on the host, an optimiser or a
    /// read of <see cref="Grad"/> asks for it (a model only run forward never makes it; a model on a device accumulates into the
    /// device's copy, and the host's is made when <see cref="Grad"/> brings it back).
    /// </summary>
    public bool HasGradient => Volatile.Read(ref _home.Grad) is not null;

    /// <summary>
    /// The values (synchronised from a device as <see cref="AsSpan"/>) as memory that may be kept a while: what the ONNX
    /// exporter writes a weight from without copying it.
    /// </summary>
    internal ReadOnlyMemory<float> AsMemory()
    {
        if (_home.Held is not null) return ToArray(); // (widened: a copy)
        _home.Mirror?.HostAccess(grad: false);
        Values values = FloatValues();
        return new ReadOnlyMemory<float>(values.Floats, values.Origin, _length);
    }

    /// <summary>What the tensor is, whatever its name: the same object for every name of one tensor (<see cref="WithName"/>).</summary>
    internal object Storage => _home;

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of elements.</summary>
    public int Length => _length;

    /// <summary>
    /// The values as a flat, row-major span (synchronised from a device as <see cref="Value"/> is); only while they are held in
    /// float32 (<see cref="CopyTo"/> and <see cref="CopyFrom"/> take any precision).
    /// </summary>
    public Span<float> AsSpan()
    {
        _home.Mirror?.HostAccess(grad: false);
        return HostValues;
    }

    /// <summary>The gradient as a flat, row-major span (synchronised from a device as <see cref="Grad"/> is).</summary>
    public Span<float> GradAsSpan()
    {
        _home.Mirror?.HostAccess(grad: true);
        return HostGradient;
    }

    /// <summary>Sets the gradient to zero (on the device too, where the model lives on one); one not made yet stays unmade.</summary>
    public void ZeroGrad()
    {
        if (HasGradient) HostGradient.Clear();
        _home.Mirror?.ZeroGrad();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shapes.Format(_shape)}";
}
