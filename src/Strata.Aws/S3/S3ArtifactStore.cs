using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Strata.Aws;

/// <summary>
/// The <c>s3</c> artifact store: artifacts as objects in a bucket (AWS S3 or an S3-compatible store).
/// </summary>
/// <remarks>
/// <para>Layout of an artifact at store path <c>p</c> (object keys under the root prefix):</para>
/// <code>
/// p/.strata/&lt;generation&gt;/&lt;file&gt;   the files, each with its xxh128 hash in metadata (x-amz-meta-strata-xxh128)
/// p/.strata/commit.json            the commit marker: generation, files with size and hash, artifact hash
/// </code>
/// <para>A write spools the files to a local temporary directory (hashing them on the way), uploads them under a new
/// generation — multipart, parts in parallel, for files larger than one part — and then writes the marker, last.
/// An artifact without a marker does not exist, so a writer that dies midway leaves nothing a reader would take for
/// whole; a rewrite publishes by replacing the marker (one PUT, atomic in S3), then removes the replaced generation.</para>
/// <para>A read fetches the marker, downloads every file to a local staging directory (large files in ranged parts in
/// parallel, pinned to one object version by ETag), and checks each file's hash against the marker and the object's
/// metadata, so a tampered or corrupted object is an error, never silently wrong data.</para>
/// <para>Plain files (<see cref="WriteFileAsync"/>) are single objects at their key, also carrying their hash.</para>
/// </remarks>
public sealed class S3ArtifactStore : ArtifactStore, IDisposable
{
    /// <summary>The reserved path segment holding an artifact's generations and marker.</summary>
    internal const string MetaSegment = ".strata";
    internal const string MarkerName = "commit.json";
    /// <summary>User metadata key holding a file's content hash (sent as <c>x-amz-meta-strata-xxh128</c>).</summary>
    internal const string HashMetadataKey = "strata-xxh128";

    /// <summary>Orphaned generations (writers that died before their marker) older than this are removed by later writes.</summary>
    private static readonly TimeSpan OrphanAge = TimeSpan.FromHours(24);

    private static readonly JsonSerializerOptions MarkerJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly IAmazonS3 _s3;
    private readonly bool _ownsClient;
    private readonly S3Location _location;

    /// <summary>Builds the store and its S3 client from the flavor's config.</summary>
    /// <exception cref="StrataConfigException">A bad path, region, endpoint, part size or credential setting.</exception>
    public S3ArtifactStore(S3ArtifactStoreConfig config)
        : this(S3ClientFactory.Create(config), S3ClientFactory.TransferSettings(config), ownsClient: true)
    {
    }

    internal S3ArtifactStore(IAmazonS3 client, S3TransferSettings settings, bool ownsClient)
    {
        _s3 = client;
        _ownsClient = ownsClient;
        Settings = settings;
        _location = settings.Location;
    }

    internal S3TransferSettings Settings { get; }

    /// <summary>Test seam: runs after the files are uploaded and before the marker is written.</summary>
    internal Func<CancellationToken, Task>? BeforeCommit { get; set; }

    public override string Root => _location.Root;

    public override bool IsRemote => true;

    public string Bucket => _location.Bucket;

    /// <summary>The object key of a store-relative path (the root prefix joined with the normalized path).</summary>
    public string KeyOf(string path)
    {
        var relative = ArtifactPath.Normalize(path);
        if (relative.Split('/').Contains(MetaSegment))
            throw new ArtifactException($"Artifact path '{path}' uses the reserved name '{MetaSegment}', where the store keeps artifacts' files and commit " +
                "markers.");
        return _location.Key(relative);
    }

    private static string MarkerKey(string key) => $"{key}/{MetaSegment}/{MarkerName}";

    private static string GenerationPrefix(string key, string generation) => $"{key}/{MetaSegment}/{generation}/";

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

