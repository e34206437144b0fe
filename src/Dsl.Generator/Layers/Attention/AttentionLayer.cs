using System;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Attention;

/// <summary>
/// <c>[Attention(...)]</c>: multi-head self-attention or pooling (nn.MultiheadAttention), and the classic scores
/// (Luong's General, Bahdanau's Additive; any score over an encoder's outputs with <see cref="Over"/>).
/// </summary>
internal sealed record AttentionSpec(LayerHeader Header, int Heads, bool Causal, ScoreKind Score, float Dropout, bool Pool, string? Over, string? OverDisplay, int Units,
    bool InputFeeding = false, bool Rotary = false, float RotaryBase = AttentionSpec.DefaultRotaryBase, bool Bias = true, int KeyValueHeads = 0,
    RotaryScalingSpec? RotaryScaling = null, bool OutputBias = true, int SlidingWindow = 0, int HeadWidth = 0, bool QueryKeyNorm = false,
    float QueryKeyNormEpsilon = AttentionSpec.DefaultQueryKeyNormEpsilon, float Scale = 0f, float SoftCap = 0f, int RotaryDimensions = 0,
    int RelativeBuckets = 0, int RelativeMaxDistance = AttentionSpec.DefaultRelativeMaxDistance, bool RelativeShared = true, bool Alibi = false,
    bool AlibiScaled = false, float ClipQkv = 0f, bool QueryKeyNormAcrossHeads = false)
    : LayerSpec(Header)
{
    /// <summary>
    /// The earlier layer whose relative position table this one reads (T5's and MPNet's one table for every layer): with
    /// RelativeBuckets and RelativeShared, the first earlier attention layer that has them; null when this layer holds its own.
    /// </summary>
    public ShapedLayer? RelativeOwner(System.Collections.Generic.IEnumerable<ShapedLayer> previous) =>
        RelativeBuckets > 0 && RelativeShared ? previous.FirstOrDefault(l => l.Spec is AttentionSpec { RelativeBuckets: > 0, RelativeShared: true }) : null;

    /// <summary>
    /// The distances that have a bucket each: a quarter of the buckets on both sides of a query (T5's encoder's, MPNet's),
    /// half of them one-sided (a causal layer's, T5's decoder's: the keys after a query are masked).
    /// </summary>
    public int RelativeExactDistances => Causal ? RelativeBuckets / 2 : RelativeBuckets / 4;

    /// <summary>T5's and MPNet's relative_attention_max_distance, the attribute's default.</summary>
    public const int DefaultRelativeMaxDistance = 128;

    /// <summary>A head's width: <see cref="HeadWidth"/>, or the layer's width over the heads when it is 0.</summary>
    public int HeadSize(int width) => HeadWidth > 0 ? HeadWidth : Heads > 0 ? width / Heads : 0;

    /// <summary>QueryKeyNorm's ε, the attribute's default (Qwen3's rms_norm_eps).</summary>
    public const float DefaultQueryKeyNormEpsilon = 1e-6f;

    /// <summary>
    /// Whether the output projection has its bias (<c>out_proj.bias</c>): <c>OutputBias</c>, which follows <c>Bias</c> unless given
    /// (false with the input projections' biases: Qwen2's; true without them: GPT-Neo's).
    /// </summary>
    public bool HasOutputBias => OutputBias;

    /// <summary>The keys' and values' heads: <see cref="KeyValueHeads"/>, or as many as the queries' when it is 0.</summary>
    public int KvHeads => KeyValueHeads > 0 ? KeyValueHeads : Heads;

    /// <summary>Grouped-query attention: fewer key/value heads than query heads, each shared by a group of them.</summary>
    public bool Grouped => KvHeads != Heads;

    /// <summary>RoPE's usual base, the attribute's default.</summary>
    public const float DefaultRotaryBase = 10000f;

    public override LayerKind Kind => LayerKind.Attention;

    public override string? ReferencedModel => Over;

    public override string? ReferencedModelDisplay => OverDisplay;

    /// <summary>The scores with a learned projection inside the score and one head: General and Additive.</summary>
    public bool HasClassicScore => Score is ScoreKind.General or ScoreKind.Additive;

    /// <summary>
    /// Attention with the classic scores and no value projection (Luong, Bahdanau): Dot, General and Additive over an
    /// encoder's outputs, and General and Additive over the layer's own sequence or from a learned query (pooling). The
    /// others are nn.MultiheadAttention: ScaledDot and Dot without Over, and ScaledDot over an encoder.
    /// </summary>
    public bool IsClassic => HasClassicScore || (Over is not null && Score != ScoreKind.ScaledDot);

    /// <summary>Multi-head cross-attention, nn.MultiheadAttention(Q, heads, kdim = M, vdim = M): ScaledDot over an encoder.</summary>
    public bool IsMultiHeadCross => Over is not null && Score == ScoreKind.ScaledDot;
}

