using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>
/// The generator's saved state: a round trip continues exactly, and text that is not a state changes nothing; a bulk draw
/// gives what draws one at a time give, and so does a dropout mask (CI runs these again on narrower vectors).
/// </summary>
public class RngTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(4099)]
    public void NextFloatsDrawsWhatNextFloatDrawsAndLeavesTheSameState(int n)
    {
        var one = new Rng(3);
        var bulk = new Rng(3);
        one.NextNormal(); // a spare normal pending: the bulk draw keeps it too
        bulk.NextNormal();
        float[] expected = Enumerable.Range(0, n).Select(_ => one.NextFloat()).ToArray();
        var drawn = new float[n];
        bulk.NextFloats(drawn);
        Assert.Equal(expected, drawn);
        Assert.Equal(one.Save(), bulk.Save());
    }

    [Theory]
    [InlineData(0.5f)]   // u is a multiple of 2^-24: exactly p now and then, which keeps its value
    [InlineData(0.25f)]
    [InlineData(0.1f)]
    [InlineData(0f)]
    public void ADropoutMaskIsTheDrawsComparedOneByOne(float p)
    {
        const int n = 1 << 20;
        var reference = new Rng(8);
        float keep = 1f / (1f - p);
        float[] expected = Enumerable.Range(0, n).Select(_ => reference.NextFloat() < p ? 0f : keep).ToArray();
        var mask = new float[n];
        Dsl.Kernels.DropoutKernel.Mask(mask, p, new Rng(8));
        Assert.Equal(expected, mask);
        var x = Enumerable.Range(0, n).Select(i => i * 0.001f).ToArray();
        var y = new float[n];
        var forwardMask = new float[n];
        Dsl.Kernels.DropoutKernel.Forward(x, forwardMask, y, p, new Rng(8));
        Assert.Equal(expected, forwardMask);
        for (int i = 0; i < n; i += 997) Assert.Equal(x[i] * expected[i], y[i]);
    }

    [Fact]
    public void ARestoredStateContinuesExactlyWithItsSpareNormal()
    {
        var rng = new Rng(11);
        rng.NextNormal(); // leaves a spare normal
        string state = rng.Save();
        float[] expected = [rng.NextNormal(), rng.NextFloat(), rng.NextNormal()];
        var other = new Rng(99);
        other.Restore(state);
        Assert.Equal(expected, new[] { other.NextNormal(), other.NextFloat(), other.NextNormal() });
    }

    [Theory]
    [InlineData("1:2:3")]                                                        // too few parts
    [InlineData("1:2:3:4:-:5")]                                                  // too many
    [InlineData("10000000000000000:2:3:4:-")]                                    // 17 digits: more than 64 bits
    [InlineData("xyz:2:3:4:-")]
    [InlineData("0:0:0:0:-")]                                                    // all zero: only zeros would follow
    [InlineData("1:2:3:4:123456789")]                                            // a spare of 9 digits
    [InlineData("1:2:3:4:")]
    [InlineData(" 1:2:3:4:-")]
    public void TextThatIsNotAStateIsRefusedAndChangesNothing(string text)
    {
        var rng = new Rng(5);
        string before = rng.Save();
        var e = Assert.Throws<FormatException>(() => rng.Restore(text));
        Assert.Contains("Not an Rng state", e.Message);
        Assert.Equal(before, rng.Save());
    }
}
