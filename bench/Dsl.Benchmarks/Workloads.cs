using System.Numerics.Tensors;

namespace Dsl.Benchmarks;

/// <summary>One configuration: a model, its inputs, and the work to time (forward, forward + backward, a training step).</summary>
public sealed class Workload
{
    public required string Name { get; init; }
    public required string Kind { get; init; }     // lstm, gru, rnn, attention, char
    public required string Mode { get; init; }     // forward, train (forward + backward), step (Adam too), generate
    public int T { get; init; }
    public int B { get; init; }
    public int X { get; init; }
    public int H { get; init; }
    public required Action Run { get; init; }
    public required double Flops { get; init; }

    /// <summary>Multiply-adds ×2 of the recurrent layer forward: input projection and recurrent product.</summary>
    public static double RecurrentForwardFlops(int gates, int T, int B, int X, int H) => 2.0 * T * B * gates * H * (X + H);

    /// <summary>
    /// ONNX Runtime's sessions: 2 intra-op threads that do not spin once a run is over (spinning workers would take the
    /// cores from whatever runs next, Dsl's workloads included).
    /// </summary>
    private static Microsoft.ML.OnnxRuntime.SessionOptions OrtOptions()
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 2 };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /// <summary>A precision as a workload's name says it.</summary>
    private static string Words(Precision precision) => precision switch { Precision.Float32 => "float32", Precision.BFloat16 => "bfloat16", Precision.Int4 => "int4", _ => "int8" };

    public static IReadOnlyList<Workload> All()
    {
        var list = new List<Workload>();
        foreach (var (t, b, x, h) in new[] { (64, 1, 256, 256), (64, 32, 256, 256), (128, 64, 512, 512) })
        {
            foreach (string kind in new[] { "lstm", "gru", "rnn" })
            {
                IModel<float> model = (kind, h) switch
                {
                    ("lstm", 256) => new Lstm256(1), ("gru", 256) => new Gru256(1), ("rnn", 256) => new Rnn256(1),
                    ("lstm", _) => new Lstm512(1), ("gru", _) => new Gru512(1), _ => new Rnn512(1),
                };
                int gates = kind == "lstm" ? 4 : kind == "gru" ? 3 : 1;
                var rng = new Rng(1);
                float[] input = Enumerable.Range(0, t * b * x).Select(_ => rng.NextNormal()).ToArray();
                float[] output = new float[t * b * h];
                float[] target = new float[t * b * h];
                double forward = RecurrentForwardFlops(gates, t, b, x, h);
                string shape = $"T={t} B={b} X={x} H={h}";
                list.Add(new Workload
                {
                    Name = $"{kind} forward {shape}", Kind = kind, Mode = "forward", T = t, B = b, X = x, H = h, Flops = forward,
                    Run = () => model.Forward(new ReadOnlyTensorSpan<float>(input, [b, t, x]), new TensorSpan<float>(output, [b, t, h])),
                });
                if (h == 256 && kind != "rnn")
                {
                    // the same forward exported to ONNX (ExportOnnx) in ONNX Runtime 1.31, CPU, 2 intra-op threads, bound once
                    var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model.ToOnnx(), OrtOptions());
                    var sequenceIn = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input, [b, t, x]) };
                    var sequenceOut = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(output, [b, t, h]) };
                    var sequenceRun = new Microsoft.ML.OnnxRuntime.RunOptions();
                    list.Add(new Workload
                    {
                        Name = $"{kind} forward {shape}, ONNX Runtime", Kind = kind, Mode = "forward-ort", T = t, B = b, X = x, H = h, Flops = forward,
                        Run = () => session.Run(sequenceRun, ["input"], sequenceIn, ["output"], sequenceOut),
                    });
                }
                if (b == 1) continue;
                list.Add(new Workload
                {
                    Name = $"{kind} forward+backward {shape}", Kind = kind, Mode = "train", T = t, B = b, X = x, H = h, Flops = 3 * forward,
                    Run = () => model.Backward(new ReadOnlyTensorSpan<float>(input, [b, t, x]), new ReadOnlyTensorSpan<float>(target, [b, t, h])),
                });
            }
        }

        // Self-attention as nn.MultiheadAttention(256, 8): the four projections and, per head, scores and context.
        {
            const int t = 64, b = 32, e = 256, heads = 8;
            var attention = new Attention256(1);
            var rng = new Rng(3);
            float[] input = Enumerable.Range(0, t * b * e).Select(_ => rng.NextNormal()).ToArray();
            float[] output = new float[t * b * e], target = new float[t * b * e];
            double forward = 2.0 * 4 * t * b * e * e + 2.0 * 2 * b * heads * t * t * (e / heads);
            string shape = $"T={t} B={b} E={e} heads={heads}";
            list.Add(new Workload
            {
                Name = $"attention forward {shape}", Kind = "attention", Mode = "forward", T = t, B = b, X = e, H = e, Flops = forward,
                Run = () => attention.Forward(new ReadOnlyTensorSpan<float>(input, [b, t, e]), new TensorSpan<float>(output, [b, t, e])),
            });
            list.Add(new Workload
            {
                Name = $"attention forward+backward {shape}", Kind = "attention", Mode = "train", T = t, B = b, X = e, H = e, Flops = 3 * forward,
                Run = () => attention.Backward(new ReadOnlyTensorSpan<float>(input, [b, t, e]), new ReadOnlyTensorSpan<float>(target, [b, t, e])),
            });
        }

        // The character model: a whole training step with Adam, and a batch-1 generation step.
        var charModel = new CharBench(1);
        var adam = new Adam(charModel.Parameters, learningRate: 1e-3f);
        var r = new Rng(2);
        int[] tokens = Enumerable.Range(0, 100 * 32).Select(_ => r.NextInt(65)).ToArray();
        int[] targets = Enumerable.Range(0, 100 * 32).Select(_ => r.NextInt(65)).ToArray();
        double charFlops = 3 * (RecurrentForwardFlops(4, 100, 32, 128, 256) + 2.0 * 100 * 32 * 65 * 256);
        list.Add(new Workload
        {
            Name = "char model training step T=100 B=32 (Adam)", Kind = "char", Mode = "step", T = 100, B = 32, X = 128, H = 256, Flops = charFlops,
            Run = () =>
            {
                charModel.Parameters.ZeroGrad();
                charModel.Backward(new ReadOnlyTensorSpan<int>(tokens, [32, 100]), new ReadOnlyTensorSpan<int>(targets, [32, 100]));
                adam.Step();
            },
        });
        var state = charModel.CreateState(1);
        int[] one = [3];
        float[] logits = new float[65];
        list.Add(new Workload
        {
            Name = "char model generation step B=1", Kind = "char", Mode = "generate", T = 1, B = 1, X = 128, H = 256,
            Flops = RecurrentForwardFlops(4, 1, 1, 128, 256) + 2.0 * 65 * 256,
            Run = () => charModel.Step(new ReadOnlyTensorSpan<int>(one, [1]), state, new TensorSpan<float>(logits, [1, 65])),
        });
        // The same step, and the batch-1 LSTM forward, with the weights held in bfloat16 and in 8 bits (ParameterSet.HoldWeightsIn:
        // the LSTM's matrices and the output layer's; the sequence packs W_hh widened once, a step reads it as it is held).
        foreach (Precision precision in new[] { Precision.BFloat16, Precision.Int8 })
        {
            var heldChar = new CharBench(1);
            heldChar.Parameters.HoldWeightsIn(precision);
            var heldState = heldChar.CreateState(1);
            list.Add(new Workload
            {
                Name = $"char model generation step B=1, {Words(precision)} weights", Kind = "char", Mode = "generate", T = 1, B = 1, X = 128, H = 256,
                Flops = RecurrentForwardFlops(4, 1, 1, 128, 256) + 2.0 * 65 * 256,
                Run = () => heldChar.Step(new ReadOnlyTensorSpan<int>(one, [1]), heldState, new TensorSpan<float>(logits, [1, 65])),
            });
            var heldLstm = new Lstm256(1);
            heldLstm.Parameters.HoldWeightsIn(precision);
            var rng = new Rng(1);
            float[] input = Enumerable.Range(0, 64 * 256).Select(_ => rng.NextNormal()).ToArray(), output = new float[64 * 256];
            list.Add(new Workload
            {
                Name = $"lstm forward T=64 B=1 X=256 H=256, {Words(precision)} weights", Kind = "lstm", Mode = "forward", T = 64, B = 1, X = 256, H = 256,
                Flops = RecurrentForwardFlops(4, 64, 1, 256, 256),
                Run = () => heldLstm.Forward(new ReadOnlyTensorSpan<float>(input, [1, 64, 256]), new TensorSpan<float>(output, [1, 64, 256])),
            });
        }

        // The same generation step exported to ONNX (ToOnnxStep: the states as inputs and outputs) and run by ONNX Runtime
        // 1.31 (CPU, 2 intra-op threads), its inputs and outputs bound to arrays once: what serving the model in ONNX Runtime costs a step.
        var ortStep = new Microsoft.ML.OnnxRuntime.InferenceSession(charModel.ToOnnxStep(), OrtOptions());
        long[] ortToken = [3];
        float[] ortH = new float[256], ortC = new float[256], ortLogits = new float[65], ortNextH = new float[256], ortNextC = new float[256];
        var ortIn = new[]
        {
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortToken, [1]),
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortH, [1, 256]),
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortC, [1, 256]),
        };
        var ortOut = new[]
        {
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortLogits, [1, 65]),
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortNextH, [1, 256]),
            Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ortNextC, [1, 256]),
        };
        var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        string[] ortInNames = ["input", "lstm.h_l0", "lstm.c_l0"], ortOutNames = ["output", "next.lstm.h_l0", "next.lstm.c_l0"];
        list.Add(new Workload
        {
            Name = "char model generation step B=1, ONNX Runtime", Kind = "char", Mode = "generate-ort", T = 1, B = 1, X = 128, H = 256,
            Flops = RecurrentForwardFlops(4, 1, 1, 128, 256) + 2.0 * 65 * 256,
            Run = () =>
            {
                ortStep.Run(runOptions, ortInNames, ortIn, ortOutNames, ortOut);
                ortNextH.CopyTo(ortH, 0); // the state carried to the next step
                ortNextC.CopyTo(ortC, 0);
            },
        });

        // Decoding 128 tokens with a Transformer block: step by step from the key/value cache (each step O(t)), against
        // what a model without one does, a Forward over the whole prefix for every new token.
        var gpt = new GptBench(1);
        var gptState = gpt.CreateState(1);
        int[] prefix = Enumerable.Range(0, 128).Select(_ => r.NextInt(65)).ToArray();
        float[] gptLogits = new float[65];
        float[] prefixLogits = new float[128 * 65];
        double blockFlops(int t) => 2.0 * t * (128 * 3 * 128 + 128 * 128 + 2 * 128 * 512 + 128 * 65) + 4.0 * t * t * 128;
        list.Add(new Workload
        {
            Name = "transformer decoding 128 tokens B=1, cached", Kind = "gpt", Mode = "generate", T = 128, B = 1, X = 128, H = 128, Flops = blockFlops(128),
            Run = () =>
            {
                gptState.Reset();
                for (int t = 0; t < 128; t++)
                    gpt.Step(new ReadOnlyTensorSpan<int>(prefix, t, [1], default), gptState, new TensorSpan<float>(gptLogits, [1, 65]));
            },
        });
        list.Add(new Workload
        {
            Name = "transformer decoding 128 tokens B=1, recomputed", Kind = "gpt", Mode = "generate", T = 128, B = 1, X = 128, H = 128,
            Flops = Enumerable.Range(1, 128).Sum(blockFlops),
            Run = () =>
            {
                for (int t = 1; t <= 128; t++)
                    gpt.Forward(new ReadOnlyTensorSpan<int>(prefix, 0, [1, t], default), new TensorSpan<float>(prefixLogits, 0, [1, t, 65], default));
            },
        });
        // Training the same Transformer block on a batch: 32 sequences of 128 tokens, causal, cross-entropy on every
        // position, Adam (what a user training a small GPT-style model runs).
        var gptTrain = new GptBench(1);
        var gptAdam = new Adam(gptTrain.Parameters, learningRate: 1e-3f);
        int[] gptTokens = Enumerable.Range(0, 32 * 128).Select(_ => r.NextInt(65)).ToArray();
        int[] gptTargets = Enumerable.Range(0, 32 * 128).Select(_ => r.NextInt(65)).ToArray();
        list.Add(new Workload
        {
            Name = "transformer training step T=128 B=32 (Adam)", Kind = "gpt", Mode = "step", T = 128, B = 32, X = 128, H = 128, Flops = 3 * 32 * blockFlops(128),
            Run = () =>
            {
                gptTrain.Parameters.ZeroGrad();
                gptTrain.Backward(new ReadOnlyTensorSpan<int>(gptTokens, [32, 128]), new ReadOnlyTensorSpan<int>(gptTargets, [32, 128]));
                gptAdam.Step();
            },
        });
        // The LLaMA-style block (RMS norm, rotary positions, SwiGLU, no biases) on the same batch, AdamW.
        var llama = new LlamaBench(1);
        var llamaAdam = new AdamW(llama.Parameters, learningRate: 1e-3f, weightDecay: 0.1f);
        double llamaFlops(int t) => 2.0 * t * (128 * 3 * 128 + 128 * 128 + 3 * 128 * 344 + 128 * 65) + 4.0 * t * t * 128;
        list.Add(new Workload
        {
            Name = "llama training step T=128 B=32 (AdamW)", Kind = "gpt", Mode = "step", T = 128, B = 32, X = 128, H = 128, Flops = 3 * 32 * llamaFlops(128),
            Run = () =>
            {
                llama.Parameters.ZeroGrad();
                llama.Backward(new ReadOnlyTensorSpan<int>(gptTokens, [32, 128]), new ReadOnlyTensorSpan<int>(gptTargets, [32, 128]));
                llamaAdam.Step();
            },
        });
        // The same block with a mixture of 8 experts, 2 per token (Mixtral's routing), on the same batch, AdamW: each token's
        // two experts' products counted, and the router's.
        var moe = new MoeBench(1);
        var moeAdam = new AdamW(moe.Parameters, learningRate: 1e-3f, weightDecay: 0.1f);
        double moeFlops(int t) => 2.0 * t * (128 * 3 * 128 + 128 * 128 + 2 * 3 * 128 * 344 + 128 * 8 + 128 * 65) + 4.0 * t * t * 128;
        list.Add(new Workload
        {
            Name = "moe training step T=128 B=32 (AdamW, 8 experts, 2 per token)", Kind = "gpt", Mode = "step", T = 128, B = 32, X = 128, H = 128, Flops = 3 * 32 * moeFlops(128),
            Run = () =>
            {
                moe.Parameters.ZeroGrad();
                moe.Backward(new ReadOnlyTensorSpan<int>(gptTokens, [32, 128]), new ReadOnlyTensorSpan<int>(gptTargets, [32, 128]));
                moeAdam.Step();
            },
        });
        // Its forward over the same batch (the logits of every position), and that forward exported to ONNX (each expert over
        // the rows that chose it: NonZero, Gather, ScatterND) in ONNX Runtime, its input and output bound once.
        float[] moeLogits = new float[32 * 128 * 65];
        long[] moeIds = gptTokens.Select(i => (long)i).ToArray();
        list.Add(new Workload
        {
            Name = "moe forward T=128 B=32 (8 experts, 2 per token)", Kind = "gpt", Mode = "forward", T = 128, B = 32, X = 128, H = 128, Flops = 32 * moeFlops(128),
            Run = () => moe.Forward(new ReadOnlyTensorSpan<int>(gptTokens, [32, 128]), new TensorSpan<float>(moeLogits, [32, 128, 65])),
        });
        var moeSession = new Microsoft.ML.OnnxRuntime.InferenceSession(moe.ToOnnx(), OrtOptions());
        var moeIn = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(moeIds, [32, 128]) };
        var moeOut = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(moeLogits, [32, 128, 65]) };
        var moeRun = new Microsoft.ML.OnnxRuntime.RunOptions();
        list.Add(new Workload
        {
            Name = "moe forward T=128 B=32 (8 experts, 2 per token), ONNX Runtime", Kind = "gpt", Mode = "forward-ort", T = 128, B = 32, X = 128, H = 128, Flops = 32 * moeFlops(128),
            Run = () => moeSession.Run(moeRun, ["input"], moeIn, ["output"], moeOut),
        });
        // 128 tokens of one sequence, each a Step from the key/value cache (as the transformer decoding above)
        var moeState = moe.CreateState(1);
        list.Add(new Workload
        {
            Name = "moe decoding 128 tokens B=1, cached (8 experts, 2 per token)", Kind = "gpt", Mode = "generate", T = 128, B = 1, X = 128, H = 128, Flops = moeFlops(128),
            Run = () =>
            {
                moeState.Reset();
                for (int t = 0; t < 128; t++)
                    moe.Step(new ReadOnlyTensorSpan<int>(prefix, t, [1], default), moeState, new TensorSpan<float>(gptLogits, [1, 65]));
            },
        });
        // A Transformer encoder–decoder of T5-small's width translating a source of 128 tokens: 32 tokens decoded greedily and
        // by a beam of four (no end token: every step runs), each step attending over the source's keys and values, which each
        // cross-attention layer projects at the first step and keeps in the state. Flops: the encoder once, then per token
        // and hypothesis the decoder's products (the memory's projections once).
        var s2s = new Seq2SeqBench(1);
        int[] s2sSource = Enumerable.Range(0, 128).Select(_ => r.NextInt(4096)).ToArray();
        double s2sEncoder = 2.0 * 128 * 2 * (4 * 512 * 512 + 2 * 512 * 2048) + 4.0 * 128 * 128 * 512 * 2;
        double s2sToken = 2.0 * 2 * (4 * 512 * 512 + 2 * 512 * 512 + 2 * 512 * 2048) + 2.0 * 512 * 4096 + 4.0 * 2 * (128 + 32) * 512;
        double s2sMemory = 2.0 * 2 * 2 * 128 * 512 * 512;
        list.Add(new Workload
        {
            Name = "transformer seq2seq greedy 32 tokens from 128, cached", Kind = "gpt", Mode = "generate", T = 32, B = 1, X = 512, H = 512,
            Flops = s2sEncoder + s2sMemory + 32 * s2sToken,
            Run = () => s2s.Greedy(new ReadOnlyTensorSpan<int>(s2sSource, [1, 128]), startToken: 0, maxLength: 32),
        });
        list.Add(new Workload
        {
            Name = "transformer seq2seq beam search 32 tokens from 128, width 4, cached", Kind = "gpt", Mode = "generate", T = 32, B = 4, X = 512, H = 512,
            Flops = s2sEncoder + s2sMemory + 4 * 32 * s2sToken,
            Run = () => s2s.Beam(new ReadOnlyTensorSpan<int>(s2sSource, [1, 128]), startToken: 0, beamWidth: 4, maxLength: 32),
        });
        // Four sources translated in one call (an encoder–decoder's Greedy and Beam with lengths: the sources encoded as one
        // batch, every source's hypotheses rows of one decoder state) and, for comparison, one call per source.
        int[] s2sSources = Enumerable.Range(0, 4 * 128).Select(_ => r.NextInt(4096)).ToArray();
        int[] s2sLengths = [128, 128, 128, 128];
        foreach (bool batched in new[] { true, false })
        {
            string how = batched ? "in one call" : "a call each";
            list.Add(new Workload
            {
                Name = $"transformer seq2seq greedy 32 tokens from 128, 4 sources {how}, cached", Kind = "gpt", Mode = "generate", T = 32, B = 4, X = 512, H = 512,
                Flops = 4 * (s2sEncoder + s2sMemory + 32 * s2sToken),
                Run = batched
                    ? () => s2s.Greedy(new ReadOnlyTensorSpan<int>(s2sSources, [4, 128]), s2sLengths, startToken: 0, maxLength: 32)
                    : () =>
                    {
                        for (int b = 0; b < 4; b++) s2s.Greedy(new ReadOnlyTensorSpan<int>(s2sSources, b * 128, [1, 128], default), startToken: 0, maxLength: 32);
                    },
            });
            list.Add(new Workload
            {
                Name = $"transformer seq2seq beam search 32 tokens from 128, width 4, 4 sources {how}, cached", Kind = "gpt", Mode = "generate", T = 32, B = 16, X = 512, H = 512,
                Flops = 4 * (s2sEncoder + s2sMemory + 4 * 32 * s2sToken),
                Run = batched
                    ? () => s2s.Beam(new ReadOnlyTensorSpan<int>(s2sSources, [4, 128]), s2sLengths, startToken: 0, beamWidth: 4, maxLength: 32)
                    : () =>
                    {
                        for (int b = 0; b < 4; b++) s2s.Beam(new ReadOnlyTensorSpan<int>(s2sSources, b * 128, [1, 128], default), startToken: 0, beamWidth: 4, maxLength: 32);
                    },
            });
        }
        // 32 tokens over LLaMA 3's vocabulary, chosen greedily and sampled with Hugging Face's usual top-k 50 and top-p 0.9: the
        // sampling's cost beside the steps' (a top-k found with a heap of 50, the nucleus sorted among those 50)
        var vocabulary = new WideVocabularyBench(1);
        var choosing = new Rng(3);
        list.Add(new Workload
        {
            Name = "greedy 32 tokens over 128256, cached", Kind = "gpt", Mode = "generate", T = 32, B = 1, X = 16, H = 16, Flops = 32 * 2.0 * 16 * 128256,
            Run = () => Decode.Greedy(vocabulary, [1], 32),
        });
        list.Add(new Workload
        {
            Name = "sampling 32 tokens over 128256, top-k 50, top-p 0.9, cached", Kind = "gpt", Mode = "generate", T = 32, B = 1, X = 16, H = 16, Flops = 32 * 2.0 * 16 * 128256,
            Run = () => Decode.Sample(vocabulary, [1], 32, temperature: 0.8f, topK: 50, choosing, topP: 0.9f),
        });
        // A LLaMA decoder too large for the caches decoding 16 tokens, each step streaming its 134 MB of float32 weights, and the
        // same model with its weights held in bfloat16, in 8 bits and in 4 bits (ParameterSet.HoldWeightsIn): half, a quarter and
        // about a sixth (an eighth, and a scale per 32 values) of the bytes streamed per token.
        double wideFlops = 2.0 * 16 * (2 * (4 * 1024 * 1024 + 3 * 1024 * 2816) + 1024 * 4096) + 4.0 * 16 * 16 * 1024 * 2;
        foreach (Precision precision in new[] { Precision.Float32, Precision.BFloat16, Precision.Int8, Precision.Int4 })
        {
            var wide = new WideLlamaBench(1);
            wide.Parameters.HoldWeightsIn(precision);
            var wideState = wide.CreateState(1);
            float[] wideLogits = new float[4096];
            int[] wideTokens = Enumerable.Range(0, 16).Select(_ => r.NextInt(4096)).ToArray();
            list.Add(new Workload
            {
                Name = $"wide llama decoding 16 tokens B=1, cached, {Words(precision)} weights", Kind = "gpt", Mode = "generate",
                T = 16, B = 1, X = 1024, H = 1024, Flops = wideFlops,
                Run = () =>
                {
                    wideState.Reset();
                    for (int t = 0; t < 16; t++)
                        wide.Step(new ReadOnlyTensorSpan<int>(wideTokens, t, [1], default), wideState, new TensorSpan<float>(wideLogits, [1, 4096]));
                },
            });
            // four sequences decoded together (a batch of four): each step's products take four rows
            var wideBatch = wide.CreateState(4);
            float[] batchLogits = new float[4 * 4096];
            int[] batchTokens = Enumerable.Range(0, 64).Select(_ => r.NextInt(4096)).ToArray();
            list.Add(new Workload
            {
                Name = $"wide llama decoding 16 tokens B=4, cached, {Words(precision)} weights", Kind = "gpt", Mode = "generate",
                T = 16, B = 4, X = 1024, H = 1024, Flops = 4 * wideFlops,
                Run = () =>
                {
                    wideBatch.Reset();
                    for (int t = 0; t < 16; t++)
                        wide.Step(new ReadOnlyTensorSpan<int>(batchTokens, 4 * t, [4], default), wideBatch, new TensorSpan<float>(batchLogits, [4, 4096]));
                },
            });
            // beam search of width 4 over 16 tokens (no end token: every step runs), its hypotheses stepped as the rows of one
            // state (Decode.Beam): each step's products take four rows, as the batch of four above, plus the rows' caches copied
            int[] beamPrefix = [wideTokens[0]];
            list.Add(new Workload
            {
                Name = $"wide llama beam search 16 tokens, width 4, cached, {Words(precision)} weights", Kind = "gpt", Mode = "generate",
                T = 16, B = 4, X = 1024, H = 1024, Flops = 4 * wideFlops,
                Run = () => Decode.Beam(wide, beamPrefix, beamWidth: 4, maxLength: 16),
            });
            // four prompts of 1, 3, 5 and 7 tokens decoded greedily to 16 tokens each (no end token) in one call (one state's
            // rows: a row whose prompt goes on is fed it while the others choose) and, for comparison, a call each (float32 only)
            if (precision == Precision.Float32)
            {
                // a prompt of 64 tokens read (Decode's prefill: passes over every token at once), then 16 tokens decoded
                int[] longPrompt = Enumerable.Range(0, 64).Select(_ => r.NextInt(4096)).ToArray();
                list.Add(new Workload
                {
                    Name = $"wide llama greedy 16 tokens after a prompt of 64, cached, {Words(precision)} weights", Kind = "gpt", Mode = "generate",
                    T = 80, B = 1, X = 1024, H = 1024, Flops = 2.0 * 80 * (2 * (4 * 1024 * 1024 + 3 * 1024 * 2816) + 1024 * 4096) + 4.0 * 80 * 80 * 1024 * 2,
                    Run = () => Decode.Greedy(wide, longPrompt, maxLength: 16),
                });
                int[] promptLengths = [1, 3, 5, 7];
                int[] prompts = Enumerable.Range(0, 4 * 7).Select(_ => r.NextInt(4096)).ToArray();
                foreach (bool batched in new[] { true, false })
                    list.Add(new Workload
                    {
                        Name = $"wide llama greedy 16 tokens, 4 prompts of 1-7 tokens {(batched ? "in one call" : "a call each")}, cached, {Words(precision)} weights",
                        Kind = "gpt", Mode = "generate", T = 16, B = 4, X = 1024, H = 1024, Flops = 4 * wideFlops,
                        Run = batched
                            ? () => Decode.GreedyBatch(wide, new ReadOnlyTensorSpan<int>(prompts, [4, 7]), promptLengths, maxLength: 16)
                            : () =>
                            {
                                for (int b = 0; b < 4; b++) Decode.Greedy(wide, prompts.AsSpan(7 * b, promptLengths[b]), maxLength: 16);
                            },
                    });
            }
            // the 16 tokens as one sequence, and the model exported as held (bfloat16 through Cast, 8 bits through
            // DequantizeLinear) run by ONNX Runtime with its defaults (an 8-bit weight's DequantizeLinear and MatMul fused
            // into its MatMulNBits, which rounds the activations to 8 bits too)
            float[] wideSequence = new float[16 * 4096];
            long[] wideIds = wideTokens.Select(i => (long)i).ToArray();
            list.Add(new Workload
            {
                Name = $"wide llama forward 16 tokens B=1, {Words(precision)} weights", Kind = "gpt", Mode = "forward",
                T = 16, B = 1, X = 1024, H = 1024, Flops = wideFlops,
                Run = () => wide.Forward(new ReadOnlyTensorSpan<int>(wideTokens, [1, 16]), new TensorSpan<float>(wideSequence, [1, 16, 4096])),
            });
            var wideSession = new Microsoft.ML.OnnxRuntime.InferenceSession(wide.ToOnnx(), OrtOptions());
            var wideIn = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(wideIds, [1, 16]) };
            var wideOut = new[] { Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(wideSequence, [1, 16, 4096]) };
            var wideRun = new Microsoft.ML.OnnxRuntime.RunOptions();
            list.Add(new Workload
            {
                Name = $"wide llama forward 16 tokens B=1, ONNX Runtime, {Words(precision)} weights", Kind = "gpt", Mode = "forward-ort",
                T = 16, B = 1, X = 1024, H = 1024, Flops = wideFlops,
                Run = () => wideSession.Run(wideRun, ["input"], wideIn, ["output"], wideOut),
            });
        }
        return list;
    }
}
