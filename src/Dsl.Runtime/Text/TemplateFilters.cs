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
        "splitlines" => new((_, _) => s.Split('\n').Select(x => (object?)x.TrimEnd('\r')).Where((x, i) => i < s.Split('\n').Length - 1 || ((string)x!).Length > 0).ToList()),
        "replace" => new((a, _) => a.Count >= 2 && a[0] is string from && a[1] is string to
            ? (a.Count > 2 && a[2] is long count && count >= 0 ? ReplaceCount(s, from, to, count) : s.Replace(from, to, StringComparison.Ordinal))
            : throw new TemplateTypeError("replace() takes two strings")),
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
                    parts.Add(Strip(s[i..], null, false, true));
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

    private static string ReplaceCount(string s, string from, string to, long count)
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
                long? width = Arg(1, "indent") switch { null => null, long l => l, _ => throw TemplateValues.Error(line, "tojson's indent must be a whole number") };
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
                string separator = Arg(0, "d", "") as string ?? "";
                IEnumerable<object?> items = TemplateValues.Iterate(value, line);
                if (Arg(1, "attribute") is string attribute) items = items.Select(x => TemplateValues.Attribute(x, attribute, line));
                return string.Join(separator, items.Select(Text));
            }
            case "replace":
                return Arg(0, "old") is string from && Arg(1, "new") is string to ? Text(value).Replace(from, to, StringComparison.Ordinal) : throw TemplateValues.Error(line, "replace takes two strings");
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
                    long l => (object)Math.Abs(l),
                    double real => Math.Abs(real),
                    bool b => b ? 1L : 0L,
                    _ => throw TemplateValues.Error(line, $"bad operand type for abs(): '{TemplateValues.TypeName(value)}'"),
                };
            case "items":
                return value is Dictionary<string, object?> dict ? dict.Select(p => (object?)new TemplateTuple([p.Key, p.Value])).ToList()
                    : value is Undefined ? new List<object?>() : throw TemplateValues.Error(line, $"items takes a dict, not {TemplateValues.TypeName(value)}");
            case "safe":
                return value;
            case "e" or "escape":
                return Text(value).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
                    .Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
            case "map":
            {
                List<object?> items = TemplateValues.Iterate(value, line);
                if (Arg(-1, "attribute") is string attribute)
                    return items.Select(x => TemplateValues.Attribute(x, attribute, line) is Undefined && n.TryGetValue("default", out object? fallback) ? fallback : TemplateValues.Attribute(x, attribute, line)).ToList();
                if (Arg(0, "filter") is string filter)
                    return items.Select(x => Apply(filter, x, a.Skip(1).ToList(), [], line)).ToList();
                throw TemplateValues.Error(line, "map takes attribute= or a filter's name");
            }
            case "selectattr" or "rejectattr":
            {
                bool keep = name == "selectattr";
                if (Arg(0, "attribute") is not string attribute) throw TemplateValues.Error(line, $"{name} takes an attribute's name");
                return TemplateValues.Iterate(value, line).Where(x =>
                {
                    object? v = TemplateValues.Attribute(x, attribute, line);
                    bool holds = a.Count > 1 && a[1] is string test ? Test(test, v, a.Skip(2).ToList(), line) : TemplateValues.Truthy(v);
                    return holds == keep;
                }).ToList();
            }
            case "select" or "reject":
            {
                bool keep = name == "select";
                return TemplateValues.Iterate(value, line).Where(x => (a.Count > 0 && a[0] is string test ? Test(test, x, a.Skip(1).ToList(), line) : TemplateValues.Truthy(x)) == keep).ToList();
            }
            case "unique":
            {
                var seen = new List<object?>();
                foreach (object? x in TemplateValues.Iterate(value, line)) if (!seen.Any(y => TemplateValues.Equal(x, y))) seen.Add(x);
                return seen;
            }
            case "sort":
            {
                var items = TemplateValues.Iterate(value, line).ToList();
                string? attribute = Arg(2, "attribute") as string;
                Comparison<object?> order = (x, y) =>
                {
                    object? l = attribute is null ? x : TemplateValues.Attribute(x, attribute, line), r = attribute is null ? y : TemplateValues.Attribute(y, attribute, line);
                    return TemplateValues.Equal(l, r) ? 0 : TemplateValues.Order(l, r, "<", line) ? -1 : 1;
                };
                // a stable sort, as Python's
                var sorted = items.Select((x, i) => (x, i)).ToList();
                sorted.Sort((p, q) => order(p.x, q.x) is int c && c != 0 ? c : p.i.CompareTo(q.i));
                var result = sorted.Select(p => p.x).ToList();
                if (TemplateValues.Truthy(Arg(0, "reverse", false))) result.Reverse();
                return result;
            }
            case "sum":
                return TemplateValues.Iterate(value, line).Aggregate(Arg(1, "start", 0L), (s, x) => TemplateValues.Arithmetic("+", s, x, line));
            case "min" or "max":
            {
                var items = TemplateValues.Iterate(value, line);
                if (items.Count == 0) return new Undefined(name);
                return items.Aggregate((x, y) => TemplateValues.Order(y, x, name == "min" ? "<" : ">", line) ? y : x);
            }
            case "indent":
            {
                object? width = Arg(0, "width", 4L);
                string pad = width as string ?? new string(' ', (int)(width is long w ? w : 4));
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
                double v = value switch { long l => l, double real => real, bool b => b ? 1 : 0, _ => throw TemplateValues.Error(line, "round takes a number") };
                int digits = Arg(0, "precision", 0L) is long p ? (int)p : 0;
                string method = Arg(1, "method", "common") as string ?? "common";
                double scale = Math.Pow(10, digits);
                return method switch
                {
                    "floor" => Math.Floor(v * scale) / scale,
                    "ceil" => Math.Ceiling(v * scale) / scale,
                    _ => Math.Round(v, digits, MidpointRounding.AwayFromZero),
                };
            }
            case "wordcount":
                return (long)Text(value).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            default:
                throw TemplateValues.Error(line, $"no filter named '{name}' (the filters read here: trim, length, count, tojson, string, upper, lower, capitalize, title, first, last, default, join, replace, list, reverse, int, float, abs, items, safe, escape, map, selectattr, rejectattr, select, reject, unique, sort, sum, min, max, indent, round, wordcount)");
        }
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
            "lower" => value is string s && s == s.ToLowerInvariant(),
            "upper" => value is string u && u == u.ToUpperInvariant(),
            _ => throw TemplateValues.Error(line, $"no test named '{name}'"),
        };
    }
}
