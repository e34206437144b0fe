using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace Dsl.Text;

/// <summary>A token inside a template tag: a name, a number, a string, or an operator.</summary>
internal readonly record struct TemplateToken(TemplateTokenKind Kind, string Text, object? Value, int Line);

internal enum TemplateTokenKind { Name, Number, String, Operator, End }

/// <summary>A piece of a template: text, an expression to print (<c>{{ … }}</c>) or a statement (<c>{% … %}</c>), its tokens.</summary>
internal sealed record TemplatePiece(TemplatePieceKind Kind, string Text, List<TemplateToken> Tokens, int Line);

internal enum TemplatePieceKind { Text, Expression, Statement }

/// <summary>
/// Splits a Jinja template into text, expressions and statements as transformers' chat templates are read: jinja2 with
/// <c>trim_blocks</c> (the newline after a statement or comment tag dropped) and <c>lstrip_blocks</c> (the spaces and tabs
/// before one on its line dropped), <c>-</c> in a tag stripping all whitespace on its side and <c>+</c> keeping it, newlines
/// read as "\n", one trailing newline of the template dropped, <c>{% raw %}</c> kept as text.
/// </summary>
internal static class TemplateLexer
{
    public static List<TemplatePiece> Split(string source)
    {
        // jinja2 reads "\r\n", "\r" and "\n" alike as "\n" (in strings too), and drops one trailing newline
        source = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (source.EndsWith('\n')) source = source[..^1];
        var pieces = new List<TemplatePiece>();
        var text = new StringBuilder();
        int line = 1, at = 0;
        bool lineStarting = true; // the text being gathered starts a line (the template's start, or after a tag that ended one)
        while (at < source.Length)
        {
            int open = source.IndexOf('{', at);
            while (open >= 0 && (open + 1 >= source.Length || source[open + 1] is not ('{' or '%' or '#'))) open = source.IndexOf('{', open + 1);
            int stop = open < 0 ? source.Length : open;
            text.Append(source, at, stop - at);
            if (open < 0) break;
            char kind = source[open + 1];
            int inner = open + 2;
            char left = inner < source.Length && source[inner] is '-' or '+' ? source[inner] : ' ';
            if (left != ' ') inner++;
            int tagLine = line + Count(source, at, open);
            // the text before the tag, its whitespace controlled by the tag's left side
            string before = text.ToString();
            if (left == '-') before = before.TrimEnd();
            else if (left != '+' && kind != '{') before = LStrip(before, lineStarting);
            text.Clear();
            if (before.Length > 0) pieces.Add(new TemplatePiece(TemplatePieceKind.Text, before, [], line));
            line = tagLine;
            int end; // just past the tag
            char right;
            if (kind == '#')
            {
                int close = source.IndexOf("#}", inner, StringComparison.Ordinal);
                if (close < 0) throw Error(tagLine, "a comment '{#' is never closed with '#}'");
                right = close > inner && source[close - 1] is '-' or '+' ? source[close - 1] : ' ';
                end = close + 2;
            }
            else
            {
                var tokens = new List<TemplateToken>();
                string closer = kind == '{' ? "}}" : "%}";
                int p = Tokenize(source, inner, closer, tokens, ref line, plus: kind != '{');
                // p is at the closer, or at the '-'/'+' before it
                right = source[p] is '-' or '+' ? source[p] : ' ';
                end = p + (right == ' ' ? 0 : 1) + 2;
                if (kind == '%' && tokens.Count > 0 && tokens[0] is { Kind: TemplateTokenKind.Name, Text: "raw" })
                {
                    // {% raw %}…{% endraw %}: kept as it stands (no newline dropped after "{% raw %}", as jinja2's lexer drops none)
                    bool stripAfter = right == '-';
                    int close = FindEndRaw(source, end, out int after, out bool stripBefore, out right, out bool endrawPlus);
                    if (close < 0) throw Error(tagLine, "'{% raw %}' is never closed with '{% endraw %}'");
                    string raw = source[end..close];
                    if (stripAfter) raw = raw.TrimStart();
                    if (stripBefore) raw = raw.TrimEnd();
                    else if (!endrawPlus) raw = LStrip(raw, lineStarting: false); // lstrip_blocks before "{% endraw %}" too
                    if (raw.Length > 0) pieces.Add(new TemplatePiece(TemplatePieceKind.Text, raw, [], line));
                    line += Count(source, end, after);
                    end = after;
                }
                else pieces.Add(new TemplatePiece(kind == '{' ? TemplatePieceKind.Expression : TemplatePieceKind.Statement, "", tokens, tagLine));
            }
            line = tagLine + Count(source, open, end);
            at = end;
            lineStarting = false;
            // trim_blocks: the newline right after a statement or comment tag is dropped (not after an expression's)
            if (kind != '{' && right == ' ' && at < source.Length && source[at] == '\n')
            {
                at++;
                line++;
                lineStarting = true;
            }
            if (right == '-')
            {
                // a '-' at the tag's end strips the whitespace after it; that ends a line when it holds a newline
                int skip = at;
                while (skip < source.Length && char.IsWhiteSpace(source[skip])) skip++;
                lineStarting = source.AsSpan(at, skip - at).Contains('\n');
                line += Count(source, at, skip);
                at = skip;
            }
        }
        string rest = text.ToString();
        if (rest.Length > 0) pieces.Add(new TemplatePiece(TemplatePieceKind.Text, rest, [], line));
        return pieces;
    }

