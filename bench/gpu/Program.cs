using System.Diagnostics;
using System.Numerics.Tensors;
using DeviceCheck;
using Dsl;
using Dsl.Gpu;
using Device = Dsl.Gpu.Device;

// bench/gpu/check.sh runs this on a GPU machine: (1) every model kind agrees with the host path there (outputs, losses,
// every gradient, with lengths); (2) the char training step and the LSTM (128, 64, 512, 512) forward+backward on the
// device against the host path of the same machine; (3) the ILGPU GEMM at 2048³ (and cuBLAS where present). --smoke:
// small sizes, for ILGPU's CPU accelerator (how the script is tried before a GPU machine is used).
bool smoke = args.Contains("--smoke");
DeviceKind kind = args.Contains("--cpu") ? DeviceKind.Cpu : args.Contains("--cuda") ? DeviceKind.Cuda : DeviceKind.Auto;
long opening = Stopwatch.GetTimestamp();
using Device device = Device.Open(kind);
Console.WriteLine($"device: {device.Kind} ({device.Name}), products: {device.Products}; opened in {Stopwatch.GetElapsedTime(opening).TotalSeconds:F1} s; host: {Environment.ProcessorCount} cores, GEMM micro-kernel {Dsl.Kernels.Gemm.MicroKernel}");
int failures = 0;

// Each part runs on its own: an exception in one is printed and counted, and the others still run (a GPU machine's time is
// short: one run should say all it can).
void Part(string what, Action part)
{
    long began = Stopwatch.GetTimestamp();
    try
    {
        part();
    }
    catch (Exception e)
    {
        failures++;
        Console.WriteLine($"{what}: FAILED with {e}");
    }
    Console.WriteLine($"  ({what}: {Stopwatch.GetElapsedTime(began).TotalSeconds:F1} s)");
}

// (1) agreement
Part("agreement", () => {
failures += Agree<int>(() => new AgreeLstm(3), tokens: true, "LSTM 2 layers, bidirectional, dropout");
failures += Agree<float>(() => new AgreeGru(3), tokens: false, "GRU 2 layers");
failures += Agree<float>(() => new AgreeGruCho(3), tokens: false, "GRU (Cho), bidirectional, many-to-one");
failures += Agree<int>(() => new AgreeRnn(3), tokens: true, "RNN ReLU, learned initial state");
failures += Agree<float>(() => new AgreeLstmProjection(3), tokens: false, "LSTM projection, recurrent dropout");
failures += Agree<int>(() => new AgreeGpt(3), tokens: true, "decoder-only Transformer block (causal attention with dropout, positional encoding, layer norm)");
failures += Agree<float>(() => new AgreeEncoderBlock(3), tokens: false, "self-attention (padded), residual, layer norm");
failures += AgreeSeq2Seq(() => new AgreeBahdanau(3), "encoder-decoder, GRU with additive attention (padded sources)");
failures += AgreeSeq2Seq(() => new AgreeLuongFeeding(3), "encoder-decoder, LSTM with general attention and input feeding (padded sources)");
failures += AgreeSeq2Seq(() => new AgreeTransformer(3), "Transformer encoder-decoder (padded sources)");
});

// (2) timings, on the device as opened and, where that uses cuBLAS, on a second one with the tiled kernel for products
Part("timings", () => Timings(device));
if (device.Products == "cuBLAS")
{
    Environment.SetEnvironmentVariable("DSL_GPU_CUBLAS", "0");
    Part("timings without cuBLAS", () =>
    {
        using Device tiled = Device.Open(kind);
        Console.WriteLine($"second device: products {tiled.Products}");
        Timings(tiled);
    });
}

