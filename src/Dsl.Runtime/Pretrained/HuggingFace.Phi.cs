using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Phi checkpoint — transformers' <c>PhiForCausalLM</c> (microsoft's phi-1, phi-1_5 and phi-2, <c>model_type</c> "phi", and
    /// the models fine-tuned from them) — into <paramref name="model"/>, declared as Phi's layers: parallel blocks with one norm for
    /// both branches (x + attn(ln(x)) + mlp(ln(x))), each a <c>[Branch]</c> back to the norm's output and two residuals adding the
    /// branches:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [LayerNorm(Epsilon = ε)] [Attention(Heads = num_attention_heads, KeyValueHeads = num_key_value_heads, Causal = true, Rotary = true, RotaryDimensions = r)]
    /// [Branch]
    /// [Dense(intermediate_size, Activation = Activation.GeluTanh)] [Dense(hidden_size)]
    /// [Residual(Layers = 3)] [Residual(Layers = 6)]
    /// // then
    /// [LayerNorm(Epsilon = ε)] [Dense(vocab_size)]
    /// </code>
    /// r = int(head size · <c>partial_rotary_factor</c>) values of each head are turned (rotate-half), the rest passed; the
    /// <c>KeyValueHeads</c> only where <c>num_key_value_heads</c> is fewer than the heads. A <c>[Dropout]</c> may stand after the
    /// embedding (<c>embd_pdrop</c>), after the attention and after the feed-forward (<c>resid_pdrop</c>). <c>model.embed_tokens</c> goes into the embedding; each layer's
    /// <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> (with their biases) into the attention's <c>in_proj_weight</c> and
    /// <c>in_proj_bias</c>, <c>self_attn.dense</c> into <c>out_proj</c>, <c>mlp.fc1</c> and <c>mlp.fc2</c> into the two Dense layers,
    /// <c>input_layernorm</c> and <c>model.final_layernorm</c> into the norms, <c>lm_head</c> (weight and bias) into the output layer.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with PhiConfig's defaults for what it leaves out: <c>vocab_size</c> (51200), <c>hidden_size</c> (2048),
    /// <c>intermediate_size</c> (8192), <c>num_hidden_layers</c> (24), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c> (the
    /// heads), <c>hidden_act</c> ("gelu_new"), <c>partial_rotary_factor</c> (0.5), <c>rope_theta</c> (10000), <c>layer_norm_eps</c>
    /// (1e-5) and <c>tie_word_embeddings</c> (false); <c>qk_layernorm</c> and a <c>rope_scaling</c> are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Phi (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadPhi(IModel model, string path)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, "Phi's", PhiLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        AssignStacked(model, path, architecture, ReadAll(files), layout.Sources(), _ => false, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Phi (see <see cref="LoadPhi"/>), as a <c>PhiForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names and the
    /// <c>config.json</c> that describes it, so that transformers' <c>PhiForCausalLM.from_pretrained(folder)</c> and
    /// <see cref="LoadPhi"/> read it back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Phi, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SavePhi(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        PhiLayout layout = PhiLayout.Of(Architecture(model, "Phi's"));
        RefuseUnlike(model.Architecture!.Name, "Phi", layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>A parallel decoder layer with one norm for both branches (Phi's, GPT-J's): the norm, the attention, and the feed-forward's two Dense layers beside it.</summary>
    private sealed record OneNormBlock(LayerNormInfo Norm, AttentionInfo Attention, DenseInfo Up, DenseInfo Down);

    /// <summary>
    /// What a one-norm parallel decoder's parts are called in one family's checkpoints (<paramref name="Family"/>'s), for the layout
    /// errors: the token table, a layer's norm, attention and feed-forward, the last norm; <paramref name="Attention"/>'s declaration
    /// as the errors show it, and what else it must have (<paramref name="Fits"/>: its biases and heads).
    /// </summary>
    private sealed record OneNormNames(string Family, string Table, string Norm, string AttentionName, string Attention, Func<AttentionInfo, bool> Fits,
        string Up, string Down, string LastNorm, string Expected);

    /// <summary>
    /// A model's layers matched to a decoder of one-norm parallel layers: the token table, then per layer [LayerNorm] [Attention]
    /// [Branch] [Dense(I)] [Dense(E)] and the residuals adding both branches and the layer's input, then [LayerNorm] [Dense(V)] with
    /// its bias; a [Dropout] after the embedding, the attention and the feed-forward. Throws the error naming the first layer that differs.
    /// </summary>
    private static (EmbeddingInfo Embedding, List<OneNormBlock> Blocks, LayerNormInfo Norm, DenseInfo Output) OneNormLayers(ModelArchitecture a, OneNormNames names)
    {
        var walk = new LayerWalk(a, names.Family, names.Expected);
        IReadOnlyList<LayerInfo> l = walk.Layers;
        var embedding = walk.At<EmbeddingInfo>(0, $"the token table ({names.Table}: an [Embedding], unscaled)", e => e.Scale == 1f);
        int width = embedding.Dim, at = walk.Dropout(1); // (embd_pdrop's)
        var blocks = new List<OneNormBlock>();
        while (at + 6 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo)
        {
            int n = blocks.Count, start = at;
            var norm = walk.At<LayerNormInfo>(at++, $"decoder layer {n}'s {names.Norm} ([LayerNorm])", x => x.Bias);
            var attention = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s {names.AttentionName} ({names.Attention})", x => IsPlainRotaryCausal(x) && names.Fits(x));
            at = walk.Dropout(at); // (resid_pdrop's, after the attention's output projection)
            int attended = at - 1;
            walk.At<BranchInfo>(at++, $"decoder layer {n}'s branch back to its norm for the feed-forward ([Branch], or Layers = 2 over a [Dropout])", b => b.From == start);
            var up = walk.At<DenseInfo>(at++, $"decoder layer {n}'s {names.Up} ([Dense(I, Activation = Activation.GeluTanh)])",
                d => d is { Gated: false, TiedTo: null, SoftCap: 0f, Bias: true } && d.Activation != Activation.None);
            var down = walk.At<DenseInfo>(at++, $"decoder layer {n}'s {names.Down} ([Dense({width})])",
                d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f, Bias: true } && d.Units == width);
            at = walk.Dropout(at);
            walk.BranchesAdded(ref at, $"decoder layer {n}", attended, start - 1, 3, 6);
            blocks.Add(new OneNormBlock(norm, attention, up, down));
        }
        if (blocks.Count == 0) throw walk.Differs(walk.Dropout(1), $"decoder layer 0's {names.Norm} ([LayerNorm]) and {names.AttentionName} ({names.Attention})");
        var (last, output) = walk.LastNormAndHead(at, $"{names.LastNorm} ([LayerNorm])", $"lm_head: [Dense({embedding.Vocabulary})], with its bias", embedding.Vocabulary,
            headBias: true, untied: true);
        return (embedding, blocks, last, output);
    }

    /// <summary>A model's layers matched to Phi's: the token table, the parallel layers, final_layernorm and lm_head.</summary>
    private sealed record PhiLayout(EmbeddingInfo Embedding, IReadOnlyList<OneNormBlock> Blocks, LayerNormInfo Norm, DenseInfo Output)
    {
        private static readonly OneNormNames s_names = new("Phi", "embed_tokens", "input_layernorm", "self_attn",
            "[Attention(Heads = h, Causal = true, Rotary = true)], RotaryDimensions for a partial_rotary_factor below 1", x => x is { Bias: true, OutputBias: true },
            "mlp.fc1", "mlp.fc2", "final_layernorm",
            "Phi's layout: [Embedding], then per decoder layer [LayerNorm] [Attention(Heads = h, Causal = true, Rotary = true)] [Branch] "
            + "[Dense(I, Activation = Activation.GeluTanh)] [Dense(E)] [Residual(Layers = 3)] [Residual(Layers = 6)], then [LayerNorm] [Dense(V)]; "
            + "a [Dropout] may stand after the embedding (embd_pdrop), after the attention and after the feed-forward (resid_pdrop)");

        public static PhiLayout Of(ModelArchitecture a)
        {
            var (embedding, blocks, norm, output) = OneNormLayers(a, s_names);
            return new PhiLayout(embedding, blocks, norm, output);
        }

        /// <summary>Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked into in_proj_weight (and their biases).</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [("model.embed_tokens.weight", Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                OneNormBlock b = Blocks[i];
                string hf = $"model.layers.{i}.";
                BertLayout.AddNorm(s, b.Norm, hf + "input_layernorm");
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "dense");
                BertLayout.AddDense(s, b.Up, hf + "mlp.fc1");
                BertLayout.AddDense(s, b.Down, hf + "mlp.fc2");
            }
            BertLayout.AddNorm(s, Norm, "model.final_layernorm");
            BertLayout.AddDense(s, Output, "lm_head");
            return s;
        }

        /// <summary>What one configuration cannot say: layers whose heads, rotation or feed-forward differ from the first's, or norms of another ε.</summary>
        public void CheckAlike(List<string> problems)
        {
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            foreach (OneNormBlock b in Blocks.Skip(1).Where(b => b.Attention.Heads != a.Heads || b.Attention.KeyValueHeads != a.KeyValueHeads || b.Attention.RotaryWidth != a.RotaryWidth
                || b.Attention.RotaryBase != a.RotaryBase).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}' (heads or rotation): Phi's layers are alike (one num_attention_heads, num_key_value_heads, partial_rotary_factor and rope_theta)");
            foreach (OneNormBlock b in Blocks.Skip(1).Where(b => b.Up.Units != first.Up.Units || b.Up.Activation != first.Up.Activation).Take(1))
                problems.Add($"'{b.Up.Name}' differs from '{first.Up.Name}': Phi's layers are alike (one intermediate_size, one hidden_act)");
            NormsAlike(Norms(), first.Norm, problems, "Phi", "layer_norm_eps");
            if (FeedForwardActivationName(first.Up.Activation) is null)
                problems.Add($"'{first.Up.Name}' takes {first.Up.Activation}, which no hidden_act names");
        }

        private IEnumerable<LayerNormInfo> Norms() => Blocks.Select(b => b.Norm).Append(Norm);

        /// <summary>What config.json says against what the model declares (PhiConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "phi", "LoadPhi reads Phi's checkpoints (\"phi\": phi-1, phi-1_5, phi-2; Phi-3's \"phi3\" load through LoadLlama)")) return;
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 51200);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 2048);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", 24);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", 32);
            int heads = Value(c, "num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : 32;
            // (absent or null, as PhiConfig writes its default, as many as the heads)
            if (Value(c, "num_key_value_heads") is not null) ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeads > 0 ? a.KeyValueHeads : a.Heads, $"'{a.Name}' KeyValueHeads");
            else if (a.KeyValueHeads > 0 && a.KeyValueHeads != heads)
                problems.Add($"'{a.Name}' has {a.KeyValueHeads} key/value heads, but num_key_value_heads is unset (null or absent): as many as num_attention_heads ({heads})");
            ConfigInt(c, problems, "intermediate_size", first.Up.Units, $"'{first.Up.Name}'", 8192);
            CheckAlike(problems);
            CheckFeedForwardActivation(c, "hidden_act", Activation.GeluTanh, Blocks.Select(b => b.Up), problems);
            ConfigEpsilon(c, problems, "layer_norm_eps", 1e-5, Norms());
            CheckPartialRotation(c, problems, a, "Phi", "partial_rotary_factor", 0.5, "rope_theta");
            if (Value(c, "qk_layernorm") is { ValueKind: JsonValueKind.True })
                problems.Add("qk_layernorm is true: Phi's layer norms on the queries and keys are not laid out here");
            if (Value(c, "tie_word_embeddings") is { ValueKind: JsonValueKind.True })
                problems.Add($"tie_word_embeddings is true: Phi's lm_head tied to the token table (with a bias of its own) is not laid out here");
        }

        /// <summary>The config.json of this layout, as transformers' PhiConfig writes its fields.</summary>
        public byte[] Config()
        {
            OneNormBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, "PhiForCausalLM", null);
                w.WriteString("model_type", "phi");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", first.Up.Units);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeads > 0 ? a.KeyValueHeads : a.Heads);
                w.WriteString("hidden_act", FeedForwardActivationName(first.Up.Activation));
                w.WriteNumber("partial_rotary_factor", RotaryFraction(a));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WriteNull("rope_scaling");
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(first.Norm.Epsilon));
                w.WriteBoolean("qk_layernorm", false);
                w.WriteBoolean("tie_word_embeddings", false);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }

    /// <summary>
    /// The partial rotation a configuration gives against <paramref name="a"/>'s: the fraction of each head it turns
    /// (<paramref name="fractionKey"/>, else <c>rope_parameters</c>' <c>partial_rotary_factor</c>, as newer transformers keep it;
    /// <paramref name="fraction"/> where neither says), its base (<paramref name="baseKey"/>, else <c>rope_parameters</c>' <c>rope_theta</c>;
    /// <paramref name="defaultBase"/>, 10000 unless the family's class says otherwise) and no scaling (<c>rope_scaling</c>, or a <c>rope_type</c> other than "default", refused for <paramref name="family"/>).
    /// </summary>
    private static void CheckPartialRotation(JsonElement c, List<string> problems, AttentionInfo a, string family, string fractionKey, double fraction, string baseKey,
        double defaultBase = 10000)
    {
        JsonElement? rope = Value(c, "rope_parameters") is { ValueKind: JsonValueKind.Object } parameters ? parameters : null;
        // (a key of the same name in rope_parameters stands over the top-level one, as transformers standardises them; GPT-NeoX's own
        // rotary_pct and rotary_emb_base stand over rope_parameters)
        (string Key, JsonElement? Value) Read(string key, string inRope)
        {
            JsonElement? inside = rope is { } r ? Value(r, inRope) : null;
            return key == inRope && inside is { } first ? ($"rope_parameters' {inRope}", first)
                : Value(c, key) is { } top ? (key, top) : inside is { } other ? ($"rope_parameters' {inRope}", other) : (key, null);
        }
        var (fk, given) = Read(fractionKey, "partial_rotary_factor");
        if (given is { } p && !(p.ValueKind == JsonValueKind.Number && p.GetDouble() > 0 && p.GetDouble() <= 1))
            problems.Add($"{fk} is {p.GetRawText()}, not a fraction of a head above 0 and at most 1");
        else CheckRotaryFraction(fk, given, fraction, a, problems);
        var (bk, theta) = Read(baseKey, "rope_theta");
        if (theta is { } t && t.ValueKind != JsonValueKind.Number) problems.Add($"{bk} is {t.GetRawText()}, not a number");
        else if ((float)(theta?.GetDouble() ?? defaultBase) is float b && b != a.RotaryBase)
            problems.Add($"{bk} is {Number(b)}{(theta is null ? " (its default)" : "")}, the model declares {Number(a.RotaryBase)} ('{a.Name}' RotaryBase)");
        if (Value(c, "rope_scaling") is { } scaling)
            problems.Add($"rope_scaling is {scaling.GetRawText()}: {family}'s scaled rotary frequencies are not laid out here");
        if (rope is { } r2 && Value(r2, "rope_type") is { } type && !(type.ValueKind == JsonValueKind.String && type.GetString() == "default"))
            problems.Add($"rope_parameters' rope_type is {type.GetRawText()}: {family}'s scaled rotary frequencies are not laid out here");
    }

    /// <summary>
    /// A configuration's fraction of each head the rotation turns (<paramref name="key"/>: Phi's <c>partial_rotary_factor</c>, GPT-NeoX's
    /// <c>rotary_pct</c>; <paramref name="fallback"/> where absent) against <paramref name="a"/>'s <c>RotaryDimensions</c>: int(head size ·
    /// fraction) values, whole pairs.
    /// </summary>
    private static void CheckRotaryFraction(string key, JsonElement? given, double fallback, AttentionInfo a, List<string> problems)
    {
        string said = given?.GetRawText() ?? $"{Number((float)fallback)} (its default)";
        int turned = (int)(a.HeadSize * (given?.GetDouble() ?? fallback));
        if (turned == a.RotaryWidth) return;
        problems.Add(turned < 2 || turned % 2 != 0
            ? $"{key} is {said}: the rotation would turn {turned} of each head's {a.HeadSize} values, which are not whole pairs (not computed here)"
            : $"{key} is {said}: the rotation turns {turned} of each head's {a.HeadSize} values; declare '{a.Name}' with {(turned == a.HeadSize ? "no RotaryDimensions" : $"RotaryDimensions = {turned}")}");
    }
}
