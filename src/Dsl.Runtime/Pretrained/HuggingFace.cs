using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Dsl;

/// <summary>
/// Loads checkpoints as the Hugging Face Hub publishes them (a model repository's folder: <c>config.json</c> and
/// <c>model.safetensors</c>, or its shards with <c>model.safetensors.index.json</c>) into a model declared with the same
/// architecture.
/// </summary>
public static partial class HuggingFace
{
    /// <summary>Gemma 3's text model's <c>model_type</c> (<c>Gemma3ForCausalLM</c>), and Gemma 2's (<c>Gemma2ForCausalLM</c>).</summary>
    private const string Gemma3 = "gemma3_text", Gemma2 = "gemma2";

    /// <summary>
    /// Loads a LLaMA-architecture checkpoint — transformers' <c>LlamaForCausalLM</c> (LLaMA 1, 2 and 3, TinyLlama, and the
    /// many models saved as it), <c>MistralForCausalLM</c> (its <c>sliding_window</c> declared as <c>SlidingWindow</c>), <c>Qwen2ForCausalLM</c> (Qwen2 and
    /// Qwen2.5, whose attention adds biases to q, k and v: <c>OutputBias = false</c> instead of <c>Bias = false</c>), and
    /// <c>Phi3ForCausalLM</c> (Phi-3 mini and medium at 4k: q, k and v fused into <c>qkv_proj</c>, gate and up into
    /// <c>gate_up_proj</c>, a <c>sliding_window</c> where its configuration says one), and <c>GemmaForCausalLM</c> (Gemma 1: the
    /// embedding scaled by √hidden_size, <c>ScaleBySqrtDim = true</c>, and tied; the gate's GELU as <c>hidden_act</c> names it,
    /// <c>Activation.GeluTanh</c> by default; its norms' weights stored less 1, loaded as 1 + weight), and <c>Qwen3ForCausalLM</c>
    /// (Qwen3: heads <c>head_dim</c> wide, <c>HeadWidth = head_dim</c>, each head's queries and keys RMS-normalised,
    /// <c>QueryKeyNorm = true</c>, its <c>q_norm</c> and <c>k_norm</c> loaded as the attention's), and <c>Gemma3ForCausalLM</c>
    /// (<c>model_type</c> "gemma3_text", Gemma 3 1B: Gemma's, with a <c>[RmsNorm]</c> on the attention's and on the
    /// feed-forward's output before each residual, <c>[Residual(Layers = 3)]</c> and <c>[Residual(Layers = 4)]</c>, QK-norm, and
    /// each layer's window, rotary base and scaling as <c>layer_types</c> says), and <c>Gemma2ForCausalLM</c> (<c>model_type</c> "gemma2": Gemma 3's
    /// layout without QK-norm, every other layer sliding, its scores soft-capped, <c>[Attention(SoftCap = attn_logit_softcapping)]</c>, and its
    /// logits, <c>[Dense(V, SoftCap = final_logit_softcapping)]</c>) — into
    /// <paramref name="model"/>, declared as LLaMA's layers are:
    /// <code>
    /// [Embedding(vocab: V, dim: E)]
    /// // per decoder layer (num_hidden_layers of them):
    /// [RmsNorm(Epsilon = ε)] [Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, RotaryBase = θ, Bias = false)] [Residual(Layers = 2)]
    /// [RmsNorm(Epsilon = ε)] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)]
    /// // then
    /// [RmsNorm(Epsilon = ε)] [Dense(V, Bias = false)]   // TieEmbedding = true where tie_word_embeddings is
    /// </code>
    /// Declared without the output layer (ending with the last norm), the model is the base model (<c>LlamaModel</c>,
    /// <c>Qwen3Model</c>, …) whose last hidden state the decoder-based embedding models read (Qwen3-Embedding, gte-Qwen2,
    /// e5-mistral, pooled by their last token); its checkpoint's names may lack <c>model.</c> (a base model saved alone), and a
    /// causal language model's <c>lm_head</c> is left.
    /// <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> go into each attention's <c>in_proj_weight</c>, <c>up_proj</c> and
    /// <c>gate_proj</c> into the gated Dense's weight (value rows, then gate rows; Phi-3's <c>qkv_proj</c> and <c>gate_up_proj</c>
    /// likewise), their biases likewise into <c>in_proj_bias</c>,
    /// <c>down_proj</c>, <c>o_proj</c>, the norms (Qwen3's <c>q_norm</c> and <c>k_norm</c> too),
    /// the token table and <c>lm_head</c> where their names say; bfloat16, float16 and float32 tensors are read. Hugging Face's
    /// rotary form is <c>rotate_half</c>, the one <c>Rotary = true</c> computes, so the weights load as they are.
    /// </summary>
    /// <param name="model">The model to load into; its parameters change only when everything checks.</param>
    /// <param name="path">
    /// The checkpoint's folder (<c>model.safetensors</c>, or the shards its <c>model.safetensors.index.json</c> lists), or one
    /// safetensors file. The <c>config.json</c> in the folder (or beside the file) must be there, and is checked against the
    /// model first: widths, layers, heads, key/value heads, a head's width (<c>head_dim</c>: <c>HeadWidth</c>), the norms' ε, <c>rope_theta</c> and
    /// <c>rope_scaling</c> (<c>RotaryScaling</c>, <c>RotaryScalingKind</c>: LLaMA 3.1's, linear, YaRN, dynamic NTK, Phi-3's LongRoPE),
    /// Phi-3's <c>partial_rotary_factor</c> (<c>RotaryDimensions</c>), the activation, tied embeddings, the attention's biases,
    /// <c>sliding_window</c> (<c>SlidingWindow</c>; Qwen2's and Qwen3's layer by layer, from <c>max_window_layers</c> on or as
    /// <c>layer_types</c> lists them), with transformers' defaults for what it leaves out (LLaMA's, or Mistral's, Qwen2's, Qwen3's,
    /// Phi-3's and Gemma's for their <c>model_type</c>; the gate's activation as <c>hidden_act</c> names it: SiLU, GELU or its tanh
    /// approximation); other rotary scalings or the feed-forward's biases, which the declaration cannot express, are refused.
    /// </param>
    /// <exception cref="ArgumentException">The model is not laid out as LLaMA (the message names the first layer that differs).</exception>
    /// <exception cref="InvalidDataException">
    /// The checkpoint does not fit the model: its configuration differs, or tensors are missing, extra or of other shapes (all
    /// named); nothing is loaded.
    /// </exception>
    public static void LoadLlama(IModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (architecture, layout) = Layout(model);
        var (files, config) = Locate(path);
        bool multimodal = TextModel(ref config);
        var problems = new List<string>();
        layout.CheckConfig(config, problems);
        RefuseIfAny(problems, path, architecture, "its config.json differs from the model: ");
        Dictionary<string, SafeTensor> tensors = ReadAll(files);
        if (multimodal) tensors = TextTensors(tensors);
        tensors = LlamaLayout.Prefixed(tensors);
        if (layout.Output is { } output)
        {
            CheckTiedHead(tensors, LlamaLayout.Head, LlamaLayout.Table, layout.Tied, problems);
            if (!layout.Tied && !tensors.ContainsKey(LlamaLayout.Head) && tensors.ContainsKey(LlamaLayout.Table))
                problems.Add($"no '{LlamaLayout.Head}', and its config.json does not tie the output layer to the token table (tie_word_embeddings false, as '{output.Name}' is declared): the checkpoint lacks its output layer's weights (transformers would start them at random)");
        }
        string type = ModelType(config);
        // (a base model reads no output layer: a causal language model's lm_head is left)
        // Gemma's norms multiply by (1 + weight) and store the weight: the model's RmsNorm multiplies by its weight, so it holds
        // 1 + weight, the sum rounded to float as transformers' float32 (1.0 + self.weight.float()) rounds it (Gemma 3's q_norm
        // and k_norm too)
        HashSet<string>? norms = type is "gemma" or Gemma2 or Gemma3 ? layout.NormWeights().ToHashSet(StringComparer.Ordinal) : null;
        ParameterSet.Staged[] values = model.Parameters.PrepareStacked(tensors, layout.Sources(fused: type == "phi3"), name => Ignored(name, layout.Tied || layout.Base), problems,
            adjust: norms is null ? null : (name, weight) =>
            {
                if (!norms.Contains(name)) return;
                for (int j = 0; j < weight.Length; j++) weight[j] = 1f + weight[j];
            }, adjusted: norms is null ? null : norms.Contains);
        RefuseIfAny(problems, path, architecture);
        model.Parameters.Assign(values);
    }

    /// <summary>
    /// Saves <paramref name="model"/>, declared as LLaMA (see <see cref="LoadLlama"/>), as a Hugging Face checkpoint in
    /// <paramref name="folder"/> (created if need be): <c>model.safetensors</c> (float32) under <c>LlamaForCausalLM</c>'s names,
    /// each attention's <c>in_proj_weight</c> split into <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> and each gated Dense's
    /// weight into <c>up_proj</c> and <c>gate_proj</c> (a tied output layer left out, as <c>save_pretrained</c> leaves it), and
    /// the <c>config.json</c> that describes it (widths, layers, heads, key/value heads, ε, <c>rope_theta</c>, LLaMA 3.1's, the
    /// linear, YaRN's or dynamic NTK's <c>rope_scaling</c>, tying, <c>head_dim</c>; a sliding window as <c>MistralForCausalLM</c>'s
    /// <c>sliding_window</c>, or Qwen2's and Qwen3's from <c>max_window_layers</c> on; QK-norm as <c>Qwen3ForCausalLM</c>;
    /// LongRoPE or a partial rotation as <c>Phi3ForCausalLM</c>, under Phi-3's fused <c>qkv_proj</c> and <c>gate_up_proj</c>;
    /// a scaled embedding as <c>GemmaForCausalLM</c>, with the sandwich of norms as <c>Gemma3ForCausalLM</c> (QK-norm) or <c>Gemma2ForCausalLM</c> (none; soft caps),
    /// its norms stored less 1), so that transformers' <c>AutoModelForCausalLM.from_pretrained(folder)</c> (the class its <c>architectures</c> names) and
    /// <see cref="LoadLlama"/> read it back (a model loaded from Phi-3's checkpoint without LongRoPE or a partial rotation is written
    /// as Mistral's, or LLaMA's without a window: the same layers under unfused names). Both files are built first, then replaced together (a failure leaves the folder as it was).
    /// </summary>
    /// <exception cref="ArgumentException">The model is not laid out as LLaMA, or its decoder layers or norms differ from one another.</exception>
    public static void SaveLlama(IModel model, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var (architecture, layout) = Layout(model);
        var unlike = new List<string>();
        // a scaled embedding is Gemma's: Gemma 1's layers, or with the sandwich of norms Gemma 3's (QK-norm) or Gemma 2's
        bool gemma = layout.Embedding.Scale != 1f, sandwich = gemma && layout.Layers[0].Sandwich;
        bool gemma3 = sandwich && layout.Layers[0].Attention.QueryKeyNorm, gemma2 = sandwich && !gemma3;
        // Qwen2's and Qwen3's configurations window the layers from max_window_layers on: their layers' windows may differ
        AttentionInfo head = layout.Layers[0].Attention;
        bool qwenLike = !gemma && (head.QueryKeyNorm || head is { Bias: true, OutputBias: false });
        layout.CheckAlike(unlike, positionsPerLayer: sandwich, windowsPerLayer: qwenLike);
        if (qwenLike) layout.CheckQwenWindowsWritable(unlike);
        if (gemma) layout.CheckGemmaWritable(unlike, sandwich);
        else if (layout.Layers[0].Sandwich)
            unlike.Add($"'{layout.Layers[0].AfterAttention!.Name}' normalises the attention's output (Gemma 3's sandwich of norms) under an unscaled embedding: Gemma 3's scales it (ScaleBySqrtDim), and the other configurations written here (LLaMA's, Mistral's, Qwen's) have no such norms");
        // the other configurations' limits (Gemma's own: CheckGemmaWritable)
        AttentionInfo first = layout.Layers[0].Attention;
        if (!sandwich && first.ScaledApart)
            unlike.Add($"'{first.Name}' scales its scores by {Number(first.Scale)}, not 1/√head_dim: only Gemma 2's and 3's configurations can say so (query_pre_attn_scalar)");
        // LongRoPE and a partial rotation are Phi-3's alone: such a model is written as Phi3ForCausalLM
        bool phi = first.RotaryScaling is { Kind: RotaryScalingKind.LongRope, IsScaled: true } || first.RotaryWidth != first.HeadSize;
        if (phi) layout.CheckPhiWritable(unlike, gemma);
        if (!gemma2 && (first.SoftCap > 0f || layout.OutputCap > 0f))
            unlike.Add($"'{(first.SoftCap > 0f ? first.Name : layout.Output!.Name)}' soft-caps its {(first.SoftCap > 0f ? "scores" : "outputs")}: only Gemma 2's configuration can say so (attn_logit_softcapping, final_logit_softcapping)");
        if (!first.Bias && first.OutputBias)
            unlike.Add($"'{first.Name}' has the output projection's bias alone (OutputBias = true without Bias): LLaMA's and its kin's attention has biases on all four projections, none, or (Qwen2's) on q, k and v alone");
        else if (!gemma && first.QueryKeyNorm && first.Bias && !first.OutputBias)
            unlike.Add($"'{first.Name}' has QK-norm (Qwen3's) and biases on q, k and v without o_proj's (Qwen2's): Qwen3's attention has all four biases (attention_bias) or none");
        else if (!gemma && !qwenLike && !phi && first is { SlidingWindow: > 0, Bias: true })
            unlike.Add($"'{first.Name}' has a sliding window and projection biases: transformers writes a window in Mistral's configuration, whose attention has no biases (declare Bias = false)");
        RefuseUnlike(unlike, architecture.Name, "LLaMA");
        // Gemma's norms store their weight less 1 (exactly, for a weight from 0.5 to 2 and any above; within an ulp of 1 below)
        HashSet<string> shifted = gemma ? layout.NormWeights().ToHashSet(StringComparer.Ordinal) : [];
        List<CheckpointTensor> tensors = SplitIntoTensors(model, layout.Sources(fused: phi), (parameter, values) =>
        {
            if (shifted.Contains(parameter))
                for (int j = 0; j < values.Length; j++) values[j] -= 1f;
        });
        // a base model is saved as transformers' base class saves it: its names without model.
        if (layout.Base) tensors = tensors.Select(t => t with { Name = t.Name["model.".Length..] }).ToList();
        WriteCheckpoint(folder, tensors, layout.Config(gemma, sandwich, phi));
    }

    /// <summary>
    /// Refuses a checkpoint where <paramref name="problems"/> holds any, naming each (<paramref name="before"/> them: what they are
    /// about; <paramref name="after"/>: a remark); the model is left as it was.
    /// </summary>
    private static void RefuseIfAny(List<string> problems, string path, ModelArchitecture architecture, string before = "", string after = "") =>
        RefuseIfAny(problems, path, architecture.Name, before, after);

    /// <summary>As above for a model named <paramref name="model"/> (an encoder–decoder, whose parts each have an architecture).</summary>
    private static void RefuseIfAny(List<string> problems, string path, string model, string before = "", string after = "")
    {
        if (problems.Count > 0)
            throw new InvalidDataException($"Cannot load '{path}' into {model}: {before}{string.Join("; ", problems)}{after}. Nothing was loaded.");
    }

    /// <summary>
    /// The checkpoint at <paramref name="path"/> located and its config.json checked (<paramref name="check"/>) against the model's
    /// layout (<paramref name="of"/> its architecture, <paramref name="family"/>'s); every difference refused, named, before a
    /// tensor is read. Returns what the load goes on with, and the list further problems go into.
    /// </summary>
    private static (ModelArchitecture Architecture, TLayout Layout, string[] Files, JsonElement Config, List<string> Problems) Checked<TLayout>(IModel model, string path,
        string family, Func<ModelArchitecture, TLayout> of, Action<TLayout, JsonElement, List<string>> check)
    {
        ArgumentNullException.ThrowIfNull(path);
        ModelArchitecture architecture = Architecture(model, family);
        TLayout layout = of(architecture);
        var (files, config) = Locate(path);
        var problems = new List<string>();
        check(layout, config, problems);
        RefuseIfAny(problems, path, architecture, "its config.json differs from the model: ");
        return (architecture, layout, files, config, problems);
    }

