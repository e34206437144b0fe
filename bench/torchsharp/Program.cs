using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

// TorchSharp (LibTorch) on every workload bench/pytorch/bench.py and bench/Dsl.Benchmarks time, with their names and
// the same timing (warm-up until a quarter-second window stops getting faster, then the median of about a second of
// runs), for bench/torchsharp/run.sh's side-by-side table:
//   TorchSharpBench [threads] [--json] [--only TEXT]
int threads = args.Length > 0 && int.TryParse(args[0], out int n) ? n : Environment.ProcessorCount;
bool json = args.Contains("--json");
string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
torch.set_num_threads(threads);
torch.manual_seed(1);
if (!json) Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, LibTorch {torch.__version__}, {torch.get_num_threads()} threads");

bool Wanted(string name) => only is null || name.Contains(only, StringComparison.Ordinal);

void Time(string name, double flops, Action run)
{
    if (!Wanted(name)) return;
    double ms = Median(() => { using var scope = NewDisposeScope(); run(); });
    double gflops = flops / ms / 1e6;
    if (json) Console.WriteLine($"{{\"name\":\"{name}\",\"ms\":{ms.ToString("F4", CultureInfo.InvariantCulture)},\"gflops\":{gflops.ToString("F2", CultureInfo.InvariantCulture)}}}");
    else Console.WriteLine($"{name,-48} {ms,10:F3} ms {gflops,8:F1} GFLOP/s");
}

static double RecurrentFlops(int gates, int t, int b, int x, int h) => 2.0 * t * b * gates * h * (x + h);

foreach (int size in new[] { 512, 1024 })
{
    var a = randn(size, size);
    var b = randn(size, size);
    foreach (int t in new[] { 1, threads }.Distinct())
    {
        torch.set_num_threads(t);
        using (torch.no_grad()) Time($"gemm {size}^3 {t} thread{(t > 1 ? "s" : "")}", 2.0 * size * size * size, () => torch.mm(a, b));
    }
    torch.set_num_threads(threads);
}

foreach (var (T, B, X, H) in new[] { (64, 1, 256, 256), (64, 32, 256, 256), (128, 64, 512, 512) })
{
    foreach (string kind in new[] { "lstm", "gru", "rnn" })
    {
        int gates = kind switch { "lstm" => 4, "gru" => 3, _ => 1 };
        string shape = $"T={T} B={B} X={X} H={H}";
        if (!Wanted($"{kind} forward {shape}") && !Wanted($"{kind} forward+backward {shape}")) continue;
        var layer = new RecurrentOutput(kind, X, H);
        var x = randn(B, T, X);
        var target = zeros(B, T, H);
        double forward = RecurrentFlops(gates, T, B, X, H);
        using (torch.no_grad()) Time($"{kind} forward {shape}", forward, () => layer.call(x));
        if (B == 1) continue;
        Time($"{kind} forward+backward {shape}", 3 * forward, () =>
        {
            layer.zero_grad();
            nn.functional.mse_loss(layer.call(x), target).backward();
        });
    }
}

// Self-attention: nn.MultiheadAttention(256, 8) with query = key = value; T = 64, B = 32. TorchSharp's module takes
// (T, B, E), the layout bench.py's batch_first=True module converts to internally.
{
    const int T = 64, B = 32, E = 256, heads = 8;
    string shape = $"T={T} B={B} E={E} heads={heads}";
    if (Wanted($"attention forward {shape}") || Wanted($"attention forward+backward {shape}"))
    {
        var attention = nn.MultiheadAttention(E, heads);
        var x = randn(T, B, E);
        var target = zeros(T, B, E);
        double forward = 2.0 * 4 * T * B * E * E + 2.0 * 2 * B * heads * T * T * (E / heads);
        using (torch.no_grad()) Time($"attention forward {shape}", forward, () => attention.call(x, x, x, null, false, null));
        Time($"attention forward+backward {shape}", 3 * forward, () =>
        {
            attention.zero_grad();
            var (output, _) = attention.call(x, x, x, null, false, null);
            nn.functional.mse_loss(output, target).backward();
        });
    }
}

