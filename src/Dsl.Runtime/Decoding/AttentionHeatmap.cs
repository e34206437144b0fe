using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;

namespace Dsl;

/// <summary>
/// Draws attention weights as an SVG heatmap (queries down, keys across; darker = more attention), with no
/// drawing dependency: one rectangle per weight and the tokens as labels.
/// </summary>
public static class AttentionHeatmap
{
    /// <summary>The SVG of <paramref name="weights"/> [queries, keys] (row-major), labelled with the tokens.</summary>
    public static string ToSvg(ReadOnlySpan<float> weights, IReadOnlyList<string> queries, IReadOnlyList<string> keys, string title = "attention")
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        if (weights.Length != queries.Count * keys.Count)
            throw new ArgumentException($"weights: expected {queries.Count} × {keys.Count} = {queries.Count * keys.Count} values, got {weights.Length}.", nameof(weights));
        const int Cell = 28, Left = 110, Top = 110, Pad = 20;
        int width = Left + keys.Count * Cell + Pad, height = Top + queries.Count * Cell + Pad;
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"22\" font-size=\"14\">{WebUtility.HtmlEncode(title)}</text>\n");
        for (int j = 0; j < keys.Count; j++)
        {
            double x = Left + j * Cell + Cell / 2.0;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{Top - 8}\" transform=\"rotate(-60 {F(x)} {Top - 8})\">{WebUtility.HtmlEncode(keys[j])}</text>\n");
        }
        for (int i = 0; i < queries.Count; i++)
        {
            double y = Top + i * Cell + Cell / 2.0 + 4;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{F(y)}\" text-anchor=\"end\">{WebUtility.HtmlEncode(queries[i])}</text>\n");
            for (int j = 0; j < keys.Count; j++)
            {
                float w = Math.Clamp(weights[i * keys.Count + j], 0f, 1f);
                int shade = (int)Math.Round(255 * (1 - w));
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{Left + j * Cell}\" y=\"{Top + i * Cell}\" width=\"{Cell}\" height=\"{Cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#eee\"><title>{F(w)}</title></rect>\n");
            }
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Writes the heatmap to <paramref name="path"/> (through a temporary file, so a failure leaves no half file).</summary>
    public static void Save(string path, ReadOnlySpan<float> weights, IReadOnlyList<string> queries, IReadOnlyList<string> keys, string title = "attention")
    {
        AtomicFile.WriteText(path, ToSvg(weights, queries, keys, title));
    }
}
