using System;

namespace Dsl
{
    /// <summary>
    /// Base of every layer attribute. The layer attributes on a partial class, in source order,
    /// are the model's layer stack; the source generator turns them into code.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public abstract class LayerAttribute : Attribute
    {
        /// <summary>
        /// The layer's name, the prefix of its parameters' names (<c>lstm.weight_ih_l0</c>).
        /// Defaults to the kind in lower case, then <c>lstm_1</c>, <c>lstm_2</c>… for repeats.
        /// </summary>
        public string? Name { get; set; }
    }

    /// <summary>Base of the recurrent layers: <see cref="RnnAttribute"/>, <see cref="LstmAttribute"/>, <see cref="GruAttribute"/>.</summary>
    public abstract class RecurrentAttribute : LayerAttribute
    {
        /// <summary>Creates a recurrent layer with <paramref name="hidden"/> units per direction.</summary>
        protected RecurrentAttribute(int hidden) => Hidden = hidden;

        /// <summary>Hidden units per direction (PyTorch <c>hidden_size</c>).</summary>
        public int Hidden { get; }

        /// <summary>Stacked layers inside this one (PyTorch <c>num_layers</c>). Default 1.</summary>
        public int Layers { get; set; } = 1;

        /// <summary>Runs a second direction backwards in time and concatenates both: output width 2 × hidden.</summary>
        public bool Bidirectional { get; set; }

        /// <summary>Dropout probability between stacked layers, in training only (PyTorch <c>dropout</c>). Default 0.</summary>
        public float Dropout { get; set; }

        /// <summary>
        /// True (default): the output is the whole sequence, [batch, steps, width].
        /// False: many-to-one, the last step only, [batch, width] (bidirectional: forward last step, backward first).
        /// </summary>
        public bool ReturnSequences { get; set; } = true;

        /// <summary>
        /// Variational (recurrent) dropout, Gal and Ghahramani (2016): in training, the recurrent input h(t−1) of every
        /// step is multiplied by one dropout mask per sequence, the same at every step (Keras' <c>recurrent_dropout</c>).
        /// Default 0.
        /// </summary>
        public float RecurrentDropout { get; set; }

        /// <summary>
        /// Learns each direction's initial state (parameters <c>h0_l0</c>, and <c>c0_l0</c> for an LSTM, [hidden], zeros at
        /// first) instead of starting from zeros. A carried <c>State</c>, when given, still takes precedence.
        /// </summary>
        public bool LearnInitialState { get; set; }

        /// <summary>Initialiser of the input weights <c>weight_ih</c>. Default Xavier uniform (He uniform for a ReLU RNN).</summary>
        public Init WeightInit { get; set; }

        /// <summary>Initialiser of the recurrent weights <c>weight_hh</c>. Default orthogonal.</summary>
        public Init RecurrentInit { get; set; }
    }

    /// <summary>
    /// A float input of <c>features</c> values per step: the model takes
    /// [batch, steps, features]. Must be the first layer.
    /// </summary>
    public sealed class InputAttribute : LayerAttribute
    {
        /// <summary>Declares a float input with <paramref name="features"/> values per step.</summary>
        public InputAttribute(int features) => Features = features;

        /// <summary>Values per step.</summary>
        public int Features { get; }
    }

    /// <summary>
    /// Token ids [batch, steps] looked up in a [vocab, dim] table (PyTorch <c>nn.Embedding</c>).
    /// Must be the first layer. Parameter: <c>embedding.weight</c> [vocab, dim].
    /// </summary>
    public sealed class EmbeddingAttribute : LayerAttribute
    {
        /// <summary>Declares an embedding of <paramref name="vocab"/> tokens into <paramref name="dim"/> values.</summary>
        public EmbeddingAttribute(int vocab, int dim)
        {
            Vocab = vocab;
            Dim = dim;
        }

        /// <summary>Number of token ids; valid ids are 0 … vocab − 1.</summary>
        public int Vocab { get; }

        /// <summary>Width of each embedding vector.</summary>
        public int Dim { get; }

        /// <summary>Initialiser of <c>embedding.weight</c>. Default N(0, 1), as PyTorch.</summary>
        public Init WeightInit { get; set; }

        /// <summary>
        /// The vectors are the table's rows times √dim (Vaswani et al. 2017, §3.4: "we multiply those weights by √d_model";
        /// the <c>TokenEmbedding</c> of PyTorch's translation tutorial, fairseq's and Hugging Face's <c>scale_embedding</c>),
        /// so that they stand as large as the positional encoding added to them. An output layer tied to the table
        /// (<c>TieEmbedding</c>) reads it unscaled. Default false.
        /// </summary>
        public bool ScaleBySqrtDim { get; set; }
    }

    /// <summary>
    /// Elman RNN, h' = act(W_ih x + b_ih + W_hh h + b_hh) (PyTorch <c>nn.RNN</c>), tanh by default.
    /// Parameters <c>rnn.weight_ih_l0</c> [H, X], <c>rnn.weight_hh_l0</c> [H, H], <c>rnn.bias_ih_l0</c>, <c>rnn.bias_hh_l0</c>.
    /// </summary>
    public sealed class RnnAttribute : RecurrentAttribute
    {
        /// <summary>Declares an Elman RNN with <paramref name="hidden"/> units.</summary>
        public RnnAttribute(int hidden) : base(hidden) { }

        /// <summary><see cref="Dsl.Activation.Tanh"/> (default) or <see cref="Dsl.Activation.Relu"/>.</summary>
        public Activation Activation { get; set; } = Activation.Tanh;
    }

    /// <summary>
    /// LSTM with gates in PyTorch's order i, f, g, o (PyTorch <c>nn.LSTM</c>).
    /// Parameters <c>lstm.weight_ih_l0</c> [4H, X], <c>lstm.weight_hh_l0</c> [4H, H], <c>lstm.bias_ih_l0</c>, <c>lstm.bias_hh_l0</c> [4H].
    /// </summary>
    public sealed class LstmAttribute : RecurrentAttribute
    {
        /// <summary>Declares an LSTM with <paramref name="hidden"/> units.</summary>
        public LstmAttribute(int hidden) : base(hidden) { }

