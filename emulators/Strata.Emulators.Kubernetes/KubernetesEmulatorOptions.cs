namespace Strata.Emulators.Kubernetes;

/// <summary>How a <see cref="KubernetesEmulator"/> listens, runs pods and misbehaves.</summary>
public sealed class KubernetesEmulatorOptions
{
    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>The bearer token callers must send; null generates one at start.</summary>
    public string? Token { get; set; }

    /// <summary>Where the kubeconfig is written; null: kubeconfig in the work directory.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>The context (and cluster and user) name in the kubeconfig.</summary>
    public string ContextName { get; set; } = "strata-emulator";

    /// <summary>Where pod files go; null: a temporary directory removed at dispose.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>The podman command that runs pods.</summary>
    public string PodmanCommand { get; set; } = "podman";

    /// <summary>Environment for podman (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF ...).</summary>
    public Dictionary<string, string> PodmanEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Arguments added to <c>podman kube play</c> (by default the host network, so pods reach loopback servers).</summary>
    public List<string> PodmanPlayArguments { get; } = ["--network", "host"];

    /// <summary>The one node's name.</summary>
    public string NodeName { get; set; } = "strata-node";

    /// <summary>The node's allocatable resources, as Kubernetes quantities; a pod whose requests do not fit stays Pending (Unschedulable).</summary>
    public Dictionary<string, string> NodeCapacity { get; } = new(StringComparer.Ordinal)
    {
        ["cpu"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["memory"] = "16Gi",
        ["pods"] = "110",
        ["nvidia.com/gpu"] = "0",
    };

    /// <summary>How often pod states are read from podman.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Delay before a failed image pull is retried (ImagePullBackOff in between).</summary>
    public TimeSpan ImagePullBackOff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of resource requests (not discovery) answered 429 TooManyRequests with Retry-After; may change while running.</summary>
    public double ThrottleRate { get; set; }

    /// <summary>Share of resource requests answered 500 InternalError; may change while running.</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>
    /// At most this many injected faults in a row for one method and path; the next such request is answered. A test of retries sets
    /// it below the client's retry budget, so the faults stay random but cannot outlast the retries by chance. Null: no limit.
    /// </summary>
    public int? MaxFaultsInARow { get; set; }

    /// <summary>Seconds in Retry-After of a 429.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Watches are cut (connection aborted, no final event) after this long; null: never.</summary>
    public TimeSpan? DropWatchesAfter { get; set; }

    /// <summary>Followed log streams are cut after this many lines; null: never.</summary>
    public int? DropLogStreamsAfterLines { get; set; }

    /// <summary>Seed for fault injection, for reproducible runs.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>Called after each request is answered.</summary>
    public Action<KubernetesRequest>? OnRequest { get; set; }
}

/// <summary>One answered request, for tests and the host's request log.</summary>
public sealed record KubernetesRequest(DateTimeOffset At, string Method, string Path, string Query, int Status, string? Reason, string Body);
