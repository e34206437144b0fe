using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using DateTranslator;
using Dsl;
using Spectre.Console;

// Translates dates as people write them ("the 3rd of March 1998", "03/03/98", "Tuesday, March 3, 1998") into ISO
// 1998-03-03 with an attention encoder–decoder; trains in a few minutes on 2 cores, reports exact match and BLEU for
// greedy and beam decoding on dates it has never seen, writes attention.svg, then translates the dates on the
// command line.
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

var model = new DateModel(seed: options.Seed);
var (train, test) = Dates.Split(options.TrainCount, options.TestCount, options.Seed);
bool loaded = false;
if (!options.Retrain && File.Exists(options.ModelPath))
{
    try
    {
        model.Parameters.Load(options.ModelPath);
        loaded = true;
        AnsiConsole.MarkupLine($"Loaded [green]{Markup.Escape(options.ModelPath)}[/] (--retrain trains again).");
    }
    catch (InvalidDataException e)
    {
        AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(e.Message)}[/] Training a new model.");
    }
}

if (!loaded)
{
    Train(model, train, options);
    model.Parameters.Save(options.ModelPath);
    AnsiConsole.MarkupLine($"Saved the weights to [green]{Markup.Escape(options.ModelPath)}[/].");
}

if (!options.SkipEvaluation)
{
    Evaluate(model, test, options);
    WriteHeatmaps(model, options.HeatmapPath);
}

foreach (string date in options.Dates) Console.WriteLine($"{date}  ->  {Translate(model, date)}");
if (options.Interactive)
{
    Console.WriteLine("Type a date (an empty line ends):");
    for (string? line = Console.ReadLine(); !string.IsNullOrWhiteSpace(line); line = Console.ReadLine())
        Console.WriteLine($"  ->  {Translate(model, line.Trim())}");
}
return 0;

static void Train(DateModel model, DateExample[] train, Options options)
{
    var optimizer = new Adam(model.Parameters, learningRate: options.LearningRate);
    int B = options.Batch, stepsPerEpoch = train.Length / B, totalSteps = stepsPerEpoch * options.Epochs;
    var lr = new CosineAnnealingLr(optimizer, totalSteps, minimum: options.LearningRate / 20);
    // Teacher forcing from 1 down to 0.8 over the first half, so that the decoder also learns from its own predictions.
    var teacherForcing = TeacherForcingSchedule.Linear(1f, 0.8f, Math.Max(1, totalSteps / 2));
    var shuffle = new Rng((ulong)options.Seed + 1);
    int[] order = Enumerable.Range(0, train.Length).ToArray();
    AnsiConsole.MarkupLine($"{train.Length:N0} training dates in {Dates.FormatCount} formats; {model.Parameters.ElementCount:N0} weights " +
        $"(bidirectional LSTM encoder, LSTM decoder with additive attention); batch {B}, {stepsPerEpoch} steps per epoch; teacher forcing {teacherForcing.Description}.");
    var clock = Stopwatch.StartNew();
    long step = 0;
    for (int epoch = 1; epoch <= options.Epochs; epoch++)
    {
        shuffle.Shuffle<int>(order);
        double sum = 0;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"epoch {epoch}/{options.Epochs}", maxValue: stepsPerEpoch);
                for (int s = 0; s < stepsPerEpoch; s++, step++)
                {
                    var batch = Dates.Batch(order.AsSpan(s * B, B).ToArray().Select(i => train[i]).ToArray());
                    float ratio = teacherForcing.Ratio(step);
                    model.Parameters.ZeroGrad();
                    float loss = model.Backward(new ReadOnlyTensorSpan<int>(batch.Source, [B, batch.S]), batch.Lengths,
                        new ReadOnlyTensorSpan<int>(batch.Input, [B, 11]), new ReadOnlyTensorSpan<int>(batch.Targets, [B, 11]), ratio);
                    model.Parameters.ClipGradNorm(maxNorm: 1f);
                    optimizer.Step();
                    lr.Step();
                    sum += loss;
                    task.Description = $"epoch {epoch}/{options.Epochs}  loss {sum / (s + 1):F4}  teacher forcing {ratio:F2}";
                    task.Increment(1);
                }
            });
    }
    AnsiConsole.MarkupLine($"Trained in {clock.Elapsed.TotalSeconds:F0} s.");
}

static void Evaluate(DateModel model, DateExample[] test, Options options)
{
    var clock = Stopwatch.StartNew();
    var references = test.Select(e => (IReadOnlyList<IReadOnlyList<char>>)[e.Target.ToList()]).ToList();
    var greedy = test.Select(e => Translate(model, e.Source)).ToList();
    var beam = test.Select(e => Translate(model, e.Source, options.BeamWidth)).ToList();
    var table = new Table().AddColumns("decoding", "exact match", "BLEU (characters)");
    foreach (var (name, outputs) in new[] { ("greedy", greedy), ($"beam, width {options.BeamWidth}", beam) })
    {
        double exact = Bleu.ExactMatch(test.Select(e => (IReadOnlyList<char>)e.Target.ToList()).ToList(), outputs.Select(o => (IReadOnlyList<char>)o.ToList()).ToList());
        double bleu = Bleu.Corpus(references, outputs.Select(o => (IReadOnlyList<char>)o.ToList()).ToList());
        table.AddRow(name, $"{exact:P1}", $"{bleu * 100:F1}");
    }
    var all = Dates.Batch(test);
    float loss = model.Loss(new ReadOnlyTensorSpan<int>(all.Source, [test.Length, all.S]), all.Lengths,
        new ReadOnlyTensorSpan<int>(all.Input, [test.Length, 11]), new ReadOnlyTensorSpan<int>(all.Targets, [test.Length, 11]));
    AnsiConsole.MarkupLine($"Held-out: {test.Length:N0} dates never seen in training ({clock.Elapsed.TotalSeconds:F1} s to decode them twice); " +
        $"teacher-forced cross-entropy {loss:F4} nats per character, perplexity {Math.Exp(loss):F3}:");
    AnsiConsole.Write(table);
    var wrong = test.Zip(greedy).Where(p => p.First.Target != p.Second).Take(5).ToList();
    foreach (var (example, output) in wrong)
        AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(example.Source)}[/] -> {Markup.Escape(output)} (expected {example.Target})");
}

