// A model of 2.5 GB — its embedding table alone 2.46 GB, past both protobuf's 2 GB limit on one message and a byte array's
// 2 GB — exported with ExportOnnx's default (OnnxExternalData.WhenLarge), loaded by ONNX Runtime from the file, and run
// against the model's own Forward. Usage: dotnet run -c Release --project bench/onnx-large [folder]
using System.Diagnostics;
using System.Numerics.Tensors;
using Dsl;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

string folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "dsl-onnx-large");
Directory.CreateDirectory(folder);
string path = Path.Combine(folder, "large.onnx");

var clock = Stopwatch.StartNew();
var model = new LargeTagger(seed: 1);
long parameters = model.Parameters.Sum(p => (long)p.AsSpan().Length);
Console.WriteLine($"model: {parameters:N0} parameters, {4 * parameters / 1e9:F2} GB, created in {clock.Elapsed.TotalSeconds:F1} s");
try
{
    model.ToOnnx();
    throw new InvalidOperationException("ToOnnx wrote a model past 2 GB in one message");
}
catch (NotSupportedException e)
{
    Console.WriteLine($"ToOnnx refused it: {e.Message}");
}

clock.Restart();
model.ExportOnnx(path);
Console.WriteLine($"ExportOnnx: {new FileInfo(path).Length:N0} bytes of graph, {new FileInfo(path + ".data").Length:N0} bytes of data, in {clock.Elapsed.TotalSeconds:F1} s");

clock.Restart();
using var session = new InferenceSession(path);
Console.WriteLine($"ONNX Runtime loaded it in {clock.Elapsed.TotalSeconds:F1} s");

const int batch = 3, steps = 7;
var rng = new Rng(7);
int[] ids = Enumerable.Range(0, batch * steps).Select(i => i == 0 ? LargeTagger.Vocab - 1 : rng.NextInt(LargeTagger.Vocab)).ToArray();
float[] expected = model.Forward(new ReadOnlyTensorSpan<int>(ids, [batch, steps])).ToArray();
using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<long>(ids.Select(i => (long)i).ToArray(), [batch, steps]))]);
float[] actual = results.Single().AsEnumerable<float>().ToArray();
float worst = 0;
for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / Math.Max(1e-3f, Math.Abs(expected[i])));
Console.WriteLine($"ONNX Runtime against Forward, [{batch}, {steps}] (the last row of the table among the ids): {expected.Length} outputs, largest relative difference {worst:G3}");
if (expected.Length != actual.Length || worst > 1e-4f) { Console.WriteLine("FAILED"); return 1; }
Console.WriteLine("OK");
File.Delete(path);
File.Delete(path + ".data");
return 0;

[Embedding(vocab: Vocab, dim: 1024)]
[Lstm(hidden: 64)]
[Dense(16)]
public partial class LargeTagger
{
    public const int Vocab = 600_000;
}
