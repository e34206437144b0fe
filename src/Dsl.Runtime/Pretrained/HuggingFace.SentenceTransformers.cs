using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics.Tensors;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// How a sentence-transformers model folder turns its encoder's outputs into a text's embedding: its <c>modules.json</c>'s
    /// Pooling module (the <c>config.json</c> in that module's folder: <c>pooling_mode_mean_tokens</c>,
    /// <c>pooling_mode_cls_token</c>, <c>pooling_mode_lasttoken</c> or <c>pooling_mode_max_tokens</c>), the Dense modules after it
    /// (sentence-t5's and GTR's projection, LaBSE's tanh layer: each folder's <c>config.json</c> — <c>in_features</c>,
    /// <c>out_features</c>, <c>bias</c>, <c>activation_function</c> — and its <c>model.safetensors</c>, <c>linear.weight</c> and
    /// <c>linear.bias</c>), and whether a Normalize module ends them. Apply it to the outputs of the model <see cref="LoadBert"/>
    /// (or <see cref="LoadT5Encoder"/>, …) loaded from the same folder: <c>pooling.Apply(hidden, lengths)</c>.
    /// </summary>
    /// <param name="folder">The model's folder (all-MiniLM-L6-v2's, bge's, e5's, sentence-t5's).</param>
    /// <exception cref="FileNotFoundException">The folder has no modules.json, or its Pooling or a Dense module no config.json.</exception>
    /// <exception cref="InvalidDataException">
    /// The modules are not read here: no Pooling module, a pooling mode other than one of those four (weighted mean, the mean over
    /// √length, several at once), a Dense module of another activation, of other sizes than its weights', or with its weights
    /// only in <c>pytorch_model.bin</c> (a pickle), a module before the Pooling one or after a Normalize, or of another kind, each named.
    /// </exception>
    public static SentencePooling LoadPooling(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string modulesFile = Path.Combine(folder, "modules.json");
        if (!File.Exists(modulesFile))
            throw new FileNotFoundException($"'{folder}' holds no modules.json (a sentence-transformers model's list of its modules).", modulesFile);
        JsonElement modules = Json(modulesFile);
        if (modules.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"'{modulesFile}': expected an array of modules, got {modules.ValueKind}.");
        string? poolingPath = null;
        bool normalize = false;
        var dense = new System.Collections.Generic.List<SentenceDense>();
        foreach (JsonElement module in modules.EnumerateArray())
        {
            string type = module.ValueKind == JsonValueKind.Object && module.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            string path = module.ValueKind == JsonValueKind.Object && module.TryGetProperty("path", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
            // (in the order sentence-transformers runs them: the encoder, the pooling, its Dense layers, the normalisation last)
            string? misplaced = type switch
            {
                "sentence_transformers.models.Pooling" when normalize || poolingPath is not null => "after the pooling and its normalisation",
                "sentence_transformers.models.Dense" when poolingPath is null => "before the Pooling module",
                "sentence_transformers.models.Dense" when normalize => "after the Normalize module",
                _ => null,
            };
            if (misplaced is not null) throw new InvalidDataException($"'{modulesFile}': module \"{type}\" at '{path}' stands {misplaced}; it is not applied there here.");
            switch (type)
            {
                case "sentence_transformers.models.Transformer": break; // (the encoder: LoadBert's)
                case "sentence_transformers.models.Pooling": poolingPath = path; break;
                case "sentence_transformers.models.Dense": dense.Add(SentenceDense.Load(Path.Combine(folder, path))); break;
                case "sentence_transformers.models.Normalize": normalize = true; break;
                default:
                    throw new InvalidDataException($"'{modulesFile}': module {(type.Length > 0 ? $"\"{type}\"" : Dsl.Text.Json.Short(module))} at '{path}' is not applied here (read: Transformer, Pooling, Dense, Normalize); its embeddings would differ.");
            }
        }
        if (poolingPath is null) throw new InvalidDataException($"'{modulesFile}': no sentence_transformers.models.Pooling module.");
        string configFile = Path.Combine(folder, poolingPath, "config.json");
        if (!File.Exists(configFile)) throw new FileNotFoundException($"The Pooling module's '{configFile}' is missing.", configFile);
        JsonElement config = Json(configFile);
        string[] modes = config.ValueKind == JsonValueKind.Object
            ? [.. config.EnumerateObject().Where(m => m.Name.StartsWith("pooling_mode_", StringComparison.Ordinal) && m.Value.ValueKind == JsonValueKind.True).Select(m => m.Name)]
            : [];
        PoolKind kind = modes switch
        {
            ["pooling_mode_mean_tokens"] => PoolKind.Mean,
            ["pooling_mode_cls_token"] => PoolKind.First,
            ["pooling_mode_lasttoken"] => PoolKind.Last,
            ["pooling_mode_max_tokens"] => PoolKind.Max,
            _ => throw new InvalidDataException($"'{configFile}': pooling {(modes.Length == 0 ? "by no mode" : string.Join(" and ", modes))}; read here: one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_lasttoken and pooling_mode_max_tokens."),
        };
        for (int i = 1; i < dense.Count; i++)
            if (dense[i].In != dense[i - 1].Out)
                throw new InvalidDataException($"'{modulesFile}': Dense module {i + 1} takes {dense[i].In} features, but the one before it gives {dense[i - 1].Out}.");
        return new SentencePooling(kind, normalize) { Dense = dense.ToArray() };
    }
}

