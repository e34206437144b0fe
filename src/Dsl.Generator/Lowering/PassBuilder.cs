using System.Collections.Generic;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;

namespace Dsl.Generator.Lowering;

/// <summary>Collects a layer's forward and backward ops while it lowers, with the comments that explain them.</summary>
internal sealed class PassBuilder
{
    private readonly List<string> _forwardDoc = new(), _backwardDoc = new();
    private readonly List<Op> _forward = new(), _backward = new();
    private List<Op> _current;
    private List<string> _doc;

    public PassBuilder()
    {
        _current = _forward;
        _doc = _forwardDoc;
    }

    /// <summary>Ops from here on belong to the backward pass.</summary>
    public PassBuilder Backward()
    {
        _current = _backward;
        _doc = _backwardDoc;
        return this;
    }

    /// <summary>A comment line above the pass's method.</summary>
    public PassBuilder Doc(string line)
    {
        _doc.Add(line);
        return this;
    }

    public PassBuilder Add(Op op)
    {
        _current.Add(op);
        return this;
    }

    public PassBuilder Comment(string text) => Add(new CommentOp(text));

    /// <summary>
    /// y[rows, n] = x[rows, k] · Wᵀ + b: dense layers and the attention projections, one product whose tiles start from the
    /// bias (y written once: neither cleared nor filled with the bias first); without a bias, y = x · Wᵀ.
    /// </summary>
    public PassBuilder Affine(Dim rows, Dim n, Dim k, Operand x, ParamRef weight, ParamRef? bias, Operand y) =>
        bias is null ? Add(new MatMulOp(rows, n, k, x, false, weight.Values, true, y, false)) : Affine(rows, n, k, x, weight.Values, bias.Values, y);

    /// <summary><see cref="Affine(Dim, Dim, Dim, Operand, ParamRef, ParamRef, Operand)"/> with the weight and bias as operands (parts of a packed parameter; no bias: null).</summary>
    public PassBuilder Affine(Dim rows, Dim n, Dim k, Operand x, Operand weight, Operand? bias, Operand y) =>
        Add(new MatMulOp(rows, n, k, x, false, weight, true, y, false, Bias: bias));

    /// <summary>
    /// The adjoint of <see cref="Affine"/>: dW += dyᵀ · x, db += Σ dy (with a bias), and dx = dy · W when <paramref name="dx"/> is wanted
    /// (dx += dy · W with <paramref name="accumulateDx"/>: a branch beside others that wrote dx first).
    /// </summary>
    public PassBuilder AffineBackward(Dim rows, Dim n, Dim k, Operand x, ParamRef weight, ParamRef? bias, Operand dy, BufferRef? dx, bool accumulateDx = false)
    {
        Add(new MatMulOp(n, k, rows, dy, true, x, false, weight.Gradient, true));
        if (bias is not null) Add(new ColumnSumsOp(dy, rows, bias.Gradient));
        if (dx is not null) Add(new MatMulOp(rows, k, n, dy, false, weight.Values, false, dx, accumulateDx));
        return this;
    }

    public Passes Build() => new(_forwardDoc.ToEquatableArray(), _forward.ToEquatableArray(), _backwardDoc.ToEquatableArray(), _backward.ToEquatableArray());
}
