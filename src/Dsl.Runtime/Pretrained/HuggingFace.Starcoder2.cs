using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a StarCoder2 checkpoint — transformers' <c>Starcoder2ForCausalLM</c> (bigcode's starcoder2-3b, -7b and -15b, and the models
    /// fine-tuned from them; <c>model_type</c> "starcoder2") — into <paramref name="model"/>, declared as StarCoder2's layers: GPT-2's
    /// blocks with rotary positions, grouped-query attention and (where the configuration sets one) a sliding window:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = num_attention_heads, KeyValueHeads = num_key_value_heads, Causal = true, Rotary = true, RotaryBase = rope_theta, SlidingWindow = sliding_window)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(intermediate_size, Activation = Activation.GeluTanh)] [Dense(hidden_size)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// (<c>use_bias</c> false: <c>Bias = false</c> on the attention and the Dense layers; an untied head: <c>[Dense(vocab_size, Bias =
    /// false)]</c>). A <c>[Dropout]</c> may stand after the embedding (<c>embedding_dropout</c>) and before each residual
    /// (<c>residual_dropout</c>), and <c>[Attention(Dropout = p)]</c> is <c>attention_dropout</c>. <c>model.embed_tokens</c> goes into the
    /// embedding; each layer's <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the attention's <c>in_proj_weight</c> and
    /// <c>in_proj_bias</c>, <c>self_attn.o_proj</c> into <c>out_proj</c>, <c>mlp.c_fc</c> and <c>mlp.c_proj</c> into the two Dense layers,
    /// <c>input_layernorm</c>, <c>post_attention_layernorm</c> and <c>model.norm</c> into the norms, <c>lm_head</c> into the output layer.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with Starcoder2Config's defaults for what it leaves out: <c>vocab_size</c> (49152), <c>hidden_size</c> (3072),
    /// <c>intermediate_size</c> (12288), <c>num_hidden_layers</c> (30), <c>num_attention_heads</c> (24), <c>num_key_value_heads</c> (2),
    /// <c>hidden_act</c> ("gelu_pytorch_tanh"), <c>norm_epsilon</c> (1e-5), <c>rope_theta</c> (10000), <c>sliding_window</c> (none),
    /// <c>use_bias</c> (true) and <c>tie_word_embeddings</c> (true); a <c>rope_scaling</c> (or a <c>rope_parameters</c> of another
    /// <c>rope_type</c> than "default") and a <c>partial_rotary_factor</c> below 1 are refused. The window is transformers' current one:
    /// a query sees its <c>sliding_window</c> latest steps, its own included.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as StarCoder2 (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadStarcoder2(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "StarCoder2's", Starcoder2Layout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignWithHead(model, path, architecture, files, layout.Tied, layout.Sources(), problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as StarCoder2 (see <see cref="LoadStarcoder2"/>), as a <c>Starcoder2ForCausalLM</c>
    /// checkpoint in <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s
    /// names (a tied output layer left out) and the <c>config.json</c> that describes it, so that transformers'
    /// <c>Starcoder2ForCausalLM.from_pretrained(folder)</c> and <see cref="LoadStarcoder2"/> read it back. Both files are built first,
    /// then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as StarCoder2, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveStarcoder2(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Starcoder2Layout layout = Starcoder2Layout.Of(Architecture(model, "StarCoder2's"));
        RefuseUnlike(model.Architecture!.Name, "StarCoder2", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>A model's layers matched to StarCoder2's: the token table, GPT-2's blocks with rotary grouped attention, model.norm and lm_head.</summary>
    private sealed record Starcoder2Layout(EmbeddingInfo Embedding, IReadOnlyList<Gpt2Block> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        private static readonly Gpt2Names s_names = new("embed_tokens", null, "input_layernorm", "self_attn", "post_attention_layernorm", "model.norm");

        public bool Tied => Output.TiedTo is not null;

        public static Starcoder2Layout Of(ModelArchitecture a)
        {
            const string expected = "StarCoder2's layout: [Embedding], then per decoder layer [LayerNorm] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true)] "
                + "(SlidingWindow = sliding_window where it is set) [Residual(Layers = 2)] [LayerNorm] [Dense(I, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)], "
                + "then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)] (use_bias false: Bias = false on the attention and the Dense layers); "
                + "a [Dropout] may stand after the embedding and before each residual";
            var (embedding, _, blocks, norm, output) = Gpt2Layers(a, "StarCoder2", expected, s_names,
                "[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true)], its biases all there or none, the whole head turned",
                x => IsPlainScored(x) && x is { Score: AttentionScore.ScaledDot, RotaryDimensions: 0 } && x.RotaryBase > 0f && x.RotaryScaling.Equals(default(RotaryScaling))
                    && x.OutputBias == x.Bias);
            return new Starcoder2Layout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked into in_proj_weight (and their biases).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                Gpt2Block b = Blocks[i];
                string hf = $"model.layers.{i}.";
                BertLayout.AddNorm(s, b.First, hf + "input_layernorm");
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                BertLayout.AddNorm(s, b.Second, hf + "post_attention_layernorm");
                BertLayout.AddDense(s, b.Fc, hf + "mlp.c_fc");
                BertLayout.AddDense(s, b.Proj, hf + "mlp.c_proj");
            }
            BertLayout.AddNorm(s, Norm, "model.norm");
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.First, b.Second }).Append(Norm);

        /// <summary>What one configuration cannot say: layers whose heads, rotation, window, biases or feed-forward differ from the first's, or norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            Gpt2Block first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.KeyValueHeadCount != a.KeyValueHeadCount || b.Attention.RotaryBase != a.RotaryBase
                || b.Attention.SlidingWindow != a.SlidingWindow || b.Attention.Bias != a.Bias).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads, rotation, window or biases): StarCoder2's layers are alike (one num_attention_heads, num_key_value_heads, rope_theta, sliding_window and use_bias)");
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Fc.Units != first.Fc.Units || b.Fc.Activation != first.Fc.Activation).Take(1))
                problems.Add($"'{b.Fc.Name}' differs from '{first.Fc.Name}': StarCoder2's layers are alike (one intermediate_size, one hidden_act)");
            NormsAlike(Norms(), first.First, problems, "StarCoder2", "norm_epsilon");
            if (FeedForwardActivationName(first.Fc.Activation) is null)
                problems.Add($"'{first.Fc.Name}' takes {first.Fc.Activation}, which no hidden_act names");
        }

        /// <summary>What config.json says against what the model declares (Starcoder2Config's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "starcoder2", "LoadStarcoder2 reads StarCoder2's checkpoints (\"starcoder2\"; LoadGptBigCode reads the first StarCoder's)")) return;
            Gpt2Block first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 49152);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 3072);
            ConfigInt(c, problems, "intermediate_size", first.Fc.Units, $"'{first.Fc.Name}'", 12288);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 30);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 24);
            ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeadCount, $"'{a.Name}' KeyValueHeads", 2);
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "hidden_act", Activation.GeluTanh, Blocks.Select(b => b.Fc), problems, "gelu_pytorch_tanh");
            ConfigEpsilon(c, problems, "norm_epsilon", 1e-5, Norms());
            CheckPartialRotation(c, problems, a, "StarCoder2", "partial_rotary_factor", 1.0, "rope_theta");
            // sliding_window: null or absent, every earlier step
            if (Value(c, "sliding_window") is null)
            {
                if (a.SlidingWindow > 0) problems.Add($"sliding_window is unset (null or absent): the attention reads every earlier step, but '{a.Name}' declares SlidingWindow = {a.SlidingWindow}");
            }
            else if (Value(c, "sliding_window") is { ValueKind: JsonValueKind.Number } w && w.TryGetInt32(out int steps) && steps <= 0)
                problems.Add($"sliding_window is {steps}: a window of no step would block every key (transformers tests it against null alone)");
            else ConfigInt(c, problems, "sliding_window", a.SlidingWindow, $"'{a.Name}' SlidingWindow");
            // (a null reads false, as transformers' modules test these flags)
            ConfigFlag(c, problems, "use_bias", Blocks, b => b.Attention.Bias, b => BiasOf(b.Attention.Name, b.Attention.Bias), fallback: true, nullIsFalse: true);
            ConfigFlag(c, problems, "tie_word_embeddings", [this], l => l.Tied,
                l => l.Tied ? $"'{l.Output.Name}' tied to the embedding (TieEmbedding = true)" : $"'{l.Output.Name}' with its own weights (declare TieEmbedding = true to tie it)", fallback: true, nullIsFalse: true);
        }

        /// <summary>The config.json of this layout, as transformers' Starcoder2Config writes its fields.</summary>
        public byte[] Config()
        {
            Gpt2Block first = Blocks[0];
            AttentionInfo a = first.Attention;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "Starcoder2ForCausalLM", null);
                w.WriteString("model_type", "starcoder2");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", first.Fc.Units);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeadCount);
                w.WriteString("hidden_act", first.Fc.Activation == Activation.GeluTanh ? "gelu_pytorch_tanh" : FeedForwardActivationName(first.Fc.Activation));
                w.WritePropertyName("norm_epsilon");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WriteNull("rope_scaling");
                if (a.SlidingWindow > 0) w.WriteNumber("sliding_window", a.SlidingWindow);
                else w.WriteNull("sliding_window");
                w.WriteBoolean("use_bias", a.Bias);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
