using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using Dsl.Generator.Diagnostics;
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
                    ? ShapeInference.Infer(spec, key => compilation.GetTypeByMetadataName(key) is { } other ? ModelParser.Parse(other, ct) : null)
                    : null);

            start.RegisterSymbolAction(c =>
            {
                if (Shape((INamedTypeSymbol)c.Symbol, c.CancellationToken) is not { } model) return;
                foreach (DiagnosticInfo d in model.Diagnostics) c.ReportDiagnostic(d.ToDiagnostic(c.Compilation));
            }, SymbolKind.NamedType);

            start.RegisterOperationAction(c =>
            {
                var invocation = (IInvocationOperation)c.Operation;
                IMethodSymbol method = invocation.TargetMethod;
                if (method.Name is not ("Step" or "CreateState") || method.ContainingType is not { } type) return;
                if (Shape(type.OriginalDefinition, c.CancellationToken) is not { IsValid: true, CanStep: false } model) return;
                if (model.StepBlocker is not { } blocker) return;
                c.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StepOnBidirectionalModel, invocation.Syntax.GetLocation(), type.Name, blocker.Layer.Name, blocker.Why));
            }, OperationKind.Invocation);
        });
    }
}
