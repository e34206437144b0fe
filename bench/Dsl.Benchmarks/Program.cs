using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Running;
using Dsl.Benchmarks;
using Dsl.Kernels;

// dotnet run -c Release --project bench/Dsl.Benchmarks                 quick medians of every configuration (the compare table's Dsl column)
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --json      the same as JSON lines, for bench/compare.sh
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --only B=32  only the workloads whose name contains the text
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --alloc      bytes allocated per run of each workload, all threads, once warm
// dotnet run -c Release --project bench/Dsl.Benchmarks -- bdn [args]  the BenchmarkDotNet suites (e.g. bdn --filter *Lstm*)
if (args.Length > 0 && args[0] == "bdn")
{
    BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args[1..]);
    return;
}
bool json = args.Contains("--json");
int threads = args.SkipWhile(a => a != "--threads").Skip(1).Select(int.Parse).FirstOrDefault(Gemm.Threads);
string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault(); // run the workloads whose name contains this
Gemm.Threads = threads;

void Report(string name, double ms, double gflops)
{
    if (json) Console.WriteLine($"{{\"name\":\"{name}\",\"ms\":{ms.ToString("F4", CultureInfo.InvariantCulture)},\"gflops\":{gflops.ToString("F2", CultureInfo.InvariantCulture)}}}");
    else Console.WriteLine($"{name,-48} {ms,10:F3} ms {gflops,8:F1} GFLOP/s");
}

// The machine's FMA peak on one thread and on all: independent fused multiply-adds in registers.
Report("peak fma 1 thread", 0, FmaPeak.Measure(1));
Report($"peak fma {Environment.ProcessorCount} threads", 0, FmaPeak.Measure(Environment.ProcessorCount));

foreach (int size in only is null ? new[] { 512, 1024 } : [])
{
    var rng = new Dsl.Rng(3);
    float[] a = Enumerable.Range(0, size * size).Select(_ => rng.NextNormal()).ToArray();
    float[] b = Enumerable.Range(0, size * size).Select(_ => rng.NextNormal()).ToArray();
    float[] c = new float[size * size];
    foreach (int t in new[] { 1, threads })
    {
        Gemm.Threads = t;
        double ms = Timing.Median(() => Gemm.MatMul(size, size, size, a, size, b, size, c, size, accumulate: false));
        Report($"gemm {size}^3 {t} thread{(t > 1 ? "s" : "")}", ms, 2.0 * size * size * size / ms / 1e6);
    }
    Gemm.Threads = threads;
}

if (args.Contains("--alloc"))
{
    // Bytes allocated per run, on every thread, once warm (what BenchmarkDotNet's MemoryDiagnoser reports).
    foreach (Workload w in Workload.All().Where(w => only is null || w.Name.Contains(only, StringComparison.Ordinal)))
    {
        for (int i = 0; i < 5; i++) w.Run();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 20; i++) w.Run();
        Console.WriteLine($"{w.Name,-48} {(GC.GetTotalAllocatedBytes(precise: true) - before) / 20,8} B per run");
    }
    return;
}

foreach (Workload w in Workload.All().Where(w => only is null || w.Name.Contains(only, StringComparison.Ordinal)))
{
    double ms = Timing.Median(w.Run);
    Report(w.Name, ms, w.Flops / ms / 1e6);
}

/// <summary>Median wall time of repeated runs (for about a second) after half a second of warm-up.</summary>
internal static class Timing
{
    public static double Median(Action run, double seconds = 1.0, int minRuns = 5, int maxRuns = 100_000)
    {
        // Warm up for half a second (at least 3 runs) so that the JIT has tiered the code up: the steady state is measured.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++) run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < minRuns || (total.Elapsed.TotalSeconds < seconds && times.Count < maxRuns))
        {
            long start = Stopwatch.GetTimestamp();
            run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}

/// <summary>The FMA peak: chains of independent vector FMAs, long enough to hide their latency.</summary>
internal static class FmaPeak
{
    public static double Measure(int threads)
    {
        const long Iterations = 50_000_000;
        var tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() => Run(Iterations / 10), TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        var sw = Stopwatch.StartNew();
        tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() => Run(Iterations), TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        double seconds = sw.Elapsed.TotalSeconds;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        return threads * Iterations * 12.0 * 2 * lanes / seconds / 1e9;
    }

    private static float Run(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(0.999f); var a = Vector512.Create(1e-3f);
            Vector512<float> x0 = Vector512.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
            for (long i = 0; i < iterations; i++)
            {
                x0 = Vector512.FusedMultiplyAdd(x0, m, a); x1 = Vector512.FusedMultiplyAdd(x1, m, a); x2 = Vector512.FusedMultiplyAdd(x2, m, a);
                x3 = Vector512.FusedMultiplyAdd(x3, m, a); x4 = Vector512.FusedMultiplyAdd(x4, m, a); x5 = Vector512.FusedMultiplyAdd(x5, m, a);
                x6 = Vector512.FusedMultiplyAdd(x6, m, a); x7 = Vector512.FusedMultiplyAdd(x7, m, a); x8 = Vector512.FusedMultiplyAdd(x8, m, a);
                x9 = Vector512.FusedMultiplyAdd(x9, m, a); x10 = Vector512.FusedMultiplyAdd(x10, m, a); x11 = Vector512.FusedMultiplyAdd(x11, m, a);
            }
            return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
        }
        else
        {
            var m = Vector256.Create(0.999f); var a = Vector256.Create(1e-3f);
            Vector256<float> x0 = Vector256.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
            for (long i = 0; i < iterations; i++)
            {
                x0 = Vector256.FusedMultiplyAdd(x0, m, a); x1 = Vector256.FusedMultiplyAdd(x1, m, a); x2 = Vector256.FusedMultiplyAdd(x2, m, a);
                x3 = Vector256.FusedMultiplyAdd(x3, m, a); x4 = Vector256.FusedMultiplyAdd(x4, m, a); x5 = Vector256.FusedMultiplyAdd(x5, m, a);
                x6 = Vector256.FusedMultiplyAdd(x6, m, a); x7 = Vector256.FusedMultiplyAdd(x7, m, a); x8 = Vector256.FusedMultiplyAdd(x8, m, a);
                x9 = Vector256.FusedMultiplyAdd(x9, m, a); x10 = Vector256.FusedMultiplyAdd(x10, m, a); x11 = Vector256.FusedMultiplyAdd(x11, m, a);
            }
            return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
        }
    }
}
