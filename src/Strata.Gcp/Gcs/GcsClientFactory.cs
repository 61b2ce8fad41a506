using Google.Apis.Auth.OAuth2;
using Google.Apis.Http;
using Google.Apis.Util;
using Google.Apis.Storage.v1;
using Google.Cloud.Storage.V1;

namespace Strata.Gcp;

/// <summary>How the store moves data: where, chunk size, parallelism, retries.</summary>
internal sealed record GcsTransferSettings(ObjectStoreLocation Location, int PartSize, int MaxConcurrency, int MaxRetries);

/// <summary>Builds the storage client of a <see cref="GcsArtifactStoreConfig"/>, applying the documented credential order.</summary>
internal static class GcsClientFactory
{
    public const int MaxPartSizeMb = 1024;

    public static StorageClient Create(GcsArtifactStoreConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _ = TransferSettings(config); // validates the rest before credentials are looked up
        var builder = new StorageClientBuilder();
        var custom = !string.IsNullOrWhiteSpace(config.EndpointUrl);
        if (custom)
        {
            if (!Uri.TryCreate(config.EndpointUrl!.Trim(), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                throw new StrataConfigException($"endpoint_url '{config.EndpointUrl}' is not an http:// or https:// URL.");
            builder.BaseUri = new Uri(new Uri(endpoint.GetLeftPart(UriPartial.Authority) + "/"), "storage/v1/").ToString();
        }
        if (!string.IsNullOrWhiteSpace(config.CredentialsJson))
        {
            if (!LooksLikeKey(config.CredentialsJson))
                throw new StrataConfigException("credentials_json is not a service-account key's JSON (an object with \"type\").");
            builder.GoogleCredential = Key(() => CredentialFactory.FromJson<ServiceAccountCredential>(config.CredentialsJson), "credentials_json");
        }
        else if (!string.IsNullOrWhiteSpace(config.CredentialsFile))
        {
            var file = Path.GetFullPath(Environment.ExpandEnvironmentVariables(config.CredentialsFile.Trim()));
            if (!File.Exists(file))
                throw new StrataConfigException($"credentials_file '{config.CredentialsFile}' does not exist.");
            builder.GoogleCredential = Key(() => CredentialFactory.FromFile<ServiceAccountCredential>(file), $"credentials_file '{config.CredentialsFile}'");
        }
        else if (custom)
        {
            builder.UnauthenticatedAccess = true; // an emulator: no Application Default Credentials lookup
        }
        if (!string.IsNullOrWhiteSpace(config.Project)) builder.QuotaProject = config.Project.Trim();
        StorageClient client;
        try
        {
            client = builder.Build();
        }
        catch (InvalidOperationException e)
        {
            throw new StrataConfigException($"No Google Cloud credentials for the gcs artifact store: {e.Message} Set credentials_file or " +
                "credentials_json, or GOOGLE_APPLICATION_CREDENTIALS.", e);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            throw new StrataConfigException($"The Google Cloud credentials of the gcs artifact store are not usable: {e.Message}", e);
        }
        AddRetries(client, config.MaxRetries);
        return client;
    }

    /// <summary>
    /// Retries every HTTP request answered with 408, 429 or a 5xx, or broken off, with exponential backoff — each chunk of a
    /// resumable upload on its own, so a throttled chunk does not restart the whole file (the store's own retry, around
    /// whole operations, is the second line).
    /// </summary>
    internal static void AddRetries(StorageClient client, int maxRetries)
    {
        if (maxRetries <= 0) return;
        var handler = client.Service.HttpClient.MessageHandler;
        var backOff = new BackOffHandler(new BackOffHandler.Initializer(new ExponentialBackOff(TimeSpan.FromMilliseconds(100), maxRetries))
        {
            HandleUnsuccessfulResponseFunc = r => (int)r.StatusCode is 408 or 429 or >= 500,
            MaxTimeSpan = TimeSpan.FromSeconds(16),
        });
        handler.AddUnsuccessfulResponseHandler(backOff);
        handler.AddExceptionHandler(backOff);
        handler.NumTries = Math.Max(handler.NumTries, maxRetries + 1);
    }

    /// <summary>Only service-account keys are taken from config: other credential types in a key file can make the client call URLs the file names.</summary>
    private static GoogleCredential Key(Func<ServiceAccountCredential> load, string what)
    {
        try
        {
            return load().ToGoogleCredential().CreateScoped(StorageService.Scope.DevstorageReadWrite);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or Newtonsoft.Json.JsonException)
        {
            throw new StrataConfigException($"{what} is not a usable service-account key: {e.Message}", e);
        }
    }

    private static bool LooksLikeKey(string json)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("type", out _);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    public static GcsTransferSettings TransferSettings(GcsArtifactStoreConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PartSizeMb is < 1 or > MaxPartSizeMb)
            throw new StrataConfigException($"part_size_mb must be between 1 and {MaxPartSizeMb}; it is {config.PartSizeMb}.");
        if (config.MaxConcurrency is < 1 or > 64)
            throw new StrataConfigException($"max_concurrency must be between 1 and 64; it is {config.MaxConcurrency}.");
        if (config.MaxRetries is < 0 or > 20)
            throw new StrataConfigException($"max_retries must be between 0 and 20; it is {config.MaxRetries}.");
        // Resumable chunks are multiples of 256 KiB; a MiB always is.
        return new GcsTransferSettings(GcsLocation.Parse(config.Path), config.PartSizeMb * 1024 * 1024, config.MaxConcurrency, config.MaxRetries);
    }
}