    /// <summary>lstrip_blocks: the spaces and tabs between the text's last newline (or a line's start) and a tag, dropped.</summary>
    private static string LStrip(string text, bool lineStarting)
    {
        int from = text.LastIndexOf('\n') + 1;
        if (from == 0 && !lineStarting) return text;
        for (int i = from; i < text.Length; i++)
        {
            if (!char.IsWhiteSpace(text[i])) return text;
        }
        return text[..from];
    }

    /// <summary>Where "{% endraw %}" (with its whitespace controls) starts after <paramref name="from"/>, and just past it.</summary>
    private static int FindEndRaw(string source, int from, out int after, out bool stripBefore, out char right, out bool plus)
    {
        after = -1;
        stripBefore = false;
        right = ' ';
        plus = false;
        for (int i = source.IndexOf("{%", from, StringComparison.Ordinal); i >= 0; i = source.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            int p = i + 2;
            bool minus = p < source.Length && source[p] == '-';
            plus = p < source.Length && source[p] == '+';
            if (p < source.Length && source[p] is '-' or '+') p++;
            while (p < source.Length && char.IsWhiteSpace(source[p])) p++;
            if (string.CompareOrdinal(source, p, "endraw", 0, 6) != 0) continue;
            p += 6;
            while (p < source.Length && char.IsWhiteSpace(source[p])) p++;
            if (p < source.Length && source[p] is '-' or '+') right = source[p++];
            if (string.CompareOrdinal(source, p, "%}", 0, 2) != 0) continue;
            after = p + 2;
            stripBefore = minus;
            return i;
        }
        return -1;
    }

