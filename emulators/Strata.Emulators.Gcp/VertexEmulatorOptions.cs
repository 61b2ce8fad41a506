using Strata.Emulators.Jobs;

namespace Strata.Emulators.Gcp;

/// <summary>
/// How the Google Cloud emulator behaves (Cloud Storage, Vertex AI custom jobs, Cloud Logging and the OAuth token endpoint
/// on one endpoint): who may call it, which images its jobs can run, and faults to inject.
/// </summary>
public sealed class VertexEmulatorOptions : JobEmulatorOptions
{
    /// <summary>The project of buckets, and the one printed in instructions (jobs may be created in any project).</summary>
    public string Project { get; set; } = "strata-emulator";

    /// <summary>
    /// Whether Vertex AI and Cloud Logging calls need a bearer token the token endpoint issued for a correctly signed
    /// service-account JWT (a key from <see cref="VertexEmulator.CreateServiceAccountKey"/>). Off for clients run with
    /// credentials disabled (gcloud's <c>auth/disable_credentials</c>). Storage never asks.
    /// </summary>
    public bool RequireAuthentication { get; set; } = true;

    /// <summary>What every job's process gets in its environment: what the job's service account gives a real job.</summary>
    public Dictionary<string, string> JobEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Machine types for which there is no capacity: jobs asking for one stay JOB_STATE_PENDING with a stockout message.</summary>
    public HashSet<string> UnavailableMachineTypes { get; } = new(StringComparer.Ordinal);

    /// <summary>protobuf.js' protos.json of <c>@google-cloud/aiplatform</c> to check requests against; default: the CustomJob part shipped here.</summary>
    public string? ProtosPath { get; set; }

    /// <summary>Called with every answered request (all APIs), e.g. for a console log.</summary>
    public Action<GcsRequest>? OnRequest { get; set; }
}

/// <summary>A Vertex AI, Cloud Logging or token request as received: the operation, the answer's status, and the body as sent.</summary>
public sealed record GcpRequestBody(string Operation, string Path, int Status, string Body, DateTimeOffset At);
