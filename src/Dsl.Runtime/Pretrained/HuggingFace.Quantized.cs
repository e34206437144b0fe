using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

// A checkpoint quantized by compressed-tensors (llm-compressor's W8A16, W8A8 and W4A16 recipes: config.json's
// quantization_config): its integer weights read with their scales; every other quantization refused by name, the configuration before any
// tensor's header is read.
public static partial class HuggingFace
{
    /// <summary>The tensor names that carry a quantized weight's parts beside it (<c>{module}.weight_…</c>).</summary>
    private const string ScaleSuffix = ".weight_scale", ZeroPointSuffix = ".weight_zero_point", PackedSuffix = ".weight_packed", ShapeSuffix = ".weight_shape";

    /// <summary>
    /// What config.json's <c>quantization_config</c> (or the older <c>compression_config</c>) says of the weights: null where
    /// nothing is quantized (no such key, or compressed-tensors without <c>config_groups</c>: sparsity alone, a dense
    /// checkpoint); else compressed-tensors' symmetric 8- or 4-bit integer weights, <c>int-quantized</c> (I8) or
    /// <c>pack-quantized</c> (four or eight to an int32), with a scale per output channel, per group of columns or per tensor, activations unquantized (W8A16) or
    /// quantized per token as they run (W8A8's dynamic activations, which run here in float32: weight-only, as W8A16). Anything
    /// else is refused, every difference named: another <c>quant_method</c>, floating-point weights, blocks, static activation scales, a quantized key/value cache, rotations.
    /// </summary>
    private static WeightQuantization? CheckedQuantization(JsonElement config, string path)
    {
        if (config.ValueKind != JsonValueKind.Object) return null;
        string key = config.TryGetProperty("quantization_config", out _) ? "quantization_config" : "compression_config";
        if (Value(config, key) is not { } q) return null;
        var problems = new List<string>();
        WeightQuantization? weights = CheckQuantization(q, key, problems);
        if (problems.Count > 0) throw new InvalidDataException($"Cannot load '{path}': {string.Join("; ", problems)}. Nothing was loaded.");
        return weights;
    }

    /// <summary>
    /// <paramref name="config"/> (a saver's config.json) with the <c>quantization_config</c> of a checkpoint whose
    /// <see cref="CheckpointTensor.Quantized"/> weights are 8-bit integers with a scale per output channel: compressed-tensors'
    /// <c>int-quantized</c> format, its one group's symmetric 8-bit integer weights targeting <c>Linear</c> layers, activations
    /// unquantized (W8A16), as llm-compressor writes it. <c>ignore</c> names the layers whose weight matrices are written as
    /// floats, and <c>lm_head</c> unless its weight is quantized (a head tied to the token table, as llm-compressor's recipes
    /// leave it); a table of embeddings is no Linear layer, and stays floats unnamed.
    /// </summary>
    private static byte[] QuantizationConfig(byte[] config, IReadOnlyList<CheckpointTensor> tensors)
    {
        var ignore = new SortedSet<string>(StringComparer.Ordinal);
        foreach (CheckpointTensor t in tensors)
            if (t.Matrix && !t.Quantized) ignore.Add(t.Name[..^".weight".Length]);
        if (!tensors.Any(t => t.Quantized && t.Name == "lm_head.weight")) ignore.Add("lm_head");
        using JsonDocument document = JsonDocument.Parse(config);
        return ConfigJson(w =>
        {
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
                if (property.Name is not ("quantization_config" or "compression_config")) property.WriteTo(w);
            w.WriteStartObject("quantization_config");
            w.WriteStartObject("config_groups");
            w.WriteStartObject("group_0");
            w.WriteNull("input_activations");
            w.WriteNull("output_activations");
            w.WriteStartArray("targets");
            w.WriteStringValue("Linear");
            w.WriteEndArray();
            w.WriteStartObject("weights");
            w.WriteNull("actorder");
            w.WriteNull("block_structure");
            w.WriteBoolean("dynamic", false);
            w.WriteNull("group_size");
            w.WriteNumber("num_bits", 8);
            w.WriteString("observer", "minmax");
            w.WriteStartObject("observer_kwargs");
            w.WriteEndObject();
            w.WriteString("strategy", "channel");
            w.WriteBoolean("symmetric", true);
            w.WriteString("type", "int");
            w.WriteEndObject(); // weights
            w.WriteEndObject(); // group_0
            w.WriteEndObject(); // config_groups
            w.WriteString("format", "int-quantized");
            w.WriteNull("global_compression_ratio");
            w.WriteStartArray("ignore");
            foreach (string layer in ignore) w.WriteStringValue(layer);
            w.WriteEndArray();
            w.WriteNull("kv_cache_scheme");
            w.WriteString("quant_method", "compressed-tensors");
            w.WriteString("quantization_status", "compressed");
            w.WriteEndObject();
        });
    }

