namespace Strata.Emulators.Jobs;

/// <summary>
/// What every training-job emulator's options have: its port, the images its jobs can run and how, the pace of a job's phases,
/// faults to inject, and the clock.
/// </summary>
public abstract class JobEmulatorOptions
{
    /// <summary>The port on 127.0.0.1 to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Images jobs can "pull", by the exact image string, run as local commands. A job with another image runs it with the
    /// <see cref="ContainerRunner"/>, or fails as the cloud fails a job whose image cannot be pulled.
    /// </summary>
    public Dictionary<string, EmulatedImage> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How images that are not in <see cref="Images"/> are run for real: a container runner's command line, e.g.
    /// <c>podman run --rm --network host --init</c>, to which the job's environment (as <c>-e NAME</c>), its entrypoint and the
    /// image with its arguments are added. Null: such a job fails as one whose image cannot be pulled.
    /// </summary>
    public IReadOnlyList<string>? ContainerRunner { get; set; }

    /// <summary>The environment of the <see cref="ContainerRunner"/> process itself (e.g. its config files), not passed to the container.</summary>
    public Dictionary<string, string> ContainerRunnerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Share of requests answered with the service's throttling error, 0 to 1.</summary>
    public double ThrottleRate { get; set; }

    /// <summary>Share of requests answered with the service's 5xx errors, 0 to 1.</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>
    /// Operations whose next successful answer is lost: the operation takes effect, but the caller gets a 5xx, as when a
    /// response never arrives. Each name is taken out when used, so it happens once per name added.
    /// </summary>
    public HashSet<string> LoseNextResponse { get; } = new(StringComparer.Ordinal);

    /// <summary>Seed of the fault dice, for repeatable runs; null for a random seed.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>How long a job stays in each phase before and after its process runs (starting, provisioning, uploading).</summary>
    public TimeSpan PhaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a stopped job's process has after SIGTERM before SIGKILL.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where job directories go; default: a new temp directory, removed on dispose.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>Whether job processes start with this process's environment (PATH, HOME, DOTNET_ROOT, ...) under the job's own.</summary>
    public bool InheritEnvironment { get; set; } = true;

    /// <summary>The clock of jobs (phases, run-time limits, stop grace) and logs.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;
}