        /// <summary>Initial value of the forget-gate bias (in <c>bias_ih</c>; Jozefowicz et al. 2015). Default 1.</summary>
        public float ForgetBias { get; set; } = 1f;

        /// <summary>
        /// Width P of a projection of the hidden state (PyTorch's <c>proj_size</c>; Sak et al. 2014): h = (o ⊙ tanh(c)) · W_hrᵀ,
        /// so the output, the recurrent input and the carried h are P wide (c stays H wide). Must be smaller than hidden.
        /// Adds <c>lstm.weight_hr_l0</c> [P, H]; <c>weight_hh_l0</c> becomes [4H, P]. Default 0: no projection.
        /// </summary>
        public int Projection { get; set; }
    }

    /// <summary>
    /// GRU with gates in PyTorch's order r, z, n (PyTorch <c>nn.GRU</c>), h' = (1 − z) n + z h.
    /// Parameters <c>gru.weight_ih_l0</c> [3H, X], <c>gru.weight_hh_l0</c> [3H, H], <c>gru.bias_ih_l0</c>, <c>gru.bias_hh_l0</c> [3H].
    /// </summary>
    public sealed class GruAttribute : RecurrentAttribute
    {
        /// <summary>Declares a GRU with <paramref name="hidden"/> units.</summary>
        public GruAttribute(int hidden) : base(hidden) { }

        /// <summary>
        /// True (default, PyTorch and cuDNN): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
        /// False (Cho et al. 2014): n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), the reset applied before the product.
        /// </summary>
        public bool ResetAfter { get; set; } = true;
    }

    /// <summary>
    /// Affine map y = x Wᵀ + b with an optional activation (PyTorch <c>nn.Linear</c>), applied to every step
    /// of a sequence or to a vector. Parameters <c>dense.weight</c> [units, in], <c>dense.bias</c> [units].
    /// </summary>
    public sealed class DenseAttribute : LayerAttribute
    {
        /// <summary>Declares a dense layer with <paramref name="units"/> outputs.</summary>
        public DenseAttribute(int units) => Units = units;

        /// <summary>Output width.</summary>
        public int Units { get; }

        /// <summary>Activation after the affine map. Default none (logits).</summary>
        public Activation Activation { get; set; }

        /// <summary>Initialiser of <c>weight</c>. Default Xavier uniform (He uniform for ReLU).</summary>
        public Init WeightInit { get; set; }

        /// <summary>
        /// Weight tying (Press and Wolf 2017; Inan et al. 2017): the weight is the model's <c>[Embedding]</c> table [vocab, dim]
        /// rather than a matrix of its own, as PyTorch's <c>decoder.weight = encoder.weight</c>, so <c>units</c> must be the
        /// vocabulary and the layer's input as wide as the embedding (DSL1010). The table learns from both uses (their
        /// gradients add); the layer keeps its own <c>bias</c>. The state_dict lists the table once, under the embedding's name;
        /// <c>ParameterSet</c> also answers to <c>dense.weight</c> (<c>ParameterSet.Tied</c>). <see cref="WeightInit"/> then applies to
        /// nothing but the bias (<see cref="Init.PyTorch"/> draws it as nn.Linear's; any other is refused). Default false.
        /// </summary>
        public bool TieEmbedding { get; set; }

        /// <summary>
        /// A gated linear unit (Dauphin et al. 2017; Shazeer 2020, "GLU Variants Improve Transformer"): the affine map is 2 × units
        /// wide, its first half the value and its second the gate, and the output value ⊙ act(gate), units wide. With
        /// <see cref="Activation"/> Sigmoid it is PyTorch's <c>F.glu</c>; Relu: ReGLU; Gelu: GEGLU; Silu: SwiGLU, LLaMA's feed-forward
        /// (its <c>up_proj</c> the value rows and <c>gate_proj</c> the gate rows: <c>dense.weight = cat([up_proj.weight,
        /// gate_proj.weight])</c>); None: the bilinear form. Parameters <c>dense.weight</c> [2 × units, in] and <c>dense.bias</c>
        /// [2 × units]. Not with <see cref="TieEmbedding"/>. Default false.
        /// </summary>
        public bool Gated { get; set; }

        /// <summary>
        /// Whether the layer adds a bias <c>dense.bias</c> (default true); false: y = act(x Wᵀ), PyTorch's
        /// <c>nn.Linear(…, bias=False)</c> and Keras's <c>use_bias=False</c> (GPT-2's output layer, tied to its embedding, has none).
        /// </summary>
        public bool Bias { get; set; } = true;

        /// <summary>
        /// Soft-capping of the outputs (Gemma 2's <c>final_logit_softcapping</c>, 30, on its logits): y = SoftCap · tanh(y / SoftCap)
        /// after the affine map, so no output passes ±SoftCap. Without an <see cref="Activation"/>, not <see cref="Gated"/>. Default 0: none.
        /// </summary>
        public float SoftCap { get; set; }
    }

    /// <summary>
    /// A sparse mixture of expert feed-forward networks (Shazeer et al. 2017; Switch Transformer, Fedus et al. 2021; Mixtral,
    /// OLMoE, Qwen-MoE): a router (a linear map without bias, <c>moe.router</c> [experts, in]) scores each row, a softmax over the
    /// experts turns the scores into probabilities, and each row goes to its <see cref="TopK"/> most probable experts; the output
    /// is the sum of those experts' outputs weighted by their probabilities (renormalised over the chosen ones with
    /// <see cref="NormalizeTopK"/>, Mixtral's). Each expert is a feed-forward network in → <c>units</c> → in, as
    /// <c>[Dense(units, Activation, Gated)] [Dense(in)]</c>: the input and output widths are equal (a Transformer block's
    /// feed-forward, added back by a <c>[Residual]</c>). Only the chosen experts run for a row; the gradient reaches the router
    /// through the weights of the chosen experts (the choice itself has none). Parameters: <c>moe.router</c> [experts, in],
    /// <c>moe.weight_in</c> [experts, units, in] (gated: [experts, 2 × units, in], each expert's value rows then its gate rows,
    /// as a gated <c>[Dense]</c>'s), <c>moe.weight_out</c> [experts, in, units], and with <see cref="Bias"/> <c>moe.bias_in</c>
    /// [experts, units] (gated 2 × units) and <c>moe.bias_out</c> [experts, in]. With <see cref="SharedUnits"/>, a shared expert
    /// that every row goes through besides (Qwen2-MoE's, DeepSeekMoE's): <c>moe.shared_in</c> [(2 ×) shared units, in],
    /// <c>moe.shared_out</c> [in, shared units] (with <see cref="Bias"/> <c>moe.shared_bias_in</c> and <c>moe.shared_bias_out</c>),
    /// and with <see cref="SharedExpertGate"/> <c>moe.shared_gate</c> [1, in].
    /// </summary>
    public sealed class MoeAttribute : LayerAttribute
    {
        /// <summary>Declares <paramref name="experts"/> experts (at least 1), each a feed-forward network <paramref name="units"/> wide inside.</summary>
        public MoeAttribute(int experts, int units)
        {
            Experts = experts;
            Units = units;
        }

