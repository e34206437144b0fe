using System;
using System.Globalization;
using System.IO;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// The data caches of one core, which size the GEMM's cache blocking (<see cref="GemmPath"/>: a B sliver [KC, NR] in half
/// of L1, an A block [MC, KC] in under half of L2, as BLIS's analytical model has it). Read once, from the first source
/// that answers: <c>DSL_CACHE_L1D</c> and <c>DSL_CACHE_L2</c> ("32K", "1M" or bytes; to override or to test), Linux's
/// <c>/sys/devices/system/cpu/cpu0/cache</c> (what <c>lscpu</c> reads, x64 and Arm64 alike), x86's CPUID (Windows and
/// macOS on x64: leaf 4 on Intel, 0x80000005/6 on AMD), else <see cref="FallbackL1"/> and <see cref="FallbackL2"/>.
/// </summary>
internal static class CacheSizes
{
    /// <summary>What is assumed where nothing answers: the smallest L1d and L2 of the x64 and Arm64 cores people deploy to.</summary>
    public const int FallbackL1 = 32 << 10, FallbackL2 = 512 << 10;

    private static readonly (int L1, int L2, string Source) s_detected = Detect();

    /// <summary>Bytes of L1 data cache per core.</summary>
    public static int L1Data => s_detected.L1;

    /// <summary>Bytes of L2 cache per core.</summary>
    public static int L2 => s_detected.L2;

    /// <summary>Where the sizes came from: "environment", "sysfs", "cpuid" or "fallback".</summary>
    public static string Source => s_detected.Source;

    /// <summary>"L1d 48 KiB, L2 1 MiB, sysfs": for benchmarks and diagnostics.</summary>
    public static string Describe() => $"L1d {Format(L1Data)}, L2 {Format(L2)}, {Source}";

    private static (int, int, string) Detect()
    {
        int l1 = Override("DSL_CACHE_L1D", Environment.GetEnvironmentVariable("DSL_CACHE_L1D"), Console.Error);
        int l2 = Override("DSL_CACHE_L2", Environment.GetEnvironmentVariable("DSL_CACHE_L2"), Console.Error);
        if (l1 > 0 || l2 > 0)
        {
            // one override alone keeps what the machine says of the other
            var (m1, m2, _) = FromMachine();
            return (l1 > 0 ? l1 : m1, l2 > 0 ? l2 : m2, "environment");
        }
        return FromMachine();
    }

    private static (int, int, string) FromMachine()
    {
        if (FromSysfs("/sys/devices/system/cpu/cpu0/cache") is (> 0, > 0) sys) return (sys.L1, sys.L2, "sysfs");
        if (FromCpuid() is (> 0, > 0) id) return (id.L1, id.L2, "cpuid");
        return (FallbackL1, FallbackL2, "fallback");
    }

    /// <summary>
    /// The L1 data and L2 sizes listed under <paramref name="root"/> (index0, index1, …: each a <c>level</c>, a <c>type</c>
    /// of Data, Instruction or Unified, and a <c>size</c> such as "48K"); 0 for one not listed.
    /// </summary>
    internal static (int L1, int L2) FromSysfs(string root)
    {
        int l1 = 0, l2 = 0;
        try
        {
            if (!Directory.Exists(root)) return (0, 0);
            foreach (string dir in Directory.GetDirectories(root, "index*"))
            {
                string level = Read(dir, "level"), type = Read(dir, "type");
                int size = Parse(Read(dir, "size"));
                if (type == "Instruction" || size <= 0) continue;
                if (level == "1") l1 = size;
                else if (level == "2") l2 = size;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
        return (l1, l2);

        static string Read(string dir, string name)
        {
            string path = Path.Combine(dir, name);
            return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
        }
    }

    /// <summary>The L1 data and L2 sizes x86's CPUID reports; (0, 0) on other processors.</summary>
    internal static (int L1, int L2) FromCpuid()
    {
        if (!X86Base.IsSupported) return (0, 0);
        var (maxLeaf, vendorB, vendorC, vendorD) = X86Base.CpuId(0, 0);
        bool amd = vendorB == 0x68747541 && vendorD == 0x69746E65 && vendorC == 0x444D4163; // "AuthenticAMD"
        if (!amd && maxLeaf >= 4)
        {
            // Intel's deterministic cache parameters: one subleaf per cache until a null type
            int d1 = 0, d2 = 0;
            for (int sub = 0; sub < 16; sub++)
            {
                var (eax, ebx, ecx, _) = X86Base.CpuId(4, sub);
                int type = eax & 0x1F, level = (eax >> 5) & 0x7;
                if (type == 0) break;
                if (type == 2) continue; // instruction
                long size = (long)(((ebx >> 22) & 0x3FF) + 1) * (((ebx >> 12) & 0x3FF) + 1) * ((ebx & 0xFFF) + 1) * ((long)(uint)ecx + 1);
                if (size > int.MaxValue) continue;
                if (level == 1) d1 = (int)size;
                else if (level == 2) d2 = (int)size;
            }
            if (d1 > 0 && d2 > 0) return (d1, d2);
        }
        // AMD's (and others') extended leaves: L1d in KiB in ECX[31:24] of 0x80000005, L2 in KiB in ECX[31:16] of 0x80000006
        uint maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        if (maxExtended < 0x80000006) return (0, 0);
        int l1 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) << 10;
        int l2 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000006), 0).Ecx >> 16) << 10;
        return (l1, l2);
    }

    /// <summary>
    /// The size an override <paramref name="variable"/> gives: 0 when it is unset, and 0 with a line on
    /// <paramref name="warnings"/> when it holds what is not a size (a typo had been ignored in silence). A warning, not an
    /// exception: the sizes are read where the first product runs, which an exception would make fail far from its cause.
    /// </summary>
    internal static int Override(string variable, string? text, TextWriter warnings)
    {
        int size = Parse(text);
        if (size == 0 && !string.IsNullOrWhiteSpace(text))
            warnings.WriteLine($"Dsl: {variable}='{text}' is not a cache size (expected bytes, or a whole number with K, M or G, such as 48K or 1M); it is ignored and the machine's size is used.");
        return size;
    }

    /// <summary>"48K", "1M", "2G" (sysfs's form) or plain bytes; 0 when empty or not a size.</summary>
    internal static int Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return 0;
        text = text.Trim();
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0 && n <= int.MaxValue / unit ? (int)(n * unit) : 0;
    }

    private static string Format(int bytes) =>
        bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
