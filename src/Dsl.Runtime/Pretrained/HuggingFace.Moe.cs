using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl;

public static partial class HuggingFace
{
    /// <summary>
    /// Loads a Mixtral checkpoint — transformers' <c>MixtralForCausalLM</c> (Mistral AI's Mixtral-8x7B and -8x22B, base and instruct,
    /// and the many sparse models saved as it; <c>model_type</c> "mixtral") — into <paramref name="model"/>, declared as LLaMA's layers
    /// with a mixture of experts in place of the feed-forward:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_local_experts, units: intermediate_size, TopK = num_experts_per_tok)] [Residual(Layers = 2)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (ε = <c>rms_norm_eps</c>; <c>sliding_window</c>: <c>SlidingWindow</c> on the attention; <c>tie_word_embeddings</c>: the output
    /// layer <c>TieEmbedding = true</c>). Mixtral's router takes the softmax of its scores, each row's top k, and divides their
    /// probabilities by their sum: the <c>[Moe]</c>'s defaults (<c>NormalizeTopK = true</c>, gated SiLU experts without biases).
    /// <c>model.embed_tokens</c> goes into the embedding; each layer's <c>self_attn.q_proj</c>, <c>k_proj</c> and <c>v_proj</c> into the
    /// attention's <c>in_proj_weight</c>, <c>o_proj</c> into <c>out_proj</c>, <c>block_sparse_moe.gate</c> into the mixture's
    /// <c>router</c>, each expert's <c>w3</c> (up) then <c>w1</c> (gate) into its block of <c>weight_in</c> and <c>w2</c> (down) into
    /// its block of <c>weight_out</c>; <c>input_layernorm</c>, <c>post_attention_layernorm</c> and <c>model.norm</c> into the norms,
    /// <c>lm_head</c> into the output layer. The router's training options (<c>router_jitter_noise</c>, the auxiliary loss of
    /// <c>output_router_logits</c> and <c>router_aux_loss_coef</c>) change nothing at inference and are not read: a model learns with the
    /// load-balancing loss where its <c>[Moe]</c> layers declare <c>LoadBalancingLoss</c>. Besides the Hub's tensor per expert and
    /// projection, this loader (and <see cref="LoadOlmoe"/>, <see cref="LoadQwen3Moe"/>, <see cref="LoadQwen2Moe"/>) reads transformers 5's fused layout (<c>mlp.gate</c>, <c>mlp.experts.gate_up_proj</c> [E, 2I, D],
    /// each expert's gate rows then its up rows, and <c>mlp.experts.down_proj</c> [E, D, I]) in each layer that holds it; the
    /// savers write a tensor per expert, which transformers 5 fuses as it loads.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with MixtralConfig's defaults for what it leaves out: <c>vocab_size</c> (32000), <c>hidden_size</c> (4096),
    /// <c>intermediate_size</c> (14336), <c>num_hidden_layers</c> (32), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c> (8),
    /// <c>hidden_act</c> ("silu"), <c>rope_theta</c> (1e6), <c>rms_norm_eps</c> (1e-5), <c>sliding_window</c> (none),
    /// <c>num_local_experts</c> (8), <c>num_experts_per_tok</c> (2) and <c>tie_word_embeddings</c> (false); a <c>rope_scaling</c> is refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Mixtral (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadMixtral(IModel model, string path) => LoadSparse(model, path, SparseFamily.Mixtral);

    /// <summary>
    /// Saves <paramref name="model"/>, declared as Mixtral (see <see cref="LoadMixtral"/>), as a <c>MixtralForCausalLM</c> checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>save_pretrained</c>'s names, a tensor per
    /// expert and projection (a tied output layer left out), and the <c>config.json</c> that describes it, so that transformers'
    /// <c>MixtralForCausalLM.from_pretrained(folder)</c> and <see cref="LoadMixtral"/> read it back. Both files are built first, then
    /// replaced together.
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as Mixtral, or its layers or norms differ from one another (one configuration cannot say so).</exception>
    public static void SaveMixtral(IModel model, string folder) => SaveSparse(model, folder, SparseFamily.Mixtral);

    /// <summary>
    /// Loads an OLMoE checkpoint — transformers' <c>OlmoeForCausalLM</c> (allenai's OLMoE-1B-7B, base and instruct; <c>model_type</c>
    /// "olmoe") — into <paramref name="model"/>, declared as OLMo 2's attention (QK-norm across the heads) in LLaMA's pre-norm layers,
    /// a mixture of experts in place of the feed-forward:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false, QueryKeyNorm = true, QueryKeyNormAcrossHeads = true, QueryKeyNormEpsilon = ε)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_experts, units: intermediate_size, TopK = num_experts_per_tok, NormalizeTopK = norm_topk_prob)] [Residual(Layers = 2)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (ε = <c>rms_norm_eps</c>; <c>attention_bias</c>: <c>Bias = true</c>; <c>tie_word_embeddings</c>: <c>TieEmbedding = true</c>).
    /// <c>self_attn.q_norm</c> and <c>k_norm</c> go into the attention's <c>q_norm.weight</c> and <c>k_norm.weight</c>,
    /// <c>mlp.gate</c> into the mixture's <c>router</c>, each expert's <c>up_proj</c> then <c>gate_proj</c> into its block of
    /// <c>weight_in</c> and <c>down_proj</c> into its block of <c>weight_out</c>; the rest as <see cref="LoadMixtral"/>. OLMoE's
    /// <c>clip_qkv</c> (which clamps after the norms, where <c>ClipQkv</c> clamps before) is refused.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with OlmoeConfig's defaults for what it leaves out: <c>vocab_size</c> (50304), <c>hidden_size</c> (2048),
    /// <c>intermediate_size</c> (2048), <c>num_hidden_layers</c> (16), <c>num_attention_heads</c> (16), <c>num_key_value_heads</c> (as
    /// many), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000), <c>rms_norm_eps</c> (1e-5), <c>num_experts</c> (64),
    /// <c>num_experts_per_tok</c> (8), <c>norm_topk_prob</c> (false), <c>attention_bias</c> and <c>tie_word_embeddings</c> (false).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as OLMoE (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadOlmoe(IModel model, string path) => LoadSparse(model, path, SparseFamily.Olmoe);

