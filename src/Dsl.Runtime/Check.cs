using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl;

/// <summary>
/// Run-time checks of what the compiler cannot know (batch, steps, buffer lengths), used by
/// generated code. Every failure is an <see cref="ArgumentException"/> naming the tensor, the
/// expected and the actual shape.
/// </summary>
public static class Check
{
    /// <summary>
    /// Checks that <paramref name="tensor"/> is dense with the given shape, where a negative expected
    /// dimension is free (batch or steps) and is read back; returns the flat, row-major values.
    /// <paramref name="dimNames"/> names the dimensions for the message, e.g. "batch, steps, 65".
    /// </summary>
    public static ReadOnlySpan<T> Shape<T>(ReadOnlyTensorSpan<T> tensor, string name, string dimNames, Span<int> dims)
    {
        ReadOnlySpan<nint> lengths = tensor.Lengths;
        bool ok = lengths.Length == dims.Length;
        for (int i = 0; ok && i < dims.Length; i++)
        {
            if (dims[i] >= 0 ? lengths[i] != dims[i] : lengths[i] <= 0) ok = false;
        }
        if (!ok)
        {
            // Right rank and sizes, but a free dimension (batch, steps) of 0: say so, rather than only that the shapes differ.
            if (lengths.Length == dims.Length)
            {
                for (int i = 0; i < dims.Length; i++)
                {
                    if (dims[i] < 0 && lengths[i] <= 0 && FixedDimensionsMatch(lengths, dims))
                        throw new ArgumentException($"{name}: {DimensionName(dimNames, i, dims.Length)} must be positive, but the shape is {Shapes.Format(lengths)} (expected [{dimNames}]); " +
                            "an empty batch or a sequence of no steps has nothing to compute.", name);
                }
            }
            throw new ArgumentException($"{name}: expected shape [{dimNames}] but got {Shapes.Format(lengths)}.", name);
        }
        for (int i = 0; i < dims.Length; i++)
        {
            if (lengths[i] > int.MaxValue)
                throw new ArgumentException($"{name}: dimension {DimensionName(dimNames, i, dims.Length)} is {lengths[i]}, more than an array can hold.", name);
            dims[i] = (int)lengths[i];
        }
        if (tensor.FlattenedLength > int.MaxValue)
            throw new ArgumentException($"{name}: shape {Shapes.Format(lengths)} holds {tensor.FlattenedLength} values, more than an array can hold ({int.MaxValue}): split the batch or the sequences.", name);
        if (!tensor.IsDense)
            throw new ArgumentException($"{name}: expected a dense (contiguous, row-major) tensor of shape {Shapes.Format(lengths)}, got strides {Shapes.Format(tensor.Strides)}.", name);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in tensor.GetPinnableReference()), (int)tensor.FlattenedLength);
    }

    private static bool FixedDimensionsMatch(ReadOnlySpan<nint> lengths, Span<int> dims)
    {
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] >= 0 && lengths[i] != dims[i]) return false;
        }
        return true;
    }

    /// <summary>The name of dimension <paramref name="index"/> in "batch, steps, 3" ("steps"), or "dimension 1" when the names do not say.</summary>
    private static string DimensionName(string dimNames, int index, int rank)
    {
        string[] names = dimNames.Split(',', StringSplitOptions.TrimEntries);
        return names.Length == rank && names[index].Length > 0 && !char.IsAsciiDigit(names[index][0]) ? names[index] : $"dimension {index}";
    }

    /// <summary>As <see cref="Shape{T}(ReadOnlyTensorSpan{T}, string, string, Span{int})"/>, for a destination the caller owns.</summary>
    public static Span<T> Destination<T>(TensorSpan<T> tensor, string name, string dimNames, ReadOnlySpan<int> dims)
    {
        ReadOnlySpan<nint> lengths = tensor.Lengths;
        bool ok = lengths.Length == dims.Length;
        for (int i = 0; ok && i < dims.Length; i++) ok = lengths[i] == dims[i];
        if (!ok)
            throw new ArgumentException($"{name}: expected shape [{dimNames}] = {Shapes.Format(dims)} but got {Shapes.Format(lengths)}.", name);
        if (!tensor.IsDense)
            throw new ArgumentException($"{name}: expected a dense (contiguous, row-major) tensor, got strides {Shapes.Format(tensor.Strides)}.", name);
        return MemoryMarshal.CreateSpan(ref tensor.GetPinnableReference(), checked((int)tensor.FlattenedLength));
    }

    /// <summary>Checks that a dimension read from one tensor agrees with another's.</summary>
    public static void SameSize(int expected, int actual, string name, string what)
    {
        if (expected != actual) throw new ArgumentException($"{name}: expected {what} = {expected} but got {actual}.", name);
    }

    /// <summary>
    /// Checks the rows a state copies from another (<c>CopyRowsFrom</c>): one per row of the state, <paramref name="batch"/>,
    /// each a row of the source, in [0, <paramref name="sourceBatch"/>).
    /// </summary>
    public static void Rows(ReadOnlySpan<int> rows, int batch, int sourceBatch, string name)
    {
        if (rows.Length != batch)
            throw new ArgumentException($"{name}: expected one source row per row of the state, {batch}, but got {rows.Length}.", name);
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)sourceBatch)
                throw new ArgumentException($"{name}: row {i} is to be the source's row {rows[i]}, but the source holds {sourceBatch} (rows 0 … {sourceBatch - 1}).", name);
        }
    }

    /// <summary>Checks per-sequence lengths: one per sequence, each in [1, steps].</summary>
    public static void Lengths(ReadOnlySpan<int> lengths, int batch, int steps, string name)
    {
        if (lengths.Length != batch) throw new ArgumentException($"{name}: expected shape [{batch}] (one length per sequence) but got [{lengths.Length}].", name);
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < 1)
                throw new ArgumentException($"{name}: the length of sequence {b} is {lengths[b]}; a length must be at least 1 (a sequence of no steps has no output) and at most {steps}, the steps of the input.", name);
            if (lengths[b] > steps)
                throw new ArgumentException($"{name}: the length of sequence {b} is {lengths[b]}, more than the {steps} steps of the input; expected 1 … {steps}.", name);
        }
    }

    /// <summary>Checks that every token id lies in [0, <paramref name="vocab"/>).</summary>
    public static void Tokens(ReadOnlySpan<int> tokens, int vocab, string name)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocab)
                throw new ArgumentException($"{name}: token id {tokens[i]} at flat position {i} is outside the vocabulary [0, {vocab}).", name);
        }
    }

    /// <summary>
    /// Checks class-id targets as the caller laid them out (row-major): each is below <paramref name="classes"/>, or negative
    /// (ignored as padding). The error names the id, its flat position and the range, before anything is computed.
    /// </summary>
    public static void ClassIds(ReadOnlySpan<int> targets, int classes, string name) => CountClassIds(targets, classes, name, "flat position");

    /// <summary>The targets that are class ids (not negative), each checked below <paramref name="classes"/>; the error says <paramref name="where"/> it found one that is not.</summary>
    internal static int CountClassIds(ReadOnlySpan<int> targets, int classes, string name, string where)
    {
        int counted = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            int t = targets[i];
            if (t >= classes)
                throw new ArgumentException($"{name}: class id {t} at {where} {i} is outside [0, {classes}) (negative ids are ignored as padding).", name);
            if (t >= 0) counted++;
        }
        return counted;
    }

    /// <summary>
    /// A new float array of <paramref name="count"/> values for a generated model's <paramref name="what"/>; a count past what
    /// one array holds is refused, naming it and the argument that sized it (an int product had wrapped into a bare
    /// OverflowException or a wrong size).
    /// </summary>
    /// <exception cref="ArgumentException">More values than a .NET array holds.</exception>
    public static float[] NewFloats(long count, string what, string parameter) => count <= Array.MaxLength
        ? new float[count]
        : throw new ArgumentException($"{parameter}: {what} would hold {count} values, more than one array holds ({Array.MaxLength}): split the batch or the sequences.", parameter);

    /// <summary>The error for a pass whose buffers outgrow an array: they would take more than one array holds with a cache line's slack (<c>Aligned.MostFloats</c>).</summary>
    public static ArgumentException WorkspaceTooLarge(int batch, int steps, int sourceSteps, Exception inner) =>
        new($"input: a pass over {batch} sequence(s) of {steps} step(s){(sourceSteps > 0 ? $" attending over {sourceSteps} source steps" : "")} needs a buffer " +
            $"of more than {Kernels.Aligned.MostFloats} values (attention weights grow as steps² × batch × heads): split the batch or the sequences.", "input", inner);

    /// <summary>Returns <paramref name="loss"/>, or throws when it is NaN or infinite, so that nothing trains on it.</summary>
    /// <exception cref="ArithmeticException">The loss is not finite.</exception>
    public static float FiniteLoss(float loss, string model)
    {
        if (!float.IsFinite(loss))
            throw new ArithmeticException($"{model}: the loss is {(float.IsNaN(loss) ? "NaN" : loss > 0 ? "+infinity" : "-infinity")}; no gradient was accumulated. Check the inputs and targets for NaN/infinity, " +
                "a target mask that ignores every position, or a learning rate so high that the weights diverged.");
        return loss;
    }
}
