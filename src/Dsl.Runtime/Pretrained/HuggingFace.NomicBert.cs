using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a NomicBERT encoder — nomic-ai's <c>NomicBertModel</c> (<c>model_type</c> "nomic_bert": nomic-embed-text-v1 and
    /// v1.5, whose mean-pooled last hidden state is a text's embedding; the checkpoints of its <c>modeling_hf_nomic_bert</c>, read
    /// with <c>trust_remote_code</c> in transformers) — into <paramref name="model"/>, declared as its post-norm layers:
    /// <code>
    /// [Embedding(vocab: V, dim: H)] [LayerNorm(Epsilon = ε)]
    /// // per layer (n_layer of them):
    /// [Attention(Heads = n_head, Rotary = true, RotaryBase = rotary_emb_base, Bias = qkv_proj_bias)] [Residual] [LayerNorm(Epsilon = ε)]
    /// [Dense(n_inner, Gated = true, Activation = Activation.Silu, Bias = mlp_fc1_bias)] [Dense(H, Bias = mlp_fc2_bias)] [Residual(Layers = 2)] [LayerNorm(Epsilon = ε)]
    /// // then layers of the model's own if any, left as they are
    /// </code>
    /// <c>embeddings.word_embeddings</c> goes into the embedding, plus the first row of <c>embeddings.token_type_embeddings</c>
    /// (every token of type 0, as the embedding models read a text), or the token types into a
    /// <c>[TokenTypeEmbedding(types: type_vocab_size, separator: id)]</c> declared right after it; <c>emb_ln</c> into the first
    /// norm; each block's <c>attn.Wqkv</c> into the attention's <c>in_proj_weight</c>, <c>attn.out_proj</c> into
    /// <c>out_proj</c>, <c>norm1</c>, the MLP (SwiGLU's <c>fc11</c> as the gated Dense's value rows and <c>fc12</c> as its gate
    /// rows, <c>fc2</c>; or an ungated <c>fc1</c>, <c>fc2</c>) and <c>norm2</c> into the layers after it. The rotation turns
    /// each head's first <c>rotary_emb_fraction</c> · d values (declare <c>RotaryDimensions</c> below a whole head), and
    /// <c>rotary_scaling_factor</c> is dynamic NTK over <c>max_trained_positions</c> (declare <c>RotaryScalingKind.Dynamic</c>).
    /// The activation is <c>activation_function</c>'s: "swiglu" (gated SiLU), "geglu" (gated GELU), "glu" (gated sigmoid),
    /// "gelu" and the tanh forms' names (ungated: the exact GELU for each, as its blocks hand their MLP <c>F.gelu</c>). Names with the <c>bert.</c> prefix (NomicBertForPreTraining's) are read, the pooler and the
    /// pre-training head left. A <c>[Dropout]</c> may stand after the first norm and before each residual. Padded sequences run
    /// through <see cref="IModel{TInput}.Forward(System.Numerics.Tensors.ReadOnlyTensorSpan{TInput}, ReadOnlySpan{int})"/> with
    /// their lengths (the <c>attention_mask</c>).
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with NomicBertConfig's (and GPT2Config's) defaults for what it leaves out. Learned positions
    /// (<c>rotary_emb_fraction</c> 0), pre-norm, parallel blocks, RMS norms, interleaved or xPos rotations and a causal mask are
    /// refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as NomicBERT (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadNomicBert(IModel model, string path)
    {
        var (architecture, layout, files, config, problems) = Checked(model, path, "NomicBERT's", NomicBertLayout.Of, (l, c, p) => l.CheckConfig(c, p));
        int types = Value(config, "type_vocab_size") is { ValueKind: JsonValueKind.Number } t && t.TryGetInt32(out int n) ? n : 2;
        Dictionary<string, SafeTensor> tensors = NomicBertLayout.Readable(ReadAll(files), layout.Embedding, fold: layout.Types is null ? types : 0, problems);
        AssignEncoder(model, path, architecture, tensors, layout.Sources(), layout.Head, NomicBertLayout.Ignored, problems);
    }

    /// <summary>One NomicBERT block's parts: attention, norm1, the MLP's Dense layers, norm2.</summary>
    private sealed record NomicBertBlock(AttentionInfo Attention, LayerNormInfo First, DenseInfo Fc1, DenseInfo Fc2, LayerNormInfo Second);

    /// <summary>A model's layers matched to NomicBERT's: the token table (and its token types), emb_ln, the blocks, and what follows them.</summary>
    private sealed record NomicBertLayout(EmbeddingInfo Embedding, TokenTypeEmbeddingInfo? Types, LayerNormInfo EmbeddingNorm, IReadOnlyList<NomicBertBlock> Layers,
        IReadOnlyList<LayerInfo> Head)
    {
        public static NomicBertLayout Of(ModelArchitecture a)
        {
            const string expected = "NomicBERT's layout: [Embedding] ([TokenTypeEmbedding]) [LayerNorm], then per layer [Attention(Heads = h, Rotary = true, RotaryBase = b)] "
                + "[Residual] [LayerNorm] [Dense(I, Gated = true, Activation = Activation.Silu)] [Dense(H)] [Residual(Layers = 2)] [LayerNorm], then layers of the "
                + "model's own if any; a [Dropout] may stand after the embeddings' norm and before each residual";
            var walk = new LayerWalk(a, "NomicBERT", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embeddings.word_embeddings: an [Embedding], unscaled)", e => e.Scale == 1f);
            int at = 1;
            TokenTypeEmbeddingInfo? types = walk.Optional<TokenTypeEmbeddingInfo>(ref at);
            var norm = walk.At<LayerNormInfo>(at++, "the embeddings' norm (emb_ln: [LayerNorm])", x => x.Bias);
            at = walk.Dropout(at);
            int encoder = at;
            var layers = new List<NomicBertBlock>();
            // a block is an attention and its residual, a norm, two Dense layers and their residual, a norm; anything else ends the encoder
            while (at < l.Count && l[at] is AttentionInfo && walk.Dropout(at + 1) < l.Count && l[walk.Dropout(at + 1)] is ResidualInfo)
            {
                int n = layers.Count, start = at;
                var attention = walk.At<AttentionInfo>(at++, $"layer {n}'s attention ([Attention(Heads = h, Rotary = true, RotaryBase = rotary_emb_base)], over the whole sequence)",
                    x => x is { Causal: false, Score: AttentionScore.ScaledDot, InputFeeding: false, Pool: false, MemoryWidth: 0, KeyValueHeads: 0, HeadWidth: 0, QueryKeyNorm: false,
                        Scale: 0f, SoftCap: 0f, SlidingWindow: 0, RelativeBuckets: 0 } && x.OutputBias == x.Bias && x.RotaryBase > 0f);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the attention ([Residual], or Layers = 2 over a [Dropout])", r => r.From == start - 1);
                int normed = at;
                var first = walk.At<LayerNormInfo>(at++, $"layer {n}'s norm1 ([LayerNorm])", x => x.Bias);
                var fc1 = walk.At<DenseInfo>(at++, $"layer {n}'s mlp.fc11 and fc12 ([Dense(n_inner, Gated = true, Activation = Activation.Silu)]), or fc1",
                    d => d is { TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None);
                var fc2 = walk.At<DenseInfo>(at++, $"layer {n}'s mlp.fc2 ([Dense({embedding.Dim})])",
                    d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Units == embedding.Dim);
                at = walk.Dropout(at);
                walk.At<ResidualInfo>(at++, $"layer {n}'s residual around the MLP ([Residual(Layers = 2)], or 3 over a [Dropout])", r => r.From == normed);
                var second = walk.At<LayerNormInfo>(at++, $"layer {n}'s norm2 ([LayerNorm])", x => x.Bias);
                layers.Add(new NomicBertBlock(attention, first, fc1, fc2, second));
            }
            if (layers.Count == 0) throw walk.Differs(encoder, "layer 0's attention ([Attention(Heads = h, Rotary = true)]) and its residual ([Residual])");
            return new NomicBertLayout(embedding, types, norm, layers, l.Skip(at).ToArray());
        }

        /// <summary>
        /// The checkpoint's tensors without the <c>bert.</c> prefix; where the model declares no token types, the first row of the
        /// checkpoint's <paramref name="fold"/> (type_vocab_size; 0: none) added to every row of the word table (float32).
        /// </summary>
        public static Dictionary<string, SafeTensor> Readable(Dictionary<string, SafeTensor> tensors, EmbeddingInfo embedding, int fold, List<string> problems)
        {
            Dictionary<string, SafeTensor> readable = Renamed(tensors, name => name.StartsWith("bert.", StringComparison.Ordinal) ? name["bert.".Length..] : name,
                "NomicBERT", "with and without the bert. prefix");
            if (fold > 0) FoldFirstTokenType(readable, BertLayout.TokenTypes, fold, BertLayout.Words, embedding.Vocabulary, embedding.Dim, "every token", problems);
            return readable;
        }

        /// <summary>What the last hidden state reads nothing of: the pooler and the pre-training head.</summary>
        public static bool Ignored(string name) => name.StartsWith("pooler.", StringComparison.Ordinal) || name.StartsWith("cls.", StringComparison.Ordinal);

        /// <summary>Each parameter's tensors in the checkpoint and their rows.</summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources()
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(BertLayout.Words, Embedding.Vocabulary)] };
            if (Types is not null) s[Types.Name + ".weight"] = [(BertLayout.TokenTypes, Types.Types)];
            void AddNorm(LayerNormInfo norm, string hf) => BertLayout.AddNorm(s, norm, hf);
            AddNorm(EmbeddingNorm, "emb_ln");
            for (int i = 0; i < Layers.Count; i++)
            {
                NomicBertBlock b = Layers[i];
                string hf = $"encoder.layers.{i}.";
                s[b.Attention.Name + ".in_proj_weight"] = [(hf + "attn.Wqkv.weight", 3 * width)];
                s[b.Attention.Name + ".out_proj.weight"] = [(hf + "attn.out_proj.weight", width)];
                if (b.Attention.Bias)
                {
                    s[b.Attention.Name + ".in_proj_bias"] = [(hf + "attn.Wqkv.bias", 3 * width)];
                    s[b.Attention.Name + ".out_proj.bias"] = [(hf + "attn.out_proj.bias", width)];
                }
                AddNorm(b.First, hf + "norm1");
                // the gated MLP's fc11 (multiplied) and fc12 (activated): the Dense's value rows, then its gate rows
                foreach (string part in b.Fc1.Bias ? (string[])["weight", "bias"] : ["weight"])
                    s[b.Fc1.Name + "." + part] = b.Fc1.Gated ? [(hf + "mlp.fc11." + part, b.Fc1.Units), (hf + "mlp.fc12." + part, b.Fc1.Units)] : [(hf + "mlp.fc1." + part, b.Fc1.Units)];
                BertLayout.AddDense(s, b.Fc2, hf + "mlp.fc2");
                AddNorm(b.Second, hf + "norm2");
            }
            return s;
        }

        /// <summary>What config.json says against what the model declares (NomicBertConfig's and GPT2Config's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == "nomic_bert", $"LoadNomicBert reads NomicBERT's checkpoints (\"nomic_bert\")")) return;
            NomicBertBlock first = Layers[0];
            int Given(string key, int fallback) => Value(c, key) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int n) ? n : fallback;
            // the vocabulary padded to pad_vocab_size_multiple, as NomicBertModel pads it
            int vocabulary = Given("vocab_size", 50257), multiple = Math.Max(1, Given("pad_vocab_size_multiple", 1));
            vocabulary = (vocabulary + multiple - 1) / multiple * multiple;
            if (vocabulary != Embedding.Vocabulary) problems.Add($"vocab_size is {vocabulary}{(multiple > 1 ? $" (padded to a multiple of {multiple})" : "")}, the model declares {Embedding.Vocabulary} ('{Embedding.Name}')");
            ConfigInt(c, problems, "n_embd", Embedding.Dim, $"'{Embedding.Name}'", 768);
            ConfigInt(c, problems, "n_layer", Layers.Count, "its blocks", 12);
            ConfigInt(c, problems, "n_head", first.Attention.Heads, $"'{first.Attention.Name}'", 12);
            // NomicBertBlock hands its MLP F.gelu, the exact GELU, for every activation but the gated SiLU and sigmoid: the tanh forms' names included
            string act = Value(c, "activation_function") is { ValueKind: JsonValueKind.String } a ? a.GetString()! : "gelu_new";
            (bool Gated, Activation Activation)? mlp = act switch
            {
                "swiglu" => (true, Activation.Silu),
                "geglu" => (true, Activation.Gelu),
                "glu" => (true, Activation.Sigmoid),
                "gelu" or "gelu_new" or "gelu_fast" or "gelu_pytorch_tanh" => (false, Activation.Gelu),
                _ => null,
            };
            if (mlp is null) problems.Add($"activation_function is \"{act}\": NomicBERT's MLP here takes \"swiglu\", \"geglu\", \"glu\", \"gelu\" or \"gelu_new\"");
            else if (Layers.FirstOrDefault(b => b.Fc1.Gated != mlp.Value.Gated || b.Fc1.Activation != mlp.Value.Activation) is { } unlike)
                problems.Add($"activation_function is \"{act}\"{(Value(c, "activation_function") is null ? " (its default)" : "")}: declare '{unlike.Fc1.Name}' with {(mlp.Value.Gated ? "Gated = true, " : "")}Activation = Activation.{mlp.Value.Activation}");
            // n_inner (where absent, 8/3 of the width when gated, 4 times it when not), a gated MLP's rounded up to a multiple of 256 as it rounds it
            int? given = Value(c, "n_inner") is { ValueKind: JsonValueKind.Number } i && i.TryGetInt32(out int ni) ? ni : null;
            int inner = mlp?.Gated == true ? ((given ?? 8 * Embedding.Dim / 3) + 255) / 256 * 256 : given ?? 4 * Embedding.Dim;
            foreach (NomicBertBlock b in Layers.Where(b => b.Fc1.Units != inner).Take(1))
                problems.Add($"n_inner is {given?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "absent"}{(inner != given ? $" ({inner} rows as the MLP makes them)" : "")}, the model declares {b.Fc1.Units} ('{b.Fc1.Name}')");
            foreach (NomicBertBlock b in Layers.Skip(1).Where(b => b.Attention.Heads != first.Attention.Heads).Take(1))
                problems.Add($"'{b.Attention.Name}' has {b.Attention.Heads} heads, '{first.Attention.Name}' {first.Attention.Heads}: one configuration gives every block n_head");
            ConfigEpsilon(c, problems, "layer_norm_epsilon", 1e-5, [EmbeddingNorm, .. Layers.SelectMany(b => new[] { b.First, b.Second })]);
            if (Types is not null) ConfigInt(c, problems, "type_vocab_size", Types.Types, $"'{Types.Name}' types", 2);
            ConfigFlag(c, problems, "qkv_proj_bias", Layers.Select(b => b.Attention), x => x.Bias, x => BiasOf(x.Name, x.Bias), fallback: true);
            ConfigFlag(c, problems, "mlp_fc1_bias", Layers.Select(b => b.Fc1), d => d.Bias, d => BiasOf(d.Name, d.Bias), fallback: true);
            ConfigFlag(c, problems, "mlp_fc2_bias", Layers.Select(b => b.Fc2), d => d.Bias, d => BiasOf(d.Name, d.Bias), fallback: true);
            // the rotation: the base, the part of each head it turns, and dynamic NTK past max_trained_positions
            double fraction = Value(c, "rotary_emb_fraction") is { ValueKind: JsonValueKind.Number } f ? f.GetDouble() : 0.0;
            int d = Embedding.Dim / Math.Max(1, first.Attention.Heads), turned = (int)Math.Round(d * fraction);
            float theta = Value(c, "rotary_emb_base") is { ValueKind: JsonValueKind.Number } t ? (float)t.GetDouble() : 10000f;
            // (a factor of 0 scales nothing, as NomicBertAttention reads it)
            double? factor = Value(c, "rotary_scaling_factor") is { ValueKind: JsonValueKind.Number } sf && sf.GetDouble() != 0 ? sf.GetDouble() : null;
            int trained = Given("max_trained_positions", 2048);
            if (fraction <= 0) problems.Add("rotary_emb_fraction is 0 (its default): NomicBERT's learned positions are not laid out here; its rotary models (rotary_emb_fraction above 0) are");
            else foreach (AttentionInfo x in Layers.Select(b => b.Attention))
            {
                int before = problems.Count;
                if (x.RotaryBase != theta) problems.Add($"rotary_emb_base is {Number(theta)}{(Value(c, "rotary_emb_base") is null ? " (its default)" : "")}: declare '{x.Name}' with RotaryBase = {Number(theta)}f, not {Number(x.RotaryBase)}");
                if (x.RotaryWidth != turned) problems.Add($"rotary_emb_fraction is {fraction}: each head's first {turned} of {d} values turn; declare '{x.Name}' with {(turned == d ? "no RotaryDimensions" : $"RotaryDimensions = {turned}")}");
                bool dynamic = x.RotaryScaling.Kind == RotaryScalingKind.Dynamic && x.RotaryScaling.IsScaled;
                if (factor is double scale ? !(dynamic && x.RotaryScaling.Factor == (float)scale && x.RotaryScaling.OriginalContext == trained) : x.RotaryScaling.IsScaled)
                    problems.Add(factor is double s2
                        ? $"rotary_scaling_factor is {s2}: declare '{x.Name}' with RotaryScaling = {s2}f, RotaryScalingKind = RotaryScalingKind.Dynamic and RotaryOriginalContext = {trained} (max_trained_positions)"
                        : $"rotary_scaling_factor is null: '{x.Name}' scales its rotary frequencies, which NomicBERT does not");
                if (problems.Count > before) break; // (the first block that differs: those declared alike would repeat it)
            }
            ConfigOff(c, problems, "rotary_emb_interleaved", "the rotation here turns each head's halves (GPT-NeoX's), not its interleaved pairs");
            if (Value(c, "rotary_emb_scale_base") is { } xpos) problems.Add($"rotary_emb_scale_base is {xpos.GetRawText()}: xPos's scaled rotation is not computed here");
            ConfigOff(c, problems, "prenorm", "NomicBERT's pre-norm blocks are not laid out here (its post-norm ones are)");
            ConfigOff(c, problems, "parallel_block", "parallel attention and MLP are not laid out here");
            ConfigOff(c, problems, "use_rms_norm", "the norms here are LayerNorm's");
            ConfigOff(c, problems, "causal", "NomicBERT's attention is over the whole sequence here");
        }
    }
}
