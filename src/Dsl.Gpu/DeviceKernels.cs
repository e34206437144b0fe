using System;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using CellMath = Dsl.Kernels.CellMath;

namespace Dsl.Gpu;

/// <summary>
/// The ILGPU kernels of the device backend, compiled once per device: element-wise operations, bias and column sums,
/// activations, rows gathered and scattered, the recurrent cells' steps forward and back, padding masks and the
/// optimisers' updates. Each is a static method over <see cref="ArrayView{T}"/>s with its sizes passed by value, one
/// thread per element written; <c>Dsl.Gpu.Kernels</c> launches them with the host kernels' signatures.
/// </summary>
internal sealed partial class DeviceKernels
{
    private readonly Action<Index1D, ArrayView<float>, float> _fill;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _binary;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _fma;
    private readonly Action<Index1D, ArrayView<float>, float, float, float> _scaleClamp;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> _addBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> _columnPartials;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> _addColumnPartials;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _activation;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _gated;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float, float, int> _softCap;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float, int> _clip;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float> _gatherRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float> _scatterAddRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> _repeatRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int> _expertsCombine;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _expertsSpread;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _expertsDots;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _expertsShared;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _expertsSharedBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, CellArgs> _lstmForward;
    private readonly Action<Index1D, CellViews, CellArgs> _lstmBackward;
    private readonly Action<Index1D, CellViews, CellArgs> _gruForward;
    private readonly Action<Index1D, CellViews, CellArgs> _gruBackward;
    private readonly Action<Index1D, CellViews, CellArgs> _rnn;
    private readonly Action<Index1D, CellViews, CellArgs> _gruResetBefore;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, int, int, int> _maskSteps;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> _meanSteps, _meanStepsBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> _maxSteps;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _maxStepsBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> _pack;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, float> _partialNorms;
    private readonly Action<Index1D, OptimizerViews, OptimizerArgs> _optimizer;
    private readonly Action<Index1D, AttentionViews, AttentionArgs> _attentionForward, _attentionScores, _attentionQueries, _attentionKeys, _attentionBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _relativeExpand;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, RelativeSums> _relativeCollect;
    private readonly Action<Index1D, NormViews, int, float> _normForward, _normBackwardRows;
    private readonly Action<Index1D, NormViews, ArrayView<float>, int, int, int> _normColumnPartials;
    private readonly Accelerator _accelerator;
    private MemoryBuffer1D<float, Stride1D.Dense>? _partials;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _addRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> _sumStepRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float, float, int> _crossEntropy;
    private readonly Action<Index1D, SquaredErrorViews, SquaredErrorArgs> _squaredError;

