using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using DateTranslator;
using Dsl;
using Spectre.Console;

// Translates dates as people write them ("the 3rd of March 1998", "03/03/98", "Tuesday, March 3, 1998") into ISO
// 1998-03-03 with an encoder–decoder: by default a bidirectional LSTM with additive attention (--model lstm), or a
// one-block Transformer (--model transformer), or both, reported side by side (--model both). Each trains in under a
// minute on 2 cores; the program reports exact match and BLEU for greedy and beam decoding on dates it has never seen
// and the teacher-forced perplexity, writes the cross-attention heatmap, then translates the dates on the command line.
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

var (train, test) = Dates.Split(options.TrainCount, options.TestCount, options.Seed);
var translators = new List<(Architecture Architecture, IDateTranslator Model)>();
var reports = new List<Report>();
// every architecture's weights checked against the split before any trains: a mismatch found after the first had trained
// (about 45 s) stopped the run without translating anything
if (!options.Retrain && options.Architectures.Any(a => !SameSplit(options.WeightsPath ?? a.WeightsPath, options))) return 2;
foreach (Architecture architecture in options.Architectures)
{
    if (options.Architectures.Count > 1) AnsiConsole.Write(new Rule($"[bold]{architecture.Name}[/]: {architecture.Description}").LeftJustified());
    IDateTranslator model = architecture.Create(options.Seed);
    string weightsPath = options.WeightsPath ?? architecture.WeightsPath;
    double? trainingSeconds = null;
    bool loaded = !options.Retrain && TryLoad(model, weightsPath);
    if (!loaded)
    {
        trainingSeconds = Train(model, architecture, train, options);
        model.Parameters.Save(weightsPath);
        File.WriteAllText(SplitPath(weightsPath), Split(options));
        AnsiConsole.MarkupLine($"Saved the weights to [green]{Markup.Escape(weightsPath)}[/].");
    }
    if (!options.SkipEvaluation)
    {
        reports.Add(Evaluate(model, architecture, test, options, trainingSeconds));
        WriteHeatmaps(model, architecture, options.HeatmapPath ?? architecture.HeatmapPath);
    }
    translators.Add((architecture, model));
}
if (reports.Count > 1) Compare(reports, test.Length, options.BeamWidth);

foreach (string date in options.Dates) Console.WriteLine($"{date}  ->  {TranslateAll(date)}");
if (options.Interactive)
{
    Console.WriteLine("Type a date (an empty line ends):");
    for (string? line = Console.ReadLine(); !string.IsNullOrWhiteSpace(line); line = Console.ReadLine())
        Console.WriteLine($"  ->  {TranslateAll(line.Trim())}");
}
return 0;

string TranslateAll(string date) => translators.Count == 1
    ? Translate(translators[0].Model, date)
    : string.Join("   ", translators.Select(t => $"{t.Architecture.Name}: {Translate(t.Model, date)}"));

// The held-out dates are those of --seed and --test: weights trained on another split may have seen them. The split is
// written beside the weights; weights without it count as trained on the default split.
static string SplitPath(string weightsPath) => weightsPath + ".split";

static string Split(Options o) => $"--seed {o.Seed} --test {o.TestCount}";

static bool SameSplit(string weightsPath, Options options)
{
    if (!File.Exists(weightsPath)) return true;
    string path = SplitPath(weightsPath);
    string trainedOn = File.Exists(path) ? File.ReadAllText(path).Trim() : Split(new Options());
    if (trainedOn == Split(options)) return true;
    Console.Error.WriteLine($"{weightsPath} was trained with {trainedOn}: some of the dates held out with {Split(options)} may be among its training dates. " +
        "Train again (--retrain, which overwrites it), give another --weights FILE, or use the same --seed and --test.");
    return false;
}

static bool TryLoad(IDateTranslator model, string path)
{
    if (!File.Exists(path)) return false;
    try
    {
        model.Parameters.Load(path);
        AnsiConsole.MarkupLine($"Loaded [green]{Markup.Escape(path)}[/] (--retrain trains again).");
        return true;
    }
    catch (InvalidDataException e)
    {
        // A damaged file, or another architecture's weights (its tensors are missing or shaped otherwise): train instead.
        AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(e.Message)}[/] Training a new model.");
        return false;
    }
}

