using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Parsing;

/// <summary>
/// The arguments of one layer attribute, by lower-case name (constructor parameters are camelCase, properties
/// PascalCase), for a layer kind's <c>Parse</c>. Lives only inside the parser's transform: nothing of it is kept.
/// </summary>
internal sealed class AttributeReader
{
    private readonly Dictionary<string, TypedConstant> _values;

    public AttributeReader(LayerHeader header, Dictionary<string, TypedConstant> values)
    {
        Header = header;
        _values = values;
    }

    /// <summary>Position, explicit name and where the attribute and each argument were written.</summary>
    public LayerHeader Header { get; }

    public int Int(string key, int fallback) => _values.TryGetValue(key, out TypedConstant c) && c.Value is int v ? v : fallback;

    /// <summary>Whether the attribute sets <paramref name="key"/> (a default that a user also writes out counts as set).</summary>
    public bool Has(string key) => _values.ContainsKey(key);

    public float Float(string key, float fallback) => _values.TryGetValue(key, out TypedConstant c) && c.Value is float v ? v : fallback;

    /// <summary>A <c>float[]</c> argument's values, or null when not given.</summary>
    public float[]? Floats(string key) =>
        _values.TryGetValue(key, out TypedConstant c) && c.Kind == TypedConstantKind.Array && !c.IsNull
            ? System.Linq.Enumerable.ToArray(System.Linq.Enumerable.Select(c.Values, v => v.Value is float f ? f : float.NaN))
            : null;

    public bool Bool(string key, bool fallback) => _values.TryGetValue(key, out TypedConstant c) && c.Value is bool v ? v : fallback;

    public ActivationKind Activation(ActivationKind fallback) => (ActivationKind)Int("activation", (int)fallback);

    public InitKind Init(string key) => (InitKind)Int(key, (int)InitKind.Default);

    /// <summary>A <c>typeof(…)</c> argument: the named model's key and the name to show, or null when not given.</summary>
    public (string Key, string Display)? Type(string key) =>
        !_values.TryGetValue(key, out TypedConstant c) || c.Value is not ITypeSymbol t ? null
        : t is INamedTypeSymbol named ? (ModelParser.Key(named), named.Name)
        // an array, a pointer or a type parameter is never a model: a key no type has, so that it is reported as not one
        : ("?" + t.ToDisplayString(), t.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat));
}
