using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Dsl.Text;

/// <summary>The methods of Python's str, dict and list a template may call (none that changes its object: transformers' sandbox is immutable).</summary>
internal static class TemplateMethods
{
    public static TemplateFunction? Of(object? target, string name) => target switch
    {
        string s => String(s, name),
        Dictionary<string, object?> d => name switch
        {
            "items" => new TemplateFunction((_, _) => d.Select(p => (object?)new TemplateTuple([p.Key, p.Value])).ToList()),
            "keys" => new TemplateFunction((_, _) => d.Keys.Select(k => (object?)k).ToList()),
            "values" => new TemplateFunction((_, _) => d.Values.ToList()),
            "get" => new TemplateFunction((a, _) => a.Count > 0 && a[0] is string key && d.TryGetValue(key, out object? v) ? v : a.Count > 1 ? a[1] : null),
            _ => null,
        },
        List<object?> l => name switch
        {
            "index" => new TemplateFunction((a, _) =>
            {
                int i = l.FindIndex(x => TemplateValues.Equal(x, a.FirstOrDefault()));
                return i >= 0 ? (long)i : throw new TemplateTypeError($"{TemplateValues.Repr(a.FirstOrDefault())} is not in list");
            }),
            "count" => new TemplateFunction((a, _) => (long)l.Count(x => TemplateValues.Equal(x, a.FirstOrDefault()))),
            "append" or "extend" or "insert" or "pop" or "remove" or "clear" or "sort" or "reverse" =>
                new TemplateFunction((_, _) => throw new TemplateTypeError($"list.{name} changes its list, which transformers' sandboxed templates may not do")),
            _ => null,
        },
        _ => null,
    };

    private static TemplateFunction? String(string s, string name) => name switch
    {
        "strip" => new((a, _) => Strip(s, Chars(a), true, true)),
        "lstrip" => new((a, _) => Strip(s, Chars(a), true, false)),
        "rstrip" => new((a, _) => Strip(s, Chars(a), false, true)),
        "upper" => new((_, _) => s.ToUpperInvariant()),
        "lower" => new((_, _) => s.ToLowerInvariant()),
        "title" => new((_, _) => PythonTitle(s)),
        "capitalize" => new((_, _) => Capitalize(s)),
        "startswith" => new((a, _) => Affix(a, p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => new((a, _) => Affix(a, p => s.EndsWith(p, StringComparison.Ordinal))),
        "split" => new((a, n) => Split(s, a.Count > 0 ? a[0] : n.GetValueOrDefault("sep"), a.Count > 1 ? a[1] : n.GetValueOrDefault("maxsplit"))),

        "rsplit" => new((a, n) => RSplit(s, a.Count > 0 ? a[0] : n.GetValueOrDefault("sep"), a.Count > 1 ? a[1] : n.GetValueOrDefault("maxsplit"))),
        "splitlines" => new((_, _) => SplitLines(s)),
        "replace" => new((a, _) => a.Count >= 2 && a[0] is string from && a[1] is string to
            ? Replace(s, from, to, a.Count > 2 && a[2] is long count ? count : -1)
            : throw new TemplateTypeError("replace() takes two strings")),
        "partition" or "rpartition" => new((a, _) =>
        {
            if (a.FirstOrDefault() is not string sep || sep.Length == 0) throw new TemplateTypeError($"{name}() takes a non-empty str separator");
            int at = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
            return at < 0 ? new TemplateTuple(name == "partition" ? [s, "", ""] : ["", "", s]) : new TemplateTuple([s[..at], sep, s[(at + sep.Length)..]]);
        }),
        "index" or "rindex" => new((a, _) =>
        {
            int at = a.FirstOrDefault() is string sub ? (name == "index" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal)) : -1;
            return at >= 0 ? (long)at : throw new TemplateTypeError("substring not found");
        }),
        "removeprefix" => new((a, _) => a.FirstOrDefault() is string p && s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s),
        "removesuffix" => new((a, _) => a.FirstOrDefault() is string p && p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s),
        "zfill" => new((a, _) => a.FirstOrDefault() is long w && w > s.Length
            ? (s.Length > 0 && s[0] is '+' or '-' ? s[0] + s[1..].PadLeft((int)w - 1, '0') : s.PadLeft((int)w, '0')) : s),
        "ljust" or "rjust" or "center" => new((a, _) =>
        {
            int width = a.FirstOrDefault() is long w ? (int)Math.Clamp(w, 0, 100_000) : 0;
            char fill = a.Count > 1 && a[1] is string f && f.Length == 1 ? f[0] : ' ';
            if (width <= s.Length) return s;
            if (name == "ljust") return s.PadRight(width, fill);
            if (name == "rjust") return s.PadLeft(width, fill);
            int left = (width - s.Length) / 2 + ((width - s.Length) % 2 & width % 2); // Python's centring: the odd space left when the width is odd
            return new string(fill, left) + s + new string(fill, width - s.Length - left);
        }),
        "swapcase" => new((_, _) => string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c))),
        "casefold" => new((_, _) => s.ToLowerInvariant()),
        "isalnum" => new((_, _) => s.Length > 0 && s.All(char.IsLetterOrDigit)),
        "isnumeric" or "isdecimal" => new((_, _) => s.Length > 0 && s.All(char.IsDigit)),
        "format" => new((a, n) => TemplateValues.Format(s, a, n)),
        "join" => new((a, _) => string.Join(s, TemplateValues.Iterate(a.FirstOrDefault(), 0).Select(x => x as string ?? throw new TemplateTypeError($"sequence item: expected str instance, {TemplateValues.TypeName(x)} found")))),
        "find" => new((a, _) => (long)(a.FirstOrDefault() is string sub ? s.IndexOf(sub, StringComparison.Ordinal) : -1)),
        "rfind" => new((a, _) => (long)(a.FirstOrDefault() is string sub ? s.LastIndexOf(sub, StringComparison.Ordinal) : -1)),
        "count" => new((a, _) => a.FirstOrDefault() is string sub && sub.Length > 0 ? (long)((s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length) : (long)(s.Length + 1)),
        "isdigit" => new((_, _) => s.Length > 0 && s.All(char.IsDigit)),
        "isalpha" => new((_, _) => s.Length > 0 && s.All(char.IsLetter)),
        "isspace" => new((_, _) => s.Length > 0 && s.All(IsSpace)),
        "isupper" => new((_, _) => s.Any(char.IsLetter) && !s.Any(char.IsLower)),
        "islower" => new((_, _) => s.Any(char.IsLetter) && !s.Any(char.IsUpper)),
        _ => null,
    };