    /// <summary>What a quantization config's groups say of the weights: the bits of their integers and the columns each scale covers where they are in groups.</summary>
    private sealed record WeightQuantization(HashSet<int> Bits, HashSet<int> GroupSizes)
    {
        public string Shown(IEnumerable<int> values) => string.Join(" or ", values.Order());
    }

    private const string ReadFormats = "Dsl reads compressed-tensors' integer weights (llm-compressor's W8A16, W8A8 or W4A16: quant_method \"compressed-tensors\", "
        + "format \"pack-quantized\" or \"int-quantized\", num_bits 8 or 4, symmetric)";

    /// <summary>Checks a quantization config (see <see cref="CheckedQuantization"/>); returns what it says of the weights, or null where it quantizes nothing.</summary>
    private static WeightQuantization? CheckQuantization(JsonElement q, string key, List<string> problems)
    {
        if (q.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{key} is {q.ValueKind}, not an object: {ReadFormats}");
            return null;
        }
        if (Lower(q, "quant_method") != "compressed-tensors")
        {
            problems.Add($"{key}.quant_method is {Shown(q, "quant_method")}: {ReadFormats}");
            return null;
        }
        string? format = Lower(q, "format");
        if (Value(q, "sparsity_config") is { ValueKind: JsonValueKind.Object } sparsity && Lower(sparsity, "format") is { } sparse && sparse != "dense")
            problems.Add($"{key}.sparsity_config.format is \"{sparse}\": sparse checkpoints are not read");
        if (Value(q, "kv_cache_scheme") is not null) problems.Add($"{key}.kv_cache_scheme quantizes the key/value cache, which is not built");
        if (Value(q, "transform_config") is { ValueKind: JsonValueKind.Object } transforms && transforms.EnumerateObject().Any())
            problems.Add($"{key}.transform_config rotates the weights and activations (QuIP, SpinQuant), which is not built");
        if (Value(q, "config_groups") is not { } groups) return null; // (sparsity alone, or nothing: the weights are floats)
        if (groups.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{key}.config_groups is {groups.ValueKind}, not an object of groups");
            return null;
        }
        var weights = new WeightQuantization([], []);
        foreach (JsonProperty group in groups.EnumerateObject())
        {
            string where = $"{key}.config_groups.{group.Name}";
            if (group.Value.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{where} is {group.Value.ValueKind}, not an object");
                continue;
            }
            // "mixed-precision": each group says its own
            string? groupFormat = format == "mixed-precision" ? Lower(group.Value, "format") : format;
            if (groupFormat is not ("int-quantized" or "naive-quantized" or "pack-quantized"))
                problems.Add($"{(format == "mixed-precision" ? where : key)}.format is \"{groupFormat ?? "absent"}\"{groupFormat switch { "float-quantized" => " (8-bit floating-point weights)", "nvfp4-pack-quantized" or "mxfp4-pack-quantized" => " (4-bit floating-point weights)", "dense" => " (weights stored as floats beside their scales)", _ => "" }}: {ReadFormats}");
            CheckWeights(group.Value, where, problems, weights);
            if (Value(group.Value, "input_activations") is { } input)
            {
                if (input.ValueKind != JsonValueKind.Object) problems.Add($"{where}.input_activations is {input.ValueKind}, not an object");
                else if (Value(input, "dynamic") is not { ValueKind: JsonValueKind.True })
                    problems.Add($"{where}.input_activations.dynamic is {Shown(input, "dynamic")}: activations with scales of their own (static activation quantization) are not built; "
                        + "only activations quantized per token as they run (\"dynamic\": true) are read, and run in float32");
            }
            if (Value(group.Value, "output_activations") is not null) problems.Add($"{where}.output_activations quantizes outputs, which is not built");
        }
        return weights;
    }

