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
    /// file first, and only when all are written and flushed do they replace the old ones, in the order given; on any
    /// failure before that, every temporary file is removed and every old file is untouched.
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var temps = new List<(string Temp, string Full)>(files.Count);
        int moved = 0;
        try
        {
            foreach (var (path, write) in files)
            {
                ArgumentException.ThrowIfNullOrEmpty(path);
                string full = Path.GetFullPath(path);
                string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
                temps.Add((temp, full));
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            for (; moved < temps.Count; moved++) File.Move(temps[moved].Temp, temps[moved].Full, overwrite: true);
        }
        catch
        {
            foreach (var (temp, _) in temps.Skip(moved))
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            throw;
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
        });
}
