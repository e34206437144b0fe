using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a BERT encoder — transformers' <c>BertModel</c> (bert-base-uncased and its kin, and sentence-transformers' BERT
    /// models such as all-MiniLM-L6-v2, whose last hidden state, mean-pooled, is the sentence's embedding) — into
    /// <paramref name="model"/>, declared as BERT's layers (post-norm: each sublayer's output added to its input, then normalised):
    /// <code>
    /// [Embedding(vocab: V, dim: H)] [PositionEmbedding(maxLength: max_position_embeddings)] [LayerNorm(Epsilon = ε)]
    /// // per layer (num_hidden_layers of them):
    /// [Attention(Heads = num_attention_heads)] [Residual] [LayerNorm(Epsilon = ε)]
    /// [Dense(intermediate_size, Activation = Activation.Gelu)] [Dense(H)] [Residual(Layers = 2)] [LayerNorm(Epsilon = ε)]
    /// // then, optionally, a task's head (below), or layers of the model's own (a head to fine-tune), left as they are
    /// </code>
    /// A head of <c>[Pool(PoolKind.First)] [Dense(H, Activation = …)]</c>, optionally followed by a classifier
    /// <c>[Dense(num_labels)]</c> (<c>[Dropout]</c>s between), is read as transformers' heads on the first token: BERT's pooler
    /// (<c>pooler.dense</c>, tanh: <c>pooler_output</c>) and <c>BertForSequenceClassification</c>'s <c>classifier</c>;
    /// RoBERTa's (and XLM-RoBERTa's) <c>classifier.dense</c> (tanh) and <c>classifier.out_proj</c>, or its pooler where the
    /// checkpoint has no classifier; ELECTRA's <c>classifier.dense</c> (GELU) and <c>classifier.out_proj</c>; DistilBERT's
    /// <c>pre_classifier</c> (ReLU) and <c>classifier</c>. A part the checkpoint does not hold (a base model's classifier; RoBERTa's
    /// classifier.dense, which reads no pooler), or a base model's pooler under a dense layer of another activation, is left as the
    /// model has it, as transformers initialises a new head. A <c>[Dense(num_labels)]</c> on every token right after the encoder
    /// (<c>[Dropout]</c>s before it) reads a checkpoint's <c>classifier</c> where its configuration's <c>architectures</c> names a
    /// …ForTokenClassification (a named-entity tagger: BertForTokenClassification, RobertaForTokenClassification, …), or its
    /// <c>qa_outputs</c> where it names a …ForQuestionAnswering (an extractive answerer: each token's start and end logits, the
    /// answer the span of the best start plus end within the context, the pair's second text).
    /// For fine-tuning, a <c>[Dropout]</c> may stand after the embeddings' norm and before each residual
    /// (<c>hidden_dropout_prob</c>; the residual then a layer longer), and <c>[Attention(Dropout = p)]</c> is
    /// <c>attention_probs_dropout_prob</c>.
    /// <c>embeddings.word_embeddings</c> goes into the embedding, <c>embeddings.position_embeddings</c> into the position table,
    /// and <c>embeddings.token_type_embeddings</c> into a <c>[TokenTypeEmbedding(types: type_vocab_size, separator: id)]</c> declared
    /// beside it (before the norm; the separator the tokenizer's <c>[SEP]</c>, 102 in bert-base-uncased's vocabulary), whose types
    /// are those BERT's tokenizers give a pair — a cross-encoder's or a reranker's query and passage, an answer's question and
    /// context — or, without one, its first row added to the position table (every token of type 0: one segment, as the embedding
    /// models read a text); <c>embeddings.LayerNorm</c> into the first norm; each layer's <c>attention.self.query</c>,
    /// <c>key</c> and <c>value</c> into the attention's <c>in_proj_weight</c> and <c>in_proj_bias</c>, <c>attention.output.dense</c>
    /// into <c>out_proj</c>, <c>attention.output.LayerNorm</c>, <c>intermediate.dense</c>, <c>output.dense</c> and
    /// <c>output.LayerNorm</c> into the layers after it. Names with or without the <c>bert.</c> prefix (the pre-training
    /// checkpoints') are read, as are the older <c>LayerNorm.gamma</c> and <c>beta</c>; the pooler, the pre-training heads
    /// (<c>cls.</c>), a fine-tuned task's head (<c>classifier.</c>, <c>qa_outputs.</c>) and the <c>position_ids</c> buffer are
    /// left (the last hidden state reads none of them). RoBERTa's
    /// checkpoints (<c>model_type</c> "roberta", "xlm-roberta" or "camembert": the same layers, its positions counted from
    /// <c>pad_token_id</c> + 1) load too, the table's rows from there on read as positions 0, 1, … (declare
    /// <c>maxLength: max_position_embeddings − pad_token_id − 1</c>, 512 for roberta-base), their <c>roberta.</c> prefix and
    /// masked-LM head (<c>lm_head.</c>) as BERT's. So do DistilBERT's (<c>model_type</c> "distilbert": BERT's layers without
    /// token types, under its own names — <c>transformer.layer.{i}.attention.q_lin</c>, <c>sa_layer_norm</c>, <c>ffn.lin1</c>,
    /// <c>output_layer_norm</c> — and the <c>distilbert.</c> prefix; its configuration's <c>dim</c>, <c>n_layers</c>,
    /// <c>n_heads</c>, <c>hidden_dim</c> and <c>activation</c>, its norms' ε 1e-12), and ELECTRA's (<c>model_type</c> "electra",
    /// the <c>electra.</c> prefix): its embeddings <c>embedding_size</c> wide, normalised, then projected to <c>hidden_size</c> by
    /// <c>embeddings_project</c>, declared as a <c>[Dense(hidden_size)]</c> after the embeddings' norm. A masked-LM head after the
    /// encoder — <c>[Dense(H, Activation = Activation.Gelu)] [LayerNorm(Epsilon = ε)] [Dense(vocab_size, TieEmbedding = true)]</c> —
    /// reads …ForMaskedLM's: BERT's <c>cls.predictions.transform</c> and <c>cls.predictions.bias</c>, RoBERTa's and MPNet's
    /// <c>lm_head</c>, DistilBERT's <c>vocab_transform</c>, <c>vocab_layer_norm</c> and <c>vocab_projector.bias</c> (a decoder
    /// weight the checkpoint keeps must be the token table); a base checkpoint leaves it the model's own. So do MPNet's (<c>model_type</c>
    /// "mpnet": all-mpnet-base-v2 and its kin, the <c>mpnet.</c> prefix): BERT's layers under its names
    /// (<c>attention.attn.q</c>, <c>k</c>, <c>v</c>, <c>o</c>, <c>attention.LayerNorm</c>), its positions after the table's
    /// first two rows, no token types, and the encoder's one <c>relative_attention_bias</c> read by every layer, each declared
    /// <c>[Attention(Heads = h, RelativeBuckets = 32)]</c> (the later ones sharing the first's table); its sequence classifier
    /// is RoBERTa's (<c>classifier.dense</c>, <c>classifier.out_proj</c>). So do JinaBERT's (jina-embeddings-v2's <c>JinaBertModel</c>:
    /// <c>position_embedding_type</c> "alibi", <c>feed_forward_type</c> "geglu" or "reglu"): no position table — the first token
    /// type's row added to every word's instead —, each attention declared <c>[Attention(Heads = h, Alibi = true)]</c> (ALiBi's bias
    /// on both sides of a query), and the feed-forward gated, <c>[Dense(intermediate_size, Gated = true, Activation =
    /// Activation.Gelu, Bias = false)]</c> (<c>mlp.gated_layers</c>, its first half the activated one; <c>mlp.wo</c> and
    /// <c>mlp.layernorm</c> into the Dense and the norm after it). Padded sequences
    /// run through <see cref="IModel{TInput}.Forward(System.Numerics.Tensors.ReadOnlyTensorSpan{TInput}, ReadOnlySpan{int})"/> with
    /// their lengths: the padded keys get no weight, as BERT's <c>attention_mask</c> gives them.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with BertConfig's defaults for what it leaves out: <c>vocab_size</c> (30522), <c>hidden_size</c> (768),
    /// <c>num_hidden_layers</c> (12), <c>num_attention_heads</c> (12), <c>intermediate_size</c> (3072), <c>hidden_act</c>
    /// ("gelu"), <c>max_position_embeddings</c> (512), <c>type_vocab_size</c> (2) and <c>layer_norm_eps</c> (1e-12). Relative
    /// position embeddings (<c>position_embedding_type</c> other than "absolute" and JinaBERT's "alibi"), a decoder
    /// (<c>is_decoder</c>) and cross-attention are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as BERT (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadBert(IModel model, string path)
    {
        var (architecture, layout, files, config, problems) = Checked(model, path, "BERT's", BertLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        string type = BertLayout.ModelTypeOf(config);
        // (DistilBERT and MPNet have no token types: 0 sets the fold aside)
        int types = type is "distilbert" or BertLayout.Mpnet ? 0 : Value(config, "type_vocab_size") is { ValueKind: JsonValueKind.Number } t && t.TryGetInt32(out int n) ? n : 2;
        Dictionary<string, SafeTensor> tensors = BertLayout.Readable(ReadAll(files), layout.Embedding.Dim, layout.Embedding.Vocabulary, layout.Positions?.MaxLength ?? 0, types,
            BertLayout.PositionOffset(config), problems, fold: layout.Types is null);
        Dictionary<string, ParameterSet.TensorRows[]> sources = layout.Sources(type);
        layout.Task?.AddSources(BertLayout.ModelTypeOf(config), tensors, sources, problems);
        // (JinaBERT's head transforms by hidden_act, its layers' gate by feed_forward_type; its decoder reads the words without the
        // first token type, which a fold would have added in)
        Activation headAct = layout.Jina ? Value(config, "hidden_act") is { ValueKind: JsonValueKind.String } h && FeedForwardActivation(h.GetString()!) is { } a ? a : Activation.Gelu
            : layout.Layers[0].Intermediate.Activation;
        if (layout.Jina && layout.MaskedLm is { } head && layout.Types is null)
            problems.Add($"'{head.Decoder.Name}' reads JinaBERT's word table, which holds the first token type's row here (there is no position table to fold it into): declare a [TokenTypeEmbedding] after the [Embedding]");
        layout.MaskedLm?.AddSources(type, headAct, layout.EmbeddingNorm.Epsilon, tensors, sources, problems);
        // a tagger's classifier on every token (…ForTokenClassification: named entities), or an extractive answerer's start and end
        // logits (…ForQuestionAnswering's qa_outputs), as its configuration names it
        bool Names(string suffix) => Architectures(config).Any(n => n.EndsWith(suffix, StringComparison.Ordinal));
        if (layout.TokenClassifier is { } tagger)
        {
            if (Names("ForTokenClassification") && tensors.ContainsKey("classifier.weight")) BertLayout.AddDense(sources, tagger, "classifier");
            else if (Names("ForQuestionAnswering") && tensors.ContainsKey("qa_outputs.weight")) BertLayout.AddDense(sources, tagger, "qa_outputs");
        }
        AssignEncoder(model, path, architecture, tensors, sources, layout.Head, BertLayout.Ignored, problems);
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s BERT encoder (see <see cref="LoadBert"/>) as a <c>BertModel</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under BertModel's names, the attention's
    /// <c>in_proj_weight</c> and <c>in_proj_bias</c> split into <c>query</c>, <c>key</c> and <c>value</c>, the position table
    /// as <c>position_embeddings</c> beside <c>token_type_embeddings</c> of zeros (so that a text of type 0 reads the table as it
    /// is), no pooler; and the <c>config.json</c> that describes it, so that transformers' <c>BertModel.from_pretrained(folder)</c>
    /// (which initialises a pooler of its own) and <see cref="LoadBert"/> read it back; a <c>[TokenTypeEmbedding]</c> is written
    /// as <c>token_type_embeddings</c> (<c>type_vocab_size</c> its types). A task head on the first token
    /// (<c>[Pool(PoolKind.First)] [Dense(H, Activation = Activation.Tanh)]</c>, see <see cref="LoadBert"/>) is written as
    /// BertModel's pooler, and with a classifier after it as <c>BertForSequenceClassification</c> (the encoder and pooler under
    /// <c>bert.</c>, the <c>classifier</c>, <c>id2label</c> from <paramref name="labels"/> or transformers' "LABEL_0", …), and a
    /// classifier on every token as <c>BertForTokenClassification</c> (the same way), or with <paramref name="questionAnswering"/> as <c>BertForQuestionAnswering</c>;
    /// other layers after the encoder (a head of the model's own, or one whose dense layer is not tanh's, DistilBERT's or
    /// ELECTRA's) are not written; a masked-LM head (see <see cref="LoadBert"/>) is written as <c>BertForMaskedLM</c>'s
    /// <c>cls.predictions</c> (MPNet's <c>lm_head</c>), the decoder tied. A model whose layers add MPNet's relative position bias (<c>[Attention(RelativeBuckets = 32)]</c>,
    /// one table) is written as MPNet's checkpoint instead (<c>MPNetModel</c>, …ForSequenceClassification with RoBERTa's
    /// <c>classifier.dense</c> and <c>out_proj</c>, …ForTokenClassification, …ForQuestionAnswering; the prefix <c>mpnet.</c>,
    /// <c>attention.attn.q</c>, <c>k</c>, <c>v</c>, <c>o</c>, the table as <c>encoder.relative_attention_bias</c>, the position
    /// table after two rows of zeros, no token types), which transformers' MPNet classes and <see cref="LoadBert"/> read back.
    /// Both files are built first, then replaced together.
    /// </summary>
    /// <param name="model">The model to save.</param>
    /// <param name="folder">The folder to write into.</param>
    /// <param name="labels">The classifier's labels by id (<c>id2label</c>), one per output; null for "LABEL_0", "LABEL_1", ….</param>
    /// <param name="questionAnswering">
    /// The <c>[Dense(2)]</c> on every token is an extractive answerer's <c>qa_outputs</c> (each token's start and end logits), written
    /// as <c>BertForQuestionAnswering</c> (no labels), not a tagger of two labels.
    /// </param>
    /// <exception cref="ArgumentException">
    /// The model is not laid out as BERT, or its layers or norms differ from one another (one configuration cannot say so), or
    /// the labels do not match the classifier written.
    /// </exception>
    public static void SaveBert(IModel model, string folder, IReadOnlyList<string>? labels = null, bool questionAnswering = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ModelArchitecture architecture = Architecture(model, "BERT's");
        BertLayout layout = BertLayout.Of(architecture);
        var unlike = new List<string>();
        layout.CheckAlike(unlike);
        if (layout.Projection is { } projection)
            unlike.Add($"'{projection.Name}' projects the embeddings to the layers' width (ELECTRA's embeddings_project), which BertModel has not");
        // a relative position bias on the scores: MPNet's checkpoint (one table for every layer, no token types)
        bool mpnet = layout.Layers[0].Attention.RelativeBuckets > 0;
        layout.CheckRelative(mpnet, unlike);
        if (mpnet && layout.Types is not null) unlike.Add($"'{layout.Types.Name}' adds token types, which MPNet's checkpoint (the relative position bias's) has not");
        // (a head whose dense layer is not tanh's — DistilBERT's, ELECTRA's — is no pooler: not written, as a head of the model's own)
        BertHead? task = layout.Task is { Dense.Activation: Activation.Tanh } head ? head : null;
        RefuseUnlike(unlike, architecture.Name, mpnet ? "MPNet" : "BERT");
        // (JinaBERT's checkpoints name jina's own classes, which its config's auto_map points transformers to)
        string family = mpnet ? "MPNet" : layout.Jina ? "JinaBert" : "Bert";
        DenseInfo? written = task?.Classifier ?? layout.TokenClassifier; // (the sequence's classifier, or the tagger's on every token)
        if (questionAnswering && (task?.Classifier is not null || layout.TokenClassifier is not { Units: 2 } || labels is not null))
            throw new ArgumentException(labels is not null && layout.TokenClassifier is { Units: 2 }
                ? $"SaveBert: labels given for {(mpnet ? "MPNet" : "Bert")}ForQuestionAnswering, whose two outputs are each token's start and end logits, not labels."
                : $"SaveBert: {(mpnet ? "MPNet" : "Bert")}ForQuestionAnswering holds a [Dense(2)] on every token right after the encoder (qa_outputs: each token's start and end logits); {architecture.Name} has {(written is null ? "none" : $"'{written.Name}' of {written.Units} output{(written.Units == 1 ? "" : "s")}{(task?.Classifier is not null ? " on the first token" : "")}")}.", nameof(questionAnswering));
        string[]? id2label = ClassifierLabels(labels, written, "SaveBert",
            $"{architecture.Name} has no classifier {family}ForSequenceClassification or {family}ForTokenClassification holds ([Pool(PoolKind.First)] [Dense(H, Activation = Activation.Tanh)] [Dense(labels)], or [Dense(labels)] on every token).");
        Dictionary<string, ParameterSet.TensorRows[]> sources = layout.Sources(mpnet ? BertLayout.Mpnet : "bert");
        // (MPNet's sequence classifier is RoBERTa's: classifier.dense and out_proj, no pooler)
        bool robertaHead = mpnet && task?.Classifier is not null;
        if (task is not null && !robertaHead) BertLayout.AddDense(sources, task.Dense, "pooler.dense");
        // (a classifier's or a masked-LM head's model holds the encoder under bert. or mpnet.)
        MaskedLmHead? masked = layout.MaskedLm;
        string prefix = written is null && masked is null ? "" : mpnet ? "mpnet." : "bert.";
        sources = sources.ToDictionary(s => s.Key, s => s.Value.Select(r => r with { Name = prefix + r.Name }).ToArray(), StringComparer.Ordinal);
        // …ForMaskedLM's head (the decoder's weight is the token table, tied)
        masked?.AddTo(sources, mpnet ? BertLayout.Mpnet : "bert");
        if (robertaHead) BertLayout.AddDense(sources, task!.Dense, "classifier.dense");
        if (written is not null) BertLayout.AddDense(sources, written, questionAnswering ? "qa_outputs" : robertaHead ? "classifier.out_proj" : "classifier");
        List<CheckpointTensor> tensors = SplitIntoTensors(model, sources);
        if (mpnet)
        {
            // MPNet's positions count from padding_idx 1 + 1: its table's first two rows are read by no token of a sequence
            int at = tensors.FindIndex(t => t.Name == prefix + BertLayout.PositionTable), offset = 2, width = layout.Embedding.Dim;
            int positions = layout.Positions!.MaxLength; // (MPNet's layout has its table: Jina's has none and no relative bias)
            var table = new float[(positions + offset) * width];
            tensors[at].Values.Span.CopyTo(table.AsSpan(offset * width));
            tensors[at] = new(tensors[at].Name, new[] { positions + offset, width }, table);
        }
        else if (layout.Types is null) tensors.Add(new(prefix + BertLayout.TokenTypes, new[] { 2, layout.Embedding.Dim }, new float[2 * layout.Embedding.Dim]));
        WriteCheckpoint(folder, tensors, layout.Config(
            masked is not null ? family + "ForMaskedLM" : written is null ? family + "Model" : questionAnswering ? family + "ForQuestionAnswering"
                : task?.Classifier is not null ? family + "ForSequenceClassification" : family + "ForTokenClassification",
            questionAnswering ? null : id2label, mpnet));
    }

    /// <summary>
    /// The labels of a classifier's outputs by id, from the checkpoint's config.json (<c>id2label</c>: transformers'
    /// <c>model.config.id2label</c>, such as "NEGATIVE" and "POSITIVE"), or null where it names none.
    /// </summary>
    /// <param name="path">The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>.</param>
    /// <exception cref="InvalidDataException">id2label is not an object of ids 0 … n − 1, each once, to strings.</exception>
    public static string[]? LoadLabels(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (_, config) = Locate(path);
        if (Value(config, "id2label") is not { } map || map.ValueKind == JsonValueKind.Null) return null;
        if (map.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}': expected id2label as an object of ids to labels, got {map.GetRawText()}.");
        var labels = new string?[map.EnumerateObject().Count()];
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || id >= labels.Length || labels[id] is not null
                || entry.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"'{path}': id2label holds \"{entry.Name}\": {entry.Value.GetRawText()}; expected the ids 0 … {labels.Length - 1}, each once, each to a label.");
            labels[id] = entry.Value.GetString();
        }
        return labels!;
    }

    /// <summary>
    /// A model's layers matched to BERT's: the token and position tables and their norm, the encoder's layers, and what follows
    /// them (<see cref="Head"/>, the model's own).
    /// </summary>
    private sealed record BertLayout(EmbeddingInfo Embedding, PositionEmbeddingInfo? Positions, TokenTypeEmbeddingInfo? Types, LayerNormInfo EmbeddingNorm, DenseInfo? Projection,
        IReadOnlyList<BertLayer> Layers, IReadOnlyList<LayerInfo> Head)
    {
        /// <summary>The layers after the encoder as a task's head on the first token, or null where they are the model's own.</summary>
        public BertHead? Task { get; } = BertHead.Of(Head, Projection?.Units ?? Embedding.Dim);

        /// <summary>
        /// The layers after the encoder as a classifier on every token (a Dense without activation, <c>[Dropout]</c>s before it:
        /// …ForTokenClassification's <c>classifier</c>), or null.
        /// </summary>
        public DenseInfo? TokenClassifier { get; } = Head.SkipWhile(l => l is DropoutInfo).ToArray() is [DenseInfo { Activation: Activation.None, Gated: false, Bias: true,
            TiedTo: null, SoftCap: 0f, OutIsSequence: true } tagger] ? tagger : null;

        /// <summary>
        /// The layers after the encoder as a masked-LM head on every token (…ForMaskedLM: a Dense as wide as the layers with an
        /// activation, a norm, the output layer tied to the token table with its bias), or null.
        /// </summary>
        public MaskedLmHead? MaskedLm { get; } = Head is [DenseInfo { Gated: false, Bias: true, TiedTo: null, SoftCap: 0f, OutIsSequence: true } dense, LayerNormInfo { Bias: true } norm,
            DenseInfo { Activation: Activation.None, Gated: false, Bias: true, SoftCap: 0f, TiedTo: not null } decoder] && dense.Activation != Activation.None
            && dense.Units == (Projection?.Units ?? Embedding.Dim) && decoder.Units == Embedding.Vocabulary ? new MaskedLmHead(dense, norm, decoder) : null;

        /// <summary>The layers' width: ELECTRA's projection's, else the embedding's.</summary>
        public int Hidden => Projection?.Units ?? Embedding.Dim;

        /// <summary>
        /// JinaBERT's layout (jina-embeddings-v2): no position table, ALiBi on both sides of each query in every layer's scores, and
        /// a gated feed-forward (<c>mlp.gated_layers</c>, <c>wo</c>, <c>layernorm</c>).
        /// </summary>
        public bool Jina => Positions is null;

        public const string Words = "embeddings.word_embeddings.weight", PositionTable = "embeddings.position_embeddings.weight",
            TokenTypes = "embeddings.token_type_embeddings.weight";

        /// <summary>The model types read (RoBERTa's three with their positions after the padding id).</summary>
        public static bool IsRoberta(string type) => type is "roberta" or "xlm-roberta" or "camembert";

        /// <summary>DistilBERT's checkpoint: BERT's layers under other names, no token types.</summary>
        public static bool IsDistil(JsonElement c) => ModelTypeOf(c) == "distilbert";

        /// <summary>MPNet's model type (its classifier RoBERTa's): BERT's layers under other names, no token types, T5's relative bias on the scores.</summary>
        public const string Mpnet = "mpnet";

        /// <summary>The one relative position table MPNet's encoder keeps for every layer.</summary>
        public const string RelativeTable = "encoder.relative_attention_bias.weight";

        /// <summary>The relative buckets transformers' MPNet computes (its compute_position_bias: 32, whatever the table's rows), up to 128.</summary>
        public const int MpnetBuckets = 32, MpnetMaxDistance = 128;

        public static string ModelTypeOf(JsonElement c) => c.ValueKind == JsonValueKind.Object && Value(c, "model_type") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : "bert";

        /// <summary>
        /// The row of the checkpoint's position table that position 0 reads: 0 for BERT, RoBERTa's <c>pad_token_id</c> + 1 (its
        /// create_position_ids_from_input_ids counts from there; RobertaConfig's default padding id is 1).
        /// </summary>
        public static int PositionOffset(JsonElement c) => ModelTypeOf(c) == Mpnet ? 2 // (MPNetEmbeddings' padding_idx is 1, whatever pad_token_id says)
            : !IsRoberta(ModelTypeOf(c)) ? 0
            : (Value(c, "pad_token_id") is { ValueKind: JsonValueKind.Number } p && p.TryGetInt32(out int pad) && pad >= 0 ? pad : 1) + 1;

        public static BertLayout Of(ModelArchitecture a)
        {
            const string expected = "BERT's layout: [Embedding] [PositionEmbedding] [LayerNorm] (a [TokenTypeEmbedding] before the norm), then per layer [Attention(Heads = h)] [Residual] [LayerNorm] "
                + "[Dense(I, Activation = Activation.Gelu)] [Dense(H)] [Residual(Layers = 2)] [LayerNorm], then layers of the model's own if any; a [Dropout] "
                + "may stand after the embeddings' norm and before each residual (hidden_dropout_prob's)";
            var walk = new LayerWalk(a, "BERT", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (word_embeddings: an [Embedding], unscaled)", e => e.Scale == 1f);
            // the token types' table (token_type_embeddings: a [TokenTypeEmbedding]) before or after the positions', else folded into them
            int at = 1;
            TokenTypeEmbeddingInfo? types = walk.Optional<TokenTypeEmbeddingInfo>(ref at);
            // (JinaBERT's: none, its positions ALiBi's bias on the scores)
            bool alibi = l.Skip(at).OfType<AttentionInfo>().FirstOrDefault() is { Alibi: true } && at < l.Count && l[at] is not PositionEmbeddingInfo;
            var positions = alibi ? null : walk.At<PositionEmbeddingInfo>(at++, "the position table (position_embeddings: a [PositionEmbedding])", _ => true);
            if (!alibi) types ??= walk.Optional<TokenTypeEmbeddingInfo>(ref at);
            var norm = walk.At<LayerNormInfo>(at++, "the embeddings' norm (embeddings.LayerNorm: [LayerNorm])", x => x.Bias);
            at = walk.Dropout(at); // (hidden_dropout_prob's)
            // ELECTRA's embeddings_project: the embedding's width to the layers' (a Dense without activation before the first attention)
            DenseInfo? projection = at < l.Count && l[at] is DenseInfo { Activation: Activation.None, Gated: false, Bias: true, TiedTo: null, SoftCap: 0f } p
                && at + 1 < l.Count && l[at + 1] is AttentionInfo ? p : null;
            if (projection is not null) at++;
            int width = projection?.Units ?? embedding.Dim, encoder = at;
            var layers = new List<BertLayer>();
            // an encoder layer is seven layers of these kinds, its residuals from where BERT's come; anything else ends the encoder
            // (a head of the model's own), and the first layer's parts are then checked one by one, naming the first that differs
            // (a [Dropout] may stand before each residual: hidden_dropout_prob's after attention.output.dense and output.dense)
            bool LayerAt(int i)
            {
                if (!(i + 6 < l.Count && l[i] is AttentionInfo { Pool: false, MemoryWidth: 0 })) return false;
                int r = walk.Dropout(i + 1);
                if (!(r + 4 < l.Count && l[r] is ResidualInfo { From: var r1 } && r1 == i - 1 && l[r + 1] is LayerNormInfo && l[r + 2] is DenseInfo && l[r + 3] is DenseInfo)) return false;
                int r2 = walk.Dropout(r + 4);
                return r2 + 1 < l.Count && l[r2] is ResidualInfo { From: var f } && f == r + 1 && l[r2 + 1] is LayerNormInfo;
            }
            while (LayerAt(at) || (at == encoder && l.Count > walk.Dropout(at + 1) && l[at] is AttentionInfo && l[walk.Dropout(at + 1)] is ResidualInfo))
            {
                int n = layers.Count, start = at;
                var attention = walk.At<AttentionInfo>(at++, alibi
                        ? $"layer {n}'s attention ([Attention(Heads = h, Alibi = true)]: JinaBERT's, over the whole sequence, with its biases)"
                        : $"layer {n}'s attention ([Attention(Heads = h)], over the whole sequence, with its biases, no rotary positions; MPNet's: RelativeBuckets = 32)",
                    x => x is { Causal: false, Score: AttentionScore.ScaledDot, InputFeeding: false, RotaryBase: 0f, Bias: true, OutputBias: true, KeyValueHeads: 0,
                        SlidingWindow: 0, HeadWidth: 0, QueryKeyNorm: false, Scale: 0f, SoftCap: 0f, AlibiScaled: false } && x.Alibi == alibi);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the attention ([Residual], or Layers = 2 over a [Dropout])", r => r.From == start - 1);
                int normed = at;
                var first = walk.At<LayerNormInfo>(at++, $"layer {n}'s attention.output.LayerNorm ([LayerNorm])", x => x.Bias);
                // (JinaBERT's: mlp.gated_layers, gated and without a bias)
                var intermediate = walk.At<DenseInfo>(at++, alibi ? $"layer {n}'s mlp.gated_layers ([Dense(I, Gated = true, Activation = Activation.Gelu, Bias = false)])"
                        : $"layer {n}'s intermediate.dense ([Dense(I, Activation = Activation.Gelu)])",
                    d => d is { TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None && (alibi ? d is { Gated: true, Bias: false } : d is { Gated: false, Bias: true }));
                var output = walk.At<DenseInfo>(at++, $"layer {n}'s output.dense ([Dense({width})])",
                    d => d is { Gated: false, Activation: Activation.None, Bias: true, TiedTo: null, SoftCap: 0f } && d.Units == width);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the feed-forward ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == normed);
                var second = walk.At<LayerNormInfo>(at++, $"layer {n}'s output.LayerNorm ([LayerNorm])", x => x.Bias);
                layers.Add(new BertLayer(attention, first, intermediate, output, second));
            }
            if (layers.Count == 0) throw walk.Differs(encoder, "layer 0's attention ([Attention(Heads = h)]) and its residual ([Residual])");
            return new BertLayout(embedding, positions, types, norm, projection, layers, l.Skip(at).ToArray());
        }

        /// <summary>
        /// The checkpoint's tensors under BertModel's names (no <c>bert.</c> prefix; <c>LayerNorm.gamma</c> and <c>beta</c> as
        /// <c>weight</c> and <c>bias</c>), the position table with the first token type's row added (float32, each row
        /// p + t₀; without a position table, JinaBERT's, the <paramref name="words"/> rows of the token table), the token types'
        /// table checked ([<paramref name="types"/>, <paramref name="width"/>]) and set aside.
        /// </summary>
        public static Dictionary<string, SafeTensor> Readable(Dictionary<string, SafeTensor> tensors, int width, int words, int positions, int types, int offset, List<string> problems, bool fold = true)
        {
            Dictionary<string, SafeTensor> readable = Renamed(tensors, name =>
            {
                string plain = name;
                foreach (string prefix in (string[])["bert.", "roberta.", "distilbert.", "electra.", "mpnet."])
                    if (name.StartsWith(prefix, StringComparison.Ordinal)) plain = name[prefix.Length..];
                if (plain.EndsWith(".LayerNorm.gamma", StringComparison.Ordinal)) return plain[..^"gamma".Length] + "weight";
                return plain.EndsWith(".LayerNorm.beta", StringComparison.Ordinal) ? plain[..^"beta".Length] + "bias" : plain;
            }, "BERT", "with and without its model's prefix, bert., roberta., distilbert., electra. or mpnet., or as gamma and weight");
            // RoBERTa's positions: the rows from the padding id + 1 on
            if (offset > 0 && readable.TryGetValue(PositionTable, out SafeTensor? all))
            {
                if (all.Shape is [long rows, long w] && rows == positions + offset && w == width)
                    readable[PositionTable] = new SafeTensor(PositionTable, [positions, width], all.ToFloat().AsSpan(offset * width, positions * width).ToArray());
                else problems.Add($"tensor '{PositionTable}' has shape {Shapes.Format<long>(all.Shape)}, expected [{positions + offset}, {width}] (max_position_embeddings: the model's {positions} positions after the table's first {offset} rows, which RoBERTa's and MPNet's positions skip)");
            }
            // (DistilBERT's: none; a [TokenTypeEmbedding] reads the table as it is; JinaBERT's, no position table, into the words')
            if (types > 0 && fold)
            {
                if (positions > 0) FoldFirstTokenType(readable, TokenTypes, types, PositionTable, positions, width, "every position", problems);
                else FoldFirstTokenType(readable, TokenTypes, types, Words, words, width, "every word", problems);
            }
            return readable;
        }

        /// <summary>
        /// What the last hidden state reads nothing of: the pooler, the pre-training heads (BERT's <c>cls.</c>, RoBERTa's
        /// <c>lm_head.</c>), a fine-tuned task's head (<c>classifier.</c>, <c>qa_outputs.</c>) and the position ids buffer.
        /// </summary>
        public static bool Ignored(string name) =>
            name.StartsWith("pooler.", StringComparison.Ordinal) || name.StartsWith("cls.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal)
            || name.StartsWith("classifier.", StringComparison.Ordinal) || name.StartsWith("qa_outputs.", StringComparison.Ordinal) || name == "embeddings.position_ids"
            // (a masked-LM head's decoder: the token table and its bias again, checked against them where the head is read)
            || name.EndsWith("decoder.weight", StringComparison.Ordinal) || name.EndsWith("decoder.bias", StringComparison.Ordinal) || name.StartsWith("vocab_projector.weight", StringComparison.Ordinal)
            // DistilBERT's classifier and masked-LM heads, ELECTRA's discriminator and generator heads
            || name.StartsWith("pre_classifier.", StringComparison.Ordinal) || name.StartsWith("vocab_", StringComparison.Ordinal)
            || name.StartsWith("discriminator_predictions.", StringComparison.Ordinal) || name.StartsWith("generator_", StringComparison.Ordinal);

        /// <summary>
        /// Each encoder parameter's tensors in the checkpoint (after <see cref="Readable"/>) and their rows, stacked in this order:
        /// BERT's names, or DistilBERT's or MPNet's (by the checkpoint's model <paramref name="type"/>); MPNet's one relative position
        /// table into each layer that holds one of its own (a layer that shares the first's reads it there).
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources(string type = "bert")
        {
            bool distil = type == "distilbert", mpnet = type == Mpnet;
            int width = Hidden;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Words, Embedding.Vocabulary)] };
            if (Positions is not null) s[Positions.Name + ".weight"] = [(PositionTable, Positions.MaxLength)];
            if (Types is not null) s[Types.Name + ".weight"] = [(TokenTypes, Types.Types)];
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            AddNorm(EmbeddingNorm, "embeddings.LayerNorm");
            if (Projection is not null) AddDense(s, Projection, "embeddings_project");
            for (int i = 0; i < Layers.Count; i++)
            {
                BertLayer b = Layers[i];
                string hf = distil ? $"transformer.layer.{i}." : $"encoder.layer.{i}.";
                // each part's name: BERT's, or DistilBERT's, or MPNet's
                var (query, key, value, output, first, intermediate, dense, second) = distil
                    ? ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm")
                    : mpnet ? ("attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o", "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
                    : ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm");
                if (b.Attention is { RelativeBuckets: > 0, RelativeSharedWith: null } relative)
                    s[relative.Name + ".relative_attention_bias.weight"] = [(RelativeTable, relative.RelativeBuckets)];
                foreach (string part in (string[])["weight", "bias"])
                {
                    s[b.Attention.Name + ".in_proj_" + part] = [($"{hf}{query}.{part}", width), ($"{hf}{key}.{part}", width), ($"{hf}{value}.{part}", width)];
                    s[b.Attention.Name + ".out_proj." + part] = [($"{hf}{output}.{part}", width)];
                }
                AddNorm(b.First, hf + first);
                if (Jina)
                {
                    // JinaBERT's GLU: gated_layers' first I rows activated (the Dense's gate rows), its last I multiplied (its value rows)
                    int units = b.Intermediate.Units;
                    s[b.Intermediate.Name + ".weight"] = [new($"{hf}mlp.gated_layers.weight", units, units, 2 * units), new($"{hf}mlp.gated_layers.weight", units, 0, 2 * units)];
                    AddDense(s, b.Output, hf + "mlp.wo");
                    AddNorm(b.Second, hf + "mlp.layernorm");
                    continue;
                }
                AddDense(s, b.Intermediate, hf + intermediate);
                AddDense(s, b.Output, hf + dense);
                AddNorm(b.Second, hf + second);
            }
            return s;
        }

        /// <summary>A LayerNorm's weight and bias (where it has them) read from the checkpoint's <c>{hf}.weight</c> and <c>{hf}.bias</c>.</summary>
        public static void AddNorm(Dictionary<string, ParameterSet.TensorRows[]> sources, LayerNormInfo norm, string hf)
        {
            if (!norm.ElementwiseAffine) return;
            sources[norm.Name + ".weight"] = [(hf + ".weight", norm.Width)];
            if (norm.Bias) sources[norm.Name + ".bias"] = [(hf + ".bias", norm.Width)];
        }

        /// <summary>A Dense layer's weight and bias (where it has one) read from the checkpoint's <c>{hf}.weight</c> and <c>{hf}.bias</c>.</summary>
        public static void AddDense(Dictionary<string, ParameterSet.TensorRows[]> sources, DenseInfo dense, string hf)
        {
            sources[dense.Name + ".weight"] = [(hf + ".weight", dense.Units)];
            if (dense.Bias) sources[dense.Name + ".bias"] = [(hf + ".bias", dense.Units)];
        }

        /// <summary>What config.json says against what the model declares (BertConfig's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t is "bert" or "distilbert" or "electra" or Mpnet || IsRoberta(t), $"LoadBert reads BERT's checkpoints (\"bert\"), RoBERTa's (\"roberta\", \"xlm-roberta\", \"camembert\"), DistilBERT's (\"distilbert\"), ELECTRA's (\"electra\") and MPNet's (\"mpnet\"); others lay their layers out otherwise")) return;
            CheckRelative(ModelTypeOf(c) == Mpnet, problems);
            // ELECTRA's embeddings narrower than its layers, projected (embeddings_project); no other model type has the projection
            bool electra = ModelTypeOf(c) == "electra";
            int Given(string key, int fallback) => Value(c, key) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int n) ? n : fallback;
            if (electra) ConfigInt(c, problems, "embedding_size", Embedding.Dim, $"'{Embedding.Name}'", 128);
            if ((Projection is not null) != (electra && Given("embedding_size", 128) != Given("hidden_size", 256)))
                problems.Add(Projection is not null
                    ? $"model_type is \"{ModelTypeOf(c)}\"{(electra ? ", whose embedding is as wide as its layers," : "")}: no projection follows the embeddings' norm, but '{Projection.Name}' maps them to {Projection.Units}"
                    : $"ELECTRA's embeddings ({Given("embedding_size", 128)}) are projected to its layers' width (embeddings_project); declare a [Dense(hidden_size)] after the embeddings' norm");
            if (IsDistil(c))
            {
                CheckDistilConfig(c, problems);
                return;
            }
            BertLayer first = Layers[0];
            int width = Hidden, offset = PositionOffset(c);
            bool mpnet = ModelTypeOf(c) == Mpnet;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", ModelTypeOf(c) == "roberta" ? 50265 : mpnet ? 30527 : 30522);
            ConfigInt(c, problems, "hidden_size", width, $"'{Projection?.Name ?? Embedding.Name}'", electra ? 256 : 768);
            ConfigInt(c, problems, "num_hidden_layers", Layers.Count, "its encoder layers", 12);
            ConfigInt(c, problems, "num_attention_heads", first.Attention.Heads, $"'{first.Attention.Name}'", electra ? 4 : 12); // (ElectraConfig's defaults: ELECTRA-small's)
            ConfigInt(c, problems, "intermediate_size", first.Intermediate.Units, $"'{first.Intermediate.Name}'", electra ? 1024 : 3072);
            if (Positions is not null)
                ConfigInt(c, problems, "max_position_embeddings", Positions.MaxLength + offset,
                    offset > 0 ? $"'{Positions.Name}' maxLength {Positions.MaxLength} + {(mpnet ? "MPNet" : "RoBERTa")}'s {offset} row{(offset == 1 ? "" : "s")} before position 0" : $"'{Positions.Name}' maxLength", 512);
            CheckAlike(problems);
            ConfigEpsilon(c, problems, "layer_norm_eps", 1e-12, Norms());
            // JinaBERT's feed-forward: feed_forward_type "geglu" (GELU on gated_layers' first half) or "reglu" (ReLU); BERT's: hidden_act's
            string feedForward = Value(c, "feed_forward_type") is { ValueKind: JsonValueKind.String } kind ? kind.GetString()! : "original";
            if (feedForward is "geglu" or "reglu")
            {
                Activation gate = feedForward == "geglu" ? Activation.Gelu : Activation.Relu;
                if (Layers.FirstOrDefault(b => !b.Intermediate.Gated || b.Intermediate.Activation != gate) is { } unlike)
                    problems.Add($"feed_forward_type is \"{feedForward}\": declare '{unlike.Intermediate.Name}' with Gated = true, Activation = Activation.{gate}, Bias = false (JinaBERT's mlp.gated_layers)");
            }
            else if (feedForward != "original") problems.Add($"feed_forward_type is \"{feedForward}\": JinaBERT's feed-forward here is \"geglu\" or \"reglu\" (BERT's: \"original\")");
            else if (Jina) problems.Add($"feed_forward_type is {(Value(c, "feed_forward_type") is null ? "\"original\" (its default)" : "\"original\"")}, but '{first.Intermediate.Name}' is gated (JinaBERT's mlp.gated_layers)");
            else CheckFeedForwardActivation(c, "hidden_act", Activation.Gelu, Layers.Select(b => b.Intermediate), problems);
            // the positions: a learned table ("absolute"), or JinaBERT's ALiBi ("alibi", no table)
            string position = Value(c, "position_embedding_type") is { } positions ? positions.ValueKind == JsonValueKind.String ? positions.GetString()! : positions.GetRawText() : "absolute";
            if (position is not ("absolute" or "alibi"))
                problems.Add($"position_embedding_type is \"{position}\": the positions here are a learned table (\"absolute\") or JinaBERT's ALiBi (\"alibi\"); relative positions are not computed");
            else if ((position == "alibi") != Jina)
                problems.Add(Jina ? $"position_embedding_type is \"{position}\"{(Value(c, "position_embedding_type") is null ? " (its default)" : "")}: the positions are a learned table, but the model declares none (its attention ALiBi's)"
                    : $"position_embedding_type is \"alibi\" (JinaBERT's): declare no [PositionEmbedding] and each attention with Alibi = true");
            if (mpnet)
            {
                if (Types is not null) problems.Add($"MPNet has no token types, but the model declares '{Types.Name}' ([TokenTypeEmbedding])");
                // (transformers' MPNet buckets the distances by 32 whatever its table's rows: a table of another size is read otherwise)
                if (Value(c, "relative_attention_num_buckets") is { } buckets && !(buckets.ValueKind == JsonValueKind.Number && buckets.TryGetInt32(out int b) && b == MpnetBuckets))
                    problems.Add($"relative_attention_num_buckets is {buckets.GetRawText()}: transformers' MPNet buckets the distances by {MpnetBuckets} whatever its table's rows, so only a table of {MpnetBuckets} is read here");
            }
            else if (Value(c, "type_vocab_size") is { } types && !(types.ValueKind == JsonValueKind.Number && types.TryGetInt32(out int t) && t >= 1))
                problems.Add($"type_vocab_size is {types.GetRawText()}, not a whole number of token types 1 or more");
            else if (Types is not null) ConfigInt(c, problems, "type_vocab_size", Types.Types, $"'{Types.Name}' types", 2);
            ConfigOff(c, problems, "is_decoder", "BERT as a causal decoder is not laid out here");
            ConfigOff(c, problems, "add_cross_attention", "BERT layers attending over an encoder are not laid out here");
        }

        /// <summary>
        /// MPNet's layers add its one relative position table to their scores (each [Attention(RelativeBuckets = 32)], 128 the
        /// maximum distance, sharing the first's); the other model types' layers have none.
        /// </summary>
        public void CheckRelative(bool mpnet, List<string> problems)
        {
            foreach (AttentionInfo a in Layers.Select(b => b.Attention))
            {
                if (!mpnet && a.RelativeBuckets > 0)
                    problems.Add($"'{a.Name}' adds a relative position bias (RelativeBuckets = {a.RelativeBuckets}), which only MPNet's checkpoints (model_type \"mpnet\") hold");
                else if (mpnet && (a.RelativeBuckets != MpnetBuckets || a.RelativeMaxDistance != MpnetMaxDistance))
                    problems.Add($"MPNet's layers add its relative position bias to their scores: declare '{a.Name}' with RelativeBuckets = {MpnetBuckets}{(a.RelativeMaxDistance != MpnetMaxDistance ? $" and RelativeMaxDistance = {MpnetMaxDistance}" : "")} (relative_attention_num_buckets, 128 the distance transformers' MPNet buckets up to)");
                else continue;
                return; // (the first that differs: every layer is declared alike)
            }
            if (mpnet && RelativeNotShared(Layers.Select(b => b.Attention).ToArray(), "MPNet's encoder keeps one for every layer") is { } own) problems.Add(own);
        }

        /// <summary>DistilBertConfig's keys against the model (its defaults for what it leaves out; its norms' ε is 1e-12, not configured).</summary>
        private void CheckDistilConfig(JsonElement c, List<string> problems)
        {
            BertLayer first = Layers[0];
            if (Types is not null) problems.Add($"DistilBERT has no token types, but the model declares '{Types.Name}' ([TokenTypeEmbedding])");
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", 30522);
            ConfigInt(c, problems, "dim", Embedding.Dim, $"'{Embedding.Name}'", 768);
            ConfigInt(c, problems, "n_layers", Layers.Count, "its encoder layers", 6);
            ConfigInt(c, problems, "n_heads", first.Attention.Heads, $"'{first.Attention.Name}'", 12);
            ConfigInt(c, problems, "hidden_dim", first.Intermediate.Units, $"'{first.Intermediate.Name}'", 3072);
            if (Positions is not null) ConfigInt(c, problems, "max_position_embeddings", Positions.MaxLength, $"'{Positions.Name}' maxLength", 512);
            CheckAlike(problems);
            foreach (LayerNormInfo norm in Norms().Where(n => n.Epsilon != 1e-12f).Take(1))
                problems.Add($"DistilBERT's norms take ε 1e-12, the model declares {Number(norm.Epsilon)} ('{norm.Name}' Epsilon)");
            CheckFeedForwardActivation(c, "activation", Activation.Gelu, Layers.Select(b => b.Intermediate), problems);
        }

        /// <summary>What one BERT configuration cannot say: layers whose heads, feed-forward or norms differ from the first's.</summary>
        public void CheckAlike(List<string> problems)
        {
            BertLayer first = Layers[0];
            foreach (BertLayer b in Layers.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads).Take(1))
                problems.Add($"'{b.Attention.Name}' has {b.Attention.Heads} heads and '{first.Attention.Name}' {first.Attention.Heads}: BERT's layers are alike (one num_attention_heads)");
            foreach (BertLayer b in Layers.Skip(1).Where(b => b.Intermediate.Units != first.Intermediate.Units || b.Intermediate.Activation != first.Intermediate.Activation).Take(1))
                problems.Add($"'{b.Intermediate.Name}' differs from '{first.Intermediate.Name}': BERT's layers are alike (one intermediate_size, one hidden_act)");
            NormsAlike(Norms(), EmbeddingNorm, problems, "BERT", "layer_norm_eps");
            if (FeedForwardActivationName(first.Intermediate.Activation) is null)
                problems.Add($"'{first.Intermediate.Name}' takes {first.Intermediate.Activation}, which no hidden_act names");
        }

        /// <summary>Every layer norm: the embeddings', then each layer's two.</summary>
        private IEnumerable<LayerNormInfo> Norms() => Layers.SelectMany(b => new[] { b.First, b.Second }).Prepend(EmbeddingNorm);

        /// <summary>
        /// The config.json of this layout, as transformers' BertConfig (or, <paramref name="mpnet"/>, MPNetConfig) writes its fields,
        /// for the <paramref name="architecture"/> named (with a classifier's <paramref name="labels"/> as id2label).
        /// </summary>
        public byte[] Config(string architecture, IReadOnlyList<string>? labels, bool mpnet = false)
        {
            BertLayer first = Layers[0];
            return ConfigJson(w =>
            {
                WriteArchitecture(w, architecture, labels);
                w.WriteString("model_type", mpnet ? Mpnet : "bert");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("num_hidden_layers", Layers.Count);
                w.WriteNumber("num_attention_heads", first.Attention.Heads);
                w.WriteNumber("intermediate_size", first.Intermediate.Units);
                w.WriteString("hidden_act", Jina ? "gelu" : FeedForwardActivationName(first.Intermediate.Activation));
                if (Positions is not null) w.WriteNumber("max_position_embeddings", Positions.MaxLength + (mpnet ? 2 : 0));
                if (mpnet)
                {
                    w.WriteNumber("relative_attention_num_buckets", MpnetBuckets);
                    w.WriteNumber("pad_token_id", 1);
                    w.WriteNumber("bos_token_id", 0);
                    w.WriteNumber("eos_token_id", 2);
                }
                else w.WriteNumber("type_vocab_size", Types?.Types ?? 2);
                w.WritePropertyName("layer_norm_eps");
                w.WriteRawValue(JsonFloat(EmbeddingNorm.Epsilon));
                if (!mpnet) w.WriteString("position_embedding_type", Jina ? "alibi" : "absolute");
                if (Jina)
                {
                    w.WriteString("feed_forward_type", first.Intermediate.Activation == Activation.Relu ? "reglu" : "geglu");
                    // transformers' BertModel has no ALiBi: AutoModel.from_pretrained(folder, trust_remote_code=True) runs jina's code
                    w.WriteStartObject("auto_map");
                    const string code = "jinaai/jina-bert-implementation--";
                    w.WriteString("AutoConfig", code + "configuration_bert.JinaBertConfig");
                    w.WriteString("AutoModel", code + "modeling_bert.JinaBertModel");
                    w.WriteString("AutoModelForMaskedLM", code + "modeling_bert.JinaBertForMaskedLM");
                    w.WriteString("AutoModelForSequenceClassification", code + "modeling_bert.JinaBertForSequenceClassification");
                    w.WriteEndObject();
                }
                w.WriteString("torch_dtype", "float32");
            });
        }
    }

    /// <summary>
    /// A task's head on the first token, as transformers lays it out: <see cref="Pool"/> (<c>[Pool(PoolKind.First)]</c>), a
    /// <see cref="Dense"/> as wide as the layers with an activation, optionally the <see cref="Classifier"/> (a Dense without
    /// one), <c>[Dropout]</c>s between.
    /// </summary>
    private sealed record BertHead(PoolInfo Pool, DenseInfo Dense, DenseInfo? Classifier)
    {
        public static BertHead? Of(IReadOnlyList<LayerInfo> head, int width)
        {
            int i = 0;
            if (head.Count == 0 || head[i++] is not PoolInfo { Kind: PoolKind.First } pool) return null;
            while (i < head.Count && head[i] is DropoutInfo) i++;
            if (i >= head.Count || head[i++] is not DenseInfo { Gated: false, Bias: true, TiedTo: null, SoftCap: 0f } dense || dense.Units != width || dense.Activation == Activation.None)
                return null;
            while (i < head.Count && head[i] is DropoutInfo) i++;
            DenseInfo? classifier = i < head.Count && head[i] is DenseInfo { Activation: Activation.None, Gated: false, Bias: true, TiedTo: null, SoftCap: 0f } c ? c : null;
            if (classifier is not null) i++;
            return i == head.Count ? new BertHead(pool, dense, classifier) : null;
        }

        /// <summary>
        /// The head's tensors that the checkpoint holds, by its model type: the dense layer's (with the activation its model
        /// applies, else a problem) and the classifier's; a part it lacks is left out (the model keeps its own).
        /// </summary>
        public void AddSources(string type, Dictionary<string, SafeTensor> tensors, Dictionary<string, ParameterSet.TensorRows[]> sources, List<string> problems)
        {
            // (MPNet's classifier is RoBERTa's: MPNetClassificationHead)
            bool roberta = BertLayout.IsRoberta(type) || type == BertLayout.Mpnet, electra = type == "electra", distil = type == "distilbert";
            // (RoBERTa's classifier reads no pooler: RobertaForSequenceClassification drops it; its pooler_output is the head without one)
            var (name, activation, what) = distil ? ("pre_classifier", Activation.Relu, "DistilBERT's pre_classifier applies ReLU")
                : electra ? ("classifier.dense", Activation.Gelu, "ELECTRA's classifier.dense applies GELU")
                : roberta && Classifier is not null ? ("classifier.dense", Activation.Tanh, $"{(type == BertLayout.Mpnet ? "MPNet" : "RoBERTa")}'s classifier.dense applies tanh")
                : ("pooler.dense", Activation.Tanh, "the pooler applies tanh");
            string classifier = roberta || electra ? "classifier.out_proj" : "classifier";
            if (tensors.ContainsKey(name + ".weight"))
            {
                // a base model's pooler under a head of another activation: the head is the model's own (transformers' new head);
                // a fine-tuned classifier's layer under the wrong activation is a mistake, refused
                if (Dense.Activation == activation) BertLayout.AddDense(sources, Dense, name);
                else if (name != "pooler.dense")
                    problems.Add($"'{Dense.Name}' takes {Dense.Activation} where {what} (declare it with Activation = Activation.{activation})");
            }
            if (Classifier is not null && tensors.ContainsKey(classifier + ".weight")) BertLayout.AddDense(sources, Classifier, classifier);
        }
    }

    /// <summary>
    /// A masked-LM head: <see cref="Dense"/> (with its activation), <see cref="Norm"/>, and the <see cref="Decoder"/> tied to the token
    /// table, its bias its own.
    /// </summary>
    private sealed record MaskedLmHead(DenseInfo Dense, LayerNormInfo Norm, DenseInfo Decoder)
    {
        /// <summary>
        /// The head's tensors by model type: BERT's <c>cls.predictions.transform</c> and <c>cls.predictions.bias</c>, RoBERTa's and
        /// MPNet's <c>lm_head</c>, DistilBERT's <c>vocab_transform</c>, <c>vocab_layer_norm</c> and <c>vocab_projector.bias</c>.
        /// </summary>
        public static (string Dense, string Norm, string Bias, string Decoder) Names(string type) =>
            BertLayout.IsRoberta(type) || type == BertLayout.Mpnet ? ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder")
            : type == "distilbert" ? ("vocab_transform", "vocab_layer_norm", "vocab_projector.bias", "vocab_projector")
            : ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias", "cls.predictions.decoder");

        /// <summary>The head's parameters' tensors under <paramref name="type"/>'s names: the dense layer, the norm and the decoder's bias.</summary>
        public void AddTo(Dictionary<string, ParameterSet.TensorRows[]> sources, string type)
        {
            var (dense, norm, bias, _) = Names(type);
            BertLayout.AddDense(sources, Dense, dense);
            BertLayout.AddNorm(sources, Norm, norm);
            sources[Decoder.Name + ".bias"] = [(bias, Decoder.Units)];
        }

        /// <summary>
        /// The head's parameters' tensors, where the checkpoint holds them (a base model's: none, the head the model's own), and what
        /// its model computes against the declaration: RoBERTa's and MPNet's head take GELU, BERT's and DistilBERT's their layers'
        /// activation (<paramref name="layers"/>), each norm the encoder's ε (<paramref name="epsilon"/>).
        /// </summary>
        public void AddSources(string type, Activation layers, float epsilon, Dictionary<string, SafeTensor> tensors, Dictionary<string, ParameterSet.TensorRows[]> sources,
            List<string> problems)
        {
            var (dense, norm, bias, decoder) = Names(type);
            if (!tensors.ContainsKey(dense + ".weight")) return;
            Activation act = BertLayout.IsRoberta(type) || type == BertLayout.Mpnet ? Activation.Gelu : layers;
            if (Dense.Activation != act)
                problems.Add($"'{Dense.Name}' takes {Dense.Activation} where {dense} applies {act} (declare it with Activation = Activation.{act})");
            if (Norm.Epsilon != epsilon)
                problems.Add($"'{Norm.Name}' has Epsilon {Number(Norm.Epsilon)} where {norm} takes the encoder's {Number(epsilon)}");
            AddTo(sources, type);
            // the decoder's weight is the token table (tied): a copy the checkpoint keeps must be it
            CheckTiedHead(tensors, decoder + ".weight", BertLayout.Words, tied: true, problems);
            if (tensors.TryGetValue(decoder + ".bias", out SafeTensor? copy) && tensors.TryGetValue(bias, out SafeTensor? own) && !copy.SameValues(own))
                problems.Add($"'{decoder}.bias' differs from '{bias}', which the decoder's bias is");
        }
    }

    /// <summary>A BERT layer's parts: the attention, attention.output.LayerNorm, intermediate.dense, output.dense and output.LayerNorm.</summary>
    private sealed record BertLayer(AttentionInfo Attention, LayerNormInfo First, DenseInfo Intermediate, DenseInfo Output, LayerNormInfo Second);
}
