using System.Collections.Immutable;
using System.Reflection;
using System.Text.RegularExpressions;
using Dsl.Tests.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Dsl.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md (and of the package's README, src/Dsl.Package/README.md) is a complete program: it compiles as pasted (no implicit usings, the Dsl
/// generator running as in a build) into a console application with no error and no warning, and runs to the end
/// (in a temporary folder, for the files it saves). Nothing is wrapped or skipped: a snippet that fails is fixed.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))] // it changes the current directory while a snippet runs
public partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(.*?)^```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static readonly string[] s_files = ["README.md", "src/Dsl.Package/README.md"];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && File.Exists(Path.Combine(dir.FullName, "Dsl.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("No folder with README.md and Dsl.sln above " + AppContext.BaseDirectory);
    }

    private static List<(int Line, string Code)> Snippets(string file)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot(), file));
        return CSharpBlock().Matches(text).Select(m => (text[..m.Index].Count(c => c == '\n') + 1, m.Groups[1].Value)).ToList();
    }

    public static TheoryData<string, int> Blocks
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (string file in s_files)
                foreach (var (line, _) in Snippets(file)) data.Add(file, line);
            return data;
        }
    }

    [Theory]
    [InlineData("README.md", 6)]
    [InlineData("src/Dsl.Package/README.md", 1)]
    public void TheReadmeHasTheSnippetsThisTestExpects(string file, int atLeast)
    {
        // A change in how blocks are fenced must not silently leave snippets untested.
        string text = File.ReadAllText(Path.Combine(RepositoryRoot(), file));
        int fences = text.Split('\n').Count(l => l.TrimEnd() == "```csharp");
        Assert.Equal(fences, Snippets(file).Count);
        Assert.True(fences >= atLeast, $"{fences} csharp blocks in {file}");
    }

    // what a project referencing the package sees: the running .NET's assemblies plus Dsl's (as the generator tests)
    private static ImmutableArray<MetadataReference> References => GeneratorHarness.References;

    [Theory]
    [MemberData(nameof(Blocks))]
    public void TheSnippetCompilesAsPastedAndRuns(string file, int line)
    {
        string code = Snippets(file).Single(s => s.Line == line).Code;
        var compilation = CSharpCompilation.Create($"Snippet{Math.Abs(file.GetHashCode())}_{line}",
            [CSharpSyntaxTree.ParseText(code, GeneratorHarness.ParseOptions, path: $"{file}:{line}")],
            code.Contains("using Dsl.Gpu;", StringComparison.Ordinal) ? GeneratorHarness.DeviceReferences : References, // a project that also references Dsl.Gpu
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        var problems = output.GetDiagnostics().AddRange(generatorDiagnostics)
            .Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, $"The snippet at {file}:{line} does not compile cleanly:\n{string.Join("\n", problems)}");

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
            throw new Xunit.Sdk.XunitException($"The snippet at {file}:{line} throws: {e.InnerException}");
        }
        finally
        {
            Console.SetOut(console);
            Environment.CurrentDirectory = previous;
            Directory.Delete(folder, recursive: true);
        }
    }
}
