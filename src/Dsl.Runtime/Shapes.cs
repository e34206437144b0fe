using System;
using System.Globalization;
using System.Text;

namespace Dsl;

/// <summary>Formatting of shapes for error messages.</summary>
public static class Shapes
{
    /// <summary>
    /// The values a shape of non-negative dimensions holds, or −1 when a dimension is negative; a count past any array's
    /// length stays past it (it cannot wrap round to match a buffer's length), and a 0 anywhere makes it 0.
    /// </summary>
    internal static long Count(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) return -1;
            count = d == 0 ? 0 : count > int.MaxValue ? count : count * d;
        }
        return count;
    }

    /// <summary>Formats a shape as <c>[2, 5, 64]</c>.</summary>
    public static string Format<T>(ReadOnlySpan<T> shape) where T : IFormattable
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i].ToString(null, CultureInfo.InvariantCulture));
        }
        return sb.Append(']').ToString();
    }
}
