using Dsl.Generator;
using Dsl.Generator.Emitting;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>
/// The device backend is written only when the project references Dsl.Gpu, from a flag the pipeline caches; the device
/// file compiles, matches its snapshot, and refuses what the device cannot run (an op of a kernel family Dsl.Gpu lacks).
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
        Assert.Contains("if (_deviceRun is not null) _deviceRun.ForwardPass(ws, training, state, outputToHost);", host);
        // a class loss runs on the device: the logits stay there and their gradient is written there
        Assert.Contains("ForwardPass(ws, training, state, outputToHost: _deviceRun is null);", host);
        Assert.Contains("float loss = _deviceRun is not null ? _deviceRun.SoftmaxCrossEntropy(ws, training, _labelSmoothing) : global::Dsl.Losses.SoftmaxCrossEntropy(", host);
        Snapshot.Verify(sources.Single(s => s.HintName == "Demo.CharModel.Device.g.cs").SourceText.ToString(), "Demo.CharModel.Device.g");
    }

    [Fact]
    public void AnOpWithoutADeviceKernelGivesAToThatRefusesNamingTheLayerAndNoDeviceBranch()
    {
        // Every layer kind runs on a device now: a kernel family Dsl.Gpu does not have (a new layer's, until it has it) is
        // what a refusal comes from. One is added to the LSTM's forward pass of the plan the generator lowered.
        var (_, _, _, result) = GeneratorHarness.RunWithDevice(Model);
        var (model, plan) = ((ShapedModel, ModelPlan?))result.Results.Single().TrackedSteps[DslGenerator.Steps.Lower].Single().Outputs.Single().Value;
        Assert.NotNull(plan);
        Assert.Null(DeviceEmitter.Blocker(plan));
        var mystery = new KernelOp("MysteryKernel", "Run", EquatableArray<Operand>.Empty);
        ModelPlan blocked = plan with
        {
            Layers = plan.Layers.Select(l => l.Name == "lstm" ? l with { Passes = l.Passes with { Forward = l.Passes.Forward.Append(mystery).ToEquatableArray() } } : l)
                .ToEquatableArray(),
        };
        string? why = DeviceEmitter.Blocker(blocked);
        Assert.NotNull(why);
        Assert.StartsWith("layer 'lstm' (", why);
        Assert.EndsWith("needs MysteryKernel.Run, which has no device kernel yet", why);
        string device = DeviceEmitter.Emit(model, blocked)!;
        Assert.Contains($"throw new global::System.NotSupportedException(\"Model 'CharModel' cannot run on a device: {why}; it runs on the host.\");", device);
        Assert.DoesNotContain("class DeviceRun", device);
        Assert.DoesNotContain("_deviceRun", ModelEmitter.Emit(model, blocked, device: true));
        Assert.Contains("_deviceRun", ModelEmitter.Emit(model, plan, device: true));
    }

    [Fact]
    public void ADecoderWithInputFeedingRunsItsAttentionStepInTheDevicesTimeLoop()
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
        string device = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Demo.Dec.Device.g.cs").SourceText.ToString();
        Assert.Contains("class DeviceRun", device);
        Assert.Contains("global::Dsl.Gpu.Kernels.CrossAttentionKernel.AdditiveForward(1, S, B, 4, M, memoryLengths, qRow,", device);
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
        Assert.Contains("ws.Memory!.GradientToDevice();", device);
        Assert.Contains("ws.Memory!.GradientFromDevice();", device);
        Assert.Contains("global::Dsl.Gpu.Kernels.CrossAttentionKernel.AdditiveForward(", device);
        Assert.Contains("ws.Memory!.Outputs", device); // the host's ws.Memory!.Memory.Span, on the device
        Assert.DoesNotContain("ws.Memory!.Memory.Span", device);
        // the encoder keeps its outputs on the device after an Encode, and its backward pass starts from the gradient there
        string encoder = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Demo.Enc.Device.g.cs").SourceText.ToString();
        Assert.Contains("public void Keep(Enc.Workspace host)", encoder);
        Assert.Contains("For(host).Resident.Keep(host.Encoded!);", encoder);
        Assert.Contains("ws.Resident.Drop(host.Encoded);", encoder);
        Assert.Contains("!ws.Resident.HoldsGradientOf(host.Encoded)", encoder);
        string host = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Demo.Enc.g.cs").SourceText.ToString();
        Assert.Contains("ForwardPass(ws, training, state: null, outputToHost: _deviceRun is null);", host);
        Assert.Contains("_deviceRun?.Keep(ws);", host);
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

    [Fact]
    public void AnInvalidModelKeepsItsDeviceMembers()
    {
        // model.To(device) on a model whose declaration has an error shows the DSL error only (not CS1061)
        var (_, diagnostics, others, _) = GeneratorHarness.RunWithDevice("""
            using Dsl;
            namespace Demo;
            [Embedding(vocab: 9, dim: 3)] [Gru(hidden: 0)] [Dense(9)] public partial class M;
            static class Use
            {
                static void Run(Dsl.Gpu.Device device)
                {
                    var m = new M(1);
                    m.To(device);
                    Dsl.Gpu.IDeviceModel d = m;
                    d.ToHost();
                }
            }
            """);
        Assert.Equal("DSL0002", Assert.Single(diagnostics).Id);
        Assert.Empty(GeneratorHarness.Errors(others));
    }
}
