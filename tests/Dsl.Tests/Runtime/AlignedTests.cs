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
}
