using Strata.Emulators.Jobs;

namespace Strata.Emulators.Aws;

/// <summary>How the emulator behaves: region and account, who may call it, which images it can run, and faults to inject.</summary>
public sealed class SageMakerEmulatorOptions
{
    public string Region { get; set; } = "us-east-1";

    public string AccountId { get; set; } = "123456789012";

    /// <summary>The port on 127.0.0.1 to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Access key id → secret access key of the callers whose signatures are accepted.</summary>
    public Dictionary<string, string> Credentials { get; } = new(StringComparer.Ordinal);

    /// <summary>botocore's data directory, holding <c>sagemaker/2017-07-24/service-2.json</c> and <c>logs/2014-03-28/service-2.json</c>.</summary>
    public string BotocoreDataDirectory { get; set; } = "/usr/lib/python3/dist-packages/botocore/data";

    /// <summary>
    /// Training images the emulator can "pull", by the exact TrainingImage string: what runs when a job names one.
    /// A job with an unknown image fails as SageMaker fails one whose image cannot be pulled.
    /// </summary>
    public Dictionary<string, EmulatedImage> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How images that are not in <see cref="Images"/> are run for real: a container runner's command line, e.g.
    /// <c>podman run --rm --network host --init</c>, to which the job's environment (as <c>-e NAME</c>), its entrypoint and the
    /// image with its arguments are added, so a job runs an image from a registry as SageMaker would pull it. Null: such a job
    /// fails as SageMaker fails one whose image cannot be pulled.
    /// </summary>
    public IReadOnlyList<string>? ContainerRunner { get; set; }

    /// <summary>The environment of the <see cref="ContainerRunner"/> process itself (e.g. its config files), not passed to the container.</summary>
    public Dictionary<string, string> ContainerRunnerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>What every container run by the <see cref="ContainerRunner"/> gets in its environment: what the execution role gives a real job.</summary>
    public Dictionary<string, string> ContainerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Share of requests answered with ThrottlingException (400), 0 to 1.</summary>
    public double ThrottleRate { get; set; }

    /// <summary>Share of requests answered with InternalFailure (500) or ServiceUnavailable (503), 0 to 1.</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>
    /// Operations whose next successful answer is lost: the operation takes effect, but the caller gets a 500, as when
    /// a response never arrives. Each name is taken out when used, so it happens once per name added.
    /// </summary>
    public HashSet<string> LoseNextResponse { get; } = new(StringComparer.Ordinal);

    /// <summary>Seed of the fault dice, for repeatable runs; null for a random seed.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>How long a job stays in each of Starting, Downloading and Uploading.</summary>
    public TimeSpan PhaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a stopped job's process has after SIGTERM before SIGKILL (SageMaker gives 120 s).</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How far a request's X-Amz-Date may be from now (AWS allows 5 minutes).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where job directories go (each stands in for the container's /opt/ml); default: a new temp directory, removed on dispose.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>Whether job processes start with this process's environment (PATH, HOME, DOTNET_ROOT, ...) under the job's own.</summary>
    public bool InheritEnvironment { get; set; } = true;

    /// <summary>
    /// Whether request members the model does not define are rejected. AWS tends to ignore them; rejecting them here
    /// catches a misspelt member that AWS would silently drop.
    /// </summary>
    public bool RejectUnknownMembers { get; set; } = true;

    /// <summary>Whether the emulator checks its own responses against the model's output shapes (a 500 if one does not fit).</summary>
    public bool ValidateResponses { get; set; } = true;

    /// <summary>The clock of jobs (phases, MaxRuntimeInSeconds, stop grace) and logs. Signatures are checked against the real clock, as AWS does.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Called with each request once answered (on the request's thread), e.g. to log it.</summary>
    public Action<EmulatorRequest>? OnRequest { get; set; }
}

/// <summary>An AWS error answer: HTTP status, error type and message.</summary>
public sealed class EmulatedAwsException(int status, string type, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
}

/// <summary>One request the emulator answered, for tests to inspect: what was asked, the answer's status and error type, and the request body as sent.</summary>
public sealed record EmulatorRequest(string Service, string Operation, int Status, string? ErrorType, DateTimeOffset At, string Body = "");
