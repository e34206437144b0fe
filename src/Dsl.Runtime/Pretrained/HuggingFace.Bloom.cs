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
    public static void LoadBloom(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "BLOOM's", BloomLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = Renamed(ReadAll(files), name => name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name,
            "BLOOM", "with and without the transformer. prefix");
        CheckTiedHead(tensors, BloomLayout.Head, BloomLayout.Table, layout.Tied, problems);
        float[][] values = model.Parameters.PrepareStacked(tensors, layout.Sources(), name => layout.Tied && name == BloomLayout.Head, problems);
        RefuseIfAny(problems, path, architecture);
        model.Parameters.Assign(values);
    }

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
        BloomLayout layout = BloomLayout.Of(architecture);
        var unlike = new List<string>();
        layout.CheckAlike(unlike);
        if (unlike.Count > 0) throw new ArgumentException($"{architecture.Name} cannot be written as one BLOOM configuration: {string.Join("; ", unlike)}.", nameof(model));
        List<CheckpointTensor> tensors = SplitIntoTensors(model, layout.Sources());
        WriteCheckpoint(folder, tensors.Select(t => t.Name == BloomLayout.Head ? t : t with { Name = "transformer." + t.Name }), layout.Config());
    }

    /// <summary>A BLOOM block's parts: input_layernorm, self_attention, post_attention_layernorm, mlp.dense_h_to_4h and mlp.dense_4h_to_h.</summary>
    private sealed record BloomBlock(LayerNormInfo First, AttentionInfo Attention, LayerNormInfo Second, DenseInfo Up, DenseInfo Down);

    /// <summary>A model's layers matched to BLOOM's: the token table and its norm, the blocks, ln_f and the output layer.</summary>
    private sealed record BloomLayout(EmbeddingInfo Embedding, LayerNormInfo EmbeddingNorm, IReadOnlyList<BloomBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        public const string Table = "word_embeddings.weight", Head = "lm_head.weight";

        public bool Tied => Output.TiedTo is not null;

        public static BloomLayout Of(ModelArchitecture a)
        {
            const string expected = "BLOOM's layout: [Embedding] [LayerNorm], then per block [LayerNorm] [Attention(Heads = h, Causal = true, Alibi = true)] [Residual(Layers = 2)] "
                + "[LayerNorm] [Dense(4 · E, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)], then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)]; "
                + "a [Dropout] may stand before each residual (BLOOM's hidden_dropout)";
            var walk = new LayerWalk(a, "BLOOM", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (word_embeddings: an [Embedding], unscaled)", e => e.Scale == 1f);
            var embeddingNorm = walk.At<LayerNormInfo>(1, "word_embeddings_layernorm ([LayerNorm])", x => x.Bias);
            int width = embedding.Dim, at = 2;
            var blocks = new List<BloomBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var first = walk.At<LayerNormInfo>(at++, $"block {n}'s input_layernorm ([LayerNorm])", x => x.Bias);
                var attention = walk.At<AttentionInfo>(at++, $"block {n}'s self_attention ([Attention(Heads = h, Causal = true, Alibi = true)], with its biases)",
                    x => x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false, RotaryBase: 0f, Bias: true, OutputBias: true,
                        KeyValueHeads: 0, SlidingWindow: 0, HeadWidth: 0, QueryKeyNorm: false, Scale: 0f, SoftCap: 0f, RelativeBuckets: 0, Alibi: true });
                at = walk.Dropout(at); // (hidden_dropout's, after the dense)
                int residual = at;
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
                var second = walk.At<LayerNormInfo>(at++, $"block {n}'s post_attention_layernorm ([LayerNorm])", x => x.Bias);
                var up = walk.At<DenseInfo>(at++, $"block {n}'s mlp.dense_h_to_4h ([Dense({4 * width}, Activation = Activation.GeluTanh)])",
                    d => d is { Gated: false, Activation: Activation.GeluTanh, Bias: true, TiedTo: null, SoftCap: 0f } && d.Units == 4 * width);
                var down = walk.At<DenseInfo>(at++, $"block {n}'s mlp.dense_4h_to_h ([Dense({width})])",
                    d => d is { Gated: false, Activation: Activation.None, Bias: true, TiedTo: null, SoftCap: 0f } && d.Units == width);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == residual);
                blocks.Add(new BloomBlock(first, attention, second, up, down));
            }
            if (blocks.Count == 0) throw walk.Differs(2, "block 0's input_layernorm ([LayerNorm]) and self_attention ([Attention(Causal = true, Alibi = true)])");
            var norm = walk.At<LayerNormInfo>(at, "the last norm (ln_f: [LayerNorm])", x => x.Bias);
            var output = walk.At<DenseInfo>(at + 1, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)])",
                d => d is { Gated: false, Activation: Activation.None, Bias: false, SoftCap: 0f } && d.Units == embedding.Vocabulary);
            if (at + 2 < l.Count) throw walk.Differs(at + 2, "nothing (BLOOM ends with its output layer)");
            return new BloomLayout(embedding, embeddingNorm, blocks, norm, output);
        }

        /// <summary>
        /// Each parameter's tensors in the checkpoint (without the <c>transformer.</c> prefix): the attention's q, k and v rows each
        /// gathered head by head from <c>query_key_value</c>, whose rows lie [heads, 3, d] (BLOOM's <c>_split_heads</c>).
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)] };
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            AddNorm(EmbeddingNorm, "word_embeddings_layernorm");
            for (int i = 0; i < Blocks.Count; i++)
            {
                BloomBlock b = Blocks[i];
                string hf = $"h.{i}.";
                int heads = b.Attention.Heads, d = b.Attention.HeadSize;
                // q, then k, then v: each head's rows of that part, heads · 3 · d rows in the fused tensor
                ParameterSet.TensorRows[] Fused(string tensor) => Enumerable.Range(0, 3)
                    .SelectMany(part => Enumerable.Range(0, heads).Select(h => new ParameterSet.TensorRows(tensor, d, (3 * h + part) * d, 3 * width))).ToArray();
                AddNorm(b.First, hf + "input_layernorm");
                s[b.Attention.Name + ".in_proj_weight"] = Fused(hf + "self_attention.query_key_value.weight");
                s[b.Attention.Name + ".in_proj_bias"] = Fused(hf + "self_attention.query_key_value.bias");
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + "self_attention.dense.weight", width)];
                s[b.Attention.Name + ".out_proj.bias"] = [(hf + "self_attention.dense.bias", width)];
                AddNorm(b.Second, hf + "post_attention_layernorm");
                BertLayout.AddDense(s, b.Up, hf + "mlp.dense_h_to_4h");
                BertLayout.AddDense(s, b.Down, hf + "mlp.dense_4h_to_h");
            }
            AddNorm(Norm, "ln_f");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>What config.json says against what the model declares (BloomConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
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

        /// <summary>What one BLOOM configuration cannot say: blocks whose heads or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            BloomBlock first = Blocks[0];
            foreach (BloomBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads).Take(1))
                problems.Add($"'{b.Attention.Name}' has {b.Attention.Heads} heads and '{first.Attention.Name}' {first.Attention.Heads}: BLOOM's blocks are alike (one n_head)");
            foreach (LayerNormInfo norm in Norms().Where(n => n.Epsilon != first.First.Epsilon).Take(1))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{first.First.Name}' {Number(first.First.Epsilon)}: BLOOM's norms share layer_norm_epsilon");
        }

        /// <summary>Every layer norm: the embedding's, each block's two, then ln_f.</summary>
        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.First, b.Second }).Prepend(EmbeddingNorm).Append(Norm);

        /// <summary>The config.json of this layout, as transformers' BloomConfig writes its fields.</summary>
        public byte[] Config()
        {
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "BloomForCausalLM", null);
                w.WriteString("model_type", "bloom");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("n_layer", Blocks.Count);
                w.WriteNumber("n_head", Blocks[0].Attention.Heads);
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(Blocks[0].First.Epsilon));
                w.WriteBoolean("apply_residual_connection_post_layernorm", false);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