    public DeviceKernels(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _fill = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(FillKernel);
        _binary = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(BinaryKernel);
        _fma = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(FusedMultiplyAddKernel);
        _scaleClamp = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float, float, float>(ScaleClampKernel);
        _addBias = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(AddBiasKernel);
        _columnPartials = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(ColumnPartialsKernel);
        _addColumnPartials = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(AddColumnPartialsKernel);
        _activation = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ActivationKernel);
        _gated = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(GatedKernel);
        _softCap = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, float, int>(SoftCapKernel);
        _clip = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, int>(ClipKernel);
        _gatherRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float>(GatherRowsKernel);
        _scatterAddRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float>(ScatterAddRowsKernel);
        _repeatRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(RepeatRowsKernel);
        _expertsCombine = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(ExpertsCombineKernel);
        _expertsSpread = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(ExpertsSpreadKernel);
        _expertsDots = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(ExpertsDotsKernel);
        _expertsShared = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ExpertsSharedKernel);
        _expertsSharedBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ExpertsSharedBackwardKernel);
        _lstmForward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, CellArgs>(LstmForwardKernel);
        _lstmBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, CellViews, CellArgs>(LstmBackwardKernel);
        _gruForward = accelerator.LoadAutoGroupedStreamKernel<Index1D, CellViews, CellArgs>(GruForwardKernel);
        _gruBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, CellViews, CellArgs>(GruBackwardKernel);
        _rnn = accelerator.LoadAutoGroupedStreamKernel<Index1D, CellViews, CellArgs>(RnnKernel);
        _gruResetBefore = accelerator.LoadAutoGroupedStreamKernel<Index1D, CellViews, CellArgs>(GruResetBeforeKernel);
        _maskSteps = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, int, int, int>(MaskStepsKernel);
        _meanSteps = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(MeanStepsKernel);
        _meanStepsBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(MeanStepsBackwardKernel);
        _maxSteps = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(MaxStepsKernel);
        _maxStepsBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(MaxStepsBackwardKernel);
        _pack = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(TransposeKernel);
        _crossEntropy = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float, float, int>(CrossEntropyRowsKernel);
        _squaredError = accelerator.LoadAutoGroupedStreamKernel<Index1D, SquaredErrorViews, SquaredErrorArgs>(SquaredErrorRowsKernel);
        _partialNorms = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, float>(PartialNormsKernel);
        _optimizer = accelerator.LoadAutoGroupedStreamKernel<Index1D, OptimizerViews, OptimizerArgs>(OptimizerUpdateKernel);
        _attentionForward = accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionArgs>(AttentionForwardKernel);
        _attentionScores = accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionArgs>(AttentionScoresBackwardKernel);
        _attentionQueries = accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionArgs>(AttentionQueriesBackwardKernel);
        _attentionKeys = accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionArgs>(AttentionKeysBackwardKernel);
        _attentionBias = accelerator.LoadAutoGroupedStreamKernel<Index1D, AttentionViews, AttentionArgs>(AttentionBiasBackwardKernel);
        _relativeExpand = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(RelativeExpandKernel);
        _relativeCollect = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, RelativeSums>(RelativeCollectKernel);
        _normForward = accelerator.LoadAutoGroupedStreamKernel<Index1D, NormViews, int, float>(LayerNormForwardKernel);
        _normBackwardRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, NormViews, int, float>(LayerNormBackwardRowsKernel);
        _normColumnPartials = accelerator.LoadAutoGroupedStreamKernel<Index1D, NormViews, ArrayView<float>, int, int, int>(LayerNormColumnPartialsKernel);
        _addRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(AddStepRowsKernel);
        _sumStepRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(AddStepSumsKernel);
        _classicForward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicForwardKernel);
        _classicScores = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicScoresBackwardKernel);
        _classicMemory = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicMemoryBackwardKernel);
        _classicQueries = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicQueriesBackwardKernel);
        _classicKeys = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicKeysBackwardKernel);
        _classicVector = accelerator.LoadAutoGroupedStreamKernel<Index1D, ClassicViews, ClassicArgs>(ClassicVectorBackwardKernel);
        _copyColumns = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ColumnCopy>(CopyColumnsKernel);
        _copyPadded = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PaddedCopy>(CopyPaddedRowsKernel);
        _rowsBinary = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowsBinary>(RowsBinaryKernel);
        _rotate = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, Rotation>(RotateKernel);
    }

    /// <summary>The kernels by name, for the test that compiles each to PTX without a GPU.</summary>
    internal static readonly string[] Names =
    [
        nameof(FillKernel), nameof(BinaryKernel), nameof(FusedMultiplyAddKernel), nameof(ScaleClampKernel), nameof(AddBiasKernel), nameof(ColumnPartialsKernel), nameof(AddColumnPartialsKernel), nameof(ActivationKernel), nameof(GatedKernel), nameof(SoftCapKernel), nameof(ClipKernel),
        nameof(GatherRowsKernel), nameof(ScatterAddRowsKernel), nameof(RepeatRowsKernel), nameof(ExpertsCombineKernel), nameof(ExpertsSpreadKernel), nameof(ExpertsDotsKernel), nameof(ExpertsSharedKernel), nameof(ExpertsSharedBackwardKernel), nameof(LstmForwardKernel), nameof(LstmBackwardKernel), nameof(GruForwardKernel),
        nameof(GruBackwardKernel), nameof(RnnKernel), nameof(GruResetBeforeKernel), nameof(MaskStepsKernel), nameof(MeanStepsKernel), nameof(MeanStepsBackwardKernel), nameof(MaxStepsKernel), nameof(MaxStepsBackwardKernel), nameof(TransposeKernel), nameof(PartialNormsKernel), nameof(OptimizerUpdateKernel),
        nameof(AttentionForwardKernel), nameof(AttentionScoresBackwardKernel), nameof(AttentionQueriesBackwardKernel), nameof(AttentionKeysBackwardKernel), nameof(AttentionBiasBackwardKernel),
        nameof(RelativeExpandKernel), nameof(RelativeCollectKernel),
        nameof(LayerNormForwardKernel), nameof(LayerNormBackwardRowsKernel), nameof(LayerNormColumnPartialsKernel), nameof(AddStepRowsKernel), nameof(AddStepSumsKernel),
        nameof(ClassicForwardKernel), nameof(ClassicScoresBackwardKernel), nameof(ClassicMemoryBackwardKernel), nameof(ClassicQueriesBackwardKernel),
        nameof(ClassicKeysBackwardKernel), nameof(ClassicVectorBackwardKernel), nameof(CopyColumnsKernel), nameof(CopyPaddedRowsKernel), nameof(RowsBinaryKernel), nameof(RotateKernel),
        nameof(CrossEntropyRowsKernel), nameof(SquaredErrorRowsKernel),
    ];

    // ---- launches ----

    public void Fill(int n, ArrayView<float> x, float value) { if (n > 0) _fill(n, x, value); }

    /// <summary>into = a (op) b: 0 add, 1 multiply, 2 subtract.</summary>
    public void Binary(int n, ArrayView<float> a, ArrayView<float> b, ArrayView<float> into, int op) { if (n > 0) _binary(n, a, b, into, op); }

    public void FusedMultiplyAdd(int n, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> into) { if (n > 0) _fma(n, a, b, c, into); }

    /// <summary>x = clamp(x · scale, lo, hi).</summary>
    public void ScaleClamp(int n, ArrayView<float> x, float scale, float lo, float hi) { if (n > 0) _scaleClamp(n, x, scale, lo, hi); }

    public void AddBias(int n, ArrayView<float> y, ArrayView<float> bias, int width) { if (n > 0) _addBias(n, y, bias, width); }

    /// <summary>
    /// into[j] += Σ_r x[r, j] in two launches: each of √rows chunks of rows sums its part of every column (one thread per
    /// chunk and column, reading a row's columns side by side), then one thread per column adds the chunks' sums in order.
    /// One thread per column down all the rows (a bias's gradient: 65 or 2 048 threads over 3 200 or 8 192 rows) had left
    /// a GPU nearly idle, each thread waiting on one load after another; the order is still fixed, so the sums are the
    /// same from run to run.
    /// </summary>
    public void ColumnSums(int width, ArrayView<float> x, ArrayView<float> into, int rows)
    {
        if (width <= 0 || rows <= 0) return;
        int chunks = Chunks(rows);
        ArrayView<float> partials = Partials((long)chunks * width);
        _columnPartials(chunks * width, x, partials, rows, width, chunks);
        _addColumnPartials(width, partials, into, width, chunks);
    }

    /// <summary>How many chunks a column sum over <paramref name="rows"/> splits into: about √rows, so that both launches loop about as long.</summary>
    internal static int Chunks(int rows) => rows < 64 ? 1 : (int)Math.Sqrt(rows);

    /// <summary>
    /// The column sums' partials (floats of this object's own, apart from the device's scratch, which a caller may be
    /// reading from), grown as the device's own buffers are (<see cref="Device.Grow"/>). Kernels on the one stream run in
    /// order, so a launch after another may reuse it at once.
    /// </summary>
    private ArrayView<float> Partials(long length)
    {
        Device.Grow(_accelerator, ref _partials, length, 4096);
        return _partials.View.SubView(0, length);
    }

    /// <summary>
    /// y = act(y), or dy ⊙= act'(y) when <paramref name="backward"/>; for GELU (kind 4) from its input <paramref name="x"/>:
    /// y = GELU(x), dy ⊙= GELU'(x) (see ActivationKernel).
    /// </summary>
    public void Activation(int n, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, int kind, bool backward) { if (n > 0) _activation(n, x, y, dy, kind, backward ? 1 : 0); }

    /// <summary>y = cap · tanh(y · scale) in place (scale = 1 / cap), or (backward) dy ⊙= 1 − (y · scale)², as the host's Activations.SoftCap.</summary>
    public void SoftCap(int n, ArrayView<float> y, ArrayView<float> dy, float scale, float cap, bool backward) { if (n > 0) _softCap(n, y, dy, scale, cap, backward ? 1 : 0); }

    /// <summary>x clamped to ±limit in place, NaN kept; with <paramref name="hasKept"/> each value's slope into kept (1 within, 0 clipped), as the host's Activations.Clip.</summary>
    public void Clip(int n, ArrayView<float> x, ArrayView<float> kept, float limit, bool hasKept) { if (n > 0) _clip(n, x, kept, limit, hasKept ? 1 : 0); }

    /// <summary>Gated units over <paramref name="n"/> = rows · U values: y = value · act(gate), or (backward; y holds dy) dpre (see GatedKernel).</summary>
    public void Gated(int n, ArrayView<float> pre, ArrayView<float> y, ArrayView<float> dPre, int units, int kind, bool backward)
    {
        if (n > 0) _gated(n, pre, y, dPre, units, kind, backward ? 1 : 0);
    }

    public void GatherRows(int n, ArrayView<float> table, ArrayView<int> indices, ArrayView<float> into, int width, float scale) { if (n > 0) _gatherRows(n, table, indices, into, width, scale); }

    /// <summary>Each row's softmax cross-entropy into <paramref name="rowLoss"/> and, when <paramref name="wantGradient"/>, its gradient scaled by <paramref name="scale"/>.</summary>
    public void CrossEntropyRows(int rows, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> gradient, ArrayView<float> rowLoss, int classes, float scale, float smoothing, bool wantGradient)
    {
        if (rows > 0) _crossEntropy(rows, logits, targets, gradient, rowLoss, classes, scale, smoothing, wantGradient ? 1 : 0);
    }

    /// <summary>Each row's sum of squared differences into the row loss and, when asked, their gradient 2 (p − t) / n; padded steps count for nothing.</summary>
    public void SquaredErrorRows(int rows, SquaredErrorViews views, SquaredErrorArgs args) { if (rows > 0) _squaredError(rows, views, args); }

    /// <summary>table[index] += its rows times <paramref name="scale"/>, one thread per (distinct index, column) of <paramref name="n"/>; <paramref name="groups"/> as <c>IndexGroups.Of</c> lays out <paramref name="count"/> indices.</summary>
    public void ScatterAddRows(int n, ArrayView<float> rows, ArrayView<int> groups, ArrayView<float> table, int width, int count, float scale)
    {
        if (n > 0) _scatterAddRows(n, rows, groups, table, width, count, scale);
    }

    public void RepeatRows(int n, ArrayView<float> row, ArrayView<float> into, int width) { if (n > 0) _repeatRows(n, row, into, width); }

    /// <summary>A mixture's rows, <paramref name="n"/> = rows · width values: into[r] = Σ_j (weights[r, j] ·) grouped[positions[r, j]] (see ExpertsCombineKernel).</summary>
    public void ExpertsCombine(int n, ArrayView<float> grouped, ArrayView<float> weights, ArrayView<int> positions, ArrayView<float> into, int width, int topK, bool weighted)
    {
        if (n > 0) _expertsCombine(n, grouped, weights, positions, into, width, topK, weighted ? 1 : 0);
    }

    /// <summary>Each choice's expert output gradient, <paramref name="n"/> = rows · k · width values: dgrouped[positions[s]] = weights[s] · dy[row of s].</summary>
    public void ExpertsSpread(int n, ArrayView<float> dy, ArrayView<float> weights, ArrayView<int> positions, ArrayView<float> dGrouped, int width, int topK)
    {
        if (n > 0) _expertsSpread(n, dy, weights, positions, dGrouped, width, topK);
    }

    /// <summary>Each choice's weight gradient, one thread per of the <paramref name="slots"/>: dweights[s] = dy[row of s] · grouped[positions[s]].</summary>
    public void ExpertsDots(int slots, ArrayView<float> dy, ArrayView<float> grouped, ArrayView<int> positions, ArrayView<float> dWeights, int width, int topK)
    {
        if (slots > 0) _expertsDots(slots, dy, grouped, positions, dWeights, width, topK);
    }

    /// <summary>A shared expert's output added, <paramref name="n"/> = rows · width values: y += σ(gate[row]) · shared (not <paramref name="gated"/>: y += shared).</summary>
    public void ExpertsShared(int n, ArrayView<float> gate, ArrayView<float> shared, ArrayView<float> y, int width, bool gated)
    {
        if (n > 0) _expertsShared(n, gate, shared, y, width, gated ? 1 : 0);
    }

    /// <summary>Its step back, one thread per of the <paramref name="rows"/>: dshared = σ(gate) · dy, dgate = σ'(gate) · (dy · shared).</summary>
    public void ExpertsSharedBackward(int rows, ArrayView<float> gate, ArrayView<float> shared, ArrayView<float> dy, ArrayView<float> dShared, ArrayView<float> dGate, int width)
    {
        if (rows > 0) _expertsSharedBackward(rows, gate, shared, dy, dShared, dGate, width);
    }

    public void LstmForward(int n, ArrayView<float> gates, ArrayView<float> cPrev, CellArgs args, ArrayView<float> c, ArrayView<float> h)
    {
        if (n > 0) _lstmForward(n, gates, cPrev, args with { C = c, H = h });
    }

    public void LstmBackward(int n, CellViews views, CellArgs args) { if (n > 0) _lstmBackward(n, views, args); }

    public void GruForward(int n, CellViews views, CellArgs args) { if (n > 0) _gruForward(n, views, args); }

    public void GruBackward(int n, CellViews views, CellArgs args) { if (n > 0) _gruBackward(n, views, args); }

    public void Rnn(int n, CellViews views, CellArgs args) { if (n > 0) _rnn(n, views, args); }

    public void GruResetBefore(int n, CellViews views, CellArgs args) { if (n > 0) _gruResetBefore(n, views, args); }

    public void MaskSteps(int n, ArrayView<float> x, ArrayView<int> lengths, int batch, int steps, int width) { if (n > 0) _maskSteps(n, x, lengths, batch, steps, width); }

    /// <summary>output [B, W] = the mean of x [T, B, W] over each sequence's steps: one thread per output value, over B · W.</summary>
    public void MeanSteps(int n, ArrayView<float> x, ArrayView<float> output, ArrayView<int> lengths, int batch, int width) { if (n > 0) _meanSteps(n, x, output, lengths, batch, width); }

    /// <summary>output [B, W] = the largest of x [T, B, W] over each sequence's steps, argmax the step it came from: one thread per output value.</summary>
    public void MaxSteps(int n, ArrayView<float> x, ArrayView<float> output, ArrayView<float> argmax, ArrayView<int> lengths, int batch, int width) { if (n > 0) _maxSteps(n, x, output, argmax, lengths, batch, width); }

    /// <summary>dx [T, B, W] = dout where the maximum came from, zero elsewhere: one thread per value of dx.</summary>
    public void MaxStepsBackward(int n, ArrayView<float> dOutput, ArrayView<float> dx, ArrayView<float> argmax, int batch, int width) { if (n > 0) _maxStepsBackward(n, dOutput, dx, argmax, batch, width); }

    /// <summary>dx [T, B, W] = dout / length at the valid steps, zero at the padded ones: one thread per value of dx.</summary>
    public void MeanStepsBackward(int n, ArrayView<float> dOutput, ArrayView<float> dx, ArrayView<int> lengths, int batch, int width) { if (n > 0) _meanStepsBackward(n, dOutput, dx, lengths, batch, width); }

    /// <summary>packed [rows, cols] = source [cols, rows]ᵀ (source rows <paramref name="ld"/> apart).</summary>
    public void Transpose(int rows, int cols, ArrayView<float> source, int ld, ArrayView<float> packed)
    {
        if (rows > 0 && cols > 0) _pack(rows * cols, source, packed, ld, cols);
    }

    public void PartialNorms(int parts, ArrayView<float> x, ArrayView<float> partials, int length, float p) { if (parts > 0 && length > 0) _partialNorms(parts, x, partials, length, p); }

    public void Optimizer(int n, OptimizerViews views, OptimizerArgs args) { if (n > 0) _optimizer(n, views, args); }

    /// <summary>Self-attention forward: one thread per (sequence, head, query).</summary>
    public void AttentionForward(AttentionViews views, AttentionArgs args) => Launch(_attentionForward, args.Batch * args.Heads * args.Steps, views, args);

    /// <summary>Self-attention backward: the scores' gradients, then the queries', then the keys' and values'.</summary>
    public void AttentionBackward(AttentionViews views, AttentionArgs args)
    {
        int d = args.Width / args.Heads, pairs = args.Batch * args.Heads;
        Launch(_attentionScores, pairs * args.Steps, views, args);
        if (args.HasPositionBias != 0) Launch(_attentionBias, pairs * (2 * args.Steps - 1), views, args);
        Launch(_attentionQueries, pairs * args.Steps * d, views, args);
        Launch(_attentionKeys, pairs / args.Group * args.Keys * d, views, args); // one thread per key/value head's column
    }

    private static void Launch(Action<Index1D, AttentionViews, AttentionArgs> kernel, int n, AttentionViews views, AttentionArgs args)
    {
        if (n > 0) kernel(n, views, args);
    }

    public void LayerNormForward(int rows, NormViews views, int width, float epsilon) { if (rows > 0) _normForward(rows, views, width, epsilon); }

    public void LayerNormBackward(int rows, NormViews views, int width, bool dx)
    {
        if (rows == 0) return;
        // dγ and dβ as the column sums are made: each chunk of rows sums its part (dγ's partials, then dβ's), then per column in order
        int chunks = Chunks(rows);
        long part = (long)chunks * width;
        ArrayView<float> partials = Partials(2 * part);
        _normColumnPartials(chunks * width, views, partials, width, rows, chunks);
        _addColumnPartials(width, partials.SubView(0, part), views.DGamma, width, chunks);
        if (views.Centred != 0) _addColumnPartials(width, partials.SubView(part, part), views.DBeta, width, chunks);
        if (dx) _normBackwardRows(rows, views, width, 0f);
    }

    /// <summary>y[t, b] = x[t, b] + rows[t] over [T, B, W].</summary>
    public void AddStepRows(int n, ArrayView<float> rows, ArrayView<float> x, ArrayView<float> y, int batch, int width) { if (n > 0) _addRows(n, rows, x, y, batch, width); }

    /// <summary>rows[t] += Σ_b dy[t, b] over [T, B, W] (<paramref name="n"/> = T · W), the batch's rows added in order: one thread per value of rows.</summary>
    public void AddStepSums(int n, ArrayView<float> dy, ArrayView<float> rows, int batch, int width) { if (n > 0) _sumStepRows(n, dy, rows, batch, width); }

    // ---- kernels ----

    /// <summary>
    /// A row of scores (its first <paramref name="live"/> of <paramref name="length"/>, their maximum <paramref name="max"/>)
    /// into its softmax in place, the rest zero: what every attention kernel does with its scores.
    /// </summary>
    private static void SoftmaxRow(ArrayView<float> weights, long row, int live, int length, float max)
    {
        float sum = 0f;
        for (int j = 0; j < live; j++)
        {
            float e = XMath.Exp(weights[row + j] - max);
            weights[row + j] = e;
            sum += e;
        }
        for (int j = 0; j < live; j++) weights[row + j] /= sum;
        for (int j = live; j < length; j++) weights[row + j] = 0f;
    }

    /// <summary>
    /// A row of d(weights) in <paramref name="grad"/> (its live part, Σ d(weights) ⊙ weights being <paramref name="dot"/>)
    /// into d(scores) = scale · a ⊙ (d(weights) − dot) in place, the rest zero.
    /// </summary>
    private static void SoftmaxBackwardRow(ArrayView<float> grad, ArrayView<float> weights, long row, int live, int length, float dot, float scale)
    {
        for (int j = 0; j < live; j++) grad[row + j] = weights[row + j] * (grad[row + j] - dot) * scale;
        for (int j = live; j < length; j++) grad[row + j] = 0f;
    }

    /// <summary>Whether query i of sequence b is a padded step (self-attention with lengths).</summary>
    private static bool Padded(int i, AttentionArgs a, ArrayView<int> lengths, int b) => a.PaddedQueries != 0 && i >= lengths[b];

    /// <summary>The keys query i of sequence b attends over: up to its own position when causal, the sequence's valid steps, at least one.</summary>
    private static int Valid(int i, AttentionArgs a, ArrayView<int> lengths, int b) =>
        Dsl.Kernels.AttentionKernel.Reach(i, a.Keys, a.Causal != 0, a.Window, a.HasLengths != 0 ? lengths[b] : a.Keys);

    /// <summary>The first key query i attends to: the host's rule (a sliding window's first key, else 0).</summary>
    private static int First(int i, int valid, AttentionArgs a) => Dsl.Kernels.AttentionKernel.First(i, valid, a.Window, a.Causal != 0);

    /// <summary>
    /// Scores of one query against the valid keys (q·k · scale), their softmax into the weights row (zero past the valid
    /// keys), and the head's output: the weights (after dropout) times the values.
    /// </summary>
    private static void AttentionForwardKernel(Index1D index, AttentionViews v, AttentionArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, E = a.Width, d = E / a.Heads;
        int pair = index / T, i = index % T, b = pair / a.Heads, h = pair % a.Heads;
        int valid = Valid(i, a, v.Lengths, b), first = First(i, valid, a);
        long row = ((long)pair * T + i) * S, q = ((long)i * B + b) * a.QRow + h * d;
        int kv = h / a.Group * d; // the key/value head's columns (grouped-query attention: a group of query heads shares one)
        float max = float.NegativeInfinity;
        for (int j = 0; j < first; j++) v.Weights[row + j] = 0f; // before a sliding window
        for (int j = first; j < valid; j++)
        {
            long k = ((long)j * B + b) * a.KRow + a.KOffset + kv;
            float score = 0f;
            for (int c = 0; c < d; c++) score += v.Q[q + c] * v.K[k + c];
            score = Capped(score, a);
            if (a.HasPositionBias != 0) score += v.PositionBias[(long)h * (2 * T - 1) + j - i + T - 1]; // the relative position bias by distance
            v.Weights[row + j] = score;
            max = XMath.Max(max, score);
        }
        SoftmaxRow(v.Weights, row + first, valid - first, S - first, max);
        long context = ((long)i * B + b) * E + h * d;
        for (int c = 0; c < d; c++)
        {
            float acc = 0f;
            for (int j = first; j < valid; j++)
            {
                float w = v.Weights[row + j] * (a.HasMask != 0 ? v.Mask[row + j] : 1f);
                acc += w * v.V[((long)j * B + b) * a.KRow + a.VOffset + kv + c];
            }
            v.Context[context + c] = acc;
        }
    }

    /// <summary>Back, one query row: dA = d(context)·vᵀ (through the dropout mask), then the softmax's backward times the scale, into Scratch.</summary>
    private static void AttentionScoresBackwardKernel(Index1D index, AttentionViews v, AttentionArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, E = a.Width, d = E / a.Heads;
        int pair = index / T, i = index % T, b = pair / a.Heads, h = pair % a.Heads;
        int valid = Padded(i, a, v.Lengths, b) ? 0 : Valid(i, a, v.Lengths, b); // a padded query's row of d(scores) is zero
        int first = valid == 0 ? 0 : First(i, valid, a);
        long row = ((long)pair * T + i) * S, dc = ((long)i * B + b) * E + h * d;
        float dot = 0f;
        for (int j = 0; j < first; j++) v.Scratch[row + j] = 0f; // before a sliding window
        for (int j = first; j < valid; j++)
        {
            long vv = ((long)j * B + b) * a.KRow + a.VOffset + h / a.Group * d;
            float g = 0f;
            for (int c = 0; c < d; c++) g += v.DContext[dc + c] * v.V[vv + c];
            if (a.HasMask != 0) g *= v.Mask[row + j];
            v.Scratch[row + j] = g;
            dot += g * v.Weights[row + j];
        }
        SoftmaxBackwardRow(v.Scratch, v.Weights, row + first, valid - first, S - first, dot, a.Scale);
        if (a.SoftCap <= 0f) return;
        // through the cap: d(score) ⊙= 1 − tanh²(q·k · scale / cap), the scores recomputed (the weights kept are the softmax's)
        long q = ((long)i * B + b) * a.QRow + h * d;
        for (int j = first; j < valid; j++)
        {
            long k = ((long)j * B + b) * a.KRow + a.KOffset + h / a.Group * d;
            float score = 0f;
            for (int c = 0; c < d; c++) score += v.Q[q + c] * v.K[k + c];
            float t = Tanh(score * (a.Scale / a.SoftCap));
            v.Scratch[row + j] *= 1f - t * t;
        }
    }

    /// <summary>
    /// Back, the relative position bias's gradient of one (sequence, head, distance o): the scores' gradients along the diagonal
    /// j − i = o − (T − 1), over the queries (a padded query's and a masked key's are zero), unscaled (Scratch holds them times the scale).
    /// </summary>
    private static void AttentionBiasBackwardKernel(Index1D index, AttentionViews v, AttentionArgs a)
    {
        int T = a.Steps, S = a.Keys, n = 2 * T - 1;
        int o = index % n, pair = index / n, shift = o - (T - 1);
        float sum = 0f;
        for (int i = XMath.Max(0, -shift); i < T && i + shift < S; i++) sum += v.Scratch[((long)pair * T + i) * S + i + shift];
        v.DPositionBias[index] = sum / a.Scale; // (exact for T5's 1 and MPNet's 1/8; within an ulp or two of the host's unscaled sum otherwise)
    }

    /// <summary>Each head's bias by distance, bias[h, o] = table[bucketOf[o], h]: one thread per (head, distance).</summary>
    public void RelativeExpand(int heads, int distances, ArrayView<float> table, ArrayView<int> bucketOf, ArrayView<float> bias)
    {
        if (heads * distances > 0) _relativeExpand(heads * distances, table, bucketOf, bias, heads, distances);
    }

    private static void RelativeExpandKernel(Index1D index, ArrayView<float> table, ArrayView<int> bucketOf, ArrayView<float> bias, int heads, int distances)
    {
        int h = index / distances, o = index % distances;
        bias[index] = table[(long)bucketOf[o] * heads + h];
    }

    /// <summary>d(table)[bucket, h] += the gradients by distance [B, heads, distances] of every distance in that bucket: one thread per (bucket, head).</summary>
    public void RelativeCollect(int buckets, ArrayView<float> dBias, ArrayView<int> bucketOf, ArrayView<float> dTable, RelativeSums sizes)
    {
        if (buckets * sizes.Heads > 0) _relativeCollect(buckets * sizes.Heads, dBias, bucketOf, dTable, sizes);
    }

    private static void RelativeCollectKernel(Index1D index, ArrayView<float> dBias, ArrayView<int> bucketOf, ArrayView<float> dTable, RelativeSums c)
    {
        int bucket = index / c.Heads, h = index % c.Heads;
        float sum = 0f;
        for (int o = 0; o < c.Distances; o++)
        {
            if (bucketOf[o] != bucket) continue;
            float part = 0f;
            for (int b = 0; b < c.Batch; b++) part += dBias[((long)b * c.Heads + h) * c.Distances + o];
            sum += part;
        }
        dTable[index] += sum;
    }

    /// <summary>A query·key product scaled, then soft-capped when the layer caps: cap · tanh(score · scale / cap), as the host's Activations.Cap.</summary>
    private static float Capped(float score, AttentionArgs a) => a.SoftCap > 0f ? a.SoftCap * Tanh(score * (a.Scale / a.SoftCap)) : score * a.Scale;

    /// <summary>Back, one query column: dq = dS · k over the keys the query saw (none for a padded query).</summary>
    private static void AttentionQueriesBackwardKernel(Index1D index, AttentionViews v, AttentionArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, E = a.Width, d = E / a.Heads;
        int c = index % d, rest = index / d, i = rest % T, pair = rest / T, b = pair / a.Heads, h = pair % a.Heads;
        long row = ((long)pair * T + i) * S;
        int valid = Padded(i, a, v.Lengths, b) ? 0 : Valid(i, a, v.Lengths, b);
        float acc = 0f;
        for (int j = valid == 0 ? 0 : First(i, valid, a); j < valid; j++) acc += v.Scratch[row + j] * v.K[((long)j * B + b) * a.KRow + a.KOffset + h / a.Group * d + c];
        v.DQ[((long)i * B + b) * a.DQRow + h * d + c] = acc;
    }

    /// <summary>
    /// Back, one key column: dk = dSᵀ · q; dv = Aᵀ · d(context) (A after dropout), over the valid queries, each query head's
    /// sum added in order over the group that shares the key/value head; zero for a padded key.
    /// </summary>
    private static void AttentionKeysBackwardKernel(Index1D index, AttentionViews v, AttentionArgs a)
    {
        int T = a.Steps, S = a.Keys, B = a.Batch, E = a.Width, d = E / a.Heads, kvHeads = a.Heads / a.Group;
        int c = index % d, rest = index / d, j = rest % S, kvPair = rest / S, b = kvPair / kvHeads, g = kvPair % kvHeads;
        float dk = 0f, dv = 0f;
        // only the valid queries' rows are read, and nothing for a padded key (what padded steps hold, NaN included, reaches no gradient)
        int queries = a.HasLengths != 0 && j >= v.Lengths[b] ? 0 : a.PaddedQueries != 0 ? XMath.Min(v.Lengths[b], T) : T;
        for (int h = g * a.Group; h < (g + 1) * a.Group; h++)
        {
            int pair = b * a.Heads + h;
            float headDk = 0f, headDv = 0f;
            for (int i = 0; i < queries; i++)
            {
                long at = ((long)pair * T + i) * S + j;
                float w = v.Weights[at] * (a.HasMask != 0 ? v.Mask[at] : 1f);
                headDk += v.Scratch[at] * v.Q[((long)i * B + b) * a.QRow + h * d + c];
                headDv += w * v.DContext[((long)i * B + b) * E + h * d + c];
            }
            dk += headDk;
            dv += headDv;
        }
        long key = ((long)j * B + b) * a.KRow + g * d + c;
        v.DK[key + a.KOffset] = dk;
        v.DV[key + a.VOffset] = dv;
    }

    /// <summary>
    /// One row of layer norm: μ, 1/√(σ² + ε), and y = (x − μ)·rstd·γ + β; of RMS norm (<see cref="NormViews.Centred"/> 0): μ
    /// taken as 0, no shift, no mean kept.
    /// </summary>
    private static void LayerNormForwardKernel(Index1D r, NormViews v, int width, float epsilon)
    {
        long at = v.At(r, v.XRow, width), to = v.At(r, v.YRow, width);
        if (v.KeepRow > 0)
        {
            // x kept as it came before y is written over it (QK-norm normalises the packed rows in place)
            long keep = v.At(r, v.KeepRow, width);
            for (int j = 0; j < width; j++) v.Keep[keep + j] = v.X[at + j];
        }
        float mu = 0f, variance = 0f;
        if (v.Centred != 0)
        {
            float sum = 0f;
            for (int j = 0; j < width; j++) sum += v.X[at + j];
            mu = sum / width;
            if (float.IsNaN(mu) || float.IsInfinity(mu))
            {
                // finite values whose float sum overflows: the mean summed in double, as the host's LayerNormKernel
                double wide = 0;
                for (int j = 0; j < width; j++) wide += v.X[at + j];
                mu = (float)(wide / width);
            }
            v.Mean[r] = mu;
        }
        for (int j = 0; j < width; j++)
        {
            float c = v.X[at + j] - mu;
            variance += c * c;
        }
        float s = 1f / XMath.Sqrt(variance / width + epsilon);
        v.Rstd[r] = s;
        if (v.Centred != 0)
        {
            for (int j = 0; j < width; j++) v.Y[to + j] = (v.X[at + j] - mu) * s * v.Gamma[j] + v.Beta[j];
        }
        else
        {
            for (int j = 0; j < width; j++) v.Y[to + j] = v.X[at + j] * s * v.Gamma[j];
        }
    }

    /// <summary>One row back: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), g = dy ⊙ γ (RMS norm: μ = 0 and no mean(g) term).</summary>
    private static void LayerNormBackwardRowsKernel(Index1D r, NormViews v, int width, float unused)
    {
        long at = v.At(r, v.XRow, width), to = v.At(r, v.YRow, width);
        float mu = v.Centred != 0 ? v.Mean[r] : 0f, s = v.Rstd[r], sumG = 0f, sumGx = 0f;
        for (int j = 0; j < width; j++)
        {
            float g = v.Dy[to + j] * v.Gamma[j];
            sumG += g;
            sumGx += g * (v.X[at + j] - mu) * s;
        }
        float meanG = v.Centred != 0 ? sumG / width : 0f, meanGx = sumGx / width;
        for (int j = 0; j < width; j++)
        {
            float g = v.Dy[to + j] * v.Gamma[j], xhat = (v.X[at + j] - mu) * s;
            v.Dx[to + j] = (g - meanG - xhat * meanGx) * s;
        }
    }

    /// <summary>One chunk of rows of one column back (i = chunk · width + column): Σ dy ⊙ x̂ into partials[i], Σ dy into partials[chunks · width + i].</summary>
    private static void LayerNormColumnPartialsKernel(Index1D i, NormViews v, ArrayView<float> partials, int width, int rows, int chunks)
    {
        int c = i / width, j = i % width;
        int start = (int)((long)c * rows / chunks), end = (int)((long)(c + 1) * rows / chunks);
        float dg = 0f, db = 0f;
        for (int r = start; r < end; r++)
        {
            float dy = v.Dy[v.At(r, v.YRow, width) + j];
            dg += dy * (v.X[v.At(r, v.XRow, width) + j] - (v.Centred != 0 ? v.Mean[r] : 0f)) * v.Rstd[r];
            db += dy;
        }
        partials[i] = dg;
        partials[(long)chunks * width + i] = db;
    }

    private static void AddStepRowsKernel(Index1D i, ArrayView<float> rows, ArrayView<float> x, ArrayView<float> y, int batch, int width)
    {
        int t = i / (batch * width), j = i % width;
        y[i] = x[i] + rows[(long)t * width + j];
    }

    private static void AddStepSumsKernel(Index1D i, ArrayView<float> dy, ArrayView<float> rows, int batch, int width)
    {
        int t = i / width, j = i % width;
        float sum = rows[i];
        for (int b = 0; b < batch; b++) sum += dy[((long)t * batch + b) * width + j];
        rows[i] = sum;
    }

    private static void FillKernel(Index1D i, ArrayView<float> x, float value) => x[i] = value;

    private static void BinaryKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> into, int op) =>
        into[i] = op == 0 ? a[i] + b[i] : op == 1 ? a[i] * b[i] : a[i] - b[i];

    private static void FusedMultiplyAddKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> into) => into[i] = a[i] * b[i] + c[i];

    /// <summary>
    /// x·scale clamped to [lo, hi], NaN kept NaN (as the host and PyTorch clip): CUDA's fminf and fmaxf, which XMath.Clamp
    /// becomes there, return the other operand for a NaN, which would turn a NaN gradient into a finite one.
    /// </summary>
    private static void ScaleClampKernel(Index1D i, ArrayView<float> x, float scale, float lo, float hi)
    {
        float v = x[i] * scale;
        x[i] = float.IsNaN(v) ? v : v < lo ? lo : v > hi ? hi : v;
    }

    private static void AddBiasKernel(Index1D i, ArrayView<float> y, ArrayView<float> bias, int width) => y[i] += bias[i % width];

    /// <summary>One chunk of rows of one column (i = chunk · width + column): partials[i] = Σ x[r, column] over the chunk's rows.</summary>
    private static void ColumnPartialsKernel(Index1D i, ArrayView<float> x, ArrayView<float> partials, int rows, int width, int chunks)
    {
        int c = i / width, j = i % width;
        int start = (int)((long)c * rows / chunks), end = (int)((long)(c + 1) * rows / chunks);
        float sum = 0f;
        for (int r = start; r < end; r++) sum += x[(long)r * width + j];
        partials[i] = sum;
    }

    /// <summary>One thread per column: into[j] += the chunks' partial sums of column j, in the chunks' order.</summary>
    private static void AddColumnPartialsKernel(Index1D j, ArrayView<float> partials, ArrayView<float> into, int width, int chunks)
    {
        float sum = 0f;
        for (int c = 0; c < chunks; c++) sum += partials[(long)c * width + j];
        into[j] += sum;
    }

    internal static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>
    /// tanh x as the host computes it (<see cref="Dsl.Kernels.CellMath"/>'s Tanh: Cephes's odd polynomial below |x| = 0.625,
    /// 1 − 2 / (e^{2x} + 1) above), over the device's exp. Not XMath.Tanh: on sm_75 and newer ILGPU's PTX backend turns it into
    /// tanh.approx.f32, whose relative error (up to about 2^−11) is past what the device is held to against the host (1e-4),
    /// and which a cell's backward (1 − t²) magnifies near saturation. The CPU accelerator runs MathF.Tanh and would not show it.
    /// </summary>
    internal static float Tanh(float x)
    {
        if (XMath.Abs(x) < CellMath.TanhSmall)
        {
            float z = x * x;
            float p = (((CellMath.T0 * z + CellMath.T1) * z + CellMath.T2) * z + CellMath.T3) * z + CellMath.T4;
            return p * z * x + x;
        }
        return 1f - 2f / (XMath.Exp(x + x) + 1f);
    }

    /// <summary>
    /// Φ(x) as the host computes it (<see cref="Dsl.Kernels.CellMath"/>'s NormalCdf: 1 − erfc(|x|/√2) / 2 above 0, erfc / 2
    /// below, erfc by the same polynomial), over the device's exp.
    /// </summary>
    internal static float NormalCdf(float x)
    {
        float z = XMath.Abs(x) * CellMath.InvSqrt2;
        float t = 1f / (z * 0.5f + 1f);
        float p = ((((((((CellMath.ErfcC9 * t + CellMath.ErfcC8) * t + CellMath.ErfcC7) * t + CellMath.ErfcC6) * t + CellMath.ErfcC5) * t
            + CellMath.ErfcC4) * t + CellMath.ErfcC3) * t + CellMath.ErfcC2) * t + CellMath.ErfcC1) * t + CellMath.ErfcC0;
        float half = 0.5f * t * XMath.Exp(p - z * z);
        return x > 0f ? 1f - half : half;
    }

    /// <summary>
    /// kind: 0 none, 1 tanh, 2 ReLU, 3 sigmoid, 4 GELU, 5 GELU's tanh form, 6 SiLU (the values of <see cref="Dsl.Activation"/>);
    /// the last three read their input <paramref name="x"/> both ways (as the host's CellMath), the others y (x is y for them).
    /// </summary>
    private static void ActivationKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, int kind, int backward)
    {
        if (kind >= 4)
        {
            float a = x[i];
            if (backward == 0) y[i] = ActivationValue(kind, a);
            else dy[i] *= InputSlope(kind, a);
            return;
        }
        float v = y[i];
        if (backward == 0) y[i] = ActivationValue(kind, v);
        else dy[i] = OutputSlopeTimes(kind, v, dy[i]);
    }

    /// <summary>Soft-capping, one thread per value: forward y = cap · tanh(y · scale); back dy ⊙= 1 − (y · scale)² from the capped y.</summary>
    private static void SoftCapKernel(Index1D i, ArrayView<float> y, ArrayView<float> dy, float scale, float cap, int backward)
    {
        float u = y[i] * scale;
        if (backward == 0) y[i] = cap * Tanh(u);
        else dy[i] *= 1f - u * u;
    }

    /// <summary>Clipping, one thread per value: x = clamp(x, −limit, limit), NaN kept (comparisons with it are false); kept = 1 where |x| ≤ limit, else 0.</summary>
    private static void ClipKernel(Index1D i, ArrayView<float> x, ArrayView<float> kept, float limit, int hasKept)
    {
        float v = x[i];
        if (hasKept != 0) kept[i] = XMath.Abs(v) <= limit ? 1f : 0f;
        x[i] = v > limit ? limit : v < -limit ? -limit : v;
    }

    /// <summary>act(a) for a <see cref="Dsl.Activation"/> value (past GELU's and SiLU's limits, each takes its limit, as the host's CellMath does).</summary>
    private static float ActivationValue(int kind, float a)
    {
        if (kind == 1) return Tanh(a);
        if (kind == 2) return a <= 0f ? 0f : a;
        if (kind == 3) return Sigmoid(a);
        if (kind == 4) return a * NormalCdf(a);
        if (kind == 5) return 0.5f * a * (1f + Tanh(CellMath.GeluTanhScale * (CellMath.GeluTanhCube * a * a * a + a)));
        if (kind == 6) return a * (XMath.Abs(a) < CellMath.SiluLimit ? Sigmoid(a) : a > 0f ? 1f : a * 0f);
        return a;
    }

    /// <summary>act'(a) from the input a, for GELU, its tanh form and SiLU (kinds 4 to 6).</summary>
    private static float InputSlope(int kind, float a)
    {
        float step = a > 0f ? 1f : a * 0f;
        if (kind == 4) return XMath.Abs(a) < CellMath.GeluLimit ? NormalCdf(a) + a * CellMath.InvSqrt2Pi * XMath.Exp(a * a * -0.5f) : NormalCdf(a);
        if (kind == 5)
        {
            float t = Tanh(CellMath.GeluTanhScale * (CellMath.GeluTanhCube * a * a * a + a));
            return XMath.Abs(a) < CellMath.GeluLimit ? 0.5f * (a * (1f - t * t) * CellMath.GeluTanhScale * (3f * CellMath.GeluTanhCube * a * a + 1f) + 1f + t) : step;
        }
        float s = Sigmoid(a);
        return XMath.Abs(a) < CellMath.SiluLimit ? s * (a * (1f - s) + 1f) : step;
    }

    /// <summary>d · act'(·) from the output v for none, tanh, ReLU and sigmoid (a ReLU stops d where v ≤ 0 and passes it elsewhere, NaN included).</summary>
    private static float OutputSlopeTimes(int kind, float v, float d) =>
        kind == 1 ? d * (1f - v * v) : kind == 2 ? (v <= 0f ? 0f : d) : kind == 3 ? d * v * (1f - v) : d;

    /// <summary>
    /// One thread per unit of [rows, U]: pre [rows, 2U] holds each row's value half, then its gate half. Forward: y = value ·
    /// act(gate); back: dpre's value half = dy · act(gate), its gate half = dy · value · act'(gate).
    /// </summary>
    private static void GatedKernel(Index1D i, ArrayView<float> pre, ArrayView<float> y, ArrayView<float> dPre, int units, int kind, int backward)
    {
        long r = i / units, j = i % units, at = 2 * r * units + j;
        float value = pre[at], gate = pre[at + units], a = ActivationValue(kind, gate);
        if (backward == 0)
        {
            y[i] = value * a;
            return;
        }
        float d = y[i]; // dy
        dPre[at] = d * a;
        dPre[at + units] = kind >= 4 ? d * value * InputSlope(kind, gate) : OutputSlopeTimes(kind, a, d * value);
    }

    /// <summary>
    /// One thread per row of logits [rows, classes]: loss = log Σ exp(z) − z[target] (0 for a negative target, an ignored row),
    /// and the gradient (softmax − one-hot) · scale, zero on an ignored row. The host sums the rows' losses. A smoothing ε
    /// makes the target (1 − ε) one-hot + ε / classes: the loss log Σ exp(z) − (1 − ε) z[target] − ε / classes · Σ z, written
    /// (1 − ε)(L − z[target]) + ε (L − max) − ε / classes · Σ (z − max) with L = log Σ exp(z), so that the float sum runs over
    /// values near 0 rather than over logits with a large common part.
    /// </summary>
    private static void CrossEntropyRowsKernel(Index1D row, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> gradient, ArrayView<float> rowLoss,
        int classes, float scale, float smoothing, int wantGradient)
    {
        long start = (long)(int)row * classes;
        int target = targets[row];
        if (target < 0)
        {
            rowLoss[row] = 0f;
            if (wantGradient != 0) for (int c = 0; c < classes; c++) gradient[start + c] = 0f;
            return;
        }
        float max = logits[start];
        for (int c = 1; c < classes; c++) max = XMath.Max(max, logits[start + c]);
        float sum = 0f, shifted = 0f; // Σ exp(z − max), Σ (z − max)
        for (int c = 0; c < classes; c++)
        {
            float d = logits[start + c] - max;
            sum += XMath.Exp(d);
            shifted += d;
        }
        float logOfSum = XMath.Log(sum), logSum = max + logOfSum;
        float loss = logSum - logits[start + target];
        if (smoothing != 0f) loss = (1f - smoothing) * loss + smoothing * logOfSum - smoothing * shifted / classes;
        rowLoss[row] = loss;
        if (wantGradient == 0) return;
        float uniform = scale * smoothing / classes;
        for (int c = 0; c < classes; c++) gradient[start + c] = XMath.Exp(logits[start + c] - logSum) * scale - uniform;
        gradient[start + target] -= scale * (1f - smoothing);
    }

    /// <summary>
    /// One thread per row of predictions [rows, width] (the last row may be shorter: <see cref="SquaredErrorArgs.Total"/> elements in all): Σ (p − t)² into the row's loss, and (p − t) · scale into the gradient
    /// when asked. With lengths, rows are time-major (row = t · batch + b) and a row with t ≥ lengths[b] is a padded step:
    /// loss 0, gradient 0, as <see cref="Losses.MeanSquaredError(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{int}, int, int, int)"/>.
    /// </summary>
    private static void SquaredErrorRowsKernel(Index1D row, SquaredErrorViews v, SquaredErrorArgs a)
    {
        long start = (long)(int)row * a.Width, end = XMath.Min(start + a.Width, (long)a.Total);
        bool valid = a.Batch == 0 || row / a.Batch < v.Lengths[row % a.Batch];
        double sum = 0; // in double, as the host's Losses (a float sum overflowed from differences of 1.8e19 on)
        for (long i = start; i < end; i++)
        {
            float d = valid ? v.Prediction[i] - v.Target[i] : 0f;
            sum += (double)d * d;
            if (a.WantGradient != 0) v.Gradient[i] = a.Scale * d;
        }
        v.RowLoss[row] = (float)(sum * a.PerElement); // the row's share of the mean: finite wherever the mean is
    }

    // (a scale of 1 multiplies exactly: the unscaled gather and scatter keep their bits)
    private static void GatherRowsKernel(Index1D i, ArrayView<float> table, ArrayView<int> indices, ArrayView<float> into, int width, float scale) =>
        into[i] = table[(long)indices[i / width] * width + i % width] * scale;

    /// <summary>
    /// table[id] += the rows of id, for the (distinct id, column) of <paramref name="i"/>: in the order of their positions,
    /// as the host adds them (the same bits), by one thread (no atomics). <paramref name="groups"/>: as <c>IndexGroups.Of</c>
    /// lays out <paramref name="count"/> indices.
    /// </summary>
    private static void ScatterAddRowsKernel(Index1D i, ArrayView<float> rows, ArrayView<int> groups, ArrayView<float> table, int width, int count, float scale)
    {
        int d = i / width, j = i % width;
        long at = (long)groups[d] * width + j;
        float sum = table[at];
        for (int q = groups[count + 1 + d], end = groups[count + 2 + d]; q < end; q++) sum += rows[(long)groups[2 * count + 2 + q] * width + j] * scale;
        table[at] = sum;
    }

    private static void RepeatRowsKernel(Index1D i, ArrayView<float> row, ArrayView<float> into, int width) => into[i] = row[i % width];

    /// <summary>
    /// One thread per value of into [rows, width]: the sum over its row's k choices of their grouped rows (the experts' outputs,
    /// or the gradients of the rows' copies), each times its weight when <paramref name="weighted"/>, in the order of the choices.
    /// </summary>
    private static void ExpertsCombineKernel(Index1D i, ArrayView<float> grouped, ArrayView<float> weights, ArrayView<int> positions, ArrayView<float> into, int width, int topK, int weighted)
    {
        long r = i / width, c = i % width;
        float sum = 0f;
        for (int j = 0; j < topK; j++)
        {
            long slot = r * topK + j;
            float v = grouped[positions[slot] * (long)width + c];
            sum += weighted != 0 ? weights[slot] * v : v;
        }
        into[i] = sum;
    }

    /// <summary>One thread per value of the choices' [rows · k, width]: the grouped row of choice s gets weights[s] · dy[s / k].</summary>
    private static void ExpertsSpreadKernel(Index1D i, ArrayView<float> dy, ArrayView<float> weights, ArrayView<int> positions, ArrayView<float> dGrouped, int width, int topK)
    {
        long slot = i / width, c = i % width;
        dGrouped[positions[slot] * (long)width + c] = weights[slot] * dy[slot / topK * width + c];
    }

    /// <summary>One thread per choice s: dweights[s] = dy[s / k] · its grouped row (the expert's output).</summary>
    private static void ExpertsDotsKernel(Index1D slot, ArrayView<float> dy, ArrayView<float> grouped, ArrayView<int> positions, ArrayView<float> dWeights, int width, int topK)
    {
        long row = slot / topK * (long)width, at = positions[slot] * (long)width;
        float sum = 0f;
        for (int c = 0; c < width; c++) sum += dy[row + c] * grouped[at + c];
        dWeights[slot] = sum;
    }

    /// <summary>One thread per value of y [rows, width]: y += σ(gate[its row]) · shared, or y += shared when not <paramref name="gated"/>.</summary>
    private static void ExpertsSharedKernel(Index1D i, ArrayView<float> gate, ArrayView<float> shared, ArrayView<float> y, int width, int gated)
    {
        y[i] += gated != 0 ? Sigmoid(gate[i / width]) * shared[i] : shared[i];
    }

    /// <summary>One thread per row r: dshared[r] = σ(gate[r]) · dy[r]; dgate[r] = σ(gate[r]) (1 − σ(gate[r])) · (dy[r] · shared[r]).</summary>
    private static void ExpertsSharedBackwardKernel(Index1D r, ArrayView<float> gate, ArrayView<float> shared, ArrayView<float> dy, ArrayView<float> dShared, ArrayView<float> dGate, int width)
    {
        float sigma = Sigmoid(gate[r]), dot = 0f;
        long row = r * (long)width;
        for (int c = 0; c < width; c++)
        {
            float d = dy[row + c];
            dot += d * shared[row + c];
            dShared[row + c] = sigma * d;
        }
        dGate[r] = sigma * (1f - sigma) * dot;
    }

    /// <summary>
    /// One LSTM step, one thread per (row, unit): gates [B, 4H] become i, f, g, o; c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')
    /// (h with row stride LdY). <paramref name="cPrev"/> is ignored when HasPrev is 0.
    /// </summary>
    private static void LstmForwardKernel(Index1D index, ArrayView<float> gates, ArrayView<float> cPrev, CellArgs a)
    {
        int H = a.Hidden, b = index / H, j = index % H;
        long g = (long)b * 4 * H;
        float i = Sigmoid(gates[g + j]), f = Sigmoid(gates[g + H + j]), u = Tanh(gates[g + 2 * H + j]), o = Sigmoid(gates[g + 3 * H + j]);
        gates[g + j] = i;
        gates[g + H + j] = f;
        gates[g + 2 * H + j] = u;
        gates[g + 3 * H + j] = o;
        float c = i * u;
        if (a.HasPrev != 0) c += f * cPrev[(long)b * H + j];
        a.C[(long)b * H + j] = c;
        a.H[(long)b * a.LdY + j] = Tanh(c) * o;
    }

    /// <summary>One LSTM step back (see <c>Dsl.Kernels.LstmCell.Backward</c>): writes dGates, replaces the carried dc.</summary>
    private static void LstmBackwardKernel(Index1D index, CellViews v, CellArgs a)
    {
        int H = a.Hidden, b = index / H, j = index % H;
        long g = (long)b * 4 * H, row = (long)b * H + j;
        float i = v.Gates[g + j], f = v.Gates[g + H + j], u = v.Gates[g + 2 * H + j], o = v.Gates[g + 3 * H + j];
        float t = Tanh(v.State[row]);
        float dhv = v.Dy[(long)b * a.LdY + j] + v.Carry[row];
        float dcv = v.Carry2[row] + dhv * o * (1f - t * t);
        float cp = a.HasPrev != 0 ? v.Previous[row] : 0f;
        v.DGates[g + j] = dcv * u * i * (1f - i);
        v.DGates[g + H + j] = dcv * cp * f * (1f - f);
        v.DGates[g + 2 * H + j] = dcv * i * (1f - u * u);
        v.DGates[g + 3 * H + j] = dhv * t * o * (1f - o);
        v.Carry2[row] = dcv * f;
    }

    /// <summary>
    /// One reset-after GRU step: gates [B, 3H] (x·W_ihᵀ + b_ih) become r, z, n; hiddenGates [B, 3H] = h·W_hhᵀ + b_hh, its n part
    /// saved in State (hn); h' = n + z ⊙ (hPrev − n) with row strides LdPrevious and LdY.
    /// </summary>
    private static void GruForwardKernel(Index1D index, CellViews v, CellArgs a)
    {
        int H = a.Hidden, b = index / H, j = index % H;
        long g = (long)b * 3 * H;
        float r = Sigmoid(v.Gates[g + j] + v.Hidden[g + j]);
        float z = Sigmoid(v.Gates[g + H + j] + v.Hidden[g + H + j]);
        float hn = v.Hidden[g + 2 * H + j];
        float n = Tanh(r * hn + v.Gates[g + 2 * H + j]);
        v.Gates[g + j] = r;
        v.Gates[g + H + j] = z;
        v.Gates[g + 2 * H + j] = n;
        v.State[(long)b * H + j] = hn;
        float hp = a.HasPrev != 0 ? v.Previous[(long)b * a.LdPrevious + j] : 0f;
        a.H[(long)b * a.LdY + j] = a.HasPrev != 0 ? z * (hp - n) + n : n - z * n;
    }

    /// <summary>One reset-after GRU step back (see <c>Dsl.Kernels.GruCell.Backward</c>).</summary>
    private static void GruBackwardKernel(Index1D index, CellViews v, CellArgs a)
    {
        int H = a.Hidden, b = index / H, j = index % H;
        long g = (long)b * 3 * H, row = (long)b * H + j;
        float r = v.Gates[g + j], z = v.Gates[g + H + j], n = v.Gates[g + 2 * H + j];
        float hp = a.HasPrev != 0 ? v.Previous[(long)b * a.LdPrevious + j] : 0f;
        float dhv = v.Dy[(long)b * a.LdY + j] + v.Carry[row];
        float dan = dhv * (1f - z) * (1f - n * n);
        float dar = dan * v.State[row] * r * (1f - r);
        float daz = dhv * (hp - n) * z * (1f - z);
        v.DGates[g + j] = dar;
        v.DGates[g + H + j] = daz;
        v.DGates[g + 2 * H + j] = dan;
        v.Hidden[g + j] = dar;
        v.Hidden[g + H + j] = daz;
        v.Hidden[g + 2 * H + j] = dan * r;
        v.Carry[row] = dhv * z;
    }

    /// <summary>
    /// An Elman step, one thread per (row, unit). Forward (Backward 0): h = act(pre) from Gates [B, H] into H (stride LdY).
    /// Back: dPre = (dy + dh) ⊙ act'(h) into DGates, from the step's h in Previous (stride LdPrevious).
    /// </summary>
    private static void RnnKernel(Index1D index, CellViews v, CellArgs a)
    {
        int H = a.Hidden, b = index / H, j = index % H;
        long row = (long)b * H + j;
        if (a.Backward == 0)
        {
            float pre = v.Gates[row];
            a.H[(long)b * a.LdY + j] = a.Relu != 0 ? (pre <= 0f ? 0f : pre) : Tanh(pre);
            return;
        }
        float h = v.Previous[(long)b * a.LdPrevious + j];
        float d = v.Dy[(long)b * a.LdY + j] + v.Carry[row];
        v.DGates[row] = a.Relu != 0 ? (h <= 0f ? 0f : d) : d * (1f - h * h);
    }

    /// <summary>
    /// One row of a reset-before (Cho) GRU step, one thread per unit, in the phase <c>Mode</c> says: 0 r, z and r ⊙ h; 1 n and
    /// h'; 2 back through n and z (dh becomes its direct part); 3 back through r ⊙ h (see <c>Dsl.Kernels.GruCell</c>).
    /// </summary>
    private static void GruResetBeforeKernel(Index1D index, CellViews v, CellArgs a)
    {
        // unit j of row b: the gates' rows are 3H apart, rh, dh and d(r ⊙ h) H apart, h(t−1) LdPrevious, dy and h' LdY
        int H = a.Hidden, b = index / H, j = index % H;
        long g = (long)b * 3 * H + j, u = (long)b * H + j, y = (long)b * a.LdY + j;
        float hp = a.HasPrev != 0 ? v.Previous[(long)b * a.LdPrevious + j] : 0f;
        if (a.Mode == 0)
        {
            float r = Sigmoid(v.Gates[g] + v.Hidden[g]), z = Sigmoid(v.Gates[g + H] + v.Hidden[g + H]);
            v.Gates[g] = r;
            v.Gates[g + H] = z;
            v.State[u] = r * hp;
        }
        else if (a.Mode == 1)
        {
            float n = Tanh(v.Gates[g + 2 * H] + v.Hidden[g + 2 * H]), z = v.Gates[g + H];
            v.Gates[g + 2 * H] = n;
            a.H[y] = a.HasPrev != 0 ? z * (hp - n) + n : n - z * n;
        }
        else if (a.Mode == 2)
        {
            float z = v.Gates[g + H], n = v.Gates[g + 2 * H];
            float dhv = v.Dy[y] + v.Carry[u];
            v.DGates[g + 2 * H] = dhv * (1f - z) * (1f - n * n);
            v.DGates[g + H] = dhv * (hp - n) * z * (1f - z);
            v.Carry[u] = dhv * z;
        }
        else
        {
            float r = v.Gates[g], drh = v.Carry2[u];
            v.DGates[g] = drh * hp * r * (1f - r);
            v.Carry[u] += drh * r;
        }
    }

    /// <summary>Zeroes the padded steps (t ≥ lengths[b]) of a time-major [T, B, W] buffer.</summary>
    private static void MaskStepsKernel(Index1D i, ArrayView<float> x, ArrayView<int> lengths, int batch, int steps, int width)
    {
        int row = i / width, t = row / batch, b = row % batch;
        if (t >= lengths[b]) x[i] = 0f;
    }

    /// <summary>Mean pooling, one output value a thread: the sequence's valid steps summed in step order, then divided (as the host).</summary>
    private static void MeanStepsKernel(Index1D i, ArrayView<float> x, ArrayView<float> output, ArrayView<int> lengths, int batch, int width)
    {
        int b = i / width, j = i % width, length = lengths[b];
        float sum = 0f;
        for (int t = 0; t < length; t++) sum += x[((long)t * batch + b) * width + j];
        output[i] = length > 0 ? sum / length : 0f;
    }

    private static void MeanStepsBackwardKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> dx, ArrayView<int> lengths, int batch, int width)
    {
        int row = i / width, t = row / batch, b = row % batch, length = lengths[b];
        dx[i] = t < length ? dOutput[(long)b * width + i % width] / length : 0f;
    }

    /// <summary>Max pooling, one output value a thread: the valid steps in order, the first maximum kept (a NaN only where all are), as the host.</summary>
    private static void MaxStepsKernel(Index1D i, ArrayView<float> x, ArrayView<float> output, ArrayView<float> argmax, ArrayView<int> lengths, int batch, int width)
    {
        int b = i / width, j = i % width, length = lengths[b], from = 0;
        float best = x[(long)b * width + j];
        for (int t = 1; t < length; t++)
        {
            float v = x[((long)t * batch + b) * width + j];
            if (v > best || (float.IsNaN(best) && !float.IsNaN(v)))
            {
                best = v;
                from = t;
            }
        }
        output[i] = best;
        argmax[i] = from;
    }

    private static void MaxStepsBackwardKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> dx, ArrayView<float> argmax, int batch, int width)
    {
        int row = i / width, t = row / batch, b = row % batch;
        long at = (long)b * width + i % width;
        dx[i] = t == (int)argmax[at] ? dOutput[at] : 0f;
    }

    private static void TransposeKernel(Index1D i, ArrayView<float> source, ArrayView<float> packed, int ld, int cols)
    {
        int r = i / cols, c = i % cols;
        packed[i] = source[(long)c * ld + r];
    }

    /// <summary>
    /// Part i of a norm over the i-th of <c>parts</c> equal runs of x: its p-norm (Σ |x|^p)^(1/p), summed in double as the
    /// host's <c>ParameterSet</c> sums (a float sum of squares overflowed from norms of 1.8e19 on), or max |x| (p = ∞). The
    /// host adds the parts' p-th powers in double.
    /// </summary>
    private static void PartialNormsKernel(Index1D i, ArrayView<float> x, ArrayView<float> partials, int length, float p)
    {
        // thread i takes elements i, i + parts, i + 2·parts, …: the threads of a group read side by side (coalesced)
        int parts = (int)partials.Length;
        if (float.IsPositiveInfinity(p))
        {
            float max = 0f;
            for (int k = i; k < length; k += parts)
            {
                float v = XMath.Abs(x[k]);
                max = float.IsNaN(v) || v > max ? v : max; // a NaN stays (CUDA's fmaxf would drop it)
            }
            partials[i] = max;
            return;
        }
        double acc = 0;
        for (int k = i; k < length; k += parts)
        {
            double v = XMath.Abs(x[k]);
            acc += p == 2f ? v * v : XMath.Pow(v, p);
        }
        partials[i] = (float)(p == 2f ? XMath.Sqrt(acc) : XMath.Pow(acc, 1.0 / p));
    }

    /// <summary>
    /// One element of SGD (kind 0), Adam/AdamW with or without AMSGrad (kind 1), RMSprop (kind 2) or Adagrad (kind 3, the
    /// step's rate in StepSize), as <c>Dsl.Optimizer</c>'s updates.
    /// </summary>
    private static void OptimizerUpdateKernel(Index1D i, OptimizerViews v, OptimizerArgs a)
    {
        float value = v.Value[i];
        float g = v.Grad[i] * a.Sign; // −∇ when maximising
        if (a.Kind == 0)
        {
            g += a.WeightDecay * value;
            if (a.Momentum != 0f)
            {
                float buf = a.First != 0 ? g : a.Momentum * v.S1[i] + (1f - a.Dampening) * g;
                v.S1[i] = buf;
                g = a.Nesterov != 0 ? g + a.Momentum * buf : buf;
            }
            v.Value[i] = value - a.LearningRate * g;
            return;
        }
        if (a.Kind == 1)
        {
            if (a.Decoupled != 0) value *= 1f - a.LearningRate * a.WeightDecay;
            else g += a.WeightDecay * value;
            float m = a.Beta1 * v.S1[i] + (1f - a.Beta1) * g;
            float s = a.Beta2 * v.S2[i] + (1f - a.Beta2) * g * g;
            v.S1[i] = m;
            v.S2[i] = s;
            if (a.AmsGrad != 0)
            {
                // AMSGrad: the largest second moment so far (a NaN kept, as the host's Max and torch.maximum keep it)
                float largest = v.S3[i];
                s = s > largest || float.IsNaN(s) ? s : largest;
                v.S3[i] = s;
            }
            float denominator = XMath.Sqrt(s) / a.Bias2Sqrt + a.Epsilon;
            v.Value[i] = value - a.StepSize * m / denominator;
            return;
        }
        if (a.Kind == 3)
        {
            if (a.WeightDecay != 0f) g += a.WeightDecay * value;
            float sum = v.S1[i] + g * g;
            v.S1[i] = sum;
            v.Value[i] = value + -a.StepSize * g / (XMath.Sqrt(sum) + a.Epsilon);
            return;
        }
        g += a.WeightDecay * value;
        float sq = a.Beta2 * v.S1[i] + (1f - a.Beta2) * g * g;
        v.S1[i] = sq;
        float avg;
        if (a.Centered != 0)
        {
            float mean = a.Beta2 * v.S2[i] + (1f - a.Beta2) * g;
            v.S2[i] = mean;
            avg = XMath.Sqrt(sq - mean * mean) + a.Epsilon;
        }
        else avg = XMath.Sqrt(sq) + a.Epsilon;
        if (a.Momentum > 0f)
        {
            float buf = a.Momentum * v.S3[i] + g / avg;
            v.S3[i] = buf;
            v.Value[i] = value - a.LearningRate * buf;
        }
        else v.Value[i] = value - a.LearningRate * g / avg;
    }
}

