using System.Collections.Immutable;
using Dsl.CodeFixes;
using Dsl.Generator.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>Each code fix turns the reported declaration into the expected source, which then has no DSL diagnostic.</summary>
public class CodeFixTests
{
    [Fact]
    public void MakesTheModelClassPartial() => Verify(new MakePartialCodeFix(), "DSL0001",
        """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Dense(2)]
        public sealed class M { }
        """,
        """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Dense(2)]
        public sealed partial class M { }
        """);

    [Fact]
    public void MakesAClassWithoutModifiersPartial() => Verify(new MakePartialCodeFix(), "DSL0001",
        """
        using Dsl;
        [Input(features: 3)]
        [Dense(2)]
        class M { }
        """,
        """
        using Dsl;
        [Input(features: 3)]
        [Dense(2)]
        partial class M { }
        """);

    [Fact]
    public void MakesTheContainingTypePartial() => Verify(new MakePartialCodeFix(), "DSL0011",
        """
        using Dsl;
        namespace Demo;
        public static class Models
        {
            [Input(features: 3)]
            [Dense(2)]
            public partial class M;
        }
        """,
        """
        using Dsl;
        namespace Demo;
        public static partial class Models
        {
            [Input(features: 3)]
            [Dense(2)]
            public partial class M;
        }
        """);