/// <summary>
/// The scaling of the rotary frequencies (<c>RotaryScaling</c>, its three companions and <c>RotaryScalingKind</c>: 0 LLaMA 3.1's,
/// 1 linear, 2 YaRN, 3 LongRoPE, 4 dynamic NTK); null when nothing of it is set.
/// </summary>
internal sealed record RotaryScalingSpec(float Factor, float LowFrequencyFactor, float HighFrequencyFactor, int OriginalContext, int Kind = 0,
    EquatableArray<float> ShortFactors = default, EquatableArray<float> LongFactors = default)
{
    /// <summary>No scaling: the factor 0, the companions at LLaMA 3.1's defaults (what <c>ReadScaling</c> turns into null).</summary>
    public static readonly RotaryScalingSpec None = new(0f, 1f, 4f, 8192);

    public bool Linear => Kind == 1;

    public bool Yarn => Kind == 2;

    public bool LongRope => Kind == 3;

    public bool Dynamic => Kind == 4;

    /// <summary>The low or high frequency factor set away from LLaMA 3.1's default (what neither the linear scaling nor YaRN reads), lower case; null when neither is.</summary>
    public string? SetFrequencyFactor => SetCompanion is "rotarylowfrequencyfactor" or "rotaryhighfrequencyfactor" ? SetCompanion : null;

    /// <summary>The option of the first companion set away from its default (LLaMA 3.1's), lower case; null when none is.</summary>
    public string? SetCompanion => LowFrequencyFactor != None.LowFrequencyFactor ? "rotarylowfrequencyfactor"
        : HighFrequencyFactor != None.HighFrequencyFactor ? "rotaryhighfrequencyfactor" : OriginalContext != None.OriginalContext ? "rotaryoriginalcontext" : null;

    /// <summary>
    /// The runtime's value, as C# (LongRoPE's factor lists as constant spans, which the runtime interns: nothing is allocated per
    /// call).
    /// </summary>
    public string Code => LongRope
        ? $"global::Dsl.RotaryScaling.LongRope({Helpers.SourceWriter.Float(Factor)}, {OriginalContext}, {Floats(ShortFactors)}, {Floats(LongFactors)})"
        : $"new global::Dsl.RotaryScaling({Helpers.SourceWriter.Float(Factor)}, {Helpers.SourceWriter.Float(LowFrequencyFactor)}, " +
          $"{Helpers.SourceWriter.Float(HighFrequencyFactor)}, {OriginalContext}{(Kind == 0 ? "" : $", (global::Dsl.RotaryScalingKind){Kind}")})";

    private static string Floats(EquatableArray<float> values) => "[" + string.Join(", ", values.Select(Helpers.SourceWriter.Float)) + "]";
}

/// <summary>What every attention plan exposes: the weights of the last pass, for inspection and heatmaps.</summary>
internal abstract record AttentionPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut, BufferRef Weights)
    : LayerPlan(Layer, In, DIn, Out, DOut)
{
    public override (BufferRef Weights, string Dims)? AttentionWeights
    {
        get
        {
            int heads = ((AttentionSpec)Layer.Spec).Heads;
            string dims = Layer.IsCrossAttention ? $"ws.B, {heads}, ws.T, ws.S" : ((AttentionSpec)Layer.Spec).Pool ? $"ws.B, {heads}, ws.T" : $"ws.B, {heads}, ws.T, ws.T";
            return (Weights, dims);
        }
    }
}

internal sealed class AttentionLayer : LayerDefinition<AttentionSpec, AttentionPlan>
{
    public override LayerKind Kind => LayerKind.Attention;

    public override string AttributeName => "Dsl.AttentionAttribute";

    public override LayerSpec Parse(AttributeReader a)
    {
        var over = a.Type("over");
        bool bias = a.Bool("bias", true);
        return new AttentionSpec(a.Header, a.Int("heads", 1), a.Bool("causal", false), (ScoreKind)a.Int("score", 0), a.Float("dropout", 0f),
            a.Bool("pool", false), over?.Key, over?.Display, a.Int("units", 0), a.Bool("inputfeeding", false), a.Bool("rotary", false),
            a.Float("rotarybase", AttentionSpec.DefaultRotaryBase), bias, a.Int("keyvalueheads", 0), ReadScaling(a), a.Bool("outputbias", bias),
            a.Int("slidingwindow", 0), a.Int("headwidth", 0), a.Bool("querykeynorm", false), a.Float("querykeynormepsilon", AttentionSpec.DefaultQueryKeyNormEpsilon), a.Float("scale", 0f),
            a.Float("softcap", 0f), a.Int("rotarydimensions", 0), a.Int("relativebuckets", 0), a.Int("relativemaxdistance", AttentionSpec.DefaultRelativeMaxDistance),
            a.Bool("relativeshared", true), a.Bool("alibi", false), a.Bool("alibiscaled", false), a.Float("clipqkv", 0f), a.Bool("querykeynormacrossheads", false));
    }

