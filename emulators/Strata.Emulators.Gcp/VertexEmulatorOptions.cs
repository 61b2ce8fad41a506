using Strata.Emulators.Jobs;

namespace Strata.Emulators.Gcp;

/// <summary>
/// How the Google Cloud emulator behaves (Cloud Storage, Vertex AI custom jobs, Cloud Logging and the OAuth token endpoint
/// on one endpoint): who may call it, which images its jobs can run, and faults to inject.
/// </summary>
public sealed class VertexEmulatorOptions
{
    /// <summary>The port on 127.0.0.1 to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>The project of buckets, and the one printed in instructions (jobs may be created in any project).</summary>
    public string Project { get; set; } = "strata-emulator";

    /// <summary>
    /// Whether Vertex AI and Cloud Logging calls need a bearer token the token endpoint issued for a correctly signed
    /// service-account JWT (a key from <see cref="VertexEmulator.CreateServiceAccountKey"/>). Off for clients run with
    /// credentials disabled (gcloud's <c>auth/disable_credentials</c>). Storage never asks.
    /// </summary>
    public bool RequireAuthentication { get; set; } = true;

    /// <summary>Images jobs can run as local commands, by the exact imageUri.</summary>
    public Dictionary<string, EmulatedImage> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How images not in <see cref="Images"/> run for real: a container runner's command line, e.g. <c>podman run --rm --network host
    /// --init</c>. Null: a job with such an image fails as Vertex fails one whose image cannot be pulled.
    /// </summary>
    public IReadOnlyList<string>? ContainerRunner { get; set; }

    /// <summary>The environment of the container runner process itself (e.g. its config files), not passed to the container.</summary>
    public Dictionary<string, string> ContainerRunnerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>What every job's process gets in its environment: what the job's service account gives a real job.</summary>
    public Dictionary<string, string> JobEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Machine types for which there is no capacity: jobs asking for one stay JOB_STATE_PENDING with a stockout message.</summary>
    public HashSet<string> UnavailableMachineTypes { get; } = new(StringComparer.Ordinal);

    /// <summary>Share of requests answered with 429 RESOURCE_EXHAUSTED, 0 to 1 (not the token endpoint).</summary>
    public double ThrottleRate { get; set; }

    /// <summary>Share of requests answered with 503 UNAVAILABLE, 0 to 1 (not the token endpoint).</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>
    /// Vertex AI methods (e.g. <c>CreateCustomJob</c>) whose next successful answer is lost: the call takes effect, but the caller
    /// gets a 503, as when a response never arrives. Each name is taken out when used.
    /// </summary>
    public HashSet<string> LoseNextResponse { get; } = new(StringComparer.Ordinal);

    /// <summary>Seed of the fault dice, for repeatable runs; null for a random seed.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>How long a job stays JOB_STATE_QUEUED, and JOB_STATE_PENDING.</summary>
    public TimeSpan PhaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a cancelled job's process has after SIGTERM before SIGKILL.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where job directories go; default: a new temp directory, removed on dispose.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>Whether job processes start with this process's environment (PATH, HOME, DOTNET_ROOT, ...) under the job's own.</summary>
    public bool InheritEnvironment { get; set; } = true;

    /// <summary>protobuf.js' protos.json of <c>@google-cloud/aiplatform</c> to check requests against; default: the CustomJob part shipped here.</summary>
    public string? ProtosPath { get; set; }

    /// <summary>The clock of jobs (phases, scheduling.timeout) and log entries.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Called with every answered request (all APIs), e.g. for a console log.</summary>
    public Action<GcsRequest>? OnRequest { get; set; }
}

/// <summary>A Vertex AI, Cloud Logging or token request as received: the operation, the answer's status, and the body as sent.</summary>
public sealed record GcpRequestBody(string Operation, string Path, int Status, string Body, DateTimeOffset At);
