using System.Numerics.Tensors;
using Dsl.Gpu;
using Dsl.Tests.Models;
using Xunit;
using Device = Dsl.Gpu.Device;

namespace Dsl.Tests.Gpu;

/// <summary>
/// How close the device's results must be to the host's: 1e-4 relative, or 1e-5 of the tensor's largest value. The device
/// computes the same sums in another order with its own exp and tanh (ILGPU's, not TensorPrimitives' vectorised ones), and
/// a gradient made by cancellation (an additive score's weights) carries those last bits at the scale of its tensor.
/// </summary>
internal static class Agreement
{
    public static void AssertClose(ReadOnlySpan<float> host, ReadOnlySpan<float> device, string what) =>
        Tolerance.AssertClose(host, device, what, scaleFraction: 0.1f);
}

/// <summary>The device tests share one ILGPU CPU accelerator and run one at a time.</summary>
[CollectionDefinition("Device", DisableParallelization = true)]
public sealed class DeviceCollection : ICollectionFixture<DeviceFixture>;

/// <summary>ILGPU's CPU accelerator (what CI has), opened once: its kernels compile once for every test.</summary>
public sealed class DeviceFixture : IDisposable
{
    public Device Cpu { get; } = Device.Open(DeviceKind.Cpu);

    public void Dispose() => Cpu.Dispose();
}

/// <summary>
/// Every model kind the device runs, on ILGPU's CPU accelerator, agrees with the host path: outputs, losses and every
/// gradient (1e-4 relative), padded and from a carried state, stepping, and a seeded training run with dropout.
/// </summary>
[Collection("Device")]
public class DeviceModelTests(DeviceFixture fixture)
{
    internal const int B = 3, T = 4;
    internal static readonly int[] Lengths = [4, 2, 3];

    public static TheoryData<string> Models =>
    [
        nameof(GcRnnTanh), nameof(GcRnnReluStackedBidirectional), nameof(GcLstmBidirectionalManyToOne), nameof(GcGru),
        nameof(GcGruChoStackedBidirectional), nameof(GcDropout), nameof(GcGruManyToOneDense), nameof(GcNamedStack),
        nameof(GcDenseBeforeRecurrent), nameof(GcEmbeddingDense), nameof(GcLearnedLstmState), nameof(GcLearnedGruRnnState),
        nameof(GcLearnedGruState), nameof(GcVariationalLstm), nameof(GcVariationalGru), nameof(GcVariationalRnn),
        nameof(StatefulLstm), nameof(StatefulGruCho), nameof(MaskedLstm), nameof(LstmProjectionStackedBidirectional),
        // self-attention (causal with dropout on the weights, padded), layer norm, positional encoding, Transformer blocks
        nameof(GcAttentionDotDropout), nameof(GcTransformerBlock), nameof(GcTfEncoder), nameof(MaskedAttention), nameof(TinyGpt),
        nameof(AttentionCausalStack), nameof(OnnxPositionalGru), nameof(TfPreNormEncoder),
        // the classic scores over the layer's own steps (causal, stepping from the state's caches) and every kind of pooling
        nameof(GcGeneralSelfCausal), nameof(GcGeneralSelfDropout), nameof(AttentionAdditiveCausal), nameof(GcAdditiveSelf),
        nameof(GcAttentionPool), nameof(GcScaledDotPool), nameof(GcMultiHeadPoolDropout), nameof(MaskedAttentionPool), nameof(GcGeneralPool),
        nameof(GcAdditivePool), nameof(GcAdditivePoolDropout), nameof(GcMaskedMultiHead),
        // weight tying: the output layer's weight is the embedding's table (folded by the GRU, read by attention's stack)
        nameof(GcTiedDense), nameof(GcTiedGru), nameof(AttentionTied), nameof(GcDenseWithoutBias),
        // GELU, from the kept pre-activation, in a GPT-style block
        nameof(GcGelu), nameof(GptBlock), nameof(GcSiluGeluTanh), nameof(NanoGptBlock), nameof(GcNormWithoutShift), nameof(GcNormWithoutAffine), nameof(NormsWithoutAffine), nameof(HfTinyOlmo), nameof(HfTinyOlmoBiased), nameof(HfTinyOlmoClipped), nameof(ClippedAttention), nameof(GcClipQkv), nameof(Olmo2Block), nameof(GcQueryKeyNormAcrossHeads), nameof(HfTinyOlmo2), nameof(HfTinyOlmo2Tied), nameof(ScaledBlock), nameof(GcScale), nameof(HfTinyGranite),
        // mixtures of experts: routed on the host, each expert's products on the device over its rows
        nameof(MoeBlock), nameof(MoeVariants), nameof(GcMoe), nameof(GcMoeVariants), nameof(HfTinyMixtral), nameof(HfTinyMixtralTied), nameof(HfTinyOlmoe), nameof(HfTinyQwen3Moe), nameof(MoeBalanced), nameof(GcMoeBalanced), nameof(GcMoeBalancedTokens), nameof(MoeShared), nameof(GcMoeShared), nameof(HfTinyQwen2Moe), nameof(HfTinyGraniteMoe), nameof(HfTinyGraniteMoeShared),
        // dense layers among the sparse ones; Cohere 2's parallel layers, sliding and turned or full and not
        nameof(HfTinyQwen3MoeMixed), nameof(HfTinyCohere2),
        // learned positions (GPT-2's wpe), from a carried state past its start too
        nameof(GcPositionEmbedding), nameof(GcPositionEmbeddingGru),
        // an embedding scaled by √dim: the gather and the gradient's scatter scaled, no fold into the LSTM's projection
        nameof(ScaledEmbeddingAttention), nameof(ScaledEmbeddingLstm), nameof(GcScaledEmbeddingTied),
        // RMS norm: layer norm's kernels without the centring and the shift
        nameof(RmsNormBlock), nameof(RmsNormManyToOne), nameof(GcRmsNorm),
        // rotary positions: the angles computed on the host, the pairs turned on the device (from a carried state too)
        nameof(RotaryBlock), nameof(RotaryWide), nameof(GcRotary), nameof(GcRotaryTokens),
        // gated linear units of every activation; LLaMA's block
        nameof(GcGated), nameof(LlamaBlock),
        // projections without biases (nn.MultiheadAttention(bias=False)): self, over the whole sequence, pooling
        nameof(AttentionWithoutBias),
        // grouped-query attention: a group of query heads reading one key/value head, whose gradients sum over the group
        nameof(GroupedQueryBlock), nameof(MultiQueryAttention), nameof(GcGroupedQuery),
        // sliding windows: each query's softmax over its window's keys, zero before it (forward, back, and stepping from the host's cache)
        nameof(SlidingWindowBlock), nameof(SlidingWindowAttention), nameof(GcSlidingWindow), nameof(GcBidirectionalWindow),
        // LLaMA 3.1's and the linear scaled rotary frequencies (the angles past position 0 computed on the host with the scaling)
        nameof(HfTinyLlama31), nameof(HfTinyLinearLlama), nameof(HfTinyYarnLlama), nameof(GcYarn),
        // a partial rotation: each head's first values turned on the device, the rest left
        nameof(PartialRotaryBlock), nameof(GcPartialRotary), nameof(HfTinyPhi3Partial),
        // LongRoPE: the host's tables of the pass's factors (short within the original context, long past it)
        nameof(HfTinyPhi3LongRope), nameof(GcLongRope),
        // dynamic NTK: the host's tables for the base the pass's reach raises
        nameof(HfTinyDynamicLlama), nameof(GcDynamic),
        // Qwen2's attention: the input projections' biases without the output projection's
        nameof(HfTinyQwen2),
        // heads of their own width, each head's queries and keys RMS-normalised in the packed rows (Qwen3's)
        nameof(QwenBlock), nameof(HeadWidthAttention), nameof(GcQueryKeyNorm),
        // soft-capped scores (the cap's slope from the scores recomputed on the device) and outputs (Gemma 2's)
        nameof(Gemma2Block), nameof(SoftCapAttention), nameof(GcSoftCap), nameof(HfTinyGemma2),
        // T5's and MPNet's relative position bias: the buckets from the host, the table read and its gradient summed on the device
        nameof(RelativeAttention), nameof(GcRelative), nameof(HfTinyMpnet), nameof(HfTinyT5), nameof(HfTinyUmt5),
        // T5's decoder's one-sided buckets (the device's bucket table for them), stepping with the table read on the host
        nameof(CausalRelativeAttention), nameof(GcCausalRelative),
        // ALiBi: the bias filled on the host once per workspace and copied over; stepping from the host's cache
        nameof(AlibiAttention), nameof(GcAlibi), nameof(GcAlibiCausal), nameof(HfTinyBloom), nameof(HfTinyMpt), nameof(HfTinyJinaBert),
        // parallel blocks: a branch's copy forward, its gradient joined back and the output before it cleared
        nameof(ParallelBlock), nameof(GcParallel), nameof(HfTinyGptNeoX), nameof(HfTinyGptNeoXSequential), nameof(HfTinyPhi), nameof(HfTinyStableLm), nameof(HfTinyStableLmParallel), nameof(HfTinyGptBigCode), nameof(HfTinyGptBigCodeMha), nameof(HfTinyFalcon), nameof(HfTinyFalconNew), nameof(HfTinyFalconOneNorm), nameof(HfTinyGptJ),
        // OPT's post-norm layers with project_in before the learned positions and project_out before the tied output layer
        nameof(HfTinyOptPostNorm),
        // GPT-Neo's: unscaled scores, out_proj's bias alone, a local window
        nameof(HfTinyGptNeo), nameof(HfTinyStarcoder2), nameof(HfTinyFalconSequential), nameof(HfTinyFalconRw),
        // Gemma 3's layers: norms around each part, a sliding layer then a full one with scaled frequencies
        nameof(HfTinyGemma3),
        // BERT's post-norm encoder over the whole sequence, and with a head of its own (attention pooling, a classifier)
        nameof(HfTinyBert), nameof(HfTinyBertClassifier),
        // pooling a sequence into a vector: its mean (a device kernel), its first step (a copy), its last (the recurrent layers' gather)
        nameof(GcPoolMean), nameof(GcPoolFirst), nameof(GcPoolLast), nameof(GcPoolMax),
        // BERT with BertForSequenceClassification's head: the [CLS] vector, the pooler, dropout on a vector, the classifier
        nameof(HfTinyBertSequenceClassifier),
        // BERT's token types: counted on the host beside the ids, their rows gathered and their gradient scattered on the device
        nameof(GcTokenTypes),
        // ModernBERT's layers: rotary positions of two bases, local layers over a window on both sides, GeGLU, norms without biases
        nameof(HfTinyModernBert),
    ];

    internal static IModel Create(string name, int seed = 3) =>
        (IModel)Activator.CreateInstance(typeof(GcRnnTanh).Assembly.GetType("Dsl.Tests.Models." + name)!, seed)!;

    [Theory]
    [MemberData(nameof(Models))]
    public void AgreesWithTheHost(string name)
    {
        IModel host = Create(name), device = Create(name);
        ((IDeviceModel)device).To(fixture.Cpu);
        Assert.Same(fixture.Cpu, ((IDeviceModel)device).Device);
        if (host is IModel<int>) Compare((IModel<int>)host, (IModel<int>)device, Tokens(host.InputWidth), name);
        else Compare((IModel<float>)host, (IModel<float>)device, Features(host.InputWidth), name);
    }

