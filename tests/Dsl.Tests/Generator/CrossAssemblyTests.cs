using System.Collections.Immutable;
using Dsl.Generator.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>A model part from a referenced assembly: the encoder in a library, the decoder and the composition in the app.</summary>
public class CrossAssemblyTests
{
    private const string Library = """
        using Dsl;
        namespace Lib;

        [Embedding(vocab: 9, dim: 4)]
        [Lstm(hidden: 3, Bidirectional = true)]
        public partial class Encoder;
        """;

    private const string App = """
        using Dsl;
        namespace App;

        [Embedding(vocab: 7, dim: 3)]
        [Lstm(hidden: 6)]
        [Attention(Over = typeof(Lib.Encoder), Heads = 2)]
        [Dense(7)]
        public partial class Decoder;

        [EncoderDecoder(typeof(Lib.Encoder), typeof(Decoder))]
        public partial class Translator;

        public static class Run
        {
            public static float Step()
            {
                var model = new Translator(seed: 1);
                var source = new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new[] { 1, 2, 3, 4, 5, 0 }, new System.IntPtr[] { 2, 3 });
                var input = new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new[] { 0, 1, 2, 0, 3, 4 }, new System.IntPtr[] { 2, 3 });
                var targets = new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new[] { 1, 2, 5, 3, 4, 6 }, new System.IntPtr[] { 2, 3 });
                model.Parameters.ZeroGrad();
                return model.Backward(source, new[] { 3, 2 }, input, targets, teacherForcing: 1f);
            }
        }
        """;

    private static (Compilation Output, ImmutableArray<Diagnostic> All) Build(string source, string name, params MetadataReference[] references)
    {
        Compilation input = GeneratorHarness.Compile(source).WithAssemblyName(name).AddReferences(references);
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> generator);
        ImmutableArray<Diagnostic> all = output.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new DslAnalyzer()))
            .GetAllDiagnosticsAsync().GetAwaiter().GetResult().AddRange(generator);
        return (output, all);
    }

    private static byte[] Emit(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5)));
        return stream.ToArray();
    }

    [Fact]
    public void AnEncoderInALibraryServesADecoderAndACompositionInTheApp()
    {
        var (library, libraryDiagnostics) = Build(Library, "Lib");
        Assert.Empty(libraryDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        byte[] libraryImage = Emit(library);

        // the analyzer and the generator agree: no DSL diagnostic, no compile error, the generated members exist
        var (app, appDiagnostics) = Build(App, "App", MetadataReference.CreateFromImage(libraryImage));
        Assert.Empty(appDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        byte[] appImage = Emit(app);

        // and it trains: the app's composition runs the library's encoder
        var context = new System.Runtime.Loader.AssemblyLoadContext("CrossAssembly", isCollectible: true);
        try
        {
            System.Reflection.Assembly lib = context.LoadFromStream(new MemoryStream(libraryImage));
            context.Resolving += (_, name) => name.Name == "Lib" ? lib : null;
            System.Reflection.Assembly assembly = context.LoadFromStream(new MemoryStream(appImage));
            float loss = (float)assembly.GetType("App.Run", throwOnError: true)!.GetMethod("Step")!.Invoke(null, null)!;
            Assert.True(float.IsFinite(loss) && loss > 0f, $"loss {loss}");
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void AnEncoderInAnotherProjectOfTheSolutionServesTheAppAsFromItsDll()
    {
        // in the IDE a project reference is a compilation reference, whose types have source locations: the generator had
        // skipped them as not from metadata, shaping the app's composition without its encoder (placeholder code, no base
        // class), while the analyzer, which found the encoder, reported nothing
        var (library, _) = Build(Library, "Lib");
        var (app, appDiagnostics) = Build(App, "App", library.ToMetadataReference());
        Assert.Empty(appDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        Assert.Equal("EncoderDecoderModel", app.GetTypeByMetadataName("App.Translator")!.BaseType!.Name);
        Assert.DoesNotContain(app.SyntaxTrees, t => t.ToString().Contains("Not generated", StringComparison.Ordinal));
        Emit(app);
    }
}