static double Train(IDateTranslator model, Architecture architecture, DateExample[] train, Options options)
{
    float learningRate = options.LearningRate ?? architecture.LearningRate;
    int B = options.Batch, epochs = options.Epochs ?? architecture.Epochs;
    int stepsPerEpoch = train.Length / B, totalSteps = stepsPerEpoch * epochs;
    int warmup = Math.Min(options.Warmup ?? architecture.Warmup, totalSteps / 2);
    var optimizer = new Adam(model.Parameters, learningRate: learningRate);
    // A Transformer warms up (the rate grows linearly from 5 % over the first steps), then both anneal on a half cosine.
    LearningRateSchedule lr = warmup > 0
        ? new LinearWarmup(optimizer, warmup, startFactor: 0.05f)
        : new CosineAnnealingLr(optimizer, totalSteps, minimum: learningRate / 20);
    // The LSTM: teacher forcing from 1 down to 0.8 over the first half, so that the decoder also learns from its own
    // predictions. The Transformer: always the true previous characters (its decoder then trains in one parallel pass).
    var teacherForcing = architecture.TeacherForcing < 1f
        ? TeacherForcingSchedule.Linear(1f, architecture.TeacherForcing, Math.Max(1, totalSteps / 2))
        : TeacherForcingSchedule.Constant(1f);
    var shuffle = new Rng((ulong)options.Seed + 1);
    int[] order = Enumerable.Range(0, train.Length).ToArray();
    AnsiConsole.MarkupLine($"{train.Length:N0} training dates in {Dates.FormatCount} formats; {model.Parameters.ElementCount:N0} weights " +
        $"({architecture.Description}); batch {B}, {stepsPerEpoch} steps per epoch, Adam at {learningRate.ToString(CultureInfo.InvariantCulture)}" +
        $"{(warmup > 0 ? $" after {warmup} warm-up steps" : "")}; teacher forcing {teacherForcing.Description}.");
    var clock = Stopwatch.StartNew();
    long step = 0;
    for (int epoch = 1; epoch <= epochs; epoch++)
    {
        shuffle.Shuffle<int>(order);
        double sum = 0;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"epoch {epoch}/{epochs}", maxValue: stepsPerEpoch);
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
                    if (step + 1 == warmup) lr = new CosineAnnealingLr(optimizer, totalSteps - warmup, minimum: learningRate / 20);
                    sum += loss;
                    task.Description = $"epoch {epoch}/{epochs}  loss {sum / (s + 1):F4}  teacher forcing {ratio:F2}";
                    task.Increment(1);
                }
            });
    }
    double seconds = clock.Elapsed.TotalSeconds;
    AnsiConsole.MarkupLine($"Trained in {seconds:F0} s.");
    return seconds;
}

static Report Evaluate(IDateTranslator model, Architecture architecture, DateExample[] test, Options options, double? trainingSeconds)
{
    var references = test.Select(e => (IReadOnlyList<IReadOnlyList<char>>)[e.Target.ToList()]).ToList();
    var targets = test.Select(e => (IReadOnlyList<char>)e.Target.ToList()).ToList();
    var clock = Stopwatch.StartNew();
    var greedy = test.Select(e => Translate(model, e.Source)).ToList();
    double greedySeconds = clock.Elapsed.TotalSeconds;
    var beam = test.Select(e => Translate(model, e.Source, options.BeamWidth)).ToList();
    double beamSeconds = clock.Elapsed.TotalSeconds - greedySeconds;
    (double Exact, double Bleu) Score(List<string> outputs)
    {
        var hypotheses = outputs.Select(o => (IReadOnlyList<char>)o.ToList()).ToList();
        return (Bleu.ExactMatch(targets, hypotheses), Bleu.Corpus(references, hypotheses));
    }
    var (greedyExact, greedyBleu) = Score(greedy);
    var (beamExact, beamBleu) = Score(beam);
    var all = Dates.Batch(test);
    float loss = model.Loss(new ReadOnlyTensorSpan<int>(all.Source, [test.Length, all.S]), all.Lengths,
        new ReadOnlyTensorSpan<int>(all.Input, [test.Length, 11]), new ReadOnlyTensorSpan<int>(all.Targets, [test.Length, 11]));
    AnsiConsole.MarkupLine($"Held-out: {test.Length:N0} dates never seen in training ({greedySeconds + beamSeconds:F1} s to decode them twice); " +
        $"teacher-forced cross-entropy {Nats(loss)} nats per character, perplexity {Math.Exp(loss):F5}:");
    var table = new Table().AddColumns("decoding", "exact match", "BLEU (characters)");
    table.AddRow("greedy", $"{greedyExact:P1}", $"{greedyBleu * 100:F1}");
    table.AddRow($"beam, width {options.BeamWidth}", $"{beamExact:P1}", $"{beamBleu * 100:F1}");
    AnsiConsole.Write(table);
    var wrong = test.Zip(greedy).Where(p => p.First.Target != p.Second).Take(5).ToList();
    foreach (var (example, output) in wrong)
        AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(example.Source)}[/] -> {Markup.Escape(output)} (expected {example.Target})");
    return new Report(architecture.Name, model.Parameters.ElementCount, trainingSeconds, greedyExact, greedyBleu, beamExact, beamBleu, loss,
        greedySeconds, beamSeconds);
}

