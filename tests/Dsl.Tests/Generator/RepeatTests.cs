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

    /// <summary>The generated files of one model, no DSL or C# error among the diagnostics.</summary>
    private static string Generated(string source, bool device)
    {
        var (_, dsl, others, result) = device ? GeneratorHarness.RunWithDevice(source) : GeneratorHarness.Run(source);
        Assert.Empty(dsl);
        Assert.Empty(GeneratorHarness.Errors(others));
        return string.Join("\n// ---\n", result.Results.Single().GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).Select(s => s.SourceText.ToString()));
    }
}
