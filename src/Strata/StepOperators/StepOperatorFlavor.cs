using System.ComponentModel;

namespace Strata.StepOperators;

/// <summary>What a step operator flavor needs from the stack it is used in.</summary>
[Flags]
public enum StackRequirements
{
    None = 0,
    /// <summary>An artifact store the job can reach (object storage, a shared filesystem).</summary>
    RemoteArtifactStore = 1,
    ContainerRegistry = 2,
    ImageBuilder = 4,
}

/// <summary>
/// Settings every step operator understands. A flavor's settings class derives from this; its config class derives
/// from its settings class, so the component's config values are the defaults a step can override.
/// </summary>
public class StepOperatorSettings
{
    [Description("How long a step may run once started (e.g. 30m); the job is cancelled after that. A step's [Step(Timeout)] wins.")]
    public TimeSpan? Timeout { get; set; }

    [Description("How long a job may wait in the backend's queue before it is cancelled and reported with the backend's reason.")]
    public TimeSpan? PendingTimeout { get; set; }

    [Description("Command that starts the app's step entrypoint, comma-separated (e.g. dotnet,/app/App.dll); 'strata-step --manifest URI' is appended. " +
        "Default: the app that runs the pipeline, or the strata command.")]
    public List<string>? Entrypoint { get; set; }
}

/// <summary>A flavor of step operator: its config, its per-step settings, what it needs of the stack, and how to build it.</summary>
public abstract class StepOperatorFlavor : Flavor
{
    public sealed override ComponentType Type => ComponentType.StepOperator;

    /// <summary>The per-step settings class; the config class (<see cref="Flavor.ConfigType"/>) should derive from it.</summary>
    public abstract Type SettingsType { get; }

    public virtual StackRequirements Requirements => StackRequirements.None;

    /// <summary>Builds the operator from its config (secret references already resolved).</summary>
    public abstract StepOperator Create(object config, StepOperatorContext context);

    /// <summary>
    /// What this flavor cannot honour of a resource request, each naming the setting to use instead
    /// (e.g. "cpus and memory: choose an instance_type that has them"). Shown once per run as warnings.
    /// </summary>
    public virtual IEnumerable<string> UnsupportedResources(StepResources resources, object settings) => [];

    /// <summary>
    /// Why the stack's artifact store will not do for this flavor's jobs, beyond <see cref="StackRequirements.RemoteArtifactStore"/>
    /// (e.g. the backend reads only object storage of one kind), naming the fix; null when it will. Checked before the run starts.
    /// </summary>
    public virtual string? ArtifactStoreProblem(ArtifactStore artifactStore) => null;

    public ConfigSchema SettingsSchema => ConfigSchema.For(SettingsType);
}

/// <summary>What an operator may use when it is built: the Strata home, the stack's artifact store and container registry, and the clock.</summary>
public sealed record StepOperatorContext(StrataHome Home, ArtifactStore ArtifactStore)
{
    /// <summary>
    /// The clock for everything the operator times (polls, back-off, waits): tests pass a fake one, so timeouts and
    /// retries are tested without waiting. <value>Default: the system clock.</value>
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The stack's container registry, if it has one: where job images are pulled from, with its credentials.</summary>
    public ContainerRegistry? ContainerRegistry { get; init; }
}