    /// <summary>Saves <paramref name="model"/>, declared as OLMoE (see <see cref="LoadOlmoe"/>), as an <c>OlmoeForCausalLM</c> checkpoint, as <see cref="SaveMixtral"/> does Mixtral's.</summary>
    /// <exception cref="ArgumentException">The model is not laid out as OLMoE, or its layers or norms differ from one another.</exception>
    public static void SaveOlmoe(IModel model, string folder) => SaveSparse(model, folder, SparseFamily.Olmoe);

    /// <summary>
    /// Loads a Qwen3-MoE checkpoint — transformers' <c>Qwen3MoeForCausalLM</c> (Qwen's Qwen3-30B-A3B and -235B-A22B, base and
    /// instruct; <c>model_type</c> "qwen3_moe") — into <paramref name="model"/>, declared as Qwen3's attention (heads of their own
    /// width, each head's queries and keys RMS-normalised) in LLaMA's layers, a mixture of experts in every layer's place of the
    /// feed-forward:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, HeadWidth = head_dim, Causal = true, Rotary = true, RotaryBase = rope_theta, Bias = false, QueryKeyNorm = true, QueryKeyNormEpsilon = ε)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_experts, units: moe_intermediate_size, TopK = num_experts_per_tok, NormalizeTopK = norm_topk_prob)] [Residual(Layers = 2)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (<c>attention_bias</c>: <c>Bias = true</c>; <c>tie_word_embeddings</c>: <c>TieEmbedding = true</c>). Each layer's
    /// <c>self_attn.q_norm</c> and <c>k_norm</c> (a head's width) go into the attention's, <c>mlp.gate</c> into the mixture's router,
    /// each expert's <c>up_proj</c> then <c>gate_proj</c> into its block of <c>weight_in</c> and <c>down_proj</c> into <c>weight_out</c>'s.
    /// Dense layers among the sparse ones, where the configuration has them (layer i is dense where it is in <c>mlp_only_layers</c> or
    /// i + 1 is not a multiple of <c>decoder_sparse_step</c>, as Qwen3MoeDecoderLayer chooses; every layer where <c>num_experts</c> is 0, a
    /// checkpoint this loader refuses), are declared in their places as LLaMA's
    /// feed-forward, <c>[Dense(intermediate_size, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(hidden_size, Bias = false)]
    /// [Residual(Layers = 3)]</c>, their <c>mlp.up_proj</c> then <c>gate_proj</c> rows in the first and <c>down_proj</c> in the second.
    /// Sliding windows (<c>use_sliding_window</c>) are refused.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with Qwen3MoeConfig's defaults for what it leaves out: <c>vocab_size</c> (151936), <c>hidden_size</c> (2048),
    /// <c>moe_intermediate_size</c> (768), <c>num_hidden_layers</c> (24), <c>num_attention_heads</c> (32), <c>num_key_value_heads</c>
    /// (4), <c>head_dim</c> (128), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000), <c>rms_norm_eps</c> (1e-6), <c>num_experts</c>
    /// (128), <c>num_experts_per_tok</c> (8), <c>norm_topk_prob</c> (false), <c>attention_bias</c> and <c>tie_word_embeddings</c> (false),
    /// <c>decoder_sparse_step</c> (1), <c>mlp_only_layers</c> (none) and, where a layer is dense, <c>intermediate_size</c> (6144).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Qwen3-MoE (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadQwen3Moe(IModel model, string path) => LoadSparse(model, path, SparseFamily.Qwen3Moe);

    /// <summary>Saves <paramref name="model"/>, declared as Qwen3-MoE (see <see cref="LoadQwen3Moe"/>), as a <c>Qwen3MoeForCausalLM</c> checkpoint, as <see cref="SaveMixtral"/> does Mixtral's.</summary>
    /// <exception cref="ArgumentException">The model is not laid out as Qwen3-MoE, or its layers or norms differ from one another.</exception>
    public static void SaveQwen3Moe(IModel model, string folder) => SaveSparse(model, folder, SparseFamily.Qwen3Moe);

    /// <summary>
    /// Loads a Qwen2-MoE checkpoint — transformers' <c>Qwen2MoeForCausalLM</c> (Qwen's Qwen1.5-MoE-A2.7B and Qwen2-57B-A14B, base and
    /// chat; <c>model_type</c> "qwen2_moe") — into <paramref name="model"/>, declared as Qwen2's attention (biases on q, k and v, none
    /// on o_proj) in LLaMA's layers, a mixture of experts with a gated shared expert in every layer's place of the feed-forward:
    /// <code>
    /// [Embedding(vocab: vocab_size, dim: hidden_size)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = rope_theta, OutputBias = false)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Moe(experts: num_experts, units: moe_intermediate_size, TopK = num_experts_per_tok, NormalizeTopK = norm_topk_prob, SharedUnits = shared_expert_intermediate_size, SharedExpertGate = true)] [Residual(Layers = 2)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(vocab_size, Bias = false)]
    /// </code>
    /// (<c>qkv_bias</c> false, transformers 5's: <c>Bias = false</c>; <c>tie_word_embeddings</c>: <c>TieEmbedding = true</c>). Each
    /// layer's <c>mlp.gate</c> goes into the mixture's router, each expert's <c>up_proj</c> then <c>gate_proj</c> into its block of
    /// <c>weight_in</c> and <c>down_proj</c> into <c>weight_out</c>'s, <c>mlp.shared_expert</c>'s <c>up_proj</c> then <c>gate_proj</c> into
    /// <c>shared_in</c> and its <c>down_proj</c> into <c>shared_out</c>, <c>mlp.shared_expert_gate</c> into <c>shared_gate</c>. Dense layers
    /// among the sparse ones (<c>mlp_only_layers</c>, <c>decoder_sparse_step</c>) are declared and read as <see cref="LoadQwen3Moe"/>'s, with no
    /// shared expert; sliding windows (<c>use_sliding_window</c>) are refused.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (or its safetensors file, or its shards' index) with its <c>config.json</c>, checked against the
    /// model first, with Qwen2MoeConfig's defaults for what it leaves out: <c>vocab_size</c> (151936), <c>hidden_size</c> (2048),
    /// <c>moe_intermediate_size</c> (1408), <c>shared_expert_intermediate_size</c> (5632), <c>num_hidden_layers</c> (24),
    /// <c>num_attention_heads</c> (16), <c>num_key_value_heads</c> (16), <c>hidden_act</c> ("silu"), <c>rope_theta</c> (10000),
    /// <c>rms_norm_eps</c> (1e-6), <c>num_experts</c> (60), <c>num_experts_per_tok</c> (4), <c>norm_topk_prob</c> (false), <c>qkv_bias</c>
    /// (true) and <c>tie_word_embeddings</c> (false), <c>decoder_sparse_step</c> (1), <c>mlp_only_layers</c> (none) and, where a layer is
    /// dense, <c>intermediate_size</c> (5632).
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as Qwen2-MoE (the message names the first layer that differs).</exception>
    /// <exception cref="System.IO.InvalidDataException">The checkpoint does not fit the model (all named); nothing is loaded.</exception>
    public static void LoadQwen2Moe(IModel model, string path) => LoadSparse(model, path, SparseFamily.Qwen2Moe);

