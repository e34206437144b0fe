using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Falcon checkpoint — transformers' <c>FalconForCausalLM</c> (tiiuae's falcon-7b and -instruct, falcon-40b, falcon-180b,
    /// falcon-11B; <c>model_type</c> "falcon") — into <paramref name="model"/>, declared as Falcon's parallel layers (x + attn(ln(x)) +
    /// mlp(ln(x)), <c>parallel_attn</c>):
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them), falcon-7b's: one norm for both branches
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = num_attention_heads, KeyValueHeads = 1, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false)]
    /// [Branch]
    /// [Dense(ffn_hidden_size, Activation = Activation.Gelu, Bias = false)] [Dense(hidden_size, Bias = false)]
    /// [Residual(Layers = 3)] [Residual(Layers = 6)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// The new decoder architecture (<c>new_decoder_architecture</c>: falcon-40b's, -180b's) has <c>num_kv_heads</c> key/value heads
    /// and a norm for each branch (<c>ln_attn</c>, <c>ln_mlp</c>): <c>[LayerNorm] [Attention(…)] [Branch(Layers = 2)] [LayerNorm] [Dense]
    /// [Dense] [Residual(Layers = 4)] [Residual(Layers = 7)]</c>, or one (<c>num_ln_in_parallel_attn</c> 1: falcon-11B's); without
    /// <c>parallel_attn</c> the layers are sequential (<c>[Residual(Layers = 2)] [LayerNorm]</c> after the attention,
    /// <c>[Residual(Layers = 3)]</c> after the feed-forward). The fused <c>self_attention.query_key_value</c> lies group by group (each
    /// key/value head's query heads, then its key and its value; <c>multi_query</c>'s one group), read into q, k and v. A
    /// <c>[Dropout]</c> may stand after the attention and after the feed-forward (<c>hidden_dropout</c>).
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with FalconConfig's defaults for what it leaves out: <c>vocab_size</c> (65024), <c>hidden_size</c> (4544),
    /// <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (71), <c>num_kv_heads</c> (the heads), <c>multi_query</c> (true),
    /// <c>new_decoder_architecture</c> (false), <c>parallel_attn</c> (true), <c>bias</c> (false), <c>ffn_hidden_size</c> (4 ·
    /// hidden_size), <c>activation</c> ("gelu"), <c>rope_theta</c> (10000), <c>layer_norm_epsilon</c> (1e-5) and
    /// <c>tie_word_embeddings</c> (true); a <c>rope_scaling</c> is refused (without <c>alibi</c>: the rotation's). <c>alibi</c>
    /// (falcon-rw-1b's and -7b's): ALiBi in place of the rotation, added to the scores before their scale, <c>[Attention(…, Alibi = true,
    /// AlibiScaled = true)]</c>. transformers rounds Falcon's ALiBi to bfloat16 (each slope, then each slope times the key's position)
    /// before adding it, which the kernels here do not: the logits agree where those products are exact in bfloat16 and differ a
    /// little past that, by up to half of bfloat16's step at m · j before the scale (0.002 at position 10 of a slope near 0.84,
    /// about 2 at position 1000).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Falcon (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadFalcon(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "Falcon's", FalconLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), "transformer.", "Falcon");
        CheckTiedHead(tensors, FalconLayout.Head, FalconLayout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => IsRotaryBuffer(name) || layout.Tied && name == FalconLayout.Head, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Falcon (see <see cref="LoadFalcon"/>), as a <c>FalconForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names, q, k and v
    /// laid group by group into <c>query_key_value</c> again, and the <c>config.json</c> that describes it, so that transformers'
    /// <c>FalconForCausalLM.from_pretrained(folder)</c> and <see cref="LoadFalcon"/> read it back (a transformers recent enough to load
    /// falcon-11B: older ones read no <c>num_ln_in_parallel_attn</c>, <c>ffn_hidden_size</c> or <c>activation</c>). Both files are built
    /// first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Falcon, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveFalcon(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        FalconLayout layout = FalconLayout.Of(Architecture(model, "Falcon's"));
        RefuseUnlike(model.Architecture!.Name, "Falcon", layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), "transformer.", FalconLayout.Head);
    }

    /// <summary>How a Falcon layer's two branches read its input: one norm for both, a norm each, or one after the other.</summary>
    private enum FalconKind
    {
        /// <summary>parallel_attn with one norm (falcon-7b's input_layernorm; the new architecture's with num_ln_in_parallel_attn 1).</summary>
        OneNorm,

        /// <summary>The new architecture's ln_attn and ln_mlp.</summary>
        TwoNorms,

        /// <summary>No parallel_attn: the attention's residual, post_attention_layernorm, then the feed-forward.</summary>
        Sequential,
    }

    /// <summary>A Falcon decoder layer's parts: the attention's norm, the attention, the feed-forward's norm (null with one norm for both) and its two Dense layers.</summary>
    private sealed record FalconBlock(LayerNormInfo First, AttentionInfo Attention, LayerNormInfo? Second, DenseInfo Up, DenseInfo Down, FalconKind Kind);

    /// <summary>A model's layers matched to Falcon's: the token table, the decoder layers, ln_f and lm_head.</summary>
    private sealed record FalconLayout(EmbeddingInfo Embedding, IReadOnlyList<FalconBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        public const string Head = "lm_head.weight", Table = "word_embeddings.weight";

        public bool Tied => Output.TiedTo is not null;

        public static FalconLayout Of(ModelArchitecture a)
        {
            const string expected = "Falcon's layout: [Embedding], then per decoder layer [LayerNorm] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)] "
                + "[Branch] [Dense(I, Activation = Activation.Gelu, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)] [Residual(Layers = 6)] (the new architecture's ln_attn "
                + "and ln_mlp: [Branch(Layers = 2)] [LayerNorm] before the feed-forward, [Residual(Layers = 4)] [Residual(Layers = 7)]; without parallel_attn: [Residual(Layers = 2)] "
                + "[LayerNorm] after the attention, [Residual(Layers = 3)] after the feed-forward), then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)]; "
                + "a [Dropout] may stand after the attention and after the feed-forward (hidden_dropout)";
            var walk = new LayerWalk(a, "Falcon", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (word_embeddings: an [Embedding], unscaled)", e => e.Scale == 1f);
            int width = embedding.Dim, at = 1;
            var blocks = new List<FalconBlock>();
            while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var first = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s input_layernorm or ln_attn ([LayerNorm])", x => x.Bias);
                var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attention ([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)], "
                    + "or falcon-rw's ALiBi instead of the rotation: Alibi = true, AlibiScaled = true)",
                    x => (IsPlainRotaryCausal(x) && x is { RotaryDimensions: 0 } || IsScaledAlibiCausal(x)) && x.OutputBias == x.Bias);
                at = walk.Dropout(at); // (hidden_dropout's, after self_attention.dense)
                int attended = at - 1;
                FalconKind kind = at < l.Count && l[at] is BranchInfo { From: var from } ? from == start ? FalconKind.OneNorm : FalconKind.TwoNorms : FalconKind.Sequential;
                LayerNormInfo? second = null;
                int residual = at;
                if (kind == FalconKind.Sequential)
                    walk.At<ResidualInfo>(at++, $"decoder layer {n}'s branch ([Branch]: parallel_attn) or residual around the attention ([Residual(Layers = 2)])", r => r.From == start - 1);
                else walk.At<BranchInfo>(at++, $"decoder layer {n}'s branch back to its norm ([Branch]) or, with ln_attn and ln_mlp, to its input ([Branch(Layers = 2)])",
                    b => b.From == start || b.From == start - 1);
                if (kind != FalconKind.OneNorm) second = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s {(kind == FalconKind.TwoNorms ? "ln_mlp" : "post_attention_layernorm")} ([LayerNorm])", x => x.Bias);
                var up = walk.At<DenseInfo>(at++, $"decoder layer {n}'s mlp.dense_h_to_4h ([Dense(I, Activation = Activation.Gelu, Bias = false)])",
                    d => d is { Gated: false, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None && d.Bias == attention.Bias);
                var down = walk.At<DenseInfo>(at++, $"decoder layer {n}'s mlp.dense_4h_to_h ([Dense({width}, Bias = false)])",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Bias == attention.Bias && d.Units == width);
                at = walk.Dropout(at);
                if (kind == FalconKind.Sequential)
                    walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == residual);
                else walk.BranchesAdded(ref at, $"decoder layer {n}", attended, start - 1, kind == FalconKind.OneNorm ? 3 : 4, kind == FalconKind.OneNorm ? 6 : 7);
                blocks.Add(new FalconBlock(first, attention, second, up, down, kind));
            }
            if (blocks.Count == 0) throw walk.Differs(1, "decoder layer 0's input_layernorm ([LayerNorm]) and self_attention ([Attention(Causal = true, Rotary = true)])");
            var (norm, output) = walk.LastNormAndHead(at, "ln_f ([LayerNorm])", $"lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)]", embedding.Vocabulary);
            return new FalconLayout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint (without the <c>transformer.</c> prefix): query_key_value read group by group.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                FalconBlock b = Blocks[i];
                AttentionInfo a = b.Attention;
                string hf = $"h.{i}.";
                BertLayout.AddNorm(s, b.First, hf + (b.Kind == FalconKind.TwoNorms ? "ln_attn" : "input_layernorm"));
                s[a.Name + ".in_proj_weight"] = BloomLayout.Grouped(hf + "self_attention.query_key_value.weight", a.Heads, a.KeyValueHeadCount, a.HeadSize);
                s[a.Name + ".out_proj.weight"] = [(hf + "self_attention.dense.weight", width)];
                if (a.Bias)
                {
                    s[a.Name + ".in_proj_bias"] = BloomLayout.Grouped(hf + "self_attention.query_key_value.bias", a.Heads, a.KeyValueHeadCount, a.HeadSize);
                    s[a.Name + ".out_proj.bias"] = [(hf + "self_attention.dense.bias", width)];
                }
                if (b.Second is not null) BertLayout.AddNorm(s, b.Second, hf + (b.Kind == FalconKind.TwoNorms ? "ln_mlp" : "post_attention_layernorm"));
                BertLayout.AddDense(s, b.Up, hf + "mlp.dense_h_to_4h");
                BertLayout.AddDense(s, b.Down, hf + "mlp.dense_4h_to_h");
            }
            BertLayout.AddNorm(s, Norm, "ln_f");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>
        /// falcon-rw's attention: causal, ALiBi's bias added before the scores' scale (<c>AlibiScaled</c>) in place of the rotation,
        /// nothing else of the options a decoder without them does not have.
        /// </summary>
        private static bool IsScaledAlibiCausal(AttentionInfo x) =>
            x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false, SlidingWindow: 0, HeadWidth: 0, QueryKeyNorm: false, Scale: 0f,
                SoftCap: 0f, RelativeBuckets: 0, RotaryBase: 0f, Alibi: true, AlibiScaled: true };

        /// <summary>What one configuration cannot say: layers whose heads, positions, biases, feed-forward or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            FalconBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (FalconBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.KeyValueHeadCount != a.KeyValueHeadCount || b.Attention.RotaryBase != a.RotaryBase
                || b.Attention.Alibi != a.Alibi || b.Attention.Bias != a.Bias).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, positions or biases): Falcon's layers are alike (one num_attention_heads, num_kv_heads, alibi, rope_theta and bias)");
            foreach (FalconBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units || b.Up.Activation != first.Up.Activation).Take(1))
                problems.Add($"'{b.Up.Name}' differs from '{first.Up.Name}': Falcon's layers are alike (one ffn_hidden_size, one activation)");
            foreach (FalconBlock b in Blocks.Skip(1).Where(b => b.Kind != first.Kind).Take(1))
                problems.Add($"'{b.First.Name}' begins a layer of another kind than '{first.First.Name}' ({b.Kind} and {first.Kind}): Falcon's layers are alike (one parallel_attn, one new_decoder_architecture)");
            NormsAlike(Norms(), first.First, problems, "Falcon", "layer_norm_epsilon");
            if (FeedForwardActivationName(first.Up.Activation) is null)
                problems.Add($"'{first.Up.Name}' takes {first.Up.Activation}, which no activation names");
            // (grouped heads are the new architecture's, whose layers are parallel)
            if (first.Kind == FalconKind.Sequential && a.KeyValueHeadCount != 1 && a.KeyValueHeadCount != a.Heads)
                problems.Add($"'{a.Name}' has {a.KeyValueHeadCount} key/value heads in sequential layers: Falcon's grouped heads (new_decoder_architecture) come with parallel layers only");
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => b.Second is null ? new[] { b.First } : new[] { b.First, b.Second }).Append(Norm);

        /// <summary>What config.json says against what the model declares (FalconConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "falcon", "LoadFalcon reads Falcon's checkpoints (\"falcon\"; the older \"RefinedWeb\" ones run tiiuae's own code)")) return;
            FalconBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 65024);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 4544);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 32);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 71);
            int heads = Value(c, "num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : 71;
            int hidden = Value(c, "hidden_size") is { ValueKind: JsonValueKind.Number } e && e.TryGetInt32(out int w) ? w : 4544;
            ConfigInt(c, problems, "ffn_hidden_size", first.Up.Units, $"'{first.Up.Name}'", 4 * hidden); // (null: 4 · hidden_size)
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "activation", Activation.Gelu, Blocks.Select(b => b.Up), problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Norms());
            // (Python reads a null as false, as FalconConfig's own flags take it)
            bool Flag(string key, bool fallback) => c.TryGetProperty(key, out JsonElement v) ? v.ValueKind == JsonValueKind.True : fallback;
            // the positions: falcon-rw's ALiBi, added before the scores' scale, or the rotation (whose settings transformers reads only then)
            bool alibi = Flag("alibi", false);
            if (alibi != a.Alibi)
                problems.Add(alibi ? $"alibi is true: falcon-rw's ALiBi, added to the scores before their scale, takes the rotation's place; declare '{a.Name}' with Alibi = true, AlibiScaled = true and no Rotary"
                    : $"alibi is false{(Value(c, "alibi") is null ? " (its default)" : "")}: Falcon's positions are rotary; declare '{a.Name}' with Rotary = true, not Alibi");
            else if (!alibi) CheckPartialRotation(c, problems, a, "Falcon", "partial_rotary_factor", 1.0, "rope_theta");
            // the key/value heads: the new architecture's num_kv_heads, else multi_query's one or as many as the heads
            bool newArchitecture = Flag("new_decoder_architecture", false), multiQuery = Flag("multi_query", true), parallel = Flag("parallel_attn", true);
            int kv = newArchitecture ? Value(c, "num_kv_heads") is { ValueKind: JsonValueKind.Number } k && k.TryGetInt32(out int g) ? g : heads : multiQuery ? 1 : heads;
            if (kv != a.KeyValueHeadCount)
                problems.Add($"the configuration gives {kv} key/value head{(kv == 1 ? "" : "s")} ({(newArchitecture ? "new_decoder_architecture's num_kv_heads" : multiQuery ? "multi_query" : "multi_query false: one per head")}), the model declares {a.KeyValueHeadCount} ('{a.Name}' KeyValueHeads)");
            // the layer's kind: the new architecture's norm per branch (num_ln_in_parallel_attn 2, its default) or one, falcon-7b's one, or sequential
            int norms = Value(c, "num_ln_in_parallel_attn") is { ValueKind: JsonValueKind.Number } lns && lns.TryGetInt32(out int count) ? count : 2;
            FalconKind expected = newArchitecture ? norms == 1 ? FalconKind.OneNorm : FalconKind.TwoNorms : parallel ? FalconKind.OneNorm : FalconKind.Sequential;
            if (expected != first.Kind)
                problems.Add(expected switch
                {
                    FalconKind.TwoNorms => $"new_decoder_architecture is true: each branch has its norm (ln_attn, ln_mlp); declare [Branch(Layers = 2)] [LayerNorm] before '{first.Up.Name}'",
                    FalconKind.OneNorm => $"the configuration's layers are parallel with one norm ({(newArchitecture ? "num_ln_in_parallel_attn 1" : "parallel_attn")}); declare [Branch] back to '{first.First.Name}' before '{first.Up.Name}'",
                    _ => $"parallel_attn is false: the layers are sequential; declare [Residual(Layers = 2)] [LayerNorm] after '{a.Name}'",
                });
            if (Flag("bias", false) != a.Bias)
                problems.Add($"bias is {(Flag("bias", false) ? "true" : "false")}{(Value(c, "bias") is null ? " (its default)" : "")}, the model declares '{a.Name}' with{(a.Bias ? "" : "out")} biases");
            if (Flag("tie_word_embeddings", true) != Tied)
                problems.Add(Tied ? $"tie_word_embeddings is false, but '{Output.Name}' is tied to the embedding (TieEmbedding = true)"
                    : $"tie_word_embeddings is true{(Value(c, "tie_word_embeddings") is null ? " (its default)" : "")}: declare '{Output.Name}' with TieEmbedding = true");
        }

        /// <summary>The config.json of this layout, as transformers' FalconConfig writes its fields.</summary>
        public byte[] Config()
        {
            FalconBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            bool newArchitecture = first.Kind == FalconKind.TwoNorms || a.KeyValueHeadCount != 1 && a.KeyValueHeadCount != a.Heads;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "FalconForCausalLM", null);
                w.WriteString("model_type", "falcon");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteBoolean("new_decoder_architecture", newArchitecture);
                if (newArchitecture)
                {
                    w.WriteNumber("num_kv_heads", a.KeyValueHeadCount);
                    w.WriteNumber("num_ln_in_parallel_attn", first.Kind == FalconKind.TwoNorms ? 2 : 1);
                }
                else w.WriteBoolean("multi_query", a.KeyValueHeadCount == 1);
                w.WriteBoolean("parallel_attn", first.Kind != FalconKind.Sequential);
                w.WriteBoolean("bias", a.Bias);
                w.WriteBoolean("alibi", a.Alibi);
                w.WriteNumber("ffn_hidden_size", first.Up.Units);
                w.WriteString("activation", FeedForwardActivationName(first.Up.Activation));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.Alibi ? 10000f : a.RotaryBase)); // (FalconConfig's default: unread with ALiBi)
                w.WriteNull("rope_scaling");
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
