using System.Globalization;
using System.Net;
using System.Text;

namespace Classifier;

/// <summary>
/// A confusion matrix as SVG, with no drawing dependency: true classes down, predicted classes across, each cell shaded
/// by its share of the true class's examples (so that classes of different sizes read alike) and its count written in.
/// </summary>
public static class ConfusionMatrix
{
    private const int Cell = 64, Left = 110, Top = 120, Pad = 24;

    /// <summary>The SVG of <paramref name="counts"/>[actual, predicted] for <paramref name="labels"/>.</summary>
    public static string ToSvg(int[,] counts, IReadOnlyList<string> labels, string title)
    {
        int n = labels.Count;
        if (counts.GetLength(0) != n || counts.GetLength(1) != n)
            throw new ArgumentException($"counts: expected {n} × {n}, got {counts.GetLength(0)} × {counts.GetLength(1)}.", nameof(counts));
        int width = Left + n * Cell + Pad, height = Top + n * Cell + 60;
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"26\" font-size=\"15\">{WebUtility.HtmlEncode(title)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + n * Cell / 2.0)}\" y=\"54\" text-anchor=\"middle\" fill=\"#555\">predicted</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"{Top - 12}\" fill=\"#555\">actual</text>\n");
        for (int j = 0; j < n; j++)
        {
            double x = Left + j * Cell + Cell / 2.0;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{Top - 10}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(labels[j])}</text>\n");
        }
        for (int i = 0; i < n; i++)
        {
            int rowTotal = 0;
            for (int j = 0; j < n; j++) rowTotal += counts[i, j];
            double y = Top + i * Cell;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 10}\" y=\"{F(y + Cell / 2.0 + 5)}\" text-anchor=\"end\">{WebUtility.HtmlEncode(labels[i])}</text>\n");
            for (int j = 0; j < n; j++)
            {
                double share = rowTotal == 0 ? 0 : (double)counts[i, j] / rowTotal;
                // White (none of the row) to a deep blue (all of it); the number turns white where the cell is dark.
                int r = (int)Math.Round(255 - share * (255 - 8)), g = (int)Math.Round(255 - share * (255 - 48)), b = (int)Math.Round(255 - share * (255 - 107));
                string ink = share > 0.5 ? "white" : "black";
                double x = Left + j * Cell;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{Cell}\" height=\"{Cell}\" fill=\"rgb({r},{g},{b})\" stroke=\"#ccc\"><title>{WebUtility.HtmlEncode(labels[i])} read as {WebUtility.HtmlEncode(labels[j])}: {counts[i, j]} of {rowTotal}</title></rect>\n");
                svg.Append(CultureInfo.InvariantCulture,
                    $"<text x=\"{F(x + Cell / 2.0)}\" y=\"{F(y + Cell / 2.0 + 5)}\" text-anchor=\"middle\" font-size=\"15\" fill=\"{ink}\">{counts[i, j]}</text>\n");
            }
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"{Top + n * Cell + 32}\" fill=\"#555\">shade: share of the actual language's words; numbers: words</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Writes <see cref="ToSvg"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, int[,] counts, IReadOnlyList<string> labels, string title) =>
        File.WriteAllText(path, ToSvg(counts, labels, title));
}