    private static void Compare<TIn>(IModel<TIn> host, IModel<TIn> device, Tensor<TIn> input, string name)
    {
        Tensor<int> targets = Targets(host);
        Tolerance.AssertClose(Flat(host.Forward(input)), Flat(device.Forward(input)), name + " forward");
        Tolerance.AssertClose([host.Loss(input, targets)], [device.Loss(input, targets)], name + " loss");
        // training: dropout draws the same masks from the same seeded stream on both
        AssertLossAndGradients(host.Backward(input, targets), device.Backward(input, targets), host, device, name + " backward");
        AssertLossAndGradients(host.Backward(input, targets, Lengths), device.Backward(input, targets, Lengths), host, device, name + " backward with lengths");
        Tolerance.AssertClose(Flat(host.Forward(input, Lengths)), Flat(device.Forward(input, Lengths)), name + " forward with lengths");
        // the mean squared error (on the device too), over every step and over the valid ones
        Tensor<float> values = Values(host);
        Tolerance.AssertClose([host.Loss(input, values)], [device.Loss(input, values)], name + " squared error");
        AssertLossAndGradients(host.Backward(input, values), device.Backward(input, values), host, device, name + " squared error backward");
        AssertLossAndGradients(host.Backward(input, values, Lengths), device.Backward(input, values, Lengths), host, device, name + " squared error backward with lengths");
        if (!host.ReturnsSequences || !Steps(host)) return;
        // from a carried state, twice (the second pass starts where the first ended), then step by step
        IModelState hs = host.CreateState(B), ds = device.CreateState(B);
        for (int pass = 0; pass < 2; pass++)
        {
            Tolerance.AssertClose(Flat(host.Forward(input, hs)), Flat(device.Forward(input, ds)), $"{name} forward from a state, pass {pass}");
            for (int i = 0; i < hs.Tensors.Count; i++) Tolerance.AssertClose(hs.Tensors[i].AsSpan(), ds.Tensors[i].AsSpan(), $"{name} state {hs.Tensors[i].Name}, pass {pass}");
        }
        // (a model with a key/value cache trains from a fresh state only: both refuse alike)
        float hostLoss = 0;
        Exception? refused = Record.Exception(() => hostLoss = host.Backward(input, targets, hs));
        Assert.Equal(((IModel)host).TrainsFromCarriedState, refused is null); // what Trainer and TruncatedBptt read before training
        if (refused is null) AssertLossAndGradients(hostLoss, device.Backward(input, targets, ds), host, device, name + " backward from a state");
        else
        {
            Assert.IsType<NotSupportedException>(refused);
            Assert.Throws<NotSupportedException>(() => device.Backward(input, targets, ds));
        }
        TIn[] all = Flat(input);
        int width = all.Length / (B * T);
        // step s reads the inputs of time s: [B] token ids or [B, features]
        Tensor<TIn> StepInput(int s) => Tensor.Create(Enumerable.Range(0, B).SelectMany(b => all.Skip((b * T + s) * width).Take(width)).ToArray(),
            typeof(TIn) == typeof(int) ? [B] : [B, width]);
        for (int s = 0; s < 3; s++)
            Tolerance.AssertClose(Flat(host.Step(StepInput(s), hs)), Flat(device.Step(StepInput(s), ds)), $"{name} step {s}");
    }

    internal static T[] Flat<T>(Tensor<T> tensor)
    {
        var flat = new T[tensor.FlattenedLength];
        tensor.FlattenTo(flat);
        return flat;
    }

    internal static bool Steps(IModel model) => (bool)model.GetType().GetField("CanStep")!.GetValue(null)!;