// The character model: embedding 65 -> 128, LSTM 256, Linear 65, Adam; T = 100, B = 32; and a batch-1 generation step.
{
    var embedding = nn.Embedding(65, 128);
    var lstm = nn.LSTM(128, 256, batchFirst: true);
    var dense = nn.Linear(256, 65);
    var parameters = embedding.parameters().Concat(lstm.parameters()).Concat(dense.parameters()).ToList();
    var adam = torch.optim.Adam(parameters, lr: 1e-3);
    var tokens = randint(0, 65, new long[] { 32, 100 });
    var targets = randint(0, 65, new long[] { 32, 100 });
    double charFlops = 3 * (RecurrentFlops(4, 100, 32, 128, 256) + 2.0 * 100 * 32 * 65 * 256);
    Time("char model training step T=100 B=32 (Adam)", charFlops, () =>
    {
        adam.zero_grad();
        var (output, _, _) = lstm.call(embedding.call(tokens), null);
        nn.functional.cross_entropy(dense.call(output).reshape(-1, 65), targets.reshape(-1)).backward();
        adam.step();
    });

    var h = zeros(1, 1, 256).DetachFromDisposeScope();
    var c = zeros(1, 1, 256).DetachFromDisposeScope();
    var token = tensor(new long[] { 3 }).reshape(1, 1);
    using (torch.no_grad())
    {
        Time("char model generation step B=1", RecurrentFlops(4, 1, 1, 128, 256) + 2.0 * 65 * 256, () =>
        {
            var (output, h1, c1) = lstm.call(embedding.call(token), (h, c));
            dense.call(output);
            h.Dispose();
            c.Dispose();
            h = h1.DetachFromDisposeScope();
            c = c1.DetachFromDisposeScope();
        });
    }
}

// Decoding 128 tokens with bench/Dsl.Benchmarks' GptBench (as bench.py): embedding 65 -> 128, sinusoidal positions, causal
// 4-head self-attention (in_proj [384, 128], out_proj [128, 128]), residual, LayerNorm, Linear(128, 512) ReLU,
// Linear(512, 128), residual, LayerNorm, Linear(128, 65); batch 1. "cached": step by step from a key/value cache written
// by hand (LibTorch has none built in); "recomputed": a forward over the whole prefix for every new token.
{
    const int V = 65, E = 128, heads = 4, T = 128, hd = E / heads;
    string cached = "transformer decoding 128 tokens B=1, cached", recomputed = "transformer decoding 128 tokens B=1, recomputed";
    string training = "transformer training step T=128 B=32 (Adam)";
    if (new[] { cached, recomputed, training }.Any(Wanted)) // (the set-up only when one of them runs)
    {
        var embedding = nn.Embedding(V, E);
        var inProj = nn.Linear(E, 3 * E);
        var outProj = nn.Linear(E, E);
        var up = nn.Linear(E, 4 * E);
        var down = nn.Linear(4 * E, E);
        var head = nn.Linear(E, V);
        var ln1 = nn.LayerNorm(E);
        var ln2 = nn.LayerNorm(E);
        var table = new float[T * E];
        for (int t = 0; t < T; t++)
            for (int j = 0; j < E; j++)
            {
                double angle = t * Math.Exp(-(j - j % 2) * Math.Log(10000.0) / E);
                table[t * E + j] = (float)(j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            }
        var pe = tensor(table).reshape(T, E);
        var prefix = randint(0, V, new long[] { 1, T });
        var cacheK = zeros(T, E);
        var cacheV = zeros(T, E);
        double BlockFlops(int t) => 2.0 * t * (E * 3 * E + E * E + 2 * E * 4 * E + E * V) + 4.0 * t * t * E;
        Tensor Block(Tensor x, Tensor attended)
        {
            var h1 = ln1.call(x + outProj.call(attended));
            return head.call(ln2.call(h1 + down.call(nn.functional.relu(up.call(h1)))));
        }
        using (torch.no_grad())
        {
            Time(cached, BlockFlops(T), () =>
            {
                for (int t = 0; t < T; t++)
                {
                    using var step = NewDisposeScope();
                    var x = embedding.call(prefix[.., t]) + pe[t];                            // [1, E]
                    var qkv = inProj.call(x).split(E, -1);
                    cacheK[t].copy_(qkv[1][0]);
                    cacheV[t].copy_(qkv[2][0]);
                    var keys = cacheK.narrow(0, 0, t + 1).view(t + 1, heads, hd).transpose(0, 1);  // [heads, t + 1, hd]
                    var values = cacheV.narrow(0, 0, t + 1).view(t + 1, heads, hd).transpose(0, 1);
                    var weights = (qkv[0].view(heads, 1, hd).matmul(keys.transpose(1, 2)) / Math.Sqrt(hd)).softmax(-1);
                    Block(x, weights.matmul(values).reshape(1, E));
                }
            });
            Time(recomputed, Enumerable.Range(1, T).Sum(BlockFlops), () =>
            {
                for (int t = 1; t <= T; t++)
                {
                    using var step = NewDisposeScope();
                    var x = embedding.call(prefix.narrow(1, 0, t)) + pe.narrow(0, 0, t);        // [1, t, E]
                    var qkv = inProj.call(x).split(E, -1);
                    Tensor Heads(Tensor y) => y.view(1, t, heads, hd).transpose(1, 2);          // [1, heads, t, hd]
                    var mask = triu(full(t, t, float.NegativeInfinity), 1);
                    var weights = (Heads(qkv[0]).matmul(Heads(qkv[1]).transpose(2, 3)) / Math.Sqrt(hd) + mask).softmax(-1);
                    Block(x, weights.matmul(Heads(qkv[2])).transpose(1, 2).reshape(1, t, E));
                }
            });
        }

        // Training the same block on 32 sequences of 128 tokens: causal, cross-entropy on every position, Adam (LibTorch's
        // fused scaled_dot_product_attention, what a TorchSharp user reaches for).
        const int B = 32;
        var parameters = new nn.Module[] { embedding, inProj, outProj, up, down, head, ln1, ln2 }.SelectMany(m => m.parameters()).ToList();
        var adam = torch.optim.Adam(parameters, lr: 1e-3);
        var tokens = randint(0, V, new long[] { B, T });
        var targets = randint(0, V, new long[] { B, T });
        Time(training, 3 * B * BlockFlops(T), () =>
        {
            adam.zero_grad();
            var x = embedding.call(tokens) + pe;                                                 // [B, T, E]
            var qkv = inProj.call(x).split(E, -1);
            Tensor Heads(Tensor y) => y.view(B, T, heads, hd).transpose(1, 2);                  // [B, heads, T, hd]
            var attended = nn.functional.scaled_dot_product_attention(Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]), is_casual: true);
            var logits = Block(x, attended.transpose(1, 2).reshape(B, T, E));
            nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)).backward();
            adam.step();
        });
    }
}

