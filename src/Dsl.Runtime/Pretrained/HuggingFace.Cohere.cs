using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Cohere checkpoint — transformers' <c>CohereForCausalLM</c> (Cohere's c4ai-command-r-v01, Aya 23 8B and 35B, Aya
    /// Expanse; <c>model_type</c> "cohere") — into <paramref name="model"/>, declared as its parallel layers, one norm (a layer norm
    /// without a bias) feeding both the attention and the SwiGLU feed-forward, whose outputs the residual adds (x + attn(ln(x)) +
    /// mlp(ln(x))), and its logits scaled:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm(Epsilon = ε, Bias = false)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false)]
    /// [Branch]
    /// [Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)]
    /// [Residual(Layers = 3)] [Residual(Layers = 6)]
    /// // then
    /// [LayerNorm(Epsilon = ε, Bias = false)] [Dense(vocab_size, TieEmbedding = true, Bias = false)] [Scale(logit_scale)]
    /// </code>
    /// (ε = <c>layer_norm_eps</c>; <c>attention_bias</c>: <c>Bias = true</c>, on q, k, v and o_proj; <c>tie_word_embeddings</c> false: an
    /// output layer of its own). Cohere turns each head's pairs (2j, 2j + 1) (its rotate_half interleaves), where the attention here
    /// turns the pairs (j, j + d/2): the loader takes each head's query and key rows (and biases) in the other order, the even ones,
    /// then the odd, as <see cref="LoadGptJ"/> does GPT-J's, and <see cref="SaveCohere"/> puts them back. <c>model.embed_tokens</c> goes
    /// into the embedding; each layer's <c>input_layernorm</c> into its norm, <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c>
    /// into the attention's <c>in_proj_weight</c>, <c>o_proj</c> into <c>out_proj</c>, <c>mlp.up_proj</c> then <c>gate_proj</c> into
    /// the gated Dense, <c>mlp.down_proj</c> into the next; <c>model.norm</c> into the last norm, <c>lm_head</c> (untied) into the
    /// output layer. Command R+'s QK-norm (<c>use_qk_norm</c>: a layer norm per head of each query and key) and Cohere 2's
    /// checkpoints (<c>model_type</c> "cohere2", sliding windows) are not laid out here.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with CohereConfig's defaults for what it leaves out: <c>vocab_size</c> (256000), <c>hidden_size</c> (8192),
    /// <c>intermediate_size</c> (22528), <c>num_hidden_layers</c> (40), <c>num_attention_heads</c> (64), <c>num_key_value_heads</c> (as
    /// many), <c>hidden_act</c> ("silu"), <c>layer_norm_eps</c> (1e-5), <c>logit_scale</c> (0.0625),
    /// <c>attention_bias</c> and <c>use_qk_norm</c> (false) and <c>tie_word_embeddings</c> (true); <c>rope_theta</c> must be given (its
    /// default differs between transformers 4 and 5), and a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Cohere (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadCohere(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, CohereLayout.Owner, CohereLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = ReadAll(files);
        CheckTiedHead(tensors, LlamaLayout.Head, LlamaLayout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => IsRotaryBuffer(name) || layout.Tied && name == LlamaLayout.Head, problems,
            adjust: layout.Reorder(toHalf: true));
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Cohere (see <see cref="LoadCohere"/>), as a <c>CohereForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names, the query
    /// and key rows back in Cohere's order (a tied output layer left out), and the <c>config.json</c> that describes it
    /// (<c>logit_scale</c> the last <c>[Scale]</c>'s factor), so that transformers' <c>CohereForCausalLM.from_pretrained(folder)</c> and
    /// <see cref="LoadCohere"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Cohere, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveCohere(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        CohereLayout layout = CohereLayout.Of(Architecture(model, CohereLayout.Owner));
        RefuseUnlike(model.Architecture!.Name, "Cohere", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources(), layout.Reorder(toHalf: false)), layout.Config());
    }

    /// <summary>A Cohere decoder layer's parts: input_layernorm, self_attn, and the feed-forward beside it (gate_proj and up_proj; down_proj).</summary>
    private sealed record CohereBlock(LayerNormInfo Norm, AttentionInfo Attention, DenseInfo Mlp, DenseInfo Down);

    /// <summary>A model's layers matched to Cohere's: the token table, the parallel layers, model.norm, lm_head and the logits' scale.</summary>
    private sealed record CohereLayout(EmbeddingInfo Embedding, IReadOnlyList<CohereBlock> Blocks, LayerNormInfo Norm, DenseInfo Output, ScaleInfo? LogitScale)
    {
        public const string Owner = "Cohere's";

        private const double DefaultLogitScale = 0.0625;

        public bool Tied => Output.TiedTo is not null;

        /// <summary>The logits' factor as the model declares it (1 where no [Scale] follows the output layer).</summary>
        private float LogitFactor => LogitScale?.Factor ?? 1f;

        public static CohereLayout Of(ModelArchitecture a)
        {
            const string attention = "[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)], the whole head turned; attention_bias: Bias = true, on the output too";
            var walk = new LayerWalk(a, "Cohere", "Cohere's layout: [Embedding], then per decoder layer [LayerNorm(Bias = false)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, "
                + "Rotary = true, Bias = false)] [Branch] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)] "
                + "[Residual(Layers = 6)], then [LayerNorm(Bias = false)] [Dense(V, TieEmbedding = true, Bias = false)] [Scale(logit_scale)]");
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            var blocks = new List<CohereBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var norm = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([LayerNorm(Bias = false)]: Cohere's layer norm has no shift)", x => !x.Bias);
                var self = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ({attention})",
                    x => IsPlainRotaryCausal(x) && x.RotaryDimensions == 0 && x.OutputBias == x.Bias);
                walk.At<BranchInfo>(at++, $"decoder layer {n}'s branch back to its norm for the feed-forward ([Branch])", b => b.From == start);
                var (mlp, down) = walk.GatedFeedForward(ref at, n, width);
                walk.BranchesAdded(ref at, $"decoder layer {n}", start + 1, start - 1, 3, 6);
                blocks.Add(new CohereBlock(norm, self, mlp, down));
            }
            if (blocks.Count == 0) throw walk.Differs(1, $"decoder layer 0's input_layernorm ([LayerNorm(Bias = false)]) and self_attn ({attention})");
            var last = walk.At<LayerNormInfo>(at++, "the last norm (model.norm: [LayerNorm(Bias = false)])", x => !x.Bias);
            var output = walk.At<DenseInfo>(at++, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)], untied where tie_word_embeddings is false)",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f, Bias: false } && d.Units == embedding.Vocabulary);
            ScaleInfo? logitScale = walk.Optional<ScaleInfo>(ref at);
            if (at < l.Count) throw walk.Differs(at, "nothing (Cohere ends with its output layer and the logits' [Scale(logit_scale)])");
            return new CohereLayout(embedding, blocks, last, output, logitScale);
        }

        /// <summary>Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked (and their biases), up_proj's rows then gate_proj's.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                CohereBlock b = Blocks[i];
                string hf = $"model.layers.{i}.";
                BertLayout.AddNorm(s, b.Norm, hf + "input_layernorm");
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                AddGatedFeedForward(s, b.Mlp, b.Down, hf);
            }
            BertLayout.AddNorm(s, Norm, "model.norm");
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        /// <summary>
        /// Each attention's query and key rows, of in_proj_weight and in_proj_bias, taken from Cohere's interleaved pairs to the
        /// attention's halves (<paramref name="toHalf"/>) or back (<see cref="ReorderRotaryRows"/>).
        /// </summary>
        public Action<string, float[]> Reorder(bool toHalf)
        {
            var rows = new Dictionary<string, (AttentionInfo Attention, int RowLength)>(StringComparer.Ordinal);
            foreach (CohereBlock b in Blocks)
            {
                rows[b.Attention.Name + ".in_proj_weight"] = (b.Attention, b.Attention.InWidth);
                rows[b.Attention.Name + ".in_proj_bias"] = (b.Attention, 1);
            }
            return (parameter, values) =>
            {
                if (rows.TryGetValue(parameter, out var r)) ReorderRotaryRows(r.Attention, values, r.RowLength, toHalf);
            };
        }

        /// <summary>What one configuration cannot say: layers whose heads, rotation, biases or feed-forward differ from the first's, or norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            CohereBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (CohereBlock b in Blocks.Skip(1).Where(b => b.Attention with { Name = a.Name } != a).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}': Cohere's layers are alike (one num_attention_heads, num_key_value_heads, rope_theta and attention_bias)");
            foreach (CohereBlock b in Blocks.Skip(1).Where(b => b.Mlp.Units != first.Mlp.Units || b.Mlp.Activation != first.Mlp.Activation).Take(1))
                problems.Add($"'{b.Mlp.Name}' differs from '{first.Mlp.Name}': Cohere's layers are alike (one intermediate_size and hidden_act)");
            NormsAlike(Blocks.Select(b => b.Norm).Append(Norm), first.Norm, problems, "Cohere", "layer_norm_eps");
            RequireNamedActivation(first.Mlp.Name, first.Mlp.Activation, problems);
        }

        /// <summary>What config.json says against what the model declares (CohereConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "cohere", "LoadCohere reads Cohere's checkpoints (\"cohere\"; Cohere 2's sliding layers are not laid out here)")) return;
            CheckLlamaLikeConfig(c, problems, "Cohere", LlamaLikeDefaults.Cohere, Embedding, Blocks.Select(b => b.Attention).ToArray(), Blocks[0].Mlp, Output);
            // (CohereConfig's default base moved from 10000 in transformers 4 to 500000 in 5: a configuration must say which it means)
            if (Value(c, "rope_theta") is null && Value(c, "rope_parameters") is null)
                problems.Add("rope_theta is not given: transformers 4 reads Cohere's rotary base as 10000 and transformers 5 as 500000; state it in config.json");
            CheckAlike(problems);
            ConfigEpsilon(c, problems, "layer_norm_eps", 1e-5, Blocks.Select(b => b.Norm).Append(Norm));
            if (Value(c, "use_qk_norm") is { ValueKind: JsonValueKind.True })
                problems.Add("use_qk_norm is true: Command R+'s layer norm of each head's queries and keys is not laid out here");
            JsonElement? v = Value(c, "logit_scale");
            if (v is { } e && !(e.ValueKind == JsonValueKind.Number && double.IsFinite(e.GetDouble())))
                problems.Add($"logit_scale is {e.GetRawText()}, not a number the logits can be scaled by");
            else if ((float)(v?.GetDouble() ?? DefaultLogitScale) is float factor && factor != LogitFactor)
                problems.Add($"logit_scale is {(v is { } given ? given.GetRawText() : "0.0625 (its default)")}: the logits are scaled by it, so declare [Scale({Number(factor)}f)] after '{Output.Name}'"
                    + (LogitScale is null ? "" : $" ('{LogitScale.Name}' is {Number(LogitFactor)})"));
        }

        /// <summary>The config.json of this layout, as transformers' CohereConfig writes its fields.</summary>
        public byte[] Config()
        {
            CohereBlock first = Blocks[0];
            return ConfigJson(w =>
            {
                WriteLlamaLikeConfig(w, "CohereForCausalLM", "cohere", Embedding, Blocks.Count, first.Attention, first.Mlp, Tied);
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(first.Norm.Epsilon));
                w.WritePropertyName("logit_scale");
                w.WriteRawValue(JsonFloat(LogitFactor));
                w.WriteBoolean("use_qk_norm", false);
            });
        }
    }
}
