using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit.Sdk;

namespace Dsl.Tests.Generator;

/// <summary>
/// A small snapshot helper with Verify's file conventions (Verify.SourceGenerators is not in the package
/// registry here): the accepted text lives in <c>Snapshots/{Class}.{Method}#{Name}.verified.cs</c> beside
/// the test; a difference writes <c>….received.cs</c> and fails with a line diff. Set
/// <c>DSL_ACCEPT_SNAPSHOTS=1</c> to accept the received text as the new verified one.
/// </summary>
internal static class Snapshot
{
    public static void Verify(string actual, string name, [CallerFilePath] string testFile = "", [CallerMemberName] string method = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(testFile)!, "Snapshots");
        string stem = $"{Path.GetFileNameWithoutExtension(testFile)}.{method}#{name}";
        string verified = Path.Combine(directory, stem + ".verified.cs");
        string received = Path.Combine(directory, stem + ".received.cs");
        actual = actual.Replace("\r\n", "\n");
        bool accept = Environment.GetEnvironmentVariable("DSL_ACCEPT_SNAPSHOTS") == "1";
        string? expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        Directory.CreateDirectory(directory);
        if (accept)
        {
            File.WriteAllText(verified, actual);
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        throw new XunitException(expected is null
            ? $"No snapshot {verified}; the output was written to {received}. Review it and run with DSL_ACCEPT_SNAPSHOTS=1 to accept."
            : $"Snapshot {stem} differs from {verified} (received: {received}; DSL_ACCEPT_SNAPSHOTS=1 accepts):\n{Diff(expected, actual)}");
    }

    private static string Diff(string expected, string actual)
    {
        DiffPaneModel model = new InlineDiffBuilder(new DiffPlex.Differ()).BuildDiffModel(expected, actual);
        var sb = new StringBuilder();
        int shown = 0;
        for (int i = 0; i < model.Lines.Count && shown < 60; i++)
        {
            DiffPiece line = model.Lines[i];
            if (line.Type == ChangeType.Unchanged) continue;
            sb.Append(line.Type == ChangeType.Inserted ? "+ " : "- ").Append(line.Position?.ToString() ?? "?").Append(": ").AppendLine(line.Text);
            shown++;
        }
        return sb.ToString();
    }
}