    /// <summary>Saves <paramref name="model"/>, declared as Qwen2-MoE (see <see cref="LoadQwen2Moe"/>), as a <c>Qwen2MoeForCausalLM</c> checkpoint, as <see cref="SaveMixtral"/> does Mixtral's.</summary>
    /// <exception cref="ArgumentException">The model is not laid out as Qwen2-MoE, or its layers or norms differ from one another.</exception>
    public static void SaveQwen2Moe(IModel model, string folder) => SaveSparse(model, folder, SparseFamily.Qwen2Moe);

    private static void LoadSparse(IModel model, string path, SparseFamily family)
    {
        var (architecture, layout, files, _, problems) = Checked(model, path, family.Owner, a => SparseLayout.Of(a, family), (l, c, p) => l.CheckConfig(c, p));
        Dictionary<string, SafeTensor> tensors = ReadAll(files);
        // each layer's experts as a tensor per expert and projection (the Hub's checkpoints), or as transformers 5's stacks where it has them
        AssignWithHead(model, path, architecture, tensors, layout.Tied, layout.Sources(fused: i => tensors.ContainsKey(SparseLayout.FusedGateUp(i))), problems);
    }

    private static void SaveSparse(IModel model, string folder, SparseFamily family)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        SparseLayout layout = SparseLayout.Of(Architecture(model, family.Owner), family);
        RefuseUnlike(model.Architecture!.Name, family.Name, layout.CheckAlike);
        WriteCheckpoint(folder, SplitIntoTensors(model, layout.Sources()), layout.Config());
    }

    /// <summary>How a decoder's attention normalises its queries and keys: not at all (Mixtral's), across the heads (OLMoE's), each head (Qwen3-MoE's).</summary>
    private enum SparseQueryKeyNorm
    {
        None,
        AcrossHeads,
        PerHead,
    }

    /// <summary>
    /// Which biases a sparse decoder's attention has: none (Mixtral's); all four or none, as <c>attention_bias</c> says (OLMoE's,
    /// Qwen3-MoE's); q, k and v's, as <c>qkv_bias</c> says (true unless it says otherwise), and none on o_proj (Qwen2-MoE's).
    /// </summary>
    private enum SparseBias
    {
        None,
        AttentionBias,
        QueryKeyValue,
    }

    /// <summary>
    /// What a family of sparse decoders (LLaMA's layers, a mixture of experts for the feed-forward) names and defaults: its
    /// configuration's class and keys, the mixture's tensors (<see cref="MoePrefix"/>, the experts' up, gate and down names), its
    /// attention's QK-norm, and the configuration class's defaults.
    /// </summary>
    /// <remarks>
    /// <see cref="Window"/>: the configuration's <c>sliding_window</c> is the attention's (Mixtral's); <see cref="Bias"/>: which
    /// biases the attention has; <see cref="NormalizeKey"/>: its <c>norm_topk_prob</c> says whether the chosen probabilities are
    /// renormalised (else they always are); <see cref="Shared"/>: each mixture has a shared expert and its gate (Qwen2-MoE's
    /// <c>shared_expert</c> and <c>shared_expert_gate</c>, <c>shared_expert_intermediate_size</c> wide); <see cref="DenseLayers"/>: some layers
    /// may be dense, as <c>mlp_only_layers</c> and <c>decoder_sparse_step</c> say (Qwen2-MoE's and Qwen3-MoE's), their MLP
    /// <c>intermediate_size</c> wide.
    /// </remarks>
    private sealed record SparseFamily(string Name, string Loader, string ModelType, string ArchitectureName, string MoePrefix, string Up, string Gate, string Down, string ExpertsKey,
        string UnitsKey, SparseQueryKeyNorm QueryKeyNorm, bool Window, SparseBias Bias, bool NormalizeKey, SparseDefaults Defaults, bool Shared = false, bool DenseLayers = false)
    {
        /// <summary>Mixtral's: block_sparse_moe, w3/w1/w2, always renormalised, a sliding window.</summary>
        public static readonly SparseFamily Mixtral = new("Mixtral", nameof(LoadMixtral), "mixtral", "MixtralForCausalLM", "block_sparse_moe.", "w3", "w1", "w2", "num_local_experts",
            "intermediate_size", SparseQueryKeyNorm.None, Window: true, SparseBias.None, NormalizeKey: false, new(32000, 4096, 14336, 32, 32, 8, null, 1e6, 1e-5, 8, 2));

        /// <summary>OLMoE's: mlp, gate_proj/up_proj/down_proj, QK-norm across the heads, norm_topk_prob.</summary>
        public static readonly SparseFamily Olmoe = new("OLMoE", nameof(LoadOlmoe), "olmoe", "OlmoeForCausalLM", "mlp.", "up_proj", "gate_proj", "down_proj", "num_experts",
            "intermediate_size", SparseQueryKeyNorm.AcrossHeads, Window: false, SparseBias.AttentionBias, NormalizeKey: true, new(50304, 2048, 2048, 16, 16, null, null, 10000, 1e-5, 64, 8));

        /// <summary>Qwen3-MoE's: mlp, gate_proj/up_proj/down_proj, each head's QK-norm, heads of head_dim, norm_topk_prob.</summary>
        public static readonly SparseFamily Qwen3Moe = new("Qwen3-MoE", nameof(LoadQwen3Moe), "qwen3_moe", "Qwen3MoeForCausalLM", "mlp.", "up_proj", "gate_proj", "down_proj", "num_experts",
            "moe_intermediate_size", SparseQueryKeyNorm.PerHead, Window: false, SparseBias.AttentionBias, NormalizeKey: true, new(151936, 2048, 768, 24, 32, 4, null, 10000, 1e-6, 128, 8,
                DenseUnits: 6144), DenseLayers: true);

        /// <summary>Qwen2-MoE's: mlp, gate_proj/up_proj/down_proj, Qwen2's biases on q, k and v, norm_topk_prob, a gated shared expert.</summary>
        public static readonly SparseFamily Qwen2Moe = new("Qwen2-MoE", nameof(LoadQwen2Moe), "qwen2_moe", "Qwen2MoeForCausalLM", "mlp.", "up_proj", "gate_proj", "down_proj", "num_experts",
            "moe_intermediate_size", SparseQueryKeyNorm.None, Window: false, SparseBias.QueryKeyValue, NormalizeKey: true,
            new(151936, 2048, 1408, 24, 16, 16, null, 10000, 1e-6, 60, 4, SharedUnits: 5632, DenseUnits: 5632), Shared: true, DenseLayers: true);

        /// <summary>The family's name for a layout's errors ("Mixtral's").</summary>
        public string Owner => Name + "'s";
    }

    /// <summary>
    /// A sparse family's configuration defaults: vocabulary, width, the experts' units, layers, heads, key/value heads (null: as many as
    /// the heads), head_dim (null: none of its own; Qwen3-MoE's heads are head_dim wide where the configuration gives one, else
    /// hidden_size over the heads, as Qwen3MoeAttention's getattr reads it), rope_theta, rms_norm_eps, experts and experts per token;
    /// the shared expert's units and a dense layer's (intermediate_size), where the family has them.
    /// </summary>
    private sealed record SparseDefaults(int Vocabulary, int Hidden, int Units, int Layers, int Heads, int? KeyValueHeads, int? HeadDim, double RopeTheta, double Epsilon, int Experts, int TopK,
        int SharedUnits = 0, int DenseUnits = 0);

    /// <summary>
    /// A sparse decoder layer's parts: input_layernorm, self_attn, post_attention_layernorm and the mixture of experts (<see cref="Experts"/>),
    /// or, in a dense layer among the sparse ones, LLaMA's feed-forward (<see cref="Mlp"/>: gate_proj and up_proj; <see cref="Down"/>).
    /// </summary>
    private sealed record SparseBlock(RmsNormInfo Input, AttentionInfo Attention, RmsNormInfo Post, MoeInfo? Experts, DenseInfo? Mlp = null, DenseInfo? Down = null)
    {
        public bool Sparse => Experts is not null;
    }

    /// <summary>A model's layers matched to a sparse family's: the token table, the sparse decoder layers, model.norm and lm_head.</summary>
    private sealed record SparseLayout(SparseFamily Family, EmbeddingInfo Embedding, IReadOnlyList<SparseBlock> Blocks, RmsNormInfo Norm, DenseInfo Output)
    {
        public bool Tied => Output.TiedTo is not null;

        public static SparseLayout Of(ModelArchitecture a, SparseFamily family)
        {
            string qk = family.QueryKeyNorm switch
            {
                SparseQueryKeyNorm.AcrossHeads => ", QueryKeyNorm = true, QueryKeyNormAcrossHeads = true",
                SparseQueryKeyNorm.PerHead => ", HeadWidth = head_dim, QueryKeyNorm = true",
                _ => "",
            };
            string bias = family.Bias == SparseBias.QueryKeyValue ? "OutputBias = false" : "Bias = false";
            string attention = $"[Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, {bias}{qk})]{(family.Window ? " (SlidingWindow = sliding_window where it is set)" : "")}";
            string moe = $"[Moe(experts: E, units: I, TopK = k{(family.NormalizeKey ? ", NormalizeTopK = norm_topk_prob" : "")}{(family.Shared ? ", SharedUnits = S, SharedExpertGate = true" : "")})]";
            const string dense = "[Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)]";
            string expected = $"{family.Owner} layout: [Embedding], then per decoder layer [RmsNorm] {attention} [Residual(Layers = 2)] [RmsNorm] {moe} [Residual(Layers = 2)]"
                + (family.DenseLayers ? $" (in a dense layer, {dense})" : "") + ", then [RmsNorm] [Dense(V, Bias = false)] (TieEmbedding = true where tied)";
            var walk = new LayerWalk(a, family.Name, expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            var embedding = walk.At<EmbeddingInfo>(0, "the token table (embed_tokens: an [Embedding], unscaled)", e => e.Scale == 1f);
            int at = 1;
            var blocks = new List<SparseBlock>();
            while (at + 5 < l.Count && l[at] is RmsNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = blocks.Count, start = at;
                var input = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([RmsNorm])", _ => true);
                string biases = family.Bias switch
                {
                    SparseBias.AttentionBias => "; attention_bias: Bias = true, on the output too",
                    SparseBias.QueryKeyValue => "; qkv_bias false: Bias = false",
                    _ => "",
                };
                var self = walk.At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ({attention}, the whole head turned{biases})",
                    x => AttentionFits(x, family), olmo: family.QueryKeyNorm == SparseQueryKeyNorm.AcrossHeads);
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention ([Residual(Layers = 2)])", r => r.From == start - 1);
                int residual = at - 1;
                var post = walk.At<RmsNormInfo>(at++, $"decoder layer {n}'s post_attention_layernorm ([RmsNorm])", _ => true);
                if (family.DenseLayers && l[at] is DenseInfo)
                {
                    var (mlp, down) = walk.GatedFeedForward(ref at, n, embedding.Dim);
                    walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around its dense feed-forward ([Residual(Layers = 3)])", r => r.From == residual);
                    blocks.Add(new SparseBlock(input, self, post, null, mlp, down));
                    continue;
                }
                var experts = walk.At<MoeInfo>(at++, $"decoder layer {n}'s {family.MoePrefix.TrimEnd('.')} ({moe}: gated experts without biases{(family.NormalizeKey ? "" : ", NormalizeTopK")}{(family.Shared ? "" : ", no shared expert")})",
                    m => m is { Gated: true, Bias: false } && m.Activation != Activation.None && (family.NormalizeKey || m.NormalizeTopK)
                        && (family.Shared ? m is { SharedUnits: > 0, SharedExpertGate: true } : m.SharedUnits == 0));
                walk.At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the mixture of experts ([Residual(Layers = 2)])", r => r.From == residual);
                blocks.Add(new SparseBlock(input, self, post, experts));
            }
            if (blocks.Count == 0) throw walk.Differs(at, $"decoder layer 0's input_layernorm ([RmsNorm]) and self_attn ({attention})");
            var norm = walk.At<RmsNormInfo>(at++, "the last norm (model.norm: [RmsNorm])", _ => true);
            if (!blocks.Any(b => b.Sparse))
                throw new ArgumentException($"{a.Name} is not laid out as {family.Name}: none of its {blocks.Count} decoder layers has a mixture of experts ({moe}); {family.Loader} reads checkpoints with one in a layer at least");
            var output = walk.At<DenseInfo>(at++, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, Bias = false)], or TieEmbedding = true)",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f, Bias: false } && d.Units == embedding.Vocabulary);
            if (at < l.Count) throw walk.Differs(at, $"nothing ({family.Name} ends with its output layer)");
            return new SparseLayout(family, embedding, blocks, norm, output);
        }

        /// <summary>A causal rotary self-attention turning whole heads, its biases all there or none (Mixtral's none), with the family's QK-norm and window.</summary>
        private static bool AttentionFits(AttentionInfo x, SparseFamily family)
        {
            bool biases = family.Bias switch
            {
                SparseBias.AttentionBias => x.OutputBias == x.Bias,
                SparseBias.QueryKeyValue => !x.OutputBias,
                _ => x is { Bias: false, OutputBias: false },
            };
            bool norms = family.QueryKeyNorm switch
            {
                SparseQueryKeyNorm.AcrossHeads => x is { QueryKeyNorm: true, QueryKeyNormAcrossHeads: true, ClipQkv: 0f },
                SparseQueryKeyNorm.PerHead => x is { QueryKeyNorm: true, QueryKeyNormAcrossHeads: false },
                _ => !x.QueryKeyNorm,
            };
            AttentionInfo plain = x with { SlidingWindow = family.Window ? 0 : x.SlidingWindow, QueryKeyNorm = false, QueryKeyNormAcrossHeads = false,
                HeadWidth = family.QueryKeyNorm == SparseQueryKeyNorm.PerHead ? 0 : x.HeadWidth };
            return biases && norms && x.RotaryDimensions == 0 && IsPlainRotaryCausal(plain);
        }

        /// <summary>Layer <paramref name="i"/>'s experts' gate and up rows in transformers 5's fused layout, [E, 2I, D], each expert's gate rows first.</summary>
        public static string FusedGateUp(int i) => $"model.layers.{i}.mlp.experts.gate_up_proj";

        /// <summary>
        /// Each parameter's tensors in the checkpoint: q_proj, k_proj and v_proj stacked (and the QK-norms); each expert's up then gate
        /// rows in its block of weight_in, down in weight_out's — from a tensor per expert and projection, or in the layers
        /// <paramref name="fused"/> says from transformers 5's stacks (<c>mlp.gate</c>, <c>mlp.experts.gate_up_proj</c> [E, 2I, D] and <c>mlp.experts.down_proj</c>
        /// [E, D, I]: its checkpoint conversion's MergeModulelist and Concatenate of gate then up).
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources(Func<int, bool>? fused = null)
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(LlamaLayout.Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Blocks.Count; i++)
            {
                SparseBlock b = Blocks[i];
                string hf = $"model.layers.{i}.";
                s[b.Input.Name + ".weight"] = [(hf + "input_layernorm.weight", width)];
                AddSplitAttention(s, b.Attention, hf + "self_attn.", "o_proj");
                if (b.Attention.QueryKeyNorm)
                {
                    bool across = b.Attention.QueryKeyNormAcrossHeads;
                    s[b.Attention.Name + ".q_norm.weight"] = [(hf + "self_attn.q_norm.weight", across ? b.Attention.QueryWidth : b.Attention.HeadSize)];
                    s[b.Attention.Name + ".k_norm.weight"] = [(hf + "self_attn.k_norm.weight", across ? b.Attention.KeyValueWidth : b.Attention.HeadSize)];
                }
                s[b.Post.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                if (b.Experts is not { } m) AddGatedFeedForward(s, b.Mlp!, b.Down!, hf);
                else if (fused?.Invoke(i) == true) AddFusedExperts(s, m, hf + "mlp.gate.weight", hf + "mlp.experts.gate_up_proj", hf + "mlp.experts.down_proj");
                else AddExperts(s, m, hf + Family.MoePrefix, "gate", Family.Up, Family.Gate, Family.Down);
                if (Family.Shared && b.Experts is { } shared) AddSharedExpert(s, shared, hf + Family.MoePrefix, Family.Up, Family.Gate, Family.Down);
            }
            s[Norm.Name + ".weight"] = [("model.norm.weight", width)];
            if (!Tied) s[Output.Name + ".weight"] = [(LlamaLayout.Head, Output.Units)];
            return s;
        }

        private IEnumerable<RmsNormInfo> Norms() => Blocks.SelectMany(b => new[] { b.Input, b.Post }).Append(Norm);

        /// <summary>The first sparse layer's mixture: what the configuration's keys of the experts describe.</summary>
        private MoeInfo Mixture => Blocks.First(b => b.Sparse).Experts!;

        /// <summary>The first dense layer's gate and up projections, where the model has dense layers among the sparse ones.</summary>
        private DenseInfo? DenseMlp => Blocks.FirstOrDefault(b => !b.Sparse)?.Mlp;

        /// <summary>
        /// What one configuration cannot say: layers unlike the first (heads, rotation, window, QK-norm, experts; dense layers of other
        /// widths, or another activation than the experts' hidden_act), norms of another ε.
        /// </summary>
        public void CheckAlike(List<string> problems)
        {
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            string name = Family.Name;
            foreach (SparseBlock b in Blocks.Skip(1).Where(b => b.Attention with { Name = a.Name } != a).Take(1))
                problems.Add($"'{b.Attention.Name}' differs from '{a.Name}': {name}'s layers are alike (one num_attention_heads, num_key_value_heads{(Family.Defaults.HeadDim is null ? "" : ", head_dim")}, rope_theta{Family.Bias switch { SparseBias.AttentionBias => " and attention_bias", SparseBias.QueryKeyValue => " and qkv_bias", _ => "" }}{(Family.Window ? " and sliding_window" : "")})");
            MoeInfo m = Mixture;
            MixturesAlike(Blocks.Where(b => b.Sparse).Select(b => b.Experts!), name,
                $"{Family.ExpertsKey}, {Family.UnitsKey}, num_experts_per_tok{(Family.NormalizeKey ? ", norm_topk_prob" : "")}{(Family.Shared ? ", shared_expert_intermediate_size" : "")}", problems);
            if (DenseMlp is { } dense)
            {
                foreach (DenseInfo d in Blocks.Where(b => !b.Sparse).Select(b => b.Mlp!).Where(d => d.Units != dense.Units).Take(1))
                    problems.Add($"'{d.Name}' has {d.Units} units and '{dense.Name}' {dense.Units}: {name}'s dense layers are alike (one intermediate_size)");
                foreach (DenseInfo d in Blocks.Where(b => !b.Sparse).Select(b => b.Mlp!).Where(d => d.Activation != m.Activation).Take(1))
                    problems.Add($"'{d.Name}' takes {d.Activation} and '{m.Name}' {m.Activation}: {name}'s dense layers and experts share hidden_act");
            }
            RmsNormsShareEpsilon(Norms(), first.Input, a, name, problems);
            RequireNamedActivation(m.Name, m.Activation, problems);
        }

        /// <summary>The configuration's key for the count of experts: the family's, or num_local_experts where transformers 5 wrote that (its attribute_map's name for Qwen3-MoE's and OLMoE's).</summary>
        private string ExpertsKey(JsonElement c) => Value(c, Family.ExpertsKey) is null && Value(c, "num_local_experts") is not null ? "num_local_experts" : Family.ExpertsKey;

        /// <summary>
        /// Which layers the configuration makes sparse — layer i unless it is in <c>mlp_only_layers</c>, i + 1 is not a multiple of
        /// <c>decoder_sparse_step</c> or there are no experts (Qwen2MoeDecoderLayer's and Qwen3MoeDecoderLayer's choice) — against
        /// the model's; each layer that differs named. Keys of another type are named instead.
        /// </summary>
        private void CheckSparseLayers(JsonElement c, List<string> problems)
        {
            int step = 1;
            if (Value(c, "decoder_sparse_step") is { } given && !(given.ValueKind == JsonValueKind.Number && given.TryGetInt32(out step) && step > 0))
            {
                problems.Add($"decoder_sparse_step is {given.GetRawText()}: expected a positive whole number (1: every layer sparse)");
                return;
            }
            var dense = new HashSet<int>();
            if (Value(c, "mlp_only_layers") is { } only)
            {
                if (only.ValueKind != JsonValueKind.Array || only.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out _)))
                {
                    problems.Add($"mlp_only_layers is {only.GetRawText()}: expected a list of layer indices");
                    return;
                }
                dense.UnionWith(only.EnumerateArray().Select(x => x.GetInt32()));
            }
            // (no experts at all: every layer dense, whatever the other keys say)
            string expertsKey = ExpertsKey(c);
            bool none = Value(c, expertsKey) is { ValueKind: JsonValueKind.Number } experts && experts.TryGetInt32(out int count) && count == 0;
            string rule = none ? $"{expertsKey} 0" : $"mlp_only_layers [{string.Join(", ", dense.Order())}], decoder_sparse_step {step}";
            for (int i = 0; i < Blocks.Count; i++)
            {
                bool sparse = !none && !dense.Contains(i) && (i + 1) % step == 0;
                SparseBlock b = Blocks[i];
                if (sparse && !b.Sparse)
                    problems.Add($"decoder layer {i} is sparse in the checkpoint ({rule}), the model declares a dense feed-forward there ('{b.Mlp!.Name}'): declare its [Moe]");
                else if (!sparse && b.Sparse)
                    problems.Add($"decoder layer {i} is dense in the checkpoint ({rule}), the model declares a mixture of experts there ('{b.Experts!.Name}'): declare LLaMA's feed-forward in its place");
            }
        }

        /// <summary>What config.json says against what the model declares (the family's configuration class's defaults for what it leaves out); each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (!ReadsModelType(c, problems, t => t == Family.ModelType, $"{Family.Loader} reads {Family.Owner} checkpoints (\"{Family.ModelType}\")")) return;
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            MoeInfo m = Mixture;
            SparseDefaults d = Family.Defaults;
            ConfigInt(c, problems, "vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'", d.Vocabulary);
            ConfigInt(c, problems, "hidden_size", Embedding.Dim, $"'{Embedding.Name}'", d.Hidden);
            ConfigInt(c, problems, Family.UnitsKey, m.Units, $"'{m.Name}' units", d.Units);
            ConfigInt(c, problems, "num_hidden_layers", Blocks.Count, "its decoder layers", d.Layers);
            ConfigInt(c, problems, "num_attention_heads", a.Heads, $"'{a.Name}'", d.Heads);
            // (absent: the class's default; null: as many as num_attention_heads, as the classes read None)
            int heads = Value(c, "num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int given) ? given : d.Heads;
            ConfigInt(c, problems, "num_key_value_heads", a.KeyValueHeadCount, $"'{a.Name}' KeyValueHeads", c.TryGetProperty("num_key_value_heads", out _) ? heads : d.KeyValueHeads ?? heads);
            if (Family.QueryKeyNorm == SparseQueryKeyNorm.PerHead)
                ConfigInt(c, problems, "head_dim", a.HeadSize, $"'{a.Name}' {(a.HeadWidth > 0 ? "HeadWidth" : "(hidden_size / num_attention_heads: declare HeadWidth for heads of their own width)")}",
                    d.HeadDim ?? (a.Heads > 0 ? Embedding.Dim / a.Heads : null));
            else if (Value(c, "head_dim") is not null)
                ConfigInt(c, problems, "head_dim", a.HeadSize, $"'{a.Name}' (hidden_size / num_attention_heads: {Family.Name}'s heads are not of their own width here)");
            ConfigInt(c, problems, ExpertsKey(c), m.Experts, $"'{m.Name}' experts", d.Experts);
            ConfigInt(c, problems, "num_experts_per_tok", m.TopK, $"'{m.Name}' TopK", d.TopK);
            if (Family.Shared) ConfigInt(c, problems, "shared_expert_intermediate_size", m.SharedUnits, $"'{m.Name}' SharedUnits", d.SharedUnits);
            if (Family.NormalizeKey)
                ConfigFlag(c, problems, "norm_topk_prob", [m], x => x.NormalizeTopK, x => $"'{x.Name}'{(x.NormalizeTopK ? " (NormalizeTopK = true)" : " (NormalizeTopK = false)")}");
            CheckAlike(problems);
            CheckGatedActivation(c, m.Name, m.Activation, problems);
            ConfigFloat(c, problems, "rms_norm_eps", first.Input.Epsilon, $"'{first.Input.Name}' Epsilon", d.Epsilon);
            CheckPartialRotation(c, problems, a, Family.Name, "partial_rotary_factor", 1.0, "rope_theta", defaultBase: d.RopeTheta);
            if (Family.Window)
            {
                int window = c.TryGetProperty("sliding_window", out _) ? ConfiguredWindow(c, problems) : 0;
                if (window >= 0 && window != a.SlidingWindow)
                    problems.Add(window == 0 ? $"sliding_window is unset: the attention reads every earlier step, but '{a.Name}' declares SlidingWindow = {a.SlidingWindow}"
                        : $"sliding_window is {window}, the model declares {(a.SlidingWindow == 0 ? "no window" : a.SlidingWindow.ToString(System.Globalization.CultureInfo.InvariantCulture))} ('{a.Name}' SlidingWindow)");
            }
            if (Family.Bias == SparseBias.AttentionBias) ConfigFlag(c, problems, "attention_bias", Blocks.Select(b => b.Attention), x => x.Bias, x => BiasOf(x.Name, x.Bias));
            if (Family.Bias == SparseBias.QueryKeyValue)
                ConfigFlag(c, problems, "qkv_bias", Blocks.Select(b => b.Attention), x => x.Bias, x => $"'{x.Name}' with{(x.Bias ? "" : "out")} biases on q, k and v (Bias = {(x.Bias ? "true" : "false")})", fallback: true);
            if (Value(c, "clip_qkv") is { } clip)
                problems.Add($"clip_qkv is {clip.GetRawText()}: {Family.Name} clamps its queries, keys and values after their norms, which ClipQkv (before them) does not do");
            if (Value(c, "use_sliding_window") is { ValueKind: JsonValueKind.True })
                problems.Add($"use_sliding_window is true: {Family.Owner} sliding layers are not laid out here");
            if (Family.DenseLayers)
            {
                CheckSparseLayers(c, problems);
                if (DenseMlp is { } dense) ConfigInt(c, problems, "intermediate_size", dense.Units, $"'{dense.Name}' units", d.DenseUnits);
            }
            ConfigFlag(c, problems, "tie_word_embeddings", [Output], x => x.TiedTo is not null,
                x => x.TiedTo is not null ? $"'{x.Name}' tied to the embedding (TieEmbedding = true)" : $"'{x.Name}' with its own weights (declare TieEmbedding = true to tie it)");
        }

        /// <summary>The config.json of this layout, as the family's configuration class writes its fields.</summary>
        public byte[] Config()
        {
            SparseBlock first = Blocks[0];
            AttentionInfo a = first.Attention;
            MoeInfo m = Mixture;
            return ConfigJson(w =>
            {
                WriteArchitecture(w, Family.ArchitectureName, null);
                w.WriteString("model_type", Family.ModelType);
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber(Family.UnitsKey, m.Units);
                w.WriteNumber("num_hidden_layers", Blocks.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeadCount);
                if (Family.QueryKeyNorm == SparseQueryKeyNorm.PerHead) w.WriteNumber("head_dim", a.HeadSize);
                w.WriteString("hidden_act", ActivationName(m.Activation));
                w.WriteNumber(Family.ExpertsKey, m.Experts);
                w.WriteNumber("num_experts_per_tok", m.TopK);
                if (Family.NormalizeKey) w.WriteBoolean("norm_topk_prob", m.NormalizeTopK);
                if (Family.Shared) w.WriteNumber("shared_expert_intermediate_size", m.SharedUnits);
                if (Family.DenseLayers)
                {
                    // (every layer's kind said by the list of dense ones, whatever its pattern)
                    w.WriteNumber("decoder_sparse_step", 1);
                    w.WriteStartArray("mlp_only_layers");
                    for (int i = 0; i < Blocks.Count; i++)
                        if (!Blocks[i].Sparse) w.WriteNumberValue(i);
                    w.WriteEndArray();
                    if (DenseMlp is { } dense) w.WriteNumber("intermediate_size", dense.Units);
                }
                WriteRouterLoss(w, m);
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(first.Input.Epsilon));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                w.WriteNull("rope_scaling");
                if (Family.Window)
                {
                    if (a.SlidingWindow > 0) w.WriteNumber("sliding_window", a.SlidingWindow);
                    else w.WriteNull("sliding_window");
                }
                if (Family.Bias == SparseBias.AttentionBias) w.WriteBoolean("attention_bias", a.Bias);
                if (Family.Bias == SparseBias.QueryKeyValue) w.WriteBoolean("qkv_bias", a.Bias);
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }
    }

    /// <summary>
    /// A mixture of experts' tensors under <paramref name="prefix"/> (<c>model.layers.{i}.block_sparse_moe.</c>, <c>….mlp.</c>): the router
    /// (<paramref name="router"/>.weight), then per expert e its <paramref name="up"/> rows then its <paramref name="gate"/> rows in block e of
    /// <c>weight_in</c> (the value's first, as a gated Dense holds them) and its <paramref name="down"/> rows in block e of <c>weight_out</c>.
    /// </summary>
    private static void AddExperts(Dictionary<string, ParameterSet.TensorRows[]> sources, MoeInfo m, string prefix, string router, string up, string gate, string down)
    {
        sources[m.Name + ".router"] = [(prefix + router + ".weight", m.Experts)];
        sources[m.Name + ".weight_in"] = Enumerable.Range(0, m.Experts)
            .SelectMany(e => new ParameterSet.TensorRows[] { new($"{prefix}experts.{e}.{up}.weight", m.Units, 0, m.Units, Blocks: true), new($"{prefix}experts.{e}.{gate}.weight", m.Units, 0, m.Units, Blocks: true) })
            .ToArray();
        sources[m.Name + ".weight_out"] = Enumerable.Range(0, m.Experts).Select(e => new ParameterSet.TensorRows($"{prefix}experts.{e}.{down}.weight", m.Width, 0, m.Width, Blocks: true)).ToArray();
    }

    /// <summary>
    /// A mixture of experts' tensors as stacks (transformers 5's fused layout, <c>model.layers.{i}.mlp.</c>'s <c>gate.weight</c>,
    /// <c>experts.gate_up_proj</c> and <c>experts.down_proj</c>; Granite MoE's <c>block_sparse_moe.</c> <c>router.layer.weight</c>,
    /// <c>input_linear.weight</c> and <c>output_linear.weight</c>): the <paramref name="router"/>, <paramref name="gateUp"/> [E, 2I, D]
    /// (each expert's gate rows, then its up rows) read as expert e's up then gate rows into block e of <c>weight_in</c>, and
    /// <paramref name="down"/> [E, D, I] as <c>weight_out</c>.
    /// </summary>
    private static void AddFusedExperts(Dictionary<string, ParameterSet.TensorRows[]> sources, MoeInfo m, string router, string gateUp, string down)
    {
        int e = m.Experts, u = m.Units;
        sources[m.Name + ".router"] = [(router, e)];
        sources[m.Name + ".weight_in"] = Enumerable.Range(0, e)
            .SelectMany(x => new ParameterSet.TensorRows[] { new(gateUp, u, x * 2 * u + u, e * 2 * u, Blocks: true, Stack: e), new(gateUp, u, x * 2 * u, e * 2 * u, Blocks: true, Stack: e) })
            .ToArray();
        sources[m.Name + ".weight_out"] = [new(down, e * m.Width, 0, e * m.Width, Blocks: true, Stack: e)];
    }

    /// <summary>
    /// The first of <paramref name="mixtures"/> unlike the first one (its experts, units, routing or shared expert; the load-balancing
    /// coefficient aside, which no configuration of these families carries per layer): one configuration's <paramref name="keys"/> and
    /// hidden_act describe them all.
    /// </summary>
    private static void MixturesAlike(IEnumerable<MoeInfo> mixtures, string family, string keys, List<string> problems)
    {
        MoeInfo? first = null;
        foreach (MoeInfo m in mixtures)
        {
            first ??= m;
            if (m with { Name = first.Name, LoadBalancingLoss = first.LoadBalancingLoss } == first) continue;
            problems.Add($"'{m.Name}' differs from '{first.Name}': {family}'s layers are alike (one {keys} and hidden_act)");
            return;
        }
    }

    /// <summary>
    /// A mixture's configuration keys for the load-balancing loss: a model that learns with it (<see cref="MoeInfo.LoadBalancingLoss"/>)
    /// says so, transformers adding it with <c>output_router_logits</c> at <c>router_aux_loss_coef</c> (else its classes' default, 0.001).
    /// </summary>
    private static void WriteRouterLoss(System.Text.Json.Utf8JsonWriter w, MoeInfo m)
    {
        w.WriteBoolean("output_router_logits", m.LoadBalancingLoss > 0f);
        w.WritePropertyName("router_aux_loss_coef");
        w.WriteRawValue(JsonFloat(m.LoadBalancingLoss > 0f ? m.LoadBalancingLoss : 0.001f));
    }

    /// <summary>
    /// A mixture's shared expert under <paramref name="prefix"/> (Qwen2-MoE's <c>model.layers.{i}.mlp.</c>): <c>shared_expert.</c> its
    /// <paramref name="up"/> rows then its <paramref name="gate"/> rows in <c>shared_in</c>, its <paramref name="down"/> rows in
    /// <c>shared_out</c>, and <c>shared_expert_gate</c>'s one row in <c>shared_gate</c>.
    /// </summary>
    private static void AddSharedExpert(Dictionary<string, ParameterSet.TensorRows[]> sources, MoeInfo m, string prefix, string up, string gate, string down)
    {
        string shared = prefix + "shared_expert.";
        sources[m.Name + ".shared_in"] = [(shared + up + ".weight", m.SharedUnits), (shared + gate + ".weight", m.SharedUnits)];
        sources[m.Name + ".shared_out"] = [(shared + down + ".weight", m.Width)];
        if (m.SharedExpertGate) sources[m.Name + ".shared_gate"] = [(prefix + "shared_expert_gate.weight", 1)];
    }
}
