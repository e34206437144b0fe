using System.Globalization;
using Dsl;

namespace DateTranslator;

/// <summary>One example: a date as people write it, and its ISO form.</summary>
public sealed record DateExample(string Source, string Target, string Format);

/// <summary>Synthetic human-readable dates from 1950 to 2049 in many formats, and the two character vocabularies.</summary>
public static class Dates
{
    /// <summary>Source characters: 0 is padding, 1 an unknown character.</summary>
    public const string SourceCharacters = " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,./-'";
    public const int SourceVocabulary = 2 + 68;

    /// <summary>Target tokens: padding, start, end, the ten digits and '-'.</summary>
    public const int Pad = 0, Start = 1, End = 2, TargetVocabulary = 14;

    public static readonly DateTime First = new(1950, 1, 1), Last = new(2049, 12, 31);

    /// <summary>Days from <see cref="First"/> to <see cref="Last"/>, both included.</summary>
    public static int Days => (Last - First).Days + 1;

    private static readonly string[] Ordinals = ["th", "st", "nd", "rd"];

    private static string Ordinal(int day) => day + (day % 100 is >= 11 and <= 13 || day % 10 > 3 ? "th" : Ordinals[day % 10]);

    private static readonly (string Name, Func<DateTime, Rng, string> Write)[] Formats =
    [
        ("the 3rd of March 1998", (d, _) => $"the {Ordinal(d.Day)} of {Month(d)} {d.Year}"),
        ("03/03/98", (d, _) => $"{d.Day:00}/{d.Month:00}/{d.Year % 100:00}"),
        ("Tuesday, March 3, 1998", (d, _) => $"{d.DayOfWeek}, {Month(d)} {d.Day}, {d.Year}"),
        ("March 3, 1998", (d, _) => $"{Month(d)} {d.Day}, {d.Year}"),
        ("3 March 1998", (d, _) => $"{d.Day} {Month(d)} {d.Year}"),
        ("Mar 3 1998", (d, _) => $"{Month(d)[..3]} {d.Day} {d.Year}"),
        ("3 mar 98", (d, _) => $"{d.Day} {Month(d)[..3].ToLowerInvariant()} {d.Year % 100:00}"),
        ("1998-03-03", (d, _) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        ("03.03.1998", (d, _) => $"{d.Day:00}.{d.Month:00}.{d.Year}"),
        ("3/3/1998 (US)", (d, _) => $"{d.Month}/{d.Day}/{d.Year}"),
        ("tuesday 3 march 1998", (d, _) => $"{d.DayOfWeek} {d.Day} {Month(d)} {d.Year}".ToLowerInvariant()),
        ("Mar. 3, '98", (d, _) => $"{Month(d)[..3]}. {d.Day}, '{d.Year % 100:00}"),
        ("3rd March, 1998", (d, _) => $"{Ordinal(d.Day)} {Month(d)}, {d.Year}"),
        ("TUE 3 MAR 1998", (d, _) => $"{d.DayOfWeek.ToString()[..3]} {d.Day} {Month(d)[..3]} {d.Year}".ToUpperInvariant()),
        ("19980303", (d, _) => d.ToString("yyyyMMdd", CultureInfo.InvariantCulture)),
    ];

    private static string Month(DateTime d) => CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(d.Month);

    /// <summary>Number of formats.</summary>
    public static int FormatCount => Formats.Length;

    /// <summary>An example of <paramref name="date"/> in a random format.</summary>
    public static DateExample Write(DateTime date, Rng rng)
    {
        var (name, write) = Formats[rng.NextInt(Formats.Length)];
        return new DateExample(write(date, rng), date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), name);
    }

    /// <summary>An example of <paramref name="date"/> in format <paramref name="format"/>.</summary>
    public static DateExample Write(DateTime date, int format) =>
        new(Formats[format].Write(date, new Rng(0)), date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Formats[format].Name);

    /// <summary>
    /// Training and held-out examples from <paramref name="seed"/>: the held-out dates are days that never occur in training
    /// (in any format), so the score measures generalisation to unseen dates.
    /// </summary>
    public static (DateExample[] Train, DateExample[] Test) Split(int trainCount, int testCount, int seed)
    {
        var rng = new Rng((ulong)seed);
        int days = Days;
        if (testCount >= days) throw new ArgumentOutOfRangeException(nameof(testCount), testCount, $"The calendar has {days} days: hold out fewer, so that some are left to train on.");
        var heldOut = new HashSet<int>();
        while (heldOut.Count < testCount) heldOut.Add(rng.NextInt(days));
        var test = heldOut.Select(day => Write(First.AddDays(day), rng)).ToArray();
        var train = new DateExample[trainCount];
        for (int i = 0; i < trainCount; i++)
        {
            int day;
            do day = rng.NextInt(days); while (heldOut.Contains(day));
            train[i] = Write(First.AddDays(day), rng);
        }
        return (train, test);
    }

    /// <summary>Source characters to ids (unknown characters map to 1).</summary>
    public static int[] EncodeSource(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            int k = SourceCharacters.IndexOf(text[i]);
            ids[i] = k < 0 ? 1 : 2 + k;
        }
        return ids;
    }

    /// <summary>Target characters ('0'–'9', '-') to ids.</summary>
    public static int EncodeTarget(char c) => c == '-' ? 13 : 3 + (c - '0');

    /// <summary>Target ids to text, stopping at the end token.</summary>
    public static string DecodeTarget(IEnumerable<int> ids)
    {
        var chars = new List<char>();
        foreach (int id in ids)
        {
            if (id == End) break;
            chars.Add(id == 13 ? '-' : id is >= 3 and <= 12 ? (char)('0' + id - 3) : '?');
        }
        return new string(chars.ToArray());
    }

    /// <summary>A padded batch: sources [B, S] with lengths, decoder inputs [B, 11] (start, then the target) and targets [B, 11] (the target, then end).</summary>
    public static (int[] Source, int[] Lengths, int S, int[] Input, int[] Targets) Batch(IReadOnlyList<DateExample> examples)
    {
        int B = examples.Count, S = examples.Max(e => e.Source.Length), T = 11;
        var source = new int[B * S];
        var lengths = new int[B];
        var input = new int[B * T];
        var targets = new int[B * T];
        for (int b = 0; b < B; b++)
        {
            int[] ids = EncodeSource(examples[b].Source);
            ids.CopyTo(source, b * S);
            lengths[b] = ids.Length;
            input[b * T] = Start;
            for (int t = 0; t < 10; t++)
            {
                int id = EncodeTarget(examples[b].Target[t]);
                targets[b * T + t] = id;
                input[b * T + t + 1] = id;
            }
            targets[b * T + 10] = End;
        }
        return (source, lengths, S, input, targets);
    }
}
