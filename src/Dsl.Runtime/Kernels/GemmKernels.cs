using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// One way of running the packed product: a register-blocked micro-kernel of <see cref="MR"/> × <see cref="NR"/> and
/// the cache blocking (KC, MC, NC) that suits it, as BLIS keeps one kernel and one set of blocking parameters per
/// instruction set. <see cref="Select"/> picks the widest this process accelerates; every other supported path stays
/// callable (tests run each of them against <see cref="GemmReference"/>).
/// </summary>
internal sealed class GemmPath
{
    internal enum Kernel { V512, V256, V128, V128Arm, Scalar }

    private GemmPath(string name, Kernel kernel, int mr, int nr, int kc, int mc, int rowStep, int nc, int bits, bool supported)
    {
        Name = name; Id = kernel; MR = mr; NR = nr; NC = nc; Bits = bits; Supported = supported;
        (KC, MC) = Blocking(kc, mc, nr, rowStep, CacheSizes.L1Data, CacheSizes.L2);
    }

    /// <summary>
    /// KC and MC for a core with <paramref name="l1"/> bytes of L1d and <paramref name="l2"/> of L2: the depth and rows
    /// tuned on Zen 5 (48 KiB L1d, 1 MiB L2), or less where the caches are smaller — KC so that a B sliver [KC, NR] fills
    /// at most half of L1 (a multiple of 16, at least 64: the A sliver and C's lines need the rest), MC so that an A block
    /// [MC, KC] fills at most 45 % of L2 (a multiple of <paramref name="rowStep"/>, at least one: B's slivers stream
    /// through the rest), as in BLIS's analytical model of the cache hierarchy. On a 32 KiB L1 (Zen 2 to 4, Intel client
    /// cores before Ice Lake) the 256-bit path takes KC = 256 instead of 384, whose B sliver and A sliver together
    /// overflowed it.
    /// </summary>
    internal static (int KC, int MC) Blocking(int kc, int mc, int nr, int rowStep, int l1, int l2)
    {
        int depth = Math.Min(kc, Math.Max(64, l1 / 2 / (nr * sizeof(float)) / 16 * 16));
        int rows = Math.Min(mc, Math.Max(rowStep, (int)(0.45 * l2 / (depth * sizeof(float))) / rowStep * rowStep));
        return (depth, rows);
    }

    /// <summary>
    /// Whether products on this path read A where it lies (<see cref="GemmJob.ReadsAInPlace"/>): the x64 paths, where it was
    /// measured (Zen 5, one thread, a Transformer layer's products over 4096 rows: forward and dX 1.04–1.18× as fast at 512
    /// bits, 1.01–1.12× at 256, 1.01–1.07× at 128; weight gradients 1.0–1.4× at 512 and 1.0–1.2× at 256); Arm64 and the
    /// scalar kernel pack A as before.
    /// </summary>
    public bool ReadsAInPlace => Id is Kernel.V512 or Kernel.V256 or Kernel.V128;

    /// <summary>The name tests and benchmarks print and compare: vector width and register tile.</summary>
    public string Name { get; }
    public Kernel Id { get; }
    /// <summary>Rows × columns of the register tile.</summary>
    public int MR { get; }
    public int NR { get; }
    /// <summary>Depth of a packed block (an MR × KC sliver of A and a KC × NR sliver of B stay in L1), rows of A packed at once (L2), columns of B packed at once.</summary>
    public int KC { get; }
    public int MC { get; }
    public int NC { get; }

    /// <summary>
    /// The depth of the k-blocks of a product of depth <paramref name="k"/>: KC at most, the blocks made equal (256 = 2 × 128
    /// rather than 192 + 64, where the short block would pay a full load and store of C for a quarter of the work).
    /// Packing a B once and multiplying by it use the same blocks.
    /// </summary>
    public int Depth(int k) => Depth(k, KC);

    /// <summary>The depth of the k-blocks of a product of depth <paramref name="k"/> cut into blocks of at most <paramref name="kc"/>.</summary>
    internal static int Depth(int k, int kc)
    {
        long blocks = ((long)k + kc - 1) / kc; // in long: a depth near int.MaxValue wrapped round to one block of all of it
        return blocks <= 1 ? Math.Max(k, 1) : (int)(((long)k + blocks - 1) / blocks);
    }

    /// <summary>
    /// Rows of A packed at once, every k-block of them, for a product of <paramref name="c"/> floats of C and depth
    /// <paramref name="k"/> in C-resident order (the k-blocks inside the rows, so that C is loaded from memory once), or 0 for
    /// BLIS's order (a k-block at a time). The C-resident order is for a C too large for the caches (8 MB or more: a
    /// projection of 8192 rows, 2048 columns and depth 512 ran 0.87–0.90× as long, 4096 rows 0.89×, 2048 rows 0.93–0.95×;
    /// 768³ 1.03× as long) with more than one k-block, and an A panel of at least half MC rows within twice BLIS's MC × KC
    /// budget (a deeper product keeps BLIS's order: 1024³ with 88-row panels was no faster, a weight gradient over every step).
    /// </summary>
    public int ResidentRows(long c, int k, int mr)
    {
        if (Depth(k) >= k || c < ResidentC) return 0;
        int rows = Math.Min(MC, 2 * MC * KC / k / mr * mr);
        return rows >= MC / 2 && rows >= mr ? rows : 0;
    }

    /// <summary>Floats of C from which the C-resident order pays (8 MB).</summary>
    private const long ResidentC = 1L << 21;

    /// <summary>Width of the vectors the kernel uses (32 for the scalar kernel).</summary>
    public int Bits { get; }
    /// <summary>Whether this process can run the path (its vectors are hardware-accelerated).</summary>
    public bool Supported { get; }

