using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Dsl.Text;

/// <summary>jinja2's <c>Undefined</c>: a name or key that is not there. Prints as nothing, is false, iterates as empty.</summary>
internal sealed class Undefined(string name)
{
    public string Name { get; } = name;
}

/// <summary>A Python tuple (what <c>items()</c> gives and <c>(a, b)</c> writes): a list that prints with parentheses.</summary>
internal sealed class TemplateTuple(List<object?> items)
{
    public List<object?> Items { get; } = items;
}

/// <summary>jinja2's <c>namespace()</c>: the one object whose attributes <c>{% set ns.x = … %}</c> may change.</summary>
internal sealed class Namespace() : Dictionary<string, object?>(StringComparer.Ordinal);

/// <summary>A function a template may call: a macro, a global (raise_exception, namespace, range, …) or a bound method.</summary>
internal sealed class TemplateFunction(Func<List<object?>, Dictionary<string, object?>, object?> body)
{
    public object? Invoke(List<object?> arguments, Dictionary<string, object?> named, int line)
    {
        try
        {
            return body(arguments, named);
        }
        catch (TemplateTypeError e)
        {
            throw TemplateValues.Error(line, e.Message);
        }
    }
}

/// <summary>A Python TypeError or ValueError inside a function, given its line where the call stands.</summary>
internal sealed class TemplateTypeError(string message) : Exception(message);

/// <summary>What <c>raise_exception(message)</c> raises: the template refusing its input.</summary>
internal sealed class TemplateRaised(string message) : Exception(message);

/// <summary>Python's semantics for the values a template handles: None, bool, int (long), float (double), str, list, tuple, dict.</summary>
internal static class TemplateValues
{
    public static InvalidOperationException Error(int line, string what) => new($"the chat template, line {line}: {what}.");

