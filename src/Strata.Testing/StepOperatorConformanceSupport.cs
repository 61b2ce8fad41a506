namespace Strata.Testing;

/// <summary>An artifact store for the conformance stack: its flavor and config, as <c>strata artifact-store register</c> takes them.</summary>
public sealed record ArtifactStoreUnderTest(string Flavor, IReadOnlyDictionary<string, string> Config);

/// <summary>
/// Whether the backend has a queue a job can wait in, for the pending cases: the step settings that keep a job waiting
/// (for Slurm, <c>hold=true</c>) and text the backend's pending reason then holds (<c>JobHeldUser</c>); or why not.
/// </summary>
public sealed class QueueSupport
{
    private QueueSupport(IReadOnlyDictionary<string, string>? settings, string? reason, string? unsupported)
    {
        Settings = settings;
        Reason = reason;
        Unsupported = unsupported;
    }

    /// <summary>Step settings that keep a job waiting in the queue; null when there is no queue.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; }

    /// <summary>Text the pending reason holds while the job waits.</summary>
    public string? Reason { get; }

    /// <summary>Why the pending cases cannot run on this backend; null when they can.</summary>
    public string? Unsupported { get; }

    /// <summary>A job given <paramref name="settings"/> waits in the queue with a pending reason that contains <paramref name="reason"/>.</summary>
    public static QueueSupport HeldBy(IReadOnlyDictionary<string, string> settings, string reason) => new(settings, reason, null);

    /// <summary>No job can be kept waiting: the pending cases are skipped with <paramref name="why"/>.</summary>
    public static QueueSupport None(string why) => new(null, null, why);
}

/// <summary>
/// How the backend answers the portable request <c>[Resources(Cpus = 2, Memory = "1GiB")]</c>: mapped to its job spec
/// (the spec then holds each of <see cref="InJobSpec"/>), or warned about once per run, the warning naming <see cref="Setting"/>.
/// </summary>
public sealed class ResourceSupport
{
    private ResourceSupport(IReadOnlyList<string> inJobSpec, string? setting)
    {
        InJobSpec = inJobSpec;
        Setting = setting;
    }

    /// <summary>Texts the job spec holds when cpus and memory are mapped (e.g. <c>NumCPUs=2</c>, <c>MinMemoryNode=1G</c>).</summary>
    public IReadOnlyList<string> InJobSpec { get; }

    /// <summary>The setting the warning names instead, when the backend cannot honour the request.</summary>
    public string? Setting { get; }

    /// <summary>Cpus and memory reach the job: its spec holds each of <paramref name="inJobSpec"/>, and nothing is warned about.</summary>
    public static ResourceSupport Mapped(params string[] inJobSpec) => new(inJobSpec, null);

    /// <summary>The backend cannot honour cpus and memory: one warning per run says so and names <paramref name="setting"/>.</summary>
    public static ResourceSupport Warned(string setting) => new([], setting);
}