    private static int Count(string source, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to && i < source.Length; i++) if (source[i] == '\n') n++;
        return n;
    }

    internal static InvalidDataException Error(int line, string what) => new($"the chat template, line {line}: {what}.");

    private static readonly string[] s_operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    /// <summary>Reads a tag's tokens from <paramref name="at"/> up to its closer; returns where the closer (or its '-'/'+') starts.</summary>
    private static int Tokenize(string s, int at, string closer, List<TemplateToken> tokens, ref int line, bool plus)
    {
        int depth = 0; // brackets open: "}}" inside a dict literal is not the end
        while (true)
        {
            while (at < s.Length && char.IsWhiteSpace(s[at]))
            {
                if (s[at] == '\n') line++;
                at++;
            }
            if (at >= s.Length) throw Error(line, $"a tag is never closed with '{closer}'");
            if (depth == 0)
            {
                if (string.CompareOrdinal(s, at, closer, 0, 2) == 0) return at;
                // ("+}}" is no closer: jinja2 keeps whitespace with '+' at a statement's or comment's end only)
                if ((s[at] == '-' || (plus && s[at] == '+')) && string.CompareOrdinal(s, at + 1, closer, 0, 2) == 0) return at;
            }
            char c = s[at];
            if (c is '"' or '\'')
            {
                int start = at;
                var value = new StringBuilder();
                at++;
                while (true)
                {
                    if (at >= s.Length) throw Error(line, "a string is never closed");
                    char d = s[at];
                    if (d == c) { at++; break; }
                    if (d == '\\' && at + 1 < s.Length)
                    {
                        at++;
                        char e = s[at];
                        switch (e)
                        {
                            case 'n': value.Append('\n'); break;
                            case 't': value.Append('\t'); break;
                            case 'r': value.Append('\r'); break;
                            case >= '0' and <= '7':
                            {
                                // Python's octal escape: up to three digits
                                int code = 0, digits = 0;
                                while (digits < 3 && at < s.Length && s[at] is >= '0' and <= '7') { code = code * 8 + (s[at++] - '0'); digits++; }
                                value.Append((char)code);
                                at--;
                                break;
                            }
                            case 'b': value.Append('\b'); break;
                            case 'f': value.Append('\f'); break;
                            case 'v': value.Append('\v'); break;
                            case 'a': value.Append('\a'); break;
                            case '\\': case '\'': case '"': value.Append(e); break;
                            case '\n': line++; break; // a backslash before a newline joins the lines
                            case 'x' when at + 2 < s.Length && int.TryParse(s.AsSpan(at + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int x):
                                value.Append((char)x); at += 2; break;
                            case 'u' when at + 4 < s.Length && int.TryParse(s.AsSpan(at + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int u):
                                value.Append((char)u); at += 4; break;
                            case 'U' when at + 8 < s.Length && int.TryParse(s.AsSpan(at + 1, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v) && v <= 0x10FFFF:
                                value.Append(char.ConvertFromUtf32(v)); at += 8; break;
                            default: value.Append('\\').Append(e); break; // Python keeps an unknown escape as written
                        }
                        at++;
                        continue;
                    }
                    if (d == '\n') line++;
                    value.Append(d);
                    at++;
                }
                tokens.Add(new TemplateToken(TemplateTokenKind.String, s[start..at], value.ToString(), line));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                int start = at;
                while (at < s.Length && (char.IsAsciiDigit(s[at]) || s[at] == '_')) at++;
                bool real = false;
                // after a '.' a number is an index (items.0.1), never a fraction, as jinja2's lexer reads it
                bool afterDot = start > 0 && s[start - 1] == '.';
                if (!afterDot && at + 1 < s.Length && s[at] == '.' && char.IsAsciiDigit(s[at + 1]))
                {
                    real = true;
                    at++;
                    while (at < s.Length && (char.IsAsciiDigit(s[at]) || s[at] == '_')) at++;
                }
                if (!afterDot && at < s.Length && s[at] is 'e' or 'E')
                {
                    int e = at + 1;
                    if (e < s.Length && s[e] is '+' or '-') e++;
                    if (e < s.Length && char.IsAsciiDigit(s[e]))
                    {
                        real = true;
                        at = e;
                        while (at < s.Length && char.IsAsciiDigit(s[at])) at++;
                    }
                }
                string digits = s[start..at].Replace("_", "", StringComparison.Ordinal);
                // (boxed apart: a conditional of double and long would make every number a double)
                object number = real ? (object)double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture)
                    : long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long whole) ? (object)whole
                    : throw Error(line, $"the number {digits} is past what a template here counts (64-bit integers)");
                tokens.Add(new TemplateToken(TemplateTokenKind.Number, s[start..at], number, line));
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int start = at;
                while (at < s.Length && (char.IsLetterOrDigit(s[at]) || s[at] == '_')) at++;
                tokens.Add(new TemplateToken(TemplateTokenKind.Name, s[start..at], null, line));
                continue;
            }
            string? op = null;
            foreach (string o in s_operators)
            {
                if (string.CompareOrdinal(s, at, o, 0, o.Length) == 0)
                {
                    op = o;
                    break;
                }
            }
            if (op is null) throw Error(line, $"'{c}' is not part of a template expression");
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth = Math.Max(0, depth - 1);
            tokens.Add(new TemplateToken(TemplateTokenKind.Operator, op, null, line));
            at += op.Length;
        }
    }
}