    /// <summary>A caller's value as a template's: strings, numbers, bools, null, dictionaries and sequences (recursively).</summary>
    public static object? From(object? value) => value switch
    {
        null or string or bool or long or double => value,
        int i => (long)i,
        short s => (long)s,
        float f => (double)f,
        decimal m => (double)m,
        ChatMessage m => new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = m.Role, ["content"] = m.Content },
        IDictionary<string, object?> d => d.ToDictionary(p => p.Key, p => From(p.Value), StringComparer.Ordinal),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(p => p.Key, p => From(p.Value), StringComparer.Ordinal),
        IDictionary<string, string> d => d.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal),
        IEnumerable e => e.Cast<object?>().Select(From).ToList(),
        _ => throw new ArgumentException($"A chat template's variable holds a {value.GetType().Name}; it takes strings, numbers, bools, null, dictionaries of string keys and sequences of these."),
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        TemplateTuple => "tuple",
        Namespace => "Namespace",
        Dictionary<string, object?> => "dict",
        Undefined => "Undefined",
        TemplateFunction => "function",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        TemplateTuple t => t.Items.Count > 0,
        Dictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python's <c>str()</c>; jinja2 prints Undefined as nothing.</summary>
    public static string Str(object? v, int line) => v switch
    {
        string s => s,
        Undefined => "",
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr()</c> (what a list or dict prints its members as).</summary>
    public static string Repr(object? v)
    {
        switch (v)
        {
            case string s:
                return Quote(s);
            case List<object?> l:
                return "[" + string.Join(", ", l.Select(Repr)) + "]";
            case TemplateTuple t:
                return "(" + string.Join(", ", t.Items.Select(Repr)) + (t.Items.Count == 1 ? ",)" : ")");
            case Namespace n:
                return "<Namespace {" + string.Join(", ", n.Select(p => Quote(p.Key) + ": " + Repr(p.Value))) + "}>";
            case Undefined:
                return "Undefined";
            case Dictionary<string, object?> d:
                return "{" + string.Join(", ", d.Select(p => Quote(p.Key) + ": " + Repr(p.Value))) + "}";
            case TemplateFunction:
                return "<function>";
            case LoopInfo:
                return "<LoopContext>";
            default:
                return Str(v, 0);
        }
    }

    /// <summary>A string as Python's repr quotes it: single quotes unless it holds one and no double quote.</summary>
    private static string Quote(string s)
    {
        char q = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var b = new StringBuilder(s.Length + 2).Append(q);
        foreach (Rune r in s.EnumerateRunes())
        {
            int c = r.Value;
            if (c == q || c == '\\') b.Append('\\').Append((char)c);
            else if (c == '\n') b.Append("\\n");
            else if (c == '\r') b.Append("\\r");
            else if (c == '\t') b.Append("\\t");
            // what Python's str.isprintable calls unprintable: controls, formats, separators but the space, unassigned
            else if (c != ' ' && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.SpaceSeparator
                         or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                b.Append(c < 0x100 ? "\\x" + c.ToString("x2", CultureInfo.InvariantCulture) : c < 0x10000 ? "\\u" + c.ToString("x4", CultureInfo.InvariantCulture) : "\\U" + c.ToString("x8", CultureInfo.InvariantCulture));
            else b.Append(r.ToString());
        }
        return b.Append(q).ToString();
    }

    /// <summary>
    /// A float as Python's repr writes it: the shortest digits that read back to it, fixed between 1e-4 and 1e16
    /// ("0.1", "1000.0", "1e-05", "1e+16"), "nan", "inf".
    /// </summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // the shortest round-tripping digits: "R" gives them, in whatever layout; take its digits and exponent
        string shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOfAny(['E', 'e']);
        string mantissa = e >= 0 ? shortest[..e] : shortest;
        int exponent = e >= 0 ? int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        int dot = mantissa.IndexOf('.');
        string digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        int point = (dot >= 0 ? dot : mantissa.Length) + exponent; // value = 0.digits × 10^point after stripping leading zeros
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; point--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        string sign = d < 0 ? "-" : "";
        if (point > -4 && point <= 16)
        {
            if (point <= 0) return sign + "0." + new string('0', -point) + digits;
            if (point >= digits.Length) return sign + digits + new string('0', point - digits.Length) + ".0";
            return sign + digits[..point] + "." + digits[point..];
        }
        int x = point - 1;
        string m = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
        return sign + m + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
    }

    public static bool Equal(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b) && (a is not long la || b is not long lb || la == lb);
        return (a, b) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string x, string y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
            (TemplateTuple x, TemplateTuple y) => x.Items.Count == y.Items.Count && x.Items.Zip(y.Items).All(p => Equal(p.First, p.Second)),
            (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out object? o) && Equal(p.Value, o)),
            _ => ReferenceEquals(a, b),
        };
    }

    private static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => double.NaN,
    };

    public static bool Order(object? a, object? b, string op, int line)
    {
        int c;
        if (IsNumber(a) && IsNumber(b)) c = a is long la && b is long lb ? la.CompareTo(lb) : ToDouble(a).CompareTo(ToDouble(b));
        else if (a is string x && b is string y) c = CompareCodePoints(x, y);
        else if (a is List<object?> l && b is List<object?> m)
        {
            c = 0;
            for (int i = 0; i < Math.Min(l.Count, m.Count) && c == 0; i++)
            {
                if (!Equal(l[i], m[i])) c = Order(l[i], m[i], "<", line) ? -1 : 1;
            }
            if (c == 0) c = l.Count.CompareTo(m.Count);
        }
        else throw Error(line, $"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    /// <summary>Python's string order: by code points (UTF-16's order puts U+FF5C after a character past U+FFFF).</summary>
    public static int CompareCodePoints(string x, string y)
    {
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            Rune.DecodeFromUtf16(x.AsSpan(i), out Rune a, out int na);
            Rune.DecodeFromUtf16(y.AsSpan(j), out Rune b, out int nb);
            if (a.Value != b.Value) return a.Value.CompareTo(b.Value);
            i += na;
            j += nb;
        }
        return (x.Length - i).CompareTo(y.Length - j);
    }

    public static bool Contains(object? container, object? item, int line) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw Error(line, $"'in <string>' requires string as left operand, not {TypeName(item)}"),
        List<object?> l => l.Any(x => Equal(x, item)),
        TemplateTuple t => t.Items.Any(x => Equal(x, item)),
        Dictionary<string, object?> d => item is string key && d.ContainsKey(key),
        Undefined => false,
        _ => throw Error(line, $"argument of type '{TypeName(container)}' is not iterable"),
    };

    /// <summary>The items a for loop (or a filter) walks: a list's, a string's characters, a dict's keys; Undefined none.</summary>
    public static List<object?> Iterate(object? v, int line) => v switch
    {
        List<object?> l => l,
        TemplateTuple t => t.Items,
        string s => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
        Dictionary<string, object?> d => d.Keys.Select(k => (object?)k).ToList(),
        Undefined => [],
        _ => throw Error(line, $"'{TypeName(v)}' object is not iterable"),
    };

    /// <summary>jinja2's getattr: a method of a str, dict or list first, then a dict's key; Undefined where none is.</summary>
    public static object? Attribute(object? target, string name, int line)
    {
        switch (target)
        {
            case Undefined u:
                throw Error(line, $"'{u.Name}' is undefined");
            case LoopInfo loop:
                return loop.Get(name);
            case Namespace n:
                return n.TryGetValue(name, out object? v) ? v : new Undefined(name);
            case Dictionary<string, object?> d:
                return (object?)TemplateMethods.Of(d, name) ?? (d.TryGetValue(name, out object? value) ? value : new Undefined(name));
            default:
                return (object?)TemplateMethods.Of(target, name) ?? new Undefined(name);
        }
    }

    /// <summary>jinja2's getitem: an index, a key; Undefined where there is none (an index past the end included).</summary>
    public static object? Item(object? target, object? key, int line)
    {
        switch (target)
        {
            case Undefined u:
                throw Error(line, $"'{u.Name}' is undefined");
            case Dictionary<string, object?> d:
                return key is string k && d.TryGetValue(k, out object? v) ? v : key is string attributeName ? Attribute(target, attributeName, line) : new Undefined(Str(key, line));
            case List<object?> or TemplateTuple or string:
            {
                if (key is string attribute) return Attribute(target, attribute, line);
                if (key is not (long or bool)) return new Undefined(Str(key, line));
                long i = key is bool b ? (b ? 1 : 0) : (long)key;
                List<object?> items = target is string s ? Iterate(s, line) : target is TemplateTuple t ? t.Items : (List<object?>)target;
                if (i < 0) i += items.Count;
                return i >= 0 && i < items.Count ? items[(int)i] : new Undefined($"[{key}]");
            }
            case LoopInfo loop when key is string name:
                return loop.Get(name);
            default:
                return new Undefined(Str(key, line));
        }
    }

    /// <summary>Python's slice of a list, tuple or string.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step, int line)
    {
        if (target is Undefined u) throw Error(line, $"'{u.Name}' is undefined");
        List<object?> items = target switch
        {
            string s => Iterate(s, line),
            List<object?> l => l,
            TemplateTuple t => t.Items,
            _ => throw Error(line, $"'{TypeName(target)}' object is not subscriptable"),
        };
        long Index(object? v, string what) => v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            _ => throw Error(line, $"slice indices must be integers or None, got {TypeName(v)} for its {what}"),
        };
        long n = items.Count, by = step is null ? 1 : Index(step, "step");
        if (by == 0) throw Error(line, "slice step cannot be zero");
        long Clamp(object? v, bool isStart)
        {
            if (v is null) return by > 0 ? (isStart ? 0 : n) : (isStart ? n - 1 : -1);
            long i = Index(v, isStart ? "start" : "stop");
            if (i < 0) i += n;
            return by > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }
        long from = Clamp(start, true), to = Clamp(stop, false);
        var result = new List<object?>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) result.Add(items[(int)i]);
        return target switch
        {
            string => string.Concat(result.Cast<string>()),
            TemplateTuple => new TemplateTuple(result),
            _ => result,
        };
    }

    public static object? Arithmetic(string op, object? a, object? b, int line)
    {
        if (op == "~") return Str(a, line) + Str(b, line);
        if (a is Undefined ua) throw Error(line, $"'{ua.Name}' is undefined");
        if (b is Undefined ub) throw Error(line, $"'{ub.Name}' is undefined");
        if (IsNumber(a) && IsNumber(b))
        {
            bool whole = a is long or bool && b is long or bool;
            if (whole)
            {
                long x = a is bool p ? (p ? 1 : 0) : (long)a!, y = b is bool q ? (q ? 1 : 0) : (long)b!;
                try
                {
                    switch (op)
                    {
                        case "+": return checked(x + y);
                        case "-": return checked(x - y);
                        case "*": return checked(x * y);
                        case "/": return y == 0 ? throw Error(line, "division by zero") : (double)x / y;
                        case "//": return y == 0 ? throw Error(line, "integer division or modulo by zero") : FloorDiv(x, y);
                        case "%": return y == 0 ? throw Error(line, "integer division or modulo by zero") : x - FloorDiv(x, y) * y;
                        case "**": return y >= 0 ? (object)Power(x, y, line) : Math.Pow(x, y);
                    }
                }
                catch (OverflowException)
                {
                    throw Error(line, $"{x} {op} {y} is past what a template here counts (64-bit integers)");
                }
            }
            double dx = ToDouble(a), dy = ToDouble(b);
            switch (op)
            {
                case "+": return dx + dy;
                case "-": return dx - dy;
                case "*": return dx * dy;
                case "/": return dy == 0 ? throw Error(line, "float division by zero") : dx / dy;
                case "//": return dy == 0 ? throw Error(line, "float floor division by zero") : Math.Floor(dx / dy);
                case "%": return dy == 0 ? throw Error(line, "float modulo") : dx - Math.Floor(dx / dy) * dy;
                case "**": return Math.Pow(dx, dy);
            }
        }
        switch (op, a, b)
        {
            case ("%", string format, _): return Percent(format, b, line);
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return x.Concat(y).ToList();
            case ("+", TemplateTuple x, TemplateTuple y): return new TemplateTuple(x.Items.Concat(y.Items).ToList());
            case ("*", string x, long n): return string.Concat(Enumerable.Repeat(x, Repeats(x.Length, n, line)));
            case ("*", long n, string x): return string.Concat(Enumerable.Repeat(x, Repeats(x.Length, n, line)));
            case ("*", List<object?> x, long n): return Enumerable.Repeat(x, Repeats(x.Count, n, line)).SelectMany(l => l).ToList();
            case ("+", string, _):
                throw Error(line, $"can only concatenate str (not \"{TypeName(b)}\") to str");
            case ("+", List<object?>, _):
                throw Error(line, $"can only concatenate list (not \"{TypeName(b)}\") to list");
            default:
                throw Error(line, $"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
        }
    }

    /// <summary>How many copies a repetition makes (none below 1), refused past 100 million items rather than exhausting memory.</summary>
    private static int Repeats(int length, long n, int line) =>
        n <= 0 ? 0 : length == 0 ? 1 : n > 100_000_000 / length ? throw Error(line, $"a repetition of {n} copies of {length} items is past what a template here makes") : (int)n;

    /// <summary>
    /// Python's printf-style formatting, <c>format % args</c> (and the format filter): %s, %r, %d, %i, %f, %e, %g, %x, %o, %c and
    /// %%, with flags, width and precision; a tuple gives the arguments in turn, a dict by %(name)s.
    /// </summary>
    internal static string Percent(string format, object? args, int line)
    {
        List<object?> items = args is TemplateTuple t ? t.Items : [args];
        var b = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%') { b.Append(c); continue; }
            if (++i >= format.Length) throw Error(line, "incomplete format");
            object? value;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0 || args is not Dictionary<string, object?> map) throw Error(line, "format requires a mapping");
                string key = format[(i + 1)..close];
                value = map.TryGetValue(key, out object? v) ? v : throw Error(line, $"'{key}' is not in the format's mapping");
                i = close + 1;
            }
            else value = null;
            string flags = "";
            while (i < format.Length && format[i] is '-' or '+' or ' ' or '0' or '#') flags += format[i++];
            int start = i;
            while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
            int width = i > start ? int.Parse(format[start..i], CultureInfo.InvariantCulture) : 0;
            int precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                start = ++i;
                while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
                precision = i > start ? int.Parse(format[start..i], CultureInfo.InvariantCulture) : 0;
            }
            if (i >= format.Length) throw Error(line, "incomplete format");
            char kind = format[i];
            if (kind == '%') { b.Append('%'); continue; }
            if (format[start > 0 ? start - 1 : 0] != ')' && value is null)
            {
                if (args is Dictionary<string, object?> && items.Count == 1 && next == 0 && kind is 's' or 'r') value = args;
                else value = next < items.Count ? items[next++] : throw Error(line, "not enough arguments for format string");
            }
            string text = kind switch
            {
                's' => Str(value, line),
                'r' or 'a' => Repr(value),
                'd' or 'i' or 'u' => value switch
                {
                    long whole => whole.ToString(CultureInfo.InvariantCulture),
                    bool truth => truth ? "1" : "0",
                    double real => Math.Truncate(real).ToString("0", CultureInfo.InvariantCulture),
                    _ => throw Error(line, $"%{kind} format: a real number is required, not {TypeName(value)}"),
                },
                'f' or 'F' => IsNumber(value) ? ToDouble(value).ToString("F" + (precision < 0 ? 6 : precision), CultureInfo.InvariantCulture) : throw Error(line, $"must be real number, not {TypeName(value)}"),
                'e' or 'E' => IsNumber(value) ? PythonExponent(ToDouble(value), precision < 0 ? 6 : precision, kind) : throw Error(line, $"must be real number, not {TypeName(value)}"),
                'x' or 'X' or 'o' => value is long whole
                    ? (whole < 0 ? "-" : "") + (kind == 'o' ? Convert.ToString(Math.Abs(whole), 8) : kind == 'x' ? Math.Abs(whole).ToString("x", CultureInfo.InvariantCulture) : Math.Abs(whole).ToString("X", CultureInfo.InvariantCulture))
                    : throw Error(line, $"%{kind} format: an integer is required, not {TypeName(value)}"),
                'c' => value is long code ? char.ConvertFromUtf32((int)code) : value is string one && one.Length == 1 ? one : throw Error(line, "%c requires an int or a char"),
                'g' or 'G' => IsNumber(value) ? Float(ToDouble(value)) : throw Error(line, $"must be real number, not {TypeName(value)}"),
                _ => throw Error(line, $"unsupported format character '{kind}'"),
            };
            if (kind is 's' or 'r' && precision >= 0 && text.Length > precision) text = text[..precision];
            if (flags.Contains('+') && kind is 'd' or 'i' or 'f' or 'e' && !text.StartsWith('-')) text = "+" + text;
            if (text.Length < width)
                text = flags.Contains('-') ? text.PadRight(width) : flags.Contains('0') && kind is not ('s' or 'r') ? (text.StartsWith('-') ? "-" + text[1..].PadLeft(width - 1, '0') : text.PadLeft(width, '0')) : text.PadLeft(width);
            b.Append(text);
        }
        if (args is TemplateTuple && next < items.Count) throw Error(line, "not all arguments converted during string formatting");
        return b.ToString();
    }

    private static string PythonExponent(double d, int precision, char kind)
    {
        string text = d.ToString((kind == 'E' ? "E" : "e") + precision, CultureInfo.InvariantCulture); // "1.5e+007"
        int e = text.IndexOfAny(['e', 'E']);
        int exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return text[..(e + 1)] + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>Python's str.format with "{}", "{0}", "{name}" and doubled braces (no format specifications).</summary>
    internal static string Format(string format, List<object?> args, Dictionary<string, object?> named)
    {
        var b = new StringBuilder();
        int auto = 0;
        bool? numbered = null; // fields numbered by hand ("{0}") or in turn ("{}"): one way or the other, as Python requires
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{') { b.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < format.Length && format[i + 1] == '}') { b.Append('}'); i++; continue; }
            if (c != '{') { b.Append(c); continue; }
            int close = format.IndexOf('}', i);
            if (close < 0) throw new TemplateTypeError("Single '{' encountered in format string");
            string field = format[(i + 1)..close];
            if (field.Contains(':') || field.Contains('!')) throw new TemplateTypeError($"format: the field {{{field}}}'s specification is not read here");
            bool automatic = field.Length == 0, manual = !automatic && char.IsAsciiDigit(field[0]);
            if ((automatic && numbered == true) || (manual && numbered == false)) throw new TemplateTypeError("cannot switch between automatic field numbering and manual field specification");
            if (automatic || manual) numbered = manual;
            object? value = automatic ? (auto < args.Count ? args[auto++] : throw new TemplateTypeError("Replacement index out of range for positional args tuple"))
                : int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? (index < args.Count ? args[index] : throw new TemplateTypeError($"Replacement index {index} out of range"))
                : named.TryGetValue(field, out object? v) ? v : throw new TemplateTypeError($"'{field}' is not given to format");
            b.Append(Str(value, 0));
            i = close;
        }
        return b.ToString();
    }

    /// <summary>
    /// Python's round(value, digits): half to even on the value's exact binary expansion (2.675 is below its half, so 2.67),
    /// an int staying an int.
    /// </summary>
    public static object? Round(object? value, int digits, int line)
    {
        if (value is long l)
        {
            if (digits >= 0) return l;
            decimal scale = (decimal)Math.Pow(10, -digits);
            return digits < -18 ? 0L : (long)(Math.Round(l / scale, MidpointRounding.ToEven) * scale);
        }
        if (value is bool b) return b ? 1L : 0L;
        if (value is not double d) throw Error(line, $"type {TypeName(value)} doesn't define __round__ method");
        if (double.IsNaN(d) || double.IsInfinity(d) || digits > 300) return d;
        // the exact decimal expansion of the double (every binary fraction ends), then half-to-even at the digit asked
        string exact = Math.Abs(d).ToString("F" + Math.Clamp(digits + 1100, 0, 1200), CultureInfo.InvariantCulture);
        int point = exact.IndexOf('.');
        string whole = point < 0 ? exact : exact[..point], fraction = point < 0 ? "" : exact[(point + 1)..];
        string all = whole + fraction;
        int keep = whole.Length + digits; // digits kept from the left
        if (keep < 0) return d < 0 ? -0.0 : 0.0;
        string kept = all[..Math.Min(keep, all.Length)], rest = keep < all.Length ? all[keep..] : "";
        bool up = rest.Length > 0 && (rest[0] > '5' || (rest[0] == '5' && (rest.AsSpan(1).IndexOfAnyExcept('0') >= 0 || (kept.Length > 0 && (kept[^1] - '0') % 2 == 1))));
        var number = System.Numerics.BigInteger.Parse(kept.Length == 0 ? "0" : kept, CultureInfo.InvariantCulture) + (up ? 1 : 0);
        double result = double.Parse(number.ToString(CultureInfo.InvariantCulture) + "e" + (-digits).ToString(CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
        return d < 0 ? -result : result;
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
    }

    private static long Power(long x, long y, int line)
    {
        long result = 1;
        for (long i = 0; i < y; i++) result = checked(result * x);
        return result;
    }

    /// <summary>
    /// <c>json.dumps(value, ensure_ascii=False, indent=…, separators=…, sort_keys=…)</c>, the <c>tojson</c> transformers gives
    /// its templates (jinja2's own would escape HTML characters and every non-ASCII one).
    /// </summary>
    public static string Json(object? value, string? indent, string itemSeparator, string keySeparator, bool sortKeys, bool asciiOnly, int line)
    {
        var b = new StringBuilder();
        void Write(object? v, int depth)
        {
            switch (v)
            {
                case null: b.Append("null"); break;
                case bool x: b.Append(x ? "true" : "false"); break;
                case long l: b.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: b.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : Float(d)); break;
                case string s: JsonString(b, s, asciiOnly); break;
                case List<object?> or TemplateTuple:
                {
                    List<object?> items = v is TemplateTuple t ? t.Items : (List<object?>)v;
                    if (items.Count == 0) { b.Append("[]"); break; }
                    b.Append('[');
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (i > 0) b.Append(itemSeparator);
                        NewLine(depth + 1);
                        Write(items[i], depth + 1);
                    }
                    NewLine(depth);
                    b.Append(']');
                    break;
                }
                case Dictionary<string, object?> d and not Namespace:
                {
                    if (d.Count == 0) { b.Append("{}"); break; }
                    b.Append('{');
                    int i = 0;
                    foreach (var (key, item) in sortKeys ? d.OrderBy(p => p.Key, Comparer<string>.Create(CompareCodePoints)) : (IEnumerable<KeyValuePair<string, object?>>)d)
                    {
                        if (i++ > 0) b.Append(itemSeparator);
                        NewLine(depth + 1);
                        JsonString(b, key, asciiOnly);
                        b.Append(keySeparator);
                        Write(item, depth + 1);
                    }
                    NewLine(depth);
                    b.Append('}');
                    break;
                }
                default:
                    throw Error(line, $"Object of type {TypeName(v)} is not JSON serializable");
            }
        }
        void NewLine(int depth)
        {
            if (indent is not null)
            {
                b.Append('\n');
                for (int i = 0; i < depth; i++) b.Append(indent);
            }
        }
        Write(value, 0);
        return b.ToString();
    }

    private static void JsonString(StringBuilder b, string s, bool asciiOnly)
    {
        b.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                default:
                    if (c < 0x20 || (asciiOnly && c > 0x7F)) b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else b.Append(c);
                    break;
            }
        }
        b.Append('"');
    }
}
