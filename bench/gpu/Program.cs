using System.Diagnostics;
using System.Numerics.Tensors;
using DeviceCheck;
using Dsl;
using Dsl.Gpu;
using Device = Dsl.Gpu.Device;

// bench/gpu/check.sh runs this on a GPU machine, one process per part (a CUDA fault poisons its process's context: the
// other parts still run): --part agreement: every model kind agrees with the host path there (outputs, losses, every
// gradient, with lengths), on the device as opened and, where that is cuBLAS, two kinds again on the tiled kernel;
// --part timings: the char training step, its batch-1 generation step and the LSTM (128, 64, 512, 512) forward+backward on
// the device against the host path of the same machine, their losses and gradients compared; --part gemm: the ILGPU GEMM
// and the products the models use at 2048³ and on an odd transposed shape, each result checked against the host in
// double. --smoke: small sizes, for ILGPU's CPU accelerator (how the script is tried before a GPU machine is used); full
// sizes refuse to run there. --cpu / --cuda: the accelerator (default: the best found).
bool smoke = args.Contains("--smoke");
int partAt = Array.IndexOf(args, "--part");
string part = partAt >= 0 && partAt + 1 < args.Length ? args[partAt + 1] : "all";
if (part is not ("all" or "agreement" or "timings" or "gemm"))
{
    Console.WriteLine($"--part: expected agreement, timings, gemm or all, got '{part}'");
    return 2;
}
DeviceKind kind = args.Contains("--cpu") ? DeviceKind.Cpu : args.Contains("--cuda") ? DeviceKind.Cuda : DeviceKind.Auto;
long opening = Stopwatch.GetTimestamp();
using Device device = Device.Open(kind);
Console.WriteLine($"[{part}] device: {device.Kind} ({device.Name}), products: {device.Products}; opened in {Stopwatch.GetElapsedTime(opening).TotalSeconds:F1} s; host: {Environment.ProcessorCount} cores, GEMM micro-kernel {Dsl.Kernels.Gemm.MicroKernel}");
if (!smoke && device.Kind == DeviceKind.Cpu)
{
    Console.WriteLine("refused: full sizes on ILGPU's CPU accelerator would take hours (pass --smoke there)");
    return 2;
}
int failures = 0;

// Each piece runs on its own: an exception in one is printed and counted, and the others still run.
void Piece(string what, Action piece)
{
    long began = Stopwatch.GetTimestamp();
    try
    {
        piece();
    }
    catch (Exception e)
    {
        failures++;
        Console.WriteLine($"{what}: FAILED with {e}");
    }
    Console.WriteLine($"  ({what}: {Stopwatch.GetElapsedTime(began).TotalSeconds:F1} s)");
}

// Where the models' products are cuBLAS, a second device whose products are the tiled kernel (opened once, on demand).
Device? tiled = null;
Device Tiled()
{
    if (tiled is null)
    {
        // (a device asks for cuBLAS when its products are first wanted: reading Products settles it while the variable is set)
        Environment.SetEnvironmentVariable("DSL_GPU_CUBLAS", "0");
        tiled = Device.Open(kind);
        Console.WriteLine($"second device: products {tiled.Products}");
        Environment.SetEnvironmentVariable("DSL_GPU_CUBLAS", null);
    }
    return tiled;
}