    /// <summary>The scaling's four options, null when its factor is 0 (a companion set without it is checked from the raw values).</summary>
    private static RotaryScalingSpec? ReadScaling(AttributeReader a)
    {
        RotaryScalingSpec none = RotaryScalingSpec.None;
        var scaling = new RotaryScalingSpec(a.Float("rotaryscaling", none.Factor), a.Float("rotarylowfrequencyfactor", none.LowFrequencyFactor),
            a.Float("rotaryhighfrequencyfactor", none.HighFrequencyFactor), a.Int("rotaryoriginalcontext", none.OriginalContext), a.Int("rotaryscalingkind", none.Kind),
            (a.Floats("rotaryshortfactors") ?? []).ToEquatableArray(), (a.Floats("rotarylongfactors") ?? []).ToEquatableArray());
        return scaling == none ? null : scaling;
    }

    protected override void Check(AttentionSpec spec, OptionChecks c)
    {
        c.Positive("heads", "Heads", spec.Heads);
        c.Probability("dropout", "Dropout", spec.Dropout);
        if (spec.Over is not null)
        {
            if (spec.Heads > 1 && spec.Score != ScoreKind.ScaledDot)
                c.Invalid("heads", "the Dot, General and Additive scores over an encoder have one head; Heads applies to ScaledDot, the projected multi-head cross-attention");
            if (spec.Causal) c.Invalid("causal", "Causal does not apply to cross-attention: every step may attend to the whole source");
            if (spec.Pool) c.Invalid("pool", "Pool and Over exclude each other: pooling attends over the model's own sequence");
            if (spec.InputFeeding && !spec.IsClassic)
                c.Invalid("inputfeeding", "InputFeeding applies to the Dot, General and Additive scores (Luong's and Bahdanau's attention), not to projected multi-head attention");
        }
        else if (spec.InputFeeding)
        {
            c.Invalid("inputfeeding", "InputFeeding feeds the context over an encoder's outputs back into the recurrent layer: it needs Over");
        }
        else
        {
            if (spec.Pool && spec.Causal) c.Invalid("causal", "Causal does not apply to attention pooling: its one query has no position");
            if (spec.HasClassicScore && spec.Heads > 1) c.Invalid("heads", "the General and Additive scores have one head; Heads applies to ScaledDot and Dot");
        }
        if (spec.Rotary && NotMultiHeadSelf(spec, PoolingWithoutPositions) is { } rotaryOn)
            c.Invalid("rotary", "Rotary turns the queries and keys of multi-head self-attention by their steps' positions; it does not apply to " + rotaryOn);
        if (c.AtLeastZero("keyvalueheads", "KeyValueHeads", spec.KeyValueHeads) && spec.Heads > 0 && spec.Grouped)
        {
            if (NotMultiHeadSelf(spec, "attention pooling") is { } groupedOn)
                c.Invalid("keyvalueheads", "KeyValueHeads shares key/value heads between groups of query heads in multi-head self-attention; it does not apply to " + groupedOn);
            else if (spec.KeyValueHeads > spec.Heads || spec.Heads % spec.KeyValueHeads != 0)
                c.Invalid("keyvalueheads", $"KeyValueHeads = {spec.KeyValueHeads} must divide Heads = {spec.Heads}: each key/value head serves Heads / KeyValueHeads query heads");
        }
        // (OutputBias follows Bias unless given: false on a classic score with Bias left true was given; Bias = false there is refused below)
        if (spec.IsClassic && spec.Bias && !spec.OutputBias)
            c.Invalid("outputbias", $"OutputBias = false drops nn.MultiheadAttention's output projection bias; the {spec.Score} score{(spec.Over is null ? "" : " over an encoder")} has no such projection");
        if (!spec.Bias && spec.IsClassic)
            c.Invalid("bias", $"Bias = false drops nn.MultiheadAttention's projection biases; the {spec.Score} score{(spec.Over is null ? "" : " over an encoder")} has no such projections");
        if (!(spec.RotaryBase > 0f) || float.IsInfinity(spec.RotaryBase))
            c.Invalid("rotarybase", $"RotaryBase must be a positive finite number, not {spec.RotaryBase}");
        else if (!spec.Rotary && spec.RotaryBase != AttentionSpec.DefaultRotaryBase)
            c.Invalid("rotarybase", "RotaryBase sets the rotary position embedding's wavelengths; it applies only with Rotary = true");
        if (c.AtLeastZero("rotarydimensions", "RotaryDimensions", spec.RotaryDimensions) && spec.RotaryDimensions > 0 && !spec.Rotary)
            c.Invalid("rotarydimensions", "RotaryDimensions turns the first values of each head alone (a partial rotation); it applies only with Rotary = true");
        if (spec.RotaryScaling is { } scaling)
        {
            if (!spec.Rotary)
                c.Invalid("rotaryscaling", "RotaryScaling and its factors scale the rotary position embedding's frequencies; they apply only with Rotary = true");
            else if (scaling.Kind is not (0 or 1 or 2 or 3 or 4))
                c.Invalid("rotaryscalingkind", $"RotaryScalingKind = {scaling.Kind} is not a known RotaryScalingKind");
            else if (!scaling.LongRope && (scaling.ShortFactors.Count > 0 || scaling.LongFactors.Count > 0))
                c.Invalid(scaling.ShortFactors.Count > 0 ? "rotaryshortfactors" : "rotarylongfactors", "RotaryShortFactors and RotaryLongFactors are LongRoPE's; they apply only with RotaryScalingKind = RotaryScalingKind.LongRope");
            else if (scaling.Factor == 0f && (scaling.Linear || scaling.Yarn || scaling.LongRope || scaling.Dynamic))
                c.Invalid("rotaryscalingkind", "RotaryScalingKind says how RotaryScaling scales the frequencies; set RotaryScaling (the factor) too");
            else if (scaling.Factor == 0f)
                c.Invalid(scaling.SetCompanion!, "RotaryLowFrequencyFactor, RotaryHighFrequencyFactor and RotaryOriginalContext shape the scaling RotaryScaling sets; set RotaryScaling (LLaMA 3.1's factor, 8) too");
            else if (!(scaling.Factor >= 1f) || float.IsInfinity(scaling.Factor))
                c.Invalid("rotaryscaling", $"RotaryScaling must be a finite factor of 1 or more (LLaMA 3.1's: 8), not {scaling.Factor}");
            else if (scaling.Yarn && scaling.SetFrequencyFactor is { } factor)
                c.Invalid(factor, "RotaryLowFrequencyFactor and RotaryHighFrequencyFactor shape LLaMA 3.1's scaling; YaRN keeps the pairs that turn more than 32 times over RotaryOriginalContext and divides those under once (transformers' beta_fast and beta_slow)");
            else if (scaling.Yarn && scaling.OriginalContext < 1)
                c.Invalid("rotaryoriginalcontext", $"RotaryOriginalContext must be 1 or more (the context trained on; Qwen2.5's: 32768), not {scaling.OriginalContext}");
            else if (scaling.Yarn) { } // (its factor checked above; the frequency factors unread)
            else if (scaling.Dynamic && scaling.SetFrequencyFactor is { } dynamicUnread)
                c.Invalid(dynamicUnread, "RotaryLowFrequencyFactor and RotaryHighFrequencyFactor shape LLaMA 3.1's scaling; dynamic NTK raises the base of a pass that reaches past RotaryOriginalContext");
            else if (scaling.Dynamic && scaling.OriginalContext < 1)
                c.Invalid("rotaryoriginalcontext", $"RotaryOriginalContext must be 1 or more (the context trained on, the configuration's max_position_embeddings), not {scaling.OriginalContext}");
            else if (scaling.Dynamic) { } // (the turned width checked when shaped)
            else if (scaling.LongRope && scaling.SetFrequencyFactor is { } unread)
                c.Invalid(unread, "RotaryLowFrequencyFactor and RotaryHighFrequencyFactor shape LLaMA 3.1's scaling; LongRoPE divides each pair's frequency by RotaryShortFactors' or RotaryLongFactors' own");
            else if (scaling.LongRope && (scaling.ShortFactors.Count == 0 || scaling.ShortFactors.Count != scaling.LongFactors.Count))
                c.Invalid(scaling.ShortFactors.Count == 0 ? "rotaryscalingkind" : "rotarylongfactors",
                    $"LongRoPE divides each pair's frequency by a factor of RotaryShortFactors (within RotaryOriginalContext) and of RotaryLongFactors (past it): give both, as many ({scaling.ShortFactors.Count} and {scaling.LongFactors.Count})");
            else if (scaling.LongRope && scaling.ShortFactors.Concat(scaling.LongFactors).Any(f => !(f > 0f) || float.IsInfinity(f)))
                c.Invalid("rotaryshortfactors", "RotaryShortFactors and RotaryLongFactors must be positive finite numbers");
            else if (scaling.LongRope && scaling.OriginalContext < 2)
                c.Invalid("rotaryoriginalcontext", $"RotaryOriginalContext must be 2 or more (Phi-3's: 4096), not {scaling.OriginalContext}");
            else if (scaling.LongRope) { } // (its lists checked against the head's pairs when shaped)
            else if (scaling.Linear && scaling.SetCompanion is { } companion)
                c.Invalid(companion, "RotaryLowFrequencyFactor, RotaryHighFrequencyFactor and RotaryOriginalContext shape LLaMA 3.1's scaling; the linear one divides every frequency by RotaryScaling alone");
            else if (!(scaling.LowFrequencyFactor > 0f) || !(scaling.HighFrequencyFactor > scaling.LowFrequencyFactor) || float.IsInfinity(scaling.HighFrequencyFactor))
                c.Invalid("rotaryscaling", $"RotaryLowFrequencyFactor ({scaling.LowFrequencyFactor}) must be positive and RotaryHighFrequencyFactor ({scaling.HighFrequencyFactor}) finite and above it");
            else if (scaling.OriginalContext < 1)
                c.Invalid("rotaryscaling", $"RotaryOriginalContext must be 1 or more (LLaMA 3.1's: 8192), not {scaling.OriginalContext}");
        }
        if (c.AtLeastZero("slidingwindow", "SlidingWindow", spec.SlidingWindow) && spec.SlidingWindow > 0)
        {
            if (NotMultiHeadSelf(spec, PoolingWithoutPositions) is { } windowOn)
                c.Invalid("slidingwindow", "SlidingWindow limits each step of multi-head self-attention to the steps near it; it does not apply to " + windowOn);
        }
        if (c.AtLeastZero("headwidth", "HeadWidth", spec.HeadWidth) && spec.HeadWidth > 0 && NotMultiHead(spec) is { } widthOn)
            c.Invalid("headwidth", "HeadWidth sets the width of each head of multi-head attention apart from the layer's; it does not apply to " + widthOn);
        if (spec.QueryKeyNorm && NotMultiHeadSelf(spec, "attention pooling") is { } normOn)
            c.Invalid("querykeynorm", "QueryKeyNorm normalises each head's queries and keys in multi-head self-attention; it does not apply to " + normOn);
        if (spec.QueryKeyNormAcrossHeads && !spec.QueryKeyNorm)
            c.Invalid("querykeynormacrossheads", "QueryKeyNormAcrossHeads normalises each step's queries and keys all together; it applies only with QueryKeyNorm = true");
        if (!(spec.QueryKeyNormEpsilon > 0f) || float.IsInfinity(spec.QueryKeyNormEpsilon))
            c.Invalid("querykeynormepsilon", $"QueryKeyNormEpsilon must be a positive finite number, not {spec.QueryKeyNormEpsilon}");
        else if (!spec.QueryKeyNorm && spec.QueryKeyNormEpsilon != AttentionSpec.DefaultQueryKeyNormEpsilon)
            c.Invalid("querykeynormepsilon", "QueryKeyNormEpsilon is the ε of the queries' and keys' normalisation; it applies only with QueryKeyNorm = true");
        if (!(spec.Scale >= 0f) || float.IsInfinity(spec.Scale))
            c.Invalid("scale", $"Scale must be a positive finite number (0: 1/√d), not {spec.Scale}");
        else if (spec.Scale > 0f && (NotMultiHead(spec) ?? (spec.Score == ScoreKind.Dot ? "the Dot score (unscaled; use ScaledDot)" : null)) is { } scaleOn)
            c.Invalid("scale", "Scale sets the scores' scale in multi-head attention with the ScaledDot score (over the layer's steps or an encoder's outputs); it does not apply to " + scaleOn);
        if (c.SoftCap(spec.SoftCap) && NotMultiHeadSelf(spec, "attention pooling") is { } capOn)
            c.Invalid("softcap", "SoftCap caps the scores of multi-head self-attention (Gemma 2's attn_logit_softcapping); it does not apply to " + capOn);
        if (c.AtLeastZero("relativebuckets", "RelativeBuckets", spec.RelativeBuckets) && spec.RelativeBuckets > 0)
        {
            if ((NotMultiHeadSelf(spec, PoolingWithoutPositions) ?? (spec.SoftCap > 0f ? "soft-capped scores" : null)
                ?? (spec.Rotary ? "rotary positions (a layer's positions are one or the other)" : null)) is { } relativeOn)
                c.Invalid("relativebuckets", "RelativeBuckets adds a learned bias by distance to the scores of multi-head self-attention (T5's, MPNet's); it does not apply to " + relativeOn);
            else if (spec.Causal && spec.RelativeBuckets < 2)
                c.Invalid("relativebuckets", $"RelativeBuckets = {spec.RelativeBuckets} must be 2 or more: a causal layer's buckets are one-sided, half of them one distance each (T5's decoder's: 32)");
            else if (!spec.Causal && (spec.RelativeBuckets < 4 || spec.RelativeBuckets % 2 != 0))
                c.Invalid("relativebuckets", $"RelativeBuckets = {spec.RelativeBuckets} must be even and 4 or more: half the buckets for the keys after a query, half for the rest (T5's and MPNet's: 32)");
            else if (spec.RelativeMaxDistance <= spec.RelativeExactDistances)
                c.Invalid("relativemaxdistance", $"RelativeMaxDistance = {spec.RelativeMaxDistance} must pass the {spec.RelativeExactDistances} distances of {spec.RelativeBuckets} {(spec.Causal ? "one-sided " : "")}buckets that have a bucket each (T5's: 128)");
        }
        else if (spec.RelativeMaxDistance != AttentionSpec.DefaultRelativeMaxDistance)
            c.Invalid("relativemaxdistance", "RelativeMaxDistance sets where the relative position buckets stop growing; it applies only with RelativeBuckets");
        else if (!spec.RelativeShared)
            c.Invalid("relativeshared", "RelativeShared = false gives a layer a relative position table of its own; it applies only with RelativeBuckets");
        if (spec.Alibi && (NotMultiHeadSelf(spec, PoolingWithoutPositions) ?? (spec.SoftCap > 0f ? "soft-capped scores" : null)
                ?? (spec.Rotary ? "rotary positions" : spec.RelativeBuckets > 0 ? "a relative position table (RelativeBuckets)" : null)) is { } alibiOn)
            c.Invalid("alibi", "Alibi adds a bias by distance to the scores of multi-head self-attention (BLOOM's, MPT's, JinaBERT's; a layer's positions are one kind); it does not apply to " + alibiOn);
        if (!(spec.ClipQkv >= 0f) || float.IsInfinity(spec.ClipQkv))
            c.Invalid("clipqkv", $"ClipQkv must be a positive finite number (0: none), not {spec.ClipQkv}");
        else if (spec.ClipQkv > 0f && NotMultiHeadSelf(spec, "attention pooling") is { } clipOn)
            c.Invalid("clipqkv", "ClipQkv clamps the projected queries, keys and values of multi-head self-attention (OLMo's clip_qkv); it does not apply to " + clipOn);
        if (spec.AlibiScaled && !spec.Alibi)
            c.Invalid("alibiscaled", "AlibiScaled scales ALiBi's bias with the scores (added before their scale: falcon-rw's); it applies only with Alibi = true");
        if (!Enum.IsDefined(typeof(ScoreKind), spec.Score))
            c.Invalid("score", $"Score = {(int)spec.Score} is not a known AttentionScore");
        // a negative width is out of range whatever the score (0: none, the input's width)
        if (c.AtLeastZero("units", "Units", spec.Units) && spec.Units != 0 && spec.Score != ScoreKind.Additive)
            c.Invalid("units", "Units sets the width of the additive score's hidden layer; it applies only with Score = Additive");
    }

