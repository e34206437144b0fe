using System;

namespace Dsl;

/// <summary>An answer's tokens, <see cref="Start"/> through <see cref="End"/> (both included), and how likely it is.</summary>
/// <param name="Start">The answer's first token.</param>
/// <param name="End">Its last token (≥ Start).</param>
/// <param name="Probability">p(start) · p(end), each a softmax of its logits over the context's tokens.</param>
public readonly record struct AnswerSpan(int Start, int End, float Probability);

/// <summary>
/// Extractive question answering's answer from a model's start and end logits (transformers' <c>…ForQuestionAnswering</c>, whose
/// <c>qa_outputs</c> gives each token of <c>[CLS] question [SEP] context [SEP]</c> two): the span of the context whose start and
/// end are the likeliest together, as transformers' question-answering pipeline picks it.
/// </summary>
public static class AnswerSpans
{
    /// <summary>
    /// The best span within the context: the start s and end e (s ≤ e &lt; s + <paramref name="maxAnswerLength"/>, both in
    /// [<paramref name="contextStart"/>, <paramref name="contextEnd"/>)) of the greatest start logit plus end logit, the first such
    /// on ties; its probability the softmaxes' product over the context's tokens.
    /// </summary>
    /// <param name="logits">One sequence's logits [steps, 2], each token's start then its end logit (the model's output for it).</param>
    /// <param name="contextStart">The context's first token (after the question's <c>[SEP]</c>).</param>
    /// <param name="contextEnd">One past its last token (its closing <c>[SEP]</c>, or the sequence's length).</param>
    /// <param name="maxAnswerLength">The longest answer in tokens (the pipeline's <c>max_answer_len</c>, 15).</param>
    /// <exception cref="ArgumentException">The logits are not pairs, or the context is empty or outside them.</exception>
    public static AnswerSpan Best(ReadOnlySpan<float> logits, int contextStart, int contextEnd, int maxAnswerLength = 15)
    {
        if (logits.Length % 2 != 0) throw new ArgumentException($"Expected each token's start and end logits [steps, 2], got {logits.Length} values.", nameof(logits));
        int steps = logits.Length / 2;
        if (contextStart < 0 || contextEnd > steps || contextStart >= contextEnd)
            throw new ArgumentException($"Expected a context of one token or more within the {steps} steps, got [{contextStart}, {contextEnd}).", nameof(contextStart));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxAnswerLength);
        int bestStart = contextStart, bestEnd = contextStart;
        float best = float.NegativeInfinity;
        for (int s = contextStart; s < contextEnd; s++)
        {
            for (int e = s; e < Math.Min(contextEnd, s + maxAnswerLength); e++)
            {
                float score = logits[2 * s] + logits[2 * e + 1];
                if (score > best) (best, bestStart, bestEnd) = (score, s, e);
            }
        }
        return new AnswerSpan(bestStart, bestEnd, Softmax(logits, contextStart, contextEnd, bestStart, 0) * Softmax(logits, contextStart, contextEnd, bestEnd, 1));
    }

    /// <summary>
    /// The best span of a pair's context, found by its separators: the tokens after the first <paramref name="separator"/>
    /// (<c>[CLS] question [SEP]</c>) up to the next one (<c>context [SEP]</c>), or to the sequence's <paramref name="length"/>
    /// where none follows (a context cut by truncation keeps its last [SEP], so one does).
    /// </summary>
    /// <param name="logits">One sequence's logits [steps, 2] (the model's output for it).</param>
    /// <param name="ids">The sequence's token ids (its padded steps past <paramref name="length"/> are not read).</param>
    /// <param name="separator">The tokenizer's <c>[SEP]</c> id (<c>tokenizer.TokenToId("[SEP]")</c>).</param>
    /// <param name="length">The sequence's valid steps.</param>
    /// <param name="maxAnswerLength">The longest answer in tokens.</param>
    /// <exception cref="ArgumentException">The ids hold no separator followed by a context token, or do not match the logits.</exception>
    public static AnswerSpan InPair(ReadOnlySpan<float> logits, ReadOnlySpan<int> ids, int separator, int length, int maxAnswerLength = 15)
    {
        if (length < 0 || length > ids.Length || 2 * length > logits.Length)
            throw new ArgumentException($"Expected a length within the {ids.Length} ids and {logits.Length / 2} steps of logits, got {length}.", nameof(length));
        ReadOnlySpan<int> valid = ids[..length];
        int first = valid.IndexOf(separator);
        int end = first < 0 ? -1 : valid[(first + 1)..].IndexOf(separator);
        int contextEnd = end < 0 ? length : first + 1 + end;
        if (first < 0 || contextEnd <= first + 1)
            throw new ArgumentException($"Expected a question and a context joined by the separator {separator} ([CLS] question [SEP] context [SEP]), got {(first < 0 ? "no separator" : "no context token after it")} in the {length} ids.", nameof(ids));
        return Best(logits[..(2 * length)], first + 1, contextEnd, maxAnswerLength);
    }

    /// <summary>The softmax at <paramref name="at"/> of column <paramref name="column"/>'s logits over [from, to), in double.</summary>
    private static float Softmax(ReadOnlySpan<float> logits, int from, int to, int at, int column)
    {
        double max = double.NegativeInfinity, sum = 0;
        for (int t = from; t < to; t++) max = Math.Max(max, logits[2 * t + column]);
        for (int t = from; t < to; t++) sum += Math.Exp(logits[2 * t + column] - max);
        return (float)(Math.Exp(logits[2 * at + column] - max) / sum);
    }
}