if (part is "all" or "agreement")
{
    void AgreeAll(Device on, bool all)
    {
        string at = on == device ? "" : $" [{on.Products}]";
        Piece("agreement, LSTM" + at, () => failures += Agree<int>(on, () => new AgreeLstm(3), tokens: true, "LSTM 2 layers, bidirectional, dropout" + at));
        if (all)
        {
            Piece("agreement, GRU", () => failures += Agree<float>(on, () => new AgreeGru(3), tokens: false, "GRU 2 layers"));
            Piece("agreement, GRU (Cho)", () => failures += Agree<float>(on, () => new AgreeGruCho(3), tokens: false, "GRU (Cho), bidirectional, many-to-one"));
            Piece("agreement, RNN", () => failures += Agree<int>(on, () => new AgreeRnn(3), tokens: true, "RNN ReLU, learned initial state"));
            Piece("agreement, LSTM projection", () => failures += Agree<float>(on, () => new AgreeLstmProjection(3), tokens: false, "LSTM projection, recurrent dropout"));
            Piece("agreement, GPT block", () => failures += Agree<int>(on, () => new AgreeGpt(3), tokens: true, "decoder-only Transformer block (causal attention with dropout, positional encoding, layer norm)"));
            Piece("agreement, encoder block", () => failures += Agree<float>(on, () => new AgreeEncoderBlock(3), tokens: false, "self-attention (padded), residual, layer norm"));
            Piece("agreement, relative bias", () => failures += Agree<float>(on, () => new AgreeRelative(3), tokens: false, "T5's and MPNet's relative position bias, one table for two layers (padded)"));
            Piece("agreement, ALiBi", () => failures += Agree<float>(on, () => new AgreeAlibi(3), tokens: false, "ALiBi over the whole sequence and causal (padded)"));
            Piece("agreement, parallel blocks", () => failures += Agree<int>(on, () => new AgreeParallel(3), tokens: true, "GPT-NeoX's parallel blocks: a branch's copy and its gradient joined back (padded)"));
            Piece("agreement, T5", () => failures += AgreeSeq2Seq(on, () => new AgreeT5(3), "T5's encoder-decoder: relative buckets on both sides and one-sided, unscaled cross-attention (padded sources)"));
            Piece("agreement, Bahdanau", () => failures += AgreeSeq2Seq(on, () => new AgreeBahdanau(3), "encoder-decoder, GRU with additive attention (padded sources)"));
            Piece("agreement, Luong", () => failures += AgreeSeq2Seq(on, () => new AgreeLuongFeeding(3), "encoder-decoder, LSTM with general attention and input feeding (padded sources)"));
        }
        Piece("agreement, Transformer" + at, () => failures += AgreeSeq2Seq(on, () => new AgreeTransformer(3), "Transformer encoder-decoder (padded sources)" + at));
    }
    AgreeAll(device, all: true);
    if (device.Products == "cuBLAS") AgreeAll(Tiled(), all: false);
}

if (part is "all" or "timings")
{
    Piece("timings", () => Timings(device, withHost: true));
    if (device.Products == "cuBLAS") Piece("timings without cuBLAS", () => Timings(Tiled(), withHost: false));
}

if (part is "all" or "gemm") Piece("GEMM", Gemms);

tiled?.Dispose();
Console.WriteLine(failures == 0 ? $"[{part}] all passed" : $"[{part}] {failures} FAILED");
return failures == 0 ? 0 : 1;