    /// <summary>A group's weights as compressed-tensors' <c>QuantizationArgs</c> reads them (its defaults: 8 bits, integers, symmetric; "tensor" without a group size).</summary>
    private static void CheckWeights(JsonElement group, string where, List<string> problems, WeightQuantization weights)
    {
        if (Value(group, "weights") is not { ValueKind: JsonValueKind.Object } w)
        {
            problems.Add($"{where} has no weights object");
            return;
        }
        if (Value(w, "num_bits") is { } bits && !(bits.ValueKind == JsonValueKind.Number && bits.GetDouble() is 8 or 4))
            problems.Add($"{where}.weights.num_bits is {bits.GetRawText()}: 8 or 4 expected");
        else weights.Bits.Add(Value(w, "num_bits") is { } n ? (int)n.GetDouble() : 8);
        if (Value(w, "type") is { } type && !(type.ValueKind == JsonValueKind.String && type.GetString()!.Equals("int", StringComparison.OrdinalIgnoreCase)))
            problems.Add($"{where}.weights.type is {type.GetRawText()}: \"int\" expected");
        if (Value(w, "symmetric") is { } symmetric && symmetric.ValueKind != JsonValueKind.True)
            problems.Add($"{where}.weights.symmetric is {symmetric.GetRawText()}: symmetric weights (true: no zero point) expected");
        int? groupSize = null;
        if (Value(w, "group_size") is { } size)
        {
            if (size.ValueKind == JsonValueKind.Number && size.TryGetInt32(out int n)) groupSize = n;
            else problems.Add($"{where}.weights.group_size is {size.GetRawText()}: an integer or null expected");
        }
        if (Value(w, "strategy") is { } given && given.ValueKind != JsonValueKind.String)
            problems.Add($"{where}.weights.strategy is {given.GetRawText()}: a string expected");
        string strategy = Lower(w, "strategy") ?? (groupSize is null ? "tensor" : groupSize == -1 ? "channel" : "group");
        if (!(strategy is "channel" or "tensor" && groupSize is null or -1 || strategy == "group" && groupSize > 0))
            problems.Add($"{where}.weights.strategy is \"{strategy}\"{(groupSize is not null ? $" (group_size {groupSize})" : "")}: a scale per output channel (\"channel\"), per tensor (\"tensor\") "
                + "or per group of a row's columns (\"group\" with a positive group_size) expected; blocks of rows and columns are not read");
        else if (strategy == "group") weights.GroupSizes.Add(groupSize!.Value);
        if (Value(w, "dynamic") is { } dynamic && dynamic.ValueKind != JsonValueKind.False)
            problems.Add($"{where}.weights.dynamic is {dynamic.GetRawText()}: stored scales (false) expected");
        // ("static" and "weight" only order how GPTQ went through the columns; "group" and "dynamic" store them reordered, g_idx)
        if (Value(w, "actorder") is { } order && !(order.ValueKind is JsonValueKind.False || Lower(w, "actorder") is "static" or "weight"))
            problems.Add($"{where}.weights.actorder is {order.GetRawText()}: columns stored in GPTQ's activation order (g_idx) are not read");
    }

