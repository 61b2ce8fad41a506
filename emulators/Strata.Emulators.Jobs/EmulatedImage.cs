namespace Strata.Emulators.Jobs;

/// <summary>
/// What a training image runs, as Docker would: <see cref="Entrypoint"/> (ENTRYPOINT) and <see cref="Arguments"/> (CMD),
/// which a job's own command and arguments replace (SageMaker runs an image without CMD as <c>&lt;entrypoint&gt; train</c>).
/// </summary>
public sealed class EmulatedImage
{
    /// <summary>A real image run by the container runner (the emulator's container runner, e.g. podman); null for a local command.</summary>
    public string? ContainerImage { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>The process's working directory; default: the job directory (the container's /opt/ml).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>The image's own environment (ENV), under the job's Environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}
