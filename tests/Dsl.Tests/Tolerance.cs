using Xunit.Sdk;

namespace Dsl.Tests;

internal static class Tolerance
{
    /// <summary>Asserts <see cref="ToleranceRule.Check"/>: |actual − expected| ≤ rtol · |expected| + rtol · scaleFraction · max|expected|.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float rtol = 1e-4f, float scaleFraction = 0.01f)
    {
        if (ToleranceRule.Check(expected, actual, what, rtol, scaleFraction) is { } failure) throw new XunitException(failure);
    }

    /// <summary>Asserts <see cref="ToleranceRule.CheckGradients"/>: every gradient matches the fixture's, and the fixture has no other.</summary>
    public static void AssertGradients(IReadOnlyDictionary<string, SafeTensor> expected, ParameterSet parameters, string what)
    {
        if (ToleranceRule.CheckGradients(expected, parameters, what) is { } failure) throw new XunitException(failure);
    }
}