/// <summary>The sizes and outputs of a cell step, passed by value.</summary>
internal struct CellArgs
{
    public int Hidden;
    public int LdY;
    public int LdPrevious;
    public int HasPrev;
    public int Relu;
    public int Backward;
    public int Mode;
    public ArrayView<float> C;
    public ArrayView<float> H;
}

/// <summary>The buffers a cell step reads and writes (each a placeholder where the step has none).</summary>
internal struct CellViews
{
    public ArrayView<float> Gates;
    public ArrayView<float> Hidden;
    public ArrayView<float> State;
    public ArrayView<float> Previous;
    public ArrayView<float> Dy;
    public ArrayView<float> Carry;
    public ArrayView<float> Carry2;
    public ArrayView<float> DGates;
}

internal struct OptimizerViews
{
    public ArrayView<float> Value;
    public ArrayView<float> Grad;
    public ArrayView<float> S1;
    public ArrayView<float> S2;
    public ArrayView<float> S3;
}

internal struct OptimizerArgs
{
    public int Kind;
    public float LearningRate;
    public float WeightDecay;
    public float Momentum;
    public float Dampening;
    public int Nesterov;
    public int First;
    public int Decoupled;
    public int Centered;
    public int AmsGrad;
    public float Beta1;
    public float Beta2;
    public float Epsilon;
    public float StepSize;
    public float Bias2Sqrt;
    public float Sign; // 1, or −1 to maximise
}

