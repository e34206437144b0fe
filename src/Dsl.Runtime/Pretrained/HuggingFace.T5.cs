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
        RefuseUnlike(architecture.Name, "T5", layout.CheckAlike);
        List<CheckpointTensor> tensors = SplitIntoTensors(model, layout.Sources());
        CheckpointTensor words = tensors.Single(t => t.Name == T5Layout.Shared);
        tensors.Add(words with { Name = T5Layout.EncoderTokens });
        WriteCheckpoint(folder, tensors, layout.Config());
    }

    /// <summary>
    /// Loads a whole T5 — transformers' <c>T5ForConditionalGeneration</c> (t5-small … t5-11b, t5-v1_1, flan-t5, mT5;
    /// <c>UMT5ForConditionalGeneration</c>) — into <paramref name="model"/>, an encoder–decoder whose
    /// encoder is laid out as <see cref="LoadT5Encoder"/> reads (with nothing after its final norm) and whose decoder is:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: d_model)]
    /// // per layer (num_decoder_layers of them):
    /// [RmsNorm] [Attention(Heads = num_heads, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 32)] [Residual(Layers = 2)]
    /// [RmsNorm] [Attention(Over = typeof(Encoder), Heads = num_heads, Scale = 1f, Bias = false)] [Residual(Layers = 2)]
    /// [RmsNorm] [Dense(d_ff, Activation = Activation.Relu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)]
    /// // then:
    /// [RmsNorm]
    /// [Dense(vocab_size, Bias = false)]
    /// </code>
    /// declared <c>[EncoderDecoder(typeof(Encoder), typeof(Decoder), ShareEmbedding = true)]</c> (T5's one table, <c>shared</c>). The
    /// decoder's self-attention is causal with one-sided relative buckets (T5's <c>bidirectional=False</c>), its first block's table
    /// read by every block (UMT5's: each its own, <c>RelativeShared = false</c>); its EncDecAttention is unscaled (<c>Scale = 1f</c>)
    /// and has no position bias; <c>HeadWidth = d_kv</c> on every attention where num_heads · d_kv is not d_model (flan-t5-small's 6 ·
    /// 64 of 512). <c>decoder.block.{i}.layer.0</c> goes into the self-attention and its norm, <c>layer.1</c> (EncDecAttention) into
    /// the cross-attention and its norm, <c>layer.2</c> into the feed-forward, <c>decoder.final_layer_norm</c> and <c>lm_head</c> into
    /// the last two layers. Generate with <c>model.Greedy(source, startToken: 0, maxLength, endToken: 1)</c> or <c>Beam</c>: T5's
    /// decoder starts from <c>decoder_start_token_id</c> 0 (its pad) and ends at <c>eos_token_id</c> 1; or with
    /// <c>model.Generate(source, LoadGenerationConfig(folder))</c>, which reads them.
    /// <para>
    /// T5 v1.0's checkpoints (t5-small … t5-11b: <c>tie_word_embeddings</c> true, T5Config's default) tie lm_head to the token
    /// table and scale the decoder's output by d_model^−0.5 before it: they load into the same declaration, the head's weight
    /// the table times d_model^−0.5 (the same logits, up to rounding). That weight is the head's own from then on: training moves
    /// it apart from the table, as an untied T5's, and <see cref="SaveT5"/> writes it as lm_head with <c>tie_word_embeddings</c> false.
    /// </para>
    /// </summary>
    /// <param name="model">The encoder–decoder to load into; its parameters change only when everything checks.</param>
    /// <param name="path">The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked as <see cref="LoadT5Encoder"/> checks it, and <c>num_decoder_layers</c> (by default num_layers) for the decoder.</param>
    /// <exception cref="ArgumentException">The encoder or the decoder is not laid out as T5's (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadT5<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model, string path)
        where TEncoder : IEncoder<int>
        where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        ModelArchitecture encoder = Architecture(model.Encoder, "T5's encoder"), decoderArchitecture = Architecture(model.Decoder, "T5's decoder");
        T5Layout layout = T5Layout.Of(encoder), decoder = T5Layout.Of(decoderArchitecture, decoder: true);
        if (layout.Head.Count > 0)
            throw new ArgumentException($"{encoder.Name} is not laid out as T5's encoder of an encoder–decoder: '{layout.Head[0].Name}' follows its final_layer_norm, whose outputs the decoder reads.", nameof(model));
        // one config.json for both parts: every difference of either named at once
        var (files, config) = Locate(path);
        var problems = new List<string>();
        layout.CheckConfig(config, problems, nameof(LoadT5));
        decoder.CheckConfig(config, problems, nameof(LoadT5));
        RefuseIfAny(problems, path, model.GetType().Name, "its config.json differs from the model: ");
        Dictionary<string, SafeTensor> tensors = ReadAll(files);
        // the token table under shared, or only under a part's name that ties to it (each copy the same)
        foreach (string alias in (string[])[T5Layout.EncoderTokens, T5Layout.DecoderTokens])
        {
            if (!tensors.Remove(alias, out SafeTensor? named)) continue;
            if (!tensors.TryGetValue(T5Layout.Shared, out SafeTensor? shared)) tensors[T5Layout.Shared] = named;
            else if (!named.SameValues(shared)) problems.Add($"'{alias}' differs from '{T5Layout.Shared}', which T5 ties it to");
        }
        Dictionary<string, ParameterSet.TensorRows[]> sources = layout.Sources("encoder.");
        foreach (var (name, rows) in decoder.Sources("decoder.")) sources[name] = rows;
        // a tied lm_head (T5 v1.0's): the token table, which T5 reads with the decoder's output times d_model^−0.5, goes into the
        // head's own weight times that (the same logits); a copy the checkpoint keeps under lm_head's name must be the table
        string head = "decoder." + decoder.Head[0].Name + ".weight";
        bool tied = T5Layout.TiedHead(config);
        if (tied)
        {
            if (tensors.Remove(T5Layout.LmHead, out SafeTensor? copy) && tensors.TryGetValue(T5Layout.Shared, out SafeTensor? table) && !copy.SameValues(table))
                problems.Add($"'{T5Layout.LmHead}' differs from '{T5Layout.Shared}', which tie_word_embeddings ties it to");
            sources[head] = [(T5Layout.Shared, decoder.Embedding.Vocabulary)];
        }
        // a tied head reads the table scaled by 1/√d_model (T5's lm_head is the shared table, its input scaled so)
        float scale = (float)(1.0 / Math.Sqrt(decoder.Embedding.Dim));
        ParameterSet.Staged[] values = model.Parameters.PrepareStacked(tensors, sources, _ => false, problems,
            adjust: !tied ? null : (name, weight) =>
            {
                if (name == head) System.Numerics.Tensors.TensorPrimitives.Multiply(weight, scale, weight);
            }, adjusted: name => name == head);
        RefuseIfAny(problems, path, model.GetType().Name);
        model.Parameters.Assign(values);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, an encoder–decoder laid out as <see cref="LoadT5"/> reads, as a <c>T5ForConditionalGeneration</c>
    /// checkpoint in <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under its names — the token
    /// table as <c>shared</c>, <c>encoder.embed_tokens</c> and <c>decoder.embed_tokens</c>, the attentions' <c>in_proj_weight</c>
    /// split into <c>q</c>, <c>k</c> and <c>v</c>, each part's relative table in its first block (UMT5's: in every block) —
    /// and the <c>config.json</c> that describes it (<c>tie_word_embeddings</c> false, <c>decoder_start_token_id</c> 0,
    /// <c>eos_token_id</c> 1), which transformers' <c>T5ForConditionalGeneration.from_pretrained(folder)</c> and <see cref="LoadT5"/>
    /// read back. Both files are built first, then replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A part is not laid out as T5's, its layers differ from one another or from the other part's, or the two parts' token tables
    /// differ (one configuration, one <c>shared</c> table, cannot say so).
    /// </exception>
    public static void SaveT5<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model, string folder)
        where TEncoder : IEncoder<int>
        where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        T5Layout encoder = T5Layout.Of(Architecture(model.Encoder, "T5's encoder")), decoder = T5Layout.Of(Architecture(model.Decoder, "T5's decoder"), decoder: true);
        var unlike = new List<string>();
        if (encoder.Head.Count > 0) unlike.Add($"'{encoder.Head[0].Name}' follows the encoder's final_layer_norm");
        encoder.CheckAlike(unlike);
        decoder.CheckAlike(unlike);
        encoder.CheckAgrees(decoder, unlike);
        RefuseUnlike(unlike, model.GetType().Name, "T5");
        Dictionary<string, ParameterSet.TensorRows[]> sources = encoder.Sources("encoder.");
        string encoderTable = "encoder." + encoder.Embedding.Name + ".weight", decoderTable = "decoder." + decoder.Embedding.Name + ".weight";
        // one table: the composition's (ShareEmbedding), or two that hold the same values
        if (model.Parameters.Tied.GetValueOrDefault(decoderTable) != encoderTable
            && !model.Parameters[decoderTable].ToArray().AsSpan().SequenceEqual(model.Parameters[encoderTable].ToArray()))
            throw new ArgumentException($"{model.GetType().Name} cannot be written as T5: its encoder's and decoder's token tables differ, and T5 keeps one ('{T5Layout.Shared}'); declare ShareEmbedding = true.", nameof(model));
        foreach (var (name, rows) in decoder.Sources("decoder.").Where(s => s.Key != decoderTable)) sources[name] = rows;
        List<CheckpointTensor> tensors = SplitIntoTensors(model, sources);
        CheckpointTensor words = tensors.Single(t => t.Name == T5Layout.Shared);
        tensors.Add(words with { Name = T5Layout.EncoderTokens });
        tensors.Add(words with { Name = T5Layout.DecoderTokens });
        WriteCheckpoint(folder, tensors, encoder.Config(decoder));
    }

    /// <summary>
    /// One T5 block's parts: layer.0's norm and self-attention, the feed-forward's norm and its two Dense layers; a decoder's
    /// block has its EncDecAttention and that norm between them (layer.1; the feed-forward then layer.2).
    /// </summary>
    private sealed record T5Block(RmsNormInfo First, AttentionInfo Attention, RmsNormInfo Second, DenseInfo In, DenseInfo Out, RmsNormInfo? CrossNorm = null, AttentionInfo? Cross = null);

    /// <summary>
    /// A model's layers matched to T5's encoder (or, <see cref="Decoder"/>, its decoder): the token table, the blocks, the final
    /// norm, and what follows them (a decoder's: its lm_head).
    /// </summary>
    private sealed record T5Layout(EmbeddingInfo Embedding, IReadOnlyList<T5Block> Layers, RmsNormInfo Final, IReadOnlyList<LayerInfo> Head, bool Decoder = false)
    {
        public const string Shared = "shared.weight", EncoderTokens = "encoder.embed_tokens.weight", DecoderTokens = "decoder.embed_tokens.weight", LmHead = "lm_head.weight";

        /// <summary>The checkpoint's prefix of this part's tensors.</summary>
        public string Part => Decoder ? "decoder" : "encoder";

        /// <summary>How a problem names this part's layers: "'attention'", or "the decoder's 'attention'".</summary>
        private string Named(LayerInfo layer) => Decoder ? $"the decoder's '{layer.Name}'" : $"'{layer.Name}'";

        public static T5Layout Of(ModelArchitecture a) => Of(a, decoder: false);

        public static T5Layout Of(ModelArchitecture a, bool decoder)
        {
            string expected = decoder
                ? "T5's decoder: [Embedding], then per layer [RmsNorm] [Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 32)] "
                    + "[Residual(Layers = 2)] [RmsNorm] [Attention(Over = typeof(Encoder), Heads = h, Scale = 1f, Bias = false)] [Residual(Layers = 2)] [RmsNorm] "
                    + "[Dense(d_ff, Activation = Activation.Relu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)], then [RmsNorm] and "
                    + "[Dense(vocab_size, Bias = false)] (lm_head); a [Dropout] may stand before each residual"
                : "T5's encoder: [Embedding], then per layer [RmsNorm] [Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)] "
                    + "[Residual(Layers = 2)] [RmsNorm] [Dense(d_ff, Activation = Activation.Relu, Bias = false)] [Dense(d_model, Bias = false)] [Residual(Layers = 3)], then "
                    + "[RmsNorm] and layers of the model's own if any; a [Dropout] may stand before each residual";
            var walk = new LayerWalk(a, decoder ? "T5's decoder" : "T5's encoder", expected);
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
                var attention = walk.At<AttentionInfo>(at++, decoder
                        ? $"block {n}'s SelfAttention ([Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, Causal = true, RelativeBuckets = 32)])"
                        : $"block {n}'s SelfAttention ([Attention(Heads = h, Score = AttentionScore.Dot, Bias = false, RelativeBuckets = 32)], over the whole sequence)",
                    x => x is { Score: AttentionScore.Dot, InputFeeding: false, Pool: false, MemoryWidth: 0, Bias: false, OutputBias: false, KeyValueHeads: 0, QueryKeyNorm: false,
                        Scale: 0f, SoftCap: 0f, SlidingWindow: 0, RotaryBase: 0f, Alibi: false } && x.Causal == decoder && x.RelativeBuckets > 0);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the attention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == start - 1);
                RmsNormInfo? crossNorm = null;
                AttentionInfo? cross = null;
                if (decoder)
                {
                    int crossed = at;
                    crossNorm = walk.At<RmsNormInfo>(at++, $"block {n}'s layer.1.layer_norm ([RmsNorm])", _ => true);
                    cross = walk.At<AttentionInfo>(at++, $"block {n}'s EncDecAttention ([Attention(Over = typeof(Encoder), Heads = h, Scale = 1f, Bias = false)]: T5's scores are not scaled)",
                        x => x is { Score: AttentionScore.ScaledDot, Scale: 1f, InputFeeding: false, Bias: false, OutputBias: false } && x.MemoryWidth == width);
                    at = walk.Dropout(at);
                    walk.At<ResidualInfo>(at++, $"block {n}'s residual around the EncDecAttention ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == crossed - 1);
                }
                int normed = at;
                string ff = decoder ? "layer.2" : "layer.1";
                var second = walk.At<RmsNormInfo>(at++, $"block {n}'s {ff}.layer_norm ([RmsNorm])", _ => true);
                var wi = walk.At<DenseInfo>(at++, $"block {n}'s DenseReluDense.wi ([Dense(d_ff, Activation = Activation.Relu, Bias = false)]; gated: wi_0 and wi_1)",
                    d => d is { Bias: false, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None);
                var wo = walk.At<DenseInfo>(at++, $"block {n}'s DenseReluDense.wo ([Dense({width}, Bias = false)])",
                    d => d is { Gated: false, Activation: Activation.None, Bias: false, TiedTo: null, SoftCap: 0f } && d.Units == width);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"block {n}'s residual around the feed-forward ([Residual(Layers = 3)], or 4 over a [Dropout])", r => r.From == normed - 1);
                layers.Add(new T5Block(first, attention, second, wi, wo, crossNorm, cross));
            }
            if (layers.Count == 0)
                throw walk.Differs(at, $"block 0's layer.0.layer_norm ([RmsNorm]) and its SelfAttention ([Attention(Score = AttentionScore.Dot, {(decoder ? "Causal = true, " : "")}RelativeBuckets = 32)])");
            var final = walk.At<RmsNormInfo>(at++, $"the {(decoder ? "decoder" : "encoder")}'s final_layer_norm ([RmsNorm])", _ => true);
            if (!decoder) return new T5Layout(embedding, layers, final, l.Skip(at).ToArray());
            // the decoder's lm_head: its own weight (tie_word_embeddings false: t5-v1_1's, flan-t5's, mT5's, UMT5's)
            var head = walk.At<DenseInfo>(at++, $"lm_head ([Dense({embedding.Vocabulary}, Bias = false)], last)",
                d => d is { Gated: false, Activation: Activation.None, Bias: false, TiedTo: null, SoftCap: 0f } && d.Units == embedding.Vocabulary);
            if (at < l.Count) throw walk.Differs(at, "nothing: lm_head is the decoder's last layer");
            return new T5Layout(embedding, layers, final, [head], Decoder: true);
        }

        /// <summary>What the encoder's last hidden state reads nothing of: a full model's decoder and language-model head.</summary>
        public static bool Ignored(string name) => name.StartsWith("decoder.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal);

        /// <summary>Each parameter's tensors in the checkpoint and their rows (the first block's relative table into the layer that holds it).</summary>
        /// <summary>
        /// Each parameter's tensors in the checkpoint and their rows (the first block's relative table into the layer that holds it),
        /// each parameter's name after <paramref name="prefix"/> (an encoder–decoder's "encoder." and "decoder.").
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources(string prefix = "")
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [prefix + Embedding.Name + ".weight"] = [(Shared, Embedding.Vocabulary)] };
            void Attention(AttentionInfo a, string hf)
            {
                int inner = a.QueryWidth;
                s[prefix + a.Name + ".in_proj_weight"] = [(hf + "q.weight", inner), (hf + "k.weight", inner), (hf + "v.weight", inner)];
                s[prefix + a.Name + ".out_proj.weight"] = [(hf + "o.weight", width)];
                if (a.RelativeBuckets > 0 && a.RelativeSharedWith is null)
                    s[prefix + a.Name + ".relative_attention_bias.weight"] = [(hf + "relative_attention_bias.weight", a.RelativeBuckets)];
            }
            for (int i = 0; i < Layers.Count; i++)
            {
                T5Block b = Layers[i];
                string hf = $"{Part}.block.{i}.", ff = hf + (Decoder ? "layer.2." : "layer.1.");
                s[prefix + b.First.Name + ".weight"] = [(hf + "layer.0.layer_norm.weight", width)];
                Attention(b.Attention, hf + "layer.0.SelfAttention.");
                if (b.Cross is not null)
                {
                    s[prefix + b.CrossNorm!.Name + ".weight"] = [(hf + "layer.1.layer_norm.weight", width)];
                    Attention(b.Cross, hf + "layer.1.EncDecAttention.");
                }
                s[prefix + b.Second.Name + ".weight"] = [(ff + "layer_norm.weight", width)];
                // the gated feed-forward's wi_1 (multiplied) and wi_0 (activated): the Dense's value rows, then its gate rows
                s[prefix + b.In.Name + ".weight"] = b.In.Gated ? [(ff + "DenseReluDense.wi_1.weight", b.In.Units), (ff + "DenseReluDense.wi_0.weight", b.In.Units)]
                    : [(ff + "DenseReluDense.wi.weight", b.In.Units)];
                s[prefix + b.Out.Name + ".weight"] = [(ff + "DenseReluDense.wo.weight", width)];
            }
            s[prefix + Final.Name + ".weight"] = [($"{Part}.final_layer_norm.weight", width)];
            if (Decoder) s[prefix + Head[0].Name + ".weight"] = [(LmHead, Embedding.Vocabulary)];
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
        public void CheckConfig(JsonElement c, List<string> problems, string loader = nameof(LoadT5Encoder))
        {
            if (!ReadsModelType(c, problems, t => t is "t5" or "mt5" or Umt5, $"{loader} reads T5's checkpoints (\"t5\", mT5's \"mt5\", UMT5's \"umt5\"); others lay their layers out otherwise")) return;
            // UMT5's blocks each keep a relative position table of their own (declared RelativeShared = false); T5's and mT5's share the first block's
            if (Layers.Count > 1 && Value(c, "model_type") is { ValueKind: JsonValueKind.String } t && t.GetString() == Umt5 != PerBlock)
                problems.Add(PerBlock
                    ? $"model_type is \"{t.GetString()}\", whose blocks read the first block's relative position table, but the {(Decoder ? "decoder's" : "model's")} layers keep tables of their own (declare no layer with RelativeShared = false)"
                    : $"model_type is \"umt5\", whose blocks each keep a relative position table of their own: declare every {(Decoder ? "self-attention of the decoder" : "attention")} with RelativeShared = false");
            T5Block first = Layers[0];
            var d = Defaults(c);
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, Named(Embedding), d.Vocab);
            ConfigInt(c, problems, "d_model", Embedding.Dim, Named(Embedding), 512);
            // the decoder's blocks: num_decoder_layers, or as many as the encoder's where it is left out
            int encoderLayers = Value(c, "num_layers") is { ValueKind: JsonValueKind.Number } count ? count.GetInt32() : d.Layers;
            if (Decoder) ConfigInt(c, problems, "num_decoder_layers", Layers.Count, "the decoder's blocks", encoderLayers);
            else ConfigInt(c, problems, "num_layers", Layers.Count, "its blocks", d.Layers);
            ConfigInt(c, problems, "num_heads", first.Attention.Heads, Named(first.Attention), d.Heads);
            ConfigInt(c, problems, "d_kv", first.Attention.HeadSize, $"{Named(first.Attention)}'s heads{(first.Attention.HeadWidth > 0 ? "" : $": d_model / num_heads; declare HeadWidth = d_kv where they differ")}", 64);
            ConfigInt(c, problems, "d_ff", first.In.Units, Named(first.In), d.FeedForward);
            ConfigInt(c, problems, "relative_attention_num_buckets", first.Attention.RelativeBuckets, $"{Named(first.Attention)} RelativeBuckets", 32);
            ConfigInt(c, problems, "relative_attention_max_distance", first.Attention.RelativeMaxDistance, $"{Named(first.Attention)} RelativeMaxDistance", 128);
            CheckAlike(problems);
            string proj = Value(c, "feed_forward_proj") is { ValueKind: JsonValueKind.String } p ? p.GetString()! : d.Projection;
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
                    problems.Add($"{said}: declare {Named(differs.In)} with {(ff.Gated ? "Gated = true, " : "")}Activation = Activation.{ff.Activation}");
            }
            float eps = Value(c, "layer_norm_epsilon") is { ValueKind: JsonValueKind.Number } e ? (float)e.GetDouble() : 1e-6f;
            foreach (RmsNormInfo norm in Norms().Where(n => n.Epsilon != eps).Take(1))
                problems.Add($"layer_norm_epsilon is {Number(eps)}{(Value(c, "layer_norm_epsilon") is null ? " (its default)" : "")}, the model declares {Number(norm.Epsilon)} ({Named(norm)} Epsilon)");
        }

        /// <summary>What one T5 configuration cannot say: blocks whose heads, feed-forward, relative buckets or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            T5Block first = Layers[0];
            foreach (AttentionInfo a in Layers.SelectMany(b => b.Cross is null ? [b.Attention] : new[] { b.Attention, b.Cross })
                .Where(a => a.Heads != first.Attention.Heads || a.HeadSize != first.Attention.HeadSize).Take(1))
                problems.Add($"{Named(a)} has {a.Heads} heads of {a.HeadSize} and {Named(first.Attention)} {first.Attention.Heads} of {first.Attention.HeadSize}: T5's attentions are alike (one num_heads, one d_kv)");
            // one table for every block (T5's, mT5's), or one of its own in each (UMT5's)
            if (PerBlock) { }
            else if (RelativeNotShared(Layers.Select(b => b.Attention).ToArray(), $"T5's {Part} keeps the first block's for every block (UMT5's keeps one in each: RelativeShared = false on every attention)") is { } own)
                problems.Add(own);
            foreach (T5Block b in Layers.Skip(1).Where(b => b.In.Units != first.In.Units || b.In.Gated != first.In.Gated || b.In.Activation != first.In.Activation).Take(1))
                problems.Add($"{Named(b.In)} differs from {Named(first.In)}: T5's blocks are alike (one d_ff, one feed_forward_proj)");
            foreach (RmsNormInfo norm in Norms().Where(n => n.Epsilon != first.First.Epsilon).Take(1))
                problems.Add($"{Named(norm)} has Epsilon {Number(norm.Epsilon)} and {Named(first.First)} {Number(first.First.Epsilon)}: T5's norms share layer_norm_epsilon");
            if (FeedForwardName(first.In) is null)
                problems.Add($"{Named(first.In)} takes {(first.In.Gated ? "a gated " : "")}{first.In.Activation}, which no feed_forward_proj names");
        }

        /// <summary>
        /// Whether config.json ties lm_head to the token table (<c>tie_word_embeddings</c>, true by T5Config's default: T5 v1.0's
        /// t5-small … t5-11b), which T5 then reads with the decoder's output scaled by d_model^−0.5.
        /// </summary>
        public static bool TiedHead(JsonElement c) => Value(c, "tie_word_embeddings") is { } tie ? tie.ValueKind != JsonValueKind.False
            : !(Value(c, "model_type") is { ValueKind: JsonValueKind.String } t && t.GetString() == "mt5"); // (MT5Config's default unties it)

        /// <summary>mT5's and UMT5's configurations (MT5Config, UMT5Config), whose defaults differ from T5Config's.</summary>
        private static bool IsMt5(JsonElement c) => Value(c, "model_type") is { ValueKind: JsonValueKind.String } t && t.GetString() is "mt5" or Umt5;

        /// <summary>
        /// What a configuration leaves out stands for its class's defaults: T5Config's (t5-small's sizes, "relu"), or MT5Config's and
        /// UMT5Config's (mt5-small's: 250 112 ids, d_ff 1024, 8 blocks of 6 heads, "gated-gelu").
        /// </summary>
        private static (int Vocab, int FeedForward, int Layers, int Heads, string Projection) Defaults(JsonElement c) =>
            IsMt5(c) ? (250112, 1024, 8, 6, "gated-gelu") : (32128, 2048, 6, 8, "relu");

        /// <summary>UMT5's model type: T5 v1.1's blocks, each with a relative position table of its own.</summary>
        public const string Umt5 = "umt5";

        /// <summary>Every block keeps a relative position table of its own (UMT5's: each attention declared RelativeShared = false).</summary>
        public bool PerBlock => Layers.All(b => b.Attention.RelativeSharedWith is null) && Layers.Count > 1;

        /// <summary>Every norm: each block's two, then the final one.</summary>
        private IEnumerable<RmsNormInfo> Norms() => Layers.SelectMany(b => b.CrossNorm is null ? new[] { b.First, b.Second } : [b.First, b.CrossNorm, b.Second]).Append(Final);

        /// <summary>
        /// What one T5 configuration cannot say of an encoder (this) and a <paramref name="decoder"/>: sizes, feed-forwards, buckets,
        /// norms or tables that differ between them.
        /// </summary>
        public void CheckAgrees(T5Layout decoder, List<string> problems)
        {
            T5Block e = Layers[0], d = decoder.Layers[0];
            void Same<T>(string what, T encoder, T decoded)
            {
                if (!EqualityComparer<T>.Default.Equals(encoder, decoded)) problems.Add($"the encoder's {what} is {encoder} and the decoder's {decoded}: one T5 configuration says both");
            }
            Same("vocabulary", Embedding.Vocabulary, decoder.Embedding.Vocabulary);
            Same("width (d_model)", Embedding.Dim, decoder.Embedding.Dim);
            Same("heads (num_heads)", e.Attention.Heads, d.Attention.Heads);
            Same("head width (d_kv)", e.Attention.HeadSize, d.Attention.HeadSize);
            Same("feed-forward (d_ff, feed_forward_proj)", (e.In.Units, e.In.Gated, e.In.Activation), (d.In.Units, d.In.Gated, d.In.Activation));
            Same("relative position buckets (relative_attention_num_buckets, relative_attention_max_distance)",
                (e.Attention.RelativeBuckets, e.Attention.RelativeMaxDistance), (d.Attention.RelativeBuckets, d.Attention.RelativeMaxDistance));
            Same("norms' Epsilon (layer_norm_epsilon)", e.First.Epsilon, d.First.Epsilon);
            if (Layers.Count > 1 && decoder.Layers.Count > 1) Same("relative tables in every block (UMT5's)", PerBlock, decoder.PerBlock);
        }

        /// <summary>
        /// The config.json of this layout, as transformers' T5Config writes its fields for a T5EncoderModel, or with the
        /// <paramref name="decoder"/> for a T5ForConditionalGeneration (its lm_head its own, tie_word_embeddings false).
        /// </summary>
        public byte[] Config(T5Layout? decoder = null)
        {
            T5Block first = Layers[0];
            bool umt5 = PerBlock || decoder?.PerBlock == true;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, (umt5 ? "UMT5" : "T5") + (decoder is null ? "EncoderModel" : "ForConditionalGeneration"), null);
                w.WriteString("model_type", umt5 ? Umt5 : "t5");
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
                if (decoder is not null)
                {
                    w.WriteNumber("num_decoder_layers", decoder.Layers.Count);
                    w.WriteBoolean("tie_word_embeddings", false);
                    w.WriteNumber("decoder_start_token_id", 0);
                    w.WriteNumber("pad_token_id", 0);
                    w.WriteNumber("eos_token_id", 1);
                }
                w.WriteString("torch_dtype", "float32");
            });
        }
    }
}
