using Dsl.Generator.Helpers;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Diagnostics;

/// <summary>A diagnostic as value-equatable data: the descriptor's ID, where, and the message arguments.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        new(descriptor.Id, location, System.Linq.Enumerable.Select(arguments, a => System.Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToEquatableArray());

    /// <summary>The diagnostic, its location resolved against <paramref name="compilation"/>'s syntax trees so that an analyzer may report it.</summary>
    public Diagnostic ToDiagnostic(Compilation compilation)
    {
        Microsoft.CodeAnalysis.Location location = Microsoft.CodeAnalysis.Location.None;
        if (Location is { } info)
        {
            foreach (SyntaxTree tree in compilation.SyntaxTrees)
            {
                if (tree.FilePath == info.FilePath)
                {
                    location = Microsoft.CodeAnalysis.Location.Create(tree, info.TextSpan);
                    break;
                }
            }
        }
        return Diagnostic.Create(DiagnosticDescriptors.ById(Id), location, System.Linq.Enumerable.ToArray<object>(Arguments));
    }
}
