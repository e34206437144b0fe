using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl.Text;

internal abstract class TemplateExpression
{
    public abstract object? Evaluate(TemplateContext context);
}

internal sealed class ConstantExpression(object? value) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => value;
}

internal sealed class NameExpression(string name, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => context.Lookup(name, line);
}

internal sealed class ListExpression(List<TemplateExpression> items, bool tuple) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        var values = items.Select(i => i.Evaluate(context)).ToList();
        return tuple ? new TemplateTuple(values) : values;
    }
}

internal sealed class DictExpression(List<(TemplateExpression Key, TemplateExpression Value)> entries) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in entries) dict[TemplateValues.Str(key.Evaluate(context), 0)] = value.Evaluate(context);
        return dict;
    }
}

internal sealed class AttributeExpression(TemplateExpression target, string name, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => TemplateValues.Attribute(target.Evaluate(context), name, line);
}

internal sealed class ItemExpression(TemplateExpression target, TemplateExpression key, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => TemplateValues.Item(target.Evaluate(context), key.Evaluate(context), line);
}

internal sealed class SliceExpression(TemplateExpression target, TemplateExpression? start, TemplateExpression? stop, TemplateExpression? step, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) =>
        TemplateValues.Slice(target.Evaluate(context), start?.Evaluate(context), stop?.Evaluate(context), step?.Evaluate(context), line);
}

internal sealed class CallExpression(TemplateExpression target, List<TemplateExpression> arguments, List<(string Name, TemplateExpression Value)> named, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        object? callee = target.Evaluate(context);
        if (callee is Undefined u) throw TemplateValues.Error(line, $"'{u.Name}' is undefined");
        if (callee is not TemplateFunction function) throw TemplateValues.Error(line, $"a {TemplateValues.TypeName(callee)} is not callable");
        var values = arguments.Select(a => a.Evaluate(context)).ToList();
        var names = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in named) names[name] = value.Evaluate(context);
        return function.Invoke(values, names, line);
    }
}

internal sealed class FilterExpression(TemplateExpression value, string name, List<TemplateExpression> arguments, List<(string Name, TemplateExpression Value)> named, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        var names = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, v) in named) names[key] = v.Evaluate(context);
        return TemplateFilters.Apply(name, value.Evaluate(context), arguments.Select(a => a.Evaluate(context)).ToList(), names, line);
    }
}

internal sealed class TestExpression(TemplateExpression value, string name, List<TemplateExpression> arguments, bool negated, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) =>
        TemplateFilters.Test(name, value.Evaluate(context), arguments.Select(a => a.Evaluate(context)).ToList(), line) != negated;
}

internal sealed class NotExpression(TemplateExpression value) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => !TemplateValues.Truthy(value.Evaluate(context));
}

internal sealed class NegateExpression(bool negate, TemplateExpression value, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        object? v = value.Evaluate(context);
        if (!negate) return TemplateValues.IsNumber(v) ? v : throw TemplateValues.Error(line, $"bad operand type for unary +: '{TemplateValues.TypeName(v)}'");
        return v switch
        {
            long l => l == long.MinValue ? throw TemplateValues.Error(line, "-(−2⁶³) is past what a template here counts (64-bit integers)") : (object)(-l),
            double d => -d,
            bool b => b ? -1L : 0L,
            _ => throw TemplateValues.Error(line, $"bad operand type for unary -: '{TemplateValues.TypeName(v)}'"),
        };
    }
}

/// <summary>"and" and "or" as Python's: the deciding operand itself, not a bool.</summary>
internal sealed class LogicalExpression(bool or, TemplateExpression left, TemplateExpression right) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        object? l = left.Evaluate(context);
        return TemplateValues.Truthy(l) == or ? l : right.Evaluate(context);
    }
}

internal sealed class ConditionalExpression(TemplateExpression test, TemplateExpression then, TemplateExpression? otherwise) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) =>
        TemplateValues.Truthy(test.Evaluate(context)) ? then.Evaluate(context) : otherwise is null ? new Undefined("else") : otherwise.Evaluate(context);
}

/// <summary>A chain of comparisons, as Python's: a &lt; b &lt; c is a &lt; b and b &lt; c.</summary>
internal sealed class CompareExpression(TemplateExpression first, List<(string Op, TemplateExpression Right)> operations) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context)
    {
        object? left = first.Evaluate(context);
        foreach (var (op, expression) in operations)
        {
            object? right = expression.Evaluate(context);
            bool holds = op switch
            {
                "==" => TemplateValues.Equal(left, right),
                "!=" => !TemplateValues.Equal(left, right),
                "in" => TemplateValues.Contains(right, left, 0),
                "not in" => !TemplateValues.Contains(right, left, 0),
                _ => TemplateValues.Order(left, right, op, 0),
            };
            if (!holds) return false;
            left = right;
        }
        return true;
    }
}

internal sealed class BinaryExpression(string op, TemplateExpression left, TemplateExpression right, int line) : TemplateExpression
{
    public override object? Evaluate(TemplateContext context) => TemplateValues.Arithmetic(op, left.Evaluate(context), right.Evaluate(context), line);
}
