using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Dsl.Text;

/// <summary>What a template renders in: its scopes (a for loop's body gets one per iteration, as jinja2's), and the output.</summary>
internal sealed class TemplateContext
{
    private readonly List<Dictionary<string, object?>> _scopes;

    public TemplateContext(Dictionary<string, object?> globals) => _scopes = [globals];

    private TemplateContext(List<Dictionary<string, object?>> scopes) => _scopes = scopes;

    public StringBuilder Output { get; set; } = new();

    public object? Lookup(string name, int line)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
        {
            if (_scopes[i].TryGetValue(name, out object? value)) return value;
        }
        return new Undefined(name);
    }

    public void Assign(string name, object? value) => _scopes[^1][name] = value;

    public void Push(Dictionary<string, object?>? scope = null) => _scopes.Add(scope ?? new Dictionary<string, object?>(StringComparer.Ordinal));

    public void Pop() => _scopes.RemoveAt(_scopes.Count - 1);

    /// <summary>The scopes where a macro is defined, which its body sees (a loop's variable among them), not the caller's.</summary>
    public List<Dictionary<string, object?>> Capture() => [.. _scopes];

    /// <summary>A macro's body: the scopes of its definition and its own arguments.</summary>
    public static TemplateContext ForMacro(List<Dictionary<string, object?>> captured, Dictionary<string, object?> arguments)
    {
        var inner = new TemplateContext([.. captured]);
        inner.Push(arguments);
        return inner;
    }
}

/// <summary>A break or continue leaving a loop's body.</summary>
internal sealed class LoopControl(bool isBreak) : Exception
{
    public bool IsBreak { get; } = isBreak;
}

internal abstract class TemplateNode
{
    public abstract void Render(TemplateContext context);

    public static void RenderAll(List<TemplateNode> nodes, TemplateContext context)
    {
        foreach (TemplateNode node in nodes) node.Render(context);
    }
}

internal sealed class TextNode(string text) : TemplateNode
{
    public override void Render(TemplateContext context) => context.Output.Append(text);
}

internal sealed class OutputNode(TemplateExpression value, int line) : TemplateNode
{
    public override void Render(TemplateContext context) => context.Output.Append(TemplateValues.Str(value.Evaluate(context), line));
}

internal sealed class BlockNode(List<TemplateNode> body) : TemplateNode
{
    public override void Render(TemplateContext context) => RenderAll(body, context);
}

internal sealed class IfNode(List<(TemplateExpression Test, List<TemplateNode> Body)> branches, List<TemplateNode>? otherwise) : TemplateNode
{
    public override void Render(TemplateContext context)
    {
        foreach (var (test, body) in branches)
        {
            if (TemplateValues.Truthy(test.Evaluate(context)))
            {
                RenderAll(body, context);
                return;
            }
        }
        if (otherwise is not null) RenderAll(otherwise, context);
    }
}

internal sealed class ForNode(List<string> targets, TemplateExpression items, TemplateExpression? filter, List<TemplateNode> body, List<TemplateNode>? otherwise, int line) : TemplateNode
{
    public override void Render(TemplateContext context)
    {
        List<object?> all = TemplateValues.Iterate(items.Evaluate(context), line);
        if (filter is not null)
        {
            // "for x in items if test": the test sees each item, and the loop counts only those it keeps
            var kept = new List<object?>();
            foreach (object? item in all)
            {
                context.Push();
                Bind(context, item);
                if (TemplateValues.Truthy(filter.Evaluate(context))) kept.Add(item);
                context.Pop();
            }
            all = kept;
        }
        if (all.Count == 0)
        {
            if (otherwise is not null) RenderAll(otherwise, context);
            return;
        }
        for (int i = 0; i < all.Count; i++)
        {
            context.Push();
            Bind(context, all[i]);
            context.Assign("loop", new LoopInfo(all, i));
            try
            {
                RenderAll(body, context);
            }
            catch (LoopControl control)
            {
                if (control.IsBreak)
                {
                    context.Pop();
                    break;
                }
            }
            context.Pop();
        }
    }

    private void Bind(TemplateContext context, object? item)
    {
        if (targets.Count == 1)
        {
            context.Assign(targets[0], item);
            return;
        }
        List<object?> parts = TemplateValues.Iterate(item, line);
        if (parts.Count != targets.Count)
            throw TemplateValues.Error(line, $"a loop unpacks {targets.Count} names ({string.Join(", ", targets)}) from an item of {parts.Count} values");
        for (int i = 0; i < parts.Count; i++) context.Assign(targets[i], parts[i]);
    }
}