/// <summary>
/// A sentence-transformers model's pooling (<see cref="HuggingFace.LoadPooling"/>): which vector of the encoder's outputs is a
/// text's embedding (<see cref="Kind"/>: the mean of its valid steps, its first, its last, their maximum), the <see cref="Dense"/>
/// layers that map it after, and whether it is normalised last.
/// </summary>
public sealed record SentencePooling(PoolKind Kind, bool Normalize)
{
    /// <summary>The Dense modules after the pooling, in order (sentence-t5's projection, LaBSE's tanh layer); none for most models.</summary>
    public IReadOnlyList<SentenceDense> Dense { get; init; } = [];

    /// <summary>
    /// The texts' embeddings [batch, out] from the encoder's outputs [batch, steps, width] over texts of the given lengths: pooled,
    /// through each Dense layer, then normalised.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not as wide as the first Dense layer takes (besides <see cref="Pooling"/>'s checks).</exception>
    public Tensor<float> Apply(Tensor<float> hidden, ReadOnlySpan<int> lengths)
    {
        bool last = Dense.Count == 0 && Normalize; // (normalised by the pooling itself where no Dense layer follows)
        Tensor<float> pooled = Kind switch
        {
            PoolKind.First => Pooling.First(hidden, last),
            PoolKind.Last => Pooling.Last(hidden, lengths, last),
            PoolKind.Max => Pooling.Max(hidden, lengths, last),
            _ => Pooling.Mean(hidden, lengths, last),
        };
        if (Dense.Count == 0) return pooled;
        int batch = (int)pooled.Lengths[0];
        float[] x = pooled.ToArray();
        foreach (SentenceDense d in Dense) x = d.Apply(x, batch);
        if (Normalize)
            for (int b = 0; b < batch; b++) Pooling.Normalize(x.AsSpan(b * Dense[^1].Out, Dense[^1].Out));
        return Tensor.Create(x, [batch, Dense[^1].Out]);
    }

    /// <summary>Equal when the kinds, the normalisation and the Dense layers (value for value, in order) are.</summary>
    public bool Equals(SentencePooling? other) => other is not null && Kind == other.Kind && Normalize == other.Normalize && Dense.SequenceEqual(other.Dense);

    /// <summary>A hash of the kind, the normalisation and the number of Dense layers.</summary>
    public override int GetHashCode() => HashCode.Combine(Kind, Normalize, Dense.Count);
}

/// <summary>
/// A sentence-transformers Dense module (<c>sentence_transformers.models.Dense</c>): y = act(x · Wᵀ + b), <see cref="Weight"/>
/// [<see cref="Out"/>, <see cref="In"/>] (<c>linear.weight</c>), <see cref="Bias"/> [Out] or none, <see cref="Activation"/> its
/// <c>activation_function</c> (Identity: <see cref="Dsl.Activation.None"/>).
/// </summary>
public sealed class SentenceDense
{
    private readonly float[] _weight;
    private readonly float[]? _bias;

