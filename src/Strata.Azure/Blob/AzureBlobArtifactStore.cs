using Azure;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Strata.Azure;

/// <summary>
/// The <c>azure</c> artifact store: artifacts as blobs in an Azure Blob Storage container.
/// </summary>
/// <remarks>
/// <para>The layout, the commit marker and the checks on read are <see cref="ObjectStoreArtifactStore"/>'s, the same as the s3 and gcs
/// stores'. A file's hash travels in blob metadata as <see cref="MetadataName"/> (Azure metadata names are C# identifiers, so
/// <c>strata-xxh128</c> is spelled with an underscore). Files larger than one block go up as blocks staged in parallel and committed
/// as one block list; every ranged read of a file is pinned to one blob version by ETag.</para>
/// <para>Requests answered with 408, 429, a 5xx or a broken connection are retried by the client (exponential backoff). A missing
/// container, refused credentials and an unreachable endpoint are errors that say so in one line.</para>
/// </remarks>
public sealed class AzureBlobArtifactStore : ObjectStoreArtifactStore
{
    /// <summary>The blob metadata name holding a file's content hash.</summary>
    public const string MetadataName = "strata_xxh128";

    private readonly BlobContainerClient _container;

    /// <summary>Builds the store and its container client from the flavor's config.</summary>
    /// <exception cref="StrataConfigException">A bad path, endpoint, transfer setting, or conflicting or unusable credentials.</exception>
    public AzureBlobArtifactStore(AzureBlobArtifactStoreConfig config)
        : this(AzureBlobClientFactory.Create(config), AzureBlobClientFactory.TransferSettings(config))
    {
    }

    internal AzureBlobArtifactStore(BlobContainerClient container, AzureBlobTransferSettings settings)
        : base(settings.Location)
    {
        _container = container;
        Settings = settings;
    }

    internal AzureBlobTransferSettings Settings { get; }

    /// <summary>The container's URL (the account's endpoint and the container).</summary>
    public Uri ContainerUri => _container.Uri;

    protected override int MaxConcurrency => Settings.MaxConcurrency;

    protected override long PartSize => Settings.PartSize;

    private StorageTransferOptions Transfer => new()
    {
        InitialTransferSize = Settings.PartSize,
        MaximumTransferSize = Settings.PartSize,
        MaximumConcurrency = Settings.MaxConcurrency,
    };

    protected override async Task PutFileAsync(string key, string localFile, long size, string hash, CancellationToken cancellationToken)
    {
        var options = UploadOptions("application/octet-stream", hash);
        await Call(() => _container.GetBlobClient(key).UploadAsync(localFile, options, cancellationToken)).ConfigureAwait(false);
    }

    protected override async Task PutBytesAsync(string key, ReadOnlyMemory<byte> content, string contentType, string hash,
        CancellationToken cancellationToken)
    {
        var options = UploadOptions(contentType, hash);
        await Call(() => _container.GetBlobClient(key).UploadAsync(new BinaryData(content), options, cancellationToken)).ConfigureAwait(false);
    }

    private BlobUploadOptions UploadOptions(string contentType, string hash) => new()
    {
        HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
        Metadata = new Dictionary<string, string> { [MetadataName] = hash },
        TransferOptions = Transfer,
    };

    protected override async Task<StoredObject?> GetMetadataAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await Call(() => _container.GetBlobClient(key).GetPropertiesAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
            var p = properties.Value;
            return new StoredObject(key, p.ContentLength, HashOf(p.Metadata), p.ETag.ToString(), p.LastModified);
        }
        catch (RequestFailedException e) when (IsBlobNotFound(e))
        {
            return null;
        }
    }

    private static string? HashOf(IDictionary<string, string> metadata) =>
        metadata.FirstOrDefault(m => string.Equals(m.Key, MetadataName, StringComparison.OrdinalIgnoreCase)).Value;

    protected override async Task ReadAsync(StoredObject stored, long? start, long? end, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(destination);
        var options = new BlobDownloadOptions
        {
            Range = start is { } first && end is { } last ? new HttpRange(first, last - first + 1) : default,
            // Pinned to the version by ETag: a rewrite in between fails the read instead of mixing bytes.
            Conditions = stored.Version is { } v ? new BlobRequestConditions { IfMatch = new ETag(v) } : null,
        };
        try
        {
            var response = await Call(() => _container.GetBlobClient(stored.Key).DownloadStreamingAsync(options, cancellationToken))
                .ConfigureAwait(false);
            using var download = response.Value;
            await download.Content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (IsBlobNotFound(e) || e.Status == 412)
        {
            throw new ObjectReplacedException(stored.Key);
        }
    }

    protected override async IAsyncEnumerable<StoredObject> ListAsync(string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        try
        {
            while (await Call(async () => await pages.MoveNextAsync().ConfigureAwait(false)).ConfigureAwait(false))
                foreach (var b in pages.Current.Values)
                    yield return new StoredObject(b.Name, b.Properties.ContentLength ?? 0, null, null, b.Properties.LastModified);
        }
        finally
        {
            await pages.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override async Task DeleteObjectAsync(string key, CancellationToken cancellationToken) =>
        await Call(() => _container.GetBlobClient(key).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken))
            .ConfigureAwait(false);

    protected override bool IsStoreFailure(Exception exception) =>
        exception is RequestFailedException or AuthenticationFailedException
        || exception.InnerException is RequestFailedException or AuthenticationFailedException;

    /// <summary>A 404 for the blob itself (not for its container, which is an error of its own).</summary>
    private static bool IsBlobNotFound(RequestFailedException e) => e.Status == 404 && e.ErrorCode != BlobErrorCode.ContainerNotFound;

    /// <summary>Runs one request; what the user has to fix (container, credentials, endpoint) becomes an error saying so in one line.</summary>
    private async Task<T> Call<T>(Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            throw new StrataConfigException($"The container '{Bucket}' does not exist in storage account '{_container.AccountName}' ({_container.Uri}): " +
                $"create it (az storage container create --name {Bucket} --account-name {_container.AccountName}) or fix the store's path.", e);
        }
        catch (RequestFailedException e) when (e.Status is 401 or 403)
        {
            throw new StrataConfigException($"Storage account '{_container.AccountName}' refused the azure artifact store's credentials " +
                $"({e.Status} {e.ErrorCode}): check account_key, sas_token or connection_string, or give the signed-in identity the Storage Blob " +
                "Data Contributor role on the container.", e);
        }
        catch (RequestFailedException e) when (e.Status == 0)
        {
            throw new ArtifactException($"The blob endpoint {_container.Uri} cannot be reached: {AzureBlobClientFactory.FirstLine(e.Message)} " +
                "Check endpoint_url or account_name, and the network.", e);
        }
        catch (AuthenticationFailedException e)
        {
            throw new StrataConfigException("No usable Azure credentials for the azure artifact store: DefaultAzureCredential found none " +
                $"({AzureBlobClientFactory.FirstLine(e.Message)}). Sign in with `az login`, set AZURE_TENANT_ID, AZURE_CLIENT_ID and " +
                "AZURE_CLIENT_SECRET, run with a managed identity, or give account_key, sas_token or connection_string.", e);
        }
    }
}
