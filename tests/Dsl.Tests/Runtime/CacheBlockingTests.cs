using System.Runtime.Intrinsics.X86;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The GEMM's cache blocking follows the core's caches (<see cref="CacheSizes"/>, <see cref="GemmPath.Blocking"/>): the
/// blocking tuned on Zen 5 where the caches are as large, smaller KC and MC where they are not. CI runs the GEMM tests
/// again with smaller caches (<c>DSL_CACHE_L1D=32K</c> at the widest width and at 256 bits, with a 512 KiB L2 at 256 bits
/// and 256 KiB at 128), where the 512- and 256-bit paths take a shallower KC and the 256-bit path fewer rows.
/// </summary>
public class CacheBlockingTests
{
    [Theory]
    [InlineData("48K", 48 << 10)]
    [InlineData("1024K", 1 << 20)]
    [InlineData("1M", 1 << 20)]
    [InlineData(" 32k\n", 32 << 10)]
    [InlineData("2G", 0)]            // more than an int holds
    [InlineData("99999999999999999K", 0)]
    [InlineData("512KB", 0)]
    [InlineData("65536", 65536)]
    [InlineData("", 0)]
    [InlineData(null, 0)]
    [InlineData("K", 0)]
    [InlineData("-4K", 0)]
    [InlineData("0", 0)]
    [InlineData("12Q", 0)]
    public void SizesAreReadAsSysfsWritesThem(string? text, int bytes) => Assert.Equal(bytes, CacheSizes.Parse(text));

    [Theory]
    [InlineData("1M", 1 << 20, false)]
    [InlineData(null, 0, false)]
    [InlineData(" ", 0, false)]
    [InlineData("512KB", 0, true)]
    [InlineData("1.5M", 0, true)]
    public void AnOverrideThatIsNoSizeIsNamedAndIgnored(string? text, int bytes, bool warned)
    {
        var warnings = new StringWriter();
        Assert.Equal(bytes, CacheSizes.Override("DSL_CACHE_L2", text, warnings));
        if (warned) Assert.StartsWith($"Dsl: DSL_CACHE_L2='{text}' is not a cache size (expected bytes, or a whole number with K, M or G", warnings.ToString());
        else Assert.Empty(warnings.ToString());
    }

