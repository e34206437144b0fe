using Dsl.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>
/// The device backend is written only when the project references Dsl.Gpu, from a flag the pipeline caches; the device
/// file compiles, matches its snapshot, and refuses what the device cannot run.
/// </summary>
public class DeviceGeneratorTests
{
    private const string Model = """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 30, dim: 8)]
        [Lstm(hidden: 16)]
        [Dropout(0.1f)]
        [Dense(30)]
        public partial class CharModel;
        """;

    private const string Unrelated = "namespace Demo; public class Other { public int X; }";

    [Fact]
    public void WithoutDslGpuNoDeviceCodeIsWritten()
    {
        var (_, diagnostics, others, result) = GeneratorHarness.Run(Model);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        Assert.Equal(["CharModel.g.cs"], result.Results.Single().GeneratedSources.Select(s => Path.GetFileName(s.HintName).Replace("Demo.", "")));
        Assert.DoesNotContain("_deviceRun", result.Results.Single().GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void WithDslGpuTheDeviceFileCompilesAndMatchesItsSnapshot()
    {
        var (_, diagnostics, others, result) = GeneratorHarness.RunWithDevice(Model);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        var sources = result.Results.Single().GeneratedSources;
        Assert.Equal(2, sources.Length);
        string host = sources.Single(s => s.HintName == "Demo.CharModel.g.cs").SourceText.ToString();
        Assert.Contains("if (_deviceRun is not null) _deviceRun.ForwardPass(ws, training, state);", host);
        Snapshot.Verify(sources.Single(s => s.HintName == "Demo.CharModel.Device.g.cs").SourceText.ToString(), "Demo.CharModel.Device.g");
    }

    [Fact]
    public void ADecoderWithInputFeedingGetsAToThatRefusesNamingTheLayerWhileItsEncoderMoves()
    {
        const string source = """
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 9, dim: 3)]
            [Gru(hidden: 5)]
            public partial class Enc;
            [Embedding(vocab: 9, dim: 3)]
            [Gru(hidden: 5)]
            [Attention(Over = typeof(Enc), Score = AttentionScore.Additive, Units = 4, InputFeeding = true)]
            [Dense(9)]
            public partial class Dec;
            """;
        var (_, diagnostics, others, result) = GeneratorHarness.RunWithDevice(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        var sources = result.Results.Single().GeneratedSources;
        string device = sources.Single(s => s.HintName == "Demo.Dec.Device.g.cs").SourceText.ToString();
        Assert.True(device.Contains("cannot run on a device: layer 'gru'") && device.Contains("(input feeding), which has no device kernels yet"), device);
        Assert.DoesNotContain("class DeviceRun", device);
        Assert.DoesNotContain("_deviceRun", sources.Single(s => s.HintName == "Demo.Dec.g.cs").SourceText.ToString());
        Assert.Contains("class DeviceRun", sources.Single(s => s.HintName == "Demo.Enc.Device.g.cs").SourceText.ToString());
    }

    [Fact]
    public void ADecoderWithCrossAttentionReadsTheEncodersOutputsOnTheDevice()
    {
        const string source = """
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 9, dim: 3)]
            [Gru(hidden: 5)]
            public partial class Enc;
            [Embedding(vocab: 9, dim: 3)]
            [Gru(hidden: 5)]
            [Attention(Over = typeof(Enc), Score = AttentionScore.Additive, Units = 4)]
            [Dense(9)]
            public partial class Dec;
            """;
        var (_, diagnostics, others, result) = GeneratorHarness.RunWithDevice(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.Errors(others));
        string device = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Demo.Dec.Device.g.cs").SourceText.ToString();
        Assert.Contains("(ws.Memory ??= new global::Dsl.Gpu.DeviceEncoderOutput(Device)).Load(host.Memory!);", device);
        Assert.Contains("ws.Memory!.GradientToHost();", device);
        Assert.Contains("global::Dsl.Gpu.Kernels.CrossAttentionKernel.AdditiveForward(", device);
    }

    [Fact]
    public void TheDslGpuFlagIsCachedAcrossUnrelatedEdits()
    {
        CSharpCompilation compilation = GeneratorHarness.Compile(GeneratorHarness.DeviceReferences, Model, Unrelated);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        SyntaxTree other = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText(Unrelated.Replace("public int X;", "public int X; public int Y => X;"), GeneratorHarness.ParseOptions, path: other.FilePath));
        GeneratorRunResult run = driver.RunGenerators(edited).GetRunResult().Results.Single();
        var flag = run.TrackedSteps[DslGenerator.Steps.Device].SelectMany(s => s.Outputs).ToList();
        Assert.Equal([true], flag.Select(o => (bool)o.Value));
        // the flag is recomputed from the new compilation, but its value did not change: nothing after it reruns
        Assert.All(flag, o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(run.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output was {o.Reason}"));
        Assert.Equal(2, run.GeneratedSources.Length);
    }
}