static void Compare(List<Report> reports, int testCount, int beamWidth)
{
    // One column per model, one row per measure: narrow enough for an 80-column console.
    var table = new Table().Title($"{testCount:N0} held-out dates").AddColumn("");
    foreach (Report r in reports) table.AddColumn(new TableColumn(r.Name).RightAligned());
    void Row(string measure, Func<Report, string> value) => table.AddRow([measure, .. reports.Select(value)]);
    Row("weights", r => $"{r.Weights:N0}");
    Row("training time", r => r.TrainingSeconds is double s ? $"{s:F0} s" : "(loaded)");
    Row("exact match, greedy", r => $"{r.GreedyExact:P1}");
    Row($"exact match, beam {beamWidth}", r => $"{r.BeamExact:P1}");
    Row("BLEU (characters), greedy", r => $"{r.GreedyBleu * 100:F1}");
    Row($"BLEU (characters), beam {beamWidth}", r => $"{r.BeamBleu * 100:F1}");
    Row("cross-entropy, nats per character", r => Nats(r.Loss));
    Row("perplexity", r => $"{Math.Exp(r.Loss):F5}");
    Row("decoding time, greedy + beam", r => $"{r.GreedySeconds:F1} + {r.BeamSeconds:F1} s");
    AnsiConsole.Write(table);
}

// Cross-entropies of a trained translator are tiny: below 0.001 they are written in scientific notation.
static string Nats(float loss) => loss < 1e-3f ? loss.ToString("0.0e+0", CultureInfo.InvariantCulture) : loss.ToString("F4", CultureInfo.InvariantCulture);

static string Translate(IDateTranslator model, string date, int beamWidth = 1)
{
    int[] ids = Dates.EncodeSource(date);
    var source = new ReadOnlyTensorSpan<int>(ids, [1, ids.Length]);
    int[] output = beamWidth <= 1
        ? model.Greedy(source, Dates.Start, maxLength: 12, endToken: Dates.End)
        : model.Beam(source, Dates.Start, beamWidth, maxLength: 12, endToken: Dates.End)[0].Tokens;
    return Dates.DecodeTarget(output);
}

static void WriteHeatmaps(IDateTranslator model, Architecture architecture, string path)
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
        // [1, heads, steps, source steps]; with several heads the panel shows their mean.
        Tensor<float> weights = model.AttentionWeights(source, default, new ReadOnlyTensorSpan<int>(input, [1, input.Length]), architecture.CrossAttention);
        int heads = (int)weights.Lengths[1], cells = input.Length * ids.Length;
        var all = new float[weights.FlattenedLength];
        weights.FlattenTo(all);
        var mean = new float[cells];
        for (int h = 0; h < heads; h++) TensorPrimitives.Add(mean, all.AsSpan(h * cells, cells), mean);
        TensorPrimitives.Divide(mean, heads, mean);
        string text = Dates.DecodeTarget(output);
        var rows = output.Select(id => id == Dates.End ? "</s>" : Dates.DecodeTarget([id])).ToList();
        string title = $"\"{example.Source}\" -> {text}" + (heads > 1 ? $" (mean of {heads} heads)" : "");
        panels.Add(new AttentionHeatmap.Panel(mean, rows, example.Source.Select(c => c.ToString()).ToList(), title));
    }
    AttentionHeatmap.Save(path, panels);
    AnsiConsole.MarkupLine($"Cross-attention of {panels.Count} translations written to [green]{Markup.Escape(path)}[/].");
}

/// <summary>One model's held-out scores (exact match and BLEU as fractions; loss in nats per character).</summary>
internal sealed record Report(string Name, long Weights, double? TrainingSeconds, double GreedyExact, double GreedyBleu,
    double BeamExact, double BeamBleu, float Loss, double GreedySeconds, double BeamSeconds);

/// <summary>A translator architecture and how it trains by default.</summary>
internal sealed record Architecture(string Name, string Description, Func<int, IDateTranslator> Create, float LearningRate, int Epochs,
    int Warmup, float TeacherForcing, string WeightsPath, string HeatmapPath, string CrossAttention)
{
    public static readonly Architecture Lstm = new("lstm", "bidirectional LSTM encoder, LSTM decoder with additive attention",
        seed => new DateModel(seed), LearningRate: 3e-3f, Epochs: 8, Warmup: 0, TeacherForcing: 0.8f,
        "datetranslator.safetensors", "attention.svg", CrossAttention: "attention");

    public static readonly Architecture Transformer = new("transformer", "one-block Transformer encoder and decoder, width 64, 4 heads",
        seed => new DateTransformer(seed), LearningRate: 2e-3f, Epochs: 8, Warmup: 200, TeacherForcing: 1f,
        "datetranslator-transformer.safetensors", "attention-transformer.svg", CrossAttention: "attention_1");
}

