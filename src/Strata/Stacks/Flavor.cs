namespace Strata.Stacks;

/// <summary>
/// A kind of stack component (e.g. the <c>local</c> artifact store, the <c>slurm</c> step operator): its name,
/// type, config schema and how to build the component from a config.
/// </summary>
public abstract class Flavor
{
    public abstract string Name { get; }
    public abstract ComponentType Type { get; }
    public abstract string Description { get; }

    /// <summary>The config class: public settable properties with defaults; <c>required</c> members are required.</summary>
    public abstract Type ConfigType { get; }

    /// <summary>Which integration provides the flavor (<c>builtin</c>, <c>aws</c>, ...).</summary>
    public virtual string Integration => "builtin";

    public ConfigSchema Schema => ConfigSchema.For(ConfigType);
}

/// <summary>A flavor of artifact store.</summary>
public abstract class ArtifactStoreFlavor : Flavor
{
    public sealed override ComponentType Type => ComponentType.ArtifactStore;

    public abstract ArtifactStore Create(object config, StrataHome home);
}

/// <summary>A flavor of orchestrator. Its config is read by the run (e.g. max parallelism).</summary>
public abstract class OrchestratorFlavor : Flavor
{
    public sealed override ComponentType Type => ComponentType.Orchestrator;
}