    private static void AssertLossAndGradients(float hostLoss, float deviceLoss, IModel host, IModel device, string what)
    {
        Tolerance.AssertClose([hostLoss], [deviceLoss], what + " loss");
        for (int i = 0; i < host.Parameters.Count; i++)
            Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"{what} grad.{host.Parameters[i].Name}");
        host.Parameters.ZeroGrad();
        device.Parameters.ZeroGrad();
    }

    /// <summary>
    /// A model on a device is in float32 (asking for it changes nothing) and is not held in bfloat16 there; a model held in
    /// bfloat16 does not move to one (the device computes in float32): both refused naming why, nothing changed.
    /// </summary>
    [Fact]
    public void AModelIsHeldInBFloat16OnlyOnTheHost()
    {
        var model = new TinyGpt(seed: 1);
        ((IDeviceModel)model).To(fixture.Cpu);
        try
        {
            Assert.Equal(0, model.Parameters.HoldWeightsIn(Precision.Float32));
            Assert.Contains("lives on a device", Assert.Throws<InvalidOperationException>(() => model.Parameters.HoldWeightsIn(Precision.BFloat16)).Message);
            Assert.All(model.Parameters, p => Assert.Equal(Precision.Float32, p.Precision));
        }
        finally
        {
            ((IDeviceModel)model).ToHost();
        }
        model.Parameters.HoldWeightsIn(Precision.BFloat16);
        Assert.Contains("held in bfloat16", Assert.Throws<InvalidOperationException>(() => ((IDeviceModel)model).To(fixture.Cpu)).Message);
        Assert.Null(((IDeviceModel)model).Device);
    }

    /// <summary>
    /// Batches of alternating lengths on the device (a host workspace replaced by one of another shape, its device memory
    /// let go and copied back) give the host's outputs and losses, pass after pass.
    /// </summary>
    [Fact]
    public void BatchesOfAlternatingLengthsGiveTheHostsResults()
    {
        var host = new GcRnnReluStackedBidirectional(seed: 5);
        var device = new GcRnnReluStackedBidirectional(seed: 5);
        device.To(fixture.Cpu);
        var rng = new Rng(10);
        foreach (int steps in new[] { 5, 3, 5, 2, 3 })
        {
            float[] x = Enumerable.Range(0, 2 * steps * 3).Select(_ => rng.NextNormal()).ToArray();
            float[] y = Enumerable.Range(0, 2 * steps * 3).Select(_ => rng.NextNormal()).ToArray();
            var input = new ReadOnlyTensorSpan<float>(x, [2, steps, 3]);
            var targets = new ReadOnlyTensorSpan<float>(y, [2, steps, 3]);
            Tolerance.AssertClose(host.Forward(input).ToArray(), device.Forward(input).ToArray(), $"outputs of {steps} steps");
            Tolerance.AssertClose([host.Backward(input, targets)], [device.Backward(input, targets)], $"loss of {steps} steps");
        }
    }

    [Fact]
    public void TwentyAdamStepsWithClippingGiveTheHostsLosses()
    {
        var host = new GcDropout(seed: 5);
        var device = new GcDropout(seed: 5);
        device.To(fixture.Cpu);
        var hostAdam = new Adam(host.Parameters, 0.01f);
        var deviceAdam = new Adam(device.Parameters, 0.01f);
        var rng = new Rng(9);
        for (int step = 0; step < 20; step++)
        {
            Tensor<int> input = Tokens(((IModel)host).InputWidth, rng), targets = Targets(host, rng);
            float expected = host.Backward(input, targets), actual = device.Backward(input, targets);
            Tolerance.AssertClose([expected], [actual], $"loss at step {step}");
            Tolerance.AssertClose([host.Parameters.ClipGradNorm(0.5f)], [device.Parameters.ClipGradNorm(0.5f)], $"gradient norm at step {step}");
            hostAdam.Step();
            deviceAdam.Step();
            hostAdam.ZeroGrad();
            deviceAdam.ZeroGrad();
        }
        for (int i = 0; i < host.Parameters.Count; i++)
            Tolerance.AssertClose(host.Parameters[i].AsSpan(), device.Parameters[i].AsSpan(), $"after 20 steps: {host.Parameters[i].Name}", rtol: 1e-3f);
    }

    [Fact]
    public void ALearnedPositionTablesGradientAccumulatesOnTheDeviceAsOnTheHost()
    {
        // three passes without zeroing: two from a fresh state (rows 0-3 add both), then one from position 4 (rows 4-7)
        var host = new GcPositionEmbeddingGru(seed: 8);
        var device = new GcPositionEmbeddingGru(seed: 8);
        device.To(fixture.Cpu);
        var rng = new Rng(12);
        Tensor<float> x = Tensor.Create(Enumerable.Range(0, 2 * 4 * 3).Select(_ => rng.NextNormal()).ToArray(), [2, 4, 3]);
        Tensor<float> y = Tensor.Create(Enumerable.Range(0, 2 * 4 * 2).Select(_ => rng.NextNormal()).ToArray(), [2, 4, 2]);
        IModelState hs = ((IModel<float>)host).CreateState(2), ds = ((IModel<float>)device).CreateState(2);
        for (int pass = 0; pass < 3; pass++)
        {
            if (pass == 1)
            {
                hs.Reset();
                ds.Reset();
            }
            Tolerance.AssertClose([((IModel<float>)host).Backward(x, y, hs)], [((IModel<float>)device).Backward(x, y, ds)], $"loss, pass {pass}");
        }
        for (int i = 0; i < host.Parameters.Count; i++)
            Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"accumulated grad.{host.Parameters[i].Name}");
        float[] table = device.Parameters["positionembedding.weight"].GradAsSpan().ToArray();
        Assert.Contains(table[..12], g => g != 0f);
        Assert.Contains(table[12..24], g => g != 0f);
        Assert.All(table[24..], g => Assert.Equal(0f, g));
    }

    [Fact]
    public void AStreamTrainsAndEvaluatesOnTheDeviceAsOnTheHost()
    {
        // the Trainer carries the device model's state from batch to batch, as the host's
        var rng = new Rng(4);
        int[] ids = Enumerable.Range(0, 131).Select(_ => rng.NextInt(11)).ToArray(), valid = Enumerable.Range(0, 40).Select(_ => rng.NextInt(11)).ToArray();
        var host = new StreamLstm(seed: 6);
        var device = new StreamLstm(seed: 6);
        device.To(fixture.Cpu);
        List<TrainingProgress> hostReports = [], deviceReports = [];
        new Trainer(host, new Adam(host.Parameters, 0.01f), clipNorm: 0.5f).Fit(new StreamBatcher(ids, 3, 6), new StreamBatcher(valid, 2, 6), epochs: 2, progress: new Collect(hostReports));
        new Trainer(device, new Adam(device.Parameters, 0.01f), clipNorm: 0.5f).Fit(new StreamBatcher(ids, 3, 6), new StreamBatcher(valid, 2, 6), epochs: 2, progress: new Collect(deviceReports));
        Tolerance.AssertClose(hostReports.Select(r => r.Loss).ToArray(), deviceReports.Select(r => r.Loss).ToArray(), "training losses");
        Tolerance.AssertClose(hostReports.Where(r => r.EndOfEpoch).Select(r => r.ValidationLoss!.Value).ToArray(),
            deviceReports.Where(r => r.EndOfEpoch).Select(r => r.ValidationLoss!.Value).ToArray(), "validation losses");
        for (int i = 0; i < host.Parameters.Count; i++)
            Tolerance.AssertClose(host.Parameters[i].AsSpan(), device.Parameters[i].AsSpan(), $"after two epochs: {host.Parameters[i].Name}", rtol: 1e-3f);
    }

    private sealed class Collect(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("amsgrad")]
    [InlineData("adagrad")]
    [InlineData("sgd")]
    public void AnOptimisersStateFollowsTheModelOffTheDeviceAndBack(string kind)
    {
        // three steps on the device, two on the host, one on the device again: the host's run throughout, as if never moved
        var host = new GcGru(seed: 1);
        var moved = new GcGru(seed: 1);
        Optimizer Make(ParameterSet p) => kind switch
        {
            "adam" => new Adam(p, 0.01f),
            "amsgrad" => new AdamW(p, 0.01f, beta2: 0.9f, amsgrad: true),
            "adagrad" => new Adagrad(p, 0.05f, learningRateDecay: 0.1f, weightDecay: 0.01f, initialAccumulatorValue: 0.1f),
            _ => new Sgd(p, 0.1f, momentum: 0.9f),
        };
        Optimizer h = Make(host.Parameters), d = Make(moved.Parameters);
        var rng = new Rng(4);
        void Step(int index)
        {
            Tensor<int> input = Tokens(((IModel)host).InputWidth, rng), targets = Targets(host, rng);
            host.Backward(input, targets);
            moved.Backward(input, targets);
            h.Step();
            d.Step();
            h.ZeroGrad();
            d.ZeroGrad();
            for (int i = 0; i < host.Parameters.Count; i++)
                Tolerance.AssertClose(host.Parameters[i].AsSpan(), moved.Parameters[i].AsSpan(), $"{kind} step {index}: {host.Parameters[i].Name}", rtol: 1e-3f);
        }
        moved.To(fixture.Cpu);
        for (int s = 0; s < 3; s++) Step(s);
        moved.ToHost();
        for (int s = 3; s < 5; s++) Step(s);
        moved.To(fixture.Cpu);
        Step(5);
        moved.ToHost();
    }

    /// <summary>An optimiser derived from Adam with its own update (here: plain gradient descent).</summary>
    private sealed class PlainDescent(IEnumerable<Parameter> parameters) : Adam(parameters, 0.1f)
    {
        protected override void Update(int index, Span<float> value, ReadOnlySpan<float> grad)
        {
            for (int i = 0; i < value.Length; i++) value[i] -= LearningRate * grad[i];
        }
    }

    [Fact]
    public void ASubclassOfAdamUpdatesWithItsOwnRuleOnTheDevice()
    {
        // the device had matched `case Adam` and run Adam's update, never the subclass's
        var host = new GcGru(seed: 1);
        var moved = new GcGru(seed: 1);
        moved.To(fixture.Cpu);
        Optimizer h = new PlainDescent(host.Parameters), d = new PlainDescent(moved.Parameters);
        Tensor<int> input = Tokens(((IModel)host).InputWidth), targets = Targets(host);
        float[] before = host.Parameters[0].AsSpan().ToArray(), grad;
        host.Backward(input, targets);
        moved.Backward(input, targets);
        grad = host.Parameters[0].GradAsSpan().ToArray();
        h.Step();
        d.Step();
        Assert.Equal(before.Select((v, i) => v - 0.1f * grad[i]), host.Parameters[0].AsSpan().ToArray());
        for (int i = 0; i < host.Parameters.Count; i++)
            Tolerance.AssertClose(host.Parameters[i].AsSpan(), moved.Parameters[i].AsSpan(), $"step: {host.Parameters[i].Name}");
        moved.ToHost();
    }

    [Fact]
    public void DisposingADeviceBringsItsModelsHomeWithTheirWeights()
    {
        var model = new GcGru(seed: 1);
        var reference = new GcGru(seed: 1);
        var rng = new Rng(4);
        Tensor<int> input = Tokens(((IModel)model).InputWidth, rng), targets = Targets(model, rng);
        using (var device = Device.Open(DeviceKind.Cpu))
        {
            model.To(device);
            var adam = new Adam(model.Parameters, 0.01f);
            model.Backward(input, targets);
            adam.Step();
            var referenceAdam = new Adam(reference.Parameters, 0.01f);
            reference.Backward(input, targets);
            referenceAdam.Step();
        }
        Assert.Null(model.Device); // back on the host, which computes from now on
        for (int i = 0; i < model.Parameters.Count; i++)
            Tolerance.AssertClose(reference.Parameters[i].AsSpan(), model.Parameters[i].AsSpan(), $"after the device was disposed: {model.Parameters[i].Name}", rtol: 1e-3f);
        Tolerance.AssertClose([reference.Loss(input, targets)], [model.Loss(input, targets)], "a host pass after the device was disposed");
    }

    [Fact]
    public void AMoveThatFailsLeavesTheModelOnTheHostWithItsWeights()
    {
        // the run on the first device was let go before the second was made: when that failed the model still pointed at the
        // run whose memory was released, and every later pass threw ObjectDisposedException
        var model = new GcGru(seed: 1);
        var reference = new GcGru(seed: 1);
        var rng = new Rng(4);
        Tensor<int> input = Tokens(((IModel)model).InputWidth, rng), targets = Targets(model, rng);
        var gone = Device.Open(DeviceKind.Cpu);
        gone.Dispose();
        using (var first = Device.Open(DeviceKind.Cpu))
        {
            model.To(first);
            model.Backward(input, targets);
            reference.Backward(input, targets);
            Assert.ThrowsAny<Exception>(() => model.To(gone));
            Assert.Null(model.Device); // on the host, every parameter with it
            Assert.All(model.Parameters, p => Assert.Null(p.Mirror));
        }
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            Tolerance.AssertClose(reference.Parameters[i].AsSpan(), model.Parameters[i].AsSpan(), $"values: {model.Parameters[i].Name}");
            Tolerance.AssertClose(reference.Parameters[i].GradAsSpan(), model.Parameters[i].GradAsSpan(), $"gradients: {model.Parameters[i].Name}");
        }
        Tolerance.AssertClose([reference.Loss(input, targets)], [model.Loss(input, targets)], "a host pass after the failed move");
    }

    [Fact]
    public void ModelsSharingADeviceTrainFromTwoThreadsAsOneAtATime()
    {
        // their passes take turns on the device (its staging buffers are one pass's at a time): each thread's run is the host's
        const int steps = 6;
        var rng = new Rng(4);
        var batches = Enumerable.Range(0, steps).Select(_ => (Tokens(((IModel)new GcGru(seed: 1)).InputWidth, rng), Targets(new GcGru(seed: 1), rng))).ToArray();
        float[] Train(GcGru model)
        {
            var adam = new Adam(model.Parameters, 0.01f);
            var losses = new float[steps];
            for (int s = 0; s < steps; s++)
            {
                losses[s] = model.Backward(batches[s].Item1, batches[s].Item2);
                model.Parameters.ClipGradNorm(1f);
                adam.Step();
                adam.ZeroGrad();
            }
            return losses;
        }
        float[] expected = Train(new GcGru(seed: 1));
        var a = new GcGru(seed: 1);
        var b = new GcGru(seed: 1);
        a.To(fixture.Cpu);
        b.To(fixture.Cpu);
        float[] la = [], lb = [];
        Parallel.Invoke(() => la = Train(a), () => lb = Train(b));
        Tolerance.AssertClose(expected, la, "first thread's losses", rtol: 1e-3f);
        Tolerance.AssertClose(expected, lb, "second thread's losses", rtol: 1e-3f);
        // (ILGPU's CPU accelerator finishes each kernel as it is launched, so the losses above agree even without the turns:
        // that the turns are taken shows here) a pass waits while another thread holds the device
        Task<float> waiting;
        using (fixture.Cpu.Pass())
        {
            waiting = Task.Run(() => b.Loss(batches[0].Item1, batches[0].Item2));
            Assert.False(waiting.Wait(300), "a pass ran while another thread held the device");
        }
        Assert.True(waiting.Wait(TimeSpan.FromMinutes(1)), "the pass went on once the device was free");
        a.ToHost();
        b.ToHost();
    }

    [Fact]
    public void TheDeviceKeepsTheWorkspacesTheHostKeeps()
    {
        // training at one shape, evaluating at another, stepping: the host keeps its pass's and its step's workspaces, and the
        // device the memory of those two only (it kept the last four, dead ones included), with the host's results throughout
        var host = new GcGru(seed: 1);
        var device = new GcGru(seed: 1);
        device.To(fixture.Cpu);
        var rng = new Rng(6);
        int vocabulary = ((IModel)host).InputWidth;
        Tensor<int> Batch(int batch) => Tensor.Create(Enumerable.Range(0, batch * T).Select(_ => (int)(rng.NextFloat() * vocabulary) % vocabulary).ToArray(), [batch, T]);
        for (int round = 0; round < 3; round++)
        {
            Tensor<int> train = Batch(3), eval = Batch(5 + round), next = Batch(2);
            Tolerance.AssertClose([host.Backward(train, train)], [device.Backward(train, train)], $"round {round}: training loss");
            Tolerance.AssertClose([host.Loss(eval, eval)], [device.Loss(eval, eval)], $"round {round}: evaluation loss");
            var hostState = host.CreateState(2);
            var deviceState = device.CreateState(2);
            Tensor<int> step = Tensor.Create(new[] { 1, 2 }, [2]);
            Agreement.AssertClose(Dsl.Tests.Parity.ParityModel.Flatten(host.Step(step, hostState)), Dsl.Tests.Parity.ParityModel.Flatten(device.Step(step, deviceState)), $"round {round}: step");
            host.Parameters.ZeroGrad();
            device.Parameters.ZeroGrad();
        }
        object run = typeof(GcGru).GetField("_deviceRun", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(device)!;
        var workspaces = (System.Collections.ICollection)run.GetType().GetField("_workspaces", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(run)!;
        Assert.Equal(2, workspaces.Count);
        device.ToHost();
    }

    /// <summary>ReLU keeps a NaN (torch.relu(nan) is nan), on the device as on the host: a NaN input stays visible in the output.</summary>
    [Theory]
    [InlineData(nameof(GcRnnReluStackedBidirectional))]
    [InlineData(nameof(GcReluWithInputDropout))]
    public void AReluKeepsANaNOnTheDeviceAsOnTheHost(string name)
    {
        IModel host = Create(name), device = Create(name);
        ((IDeviceModel)device).To(fixture.Cpu);
        float[] values = Flat(Features(host.InputWidth));
        values[host.InputWidth] = float.NaN; // the first sequence's second step
        Tensor<float> input = Tensor.Create(values, [B, T, host.InputWidth]);
        bool[] onHost = [.. Flat(((IModel<float>)host).Forward(input)).Select(float.IsNaN)];
        bool[] onDevice = [.. Flat(((IModel<float>)device).Forward(input)).Select(float.IsNaN)];
        Assert.Contains(true, onHost);
        Assert.Equal(onHost, onDevice);
        ((IDeviceModel)device).ToHost();
    }

    /// <summary>A row of finite values whose float sum overflows (5 × 1e38) is normalised to β on the device as on the host.</summary>
    [Fact]
    public void LayerNormOfARowWhoseSumOverflowsIsTheHostsOnTheDevice()
    {
        IModel<float> host = new InputLayerNorm(seed: 1), device = new InputLayerNorm(seed: 1);
        ((IDeviceModel)device).To(fixture.Cpu);
        float[] values = Flat(Features(5));
        for (int j = 0; j < 5; j++) values[5 + j] = 1e38f;
        Tensor<float> input = Tensor.Create(values, [B, T, 5]);
        float[] onHost = Flat(host.Forward(input)), onDevice = Flat(device.Forward(input));
        Assert.All(onHost, v => Assert.True(float.IsFinite(v), $"{v}"));
        Assert.Equal(new float[5], onHost[5..10]);
        Tolerance.AssertClose(onHost, onDevice, "layer norm");
        ((IDeviceModel)device).ToHost();
    }

    /// <summary>
    /// Norms and the squared error are summed in double on the device as on the host: a gradient of 1e20 (its square
    /// overflows a float) has the host's norm, and clipping scales it rather than zeroing every other gradient; a target
    /// 2e19 away has the host's finite loss.
    /// </summary>
    [Fact]
    public void LargeGradientsAndErrorsHaveTheHostsNormsAndLossOnTheDevice()
    {
        var host = new GcGru(seed: 1);
        var model = new GcGru(seed: 1);
        model.To(fixture.Cpu);
        Tensor<int> input = Tokens(((IModel)model).InputWidth), targets = Targets(model);
        AssertLossAndGradients(host.Backward(input, targets), model.Backward(input, targets), host, model, "before");
        foreach (float p in new[] { 2f, 3f })
        {
            host.Backward(input, targets);
            model.Backward(input, targets);
            host.Parameters[0].GradAsSpan()[1] = 1e20f;
            model.Parameters[0].GradAsSpan()[1] = 1e20f;
            float hostNorm = host.Parameters.GradNorm(p), deviceNorm = model.Parameters.GradNorm(p);
            Assert.True(float.IsFinite(deviceNorm), $"p = {p}: {deviceNorm}");
            Assert.Equal(hostNorm, deviceNorm, hostNorm * 1e-5f);
            host.Parameters.ClipGradNorm(1f, p);
            model.Parameters.ClipGradNorm(1f, p);
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), model.Parameters[i].GradAsSpan(), $"p = {p}: clipped grad.{host.Parameters[i].Name}");
            Assert.Contains(model.Parameters[1].GradAsSpan().ToArray(), g => g != 0f);
            host.Parameters.ZeroGrad();
            model.Parameters.ZeroGrad();
        }
        float[] far = Flat(Values(host));
        far[3] = 2e19f;
        Tensor<float> values = Tensor.Create(far, [B, T, ((IModel)host).OutputWidth]);
        float hostLoss = ((IModel<int>)host).Loss(input, values), deviceLoss = ((IModel<int>)model).Loss(input, values);
        Assert.True(float.IsFinite(hostLoss), $"{hostLoss}");
        Assert.Equal(hostLoss, deviceLoss, hostLoss * 1e-5f);
        model.ToHost();
    }

    [Fact]
    public void ClippingKeepsANaNGradientNaNOnTheDevice()
    {
        var model = new GcGru(seed: 1);
        model.To(fixture.Cpu);
        Tensor<int> input = Tokens(((IModel)model).InputWidth), targets = Targets(model);
        model.Backward(input, targets);
        Parameter first = model.Parameters[0];
        first.GradAsSpan()[1] = float.NaN;
        model.Parameters.ClipGradValue(1e-3f);
        Assert.True(float.IsNaN(first.GradAsSpan()[1]), "ClipGradValue keeps a NaN");
        Assert.All(first.GradAsSpan()[2..].ToArray(), g => Assert.InRange(g, -1e-3f, 1e-3f));
        Assert.True(float.IsNaN(model.Parameters.ClipGradNorm(1f, float.PositiveInfinity)), "the ∞-norm of a NaN gradient");
        model.ToHost();
    }

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.Silu)]
    public void ActivationsFromTheirInputAgreeWithTheHostAtEveryMagnitude(Activation kind)
    {
        // moderate values, the limits' edges (13, 88) and far past them, infinities and NaN: the device's kernel takes each
        // limit where the host's does
        float[] x = [0f, -0f, 0.3f, -0.75f, 2f, -4f, 12.9f, -12.9f, 13.1f, -13.1f, 87f, -87f, 89f, -89f, 1e20f, -1e20f, 1e38f, -1e38f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN];
        float[] dy = x.Select((_, i) => 1f + 0.1f * i).ToArray();
        float[] y = new float[x.Length], dx = (float[])dy.Clone();
        Dsl.Kernels.Activations.Apply(kind, x, y);
        Dsl.Kernels.Activations.BackwardFromInput(kind, x, dx);
        using var input = new Dsl.Gpu.DeviceMemory(fixture.Cpu, x.Length);
        using var output = new Dsl.Gpu.DeviceMemory(fixture.Cpu, x.Length);
        using var gradient = new Dsl.Gpu.DeviceMemory(fixture.Cpu, x.Length);
        input.Span.CopyFrom(x);
        gradient.Span.CopyFrom(dy);
        Dsl.Gpu.Kernels.Activations.Apply(kind, input.Span, output.Span);
        Dsl.Gpu.Kernels.Activations.BackwardFromInput(kind, input.Span, gradient.Span);
        float[] deviceY = output.Span.ToArray(), deviceDx = gradient.Span.ToArray();
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(Same(y[i], deviceY[i], 1e-30f), $"{kind}({x[i]}): host {y[i]}, device {deviceY[i]}");
            // (the slope's terms cancel near x = −0.75: relative to their size there, about 1)
            Assert.True(Same(dx[i], deviceDx[i], 1f), $"{kind}'({x[i]}) · {dy[i]}: host {dx[i]}, device {deviceDx[i]}");
        }

        static bool Same(float a, float b, float floor) => float.IsNaN(a) ? float.IsNaN(b) : a == b || Math.Abs(a - b) <= 1e-5f * Math.Max(Math.Abs(a), floor);
    }

    [Fact]
    public void ScalingGradientsOnTheDeviceScalesThemAsOnTheHost()
    {
        var host = new GcTiedGru(seed: 1);
        var model = new GcTiedGru(seed: 1);
        model.To(fixture.Cpu);
        Tensor<int> input = Tokens(((IModel)model).InputWidth), targets = Targets(model);
        host.Backward(input, targets);
        model.Backward(input, targets);
        host.Parameters.ScaleGrad(0.3f);
        model.Parameters.ScaleGrad(0.3f);
        for (int i = 0; i < host.Parameters.Count; i++)
            Tolerance.AssertClose(host.Parameters[i].GradAsSpan(), model.Parameters[i].GradAsSpan(), $"0.3 × grad.{host.Parameters[i].Name}");
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Parameters.ScaleGrad(float.NaN));
        model.ToHost();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("nesterov")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    [InlineData("rmsprop-centered")]
    [InlineData("adamw-groups")]
    [InlineData("sgd-groups")]
    [InlineData("adagrad-groups")]
    [InlineData("adam-maximize")]
    [InlineData("rmsprop-maximize")]
    public void OptimisersUpdateOnTheDeviceAsOnTheHost(string kind)
    {
        var host = new GcGru(seed: 1);
        var device = new GcGru(seed: 1);
        device.To(fixture.Cpu);
        Optimizer Make(ParameterSet p) => kind switch
        {
            "sgd" => new Sgd(p, 0.1f, momentum: 0.9f, dampening: 0.1f, weightDecay: 0.01f),
            "nesterov" => new Sgd(p, 0.1f, momentum: 0.9f, nesterov: true),
            "adamw" => new AdamW(p, 0.01f),
            "rmsprop" => new RmsProp(p, 0.01f, momentum: 0.5f, weightDecay: 0.01f),
            // each parameter with its group's rate and decay: no decay on the vectors, a rate and a decay of its own on the first matrix
            "adamw-groups" => new AdamW(new ParameterGroups(new ParameterGroup(p.Where(x => x.Shape.Length > 1)), new ParameterGroup([], learningRate: 1f),
                new ParameterGroup(p.Where(x => x.Shape.Length == 1), learningRate: 0.03f, weightDecay: 0f)), 0.01f, weightDecay: 0.5f),
            "sgd-groups" => new Sgd(new ParameterGroups(new ParameterGroup(p.Take(1), learningRate: 0.4f, weightDecay: 2f), new ParameterGroup(p.Skip(1))), 0.1f, weightDecay: 0.05f),
            "adam-maximize" => new Adam(p, 0.01f, weightDecay: 0.1f, maximize: true),
            "rmsprop-maximize" => new RmsProp(p, 0.01f, momentum: 0.5f, maximize: true),
            "adagrad-groups" => new Adagrad(new ParameterGroups(new ParameterGroup(p.Skip(2)), new ParameterGroup(p.Take(2), learningRate: 0.3f)), 0.05f, learningRateDecay: 0.1f),
            _ => new RmsProp(p, 0.01f, centered: true),
        };
        Optimizer h = Make(host.Parameters), d = Make(device.Parameters);
        var rng = new Rng(4);
        for (int step = 0; step < 3; step++)
        {
            Tensor<int> input = Tokens(((IModel)host).InputWidth, rng), targets = Targets(host, rng);
            host.Backward(input, targets);
            device.Backward(input, targets);
            h.Step();
            d.Step();
            h.ZeroGrad();
            d.ZeroGrad();
        }
        for (int i = 0; i < host.Parameters.Count; i++)
            Tolerance.AssertClose(host.Parameters[i].AsSpan(), device.Parameters[i].AsSpan(), $"{kind}: {host.Parameters[i].Name}");
    }

    [Fact]
    public void TheHostSeesTheDevicesValuesAndTheDeviceTheHosts()
    {
        var model = new GcEmbeddingDense(seed: 2);
        model.To(fixture.Cpu);
        var input = Tokens(((IModel)model).InputWidth);
        float before = model.Loss(input, Targets(model));
        // a write on the host reaches the device before its next pass (one class's bias: a uniform shift would not change the loss)
        model.Parameters["dense.bias"].AsSpan()[0] = 3f;
        var reference = new GcEmbeddingDense(seed: 2);
        reference.Parameters["dense.bias"].AsSpan()[0] = 3f;
        Tolerance.AssertClose([reference.Loss(input, Targets(model))], [model.Loss(input, Targets(model))], "loss after a host write");
        Assert.NotEqual(before, model.Loss(input, Targets(model)));
        // an update on the device reaches the host when it reads
        var sgd = new Sgd(model.Parameters, 1f);
        model.Backward(input, Targets(model));
        float[] grad = model.Parameters["dense.bias"].GradAsSpan().ToArray();
        sgd.Step();
        float[] expected = reference.Parameters["dense.bias"].AsSpan().ToArray();
        for (int i = 0; i < grad.Length; i++) Assert.Equal(expected[i] - grad[i], model.Parameters["dense.bias"].AsSpan()[i], 5);
        // back on the host, the model computes there with the device's values
        float onDevice = model.Loss(input, Targets(model));
        model.ToHost();
        Assert.Null(model.Device);
        Assert.Equal(3f - grad[0], model.Parameters["dense.bias"].Value[0], 5);
        Tolerance.AssertClose([onDevice], [model.Loss(input, Targets(model))], "the loss back on the host");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttentionsStepBackOnTheDeviceReadsOnlyTheValidQueriesAndKeys(bool causal)
    {
        // as on the host: NaN in a padded step's rows of qkv, its weights and d(context) reaches no gradient, and the padded
        // steps' rows of d(qkv) are zero; every other value agrees with the host's
        const int T = 5, B = 2, E = 8, heads = 2;
        int[] lengths = [5, 3];
        var rng = new Rng(13);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        float[] qkv = Random(T * B * 3 * E), dContext = Random(T * B * E), weights = new float[B * heads * T * T], context = new float[T * B * E];
        for (int t = lengths[1]; t < T; t++) dContext.AsSpan((t * B + 1) * E, E).Clear();
        Dsl.Kernels.AttentionKernel.Forward(T, B, E, heads, 0.5f, causal, lengths, qkv, weights, default, context, default);
        float[] expected = new float[T * B * 3 * E];
        Dsl.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, causal, lengths, qkv, weights, default, dContext, expected, default);
        Dsl.Tests.Runtime.PaddedAttentionRows.Fill(qkv, dContext, weights, T, B, E, heads, sequence: 1, from: lengths[1], float.NaN);
        int nq = qkv.Length, nw = weights.Length, nc = dContext.Length;
        using var memory = new DeviceMemory(fixture.Cpu, 2 * nq + nw + nc);
        DeviceSpan dq = memory.Span.Slice(0, nq), dw = memory.Span.Slice(nq, nw), dc = memory.Span.Slice(nq + nw, nc), dQkv = memory.Span.Slice(nq + nw + nc, nq);
        dq.CopyFrom(qkv);
        dw.CopyFrom(weights);
        dc.CopyFrom(dContext);
        dQkv.Fill(7f);
        Dsl.Gpu.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, causal, lengths, dq, dw, default, dc, dQkv, default);
        var actual = new float[nq];
        dQkv.CopyTo(actual);
        Agreement.AssertClose(expected, actual, "d(qkv)");
        for (int t = lengths[1]; t < T; t++) Assert.All(actual.AsSpan((t * B + 1) * 3 * E, 3 * E).ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void CrossAttentionOverNoSourceStepsWritesZerosOnTheDevice()
    {
        // as on the host: an empty set of keys gives each query a weighted sum of 0 (the device kernel reads at least one
        // key, past the end of an empty buffer, so it is not launched)
        const int T = 2, B = 2, E = 4, heads = 2, n = T * B * E;
        using var memory = new DeviceMemory(fixture.Cpu, 2 * n);
        DeviceSpan q = memory.Span.Slice(0, n), outputs = memory.Span.Slice(n, n);
        q.CopyFrom(Enumerable.Range(0, n).Select(i => i * 0.1f).ToArray());
        var onHost = new float[n];
        outputs.Fill(7f);
        Dsl.Gpu.Kernels.AttentionKernel.CrossForward(T, 0, B, E, heads, 0.5f, default, q, default, default, default, default, outputs);
        outputs.CopyTo(onHost);
        Assert.All(onHost, x => Assert.Equal(0f, x));
        outputs.Fill(7f);
        Dsl.Gpu.Kernels.AttentionKernel.CrossBackward(T, 0, B, E, heads, 0.5f, default, q, default, default, default, default, q, outputs, default, default);
        outputs.CopyTo(onHost);
        Assert.All(onHost, x => Assert.Equal(0f, x));
    }

    /// <summary>
    /// The device's attention kernels refuse what the host's refuse, with the host's messages: a length outside 1 … keys (the
    /// device had attended to a padded key 0, then zeroed its gradient) and a width the heads do not divide (the last
    /// column had been left unwritten).
    /// </summary>
    [Fact]
    public void AttentionOnTheDeviceRefusesLengthsAndHeadsAsTheHostDoes()
    {
        const int T = 2, S = 3, B = 2, E = 4, n = 64;
        using var memory = new DeviceMemory(fixture.Cpu, n);
        DeviceSpan all = memory.Span.Slice(0, n);
        int[] zero = [0, 3], past = [3, 4];
        var e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.CrossAttentionKernel.DotForward(T, S, B, E, E, 0.5f, zero, all, all, all, all, all));
        Assert.Equal(Assert.Throws<ArgumentException>(() => Dsl.Kernels.CrossAttentionKernel.DotForward(T, S, B, E, E, 0.5f, zero, new float[n], new float[n], new float[n], new float[n], new float[n])).Message, e.Message);
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.CrossAttentionKernel.DotBackward(T, S, B, E, E, 0.5f, past, all, all, all, all, all, all, all, all, default));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.CrossAttentionKernel.AdditiveForward(T, S, B, E, E, zero, all, all, all, all, all, all, all));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.CrossAttentionKernel.AdditiveBackward(T, S, B, E, E, past, all, all, all, all, all, all, all, all, all, default));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.CrossForward(T, S, B, E, 2, 0.5f, zero, all, all, all, all, default, all));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.CrossBackward(T, S, B, E, 2, 0.5f, past, all, all, all, all, default, all, all, all, all));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Forward(T, B, E, 2, 0.5f, false, zero, all, all, default, all, default));
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.PoolForward(T, B, E, 2, 0.5f, past, all, all, all, default, all, default));
        var heads = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Forward(T, B, 10, 3, 0.5f, false, all, all, default, all, default));
        Assert.Contains("width 10 must be a positive multiple of heads 3", heads.Message);
        Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Backward(T, B, 10, 3, 0.5f, false, all, all, default, all, all, default));
    }

    /// <summary>
    /// Every buffer the device's attention kernels read is checked as the host's are, with the host's messages, the lengths
    /// counted in longs: a short dropout mask or weights (read by the kernels without bounds) and, at 8192 steps and 32 heads,
    /// weights of B · heads · T · T = 2³¹ values (an int's product had wrapped to a negative count that any buffer passed).
    /// </summary>
    [Fact]
    public void AttentionOnTheDeviceRefusesShortBuffersAsTheHostDoes()
    {
        const int T = 4, B = 2, E = 8, heads = 2, n = T * B * 3 * E;
        using var memory = new DeviceMemory(fixture.Cpu, n);
        DeviceSpan all = memory.Span.Slice(0, n), three = memory.Span.Slice(0, 3);
        float[] host = new float[n], short3 = new float[3];
        string Host(Action call) => Assert.Throws<ArgumentException>(call).Message;
        var e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, false, all, all, three, all, all, default));
        Assert.Equal(Host(() => Dsl.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, false, host, host, short3, host, host, host)), e.Message);
        Assert.StartsWith("mask: expected at least 64 values, got 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Backward(T, B, E, heads, 0.5f, false, all, three, default, all, all, default));
        Assert.StartsWith("weights: expected at least 64 values, got 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.PoolBackward(T, B, E, heads, 0.5f, default, all, all, all, default, three, all, all, default));
        Assert.Equal(Host(() => Dsl.Kernels.AttentionKernel.PoolBackward(T, B, E, heads, 0.5f, default, host, host, host, short3, host, host, host)), e.Message);
        e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.CrossBackward(T, T, B, E, heads, 0.5f, default, all, all, all, three, default, all, all, all, all));
        Assert.StartsWith("weights: expected at least 64 values, got 3", e.Message);
        // a rotary table too short for its steps, refused as the host refuses it (the device had computed the angles instead)
        e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.RotaryKernel.Apply(T, B, E, heads, 0, 10000f, three, all, inverse: false));
        Assert.Equal(Host(() => Dsl.Kernels.RotaryKernel.Apply(T, B, E, heads, 0, 10000f, short3, host, inverse: false)), e.Message);
        // 8192 steps, 32 heads: the weights' count passes an int's range
        const int longT = 8192, wide = 64;
        using var large = new DeviceMemory(fixture.Cpu, longT * 3 * wide);
        DeviceSpan qkv = large.Span;
        e = Assert.Throws<ArgumentException>(() => Dsl.Gpu.Kernels.AttentionKernel.Forward(longT, 1, wide, 32, 0.125f, true, qkv, qkv, default, qkv, default));
        Assert.StartsWith($"weights: expected at least {1L << 31} values, got {longT * 3 * wide}", e.Message);
    }

    [Fact]
    public void TheClassLossOnTheDeviceIsTheHostsWithItsGradientLeftOnTheDevice()
    {
        const int rows = 7, classes = 5;
        var rng = new Rng(21);
        float[] logits = Enumerable.Range(0, rows * classes).Select(_ => rng.NextNormal() * 3).ToArray();
        int[] targets = [4, -1, 0, 2, -100, 3, 1];
        var expectedGradient = new float[rows * classes];
        float expected = Losses.SoftmaxCrossEntropy(logits, targets, classes, expectedGradient);
        using var memory = new DeviceMemory(fixture.Cpu, 2 * rows * classes);
        DeviceSpan z = memory.Span.Slice(0, rows * classes), gradient = memory.Span.Slice(rows * classes, rows * classes);
        z.CopyFrom(logits);
        gradient.CopyFrom(Enumerable.Repeat(9f, rows * classes).ToArray());   // ignored rows' gradient must become 0
        float actual = DeviceLosses.SoftmaxCrossEntropy(z, targets, classes, gradient);
        Tolerance.AssertClose([expected], [actual], "loss");
        var onHost = new float[rows * classes];
        gradient.CopyTo(onHost);
        Tolerance.AssertClose(expectedGradient, onHost, "gradient");
        Assert.All(onHost.AsSpan(1 * classes, classes).ToArray(), g => Assert.Equal(0f, g));
        Tolerance.AssertClose([expected], [DeviceLosses.SoftmaxCrossEntropy(z, targets, classes, default)], "loss without a gradient");
        Assert.True(float.IsNaN(DeviceLosses.SoftmaxCrossEntropy(z, [-1, -1, -1, -1, -1, -1, -1], classes, gradient)), "every target ignored: NaN, as PyTorch");
        var e = Assert.Throws<ArgumentException>(() => DeviceLosses.SoftmaxCrossEntropy(z, [0, 1, 5, 0, 0, 0, 0], classes, gradient));
        Assert.Equal(Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(logits, [0, 1, 5, 0, 0, 0, 0], classes, default)).Message, e.Message);
        Assert.Contains("class id 5 at position 2", e.Message);
    }

    [Fact]
    public void TheSmoothedClassLossOnTheDeviceMatchesPyTorch()
    {
        var expected = SafeTensors.Read(Fixture.Path("label_smoothing.safetensors"));
        float[] logits = expected["logits"].ToFloat(), smoothing = expected["smoothing"].ToFloat();
        int[] targets = expected["targets"].ToInt32();
        int n = logits.Length, classes = n / targets.Length;
        using var memory = new DeviceMemory(fixture.Cpu, 2 * n);
        DeviceSpan z = memory.Span.Slice(0, n), gradient = memory.Span.Slice(n, n);
        z.CopyFrom(logits);
        var onHost = new float[n];
        for (int i = 0; i < smoothing.Length; i++)
        {
            float loss = DeviceLosses.SoftmaxCrossEntropy(z, targets, classes, gradient, labelSmoothing: smoothing[i]);
            Tolerance.AssertClose(expected[$"loss_{i}"].ToFloat(), [loss], $"loss at ε = {smoothing[i]}");
            gradient.CopyTo(onHost);
            Tolerance.AssertClose(expected[$"grad_{i}"].ToFloat(), onHost, $"gradient at ε = {smoothing[i]}");
        }
        Assert.Equal("labelSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => DeviceLosses.SoftmaxCrossEntropy(z, targets, classes, gradient, labelSmoothing: -0.5f)).ParamName);
    }

    /// <summary>A vocabulary of 30 000 with logits around 1 000: the device's smoothed loss, float sums per row, is the host's.</summary>
    [Fact]
    public void TheSmoothedClassLossOverALargeVocabularyIsTheHostsOnTheDevice()
    {
        const int rows = 3, classes = 30_000, n = rows * classes;
        var rng = new Rng(29);
        float[] logits = Enumerable.Range(0, n).Select(_ => 1000f + 2f * rng.NextNormal()).ToArray();
        int[] targets = [17, -100, 29_999];
        var expectedGradient = new float[n];
        float expected = Losses.SoftmaxCrossEntropy(logits, targets, classes, expectedGradient, labelSmoothing: 0.1f);
        using var memory = new DeviceMemory(fixture.Cpu, 2 * n);
        DeviceSpan z = memory.Span.Slice(0, n), gradient = memory.Span.Slice(n, n);
        z.CopyFrom(logits);
        Tolerance.AssertClose([expected], [DeviceLosses.SoftmaxCrossEntropy(z, targets, classes, gradient, labelSmoothing: 0.1f)], "loss");
        var onHost = new float[n];
        gradient.CopyTo(onHost);
        Agreement.AssertClose(expectedGradient, onHost, "gradient");
    }

    /// <summary>A model with label smoothing trains on the device as on the host (the smoothed loss and its gradient start the backward pass there).</summary>
    [Theory]
    [InlineData(nameof(GcGru))]
    [InlineData(nameof(TinyGpt))]
    public void ASmoothedClassLossTrainsOnTheDeviceAsOnTheHost(string name)
    {
        IModel host = Create(name), device = Create(name);
        host.LabelSmoothing = device.LabelSmoothing = 0.25f;
        ((IDeviceModel)device).To(fixture.Cpu);
        var h = (IModel<int>)host;
        var d = (IModel<int>)device;
        Tensor<int> input = Tokens(host.InputWidth), targets = Targets(host);
        Tolerance.AssertClose([h.Loss(input, targets)], [d.Loss(input, targets)], name + " loss");
        AssertLossAndGradients(h.Backward(input, targets), d.Backward(input, targets), host, device, name + " backward");
        AssertLossAndGradients(h.Backward(input, targets, Lengths), d.Backward(input, targets, Lengths), host, device, name + " backward with lengths");
        device.LabelSmoothing = 0f;
        Assert.NotEqual(h.Loss(input, targets), d.Loss(input, targets), 3);
    }

    [Fact]
    public void TheSquaredErrorOnTheDeviceIsTheHostsWithItsGradientLeftOnTheDevice()
    {
        const int batch = 3, steps = 4, width = 5, n = batch * steps * width;
        var rng = new Rng(23);
        float[] prediction = Enumerable.Range(0, n).Select(_ => rng.NextNormal() * 2).ToArray();
        float[] target = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        using var memory = new DeviceMemory(fixture.Cpu, 2 * n);
        DeviceSpan p = memory.Span.Slice(0, n), gradient = memory.Span.Slice(n, n);
        p.CopyFrom(prediction);
        var onHost = new float[n];
        // every element (more than one of the kernel's rows of 64, the last shorter), then the valid steps only
        var expectedGradient = new float[n];
        float expected = Losses.MeanSquaredError(prediction, target, expectedGradient);
        Tolerance.AssertClose([expected], [DeviceLosses.MeanSquaredError(p, target, gradient)], "loss");
        gradient.CopyTo(onHost);
        Tolerance.AssertClose(expectedGradient, onHost, "gradient");
        Tolerance.AssertClose([expected], [DeviceLosses.MeanSquaredError(p, target, default)], "loss without a gradient");
        int[] lengths = [4, 1, 2];
        gradient.CopyFrom(Enumerable.Repeat(9f, n).ToArray());   // padded steps' gradient must become 0
        expected = Losses.MeanSquaredError(prediction, target, expectedGradient, lengths, batch, steps, width);
        Tolerance.AssertClose([expected], [DeviceLosses.MeanSquaredError(p, target, gradient, lengths, batch, steps, width)], "loss over valid steps");
        gradient.CopyTo(onHost);
        Tolerance.AssertClose(expectedGradient, onHost, "gradient over valid steps");
        Assert.Equal(0f, onHost[(1 * batch + 1) * width]); // step 1 of sequence 1 (length 1) is padding
        Assert.True(float.IsNaN(DeviceLosses.MeanSquaredError(p, target, gradient, [0, 0, 0], batch, steps, width)), "no valid step: NaN, as PyTorch's mean of nothing");
        var e = Assert.Throws<ArgumentException>(() => DeviceLosses.MeanSquaredError(p, target.AsSpan(1).ToArray(), gradient));
        Assert.Equal(Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(prediction, target.AsSpan(1).ToArray(), default)).Message, e.Message);
    }

    [Fact]
    public void ABadClassIdFailsOnTheDeviceAsOnTheHostAndAccumulatesNoGradient()
    {
        var model = new GcEmbeddingDense(seed: 3);
        model.To(fixture.Cpu);
        Tensor<int> input = Tokens(((IModel)model).InputWidth);
        int[] ids = Enumerable.Range(0, B * T).Select(i => i % ((IModel)model).OutputWidth).ToArray();
        ids[5] = ((IModel)model).OutputWidth;
        var e = Assert.Throws<ArgumentException>(() => model.Backward(input, Tensor.Create(ids, [B, T])));
        Assert.Contains($"class id {((IModel)model).OutputWidth} at flat position 5 ", e.Message);
        foreach (Parameter p in model.Parameters) Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g));
        // and the next step trains as the host's would
        var host = new GcEmbeddingDense(seed: 3);
        AssertLossAndGradients(((IModel<int>)host).Backward(input, Targets(host)), ((IModel<int>)model).Backward(input, Targets(host)), host, model, "after the refusal");
    }

    [Fact]
    public void AClassLossThatFailsAsNotFiniteLeavesNoGradientForTheNextPassOnTheDevice()
    {
        // the loss writes the output's gradient on the device before the check of the loss throws: the next pass, here with
        // the mean squared error (whose gradient the host writes), must not start from it
        var host = new GcEmbeddingDense(seed: 3);
        var model = new GcEmbeddingDense(seed: 3);
        model.To(fixture.Cpu);
        Tensor<int> input = Tokens(((IModel)model).InputWidth);
        Parameter bias = model.Parameters["dense.bias"];
        float kept = bias.Value[0];
        bias.Value[0] = float.NaN;
        Assert.ThrowsAny<Exception>(() => model.Backward(input, Targets(model)));
        bias.Value[0] = kept;
        model.Parameters.ZeroGrad();
        int width = ((IModel)model).OutputWidth;
        var rng = new Rng(31);
        Tensor<float> values = Tensor.Create(Enumerable.Range(0, B * T * width).Select(_ => rng.NextNormal()).ToArray(), [B, T, width]);
        AssertLossAndGradients(host.Backward(input, values), model.Backward(input, values), host, model, "mean squared error after a failed class loss");
    }

    [Fact]
    public void AnEmbeddingsGradientAddsSharedRowsInTheHostsOrderToTheSameBits()
    {
        // rows sharing an index are added by one thread each, in the order of their positions: the host's sums, bit for bit,
        // whatever the device (no atomics, so a NaN cannot spin a compare-and-swap loop either)
        AssertScatterAsHost([1, 0, 1, 2, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, float.NaN, 14, 15], width: 3, tableRows: 4);
        var rng = new Rng(5);
        float[] Rows(int n) => Enumerable.Range(0, n).Select(_ => rng.NextNormal() * 1e3f).ToArray();
        // many positions per id in scrambled order (a char model's ids: float addition does not commute across orders)
        int[] ids = Enumerable.Range(0, 300).Select(_ => (int)(rng.NextFloat() * 7) % 7).ToArray();
        AssertScatterAsHost(ids, Rows(ids.Length * 5), width: 5, tableRows: 9);
        // one id everywhere (padding), and every id once
        AssertScatterAsHost(Enumerable.Repeat(4, 64).ToArray(), Rows(64 * 2), width: 2, tableRows: 5);
        AssertScatterAsHost(Enumerable.Range(0, 40).Reverse().ToArray(), Rows(40 * 3), width: 3, tableRows: 40);
    }

    [Fact]
    public void AScatterWithAnIndexOutsideTheTableFailsNamingTheRange()
    {
        using var memory = new DeviceMemory(fixture.Cpu, 16);
        DeviceSpan rows = memory.Span.Slice(0, 8), table = memory.Span.Slice(8, 8);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Dsl.Gpu.Kernels.Layout.ScatterAddRows([0, 4, 1, 2], rows, 2, table));
        Assert.Contains("[0, 4)", error.Message);
        Assert.Contains("got 4", error.Message);
        error = Assert.Throws<ArgumentOutOfRangeException>(() => Dsl.Gpu.Kernels.Layout.ScatterAddRows([0, -1], rows, 2, table));
        Assert.Contains("got -1", error.Message);
    }

    /// <summary>The device's gather checks its indices as the host's does: one past the table is named, not read out of bounds.</summary>
    [Fact]
    public void AGatherWithAnIndexOutsideTheTableFailsNamingIt()
    {
        using var memory = new DeviceMemory(fixture.Cpu, 16);
        DeviceSpan table = memory.Span.Slice(0, 8), into = memory.Span.Slice(8, 8);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Dsl.Gpu.Kernels.Layout.GatherRows(table, [0, 4, 1, 2], 2, into));
        Assert.Contains("Index 1 is 4: the table has 4 rows of 2", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dsl.Gpu.Kernels.Layout.GatherRows(table, [0, -1], 2, into));
    }

    private void AssertScatterAsHost(int[] indices, float[] rows, int width, int tableRows)
    {
        var rng = new Rng(9);
        float[] start = Enumerable.Range(0, tableRows * width).Select(_ => rng.NextNormal()).ToArray();
        float[] expected = (float[])start.Clone();
        Dsl.Kernels.Layout.ScatterAddRows(indices, rows, width, expected);
        using var memory = new DeviceMemory(fixture.Cpu, rows.Length + start.Length);
        DeviceSpan onDevice = memory.Span.Slice(0, rows.Length), table = memory.Span.Slice(rows.Length, start.Length);
        onDevice.CopyFrom(rows);
        table.CopyFrom(start);
        Dsl.Gpu.Kernels.Layout.ScatterAddRows(indices, onDevice, width, table);
        var actual = new float[expected.Length];
        table.CopyTo(actual);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
    }

    internal static Tensor<int> Tokens(int vocabulary, Rng? rng = null)
    {
        rng ??= new Rng(11);
        return Tensor.Create(Enumerable.Range(0, B * T).Select(_ => (int)(rng.NextFloat() * vocabulary) % vocabulary).ToArray(), [B, T]);
    }

    internal static Tensor<float> Features(int width)
    {
        var rng = new Rng(12);
        return Tensor.Create(Enumerable.Range(0, B * T * width).Select(_ => rng.NextNormal()).ToArray(), [B, T, width]);
    }

    internal static Tensor<int> Targets(IModel model, Rng? rng = null)
    {
        rng ??= new Rng(13);
        int n = model.ReturnsSequences ? B * T : B;
        int[] ids = Enumerable.Range(0, n).Select(_ => (int)(rng.NextFloat() * model.OutputWidth) % model.OutputWidth).ToArray();
        return model.ReturnsSequences ? Tensor.Create(ids, [B, T]) : Tensor.Create(ids, [B]);
    }

    private static Tensor<float> Values(IModel model)
    {
        var rng = new Rng(17);
        int n = (model.ReturnsSequences ? B * T : B) * model.OutputWidth;
        float[] values = Enumerable.Range(0, n).Select(_ => rng.NextNormal()).ToArray();
        return model.ReturnsSequences ? Tensor.Create(values, [B, T, model.OutputWidth]) : Tensor.Create(values, [B, model.OutputWidth]);
    }
}

