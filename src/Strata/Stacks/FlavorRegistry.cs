namespace Strata.Stacks;

/// <summary>
/// The flavors Strata knows. Core registers its own; each integration adds its flavors
/// (e.g. <c>registry.AddSlurm()</c>); core never references an integration.
/// </summary>
public sealed class FlavorRegistry
{
    private readonly List<Flavor> _flavors = [];
    private readonly List<Action<FlavorRegistry>> _waiting = [];

    public FlavorRegistry()
    {
        Add(new LocalOrchestratorFlavor());
        Add(new LocalArtifactStoreFlavor());
        Add(new LocalProcessFlavor());
        Add(new DefaultContainerRegistryFlavor());
        Add(new DotnetImageBuilderFlavor());
    }

    /// <summary>The registry used when none is given.</summary>
    public static FlavorRegistry Default { get; } = new();

    public FlavorRegistry Add(Flavor flavor)
    {
        AddWaiting();
        lock (_flavors)
        {
            _flavors.RemoveAll(f => f.Type == flavor.Type && f.Name == flavor.Name);
            _flavors.Add(flavor);
        }
        return this;
    }

    /// <summary>
    /// Adds flavors when the registry is next read or added to, in the order the calls came: a process that never reads it (a
    /// command that only reads the store) never loads the assemblies <paramref name="add"/> adds flavors of. The strata
    /// command adds its built-in integrations so.
    /// </summary>
    public FlavorRegistry AddLater(Action<FlavorRegistry> add)
    {
        ArgumentNullException.ThrowIfNull(add);
        lock (_waiting) _waiting.Add(add);
        return this;
    }

    // Held while the waiting additions run, so another thread reads the registry only once they are in; the thread running them
    // takes it again (through Add) without waiting.
    private void AddWaiting()
    {
        lock (_waiting)
            while (_waiting.Count > 0)
            {
                var add = _waiting[0];
                _waiting.RemoveAt(0);
                add(this);
            }
    }

    public IReadOnlyList<Flavor> List(ComponentType type)
    {
        AddWaiting();
        lock (_flavors) return _flavors.Where(f => f.Type == type).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
    }

    /// <exception cref="StrataConfigException">No such flavor; the message lists the known ones, and names the package of a first-party one.</exception>
    public Flavor Get(ComponentType type, string name)
    {
        AddWaiting();
        lock (_flavors)
            foreach (var flavor in _flavors)
                if (flavor.Type == type && flavor.Name == name)
                    return flavor;
        var known = List(type);
        throw new StrataConfigException(
            $"Unknown {ComponentTypes.CliName(type)} flavor '{name}'; known flavors: " +
            $"{(known.Count == 0 ? "none installed" : string.Join(", ", known.Select(f => f.Name)))}." +
            IntegrationHint(type, name));
    }

    /// <summary>
    /// Where a first-party flavor that core does not register comes from, for the error that names a missing one ("" for any
    /// other). A switch rather than a table keyed by type and name, whose generic code every process would compile to build it.
    /// </summary>
    private static string IntegrationHint(ComponentType type, string name) => (type, name) switch
    {
        (ComponentType.StepOperator, "slurm") => Hint(name, "Strata.Slurm", "AddSlurm()"),
        (ComponentType.StepOperator, "sagemaker") or (ComponentType.ArtifactStore, "s3") => Hint(name, "Strata.Aws", "AddAws()"),
        (ComponentType.ArtifactStore, "azure") => Hint(name, "Strata.Azure", "AddAzure()"),
        (ComponentType.StepOperator, "vertex") or (ComponentType.ArtifactStore, "gcs") => Hint(name, "Strata.Gcp", "AddGcp()"),
        (ComponentType.StepOperator, "container") => Hint(name, "Strata.Containers", "AddContainers()"),
        (ComponentType.StepOperator, "kubernetes") => Hint(name, "Strata.Kubernetes", "AddKubernetes()"),
        _ => "",
    };

    private static string Hint(string name, string package, string call) =>
        $" The '{name}' flavor comes with the {package} package: reference it and call flavors.{call} in your app's " +
        "IStrataSetup ([assembly: StrataSetup(typeof(...))]); the strata command has it built in.";
}
