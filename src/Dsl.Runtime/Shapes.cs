using System;
using System.Globalization;
using System.Text;

namespace Dsl;

/// <summary>Formatting of shapes for error messages.</summary>
public static class Shapes
{
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
