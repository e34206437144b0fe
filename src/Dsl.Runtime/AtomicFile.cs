using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Dsl;

/// <summary>
/// Writes a file so that a failure never leaves it half written: the bytes go to a temporary file beside it,
/// are flushed to disk, and only then replace the old file; on any failure the temporary file is removed and the
/// old file is untouched. Every file Dsl saves goes through here.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write) => WriteAll([(path, write)]);

    /// <summary>
    /// Writes several files that belong together (an ONNX graph and its external data): every one goes to its temporary
    /// file first; only when all are written and flushed do they replace the old ones, in the order given, each by one
    /// atomic rename (a file is never missing from its path). With more than one file, each old one is kept aside
    /// (<see cref="File.Replace(string, string, string?, bool)"/>) until all are in place: a replacement that fails (a path
    /// that is a folder, a file held open) puts the ones already replaced back. On any failure every temporary file is
    /// removed; an old file that could not be put back is named in the exception. A path given twice is refused before
    /// anything is written (compared as the platform usually compares names: ignoring case on Windows and macOS).
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var seen = new HashSet<string>(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (var (path, _) in files)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!seen.Add(Path.GetFullPath(path)))
                throw new ArgumentException($"'{path}' is among the files to write twice: each file must have a path of its own.", nameof(files));
        }
        var temps = new List<(string Temp, string Full)>(files.Count);
        var replaced = new List<(string Full, string? Backup)>(files.Count); // in place; the old file kept aside, if there was one
        try
        {
            foreach (var (path, write) in files)
            {
                string full = Path.GetFullPath(path);
                string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
                temps.Add((temp, full));
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (temps.Count == 1)
            {
                File.Move(temps[0].Temp, temps[0].Full, overwrite: true);
                return;
            }
            foreach (var (temp, full) in temps)
            {
                if (File.Exists(full))
                {
                    string backup = full + ".old-" + Guid.NewGuid().ToString("N");
                    File.Replace(temp, full, backup, ignoreMetadataErrors: true);
                    replaced.Add((full, backup));
                }
                else
                {
                    File.Move(temp, full);
                    replaced.Add((full, null));
                }
            }
        }
        catch (Exception failure)
        {
            foreach (var (temp, _) in temps)
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            // the files already replaced go back to the old ones (the last first), each by one rename over the new one
            var lost = new List<string>();
            for (int i = replaced.Count - 1; i >= 0; i--)
            {
                var (full, backup) = replaced[i];
                try
                {
                    if (backup is not null) File.Move(backup, full, overwrite: true);
                    else File.Delete(full);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    lost.Add(backup is null ? $"'{full}' (new, could not be removed)" : $"'{full}' (the old file is at '{backup}')");
                }
            }
            if (lost.Count > 0)
                throw new IOException($"Writing the files failed ({failure.Message}), and putting the old ones back failed too: {string.Join(", ", lost)}.", failure);
            throw;
        }
        foreach (var (_, backup) in replaced)
        {
            if (backup is null) continue;
            try { File.Delete(backup); } catch (IOException) { } catch (UnauthorizedAccessException) { } // (a leftover copy of an old file)
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
        });
}
