using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

// A checkpoint quantized by compressed-tensors (llm-compressor's W8A16: config.json's quantization_config): its 8-bit weights
// read with their scales, every other quantization refused by name before a tensor is read.
public static partial class HuggingFace
{
    /// <summary>The tensor names that carry a quantized weight's scale and zero point beside it.</summary>
    private const string ScaleSuffix = ".weight_scale", ZeroPointSuffix = ".weight_zero_point";

    /// <summary>
    /// The tensors of a checkpoint as a loader reads them: where config.json has a <c>quantization_config</c> of
    /// compressed-tensors' 8-bit integer weights (<c>quant_method</c> "compressed-tensors", <c>format</c> "int-quantized" or
    /// "naive-quantized", symmetric, a scale per output channel or one per tensor, no activation or key/value quantization),
    /// each quantized weight with its <c>weight_scale</c> reads as the floats it stands for, q · scale (a parameter held in
    /// 8 bits takes the integers and scales as they are), the scales and symmetric zero points no tensors of their own; any
    /// other quantization is refused, every difference named, before a tensor is read. A checkpoint without one as it is.
    /// </summary>
    private static Dictionary<string, SafeTensor> Dequantized(Dictionary<string, SafeTensor> tensors, JsonElement config, string path)
    {
        if (Value(config, "quantization_config") is not { } quantization) return tensors;
        var problems = new List<string>();
        CheckQuantization(quantization, problems);
        if (problems.Count == 0) CheckQuantizedTensors(tensors, problems);
        if (problems.Count > 0)
            throw new InvalidDataException($"Cannot load '{path}': {string.Join("; ", problems)}. Nothing was loaded.");
        var read = new Dictionary<string, SafeTensor>(tensors.Count, StringComparer.Ordinal);
        foreach ((string name, SafeTensor t) in tensors)
        {
            if (name.EndsWith(ScaleSuffix, StringComparison.Ordinal) || name.EndsWith(ZeroPointSuffix, StringComparison.Ordinal)) continue;
            read[name] = tensors.TryGetValue(WeightStem(name) + ScaleSuffix, out SafeTensor? scale) && name.EndsWith(".weight", StringComparison.Ordinal)
                ? t.Quantized(scale.ToFloat())
                : t;
        }
        return read;
    }

    /// <summary>A name less its <c>.weight</c> (the module a quantized weight and its scale belong to).</summary>
    private static string WeightStem(string name) => name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name;

    /// <summary>Checks a <c>quantization_config</c> is compressed-tensors' symmetric 8-bit integer weights alone (W8A16).</summary>
    private static void CheckQuantization(JsonElement q, List<string> problems)
    {
        const string Read = "Dsl reads compressed-tensors' 8-bit integer weights (llm-compressor's W8A16: quant_method \"compressed-tensors\", format \"int-quantized\")";
        string? method = Text(q, "quant_method");
        if (method != "compressed-tensors")
        {
            problems.Add($"quantization_config.quant_method is {Shown(q, "quant_method")}: {Read}");
            return;
        }
        if (Text(q, "format") is not ("int-quantized" or "naive-quantized"))
            problems.Add($"quantization_config.format is {Shown(q, "format")} ({Text(q, "format") switch { "pack-quantized" => "4-bit weights packed in 32-bit words", "float-quantized" => "8-bit floating-point weights", _ => "not 8-bit integers" }}): {Read}");
        if (Text(q, "quantization_status") is { } status && status != "compressed")
            problems.Add($"quantization_config.quantization_status is \"{status}\": the weights are read as a compressed checkpoint stores them (\"compressed\")");
        if (Value(q, "kv_cache_scheme") is not null)
            problems.Add("quantization_config.kv_cache_scheme quantizes the key/value cache, which is not built");
        if (Value(q, "sparsity_config") is { } sparsity && Text(sparsity, "format") is { } sparse && sparse != "dense")
            problems.Add($"quantization_config.sparsity_config.format is \"{sparse}\": sparse checkpoints are not read");
        if (Value(q, "config_groups") is not { ValueKind: JsonValueKind.Object } groups)
        {
            problems.Add("quantization_config has no config_groups object (each group says how its layers' weights are quantized)");
            return;
        }
        foreach (JsonProperty group in groups.EnumerateObject())
        {
            string where = $"quantization_config.config_groups.{group.Name}";
            foreach (string activations in new[] { "input_activations", "output_activations" })
                if (Value(group.Value, activations) is not null)
                    problems.Add($"{where}.{activations} quantizes activations (W8A8), which is not built: activations stay float32");
            if (Value(group.Value, "weights") is not { ValueKind: JsonValueKind.Object } w)
            {
                problems.Add($"{where} has no weights object");
                continue;
            }
            if (Value(w, "num_bits") is not { ValueKind: JsonValueKind.Number } bits || bits.GetDouble() != 8)
                problems.Add($"{where}.weights.num_bits is {Shown(w, "num_bits")}: 8 expected");
            if (Text(w, "type") != "int") problems.Add($"{where}.weights.type is {Shown(w, "type")}: \"int\" expected");
            if (Value(w, "symmetric") is not { ValueKind: JsonValueKind.True })
                problems.Add($"{where}.weights.symmetric is {Shown(w, "symmetric")}: symmetric weights (no zero point) expected");
            if (Text(w, "strategy") is not ("channel" or "tensor"))
                problems.Add($"{where}.weights.strategy is {Shown(w, "strategy")}: a scale per output channel (\"channel\") or per tensor (\"tensor\") expected; groups of columns are not read");
            if (Value(w, "group_size") is not null) problems.Add($"{where}.weights.group_size is {Shown(w, "group_size")}: scales per group of columns are not read");
            if (Value(w, "dynamic") is { ValueKind: JsonValueKind.True }) problems.Add($"{where}.weights.dynamic is true: stored scales expected");
            if (Value(w, "actorder") is not null) problems.Add($"{where}.weights.actorder is {Shown(w, "actorder")}: reordered columns (GPTQ's activation order) are not read");
        }
    }

