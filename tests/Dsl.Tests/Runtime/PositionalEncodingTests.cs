using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>The sinusoidal encoding of Vaswani et al.: each row from the formula, whichever widths were asked for before.</summary>
public class PositionalEncodingTests
{
    /// <summary>pe[t, 2i] = sin(t / 10000^(2i/W)), pe[t, 2i + 1] = cos(the same), in double, rounded once.</summary>
    private static float Expected(int position, int j, int width)
    {
        double angle = position * Math.Exp(-(j - j % 2) * Math.Log(10000.0) / width);
        return (float)(j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
    }

    [Fact]
    public void RowsFollowTheFormulaForEveryWidthInTurn()
    {
        // more widths than the kernel keeps the frequencies of, asked for in turn and again
        int[] widths = [8, 128, 3, 64, 512, 7, 8, 128];
        foreach (int position in new[] { 0, 1, 37, 1023, 100_000 })
        {
            foreach (int width in widths)
            {
                float[] row = new float[width];
                PositionalEncodingKernel.Row(position, row);
                for (int j = 0; j < width; j++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(Expected(position, j, width)), BitConverter.SingleToInt32Bits(row[j]));
            }
        }
    }

    [Fact]
    public void TheTableHoldsTheRowsOfItsPositions()
    {
        const int steps = 5, width = 6;
        float[] table = new float[steps * width], row = new float[width];
        PositionalEncodingKernel.Fill(table, steps, width);
        for (int t = 0; t < steps; t++)
        {
            PositionalEncodingKernel.Row(t, row);
            Assert.Equal(row, table.AsSpan(t * width, width).ToArray());
            Assert.Equal(Expected(t, 1, width), table[t * width + 1]);
        }
    }
}