/// <summary>
/// The buffers of multi-head attention: queries Q, keys K and values V (for self-attention the same [T, B, 3E] buffer,
/// read at offsets; for cross-attention three), and their gradients DQ, DK, DV alike.
/// </summary>
internal struct AttentionViews
{
    public ArrayView<float> Q;
    public ArrayView<float> K;
    public ArrayView<float> V;
    public ArrayView<float> Weights;
    public ArrayView<float> Mask;
    public ArrayView<float> Context;
    public ArrayView<float> DContext;
    public ArrayView<float> DQ;
    public ArrayView<float> DK;
    public ArrayView<float> DV;
    public ArrayView<float> Scratch;
    public ArrayView<int> Lengths;
    /// <summary>A relative position bias by distance [heads, 2T − 1] added to the scaled scores; back, its gradient [B, heads, 2T − 1].</summary>
    public ArrayView<float> PositionBias;
    public ArrayView<float> DPositionBias;
}

internal struct AttentionArgs
{
    public int Steps;
    public int Keys;
    public int Batch;
    public int Width;
    public int Heads;
    public int QRow;
    public int DQRow;
    public int KRow;
    public int KOffset;
    public int VOffset;
    /// <summary>Query heads per key/value head: 1, or more in grouped-query attention (query head h reads key/value head h / Group).</summary>
    public int Group;
    public float Scale;
    /// <summary>A soft cap on the scaled scores, cap · tanh(score / cap) (Gemma 2's); 0: none.</summary>
    public float SoftCap;
    public int Causal;
    /// <summary>A sliding window: causal query i sees keys i − Window &lt; j ≤ i, another |j − i| ≤ Window / 2; 0: every key it may.</summary>
    public int Window;
    public int HasLengths;
    /// <summary>1 when the lengths pad the queries too (self-attention): a padded query adds nothing to dk and dv, and its dq is zero.</summary>
    public int PaddedQueries;
    public int HasMask;
    /// <summary>1 when a relative position bias is added to the scores (forward) and its gradient written (back).</summary>
    public int HasPositionBias;
}

