using System.Collections;
using System.Reflection;
using Dsl.Generator;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>The pipeline caches: an unrelated edit regenerates nothing; a size change regenerates the model.</summary>
public class CachingTests
{
    private const string Model = """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 30, dim: 8)]
        [Lstm(hidden: 16)]
        [Dense(30)]
        public partial class CharModel;
        """;

    private static IEnumerable<IncrementalGeneratorRunStep> ModelSteps(GeneratorDriverRunResult result) =>
        result.Results.Single().TrackedSteps
            .Where(kv => kv.Key is "Dsl.Parse.Embedding" or "Dsl.Models" or "Dsl.External" or "Dsl.Resolve" or "Dsl.Shape" or "Dsl.Lower")
            .SelectMany(kv => kv.Value);

    private static void AssertNothingReran(IEnumerable<IncrementalGeneratorRunStep> steps) =>
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step output was {o.Reason}"));

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) FirstRun()
    {
        CSharpCompilation compilation = GeneratorHarness.Compile(Model, "namespace Demo; public class Other { public int X; }");
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        return (driver, compilation);
    }

    [Fact]
    public void AddingUnrelatedCodeDoesNotRegenerateTheModel()
    {
        var (driver, compilation) = FirstRun();
        SyntaxTree other = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText("namespace Demo; public class Other { public int X; public int Y => X + 1; }", GeneratorHarness.ParseOptions, path: other.FilePath));
        GeneratorDriverRunResult result = driver.RunGenerators(edited).GetRunResult();
        var steps = ModelSteps(result).ToList();
        Assert.Equal(6, steps.Count); // Parse of the one model, the collected models, the referenced assemblies' models (none), Resolve, Shape, Lower
        AssertNothingReran(steps);
    }

    [Fact]
    public void AnEditAboveAModelInItsFileRegeneratesNothing()
    {
        // a line added above the model moves its spans, not what it is: parse reruns for the file, nothing after it
        var (driver, compilation) = FirstRun();
        SyntaxTree model = compilation.SyntaxTrees.First();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(model,
            CSharpSyntaxTree.ParseText(Model.Replace("namespace Demo;", "namespace Demo;\n// a comment\npublic static class Helper { public static int Two => 2; }\n"), GeneratorHarness.ParseOptions, path: model.FilePath));
        GeneratorDriverRunResult result = driver.RunGenerators(edited).GetRunResult();
        var steps = ModelSteps(result).ToList();
        Assert.NotEmpty(steps);
        AssertNothingReran(steps);
    }

    [Fact]
    public void ChangingTheHiddenSizeRegeneratesTheModel()
    {
        var (driver, compilation) = FirstRun();
        SyntaxTree model = compilation.SyntaxTrees.First();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(model,
            CSharpSyntaxTree.ParseText(Model.Replace("hidden: 16", "hidden: 24"), GeneratorHarness.ParseOptions, path: model.FilePath));
        GeneratorDriverRunResult result = driver.RunGenerators(edited).GetRunResult();
        Assert.Contains(ModelSteps(result).SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("const int H = 24, G = 96", result.Results.Single().GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void NoSymbolSyntaxOrCompilationIsHeldInAnyPipelineValue()
    {
        var (driver, _) = FirstRun();
        var values = driver.GetRunResult().Results.Single().TrackedSteps
            .Where(kv => kv.Key.StartsWith("Dsl.", StringComparison.Ordinal))
            .SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).Select(o => o.Value).ToList();
        Assert.NotEmpty(values);
        foreach (object value in values) Walk(value, new HashSet<object>(ReferenceEqualityComparer.Instance), "value");
        // The pipeline's model types are themselves made only of data.
        foreach (Type t in new[] { typeof(ModelSpec), typeof(LayerSpec), typeof(ShapedModel), typeof(ShapedLayer), typeof(ModelPlan), typeof(LayerPlan) })
            Assert.DoesNotContain(t.GetProperties(), p => IsForbidden(p.PropertyType));
    }

    private static bool IsForbidden(Type t) =>
        typeof(ISymbol).IsAssignableFrom(t) || typeof(SyntaxNode).IsAssignableFrom(t) || typeof(Compilation).IsAssignableFrom(t)
        || typeof(Location).IsAssignableFrom(t) || typeof(SemanticModel).IsAssignableFrom(t) || t == typeof(SyntaxTree);

    private static void Walk(object? value, HashSet<object> seen, string path)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum) return;
        Assert.False(IsForbidden(value.GetType()), $"{path} holds a {value.GetType().Name}");
        if (!value.GetType().IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (object? item in items) Walk(item, seen, $"{path}[{i++}]");
        }
        foreach (FieldInfo f in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            Walk(f.GetValue(value), seen, $"{path}.{f.Name}");
    }
}
