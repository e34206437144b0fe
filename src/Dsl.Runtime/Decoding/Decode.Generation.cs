using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;

namespace Dsl;

// Decoding as a GenerationConfig says (Hugging Face's generate(input_ids, generation_config)): greedy, sampling or beam search
// by its settings, up to the tokens its lengths leave, ending at any of its end tokens.
public static partial class Decode
{
    /// <summary>
    /// Decodes after <paramref name="prompt"/> as <paramref name="config"/> says, as transformers' <c>generate</c> does with a
    /// <c>GenerationConfig</c> (e.g. a model's <c>generation_config.json</c>, <see cref="HuggingFace.LoadGenerationConfig"/>):
    /// <see cref="GenerationConfig.NumBeams"/> above 1, beam search (its best sequence); else <see cref="GenerationConfig.DoSample"/>,
    /// sampling (temperature, top-k, top-p, min-p, drawn with <paramref name="rng"/>); else greedy decoding — each with
    /// the repetition penalty, no repeated n-gram and the least length (transformers' logits processors), until one of
    /// <see cref="GenerationConfig.EndTokens"/> (kept as the last token) or
    /// <see cref="GenerationConfig.MaxNewTokens"/> tokens (else as many as <see cref="GenerationConfig.MaxLength"/> leaves
    /// after the prompt). Returns the tokens after the prompt (transformers returns the prompt and them).
    /// </summary>
    /// <exception cref="ArgumentException">A setting out of range, or a <c>max_length</c> the prompt fills (as transformers refuses it).</exception>
    /// <exception cref="ArgumentNullException">The configuration samples and <paramref name="rng"/> is null.</exception>
    /// <exception cref="NotSupportedException">Beam sampling: not built.</exception>
    public static int[] Generate(IModel<int> model, ReadOnlySpan<int> prompt, GenerationConfig config, Rng? rng = null) =>
        Generate(model, null, prompt, Generating(model, prompt, config, rng, "the prompt", nameof(prompt), "Generate"), config, rng);

    /// <summary>
    /// The tokens <see cref="Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/> gives, each as soon as it is
    /// chosen (transformers' streamers), for greedy decoding and sampling: the prompt is read at the first <c>MoveNext</c>,
    /// and each <c>MoveNext</c> after it feeds the token before and chooses the next; leaving the loop early stops decoding.
    /// <see cref="Tokenizer.DecodeStream"/> turns them into text as it comes. The arguments are checked at the call; a step
    /// that fails part-way (logits that turn NaN) leaves <paramref name="rng"/> as it was before that token.
    /// </summary>
    /// <exception cref="NotSupportedException">Beam search (<see cref="GenerationConfig.NumBeams"/> above 1), whose tokens are known only when it ends.</exception>
    public static IEnumerable<int> Stream(IModel<int> model, ReadOnlySpan<int> prompt, GenerationConfig config, Rng? rng = null) =>
        Stream(model, null, prompt, Generating(model, prompt, config, rng, "the prompt", nameof(prompt), "Stream"), config, rng);

    /// <summary>One sequence from <paramref name="initial"/> (null: zeros) streamed as <paramref name="config"/> says, <paramref name="count"/> tokens at most; the rest checked by the caller.</summary>
    internal static IEnumerable<int> Stream(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int count, GenerationConfig config, Rng? rng)
    {
        RequireStreamable(config);
        return Streamed(model, initial, prefix.ToArray(), count, ChooserFor(model, config, prefix.Length, rng), config.EndTokens);
    }

    /// <summary>Greedy decoding and sampling stream; beam search, whose tokens are known only when it ends, is refused.</summary>
    internal static void RequireStreamable(GenerationConfig config)
    {
        if (config.NumBeams > 1)
            throw new NotSupportedException($"config: beam search (NumBeams {config.NumBeams}) knows its tokens only when it ends, so they cannot stream: use Generate, or NumBeams 1.");
    }

    private static IEnumerable<int> Streamed(IModel<int> model, IModelState? initial, int[] prefix, int count, Chooser chooser, EndTokens end)
    {
        using var sequence = new Sequence(model, NewState(model, initial), prefix, count, chooser, end, window: null);
        while (Next(sequence, chooser.Random) is int token) yield return token;
    }

    /// <summary>The sequence's next token (null once it has ended); a failure rewinds <paramref name="rng"/> (its chooser's) to before it.</summary>
    private static int? Next(Sequence sequence, Rng? rng)
    {
        var mark = rng?.Mark();
        try
        {
            return sequence.TryNext(out int token) ? token : null;
        }
        catch when (mark is not null)
        {
            rng!.Rewind(mark.Value);
            throw;
        }
    }