    /// <summary>
    /// The tensors of a checkpoint whose config quantizes its weights (<paramref name="weights"/>, from
    /// <see cref="CheckedQuantization"/>) as a loader reads them: each quantized weight under its module's <c>weight</c> name,
    /// its integers (I8, or unpacked from <c>weight_packed</c>) read with its <c>weight_scale</c> as the floats they stand
    /// for, q · scale (a parameter held in 8 bits takes 8-bit integers with a scale per row as they are); the scales, shapes and symmetric
    /// zero points no tensors of their own. Every tensor that does not fit is named, nothing loaded.
    /// </summary>
    private static Dictionary<string, SafeTensor> Dequantized(Dictionary<string, SafeTensor> tensors, WeightQuantization? weights, string path)
    {
        if (weights is null) return tensors;
        var problems = new List<string>();
        var read = new Dictionary<string, SafeTensor>(tensors.Count, StringComparer.Ordinal);
        foreach ((string name, SafeTensor t) in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (name.EndsWith(".input_scale", StringComparison.Ordinal) || name.EndsWith(".input_zero_point", StringComparison.Ordinal)
                || name.EndsWith(".output_scale", StringComparison.Ordinal) || name.EndsWith(".weight_g_idx", StringComparison.Ordinal)
                || name.EndsWith(".k_scale", StringComparison.Ordinal) || name.EndsWith(".v_scale", StringComparison.Ordinal))
                problems.Add($"tensor '{name}' belongs to a quantization that is not read (of activations with scales of their own, the key/value cache, or GPTQ's column order)");
            else if (name.EndsWith(ZeroPointSuffix, StringComparison.Ordinal))
            {
                if (t.DType is not (SafeTensorsDType.I8 or SafeTensorsDType.U8 or SafeTensorsDType.I32 or SafeTensorsDType.I64))
                    problems.Add($"tensor '{name}' is {t.DType}: integer zero points expected");
                else if (t.Data.Any(b => b != 0)) problems.Add($"tensor '{name}' is not all zeros: symmetric weights (no zero point) expected");
            }
            else if (name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                string module = name[..^ScaleSuffix.Length];
                if (QuantizedWeight(tensors, module, t, weights, problems) is { } weight) read[module + ".weight"] = weight;
            }
            else if (name.EndsWith(ShapeSuffix, StringComparison.Ordinal)) continue; // (read with its weight_packed)
            else if (name.EndsWith(PackedSuffix, StringComparison.Ordinal) || t.DType == SafeTensorsDType.I8)
            {
                string module = name.EndsWith(PackedSuffix, StringComparison.Ordinal) ? name[..^PackedSuffix.Length] : WeightStem(name);
                if (!tensors.ContainsKey(module + ScaleSuffix)) problems.Add($"tensor '{name}' holds integers without a scale ('{module}{ScaleSuffix}')");
            }
            else read[name] = t;
        }
        if (problems.Count > 0) throw new InvalidDataException($"Cannot load '{path}': {string.Join("; ", problems)}. Nothing was loaded.");
        return read;
    }

