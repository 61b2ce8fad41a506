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

    /// <summary>The type as a noun in a sentence: <c>artifact store</c> (the CLI name is <c>artifact-store</c>).</summary>
    public static string Noun(ComponentType type) => CliName(type).Replace('-', ' ');

    /// <summary>The noun with its article: <c>an artifact store</c>, <c>a step operator</c>.</summary>
    /// <param name="type">The component type.</param>
    /// <param name="capitalized">Whether it starts a sentence (<c>An artifact store</c>).</param>
    public static string WithArticle(ComponentType type, bool capitalized = false)
    {
        var noun = Noun(type);
        var article = noun[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "an" : "a";
        return (capitalized ? char.ToUpperInvariant(article[0]) + article[1..] : article) + " " + noun;
    }

    public static ComponentType Parse(string name) =>
        All.FirstOrDefault(t => CliName(t) == name) is var t && CliName(t) == name
            ? t
            : throw new StrataConfigException($"Unknown component type '{name}'; use one of {string.Join(", ", All.Select(CliName))}.");
}
