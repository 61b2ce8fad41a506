using System.Text.Json;
using Strata.Cli.Commands;

namespace Strata.Cli;

/// <summary>
/// The JSON shapes of <c>--output json</c>. They are a contract for scripts (docs/cli.md): add fields, never rename or remove.
/// Runs and steps are written field by field with <see cref="Utf8JsonWriter"/>: a run can have 10,000 steps, and writing
/// them as they are read needs neither a copy in memory nor the serializer's reflection at start-up.
/// </summary>
internal static class Shapes
{
    public static object Component(ComponentRecord r, StackManager stacks) => new
    {
        id = r.Id, name = r.Name, type = ComponentTypes.CliName(r.Type), flavor = r.Flavor,
        config = stacks.MaskedConfig(r), created_at = r.CreatedAt, updated_at = r.UpdatedAt,
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
        w.WriteString(Field.Id, r.Id);
        w.WriteString(Field.Name, r.Name);
        w.WriteString(Field.Pipeline, r.Pipeline);
        w.WriteString(Field.Stack, r.Stack);
        w.WriteString(Field.Status, Status(r.Status));
        w.WriteString(Field.StartedAt, r.StartedAt);
        WriteTime(w, Field.FinishedAt, r.FinishedAt);
        WriteSeconds(w, Field.DurationSeconds, r.StartedAt, r.FinishedAt);
        w.WriteString(Field.Error, r.Error);
        w.WriteNumber(Field.StepCount, r.StepCount);
        w.WriteEndObject();
    }

    /// <summary>What `pipeline run` and `run resume` print with --output json.</summary>
    public static void WriteResult(Utf8JsonWriter w, RunResult result)
    {
        w.WriteStartObject();
        w.WritePropertyName(Field.Run);
        WriteRun(w, result.Run);
        w.WriteStartArray(Field.Steps);
        foreach (var s in result.Steps)
        {
            w.WriteStartObject();
            w.WriteString(Field.Name, s.Name);
            w.WriteString(Field.Id, s.StepRunId);
            w.WriteString(Field.Status, Status(s.Status));
            w.WriteNumber(Field.DurationSeconds, Math.Round(s.Duration.TotalSeconds, 3));
            w.WriteString(Field.Error, s.Error);
            w.WriteEndObject();
            CliContext.FlushSome(w);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static object Artifact(ArtifactRecord a, ArtifactProducer? producer = null, string? value = null) => new
    {
        id = a.Id, uri = a.Uri, type = a.TypeName, materializer = a.Materializer, materializer_version = a.MaterializerVersion,
        content_hash = a.ContentHash, size = a.Size, producer_step_run_id = a.ProducerStepRunId, output_name = a.OutputName, created_at = a.CreatedAt,
        producer = producer is null ? null : new
        {
            pipeline = producer.Pipeline, run_id = producer.RunId, run_name = producer.RunName, step = producer.Step, step_run_id = producer.StepRunId,
        },
        value,
    };

    public static void WriteStep(Utf8JsonWriter w, StepRunRecord s, IEnumerable<StepArtifactLink> inputs, IEnumerable<StepArtifactLink> outputs)
    {
        w.WriteStartObject();
        w.WriteString(Field.Id, s.Id);
        w.WriteString(Field.Name, s.Name);
        w.WriteString(Field.Step, s.StepFullName);
        w.WriteString(Field.Status, Status(s.Status));
        w.WriteNumber(Field.Attempt, s.Attempt);
        WriteTime(w, Field.StartedAt, s.StartedAt);
        WriteTime(w, Field.FinishedAt, s.FinishedAt);
        WriteSeconds(w, Field.DurationSeconds, s.StartedAt, s.FinishedAt);
        w.WriteString(Field.Error, s.Error);
        w.WriteString(Field.CachedFrom, s.CachedFromStepRunId);
        w.WriteString(Field.CodeVersion, s.CodeVersion);
        w.WriteString(Field.CacheKey, s.CacheKey);
        w.WriteString(Field.StepOperator, s.StepOperator);
        w.WritePropertyName(Field.Parameters);
        w.WriteRawValue(s.ParametersJson); // as stored (validated, not re-indented): parsing 10,000 documents to indent them costs more than it gives
        w.WriteStartArray(Field.Inputs);
        foreach (var i in inputs)
        {
            w.WriteStartObject();
            w.WriteString(Field.Name, i.Name);
            w.WriteString(Field.ArtifactId, i.Artifact.Id);
            w.WriteString(Field.Uri, i.Artifact.Uri);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray(Field.Outputs);
        foreach (var o in outputs)
        {
            w.WriteStartObject();
            w.WriteString(Field.Name, o.Name);
            w.WriteString(Field.ArtifactId, o.Artifact.Id);
            w.WriteString(Field.Uri, o.Artifact.Uri);
            w.WriteString(Field.Type, o.Artifact.TypeName);
            w.WriteNumber(Field.Size, o.Artifact.Size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string Status(ExecutionStatus s) => s.ToString().ToLowerInvariant();

    private static void WriteTime(Utf8JsonWriter w, JsonEncodedText name, DateTimeOffset? t)
    {
        if (t is { } value) w.WriteString(name, value);
        else w.WriteNull(name);
    }

    private static void WriteSeconds(Utf8JsonWriter w, JsonEncodedText name, DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is { } s && end is { } e) w.WriteNumber(name, Math.Round((e - s).TotalSeconds, 3));
        else w.WriteNull(name);
    }

    /// <summary>Field names encoded once: a large run writes each of them thousands of times.</summary>
    private static class Field
    {
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
        public static readonly JsonEncodedText Pipeline = JsonEncodedText.Encode("pipeline");
        public static readonly JsonEncodedText Stack = JsonEncodedText.Encode("stack");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText StartedAt = JsonEncodedText.Encode("started_at");
        public static readonly JsonEncodedText FinishedAt = JsonEncodedText.Encode("finished_at");
        public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
        public static readonly JsonEncodedText StepCount = JsonEncodedText.Encode("step_count");
        public static readonly JsonEncodedText Run = JsonEncodedText.Encode("run");
        public static readonly JsonEncodedText Steps = JsonEncodedText.Encode("steps");
        public static readonly JsonEncodedText DurationSeconds = JsonEncodedText.Encode("duration_seconds");
        public static readonly JsonEncodedText Step = JsonEncodedText.Encode("step");
        public static readonly JsonEncodedText Attempt = JsonEncodedText.Encode("attempt");
        public static readonly JsonEncodedText CachedFrom = JsonEncodedText.Encode("cached_from");
        public static readonly JsonEncodedText CodeVersion = JsonEncodedText.Encode("code_version");
        public static readonly JsonEncodedText CacheKey = JsonEncodedText.Encode("cache_key");
        public static readonly JsonEncodedText StepOperator = JsonEncodedText.Encode("step_operator");
        public static readonly JsonEncodedText Parameters = JsonEncodedText.Encode("parameters");
        public static readonly JsonEncodedText Inputs = JsonEncodedText.Encode("inputs");
        public static readonly JsonEncodedText ArtifactId = JsonEncodedText.Encode("artifact_id");
        public static readonly JsonEncodedText Uri = JsonEncodedText.Encode("uri");
        public static readonly JsonEncodedText Outputs = JsonEncodedText.Encode("outputs");
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText Size = JsonEncodedText.Encode("size");
    }
}