        /// <summary>How many experts the router chooses from (HuggingFace's <c>num_local_experts</c>, <c>num_experts</c>).</summary>
        public int Experts { get; }

        /// <summary>The width inside each expert (HuggingFace's <c>intermediate_size</c>, <c>moe_intermediate_size</c>).</summary>
        public int Units { get; }

        /// <summary>How many experts each row goes to, 1 to <see cref="Experts"/> (<c>num_experts_per_tok</c>). Default 2 (Mixtral's; the Switch Transformer's is 1).</summary>
        public int TopK { get; set; } = 2;

        /// <summary>
        /// Whether the chosen experts' probabilities are divided by their sum, so that a row's weights add to 1 (Mixtral's, Qwen3-MoE's
        /// <c>norm_topk_prob</c>); false: the softmax's probabilities as they are (OLMoE's, Qwen2-MoE's, the Switch Transformer's). Default true.
        /// </summary>
        public bool NormalizeTopK { get; set; } = true;

        /// <summary>
        /// The experts' activation: with <see cref="Gated"/> (default) the gate's, value ⊙ act(gate); else applied to the inner
        /// layer. Default <see cref="Dsl.Activation.Silu"/> (SwiGLU experts, Mixtral's and OLMoE's).
        /// </summary>
        public Activation Activation { get; set; } = Activation.Silu;

        /// <summary>Whether each expert's inner layer is a gated linear unit (2 × units wide, its value rows then its gate rows). Default true.</summary>
        public bool Gated { get; set; } = true;

        /// <summary>Whether the experts' two maps add biases (<c>moe.bias_in</c>, <c>moe.bias_out</c>); the router has none. Default false (Mixtral's experts have none).</summary>
        public bool Bias { get; set; }

        /// <summary>Initialiser of the experts' weights and the router. Default Xavier uniform over each expert's fans (He uniform for ReLU).</summary>
        public Init WeightInit { get; set; }

        /// <summary>
        /// The coefficient α of the Switch Transformer's load-balancing loss (Fedus et al. 2021; Hugging Face's <c>router_aux_loss_coef</c>,
        /// 0.01 and 0.001 in its configurations), added to the model's loss in <c>Backward</c> and <c>Loss</c>: α · E · Σ_e f_e · P_e, with
        /// f_e the pass's choices of expert e per row (padded steps left out; they add up to TopK) and P_e the mean probability the router
        /// gave it, so that evenly used experts give α · TopK; its gradient reaches the router through P. It keeps the experts evenly
        /// used when a model learns its routing. Each layer adds its own term (transformers pools the layers' routings into one). Not
        /// in an encoder–decoder's parts (refused). Finite and at least 0; default 0: none.
        /// </summary>
        public float LoadBalancingLoss { get; set; }

        /// <summary>
        /// The width inside a shared expert that every row goes through besides its chosen ones, its output added to theirs
        /// (Qwen2-MoE's <c>shared_expert_intermediate_size</c>; DeepSeekMoE's shared experts side by side): a feed-forward network of
        /// the experts' <see cref="Activation"/>, <see cref="Gated"/> and <see cref="Bias"/>, in → SharedUnits → in, not routed and
        /// not weighted by the router. Default 0: none.
        /// </summary>
        public int SharedUnits { get; set; }

        /// <summary>
        /// Whether the shared expert's output is scaled by σ(x · g) per row, a learned gate <c>moe.shared_gate</c> [1, in] (Qwen2-MoE's
        /// <c>shared_expert_gate</c>); false: added as it is (DeepSeekMoE's). Only with <see cref="SharedUnits"/>. Default false.
        /// </summary>
        public bool SharedExpertGate { get; set; }
    }

    /// <summary>
    /// Inverted dropout: in training (<c>Backward</c>) each value is zeroed with probability p and the
    /// rest scaled by 1 / (1 − p); in inference (<c>Forward</c>, <c>Step</c>) the identity.
    /// </summary>
    public sealed class DropoutAttribute : LayerAttribute
    {
        /// <summary>Declares dropout with probability <paramref name="p"/> in [0, 1).</summary>
        public DropoutAttribute(float p) => P = p;

        /// <summary>Probability of zeroing a value.</summary>
        public float P { get; }
    }

    /// <summary>
    /// Multiplies every value by a constant, out = x · <see cref="Factor"/> (Keras's <c>Rescaling(scale)</c>, a PyTorch module's
    /// <c>x * s</c>): on each step or on a vector, its gradient dx = dout · Factor. Granite's multipliers declare so: the
    /// embedding's (<c>[Embedding] [Scale(embedding_multiplier)]</c>), each sub-layer's before its residual
    /// (<c>[Attention] [Scale(residual_multiplier)] [Residual(Layers = 3)]</c>) and the logits' (<c>[Scale(1 / logits_scaling)]</c>).
    /// No parameters.
    /// </summary>
    public sealed class ScaleAttribute : LayerAttribute
    {
        /// <summary>Declares a constant scale of <paramref name="factor"/> (finite).</summary>
        public ScaleAttribute(float factor) => Factor = factor;

        /// <summary>What every value is multiplied by.</summary>
        public float Factor { get; }
    }