void Timings(Device device)
{
{
    int B = smoke ? 4 : 32, T = smoke ? 8 : 100;
    var rng = new Rng(1);
    int[] tokens = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(65)).ToArray(), targets = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(65)).ToArray();
    double Step(CharBench model, Adam adam)
    {
        model.Parameters.ZeroGrad();
        model.Backward(new ReadOnlyTensorSpan<int>(tokens, [B, T]), new ReadOnlyTensorSpan<int>(targets, [B, T]));
        model.Parameters.ClipGradNorm(5f);
        adam.Step();
        return 0;
    }
    var host = new CharBench(1);
    var onDevice = new CharBench(1);
    onDevice.To(device);
    var hostAdam = new Adam(host.Parameters, 1e-3f);
    var deviceAdam = new Adam(onDevice.Parameters, 1e-3f);
    double h = Time(() => Step(host, hostAdam), smoke), d = Time(() => { Step(onDevice, deviceAdam); _ = onDevice.Parameters[0].AsSpan()[0]; }, smoke, "char step on the device");
    Console.WriteLine($"char training step (T = {T}, B = {B}, Adam): host {h:F2} ms, device {d:F2} ms: {h / d:F2}x");
    // generation: one token at a time, batch 1, the state carried (launch-bound on a GPU)
    int[] one = [3];
    float[] logits = new float[65];
    double Generate(CharBench model)
    {
        var state = model.CreateState(batch: 1);
        return Time(() => model.Step(new ReadOnlyTensorSpan<int>(one, [1]), state, new TensorSpan<float>(logits, [1, 65])), smoke);
    }
    double g = Generate(onDevice), gh = Generate(host);
    Console.WriteLine($"char generation step (batch 1): host {gh:F3} ms, device {g:F3} ms");
}
{
    int B = smoke ? 2 : 64, T = smoke ? 4 : 128, X = 512;
    var rng = new Rng(2);
    float[] input = Enumerable.Range(0, B * T * X).Select(_ => rng.NextNormal()).ToArray(), target = Enumerable.Range(0, B * T * X).Select(_ => rng.NextNormal()).ToArray();
    var host = new Lstm512(1);
    var onDevice = new Lstm512(1);
    onDevice.To(device);
    double h = Time(() => host.Backward(new ReadOnlyTensorSpan<float>(input, [B, T, X]), new ReadOnlyTensorSpan<float>(target, [B, T, X])), smoke);
    double d = Time(() => { onDevice.Backward(new ReadOnlyTensorSpan<float>(input, [B, T, X]), new ReadOnlyTensorSpan<float>(target, [B, T, X])); _ = onDevice.Parameters[0].GradAsSpan()[0]; }, smoke, "LSTM forward+backward on the device");
    Console.WriteLine($"LSTM ({T}, {B}, 512, 512) forward+backward: host {h:F2} ms, device {d:F2} ms: {h / d:F2}x");
    double hf = Time(() => host.Forward(new ReadOnlyTensorSpan<float>(input, [B, T, X])), smoke);
    double df = Time(() => _ = onDevice.Forward(new ReadOnlyTensorSpan<float>(input, [B, T, X])).FlattenedLength, smoke);
    Console.WriteLine($"LSTM ({T}, {B}, 512, 512) forward: host {hf:F2} ms, device {df:F2} ms: {hf / df:F2}x");
}
}

// (3) the tiled GEMM
Part("GEMM", () =>
{
    int n = smoke ? 128 : 2048;
    var gemm = new TiledGemm(device);
    using var a = new DeviceMemory(device, (long)n * n);
    using var b = new DeviceMemory(device, (long)n * n);
    using var c = new DeviceMemory(device, (long)n * n);
    a.Span.Fill(0.5f);
    b.Span.Fill(0.25f);
    double ms = Time(() => { gemm.Run(n, n, n, a.Span, n, false, b.Span, n, false, c.Span, n, false); device.Synchronize(); }, smoke);
    string Rate(double t) => $"{t:F2} ms, {2.0 * n * n * n / (t * 1e6):F0} GFLOP/s";
    Console.WriteLine($"ILGPU GEMM ({(device.Kind == DeviceKind.Cpu ? "without shared memory" : "register-blocked")}) {n}³: {Rate(ms)}");
    // what the models' products use (cuBLAS where the machine has it)
    double used = Time(() => { Dsl.Gpu.Kernels.Gemm.MatMul(n, n, n, a.Span, n, b.Span, n, c.Span, n, accumulate: false); device.Synchronize(); }, smoke);
    Console.WriteLine($"products: {device.Products}, {n}³: {Rate(used)}{(device.Products == "cuBLAS" ? $"; the ILGPU GEMM reaches {used / ms:P0} of cuBLAS" : "")}");
    // the products' result against the host's (all of A is 0.5 and all of B 0.25: every element n / 8)
    var first = new float[1];
    c.Span.Slice(0, 1).CopyTo(first);
    float got = first[0];
    if (Math.Abs(got - n / 8f) > 1e-3f * n) throw new InvalidOperationException($"the product gave {got} where {n / 8f} was expected");
});

Console.WriteLine(failures == 0 ? "agreement: all passed" : $"agreement: {failures} FAILED");
return failures == 0 ? 0 : 1;

// The median of a few timed runs after warm-ups, in milliseconds.
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

int Agree<TIn>(Func<IModel<TIn>> make, bool tokens, string what)
{
    const int B = 3, T = 5;
    IModel<TIn> host = make(), onDevice = make();
    ((IDeviceModel)onDevice).To(device);
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

int AgreeSeq2Seq<TEncoder, TDecoder>(Func<EncoderDecoderModel<int, TEncoder, TDecoder>> make, string what)
    where TEncoder : IEncoder<int>
    where TDecoder : IModel<int>
{
    const int B = 3, S = 5, T = 4;
    EncoderDecoderModel<int, TEncoder, TDecoder> host = make(), onDevice = make();
    onDevice.To(device);
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
/// its own exp and tanh: a gradient made by cancellation carries that at its tensor's scale, as in tests/…/DeviceModelTests).
/// </summary>
sealed class Worst
{
    private double _worst;

    public void Compare(ReadOnlySpan<float> e, ReadOnlySpan<float> a)
    {
        float scale = 1e-3f;
        foreach (float v in e) scale = MathF.Max(scale, MathF.Abs(v));
        for (int i = 0; i < e.Length; i++) _worst = Math.Max(_worst, Math.Abs(e[i] - a[i]) / (Math.Abs(e[i]) + 0.1 * scale));
    }

    public int Report(string what)
    {
        bool ok = _worst <= 1e-4;
        Console.WriteLine($"agreement, {what}: worst relative difference {_worst:E2} {(ok ? "ok" : "FAILED (> 1e-4)")}");
        return ok ? 0 : 1;
    }
}
