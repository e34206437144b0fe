using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>The generator's saved state: a round trip continues exactly, and text that is not a state changes nothing.</summary>
public class RngTests
{
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