    /// <summary>
    /// Pools a sequence into one vector per sequence, [batch, steps, width] → [batch, width]: its first step, its last, or the
    /// mean of its steps (<see cref="PoolKind"/>); padded steps (a pass given lengths) are never read. No parameters. A model
    /// whose layers pool cannot step: the vector needs the whole sequence.
    /// </summary>
    public sealed class PoolAttribute : LayerAttribute
    {
        /// <summary>Declares pooling of the given <paramref name="kind"/>.</summary>
        public PoolAttribute(PoolKind kind) => Kind = kind;

        /// <summary>Which vector of the sequence: the first step, the last, or the mean.</summary>
        public PoolKind Kind { get; }
    }

    /// <summary>
    /// Attention, in three uses.
    /// <list type="bullet">
    /// <item><b>Self-attention</b> (default): exactly <c>nn.MultiheadAttention(width, Heads, batch_first=True)</c> with
    /// query = key = value = the layer's input, output projection included; [batch, steps, width] in and out. Parameters
    /// <c>attention.in_proj_weight</c> [3W, W], <c>attention.in_proj_bias</c> [3W], <c>attention.out_proj.weight</c> [W, W],
    /// <c>attention.out_proj.bias</c> [W]. Scores <see cref="AttentionScore.ScaledDot"/> and <see cref="AttentionScore.Dot"/>.</item>
    /// <item><b>Pooling</b> (<see cref="Pool"/> = true): a learned query summarises the sequence; [batch, width].</item>
    /// <item>With <see cref="AttentionScore.General"/> or <see cref="AttentionScore.Additive"/> and no <see cref="Over"/>: the
    /// classic scores over the layer's own steps (keys = values = the input; output [x; context], 2W wide), or as pooling
    /// (general q·W·x with a learned query; additive vᵀ tanh(W_k x + b_k)); one head.</item>
    /// <item><b>Cross-attention</b> (<see cref="Over"/> = <c>typeof(Encoder)</c>): each step of this (decoder) model attends
    /// over the encoder's output sequence with any <see cref="Score"/> (Luong et al. 2015, Bahdanau et al. 2015) and the
    /// layer returns [its input; the context] per step, [batch, steps, W + encoder width].</item>
    /// </list>
    /// </summary>
    public sealed class AttentionAttribute : LayerAttribute
    {
        /// <summary>Number of heads; must divide the width unless <see cref="HeadWidth"/> sets a head's width apart. Default 1.</summary>
        public int Heads { get; set; } = 1;

        /// <summary>
        /// The width d of each head's queries, keys and values, apart from the layer's (Hugging Face's <c>head_dim</c>: Qwen3's
        /// 128 where hidden / heads is 64, Gemma 7B's 256, Mistral NeMo's 128). The queries are then Heads · d wide, the keys and
        /// values <see cref="KeyValueHeads"/> · d: <c>attention.in_proj_weight</c> [Heads · d + 2 · KeyValueHeads · d, W] and
        /// <c>out_proj.weight</c> [W, Heads · d]; the scores are scaled by 1/√d. The output keeps the input's width W. Multi-head
        /// attention: self (ScaledDot or Dot, not pooling) or over an encoder's outputs (ScaledDot: the queries, keys and values
        /// Heads · d wide, <c>in_proj_weight</c> [3 · Heads · d, W] or <c>q_proj_weight</c> [Heads · d, W] and <c>k_proj_weight</c>,
        /// <c>v_proj_weight</c> [Heads · d, M]; T5's cross-attention, whose <c>d_kv</c> · heads may differ from <c>d_model</c>).
        /// Default 0: W / <see cref="Heads"/>, as <c>nn.MultiheadAttention</c>.
        /// </summary>
        public int HeadWidth { get; set; }

        /// <summary>
        /// RMS normalisation of each head's queries and keys after their projection, before the rotary positions (Qwen3's and
        /// Gemma 3's <c>q_norm</c> and <c>k_norm</c>; Dehghani et al. 2023's QK-norm, as RMS norm): every head's query q_h becomes
        /// q_h / √(mean(q_h²) + ε) · γ_q, every key likewise with γ_k, ε = <see cref="QueryKeyNormEpsilon"/>. Parameters
        /// <c>attention.q_norm.weight</c> and <c>attention.k_norm.weight</c> [d] (ones), shared by the heads. Multi-head
        /// self-attention only (ScaledDot or Dot, not pooling, not over an encoder). Default false.
        /// </summary>
        public bool QueryKeyNorm { get; set; }

        /// <summary>ε of <see cref="QueryKeyNorm"/>'s normalisation (Hugging Face's <c>rms_norm_eps</c>). Default 1e-6, Qwen3's.</summary>
        public float QueryKeyNormEpsilon { get; set; } = 1e-6f;

        /// <summary>
        /// With <see cref="QueryKeyNorm"/>: each step's queries RMS-normalised all together rather than head by head, and its
        /// keys (OLMo 2's <c>q_norm</c> and <c>k_norm</c>, <c>RMSNorm(heads · d)</c> and <c>RMSNorm(kv_heads · d)</c> on the projections).
        /// Parameters <c>attention.q_norm.weight</c> [heads · d] and <c>k_norm.weight</c> [kvHeads · d].
        /// </summary>
        public bool QueryKeyNormAcrossHeads { get; set; }

        /// <summary>
        /// The scores' scale, q·k · Scale, apart from 1/√d (PyTorch's <c>scaled_dot_product_attention(…, scale=)</c>; Gemma 3 27B's
        /// <c>query_pre_attn_scalar</c> ** −0.5, 1/√168 with heads of 128; 1 for T5's unscaled cross-attention). Multi-head attention
        /// with the ScaledDot score only, self or over an encoder's outputs. Default 0: 1/√d.
        /// </summary>
        public float Scale { get; set; }

        /// <summary>
        /// Soft-capping of the scores (Gemma 2's <c>attn_logit_softcapping</c>, 50): each scaled score s becomes
        /// SoftCap · tanh(s / SoftCap) before the masks and the softmax, so no score passes ±SoftCap. Multi-head self-attention only
        /// (ScaledDot or Dot, not pooling, not over an encoder). Default 0: none.
        /// </summary>
        public float SoftCap { get; set; }

