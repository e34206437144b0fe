using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a GPT-NeoX checkpoint — transformers' <c>GPTNeoXForCausalLM</c> (EleutherAI's pythia-14m … pythia-12b and their deduped
    /// runs, gpt-neox-20b, and the models fine-tuned from them) — into <paramref name="model"/>, declared as GPT-NeoX's layers. Its
    /// blocks are parallel (<c>use_parallel_residual</c>, the default: x + attn(ln₁(x)) + mlp(ln₂(x))), each a <c>[Branch]</c> back to
    /// its input and two residuals adding the branches:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per block (num_hidden_layers of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = num_attention_heads, Causal = true, Rotary = true, RotaryBase = rotary_emb_base, RotaryDimensions = r)]
    /// [Branch(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(intermediate_size, Activation = Activation.Gelu)] [Dense(hidden_size)]
    /// [Residual(Layers = 4)] [Residual(Layers = 7)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// or, with <c>use_parallel_residual</c> false, sequential blocks: <c>[LayerNorm] [Attention(…)] [Residual(Layers = 2)]
    /// [LayerNorm] [Dense(I)] [Dense(E)] [Residual(Layers = 3)]</c>. r = int(head size · <c>rotary_pct</c>) values of each head are
    /// turned (rotate-half, as LLaMA's), the rest passed. A <c>[Dropout]</c> may stand after the embedding, after the attention and after the feed-forward
    /// (<c>hidden_dropout</c>), and <c>[Attention(Dropout = p)]</c> is <c>attention_dropout</c>. <c>embed_in</c> goes into the embedding;
    /// each block's <c>attention.query_key_value</c> (its rows head by head, each head's query, key and value together) into the
    /// attention's <c>in_proj_weight</c> and <c>in_proj_bias</c>, <c>attention.dense</c> into <c>out_proj</c>, <c>mlp.dense_h_to_4h</c> and
    /// <c>mlp.dense_4h_to_h</c> into the two Dense layers, <c>input_layernorm</c>, <c>post_attention_layernorm</c> and
    /// <c>final_layer_norm</c> into the norms, <c>embed_out</c> into the output layer (or, tied, the table). The names with or without the
    /// <c>gpt_neox.</c> prefix are read; older checkpoints' buffers (<c>attention.bias</c>, <c>attention.masked_bias</c>,
    /// <c>attention.rotary_emb.inv_freq</c>) are left.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GPTNeoXConfig's defaults for what it leaves out: <c>vocab_size</c> (50432), <c>hidden_size</c> (6144),
    /// <c>num_hidden_layers</c> (44), <c>num_attention_heads</c> (64), <c>intermediate_size</c> (24576), <c>hidden_act</c> ("gelu"),
    /// <c>rotary_pct</c> or <c>partial_rotary_factor</c> (0.25), <c>rotary_emb_base</c> or <c>rope_theta</c> (10000),
    /// <c>layer_norm_eps</c> (1e-5), <c>use_parallel_residual</c> (true), <c>attention_bias</c> (true) and <c>tie_word_embeddings</c>
    /// (false); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-NeoX (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGptNeoX(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "GPT-NeoX's", GptNeoXLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), GptNeoXLayout.Prefix, "GPT-NeoX");
        CheckTiedHead(tensors, GptNeoXLayout.Head, GptNeoXLayout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => GptNeoXLayout.IsBuffer(name) || layout.Tied && name == GptNeoXLayout.Head, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as GPT-NeoX (see <see cref="LoadGptNeoX"/>), as a <c>GPTNeoXForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names
    /// (<c>gpt_neox.embed_in</c>, <c>gpt_neox.layers.{i}.…</c>, <c>gpt_neox.final_layer_norm</c>, <c>embed_out</c>), each attention's q,
    /// k and v rows laid head by head into <c>query_key_value</c> again, and the <c>config.json</c> that describes it, so that
    /// transformers' <c>GPTNeoXForCausalLM.from_pretrained(folder)</c> and <see cref="LoadGptNeoX"/> read it back. Both files are built
    /// first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-NeoX, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveGptNeoX(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        GptNeoXLayout layout = GptNeoXLayout.Of(Architecture(model, "GPT-NeoX's"));
        RefuseUnlike(model.Architecture!.Name, "GPT-NeoX", layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), GptNeoXLayout.Prefix, GptNeoXLayout.Head);
    }

    /// <summary>
    /// A GPT-NeoX block's parts: input_layernorm, the attention, post_attention_layernorm and the feed-forward's two Dense layers
    /// (mlp.dense_h_to_4h and dense_4h_to_h); <see cref="Parallel"/>: the feed-forward reads the block's input beside the attention.
    /// </summary>
    private sealed record GptNeoXBlock(LayerNormInfo First, AttentionInfo Attention, LayerNormInfo Second, DenseInfo Up, DenseInfo Down, bool Parallel);

    /// <summary>A model's layers matched to GPT-NeoX's: the token table, the blocks (parallel or sequential), final_layer_norm and embed_out.</summary>
    private sealed record GptNeoXLayout(EmbeddingInfo Embedding, IReadOnlyList<GptNeoXBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        public const string Prefix = "gpt_neox.", Head = "embed_out.weight", Table = "embed_in.weight";

        public bool Tied => Output.TiedTo is not null;

        /// <summary>The buffers older checkpoints keep beside the weights (the causal mask, its fill value, the rotation's frequencies).</summary>
        public static bool IsBuffer(string name) => name.StartsWith("layers.", StringComparison.Ordinal)
            && (name.EndsWith(".attention.bias", StringComparison.Ordinal) || name.EndsWith(".attention.masked_bias", StringComparison.Ordinal)
                || IsRotaryBuffer(name));

        public static GptNeoXLayout Of(ModelArchitecture a)
        {
            const string expected = "GPT-NeoX's layout: [Embedding], then per block [LayerNorm] [Attention(Heads = h, Causal = true, Rotary = true)] [Branch(Layers = 2)] "
                + "[LayerNorm] [Dense(I, Activation = Activation.Gelu)] [Dense(E)] [Residual(Layers = 4)] [Residual(Layers = 7)] (use_parallel_residual; or the sequential "
                + "[LayerNorm] [Attention] [Residual(Layers = 2)] [LayerNorm] [Dense(I)] [Dense(E)] [Residual(Layers = 3)]), then [LayerNorm] [Dense(V, Bias = false)]; "
                + "a [Dropout] may stand after the embedding, after the attention and after the feed-forward (hidden_dropout)";
            var walk = new LayerWalk(a, "GPT-NeoX", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_in: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = walk.Dropout(1); // (hidden_dropout's after the embedding)
            var blocks = new List<GptNeoXBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var first = walk.At<LayerNormInfo>(at++, $"block {n}'s input_layernorm ([LayerNorm])", x => x.Bias);
                var attention = walk.At<AttentionInfo>(at++, $"block {n}'s attention ([Attention(Heads = h, Causal = true, Rotary = true)], RotaryDimensions for a rotary_pct below 1)",
                    x => IsPlainRotaryCausal(x) && x is { KeyValueHeads: 0 } && x.OutputBias == x.Bias);
                at = walk.Dropout(at); // (hidden_dropout's, after the attention's output projection)
                int attended = at - 1;
                // parallel: a branch back to the block's input; sequential: the residual around the attention
                bool parallel = at < l.Count && l[at] is BranchInfo;
                if (parallel) walk.At<BranchInfo>(at++, $"block {n}'s branch back to its input for the feed-forward ([Branch(Layers = 2)], or 3 over a [Dropout])", b => b.From == start - 1);
                else walk.At<ResidualInfo>(at++, $"block {n}'s branch ([Branch(Layers = 2)]: use_parallel_residual) or residual around the attention ([Residual(Layers = 2)])", r => r.From == start - 1);
                int second0 = at - 1;
                var second = walk.At<LayerNormInfo>(at++, $"block {n}'s post_attention_layernorm ([LayerNorm])", x => x.Bias);
                var up = walk.At<DenseInfo>(at++, $"block {n}'s mlp.dense_h_to_4h ([Dense(I, Activation = Activation.Gelu)])",
                    d => d is { Gated: false, TiedTo: null, SoftCap: 0f, Bias: true } && d.Activation != Activation.None);
                var down = walk.At<DenseInfo>(at++, $"block {n}'s mlp.dense_4h_to_h ([Dense({width})])",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f, Bias: true } && d.Units == width);
                at = walk.Dropout(at);
                if (parallel) walk.BranchesAdded(ref at, $"block {n}", attended, start - 1, 4, 7); // (the feed-forward's output plus the attention's and the block's input)
                else walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == second0);
                blocks.Add(new GptNeoXBlock(first, attention, second, up, down, parallel));
            }
            if (blocks.Count == 0) throw walk.Differs(walk.Dropout(1), "block 0's input_layernorm ([LayerNorm]) and attention ([Attention(Causal = true, Rotary = true)])");
            var (norm, output) = walk.LastNormAndHead(at, "final_layer_norm ([LayerNorm])", $"embed_out: [Dense({embedding.Vocabulary}, Bias = false)]", embedding.Vocabulary);
            return new GptNeoXLayout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint (without the <c>gpt_neox.</c> prefix): query_key_value's rows read head by head.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                GptNeoXBlock b = Blocks[i];
                string hf = $"layers.{i}.";
                BertLayout.AddNorm(s, b.First, hf + "input_layernorm");
                s[b.Attention.Name + ".in_proj_weight"] = BloomLayout.HeadByHead(hf + "attention.query_key_value.weight", b.Attention.Heads, b.Attention.HeadSize);
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + "attention.dense.weight", width)];
                if (b.Attention.Bias)
                {
                    s[b.Attention.Name + ".in_proj_bias"] = BloomLayout.HeadByHead(hf + "attention.query_key_value.bias", b.Attention.Heads, b.Attention.HeadSize);
                    s[b.Attention.Name + ".out_proj.bias"] = [(hf + "attention.dense.bias", width)];
                }
                BertLayout.AddNorm(s, b.Second, hf + "post_attention_layernorm");
                BertLayout.AddDense(s, b.Up, hf + "mlp.dense_h_to_4h");
                BertLayout.AddDense(s, b.Down, hf + "mlp.dense_4h_to_h");
            }
            BertLayout.AddNorm(s, Norm, "final_layer_norm");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>What one configuration cannot say: blocks whose heads, rotation, feed-forward, biases, residuals or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            GptNeoXBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (GptNeoXBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.RotaryWidth != a.RotaryWidth
                || b.Attention.RotaryBase != a.RotaryBase || b.Attention.Bias != a.Bias).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, rotation or biases): GPT-NeoX's blocks are alike (one num_attention_heads, rotary_pct, rotary_emb_base and attention_bias)");
            foreach (GptNeoXBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units || b.Up.Activation != first.Up.Activation).Take(1))
                problems.Add($"'{b.Up.Name}' differs from '{first.Up.Name}': GPT-NeoX's blocks are alike (one intermediate_size, one hidden_act)");
            foreach (GptNeoXBlock b in Blocks.Skip(1).Where(b => b.Parallel != first.Parallel).Take(1))
                problems.Add($"block {Blocks.ToList().IndexOf(b)} is {(b.Parallel ? "parallel" : "sequential")} and block 0 {(first.Parallel ? "parallel" : "sequential")}: GPT-NeoX's blocks are alike (one use_parallel_residual)");
            NormsAlike(Norms(), first.First, problems, "GPT-NeoX", "layer_norm_eps");
            if (FeedForwardActivationName(first.Up.Activation) is null)
                problems.Add($"'{first.Up.Name}' takes {first.Up.Activation}, which no hidden_act names");
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.First, b.Second }).Append(Norm);

        /// <summary>What config.json says against what the model declares (GPTNeoXConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "gpt_neox", "LoadGptNeoX reads GPT-NeoX's checkpoints (\"gpt_neox\")")) return;
            GptNeoXBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50432);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 6144);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its blocks", 44);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 64);
            ConfigInt(c, problems, "intermediate_size", first.Up.Units, $"'{first.Up.Name}'", 24576);
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "hidden_act", Activation.Gelu, Blocks.Select(b => b.Up), problems);
            ConfigEpsilon(c, problems, "layer_norm_eps", 1e-5, Norms());
            // the rotation: int(head size · rotary_pct) values of each head at rotary_emb_base (GPTNeoXConfig's own keys, which its
            // partial_rotary_factor and rope_theta copy; newer transformers keep them in rope_parameters)
            CheckPartialRotation(c, problems, a, "GPT-NeoX", "rotary_pct", 0.25, "rotary_emb_base");
            ConfigFlag(c, problems, "use_parallel_residual", Blocks, b => b.Parallel,
                b => b.Parallel ? $"parallel blocks ([Branch] back to each block's input)" : "sequential blocks (a [Residual] around the attention, no [Branch])", fallback: true);
            ConfigFlag(c, problems, "attention_bias", Blocks, b => b.Attention.Bias, b => $"'{b.Attention.Name}' with{(b.Attention.Bias ? "" : "out")} biases", fallback: true);
            bool tie = Value(c, "tie_word_embeddings") is { ValueKind: JsonValueKind.True };
            if (tie != Tied)
                problems.Add(tie ? $"tie_word_embeddings is true: declare '{Output.Name}' with TieEmbedding = true"
                    : $"tie_word_embeddings is false{(Value(c, "tie_word_embeddings") is null ? " (its default)" : "")}, but '{Output.Name}' is tied to the embedding (TieEmbedding = true)");
        }

        /// <summary>The config.json of this layout, as transformers' GPTNeoXConfig writes its fields.</summary>
        public byte[] Config()
        {
            GptNeoXBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "GPTNeoXForCausalLM", null);
                w.WriteString("model_type", "gpt_neox");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("intermediate_size", first.Up.Units);
                w.WriteString("hidden_act", FeedForwardActivationName(first.Up.Activation));
                w.WriteNumber("rotary_pct", RotaryFraction(a));
                w.WritePropertyName("rotary_emb_base");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WriteBoolean("use_parallel_residual", first.Parallel);
                w.WriteBoolean("attention_bias", a.Bias);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteNull("rope_scaling");
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
