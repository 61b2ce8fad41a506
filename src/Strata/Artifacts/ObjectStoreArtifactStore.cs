using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text.Json;

namespace Strata.Artifacts;

/// <summary>
/// An artifact store over a bucket of objects (S3, Cloud Storage, …): the commit-marker protocol, staging and
/// verification shared by every object-store backend, which implements only the object API below.
/// </summary>
/// <remarks>
/// <para>Layout of an artifact at store path <c>p</c> (object keys under the root prefix):</para>
/// <code>
/// p/.strata/&lt;generation&gt;/&lt;file&gt;   the files, each with its xxh128 hash in metadata (strata-xxh128)
/// p/.strata/commit.json            the commit marker: generation, files with size and hash, artifact hash
/// </code>
/// <para>A write spools the files to a local staging directory (hashing them on the way), uploads them under a new
/// generation and then writes the marker, last. An artifact without a marker does not exist, so a writer that dies
/// midway leaves nothing a reader would take for whole; a rewrite publishes by replacing the marker (one object write),
/// then removes the replaced generation and generations of writers that died more than a day ago.</para>
/// <para>A read fetches the marker, downloads every file to a local staging directory (in ranges of the part size, in
/// parallel, all pinned to one object version), and checks each file's hash and size against the marker and the
/// object's metadata, and the total against the marker, so a tampered or corrupted object is an error, never silently
/// wrong data.</para>
/// </remarks>
public abstract class ObjectStoreArtifactStore : ArtifactStore
{
    /// <summary>The reserved path segment holding an artifact's generations and marker.</summary>
    public const string MetaSegment = ".strata";

    /// <summary>The commit marker's name under <see cref="MetaSegment"/>.</summary>
    public const string MarkerName = "commit.json";

    /// <summary>The metadata key holding an object's content hash.</summary>
    public const string HashMetadataKey = "strata-xxh128";

    /// <summary>Orphaned generations (writers that died before their marker) older than this are removed by later writes.</summary>
    private static readonly TimeSpan OrphanAge = TimeSpan.FromHours(24);

    private static readonly JsonSerializerOptions MarkerJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Creates the store over <paramref name="location"/>.</summary>
    protected ObjectStoreArtifactStore(ObjectStoreLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        Location = location;
    }

    /// <summary>The bucket and prefix the store keeps its objects under.</summary>
    public ObjectStoreLocation Location { get; }

    /// <summary>The bucket.</summary>
    public string Bucket => Location.Bucket;

    /// <inheritdoc />
    public override string Root => Location.Root;

    /// <inheritdoc />
    public override bool IsRemote => true;

    /// <summary>At most this many object transfers (files, or ranges of one file) at once.</summary>
    protected abstract int MaxConcurrency { get; }

    /// <summary>The size of the ranges large files are read in.</summary>
    protected abstract long PartSize { get; }

    /// <summary>Runs after the files are uploaded and before the marker is written (a seam for tests).</summary>
    public Func<CancellationToken, Task>? BeforeCommit { get; set; }

    // ---- the object API a backend implements ----

    /// <summary>Uploads a local file as object <paramref name="key"/>, carrying <paramref name="hash"/> in its metadata.</summary>
    protected abstract Task PutFileAsync(string key, string localFile, long size, string hash, CancellationToken cancellationToken);