        /// <summary>
        /// Clipping of the projected queries, keys and values (OLMo 1.7's <c>clip_qkv</c>): each value of x·W_inᵀ + b_in
        /// is clamped to [−ClipQkv, ClipQkv] before QK-norm, the rotation and the heads; its gradient passes where the value was
        /// within them and is zero where it was clipped (PyTorch's <c>clamp</c>). Multi-head self-attention only (not pooling, not
        /// over an encoder). Default 0: none.
        /// </summary>
        public float ClipQkv { get; set; }

        /// <summary>
        /// A learned bias on the scores by the distance between query and key, in buckets (T5's <c>relative_attention_bias</c>,
        /// MPNet's; Raffel et al. 2020): the distances j − i fall into RelativeBuckets buckets, half for the keys after the query
        /// and half for the rest (T5's encoder's, MPNet's), each half with one bucket per distance below a quarter of the buckets
        /// and logarithmically wider buckets up to <see cref="RelativeMaxDistance"/>, past which the distances share the last.
        /// On a causal layer the buckets are one-sided (T5's decoder's, <c>bidirectional=False</c>): every bucket for the keys at
        /// or before the query, one per distance below half of them; a decoder stepping from its cache reads the table by each
        /// step's distance to every key taken. Parameter <c>attention.relative_attention_bias.weight</c> [buckets, heads]
        /// (PyTorch's <c>nn.Embedding(buckets, heads)</c>, drawn from N(0, 1)), its bucket's value added to each head's scaled
        /// score before the softmax. Multi-head self-attention (not pooling, not over an encoder, not with SoftCap). On both
        /// sides an even count of 4 or more, one-sided 2 or more (T5's and MPNet's: 32); default 0: none.
        /// </summary>
        public int RelativeBuckets { get; set; }

        /// <summary>
        /// The distance from which <see cref="RelativeBuckets"/>' distances share their half's last bucket (T5's
        /// <c>relative_attention_max_distance</c>); above a quarter of the buckets (half of them, one-sided). Default 128, T5's and MPNet's.
        /// </summary>
        public int RelativeMaxDistance { get; set; } = 128;

        /// <summary>
        /// With <see cref="RelativeBuckets"/>: true (the default) reads the relative position table of the first earlier attention
        /// layer that shares one (RelativeBuckets with RelativeShared true), as T5 and MPNet keep one table for every layer (the
        /// parameter then the first's, its gradient summed over the layers; the same Heads, RelativeBuckets,
        /// RelativeMaxDistance and Causal); the first such layer holds it. False: a table of this layer's own, which no other reads.
        /// </summary>
        public bool RelativeShared { get; set; } = true;

        /// <summary>
        /// ALiBi, attention with linear biases (Press et al. 2022; BLOOM's, MPT's, JinaBERT's <c>position_embedding_type</c>
        /// "alibi"): head h adds −m_h · |j − i| to its score of key j for query i (causal: −m_h · (i − j)), the slopes m_h a
        /// geometric sequence from 2^(−8/Heads) (for Heads not a power of two, the paper's interpolation). No parameter: the
        /// positions come from the bias alone, so a model trained on short sequences reads longer ones; a decoder stepping from its
        /// cache adds each step's bias by its distance to every key taken. Multi-head self-attention (not pooling, not over an
        /// encoder, not with Rotary, RelativeBuckets or SoftCap). Default false.
        /// </summary>
        public bool Alibi { get; set; }

        /// <summary>
        /// ALiBi's bias added before the scores are scaled, so scaled with them: head h adds −m_h · |j − i| · s, s the scores' scale
        /// (1/√d), as falcon-rw's attention computes (q·k + alibi) / √d where BLOOM's computes q·k / √d + alibi. With
        /// <see cref="Alibi"/> only. Default false.
        /// </summary>
        public bool AlibiScaled { get; set; }

        /// <summary>
        /// A partial rotation (GPT-NeoX's <c>rotary_pct</c>, Hugging Face's <c>partial_rotary_factor</c>: Phi-4-mini's 0.75, StableLM's
        /// 0.25): <c>Rotary</c> turns only the first <c>RotaryDimensions</c> values of each head, the pairs (j, j + r/2) by
        /// p · RotaryBase^(−2j/r), and leaves the rest. Even, at most the head's width. Default 0: the whole head.
        /// </summary>
        public int RotaryDimensions { get; set; }

        /// <summary>
        /// LongRoPE's divisors of each pair's rotary frequency while a pass stays within <c>RotaryOriginalContext</c> (Phi-3's
        /// <c>short_factor</c>), one per pair of turned values; with <c>RotaryScalingKind = RotaryScalingKind.LongRope</c> only.
        /// </summary>
        public float[]? RotaryShortFactors { get; set; }

        /// <summary>LongRoPE's divisors when a pass reaches past <c>RotaryOriginalContext</c> (Phi-3's <c>long_factor</c>), as many as <see cref="RotaryShortFactors"/>.</summary>
        public float[]? RotaryLongFactors { get; set; }

        /// <summary>True: each step attends only to itself and earlier steps (a decoder's mask).</summary>
        public bool Causal { get; set; }

        /// <summary>
        /// Sliding-window attention. Causal (Mistral's, Phi-3's): each step attends to the <c>SlidingWindow</c> most recent
        /// steps, its own included — step i sees step j when i − SlidingWindow &lt; j ≤ i, Hugging Face's <c>sliding_window</c>;
        /// stepping from a key/value cache attends over the same window. Over the whole sequence (ModernBERT's local attention,
        /// Longformer's): each step sees the steps within half the window on either side, |j − i| ≤ SlidingWindow / 2 (ModernBERT's
        /// <c>local_attention</c>, 128: 64 on each side). Multi-head self-attention only (ScaledDot or Dot). Default 0: every step
        /// it may see.
        /// </summary>
        public int SlidingWindow { get; set; }

        /// <summary>The score; <see cref="AttentionScore.ScaledDot"/> by default.</summary>
        public AttentionScore Score { get; set; }

        /// <summary>Dropout on the attention weights in training (PyTorch's <c>dropout</c>). Default 0.</summary>
        public float Dropout { get; set; }

