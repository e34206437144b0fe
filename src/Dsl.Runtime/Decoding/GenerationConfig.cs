using System;

namespace Dsl;

/// <summary>
/// How to decode, as Hugging Face's <c>GenerationConfig</c> says it (a model's <c>generation_config.json</c>, read by
/// <see cref="HuggingFace.LoadGenerationConfig"/>), with transformers' defaults: greedy decoding (<see cref="DoSample"/> false,
/// <see cref="NumBeams"/> 1), sampling, or beam search, up to <see cref="MaxNewTokens"/> tokens (or as many as make
/// <see cref="MaxLength"/> with the prompt), ending at any of <see cref="EndTokens"/>. <see cref="Decode.Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>,
/// <see cref="Decode.GenerateBatch"/> and an encoder–decoder's <c>Generate</c> decode by it. A record: change a setting with
/// <c>config with { MaxNewTokens = 100 }</c>.
/// </summary>
public sealed record GenerationConfig
{
    /// <summary><c>eos_token_id</c>: the tokens that end a sequence (none: decoding runs to its length).</summary>
    public EndTokens EndTokens { get; init; }

    /// <summary><c>bos_token_id</c>: the token a tokenizer puts first (not used in decoding: the prompt holds it).</summary>
    public int? BeginToken { get; init; }

    /// <summary><c>pad_token_id</c> (not used in decoding: a batch of prompts is not padded).</summary>
    public int? PadToken { get; init; }

    /// <summary><c>decoder_start_token_id</c>: what an encoder–decoder's decoder is fed first.</summary>
    public int? DecoderStartToken { get; init; }

    /// <summary><c>do_sample</c>: sample each token (true) or choose the most likely (false, the default).</summary>
    public bool DoSample { get; init; }

    /// <summary><c>temperature</c> (1 by default; read when sampling, and then above 0).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary><c>top_k</c>: sampling keeps the k most likely tokens (50 by default, transformers'; 0: all).</summary>
    public int TopK { get; init; } = 50;

    /// <summary><c>top_p</c>: nucleus sampling's mass (1 by default: all).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary><c>min_p</c>: min-p sampling's fraction of the most likely token's probability (0 by default: all).</summary>
    public float MinP { get; init; }

    /// <summary><c>repetition_penalty</c> (1 by default: none), in greedy decoding as in sampling.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary><c>num_beams</c>: beam search's width (1 by default: no beam search).</summary>
    public int NumBeams { get; init; } = 1;

    /// <summary><c>length_penalty</c>: beam search scores a sequence by its log-probability over length^this (1 by default).</summary>
    public float LengthPenalty { get; init; } = 1f;

    /// <summary>
    /// <c>max_length</c>: the longest sequence, its prompt counted (20 by default, transformers'); for an encoder–decoder the
    /// decoder's tokens, its start token counted. <see cref="MaxNewTokens"/> overrides it.
    /// </summary>
    public int MaxLength { get; init; } = 20;

    /// <summary><c>max_new_tokens</c>: the most tokens generated after the prompt (null: as <see cref="MaxLength"/> leaves).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>
    /// The most tokens to generate after a prompt of <paramref name="fed"/> tokens (an encoder–decoder's: its start token):
    /// <see cref="MaxNewTokens"/>, else what <see cref="MaxLength"/> leaves, refused when that is nothing (as transformers refuses it).
    /// </summary>
    internal int NewTokens(int fed, string what)
    {
        if (MaxNewTokens is int n)
        {
            if (n < 0) throw new ArgumentException($"config: MaxNewTokens (max_new_tokens) is {n}; expected a count ≥ 0.", "config");
            return n;
        }
        if (MaxLength <= fed)
            throw new ArgumentException($"config: MaxLength (max_length) is {MaxLength}, which counts {what}'s {fed} token(s) and leaves none to generate: set MaxNewTokens (max_new_tokens), or a longer MaxLength.", "config");
        return MaxLength - fed;
    }

    /// <summary>
    /// What decoding by this configuration needs, checked before anything runs: a beam width ≥ 1, sampling's settings in range
    /// and a generator to draw with, and no combination that is not built (beam sampling, a repetition penalty in beam search).
    /// </summary>
    internal void Require(Rng? rng)
    {
        if (NumBeams < 1) throw new ArgumentException($"config: NumBeams (num_beams) is {NumBeams}; expected 1 (no beam search) or more.", "config");
        if (NumBeams > 1)
        {
            if (DoSample)
                throw new NotSupportedException($"config: DoSample with NumBeams {NumBeams} (transformers' beam sampling) is not built: set DoSample false for beam search, or NumBeams 1 to sample.");
            if (RepetitionPenalty != 1f)
                throw new NotSupportedException($"config: a RepetitionPenalty ({RepetitionPenalty}) in beam search (NumBeams {NumBeams}) is not built: set it to 1, or NumBeams 1.");
            Checked(() => Decode.RequireBeam(NumBeams, LengthPenalty));
            return;
        }
        if (!DoSample)
        {
            Checked(() => Decode.RequireSampling(0f, 0, 1f, null, 0f, RepetitionPenalty));
            return;
        }
        if (!(Temperature > 0)) throw new ArgumentException($"config: Temperature (temperature) is {Temperature}; sampling (DoSample) needs one above 0 (transformers refuses it too): set DoSample false for greedy decoding.", "config");
        if (rng is null) throw new ArgumentNullException(nameof(rng), "The configuration samples (DoSample, do_sample): a random generator is needed.");
        Checked(() => Decode.RequireSampling(Temperature, TopK, TopP, rng, MinP, RepetitionPenalty));
    }

    /// <summary>A setting out of range, reported as the configuration's.</summary>
    private static void Checked(Action check)
    {
        try
        {
            check();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"config: {e.Message}", "config", e);
        }
    }

    /// <summary>The temperature, top-k, top-p and min-p a token is chosen with (temperature 0, and no truncation, when not sampling).</summary>
    internal (float Temperature, int TopK, float TopP, float MinP) Choice => DoSample ? (Temperature, TopK, TopP, MinP) : (0f, 0, 1f, 0f);
}
