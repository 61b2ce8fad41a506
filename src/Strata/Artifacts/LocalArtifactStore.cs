namespace Strata;

/// <summary>
/// The <c>local</c> artifact store: a directory on this machine. An artifact is written into a private temporary
/// directory and renamed into place, so a crash never leaves a partial artifact that reads as whole.
/// </summary>
public sealed class LocalArtifactStore : ArtifactStore
{
    private const string TempDirectory = ".tmp";
    private readonly string _root;

    public LocalArtifactStore(string root)
    {
        _root = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        Directory.CreateDirectory(_root);
    }

    public override string Root => _root;

    /// <summary>Whether the root is on a filesystem other machines mount (set by the flavor's <c>shared</c> option).</summary>
    public bool Shared { get; init; }

    public override bool IsRemote => Shared;

    /// <summary>The absolute path of a store-relative path, refusing anything that resolves outside the root.</summary>
    public string FullPathOf(string path)
    {
        var relative = ArtifactPath.Normalize(path);
        if (relative.Split('/')[0] == TempDirectory)
            throw new ArtifactException($"Artifact path '{path}' is inside the store's private temporary directory.");
        var full = Path.Combine(_root, relative.Replace('/', Path.DirectorySeparatorChar));
        // A symbolic link anywhere along the path must not lead out of the root. One lstat per segment; directories
        // already seen to be real directories (the pipeline's and the run's, shared by every step) are not checked again.
        var current = _root;
        var segments = relative.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            current = Path.Combine(current, segments[i]);
            var last = i == segments.Length - 1;
            if (!last && _plainDirectories.ContainsKey(current)) continue;
            var info = new FileInfo(current);
            var attributes = info.Attributes;
            if ((int)attributes == -1) continue; // does not exist (yet)
            if ((attributes & FileAttributes.ReparsePoint) == 0)
            {
                if (!last && (attributes & FileAttributes.Directory) != 0) _plainDirectories.TryAdd(current, 0);
                continue;
            }
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "";
            if (!IsInsideRoot(target))
                throw new ArtifactException($"Artifact path '{path}' goes through a link to {target}, outside the store root {_root}.");
        }
        return full;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _plainDirectories = new();

    private bool IsInsideRoot(string fullPath) =>
        fullPath == _root || fullPath.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    public override async Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        var final = FullPathOf(path);
        var temp = Path.Combine(_root, TempDirectory, Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(temp);
        try
        {
            var writer = new DirectoryArtifactWriter(temp);
            await write(writer, cancellationToken).ConfigureAwait(false);
            writer.EnsureClosed();
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            if (Directory.Exists(final))
                Directory.Delete(final, recursive: true); // an earlier attempt of the same step run wrote here
            Directory.Move(temp, final);
            return writer.Hasher.Result();
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public override Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = FullPathOf(path);
        if (!Directory.Exists(full))
            throw new ArtifactException($"No artifact at '{path}' in {_root}.");
        return Task.FromResult<IArtifactReader>(new LocalArtifactReader(full));
    }

    public override Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = FullPathOf(path);
        return Task.FromResult(Directory.Exists(full) || File.Exists(full));
    }

    public override Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = FullPathOf(path);
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        else if (File.Exists(full)) File.Delete(full);
        return Task.CompletedTask;
    }

    public override async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var final = FullPathOf(path);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var temp = Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Guid.NewGuid():n}.tmp");
        try
        {
            await File.WriteAllBytesAsync(temp, content.ToArray(), cancellationToken).ConfigureAwait(false);
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public override async Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = FullPathOf(path);
        return File.Exists(full) ? await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false) : null;
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }

    private sealed class LocalArtifactReader(string directory) : IArtifactReader
    {
        public IReadOnlyList<string> Files { get; } = Directory
            .EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

        public string LocalDirectory => directory;

        public Stream OpenFile(string name)
        {
            var full = Path.Combine(directory, ArtifactPath.Normalize(name).Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(full))
                throw new ArtifactException($"Artifact at {directory} has no file '{name}'.");
            return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
