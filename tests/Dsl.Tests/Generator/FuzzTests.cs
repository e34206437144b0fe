using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>
/// Random layer stacks — random kinds, orders, sizes (0, negatives, huge), options and class shapes —
/// never crash the generator or the analyzer, and each declaration either gets a DSL error or compiles
/// with zero errors. 1 000 declarations in CI; for 10 000:
/// <c>DSL_FUZZ_COUNT=10000 dotnet test Dsl.sln -c Release --filter FullyQualifiedName~FuzzTests</c>.
/// </summary>
public class FuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Batch = 50;

    [Fact]
    public void RandomDeclarationsEitherGetADslErrorOrCompile()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("DSL_FUZZ_COUNT"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 1000;
        var rng = new Rng(20261122);
        int withDslError = 0, compiled = 0, ran = 0;
        for (int start = 0; start < count; start += Batch)
        {
            var sources = new List<string>();
            for (int i = start; i < Math.Min(count, start + Batch); i++) sources.Add(Declaration(rng, i, start));
            var (_, dsl, others, _) = GeneratorHarness.Run(sources.ToArray());

            Assert.DoesNotContain(others, d => d.Id is "AD0001" or "CS8785");
            foreach (Diagnostic e in others.Where(d => d.Severity == DiagnosticSeverity.Error))
                Assert.True(e.Location.IsInSource, $"an error outside any source: {e}");
            for (int i = start; i < Math.Min(count, start + Batch); i++)
            {
                string file = $"Model{i - start}.cs";
                // the generated file of the model, by its whole hint name (a model nested in Outer{i} is Fuzz.Outer{i}+M{i}.g.cs)
                string[] generated = [$"Fuzz.M{i}.g.cs", $"Fuzz.Outer{i}+M{i}.g.cs"];
                bool hasDslError = dsl.Any(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath == file);
                var errors = others.Where(d => d.Severity == DiagnosticSeverity.Error
                    && (d.Location.SourceTree?.FilePath == file || generated.Contains(Path.GetFileName(d.Location.SourceTree?.FilePath ?? "")))).ToList();
                if (hasDslError) withDslError++;
                else
                {
                    Assert.True(errors.Count == 0, $"declaration {i} has no DSL error but does not compile:\n{sources[i - start]}\n{string.Join("\n", errors.Take(5))}");
                    compiled++;
                    if (i % 10 == 0 && FuzzRun.CanRun(sources[i - start])) ran += FuzzRun.ForwardAndBackward(sources[i - start], $"Fuzz.M{i}") ? 1 : 0;
                }
            }
        }
        output.WriteLine($"{count} declarations: {withDslError} with a DSL error, {compiled} compiled cleanly, {ran} of those run forward and backward");
        // The generator must see both kinds, or the fuzzing is not exploring.
        Assert.True(withDslError > count / 10 && compiled > count / 10, $"{withDslError} with DSL errors, {compiled} compiled");
        Assert.True(ran > count / 100, $"only {ran} valid models were run");
    }

    private static readonly string[] Kinds = ["Input", "Embedding", "Rnn", "Lstm", "Gru", "Dense", "Dropout", "Attention", "LayerNorm", "Residual", "PositionalEncoding"];

    /// <summary>A model, or (one time in ten) an encoder–decoder composing two models of the same batch (first … first + Batch − 1).</summary>
    private static string Declaration(Rng rng, int index, int first)
    {
        string Model() => $"typeof(M{first + rng.NextInt(Batch)})";
        if (rng.NextInt(10) == 0)
        {
            return $"using Dsl;\nnamespace Fuzz;\n[EncoderDecoder({Model()}, {Model()})]\npublic partial class M{index};\n" +
                $"static class Use{index} {{ static object Run() => new M{index}(seed: 1).Parameters; }}";
        }
        var layers = new List<string>();
        int count = 1 + rng.NextInt(6);
        for (int l = 0; l < count; l++)
        {
            // Mostly a sensible order (an input layer first, none later), sometimes anything.
            string kind = (l == 0) == (rng.NextInt(12) != 0) ? Kinds[rng.NextInt(2)] : Kinds[2 + rng.NextInt(Kinds.Length - 2)];
            layers.Add(Layer(rng, kind, Model));
        }
        // sometimes a [Repeat(n)] … [EndRepeat] around some of them: mostly well formed, sometimes unclosed, empty, stray or below 1
        if (rng.NextInt(5) == 0)
        {
            int from = rng.NextInt(layers.Count + 1), to = from + rng.NextInt(layers.Count - from + 1);
            if (rng.NextInt(6) != 0) layers.Insert(to, "EndRepeat");
            if (rng.NextInt(6) != 0) layers.Insert(from, $"Repeat({new[] { "2", "3", "1", "0", "-1", "2000" }[rng.NextInt(6)]})");
        }
        string attributes = string.Join("\n", layers.Select(a => "[" + a + "]"));
        int shape = rng.NextInt(40);
        string name = $"M{index}";
        string usage = $"\nstatic class Use{index} {{ static object Run() => new {name}(seed: 1).Parameters; }}";
        return shape switch
        {
            0 => $"using Dsl;\nnamespace Fuzz;\n{attributes}\npublic class {name} {{ }}",
            1 => $"using Dsl;\nnamespace Fuzz;\npublic class Outer{index} {{\n{attributes}\npublic partial class {name};\n}}",
            2 => $"using Dsl;\nnamespace Fuzz;\n{attributes}\npublic partial class {name}<T>;",
            3 => $"using Dsl;\nnamespace Fuzz;\npublic static partial class Outer{index} {{\n{attributes}\ninternal partial class {name};\n}}\nstatic class Use{index} {{ static object Run() => new Outer{index}.{name}(seed: 1).Parameters; }}",
            _ => $"using Dsl;\nnamespace Fuzz;\n{attributes}\npublic partial class {name};{usage}",
        };
    }

    private static string Layer(Rng rng, string kind, Func<string> model)
    {
        var args = new List<string>();
        switch (kind)
        {
            case "Input": args.Add($"features: {Size(rng)}"); break;
            case "Embedding": args.Add($"vocab: {Size(rng)}"); args.Add($"dim: {Size(rng)}"); break;
            case "Dense": args.Add(Size(rng)); break;
            case "Dropout": args.Add(Probability(rng)); break;
            case "Attention" or "LayerNorm" or "Residual" or "PositionalEncoding": break;
            default: args.Add($"hidden: {Size(rng)}"); break;
        }
        var options = new List<string>();
        void Maybe(string option)
        {
            if (rng.NextInt(5) == 0) options.Add(option);
        }
        string Pick(params string[] values) => values[rng.NextInt(values.Length)];
        if (rng.NextInt(3) == 0) Maybe($"Name = \"{Pick("a", "b", "c", "d", "lstm", "dense", "x y", "", "_z9", "9a", "e1", "f2")}\"");
        switch (kind)
        {
            case "Embedding":
                Maybe($"WeightInit = {Init(rng)}");
                break;
            case "Dense":
                Maybe($"Activation = {Activation(rng)}");
                Maybe($"WeightInit = {Init(rng)}");
                break;
            case "Attention":
                if (rng.NextInt(2) == 0) options.Add($"Heads = {Pick("1", "2", "3", "4", "0", "-2")}");
                Maybe($"Causal = {Pick("true", "false")}");
                Maybe($"Pool = {Pick("true", "false")}");
                Maybe($"Score = {Pick("AttentionScore.ScaledDot", "AttentionScore.Dot", "AttentionScore.General", "AttentionScore.Additive")}");
                Maybe($"Dropout = {Probability(rng)}");
                if (rng.NextInt(3) == 0) options.Add($"Over = {(rng.NextInt(8) == 0 ? "typeof(string)" : model())}");
                Maybe($"Units = {Pick("4", "0", "-3", "7")}");
                break;
            case "LayerNorm":
                Maybe($"Epsilon = {Pick("1e-5f", "0.1f", "0f", "-1f", "float.NaN")}");
                break;
            case "Residual":
                Maybe($"Layers = {Pick("1", "2", "3", "0", "-1", "9")}");
                break;
            case "Rnn" or "Lstm" or "Gru":
                Maybe($"Layers = {Pick("1", "2", "3", "2", "1", "0", "-1")}");
                Maybe($"RecurrentDropout = {Probability(rng)}");
                Maybe($"LearnInitialState = {Pick("true", "false")}");
                Maybe($"Bidirectional = {Pick("true", "false")}");
                Maybe($"Dropout = {Probability(rng)}");
                Maybe($"ReturnSequences = {Pick("true", "false")}");
                Maybe($"WeightInit = {Init(rng)}");
                Maybe($"RecurrentInit = {Init(rng)}");
                if (kind == "Rnn") Maybe($"Activation = {Activation(rng)}");
                if (kind == "Lstm") Maybe($"ForgetBias = {Pick("0f", "1f", "2.5f", "-1f", "float.NaN", "float.PositiveInfinity")}");
                if (kind == "Gru") Maybe($"ResetAfter = {Pick("true", "false")}");
                break;
        }
        return $"{kind}({string.Join(", ", args.Concat(options))})";
    }

    private static string Size(Rng rng) => rng.NextInt(30) switch
    {
        0 => new[] { "0", "-1", "-2147483648" }[rng.NextInt(3)],
        1 => new[] { "2147483647", "100000", "30000", "46341", "20000", "1000" }[rng.NextInt(6)],
        _ => (1 + rng.NextInt(9)).ToString(CultureInfo.InvariantCulture),
    };

    private static string Probability(Rng rng) => rng.NextInt(8) == 0
        ? new[] { "1f", "-0.1f", "1.5f", "float.NaN" }[rng.NextInt(4)]
        : new[] { "0f", "0.2f", "0.5f", "0.99f" }[rng.NextInt(4)];

    private static string Activation(Rng rng) => new[] { "Activation.None", "Activation.Tanh", "Activation.Relu", "Activation.Sigmoid", "Activation.Tanh", "Activation.Relu", "Activation.None", "Activation.Tanh", "Activation.Relu", "(Activation)9" }[rng.NextInt(10)];

    private static string Init(Rng rng) => new[] { "Init.Default", "Init.Zeros", "Init.XavierUniform", "Init.XavierNormal", "Init.HeUniform", "Init.HeNormal", "Init.Orthogonal", "Init.PyTorch", "Init.Normal", "(Init)42" }[rng.NextInt(10)];
}