    /// <summary>Writes bytes as object <paramref name="key"/>, carrying <paramref name="hash"/> in its metadata.</summary>
    protected abstract Task PutBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, string hash,
        CancellationToken cancellationToken);

    /// <summary>An object's metadata; null when it does not exist.</summary>
    protected abstract Task<StoredObject?> GetMetadataAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Copies bytes <paramref name="start"/> to <paramref name="end"/> (inclusive; the whole object when null) of the version of
    /// <paramref name="stored"/> into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="ObjectReplacedException">That version no longer exists.</exception>
    protected abstract Task ReadAsync(StoredObject stored, long? start, long? end, Stream destination, CancellationToken cancellationToken);

    /// <summary>The objects whose keys start with <paramref name="prefix"/>.</summary>
    protected abstract IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes an object; an absent one is not an error.</summary>
    protected abstract Task DeleteObjectAsync(string key, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exception"/> is a failure of the store or the network, which best-effort cleanup ignores.</summary>
    protected abstract bool IsStoreFailure(Exception exception);

    // ---- paths ----

    /// <summary>The object key of a store-relative path (the root prefix joined with the normalized path).</summary>
    /// <exception cref="ArtifactException">The path uses the reserved name <see cref="MetaSegment"/>.</exception>
    public string KeyOf(string path)
    {
        var relative = ArtifactPath.Normalize(path);
        if (relative.Split('/').Contains(MetaSegment))
            throw new ArtifactException($"Artifact path '{path}' uses the reserved name '{MetaSegment}', where the store keeps artifacts' files and commit " +
                "markers.");
        return Location.Key(relative);
    }

    private static string MarkerKey(string key) => $"{key}/{MetaSegment}/{MarkerName}";

    private static string GenerationPrefix(string key, string generation) => $"{key}/{MetaSegment}/{generation}/";

    // ---- the artifact store ----

    /// <inheritdoc />
    public override async Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var key = KeyOf(path);
        var generation = Guid.CreateVersion7().ToString("n");
        var dataPrefix = GenerationPrefix(key, generation);
        var staging = StagingDirectory.Create();
        var uploaded = new ConcurrentBag<string>();
        var committed = false;
        try
        {
            var writer = new DirectoryArtifactWriter(staging);
            await write(writer, cancellationToken).ConfigureAwait(false);
            writer.EnsureClosed();
            var files = writer.Hasher.Files();
            var content = writer.Hasher.Result();

            await FailFast.ForAllAsync(files, MaxConcurrency, async (f, ct) =>
            {
                await PutFileAsync(dataPrefix + f.Name, Path.Combine(staging, f.Name.Replace('/', Path.DirectorySeparatorChar)), f.Size,
                    ContentHasher.Format(f.Hash), ct).ConfigureAwait(false);
                uploaded.Add(dataPrefix + f.Name);
            }, cancellationToken).ConfigureAwait(false);

            CommitMarker? previous;
            try
            {
                previous = await ReadMarkerAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (ArtifactException)
            {
                previous = null; // an unreadable marker is replaced; its generation is left to the orphan cleanup
            }
            if (BeforeCommit is { } hook) await hook(cancellationToken).ConfigureAwait(false);

            var marker = new CommitMarker(1, generation, content.Hash, content.Size,
                files.Select(f => new CommitFile(f.Name, f.Size, ContentHasher.Format(f.Hash))).ToArray());
            await PutHashedBytesAsync(MarkerKey(key), JsonSerializer.SerializeToUtf8Bytes(marker, MarkerJson), "application/json",
                cancellationToken).ConfigureAwait(false);
            committed = true;

            await RemoveStaleGenerationsAsync(key, generation, previous?.Generation).ConfigureAwait(false);
            return content;
        }
        catch when (!committed)
        {
            await DeleteQuietlyAsync(uploaded).ConfigureAwait(false);
            throw;
        }
        finally
        {
            StagingDirectory.Delete(staging);
        }
    }

    /// <inheritdoc />
    public override async Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        for (var attempt = 1; ; attempt++)
        {
            var marker = await ReadMarkerAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new ArtifactException($"No artifact at '{path}' in {Root}.");
            var staging = StagingDirectory.Create();
            try
            {
                await DownloadAsync(path, key, marker, staging, cancellationToken).ConfigureAwait(false);
                return new StagedArtifactReader(staging, marker.Files.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray());
            }
            catch (ObjectReplacedException e)
            {
                StagingDirectory.Delete(staging);
                // A rewrite replaced the generation while we read it: read the new marker. The same marker means the
                // object was changed or removed behind the store's back.
                var now = await ReadMarkerAsync(key, cancellationToken).ConfigureAwait(false);
                if (now is null || now.Generation == marker.Generation || attempt >= 3)
                    throw new ArtifactException($"File '{e.Name}' of artifact {UriOf(path)} changed or disappeared in the store while it was read, and " +
                        "its commit marker still names it: the object was replaced or removed behind the store's back.", e);
            }
            catch
            {
                StagingDirectory.Delete(staging);
                throw;
            }
        }
    }

    /// <summary>
    /// Compares the artifact hash in the commit marker with <paramref name="contentHash"/>, without downloading the files:
    /// their bytes are checked against the marker as they are downloaded.
    /// </summary>
    public override async Task<bool> VerifyAsync(string path, string contentHash, CancellationToken cancellationToken = default)
    {
        var marker = await ReadMarkerAsync(KeyOf(path), cancellationToken).ConfigureAwait(false);
        if (marker is null) return false;
        if (marker.Hash != contentHash)
            throw new ArtifactException(
                $"Artifact {UriOf(path)} does not match its recorded content hash (recorded {contentHash}, stored {marker.Hash}): it was rewritten or " +
                "changed in the store.");
        return true;
    }

    /// <inheritdoc />
    public override async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        return await GetMetadataAsync(MarkerKey(key), cancellationToken).ConfigureAwait(false) is not null
            || await GetMetadataAsync(key, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public override async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        // The marker first: from then on the artifact is absent, whatever happens to the rest.
        await DeleteObjectAsync(MarkerKey(key), cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        await foreach (var o in ListAsync(key + "/", cancellationToken).ConfigureAwait(false)) keys.Add(o.Key);
        keys.Add(key);
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrency, CancellationToken = cancellationToken },
            async (k, ct) => await DeleteObjectAsync(k, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        await PutHashedBytesAsync(key, content, "application/octet-stream", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await GetBytesAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectReplacedException) when (attempt < 3)
            {
                // rewritten between reading its metadata and its bytes: read again
            }
            catch (ObjectReplacedException e)
            {
                throw new ArtifactException($"{UriOf(path)} kept changing while it was read.", e);
            }
        }
    }

    // ---- writing ----

    private Task PutHashedBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, CancellationToken ct) =>
        PutBytesAsync(key, content, contentType, ContentHasher.HashBytes(content.Span), ct);

    /// <summary>Removes the generation the new marker replaced, and generations of writers that died long ago.</summary>
    private async Task RemoveStaleGenerationsAsync(string key, string current, string? replaced)
    {
        try
        {
            var prefix = $"{key}/{MetaSegment}/";
            var stale = new List<string>();
            await foreach (var o in ListAsync(prefix, CancellationToken.None).ConfigureAwait(false))
            {
                var rest = o.Key[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0) continue; // the marker
                var generation = rest[..slash];
                if (generation == current) continue;
                // The object's age on the server's clock: the real one.
                var now = TimeProvider.System.GetUtcNow();
                var age = now - (o.LastModified ?? now);
                if (generation == replaced || age > OrphanAge) stale.Add(o.Key);
            }
            await DeleteQuietlyAsync(stale).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e)) { } // cleanup is best effort: the artifact is already published
    }

    private async Task DeleteQuietlyAsync(IEnumerable<string> keys)
    {
        try
        {
            await Parallel.ForEachAsync(keys.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrency },
                async (k, ct) => await DeleteObjectAsync(k, ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e)) { }
    }

    // ---- reading ----

    private async Task<CommitMarker?> ReadMarkerAsync(string key, CancellationToken ct)
    {
        byte[]? bytes = null;
        for (var attempt = 1; attempt <= 3 && bytes is null; attempt++)
        {
            try
            {
                bytes = await GetBytesAsync(MarkerKey(key), ct).ConfigureAwait(false);
                if (bytes is null) return null;
            }
            catch (ObjectReplacedException) when (attempt < 3)
            {
                // a rewrite replaced the marker between its metadata and its bytes: read the new one
            }
        }
        try
        {
            return JsonSerializer.Deserialize<CommitMarker>(bytes, MarkerJson) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ArtifactException($"The commit marker {Location.UriOfKey(MarkerKey(key))} is not readable: {e.Message}", e);
        }
    }

    private async Task DownloadAsync(string path, string key, CommitMarker marker, string staging, CancellationToken cancellationToken)
    {
        var uri = UriOf(path);
        var hasher = new ContentHasher();
        // Files and their ranges share one limit: at most MaxConcurrency reads in flight, however the bytes split into files.
        using var reads = new SemaphoreSlim(MaxConcurrency);
        await FailFast.ForAllAsync(marker.Files, MaxConcurrency, async (file, ct) =>
        {
            var name = ArtifactPath.Normalize(file.Name);
            var local = Path.Combine(staging, name.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var objectKey = GenerationPrefix(key, marker.Generation) + name;
            var head = await GetMetadataAsync(objectKey, ct).ConfigureAwait(false) ?? throw new ObjectReplacedException(file.Name);
            CheckObject(uri, file, head.Hash, head.Size);
            var hash = await DownloadRangesAsync(uri, file, head, local, reads, ct).ConfigureAwait(false);
            var text = ContentHasher.Format(hash);
            if (text != file.Hash)
                throw new ArtifactException(
                    $"File '{file.Name}' of artifact {uri} does not match its recorded hash (recorded {file.Hash}, read {text}): the object was changed " +
                    "or corrupted in the store.");
            hasher.Add(name, hash, file.Size);
        }, cancellationToken).ConfigureAwait(false);
        var total = hasher.Result();
        if (total.Hash != marker.Hash || total.Size != marker.Size)
            throw new ArtifactException($"The files of artifact {uri} add up to {total.Hash} ({total.Size} bytes), but its commit marker records " +
                $"{marker.Hash} ({marker.Size} bytes).");
    }

    /// <summary>Downloads one object version in ranges of the part size, in parallel, then hashes what is on disk.</summary>
    private async Task<byte[]> DownloadRangesAsync(string uri, CommitFile file, StoredObject head, string local, SemaphoreSlim reads,
        CancellationToken ct)
    {
        var partSize = PartSize;
        var parts = Math.Max(1, (int)((file.Size + partSize - 1) / partSize));
        using (var handle = File.OpenHandle(local, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous,
            preallocationSize: file.Size))
        {
            if (file.Size > 0)
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, parts), new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrency, CancellationToken = ct },
                    async (i, token) =>
                    {
                        var start = i * partSize;
                        var end = Math.Min(file.Size, start + partSize) - 1;
                        using var buffer = new MemoryStream((int)(end - start + 1));
                        await reads.WaitAsync(token).ConfigureAwait(false);
                        try
                        {
                            // Pinned to one version: a rewrite in between fails the read instead of mixing bytes.
                            await ReadAsync(head, parts == 1 ? null : start, parts == 1 ? null : end, buffer, token).ConfigureAwait(false);
                        }
                        finally
                        {
                            reads.Release();
                        }
                        if (buffer.Length != end - start + 1)
                            throw new ArtifactException(
                                $"A read of '{file.Name}' of artifact {uri} returned {buffer.Length} bytes instead of {end - start + 1}.");
                        await RandomAccess.WriteAsync(handle, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), start, token).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
        }
        // Hash in order, over what is now on disk.
        var hash = new XxHash128();
        await using var input = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        var chunk = new byte[1 << 20];
        int n;
        while ((n = await input.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0) hash.Append(chunk.AsSpan(0, n));
        return hash.GetCurrentHash();
    }

    private static void CheckObject(string uri, CommitFile file, string? metadataHash, long size)
    {
        if (metadataHash != file.Hash)
            throw new ArtifactException(
                $"File '{file.Name}' of artifact {uri} carries hash {metadataHash ?? "(none)"} in the store, but its commit marker records {file.Hash}: the " +
                "object was replaced or corrupted.");
        if (size != file.Size)
            throw new ArtifactException($"File '{file.Name}' of artifact {uri} is {size} bytes in the store, but {file.Size} bytes were written.");
    }

    /// <summary>A plain object's bytes, checked against the hash in its metadata; null when absent.</summary>
    private async Task<byte[]?> GetBytesAsync(string key, CancellationToken ct)
    {
        var head = await GetMetadataAsync(key, ct).ConfigureAwait(false);
        if (head is null) return null;
        using var buffer = new MemoryStream();
        await ReadAsync(head, null, null, buffer, ct).ConfigureAwait(false);
        var content = buffer.ToArray();
        var actual = ContentHasher.HashBytes(content);
        if (head.Hash != actual)
            throw new ArtifactException(
                $"{Location.UriOfKey(key)} does not match its recorded hash (recorded {head.Hash ?? "(none)"}, read {actual}): the object was changed or " +
                "corrupted in the store.");
        return content;
    }
}

/// <summary>An object as the store reports it.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Hash">The content hash in its metadata, if any.</param>
/// <param name="Version">What pins a read to this version (an ETag, a generation); null when listed.</param>
/// <param name="LastModified">When it was written, on the store's clock.</param>
public sealed record StoredObject(string Key, long Size, string? Hash, string? Version, DateTimeOffset? LastModified);

/// <summary>The version of an object being read disappeared or changed: a rewrite replaced it.</summary>
public sealed class ObjectReplacedException : Exception
{
    /// <summary>Creates the exception for object or file <paramref name="name"/>.</summary>
    public ObjectReplacedException(string name)
        : base($"'{name}' was replaced while it was read.")
    {
        Name = name;
    }

    /// <summary>The object or file that was replaced.</summary>
    public string Name { get; }
}

/// <summary>An artifact's commit marker: the generation holding its files, each file's size and hash, and the artifact's.</summary>
public sealed record CommitMarker(int Format, string Generation, string Hash, long Size, IReadOnlyList<CommitFile> Files);

/// <summary>One file of a committed artifact.</summary>
public sealed record CommitFile(string Name, long Size, string Hash);
