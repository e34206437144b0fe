using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Reflection;
using System.Text;
using CharRnn;
using Dsl;
using Dsl.Gpu;
using Spectre.Console;

// A character-level LSTM language model, trained on the project's own sources unless --corpus says otherwise.
Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

string text = options.Corpus is null ? DefaultCorpus() : File.ReadAllText(options.Corpus);
int[] ids = Chars.Encode(text);
// training draws windows of Steps + 1 characters from the first 90 %, validation reads the last 10 % (two characters or more)
static bool Enough(int length, int steps) => length * 9 / 10 >= steps + 2 && length - length * 9 / 10 >= 2;
if (!Enough(ids.Length, options.Steps))
{
    int needed = options.Steps + 2;
    while (!Enough(needed, options.Steps)) needed++;
    Console.Error.WriteLine($"The corpus has {ids.Length} characters; at least {needed} are needed for --steps {options.Steps} (90 % to train on, 10 % to validate).");
    return 2;
}

IModel<int> model = options.Hidden switch
{
    128 => new CharLstm128(options.Seed),
    256 => new CharLstm256(options.Seed),
    _ => new CharLstm512(options.Seed),
};
if (options.Resume && File.Exists(options.Checkpoint))
{
    try
    {
        model.Parameters.Load(options.Checkpoint);
    }
    catch (InvalidDataException e)
    {
        Console.Error.WriteLine(e.Message);
        Console.Error.WriteLine("(Was the checkpoint written with another --hidden?)");
        return 2;
    }
    AnsiConsole.MarkupLine($"Resumed from [green]{Markup.Escape(options.Checkpoint)}[/].");
}

// --device gpu: parameters, gradients, passes, clipping and Adam on the best accelerator found (CUDA, else OpenCL, else
// ILGPU's CPU accelerator); the default is the host's own kernels.
using Device? device = options.Device == "gpu" ? Device.Open() : null;
if (device is { Kind: DeviceKind.Cpu })
{
    // ILGPU's CPU accelerator runs kernels one simulated thread group at a time: right for tests, far slower than the host path
    Console.Error.WriteLine("--device gpu: no CUDA or OpenCL GPU on this machine (only ILGPU's CPU accelerator, which is for tests); use --device cpu.");
    return 2;
}
if (device is not null)
{
    ((IDeviceModel)model).To(device);
    AnsiConsole.MarkupLine($"Device: [green]{device.Kind}[/] ({Markup.Escape(device.Name)}).");
}

// Hold out the last 10 % of the text to measure how well the model generalises.
int split = ids.Length * 9 / 10;
int[] train = ids[..split], valid = ids[split..];
int B = options.Batch, T = options.Steps;
int stepsPerEpoch = Math.Max(1, train.Length / (B * T));
var optimizer = new Adam(model.Parameters, learningRate: options.LearningRate);
var rng = new Rng((ulong)options.Seed);
var tokens = new int[B * T];
var targets = new int[B * T];

AnsiConsole.MarkupLine($"Corpus: {text.Length:N0} characters ({(options.Corpus is null ? "the first 160,000 characters of the Dsl runtime's own sources" : Markup.Escape(options.Corpus))}); " +
    $"LSTM {options.Hidden}, {model.Parameters.ElementCount:N0} weights; batch {B} × {T} steps, {stepsPerEpoch} steps per epoch.");
AnsiConsole.MarkupLine($"{Environment.ProcessorCount} cores, {Dsl.Kernels.Gemm.Threads} GEMM threads, micro-kernel {Dsl.Kernels.Gemm.MicroKernel}.");
AnsiConsole.MarkupLine($"Validation loss before training: {Evaluate(model, valid, T):F3} nats (uniform guessing: {Math.Log(Chars.Count):F3}).");

