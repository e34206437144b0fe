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

    /// <summary>
    /// A split whose part fails returns (rethrowing) only when every part that started elsewhere has finished: the parts
    /// read the caller's stack and buffers, which are gone once it returns.
    /// </summary>
    [Fact]
    public unsafe void AFailedPartWaitsForThePartsRunningElsewhere() => OnTwoCores(() =>
    {
        int* flags = stackalloc int[2]; // [1]: part 1 has started, [0]: part 1 has finished
        flags[0] = flags[1] = 0;
        var error = Assert.Throws<InvalidOperationException>(() => GemmWorkers.Run(&FailAfterOtherStarts, flags, 2));
        Assert.Equal("part 0 failed", error.Message);
        if (Volatile.Read(ref flags[1]) == 1) Assert.Equal(1, Volatile.Read(ref flags[0])); // the worker took part 1: it was waited for
    });

    /// <summary>Runs <paramref name="test"/> with the products on two threads (the caller and one worker); on one core, not at all (no worker: every part runs on the caller).</summary>
    private static void OnTwoCores(Action test)
    {
        if (GemmWorkers.Available < 2) return;
        int saved = Gemm.Threads;
        Gemm.Threads = 2;
        try
        {
            test();
        }
        finally
        {
            Gemm.Threads = saved;
        }
    }

    /// <summary>
    /// A caller interrupted (<see cref="Thread.Interrupt"/>) while it waits for a worker's part returns only when that part
    /// has finished, and the interrupt reaches its next blocking call instead: the part reads the caller's stack.
    /// </summary>
    [Fact]
    public unsafe void AnInterruptedCallerStillWaitsForTheWorkersPart() => OnTwoCores(() =>
    {
        int startedAndFinished = 0, runsOnWorker = 0, waitedFor = 0;
        Exception? failure = null;
        var caller = new Thread(() =>
        {
            try
            {
                int* flags = stackalloc int[3]; // [0]: part 1 has started, [1]: it has finished, [2]: the thread it ran on
                flags[0] = flags[1] = flags[2] = 0;
                GemmWorkers.Run(&SlowSecondPart, flags, 2);
                startedAndFinished = Volatile.Read(ref flags[0]) + Volatile.Read(ref flags[1]);
                runsOnWorker = flags[2] != Environment.CurrentManagedThreadId ? 1 : 0;
                try
                {
                    Thread.Sleep(5000); // the interrupt, kept for the caller's own next wait
                }
                catch (ThreadInterruptedException)
                {
                    waitedFor = 1;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        caller.Start();
        // interrupt the caller while part 1 runs on the worker (it takes 300 ms; the caller's own part ends when it starts)
        Thread.Sleep(150);
        caller.Interrupt();
        Assert.True(caller.Join(10_000), "the caller did not return");
        Assert.Null(failure);
        Assert.Equal(2, startedAndFinished); // not returned before the (worker's) part was over
        if (runsOnWorker == 1) Assert.Equal(1, waitedFor); // and the interrupt came back at its next blocking call
    });

    // Part 1 takes 300 ms (on a worker, when one takes it) and says on which thread it ran; part 0 returns once part 1 has
    // started (or after 2 s), so that the worker has taken it and the caller waits for it.
    private static unsafe void SlowSecondPart(void* state, int part, int parts)
    {
        int* flags = (int*)state;
        if (part == 0)
        {
            var started = Stopwatch.StartNew();
            while (Volatile.Read(ref flags[0]) == 0 && started.ElapsedMilliseconds < 2000) Thread.SpinWait(10);
            return;
        }
        Volatile.Write(ref flags[2], Environment.CurrentManagedThreadId);
        Volatile.Write(ref flags[0], 1);
        var wait = Stopwatch.StartNew();
        while (wait.ElapsedMilliseconds < 300) Thread.SpinWait(100);
        Volatile.Write(ref flags[1], 1);
    }

    // Part 0 (the caller's own) fails once part 1 has started on a worker (or after 2 s); part 1 takes 200 ms.
    private static unsafe void FailAfterOtherStarts(void* state, int part, int parts)
    {
        int* flags = (int*)state;
        if (part == 1)
        {
            Volatile.Write(ref flags[1], 1);
            Thread.Sleep(200);
            Volatile.Write(ref flags[0], 1);
            return;
        }
        var wait = Stopwatch.StartNew();
        while (Volatile.Read(ref flags[1]) == 0 && wait.ElapsedMilliseconds < 2000) Thread.SpinWait(10);
        throw new InvalidOperationException("part 0 failed");
    }

    /// <summary>
    /// Many splits in a row, of parts too short for a worker to always take its own in time (then the caller calls it
    /// off and runs it), and after pauses past the spin (the workers asleep, woken by the next offer): every part runs
    /// exactly once per split, and the split returns only when all have finished.
    /// </summary>
    [Fact]
    public unsafe void EveryPartRunsOnceAndIsDoneWhenTheSplitReturns()
    {
        if (GemmWorkers.Available < 2) return;
        int saved = Gemm.Threads;
        Gemm.Threads = GemmWorkers.Available;
        try
        {
            int parts = GemmWorkers.Available;
            long* runs = stackalloc long[8 + 1]; // [part]: times run; [8]: the split's number, which each part stamps
            long* stamps = stackalloc long[8];
            for (int p = 0; p < 9; p++) runs[p] = 0;
            for (int p = 0; p < 8; p++) stamps[p] = 0;
            long* state = stackalloc long[2];
            state[0] = (long)runs;
            state[1] = (long)stamps;
            int called = 0;
            for (long split = 1; split <= 40_000; split++)
            {
                runs[8] = split;
                if (split % 4000 == 0) Thread.Sleep(2); // past the spin: the workers sleep until the next offer
                GemmWorkers.Run(&StampPart, state, parts);
                called++;
                for (int p = 0; p < parts; p++) Assert.Equal(split, Volatile.Read(ref stamps[p]));
            }
            for (int p = 0; p < parts; p++) Assert.Equal(called, runs[p]);
        }
        finally
        {
            Gemm.Threads = saved;
        }
    }

    // Counts the part's runs and stamps it with the split's number after a pause of 0 to ~2 µs, longer for the later parts.
    private static unsafe void StampPart(void* state, int part, int parts)
    {
        long* runs = (long*)((long*)state)[0], stamps = (long*)((long*)state)[1];
        Interlocked.Increment(ref runs[part]);
        long split = Volatile.Read(ref runs[8]);
        long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * ((split * 7 + part) % 20) / 10_000_000;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(1);
        Volatile.Write(ref stamps[part], split);
    }

    [Theory]
    [InlineData(null, 50)]
    [InlineData("passive", 0)]
    [InlineData("PASSIVE", 0)]
    [InlineData("active", 1000)]
    [InlineData(" Active ", 1000)]
    [InlineData("", 50)]
    [InlineData("whatever", 50)]
    public void TheWaitPolicyFollowsOpenMpsNames(string? policy, long microseconds)
    {
        var warnings = new StringWriter();
        Assert.Equal(microseconds, GemmWorkers.SpinMicroseconds(policy, "DSL_WAIT_POLICY", warnings));
        // a value that is no policy is named, with what was expected; the known ones and an unset variable say nothing
        if (policy == "whatever") Assert.Equal("Dsl: DSL_WAIT_POLICY='whatever' is not a wait policy (expected passive or active); it is ignored and the workers spin 50 µs, then block.", warnings.ToString().TrimEnd());
        else Assert.Empty(warnings.ToString());
    }
}
