using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a GPT-J checkpoint — transformers' <c>GPTJForCausalLM</c> (EleutherAI's gpt-j-6b, and the models fine-tuned from it,
    /// <c>model_type</c> "gptj") — into <paramref name="model"/>, declared as GPT-J's layers: parallel blocks with one norm for both
    /// branches (x + attn(ln_1(x)) + mlp(ln_1(x))), each a <c>[Branch]</c> back to the norm's output and two residuals adding the branches:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: n_embd)]
    /// // per block (n_layer of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = n_head, Causal = true, Rotary = true, RotaryDimensions = rotary_dim, Bias = false)]
    /// [Branch]
    /// [Dense(n_inner, Activation = Activation.GeluTanh)] [Dense(n_embd)]
    /// [Residual(Layers = 3)] [Residual(Layers = 6)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size)]
    /// </code>
    /// GPT-J turns the pairs (2j, 2j + 1) of each head's first <c>rotary_dim</c> values by p · 10000^(−2j/r) ("rotate_every_two"), where
    /// the attention here turns the pairs (j, j + r/2): the scores are the same when each head's first r query and key rows are taken
    /// in the other order, the even ones, then the odd, so the loader reorders <c>q_proj</c>'s and <c>k_proj</c>'s rows so (and
    /// <see cref="SaveGptJ"/> back). A <c>[Dropout]</c> may stand after the embedding (<c>embd_pdrop</c>), after the attention and after
    /// the feed-forward (<c>resid_pdrop</c>). <c>transformer.wte</c> goes into the embedding; each block's <c>attn.q_proj</c>,
    /// <c>k_proj</c> and <c>v_proj</c> into the attention's <c>in_proj_weight</c>, <c>attn.out_proj</c> into <c>out_proj</c>,
    /// <c>mlp.fc_in</c> and <c>mlp.fc_out</c> into the two Dense layers, <c>ln_1</c> and <c>transformer.ln_f</c> into the norms,
    /// <c>lm_head</c> (weight and bias) into the output layer. The names with or without the <c>transformer.</c> prefix are read;
    /// older checkpoints' buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>) are left.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with GPTJConfig's defaults for what it leaves out: <c>vocab_size</c> (50400), <c>n_embd</c> (4096),
    /// <c>n_layer</c> (28), <c>n_head</c> (16), <c>rotary_dim</c> (64), <c>n_inner</c> (4 · n_embd), <c>activation_function</c>
    /// ("gelu_new"), <c>layer_norm_epsilon</c> (1e-5) and <c>tie_word_embeddings</c> (false). GPT-J's rotary base is 10000.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-J (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadGptJ(IModel model, string path) => LoadEveryTwo(model, path, codeGen: false);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as GPT-J (see <see cref="LoadGptJ"/>), as a <c>GPTJForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names, the
    /// query and key rows back in GPT-J's order, and the <c>config.json</c> that describes it, so that transformers'
    /// <c>GPTJForCausalLM.from_pretrained(folder)</c> and <see cref="LoadGptJ"/> read it back. Both files are built first, then
    /// replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as GPT-J, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveGptJ(IModel model, string folder) => SaveEveryTwo(model, folder, codeGen: false);

    /// <summary>
    /// Loads a CodeGen checkpoint — transformers' <c>CodeGenForCausalLM</c> (Salesforce's codegen-350M … 16B, mono, multi and nl,
    /// <c>model_type</c> "codegen") — into <paramref name="model"/>, declared as GPT-J's layers (see <see cref="LoadGptJ"/>: CodeGen's
    /// blocks are GPT-J's). Each block's <c>attn.qkv_proj</c> holds its rows in 4 groups (the "mp_num" of the TPU it was trained on), each
    /// a quarter of the heads' queries, then their values, then their keys: the loader reads them into <c>in_proj_weight</c>'s queries,
    /// keys and values, the queries' and keys' rotated rows reordered as GPT-J's. The number of heads must divide by 4. The
    /// configuration is checked with CodeGenConfig's defaults (those of GPT-J above); CodeGen2's checkpoints, whose config.json names
    /// their own modelling code (<c>auto_map</c>: its qkv_proj in 8 groups), are refused; older checkpoints' buffers
    /// (<c>attn.causal_mask</c>, <c>attn.masked_bias</c>) are left.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as CodeGen (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadCodeGen(IModel model, string path) => LoadEveryTwo(model, path, codeGen: true);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as CodeGen (see <see cref="LoadCodeGen"/>), as a <c>CodeGenForCausalLM</c> checkpoint
    /// in <paramref name="folder"/>: <c>qkv_proj</c> in CodeGen's groups, and its <c>config.json</c> (as <see cref="SaveGptJ"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as CodeGen, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveCodeGen(IModel model, string folder) => SaveEveryTwo(model, folder, codeGen: true);

    private static void LoadEveryTwo(IModel model, string path, bool codeGen)
    {
        string family = codeGen ? "CodeGen's" : "GPT-J's";
        var (architecture, layout, files, _, problems) = Checked(model, path, family, a => GptJLayout.Of(a, codeGen), (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = WithoutPrefix(ReadAll(files), GptJLayout.Prefix, layout.Family);
        AssignStacked(model, path, architecture, tensors, layout.Sources(), GptJLayout.IsBuffer, problems, adjust: layout.Reorder(toHalf: true));
    }

    private static void SaveEveryTwo(IModel model, string folder, bool codeGen)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        GptJLayout layout = GptJLayout.Of(Architecture(model, codeGen ? "CodeGen's" : "GPT-J's"), codeGen);
        RefuseUnlike(model.Architecture!.Name, layout.Family, layout.CheckAlike);
        WritePrefixed(model, folder, layout.Sources(), layout.Config(), GptJLayout.Prefix, GptJLayout.Head, layout.Reorder(toHalf: false));
    }

    /// <summary>
    /// GPT-J's rotation turns each head's pairs (2j, 2j + 1) ("rotate_every_two"), the attention kernels the pairs (j, j + r/2)
    /// ("rotate_half"): a query's score against a key is the same when both take each head's first r values in another order, the even
    /// ones, then the odd. Reorders so, in place, the query and key rows of <paramref name="a"/>'s in_proj_weight <paramref name="values"/>
    /// (rows of <paramref name="rowLength"/>; the values' rows left): to the attention's order (<paramref name="toHalf"/>), or back.
    /// </summary>
    private static void ReorderRotaryRows(AttentionInfo a, float[] values, int rowLength, bool toHalf)
    {
        int d = a.HeadSize, r = a.RotaryWidth, half = r / 2;
        var head = new float[r * rowLength];
        for (int h = 0; h < a.Heads + a.KeyValueHeadCount; h++) // the queries' heads, then the keys' (rows h · d on)
        {
            Span<float> turned = values.AsSpan(h * d * rowLength, r * rowLength);
            for (int j = 0; j < r; j++)
            {
                int everyTwo = j < half ? 2 * j : 2 * (j - half) + 1; // the row rotate_half's row j was in GPT-J's order
                var (from, to) = toHalf ? (everyTwo, j) : (j, everyTwo);
                turned.Slice(from * rowLength, rowLength).CopyTo(head.AsSpan(to * rowLength));
            }
            head.CopyTo(turned);
        }
    }

    /// <summary>A model's layers matched to GPT-J's (or CodeGen's, the same blocks): the token table, the parallel layers, ln_f and lm_head.</summary>
    private sealed record GptJLayout(EmbeddingInfo Embedding, IReadOnlyList<OneNormBlock> Blocks, LayerNormInfo Norm, DenseInfo Output, bool CodeGen)
    {
        public const string Prefix = "transformer.", Head = "lm_head.weight";

        /// <summary>CodeGen's groups of rows in qkv_proj (its mp_num, fixed at 4 in transformers' modeling_codegen).</summary>
        public const int Groups = 4;

        public string Family => CodeGen ? "CodeGen" : "GPT-J";

        public static GptJLayout Of(ModelArchitecture a, bool codeGen)
        {
            string family = codeGen ? "CodeGen" : "GPT-J", attention = $"[Attention(Heads = h, Causal = true, Rotary = true, Bias = false)], RotaryDimensions for a rotary_dim below the head's width{(codeGen ? ", h a multiple of 4" : "")}";
            var names = new OneNormNames(family, "wte", "ln_1", "attn", attention, x => x is { Bias: false, OutputBias: false, KeyValueHeads: 0 } && (!codeGen || x.Heads % Groups == 0),
                "mlp.fc_in", "mlp.fc_out", "ln_f",
                $"{family}'s layout: [Embedding], then per block [LayerNorm] [Attention(Heads = h, Causal = true, Rotary = true, Bias = false)] [Branch] "
                + "[Dense(I, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)] [Residual(Layers = 6)], then [LayerNorm] [Dense(V)]; "
                + "a [Dropout] may stand after the embedding (embd_pdrop), after the attention and after the feed-forward (resid_pdrop)");
            var (embedding, blocks, norm, output) = OneNormLayers(a, names);
            return new GptJLayout(embedding, blocks, norm, output, codeGen);
        }

        /// <summary>The buffers older checkpoints keep beside the weights (the causal mask and its fill value): recomputed, nothing to load.</summary>
        public static bool IsBuffer(string name) => name.StartsWith("h.", StringComparison.Ordinal)
            && (name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
                || name.EndsWith(".attn.causal_mask", StringComparison.Ordinal));

        /// <summary>Each parameter's tensors in the checkpoint (without the <c>transformer.</c> prefix but lm_head's).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [("wte.weight", Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                OneNormBlock b = Blocks[i];
                string hf = $"h.{i}.";
                BertLayout.AddNorm(s, b.Norm, hf + "ln_1");
                if (CodeGen)
                {
                    s[b.Attention.Name + ".in_proj_weight"] = GroupedQkv(hf + "attn.qkv_proj.weight", b.Attention);
                    AddOutputProjection(s, b.Attention, hf + "attn.out_proj");
                }
                else AddSplitAttention(s, b.Attention, hf + "attn.", "out_proj");
                BertLayout.AddDense(s, b.Up, hf + "mlp.fc_in");
                BertLayout.AddDense(s, b.Down, hf + "mlp.fc_out");
            }
            BertLayout.AddNorm(s, Norm, "ln_f");
            BertLayout.AddDense(s, Output, "lm_head");
            return s;
        }

        /// <summary>
        /// CodeGen's qkv_proj [3E, E] read into in_proj_weight: its rows in 4 groups of 3 · E/4, each a quarter of the queries
        /// (heads in order), then the same heads' values, then their keys; in_proj_weight takes the queries of every group, then the
        /// keys, then the values.
        /// </summary>
        private static ParameterSet.TensorRows[] GroupedQkv(string name, AttentionInfo a)
        {
            int local = a.QueryWidth / Groups, total = 3 * a.QueryWidth;
            IEnumerable<ParameterSet.TensorRows> Slot(int slot) => Enumerable.Range(0, Groups).Select(g => new ParameterSet.TensorRows(name, local, (3 * g + slot) * local, total));
            return [.. Slot(0), .. Slot(2), .. Slot(1)];
        }

        /// <summary>What <see cref="ReorderRotaryRows"/> does to each attention's in_proj_weight: to the attention's order (<paramref name="toHalf"/>) or back.</summary>
        public Action<string, float[]> Reorder(bool toHalf)
        {
            Dictionary<string, AttentionInfo> attentions = Blocks.ToDictionary(b => b.Attention.Name + ".in_proj_weight", b => b.Attention, StringComparer.Ordinal);
            return (parameter, values) =>
            {
                if (attentions.TryGetValue(parameter, out AttentionInfo? a)) ReorderRotaryRows(a, values, a.InWidth, toHalf);
            };
        }

        /// <summary>What one configuration cannot say: layers whose heads, rotation or feed-forward differ from the first's, or norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (OneNormBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.RotaryWidth != a.RotaryWidth).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads or rotation): {Family}'s layers are alike (one n_head, one rotary_dim)");
            foreach (OneNormBlock b in Blocks.Where(b => b.Attention.RotaryBase != 10000f).Take(1))
                problems.Add($"'{b.Attention.Name}' declares RotaryBase {Number(b.Attention.RotaryBase)}: {Family}'s rotary base is 10000, which its configuration does not say");
            foreach (OneNormBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units || b.Up.Activation != first.Up.Activation).Take(1))
                problems.Add($"'{b.Up.Name}' differs from '{first.Up.Name}': {Family}'s layers are alike (one n_inner, one activation_function)");
            NormsAlike(Blocks.Select(b => b.Norm).Append(Norm), first.Norm, problems, Family, "layer_norm_epsilon");
            if (FeedForwardActivationName(first.Up.Activation) is null)
                problems.Add($"'{first.Up.Name}' takes {first.Up.Activation}, which no activation_function names");
        }

        /// <summary>What config.json says against what the model declares (GPTJConfig's or CodeGenConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            string type = CodeGen ? "codegen" : "gptj";
            if (!ReadsModelType(c, problems, t => t == type, $"Load{(CodeGen ? "CodeGen" : "GptJ")} reads {Family}'s checkpoints (\"{type}\")")) return;
            // CodeGen2's configurations say "codegen" too, but name remote code (auto_map) whose qkv_proj lies in 8 groups, not 4
            if (CodeGen && Value(c, "auto_map") is { } remote)
                problems.Add($"auto_map is {remote.GetRawText()}: the checkpoint runs modelling code of its own (CodeGen2's, its qkv_proj in 8 groups), not transformers' CodeGen, which LoadCodeGen reads");
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50400);
            ConfigInt(c, problems, "n_embd", Embedding.Dim, $"'{Embedding.Name}'", 4096);
            ConfigInt(c, problems, "n_layer", Blocks.Count, "its blocks", 28);
            ConfigInt(c, problems, "n_head", a.Heads, $"'{a.Name}'", 16);
            // (null or absent: 4 · n_embd, as GPT-J's and CodeGen's blocks take it)
            int embd = Value(c, "n_embd") is { ValueKind: JsonValueKind.Number } e && e.TryGetInt32(out int given) ? given : 4096;
            if (Value(c, "n_inner") is not null) ConfigInt(c, problems, "n_inner", first.Up.Units, $"'{first.Up.Name}'");
            else if (first.Up.Units != 4 * embd) problems.Add($"n_inner is unset (null or absent): 4 · n_embd = {4 * embd}, the model declares {first.Up.Units} ('{first.Up.Name}')");
            // rotary_dim: the head's first values turned (null turns pairs over the whole width, n_embd, which fits one head alone: its whole head)
            if (!c.TryGetProperty("rotary_dim", out JsonElement rotary)) ConfigInt(c, problems, "rotary_dim", a.RotaryWidth, $"'{a.Name}' RotaryDimensions", 64);
            else if (rotary.ValueKind == JsonValueKind.Null)
            {
                if (a.Heads != 1) problems.Add($"rotary_dim is null: {Family}'s attention then turns pairs over the whole width (n_embd), which fits one head alone, not '{a.Name}''s {a.Heads}");
                else if (a.RotaryDimensions > 0) problems.Add($"rotary_dim is null: the whole head is turned; declare '{a.Name}' without RotaryDimensions");
            }
            else if (!(rotary.ValueKind == JsonValueKind.Number && rotary.TryGetInt32(out int r) && r >= 2 && r % 2 == 0 && r <= a.HeadSize))
                problems.Add($"rotary_dim is {rotary.GetRawText()}: the rotation turns an even number of each head's {a.HeadSize} values, 2 or more");
            else ConfigInt(c, problems, "rotary_dim", a.RotaryWidth, $"'{a.Name}' {(a.RotaryDimensions > 0 ? "RotaryDimensions" : "whole head, without RotaryDimensions")}");
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "activation_function", Activation.GeluTanh, Blocks.Select(b => b.Up), problems);
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, Blocks.Select(b => b.Norm).Append(Norm));
            if (Value(c, "tie_word_embeddings") is { ValueKind: JsonValueKind.True })
                problems.Add($"tie_word_embeddings is true: {Family}'s lm_head tied to the token table (with a bias of its own) is not laid out here");
        }

        /// <summary>The config.json of this layout, as transformers' GPTJConfig (or CodeGenConfig) writes its fields.</summary>
        public byte[] Config()
        {
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, CodeGen ? "CodeGenForCausalLM" : "GPTJForCausalLM", null);
                w.WriteString("model_type", CodeGen ? "codegen" : "gptj");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("n_embd", Embedding.Dim);
                w.WriteNumber("n_layer", Blocks.Count);
                w.WriteNumber("n_head", a.Heads);
                w.WriteNumber("rotary_dim", a.RotaryWidth);
                w.WriteNumber("n_inner", first.Up.Units);
                w.WriteString("activation_function", FeedForwardActivationName(first.Up.Activation));
                w.WritePropertyName("layer_norm_epsilon");
                w.WriteRawValue(JsonFloat(first.Norm.Epsilon));
                w.WriteBoolean("tie_word_embeddings", false);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
