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
