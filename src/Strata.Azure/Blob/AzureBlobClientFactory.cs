using System.Net;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace Strata.Azure;

/// <summary>How the store moves data: where, block and range size, parallelism.</summary>
internal sealed record AzureBlobTransferSettings(ObjectStoreLocation Location, long PartSize, int MaxConcurrency, int MaxRetries);

/// <summary>Builds the container client of an <see cref="AzureBlobArtifactStoreConfig"/>, applying the documented credential choice.</summary>
internal static class AzureBlobClientFactory
{
    public const int MaxPartSizeMb = 4000; // Azure's largest block

    /// <summary>The Azure CLI's variables for a storage key and a SAS, read when the config has neither (a job gets no secret fields).</summary>
    public const string KeyVariable = "AZURE_STORAGE_KEY";
    public const string SasVariable = "AZURE_STORAGE_SAS_TOKEN";

    /// <summary>The container client; <paramref name="policy"/>, when given, sees every request (tests count them).</summary>
    /// <exception cref="StrataConfigException">A bad path, endpoint, transfer setting, or conflicting or unusable credentials.</exception>
    public static BlobContainerClient Create(AzureBlobArtifactStoreConfig config, HttpPipelinePolicy? policy = null) =>
        Create(config, policy, Environment.GetEnvironmentVariable);

    internal static BlobContainerClient Create(AzureBlobArtifactStoreConfig config, HttpPipelinePolicy? policy, Func<string, string?> environment)
    {
        var settings = TransferSettings(config); // validates the rest before credentials are looked at
        var options = new BlobClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = settings.MaxRetries;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        if (policy is not null) options.AddPolicy(policy, HttpPipelinePosition.PerRetry);
        var container = settings.Location.Bucket;

        var connectionString = Given(config.ConnectionString);
        var key = Given(config.AccountKey);
        var sas = Given(config.SasToken);
        if (connectionString is not null)
        {
            if (key is not null || sas is not null || Given(config.AccountName) is not null || Given(config.EndpointUrl) is not null)
                throw new StrataConfigException("connection_string names the account, its endpoint and its credentials: give it alone, without " +
                    "account_name, endpoint_url, account_key or sas_token.");
            try
            {
                return new BlobContainerClient(connectionString, container, options);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new StrataConfigException($"connection_string is not a usable Azure Storage connection string: {FirstLine(e.Message)}", e);
            }
        }
        if (key is not null && sas is not null)
            throw new StrataConfigException("account_key and sas_token are two ways to sign the same requests: give one of them.");
        var keySource = "account_key";
        if (key is null && sas is null)
        {
            // A step operator's job gets the store's config without its secrets: it may bring a key or SAS in its environment.
            key = Given(environment(KeyVariable));
            sas = key is null ? Given(environment(SasVariable)) : null;
            keySource = KeyVariable;
        }

        var service = ServiceUri(config);
        var containerUri = new Uri(service.AbsoluteUri.TrimEnd('/') + "/" + container);
        if (key is not null)
        {
            var account = Given(config.AccountName) ?? new BlobUriBuilder(service).AccountName;
            if (string.IsNullOrEmpty(account))
                throw new StrataConfigException($"{keySource} needs account_name: the key signs requests in the account's name.");
            try
            {
                _ = Convert.FromBase64String(key);
            }
            catch (FormatException e)
            {
                throw new StrataConfigException($"{keySource} is not a storage account key (the base64 text the portal shows under Access keys).", e);
            }
            return new BlobContainerClient(containerUri, new StorageSharedKeyCredential(account, key), options);
        }
        if (sas is not null)
            return new BlobContainerClient(containerUri, new AzureSasCredential(sas.TrimStart('?')), options);
        if (service.Scheme != Uri.UriSchemeHttps)
            throw new StrataConfigException($"endpoint_url '{config.EndpointUrl}' is plain http, and Azure AD tokens (DefaultAzureCredential) are only " +
                "sent over https: give account_key, sas_token or connection_string (Azurite: its well-known devstoreaccount1 key), or set " +
                $"{KeyVariable} or {SasVariable}.");
        return new BlobContainerClient(containerUri, new DefaultAzureCredential(), options);
    }

    /// <summary>The blob service endpoint: <c>endpoint_url</c> (an IP one gets <c>/account_name</c>), else the account's public endpoint.</summary>
    private static Uri ServiceUri(AzureBlobArtifactStoreConfig config)
    {
        var account = Given(config.AccountName);
        if (account is not null && !IsAccountName(account))
            throw new StrataConfigException($"account_name '{account}' is not a storage account name: 3-24 lowercase letters and digits.");
        if (Given(config.EndpointUrl) is { } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https") || endpoint.Query.Length > 0)
                throw new StrataConfigException($"endpoint_url '{config.EndpointUrl}' is not an http:// or https:// URL of a blob service.");
            // Azurite and other IP endpoints address the account in the path (http://127.0.0.1:10000/devstoreaccount1).
            if (account is not null && endpoint.AbsolutePath == "/" && (IPAddress.TryParse(endpoint.Host, out _) || endpoint.IsLoopback))
                return new Uri(endpoint, account);
            return endpoint;
        }
        return account is null
            ? throw new StrataConfigException("The azure artifact store needs account_name (or endpoint_url, or connection_string) to know the " +
                "storage account.")
            : new Uri($"https://{account}.blob.core.windows.net/");
    }

    private static bool IsAccountName(string name) => name.Length is >= 3 and <= 24 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'));

    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The first line of an SDK message (Azure's carry the status, error code and headers on the lines after).</summary>
    internal static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');

    public static AzureBlobTransferSettings TransferSettings(AzureBlobArtifactStoreConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PartSizeMb is < 1 or > MaxPartSizeMb)
            throw new StrataConfigException($"part_size_mb must be between 1 and {MaxPartSizeMb} (Azure's largest block); it is {config.PartSizeMb}.");
        if (config.MaxConcurrency is < 1 or > 64)
            throw new StrataConfigException($"max_concurrency must be between 1 and 64; it is {config.MaxConcurrency}.");
        if (config.MaxRetries is < 0 or > 20)
            throw new StrataConfigException($"max_retries must be between 0 and 20; it is {config.MaxRetries}.");
        return new AzureBlobTransferSettings(AzureBlobLocation.Parse(config.Path), config.PartSizeMb * 1024L * 1024L, config.MaxConcurrency,
            config.MaxRetries);
    }
}
