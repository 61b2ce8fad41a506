namespace Strata.Stacks;

/// <summary>
/// The flavors Strata knows. Core registers its own; each integration adds its flavors
/// (e.g. <c>registry.AddSlurm()</c>); core never references an integration.
/// </summary>
public sealed class FlavorRegistry
{
    private readonly List<Flavor> _flavors = [];

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
        lock (_flavors)
        {
            _flavors.RemoveAll(f => f.Type == flavor.Type && f.Name == flavor.Name);
            _flavors.Add(flavor);
        }
        return this;
    }

    public IReadOnlyList<Flavor> List(ComponentType type)
    {
        lock (_flavors) return _flavors.Where(f => f.Type == type).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
    }

    /// <exception cref="StrataConfigException">No such flavor; the message lists the known ones, and names the package of a first-party one.</exception>
    public Flavor Get(ComponentType type, string name)
    {
        var known = List(type);
        return known.FirstOrDefault(f => f.Name == name)
            ?? throw new StrataConfigException(
                $"Unknown {ComponentTypes.CliName(type)} flavor '{name}'; known flavors: " +
                $"{(known.Count == 0 ? "none installed" : string.Join(", ", known.Select(f => f.Name)))}." +
                (Integrations.TryGetValue((type, name), out var integration)
                    ? $" The '{name}' flavor comes with the {integration.Package} package: reference it and call flavors.{integration.Call} in your app's " +
                      "IStrataSetup ([assembly: StrataSetup(typeof(...))]); the strata command has it built in."
                    : ""));
    }

    /// <summary>Where the first-party flavors that core does not register come from, for the error that names a missing one.</summary>
    private static readonly Dictionary<(ComponentType, string), (string Package, string Call)> Integrations = new()
    {
        [(ComponentType.StepOperator, "slurm")] = ("Strata.Slurm", "AddSlurm()"),
        [(ComponentType.StepOperator, "sagemaker")] = ("Strata.Aws", "AddAws()"),
        [(ComponentType.ArtifactStore, "s3")] = ("Strata.Aws", "AddAws()"),
        [(ComponentType.ArtifactStore, "azure")] = ("Strata.Azure", "AddAzure()"),
        [(ComponentType.StepOperator, "vertex")] = ("Strata.Gcp", "AddGcp()"),
        [(ComponentType.ArtifactStore, "gcs")] = ("Strata.Gcp", "AddGcp()"),
        [(ComponentType.StepOperator, "container")] = ("Strata.Containers", "AddContainers()"),
        [(ComponentType.StepOperator, "kubernetes")] = ("Strata.Kubernetes", "AddKubernetes()"),
    };
}