    /// <summary>
    /// Checks each quantized weight: 8-bit integers of two dimensions [out, in] beside a floating-point scale of one per output
    /// channel ([out, 1] or [out]) or one ([1], [1, 1] or []); a zero point beside it all zeros (symmetric); no 8-bit weight
    /// without its scale, and no scale of another quantization (activations', GPTQ's column order).
    /// </summary>
    private static void CheckQuantizedTensors(Dictionary<string, SafeTensor> tensors, List<string> problems)
    {
        foreach ((string name, SafeTensor t) in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (name.EndsWith(".input_scale", StringComparison.Ordinal) || name.EndsWith(".input_zero_point", StringComparison.Ordinal)
                || name.EndsWith(".output_scale", StringComparison.Ordinal) || name.EndsWith(".weight_g_idx", StringComparison.Ordinal)
                || name.EndsWith(".k_scale", StringComparison.Ordinal) || name.EndsWith(".v_scale", StringComparison.Ordinal))
                problems.Add($"tensor '{name}' belongs to a quantization that is not read (of activations, the key/value cache or GPTQ's column order)");
            else if (name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                string weight = name[..^ScaleSuffix.Length] + ".weight";
                if (!tensors.TryGetValue(weight, out SafeTensor? w))
                    problems.Add($"tensor '{name}' scales no weight: '{weight}' is missing");
                else if (w.DType != SafeTensorsDType.I8 || w.Shape.Length != 2)
                    problems.Add($"tensor '{weight}' is {w.DType} {Shapes.Format<long>(w.Shape)} beside its scale: 8-bit integers [out, in] expected");
                else if (!t.IsFloatingPoint || !(t.ElementCount == 1 && t.Shape.Length <= 2 || t.ElementCount == w.Shape[0] && t.Shape[0] == w.Shape[0] && t.Shape.Length <= 2))
                    problems.Add($"tensor '{name}' is {t.DType} {Shapes.Format<long>(t.Shape)}: floating-point scales, [{w.Shape[0]}, 1] (one per output channel) or [1] (one for the tensor), expected");
            }
            else if (name.EndsWith(ZeroPointSuffix, StringComparison.Ordinal))
            {
                if (t.DType is not (SafeTensorsDType.I8 or SafeTensorsDType.I32 or SafeTensorsDType.I64 or SafeTensorsDType.U8) || t.Data.Any(b => b != 0))
                    problems.Add($"tensor '{name}' is not all zeros: symmetric weights (no zero point) expected");
            }
            else if (t.DType == SafeTensorsDType.I8 && !tensors.ContainsKey(WeightStem(name) + ScaleSuffix))
                problems.Add($"tensor '{name}' holds 8-bit integers without a scale ('{WeightStem(name)}{ScaleSuffix}')");
        }
    }

    /// <summary>A config value that is a string, or null.</summary>
    private static string? Text(JsonElement c, string key) => Value(c, key) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    /// <summary>A config value as its JSON text, for a message ("absent" where there is none).</summary>
    private static string Shown(JsonElement c, string key) => Value(c, key) is { } v ? v.GetRawText() : "absent";
}
