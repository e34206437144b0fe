using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a StableLM checkpoint — transformers' <c>StableLmForCausalLM</c> (stabilityai's stablelm-2-1_6b and -zephyr, stablelm-3b-4e1t,
    /// stable-code-3b; <c>model_type</c> "stablelm") — into <paramref name="model"/>, declared as StableLM's layers, LLaMA's with layer
    /// norms and a partial rotation:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, RotaryDimensions = r, Bias = false)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// r = int(head size · <c>partial_rotary_factor</c>); with <c>use_qkv_bias</c> (stablelm-2's) the attention has q, k and v biases
    /// and none on its output (<c>Bias = true, OutputBias = false</c>); with <c>use_parallel_residual</c> the layers are parallel with
    /// one norm for both branches: <c>[LayerNorm] [Attention(…)] [Branch] [Dense(I, …, Gated = true)] [Dense(E)] [Residual(Layers = 3)]
    /// [Residual(Layers = 6)]</c>. A <c>[Dropout]</c> may stand after the attention and after the feed-forward
    /// (<c>hidden_dropout</c>). <c>model.embed_tokens</c> goes into the embedding; each layer's <c>self_attn.q_proj</c>, <c>k_proj</c>
    /// and <c>v_proj</c> into the attention's <c>in_proj_weight</c> (and biases), <c>o_proj</c> into <c>out_proj</c>, <c>mlp.up_proj</c>
    /// then <c>mlp.gate_proj</c> into the gated Dense, <c>mlp.down_proj</c> into the last, <c>input_layernorm</c>,
    /// <c>post_attention_layernorm</c> and <c>model.norm</c> into the norms, <c>lm_head</c> into the output layer.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with StableLmConfig's defaults for what it leaves out: <c>vocab_size</c> (50304), <c>hidden_size</c> (2560),
    /// <c>intermediate_size</c> (6912), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c>
    /// (32), <c>hidden_act</c> ("silu"), <c>partial_rotary_factor</c> (0.25), <c>rope_theta</c> (10000), <c>layer_norm_eps</c> (1e-5),
    /// <c>use_qkv_bias</c> (false), <c>use_parallel_residual</c> (false) and <c>tie_word_embeddings</c> (false); <c>qk_layernorm</c>
    /// (stablelm-2-12b's norms per head) and a <c>rope_scaling</c> are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as StableLM (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadStableLm(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "StableLM's", StableLmLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignStacked(model, path, architecture, ReadAll(files), layout.Sources(), IsRotaryBuffer, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as StableLM (see <see cref="LoadStableLm"/>), as a <c>StableLmForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names and the
    /// <c>config.json</c> that describes it, so that transformers' <c>StableLmForCausalLM.from_pretrained(folder)</c> and
    /// <see cref="LoadStableLm"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as StableLM, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveStableLm(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        StableLmLayout layout = StableLmLayout.Of(Architecture(model, "StableLM's"));
        RefuseUnlike(model.Architecture!.Name, "StableLM", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>
    /// A StableLM decoder layer's parts: input_layernorm, self_attn, post_attention_layernorm (null in a parallel layer, whose
    /// feed-forward reads the input norm's output), the gated up and gate projections and down_proj.
    /// </summary>
    private sealed record StableLmBlock(LayerNormInfo Input, AttentionInfo Attention, LayerNormInfo? Post, DenseInfo Mlp, DenseInfo Down)
    {
        public bool Parallel => Post is null;
    }

    /// <summary>
    /// LLaMA's decoder layers with layer norms, as StableLM's and OLMo's walks read them: embed_tokens, per layer input_layernorm, self_attn
    /// (<paramref name="attentionWhat"/>, where <paramref name="attentionFits"/>), a residual, post_attention_layernorm, the gated gate and up
    /// projections, down_proj and a residual (or, where <paramref name="parallel"/> allows, a [Branch] back to the layer's norm for the
    /// feed-forward and the two residuals), then model.norm and lm_head (tied where <paramref name="tieable"/> allows). The norms learn
    /// their scale and shift, or nothing where <paramref name="weightless"/> (OLMo's); the attention may take OLMo's options where
    /// <paramref name="olmo"/> (clip_qkv).
    /// </summary>
    private static (EmbeddingInfo Embedding, List<StableLmBlock> Blocks, LayerNormInfo Norm, DenseInfo Output) StableLmLayers(LayerWalk walk, bool weightless, bool parallel,
        string attentionWhat, Func<AttentionInfo, bool> attentionFits, bool tieable, bool olmo = false)
    {
        IReadOnlyList<LayerInfo> l = walk.Layers;
        string norm = weightless ? "[LayerNorm(ElementwiseAffine = false)]" : "[LayerNorm]";
        var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
        int width = embedding.Dim, at = 1;
        var blocks = new List<StableLmBlock>();
        while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
        {
            int n = blocks.Count, start = at;
            var input = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s input_layernorm ({norm})", x => x.Bias != weightless, weightless);
            var attention = walk.At(at++, $"decoder layer {n}'s self_attn {attentionWhat}", attentionFits, olmo: olmo);
            at = walk.Dropout(at); // (hidden_dropout's, after o_proj)
            int attended = at - 1;
            bool branch = parallel && at < l.Count && l[at] is BranchInfo;
            LayerNormInfo? post = null;
            int residual = at;
            if (branch) walk.At<BranchInfo>(at++, $"decoder layer {n}'s branch back to its norm for the feed-forward ([Branch], or Layers = 2 over a [Dropout])", b => b.From == start);
            else
            {
                walk.At<ResidualInfo>(at++, parallel ? $"decoder layer {n}'s branch ([Branch]: use_parallel_residual) or residual around the attention ([Residual(Layers = 2)])"
                    : $"decoder layer {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
                post = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s post_attention_layernorm ({norm})", x => x.Bias != weightless, weightless);
            }
            var (mlp, down) = walk.GatedFeedForward(ref at, n, width);
            at = walk.Dropout(at);
            if (branch) walk.BranchesAdded(ref at, $"decoder layer {n}", attended, start - 1, 3, 6);
            else walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == residual);
            blocks.Add(new StableLmBlock(input, attention, post, mlp, down));
        }
        if (blocks.Count == 0) throw walk.Differs(1, $"decoder layer 0's input_layernorm ({norm}) and self_attn ([Attention(Causal = true, Rotary = true)])");
        var (last, output) = walk.LastNormAndHead(at, $"the last norm (model.norm: {norm})",
            tieable ? $"lm_head: [Dense({embedding.Vocabulary}, Bias = false)], or TieEmbedding = true" : $"lm_head: [Dense({embedding.Vocabulary}, Bias = false)]", embedding.Vocabulary,
            untied: !tieable, normBias: !weightless, weightless: weightless);
        return (embedding, blocks, last, output);
    }

    /// <summary>
    /// Each parameter's tensors in a StableLM-like checkpoint: q_proj, k_proj and v_proj stacked (and their biases), up_proj's rows then
    /// gate_proj's in the gated Dense, the norms' where they learn any, lm_head unless tied to the token table.
    /// </summary>
    private static Dictionary<string, ParameterSet.TensorRows[]> StableLmSources(EmbeddingInfo embedding, IReadOnlyList<StableLmBlock> blocks, LayerNormInfo norm, DenseInfo output)
    {
        var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [embedding.Name + ".weight"] = [(LlamaLayout.Table, embedding.Vocabulary)] };
        for (int i = 0; i < blocks.Count; i++)
        {
            StableLmBlock b = blocks[i];
            string hf = $"model.layers.{i}.";
            BertLayout.AddNorm(s, b.Input, hf + "input_layernorm");
            AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
            if (b.Post is not null) BertLayout.AddNorm(s, b.Post, hf + "post_attention_layernorm");
            AddGatedFeedForward(s, b.Mlp, b.Down, hf);
        }
        BertLayout.AddNorm(s, norm, "model.norm");
        if (output.TiedTo is null) s[output.Name + ".weight"] = [(LlamaLayout.Head, output.Units)];
        return s;
    }

    /// <summary>A model's layers matched to StableLM's: the token table, the decoder layers, model.norm and lm_head.</summary>
    private sealed record StableLmLayout(EmbeddingInfo Embedding, IReadOnlyList<StableLmBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        public static StableLmLayout Of(ModelArchitecture a)
        {
            const string expected = "StableLM's layout: [Embedding], then per decoder layer [LayerNorm] [Attention(Heads = h, Causal = true, Rotary = true, Bias = false)] "
                + "[Residual(Layers = 2)] [LayerNorm] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)] "
                + "(use_parallel_residual: [LayerNorm] [Attention] [Branch] [Dense(I, …)] [Dense(E, …)] [Residual(Layers = 3)] [Residual(Layers = 6)]), then [LayerNorm] "
                + "[Dense(V, Bias = false)]; a [Dropout] may stand after the attention and after the feed-forward (hidden_dropout)";
            var (embedding, blocks, norm, output) = StableLmLayers(new LayerWalk(a, "StableLM", expected), weightless: false, parallel: true,
                "([Attention(Heads = h, Causal = true, Rotary = true, Bias = false)]; use_qkv_bias: Bias = true, OutputBias = false)",
                x => IsPlainRotaryCausal(x) && x is { HasOutputBias: false }, tieable: false);
            return new StableLmLayout(embedding, blocks, norm, output);
        }

        public Dictionary<string, ParameterSet.TensorRows[]> Sources() => StableLmSources(Embedding, Blocks, Norm, Output);

        /// <summary>What one configuration cannot say: layers whose heads, rotation, biases, feed-forward or residuals differ from the first's, or norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            StableLmBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (StableLmBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.KeyValueHeads != a.KeyValueHeads || b.Attention.RotaryWidth != a.RotaryWidth
                || b.Attention.RotaryBase != a.RotaryBase || b.Attention.Bias != a.Bias).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, rotation or biases): StableLM's layers are alike (one num_attention_heads, num_key_value_heads, partial_rotary_factor, rope_theta and use_qkv_bias)");
            foreach (StableLmBlock b in Blocks.Skip(1).Where(b => b.Mlp.Units != first.Mlp.Units || b.Mlp.Activation != first.Mlp.Activation).Take(1))
                problems.Add($"'{b.Mlp.Name}' differs from '{first.Mlp.Name}': StableLM's layers are alike (one intermediate_size, one hidden_act)");
            foreach (StableLmBlock b in Blocks.Skip(1).Where(b => b.Parallel != first.Parallel).Take(1))
                problems.Add($"'{b.Input.Name}' begins a {(b.Parallel ? "parallel" : "sequential")} layer and '{first.Input.Name}' a {(first.Parallel ? "parallel" : "sequential")} one: StableLM's layers are alike (one use_parallel_residual)");
            NormsAlike(Norms(), first.Input, problems, "StableLM", "layer_norm_eps");
            RequireNamedActivation(first.Mlp.Name, first.Mlp.Activation, problems);
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => b.Post is null ? new[] { b.Input } : new[] { b.Input, b.Post }).Append(Norm);

        /// <summary>What config.json says against what the model declares (StableLmConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "stablelm", "LoadStableLm reads StableLM's checkpoints (\"stablelm\")")) return;
            StableLmBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50304);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 2560);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 32);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 32);
            ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeads > 0 ? a.KeyValueHeads : a.Heads, $"'{a.Name}' KeyValueHeads", 32);
            ConfigInt(c, problems, "intermediate_size", first.Mlp.Units, $"'{first.Mlp.Name}'", 6912);
            CheckAlike(problems);
            CheckGatedActivation(c, first.Mlp.Name, first.Mlp.Activation, problems);
            ConfigEpsilon(c, problems, "layer_norm_eps", 1e-5, Norms());
            CheckPartialRotation(c, problems, a, "StableLM", "partial_rotary_factor", 0.25, "rope_theta");
            if (Value(c, "qk_layernorm") is { ValueKind: JsonValueKind.True })
                problems.Add("qk_layernorm is true: StableLM's layer norms per head on the queries and keys are not laid out here");
            ConfigFlag(c, problems, "use_qkv_bias", Blocks, b => b.Attention.Bias, b => $"'{b.Attention.Name}' with{(b.Attention.Bias ? "" : "out")} biases on q, k and v (Bias = {(b.Attention.Bias ? "true" : "false")})");
            ConfigFlag(c, problems, "use_parallel_residual", Blocks, b => b.Parallel,
                b => b.Parallel ? "parallel layers ([Branch] back to each layer's norm)" : "sequential layers (a [Residual] around the attention, no [Branch])");
            if (Value(c, "tie_word_embeddings") is { ValueKind: JsonValueKind.True })
                problems.Add("tie_word_embeddings is true: StableLM's lm_head tied to the token table is not laid out here");
        }

        /// <summary>The config.json of this layout, as transformers' StableLmConfig writes its fields.</summary>
        public byte[] Config()
        {
            StableLmBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "StableLmForCausalLM", null);
                w.WriteString("model_type", "stablelm");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", first.Mlp.Units);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeads > 0 ? a.KeyValueHeads : a.Heads);
                w.WriteString("hidden_act", ActivationName(first.Mlp.Activation));
                w.WriteNumber("partial_rotary_factor", RotaryFraction(a));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WriteNull("rope_scaling");
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(first.Input.Epsilon));
                w.WriteBoolean("use_qkv_bias", a.Bias);
                w.WriteBoolean("qk_layernorm", false);
                w.WriteBoolean("use_parallel_residual", first.Parallel);
                w.WriteBoolean("tie_word_embeddings", false);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
