using System;
using System.Threading;

namespace Dsl.Kernels;

/// <summary>
/// Splits a large product over the machine's cores: the calling thread takes one part and persistent
/// background workers the others, signalled without allocating (a training step allocates nothing).
/// Only one product is split at a time; a second caller meanwhile runs on its own thread.
/// </summary>
internal static unsafe class GemmWorkers
{
    /// <summary>The most threads a product may use, the caller included: the machine's cores, at most 8.</summary>
    public static readonly int Available = Math.Clamp(Environment.ProcessorCount, 1, 8);

    private static int s_count = Available;

    /// <summary>Threads a product uses now (see <see cref="Gemm.Threads"/>).</summary>
    public static int Count
    {
        get => s_count;
        set => s_count = Math.Clamp(value, 1, Available);
    }

    /// <summary>Products below this many multiply-adds stay on one thread: signalling would cost more than it saves.</summary>
    public const long ParallelThreshold = 1L << 20;

    // 1 while a split holds the workers. Not a Monitor: a part running on the calling thread may itself ask for a
    // split (a product inside a parallel attention head), and a re-entrant lock would hand it workers already busy.
    private static int s_busy;

    private static bool TryAcquire() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    private static void Release() => Volatile.Write(ref s_busy, 0);
    private static Worker[]? s_workers;

    public static void Split(in GemmJob job)
    {
        if (!TryAcquire())
        {
            Gemm.Execute(job);
            return;
        }
        try
        {
            Worker[] workers = s_workers ??= CreateWorkers();
            // Split the longer side into equal parts aligned to the register tile.
            bool byRows = job.M >= job.N;
            int length = byRows ? job.M : job.N, align = byRows ? job.Path.MR : job.Path.NR;
            int units = (length + align - 1) / align;
            int parts = Math.Min(Count, units);
            int chunk = (units + parts - 1) / parts * align;
            int started = 0;
            for (int w = 1; w < parts; w++)
            {
                int start = w * chunk, end = Math.Min(length, start + chunk);
                if (start >= end) break;
                workers[w - 1].Start(byRows ? job.Rows(start, end) : job.Columns(start, end));
                started++;
            }
            Gemm.Execute(byRows ? job.Rows(0, Math.Min(chunk, length)) : job.Columns(0, Math.Min(chunk, length)));
            for (int w = 0; w < started; w++) workers[w].Wait();
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/>(state, part, parts) for part = 0 … parts − 1, part 0 on the calling thread and the others
    /// on the workers, and returns when all are done (a fused recurrent step: each core its share of the product and of
    /// the element-wise epilogue). Runs every part here when another split holds the workers.
    /// </summary>
    public static void Run(delegate*<void*, int, int, void> work, void* state, int parts)
    {
        parts = Math.Clamp(parts, 1, Available);
        if (parts == 1 || !TryAcquire())
        {
            for (int p = 0; p < parts; p++) work(state, p, parts);
            return;
        }
        try
        {
            Worker[] workers = s_workers ??= CreateWorkers();
            for (int w = 1; w < parts; w++) workers[w - 1].Start(work, state, w, parts);
            work(state, 0, parts);
            for (int w = 1; w < parts; w++) workers[w - 1].Wait();
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Items [start, end) of <paramref name="part"/> when <paramref name="count"/> items are split into <paramref name="parts"/>.</summary>
    public static (int Start, int End) Range(int count, int part, int parts)
    {
        int chunk = (count + parts - 1) / parts;
        return (Math.Min(count, part * chunk), Math.Min(count, (part + 1) * chunk));
    }

    /// <summary>A per-thread scratch of at least <paramref name="length"/> floats for the parts of a split (allocated once per thread).</summary>
    public static Span<float> Scratch(int length) => (s_scratch is { } s && s.Length >= length ? s : (s_scratch = new float[length])).AsSpan(0, length);

    [ThreadStatic] private static float[]? s_scratch;

    private static Worker[] CreateWorkers()
    {
        var workers = new Worker[Available - 1];
        for (int i = 0; i < workers.Length; i++) workers[i] = new Worker(i + 1);
        return workers;
    }

    /// <summary>
    /// How long a worker (and the caller waiting for the workers) spins before it blocks: a recurrent layer asks for a
    /// product every few tens of microseconds, and waking a blocked thread costs about as much, so a short spin keeps
    /// the steps fast; past it the thread sleeps and leaves the core to others (OpenMP's PASSIVE policy after a short
    /// ACTIVE one). <c>DSL_WAIT_POLICY</c> (or <c>OMP_WAIT_POLICY</c>) = <c>passive</c> never spins, <c>active</c> spins 1 ms.
    /// </summary>
    internal static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency * SpinMicroseconds(
        Environment.GetEnvironmentVariable("DSL_WAIT_POLICY") ?? Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")) / 1_000_000;

    internal static long SpinMicroseconds(string? policy) => policy?.Trim().ToUpperInvariant() switch
    {
        "PASSIVE" => 0,
        "ACTIVE" => 1000,
        _ => 50,
    };

    private static int s_sleeping;

    /// <summary>Workers past their spin, blocked until the next product (for tests).</summary>
    internal static int Sleeping => Volatile.Read(ref s_sleeping);

    /// <summary>Workers started so far (they start with the first split product).</summary>
    internal static int Started => s_workers?.Length ?? 0;

    private static void SpinUntil(ManualResetEventSlim signal)
    {
        if (SpinTicks == 0) return;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!signal.IsSet && System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks) Thread.SpinWait(20);
    }

    private sealed class Worker
    {
        // Spinning is SpinUntil's alone: past it, Wait blocks at once.
        private readonly ManualResetEventSlim _go = new(false, spinCount: 1);
        private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
        private GemmJob _job;
        private delegate*<void*, int, int, void> _work;
        private void* _state;
        private int _part, _parts;
        private Exception? _error;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Dsl GEMM worker {index}" };
            thread.Start();
        }

        public void Start(in GemmJob job)
        {
            _job = job;
            _work = null;
            _error = null;
            _done.Reset();
            _go.Set();
        }

        public void Start(delegate*<void*, int, int, void> work, void* state, int part, int parts)
        {
            _work = work;
            _state = state;
            _part = part;
            _parts = parts;
            _error = null;
            _done.Reset();
            _go.Set();
        }

        public void Wait()
        {
            SpinUntil(_done);
            _done.Wait();
            if (_error is { } e) throw new InvalidOperationException("A GEMM worker failed.", e);
        }

        private void Loop()
        {
            while (true)
            {
                // Spin briefly (a recurrent layer's next step comes soon), then sleep until signalled.
                SpinUntil(_go);
                Interlocked.Increment(ref s_sleeping);
                _go.Wait();
                Interlocked.Decrement(ref s_sleeping);
                _go.Reset();
                try
                {
                    if (_work != null) _work(_state, _part, _parts);
                    else Gemm.Execute(_job);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                _done.Set();
            }
        }
    }
}
