using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl.Text;

/// <summary>
/// Reads a template's pieces (<see cref="TemplateLexer"/>) into nodes: jinja2's statements (if, for with its filter and else,
/// set and set blocks, namespaces' attributes, macros, break and continue, transformers' generation block) and its
/// expressions with jinja2's precedence (filters and tests bind tighter than arithmetic: <c>'a' + x | trim</c> trims x).
/// </summary>
internal sealed class TemplateParser
{
    private readonly List<TemplatePiece> _pieces;
    private int _piece;
    private List<TemplateToken> _tokens = [];
    private int _at;

    private TemplateParser(List<TemplatePiece> pieces) => _pieces = pieces;

    public static List<TemplateNode> Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Split(source));
        return parser.Body(out _);
    }

    /// <summary>Nodes up to a statement that ends a block (endif, else, …), whose name is given (null at the end).</summary>
    private List<TemplateNode> Body(out string? end, params string[] enders)
    {
        var nodes = new List<TemplateNode>();
        while (_piece < _pieces.Count)
        {
            TemplatePiece piece = _pieces[_piece++];
            switch (piece.Kind)
            {
                case TemplatePieceKind.Text:
                    nodes.Add(new TextNode(piece.Text));
                    break;
                case TemplatePieceKind.Expression:
                    Begin(piece);
                    nodes.Add(new OutputNode(Expression(), piece.Line));
                    Finish();
                    break;
                default:
                    Begin(piece);
                    string keyword = Name();
                    if (Array.IndexOf(enders, keyword) >= 0)
                    {
                        end = keyword;
                        return nodes;
                    }
                    if (keyword is "elif" or "else" || keyword.StartsWith("end", StringComparison.Ordinal))
                        throw Error($"'{{% {keyword} %}}' closes nothing{(enders.Length > 0 ? $" (expected '{{% {string.Join(" %}' or '{% ", enders)} %}}')" : "")}", piece.Line);
                    nodes.Add(Statement(keyword, piece.Line));
                    break;
            }
        }
        end = null;
        return nodes;
    }

    private TemplateNode Statement(string keyword, int line)
    {
        switch (keyword)
        {
            case "if":
            {
                var branches = new List<(TemplateExpression, List<TemplateNode>)>();
                TemplateExpression test = Expression();
                Finish();
                while (true)
                {
                    List<TemplateNode> body = Body(out string? end, "elif", "else", "endif");
                    branches.Add((test, body));
                    if (end == "elif")
                    {
                        test = Expression();
                        Finish();
                        continue;
                    }
                    return new IfNode(branches, Otherwise(end, "if", "endif", line));
                }
            }
            case "for":
            {
                bool parenthesised = Accept("(");
                var targets = new List<string> { Name() };
                while (Accept(",")) targets.Add(Name());
                if (parenthesised) Expect(")");
                Expect("in");
                TemplateExpression items = Expression(withCondition: false);
                TemplateExpression? filter = AcceptName("if") ? Expression(withCondition: false) : null;
                AcceptName("recursive");
                Finish();
                List<TemplateNode> body = Body(out string? end, "else", "endfor");
                return new ForNode(targets, items, filter, body, Otherwise(end, "for", "endfor", line), line);
            }
            case "set":
            {
                string name = Name();
                if (Accept("."))
                {
                    string attribute = Name();
                    Expect("=");
                    TemplateExpression value = Expression();
                    Finish();
                    return new SetAttributeNode(name, attribute, value, line);
                }
                var names = new List<string> { name };
                while (Accept(",")) names.Add(Name());
                if (Accept("="))
                {
                    // "set a, b = 1, 2": a tuple without its parentheses
                    TemplateExpression value = Expression();
                    if (PeekOperator(","))
                    {
                        var items = new List<TemplateExpression> { value };
                        while (Accept(",") && _at < _tokens.Count) items.Add(Expression());
                        value = new ListExpression(items, tuple: true);
                    }
                    Finish();
                    return new SetNode(names, value, null, null, line);
                }
                // {% set x %}…{% endset %}: the block's text, through filters where "| f" follows the name
                var text = new BlockTextExpression();
                TemplateExpression filtered = Filters(text);
                List<TemplateNode> body = ClosedBody("set", "endset", line);
                return new SetNode(names, ReferenceEquals(filtered, text) ? null : filtered, body, text, line);
            }
            case "macro":
            {
                string name = Name();
                Expect("(");
                var parameters = new List<(string, TemplateExpression?)>();
                while (!Accept(")"))
                {
                    if (parameters.Count > 0) Expect(",");
                    if (Accept(")")) break;
                    string parameter = Name();
                    parameters.Add((parameter, Accept("=") ? Expression() : null));
                }
                return new MacroNode(name, parameters, ClosedBody("macro", "endmacro", line), line);
            }
            case "generation":
            {
                // transformers' AssistantTracker: marks the assistant's text; rendered as it stands
                return new BlockNode(ClosedBody("generation", "endgeneration", line));
            }
            case "break":
                Finish();
                return new LoopControlNode(true);
            case "continue":
                Finish();
                return new LoopControlNode(false);
            default:
                throw Error($"'{{% {keyword} %}}' is not a statement a chat template here may use (if, for, set, macro, break, continue, generation, raw)", line);
        }
    }

    /// <summary>The body of a block opened by the statement whose tag ends here, up to its <paramref name="ender"/>.</summary>
    private List<TemplateNode> ClosedBody(string statement, string ender, int line)
    {
        Finish();
        List<TemplateNode> body = Body(out string? end, ender);
        Otherwise(end, statement, ender, line);
        return body;
    }

    /// <summary>
    /// After a block's body, which stopped at <paramref name="end"/>: its else part where one follows (null where none does),
    /// then the block's <paramref name="ender"/>, refused where the template ends first.
    /// </summary>
    private List<TemplateNode>? Otherwise(string? end, string statement, string ender, int line)
    {
        List<TemplateNode>? otherwise = null;
        if (end == "else")
        {
            Finish();
            otherwise = Body(out end, ender);
        }
        if (end != ender) throw Error($"'{{% {statement} %}}' is never closed with '{{% {ender} %}}'", line);
        Finish();
        return otherwise;
    }

    // ---- expressions, lowest precedence first (jinja2's parser: condexpr, or, and, not, compare, math1, concat, math2, pow, unary)

    private TemplateExpression Expression(bool withCondition = true)
    {
        TemplateExpression value = Or();
        if (!withCondition) return value;
        while (AcceptName("if"))
        {
            TemplateExpression test = Or();
            TemplateExpression? otherwise = AcceptName("else") ? Expression() : null;
            value = new ConditionalExpression(test, value, otherwise);
        }
        return value;
    }

    private TemplateExpression Or()
    {
        TemplateExpression left = And();
        while (AcceptName("or")) left = new LogicalExpression(true, left, And());
        return left;
    }

    private TemplateExpression And()
    {
        TemplateExpression left = Not();
        while (AcceptName("and")) left = new LogicalExpression(false, left, Not());
        return left;
    }

    private TemplateExpression Not() => AcceptName("not") ? new NotExpression(Not()) : Compare();

    private static readonly string[] s_comparisons = ["==", "!=", "<", ">", "<=", ">="];

    private TemplateExpression Compare()
    {
        TemplateExpression left = Math1();
        var operations = new List<(string, TemplateExpression)>();
        while (true)
        {
            if (Peek() is { Kind: TemplateTokenKind.Operator } t && Array.IndexOf(s_comparisons, t.Text) >= 0)
            {
                _at++;
                operations.Add((t.Text, Math1()));
            }
            else if (AcceptName("in")) operations.Add(("in", Math1()));
            else if (PeekName("not") && PeekName("in", 1))
            {
                _at += 2;
                operations.Add(("not in", Math1()));
            }
            else break;
        }
        return operations.Count == 0 ? left : new CompareExpression(left, operations);
    }

    private TemplateExpression Math1()
    {
        TemplateExpression left = Concat();
        while (Peek() is { Kind: TemplateTokenKind.Operator, Text: "+" or "-" } t)
        {
            _at++;
            left = new BinaryExpression(t.Text, left, Concat(), t.Line);
        }
        return left;
    }

    private TemplateExpression Concat()
    {
        TemplateExpression left = Math2();
        while (Peek() is { Kind: TemplateTokenKind.Operator, Text: "~" } t)
        {
            _at++;
            left = new BinaryExpression("~", left, Math2(), t.Line);
        }
        return left;
    }

    private TemplateExpression Math2()
    {
        TemplateExpression left = Power();
        while (Peek() is { Kind: TemplateTokenKind.Operator, Text: "*" or "/" or "//" or "%" } t)
        {
            _at++;
            left = new BinaryExpression(t.Text, left, Power(), t.Line);
        }
        return left;
    }

    private TemplateExpression Power()
    {
        TemplateExpression left = Unary(withFilter: true);
        while (Peek() is { Kind: TemplateTokenKind.Operator, Text: "**" } t)
        {
            _at++;
            left = new BinaryExpression("**", left, Unary(withFilter: true), t.Line);
        }
        return left;
    }

    private TemplateExpression Unary(bool withFilter)
    {
        TemplateExpression value;
        if (Peek() is { Kind: TemplateTokenKind.Operator, Text: "-" or "+" } t)
        {
            _at++;
            value = new NegateExpression(t.Text == "-", Unary(withFilter: false), t.Line);
        }
        else value = Postfix(Primary());
        return withFilter ? Filters(value) : value;
    }

    private TemplateExpression Primary()
    {
        TemplateToken t = Next();
        switch (t.Kind)
        {
            case TemplateTokenKind.String:
            {
                // adjacent strings are one, as in Python
                string text = (string)t.Value!;
                while (Peek() is { Kind: TemplateTokenKind.String } more)
                {
                    _at++;
                    text += (string)more.Value!;
                }
                return new ConstantExpression(text);
            }
            case TemplateTokenKind.Number:
                return new ConstantExpression(t.Value);
            case TemplateTokenKind.Name:
                return t.Text switch
                {
                    "true" or "True" => new ConstantExpression(true),
                    "false" or "False" => new ConstantExpression(false),
                    "none" or "None" => new ConstantExpression(null),
                    _ => new NameExpression(t.Text, t.Line),
                };
            case TemplateTokenKind.Operator when t.Text == "(":
            {
                if (Accept(")")) return new ListExpression([], tuple: true);
                TemplateExpression first = Expression();
                if (!Accept(","))
                {
                    Expect(")");
                    return first;
                }
                var items = new List<TemplateExpression> { first };
                while (!Accept(")"))
                {
                    items.Add(Expression());
                    if (!Accept(",")) { Expect(")"); break; }
                }
                return new ListExpression(items, tuple: true);
            }
            case TemplateTokenKind.Operator when t.Text == "[":
            {
                var items = new List<TemplateExpression>();
                while (!Accept("]"))
                {
                    items.Add(Expression());
                    if (!Accept(",")) { Expect("]"); break; }
                }
                return new ListExpression(items, tuple: false);
            }
            case TemplateTokenKind.Operator when t.Text == "{":
            {
                var entries = new List<(TemplateExpression, TemplateExpression)>();
                while (!Accept("}"))
                {
                    TemplateExpression key = Expression();
                    Expect(":");
                    entries.Add((key, Expression()));
                    if (!Accept(",")) { Expect("}"); break; }
                }
                return new DictExpression(entries);
            }
            default:
                throw Error(t.Kind == TemplateTokenKind.End ? "an expression ends too soon" : $"'{t.Text}' where a value belongs", t.Line);
        }
    }

    private TemplateExpression Postfix(TemplateExpression value)
    {
        while (true)
        {
            if (Accept("."))
            {
                TemplateToken name = Next();
                if (name.Kind is not (TemplateTokenKind.Name or TemplateTokenKind.Number)) throw Error($"'{name.Text}' after '.' where an attribute's name belongs", name.Line);
                // "items.0" is an index, as jinja2 reads it
                value = name.Kind == TemplateTokenKind.Number ? new ItemExpression(value, new ConstantExpression(name.Value), name.Line) : new AttributeExpression(value, name.Text, name.Line);
            }
            else if (Peek() is { Kind: TemplateTokenKind.Operator, Text: "[" } open)
            {
                _at++;
                TemplateExpression?[] parts = [null, null, null];
                int part = 0;
                bool slice = false;
                while (!Accept("]"))
                {
                    if (Accept(":"))
                    {
                        slice = true;
                        if (++part > 2) throw Error("a slice has at most three parts", open.Line);
                        continue;
                    }
                    parts[part] = Expression();
                }
                value = slice ? new SliceExpression(value, parts[0], parts[1], parts[2], open.Line)
                    : new ItemExpression(value, parts[0] ?? throw Error("'[]' holds no index", open.Line), open.Line);
            }
            else if (Peek() is { Kind: TemplateTokenKind.Operator, Text: "(" } call)
            {
                _at++;
                var (arguments, named) = Arguments();
                value = new CallExpression(value, arguments, named, call.Line);
            }
            else return value;
        }
    }

    /// <summary>A call's arguments after its '(' up to its ')': positional, then named.</summary>
    private (List<TemplateExpression>, List<(string, TemplateExpression)>) Arguments()
    {
        var arguments = new List<TemplateExpression>();
        var named = new List<(string, TemplateExpression)>();
        while (!Accept(")"))
        {
            if (Peek() is { Kind: TemplateTokenKind.Name } name && PeekOperator("=", 1))
            {
                _at += 2;
                named.Add((name.Text, Expression()));
            }
            else arguments.Add(Expression());
            if (!Accept(",")) { Expect(")"); break; }
        }
        return (arguments, named);
    }

    private TemplateExpression Filters(TemplateExpression value)
    {
        while (true)
        {
            if (Accept("|"))
            {
                TemplateToken name = Next();
                if (name.Kind != TemplateTokenKind.Name) throw Error($"'{name.Text}' after '|' where a filter's name belongs", name.Line);
                string filter = name.Text;
                while (Accept(".")) filter += "." + Name();
                var (arguments, named) = Accept("(") ? Arguments() : ([], []);
                value = new FilterExpression(value, filter, arguments, named, name.Line);
            }
            else if (AcceptName("is"))
            {
                bool negated = AcceptName("not");
                TemplateToken name = Next();
                if (name.Kind != TemplateTokenKind.Name) throw Error($"'{name.Text}' after 'is' where a test's name belongs", name.Line);
                var arguments = new List<TemplateExpression>();
                var named = new List<(string, TemplateExpression)>();
                if (Accept("(")) (arguments, named) = Arguments();
                else if (Peek() is { Kind: TemplateTokenKind.Number or TemplateTokenKind.String } or { Kind: TemplateTokenKind.Operator, Text: "[" or "{" }
                         || (Peek() is { Kind: TemplateTokenKind.Name } n && n.Text is not ("and" or "or" or "else" or "if" or "in" or "not" or "is")))
                    arguments.Add(Postfix(Primary())); // "x is divisibleby 3", "x is sameas y", "x is in [1, 2]"
                value = new TestExpression(value, name.Text, arguments, negated, name.Line);
            }
            else return value;
        }
    }

    // ---- tokens

    private void Begin(TemplatePiece piece)
    {
        _tokens = piece.Tokens;
        _at = 0;
    }

    private void Finish()
    {
        if (_at < _tokens.Count) throw Error($"'{_tokens[_at].Text}' is left over at the tag's end", _tokens[_at].Line);
    }

    private TemplateToken Peek(int ahead = 0) =>
        _at + ahead < _tokens.Count ? _tokens[_at + ahead] : new TemplateToken(TemplateTokenKind.End, "the tag's end", null, _tokens.Count > 0 ? _tokens[^1].Line : Line());

    private TemplateToken Next()
    {
        TemplateToken t = Peek();
        _at++;
        return t;
    }

    private bool PeekName(string name, int ahead = 0) => Peek(ahead) is { Kind: TemplateTokenKind.Name } t && t.Text == name;

    private bool PeekOperator(string op, int ahead = 0) => Peek(ahead) is { Kind: TemplateTokenKind.Operator } t && t.Text == op;

    private bool Accept(string op)
    {
        if (!PeekOperator(op)) return false;
        _at++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (!PeekName(name)) return false;
        _at++;
        return true;
    }

    private void Expect(string what)
    {
        TemplateToken t = Next();
        if (t.Text != what || t.Kind == TemplateTokenKind.String) throw Error($"expected '{what}', got '{t.Text}'", t.Line);
    }

    private string Name()
    {
        TemplateToken t = Next();
        return t.Kind == TemplateTokenKind.Name ? t.Text : throw Error($"expected a name, got '{t.Text}'", t.Line);
    }

    private int Line() => _piece > 0 ? _pieces[_piece - 1].Line : 1;

    private System.IO.InvalidDataException Error(string what, int? line = null) => TemplateLexer.Error(line ?? Line(), what);
}
