using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Dsl.Generator.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.CodeFixes;

/// <summary>DSL0010: removes the 'Dropout = p' argument from a recurrent layer that has a single layer.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveDropoutCodeFix)), Shared]
public sealed class RemoveDropoutCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.SingleLayerDropout.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span) is not { } node || node.AncestorsAndSelf().OfType<AttributeArgumentSyntax>().FirstOrDefault() is not { } argument) return;
        if (argument.Parent is not AttributeArgumentListSyntax arguments) return;
        context.RegisterCodeFix(
            CodeAction.Create("Remove the dropout (it needs Layers > 1)",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(arguments, arguments.WithArguments(arguments.Arguments.Remove(argument))))),
                nameof(RemoveDropoutCodeFix)),
            context.Diagnostics);
    }
}