var clock = Stopwatch.StartNew();
for (int epoch = 1; epoch <= options.Epochs; epoch++)
{
    double sum = 0;
    AnsiConsole.Progress()
        .AutoClear(false)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
        .Start(ctx =>
        {
            var task = ctx.AddTask($"epoch {epoch}/{options.Epochs}", maxValue: stepsPerEpoch);
            for (int step = 0; step < stepsPerEpoch; step++)
            {
                // Random windows of the training text; the target is the next character.
                for (int b = 0; b < B; b++)
                {
                    int start = rng.NextInt(train.Length - T - 1);
                    Array.Copy(train, start, tokens, b * T, T);
                    Array.Copy(train, start + 1, targets, b * T, T);
                }
                model.Parameters.ZeroGrad();
                float loss = model.Backward(new ReadOnlyTensorSpan<int>(tokens, [B, T]), new ReadOnlyTensorSpan<int>(targets, [B, T]));
                model.Parameters.ClipGradNorm(maxNorm: 5f);
                optimizer.Step();
                sum += loss;
                double mean = sum / (step + 1);
                task.Description = $"epoch {epoch}/{options.Epochs}  loss {mean:F3}  perplexity {Math.Exp(mean):F2}";
                task.Increment(1);
            }
        });
    model.Parameters.Save(options.Checkpoint);
    double validLoss = Evaluate(model, valid, T);
    AnsiConsole.MarkupLine($"  validation loss [yellow]{validLoss:F3}[/] (perplexity {Math.Exp(validLoss):F2}), {clock.Elapsed.TotalSeconds:F0} s, checkpoint saved to {Markup.Escape(options.Checkpoint)}");
}

// --weights bfloat16|int8|int4: the sample from the weights held in less memory, as a deployed model would be (training is done)
if (options.Weights != Precision.Float32)
{
    if (device is not null) ((IDeviceModel)model).ToHost(); // (a model is held on the host)
    long bytes = model.Parameters.ElementCount * 4;
    long held = model.Parameters.HoldWeightsIn(options.Weights);
    long after = model.Parameters.Sum(p => p.Precision switch
    {
        Precision.BFloat16 => 2L * p.Length,
        Precision.Int8 => p.Length + 4L * (p.Length / p.Shape[^1]),
        Precision.Int4 => p.Length / 2 + 4L * (p.Length / p.GroupSize),
        _ => 4L * p.Length,
    });
    string how = options.Weights switch
    {
        Precision.Int8 => "8-bit integers (a scale per row)",
        Precision.Int4 => "4-bit integers (a scale per 32 values)",
        _ => "bfloat16",
    };
    AnsiConsole.MarkupLine($"Weights held in {how}: {held:N0} of {model.Parameters.ElementCount:N0} values, {bytes / 1024.0:N0} KB → {after / 1024.0:N0} KB.");
}
AnsiConsole.MarkupLine($"[bold]Sample[/] (temperature {options.Temperature.ToString(CultureInfo.InvariantCulture)}):");
Console.WriteLine(Generate(model, options.Prime, options.Length, options.Temperature, new Rng((ulong)options.Seed + 1)));
return 0;

// Mean next-character loss over the held-out text, in windows of T characters.
static double Evaluate(IModel<int> model, int[] text, int steps)
{
    int windows = Math.Max(1, Math.Min(64, (text.Length - 1) / steps));
    steps = Math.Min(steps, text.Length - 1);
    var x = new int[windows * steps];
    var y = new int[windows * steps];
    for (int w = 0; w < windows; w++)
    {
        Array.Copy(text, w * steps, x, w * steps, steps);
        Array.Copy(text, w * steps + 1, y, w * steps, steps);
    }
    return model.Loss(new ReadOnlyTensorSpan<int>(x, [windows, steps]), new ReadOnlyTensorSpan<int>(y, [windows, steps]));
}

// Feeds the prime one character at a time, then samples each next character from the model.
static string Generate(IModel<int> model, string prime, int length, float temperature, Rng rng)
{
    IModelState state = model.CreateState(batch: 1);
    var input = new int[1];
    var logits = new float[Chars.Count];
    var output = new StringBuilder(prime);
    foreach (char c in prime[..^1])
    {
        input[0] = Chars.Encode(c);
        model.Step(new ReadOnlyTensorSpan<int>(input, [1]), state, new TensorSpan<float>(logits, [1, Chars.Count]));
    }
    input[0] = Chars.Encode(prime[^1]);
    for (int i = 0; i < length; i++)
    {
        model.Step(new ReadOnlyTensorSpan<int>(input, [1]), state, new TensorSpan<float>(logits, [1, Chars.Count]));
        input[0] = Sampling.Sample(logits, temperature, rng);
        output.Append(Chars.Decode(input[0]));
    }
    return output.ToString();
}

