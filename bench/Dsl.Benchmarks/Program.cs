using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Running;
using Dsl.Benchmarks;
using Dsl.Kernels;

// dotnet run -c Release --project bench/Dsl.Benchmarks                 quick medians of every configuration (the compare table's Dsl column)
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --json      the same as JSON lines, for bench/compare.sh
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --only B=32  only the workloads whose name contains the text
// dotnet run -c Release --project bench/Dsl.Benchmarks -- --gemm      only the FMA peaks (every accelerated width) and GEMM 512³, 1024³ (1 thread and --threads)
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

// What this process runs: the widest accelerated vector and the GEMM micro-kernel it selected (narrowed by
// DOTNET_PreferredVectorBitWidth=128, DOTNET_EnableAVX512F=0, DOTNET_EnableAVX2=0, DOTNET_EnableHWIntrinsic=0).
int width = FmaPeak.Widths()[0];
if (json) Console.WriteLine($"{{\"info\":\"dsl\",\"vector_bits\":{width},\"kernel\":\"{Gemm.MicroKernel}\",\"blocking\":\"{Gemm.CacheBlocking}\",\"cores\":{Environment.ProcessorCount}}}");
else Console.WriteLine($"vector width {width} bits, GEMM micro-kernel {Gemm.MicroKernel}, {Gemm.CacheBlocking}, {Environment.ProcessorCount} cores");
bool gemmOnly = args.Contains("--gemm");

// The machine's FMA peak at the widest accelerated width on one thread and on all, then (with --gemm) at every
// narrower width on one thread: independent fused multiply-adds in registers.
Report("peak fma 1 thread", 0, FmaPeak.Measure(1, width));
Report($"peak fma {threads} threads", 0, FmaPeak.Measure(threads, width)); // the threads the workloads use (--threads), not every core
if (gemmOnly)
{
    foreach (int bits in FmaPeak.Widths().Skip(1)) Report($"peak fma {bits}-bit 1 thread", 0, FmaPeak.Measure(1, bits));
}

foreach (int size in only is null ? new[] { 512, 1024 } : [])
{
    var rng = new Dsl.Rng(3);
    float[] a = Enumerable.Range(0, size * size).Select(_ => rng.NextNormal()).ToArray();
    float[] b = Enumerable.Range(0, size * size).Select(_ => rng.NextNormal()).ToArray();
    float[] c = new float[size * size];
    foreach (int t in new[] { 1, threads }.Distinct())
    {
        Gemm.Threads = t;
        double ms = Timing.Median(() => Gemm.MatMul(size, size, size, a, size, b, size, c, size, accumulate: false));
        Report($"gemm {size}^3 {t} thread{(t > 1 ? "s" : "")}", ms, 2.0 * size * size * size / ms / 1e6);
    }
    Gemm.Threads = threads;
}

if (gemmOnly) return;

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
    // Cores busy: the process's CPU time over the wall time while the workload ran (warm-up included); workers
    // that spun between products would show here as a second core busy for a one-thread share of work.
    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    double ms = Timing.Median(w.Run);
    double cores = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / wall.Elapsed.TotalSeconds;
    Report(w.Name, ms, w.Flops / ms / 1e6);
    if (!json) Console.WriteLine($"{"",-48} {cores,10:F2} cores busy");
}

/// <summary>Median wall time of repeated runs (for about a second) once warm: after the JIT has tiered the code up.</summary>
internal static class Timing
{
    public static double Median(Action run, double seconds = 1.0, int minRuns = 5, int maxRuns = 100_000)
    {
        // Warm up for at least half a second (3 runs), then in windows of a quarter second until a window's median is no
        // more than 2 % below the one before (5 s at most). Half a second alone was not enough: five processes measured
        // the LSTM forward at batch 32 at 8.0 to 21.4 ms, four with tiering off (DOTNET_TieredCompilation=0) at 7.2 to 7.7,
        // minutes apart on the same machine: some were still timing code the JIT had not tiered up yet.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++) run();
        double previous = double.MaxValue;
        while (warm.Elapsed.TotalSeconds < 5)
        {
            double window = Window(run, 0.25, 3);
            if (window > previous * 0.98) break;
            previous = window;
        }
        return Window(run, seconds, minRuns, maxRuns);
    }

