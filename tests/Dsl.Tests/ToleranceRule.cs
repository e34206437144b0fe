namespace Dsl.Tests;

/// <summary>
/// The comparison every parity check makes, without a test framework (<see cref="Tolerance"/> throws its message;
/// tests/arm64 prints it): |actual − expected| ≤ rtol · |expected| + atol element-wise, with atol = rtol ·
/// <paramref name="scaleFraction"/> · max|expected| (so that values near zero in a tensor of ordinary magnitude are judged
/// at that tensor's scale).
/// </summary>
internal static class ToleranceRule
{
    /// <summary>Null when every value is close, else what differs first.</summary>
    public static string? Check(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float rtol = 1e-4f, float scaleFraction = 0.01f)
    {
        if (expected.Length != actual.Length) return $"{what}: expected {expected.Length} values, got {actual.Length}.";
        float scale = 0;
        foreach (float v in expected) scale = MathF.Max(scale, MathF.Abs(v));
        float atol = rtol * scaleFraction * MathF.Max(scale, 1e-3f);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (!(MathF.Abs(a - e) <= rtol * MathF.Abs(e) + atol))
                return $"{what}[{i}]: expected {e:R}, got {a:R} (|diff| {MathF.Abs(a - e):E2}, allowed {rtol * MathF.Abs(e) + atol:E2}).";
        }
        return null;
    }

    /// <summary>
    /// Null when every parameter's gradient matches the fixture's <c>grad.&lt;name&gt;</c> and the fixture has no gradient the
    /// model lacks (so that a parameter missing on either side fails), else what does not.
    /// </summary>
    public static string? CheckGradients(IReadOnlyDictionary<string, SafeTensor> expected, ParameterSet parameters, string what)
    {
        foreach (Parameter p in parameters)
        {
            if (!expected.TryGetValue("grad." + p.Name, out SafeTensor? grad)) return $"{what}: the fixture has no grad.{p.Name}.";
            if (Check(grad.ToFloat(), p.GradAsSpan(), $"{what} grad.{p.Name}") is { } failure) return failure;
        }
        int inFixture = expected.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal));
        return inFixture != parameters.Count ? $"{what}: the fixture has {inFixture} gradients, the model {parameters.Count} parameters." : null;
    }
}