static string DefaultCorpus()
{
    const int DefaultCorpusLength = 160_000;
    Assembly assembly = typeof(Chars).Assembly;
    var sb = new StringBuilder();
    foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("corpus/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
    {
        using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
        sb.Append(reader.ReadToEnd()).Append('\n');
    }
    // A fixed amount of work: the sources grow from session to session, the default run should not.
    return sb.ToString(0, Math.Min(sb.Length, DefaultCorpusLength));
}

/// <summary>Command-line options.</summary>
internal sealed record Options
{
    public string? Corpus { get; init; }
    public int Epochs { get; init; } = 20;
    public int Hidden { get; init; } = 256;
    public float Temperature { get; init; } = 0.7f;
    public bool Resume { get; init; }
    public string Checkpoint { get; init; } = "charrnn.safetensors";
    public int Batch { get; init; } = 32;
    public int Steps { get; init; } = 64;
    public float LearningRate { get; init; } = 3e-3f;
    public int Seed { get; init; } = 1;
    public int Length { get; init; } = 400;
    public string Prime { get; init; } = "public ";
    public string Device { get; init; } = "cpu";
    public Precision Weights { get; init; } = Precision.Float32;
    public bool Help { get; init; }

    public const string Usage = """
        Usage: dotnet run --project samples/CharRnn -- [options]
          --corpus FILE        train on FILE (default: the first 160,000 characters of the Dsl runtime's own sources, embedded)
          --epochs N           passes over the corpus (default 20)
          --hidden 128|256|512 LSTM width (default 256)
          --temperature T      sampling temperature, 0 = greedy (default 0.7)
          --resume             continue from the checkpoint if it exists
          --checkpoint FILE    where weights are saved, as safetensors (default charrnn.safetensors)
          --batch N, --steps N sequences per batch and characters per sequence (default 32, 64)
          --lr X               Adam learning rate (default 0.003)
          --seed N             seed of weights, batches and sampling (default 1)
          --length N, --prime TEXT  length and start of the generated sample (default 400, "public ")
          --device cpu|gpu     where the model computes: the host's kernels (default), or a CUDA, else OpenCL, GPU
          --weights float32|bfloat16|int8|int4  how the weights are held for the sample, after training (default float32):
                               bfloat16, 8-bit integers with a scale per row or 4-bit with a scale per 32 values:
                               half, a quarter or about a sixth of the memory
                               (with neither, the run stops: ILGPU's CPU accelerator is for tests, far slower than the host)
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int(int min, int max)
            {
                string name = args[i], v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
                    ? n : throw new ArgumentException($"{name}: expected an integer in [{min}, {max}], got '{v}'.");
            }
            float Float(float min, float max)
            {
                string name = args[i], v = Value();
                return float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) && f >= min && f <= max
                    ? f : throw new ArgumentException($"{name}: expected a number in [{min}, {max}], got '{v}'.");
            }
            o = args[i] switch
            {
                "--corpus" => o with { Corpus = File.Exists(args[i + 1 < args.Length ? i + 1 : i]) ? Value() : throw new ArgumentException($"--corpus: no file '{(i + 1 < args.Length ? args[i + 1] : "")}'.") },
                "--epochs" => o with { Epochs = Int(0, 100_000) },
                "--hidden" => o with { Hidden = Int(128, 512) is var h && h is 128 or 256 or 512 ? h : throw new ArgumentException($"--hidden: expected 128, 256 or 512, got {h}.") },
                "--temperature" => o with { Temperature = Float(0f, 100f) },
                "--resume" => o with { Resume = true },
                "--checkpoint" => o with { Checkpoint = Value() },
                "--batch" => o with { Batch = Int(1, 4096) },
                "--steps" => o with { Steps = Int(1, 10_000) },
                "--lr" => o with { LearningRate = Float(0f, 10f) },
                "--seed" => o with { Seed = Int(0, int.MaxValue) },
                "--length" => o with { Length = Int(0, 1_000_000) },
                "--prime" => o with { Prime = Value() is { Length: > 0 } p ? p : throw new ArgumentException("--prime: must not be empty.") },
                "--device" => o with { Device = Value() is var d && d is "cpu" or "gpu" ? d : throw new ArgumentException($"--device: expected cpu or gpu, got '{args[i]}'.") },
                "--weights" => o with
                {
                    Weights = Value() switch
                    {
                        "float32" => Precision.Float32,
                        "bfloat16" => Precision.BFloat16,
                        "int8" => Precision.Int8,
                        "int4" => Precision.Int4,
                        var w => throw new ArgumentException($"--weights: expected float32, bfloat16, int8 or int4, got '{w}'."),
                    },
                },
                "--help" or "-h" => o with { Help = true },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
        }
        return o;
    }
}
