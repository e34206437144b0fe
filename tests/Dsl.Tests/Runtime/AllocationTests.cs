using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// What a warm step allocates, counted over the whole process (<see cref="GC.GetTotalAllocatedBytes(bool)"/>), so that the
/// GEMM and attention worker threads count too: training steps of an LSTM, a GRU, attention, padded sequences, a carried
/// state and an encoder–decoder (teacher forcing and scheduled sampling), Forward into a destination and Step allocate
/// nothing. Greedy decoding and sampling allocate per call (a state, buffers of the vocabulary's size, the result) and
/// nothing per step. Beam search allocates per step (see <see cref="BeamSearchAllocatesABoundedAmountPerStep"/>).
/// In the serial collection, so that no other test runs meanwhile; each count is the least of up to ten windows, since
/// anything else in the process (the runner, the JIT's background work) can only add to it.
/// </summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public class AllocationTests
{
    /// <summary>
    /// The least count over up to ten windows of <paramref name="stepsPerWindow"/> warm steps, then, while none has been
    /// without, up to twenty more each 10 ms after the last (stopping at a window with none): a step's own allocations show
    /// in every window, while whatever else runs in the process can only add to some of them — a previous test's progress
    /// reports still draining on the thread pool, the runner, or the compiler's background work after the README's snippets,
    /// which went on allocating on other threads through ten windows of a fast step (a few milliseconds).
    /// </summary>
    private static long WarmBytes(Action step, int stepsPerWindow = 3)
    {
        for (int i = 0; i < 4; i++) step();
        long least = long.MaxValue;
        for (int w = 0; w < 30 && least > 0; w++)
        {
            if (w >= 10) Thread.Sleep(10);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < stepsPerWindow; i++) step();
            least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return least;
    }

    private static int[] Tokens(int n, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();
    }

    private static float[] Normals(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
    }

    /// <summary>
    /// Batches of alternating lengths (a bucketed or padded dataset) reuse the floats of the workspace they replace: a
    /// warm step allocates the new shape's small bookkeeping (lengths, token ids), not its buffers.
    /// </summary>
    [Fact]
    public void BatchesOfAlternatingLengthsReuseTheWorkspacesFloats()
    {
        var model = new LstmWide();
        int[] x = Tokens(16 * 40, 13, 1), y = Tokens(16 * 40, 13, 2);
        bool longer = false;
        long bytes = WarmBytes(() =>
        {
            int steps = (longer = !longer) ? 40 : 31;
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(x, 0, [16, steps], default), new ReadOnlyTensorSpan<int>(y, 0, [16, steps], default));
        }, stepsPerWindow: 2);
        // each shape's floats are megabytes (the gates of [16, 40] alone are 16 × 40 × 4 × 37 floats, 379 KB); what
        // remains is the bookkeeping of each shape (token ids, targets, final states: ~24 KB)
        Assert.True(bytes < 128 * 1024, $"two steps of alternating lengths allocated {bytes} bytes");
    }

    [Fact]
    public void AnLstmTrainingStepForwardIntoADestinationAndPaddedSequencesAllocateNothing()
    {
        // Wide enough that the products are packed and split over the cores.
        var model = new LstmWide();
        var optimizer = new Adam(model.Parameters);
        int[] x = Tokens(16 * 40, 13, 1), y = Tokens(16 * 40, 13, 2);
        int[] lengths = Enumerable.Range(0, 16).Select(i => 40 - 2 * i).ToArray();
        var output = new float[16 * 40 * 13];
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(x, [16, 40]), new ReadOnlyTensorSpan<int>(y, [16, 40]));
            model.Parameters.ClipGradNorm(1f);
            optimizer.Step();
        }));
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(x, [16, 40]), new ReadOnlyTensorSpan<int>(y, [16, 40]), lengths);
            optimizer.Step();
        }));
        Assert.Equal(0, WarmBytes(() => model.Forward(new ReadOnlyTensorSpan<int>(x, [16, 40]), new TensorSpan<float>(output, [16, 40, 13]))));
    }

    [Fact]
    public void AGruTrainingStepWithLengthsOrACarriedStateAndAStepAllocateNothing()
    {
        var model = new GruWide();
        var optimizer = new Sgd(model.Parameters, learningRate: 0.01f, momentum: 0.9f);
        float[] x = Normals(16 * 40 * 11, 3), y = Normals(16 * 40 * 3, 4);
        int[] lengths = Enumerable.Range(0, 16).Select(i => 40 - 2 * i).ToArray();
        var state = model.CreateState(16);
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<float>(x, [16, 40, 11]), new ReadOnlyTensorSpan<float>(y, [16, 40, 3]));
            optimizer.Step();
        }));
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<float>(x, [16, 40, 11]), new ReadOnlyTensorSpan<float>(y, [16, 40, 3]), lengths);
            optimizer.Step();
        }));
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<float>(x, [16, 40, 11]), new ReadOnlyTensorSpan<float>(y, [16, 40, 3]), state);
            optimizer.Step();
        }));
        float[] one = x.AsSpan(0, 16 * 11).ToArray();
        var logits = new float[16 * 3];
        Assert.Equal(0, WarmBytes(() => model.Step(new ReadOnlyTensorSpan<float>(one, [16, 11]), state, new TensorSpan<float>(logits, [16, 3]))));
    }

    [Fact]
    public void AnAttentionTrainingStepAllocatesNothingWithOrWithoutLengths()
    {
        // batch × steps² × width ≥ 2^18: the (sequence, head) pairs are split over the cores, each with its own scratch.
        var model = new AttentionWide();
        var optimizer = new AdamW(model.Parameters);
        float[] x = Normals(16 * 32 * 24, 5), y = Normals(16 * 32 * 2, 6);
        int[] lengths = Enumerable.Range(0, 16).Select(i => 32 - i).ToArray();
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<float>(x, [16, 32, 24]), new ReadOnlyTensorSpan<float>(y, [16, 32, 2]));
            optimizer.Step();
        }));
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<float>(x, [16, 32, 24]), new ReadOnlyTensorSpan<float>(y, [16, 32, 2]), lengths);
            optimizer.Step();
        }));
    }

    [Theory]
    [InlineData(nameof(RotaryBlock))]
    [InlineData(nameof(GroupedQueryBlock))]
    [InlineData(nameof(QwenBlock))]
    [InlineData(nameof(Gemma2Block))]
    [InlineData(nameof(MoeBlock))]
    [InlineData(nameof(HfTinyQwen2Moe))]
    public void ALlamaStyleTrainingStepAndItsDecodingStepsAllocateNothing(string name)
    {
        // RMS norm and rotary positions (the angles into each core's scratch), trained, then stepped from its key/value cache;
        // grouped-query attention's narrower cache too; QK-norm over heads of their own width; a mixture of experts' routing, and
        // its shared expert
        IModel<int> model = name switch
        {
            nameof(MoeBlock) => new MoeBlock(seed: 2),
            nameof(HfTinyQwen2Moe) => new HfTinyQwen2Moe(seed: 2),
            nameof(RotaryBlock) => new RotaryBlock(seed: 2),
            nameof(GroupedQueryBlock) => new GroupedQueryBlock(seed: 2),
            nameof(QwenBlock) => new QwenBlock(seed: 2),
            _ => new Gemma2Block(seed: 2),
        };
        var optimizer = new AdamW(model.Parameters);
        int[] x = Tokens(8 * 16, 13, 7), y = Tokens(8 * 16, 13, 8);
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(x, [8, 16]), new ReadOnlyTensorSpan<int>(y, [8, 16]));
            optimizer.Step();
        }));
        IModelState state = model.CreateState(8);
        var output = new float[8 * model.OutputWidth];
        int[] token = Tokens(8, 13, 9);
        Assert.Equal(0, WarmBytes(() =>
        {
            if (state.Position > 40) state.Reset();
            model.Step(new ReadOnlyTensorSpan<int>(token, [8]), state, new TensorSpan<float>(output, [8, model.OutputWidth]));
        }));
    }

    /// <summary>
    /// A model held in bfloat16 or 8 bits (ParameterSet.HoldWeightsIn) allocates nothing per warm step either: a LLaMA-style
    /// block's decoding steps (one row and eight: the dot products and the blocked product widening as it packs) and forward
    /// passes, and an LSTM's sequence (W_hh widened as it is packed) and generation step.
    /// </summary>
    [Theory]
    [InlineData(Precision.BFloat16)]
    [InlineData(Precision.Int8)]
    public void AModelHeldInLessAllocatesNothingPerStep(Precision precision)
    {
        var block = new RotaryBlock(seed: 2);
        block.Parameters.HoldWeightsIn(precision);
        foreach (int batch in new[] { 1, 8 })
        {
            var state = block.CreateState(batch);
            var output = new float[batch * RotaryBlock.OutputWidth];
            int[] token = Tokens(batch, 13, 9);
            Assert.Equal(0, WarmBytes(() =>
            {
                if (state.Position > 40) state.Reset();
                block.Step(new ReadOnlyTensorSpan<int>(token, [batch]), state, new TensorSpan<float>(output, [batch, RotaryBlock.OutputWidth]));
            }));
        }
        int[] x = Tokens(8 * 16, 13, 7);
        var logits = new float[8 * 16 * RotaryBlock.OutputWidth];
        Assert.Equal(0, WarmBytes(() => block.Forward(new ReadOnlyTensorSpan<int>(x, [8, 16]), new TensorSpan<float>(logits, [8, 16, RotaryBlock.OutputWidth]))));

        var lstm = new StatefulLstm(seed: 2);
        lstm.Parameters.HoldWeightsIn(precision);
        Assert.Contains(lstm.Parameters, p => p.Name == "lstm.weight_hh_l0" && p.Precision == precision);
        int[] sequence = Tokens(4 * 12, StatefulLstm.InputWidth, 3);
        var outputs = new float[4 * 12 * StatefulLstm.OutputWidth];
        Assert.Equal(0, WarmBytes(() => lstm.Forward(new ReadOnlyTensorSpan<int>(sequence, [4, 12]), new TensorSpan<float>(outputs, [4, 12, StatefulLstm.OutputWidth]))));
        var lstmState = lstm.CreateState(1);
        var next = new float[StatefulLstm.OutputWidth];
        Assert.Equal(0, WarmBytes(() => lstm.Step(new ReadOnlyTensorSpan<int>(sequence, 0, [1], default), lstmState, new TensorSpan<float>(next, [1, StatefulLstm.OutputWidth]))));
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(0.5f)]
    public void AnEncoderDecoderTrainingStepAllocatesNothing(float teacherForcing)
    {
        var model = new Reverser(seed: 1);
        var optimizer = new Adam(model.Parameters);
        int[] source = Tokens(8 * 12, 10, 1), input = Tokens(8 * 10, 10, 2), targets = Tokens(8 * 10, 10, 3);
        int[] lengths = Enumerable.Range(0, 8).Select(i => 12 - i).ToArray();
        Assert.Equal(0, WarmBytes(() =>
        {
            model.Parameters.ZeroGrad();
            model.Backward(new ReadOnlyTensorSpan<int>(source, [8, 12]), lengths, new ReadOnlyTensorSpan<int>(input, [8, 10]),
                new ReadOnlyTensorSpan<int>(targets, [8, 10]), teacherForcing);
            optimizer.Step();
        }));
    }

    /// <summary>Bytes of an int[n] on a 64-bit runtime: a 24-byte header, then the values, rounded up to 8.</summary>
    private static long IntArrayBytes(int n) => (24 + 4L * n + 7) / 8 * 8;

    [Fact]
    public void GreedyDecodingAndSamplingAllocateNothingPerStep()
    {
        // Decoding 50 tokens instead of 5 costs exactly the longer result array: every step reuses the same buffers.
        var model = new StatefulLstm(seed: 1);
        var rng = new Rng(1);
        long Greedy(int n) => WarmBytes(() => Decode.Greedy(model, [1, 2], n), stepsPerWindow: 1);
        long Sample(int n) => WarmBytes(() => Decode.Sample(model, [1, 2], n, temperature: 0.8f, topK: 3, rng), stepsPerWindow: 1);
        Assert.Equal(IntArrayBytes(50) - IntArrayBytes(5), Greedy(50) - Greedy(5));
        Assert.Equal(IntArrayBytes(50) - IntArrayBytes(5), Sample(50) - Sample(5));
        // (and with min-p and a repetition penalty, which count the prompt and the tokens chosen so far)
        long Controlled(int n) => WarmBytes(() => Decode.Sample(model, [1, 2], n, temperature: 0.8f, topK: 3, rng, minP: 0.05f, repetitionPenalty: 1.1f), stepsPerWindow: 1);
        Assert.Equal(IntArrayBytes(50) - IntArrayBytes(5), Controlled(50) - Controlled(5));
        // What a call allocates whatever its length: the state, three buffers of the vocabulary's size, the result.
        Assert.True(Greedy(5) < 8 * 1024, $"{Greedy(5)} bytes for a call");

        // The same through an encoder–decoder (its Encode allocates the decoder's initial state per call).
        var reverser = new Reverser(seed: 1);
        int[] source = Tokens(12, 10, 4);
        long Reverse(int n) => WarmBytes(() => reverser.Greedy(new ReadOnlyTensorSpan<int>(source, [1, 12]), startToken: 2, maxLength: n), stepsPerWindow: 1);
        Assert.Equal(IntArrayBytes(50) - IntArrayBytes(5), Reverse(50) - Reverse(5));
    }

    [Fact]
    public void BeamSearchAllocatesABoundedAmountPerStep()
    {
        // Beam search is not allocation-free: each step extends every kept hypothesis's token list and ranks the candidates
        // (its rows' states are copied between two states it keeps, and the source's memory once for the beam's rows). What is allowed: at most 4 KB per hypothesis per step for this model
        // (a GRU of 32 with attention over 12 source steps, 10 classes).
        var reverser = new Reverser(seed: 1);
        int[] source = Tokens(12, 10, 4);
        long Beam(int n) => WarmBytes(() => reverser.Beam(new ReadOnlyTensorSpan<int>(source, [1, 12]), startToken: 2, beamWidth: 3, maxLength: n), stepsPerWindow: 1);
        long perStep = (Beam(50) - Beam(5)) / 45;
        Assert.InRange(perStep, 1, 3 * 4096);
    }

    /// <summary>
    /// Truncated BPTT over windows of alternating lengths (k1 = 8 < k2 = 24: windows of 8 and 24 steps, and a forward pass of 8
    /// to carry the state) reuses its window buffers: a warm pass allocates the model's bookkeeping of each shape, not a
    /// window's 196 KB of features again (the buffers had been replaced whenever the length changed: twice a window).
    /// </summary>
    [Fact]
    public void TruncatedBpttReusesItsWindowBuffersOverWindowsOfAlternatingLengths()
    {
        var model = new TbpttFeatures(seed: 1);
        var optimizer = new Sgd(model.Parameters, 0.01f);
        const int batch = 8, steps = 48;
        float[] x = Normals(batch * steps * 256, 1);
        int[] y = Tokens(batch * steps, 4, 2);
        var tbptt = new TruncatedBptt<float>(model, 8, 24);
        long bytes = WarmBytes(() => tbptt.Train(x, y, batch, steps, () => { optimizer.Step(); model.Parameters.ZeroGrad(); }), stepsPerWindow: 1);
        Assert.True(bytes < 96 * 1024, $"a warm pass of 6 windows allocated {bytes} bytes");
    }
}

[Input(features: 256)]
[Gru(hidden: 16)]
[Dense(4)]
public partial class TbpttFeatures;
