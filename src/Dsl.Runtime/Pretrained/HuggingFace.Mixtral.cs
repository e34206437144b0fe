using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Mixtral checkpoint — transformers' <c>MixtralForCausalLM</c> (Mistral AI's Mixtral-8x7B and -8x22B, base and instruct,
    /// and the many sparse models saved as it; <c>model_type</c> "mixtral") — into <paramref name="model"/>, declared as LLaMA's layers
    /// with a mixture of experts in place of the feed-forward:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_local_experts, units: intermediate_size, TopK = num_experts_per_tok)] [Residual(Layers = 2)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (ε = <c>rms_norm_eps</c>; <c>sliding_window</c>: <c>SlidingWindow</c> on the attention; <c>tie_word_embeddings</c>: the output
    /// layer <c>TieEmbedding = true</c>). Mixtral's router takes the softmax of its scores, each row's top k, and divides their
    /// probabilities by their sum: the <c>[Moe]</c>'s defaults (<c>NormalizeTopK = true</c>, gated SiLU experts without biases).
    /// <c>model.embed_tokens</c> goes into the embedding; each layer's <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the
    /// attention's <c>in_proj_weight</c>, <c>o_proj</c> into <c>out_proj</c>, <c>block_sparse_moe.gate</c> into the mixture's
    /// <c>router</c>, each expert's <c>w3</c> (up) then <c>w1</c> (gate) into its block of <c>weight_in</c> and <c>w2</c> (down) into
    /// its block of <c>weight_out</c>; <c>input_layernorm</c>, <c>post_attention_layernorm</c> and <c>model.norm</c> into the norms,
    /// <c>lm_head</c> into the output layer. The router's training options (<c>router_jitter_noise</c>, the auxiliary loss of
    /// <c>output_router_logits</c> and <c>router_aux_loss_coef</c>) change nothing at inference and are not read: a model learns with the
    /// load-balancing loss where its <c>[Moe]</c> layers declare <c>LoadBalancingLoss</c>. transformers 5's fused layout
    /// (<c>mlp.experts.gate_up_proj</c>) is not read; the Hub's checkpoints and its <c>save_pretrained</c> keep a tensor per expert.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with MixtralConfig's defaults for what it leaves out: <c>vocab_size</c> (32000), <c>hidden_size</c> (4096),
    /// <c>intermediate_size</c> (14336), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c> (8),
    /// <c>hidden_act</c> ("silu"), <c>rope_theta</c> (1e6), <c>rms_norm_eps</c> (1e-5), <c>sliding_window</c> (none),
    /// <c>num_local_experts</c> (8), <c>num_experts_per_tok</c> (2) and <c>tie_word_embeddings</c> (false); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Mixtral (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadMixtral(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "Mixtral's", MixtralLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignWithHead(model, path, architecture, files, layout.Tied, layout.Sources(), problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Mixtral (see <see cref="LoadMixtral"/>), as a <c>MixtralForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names, a tensor per
    /// expert and projection (a tied output layer left out), and the <c>config.json</c> that describes it, so that transformers'
    /// <c>MixtralForCausalLM.from_pretrained(folder)</c> and <see cref="LoadMixtral"/> read it back. Both files are built first, then
    /// replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Mixtral, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveMixtral(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        MixtralLayout layout = MixtralLayout.Of(Architecture(model, "Mixtral's"));
        RefuseUnlike(model.Architecture!.Name, "Mixtral", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>A sparse decoder layer's parts: input_layernorm, self_attn, post_attention_layernorm and the mixture of experts.</summary>
    private sealed record SparseBlock(RmsNormInfo Input, AttentionInfo Attention, RmsNormInfo Post, MoeInfo Experts);

    /// <summary>A model's layers matched to Mixtral's: the token table, the sparse decoder layers, model.norm and lm_head.</summary>
    private sealed record MixtralLayout(EmbeddingInfo Embedding, IReadOnlyList<SparseBlock> Blocks, RmsNormInfo Norm, DenseInfo Output)
    {
        public bool Tied => Output.TiedTo is not null;

        public static MixtralLayout Of(ModelArchitecture a)
        {
            const string expected = "Mixtral's layout: [Embedding], then per decoder layer [RmsNorm] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, "
                + "Bias = false)] (SlidingWindow = sliding_window where it is set) [Residual(Layers = 2)] [RmsNorm] [Moe(experts: E, units: I, TopK = k)] [Residual(Layers = 2)], "
                + "then [RmsNorm] [Dense(V, Bias = false)] (TieEmbedding = true where tied)";
            var walk = new LayerWalk(a, "Mixtral", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            var blocks = new List<SparseBlock>();
            while (at + 5 < l.Count && l[at] is RmsNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var input = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([RmsNorm])", _ => true);
                var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)], "
                    + "the whole head turned; sliding_window: SlidingWindow)",
                    x => IsPlainRotaryCausal(x with { SlidingWindow = 0 }) && x is { RotaryDimensions: 0, Bias: false, OutputBias: false });
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention ([Residual(Layers = 2)])", r => r.From == start - 1);
                int residual = at - 1;
                var post = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s post_attention_layernorm ([RmsNorm])", _ => true);
                var experts = walk.At<MoeInfo>(at++, $"decoder layer {n}'s block_sparse_moe ([Moe(experts: E, units: I, TopK = k)]: gated experts without biases, NormalizeTopK)",
                    m => m is { Gated: true, Bias: false, NormalizeTopK: true } && m.Activation != Activation.None);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the mixture of experts ([Residual(Layers = 2)])", r => r.From == residual);
                blocks.Add(new SparseBlock(input, attention, post, experts));
            }
            if (blocks.Count == 0) throw walk.Differs(at, "decoder layer 0's input_layernorm ([RmsNorm]) and self_attn ([Attention(Causal = true, Rotary = true)])");
            var norm = walk.At<RmsNormInfo>(at++, "the last norm (model.norm: [RmsNorm])", _ => true);
            var output = walk.At<DenseInfo>(at++, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, Bias = false)], or TieEmbedding = true)",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f, Bias: false } && d.Units == embedding.Vocabulary);
            if (at < l.Count) throw walk.Differs(at, "nothing (Mixtral ends with its output layer)");
            return new MixtralLayout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked; each expert's w3 then w1 rows in its block of weight_in, w2 in weight_out's.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                SparseBlock b = Blocks[i];
                string hf = $"model.layers.{i}.";
                s[b.Input.Name + ".weight"] = [(hf + "input_layernorm.weight", width)];
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                s[b.Post.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                AddExperts(s, b.Experts, hf + "block_sparse_moe.", "gate", up: "w3", gate: "w1", down: "w2");
            }
            s[Norm.Name + ".weight"] = [("model.norm.weight", width)];
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        private IEnumerable<RmsNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.Input, b.Post }).Append(Norm);

        /// <summary>What one configuration cannot say: layers unlike the first (heads, rotation, window, experts), norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (SparseBlock b in Blocks.Skip(1).Where(b => b.Attention with { Name = a.Name } != a).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}': Mixtral's layers are alike (one num_attention_heads, num_key_value_heads, rope_theta and sliding_window)");
            MoeInfo m = first.Experts;
            foreach (SparseBlock b in Blocks.Skip(1).Where(b => b.Experts with { Name = m.Name } != m).Take(1))
                problems.Add($"'{b.Experts.Name}' differs from '{m.Name}': Mixtral's layers are alike (one num_local_experts, intermediate_size, num_experts_per_tok and hidden_act)");
            foreach (RmsNormInfo norm in Norms().Where(x => x.Epsilon != first.Input.Epsilon).Take(1))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{first.Input.Name}' {Number(first.Input.Epsilon)}: Mixtral's norms share rms_norm_eps");
            if (ActivationOf(ActivationName(m.Activation)) != m.Activation)
                problems.Add($"'{m.Name}' takes {m.Activation}, which no hidden_act names");
        }

        /// <summary>What config.json says against what the model declares (MixtralConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "mixtral", "LoadMixtral reads Mixtral's checkpoints (\"mixtral\")")) return;
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            MoeInfo m = first.Experts;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 32000);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 4096);
            ConfigInt(c, problems, "intermediate_size", m.Units, $"'{m.Name}' units", 14336);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 32);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 32);
            // (absent: MixtralConfig's 8; null: as many as num_attention_heads, as the config class reads None)
            int heads = Value(c, "num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : 32;
            ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeadCount, $"'{a.Name}' KeyValueHeads", c.TryGetProperty("num_key_value_heads", out _) ? heads : 8);
            if (Value(c, "head_dim") is not null) ConfigInt(c, problems, "head_dim", a.HeadSize, $"'{a.Name}' (hidden_size / num_attention_heads: heads of their own width are not read here)");
            ConfigInt(c, problems, "num_local_experts", m.Experts, $"'{m.Name}' experts", 8);
            ConfigInt(c, problems, "num_experts_per_tok", m.TopK, $"'{m.Name}' TopK", 2);
            CheckAlike(problems);
            CheckGatedActivation(c, m.Name, m.Activation, problems);
            ConfigFloat(c, problems, "rms_norm_eps", first.Input.Epsilon, $"'{first.Input.Name}' Epsilon", 1e-5);
            CheckPartialRotation(c, problems, a, "Mixtral", "partial_rotary_factor", 1.0, "rope_theta", defaultBase: 1e6);
            int window = c.TryGetProperty("sliding_window", out _) ? ConfiguredWindow(c, problems) : 0;
            if (window >= 0 && window != a.SlidingWindow)
                problems.Add(window == 0 ? $"sliding_window is unset: the attention reads every earlier step, but '{a.Name}' declares SlidingWindow = {a.SlidingWindow}"
                    : $"sliding_window is {window}, the model declares {(a.SlidingWindow == 0 ? "no window" : a.SlidingWindow.ToString(System.Globalization.CultureInfo.InvariantCulture))} ('{a.Name}' SlidingWindow)");
            ConfigFlag(c, problems, "tie_word_embeddings", [Output], d => d.TiedTo is not null,
                d => d.TiedTo is not null ? $"'{d.Name}' tied to the embedding (TieEmbedding = true)" : $"'{d.Name}' with its own weights (declare TieEmbedding = true to tie it)");
        }

        /// <summary>The config.json of this layout, as transformers' MixtralConfig writes its fields.</summary>
        public byte[] Config()
        {
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            MoeInfo m = first.Experts;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "MixtralForCausalLM", null);
                w.WriteString("model_type", "mixtral");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", m.Units);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeadCount);
                w.WriteString("hidden_act", ActivationName(m.Activation));
                w.WriteNumber("num_local_experts", m.Experts);
                w.WriteNumber("num_experts_per_tok", m.TopK);
                // (a model that learns with the load-balancing loss says so: transformers adds it with output_router_logits)
                w.WriteBoolean("output_router_logits", m.LoadBalancingLoss > 0f);
                w.WritePropertyName("router_aux_loss_coef");
                w.WriteRawValue(JsonFloat(m.LoadBalancingLoss > 0f ? m.LoadBalancingLoss : 0.001f));
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(first.Input.Epsilon));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WriteNull("rope_scaling");
                if (a.SlidingWindow > 0) w.WriteNumber("sliding_window", a.SlidingWindow);
                else w.WriteNull("sliding_window");
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }

    /// <summary>
    /// A mixture of experts' tensors under <paramref name="prefix"/> (<c>model.layers.{i}.block_sparse_moe.</c>, <c>….mlp.</c>): the router
    /// (<paramref name="router"/>.weight), then per expert e its <paramref name="up"/> rows then its <paramref name="gate"/> rows in block e of
    /// <c>weight_in</c> (the value's first, as a gated Dense holds them) and its <paramref name="down"/> rows in block e of <c>weight_out</c>.
    /// </summary>
    private static void AddExperts(Dictionary<string, ParameterSet.TensorRows[]> sources, MoeInfo m, string prefix, string router, string up, string gate, string down)
    {
        sources[m.Name + ".router"] = [(prefix + router + ".weight", m.Experts)];
        sources[m.Name + ".weight_in"] = Enumerable.Range(0, m.Experts)
            .SelectMany(e => new ParameterSet.TensorRows[] { new($"{prefix}experts.{e}.{up}.weight", m.Units, 0, m.Units, Blocks: true), new($"{prefix}experts.{e}.{gate}.weight", m.Units, 0, m.Units, Blocks: true) })
            .ToArray();
        sources[m.Name + ".weight_out"] = Enumerable.Range(0, m.Experts).Select(e => new ParameterSet.TensorRows($"{prefix}experts.{e}.{down}.weight", m.Width, 0, m.Width, Blocks: true)).ToArray();
    }
}
