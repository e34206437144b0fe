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
    /// <summary>One heatmap: weights [queries, keys] (row-major), the tokens that label them, and a title.</summary>
    public sealed record Panel(float[] Weights, IReadOnlyList<string> Queries, IReadOnlyList<string> Keys, string Title);

    private const int Cell = 28, Left = 110, Top = 110, Pad = 20;

    /// <summary>The SVG of <paramref name="weights"/> [queries, keys] (row-major), labelled with the tokens.</summary>
    public static string ToSvg(ReadOnlySpan<float> weights, IReadOnlyList<string> queries, IReadOnlyList<string> keys, string title = "attention") =>
        ToSvg([new Panel(weights.ToArray(), queries, keys, title)]);

    /// <summary>One SVG with several heatmaps, one under the other (e.g. a few translated examples).</summary>
    public static string ToSvg(IReadOnlyList<Panel> panels)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("At least one panel is needed.", nameof(panels));
        int width = 0, height = 0;
        foreach (Panel p in panels)
        {
            Validate(p);
            width = Math.Max(width, Left + p.Keys.Count * Cell + Pad);
            height += Top + p.Queries.Count * Cell + Pad;
        }
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        int offset = 0;
        foreach (Panel p in panels)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<g transform=\"translate(0 {offset})\">\n");
            Draw(svg, p);
            svg.Append("</g>\n");
            offset += Top + p.Queries.Count * Cell + Pad;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Validate(Panel p)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(p.Queries);
        ArgumentNullException.ThrowIfNull(p.Keys);
        ArgumentNullException.ThrowIfNull(p.Weights);
        if (p.Weights.Length != p.Queries.Count * p.Keys.Count)
            throw new ArgumentException($"weights: expected {p.Queries.Count} × {p.Keys.Count} = {p.Queries.Count * p.Keys.Count} values, got {p.Weights.Length}.", "weights");
    }

    private static void Draw(StringBuilder svg, Panel p)
    {
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"22\" font-size=\"14\">{Label(p.Title)}</text>\n");
        for (int j = 0; j < p.Keys.Count; j++)
        {
            double x = Left + j * Cell + Cell / 2.0;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{Top - 8}\" transform=\"rotate(-60 {F(x)} {Top - 8})\">{Label(p.Keys[j])}</text>\n");
        }
        for (int i = 0; i < p.Queries.Count; i++)
        {
            double y = Top + i * Cell + Cell / 2.0 + 4;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{F(y)}\" text-anchor=\"end\">{Label(p.Queries[i])}</text>\n");
            for (int j = 0; j < p.Keys.Count; j++)
            {
                float raw = p.Weights[i * p.Keys.Count + j];
                // a NaN weight (a diverged model) is drawn red and titled NaN: clamped, it came out as the darkest blue, full attention
                float w = Math.Clamp(raw, 0f, 1f);
                int shade = (int)Math.Round(255 * (1 - w));
                string fill = float.IsNaN(raw) ? "rgb(220,40,40)" : $"rgb({shade},{shade},255)";
                string title = float.IsNaN(raw) ? "NaN" : F(w);
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{Left + j * Cell}\" y=\"{Top + i * Cell}\" width=\"{Cell}\" height=\"{Cell}\" fill=\"{fill}\" stroke=\"#eee\"><title>{title}</title></rect>\n");
            }
        }
    }

    /// <summary>
    /// A token or title as SVG text: what XML 1.0 cannot hold even escaped (control characters other than tab and line
    /// breaks, U+FFFE, U+FFFF, a lone surrogate) shown as a visible \uXXXX escape (a byte-level vocabulary's tokens), then
    /// HTML-encoded. Such a character had made the file one that browsers and XML readers refuse.
    /// </summary>
    private static string Label(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair) sb.Append(c).Append(text[++i]);
            else if ((c < 0x20 && c is not ('\t' or '\n' or '\r')) || c is '\uFFFE' or '\uFFFF' || char.IsSurrogate(c))
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            else sb.Append(c);
        }
        return WebUtility.HtmlEncode(sb.ToString());
    }

    /// <summary>Writes the heatmap to <paramref name="path"/> (through a temporary file, so a failure leaves no half file).</summary>
    public static void Save(string path, ReadOnlySpan<float> weights, IReadOnlyList<string> queries, IReadOnlyList<string> keys, string title = "attention")
    {
        AtomicFile.WriteText(path, ToSvg(weights, queries, keys, title));
    }

    /// <summary>Writes several heatmaps, one under the other, to <paramref name="path"/> (atomically).</summary>
    public static void Save(string path, IReadOnlyList<Panel> panels) => AtomicFile.WriteText(path, ToSvg(panels));
}
