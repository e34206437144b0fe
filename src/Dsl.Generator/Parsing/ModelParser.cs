using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.Generator.Parsing;

/// <summary>Turns a class's layer attributes into a <see cref="ModelSpec"/>: all symbol reading happens here.</summary>
internal static class ModelParser
{
    public const string LayerAttributeBase = "Dsl.LayerAttribute";
    public const string EncoderDecoderAttribute = "Dsl.EncoderDecoderAttribute";

    /// <summary>
    /// Parses the model if <paramref name="providerKind"/> is the kind of the class's first layer
    /// attribute, so that exactly one provider yields each model; otherwise null.
    /// </summary>
    public static ModelSpec? ParseIfFirst(INamedTypeSymbol type, LayerKind providerKind, CancellationToken cancellationToken)
    {
        List<(AttributeData Data, LayerKind Kind)> layers = LayerAttributesInSourceOrder(type, cancellationToken);
        if (layers.Count == 0 || layers[0].Kind != providerKind) return null;
        return Parse(type, layers, cancellationToken);
    }

    /// <summary>Parses any class that carries at least one layer attribute, or an encoder–decoder composition; null for other types.</summary>
    public static ModelSpec? Parse(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (type.TypeKind != TypeKind.Class) return null;
        List<(AttributeData Data, LayerKind Kind)> layers = LayerAttributesInSourceOrder(type, cancellationToken);
        return layers.Count == 0 ? ParseComposition(type, cancellationToken) : Parse(type, layers, cancellationToken);
    }

