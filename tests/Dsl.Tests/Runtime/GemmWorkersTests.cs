using System.Diagnostics;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>The persistent workers spin only briefly between products, then sleep: an idle model leaves the cores to others.</summary>
[Collection(nameof(Training.SerialCollection))]
public class GemmWorkersTests
{
    [Fact]
    public void IdleWorkersSleepInsteadOfSpinning()
    {
        int saved = Gemm.Threads;
        Gemm.Threads = GemmWorkers.Available;
        try
        {
            // Large enough to be split (when there is more than one core): the workers have run and now wait.
            const int N = 192;
            float[] a = new float[N * N], b = new float[N * N], c = new float[N * N];
            for (int i = 0; i < 20; i++) Gemm.MatMul(N, N, N, a, N, b, N, c, N, accumulate: false);
            Assert.Equal(GemmWorkers.Available - 1, GemmWorkers.Started);

            // Past the spin (50 µs by default, 1 ms when active), every worker is blocked, not spinning.
            var wait = Stopwatch.StartNew();
            while (GemmWorkers.Sleeping < GemmWorkers.Started && wait.ElapsedMilliseconds < 1000) Thread.Sleep(5);
            Assert.Equal(GemmWorkers.Started, GemmWorkers.Sleeping);
            Assert.True(wait.ElapsedMilliseconds < 200, $"the workers took {wait.ElapsedMilliseconds} ms to go to sleep");
        }
        finally
        {
            Gemm.Threads = saved;
        }
    }

    [Theory]
    [InlineData(null, 50)]
    [InlineData("passive", 0)]
    [InlineData("PASSIVE", 0)]
    [InlineData("active", 1000)]
    [InlineData("whatever", 50)]
    public void TheWaitPolicyFollowsOpenMpsNames(string? policy, long microseconds) => Assert.Equal(microseconds, GemmWorkers.SpinMicroseconds(policy));
}
