namespace Strata.Emulators.Gcp;

/// <summary>How the GCS emulator behaves: its port, the project it reports, and faults to inject.</summary>
public sealed class GcsEmulatorOptions
{
    /// <summary>The port on 127.0.0.1 to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>The project buckets belong to (reported as their projectNumber's owner; any project may create buckets).</summary>
    public string Project { get; set; } = "strata-emulator";

    /// <summary>Share of requests answered with 429 rateLimitExceeded, 0 to 1.</summary>
    public double ThrottleRate { get; set; }

    /// <summary>Share of requests answered with 503 backendError, 0 to 1.</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>Seed of the fault dice, for repeatable runs; null for a random seed.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>Called with every answered request (for a console log).</summary>
    public Action<GcsRequest>? OnRequest { get; set; }
}

/// <summary>One answered request: the JSON API operation it was taken for (e.g. <c>objects.insert/resumable</c>), and the status.</summary>
public sealed record GcsRequest(string Method, string Path, string Operation, int Status, string? Reason, DateTimeOffset At);
