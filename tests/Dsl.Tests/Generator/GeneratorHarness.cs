using System.Collections.Immutable;
using Dsl.Generator;
using Dsl.Generator.Analyzers;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dsl.Tests.Generator;

/// <summary>
/// Runs the Dsl generator through <see cref="CSharpGeneratorDriver"/> on source text, the way the compiler
/// does, with step tracking on. (Microsoft.CodeAnalysis.Testing is not in the package registry here.)
/// </summary>
internal static class GeneratorHarness
{
    // References: the running .NET's own assemblies plus Dsl's. (Basic.Reference.Assemblies 1.8 needs
    // Roslyn 4.11, which this registry does not serve next to the 4.8 the generator is built against.)
    internal static readonly ImmutableArray<MetadataReference> References = CreateReferences();

    private static ImmutableArray<MetadataReference> CreateReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .ToList();
        paths.Add(typeof(LstmAttribute).Assembly.Location);
        paths.Add(typeof(Parameter).Assembly.Location);
        paths.Add(typeof(OnnxExport).Assembly.Location); // Dsl.Onnx: ExportOnnx, for the README's snippets
        paths.Add(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

    public static CSharpCompilation Compile(params string[] sources) => Compile(References, sources);

    /// <summary>The references of a project that also references Dsl.Gpu (the generator then writes the device backend).</summary>
    internal static readonly ImmutableArray<MetadataReference> DeviceReferences =
        References.Add(MetadataReference.CreateFromFile(typeof(Dsl.Gpu.Device).Assembly.Location))
            .Add(MetadataReference.CreateFromFile(typeof(ILGPU.Context).Assembly.Location));

    public static CSharpCompilation Compile(ImmutableArray<MetadataReference> references, params string[] sources) =>
        CSharpCompilation.Create("Models",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            new[] { new DslGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>
    /// Runs the generator, then the analyzer over the generated compilation, as a build does. Returns the
    /// output compilation, the DSL diagnostics, every other diagnostic (compiler and analyzer-host), and the run result.
    /// </summary>
    public static (Compilation Output, ImmutableArray<Diagnostic> Dsl, ImmutableArray<Diagnostic> Others, GeneratorDriverRunResult Result) Run(params string[] sources) =>
        Run(Compile(sources));

    /// <summary>As <see cref="Run(string[])"/>, in a project that references Dsl.Gpu.</summary>
    public static (Compilation Output, ImmutableArray<Diagnostic> Dsl, ImmutableArray<Diagnostic> Others, GeneratorDriverRunResult Result) RunWithDevice(params string[] sources) =>
        Run(Compile(DeviceReferences, sources));

    private static (Compilation Output, ImmutableArray<Diagnostic> Dsl, ImmutableArray<Diagnostic> Others, GeneratorDriverRunResult Result) Run(CSharpCompilation input)
    {
        GeneratorDriver driver = CreateDriver().RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        ImmutableArray<Diagnostic> all = output
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new DslAnalyzer()))
            .GetAllDiagnosticsAsync().GetAwaiter().GetResult()
            .AddRange(generatorDiagnostics);
        return (output, all.Where(d => d.Id.StartsWith("DSL", StringComparison.Ordinal)).ToImmutableArray(),
            all.Where(d => !d.Id.StartsWith("DSL", StringComparison.Ordinal)).ToImmutableArray(), driver.GetRunResult());
    }

    /// <summary>Errors other than DSL ones, and any analyzer or generator crash (AD0001, CS8785), whatever its severity.</summary>
    public static IReadOnlyList<Diagnostic> Errors(ImmutableArray<Diagnostic> others) =>
        others.Where(d => d.Severity == DiagnosticSeverity.Error || d.Id is "AD0001" or "CS8785").ToList();
}
