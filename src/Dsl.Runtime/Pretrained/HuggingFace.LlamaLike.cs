using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// A LLaMA-style feed-forward's tensors under <paramref name="hf"/> (<c>model.layers.{i}.</c>): up_proj's rows then gate_proj's in the
    /// gated Dense (and their biases, Granite's mlp_bias), down_proj in the next.
    /// </summary>
    private static void AddGatedFeedForward(Dictionary<string, ParameterSet.TensorRows[]> sources, DenseInfo mlp, DenseInfo down, string hf)
    {
        sources[mlp.Name + ".weight"] = [(hf + "mlp.up_proj.weight", mlp.Units), (hf + "mlp.gate_proj.weight", mlp.Units)];
        if (mlp.Bias) sources[mlp.Name + ".bias"] = [(hf + "mlp.up_proj.bias", mlp.Units), (hf + "mlp.gate_proj.bias", mlp.Units)];
        BertLayout.AddDense(sources, down, hf + "mlp.down_proj");
    }

    /// <summary>
    /// What a LLaMA-like configuration says of a decoder layer's feed-forward: its <c>intermediate_size</c> and <c>hidden_act</c>, a gated
    /// Dense's units and activation, or a mixture's experts' (Granite MoE's); <see cref="Name"/> the layer's, for the messages.
    /// </summary>
    private readonly record struct FeedForward(string Name, int Units, Activation Activation)
    {
        public static implicit operator FeedForward(DenseInfo d) => new(d.Name, d.Units, d.Activation);

        public static implicit operator FeedForward(MoeInfo m) => new(m.Name, m.Units, m.Activation);
    }

    /// <summary>
    /// A LLaMA-like configuration class's defaults for what a config.json leaves out (OlmoConfig's, GraniteConfig's, GraniteMoeConfig's,
    /// CohereConfig's; <see cref="Tied"/>: its <c>tie_word_embeddings</c>).
    /// </summary>
    private sealed record LlamaLikeDefaults(int Vocabulary, int Hidden, int Intermediate, int Layers, int Heads, bool Tied = false)
    {
        public static readonly LlamaLikeDefaults Olmo = new(50304, 4096, 11008, 32, 32);

        public static readonly LlamaLikeDefaults Granite = new(32000, 4096, 11008, 32, 32);

        public static readonly LlamaLikeDefaults Cohere = new(256000, 8192, 22528, 40, 64, Tied: true);
    }

    /// <summary>
    /// What the configurations of LLaMA's descendants with their own classes share (OLMo's, OLMo 2's, Granite's, Cohere's; <paramref name="defaults"/>
    /// for what they leave out) against the model: the widths, layers, heads (key/value heads as many as num_attention_heads where
    /// absent; head_dim, where given, hidden_size over them), the gate's activation, the whole-head rotation at rope_theta without
    /// scaling, attention_bias and tie_word_embeddings.
    /// </summary>
    private static void CheckLlamaLikeConfig(JsonElement c, List<string> problems, string family, LlamaLikeDefaults defaults, EmbeddingInfo embedding,
        AttentionInfo[] attentions, FeedForward mlp, DenseInfo output)
    {
        AttentionInfo a = attentions[0];
        ConfigInt(c, problems, "vocab_size", embedding.Vocabulary, $"'{embedding.Name}'", defaults.Vocabulary);
        ConfigInt(c, problems, "hidden_size", embedding.Dim, $"'{embedding.Name}'", defaults.Hidden);
        ConfigInt(c, problems, "intermediate_size", mlp.Units, $"'{mlp.Name}'", defaults.Intermediate);
        ConfigInt(c, problems, "num_hidden_layers", attentions.Length, "its decoder layers", defaults.Layers);
        ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", defaults.Heads);
        int heads = Value(c, "num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : defaults.Heads;
        ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeadCount, $"'{a.Name}' KeyValueHeads", heads);
        if (Value(c, "head_dim") is not null) ConfigInt(c, problems, "head_dim", a.HeadSize, $"'{a.Name}' (hidden_size / num_attention_heads: {family}'s heads are not of their own width here)");
        CheckGatedActivation(c, mlp.Name, mlp.Activation, problems);
        CheckPartialRotation(c, problems, a, family, "partial_rotary_factor", 1.0, "rope_theta");
        ConfigFlag(c, problems, "attention_bias", attentions, x => x.Bias, x => $"'{x.Name}' with{(x.Bias ? "" : "out")} biases on q, k, v and o_proj (Bias = {(x.Bias ? "true" : "false")})");
        ConfigFlag(c, problems, "tie_word_embeddings", [output], d => d.TiedTo is not null,
            d => d.TiedTo is not null ? $"'{d.Name}' tied to the embedding (TieEmbedding = true)" : $"'{d.Name}' with its own weights (declare TieEmbedding = true to tie it)",
            fallback: defaults.Tied);
    }

    /// <summary>The fields the config.json of LLaMA's descendants share (OLMo's, OLMo 2's, Granite's, Cohere's), as their classes write them.</summary>
    private static void WriteLlamaLikeConfig(System.Text.Json.Utf8JsonWriter w, string architecture, string modelType, EmbeddingInfo embedding, int layers, AttentionInfo a,
        FeedForward mlp, bool tied)
    {
        WriteArchitecture(w, architecture, null);
        w.WriteString("model_type", modelType);
        w.WriteNumber("vocab_size", embedding.Vocabulary);
        w.WriteNumber("hidden_size", embedding.Dim);
        w.WriteNumber("intermediate_size", mlp.Units);
        w.WriteNumber("num_hidden_layers", layers);
        w.WriteNumber("num_attention_heads", a.Heads);
        w.WriteNumber("num_key_value_heads", a.KeyValueHeadCount);
        w.WriteString("hidden_act", ActivationName(mlp.Activation));
        w.WritePropertyName("rope_theta");
        w.WriteRawValue(JsonFloat(a.RotaryBase));
        w.WriteNull("rope_scaling");
        w.WriteBoolean("attention_bias", a.Bias);
        w.WriteBoolean("tie_word_embeddings", tied);
        w.WriteString("torch_dtype", "float32");
    }

    /// <summary>
    /// The activation a LLaMA-like configuration names in <c>hidden_act</c> ("silu" where absent) against <paramref name="declared"/>, the
    /// activation of layer <paramref name="layer"/> (a gated Dense's gate, a mixture's experts): StableLM's, OLMo's, Mixtral's.
    /// </summary>
    private static void CheckGatedActivation(JsonElement c, string layer, Activation declared, List<string> problems)
    {
        JsonElement? act = Value(c, "hidden_act");
        Activation? activation = act is { ValueKind: JsonValueKind.String } name ? ActivationOf(name.GetString()!) : act is null ? Activation.Silu : null;
        if (activation != declared)
            problems.Add($"hidden_act is {act?.GetRawText() ?? "\"silu\" (its default)"}: {(activation is { } named ? $"declare '{layer}' with Activation = Activation.{named}" : "the gate here takes \"silu\", \"gelu\" or \"gelu_pytorch_tanh\"")}");
    }

    /// <summary>
    /// The first of <paramref name="norms"/> whose ε is not <paramref name="reference"/>'s, and a QK-norm of <paramref name="attention"/>
    /// (where it has one) of another ε: a LLaMA-like configuration has one <c>rms_norm_eps</c> for them all (Granite's, OLMo 2's,
    /// the sparse decoders').
    /// </summary>
    private static void RmsNormsShareEpsilon(IEnumerable<RmsNormInfo> norms, RmsNormInfo reference, AttentionInfo? attention, string family, List<string> problems)
    {
        foreach (RmsNormInfo norm in norms.Where(x => x.Epsilon != reference.Epsilon).Take(1))
            problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{reference.Name}' {Number(reference.Epsilon)}: {family}'s norms share rms_norm_eps");
        if (attention is { QueryKeyNorm: true } a) QueryKeyNormShares(a, reference, problems);
    }

    /// <summary>A QK-norm whose ε is not <paramref name="reference"/>'s: q_norm and k_norm take the configuration's rms_norm_eps.</summary>
    private static void QueryKeyNormShares(AttentionInfo a, RmsNormInfo reference, List<string> problems)
    {
        if (a.QueryKeyNormEpsilon != reference.Epsilon)
            problems.Add($"'{a.Name}' has QueryKeyNormEpsilon {Number(a.QueryKeyNormEpsilon)} and '{reference.Name}' Epsilon {Number(reference.Epsilon)}: q_norm and k_norm share rms_norm_eps with the other norms");
    }

    /// <summary>An activation of layer <paramref name="layer"/> that no <c>hidden_act</c> name gives back (a configuration could not say it).</summary>
    private static void RequireNamedActivation(string layer, Activation activation, List<string> problems)
    {
        if (ActivationOf(ActivationName(activation)) != activation)
            problems.Add($"'{layer}' takes {activation}, which no hidden_act names");
    }
}
