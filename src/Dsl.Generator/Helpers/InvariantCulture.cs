using System;
using System.Globalization;

namespace Dsl.Generator.Helpers;

/// <summary>
/// Runs the generator's steps that write code under the invariant culture: the lowering and the emitters format numbers
/// by string interpolation, which follows the thread's culture — under sv-SE, nb-NO or fi-FI a negative number is written
/// with U+2212 (−), which C# does not read, and a user's whole build would fail. The culture is restored on the way out
/// (RS1035 bans the current culture in analyzers so that their messages are localisable; here it is set, not read, so
/// that generated source never depends on it.)
/// </summary>
#pragma warning disable RS1035
internal readonly struct InvariantCulture : IDisposable
{
    private readonly CultureInfo _saved;

    private InvariantCulture(CultureInfo saved) => _saved = saved;

    /// <summary>Sets the invariant culture on this thread until the returned scope is disposed.</summary>
    public static InvariantCulture Scope()
    {
        var scope = new InvariantCulture(CultureInfo.CurrentCulture);
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        return scope;
    }

    public void Dispose() => CultureInfo.CurrentCulture = _saved;

    /// <summary><paramref name="run"/>'s result, computed under the invariant culture.</summary>
    public static T Run<T>(Func<T> run)
    {
        using (Scope()) return run();
    }
}
#pragma warning restore RS1035
