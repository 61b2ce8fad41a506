namespace Strata.Artifacts;

/// <summary>
/// Where step outputs, manifests and results live. Paths are relative to the store's root and use '/'.
/// </summary>
/// <remarks>
/// Implementers: <see cref="WriteArtifactAsync"/> must be atomic — a reader never sees a partly written artifact
/// (write elsewhere, then publish), also when two writers write the same path at once. Return the hash
/// <see cref="ContentHasher"/> gives (<see cref="DirectoryArtifactWriter"/> computes it): <see cref="ReadArtifactAsync{T}"/>
/// checks reads against it, and equal content then has an equal hash in every store. Every path must be checked with
/// <see cref="ArtifactPath.Normalize"/> so nothing escapes the root. Derive a test class from Strata.Testing's
/// <c>ArtifactStoreConformance</c> to check a store against this contract.
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
    public abstract Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write,
        CancellationToken cancellationToken = default);

    /// <summary>Opens a published artifact for reading.</summary>
    /// <exception cref="ArtifactException">No artifact at that path.</exception>
    public abstract Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the artifact at <paramref name="path"/>, lets <paramref name="read"/> read it, and checks that it holds what
    /// was written: its files must hash to <paramref name="contentHash"/>, the hash <see cref="WriteArtifactAsync"/>
    /// returned (the one recorded with the artifact). Files are hashed as <paramref name="read"/> reads them through
    /// <see cref="IArtifactReader.OpenFile"/>; those it did not read to their end, or read by path, are hashed afterwards.
    /// </summary>
    /// <returns>What <paramref name="read"/> returned, once the artifact has passed the check.</returns>
    /// <exception cref="ArtifactException">No artifact at the path, or its files do not hash to <paramref name="contentHash"/>
    /// (changed or corrupted in the store); the message names the artifact. When <paramref name="read"/> failed on changed
    /// bytes, its exception is the inner one.</exception>
    public virtual async Task<T> ReadArtifactAsync<T>(string path, string contentHash, Func<IArtifactReader, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        ArgumentNullException.ThrowIfNull(read);
        if (!contentHash.StartsWith(ContentHasher.Prefix, StringComparison.Ordinal))
            throw new ArtifactException($"Artifact {UriOf(path)} has content hash '{contentHash}', not an {ContentHasher.Prefix} hash, so it cannot be " +
                "checked.");
        var reader = new ContentCheckingReader(await OpenArtifactAsync(path, cancellationToken).ConfigureAwait(false), UriOf(path), contentHash);
        await using (reader.ConfigureAwait(false))
        {
            T value;
            try
            {
                value = await read(reader, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await reader.CheckAsync(e, cancellationToken).ConfigureAwait(false); // changed bytes are the error to report
                throw;
            }
            await reader.CheckAsync(null, cancellationToken).ConfigureAwait(false);
            return value;
        }
    }

    /// <summary>
    /// Whether the artifact at <paramref name="path"/> is still in the store as it was written, with content hash
    /// <paramref name="contentHash"/>. The orchestrator asks this of every cached output before it uses it.
    /// </summary>
    /// <remarks>
    /// The default reads and hashes every file (<see cref="ReadArtifactAsync{T}"/>). A store that checks each file's
    /// bytes against its own record as it fetches them may compare only that record with <paramref name="contentHash"/>.
    /// </remarks>
    /// <returns>True when it is there and matches; false when there is no artifact at the path.</returns>
    /// <exception cref="ArtifactException">The artifact is there but does not match <paramref name="contentHash"/>.</exception>
    public virtual async Task<bool> VerifyAsync(string path, string contentHash, CancellationToken cancellationToken = default)
    {
        if (!await ExistsAsync(path, cancellationToken).ConfigureAwait(false)) return false;
        return await ReadArtifactAsync(path, contentHash, static (_, _) => Task.FromResult(true), cancellationToken).ConfigureAwait(false);
    }

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
