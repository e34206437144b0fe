namespace Dsl
{
    /// <summary>The element-wise non-linearity applied by a layer.</summary>
    public enum Activation
    {
        /// <summary>Identity: the affine output as it is.</summary>
        None = 0,
        /// <summary>Hyperbolic tangent.</summary>
        Tanh = 1,
        /// <summary>Rectified linear unit, max(0, x).</summary>
        Relu = 2,
        /// <summary>Logistic sigmoid, 1 / (1 + e^-x).</summary>
        Sigmoid = 3,
        /// <summary>
        /// Gaussian error linear unit, x · Φ(x) with Φ the standard normal distribution function (Hendrycks and Gimpel 2016):
        /// PyTorch's exact <c>nn.GELU()</c>, the feed-forward activation of BERT and GPT. Dense and Moe layers only.
        /// </summary>
        Gelu = 4,
        /// <summary>
        /// GELU's tanh approximation, x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2: PyTorch's <c>nn.GELU(approximate='tanh')</c>,
        /// the "gelu_new" of GPT-2's weights. Dense and Moe layers only.
        /// </summary>
        GeluTanh = 5,
        /// <summary>Sigmoid linear unit (swish), x · σ(x): PyTorch's <c>nn.SiLU()</c>, the gated feed-forward's in LLaMA. Dense and Moe layers only.</summary>
        Silu = 6,
    }

    /// <summary>How <c>[Pool]</c> makes one vector of a sequence.</summary>
    public enum PoolKind
    {
        /// <summary>Its first step (BERT's <c>[CLS]</c> token, which its pooler and classifiers read).</summary>
        First = 0,
        /// <summary>Its last step, the last of its length where sequences are padded (a decoder's last token).</summary>
        Last = 1,
        /// <summary>The mean of its steps, of the first length steps where padded (sentence-transformers' mean pooling; Keras's <c>GlobalAveragePooling1D</c> with a mask).</summary>
        Mean = 2,
        /// <summary>
        /// The largest value of each feature over its steps, of the first length steps where padded (sentence-transformers' max
        /// pooling; Keras's <c>GlobalMaxPooling1D</c>); the gradient goes to the step each maximum came from (the first on ties).
        /// </summary>
        Max = 3,
    }

    /// <summary>How a weight tensor is initialised from the model's seed.</summary>
    public enum Init
    {
        /// <summary>The literature's default for the layer and tensor (see the layer's documentation).</summary>
        Default = 0,
        /// <summary>All zeros.</summary>
        Zeros = 1,
        /// <summary>Glorot and Bengio (2010): U(-a, a), a = sqrt(6 / (fan_in + fan_out)).</summary>
        XavierUniform = 2,
        /// <summary>Glorot and Bengio (2010): N(0, 2 / (fan_in + fan_out)).</summary>
        XavierNormal = 3,
        /// <summary>He et al. (2015): U(-a, a), a = sqrt(6 / fan_in).</summary>
        HeUniform = 4,
        /// <summary>He et al. (2015): N(0, 2 / fan_in).</summary>
        HeNormal = 5,
        /// <summary>Saxe et al. (2014): an orthogonal matrix per gate block.</summary>
        Orthogonal = 6,
        /// <summary>
        /// PyTorch's default: U(-1/sqrt(H), 1/sqrt(H)) (for Dense, 1/sqrt(fan_in)). As a layer's <c>WeightInit</c> it draws the
        /// layer's biases so too, as torch does (an LSTM's forget-gate bias then keeps its draw unless <c>ForgetBias</c> is set).
        /// </summary>
        PyTorch = 7,
        /// <summary>N(0, 1), PyTorch's default for embeddings.</summary>
        Normal = 8,
    }

    /// <summary>
    /// How <c>[Attention(RotaryScaling = f)]</c> scales the rotary frequencies for a longer context than the one trained on
    /// (Hugging Face's <c>rope_scaling</c>, by its <c>rope_type</c>).
    /// </summary>
    public enum RotaryScalingKind
    {
        /// <summary>"llama3", LLaMA 3.1's and 3.2's: long wavelengths divided by the factor, short ones kept, those between moved smoothly.</summary>
        Llama3 = 0,
        /// <summary>"linear": every frequency divided by the factor, as if the positions were (position interpolation, Chen et al. 2023).</summary>
        Linear = 1,
        /// <summary>
        /// "yarn" (Peng et al. 2023; Qwen2.5's and Qwen3's long contexts): the frequencies that turn more than 32 times over
        /// <c>RotaryOriginalContext</c> kept, those that turn less than once divided by the factor, those between blended along the
        /// head's dimensions; the rotation's cosines and sines times 0.1 · ln(factor) + 1.
        /// </summary>
        Yarn = 2,
        /// <summary>
        /// "longrope" (Ding et al. 2024; Phi-3 at 128k, Phi-3.5, Phi-4-mini): each pair's frequency divided by its own factor,
        /// <c>RotaryShortFactors</c>' while a pass stays within <c>RotaryOriginalContext</c>, <c>RotaryLongFactors</c>' when it
        /// reaches past it (transformers chooses by the pass's last position); the cosines and sines times
        /// √(1 + ln(factor) / ln(original context)).
        /// </summary>
        LongRope = 3,
        /// <summary>
        /// "dynamic" (dynamic NTK, bloc97's and emozilla's): while a pass stays within <c>RotaryOriginalContext</c> (the
        /// configuration's <c>max_position_embeddings</c>) the frequencies are the base's own; a pass reaching L steps past it
        /// takes the base times (factor · L / original − factor + 1)^(d / (d − 2)), d the values turned in a head, as transformers
        /// computes it for the pass's last position + 1.
        /// </summary>
        Dynamic = 4,
    }

    /// <summary>How an attention layer scores a query against a key.</summary>
    public enum AttentionScore
    {
        /// <summary>q · k / √d (Vaswani et al. 2017), <c>nn.MultiheadAttention</c>'s score.</summary>
        ScaledDot = 0,
        /// <summary>q · k (Luong et al. 2015, "dot").</summary>
        Dot = 1,
        /// <summary>q · W · k (Luong et al. 2015, "general"), W learned; one head, no value projection.</summary>
        General = 2,
        /// <summary>vᵀ tanh(W q + U k) (Bahdanau et al. 2015), W, U, v learned; one head, no value projection.</summary>
        Additive = 3,
    }
}
