using System;
using System.Threading;

namespace Dsl.Kernels;

/// <summary>
/// Splits a large product over the machine's cores: the parts are claimed one by one, by the calling thread and by
/// persistent background workers signalled without allocating (a training step allocates nothing). A worker that has
/// not woken by the time the caller has claimed every part is called off, so a descheduled worker (a busy neighbour
/// on the machine) costs the caller its parts' time, never a wait for the scheduler. Each thread first claims its own
/// part (the caller part 0, worker i part i), so that from one step of a recurrent layer to the next a core reads the
/// share of the weights it read before, from its own cache. Only one product is split at a time; a second caller
/// meanwhile runs on its own thread.
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

    // The split in flight (one at a time, under s_busy): what a part is, and which parts are claimed.
    private static GemmJob s_job;
    private static bool s_byRows;
    private static int s_chunk, s_length, s_parts;

    // 1 once a part of the split in flight is claimed (a split has at most Available ≤ 8 parts).
    private static readonly int[] s_claimed = new int[8];
    private static delegate*<void*, int, int, void> s_work;
    private static void* s_state;

    public static void Split(in GemmJob job)
    {
        if (!TryAcquire())
        {
            Gemm.Execute(job);
            return;
        }
        try
        {
            // Split the longer side into equal parts aligned to the register tile (the one the whole product runs: each
            // part's edge rows are then the whole's, and its results the same bits).
            bool byRows = job.M >= job.N;
            int length = byRows ? job.M : job.N;
            (int parts, int chunk) = Cut(length, byRows ? job.TileRows : job.Path.NR);
            (s_job, s_byRows, s_length, s_chunk) = (job, byRows, length, chunk);
            s_work = null;
            s_state = null;
            Dispatch(parts);
        }
        finally
        {
            s_job = default;
            Release();
        }
    }

    /// <summary>
    /// How a split cuts <paramref name="length"/> items into equal parts aligned to <paramref name="align"/>: the number of
    /// parts and the items in each (the last may have fewer). A product's columns are cut so; so are the columns of a
    /// matrix packed for the steps to come (<see cref="Gemm.PackB(int, int, ReadOnlySpan{float}, int, bool, Span{float})"/>),
    /// so that each core packs the share it will multiply by.
    /// </summary>
    public static (int Parts, int Chunk) Cut(int length, int align)
    {
        int units = Math.Max(1, (length + align - 1) / align);
        int parts = Math.Min(Count, units);
        return (parts, (units + parts - 1) / parts * align);
    }

    /// <summary>
    /// Runs <paramref name="work"/>(state, part, parts) for part = 0 … parts − 1 on the calling thread and the workers, each
    /// part once, whoever claims it first, and returns when all are done (a fused recurrent step: each core its share of
    /// the product and of the element-wise epilogue). Runs every part here when another split holds the workers.
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
            s_work = work;
            s_state = state;
            Dispatch(parts);
        }
        finally
        {
            s_work = null;
            s_state = null;
            Release();
        }
    }

    /// <summary>Offers the split's parts to parts − 1 workers, claims parts here until none is left, then settles with each worker.</summary>
    private static void Dispatch(int parts)
    {
        Worker[] workers = s_workers ??= CreateWorkers();
        s_parts = parts;
        for (int p = 0; p < parts; p++) s_claimed[p] = 0;
        int offered = Math.Min(parts - 1, workers.Length);
        for (int w = 0; w < offered; w++) workers[w].Offer();
        Exception? error = null;
        try
        {
            Claim(home: 0);
        }
        catch (Exception e)
        {
            error = e;
        }
        // a worker still asleep is called off (its parts are done); one that is running is waited for
        for (int w = 0; w < offered; w++)
        {
            // every worker, even after a failure: one still running a part reads this split's state and the caller's memory
            Exception? failed = workers[w].Settle();
            error ??= failed;
        }
        // the part's own exception, with its stack trace, whichever thread ran it: the same type a caller catches when the
        // part runs on its thread alone (one part, or another split holding the workers)
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }

    /// <summary>Runs part <paramref name="home"/> if no one has claimed it yet, then every other part left unclaimed.</summary>
    private static void Claim(int home)
    {
        if (home < s_parts) TryRun(home);
        for (int p = 0; p < s_parts; p++) TryRun(p);
    }

    private static void TryRun(int part)
    {
        if (Interlocked.Exchange(ref s_claimed[part], 1) != 0) return;
        if (s_work != null)
        {
            s_work(s_state, part, s_parts);
            return;
        }
        int start = part * s_chunk, end = Math.Min(s_length, start + s_chunk);
        if (start < end) Gemm.Execute(s_byRows ? s_job.Rows(start, end) : s_job.Columns(start, end));
    }

    /// <summary>
    /// Parts to split <paramref name="items"/> independent items (rows, sequences, heads) into for <see cref="Run"/>: one per
    /// core, at most one per item, when there are two items or more and <paramref name="work"/> reaches <paramref name="from"/>
    /// (below it signalling would cost more than it saves); else 1.
    /// </summary>
    public static int Parts(int items, long work, long from) => Count > 1 && items >= 2 && work >= from ? Math.Min(Count, items) : 1;

    /// <summary>Items [start, end) of <paramref name="part"/> when <paramref name="count"/> items are split into <paramref name="parts"/>.</summary>
    public static (int Start, int End) Range(int count, int part, int parts)
    {
        int chunk = (count + parts - 1) / parts;
        return (Math.Min(count, part * chunk), Math.Min(count, (part + 1) * chunk));
    }

    /// <summary>A per-thread scratch of <paramref name="length"/> floats for the parts of a split (allocated once per thread and size, from a 64-byte boundary).</summary>
    public static Span<float> Scratch(int length) => Aligned.Span(ref s_scratch, length);

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
        while (!signal.IsSet && System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks) Thread.SpinWait(1);
    }

    private sealed class Worker
    {
        private const int Idle = 0, Offered = 1, Running = 2;

        // Spinning is SpinUntil's alone: past it, Wait blocks at once.
        private readonly ManualResetEventSlim _go = new(false, spinCount: 1);
        private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
        private int _state;
        private Exception? _error;

        private readonly int _home;

        public Worker(int index)
        {
            _home = index;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Dsl GEMM worker {index}" };
            thread.Start();
        }

        /// <summary>Offers the split in flight: the worker claims parts of it if it wakes before they are all taken.</summary>
        public void Offer()
        {
            _error = null;
            _done.Reset();
            Volatile.Write(ref _state, Offered);
            _go.Set();
        }

        /// <summary>Calls the offer off if the worker has not taken it up; else waits until it is done. Returns its failure, if any.</summary>
        public Exception? Settle()
        {
            if (Interlocked.CompareExchange(ref _state, Idle, Offered) == Offered) return null;
            SpinUntil(_done);
            _done.Wait();
            return _error;
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
                // the state, not the signal, says whether there is work: an offer called off leaves it Idle
                if (Interlocked.CompareExchange(ref _state, Running, Offered) != Offered) continue;
                try
                {
                    Claim(_home);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                Volatile.Write(ref _state, Idle);
                _done.Set();
            }
        }
    }
}
