using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

// TorchSharp (LibTorch) on the workloads bench/Dsl.Benchmarks times, with the same timing (half a second of warm-up,
// then the median of about a second of runs) and the same names, for a side-by-side table:
//   bench/torchsharp/run.sh [threads]
int threads = args.Length > 0 ? int.Parse(args[0]) : Environment.ProcessorCount;
torch.set_num_threads(threads);
Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, LibTorch {torch.__version__}, {torch.get_num_threads()} threads");

void Report(string name, double ms, double flops) => Console.WriteLine($"{name,-48} {ms,10:F3} ms {flops / ms / 1e6,8:F1} GFLOP/s");

using (torch.no_grad())
{
    foreach (int size in new[] { 512, 1024 })
    {
        var a = randn(size, size);
        var b = randn(size, size);
        foreach (int t in new[] { 1, threads }.Distinct())
        {
            torch.set_num_threads(t);
            double ms = Median(() => { using var scope = NewDisposeScope(); torch.mm(a, b); });
            Report($"gemm {size}^3 {t} thread{(t > 1 ? "s" : "")}", ms, 2.0 * size * size * size);
        }
        torch.set_num_threads(threads);
    }
}

foreach (var (T, B, X, H) in new[] { (64, 1, 256, 256), (64, 32, 256, 256) })
{
    foreach (string kind in new[] { "lstm", "gru" })
    {
        int gates = kind == "lstm" ? 4 : 3;
        nn.Module<Tensor, Tensor> layer = kind == "lstm" ? new LstmOutput(X, H) : new GruOutput(X, H);
        var x = randn(B, T, X);
        var target = zeros(B, T, H);
        double forward = 2.0 * T * B * gates * H * (X + H);
        string shape = $"T={T} B={B} X={X} H={H}";
        using (torch.no_grad())
        {
            Report($"{kind} forward {shape}", Median(() => { using var scope = NewDisposeScope(); layer.call(x); }), forward);
        }
        if (B == 1) continue;
        Report($"{kind} forward+backward {shape}", Median(() =>
        {
            using var scope = NewDisposeScope();
            layer.zero_grad();
            nn.functional.mse_loss(layer.call(x), target).backward();
        }), 3 * forward);
    }
}

static double Median(Action run, double seconds = 1.0, int minRuns = 5)
{
    var warm = Stopwatch.StartNew();
    for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++) run();
    var times = new List<double>();
    var total = Stopwatch.StartNew();
    while (times.Count < minRuns || total.Elapsed.TotalSeconds < seconds)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

/// <summary>nn.LSTM(X, H, batch_first=True), its output sequence only.</summary>
internal sealed class LstmOutput : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.LSTM _lstm;

    public LstmOutput(int x, int h) : base("lstm")
    {
        _lstm = nn.LSTM(x, h, batchFirst: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => _lstm.call(input, null).Item1;
}

/// <summary>nn.GRU(X, H, batch_first=True), its output sequence only.</summary>
internal sealed class GruOutput : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.GRU _gru;

    public GruOutput(int x, int h) : base("gru")
    {
        _gru = nn.GRU(x, h, batchFirst: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => _gru.call(input, null).Item1;
}