    public override string ToString() => Name;

    // The blocking was measured on Zen 5 (48 KiB L1, 1 MiB L2 per core) with GEMM 512³ and 1024³ on one thread
    // (docs/performance.md): KC keeps the B sliver [KC, NR] within about half of L1, MC × KC of A within L2. On smaller
    // caches (CacheSizes) Blocking shrinks them.

    /// <summary>
    /// 32 zmm: 16 accumulators, two B vectors and a broadcast; products of <see cref="TallRows"/> rows or more take the
    /// 12 × 32 tile (24 accumulators), which loads B less often per multiply-add but wastes more rows on a short product.
    /// Both read the same packed B (NR and KC are the same), so a B packed once serves either.
    /// </summary>
    public static readonly GemmPath V512 = new("v512-8x32", Kernel.V512, 8, 32, 192, 240, 24, 2048, 512, Vector512.IsHardwareAccelerated);

    /// <summary>Rows from which the 512-bit path uses its 12 × 32 tile (measured: 512³ and 1024³ about 5 % faster on one thread).</summary>
    public const int TallRows = 96;

    /// <summary>16 ymm: 12 accumulators, two B vectors and a broadcast (BLIS's Haswell sgemm tile).</summary>
    public static readonly GemmPath V256 = new("v256-6x16", Kernel.V256, 6, 16, 384, 288, 6, 4096, 256, Vector256.IsHardwareAccelerated);

    /// <summary>16 xmm (x64): 12 accumulators, two B vectors and a broadcast.</summary>
    public static readonly GemmPath V128 = new("v128-6x8", Kernel.V128, 6, 8, 256, 144, 6, 2048, 128, Vector128.IsHardwareAccelerated);

    /// <summary>32 q registers (Arm64): 24 accumulators, three B vectors and a broadcast (BLIS's Armv8 sgemm tile).</summary>
    public static readonly GemmPath V128Arm = new("v128-8x12", Kernel.V128Arm, 8, 12, 256, 128, 8, 2040, 128, Vector128.IsHardwareAccelerated);

    /// <summary>No vectors: 16 scalar accumulators.</summary>
    public static readonly GemmPath Scalar = new("scalar-4x4", Kernel.Scalar, 4, 4, 256, 128, 4, 2048, 32, true);

    /// <summary>Every path, widest first.</summary>
    public static readonly GemmPath[] All = [V512, V256, V128Arm, V128, Scalar];

    /// <summary>The widest path this process accelerates (128-bit vectors take the Arm64 tile on Arm64, where there are 32 registers).</summary>
    public static GemmPath Select() =>
        Vector512.IsHardwareAccelerated ? V512
        : Vector256.IsHardwareAccelerated ? V256
        : Vector128.IsHardwareAccelerated ? (AdvSimd.Arm64.IsSupported ? V128Arm : V128)
        : Scalar;
}

/// <summary>A register-blocked micro-kernel: C[mr, nr] (+)= Ã · B̃ for one packed A sliver [kc, MR] and one packed B sliver [kc, NR].</summary>
internal unsafe interface IMicroKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }

    /// <summary>
    /// Adds the product of the slivers to C (row stride <paramref name="ldc"/>), or, when <paramref name="init"/> is not null,
    /// writes it there added to the row <paramref name="init"/> [NR] in every row (a bias, or zeros: C's first k-block);
    /// an edge tile (<paramref name="mr"/> &lt; MR or <paramref name="nr"/> &lt; NR) goes through <paramref name="tile"/>
    /// [MR × NR] and only its valid part reaches C.
    /// </summary>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init);

    /// <summary>
    /// One row of A (a matrix-vector product): the full tile would spend most of its multiply-adds on padding. A's k-th
    /// value is <paramref name="a"/>[k · <paramref name="sa"/>]: a packed sliver (MR) or the row itself, unpacked.
    /// </summary>
    static abstract void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init);

    /// <summary>Copies the NR contiguous values of one row of B into its packed sliver.</summary>
    static abstract void CopyRow(float* src, float* dst);
}

/// <summary>
/// A micro-kernel that also reads A and B where they lie (<see cref="Gemm"/>'s direct path for small products, which packs
/// neither): its packed <see cref="IMicroKernel.Run"/> is this with a packed sliver's strides.
/// </summary>
internal unsafe interface IDirectKernel : IMicroKernel
{
    /// <summary>
    /// As <see cref="IMicroKernel.Run"/> with A(i, p) = <paramref name="a"/>[i · <paramref name="rsA"/> + p ·
    /// <paramref name="csA"/>] (a packed sliver: 1 and MR) and B's NR values of step p at <paramref name="b"/> + p ·
    /// <paramref name="ldb"/> (a packed sliver: NR). The rows of an edge tile past <paramref name="mr"/> read A's last row
    /// again (their sums are dropped): nothing past A is read.
    /// </summary>
    static abstract void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init);
}

/// <summary>Multiply-adds that use the fused instruction where the hardware has it, else a multiply and an add (never the software fallback).</summary>
internal static class Madd
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Of(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Of(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b) : a * b + c;
}

