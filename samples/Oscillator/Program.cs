using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Dsl;

// The lecture notes' driven, damped oscillator: (r_t − r_{t−1}) − (r_{t−1} − r_{t−2}) = −γ r_t + γ x_t,
// that is r_t = β (2 r_{t−1} − r_{t−2} + γ x_t) with β = 1 / (1 + γ). A small GRU learns to predict the
// position r_t from the force x_t alone, so it must carry velocity and position in its state. It trains
// with mean squared error and truncated BPTT (chunks of 50 steps that carry the state), then runs on a
// drive it has never seen and writes oscillator.svg: prediction against truth.
const float Gamma = 0.05f;
const int Batch = 16, Steps = 400, Chunk = 50;
// usage: Oscillator [epochs] (default 60)
int epochs = 60;
if (args is ["--help" or "-h"])
{
    Console.WriteLine("Usage: Oscillator [epochs]: trains for that many epochs (a positive whole number; default 60) and writes oscillator.svg.");
    return 0;
}
if (args.Length > 1 || (args.Length == 1 && !(int.TryParse(args[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out epochs) && epochs > 0)))
{
    Console.Error.WriteLine($"Usage: Oscillator [epochs]: a positive whole number of epochs (default 60); got '{string.Join(" ", args)}'.");
    return 2;
}

var rng = new Rng(7);
var model = new OscillatorModel(seed: 1);
var optimizer = new Adam(model.Parameters, learningRate: 0.01f);
var schedule = new CosineAnnealingLr(optimizer, period: epochs, minimum: 0.0005f);
var tbptt = new TruncatedBptt<float>(model, k1: Chunk, k2: Chunk);

Console.WriteLine($"GRU 24 learns r_t from x_t: γ = {Gamma}, {Batch} drives of {Steps} steps, truncated BPTT in chunks of {Chunk}.");
var (testX, testR) = Simulate(new Rng(1234), 1, Steps);
Console.WriteLine($"test MSE before training: {TestMse():F4} (the position's variance: {Variance(testR):F4})");
for (int epoch = 1; epoch <= epochs; epoch++)
{
    var (x, r) = Simulate(rng, Batch, Steps);
    float loss = tbptt.Train(x, r, Batch, Steps, () =>
    {
        model.Parameters.ClipGradNorm(1f);
        optimizer.Step();
        model.Parameters.ZeroGrad();
    });
    schedule.Step();
    if (epoch % 10 == 0 || epoch == epochs) Console.WriteLine($"epoch {epoch,3}: training MSE {loss:F5}, test MSE {TestMse():F5}");
}

float[] prediction = Predict(testX);
File.WriteAllText("oscillator.svg", Plot(testX, testR, prediction));
Console.WriteLine($"Wrote oscillator.svg (test MSE {TestMse():F5}).");
return 0;

float TestMse() => Mse(Predict(testX), testR);

// One pass over the whole test drive from a zero state.
float[] Predict(float[] x)
{
    var y = new float[Steps];
    model.Forward(new ReadOnlyTensorSpan<float>(x, [1, Steps, 1]), new TensorSpan<float>(y, [1, Steps, 1]));
    return y;
}

// Drives: a sum of two sines of random frequency and phase plus random steps; positions from the recurrence.
static (float[] X, float[] R) Simulate(Rng rng, int batch, int steps)
{
    var x = new float[batch * steps];
    var r = new float[batch * steps];
    float beta = 1f / (1f + Gamma);
    for (int b = 0; b < batch; b++)
    {
        float f1 = 0.01f + 0.05f * rng.NextFloat(), f2 = 0.002f + 0.02f * rng.NextFloat();
        float p1 = 6.28f * rng.NextFloat(), p2 = 6.28f * rng.NextFloat(), level = 0;
        float r1 = 0, r2 = 0;
        for (int t = 0; t < steps; t++)
        {
            if (rng.NextInt(60) == 0) level = rng.NextFloat() - 0.5f;
            float force = 0.5f * MathF.Sin(f1 * t * 6.28f + p1) + 0.3f * MathF.Sin(f2 * t * 6.28f + p2) + level;
            float position = beta * (2 * r1 - r2 + Gamma * force);
            x[b * steps + t] = force;
            r[b * steps + t] = position;
            (r2, r1) = (r1, position);
        }
    }
    return (x, r);
}

static float Mse(float[] a, float[] b) => a.Zip(b, (p, q) => (p - q) * (p - q)).Average();

static float Variance(float[] v)
{
    float mean = v.Average();
    return v.Average(x => (x - mean) * (x - mean));
}

// A line chart in plain SVG: truth, prediction and the force, over time.
static string Plot(float[] force, float[] truth, float[] predicted)
{
    const int W = 900, H = 360, Left = 50, Right = 20, Top = 30, Bottom = 40;
    float lo = Math.Min(truth.Min(), predicted.Min()), hi = Math.Max(truth.Max(), predicted.Max());
    float pad = (hi - lo) * 0.1f + 1e-6f;
    lo -= pad;
    hi += pad;
    string X(int t) => (Left + (W - Left - Right) * t / (double)(truth.Length - 1)).ToString("F1", CultureInfo.InvariantCulture);
    string Y(float v) => (Top + (H - Top - Bottom) * (hi - v) / (hi - lo)).ToString("F1", CultureInfo.InvariantCulture);
    string Line(float[] values, float scale, string color, string dash) =>
        $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" {dash} points=\"{string.Join(" ", values.Select((v, t) => $"{X(t)},{Y(v * scale)}"))}\"/>";
    float forceScale = (hi - lo) / 2 / Math.Max(1e-6f, force.Max(MathF.Abs));
    var svg = new StringBuilder();
    svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">");
    svg.AppendLine($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
    svg.AppendLine($"<text x=\"{Left}\" y=\"18\" font-size=\"14\">Driven oscillator: position r_t, truth and GRU prediction (force x_t scaled, grey)</text>");
    svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Y(0)}\" x2=\"{W - Right}\" y2=\"{Y(0)}\" stroke=\"#ccc\"/>");
    svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{H - Bottom}\" stroke=\"#888\"/>");
    svg.AppendLine($"<text x=\"{Left - 6}\" y=\"{Y(hi - pad)}\" text-anchor=\"end\">{(hi - pad).ToString("F2", CultureInfo.InvariantCulture)}</text>");
    svg.AppendLine($"<text x=\"{Left - 6}\" y=\"{Y(lo + pad)}\" text-anchor=\"end\">{(lo + pad).ToString("F2", CultureInfo.InvariantCulture)}</text>");
    svg.AppendLine($"<text x=\"{W - Right}\" y=\"{H - 12}\" text-anchor=\"end\">step {truth.Length}</text>");
    svg.AppendLine(Line(force, forceScale, "#bbb", ""));
    svg.AppendLine(Line(truth, 1, "#1f77b4", ""));
    svg.AppendLine(Line(predicted, 1, "#d62728", "stroke-dasharray=\"5,3\""));
    svg.AppendLine($"<text x=\"{W - 220}\" y=\"{Top + 14}\" fill=\"#1f77b4\">— truth</text><text x=\"{W - 150}\" y=\"{Top + 14}\" fill=\"#d62728\">- - prediction</text>");
    svg.AppendLine("</svg>");
    return svg.ToString();
}

/// <summary>Force in, position out, one step at a time.</summary>
[Input(features: 1)]
[Gru(hidden: 24)]
[Dense(1)]
public partial class OscillatorModel;