    /// <summary>
    /// An encoder's checkpoint into <paramref name="model"/>: every parameter from its <paramref name="sources"/>, but those of the
    /// layers after the encoder (<paramref name="head"/>) the checkpoint has no part in, kept as the model has them (a new head);
    /// any tensor missing, of another shape or left over (beyond <paramref name="ignored"/>), and any earlier problem, refused
    /// with all of them named, nothing loaded.
    /// </summary>
    private static void AssignEncoder(IModel model, string path, ModelArchitecture architecture, Dictionary<string, SafeTensor> tensors,
        Dictionary<string, ParameterSet.TensorRows[]> sources, IEnumerable<LayerInfo> head, Func<string, bool> ignored, List<string> problems)
    {
        HashSet<string> own = head.SelectMany(l => model.Parameters.Where(p => p.Name.StartsWith(l.Name + ".", StringComparison.Ordinal)))
            .Select(p => p.Name).Where(name => !sources.ContainsKey(name)).ToHashSet();
        AssignStacked(model, path, architecture, tensors, sources, ignored, problems, own.Contains);
    }

    /// <summary>
    /// Every parameter from its <paramref name="sources"/> in <paramref name="tensors"/> (those <paramref name="kept"/> names keep their
    /// values); any tensor missing, of another shape or left over (beyond <paramref name="ignored"/>), and any earlier problem, refused
    /// with all of them named (<paramref name="after"/> closing the message), nothing loaded. <paramref name="adjust"/> changes each
    /// parameter's values, by its name, before they are assigned (GPT-J's rotated rows reordered).
    /// </summary>
    private static void AssignStacked(IModel model, string path, ModelArchitecture architecture, Dictionary<string, SafeTensor> tensors,
        Dictionary<string, ParameterSet.TensorRows[]> sources, Func<string, bool> ignored, List<string> problems, Func<string, bool>? kept = null, string after = "",
        Action<string, float[]>? adjust = null)
    {
        ParameterSet.Staged[] values = model.Parameters.PrepareStacked(tensors, sources, ignored, problems, kept, adjust);
        RefuseIfAny(problems, path, architecture, after: after);
        model.Parameters.Assign(values);
    }

    /// <summary>
    /// An attention's <c>in_proj_weight</c> (or, <paramref name="part"/> "bias", <c>in_proj_bias</c>) from Hugging Face's separate
    /// <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> under <paramref name="prefix"/> (<c>model.layers.{i}.self_attn.</c>): the queries'
    /// rows, then the keys' and the values' (fewer with grouped heads), as in_proj_weight stacks them.
    /// </summary>
    private static ParameterSet.TensorRows[] SplitQkv(string prefix, AttentionInfo a, string part) =>
        [(prefix + "q_proj." + part, a.QueryWidth), (prefix + "k_proj." + part, a.KeyValueWidth), (prefix + "v_proj." + part, a.KeyValueWidth)];

    /// <summary>
    /// An attention's projections from Hugging Face's separate <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> under <paramref name="prefix"/>
    /// (<c>in_proj_weight</c>, and <c>in_proj_bias</c> where the attention has it) and its output projection, <paramref name="output"/>
    /// under the same prefix (<c>o_proj</c>, <c>out_proj</c>, <c>dense</c>).
    /// </summary>
    private static void AddSplitAttention(Dictionary<string, ParameterSet.TensorRows[]> sources, AttentionInfo a, string prefix, string output)
    {
        sources[a.Name + ".in_proj_weight"] = SplitQkv(prefix, a, "weight");
        if (a.Bias) sources[a.Name + ".in_proj_bias"] = SplitQkv(prefix, a, "bias");
        AddOutputProjection(sources, a, prefix + output);
    }

    /// <summary>An attention's <c>out_proj.weight</c> from <c>{hf}.weight</c>, and its bias from <c>{hf}.bias</c> where it has one.</summary>
    private static void AddOutputProjection(Dictionary<string, ParameterSet.TensorRows[]> sources, AttentionInfo a, string hf)
    {
        sources[a.Name + ".out_proj.weight"] = [(hf + ".weight", a.OutWidth)];
        if (a.HasOutputBias) sources[a.Name + ".out_proj.bias"] = [(hf + ".bias", a.OutWidth)];
    }

    /// <summary>
    /// The first of <paramref name="norms"/> whose ε differs from <paramref name="reference"/>'s, as a problem: <paramref name="family"/>'s
    /// norms share one <paramref name="key"/>.
    /// </summary>
    private static void NormsAlike(IEnumerable<LayerNormInfo> norms, LayerNormInfo reference, List<string> problems, string family, string key)
    {
        foreach (LayerNormInfo norm in norms.Where(n => n.Epsilon != reference.Epsilon).Take(1))
            problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{reference.Name}' {Number(reference.Epsilon)}: {family}'s norms share {key}");
    }

