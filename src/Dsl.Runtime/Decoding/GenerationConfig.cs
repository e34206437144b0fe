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

    /// <summary>
    /// <c>bos_token_id</c>: the token a tokenizer puts first (a prompt holds it); an encoder–decoder's decoder starts from it
    /// where <see cref="DecoderStartToken"/> is not set, as transformers' does.
    /// </summary>
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

    /// <summary><c>repetition_penalty</c> (1 by default: none), in greedy decoding, sampling and beam search.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary><c>no_repeat_ngram_size</c>: no n-gram of this size twice in a sequence, prompt counted (0 by default: any).</summary>
    public int NoRepeatNgramSize { get; init; }

    /// <summary>
    /// <c>min_length</c>: no end token before the sequence is this long, its prompt counted (an encoder–decoder's decoder: its
    /// start token); 0 by default.
    /// </summary>
    public int MinLength { get; init; }

    /// <summary><c>min_new_tokens</c>: no end token before this many tokens after the prompt (null by default: none).</summary>
    public int? MinNewTokens { get; init; }

    /// <summary>
    /// <c>early_stopping</c> true: beam search stops as soon as <see cref="NumBeams"/> sequences have ended; false (the default,
    /// and "never"): once no live sequence can outscore them.
    /// </summary>
    public bool EarlyStopping { get; init; }

    /// <summary>
    /// <c>num_return_sequences</c>: how many sequences <see cref="Decode.GenerateBatch"/> (and an encoder–decoder's batch
    /// <c>Generate</c>) returns per prompt, each prompt's together (1 by default): that many drawn apart when sampling, a beam
    /// search's best that many (at most <see cref="NumBeams"/>); greedy decoding finds one.
    /// </summary>
    public int NumReturnSequences { get; init; } = 1;

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
    /// What decoding by this configuration needs, checked before anything runs: a beam width ≥ 1, lengths and sizes ≥ 0,
    /// sampling's settings in range and a generator to draw with, and no beam sampling (not built).
    /// </summary>
    internal void Require(Rng? rng)
    {
        if (NumBeams < 1) throw new ArgumentException($"config: NumBeams (num_beams) is {NumBeams}; expected 1 (no beam search) or more.", "config");
        if (NoRepeatNgramSize < 0) throw new ArgumentException($"config: NoRepeatNgramSize (no_repeat_ngram_size) is {NoRepeatNgramSize}; expected 0 (none) or more.", "config");
        if (MinLength < 0) throw new ArgumentException($"config: MinLength (min_length) is {MinLength}; expected 0 (none) or more.", "config");
        if (MinNewTokens < 0) throw new ArgumentException($"config: MinNewTokens (min_new_tokens) is {MinNewTokens}; expected 0 (none) or more.", "config");
        if (NumReturnSequences < 1) throw new ArgumentException($"config: NumReturnSequences (num_return_sequences) is {NumReturnSequences}; expected 1 or more.", "config");
        if (NumReturnSequences > 1 && !DoSample && NumBeams < NumReturnSequences)
            throw new ArgumentException($"config: NumReturnSequences (num_return_sequences) {NumReturnSequences} needs sampling (DoSample) or a beam search at least as wide (NumBeams {NumBeams}): "
                + "greedy decoding finds one sequence, a beam search its width (transformers refuses it too).", "config");
        if (NumBeams > 1)
        {
            if (DoSample)
                throw new NotSupportedException($"config: DoSample with NumBeams {NumBeams} (transformers' beam sampling) is not built: set DoSample false for beam search, or NumBeams 1 to sample.");
            Checked(() => Decode.RequireBeam(NumBeams, LengthPenalty));
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
            throw AsConfigs(e);
        }
    }

    /// <summary>A decoder's refusal of an argument that the configuration set, as the configuration's.</summary>
    internal static ArgumentException AsConfigs(ArgumentException e) => new($"config: {e.Message}", "config", e);

    /// <summary>Refuses several sequences per prompt where the caller returns one (<paramref name="what"/>).</summary>
    internal void RequireOneSequence(string what)
    {
        if (NumReturnSequences != 1)
            throw new ArgumentException($"config: NumReturnSequences (num_return_sequences) is {NumReturnSequences}, but {what} gives one sequence: decode with GenerateBatch "
                + "(an encoder–decoder: Generate with lengths), which returns that many per prompt.", "config");
    }

    /// <summary>How many tokens a sequence chooses before an end token may be one, after <paramref name="fed"/> fed (its prompt, or a decoder's start token).</summary>
    internal int MinNew(int fed) => Math.Max(MinNewTokens ?? 0, MinLength - fed);

    /// <summary>The temperature, top-k, top-p and min-p a token is chosen with (temperature 0, and no truncation, when not sampling).</summary>
    internal (float Temperature, int TopK, float TopP, float MinP) Choice => DoSample ? (Temperature, TopK, TopP, MinP) : (0f, 0, 1f, 0f);
}
