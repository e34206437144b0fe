using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Dsl.Text;

namespace Dsl;

/// <summary>One message of a conversation: its role ("system", "user", "assistant", …) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// A model's chat template — the Jinja template in its <c>tokenizer_config.json</c> (or <c>chat_template.jinja</c>) that lays a
/// conversation out as the model was trained to read it — rendered as transformers' <c>apply_chat_template</c> renders it:
/// jinja2 with <c>trim_blocks</c> and <c>lstrip_blocks</c>, transformers' <c>tojson</c> (no HTML escaping, non-ASCII kept),
/// <c>raise_exception</c> and <c>strftime_now</c>, and jinja2's <c>namespace</c>, <c>range</c> and loop controls.
/// </summary>
/// <remarks>
/// The statements read are if/elif/else, for (with its filter, else, <c>loop</c>, break and continue), set (names, a
/// namespace's attributes, a block), macro and transformers' generation block; the expressions Python's literals, arithmetic,
/// comparisons, <c>in</c>, <c>and</c>/<c>or</c>/<c>not</c>, conditionals, attributes, indexes and slices, the common filters
/// and tests, and the methods of str and dict that leave their object unchanged. Values follow Python's semantics (what
/// prints, what is true, what compares equal). Anything else is refused naming it and its line.
/// </remarks>
public sealed class ChatTemplate
{
    private readonly List<TemplateNode> _nodes;

    private ChatTemplate(string source, List<TemplateNode> nodes)
    {
        Source = source;
        _nodes = nodes;
    }

    /// <summary>The template's text.</summary>
    public string Source { get; }

    /// <summary>Reads a template.</summary>
    /// <exception cref="InvalidDataException">The template does not parse (the message names the line and what is wrong).</exception>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, TemplateParser.Parse(source));
    }

    /// <summary>
    /// Renders the template with <paramref name="variables"/> (strings, numbers, bools, null, <see cref="ChatMessage"/>s,
    /// dictionaries of string keys and sequences of these): for a chat template, <c>messages</c>, <c>add_generation_prompt</c>
    /// and the special tokens (<c>bos_token</c>, <c>eos_token</c>, …), as <see cref="Tokenizer.ApplyChatTemplate(IEnumerable{ChatMessage}, bool, IReadOnlyDictionary{string, object?}?)"/> passes them.
    /// </summary>
    /// <exception cref="ArgumentException">The template refused its input (<c>raise_exception</c>: its message), or a variable holds a value of another type.</exception>
    /// <exception cref="InvalidOperationException">The template failed on its input (an undefined name, a type error: the message names the line).</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["raise_exception"] = new TemplateFunction((a, _) => throw new TemplateRaised(a.Count > 0 ? TemplateValues.Str(a[0], 0) : "raise_exception")),
            ["strftime_now"] = new TemplateFunction((a, _) => Strftime(DateTime.Now, a.Count > 0 && a[0] is string format ? format : throw new TemplateTypeError("strftime_now takes a format string"))),
            ["namespace"] = new TemplateFunction((a, n) =>
            {
                var ns = new Namespace();
                if (a.Count > 0 && a[0] is Dictionary<string, object?> initial) foreach (var (k, v) in initial) ns[k] = v;
                foreach (var (k, v) in n) ns[k] = v;
                return ns;
            }),
            ["range"] = new TemplateFunction((a, _) =>
            {
                long Whole(int i) => a[i] is long l ? l : throw new TemplateTypeError($"range takes integers, not {TemplateValues.TypeName(a[i])}");
                long start = a.Count > 1 ? Whole(0) : 0, stop = a.Count == 1 ? Whole(0) : a.Count > 1 ? Whole(1) : 0, step = a.Count > 2 ? Whole(2) : 1;
                if (step == 0) throw new TemplateTypeError("range() arg 3 must not be zero");
                var items = new List<object?>();
                for (long i = start; step > 0 ? i < stop : i > stop; i += step)
                {
                    if (items.Count >= 1_000_000) throw new TemplateTypeError("range() of more than a million items");
                    items.Add(i);
                }
                return items;
            }),
            ["dict"] = new TemplateFunction((_, n) => new Dictionary<string, object?>(n, StringComparer.Ordinal)),
        };
        foreach (var (name, value) in variables) globals[name] = TemplateValues.From(value);
        var context = new TemplateContext(globals);
        try
        {
            TemplateNode.RenderAll(_nodes, context);
        }
        catch (TemplateRaised e)
        {
            throw new ArgumentException($"The chat template refused its input: {e.Message}", e);
        }
        catch (LoopControl)
        {
            throw new InvalidOperationException("The chat template uses break or continue outside a loop.");
        }
        return context.Output.ToString();
    }

    /// <summary>Python's strftime for the directives templates use (LLaMA 3.1's "%d %b %Y"), in English.</summary>
    internal static string Strftime(DateTime t, string format)
    {
        var b = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                b.Append(format[i]);
                continue;
            }
            char d = format[++i];
            b.Append(d switch
            {
                'd' => t.Day.ToString("00", c),
                'm' => t.Month.ToString("00", c),
                'Y' => t.Year.ToString("0000", c),
                'y' => (t.Year % 100).ToString("00", c),
                'H' => t.Hour.ToString("00", c),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("00", c),
                'M' => t.Minute.ToString("00", c),
                'S' => t.Second.ToString("00", c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'b' => c.DateTimeFormat.GetAbbreviatedMonthName(t.Month),
                'B' => c.DateTimeFormat.GetMonthName(t.Month),
                'a' => c.DateTimeFormat.GetAbbreviatedDayName(t.DayOfWeek),
                'A' => c.DateTimeFormat.GetDayName(t.DayOfWeek),
                'j' => t.DayOfYear.ToString("000", c),
                'w' => ((int)t.DayOfWeek).ToString(c),
                'e' => t.Day.ToString(c).PadLeft(2),
                '%' => "%",
                _ => throw new TemplateTypeError($"strftime_now: the directive %{d} is not read here (%d %m %Y %y %H %I %M %S %p %b %B %a %A %j %w %e %%)"),
            });
        }
        return b.ToString();
    }
}
