using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a T5 encoder — transformers' <c>T5EncoderModel</c>, or the encoder of a <c>T5ForConditionalGeneration</c> checkpoint
    /// (t5-small … t5-11b, t5-v1_1, flan-t5, and the models built on their encoders: sentence-t5 and GTR, the text encoders of
    /// image generators), mT5's (<c>model_type</c> "mt5") and UMT5's (<c>UMT5EncoderModel</c>, "umt5": a relative position table in
    /// every block, declared <c>RelativeShared = false</c> on each attention) — into <paramref name="model"/>, declared as its pre-norm layers:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: d_model)]
    /// // per layer (num_layers of them):
    /// [RmsNorm(Epsilon = layer_norm_epsilon)] [Attention(Heads = num_heads, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = layer_norm_epsilon)] [Dense(d_ff, Activation = Activation.Relu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)]
    /// // then:
    /// [RmsNorm(Epsilon = layer_norm_epsilon)]
    /// // and layers of the model's own if any, left as they are
    /// </code>
    /// T5's scores are not scaled (<c>Score = AttentionScore.Dot</c>); its heads are <c>d_kv</c> wide (declare <c>HeadWidth = d_kv</c>
    /// where <c>num_heads</c> · d_kv is not d_model); the first block's <c>relative_attention_bias</c> [buckets, heads] is read by
    /// every block (the later layers share the first's table: <c>RelativeShared</c>, the default), its buckets and maximum distance
    /// <c>relative_attention_num_buckets</c> and <c>relative_attention_max_distance</c>. The feed-forward is <c>feed_forward_proj</c>'s:
    /// "relu" an ungated <c>[Dense(d_ff, Activation = Activation.Relu)]</c> (<c>DenseReluDense.wi</c>), "gated-gelu" (t5-v1_1's,
    /// flan-t5's) <c>[Dense(d_ff, Gated = true, Activation = Activation.GeluTanh)]</c> (<c>wi_1</c> the value's rows, <c>wi_0</c> the
    /// activated gate's: gelu_new(wi_0 x) · wi_1 x), "gated-silu" the same with Silu; then <c>wo</c>. <c>shared</c> (or
    /// <c>encoder.embed_tokens</c>) goes into the embedding, <c>encoder.block.{i}.layer.0.layer_norm</c>, <c>SelfAttention.q</c>,
    /// <c>k</c> and <c>v</c> into the attention's <c>in_proj_weight</c>, <c>o</c> into <c>out_proj</c>, <c>layer.1.layer_norm</c>,
    /// <c>DenseReluDense</c> and <c>encoder.final_layer_norm</c> into the layers after it; a full model's decoder and <c>lm_head</c>
    /// are left. A <c>[Dropout]</c> may stand before each residual (<c>dropout_rate</c>'s). Padded sequences run through
    /// <see cref="IModel{TInput}.Forward(System.Numerics.Tensors.ReadOnlyTensorSpan{TInput}, ReadOnlySpan{int})"/> with their lengths.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the model
    /// first, with T5Config's defaults for what it leaves out (<c>vocab_size</c> 32128, <c>d_model</c> 512, <c>d_kv</c> 64,
    /// <c>d_ff</c> 2048, <c>num_layers</c> 6, <c>num_heads</c> 8, 32 buckets up to 128, <c>layer_norm_epsilon</c> 1e-6,
    /// <c>feed_forward_proj</c> "relu").
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as T5's encoder (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadT5Encoder(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "T5's encoder", T5Layout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = ReadAll(files);
        // the token table under shared (T5EncoderModel's and the full model's), or only under the encoder's name that ties to it
        if (tensors.Remove(T5Layout.EncoderTokens, out SafeTensor? tied))
        {
            if (!tensors.TryGetValue(T5Layout.Shared, out SafeTensor? shared)) tensors[T5Layout.Shared] = tied;
            else if (!tied.SameValues(shared)) problems.Add($"'{T5Layout.EncoderTokens}' differs from '{T5Layout.Shared}', which T5's encoder ties it to");
        }
        AssignEncoder(model, path, architecture, tensors, layout.Sources(), layout.Head, T5Layout.Ignored, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s T5 encoder (see <see cref="LoadT5Encoder"/>) as a <c>T5EncoderModel</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under its names — the token table as
    /// <c>shared</c> and <c>encoder.embed_tokens</c>, the attention's <c>in_proj_weight</c> split into <c>q</c>, <c>k</c> and
    /// <c>v</c>, the relative table in the first block — and the <c>config.json</c> that describes it, which transformers'
    /// <c>T5EncoderModel.from_pretrained(folder)</c> and <see cref="LoadT5Encoder"/> read back; a model whose every block keeps a
    /// table of its own is written as <c>UMT5EncoderModel</c> (<c>model_type</c> "umt5", each block's table under its name). Layers after the final norm are not
    /// written. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The model is not laid out as T5's encoder, or its layers differ from one another (one configuration cannot say so).
    /// </exception>
    public static void SaveT5Encoder(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ModelArchitecture architecture = Architecture(model, "T5's encoder");
        T5Layout layout = T5Layout.Of(architecture);
        var unlike = new List<string>();
        layout.CheckAlike(unlike);
        if (unlike.Count > 0) throw new ArgumentException($"{architecture.Name} cannot be written as one T5 configuration: {string.Join("; ", unlike)}.", nameof(model));
        List<CheckpointTensor> tensors = SplitIntoTensors(model, layout.Sources());
        CheckpointTensor words = tensors.Single(t => t.Name == T5Layout.Shared);
        tensors.Add(words with { Name = T5Layout.EncoderTokens });
        WriteCheckpoint(folder, tensors, layout.Config());
    }

    /// <summary>One T5 block's parts: layer.0's norm and attention, layer.1's norm and its feed-forward's two Dense layers.</summary>
    private sealed record T5Block(RmsNormInfo First, AttentionInfo Attention, RmsNormInfo Second, DenseInfo In, DenseInfo Out);

    /// <summary>A model's layers matched to T5's encoder: the token table, the blocks, the final norm, and what follows them.</summary>
    private sealed record T5Layout(EmbeddingInfo Embedding, IReadOnlyList<T5Block> Layers, RmsNormInfo Final, IReadOnlyList<LayerInfo> Head)
    {
        public const string Shared = "shared.weight", EncoderTokens = "encoder.embed_tokens.weight";

        public static T5Layout Of(ModelArchitecture a)
        {
            const string expected = "T5's encoder: [Embedding], then per layer [RmsNorm] [Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)] "
                + "[Residual(Layers = 2)] [RmsNorm] [Dense(d_ff, Activation = Activation.Relu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)], then "
                + "[RmsNorm] and layers of the model's own if any; a [Dropout] may stand before each residual";
            var walk = new LayerWalk(a, "T5's encoder", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (shared: an [Embedding], unscaled)", e => e.Scale == 1f);
            int at = 1, width = embedding.Dim;
            var layers = new List<T5Block>();
            // a block is a norm, the attention and its residual, a norm, two Dense layers and their residual; a norm not followed by an
            // attention is the final one
            while (at + 1 < l.Count && l[at] is RmsNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = layers.Count, start = at;
                var first = walk.At<RmsNormInfo>(at++, $"block {n}'s layer.0.layer_norm ([RmsNorm])", _ => true);
                var attention = walk.At<AttentionInfo>(at++,
                    $"block {n}'s SelfAttention ([Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)], over the whole sequence)",
                    x => x is { Causal: false, Score: AttentionScore.Dot, InputFeeding: false, Pool: false, MemoryWidth: 0, Bias: false, KeyValueHeads: 0, QueryKeyNorm: false,
                        Scale: 0f, SoftCap: 0f, SlidingWindow: 0, RotaryBase: 0f } && x.RelativeBuckets > 0);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
                int normed = at;
                var second = walk.At<RmsNormInfo>(at++, $"block {n}'s layer.1.layer_norm ([RmsNorm])", _ => true);
                var wi = walk.At<DenseInfo>(at++, $"block {n}'s DenseReluDense.wi ([Dense(d_ff, Activation = Activation.Relu, Bias = false)]; gated: wi_0 and wi_1)",
                    d => d is { Bias: false, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None);
                var wo = walk.At<DenseInfo>(at++, $"block {n}'s DenseReluDense.wo ([Dense({width}, Bias = false)])",
                    d => d is { Gated: false, Activation: Activation.None, Bias: false, TiedTo: null, SoftCap: 0f } && d.Units == width);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == normed - 1);
                layers.Add(new T5Block(first, attention, second, wi, wo));
            }
            if (layers.Count == 0) throw walk.Differs(at, "block 0's layer.0.layer_norm ([RmsNorm]) and its SelfAttention ([Attention(Score = AttentionScore.Dot, RelativeBuckets = 32)])");
            var final = walk.At<RmsNormInfo>(at++, "the encoder's final_layer_norm ([RmsNorm])", _ => true);
            return new T5Layout(embedding, layers, final, l.Skip(at).ToArray());
        }

        /// <summary>What the encoder's last hidden state reads nothing of: a full model's decoder and language-model head.</summary>
        public static bool Ignored(string name) => name.StartsWith("decoder.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal);

        /// <summary>Each parameter's tensors in the checkpoint and their rows (the first block's relative table into the layer that holds it).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Shared, Embedding.Vocabulary)] };
            for (int i = 0; i < Layers.Count; i++)
            {
                T5Block b = Layers[i];
                string hf = $"encoder.block.{i}.";
                int inner = b.Attention.QueryWidth;
                s[b.First.Name + ".weight"] = [(hf + "layer.0.layer_norm.weight", width)];
                s[b.Attention.Name + ".in_proj_weight"] = [(hf + "layer.0.SelfAttention.q.weight", inner), (hf + "layer.0.SelfAttention.k.weight", inner), (hf + "layer.0.SelfAttention.v.weight", inner)];
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + "layer.0.SelfAttention.o.weight", width)];
                if (b.Attention.RelativeSharedWith is null)
                    s[b.Attention.Name + ".relative_attention_bias.weight"] = [(hf + "layer.0.SelfAttention.relative_attention_bias.weight", b.Attention.RelativeBuckets)];
                s[b.Second.Name + ".weight"] = [(hf + "layer.1.layer_norm.weight", width)];
                // the gated feed-forward's wi_1 (multiplied) and wi_0 (activated): the Dense's value rows, then its gate rows
                s[b.In.Name + ".weight"] = b.In.Gated ? [(hf + "layer.1.DenseReluDense.wi_1.weight", b.In.Units), (hf + "layer.1.DenseReluDense.wi_0.weight", b.In.Units)]
                    : [(hf + "layer.1.DenseReluDense.wi.weight", b.In.Units)];
                s[b.Out.Name + ".weight"] = [(hf + "layer.1.DenseReluDense.wo.weight", width)];
            }
            s[Final.Name + ".weight"] = [("encoder.final_layer_norm.weight", width)];
            return s;
        }

        /// <summary>
        /// The feed-forward <c>feed_forward_proj</c> names, as T5Config reads it ("gated-" and the activation's name; "gated-gelu" is
        /// gelu_new, the tanh form): whether it is gated and its activation, or null for one not laid out here.
        /// </summary>
        private static (bool Gated, Activation Activation)? FeedForward(string proj)
        {
            bool gated = proj.StartsWith("gated-", StringComparison.Ordinal);
            if (proj == "gated-gelu") return (true, Activation.GeluTanh); // (T5Config's own rule: gelu_new, the tanh form)
            return ActivationNamed(gated ? proj["gated-".Length..] : proj) is { } act ? (gated, act) : null;
        }

        /// <summary>The activation transformers' ACT2FN names (<c>dense_act_fn</c>), among those a T5 feed-forward takes here; null for another.</summary>
        private static Activation? ActivationNamed(string name) => name switch
        {
            "relu" => Activation.Relu,
            "gelu" => Activation.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
            "silu" or "swish" => Activation.Silu,
            _ => null,
        };

        /// <summary>The feed_forward_proj of a block's feed-forward (its gate and activation), null where T5Config names none.</summary>
        private static string? FeedForwardName(DenseInfo wi) => (wi.Gated, wi.Activation) switch
        {
            (false, Activation.Relu) => "relu",
            (false, Activation.Gelu) => "gelu",
            (false, Activation.GeluTanh) => "gelu_new",
            (false, Activation.Silu) => "silu",
            (true, Activation.Relu) => "gated-relu",
            (true, Activation.GeluTanh) => "gated-gelu",
            (true, Activation.Silu) => "gated-silu",
            _ => null,
        };

        /// <summary>What config.json says against what the model declares (T5Config's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (c.ValueKind != JsonValueKind.Object)
            {
                problems.Add("it is not a JSON object");
                return;
            }
            if (Value(c, "model_type") is { } type && !(type.ValueKind == JsonValueKind.String && type.GetString() is "t5" or "mt5" or Umt5))
            {
                problems.Add($"model_type is {type.GetRawText()}: LoadT5Encoder reads T5's checkpoints (\"t5\", mT5's \"mt5\", UMT5's \"umt5\"); others lay their layers out otherwise");
                return;
            }
            // UMT5's blocks each keep a relative position table of their own (declared RelativeShared = false); T5's and mT5's share the first block's
            if (Layers.Count > 1 && Value(c, "model_type") is { ValueKind: JsonValueKind.String } t && t.GetString() == Umt5 != PerBlock)
                problems.Add(PerBlock
                    ? $"model_type is \"{t.GetString()}\", whose blocks read the first block's relative position table, but the model's layers keep tables of their own (declare no layer with RelativeShared = false)"
                    : $"model_type is \"umt5\", whose blocks each keep a relative position table of their own: declare every attention with RelativeShared = false");
            T5Block first = Layers[0];
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 32128);
            ConfigInt(c, problems, "d_model", Embedding.Dim, $"'{Embedding.Name}'", 512);
            ConfigInt(c, problems, "num_layers", Layers.Count, "its blocks", 6);
            ConfigInt(c, problems, "num_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 8);
            ConfigInt(c, problems, "d_kv", first.Attention.HeadSize, $"'{first.Attention.Name}''s heads{(first.Attention.HeadWidth > 0 ? "" : $": d_model / num_heads; declare HeadWidth = d_kv where they differ")}", 64);
            ConfigInt(c, problems, "d_ff", first.In.Units, $"'{first.In.Name}'", 2048);
            ConfigInt(c, problems, "relative_attention_num_buckets", first.Attention.RelativeBuckets, $"'{first.Attention.Name}' RelativeBuckets", 32);
            ConfigInt(c, problems, "relative_attention_max_distance", first.Attention.RelativeMaxDistance, $"'{first.Attention.Name}' RelativeMaxDistance", 128);
            CheckAlike(problems);
            string proj = Value(c, "feed_forward_proj") is { ValueKind: JsonValueKind.String } p ? p.GetString()! : "relu";
            if (FeedForward(proj) is not { } ff)
                problems.Add($"feed_forward_proj is \"{proj}\": T5's feed-forward here is \"relu\", \"gelu\", \"gelu_new\", \"silu\" or their gated forms (\"gated-gelu\": t5-v1_1's and flan-t5's)");
            else
            {
                // dense_act_fn and is_gated_act, where config.json writes them, are what T5Config keeps (they override what it derives
                // from feed_forward_proj)
                string said = $"feed_forward_proj is \"{proj}\"{(Value(c, "feed_forward_proj") is null ? " (its default)" : "")}";
                if (Value(c, "is_gated_act") is { ValueKind: JsonValueKind.True or JsonValueKind.False } gated)
                {
                    ff = ff with { Gated = gated.ValueKind == JsonValueKind.True };
                    said += $", is_gated_act {(ff.Gated ? "true" : "false")}";
                }
                if (Value(c, "dense_act_fn") is { ValueKind: JsonValueKind.String } act)
                {
                    if (ActivationNamed(act.GetString()!) is { } named)
                    {
                        ff = ff with { Activation = named };
                        said += $", dense_act_fn \"{act.GetString()}\"";
                    }
                    else problems.Add($"dense_act_fn is \"{act.GetString()}\": T5's feed-forward here takes \"relu\", \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"silu\"");
                }
                if (Layers.FirstOrDefault(b => b.In.Gated != ff.Gated || b.In.Activation != ff.Activation) is { } differs)
                    problems.Add($"{said}: declare '{differs.In.Name}' with {(ff.Gated ? "Gated = true, " : "")}Activation = Activation.{ff.Activation}");
            }
            float eps = Value(c, "layer_norm_epsilon") is { ValueKind: JsonValueKind.Number } e ? (float)e.GetDouble() : 1e-6f;
            foreach (RmsNormInfo norm in Norms().Where(n => n.Epsilon != eps).Take(1))
                problems.Add($"layer_norm_epsilon is {Number(eps)}{(Value(c, "layer_norm_epsilon") is null ? " (its default)" : "")}, the model declares {Number(norm.Epsilon)} ('{norm.Name}' Epsilon)");
        }

        /// <summary>What one T5 configuration cannot say: blocks whose heads, feed-forward, relative buckets or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            T5Block first = Layers[0];
            foreach (T5Block b in Layers.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads || b.Attention.HeadSize != first.Attention.HeadSize).Take(1))
                problems.Add($"'{b.Attention.Name}' has {b.Attention.Heads} heads of {b.Attention.HeadSize} and '{first.Attention.Name}' {first.Attention.Heads} of {first.Attention.HeadSize}: T5's blocks are alike (one num_heads, one d_kv)");
            // one table for every block (T5's, mT5's), or one of its own in each (UMT5's)
            if (PerBlock) { }
            else if (RelativeNotShared(Layers.Select(b => b.Attention).ToArray(), "T5's encoder keeps the first block's for every block (UMT5's keeps one in each: RelativeShared = false on every attention)") is { } own)
                problems.Add(own);
            foreach (T5Block b in Layers.Skip(1).Where(b => b.In.Units != first.In.Units || b.In.Gated != first.In.Gated || b.In.Activation != first.In.Activation).Take(1))
                problems.Add($"'{b.In.Name}' differs from '{first.In.Name}': T5's blocks are alike (one d_ff, one feed_forward_proj)");
            foreach (RmsNormInfo norm in Norms().Where(n => n.Epsilon != first.First.Epsilon).Take(1))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{first.First.Name}' {Number(first.First.Epsilon)}: T5's norms share layer_norm_epsilon");
            if (FeedForwardName(first.In) is null)
                problems.Add($"'{first.In.Name}' takes {(first.In.Gated ? "a gated " : "")}{first.In.Activation}, which no feed_forward_proj names");
        }

        /// <summary>UMT5's model type: T5 v1.1's blocks, each with a relative position table of its own.</summary>
        public const string Umt5 = "umt5";

        /// <summary>Every block keeps a relative position table of its own (UMT5's: each attention declared RelativeShared = false).</summary>
        public bool PerBlock => Layers.All(b => b.Attention.RelativeSharedWith is null) && Layers.Count > 1;

        /// <summary>Every norm: each block's two, then the final one.</summary>
        private IEnumerable<RmsNormInfo> Norms() => Layers.SelectMany(b => new[] { b.First, b.Second }).Append(Final);

        /// <summary>The config.json of this layout, as transformers' T5Config writes its fields for a T5EncoderModel.</summary>
        public byte[] Config()
        {
            T5Block first = Layers[0];
            return ConfigJson(w =>
            {
                WriteArchitecture(w, PerBlock ? "UMT5EncoderModel" : "T5EncoderModel", null);
                w.WriteString("model_type", PerBlock ? Umt5 : "t5");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("d_model", Embedding.Dim);
                w.WriteNumber("d_kv", first.Attention.HeadSize);
                w.WriteNumber("d_ff", first.In.Units);
                w.WriteNumber("num_layers", Layers.Count);
                w.WriteNumber("num_heads", first.Attention.Heads);
                w.WriteNumber("relative_attention_num_buckets", first.Attention.RelativeBuckets);
                w.WriteNumber("relative_attention_max_distance", first.Attention.RelativeMaxDistance);
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WriteString("feed_forward_proj", FeedForwardName(first.In));
                w.WriteBoolean("is_encoder_decoder", true);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
