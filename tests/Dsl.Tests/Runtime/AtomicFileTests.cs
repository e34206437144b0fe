using System.Text;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// Files written together (a graph and its data) replace the old ones only once all are written, and a failure at any
/// point — a write, a replacement — leaves every old file as it was and no temporary file behind.
/// </summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dsl-atomic-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static Action<Stream> Text(string text) => stream => stream.Write(Encoding.UTF8.GetBytes(text));

    private string[] Names() => Directory.GetFileSystemEntries(_folder).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void AllFilesReplaceTheOldOnesTogether()
    {
        File.WriteAllText(PathOf("a"), "old a");
        AtomicFile.WriteAll([(PathOf("a"), Text("new a")), (PathOf("b"), Text("new b"))]);
        Assert.Equal("new a", File.ReadAllText(PathOf("a")));
        Assert.Equal("new b", File.ReadAllText(PathOf("b")));
        Assert.Equal(["a", "b"], Names());
    }

    [Fact]
    public void AWriteThatFailsLeavesTheOldFilesAndNoTemporaryFile()
    {
        File.WriteAllText(PathOf("a"), "old a");
        File.WriteAllText(PathOf("b"), "old b");
        Assert.Throws<IOException>(() => AtomicFile.WriteAll([(PathOf("a"), Text("new a")), (PathOf("b"), _ => throw new IOException("disk full"))]));
        Assert.Equal("old a", File.ReadAllText(PathOf("a")));
        Assert.Equal("old b", File.ReadAllText(PathOf("b")));
        Assert.Equal(["a", "b"], Names());
    }

    [Fact]
    public void AReplacementThatFailsPutsBackTheFilesAlreadyReplaced()
    {
        // the second path is a folder: the first file is already in place when its move fails, and goes back to the old one
        File.WriteAllText(PathOf("a.data"), "old data");
        Directory.CreateDirectory(PathOf("a.onnx"));
        File.WriteAllText(PathOf("c"), "old c");
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAll([(PathOf("a.data"), Text("new data")), (PathOf("c"), Text("new c")), (PathOf("a.onnx"), Text("graph"))]));
        Assert.Equal("old data", File.ReadAllText(PathOf("a.data")));
        Assert.Equal("old c", File.ReadAllText(PathOf("c")));
        Assert.True(Directory.Exists(PathOf("a.onnx")));
        Assert.Equal(["a.data", "a.onnx", "c"], Names());
        // a file that did not exist before is gone again
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAll([(PathOf("fresh"), Text("new")), (PathOf("a.onnx"), Text("graph"))]));
        Assert.Equal(["a.data", "a.onnx", "c"], Names());
    }

    [Fact]
    public void APathGivenTwiceIsRefusedBeforeAnythingIsWritten()
    {
        File.WriteAllText(PathOf("a"), "old a");
        var e = Assert.Throws<ArgumentException>(() => AtomicFile.WriteAll([(PathOf("a"), Text("1")), (PathOf("b"), Text("2")), (Path.Combine(_folder, ".", "a"), Text("3"))]));
        Assert.Contains("among the files to write twice", e.Message);
        Assert.Equal("old a", File.ReadAllText(PathOf("a")));
        Assert.Equal(["a"], Names());
    }
}