        /// <summary>
        /// Attention pooling (many-to-one): one learned query (parameter <c>attention.query</c> [W]) attends over the
        /// sequence and the layer returns [batch, width], as <c>nn.MultiheadAttention</c> with that query.
        /// </summary>
        public bool Pool { get; set; }

        /// <summary>
        /// Cross-attention over the output sequence of another model, the encoder (a class with layer attributes): the
        /// decoder then runs from the state an <see cref="EncoderDecoderAttribute"/> model's <c>Encode</c> gives it.
        /// </summary>
        public Type? Over { get; set; }

        /// <summary>Width of the additive score's hidden layer (<see cref="AttentionScore.Additive"/>); default: the input's width.</summary>
        public int Units { get; set; }

        /// <summary>
        /// Rotary position embedding (RoPE; Su et al. 2021, RoFormer), LLaMA's and GPT-NeoX's positions: after the input
        /// projection, each head's queries and keys are turned pair by pair, the pair (j, j + d/2) of a head of d values by the
        /// angle p · <see cref="RotaryBase"/>^(−2j/d) at position p (Hugging Face's <c>rotate_half</c> form), so that scores
        /// depend on the distance between steps. Positions count from a carried state's, so a stepping decoder and its
        /// key/value cache (the keys kept as turned) see the positions a whole pass sees. The angles are computed in double (Hugging
        /// Face computes them in float, so at positions in the thousands its cosines and sines differ from these by up to about
        /// 1e-3). Multi-head self-attention only (ScaledDot or Dot, not pooling, not over an encoder); the head's width must be
        /// even. No parameters. Default false.
        /// </summary>
        public bool Rotary { get; set; }

        /// <summary>The base of the rotary angles' wavelengths (<see cref="Rotary"/>), Hugging Face's <c>rope_theta</c>. Default 10000.</summary>
        public float RotaryBase { get; set; } = 10000f;

        /// <summary>
        /// LLaMA 3.1's long-context scaling of the rotary frequencies (Hugging Face's <c>rope_scaling</c> with <c>rope_type</c>
        /// "llama3"; <see cref="Rotary"/> only): <c>factor</c>, 8 in LLaMA 3.1, 32 in LLaMA 3.2. A frequency whose wavelength is
        /// shorter than <see cref="RotaryOriginalContext"/> / <see cref="RotaryHighFrequencyFactor"/> is kept, one longer than
        /// <see cref="RotaryOriginalContext"/> / <see cref="RotaryLowFrequencyFactor"/> divided by this factor, those between
        /// moved smoothly from one to the other. Default 0: no scaling.
        /// </summary>
        public float RotaryScaling { get; set; }

        /// <summary><c>rope_scaling</c>'s <c>low_freq_factor</c> (<see cref="RotaryScaling"/>). Default 1, LLaMA 3.1's.</summary>
        public float RotaryLowFrequencyFactor { get; set; } = 1f;

        /// <summary><c>rope_scaling</c>'s <c>high_freq_factor</c> (<see cref="RotaryScaling"/>), above the low one. Default 4, LLaMA 3.1's.</summary>
        public float RotaryHighFrequencyFactor { get; set; } = 4f;

        /// <summary>
        /// <c>rope_scaling</c>'s <c>original_max_position_embeddings</c> (<see cref="RotaryScaling"/>; for dynamic NTK the
        /// configuration's <c>max_position_embeddings</c>). Default 8192, LLaMA 3.1's.
        /// </summary>
        public int RotaryOriginalContext { get; set; } = 8192;

        /// <summary>
        /// Which scaling <see cref="RotaryScaling"/> sets (<c>rope_scaling</c>'s <c>rope_type</c>): <see cref="Dsl.RotaryScalingKind.Llama3"/>
        /// (the default, with its three companions), <see cref="Dsl.RotaryScalingKind.Linear"/> ("linear": every frequency divided
        /// by the factor; the companions do not apply), <see cref="Dsl.RotaryScalingKind.Yarn"/>, <see cref="Dsl.RotaryScalingKind.LongRope"/>
        /// or <see cref="Dsl.RotaryScalingKind.Dynamic"/> (each with <see cref="RotaryOriginalContext"/> alone).
        /// </summary>
        public RotaryScalingKind RotaryScalingKind { get; set; }

        /// <summary>
        /// Whether the projections add biases (default true): false is <c>nn.MultiheadAttention(…, bias=False)</c>, no
        /// <c>in_proj_bias</c> and, unless <see cref="OutputBias"/> says otherwise, no <c>out_proj.bias</c> (LLaMA's attention has
        /// none). Multi-head attention only (ScaledDot or Dot over the layer's own steps, pooling, ScaledDot over an encoder), not
        /// the General and Additive scores.
        /// </summary>
        public bool Bias { get; set; } = true;

        /// <summary>
        /// Whether the output projection adds its bias (<c>out_proj.bias</c>); by default as <see cref="Bias"/>. False beside
        /// <see cref="Bias"/> true keeps the input projections' biases and drops the output's alone, as Qwen2's attention (biases on
        /// <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c>, none on <c>o_proj</c>); true beside <see cref="Bias"/> = false keeps the
        /// output's alone, as GPT-Neo's (none on <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c>, one on <c>out_proj</c>). The generator
        /// reads whether it was given; the property's own initial value (true) says nothing where it was not (read the generated
        /// <c>Architecture</c>'s <c>AttentionInfo.OutputBias</c> for the layer's).
        /// </summary>
        public bool OutputBias { get; set; } = true;

        /// <summary>
        /// Grouped-query attention (Ainslie et al. 2023; LLaMA 2 70B's, LLaMA 3's and Mistral's <c>num_key_value_heads</c>;
        /// multi-query attention, Shazeer 2019, with 1): the keys and values have this many heads, each shared by
        /// <see cref="Heads"/> / KeyValueHeads query heads in order (query head h reads key/value head h / (Heads /
        /// KeyValueHeads), Hugging Face's <c>repeat_kv</c>), so the projections and a stepping decoder's key/value cache are
        /// that much narrower. <c>attention.in_proj_weight</c> becomes [Heads · d + 2 · KeyValueHeads · d, W], d the head's width (W / Heads, or <see cref="HeadWidth"/>): Hugging
        /// Face's <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> weights stacked (<c>in_proj_bias</c> likewise). Must divide
        /// <see cref="Heads"/>; 0 (default) means as many as <see cref="Heads"/> (plain multi-head attention). Multi-head
        /// self-attention only (ScaledDot or Dot, not pooling, not over an encoder).
        /// </summary>
        public int KeyValueHeads { get; set; }

