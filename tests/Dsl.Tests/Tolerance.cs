using Xunit.Sdk;

namespace Dsl.Tests;

internal static class Tolerance
{
    /// <summary>
    /// Asserts |actual − expected| ≤ rtol · |expected| + atol element-wise, with atol = rtol · <paramref name="scaleFraction"/> ·
    /// max|expected| (so that values near zero in a tensor of ordinary magnitude are judged at that tensor's scale).
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float rtol = 1e-4f, float scaleFraction = 0.01f)
    {
        if (expected.Length != actual.Length) throw new XunitException($"{what}: expected {expected.Length} values, got {actual.Length}.");
        float scale = 0;
        foreach (float v in expected) scale = MathF.Max(scale, MathF.Abs(v));
        float atol = rtol * scaleFraction * MathF.Max(scale, 1e-3f);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (!(MathF.Abs(a - e) <= rtol * MathF.Abs(e) + atol))
                throw new XunitException($"{what}[{i}]: expected {e:R}, got {a:R} (|diff| {MathF.Abs(a - e):E2}, allowed {rtol * MathF.Abs(e) + atol:E2}).");
        }
    }

    /// <summary>
    /// Every parameter's gradient matches the fixture's <c>grad.&lt;name&gt;</c>, and the fixture has no gradient the model
    /// lacks (so that a parameter missing on either side fails).
    /// </summary>
    public static void AssertGradients(IReadOnlyDictionary<string, SafeTensor> expected, ParameterSet parameters, string what)
    {
        foreach (Parameter p in parameters)
        {
            if (!expected.TryGetValue("grad." + p.Name, out SafeTensor? grad)) throw new XunitException($"{what}: the fixture has no grad.{p.Name}.");
            AssertClose(grad.ToFloat(), p.GradAsSpan(), $"{what} grad.{p.Name}");
        }
        int inFixture = expected.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal));
        if (inFixture != parameters.Count) throw new XunitException($"{what}: the fixture has {inFixture} gradients, the model {parameters.Count} parameters.");
    }
}
