using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads an OLMo checkpoint — transformers' <c>OlmoForCausalLM</c> (allenai's OLMo-1B-hf, OLMo-7B-hf, OLMo-7B-Twin-2T-hf, OLMo-7B-0424-hf
    /// (OLMo 1.7, with its clipping) and the models fine-tuned from them; <c>model_type</c> "olmo") — into <paramref name="model"/>,
    /// declared as OLMo's layers, LLaMA's with layer norms that learn nothing:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm(ElementwiseAffine = false)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false)] [Residual(Layers = 2)]
    /// [LayerNorm(ElementwiseAffine = false)] [Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(ElementwiseAffine = false)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (<c>attention_bias</c>: <c>Bias = true</c>, on q, k, v and o_proj; <c>clip_qkv</c>: <c>ClipQkv = clip_qkv</c>; <c>tie_word_embeddings</c>, OLMo-1B's: the output layer
    /// <c>[Dense(vocab_size, TieEmbedding = true, Bias = false)]</c>). OlmoLayerNorm's ε is 1e-5, which no configuration changes: every
    /// norm must declare it (the default). A <c>[Dropout]</c> may stand after the attention and after the feed-forward.
    /// <c>model.embed_tokens</c> goes into the embedding; each layer's <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into
    /// the attention's <c>in_proj_weight</c> (and biases), <c>o_proj</c> into <c>out_proj</c>, <c>mlp.up_proj</c> then
    /// <c>mlp.gate_proj</c> into the gated Dense, <c>mlp.down_proj</c> into the last, <c>lm_head</c> into the output layer; the norms
    /// have no tensors.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with OlmoConfig's defaults for what it leaves out: <c>vocab_size</c> (50304), <c>hidden_size</c> (4096),
    /// <c>intermediate_size</c> (11008), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c>
    /// (as many), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000), <c>attention_bias</c> (false) and <c>tie_word_embeddings</c>
    /// (false) and <c>clip_qkv</c> (none; OLMo 1.7's: <c>ClipQkv</c> on every attention); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as OLMo (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadOlmo(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "OLMo's", OlmoLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignWithHead(model, path, architecture, files, layout.Tied, layout.Sources(), problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as OLMo (see <see cref="LoadOlmo"/>), as an <c>OlmoForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names (a tied
    /// output layer left out) and the <c>config.json</c> that describes it, so that transformers' <c>OlmoForCausalLM.from_pretrained(folder)</c>
    /// and <see cref="LoadOlmo"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as OLMo, or its layers differ from one another (one configuration cannot say so).</exception>
    public static void SaveOlmo(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OlmoLayout layout = OlmoLayout.Of(Architecture(model, "OLMo's"));
        RefuseUnlike(model.Architecture!.Name, "OLMo", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>A model's layers matched to OLMo's: the token table, the decoder layers, model.norm and lm_head.</summary>
    private sealed record OlmoLayout(EmbeddingInfo Embedding, IReadOnlyList<StableLmBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        /// <summary>OlmoLayerNorm's ε (F.layer_norm's eps=1e-5, not read from the configuration).</summary>
        private const float Epsilon = 1e-5f;

        public bool Tied => Output.TiedTo is not null;

        public static OlmoLayout Of(ModelArchitecture a)
        {
            const string expected = "OLMo's layout: [Embedding], then per decoder layer [LayerNorm(ElementwiseAffine = false)] [Attention(Heads = h, Causal = true, Rotary = true, Bias = false)] "
                + "[Residual(Layers = 2)] [LayerNorm(ElementwiseAffine = false)] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)], "
                + "then [LayerNorm(ElementwiseAffine = false)] [Dense(V, Bias = false)] (or TieEmbedding = true); attention_bias: Bias = true on the attention; "
                + "a [Dropout] may stand after the attention and after the feed-forward";
            var (embedding, blocks, norm, output) = StableLmLayers(new LayerWalk(a, "OLMo", expected), weightless: true, parallel: false,
                "([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)], the whole head turned; attention_bias: Bias = true, on the output too)",
                x => IsPlainRotaryCausal(x) && x.RotaryDimensions == 0 && x.OutputBias == x.Bias, tieable: true, olmo: true);
            return new OlmoLayout(embedding, blocks, norm, output);
        }

        public Dictionary<string, ParameterSet.TensorRows[]> Sources() => StableLmSources(Embedding, Blocks, Norm, Output);

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.Input, b.Post! }).Append(Norm);

        /// <summary>What one configuration cannot say: layers whose heads, rotation, biases or feed-forward differ from the first's, or a norm of another ε than OLMo's.</summary>
        public void CheckAlike(List<string> problems)
        {
            StableLmBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (StableLmBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.KeyValueHeadCount != a.KeyValueHeadCount
                || b.Attention.RotaryBase != a.RotaryBase || b.Attention.Bias != a.Bias || b.Attention.ClipQkv != a.ClipQkv).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, rotation, biases or clipping): OLMo's layers are alike (one num_attention_heads, num_key_value_heads, rope_theta, attention_bias and clip_qkv)");
            foreach (StableLmBlock b in Blocks.Skip(1).Where(b => b.Mlp.Units != first.Mlp.Units || b.Mlp.Activation != first.Mlp.Activation).Take(1))
                problems.Add($"'{b.Mlp.Name}' differs from '{first.Mlp.Name}': OLMo's layers are alike (one intermediate_size, one hidden_act)");
            foreach (LayerNormInfo norm in Norms().Where(n => n.Epsilon != Epsilon).Take(1))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)}: OLMo's layer norms take 1e-5, which no configuration changes (declare the default)");
            RequireNamedActivation(first.Mlp.Name, first.Mlp.Activation, problems);
        }

        /// <summary>What config.json says against what the model declares (OlmoConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "olmo", "LoadOlmo reads OLMo's checkpoints (\"olmo\"; LoadOlmo2 reads OLMo 2's, \"olmo2\")")) return;
            AttentionInfo a = Blocks[0].Attention;
            CheckLlamaLikeConfig(c, problems, "OLMo", LlamaLikeDefaults.Olmo, Embedding, Blocks.Select(b => b.Attention).ToArray(), Blocks[0].Mlp, Output);
            CheckAlike(problems);
            // clip_qkv: null or absent, no clipping
            if (Value(c, "clip_qkv") is not { } clip)
            {
                if (a.ClipQkv > 0f) problems.Add($"clip_qkv is unset (null or absent): the projections are not clipped, but '{a.Name}' declares ClipQkv = {Number(a.ClipQkv)}");
            }
            else if (!(clip.ValueKind == JsonValueKind.Number && clip.GetDouble() > 0 && double.IsFinite(clip.GetDouble())))
                problems.Add($"clip_qkv is {clip.GetRawText()}, not a positive number");
            else if ((float)clip.GetDouble() != a.ClipQkv)
                problems.Add($"clip_qkv is {clip.GetRawText()}: declare '{a.Name}' with ClipQkv = {Number((float)clip.GetDouble())}{(a.ClipQkv > 0f ? $" (it declares {Number(a.ClipQkv)})" : "")}");
        }

        /// <summary>The config.json of this layout, as transformers' OlmoConfig writes its fields.</summary>
        public byte[] Config()
        {
            AttentionInfo a = Blocks[0].Attention;
            return ConfigJson(w =>
            {
                WriteLlamaLikeConfig(w, "OlmoForCausalLM", "olmo", Embedding, Blocks.Count, a, Blocks[0].Mlp, Tied);
                if (a.ClipQkv > 0f)
                {
                    w.WritePropertyName("clip_qkv");
                    w.WriteRawValue(JsonFloat(a.ClipQkv));
                }
                else w.WriteNull("clip_qkv");
            });
        }
    }

    /// <summary>
    /// Loads an OLMo 2 checkpoint — transformers' <c>Olmo2ForCausalLM</c> (allenai's OLMo-2-0425-1B, OLMo-2-1124-7B and -13B,
    /// OLMo-2-0325-32B and their -SFT, -DPO and -Instruct models; <c>model_type</c> "olmo2") — into <paramref name="model"/>,
    /// declared as OLMo 2's layers: RMS norms after the attention and after the feed-forward (none before them) and QK-norm
    /// across the heads:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, QueryKeyNormEpsilon = ε)]
    /// [RmsNorm(Epsilon = ε)] [Residual(Layers = 2)]
    /// [Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)] [RmsNorm(Epsilon = ε)] [Residual(Layers = 3)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (ε = <c>rms_norm_eps</c>; <c>attention_bias</c>: <c>Bias = true</c>, on q, k, v and o_proj; <c>tie_word_embeddings</c>: the output
    /// layer <c>[Dense(vocab_size, TieEmbedding = true, Bias = false)]</c>). <c>model.embed_tokens</c> goes into the embedding; each
    /// layer's <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the attention's <c>in_proj_weight</c>, <c>o_proj</c> into
    /// <c>out_proj</c>, <c>self_attn.q_norm</c> and <c>k_norm</c> (heads · d and kv_heads · d wide) into its <c>q_norm.weight</c> and
    /// <c>k_norm.weight</c>, <c>post_attention_layernorm</c> and <c>post_feedforward_layernorm</c> into the norms after them,
    /// <c>mlp.up_proj</c> then <c>mlp.gate_proj</c> into the gated Dense, <c>mlp.down_proj</c> into the next, <c>model.norm</c> and
    /// <c>lm_head</c> into the last two layers.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with Olmo2Config's defaults for what it leaves out: <c>vocab_size</c> (50304), <c>hidden_size</c> (4096),
    /// <c>intermediate_size</c> (11008), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c>
    /// (as many), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000), <c>rms_norm_eps</c> (1e-5), <c>attention_bias</c> (false) and
    /// <c>tie_word_embeddings</c> (false); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as OLMo 2 (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadOlmo2(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "OLMo 2's", Olmo2Layout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignWithHead(model, path, architecture, files, layout.Tied, layout.Sources(), problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as OLMo 2 (see <see cref="LoadOlmo2"/>), as an <c>Olmo2ForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names (a tied
    /// output layer left out) and the <c>config.json</c> that describes it, so that transformers' <c>Olmo2ForCausalLM.from_pretrained(folder)</c>
    /// and <see cref="LoadOlmo2"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as OLMo 2, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveOlmo2(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Olmo2Layout layout = Olmo2Layout.Of(Architecture(model, "OLMo 2's"));
        RefuseUnlike(model.Architecture!.Name, "OLMo 2", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>An OLMo 2 decoder layer's parts: self_attn (with its q_norm and k_norm), post_attention_layernorm, the gated gate and up projections, down_proj and post_feedforward_layernorm.</summary>
    private sealed record Olmo2Block(AttentionInfo Attention, RmsNormInfo AfterAttention, DenseInfo Mlp, DenseInfo Down, RmsNormInfo AfterMlp);

    /// <summary>A model's layers matched to OLMo 2's: the token table, the decoder layers, model.norm and lm_head.</summary>
    private sealed record Olmo2Layout(EmbeddingInfo Embedding, IReadOnlyList<Olmo2Block> Blocks, RmsNormInfo Norm, DenseInfo Output)
    {
        public bool Tied => Output.TiedTo is not null;

        public static Olmo2Layout Of(ModelArchitecture a)
        {
            const string expected = "OLMo 2's layout: [Embedding], then per decoder layer [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false, "
                + "QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)] [RmsNorm] [Residual(Layers = 2)] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] "
                + "[Dense(E, Bias = false)] [RmsNorm] [Residual(Layers = 3)], then [RmsNorm] [Dense(V, Bias = false)] (or TieEmbedding = true); attention_bias: Bias = true on the attention";
            var walk = new LayerWalk(a, "OLMo 2", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            var blocks = new List<Olmo2Block>();
            while (at + 7 < l.Count && l[at] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false, QueryKeyNorm = true, "
                    + "QueryKeyNormAcrossHeads = true)], the whole head turned; attention_bias: Bias = true, on the output too)",
                    x => x is { QueryKeyNorm: true, QueryKeyNormAcrossHeads: true, RotaryDimensions: 0, ClipQkv: 0f } && x.OutputBias == x.Bias
                        && IsPlainRotaryCausal(x with { QueryKeyNorm = false, QueryKeyNormAcrossHeads = false }), olmo: true);
                var afterAttention = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s post_attention_layernorm ([RmsNorm] on the attention's output)", _ => true);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention and its norm ([Residual(Layers = 2)])", r => r.From == start - 1);
                int residual = at - 1;
                var (mlp, down) = walk.GatedFeedForward(ref at, n, width);
                var afterMlp = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s post_feedforward_layernorm ([RmsNorm] on the feed-forward's output)", _ => true);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the feed-forward and its norm ([Residual(Layers = 3)])", r => r.From == residual);
                blocks.Add(new Olmo2Block(attention, afterAttention, mlp, down, afterMlp));
            }
            if (blocks.Count == 0) throw walk.Differs(1, "decoder layer 0's self_attn ([Attention(Causal = true, Rotary = true, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true)])");
            var norm = walk.At<RmsNormInfo>(at, "the last norm (model.norm: [RmsNorm])", _ => true);
            var output = walk.At<DenseInfo>(at + 1, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, Bias = false)], or TieEmbedding = true)",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f, Bias: false } && d.Units == embedding.Vocabulary);
            if (at + 2 < l.Count) throw walk.Differs(at + 2, "nothing (OLMo 2 ends with its output layer)");
            return new Olmo2Layout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked, the QK-norms' and the norms' scales, up_proj's rows then gate_proj's.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                Olmo2Block b = Blocks[i];
                string hf = $"model.layers.{i}.";
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                s[b.Attention.Name + ".q_norm.weight"] = [(hf + "self_attn.q_norm.weight", b.Attention.QueryWidth)];
                s[b.Attention.Name + ".k_norm.weight"] = [(hf + "self_attn.k_norm.weight", b.Attention.KeyValueWidth)];
                s[b.AfterAttention.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                AddGatedFeedForward(s, b.Mlp, b.Down, hf);
                s[b.AfterMlp.Name + ".weight"] = [(hf + "post_feedforward_layernorm.weight", width)];
            }
            s[Norm.Name + ".weight"] = [("model.norm.weight", width)];
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        private IEnumerable<RmsNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.AfterAttention, b.AfterMlp }).Append(Norm);

        /// <summary>What one configuration cannot say: layers whose heads, rotation or biases differ from the first's, norms (QK-norm's too) of another ε, feed-forwards unlike.</summary>
        public void CheckAlike(List<string> problems)
        {
            Olmo2Block first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (Olmo2Block b in Blocks.Skip(1).Where(b => b.Attention with { Name = a.Name } != a).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, rotation, biases or QK-norm): OLMo 2's layers are alike (one num_attention_heads, num_key_value_heads, rope_theta, attention_bias and rms_norm_eps)");
            foreach (Olmo2Block b in Blocks.Skip(1).Where(b => b.Mlp.Units != first.Mlp.Units || b.Mlp.Activation != first.Mlp.Activation).Take(1))
                problems.Add($"'{b.Mlp.Name}' differs from '{first.Mlp.Name}': OLMo 2's layers are alike (one intermediate_size, one hidden_act)");
            // (OLMo 2's attention always has its QK-norm)
            RmsNormsShareEpsilon(Norms(), first.AfterAttention, a, "OLMo 2", problems);
            RequireNamedActivation(first.Mlp.Name, first.Mlp.Activation, problems);
        }

        /// <summary>What config.json says against what the model declares (Olmo2Config's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "olmo2", "LoadOlmo2 reads OLMo 2's checkpoints (\"olmo2\"; LoadOlmo reads the first OLMo's, \"olmo\")")) return;
            Olmo2Block first = Blocks[0];
            CheckLlamaLikeConfig(c, problems, "OLMo 2", LlamaLikeDefaults.Olmo, Embedding, Blocks.Select(b => b.Attention).ToArray(), first.Mlp, Output);
            CheckAlike(problems);
            ConfigFloat(c, problems, "rms_norm_eps", first.AfterAttention.Epsilon, $"'{first.AfterAttention.Name}' Epsilon", 1e-5);
        }

        /// <summary>The config.json of this layout, as transformers' Olmo2Config writes its fields.</summary>
        public byte[] Config()
        {
            Olmo2Block first = Blocks[0];
            return ConfigJson(w =>
            {
                WriteLlamaLikeConfig(w, "Olmo2ForCausalLM", "olmo2", Embedding, Blocks.Count, first.Attention, first.Mlp, Tied);
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(first.AfterAttention.Epsilon));
            });
        }
    }
}
