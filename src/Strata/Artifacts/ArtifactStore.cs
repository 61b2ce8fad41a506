namespace Strata.Artifacts;

/// <summary>
/// Where step outputs, manifests and results live. Paths are relative to the store's root and use '/'.
/// </summary>
/// <remarks>
/// Implementers: <see cref="WriteArtifactAsync"/> must be atomic — a reader never sees a partly written artifact
/// (write elsewhere, then publish). Every path must be checked with <see cref="ArtifactPath.Normalize"/> so nothing
/// escapes the root.
/// </remarks>
public abstract class ArtifactStore
{
    /// <summary>The root as a URI or absolute path (<c>/home/u/.strata/artifacts</c>, <c>s3://bucket/prefix</c>).</summary>
    public abstract string Root { get; }

    /// <summary>True when a process on another machine can reach this store (object storage, a shared filesystem).</summary>
    public virtual bool IsRemote => false;

    /// <summary>The full URI of a path in this store.</summary>
    public virtual string UriOf(string path) => Root.TrimEnd('/') + "/" + ArtifactPath.Normalize(path);

    /// <summary>The store-relative path of a URI from <see cref="UriOf"/>.</summary>
    public virtual string PathOf(string uri)
    {
        var root = Root.TrimEnd('/') + "/";
        if (!uri.StartsWith(root, StringComparison.Ordinal))
            throw new ArtifactException($"'{uri}' is not in the artifact store at {Root}.");
        return ArtifactPath.Normalize(uri[root.Length..]);
    }

    /// <summary>Writes the files of one artifact at <paramref name="path"/> and publishes them all at once.</summary>
    /// <returns>The artifact's content hash and size over every file written.</returns>
    public abstract Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write, CancellationToken cancellationToken = default);

    /// <summary>Opens a published artifact for reading.</summary>
    /// <exception cref="ArtifactException">No artifact at that path.</exception>
    public abstract Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Where this store would keep an artifact at <paramref name="path"/> that holds one small file, as that file alone
    /// (written with <see cref="WriteFileAsync"/> and opened with <see cref="OpenArtifactAsync"/>); null when it keeps
    /// every artifact in its own place (the default).
    /// </summary>
    public virtual string? SingleFilePathOf(string path, string fileName) => null;

    /// <summary>Whether a published artifact (or plain file) exists at the path.</summary>
    public abstract Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Removes an artifact or file; no error when it is absent.</summary>
    public abstract Task DeleteAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Writes a single small file atomically (manifests, result records).</summary>
    public abstract Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);

    /// <summary>Reads a single file written by <see cref="WriteFileAsync"/>; null when absent.</summary>
    public abstract Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default);
}

/// <summary>Content hash and byte size of an artifact.</summary>
public sealed record ArtifactContent(string Hash, long Size);

/// <summary>Creates the files of one artifact while it is being written.</summary>
public interface IArtifactWriter
{
    /// <summary>Creates a file inside the artifact (a relative name such as <c>data.bin</c> or <c>dir/a.txt</c>).</summary>
    Stream CreateFile(string name);
}

/// <summary>Reads the files of one published artifact. Dispose it when done (a remote store may have staged files).</summary>
public interface IArtifactReader : IAsyncDisposable
{
    /// <summary>Relative names of every file in the artifact, '/'-separated, sorted.</summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>Opens one file for reading.</summary>
    Stream OpenFile(string name);

    /// <summary>A local directory holding the artifact's files, for materializers that need paths (models, directories).</summary>
    string LocalDirectory { get; }
}
