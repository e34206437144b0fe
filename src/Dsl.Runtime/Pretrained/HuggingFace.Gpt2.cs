using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a GPT-2 checkpoint — transformers' <c>GPT2LMHeadModel</c> (gpt2, distilgpt2, gpt2-medium, -large and -xl, and the
    /// models fine-tuned from them) — into <paramref name="model"/>, declared as GPT-2's layers:
    /// <code>
    /// [Embedding(vocab: V, dim: E)] [PositionEmbedding(maxLength: n_positions)]
    /// // per block (n_layer of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = n_head, Causal = true)] [Residual(Layers = 2)]
    /// [LayerNorm(Epsilon = ε)] [Dense(n_inner, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(V, TieEmbedding = true, Bias = false)]
    /// </code>
    /// For fine-tuning, a <c>[Dropout]</c> may stand after the position table and before each residual (<c>embd_pdrop</c>,
    /// <c>resid_pdrop</c>; each residual then a layer longer), and <c>[Attention(Dropout = p)]</c> is <c>attn_pdrop</c>.
    /// <c>wte</c> and <c>wpe</c> go into the embedding and the position table; each block's <c>attn.c_attn</c> into the
    /// attention's <c>in_proj_weight</c> and <c>in_proj_bias</c> (q, k and v side by side, as nn.MultiheadAttention stacks them),
    /// <c>attn.c_proj</c> into <c>out_proj</c>, <c>mlp.c_fc</c> and <c>mlp.c_proj</c> into the two Dense layers, <c>ln_1</c>,
    /// <c>ln_2</c> and <c>ln_f</c> into the norms. GPT-2's linear layers are transformers' <c>Conv1D</c>, whose weight is [in, out]:
    /// each is read transposed into nn.Linear's [out, in]. The names with or without the <c>transformer.</c> prefix (the original
    /// checkpoints' and <c>save_pretrained</c>'s) are read, and each block's causal-mask buffers (<c>attn.bias</c>,
    /// <c>attn.masked_bias</c>) left, as transformers leaves them.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GPT2Config's defaults for what it leaves out: <c>vocab_size</c> (50257), <c>n_embd</c> (768),
    /// <c>n_layer</c> (12), <c>n_head</c> (12), <c>n_positions</c> (1024), <c>n_inner</c> (4 · n_embd), <c>layer_norm_epsilon</c> (1e-5),
    /// <c>activation_function</c> ("gelu_new": <c>Activation.GeluTanh</c>), <c>scale_attn_weights</c> (true: ScaledDot; false: the
    /// Dot score) and <c>tie_word_embeddings</c> (true). A scaling by the inverse layer index
    /// (<c>scale_attn_by_inverse_layer_idx</c>) and cross-attention (<c>add_cross_attention</c>) are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-2 (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGpt2(IModel model, string path) => LoadGpt2Family(model, path, bigCode: false);

    /// <summary>
    /// Loads a GPT-BigCode checkpoint — transformers' <c>GPTBigCodeForCausalLM</c> (bigcode's santacoder, starcoder, starcoderbase-1b …,
    /// tiny_starcoder_py, and the models fine-tuned from them; <c>model_type</c> "gpt_bigcode") — into <paramref name="model"/>, declared
    /// as GPT-2's layers (see <see cref="LoadGpt2"/>) with one key/value head for all the queries (<c>multi_query</c>, the default:
    /// <c>[Attention(Heads = n_head, KeyValueHeads = 1, Causal = true)]</c>) and GELU's tanh form (<c>gelu_pytorch_tanh</c>). Its linear
    /// layers are nn.Linear ([out, in], read as they are); <c>attn.c_attn</c> holds the queries' rows, then the one key's and value's
    /// (without <c>multi_query</c>, each head's q, k and v rows together, read head by head).
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GPTBigCodeConfig's defaults for what it leaves out: GPT-2's sizes, <c>multi_query</c> (true) and
    /// <c>activation_function</c> ("gelu_pytorch_tanh").
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-BigCode (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGptBigCode(IModel model, string path) => LoadGpt2Family(model, path, bigCode: true);

    private static void LoadGpt2Family(IModel model, string path, bool bigCode)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, bigCode ? "GPT-BigCode's" : "GPT-2's", a => Gpt2Layout.Of(a, bigCode), (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = Gpt2Layout.Readable(ReadAll(files), bigCode);
        CheckTiedHead(tensors, Gpt2Layout.Head, Gpt2Layout.Table, layout.Tied, problems);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), name => Gpt2Layout.Ignored(name, layout.Tied), problems,
            after: bigCode ? "" : " (GPT-2's Conv1D weights, [in, out] in the file, are read transposed)");
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as GPT-2 (see <see cref="LoadGpt2"/>), as a <c>GPT2LMHeadModel</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names
    /// (<c>transformer.wte</c>, <c>transformer.wpe</c>, <c>transformer.h.{i}.…</c>, <c>transformer.ln_f</c>, an untied <c>lm_head</c>),
    /// each Conv1D weight transposed back to [in, out] and a tied output layer left out, and the <c>config.json</c> that describes it, so that transformers' <c>GPT2LMHeadModel.from_pretrained(folder)</c>
    /// and <see cref="LoadGpt2"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-2, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveGpt2(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ModelArchitecture architecture = Architecture(model, "GPT-2's");
        Gpt2Layout layout = Gpt2Layout.Of(architecture, bigCode: false);
        RefuseUnlike(architecture.Name, "GPT-2", layout.CheckAlike);
        var tensors = new List<CheckpointTensor>();
        foreach (var (parameter, parts) in layout.Sources())
        {
            Parameter p = model.Parameters[parameter];
            // (the base model's names under transformer., as transformers reads a checkpoint with a head only so)
            string name = parts[0].Name == Gpt2Layout.Head ? Gpt2Layout.Head : "transformer." + parts[0].Name;
            float[] values = p.ToArray();
            int[] shape = p.Shape.ToArray();
            if (Gpt2Layout.IsConv1D(parts[0].Name))
            {
                values = Kernels.Layout.Transposed(values, shape[0], shape[1]);
                shape = [shape[1], shape[0]];
            }
            tensors.Add(new(name, shape, values));
        }
        WriteCheckpoint(folder, tensors, layout.Config());
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as GPT-BigCode (see <see cref="LoadGptBigCode"/>), as a <c>GPTBigCodeForCausalLM</c>
    /// checkpoint in <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s
    /// names (a tied output layer left out) and the <c>config.json</c> that describes it, so that transformers'
    /// <c>GPTBigCodeForCausalLM.from_pretrained(folder)</c> and <see cref="LoadGptBigCode"/> read it back. Both files are built first,
    /// then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-BigCode, or its blocks or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveGptBigCode(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Gpt2Layout layout = Gpt2Layout.Of(Architecture(model, "GPT-BigCode's"), bigCode: true);
        RefuseUnlike(model.Architecture!.Name, "GPT-BigCode", layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), "transformer.", Gpt2Layout.Head);
    }

    /// <summary>A model's layers matched to GPT-2's: the token and position tables, the blocks, the last norm and the output layer.</summary>
    /// <remarks><see cref="BigCode"/>: GPT-BigCode's (nn.Linear weights, one key/value head with multi_query, its own model_type).</remarks>
    private sealed record Gpt2Layout(EmbeddingInfo Embedding, PositionEmbeddingInfo Positions, IReadOnlyList<Gpt2Block> Blocks, LayerNormInfo Norm, DenseInfo Output, bool BigCode)
    {
        /// <summary>The family, as the errors name it.</summary>
        public string Family => BigCode ? "GPT-BigCode" : "GPT-2";

        /// <summary>GPT-BigCode's multi_query: one key/value head for every query head.</summary>
        public bool MultiQuery => Blocks[0].Attention.KeyValueHeads == 1;

        public const string Table = "wte.weight", Head = "lm_head.weight";

        public bool Tied => Output.TiedTo is not null;

        public static Gpt2Layout Of(ModelArchitecture a, bool bigCode)
        {
            string family = bigCode ? "GPT-BigCode" : "GPT-2";
            string expected = $"{family}'s layout: [Embedding] [PositionEmbedding], then per block [LayerNorm] [Attention(Heads = h, {(bigCode ? "KeyValueHeads = 1 (multi_query), " : "")}Causal = true)] [Residual(Layers = 2)] "
                + "[LayerNorm] [Dense(I, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)], then [LayerNorm] [Dense(V, TieEmbedding = true, Bias = false)]; "
                + "a [Dropout] may stand after the position table and before each residual (embd_pdrop and resid_pdrop)";
            var (embedding, positions, blocks, norm, output) = Gpt2Layers(a, family, expected, Gpt2Names.Gpt2,
                $"[Attention(Heads = h, {(bigCode ? "KeyValueHeads = 1 with multi_query, " : "")}Causal = true)], with its biases, no rotary positions",
                x => IsPlainScored(x) && x is { Score: AttentionScore.ScaledDot or AttentionScore.Dot, RotaryBase: 0f, Bias: true, OutputBias: true, SlidingWindow: 0 }
                    && (x.KeyValueHeads == 0 || bigCode && x.KeyValueHeads == 1));
            return new Gpt2Layout(embedding, positions!, blocks, norm, output, bigCode);
        }

        /// <summary>
        /// The checkpoint's tensors under the original checkpoints' names (no <c>transformer.</c> prefix), each of GPT-2's Conv1D weights
        /// transposed to [out, in] (GPT-BigCode's nn.Linear weights are so already).
        /// </summary>
        public static Dictionary<string, SafeTensor> Readable(Dictionary<string, SafeTensor> tensors, bool bigCode)
        {
            var readable = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
            foreach (var (name, tensor) in tensors)
            {
                string plain = name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;
                SafeTensor read = !bigCode && IsConv1D(plain) && tensor.Shape.Length == 2
                    ? new SafeTensor(plain, [tensor.Shape[1], tensor.Shape[0]], Kernels.Layout.Transposed(tensor.ToFloat(), checked((int)tensor.Shape[0]), checked((int)tensor.Shape[1])))
                    : tensor;
                if (!readable.TryAdd(plain, read))
                    throw new InvalidDataException($"'{name}' and another tensor are both '{plain}' (with and without the transformer. prefix).");
            }
            return readable;
        }

        /// <summary>Whether a tensor is a Conv1D's weight ([in, out] in the file): c_attn's, c_proj's (the attention's and the feed-forward's) or c_fc's.</summary>
        public static bool IsConv1D(string name) => name.EndsWith(".c_attn.weight", StringComparison.Ordinal) || name.EndsWith(".c_proj.weight", StringComparison.Ordinal)
            || name.EndsWith(".c_fc.weight", StringComparison.Ordinal);

        /// <summary>Buffers the model recomputes (each block's causal mask, <c>attn.bias</c> and <c>attn.masked_bias</c>) and a tied head.</summary>
        public static bool Ignored(string name, bool tied) =>
            name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal) || (tied && name == Head);

        /// <summary>Each parameter's tensor in the checkpoint (after <see cref="Readable"/>).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal)
            {
                [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)],
                [Positions.Name + ".weight"] = [("wpe.weight", Positions.MaxLength)],
            };
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            for (int i = 0; i < Blocks.Count; i++)
            {
                Gpt2Block b = Blocks[i];
                string hf = $"h.{i}.";
                AddNorm(b.First, hf + "ln_1");
                // GPT-2's and multi_query's q, k and v side by side, as in_proj_weight; GPT-BigCode's others head by head
                ParameterSet.TensorRows[] Qkv(string tensor) => BigCode && !MultiQuery ? BloomLayout.HeadByHead(tensor, b.Attention.Heads, b.Attention.HeadSize)
                    : [(tensor, b.Attention.QueryWidth + 2 * b.Attention.KeyValueWidth)];
                s[b.Attention.Name + ".in_proj_weight"] = Qkv(hf + "attn.c_attn.weight");
                s[b.Attention.Name + ".in_proj_bias"] = Qkv(hf + "attn.c_attn.bias");
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + "attn.c_proj.weight", width)];
                s[b.Attention.Name + ".out_proj.bias"] = [(hf + "attn.c_proj.bias", width)];
                AddNorm(b.Second, hf + "ln_2");
                BertLayout.AddDense(s, b.Fc, hf + "mlp.c_fc");
                BertLayout.AddDense(s, b.Proj, hf + "mlp.c_proj");
            }
            AddNorm(Norm, "ln_f");
            if (!Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>What config.json says against what the model declares (GPT2Config's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (BigCode ? !ReadsModelType(c, problems, t => t == "gpt_bigcode", "LoadGptBigCode reads GPT-BigCode's checkpoints (\"gpt_bigcode\")")
                : !ReadsModelType(c, problems, t => t == "gpt2", $"LoadGpt2 reads GPT-2's checkpoints (\"gpt2\"; LoadGptBigCode reads GPT-BigCode's, LoadLlama LLaMA's and its kin)")) return;
            Gpt2Block first = Blocks[0];
            int width = Embedding.Dim;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50257);
            ConfigInt(c, problems, "n_embd", width, $"'{Embedding.Name}'", 768);
            ConfigInt(c, problems, "n_layer", Blocks.Count, "its blocks", 12);
            ConfigInt(c, problems, "n_positions", Positions.MaxLength, $"'{Positions.Name}' maxLength", 1024);
            int embd = Value(c, "n_embd") is { ValueKind: JsonValueKind.Number } e && e.TryGetInt32(out int given) ? given : width;
            ConfigInt(c, problems, "n_inner", first.Fc.Units, $"'{first.Fc.Name}'", 4 * embd); // (null: 4 · n_embd)
            ConfigInt(c, problems, "n_head", first.Attention.Heads, $"'{first.Attention.Name}'", 12);
            CheckAlike(problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Norms());
            // the feed-forward's activation by transformers' ACT2FN name (GPT-2's "gelu_new", GELU's tanh form)
            CheckFeedForwardActivation(c, "activation_function", Activation.GeluTanh, Blocks.Select(b => b.Fc), problems, BigCode ? "gelu_pytorch_tanh" : null);
            // the scores scaled by 1/√d (ScaledDot) unless scale_attn_weights says otherwise (then the Dot score); transformers reads
            // the flags as Python's truth, so a null given is false
            static bool Flag(JsonElement c, string key) => !c.TryGetProperty(key, out JsonElement v) || v.ValueKind == JsonValueKind.True;
            bool scaled = Flag(c, "scale_attn_weights");
            if (Blocks.FirstOrDefault(b => (b.Attention.Score == AttentionScore.ScaledDot) != scaled) is { } score)
                problems.Add(scaled ? $"scale_attn_weights is true{(c.TryGetProperty("scale_attn_weights", out _) ? "" : " (its default)")}: declare '{score.Attention.Name}' with the ScaledDot score (1/√d)"
                    : $"scale_attn_weights is {c.GetProperty("scale_attn_weights").GetRawText()}: declare '{score.Attention.Name}' with Score = AttentionScore.Dot (unscaled)");
            ConfigOff(c, problems, "scale_attn_by_inverse_layer_idx", "the scores scaled by 1 / (layer index + 1) as well are not computed here");
            // GPT-BigCode's one key/value head (multi_query, true by default)
            if (BigCode) ConfigFlag(c, problems, "multi_query", Blocks, b => b.Attention.KeyValueHeads == 1,
                b => b.Attention.KeyValueHeads == 1 ? $"'{b.Attention.Name}' with one key/value head (KeyValueHeads = 1)" : $"'{b.Attention.Name}' with a key/value head per query head", fallback: true);
            ConfigOff(c, problems, "add_cross_attention", "GPT-2 blocks attending over an encoder are not laid out here");
            bool tie = Flag(c, "tie_word_embeddings");
            if (tie != Tied)
                problems.Add(tie ? $"tie_word_embeddings is true{(c.TryGetProperty("tie_word_embeddings", out _) ? "" : " (its default)")}: declare '{Output.Name}' with TieEmbedding = true"
                    : $"tie_word_embeddings is {c.GetProperty("tie_word_embeddings").GetRawText()}, but '{Output.Name}' is tied to the embedding (TieEmbedding = true)");
        }

        /// <summary>What one GPT-2 configuration cannot say: blocks whose heads, scores, feed-forward or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            Gpt2Block first = Blocks[0];
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads || b.Attention.Score != first.Attention.Score).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{first.Attention.Name}' in its heads or score: {Family}'s blocks are alike (one n_head, one scale_attn_weights)");
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Attention.KeyValueHeads != first.Attention.KeyValueHeads).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{first.Attention.Name}' in its key/value heads: {Family}'s blocks are alike (one multi_query)");
            foreach (Gpt2Block b in Blocks.Skip(1).Where(b => b.Fc.Units != first.Fc.Units || b.Fc.Activation != first.Fc.Activation).Take(1))
                problems.Add($"'{b.Fc.Name}' differs from '{first.Fc.Name}': {Family}'s blocks are alike (one n_inner, one activation_function)");
            NormsAlike(Norms(), first.First, problems, Family, "layer_norm_epsilon");
            if (FeedForwardActivationName(first.Fc.Activation) is null)
                problems.Add($"'{first.Fc.Name}' takes {first.Fc.Activation}, which no activation_function of {Family}'s names");
        }

        /// <summary>Every layer norm: each block's two, then ln_f.</summary>
        private IEnumerable<LayerNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.First, b.Second }).Append(Norm);

        /// <summary>The config.json of this layout, as transformers' GPT2Config writes its fields.</summary>
        public byte[] Config()
        {
            Gpt2Block first = Blocks[0];
            return ConfigJson(w =>
            {
                WriteArchitecture(w, BigCode ? "GPTBigCodeForCausalLM" : "GPT2LMHeadModel", null);
                w.WriteString("model_type", BigCode ? "gpt_bigcode" : "gpt2");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("n_embd", Embedding.Dim);
                w.WriteNumber("n_layer", Blocks.Count);
                w.WriteNumber("n_head", first.Attention.Heads);
                w.WriteNumber("n_positions", Positions.MaxLength);
                if (BigCode) w.WriteBoolean("multi_query", MultiQuery);
                else w.WriteNumber("n_ctx", Positions.MaxLength);
                w.WriteNumber("n_inner", first.Fc.Units);
                // (GPT-BigCode's own name for GELU's tanh form; GPT-2's "gelu_new" reads the same)
                w.WriteString("activation_function", BigCode && first.Fc.Activation == Activation.GeluTanh ? "gelu_pytorch_tanh" : FeedForwardActivationName(first.Fc.Activation));
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(first.First.Epsilon));
                w.WriteBoolean("scale_attn_weights", first.Attention.Score == AttentionScore.ScaledDot);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }

    /// <summary>
    /// The name (transformers' ACT2FN) of an ungated feed-forward's activation, GPT-2's <c>activation_function</c> and BERT's
    /// <c>hidden_act</c>: GELU's tanh form as GPT-2's own "gelu_new", the gated layers' names otherwise, ReLU and tanh; or null.
    /// </summary>
    private static string? FeedForwardActivationName(Activation activation) => activation switch
    {
        Activation.GeluTanh => "gelu_new",
        Activation.Gelu or Activation.Silu => ActivationName(activation),
        Activation.Relu => "relu",
        Activation.Tanh => "tanh",
        _ => null,
    };

    /// <summary>
    /// The feed-forward's activation a configuration names under <paramref name="key"/> (<paramref name="fallback"/> where it is
    /// absent) against each of <paramref name="layers"/>' (GPT-2's <c>activation_function</c>, BERT's <c>hidden_act</c>,
    /// DistilBERT's <c>activation</c>).
    /// </summary>
    private static void CheckFeedForwardActivation(JsonElement c, string key, Activation fallback, IEnumerable<DenseInfo> layers, List<string> problems, string? fallbackName = null)
    {
        JsonElement? act = Value(c, key);
        Activation? activation = act is { ValueKind: JsonValueKind.String } name ? FeedForwardActivation(name.GetString()!) : act is null ? fallback : null;
        if (activation is null)
            problems.Add($"{key} is {act!.Value.GetRawText()}: the feed-forward here takes \"gelu_new\" (or \"gelu_pytorch_tanh\"), \"gelu\", \"relu\", \"silu\" or \"tanh\"");
        else if (layers.FirstOrDefault(d => d.Activation != activation) is { } unlike)
            problems.Add($"{key} is {(act is null ? $"\"{fallbackName ?? FeedForwardActivationName(fallback)}\" (its default)" : act.Value.GetRawText())}: declare '{unlike.Name}' with Activation = Activation.{activation}");
    }

    /// <summary>The ungated feed-forward's activation a configuration names (transformers' ACT2FN: the gated layers' names, ReLU and tanh), or null.</summary>
    private static Activation? FeedForwardActivation(string name) => name switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        _ => ActivationOf(name),
    };

    /// <summary>A GPT-2 block's parts: ln_1, attn, ln_2, mlp.c_fc and mlp.c_proj.</summary>
    private sealed record Gpt2Block(LayerNormInfo First, AttentionInfo Attention, LayerNormInfo Second, DenseInfo Fc, DenseInfo Proj);

    /// <summary>
    /// What the parts of GPT-2's shape of model are called in one family's checkpoints, for the layout errors: the token table, the
    /// position table (null where the family has none), a block's two norms and attention, and the last norm.
    /// </summary>
    private sealed record Gpt2Names(string Table, string? Positions, string First, string Attention, string Second, string Last)
    {
        /// <summary>GPT-2's names (GPT-BigCode's and GPT-Neo's too).</summary>
        public static readonly Gpt2Names Gpt2 = new("wte", "wpe", "ln_1", "attn", "ln_2", "ln_f");
    }

    /// <summary>
    /// The options no family of GPT-2's shape has: heads of their own width, QK-norm, another scale, a soft cap, a position bias
    /// (relative buckets, ALiBi).
    /// </summary>
    private static bool IsPlainScored(AttentionInfo x) => x is { HeadWidth: 0, QueryKeyNorm: false, Scale: 0f, SoftCap: 0f, RelativeBuckets: 0, Alibi: false };

    /// <summary>
    /// A model's layers matched to GPT-2's shape of model (GPT-2's, GPT-BigCode's, GPT-Neo's, StarCoder2's): the token table and
    /// (where <paramref name="names"/> has one) the position table, pre-norm blocks of a norm, the attention (<paramref name="attention"/>
    /// as the errors show it; <paramref name="fits"/> its family's options beside a causal self-attention), a norm and the feed-forward's
    /// two Dense layers, then the last norm and the output layer; a [Dropout] after the tables and before each residual. Throws the
    /// error naming the first layer that differs.
    /// </summary>
    private static (EmbeddingInfo Embedding, PositionEmbeddingInfo? Positions, List<Gpt2Block> Blocks, LayerNormInfo Norm, DenseInfo Output) Gpt2Layers(ModelArchitecture a,
        string family, string expected, Gpt2Names names, string attention, Func<AttentionInfo, bool> fits)
    {
        var walk = new LayerWalk(a, family, expected);
        IReadOnlyList<LayerInfo> l = walk.Layers;
        var embedding = walk.At<EmbeddingInfo>(0, $"the token table ({names.Table}: an [Embedding], unscaled)", e => e.Scale == 1f);
        var positions = names.Positions is null ? null : walk.At<PositionEmbeddingInfo>(1, $"the position table ({names.Positions}: a [PositionEmbedding])", _ => true);
        int width = embedding.Dim, first = positions is null ? 1 : 2, at = walk.Dropout(first); // (embd_pdrop's)
        var blocks = new List<Gpt2Block>();
        while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
        {
            int n = blocks.Count, start = at;
            var before = walk.At<LayerNormInfo>(at++, $"block {n}'s {names.First} ([LayerNorm])", x => x.Bias);
            var self = walk.At<AttentionInfo>(at++, $"block {n}'s {names.Attention} ({attention})", x => x is { MemoryWidth: 0, Pool: false, Causal: true, InputFeeding: false } && fits(x));
            at = walk.Dropout(at); // (resid_pdrop's, after the attention's output projection)
            int residual = at;
            walk.At<ResidualInfo>(at++, $"block {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
            var second = walk.At<LayerNormInfo>(at++, $"block {n}'s {names.Second} ([LayerNorm])", x => x.Bias);
            // (the feed-forward's biases as the attention's output projection's: every family's here has both or neither)
            var fc = walk.At<DenseInfo>(at++, $"block {n}'s mlp.c_fc ([Dense(I, Activation = Activation.GeluTanh)], {(self.OutputBias ? "with" : "without")} its bias, as the attention's output projection)",
                d => d is { Gated: false, TiedTo: null, SoftCap: 0f } && d.Bias == self.OutputBias && d.Activation != Activation.None);
            var proj = walk.At<DenseInfo>(at++, $"block {n}'s mlp.c_proj ([Dense({width})], {(self.OutputBias ? "with" : "without")} its bias, as the attention's output projection)",
                d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Bias == self.OutputBias && d.Units == width);
            at = walk.Dropout(at);
            walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == residual);
            blocks.Add(new Gpt2Block(before, self, second, fc, proj));
        }
        if (blocks.Count == 0) throw walk.Differs(walk.Dropout(first), $"block 0's {names.First} ([LayerNorm]) and {names.Attention} ([Attention])");
        var (norm, output) = walk.LastNormAndHead(at, $"the last norm ({names.Last}: [LayerNorm])", $"lm_head: [Dense({embedding.Vocabulary}, TieEmbedding = true, Bias = false)]",
            embedding.Vocabulary);
        return (embedding, positions, blocks, norm, output);
    }
}
