using System.Linq;
using Dsl.Generator.Emitting;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.Generator;

/// <summary>
/// The Dsl source generator: parse → shape → lower → emit, one incremental provider per layer
/// attribute. Each model is produced by the provider of its first layer attribute, so every
/// model flows through exactly one chain and is cached on its own.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class DslGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline's steps, for caching tests.</summary>
    public static class Steps
    {
        public const string Parse = "Dsl.Parse";
        public const string Shape = "Dsl.Shape";
        public const string Lower = "Dsl.Lower";
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        foreach (var (metadataName, kind) in ModelParser.LayerAttributes)
        {
            IncrementalValuesProvider<ModelSpec> models = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    metadataName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    (ctx, ct) => ModelParser.ParseIfFirst((INamedTypeSymbol)ctx.TargetSymbol, kind, ct))
                .Where(static m => m is not null)
                .Select(static (m, _) => m!)
                .WithTrackingName(Steps.Parse + "." + kind);

            IncrementalValuesProvider<ShapedModel> shaped = models
                .Select(static (m, _) => ShapeInference.Infer(m))
                .WithTrackingName(Steps.Shape + "." + kind);

            IncrementalValuesProvider<(ShapedModel Model, ModelPlan? Plan)> lowered = shaped
                .Select(static (m, _) => (m, m.IsValid ? Lowerer.Lower(m) : null))
                .WithTrackingName(Steps.Lower + "." + kind);

            // Diagnostics are the analyzer's (Analyzers/DslAnalyzer.cs, reading the same Shapes): the generator only
            // writes code, throwing bodies for an invalid model, nothing for a class it cannot extend.
            context.RegisterSourceOutput(lowered, static (spc, item) =>
            {
                string? source = ModelEmitter.Emit(item.Model, item.Plan);
                if (source is not null) spc.AddSource(item.Model.Spec.HintName, source);
            });
        }
    }
}
