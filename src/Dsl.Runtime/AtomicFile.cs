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
    /// file first; only when all are written and flushed do they replace the old ones, in the order given, each old file
    /// set aside until all are in place. On any failure — a write, or a replacement (a path that is a folder, a file held
    /// open) — every temporary file is removed and every old file is put back as it was. A path given twice is refused
    /// before anything is written.
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
        var replaced = new List<(string Full, string? Backup, bool Moved)>(files.Count);
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
            foreach (var (temp, full) in temps)
            {
                string? backup = null;
                if (File.Exists(full))
                {
                    backup = full + ".old-" + Guid.NewGuid().ToString("N");
                    File.Move(full, backup);
                }
                replaced.Add((full, backup, false));
                File.Move(temp, full);
                replaced[^1] = (full, backup, true);
            }
        }
        catch
        {
            // the new files that took an old one's place go, and the old ones come back (the last first)
            for (int i = replaced.Count - 1; i >= 0; i--)
            {
                var (full, backup, moved) = replaced[i];
                try
                {
                    if (moved) File.Delete(full);
                    if (backup is not null) File.Move(backup, full, overwrite: true);
                }
                catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            foreach (var (temp, _) in temps)
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            throw;
        }
        foreach (var (_, backup, _) in replaced)
        {
            if (backup is null) continue;
            try { File.Delete(backup); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
        });
}
