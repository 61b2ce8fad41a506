using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google;
using Google.Cloud.Storage.V1;
using Polly;
using Polly.Retry;
using StorageObject = Google.Apis.Storage.v1.Data.Object;

namespace Strata.Gcp;

/// <summary>
/// The <c>gcs</c> artifact store: artifacts as objects in a Google Cloud Storage bucket.
/// </summary>
/// <remarks>
/// <para>Layout of an artifact at store path <c>p</c> (object names under the root prefix), the same as the s3 store's:</para>
/// <code>
/// p/.strata/&lt;generation&gt;/&lt;file&gt;   the files, each with its xxh128 hash in custom metadata (strata-xxh128)
/// p/.strata/commit.json            the commit marker: generation, files with size and hash, artifact hash
/// </code>
/// <para>A write spools the files to a local temporary directory (hashing them on the way), uploads them under a new
/// generation — resumable uploads in chunks of <c>part_size_mb</c>, files in parallel — and then writes the marker, last.
/// An artifact without a marker does not exist, so a writer that dies midway leaves nothing a reader would take for
/// whole; a rewrite publishes by replacing the marker (one object write, atomic in GCS), then removes the replaced
/// generation.</para>
/// <para>A read fetches the marker, downloads every file to a local staging directory (large files in ranged parts in
/// parallel, all pinned to one object generation), and checks each file's hash against the marker and the object's
/// metadata, so a tampered or corrupted object is an error, never silently wrong data.</para>
/// <para>Every request answered with 429, a 5xx or a broken connection is retried with exponential backoff.</para>
/// </remarks>
public sealed class GcsArtifactStore : ArtifactStore, IDisposable
{
    internal const string MetaSegment = ".strata";
    internal const string MarkerName = "commit.json";
    /// <summary>Custom metadata key holding a file's content hash.</summary>
    internal const string HashMetadataKey = "strata-xxh128";

    private static readonly TimeSpan OrphanAge = TimeSpan.FromHours(24);
    private static readonly JsonSerializerOptions MarkerJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly StorageClient _client;
    private readonly bool _ownsClient;
    private readonly GcsLocation _location;
    private readonly ResiliencePipeline _retry;

    /// <summary>Builds the store and its storage client from the flavor's config.</summary>
    /// <exception cref="StrataConfigException">A bad path, endpoint, part size or credential setting.</exception>
    public GcsArtifactStore(GcsArtifactStoreConfig config)
        : this(GcsClientFactory.Create(config), GcsClientFactory.TransferSettings(config), ownsClient: true, TimeProvider.System)
    {
    }