/// <summary>An encoder–decoder on the device: both parts and the bridges, agreeing with the host (every attention score, Transformers, input feeding).</summary>
[Collection("Device")]
public class DeviceCompositionTests(DeviceFixture fixture)
{
    [Fact]
    public void APlainEncoderDecoderTrainsAndDecodesAsOnTheHost()
    {
        var host = new PlainSeq2Seq(seed: 4);
        var device = new PlainSeq2Seq(seed: 4);
        device.To(fixture.Cpu);
        Assert.Same(fixture.Cpu, device.Encoder.Device);
        Assert.Same(fixture.Cpu, device.Decoder.Device);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        var hostAdam = new Adam(host.Parameters, 0.05f);
        var deviceAdam = new Adam(device.Parameters, 0.05f);
        for (int step = 0; step < 5; step++)
        {
            float expected = host.Backward(source, lengths, decoderInput, targets), actual = device.Backward(source, lengths, decoderInput, targets);
            Tolerance.AssertClose([expected], [actual], $"loss at step {step}");
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"step {step} grad.{host.Parameters[i].Name}");
            hostAdam.Step();
            deviceAdam.Step();
            hostAdam.ZeroGrad();
            deviceAdam.ZeroGrad();
        }
        var one = Tensor.Create(new[] { 1, 2, 3, 4 }, [1, 4]);
        int[] greedy = host.Greedy(one, startToken: 1, maxLength: 5);
        Assert.Equal(5, greedy.Length);
        Assert.Equal(greedy, device.Greedy(one, startToken: 1, maxLength: 5));
        Assert.Equal(host.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5)[0].Tokens, device.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5)[0].Tokens);
        device.ToHost();
        Assert.Null(device.Encoder.Device);
        Assert.Equal(greedy, device.Greedy(one, startToken: 1, maxLength: 5));
    }

    public static TheoryData<string> Compositions =>
    [
        nameof(Seq2SeqDot), nameof(Seq2SeqScaledDotFreeRunning), nameof(Seq2SeqMultiHead), nameof(Seq2SeqGeneral), nameof(Seq2SeqAdditive),
        nameof(GcS2sGeneral), nameof(GcS2sAdditive), nameof(CkSeq2Seq), nameof(TransformerSeq2Seq), nameof(TransformerSeq2SeqPreNorm),
        // input feeding: the recurrent layer's time loop runs the attention's step
        nameof(Seq2SeqFeedAdditive), nameof(Seq2SeqFeedGeneral), nameof(Seq2SeqFeedDotFreeRunning),
        // one table for both embeddings and the output layer: each side's gradient adds into the one device copy
        nameof(Seq2SeqShared), nameof(GcS2sShared), nameof(TransformerSeq2SeqJoint),
        // cross-attention without its projections' biases; LLaMA's pieces in an encoder–decoder (rotary positions from a state)
        nameof(GcS2sMultiHeadWithoutBias), nameof(GcLlamaSeq2Seq), nameof(GcT5Seq2Seq), nameof(HfTinyT5Seq2Seq),
    ];

    /// <summary>
    /// An encoder–decoder with attention over the encoder's outputs (every score, multi-head, Transformer), on the device:
    /// teacher-forced and scheduled-sampling training steps give the host's losses and gradients, and greedy and beam
    /// decoding its tokens.
    /// </summary>
    [Theory]
    [MemberData(nameof(Compositions))]
    public void AnEncoderDecoderWithAttentionTrainsAndDecodesAsOnTheHost(string name)
    {
        switch (name)
        {
            case nameof(Seq2SeqDot): Agree(new Seq2SeqDot(seed: 4), new Seq2SeqDot(seed: 4)); break;
            case nameof(Seq2SeqScaledDotFreeRunning): Agree(new Seq2SeqScaledDotFreeRunning(seed: 4), new Seq2SeqScaledDotFreeRunning(seed: 4)); break;
            case nameof(Seq2SeqMultiHead): Agree(new Seq2SeqMultiHead(seed: 4), new Seq2SeqMultiHead(seed: 4)); break;
            case nameof(Seq2SeqGeneral): Agree(new Seq2SeqGeneral(seed: 4), new Seq2SeqGeneral(seed: 4)); break;
            case nameof(Seq2SeqAdditive): Agree(new Seq2SeqAdditive(seed: 4), new Seq2SeqAdditive(seed: 4)); break;
            case nameof(GcS2sGeneral): Agree(new GcS2sGeneral(seed: 4), new GcS2sGeneral(seed: 4)); break;
            case nameof(GcS2sAdditive): Agree(new GcS2sAdditive(seed: 4), new GcS2sAdditive(seed: 4)); break;
            case nameof(CkSeq2Seq): Agree(new CkSeq2Seq(seed: 4), new CkSeq2Seq(seed: 4)); break;
            case nameof(TransformerSeq2Seq): Agree(new TransformerSeq2Seq(seed: 4), new TransformerSeq2Seq(seed: 4)); break;
            case nameof(TransformerSeq2SeqPreNorm): Agree(new TransformerSeq2SeqPreNorm(seed: 4), new TransformerSeq2SeqPreNorm(seed: 4)); break;
            case nameof(Seq2SeqFeedAdditive): Agree(new Seq2SeqFeedAdditive(seed: 4), new Seq2SeqFeedAdditive(seed: 4)); break;
            case nameof(Seq2SeqFeedGeneral): Agree(new Seq2SeqFeedGeneral(seed: 4), new Seq2SeqFeedGeneral(seed: 4)); break;
            case nameof(Seq2SeqFeedDotFreeRunning): Agree(new Seq2SeqFeedDotFreeRunning(seed: 4), new Seq2SeqFeedDotFreeRunning(seed: 4)); break;
            case nameof(Seq2SeqShared): Agree(new Seq2SeqShared(seed: 4), new Seq2SeqShared(seed: 4)); break;
            case nameof(GcS2sShared): Agree(new GcS2sShared(seed: 4), new GcS2sShared(seed: 4)); break;
            case nameof(TransformerSeq2SeqJoint): Agree(new TransformerSeq2SeqJoint(seed: 4), new TransformerSeq2SeqJoint(seed: 4)); break;
            case nameof(GcS2sMultiHeadWithoutBias): Agree(new GcS2sMultiHeadWithoutBias(seed: 4), new GcS2sMultiHeadWithoutBias(seed: 4)); break;
            case nameof(GcLlamaSeq2Seq): Agree(new GcLlamaSeq2Seq(seed: 4), new GcLlamaSeq2Seq(seed: 4)); break;
            case nameof(GcT5Seq2Seq): Agree(new GcT5Seq2Seq(seed: 4), new GcT5Seq2Seq(seed: 4)); break;
            case nameof(HfTinyT5Seq2Seq): Agree(new HfTinyT5Seq2Seq(seed: 4), new HfTinyT5Seq2Seq(seed: 4)); break;
            default: throw new ArgumentException(name);
        }
    }

    /// <summary>
    /// An encoder on the device keeps its outputs there after an Encode, and a decoder on the same device reads them and
    /// adds their gradient in place: nothing of them crosses to the host during a training step, and the encoder's backward
    /// pass starts from the gradient there. Read on the host, they are the host's.
    /// </summary>
    [Fact]
    public void AnEncoderOnTheDeviceKeepsItsOutputsThereForADecoderOnTheSameDevice()
    {
        var host = new Seq2SeqDot(seed: 4);
        var device = new Seq2SeqDot(seed: 4);
        device.To(fixture.Cpu);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        for (int step = 0; step < 2; step++) // the second step reuses the first's workspaces and records
        {
            (EncoderOutput hostEncoded, float hostLoss) = TrainStep(host, source, lengths, decoderInput, targets, check: null);
            (EncoderOutput deviceEncoded, float deviceLoss) = TrainStep(device, source, lengths, decoderInput, targets, check: encoded =>
            {
                Assert.IsType<ResidentEncoderOutput>(encoded.Twin);
                Assert.False(encoded.OutputsOnHost, "the encoder's outputs were copied to the host");
                Assert.True(encoded.GradientOnTwin, "the decoder did not add the outputs' gradient on the device");
            });
            Tolerance.AssertClose([hostLoss], [deviceLoss], $"loss at step {step}");
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"step {step} grad.{host.Parameters[i].Name}");
            // read on the host, the outputs and their gradient come over
            Agreement.AssertClose(hostEncoded.Memory.Span, deviceEncoded.Memory.Span, "the encoder's outputs read on the host");
            Assert.True(deviceEncoded.OutputsOnHost);
            Agreement.AssertClose(hostEncoded.MemoryGradient.Span, deviceEncoded.MemoryGradient.Span, "their gradient read on the host");
            Assert.False(deviceEncoded.GradientOnTwin);
            host.Parameters.ZeroGrad();
            device.Parameters.ZeroGrad();
        }
        // leaving the device, the encoder hands what only the device held of its last Encode to the host
        EncoderOutput kept = ((IEncoder<int>)device.Encoder).Encode(source, lengths, training: false);
        EncoderOutput expected = ((IEncoder<int>)host.Encoder).Encode(source, lengths, training: false);
        Assert.False(kept.OutputsOnHost);
        device.Encoder.ToHost();
        Assert.Null(kept.Twin);
        Agreement.AssertClose(expected.Memory.Span, kept.Memory.Span, "the outputs after the encoder left the device");
    }

    /// <summary>
    /// The encoder leaving the device between its Encode and its backward pass: the device's workspace comes back to the
    /// host with the pass's activations and the gradient the decoder added, and the host's backward pass gives the
    /// gradients an encoder on the host gives.
    /// </summary>
    [Fact]
    public void AnEncoderThatLeavesTheDeviceBeforeItsBackwardPassGivesTheHostsGradients()
    {
        var host = new Seq2SeqDot(seed: 4);
        var device = new Seq2SeqDot(seed: 4);
        device.To(fixture.Cpu);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        TrainStep(host, source, lengths, decoderInput, targets, check: null);
        TrainStep(device, source, lengths, decoderInput, targets, check: _ => device.Encoder.ToHost());
        Assert.Null(device.Encoder.Device);
        for (int i = 0; i < host.Parameters.Count; i++)
            Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"grad.{host.Parameters[i].Name}");
        device.ToHost();
    }

    /// <summary>
    /// An encoder–decoder sharing its embedding (one tensor for both parts): the encoder leaving the device brings the table
    /// home, and the decoder, still on the device, takes it back the next time it runs; training goes on as on the host,
    /// either part on either side, and the whole model comes home with the host's weights.
    /// </summary>
    [Fact]
    public void APartOfASharedEncoderDecoderLeavingTheDeviceLeavesTheOtherRunning()
    {
        var host = new Seq2SeqShared(seed: 4);
        var device = new Seq2SeqShared(seed: 4);
        device.To(fixture.Cpu);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        var hostSgd = new Sgd(host.Parameters, 0.1f, momentum: 0.9f);
        var deviceSgd = new Sgd(device.Parameters, 0.1f, momentum: 0.9f);
        for (int step = 0; step < 4; step++)
        {
            if (step == 1) device.Encoder.ToHost();
            if (step == 2) device.Encoder.To(fixture.Cpu);
            if (step == 3) device.Decoder.ToHost();
            host.Parameters.ZeroGrad();
            device.Parameters.ZeroGrad();
            float expected = host.Backward(source, lengths, decoderInput, targets), actual = device.Backward(source, lengths, decoderInput, targets);
            Tolerance.AssertClose([expected], [actual], $"loss at step {step}");
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"step {step} grad.{host.Parameters[i].Name}");
            hostSgd.Step();
            deviceSgd.Step();
        }
        device.ToHost();
        for (int i = 0; i < host.Parameters.Count; i++)
            Agreement.AssertClose(host.Parameters[i].AsSpan(), device.Parameters[i].AsSpan(), host.Parameters[i].Name);
    }

    /// <summary>
    /// An encoder–decoder without bridges (a Transformer) trained on the device and brought home: its optimiser's state comes
    /// home too (the optimiser holds the parts' tensors under their prefixed names), so the next step on the host is the one
    /// a host-only run takes.
    /// </summary>
    [Fact]
    public void AnOptimisersStateComesHomeWithAnEncoderDecoderWithoutBridges()
    {
        var host = new TransformerSeq2Seq(seed: 4);
        var device = new TransformerSeq2Seq(seed: 4);
        device.To(fixture.Cpu);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        // (SGD with momentum: its state is the update, and it is linear in the gradients; Adam would magnify the rounding
        // of gradients that are zero in exact arithmetic, the attention's key bias's, to a step of the learning rate)
        var hostSgd = new Sgd(host.Parameters, 0.05f, momentum: 0.9f);
        var deviceSgd = new Sgd(device.Parameters, 0.05f, momentum: 0.9f);
        for (int step = 0; step < 3; step++)
        {
            if (step == 2) device.ToHost();
            foreach (var (model, adam) in new (IModel, Optimizer)[] { (host, hostSgd), (device, deviceSgd) })
            {
                model.Parameters.ZeroGrad();
                ((TransformerSeq2Seq)model).Backward(source, lengths, decoderInput, targets);
                adam.Step();
            }
        }
        Assert.Null(device.Encoder.Device);
        for (int i = 0; i < host.Parameters.Count; i++)
            Agreement.AssertClose(host.Parameters[i].AsSpan(), device.Parameters[i].AsSpan(), host.Parameters[i].Name);
    }

    /// <summary>Outputs encoded for inference keep no room for a gradient: training a decoder over them fails clearly, on the device as on the host.</summary>
    [Fact]
    public void TrainingOverOutputsEncodedForInferenceFailsClearly()
    {
        var host = new Seq2SeqDot(seed: 4);
        var device = new Seq2SeqDot(seed: 4);
        device.To(fixture.Cpu);
        var source = Tensor.Create(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [2, 4]);
        var decoderInput = Tensor.Create(new[] { 1, 2, 3, 1, 4, 5 }, [2, 3]);
        var targets = Tensor.Create(new[] { 2, 3, 4, 4, 5, 6 }, [2, 3]);
        foreach (var model in new[] { host, device })
        {
            EncoderOutput encoded = ((IEncoder<int>)model.Encoder).Encode(source, default, training: false);
            Assert.False(encoded.HasGradient);
            var state = (IDecoderState)model.Decoder.CreateState(2);
            state.Attend(encoded);
            var e = Assert.Throws<InvalidOperationException>(() => ((IModel<int>)model.Decoder).Backward(decoderInput, targets, state));
            Assert.Contains("encoded for inference (training: false)", e.Message);
            Assert.All(model.Parameters, p => Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g))); // nothing was added
        }
        device.ToHost();
    }

    /// <summary>An encoder–decoder whose parts are on different devices, or one on the host, trains as on the host (the outputs and their gradient copied across).</summary>
    [Theory]
    [InlineData("encoder on the device")]
    [InlineData("decoder on the device")]
    [InlineData("each on its own device")]
    public void AnEncoderDecoderSplitAcrossDevicesTrainsAsOnTheHost(string split)
    {
        using Device other = Device.Open(DeviceKind.Cpu);
        var host = new Seq2SeqAdditive(seed: 4);
        var device = new Seq2SeqAdditive(seed: 4);
        if (split != "decoder on the device") device.Encoder.To(fixture.Cpu);
        if (split == "decoder on the device") device.Decoder.To(fixture.Cpu);
        if (split == "each on its own device") device.Decoder.To(other);
        var (source, lengths, decoderInput, targets) = FixedBatch();
        for (int step = 0; step < 2; step++)
        {
            float expected = host.Backward(source, lengths, decoderInput, targets), actual = device.Backward(source, lengths, decoderInput, targets);
            Tolerance.AssertClose([expected], [actual], $"{split}: loss at step {step}");
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"{split}: step {step} grad.{host.Parameters[i].Name}");
            host.Parameters.ZeroGrad();
            device.Parameters.ZeroGrad();
        }
        device.ToHost();
    }

    /// <summary>Three padded source sequences of four tokens and their three-token decoder inputs and targets.</summary>
    private static (Tensor<int> Source, int[] Lengths, Tensor<int> DecoderInput, Tensor<int> Targets) FixedBatch() =>
        (Tensor.Create(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 2, 3, 0, 0 }, [3, 4]), [4, 4, 2],
         Tensor.Create(new[] { 1, 2, 3, 1, 4, 5, 1, 6, 2 }, [3, 3]), Tensor.Create(new[] { 2, 3, 4, 4, 5, 6, 6, 2, 0 }, [3, 3]));

    /// <summary>One training step driven by hand (no bridges): Encode, the decoder's backward over the outputs, the encoder's backward from them.</summary>
    private static (EncoderOutput Encoded, float Loss) TrainStep<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model,
        Tensor<int> source, int[] lengths, Tensor<int> decoderInput, Tensor<int> targets, Action<EncoderOutput>? check)
        where TEncoder : IEncoder<int>
        where TDecoder : IModel<int>
    {
        EncoderOutput encoded = model.Encoder.Encode(source, lengths, training: true);
        var state = (IDecoderState)model.Decoder.CreateState(encoded.Batch);
        state.Attend(encoded);
        encoded.ClearGradient();
        float loss = model.Decoder.Backward(decoderInput, targets, state);
        check?.Invoke(encoded);
        model.Encoder.BackwardFromEncoded(encoded);
        return (encoded, loss);
    }

    private void Agree<TSource, TEncoder, TDecoder>(EncoderDecoderModel<TSource, TEncoder, TDecoder> host, EncoderDecoderModel<TSource, TEncoder, TDecoder> device)
        where TEncoder : IEncoder<TSource>
        where TDecoder : IModel<int>
    {
        device.To(fixture.Cpu);
        Assert.Same(fixture.Cpu, ((IDeviceModel)device.Decoder).Device);
        const int batch = 3, sourceSteps = 4, steps = 3;
        var rng = new Rng(21);
        int inputWidth = host.Encoder.InputWidth, vocabulary = host.Decoder.OutputWidth;
        Tensor<TSource> source = typeof(TSource) == typeof(int)
            ? (Tensor<TSource>)(object)Tensor.Create(Enumerable.Range(0, batch * sourceSteps).Select(_ => (int)(rng.NextFloat() * inputWidth) % inputWidth).ToArray(), [batch, sourceSteps])
            : (Tensor<TSource>)(object)Tensor.Create(Enumerable.Range(0, batch * sourceSteps * inputWidth).Select(_ => rng.NextNormal()).ToArray(), [batch, sourceSteps, inputWidth]);
        int[] lengths = [4, 4, 2];
        Tensor<int> Ids(int n) => Tensor.Create(Enumerable.Range(0, batch * steps).Select(_ => (int)(rng.NextFloat() * n) % n).ToArray(), [batch, steps]);
        Tensor<int> decoderInput = Ids(Math.Min(vocabulary, host.Decoder.InputWidth)), targets = Ids(vocabulary);
        var hostAdam = new Adam(host.Parameters, 0.05f);
        var deviceAdam = new Adam(device.Parameters, 0.05f);
        for (int step = 0; step < 4; step++)
        {
            float teacherForcing = step == 3 ? 0.5f : 1f; // the last step feeds some of the decoder's own predictions
            float expected = host.Backward(source, lengths, decoderInput, targets, teacherForcing);
            float actual = device.Backward(source, lengths, decoderInput, targets, teacherForcing);
            Tolerance.AssertClose([expected], [actual], $"loss at step {step}");
            for (int i = 0; i < host.Parameters.Count; i++)
                Agreement.AssertClose(host.Parameters[i].GradAsSpan(), device.Parameters[i].GradAsSpan(), $"step {step} grad.{host.Parameters[i].Name}");
            hostAdam.Step();
            deviceAdam.Step();
            hostAdam.ZeroGrad();
            deviceAdam.ZeroGrad();
        }
        Tolerance.AssertClose(Flat(host.Forward(source, lengths, decoderInput)), Flat(device.Forward(source, lengths, decoderInput)), "logits");
        Tensor<TSource> one = typeof(TSource) == typeof(int)
            ? (Tensor<TSource>)(object)Tensor.Create(Flat((Tensor<int>)(object)source).Take(sourceSteps).ToArray(), [1, sourceSteps])
            : (Tensor<TSource>)(object)Tensor.Create(Flat((Tensor<float>)(object)source).Take(sourceSteps * inputWidth).ToArray(), [1, sourceSteps, inputWidth]);
        int[] greedy = host.Greedy(one, startToken: 1, maxLength: 5);
        Assert.Equal(greedy, device.Greedy(one, startToken: 1, maxLength: 5));
        var hostBeams = host.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5);
        var deviceBeams = device.Beam(one, startToken: 1, beamWidth: 3, maxLength: 5);
        Assert.Equal(hostBeams[0].Tokens, deviceBeams[0].Tokens);
        Tolerance.AssertClose([hostBeams[0].Score], [deviceBeams[0].Score], "the best beam's score");
    }

    private static T[] Flat<T>(Tensor<T> tensor)
    {
        var flat = new T[tensor.FlattenedLength];
        tensor.FlattenTo(flat);
        return flat;
    }
}