/// <summary>8 × 32 with <see cref="Vector512{T}"/>.</summary>
internal readonly unsafe struct Kernel512x8x32 : IDirectKernel
{
    public static int MR => 8;
    public static int NR => 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init) =>
        RunStrided(kc, a, 1, 8, b, 32, c, ldc, mr, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        GemmEdge.Prefetch(c, ldc, mr, nr);
        if (nr <= 16)
        {
            HalfTile.Run<Lanes512, HalfTile.Rows8>(kc, a, rsA, csA, b, ldb, c, ldc, mr, nr, tile, init);
            return;
        }
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        // row i of A is a[i·rsA + p·csA] (a packed sliver: rsA = 1, csA = MR); rows past mr repeat the last one, their sums dropped
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        float* a4 = a + Math.Min(4, mr - 1) * rsA, a5 = a + Math.Min(5, mr - 1) * rsA, a6 = a + Math.Min(6, mr - 1) * rsA, a7 = a + Math.Min(7, mr - 1) * rsA;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> x = Vector512.Create(a0[q]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[q]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[q]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[q]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[q]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[q]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[q]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[q]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        if (mr == 8 && nr == 32)
        {
            Add(c, c00, c01, init); Add(c + ldc, c10, c11, init); Add(c + 2 * ldc, c20, c21, init); Add(c + 3 * ldc, c30, c31, init);
            Add(c + 4 * ldc, c40, c41, init); Add(c + 5 * ldc, c50, c51, init); Add(c + 6 * ldc, c60, c61, init); Add(c + 7 * ldc, c70, c71, init);
            return;
        }
        c00.Store(tile); c01.Store(tile + 16); c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80); c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144); c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208); c70.Store(tile + 224); c71.Store(tile + 240);
        GemmEdge.Add(c, ldc, tile, 32, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init) => RowKernel.Run<Lanes512>(kc, a, sa, b, c, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst)
    {
        Vector512.Load(src).Store(dst);
        Vector512.Load(src + 16).Store(dst + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector512<float> x0, Vector512<float> x1, float* init)
    {
        ((init == null ? Vector512.Load(c) : Vector512.Load(init)) + x0).Store(c);
        ((init == null ? Vector512.Load(c + 16) : Vector512.Load(init + 16)) + x1).Store(c + 16);
    }
}

/// <summary>12 × 32 with <see cref="Vector512{T}"/>: 24 accumulators, two B vectors and a broadcast (BLIS's SKX sgemm tile, transposed).</summary>
internal readonly unsafe struct Kernel512x12x32 : IMicroKernel
{
    public static int MR => 12;
    public static int NR => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        GemmEdge.Prefetch(c, ldc, mr, nr);
        if (nr <= 16)
        {
            HalfTile.Run<Lanes512, HalfTile.Rows12>(kc, a, 1, MR, b, NR, c, ldc, mr, nr, tile, init);
            return;
        }
        Vector512<float> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default, c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default, c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default, c9a = default, c9b = default, c10a = default, c10b = default, c11a = default, c11b = default;
        for (int p = 0; p < kc; p++, a += 12, b += 32)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(a[0]); c0a = Vector512.FusedMultiplyAdd(x, b0, c0a); c0b = Vector512.FusedMultiplyAdd(x, b1, c0b);
            x = Vector512.Create(a[1]); c1a = Vector512.FusedMultiplyAdd(x, b0, c1a); c1b = Vector512.FusedMultiplyAdd(x, b1, c1b);
            x = Vector512.Create(a[2]); c2a = Vector512.FusedMultiplyAdd(x, b0, c2a); c2b = Vector512.FusedMultiplyAdd(x, b1, c2b);
            x = Vector512.Create(a[3]); c3a = Vector512.FusedMultiplyAdd(x, b0, c3a); c3b = Vector512.FusedMultiplyAdd(x, b1, c3b);
            x = Vector512.Create(a[4]); c4a = Vector512.FusedMultiplyAdd(x, b0, c4a); c4b = Vector512.FusedMultiplyAdd(x, b1, c4b);
            x = Vector512.Create(a[5]); c5a = Vector512.FusedMultiplyAdd(x, b0, c5a); c5b = Vector512.FusedMultiplyAdd(x, b1, c5b);
            x = Vector512.Create(a[6]); c6a = Vector512.FusedMultiplyAdd(x, b0, c6a); c6b = Vector512.FusedMultiplyAdd(x, b1, c6b);
            x = Vector512.Create(a[7]); c7a = Vector512.FusedMultiplyAdd(x, b0, c7a); c7b = Vector512.FusedMultiplyAdd(x, b1, c7b);
            x = Vector512.Create(a[8]); c8a = Vector512.FusedMultiplyAdd(x, b0, c8a); c8b = Vector512.FusedMultiplyAdd(x, b1, c8b);
            x = Vector512.Create(a[9]); c9a = Vector512.FusedMultiplyAdd(x, b0, c9a); c9b = Vector512.FusedMultiplyAdd(x, b1, c9b);
            x = Vector512.Create(a[10]); c10a = Vector512.FusedMultiplyAdd(x, b0, c10a); c10b = Vector512.FusedMultiplyAdd(x, b1, c10b);
            x = Vector512.Create(a[11]); c11a = Vector512.FusedMultiplyAdd(x, b0, c11a); c11b = Vector512.FusedMultiplyAdd(x, b1, c11b);
        }
        if (mr == 12 && nr == 32)
        {
            Add(c + 0 * ldc, c0a, c0b, init);
            Add(c + 1 * ldc, c1a, c1b, init);
            Add(c + 2 * ldc, c2a, c2b, init);
            Add(c + 3 * ldc, c3a, c3b, init);
            Add(c + 4 * ldc, c4a, c4b, init);
            Add(c + 5 * ldc, c5a, c5b, init);
            Add(c + 6 * ldc, c6a, c6b, init);
            Add(c + 7 * ldc, c7a, c7b, init);
            Add(c + 8 * ldc, c8a, c8b, init);
            Add(c + 9 * ldc, c9a, c9b, init);
            Add(c + 10 * ldc, c10a, c10b, init);
            Add(c + 11 * ldc, c11a, c11b, init);
            return;
        }
        c0a.Store(tile + 0); c0b.Store(tile + 16);
        c1a.Store(tile + 32); c1b.Store(tile + 48);
        c2a.Store(tile + 64); c2b.Store(tile + 80);
        c3a.Store(tile + 96); c3b.Store(tile + 112);
        c4a.Store(tile + 128); c4b.Store(tile + 144);
        c5a.Store(tile + 160); c5b.Store(tile + 176);
        c6a.Store(tile + 192); c6b.Store(tile + 208);
        c7a.Store(tile + 224); c7b.Store(tile + 240);
        c8a.Store(tile + 256); c8b.Store(tile + 272);
        c9a.Store(tile + 288); c9b.Store(tile + 304);
        c10a.Store(tile + 320); c10b.Store(tile + 336);
        c11a.Store(tile + 352); c11b.Store(tile + 368);
        GemmEdge.Add(c, ldc, tile, 32, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init) => RowKernel.Run<Lanes512>(kc, a, sa, b, c, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst) => Kernel512x8x32.CopyRow(src, dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector512<float> x0, Vector512<float> x1, float* init)
    {
        ((init == null ? Vector512.Load(c) : Vector512.Load(init)) + x0).Store(c);
        ((init == null ? Vector512.Load(c + 16) : Vector512.Load(init + 16)) + x1).Store(c + 16);
    }
}

