using Dsl.Generator.Helpers;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Diagnostics;

/// <summary>A diagnostic as value-equatable data: the descriptor's ID, where, and the message arguments.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        new(descriptor.Id, location, System.Linq.Enumerable.Select(arguments, a => System.Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToEquatableArray());

    /// <summary>
    /// The diagnostic, its location resolved so that an analyzer may report it: in the first of <paramref name="preferred"/>
    /// (the model's own declaration trees), else of <paramref name="compilation"/>'s trees, whose path is the recorded one
    /// and which holds the span. (Trees without paths, as scripts and test hosts make, share one path: the first had been
    /// taken, and a span past its end made the analyzer throw.)
    /// </summary>
    public Diagnostic ToDiagnostic(Compilation compilation, System.Collections.Generic.IEnumerable<SyntaxTree?> preferred)
    {
        Microsoft.CodeAnalysis.Location location = Microsoft.CodeAnalysis.Location.None;
        if (Location is { } info)
        {
            foreach (SyntaxTree? tree in System.Linq.Enumerable.Concat(preferred, compilation.SyntaxTrees))
            {
                if (tree is not null && tree.FilePath == info.FilePath && info.TextSpan.End <= tree.Length)
                {
                    location = Microsoft.CodeAnalysis.Location.Create(tree, info.TextSpan);
                    break;
                }
            }
        }
        return Diagnostic.Create(DiagnosticDescriptors.ById(Id), location, System.Linq.Enumerable.ToArray<object>(Arguments));
    }
}