/// <summary>What <see cref="DeviceKernels.RelativeCollect"/> sums: the sequences, heads and distances of d(bias).</summary>
internal struct RelativeSums
{
    public int Batch;
    public int Heads;
    public int Distances;
}

internal struct NormViews
{
    public ArrayView<float> X;
    public ArrayView<float> Gamma;
    public ArrayView<float> Beta;
    public ArrayView<float> Y;
    public ArrayView<float> Mean;
    public ArrayView<float> Rstd;
    public ArrayView<float> Dy;
    public ArrayView<float> Dx;
    public ArrayView<float> DGamma;
    public ArrayView<float> DBeta;

    /// <summary>Where x is kept before y is written over it (<see cref="KeepRow"/> &gt; 0).</summary>
    public ArrayView<float> Keep;

    /// <summary>1: layer norm (centred, shifted); 0: RMS norm (Mean, Beta and DBeta not read or written).</summary>
    public int Centred;

    /// <summary>
    /// A normalised row is width values; <see cref="Segments"/> of them lie side by side in each row of x (of y, dy and dx; of
    /// the kept x) that is <see cref="XRow"/> (<see cref="YRow"/>; <see cref="KeepRow"/>, 0: nothing kept) values long.
    /// </summary>
    public int Segments, XRow, YRow, KeepRow;

    /// <summary>Where normalised row <paramref name="r"/> starts in a buffer whose rows are <paramref name="row"/> values long.</summary>
    public readonly long At(int r, int row, int width) => Segments == 1 ? (long)r * row : (long)(r / Segments) * row + (long)(r % Segments) * width;
}

/// <summary>The mean squared error's arrays: predictions and targets [rows, width], their gradient, a loss per row, lengths [batch].</summary>
internal struct SquaredErrorViews
{
    public ArrayView<float> Prediction;
    public ArrayView<float> Target;
    public ArrayView<float> Gradient;
    public ArrayView<float> RowLoss;
    public ArrayView<int> Lengths;
}

/// <summary>The mean squared error's sizes: <see cref="Batch"/> 0 when every row counts (no lengths).</summary>
internal struct SquaredErrorArgs
{
    public int Width;
    public int Total;
    public int Batch;
    public float Scale;
    public int WantGradient;
    /// <summary>1 / the number of elements counted: each row's loss comes back as its share of the mean.</summary>
    public double PerElement;
}
