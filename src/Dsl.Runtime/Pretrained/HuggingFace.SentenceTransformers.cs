using System;
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
    /// <c>pooling_mode_cls_token</c>, <c>pooling_mode_lasttoken</c> or <c>pooling_mode_max_tokens</c>) and whether a Normalize module follows it. Apply it to
    /// the outputs of the model <see cref="LoadBert"/> loaded from the same folder: <c>pooling.Apply(hidden, lengths)</c>.
    /// </summary>
    /// <param name="folder">The model's folder (all-MiniLM-L6-v2's, bge's, e5's).</param>
    /// <exception cref="FileNotFoundException">The folder has no modules.json, or its Pooling module no config.json.</exception>
    /// <exception cref="InvalidDataException">
    /// The modules are not read here: no Pooling module, a pooling mode other than one of those three (max, weighted mean, the
    /// mean over √length, several at once), or a module after the encoder that changes the embedding (a Dense), each named.
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
        foreach (JsonElement module in modules.EnumerateArray())
        {
            string type = module.ValueKind == JsonValueKind.Object && module.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            string path = module.ValueKind == JsonValueKind.Object && module.TryGetProperty("path", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
            switch (type)
            {
                case "sentence_transformers.models.Transformer": break; // (the encoder: LoadBert's)
                case "sentence_transformers.models.Pooling": poolingPath = path; break;
                case "sentence_transformers.models.Normalize": normalize = true; break;
                default:
                    throw new InvalidDataException($"'{modulesFile}': module {(type.Length > 0 ? $"\"{type}\"" : Dsl.Text.Json.Short(module))} at '{path}' is not applied here (read: Transformer, Pooling, Normalize); its embeddings would differ.");
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
        return new SentencePooling(kind, normalize);
    }
}

/// <summary>
/// A sentence-transformers model's pooling (<see cref="HuggingFace.LoadPooling"/>): which vector of the encoder's outputs is a
/// text's embedding (<see cref="Kind"/>: the mean of its valid steps, its first, its last, their maximum) and whether it is normalised.
/// </summary>
public sealed record SentencePooling(PoolKind Kind, bool Normalize)
{
    /// <summary>The texts' embeddings [batch, width] from the encoder's outputs [batch, steps, width] over texts of the given lengths.</summary>
    public Tensor<float> Apply(Tensor<float> hidden, ReadOnlySpan<int> lengths) => Kind switch
    {
        PoolKind.First => Pooling.First(hidden, Normalize),
        PoolKind.Last => Pooling.Last(hidden, lengths, Normalize),
        PoolKind.Max => Pooling.Max(hidden, lengths, Normalize),
        _ => Pooling.Mean(hidden, lengths, Normalize),
    };
}
