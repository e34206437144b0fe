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
    public static void LoadCohere(IModel model, string path) => LoadCohereFamily(model, path, second: false);

    /// <summary>
    /// Loads a Cohere 2 checkpoint — transformers' <c>Cohere2ForCausalLM</c> (Cohere's c4ai-command-r7b-12-2024, Command A;
    /// <c>model_type</c> "cohere2") — into <paramref name="model"/>, declared as Cohere's layers (see <see cref="LoadCohere"/>) whose
    /// attention is of two kinds, as <c>layer_types</c> lists them (else every <c>sliding_window_pattern</c>-th layer full, 4 by default):
    /// a "sliding_attention" layer turns its queries and keys and sees the <c>sliding_window</c> most recent steps,
    /// <c>[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, SlidingWindow = sliding_window, Bias = false)]</c>;
    /// a "full_attention" layer turns nothing and sees every earlier step, <c>[Attention(Heads = h, KeyValueHeads = g, Causal = true, Bias = false)]</c>.
    /// Only the turned layers' query and key rows are reordered from Cohere's interleaved pairs. The configuration is checked with
    /// Cohere2Config's defaults (Cohere's, and <c>sliding_window</c> 4096); <c>rope_theta</c> must be given.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Cohere 2 (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadCohere2(IModel model, string path) => LoadCohereFamily(model, path, second: true);

    /// <summary>Saves <paramref name="model"/>, declared as Cohere 2 (see <see cref="LoadCohere2"/>), as a <c>Cohere2ForCausalLM</c> checkpoint, as <see cref="SaveCohere"/> does Cohere's (with its <c>layer_types</c>).</summary>
    /// <exception cref="ArgumentException">The model is not laid out as Cohere 2, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveCohere2(IModel model, string folder) => SaveCohereFamily(model, folder, second: true);

    private static void LoadCohereFamily(IModel model, string path, bool second)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, CohereLayout.Owner(second), a => CohereLayout.Of(a, second), (l, c, p) => l.CheckConfig(c, p));
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
    public static void SaveCohere(IModel model, string folder) => SaveCohereFamily(model, folder, second: false);

    private static void SaveCohereFamily(IModel model, string folder, bool second)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        CohereLayout layout = CohereLayout.Of(Architecture(model, CohereLayout.Owner(second)), second);
        RefuseUnlike(model.Architecture!.Name, layout.Family, layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources(), layout.Reorder(toHalf: false)), layout.Config());
    }

    /// <summary>A Cohere decoder layer's parts: input_layernorm, self_attn, and the feed-forward beside it (gate_proj and up_proj; down_proj).</summary>
    private sealed record CohereBlock(LayerNormInfo Norm, AttentionInfo Attention, DenseInfo Mlp, DenseInfo Down);

    /// <summary>
    /// A model's layers matched to Cohere's (<see cref="Second"/>: Cohere 2's, its sliding layers turned and its full ones not): the token
    /// table, the parallel layers, model.norm, lm_head and the logits' scale.
    /// </summary>
    private sealed record CohereLayout(bool Second, EmbeddingInfo Embedding, IReadOnlyList<CohereBlock> Blocks, LayerNormInfo Norm, DenseInfo Output, ScaleInfo? LogitScale)
    {
        public static string Owner(bool second) => second ? "Cohere 2's" : "Cohere's";

        /// <summary>The family's name in messages.</summary>
        public string Family => Second ? "Cohere 2" : "Cohere";

        /// <summary>The attention whose rotation the configuration's rope_theta describes: the first turned one (Cohere 2 has one at least).</summary>
        private AttentionInfo Turned => Blocks.Select(b => b.Attention).First(x => x.RotaryBase > 0f);

        private const double DefaultLogitScale = 0.0625;

        public bool Tied => Output.TiedTo is not null;

        /// <summary>The logits' factor as the model declares it (1 where no [Scale] follows the output layer).</summary>
        private float LogitFactor => LogitScale?.Factor ?? 1f;

        public static CohereLayout Of(ModelArchitecture a, bool second)
        {
            string attention = second
                ? "[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, SlidingWindow = w, Bias = false)] where the layer slides, [Attention(Heads = h, KeyValueHeads = g, Causal = true, Bias = false)] where it is full; attention_bias: Bias = true, on the output too"
                : "[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)], the whole head turned; attention_bias: Bias = true, on the output too";
            string family = second ? "Cohere 2" : "Cohere";
            var walk = new LayerWalk(a, family, $"{Owner(second)} layout: [Embedding], then per decoder layer [LayerNorm(Bias = false)] {(second ? "[Attention(…)]" : "[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)]")} "
                + "[Branch] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)] "
                + "[Residual(Layers = 6)], then [LayerNorm(Bias = false)] [Dense(V, TieEmbedding = true, Bias = false)] [Scale(logit_scale)]");
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            var blocks = new List<CohereBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var norm = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([LayerNorm(Bias = false)]: Cohere's layer norm has no shift)", x => !x.Bias);
                var self = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ({attention})", x => AttentionFits(x, second));
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
            if (at < l.Count) throw walk.Differs(at, $"nothing ({family} ends with its output layer and the logits' [Scale(logit_scale)])");
            if (second && !blocks.Any(b => b.Attention.RotaryBase > 0f))
                throw new ArgumentException($"{a.Name} is not laid out as Cohere 2: none of its {blocks.Count} decoder layers slides ([Attention(…, Rotary = true, SlidingWindow = w)]); Cohere 2's checkpoints have sliding layers");
            return new CohereLayout(second, embedding, blocks, last, output, logitScale);
        }

        /// <summary>
        /// A causal attention over whole heads, its biases all there or none: Cohere's turned, no window; Cohere 2's turned with a
        /// window (a sliding layer) or neither (a full one).
        /// </summary>
        private static bool AttentionFits(AttentionInfo x, bool second)
        {
            bool turned = x.RotaryBase > 0f;
            AttentionInfo plain = second ? x with { SlidingWindow = 0, RotaryBase = turned ? x.RotaryBase : 1f } : x;
            return IsPlainRotaryCausal(plain) && x.RotaryDimensions == 0 && x.OutputBias == x.Bias && (!second || turned == x.SlidingWindow > 0);
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
            foreach (CohereBlock b in Blocks.Where(b => b.Attention.RotaryBase > 0f)) // (Cohere 2's full layers turn nothing: their rows as they are)
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
            // (Cohere 2's layers differ by their kind alone: turned and windowed, or neither)
            AttentionInfo Plain(AttentionInfo x) => Second ? x with { Name = a.Name, RotaryBase = 0f, SlidingWindow = 0 } : x with { Name = a.Name };
            foreach (CohereBlock b in Blocks.Skip(1).Where(b => Plain(b.Attention) != Plain(a)).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}': {Family}'s layers are alike (one num_attention_heads, num_key_value_heads, rope_theta and attention_bias)");
            AttentionInfo turned = Turned;
            foreach (CohereBlock b in Blocks.Where(b => b.Attention.RotaryBase > 0f && b.Attention.RotaryBase != turned.RotaryBase).Take(1))
                problems.Add($"'{b.Attention.Name}' has RotaryBase {Number(b.Attention.RotaryBase)} and '{turned.Name}' {Number(turned.RotaryBase)}: {Family}'s layers share rope_theta");
            foreach (CohereBlock b in Blocks.Where(b => b.Attention.SlidingWindow > 0 && b.Attention.SlidingWindow != turned.SlidingWindow).Take(1))
                problems.Add($"'{b.Attention.Name}' has SlidingWindow {b.Attention.SlidingWindow} and '{turned.Name}' {turned.SlidingWindow}: {Family}'s sliding layers share sliding_window");
            foreach (CohereBlock b in Blocks.Skip(1).Where(b => b.Mlp.Units != first.Mlp.Units || b.Mlp.Activation != first.Mlp.Activation).Take(1))
                problems.Add($"'{b.Mlp.Name}' differs from '{first.Mlp.Name}': {Family}'s layers are alike (one intermediate_size and hidden_act)");
            NormsAlike(Blocks.Select(b => b.Norm).Append(Norm), first.Norm, problems, Family, "layer_norm_eps");
            RequireNamedActivation(first.Mlp.Name, first.Mlp.Activation, problems);
        }

        /// <summary>What config.json says against what the model declares (CohereConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == (Second ? "cohere2" : "cohere"), Second ? "LoadCohere2 reads Cohere 2's checkpoints (\"cohere2\"; LoadCohere reads cohere's)"
                : "LoadCohere reads Cohere's checkpoints (\"cohere\"; LoadCohere2 reads cohere2's)")) return;
            // (the turned attention first: the one whose rotation rope_theta describes)
            AttentionInfo[] attentions = [Turned, .. Blocks.Select(b => b.Attention).Where(x => x != Turned)];
            CheckLlamaLikeConfig(c, problems, Family, LlamaLikeDefaults.Cohere, Embedding, attentions, Blocks[0].Mlp, Output);
            if (Second) CheckLayerTypes(c, problems);
            // (CohereConfig's default base moved from 10000 in transformers 4 to 500000 in 5: a configuration must say which it means)
            if (Value(c, "rope_theta") is null && Value(c, "rope_parameters") is null)
                problems.Add($"rope_theta is not given: transformers 4 reads {Family}'s rotary base as 10000 and transformers 5 as 500000; state it in config.json");
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

        /// <summary>
        /// Cohere 2's layers against the configuration's: each "sliding_attention" layer (<c>layer_types</c>, else all but each
        /// <c>sliding_window_pattern</c>-th, 4 by default) turned and windowed by <c>sliding_window</c> (4096 by default), each
        /// "full_attention" one neither; a <c>sliding_window</c> of null is refused (transformers' Cohere 2 masks its sliding layers by it).
        /// </summary>
        private void CheckLayerTypes(JsonElement c, List<string> problems)
        {
            if (SlidingLayers(c, Blocks.Count, "sliding_window_pattern", 4, problems) is not { } slides) return;
            int window = ConfiguredWindow(c, problems);
            if (window < 0) return;
            if (window == 0)
            {
                problems.Add("sliding_window is null: Cohere 2's sliding layers are masked by it, which transformers' Cohere 2 needs given");
                return;
            }
            for (int i = 0; i < Blocks.Count; i++)
            {
                AttentionInfo a = Blocks[i].Attention;
                if (slides[i] && (a.SlidingWindow != window || a.RotaryBase <= 0f))
                    problems.Add($"layer {i} is \"sliding_attention\": declare '{a.Name}' with Rotary = true and SlidingWindow = {window} (sliding_window)");
                else if (!slides[i] && (a.SlidingWindow != 0 || a.RotaryBase > 0f))
                    problems.Add($"layer {i} is \"full_attention\": declare '{a.Name}' without Rotary or SlidingWindow ({Family}'s full layers turn nothing and see every earlier step)");
            }
        }

        /// <summary>The config.json of this layout, as transformers' CohereConfig (Cohere2Config) writes its fields.</summary>
        public byte[] Config()
        {
            CohereBlock first = Blocks[0];
            return ConfigJson(w =>
            {
                WriteLlamaLikeConfig(w, Second ? "Cohere2ForCausalLM" : "CohereForCausalLM", Second ? "cohere2" : "cohere", Embedding, Blocks.Count, Turned, first.Mlp, Tied);
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(first.Norm.Epsilon));
                w.WritePropertyName("logit_scale");
                w.WriteRawValue(JsonFloat(LogitFactor));
                if (!Second)
                {
                    w.WriteBoolean("use_qk_norm", false);
                    return;
                }
                w.WriteNumber("sliding_window", Turned.SlidingWindow);
                w.WriteStartArray("layer_types");
                foreach (CohereBlock b in Blocks) w.WriteStringValue(b.Attention.SlidingWindow > 0 ? "sliding_attention" : "full_attention");
                w.WriteEndArray();
            });
        }
    }
}
