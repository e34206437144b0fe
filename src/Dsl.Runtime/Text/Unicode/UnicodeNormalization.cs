using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace Dsl.Text;

/// <summary>
/// Unicode normalization (UAX #15: NFC, NFD, NFKC, NFKD) from tables of its own (<c>normalization.bin.gz</c>, written by
/// make_tables.py), so that a tokenizer normalizes alike on every platform and in .NET's globalization-invariant mode
/// (<c>InvariantGlobalization</c>, which the NativeAOT templates set, and where <see cref="string.Normalize()"/> returns the
/// text unchanged). The data is Unicode 9.0's, as the tokenizers library's (its unicode-normalization-alignments crate):
/// a character assigned later normalizes as itself there and here. Unicode's stability policy fixes an assigned character's
/// decompositions and combining class, so on every character of 9.0 the results are also any later version's (ICU's).
/// </summary>
internal static class UnicodeNormalization
{
    private sealed class Tables
    {
        public required int[] Version;
        public required Dictionary<int, int[]> Canonical, Compatibility;
        public required Dictionary<int, byte> Classes;
        public required Dictionary<long, int> Composites;
        /// <summary>
        /// The code points a form may change: with a decomposition (canonical; compatibility too for NFKC and NFKD), a
        /// combining class, or a composition's second part. A text of none of them is its own normal form.
        /// </summary>
        public required HashSet<int> Canonically, Compatibly;
    }

    private static readonly Lazy<Tables> s_tables = new(Load);

    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>The Unicode version of the tables ("14.0.0").</summary>
    public static string Version => string.Join('.', s_tables.Value.Version);

    public static string Normalize(string text, NormalizationForm form)
    {
        if (Ascii.IsValid(text)) return text; // every form leaves ASCII as it is
        Tables t = s_tables.Value;
        bool compatibility = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        if (Stable(text, compatibility ? t.Compatibly : t.Canonically)) return text;
        var points = new List<int>(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes()) Decompose(t, rune.Value, compatibility, points);
        Reorder(t, points);
        if (form is NormalizationForm.FormC or NormalizationForm.FormKC) Compose(t, points);
        var result = new StringBuilder(points.Count + 8);
        foreach (int cp in points) result.Append(char.ConvertFromUtf32(cp));
        return result.ToString();
    }

    /// <summary>Whether no character of the text is one a form may change (most text: CJK, Latin without marks).</summary>
    private static bool Stable(string text, HashSet<int> changing)
    {
        foreach (Rune rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp is >= LBase and < SBase + SCount && (cp < LBase + 0x100 || cp >= SBase)) return false; // jamo and syllables: the algorithm's
            if (changing.Contains(cp)) return false;
        }
        return true;
    }

    private static void Decompose(Tables t, int cp, bool compatibility, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int s = cp - SBase;
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) into.Add(TBase + s % TCount);
            return;
        }
        if (compatibility && t.Compatibility.TryGetValue(cp, out int[]? full)) into.AddRange(full);
        else if (t.Canonical.TryGetValue(cp, out full)) into.AddRange(full);
        else into.Add(cp);
    }

    private static int Class(Tables t, int cp) => t.Classes.TryGetValue(cp, out byte c) ? c : 0;

    /// <summary>
    /// The canonical ordering: each run of non-starters sorted by combining class, stably (by class, then place: a sort of
    /// (class, index) keys, so that a run of many marks costs n log n, not n²).
    /// </summary>
    private static void Reorder(Tables t, List<int> points)
    {
        for (int start = 0; start < points.Count; start++)
        {
            if (Class(t, points[start]) == 0) continue;
            int end = start + 1;
            while (end < points.Count && Class(t, points[end]) != 0) end++;
            if (end - start > 1)
            {
                var keys = new (int Class, int Index, int Point)[end - start];
                for (int i = start; i < end; i++) keys[i - start] = (Class(t, points[i]), i, points[i]);
                Array.Sort(keys, (a, b) => a.Class != b.Class ? a.Class.CompareTo(b.Class) : a.Index.CompareTo(b.Index));
                for (int i = start; i < end; i++) points[i] = keys[i - start].Point;
            }
            start = end;
        }
    }

    /// <summary>The canonical composition: each character joined to the last starter before it unless something between blocks it.</summary>
    private static void Compose(Tables t, List<int> points)
    {
        int starter = -1, last = -1, written = 0; // the starter's index in the output; the class of the last character after it (−1: none)
        for (int i = 0; i < points.Count; i++)
        {
            int cp = points[i], ccc = Class(t, cp);
            if (starter >= 0 && (last == -1 || (last != 0 && last < ccc)) && TryCompose(t, points[starter], cp, out int composite))
            {
                points[starter] = composite;
                continue;
            }
            if (ccc == 0)
            {
                starter = written;
                last = -1;
            }
            else last = ccc;
            points[written++] = cp;
        }
        points.RemoveRange(written, points.Count - written);
    }

    private static bool TryCompose(Tables t, int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + second - VBase) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + second - TBase;
            return true;
        }
        return t.Composites.TryGetValue(((long)first << 32) | (uint)second, out composite);
    }

    private static Tables Load()
    {
        using Stream stream = typeof(UnicodeNormalization).Assembly.GetManifestResourceStream("Dsl.Text.Unicode.normalization.bin.gz")
            ?? throw new InvalidOperationException("Dsl.Runtime lacks its Unicode normalization tables (the resource Dsl.Text.Unicode.normalization.bin.gz).");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        byte[] data = bytes.GetBuffer();
        int at = 0;
        int Next()
        {
            int value = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(at, 4));
            at += 4;
            return value;
        }
        int[] version = [Next(), Next(), Next()];
        Dictionary<int, int[]> Decompositions()
        {
            int count = Next();
            var map = new Dictionary<int, int[]>(count);
            for (int i = 0; i < count; i++)
            {
                int cp = Next();
                var sequence = new int[Next()];
                for (int j = 0; j < sequence.Length; j++) sequence[j] = Next();
                map[cp] = sequence;
            }
            return map;
        }
        Dictionary<int, int[]> canonical = Decompositions(), compatibility = Decompositions();
        int classCount = Next();
        var classes = new Dictionary<int, byte>(classCount);
        for (int i = 0; i < classCount; i++) classes[Next()] = (byte)Next();
        int compositeCount = Next();
        var composites = new Dictionary<long, int>(compositeCount);
        for (int i = 0; i < compositeCount; i++)
        {
            long first = Next(), second = Next();
            composites[(first << 32) | (uint)second] = Next();
        }
        var canonically = new HashSet<int>(canonical.Keys);
        canonically.UnionWith(classes.Keys);
        foreach (long pair in composites.Keys) canonically.Add((int)pair);
        var compatibly = new HashSet<int>(canonically);
        compatibly.UnionWith(compatibility.Keys);
        return new Tables
        {
            Version = version, Canonical = canonical, Compatibility = compatibility, Classes = classes, Composites = composites,
            Canonically = canonically, Compatibly = compatibly,
        };
    }
}
