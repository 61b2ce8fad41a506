namespace Strata.Artifacts;

/// <summary>
/// The <c>local</c> artifact store: a directory on this machine. An artifact is written into a private temporary
/// directory and renamed into place, so a crash never leaves a partial artifact that reads as whole. An artifact of
/// one small file may be kept as that file alone, named <c>&lt;artifact&gt;~&lt;file&gt;</c> (see
/// <see cref="SingleFilePathOf"/>): on most file systems a new directory costs several times what a new file does. Such
/// a file of up to 64 KiB is not even a file of its own: it is a record in its directory's pack (see <see cref="ArtifactPack"/>),
/// unless the store is <see cref="Shared"/>.
/// </summary>
public sealed class LocalArtifactStore : ArtifactStore
{
    private const string TempDirectory = ".tmp";
    private readonly string _root;

    /// <exception cref="StrataConfigException">The root cannot be created (no permission, a file in the way, a read-only filesystem).</exception>
    public LocalArtifactStore(string root) : this(root, sharePacks: true)
    {
    }

    /// <param name="root">The store's directory.</param>
    /// <param name="sharePacks">Whether to share the packs of small artifacts with the other store objects over the same root in
    /// this process; a store that does not sees the others' writes as another process's.</param>
    internal LocalArtifactStore(string root, bool sharePacks)
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
        _packs = sharePacks ? ArtifactPacks.Of(_root) : new ArtifactPacks();
    }

    private readonly ArtifactPacks _packs;

    public override string Root => _root;

    /// <summary>Whether the root is on a filesystem other machines mount (set by the flavor's <c>shared</c> option).</summary>
    public bool Shared { get; init; }

    public override bool IsRemote => Shared;

    /// <summary>The absolute path of a store-relative path, refusing anything that resolves outside the root.</summary>
    public string FullPathOf(string path)
    {
        var full = DirectoryChecked(path).Full;
        CheckLastSegment(path, full);
        return full;
    }

    /// <summary>A store-relative path resolved: its absolute path, the directory that holds it, and its last segment.</summary>
    private readonly record struct Resolved(string Full, string Directory, string Name);

    /// <summary>
    /// A store-relative path resolved, its directories checked as <see cref="FullPathOf"/> checks them, its last segment not
    /// yet: an artifact kept in the directory's pack never touches a file of that name. The directory and the name are made
    /// once here, for a small artifact's write or check needs all three.
    /// </summary>
    private Resolved DirectoryChecked(string path)
    {
        var relative = ArtifactPath.Normalize(path);
        if (relative.StartsWith(TempDirectory, StringComparison.Ordinal) && (relative.Length == TempDirectory.Length || relative[TempDirectory.Length] == '/'))
            throw new ArtifactException($"Artifact path '{path}' is inside the store's private temporary directory.");
        var full = Path.Combine(_root, relative.Replace('/', Path.DirectorySeparatorChar));
        var name = Path.GetFileName(full);
        if (name.StartsWith(ArtifactPack.SegmentPrefix, StringComparison.Ordinal))
            throw new ArtifactException($"Artifact path '{path}' is named like the store's packs of small artifacts ({ArtifactPack.SegmentPrefix}*).");
        // A symbolic link anywhere along the path must not lead out of the root. One lstat per segment; directories
        // already seen to be real directories (the pipeline's and the run's, shared by every step) are not checked again.
        // A directory is only kept once those above it were checked, so a kept parent leaves only the last segment to check.
        var parent = Path.GetDirectoryName(full) ?? _root;
        if (_plainDirectories.ContainsKey(parent)) return new Resolved(full, parent, name);
        var current = _root;
        var segments = relative.Split('/');
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = Path.Combine(current, segments[i]);
            if (_plainDirectories.ContainsKey(current)) continue;
            var info = new FileInfo(current);
            var attributes = info.Attributes;
            if ((int)attributes == -1) continue; // does not exist (yet)
            if ((attributes & FileAttributes.ReparsePoint) == 0)
            {
                if ((attributes & FileAttributes.Directory) != 0) _plainDirectories.TryAdd(current, current);
                continue;
            }
            CheckLinkTarget(path, info);
        }
        return new Resolved(full, parent, name);
    }

    private void CheckLastSegment(string path, string full)
    {
        // Only whether it is a link matters here: one readlink, where the attributes cost an lstat and more.
        var info = new FileInfo(full);
        if (info.LinkTarget is not null) CheckLinkTarget(path, info); // else not a link, or does not exist (yet)
    }

    private void CheckLinkTarget(string path, FileInfo link)
    {
        var target = link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "";
        if (!IsInsideRoot(target))
            throw new ArtifactException($"Artifact path '{path}' goes through a link to {target}, outside the store root {_root}.");
    }

    // A set; its values (the keys again) are unused. String values, not bytes: a table of strings to strings runs on code the
    // runtime has precompiled, where one to bytes is compiled afresh in every process.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _plainDirectories = new();

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
        var resolved = DirectoryChecked(path);
        var (full, directory, name) = resolved;
        if (PackOf(resolved) is { } pack && pack.Read(name) is { } content)
            return Task.FromResult<IArtifactReader>(new SingleFileReader(SingleFileName(name)!, pack.Directory,
                () => new MemoryStream(content, writable: false)));
        CheckLastSegment(path, full);
        if (Directory.Exists(full))
            return Task.FromResult<IArtifactReader>(new LocalArtifactReader(full));
        if (SingleFileName(name) is { } fileName && File.Exists(full))
            return Task.FromResult<IArtifactReader>(new SingleFileReader(fileName, directory,
                () => new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan)));
        throw new ArtifactException($"No artifact at '{path}' in {_root}.");
    }

    /// <summary>
    /// The pack of the directory of <paramref name="path"/> when that path names an artifact kept as its one file and
    /// this store packs them, else null. A shared store does not: a reader on another machine may not see a file grow.
    /// </summary>
    private ArtifactPack? PackOf(Resolved path)
    {
        if (Shared || SingleFileName(path.Name) is null) return null;
        var pack = _packs.For(path.Directory);
        // Looked up first: adding takes a lock even when the pack is there, and this is on every small artifact's way.
        if (!_packsChecked.ContainsKey(pack) && _packsChecked.TryAdd(pack, 0)) pack.ForgetRemovedSegments();
        return pack;
    }

    /// <summary>Packed bytes read ahead by <see cref="VerifyAsync"/>: a cached rerun verifies its hits in the order they were written.</summary>
    private readonly ArtifactPack.ReadAhead _verifying = new();

    /// <summary>The packs this store object has checked for removed segments (it is made for one run, or one command).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ArtifactPack, byte> _packsChecked = new();

    /// <summary>Where the pack keeps the bytes of the artifact at <paramref name="path"/>, or null when it is not packed.</summary>
    internal (string Segment, long Offset, int Length)? PackedLocationOf(string path)
    {
        var resolved = DirectoryChecked(path);
        return PackOf(resolved)?.Locate(resolved.Name);
    }

    private const char SingleFileSeparator = '~';

    /// <summary>The name of the one file an artifact kept as that file alone holds (<c>model~data.bin</c>: <c>data.bin</c>), else null.</summary>
    private static string? SingleFileName(string name)
    {
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
        var resolved = DirectoryChecked(path);
        var full = resolved.Full;
        if (SingleFileName(resolved.Name) is { } fileName)
        {
            if (PackOf(resolved)?.Read(resolved.Name, _verifying) is { } packed)
                return HashesTo(fileName, packed, contentHash)
                    ? Task.FromResult(true)
                    : base.VerifyAsync(path, contentHash, cancellationToken); // which words the mismatch
            CheckLastSegment(path, full);
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
            if (read < small && HashesTo(fileName, data[..read], contentHash)) return Task.FromResult(true);
        }
        return base.VerifyAsync(path, contentHash, cancellationToken);
    }

    /// <summary>Whether an artifact of the one file <paramref name="fileName"/> holding <paramref name="bytes"/> has <paramref name="contentHash"/>.</summary>
    private static bool HashesTo(string fileName, ReadOnlySpan<byte> bytes, string contentHash) =>
        ContentHasher.Combine([new HashedFile(fileName, System.IO.Hashing.XxHash128.Hash(bytes), bytes.Length)]).Hash == contentHash;

    public override Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var resolved = DirectoryChecked(path);
        var full = resolved.Full;
        if (PackOf(resolved)?.Contains(resolved.Name) == true) return Task.FromResult(true);
        CheckLastSegment(path, full);
        return Task.FromResult(Directory.Exists(full) || File.Exists(full));
    }

    public override Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var resolved = DirectoryChecked(path);
        var full = resolved.Full;
        PackOf(resolved)?.Delete(resolved.Name);
        CheckLastSegment(path, full);
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        else if (File.Exists(full)) File.Delete(full);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes a small file atomically. An artifact kept as its one file (a path from <see cref="SingleFilePathOf"/>) of at most
    /// 64 KiB goes into its directory's pack; anything else is written beside its place and renamed into it.
    /// </summary>
    public override Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var resolved = DirectoryChecked(path);
        var (final, directory, name) = resolved;
        if (!_plainDirectories.ContainsKey(directory)) Directory.CreateDirectory(directory);
        var pack = PackOf(resolved);
        if (pack is not null && content.Length <= ArtifactPack.MaxContentBytes)
        {
            pack.Write(name, content.Span);
            return Task.CompletedTask;
        }
        CheckLastSegment(path, final);
        pack?.Delete(name); // a packed one would be read before the file
        var temp = Path.Combine(directory, $".{name}.{Ids.NewHex()}.tmp");
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
        var resolved = DirectoryChecked(path);
        var full = resolved.Full;
        if (PackOf(resolved)?.Read(resolved.Name) is { } packed) return Task.FromResult<byte[]?>(packed);
        CheckLastSegment(path, full);
        // Read synchronously, as files are written: they are small, and an asynchronous read would hop through the thread pool.
        return Task.FromResult(File.Exists(full) ? File.ReadAllBytes(full) : null);
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>An artifact kept as its one file, in its directory or in the directory's pack.</summary>
    private sealed class SingleFileReader(string name, string directory, Func<Stream> open) : IArtifactReader
    {
        public IReadOnlyList<string> Files { get; } = [name];

        public string LocalDirectory => directory;

        public Stream OpenFile(string file) => file == name ? open() : throw new ArtifactException($"Artifact in {directory} has no file '{file}'.");

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
