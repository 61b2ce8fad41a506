namespace Strata;

/// <summary>Per-step overrides from a run config (<c>strata pipeline run --config run.yaml</c>) or code.</summary>
public sealed class StepOverride
{
    /// <summary>The step operator to use; an empty string runs the step in-process.</summary>
    public string? StepOperator { get; set; }
    public Dictionary<string, string> Settings { get; set; } = [];
    public int? Retries { get; set; }
    public string? Timeout { get; set; }
}

/// <summary>How one step invocation will run: where, with which settings, limits and retries. Decided before the run starts.</summary>
internal sealed record StepPlan(
    StepNode Node, string? OperatorName, StepOperator? Operator, StepOperatorFlavor? Flavor, object? Settings,
    StepResources Resources, TimeSpan? Timeout, TimeSpan? PendingTimeout, int Retries, TimeSpan RetryDelay, double Backoff)
{
    public static StepPlan InProcess(StepNode node, StepResources resources, TimeSpan? timeout, int retries, TimeSpan delay, double backoff) =>
        new(node, null, null, null, null, resources, timeout, null, retries, delay, backoff);

    /// <summary>The wait before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan DelayBefore(int retry) => TimeSpan.FromTicks((long)(RetryDelay.Ticks * Math.Pow(Math.Max(1, Backoff), retry - 1)));
}

