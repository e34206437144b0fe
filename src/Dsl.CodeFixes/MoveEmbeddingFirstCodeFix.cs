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

/// <summary>DSL1003: moves an [Embedding] that follows another layer to the front of the layer stack.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MoveEmbeddingFirstCodeFix)), Shared]
public sealed class MoveEmbeddingFirstCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.EmbeddingAfterFloatLayer.Id);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span) is not { } node || node.AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault() is not { } attribute) return;
        if (attribute.Parent is not AttributeListSyntax list || list.Parent is not ClassDeclarationSyntax type) return;
        // layers on several partial declarations: the order runs across them, and reordering this one may not put the
        // embedding first (the fix had been offered and changed nothing)
        SemanticModel? semantics = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (semantics?.GetDeclaredSymbol(type, context.CancellationToken) is not { DeclaringSyntaxReferences.Length: 1 } symbol) return;
        // another input layer before it ([Input], a second [Embedding]; the parser's layers say which are): moving this one
        // first leaves that one misplaced (DSL0004, DSL1003); the stack needs a layer removed, not reordered
        if (Dsl.Generator.Parsing.ModelParser.Parse(symbol, context.CancellationToken) is not { } model) return;
        if (model.Layers.TakeWhile(l => l.Location?.TextSpan != attribute.Span).Any(l => l.IsInput)) return;
        // a list under a directive (#if …): moving it out would leave the directive's other half, or put another layer
        // under it; the preprocessor's meaning is the user's to rearrange
        if (type.AttributeLists.Skip(1).Any(l => l.GetLeadingTrivia().Any(t => t.IsDirective))) return;
        context.RegisterCodeFix(
            CodeAction.Create("Move the embedding to the front", _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(type, MoveFirst(type, list, attribute)))),
                nameof(MoveEmbeddingFirstCodeFix)),
            context.Diagnostics);
    }

    private static bool EndsLine(SyntaxTriviaList trivia) => trivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia));

    private static ClassDeclarationSyntax MoveFirst(ClassDeclarationSyntax type, AttributeListSyntax list, AttributeSyntax attribute)
    {
        int index = type.AttributeLists.IndexOf(list);
        SyntaxList<AttributeListSyntax> lists = list.Attributes.Count == 1
            ? type.AttributeLists.RemoveAt(index)
            : type.AttributeLists.Replace(list, list.WithAttributes(list.Attributes.Remove(attribute)));
        if (index == 0 && list.Attributes.Count == 1) return type; // already first
        // The moved attribute gets its own list, laid out like the list it goes before. What precedes the class (comments,
        // documentation, #if) moves with the front, once: the list that was first keeps only its line's indentation. A
        // comment on the lines above the embedding's own list goes with it (it had been dropped).
        SyntaxTriviaList leading = type.AttributeLists[0].GetLeadingTrivia();
        SyntaxTriviaList own = list.Attributes.Count == 1 ? list.GetLeadingTrivia() : default;
        if (own.Any(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia)))
            leading = leading.AddRange(own.SkipWhile(t => t.IsKind(SyntaxKind.WhitespaceTrivia)));
        // What follows it on its line: laid out like the first list (a line of its own, or beside the next one). On a line of
        // its own, the comment after the embedding's own list goes with it; the first list keeps its own (it had been copied
        // onto the moved one, and the moved list's dropped).
        SyntaxTriviaList firstTrailing = type.AttributeLists[0].GetTrailingTrivia(), ownTrailing = list.GetTrailingTrivia();
        bool removed = list.Attributes.Count == 1;
        SyntaxTriviaList trailing = !EndsLine(firstTrailing) ? firstTrailing
            : removed && EndsLine(ownTrailing) ? ownTrailing
            : SyntaxFactory.TriviaList(firstTrailing.First(t => t.IsKind(SyntaxKind.EndOfLineTrivia)));
        // (brackets without elastic trivia: the code action's clean-up would reformat around elastic ones, putting the moved
        // list on a line of its own whatever the layout)
        AttributeListSyntax moved = SyntaxFactory.AttributeList(SyntaxFactory.Token(leading, SyntaxKind.OpenBracketToken, SyntaxTriviaList.Empty), null,
            SyntaxFactory.SingletonSeparatedList(attribute.WithoutTrivia()), SyntaxFactory.Token(SyntaxTriviaList.Empty, SyntaxKind.CloseBracketToken, trailing));
        int lastLine = -1;
        for (int i = 0; i < leading.Count; i++) if (leading[i].IsKind(SyntaxKind.EndOfLineTrivia)) lastLine = i;
        var indentation = SyntaxFactory.TriviaList(leading.Skip(lastLine + 1).Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)));
        lists = lists.Replace(lists[0], lists[0].WithLeadingTrivia(indentation));
        // the embedding's list was the last and ended the line: the list now last ends it (the class had joined the attributes' line)
        if (removed && index == type.AttributeLists.Count - 1 && EndsLine(ownTrailing) && !EndsLine(lists[lists.Count - 1].GetTrailingTrivia()))
            lists = lists.Replace(lists[lists.Count - 1], lists[lists.Count - 1].WithTrailingTrivia(ownTrailing));
        return type.WithAttributeLists(lists.Insert(0, moved));
    }
}