// The char training step and the LSTM (128, 64, 512, 512) forward+backward on the device, against the host path when
// withHost (the same seeds and data on both: after the same runs their losses and gradients must still agree).
void Timings(Device on, bool withHost)
{
    {
        int B = smoke ? 4 : 32, T = smoke ? 8 : 100;
        var rng = new Rng(1);
        int[] tokens = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(65)).ToArray(), targets = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(65)).ToArray();
        float Step(CharBench model, Adam adam)
        {
            model.Parameters.ZeroGrad();
            float loss = model.Backward(new ReadOnlyTensorSpan<int>(tokens, [B, T]), new ReadOnlyTensorSpan<int>(targets, [B, T]));
            model.Parameters.ClipGradNorm(5f);
            adam.Step();
            return loss;
        }
        var host = new CharBench(1);
        var onDevice = new CharBench(1);
        onDevice.To(on);
        var hostAdam = new Adam(host.Parameters, 1e-3f);
        var deviceAdam = new Adam(onDevice.Parameters, 1e-3f);
        float hostLoss = 0, deviceLoss = 0;
        double h = withHost ? Time(() => hostLoss = Step(host, hostAdam), smoke) : double.NaN;
        double d = Time(() => { deviceLoss = Step(onDevice, deviceAdam); _ = onDevice.Parameters[0].AsSpan()[0]; }, smoke, "char step on the device");
        Console.WriteLine($"char training step (T = {T}, B = {B}, Adam): host {h:F2} ms, device {d:F2} ms: {h / d:F2}x");
        if (withHost) failures += Close("char step, the loss after the same Adam steps", hostLoss, deviceLoss, 1e-3);
        int[] one = [3];
        float[] logits = new float[65];
        double Generate(CharBench model)
        {
            var state = model.CreateState(batch: 1);
            return Time(() => model.Step(new ReadOnlyTensorSpan<int>(one, [1]), state, new TensorSpan<float>(logits, [1, 65])), smoke);
        }
        double g = Generate(onDevice), gh = withHost ? Generate(host) : double.NaN;
        Console.WriteLine($"char generation step (batch 1): host {gh:F3} ms, device {g:F3} ms");
    }
    {
        int B = smoke ? 2 : 64, T = smoke ? 4 : 128, X = 512;
        var rng = new Rng(2);
        float[] input = Enumerable.Range(0, B * T * X).Select(_ => rng.NextNormal()).ToArray(), target = Enumerable.Range(0, B * T * X).Select(_ => rng.NextNormal()).ToArray();
        var host = new Lstm512(1);
        var onDevice = new Lstm512(1);
        onDevice.To(on);
        float hostLoss = 0, deviceLoss = 0;
        double h = withHost ? Time(() => hostLoss = host.Backward(new ReadOnlyTensorSpan<float>(input, [B, T, X]), new ReadOnlyTensorSpan<float>(target, [B, T, X])), smoke) : double.NaN;
        double d = Time(() => { deviceLoss = onDevice.Backward(new ReadOnlyTensorSpan<float>(input, [B, T, X]), new ReadOnlyTensorSpan<float>(target, [B, T, X])); _ = onDevice.Parameters[0].GradAsSpan()[0]; }, smoke, "LSTM forward+backward on the device");
        Console.WriteLine($"LSTM ({T}, {B}, 512, 512) forward+backward: host {h:F2} ms, device {d:F2} ms: {h / d:F2}x");
        double hf = withHost ? Time(() => host.Forward(new ReadOnlyTensorSpan<float>(input, [B, T, X])), smoke) : double.NaN;
        double df = Time(() => _ = onDevice.Forward(new ReadOnlyTensorSpan<float>(input, [B, T, X])).FlattenedLength, smoke);
        Console.WriteLine($"LSTM ({T}, {B}, 512, 512) forward: host {hf:F2} ms, device {df:F2} ms: {hf / df:F2}x");
        if (withHost)
        {
            // the same number of Backward calls on each side, the gradients accumulated over them
            failures += Close($"LSTM ({T}, {B}), the loss", hostLoss, deviceLoss, 1e-4);
            var worst = new Worst();
            for (int i = 0; i < host.Parameters.Count; i++) worst.Compare(host.Parameters[i].GradAsSpan(), onDevice.Parameters[i].GradAsSpan());
            failures += worst.Report($"LSTM ({T}, {B}), every gradient accumulated over the timed runs", 1e-3);
        }
    }
}

// The ILGPU GEMM and the models' products at n³ (random operands) and on an odd shape with both operands transposed, each
// result sampled against the host's dot products in double.
void Gemms()
{
    var gemm = new TiledGemm(device);
    string Rate(int m, int n, int k, double t) => $"{t:F2} ms, {2.0 * m * n * k / (t * 1e6):F0} GFLOP/s";
    {
        int n = smoke ? 128 : 2048;
        var rng = new Rng(5);
        float[] a = Enumerable.Range(0, n * n).Select(_ => rng.NextNormal()).ToArray(), b = Enumerable.Range(0, n * n).Select(_ => rng.NextNormal()).ToArray();
        using var da = Upload(a);
        using var db = Upload(b);
        using var dc = new DeviceMemory(device, (long)n * n);
        double ms = Time(() => { gemm.Run(n, n, n, da.Span, n, false, db.Span, n, false, dc.Span, n, false); device.Synchronize(); }, smoke);
        Console.WriteLine($"ILGPU GEMM ({(device.Kind == DeviceKind.Cpu ? "without shared memory" : "register-blocked")}) {n}³: {Rate(n, n, n, ms)}");
        failures += Sampled("ILGPU GEMM " + n + "³", dc, a, b, n, n, n, transA: false, transB: false);
        double used = Time(() => { Dsl.Gpu.Kernels.Gemm.MatMul(n, n, n, da.Span, n, db.Span, n, dc.Span, n, accumulate: false); device.Synchronize(); }, smoke);
        Console.WriteLine($"products: {device.Products}, {n}³: {Rate(n, n, n, used)}{(device.Products == "cuBLAS" ? $"; the ILGPU GEMM reaches {used / ms:P0} of cuBLAS" : "")}");
        failures += Sampled("the products " + n + "³", dc, a, b, n, n, n, transA: false, transB: false);
    }
    {
        // C [m, n] = Aᵀ · Bᵀ with A stored [k, m] and B [n, k]: sizes that leave partial tiles on every side
        int m = smoke ? 67 : 1023, n = smoke ? 129 : 2049, k = smoke ? 33 : 1025;
        var rng = new Rng(6);
        float[] a = Enumerable.Range(0, k * m).Select(_ => rng.NextNormal()).ToArray(), b = Enumerable.Range(0, n * k).Select(_ => rng.NextNormal()).ToArray();
        using var da = Upload(a);
        using var db = Upload(b);
        using var dc = new DeviceMemory(device, (long)m * n);
        gemm.Run(m, n, k, da.Span, m, true, db.Span, k, true, dc.Span, n, false);
        failures += Sampled($"ILGPU GEMM {m} × {n} × {k}, both transposed", dc, a, b, m, n, k, transA: true, transB: true);
        // the models' products with B transposed (a dense layer's x · Wᵀ), A as stored [m, k]: the first k·m floats of a
        float[] a2 = a.AsSpan(0, m * k).ToArray();
        using var da2 = Upload(a2);
        Dsl.Gpu.Kernels.Gemm.MatMulTransB(m, n, k, da2.Span, k, db.Span, k, dc.Span, n, accumulate: false);
        failures += Sampled($"the products ({device.Products}) {m} × {n} × {k}, B transposed", dc, a2, b, m, n, k, transA: false, transB: true);
    }
}