        /// <summary>
        /// Input feeding (Bahdanau et al. 2015; Luong et al. 2015): the context of step t − 1 is concatenated to the input of
        /// the recurrent layer right before this one at step t (zeros at the first step; a <c>State</c> carries it from step to
        /// step), so the decoder knows what it attended to. That layer's <c>weight_ih_l0</c> becomes [G, X + M]. Needs
        /// <see cref="Over"/>, a Dot, General or Additive score, and a unidirectional one-layer recurrent layer before it.
        /// </summary>
        public bool InputFeeding { get; set; }
    }

    /// <summary>
    /// Layer normalisation over each step's features, exactly <c>nn.LayerNorm(width, eps)</c>: y = (x − mean) / √(var + ε) ·
    /// weight + bias. Parameters <c>layernorm.weight</c> [W] (ones) and <c>layernorm.bias</c> [W] (zeros).
    /// </summary>
    public sealed class LayerNormAttribute : LayerAttribute
    {
        /// <summary>ε added to the variance (PyTorch's <c>eps</c>). Default 1e-5.</summary>
        public float Epsilon { get; set; } = 1e-5f;

        /// <summary>
        /// Whether the layer adds a learned shift <c>layernorm.bias</c> (default true); false: out = x̂ · weight, PyTorch's
        /// <c>nn.LayerNorm(…, bias=False)</c> (nanoGPT's <c>bias=False</c>).
        /// </summary>
        public bool Bias { get; set; } = true;

        /// <summary>
        /// Whether the layer learns a scale and a shift (default true); false: out = x̂ with no parameter at all, PyTorch's
        /// <c>nn.LayerNorm(…, elementwise_affine=False)</c> (OLMo's norms, Keras's <c>center=False, scale=False</c>).
        /// <see cref="Bias"/> = true beside it is an error (DSL0007): there is no shift without the scale.
        /// </summary>
        public bool ElementwiseAffine { get; set; } = true;
    }

    /// <summary>
    /// Root-mean-square layer normalisation (Zhang and Sennrich 2019), PyTorch's <c>nn.RMSNorm(width, eps)</c> and the
    /// norm of LLaMA and T5: y = x / √(mean(x²) + ε) · weight, per step, with no centring and no shift. Parameter
    /// <c>rmsnorm.weight</c> [W] (ones).
    /// </summary>
    public sealed class RmsNormAttribute : LayerAttribute
    {
        /// <summary>
        /// ε added to the mean square. Default 1.1920929e-7, the float's machine epsilon, as <c>nn.RMSNorm</c> takes when
        /// given none (LLaMA's configurations use 1e-5 or 1e-6; Keras's <c>RMSNormalization</c> 1e-6).
        /// </summary>
        public float Epsilon { get; set; } = 1.1920929e-7f;

        /// <summary>
        /// Whether the layer learns its scale <c>rmsnorm.weight</c> (default true); false: y = x / √(mean(x²) + ε) with no
        /// parameter, PyTorch's <c>nn.RMSNorm(…, elementwise_affine=False)</c>.
        /// </summary>
        public bool ElementwiseAffine { get; set; } = true;
    }

    /// <summary>
    /// A residual connection: adds the input of the layer <see cref="Layers"/> back to the output of the layer before,
    /// out = x + f(x) (He et al. 2016; the Transformer's "Add"). <c>[Attention] [Residual]</c> adds the attention's input to
    /// its output; <c>[Dense(4W)] [Dense(W)] [Residual(Layers = 2)]</c> spans both. The widths must be equal.
    /// </summary>
    public sealed class ResidualAttribute : LayerAttribute
    {
        /// <summary>How many layers the connection skips over. Default 1.</summary>
        public int Layers { get; set; } = 1;
    }

    /// <summary>
    /// A second branch: the layers after it read the input of the layer <see cref="Layers"/> back instead of the output of
    /// the layer before, which a later <c>[Residual]</c> adds in (the parallel blocks of GPT-J, GPT-NeoX, Pythia, Phi-2 and
    /// Falcon: out = x + attn(ln₁(x)) + mlp(ln₂(x))):
    /// <code>
    /// [LayerNorm] [Attention(Heads = 8, Causal = true)]       // a = attn(ln₁(x))
    /// [Branch(Layers = 2)]                                     // back to x, the first norm's input
    /// [LayerNorm] [Dense(2048, Activation = Activation.Gelu)] [Dense(512)]   // m = mlp(ln₂(x))
    /// [Residual(Layers = 4)]                                   // m + a (the branch's input)
    /// [Residual(Layers = 7)]                                   // + x (the first norm's input)
    /// </code>
    /// With one norm for both (GPT-J's, Phi-2's), <c>[LayerNorm] [Attention] [Branch] [Dense] [Dense] [Residual(Layers = 3)]
    /// [Residual(Layers = 6)]</c>. No parameters; the gradient of what it reads joins that output's.
    /// </summary>
    public sealed class BranchAttribute : LayerAttribute
    {
        /// <summary>Whose input the layers after it read: the layer this many places back (1: the layer right before). Default 1.</summary>
        public int Layers { get; set; } = 1;
    }

    /// <summary>
    /// Adds the sinusoidal position encoding of Vaswani et al. (2017) to each step: pe[t, 2i] = sin(t / 10000^(2i/W)),
    /// pe[t, 2i+1] = cos(t / 10000^(2i/W)). No parameters. A stepping model encodes each step's position from its state's <c>Position</c>.
    /// </summary>
    public sealed class PositionalEncodingAttribute : LayerAttribute
    {
    }

