using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>
/// Corpus BLEU (Papineni et al. 2002) as NLTK's <c>corpus_bleu</c> computes it: clipped n-gram counts summed over the
/// corpus for n = 1 … <c>maxOrder</c> (uniform weights), the brevity penalty against each hypothesis's closest reference
/// length (the shorter on ties), the geometric mean of the precisions. With <c>smoothing</c> (NLTK's method1), a zero
/// count becomes epsilon = 0.1. Without it, as NLTK's method0, no matching unigram gives 0 and a zero count of a higher
/// order stands for the smallest normal double (2.2e-308), so the score is tiny (at most about 1e-77 for
/// <c>maxOrder</c> 4) but not zero: the value NLTK reports, which a relative comparison can check.
/// </summary>
public static class Bleu
{
    /// <summary>BLEU in [0, 1] of tokenised hypotheses against one or more tokenised references each.</summary>
    public static double Corpus<T>(IReadOnlyList<IReadOnlyList<IReadOnlyList<T>>> references, IReadOnlyList<IReadOnlyList<T>> hypotheses, int maxOrder = 4, bool smoothing = false)
        where T : IEquatable<T>
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(hypotheses);
        if (references.Count != hypotheses.Count) throw new ArgumentException($"{hypotheses.Count} hypotheses but {references.Count} reference lists.", nameof(references));
        if (maxOrder <= 0) throw new ArgumentOutOfRangeException(nameof(maxOrder), maxOrder, "must be positive");
        for (int i = 0; i < hypotheses.Count; i++)
        {
            if (hypotheses[i] is null) throw new ArgumentException($"Hypothesis {i} is null; expected a list of tokens (empty for none).", nameof(hypotheses));
            if (references[i] is null || references[i].Any(r => r is null))
                throw new ArgumentException($"The references of hypothesis {i} are null or hold a null; expected lists of tokens.", nameof(references));
        }
        var matches = new long[maxOrder];
        var totals = new long[maxOrder];
        long hypothesisLength = 0, referenceLength = 0;
        for (int s = 0; s < hypotheses.Count; s++)
        {
            IReadOnlyList<T> hypothesis = hypotheses[s];
            if (references[s].Count == 0) throw new ArgumentException($"Hypothesis {s} has no reference.", nameof(references));
            hypothesisLength += hypothesis.Count;
            referenceLength += references[s].Select(r => r.Count).OrderBy(r => Math.Abs(r - hypothesis.Count)).ThenBy(r => r).First();
            for (int n = 1; n <= maxOrder; n++)
            {
                Dictionary<NGram<T>, int> counts = NGrams(hypothesis, n);
                var maxReference = new Dictionary<NGram<T>, int>();
                foreach (IReadOnlyList<T> reference in references[s])
                {
                    foreach (var (gram, count) in NGrams(reference, n))
                        maxReference[gram] = Math.Max(maxReference.TryGetValue(gram, out int c) ? c : 0, count);
                }
                matches[n - 1] += counts.Sum(kv => Math.Min(kv.Value, maxReference.TryGetValue(kv.Key, out int r) ? r : 0));
                totals[n - 1] += Math.Max(1, hypothesis.Count - n + 1); // NLTK counts at least 1
            }
        }
        if (matches[0] == 0) return 0;
        double logSum = 0;
        for (int n = 0; n < maxOrder; n++)
        {
            if (totals[n] == 0) return 0;
            double precision = matches[n] > 0 ? (double)matches[n] / totals[n] : smoothing ? 0.1 / totals[n] : SmallestNormal;
            logSum += Math.Log(precision) / maxOrder;
        }
        double brevity = hypothesisLength > referenceLength ? 1 : hypothesisLength == 0 ? 0 : Math.Exp(1 - (double)referenceLength / hypothesisLength);
        return brevity * Math.Exp(logSum);
    }

    /// <summary>Python's <c>sys.float_info.min</c>, what NLTK's method0 puts in place of a zero precision.</summary>
    private const double SmallestNormal = 2.2250738585072014E-308;

    /// <summary>Fraction of hypotheses equal to their first reference.</summary>
    public static double ExactMatch<T>(IReadOnlyList<IReadOnlyList<T>> references, IReadOnlyList<IReadOnlyList<T>> hypotheses) where T : IEquatable<T>
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(hypotheses);
        if (references.Count != hypotheses.Count) throw new ArgumentException($"{hypotheses.Count} hypotheses but {references.Count} references.", nameof(references));
        for (int i = 0; i < hypotheses.Count; i++)
            if (hypotheses[i] is null || references[i] is null) throw new ArgumentException($"The {(hypotheses[i] is null ? "hypothesis" : "reference")} of pair {i} is null; expected a list of tokens.", hypotheses[i] is null ? nameof(hypotheses) : nameof(references));
        return hypotheses.Count == 0 ? 0 : hypotheses.Zip(references, (h, r) => h.SequenceEqual(r) ? 1 : 0).Average();
    }

    private static Dictionary<NGram<T>, int> NGrams<T>(IReadOnlyList<T> tokens, int n) where T : IEquatable<T>
    {
        var counts = new Dictionary<NGram<T>, int>();
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            var key = new NGram<T>(tokens, i, n);
            counts[key] = counts.TryGetValue(key, out int c) ? c + 1 : 1;
        }
        return counts;
    }

    /// <summary>n consecutive tokens of a list, equal to another n-gram when their tokens are equal one by one (the tokens' own equality, not their text).</summary>
    private readonly struct NGram<T>(IReadOnlyList<T> tokens, int start, int length) : IEquatable<NGram<T>> where T : IEquatable<T>
    {
        public bool Equals(NGram<T> other)
        {
            if (length != other.Length) return false;
            for (int j = 0; j < length; j++)
            {
                if (!EqualityComparer<T>.Default.Equals(tokens[start + j], other.Token(j))) return false;
            }
            return true;
        }

        private int Length => length;

        private T Token(int j) => tokens[start + j];

        public override bool Equals(object? obj) => obj is NGram<T> other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            for (int j = 0; j < length; j++) hash.Add(tokens[start + j]);
            return hash.ToHashCode();
        }
    }
}
