namespace Strata;

/// <summary>
/// Gives every step that runs in a container the image it runs: a fixed one from its settings, or one built from its base
/// image and the app by the stack's image builder and pushed to the stack's registry. Each distinct image is built once per
/// run, before any step is submitted, so a registry or build problem fails the run before it has started anything.
/// </summary>
internal static class JobImages
{
    public static async Task<IReadOnlyDictionary<StepPlan, string>> ProvideAsync(IEnumerable<StepPlan> plans, string pipeline, StackRecord stack,
        StackManager stacks, StrataHome home, IRunObserver observer, CancellationToken cancellationToken)
    {
        var images = new Dictionary<StepPlan, string>();
        var wanted = new List<(StepPlan Plan, string BaseImage, string App)>();
        var problems = new List<string>();
        var warned = new HashSet<string>();
        var canBuild = stack.Single(ComponentType.ContainerRegistry) is not null && stack.Single(ComponentType.ImageBuilder) is not null;
        foreach (var plan in plans)
        {
            if (plan.Settings is not ImageStepOperatorSettings settings) continue;
            if (settings.Image is { Length: > 0 } image)
                images[plan] = image.Trim();
            else if (settings.UsesBackendEnvironment)
                continue;
            else if (canBuild)
                wanted.Add((plan, settings.BaseImage is { Length: > 0 } b ? b.Trim() : ImageStepOperatorSettings.DefaultBaseImage, AppOf(plan, problems)));
            else if (settings.BaseImage is { Length: > 0 } baseImage)
            {
                images[plan] = baseImage.Trim();
                if (warned.Add(plan.OperatorName!))
                    observer.Warning($"stack '{stack.Name}' has no container registry and image builder, so step operator '{plan.OperatorName}' runs " +
                        $"base image {baseImage.Trim()} as is (it must hold the app); add them with " +
                        $"`strata stack update {stack.Name} -c REGISTRY -i BUILDER` to have the job image built");
            }
            else
                problems.Add($"step operator '{plan.OperatorName}' (flavor {plan.Flavor!.Name}) has no image to run step '{plan.Node.Name}': set its image, " +
                    $"or add a container registry and an image builder to stack '{stack.Name}' (`strata stack update {stack.Name} -c REGISTRY -i BUILDER`) " +
                    "so the job image is built");
        }
        if (problems.Count > 0) throw new StackValidationException(stack.Name, problems);
        if (wanted.Count == 0) return images;

        var registry = (await stacks.CreateContainerRegistryAsync(stack, cancellationToken).ConfigureAwait(false))!;
        var builder = (await stacks.CreateImageBuilderAsync(stack, home, cancellationToken).ConfigureAwait(false))!;
        await registry.CheckAsync(cancellationToken).ConfigureAwait(false);
        var progress = new Lines(line => observer.Progress($"image: {line}"));
        foreach (var group in wanted.GroupBy(w => (w.BaseImage, w.App)))
        {
            var built = await builder.BuildAsync(new ImageBuildRequest
            {
                Pipeline = pipeline, BaseImage = group.Key.BaseImage, AppAssemblyPath = group.Key.App, Registry = registry, Progress = progress,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var (plan, _, _) in group) images[plan] = built.Reference;
        }
        return images;
    }

    /// <summary>The app a step's image holds: the assembly that defines the step.</summary>
    private static string AppOf(StepPlan plan, List<string> problems)
    {
        var location = plan.Node.Definition.Method.Module.Assembly.Location;
        if (location.Length == 0)
            problems.Add($"step '{plan.Node.Name}' is defined in an assembly loaded from memory, which cannot be put in a job image");
        return location;
    }

    /// <summary>Reports each line as it comes, in order (<see cref="Progress{T}"/> would post them to the thread pool).</summary>
    private sealed class Lines(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
