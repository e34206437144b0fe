using Dsl.Generator.Layers;
using Dsl.Generator.Parsing;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>Every layer kind is defined once, in the registry, and every layer attribute has its definition.</summary>
public class LayerRegistryTests
{
    private static readonly Type[] LayerAttributes = typeof(LayerAttribute).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(LayerAttribute)) && !t.IsAbstract)
        .ToArray();

    [Fact]
    public void EveryLayerAttributeIsRegistered()
    {
        Assert.NotEmpty(LayerAttributes);
        foreach (Type attribute in LayerAttributes)
            Assert.True(LayerRegistry.ForAttribute(attribute.FullName) is not null, $"{attribute.FullName} has no LayerDefinition in LayerRegistry");
    }

    [Fact]
    public void EveryDefinitionNamesAnAttributeAndEachKindHasOne()
    {
        Assert.Equal(LayerAttributes.Length, LayerRegistry.All.Count);
        Assert.Equal(Enum.GetValues<LayerKind>().OrderBy(k => k), LayerRegistry.All.Select(d => d.Kind).OrderBy(k => k));
        foreach (LayerDefinition definition in LayerRegistry.All)
        {
            Assert.Contains(LayerAttributes, a => a.FullName == definition.AttributeName);
            Assert.Same(definition, LayerRegistry.Of(definition.Kind));
        }
    }

    [Fact]
    public void DefaultNamesAreTheKindInLowerCase()
    {
        Assert.Equal("lstm", LayerRegistry.Of(LayerKind.Lstm).DefaultName);
        Assert.Equal("positionalencoding", LayerRegistry.Of(LayerKind.PositionalEncoding).DefaultName);
    }
}

/// <summary>The plan's symbolic sizes say what the workspace allocates.</summary>
public class PlanSizeTests
{
    [Fact]
    public void RowsAreProductsOfStepsBatchSourceAndAFixedCount()
    {
        Assert.Equal("checked(t * b)", Dsl.Generator.Lowering.Rows.StepsBatch.Expression());
        Assert.Equal("checked(t * s * b)", Dsl.Generator.Lowering.Rows.StepsSourceBatch.Expression());
        Assert.Equal("1", Dsl.Generator.Lowering.Rows.One.Expression());
        // a key/value cache of a declared maximum of 64 steps: [64, B]
        Assert.Equal("checked(64 * b)", new Dsl.Generator.Lowering.Rows(0, 1, 0, Fixed: 64).Expression());
        // an embedding's table of 65 rows projected by the recurrent layer after it: only for a pass of more than 65 ids
        Assert.Equal("(65 < checked(t * b) ? 65 : 0)", Dsl.Generator.Lowering.Rows.FewerThanSteps(65).Expression());
    }

    [Fact]
    public void SizesInOpsAreWrittenOverThePassLocals()
    {
        Assert.Equal("T * B", Dsl.Generator.Emitting.CSharpOps.Format(Dsl.Generator.Lowering.Dim.TB));
        Assert.Equal("3 * (T - 1) * B", Dsl.Generator.Emitting.CSharpOps.Format(new Dsl.Generator.Lowering.Dim(3, Batch: 1, PreviousSteps: 1)));
        Assert.Equal("S * B", Dsl.Generator.Emitting.CSharpOps.Format(Dsl.Generator.Lowering.Dim.SB, Dsl.Generator.Emitting.Scope.Pass));
        Assert.Equal("t", Dsl.Generator.Emitting.CSharpOps.Format(new Dsl.Generator.Lowering.Dim(1, Steps: 1), Dsl.Generator.Emitting.Scope.Workspace));
    }
}

/// <summary>Names users meet beside the generated ones: nothing Dsl declares hides or clashes with them.</summary>
public class NameClashTests
{
    [Fact]
    public void SystemTextAndTheRuntimesTypesStayUsableBesideAModel()
    {
        const string source = """
            using System.Text;
            using Dsl;
            namespace Demo;

            [Embedding(vocab: 9, dim: 4)]
            [Lstm(hidden: 5)]
            [Dense(9)]
            public partial class M
            {
                // inside the model class, the runtime's Vocabulary type is not hidden by a generated constant
                public static Vocabulary Fit(string text) => Vocabulary.Characters(text, maxSize: VocabularySize);
            }

            static class Use
            {
                static int[] Run()
                {
                    Decoder utf8 = Encoding.UTF8.GetDecoder();          // System.Text.Decoder: no clash with Dsl.Decode
                    var model = new M(seed: 1);
                    return Decode.Greedy(model, new[] { 1 }, maxLength: 3 + utf8.GetCharCount(new byte[0], 0, 0) + ((IModel)model).InputWidth - M.VocabularySize); // the constants, on an instance through IModel
                }
            }
            """;
        var (_, diagnostics, others, _) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }
}