/// <summary>6 × 16 with <see cref="Vector256{T}"/> (FMA where the machine has it).</summary>
internal readonly unsafe struct Kernel256x6x16 : IDirectKernel
{
    public static int MR => 6;
    public static int NR => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init) =>
        RunStrided(kc, a, 1, 6, b, 16, c, ldc, mr, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        GemmEdge.Prefetch(c, ldc, mr, nr);
        if (nr <= 8)
        {
            HalfTile.Run<Lanes256, HalfTile.Rows6>(kc, a, rsA, csA, b, ldb, c, ldc, mr, nr, tile, init);
            return;
        }
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // row i of A is a[i·rsA + p·csA] (a packed sliver: rsA = 1, csA = MR); rows past mr repeat the last one, their sums dropped
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        float* a4 = a + Math.Min(4, mr - 1) * rsA, a5 = a + Math.Min(5, mr - 1) * rsA;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> x = Vector256.Create(a0[q]);
            c00 = Madd.Of(x, b0, c00); c01 = Madd.Of(x, b1, c01);
            x = Vector256.Create(a1[q]);
            c10 = Madd.Of(x, b0, c10); c11 = Madd.Of(x, b1, c11);
            x = Vector256.Create(a2[q]);
            c20 = Madd.Of(x, b0, c20); c21 = Madd.Of(x, b1, c21);
            x = Vector256.Create(a3[q]);
            c30 = Madd.Of(x, b0, c30); c31 = Madd.Of(x, b1, c31);
            x = Vector256.Create(a4[q]);
            c40 = Madd.Of(x, b0, c40); c41 = Madd.Of(x, b1, c41);
            x = Vector256.Create(a5[q]);
            c50 = Madd.Of(x, b0, c50); c51 = Madd.Of(x, b1, c51);
        }
        if (mr == 6 && nr == 16)
        {
            Add(c, c00, c01, init); Add(c + ldc, c10, c11, init); Add(c + 2 * ldc, c20, c21, init);
            Add(c + 3 * ldc, c30, c31, init); Add(c + 4 * ldc, c40, c41, init); Add(c + 5 * ldc, c50, c51, init);
            return;
        }
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24); c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56); c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
        GemmEdge.Add(c, ldc, tile, 16, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init) => RowKernel.Run<Lanes256>(kc, a, sa, b, c, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst)
    {
        Vector256.Load(src).Store(dst);
        Vector256.Load(src + 8).Store(dst + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector256<float> x0, Vector256<float> x1, float* init)
    {
        ((init == null ? Vector256.Load(c) : Vector256.Load(init)) + x0).Store(c);
        ((init == null ? Vector256.Load(c + 8) : Vector256.Load(init + 8)) + x1).Store(c + 8);
    }
}

/// <summary>6 × 8 with <see cref="Vector128{T}"/>: the x64 tile (16 xmm registers without AVX-512).</summary>
internal readonly unsafe struct Kernel128x6x8 : IDirectKernel
{
    public static int MR => 6;
    public static int NR => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init) =>
        RunStrided(kc, a, 1, 6, b, 8, c, ldc, mr, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        GemmEdge.Prefetch(c, ldc, mr, nr);
        if (nr <= 4)
        {
            HalfTile.Run<Lanes128, HalfTile.Rows6>(kc, a, rsA, csA, b, ldb, c, ldc, mr, nr, tile, init);
            return;
        }
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // row i of A is a[i·rsA + p·csA] (a packed sliver: rsA = 1, csA = MR); rows past mr repeat the last one, their sums dropped
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        float* a4 = a + Math.Min(4, mr - 1) * rsA, a5 = a + Math.Min(5, mr - 1) * rsA;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4);
            Vector128<float> x = Vector128.Create(a0[q]);
            c00 = Madd.Of(x, b0, c00); c01 = Madd.Of(x, b1, c01);
            x = Vector128.Create(a1[q]);
            c10 = Madd.Of(x, b0, c10); c11 = Madd.Of(x, b1, c11);
            x = Vector128.Create(a2[q]);
            c20 = Madd.Of(x, b0, c20); c21 = Madd.Of(x, b1, c21);
            x = Vector128.Create(a3[q]);
            c30 = Madd.Of(x, b0, c30); c31 = Madd.Of(x, b1, c31);
            x = Vector128.Create(a4[q]);
            c40 = Madd.Of(x, b0, c40); c41 = Madd.Of(x, b1, c41);
            x = Vector128.Create(a5[q]);
            c50 = Madd.Of(x, b0, c50); c51 = Madd.Of(x, b1, c51);
        }
        if (mr == 6 && nr == 8)
        {
            Add(c, c00, c01, init); Add(c + ldc, c10, c11, init); Add(c + 2 * ldc, c20, c21, init);
            Add(c + 3 * ldc, c30, c31, init); Add(c + 4 * ldc, c40, c41, init); Add(c + 5 * ldc, c50, c51, init);
            return;
        }
        c00.Store(tile); c01.Store(tile + 4); c10.Store(tile + 8); c11.Store(tile + 12); c20.Store(tile + 16); c21.Store(tile + 20);
        c30.Store(tile + 24); c31.Store(tile + 28); c40.Store(tile + 32); c41.Store(tile + 36); c50.Store(tile + 40); c51.Store(tile + 44);
        GemmEdge.Add(c, ldc, tile, 8, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init) => RowKernel.Run<Lanes128>(kc, a, sa, b, c, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst)
    {
        Vector128.Load(src).Store(dst);
        Vector128.Load(src + 4).Store(dst + 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector128<float> x0, Vector128<float> x1, float* init)
    {
        ((init == null ? Vector128.Load(c) : Vector128.Load(init)) + x0).Store(c);
        ((init == null ? Vector128.Load(c + 4) : Vector128.Load(init + 4)) + x1).Store(c + 4);
    }
}

