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

/// <summary>DSL0013: a misspelt option (<c>ReturnSequence</c>) becomes the one it is closest to (<c>ReturnSequences</c>).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RenameOptionCodeFix)), Shared]
public sealed class RenameOptionCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.UnknownOption.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue("Closest", out string? closest) || closest is null) continue;
            if (root?.FindNode(diagnostic.Location.SourceSpan) is not IdentifierNameSyntax name) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Change to '{closest}'",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(name, SyntaxFactory.IdentifierName(closest).WithTriviaFrom(name)))),
                    nameof(RenameOptionCodeFix) + closest),
                diagnostic);
        }
    }
}
