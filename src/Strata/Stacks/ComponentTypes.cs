namespace Strata.Stacks;

/// <summary>The names of component types as the CLI spells them: <c>artifact-store</c>, <c>step-operator</c>, ...</summary>
public static class ComponentTypes
{
    public static IReadOnlyList<ComponentType> All { get; } = Enum.GetValues<ComponentType>();

    public static string CliName(ComponentType type) => type switch
    {
        ComponentType.Orchestrator => "orchestrator",
        ComponentType.ArtifactStore => "artifact-store",
        ComponentType.StepOperator => "step-operator",
        ComponentType.ContainerRegistry => "container-registry",
        ComponentType.ImageBuilder => "image-builder",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static ComponentType Parse(string name) =>
        All.FirstOrDefault(t => CliName(t) == name) is var t && CliName(t) == name
            ? t
            : throw new StrataConfigException($"Unknown component type '{name}'; use one of {string.Join(", ", All.Select(CliName))}.");
}
