using System.Numerics.Tensors;
using Dsl;

namespace DateTranslator;

/// <summary>
/// What the program needs of a translator, whichever its architecture: both models of Models.cs derive from the generated
/// <see cref="EncoderDecoderModel{TSource, TEncoder, TDecoder}"/>, whose public members implement this.
/// </summary>
public interface IDateTranslator
{
    ParameterSet Parameters { get; }

    float Backward(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput,
        ReadOnlyTensorSpan<int> targets, float teacherForcing = 1f);

    float Loss(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput, ReadOnlyTensorSpan<int> targets);

    int[] Greedy(ReadOnlyTensorSpan<int> source, int startToken, int maxLength, EndTokens endToken = default);

    IReadOnlyList<Hypothesis> Beam(ReadOnlyTensorSpan<int> source, int startToken, int beamWidth, int maxLength, EndTokens endToken = default, float lengthPenalty = 1f);

    Tensor<float> AttentionWeights(ReadOnlyTensorSpan<int> source, ReadOnlySpan<int> lengths, ReadOnlyTensorSpan<int> decoderInput, string? layer = null);
}

// Both translators are the program's IDateTranslator (their generated base class already has every member).
public partial class DateModel : IDateTranslator;

public partial class DateTransformer : IDateTranslator;
