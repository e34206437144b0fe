using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Granite checkpoint — transformers' <c>GraniteForCausalLM</c> (IBM's granite-3.0, -3.1, -3.2 and -3.3 base and instruct
    /// models, PowerLM; <c>model_type</c> "granite") — into <paramref name="model"/>, declared as LLaMA's layers with Granite's four
    /// multipliers, its constant scales as <c>[Scale]</c> layers and its scores' scale as the attention's:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)] [Scale(embedding_multiplier)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false, Scale = attention_multiplier)] [Scale(residual_multiplier)] [Residual(Layers = 3)]
    /// [RmsNorm(Epsilon = ε)] [Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)] [Scale(residual_multiplier)] [Residual(Layers = 4)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)] [Scale(1 / logits_scaling)]
    /// </code>
    /// (a multiplier of 1 may leave its <c>[Scale]</c> out, the residual's <c>Layers</c> one less; ε = <c>rms_norm_eps</c>;
    /// <c>attention_bias</c>: <c>Bias = true</c> on the attention, q, k, v and o_proj; <c>mlp_bias</c>: <c>Bias = true</c> on both Dense
    /// layers; <c>tie_word_embeddings</c>, granite-3's: the output layer <c>TieEmbedding = true</c>). transformers divides the logits by
    /// <c>logits_scaling</c>; the last <c>[Scale]</c> multiplies them by its reciprocal, the same to the float's last bit where
    /// logits_scaling is a power of two (granite-3's are). <c>model.embed_tokens</c> goes into the embedding; each layer's
    /// <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the attention's <c>in_proj_weight</c> (and biases), <c>o_proj</c>
    /// into <c>out_proj</c>, <c>mlp.up_proj</c> then <c>mlp.gate_proj</c> into the gated Dense, <c>mlp.down_proj</c> into the next,
    /// <c>input_layernorm</c>, <c>post_attention_layernorm</c> and <c>model.norm</c> into the norms, <c>lm_head</c> into the output layer.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GraniteConfig's defaults for what it leaves out: <c>vocab_size</c> (32000), <c>hidden_size</c> (4096),
    /// <c>intermediate_size</c> (11008), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c>
    /// (as many), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000), <c>rms_norm_eps</c> (1e-6), <c>attention_bias</c> and
    /// <c>mlp_bias</c> (false), <c>tie_word_embeddings</c> (false) and the four multipliers (1); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Granite (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGranite(IModel model, string path) => LoadGraniteFamily(model, path, GraniteKind.Dense);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Granite (see <see cref="LoadGranite"/>), as a <c>GraniteForCausalLM</c> checkpoint
    /// in <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names (a tied
    /// output layer left out) and the <c>config.json</c> that describes it (<c>logits_scaling</c> the reciprocal of the last scale, in double),
    /// so that transformers' <c>GraniteForCausalLM.from_pretrained(folder)</c> and <see cref="LoadGranite"/> read it back. Both files
    /// are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Granite, or its layers, norms or multipliers differ from one another (one configuration cannot say so).</exception>
    public static void SaveGranite(IModel model, string folder) => SaveGraniteFamily(model, folder, GraniteKind.Dense);

    /// <summary>
    /// Loads a Granite MoE checkpoint — transformers' <c>GraniteMoeForCausalLM</c> (IBM's granite-3.0 and -3.1 1b-a400m and 3b-a800m,
    /// base and instruct, PowerMoE; <c>model_type</c> "granitemoe") — into <paramref name="model"/>, declared as Granite's layers (see
    /// <see cref="LoadGranite"/>) with a mixture of experts in place of the feed-forward:
    /// <code>
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_local_experts, units: intermediate_size, TopK = num_experts_per_tok)] [Scale(residual_multiplier)] [Residual(Layers = 3)]
    /// </code>
    /// Granite MoE's router takes the softmax of each row's top k scores, the same weights as the <c>[Moe]</c>'s renormalised top k of
    /// the softmax (<c>NormalizeTopK = true</c>, its default). Each layer's <c>block_sparse_moe.router.layer</c> goes into the router,
    /// <c>block_sparse_moe.input_linear.weight</c> [E, 2I, D] (each expert's gate rows, then its up rows) into <c>weight_in</c> (up rows
    /// first), <c>block_sparse_moe.output_linear.weight</c> [E, D, I] into <c>weight_out</c>; the rest as <see cref="LoadGranite"/>. A
    /// <c>position_embedding_type</c> other than "rope" is refused.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GraniteMoeConfig's defaults for what it leaves out (GraniteConfig's, and <c>num_local_experts</c> 8,
    /// <c>num_experts_per_tok</c> 2).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Granite MoE (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadGraniteMoe(IModel model, string path) => LoadGraniteFamily(model, path, GraniteKind.Moe);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Granite MoE (see <see cref="LoadGraniteMoe"/>), as a <c>GraniteMoeForCausalLM</c>
    /// checkpoint, as <see cref="SaveGranite"/> does Granite's: the experts as the stacks its checkpoints hold.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Granite MoE, or its layers, norms or multipliers differ from one another.</exception>
    public static void SaveGraniteMoe(IModel model, string folder) => SaveGraniteFamily(model, folder, GraniteKind.Moe);

    /// <summary>
    /// Loads a Granite MoE checkpoint with shared experts — transformers' <c>GraniteMoeSharedForCausalLM</c> (IBM's
    /// moe-7b-1b-active-shared-experts; <c>model_type</c> "granitemoeshared") — into <paramref name="model"/>, declared as Granite MoE's
    /// layers (see <see cref="LoadGraniteMoe"/>) whose mixtures have a shared expert every row goes through, added as it is:
    /// <code>
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_local_experts, units: intermediate_size, TopK = num_experts_per_tok, SharedUnits = shared_intermediate_size)] [Scale(residual_multiplier)] [Residual(Layers = 3)]
    /// </code>
    /// Each layer's <c>shared_mlp.input_linear.weight</c> [2S, D] (its gate rows, then its up rows) goes into the mixture's
    /// <c>shared_in</c> (up rows first), <c>shared_mlp.output_linear.weight</c> into <c>shared_out</c>; the rest as <see cref="LoadGraniteMoe"/>.
    /// A <c>shared_intermediate_size</c> of 0 (its default) is a mixture without a shared expert.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the model
    /// first, with GraniteMoeSharedConfig's defaults for what it leaves out (GraniteMoeConfig's, and <c>shared_intermediate_size</c> 0).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Granite MoE with shared experts (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadGraniteMoeShared(IModel model, string path) => LoadGraniteFamily(model, path, GraniteKind.MoeShared);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Granite MoE with shared experts (see <see cref="LoadGraniteMoeShared"/>), as a
    /// <c>GraniteMoeSharedForCausalLM</c> checkpoint, as <see cref="SaveGraniteMoe"/> does Granite MoE's: each shared expert's gate and up
    /// rows stacked into <c>shared_mlp.input_linear</c>, gate first.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Granite MoE with shared experts, or its layers, norms or multipliers differ from one another.</exception>
    public static void SaveGraniteMoeShared(IModel model, string folder) => SaveGraniteFamily(model, folder, GraniteKind.MoeShared);

    /// <summary>Which of Granite's decoders: dense (granite), with mixtures of experts (granitemoe), and with shared experts besides (granitemoeshared).</summary>
    private enum GraniteKind
    {
        Dense,
        Moe,
        MoeShared,
    }

    private static void LoadGraniteFamily(IModel model, string path, GraniteKind kind)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, GraniteLayout.Owner(kind), a => GraniteLayout.Of(a, kind), (l, c, p) => l.CheckConfig(c, p));
        AssignWithHead(model, path, architecture, files, layout.Tied, layout.Sources(), problems);
    }

    private static void SaveGraniteFamily(IModel model, string folder, GraniteKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        GraniteLayout layout = GraniteLayout.Of(Architecture(model, GraniteLayout.Owner(kind)), kind);
        RefuseUnlike(model.Architecture!.Name, layout.Family, layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>
    /// A Granite decoder layer's parts: input_layernorm, self_attn, the attention's residual multiplier (null: 1),
    /// post_attention_layernorm, the feed-forward — the gated gate and up projections and down_proj (<see cref="Mlp"/>, <see cref="Down"/>),
    /// or Granite MoE's mixture of experts (<see cref="Experts"/>) — and its residual multiplier.
    /// </summary>
    private sealed record GraniteBlock(RmsNormInfo Input, AttentionInfo Attention, ScaleInfo? AttentionScale, RmsNormInfo Post, DenseInfo? Mlp, DenseInfo? Down, MoeInfo? Experts,
        ScaleInfo? MlpScale)
    {
        /// <summary>The feed-forward as the configuration describes it: intermediate_size and hidden_act.</summary>
        public FeedForward FeedForward => Experts is { } m ? m : Mlp!;
    }

    /// <summary>
    /// A model's layers matched to Granite's (<see cref="Kind"/>: or Granite MoE's, with shared experts or not): the token table and its
    /// multiplier, the decoder layers, model.norm, lm_head and the logits' scale.
    /// </summary>
    private sealed record GraniteLayout(GraniteKind Kind, EmbeddingInfo Embedding, ScaleInfo? EmbeddingScale, IReadOnlyList<GraniteBlock> Blocks, RmsNormInfo Norm, DenseInfo Output,
        ScaleInfo? LogitScale)
    {
        public bool Tied => Output.TiedTo is not null;

        /// <summary>Granite MoE's (with shared experts or not).</summary>
        public bool Sparse => Kind != GraniteKind.Dense;

        /// <summary>The family's name in messages.</summary>
        public string Family => Name(Kind);

        private static string Name(GraniteKind kind) => kind switch
        {
            GraniteKind.Moe => "Granite MoE",
            GraniteKind.MoeShared => "GraniteMoeShared",
            _ => "Granite",
        };

        /// <summary>The family's name for a layout's errors ("Granite's").</summary>
        public static string Owner(GraniteKind kind) => Name(kind) + "'s";

        public static GraniteLayout Of(ModelArchitecture a, GraniteKind kind)
        {
            bool sparse = kind != GraniteKind.Dense, shared = kind == GraniteKind.MoeShared;
            string moe = $"[Moe(experts: E, units: I, TopK = k{(shared ? ", SharedUnits = S" : "")})]";
            string feedForward = sparse ? $"{moe} [Scale(residual_multiplier)] [Residual(Layers = 3)]"
                : "[Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Scale(residual_multiplier)] [Residual(Layers = 4)]";
            string expected = $"{Owner(kind)} layout: [Embedding] [Scale(embedding_multiplier)], then per decoder layer [RmsNorm] [Attention(Heads = h, KeyValueHeads = g, Causal = true, "
                + $"Rotary = true, Bias = false, Scale = attention_multiplier)] [Scale(residual_multiplier)] [Residual(Layers = 3)] [RmsNorm] {feedForward}, then [RmsNorm] [Dense(V, Bias = false)] "
                + $"[Scale(1 / logits_scaling)] (a multiplier of 1 may leave its [Scale] out; attention_bias{(sparse ? "" : ", mlp_bias")}: Bias = true; TieEmbedding = true where tied)";
            var walk = new LayerWalk(a, Name(kind), expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled: embedding_multiplier is a [Scale] after it)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            ScaleInfo? embeddingScale = walk.Optional<ScaleInfo>(ref at);
            var blocks = new List<GraniteBlock>();
            while (at + (sparse ? 5 : 6) < l.Count && l[at] is RmsNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var input = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([RmsNorm])", _ => true);
                var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false, "
                    + "Scale = attention_multiplier)], the whole head turned; attention_bias: Bias = true, on the output too)",
                    x => IsPlainRotaryCausal(x with { Scale = 0f }) && x.RotaryDimensions == 0 && x.OutputBias == x.Bias);
                ScaleInfo? attentionScale = walk.Optional<ScaleInfo>(ref at);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention ([Residual(Layers = 3)] after its [Scale(residual_multiplier)], else 2)", r => r.From == start - 1);
                int residual = at - 1;
                var post = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s post_attention_layernorm ([RmsNorm])", _ => true);
                DenseInfo? mlp = null, down = null;
                MoeInfo? experts = null;
                if (sparse)
                    experts = walk.At<MoeInfo>(at++, $"decoder layer {n}'s block_sparse_moe ({moe}: gated experts without biases, renormalised, "
                        + (shared ? "its shared_mlp (SharedUnits, where shared_intermediate_size is not 0) ungated)" : "no shared expert)"),
                        m => m is { Gated: true, Bias: false, NormalizeTopK: true, SharedExpertGate: false } && m.Activation != Activation.None && (shared || m.SharedUnits == 0));
                else (mlp, down) = walk.GatedFeedForward(ref at, n, width, mlpBias: true);
                ScaleInfo? mlpScale = walk.Optional<ScaleInfo>(ref at);
                walk.At<ResidualInfo>(at++, sparse ? $"decoder layer {n}'s residual around the mixture of experts ([Residual(Layers = 3)] after its [Scale(residual_multiplier)], else 2)"
                    : $"decoder layer {n}'s residual around the feed-forward ([Residual(Layers = 4)] after its [Scale(residual_multiplier)], else 3)", r => r.From == residual);
                blocks.Add(new GraniteBlock(input, attention, attentionScale, post, mlp, down, experts, mlpScale));
            }
            if (blocks.Count == 0) throw walk.Differs(at, "decoder layer 0's input_layernorm ([RmsNorm]) and self_attn ([Attention(Causal = true, Rotary = true)])");
            var norm = walk.At<RmsNormInfo>(at++, "the last norm (model.norm: [RmsNorm])", _ => true);
            var output = walk.At<DenseInfo>(at++, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, Bias = false)], or TieEmbedding = true)",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f, Bias: false } && d.Units == embedding.Vocabulary);
            ScaleInfo? logitScale = walk.Optional<ScaleInfo>(ref at);
            if (at < l.Count) throw walk.Differs(at, "nothing (Granite ends with its output layer and the logits' [Scale])");
            return new GraniteLayout(kind, embedding, embeddingScale, blocks, norm, output, logitScale);
        }

        /// <summary>The multipliers as the model declares them (1 where a [Scale] is left out).</summary>
        private float EmbeddingMultiplier => EmbeddingScale?.Factor ?? 1f;

        private float ResidualMultiplier => Blocks[0].AttentionScale?.Factor ?? 1f;

        private float LogitFactor => LogitScale?.Factor ?? 1f;

        /// <summary>
        /// Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked (and their biases), up_proj's rows then gate_proj's
        /// (and biases); Granite MoE's router and its experts' stacks.
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                GraniteBlock b = Blocks[i];
                string hf = $"model.layers.{i}.";
                s[b.Input.Name + ".weight"] = [(hf + "input_layernorm.weight", width)];
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                s[b.Post.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                if (b.Experts is { } m)
                {
                    AddFusedExperts(s, m, hf + "block_sparse_moe.router.layer.weight", hf + "block_sparse_moe.input_linear.weight", hf + "block_sparse_moe.output_linear.weight");
                    if (m.SharedUnits > 0)
                    {
                        // shared_mlp.input_linear [2S, D]: its gate rows, then its up rows (chunk(2)); shared_in holds the up rows first
                        int units = m.SharedUnits;
                        string input = hf + "shared_mlp.input_linear.weight";
                        s[m.Name + ".shared_in"] = [new(input, units, units, 2 * units), new(input, units, 0, 2 * units)];
                        s[m.Name + ".shared_out"] = [(hf + "shared_mlp.output_linear.weight", m.Width)];
                    }
                }
                else AddGatedFeedForward(s, b.Mlp!, b.Down!, hf);
            }
            s[Norm.Name + ".weight"] = [("model.norm.weight", width)];
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        private IEnumerable<RmsNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.Input, b.Post }).Append(Norm);

        /// <summary>What one configuration cannot say: layers unlike the first (heads, rotation, scale, biases, feed-forward, residual multipliers), norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            GraniteBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (GraniteBlock b in Blocks.Skip(1).Where(b => b.Attention with { Name = a.Name } != a).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}': {Family}'s layers are alike (one num_attention_heads, num_key_value_heads, rope_theta, attention_bias and attention_multiplier)");
            if (Sparse) MixturesAlike(Blocks.Select(b => b.Experts!), Family, $"num_local_experts, intermediate_size, num_experts_per_tok{(Kind == GraniteKind.MoeShared ? ", shared_intermediate_size" : "")}", problems);
            else
                foreach (GraniteBlock b in Blocks.Skip(1).Where(b => b.Mlp!.Units != first.Mlp!.Units || b.Mlp.Activation != first.Mlp.Activation || b.Mlp.Bias != first.Mlp.Bias).Take(1))
                    problems.Add($"'{b.Mlp!.Name}' differs from '{first.Mlp!.Name}': Granite's layers are alike (one intermediate_size, hidden_act and mlp_bias)");
            foreach (var (scale, where) in Blocks.SelectMany((b, i) => new[] { (b.AttentionScale, $"decoder layer {i}'s attention"), (b.MlpScale, $"decoder layer {i}'s feed-forward") })
                .Where(x => (x.Item1?.Factor ?? 1f) != ResidualMultiplier).Take(1))
                problems.Add($"{where} is scaled by {Number(scale?.Factor ?? 1f)} before its residual and decoder layer 0's attention by {Number(ResidualMultiplier)}: {Family}'s residuals share one residual_multiplier");
            RmsNormsShareEpsilon(Norms(), first.Input, null, Family, problems);
            RequireNamedActivation(first.FeedForward.Name, first.FeedForward.Activation, problems);
            if (LogitFactor == 0f)
                problems.Add($"'{LogitScale!.Name}' scales the logits by 0: no logits_scaling divides them so");
        }

        /// <summary>What config.json says against what the model declares (GraniteConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == ModelType, Kind switch
            {
                GraniteKind.Moe => "LoadGraniteMoe reads Granite MoE's checkpoints (\"granitemoe\"; LoadGraniteMoeShared reads granitemoeshared's)",
                GraniteKind.MoeShared => "LoadGraniteMoeShared reads Granite MoE's checkpoints with shared experts (\"granitemoeshared\"; LoadGraniteMoe reads granitemoe's)",
                _ => "LoadGranite reads Granite's checkpoints (\"granite\"; LoadGraniteMoe reads granitemoe's experts)",
            })) return;
            GraniteBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            CheckLlamaLikeConfig(c, problems, Family, LlamaLikeDefaults.Granite, Embedding, Blocks.Select(b => b.Attention).ToArray(), first.FeedForward, Output);
            CheckAlike(problems);
            ConfigFloat(c, problems, "rms_norm_eps", first.Input.Epsilon, $"'{first.Input.Name}' Epsilon", 1e-6);
            if (first.Experts is { } m)
            {
                ConfigInt(c, problems, "num_local_experts", m.Experts, $"'{m.Name}' experts", 8);
                ConfigInt(c, problems, "num_experts_per_tok", m.TopK, $"'{m.Name}' TopK", 2);
                if (Kind == GraniteKind.MoeShared) ConfigInt(c, problems, "shared_intermediate_size", m.SharedUnits, $"'{m.Name}' SharedUnits", 0);
                // (absent: "rope"; null, as any other value, turns the rotation off in transformers 4's GraniteMoeModel)
                if (c.TryGetProperty("position_embedding_type", out JsonElement positions) && !(positions.ValueKind == JsonValueKind.String && positions.GetString() == "rope"))
                    problems.Add($"position_embedding_type is {positions.GetRawText()}: {Family}'s layers are laid out here with rotary positions (\"rope\")");
            }
            else ConfigFlag(c, problems, "mlp_bias", Blocks, b => b.Mlp!.Bias, b => BiasOf(b.Mlp!.Name, b.Mlp.Bias));
            Multiplier(c, problems, "embedding_multiplier", EmbeddingMultiplier, EmbeddingScale is null ? $"no [Scale] after '{Embedding.Name}'" : $"'{EmbeddingScale.Name}'");
            Multiplier(c, problems, "residual_multiplier", ResidualMultiplier, first.AttentionScale is null ? $"no [Scale] between '{a.Name}' and its residual" : $"'{first.AttentionScale.Name}'");
            Multiplier(c, problems, "attention_multiplier", a.ScoreScale, $"'{a.Name}' (its scores' scale: Scale, else 1/√d)");
            // the logits divided by logits_scaling: the last [Scale] multiplies by its reciprocal
            JsonElement? v = Value(c, "logits_scaling");
            if (v is { } e && !(e.ValueKind == JsonValueKind.Number && e.GetDouble() != 0 && double.IsFinite(e.GetDouble())))
                problems.Add($"logits_scaling is {e.GetRawText()}, not a number the logits can be divided by");
            else if ((float)(1.0 / (v?.GetDouble() ?? 1.0)) is float factor && factor != LogitFactor)
                problems.Add($"logits_scaling is {(v is { } given ? given.GetRawText() : "1 (its default)")}: the logits are divided by it, so declare [Scale({Number(factor)}f)] after '{Output.Name}'"
                    + (LogitScale is null ? "" : $" ('{LogitScale.Name}' is {Number(LogitFactor)})"));
        }

        /// <summary>A multiplier of config.json (1 where absent) against the model's (<paramref name="declared"/>, in <paramref name="where"/>).</summary>
        private static void Multiplier(JsonElement c, List<string> problems, string key, float declared, string where)
        {
            JsonElement? v = Value(c, key);
            if (v is { } e && e.ValueKind != JsonValueKind.Number) problems.Add($"{key} is {e.GetRawText()}, not a number");
            else if ((float)(v?.GetDouble() ?? 1.0) is float value && value != declared)
                problems.Add($"{key} is {(v is null ? "1 (its default)" : Number(value))}, the model declares {Number(declared)} ({where})");
        }

        private string ModelType => Kind switch { GraniteKind.Moe => "granitemoe", GraniteKind.MoeShared => "granitemoeshared", _ => "granite" };

        /// <summary>The config.json of this layout, as transformers' GraniteConfig (GraniteMoeConfig) writes its fields.</summary>
        public byte[] Config()
        {
            GraniteBlock first = Blocks[0];
            return ConfigJson(w =>
            {
                string architecture = Kind switch { GraniteKind.Moe => "GraniteMoeForCausalLM", GraniteKind.MoeShared => "GraniteMoeSharedForCausalLM", _ => "GraniteForCausalLM" };
                WriteLlamaLikeConfig(w, architecture, ModelType, Embedding, Blocks.Count, first.Attention, first.FeedForward, Tied);
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(first.Input.Epsilon));
                if (first.Experts is { } m)
                {
                    w.WriteNumber("num_local_experts", m.Experts);
                    w.WriteNumber("num_experts_per_tok", m.TopK);
                    w.WriteString("position_embedding_type", "rope");
                    if (Kind == GraniteKind.MoeShared) w.WriteNumber("shared_intermediate_size", m.SharedUnits);
                    WriteRouterLoss(w, m);
                }
                else w.WriteBoolean("mlp_bias", first.Mlp!.Bias);
                foreach (var (key, value) in new[] { ("embedding_multiplier", EmbeddingMultiplier), ("residual_multiplier", ResidualMultiplier), ("attention_multiplier", first.Attention.ScoreScale) })
                {
                    w.WritePropertyName(key);
                    w.WriteRawValue(JsonFloat(value));
                }
                // (the reciprocal in double: in float it would not always read back as the same factor)
                w.WriteNumber("logits_scaling", 1.0 / LogitFactor);
            });
        }
    }
}