            using (var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            using (var gate = new SemaphoreSlim(Settings.MaxConcurrency))
            {
                var uploads = files.Select(async f =>
                {
                    try
                    {
                        await UploadFileAsync(Path.Combine(staging, f.Name.Replace('/', Path.DirectorySeparatorChar)), dataPrefix + f.Name,
                            ContentHasher.Format(f.Hash), f.Size, gate, failFast.Token).ConfigureAwait(false);
                        uploaded.Add(dataPrefix + f.Name);
                    }
                    catch
                    {
                        await failFast.CancelAsync().ConfigureAwait(false); // the artifact fails whole: stop the other uploads
                        throw;
                    }
                }).ToArray();
                try
                {
                    await Task.WhenAll(uploads).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Report the upload that failed first, not a sibling we cancelled because of it.
                    throw uploads.Select(u => u.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                        ?? throw new InvalidOperationException("An upload was cancelled.");
                }
            }

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
            await PutBytesAsync(MarkerKey(key), JsonSerializer.SerializeToUtf8Bytes(marker, MarkerJson), "application/json",
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
                return new S3ArtifactReader(staging, marker.Files.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray());
            }
            catch (ObjectReplacedException) when (attempt < 3)
            {
                // A rewrite replaced the generation while we read it: read the new marker.
                StagingDirectory.Delete(staging);
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

    public override async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        return await HeadAsync(MarkerKey(key), cancellationToken).ConfigureAwait(false) is not null
            || await HeadAsync(key, cancellationToken).ConfigureAwait(false) is not null;
    }

    public override async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        // The marker first: from then on the artifact is absent, whatever happens to the rest.
        await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = MarkerKey(key) }, cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        await foreach (var o in ListAsync(key + "/", cancellationToken).ConfigureAwait(false)) keys.Add(o.Key);
        keys.Add(key);
        await ForEachAsync(keys, (k, ct) => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = k }, ct),
            cancellationToken).ConfigureAwait(false);
    }

    public override async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        await PutBytesAsync(key, content, "application/octet-stream", cancellationToken).ConfigureAwait(false);
    }

    public override async Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var key = KeyOf(path);
        return await GetBytesAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_ownsClient) _s3.Dispose();
    }

    // ---- writing ----

    private async Task UploadFileAsync(string file, string key, string hash, long size, SemaphoreSlim gate, CancellationToken ct)
    {
        if (size <= Settings.PartSize)
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var request = new PutObjectRequest { BucketName = Bucket, Key = key, FilePath = file, UseChunkEncoding = Settings.UseChunkEncoding };
                request.Metadata[HashMetadataKey] = hash;
                await _s3.PutObjectAsync(request, ct).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
            return;
        }

        var init = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = key };
        init.Metadata[HashMetadataKey] = hash;
        var upload = await _s3.InitiateMultipartUploadAsync(init, ct).ConfigureAwait(false);
        try
        {
            var partCount = (int)((size + Settings.PartSize - 1) / Settings.PartSize);
            var parts = await Task.WhenAll(Enumerable.Range(1, partCount).Select(async number =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    var offset = (number - 1) * Settings.PartSize;
                    var response = await _s3.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = Bucket,
                        Key = key,
                        UploadId = upload.UploadId,
                        PartNumber = number,
                        FilePath = file,
                        FilePosition = offset,
                        PartSize = Math.Min(Settings.PartSize, size - offset),
                        IsLastPart = number == partCount,
                        UseChunkEncoding = Settings.UseChunkEncoding,
                    }, ct).ConfigureAwait(false);
                    return new PartETag(number, response.ETag);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartETags = parts.OrderBy(p => p.PartNumber).ToList(),
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = upload.UploadId },
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (AmazonServiceException) { } // the store drops abandoned uploads itself (lifecycle rules)
            catch (AmazonClientException) { }
            throw;
        }
    }

    private async Task PutBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, CancellationToken ct)
    {
        using var body = new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = Bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = contentType,
            UseChunkEncoding = Settings.UseChunkEncoding,
        };
        request.Metadata[HashMetadataKey] = ContentHasher.HashBytes(content.Span);
        await _s3.PutObjectAsync(request, ct).ConfigureAwait(false);
    }

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
                var slash = rest.IndexOf('/');
                if (slash < 0) continue; // the marker
                var generation = rest[..slash];
                if (generation == current) continue;
                // The object's age on the server's clock: the real one.
                var now = TimeProvider.System.GetUtcNow().UtcDateTime;
                var age = now - (o.LastModified ?? now).ToUniversalTime();
                if (generation == replaced || age > OrphanAge) stale.Add(o.Key);
            }
            await DeleteQuietlyAsync(stale).ConfigureAwait(false);
        }
        catch (AmazonServiceException) { } // cleanup is best effort: the artifact is already published
        catch (AmazonClientException) { }
    }

    private async Task DeleteQuietlyAsync(IEnumerable<string> keys)
    {
        try
        {
            await ForEachAsync(keys.ToArray(), (k, ct) => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = k }, ct),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (AmazonServiceException) { }
        catch (AmazonClientException) { }
    }

    // ---- reading ----

    private async Task<CommitMarker?> ReadMarkerAsync(string key, CancellationToken ct)
    {
        var bytes = await GetBytesAsync(MarkerKey(key), ct).ConfigureAwait(false);
        if (bytes is null) return null;
        try
        {
            return JsonSerializer.Deserialize<CommitMarker>(bytes, MarkerJson) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ArtifactException($"The commit marker s3://{Bucket}/{MarkerKey(key)} is not readable: {e.Message}", e);
        }
    }

    private async Task DownloadAsync(string path, string key, CommitMarker marker, string staging, CancellationToken cancellationToken)
    {
        var uri = UriOf(path);
        var hasher = new ContentHasher();
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(Settings.MaxConcurrency);
        var downloads = marker.Files.Select(async file =>
        {
            try
            {
                var name = ArtifactPath.Normalize(file.Name);
                var local = Path.Combine(staging, name.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                var objectKey = GenerationPrefix(key, marker.Generation) + name;
                var hash = file.Size <= Settings.PartSize
                    ? await DownloadWholeAsync(uri, file, objectKey, local, gate, failFast.Token).ConfigureAwait(false)
                    : await DownloadRangesAsync(uri, file, objectKey, local, gate, failFast.Token).ConfigureAwait(false);
                var text = ContentHasher.Format(hash);
                if (text != file.Hash)
                    throw new ArtifactException(
                        $"File '{file.Name}' of artifact {uri} does not match its recorded hash (recorded {file.Hash}, read {text}): the object was changed " +
                        "or corrupted in the store.");
                hasher.Add(name, hash, file.Size);
            }
            catch
            {
                await failFast.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(downloads).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw downloads.Select(d => d.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                ?? throw new InvalidOperationException("A download was cancelled.");
        }
        var total = hasher.Result();
        if (total.Hash != marker.Hash || total.Size != marker.Size)
            throw new ArtifactException($"The files of artifact {uri} add up to {total.Hash} ({total.Size} bytes), but its commit marker records " +
                $"{marker.Hash} ({marker.Size} bytes).");
    }

    private async Task<byte[]> DownloadWholeAsync(string uri, CommitFile file, string objectKey, string local, SemaphoreSlim gate, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var response = await GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = objectKey }, ct).ConfigureAwait(false)
                ?? throw new ObjectReplacedException();
            CheckObject(uri, file, response.Metadata[HashMetadataKey], response.ContentLength);
            var hash = new XxHash128();
            long length = 0;
            await using (var output = new FileStream(local, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await response.ResponseStream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    hash.Append(buffer.AsSpan(0, read));
                    length += read;
                    await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                }
            }
            if (length != file.Size)
                throw new ArtifactException($"File '{file.Name}' of artifact {uri} is {length} bytes in the store, but {file.Size} bytes were written.");
            return hash.GetCurrentHash();
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<byte[]> DownloadRangesAsync(string uri, CommitFile file, string objectKey, string local, SemaphoreSlim gate, CancellationToken ct)
    {
        var head = await HeadAsync(objectKey, ct).ConfigureAwait(false) ?? throw new ObjectReplacedException();
        CheckObject(uri, file, head.Metadata[HashMetadataKey], head.ContentLength);
        var partSize = Settings.PartSize;
        var parts = (int)((file.Size + partSize - 1) / partSize);
        using (var handle = File.OpenHandle(local, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous,
            preallocationSize: file.Size))
        {
            await Task.WhenAll(Enumerable.Range(0, parts).Select(async i =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    var start = i * partSize;
                    var end = Math.Min(file.Size, start + partSize) - 1;
                    // Every range from the same object version: a rewrite in between fails the read instead of mixing bytes.
                    using var response = await GetObjectAsync(new GetObjectRequest
                    {
                        BucketName = Bucket,
                        Key = objectKey,
                        ByteRange = new ByteRange(start, end),
                        EtagToMatch = head.ETag,
                    }, ct).ConfigureAwait(false) ?? throw new ObjectReplacedException();
                    var buffer = new byte[1 << 16];
                    var offset = start;
                    int read;
                    while ((read = await response.ResponseStream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        if (offset + read > end + 1)
                            throw new ArtifactException($"The store returned more bytes than asked for in a ranged read of '{file.Name}' of artifact {uri}.");
                        await RandomAccess.WriteAsync(handle, buffer.AsMemory(0, read), offset, ct).ConfigureAwait(false);
                        offset += read;
                    }
                    if (offset != end + 1)
                        throw new ArtifactException($"A ranged read of '{file.Name}' of artifact {uri} returned {offset - start} bytes instead of " +
                            $"{end + 1 - start}.");
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
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

    private static void CheckObject(string uri, CommitFile file, string? metadataHash, long contentLength)
    {
        if (metadataHash != file.Hash)
            throw new ArtifactException(
                $"File '{file.Name}' of artifact {uri} carries hash {metadataHash ?? "(none)"} in the store, but its commit marker records {file.Hash}: the " +
                "object was replaced or corrupted.");
        if (contentLength != file.Size)
            throw new ArtifactException($"File '{file.Name}' of artifact {uri} is {contentLength} bytes in the store, but {file.Size} bytes were written.");
    }

    /// <summary>A plain object's bytes, checked against the hash in its metadata; null when absent.</summary>
    private async Task<byte[]?> GetBytesAsync(string key, CancellationToken ct)
    {
        using var response = await GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, ct).ConfigureAwait(false);
        if (response is null) return null;
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        var content = buffer.ToArray();
        var recorded = response.Metadata[HashMetadataKey];
        var actual = ContentHasher.HashBytes(content);
        if (recorded != actual)
            throw new ArtifactException(
                $"s3://{Bucket}/{key} does not match its recorded hash (recorded {recorded ?? "(none)"}, read {actual}): the object was changed or corrupted " +
                "in the store.");
        return content;
    }

    private async Task<GetObjectResponse?> GetObjectAsync(GetObjectRequest request, CancellationToken ct)
    {
        try
        {
            return await _s3.GetObjectAsync(request, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectReplacedException();
        }
    }

    private async Task<GetObjectMetadataResponse?> HeadAsync(string key, CancellationToken ct)
    {
        try
        {
            return await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async IAsyncEnumerable<S3Object> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, ContinuationToken = token },
                ct).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? []) yield return o;
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    private Task ForEachAsync(IReadOnlyCollection<string> keys, Func<string, CancellationToken, Task> action, CancellationToken ct) =>
        Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = Settings.MaxConcurrency, CancellationToken = ct },
            async (k, token) => await action(k, token).ConfigureAwait(false));

    /// <summary>An object of the generation being read disappeared or changed: a rewrite replaced it.</summary>
    private sealed class ObjectReplacedException : Exception;

    internal sealed record CommitMarker(int Format, string Generation, string Hash, long Size, IReadOnlyList<CommitFile> Files);

    internal sealed record CommitFile(string Name, long Size, string Hash);


    /// <summary>A downloaded and verified artifact in a staging directory, removed on dispose.</summary>
    private sealed class S3ArtifactReader(string directory, IReadOnlyList<string> files) : IArtifactReader
    {
        private readonly HashSet<string> _names = new(files, StringComparer.Ordinal);

        public IReadOnlyList<string> Files => files;

        public string LocalDirectory => directory;

        public Stream OpenFile(string name)
        {
            var relative = ArtifactPath.Normalize(name);
            if (!_names.Contains(relative))
                throw new ArtifactException($"The artifact has no file '{name}'.");
            return new FileStream(Path.Combine(directory, relative.Replace('/', Path.DirectorySeparatorChar)), FileMode.Open, FileAccess.Read, FileShare.Read,
                1 << 16, FileOptions.SequentialScan);
        }

        public ValueTask DisposeAsync()
        {
            StagingDirectory.Delete(directory);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Private local directories for files on their way to or from the store.</summary>
internal static class StagingDirectory
{
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "strata-s3", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
