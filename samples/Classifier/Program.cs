using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Classifier;
using Dsl;
using Spectre.Console;

// Many-to-one classification: which language is a word in? A bidirectional GRU reads the word's characters and a Dense
// layer scores English, French, German, Spanish and Italian. It trains on padded batches of words with their lengths
// (Backward(ids, languages, lengths)), reports accuracy per language and overall on words it has never seen, writes
// the confusion matrix to confusion.svg, then classifies the words given on the command line. A few seconds on 2 cores.
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

var (train, test) = Words.Split(options.TestFraction, options.Seed);
IModel<int> model = options.AttentionPooling ? new PooledLanguageClassifier(options.Seed) : new LanguageClassifier(options.Seed);
AnsiConsole.MarkupLine($"{Words.All.Count:N0} words of {Words.Languages.Length} languages ({string.Join(", ",
    Words.Languages.Select((name, k) => $"{name} {Words.All.Count(e => e.Language == k)}"))}; {Words.Shared.Count} spelt alike in two " +
    $"languages left out): {train.Length:N0} to train, {test.Length:N0} held out.");
AnsiConsole.MarkupLine($"{model.Parameters.ElementCount:N0} weights (bidirectional GRU, {(options.AttentionPooling ? "attention pooling" : "final states")}); " +
    $"{options.Epochs} epochs of batch {options.Batch}, Adam at {options.LearningRate.ToString(CultureInfo.InvariantCulture)} with cosine decay.");

var clock = Stopwatch.StartNew();
Train(model, train, test, options);
AnsiConsole.MarkupLine($"Trained in {clock.Elapsed.TotalSeconds:F1} s.");

int[,] confusion = Evaluate(model, test);
ConfusionMatrix.Save(options.SvgPath, confusion, Words.Languages,
    $"Language of {test.Length} held-out words: {Accuracy(confusion):P1} right");
AnsiConsole.MarkupLine($"Confusion matrix written to [green]{Markup.Escape(options.SvgPath)}[/].");

foreach (string word in options.Words) Console.WriteLine($"{word}  ->  {Describe(Classify(model, word))}");
return 0;

static void Train(IModel<int> model, Example[] train, Example[] test, Options options)
{
    var optimizer = new Adam(model.Parameters, learningRate: options.LearningRate);
    int B = options.Batch, stepsPerEpoch = (train.Length + B - 1) / B;
    var lr = new CosineAnnealingLr(optimizer, stepsPerEpoch * options.Epochs, minimum: options.LearningRate / 20);
    var shuffle = new Rng((ulong)options.Seed + 1);
    Example[] order = [.. train];
    var held = Words.Batch(test);
    for (int epoch = 1; epoch <= options.Epochs; epoch++)
    {
        shuffle.Shuffle<Example>(order);
        double sum = 0;
        for (int s = 0; s < stepsPerEpoch; s++)
        {
            // The last batch of an epoch is smaller; words are padded to the batch's longest and read at their own length.
            var batch = Words.Batch(order.AsSpan(s * B, Math.Min(B, order.Length - s * B)).ToArray());
            int count = batch.Lengths.Length;
            model.Parameters.ZeroGrad();
            float loss = model.Backward(new ReadOnlyTensorSpan<int>(batch.Ids, [count, batch.S]),
                new ReadOnlyTensorSpan<int>(batch.Languages, [count]), batch.Lengths);
            model.Parameters.ClipGradNorm(maxNorm: 1f);
            optimizer.Step();
            lr.Step();
            sum += loss * count;
        }
        if (epoch % 5 == 0 || epoch == 1 || epoch == options.Epochs)
        {
            // Held-out loss for the curve only: nothing is chosen by it.
            float heldOut = model.Loss(new ReadOnlyTensorSpan<int>(held.Ids, [test.Length, held.S]),
                new ReadOnlyTensorSpan<int>(held.Languages, [test.Length]), held.Lengths);
            AnsiConsole.MarkupLine($"epoch {epoch,3}: training loss {sum / train.Length:F3}, held-out loss {heldOut:F3}");
        }
    }
}

