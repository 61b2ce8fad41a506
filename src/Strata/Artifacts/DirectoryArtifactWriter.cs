namespace Strata;

/// <summary>Writes the files of an artifact into a local directory, hashing them on the way.</summary>
internal sealed class DirectoryArtifactWriter(string directory) : IArtifactWriter
{
    private readonly List<Stream> _open = [];

    public ContentHasher Hasher { get; } = new();

    public Stream CreateFile(string name)
    {
        var relative = ArtifactPath.Normalize(name);
        var full = Path.Combine(directory, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // A small buffer: most artifacts are small, and large ones are written in large chunks that bypass it.
        var file = new FileStream(full, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 12, FileOptions.None);
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
