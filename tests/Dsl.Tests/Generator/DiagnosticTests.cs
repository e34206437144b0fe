using Microsoft.CodeAnalysis;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>Each diagnostic: its ID, severity and the exact source span it marks; and no cascade of other errors.</summary>
public class DiagnosticTests
{
    private static string DocsFolder([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "docs", "diagnostics"));

    [Fact]
    public void EveryDiagnosticHasAHelpPageAndItsLinkEndsInIt()
    {
        foreach (DiagnosticDescriptor descriptor in Dsl.Generator.Diagnostics.DiagnosticDescriptors.All)
        {
            Assert.True(File.Exists(Path.Combine(DocsFolder(), descriptor.Id + ".md")), $"{descriptor.Id} has no help page");
            Assert.Equal(Dsl.Generator.Diagnostics.DiagnosticDescriptors.HelpRoot + descriptor.Id + ".md", descriptor.HelpLinkUri);
        }
        Assert.StartsWith("https://", Dsl.Generator.Diagnostics.DiagnosticDescriptors.HelpRoot, StringComparison.Ordinal);
    }

    /// <summary>Runs the generator on a declaration in which [| and |] mark the expected span.</summary>
    private static Diagnostic Single(string markedSource, string id, DiagnosticSeverity severity)
    {
        int start = markedSource.IndexOf("[|", StringComparison.Ordinal);
        string source = markedSource.Replace("[|", "").Replace("|]", "");
        int end = markedSource.IndexOf("|]", StringComparison.Ordinal) - 2;
        var (_, diagnostics, others, _) = GeneratorHarness.Run(source);
        Diagnostic d = Assert.Single(diagnostics);
        Assert.Equal(id, d.Id);
        Assert.Equal(severity, d.Severity);
        // the exact place: the marked offsets, not merely text that looks the same
        Assert.Equal((start, end), (d.Location.SourceSpan.Start, d.Location.SourceSpan.End));
        Assert.Equal($"https://github.com/dsl-project/dsl/blob/main/docs/diagnostics/{id}.md", d.Descriptor.HelpLinkUri); // the DslHelpRoot default
        Assert.True(File.Exists(Path.Combine(DocsFolder(), id + ".md")), $"{id} has no help page in docs/diagnostics");
        // No cascade: apart from what the DSL reports (and CS0260 for a class that is not partial), the code compiles.
        Assert.DoesNotContain(GeneratorHarness.Errors(others), e => e.Id != "CS0260");
        return d;
    }

    private const string Usage = """

        static class Use
        {
            static void Run()
            {
                var m = new Demo.M(seed: 1);
                m.Parameters.ZeroGrad();
                var y = m.Forward(new System.Numerics.Tensors.ReadOnlyTensorSpan<float>(new float[6], new System.IntPtr[] { 1, 2, 3 }));
            }
        }
        """;

    /// <summary>What <see cref="Usage"/> does, for a model that reads token ids.</summary>
    private const string TokenUsage = """

        static class Use
        {
            static void Run()
            {
                var m = new Demo.M(seed: 1);
                m.Parameters.ZeroGrad();
                var y = m.Forward(new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new int[6], new System.IntPtr[] { 2, 3 }));
            }
        }
        """;