/// <summary>8 × 12 with <see cref="Vector128{T}"/>: the Arm64 tile (32 q registers), as BLIS's Armv8 sgemm kernel.</summary>
internal readonly unsafe struct Kernel128x8x12 : IDirectKernel
{
    public static int MR => 8;
    public static int NR => 12;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init) =>
        RunStrided(kc, a, 1, 8, b, 12, c, ldc, mr, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        GemmEdge.Prefetch(c, ldc, mr, nr);
        if (nr <= 4)
        {
            HalfTile.Run<Lanes128, HalfTile.Rows8>(kc, a, rsA, csA, b, ldb, c, ldc, mr, nr, tile, init);
            return;
        }
        Vector128<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector128<float> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector128<float> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        // row i of A is a[i·rsA + p·csA] (a packed sliver: rsA = 1, csA = MR); rows past mr repeat the last one, their sums dropped
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        float* a4 = a + Math.Min(4, mr - 1) * rsA, a5 = a + Math.Min(5, mr - 1) * rsA, a6 = a + Math.Min(6, mr - 1) * rsA, a7 = a + Math.Min(7, mr - 1) * rsA;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4), b2 = Vector128.Load(b + 8);
            Vector128<float> x = Vector128.Create(a0[q]);
            c00 = Madd.Of(x, b0, c00); c01 = Madd.Of(x, b1, c01); c02 = Madd.Of(x, b2, c02);
            x = Vector128.Create(a1[q]);
            c10 = Madd.Of(x, b0, c10); c11 = Madd.Of(x, b1, c11); c12 = Madd.Of(x, b2, c12);
            x = Vector128.Create(a2[q]);
            c20 = Madd.Of(x, b0, c20); c21 = Madd.Of(x, b1, c21); c22 = Madd.Of(x, b2, c22);
            x = Vector128.Create(a3[q]);
            c30 = Madd.Of(x, b0, c30); c31 = Madd.Of(x, b1, c31); c32 = Madd.Of(x, b2, c32);
            x = Vector128.Create(a4[q]);
            c40 = Madd.Of(x, b0, c40); c41 = Madd.Of(x, b1, c41); c42 = Madd.Of(x, b2, c42);
            x = Vector128.Create(a5[q]);
            c50 = Madd.Of(x, b0, c50); c51 = Madd.Of(x, b1, c51); c52 = Madd.Of(x, b2, c52);
            x = Vector128.Create(a6[q]);
            c60 = Madd.Of(x, b0, c60); c61 = Madd.Of(x, b1, c61); c62 = Madd.Of(x, b2, c62);
            x = Vector128.Create(a7[q]);
            c70 = Madd.Of(x, b0, c70); c71 = Madd.Of(x, b1, c71); c72 = Madd.Of(x, b2, c72);
        }
        if (mr == 8 && nr == 12)
        {
            Add(c, c00, c01, c02, init); Add(c + ldc, c10, c11, c12, init); Add(c + 2 * ldc, c20, c21, c22, init); Add(c + 3 * ldc, c30, c31, c32, init);
            Add(c + 4 * ldc, c40, c41, c42, init); Add(c + 5 * ldc, c50, c51, c52, init); Add(c + 6 * ldc, c60, c61, c62, init); Add(c + 7 * ldc, c70, c71, c72, init);
            return;
        }
        Put(tile, c00, c01, c02); Put(tile + 12, c10, c11, c12); Put(tile + 24, c20, c21, c22); Put(tile + 36, c30, c31, c32);
        Put(tile + 48, c40, c41, c42); Put(tile + 60, c50, c51, c52); Put(tile + 72, c60, c61, c62); Put(tile + 84, c70, c71, c72);
        GemmEdge.Add(c, ldc, tile, 12, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init)
    {
        // Four steps of k at a time into four triples of accumulators: one row has no other rows to hide the multiply-add latency behind.
        Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector128<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        int p = 0;
        for (; p + 3 < kc; p += 4, a += 4 * sa, b += 48)
        {
            Vector128<float> x0 = Vector128.Create(a[0]), x1 = Vector128.Create(a[sa]), x2 = Vector128.Create(a[2 * sa]), x3 = Vector128.Create(a[3 * sa]);
            c0 = Madd.Of(x0, Vector128.Load(b), c0); c1 = Madd.Of(x0, Vector128.Load(b + 4), c1); c2 = Madd.Of(x0, Vector128.Load(b + 8), c2);
            c3 = Madd.Of(x1, Vector128.Load(b + 12), c3); c4 = Madd.Of(x1, Vector128.Load(b + 16), c4); c5 = Madd.Of(x1, Vector128.Load(b + 20), c5);
            c6 = Madd.Of(x2, Vector128.Load(b + 24), c6); c7 = Madd.Of(x2, Vector128.Load(b + 28), c7); c8 = Madd.Of(x2, Vector128.Load(b + 32), c8);
            c9 = Madd.Of(x3, Vector128.Load(b + 36), c9); c10 = Madd.Of(x3, Vector128.Load(b + 40), c10); c11 = Madd.Of(x3, Vector128.Load(b + 44), c11);
        }
        for (; p < kc; p++, a += sa, b += 12)
        {
            Vector128<float> x = Vector128.Create(a[0]);
            c0 = Madd.Of(x, Vector128.Load(b), c0); c1 = Madd.Of(x, Vector128.Load(b + 4), c1); c2 = Madd.Of(x, Vector128.Load(b + 8), c2);
        }
        c0 = c0 + c3 + (c6 + c9);
        c1 = c1 + c4 + (c7 + c10);
        c2 = c2 + c5 + (c8 + c11);
        if (nr == 12)
        {
            Add(c, c0, c1, c2, init);
            return;
        }
        Put(tile, c0, c1, c2);
        GemmEdge.Add(c, 0, tile, 12, 1, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst)
    {
        Vector128.Load(src).Store(dst);
        Vector128.Load(src + 4).Store(dst + 4);
        Vector128.Load(src + 8).Store(dst + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector128<float> x0, Vector128<float> x1, Vector128<float> x2, float* init)
    {
        ((init == null ? Vector128.Load(c) : Vector128.Load(init)) + x0).Store(c);
        ((init == null ? Vector128.Load(c + 4) : Vector128.Load(init + 4)) + x1).Store(c + 4);
        ((init == null ? Vector128.Load(c + 8) : Vector128.Load(init + 8)) + x2).Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* t, Vector128<float> x0, Vector128<float> x1, Vector128<float> x2)
    {
        x0.Store(t);
        x1.Store(t + 4);
        x2.Store(t + 8);
    }
}

/// <summary>4 × 4 in scalar registers: the path without hardware vectors (DOTNET_EnableHWIntrinsic=0, or an unknown ISA).</summary>
internal readonly unsafe struct KernelScalar4x4 : IDirectKernel
{
    public static int MR => 4;
    public static int NR => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, float* tile, float* init) =>
        RunStrided(kc, a, 1, 4, b, 4, c, ldc, mr, nr, tile, init);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunStrided(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        // row i of A is a[i·rsA + p·csA] (a packed sliver: rsA = 1, csA = MR); rows past mr repeat the last one, their sums dropped
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float x = a0[q];
            c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a1[q];
            c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = a2[q];
            c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = a3[q];
            c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
        }
        tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
        tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
        tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
        tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
        GemmEdge.Add(c, ldc, tile, 4, mr, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunRow(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init)
    {
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (int p = 0; p < kc; p++, a += sa, b += 4)
        {
            float x = a[0];
            c0 += x * b[0]; c1 += x * b[1]; c2 += x * b[2]; c3 += x * b[3];
        }
        tile[0] = c0; tile[1] = c1; tile[2] = c2; tile[3] = c3;
        GemmEdge.Add(c, 0, tile, 4, 1, nr, init);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRow(float* src, float* dst)
    {
        dst[0] = src[0]; dst[1] = src[1]; dst[2] = src[2]; dst[3] = src[3];
    }
}

/// <summary>
/// The one-row kernel of the tiles two vectors wide (8 × 32, 12 × 32, 6 × 16, 6 × 8), written once over the lanes of
/// their width: a row has no other rows to hide the multiply-add latency behind, so four steps of k run at a time
/// into four pairs of accumulators. A's k-th value is a[k · sa]; B's sliver is [kc, 2 · lanes].
/// </summary>
internal static unsafe class RowKernel
{
    /// <summary>One row of A against a packed B sliver [kc, 2 · T.Count].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T>(int kc, float* a, nint sa, float* b, float* c, int nr, float* tile, float* init) where T : struct, ILanes<T> =>
        Run<T>(kc, a, sa, b, 2 * T.Count, c, nr, tile, init);

    /// <summary>
    /// One row of A against 2 · T.Count columns of B whose step p lies at <paramref name="b"/> + p · <paramref name="ldb"/>
    /// (a packed sliver's: its width; B's own rows: its leading dimension): the same multiply-adds in the same order either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(int kc, float* a, nint sa, float* b, nint ldb, float* c, int nr, float* tile, float* init) where T : struct, ILanes<T>
    {
        int w = T.Count, width = 2 * w;
        T c0 = T.Create(0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        int p = 0;
        for (; p + 3 < kc; p += 4, a += 4 * sa, b += 4 * ldb)
        {
            T x0 = T.Create(a[0]), x1 = T.Create(a[sa]), x2 = T.Create(a[2 * sa]), x3 = T.Create(a[3 * sa]);
            c0 = T.MultiplyAdd(x0, T.Load(ref *b, 0), c0); c1 = T.MultiplyAdd(x0, T.Load(ref *b, w), c1);
            c2 = T.MultiplyAdd(x1, T.Load(ref b[ldb], 0), c2); c3 = T.MultiplyAdd(x1, T.Load(ref b[ldb], w), c3);
            c4 = T.MultiplyAdd(x2, T.Load(ref b[2 * ldb], 0), c4); c5 = T.MultiplyAdd(x2, T.Load(ref b[2 * ldb], w), c5);
            c6 = T.MultiplyAdd(x3, T.Load(ref b[3 * ldb], 0), c6); c7 = T.MultiplyAdd(x3, T.Load(ref b[3 * ldb], w), c7);
        }
        for (; p < kc; p++, a += sa, b += ldb)
        {
            T x = T.Create(a[0]);
            c0 = T.MultiplyAdd(x, T.Load(ref *b, 0), c0); c1 = T.MultiplyAdd(x, T.Load(ref *b, w), c1);
        }
        c0 = c0 + c2 + (c4 + c6);
        c1 = c1 + c3 + (c5 + c7);
        if (nr == width)
        {
            // C, or the init row (a bias, or zeros), plus the row's sums
            T.Store((init == null ? T.Load(ref *c, 0) : T.Load(ref *init, 0)) + c0, ref *c, 0);
            T.Store((init == null ? T.Load(ref *c, w) : T.Load(ref *init, w)) + c1, ref *c, w);
            return;
        }
        T.Store(c0, ref *tile, 0);
        T.Store(c1, ref *tile, w);
        GemmEdge.Add(c, 0, tile, width, 1, nr, init);
    }
}

/// <summary>
/// Edge slivers at most one vector of B wide: a layer of 65 outputs leaves one column in its last 32-wide sliver, a
/// classifier of 10 outputs has only such a sliver. The tile's rows run against one vector of B instead of two (the
/// Arm64 tile's three), so the sliver costs half the full tile's multiply-adds (a third), each sum in the same order
/// as the full tile's: the same bits. (x · Wᵀ + b for 3200 rows, 256 deep and 65 outputs took as long as for 96 outputs.)
/// One kernel for every width and tile height: the rows (IRows) are a constant of each instantiation, and
/// the accumulators past them are dropped when it is compiled.
/// </summary>
internal static unsafe class HalfTile
{
    /// <summary>The rows of a half tile: the height of the tile it stands for.</summary>
    public interface IRows { static abstract int Count { get; } }
    public readonly struct Rows6 : IRows { public static int Count => 6; }
    public readonly struct Rows8 : IRows { public static int Count => 8; }
    public readonly struct Rows12 : IRows { public static int Count => 12; }

    /// <summary>
    /// As the tile's RunStrided for an edge of <paramref name="nr"/> ≤ <typeparamref name="T"/>'s lanes: row i of A is
    /// a[i·rsA + p·csA], B's values of step p at b + p·<paramref name="ldb"/>; rows past <paramref name="mr"/> repeat the
    /// last one (their sums dropped), and only the valid part reaches C, through <paramref name="tile"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, R>(int kc, float* a, nint rsA, nint csA, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float* tile, float* init)
        where T : struct, ILanes<T> where R : struct, IRows
    {
        int rows = R.Count, w = T.Count;
        T c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        T c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        float* a0 = a, a1 = a + Math.Min(1, mr - 1) * rsA, a2 = a + Math.Min(2, mr - 1) * rsA, a3 = a + Math.Min(3, mr - 1) * rsA;
        float* a4 = a + Math.Min(4, mr - 1) * rsA, a5 = a + Math.Min(5, mr - 1) * rsA;
        float* a6 = rows > 6 ? a + Math.Min(6, mr - 1) * rsA : a, a7 = rows > 6 ? a + Math.Min(7, mr - 1) * rsA : a;
        float* a8 = rows > 8 ? a + Math.Min(8, mr - 1) * rsA : a, a9 = rows > 8 ? a + Math.Min(9, mr - 1) * rsA : a;
        float* a10 = rows > 8 ? a + Math.Min(10, mr - 1) * rsA : a, a11 = rows > 8 ? a + Math.Min(11, mr - 1) * rsA : a;
        nint q = 0;
        for (int p = 0; p < kc; p++, q += csA, b += ldb)
        {
            T b0 = T.Load(ref *b, 0);
            c0 = T.MultiplyAdd(T.Create(a0[q]), b0, c0);
            c1 = T.MultiplyAdd(T.Create(a1[q]), b0, c1);
            c2 = T.MultiplyAdd(T.Create(a2[q]), b0, c2);
            c3 = T.MultiplyAdd(T.Create(a3[q]), b0, c3);
            c4 = T.MultiplyAdd(T.Create(a4[q]), b0, c4);
            c5 = T.MultiplyAdd(T.Create(a5[q]), b0, c5);
            if (rows > 6)
            {
                c6 = T.MultiplyAdd(T.Create(a6[q]), b0, c6);
                c7 = T.MultiplyAdd(T.Create(a7[q]), b0, c7);
            }
            if (rows > 8)
            {
                c8 = T.MultiplyAdd(T.Create(a8[q]), b0, c8);
                c9 = T.MultiplyAdd(T.Create(a9[q]), b0, c9);
                c10 = T.MultiplyAdd(T.Create(a10[q]), b0, c10);
                c11 = T.MultiplyAdd(T.Create(a11[q]), b0, c11);
            }
        }
        // a full-height tile as wide as one vector goes to C directly; any other through the tile
        bool direct = mr == rows && nr == w;
        float* at = direct ? c : tile;
        nint ld = direct ? ldc : w;
        Put(c0, at, init, direct); Put(c1, at + ld, init, direct); Put(c2, at + 2 * ld, init, direct);
        Put(c3, at + 3 * ld, init, direct); Put(c4, at + 4 * ld, init, direct); Put(c5, at + 5 * ld, init, direct);
        if (rows > 6)
        {
            Put(c6, at + 6 * ld, init, direct); Put(c7, at + 7 * ld, init, direct);
        }
        if (rows > 8)
        {
            Put(c8, at + 8 * ld, init, direct); Put(c9, at + 9 * ld, init, direct);
            Put(c10, at + 10 * ld, init, direct); Put(c11, at + 11 * ld, init, direct);
        }
        if (!direct) GemmEdge.Add(c, ldc, tile, w, mr, nr, init);
    }

    /// <summary>A row's sums: added to C (or to the init row, C's first k-block) where the tile is C, else kept in the tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T x, float* to, float* init, bool direct) where T : struct, ILanes<T> =>
        T.Store(direct ? (init == null ? T.Load(ref *to, 0) : T.Load(ref *init, 0)) + x : x, ref *to, 0);
}

internal static unsafe class GemmEdge
{
    /// <summary>
    /// Asks for the rows of a C tile before the k-loop that ends by adding to them, as BLIS's kernels do: a large C is not in cache,
    /// and its lines would otherwise arrive only when the tile is stored (the input projection of a whole sequence, [T·B, 4H],
    /// ran 20 % faster on one thread with it). x64 only (.NET has no prefetch for Arm64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* c, nint ldc, int rows, int columns)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0(c + columns - 1);
        }
    }

    /// <summary>Adds the valid <paramref name="mr"/> × <paramref name="nr"/> part of a spilled tile to C.</summary>
    public static void Add(float* c, nint ldc, float* tile, int tileCols, int mr, int nr, float* init)
    {
        for (int r = 0; r < mr; r++)
        {
            float* cr = c + r * ldc;
            float* tr = tile + r * tileCols;
            if (init == null) for (int j = 0; j < nr; j++) cr[j] += tr[j];
            else for (int j = 0; j < nr; j++) cr[j] = init[j] + tr[j];
        }
    }

    /// <summary>
    /// Two rows of four, s[0..3] and s[ld..ld + 3], written as four pairs: d[q · ldd] = s[q], d[q · ldd + 1] = s[ld + q]
    /// (the last two rows of a six-row sliver of A, next to a 4 × 4 transpose).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose2x4(float* s, nint ld, float* d, nint ldd)
    {
        Vector128<float> r0 = Vector128.Load(s), r1 = Vector128.Load(s + ld), low, high;
        if (Sse.IsSupported) (low, high) = (Sse.UnpackLow(r0, r1), Sse.UnpackHigh(r0, r1));
        else if (AdvSimd.Arm64.IsSupported) (low, high) = (AdvSimd.Arm64.ZipLow(r0, r1), AdvSimd.Arm64.ZipHigh(r0, r1));
        else
        {
            for (int q = 0; q < 4; q++) (d[q * ldd], d[q * ldd + 1]) = (s[q], s[ld + q]);
            return;
        }
        // each pair is one 64-bit store
        Vector128<ulong> l = low.AsUInt64(), h = high.AsUInt64();
        *(ulong*)d = l.ToScalar();
        *(ulong*)(d + ldd) = l.GetElement(1);
        *(ulong*)(d + 2 * ldd) = h.ToScalar();
        *(ulong*)(d + 3 * ldd) = h.GetElement(1);
    }

    /// <summary>
    /// Transposes the 4 × 4 block whose rows start at <paramref name="s"/> (stride <paramref name="ld"/>) into
    /// <paramref name="d"/> (stride <paramref name="ldd"/>): d[q·ldd + r] = s[r·ld + q]. The packing of A's rows and of Bᵀ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4x4(float* s, nint ld, float* d, nint ldd) =>
        Transpose4x4(Vector128.Load(s), Vector128.Load(s + ld), Vector128.Load(s + 2 * ld), Vector128.Load(s + 3 * ld), d, ldd);

    /// <summary>The same of four rows already loaded (bfloat16 rows widened: <see cref="BFloat16.Load4"/>): d[q·ldd + r] = r_r[q].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4x4(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3, float* d, nint ldd)
    {
        if (Sse.IsSupported)
        {
            Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackLow(r2, r3), t2 = Sse.UnpackHigh(r0, r1), t3 = Sse.UnpackHigh(r2, r3);
            Sse.MoveLowToHigh(t0, t1).Store(d);
            Sse.MoveHighToLow(t1, t0).Store(d + ldd);
            Sse.MoveLowToHigh(t2, t3).Store(d + 2 * ldd);
            Sse.MoveHighToLow(t3, t2).Store(d + 3 * ldd);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            Vector128<double> t0 = AdvSimd.Arm64.ZipLow(r0, r1).AsDouble(), t1 = AdvSimd.Arm64.ZipLow(r2, r3).AsDouble();
            Vector128<double> t2 = AdvSimd.Arm64.ZipHigh(r0, r1).AsDouble(), t3 = AdvSimd.Arm64.ZipHigh(r2, r3).AsDouble();
            AdvSimd.Arm64.ZipLow(t0, t1).AsSingle().Store(d);
            AdvSimd.Arm64.ZipHigh(t0, t1).AsSingle().Store(d + ldd);
            AdvSimd.Arm64.ZipLow(t2, t3).AsSingle().Store(d + 2 * ldd);
            AdvSimd.Arm64.ZipHigh(t2, t3).AsSingle().Store(d + 3 * ldd);
        }
        else
        {
            for (int q = 0; q < 4; q++)
                (d[q * ldd], d[q * ldd + 1], d[q * ldd + 2], d[q * ldd + 3]) = (r0.GetElement(q), r1.GetElement(q), r2.GetElement(q), r3.GetElement(q));
        }
    }
}