/// <summary>Compiles one valid fuzzed declaration on its own, loads it, and runs Forward and Backward through IModel.</summary>
internal static class FuzzRun
{
    /// <summary>Small, self-contained models: no other model referenced (cross-attention, compositions), sizes below 1 000, a plain top-level class.</summary>
    public static bool CanRun(string source) =>
        !source.Contains("Over =", StringComparison.Ordinal) && !source.Contains("EncoderDecoder", StringComparison.Ordinal) && !source.Contains("Outer", StringComparison.Ordinal)
        && !System.Text.RegularExpressions.Regex.IsMatch(source, @"\b\d{4,}\b") && source.Contains("public partial class M", StringComparison.Ordinal);

    /// <summary>Runs the model on a batch of 2 sequences of 3 steps; asserts finite outputs of the declared shape and a finite loss. True when it ran.</summary>
    public static bool ForwardAndBackward(string source, string typeName)
    {
        var (output, _, _, _) = GeneratorHarness.Run(source);
        using var stream = new MemoryStream();
        var emitted = output.Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5)));
        var context = new System.Runtime.Loader.AssemblyLoadContext(typeName, isCollectible: true);
        try
        {
            stream.Position = 0;
            Type type = context.LoadFromStream(stream).GetType(typeName, throwOnError: true)!;
            object model = Activator.CreateInstance(type, 1)!;
            const int B = 2, T = 3;
            var shape = (IModel)model;
            int width = shape.OutputWidth;
            nint[] outputShape = shape.ReturnsSequences ? [B, T, width] : [B, width];
            int outputs = shape.ReturnsSequences ? B * T : B;
            var targets = System.Numerics.Tensors.Tensor.Create(Enumerable.Range(0, outputs * width).Select(i => (float)Math.Sin(i)).ToArray(), outputShape);
            System.Numerics.Tensors.Tensor<float> result;
            float loss;
            if (model is IModel<int> tokens)
            {
                var input = System.Numerics.Tensors.Tensor.Create(Enumerable.Range(0, B * T).Select(i => i % shape.InputWidth).ToArray(), [B, T]);
                result = tokens.Forward(input);
                loss = tokens.Backward(input, targets);
            }
            else
            {
                var features = (IModel<float>)model;
                var input = System.Numerics.Tensors.Tensor.Create(Enumerable.Range(0, B * T * shape.InputWidth).Select(i => (float)Math.Cos(i)).ToArray(), [B, T, shape.InputWidth]);
                result = features.Forward(input);
                loss = features.Backward(input, targets);
            }
            Assert.Equal(outputShape, result.Lengths.ToArray());
            Assert.All(result.ToArray(), v => Assert.True(float.IsFinite(v), $"{typeName}: a non-finite output\n{source}"));
            Assert.True(float.IsFinite(loss), $"{typeName}: loss {loss}\n{source}");
            return true;
        }
        finally
        {
            context.Unload();
        }
    }
}