    /// <summary>How a layer's relative position buckets lie: one-sided when it is causal (T5's decoder's), else on both sides of a query.</summary>
    private static string Sided(AttentionSpec spec) => spec.Causal ? "one-sided (causal)" : "two-sided";

    private const string PoolingWithoutPositions = "attention pooling (its learned query has no position)";

    /// <summary>
    /// The use an option of multi-head attention, self or over an encoder's outputs (HeadWidth, Scale), is refused on — attention
    /// pooling, the classic scores (over an encoder's outputs too) —; null for multi-head attention.
    /// </summary>
    private static string? NotMultiHead(AttentionSpec spec) =>
        spec.IsMultiHeadCross ? null : spec.Over is not null ? $"the classic {spec.Score} score over an encoder's outputs" : NotMultiHeadSelf(spec, "attention pooling");

    /// <summary>
    /// The use an option of multi-head self-attention (Rotary, KeyValueHeads, SlidingWindow, QueryKeyNorm, SoftCap, RelativeBuckets, Alibi) is refused on, as its message names
    /// it — attention over an encoder, <paramref name="pooling"/>, or the General and Additive scores —; null for multi-head self-attention.
    /// </summary>
    private static string? NotMultiHeadSelf(AttentionSpec spec, string pooling) =>
        spec.Over is not null ? "attention over an encoder's outputs" : spec.Pool ? pooling : spec.HasClassicScore ? $"the {spec.Score} score" : null;

