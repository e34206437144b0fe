using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads an OPT checkpoint — transformers' <c>OPTForCausalLM</c> (facebook's opt-125m … opt-66b, galactica's, and the models
    /// fine-tuned from them; <c>model_type</c> "opt") — into <paramref name="model"/>, declared as OPT's layers, pre-norm as most are:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)] [PositionEmbedding(maxLength: max_position_embeddings)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm] [Attention(Heads = num_attention_heads, Causal = true)] [Residual(Layers = 2)]
    /// [LayerNorm] [Dense(ffn_dim, Activation = Activation.Relu)] [Dense(hidden_size)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// or post-norm (<c>do_layer_norm_before</c> false, opt-350m's): <c>[Attention] [Residual] [LayerNorm] [Dense] [Dense]
    /// [Residual(Layers = 2)] [LayerNorm]</c> per layer and no last norm. A <c>word_embed_proj_dim</c> other than the layers' width
    /// (opt-350m's 512 under 1024) is <c>project_in</c>, a <c>[Dense(hidden_size, Bias = false)]</c> between the token table and the
    /// positions, and <c>project_out</c>, a <c>[Dense(word_embed_proj_dim, Bias = false)]</c> before the output layer. OPT's position
    /// table has 2 rows more than its positions (its offset): position p reads row p + 2, so the position table takes rows 2 on (a save
    /// writes the first two as zeros: transformers reads row 1 at padded steps alone, row 0 never). A <c>[Dropout]</c> may stand after
    /// the attention and the feed-forward (<c>dropout</c>), and after the positions (metaseq's; transformers' OPT has none there), and
    /// <c>[Attention(Dropout = p)]</c> is <c>attention_dropout</c>. Each layer's
    /// <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> (with their biases) go into the attention's <c>in_proj_weight</c> and
    /// <c>in_proj_bias</c>, <c>self_attn.out_proj</c> into <c>out_proj</c>, <c>fc1</c> and <c>fc2</c> into the two Dense layers,
    /// <c>self_attn_layer_norm</c> and <c>final_layer_norm</c> into the layer's norms, <c>decoder.final_layer_norm</c> into the last.
    /// The names with or without the <c>model.</c> prefix are read.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with OPTConfig's defaults for what it leaves out: <c>vocab_size</c> (50272), <c>hidden_size</c> (768),
    /// <c>num_hidden_layers</c> (12), <c>ffn_dim</c> (3072), <c>num_attention_heads</c> (12), <c>max_position_embeddings</c> (2048),
    /// <c>word_embed_proj_dim</c> (hidden_size), <c>do_layer_norm_before</c> (true), <c>_remove_final_layer_norm</c> (false),
    /// <c>activation_function</c> ("relu"), <c>enable_bias</c> (true) and <c>tie_word_embeddings</c> (true); OPT's norms take
    /// nn.LayerNorm's ε, 1e-5, and <c>layer_norm_elementwise_affine</c> false is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as OPT (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadOpt(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "OPT's", OptLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), OptLayout.Prefix, "OPT");
        CheckTiedHead(tensors, OptLayout.Head, OptLayout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => layout.Tied && name == OptLayout.Head, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as OPT (see <see cref="LoadOpt"/>), as an <c>OPTForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names (a tied
    /// output layer left out; the position table's two offset rows zeros) and the <c>config.json</c> that describes it, so that
    /// transformers' <c>OPTForCausalLM.from_pretrained(folder)</c> and <see cref="LoadOpt"/> read it back. Both files are built first,
    /// then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as OPT, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveOpt(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OptLayout layout = OptLayout.Of(Architecture(model, "OPT's"));
        RefuseUnlike(model.Architecture!.Name, "OPT", layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), OptLayout.Prefix, OptLayout.Head);
    }

    /// <summary>An OPT decoder layer's parts: self_attn_layer_norm, self_attn, final_layer_norm (the feed-forward's), fc1 and fc2.</summary>
    private sealed record OptBlock(LayerNormInfo AttentionNorm, AttentionInfo Attention, LayerNormInfo FeedForwardNorm, DenseInfo Up, DenseInfo Down);

    /// <summary>
    /// A model's layers matched to OPT's: the token table, project_in (where the table is narrower), the position table, the decoder
    /// layers (pre-norm or post-norm), the last norm (pre-norm, unless removed), project_out and lm_head.
    /// </summary>
    private sealed record OptLayout(EmbeddingInfo Embedding, DenseInfo? ProjectIn, PositionEmbeddingInfo Positions, IReadOnlyList<OptBlock> Blocks, bool PreNorm,
        LayerNormInfo? Norm, DenseInfo? ProjectOut, DenseInfo Output)
    {
        public const string Prefix = "model.", Table = "decoder.embed_tokens.weight", Head = "lm_head.weight";

        /// <summary>The rows OPT's position table has before position 0's (OPTLearnedPositionalEmbedding's offset).</summary>
        public const int PositionOffset = 2;

        public bool Tied => Output.TiedTo is not null;

        public static OptLayout Of(ModelArchitecture a)
        {
            const string expected = "OPT's layout: [Embedding] [PositionEmbedding], then per decoder layer [LayerNorm] [Attention(Heads = h, Causal = true)] [Residual(Layers = 2)] "
                + "[LayerNorm] [Dense(F, Activation = Activation.Relu)] [Dense(E)] [Residual(Layers = 3)], then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)] "
                + "(post-norm, do_layer_norm_before false: [Attention] [Residual] [LayerNorm] [Dense] [Dense] [Residual(Layers = 2)] [LayerNorm] per layer, no last norm); "
                + "a word_embed_proj_dim P other than E: [Dense(E, Bias = false)] (project_in) before the positions and [Dense(P, Bias = false)] (project_out) before the output layer; "
                + "a [Dropout] may stand after the positions, the attention and the feed-forward";
            var walk = new LayerWalk(a, "OPT", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            static bool Projection(DenseInfo d) => d is { Gated: false, Activation: Activation.None, Bias: false, TiedTo: null, SoftCap: 0f };
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int at = 1;
            // (transformers builds project_in and project_out only where word_embed_proj_dim differs from hidden_size)
            DenseInfo? projectIn = l.Count > at && l[at] is DenseInfo
                ? walk.At<DenseInfo>(at++, $"project_in ([Dense(hidden_size, Bias = false)], wider or narrower than the token table's {embedding.Dim})", d => Projection(d) && d.Units != embedding.Dim)
                : null;
            var positions = walk.At<PositionEmbeddingInfo>(at++, "the position table (embed_positions: a [PositionEmbedding])", _ => true);
            int width = positions.Width;
            at = walk.Dropout(at);
            bool preNorm = at < l.Count && l[at] is LayerNormInfo;
            var blocks = new List<OptBlock>();
            while (at + 6 < l.Count && (preNorm ? l[at] is LayerNormInfo && l[at + 1] is AttentionInfo : l[at] is AttentionInfo))
            {
                int n = blocks.Count, input = at - 1;
                LayerNormInfo? before = preNorm ? walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s self_attn_layer_norm ([LayerNorm])", x => x.Bias) : null;
                var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ([Attention(Heads = h, Causal = true)], its biases all there or none)",
                    x => x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false, RotaryBase: 0f, KeyValueHeads: 0, SlidingWindow: 0,
                        HeadWidth: 0, QueryKeyNorm: false, Scale: 0f, SoftCap: 0f, RelativeBuckets: 0, Alibi: false } && x.HasOutputBias == x.Bias);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention ({(preNorm ? "[Residual(Layers = 2)]" : "[Residual]")}, a layer more over a [Dropout])", r => r.From == input);
                LayerNormInfo attentionNorm = before ?? walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s self_attn_layer_norm after the residual ([LayerNorm])", x => x.Bias);
                int residual = at - 1;
                LayerNormInfo? second = preNorm ? walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s final_layer_norm ([LayerNorm])", x => x.Bias) : null;
                var up = walk.At<DenseInfo>(at++, $"decoder layer {n}'s fc1 ([Dense(F, Activation = Activation.Relu)], biased as the attention)",
                    d => d is { Gated: false, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None && d.Bias == attention.Bias);
                var down = walk.At<DenseInfo>(at++, $"decoder layer {n}'s fc2 ([Dense({width})], biased as the attention)",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Units == width && d.Bias == attention.Bias);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the feed-forward ([Residual(Layers = {(preNorm ? 3 : 2)})], a layer more over a [Dropout])", r => r.From == residual);
                LayerNormInfo feedForwardNorm = second ?? walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s final_layer_norm after the residual ([LayerNorm])", x => x.Bias);
                blocks.Add(new OptBlock(attentionNorm, attention, feedForwardNorm, up, down));
            }
            if (blocks.Count == 0) throw walk.Differs(at, "decoder layer 0's self_attn_layer_norm ([LayerNorm]) and self_attn ([Attention(Causal = true)]), or post-norm its self_attn");
            LayerNormInfo? norm = preNorm ? walk.Optional<LayerNormInfo>(ref at) : null;
            if (norm is { Bias: false }) throw walk.Differs(at - 1, "decoder.final_layer_norm ([LayerNorm], with its bias)");
            DenseInfo? projectOut = projectIn is null ? null
                : walk.At<DenseInfo>(at++, $"project_out ([Dense({embedding.Dim}, Bias = false)], as the model has project_in)", d => Projection(d) && d.Units == embedding.Dim);
            var output = walk.At<DenseInfo>(at, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)]{(preNorm ? ", after decoder.final_layer_norm" : "")})",
                d => d is { Gated: false, Activation: Activation.None, Bias: false, SoftCap: 0f } && d.Units == embedding.Vocabulary);
            if (at + 1 < l.Count) throw walk.Differs(at + 1, "nothing (OPT ends with its output layer)");
            return new OptLayout(embedding, projectIn, positions, blocks, preNorm, norm, projectOut, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint (without the <c>model.</c> prefix, as OPTModel's names are, but lm_head's): the position table's rows 2 on.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int rows = Positions.MaxLength;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal)
            {
                [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)],
                [Positions.Name + ".weight"] = [new ParameterSet.TensorRows("decoder.embed_positions.weight", rows, PositionOffset, rows + PositionOffset)],
            };
            if (ProjectIn is not null) BertLayout.AddDense(s, ProjectIn, "decoder.project_in");
            for (int i = 0; i < Blocks.Count; i++)
            {
                OptBlock b = Blocks[i];
                string hf = $"decoder.layers.{i}.";
                BertLayout.AddNorm(s, b.AttentionNorm, hf + "self_attn_layer_norm");
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "out_proj");
                BertLayout.AddNorm(s, b.FeedForwardNorm, hf + "final_layer_norm");
                BertLayout.AddDense(s, b.Up, hf + "fc1");
                BertLayout.AddDense(s, b.Down, hf + "fc2");
            }
            if (Norm is not null) BertLayout.AddNorm(s, Norm, "decoder.final_layer_norm");
            if (ProjectOut is not null) BertLayout.AddDense(s, ProjectOut, "decoder.project_out");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.AttentionNorm, b.FeedForwardNorm }).Concat(Norm is null ? [] : [Norm]);

        /// <summary>What one configuration cannot say: layers whose heads, biases or feed-forward differ from the first's, or norms of another ε than nn.LayerNorm's.</summary>
        public void CheckAlike(List<string> problems)
        {
            OptBlock first = Blocks[0];
            foreach (OptBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads || b.Attention.Bias != first.Attention.Bias).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{first.Attention.Name}' in its heads or biases: OPT's layers are alike (one num_attention_heads, one enable_bias)");
            foreach (OptBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units || b.Up.Activation != first.Up.Activation).Take(1))
                problems.Add($"'{b.Up.Name}' differs from '{first.Up.Name}': OPT's layers are alike (one ffn_dim, one activation_function)");
            foreach (LayerNormInfo norm in Norms().Where(n => n.Epsilon != 1e-5f).Take(1))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)}: OPT's norms take nn.LayerNorm's 1E-05, which its configuration does not say");
            if (FeedForwardActivationName(first.Up.Activation) is null)
                problems.Add($"'{first.Up.Name}' takes {first.Up.Activation}, which no activation_function names");
        }

        /// <summary>What config.json says against what the model declares (OPTConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "opt", "LoadOpt reads OPT's checkpoints (\"opt\")")) return;
            OptBlock first = Blocks[0];
            int width = Positions.Width;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50272);
            ConfigInt(c, problems, "hidden_size", width, $"'{Positions.Name}'", 768);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 12);
            ConfigInt(c, problems, "ffn_dim", first.Up.Units, $"'{first.Up.Name}'", 3072);
            ConfigInt(c, problems, "num_attention_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 12);
            ConfigInt(c, problems, "max_position_embeddings", Positions.MaxLength, $"'{Positions.Name}' maxLength", 2048);
            // word_embed_proj_dim: the token table's width (null or absent: hidden_size, and no project_in or project_out)
            int hidden = Value(c, "hidden_size") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : 768;
            if (Value(c, "word_embed_proj_dim") is not null) ConfigInt(c, problems, "word_embed_proj_dim", Embedding.Dim, $"'{Embedding.Name}'");
            else if (Embedding.Dim != hidden) problems.Add($"word_embed_proj_dim is unset (null or absent): hidden_size, {hidden}, the model declares {Embedding.Dim} ('{Embedding.Name}')");
            else if (ProjectIn is not null) problems.Add($"word_embed_proj_dim is unset (null or absent): the token table is as wide as the layers, without project_in ('{ProjectIn.Name}') or project_out");
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "activation_function", Activation.Relu, Blocks.Select(b => b.Up), problems);
            // (the flags a null makes false, as OPT's modules read them)
            ConfigFlag(c, problems, "do_layer_norm_before", [this], l => l.PreNorm, l => l.PreNorm ? "its norms before the attention and the feed-forward (pre-norm)" : "its norms after the residuals (post-norm)",
                fallback: true, nullIsFalse: true);
            ConfigFlag(c, problems, "enable_bias", Blocks, b => b.Attention.Bias, b => BiasOf(b.Attention.Name, b.Attention.Bias), fallback: true, nullIsFalse: true);
            if (PreNorm)
                ConfigFlag(c, problems, "_remove_final_layer_norm", [this], l => l.Norm is null,
                    l => l.Norm is null ? "no decoder.final_layer_norm ([LayerNorm]) before the output layer" : $"decoder.final_layer_norm ('{l.Norm.Name}')");
            if (c.TryGetProperty("layer_norm_elementwise_affine", out JsonElement affine) && affine.ValueKind != JsonValueKind.True)
                problems.Add($"layer_norm_elementwise_affine is {affine.GetRawText()}: OPT's norms without their weights and biases are not laid out here");
            ConfigFlag(c, problems, "tie_word_embeddings", [this], l => l.Tied,
                l => l.Tied ? $"'{l.Output.Name}' tied to the embedding (TieEmbedding = true)" : $"'{l.Output.Name}' with its own weights (declare TieEmbedding = true to tie it)", fallback: true, nullIsFalse: true);
        }

        /// <summary>The config.json of this layout, as transformers' OPTConfig writes its fields.</summary>
        public byte[] Config()
        {
            OptBlock first = Blocks[0];
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "OPTForCausalLM", null);
                w.WriteString("model_type", "opt");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Positions.Width);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("ffn_dim", first.Up.Units);
                w.WriteNumber("num_attention_heads", first.Attention.Heads);
                w.WriteNumber("max_position_embeddings", Positions.MaxLength);
                w.WriteNumber("word_embed_proj_dim", Embedding.Dim);
                w.WriteBoolean("do_layer_norm_before", PreNorm);
                w.WriteBoolean("_remove_final_layer_norm", PreNorm && Norm is null);
                w.WriteString("activation_function", FeedForwardActivationName(first.Up.Activation));
                w.WriteBoolean("enable_bias", first.Attention.Bias);
                w.WriteBoolean("layer_norm_elementwise_affine", true);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