    private static double Window(Action run, double seconds, int minRuns, int maxRuns = 100_000)
    {
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

/// <summary>
/// The FMA peak of one vector width: 12 independent chains of fused multiply-adds in registers, enough to hide a
/// 4–5 cycle latency at two FMAs a cycle. The loop is compiled fully optimised at once (no tier-0 or OSR code is timed).
/// </summary>
internal static class FmaPeak
{
    /// <summary>The widths this process accelerates, widest first: 512, 256, 128 (0 = scalar, always there).</summary>
    public static int[] Widths() =>
        new[] { Vector512.IsHardwareAccelerated ? 512 : 0, Vector256.IsHardwareAccelerated ? 256 : 0, Vector128.IsHardwareAccelerated ? 128 : 0 }
            .Where(w => w > 0).Append(32).ToArray();

    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running chains of <paramref name="bits"/>-wide FMAs (32 = scalar).</summary>
    public static double Measure(int threads, int bits)
    {
        long iterations = bits == 32 ? 20_000_000 : 50_000_000;
        Func<long, float> run = bits switch { 512 => Run512, 256 => Run256, 128 => Run128, _ => RunScalar };
        var tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() => run(iterations / 10), TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        // the best of three: a peak is what the cores can do, and a neighbour on a shared machine only ever lowers a reading
        double best = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var sw = Stopwatch.StartNew();
            tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() => run(iterations), TaskCreationOptions.LongRunning)).ToArray();
            Task.WaitAll(tasks);
            best = Math.Max(best, threads * iterations * 12.0 * 2 * (bits / 32) / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Run512(long iterations)
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Run256(long iterations)
    {
        var m = Vector256.Create(0.999f); var a = Vector256.Create(1e-3f);
        Vector256<float> x0 = Vector256.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Fma256(x0, m, a); x1 = Fma256(x1, m, a); x2 = Fma256(x2, m, a); x3 = Fma256(x3, m, a); x4 = Fma256(x4, m, a); x5 = Fma256(x5, m, a);
            x6 = Fma256(x6, m, a); x7 = Fma256(x7, m, a); x8 = Fma256(x8, m, a); x9 = Fma256(x9, m, a); x10 = Fma256(x10, m, a); x11 = Fma256(x11, m, a);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Run128(long iterations)
    {
        var m = Vector128.Create(0.999f); var a = Vector128.Create(1e-3f);
        Vector128<float> x0 = Vector128.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Fma128(x0, m, a); x1 = Fma128(x1, m, a); x2 = Fma128(x2, m, a); x3 = Fma128(x3, m, a); x4 = Fma128(x4, m, a); x5 = Fma128(x5, m, a);
            x6 = Fma128(x6, m, a); x7 = Fma128(x7, m, a); x8 = Fma128(x8, m, a); x9 = Fma128(x9, m, a); x10 = Fma128(x10, m, a); x11 = Fma128(x11, m, a);
        }
        return Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float RunScalar(long iterations)
    {
        float m = 0.999f, a = 1e-3f;
        float x0 = 1f, x1 = 1.001f, x2 = 1.002f, x3 = 1.003f, x4 = 1.004f, x5 = 1.005f, x6 = 1.006f, x7 = 1.007f, x8 = 1.008f, x9 = 1.009f, x10 = 1.01f, x11 = 1.011f;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Fma1(x0, m, a); x1 = Fma1(x1, m, a); x2 = Fma1(x2, m, a); x3 = Fma1(x3, m, a); x4 = Fma1(x4, m, a); x5 = Fma1(x5, m, a);
            x6 = Fma1(x6, m, a); x7 = Fma1(x7, m, a); x8 = Fma1(x8, m, a); x9 = Fma1(x9, m, a); x10 = Fma1(x10, m, a); x11 = Fma1(x11, m, a);
        }
        return x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;
    }

    // Vector256/128.FusedMultiplyAdd falls back to software (one element at a time) without the FMA instructions: use them
    // when they are there, else a multiply and an add (what the GEMM micro-kernels do too).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fma1(float x, float m, float a) => Fma.IsSupported || AdvSimd.IsSupported ? MathF.FusedMultiplyAdd(x, m, a) : x * m + a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma256(Vector256<float> x, Vector256<float> m, Vector256<float> a) => Fma.IsSupported ? Fma.MultiplyAdd(x, m, a) : x * m + a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fma128(Vector128<float> x, Vector128<float> m, Vector128<float> a) =>
        Fma.IsSupported ? Fma.MultiplyAdd(x, m, a) : AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(a, x, m) : x * m + a;
}
