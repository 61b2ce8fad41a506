using System.ComponentModel;

namespace Strata.Gcp;

/// <summary>
/// Config of the <c>gcs</c> artifact store. Credentials come from, in order: <see cref="CredentialsJson"/> (a secret
/// reference holding a service-account key's JSON), <see cref="CredentialsFile"/> (a key file's path), then
/// Application Default Credentials (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, gcloud's application-default login, or the
/// metadata server). With <see cref="EndpointUrl"/> and neither key, requests are sent unauthenticated (emulators).
/// </summary>
public sealed class GcsArtifactStoreConfig
{
    [Description("Root of the artifacts: gs://bucket or gs://bucket/prefix.")]
    public required string Path { get; set; }

    [Description("Google Cloud project (billed for requests when the bucket is requester-pays); default: the credentials' project.")]
    public string? Project { get; set; }

    [Description("Path of a service-account key file (JSON); default: Application Default Credentials.")]
    public string? CredentialsFile { get; set; }

    [Description("A service-account key's JSON; give it as a secret reference such as {{gcp.key_json}}.")]
    [Secret]
    public string? CredentialsJson { get; set; }

    [Description("Endpoint of a Cloud Storage JSON API emulator (e.g. http://127.0.0.1:4443); default: https://storage.googleapis.com. Without " +
        "credentials, requests to it are unauthenticated.")]
    public string? EndpointUrl { get; set; }

    [Description("Chunk size in MiB of resumable uploads and of ranged parallel downloads; larger files move in several chunks.")]
    public int PartSizeMb { get; set; } = 8;

    [Description("How many files or download ranges move at once.")]
    public int MaxConcurrency { get; set; } = 4;

    [Description("How many times a request answered with 429, 5xx or a broken connection is retried (with exponential backoff).")]
    public int MaxRetries { get; set; } = 8;
}