// The block as LLaMA builds it (bench/Dsl.Benchmarks' LlamaBench, bench.py's llama_step): RMS norm (x · rsqrt(mean(x²) + ε) · w),
// rotary positions (Hugging Face's rotate_half) on 4-head causal attention without biases (LibTorch's fused
// scaled_dot_product_attention), a SwiGLU feed-forward of 344 (value and gate as one Linear), no biases; AdamW; B = 32, T = 128.
{
    const int V = 65, E = RopeAttention.E, T = RopeAttention.T, F = 344, B = 32;
    string training = "llama training step T=128 B=32 (AdamW)";
    if (Wanted(training))
    {
        var embedding = nn.Embedding(V, E);
        var attention = new RopeAttention();
        var gateUp = nn.Linear(E, 2 * F, hasBias: false);
        var down = nn.Linear(F, E, hasBias: false);
        var head = nn.Linear(E, V, hasBias: false);
        var norms = Enumerable.Range(0, 2).Select(_ => nn.Parameter(ones(E))).ToArray();
        var parameters = new nn.Module[] { embedding, gateUp, down, head }.SelectMany(m => m.parameters()).Concat(attention.Parameters()).Concat(norms).ToList();
        var adamW = torch.optim.AdamW(parameters, lr: 1e-3, weight_decay: 0.1);
        var tokens = randint(0, V, new long[] { B, T });
        var targets = randint(0, V, new long[] { B, T });
        double Flops(int t) => 2.0 * t * (E * 3 * E + E * E + 3 * E * F + E * V) + 4.0 * t * t * E;
        Time(training, 3 * B * Flops(T), () =>
        {
            adamW.zero_grad();
            var x = attention.Residual(embedding.call(tokens), B);                                // [B, T, E]
            var valueGate = gateUp.call(RopeAttention.Rms(x, norms[0])).chunk(2, -1);
            x = x + down.call(valueGate[0] * nn.functional.silu(valueGate[1]));
            var logits = head.call(RopeAttention.Rms(x, norms[1]));
            nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)).backward();
            adamW.step();
        });
    }
}

