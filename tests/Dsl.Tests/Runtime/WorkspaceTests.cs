using System.Numerics.Tensors;
using Xunit;

namespace Dsl.Tests.Runtime;

[Embedding(vocab: 65, dim: 128)]
[Lstm(hidden: 256)]
[Dense(65)]
public partial class WsCharModel;

/// <summary>An inference pass allocates only what inference reads; training adds the gradients and BPTT's buffers.</summary>
public class WorkspaceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int B = 32, T = 100, E = 128, H = 256, V = 65;

    private static (Tensor<int> Tokens, Tensor<int> Targets) Batch()
    {
        var rng = new Random(1);
        int[] tokens = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < tokens.Length; i++) (tokens[i], targets[i]) = (rng.Next(V), rng.Next(V));
        return (Tensor.Create(tokens, [B, T]), Tensor.Create(targets, [B, T]));
    }

    [Fact]
    public void AFirstForwardAllocatesNoTrainingBuffer()
    {
        var (tokens, targets) = Batch();
        // this thread's own buffers (the products' packing panels are per thread) exist before the count starts,
        // whichever test ran on this thread before
        new WsCharModel(seed: 2).Forward(tokens);
        var model = new WsCharModel(seed: 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Forward(tokens);
        long forward = GC.GetAllocatedBytesForCurrentThread() - before;

        // what inference reads, per (step, sequence): embedding, gates, cell states, hidden states, logits, float targets; the output
        long rows = (long)B * T;
        long result = 4 * rows * V; // the Tensor Forward returns
        long inference = 4 * rows * (E + 4 * H + H + H + V + V) + 8 * rows /* token and class ids */
            + 4 * (4 * H + 64) * (H + 32) /* packed recurrent weights */ + result;
        long training = 4 * rows * (E + H + V + 4 * H); // the gradients of embedding, LSTM and dense outputs, and of the gates
        Assert.InRange(forward, inference, inference + inference / 10);

        before = GC.GetAllocatedBytesForCurrentThread();
        model.Parameters.ZeroGrad();
        model.Backward(tokens, targets);
        long backward = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(backward >= inference - result + training, $"a training workspace holds the inference buffers and {training} bytes of gradients; {backward} were allocated");
        output.WriteLine($"first Forward [{B}, {T}]: {forward} bytes; first Backward: {backward} bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        model.Forward(tokens);
        long again = GC.GetAllocatedBytesForCurrentThread() - before;
        // Only the result, and at most a product's per-thread packing panels: which parts of a split product this thread
        // claims varies from run to run (a worker that wakes first may take them all), and a part it claims for the first
        // time sizes its panel here (8 KB once seen; 256 KB, once, since the LSTM projects the 65-row table [65 × 1024 × 128],
        // split by columns, rather than every step's vectors; 512 KB once, in a clean-clone CI run): the bound is 2 MB, a new
        // workspace being 25 MB.
        Assert.True(again < 4 * rows * V + 2 * 1024 * 1024, $"inference after training reuses the training workspace; {again} bytes were allocated");
    }
}
