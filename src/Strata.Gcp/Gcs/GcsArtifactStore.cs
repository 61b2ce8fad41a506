using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
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
/// <para>The layout, the commit marker and the checks on read are <see cref="ObjectStoreArtifactStore"/>'s, the same as the s3
/// store's; a file's hash travels in custom metadata (strata-xxh128). This adapter uploads with resumable uploads in chunks of
/// <c>part_size_mb</c>, and pins every ranged read of a file to one object generation.</para>
/// <para>Every request answered with 429, a 5xx or a broken connection is retried with exponential backoff.</para>
/// </remarks>
public sealed class GcsArtifactStore : ObjectStoreArtifactStore, IDisposable
{
    private readonly StorageClient _client;
    private readonly bool _ownsClient;
    private readonly ResiliencePipeline _retry;

    /// <summary>Builds the store and its storage client from the flavor's config.</summary>
    /// <exception cref="StrataConfigException">A bad path, endpoint, part size or credential setting.</exception>
    public GcsArtifactStore(GcsArtifactStoreConfig config)
        : this(GcsClientFactory.Create(config), GcsClientFactory.TransferSettings(config), ownsClient: true, TimeProvider.System)
    {
    }

    internal GcsArtifactStore(StorageClient client, GcsTransferSettings settings, bool ownsClient, TimeProvider time)
        : base(settings.Location)
    {
        _client = client;
        _ownsClient = ownsClient;
        Settings = settings;
        _retry = settings.MaxRetries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<GoogleApiException>(IsRetryable).Handle<HttpRequestException>(),
                    MaxRetryAttempts = settings.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(100),
                    MaxDelay = TimeSpan.FromSeconds(10),
                })
                .Build();
    }

    internal GcsTransferSettings Settings { get; }

    protected override int MaxConcurrency => Settings.MaxConcurrency;

    protected override long PartSize => Settings.PartSize;

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    private static bool IsRetryable(GoogleApiException e) =>
        e.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)e.HttpStatusCode >= 500;

    protected override async Task PutFileAsync(string key, string localFile, long size, string hash, CancellationToken cancellationToken)
    {
        var resource = Resource(key, "application/octet-stream", hash);
        await _retry.ExecuteAsync(async token =>
        {
            await using var input = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            await _client.UploadObjectAsync(resource, input, new UploadObjectOptions { ChunkSize = Settings.PartSize }, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task PutBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, string hash,
        CancellationToken cancellationToken)
    {
        var resource = Resource(key, contentType, hash);
        var bytes = content.ToArray();
        await _retry.ExecuteAsync(async token =>
        {
            using var input = new MemoryStream(bytes, writable: false);
            await _client.UploadObjectAsync(resource, input, new UploadObjectOptions { ChunkSize = Settings.PartSize }, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private StorageObject Resource(string key, string contentType, string hash) => new()
    {
        Bucket = Bucket,
        Name = key,
        ContentType = contentType,
        Metadata = new Dictionary<string, string> { [HashMetadataKey] = hash },
    };

    protected override async Task<StoredObject?> GetMetadataAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var o = await _retry.ExecuteAsync(async t => await _client.GetObjectAsync(Bucket, key, cancellationToken: t).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            return Stored(o);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static StoredObject Stored(StorageObject o) =>
        new(o.Name, (long)(o.Size ?? 0), o.Metadata is { } m && m.TryGetValue(HashMetadataKey, out var h) ? h : null,
            o.Generation?.ToString(CultureInfo.InvariantCulture), o.UpdatedDateTimeOffset);

    protected override async Task ReadAsync(StoredObject stored, long? start, long? end, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(destination);
        var options = new DownloadObjectOptions
        {
            // Pinned to one generation: a rewrite in between fails the read instead of mixing bytes.
            Generation = stored.Version is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : null,
            Range = start is { } s && end is { } e ? new RangeHeaderValue(s, e) : null,
            // the xxh128 checks cover the bytes
            DownloadValidationMode = DownloadValidationMode.Never,
        };
        var bytes = await _retry.ExecuteAsync(async t =>
        {
            using var buffer = new MemoryStream();
            try
            {
                await _client.DownloadObjectAsync(Bucket, stored.Key, buffer, options, t).ConfigureAwait(false);
            }
            catch (GoogleApiException e) when (e.HttpStatusCode is HttpStatusCode.NotFound or HttpStatusCode.PreconditionFailed)
            {
                throw new ObjectReplacedException(stored.Key);
            }
            return buffer.ToArray();
        }, cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    protected override async IAsyncEnumerable<StoredObject> ListAsync(string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await _retry.ExecuteAsync(async t => await _client.ListObjectsAsync(Bucket, prefix, new ListObjectsOptions { PageToken = token })
                .ReadPageAsync(1000, t).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            foreach (var o in page) yield return Stored(o);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    protected override async Task DeleteObjectAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _retry.ExecuteAsync(async t => await _client.DeleteObjectAsync(Bucket, key, cancellationToken: t).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    protected override bool IsStoreFailure(Exception exception) => exception is GoogleApiException or HttpRequestException;
}