    /// <summary>
    /// A causal self-attention turning its queries and keys (a rotary base, no scaling) and nothing else of the options a decoder
    /// with rotary positions does not have (a window, heads of their own width, QK-norm, another scale, a soft cap, a position bias):
    /// GPT-NeoX's, Phi's, StableLM's and Falcon's, whose own biases and heads each loader checks beside it.
    /// </summary>
    private static bool IsPlainRotaryCausal(AttentionInfo x) =>
        x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false, SlidingWindow: 0, HeadWidth: 0, QueryKeyNorm: false, Scale: 0f,
            SoftCap: 0f, RelativeBuckets: 0, Alibi: false } && x.RotaryBase > 0f && x.RotaryScaling.Equals(default(RotaryScaling));

    /// <summary>The rotation's frequencies some checkpoints keep beside the weights (<c>….rotary_emb.inv_freq</c>): recomputed, nothing to load.</summary>
    private static bool IsRotaryBuffer(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>Refuses to save <paramref name="model"/> when its parts differ in what one <paramref name="family"/> configuration says once (<paramref name="unlike"/>, each named).</summary>
    private static void RefuseUnlike(List<string> unlike, string model, string family)
    {
        if (unlike.Count > 0) throw new ArgumentException($"{model} cannot be written as one {family} configuration: {string.Join("; ", unlike)}.", nameof(model));
    }

    /// <summary>Refuses to save <paramref name="model"/> when <paramref name="check"/> (a layout's CheckAlike) names what one <paramref name="family"/> configuration cannot say.</summary>
    private static void RefuseUnlike(string model, string family, Action<List<string>> check)
    {
        var unlike = new List<string>();
        check(unlike);
        RefuseUnlike(unlike, model, family);
    }

    /// <summary>A checkpoint's tensors without <paramref name="prefix"/> (the base model's, <c>transformer.</c>, <c>gpt_neox.</c>), read with or without it.</summary>
    private static Dictionary<string, SafeTensor> WithoutPrefix(Dictionary<string, SafeTensor> tensors, string prefix, string family) =>
        Renamed(tensors, name => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name, family, $"with and without the {prefix} prefix");

    /// <summary>
    /// Writes <paramref name="model"/>'s parameters as the checkpoint's tensors (<paramref name="sources"/>), each under <paramref name="prefix"/>
    /// but the head's (<paramref name="head"/>'s weight and its layer's other tensors, as <c>save_pretrained</c> names a causal language
    /// model's), with <paramref name="config"/>; <paramref name="adjust"/> as <see cref="SplitIntoTensors"/> takes it.
    /// </summary>
    private static void WritePrefixed(IModel model, string folder, Dictionary<string, ParameterSet.TensorRows[]> sources, byte[] config, string prefix, string head,
        Action<string, float[]>? adjust = null)
    {
        string headLayer = head[..(head.LastIndexOf('.') + 1)]; // (lm_head.weight's lm_head., its bias's too)
        WriteCheckpoint(folder, SplitIntoTensors(model, sources, adjust).Select(t => t.Name.StartsWith(headLayer, StringComparison.Ordinal) ? t : t with { Name = prefix + t.Name }), config);
    }

    /// <summary>
    /// A LLaMA-named decoder's tensors assigned: read from <paramref name="files"/>, <c>lm_head.weight</c> checked against the token table
    /// where the output layer is <paramref name="tied"/> (and then not read), the rotary frequencies' buffers left.
    /// </summary>
    private static void AssignWithHead(IModel model, string path, ModelArchitecture architecture, string[] files, bool tied,
        Dictionary<string, ParameterSet.TensorRows[]> sources, List<string> problems) =>
        AssignWithHead(model, path, architecture, ReadAll(files), tied, sources, problems);

    /// <inheritdoc cref="AssignWithHead(IModel, string, ModelArchitecture, string[], bool, Dictionary{string, ParameterSet.TensorRows[]}, List{string})"/>
    private static void AssignWithHead(IModel model, string path, ModelArchitecture architecture, Dictionary<string, SafeTensor> tensors, bool tied,
        Dictionary<string, ParameterSet.TensorRows[]> sources, List<string> problems)
    {
        CheckTiedHead(tensors, LlamaLayout.Head, LlamaLayout.Table, tied, problems);
        AssignStacked(model, path, architecture, tensors, sources, name => IsRotaryBuffer(name) || tied && name == LlamaLayout.Head, problems);
    }

    /// <summary>
    /// A tied output layer's tensor (<paramref name="head"/>, where the checkpoint keeps one) that differs from the token table
    /// it would read: the problem added.
    /// </summary>
    private static void CheckTiedHead(Dictionary<string, SafeTensor> tensors, string head, string table, bool tied, List<string> problems)
    {
        if (tied && tensors.TryGetValue(head, out SafeTensor? output) && tensors.TryGetValue(table, out SafeTensor? words) && !output.SameValues(words))
            problems.Add($"'{head}' differs from '{table}', but the model's output layer is tied to its embedding (TieEmbedding = true)");
    }

    /// <summary>
    /// The labels a saved classifier's config.json names (<c>id2label</c>): <paramref name="labels"/>, one distinct label per output
    /// of <paramref name="classifier"/>, or transformers' "LABEL_0", "LABEL_1", … where none are given; null where the model has no
    /// classifier. Labels that do not fit are refused by <paramref name="who"/>, and labels without a classifier with
    /// <paramref name="noClassifier"/>.
    /// </summary>
    private static string[]? ClassifierLabels(IReadOnlyList<string>? labels, DenseInfo? classifier, string who, string noClassifier)
    {
        if (labels is not null && (classifier is null || labels.Count != classifier.Units || labels.Any(l => l is null) || labels.Distinct().Count() != labels.Count))
            throw new ArgumentException(classifier is not null
                ? $"{who}: {labels.Count} labels for '{classifier.Name}''s {classifier.Units} outputs; give one distinct label per output."
                : $"{who}: labels given, but {noClassifier}", nameof(labels));
        return classifier is null ? null : labels?.ToArray() ?? Enumerable.Range(0, classifier.Units).Select(i => $"LABEL_{i}").ToArray();
    }

    /// <summary>A config.json's <c>architectures</c> (transformers' class of the model), and a classifier's <c>id2label</c> and <c>label2id</c>.</summary>
    private static void WriteArchitecture(Utf8JsonWriter w, string architecture, IReadOnlyList<string>? labels)
    {
        w.WriteStartArray("architectures");
        w.WriteStringValue(architecture);
        w.WriteEndArray();
        if (labels is null) return;
        w.WriteStartObject("id2label");
        for (int i = 0; i < labels.Count; i++) w.WriteString(i.ToString(CultureInfo.InvariantCulture), labels[i]);
        w.WriteEndObject();
        w.WriteStartObject("label2id");
        for (int i = 0; i < labels.Count; i++) w.WriteNumber(labels[i], i);
        w.WriteEndObject();
    }

    /// <summary>A config.json: one indented object, its fields as <paramref name="write"/> writes them.</summary>
    private static byte[] ConfigJson(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// A tensor a saver writes: its name, shape and values, as BF16 when <see cref="BFloat16"/> (every value it holds a bfloat16
    /// one), as 8-bit integers with a scale per row when <see cref="Quantized"/> (<see cref="Int8"/> and <see cref="Scales"/>: a
    /// parameter held so, as it is held), else F32. <see cref="Matrix"/>: a layer's weight matrix read as such (not a table of
    /// embeddings), which a quantized checkpoint names among the layers it leaves unquantized where it is not quantized itself.
    /// </summary>
    private readonly record struct CheckpointTensor(string Name, ReadOnlyMemory<int> Shape, ReadOnlyMemory<float> Values, bool BFloat16 = false,
        bool Matrix = false, bool Quantized = false, ReadOnlyMemory<sbyte> Int8 = default, ReadOnlyMemory<float> Scales = default);

    /// <summary>
    /// Each parameter's values (after <paramref name="adjust"/>, in place on a copy) split into the checkpoint's tensors by the rows
    /// its sources give; a tensor several parts make up (Phi-3's fused gate_up_proj, the gate's rows first) gathered from them.
    /// A parameter held in bfloat16 gives BF16 tensors, unless an adjustment left a value no bfloat16 holds (then F32: nothing is
    /// rounded on the way out); a fused tensor is BF16 when all its parts are. A weight matrix held in 8 bits (not a table of
    /// embeddings, its scales one per row of the tensor) gives its integers and scales as they are held, each tensor whose values
    /// the adjustment left as they were (a fused tensor when all its parts do); a table, or an adjusted tensor, the floats it
    /// stands for.
    /// </summary>
    private static List<CheckpointTensor> SplitIntoTensors(IModel model, Dictionary<string, ParameterSet.TensorRows[]> sources, Action<string, float[]>? adjust = null)
    {
        var tensors = new List<CheckpointTensor>();
        var fused = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var fusedHeld = new Dictionary<string, (sbyte[] Int8, float[] Scales)>(StringComparer.Ordinal); // (made for a part held in 8 bits)
        var fusedHalf = new Dictionary<string, bool>(StringComparer.Ordinal);
        var fusedQuantized = new Dictionary<string, bool>(StringComparer.Ordinal);
        HashSet<string> tables = TableParameters(model);
        foreach (var (parameter, parts) in sources.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Parameter p = model.Parameters[parameter];
            float[] values = p.ToArray();
            float[]? read = adjust is not null && p.Precision == Precision.Int8 ? (float[])values.Clone() : null;
            adjust?.Invoke(parameter, values);
            bool half = p.Precision == Precision.BFloat16 && Array.TrueForAll(values, v => (BitConverter.SingleToUInt32Bits(v) & 0xFFFF) == 0);
            int[] stacked = ParameterSet.TensorRows.StackedShape(p.Shape, parts)
                ?? throw new ArgumentException($"Parameter '{parameter}' {Shapes.Format(p.Shape)} is not a stack of matrices its sources read.", nameof(sources));
            int rowLength = p.Length / stacked[0], at = 0;
            bool matrices = !tables.Contains(parameter);
            (sbyte[] Values, float[] Scales)? held = matrices && p.Precision == Precision.Int8 && p.Weights.RowLength == rowLength
                ? (p.Weights.Int8Values.ToArray(), p.Weights.Int8Scales.ToArray()) : null;
            foreach (ParameterSet.TensorRows part in parts)
            {
                int[] shape = part.TensorShape(stacked);
                bool matrix = matrices && shape.Length == 2 && part.Name.EndsWith(".weight", StringComparison.Ordinal);
                int length = part.Rows * rowLength;
                bool quantized = matrix && held is not null && (read is null || read.AsSpan(at, length).SequenceEqual(values.AsSpan(at, length)));
                if (part.Total == part.Rows)
                    tensors.Add(new(part.Name, shape, values.AsMemory(at, length), half, matrix, quantized,
                        quantized ? held!.Value.Values.AsMemory(at, length) : default, quantized ? held!.Value.Scales.AsMemory(at / rowLength, part.Rows) : default));
                else
                {
                    if (!fused.TryGetValue(part.Name, out float[]? whole))
                    {
                        fused[part.Name] = whole = new float[part.Total * rowLength];
                        tensors.Add(new(part.Name, shape, whole, Matrix: matrix));
                    }
                    values.AsSpan(at, length).CopyTo(whole.AsSpan(part.First * rowLength));
                    if (quantized)
                    {
                        if (!fusedHeld.TryGetValue(part.Name, out var integers))
                            fusedHeld[part.Name] = integers = (new sbyte[part.Total * rowLength], new float[part.Total]);
                        held!.Value.Values.AsSpan(at, length).CopyTo(integers.Int8.AsSpan(part.First * rowLength));
                        held.Value.Scales.AsSpan(at / rowLength, part.Rows).CopyTo(integers.Scales.AsSpan(part.First));
                    }
                    fusedHalf[part.Name] = fusedHalf.GetValueOrDefault(part.Name, true) && half;
                    fusedQuantized[part.Name] = fusedQuantized.GetValueOrDefault(part.Name, true) && quantized;
                }
                at += length;
            }
        }
        for (int i = 0; i < tensors.Count; i++)
            if (fused.ContainsKey(tensors[i].Name))
                tensors[i] = fusedQuantized[tensors[i].Name]
                    ? tensors[i] with { Quantized = true, Int8 = fusedHeld[tensors[i].Name].Int8, Scales = fusedHeld[tensors[i].Name].Scales }
                    : tensors[i] with { BFloat16 = fusedHalf[tensors[i].Name] };
        return tensors;
    }

    /// <summary>
    /// The parameters of a model's tables of embeddings (tokens, positions, token types): rows gathered, not a layer's matrix;
    /// an encoder–decoder's, each part's under its prefix.
    /// </summary>
    private static HashSet<string> TableParameters(IModel model)
    {
        var tables = new HashSet<string>(StringComparer.Ordinal);
        void Add(IModel part, string prefix)
        {
            if (part is IComposedModel composed)
                foreach ((string inner, IModel each) in composed.Parts) Add(each, prefix + inner);
            foreach (LayerInfo l in part.Architecture?.Layers ?? [])
                if (l is EmbeddingInfo or PositionEmbeddingInfo or TokenTypeEmbeddingInfo) tables.Add(prefix + l.Name + ".weight");
        }
        Add(model, "");
        return tables;
    }

    /// <summary>
    /// Writes a checkpoint's <c>model.safetensors</c> (in name order, 8-bit tensors last; "pt" format) and <c>config.json</c> into
    /// <paramref name="folder"/> (created if need be): both built before either is touched, then replaced together (weights
    /// beside another model's config.json would load into a model that computes something else).
    /// </summary>
    /// <remarks>
    /// Where some weights are <see cref="CheckpointTensor.Quantized"/> the checkpoint is compressed-tensors' <c>int-quantized</c>
    /// one, as llm-compressor's W8A16 with <c>format</c> "int-quantized" saves it: each such weight an I8 tensor beside its
    /// <c>weight_scale</c> [rows, 1] (a scale per output channel), and config.json's <c>quantization_config</c> saying so
    /// (<see cref="QuantizationConfig"/>), which the loaders read back as held.
    /// </remarks>
    private static void WriteCheckpoint(string folder, IEnumerable<CheckpointTensor> tensors, byte[] config)
    {
        var list = tensors.ToList();
        var quantized = list.Where(t => t.Quantized).ToList();
        if (quantized.Count > 0)
        {
            config = QuantizationConfig(config, list);
            list = [.. list.Select(t => t.Quantized ? t with { Values = default } : t),
                .. quantized.Select(t => new CheckpointTensor(t.Name[..^".weight".Length] + ScaleSuffix, new[] { t.Shape.Span[0], 1 }, t.Scales))];
        }
        // (8-bit tensors after the others, whose values then start on their own size, as safetensors' writer orders them)
        Action<Stream> weights = SafeTensors.Writer(list.OrderBy(t => t.Quantized).ThenBy(t => t.Name, StringComparer.Ordinal).Select(t => (t.Name, t.Shape, t.Values)),
            new Dictionary<string, string> { ["format"] = "pt" }, list.Where(t => t.BFloat16).Select(t => t.Name).ToHashSet(StringComparer.Ordinal),
            quantized.ToDictionary(t => t.Name, t => t.Int8, StringComparer.Ordinal));
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAll([(Path.Combine(folder, "model.safetensors"), weights), (Path.Combine(folder, "config.json"), stream => stream.Write(config))]);
    }

    /// <summary>
    /// Loads the tokenizer of a Hugging Face model: <c>tokenizer.json</c> in <paramref name="path"/> (a model's folder, the
    /// one <see cref="LoadLlama"/> reads) or that file itself, and the <c>bos_token</c> and <c>eos_token</c> of the
    /// <c>tokenizer_config.json</c> beside it (<see cref="Tokenizer.BosTokenId"/>, <see cref="Tokenizer.EosTokenId"/>). See
    /// <see cref="Tokenizer"/> for what it reads.
    /// </summary>
    /// <exception cref="FileNotFoundException">No tokenizer.json there (an older model's tokenizer.model, SentencePiece's own format, is not read).</exception>
    /// <exception cref="InvalidDataException">The file is not a tokenizer.json this reads; the message names the part.</exception>
    public static Tokenizer LoadTokenizer(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file))
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"'{path}' holds no tokenizer.json (the tokenizers library's file, which transformers' fast tokenizers save{(File.Exists(Path.Combine(path, "tokenizer.model")) ? "; its tokenizer.model, SentencePiece's own format, is not read" : "")})."
                : $"No tokenizer at '{path}': expected a model's folder holding tokenizer.json, or the file.", file);
        Tokenizer tokenizer = Tokenizer.Parse(File.ReadAllText(file), $"'{file}'");
        // its special tokens' names (bos_token, eos_token), as transformers reads them
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "tokenizer_config.json");
        if (File.Exists(config)) tokenizer.ReadConfig(File.ReadAllText(config), $"'{config}'");
        // transformers' newer layout keeps the chat template in a file of its own
        string jinja = Path.Combine(Path.GetDirectoryName(config)!, "chat_template.jinja");
        if (File.Exists(jinja)) tokenizer.ReadChatTemplate(File.ReadAllText(jinja));
        return tokenizer;
    }

    /// <summary>The model's architecture matched to LLaMA's layers (an ArgumentException naming the first that differs).</summary>
    private static (ModelArchitecture Architecture, LlamaLayout Layout) Layout(IModel model)
    {
        ModelArchitecture architecture = Architecture(model, "LLaMA's");
        return (architecture, LlamaLayout.Of(architecture));
    }

    /// <summary>The model's architecture, whose layers a checkpoint's (<paramref name="family"/>'s) are matched to.</summary>
    private static ModelArchitecture Architecture(IModel model, string family)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Architecture
            ?? throw new ArgumentException($"{model.GetType().Name} describes no architecture (a generated model does): its layers cannot be matched to {family}.", nameof(model));
    }

    /// <summary>
    /// Walks a model's layers against a checkpoint family's layout: <see cref="At{T}"/> takes the layer at an index when it is
    /// of the kind and fits, else throws <see cref="Differs"/>'s error, naming the layer, what belongs there, and the layout.
    /// </summary>
    private sealed class LayerWalk(ModelArchitecture architecture, string family, string expected)
    {
        public IReadOnlyList<LayerInfo> Layers => architecture.Layers;

        public ArgumentException Differs(int i, string what)
        {
            IReadOnlyList<LayerInfo> l = architecture.Layers;
            return new(i < l.Count
                ? $"{architecture.Name} is not laid out as {family}: layer {i} ('{l[i].Name}', {Describe(l[i])}) is where {what} belongs. Expected {expected}."
                : $"{architecture.Name} is not laid out as {family}: it ends after {l.Count} layers, where {what} belongs. Expected {expected}.", "model");
        }

        /// <summary>
        /// The two residuals after a parallel block's feed-forward (at <paramref name="at"/>, moved past them): one adding the attention's
        /// output (layer <paramref name="attended"/>'s), one the block's input (layer <paramref name="input"/>'s), in either order (the
        /// same sum); <paramref name="toAttention"/> and <paramref name="toInput"/> are their Layers = k without dropout, for the errors.
        /// </summary>
        public void BranchesAdded(ref int at, string where, int attended, int input, int toAttention, int toInput)
        {
            string Adding(bool attention) => attention ? $"{where}'s residual adding the attention's output ([Residual(Layers = {toAttention})], a layer more over each [Dropout])"
                : $"{where}'s residual adding its input ([Residual(Layers = {toInput})], a layer more over each [Dropout])";
            var one = At<ResidualInfo>(at++, Adding(true), r => r.From == attended || r.From == input);
            int other = one.From == attended ? input : attended;
            At<ResidualInfo>(at++, Adding(other == attended), r => r.From == other);
        }

        /// <summary>
        /// What a decoder's walk ends with: its last norm at <paramref name="at"/> (<paramref name="norm"/>: a [LayerNorm], with its shift
        /// as <paramref name="normBias"/>, learning nothing where <paramref name="weightless"/>), the output layer after it (<paramref name="head"/>: a [Dense(<paramref name="vocabulary"/>)]
        /// without an activation, its bias as <paramref name="headBias"/>, untied from the token table where <paramref name="untied"/>)
        /// and nothing after.
        /// </summary>
        public (LayerNormInfo Norm, DenseInfo Output) LastNormAndHead(int at, string norm, string head, int vocabulary, bool headBias = false, bool untied = false,
            bool normBias = true, bool weightless = false)
        {
            var last = At<LayerNormInfo>(at, norm, x => x.Bias == normBias, weightless);
            var output = At<DenseInfo>(at + 1, $"the output layer ({head})",
                d => d is { Gated: false, Activation: Activation.None, SoftCap: 0f } && d.Bias == headBias && (!untied || d.TiedTo is null) && d.Units == vocabulary);
            if (at + 2 < Layers.Count) throw Differs(at + 2, $"nothing ({family} ends with its output layer)");
            return (last, output);
        }

        /// <summary>
        /// The layer at <paramref name="i"/> where it is a <typeparamref name="T"/> that <paramref name="fits"/>, else the layout's error
        /// naming <paramref name="what"/> belongs there. A norm fits only with its learned scale, or only without one where
        /// <paramref name="weightless"/> (OLMo's: the checkpoint holds no tensor for it); an attention with OLMo's options — clipping
        /// its projections (ClipQkv), QK-norm across the heads — only where <paramref name="olmo"/> allows them (OLMo's loaders, which
        /// check them against <c>clip_qkv</c> and the norms' shapes).
        /// </summary>
        public T At<T>(int i, string what, Func<T, bool> fits, bool weightless = false, bool olmo = false) where T : LayerInfo =>
            i < architecture.Layers.Count && architecture.Layers[i] is T layer && Learns(layer) != weightless
                && (olmo || layer is not (AttentionInfo { ClipQkv: > 0f } or AttentionInfo { QueryKeyNormAcrossHeads: true })) && fits(layer) ? layer : throw Differs(i, what);

        /// <summary>Whether a layer has learned parameters where a checkpoint's norm has them: false for a norm without its affine map.</summary>
        private static bool Learns(LayerInfo layer) => layer is not (LayerNormInfo { ElementwiseAffine: false } or RmsNormInfo { ElementwiseAffine: false });

        /// <summary>
        /// A LLaMA-style decoder layer <paramref name="n"/>'s feed-forward at <paramref name="at"/> (moved past it): the gated gate and up
        /// projections (an activation, no bias) and down_proj back to <paramref name="width"/> (no bias); with <paramref name="mlpBias"/>
        /// (Granite's mlp_bias) both with a bias or both without.
        /// </summary>
        public (DenseInfo Mlp, DenseInfo Down) GatedFeedForward(ref int at, int n, int width, bool mlpBias = false)
        {
            var mlp = At<DenseInfo>(at++, $"decoder layer {n}'s gate_proj and up_proj ([Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)]{(mlpBias ? "; mlp_bias: Bias = true" : "")})",
                d => d is { Gated: true, TiedTo: null, SoftCap: 0f } && d.Activation != Activation.None && (mlpBias || !d.Bias));
            var down = At<DenseInfo>(at++, mlpBias ? $"decoder layer {n}'s down_proj ([Dense({width}), its Bias as the gated layer's])" : $"decoder layer {n}'s down_proj ([Dense({width}, Bias = false)])",
                d => d is { Gated: false, Activation: Activation.None, TiedTo: null, SoftCap: 0f } && d.Units == width && d.Bias == mlp.Bias);
            return (mlp, down);
        }

        /// <summary>The layer at <paramref name="i"/> where it is a <typeparamref name="T"/> (an optional part), <paramref name="i"/> moved past it; else null.</summary>
        public T? Optional<T>(ref int i) where T : LayerInfo
        {
            if (i >= architecture.Layers.Count || architecture.Layers[i] is not T layer) return null;
            i++;
            return layer;
        }

        /// <summary>The index after a [Dropout] at <paramref name="i"/> (where the checkpoint's model drops out: nothing to load, the identity at inference), else <paramref name="i"/>.</summary>
        public int Dropout(int i) => i < architecture.Layers.Count && architecture.Layers[i] is DropoutInfo ? i + 1 : i;
    }

    /// <summary>A layer as its declaration reads, for the layout errors.</summary>
    private static string Describe(LayerInfo layer) => layer switch
    {
        DenseInfo d => $"Dense({d.Units}{(d.Activation == Activation.None ? "" : $", Activation = {d.Activation}")}{(d.Gated ? ", Gated = true" : "")}{(d.Bias ? "" : ", Bias = false")}{(d.TiedTo is null ? "" : ", TieEmbedding = true")}{(d.SoftCap > 0f ? $", SoftCap = {Number(d.SoftCap)}" : "")})",
        AttentionInfo x => $"Attention(Heads = {x.Heads}{(x.KeyValueHeads > 0 ? $", KeyValueHeads = {x.KeyValueHeads}" : "")}, Score = {x.Score}{(x.Causal ? ", Causal = true" : "")}{(x.RotaryBase > 0 ? ", Rotary = true" : "")}{(x.Pool ? ", Pool = true" : "")}{(x.MemoryWidth > 0 ? ", Over = …" : "")}{(x.Bias ? "" : ", Bias = false")}{(x.HeadWidth > 0 ? $", HeadWidth = {x.HeadWidth}" : "")}{(x.QueryKeyNorm ? ", QueryKeyNorm = true" : "")}{(x.QueryKeyNormAcrossHeads ? ", QueryKeyNormAcrossHeads = true" : "")}{(x.SoftCap > 0f ? $", SoftCap = {Number(x.SoftCap)}" : "")}{(x.RotaryDimensions > 0 ? $", RotaryDimensions = {x.RotaryDimensions}" : "")}{(x.RelativeBuckets > 0 ? $", RelativeBuckets = {x.RelativeBuckets}" : "")}{(x.Alibi ? ", Alibi = true" : "")}{(x.AlibiScaled ? ", AlibiScaled = true" : "")}{(x.ClipQkv > 0f ? $", ClipQkv = {Number(x.ClipQkv)}" : "")})",
        ResidualInfo r => $"a Residual adding layer {r.From}'s output",
        BranchInfo b => $"a Branch from layer {b.From}'s output",
        LayerNormInfo n => $"LayerNorm{(!n.ElementwiseAffine ? "(ElementwiseAffine = false)" : n.Bias ? "" : "(Bias = false)")}",
        RmsNormInfo { ElementwiseAffine: false } => "RmsNorm(ElementwiseAffine = false)",
        ScaleInfo s => $"Scale({Number(s.Factor)})",
        MoeInfo m => $"Moe(experts: {m.Experts}, units: {m.Units}, TopK = {m.TopK}{(m.NormalizeTopK ? "" : ", NormalizeTopK = false")}, Activation = {m.Activation}{(m.Gated ? "" : ", Gated = false")}{(m.Bias ? ", Bias = true" : "")}{(m.LoadBalancingLoss > 0f ? $", LoadBalancingLoss = {Number(m.LoadBalancingLoss)}" : "")}"
            + $"{(m.SharedUnits > 0 ? $", SharedUnits = {m.SharedUnits}" : "")}{(m.SharedExpertGate ? ", SharedExpertGate = true" : "")})",
        _ => layer.GetType().Name.Replace("Info", "", StringComparison.Ordinal),
    };

    /// <summary>A whole number of config.json against the declared one (or <paramref name="fallback"/>, its default, where it is absent); the difference added to <paramref name="problems"/>.</summary>
    private static void ConfigInt(JsonElement c, List<string> problems, string key, int declared, string where, int? fallback = null)
    {
        JsonElement? v = Value(c, key);
        if (v is null && fallback is null) return;
        if (v is { } e && !(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _))) problems.Add($"{key} is {e.GetRawText()}, not a whole number");
        else if ((v?.GetInt32() ?? fallback) is int value && value != declared) problems.Add($"{key} is {value}{(v is null ? " (its default)" : "")}, the model declares {declared} ({where})");
    }

    /// <summary>A number of config.json against the declared float (as <see cref="ConfigInt"/>).</summary>
    private static void ConfigFloat(JsonElement c, List<string> problems, string key, float declared, string where, double? fallback = null)
    {
        JsonElement? v = Value(c, key);
        if (v is null && fallback is null) return;
        if (v is { } e && e.ValueKind != JsonValueKind.Number) problems.Add($"{key} is {e.GetRawText()}, not a number");
        else if ((float)(v?.GetDouble() ?? fallback!.Value) is float value && value != declared)
            problems.Add($"{key} is {Number(value)}{(v is null ? " (its default)" : "")}, the model declares {Number(declared)} ({where})");
    }

    /// <summary>A boolean of config.json (<paramref name="fallback"/> where absent) against each of <paramref name="layers"/>' own (<paramref name="has"/>); the first that differs added to <paramref name="problems"/>.</summary>
    /// <remarks><paramref name="nullIsFalse"/>: a null given reads false, as Python's truth reads None where the model tests the flag itself.</remarks>
    private static void ConfigFlag<T>(JsonElement c, List<string> problems, string key, IEnumerable<T> layers, Func<T, bool> has, Func<T, string> name, bool fallback = false,
        bool nullIsFalse = false)
    {
        JsonElement? v = Value(c, key);
        if (v is { } given && given.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            problems.Add($"{key} is {given.GetRawText()}, not true or false");
            return;
        }
        bool isNull = nullIsFalse && v is null && c.TryGetProperty(key, out _);
        bool flag = isNull ? false : v is null ? fallback : v.Value.ValueKind == JsonValueKind.True;
        if (layers.FirstOrDefault(l => has(l) != flag) is { } unlike)
            problems.Add($"{key} is {(isNull ? "null (false)" : flag ? "true" : "false")}{(v is null && !isNull ? " (its default)" : "")}, the model declares {name(unlike)}");
    }

    /// <summary>The norms' ε in config.json under <paramref name="key"/> (<paramref name="fallback"/> where absent) against each norm's own; the first that differs added to <paramref name="problems"/>.</summary>
    private static void ConfigEpsilon(JsonElement c, List<string> problems, string key, double fallback, IEnumerable<LayerNormInfo> norms)
    {
        JsonElement? v = Value(c, key);
        if (v is { } given && given.ValueKind != JsonValueKind.Number) problems.Add($"{key} is {given.GetRawText()}, not a number");
        else
        {
            float eps = (float)(v?.GetDouble() ?? fallback);
            foreach (LayerNormInfo norm in norms.Where(n => n.Epsilon != eps).Take(1))
                problems.Add($"{key} is {Number(eps)}{(v is null ? " (its default)" : "")}, the model declares {Number(norm.Epsilon)} ('{norm.Name}' Epsilon)");
        }
    }

    /// <summary>A layer's name, and "(Bias = false)" after it where it has no bias: what <see cref="ConfigFlag"/> names for a bias flag.</summary>
    private static string BiasOf(string name, bool bias) => $"'{name}'{(bias ? "" : " (Bias = false)")}";

    /// <summary>The class names config.json's <c>architectures</c> lists (none where it lists none).</summary>
    private static IEnumerable<string> Architectures(JsonElement c) => Value(c, "architectures") is { ValueKind: JsonValueKind.Array } names
        ? names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!) : [];

    /// <summary>
    /// The checkpoint's tensors under the names <paramref name="plain"/> gives them (a task model's prefix taken off); two that meet
    /// under one name are refused, <paramref name="why"/> saying how they could.
    /// </summary>
    private static Dictionary<string, SafeTensor> Renamed(Dictionary<string, SafeTensor> tensors, Func<string, string> plain, string family, string why)
    {
        var readable = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            string renamed = plain(name);
            if (!readable.TryAdd(renamed, tensor)) throw new InvalidDataException($"'{name}' and another tensor are both {family}'s '{renamed}' ({why}).");
        }
        return readable;
    }

    /// <summary>
    /// The token types' table [<paramref name="types"/>, <paramref name="width"/>] set aside and its first row added to every row
    /// of <paramref name="table"/> [<paramref name="rows"/>, width] (float32): every token of type 0, as one text reads, where the
    /// model declares no token types (BERT's positions, NomicBERT's words); missing or of another shape, the problem.
    /// </summary>
    private static void FoldFirstTokenType(Dictionary<string, SafeTensor> readable, string typesName, int types, string table, int rows, int width, string addedTo, List<string> problems)
    {
        if (!readable.Remove(typesName, out SafeTensor? tokenTypes)) problems.Add($"missing tensor '{typesName}' [{types}, {width}] (its first row is added to {addedTo})");
        else if (tokenTypes.Shape is not [long r, long columns] || r != types || columns != width || !tokenTypes.IsFloatingPoint)
            problems.Add($"tensor '{typesName}' has shape {Shapes.Format<long>(tokenTypes.Shape)} ({tokenTypes.DType}), expected [{types}, {width}] of a floating-point type (type_vocab_size and the width)");
        else if (readable.TryGetValue(table, out SafeTensor? values) && values.Shape is [long p, long w] && p == rows && w == width && values.IsFloatingPoint)
        {
            float[] sum = values.ToFloat(), first = tokenTypes.ToFloat();
            for (int i = 0; i < sum.Length; i++) sum[i] += first[i % width];
            readable[table] = new SafeTensor(table, values.Shape, sum);
        }
    }

    /// <summary>
    /// The problem where a layer after the first of <paramref name="attentions"/> does not read the first's relative position table
    /// (a table of its own: it, or a layer before it, declares RelativeShared = false), as one that <paramref name="keeps"/>; null where all do.
    /// </summary>
    private static string? RelativeNotShared(IReadOnlyList<AttentionInfo> attentions, string keeps)
    {
        AttentionInfo first = attentions[0];
        return attentions.Skip(1).FirstOrDefault(a => a.RelativeSharedWith != first.Name) is { } own
            ? $"'{own.Name}' holds a relative position table of its own, not '{first.Name}''s: {keeps} (declare no layer with RelativeShared = false)" : null;
    }

    /// <summary>
    /// Whether config.json is an object whose <c>model_type</c> (where it names one) <paramref name="reads"/> accepts; else the problem
    /// added, "model_type is …: " then <paramref name="refusal"/> (every loader's first check).
    /// </summary>
    private static bool ReadsModelType(JsonElement c, List<string> problems, Func<string, bool> reads, string refusal)
    {
        if (c.ValueKind != JsonValueKind.Object)
        {
            problems.Add("it is not a JSON object");
            return false;
        }
        if (Value(c, "model_type") is { } type && !(type.ValueKind == JsonValueKind.String && reads(type.GetString()!)))
        {
            problems.Add($"model_type is {type.GetRawText()}: {refusal}");
            return false;
        }
        return true;
    }

    /// <summary>A flag of config.json that must be false (or absent): else the problem, <paramref name="why"/>.</summary>
    private static void ConfigOff(JsonElement c, List<string> problems, string key, string why)
    {
        if (Value(c, key) is { } v && v.ValueKind != JsonValueKind.False) problems.Add($"{key} is {v.GetRawText()}: {why}");
    }

    /// <summary>
    /// Gemma 3 4B and up are published as image-text models (<c>Gemma3ForConditionalGeneration</c>, <c>model_type</c> "gemma3"):
    /// their language model's configuration is <c>text_config</c> (a <c>Gemma3ForCausalLM</c>'s; its <c>model_type</c> taken as
    /// "gemma3_text" where it says none). True when <paramref name="config"/> was such, now its text model's.
    /// </summary>
    private static bool TextModel(ref JsonElement config)
    {
        if (ModelType(config) != "gemma3" || Value(config, "text_config") is not { ValueKind: JsonValueKind.Object } text) return false;
        var node = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(text.GetRawText())!;
        node.TryAdd("model_type", Gemma3);
        using JsonDocument document = JsonDocument.Parse(node.ToJsonString());
        config = document.RootElement.Clone();
        return true;
    }

    /// <summary>
    /// An image-text checkpoint's language model under the text model's names: <c>language_model.model.</c> (as Google
    /// published them; <c>model.language_model.</c> as transformers 4.52 and later save them) becomes <c>model.</c>,
    /// <c>language_model.lm_head.</c> <c>lm_head.</c>; the vision tower and the projector into the text model are left out.
    /// </summary>
    private static Dictionary<string, SafeTensor> TextTensors(Dictionary<string, SafeTensor> tensors)
    {
        string[] vision = ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."];
        (string From, string To)[] renames = [("language_model.model.", "model."), ("model.language_model.", "model."), ("language_model.lm_head.", "lm_head.")];
        var text = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (vision.Any(v => name.StartsWith(v, StringComparison.Ordinal))) continue;
            string renamed = renames.FirstOrDefault(r => name.StartsWith(r.From, StringComparison.Ordinal)) is { From: not null } r ? r.To + name[r.From.Length..] : name;
            if (!text.TryAdd(renamed, tensor))
                throw new InvalidDataException($"'{name}' and another tensor are both the language model's '{renamed}'.");
        }
        return text;
    }

    /// <summary>Tensors a checkpoint may hold that the model recomputes or shares: the rotary frequencies (older exports), a tied head.</summary>
    private static bool Ignored(string name, bool tied) =>
        IsRotaryBuffer(name) || (tied && name == LlamaLayout.Head);

    /// <summary>The safetensors files of a checkpoint and its config.json (which every Hugging Face checkpoint has).</summary>
    private static (string[] Files, JsonElement Config) Locate(string path)
    {
        string folder;
        string[] files;
        if (Directory.Exists(path))
        {
            folder = path;
            string single = Path.Combine(path, "model.safetensors"), index = Path.Combine(path, "model.safetensors.index.json");
            if (File.Exists(single)) files = [single];
            else if (File.Exists(index)) files = Shards(index);
            else throw new FileNotFoundException($"'{path}' holds neither model.safetensors nor model.safetensors.index.json (a Hugging Face checkpoint's weights).", single);
        }
        else if (File.Exists(path))
        {
            folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            files = path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase) ? Shards(path) : [path];
        }
        else throw new FileNotFoundException($"No checkpoint at '{path}': expected a folder with model.safetensors (or its shards' index) or a safetensors file.", path);
        string config = Path.Combine(folder, "config.json");
        // the tensors' shapes do not say the heads, ε or the rotary base (4 query heads over 2 and 8 over 4 have the same
        // shapes): without the configuration a checkpoint could load into a model that computes something else
        if (!File.Exists(config))
            throw new FileNotFoundException($"No config.json beside '{path}': a Hugging Face checkpoint's configuration says its heads, ε and rotary base, which the tensors do not, and the model is checked against it.", config);
        return (files, Json(config));
    }

    /// <summary>The shard files an index's <c>weight_map</c> names, each once, beside the index.</summary>
    private static string[] Shards(string index)
    {
        JsonElement root = Json(index);
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{index}' has no weight_map object (a safetensors index maps each tensor to its shard).");
        string folder = Path.GetDirectoryName(Path.GetFullPath(index))!;
        var files = new List<string>();
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String || Path.GetFileName(entry.Value.GetString()) != entry.Value.GetString())
                throw new InvalidDataException($"'{index}': the shard of '{entry.Name}' must be a file name beside the index, got {entry.Value.GetRawText()}.");
            string file = Path.Combine(folder, entry.Value.GetString()!);
            if (files.Contains(file)) continue;
            if (!File.Exists(file))
                throw new FileNotFoundException($"'{index}' puts '{entry.Name}' in the shard '{entry.Value.GetString()}', which is not beside it.", file);
            files.Add(file);
        }
        return files.ToArray();
    }

    private static JsonElement Json(string path)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Every tensor of the files, by name (a name in two files is refused), a quantized checkpoint's weights read with their
    /// scales as the config.json beside them says (<see cref="Dequantized"/>).
    /// </summary>
    private static Dictionary<string, SafeTensor> ReadAll(string[] files)
    {
        // (Locate found the files beside the config.json it read) a quantization not read is refused before any header is
        string folder = Path.GetDirectoryName(Path.GetFullPath(files[0]))!;
        WeightQuantization? quantized = CheckedQuantization(Json(Path.Combine(folder, "config.json")), folder);
        var all = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            foreach (KeyValuePair<string, SafeTensor> t in SafeTensors.Index(file)) // (each tensor read when its values are copied: no copy of the file held)
            {
                if (!all.TryAdd(t.Key, t.Value))
                    throw new InvalidDataException($"Tensor '{t.Key}' is in more than one shard ('{file}' among them).");
            }
        }
        return Dequantized(all, quantized, folder);
    }

    /// <summary>A model's layers matched to LLaMA's: the token table, the decoder layers, the last norm and the output layer.</summary>
    private sealed record LlamaLayout(string Model, EmbeddingInfo Embedding, IReadOnlyList<DecoderLayer> Layers, RmsNormInfo Norm, DenseInfo? Output)
    {
        public const string Table = "model.embed_tokens.weight", Head = "lm_head.weight";

        public bool Tied => Output?.TiedTo is not null;

        /// <summary>
        /// A base model's checkpoint (<c>LlamaModel</c>, <c>Qwen3Model</c>, … saved alone: <c>embed_tokens.weight</c>, <c>layers.{i}.…</c>,
        /// <c>norm.weight</c>) under a causal language model's names (<c>model.</c> before each); other checkpoints as they are.
        /// </summary>
        public static Dictionary<string, SafeTensor> Prefixed(Dictionary<string, SafeTensor> tensors) =>
            tensors.ContainsKey("embed_tokens.weight") && !tensors.ContainsKey(Table)
                ? Renamed(tensors, name => name == Head ? name : "model." + name, "LLaMA", "a base model's names and a causal language model's side by side")
                : tensors;

        /// <summary>
        /// A base model (transformers' <c>LlamaModel</c>, <c>Qwen3Model</c>, …): the model ends with the last norm, its last hidden
        /// state (the decoder-based embedding models': Qwen3-Embedding's, gte-Qwen2's, e5-mistral's), no output layer.
        /// </summary>
        public bool Base => Output is null;

        /// <summary>The output layer's soft cap (Gemma 2's final_logit_softcapping; 0 without an output layer).</summary>
        public float OutputCap => Output?.SoftCap ?? 0f;

        public static LlamaLayout Of(ModelArchitecture a)
        {
            string expected = "LLaMA's layout: [Embedding], then per decoder layer [RmsNorm] [Attention(Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)] "
                + "[RmsNorm] [Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(E, Bias = false)] [Residual(Layers = 3)], then [RmsNorm] [Dense(V, Bias = false)] "
                + "(Gemma 2's and 3's: a [RmsNorm] before each [Residual] too, [Residual(Layers = 3)] and [Residual(Layers = 4)])";
            var walk = new LayerWalk(a, "LLaMA", expected);
            IReadOnlyList<LayerInfo> l = walk.Layers;
            ArgumentException Differs(int i, string what) => walk.Differs(i, what);
            T At<T>(int i, string what, Func<T, bool> fits) where T : LayerInfo => walk.At(i, what, fits);
            var embedding = At<EmbeddingInfo>(0, "the token table (an [Embedding]; ScaleBySqrtDim as Gemma's only)", e => e.Scale == 1f || e.Scale == GemmaScale(e.Dim));
            int width = embedding.Dim, at = 1;
            var layers = new List<DecoderLayer>();
            while (at + 6 < l.Count && l[at] is RmsNormInfo && l[at + 1] is AttentionInfo)
            {
                int n = layers.Count;
                int start = at;
                var input = At<RmsNormInfo>(at++, $"decoder layer {n}'s input_layernorm ([RmsNorm])", _ => true);
                var attention = At<AttentionInfo>(at++, $"decoder layer {n}'s self_attn ([Attention(Heads = h, KeyValueHeads = g, Causal = true, Rotary = true, Bias = false)]; Qwen2's: OutputBias = false instead)",
                    x => x is { MemoryWidth: 0, Pool: false, Causal: true, Score: AttentionScore.ScaledDot, InputFeeding: false } && x.RotaryBase > 0f);
                // Gemma 2's and 3's sandwich: a norm on the attention's output before the residual (and on the feed-forward's)
                RmsNormInfo? afterAttention = at < l.Count && l[at] is RmsNormInfo { ElementwiseAffine: true } sandwich ? sandwich : null;
                if (afterAttention is not null) at++;
                int residual = at;
                At<ResidualInfo>(at++, $"decoder layer {n}'s residual around the attention ([Residual(Layers = {residual - start})])", r => r.From == start - 1);
                var post = At<RmsNormInfo>(at++, $"decoder layer {n}'s {(afterAttention is null ? "post_attention_layernorm" : "pre_feedforward_layernorm")} ([RmsNorm])", _ => true);
                var mlp = At<DenseInfo>(at++, $"decoder layer {n}'s gate_proj and up_proj ([Dense(I, Activation = Activation.Silu, Gated = true, Bias = false)]; Gemma's GELU)",
                    d => d is { Gated: true, Activation: Activation.Silu or Activation.GeluTanh or Activation.Gelu, Bias: false, TiedTo: null });
                var down = At<DenseInfo>(at++, $"decoder layer {n}'s down_proj ([Dense({width}, Bias = false)])",
                    d => d is { Gated: false, Activation: Activation.None, Bias: false, TiedTo: null, SoftCap: 0f } && d.Units == width);
                RmsNormInfo? afterMlp = afterAttention is null ? null : At<RmsNormInfo>(at++, $"decoder layer {n}'s post_feedforward_layernorm ([RmsNorm]: Gemma 3's sandwich has one after the attention and one after the feed-forward)", _ => true);
                At<ResidualInfo>(at, $"decoder layer {n}'s residual around the feed-forward ([Residual(Layers = {at - residual - 1})])", r => r.From == residual);
                at++;
                layers.Add(new DecoderLayer(input, attention, post, mlp, down, afterAttention, afterMlp));
            }
            if (layers.Count == 0) throw Differs(1, "decoder layer 0's input_layernorm ([RmsNorm]) and self_attn ([Attention])");
            var norm = At<RmsNormInfo>(at, "the last norm (model.norm: [RmsNorm])", _ => true);
            // a base model ends with the last norm (its last hidden state); a causal language model with its output layer
            DenseInfo? output = at + 1 == l.Count ? null : At<DenseInfo>(at + 1, $"the output layer (lm_head: [Dense({embedding.Vocabulary}, Bias = false)]), or nothing (a base model's last hidden state)",
                d => d is { Gated: false, Activation: Activation.None, Bias: false } && d.Units == embedding.Vocabulary);
            if (at + 2 < l.Count) throw Differs(at + 2, "nothing (LLaMA ends with its output layer)");
            return new LlamaLayout(a.Name, embedding, layers, norm, output);
        }

        /// <summary>
        /// Each parameter's tensors in the checkpoint and their rows, stacked in this order; <paramref name="fused"/>: Phi-3's
        /// names, q, k and v in one <c>qkv_proj</c> (as <c>in_proj_weight</c> stacks them) and the gate and up projections in one
        /// <c>gate_up_proj</c> (the gate's rows first, where the gated Dense holds the value's first).
        /// </summary>
        public Dictionary<string, ParameterSet.TensorRows[]> Sources(bool fused)
        {
            int width = Embedding.Dim;
            var s = new Dictionary<string, ParameterSet.TensorRows[]>(StringComparer.Ordinal) { [Embedding.Name + ".weight"] = [(Table, Embedding.Vocabulary)] };
            for (int i = 0; i < Layers.Count; i++)
            {
                DecoderLayer d = Layers[i];
                string hf = $"model.layers.{i}.";
                int kv = d.Attention.KeyValueWidth, queries = d.Attention.QueryWidth;
                s[d.Input.Name + ".weight"] = [(hf + "input_layernorm.weight", width)];
                s[d.Attention.Name + ".in_proj_weight"] = fused ? [(hf + "self_attn.qkv_proj.weight", queries + 2 * kv)] : SplitQkv(hf + "self_attn.", d.Attention, "weight");
                s[d.Attention.Name + ".out_proj.weight"] = [(hf + "self_attn.o_proj.weight", width)];
                if (d.Attention.Bias) s[d.Attention.Name + ".in_proj_bias"] = SplitQkv(hf + "self_attn.", d.Attention, "bias");
                if (d.Attention.HasOutputBias) s[d.Attention.Name + ".out_proj.bias"] = [(hf + "self_attn.o_proj.bias", width)];
                if (d.Attention.QueryKeyNorm)
                {
                    // Qwen3's q_norm and k_norm: one scale per head's dimension, shared by the heads
                    s[d.Attention.Name + ".q_norm.weight"] = [(hf + "self_attn.q_norm.weight", d.Attention.HeadSize)];
                    s[d.Attention.Name + ".k_norm.weight"] = [(hf + "self_attn.k_norm.weight", d.Attention.HeadSize)];
                }
                if (d.Sandwich)
                {
                    s[d.AfterAttention!.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                    s[d.Post.Name + ".weight"] = [(hf + "pre_feedforward_layernorm.weight", width)];
                    s[d.AfterMlp!.Name + ".weight"] = [(hf + "post_feedforward_layernorm.weight", width)];
                }
                else s[d.Post.Name + ".weight"] = [(hf + "post_attention_layernorm.weight", width)];
                // value rows, then gate rows
                int units = d.Mlp.Units;
                s[d.Mlp.Name + ".weight"] = fused ? [new(hf + "mlp.gate_up_proj.weight", units, units, 2 * units), new(hf + "mlp.gate_up_proj.weight", units, 0, 2 * units)]
                    : [(hf + "mlp.up_proj.weight", units), (hf + "mlp.gate_proj.weight", units)];
                s[d.Down.Name + ".weight"] = [(hf + "mlp.down_proj.weight", width)];
            }
            s[Norm.Name + ".weight"] = [("model.norm.weight", width)];
            if (Output is not null && !Tied) s[Output.Name + ".weight"] = [(Head, Output.Units)];
            return s;
        }

        /// <summary>Every RMS norm: each decoder layer's two (Gemma 3's four), then the last.</summary>
        public IEnumerable<RmsNormInfo> Norms() => Layers.SelectMany(d => d.Norms()).Append(Norm);

        /// <summary>The weights of every norm, the attention's q_norm and k_norm included (QK-norm).</summary>
        public IEnumerable<string> NormWeights() => Norms().Select(n => n.Name + ".weight")
            .Concat(Layers.Where(d => d.Attention.QueryKeyNorm).SelectMany(d => new[] { d.Attention.Name + ".q_norm.weight", d.Attention.Name + ".k_norm.weight" }));

        /// <summary>
        /// What makes one configuration impossible: decoder layers or norms that differ from the first's (with
        /// <paramref name="positionsPerLayer"/>, Gemma 3's, the attention's window and rotary frequencies may differ by layer).
        /// </summary>
        public void CheckAlike(List<string> problems, bool positionsPerLayer = false, bool windowsPerLayer = false)
        {
            DecoderLayer first = Layers[0];
            foreach (DecoderLayer d in Layers.Skip(1).Where(d => d.Sandwich != first.Sandwich))
                problems.Add($"'{d.Input.Name}' begins a decoder layer {(d.Sandwich ? "with" : "without")} norms after its attention and feed-forward, '{first.Input.Name}' one {(first.Sandwich ? "with" : "without")}: the decoder layers are alike");
            foreach (DecoderLayer d in Layers.Skip(1).Where(d => d.Mlp.Units != first.Mlp.Units))
                problems.Add($"'{d.Mlp.Name}' is {d.Mlp.Units} wide and '{first.Mlp.Name}' {first.Mlp.Units}: LLaMA's decoder layers are alike");
            foreach (DecoderLayer d in Layers.Skip(1).Where(d => d.Mlp.Activation != first.Mlp.Activation))
                problems.Add($"'{d.Mlp.Name}' takes {d.Mlp.Activation} and '{first.Mlp.Name}' {first.Mlp.Activation}: LLaMA's decoder layers are alike (one hidden_act)");
            foreach (DecoderLayer d in Layers.Skip(1))
            {
                AttentionInfo other = positionsPerLayer ? d.Attention with { SlidingWindow = first.Attention.SlidingWindow, RotaryBase = first.Attention.RotaryBase, RotaryScaling = first.Attention.RotaryScaling }
                    : windowsPerLayer ? d.Attention with { SlidingWindow = first.Attention.SlidingWindow } : d.Attention;
                if (other with { Name = first.Attention.Name } == first.Attention) continue;
                if (!positionsPerLayer && !windowsPerLayer && other with { Name = first.Attention.Name, SlidingWindow = first.Attention.SlidingWindow } == first.Attention)
                    problems.Add($"'{d.Attention.Name}' and '{first.Attention.Name}' attend over other windows ({d.Attention.SlidingWindow} and {first.Attention.SlidingWindow}, 0 for every earlier step): only Qwen2's and Qwen3's configurations (biases on q, k and v alone, or QK-norm) and Gemma's give windows layer by layer");
                else
                    problems.Add($"'{d.Attention.Name}' differs from '{first.Attention.Name}'{(positionsPerLayer ? " in more than its window and rotary frequencies" : windowsPerLayer ? " in more than its window" : "")}: LLaMA's decoder layers are alike");
            }
            foreach (RmsNormInfo norm in Norms().Where(x => x.Epsilon != first.Input.Epsilon))
                problems.Add($"'{norm.Name}' has Epsilon {Number(norm.Epsilon)} and '{first.Input.Name}' {Number(first.Input.Epsilon)}: LLaMA's norms share rms_norm_eps");
            if (first.Attention is { QueryKeyNorm: true } a) QueryKeyNormShares(a, first.Input, problems);
        }

        /// <summary>
        /// The config.json of this layout, as transformers' LlamaConfig writes its fields (<paramref name="sandwich"/>: Gemma 3's
        /// with QK-norm, else Gemma 2's; <paramref name="phi"/>: Phi-3's, for LongRoPE or a partial rotation).
        /// </summary>
        public byte[] Config(bool gemma = false, bool sandwich = false, bool phi = false)
        {
            if (phi) return PhiConfig();
            DecoderLayer first = Layers[0];
            bool gemma3 = sandwich && first.Attention.QueryKeyNorm, gemma2 = sandwich && !gemma3;
            // Gemma 3's rotary settings and window differ by layer: the full layers' base and scaling, the sliding ones' base and window
            AttentionInfo full = Layers.Select(d => d.Attention).FirstOrDefault(a => a.SlidingWindow == 0) ?? first.Attention;
            AttentionInfo? sliding = Layers.Select(d => d.Attention).FirstOrDefault(a => a.SlidingWindow > 0);
            RotaryScaling scaling = gemma3 ? full.RotaryScaling : first.Attention.RotaryScaling; // (Gemma 2's layers share one)
            return ConfigJson(w =>
            {
                // q, k and v biases without o_proj's are Qwen2's attention; LLaMA's has none, or all four (attention_bias); QK-norm is
                // Qwen3's (none or all four biases, as LLaMA's)
                bool qwen3 = !gemma && first.Attention.QueryKeyNorm, qwen = !gemma && !qwen3 && first.Attention is { Bias: true, OutputBias: false };
                bool mistral = !gemma && !qwen && !qwen3 && first.Attention.SlidingWindow > 0;
                w.WriteStartArray("architectures");
                string family = gemma3 ? "Gemma3" : gemma2 ? "Gemma2" : gemma ? "Gemma" : qwen3 ? "Qwen3" : qwen ? "Qwen2" : mistral ? "Mistral" : "Llama";
                w.WriteStringValue(family + (Base ? (gemma3 ? "TextModel" : "Model") : "ForCausalLM"));
                w.WriteEndArray();
                w.WriteString("model_type", gemma3 ? Gemma3 : gemma2 ? Gemma2 : gemma ? "gemma" : qwen3 ? "qwen3" : qwen ? "qwen2" : mistral ? "mistral" : "llama");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", first.Mlp.Units);
                w.WriteNumber("num_hidden_layers", Layers.Count);
                w.WriteNumber("num_attention_heads", first.Attention.Heads);
                w.WriteNumber("num_key_value_heads", first.Attention.KeyValueHeadCount);
                w.WriteNumber("head_dim", first.Attention.HeadSize);
                w.WriteString(sandwich ? "hidden_activation" : "hidden_act", ActivationName(first.Mlp.Activation)); // (Gemma 2's and 3's MLP reads hidden_activation)
                // the floats as the shortest decimal that reads back to them (1e-05, not 9.99999974737875E-06)
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(first.Input.Epsilon));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(gemma3 ? full.RotaryBase : first.Attention.RotaryBase));
                if (scaling.IsScaled)
                {
                    bool linear = scaling.Kind == RotaryScalingKind.Linear, yarn = scaling.Kind == RotaryScalingKind.Yarn, dynamic = scaling.Kind == RotaryScalingKind.Dynamic;
                    w.WriteStartObject("rope_scaling");
                    w.WriteString("rope_type", linear ? "linear" : yarn ? "yarn" : dynamic ? "dynamic" : "llama3");
                    w.WritePropertyName("factor");
                    w.WriteRawValue(JsonFloat(scaling.Factor));
                    if (yarn) w.WriteNumber("original_max_position_embeddings", scaling.OriginalContext);
                    else if (!linear && !dynamic)
                    {
                        w.WritePropertyName("low_freq_factor");
                        w.WriteRawValue(JsonFloat(scaling.LowFrequencyFactor));
                        w.WritePropertyName("high_freq_factor");
                        w.WriteRawValue(JsonFloat(scaling.HighFrequencyFactor));
                        w.WriteNumber("original_max_position_embeddings", scaling.OriginalContext);
                    }
                    w.WriteEndObject();
                }
                else w.WriteNull("rope_scaling");
                w.WriteBoolean("tie_word_embeddings", Tied);
                // YaRN's context: the original times the factor (transformers warns where they disagree, and some versions took
                // the factor from their ratio)
                if (scaling.IsScaled && scaling.Kind == RotaryScalingKind.Yarn)
                    w.WriteNumber("max_position_embeddings", (long)Math.Round(scaling.OriginalContext * (double)scaling.Factor));
                // dynamic NTK's original context is the configuration's max_position_embeddings (transformers reads it there)
                if (scaling.IsScaled && scaling.Kind == RotaryScalingKind.Dynamic) w.WriteNumber("max_position_embeddings", scaling.OriginalContext);
                if (sandwich)
                {
                    // each layer's kind; the sliding ones' window and (Gemma 3's) base, its defaults where no layer slides
                    w.WriteStartArray("layer_types");
                    foreach (DecoderLayer d in Layers) w.WriteStringValue(d.Attention.SlidingWindow > 0 ? "sliding_attention" : "full_attention");
                    w.WriteEndArray();
                    w.WriteNumber("sliding_window", sliding?.SlidingWindow ?? 4096);
                    if (gemma3)
                    {
                        w.WritePropertyName("rope_local_base_freq");
                        w.WriteRawValue(JsonFloat(sliding?.RotaryBase ?? 10000f));
                    }
                    w.WritePropertyName("query_pre_attn_scalar");
                    w.WriteRawValue(QueryScalar(first.Attention));
                    w.WriteBoolean("attention_bias", first.Attention.Bias);
                    // Gemma 2's soft caps (null: none; Gemma 3 has none)
                    foreach (var (key, cap) in new[] { ("attn_logit_softcapping", first.Attention.SoftCap), ("final_logit_softcapping", OutputCap) })
                    {
                        if (cap > 0f)
                        {
                            w.WritePropertyName(key);
                            w.WriteRawValue(JsonFloat(cap));
                        }
                        else w.WriteNull(key);
                    }
                }
                else if (gemma) w.WriteBoolean("attention_bias", first.Attention.Bias);
                else if (qwen || qwen3)
                {
                    if (qwen3) w.WriteBoolean("attention_bias", first.Attention.Bias);
                    // the windowed layers, those from max_window_layers on (CheckQwenWindowsWritable), by one sliding_window
                    int from = Enumerable.Range(0, Layers.Count).FirstOrDefault(i => Layers[i].Attention.SlidingWindow > 0, -1);
                    w.WriteBoolean("use_sliding_window", from >= 0);
                    if (from >= 0)
                    {
                        w.WriteNumber("sliding_window", Layers[from].Attention.SlidingWindow);
                        w.WriteNumber("max_window_layers", from);
                    }
                    else w.WriteNull("sliding_window"); // (older transformers window every layer where sliding_window is set, whatever use_sliding_window says)
                }
                else if (mistral) w.WriteNumber("sliding_window", first.Attention.SlidingWindow); // Mistral's attention has no biases
                else
                {
                    w.WriteBoolean("attention_bias", first.Attention.Bias);
                    w.WriteBoolean("mlp_bias", false);
                }
                w.WriteString("torch_dtype", "float32");
            });
        }

        /// <summary>
        /// What keeps Qwen's windows from being written as its configuration says them: one <c>sliding_window</c> for the
        /// windowed layers, and those the last ones (from <c>max_window_layers</c> on).
        /// </summary>
        public void CheckQwenWindowsWritable(List<string> problems)
        {
            int from = Enumerable.Range(0, Layers.Count).FirstOrDefault(i => Layers[i].Attention.SlidingWindow > 0, -1);
            if (from < 0) return;
            AttentionInfo windowed = Layers[from].Attention;
            if (Layers.Skip(from).FirstOrDefault(d => d.Attention.SlidingWindow != windowed.SlidingWindow) is { } other)
                problems.Add(other.Attention.SlidingWindow == 0
                    ? $"'{other.Attention.Name}' attends to every earlier step after '{windowed.Name}' slides: Qwen's configuration windows its layers from max_window_layers on, each after a windowed one windowed too"
                    : $"'{other.Attention.Name}' and '{windowed.Name}' slide over other windows ({other.Attention.SlidingWindow} and {windowed.SlidingWindow}): Qwen's configuration gives one sliding_window");
        }

        /// <summary>
        /// What keeps a model with LongRoPE or a partial rotation from being written as Phi-3's configuration (Phi3ForCausalLM,
        /// the one that says either): a scaled embedding (Gemma's), biases, QK-norm, heads of their own width (Phi-3's are
        /// hidden_size / heads), another rotary scaling beside a partial rotation, and a LongRoPE factor that is not a whole
        /// max_position_embeddings over the original context (Phi-3's configuration gives the factor as that ratio).
        /// </summary>
        public void CheckPhiWritable(List<string> problems, bool gemma)
        {
            AttentionInfo a = Layers[0].Attention;
            string why = a.RotaryWidth != a.HeadSize ? $"turns {a.RotaryWidth} of each head's {a.HeadSize} values (RotaryDimensions)" : "scales its rotary frequencies as LongRoPE";
            string Phi(string what) => $"'{a.Name}' {why}, which only Phi-3's configuration says, but {what}";
            if (gemma) problems.Add(Phi($"'{Embedding.Name}' is scaled (Gemma's): Phi-3's embedding is not"));
            if (a.Bias) problems.Add(Phi("it has projection biases: Phi-3's qkv_proj and o_proj have none (declare Bias = false)"));
            if (a.QueryKeyNorm) problems.Add(Phi("it has QK-norm, which Phi-3's attention has not"));
            if (a.HeadWidth > 0 && a.HeadSize * a.Heads != Embedding.Dim)
                problems.Add(Phi($"its heads are {a.HeadSize} wide: Phi-3's are hidden_size / num_attention_heads, {Embedding.Dim / Math.Max(a.Heads, 1)}"));
            if (a.RotaryScaling.IsScaled && a.RotaryScaling.Kind != RotaryScalingKind.LongRope)
                problems.Add(Phi($"it scales its rotary frequencies as {a.RotaryScaling.Kind}: Phi-3's configuration scales them as LongRoPE or not at all"));
            if (a.RotaryScaling is { Kind: RotaryScalingKind.LongRope, IsScaled: true } longRope && (float)(PhiMaxPositions(longRope) / (double)longRope.OriginalContext) != longRope.Factor)
                problems.Add($"'{a.Name}' scales its rotary frequencies as LongRoPE by {Number(longRope.Factor)} over {longRope.OriginalContext} steps: Phi-3's configuration gives the factor as a whole max_position_embeddings over original_max_position_embeddings, and no whole number of steps over {longRope.OriginalContext} gives {Number(longRope.Factor)}");
        }

        /// <summary>LongRoPE's context as Phi-3's max_position_embeddings: the original context times the factor, to the nearest step.</summary>
        private static long PhiMaxPositions(RotaryScaling longRope) => (long)Math.Round(longRope.OriginalContext * (double)longRope.Factor);

        /// <summary>
        /// Phi-3's config.json (Phi3Config's fields): LongRoPE as rope_scaling with <c>type</c>, <c>short_factor</c> and
        /// <c>long_factor</c> (its three fields, which older transformers require), the original context and the context it
        /// reaches beside it, a partial rotation as <c>partial_rotary_factor</c> (the shortest fraction whose
        /// int(head_dim · f) is the turned width), the window or null.
        /// </summary>
        private byte[] PhiConfig()
        {
            AttentionInfo a = Layers[0].Attention;
            return ConfigJson(w =>
            {
                w.WriteStartArray("architectures");
                w.WriteStringValue(Base ? "Phi3Model" : "Phi3ForCausalLM");
                w.WriteEndArray();
                w.WriteString("model_type", "phi3");
                w.WriteNumber("vocab_size", Embedding.Vocabulary);
                w.WriteNumber("hidden_size", Embedding.Dim);
                w.WriteNumber("intermediate_size", Layers[0].Mlp.Units);
                w.WriteNumber("num_hidden_layers", Layers.Count);
                w.WriteNumber("num_attention_heads", a.Heads);
                w.WriteNumber("num_key_value_heads", a.KeyValueHeadCount);
                w.WriteString("hidden_act", ActivationName(Layers[0].Mlp.Activation));
                w.WritePropertyName("rms_norm_eps");
                w.WriteRawValue(JsonFloat(Layers[0].Input.Epsilon));
                w.WritePropertyName("rope_theta");
                w.WriteRawValue(JsonFloat(a.RotaryBase));
                if (a.RotaryScaling is { Kind: RotaryScalingKind.LongRope, IsScaled: true } longRope)
                {
                    w.WriteStartObject("rope_scaling");
                    w.WriteString("type", "longrope");
                    foreach (var (key, factors) in new[] { ("short_factor", longRope.ShortFactors!), ("long_factor", longRope.LongFactors!) })
                    {
                        w.WriteStartArray(key);
                        foreach (float f in factors) w.WriteRawValue(JsonFloat(f));
                        w.WriteEndArray();
                    }
                    w.WriteEndObject();
                    w.WriteNumber("original_max_position_embeddings", longRope.OriginalContext);
                    w.WriteNumber("max_position_embeddings", PhiMaxPositions(longRope));
                }
                else w.WriteNull("rope_scaling");
                if (a.RotaryWidth != a.HeadSize) w.WriteNumber("partial_rotary_factor", RotaryFraction(a));
                if (a.SlidingWindow > 0) w.WriteNumber("sliding_window", a.SlidingWindow);
                else w.WriteNull("sliding_window");
                // Phi3Config's padding id is 32000 by default, which an embedding of 32000 rows or fewer cannot hold
                if (Embedding.Vocabulary > 32000) w.WriteNumber("pad_token_id", 32000);
                else w.WriteNull("pad_token_id");
                w.WriteBoolean("tie_word_embeddings", Tied);
                w.WriteString("torch_dtype", "float32");
            });
        }

        /// <summary>
        /// Gemma 3's <c>query_pre_attn_scalar</c> for the attention's score scale, as JSON: head_dim for 1/√head_dim, else the
        /// whole number whose 1/√ gives the scale back where one does (Gemma 3 27B's 168), else 1/scale².
        /// </summary>
        private static string QueryScalar(AttentionInfo a)
        {
            if (a.Scale == 0f) return a.HeadSize.ToString(CultureInfo.InvariantCulture);
            double scalar = 1.0 / ((double)a.Scale * a.Scale), whole = Math.Round(scalar);
            return (float)(1.0 / Math.Sqrt(whole)) == a.ScoreScale ? whole.ToString(CultureInfo.InvariantCulture) : scalar.ToString("R", CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// What keeps a Gemma model (a scaled embedding) from being written as Gemma's, Gemma 2's or Gemma 3's configuration
        /// (<paramref name="sandwich"/>: the latter two, QK-norm telling Gemma 3's): QK-norm in Gemma 1, a window in Gemma 1,
        /// Qwen2's biases, and Gemma 2's and 3's layers whose windows or rotary settings differ within their kind (Gemma 3's
        /// sliding layers share a window and base and are not scaled, its full ones share a base and scaling; Gemma 2's layers
        /// share one base and scaling).
        /// </summary>
        public void CheckGemmaWritable(List<string> problems, bool sandwich)
        {
            AttentionInfo first = Layers[0].Attention;
            bool gemma3 = sandwich && first.QueryKeyNorm;
            string type = gemma3 ? "Gemma 3's" : sandwich ? "Gemma 2's" : "Gemma's";
            if (!sandwich && first.QueryKeyNorm) problems.Add($"'{first.Name}' has QK-norm, which Gemma 1's attention has not");
            if (first.Bias && !first.OutputBias)
                problems.Add($"'{first.Name}' has biases on q, k and v without o_proj's (Qwen2's): {type} attention has all four biases (attention_bias) or none");
            if (!sandwich)
            {
                if (first.SlidingWindow > 0) problems.Add($"'{first.Name}' has a sliding window, which Gemma 1's attention has not");
                return;
            }
            foreach (var kind in Layers.Select(d => d.Attention).GroupBy(a => a.SlidingWindow > 0))
            {
                AttentionInfo one = kind.First();
                if (kind.FirstOrDefault(a => a.SlidingWindow != one.SlidingWindow || a.RotaryBase != one.RotaryBase || a.RotaryScaling != one.RotaryScaling) is { } other)
                    problems.Add($"'{other.Name}' and '{one.Name}' are both {(kind.Key ? "sliding" : "full")} layers with other windows or rotary settings: {type} configuration gives one of each per kind");
                else if (gemma3 && kind.Key && one.RotaryScaling.IsScaled)
                    problems.Add($"'{one.Name}' slides and scales its rotary frequencies: Gemma 3's sliding layers are not scaled");
            }
            if (!gemma3 && Layers.Select(d => d.Attention).FirstOrDefault(a => a.RotaryBase != first.RotaryBase || a.RotaryScaling != first.RotaryScaling) is { } apart)
                problems.Add($"'{apart.Name}' and '{first.Name}' turn their queries and keys by other rotary settings: Gemma 2's layers share one rope_theta (and scaling)");
        }

        /// <summary>What config.json says against what the model declares; each difference added to <paramref name="problems"/>.</summary>
        public void CheckConfig(JsonElement c, List<string> problems)
        {
            if (c.ValueKind != JsonValueKind.Object)
            {
                problems.Add("it is not a JSON object");
                return;
            }
            JsonElement? Get(string key) => Value(c, key);
            void Int(string key, int declared, string where, int? fallback = null) => ConfigInt(c, problems, key, declared, where, fallback);
            void Float(string key, float declared, string where, double? fallback = null) => ConfigFloat(c, problems, key, declared, where, fallback);
            void Off(string key, string why) => ConfigOff(c, problems, key, why);
            DecoderLayer first = Layers[0];
            // transformers' defaults differ by model type: Mistral's config has 8 key/value heads and a 4096-step window
            string type = ModelType(c);
            if (type is not ("llama" or "mistral" or "qwen2" or "qwen3" or "phi3" or "gemma" or Gemma2 or Gemma3))
            {
                problems.Add($"model_type is \"{type}\": LoadLlama reads LLaMA's (\"llama\"), Mistral's (\"mistral\"), Qwen2's (\"qwen2\"), Qwen3's (\"qwen3\"), Phi-3's (\"phi3\"), Gemma's (\"gemma\"), Gemma 2's (\"{Gemma2}\") and Gemma 3's (\"{Gemma3}\") checkpoints");
                return;
            }
            bool mistral = type == "mistral", qwen = type == "qwen2", qwen3 = type == "qwen3", phi = type == "phi3", gemma2 = type == Gemma2, gemma3 = type == Gemma3;
            bool sandwich = gemma2 || gemma3, gemma = type == "gemma" || sandwich;
            // Gemma's embedding is scaled by √hidden_size (the tied output layer reads the table unscaled); no other's is
            if (gemma != (Embedding.Scale != 1f))
                problems.Add(gemma ? $"model_type is \"{type}\": Gemma scales its embedding by √hidden_size; declare '{Embedding.Name}' with ScaleBySqrtDim = true"
                    : $"model_type is \"{type}\", whose embedding is not scaled, but '{Embedding.Name}' declares ScaleBySqrtDim = true (Gemma's)");
            // Gemma 2's and 3's sandwich: norms on the attention's and the feed-forward's outputs too
            if (first.Sandwich != sandwich)
                problems.Add(sandwich ? $"model_type is \"{type}\": Gemma {(gemma2 ? 2 : 3)} normalises the attention's and the feed-forward's outputs too (post_attention_layernorm, post_feedforward_layernorm); declare a [RmsNorm] before each [Residual] of the decoder layers"
                    : $"model_type is \"{type}\", whose decoder layers have two norms, but '{first.AfterAttention!.Name}' normalises the attention's output (Gemma 2's and 3's sandwich)");
            // newer configurations keep the rotary settings in rope_parameters (rope_theta, rope_type and the scaling's numbers)
            JsonElement? rope = Get("rope_parameters") is { ValueKind: JsonValueKind.Object } parameters ? parameters : null;
            Int("vocab_size", Embedding.Vocabulary, $"'{Embedding.Name}'");
            Int("hidden_size", Embedding.Dim, $"'{Embedding.Name}'");
            Int("num_hidden_layers", Layers.Count, "its decoder layers");
            Int("intermediate_size", first.Mlp.Units, $"'{first.Mlp.Name}'");
            // (Qwen2's and Qwen3's windows may differ by layer: CheckQwenWindows)
            CheckAlike(problems, positionsPerLayer: sandwich, windowsPerLayer: qwen || qwen3);
            Int("num_attention_heads", first.Attention.Heads, $"'{first.Attention.Name}'");
            int heads = Get("num_attention_heads") is { ValueKind: JsonValueKind.Number } h && h.TryGetInt32(out int n) ? n : first.Attention.Heads;
            // absent: the model type's default; null: as many as the query heads (each config's __init__ says so)
            bool kvNull = c.TryGetProperty("num_key_value_heads", out JsonElement kvHeads) && kvHeads.ValueKind == JsonValueKind.Null;
            Int("num_key_value_heads", first.Attention.KeyValueHeadCount, $"'{first.Attention.Name}'", fallback: kvNull ? heads : mistral ? 8 : qwen || qwen3 ? 32 : sandwich ? 4 : gemma ? 16 : heads);
            // a head's width: Gemma's and Qwen3's configurations give 256 and 128 by default, the others hidden_size / heads
            int hidden = Get("hidden_size") is { ValueKind: JsonValueKind.Number } hs && hs.TryGetInt32(out int hn) ? hn : Embedding.Dim;
            if (heads > 0)
                Int("head_dim", first.Attention.HeadSize, $"'{first.Attention.Name}' {(first.Attention.HeadWidth > 0 ? "HeadWidth" : "hidden_size / num_attention_heads: declare HeadWidth for heads of their own width")}",
                    fallback: gemma ? 256 : qwen3 ? 128 : hidden / heads);
            // Qwen3's and Gemma 3's q_norm and k_norm: each head's queries and keys RMS-normalised (QueryKeyNorm); no other model type has them
            if (first.Attention.QueryKeyNorm != (qwen3 || gemma3))
                problems.Add(qwen3 || gemma3 ? $"model_type is \"{type}\": its attention RMS-normalises each head's queries and keys (q_norm, k_norm); declare '{first.Attention.Name}' with QueryKeyNorm = true"
                    : $"model_type is \"{type}\", whose attention has no q_norm and k_norm, but '{first.Attention.Name}' declares QueryKeyNorm = true (Qwen3's)");
            if (sandwich) CheckGemmaLayers(c, problems, gemma2);
            else if (Layers.FirstOrDefault(d => d.Attention.ScaledApart) is { } scaled)
                problems.Add($"model_type is \"{type}\", whose scores are scaled by 1/√head_dim, but '{scaled.Attention.Name}' declares Scale = {Number(scaled.Attention.Scale)}");
            // soft caps: Gemma 2's alone (CheckGemmaLayers)
            if (!gemma2 && (Layers.FirstOrDefault(d => d.Attention.SoftCap > 0f)?.Attention ?? (LayerInfo?)(OutputCap > 0f ? Output : null)) is { } capped)
                problems.Add($"model_type is \"{type}\", whose {(capped is AttentionInfo ? "scores" : "logits")} are not soft-capped, but '{capped.Name}' declares SoftCap = {Number(capped is AttentionInfo x ? x.SoftCap : OutputCap)} (Gemma 2's)");
            if (sandwich) { } // (their rotary bases and windows differ by layer: CheckGemmaLayers)
            else if (Get("rope_theta") is null && rope is { } r && r.TryGetProperty("rope_theta", out JsonElement theta) && theta.ValueKind == JsonValueKind.Number)
            {
                if ((float)theta.GetDouble() != first.Attention.RotaryBase)
                    problems.Add($"rope_parameters' rope_theta is {theta.GetRawText()}, the model declares {Number(first.Attention.RotaryBase)} ('{first.Attention.Name}' RotaryBase)");
            }
            else Float("rope_theta", first.Attention.RotaryBase, $"'{first.Attention.Name}' RotaryBase", fallback: 10000.0);
            Float("rms_norm_eps", first.Input.Epsilon, $"'{first.Input.Name}' Epsilon", fallback: phi ? 1e-5 : 1e-6);
            // the gate's activation by transformers' ACT2FN name in hidden_act, as transformers reads it since 4.48 (for Gemma
            // too: its hidden_activation, which 4.39–4.47 read instead, is not; Gemma 2's and 3's MLP reads hidden_activation; Gemma's
            // default is GELU's tanh approximation, the others' SiLU)
            string actKey = sandwich ? "hidden_activation" : "hidden_act";
            JsonElement? act = Get(actKey);
            Activation? activation = act is { ValueKind: JsonValueKind.String } name ? ActivationOf(name.GetString()!) : act is null ? (gemma ? Activation.GeluTanh : Activation.Silu) : null;
            if (activation is null)
                problems.Add($"{actKey} is {act!.Value.GetRawText()}: the gated Dense layers here take SiLU (\"silu\"), GELU (\"gelu\") or its tanh approximation (\"gelu_pytorch_tanh\")");
            else if (activation != first.Mlp.Activation)
                problems.Add($"{actKey} is {(act is null ? $"\"{ActivationName(activation.Value)}\" (its default)" : act.Value.GetRawText())}: declare '{first.Mlp.Name}' with Activation = Activation.{activation}");
            bool tie = Get("tie_word_embeddings") is { } t ? t.ValueKind == JsonValueKind.True : gemma; // (Gemma's configuration ties by default)
            string given = Get("tie_word_embeddings") is null ? " (its default)" : "";
            // (a base model has no output layer to tie)
            if (Output is not null && tie != Tied)
                problems.Add(tie ? $"tie_word_embeddings is true{given}: declare '{Output.Name}' with TieEmbedding = true"
                    : $"tie_word_embeddings is false{given}, but '{Output.Name}' is tied to the embedding (TieEmbedding = true)");
            if (!sandwich) CheckScaling(Get("rope_scaling") ?? rope, first.Attention, problems, phi, c);
            // a rotation of part of each head (partial_rotary_factor: Phi-4-mini's 0.75), which Phi-3's attention computes
            // (int(head_dim · factor) values turned) and the others' do not
            foreach (JsonElement holder in rope is { } inRope ? [c, inRope] : new[] { c })
            {
                if (Value(holder, "partial_rotary_factor") is not { } partial) continue;
                if (partial.ValueKind != JsonValueKind.Number || !(partial.GetDouble() > 0 && partial.GetDouble() <= 1))
                    problems.Add($"partial_rotary_factor is {partial.GetRawText()}, not a fraction of a head above 0 and at most 1");
                else if (partial.GetDouble() != 1.0 && !phi)
                    problems.Add($"partial_rotary_factor is {partial.GetRawText()}: model_type \"{type}\"'s attention turns whole heads (transformers computes a partial rotation for Phi-3's, \"phi3\")");
                else if ((int)(first.Attention.HeadSize * partial.GetDouble()) is int odd && (odd < 2 || odd % 2 != 0))
                    problems.Add($"partial_rotary_factor is {partial.GetRawText()}: the rotation would turn {odd} of each head's {first.Attention.HeadSize} values, which are not whole pairs (not computed here)");
                else if ((int)(first.Attention.HeadSize * partial.GetDouble()) is int turned && turned != first.Attention.RotaryWidth)
                    problems.Add($"partial_rotary_factor is {partial.GetRawText()}: the rotation turns {turned} of each head's {first.Attention.HeadSize} values; declare '{first.Attention.Name}' with {(turned == first.Attention.HeadSize ? "no RotaryDimensions" : $"RotaryDimensions = {turned}")}");
            }
            if (first.Attention.RotaryWidth != first.Attention.HeadSize && !(Value(c, "partial_rotary_factor") ?? (rope is { } r2 ? Value(r2, "partial_rotary_factor") : null)).HasValue)
                problems.Add($"'{first.Attention.Name}' turns {first.Attention.RotaryWidth} of each head's {first.Attention.HeadSize} values (RotaryDimensions), but the configuration has no partial_rotary_factor: the checkpoint's rotation turns whole heads");
            if (sandwich) { } // (CheckGemmaLayers)
            else if (qwen || qwen3) CheckQwenWindows(c, Layers.Select(d => d.Attention).ToArray(), problems, qwen3 ? "Qwen3" : "Qwen2");
            else if (phi)
            {
                // Phi-3's configuration has no window unless it says one (Phi-3 mini and medium at 4k: 2047)
                int window = c.TryGetProperty("sliding_window", out _) ? ConfiguredWindow(c, problems) : 0, declared = first.Attention.SlidingWindow;
                if (window >= 0 && window != declared)
                    problems.Add(window > 0
                        ? $"sliding_window is {window}: declare '{first.Attention.Name}' with SlidingWindow = {window} (each step attends to the {window} most recent steps)"
                        : $"sliding_window is {(c.TryGetProperty("sliding_window", out _) ? "null" : "absent (Phi-3's default: none)")}, but '{first.Attention.Name}' declares SlidingWindow = {declared} (the checkpoint's attention reads every earlier step)");
            }
            else if (!mistral)
            {
                // LlamaForCausalLM and GemmaForCausalLM read no sliding_window (a merge from a Mistral base may carry one)
                if (first.Attention.SlidingWindow > 0)
                    problems.Add($"model_type is \"{type}\", whose attention reads every earlier step, but '{first.Attention.Name}' declares SlidingWindow = {first.Attention.SlidingWindow}");
            }
            else
            {
                int window = ConfiguredWindow(c, problems), declared = first.Attention.SlidingWindow;
                if (window >= 0 && window != declared)
                    problems.Add(window > 0
                        ? $"sliding_window is {window}{(c.TryGetProperty("sliding_window", out _) ? "" : " (Mistral's default)")}: declare '{first.Attention.Name}' with SlidingWindow = {window} (each step attends to the {window} most recent steps)"
                        : $"sliding_window is null, but '{first.Attention.Name}' declares SlidingWindow = {declared} (the checkpoint's attention reads every earlier step)");
            }
            // the attention's biases: none (LLaMA's default; Mistral's always, whatever attention_bias says), all four projections'
            // (LLaMA's attention_bias), or Qwen2's on q, k and v alone
            bool biases = qwen || (!mistral && !phi && Get("attention_bias") is { ValueKind: JsonValueKind.True }), outputBias = biases && !qwen; // (Qwen3's: LLaMA's attention_bias)
            AttentionInfo a = first.Attention;
            if (!a.Bias && a.OutputBias)
                problems.Add($"'{a.Name}' has the output projection's bias alone (OutputBias = true without Bias): {(qwen ? "Qwen2's attention has biases on q_proj, k_proj and v_proj and none on o_proj" : "this attention has all four biases (attention_bias) or none")}");
            else if (a.Bias != biases || (biases && a.OutputBias != outputBias))
                problems.Add(qwen ? $"model_type is \"qwen2\": Qwen2's attention has biases on q_proj, k_proj and v_proj and none on o_proj; declare '{a.Name}' with OutputBias = false (and Bias = true)"
                    : phi ? $"model_type is \"phi3\": Phi-3's qkv_proj and o_proj have no biases; declare '{a.Name}' with Bias = false"
                    : biases ? $"attention_bias is true: declare '{a.Name}' with Bias = true (the q, k, v and o projections' biases)"
                    : $"attention_bias is {(Get("attention_bias") is null ? "false (its default)" : "false")}: declare '{a.Name}' with Bias = false");
            if (!phi && !gemma) Off("mlp_bias", "the model's feed-forward has no biases (Bias = false)"); // (Phi-3's and Gemma's read no mlp_bias)
        }

        /// <summary>
        /// Gemma 2's soft caps against the declared ones: <c>attn_logit_softcapping</c> (50 where absent, none where null) on every
        /// attention's scores, <c>final_logit_softcapping</c> (30; null: none) on the output layer's logits.
        /// </summary>
        private void CheckSoftCaps(JsonElement c, List<string> problems)
        {
            float Cap(string key, float fallback)
            {
                if (!c.TryGetProperty(key, out JsonElement v)) return fallback;
                if (v.ValueKind == JsonValueKind.Null) return 0f;
                if (v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0) return (float)v.GetDouble();
                problems.Add($"{key} is {v.GetRawText()}, not a positive number (or null: none)");
                return float.NaN;
            }
            string Given(string key, float cap) => $"{key} is {(cap == 0f ? "null" : Number(cap))}{(c.TryGetProperty(key, out _) ? "" : " (its default)")}";
            float scores = Cap("attn_logit_softcapping", 50f), logits = Cap("final_logit_softcapping", 30f);
            if (!float.IsNaN(scores) && Layers.FirstOrDefault(d => d.Attention.SoftCap != scores)?.Attention is { } a)
                problems.Add($"{Given("attn_logit_softcapping", scores)}: declare '{a.Name}' with {(scores > 0f ? $"SoftCap = {Number(scores)}f" : "no SoftCap")}");
            if (!float.IsNaN(logits) && Output is not null && Output.SoftCap != logits)
                problems.Add($"{Given("final_logit_softcapping", logits)}: declare '{Output.Name}' with {(logits > 0f ? $"SoftCap = {Number(logits)}f" : "no SoftCap")}");
        }

        /// <summary>
        /// Gemma 3's layers: each sliding (<c>layer_types</c>, or every layer but each <c>sliding_window_pattern</c>-th, 6 by
        /// default) attends to the <c>sliding_window</c> most recent steps (4096 by default) at <c>rope_local_base_freq</c>
        /// (10000) without scaling, each full one to every step at <c>rope_theta</c> (1e6) with <c>rope_scaling</c>; the scores
        /// scaled by 1/√<c>query_pre_attn_scalar</c> (256 by default; <c>Scale</c> where it is not head_dim, Gemma 3 27B's 168);
        /// no soft-capping. Gemma 2's (<paramref name="gemma2"/>): every other layer sliding (<c>layer_types</c>, else the first,
        /// third, …), every layer at <c>rope_theta</c> (10000) with <c>rope_scaling</c>, the scores and the logits soft-capped at
        /// <c>attn_logit_softcapping</c> (50) and <c>final_logit_softcapping</c> (30), null for none.
        /// </summary>
        private void CheckGemmaLayers(JsonElement c, List<string> problems, bool gemma2)
        {
            AttentionInfo first = Layers[0].Attention;
            double scalar = Value(c, "query_pre_attn_scalar") is { ValueKind: JsonValueKind.Number } q ? q.GetDouble() : 256;
            float scale = (float)(1.0 / Math.Sqrt(scalar));
            if (Layers.FirstOrDefault(d => d.Attention.ScoreScale != scale) is { } unscaled)
                problems.Add($"query_pre_attn_scalar is {Number((float)scalar)}: the scores are scaled by 1/√{Number((float)scalar)} = {Number(scale)}; declare '{unscaled.Attention.Name}' with "
                    + (scalar == unscaled.Attention.HeadSize ? "no Scale (1/√head_dim, its default)" : $"Scale = {Number(scale)}f"));
            if (Value(c, "use_bidirectional_attention") is { ValueKind: not JsonValueKind.False } bidirectional)
                problems.Add($"use_bidirectional_attention is {bidirectional.GetRawText()}: EmbeddingGemma's attention reads the steps on both sides, and the model's is causal");
            if (gemma2) CheckSoftCaps(c, problems);
            else
            {
                foreach (string capping in new[] { "attn_logit_softcapping", "final_logit_softcapping" })
                {
                    if (Value(c, capping) is { } v)
                        problems.Add($"{capping} is {v.GetRawText()}: Gemma 3's scores and logits are not soft-capped (Gemma 2's are, model_type \"{Gemma2}\")");
                }
            }
            // (Gemma 2's configuration has no pattern: its layers alternate, the first sliding)
            if (SlidingLayers(c, Layers.Count, gemma2 ? null : "sliding_window_pattern", gemma2 ? 2 : 6, problems) is not { } slides) return;
            int window = ConfiguredWindow(c, problems);
            if (window < 0) return;
            // newer configurations keep each kind of layer's rotary settings in rope_parameters, by layer type
            // (Gemma 2's, one set for every layer)
            JsonElement? Rope(string kind) => Value(c, "rope_parameters") is { ValueKind: JsonValueKind.Object } r ? (gemma2 ? r : Value(r, kind) is { ValueKind: JsonValueKind.Object } o ? o : null) : null;
            JsonElement? fullRope = Rope("full_attention"), slidingRope = gemma2 ? null : Rope("sliding_attention");
            // (a base in rope_parameters stands: transformers fills it from the top-level key only where it has none)
            static float Base(JsonElement? given, JsonElement? rope, float fallback) =>
                rope is { } r && Value(r, "rope_theta") is { ValueKind: JsonValueKind.Number } t ? (float)t.GetDouble()
                : given is { ValueKind: JsonValueKind.Number } b ? (float)b.GetDouble() : fallback;
            float global = Base(Value(c, "rope_theta"), fullRope, gemma2 ? 10000f : 1000000f);
            float local = gemma2 ? global : Base(Value(c, "rope_local_base_freq"), slidingRope, 10000f);
            for (int i = 0; i < Layers.Count; i++)
            {
                AttentionInfo a = Layers[i].Attention;
                bool sliding = slides[i];
                string kind = sliding ? "sliding_attention" : "full_attention";
                int expectedWindow = sliding ? window : 0;
                float expectedBase = sliding ? local : global;
                if (a.SlidingWindow != expectedWindow)
                    problems.Add($"layer {i} is \"{kind}\": declare '{a.Name}' with SlidingWindow = {expectedWindow}{(sliding ? " (sliding_window)" : " (every earlier step)")}");
                if (a.RotaryBase != expectedBase)
                    problems.Add($"layer {i} is \"{kind}\", whose rotary base is {Number(expectedBase)} ({(sliding && !gemma2 ? "rope_local_base_freq" : "rope_theta")}), the model declares {Number(a.RotaryBase)} ('{a.Name}' RotaryBase)");
                if (!sliding || gemma2) CheckScaling(Value(c, "rope_scaling") ?? fullRope, a, problems, phi: false, c);
                else if (slidingRope is not null) CheckScaling(slidingRope, a, problems, phi: false, c);
                else if (a.RotaryScaling.IsScaled)
                    problems.Add($"layer {i} is \"sliding_attention\", whose rotary frequencies are not scaled, but '{a.Name}' declares RotaryScaling = {Number(a.RotaryScaling.Factor)}");
            }
        }
    }

    /// <summary>Gemma's embedding scale: √hidden_size in float32, as transformers' <c>torch.tensor(hidden_size ** 0.5)</c>.</summary>
    private static float GemmaScale(int dim) => (float)Math.Sqrt(dim);

    /// <summary>The gated Dense's activation a configuration names (transformers' ACT2FN: "swish" is SiLU too), or null.</summary>
    private static Activation? ActivationOf(string name) => name switch
    {
        "silu" or "swish" => Activation.Silu,
        "gelu" => Activation.Gelu,
        "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => Activation.GeluTanh, // (FastGELU: the same tanh form, gpt-neox-20b's)
        _ => null,
    };

    private static string ActivationName(Activation activation) => activation switch
    {
        Activation.Gelu => "gelu",
        Activation.GeluTanh => "gelu_pytorch_tanh",
        _ => "silu",
    };

    /// <summary>The configuration's <c>model_type</c>; LLaMA's where it says none.</summary>
    private static string ModelType(JsonElement c) =>
        c.ValueKind == JsonValueKind.Object && Value(c, "model_type") is { ValueKind: JsonValueKind.String } kind ? kind.GetString()! : "llama";

    /// <summary>A configuration's value, null where the key is absent or null.</summary>
    private static JsonElement? Value(JsonElement c, string key) => c.TryGetProperty(key, out JsonElement v) && v.ValueKind != JsonValueKind.Null ? v : null;

    /// <summary>
    /// <c>sliding_window</c> as Mistral's and Qwen2's configurations read it: 4096 where the key is absent, 0 (none) where it is
    /// null, else a positive whole number of steps; −1, the problem added, for anything else.
    /// </summary>
    private static int ConfiguredWindow(JsonElement c, List<string> problems)
    {
        if (!c.TryGetProperty("sliding_window", out JsonElement w)) return 4096;
        if (w.ValueKind == JsonValueKind.Null) return 0;
        if (w.ValueKind == JsonValueKind.Number && w.TryGetInt32(out int size) && size > 0) return size;
        problems.Add($"sliding_window is {w.GetRawText()}, not a positive whole number of steps");
        return -1;
    }

    /// <summary>
    /// Which decoder layers <c>layer_types</c> says slide ("sliding_attention") and which attend to every step
    /// ("full_attention"): null where the configuration has no <c>layer_types</c>; false, with the problem added, where it is
    /// not one of those two per layer.
    /// </summary>
    private static bool TrySlidingLayers(JsonElement c, int layers, List<string> problems, out bool[]? sliding)
    {
        sliding = null;
        if (Value(c, "layer_types") is not { } given) return true;
        string[]? types = given.ValueKind == JsonValueKind.Array ? given.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "").ToArray() : null;
        if (types is null || types.Length != layers || types.Any(t => t is not ("sliding_attention" or "full_attention")))
        {
            problems.Add($"layer_types is {given.GetRawText()}: expected {layers} of \"sliding_attention\" and \"full_attention\", one per decoder layer");
            return false;
        }
        sliding = types.Select(t => t == "sliding_attention").ToArray();
        return true;
    }

    /// <summary>
    /// Which decoder layers slide: as <c>layer_types</c> lists them, else every layer but each n-th, n the configuration's
    /// <paramref name="patternKey"/> (Gemma 3's and Cohere 2's <c>sliding_window_pattern</c>; none: <paramref name="pattern"/> always) or
    /// <paramref name="pattern"/> where absent; null, with the problem added, where <c>layer_types</c> is not one kind per layer.
    /// </summary>
    private static bool[]? SlidingLayers(JsonElement c, int layers, string? patternKey, int pattern, List<string> problems)
    {
        if (!TrySlidingLayers(c, layers, problems, out bool[]? slides)) return null;
        if (slides is not null) return slides;
        int every = patternKey is not null && Value(c, patternKey) is { ValueKind: JsonValueKind.Number } p && p.TryGetInt32(out int given) && given > 0 ? given : pattern;
        return Enumerable.Range(0, layers).Select(i => (i + 1) % every != 0).ToArray();
    }

    /// <summary>
    /// Qwen2's windows against the model's layers: with <c>use_sliding_window</c>, transformers windows the layers from
    /// <c>max_window_layers</c> on (default 28) by <c>sliding_window</c> (default 4096), or those <c>layer_types</c> lists as
    /// "sliding_attention"; none without it. Each decoder layer's SlidingWindow is checked against its own.
    /// </summary>
    private static void CheckQwenWindows(JsonElement c, AttentionInfo[] layers, List<string> problems, string qwen)
    {
        // (sliding_window null: no layer has a window, whatever the rest says)
        int size = Value(c, "use_sliding_window") is { ValueKind: JsonValueKind.True } ? ConfiguredWindow(c, problems) : 0;
        if (size < 0) return;
        bool[] sliding = new bool[layers.Length];
        string why = "use_sliding_window false, or sliding_window null";
        if (size > 0)
        {
            // the windowed layers: as layer_types lists them where it does, else those from max_window_layers on (28 by default)
            if (!TrySlidingLayers(c, layers.Length, problems, out bool[]? listed)) return;
            if (listed is not null)
            {
                sliding = listed;
                why = "layer_types";
            }
            else
            {
                int from = Value(c, "max_window_layers") is { } m ? (m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out int f) && f >= 0 ? f : -1) : 28;
                if (from < 0) { problems.Add($"max_window_layers is {Value(c, "max_window_layers")!.Value.GetRawText()}, not a whole number of layers 0 or more"); return; }
                for (int i = from; i < layers.Length; i++) sliding[i] = true;
                why = $"max_window_layers {from}{(Value(c, "max_window_layers") is null ? " (its default)" : "")}";
            }
        }
        for (int i = 0; i < layers.Length; i++)
        {
            int window = sliding[i] ? size : 0;
            if (window != layers[i].SlidingWindow)
                problems.Add(window > 0
                    ? $"{qwen}'s layer {i} attends to the {window} most recent steps (use_sliding_window, sliding_window, {why}); declare '{layers[i].Name}' with SlidingWindow = {window}"
                    : $"{qwen}'s layer {i} attends to every earlier step ({why}), but '{layers[i].Name}' declares SlidingWindow = {layers[i].SlidingWindow}");
        }
    }

    /// <summary>
    /// <c>rope_scaling</c> against the attention's <see cref="AttentionInfo.RotaryScaling"/>: none (absent, null, or
    /// <c>rope_type</c> "default"), LLaMA 3.1's ("llama3") with the same four numbers, the linear one ("linear", or under the
    /// older key <c>type</c>) with the same factor, or YaRN ("yarn") with the same factor and original context (the configuration's
    /// <c>max_position_embeddings</c> where it gives none), at its default thresholds and attention factor, LongRoPE
    /// ("longrope", Phi-3's) with the same factors, or dynamic NTK ("dynamic") with the same factor over the configuration's
    /// <c>max_position_embeddings</c>; the other kinds are not computed here.
    /// </summary>
    private static void CheckScaling(JsonElement? json, AttentionInfo attention, List<string> problems, bool phi, JsonElement config)
    {
        RotaryScaling declared = attention.RotaryScaling;
        string type = json is { ValueKind: JsonValueKind.Object } o
            ? (o.TryGetProperty("rope_type", out JsonElement t) || o.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "?"
            : json is null ? "default" : "?";
        if (type == "default")
        {
            if (declared.IsScaled) problems.Add($"rope_scaling is {(json is null ? "absent" : json.Value.GetRawText())}, but '{attention.Name}' scales its rotary frequencies (RotaryScaling = {Number(declared.Factor)})");
            return;
        }
        if (type is "longrope" or "su")
        {
            // LongRoPE (Phi-3 at 128k, Phi-3.5, Phi-4-mini; "su" its older name)
            if (declared.Kind != RotaryScalingKind.LongRope || !declared.IsScaled)
                problems.Add($"rope_scaling is LongRoPE's: declare '{attention.Name}' with RotaryScaling = its factor (max_position_embeddings / original_max_position_embeddings), RotaryScalingKind = RotaryScalingKind.LongRope, RotaryOriginalContext, RotaryShortFactors and RotaryLongFactors");
            else CheckLongRope(json!.Value, declared, attention, problems, config);
            return;
        }
        if (phi)
        {
            // Phi3Config's older "yarn" was its own; of Phi-3's scalings LongRoPE is computed here
            problems.Add($"rope_scaling is {json!.Value.GetRawText()}: of Phi-3's rotary scalings only LongRoPE (\"longrope\") is computed here");
            return;
        }
        if (type == "dynamic")
        {
            if (declared.Kind != RotaryScalingKind.Dynamic || !declared.IsScaled)
                problems.Add($"rope_scaling is {json!.Value.GetRawText()}: declare '{attention.Name}' with RotaryScaling = its factor, RotaryScalingKind = RotaryScalingKind.Dynamic and RotaryOriginalContext = the configuration's max_position_embeddings");
            else CheckDynamic(json!.Value, declared, attention, problems, config);
            return;
        }
        if (type is not ("llama3" or "linear" or "yarn"))
        {
            problems.Add($"rope_scaling is {json!.Value.GetRawText()}: of the rotary scalings only LLaMA 3.1's (rope_type \"llama3\"), the linear one (\"linear\"), YaRN (\"yarn\"), dynamic NTK (\"dynamic\") and Phi-3's LongRoPE (\"longrope\") are computed here, and another would give other outputs");
            return;
        }
        bool linear = type == "linear", yarn = type == "yarn";
        RotaryScalingKind kind = linear ? RotaryScalingKind.Linear : yarn ? RotaryScalingKind.Yarn : RotaryScalingKind.Llama3;
        if (!declared.IsScaled || declared.Kind != kind)
        {
            problems.Add($"rope_scaling is {json!.Value.GetRawText()}: declare '{attention.Name}' with RotaryScaling = its factor" + (linear
                ? " and RotaryScalingKind = RotaryScalingKind.Linear"
                : yarn ? ", RotaryScalingKind = RotaryScalingKind.Yarn and RotaryOriginalContext = its original_max_position_embeddings"
                : " (and RotaryLowFrequencyFactor, RotaryHighFrequencyFactor, RotaryOriginalContext; RotaryScalingKind left to LLaMA 3.1's)"));
            return;
        }
        JsonElement scaling = json!.Value;
        if (yarn)
        {
            CheckYarn(scaling, declared, attention, problems, config);
            return;
        }
        void Compare(string key, double value, string option)
        {
            if (!scaling.TryGetProperty(key, out JsonElement v) || v.ValueKind != JsonValueKind.Number)
                problems.Add($"rope_scaling has no number {key}");
            else if ((float)v.GetDouble() != (float)value)
                problems.Add($"rope_scaling's {key} is {v.GetRawText()}, '{attention.Name}' declares {option} = {Number((float)value)}");
        }
        Compare("factor", declared.Factor, "RotaryScaling");
        if (linear) return;
        Compare("low_freq_factor", declared.LowFrequencyFactor, "RotaryLowFrequencyFactor");
        Compare("high_freq_factor", declared.HighFrequencyFactor, "RotaryHighFrequencyFactor");
        Compare("original_max_position_embeddings", declared.OriginalContext, "RotaryOriginalContext");
    }

    /// <summary>
    /// YaRN's numbers against the declared scaling: the factor, <c>original_max_position_embeddings</c> (else the configuration's
    /// <c>max_position_embeddings</c>), and what is computed here at transformers' defaults only: <c>beta_fast</c> 32 and
    /// <c>beta_slow</c> 1 (absent, null or 0 take them), <c>truncate</c> true, and the attention factor 0.1 · ln(factor) + 1
    /// (<c>attention_factor</c>, or DeepSeek's <c>mscale</c> over <c>mscale_all_dim</c>, where either is given and gives another).
    /// </summary>
    private static void CheckYarn(JsonElement scaling, RotaryScaling declared, AttentionInfo attention, List<string> problems, JsonElement config)
    {
        double? Given(string key) => Value(scaling, key) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;
        if (Given("factor") is not { } factor) problems.Add("rope_scaling has no number factor");
        else if ((float)factor != declared.Factor) problems.Add($"rope_scaling's factor is {Number((float)factor)}, '{attention.Name}' declares RotaryScaling = {Number(declared.Factor)}");
        double? original = Given("original_max_position_embeddings") ?? (Value(config, "max_position_embeddings") is { ValueKind: JsonValueKind.Number } m ? m.GetDouble() : null);
        if (original is not { } context) problems.Add("rope_scaling has no original_max_position_embeddings, nor the configuration max_position_embeddings (YaRN's original context)");
        else if (context != declared.OriginalContext)
            problems.Add($"YaRN's original context is {context}{(Given("original_max_position_embeddings") is null ? " (max_position_embeddings)" : "")}, '{attention.Name}' declares RotaryOriginalContext = {declared.OriginalContext}");
        foreach (var (key, expected) in new[] { ("beta_fast", RotaryScaling.YarnFast), ("beta_slow", RotaryScaling.YarnSlow) })
        {
            if (Given(key) is { } beta && beta != 0 && beta != expected)
                problems.Add($"rope_scaling's {key} is {beta}: YaRN is computed here at transformers' default {key}, {expected}");
        }
        // (transformers reads truncate with get("truncate", True): a null or 0 given does not truncate)
        if (scaling.TryGetProperty("truncate", out JsonElement truncate) && truncate.ValueKind != JsonValueKind.True)
            problems.Add($"rope_scaling's truncate is {truncate.GetRawText()}: YaRN is computed here with its ramp's ends truncated to whole dimensions (transformers' default)");
        static double Mscale(double f, double m) => f <= 1 ? 1.0 : 0.1 * m * Math.Log(f) + 1.0;
        double f = Given("factor") ?? 1;
        // an attention factor given stands whatever the factor (transformers uses it as it is)
        double? attentionFactor = Given("attention_factor")
            ?? (Given("mscale") is { } ms && ms != 0 && Given("mscale_all_dim") is { } all && all != 0 ? Mscale(f, ms) / Mscale(f, all) : null);
        if (attentionFactor is { } a && (float)a != declared.AttentionFactor)
            problems.Add($"rope_scaling gives YaRN an attention factor of {Number((float)a)} (attention_factor, or mscale over mscale_all_dim): it is computed here as 0.1 · ln(factor) + 1 = {Number(declared.AttentionFactor)}");
    }

    /// <summary>
    /// Dynamic NTK's numbers against the declared scaling: the factor, and the original context, which transformers takes from the
    /// configuration's <c>max_position_embeddings</c> (an <c>original_max_position_embeddings</c> in rope_scaling is not read), or
    /// where it is absent from the model type's default.
    /// </summary>
    private static void CheckDynamic(JsonElement scaling, RotaryScaling declared, AttentionInfo attention, List<string> problems, JsonElement config)
    {
        if (Value(scaling, "factor") is not { ValueKind: JsonValueKind.Number } factor) problems.Add("rope_scaling has no number factor");
        else if ((float)factor.GetDouble() != declared.Factor)
            problems.Add($"rope_scaling's factor is {Number((float)factor.GetDouble())}, '{attention.Name}' declares RotaryScaling = {Number(declared.Factor)}");
        string type = ModelType(config);
        // each configuration's default (LlamaConfig 2048, MistralConfig 4096 · 32, Qwen2's and Qwen3's 32768, Gemma's and Gemma 2's 8192, Gemma 3's 131072)
        double? fallback = type switch { "llama" => 2048, "mistral" => 131072, "qwen2" or "qwen3" => 32768, "gemma" or Gemma2 => 8192, Gemma3 => 131072, _ => null };
        JsonElement? given = Value(config, "max_position_embeddings");
        if (given is { } g && g.ValueKind != JsonValueKind.Number) problems.Add($"max_position_embeddings is {g.GetRawText()}, not a number (dynamic NTK's original context)");
        else if ((given?.GetDouble() ?? fallback) is not { } most) problems.Add("the configuration has no max_position_embeddings (dynamic NTK's original context)");
        else if (most != declared.OriginalContext)
            problems.Add($"max_position_embeddings is {most}{(given is null ? $" (model_type \"{type}\"'s default)" : "")} (dynamic NTK's original context), '{attention.Name}' declares RotaryOriginalContext = {declared.OriginalContext}");
    }

    /// <summary>
    /// LongRoPE's numbers against the declared scaling: the short and long factors one by one, the original context
    /// (<c>original_max_position_embeddings</c>, in rope_scaling or, as Phi-3's configurations keep it, beside it), and the
    /// factor (rope_scaling's, else <c>max_position_embeddings</c> over the original context), which sets the attention factor
    /// √(1 + ln(factor) / ln(original)); an <c>attention_factor</c> given must be that.
    /// </summary>
    private static void CheckLongRope(JsonElement scaling, RotaryScaling declared, AttentionInfo attention, List<string> problems, JsonElement config)
    {
        foreach (var (key, factors, option) in new[] { ("short_factor", declared.ShortFactors!, "RotaryShortFactors"), ("long_factor", declared.LongFactors!, "RotaryLongFactors") })
        {
            float[]? given = Value(scaling, key) is { ValueKind: JsonValueKind.Array } list && list.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number)
                ? list.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray() : null;
            if (given is null) problems.Add($"rope_scaling has no list of numbers {key}");
            else if (!given.SequenceEqual(factors))
                problems.Add($"rope_scaling's {key} ({given.Length} factors) differs from '{attention.Name}' {option} ({factors.Length}){(given.Length == factors.Length ? $", first at pair {Enumerable.Range(0, given.Length).First(i => given[i] != factors[i])}" : "")}");
        }
        double? Number(JsonElement holder, string key) => Value(holder, key) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;
        double? original = Number(scaling, "original_max_position_embeddings") ?? Number(config, "original_max_position_embeddings");
        if (original is not { } context) problems.Add("neither rope_scaling nor the configuration gives original_max_position_embeddings (LongRoPE's original context)");
        else if (context != declared.OriginalContext)
            problems.Add($"original_max_position_embeddings is {context}, '{attention.Name}' declares RotaryOriginalContext = {declared.OriginalContext}");
        double? factor = Number(scaling, "factor") ?? (Number(config, "max_position_embeddings") is { } most && original is { } o && o > 0 ? most / o : null);
        if (factor is not { } f) problems.Add("rope_scaling has no factor, nor the configuration max_position_embeddings to take it from");
        else if ((float)f != declared.Factor)
            problems.Add($"LongRoPE's factor is {HuggingFace.Number((float)f)}{(Number(scaling, "factor") is null ? " (max_position_embeddings / original_max_position_embeddings)" : "")}, '{attention.Name}' declares RotaryScaling = {HuggingFace.Number(declared.Factor)}");
        if (Number(scaling, "attention_factor") is { } a && (float)a != declared.AttentionFactor)
            problems.Add($"rope_scaling's attention_factor is {HuggingFace.Number((float)a)}: LongRoPE's is computed here as √(1 + ln(factor) / ln(original)) = {HuggingFace.Number(declared.AttentionFactor)}");
    }

    private static string Number(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// The fraction of each head a partial rotation turns, as a configuration writes it (Phi-3's <c>partial_rotary_factor</c>, GPT-NeoX's
    /// <c>rotary_pct</c>): r / d, or the next double up where int(d · f) would round it down (Python reads the shortest decimal back
    /// exactly).
    /// </summary>
    private static double RotaryFraction(AttentionInfo a)
    {
        double fraction = a.RotaryWidth / (double)a.HeadSize;
        while ((int)(a.HeadSize * fraction) < a.RotaryWidth) fraction = Math.BitIncrement(fraction);
        return fraction;
    }

    /// <summary>
    /// A float as config.json writes it: the shortest decimal that reads back to it, a whole number with ".0" (as Python's
    /// json writes a float: transformers warns of a rope_scaling factor written as an integer).
    /// </summary>
    private static string JsonFloat(float value)
    {
        string text = Number(value);
        return text.AsSpan().IndexOfAny('.', 'E') >= 0 ? text : text + ".0";
    }

    /// <summary>
    /// A decoder layer's parts: <see cref="Post"/> is the norm before the feed-forward (LLaMA's <c>post_attention_layernorm</c>,
    /// Gemma 3's <c>pre_feedforward_layernorm</c>); Gemma 3's sandwich adds norms on the attention's and the feed-forward's
    /// outputs (<see cref="AfterAttention"/>, its <c>post_attention_layernorm</c>, and <see cref="AfterMlp"/>).
    /// </summary>
    private sealed record DecoderLayer(RmsNormInfo Input, AttentionInfo Attention, RmsNormInfo Post, DenseInfo Mlp, DenseInfo Down,
        RmsNormInfo? AfterAttention = null, RmsNormInfo? AfterMlp = null)
    {
        public bool Sandwich => AfterAttention is not null;

        public IEnumerable<RmsNormInfo> Norms() => AfterAttention is null ? [Input, Post] : [Input, AfterAttention, Post, AfterMlp!];
    }
}