    internal GcsArtifactStore(StorageClient client, GcsTransferSettings settings, bool ownsClient, TimeProvider time)
    {
        _client = client;
        _ownsClient = ownsClient;
        Settings = settings;
        _location = settings.Location;
        _retry = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<GoogleApiException>(IsRetryable).Handle<HttpRequestException>(),
                MaxRetryAttempts = Math.Max(1, settings.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(10),
            })
            .Build();
        if (settings.MaxRetries == 0) _retry = ResiliencePipeline.Empty;
    }

    internal GcsTransferSettings Settings { get; }

    /// <summary>Test seam: runs after the files are uploaded and before the marker is written.</summary>
    internal Func<CancellationToken, Task>? BeforeCommit { get; set; }

    public override string Root => _location.Root;

    public override bool IsRemote => true;

    public string Bucket => _location.Bucket;

    /// <summary>The object name of a store-relative path (the root prefix joined with the normalized path).</summary>
    public string ObjectNameOf(string path)
    {
        var relative = ArtifactPath.Normalize(path);
        if (relative.Split('/').Contains(MetaSegment))
            throw new ArtifactException($"Artifact path '{path}' uses the reserved name '{MetaSegment}', where the store keeps artifacts' files and commit " +
                "markers.");
        return _location.Name(relative);
    }

    private static string MarkerName_(string name) => $"{name}/{MetaSegment}/{MarkerName}";

    private static string GenerationPrefix(string name, string generation) => $"{name}/{MetaSegment}/{generation}/";

    private static bool IsRetryable(GoogleApiException e) =>
        e.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)e.HttpStatusCode >= 500;

    public override async Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var name = ObjectNameOf(path);
        var generation = Guid.CreateVersion7().ToString("n");
        var dataPrefix = GenerationPrefix(name, generation);
        var staging = GcsStaging.Create();
        var uploaded = new ConcurrentBag<string>();
        var committed = false;
        try
        {
            var writer = new DirectoryArtifactWriter(staging);
            await write(writer, cancellationToken).ConfigureAwait(false);
            writer.EnsureClosed();
            var files = writer.Hasher.Files();
            var content = writer.Hasher.Result();

            await ForAllFailFastAsync(files, async (f, ct) =>
            {
                await UploadFileAsync(Path.Combine(staging, f.Name.Replace('/', Path.DirectorySeparatorChar)), dataPrefix + f.Name,
                    ContentHasher.Format(f.Hash), ct).ConfigureAwait(false);
                uploaded.Add(dataPrefix + f.Name);
            }, cancellationToken).ConfigureAwait(false);

            CommitMarker? previous;
            try
            {
                previous = await ReadMarkerAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (ArtifactException)
            {
                previous = null; // an unreadable marker is replaced; its generation is left to the orphan cleanup
            }
            if (BeforeCommit is { } hook) await hook(cancellationToken).ConfigureAwait(false);

            var marker = new CommitMarker(1, generation, content.Hash, content.Size,
                files.Select(f => new CommitFile(f.Name, f.Size, ContentHasher.Format(f.Hash))).ToArray());
            await PutBytesAsync(MarkerName_(name), JsonSerializer.SerializeToUtf8Bytes(marker, MarkerJson), "application/json",
                cancellationToken).ConfigureAwait(false);
            committed = true;

            await RemoveStaleGenerationsAsync(name, generation, previous?.Generation).ConfigureAwait(false);
            return content;
        }
        catch when (!committed)
        {
            await DeleteQuietlyAsync(uploaded).ConfigureAwait(false);
            throw;
        }
        finally
        {
            GcsStaging.Delete(staging);
        }
    }

    public override async Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = ObjectNameOf(path);
        for (var attempt = 1; ; attempt++)
        {
            var marker = await ReadMarkerAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new ArtifactException($"No artifact at '{path}' in {Root}.");
            var staging = GcsStaging.Create();
            try
            {
                await DownloadAsync(path, name, marker, staging, cancellationToken).ConfigureAwait(false);
                return new GcsArtifactReader(staging, marker.Files.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray());
            }
            catch (ObjectReplacedException e)
            {
                GcsStaging.Delete(staging);
                // A rewrite replaced the generation while we read it: read the new marker. The same marker means the
                // object was changed or removed behind the store's back.
                var now = await ReadMarkerAsync(name, cancellationToken).ConfigureAwait(false);
                if (now is null || now.Generation == marker.Generation || attempt >= 3)
                    throw new ArtifactException($"File '{e.File}' of artifact {UriOf(path)} changed or disappeared in the store while it was read, and " +
                        "its commit marker still names it: the object was replaced or removed behind the store's back.");
            }
            catch
            {
                GcsStaging.Delete(staging);
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
        var marker = await ReadMarkerAsync(ObjectNameOf(path), cancellationToken).ConfigureAwait(false);
        if (marker is null) return false;
        if (marker.Hash != contentHash)
            throw new ArtifactException(
                $"Artifact {UriOf(path)} does not match its recorded content hash (recorded {contentHash}, stored {marker.Hash}): it was rewritten or " +
                "changed in the store.");
        return true;
    }

    public override async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = ObjectNameOf(path);
        return await GetMetadataAsync(MarkerName_(name), null, cancellationToken).ConfigureAwait(false) is not null
            || await GetMetadataAsync(name, null, cancellationToken).ConfigureAwait(false) is not null;
    }

    public override async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = ObjectNameOf(path);
        // The marker first: from then on the artifact is absent, whatever happens to the rest.
        await DeleteObjectAsync(MarkerName_(name), cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        await foreach (var o in ListAsync(name + "/", cancellationToken).ConfigureAwait(false)) names.Add(o.Name);
        names.Add(name);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Settings.MaxConcurrency, CancellationToken = cancellationToken },
            async (n, ct) => await DeleteObjectAsync(n, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    public override async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var name = ObjectNameOf(path);
        await PutBytesAsync(name, content, "application/octet-stream", cancellationToken).ConfigureAwait(false);
    }

    public override async Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = ObjectNameOf(path);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await GetBytesAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectReplacedException) when (attempt < 3)
            {
                // rewritten between reading its metadata and its bytes: read again
            }
            catch (ObjectReplacedException)
            {
                throw new ArtifactException($"{UriOf(path)} kept changing while it was read.");
            }
        }
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    // ---- writing ----

    private async Task UploadFileAsync(string file, string objectName, string hash, CancellationToken ct)
    {
        var resource = new StorageObject
        {
            Bucket = Bucket,
            Name = objectName,
            ContentType = "application/octet-stream",
            Metadata = new Dictionary<string, string> { [HashMetadataKey] = hash },
        };
        await _retry.ExecuteAsync(async token =>
        {
            await using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            await _client.UploadObjectAsync(resource, input, new UploadObjectOptions { ChunkSize = Settings.PartSize }, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    private async Task PutBytesAsync(string objectName, ReadOnlyMemory<byte> content, string contentType, CancellationToken ct)
    {
        var resource = new StorageObject
        {
            Bucket = Bucket,
            Name = objectName,
            ContentType = contentType,
            Metadata = new Dictionary<string, string> { [HashMetadataKey] = ContentHasher.HashBytes(content.Span) },
        };
        var bytes = content.ToArray();
        await _retry.ExecuteAsync(async token =>
        {
            using var input = new MemoryStream(bytes, writable: false);
            await _client.UploadObjectAsync(resource, input, new UploadObjectOptions { ChunkSize = Settings.PartSize }, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    /// <summary>Removes the generation the new marker replaced, and generations of writers that died long ago.</summary>
    private async Task RemoveStaleGenerationsAsync(string name, string current, string? replaced)
    {
        try
        {
            var prefix = $"{name}/{MetaSegment}/";
            var stale = new List<string>();
            await foreach (var o in ListAsync(prefix, CancellationToken.None).ConfigureAwait(false))
            {
                var rest = o.Name[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0) continue; // the marker
                var generation = rest[..slash];
                if (generation == current) continue;
                // The object's age on the server's clock: the real one.
                var now = TimeProvider.System.GetUtcNow();
                var age = now - (o.UpdatedDateTimeOffset ?? now);
                if (generation == replaced || age > OrphanAge) stale.Add(o.Name);
            }
            await DeleteQuietlyAsync(stale).ConfigureAwait(false);
        }
        catch (GoogleApiException) { } // cleanup is best effort: the artifact is already published
        catch (HttpRequestException) { }
    }

    private async Task DeleteQuietlyAsync(IEnumerable<string> names)
    {
        try
        {
            await Parallel.ForEachAsync(names.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = Settings.MaxConcurrency },
                async (n, ct) => await DeleteObjectAsync(n, ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (GoogleApiException) { }
        catch (HttpRequestException) { }
    }

    private async Task DeleteObjectAsync(string objectName, CancellationToken ct)
    {
        try
        {
            await _retry.ExecuteAsync(async token => await _client.DeleteObjectAsync(Bucket, objectName, cancellationToken: token).ConfigureAwait(false), ct)
                .ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    // ---- reading ----

    private async Task<CommitMarker?> ReadMarkerAsync(string name, CancellationToken ct)
    {
        byte[]? bytes = null;
        for (var attempt = 1; attempt <= 3 && bytes is null; attempt++)
        {
            try
            {
                bytes = await GetBytesAsync(MarkerName_(name), ct).ConfigureAwait(false);
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
            throw new ArtifactException($"The commit marker gs://{Bucket}/{MarkerName_(name)} is not readable: {e.Message}", e);
        }
    }

    private async Task DownloadAsync(string path, string name, CommitMarker marker, string staging, CancellationToken cancellationToken)
    {
        var uri = UriOf(path);
        var hasher = new ContentHasher();
        await ForAllFailFastAsync(marker.Files, async (file, ct) =>
        {
            var fileName = ArtifactPath.Normalize(file.Name);
            var local = Path.Combine(staging, fileName.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var objectName = GenerationPrefix(name, marker.Generation) + fileName;
            var head = await GetMetadataAsync(objectName, null, ct).ConfigureAwait(false) ?? throw new ObjectReplacedException(file.Name);
            head.Metadata ??= new Dictionary<string, string>();
            CheckObject(uri, file, head.Metadata.TryGetValue(HashMetadataKey, out var h) ? h : null, (long)(head.Size ?? 0));
            var hash = await DownloadRangesAsync(uri, file, objectName, head.Generation!.Value, local, ct).ConfigureAwait(false);
            var text = ContentHasher.Format(hash);
            if (text != file.Hash)
                throw new ArtifactException(
                    $"File '{file.Name}' of artifact {uri} does not match its recorded hash (recorded {file.Hash}, read {text}): the object was changed " +
                    "or corrupted in the store.");
            hasher.Add(fileName, hash, file.Size);
        }, cancellationToken).ConfigureAwait(false);
        var total = hasher.Result();
        if (total.Hash != marker.Hash || total.Size != marker.Size)
            throw new ArtifactException($"The files of artifact {uri} add up to {total.Hash} ({total.Size} bytes), but its commit marker records " +
                $"{marker.Hash} ({marker.Size} bytes).");
    }

    /// <summary>Downloads one object generation in ranges of the part size, in parallel, then hashes what is on disk.</summary>
    private async Task<byte[]> DownloadRangesAsync(string uri, CommitFile file, string objectName, long generation, string local, CancellationToken ct)
    {
        var partSize = (long)Settings.PartSize;
        var parts = Math.Max(1, (int)((file.Size + partSize - 1) / partSize));
        using (var handle = File.OpenHandle(local, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous,
            preallocationSize: file.Size))
        {
            if (file.Size > 0)
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, parts), new ParallelOptions { MaxDegreeOfParallelism = Settings.MaxConcurrency, CancellationToken = ct },
                    async (i, token) =>
                    {
                        var start = i * partSize;
                        var end = Math.Min(file.Size, start + partSize) - 1;
                        var bytes = await _retry.ExecuteAsync(async t =>
                        {
                            using var buffer = new MemoryStream((int)(end - start + 1));
                            try
                            {
                                // Pinned to one generation: a rewrite in between fails the read instead of mixing bytes.
                                await _client.DownloadObjectAsync(Bucket, objectName, buffer, new DownloadObjectOptions
                                {
                                    Generation = generation,
                                    Range = parts == 1 ? null : new RangeHeaderValue(start, end),
                                    DownloadValidationMode = DownloadValidationMode.Never, // the xxh128 check below covers the bytes
                                }, t).ConfigureAwait(false);
                            }
                            catch (GoogleApiException e) when (e.HttpStatusCode is HttpStatusCode.NotFound or HttpStatusCode.PreconditionFailed)
                            {
                                throw new ObjectReplacedException(file.Name);
                            }
                            return buffer.ToArray();
                        }, token).ConfigureAwait(false);
                        if (bytes.Length != end - start + 1)
                            throw new ArtifactException($"A read of '{file.Name}' of artifact {uri} returned {bytes.Length} bytes instead of {end - start + 1}.");
                        await RandomAccess.WriteAsync(handle, bytes, start, token).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
        }
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
    private async Task<byte[]?> GetBytesAsync(string objectName, CancellationToken ct)
    {
        var head = await GetMetadataAsync(objectName, null, ct).ConfigureAwait(false);
        if (head is null) return null;
        var content = await _retry.ExecuteAsync(async t =>
        {
            using var buffer = new MemoryStream();
            try
            {
                await _client.DownloadObjectAsync(Bucket, objectName, buffer, new DownloadObjectOptions { Generation = head.Generation }, t)
                    .ConfigureAwait(false);
            }
            catch (GoogleApiException e) when (e.HttpStatusCode is HttpStatusCode.NotFound or HttpStatusCode.PreconditionFailed)
            {
                throw new ObjectReplacedException(objectName);
            }
            return buffer.ToArray();
        }, ct).ConfigureAwait(false);
        string? recorded = null;
        head.Metadata?.TryGetValue(HashMetadataKey, out recorded);
        var actual = ContentHasher.HashBytes(content);
        if (recorded != actual)
            throw new ArtifactException(
                $"gs://{Bucket}/{objectName} does not match its recorded hash (recorded {recorded ?? "(none)"}, read {actual}): the object was changed or " +
                "corrupted in the store.");
        return content;
    }

    private async Task<StorageObject?> GetMetadataAsync(string objectName, long? generation, CancellationToken ct)
    {
        try
        {
            return await _retry.ExecuteAsync(async t => await _client.GetObjectAsync(Bucket, objectName,
                new GetObjectOptions { Generation = generation }, t).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async IAsyncEnumerable<StorageObject> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await _retry.ExecuteAsync(async t => await _client.ListObjectsAsync(Bucket, prefix, new ListObjectsOptions { PageToken = token })
                .ReadPageAsync(1000, t).ConfigureAwait(false), ct).ConfigureAwait(false);
            foreach (var o in page) yield return o;
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    /// <summary>Runs <paramref name="action"/> for every item, at most MaxConcurrency at once; the first failure stops the rest and is the one reported.</summary>
    private async Task ForAllFailFastAsync<T>(IEnumerable<T> items, Func<T, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(Settings.MaxConcurrency);
        var tasks = items.Select(async item =>
        {
            await gate.WaitAsync(failFast.Token).ConfigureAwait(false);
            try
            {
                await action(item, failFast.Token).ConfigureAwait(false);
            }
            catch
            {
                await failFast.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                ?? throw new InvalidOperationException("A transfer was cancelled.");
        }
    }

    /// <summary>An object of the generation being read disappeared or changed: a rewrite replaced it.</summary>
    private sealed class ObjectReplacedException(string file) : Exception($"'{file}' was replaced while it was read.")
    {
        public string File => file;
    }

    internal sealed record CommitMarker(int Format, string Generation, string Hash, long Size, IReadOnlyList<CommitFile> Files);

    internal sealed record CommitFile(string Name, long Size, string Hash);

    /// <summary>A downloaded and verified artifact in a staging directory, removed on dispose.</summary>
    private sealed class GcsArtifactReader(string directory, IReadOnlyList<string> files) : IArtifactReader
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
            GcsStaging.Delete(directory);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Private local directories for files on their way to or from the bucket.</summary>
internal static class GcsStaging
{
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "strata-gcs", Guid.NewGuid().ToString("n"));
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
