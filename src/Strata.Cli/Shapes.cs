namespace Strata.Cli;

/// <summary>
/// The JSON shapes of <c>--output json</c>. They are a contract for scripts (docs/cli.md): add fields, never rename or remove.
/// </summary>
internal static class Shapes
{
    public static IReadOnlyDictionary<string, string> MaskedConfig(ComponentRecord r, FlavorRegistry flavors)
    {
        HashSet<string> secret;
        try { secret = flavors.Get(r.Type, r.Flavor).Schema.Fields.Where(f => f.Secret).Select(f => f.Name).ToHashSet(); }
        catch (StrataException) { secret = []; }
        return r.Config.ToDictionary(kv => kv.Key, kv => secret.Contains(kv.Key) && !ConfigSchema.IsSecretReference(kv.Value) ? "********" : kv.Value);
    }

    public static object Component(ComponentRecord r, FlavorRegistry flavors) => new
    {
        id = r.Id, name = r.Name, type = ComponentTypes.CliName(r.Type), flavor = r.Flavor,
        config = MaskedConfig(r, flavors), created_at = r.CreatedAt, updated_at = r.UpdatedAt,
    };

    public static object Secret(SecretInfo s) => new
    {
        id = s.Id, name = s.Name, keys = s.Keys, created_at = s.CreatedAt, updated_at = s.UpdatedAt,
    };

    public static object SecretDescription(SecretInfo s) => new
    {
        id = s.Id, name = s.Name, keys = s.Keys, values = s.MaskedValues, created_at = s.CreatedAt, updated_at = s.UpdatedAt,
    };

    public static object Stack(StackRecord s, bool active) => new
    {
        id = s.Id, name = s.Name, active,
        orchestrator = s.Single(ComponentType.Orchestrator),
        artifact_store = s.Single(ComponentType.ArtifactStore),
        step_operators = s.All(ComponentType.StepOperator),
        container_registry = s.Single(ComponentType.ContainerRegistry),
        image_builder = s.Single(ComponentType.ImageBuilder),
        created_at = s.CreatedAt, updated_at = s.UpdatedAt,
    };

    public static object Run(RunRecord r) => new
    {
        id = r.Id, name = r.Name, pipeline = r.Pipeline, stack = r.Stack, status = r.Status,
        started_at = r.StartedAt, finished_at = r.FinishedAt,
        duration_seconds = r.FinishedAt is { } f ? Math.Round((f - r.StartedAt).TotalSeconds, 3) : (double?)null,
        error = r.Error, step_count = r.StepCount,
    };

    /// <summary>What `pipeline run` and `run resume` print with --output json.</summary>
    public static object Result(RunResult result) => new
    {
        run = Run(result.Run),
        steps = result.Steps.Select(s => new { name = s.Name, id = s.StepRunId, status = s.Status, duration_seconds = Math.Round(s.Duration.TotalSeconds, 3), error = s.Error }).ToArray(),
    };

    public static object Artifact(ArtifactRecord a) => new
    {
        id = a.Id, uri = a.Uri, type = a.TypeName, materializer = a.Materializer, materializer_version = a.MaterializerVersion,
        content_hash = a.ContentHash, size = a.Size, producer_step_run_id = a.ProducerStepRunId, output_name = a.OutputName, created_at = a.CreatedAt,
    };

    public static object Step(StepRunRecord s, IEnumerable<StepArtifactLink> inputs, IEnumerable<StepArtifactLink> outputs) => new
    {
        id = s.Id, name = s.Name, step = s.StepFullName, status = s.Status, attempt = s.Attempt,
        started_at = s.StartedAt, finished_at = s.FinishedAt,
        duration_seconds = s.StartedAt is { } st && s.FinishedAt is { } f ? Math.Round((f - st).TotalSeconds, 3) : (double?)null,
        error = s.Error, cached_from = s.CachedFromStepRunId, code_version = s.CodeVersion, cache_key = s.CacheKey,
        step_operator = s.StepOperator,
        parameters = System.Text.Json.JsonDocument.Parse(s.ParametersJson).RootElement,
        inputs = inputs.Select(i => new { name = i.Name, artifact_id = i.Artifact.Id, uri = i.Artifact.Uri }).ToArray(),
        outputs = outputs.Select(o => new { name = o.Name, artifact_id = o.Artifact.Id, uri = o.Artifact.Uri, type = o.Artifact.TypeName, size = o.Artifact.Size }).ToArray(),
    };
}
