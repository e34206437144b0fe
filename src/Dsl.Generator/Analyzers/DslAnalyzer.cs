using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Dsl.Generator.Analyzers;

/// <summary>
/// Live IDE diagnostics for model declarations. It reads the same Parsing and Shapes stages as the
/// generator, so every rule is written once; it also finds calls that step a model that cannot step.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DslAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = DiagnosticDescriptors.All.ToImmutableArray();

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (start.Compilation.GetTypeByMetadataName(ModelParser.LayerAttributeBase) is null) return;
            Compilation compilation = start.Compilation;
            var models = new ConcurrentDictionary<INamedTypeSymbol, ShapedModel?>(SymbolEqualityComparer.Default);
            ShapedModel? Shape(INamedTypeSymbol type, System.Threading.CancellationToken ct) =>
                models.GetOrAdd(type, t => ModelParser.Parse(t, ct) is { } spec
                    // under the invariant culture, as the generator shapes: messages that quote a float read "0.5" in any locale
                    ? InvariantCulture.Run(() => ShapeInference.Infer(spec, key => compilation.GetTypeByMetadataName(key) is { } other ? ModelParser.Parse(other, ct) : null))
                    : null);

            start.RegisterSymbolAction(c =>
            {
                if (Shape((INamedTypeSymbol)c.Symbol, c.CancellationToken) is not { } model) return;
                foreach (DiagnosticInfo d in model.Diagnostics) c.ReportDiagnostic(d.ToDiagnostic(c.Compilation, c.Symbol.Locations.Select(l => l.SourceTree)));
            }, SymbolKind.NamedType);

            // A misspelt option (ReturnSequence = false) binds to nothing; C# then says CS0246 about a type. Say what it is.
            INamedTypeSymbol? layerBase = compilation.GetTypeByMetadataName(ModelParser.LayerAttributeBase);
            start.RegisterSyntaxNodeAction(c => UnknownOptions(c, layerBase!), Microsoft.CodeAnalysis.CSharp.SyntaxKind.Attribute);

            // DSL1002: anything that carries a state from call to call — CreateState (which returns one), Step, a new M.State,
            // and the Forward, Backward and Loss overloads that take one — on a model that cannot step; a method of the user's
            // own that is merely named Step or CreateState carries none
            start.RegisterOperationAction(c =>
            {
                INamedTypeSymbol? type = c.Operation switch
                {
                    IInvocationOperation { TargetMethod: { ContainingType: { } t } method }
                        when IsState(method.ReturnType, t) || method.Parameters.Any(p => IsState(p.Type, t)) => t,
                    IObjectCreationOperation { Type: INamedTypeSymbol { ContainingType: { } t } created } when IsState(created, t) => t,
                    _ => null,
                };
                if (type is null || Shape(type.OriginalDefinition, c.CancellationToken) is not { IsValid: true, CanStep: false } model) return;
                if (model.StepBlocker is not { } blocker) return;
                c.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StepOnBidirectionalModel, c.Operation.Syntax.GetLocation(), type.Name, blocker.Layer.Name, blocker.Why));
            }, OperationKind.Invocation, OperationKind.ObjectCreation);
        });
    }

    /// <summary>Whether <paramref name="type"/> is the <c>State</c> class nested in <paramref name="model"/>.</summary>
    private static bool IsState(ITypeSymbol type, INamedTypeSymbol model) =>
        type is INamedTypeSymbol { Name: "State" } state && SymbolEqualityComparer.Default.Equals(state.ContainingType, model);

    /// <summary>DSL0013 for each named argument of a layer attribute that names no option, with the closest option.</summary>
    private static void UnknownOptions(SyntaxNodeAnalysisContext c, INamedTypeSymbol layerBase)
    {
        var attribute = (Microsoft.CodeAnalysis.CSharp.Syntax.AttributeSyntax)c.Node;
        if (attribute.ArgumentList is not { } list) return;
        if (c.SemanticModel.GetTypeInfo(attribute, c.CancellationToken).Type is not INamedTypeSymbol type) return;
        bool isLayer = false;
        for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType) isLayer |= SymbolEqualityComparer.Default.Equals(t, layerBase);
        if (!isLayer) return;
        var options = new System.Collections.Generic.List<string>();
        for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType)
            options.AddRange(t.GetMembers().OfType<IPropertySymbol>().Where(p => p.SetMethod is { DeclaredAccessibility: Accessibility.Public }).Select(p => p.Name));
        // an option the attribute already sets is no suggestion: renaming to it would name it twice (CS0643)
        var named = new System.Collections.Generic.HashSet<string>(list.Arguments.Select(a => a.NameEquals?.Name.Identifier.ValueText).OfType<string>());
        // a constructor argument written as an option (Dim = 8 for dim: 8) is no misspelt option: renaming it to the nearest
        // option (Name) would have set another thing, of another type
        var constructorArguments = new System.Collections.Generic.HashSet<string>(type.InstanceConstructors.SelectMany(k => k.Parameters).Select(p => p.Name),
            System.StringComparer.OrdinalIgnoreCase);
        // two misspellings of one option get the suggestion once: renaming both (Fix All) would name it twice (CS0643)
        var suggested = new System.Collections.Generic.HashSet<string>();
        string attributeName = type.Name.EndsWith("Attribute", System.StringComparison.Ordinal) ? type.Name.Substring(0, type.Name.Length - "Attribute".Length) : type.Name;
        foreach (var argument in list.Arguments)
        {
            if (argument.NameEquals is not { } name || options.Contains(name.Name.Identifier.ValueText)) continue;
            string written = name.Name.Identifier.ValueText;
            string? parameter = constructorArguments.FirstOrDefault(p => string.Equals(p, written, System.StringComparison.OrdinalIgnoreCase));
            string? closest = parameter is null ? Closest(written, options.Where(o => !named.Contains(o))) : null;
            if (closest is not null && !suggested.Add(closest)) closest = null;
            string hint = parameter is not null ? $"; '{parameter}' is given to the constructor: write '{parameter}: …' among the arguments before the options"
                : closest is null ? $"; its options are {string.Join(", ", options.Distinct().OrderBy(o => o, System.StringComparer.Ordinal))}" : $"; did you mean '{closest}'?";
            c.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnknownOption, name.Name.GetLocation(),
                ImmutableDictionary<string, string?>.Empty.Add("Closest", closest), attributeName, written, hint));
        }
    }

    /// <summary>
    /// The option nearest <paramref name="written"/> (case-insensitive edit distance at most 3), or null, also when two
    /// different options are as near (the first declared was picked: a guess the fix would have written for the user).
    /// </summary>
    internal static string? Closest(string written, System.Collections.Generic.IEnumerable<string> options)
    {
        string? best = null;
        int bestDistance = 4;
        bool tied = false;
        foreach (string option in options)
        {
            int d = Distance(written.ToLowerInvariant(), option.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance, tied) = (option, d, false);
            else if (d == bestDistance && best is not null && option != best) tied = true;
        }
        return tied ? null : best;
    }

    private static int Distance(string a, string b)
    {
        int[] previous = Enumerable.Range(0, b.Length + 1).ToArray(), current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = System.Math.Min(System.Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
