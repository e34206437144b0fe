using Dsl.Kernels;
using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>What the compiler cannot know is checked at run time, with messages that name the tensor, the expected and the actual shape.</summary>
[Collection(nameof(Dsl.Tests.Training.SerialCollection))]
public class RunTimeCheckTests
{
    /// <summary>
    /// Arrays a generated model allocates are sized in long and refused past one array, naming the argument (batch × width in
    /// int had wrapped into a bare OverflowException, or into a wrong size).
    /// </summary>
    [Fact]
    public void ArraysPastOneArrayAreRefusedNamingWhatSizedThem()
    {
        var e = Assert.Throws<ArgumentException>(() => new StatefulLstm(seed: 1).CreateState(int.MaxValue / 2));
        Assert.Equal("batch", e.ParamName);
        Assert.Contains("the state's lstm.h_l0 would hold", e.Message);
        e = Assert.Throws<ArgumentException>(() => Check.NewFloats((long)Array.MaxLength + 1, "the output", "tokens"));
        Assert.Equal("tokens", e.ParamName);
        Assert.Equal(7, Check.NewFloats(7, "the output", "tokens").Length);
    }

    [Fact]
    public void WrongFeatureCountNamesTheInputAndBothShapes()
    {
        var model = new GruCho();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<float>(new float[2 * 5 * 4], [2, 5, 4])));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("expected shape [batch, steps, 3] but got [2, 5, 4]", e.Message);
    }

    [Fact]
    public void WrongRankIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(new int[6], [6])));
        Assert.Contains("tokens: expected shape [batch, steps] but got [6]", e.Message);
    }

    [Fact]
    public void TokenOutsideTheVocabularyIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([1, 2, 11, 3], [2, 2])));
        Assert.Contains("token id 11 at flat position 2 is outside the vocabulary [0, 11)", e.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>([1, -1, 0, 3], [2, 2])));
    }

    [Fact]
    public void TargetsOfAnotherBatchOrStepCountAreRejected()
    {
        var model = new Models.Lstm();
        var tokens = new int[2 * 3];
        var e = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>(tokens, [2, 3]), new ReadOnlyTensorSpan<int>(new int[2 * 4], [2, 4])));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("expected shape [batch, steps] but got [2, 4]", e.Message);
        var f = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>(tokens, [2, 3]), new ReadOnlyTensorSpan<float>(new float[2 * 3 * 5], [2, 3, 5])));
        Assert.Contains("expected shape [batch, steps, 11] but got [2, 3, 5]", f.Message);
    }

    /// <summary>
    /// An encoder–decoder's training step checks the decoder's token ids and the targets' class ids before the encoder runs:
    /// a refused call draws nothing from the teacher-forcing or dropout generators, so a retried run stays reproducible.
    /// </summary>
    [Fact]
    public void AnEncoderDecodersBackwardRefusesBadIdsBeforeDrawingAnything()
    {
        var model = new TransformerSeq2Seq(seed: 4);
        var source = Tensor.Create(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [2, 4]);
        var decoderInput = Tensor.Create(new[] { 1, 2, 3, 1, 4, 5 }, [2, 3]);
        string teacher = model.TeacherForcingRandom.Save(), dropout = ((IModel)model.Encoder).DropoutRandom.Save();
        var e = Assert.Throws<ArgumentException>(() => model.Backward(source, default, decoderInput, Tensor.Create(new[] { 2, 3, 99, 4, 5, 6 }, [2, 3]), teacherForcing: 0.5f));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("class id 99", e.Message);
        var f = Assert.Throws<ArgumentException>(() => model.Backward(source, default, Tensor.Create(new[] { 1, 2, 3, 1, 9, 5 }, [2, 3]), Tensor.Create(new[] { 2, 3, 4, 4, 5, 6 }, [2, 3]), teacherForcing: 0.5f));
        Assert.Equal("decoderInput", f.ParamName);
        Assert.Contains("token id 9", f.Message);
        Assert.Equal(teacher, model.TeacherForcingRandom.Save());
        Assert.Equal(dropout, ((IModel)model.Encoder).DropoutRandom.Save());
        Assert.True(float.IsFinite(model.Backward(source, default, decoderInput, Tensor.Create(new[] { 2, 3, 4, 4, 5, -100 }, [2, 3]), teacherForcing: 0.5f)));
        Assert.NotEqual(teacher, model.TeacherForcingRandom.Save());
    }

    [Fact]
    public void AnEncoderDecodersLossChecksItsTargetsAgainstTheDecoderInput()
    {
        // as many values as the decoder input, in another shape: they would be paired with the wrong logits
        var model = new PlainSeq2Seq(seed: 4);
        var source = Tensor.Create(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 2, 3, 0, 0 }, [3, 4]);
        var decoderInput = Tensor.Create(new[] { 1, 2, 3, 1, 4, 5, 1, 6, 2 }, [3, 3]);
        var flat = Tensor.Create(new[] { 2, 3, 4, 4, 5, 6, 6, 2, 0 }, [9]);
        var e = Assert.Throws<ArgumentException>(() => model.Loss(source, [4, 4, 2], decoderInput, flat));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("expected shape [batch = 3, steps = 3 (the decoder input's)] but got [9]", e.Message);
        float loss = model.Loss(source, [4, 4, 2], decoderInput, Tensor.Create(new[] { 2, 3, 4, 4, 5, 6, 6, 2, 0 }, [3, 3]));
        Assert.True(float.IsFinite(loss));
        // the same targets as columns 1 to 3 of a wider array (strided): the loss reads them where they lie
        int[] wide = [9, 2, 3, 4, 9, 4, 5, 6, 9, 6, 2, 0];
        Assert.Equal(loss, model.Loss(source, [4, 4, 2], decoderInput, new ReadOnlyTensorSpan<int>(wide, 1, [3, 3], [4, 1])));
        var bad = Assert.Throws<ArgumentException>(() => model.Loss(source, [4, 4, 2], decoderInput, new ReadOnlyTensorSpan<int>([9, 2, 3, 99, 9, 4, 5, 6, 9, 6, 2, 0], 1, [3, 3], [4, 1])));
        Assert.Contains("class id 99", bad.Message);
    }

    [Fact]
    public void APassWhoseAttentionWeightsOutgrowAnArrayFailsNamingTheShape()
    {
        // 27 000 steps × 3 heads: the weights [T, T] per head and sequence come to 2.19e9 values, past an array's 2³¹ − 1
        var model = new AttentionCausalStack(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(new int[27000], [1, 27000])));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("a pass over 1 sequence(s) of 27000 step(s) needs a buffer of more than 2147483576 values", e.Message); // Array.MaxLength less a cache line's slack
        Assert.IsType<OverflowException>(e.InnerException);
        // an input of more values than an array holds (a broadcast view: 2 × 2³⁰ + 2 ids over one) is named, not overflowed
        var tooMany = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(new int[1], [2, (1 << 30) + 1], [0, 0])));
        Assert.Contains("holds 2147483650 values, more than an array can hold", tooMany.Message);
    }

    [Fact]
    public void ClassIdBeyondTheOutputIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>([1, 2], [1, 2]), new ReadOnlyTensorSpan<int>([3, 11], [1, 2])));
        Assert.Contains("class id 11", e.Message);
        // batch 2: the position is where the caller put the id (row-major), not where the time-major loss sees it
        int[] targets = [0, 11, 0, 0, 0, 0];
        e = Assert.Throws<ArgumentException>(() => model.Backward(new ReadOnlyTensorSpan<int>([1, 2, 3, 4, 5, 6], [2, 3]), new ReadOnlyTensorSpan<int>(targets, [2, 3])));
        Assert.Contains("class id 11 at flat position 1 is outside [0, 11)", e.Message);
    }

    [Fact]
    public void DestinationOfTheWrongShapeIsRejected()
    {
        var model = new Models.Lstm();
        var e = Assert.Throws<ArgumentException>(() =>
            model.Forward(new ReadOnlyTensorSpan<int>(new int[4], [2, 2]), new TensorSpan<float>(new float[2 * 2 * 10], [2, 2, 10])));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("[2, 2, 11] but got [2, 2, 10]", e.Message);
    }

    [Fact]
    public void NonFiniteLossRaisesAndAccumulatesNothing()
    {
        var model = new GruCho();
        float[] x = new float[2 * 3 * 3];
        x[4] = float.NaN;
        var e = Assert.Throws<ArithmeticException>(() =>
            model.Backward(new ReadOnlyTensorSpan<float>(x, [2, 3, 3]), new ReadOnlyTensorSpan<float>(new float[2 * 3 * 2], [2, 3, 2])));
        Assert.Contains("GruCho: the loss is NaN", e.Message);
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
    }

    [Fact]
    public void ZeroStepsSayStepsMustBePositive()
    {
        var model = new GruCho();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<float>(new float[0], [2, 0, 3])));
        Assert.Equal("input", e.ParamName);
        Assert.StartsWith("input: steps must be positive, but the shape is [2, 0, 3] (expected [batch, steps, 3]); an empty batch or a sequence of no steps has nothing to compute.", e.Message);
        var tokens = Assert.Throws<ArgumentException>(() => new Models.Lstm().Forward(new ReadOnlyTensorSpan<int>(new int[0], [3, 0])));
        Assert.StartsWith("tokens: steps must be positive, but the shape is [3, 0] (expected [batch, steps])", tokens.Message);
        var backward = Assert.Throws<ArgumentException>(() =>
            new Models.Lstm().Backward(new ReadOnlyTensorSpan<int>(new int[0], [3, 0]), new ReadOnlyTensorSpan<int>(new int[0], [3, 0])));
        Assert.StartsWith("tokens: steps must be positive", backward.Message);
    }

    [Fact]
    public void AnEmptyBatchSaysBatchMustBePositive()
    {
        var e = Assert.Throws<ArgumentException>(() => new GruCho().Forward(new ReadOnlyTensorSpan<float>(new float[0], [0, 4, 3])));
        Assert.StartsWith("input: batch must be positive, but the shape is [0, 4, 3] (expected [batch, steps, 3])", e.Message);
        var step = Assert.Throws<ArgumentException>(() => new StatefulLstm().Step(new ReadOnlyTensorSpan<int>(new int[0], [0]), new StatefulLstm().CreateState(1)));
        Assert.StartsWith("tokens: batch must be positive, but the shape is [0] (expected [batch])", step.Message);
        // A wrong feature count with an empty batch is still reported as the shapes that differ.
        var both = Assert.Throws<ArgumentException>(() => new GruCho().Forward(new ReadOnlyTensorSpan<float>(new float[0], [0, 4, 5])));
        Assert.StartsWith("input: expected shape [batch, steps, 3] but got [0, 4, 5].", both.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void ALengthOfZeroOrBelowSaysALengthMustBeAtLeastOne(int length)
    {
        var model = new StatefulLstm();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new ReadOnlyTensorSpan<int>(new int[2 * 4], [2, 4]), [4, length]));
        Assert.Equal("lengths", e.ParamName);
        Assert.StartsWith($"lengths: the length of sequence 1 is {length}; a length must be at least 1 (a sequence of no steps has no output) and at most 4, the steps of the input.", e.Message);
        Assert.Throws<ArgumentException>(() =>
            model.Backward(new ReadOnlyTensorSpan<int>(new int[2 * 4], [2, 4]), new ReadOnlyTensorSpan<int>(new int[2 * 4], [2, 4]), [length, 4]));
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void CreateStateOfZeroOrFewerSequencesIsRefused(int batch)
    {
        // The message is the generated code's: an ArgumentOutOfRangeException naming `batch`, its value, and the rule.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StatefulLstm().CreateState(batch));
        Assert.Equal("batch", e.ParamName);
        Assert.Equal(batch, e.ActualValue);
        Assert.StartsWith("must be positive", e.Message);
    }

    [Theory]
    [InlineData(float.PositiveInfinity, "+infinity")]
    [InlineData(float.NegativeInfinity, "+infinity")]
    [InlineData(float.MaxValue, "+infinity")]
    public void AnInfiniteLossRaisesAndAccumulatesNothing(float target, string shown)
    {
        // A squared error that overflows (an infinite target, or one so large its square does) is an infinite loss.
        var model = new GruCho();
        float[] y = new float[2 * 3 * 2];
        y[5] = target;
        var e = Assert.Throws<ArithmeticException>(() =>
            model.Backward(new ReadOnlyTensorSpan<float>(new float[2 * 3 * 3], [2, 3, 3]), new ReadOnlyTensorSpan<float>(y, [2, 3, 2])));
        Assert.StartsWith($"GruCho: the loss is {shown}; no gradient was accumulated.", e.Message);
        Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g)));
        // In inference mode (validation) the loss is returned as it is, for the caller to see.
        Assert.Equal(float.PositiveInfinity, model.Loss(new ReadOnlyTensorSpan<float>(new float[2 * 3 * 3], [2, 3, 3]), new ReadOnlyTensorSpan<float>(y, [2, 3, 2])));
    }

    [Fact]
    public void EveryTargetIgnoredIsReportedNotTrainedOn()
    {
        var model = new Models.Lstm();
        Assert.Throws<ArithmeticException>(() =>
            model.Backward(new ReadOnlyTensorSpan<int>([1, 2], [1, 2]), new ReadOnlyTensorSpan<int>([-100, -1], [1, 2])));
    }

    /// <summary>A refused training pass from a carried state leaves the state as it was: its tensors, and its position.</summary>
    [Fact]
    public void ARefusedPassFromAStateLeavesTheStateAsItWas()
    {
        var lstm = new StatefulLstm(seed: 3);
        var state = lstm.CreateState(1);
        lstm.Forward(new ReadOnlyTensorSpan<int>([1, 2, 3], [1, 3]), state); // a state that is not zeros
        float[][] before = state.Tensors.Select(t => t.AsSpan().ToArray()).ToArray();
        Assert.Throws<ArithmeticException>(() => lstm.Backward(new ReadOnlyTensorSpan<int>([4, 5], [1, 2]), new ReadOnlyTensorSpan<int>([-100, -1], [1, 2]), state));
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], state.Tensors[i].AsSpan().ToArray());

        var gpt = new TinyGpt(seed: 3);
        var fresh = gpt.CreateState(1);
        Assert.Throws<ArithmeticException>(() => gpt.Backward(new ReadOnlyTensorSpan<int>([1, 2, 3], [1, 3]), new ReadOnlyTensorSpan<int>([-100, -100, -100], [1, 3]), fresh));
        Assert.Equal(0, fresh.Position);
        // still a fresh state: it trains from it
        Assert.True(float.IsFinite(gpt.Backward(new ReadOnlyTensorSpan<int>([1, 2, 3], [1, 3]), new ReadOnlyTensorSpan<int>([2, 3, 4], [1, 3]), fresh)));
        Assert.Equal(3, fresh.Position);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void AttentionKernelsCalledDirectlyRefuseALengthOutsideTheSteps(int length)
    {
        // a length of 0 would mask every key (it was read as 1), one past the steps would read beyond them (read as all)
        const int T = 4, B = 2, E = 4, heads = 2;
        float[] qkv = new float[T * B * 3 * E], weights = new float[B * heads * T * T], context = new float[T * B * E], dQkv = new float[T * B * 3 * E];
        int[] lengths = [3, length];
        var forward = Assert.Throws<ArgumentException>(() => Dsl.Kernels.AttentionKernel.Forward(T, B, E, heads, 0.5f, false, lengths, qkv, weights, default, context, default));
        Assert.Contains($"the length of sequence 1 is {length}", forward.Message);
        Assert.Throws<ArgumentException>(() => Dsl.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, false, lengths, qkv, weights, default, context, dQkv, default));
        float[] q = new float[T * B * E], k = new float[T * B * E], v = new float[T * B * E];
        Assert.Throws<ArgumentException>(() => Dsl.Kernels.AttentionKernel.CrossForward(T, T, B, E, heads, 0.5f, lengths, q, k, v, weights, default, context));
        Assert.Throws<ArgumentException>(() => Dsl.Kernels.AttentionKernel.PoolForward(T, B, E, heads, 0.5f, lengths, new float[E], qkv, new float[B * heads * T], new float[B * E]));
        // the same lengths within the steps pass
        Dsl.Kernels.AttentionKernel.Forward(T, B, E, heads, 0.5f, false, [3, 4], qkv, weights, default, context, default);
    }

    [Fact]
    public void AttentionKernelsCheckEveryBufferBeforeTouchingMemory()
    {
        // the kernels run on pointers: a short buffer was written past (8 weights into 1 float), an empty one through null
        const int T = 2, B = 1, E = 8, heads = 2;
        float[] qkv = new float[T * B * 3 * E], weights = new float[B * heads * T * T], context = new float[T * B * E], dQkv = new float[T * B * 3 * E];
        string Refused(Action call) => Assert.Throws<ArgumentException>(call).Message;
        Assert.Contains("weights: expected at least 8 values, got 1", Refused(() => AttentionKernel.Forward(T, B, E, heads, 1f, false, qkv, new float[1], default, context, default)));
        Assert.Contains("context: expected at least 16 values, got 0", Refused(() => AttentionKernel.Forward(T, B, E, heads, 1f, false, qkv, weights, default, default, default)));
        Assert.Contains("qkv: expected at least 48 values, got 47", Refused(() => AttentionKernel.Forward(T, B, E, heads, 1f, false, new float[47], weights, default, context, default)));
        Assert.Contains("mask: expected at least 8 values, got 3", Refused(() => AttentionKernel.Forward(T, B, E, heads, 1f, false, qkv, weights, new float[3], context, default)));
        Assert.Contains("weights: expected at least 8 values, got 0", Refused(() => AttentionKernel.Backward(T, B, E, heads, 1f, false, qkv, default, default, context, dQkv, default)));
        Assert.Contains("dQkv: expected at least 48 values, got 16", Refused(() => AttentionKernel.Backward(T, B, E, heads, 1f, false, qkv, weights, default, context, new float[16], default)));
        float[] q = new float[T * B * E];
        Assert.Contains("context: expected at least 16 values, got 2", Refused(() => AttentionKernel.CrossForward(T, T, B, E, heads, 1f, default, q, q, q, weights, default, new float[2])));
        Assert.Contains("dContext: expected at least 16 values, got 0", Refused(() => AttentionKernel.CrossBackward(T, T, B, E, heads, 1f, default, q, q, q, weights, default, default, q, q, q)));
        // a width the heads do not divide: the last column was never written; no heads divided by zero
        Assert.Contains("width 8 must be a positive multiple of heads 3", Refused(() => AttentionKernel.Forward(T, B, E, 3, 1f, false, qkv, new float[B * 3 * T * T], default, context, default)));
        Assert.Contains("heads 0", Refused(() => AttentionKernel.PoolForward(T, B, E, 0, 1f, default, new float[E], qkv, weights, context)));
        Assert.Equal("position", Assert.Throws<ArgumentOutOfRangeException>(() => AttentionKernel.CachedForward(T, B, E, heads, 1f, -1, qkv, new float[64], weights, context)).ParamName);
        // a fixed shape passes, and nothing refused touched the outputs
        Assert.All(context, v => Assert.Equal(0f, v));
        AttentionKernel.Forward(T, B, E, heads, 1f, false, qkv, weights, default, context, default);
        Assert.Equal(0.5f, weights[0]);
    }

    [Fact]
    public void ARefusedCallLeavesTheLastPassesAttentionWeights()
    {
        // the workspace was chosen (and, for another shape or a training pass, replaced and cleared) before the state, the
        // destination, the lengths and the targets were checked: the refused call lost what the last pass had left
        var gpt = new TinyGpt(seed: 3);
        int[] ids = [1, 2, 3, 4, 5], more = Enumerable.Range(0, 14).Select(i => i % 11).ToArray();
        gpt.Forward(new ReadOnlyTensorSpan<int>(ids, [1, 5]));
        float[] weights = gpt.AttentionWeights().ToArray();
        void Kept(string after) => Assert.True(weights.AsSpan().SequenceEqual(gpt.AttentionWeights().ToArray()), after);
        var state = gpt.CreateState(1);
        gpt.Step(new ReadOnlyTensorSpan<int>([1], [1]), state);
        Assert.Throws<NotSupportedException>(() => gpt.Backward(new ReadOnlyTensorSpan<int>(ids, [1, 5]), new ReadOnlyTensorSpan<int>(ids, [1, 5]), state));
        Kept("training from a state past its start");
        Assert.Throws<ArgumentException>(() => gpt.Forward(new ReadOnlyTensorSpan<int>(more, [2, 7]), new TensorSpan<float>(new float[2 * 7 * 11], [2, 7, 10])));
        Kept("a destination of the wrong shape");
        Assert.Throws<ArgumentException>(() => gpt.Forward(new ReadOnlyTensorSpan<int>(more, [2, 7]), [7, 9]));
        Kept("a length past the steps");
        Assert.Throws<ArgumentException>(() => gpt.Backward(new ReadOnlyTensorSpan<int>(more, [2, 7]), new ReadOnlyTensorSpan<int>(new int[2 * 6], [2, 6])));
        Kept("targets of the wrong shape");
        Assert.Throws<ArgumentException>(() => gpt.Loss(new ReadOnlyTensorSpan<int>(more, [2, 7]), new ReadOnlyTensorSpan<int>(Enumerable.Repeat(11, 14).ToArray(), [2, 7])));
        Kept("a class id past the classes");
        Assert.Throws<ArgumentException>(() => gpt.Forward(new ReadOnlyTensorSpan<int>(more, [2, 7]), gpt.CreateState(1)));
        Kept("a state of another batch");
    }

    [Fact]
    public void AKeyValueCachePastTheLargestArrayIsRefusedByNameWithTheStateKept()
    {
        // the cache grew by doubling in int: past 2^30 floats a bare OverflowException, though an array holds twice that
        var gpt = new TinyGpt(seed: 3);
        var state = gpt.CreateState(1);
        state.Position = 200_000_000; // 16 floats a step and layer: 3.2 G floats
        var e = Assert.Throws<InvalidOperationException>(() => gpt.Step(new ReadOnlyTensorSpan<int>([1], [1]), state));
        Assert.Contains("Model 'TinyGpt': its key/value cache", e.Message);
        Assert.Contains("would hold 200000001 steps of 1 sequence(s)", e.Message);
        Assert.Contains("Reset the state", e.Message);
        Assert.Equal(200_000_000, state.Position);
        state.Reset();
        Assert.Equal(0, state.Position);
        Assert.True(float.IsFinite(gpt.Step(new ReadOnlyTensorSpan<int>([1], [1]), state)[0, 0]));
    }

    [Fact]
    public void ACachedStepRefusedForAShortBufferLeavesTheCacheAsItWas()
    {
        // the keys and values were appended before the last checks: a refused call had already changed the cache
        const int T = 2, B = 1, E = 4, heads = 2;
        var rng = new Rng(5);
        float[] qkv = Enumerable.Range(0, T * B * 3 * E).Select(_ => rng.NextNormal()).ToArray();
        float[] cache = Enumerable.Repeat(9f, 2 * T * B * 2 * E).ToArray(), before = (float[])cache.Clone();
        float[] weights = new float[B * heads * T * T], context = new float[T * B * E];
        var shortContext = Assert.Throws<ArgumentException>(() => AttentionKernel.CachedForward(T, B, E, heads, 0.5f, 0, qkv, cache, weights, new float[T * B * E - 1]));
        Assert.Equal("context", shortContext.ParamName);
        var shortWeights = Assert.Throws<ArgumentException>(() => AttentionKernel.CachedForward(T, B, E, heads, 0.5f, 0, qkv, cache, new float[3], context));
        Assert.Equal("weights", shortWeights.ParamName);
        Assert.Equal(before, cache);
        // the same call with buffers that fit appends and attends
        AttentionKernel.CachedForward(T, B, E, heads, 0.5f, 0, qkv, cache, weights, context);
        Assert.Equal(qkv.AsSpan(E, 2 * E).ToArray(), cache.AsSpan(0, 2 * E).ToArray());
        Assert.Equal(1f, weights[0]); // the first query sees only its own key
    }

    [Fact]
    public void CrossAttentionOverNoSourceStepsWritesZeros()
    {
        // every query attends over an empty set: its weighted sum is 0 (what PyTorch's product over 0 keys gives); the
        // multi-head kernel had returned early, leaving what the buffers held, and so had its step back
        const int T = 2, B = 2, E = 4, heads = 2;
        float[] q = Enumerable.Range(0, T * B * E).Select(i => i * 0.1f).ToArray(), none = [];
        float[] context = Enumerable.Repeat(7f, T * B * E).ToArray(), dq = Enumerable.Repeat(7f, T * B * E).ToArray();
        AttentionKernel.CrossForward(T, 0, B, E, heads, 0.5f, default, q, none, none, none, default, context);
        Assert.All(context, x => Assert.Equal(0f, x));
        AttentionKernel.CrossBackward(T, 0, B, E, heads, 0.5f, default, q, none, none, none, default, q, dq, none, none);
        Assert.All(dq, x => Assert.Equal(0f, x));
        // the single-head dot and additive scores: the same
        context = Enumerable.Repeat(7f, T * B * E).ToArray();
        CrossAttentionKernel.DotForward(T, 0, B, E, E, 0.5f, default, q, none, none, new float[0], context);
        Assert.All(context, x => Assert.Equal(0f, x));
        context = Enumerable.Repeat(7f, T * B * E).ToArray();
        CrossAttentionKernel.AdditiveForward(T, 0, B, 3, E, default, new float[T * B * 3], none, new float[3], none, none, none, context);
        Assert.All(context, x => Assert.Equal(0f, x));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttentionsStepBackReadsOnlyTheValidQueries(bool causal)
    {
        // in self-attention the lengths pad the queries too: what a padded query's rows hold (q, its weights, d(context)),
        // NaN included, reaches no gradient, and its rows of d(qkv) are zero; padded queries had been summed into dk and dv
        const int T = 5, B = 2, E = 8, heads = 2;
        int[] lengths = [5, 3];
        var rng = new Rng(12);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        float[] qkv = Random(T * B * 3 * E), dContext = Random(T * B * E), weights = new float[B * heads * T * T], context = new float[T * B * E];
        for (int t = lengths[1]; t < T; t++) dContext.AsSpan((t * B + 1) * E, E).Clear(); // what a model passes back for padded steps
        AttentionKernel.Forward(T, B, E, heads, 0.5f, causal, lengths, qkv, weights, default, context, default);
        float[] Backward(float padding)
        {
            float[] q = (float[])qkv.Clone(), w = (float[])weights.Clone(), dc = (float[])dContext.Clone();
            PaddedAttentionRows.Fill(q, dc, w, T, B, E, heads, sequence: 1, from: lengths[1], padding);
            float[] dQkv = Enumerable.Repeat(7f, T * B * 3 * E).ToArray();
            AttentionKernel.Backward(T, B, E, heads, 0.5f, causal, lengths, q, w, default, dc, dQkv, default);
            return dQkv;
        }
        float[] clean = Backward(0f), poisoned = Backward(float.NaN);
        Assert.Equal(clean, poisoned);
        for (int t = lengths[1]; t < T; t++) Assert.All(poisoned.AsSpan((t * B + 1) * 3 * E, 3 * E).ToArray(), x => Assert.Equal(0f, x));
        // the valid rows are those of the sequence cut to its length (a batch of one, 3 steps)
        const int L = 3;
        float[] alone = new float[L * 3 * E], aloneDc = new float[L * E], aloneW = new float[heads * L * L], aloneC = new float[L * E];
        for (int t = 0; t < L; t++)
        {
            qkv.AsSpan((t * B + 1) * 3 * E, 3 * E).CopyTo(alone.AsSpan(t * 3 * E));
            dContext.AsSpan((t * B + 1) * E, E).CopyTo(aloneDc.AsSpan(t * E));
        }
        AttentionKernel.Forward(L, 1, E, heads, 0.5f, causal, alone, aloneW, default, aloneC, default);
        float[] aloneD = new float[L * 3 * E];
        AttentionKernel.Backward(L, 1, E, heads, 0.5f, causal, alone, aloneW, default, aloneDc, aloneD, default);
        for (int t = 0; t < L; t++)
            Tolerance.AssertClose(aloneD.AsSpan(t * 3 * E, 3 * E), poisoned.AsSpan((t * B + 1) * 3 * E, 3 * E), $"d(qkv) of step {t}");
    }

    [Fact]
    public void CrossAttentionsStepBackReadsOnlyTheValidSourceSteps()
    {
        // keys and values at padded source steps hold NaN (what an encoder left there): the forward never read them, and now
        // neither does the step back; their gradients are zero, and every other gradient is that of a batch without them
        const int T = 3, S = 5, B = 2, E = 8, heads = 2;
        int[] lengths = [2, 5];
        var rng = new Rng(9);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        float[] q = Random(T * B * E), k = Random(S * B * E), v = Random(S * B * E), dContext = Random(T * B * E);
        (float[] Dq, float[] Dk, float[] Dv) Run(float padding)
        {
            float[] kk = (float[])k.Clone(), vv = (float[])v.Clone();
            for (int s = lengths[0]; s < S; s++)
                for (int j = 0; j < E; j++) kk[(s * B) * E + j] = vv[(s * B) * E + j] = padding;
            float[] weights = new float[B * heads * T * S], context = new float[T * B * E];
            AttentionKernel.CrossForward(T, S, B, E, heads, 0.5f, lengths, q, kk, vv, weights, default, context);
            float[] dq = new float[T * B * E], dk = Enumerable.Repeat(7f, S * B * E).ToArray(), dv = Enumerable.Repeat(7f, S * B * E).ToArray();
            AttentionKernel.CrossBackward(T, S, B, E, heads, 0.5f, lengths, q, kk, vv, weights, default, dContext, dq, dk, dv);
            return (dq, dk, dv);
        }
        var clean = Run(0f);
        var poisoned = Run(float.NaN);
        Assert.Equal(clean.Dq, poisoned.Dq);
        Assert.Equal(clean.Dk, poisoned.Dk);
        Assert.Equal(clean.Dv, poisoned.Dv);
        for (int s = lengths[0]; s < S; s++)
            for (int j = 0; j < E; j++)
            {
                Assert.Equal(0f, poisoned.Dk[(s * B) * E + j]);   // written, not left at 7
                Assert.Equal(0f, poisoned.Dv[(s * B) * E + j]);
            }
        Assert.All(poisoned.Dq, x => Assert.True(float.IsFinite(x)));
    }

    /// <summary>
    /// Cross-attention's lengths are 1 … S for each sequence (0 had silently attended to the first, padded, step; past S was
    /// clamped), and the additive forward's dropout mask covers [B, T, S] (a short one had been read past its end).
    /// </summary>
    [Fact]
    public void CrossAttentionRefusesLengthsOutsideItsSourceStepsAndAShortMask()
    {
        const int T = 2, S = 3, B = 2, Q = 4, A = 3;
        float[] x = new float[T * B * Q], memory = new float[S * B * Q], weights = new float[B * T * S], context = new float[T * B * Q];
        foreach (int[] lengths in new[] { new[] { 3, 0 }, new[] { 4, 1 }, new[] { -1, 2 } })
        {
            var e = Assert.Throws<ArgumentException>(() => CrossAttentionKernel.DotForward(T, S, B, Q, Q, 1f, lengths, x, memory, memory, weights, context));
            Assert.Equal("lengths", e.ParamName);
            Assert.Contains("the length of sequence", e.Message);
            Assert.Throws<ArgumentException>(() => CrossAttentionKernel.DotBackward(T, S, B, Q, Q, 1f, lengths, x, memory, memory, weights, context,
                new float[T * B * Q], new float[S * B * Q], new float[S * B * Q], new float[T * S]));
        }
        float[] q = new float[T * B * A], k = new float[S * B * A], v = new float[A], hidden = new float[B * T * S * A];
        var shortMask = Assert.Throws<ArgumentException>(() => CrossAttentionKernel.AdditiveForward(T, S, B, A, Q, default, q, k, v, memory, hidden, weights, context,
            mask: new float[B * T * S - 1]));
        Assert.Contains("mask", shortMask.Message);
        Assert.Throws<ArgumentException>(() => CrossAttentionKernel.AdditiveForward(T, S, B, A, Q, [3, 0], q, k, v, memory, hidden, weights, context));
    }

    [Fact]
    public void DotAndAdditiveAttentionsStepBackReadOnlyTheValidSourceSteps()
    {
        // the classic (Luong dot) scores: memory at padded source steps holds NaN; the gradients are a clean batch's
        const int T = 3, S = 4, B = 2, Q = 6;
        int[] lengths = [4, 2];
        var rng = new Rng(4);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        float[] x = Random(T * B * Q), memory = Random(S * B * Q), dContext = Random(T * B * Q);
        (float[] Dx, float[] Dm) Run(float padding)
        {
            float[] mem = (float[])memory.Clone();
            for (int s = lengths[1]; s < S; s++)
                for (int j = 0; j < Q; j++) mem[(s * B + 1) * Q + j] = padding;
            float[] weights = new float[B * T * S], context = new float[T * B * Q];
            CrossAttentionKernel.DotForward(T, S, B, Q, Q, 1f, lengths, x, mem, mem, weights, context);
            float[] dx = new float[T * B * Q], dm = new float[S * B * Q];
            CrossAttentionKernel.DotBackward(T, S, B, Q, Q, 1f, lengths, x, mem, mem, weights, dContext, dx, dm, dm, new float[T * S]);
            return (dx, dm);
        }
        var clean = Run(0f);
        var poisoned = Run(float.NaN);
        Assert.Equal(clean.Dx, poisoned.Dx);
        Assert.Equal(clean.Dm, poisoned.Dm);
        Assert.All(poisoned.Dx, v => Assert.True(float.IsFinite(v)));

        // the additive (Bahdanau) scores read the memory the same way
        const int A = 5;
        float[] q = Random(T * B * A), k = Random(S * B * A), va = Random(A);
        (float[] Dq, float[] Dk, float[] Dv, float[] Dm) Additive(float padding)
        {
            float[] mem = (float[])memory.Clone();
            for (int s = lengths[1]; s < S; s++)
                for (int j = 0; j < Q; j++) mem[(s * B + 1) * Q + j] = padding;
            float[] hidden = new float[B * T * S * A], weights = new float[B * T * S], context = new float[T * B * Q];
            CrossAttentionKernel.AdditiveForward(T, S, B, A, Q, lengths, q, k, va, mem, hidden, weights, context);
            float[] dq = new float[T * B * A], dk = new float[S * B * A], dv = new float[A], dm = new float[S * B * Q];
            CrossAttentionKernel.AdditiveBackward(T, S, B, A, Q, lengths, va, mem, hidden, weights, dContext, dq, dk, dv, dm, new float[T * S]);
            return (dq, dk, dv, dm);
        }
        var cleanAdditive = Additive(0f);
        var poisonedAdditive = Additive(float.NaN);
        Assert.Equal(cleanAdditive.Dq, poisonedAdditive.Dq);
        Assert.Equal(cleanAdditive.Dk, poisonedAdditive.Dk);
        Assert.Equal(cleanAdditive.Dv, poisonedAdditive.Dv);
        Assert.Equal(cleanAdditive.Dm, poisonedAdditive.Dm);
    }

    [Fact]
    public void APackedLengthPastAnArrayIsRefusedNotWrapped()
    {
        // 2²⁷ rows of one column pad to NR columns: 32 · 2²⁷ wrapped to 0 at 512 bits, and any buffer passed
        Assert.Throws<ArgumentException>(() => Gemm.PackedLength(1 << 27, 1 << 20));
        Assert.Throws<ArgumentException>(() => Gemm.PackB(1 << 27, 64, new float[1 << 20], 64, false, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.PackedLength(-1, 4));
        Assert.Equal(0, Gemm.PackedLength(0, 5));
    }

    private static unsafe void FailingPart(void* state, int part, int parts)
    {
        if (part == parts - 1) throw new ArgumentException($"part {part} failed");
    }

    [Fact]
    public unsafe void AnErrorInASplitPartReachesTheCallerAsItself()
    {
        // split over the workers or run alone, a failing part throws its own exception (a split wrapped it in an
        // InvalidOperationException, so what a caller caught depended on whether the workers were free), and the workers
        // are free again afterwards
        foreach (int parts in new[] { 1, 2, GemmWorkers.Available })
        {
            var e = Assert.Throws<ArgumentException>(() => GemmWorkers.Run(&FailingPart, null, parts));
            Assert.Equal($"part {Math.Max(1, Math.Min(parts, GemmWorkers.Available)) - 1} failed", e.Message);
        }
        var big = new float[256 * 256];
        Gemm.MatMul(256, 256, 256, big, 256, big, 256, big.ToArray(), 256, accumulate: false);
    }
}

/// <summary>Self-attention's buffers at one sequence's padded steps (what a host and a device test poison with NaN).</summary>
internal static class PaddedAttentionRows
{
    /// <summary>
    /// Sets <paramref name="value"/> in sequence <paramref name="sequence"/>'s rows of qkv [T, B, 3E] and d(context) [T, B, E],
    /// and in its heads' weight rows [B, heads, T, T], at the steps from <paramref name="from"/> on.
    /// </summary>
    public static void Fill(float[] qkv, float[] dContext, float[] weights, int T, int B, int E, int heads, int sequence, int from, float value)
    {
        for (int t = from; t < T; t++)
        {
            qkv.AsSpan((t * B + sequence) * 3 * E, 3 * E).Fill(value);
            dContext.AsSpan((t * B + sequence) * E, E).Fill(value);
            for (int h = 0; h < heads; h++) weights.AsSpan(((sequence * heads + h) * T + t) * T, T).Fill(value);
        }
    }
}
