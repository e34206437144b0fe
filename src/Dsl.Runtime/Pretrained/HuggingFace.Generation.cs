using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads how a Hugging Face model decodes: its <c>generation_config.json</c> (in <paramref name="path"/>, a model's folder,
    /// or the file itself), or where a folder has none, the same settings of its <c>config.json</c> (its token ids, and any
    /// generation setting an older model's holds), as transformers' <c>GenerationConfig.from_model_config</c> falls back to them. Read: <c>eos_token_id</c> (one id or a list: LLaMA 3's
    /// three), <c>bos_token_id</c>, <c>pad_token_id</c>, <c>decoder_start_token_id</c>, <c>do_sample</c>, <c>temperature</c>,
    /// <c>top_k</c>, <c>top_p</c>, <c>min_p</c>, <c>repetition_penalty</c>, <c>no_repeat_ngram_size</c>, <c>num_beams</c>,
    /// <c>length_penalty</c>, <c>early_stopping</c>, <c>max_length</c>, <c>max_new_tokens</c>, <c>min_length</c> and
    /// <c>min_new_tokens</c> and <c>num_return_sequences</c>, each absent one at transformers' default; what does not change the tokens
    /// chosen (<c>use_cache</c>, <c>transformers_version</c>, <c>cache_implementation</c>, …) is left. Decode by it with
    /// <see cref="Decode.Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No generation_config.json or config.json there.</exception>
    /// <exception cref="InvalidDataException">
    /// A setting of the wrong type, or one that would change the tokens and is not built (<c>suppress_tokens</c>,
    /// <c>bad_words_ids</c>, typical sampling, diverse beam search, …): all named, with the file.
    /// </exception>
    public static GenerationConfig LoadGenerationConfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = GenerationConfigFile(path);
        JsonElement c = Json(file);
        if (c.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{file}' holds {c.ValueKind}, not a JSON object of generation settings.");
        var problems = new List<string>();
        var defaults = new GenerationConfig();
        var config = new GenerationConfig
        {
            EndTokens = TokenList(c, "eos_token_id", problems),
            BeginToken = WholeNumber(c, "bos_token_id", problems),
            PadToken = WholeNumber(c, "pad_token_id", problems),
            DecoderStartToken = WholeNumber(c, "decoder_start_token_id", problems),
            DoSample = Flag(c, "do_sample", problems) ?? defaults.DoSample,
            Temperature = Real(c, "temperature", problems) ?? defaults.Temperature,
            // (top_k null is no top-k, as transformers reads None; every other null reads as its default)
            TopK = c.TryGetProperty("top_k", out JsonElement k) && k.ValueKind == JsonValueKind.Null ? 0 : WholeNumber(c, "top_k", problems) ?? defaults.TopK,
            TopP = Real(c, "top_p", problems) ?? defaults.TopP,
            MinP = Real(c, "min_p", problems) ?? defaults.MinP,
            RepetitionPenalty = Real(c, "repetition_penalty", problems) ?? defaults.RepetitionPenalty,
            NumBeams = WholeNumber(c, "num_beams", problems) ?? defaults.NumBeams,
            LengthPenalty = Real(c, "length_penalty", problems) ?? defaults.LengthPenalty,
            MaxLength = WholeNumber(c, "max_length", problems) ?? defaults.MaxLength,
            MaxNewTokens = WholeNumber(c, "max_new_tokens", problems),
            NoRepeatNgramSize = WholeNumber(c, "no_repeat_ngram_size", problems) ?? defaults.NoRepeatNgramSize,
            MinLength = WholeNumber(c, "min_length", problems) ?? defaults.MinLength,
            MinNewTokens = WholeNumber(c, "min_new_tokens", problems),
            EarlyStopping = EarlyStopping(c, problems),
            NumReturnSequences = WholeNumber(c, "num_return_sequences", problems) ?? defaults.NumReturnSequences,
        };
        foreach (var (key, unset, what) in NotBuiltGenerationSettings)
            if (Value(c, key) is { } v && !unset(v))
                problems.Add($"{key} is {v.GetRawText()}: {what} is not built");
        if (problems.Count > 0) throw new InvalidDataException($"'{file}' asks for what this decoding does not do, or holds what it cannot read: {string.Join("; ", problems)}.");
        return config;
    }

    /// <summary>
    /// Writes <paramref name="config"/> as <c>generation_config.json</c> in <paramref name="folder"/> (created if need be), as
    /// transformers' <c>GenerationConfig.save_pretrained</c> writes it: the keys in order, each setting that differs from
    /// transformers' default and each token id that is set (<c>eos_token_id</c> a list where there are several), so that
    /// <see cref="LoadGenerationConfig"/> and transformers read back the same settings. A saver's checkpoint beside it
    /// (<see cref="SaveLlama"/>, …) then decodes as the settings say.
    /// </summary>
    public static void SaveGenerationConfig(GenerationConfig config, string folder)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var d = new GenerationConfig();
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        void Whole(string key, int? value, int? fallback = null) { if (value is int v && value != fallback) fields[key] = w => w.WriteNumber(key, v); }
        void Real(string key, float value, float fallback) { if (value != fallback) fields[key] = w => w.WriteNumber(key, value); }
        Whole("bos_token_id", config.BeginToken);
        Whole("pad_token_id", config.PadToken);
        Whole("decoder_start_token_id", config.DecoderStartToken);
        if (config.EndTokens.Count == 1) Whole("eos_token_id", config.EndTokens.Tokens[0]);
        else if (config.EndTokens.Count > 1)
        {
            int[] ends = config.EndTokens.Tokens.ToArray();
            fields["eos_token_id"] = w =>
            {
                w.WriteStartArray("eos_token_id");
                foreach (int t in ends) w.WriteNumberValue(t);
                w.WriteEndArray();
            };
        }
        if (config.DoSample) fields["do_sample"] = w => w.WriteBoolean("do_sample", true);
        if (config.EarlyStopping) fields["early_stopping"] = w => w.WriteBoolean("early_stopping", true);
        Real("temperature", config.Temperature, d.Temperature);
        Whole("top_k", config.TopK, d.TopK);
        Real("top_p", config.TopP, d.TopP);
        Real("min_p", config.MinP, d.MinP);
        Real("repetition_penalty", config.RepetitionPenalty, d.RepetitionPenalty);
        Whole("no_repeat_ngram_size", config.NoRepeatNgramSize, d.NoRepeatNgramSize);
        Whole("num_beams", config.NumBeams, d.NumBeams);
        Whole("num_return_sequences", config.NumReturnSequences, d.NumReturnSequences);
        Real("length_penalty", config.LengthPenalty, d.LengthPenalty);
        Whole("max_length", config.MaxLength, d.MaxLength);
        Whole("max_new_tokens", config.MaxNewTokens);
        Whole("min_length", config.MinLength, d.MinLength);
        Whole("min_new_tokens", config.MinNewTokens);
        byte[] json = ConfigJson(w =>
        {
            foreach (var write in fields.Values) write(w);
        });
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAll([(Path.Combine(folder, "generation_config.json"), stream => stream.Write(json))]);
    }

    /// <summary>generation_config.json in a folder (else its config.json), or the file given.</summary>
    private static string GenerationConfigFile(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path))
            throw new FileNotFoundException($"No generation settings at '{path}': expected a model's folder holding generation_config.json (or config.json), or the file.", path);
        string generation = Path.Combine(path, "generation_config.json"), model = Path.Combine(path, "config.json");
        if (File.Exists(generation)) return generation;
        if (File.Exists(model)) return model;
        throw new FileNotFoundException($"'{path}' holds neither generation_config.json nor config.json (whose token ids transformers falls back to).", generation);
    }

    /// <summary>
    /// Generation settings that would change the tokens chosen and are not built, each with what leaves it unset (its
    /// transformers default, null, or an empty list) and what it does.
    /// </summary>
    private static readonly (string Key, Func<JsonElement, bool> Unset, string What)[] NotBuiltGenerationSettings =
    [
        ("encoder_no_repeat_ngram_size", v => IsNumber(v, 0), "forbidding the source's n-grams"),
        ("num_beam_groups", v => IsNumber(v, 1), "diverse beam search"),
        ("diversity_penalty", v => IsNumber(v, 0), "diverse beam search"),
        ("penalty_alpha", v => false, "contrastive search"),
        ("typical_p", v => IsNumber(v, 1), "typical sampling"),
        ("epsilon_cutoff", v => IsNumber(v, 0), "epsilon sampling"),
        ("eta_cutoff", v => IsNumber(v, 0), "eta sampling"),
        ("encoder_repetition_penalty", v => IsNumber(v, 1), "a penalty on the source's tokens"),
        ("bad_words_ids", IsEmptyList, "forbidding token sequences"),
        ("force_words_ids", IsEmptyList, "constrained beam search"),
        ("constraints", IsEmptyList, "constrained beam search"),
        ("suppress_tokens", IsEmptyList, "suppressing tokens"),
        ("begin_suppress_tokens", IsEmptyList, "suppressing tokens at the first step"),
        ("forced_decoder_ids", IsEmptyList, "forcing tokens at given steps"),
        ("forced_bos_token_id", v => false, "forcing the first token"),
        ("forced_eos_token_id", v => false, "forcing the end token at max_length"),
        ("exponential_decay_length_penalty", v => false, "a length penalty that raises the end token's odds"),
        ("sequence_bias", v => v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any() || IsEmptyList(v), "biasing token sequences"),
        ("guidance_scale", v => IsNumber(v, 1), "classifier-free guidance"),
        ("stop_strings", IsEmptyList, "stopping at strings"),
        ("dola_layers", v => false, "DoLa decoding"),
        ("watermarking_config", v => false, "watermarking"),
        ("token_healing", v => v.ValueKind == JsonValueKind.False, "token healing"),
        ("max_time", v => false, "a time limit"),
        ("renormalize_logits", v => v.ValueKind == JsonValueKind.False, "renormalising the scores after the processors (beam search's scores)"),
    ];

    private static bool IsNumber(JsonElement v, double value) => v.ValueKind == JsonValueKind.Number && v.GetDouble() == value;

    private static bool IsEmptyList(JsonElement v) => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0;

    /// <summary>A whole number of the settings (null where absent or null); another kind of value is a problem.</summary>
    private static int? WholeNumber(JsonElement c, string key, List<string> problems)
    {
        if (Value(c, key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)) return n;
        problems.Add($"{key} is {v.GetRawText()}, not a whole number");
        return null;
    }

    /// <summary>A number of the settings (as <see cref="WholeNumber"/>).</summary>
    private static float? Real(JsonElement c, string key, List<string> problems)
    {
        if (Value(c, key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number) return (float)v.GetDouble();
        problems.Add($"{key} is {v.GetRawText()}, not a number");
        return null;
    }

    /// <summary>A boolean of the settings (as <see cref="WholeNumber"/>).</summary>
    private static bool? Flag(JsonElement c, string key, List<string> problems)
    {
        if (Value(c, key) is not { } v) return null;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        problems.Add($"{key} is {v.GetRawText()}, not true or false");
        return null;
    }

    /// <summary>
    /// <c>early_stopping</c>: true stops a beam search as soon as num_beams sequences have ended; false (the default) and "never"
    /// once no live one can outscore them (this search's bound is exact, as "never"'s is, where false's is a heuristic).
    /// </summary>
    private static bool EarlyStopping(JsonElement c, List<string> problems)
    {
        if (Value(c, "early_stopping") is not { } v || v.ValueKind == JsonValueKind.False || v.ValueKind == JsonValueKind.String && v.GetString() == "never") return false;
        if (v.ValueKind == JsonValueKind.True) return true;
        problems.Add($"early_stopping is {v.GetRawText()}, not true, false or \"never\"");
        return false;
    }

    /// <summary>One token id or a list of them (none where absent or null).</summary>
    private static EndTokens TokenList(JsonElement c, string key, List<string> problems)
    {
        if (Value(c, key) is not { } v) return default;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int one) && one >= 0) return one;
        if (v.ValueKind == JsonValueKind.Array)
        {
            var ids = new List<int>();
            foreach (JsonElement e in v.EnumerateArray())
            {
                if (!(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) && id >= 0)) break;
                ids.Add(id);
            }
            if (ids.Count == v.GetArrayLength()) return EndTokens.Create(ids.ToArray());
        }
        problems.Add($"{key} is {v.GetRawText()}, not a token id (a whole number ≥ 0) or a list of them");
        return default;
    }
}
