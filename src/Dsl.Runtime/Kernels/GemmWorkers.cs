using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Dsl.Kernels;

/// <summary>
/// Splits a large product over the machine's cores: the calling thread runs part 0 and persistent background worker i
/// part i, signalled without allocating (a training step allocates nothing), so that from one step of a recurrent layer
/// to the next a core reads the share of the weights it read before, from its own cache. A worker that has not taken
/// its part by the time the caller's own is done is called off and its part runs on the caller, so a descheduled worker
/// (a busy neighbour on the machine) costs the caller that part's time, never a wait for the scheduler. Only one product
/// is split at a time; a second caller meanwhile runs on its own thread.
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

    // The number of the split in flight: what a worker's offer holds.
    private static long s_sequence;
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
            // (a product of a few rows run as dot products is cut by columns only: each part then runs as the whole does)
            bool byRows = job.M >= job.N && !Gemm.IsRowWise(job);
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
    /// matrix packed for the steps to come (<see cref="Gemm.PackB(int, int, Weights, int, bool, Span{float})"/>),
    /// so that each core packs the share it will multiply by.
    /// </summary>
    public static (int Parts, int Chunk) Cut(int length, int align)
    {
        int units = (int)Math.Max(1, ((long)length + align - 1) / align); // (in long: a length near int.MaxValue had wrapped to one unit)
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

    /// <summary>
    /// Offers part w + 1 to worker w, runs part 0 here, then each part its worker has not taken, and waits for the workers
    /// that took theirs.
    /// </summary>
    private static void Dispatch(int parts)
    {
        Worker[] workers = s_workers ??= CreateWorkers();
        s_parts = parts;
        int offered = Math.Min(parts - 1, workers.Length);
        long sequence = ++s_sequence;
        for (int w = 0; w < offered; w++) workers[w].Offer(sequence);
        Exception? error = Guarded(0);
        // a worker that has not taken its part is called off, and the part runs here
        for (int w = 0; w < offered; w++)
        {
            if (workers[w].CallOff(sequence)) error ??= Guarded(w + 1);
        }
        // every worker that took its part is waited for, even after a failure: it reads this split's state and the caller's memory
        for (int w = 0; w < offered; w++)
        {
            Exception? failed = workers[w].Await(sequence);
            error ??= failed;
        }
        // the part's own exception, with its stack trace, whichever thread ran it: the same type a caller catches when the
        // part runs on its thread alone (one part, or another split holding the workers)
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }

    private static Exception? Guarded(int part)
    {
        try
        {
            RunPart(part);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static void RunPart(int part)
    {
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
        long chunk = ((long)count + parts - 1) / parts; // in long: a count near int.MaxValue had wrapped, every part empty
        return ((int)Math.Min(count, part * chunk), (int)Math.Min(count, (part + 1) * chunk));
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
    internal static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency * WaitPolicyMicroseconds() / 1_000_000;

    private static long WaitPolicyMicroseconds()
    {
        string variable = Environment.GetEnvironmentVariable("DSL_WAIT_POLICY") is null ? "OMP_WAIT_POLICY" : "DSL_WAIT_POLICY";
        return SpinMicroseconds(Environment.GetEnvironmentVariable(variable), variable, Console.Error);
    }

    /// <summary>
    /// Microseconds of spinning for a wait <paramref name="policy"/>: 0 for passive, 1000 for active, 50 when unset; any other
    /// value is named on <paramref name="warnings"/> (as OpenMP's runtime does) and the default is used.
    /// </summary>
    internal static long SpinMicroseconds(string? policy, string variable, System.IO.TextWriter warnings)
    {
        switch (policy?.Trim().ToUpperInvariant())
        {
            case "PASSIVE": return 0;
            case "ACTIVE": return 1000;
            case null or "": return 50;
            default:
                warnings.WriteLine($"Dsl: {variable}='{policy}' is not a wait policy (expected passive or active); it is ignored and the workers spin 50 µs, then block.");
                return 50;
        }
    }

    /// <summary>Workers past their spin, blocked until the next product (for tests).</summary>
    internal static int Sleeping
    {
        get
        {
            int sleeping = 0;
            foreach (Worker w in s_workers ?? []) sleeping += w.Sleeping;
            return sleeping;
        }
    }

    /// <summary>Workers started so far (they start with the first split product).</summary>
    internal static int Started => s_workers?.Length ?? 0;

    /// <summary>Spins (past <see cref="SpinTicks"/>: blocks on <paramref name="wake"/>) until <paramref name="ready"/> holds.</summary>
    private static void WaitUntil<C>(ref Mailbox box, ref int sleeping, ManualResetEventSlim wake, C ready) where C : struct, ICondition
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!ready.Holds(ref box))
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
            {
                Thread.SpinWait(1);
                continue;
            }
            // Past the spin: announce the sleep, then look once more (the other side, having written what this waits for,
            // looks at the announcement after a full fence: one of the two sees the other's write), then block.
            wake.Reset();
            Volatile.Write(ref sleeping, 1);
            Interlocked.MemoryBarrier();
            if (!ready.Holds(ref box)) Block(wake);
            Volatile.Write(ref sleeping, 0);
        }
    }

    /// <summary>
    /// Blocks until <paramref name="wake"/> is set, through <see cref="Thread.Interrupt"/>: a caller interrupted while it
    /// waits for a worker must not return while the worker's part still reads its stack and buffers. The interrupt is
    /// raised again once the wait is over, so the thread's next blocking call outside the product sees it.
    /// </summary>
    private static void Block(ManualResetEventSlim wake)
    {
        bool interrupted = false;
        while (true)
        {
            try
            {
                wake.Wait();
                break;
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true; // (thrown, the interrupt is cleared: the next Wait blocks)
            }
        }
        if (interrupted) Thread.CurrentThread.Interrupt();
    }

    /// <summary>Wakes the side that announced it sleeps on <paramref name="wake"/>, after the write it waits for (a full fence between).</summary>
    private static void Wake(ref int sleeping, ManualResetEventSlim wake)
    {
        if (Volatile.Read(ref sleeping) != 0) wake.Set();
    }

    private interface ICondition
    {
        bool Holds(ref Mailbox box);
    }

    /// <summary>A split is offered (the worker's wait).</summary>
    private readonly struct HasOffer : ICondition
    {
        public bool Holds(ref Mailbox box) => Volatile.Read(ref box.Offered) > 0;
    }

    /// <summary>The worker has finished split <see cref="Sequence"/> (the caller's wait).</summary>
    private readonly struct HasFinished(long sequence) : ICondition
    {
        public long Sequence { get; } = sequence;

        public bool Holds(ref Mailbox box) => Volatile.Read(ref box.Finished) == Sequence;
    }

    /// <summary>
    /// What the caller and a worker tell each other: the caller's offer and the worker's answer each on a cache line of its
    /// own, so that a split costs one line's transfer to start the worker and one to tell the caller it is done. Each side's
    /// announcement that it sleeps (rare) sits on the other side's line, which that side reads right after writing it. (Two
    /// events and a shared claim array had cost the caller ~0.75 µs before its own part started and as much after the
    /// worker's part ended: a split of two 2.5 µs parts returned after 4.3–5.2 µs on this project's VM, now 3.9 µs.)
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Mailbox
    {
        /// <summary>The caller's: the number of the split offered; the worker makes it −number when it takes it, the caller 0 when it calls it off.</summary>
        [FieldOffset(64)] public long Offered;

        /// <summary>The worker's: 1 while it sleeps waiting for an offer.</summary>
        [FieldOffset(72)] public int WorkerSleeping;

        /// <summary>The worker's: the number of the last split whose part it finished.</summary>
        [FieldOffset(128)] public long Finished;

        /// <summary>The caller's: 1 while it sleeps waiting for <see cref="Finished"/>.</summary>
        [FieldOffset(136)] public int CallerSleeping;
    }

    private sealed class Worker
    {
        private Mailbox _box;
        private readonly ManualResetEventSlim _go = new(false, spinCount: 1);   // the worker sleeps on it (spinning is WaitUntil's alone)
        private readonly ManualResetEventSlim _done = new(false, spinCount: 1); // the caller sleeps on it
        private Exception? _error;

        private readonly int _home;

        public Worker(int index)
        {
            _home = index;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Dsl GEMM worker {index}" };
            thread.Start();
        }

        /// <summary>1 while the worker sleeps waiting for an offer.</summary>
        public int Sleeping => Volatile.Read(ref _box.WorkerSleeping);

        /// <summary>Offers the worker its part of split <paramref name="sequence"/> (the split's state is written before).</summary>
        public void Offer(long sequence)
        {
            _error = null;
            Interlocked.Exchange(ref _box.Offered, sequence);
            Wake(ref _box.WorkerSleeping, _go);
        }

        /// <summary>Calls the offer off if the worker has not taken it: true when the caller is to run the part.</summary>
        public bool CallOff(long sequence) => Interlocked.CompareExchange(ref _box.Offered, 0, sequence) == sequence;

        /// <summary>Waits until the worker has finished its part of split <paramref name="sequence"/>, if it took it; its failure, if any.</summary>
        public Exception? Await(long sequence)
        {
            if (Volatile.Read(ref _box.Offered) != -sequence) return null; // called off: the caller ran the part
            WaitUntil(ref _box, ref _box.CallerSleeping, _done, new HasFinished(sequence));
            return _error;
        }

        private void Loop()
        {
            while (true)
            {
                // Spin briefly (a recurrent layer's next step comes soon), then sleep until offered a part.
                WaitUntil(ref _box, ref _box.WorkerSleeping, _go, new HasOffer());
                long sequence = Volatile.Read(ref _box.Offered);
                // taken, unless the caller called it off meanwhile (then the next offer is waited for)
                if (sequence <= 0 || Interlocked.CompareExchange(ref _box.Offered, -sequence, sequence) != sequence) continue;
                try
                {
                    RunPart(_home);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                Interlocked.Exchange(ref _box.Finished, sequence);
                Wake(ref _box.CallerSleeping, _done);
            }
        }
    }
}
