using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a ModernBERT encoder — transformers' <c>ModernBertModel</c> (answerdotai/ModernBERT-base and -large, and the embedding
    /// models and rerankers built on it, such as gte-modernbert-base and modernbert-embed-base, whose pooled last hidden state is
    /// a text's embedding) — into <paramref name="model"/>, declared as ModernBERT's pre-norm layers:
    /// <code>
    /// [Embedding(vocab: V, dim: H)] [LayerNorm(Bias = false)]
    /// // layer 0 (global: every key), without a norm before its attention
    /// [Attention(Heads = h, Rotary = true, RotaryBase = 160000f, Bias = false)] [Residual]
    /// [LayerNorm(Bias = false)] [Dense(I, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(H, Bias = false)] [Residual(Layers = 3)]
    /// // each later layer: local (SlidingWindow = local_attention, RotaryBase = 10000f) or global as the configuration says
    /// [LayerNorm(Bias = false)] [Attention(Heads = h, Rotary = true, RotaryBase = …, SlidingWindow = …, Bias = false)] [Residual(Layers = 2)]
    /// [LayerNorm(Bias = false)] [Dense(I, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(H, Bias = false)] [Residual(Layers = 3)]
    /// // then the final norm, and optionally layers of the model's own (a head to fine-tune), left as they are
    /// [LayerNorm(Bias = false)]
    /// </code>
    /// ModernBERT-base's 22 layers are layer 0 and <c>[Repeat(7)]</c> of a local, a local and a global layer (global_attn_every_n_layers
    /// 3). <c>embeddings.tok_embeddings</c> goes into the embedding and <c>embeddings.norm</c> into the norm after it; each layer's
    /// <c>attn.Wqkv</c> into the attention's <c>in_proj_weight</c> (queries, keys and values stacked as it stacks them), <c>attn.Wo</c>
    /// into <c>out_proj</c>, <c>attn_norm</c> and <c>mlp_norm</c> into the norms before them, <c>mlp.Wi</c> into the gated Dense (its
    /// second half, the gate ModernBERT multiplies by, as the Dense's value rows, its first half, which it activates, as the Dense's
    /// gate rows) and <c>mlp.Wo</c> into the Dense after it; <c>final_norm</c> into the last norm. Names with the <c>model.</c> prefix
    /// (ModernBertForMaskedLM's, ModernBertForSequenceClassification's) are read, their heads (<c>head.</c>, <c>decoder.</c>,
    /// <c>classifier.</c>) left. A global layer attends over every key with the rotary base <c>global_rope_theta</c> (160000), a
    /// local one over the keys within <c>local_attention</c> / 2 steps on either side (a window of <c>local_attention</c>, 128) with
    /// <c>local_rope_theta</c> (10000); which layers are local, <c>layer_types</c> says, else every layer but each
    /// <c>global_attn_every_n_layers</c>-th (3) from the first; the newer <c>rope_parameters</c> (per layer type) are read too.
    /// A <c>[Dropout]</c> may stand after the embeddings' norm, between the feed-forward's two Dense layers and before each
    /// residual (the residual then a layer longer). Padded sequences run through
    /// <see cref="IModel{TInput}.Forward(System.Numerics.Tensors.ReadOnlyTensorSpan{TInput}, ReadOnlySpan{int})"/> with their lengths
    /// (the <c>attention_mask</c>).
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with ModernBertConfig's defaults for what it leaves out: <c>vocab_size</c> (50368), <c>hidden_size</c> (768),
    /// <c>intermediate_size</c> (1152), <c>num_hidden_layers</c> (22), <c>num_attention_heads</c> (12), <c>hidden_activation</c>
    /// ("gelu"), <c>norm_eps</c> (1e-5), <c>norm_bias</c>, <c>attention_bias</c> and <c>mlp_bias</c> (false), the layers' types and
    /// rotary bases above. Rotary scaling is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as ModernBERT (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadModernBert(IModel model, string path)
    {
        var (architecture, layout, files, config, problems) = Checked(model, path, "ModernBERT's", ModernBertLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = ModernBertLayout.Readable(ReadAll(files));
        Dictionary<string, ParameterSet.TensorRows[]> sources = layout.Sources();
        // a task model's head, where the checkpoint holds one (a base checkpoint leaves the model's own, as transformers initialises a new one)
        if (layout.Task is { } task && ModernBertHead.HeldBy(tensors))
        {
            task.CheckConfig(config, problems);
            task.AddSources(sources);
            CheckTiedHead(tensors, "decoder.weight", "embeddings.tok_embeddings.weight", task.Decoder, problems);
        }
        AssignEncoder(model, path, architecture, tensors, sources, layout.Head, ModernBertLayout.Ignored, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s ModernBERT encoder (see <see cref="LoadModernBert"/>) as a <c>ModernBertModel</c>
    /// checkpoint in <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under its names (the
    /// attention's <c>in_proj_weight</c> as <c>Wqkv</c>, the gated Dense as <c>Wi</c>, its activated rows first), and the
    /// <c>config.json</c> that describes it — its layers' types as <c>layer_types</c>, and as <c>global_attn_every_n_layers</c> too
    /// where every n-th layer from the first is the global one, their rotary bases, the local window — so that transformers'
    /// <c>ModernBertModel.from_pretrained(folder)</c> and <see cref="LoadModernBert"/> read it back. A task model's head (see
    /// <see cref="LoadModernBert"/>) is written with the encoder under <c>model.</c>: a classifier as
    /// <c>ModernBertForSequenceClassification</c> (its pooling as <c>classifier_pooling</c>) or
    /// <c>ModernBertForTokenClassification</c>, with <c>id2label</c> from <paramref name="labels"/> or transformers' "LABEL_0", …,
    /// and the tied decoder as <c>ModernBertForMaskedLM</c>. Other layers after the final norm are not written. Both files are
    /// built first, then replaced together.
    /// </summary>
    /// <param name="model">The model to save.</param>
    /// <param name="folder">The folder to write into.</param>
    /// <param name="labels">The classifier's labels by id (<c>id2label</c>), one per output; null for "LABEL_0", "LABEL_1", ….</param>
    /// <exception cref="ArgumentException">
    /// The model is not laid out as ModernBERT, or its layers differ where one configuration gives them all one value (heads,
    /// feed-forward, norms, biases, the global and the local layers' rotary bases, the local window), or the labels do not
    /// match a classifier.
    /// </exception>
    public static void SaveModernBert(IModel model, string folder, IReadOnlyList<string>? labels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ModelArchitecture architecture = Architecture(model, "ModernBERT's");
        ModernBertLayout layout = ModernBertLayout.Of(architecture);
        RefuseUnlike(architecture.Name, "ModernBERT", layout.CheckAlike);
        ModernBertHead? task = layout.Task;
        DenseInfo? classifier = task is { Decoder: false } ? task.Output : null;
        string[]? id2label = ClassifierLabels(labels, classifier, "SaveModernBert", $"{architecture.Name} has no classifier after its final norm.");
        Dictionary<string, ParameterSet.TensorRows[]> sources = layout.Sources();
        if (task is not null)
        {
            sources = sources.ToDictionary(s => s.Key, s => s.Value.Select(r => r with { Name = "model." + r.Name }).ToArray(), StringComparer.Ordinal);
            task.AddSources(sources);
        }
        WriteCheckpoint(folder, SplitIntoTensors(model, sources),
            layout.Config(task, id2label));
    }

    /// <summary>
    /// A ModernBERT task model's head after final_norm: <c>[Dense(H, Activation = classifier_activation)] [LayerNorm]</c>
    /// (ModernBertPredictionHead: <c>head.dense</c>, <c>head.norm</c>), then a classifier <c>[Dense(labels)]</c> — on a pooled vector
    /// (<see cref="Pool"/>: ModernBertForSequenceClassification's <c>classifier_pooling</c>, "cls" or "mean") or on every token
    /// (ModernBertForTokenClassification) — or the masked-LM decoder tied to the token table (ModernBertForMaskedLM's <c>decoder</c>).
    /// </summary>
    private sealed record ModernBertHead(PoolInfo? Pool, DenseInfo Dense, LayerNormInfo Norm, DenseInfo Output)
    {
        public bool Decoder => Output.TiedTo is not null;

        /// <summary>transformers' class of the task model with this head.</summary>
        public string Architecture => Decoder ? "ModernBertForMaskedLM" : Pool is null ? "ModernBertForTokenClassification" : "ModernBertForSequenceClassification";

        public static ModernBertHead? Of(IReadOnlyList<LayerInfo> head, int width)
        {
            LayerInfo[] l = [.. head.Where(x => x is not DropoutInfo)];
            PoolInfo? pool = l.Length > 0 && l[0] is PoolInfo { Kind: PoolKind.First or PoolKind.Mean } p ? p : null;
            int at = pool is null ? 0 : 1;
            return l.Length == at + 3 && l[at] is DenseInfo { Gated: false, TiedTo: null, SoftCap: 0f } dense && dense.Activation != Activation.None && dense.Units == width
                && l[at + 1] is LayerNormInfo { ElementwiseAffine: true } norm && l[at + 2] is DenseInfo { Gated: false, Activation: Activation.None, SoftCap: 0f } output
                && (output.TiedTo is null ? output.Bias : pool is null) // (the classifier is an nn.Linear with its bias; the decoder reads every token)
                ? new ModernBertHead(pool, dense, norm, output) : null;
        }

        /// <summary>Whether the checkpoint holds a task model's head (its <c>head.dense</c>): then it must be this one.</summary>
        public static bool HeldBy(IReadOnlyDictionary<string, SafeTensor> tensors) => tensors.ContainsKey("head.dense.weight");

        public void AddSources(Dictionary<string, ParameterSet.TensorRows[]> sources)
        {
            BertLayout.AddDense(sources, Dense, "head.dense");
            sources[Norm.Name + ".weight"] = [("head.norm.weight", Norm.Width)];
            if (Norm.Bias) sources[Norm.Name + ".bias"] = [("head.norm.bias", Norm.Width)];
            if (!Decoder) BertLayout.AddDense(sources, Output, "classifier");
            else if (Output.Bias) sources[Output.Name + ".bias"] = [("decoder.bias", Output.Units)];
        }

        /// <summary>The head's options in config.json against the model's (ModernBertConfig's defaults for what it leaves out).</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            CheckFeedForwardActivation(c, "classifier_activation", Activation.Gelu, [Dense], problems);
            ConfigFlag(c, problems, "classifier_bias", [Dense], d => d.Bias, d => BiasOf(d.Name, d.Bias));
            ConfigEpsilon(c, problems, "norm_eps", 1e-5, [Norm]);
            ConfigFlag(c, problems, "norm_bias", [Norm], n => n.Bias, n => BiasOf(n.Name, n.Bias));
            if (Decoder) ConfigFlag(c, problems, "decoder_bias", [Output], d => d.Bias, d => BiasOf(d.Name, d.Bias), fallback: true);
            string[] names = [.. Architectures(c)];
            if (names.Length > 0 && !names.Contains(Architecture))
                problems.Add($"architectures is [{string.Join(", ", names.Select(n => $"\"{n}\""))}]: the model's head after '{(Pool ?? (LayerInfo)Dense).Name}' is {Architecture}'s");
            if (Pool is null) return;
            string pooling = Value(c, "classifier_pooling") is { ValueKind: JsonValueKind.String } v ? v.GetString()! : "cls";
            if ((pooling, Pool.Kind) is not (("cls", PoolKind.First) or ("mean", PoolKind.Mean)))
                problems.Add($"classifier_pooling is \"{pooling}\"{(Value(c, "classifier_pooling") is null ? " (its default)" : "")}: declare '{Pool.Name}' as [Pool(PoolKind.{(pooling == "mean" ? "Mean" : "First")})]"
                    + (pooling is "cls" or "mean" ? "" : " (ModernBERT pools by \"cls\" or \"mean\")"));
        }
    }

    /// <summary>One ModernBERT layer's parts (<see cref="AttentionNorm"/> null for the first, which normalises nothing before its attention).</summary>
    private sealed record ModernBertLayer(LayerNormInfo? AttentionNorm, AttentionInfo Attention, LayerNormInfo MlpNorm, DenseInfo Wi, DenseInfo Wo);

    /// <summary>A model's layers matched to ModernBERT's: the token table and its norm, the layers, the final norm, and what follows (the model's own).</summary>
    private sealed record ModernBertLayout(EmbeddingInfo Embedding, LayerNormInfo EmbeddingNorm, IReadOnlyList<ModernBertLayer> Layers, LayerNormInfo FinalNorm,
        IReadOnlyList<LayerInfo> Head)
    {
        /// <summary>The layers after final_norm as a task model's head, or null where they are the model's own.</summary>
        public ModernBertHead? Task { get; } = ModernBertHead.Of(Head, Embedding.Dim);

        public static ModernBertLayout Of(ModelArchitecture a)
        {
            const string expected = "ModernBERT's layout: [Embedding] [LayerNorm], then per layer [LayerNorm] (not in the first) [Attention(Heads = h, Rotary = true, "
                + "RotaryBase = …, Bias = false)] [Residual] [LayerNorm] [Dense(I, Gated = true, Activation = Activation.Gelu, Bias = false)] [Dense(H, Bias = false)] "
                + "[Residual(Layers = 3)], then [LayerNorm] (final_norm), then layers of the model's own if any; a [Dropout] may stand after the embeddings' norm, "
                + "between the feed-forward's Dense layers and before each residual";
            var walk = new LayerWalk(a, "ModernBERT", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embeddings.tok_embeddings: an [Embedding], unscaled)", e => e.Scale == 1f);
            var norm = walk.At<LayerNormInfo>(1, "the embeddings' norm (embeddings.norm: [LayerNorm])", _ => true);
            int at = walk.Dropout(2);
            var layers = new List<ModernBertLayer>();
            // a layer after the first begins with its attn_norm and the attention; a norm followed by anything else is final_norm
            while (layers.Count == 0 || (at + 1 < l.Count && l[at] is LayerNormInfo && l[at + 1] is AttentionInfo))
            {
                int n = layers.Count, start = at;
                LayerNormInfo? attentionNorm = n == 0 ? null : walk.At<LayerNormInfo>(at++, $"layer {n}'s attn_norm ([LayerNorm])", _ => true);
                var attention = walk.At<AttentionInfo>(at++, $"layer {n}'s attention ([Attention(Heads = h, Rotary = true, RotaryBase = …)], over the whole sequence or a window on both sides)",
                    x => x is { Causal: false, Score: AttentionScore.ScaledDot, InputFeeding: false, Pool: false, MemoryWidth: 0, KeyValueHeads: 0, HeadWidth: 0, QueryKeyNorm: false,
                        Scale: 0f, SoftCap: 0f, RotaryDimensions: 0, RelativeBuckets: 0 } && x.OutputBias == x.Bias && x.RotaryBase > 0f && Equals(x.RotaryScaling, default(RotaryScaling)));
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the attention ([Residual{(n == 0 ? "" : "(Layers = 2)")}], a layer longer over a [Dropout])", r => r.From == start - 1);
                int mlp = at;
                var mlpNorm = walk.At<LayerNormInfo>(at++, $"layer {n}'s mlp_norm ([LayerNorm])", _ => true);
                var wi = walk.At<DenseInfo>(at++, $"layer {n}'s mlp.Wi ([Dense(I, Gated = true, Activation = Activation.Gelu)])",
                    d => d is { Gated: true, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None);
                at = walk.Dropout(at);
                var wo = walk.At<DenseInfo>(at++, $"layer {n}'s mlp.Wo ([Dense({embedding.Dim})])",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Units == embedding.Dim);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the feed-forward ([Residual(Layers = 3)], a layer longer over each [Dropout])", r => r.From == mlp - 1);
                layers.Add(new ModernBertLayer(attentionNorm, attention, mlpNorm, wi, wo));
            }
            var final = walk.At<LayerNormInfo>(at++, "final_norm ([LayerNorm] after the last layer)", _ => true);
            return new ModernBertLayout(embedding, norm, layers, final, l.Skip(at).ToArray());
        }

        /// <summary>The checkpoint's tensors under ModernBertModel's names (without the <c>model.</c> prefix of the task models').</summary>
        public static Dictionary<string, SafeTensor> Readable(Dictionary<string, SafeTensor> tensors) =>
            Renamed(tensors, name => name.StartsWith("model.", StringComparison.Ordinal) ? name["model.".Length..] : name, "ModernBERT", "with and without the model. prefix");

        /// <summary>What the last hidden state reads nothing of: the masked-LM head and decoder, a classifier's head.</summary>
        public static bool Ignored(string name) =>
            name.StartsWith("head.", StringComparison.Ordinal) || name.StartsWith("decoder.", StringComparison.Ordinal) || name.StartsWith("classifier.", StringComparison.Ordinal);

        /// <summary>Each parameter's tensors in the checkpoint and their rows.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [("embeddings.tok_embeddings.weight", Embedding.Vocabulary)] };
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            AddNorm(EmbeddingNorm, "embeddings.norm");
            int width = Embedding.Dim;
            for (int i = 0; i < Layers.Count; i++)
            {
                ModernBertLayer m = Layers[i];
                string hf = $"layers.{i}.";
                if (m.AttentionNorm is { } attentionNorm) AddNorm(attentionNorm, hf + "attn_norm");
                s[m.Attention.Name + ".in_proj_weight"] = [(hf + "attn.Wqkv.weight", 3 * width)];
                s[m.Attention.Name + ".out_proj.weight"] = [(hf + "attn.Wo.weight", width)];
                if (m.Attention.Bias)
                {
                    s[m.Attention.Name + ".in_proj_bias"] = [(hf + "attn.Wqkv.bias", 3 * width)];
                    s[m.Attention.Name + ".out_proj.bias"] = [(hf + "attn.Wo.bias", width)];
                }
                AddNorm(m.MlpNorm, hf + "mlp_norm");
                // Wi's rows [input; gate], act(input) · gate: the Dense's value rows are the gate's, its activated rows the input's
                int inner = m.Wi.Units;
                foreach (string part in m.Wi.Bias ? (string[])["weight", "bias"] : ["weight"])
                    s[m.Wi.Name + "." + part] = [new(hf + "mlp.Wi." + part, inner, inner, 2 * inner), new(hf + "mlp.Wi." + part, inner, 0, 2 * inner)];
                s[m.Wo.Name + ".weight"] = [(hf + "mlp.Wo.weight", width)];
                if (m.Wo.Bias) s[m.Wo.Name + ".bias"] = [(hf + "mlp.Wo.bias", width)];
            }
            AddNorm(FinalNorm, "final_norm");
            return s;
        }

        /// <summary>What config.json says against what the model declares (ModernBertConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "modernbert", $"LoadModernBert reads ModernBERT's checkpoints (\"modernbert\")")) return;
            ModernBertLayer first = Layers[0];
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 50368);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", 768);
            ConfigInt(c, problems, "num_hidden_layers", Layers.Count, "its layers", 22);
            ConfigInt(c, problems, "num_attention_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 12);
            ConfigInt(c, problems, "intermediate_size", first.Wi.Units, $"'{first.Wi.Name}'", 1152);
            foreach (ModernBertLayer m in Layers.Skip(1))
            {
                if (m.Attention.Heads != first.Attention.Heads) problems.Add($"'{m.Attention.Name}' has {m.Attention.Heads} heads, '{first.Attention.Name}' {first.Attention.Heads}: one configuration gives every layer num_attention_heads");
                if (m.Wi.Units != first.Wi.Units) problems.Add($"'{m.Wi.Name}' has {m.Wi.Units} units, '{first.Wi.Name}' {first.Wi.Units}: one configuration gives every layer intermediate_size");
            }
            LayerNormInfo[] norms = Norms();
            ConfigEpsilon(c, problems, "norm_eps", 1e-5, norms);
            ConfigFlag(c, problems, "norm_bias", norms, n => n.Bias, n => BiasOf(n.Name, n.Bias));
            ConfigFlag(c, problems, "attention_bias", Layers.Select(m => m.Attention), x => x.Bias, x => BiasOf(x.Name, x.Bias));
            ConfigFlag(c, problems, "mlp_bias", Layers.SelectMany(m => new[] { m.Wi, m.Wo }), d => d.Bias, d => BiasOf(d.Name, d.Bias));
            CheckFeedForwardActivation(c, "hidden_activation", Activation.Gelu, Layers.Select(m => m.Wi), problems);
            if (Value(c, "rope_scaling") is { } scaling) problems.Add($"rope_scaling is {scaling.GetRawText()}: ModernBERT's rotary positions are read unscaled");
            // each layer's type (global: every key; local: a window of local_attention) and its rotary base
            int every = Value(c, "global_attn_every_n_layers") is { ValueKind: JsonValueKind.Number } g && g.TryGetInt32(out int k) ? k : 3;
            if (every < 1)
            {
                problems.Add($"global_attn_every_n_layers is {every}, not a whole number of layers 1 or more");
                every = 1;
            }
            JsonElement[]? types = Value(c, "layer_types") is { ValueKind: JsonValueKind.Array } list ? [.. list.EnumerateArray()] : null;
            int window = Value(c, "local_attention") is { ValueKind: JsonValueKind.Number } w && w.TryGetInt32(out int size) ? size : 128;
            float Theta(string layerType, string legacy, float fallback)
            {
                if (Value(c, "rope_parameters") is { ValueKind: JsonValueKind.Object } rope && Value(rope, layerType) is { ValueKind: JsonValueKind.Object } p)
                {
                    if (Value(p, "rope_type") is { } kind && kind.GetString() != "default") problems.Add($"rope_parameters.{layerType}.rope_type is {kind.GetRawText()}: ModernBERT's rotary positions are read unscaled (\"default\")");
                    if (Value(p, "rope_theta") is { ValueKind: JsonValueKind.Number } t) return (float)t.GetDouble();
                }
                return Value(c, legacy) is { ValueKind: JsonValueKind.Number } v ? (float)v.GetDouble() : fallback;
            }
            // (a local_rope_theta of null turns the local layers by the global base, as ModernBertAttention does)
            float global = Theta("full_attention", "global_rope_theta", 160000f);
            float local = Theta("sliding_attention", "local_rope_theta", c.TryGetProperty("local_rope_theta", out JsonElement l) && l.ValueKind == JsonValueKind.Null ? global : 10000f);
            if (types is not null && types.Length != Layers.Count) problems.Add($"layer_types names {types.Length} layers, the model has {Layers.Count}");
            for (int i = 0; i < Layers.Count; i++)
            {
                AttentionInfo x = Layers[i].Attention;
                bool sliding = types is not null && i < types.Length ? types[i].GetString() == "sliding_attention" : i % every != 0;
                string why = types is not null ? $"layer_types[{i}] is \"{(sliding ? "sliding_attention" : "full_attention")}\"" : $"layer {i} is {(sliding ? "local" : "global")} (global_attn_every_n_layers {every}: layers 0, {every}, {2 * every}, … are global)";
                if (x.SlidingWindow != (sliding ? window : 0))
                    problems.Add(sliding ? $"{why}: declare '{x.Name}' with SlidingWindow = {window} (local_attention: the keys within {window / 2} steps on either side)"
                        : $"{why}: '{x.Name}' attends over every key, not a SlidingWindow of {x.SlidingWindow}");
                if (x.RotaryBase != (sliding ? local : global))
                    problems.Add($"{why}: declare '{x.Name}' with RotaryBase = {Number(sliding ? local : global)}f ({(sliding ? "local_rope_theta" : "global_rope_theta")}), not {Number(x.RotaryBase)}");
            }
        }

        /// <summary>Every norm of the encoder: the embeddings', each layer's, the final one.</summary>
        private LayerNormInfo[] Norms() => [EmbeddingNorm, .. Layers.SelectMany(m => m.AttentionNorm is null ? [m.MlpNorm] : new[] { m.AttentionNorm, m.MlpNorm }), FinalNorm];

        /// <summary>The local layers: those over a window.</summary>
        private IEnumerable<AttentionInfo> Local => Layers.Select(m => m.Attention).Where(x => x.SlidingWindow > 0);

        private IEnumerable<AttentionInfo> Global => Layers.Select(m => m.Attention).Where(x => x.SlidingWindow == 0);

        /// <summary>What one ModernBERT configuration cannot say: layers, norms or biases that differ from the first's, two global or two local rotary bases, two windows.</summary>
        public void CheckAlike(List<string> problems)
        {
            void Alike<T, TValue>(IEnumerable<T> items, Func<T, TValue> value, Func<T, string> name, string what)
            {
                T[] all = [.. items];
                if (all.Length > 0 && all.FirstOrDefault(x => !EqualityComparer<TValue>.Default.Equals(value(x), value(all[0]))) is { } other)
                    problems.Add($"'{name(other)}' and '{name(all[0])}' differ in {what}");
            }
            Alike(Layers, m => m.Attention.Heads, m => m.Attention.Name, "heads (num_attention_heads)");
            Alike(Layers, m => m.Wi.Units, m => m.Wi.Name, "units (intermediate_size)");
            Alike(Layers, m => m.Wi.Activation, m => m.Wi.Name, "activation (hidden_activation)");
            // (a task head's norm is configured by norm_eps and norm_bias too)
            LayerNormInfo[] norms = Task is { } task ? [.. Norms(), task.Norm] : Norms();
            Alike(norms, n => n.Epsilon, n => n.Name, "Epsilon (norm_eps)");
            Alike(norms, n => n.Bias, n => n.Name, "Bias (norm_bias)");
            Alike(Layers, m => m.Attention.Bias, m => m.Attention.Name, "Bias (attention_bias)");
            Alike(Layers.SelectMany(m => new[] { m.Wi, m.Wo }), d => d.Bias, d => d.Name, "Bias (mlp_bias)");
            Alike(Global, x => x.RotaryBase, x => x.Name, "RotaryBase (global_rope_theta, every global layer's)");
            Alike(Local, x => x.RotaryBase, x => x.Name, "RotaryBase (local_rope_theta, every local layer's)");
            Alike(Local, x => x.SlidingWindow, x => x.Name, "SlidingWindow (local_attention, every local layer's)");
        }

        /// <summary>The config.json of this layout (and its head, with a classifier's <paramref name="labels"/>), as transformers' ModernBertConfig writes its fields.</summary>
        public byte[] Config(ModernBertHead? task, IReadOnlyList<string>? labels)
        {
            ModernBertLayer first = Layers[0];
            bool[] sliding = [.. Layers.Select(m => m.Attention.SlidingWindow > 0)];
            // the older key, where every n-th layer from the first is the global one (transformers before layer_types reads only it)
            int? every = Enumerable.Range(1, Layers.Count).Cast<int?>().FirstOrDefault(n => sliding.Select((s, i) => s == (i % n!.Value != 0)).All(x => x));
            return ConfigJson(w =>
            {
                WriteArchitecture(w, task?.Architecture ?? "ModernBertModel", labels);
                w.WriteString("model_type", "modernbert");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", first.Wi.Units);
                w.WriteNumber("num_hidden_layers", Layers.Count);
                w.WriteNumber("num_attention_heads", first.Attention.Heads);
                w.WriteString("hidden_activation", FeedForwardActivationName(first.Wi.Activation));
                w.WriteNumber("max_position_embeddings", 8192);
                w.WritePropertyName("norm_eps");
                w.WriteRawValue(JsonFloat(EmbeddingNorm.Epsilon));
                w.WriteBoolean("norm_bias", EmbeddingNorm.Bias);
                w.WriteBoolean("attention_bias", first.Attention.Bias);
                w.WriteBoolean("mlp_bias", first.Wi.Bias);
                w.WritePropertyName("global_rope_theta");
                w.WriteRawValue(JsonFloat(Global.FirstOrDefault()?.RotaryBase ?? 160000f));
                w.WritePropertyName("local_rope_theta");
                w.WriteRawValue(JsonFloat(Local.FirstOrDefault()?.RotaryBase ?? 10000f));
                w.WriteNumber("local_attention", Local.FirstOrDefault()?.SlidingWindow ?? 128);
                if (every is int n) w.WriteNumber("global_attn_every_n_layers", n);
                w.WriteStartArray("layer_types");
                foreach (bool s in sliding) w.WriteStringValue(s ? "sliding_attention" : "full_attention");
                w.WriteEndArray();
                if (task is not null)
                {
                    w.WriteString("classifier_pooling", task.Pool?.Kind == PoolKind.Mean ? "mean" : "cls");
                    w.WriteString("classifier_activation", FeedForwardActivationName(task.Dense.Activation));
                    w.WriteBoolean("classifier_bias", task.Dense.Bias);
                    if (task.Decoder)
                    {
                        w.WriteBoolean("decoder_bias", task.Output.Bias);
                        w.WriteBoolean("tie_word_embeddings", true);
                    }
                }
                w.WriteString("torch_dtype", "float32");
            });
        }

    }
}
