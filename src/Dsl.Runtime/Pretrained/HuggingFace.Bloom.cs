using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a BLOOM checkpoint — transformers' <c>BloomForCausalLM</c> (bigscience's bloom-560m … bloom-7b1, bloomz and the
    /// models fine-tuned from them) — into <paramref name="model"/>, declared as BLOOM's layers:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)] [LayerNorm(Epsilon = ε)]
    /// // per block (n_layer of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = n_head, Causal = true, Alibi = true)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(4 · hidden_size, Activation = Activation.GeluTanh)] [Dense(hidden_size)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// BLOOM has no position embedding: its heads add ALiBi's bias (BLOOM's <c>build_alibi_tensor</c> adds m_h · j, the key's
    /// position, which differs from <c>Alibi</c>'s −m_h · (i − j) by a constant along each causal row: the same softmax). A
    /// <c>[Dropout]</c> may stand before each residual (<c>hidden_dropout</c>), and <c>[Attention(Dropout = p)]</c> is
    /// <c>attention_dropout</c>. <c>word_embeddings</c> and <c>word_embeddings_layernorm</c> go into the embedding and the norm after
    /// it; each block's <c>self_attention.query_key_value</c> into the attention's <c>in_proj_weight</c> and <c>in_proj_bias</c>
    /// (BLOOM's fused rows lie head by head, each head's query, key and value rows together: they are read into q, k and v side by
    /// side, as nn.MultiheadAttention stacks them), <c>self_attention.dense</c> into <c>out_proj</c>, <c>mlp.dense_h_to_4h</c> and
    /// <c>mlp.dense_4h_to_h</c> into the two Dense layers, <c>input_layernorm</c>, <c>post_attention_layernorm</c> and <c>ln_f</c>
    /// into the norms. The names with or without the <c>transformer.</c> prefix are read.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with BloomConfig's defaults for what it leaves out: <c>vocab_size</c> (250880), <c>hidden_size</c> (or
    /// <c>n_embed</c>; 64), <c>n_layer</c> (2), <c>n_head</c> (8), <c>layer_norm_epsilon</c> (1e-5) and <c>tie_word_embeddings</c>
    /// (true). The residual taken after the norm (<c>apply_residual_connection_post_layernorm</c>) is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as BLOOM (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadBloom(IModel model, string path) => LoadAlibiDecoder(model, path, mpt: false);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as BLOOM (see <see cref="LoadBloom"/>), as a <c>BloomForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names
    /// (<c>transformer.word_embeddings</c>, <c>transformer.h.{i}.…</c>, <c>transformer.ln_f</c>, an untied <c>lm_head</c>), each
    /// attention's q, k and v rows laid head by head into <c>query_key_value</c> again, and the <c>config.json</c> that describes
    /// it, so that transformers' <c>BloomForCausalLM.from_pretrained(folder)</c> and <see cref="LoadBloom"/> read it back. Both
    /// files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as BLOOM, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveBloom(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ModelArchitecture architecture = Architecture(model, "BLOOM's");
        SaveAlibiDecoder(BloomLayout.Of(architecture, mpt: false), model, folder);
    }

    /// <summary>
    /// Loads an MPT checkpoint — transformers' <c>MptForCausalLM</c> and mosaicml's own (mpt-7b, mpt-7b-instruct, mpt-30b and the
    /// models fine-tuned from them) — into <paramref name="model"/>, declared as MPT's layers:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: d_model)]
    /// // per block (n_layers of them):
    /// [LayerNorm(Epsilon = ε, Bias = false)] [Attention(Heads = n_heads, Causal = true, Alibi = true, Bias = false)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε, Bias = false)] [Dense(expansion_ratio · d_model, Activation = Activation.Gelu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε, Bias = false)] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// MPT has no position embedding when its <c>attn_config</c> says <c>alibi</c>: its heads add ALiBi's bias
    /// (<c>build_mpt_alibi_tensor</c>'s m_h · (j − (T − 1)), a constant along each causal row away from <c>Alibi</c>'s; its slopes
    /// for a number of heads not a power of two, reordered from the power of two above, are the paper's). <c>transformer.wte</c>
    /// goes into the embedding, each block's <c>attn.Wqkv</c> (q, k and v side by side) into the attention's <c>in_proj_weight</c>,
    /// <c>attn.out_proj</c> into <c>out_proj</c>, <c>ffn.up_proj</c> and <c>ffn.down_proj</c> into the two Dense layers,
    /// <c>norm_1</c>, <c>norm_2</c> and <c>norm_f</c> into the norms. A <c>[Dropout]</c> may stand before each residual
    /// (<c>resid_pdrop</c>).
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with MptConfig's defaults for what it leaves out: <c>vocab_size</c> (50368), <c>d_model</c> (2048),
    /// <c>n_layers</c> (24), <c>n_heads</c> (16), <c>expansion_ratio</c> (4), <c>layer_norm_epsilon</c> (1e-5); <c>attn_config</c>'s
    /// <c>alibi</c> must be true (MPT's learned positions are not laid out) with <c>alibi_bias_max</c> 8, and its <c>clip_qkv</c>,
    /// <c>qk_ln</c>, a <c>softmax_scale</c> other than 1/√d, and <c>no_bias</c> false are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as MPT (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadMpt(IModel model, string path) => LoadAlibiDecoder(model, path, mpt: true);

    /// <summary>
    /// A BLOOM or MPT checkpoint into <paramref name="model"/>: its config.json checked, its tensors read with or without the
    /// <c>transformer.</c> prefix, a tied head's copy checked against the table; nothing loaded unless everything fits.
    /// </summary>
    private static void LoadAlibiDecoder(IModel model, string path, bool mpt)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, mpt ? "MPT's" : "BLOOM's", a => BloomLayout.Of(a, mpt), (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), "transformer.", layout.Family);
        CheckTiedHead(tensors, BloomLayout.Head, layout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => layout.Tied && name == BloomLayout.Head, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as MPT (see <see cref="LoadMpt"/>), as an <c>MptForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under its names (<c>transformer.wte</c>,
    /// <c>transformer.blocks.{i}.…</c>, <c>transformer.norm_f</c>) and the <c>config.json</c> that describes it (ALiBi in its
    /// <c>attn_config</c>), which transformers' <c>MptForCausalLM.from_pretrained(folder)</c> and <see cref="LoadMpt"/> read back.
    /// Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as MPT, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveMpt(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        SaveAlibiDecoder(BloomLayout.Of(Architecture(model, "MPT's"), mpt: true), model, folder);
    }

    /// <summary>A BLOOM or MPT model's checkpoint: its blocks checked alike, its tensors under the <c>transformer.</c> prefix (the head's apart), its config.json.</summary>
    private static void SaveAlibiDecoder(BloomLayout layout, IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var unlike = new List<string>();
        layout.CheckAlike(unlike);
        // (MPT's checkpoints read lm_head as the token table, mosaicml's always: LoadMpt refuses a head of its own, and so does this)
        if (layout.Mpt && !layout.Tied) unlike.Add($"'{layout.Output.Name}' has a weight of its own, but MPT's lm_head is its token table (declare it with TieEmbedding = true)");
        if (layout.Mpt && layout.Blocks[0].Up.Units != 4 * layout.Embedding.Dim)
            unlike.Add($"'{layout.Blocks[0].Up.Name}' has {layout.Blocks[0].Up.Units} units, where transformers' MPT takes 4 · d_model ({4 * layout.Embedding.Dim}; its MptMLP reads no expansion_ratio)");
        RefuseUnlike(unlike, model.Architecture!.Name, layout.Family);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), "transformer.", BloomLayout.Head);
    }

    /// <summary>
    /// A BLOOM or MPT block's parts: the first norm (input_layernorm, norm_1), the attention (self_attention, attn), the second norm
    /// (post_attention_layernorm, norm_2) and the feed-forward's two Dense layers (mlp.dense_h_to_4h and dense_4h_to_h, ffn.up_proj
    /// and down_proj).
    /// </summary>
    private sealed record BloomBlock(LayerNormInfo First, AttentionInfo Attention, LayerNormInfo Second, DenseInfo Up, DenseInfo Down);

    /// <summary>
    /// A model's layers matched to BLOOM's (the token table and its norm, the blocks, ln_f and the output layer) or, <see cref="Mpt"/>,
    /// MPT's (the same pre-norm ALiBi blocks without biases, no norm after the token table, GELU's exact form).
    /// </summary>
    private sealed record BloomLayout(EmbeddingInfo Embedding, LayerNormInfo? EmbeddingNorm, IReadOnlyList<BloomBlock> Blocks, LayerNormInfo Norm, DenseInfo Output, bool Mpt = false)
    {
        public const string Head = "lm_head.weight";

        /// <summary>The token table's name in the checkpoint (without the <c>transformer.</c> prefix).</summary>
        public string Table => Mpt ? "wte.weight" : "word_embeddings.weight";

        /// <summary>The family, as the errors name it.</summary>
        public string Family => Mpt ? "MPT" : "BLOOM";

        public bool Tied => Output.TiedTo is not null;

        public static BloomLayout Of(ModelArchitecture a, bool mpt)
        {
            string expected = mpt
                ? "MPT's layout: [Embedding], then per block [LayerNorm(Bias = false)] [Attention(Heads = h, Causal = true, Alibi = true, Bias = false)] [Residual(Layers = 2)] "
                    + "[LayerNorm(Bias = false)] [Dense(I, Activation = Activation.Gelu, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)], then [LayerNorm(Bias = false)] "
                    + "[Dense(V, TieEmbedding = true, Bias = false)]; a [Dropout] may stand before each residual (MPT's resid_pdrop)"
                : "BLOOM's layout: [Embedding] [LayerNorm], then per block [LayerNorm] [Attention(Heads = h, Causal = true, Alibi = true)] [Residual(Layers = 2)] "
                    + "[LayerNorm] [Dense(4 · E, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)], then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)]; "
                    + "a [Dropout] may stand before each residual (BLOOM's hidden_dropout)";
            var walk = new LayerWalk(a, mpt ? "MPT" : "BLOOM", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            bool bias = !mpt;
            var embedding = walk.At<EmbeddingInfo>(0, $"the token table ({(mpt ? "wte" : "word_embeddings")}: an [Embedding], unscaled)", e => e.Scale == 1f);
            var embeddingNorm = mpt ? null : walk.At<LayerNormInfo>(1, "word_embeddings_layernorm ([LayerNorm])", x => x.Bias);
            int width = embedding.Dim, at = mpt ? 1 : 2, first0 = at;
            var (firstName, attentionName, secondName, upName, downName) = mpt
                ? ("norm_1", "attn", "norm_2", "ffn.up_proj", "ffn.down_proj")
                : ("input_layernorm", "self_attention", "post_attention_layernorm", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h");
            var blocks = new List<BloomBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var first = walk.At<LayerNormInfo>(at++, $"block {n}'s {firstName} ({(mpt ? "[LayerNorm(Bias = false)]" : "[LayerNorm]")})", x => x.Bias == bias);
                var attention = walk.At<AttentionInfo>(at++, $"block {n}'s {attentionName} ([Attention(Heads = h, Causal = true, Alibi = true{(mpt ? ", Bias = false" : "")})])",
                    x => x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false, RotaryBase: 0f,
                        KeyValueHeads: 0, SlidingWindow: 0, HeadWidth: 0, QueryKeyNorm: false, Scale: 0f, SoftCap: 0f, RelativeBuckets: 0, Alibi: true, AlibiScaled: false } && x.Bias == bias && x.OutputBias == bias);
                at = walk.Dropout(at); // (hidden_dropout's, resid_pdrop's: after the attention's output projection)
                int residual = at;
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
                var second = walk.At<LayerNormInfo>(at++, $"block {n}'s {secondName} ({(mpt ? "[LayerNorm(Bias = false)]" : "[LayerNorm]")})", x => x.Bias == bias);
                Activation act = mpt ? Activation.Gelu : Activation.GeluTanh;
                var up = walk.At<DenseInfo>(at++, $"block {n}'s {upName} ([Dense({(mpt ? "I" : 4 * width)}, Activation = Activation.{act}{(mpt ? ", Bias = false" : "")})])",
                    d => d is { Gated: false, TiedTo: null, SoftCap: 0f } && d.Activation == act && d.Bias == bias && (mpt || d.Units == 4 * width));
                var down = walk.At<DenseInfo>(at++, $"block {n}'s {downName} ([Dense({width}{(mpt ? ", Bias = false" : "")})])",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Bias == bias && d.Units == width);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == residual);
                blocks.Add(new BloomBlock(first, attention, second, up, down));
            }
            if (blocks.Count == 0) throw walk.Differs(first0, $"block 0's {firstName} ([LayerNorm]) and {attentionName} ([Attention(Causal = true, Alibi = true)])");
            var (norm, output) = walk.LastNormAndHead(at, $"the last norm ({(mpt ? "norm_f: [LayerNorm(Bias = false)]" : "ln_f: [LayerNorm]")})",
                $"lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)]", embedding.Vocabulary, normBias: bias);
            return new BloomLayout(embedding, embeddingNorm, blocks, norm, output, mpt);
        }

        /// <summary>
        /// Each parameter's tensors in the checkpoint (without the <c>transformer.</c> prefix): BLOOM's attention's q, k and v rows each
        /// gathered head by head from <c>query_key_value</c>, whose rows lie [heads, 3, d] (BLOOM's <c>_split_heads</c>); MPT's
        /// <c>attn.Wqkv</c> holds them side by side, as <c>in_proj_weight</c> does.
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)] };
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            // each part's name: BLOOM's, or MPT's
            var (blocks, first, qkv, output, second, up, down, last) = Mpt
                ? ("blocks", "norm_1", "attn.Wqkv", "attn.out_proj", "norm_2", "ffn.up_proj", "ffn.down_proj", "norm_f")
                : ("h", "input_layernorm", "self_attention.query_key_value", "self_attention.dense", "post_attention_layernorm", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h", "ln_f");
            if (EmbeddingNorm is not null) AddNorm(EmbeddingNorm, "word_embeddings_layernorm");
            for (int i = 0; i < Blocks.Count; i++)
            {
                BloomBlock b = Blocks[i];
                string hf = $"{blocks}.{i}.";
                int heads = b.Attention.Heads, d = b.Attention.HeadSize;
                // MPT's q, k and v side by side, as in_proj_weight; BLOOM's head by head
                ParameterSet.TensorRows[] Qkv(string tensor) => Mpt ? [(tensor, 3 * width)] : HeadByHead(tensor, heads, d);
                AddNorm(b.First, hf + first);
                s[b.Attention.Name + ".in_proj_weight"] = Qkv(hf + qkv + ".weight");
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + output + ".weight", width)];
                if (b.Attention.Bias)
                {
                    s[b.Attention.Name + ".in_proj_bias"] = Qkv(hf + qkv + ".bias");
                    s[b.Attention.Name + ".out_proj.bias"] = [(hf + output + ".bias", width)];
                }
                AddNorm(b.Second, hf + second);
                BertLayout.AddDense(s, b.Up, hf + up);
                BertLayout.AddDense(s, b.Down, hf + down);
            }
            AddNorm(Norm, last);
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>
        /// q's, k's and v's rows (in_proj_weight's, or its bias's) in a fused tensor whose rows lie [heads, 3, d], each head's query,
        /// key and value rows together (BLOOM's <c>_split_heads</c>, GPT-NeoX's <c>query_key_value</c>): see <see cref="Grouped"/>.
        /// </summary>
        public static ParameterSet.TensorRows[] HeadByHead(string tensor, int heads, int d) => Grouped(tensor, heads, heads, d);

        /// <summary>
        /// q's, k's and v's rows in a fused tensor whose rows lie [kv groups, heads / kv + 2, d]: each group's query heads, then its
        /// key head and its value head (Falcon's <c>query_key_value</c>; one group is the queries, the key and the value side by side,
        /// as many as the heads each head's q, k and v together): q, then k, then v, as in_proj_weight stacks them.
        /// </summary>
        public static ParameterSet.TensorRows[] Grouped(string tensor, int heads, int kv, int d)
        {
            int per = heads / kv, rows = (heads + 2 * kv) * d;
            IEnumerable<ParameterSet.TensorRows> queries = Enumerable.Range(0, heads).Select(h => new ParameterSet.TensorRows(tensor, d, ((h / per) * (per + 2) + h % per) * d, rows));
            IEnumerable<ParameterSet.TensorRows> Part(int at) => Enumerable.Range(0, kv).Select(g => new ParameterSet.TensorRows(tensor, d, (g * (per + 2) + at) * d, rows));
            return queries.Concat(Part(per)).Concat(Part(per + 1)).ToArray();
        }

        /// <summary>What config.json says against what the model declares (BloomConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (Mpt)
            {
                CheckMptConfig(c, problems);
                return;
            }
            if (!ReadsModelType(c, problems, t => t == "bloom", $"LoadBloom reads BLOOM's checkpoints (\"bloom\")")) return;
            BloomBlock first = Blocks[0];
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 250880);
            // (BloomConfig takes n_embed for hidden_size, as bigscience's configurations write it)
            ConfigInt(c, problems, Value(c, "n_embed") is null ? "hidden_size" : "n_embed", Embedding.Dim, $"'{Embedding.Name}'", 64);
            ConfigInt(c, problems, "n_layer", Blocks.Count, "its blocks", 2);
            ConfigInt(c, problems, "n_head", first.Attention.Heads, $"'{first.Attention.Name}'", 8);
            CheckAlike(problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Norms());
            ConfigOff(c, problems, "apply_residual_connection_post_layernorm", "BLOOM's residual taken after the norm is not laid out here");
            bool tie = Value(c, "tie_word_embeddings") is not { ValueKind: JsonValueKind.False };
            if (tie != Tied)
                problems.Add(tie ? $"tie_word_embeddings is true{(Value(c, "tie_word_embeddings") is null ? " (its default)" : "")}: declare '{Output.Name}' with TieEmbedding = true"
                    : $"tie_word_embeddings is false, but '{Output.Name}' is tied to the embedding (TieEmbedding = true)");
        }

        /// <summary>
        /// MptConfig's keys against the model (its defaults for what it leaves out): the sizes, ALiBi in <c>attn_config</c> (its
        /// maximum bias 8, the paper's slopes), and what is not laid out here refused.
        /// </summary>
        private void CheckMptConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "mpt", $"LoadMpt reads MPT's checkpoints (\"mpt\")")) return;
            BloomBlock first = Blocks[0];
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50368);
            ConfigInt(c, problems, "d_model", Embedding.Dim, $"'{Embedding.Name}'", 2048);
            ConfigInt(c, problems, "n_layers", Blocks.Count, "its blocks", 24);
            ConfigInt(c, problems, "n_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 16);
            // (llm-foundry takes a fractional ratio too: int(d_model · expansion_ratio) units)
            JsonElement? given = Value(c, "expansion_ratio");
            if (given is { } e && e.ValueKind != JsonValueKind.Number) problems.Add($"expansion_ratio is {e.GetRawText()}, not a number");
            else
            {
                double ratio = given?.GetDouble() ?? 4;
                long units = (long)Math.Floor(Embedding.Dim * ratio);
                if (first.Up.Units != units)
                    problems.Add($"expansion_ratio is {given?.GetRawText() ?? "4 (its default)"}: declare '{first.Up.Name}' with {units} units (d_model · expansion_ratio)");
            }
            CheckAlike(problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Norms());
            if (Value(c, "no_bias") is { ValueKind: JsonValueKind.False })
                problems.Add("no_bias is false: MPT's layers with biases are not laid out here (transformers' MPT has none)");
            JsonElement attention = Value(c, "attn_config") is { ValueKind: JsonValueKind.Object } a ? a : default;
            JsonElement? Attn(string key) => attention.ValueKind == JsonValueKind.Object ? Value(attention, key) : null;
            // (alibi is true by default, and transformers' MPT always adds ALiBi; false is llm-foundry's learned positions, wpe)
            if (Attn("alibi") is { } alibi && alibi.ValueKind != JsonValueKind.True)
                problems.Add($"attn_config's alibi is {alibi.GetRawText()}: MPT's learned positions are not laid out here (its ALiBi is: [Attention(Alibi = true)])");
            if (Attn("prefix_lm") is { ValueKind: JsonValueKind.True })
                problems.Add("attn_config's prefix_lm is true: a prefix attended both ways is not computed here (the attention is causal)");
            // llm-foundry's keys that change the outputs (transformers' MPT reads none of them)
            if (Value(c, "logit_scale") is { ValueKind: not JsonValueKind.Null } logitScale)
                problems.Add($"logit_scale is {logitScale.GetRawText()}: the logits scaled are not computed here");
            if (Value(c, "norm_type") is { ValueKind: JsonValueKind.String } normType && !(normType.GetString() is "layernorm" or "low_precision_layernorm"))
                problems.Add($"norm_type is {normType.GetRawText()}: MPT's norms here are layer norms without a shift (\"low_precision_layernorm\")");
            if (Value(c, "ffn_config") is { ValueKind: JsonValueKind.Object } ffn)
            {
                if (Value(ffn, "ffn_type") is { ValueKind: JsonValueKind.String } ffnType && ffnType.GetString() != "mptmlp")
                    problems.Add($"ffn_config's ffn_type is {ffnType.GetRawText()}: MPT's feed-forward here is \"mptmlp\" (up_proj, GELU, down_proj)");
                // (llm-foundry's default written out, {"name": "gelu", "approximate": "none"}, is the exact GELU)
                static bool ExactGelu(JsonElement act) => act.ValueKind == JsonValueKind.Object && Value(act, "name") is { ValueKind: JsonValueKind.String } name
                    && name.GetString() == "gelu" && (Value(act, "approximate") is not { } approximate || approximate.ValueKind == JsonValueKind.String && approximate.GetString() == "none");
                if (Value(ffn, "ffn_act_fn") is { } act && !ExactGelu(act))
                    problems.Add($"ffn_config's ffn_act_fn is {act.GetRawText()}: MPT's feed-forward here takes the exact GELU (the default)");
            }
            if (Attn("alibi_bias_max") is { } max && !(max.ValueKind == JsonValueKind.Number && max.GetDouble() == 8))
                problems.Add($"attn_config's alibi_bias_max is {max.GetRawText()}: ALiBi's slopes here are the paper's, a maximum of 8");
            if (Attn("clip_qkv") is { ValueKind: not JsonValueKind.Null } clip)
                problems.Add($"attn_config's clip_qkv is {clip.GetRawText()}: the queries, keys and values clamped are not computed here");
            if (Attn("qk_ln") is { ValueKind: JsonValueKind.True })
                problems.Add("attn_config's qk_ln is true: the queries' and keys' layer norms are not laid out here");
            if (Attn("softmax_scale") is { ValueKind: JsonValueKind.Number } scale && (float)scale.GetDouble() != (float)(1.0 / Math.Sqrt(first.Attention.HeadSize)))
                problems.Add($"attn_config's softmax_scale is {scale.GetRawText()}: the scores here are scaled by 1/√d");
            bool tie = Value(c, "tie_word_embeddings") is not { ValueKind: JsonValueKind.False };
            if (!tie) problems.Add($"tie_word_embeddings is false: MPT's lm_head is its token table; declare '{Output.Name}' with TieEmbedding = true");
            else if (!Tied) problems.Add($"tie_word_embeddings is true{(Value(c, "tie_word_embeddings") is null ? " (its default)" : "")}: declare '{Output.Name}' with TieEmbedding = true");
        }

        /// <summary>What one BLOOM or MPT configuration cannot say: blocks whose heads, feed-forward or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            BloomBlock first = Blocks[0];
            string heads = Mpt ? "n_heads" : "n_head";
            foreach (BloomBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads).Take(1))
                problems.Add($"'{b.Attention.Name}' has {b.Attention.Heads} heads and '{first.Attention.Name}' {first.Attention.Heads}: {Family}'s blocks are alike (one {heads})");
            foreach (BloomBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units).Take(1))
                problems.Add($"'{b.Up.Name}' has {b.Up.Units} units and '{first.Up.Name}' {first.Up.Units}: {Family}'s blocks are alike (one expansion_ratio)");
            NormsAlike(Norms(), first.First, problems, Family, "layer_norm_epsilon");
        }

        /// <summary>Every layer norm: the embedding's (BLOOM's), each block's two, then the last.</summary>
        private IEnumerable<LayerNormInfo> Norms()
        {
            IEnumerable<LayerNormInfo> blocks = Blocks.SelectMany(b => new[] { b.First, b.Second });
            return (EmbeddingNorm is null ? blocks : blocks.Prepend(EmbeddingNorm)).Append(Norm);
        }

        /// <summary>The config.json of this layout, as transformers' BloomConfig (or MptConfig) writes its fields.</summary>
        public byte[] Config()
        {
            // the sizes under each family's keys, then what only one of them says
            var (architecture, type, width, layers, heads) = Mpt
                ? ("MptForCausalLM", "mpt", "d_model", "n_layers", "n_heads")
                : ("BloomForCausalLM", "bloom", "hidden_size", "n_layer", "n_head");
            return ConfigJson(w =>
            {
                WriteArchitecture(w, architecture, null);
                w.WriteString("model_type", type);
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber(width, Embedding.Dim);
                w.WriteNumber(layers, Blocks.Count);
                w.WriteNumber(heads, Blocks[0].Attention.Heads);
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(Blocks[0].First.Epsilon));
                if (Mpt)
                {
                    w.WriteNumber("expansion_ratio", Blocks[0].Up.Units / Embedding.Dim);
                    w.WriteBoolean("no_bias", true);
                    w.WriteStartObject("attn_config");
                    w.WriteBoolean("alibi", true);
                    w.WriteNumber("alibi_bias_max", 8);
                    w.WriteNull("clip_qkv");
                    w.WriteBoolean("qk_ln", false);
                    w.WriteNull("softmax_scale");
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteBoolean("apply_residual_connection_post_layernorm", false);
                    w.WriteBoolean("tie_word_embeddings", Tied);
                }
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
