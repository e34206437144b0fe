using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Dsl.Benchmarks;

/// <summary>BenchmarkDotNet: every configuration, with allocations measured (a training step should allocate nothing).</summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class RecurrentBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.ShortRun.WithWarmupCount(3).WithIterationCount(8));
    }

    private Dictionary<string, Workload> _workloads = new();

    public static IEnumerable<string> Names() => Workload.All().Select(w => w.Name);

    [ParamsSource(nameof(Names))]
    public string Configuration { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _workloads = Workload.All().ToDictionary(w => w.Name);

    [Benchmark]
    public void Run() => _workloads[Configuration].Run();
}