    /// <summary>
    /// The weight of <paramref name="module"/> whose scale is <paramref name="scale"/>: I8 [out, in] (<c>weight</c>) or integers
    /// packed into int32s (<c>weight_packed</c> with <c>weight_shape</c> [out, in]: 8 bits four to one, [out, in / 4], or 4 bits
    /// eight to one, [out, in / 8]), read with the scale, one per output channel ([out, 1] or [out]), one per group of a row's
    /// columns ([out, in / group]) or one ([1], [1, 1] or []), each finite and positive; null, with the problem named, where
    /// they do not fit.
    /// </summary>
    private static SafeTensor? QuantizedWeight(Dictionary<string, SafeTensor> tensors, string module, SafeTensor scale, WeightQuantization quantization, List<string> problems)
    {
        string name = module + ".weight";
        SafeTensor values;
        long[] shape;
        int bits = 8;
        bool packed = tensors.TryGetValue(module + PackedSuffix, out SafeTensor? p);
        if (packed)
        {
            if (!tensors.TryGetValue(module + ShapeSuffix, out SafeTensor? s) || s.DType is not (SafeTensorsDType.I32 or SafeTensorsDType.I64) || s.ElementCount != 2)
            {
                problems.Add($"tensor '{module}{PackedSuffix}' has no weight_shape of two integers ('{module}{ShapeSuffix}') saying the weight's [out, in]");
                return null;
            }
            shape = [.. s.ToInt32().Select(d => (long)d)];
            // (the bits each value takes, from how many values a row's int32s hold)
            bits = p!.Shape.Length == 2 && p.Shape[1] > 0 && shape[1] == p.Shape[1] * 4 ? 8 : p.Shape.Length == 2 && p.Shape[1] > 0 && shape[1] == p.Shape[1] * 8 ? 4 : 0;
            if (p.DType != SafeTensorsDType.I32 || p.Shape.Length != 2 || p.Shape[0] != shape[0] || bits == 0)
            {
                problems.Add($"tensor '{module}{PackedSuffix}' is {p.DType} {Shapes.Format<long>(p.Shape)} for a weight {Shapes.Format<long>(shape)}: int32s of 8-bit integers four each, "
                    + $"[{shape[0]}, {shape[1] / 4.0}], or of 4-bit ones eight each, [{shape[0]}, {shape[1] / 8.0}], expected{(shape[1] % 8 != 0 ? " (rows padded to whole int32s are not read)" : "")}");
                return null;
            }
            if (!quantization.Bits.Contains(bits))
            {
                problems.Add($"tensor '{module}{PackedSuffix}' holds {bits}-bit integers (from its shape), but the config's num_bits is {quantization.Shown(quantization.Bits)}");
                return null;
            }
            values = p;
        }
        else if (!tensors.TryGetValue(name, out SafeTensor? w))
        {
            problems.Add($"tensor '{module}{ScaleSuffix}' scales no weight: neither '{name}' nor '{module}{PackedSuffix}' is in the checkpoint");
            return null;
        }
        else if (w.DType != SafeTensorsDType.I8 || w.Shape.Length != 2)
        {
            problems.Add($"tensor '{name}' is {w.DType} {Shapes.Format<long>(w.Shape)} beside its scale: 8-bit integers [out, in] expected");
            return null;
        }
        else (values, shape) = (w, w.Shape);
        if (shape[0] <= 0 || shape[1] <= 0)
        {
            problems.Add($"the weight of '{module}' is {Shapes.Format<long>(shape)}: rows and columns expected");
            return null;
        }
        if (!scale.IsFloatingPoint || scale.Shape.Length > 2 || !(scale.ElementCount == 1 || scale.ElementCount == shape[0] && scale.Shape[0] == shape[0]
            || scale.Shape.Length == 2 && scale.Shape[0] == shape[0] && scale.Shape[1] > 0 && shape[1] % scale.Shape[1] == 0))
        {
            problems.Add($"tensor '{module}{ScaleSuffix}' is {scale.DType} {Shapes.Format<long>(scale.Shape)}: floating-point scales, [{shape[0]}, 1] (one per output channel), "
                + $"[{shape[0]}, groups] (one per group of a row's {shape[1]} columns) or [1] (one for the tensor), expected");
            return null;
        }
        long groups = scale.Shape.Length == 2 ? scale.Shape[1] : 1;
        if (groups > 1 && !quantization.GroupSizes.Contains((int)(shape[1] / groups)))
        {
            problems.Add($"tensor '{module}{ScaleSuffix}' is {Shapes.Format<long>(scale.Shape)}: groups of {shape[1] / groups} of the {shape[1]} columns, but the config's group_size is "
                + (quantization.GroupSizes.Count == 0 ? "none (no group strategy)" : quantization.Shown(quantization.GroupSizes)) + " (groups that do not divide a row are not read)");
            return null;
        }
        float[] scales = scale.ToFloat();
        int bad = Array.FindIndex(scales, x => !(float.IsFinite(x) && x > 0));
        if (bad >= 0)
        {
            problems.Add($"tensor '{module}{ScaleSuffix}' holds {scales[bad]} at {bad}: finite positive scales expected");
            return null;
        }
        return values.Quantized(name, shape, scales, offsetBinary: packed, bits);
    }

    /// <summary>A name less its <c>.weight</c> (the module a quantized weight and its scale belong to).</summary>
    private static string WeightStem(string name) => name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name;

    /// <summary>A config value that is a string, lower-cased (compressed-tensors reads its enumerations so), or null.</summary>
    private static string? Lower(JsonElement c, string key) => Value(c, key) is { ValueKind: JsonValueKind.String } v ? v.GetString()!.ToLowerInvariant() : null;

    /// <summary>A config value as its JSON text, for a message ("absent" where there is none).</summary>
    private static string Shown(JsonElement c, string key) => Value(c, key) is { } v ? v.GetRawText() : "absent";
}