/// <summary>Command-line options; a null value means the architecture's default.</summary>
internal sealed record Options
{
    public IReadOnlyList<Architecture> Architectures { get; init; } = [Architecture.Lstm];
    public int? Epochs { get; init; }
    public int Batch { get; init; } = 64;
    public int TrainCount { get; init; } = 20_000;
    public int TestCount { get; init; } = 1_000;
    public float? LearningRate { get; init; }
    public int? Warmup { get; init; }
    public int BeamWidth { get; init; } = 3;
    public int Seed { get; init; } = 1;
    public string? WeightsPath { get; init; }
    public string? HeatmapPath { get; init; }
    public bool Retrain { get; init; }
    public bool SkipEvaluation { get; init; }
    public bool Interactive { get; init; }
    public bool Help { get; init; }
    public List<string> Dates { get; } = [];

    public const string Usage = """
        Usage: DateTranslator [options] [date ...]
          Trains an encoder-decoder to write dates as yyyy-mm-dd (or loads its weights file if it exists), reports exact
          match, BLEU and perplexity on held-out dates, writes the attention heatmap, then translates each date given.
          --model M          lstm (default: bidirectional LSTM, additive attention), transformer, or both (side by side)
          --epochs N         training epochs (default 8)
          --train N          training examples (default 20000); --test N held-out examples (default 1000)
          --batch N          batch size (default 64)
          --lr X             Adam's learning rate (default 0.003 for lstm, 0.002 for transformer)
          --warmup N         steps of linear warm-up before the cosine decay (default 0 for lstm, 200 for transformer)
          --beam K           beam width for the beam-search evaluation (default 3)
          --seed N           seed of the data and the weights (default 1)
          --weights FILE     weights file of a single model (default datetranslator.safetensors,
                             datetranslator-transformer.safetensors); --retrain ignores an existing one
          --svg FILE         attention heatmap of a single model (default attention.svg, attention-transformer.svg)
          --no-eval          skip the held-out evaluation and the heatmap
          --interactive      then read dates from the console
        Example: DateTranslator --model both "the 3rd of March 1998" "03/03/98" "Tuesday, March 3, 1998"
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
                "--model" => o with { Architectures = Value() switch
                {
                    "lstm" => [Architecture.Lstm],
                    "transformer" => [Architecture.Transformer],
                    "both" => [Architecture.Lstm, Architecture.Transformer],
                    string v => throw new ArgumentException($"--model: expected lstm, transformer or both, got '{v}' (the weights file is --weights FILE)."),
                } },
                "--epochs" => o with { Epochs = Int() },
                "--train" => o with { TrainCount = Int() },
                "--test" => o with { TestCount = Int() },
                "--batch" => o with { Batch = Int() },
                "--beam" => o with { BeamWidth = Int() },
                "--seed" => o with { Seed = Int() },
                "--lr" => o with { LearningRate = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr > 0 ? lr : throw new ArgumentException("--lr: expected a positive number.") },
                "--warmup" => o with { Warmup = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) && w >= 0 ? w : throw new ArgumentException("--warmup: expected a whole number, 0 or more.") },
                "--weights" => o with { WeightsPath = Value() },
                "--svg" => o with { HeatmapPath = Value() },
                "--retrain" => o with { Retrain = true },
                "--no-eval" => o with { SkipEvaluation = true },
                "--interactive" => o with { Interactive = true },
                "--help" or "-h" => o with { Help = true },
                _ when args[i].StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"Unknown option {args[i]}."),
                _ => o,
            };
            if (!args[i].StartsWith("--", StringComparison.Ordinal) && args[i] != "-h" && (i == 0 || !IsValueOption(args[i - 1])))
                o.Dates.Add(string.IsNullOrWhiteSpace(args[i]) ? throw new ArgumentException("A date to translate is empty: give its text, e.g. \"3 March 1998\".") : args[i].Trim());
        }
        int days = global::DateTranslator.Dates.Days;
        DateTime first = global::DateTranslator.Dates.First, last = global::DateTranslator.Dates.Last;
        if (o.TestCount >= days)
            throw new ArgumentException($"--test {o.TestCount}: the calendar has {days:N0} days ({first:yyyy}–{last:yyyy}); hold out fewer, so that some are left to train on.");
        if (o.TrainCount < o.Batch) throw new ArgumentException($"--train {o.TrainCount} is smaller than one batch ({o.Batch}).");
        if (o.Architectures.Count > 1 && (o.WeightsPath is not null || o.HeatmapPath is not null))
            throw new ArgumentException("--weights and --svg name one model's files; with --model both each model uses its default files.");
        return o;
    }

    private static bool IsValueOption(string arg) =>
        arg is "--model" or "--epochs" or "--train" or "--test" or "--batch" or "--beam" or "--seed" or "--lr" or "--warmup" or "--weights" or "--svg";
}