    protected override ShapedLayer Shape(AttentionSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        int inWidth = c.InWidth;
        if (spec.Over is not null)
        {
            // a model's state carries one encoder's outputs (State.Attend, an encoder–decoder's Encode): every cross-attention
            // layer reads that one memory
            if (c.Previous.FirstOrDefault(l => l.Spec.ReferencedModel is { } other && other != spec.Over) is { } earlier)
                c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("over"), c.Name,
                    $"Over = typeof({spec.OverDisplay}): layer '{earlier.Name}' attends over '{earlier.Spec.ReferencedModelDisplay}', and a model attends over one encoder's outputs (its State carries one memory)");
            var (memoryWidth, memoryModel) = ResolveMemory(spec, c);
            if (spec.IsMultiHeadCross && spec.HeadWidth == 0 && spec.Heads > 0 && inWidth > 0 && inWidth % spec.Heads != 0)
                c.Report(DiagnosticDescriptors.HeadsDoNotDivideWidth, spec.ArgumentLocation("heads"), c.Name, spec.Heads, inWidth);
            // projected multi-head attention keeps the query's width; the classic forms output [x; context]
            int width = memoryWidth > 0 && !spec.IsMultiHeadCross ? c.Concatenated(spec, inWidth, memoryWidth) : inWidth;
            CheckSize(spec, c, memoryWidth > 0 ? memoryWidth : inWidth);
            if (spec.InputFeeding) InputFeeding.CheckRecurrentBefore(spec, c);
            return new ShapedLayer(spec, c.Name, inWidth, width, c.InIsSequence, c.InIsSequence, MemoryWidth: memoryWidth, MemoryModel: memoryModel);
        }
        int outWidth = inWidth, head = spec.HeadSize(inWidth);
        if (!spec.HasClassicScore && spec.HeadWidth == 0 && spec.Heads > 0 && inWidth > 0 && inWidth % spec.Heads != 0)
            c.Report(DiagnosticDescriptors.HeadsDoNotDivideWidth, spec.ArgumentLocation("heads"), c.Name, spec.Heads, inWidth);
        else if (spec.Rotary && !spec.Pool && !spec.HasClassicScore && spec.Heads > 0 && inWidth > 0 && head % 2 != 0)
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation(spec.HeadWidth > 0 ? "headwidth" : "rotary"), c.Name, spec.HeadWidth > 0
                ? $"Rotary turns pairs of a head's values: HeadWidth = {head} must be even"
                : $"Rotary turns pairs of a head's values: each of the {spec.Heads} head(s) of {inWidth} is {head} wide, and must be even");
        else if (spec.Rotary && spec.RotaryScaling is { LongRope: true, ShortFactors.Count: > 0 } longRope && !spec.Pool && !spec.HasClassicScore && spec.Heads > 0 && inWidth > 0
            && longRope.ShortFactors.Count != (spec.RotaryDimensions > 0 ? spec.RotaryDimensions : head) / 2)
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("rotaryshortfactors"), c.Name,
                $"RotaryShortFactors and RotaryLongFactors give {longRope.ShortFactors.Count} factors: LongRoPE needs one per pair of each head's {(spec.RotaryDimensions > 0 ? spec.RotaryDimensions : head)} turned values, {(spec.RotaryDimensions > 0 ? spec.RotaryDimensions : head) / 2}");
        else if (spec.Rotary && spec.RotaryScaling is { Dynamic: true } && !spec.Pool && !spec.HasClassicScore && spec.Heads > 0 && inWidth > 0
            && (spec.RotaryDimensions > 0 ? spec.RotaryDimensions : head) <= 2)
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("rotaryscalingkind"), c.Name,
                $"dynamic NTK raises the base by a power d / (d − 2) of each head's d turned values: it needs more than 2, got {(spec.RotaryDimensions > 0 ? spec.RotaryDimensions : head)}");
        else if (spec.Rotary && spec.RotaryDimensions > 0 && !spec.Pool && !spec.HasClassicScore && spec.Heads > 0 && inWidth > 0 && (spec.RotaryDimensions % 2 != 0 || spec.RotaryDimensions > head))
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("rotarydimensions"), c.Name,
                $"RotaryDimensions = {spec.RotaryDimensions} turns pairs of each head's first values: it must be even and at most the head's {head}");
        if (spec.HasClassicScore && !spec.Pool) outWidth = c.Concatenated(spec, inWidth, inWidth); // [x; context]
        ShapedLayer? bidirectional = c.Previous.FirstOrDefault(l => l.Directions == 2);
        if (spec.Causal && bidirectional is not null)
            c.Report(DiagnosticDescriptors.CausalAfterBidirectional, spec.ArgumentLocation("causal"), c.Name, bidirectional.Name);
        if (spec.Pool) c.VectorReason = "one pooled vector per sequence (Pool = true)";
        if (spec.RelativeOwner(c.Previous) is { Spec: AttentionSpec owner } shared
            && (owner.Heads != spec.Heads || owner.RelativeBuckets != spec.RelativeBuckets || owner.RelativeMaxDistance != spec.RelativeMaxDistance || owner.Causal != spec.Causal))
            c.Report(DiagnosticDescriptors.InvalidOption, spec.ArgumentLocation("relativebuckets"), c.Name,
                $"it reads the relative position table of '{shared.Name}' (RelativeShared, T5's and MPNet's one table for every layer), which has {owner.Heads} head(s), {owner.RelativeBuckets} {Sided(owner)} buckets up to {owner.RelativeMaxDistance}: " +
                $"declare the same, or RelativeShared = false for a table of its own (this layer: {spec.Heads} head(s), {spec.RelativeBuckets} {Sided(spec)} buckets up to {spec.RelativeMaxDistance})");
        CheckSize(spec, c, inWidth);
        return new ShapedLayer(spec, c.Name, inWidth, outWidth, c.InIsSequence, !spec.Pool && c.InIsSequence, StepBlocker: StepBlocker(spec));
    }

    /// <summary>
    /// Why self-attention cannot step, null when it can: causal attention keeps what the steps taken left (keys and values,
    /// in the state); every step of non-causal attention reads the steps after it.
    /// </summary>
    private static string? StepBlocker(AttentionSpec spec) =>
        spec.Pool ? "pools the whole sequence into one vector"
        : !spec.Causal ? "attends over the whole sequence, later steps included (a decoder that steps declares Causal = true)"
        : null;

    /// <summary>The width of the outputs a cross-attention layer attends over, 0 (with a diagnostic) when they cannot be used.</summary>
    private static (int Width, string? Model) ResolveMemory(AttentionSpec spec, ShapeContext c)
    {
        LocationInfo? at = spec.ArgumentLocation("over");
        ModelSpec? encoder = c.Resolve(spec.Over!);
        if (encoder is null || encoder.Composition is not null)
        {
            c.Report(DiagnosticDescriptors.NotAModel, at, $"Layer '{c.Name}'", "Over", spec.OverDisplay ?? "?");
            return (0, null);
        }
        if (encoder.Key == c.Model.Key)
        {
            c.Report(DiagnosticDescriptors.InvalidOption, at, c.Name,
                "Over must name another model (the encoder); a model attends over its own sequence with self-attention, without Over");
            return (0, null);
        }
        if (c.ShapeReferenced(spec.Over!) is not { } memory)
        {
            c.Report(DiagnosticDescriptors.EncoderDecoderMismatch, at, c.Model.Name, $"its layer '{c.Name}' starts a chain of models attending over each other that does not end");
            return (0, null);
        }
        if (!memory.IsValid)
        {
            c.Report(DiagnosticDescriptors.EncoderDecoderMismatch, at, c.Model.Name, $"its layer '{c.Name}' attends over '{encoder.Name}', which has declaration errors");
            return (0, encoder.Name);
        }
        if (!memory.OutputIsSequence)
        {
            c.Report(DiagnosticDescriptors.SequenceLayerFedVector, at, c.Name, encoder.Name, "one vector per sequence");
            return (0, encoder.Name);
        }
        if (memory.HasCrossAttention)
        {
            // its own outputs need a third model's: a pass over it alone (what encoding runs) has no memory to attend over
            c.Report(DiagnosticDescriptors.EncoderDecoderMismatch, at, c.Model.Name,
                $"its layer '{c.Name}' attends over '{encoder.Name}', which attends over another model's outputs itself; an encoder reads only its own input");
            return (0, encoder.Name);
        }
        if (spec.Score == ScoreKind.Dot && c.InWidth > 0 && c.InWidth != memory.OutputWidth)
        {
            c.Report(DiagnosticDescriptors.AttentionWidthsDiffer, spec.ArgumentLocation("score"), c.Name,
                spec.Score.ToString(), c.InWidth, encoder.Name, memory.OutputWidth);
        }
        return (memory.OutputWidth, encoder.Name);
    }

    /// <param name="keyWidth">The width of what it attends over: the encoder's outputs, or the input.</param>
    private static void CheckSize(AttentionSpec spec, ShapeContext c, int keyWidth)
    {
        int inWidth = c.InWidth;
        if (spec.IsMultiHeadCross)
        {
            long queries = spec.Heads > 0 ? (long)spec.Heads * spec.HeadSize(inWidth) : inWidth;
            c.Limit(spec, "in_proj_weight", 3L * queries, inWidth);
            c.Limit(spec, "k_proj_weight", queries, keyWidth);
            return;
        }
        if (!spec.IsClassic)
        {
            long head = spec.HeadSize(inWidth);
            c.Limit(spec, "in_proj_weight", spec.Heads > 0 ? (spec.Heads + 2L * spec.KvHeads) * head : 3L * inWidth, inWidth);
            return;
        }
        long units = spec.Units > 0 ? spec.Units : inWidth;
        if (spec.Score == ScoreKind.General) c.Limit(spec, "weight", inWidth, keyWidth);
        if (spec.Score == ScoreKind.Additive) c.Limit(spec, "key.weight", units, keyWidth);
        if (spec.Score == ScoreKind.Additive && !spec.Pool) c.Limit(spec, "query.weight", units, inWidth);
    }

    protected override string Describe(ShapedLayer layer, AttentionSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.AttentionInfo({Literal(layer.Name)}, {layer.InWidth}, {layer.OutWidth}, {Literal(layer.OutIsSequence)}, {spec.Heads}, {Literal(spec.Causal)}, " +
        $"global::Dsl.AttentionScore.{spec.Score}, {Literal(spec.Pool)}, {layer.MemoryWidth}, {spec.Units}, {Literal(spec.InputFeeding)}" +
        (spec.Rotary ? $", RotaryBase: {Helpers.SourceWriter.Float(spec.RotaryBase)}" : "") + (spec.Bias ? "" : ", Bias: false") + (spec.OutputBias ? "" : ", OutputBias: false") +
        (spec.RotaryScaling is { } scaling ? $", RotaryScaling: {scaling.Code}" : "") + (spec.SlidingWindow > 0 ? $", SlidingWindow: {spec.SlidingWindow}" : "") +
        (spec.Grouped ? $", KeyValueHeads: {spec.KvHeads}" : "") + (spec.HeadWidth > 0 ? $", HeadWidth: {spec.HeadWidth}" : "") +
        (spec.QueryKeyNorm ? $", QueryKeyNorm: true, QueryKeyNormEpsilon: {Helpers.SourceWriter.Float(spec.QueryKeyNormEpsilon)}" : "") +
        (spec.QueryKeyNormAcrossHeads ? ", QueryKeyNormAcrossHeads: true" : "") +
        (spec.Scale > 0f ? $", Scale: {Helpers.SourceWriter.Float(spec.Scale)}" : "") + (spec.SoftCap > 0f ? $", SoftCap: {Helpers.SourceWriter.Float(spec.SoftCap)}" : "") +
        (spec.RotaryDimensions > 0 ? $", RotaryDimensions: {spec.RotaryDimensions}" : "") +
        (spec.RelativeBuckets > 0 ? $", RelativeBuckets: {spec.RelativeBuckets}, RelativeMaxDistance: {spec.RelativeMaxDistance}" : "") +
        (spec.RelativeOwner(model.Layers.Take(index)) is { } owner ? $", RelativeSharedWith: {Literal(owner.Name)}" : "") + (spec.Alibi ? ", Alibi: true" : "") + (spec.AlibiScaled ? ", AlibiScaled: true" : "") +
        (spec.ClipQkv > 0f ? $", ClipQkv: {Helpers.SourceWriter.Float(spec.ClipQkv)}" : "") + ")";

    protected override AttentionPlan Lower(ShapedLayer layer, AttentionSpec spec, LowerContext c) =>
        spec.IsClassic ? ClassicAttention.Lower(layer, spec, c) : MultiHeadAttention.Lower(layer, spec, c);
}
