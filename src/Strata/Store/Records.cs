namespace Strata.Store;

/// <summary>The kinds of stack component.</summary>
public enum ComponentType
{
    Orchestrator,
    ArtifactStore,
    StepOperator,
    ContainerRegistry,
    ImageBuilder,
}

/// <summary>The state of a run or a step run.</summary>
public enum ExecutionStatus
{
    Pending,
    Running,
    Retrying,
    Completed,
    Cached,
    Failed,
    Skipped,
    Cancelled,
}

public static class ExecutionStatusExtensions
{
    /// <summary>Whether nothing more will happen to a run or step in this state.</summary>
    public static bool IsFinished(this ExecutionStatus status) =>
        status is ExecutionStatus.Completed or ExecutionStatus.Cached or ExecutionStatus.Failed or ExecutionStatus.Skipped or ExecutionStatus.Cancelled;

    /// <summary>Whether a step in this state produced its outputs (ran or reused them).</summary>
    public static bool IsSuccess(this ExecutionStatus status) => status is ExecutionStatus.Completed or ExecutionStatus.Cached;
}

/// <summary>A registered stack component: a flavor with its config.</summary>
public sealed record ComponentRecord(
    string Id, string Name, ComponentType Type, string Flavor,
    IReadOnlyDictionary<string, string> Config, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One component of a stack. Step operators keep their order: the first is the stack's default.</summary>
public sealed record StackMember(ComponentType Type, string Name, int Position);

public sealed record StackRecord(string Id, string Name, IReadOnlyList<StackMember> Components, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public string? Single(ComponentType type) => Components.FirstOrDefault(c => c.Type == type)?.Name;

    public IReadOnlyList<string> All(ComponentType type) => Components.Where(c => c.Type == type).OrderBy(c => c.Position).Select(c => c.Name).ToArray();
}

/// <summary>
/// A pipeline run. <c>Source</c> says where the pipeline came from (JSON: assembly path and pipeline method), so the run can be resumed;
/// <c>Config</c> is what the run was given beside the pipeline (JSON: per-step overrides, parallelism), so a resume keeps it.
/// </summary>
public sealed record RunRecord(
    string Id, string Name, string Pipeline, string Stack, ExecutionStatus Status,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error, int StepCount, string? Source = null, string? Config = null);

/// <summary>
/// One change to a step run's records, for <see cref="IStepRunBatchWriter.WriteStepRunsAsync"/>: a run writes its step
/// runs' records behind the steps, several to a transaction, in the order they were made.
/// </summary>
internal abstract record StepRunWrite(string StepRunId);

/// <summary>A step run that starts now, with the artifacts it reads (as <see cref="IMetadataStore.CreateStepRunAsync"/>).</summary>
internal sealed record StepRunStarted(StepRunRecord StepRun, IReadOnlyList<(string Name, string ArtifactId)> Inputs) : StepRunWrite(StepRun.Id);

/// <summary>How a started step run ended (as <see cref="IMetadataStore.FinishStepRunAsync"/>).</summary>
internal sealed record StepRunFinished(string Id, ExecutionStatus Status, DateTimeOffset FinishedAt, string? Error,
    IReadOnlyList<ArtifactRecord> NewArtifacts, IReadOnlyList<(string Name, string ArtifactId)> Outputs) : StepRunWrite(Id);

/// <summary>A step run that is already over when it is first written (as <see cref="IMetadataStore.RecordStepRunAsync"/>).</summary>
internal sealed record StepRunRecorded(StepRunRecord StepRun, IReadOnlyList<(string Name, string ArtifactId)> Inputs,
    IReadOnlyList<ArtifactRecord> NewArtifacts, IReadOnlyList<(string Name, string ArtifactId)> Outputs) : StepRunWrite(StepRun.Id);

/// <summary>The captured log of a step run (as <see cref="IMetadataStore.SaveStepLogAsync"/>).</summary>
internal sealed record StepLogSaved(string Id, string Log) : StepRunWrite(Id);

public sealed record StepRunRecord(
    string Id, string RunId, string Name, string StepFullName, string CodeVersion, string? CacheKey,
    ExecutionStatus Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error,
    string? CachedFromStepRunId, string ParametersJson, int Attempt = 1, string? StepOperator = null, string? Job = null);

public sealed record ArtifactRecord(
    string Id, string Uri, string TypeName, string Materializer, int MaterializerVersion,
    string ContentHash, long Size, string? ProducerStepRunId, string OutputName, DateTimeOffset CreatedAt);

/// <summary>An artifact as one step saw it: the output it produced or the input it consumed, by name.</summary>
public sealed record StepArtifactLink(string StepRunId, string Name, ArtifactRecord Artifact);

/// <summary>A cache entry: the latest successful step run with <see cref="CacheKey"/>, and its outputs.</summary>
public sealed record CachedStepRun(string CacheKey, string StepRunId, IReadOnlyList<StepArtifactLink> Outputs);

/// <summary>
/// A run's steps counted by state: each step once, by its latest attempt (<see cref="Latest"/>), and the attempts a later one
/// superseded (<see cref="Earlier"/>: a retried or resumed step's failures). States with no step are left out of both.
/// </summary>
public sealed record StepCounts(IReadOnlyDictionary<ExecutionStatus, int> Latest, IReadOnlyDictionary<ExecutionStatus, int> Earlier);

/// <summary>A named set of secret values. <see cref="Payload"/> is encrypted; <see cref="Keys"/> are the key names only.</summary>
public sealed record SecretRecord(string Id, string Name, IReadOnlyList<string> Keys, string Payload, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
