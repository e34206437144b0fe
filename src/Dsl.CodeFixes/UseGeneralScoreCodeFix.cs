using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Dsl.Generator.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.CodeFixes;

/// <summary>DSL1007: a Dot score between different widths becomes Luong's general score, x·W·k, which maps between them.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UseGeneralScoreCodeFix)), Shared]
public sealed class UseGeneralScoreCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.AttentionWidthsDiffer.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span) is not { } node || node.AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault() is not { } attribute) return;
        // qualified in full, then reduced to what the file's usings allow (AttentionScore.General under 'using Dsl;')
        ExpressionSyntax general = SyntaxFactory.ParseExpression("global::Dsl.AttentionScore.General").WithAdditionalAnnotations(Microsoft.CodeAnalysis.Simplification.Simplifier.Annotation);
        // DSL1007 is reported on an explicit Score = Dot (the default, ScaledDot, over an encoder is projected and maps widths itself)
        if (attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Score") is not { } score) return;
        AttributeSyntax fixedAttribute = attribute.ReplaceNode(score, score.WithExpression(general.WithTriviaFrom(score.Expression)));
        context.RegisterCodeFix(
            CodeAction.Create("Use the General score (x·W·k maps between the widths)",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(attribute, fixedAttribute.WithAdditionalAnnotations(Microsoft.CodeAnalysis.Formatting.Formatter.Annotation)))),
                nameof(UseGeneralScoreCodeFix)),
            context.Diagnostics);
    }
}
