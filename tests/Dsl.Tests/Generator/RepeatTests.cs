using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>
/// <c>[Repeat(n)]</c> … <c>[EndRepeat]</c> writes its layers n times: the generated code is that of the layers written out (in
/// the host project and with the device backend), nested repeats and a repeated explicit name included.
/// </summary>
public class RepeatTests
{
    private const string Block = """
        [RmsNorm(Epsilon = 1e-5f)] [Attention(Heads = 2, KeyValueHeads = 1, Causal = true, Rotary = true, Bias = false)] [Residual(Layers = 2)]
        [RmsNorm(Epsilon = 1e-5f)] [Dense(24, Activation = Activation.Silu, Gated = true, Bias = false)] [Dense(8, Bias = false)] [Residual(Layers = 3)]
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARepeatedBlockGeneratesTheCodeOfTheBlockWrittenOut(bool device)
    {
        string repeated = $"using Dsl; namespace Demo; [Embedding(vocab: 11, dim: 8)] [Repeat(3)] {Block} [EndRepeat] [RmsNorm] [Dense(11, Bias = false)] public partial class M;";
        string written = $"using Dsl; namespace Demo; [Embedding(vocab: 11, dim: 8)] {Block} {Block} {Block} [RmsNorm] [Dense(11, Bias = false)] public partial class M;";
        Assert.Equal(Generated(written, device), Generated(repeated, device));
    }

    [Fact]
    public void NestedRepeatsAndAnExplicitNameGenerateTheCodeOfTheLayersWrittenOut()
    {
        string repeated = """
            using Dsl; namespace Demo;
            [Input(features: 3)]
            [Repeat(2)] [Dense(4, Name = "up", Activation = Activation.Tanh)] [Repeat(3)] [Dense(4)] [EndRepeat] [EndRepeat]
            [Repeat(1)] [Dense(2)] [EndRepeat]
            public partial class M;
            """;
        string written = """
            using Dsl; namespace Demo;
            [Input(features: 3)]
            [Dense(4, Name = "up", Activation = Activation.Tanh)] [Dense(4)] [Dense(4)] [Dense(4)]
            [Dense(4, Name = "up_1", Activation = Activation.Tanh)] [Dense(4)] [Dense(4)] [Dense(4)]
            [Dense(2)]
            public partial class M;
            """;
        string code = Generated(repeated, device: false);
        Assert.Equal(Generated(written, device: false), code);
        Assert.Contains("\"up_1.weight\"", code);
        Assert.Contains("\"dense_6.weight\"", code);
    }

    /// <summary>
    /// A bad repeat makes the model invalid in the generator as in the analyzer: its members throw naming DSL0014, so that the
    /// diagnostic turned down to a warning (or analyzers off) cannot build a model of one copy.
    /// </summary>
    [Theory]
    [InlineData("[Input(3)] [Repeat(0)] [Dense(4)] [EndRepeat] [Dense(2)]")]
    [InlineData("[Input(3)] [Repeat(2)] [Dense(4)] [Dense(2)]")]
    public void ABadRepeatLeavesTheGeneratedModelInvalid(string layers)
    {
        var (_, dsl, others, result) = GeneratorHarness.Run($"using Dsl; namespace Demo; {layers} public partial class M;");
        Assert.Equal("DSL0014", Assert.Single(dsl).Id);
        Assert.Empty(GeneratorHarness.Errors(others));
        string code = string.Concat(result.Results.Single().GeneratedSources.Select(s => s.SourceText.ToString()));
        Assert.Contains("Model 'M' has declaration errors (DSL0014)", code, StringComparison.Ordinal);
    }

    /// <summary>The generated files of one model, no DSL or C# error among the diagnostics.</summary>
    private static string Generated(string source, bool device)
    {
        var (_, dsl, others, result) = device ? GeneratorHarness.RunWithDevice(source) : GeneratorHarness.Run(source);
        Assert.Empty(dsl);
        Assert.Empty(GeneratorHarness.Errors(others));
        return string.Join("\n// ---\n", result.Results.Single().GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).Select(s => s.SourceText.ToString()));
    }
}