    [Fact]
    public void SysfsListsTheDataAndUnifiedCachesByLevel()
    {
        string root = Path.Combine(Path.GetTempPath(), "dsl-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            Index(0, "1", "Data", "32K");
            Index(1, "1", "Instruction", "64K");   // not a data cache: skipped
            Index(2, "2", "Unified", "512K");
            Index(3, "3", "Unified", "32768K");
            Assert.Equal((32 << 10, 512 << 10), CacheSizes.FromSysfs(root));
            File.Delete(Path.Combine(root, "index2", "size"));
            Assert.Equal((32 << 10, 0), CacheSizes.FromSysfs(root)); // a size not listed reads 0: the next source answers
            Assert.Equal((0, 0), CacheSizes.FromSysfs(Path.Combine(root, "missing")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        void Index(int i, string level, string type, string size)
        {
            string dir = Path.Combine(root, $"index{i}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "level"), level + "\n");
            File.WriteAllText(Path.Combine(dir, "type"), type + "\n");
            File.WriteAllText(Path.Combine(dir, "size"), size + "\n");
        }
    }

    [Fact]
    public void TheDetectedCachesArePlausibleAndSayWhereTheyCameFrom()
    {
        Assert.InRange(CacheSizes.L1Data, 4 << 10, 4 << 20);
        Assert.InRange(CacheSizes.L2, 64 << 10, 1 << 30);
        Assert.Contains(CacheSizes.Source, new[] { "environment", "sysfs", "cpuid", "fallback" });
        Assert.Contains($"KC {Gemm.Path.KC}, MC {Gemm.Path.MC}", Gemm.CacheBlocking);
        if (Environment.GetEnvironmentVariable("DSL_CACHE_L1D") is { Length: > 0 } l1)
        {
            Assert.Equal("environment", CacheSizes.Source);
            Assert.Equal(CacheSizes.Parse(l1), CacheSizes.L1Data);
        }
        if (X86Base.IsSupported)
        {
            // CPUID answers on every x64 processor (a hypervisor may hide a leaf: that size is then 0, and sysfs or the fallback answers)
            var (l1d, l2) = CacheSizes.FromCpuid();
            Assert.True(l1d == 0 || l1d >= 4 << 10, $"CPUID: L1d {l1d}");
            Assert.True(l2 == 0 || l2 >= 64 << 10, $"CPUID: L2 {l2}");
        }
        else Assert.Equal((0, 0), CacheSizes.FromCpuid());
    }

    [Fact]
    public void TheBlockingTunedOnZen5IsKeptWhereTheCachesAreAsLarge()
    {
        // Zen 5: 48 KiB L1d, 1 MiB L2 — the values measured in docs/performance.md
        Assert.Equal((192, 240), GemmPath.Blocking(192, 240, 32, 24, 48 << 10, 1 << 20));
        Assert.Equal((384, 288), GemmPath.Blocking(384, 288, 16, 6, 48 << 10, 1 << 20));
        Assert.Equal((256, 144), GemmPath.Blocking(256, 144, 8, 6, 48 << 10, 1 << 20));
        Assert.Equal((256, 128), GemmPath.Blocking(256, 128, 12, 8, 48 << 10, 1 << 20));
        // and larger caches change nothing either (Apple's 128 KiB L1d)
        Assert.Equal((384, 288), GemmPath.Blocking(384, 288, 16, 6, 128 << 10, 16 << 20));
    }

    [Fact]
    public void SmallerCachesTakeAShallowerDepthAndFewerRows()
    {
        // Zen 3 (issue 11's AVX2 machine): 32 KiB L1d, 512 KiB L2. The 256-bit path's 384-deep B sliver (24 KiB) and A sliver (9 KiB)
        // no longer fit L1 together: 256 deep (16 KiB), and an A block of 228 rows × 256 (228 KiB, 45 % of L2).
        Assert.Equal((256, 228), GemmPath.Blocking(384, 288, 16, 6, 32 << 10, 512 << 10));
        // Zen 4's AVX-512 (32 KiB L1d, 1 MiB L2): a 128-deep 32-column sliver
        Assert.Equal((128, 240), GemmPath.Blocking(192, 240, 32, 24, 32 << 10, 1 << 20));
        // Skylake client (32 KiB, 256 KiB): 114 rows
        Assert.Equal((256, 114), GemmPath.Blocking(384, 288, 16, 6, 32 << 10, 256 << 10));
        // tiny caches: never under 64 deep nor under one step of rows
        Assert.Equal((64, 6), GemmPath.Blocking(384, 288, 16, 6, 4 << 10, 2 << 10));

        foreach (int l1 in new[] { 16 << 10, 32 << 10, 48 << 10, 64 << 10 })
            foreach (int l2 in new[] { 256 << 10, 512 << 10, 1 << 20, 2 << 20 })
                foreach (var (kc, mc, nr, step) in new[] { (192, 240, 32, 24), (384, 288, 16, 6), (256, 144, 8, 6), (256, 128, 12, 8), (256, 128, 4, 4) })
                {
                    var (depth, rows) = GemmPath.Blocking(kc, mc, nr, step, l1, l2);
                    Assert.InRange(depth, 64, kc);
                    Assert.InRange(rows, step, mc);
                    Assert.Equal(0, rows % step);
                    if (depth < kc) Assert.True(depth * nr * sizeof(float) <= l1 / 2, $"KC {depth} × NR {nr} in half of {l1}");
                    if (rows < mc && rows > step) Assert.True(rows * depth * sizeof(float) <= 0.45 * l2, $"MC {rows} × KC {depth} in 45 % of {l2}");
                }
    }

    /// <summary>The paths are built with the caches this process detected (CI's reruns with smaller ones fail here if they are not).</summary>
    [Fact]
    public void EveryPathsBlockingFitsTheCachesThisProcessDetected()
    {
        foreach (GemmPath path in GemmPath.All)
        {
            Assert.True(path.KC * path.NR * sizeof(float) <= Math.Max(CacheSizes.L1Data / 2, 64 * path.NR * sizeof(float)), $"{path}: KC {path.KC}");
            Assert.True(path.MC * path.KC * sizeof(float) <= Math.Max(0.45 * CacheSizes.L2, path.KC * 24 * sizeof(float)), $"{path}: MC {path.MC}");
        }
    }
}
