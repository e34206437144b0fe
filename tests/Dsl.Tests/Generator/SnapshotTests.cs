using Microsoft.CodeAnalysis;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>The generated source of the sample models and of representative test models, as snapshots.</summary>
public class SnapshotTests
{
    private static string RepositoryFile(string relative, [System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", relative));

    private static string Generated(GeneratorDriverRunResult result, string hintName) =>
        result.Results.Single().GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

    [Fact]
    public void CharRnnSampleModels()
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run(File.ReadAllText(RepositoryFile("samples/CharRnn/CharModels.cs")));
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(3, result.Results.Single().GeneratedSources.Length);
        Snapshot.Verify(Generated(result, "CharRnn.CharLstm256.g.cs"), "CharRnn.CharLstm256.g");
    }

    [Fact]
    public void DateTranslatorSampleModels()
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run(File.ReadAllText(RepositoryFile("samples/DateTranslator/Models.cs")),
            "namespace DateTranslator; public static class Dates { public const int SourceVocabulary = 70, TargetVocabulary = 14; }");
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(6, result.Results.Single().GeneratedSources.Length);
        Snapshot.Verify(Generated(result, "DateTranslator.DateDecoder.g.cs"), "DateTranslator.DateDecoder.g");
        Snapshot.Verify(Generated(result, "DateTranslator.DateModel.g.cs"), "DateTranslator.DateModel.g");
        Snapshot.Verify(Generated(result, "DateTranslator.DateTransformerDecoder.g.cs"), "DateTranslator.DateTransformerDecoder.g");
        Snapshot.Verify(Generated(result, "DateTranslator.DateTransformer.g.cs"), "DateTranslator.DateTransformer.g");
    }

    [Fact]
    public void ClassifierSampleModels()
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run(File.ReadAllText(RepositoryFile("samples/Classifier/Models.cs")),
            "namespace Classifier; public static class Words { public const int Vocabulary = 53; }");
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(2, result.Results.Single().GeneratedSources.Length);
        Snapshot.Verify(Generated(result, "Classifier.LanguageClassifier.g.cs"), "Classifier.LanguageClassifier.g");
    }

    [Fact]
    public void GruVariantsBidirectionalStackedAndManyToOne()
    {
        const string source = """
            using Dsl;
            namespace Demo;

            [Input(features: 3)]
            [Gru(hidden: 4, ResetAfter = false, Layers = 2, Bidirectional = true, Dropout = 0.1f)]
            [Gru(hidden: 5, ReturnSequences = false)]
            [Dropout(0.2f)]
            [Dense(2, Activation = Activation.Sigmoid)]
            public partial class Classifier;
            """;
        var (_, diagnostics, others, result) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Snapshot.Verify(Generated(result, "Demo.Classifier.g.cs"), "Demo.Classifier.g");
    }

    [Fact]
    public void RnnNestedInAPartialClass()
    {
        const string source = """
            using Dsl;
            namespace Demo;

            public static partial class Outer
            {
                [Embedding(vocab: 20, dim: 8)]
                [Rnn(hidden: 6, Activation = Activation.Relu, Name = "encoder")]
                [Dense(20)]
                internal partial class Tagger;
            }
            """;
        var (_, diagnostics, others, result) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Snapshot.Verify(Generated(result, "Demo.Outer+Tagger.g.cs"), "Demo.Outer+Tagger.g");
    }

    /// <summary>Generates <paramref name="source"/> (one model, <c>Demo.{name}</c>) and checks it against its snapshot.</summary>
    private static void VerifyModel(string source, string name, [System.Runtime.CompilerServices.CallerMemberName] string method = "")
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Snapshot.Verify(Generated(result, $"Demo.{name}.g.cs"), $"Demo.{name}.g", method: method);
    }

    [Fact]
    public void CausalSelfAttentionWithWeightDropout() => VerifyModel("""
        using Dsl;
        namespace Demo;

        [Embedding(vocab: 30, dim: 16)]
        [Lstm(hidden: 16)]
        [Attention(Heads = 4, Causal = true, Dropout = 0.1f)]
        [Dense(30)]
        public partial class SelfAttender;
        """, "SelfAttender");

    [Fact]
    public void TransformerEncoderBlock() => VerifyModel("""
        using Dsl;
        namespace Demo;

        [Embedding(vocab: 40, dim: 16)]
        [PositionalEncoding]
        [Attention(Heads = 2)]
        [Residual]
        [LayerNorm]
        [Dense(32, Activation = Activation.Relu)]
        [Dense(16)]
        [Residual(Layers = 2)]
        [LayerNorm]
        [Attention(Pool = true, Heads = 2)]
        [Dense(3)]
        public partial class TransformerBlock;
        """, "TransformerBlock");

    [Fact]
    public void ResidualLstmWithLearnedStatesAndRecurrentDropout() => VerifyModel("""
        using Dsl;
        namespace Demo;

        [Input(features: 8)]
        [Lstm(hidden: 8, Bidirectional = true, LearnInitialState = true, RecurrentDropout = 0.2f)]
        [Dense(8)]
        [Residual(Layers = 2)]
        [Attention(Score = AttentionScore.Additive, Units = 6)]
        [Dense(2)]
        public partial class ResidualTagger;
        """, "ResidualTagger");

    [Fact]
    public void UnderACultureThatWritesAUnicodeMinusTheGeneratedCodeIsTheInvariantOne()
    {
        // sv-SE, nb-NO and fi-FI write −1 with U+2212 under ICU: the generated code must not follow the build's culture
        var minus = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
        minus.NumberFormat.NegativeSign = "\u2212";
        minus.NumberFormat.NumberDecimalSeparator = ",";
        string[] sources = [File.ReadAllText(RepositoryFile("samples/CharRnn/CharModels.cs")), File.ReadAllText(RepositoryFile("samples/DateTranslator/Models.cs")),
            "namespace DateTranslator; public static class Dates { public const int SourceVocabulary = 70, TargetVocabulary = 14; }"];
        var invariant = GeneratorHarness.Run(sources);
        System.Globalization.CultureInfo saved = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = minus;
        try
        {
            Assert.Equal("\u22121", (-1).ToString()); // the culture is in force on this thread
            var (_, diagnostics, others, result) = GeneratorHarness.Run(sources);
            Assert.Empty(diagnostics);
            Assert.Empty(GeneratorHarness.Errors(others));
            var expected = invariant.Result.Results.Single().GeneratedSources;
            var generated = result.Results.Single().GeneratedSources;
            Assert.Equal(expected.Length, generated.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].SourceText.ToString(), generated[i].SourceText.ToString());
            Assert.Equal(minus, System.Globalization.CultureInfo.CurrentCulture); // and the generator gave the thread its culture back
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }
}
