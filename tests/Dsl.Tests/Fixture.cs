namespace Dsl.Tests;

internal static class Fixture
{
    /// <summary>The path of a committed fixture file (copied beside the test assembly).</summary>
    public static string Path(string file) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", file);
}