DeviceMemory Upload(float[] values)
{
    var memory = new DeviceMemory(device, values.Length);
    memory.Span.CopyFrom(values);
    return memory;
}

// C against the host's dot products in double at its corners, its first and last rows and columns' ends, and 200 random
// places: a wrong index, tile edge or staging shows in them.
static int Sampled(string what, DeviceMemory c, float[] a, float[] b, int m, int n, int k, bool transA, bool transB)
{
    var got = new float[(long)m * n];
    c.Span.CopyTo(got);
    var rng = new Rng(9);
    var places = new List<(int, int)> { (0, 0), (0, n - 1), (m - 1, 0), (m - 1, n - 1) };
    for (int j = 0; j < n; j += Math.Max(1, n / 16)) { places.Add((0, j)); places.Add((m - 1, j)); }
    for (int i = 0; i < m; i += Math.Max(1, m / 16)) { places.Add((i, 0)); places.Add((i, n - 1)); }
    for (int s = 0; s < 200; s++) places.Add((rng.NextInt(m), rng.NextInt(n)));
    double worst = 0;
    foreach (var (i, j) in places)
    {
        double sum = 0, scale = 0;
        for (int p = 0; p < k; p++)
        {
            double x = transA ? a[(long)p * m + i] : a[(long)i * k + p], y = transB ? b[(long)j * k + p] : b[(long)p * n + j];
            sum += x * y;
            scale += Math.Abs(x * y);
        }
        worst = Math.Max(worst, Math.Abs(got[(long)i * n + j] - sum) / (scale + 1e-30));
    }
    // float sums of k products: a few k·2^-24 of the sum of |products| (cuBLAS may use TF32 only if asked: it is not)
    bool ok = worst <= 1e-5 * Math.Max(1, k / 256.0);
    Console.WriteLine($"{what}: worst error over {places.Count} places {worst:E2} of the sum of |products| {(ok ? "ok" : "FAILED")}");
    return ok ? 0 : 1;
}

static int Close(string what, float expected, float actual, double tolerance)
{
    double difference = Math.Abs(expected - actual) / Math.Max(Math.Abs(expected), 1e-30);
    bool ok = difference <= tolerance;
    Console.WriteLine($"{what}: host {expected}, device {actual}, relative difference {difference:E2} {(ok ? "ok" : $"FAILED (> {tolerance:E0})")}");
    return ok ? 0 : 1;
}