    /// <summary>Parses an <c>[EncoderDecoder]</c> class that declares no layers (one that does is reported with its layers); else null.</summary>
    public static ModelSpec? ParseComposition(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        AttributeData? data = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == EncoderDecoderAttribute);
        if (data is null || LayerAttributesInSourceOrder(type, cancellationToken).Count > 0) return null;
        var syntax = data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        // the argument written for constructor parameter i: by its name where it has one (decoder: …, encoder: … reorders them)
        LocationInfo? Argument(int i)
        {
            SeparatedSyntaxList<AttributeArgumentSyntax>? written = syntax?.ArgumentList?.Arguments;
            string? name = data.AttributeConstructor?.Parameters.Length > i ? data.AttributeConstructor.Parameters[i].Name : null;
            AttributeArgumentSyntax? argument = written?.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == name && name is not null)
                ?? (written?.Count > i && written.Value[i].NameColon is null ? written.Value[i] : null);
            return LocationInfo.From(argument ?? (SyntaxNode?)syntax);
        }
        INamedTypeSymbol? TypeArgument(int i) => data.ConstructorArguments.Length > i ? data.ConstructorArguments[i].Value as INamedTypeSymbol : null;
        INamedTypeSymbol? encoder = TypeArgument(0), decoder = TypeArgument(1);
        bool share = data.NamedArguments.Any(a => a.Key == "ShareEmbedding" && a.Value.Value is true);
        AttributeArgumentSyntax? shareSyntax = syntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "ShareEmbedding");
        var composition = new CompositionSpec(encoder is null ? null : Key(encoder), encoder?.Name ?? "?", Argument(0),
            decoder is null ? null : Key(decoder), decoder?.Name ?? "?", Argument(1), share, LocationInfo.From(shareSyntax ?? (SyntaxNode?)syntax));
        return Describe(type, new List<LayerSpec>(), composition, cancellationToken);
    }

    /// <summary>The metadata name by which models refer to each other (<c>Ns.Outer+Model</c>).</summary>
    public static string Key(INamedTypeSymbol type)
    {
        string ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        var outer = new List<string>();
        for (INamedTypeSymbol? o = type.ContainingType; o is not null; o = o.ContainingType) outer.Insert(0, o.MetadataName);
        return (ns.Length > 0 ? ns + "." : "") + string.Concat(outer.Select(o => o + "+")) + type.MetadataName;
    }

    public static List<(AttributeData Data, LayerKind Kind)> LayerAttributesInSourceOrder(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var result = new List<(AttributeData Data, LayerKind Kind, string Path, int Start)>();
        foreach (AttributeData data in type.GetAttributes())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (LayerRegistry.ForAttribute(data.AttributeClass?.ToDisplayString()) is not { } definition) continue;
            SyntaxReference? reference = data.ApplicationSyntaxReference;
            result.Add((data, definition.Kind, reference?.SyntaxTree.FilePath ?? "", reference?.Span.Start ?? 0));
        }
        return result.OrderBy(r => r.Path, System.StringComparer.Ordinal).ThenBy(r => r.Start).Select(r => (r.Data, r.Kind)).ToList();
    }

    private static ModelSpec Parse(INamedTypeSymbol type, List<(AttributeData Data, LayerKind Kind)> layers, CancellationToken cancellationToken)
    {
        var specs = new List<LayerSpec>();
        for (int i = 0; i < layers.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            specs.Add(ParseLayer(layers[i].Data, layers[i].Kind, i, cancellationToken));
        }
        return Describe(type, specs, null, cancellationToken);
    }

    /// <summary>The class around a model: name, namespace, nesting, whether it can be extended.</summary>
    private static ModelSpec Describe(INamedTypeSymbol type, List<LayerSpec> specs, CompositionSpec? composition, CancellationToken cancellationToken)
    {
        var declarations = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
        // A model from a referenced assembly (an encoder in a library) was generated where it was compiled: here it is only
        // read, for the shapes of the models that refer to it, and counts as partial.
        bool fromMetadata = type.Locations.All(l => l.IsInMetadata);
        bool isPartial = fromMetadata || (declarations.Count > 0 && declarations.All(d => d.Modifiers.Any(SyntaxKind.PartialKeyword)));
        // a declaration without 'partial' is what DSL0001 (and its code fix) points at
        LocationInfo? nameLocation = LocationInfo.From((declarations.FirstOrDefault(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword)) ?? declarations.FirstOrDefault())?.Identifier.GetLocation());

        var containing = new List<ContainingTypeSpec>();
        Accessibility accessibility = type.DeclaredAccessibility;
        string? unsupported = null;
        // a file-local type is another type in each file: the generated partial (a file of its own) would declare a second class
        if (type.IsFileLocal) unsupported = "a file-local class ('file') cannot take the generated members, which are written in a file of their own; remove 'file'";
        else if (type.IsRecord) unsupported = "a record cannot carry layers (the generated members need a plain class); declare it 'partial class'";
        else if (type.IsGenericType) unsupported = "generic classes are not supported";
        else if (type.IsStatic) unsupported = "a static class cannot be instantiated";
        else if (type.IsAbstract) unsupported = "an abstract class cannot be instantiated";
        else if (declarations.Any(d => d.ParameterList is not null))
            unsupported = "a class with a primary constructor cannot take the generated constructor (seed); declare the class without parameters";
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            accessibility = ModelSpec.Within(accessibility, outer.DeclaredAccessibility);
            var outerDeclarations = outer.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
            bool outerPartial = fromMetadata || outerDeclarations.All(d => d.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (outer.IsGenericType) unsupported ??= $"it is nested in the generic type '{outer.Name}'";
            if (outer.IsFileLocal) unsupported ??= $"it is nested in the file-local type '{outer.Name}' ('file'), which the generated members, written in a file of their own, cannot extend; remove 'file'";
            string keyword = outer.IsRecord ? (outer.TypeKind == TypeKind.Struct ? "record struct" : "record")
                : outer.TypeKind == TypeKind.Struct ? "struct" : outer.TypeKind == TypeKind.Interface ? "interface" : "class";
            TypeDeclarationSyntax? shown = outerDeclarations.FirstOrDefault(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword)) ?? outerDeclarations.FirstOrDefault();
            containing.Insert(0, new ContainingTypeSpec(keyword, outer.Name, outerPartial, LocationInfo.From(shown?.Identifier.GetLocation())));
        }

        if (composition is null && type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == EncoderDecoderAttribute))
            unsupported ??= "it declares layers and [EncoderDecoder] at once; compose the encoder and decoder in a class of its own";
        string ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        // the generated code names the class, the types around it and its namespace as identifiers: a keyword (@event) would be read as the keyword
        if (new[] { type.Name }.Concat(containing.Select(c => c.Name)).Concat(ns.Split('.'))
            .FirstOrDefault(name => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None) is { } reserved)
            unsupported ??= $"the name '{reserved}' is a C# keyword (written @{reserved}); the generated code names it, so rename it";
        return new ModelSpec(ns, type.Name, Key(type) + ".g.cs", containing.ToEquatableArray(), isPartial, unsupported, nameLocation, specs.ToEquatableArray(), composition,
            ModelSpec.Within(accessibility, Accessibility.Public));
    }

    private static LayerSpec ParseLayer(AttributeData data, LayerKind kind, int position, CancellationToken cancellationToken)
    {
        var syntax = data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var arguments = new List<ArgumentSpec>();
        IMethodSymbol? ctor = data.AttributeConstructor;
        if (syntax?.ArgumentList is { } list)
        {
            int positional = 0;
            foreach (AttributeArgumentSyntax arg in list.Arguments)
            {
                string? name = arg.NameEquals?.Name.Identifier.ValueText ?? arg.NameColon?.Name.Identifier.ValueText;
                if (name is null && ctor is not null && positional < ctor.Parameters.Length) name = ctor.Parameters[positional].Name;
                // a constructor argument holds its place whether named (vocab: 20) or not: [Embedding(vocab: 20, 4)]
                if (arg.NameEquals is null) positional++;
                if (name is not null) arguments.Add(new ArgumentSpec(Canonical(name), LocationInfo.From(arg)));
            }
        }

        var values = new Dictionary<string, TypedConstant>();
        if (ctor is not null)
        {
            for (int i = 0; i < ctor.Parameters.Length && i < data.ConstructorArguments.Length; i++)
                values[Canonical(ctor.Parameters[i].Name)] = data.ConstructorArguments[i];
        }
        foreach (KeyValuePair<string, TypedConstant> named in data.NamedArguments) values[Canonical(named.Key)] = named.Value;

        // an argument C# refused (not a constant, of another type) or a constructor it could not choose (a size left out)
        bool csharpErrors = ctor is null || data.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error) || data.NamedArguments.Any(a => a.Value.Kind == TypedConstantKind.Error);
        var header = new LayerHeader(position, values.TryGetValue("name", out TypedConstant n) ? n.Value as string : null, LocationInfo.From(syntax), arguments.ToEquatableArray(), csharpErrors);
        return LayerRegistry.Of(kind).Parse(new AttributeReader(header, values));
    }

    /// <summary>Constructor parameters are camelCase and properties PascalCase; compare them in lower case.</summary>
    private static string Canonical(string name) => name.ToLowerInvariant();
}