internal sealed class LoopControlNode(bool isBreak) : TemplateNode
{
    public override void Render(TemplateContext context) => throw new LoopControl(isBreak);
}

/// <summary>A set block's text, for the filters after its name (<c>{% set s | upper %}</c>).</summary>
internal sealed class BlockTextExpression : TemplateExpression
{
    public string Text { get; set; } = "";

    public override object? Evaluate(TemplateContext context) => Text;
}

internal sealed class SetNode(List<string> names, TemplateExpression? value, List<TemplateNode>? body, BlockTextExpression? text, int line) : TemplateNode
{
    public override void Render(TemplateContext context)
    {
        object? result;
        if (body is not null)
        {
            // the block renders in a scope of its own (what it sets stays inside), then its filters run
            StringBuilder outer = context.Output;
            context.Output = new StringBuilder();
            context.Push();
            try
            {
                RenderAll(body, context);
            }
            finally
            {
                context.Pop();
            }
            result = context.Output.ToString();
            context.Output = outer;
            if (value is not null)
            {
                text!.Text = (string)result;
                result = value.Evaluate(context);
            }
        }
        else result = value!.Evaluate(context);
        if (names.Count == 1)
        {
            context.Assign(names[0], result);
            return;
        }
        List<object?> parts = TemplateValues.Iterate(result, line);
        if (parts.Count != names.Count) throw TemplateValues.Error(line, $"'set' unpacks {names.Count} names from {parts.Count} values");
        for (int i = 0; i < parts.Count; i++) context.Assign(names[i], parts[i]);
    }
}

internal sealed class SetAttributeNode(string name, string attribute, TemplateExpression value, int line) : TemplateNode
{
    public override void Render(TemplateContext context)
    {
        if (context.Lookup(name, line) is not Namespace target)
            throw TemplateValues.Error(line, $"'set {name}.{attribute}' needs {name} to be a namespace() (jinja2 sets attributes of nothing else)");
        target[attribute] = value.Evaluate(context);
    }
}

internal sealed class MacroNode(string name, List<(string Name, TemplateExpression? Default)> parameters, List<TemplateNode> body, int line) : TemplateNode
{
    public override void Render(TemplateContext context)
    {
        List<Dictionary<string, object?>> captured = context.Capture();
        context.Assign(name, new TemplateFunction((arguments, named) =>
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (int i = 0; i < parameters.Count; i++)
            {
                var (parameter, fallback) = parameters[i];
                values[parameter] = i < arguments.Count ? arguments[i]
                    : named.TryGetValue(parameter, out object? given) ? given
                    : fallback is not null ? fallback.Evaluate(context) : new Undefined(parameter);
            }
            // arguments past the parameters: varargs and kwargs, as jinja2 gives a macro that reads them
            values["varargs"] = arguments.Skip(parameters.Count).ToList();
            values["kwargs"] = named.Where(p => !parameters.Any(q => q.Name == p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            // a macro calling itself without end is refused, not left to overflow the stack (jinja2 raises RecursionError)
            if (s_depth >= MaxDepth) throw TemplateValues.Error(line, $"macros call one another more than {MaxDepth} deep (a recursion that does not end?)");
            TemplateContext inner = TemplateContext.ForMacro(captured, values);
            s_depth++;
            try
            {
                RenderAll(body, inner);
            }
            finally
            {
                s_depth--;
            }
            return inner.Output.ToString();
        }));
    }

    private const int MaxDepth = 100;

    [ThreadStatic] private static int s_depth;
}

/// <summary>jinja2's <c>loop</c>: index, index0, revindex, revindex0, first, last, length, previtem, nextitem, cycle.</summary>
internal sealed class LoopInfo(List<object?> items, int index)
{
    public object? Get(string attribute) => attribute switch
    {
        "index" => (long)index + 1,
        "index0" => (long)index,
        "revindex" => (long)(items.Count - index),
        "revindex0" => (long)(items.Count - index - 1),
        "first" => index == 0,
        "last" => index == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => index > 0 ? items[index - 1] : new Undefined("previtem"),
        "nextitem" => index + 1 < items.Count ? items[index + 1] : new Undefined("nextitem"),
        "cycle" => new TemplateFunction((arguments, _) => arguments.Count == 0 ? null : arguments[index % arguments.Count]),
        _ => new Undefined(attribute),
    };
}