// The same block with a sparse mixture of experts in place of the feed-forward (bench/Dsl.Benchmarks' MoeBench, bench.py's
// moe_step), as Hugging Face's Mixtral computes it: the router's softmax, each token's top 2 of 8 experts renormalised, each expert
// (a SwiGLU of 344) over its own tokens, index_add_ back; AdamW; B = 32, T = 128.
{
    const int V = 65, E = RopeAttention.E, T = RopeAttention.T, F = 344, B = 32, X = 8, K = 2;
    string training = "moe training step T=128 B=32 (AdamW, 8 experts, 2 per token)", forward = "moe forward T=128 B=32 (8 experts, 2 per token)";
    string decoding = "moe decoding 128 tokens B=1, cached (8 experts, 2 per token)";
    if (new[] { training, forward, decoding }.Any(Wanted))
    {
        var embedding = nn.Embedding(V, E);
        var attention = new RopeAttention();
        var router = nn.Linear(E, X, hasBias: false);
        var expertsIn = Enumerable.Range(0, X).Select(_ => nn.Linear(E, 2 * F, hasBias: false)).ToArray();
        var expertsOut = Enumerable.Range(0, X).Select(_ => nn.Linear(F, E, hasBias: false)).ToArray();
        var head = nn.Linear(E, V, hasBias: false);
        var norms = Enumerable.Range(0, 2).Select(_ => nn.Parameter(ones(E))).ToArray();
        var modules = new nn.Module[] { embedding, router, head }.Concat(expertsIn).Concat(expertsOut);
        var parameters = modules.SelectMany(m => m.parameters()).Concat(attention.Parameters()).Concat(norms).ToList();
        var adamW = torch.optim.AdamW(parameters, lr: 1e-3, weight_decay: 0.1);
        var tokens = randint(0, V, new long[] { B, T });
        var targets = randint(0, V, new long[] { B, T });
        double Flops(int t) => 2.0 * t * (E * 3 * E + E * E + K * 3 * E * F + E * X + E * V) + 4.0 * t * t * E;
        Tensor Mixture(Tensor h)                                                                   // [n, E]: the chosen experts' weighted sum
        {
            var (weights, chosen) = nn.functional.softmax(router.call(h), -1).topk(K, dim: -1);
            weights = weights / weights.sum(new long[] { -1 }, keepdim: true);
            var mixed = zeros_like(h);
            for (int e = 0; e < X; e++)
            {
                var at = chosen.eq(e).nonzero();                                                 // [n, 2]: (token, slot)
                var rows = at.select(1, 0);
                var valueGate = expertsIn[e].call(h.index_select(0, rows)).chunk(2, -1);
                var y = expertsOut[e].call(valueGate[0] * nn.functional.silu(valueGate[1]));
                mixed.index_add_(0, rows, y * weights.view(-1).index_select(0, rows * K + at.select(1, 1)).unsqueeze(1), 1.0);
            }
            return mixed;
        }
        Tensor Logits()
        {
            var x = attention.Residual(embedding.call(tokens), B);                                // [B, T, E]
            x = x + Mixture(RopeAttention.Rms(x, norms[0]).reshape(-1, E)).view(B, T, E);
            return head.call(RopeAttention.Rms(x, norms[1]));
        }
        if (Wanted(training))
            Time(training, 3 * B * Flops(T), () =>
            {
                adamW.zero_grad();
                nn.functional.cross_entropy(Logits().reshape(-1, V), targets.reshape(-1)).backward();
                adamW.step();
            });
        if (Wanted(forward))
            using (torch.no_grad()) Time(forward, B * Flops(T), () => Logits());
        // 128 tokens of one sequence, each from the key/value cache (as the transformer decoding above)
        var prefix = randint(0, V, new long[] { 1, T });
        var cacheK = zeros(T, E);
        var cacheV = zeros(T, E);
        if (Wanted(decoding))
            using (torch.no_grad())
                Time(decoding, Flops(T), () =>
                {
                    for (int t = 0; t < T; t++)
                    {
                        using var step = NewDisposeScope();
                        var x = attention.CachedResidual(embedding.call(prefix[.., t]), t, cacheK, cacheV);  // [1, E]
                        x = x + Mixture(RopeAttention.Rms(x, norms[0]));
                        head.call(RopeAttention.Rms(x, norms[1]));
                    }
                });
    }
}

static double Median(Action run, double seconds = 1.0, int minRuns = 5)
{
    // As bench/Dsl.Benchmarks' Timing.Median: at least half a second (3 runs), then quarter-second windows until one
    // is no more than 2 % faster than the one before (5 s at most).
    var warm = Stopwatch.StartNew();
    for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++) run();
    double previous = double.MaxValue;
    while (warm.Elapsed.TotalSeconds < 5)
    {
        double window = Window(run, 0.25, 3);
        if (window > previous * 0.98) break;
        previous = window;
    }
    return Window(run, seconds, minRuns);
}

