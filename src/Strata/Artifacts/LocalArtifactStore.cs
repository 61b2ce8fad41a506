namespace Strata.Artifacts;

/// <summary>
/// The <c>local</c> artifact store: a directory on this machine. An artifact is written into a private temporary
/// directory and renamed into place, so a crash never leaves a partial artifact that reads as whole. An artifact of
/// one small file may be kept as that file alone, named <c>&lt;artifact&gt;~&lt;file&gt;</c> (see
/// <see cref="SingleFilePathOf"/>): on most file systems a new directory costs several times what a new file does.
/// </summary>
public sealed class LocalArtifactStore : ArtifactStore
{
    private const string TempDirectory = ".tmp";
    private readonly string _root;

    /// <exception cref="StrataConfigException">The root cannot be created (no permission, a file in the way, a read-only filesystem).</exception>
    public LocalArtifactStore(string root)
    {
        _root = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        try
        {
            Directory.CreateDirectory(_root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StrataConfigException($"The local artifact store's directory {_root} cannot be created: {e.Message} Choose a path you can " +
                "write (strata artifact-store update NAME --path=DIR).", e);
        }
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
        // A directory is only kept once those above it were checked, so a kept parent leaves the last segment alone to check.
        var parent = Path.GetDirectoryName(full);
        var fromParent = parent is not null && _plainDirectories.ContainsKey(parent);
        var current = fromParent ? parent! : _root;
        var segments = fromParent ? [Path.GetFileName(full)] : relative.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            current = Path.Combine(current, segments[i]);
            var last = i == segments.Length - 1;
            if (!last && _plainDirectories.ContainsKey(current)) continue;
            var info = new FileInfo(current);
            if (last)
            {
                // Only whether it is a link matters here: one readlink, where the attributes cost an lstat and more.
                if (info.LinkTarget is null) continue; // not a link, or does not exist (yet)
            }
            else
            {
                var attributes = info.Attributes;
                if ((int)attributes == -1) continue; // does not exist (yet)
                if ((attributes & FileAttributes.ReparsePoint) == 0)
                {
                    if ((attributes & FileAttributes.Directory) != 0) _plainDirectories.TryAdd(current, 0);
                    continue;
                }
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

    public override async Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write,
        CancellationToken cancellationToken = default)
    {
        var final = FullPathOf(path);
        var temp = Path.Combine(_root, TempDirectory, Ids.NewHex());
        Directory.CreateDirectory(temp);
        try
        {
            var writer = new DirectoryArtifactWriter(temp);
            await write(writer, cancellationToken).ConfigureAwait(false);
            writer.EnsureClosed();
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            Publish(temp, final);
            return writer.Hasher.Result();
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Renames a written artifact into place. An artifact already there (an earlier attempt, or another writer of the same
    /// path finishing first) is renamed aside and removed first; a reader meanwhile finds either artifact whole, or none.
    /// </summary>
    private void Publish(string temp, string final)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Move(temp, final);
                return;
            }
            catch (IOException) when (attempt < 10 && Directory.Exists(final))
            {
                var aside = Path.Combine(_root, TempDirectory, Guid.NewGuid().ToString("n"));
                try
                {
                    Directory.Move(final, aside);
                }
                catch (IOException) when (!Directory.Exists(final))
                {
                    continue; // another writer moved it first
                }
                TryDelete(aside);
            }
        }
    }

    public override Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = FullPathOf(path);
        if (Directory.Exists(full))
            return Task.FromResult<IArtifactReader>(new LocalArtifactReader(full));
        if (SingleFileName(full) is { } fileName && File.Exists(full))
            return Task.FromResult<IArtifactReader>(new SingleFileReader(full, fileName));
        throw new ArtifactException($"No artifact at '{path}' in {_root}.");
    }

    private const char SingleFileSeparator = '~';

    /// <summary>The name of the one file an artifact kept as that file alone holds (<c>…/model~data.bin</c>: <c>data.bin</c>), else null.</summary>
    private static string? SingleFileName(string fullPath)
    {
        var name = Path.GetFileName(fullPath);
        // The file's own name has no separator (SingleFilePathOf refuses one); the artifact's name may.
        return name.LastIndexOf(SingleFileSeparator) is var at and > 0 ? name[(at + 1)..] : null;
    }

    public override string? SingleFilePathOf(string path, string fileName) =>
        fileName.Contains('/') || fileName.Contains(SingleFileSeparator) ? null : $"{ArtifactPath.Normalize(path)}{SingleFileSeparator}{fileName}";

    /// <summary>
    /// An artifact kept as one small file is read and hashed at once, without the thread-pool hops of the general check;
    /// anything else, and a file that does not match, goes through the general check (which words the mismatch).
    /// </summary>
    public override Task<bool> VerifyAsync(string path, string contentHash, CancellationToken cancellationToken = default)
    {
        const int small = 4096;
        var full = FullPathOf(path);
        if (SingleFileName(full) is { } fileName)
        {
            Span<byte> data = stackalloc byte[small];
            var read = small;
            try
            {
                using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read);
                read = RandomAccess.Read(handle, data, 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // missing, a directory, or replaced meanwhile: the general check below says what is there now
            }
            if (read < small)
            {
                var file = new HashedFile(fileName, System.IO.Hashing.XxHash128.Hash(data[..read]), read);
                if (ContentHasher.Combine([file]).Hash == contentHash) return Task.FromResult(true);
            }
        }
        return base.VerifyAsync(path, contentHash, cancellationToken);
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

    public override Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var final = FullPathOf(path);
        var directory = Path.GetDirectoryName(final)!;
        if (!_plainDirectories.ContainsKey(directory)) Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(final)}.{Ids.NewHex()}.tmp");
        try
        {
            // Written synchronously: these files are small, and an asynchronous write would hop through the thread pool.
            // Not shared: the temporary file is this write's alone, and .NET asks which file system a file is on
            // (one more system call) before it takes the shared lock FileShare.Read would mean.
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                RandomAccess.Write(file, content.Span, 0);
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return Task.CompletedTask;
    }

    public override Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var full = FullPathOf(path);
        // Read synchronously, as files are written: they are small, and an asynchronous read would hop through the thread pool.
        return Task.FromResult(File.Exists(full) ? File.ReadAllBytes(full) : null);
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>An artifact kept as its one file.</summary>
    private sealed class SingleFileReader(string path, string name) : IArtifactReader
    {
        public IReadOnlyList<string> Files { get; } = [name];

        public string LocalDirectory => Path.GetDirectoryName(path)!;

        public Stream OpenFile(string file) => file == name
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan)
            : throw new ArtifactException($"Artifact {path} has no file '{file}'.");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
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