// Confusion counts [actual, predicted] on the held-out words, and the per-language table.
static int[,] Evaluate(IModel<int> model, Example[] test)
{
    int n = Words.Languages.Length;
    var confusion = new int[n, n];
    var wrong = new List<(Example Example, int Predicted)>();
    foreach (Example example in test)
    {
        int predicted = TensorPrimitives.IndexOfMax(Classify(model, example.Word));
        confusion[example.Language, predicted]++;
        if (predicted != example.Language) wrong.Add((example, predicted));
    }
    var table = new Table().AddColumns("language", "held-out words", "right", "accuracy (recall)", "precision");
    for (int i = 1; i < 5; i++) table.Columns[i].RightAligned();
    for (int k = 0; k < n; k++)
    {
        int words = 0, predictedAs = 0;
        for (int j = 0; j < n; j++)
        {
            words += confusion[k, j];
            predictedAs += confusion[j, k];
        }
        table.AddRow(Words.Languages[k], $"{words}", $"{confusion[k, k]}", $"{(double)confusion[k, k] / words:P1}",
            predictedAs == 0 ? "–" : $"{(double)confusion[k, k] / predictedAs:P1}");
    }
    int right = Enumerable.Range(0, n).Sum(k => confusion[k, k]);
    table.AddRow("[bold]all[/]", $"{test.Length}", $"{right}", $"[bold]{Accuracy(confusion):P1}[/]", "");
    AnsiConsole.Write(table);
    if (wrong.Count > 0)
        AnsiConsole.MarkupLine("Some it got wrong: " + Markup.Escape(string.Join(", ",
            wrong.Take(12).Select(w => $"{w.Example.Word} ({Words.Languages[w.Example.Language]}, read as {Words.Languages[w.Predicted]})"))));
    return confusion;
}

static double Accuracy(int[,] confusion)
{
    int right = 0, all = 0;
    for (int i = 0; i < confusion.GetLength(0); i++)
        for (int j = 0; j < confusion.GetLength(1); j++)
        {
            all += confusion[i, j];
            if (i == j) right += confusion[i, j];
        }
    return (double)right / all;
}

// The probability of each language for one word.
static float[] Classify(IModel<int> model, string word)
{
    int[] ids = Words.Encode(word);
    Tensor<float> logits = model.Forward(new ReadOnlyTensorSpan<int>(ids, [1, ids.Length]));
    var probabilities = new float[model.OutputWidth];
    logits.FlattenTo(probabilities);
    TensorPrimitives.SoftMax(probabilities, probabilities);
    return probabilities;
}

static string Describe(float[] probabilities) => string.Join(", ", probabilities
    .Select((p, k) => (p, k)).OrderByDescending(x => x.p).Take(2)
    .Select(x => $"{Words.Languages[x.k]} {x.p:P0}"));

/// <summary>Command-line options.</summary>
internal sealed record Options
{
    public int Epochs { get; init; } = 30;
    public int Batch { get; init; } = 32;
    public float LearningRate { get; init; } = 3e-3f;
    public double TestFraction { get; init; } = 0.2;
    public int Seed { get; init; } = 1;
    public bool AttentionPooling { get; init; }
    public string SvgPath { get; init; } = "confusion.svg";
    public bool Help { get; init; }
    public List<string> Words { get; } = [];

    public const string Usage = """
        Usage: Classifier [options] [word ...]
          Trains a bidirectional GRU to tell the language of a word (English, French, German, Spanish, Italian) from
          built-in word lists, reports accuracy per language on held-out words, writes the confusion matrix, then
          classifies each word given.
          --epochs N         training epochs (default 30)
          --batch N          batch size (default 32); --lr X learning rate (default 0.003)
          --test X           fraction of each language's words held out (default 0.2)
          --seed N           seed of the split, the weights and the order of the batches (default 1)
          --pool P           last (default: the GRU's final states) or attention (attention pooling over the characters)
          --svg FILE         confusion matrix (default confusion.svg)
        Example: Classifier Schmetterling papillon mariposa farfalla butterfly
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
                "--batch" => o with { Batch = Int() },
                "--seed" => o with { Seed = Int() },
                "--lr" => o with { LearningRate = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr > 0 ? lr : throw new ArgumentException("--lr: expected a positive number.") },
                "--test" => o with { TestFraction = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f > 0 && f < 1 ? f : throw new ArgumentException("--test: expected a fraction between 0 and 1.") },
                "--pool" => o with { AttentionPooling = Value() switch
                {
                    "last" => false,
                    "attention" => true,
                    string v => throw new ArgumentException($"--pool: expected last or attention, got '{v}'."),
                } },
                "--svg" => o with { SvgPath = Value() },
                "--help" or "-h" => o with { Help = true },
                _ when args[i].StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"Unknown option {args[i]}."),
                _ => o,
            };
            if (!args[i].StartsWith("--", StringComparison.Ordinal) && args[i] != "-h" && (i == 0 || !IsValueOption(args[i - 1])))
                o.Words.Add(string.IsNullOrWhiteSpace(args[i]) ? throw new ArgumentException("A word to classify is empty: give its letters, e.g. Classifier Zeitgeist.") : args[i].Trim());
        }
        return o;
    }

    private static bool IsValueOption(string arg) => arg is "--epochs" or "--batch" or "--seed" or "--lr" or "--test" or "--pool" or "--svg";
}
