using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Dsl;

// A small character-style trainer for the NativeAOT check (../check.sh): a fixed number of Adam steps on
// deterministic data from a seed, one line "step N loss X" per step, then the median step time and the GEMM
// micro-kernel. The same program runs under the JIT and as a NativeAOT binary; the losses must agree.
// Arguments: [steps (20)] [GEMM threads (the default: the machine's cores, at most 8)].
int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
if (args.Length > 1) Dsl.Kernels.Gemm.Threads = int.Parse(args[1], CultureInfo.InvariantCulture);
const int Batch = 16, Time = 32, Seed = 13;

var model = new AotCharLstm(Seed);
var optimizer = new Adam(model.Parameters, learningRate: 3e-3f);

// Deterministic "text": a seeded random walk over the vocabulary, so that there is something to learn.
var rng = new Rng(Seed);
var text = new int[8192];
for (int i = 1; i < text.Length; i++) text[i] = (text[i - 1] + 1 + rng.NextInt(3)) % AotCharLstm.Vocab;

var tokens = new int[Batch * Time];
var targets = new int[Batch * Time];
var times = new double[steps];
for (int step = 0; step < steps; step++)
{
    for (int b = 0; b < Batch; b++)
    {
        int start = rng.NextInt(text.Length - Time - 1);
        Array.Copy(text, start, tokens, b * Time, Time);
        Array.Copy(text, start + 1, targets, b * Time, Time);
    }
    long t0 = Stopwatch.GetTimestamp();
    model.Parameters.ZeroGrad();
    float loss = model.Backward(new ReadOnlyTensorSpan<int>(tokens, [Batch, Time]), new ReadOnlyTensorSpan<int>(targets, [Batch, Time]));
    model.Parameters.ClipGradNorm(maxNorm: 5f);
    optimizer.Step();
    times[step] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step + 1} loss {loss:R}"));
}
Array.Sort(times);
double median = steps == 0 ? 0 : steps % 2 == 1 ? times[steps / 2] : (times[steps / 2 - 1] + times[steps / 2]) / 2;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median step ms {median:F3}"));
Console.WriteLine($"micro-kernel {Dsl.Kernels.Gemm.MicroKernel}");
Console.WriteLine($"gemm threads {Dsl.Kernels.Gemm.Threads}");
return 0;

[Embedding(vocab: AotCharLstm.Vocab, dim: 64)]
[Lstm(hidden: 128)]
[Dense(AotCharLstm.Vocab)]
public partial class AotCharLstm
{
    public const int Vocab = 65;
}