    /// <summary>A layer of <paramref name="inFeatures"/> in and <paramref name="outFeatures"/> out (the values copied); an empty <paramref name="bias"/> for none.</summary>
    /// <exception cref="ArgumentException">The sizes are not 1 or more, the weight not [out, in], the bias not [out], or the activation not one a Dense module names.</exception>
    public SentenceDense(int inFeatures, int outFeatures, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Activation activation)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"SentenceDense: {inFeatures} features in and {outFeatures} out; each 1 or more.");
        if (weight.Length != inFeatures * outFeatures) throw new ArgumentException($"SentenceDense: the weight [{outFeatures}, {inFeatures}] holds {inFeatures * outFeatures} values, got {weight.Length}.", nameof(weight));
        if (!bias.IsEmpty && bias.Length != outFeatures) throw new ArgumentException($"SentenceDense: the bias holds {outFeatures} values, got {bias.Length}.", nameof(bias));
        if (activation is not (Activation.None or Activation.Tanh or Activation.Relu or Activation.Sigmoid or Activation.Gelu or Activation.Silu))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "SentenceDense: the activation is None, Tanh, Relu, Sigmoid, Gelu or Silu.");
        In = inFeatures;
        Out = outFeatures;
        Activation = activation;
        _weight = weight.ToArray();
        _bias = bias.IsEmpty ? null : bias.ToArray();
    }

    /// <summary>The features it takes (<c>in_features</c>).</summary>
    public int In { get; }

    /// <summary>The features it gives (<c>out_features</c>).</summary>
    public int Out { get; }

    /// <summary>Its activation (<c>activation_function</c>; None for Identity).</summary>
    public Activation Activation { get; }

    /// <summary>linear.weight [Out, In], row by row.</summary>
    public ReadOnlySpan<float> Weight => _weight;

    /// <summary>linear.bias [Out]; empty without one.</summary>
    public ReadOnlySpan<float> Bias => _bias;

    /// <summary>The layer over <paramref name="batch"/> rows of <paramref name="x"/> [batch, In]: [batch, Out].</summary>
    /// <exception cref="ArgumentException">The rows are not In wide.</exception>
    public float[] Apply(ReadOnlySpan<float> x, int batch)
    {
        if (x.Length != batch * In) throw new ArgumentException($"SentenceDense: expected {batch} rows of {In} features ({batch * In} values), got {x.Length} values.", nameof(x));
        var y = new float[batch * Out];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> row = x.Slice(b * In, In);
            Span<float> o = y.AsSpan(b * Out, Out);
            for (int j = 0; j < Out; j++) o[j] = TensorPrimitives.Dot(row, _weight.AsSpan(j * In, In)) + (_bias?[j] ?? 0f);
        }
        Kernels.Activations.Apply(Activation, y);
        return y;
    }

    /// <summary>Equal when the sizes, the activation, the weights and the biases are, value for value.</summary>
    public override bool Equals(object? obj) => obj is SentenceDense d && In == d.In && Out == d.Out && Activation == d.Activation
        && _weight.AsSpan().SequenceEqual(d._weight) && Bias.SequenceEqual(d.Bias) && (_bias is null) == (d._bias is null);

    /// <summary>A hash of the sizes and the activation.</summary>
    public override int GetHashCode() => HashCode.Combine(In, Out, Activation);

    /// <summary>The activation a Dense module's <c>activation_function</c> names (torch's class path; its last part), or null for one not read here.</summary>
    private static Activation? ActivationOf(string name) => name[(name.LastIndexOf('.') + 1)..] switch
    {
        "Identity" => Activation.None,
        "Tanh" => Activation.Tanh,
        "ReLU" => Activation.Relu,
        "Sigmoid" => Activation.Sigmoid,
        "GELU" => Activation.Gelu,
        "SiLU" => Activation.Silu,
        _ => null,
    };

    /// <summary>A Dense module's folder: its config.json and model.safetensors, checked against each other.</summary>
    internal static SentenceDense Load(string folder)
    {
        string configFile = Path.Combine(folder, "config.json"), weights = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(configFile)) throw new FileNotFoundException($"The Dense module's '{configFile}' is missing.", configFile);
        JsonElement c = JsonDocument.Parse(File.ReadAllBytes(configFile)).RootElement;
        int Size(string key) => c.ValueKind == JsonValueKind.Object && c.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n > 0 ? n
            : throw new InvalidDataException($"'{configFile}': expected {key} as a whole number of features 1 or more.");
        int inFeatures = Size("in_features"), outFeatures = Size("out_features");
        bool bias = !(c.TryGetProperty("bias", out JsonElement hasBias) && hasBias.ValueKind == JsonValueKind.False);
        string act = c.TryGetProperty("activation_function", out JsonElement a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "torch.nn.modules.activation.Tanh";
        Activation activation = ActivationOf(act) ?? throw new InvalidDataException($"'{configFile}': activation_function \"{act}\" is not applied here (read: Identity, Tanh, ReLU, Sigmoid, GELU, SiLU).");
        if (!File.Exists(weights))
            throw new FileNotFoundException(File.Exists(Path.Combine(folder, "pytorch_model.bin"))
                ? $"'{folder}' holds the Dense module's weights as pytorch_model.bin (a pickle, not read here); save them as model.safetensors (sentence-transformers 3 does)."
                : $"The Dense module's '{weights}' is missing.", weights);
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(weights);
        float[] Tensor(string name, long[] shape) => tensors.TryGetValue(name, out SafeTensor? t) && t.Shape.SequenceEqual(shape) && t.IsFloatingPoint
            ? t.ToFloat()
            : throw new InvalidDataException($"'{weights}': expected '{name}' of shape {Shapes.Format<long>(shape)} (in_features {inFeatures}, out_features {outFeatures}), got {(t is null ? "none" : $"{Shapes.Format<long>(t.Shape)} ({t.DType})")}.");
        float[] w = Tensor("linear.weight", [outFeatures, inFeatures]);
        float[] b = bias ? Tensor("linear.bias", [outFeatures]) : [];
        foreach (string extra in tensors.Keys.Where(k => k != "linear.weight" && !(bias && k == "linear.bias")).Take(1))
            throw new InvalidDataException($"'{weights}': unexpected tensor '{extra}' (a Dense module holds linear.weight{(bias ? " and linear.bias" : "")}).");
        return new SentenceDense(inFeatures, outFeatures, w, b, activation);
    }
}
