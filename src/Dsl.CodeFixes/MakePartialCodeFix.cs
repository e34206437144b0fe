using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Dsl.Generator.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.CodeFixes;

/// <summary>DSL0001 and DSL0011: adds the 'partial' modifier to the model class or to the type around it.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFix)), Shared]
public sealed class MakePartialCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.ClassNotPartial.Id, DiagnosticDescriptors.ContainingTypeNotPartial.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindToken(context.Span.Start).Parent?.AncestorsAndSelf().OfType<TypeDeclarationSyntax>().FirstOrDefault() is not { } type
            || type.Modifiers.Any(SyntaxKind.PartialKeyword)) return;
        context.RegisterCodeFix(
            CodeAction.Create($"Make '{type.Identifier.ValueText}' partial", ct => Task.FromResult(MakePartial(context.Document, root, type, ct)), nameof(MakePartialCodeFix)),
            context.Diagnostics);
    }

    private static Document MakePartial(Document document, SyntaxNode root, TypeDeclarationSyntax type, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // 'partial' goes last among the modifiers, right before the keyword (public static partial class).
        SyntaxToken partialKeyword = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
        TypeDeclarationSyntax updated;
        if (type.Modifiers.Count == 0)
        {
            updated = type.WithKeyword(type.Keyword.WithLeadingTrivia(SyntaxFactory.TriviaList()))
                .WithModifiers(SyntaxFactory.TokenList(partialKeyword.WithLeadingTrivia(type.Keyword.LeadingTrivia)));
        }
        else
        {
            updated = type.WithModifiers(type.Modifiers.Add(partialKeyword));
        }
        return document.WithSyntaxRoot(root.ReplaceNode(type, updated));
    }
}