    /// <summary>
    /// Adds a learned embedding of each step's position (GPT-2's <c>wpe</c>: <c>x + nn.Embedding(maxLength, W)(arange(T))</c>;
    /// Keras's <c>PositionEmbedding</c>): out[t] = x[t] + weight[p + t], p the steps a carried state has taken (0 without one).
    /// Parameter <c>positionembedding.weight</c> [maxLength, W]; a pass that would reach position maxLength is refused before
    /// it runs.
    /// </summary>
    public sealed class PositionEmbeddingAttribute : LayerAttribute
    {
        /// <summary>Declares <paramref name="maxLength"/> learned positions (nanoGPT's <c>block_size</c>).</summary>
        public PositionEmbeddingAttribute(int maxLength) => MaxLength = maxLength;

        /// <summary>Positions the table holds: a sequence (with the steps a carried state has taken) has at most this many steps.</summary>
        public int MaxLength { get; }

        /// <summary>Initialiser of <c>positionembedding.weight</c>. Default N(0, 1), as PyTorch's <c>nn.Embedding</c>.</summary>
        public Init WeightInit { get; set; }
    }

    /// <summary>
    /// Adds a learned embedding of each token's type, its segment of the input (BERT's <c>token_type_embeddings</c>, the paper's
    /// segment embeddings): out[t] = x[t] + weight[type(t)], where a token's type is the number of separator
    /// tokens before it in its sequence, at most types − 1. BERT's pairs, <c>[CLS] A [SEP] B [SEP]</c>, so read as the tokenizers
    /// number them (<c>token_type_ids</c>: 0 up to and with the first <c>[SEP]</c>, 1 after it), and a single text is all type 0;
    /// the types come from the model's token ids, so a pass takes no second input. Stands after the <c>[Embedding]</c> (the
    /// model's first layer), before or after a <c>[PositionEmbedding]</c>. Parameter <c>tokentypeembedding.weight</c> [types, W].
    /// The types are counted from each pass's first token: a model with it does not step.
    /// </summary>
    public sealed class TokenTypeEmbeddingAttribute : LayerAttribute
    {
        /// <summary>Declares <paramref name="types"/> token types (BERT's <c>type_vocab_size</c>, 2), told apart by the token id <paramref name="separator"/> (BERT's <c>[SEP]</c>, 102 in bert-base-uncased).</summary>
        public TokenTypeEmbeddingAttribute(int types, int separator)
        {
            Types = types;
            Separator = separator;
        }

        /// <summary>Token types the table holds; tokens after more separators than types − 1 take the last.</summary>
        public int Types { get; }

        /// <summary>The token id that ends a segment: the tokens after it take the next type.</summary>
        public int Separator { get; }

        /// <summary>Initialiser of <c>tokentypeembedding.weight</c>. Default N(0, 1), as PyTorch's <c>nn.Embedding</c>.</summary>
        public Init WeightInit { get; set; }
    }

    /// <summary>
    /// Composes an encoder and a decoder model into one trainable sequence-to-sequence model: the encoder reads the
    /// source, its final recurrent state starts the decoder (bidirectional states concatenated; a generated
    /// <c>bridge</c> Dense where widths differ) and the decoder's cross-attention (<c>Over = typeof(Encoder)</c>)
    /// attends over its outputs. Parameters are named <c>encoder.…</c>, <c>bridge.…</c>, <c>decoder.…</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class EncoderDecoderAttribute : Attribute
    {
        /// <summary>Composes <paramref name="encoder"/> and <paramref name="decoder"/>, both model classes.</summary>
        public EncoderDecoderAttribute(Type encoder, Type decoder)
        {
            Encoder = encoder;
            Decoder = decoder;
        }

        /// <summary>The encoder model: reads the source sequence.</summary>
        public Type Encoder { get; }

        /// <summary>The decoder model: a token model that can step, starting from the encoder's state.</summary>
        public Type Decoder { get; }

        /// <summary>
        /// The decoder's embedding table is the encoder's (a joint source–target vocabulary: fairseq's
        /// <c>share_all_embeddings</c>, OpenNMT's <c>share_embeddings</c>; in PyTorch, <c>decoder.embedding = encoder.embedding</c>):
        /// both models start with an <c>[Embedding]</c> of the same vocabulary and width (DSL1008 otherwise). The table is
        /// initialised as the encoder's, learns from both sides (their gradients add), is counted, clipped and optimised once
        /// and saved once as <c>encoder.embedding.weight</c>; <c>ParameterSet</c> also answers to <c>decoder.embedding.weight</c>
        /// (<c>ParameterSet.Tied</c>), so a PyTorch state_dict, which lists both names, loads. With the decoder's output layer
        /// tied to its embedding (<c>[Dense(vocab, TieEmbedding = true)]</c>), one matrix serves all three, as in Vaswani et
        /// al. 2017 (§3.4). Default false.
        /// </summary>
        public bool ShareEmbedding { get; set; }
    }

    /// <summary>
    /// Repeats the layers written between it and the next <see cref="EndRepeatAttribute"/> <see cref="Times"/> times, as
    /// if they were written out that often (PyTorch's <c>nn.ModuleList([Block() for _ in range(n)])</c>): a Transformer's n
    /// blocks in one declaration. Each copy has parameters of its own, named as written-out layers are (<c>attention</c>,
    /// <c>attention_1</c>, …; a layer's explicit <c>Name</c> takes <c>_1</c>, <c>_2</c>, … in the later copies); a
    /// <see cref="ResidualAttribute"/> inside counts its layers back from where each copy writes it, as written out (a block's
    /// residuals that reach no further back than the block's own first layer stay within their copy). Repeats nest; a repeat without its end, an end
    /// without its repeat, an empty one or <see cref="Times"/> below 1 is DSL0014.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class RepeatAttribute : Attribute
    {
        /// <summary>Repeats the layers up to the matching <see cref="EndRepeatAttribute"/> <paramref name="times"/> times.</summary>
        public RepeatAttribute(int times) => Times = times;

        /// <summary>How many copies of the layers there are (1: the layers as written).</summary>
        public int Times { get; }
    }

    /// <summary>Ends the layers the last open <see cref="RepeatAttribute"/> repeats.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class EndRepeatAttribute : Attribute
    {
    }
}