static string Translate(DateModel model, string date, int beamWidth = 1)
{
    int[] ids = Dates.EncodeSource(date);
    var source = new ReadOnlyTensorSpan<int>(ids, [1, ids.Length]);
    int[] output = beamWidth <= 1
        ? model.Greedy(source, Dates.Start, maxLength: 12, endToken: Dates.End)
        : model.Beam(source, Dates.Start, beamWidth, maxLength: 12, endToken: Dates.End)[0].Tokens;
    return Dates.DecodeTarget(output);
}

static void WriteHeatmaps(DateModel model, string path)
{
    var date = new DateTime(1998, 3, 3);
    var panels = new List<AttentionHeatmap.Panel>();
    foreach (int format in new[] { 0, 2, 1, 13 })
    {
        DateExample example = Dates.Write(date.AddDays(format * 97), format);
        int[] ids = Dates.EncodeSource(example.Source);
        var source = new ReadOnlyTensorSpan<int>(ids, [1, ids.Length]);
        int[] output = model.Greedy(source, Dates.Start, maxLength: 12, endToken: Dates.End);
        // The decoder read the start token, then its own output; row t is the step that wrote output[t].
        int[] input = [Dates.Start, .. output[..^1]];
        Tensor<float> weights = model.AttentionWeights(source, default, new ReadOnlyTensorSpan<int>(input, [1, input.Length]));
        var flat = new float[weights.FlattenedLength];
        weights.FlattenTo(flat);
        string text = Dates.DecodeTarget(output);
        var rows = output.Select(id => id == Dates.End ? "</s>" : Dates.DecodeTarget([id])).ToList();
        panels.Add(new AttentionHeatmap.Panel(flat, rows, example.Source.Select(c => c.ToString()).ToList(), $"\"{example.Source}\" -> {text}"));
    }
    AttentionHeatmap.Save(path, panels);
    AnsiConsole.MarkupLine($"Attention of {panels.Count} translations written to [green]{Markup.Escape(path)}[/].");
}

/// <summary>Command-line options.</summary>
internal sealed record Options
{
    public int Epochs { get; init; } = 8;
    public int Batch { get; init; } = 64;
    public int TrainCount { get; init; } = 20_000;
    public int TestCount { get; init; } = 1_000;
    public float LearningRate { get; init; } = 3e-3f;
    public int BeamWidth { get; init; } = 3;
    public int Seed { get; init; } = 1;
    public string ModelPath { get; init; } = "datetranslator.safetensors";
    public string HeatmapPath { get; init; } = "attention.svg";
    public bool Retrain { get; init; }
    public bool SkipEvaluation { get; init; }
    public bool Interactive { get; init; }
    public bool Help { get; init; }
    public List<string> Dates { get; } = [];

    public const string Usage = """
        Usage: DateTranslator [options] [date ...]
          Trains an encoder-decoder to write dates as yyyy-mm-dd (or loads --model if it exists), reports exact match and
          BLEU on held-out dates, writes the attention heatmap, then translates each date given.
          --epochs N         training epochs (default 8)
          --train N          training examples (default 20000); --test N held-out examples (default 1000)
          --batch N          batch size (default 64); --lr X learning rate (default 0.003)
          --beam K           beam width for the beam-search evaluation (default 3)
          --seed N           seed of the data and the weights (default 1)
          --model FILE       weights file (default datetranslator.safetensors); --retrain ignores an existing one
          --svg FILE         attention heatmap (default attention.svg)
          --no-eval          skip the held-out evaluation and the heatmap
          --interactive      then read dates from the console
        Example: DateTranslator "the 3rd of March 1998" "03/03/98" "Tuesday, March 3, 1998"
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() { string v = Value(); return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new ArgumentException($"{args[i - 1]}: expected a positive whole number, got '{v}'."); }
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = Int() },
                "--train" => o with { TrainCount = Int() },
                "--test" => o with { TestCount = Int() },
                "--batch" => o with { Batch = Int() },
                "--beam" => o with { BeamWidth = Int() },
                "--seed" => o with { Seed = Int() },
                "--lr" => o with { LearningRate = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr > 0 ? lr : throw new ArgumentException("--lr: expected a positive number.") },
                "--model" => o with { ModelPath = Value() },
                "--svg" => o with { HeatmapPath = Value() },
                "--retrain" => o with { Retrain = true },
                "--no-eval" => o with { SkipEvaluation = true },
                "--interactive" => o with { Interactive = true },
                "--help" or "-h" => o with { Help = true },
                _ when args[i].StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"Unknown option {args[i]}."),
                _ => o,
            };
            if (!args[i].StartsWith("--", StringComparison.Ordinal) && args[i] != "-h" && (i == 0 || !IsValueOption(args[i - 1]))) o.Dates.Add(args[i]);
        }
        if (o.TrainCount < o.Batch) throw new ArgumentException($"--train {o.TrainCount} is smaller than one batch ({o.Batch}).");
        return o;
    }

    private static bool IsValueOption(string arg) => arg is "--epochs" or "--train" or "--test" or "--batch" or "--beam" or "--seed" or "--lr" or "--model" or "--svg";
}
