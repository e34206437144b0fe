using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

[Input(features: 5)]
[Lstm(hidden: 7)]
public partial class AlignedEncoder;

/// <summary>
/// Workspaces and the products' packing buffers start on a 64-byte boundary (a cache line, one 512-bit vector), so that a
/// vector read from a view at a multiple of 16 floats does not straddle two lines; the views are laid out at such multiples.
/// </summary>
public unsafe class AlignedTests
{
    private static long Address(ref float first) => (long)Unsafe.AsPointer(ref first);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(100_003)]
    public void WorkspaceFloatsStartOnALineAndHoldWhatWasAsked(int count)
    {
        for (int i = 0; i < 8; i++) // arrays land at different offsets from a line: each is aligned at its origin
        {
            float[] floats = Aligned.Floats(count, reuse: null, out int origin);
            Assert.InRange(origin, 0, Aligned.LineFloats - 1);
            Assert.True(floats.Length >= origin + count, $"{floats.Length} floats from origin {origin} hold fewer than {count}");
            Assert.Equal(0, Address(ref floats[origin]) % 64);
            Assert.All(floats, v => Assert.Equal(0f, v));
        }
    }

    /// <summary>More floats than one array holds with a line's slack overflow (which a generated workspace names), before anything is allocated.</summary>
    [Theory]
    [InlineData(0x7FFFFFC7 - 14)] // Array.MaxLength − 14: an array of it exists, but not with 15 floats before it
    [InlineData(int.MaxValue)]
    public void MoreFloatsThanAnArrayHoldsOverflow(int count)
    {
        Assert.Equal(0x7FFFFFC7 - 15, Aligned.MostFloats);
        var e = Assert.Throws<OverflowException>(() => Aligned.Floats(count, reuse: null, out _));
        Assert.Contains(count.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void AReusedArrayIsTakenWhenItHoldsEnoughAndClearedFromItsOrigin()
    {
        float[] first = Aligned.Floats(1000, reuse: null, out int origin);
        first.AsSpan().Fill(3f);
        float[] again = Aligned.Floats(900, first, out int reusedOrigin);
        Assert.Same(first, again);
        Assert.Equal(origin, reusedOrigin);
        Assert.All(again.AsSpan(origin, 900).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(3f, again[origin + 900]); // past what was asked: left as it was

        float[] larger = Aligned.Floats(first.Length - origin + 1, first, out int newOrigin); // one float more than fit past its origin
        Assert.NotSame(first, larger);
        Assert.Equal(0, Address(ref larger[newOrigin]) % 64);
    }

    [Fact]
    public void APackingBufferStartsOnALineAndGrows()
    {
        float[]? held = null;
        float* small = Aligned.Buffer(ref held, 10);
        Assert.Equal(0, (long)small % 64);
        float[] first = held!;
        float* same = Aligned.Buffer(ref held, 4096);
        Assert.Same(first, held);
        Assert.Equal((long)small, (long)same);
        float* grown = Aligned.Buffer(ref held, 1 << 20);
        Assert.NotSame(first, held);
        Assert.Equal(0, (long)grown % 64);
        Assert.True(held!.Length - ((grown - (float*)Unsafe.AsPointer(ref held[0]))) >= 1 << 20);
    }

    /// <summary>A generated model's views start on lines: its encoded outputs and their gradient, read where they lie.</summary>
    [Fact]
    public void AModelsWorkspaceViewsStartOnALine()
    {
        IEncoder<float> model = new AlignedEncoder(seed: 1);
        for (int batch = 1; batch <= 4; batch++) // a new workspace per shape
        {
            var source = new float[batch * 3 * 5];
            EncoderOutput encoded = model.Encode(new ReadOnlyTensorSpan<float>(source, [batch, 3, 5]), default, training: true);
            Assert.Equal(0, Address(ref encoded.Memory.Span[0]) % 64);
            Assert.Equal(0, Address(ref encoded.MemoryGradient.Span[0]) % 64);
        }
    }

    /// <summary>
    /// A parameter's values and gradient start on lines (a decoding step reads the weights where they lie), and its tensors,
    /// spans and other names are views of the same floats, whatever its shape (dimensions of 1 included).
    /// </summary>
    [Theory]
    [InlineData(new[] { 1 })]
    [InlineData(new[] { 7 })]
    [InlineData(new[] { 1, 4 })]
    [InlineData(new[] { 4, 1 })]
    [InlineData(new[] { 65, 128 })]
    [InlineData(new[] { 1024, 256 })]
    public void AParametersValuesAndGradientStartOnALineAndAreOneTensor(int[] shape)
    {
        for (int i = 0; i < 4; i++) // parameters land at different offsets from a line
        {
            var p = new Parameter("w", shape);
            int length = shape.Aggregate(1, (a, d) => a * d);
            Assert.Equal(length, p.Length);
            Assert.Equal(length, p.AsSpan().Length);
            Assert.Equal(length, p.GradAsSpan().Length);
            Assert.Equal(0, Address(ref p.AsSpan()[0]) % 64);
            Assert.Equal(0, Address(ref p.GradAsSpan()[0]) % 64);
            Assert.Equal(shape.Select(d => (nint)d).ToArray(), p.Value.Lengths.ToArray());

            p.AsSpan()[length - 1] = 2.5f;            // written through the span, read through the tensor
            p.Grad.AsTensorSpan()[[.. new nint[shape.Length]]] = -1.5f; // written through the tensor, read through the span
            Assert.Equal(2.5f, p.Value.AsTensorSpan()[[.. shape.Select(d => (nint)(d - 1))]]);
            Assert.Equal(-1.5f, p.GradAsSpan()[0]);
            Parameter renamed = p.WithName("block.w");
            Assert.Equal(2.5f, renamed.AsSpan()[length - 1]);
            renamed.ZeroGrad();
            Assert.All(p.GradAsSpan().ToArray(), g => Assert.Equal(0f, g));
            Assert.Equal(2.5f, p.AsSpan()[length - 1]); // the values untouched
        }
    }

    /// <summary>
    /// A parameter's gradient is made the first time it is asked for, once for all its names: a model built and run forward
    /// only (a loaded checkpoint serving) holds its values alone, half the floats; a backward pass makes the gradients,
    /// zero before it accumulates, and <see cref="Parameter.ZeroGrad"/> leaves an unmade one unmade.
    /// </summary>
    [Fact]
    public void AGradientIsMadeWhenFirstAskedForAndAModelRunForwardHoldsNone()
    {
        _ = new Parameter("warm", 4, 4);
        // (this thread's allocations alone: the other test classes run beside this one)
        long before = GC.GetAllocatedBytesForCurrentThread();
        var weights = new Parameter("lstm.weight_hh_l0", 1024, 256);
        long made = GC.GetAllocatedBytesForCurrentThread() - before;
        // (the 1 MB of values, a line's slack and the bookkeeping: with its gradient it would be 2 MB)
        Assert.True(made < 1024 * 256 * sizeof(float) * 9 / 8, $"a [1024, 256] parameter allocated {made} bytes");
        Assert.False(weights.HasGradient);

        var model = new WsCharModel();
        int[] x = new int[2 * 5], y = new int[2 * 5];
        for (int i = 0; i < x.Length; i++) (x[i], y[i]) = (i % 65, (i * 7) % 65);
        var output = new float[2 * 5 * 65];
        model.Forward(new ReadOnlyTensorSpan<int>(x, [2, 5]), new TensorSpan<float>(output, [2, 5, 65]));
        model.Parameters.ZeroGrad();
        Assert.All(model.Parameters, p => Assert.False(p.HasGradient, $"{p.Name} made a gradient in a forward pass"));

        model.Backward(new ReadOnlyTensorSpan<int>(x, [2, 5]), new ReadOnlyTensorSpan<int>(y, [2, 5]));
        Assert.All(model.Parameters, p => Assert.True(p.HasGradient, $"{p.Name} has no gradient after a backward pass"));
        Assert.All(model.Parameters, p => Assert.True(p.GradAsSpan().IndexOfAnyExcept(0f) >= 0, $"{p.Name}'s gradient is all zero"));

        var w = new Parameter("w", 3, 4);
        Parameter renamed = w.WithName("block.w");
        Assert.False(renamed.HasGradient);
        renamed.GradAsSpan()[5] = 2f; // made through one name, seen through the other
        Assert.True(w.HasGradient);
        Assert.Equal(2f, w.GradAsSpan()[5]);
        Assert.Equal(2f, w.Grad.AsTensorSpan()[[1, 1]]);
    }

    /// <summary>
    /// A parameter too large for one array with its line's slack is refused by name before anything is allocated (it would
    /// otherwise fail inside the allocation, with no word of which parameter or why).
    /// </summary>
    [Theory]
    [InlineData(new[] { 65536, 32768 })]      // 2³¹ values
    [InlineData(new[] { int.MaxValue })]
    [InlineData(new[] { 0x7FFFFFC7 - 14 })]  // Array.MaxLength − 14: fits an array, but not with 15 floats of slack
    [InlineData(new[] { 65536, 65536, 65536, 65536 })] // 2⁶⁴ values: a product that wraps round to 0 in 64 bits
    [InlineData(new[] { 1 << 30, 1 << 30, 8 })]         // 2⁶³: wraps round to a negative count
    public void AParameterTooLargeForOneArrayIsRefusedByName(int[] shape)
    {
        var e = Assert.Throws<ArgumentException>(() => new Parameter("encoder.weight", shape));
        Assert.Contains("encoder.weight", e.Message);
        Assert.Contains("too large", e.Message);
        Assert.Equal("shape", e.ParamName);
    }

    /// <summary>A parameter of no dimensions is refused: its tensor would hold nothing where its span held one float.</summary>
    [Fact]
    public void AParameterOfNoDimensionsIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Parameter("scale"));
        Assert.Contains("'scale'", e.Message);
        Assert.Contains("at least one dimension", e.Message);
        Assert.Equal(1, new Parameter("scale", 1).Value.FlattenedLength);
    }
}
