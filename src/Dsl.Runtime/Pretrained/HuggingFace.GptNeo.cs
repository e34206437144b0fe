using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a GPT-Neo checkpoint — transformers' <c>GPTNeoForCausalLM</c> (EleutherAI's gpt-neo-125m, 1.3B and 2.7B, the TinyStories
    /// models, and the models fine-tuned from them; <c>model_type</c> "gpt_neo") — into <paramref name="model"/>, declared as GPT-2's
    /// layers with GPT-Neo's attention: unscaled scores (<c>Score = AttentionScore.Dot</c>), no biases on the queries, keys and values
    /// and one on the output projection (<c>Bias = false, OutputBias = true</c>), and a causal window of <c>window_size</c> steps in the
    /// layers <c>attention_layers</c> calls "local":
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)] [PositionEmbedding(maxLength: max_position_embeddings)]
    /// // per block (num_layers of them; a "local" one's attention with SlidingWindow = window_size):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = num_heads, Causal = true, Score = AttentionScore.Dot, Bias = false, OutputBias = true)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(intermediate_size, Activation = Activation.GeluTanh)] [Dense(hidden_size)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size, TieEmbedding = true, Bias = false)]
    /// </code>
    /// A <c>[Dropout]</c> may stand after the position table and before each residual (<c>embed_dropout</c>, <c>resid_dropout</c>), and
    /// <c>[Attention(Dropout = p)]</c> is <c>attention_dropout</c>. <c>wte</c> and <c>wpe</c> go into the tables; each block's
    /// <c>attn.attention.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the attention's <c>in_proj_weight</c>, <c>attn.attention.out_proj</c>
    /// (weight and bias) into <c>out_proj</c>, <c>mlp.c_fc</c> and <c>mlp.c_proj</c> (nn.Linear's, read as they are) into the two Dense
    /// layers, <c>ln_1</c>, <c>ln_2</c> and <c>ln_f</c> into the norms. The names with or without the <c>transformer.</c> prefix are read;
    /// older checkpoints' buffers (<c>attn.attention.bias</c>, <c>attn.attention.masked_bias</c>) are left.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GPTNeoConfig's defaults for what it leaves out: <c>vocab_size</c> (50257), <c>hidden_size</c> (2048),
    /// <c>num_layers</c> (24), <c>num_heads</c> (16), <c>max_position_embeddings</c> (2048), <c>intermediate_size</c> (4 · hidden_size),
    /// <c>attention_layers</c> (else <c>attention_types</c> expanded: global and local by turns), <c>window_size</c> (256),
    /// <c>activation_function</c> ("gelu_new"), <c>layer_norm_epsilon</c> (1e-5) and <c>tie_word_embeddings</c> (true).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-Neo (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGptNeo(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "GPT-Neo's", GptNeoLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), GptNeoLayout.Prefix, "GPT-Neo");
        CheckTiedHead(tensors, GptNeoLayout.Head, Gpt2Layout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => GptNeoLayout.IsBuffer(name) || layout.Tied && name == GptNeoLayout.Head, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as GPT-Neo (see <see cref="LoadGptNeo"/>), as a <c>GPTNeoForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names (a tied
    /// output layer left out) and the <c>config.json</c> that describes it (each layer's attention in <c>attention_types</c>), so that
    /// transformers' <c>GPTNeoForCausalLM.from_pretrained(folder)</c> and <see cref="LoadGptNeo"/> read it back. Both files are built
    /// first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-Neo, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveGptNeo(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        GptNeoLayout layout = GptNeoLayout.Of(Architecture(model, "GPT-Neo's"));
        RefuseUnlike(model.Architecture!.Name, "GPT-Neo", layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), GptNeoLayout.Prefix, GptNeoLayout.Head);
    }

    /// <summary>A model's layers matched to GPT-Neo's: GPT-2's blocks with GPT-Neo's attention, global or local by layer.</summary>
    private sealed record GptNeoLayout(EmbeddingInfo Embedding, PositionEmbeddingInfo Positions, IReadOnlyList<Gpt2Block> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        public const string Prefix = "transformer.", Head = "lm_head.weight";

        /// <summary>GPTNeoConfig's window_size where the configuration gives none.</summary>
        private const int DefaultWindow = 256;

        public bool Tied => Output.TiedTo is not null;

        public static GptNeoLayout Of(ModelArchitecture a)
        {
            const string expected = "GPT-Neo's layout: [Embedding] [PositionEmbedding], then per block [LayerNorm] [Attention(Heads = h, Causal = true, Score = AttentionScore.Dot, Bias = false, "
                + "OutputBias = true)] (a local layer's with SlidingWindow = window_size) [Residual(Layers = 2)] [LayerNorm] [Dense(I, Activation = Activation.GeluTanh)] [Dense(E)] "
                + "[Residual(Layers = 3)], then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)]; a [Dropout] may stand after the position table and before each residual";
            var (embedding, positions, blocks, norm, output) = Gpt2Layers(a, "GPT-Neo", expected, Gpt2Names.Gpt2,
                "[Attention(Heads = h, Causal = true, Score = AttentionScore.Dot, Bias = false, OutputBias = true)]: unscaled scores, out_proj's bias alone; SlidingWindow in a local layer",
                x => IsPlainScored(x) && x is { Score: AttentionScore.Dot, RotaryBase: 0f, Bias: false, OutputBias: true, KeyValueHeads: 0 });
            return new GptNeoLayout(embedding, positions!, blocks, norm, output);
        }

        /// <summary>Each block's causal-mask buffers older checkpoints keep: recomputed, nothing to load.</summary>
        public static bool IsBuffer(string name) => name.StartsWith("h.", StringComparison.Ordinal)
            && (name.EndsWith(".attn.attention.bias", StringComparison.Ordinal) || name.EndsWith(".attn.attention.masked_bias", StringComparison.Ordinal));

        /// <summary>Each parameter's tensors in the checkpoint (without the <c>transformer.</c> prefix but lm_head's).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal)
            {
                [Embedding.Name + ".weight"] = [(Gpt2Layout.Table, Embedding.Vocabulary)],
                [Positions.Name + ".weight"] = [("wpe.weight", Positions.MaxLength)],
            };
            for (int i = 0; i < Blocks.Count; i++)
            {
                Gpt2Block b = Blocks[i];
                string hf = $"h.{i}.";
                BertLayout.AddNorm(s, b.First, hf + "ln_1");
                AddSplitAttention(s, b.Attention, hf + "attn.attention.", "out_proj");
                BertLayout.AddNorm(s, b.Second, hf + "ln_2");
                BertLayout.AddDense(s, b.Fc, hf + "mlp.c_fc");
                BertLayout.AddDense(s, b.Proj, hf + "mlp.c_proj");
            }
            BertLayout.AddNorm(s, Norm, "ln_f");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>The window of the local layers (the first's), or GPTNeoConfig's default where every layer is global.</summary>
        private int Window => Blocks.Select(b => b.Attention.SlidingWindow).FirstOrDefault(w => w > 0, DefaultWindow);

        /// <summary>What one configuration cannot say: blocks whose heads, local windows, feed-forward or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            Gpt2Block first = Blocks[0];
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{first.Attention.Name}' in its heads: GPT-Neo's blocks are alike (one num_heads)");
            foreach (Gpt2Block b in Blocks.Where(b => b.Attention.SlidingWindow is > 0 and var w && w != Window).Take(1))
                problems.Add($"'{b.Attention.Name}' has SlidingWindow = {b.Attention.SlidingWindow}, another local layer {Window}: GPT-Neo's local layers share one window_size");
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Fc.Units != first.Fc.Units || b.Fc.Activation != first.Fc.Activation).Take(1))
                problems.Add($"'{b.Fc.Name}' differs from '{first.Fc.Name}': GPT-Neo's blocks are alike (one intermediate_size, one activation_function)");
            NormsAlike(Blocks.SelectMany(b => new[] { b.First, b.Second }).Append(Norm), first.First, problems, "GPT-Neo", "layer_norm_epsilon");
            if (FeedForwardActivationName(first.Fc.Activation) is null)
                problems.Add($"'{first.Fc.Name}' takes {first.Fc.Activation}, which no activation_function names");
        }

        /// <summary>What config.json says against what the model declares (GPTNeoConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "gpt_neo", "LoadGptNeo reads GPT-Neo's checkpoints (\"gpt_neo\")")) return;
            Gpt2Block first = Blocks[0];
            int width = Embedding.Dim;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50257);
            ConfigInt(c, problems, "hidden_size", width, $"'{Embedding.Name}'", 2048);
            ConfigInt(c, problems, "num_layers", Blocks.Count, "its blocks", 24);
            ConfigInt(c, problems, "num_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 16);
            ConfigInt(c, problems, "max_position_embeddings", Positions.MaxLength, $"'{Positions.Name}' maxLength", 2048);
            int hidden = Value(c, "hidden_size") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : 2048;
            ConfigInt(c, problems, "intermediate_size", first.Fc.Units, $"'{first.Fc.Name}'", 4 * hidden); // (null: 4 · hidden_size)
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "activation_function", Activation.GeluTanh, Blocks.Select(b => b.Fc), problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Blocks.SelectMany(b => new[] { b.First, b.Second }).Append(Norm));
            CheckAttentionLayers(c, problems);
            ConfigFlag(c, problems, "tie_word_embeddings", [this], l => l.Tied,
                l => l.Tied ? $"'{l.Output.Name}' tied to the embedding (TieEmbedding = true)" : $"'{l.Output.Name}' with its own weights (declare TieEmbedding = true to tie it)", fallback: true, nullIsFalse: true);
        }

        /// <summary>
        /// Each block's attention, global or local, against the configuration's: <c>attention_layers</c> (which transformers keeps
        /// over what it expands), else <c>attention_types</c> expanded ([[["global", "local"], 12]] where absent); a local layer's
        /// window <c>window_size</c> (256).
        /// </summary>
        private void CheckAttentionLayers(JsonElement c, List<string> problems)
        {
            List<string>? kinds = AttentionKinds(c, problems);
            if (kinds is null) return;
            if (kinds.Count != Blocks.Count)
            {
                problems.Add($"the configuration's attention layers are {kinds.Count} ({string.Join(", ", kinds)}), the model has {Blocks.Count} blocks");
                return;
            }
            int window = DefaultWindow;
            // (window_size read where a layer is local, as transformers reads it)
            if (kinds.Contains("local") && Value(c, "window_size") is { } w && !(w.ValueKind == JsonValueKind.Number && w.TryGetInt32(out window) && window > 0))
            {
                problems.Add($"window_size is {w.GetRawText()}, not a whole number above 0");
                return;
            }
            for (int i = 0; i < kinds.Count; i++)
            {
                AttentionInfo a = Blocks[i].Attention;
                if (kinds[i] is not ("global" or "local"))
                    problems.Add($"block {i}'s attention is \"{kinds[i]}\", neither \"global\" nor \"local\"");
                else if (kinds[i] == "global" && a.SlidingWindow > 0)
                    problems.Add($"block {i}'s attention is global, but '{a.Name}' declares SlidingWindow = {a.SlidingWindow}");
                else if (kinds[i] == "local" && a.SlidingWindow != window)
                    problems.Add($"block {i}'s attention is local over window_size {window}{(Value(c, "window_size") is null ? " (its default)" : "")}: declare '{a.Name}' with SlidingWindow = {window}");
            }
        }

        /// <summary>The configuration's kind of attention per layer, or null with the problem added where it cannot be read.</summary>
        private static List<string>? AttentionKinds(JsonElement c, List<string> problems)
        {
            // attention_types expanded (GPTNeoConfig refuses an expansion of another length than num_layers), then attention_layers over it
            List<string>? expanded = ExpandTypes(c, problems);
            if (expanded is null) return null;
            int layerCount = Value(c, "num_layers") is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out int given) ? given : 24;
            if (expanded.Count != layerCount)
            {
                problems.Add($"attention_types{(Value(c, "attention_types") is null ? " (its default)" : "")} expands to {expanded.Count} layers, num_layers is {layerCount}");
                return null;
            }
            if (Value(c, "attention_layers") is not { } layers) return expanded;
            if (layers.ValueKind == JsonValueKind.Array && layers.EnumerateArray().All(k => k.ValueKind == JsonValueKind.String))
                return layers.EnumerateArray().Select(k => k.GetString()!).ToList();
            problems.Add($"attention_layers is {layers.GetRawText()}, not a list of \"global\" and \"local\"");
            return null;
        }

        /// <summary>attention_types expanded ([[["global", "local"], 12]] where absent), or null with the problem added where it cannot be read.</summary>
        private static List<string>? ExpandTypes(JsonElement c, List<string> problems)
        {
            if (Value(c, "attention_types") is not { } types) return Enumerable.Range(0, 24).Select(i => i % 2 == 0 ? "global" : "local").ToList();
            // [[["global", "local"], 12]]: each entry a list of kinds and how many times it repeats
            static bool IsEntry(JsonElement e) => e is { ValueKind: JsonValueKind.Array } && e.GetArrayLength() == 2 && e[0].ValueKind == JsonValueKind.Array
                && e[0].EnumerateArray().All(k => k.ValueKind == JsonValueKind.String) && e[1].ValueKind == JsonValueKind.Number && e[1].TryGetInt32(out int times) && times >= 0;
            if (types.ValueKind != JsonValueKind.Array || !types.EnumerateArray().All(IsEntry))
            {
                problems.Add($"attention_types is {types.GetRawText()}, not a list of [[kinds], times]");
                return null;
            }
            return types.EnumerateArray().SelectMany(e => Enumerable.Repeat(e[0].EnumerateArray().Select(k => k.GetString()!), e[1].GetInt32()).SelectMany(k => k)).ToList();
        }

        /// <summary>The config.json of this layout, as transformers' GPTNeoConfig writes its fields (each layer's kind in order).</summary>
        public byte[] Config()
        {
            Gpt2Block first = Blocks[0];
            string[] kinds = Blocks.Select(b => b.Attention.SlidingWindow > 0 ? "local" : "global").ToArray();
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "GPTNeoForCausalLM", null);
                w.WriteString("model_type", "gpt_neo");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("num_layers", Blocks.Count);
                w.WriteNumber("num_heads", first.Attention.Heads);
                w.WriteNumber("max_position_embeddings", Positions.MaxLength);
                w.WriteNumber("intermediate_size", first.Fc.Units);
                w.WriteNumber("window_size", Window);
                // (one entry listing every layer's kind once: what transformers expands into attention_layers)
                w.WriteStartArray("attention_types");
                w.WriteStartArray();
                w.WriteStartArray();
                foreach (string kind in kinds) w.WriteStringValue(kind);
                w.WriteEndArray();
                w.WriteNumberValue(1);
                w.WriteEndArray();
                w.WriteEndArray();
                w.WriteStartArray("attention_layers");
                foreach (string kind in kinds) w.WriteStringValue(kind);
                w.WriteEndArray();
                w.WriteString("activation_function", FeedForwardActivationName(first.Fc.Activation));
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
