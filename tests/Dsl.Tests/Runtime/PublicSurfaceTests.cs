using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The runtime's public surface carries no test hooks (they are internal, visible to this assembly only), and the
/// package is built to be debugged and versioned: an embedded portable PDB in Dsl.Runtime.dll, a package readme, a
/// version that <c>-p:Version=</c> or a suffix can set.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly Assembly s_runtime = typeof(Parameter).Assembly;

    [Fact]
    public void NoPublicMemberOfTheRuntimeIsATestHook()
    {
        var hooks = new List<string>();
        foreach (Type type in s_runtime.GetExportedTypes())
        {
            if (type.Name.Contains("Test", StringComparison.Ordinal)) hooks.Add(type.FullName!);
            foreach (MemberInfo member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (member.Name.Contains("Test", StringComparison.Ordinal) || member.Name.Contains("Hook", StringComparison.Ordinal))
                    hooks.Add($"{type.FullName}.{member.Name}");
            }
        }
        Assert.Empty(hooks);
        // The ones that existed: internal now, and still there for the tests that use them.
        Assert.False(typeof(SafeTensors).GetField("FailAfterBytesForTests", BindingFlags.NonPublic | BindingFlags.Static)!.IsPublic);
        Assert.True(typeof(ParameterSet).GetMethod("Prepare", BindingFlags.NonPublic | BindingFlags.Instance)!.IsAssembly);
        Assert.True(typeof(ParameterSet).GetMethod("Assign", BindingFlags.NonPublic | BindingFlags.Instance)!.IsAssembly);
    }

    [Fact]
    public void TheRuntimeCarriesAnEmbeddedPortablePdb()
    {
        using var stream = File.OpenRead(s_runtime.Location);
        using var pe = new PEReader(stream);
        DebugDirectoryEntry embedded = Assert.Single(pe.ReadDebugDirectory(), e => e.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
        using MetadataReaderProvider provider = pe.ReadEmbeddedPortablePdbDebugDirectoryData(embedded);
        MetadataReader pdb = provider.GetMetadataReader();
        var documents = pdb.Documents.Select(d => pdb.GetString(pdb.GetDocument(d).Name)).ToList();
        Assert.Contains(documents, d => d.EndsWith("SafeTensors.cs", StringComparison.Ordinal));
        Assert.True(pdb.MethodDebugInformation.Count > 100, $"{pdb.MethodDebugInformation.Count} methods with debug information");
        // No loose .pdb beside it: one file to ship.
        Assert.False(File.Exists(Path.ChangeExtension(s_runtime.Location, ".pdb")));
    }

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dsl.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("Dsl.sln");
    }

    [Fact]
    public void ThePackageHasAReadmeAndAnOverridableVersion()
    {
        XDocument package = XDocument.Load(Path.Combine(Root(), "src", "Dsl.Package", "Dsl.Package.csproj"));
        string readme = Assert.Single(package.Descendants("PackageReadmeFile")).Value;
        Assert.True(File.Exists(Path.Combine(Root(), "src", "Dsl.Package", readme)), readme);
        Assert.Contains(package.Descendants("None"), n => (string?)n.Attribute("Include") == readme && (string?)n.Attribute("Pack") == "true");
        // VersionPrefix, not Version: a plain Version would still yield to -p:Version, but not to a VersionSuffix.
        XDocument props = XDocument.Load(Path.Combine(Root(), "Directory.Build.props"));
        Assert.Empty(props.Descendants("Version"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", Assert.Single(props.Descendants("VersionPrefix")).Value);
        Assert.StartsWith(Assert.Single(props.Descendants("VersionPrefix")).Value, s_runtime.GetName().Version!.ToString());
    }
}
