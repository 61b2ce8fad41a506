using System.Text.Json;

namespace Strata.Cli;

/// <summary>
/// The JSON shapes of <c>--output json</c>. They are a contract for scripts (docs/cli.md): add fields, never rename or remove.
/// Runs and steps are written field by field with <see cref="Utf8JsonWriter"/>: a run can have 10,000 steps, and writing
/// them as they are read needs neither a copy in memory nor the serializer's reflection at start-up.
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

    public static void WriteRun(Utf8JsonWriter w, RunRecord r)
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteString("name", r.Name);
        w.WriteString("pipeline", r.Pipeline);
        w.WriteString("stack", r.Stack);
        w.WriteString("status", Status(r.Status));
        w.WriteString("started_at", r.StartedAt);
        WriteTime(w, "finished_at", r.FinishedAt);
        WriteSeconds(w, "duration_seconds", r.StartedAt, r.FinishedAt);
        w.WriteString("error", r.Error);
        w.WriteNumber("step_count", r.StepCount);
        w.WriteEndObject();
    }

    /// <summary>What `pipeline run` and `run resume` print with --output json.</summary>
    public static void WriteResult(Utf8JsonWriter w, RunResult result)
    {
        w.WriteStartObject();
        w.WritePropertyName("run");
        WriteRun(w, result.Run);
        w.WriteStartArray("steps");
        foreach (var s in result.Steps)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("id", s.StepRunId);
            w.WriteString("status", Status(s.Status));
            w.WriteNumber("duration_seconds", Math.Round(s.Duration.TotalSeconds, 3));
            w.WriteString("error", s.Error);
            w.WriteEndObject();
            CliContext.FlushSome(w);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static object Artifact(ArtifactRecord a) => new
    {
        id = a.Id, uri = a.Uri, type = a.TypeName, materializer = a.Materializer, materializer_version = a.MaterializerVersion,
        content_hash = a.ContentHash, size = a.Size, producer_step_run_id = a.ProducerStepRunId, output_name = a.OutputName, created_at = a.CreatedAt,
    };

    public static void WriteStep(Utf8JsonWriter w, StepRunRecord s, IEnumerable<StepArtifactLink> inputs, IEnumerable<StepArtifactLink> outputs)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteString("name", s.Name);
        w.WriteString("step", s.StepFullName);
        w.WriteString("status", Status(s.Status));
        w.WriteNumber("attempt", s.Attempt);
        WriteTime(w, "started_at", s.StartedAt);
        WriteTime(w, "finished_at", s.FinishedAt);
        WriteSeconds(w, "duration_seconds", s.StartedAt, s.FinishedAt);
        w.WriteString("error", s.Error);
        w.WriteString("cached_from", s.CachedFromStepRunId);
        w.WriteString("code_version", s.CodeVersion);
        w.WriteString("cache_key", s.CacheKey);
        w.WriteString("step_operator", s.StepOperator);
        w.WritePropertyName("parameters");
        using (var parameters = JsonDocument.Parse(s.ParametersJson)) parameters.RootElement.WriteTo(w);
        w.WriteStartArray("inputs");
        foreach (var i in inputs)
        {
            w.WriteStartObject();
            w.WriteString("name", i.Name);
            w.WriteString("artifact_id", i.Artifact.Id);
            w.WriteString("uri", i.Artifact.Uri);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("outputs");
        foreach (var o in outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", o.Name);
            w.WriteString("artifact_id", o.Artifact.Id);
            w.WriteString("uri", o.Artifact.Uri);
            w.WriteString("type", o.Artifact.TypeName);
            w.WriteNumber("size", o.Artifact.Size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string Status(ExecutionStatus s) => s.ToString().ToLowerInvariant();

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? t)
    {
        if (t is { } value) w.WriteString(name, value);
        else w.WriteNull(name);
    }

    private static void WriteSeconds(Utf8JsonWriter w, string name, DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is { } s && end is { } e) w.WriteNumber(name, Math.Round((e - s).TotalSeconds, 3));
        else w.WriteNull(name);
    }
}
