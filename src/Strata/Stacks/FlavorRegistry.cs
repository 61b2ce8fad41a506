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

    /// <exception cref="StrataConfigException">No such flavor; the message lists the known ones.</exception>
    public Flavor Get(ComponentType type, string name)
    {
        var known = List(type);
        return known.FirstOrDefault(f => f.Name == name)
            ?? throw new StrataConfigException(
                $"Unknown {ComponentTypes.CliName(type)} flavor '{name}'; known flavors: " +
                $"{(known.Count == 0 ? "none installed" : string.Join(", ", known.Select(f => f.Name)))}.");
    }
}