// The median of a few timed runs after warm-ups, in milliseconds; with `first`, the first run's time (kernels compiled) is printed.
static double Time(Action run, bool smoke, string? first = null)
{
    long opened = Stopwatch.GetTimestamp();
    run();
    if (first is not null) Console.WriteLine($"  (first {first}, kernels compiled: {Stopwatch.GetElapsedTime(opened).TotalSeconds:F2} s)");
    run();
    var times = new List<double>();
    for (int i = 0; i < (smoke ? 2 : 7); i++)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

static int Agree<TIn>(Device on, Func<IModel<TIn>> make, bool tokens, string what)
{
    const int B = 3, T = 5;
    IModel<TIn> host = make(), onDevice = make();
    ((IDeviceModel)onDevice).To(on);
    var rng = new Rng(7);
    Tensor<TIn> input = tokens
        ? (Tensor<TIn>)(object)Tensor.Create(Enumerable.Range(0, B * T).Select(_ => rng.NextInt(host.InputWidth)).ToArray(), [B, T])
        : (Tensor<TIn>)(object)Tensor.Create(Enumerable.Range(0, B * T * host.InputWidth).Select(_ => rng.NextNormal()).ToArray(), [B, T, host.InputWidth]);
    int n = host.ReturnsSequences ? B * T : B;
    int[] ids = Enumerable.Range(0, n).Select(_ => rng.NextInt(host.OutputWidth)).ToArray();
    Tensor<int> targets = host.ReturnsSequences ? Tensor.Create(ids, [B, T]) : Tensor.Create(ids, [B]);
    int[] lengths = [5, 2, 4];
    var worst = new Worst();
    worst.Compare(Flat(host.Forward(input)), Flat(onDevice.Forward(input)));
    worst.Compare([host.Backward(input, targets, lengths)], [onDevice.Backward(input, targets, lengths)]);
    for (int i = 0; i < host.Parameters.Count; i++) worst.Compare(host.Parameters[i].GradAsSpan(), onDevice.Parameters[i].GradAsSpan());
    return worst.Report(what);
}

static int AgreeSeq2Seq<TEncoder, TDecoder>(Device on, Func<EncoderDecoderModel<int, TEncoder, TDecoder>> make, string what)
    where TEncoder : IEncoder<int>
    where TDecoder : IModel<int>
{
    const int B = 3, S = 5, T = 4;
    EncoderDecoderModel<int, TEncoder, TDecoder> host = make(), onDevice = make();
    onDevice.To(on);
    var rng = new Rng(8);
    var source = Tensor.Create(Enumerable.Range(0, B * S).Select(_ => rng.NextInt(host.Encoder.InputWidth)).ToArray(), [B, S]);
    var input = Tensor.Create(Enumerable.Range(0, B * T).Select(_ => rng.NextInt(host.Decoder.InputWidth)).ToArray(), [B, T]);
    var targets = Tensor.Create(Enumerable.Range(0, B * T).Select(_ => rng.NextInt(host.Decoder.OutputWidth)).ToArray(), [B, T]);
    int[] lengths = [5, 3, 4];
    var worst = new Worst();
    worst.Compare(Flat(host.Forward(source, lengths, input)), Flat(onDevice.Forward(source, lengths, input)));
    worst.Compare([host.Backward(source, lengths, input, targets)], [onDevice.Backward(source, lengths, input, targets)]);
    for (int i = 0; i < host.Parameters.Count; i++) worst.Compare(host.Parameters[i].GradAsSpan(), onDevice.Parameters[i].GradAsSpan());
    var one = Tensor.Create(Flat(source).Take(S).ToArray(), [1, S]);
    bool same = host.Greedy(one, startToken: 1, maxLength: 6).SequenceEqual(onDevice.Greedy(one, startToken: 1, maxLength: 6));
    if (!same) Console.WriteLine($"agreement, {what}: greedy decoding picked other tokens");
    return worst.Report(what) + (same ? 0 : 1);
}

static T[] Flat<T>(Tensor<T> t)
{
    var flat = new T[t.FlattenedLength];
    t.FlattenTo(flat);
    return flat;
}

/// <summary>
/// The worst difference seen, relative to each value or 1e-1 of its tensor's largest (the device sums in another order with
/// its own exp: a gradient made by cancellation carries that at its tensor's scale, as in tests/…/DeviceModelTests).
/// </summary>
sealed class Worst
{
    private double _worst;

    public void Compare(ReadOnlySpan<float> e, ReadOnlySpan<float> a)
    {
        float scale = 1e-3f;
        foreach (float v in e) scale = MathF.Max(scale, MathF.Abs(v));
        for (int i = 0; i < e.Length; i++) _worst = Math.Max(_worst, Math.Abs(e[i] - a[i]) / (Math.Abs(e[i]) + 0.1 * scale));
        if (e.Length != a.Length) _worst = double.PositiveInfinity;
    }

    public int Report(string what, double tolerance = 1e-4)
    {
        bool ok = _worst <= tolerance;
        Console.WriteLine($"agreement, {what}: worst relative difference {_worst:E2} {(ok ? "ok" : $"FAILED (> {tolerance:E0})")}");
        return ok ? 0 : 1;
    }
}