    /// <summary>
    /// How many tokens decoding by <paramref name="config"/> after <paramref name="prefix"/> (<paramref name="what"/>: its
    /// prompt, or a decoder's start token) takes at most, everything checked first: the settings, and the prefix, length and
    /// end tokens as every decoder checks them (<paramref name="prefixName"/>: the prefix's name in an error; an end token or a
    /// length the model cannot take named as the configuration's; <paramref name="oneSequence"/>: the caller, where it gives one
    /// sequence per prompt).
    /// </summary>
    internal static int Generating(IModel<int> model, ReadOnlySpan<int> prefix, GenerationConfig config, Rng? rng, string what, string prefixName, string? oneSequence)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        config.Require(rng);
        if (oneSequence is not null) config.RequireOneSequence(oneSequence);
        int count = config.NewTokens(prefix.Length, what);
        try
        {
            RequireDecoding(model, prefix, count, config.EndTokens, prefixName);
        }
        catch (ArgumentException e) when (IsConfigs(e))
        {
            throw GenerationConfig.AsConfigs(e);
        }
        return count;
    }

    /// <summary>Whether a decoder's refusal is of an end token or a length: with a configuration, the configuration's.</summary>
    private static bool IsConfigs(ArgumentException e) => e.ParamName is "endToken" or "maxLength";

    /// <summary>
    /// A batch of prompts [batch, steps] decoded as <paramref name="config"/> says, in one call (see <see cref="GreedyBatch"/>
    /// for the prompts, their lengths and how they step): element b is what <see cref="Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>
    /// gives for prompt b alone, except that <see cref="GenerationConfig.MaxLength"/> and <see cref="GenerationConfig.MinLength"/>
    /// count the longest prompt for every row, as transformers counts a batch padded to it; sampling draws for the rows that
    /// choose in row order at each step. With <see cref="GenerationConfig.NumReturnSequences"/> n above 1, element b·n + i is
    /// prompt b's i-th: sampled as n rows of their own, or a beam search's i-th best (none found: no tokens), as transformers
    /// returns them.
    /// </summary>
    public static int[][] GenerateBatch(IModel<int> model, ReadOnlyTensorSpan<int> prompts, ReadOnlySpan<int> lengths, GenerationConfig config, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Require(rng);
        // the longest prompt's length (a malformed batch, checked by the batch, counts its steps)
        int steps = prompts.Rank == 2 ? (int)prompts.Lengths[1] : 0;
        int longest = lengths.IsEmpty ? steps : Math.Clamp(TensorPrimitives.Max(lengths), 0, steps);
        int count = config.NewTokens(longest, "the longest prompt");
        PromptBatch batch;
        try
        {
            batch = new PromptBatch(model, prompts, lengths, count, config.EndTokens);
        }
        catch (ArgumentException e) when (IsConfigs(e))
        {
            throw GenerationConfig.AsConfigs(e);
        }
        return config.NumBeams > 1
            ? Best(BeamPrompts(model, batch, config.NumBeams, count, config.EndTokens, config.LengthPenalty, Options(model, config, longest)), config.NumReturnSequences)
            : SamplePrompts(model, batch.Repeated(config.NumReturnSequences), count, ChooserFor(model, config, longest, rng), config.EndTokens);
    }

    /// <summary>One sequence from <paramref name="initial"/> (null: zeros) decoded as <paramref name="config"/> says, <paramref name="count"/> tokens at most; the config checked by the caller.</summary>
    internal static int[] Generate(IModel<int> model, IModelState? initial, ReadOnlySpan<int> prefix, int count, GenerationConfig config, Rng? rng)
    {
        if (config.NumBeams > 1)
            return Best([Beam(model, initial, prefix, config.NumBeams, count, config.EndTokens, config.LengthPenalty, together: true, Options(model, config, prefix.Length))])[0];
        return Sample(model, NewState(model, initial), prefix, count, ChooserFor(model, config, prefix.Length, rng), config.EndTokens, window: null);
    }

    /// <summary>
    /// Every sequence of <paramref name="start"/> (an encoder–decoder's encoded batch), each fed <paramref name="prefix"/>,
    /// decoded as <paramref name="config"/> says, stepped together; checked by the caller.
    /// </summary>
    internal static int[][] GenerateEach(IModel<int> model, IDecoderState start, ReadOnlySpan<int> prefix, int count, GenerationConfig config, Rng? rng)
    {
        int n = config.NumReturnSequences;
        if (config.NumBeams > 1)
            return Best(BeamEach(model, start, prefix, config.NumBeams, count, config.EndTokens, config.LengthPenalty, Options(model, config, prefix.Length)), n);
        if (n > 1)
        {
            // each source's encoding n times in a row, sampled apart
            var widened = (IDecoderState)model.CreateState(start.Batch * n);
            widened.CopyRowsFrom(start, [.. Enumerable.Range(0, start.Batch * n).Select(r => r / n)]);
            start = widened;
        }
        if (count == 0) return [.. Enumerable.Repeat(Array.Empty<int>(), start.Batch)];
        Chooser chooser = ChooserFor(model, config, prefix.Length, rng);
        int[] fed = prefix.ToArray(); // (what the rules read besides the tokens chosen, as transformers reads decoder_input_ids)
        return Sample(model, Prefixed(model, start, prefix, reuse: false), start.Batch, count, chooser, config.EndTokens, prompts: [.. Enumerable.Repeat(fed, start.Batch)]);
    }

    /// <summary>The rules <paramref name="config"/> sets for sequences of <paramref name="fed"/> tokens before the first chosen (null: none).</summary>
    private static LogitRules? Rules(IModel<int> model, GenerationConfig config, int fed) =>
        LogitRules.For(model.OutputWidth, config.RepetitionPenalty, config.NoRepeatNgramSize, config.MinNew(fed), config.EndTokens);

    /// <summary>How <paramref name="config"/> chooses a token (greedy or sampling), with its rules.</summary>
    private static Chooser ChooserFor(IModel<int> model, GenerationConfig config, int fed, Rng? rng)
    {
        var (temperature, topK, topP, minP) = config.Choice;
        return new Chooser(model.OutputWidth, temperature, topK, topP, rng, minP, Rules(model, config, fed));
    }

    /// <summary>What <paramref name="config"/> asks of a beam search besides its width and length.</summary>
    private static BeamOptions Options(IModel<int> model, GenerationConfig config, int fed) => new(Rules(model, config, fed), StopEarly: config.EarlyStopping);

    /// <summary>Each search's <paramref name="n"/> best sequences, search after search (fewer found: no tokens for the rest).</summary>
    private static int[][] Best(IReadOnlyList<Hypothesis>[] found, int n = 1) => [.. found.SelectMany(f => Enumerable.Range(0, n).Select(i => i < f.Count ? f[i].Tokens : []))];
}