    /// <summary>Python's whitespace (str.isspace): .NET's and the four separators U+001C–U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    private static string? Chars(List<object?> a) => a.Count > 0 && a[0] is string chars ? chars : null;

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        Func<char, bool> strip = chars is null ? IsSpace : c => chars.Contains(c);
        int start = 0, end = s.Length;
        if (left) while (start < end && strip(s[start])) start++;
        if (right) while (end > start && strip(s[end - 1])) end--;
        return s[start..end];
    }

    private static bool Affix(List<object?> a, Func<string, bool> test) => a.FirstOrDefault() switch
    {
        string p => test(p),
        TemplateTuple t => t.Items.Any(x => x is string p && test(p)),
        var other => throw new TemplateTypeError($"startswith/endswith take a str or a tuple of str, not {TemplateValues.TypeName(other)}"),
    };

    /// <summary>Python's str.splitlines(): at \n, \r, \r\n, \v, \f, \x1c–\x1e, \x85, U+2028 and U+2029, the ends dropped.</summary>
    private static List<object?> SplitLines(string s)
    {
        var lines = new List<object?>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')) continue;
            lines.Add(s[start..i]);
            if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    /// <summary>Python's str.rsplit: as split, the splits taken from the right.</summary>
    private static List<object?> RSplit(string s, object? separator, object? maxsplit)
    {
        if (maxsplit is not long m || m < 0) return Split(s, separator, null);
        string reversed = string.Concat(s.Reverse());
        object? sep = separator is string p ? string.Concat(p.Reverse()) : separator;
        List<object?> parts = Split(reversed, sep, m);
        parts.Reverse();
        return parts.Select(x => (object?)string.Concat(((string)x!).Reverse())).ToList();
    }

    /// <summary>Python's str.replace: every match (or the first <paramref name="count"/>), an empty one between every character.</summary>
    public static string Replace(string s, string from, string to, long count)
    {
        if (count < 0 && from.Length > 0) return s.Replace(from, to, StringComparison.Ordinal);
        return ReplaceCount(s, from, to, count < 0 ? long.MaxValue : count);
    }

    private static List<object?> Split(string s, object? separator, object? maxsplit)
    {
        long most = maxsplit is long m ? m : -1;
        var parts = new List<object?>();
        if (separator is null)
        {
            // runs of whitespace, none at either end
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (most >= 0 && parts.Count == most)
                {
                    parts.Add(s[i..]); // the rest as it stands after its leading whitespace
                    break;
                }
                int start = i;
                while (i < s.Length && !IsSpace(s[i])) i++;
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (separator is not string sep || sep.Length == 0) throw new TemplateTypeError("split() takes a non-empty str separator");
        int at = 0;
        while (most < 0 || parts.Count < most)
        {
            int next = s.IndexOf(sep, at, StringComparison.Ordinal);
            if (next < 0) break;
            parts.Add(s[at..next]);
            at = next + sep.Length;
        }
        parts.Add(s[at..]);
        return parts;
    }

    internal static string ReplaceCount(string s, string from, string to, long count)
    {
        var b = new StringBuilder();
        int at = 0;
        for (long n = 0; n < count; n++)
        {
            int next = from.Length == 0 ? (at <= s.Length ? at : -1) : s.IndexOf(from, at, StringComparison.Ordinal);
            if (next < 0) break;
            b.Append(s, at, next - at).Append(to);
            at = next + from.Length;
            if (from.Length == 0)
            {
                if (at < s.Length) b.Append(s[at]);
                at++;
            }
        }
        if (at < s.Length) b.Append(s, at, s.Length - at);
        return b.ToString();
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python's str.title: each run of letters capitalised.</summary>
    private static string PythonTitle(string s)
    {
        var b = new StringBuilder(s.Length);
        bool previousLetter = false;
        foreach (char c in s)
        {
            b.Append(previousLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousLetter = char.IsLetter(c);
        }
        return b.ToString();
    }
}

/// <summary>jinja2's filters and tests that chat templates use, and transformers' <c>tojson</c>.</summary>
internal static class TemplateFilters
{
    public static object? Apply(string name, object? value, List<object?> a, Dictionary<string, object?> n, int line)
    {
        // a positional argument at i (−1: named only), or the named one, or the default
        object? Arg(int i, string key, object? fallback = null) => i >= 0 && i < a.Count ? a[i] : n.TryGetValue(key, out object? v) ? v : fallback;
        string Text(object? v) => TemplateValues.Str(v, line);
        switch (name)
        {
            case "trim":
                return TemplateMethods.Strip(Text(value), Arg(0, "chars") as string, true, true);
            case "length" or "count":
                return value switch
                {
                    string s => (long)s.EnumerateRunes().Count(),
                    Undefined => 0L,
                    _ => (long)TemplateValues.Iterate(value, line).Count,
                };
            case "tojson":
            {
                // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False): json.dumps's
                // (an indent of n spaces, or a string of its own, as json.dumps takes either)
                string? width = Arg(1, "indent") switch { null => null, long l => new string(' ', (int)Math.Clamp(l, 0, 10_000)), string text => text, _ => throw TemplateValues.Error(line, "tojson's indent must be a whole number or a string") };
                string item = width is null ? ", " : ",", key = ": ";
                if (Arg(2, "separators") is { } separators)
                {
                    List<object?> pair = separators is TemplateTuple t ? t.Items : separators as List<object?> ?? [];
                    if (pair is not [string i, string k]) throw TemplateValues.Error(line, "tojson's separators must be two strings");
                    (item, key) = (i, k);
                }
                if (value is Undefined u) throw TemplateValues.Error(line, $"'{u.Name}' is undefined (tojson)");
                return TemplateValues.Json(value, width, item, key, TemplateValues.Truthy(Arg(3, "sort_keys", false)), TemplateValues.Truthy(Arg(0, "ensure_ascii", false)), line);
            }
            case "string":
                return Text(value);
            case "upper":
                return Text(value).ToUpperInvariant();
            case "lower":
                return Text(value).ToLowerInvariant();
            case "capitalize":
                return TemplateMethods.Capitalize(Text(value));
            case "title":
                return JinjaTitle(Text(value));
            case "first":
                return TemplateValues.Iterate(value, line) is { Count: > 0 } firsts ? firsts[0] : new Undefined("first");
            case "last":
                return TemplateValues.Iterate(value, line) is { Count: > 0 } lasts ? lasts[^1] : new Undefined("last");
            case "default" or "d":
                return value is Undefined || (TemplateValues.Truthy(Arg(1, "boolean", false)) && !TemplateValues.Truthy(value)) ? Arg(0, "default_value", "") : value;
            case "join":
            {
                string separator = Arg(0, "d", "") is string d ? d : Text(Arg(0, "d"));
                IEnumerable<object?> items = TemplateValues.Iterate(value, line);
                if (Arg(1, "attribute") is string attribute) items = items.Select(x => Path(x, attribute, line));
                return string.Join(separator, items.Select(Text));
            }
            case "replace":
                return Arg(0, "old") is string from && Arg(1, "new") is string to
                    ? TemplateMethods.Replace(Text(value), from, to, Arg(2, "count") is long count ? count : -1)
                    : throw TemplateValues.Error(line, "replace takes two strings");
            case "list":
                return TemplateValues.Iterate(value, line).ToList();
            case "reverse":
                return value is string rs ? string.Concat(rs.EnumerateRunes().Reverse().Select(r => r.ToString())) : Enumerable.Reverse(TemplateValues.Iterate(value, line)).ToList();
            case "int":
                return value switch
                {
                    long l => l,
                    bool b => b ? 1L : 0L,
                    double real => (long)Math.Truncate(real),
                    string s when long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long p) => p,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) => (long)Math.Truncate(p),
                    _ => Arg(0, "default", 0L),
                };
            case "float":
                return value switch
                {
                    long l => (double)l,
                    double real => real,
                    bool b => b ? 1.0 : 0.0,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) => p,
                    _ => Arg(0, "default", 0.0),
                };
            case "abs":
                return value switch
                {
                    long l => l == long.MinValue ? throw TemplateValues.Error(line, "abs(−2⁶³) is past what a template here counts (64-bit integers)") : (object)Math.Abs(l),
                    double real => Math.Abs(real),
                    bool b => b ? 1L : 0L,
                    _ => throw TemplateValues.Error(line, $"bad operand type for abs(): '{TemplateValues.TypeName(value)}'"),
                };
            case "items":
                return value is Dictionary<string, object?> pairs ? pairs.Select(p => (object?)new TemplateTuple([p.Key, p.Value])).ToList()
                    : value is Undefined ? new List<object?>() : throw TemplateValues.Error(line, $"items takes a dict, not {TemplateValues.TypeName(value)}");
            case "safe":
                return value;
            case "e" or "escape":
                return Text(value).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
                    .Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
            case "map":
            {
                // (a sequence that is false, None among them, maps to nothing, as jinja2's "if seq")
                List<object?> items = TemplateValues.Truthy(value) ? TemplateValues.Iterate(value, line) : [];
                if (Arg(-1, "attribute") is string attribute)
                    return items.Select(x => Path(x, attribute, line) is var v && v is Undefined && n.TryGetValue("default", out object? fallback) ? fallback : v).ToList();
                if (Arg(0, "filter") is string filter)
                    return items.Select(x => Apply(filter, x, a.Skip(1).ToList(), n, line)).ToList();
                throw TemplateValues.Error(line, "map takes attribute= or a filter's name");
            }
            case "selectattr" or "rejectattr":
            {
                bool keep = name == "selectattr";
                if (Arg(0, "attribute") is not string attribute) throw TemplateValues.Error(line, $"{name} takes an attribute's name");
                List<object?> items = TemplateValues.Truthy(value) ? TemplateValues.Iterate(value, line) : [];
                return items.Where(x =>
                {
                    object? v = Path(x, attribute, line);
                    bool holds = a.Count > 1 && a[1] is string test ? Test(test, v, a.Skip(2).ToList(), line) : TemplateValues.Truthy(v);
                    return holds == keep;
                }).ToList();
            }
            case "select" or "reject":
            {
                bool keep = name == "select";
                List<object?> items = TemplateValues.Truthy(value) ? TemplateValues.Iterate(value, line) : [];
                return items.Where(x => (a.Count > 0 && a[0] is string test ? Test(test, x, a.Skip(1).ToList(), line) : TemplateValues.Truthy(x)) == keep).ToList();
            }
            case "unique":
            {
                // jinja2 compares strings without their case unless asked (case_sensitive), keeping the first of each
                Func<object?, object?> key = Key(TemplateValues.Truthy(Arg(0, "case_sensitive", false)), Arg(1, "attribute") as string, line);
                var seen = new List<object?>();
                var kept = new List<object?>();
                foreach (object? x in TemplateValues.Iterate(value, line))
                {
                    object? k = key(x);
                    if (seen.Any(y => TemplateValues.Equal(k, y))) continue;
                    seen.Add(k);
                    kept.Add(x);
                }
                return kept;
            }
            case "sort":
            {
                Func<object?, object?> key = Key(TemplateValues.Truthy(Arg(1, "case_sensitive", false)), Arg(2, "attribute") as string, line);
                return Sorted(TemplateValues.Iterate(value, line), key, TemplateValues.Truthy(Arg(0, "reverse", false)), line);
            }
            case "dictsort":
            {
                if (value is not Dictionary<string, object?> dict) throw TemplateValues.Error(line, $"dictsort takes a dict, not {TemplateValues.TypeName(value)}");
                bool byValue = (Arg(2, "by", "key") as string) == "value";
                Func<object?, object?> key = Key(TemplateValues.Truthy(Arg(0, "case_sensitive", false)), null, line);
                return Sorted(dict.Select(p => (object?)new TemplateTuple([p.Key, p.Value])).ToList(), t => key(((TemplateTuple)t!).Items[byValue ? 1 : 0]),
                    TemplateValues.Truthy(Arg(3, "reverse", false)), line);
            }
            case "sum":
            {
                IEnumerable<object?> items = TemplateValues.Iterate(value, line);
                if (Arg(0, "attribute") is string attribute) items = items.Select(x => Path(x, attribute, line));
                return items.Aggregate(Arg(1, "start", 0L), (s, x) => TemplateValues.Arithmetic("+", s, x, line));
            }
            case "min" or "max":
            {
                var items = TemplateValues.Iterate(value, line);
                if (items.Count == 0) return new Undefined(name);
                Func<object?, object?> key = Key(TemplateValues.Truthy(Arg(0, "case_sensitive", false)), Arg(1, "attribute") as string, line);
                return items.Aggregate((x, y) => TemplateValues.Order(key(y), key(x), name == "min" ? "<" : ">", line) ? y : x);
            }
            case "format":
                return TemplateValues.Arithmetic("%", Text(value), a.Count == 1 ? a[0] : new TemplateTuple(a), line);
            case "attr":
                return Arg(0, "name") is string attr ? (value is Dictionary<string, object?> and not Namespace ? (object?)TemplateMethods.Of(value, attr) ?? new Undefined(attr) : TemplateValues.Attribute(value, attr, line))
                    : throw TemplateValues.Error(line, "attr takes a name");
            case "indent":
            {
                object? width = Arg(0, "width", 4L);
                string pad = width as string ?? new string(' ', (int)Math.Clamp(width is long w ? w : 4, 0, 10_000));
                bool first = TemplateValues.Truthy(Arg(1, "first", false)), blank = TemplateValues.Truthy(Arg(2, "blank", false));
                string[] lines = Text(value).Split('\n');
                for (int i = 0; i < lines.Length; i++)
                {
                    if ((i > 0 || first) && (blank || lines[i].Length > 0)) lines[i] = pad + lines[i];
                }
                return string.Join('\n', lines);
            }
            case "round":
            {
                int digits = Arg(0, "precision", 0L) is long p ? (int)Math.Clamp(p, -400, 400) : 0;
                string method = Arg(1, "method", "common") as string ?? "common";
                if (method == "common") return TemplateValues.Round(value, digits, line); // Python's round(): half to even, on the exact value
                double v = value switch { long l => l, double real => real, bool b => b ? 1 : 0, _ => throw TemplateValues.Error(line, "round takes a number") };
                double scale = Math.Pow(10, digits);
                return method switch
                {
                    "floor" => Math.Floor(v * scale) / scale,
                    "ceil" => Math.Ceiling(v * scale) / scale,
                    _ => throw TemplateValues.Error(line, "round's method is \"common\", \"floor\" or \"ceil\""),
                };
            }
            case "wordcount":
            {
                // jinja2 counts the runs of \w (letters, digits, marks, the underscore)
                long words = 0;
                bool inWord = false;
                foreach (Rune r in Text(value).EnumerateRunes())
                {
                    bool word = Rune.IsLetterOrDigit(r) || r.Value == '_' || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
                    if (word && !inWord) words++;
                    inWord = word;
                }
                return words;
            }
            default:
                throw TemplateValues.Error(line, $"no filter named '{name}' (the filters read here: trim, length, count, tojson, string, upper, lower, capitalize, title, first, last, default, join, replace, list, reverse, int, float, abs, items, safe, escape, map, selectattr, rejectattr, select, reject, unique, sort, sum, min, max, indent, round, wordcount)");
        }
    }

    /// <summary>
    /// jinja2's attribute path ("function.name", "0"): each part an item where there is one (a digit part an index), else an
    /// attribute, as its <c>make_attrgetter</c> reads it.
    /// </summary>
    private static object? Path(object? item, string path, int line)
    {
        foreach (string part in path.Split('.'))
        {
            item = part.Length > 0 && part.All(char.IsAsciiDigit) && long.TryParse(part, out long index) ? TemplateValues.Item(item, index, line) : TemplateValues.Item(item, part, line);
        }
        return item;
    }

    /// <summary>What sort, unique, min and max compare: the attribute path's value, a string lower-cased unless case counts.</summary>
    private static Func<object?, object?> Key(bool caseSensitive, string? attribute, int line) => x =>
    {
        object? v = attribute is null ? x : Path(x, attribute, line);
        return !caseSensitive && v is string s ? s.ToLowerInvariant() : v;
    };

    /// <summary>Python's sorted(): stable, by the key, reversed as asked (a reversed sort keeps equal items in their order).</summary>
    private static List<object?> Sorted(List<object?> items, Func<object?, object?> key, bool reverse, int line)
    {
        var keyed = items.Select((x, i) => (Item: x, Key: key(x), Index: i)).ToList();
        int sign = reverse ? -1 : 1;
        keyed.Sort((p, q) =>
        {
            int c = TemplateValues.Equal(p.Key, q.Key) ? 0 : TemplateValues.Order(p.Key, q.Key, "<", line) ? -1 : 1;
            return c != 0 ? sign * c : p.Index.CompareTo(q.Index);
        });
        return keyed.Select(p => p.Item).ToList();
    }

    /// <summary>jinja2's title filter: each word's first letter upper case, the rest lower, words split at spaces, hyphens and opening brackets.</summary>
    private static string JinjaTitle(string s)
    {
        var b = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            b.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = c is '-' or '(' or '{' or '[' or '<' || char.IsWhiteSpace(c);
        }
        return b.ToString();
    }

    public static bool Test(string name, object? value, List<object?> a, int line)
    {
        object? other = a.Count > 0 ? a[0] : null;
        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "integer" => value is long,
            "float" => value is double,
            "number" => value is long or double or bool,
            "string" => value is string,
            "mapping" => value is Dictionary<string, object?> and not Namespace,
            "iterable" => value is string or List<object?> or TemplateTuple or Dictionary<string, object?> or Undefined,
            "sequence" => value is string or List<object?> or TemplateTuple or Dictionary<string, object?>,
            "callable" => value is TemplateFunction,
            "odd" => value is long o ? o % 2 != 0 : throw TemplateValues.Error(line, "odd takes an integer"),
            "even" => value is long e ? e % 2 == 0 : throw TemplateValues.Error(line, "even takes an integer"),
            "divisibleby" => value is long x && other is long y && y != 0 ? x % y == 0 : throw TemplateValues.Error(line, "divisibleby takes two integers"),
            "eq" or "equalto" or "==" => TemplateValues.Equal(value, other),
            "ne" or "!=" => !TemplateValues.Equal(value, other),
            "lt" or "lessthan" or "<" => TemplateValues.Order(value, other, "<", line),
            "le" or "<=" => TemplateValues.Order(value, other, "<=", line),
            "gt" or "greaterthan" or ">" => TemplateValues.Order(value, other, ">", line),
            "ge" or ">=" => TemplateValues.Order(value, other, ">=", line),
            "in" => TemplateValues.Contains(other, value, line),
            "sameas" => ReferenceEquals(value, other) || (value is null && other is null) || (value is bool p && other is bool q && p == q),
            // Python's islower and isupper: a cased character at least, none of the other case
            "lower" => value is string s && s.Any(char.IsLetter) && !s.Any(char.IsUpper),
            "upper" => value is string u && u.Any(char.IsLetter) && !u.Any(char.IsLower),
            _ => throw TemplateValues.Error(line, $"no test named '{name}'"),
        };
    }
}
