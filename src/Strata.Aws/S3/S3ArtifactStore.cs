using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Strata.Aws;

/// <summary>
/// The <c>s3</c> artifact store: artifacts as objects in a bucket (AWS S3 or an S3-compatible store).
/// </summary>
/// <remarks>
/// <para>The layout, the commit marker and the checks on read are <see cref="ObjectStoreArtifactStore"/>'s; a file's hash travels
/// as <c>x-amz-meta-strata-xxh128</c>. This adapter uploads files larger than one part as multipart uploads, parts in parallel,
/// and pins every ranged read of a file to one object version by ETag.</para>
/// <para>Plain files (<see cref="ArtifactStore.WriteFileAsync"/>) are single objects at their key, also carrying their hash.</para>
/// </remarks>
public sealed class S3ArtifactStore : ObjectStoreArtifactStore, IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly bool _ownsClient;
    /// <summary>Multipart parts of every file being uploaded share the store's concurrency limit.</summary>
    private readonly SemaphoreSlim _parts;

    /// <summary>Builds the store and its S3 client from the flavor's config.</summary>
    /// <exception cref="StrataConfigException">A bad path, region, endpoint, part size or credential setting.</exception>
    public S3ArtifactStore(S3ArtifactStoreConfig config)
        : this(S3ClientFactory.Create(config), S3ClientFactory.TransferSettings(config), ownsClient: true)
    {
    }

    internal S3ArtifactStore(IAmazonS3 client, S3TransferSettings settings, bool ownsClient)
        : base(settings.Location)
    {
        _s3 = client;
        _ownsClient = ownsClient;
        Settings = settings;
        _parts = new SemaphoreSlim(settings.MaxConcurrency);
    }

    internal S3TransferSettings Settings { get; }

    protected override int MaxConcurrency => Settings.MaxConcurrency;

    protected override long PartSize => Settings.PartSize;

    public void Dispose()
    {
        if (_ownsClient) _s3.Dispose();
        _parts.Dispose();
    }

    protected override async Task PutFileAsync(string key, string localFile, long size, string hash, CancellationToken cancellationToken)
    {
        if (size <= Settings.PartSize)
        {
            var request = new PutObjectRequest { BucketName = Bucket, Key = key, FilePath = localFile, UseChunkEncoding = Settings.UseChunkEncoding };
            request.Metadata[HashMetadataKey] = hash;
            await _s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return;
        }

        var init = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = key };
        init.Metadata[HashMetadataKey] = hash;
        var upload = await _s3.InitiateMultipartUploadAsync(init, cancellationToken).ConfigureAwait(false);
        try
        {
            var partCount = (int)((size + Settings.PartSize - 1) / Settings.PartSize);
            var parts = new PartETag[partCount];
            await Parallel.ForEachAsync(Enumerable.Range(1, partCount),
                new ParallelOptions { MaxDegreeOfParallelism = Settings.MaxConcurrency, CancellationToken = cancellationToken }, async (number, ct) =>
                {
                    var offset = (number - 1) * Settings.PartSize;
                    await _parts.WaitAsync(ct).ConfigureAwait(false);
                    UploadPartResponse response;
                    try
                    {
                        response = await _s3.UploadPartAsync(new UploadPartRequest
                        {
                            BucketName = Bucket,
                            Key = key,
                            UploadId = upload.UploadId,
                            PartNumber = number,
                            FilePath = localFile,
                            FilePosition = offset,
                            PartSize = Math.Min(Settings.PartSize, size - offset),
                            IsLastPart = number == partCount,
                            UseChunkEncoding = Settings.UseChunkEncoding,
                        }, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        _parts.Release();
                    }
                    parts[number - 1] = new PartETag(number, response.ETag);
                }).ConfigureAwait(false);
            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartETags = parts.ToList(),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = upload.UploadId },
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsStoreFailure(e)) { } // the store drops abandoned uploads itself (lifecycle rules)
            throw;
        }
    }

    protected override async Task PutBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, string hash,
        CancellationToken cancellationToken)
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
        request.Metadata[HashMetadataKey] = hash;
        await _s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<StoredObject?> GetMetadataAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, cancellationToken)
                .ConfigureAwait(false);
            return new StoredObject(key, head.ContentLength, head.Metadata[HashMetadataKey], head.ETag, head.LastModified?.ToUniversalTime());
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    protected override async Task ReadAsync(StoredObject stored, long? start, long? end, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            // Pinned to the version by ETag: a rewrite in between fails the read instead of mixing bytes.
            using var response = await _s3.GetObjectAsync(new GetObjectRequest
            {
                BucketName = Bucket,
                Key = stored.Key,
                ByteRange = start is { } s && end is { } e ? new ByteRange(s, e) : null,
                EtagToMatch = stored.Version,
            }, cancellationToken).ConfigureAwait(false);
            await response.ResponseStream.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectReplacedException(stored.Key);
        }
    }

    protected override async IAsyncEnumerable<StoredObject> ListAsync(string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, ContinuationToken = token },
                cancellationToken).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
                yield return new StoredObject(o.Key, o.Size ?? 0, null, null, o.LastModified?.ToUniversalTime());
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    protected override async Task DeleteObjectAsync(string key, CancellationToken cancellationToken) =>
        await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, cancellationToken).ConfigureAwait(false);

    protected override bool IsStoreFailure(Exception exception) => exception is AmazonServiceException or AmazonClientException;
}