/// <summary>
/// Decides, before anything runs, how every step will run on a stack, and lists every problem at once:
/// an operator the stack lacks, settings the flavor does not accept, a stack that cannot serve a flavor's needs.
/// </summary>
internal static class RunPlanner
{
    public static async Task<(IReadOnlyDictionary<StepNode, StepPlan> Plans, IReadOnlyList<string> Warnings)> PlanAsync(
        PipelineDefinition pipeline, StackRecord stack, StackManager stacks, SecretManager secrets, StepOperatorContext context,
        IReadOnlyDictionary<string, StepOverride>? overrides, CancellationToken cancellationToken)
    {
        var asked = pipeline.Nodes.SelectMany(n => n.Definition.Secrets).Distinct().ToArray();
        var problems = new List<string>();
        try
        {
            await secrets.ValidateAsync(asked, cancellationToken).ConfigureAwait(false);
        }
        catch (StrataConfigException e)
        {
            problems.Add(e.Message.TrimEnd('.'));
        }
        var warnings = new List<string>();
        var plans = new Dictionary<StepNode, StepPlan>();
        var operators = new Dictionary<string, (StepOperator Operator, StepOperatorFlavor Flavor, IReadOnlyDictionary<string, string> Config)>();
        var stackOperators = stack.All(ComponentType.StepOperator);
        var warned = new HashSet<string>();

        foreach (var unknown in (overrides?.Keys ?? []).Where(k => pipeline.Nodes.All(n => n.Name != k)))
            problems.Add($"the run config names step '{unknown}', which the pipeline does not have (steps: {string.Join(", ", pipeline.StepNames)})");

        foreach (var node in pipeline.Nodes)
        {
            var step = node.Definition;
            StepOverride? o = null;
            overrides?.TryGetValue(node.Name, out o);
            var timeout = Duration(o?.Timeout ?? step.TimeoutText, node, "timeout", problems);
            var delay = Duration(step.RetryDelayText, node, "retry delay", problems) ?? TimeSpan.FromSeconds(1);
            var retries = o?.Retries ?? step.Retries;
            if (retries < 0) problems.Add($"step '{node.Name}': retries must be 0 or more");
            StepResources resources;
            try { resources = StepResources.From(step.ResourcesAttribute); }
            catch (StrataConfigException e) { problems.Add($"step '{node.Name}': {e.Message}"); resources = StepResources.None; }

            var requested = o?.StepOperator ?? node.StepOperator ?? step.StepOperator;
            if (string.IsNullOrEmpty(requested))
            {
                if (step.Secrets.Count > 0 && warned.Add($"secrets:{node.Name}"))
                    warnings.Add($"step '{node.Name}' asks for secrets ({string.Join(", ", step.Secrets)}) but runs in-process, where they are not set as " +
                        "environment variables; give it a step operator to receive them");
                plans[node] = StepPlan.InProcess(node, resources, timeout, retries, delay, step.Backoff);
                continue;
            }
            var name = requested == StepOperatorNames.Default ? stackOperators.FirstOrDefault() : requested;
            if (name is null)
            {
                problems.Add($"step '{node.Name}' asks for the stack's default step operator, but stack '{stack.Name}' has none; add one with `strata stack " +
                    $"update {stack.Name} -s NAME`");
                continue;
            }
            if (!stackOperators.Contains(name))
            {
                problems.Add($"step '{node.Name}' asks for step operator '{name}', which stack '{stack.Name}' does not have (it has: " +
                    $"{(stackOperators.Count == 0 ? "none" : string.Join(", ", stackOperators))}); add it with `strata stack update {stack.Name} -s " +
                    $"{string.Join(" -s ", stackOperators.Append(name))}`");
                continue;
            }
            if (!operators.TryGetValue(name, out var entry))
            {
                var component = await stacks.GetComponentAsync(ComponentType.StepOperator, name, cancellationToken).ConfigureAwait(false);
                var flavor = (StepOperatorFlavor)stacks.Flavors.Get(ComponentType.StepOperator, component.Flavor);
                var config = await stacks.ResolveConfigAsync(component, cancellationToken).ConfigureAwait(false);
                var op = await stacks.CreateStepOperatorAsync(name, context, cancellationToken).ConfigureAwait(false);
                entry = (op, flavor, config);
                operators[name] = entry;
                if (flavor.ArtifactStoreProblem(context.ArtifactStore) is { } storeProblem)
                    problems.Add($"step operator '{name}' (flavor {flavor.Name}) {storeProblem} (stack '{stack.Name}' uses " +
                        $"'{stack.Single(ComponentType.ArtifactStore)}' at {context.ArtifactStore.Root})");
                else if (flavor.Requirements.HasFlag(StackRequirements.RemoteArtifactStore) && !context.ArtifactStore.IsRemote)
                    problems.Add($"step operator '{name}' (flavor {flavor.Name}) runs steps on other machines and needs an artifact store they can reach; " +
                        $"stack '{stack.Name}' uses '{stack.Single(ComponentType.ArtifactStore)}' at {context.ArtifactStore.Root}, which is local (register " +
                        "a remote one, e.g. s3, or a local store on a shared filesystem with --shared=true)");
                if (flavor.Requirements.HasFlag(StackRequirements.ContainerRegistry) && stack.Single(ComponentType.ContainerRegistry) is null)
                    problems.Add($"step operator '{name}' (flavor {flavor.Name}) needs a container registry in stack '{stack.Name}'");
                if (flavor.Requirements.HasFlag(StackRequirements.ImageBuilder) && stack.Single(ComponentType.ImageBuilder) is null)
                    problems.Add($"step operator '{name}' (flavor {flavor.Name}) needs an image builder in stack '{stack.Name}'");
            }

            // The component's config gives the defaults; the step's settings override them.
            var settingsSchema = entry.Flavor.SettingsSchema;
            var values = entry.Config.Where(kv => settingsSchema.Fields.Any(f => f.Name == kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var stepSettings = new Dictionary<string, string>(node.Settings);
            foreach (var (k, v) in o?.Settings ?? []) stepSettings[k.Replace('-', '_')] = v;
            object settings;
            try
            {
                foreach (var (k, v) in settingsSchema.Validate(stepSettings, requireAll: false,
                    $"step '{node.Name}' on step operator '{name}' (flavor {entry.Flavor.Name})"))
                {
                    // A map (e.g. environment) merges with the component's, the step's value winning per key: later pairs win.
                    var isMap = settingsSchema.Fields.First(f => f.Name == k).TypeName == "map";
                    values[k] = isMap && v.Length > 0 && values.TryGetValue(k, out var inherited) && inherited.Length > 0 ? $"{inherited},{v}" : v;
                }
                settings = settingsSchema.Bind(values);
            }
            catch (StrataConfigException e)
            {
                problems.Add(e.Message.TrimEnd('.'));
                continue;
            }
            var common = (StepOperatorSettings)settings;
            foreach (var unsupported in entry.Flavor.UnsupportedResources(resources, settings))
                if (warned.Add($"{name}:{unsupported}"))
                    warnings.Add($"step operator '{name}' (flavor {entry.Flavor.Name}) ignores {unsupported}");
            plans[node] = new StepPlan(node, name, entry.Operator, entry.Flavor, settings, resources, timeout ?? common.Timeout, common.PendingTimeout,
                retries, delay, step.Backoff);
        }
        if (problems.Count > 0)
            throw new StackValidationException(stack.Name, problems);
        return (plans, warnings);
    }

    private static TimeSpan? Duration(string? text, StepNode node, string what, List<string> problems)
    {
        if (text is null) return null;
        if (Durations.TryParse(text, out var value)) return value;
        problems.Add($"step '{node.Name}': {what} '{text}' is not a duration (e.g. 90s, 15m, 2h)");
        return null;
    }
}
