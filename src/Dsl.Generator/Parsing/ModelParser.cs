using System;
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
    public const string RepeatAttribute = "Dsl.RepeatAttribute";
    public const string EndRepeatAttribute = "Dsl.EndRepeatAttribute";

    /// <summary>
    /// The most layers repeats may write (the generated code grows with them; a recurrent layer's stacked layers counted one by
    /// one): past it, DSL0014 and each layer once.
    /// </summary>
    public const int MaxLayers = 4096;

    /// <summary>
    /// Parses the model if <paramref name="providerKind"/> is the kind of the class's first layer
    /// attribute, so that exactly one provider yields each model; otherwise null.
    /// </summary>
    public static ModelSpec? ParseIfFirst(INamedTypeSymbol type, LayerKind providerKind, CancellationToken cancellationToken)
    {
        List<(AttributeData Data, LayerKind Kind)> layers = LayerAttributesInSourceOrder(type, cancellationToken);
        if (layers.Count == 0 || layers[0].Kind != providerKind) return null;
        return ParseLayers(type, cancellationToken);
    }

    /// <summary>Parses any class that carries at least one layer attribute, or an encoder–decoder composition; null for other types.</summary>
    public static ModelSpec? Parse(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (type.TypeKind != TypeKind.Class) return null;
        List<(AttributeData Data, LayerKind Kind)> layers = LayerAttributesInSourceOrder(type, cancellationToken);
        return layers.Count == 0 ? ParseComposition(type, cancellationToken) : ParseLayers(type, cancellationToken);
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

    public static List<(AttributeData Data, LayerKind Kind)> LayerAttributesInSourceOrder(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        InSourceOrder(type, cancellationToken).Where(a => a.Kind is not null).Select(a => (a.Data, a.Kind!.Value)).ToList();

    /// <summary>The layer attributes and the <c>[Repeat]</c> and <c>[EndRepeat]</c> between them (Kind null), in source order.</summary>
    private static List<(AttributeData Data, LayerKind? Kind)> InSourceOrder(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var result = new List<(AttributeData Data, LayerKind? Kind, string Path, int Start)>();
        foreach (AttributeData data in type.GetAttributes())
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? name = data.AttributeClass?.ToDisplayString();
            LayerKind? kind = LayerRegistry.ForAttribute(name)?.Kind;
            if (kind is null && name is not (RepeatAttribute or EndRepeatAttribute)) continue;
            SyntaxReference? reference = data.ApplicationSyntaxReference;
            result.Add((data, kind, reference?.SyntaxTree.FilePath ?? "", reference?.Span.Start ?? 0));
        }
        return result.OrderBy(r => r.Path, System.StringComparer.Ordinal).ThenBy(r => r.Start).Select(r => (r.Data, r.Kind)).ToList();
    }

    /// <summary>A model's layers: each attribute parsed once, written out as often as <c>[Repeat]</c> says (DSL0014 for what it cannot).</summary>
    private static ModelSpec ParseLayers(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        // each attribute parsed once, in blocks as [Repeat] … [EndRepeat] nest them; then written out as often as they repeat
        var problems = new List<DiagnosticInfo>();
        var root = new Block(null, 1);
        var open = new Stack<Block>();
        open.Push(root);
        foreach ((AttributeData data, LayerKind? kind) in InSourceOrder(type, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (kind is { } k) open.Peek().Items.Add(new Written(ParseLayer(data, k, 0, cancellationToken)));
            else if (data.AttributeClass?.ToDisplayString() == RepeatAttribute)
            {
                var block = new Block(data, data.ConstructorArguments.FirstOrDefault().Value as int? ?? 1);
                open.Peek().Items.Add(block);
                open.Push(block);
            }
            else if (open.Count > 1) open.Pop();
            else problems.Add(RepeatProblem(type, data, "[EndRepeat] ends no [Repeat]: write [Repeat(n)] before the layers it repeats, or remove it", cancellationToken));
        }
        while (open.Count > 1)
        {
            Block unclosed = open.Pop();
            problems.Add(RepeatProblem(type, unclosed.Repeat!, $"[Repeat({unclosed.Times})] has no [EndRepeat]: write it after the last layer to repeat (the layers stand as written once)", cancellationToken));
            unclosed.Times = 1;
            unclosed.Reported = true;
        }
        CheckRepeats(type, root, problems, cancellationToken);
        if (Count(root) > MaxLayers && Blocks(root).FirstOrDefault(b => b.Times > 1) is { } first)
        {
            // the outermost repeat whose own count takes the total past the limit (the first repeat of more than 1 otherwise)
            Block blamed = Blocks(root).FirstOrDefault(b => b.Times > 1 && Within(root, b)) ?? first;
            problems.Add(RepeatProblem(type, blamed.Repeat!, $"the repeats write more than the {MaxLayers} layers a model may have, a recurrent layer's stacked layers counted one by one (the layers stand as written once)", cancellationToken));
            foreach (Block block in Blocks(root)) block.Times = 1;
        }
        var specs = new List<LayerSpec>();
        WriteOut(root, specs);
        ModelSpec spec = Describe(type, specs, null, cancellationToken);
        return spec with { Repeats = Blocks(root).Any(b => b.Times > 1), RepeatProblems = problems.ToEquatableArray() };
    }

    /// <summary>Layers as a <c>[Repeat]</c> groups them: <see cref="Written"/> layers and nested blocks, copied <see cref="Times"/> times.</summary>
    private sealed class Block
    {
        public Block(AttributeData? repeat, int times)
        {
            Repeat = repeat;
            Times = times;
        }

        public AttributeData? Repeat { get; }
        public int Times { get; set; }
        /// <summary>Whether a DSL0014 already names this block (an unclosed one): its other checks would only repeat it.</summary>
        public bool Reported { get; set; }
        public List<object> Items { get; } = new();
    }

    /// <summary>One layer attribute, parsed once, and how many copies of it are written out so far.</summary>
    private sealed class Written
    {
        public Written(LayerSpec spec) => Spec = spec;

        public LayerSpec Spec { get; }
        public int Copies { get; set; }
    }

    private static IEnumerable<Block> Blocks(Block block) =>
        new[] { block }.Concat(block.Items.OfType<Block>().SelectMany(Blocks)).Where(b => b.Repeat is not null);

    /// <summary>The layers a block writes out, counted up to <see cref="MaxLayers"/> + 1 (nested repeats could pass a long's range).</summary>
    private static long Count(Block block)
    {
        long layers = 0;
        foreach (object item in block.Items) layers = Math.Min(MaxLayers + 1L, layers + (item is Block inner ? Count(inner) : ((Written)item).Spec.WrittenLayers));
        return Math.Min(MaxLayers + 1L, block.Times * layers);
    }

    /// <summary>Whether the model's layers stay within <see cref="MaxLayers"/> when <paramref name="block"/> is written once.</summary>
    private static bool Within(Block root, Block block)
    {
        int times = block.Times;
        block.Times = 1;
        bool within = Count(root) <= MaxLayers;
        block.Times = times;
        return within;
    }

    /// <summary>A repeat below 1, or of no layer, is DSL0014; its layers (if any) then stand as written once.</summary>
    private static void CheckRepeats(INamedTypeSymbol type, Block block, List<DiagnosticInfo> problems, CancellationToken cancellationToken)
    {
        foreach (Block inner in block.Items.OfType<Block>())
        {
            if (!inner.Reported && CountLayers(inner) == 0)
            {
                problems.Add(RepeatProblem(type, inner.Repeat!, $"[Repeat({inner.Times})] repeats no layer: write the layers to repeat between it and [EndRepeat]", cancellationToken));
                inner.Times = 1;
            }
            else if (inner.Times < 1)
            {
                problems.Add(RepeatProblem(type, inner.Repeat!, $"[Repeat({inner.Times})] must write its layers 1 or more times (the layers stand as written once)", cancellationToken));
                inner.Times = 1;
            }
            CheckRepeats(type, inner, problems, cancellationToken);
        }
    }

    private static int CountLayers(Block block) => block.Items.Sum(i => i is Block inner ? CountLayers(inner) : 1);

    /// <summary>
    /// The layers in order, each block's as often as it repeats, every copy at its own position; a later copy of an explicitly
    /// named layer is named <c>name_1</c>, <c>name_2</c>, … (default names count on by kind, as written-out layers do).
    /// </summary>
    private static void WriteOut(Block block, List<LayerSpec> specs)
    {
        for (int copy = 0; copy < block.Times; copy++)
        {
            foreach (object item in block.Items)
            {
                if (item is Block inner)
                {
                    WriteOut(inner, specs);
                    continue;
                }
                var written = (Written)item;
                LayerHeader header = written.Spec.Header;
                string? name = header.ExplicitName is { } n && written.Copies > 0 ? n + "_" + written.Copies : header.ExplicitName;
                written.Copies++;
                specs.Add(written.Spec with { Header = header with { Position = specs.Count, ExplicitName = name } });
            }
        }
    }

    private static DiagnosticInfo RepeatProblem(INamedTypeSymbol type, AttributeData data, string why, CancellationToken cancellationToken) =>
        DiagnosticInfo.Create(DiagnosticDescriptors.InvalidRepeat, LocationInfo.From(data.ApplicationSyntaxReference?.GetSyntax(cancellationToken)), type.Name, why);

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
