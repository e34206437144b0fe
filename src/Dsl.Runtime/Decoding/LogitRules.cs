using System;

namespace Dsl;

public static partial class Decode
{
    /// <summary>
    /// What is done to a sequence's scores before its next token is chosen, as transformers' logits processors do it, in their
    /// order: CTRL's repetition penalty (<c>repetition_penalty</c>: each token the sequence holds, prompt and choices, penalised
    /// once, a positive score divided by the penalty, a negative one multiplied by it), no repeated n-gram
    /// (<c>no_repeat_ngram_size</c>: a token that would complete an n-gram the sequence already holds becomes −∞), and no end
    /// token before the sequence holds <see cref="MinNew"/> chosen tokens (<c>min_new_tokens</c>, <c>min_length</c>). Greedy
    /// decoding and sampling apply them to the logits, beam search to the log-probabilities (transformers' beam scores).
    /// One instance serves a call's sequences one after another (its buffers hold one row's scores).
    /// </summary>
    private sealed class LogitRules
    {
        private readonly float _penalty;
        private readonly int _noRepeat;
        private readonly EndTokens _ends;
        private readonly float[] _scores;
        private readonly bool[]? _seen;

        private LogitRules(int vocabulary, float penalty, int noRepeat, int minNew, EndTokens ends)
        {
            (_penalty, _noRepeat, MinNew, _ends) = (penalty, noRepeat, minNew, ends);
            _scores = new float[vocabulary];
            _seen = penalty != 1f ? new bool[vocabulary] : null;
        }

        /// <summary>The rules, or null where none changes anything (a penalty of 1, no n-gram size, no least length or no end token).</summary>
        public static LogitRules? For(int vocabulary, float repetitionPenalty, int noRepeatNgram = 0, int minNew = 0, EndTokens ends = default) =>
            repetitionPenalty != 1f || noRepeatNgram > 0 || (minNew > 0 && !ends.IsEmpty)
                ? new LogitRules(vocabulary, repetitionPenalty, noRepeatNgram, ends.IsEmpty ? 0 : minNew, ends)
                : null;

        /// <summary>How many tokens a sequence chooses before an end token may be one of them.</summary>
        public int MinNew { get; }

        /// <summary>
        /// <paramref name="scores"/> (each plus <paramref name="shift"/>: logits less their log-partition are log-probabilities)
        /// with the rules applied, for the sequence <paramref name="prompt"/> then <paramref name="chosen"/>, into a buffer of the
        /// rules' (valid until the next call).
        /// </summary>
        public ReadOnlySpan<float> Apply(ReadOnlySpan<float> scores, ReadOnlySpan<int> prompt, ReadOnlySpan<int> chosen, float shift = 0f)
        {
            if (shift == 0f) scores.CopyTo(_scores);
            else System.Numerics.Tensors.TensorPrimitives.Add(scores, shift, _scores);
            if (_seen is not null)
            {
                Penalise(prompt);
                Penalise(chosen);
                foreach (int t in prompt) if ((uint)t < (uint)_seen.Length) _seen[t] = false;
                foreach (int t in chosen) if ((uint)t < (uint)_seen.Length) _seen[t] = false;
            }
            if (_noRepeat > 0) BanRepeatedNgrams(prompt, chosen);
            if (chosen.Length < MinNew)
                foreach (int end in _ends) _scores[end] = float.NegativeInfinity;
            return _scores;
        }

        private void Penalise(ReadOnlySpan<int> tokens)
        {
            foreach (int t in tokens)
            {
                if ((uint)t >= (uint)_seen!.Length || _seen[t]) continue; // (an input id past the outputs has no score)
                _seen[t] = true;
                float s = _scores[t];
                _scores[t] = s < 0 ? s * _penalty : s / _penalty;
            }
        }

        /// <summary>
        /// Each token that would end an n-gram (n = no_repeat_ngram_size) the sequence already holds after the same n − 1
        /// tokens it now ends with becomes −∞ (transformers' <c>NoRepeatNGramLogitsProcessor</c>: nothing while the sequence is shorter than n − 1).
        /// </summary>
        private void BanRepeatedNgrams(ReadOnlySpan<int> prompt, ReadOnlySpan<int> chosen)
        {
            int n = _noRepeat, length = prompt.Length + chosen.Length;
            if (length + 1 < n) return;
            for (int start = 0; start + n <= length; start++)
            {
                int k = 0;
                while (k < n - 1 && At(prompt, chosen, start + k) == At(prompt, chosen, length - n + 1 + k)) k++;
                if (k < n - 1) continue;
                int banned = At(prompt, chosen, start + n - 1);
                if ((uint)banned < (uint)_scores.Length) _scores[banned] = float.NegativeInfinity;
            }
        }

        /// <summary>Token <paramref name="i"/> of the sequence <paramref name="prompt"/> then <paramref name="chosen"/>.</summary>
        private static int At(ReadOnlySpan<int> prompt, ReadOnlySpan<int> chosen, int i) => i < prompt.Length ? prompt[i] : chosen[i - prompt.Length];
    }
}