    [Fact]
    public void MovesAnEmbeddingToTheFront() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        [Lstm(hidden: 8)]
        [Embedding(vocab: 20, dim: 4)]
        [Dense(20)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 20, dim: 4)]
        [Lstm(hidden: 8)]
        [Dense(20)]
        public partial class M;
        """);

    [Fact]
    public void TheCommentAfterEachListStaysWithItsLayer() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        [Lstm(hidden: 8)] // encoder
        [Embedding(vocab: 20, dim: 4)] // token table
        [Dense(20)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 20, dim: 4)] // token table
        [Lstm(hidden: 8)] // encoder
        [Dense(20)]
        public partial class M;
        """);

    [Fact]
    public void OutOfASharedListTheCommentStaysWithTheList() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        [Lstm(8), Embedding(20, 4)] // c
        [Dense(20)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Embedding(20, 4)]
        [Lstm(8)] // c
        [Dense(20)]
        public partial class M;
        """);

    [Fact]
    public void ListsOnOneLineStayOnOneLineAndTheClassOnItsOwn() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        [Lstm(8)] [Embedding(20, 4)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Embedding(20, 4)] [Lstm(8)]
        public partial class M;
        """);

    [Fact]
    public void MovesAnEmbeddingOutOfASharedAttributeList() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        [Gru(hidden: 8), Embedding(vocab: 20, dim: 4)]
        [Dense(20)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 20, dim: 4)]
        [Gru(hidden: 8)]
        [Dense(20)]
        public partial class M;
        """);

    [Fact]
    public void MovesAnEmbeddingBelowTheCommentsAndDirectivesBeforeTheClassOnce() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        #if true
        /// <summary>A tagger.</summary>
        // layers below
        [Lstm(hidden: 8)]
        [Embedding(vocab: 20, dim: 4)]
        [Dense(20)]
        public partial class M;
        #endif
        """,
        """
        using Dsl;
        namespace Demo;
        #if true
        /// <summary>A tagger.</summary>
        // layers below
        [Embedding(vocab: 20, dim: 4)]
        [Lstm(hidden: 8)]
        [Dense(20)]
        public partial class M;
        #endif
        """);

    [Fact]
    public void RemovesDropoutFromASingleLayerRnn() => Verify(new RemoveDropoutCodeFix(), "DSL0010",
        """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Lstm(hidden: 8, Dropout = 0.3f, Bidirectional = true)]
        [Dense(2)]
        public partial class M;
        """,
        """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Lstm(hidden: 8, Bidirectional = true)]
        [Dense(2)]
        public partial class M;
        """);

    private const string Encoder = """
        [Embedding(vocab: 20, dim: 6)]
        [Lstm(hidden: 5, Bidirectional = true)]
        public partial class Enc;
        """;

    [Fact]
    public void ReplacesADotScoreBetweenDifferentWidthsWithTheGeneralOne() => Verify(new UseGeneralScoreCodeFix(), "DSL1007",
        "using Dsl;\nnamespace Demo;\n" + Encoder + """

        [Embedding(vocab: 9, dim: 4)]
        [Lstm(hidden: 7)]
        [Attention(Over = typeof(Enc), Score = AttentionScore.Dot)]
        [Dense(9)]
        public partial class Dec;
        """,
        "using Dsl;\nnamespace Demo;\n" + Encoder + """

        [Embedding(vocab: 9, dim: 4)]
        [Lstm(hidden: 7)]
        [Attention(Over = typeof(Enc), Score = AttentionScore.General)]
        [Dense(9)]
        public partial class Dec;
        """);

    [Fact]
    public void TheGeneralScoreIsQualifiedWhereTheFileHasNoUsing() => Verify(new UseGeneralScoreCodeFix(), "DSL1007",
        """
        namespace Demo;
        [Dsl.Embedding(vocab: 20, dim: 6)] [Dsl.Lstm(hidden: 5)] public partial class Enc;
        [Dsl.Embedding(vocab: 9, dim: 4)] [Dsl.Lstm(hidden: 7)] [Dsl.Attention(Over = typeof(Enc), Score = Dsl.AttentionScore.Dot)] [Dsl.Dense(9)] public partial class Dec;
        """,
        """
        namespace Demo;
        [Dsl.Embedding(vocab: 20, dim: 6)] [Dsl.Lstm(hidden: 5)] public partial class Enc;
        [Dsl.Embedding(vocab: 9, dim: 4)] [Dsl.Lstm(hidden: 7)] [Dsl.Attention(Over = typeof(Enc), Score = Dsl.AttentionScore.General)] [Dsl.Dense(9)] public partial class Dec;
        """);

    [Fact]
    public void ChangesAMisspeltOptionToTheClosest() => Verify(new RenameOptionCodeFix(), "DSL0013", """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Lstm(hidden: 4, ReturnSequence = false)]
        [Dense(2)]
        public partial class M;
        """, """
        using Dsl;
        namespace Demo;
        [Input(features: 3)]
        [Lstm(hidden: 4, ReturnSequences = false)]
        [Dense(2)]
        public partial class M;
        """);

    [Fact]
    public void NoMoveIsOfferedWhenAnotherInputLayerComesBefore()
    {
        // [Embedding][Input][Dense] would only move the error to the [Input] (DSL0004): the stack needs a layer removed
        Assert.Empty(Offered(new MoveEmbeddingFirstCodeFix(), "DSL1003", """
            using Dsl;
            namespace Demo;
            [Input(features: 3)]
            [Embedding(vocab: 20, dim: 4)]
            [Dense(2)]
            public partial class M;
            """));
    }

    [Fact]
    public void NoMoveIsOfferedAcrossADirectiveBetweenTheLayers()
    {
        // the move had dropped the #if above the embedding and left its #endif (CS1028)
        Assert.Empty(Offered(new MoveEmbeddingFirstCodeFix(), "DSL1003", """
            using Dsl;
            namespace Demo;
            [Lstm(hidden: 8)]
            #if !LEGACY
            [Embedding(vocab: 20, dim: 4)]
            #endif
            [Dense(20)]
            public partial class M;
            """));
    }

    [Fact]
    public void AMovedEmbeddingKeepsTheCommentAboveIt() => Verify(new MoveEmbeddingFirstCodeFix(), "DSL1003",
        """
        using Dsl;
        namespace Demo;
        public static partial class Models
        {
            /// <summary>A tagger.</summary>
            [Lstm(hidden: 8)]
            // the token table
            [Embedding(vocab: 20, dim: 4)]
            [Dense(20)]
            public partial class M;
        }
        """,
        """
        using Dsl;
        namespace Demo;
        public static partial class Models
        {
            /// <summary>A tagger.</summary>
            // the token table
            [Embedding(vocab: 20, dim: 4)]
            [Lstm(hidden: 8)]
            [Dense(20)]
            public partial class M;
        }
        """);

    [Fact]
    public void NoMoveIsOfferedForLayersOnSeveralPartialDeclarations()
    {
        // the order runs across the declarations: reordering the embedding's own one had changed nothing
        Assert.Empty(Offered(new MoveEmbeddingFirstCodeFix(), "DSL1003", """
            using Dsl;
            namespace Demo;
            [Lstm(hidden: 8)]
            public partial class M;
            [Embedding(vocab: 20, dim: 4)]
            [Dense(20)]
            public partial class M;
            """));
    }

    [Fact]
    public void AnOptionTheAttributeAlreadySetsIsNotSuggested()
    {
        // renaming ReturnSequence to ReturnSequences beside a ReturnSequences had named it twice (CS0643)
        using var workspace = new AdhocWorkspace();
        Diagnostic d = Analyze(NewDocument(workspace, """
            using Dsl;
            namespace Demo;
            [Input(features: 3)]
            [Lstm(hidden: 4, ReturnSequences = false, ReturnSequence = true)]
            [Dense(2)]
            public partial class M;
            """)).Single(x => x.Id == "DSL0013");
        Assert.DoesNotContain("did you mean 'ReturnSequences'", d.GetMessage());
        Assert.Null(d.Properties["Closest"]);
    }

    [Fact]
    public void TwoMisspellingsOfOneOptionGetTheSuggestionOnce()
    {
        // Fix All had renamed both to ReturnSequences, naming it twice (CS0643)
        using var workspace = new AdhocWorkspace();
        Diagnostic[] found = Analyze(NewDocument(workspace, """
            using Dsl;
            namespace Demo;
            [Input(features: 3)]
            [Lstm(hidden: 4, ReturnSequence = false, ReturnSequencs = true)]
            [Dense(2)]
            public partial class M;
            """)).Where(x => x.Id == "DSL0013").ToArray();
        Assert.Equal(2, found.Length);
        Assert.Equal(["ReturnSequences", null], found.Select(d => d.Properties["Closest"]));
    }

    [Fact]
    public void AConstructorArgumentWrittenAsAnOptionIsNotRenamedToAnother()
    {
        // Dim = 8 for dim: 8 had been "did you mean 'Name'?", and the fix wrote Name = 8
        using var workspace = new AdhocWorkspace();
        const string source = """
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 20, Dim = 8)]
            [Dense(2)]
            public partial class M;
            """;
        Diagnostic d = Analyze(NewDocument(workspace, source)).Single(x => x.Id == "DSL0013");
        Assert.Null(d.Properties["Closest"]);
        Assert.Equal("[Embedding] has no option 'Dim'; 'dim' is given to the constructor: write 'dim: …' among the arguments before the options", d.GetMessage());
        Assert.Empty(Offered(new RenameOptionCodeFix(), "DSL0013", source));
    }

    [Fact]
    public void TwoOptionsAsNearAreBothLeftToTheUser()
    {
        // Outs is as near Over as Units: the first declared had been picked (Over = 4 does not compile)
        Assert.Null(Dsl.Generator.Analyzers.DslAnalyzer.Closest("Outs", ["Over", "Units", "Heads"]));
        Assert.Equal("Units", Dsl.Generator.Analyzers.DslAnalyzer.Closest("Unit", ["Over", "Units", "Heads"]));
    }

    /// <summary>The actions a fix offers for the one diagnostic of <paramref name="id"/> in <paramref name="source"/>.</summary>
    private static List<CodeAction> Offered(CodeFixProvider fix, string id, string source)
    {
        using var workspace = new AdhocWorkspace();
        Document document = NewDocument(workspace, source);
        Diagnostic diagnostic = Analyze(document).Single(d => d.Id == id);
        var actions = new List<CodeAction>();
        fix.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None)).GetAwaiter().GetResult();
        return actions;
    }

    [Fact]
    public void FixAllMakesEveryModelInTheDocumentPartial() => VerifyFixAll(new MakePartialCodeFix(), "DSL0001", """
        using Dsl;
        namespace Demo;
        [Input(features: 3)] [Dense(2)] public class A { }
        [Input(features: 3)] [Dense(2)] public class B { }
        """, """
        using Dsl;
        namespace Demo;
        [Input(features: 3)] [Dense(2)] public partial class A { }
        [Input(features: 3)] [Dense(2)] public partial class B { }
        """);

    /// <summary>The fix's Fix-All provider, over every diagnostic of <paramref name="id"/> in the document at once.</summary>
    private static void VerifyFixAll(CodeFixProvider fix, string id, string before, string after)
    {
        using var workspace = new AdhocWorkspace();
        Document document = NewDocument(workspace, before);
        ImmutableArray<Diagnostic> diagnostics = Analyze(document).Where(d => d.Id == id).ToImmutableArray();
        Assert.True(diagnostics.Length >= 2, $"expected several {id}, got {diagnostics.Length}");
        FixAllProvider provider = fix.GetFixAllProvider()!;
        var context = new FixAllContext(document, fix, FixAllScope.Document, fix.GetType().Name, [id], new Diagnostics(diagnostics), CancellationToken.None);
        CodeAction action = provider.GetFixAsync(context).GetAwaiter().GetResult()!;
        var operation = action.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult().OfType<ApplyChangesOperation>().Single();
        Document fixedDocument = operation.ChangedSolution.GetDocument(document.Id)!;
        Assert.Equal(after.ReplaceLineEndings("\n"), fixedDocument.GetTextAsync().GetAwaiter().GetResult().ToString().ReplaceLineEndings("\n"));
        Assert.DoesNotContain(Analyze(fixedDocument), d => d.Id == id);
    }

    private sealed class Diagnostics(ImmutableArray<Diagnostic> all) : FixAllContext.DiagnosticProvider
    {
        public override Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken) => Task.FromResult<IEnumerable<Diagnostic>>(all);

        public override Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken) => Task.FromResult<IEnumerable<Diagnostic>>(all);

        public override Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken) => Task.FromResult<IEnumerable<Diagnostic>>(all);
    }

    /// <summary>A one-document project with the generator tests' parse options and references.</summary>
    private static Document NewDocument(AdhocWorkspace workspace, string source) =>
        workspace.AddProject("Models", LanguageNames.CSharp)
            .WithParseOptions(GeneratorHarness.ParseOptions)
            .WithCompilationOptions(new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .WithMetadataReferences(GeneratorHarness.References)
            .AddDocument("M.cs", SourceText.From(source));

    private static void Verify(CodeFixProvider fix, string id, string before, string after)
    {
        Assert.Contains(id, fix.FixableDiagnosticIds);
        using var workspace = new AdhocWorkspace();
        Document document = NewDocument(workspace, before);
        Diagnostic diagnostic = Analyze(document).Single(d => d.Id == id);

        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        fix.RegisterCodeFixesAsync(context).GetAwaiter().GetResult();
        CodeAction action = Assert.Single(actions);
        var operation = action.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult().OfType<ApplyChangesOperation>().Single();
        Document fixedDocument = operation.ChangedSolution.GetDocument(document.Id)!;
        Assert.Equal(after.ReplaceLineEndings("\n"), fixedDocument.GetTextAsync().GetAwaiter().GetResult().ToString().ReplaceLineEndings("\n"));
        Assert.DoesNotContain(Analyze(fixedDocument), d => d.Id == id);
    }

    private static ImmutableArray<Diagnostic> Analyze(Document document)
    {
        Compilation compilation = document.Project.GetCompilationAsync().GetAwaiter().GetResult()!;
        var diagnostics = compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new DslAnalyzer())).GetAllDiagnosticsAsync().GetAwaiter().GetResult();
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        return diagnostics;
    }
}