static double Window(Action run, double seconds, int minRuns)
{
    var times = new List<double>();
    var total = Stopwatch.StartNew();
    while (times.Count < minRuns || total.Elapsed.TotalSeconds < seconds)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

/// <summary>nn.LSTM, nn.GRU or nn.RNN (X, H, batch_first=True), its output sequence only.</summary>
internal sealed class RecurrentOutput : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module _layer;
    private readonly Func<Tensor, Tensor> _forward;

    public RecurrentOutput(string kind, int x, int h) : base(kind)
    {
        switch (kind)
        {
            case "lstm":
                var lstm = nn.LSTM(x, h, batchFirst: true);
                (_layer, _forward) = (lstm, input => lstm.call(input, null).Item1);
                break;
            case "gru":
                var gru = nn.GRU(x, h, batchFirst: true);
                (_layer, _forward) = (gru, input => gru.call(input, null).Item1);
                break;
            default:
                var rnn = nn.RNN(x, h, batchFirst: true);
                (_layer, _forward) = (rnn, input => rnn.call(input, null).Item1);
                break;
        }
        register_module("layer", _layer);
    }

    public override Tensor forward(Tensor input) => _forward(input);
}

/// <summary>
/// The LLaMA-style block's attention, shared by the llama and moe training workloads: RMS norm (x · rsqrt(mean(x²) + ε) · w), q, k
/// and v in one Linear, rotary positions (Hugging Face's rotate_half) on 4 causal heads without biases (LibTorch's fused
/// scaled_dot_product_attention), out_proj, added back to x. Width 128 over 128 steps.
/// </summary>
sealed class RopeAttention
{
    public const int E = 128, T = 128, HeadCount = 4, HeadWidth = E / HeadCount;
    private readonly TorchSharp.Modules.Linear _qkv = nn.Linear(E, 3 * E, hasBias: false), _out = nn.Linear(E, E, hasBias: false);
    private readonly TorchSharp.Modules.Parameter _norm = nn.Parameter(ones(E));
    private readonly Tensor _cosines, _sines;

    public RopeAttention()
    {
        var angles = new float[T * HeadWidth];
        for (int t = 0; t < T; t++)
            for (int j = 0; j < HeadWidth; j++) angles[t * HeadWidth + j] = (float)(t * Math.Pow(10000.0, -2.0 * (j % (HeadWidth / 2)) / HeadWidth));
        _cosines = tensor(angles).reshape(T, HeadWidth).cos();
        _sines = tensor(angles).reshape(T, HeadWidth).sin();
    }

    public IEnumerable<TorchSharp.Modules.Parameter> Parameters() => _qkv.parameters().Concat(_out.parameters()).Append(_norm);

    public static Tensor Rms(Tensor x, Tensor w) => x * (x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6).rsqrt() * w;

    private Tensor Rotate(Tensor y) => Rotate(y, _cosines, _sines);

    private static Tensor Rotate(Tensor y, Tensor cosines, Tensor sines) =>
        y * cosines + cat(new[] { -y.narrow(-1, HeadWidth / 2, HeadWidth / 2), y.narrow(-1, 0, HeadWidth / 2) }, -1) * sines;

    /// <summary>x + attention(rms(x)), x [batch, T, E].</summary>
    public Tensor Residual(Tensor x, int batch)
    {
        var qkv = _qkv.call(Rms(x, _norm)).split(E, -1);
        Tensor Heads(Tensor y) => y.view(batch, T, HeadCount, HeadWidth).transpose(1, 2);     // [B, heads, T, hd]
        var attended = nn.functional.scaled_dot_product_attention(Rotate(Heads(qkv[0])), Rotate(Heads(qkv[1])), Heads(qkv[2]), is_casual: true);
        return x + _out.call(attended.transpose(1, 2).reshape(batch, T, E));
    }

    /// <summary>
    /// x + attention(rms(x)) for one token x [1, E] at position <paramref name="t"/>, from a key/value cache [T, E] written by hand
    /// (LibTorch has none built in): its rotated key and its value stored at row t first.
    /// </summary>
    public Tensor CachedResidual(Tensor x, int t, Tensor cacheK, Tensor cacheV)
    {
        var qkv = _qkv.call(Rms(x, _norm)).split(E, -1);
        Tensor Rotated(Tensor y) => Rotate(y.view(HeadCount, 1, HeadWidth), _cosines[t], _sines[t]);     // [heads, 1, hd]
        var q = Rotated(qkv[0]);
        cacheK[t].copy_(Rotated(qkv[1]).reshape(E));
        cacheV[t].copy_(qkv[2][0]);
        var keys = cacheK.narrow(0, 0, t + 1).view(t + 1, HeadCount, HeadWidth).transpose(0, 1);           // [heads, t + 1, hd]
        var values = cacheV.narrow(0, 0, t + 1).view(t + 1, HeadCount, HeadWidth).transpose(0, 1);
        var weights = (q.matmul(keys.transpose(1, 2)) / Math.Sqrt(HeadWidth)).softmax(-1);
        return x + _out.call(weights.matmul(values).reshape(1, E));
    }
}