    [Fact]
    public void DSL0001_ClassNotPartial()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(features: 3)] [Dense(2)] public class [|M|] { }", "DSL0001", DiagnosticSeverity.Error);
        Assert.Contains("Class 'M' declares layers but is not partial", d.GetMessage());
    }

    [Fact]
    public void DSL0002_NonPositiveSizeMarksTheArgument()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(features: 3)] [Lstm([|hidden: 0|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'lstm': hidden must be positive, but is 0", d.GetMessage());
    }

    [Fact]
    public void DSL0002_APositionEmbeddingWithoutPositions()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [PositionEmbedding([|maxLength: 0|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'positionembedding': maxLength must be positive, but is 0", d.GetMessage());
    }

    [Fact]
    public void DSL1001_APositionEmbeddingFedOneVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Gru(4, ReturnSequences = false)] [[|PositionEmbedding(8)|]] [Dense(2)] public partial class M;" + Usage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'positionembedding' expects a sequence but 'gru' returns its last step only (ReturnSequences = false)", d.GetMessage());
    }

    [Fact]
    public void DSL0002_NonPositiveLayersMarksTheNamedArgument()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(features: 3)] [Gru(4, [|Layers = -1|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'gru': Layers must be positive, but is -1", d.GetMessage());
    }

    [Theory]
    [InlineData("[Lstm(1, [|Layers = 100_000_000|])]", "Layer 'lstm': Layers must be at most 256 (the generator writes out each stacked layer's code), but is 100000000")] // weights that fit in an array
    [InlineData("[Gru(4, Bidirectional = true, [|Layers = int.MaxValue|])]", "Layer 'gru': Layers must be at most 256 (the generator writes out each stacked layer's code), but is 2147483647")]
    [InlineData("[Rnn(2, [|Layers = 257|])]", "Layer 'rnn': Layers must be at most 256")]
    public void DSL0002_LayersPastTheMostOneAttributeStacks(string layer, string message)
    {
        // Layers had no upper bound but the weights' total (DSL1004): 10^8 stacked layers of one unit each were lowered one by one
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(features: 3)] {layer} [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.StartsWith(message, d.GetMessage());
    }

    [Fact]
    public void ADiagnosticLandsInItsModelsTreeWhenTreesShareAPath()
    {
        // trees parsed without a path (scripts, test hosts) share one: the first had been taken, and a span past its end had
        // made the analyzer throw (AD0001) instead of reporting
        var shortTree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("namespace A { }", GeneratorHarness.ParseOptions);
        var modelTree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(
            "using Dsl;\nnamespace Demo;\n// a comment to push the model past the first tree's end\n[Lstm(4)] [Dense(2)] public partial class M;", GeneratorHarness.ParseOptions);
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Models", [shortTree, modelTree], GeneratorHarness.References,
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        System.Collections.Immutable.ImmutableArray<Diagnostic> all = Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzerExtensions.WithAnalyzers(compilation, System.Collections.Immutable.ImmutableArray.Create<Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzer>(new Dsl.Generator.Analyzers.DslAnalyzer()))
            .GetAllDiagnosticsAsync().GetAwaiter().GetResult();
        Assert.DoesNotContain(all, d => d.Id == "AD0001");
        Diagnostic d = Assert.Single(all, x => x.Id == "DSL0003");
        Assert.Same(modelTree, d.Location.SourceTree);
        Assert.Equal("Lstm(4)", modelTree.ToString().Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
    }

    [Fact]
    public void DSL0003_MissingInputLayer()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [[|Lstm(4)|]] [Dense(2)] public partial class M;" + Usage, "DSL0003", DiagnosticSeverity.Error);
        Assert.Contains("its first layer is 'lstm'", d.GetMessage());
    }

    [Fact]
    public void DSL0004_MisplacedInputLayer()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Lstm(4)] [[|Input(features: 2)|]] [Dense(2)] public partial class M;" + Usage, "DSL0004", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'input_1' is an input layer and must be the first layer of 'M', but it is layer 3", d.GetMessage());
    }

    [Fact]
    public void DSL1003_EmbeddingAfterAFloatLayer()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(4)] [[|Embedding(vocab: 5, dim: 2)|]] [Dense(2)] public partial class M;" + Usage, "DSL1003", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'embedding' looks up token ids but follows 'dense', which produces floats; an embedding must be the model's first layer", d.GetMessage());
    }

    [Fact]
    public void DSL1004_LayerTooLarge()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [[|Lstm(hidden: 30000)|]] [Dense(2)] public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'lstm': weight_hh_l0 [120000, 30000] has more than 2,147,483,576 elements; a tensor must fit in one .NET array", d.GetMessage());
    }

    [Fact]
    public void DSL1009_ResidualWidthsDiffer()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Dense(16)] [[|Residual|]] [Dense(2)] public partial class M;" + Usage, "DSL1009", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'residual' adds the input of 'dense' ([batch, steps, 8]) to the output of 'dense' ([batch, steps, 16]); a residual connection needs the same shape on both sides", d.GetMessage());
    }

    [Fact]
    public void DSL1010_TiedWeightWithoutAnEmbedding()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Dense(4, [|TieEmbedding = true|])] public partial class M;" + Usage, "DSL1010", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'dense' ties its weight to the embedding: the model has no [Embedding] (it must be the first layer, reading token ids)", d.GetMessage());
    }

    [Fact]
    public void DSL1010_TiedWeightOfAnotherShape()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Lstm(hidden: 6)] [Dense(9, [|TieEmbedding = true|])] public partial class M;" + TokenUsage,
            "DSL1010", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'dense' ties its weight to the embedding: its weight [9, 6] must be the table of 'embedding' [10, 4], but units is 9, the vocabulary 10 " +
            "and its input is 6 wide, the embedding's vectors 4", d.GetMessage());
        Diagnostic width = Single("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Lstm(hidden: 6)] [Dense(10, [|TieEmbedding = true|])] public partial class M;" + TokenUsage,
            "DSL1010", DiagnosticSeverity.Error);
        Assert.EndsWith("but its input is 6 wide, the embedding's vectors 4", width.GetMessage());
    }

    [Fact]
    public void DSL0007_WeightInitOnATiedDense()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Dense(10, TieEmbedding = true, [|WeightInit = Init.XavierUniform|])] public partial class M;" + TokenUsage,
            "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("WeightInit = XavierUniform does not apply with TieEmbedding = true: the weight is the embedding's table, which the embedding's WeightInit initialises", d.GetMessage());
        // PyTorch draws the bias as nn.Linear's: allowed
        var (_, none, _, _) = GeneratorHarness.Run("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Dense(10, TieEmbedding = true, WeightInit = Init.PyTorch)] public partial class M;" + TokenUsage);
        Assert.Empty(none);
        // an embedding that is not first has DSL1003 alone, and sizes that are not positive DSL0002 alone
        Assert.Equal(["DSL1003"], GeneratorHarness.Run("using Dsl; namespace Demo; [Input(4)] [Embedding(vocab: 10, dim: 4)] [Dense(10, TieEmbedding = true)] public partial class M;").Dsl.Select(x => x.Id));
        Assert.Equal(["DSL0002"], GeneratorHarness.Run("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Dense(0, TieEmbedding = true)] public partial class M;").Dsl.Select(x => x.Id));
    }

    [Fact]
    public void DSL0007_ResidualSkippingPastTheInput()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Dense(4)] [Residual([|Layers = 3|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Layers = 3 skips past the first layer", d.GetMessage());
    }

    [Fact]
    public void DSL0007_BranchReachingPastTheInput()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Dense(4)] [Branch([|Layers = 2|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Layer 'branch': Layers = 2 reaches past the first layer: only 1 layer(s) come between it and the input", d.GetMessage());
        Diagnostic zero = Single("using Dsl; namespace Demo; [Input(4)] [Dense(4)] [Branch([|Layers = 0|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'branch': Layers must be positive, but is 0", zero.GetMessage());
    }

    [Fact]
    public void DSL1011_AnOutputNoResidualAddsAfterABranch()
    {
        // the residual adds x (the first norm's input) instead of the attention's output, which nothing then reads
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [LayerNorm] [Attention(Heads = 2, Causal = true)] [[|Branch(Layers = 2)|]] [LayerNorm] [Dense(16)] [Dense(8)] " +
            "[Residual(Layers = 6)] [Dense(2)] public partial class M;" + Usage, "DSL1011", DiagnosticSeverity.Warning);
        Assert.Equal("The output of 'attention' is read by nothing: 'branch' after it goes back to the input of 'layernorm', and no [Residual] after it adds that output", d.GetMessage());
        // counted right, or a later branch reading it: nothing to say
        Assert.Empty(GeneratorHarness.Run("using Dsl; namespace Demo; [Input(8)] [LayerNorm] [Attention(Heads = 2, Causal = true)] [Branch(Layers = 2)] [LayerNorm] [Dense(16)] [Dense(8)] " +
            "[Residual(Layers = 4)] [Residual(Layers = 7)] [Dense(2)] public partial class M;" + Usage).Dsl);
        Assert.Empty(GeneratorHarness.Run("using Dsl; namespace Demo; [Input(8)] [Dense(8)] [Branch] [Dense(8)] [Branch(Layers = 2)] [Dense(8)] [Residual(Layers = 2)] [Dense(2)] public partial class M;" + Usage).Dsl);
    }

    [Fact]
    public void DSL1009_AResidualAddingABranchOfAnotherWidth()
    {
        // the branch goes back to the input (8 wide); its dense is 6 wide, the dense before the branch 16
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Dense(16)] [Branch] [Dense(6)] [[|Residual(Layers = 2)|]] [Dense(2)] public partial class M;" + Usage,
            "DSL1009", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'residual' adds the input of 'branch' ([batch, steps, 16]) to the output of 'dense_1' ([batch, steps, 6]); a residual connection needs the same shape on both sides", d.GetMessage());
        // a branch back to the input, 8 wide, then 8 wide again: no diagnostic
        Assert.Empty(GeneratorHarness.Run("using Dsl; namespace Demo; [Input(8)] [Dense(16)] [Branch] [Dense(16)] [Residual(Layers = 2)] [Dense(2)] public partial class M;" + Usage).Dsl);
    }

    [Fact]
    public void DSL1001_APoolOfAPooledVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Lstm(4)] [Pool(PoolKind.Mean)] [[|Pool(PoolKind.First)|]] [Dense(2)] public partial class M;" + Usage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'pool_1' expects a sequence but 'pool' returns one vector per sequence ([Pool(PoolKind.Mean)])", d.GetMessage());
    }

    [Fact]
    public void DSL0007_APoolOfNoKnownKind()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Lstm(4)] [Pool([|(PoolKind)7|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("7 is not a known PoolKind (First, Last, Mean or Max)", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Input(4)] [[|TokenTypeEmbedding(types: 2, separator: 3)|]]", "token types are counted over the model's token ids: its first layer must be an [Embedding]")]
    [InlineData("[Embedding(vocab: 10, dim: 4)] [TokenTypeEmbedding(types: 2, [|separator: 10|])]", "separator 10 is no token of 'embedding' (its vocabulary holds ids 0 … 9)")]
    [InlineData("[Embedding(vocab: 10, dim: 4)] [TokenTypeEmbedding(types: 2, [|separator: -1|])]", "separator must be a token id (0 or more), not -1")]
    public void DSL0007_TokenTypesWithoutTheirTokens(string layers, string message)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; {layers} [Dense(2)] public partial class M;" + (layers.StartsWith("[Input", StringComparison.Ordinal) ? Usage : TokenUsage), "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void DSL0002_NoTokenTypes()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [TokenTypeEmbedding([|types: 0|], separator: 3)] [Dense(2)] public partial class M;" + TokenUsage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("types", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void DSL1001_TokenTypesOfAVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 10, dim: 4)] [Pool(PoolKind.First)] [[|TokenTypeEmbedding(types: 2, separator: 3)|]] [Dense(2)] public partial class M;" + TokenUsage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Contains("expects a sequence", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void DSL1001_PositionalEncodingOfAVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Lstm(4, ReturnSequences = false)] [[|PositionalEncoding|]] [Dense(2)] public partial class M;" + Usage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'positionalencoding' expects a sequence but 'lstm' returns its last step only (ReturnSequences = false)", d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(3)] [Gru(4)] [Attention([|InputFeeding = true|])] [Dense(2)]", "InputFeeding feeds the context over an encoder's outputs back into the recurrent layer: it needs Over")]
    [InlineData("[Embedding(5, 3)] [Gru(4)] [Attention(Over = typeof(E), Heads = 2, [|InputFeeding = true|])] [Dense(5)]", "InputFeeding applies to the Dot, General and Additive scores")]
    [InlineData("[Embedding(5, 3)] [Gru(4, Layers = 2)] [Attention(Over = typeof(E), Score = AttentionScore.General, [|InputFeeding = true|])] [Dense(5)]", "InputFeeding: 'gru' stacks 2 layers")]
    [InlineData("[Embedding(5, 3)] [Gru(4)] [Dense(4)] [Attention(Over = typeof(E), Score = AttentionScore.General, [|InputFeeding = true|])] [Dense(5)]", "the layer right before must be the recurrent layer")]
    public void DSL0007_InputFeedingNeedsARecurrentLayerBeforeAndAClassicScoreOverAnEncoder(string layers, string message)
    {
        string source = $"using Dsl; namespace Demo; [Embedding(6, 3)] [Gru(4)] public partial class E; {layers} public partial class M;";
        Diagnostic d = Single(source, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL0007_CrossAttentionOverTwoEncoders()
    {
        string source = "using Dsl; namespace Demo; [Embedding(6, 4)] [Gru(4)] public partial class A; [Embedding(6, 6)] [Gru(6)] public partial class B; " +
            "[Embedding(5, 4)] [Attention(Over = typeof(A))] [Attention([|Over = typeof(B)|])] [Dense(5)] public partial class M;";
        Diagnostic d = Single(source, "DSL0007", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention_1': Over = typeof(B): layer 'attention' attends over 'A', and a model attends over one encoder's outputs (its State carries one memory)", d.GetMessage());
    }

    [Fact]
    public void DSL0007_LstmProjectionNotSmallerThanHidden()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Lstm(4, [|Projection = 4|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Projection = 4 must be smaller than hidden = 4 (nn.LSTM's proj_size < hidden_size)", d.GetMessage());
    }

    [Fact]
    public void DSL0007_LayerNormEpsilon()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [LayerNorm([|Epsilon = 0f|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Epsilon must be a positive finite number", d.GetMessage());
    }

    [Theory]
    [InlineData("[Moe([|experts: 0|], units: 4)]", "Layer 'moe': experts must be positive, but is 0")]
    [InlineData("[Moe(experts: 4, [|units: -1|])]", "Layer 'moe': units must be positive, but is -1")]
    [InlineData("[Moe(experts: 4, units: 3, [|TopK = 0|])]", "Layer 'moe': TopK must be positive, but is 0")]
    [InlineData("[Moe(experts: 3, units: 3, [|TopK = 4|])]", "Layer 'moe': TopK must be at most 3 (a row goes to that many different experts), but is 4")]
    [InlineData("[Moe(experts: 3, units: 3, [|SharedUnits = -2|])]", "Layer 'moe': SharedUnits must be at least 0, but is -2")]
    public void DSL0002_MixtureOfExpertsSizes(string layer, string message)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(4)] {layer} [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal(message, d.GetMessage());
    }

    [Fact]
    public void DSL0007_MixtureOfExpertsActivationUnknown()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Moe(experts: 2, units: 3, [|Activation = (Activation)42|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Activation = 42 is not a known activation", d.GetMessage());
    }

    [Fact]
    public void DSL0007_ASharedExpertGateWithoutASharedExpert()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Moe(experts: 2, units: 3, [|SharedExpertGate = true|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("SharedExpertGate scales the shared expert's output: declare SharedUnits", d.GetMessage());
    }

    [Fact]
    public void DSL1004_ASharedExpertTooLargeForAnArray()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(65536)] [[|Moe(experts: 2, units: 3, SharedUnits = 20000)|]] [Dense(2)] public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Contains("shared_in", d.GetMessage());
    }

    [Theory]
    [InlineData("-0.1f", "LoadBalancingLoss is the load-balancing loss's coefficient: a finite number of at least 0 (0: none), not -0.1")]
    [InlineData("float.NaN", "not NaN")]
    [InlineData("float.PositiveInfinity", "not Infinity")]
    public void DSL0007_MixtureOfExpertsLoadBalancingNotAFiniteNonNegativeNumber(string value, string message)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(4)] [Moe(experts: 2, units: 3, [|LoadBalancingLoss = {value}|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL0015_ARouterOfOneRenormalisedChoiceLearnsNothing()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Moe(experts: 4, units: 3, [|TopK = 1|])] [Dense(2)] public partial class M;" + Usage, "DSL0015", DiagnosticSeverity.Warning);
        Assert.Equal("Layer 'moe': with TopK = 1 and NormalizeTopK = true each row's one weight is 1, so the loss gives the router no gradient and it learns nothing of the task (a load-balancing loss alone moves it); set NormalizeTopK = false (the Switch Transformer's), or choose more experts per row", d.GetMessage());
    }

    [Fact]
    public void DSL1004_MixtureOfExpertsTooLargeForAnArray()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4096)] [[|Moe(experts: 256, units: 1024)|]] [Dense(2)] public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Contains("weight_in [256, 2048, 4096]", d.GetMessage());
    }

    [Fact]
    public void DSL0007_ScaleNotFinite()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Scale([|float.NaN|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Factor must be a finite number, not NaN", d.GetMessage());
    }

    [Fact]
    public void DSL0007_LayerNormShiftWithoutItsAffineMap()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [LayerNorm(ElementwiseAffine = false, [|Bias = true|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Bias = true needs ElementwiseAffine = true", d.GetMessage());
    }

    [Theory]
    [InlineData("0f")]
    [InlineData("-1e-6f")]
    [InlineData("float.NaN")]
    [InlineData("float.PositiveInfinity")]
    public void DSL0007_RmsNormEpsilon(string epsilon)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(4)] [RmsNorm([|Epsilon = {epsilon}|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Epsilon must be a positive finite number", d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(8)] [Attention(Pool = true, [|Rotary = true|])]", "does not apply to attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, [|Rotary = true|])]", "does not apply to the General score")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|RotaryBase = 500f|])]", "RotaryBase sets the rotary position embedding's wavelengths; it applies only with Rotary = true")]
    [InlineData("[Input(8)] [Attention(Rotary = true, [|RotaryBase = 0f|])]", "RotaryBase must be a positive finite number, not 0")]
    [InlineData("[Input(12)] [Attention(Heads = 4, [|Rotary = true|])]", "each of the 4 head(s) of 12 is 3 wide, and must be even")]
    public void DSL0007_RotaryWhereItCannotTurn(string layers, string message)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; {layers} [Dense(2)] public partial class M;" + (layers.StartsWith("[Input", StringComparison.Ordinal) ? Usage : TokenUsage), "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL0007_AttentionWithoutBiasWhereThereAreNoProjections()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Attention(Score = AttentionScore.Additive, [|Bias = false|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Bias = false drops nn.MultiheadAttention's projection biases; the Additive score has no such projections", d.GetMessage());
    }

    [Fact]
    public void DSL0007_KeyValueHeadsThatDoNotDivideTheHeads()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 4, [|KeyValueHeads = 3|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("KeyValueHeads = 3 must divide Heads = 4", d.GetMessage());
        d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 2, [|KeyValueHeads = 4|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("KeyValueHeads = 4 must divide Heads = 2", d.GetMessage());
    }

    [Fact]
    public void DSL0007_KeyValueHeadsWhereNoHeadsAreShared()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 4, Pool = true, [|KeyValueHeads = 2|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("it does not apply to attention pooling", d.GetMessage());
        d = Single("using Dsl; namespace Demo; [Embedding(6, 4)] [Gru(4)] public partial class E; " +
            "[Embedding(5, 4)] [Gru(4)] [Attention(Over = typeof(E), Heads = 2, [|KeyValueHeads = 1|])] [Dense(5)] public partial class M;", "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("it does not apply to attention over an encoder's outputs", d.GetMessage());
    }

    [Theory]
    [InlineData("Rotary = true, [|RotaryScaling = 0.5f|]", "RotaryScaling must be a finite factor of 1 or more (LLaMA 3.1's: 8), not 0.5")]
    [InlineData("[|RotaryScaling = 8f|]", "RotaryScaling and its factors scale the rotary position embedding's frequencies; they apply only with Rotary = true")]
    [InlineData("Rotary = true, [|RotaryOriginalContext = 4096|]", "set RotaryScaling (LLaMA 3.1's factor, 8) too")]
    [InlineData("Rotary = true, [|RotaryScaling = 8f|], RotaryLowFrequencyFactor = 4f, RotaryHighFrequencyFactor = 4f", "RotaryLowFrequencyFactor (4) must be positive and RotaryHighFrequencyFactor (4) finite and above it")]
    [InlineData("Rotary = true, [|RotaryScaling = 8f|], RotaryOriginalContext = 0", "RotaryOriginalContext must be 1 or more (LLaMA 3.1's: 8192), not 0")]
    [InlineData("Rotary = true, [|RotaryScalingKind = RotaryScalingKind.Linear|]", "RotaryScalingKind says how RotaryScaling scales the frequencies; set RotaryScaling (the factor) too")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Linear, [|RotaryOriginalContext = 4096|]", "the linear one divides every frequency by RotaryScaling alone")]
    [InlineData("Rotary = true, RotaryScaling = 4f, [|RotaryScalingKind = (RotaryScalingKind)7|]", "RotaryScalingKind = 7 is not a known RotaryScalingKind")]
    [InlineData("Rotary = true, [|RotaryScalingKind = RotaryScalingKind.Yarn|]", "RotaryScalingKind says how RotaryScaling scales the frequencies; set RotaryScaling (the factor) too")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Yarn, [|RotaryHighFrequencyFactor = 32f|]", "YaRN keeps the pairs that turn more than 32 times over RotaryOriginalContext")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Yarn, [|RotaryOriginalContext = 0|]", "RotaryOriginalContext must be 1 or more (the context trained on; Qwen2.5's: 32768), not 0")]
    [InlineData("Rotary = true, RotaryScaling = 4f, [|RotaryScalingKind = RotaryScalingKind.LongRope|]", "LongRoPE divides each pair's frequency by a factor of RotaryShortFactors (within RotaryOriginalContext) and of RotaryLongFactors (past it): give both, as many (0 and 0)")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.LongRope, RotaryShortFactors = new[] { 1f, 2f }, [|RotaryLongFactors = new[] { 1f }|]", "give both, as many (2 and 1)")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.LongRope, [|RotaryShortFactors = new[] { 1f, 0f }|], RotaryLongFactors = new[] { 1f, 2f }", "RotaryShortFactors and RotaryLongFactors must be positive finite numbers")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.LongRope, [|RotaryShortFactors = new[] { 1f }|], RotaryLongFactors = new[] { 2f }", "RotaryShortFactors and RotaryLongFactors give 1 factors: LongRoPE needs one per pair of each head's 4 turned values, 2")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Yarn, [|RotaryShortFactors = new[] { 1f, 2f }|]", "RotaryShortFactors and RotaryLongFactors are LongRoPE's; they apply only with RotaryScalingKind = RotaryScalingKind.LongRope")]
    [InlineData("Rotary = true, [|RotaryScalingKind = RotaryScalingKind.Dynamic|]", "RotaryScalingKind says how RotaryScaling scales the frequencies; set RotaryScaling (the factor) too")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Dynamic, [|RotaryLowFrequencyFactor = 2f|]", "dynamic NTK raises the base of a pass that reaches past RotaryOriginalContext")]
    [InlineData("Rotary = true, RotaryScaling = 4f, RotaryScalingKind = RotaryScalingKind.Dynamic, [|RotaryOriginalContext = 0|]", "RotaryOriginalContext must be 1 or more (the context trained on, the configuration's max_position_embeddings), not 0")]
    [InlineData("Rotary = true, RotaryDimensions = 2, RotaryScaling = 4f, [|RotaryScalingKind = RotaryScalingKind.Dynamic|]", "dynamic NTK raises the base by a power d / (d − 2) of each head's d turned values: it needs more than 2, got 2")]
    [InlineData("[|RotaryDimensions = 2|]", "RotaryDimensions turns the first values of each head alone (a partial rotation); it applies only with Rotary = true")]
    [InlineData("Rotary = true, [|RotaryDimensions = 3|]", "RotaryDimensions = 3 turns pairs of each head's first values: it must be even and at most the head's 4")]
    [InlineData("Rotary = true, [|RotaryDimensions = 6|]", "RotaryDimensions = 6 turns pairs of each head's first values: it must be even and at most the head's 4")]
    public void DSL0007_RotaryScalingOutOfRange(string options, string message)
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Attention(Heads = 2, Causal = true, " + options + ")] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL0007_AlibiScaledWithoutAlibi()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Attention(Heads = 2, Causal = true, [|AlibiScaled = true|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("AlibiScaled scales ALiBi's bias with the scores (added before their scale: falcon-rw's); it applies only with Alibi = true", d.GetMessage());
    }

    [Fact]
    public void DSL0007_OutputBiasWhereThereIsNoProjection()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Attention(Score = AttentionScore.General, [|OutputBias = false|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("OutputBias = false drops nn.MultiheadAttention's output projection bias; the General score has no such projection", d.GetMessage());
        // (Bias = false with OutputBias = false, its default then, is no mistake: no projection bias at all)
        Assert.Empty(GeneratorHarness.Run("using Dsl; namespace Demo; [Input(8)] [Attention(Heads = 2, Bias = false, OutputBias = false)] [Dense(2)] public partial class M;" + Usage).Dsl);
    }

    [Theory]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|SlidingWindow = 4|])]", "it does not apply to attention pooling (its learned query has no position)")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, Causal = true, [|SlidingWindow = 4|])]", "it does not apply to the General score")]
    public void DSL0007_SlidingWindowWhereNoStepSeesOnlyTheStepsBefore(string layers, string message)
    {
        Diagnostic d = Single("using Dsl; namespace Demo; " + layers + " [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("SlidingWindow limits each step", d.GetMessage());
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL0002_NegativeSlidingWindow()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(8)] [Attention(Heads = 2, Causal = true, [|SlidingWindow = -1|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("SlidingWindow", d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|HeadWidth = 4|])]", "HeadWidth sets the width of each head", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, [|HeadWidth = 4|])]", "HeadWidth sets the width of each head", "the General score")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|QueryKeyNorm = true|])]", "QueryKeyNorm normalises each head's queries and keys", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.Additive, [|QueryKeyNorm = true|])]", "QueryKeyNorm normalises each head's queries and keys", "the Additive score")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|QueryKeyNormEpsilon = 1e-5f|])]", "QueryKeyNormEpsilon is the ε of the queries' and keys' normalisation", "only with QueryKeyNorm = true")]
    [InlineData("[Input(8)] [Attention(Heads = 2, QueryKeyNorm = true, [|QueryKeyNormEpsilon = 0f|])]", "QueryKeyNormEpsilon must be a positive finite number", "not 0")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Rotary = true, [|HeadWidth = 5|])]", "Rotary turns pairs of a head's values", "HeadWidth = 5 must be even")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|Scale = 0.5f|])]", "Scale sets the scores' scale", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Score = AttentionScore.Dot, [|Scale = 0.5f|])]", "Scale sets the scores' scale", "the Dot score (unscaled; use ScaledDot)")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|Scale = -1f|])]", "Scale must be a positive finite number", "not -1")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|SoftCap = 50f|])]", "SoftCap caps the scores of multi-head self-attention", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, [|SoftCap = 50f|])]", "SoftCap caps the scores of multi-head self-attention", "the General score")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|SoftCap = -1f|])]", "SoftCap must be a positive finite number (0: none)", "not -1")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|SoftCap = float.NaN|])]", "SoftCap must be a positive finite number (0: none)", "not NaN")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|ClipQkv = -1f|])]", "ClipQkv must be a positive finite number (0: none)", "not -1")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|QueryKeyNormAcrossHeads = true|])]", "QueryKeyNormAcrossHeads normalises each step's queries and keys all together", "only with QueryKeyNorm = true")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|ClipQkv = 8f|])]", "ClipQkv clamps the projected queries, keys and values of multi-head self-attention", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, [|ClipQkv = 8f|])]", "ClipQkv clamps the projected queries, keys and values of multi-head self-attention", "the General score")]
    [InlineData("[Input(8)] [Dense(4, Activation = Activation.Tanh, [|SoftCap = 30f|])]", "SoftCap is a tanh of its own", "Activation = Tanh")]
    [InlineData("[Input(8)] [Dense(4, Gated = true, [|SoftCap = 30f|])]", "SoftCap caps a layer's outputs", "a gated unit's")]
    [InlineData("[Input(8)] [Dense(4, [|SoftCap = float.NaN|])]", "SoftCap must be a positive finite number (0: none)", "not NaN")]
    public void DSL0007_HeadWidthQueryKeyNormScaleAndSoftCapWhereTheyDoNotApply(string layers, string message, string detail)
    {
        Diagnostic d = Single("using Dsl; namespace Demo; " + layers + " [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
        Assert.Contains(detail, d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(8)] [Attention(Heads = 2, Rotary = true, [|Alibi = true|])]", "Alibi adds a bias by distance", "rotary positions")]
    [InlineData("[Input(8)] [Attention(Heads = 2, RelativeBuckets = 32, [|Alibi = true|])]", "Alibi adds a bias by distance", "a relative position table (RelativeBuckets)")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|Alibi = true|])]", "Alibi adds a bias by distance", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Heads = 2, SoftCap = 5f, [|Alibi = true|])]", "Alibi adds a bias by distance", "soft-capped scores")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Causal = true, Rotary = true, [|RelativeBuckets = 32|])]", "RelativeBuckets adds a learned bias by distance", "rotary positions")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Causal = true, [|RelativeBuckets = 1|])]", "RelativeBuckets = 1 must be 2 or more: a causal layer's buckets are one-sided", "T5's decoder's: 32")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Causal = true, RelativeBuckets = 32, [|RelativeMaxDistance = 16|])]", "RelativeMaxDistance = 16 must pass the 16 distances of 32 one-sided buckets", "T5's: 128")]
    [InlineData("[Input(8)] [Attention(Heads = 2, Pool = true, [|RelativeBuckets = 32|])]", "RelativeBuckets adds a learned bias by distance", "attention pooling")]
    [InlineData("[Input(8)] [Attention(Score = AttentionScore.General, [|RelativeBuckets = 32|])]", "RelativeBuckets adds a learned bias by distance", "the General score")]
    [InlineData("[Input(8)] [Attention(Heads = 2, SoftCap = 30f, [|RelativeBuckets = 32|])]", "RelativeBuckets adds a learned bias by distance", "soft-capped scores")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|RelativeBuckets = 7|])]", "RelativeBuckets = 7 must be even and 4 or more", "T5's and MPNet's: 32")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|RelativeBuckets = 2|])]", "RelativeBuckets = 2 must be even and 4 or more", "half for the rest")]
    [InlineData("[Input(8)] [Attention(Heads = 2, RelativeBuckets = 32, [|RelativeMaxDistance = 8|])]", "RelativeMaxDistance = 8 must pass the 8 distances of 32 buckets", "T5's: 128")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|RelativeMaxDistance = 64|])]", "RelativeMaxDistance sets where the relative position buckets stop growing", "only with RelativeBuckets")]
    [InlineData("[Input(8)] [Attention(Heads = 2, [|RelativeShared = false|])]", "RelativeShared = false gives a layer a relative position table of its own", "only with RelativeBuckets")]
    [InlineData("[Input(8)] [Attention(Heads = 2, RelativeBuckets = 8)] [Attention(Heads = 4, [|RelativeBuckets = 8|])]",
        "it reads the relative position table of 'attention' (RelativeShared, T5's and MPNet's one table for every layer), which has 2 head(s), 8 two-sided buckets up to 128", "this layer: 4 head(s), 8 two-sided buckets up to 128")]
    [InlineData("[Input(8)] [Attention(Heads = 2, RelativeBuckets = 8)] [Attention(Heads = 2, [|RelativeBuckets = 16|])]",
        "declare the same, or RelativeShared = false for a table of its own", "this layer: 2 head(s), 16 two-sided buckets up to 128")]
    [InlineData("[Input(8)] [Attention(Heads = 2, RelativeBuckets = 8)] [Attention(Heads = 2, Causal = true, [|RelativeBuckets = 8|])]",
        "which has 2 head(s), 8 two-sided buckets up to 128", "this layer: 2 head(s), 8 one-sided (causal) buckets up to 128")]
    public void DSL0007_RelativeBucketsWhereTheyDoNotApply(string layers, string message, string detail)
    {
        Diagnostic d = Single("using Dsl; namespace Demo; " + layers + " [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
        Assert.Contains(detail, d.GetMessage());
    }

    [Fact]
    public void DSL0002_NegativeRelativeBuckets()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 4, [|RelativeBuckets = -2|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("RelativeBuckets", d.GetMessage());
    }

    [Fact]
    public void DSL0002_NegativeHeadWidth()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 4, [|HeadWidth = -2|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("HeadWidth", d.GetMessage());
    }

    [Fact]
    public void HeadsNeedNotDivideTheWidthWhenHeadWidthSetsIt()
    {
        // Qwen3-style: 3 heads of 8 over a width of 10 (neither divides the other), QK-norm on them
        var (_, diagnostics, others, _) = GeneratorHarness.Run(
            "using Dsl; namespace Demo; [Input(10)] [Attention(Heads = 3, HeadWidth = 8, QueryKeyNorm = true, Causal = true, Rotary = true)] [Dense(2)] public partial class M;" + Usage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void DSL0002_NegativeKeyValueHeads()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(12)] [Attention(Heads = 4, [|KeyValueHeads = -2|])] [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("KeyValueHeads", d.GetMessage());
    }

    [Fact]
    public void DSL0007_GatedAndTied()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(6, 4)] [Gru(4)] [Dense(6, TieEmbedding = true, [|Gated = true|])] public partial class M;", "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Gated and TieEmbedding exclude each other", d.GetMessage());
    }

    [Fact]
    public void DSL0007_RotaryOverAnEncoder()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(6, 4)] [Gru(4)] public partial class E; " +
            "[Embedding(5, 4)] [Gru(4)] [Attention(Over = typeof(E), [|Rotary = true|])] [Dense(5)] public partial class M;", "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("does not apply to attention over an encoder's outputs", d.GetMessage());
    }

    [Fact]
    public void DSL1004_AttentionSoWideItsWeightsOverflowALong()
    {
        // 3 · (2³¹ − 1)² overflows a long: the size check must not wrap around (found by the fuzzer).
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(features: 2147483647)] [[|Attention(Causal = true)|]] public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Contains("in_proj_weight [6442450941, 2147483647]", d.GetMessage());
    }

    [Fact]
    public void DSL0011_ContainingTypeNotPartial()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; public class [|Outer|] { [Input(3)] [Dense(2)] public partial class M; }", "DSL0011", DiagnosticSeverity.Error);
        Assert.Contains("nested in 'Outer', which is not partial", d.GetMessage());
    }

    [Fact]
    public void DSL1002_SteppingABidirectionalModelIsReportedAtTheCall()
    {
        const string source = """
            using Dsl;
            namespace Demo;
            [Input(3)] [Gru(4, Bidirectional = true)] [Dense(2)] public partial class M;
            static class Use
            {
                static void Run(M m) => [|m.CreateState(2)|];
            }
            """;
        Diagnostic d = Single(source, "DSL1002", DiagnosticSeverity.Error);
        Assert.Equal("'M' cannot advance one step at a time: layer 'gru' is bidirectional and needs the whole sequence; use Forward over whole sequences", d.GetMessage());
    }

    [Theory]
    [InlineData("new M.State(2)")]
    [InlineData("m.Forward(x, (M.State)null!)")]
    [InlineData("m.Backward(x, x, (M.State)null!)")]
    public void DSL1002_CarryingAStateOfABidirectionalModelIsReportedAtTheCall(string call)
    {
        string source = $$"""
            using Dsl;
            namespace Demo;
            [Input(3)] [Gru(4, Bidirectional = true)] [Dense(2)] public partial class M;
            static class Use
            {
                static object Run(M m, System.Numerics.Tensors.ReadOnlyTensorSpan<float> x) => [|{{call}}|];
            }
            """;
        var (_, diagnostics, others, _) = GeneratorHarness.Run(source.Replace("[|", "").Replace("|]", ""));
        Assert.Empty(GeneratorHarness.Errors(others));
        Diagnostic d = Assert.Single(diagnostics, x => x.Id == "DSL1002" && x.Location.SourceTree!.ToString().Substring(x.Location.SourceSpan.Start, x.Location.SourceSpan.Length) == call);
        Assert.StartsWith("'M' cannot advance one step at a time: layer 'gru' is bidirectional", d.GetMessage());
    }

    [Fact]
    public void DSL0005_ProbabilityOutOfRange()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dropout([|1.5f|])] [Dense(2)] public partial class M;" + Usage, "DSL0005", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'dropout': p must be in [0, 1), but is 1.5", d.GetMessage());
    }

    [Fact]
    public void DSL0006_DuplicateLayerName()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(4)] [Dense(2, [|Name = \"dense\"|])] public partial class M;" + Usage, "DSL0006", DiagnosticSeverity.Error);
        Assert.Contains("Layer name 'dense' is used by more than one layer of 'M'", d.GetMessage());
    }

    [Fact]
    public void DSL0007_InvalidOption()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Rnn(4, [|Activation = Activation.Sigmoid|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'rnn': an RNN's Activation must be Tanh or Relu, not Sigmoid", d.GetMessage());
    }

    [Fact]
    public void DSL0007_NameThatIsNotAnIdentifier()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(2, [|Name = \"my layer\"|])] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("must be a non-empty identifier", d.GetMessage());
    }

    [Fact]
    public void DSL0008_NoLayerAfterInput()
    {
        Single("using Dsl; namespace Demo; [[|Input(3)|]] public partial class M;" + Usage, "DSL0008", DiagnosticSeverity.Error);
    }

    [Fact]
    public void DSL0009_GenericModel()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial class [|M|]<T>;", "DSL0009", DiagnosticSeverity.Error);
        Assert.Contains("generic classes are not supported", d.GetMessage());
    }

    [Fact]
    public void DSL0009_PrimaryConstructor()
    {
        // the generated constructor M(int seed = 0) cannot sit beside a primary constructor (CS8862): reported, nothing generated
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial class [|M|](int size);", "DSL0009", DiagnosticSeverity.Error);
        Assert.Contains("a class with a primary constructor", d.GetMessage());
    }

    [Fact]
    public void DSL0001_PointsAtTheDeclarationWithoutPartial()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(features: 3)] [Dense(2)] public partial class M; public class [|M|] { }", "DSL0001", DiagnosticSeverity.Error);
        Assert.Contains("Class 'M' declares layers but is not partial", d.GetMessage());
    }

    [Fact]
    public void DSL0002_AfterANamedArgumentInPlaceMarksThePositionalOne()
    {
        // vocab: 20 holds the first place: the 0 is dim
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 20, [|0|])] [Dense(2)] public partial class M;", "DSL0002", DiagnosticSeverity.Error);
        Assert.Contains("dim", d.GetMessage());
    }

    [Fact]
    public void DSL0012_OverNamesAnArrayType()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Lstm(4)] public partial class Enc; [Input(4)] [Attention([|Over = typeof(Enc[])|])] [Dense(2)] public partial class M;" + Usage, "DSL0012", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention': Over names 'Enc[]', which is not a model (a class with layer attributes)", d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(3)] [[|Repeat(2)|]] [Dense(4)] [Dense(2)]", "[Repeat(2)] has no [EndRepeat]: write it after the last layer to repeat (the layers stand as written once)")]
    [InlineData("[Input(3)] [Dense(4)] [[|EndRepeat|]] [Dense(2)]", "[EndRepeat] ends no [Repeat]: write [Repeat(n)] before the layers it repeats, or remove it")]
    [InlineData("[Input(3)] [Dense(4)] [[|Repeat(3)|]] [EndRepeat] [Dense(2)]", "[Repeat(3)] repeats no layer: write the layers to repeat between it and [EndRepeat]")]
    [InlineData("[Input(3)] [[|Repeat(0)|]] [Dense(4)] [EndRepeat] [Dense(2)]", "[Repeat(0)] must write its layers 1 or more times (the layers stand as written once)")]
    [InlineData("[Input(3)] [[|Repeat(100)|]] [Repeat(50)] [Dense(3)] [EndRepeat] [EndRepeat] [Dense(2)]", "the repeats write more than the 4096 layers a model may have, a recurrent layer's stacked layers counted one by one (the layers stand as written once)")]
    // nested past a long's range, counted without overflow
    [InlineData("[Input(3)] [[|Repeat(2000000000)|]] [Repeat(2000000000)] [Repeat(2000000000)] [Dense(3)] [EndRepeat] [EndRepeat] [EndRepeat] [Dense(2)]", "the repeats write more than the 4096 layers a model may have, a recurrent layer's stacked layers counted one by one (the layers stand as written once)")]
    // the outermost repeat whose own count takes the total past the limit, not merely the first
    [InlineData("[Input(3)] [Repeat(2)] [Dense(3)] [EndRepeat] [[|Repeat(5000)|]] [Dense(3)] [EndRepeat] [Dense(2)]", "the repeats write more than the 4096 layers a model may have, a recurrent layer's stacked layers counted one by one (the layers stand as written once)")]
    // a recurrent layer's stacked layers each written out
    [InlineData("[Input(4)] [[|Repeat(20)|]] [Lstm(4, Layers = 256)] [EndRepeat] [Dense(2)]", "the repeats write more than the 4096 layers a model may have, a recurrent layer's stacked layers counted one by one (the layers stand as written once)")]
    // an unclosed, empty repeat: one diagnostic, quoting the count written
    [InlineData("[Input(3)] [Dense(2)] [[|Repeat(2)|]]", "[Repeat(2)] has no [EndRepeat]: write it after the last layer to repeat (the layers stand as written once)")]
    public void DSL0014_InvalidRepeat(string layers, string message)
    {
        Diagnostic d = Single("using Dsl; namespace Demo; " + layers + " public partial class M;" + Usage, "DSL0014", DiagnosticSeverity.Error);
        Assert.Equal("Model 'M': " + message, d.GetMessage());
    }

    /// <summary>A mistake inside a repeated block is in every copy, at one place: it is reported once, naming the first copy.</summary>
    [Fact]
    public void AMistakeInARepeatedLayerIsReportedOnce()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Repeat(4)] [Dense(4)] [Dropout([|1.5f|])] [EndRepeat] [Dense(2)] public partial class M;" + Usage, "DSL0005", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'dropout': p must be in [0, 1), but is 1.5", d.GetMessage());
    }

    [Fact]
    public void DSL0013_AMisspeltOptionNamesTheClosest()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run("using Dsl; namespace Demo; [Input(3)] [Lstm(hidden: 4, ReturnSequence = false)] [Dense(2)] public partial class M;");
        Diagnostic d = Assert.Single(diagnostics, x => x.Id == "DSL0013");
        Assert.Equal("[Lstm] has no option 'ReturnSequence'; did you mean 'ReturnSequences'?", d.GetMessage());
        string source = d.Location.SourceTree!.ToString();
        Assert.Equal("ReturnSequence", source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Equal(source.IndexOf("ReturnSequence", StringComparison.Ordinal), d.Location.SourceSpan.Start);
        Assert.Contains(others, x => x.Id == "CS0246"); // what C# says beside it
    }

    [Fact]
    public void DSL0013_AnOptionFarFromAnyListsThemAll()
    {
        var (_, diagnostics, _, _) = GeneratorHarness.Run("using Dsl; namespace Demo; [Input(3)] [Dense(2, Bananas = 3)] public partial class M;");
        Diagnostic d = Assert.Single(diagnostics, x => x.Id == "DSL0013");
        Assert.Equal("[Dense] has no option 'Bananas'; its options are Activation, Bias, Gated, Name, SoftCap, TieEmbedding, WeightInit", d.GetMessage());
    }

    [Fact]
    public void DSL0009_RecordModel()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial record [|M|];", "DSL0009", DiagnosticSeverity.Error);
        Assert.Equal("'M' cannot be a model: a record cannot carry layers (the generated members need a plain class); declare it 'partial class'", d.GetMessage());
    }

    [Fact]
    public void DSL0010_DropoutOnASingleLayerIsAWarningAndTheModelStillGenerates()
    {
        const string source = "using Dsl; namespace Demo; [Input(3)] [Lstm(4, [|Dropout = 0.5f|])] [Dense(2)] public partial class M;";
        Diagnostic d = Single(source + Usage, "DSL0010", DiagnosticSeverity.Warning);
        Assert.Contains("only acts between stacked layers", d.GetMessage());
        var (_, _, _, result) = GeneratorHarness.Run(source.Replace("[|", "").Replace("|]", ""));
        Assert.Contains("ForwardPass", result.Results.Single().GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void DSL1001_SequenceLayerFedAVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Lstm(4, ReturnSequences = false)] [[|Gru(5)|]] [Dense(2)] public partial class M;" + Usage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'gru' expects a sequence but 'lstm' returns its last step only (ReturnSequences = false)", d.GetMessage());
    }

    [Fact]
    public void DSL1005_HeadsThatDoNotDivideTheWidth()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(10)] [Attention([|Heads = 3|])] [Dense(2)] public partial class M;" + Usage, "DSL1005", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention': 3 heads do not divide the width 10; each head needs an equal share", d.GetMessage());
    }

    [Fact]
    public void DSL1006_CausalAttentionAfterABidirectionalLayerIsAWarning()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Gru(4, Bidirectional = true)] [Attention(Heads = 2, [|Causal = true|])] [Dense(2)] public partial class M;" + Usage, "DSL1006", DiagnosticSeverity.Warning);
        Assert.Contains("'gru' before it is bidirectional", d.GetMessage());
    }

    [Fact]
    public void DSL0007_HeadsWithTheAdditiveScore()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Attention([|Heads = 2|], Score = AttentionScore.Additive)] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("the General and Additive scores have one head", d.GetMessage());
    }

    [Fact]
    public void DSL0007_UnitsWithoutTheAdditiveScore()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Attention([|Units = 3|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("applies only with Score = Additive", d.GetMessage());
    }

    private const string Encoder = """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 20, dim: 6)]
        [Lstm(hidden: 5, Bidirectional = true)]
        public partial class Enc;
        """;

    private const string TranslatorUsage = """

        static class UseTranslator
        {
            static void Run()
            {
                var m = new Demo.T(seed: 1);
                m.Parameters.ZeroGrad();
                var src = new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new int[6], new System.IntPtr[] { 2, 3 });
                float loss = m.Backward(src, default, src, src, teacherForcing: 0.5f);
            }
        }
        """;

    [Fact]
    public void DSL0012_OverNamesATypeThatIsNotAModel()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; public class Plain { } [Input(4)] [Attention([|Over = typeof(Plain)|])] [Dense(2)] public partial class M;" + Usage, "DSL0012", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention': Over names 'Plain', which is not a model (a class with layer attributes)", d.GetMessage());
    }

    [Fact]
    public void DSL0012_EncoderDecoderNamesATypeThatIsNotAModel()
    {
        Diagnostic d = Single(Encoder + " public class Plain { } [EncoderDecoder(typeof(Enc), [|typeof(Plain)|])] public partial class T;" + TranslatorUsage, "DSL0012", DiagnosticSeverity.Error);
        Assert.Equal("'T': the decoder names 'Plain', which is not a model (a class with layer attributes)", d.GetMessage());
        // named arguments in another order: the squiggle stays on the decoder's (it had marked the encoder's)
        d = Single(Encoder + " public class Plain { } [EncoderDecoder([|decoder: typeof(Plain)|], encoder: typeof(Enc))] public partial class T;" + TranslatorUsage, "DSL0012", DiagnosticSeverity.Error);
        Assert.Contains("the decoder names 'Plain'", d.GetMessage());
    }

    [Fact]
    public void DSL1007_DotScoreBetweenDifferentWidths()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 7)] [Attention(Over = typeof(Enc), [|Score = AttentionScore.Dot|])] [Dense(9)] public partial class Dec;",
            "DSL1007", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention': the Dot score compares the query (width 7) with the outputs of 'Enc' (width 10); the widths must be equal, or use Score = General or Additive", d.GetMessage());
    }

    [Fact]
    public void DSL1008_DecoderThatCannotStep()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10, Bidirectional = true)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), [|typeof(Dec)|])] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: its decoder 'Dec' cannot step (layer 'lstm' is bidirectional and needs the whole sequence); decoding runs one token at a time", d.GetMessage());
    }

    [Fact]
    public void DSL1008_EncoderThatReturnsOneVector()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5, ReturnSequences = false)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5)] [Dense(9)] public partial class Dec; [EncoderDecoder([|typeof(Enc)|], typeof(Dec))] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Contains("its encoder 'Enc' returns one vector per sequence", d.GetMessage());
    }

    [Fact]
    public void DSL1008_DecoderAttendingOverAnotherModel()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10)] public partial class Other; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10)] [Attention(Over = typeof(Other))] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), [|typeof(Dec)|])] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: the decoder's layer 'attention' attends over 'Other', not over the encoder 'Enc'", d.GetMessage());
    }

    [Fact]
    public void DSL1008_DecoderWithMoreStackedLayersThanTheEncoder()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Gru(hidden: 10, Layers = 2)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), [|typeof(Dec)|])] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: the decoder's 'gru' has 2 stacked layers but the encoder's 'lstm' only 1; each decoder layer starts from an encoder layer", d.GetMessage());
    }

    [Fact]
    public void DSL1008_SharedEmbeddingOfAnotherShapeOrWithoutTokens()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), typeof(Dec), [|ShareEmbedding = true|])] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: ShareEmbedding: the encoder's 'embedding' is [20, 6] and the decoder's 'embedding' [9, 4]; one table serves both only with one vocabulary and width (a joint vocabulary)", d.GetMessage());
        Diagnostic features = Single("using Dsl; namespace Demo; [Input(3)] [Lstm(hidden: 5)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), typeof(Dec), [|ShareEmbedding = true|])] public partial class T;",
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: ShareEmbedding: its encoder 'Enc' reads 3 features a step, not tokens; one embedding serves both only when both models start with an [Embedding]", features.GetMessage());
    }

    [Fact]
    public void DSL1008_EncoderThatAttendsOverAnotherModel()
    {
        // an encoder with cross-attention of its own cannot run alone: every Encode had thrown at run time
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 5, dim: 8)] [Lstm(hidden: 8)] public partial class X; [Embedding(vocab: 20, dim: 8)] [Lstm(hidden: 8)] [Attention(Over = typeof(X), Score = AttentionScore.Dot)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 8)] [Dense(9)] public partial class Dec; [EncoderDecoder([|typeof(Enc)|], typeof(Dec))] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Equal("'T' cannot be used: its encoder 'Enc' attends over another model's outputs (layer 'attention'); an encoder reads only its own input", d.GetMessage());
        // and a layer attending over such a model
        Diagnostic over = Single("using Dsl; namespace Demo; [Embedding(vocab: 5, dim: 8)] [Lstm(hidden: 8)] public partial class X; [Embedding(vocab: 20, dim: 8)] [Lstm(hidden: 8)] [Attention(Over = typeof(X), Score = AttentionScore.Dot)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 8)] [Attention([|Over = typeof(Enc)|])] [Dense(9)] public partial class Dec;",
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Contains("its layer 'attention' attends over 'Enc', which attends over another model's outputs itself", over.GetMessage());
    }

    [Theory]
    [InlineData("[Lstm(hidden: 5, ReturnSequences = false)] [Dense(9)]", "its decoder 'Dec' returns one vector per sequence; a decoder returns its logits at every step")]
    [InlineData("[Lstm(hidden: 5)] [Dense(12)]", "its decoder 'Dec' outputs 12 logits a step but reads a vocabulary of 9")]
    public void DSL1008_DecoderWhoseOutputCannotBeFedBack(string layers, string message)
    {
        // Backward and Loss had refused [batch, steps] targets for [batch] outputs; greedy decoding fed back ids past the vocabulary
        Diagnostic d = Single($"using Dsl; namespace Demo; [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] {layers} public partial class Dec; [EncoderDecoder(typeof(Enc), [|typeof(Dec)|])] public partial class T;" + TranslatorUsage,
            "DSL1008", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void DSL1004_RecurrentWeightsTooLargeToPackForTheSteps()
    {
        // (G + 64)(H + 32) floats in int had wrapped to a negative workspace length that compiled
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [[|Lstm(hidden: 30000, Projection = 16)|]] [Dense(2)] public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Contains("weight_hh_l0 packed for the step products [120064, 30032]", d.GetMessage());
    }

    [Fact]
    public void DSL0009_AKeywordAsTheModelsName()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial class [|@event|];", "DSL0009", DiagnosticSeverity.Error);
        Assert.Contains("the name 'event' is a C# keyword (written @event)", d.GetMessage());
    }

    [Theory]
    [InlineData("[Lstm(hidden: Sizes.Hidden)]", "CS0182")]   // not a constant
    [InlineData("[Lstm()]", "CS7036")]                       // no hidden at all
    [InlineData("[Lstm(hidden: \"8\")]", "CS1503")]           // of another type
    public void AnArgumentCSharpRefusesGetsNoDslDiagnosticBesideIt(string layer, string error)
    {
        // C# has said what is wrong; a DSL0002 "hidden must be positive, but is 0" beside it names a 0 nobody wrote
        var (_, diagnostics, others, _) = GeneratorHarness.Run($"using Dsl; namespace Demo; static class Sizes {{ public static int Hidden = 8; }} [Input(3)] {layer} [Dense(2)] public partial class M;");
        Assert.Contains(GeneratorHarness.Errors(others), e => e.Id == error);
        Assert.Empty(diagnostics);
        // the class's own mistakes, which no argument changes, stay beside C#'s error (they had been cleared with the rest)
        var (_, notPartial, _, _) = GeneratorHarness.Run($"using Dsl; namespace Demo; static class Sizes {{ public static int Hidden = 8; }} [Input(3)] {layer} [Dense(2)] public class M;");
        Assert.Equal("DSL0001", Assert.Single(notPartial).Id);
    }

    [Fact]
    public void ModelsWhoseNamesDifferOnlyInCaseBothGenerate()
    {
        // Roslyn compares source names without regard to case: Demo.m.g.cs after Demo.M.g.cs had failed the generator (CS8785)
        var (output, diagnostics, others, result) = GeneratorHarness.Run(
            "using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial class M; [Input(3)] [Dense(4)] public partial class m;" + """

            static class Use
            {
                static void Run()
                {
                    var a = new Demo.M(seed: 1);
                    var b = new Demo.m(seed: 1);
                    int widths = Demo.M.OutputWidth + Demo.m.OutputWidth;
                }
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(2, result.Results.Single().GeneratedSources.Length);
    }

    [Fact]
    public void DSL0007_CrossAttentionWithHeads()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10)] [Attention(Over = typeof(Enc), Score = AttentionScore.Dot, [|Heads = 2|])] [Dense(9)] public partial class Dec;", "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("the Dot, General and Additive scores over an encoder have one head", d.GetMessage());
    }

    [Fact]
    public void DSL1005_CrossAttentionHeadsThatDoNotDivideTheQueryWidth()
    {
        Diagnostic d = Single(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 10)] [Attention(Over = typeof(Enc), [|Heads = 3|])] [Dense(9)] public partial class Dec;", "DSL1005", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'attention': 3 heads do not divide the width 10; each head needs an equal share", d.GetMessage());
    }

    [Fact]
    public void MultiHeadCrossAttentionBetweenDifferentWidthsCompiles()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 8)] [Attention(Over = typeof(Enc), Heads = 4, Dropout = 0.1f)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), typeof(Dec))] public partial class T;" + TranslatorUsage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void ValidEncoderDecoderCompilesWithoutDiagnostics()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run(Encoder + " [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 8)] [Attention(Over = typeof(Enc), Score = AttentionScore.Additive, Units = 6)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), typeof(Dec))] public partial class T;" + TranslatorUsage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Empty(others.Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
    }

    [Fact]
    public void DSL1001_ASequenceLayerAfterAttentionPooling()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Attention(Pool = true)] [[|Lstm(3)|]] [Dense(2)] public partial class M;" + Usage, "DSL1001", DiagnosticSeverity.Error);
        Assert.Equal("Layer 'lstm' expects a sequence but 'attention' returns one pooled vector per sequence (Pool = true)", d.GetMessage());
    }

    [Fact]
    public void DSL0007_CausalAttentionPooling()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Input(4)] [Attention(Pool = true, [|Causal = true|])] [Dense(2)] public partial class M;" + Usage, "DSL0007", DiagnosticSeverity.Error);
        Assert.Contains("Causal does not apply to attention pooling", d.GetMessage());
    }

    [Fact]
    public void DSL1002_SteppingAModelWithAttentionIsReportedAtTheCall()
    {
        const string source = """
            using Dsl;
            namespace Demo;
            [Input(4)] [Attention(Heads = 2)] [Dense(2)] public partial class M;
            static class Use
            {
                static void Run(M m) => [|m.CreateState(1)|];
            }
            """;
        Diagnostic d = Single(source, "DSL1002", DiagnosticSeverity.Error);
        Assert.Contains("layer 'attention' attends over the whole sequence, later steps included (a decoder that steps declares Causal = true)", d.GetMessage());
    }

    [Fact]
    public void DSL1002_AttentionPoolingCannotStep()
    {
        const string source = """
            using Dsl;
            namespace Demo;
            [Input(4)] [Gru(3)] [Attention(Score = AttentionScore.General, Pool = true)] [Dense(2)] public partial class M;
            static class Use
            {
                static void Run(M m) => [|m.CreateState(1)|];
            }
            """;
        Diagnostic d = Single(source, "DSL1002", DiagnosticSeverity.Error);
        Assert.Contains("layer 'attention' pools the whole sequence into one vector", d.GetMessage());
    }

    [Theory]
    [InlineData("[Input(4)] [PositionalEncoding] [Lstm(3)] [Dense(2)]")]
    [InlineData("[Input(4)] [Attention(Heads = 2, Causal = true)] [Dense(2)]")]
    [InlineData("[Input(4)] [Attention(Score = AttentionScore.General, Causal = true)] [Dense(2)]")]
    [InlineData("[Embedding(9, 4)] [Gru(5)] [Attention(Score = AttentionScore.Additive, Units = 3, Causal = true, Dropout = 0.1f)] [Dense(9)]")]
    [InlineData("[Embedding(9, 4)] [PositionalEncoding] [Attention(Causal = true, Score = AttentionScore.Dot)] [Residual] [LayerNorm] [Dense(9)]")]
    public void PositionalEncodingAndCausalAttentionStep(string layers)
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run($$"""
            using Dsl;
            namespace Demo;
            {{layers}} public partial class M;
            static class Use
            {
                static void Run(M m) => m.CreateState(1);
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void AnInvalidModelThrowsNamingTheDiagnostic()
    {
        var (_, _, others, result) = GeneratorHarness.Run("using Dsl; namespace Demo; [Input(3)] [Lstm(hidden: 0)] [Dense(2)] public partial class M;" + Usage);
        string generated = result.Results.Single().GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("Model 'M' has declaration errors (DSL0002)", generated);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Theory]
    [InlineData("[Embedding(vocab: 6, dim: 3)] [Dense(6)]")]
    [InlineData("[Input(features: 2)] [Dropout(0.1f)] [Dense(3)]")]
    [InlineData("[Input(features: 2)] [Dense(4, Activation = Activation.Relu)] [Gru(3, ResetAfter = false)] [Dense(2)]")]
    [InlineData("[Input(features: 2)] [Rnn(3, ReturnSequences = false, Bidirectional = true, Layers = 3, Dropout = 0.3f)] [Dropout(0.5f)] [Dense(4)] [Dense(1)]")]
    [InlineData("[Embedding(vocab: 1, dim: 1)] [Lstm(1)] [Lstm(1, Name = \"second\")] [Gru(1)] [Rnn(1)] [Dense(1)]")]
    [InlineData("[Embedding(vocab: 10, dim: 8)] [Gru(16)] [Attention(Heads = 2)] [Dense(10)]")]
    [InlineData("[Input(features: 4)] [Lstm(6, Bidirectional = true, LearnInitialState = true, RecurrentDropout = 0.2f)] [Attention(Pool = true, Heads = 3)] [Dense(2)]")]
    [InlineData("[Input(features: 4)] [Attention(Score = AttentionScore.Additive, Pool = true, Units = 3)] [Dense(2)]")]
    [InlineData("[Input(features: 4)] [Attention(Score = AttentionScore.General, Pool = true)] [Dense(2)]")]
    [InlineData("[Input(features: 4)] [Attention(Score = AttentionScore.Additive, Causal = true)] [Attention(Score = AttentionScore.General)] [Dense(2)]")]
    [InlineData("[Input(features: 4)] [PositionalEncoding] [Attention(Heads = 2)] [Residual] [LayerNorm] [Dense(8, Activation = Activation.Relu)] [Dense(4)] [Residual(Layers = 2)] [LayerNorm] [Attention(Pool = true)] [Dense(2)]")]
    [InlineData("[Embedding(vocab: 5, dim: 3)] [Dense(3)] [Residual] [LayerNorm] [Dense(5)]")]
    public void AssortedValidStacksGenerateCodeThatCompiles(string layers)
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run($"using Dsl; namespace Demo; {layers} public partial class M;");
        Assert.Empty(diagnostics);
        Assert.Single(result.Results.Single().GeneratedSources);
        Assert.Empty(GeneratorHarness.Errors(others));
        // Generated code must not trouble a project that treats warnings as errors.
        Assert.Empty(others.Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
    }

    [Fact]
    public void AValidModelHasNoDiagnostics()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run("using Dsl; namespace Demo; [Input(3)] [Lstm(4, Layers = 2, Dropout = 0.2f)] [Dense(2)] public partial class M;" + Usage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void LayersOnTwoPartialDeclarationsAreReportedAndTheGeneratorDoesNotFail()
    {
        // each declaration that carries a layer attribute yields the class once: two sources of one name would fail the
        // generator (CS8785) and take every other model's code with it
        var (output, diagnostics, others, result) = GeneratorHarness.Run(
            "using Dsl; namespace Demo; [Input(features: 3)] [Lstm(8)] [Dense(2)] public partial class M;",
            "using Dsl; namespace Demo; [Input(features: 3)] public partial class M { }",
            "using Dsl; namespace Demo; [Input(features: 3)] [Dense(2)] public partial class Other;");
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal("DSL0004", Assert.Single(diagnostics).Id); // the second Input is not first
        var sources = result.Results.Single().GeneratedSources;
        Assert.Equal(["Demo.M.g.cs", "Demo.Other.g.cs"], sources.Select(s => s.HintName).Order());
        Assert.NotNull(output.GetTypeByMetadataName("Demo.Other")!.GetMembers("Forward").FirstOrDefault());
    }

    [Theory]
    [InlineData("[Input(4)] [Lstm(8)] [Attention(Name = \"packed\")] [Dense(2)]")]          // packed_weights: the attention's weights and the LSTM's packed ones
    [InlineData("[Input(4)] [Rnn(8)] [LayerNorm(Name = \"step\")] [Dense(2)]")]             // step_scratch
    [InlineData("[Input(4)] [Attention(Heads = 2)] [Dense(6, Name = \"attention_in_proj\")] [Dense(2)]")] // the field _attention_in_proj_weight
    public void LayerNamesThatMeetGeneratedNamesStillCompile(string layers)
    {
        var (output, diagnostics, others, _) = GeneratorHarness.Run($"using Dsl; namespace Demo; {layers} public partial class M;" + Usage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.NotNull(output.GetTypeByMetadataName("Demo.M"));
    }

    [Theory]
    [InlineData("[Embedding(vocab: 65, dim: 16)] [Lstm(hidden: {0})] [Dense(65)]")]
    [InlineData("[Input(4)] [Attention(Heads = {0})] [Dense(2)]")]
    [InlineData("[Input(4)] [Gru({0}, Bidirectional = true)] [Dense(2)]")]
    [InlineData("[Input(4)] [Lstm({0}, ReturnSequences = false)] [Dense(3)]")]
    public void AnInvalidModelKeepsThePublicSurfaceOfAValidOne(string layers)
    {
        // code that uses a model whose declaration has an error shows the DSL error only, not a cascade (CS0266, CS1503, CS1061)
        var (output, diagnostics, others, _) = GeneratorHarness.Run(
            $"using Dsl; namespace Demo; {string.Format(layers, 4)} public partial class V; {string.Format(layers, 0)} public partial class M;");
        Assert.Single(diagnostics.Select(d => d.Location.SourceSpan.Start).Distinct());
        Assert.Empty(GeneratorHarness.Errors(others));
        static IEnumerable<string> Surface(INamedTypeSymbol type) =>
            type.AllInterfaces.Select(i => "implements " + i.ToDisplayString())
                .Concat(type.GetMembers().Where(m => m.DeclaredAccessibility == Accessibility.Public && !m.IsImplicitlyDeclared)
                    .SelectMany(m => m is INamedTypeSymbol nested ? Surface(nested).Select(x => nested.Name + ": " + x) : [m.ToDisplayString()]))
                .Select(x => x.Replace("Demo.V", "Demo.M").Replace("V(", "M(").Replace(" V.", " M."));
        var valid = Surface(output.GetTypeByMetadataName("Demo.V")!).Order().ToList();
        var invalid = Surface(output.GetTypeByMetadataName("Demo.M")!).Order().ToList();
        Assert.Equal(valid, invalid);
    }

    [Fact]
    public void CodeThatUsesAnInvalidModelShowsOnlyItsDiagnostic()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run("""
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 65, dim: 16)] [Lstm(hidden: 0)] [Dense(65)] public partial class M;
            [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5)] public partial class Enc;
            [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 0)] [Attention(Over = typeof(Enc))] [Dense(9)] public partial class Dec;
            [EncoderDecoder(typeof(Enc), typeof(Dec))] public partial class Translator;
            static class Use
            {
                static void Run()
                {
                    IModel<int> m = new M(1);
                    var trainer = new Trainer(m, new Adam(m.Parameters));
                    M.State s = new M(1).CreateState(2);
                    int width = s.Tensors.Count + M.OutputWidth + M.Architecture.Layers.Count;
                    var t = new Translator(1);
                    Dec decoder = t.Decoder;
                    int[] output = t.Greedy(new System.Numerics.Tensors.ReadOnlyTensorSpan<int>(new int[3], new System.IntPtr[] { 1, 3 }), 1, 5);
                }
            }
            """);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(["DSL0002", "DSL0002", "DSL1008"], diagnostics.Select(d => d.Id).Order()); // the two hidden: 0, and the composition of an invalid decoder
    }

    [Theory]
    [InlineData("[Input(3)] [Dense(2)] file partial class [|M|];", "a file-local class ('file') cannot take the generated members")]
    [InlineData("file partial class Outer { [Input(3)] [Dense(2)] public partial class [|M|]; }", "it is nested in the file-local type 'Outer' ('file')")]
    public void DSL0009_FileLocalModelAndTheOthersStillGenerate(string declaration, string message)
    {
        // a file-local type's metadata name holds '<' and '>', which AddSource refuses: the generator had thrown, and every
        // model of the project had lost its code
        const string other = " [Input(3)] [Dense(4)] public partial class Other;";
        Diagnostic d = Single("using Dsl; namespace Demo; " + declaration + other, "DSL0009", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
        var (output, _, _, result) = GeneratorHarness.Run("using Dsl; namespace Demo; " + declaration.Replace("[|", "").Replace("|]", "") + other);
        Assert.Equal(["Demo.Other.g.cs"], result.Results.Single().GeneratedSources.Select(s => s.HintName));
        Assert.NotNull(output.GetTypeByMetadataName("Demo.Other")!.GetMembers("Forward").FirstOrDefault());
    }

    [Fact]
    public void HintNamesHoldOnlyCharactersAddSourceAccepts()
    {
        // the safety net behind DSL0009: a metadata name AddSource would refuse is rewritten, and two such names stay apart
        Assert.Equal("Demo.Outer+M", Dsl.Generator.ModelWithReferences.HintStem("Demo.Outer+M"));
        string a = Dsl.Generator.ModelWithReferences.HintStem("Demo.<Model0>F1__M"), b = Dsl.Generator.ModelWithReferences.HintStem("Demo.<Model1>F1__M");
        Assert.StartsWith("Demo._Model0_F1__M.", a, StringComparison.Ordinal);
        Assert.NotEqual(a, b);
        Assert.All(a + b, c => Assert.True(char.IsLetterOrDigit(c) || c is '.' or '_', $"'{c}' in a hint name"));
    }

    [Theory]
    [InlineData("[Input(3)] [Lstm(1100, [|Layers = 256|])] [Dense(2)]", "the total of its 256 stacked layers' weights has more than 2,147,483,576 elements")] // 256 × 9.7 M
    [InlineData("[Input(3)] [Gru(1000, Bidirectional = true, LearnInitialState = true, [|Layers = 200|])] [Dense(2)]", "the total of its 200 stacked layers' weights")]
    [InlineData("[Input(2000)] [Lstm(2000, [|Layers = 100|])] [Dense(2)]", "the total of its 100 stacked layers' weights")] // 100 × 32 016 000: each tensor fits, all do not
    public void DSL1004_StackedLayersWhoseWeightsTogetherAreTooMany(string layers, string message)
    {
        // Layers had no upper bound: lowering wrote a plan per stacked layer, int.MaxValue of them, and allocated without end
        Diagnostic d = Single($"using Dsl; namespace Demo; {layers} public partial class M;" + Usage, "DSL1004", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
        Assert.EndsWith("a layer's weights together are held to what one .NET array holds; lower Layers or hidden", d.GetMessage());
    }

    private const string EncoderLayers = "[Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5)]", DecoderLayers = "[Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5)] [Dense(9)]";

    [Theory]
    [InlineData($"{EncoderLayers} internal partial class Enc; {DecoderLayers} public partial class Dec; [EncoderDecoder([|typeof(Enc)|], typeof(Dec))] public partial class T;",
        "'T' cannot be used: its encoder 'Enc' is internal, less accessible than the public 'T', whose generated base class names it (CS0060)")]
    [InlineData($"{EncoderLayers} public partial class Enc; {DecoderLayers} internal partial class Dec; [EncoderDecoder(typeof(Enc), [|typeof(Dec)|])] public partial class T;",
        "its decoder 'Dec' is internal, less accessible than the public 'T'")]
    [InlineData($"internal partial class Outer {{ {EncoderLayers} public partial class Enc; }} {DecoderLayers} public partial class Dec; [EncoderDecoder([|typeof(Outer.Enc)|], typeof(Dec))] public partial class T;",
        "its encoder 'Enc' is internal, less accessible than the public 'T'")] // public, in an internal class
    [InlineData($"public partial class Holder {{ {EncoderLayers} protected partial class Enc; {DecoderLayers} public partial class Dec; [EncoderDecoder([|typeof(Enc)|], typeof(Dec))] internal partial class T; }}",
        "its encoder 'Enc' is protected, less accessible than the internal 'T'")] // neither reaches all that the other does
    public void DSL1008_APartLessAccessibleThanTheComposition(string declarations, string message)
    {
        // the generated class derives from EncoderDecoderModel<int, Enc, Dec>: a part less accessible than it had been CS0060 in generated code
        Diagnostic d = Single("using Dsl; namespace Demo; " + declarations + (declarations.Contains("Holder") ? "" : TranslatorUsage), "DSL1008", DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void APartAsAccessibleAsTheCompositionCompiles()
    {
        var (_, diagnostics, others, _) = GeneratorHarness.Run("using Dsl; namespace Demo; [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5)] internal partial class Enc; " +
            "[Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5)] [Dense(9)] public partial class Dec; [EncoderDecoder(typeof(Enc), typeof(Dec))] internal partial class T;" + TranslatorUsage);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void DSL1002_AMethodOfTheUsersNamedStepIsNoStepping()
    {
        // DSL1002 had been reported on any call of a method named Step or CreateState on a model that cannot step
        var (_, diagnostics, others, _) = GeneratorHarness.Run("""
            using Dsl;
            namespace Demo;
            [Input(3)] [Gru(4, Bidirectional = true)] [Dense(2)]
            public partial class M
            {
                public float Step(float x) => x;
                public int CreateState(string name) => name.Length;
            }
            static class Use
            {
                static float Run(M m) => m.Step(1f) + m.CreateState("a");
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
    }

    [Fact]
    public void DSL1008_ModelsAttendingOverEachOtherAreACycleFoundAtOnce()
    {
        // each of k layers re-shaped the other model, whose k layers re-shaped this one, to a depth of 8: k⁸ shapings
        string Model(string name, string over) =>
            $"[Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 4)] {string.Concat(Enumerable.Repeat($"[Attention(Over = typeof({over}))] ", 6))}[Dense(9)] public partial class {name}; ";
        string source = "using Dsl; namespace Demo; " + Model("A", "B") + Model("B", "A");
        var run = Task.Run(() => GeneratorHarness.Run(source));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "shaping two models attending over each other did not end in a minute");
        var (_, diagnostics, others, _) = run.Result;
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(12, diagnostics.Length); // each attention layer of each model, at once
        Assert.All(diagnostics, d =>
        {
            Assert.Equal("DSL1008", d.Id);
            Assert.Matches("^'(A|B)' cannot be used: its layer 'attention(_[1-5])?' starts a chain of models attending over each other that does not end$", d.GetMessage());
        });
    }

    [Theory]
    [InlineData("State")]
    [InlineData("Workspace")]
    [InlineData("Parameters")]
    [InlineData("Architecture")]
    [InlineData("Forward")]
    [InlineData("Step")]
    [InlineData("dense_forward")]   // the dense layer's pass
    [InlineData("_dense_weight")]   // its weight's field
    public void DSL0009_AModelNamedAsAGeneratedMember(string name)
    {
        // the generated member of the class's name had failed with CS0542 in generated code
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(3)] [Dense(2)] public partial class [|{name}|];", "DSL0009", DiagnosticSeverity.Error);
        Assert.StartsWith($"'{name}' cannot be a model: the generated code declares a member '{name}' in it", d.GetMessage());
        Assert.Contains("(CS0542)", d.GetMessage());
    }

    [Fact]
    public void DSL0009_ACompositionNamedAsAGeneratedMember()
    {
        Diagnostic d = Single("using Dsl; namespace Demo; [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5)] public partial class Enc; [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5)] [Dense(9)] public partial class Dec; " +
            "[EncoderDecoder(typeof(Enc), typeof(Dec))] public partial class [|SourceWidth|];", "DSL0009", DiagnosticSeverity.Error);
        Assert.StartsWith("'SourceWidth' cannot be a model: the generated code declares a member 'SourceWidth' in it", d.GetMessage());
    }

    [Theory]
    [InlineData("[Attention(Score = AttentionScore.Additive, [|Units = -3|])]", "Layer 'attention': Units must be at least 0, but is -3")]
    [InlineData("[Attention([|Units = -3|])]", "Layer 'attention': Units must be at least 0, but is -3")] // not DSL0007's "applies only with Additive"
    [InlineData("[Lstm(4, [|Projection = -1|])]", "Layer 'lstm': Projection must be at least 0, but is -1")]
    public void DSL0002_ANegativeSizeWhereZeroMeansNone(string layer, string message)
    {
        Diagnostic d = Single($"using Dsl; namespace Demo; [Input(4)] {layer} [Dense(2)] public partial class M;" + Usage, "DSL0002", DiagnosticSeverity.Error);
        Assert.Equal(message, d.GetMessage());
    }
}
