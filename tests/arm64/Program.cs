using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Dsl;
using Dsl.Kernels;
using Dsl.Tests;
using Dsl.Tests.Parity;

// The GEMM kernel this process selects (and the cell kernels' vector loops) against the scalar reference, over every
// m and n from 0 to 67 and a few larger shapes, in the three layouts and prepacked, with and without accumulation; then
// whole generated models against PyTorch (every parity fixture). Written for an Arm64 check under qemu
// (tests/arm64/run.sh); it runs anywhere.
Console.WriteLine($"{RuntimeInformation.ProcessArchitecture}, Vector128 {Vector128.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, " +
    $"Vector<float> {Vector<float>.Count} lanes, GEMM micro-kernel {Gemm.MicroKernel}");
if (args.Length > 0 && args[0] != Gemm.MicroKernel)
{
    Console.WriteLine($"FAIL expected the {args[0]} micro-kernel");
    return 1;
}
var rng = new Rng(7);
int checks = 0, failures = 0;
var shapes = new List<(int M, int N, int K)>();
for (int m = 0; m <= 67; m++) shapes.Add((m, (m * 5 + 3) % 68, (m * 7 + 1) % 37));
for (int n = 0; n <= 67; n++) shapes.Add((n % 9 + 1, n, (n * 3 + 2) % 41));
shapes.AddRange([(64, 1024, 256), (130, 520, 300), (7, 257, 513), (2, 40, 70), (1, 100, 33), (1, 12, 95)]);
foreach (var (m, n, k) in shapes)
{
    int lda = k + 3, ldb = n + 2, ldc = n + 5, ldat = m + 1, ldbt = k + 4;
    float[] a = Random(Math.Max(m, 1) * lda), b = Random(Math.Max(k, 1) * ldb), at = Random(Math.Max(k, 1) * ldat), bt = Random(Math.Max(n, 1) * ldbt);
    ushort[] bt16 = new ushort[bt.Length];
    float[] btWide = new float[bt.Length];
    BFloat16.FromFloat(bt, bt16);
    BFloat16.ToFloat(bt16, btWide);
    sbyte[] bt8 = new sbyte[bt.Length];
    float[] scales = new float[bt.Length / ldbt], bt8Wide = new float[bt.Length];
    Int8.Quantize(bt, ldbt, bt8, scales);
    Int8.Dequantize(bt8, scales, ldbt, bt8Wide);
    foreach (bool acc in new[] { false, true })
    {
        float[] c0 = Random(Math.Max(m, 1) * ldc);
        Check($"NN {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMul(m, n, k, a, lda, b, ldb, c, ldc, acc), c => GemmReference.MatMul(false, false, m, n, k, a, lda, b, ldb, c, ldc, acc));
        Check($"TN {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMulTransA(m, n, k, at, ldat, b, ldb, c, ldc, acc), c => GemmReference.MatMul(true, false, m, n, k, at, ldat, b, ldb, c, ldc, acc));
        Check($"NT {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMulTransB(m, n, k, a, lda, bt, ldbt, c, ldc, acc), c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, ldbt, c, ldc, acc));
        // Bᵀ held in bfloat16 (widened as packed, or read in pairs by the one- and two-row dot products)
        Check($"NT bfloat16 {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMulTransB(m, n, k, a, lda, Weights.FromBFloat16(bt16), ldbt, c, ldc, acc),
            c => GemmReference.MatMul(false, true, m, n, k, a, lda, btWide, ldbt, c, ldc, acc));
        // Bᵀ held as 8-bit integers with a scale per row (widened and scaled as packed or as the dot products read them)
        Check($"NT int8 {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMulTransB(m, n, k, a, lda, Weights.FromInt8(bt8, scales, ldbt), ldbt, c, ldc, acc),
            c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt8Wide, ldbt, c, ldc, acc));
    }
    // Bᵀ held as 4-bit integers with a scale per group of 32 (rows of whole groups; the dot products widen each vector of
    // nibbles, the packing each value)
    int ld4 = (k + 31) / 32 * 32 + 32;
    float[] bt4Source = Random(Math.Max(n, 1) * ld4), bt4Wide = new float[bt4Source.Length];
    byte[] bt4 = new byte[bt4Source.Length / 2];
    float[] groupScales = new float[bt4Source.Length / 32];
    Int4.Quantize(bt4Source, 32, bt4, groupScales);
    Int4.Dequantize(bt4, groupScales, 32, bt4Wide);
    foreach (bool acc in new[] { false, true })
    {
        float[] c0 = Random(Math.Max(m, 1) * ldc);
        Check($"NT int4 {m}x{n}x{k}", c0, ldc, m, n, c => Gemm.MatMulTransB(m, n, k, a, lda, Weights.FromInt4(bt4, groupScales, 32), ld4, c, ldc, acc),
            c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt4Wide, ld4, c, ldc, acc));
    }
    var packed = new float[Gemm.PackedLength(k, n)];
    Gemm.PackB(k, n, bt, ldbt, transposed: true, packed);
    float[] p0 = Random(Math.Max(m, 1) * ldc);
    Check($"packed {m}x{n}x{k}", p0, ldc, m, n, c => Gemm.MatMulPacked(m, n, k, a, lda, packed, c, ldc, accumulate: true), c => GemmReference.MatMul(false, true, m, n, k, a, lda, bt, ldbt, c, ldc, true));
}

// The LSTM cell's backward pass against its formulas in double (H = 37 leaves a tail for each narrower width).
foreach (int h in new[] { 1, 5, 16, 37 })
{
    float[] gates = Random(4 * h).Select(x => 1 / (1 + MathF.Exp(-x))).ToArray(), c = Random(h), cPrev = Random(h), dy = Random(h), dh = Random(h);
    float[] dc = Random(h), dGates = new float[4 * h], dc0 = (float[])dc.Clone();
    LstmCell.Backward(gates, c, cPrev, dy, dh, dc, dGates);
    var dGatesRef = new float[4 * h];
    var dcRef = new float[h];
    for (int j = 0; j < h; j++)
    {
        double i = gates[j], f = gates[h + j], u = gates[2 * h + j], o = gates[3 * h + j], t = Math.Tanh(c[j]);
        double dhv = dy[j] + (double)dh[j], dcv = dc0[j] + dhv * o * (1 - t * t);
        dGatesRef[j] = (float)(dcv * u * i * (1 - i));
        dGatesRef[h + j] = (float)(dcv * cPrev[j] * f * (1 - f));
        dGatesRef[2 * h + j] = (float)(dcv * i * (1 - u * u));
        dGatesRef[3 * h + j] = (float)(dhv * t * o * (1 - o));
        dcRef[j] = (float)(dcv * f);
    }
    Close($"LSTM backward H={h} dGates", dGatesRef, dGates);
    Close($"LSTM backward H={h} dc", dcRef, dc);
}

// The LSTM and GRU cells' forward pass (one pass over lanes of every accelerated width, σ and tanh in float) against their
// formulas in double: H = 37 leaves a tail for each narrower width.
foreach (int h in new[] { 1, 5, 16, 37 })
{
    float[] pre = Random(4 * h), cPrev = Random(h), gates = (float[])pre.Clone(), c = new float[h], hOut = new float[h];
    LstmCell.Forward(gates, cPrev, c, hOut);
    double[] i = Sig(pre, 0, h), f = Sig(pre, h, h), o = Sig(pre, 3 * h, h);
    double[] u = Enumerable.Range(0, h).Select(j => Math.Tanh(pre[2 * h + j])).ToArray();
    double[] cc = Enumerable.Range(0, h).Select(j => f[j] * cPrev[j] + i[j] * u[j]).ToArray();
    Close($"LSTM forward H={h} gates", [.. i.Concat(f).Concat(u).Concat(o).Select(x => (float)x)], gates);
    Close($"LSTM forward H={h} c", [.. cc.Select(x => (float)x)], c);
    Close($"LSTM forward H={h} h", [.. Enumerable.Range(0, h).Select(j => (float)(o[j] * Math.Tanh(cc[j])))], hOut);

    float[] gi = Random(3 * h), gh = Random(3 * h), hPrev = Random(h), g = (float[])gi.Clone(), hn = new float[h], hNew = new float[h];
    GruCell.Forward(g, gh, hPrev, hn, hNew);
    double[] r = Enumerable.Range(0, h).Select(j => 1 / (1 + Math.Exp(-(gi[j] + (double)gh[j])))).ToArray();
    double[] z = Enumerable.Range(0, h).Select(j => 1 / (1 + Math.Exp(-(gi[h + j] + (double)gh[h + j])))).ToArray();
    double[] n = Enumerable.Range(0, h).Select(j => Math.Tanh(gi[2 * h + j] + r[j] * gh[2 * h + j])).ToArray();
    Close($"GRU forward H={h} gates", [.. r.Concat(z).Concat(n).Select(x => (float)x)], g);
    Close($"GRU forward H={h} h", [.. Enumerable.Range(0, h).Select(j => (float)((1 - z[j]) * n[j] + z[j] * hPrev[j]))], hNew);
}

// Attention's scaled softmax over a row's vectors and tail against its formula in double, and a NaN anywhere in the row, a
// tail lane's included, making the whole row NaN (as torch.softmax does).
foreach (int n in new[] { 1, 3, 4, 5, 7, 16, 37 })
{
    float[] x = Random(n), p = (float[])x.Clone();
    const float scale = 0.35f;
    Activations.ScaledSoftmax(p, scale);
    double max = x.Max(v => (double)(v * scale)), sum = x.Sum(v => Math.Exp(v * scale - max));
    Close($"softmax n={n}", [.. x.Select(v => (float)(Math.Exp(v * scale - max) / sum))], p);
    for (int at = 0; at < n; at++)
    {
        float[] withNaN = (float[])x.Clone();
        withNaN[at] = float.NaN;
        Activations.ScaledSoftmax(withNaN, scale);
        Verdict(withNaN.All(float.IsNaN) ? null : $"softmax n={n} with a NaN at {at}: [{string.Join(", ", withNaN)}]");
    }
}

// Whole models against PyTorch 1.13: each parity fixture's output, loss and every parameter's gradient, as ParityTests
// checks them (the same tolerance), through the generated forward and backward code on this process's kernels —
// recurrent cells, attention's softmax and heads, layer normalisation, the losses.
foreach (string name in ParityModel.Names)
{
    IParityModel model = ParityModel.Create(name);
    model.Parameters.Load(Fixture.Path(name + ".weights.safetensors"));
    var expected = SafeTensors.Read(Fixture.Path(name + ".expected.safetensors"));
    Verdict(ToleranceRule.Check(expected["output"].ToFloat(), model.Forward(expected["input"]), $"{name} output"));
    model.Parameters.ZeroGrad();
    float loss = model.Backward(expected["input"], expected["targets"]);
    Verdict(ToleranceRule.Check(expected["loss"].ToFloat(), [loss], $"{name} loss"));
    Verdict(ToleranceRule.CheckGradients(expected, model.Parameters, name));
}

Console.WriteLine($"{checks - failures} of {checks} checks passed");
return failures == 0 ? 0 : 1;

void Check(string what, float[] c0, int ldc, int m, int n, Action<float[]> fast, Action<float[]> reference)
{
    float[] actual = (float[])c0.Clone(), expected = (float[])c0.Clone();
    fast(actual);
    reference(expected);
    Close(what, expected, actual);
}

void Verdict(string? failure)
{
    checks++;
    if (failure is not null && failures++ < 10) Console.WriteLine($"FAIL {failure}");
}

void Close(string what, float[] expected, float[] actual)
{
    checks++;
    for (int i = 0; i < expected.Length; i++)
    {
        if (!(MathF.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + MathF.Abs(expected[i]))))
        {
            if (failures++ < 10) Console.WriteLine($"FAIL {what}: [{i}] expected {expected[i]}, got {actual[i]}");
            return;
        }
    }
}

static double[] Sig(float[] x, int start, int count) => Enumerable.Range(start, count).Select(j => 1 / (1 + Math.Exp(-x[j]))).ToArray();

float[] Random(int length)
{
    var x = new float[length];
    for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
    return x;
}
