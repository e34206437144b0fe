using System.Collections.Immutable;
using System.Reflection;
using System.Text.RegularExpressions;
using Dsl.Tests.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Dsl.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md is a complete program: it compiles as pasted (no implicit usings, the Dsl
/// generator running as in a build) into a console application with no error and no warning, and runs to the end
/// (in a temporary folder, for the files it saves). Nothing is wrapped or skipped: a snippet that fails is fixed.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))] // it changes the current directory while a snippet runs
public partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(.*?)^```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static string ReadmePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Dsl.sln"))) return candidate;
        }
        throw new FileNotFoundException("README.md beside Dsl.sln, above " + AppContext.BaseDirectory);
    }

    private static List<(int Line, string Code)> Snippets()
    {
        string text = File.ReadAllText(ReadmePath());
        return CSharpBlock().Matches(text).Select(m => (text[..m.Index].Count(c => c == '\n') + 1, m.Groups[1].Value)).ToList();
    }

    public static TheoryData<int> Lines => new(Snippets().Select(s => s.Line));

    [Fact]
    public void TheReadmeHasTheSnippetsThisTestExpects()
    {
        // A change in how blocks are fenced must not silently leave snippets untested.
        string text = File.ReadAllText(ReadmePath());
        int fences = text.Split('\n').Count(l => l.TrimEnd() == "```csharp");
        Assert.Equal(fences, Snippets().Count);
        Assert.True(fences >= 4, $"{fences} csharp blocks");
    }

    private static readonly ImmutableArray<MetadataReference> References = CreateReferences();

    private static ImmutableArray<MetadataReference> CreateReferences()
    {
        // As GeneratorHarness: the running .NET's assemblies plus Dsl's (what a project referencing the package sees).
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .ToList();
        paths.Add(typeof(LstmAttribute).Assembly.Location);
        paths.Add(typeof(Parameter).Assembly.Location);
        paths.Add(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void TheSnippetCompilesAsPastedAndRuns(int line)
    {
        string code = Snippets().Single(s => s.Line == line).Code;
        var compilation = CSharpCompilation.Create("ReadmeSnippet" + line,
            [CSharpSyntaxTree.ParseText(code, GeneratorHarness.ParseOptions, path: $"README.md:{line}")],
            References,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        var problems = output.GetDiagnostics().AddRange(generatorDiagnostics)
            .Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, $"The README snippet at line {line} does not compile cleanly:\n{string.Join("\n", problems)}");

        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        Assembly assembly = Assembly.Load(image.ToArray());
        string previous = Environment.CurrentDirectory;
        string folder = Directory.CreateTempSubdirectory("dsl-readme-").FullName;
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        try
        {
            Environment.CurrentDirectory = folder;
            Console.SetOut(printed);
            MethodInfo main = assembly.EntryPoint!;
            main.Invoke(null, main.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        catch (TargetInvocationException e)
        {
            throw new Xunit.Sdk.XunitException($"The README snippet at line {line} throws: {e.InnerException}");
        }
        finally
        {
            Console.SetOut(console);
            Environment.CurrentDirectory = previous;
            Directory.Delete(folder, recursive: true);
        }
    }
}
