using System.Numerics.Tensors;
using Dsl.Tests.Gpu;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>A token model that returns its last step only: it steps, but its Forward gives no step's logits.</summary>
[Embedding(vocab: 7, dim: 4)]
[Lstm(hidden: 5, ReturnSequences = false)]
[Dense(7)]
public partial class LastStepLstm;

/// <summary>
/// A prompt is read in passes of many steps (the decoders' prefill, <c>Decode.FeedRows</c>): the last step's logits, the
/// state's position and the steps after it are what feeding the prompt a token at a time gives, for every stepping model of
/// the device suite and every encoder–decoder's decoder over its encoded sources, in one pass and in passes of a few steps.
/// </summary>
public class PrefillTests
{
    private const int Rows = 2, Length = 5;

    /// <summary>Two rows' prompts of five tokens (ids below every model's vocabulary), row-major.</summary>
    private static readonly int[] Tokens = [1, 2, 3, 1, 0, 2, 0, 1, 3, 2];

    [Theory]
    [MemberData(nameof(BeamRowsTests.SteppingModels), MemberType = typeof(BeamRowsTests))]
    public void APromptReadInPassesIsAPromptReadStepByStep(string name)
    {
        var model = (IModel<int>)DeviceModelTests.Create(name);
        int length = Math.Min(Length, ModelLimits.Positions(model)?.Positions - 1 ?? Length);
        int[] tokens = [.. Enumerable.Range(0, Rows).SelectMany(r => Tokens.Skip(r * Length).Take(length))];
        AssertPrefillSteps(model, () => model.CreateState(Rows), tokens, length, name);
    }

    [Theory]
    [MemberData(nameof(EncoderDecoderNames))]
    public void AnEncoderDecodersPrefixReadInPassesIsReadStepByStep(string name) => EncoderDecoders.Use(name, new Prefilling(name));

    public static TheoryData<string> EncoderDecoderNames() => [.. EncoderDecoders.Names];

    private sealed class Prefilling(string name) : IEncoderDecoderUse<bool>
    {
        public bool Use<TEncoder, TDecoder>(EncoderDecoderModel<int, TEncoder, TDecoder> model) where TEncoder : IEncoder<int> where TDecoder : IModel<int>
        {
            int[] source = [3, 1, 4, 1, 5, 9, 2, 6];
            IDecoderState encoded = model.Encode(new ReadOnlyTensorSpan<int>(source, [Rows, 4]), [4, 3]);
            IModelState Copy()
            {
                var state = (IDecoderState)model.Decoder.CreateState(Rows);
                state.CopyFrom(encoded);
                return state;
            }
            AssertPrefillSteps(model.Decoder, Copy, Tokens, Length, name);
            return true;
        }
    }

    /// <summary>
    /// Models a prompt is stepped through, which a pass would not leave as stepping does: one that returns its last step only
    /// (its Forward gives no step's logits), and rotary frequencies scaled by a pass's reach (dynamic NTK, LongRoPE), past their
    /// original context of 8 positions.
    /// </summary>
    [Theory]
    [InlineData(nameof(LastStepLstm))]
    [InlineData(nameof(HfTinyDynamicLlama))]
    [InlineData(nameof(HfTinyPhi3LongRope))]
    public void APromptAPassWouldChangeIsStepped(string name)
    {
        IModel<int> model = name switch
        {
            nameof(LastStepLstm) => new LastStepLstm(seed: 1),
            nameof(HfTinyDynamicLlama) => new HfTinyDynamicLlama(seed: 1),
            _ => new HfTinyPhi3LongRope(seed: 1),
        };
        const int length = 12;
        int[] tokens = [.. Enumerable.Range(0, Rows * length).Select(i => (i * 5 + 1) % 7)];
        IModelState stepped = model.CreateState(Rows);
        float[] expected = new float[Rows * model.OutputWidth];
        for (int t = 0; t < length; t++)
            model.Step(new ReadOnlyTensorSpan<int>([tokens[t], tokens[length + t]], [Rows]), stepped, new TensorSpan<float>(expected, [Rows, model.OutputWidth]));
        Assert.Equal(expected, Decode.FeedRows(model, model.CreateState(Rows), tokens, length));
        // and the decoders decode such a model from its prompt
        int[] greedy = Decode.Greedy(model, tokens.AsSpan(0, length), 3);
        Assert.Equal(3, greedy.Length);
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> [Rows, length] to fresh states of <paramref name="create"/> in one pass, in passes of two
    /// steps, and a step at a time; the logits after the prompt and after one more step must agree, and so must the positions.
    /// </summary>
    private static void AssertPrefillSteps(IModel<int> model, Func<IModelState> create, int[] tokens, int length, string name)
    {
        int v = model.OutputWidth;
        IModelState stepped = create();
        float[] steppedLogits = new float[Rows * v];
        for (int t = 0; t < length; t++)
            model.Step(new ReadOnlyTensorSpan<int>([tokens[t], tokens[length + t]], [Rows]), stepped, new TensorSpan<float>(steppedLogits, [Rows, v]));
        long position = stepped.Position;
        float[] after = Step(model, stepped);
        foreach (long passLogits in new[] { Decode.PrefillLogits, 2L * Rows * v })
        {
            IModelState state = create();
            float[] logits = Decode.FeedRows(model, state, tokens, length, passLogits);
            string what = $"{name}, passes of {Math.Min(length, passLogits / (Rows * v))} steps";
            Tolerance.AssertClose(steppedLogits, logits, what);
            Assert.Equal(position, state.Position);
            Tolerance.AssertClose(after, Step(model, state), $"{what}, the step after");
        }
    }

    private static float[] Step(IModel<int> model, IModelState state)
    {
        var logits = new float[Rows * model.OutputWidth];
        model.Step(new ReadOnlyTensorSpan<int>([2, 1], [Rows]), state, new TensorSpan<float>(logits, [Rows, model.OutputWidth]));
        return logits;
    }
}
