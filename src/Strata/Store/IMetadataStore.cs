namespace Strata.Store;

/// <summary>
/// Records stacks, components, runs, step runs, artifacts and lineage. Implementations: SQLite (embedded default)
/// and PostgreSQL. Every write is one short transaction; several processes may share a store.
/// </summary>
public interface IMetadataStore : IAsyncDisposable
{
    /// <summary>Where the store lives, for messages (a file path or a server without credentials).</summary>
    string Location { get; }

    // Components
    Task AddComponentAsync(ComponentRecord component, CancellationToken cancellationToken = default);
    Task UpdateComponentAsync(ComponentType type, string name, IReadOnlyDictionary<string, string> config, CancellationToken cancellationToken = default);
    Task DeleteComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default);
    Task<ComponentRecord?> GetComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ComponentRecord>> ListComponentsAsync(ComponentType? type = null, CancellationToken cancellationToken = default);

    // Stacks
    Task AddStackAsync(StackRecord stack, CancellationToken cancellationToken = default);
    Task ReplaceStackComponentsAsync(string name, IReadOnlyList<StackMember> components, CancellationToken cancellationToken = default);
    Task DeleteStackAsync(string name, CancellationToken cancellationToken = default);
    Task<StackRecord?> GetStackAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<StackRecord>> ListStacksAsync(CancellationToken cancellationToken = default);
    Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default);
    Task SetSettingAsync(string key, string value, CancellationToken cancellationToken = default);

    // Runs
    Task CreateRunAsync(RunRecord run, CancellationToken cancellationToken = default);
    Task FinishRunAsync(string runId, ExecutionStatus status, DateTimeOffset finishedAt, string? error, CancellationToken cancellationToken = default);
    Task UpdateRunStatusAsync(string runId, ExecutionStatus status, CancellationToken cancellationToken = default);

    /// <summary>A run by id, name or a unique id prefix (at least 4 characters).</summary>
    Task<RunRecord?> FindRunAsync(string idOrName, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<RunRecord>> ListRunsAsync(string? pipeline = null, int limit = 50, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of runs, newest first: those of <paramref name="pipeline"/> and in <paramref name="status"/> when given, after skipping
    /// <paramref name="offset"/>. The default reads the first <c>offset + limit</c> runs and filters them; the SQL stores ask the database.
    /// </summary>
    async Task<IReadOnlyList<RunRecord>> ListRunsPageAsync(string? pipeline, ExecutionStatus? status, int offset, int limit,
        CancellationToken cancellationToken = default)
    {
        var runs = await ListRunsAsync(pipeline, status is null ? offset + limit : int.MaxValue, cancellationToken).ConfigureAwait(false);
        return runs.Where(r => status is null || r.Status == status).Skip(offset).Take(limit).ToArray();
    }

    /// <summary>
    /// Keeps the pipeline's graph with the run: each step's name and the names of the steps it reads from. Steps that have not run
    /// (waiting, skipped, or never reached) have no records of their own; the graph places them. <value>Default: not kept.</value>
    /// </summary>
    Task SaveRunGraphAsync(string runId, IReadOnlyDictionary<string, IReadOnlyList<string>> upstream, CancellationToken cancellationToken = default) =>
        Task.CompletedTask;

    /// <summary>The graph <see cref="SaveRunGraphAsync"/> kept for the run, or null (a run recorded before graphs were kept).</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<string>>?> GetRunGraphAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, IReadOnlyList<string>>?>(null);

    /// <summary>Marks a finished run as running again (resume).</summary>
    Task ReopenRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Asks the process running a run to cancel it (<c>strata run cancel</c> from another terminal).</summary>
    Task RequestCancelAsync(string runId, CancellationToken cancellationToken = default);

    Task<bool> IsCancelRequestedAsync(string runId, CancellationToken cancellationToken = default);

    // Step runs
    /// <summary>Records a step run that starts now, with the artifacts it reads (lineage).</summary>
    Task CreateStepRunAsync(StepRunRecord stepRun, IReadOnlyList<(string Name, string ArtifactId)> inputs, CancellationToken cancellationToken = default);

    /// <summary>Records how a step run ended, its new artifacts and the outputs it links (new or reused from a cache hit).</summary>
    Task FinishStepRunAsync(string stepRunId, ExecutionStatus status, DateTimeOffset finishedAt, string? error,
        IReadOnlyList<ArtifactRecord> newArtifacts, IReadOnlyList<(string Name, string ArtifactId)> outputs, CancellationToken cancellationToken = default);

    /// <summary>Records, in one write, a step run that is already over (served from the cache, skipped or cancelled before it ran).</summary>
    Task RecordStepRunAsync(StepRunRecord stepRun, IReadOnlyList<(string Name, string ArtifactId)> inputs,
        IReadOnlyList<ArtifactRecord> newArtifacts, IReadOnlyList<(string Name, string ArtifactId)> outputs, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<StepRunRecord>> ListStepRunsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>One step run by its id (e.g. an artifact's producer), or null.</summary>
    Task<StepRunRecord?> GetStepRunAsync(string stepRunId, CancellationToken cancellationToken = default);

    /// <summary>How many step runs a run has in each state (states it has none in are left out).</summary>
    Task<IReadOnlyDictionary<ExecutionStatus, int>> CountStepRunsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many steps of a run are in each state by each step's latest attempt, and how many earlier attempts. A step's step runs
    /// differ in <see cref="StepRunRecord.Attempt"/>: a retry or a resume records the next attempt. A finished run's counts may be
    /// those it had when it finished (a store may keep them with the run then), until it is reopened or finished again.
    /// </summary>
    Task<StepCounts> CountStepsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// At most <paramref name="limit"/> of a run's step runs, those that did not succeed (failed, skipped, running...)
    /// chosen first, in the order <see cref="ListStepRunsAsync(string, CancellationToken)"/> gives: a large run's problems at a glance.
    /// </summary>
    Task<IReadOnlyList<StepRunRecord>> ListStepRunsAsync(string runId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every attempt of one step of a run, by attempt: what a view of that step needs, without the run's other step runs.
    /// <value>Default: the run's step runs of that name.</value>
    /// </summary>
    async Task<IReadOnlyList<StepRunRecord>> ListStepAttemptsAsync(string runId, string stepName, CancellationToken cancellationToken = default)
    {
        var attempts = new List<StepRunRecord>();
        foreach (var s in await ListStepRunsAsync(runId, cancellationToken).ConfigureAwait(false))
            if (s.Name == stepName) attempts.Add(s);
        attempts.Sort((a, b) => a.Attempt.CompareTo(b.Attempt));
        return attempts;
    }

    /// <summary>Records the step operator and job handle (JSON) of a submitted step run.</summary>
    Task SetStepJobAsync(string stepRunId, string stepOperator, string job, CancellationToken cancellationToken = default);

    /// <summary>The latest successful step run with this cache key and its outputs, or null.</summary>
    Task<(StepRunRecord StepRun, IReadOnlyList<StepArtifactLink> Outputs)?> FindCachedAsync(string cacheKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// The cache entries of one step definition (its full name and code version), read at once before a run looks its steps
    /// up: of its <paramref name="limit"/> most recently finished successful step runs, the latest of each cache key, with its
    /// outputs, in no particular order. <c>Complete</c>: there were no more than that, so a key not among them has no entry.
    /// <value>Default: null, and the run asks <see cref="FindCachedAsync"/> for each step.</value>
    /// </summary>
    Task<(IReadOnlyList<CachedStepRun> Entries, bool Complete)?> ListCachedAsync(string stepFullName, string codeVersion, int limit,
        CancellationToken cancellationToken = default) =>
        Task.FromResult<(IReadOnlyList<CachedStepRun>, bool)?>(null);

    Task<IReadOnlyList<StepArtifactLink>> GetStepOutputsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The outputs of these step runs.</summary>
    Task<IReadOnlyList<StepArtifactLink>> GetStepOutputsAsync(IReadOnlyCollection<string> stepRunIds, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<StepArtifactLink>> GetStepInputsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The inputs of these step runs of a run, without the run's other links.
    /// <value>Default: the run's inputs, of those step runs.</value>
    /// </summary>
    async Task<IReadOnlyList<StepArtifactLink>> GetStepRunInputsAsync(string runId, IReadOnlyCollection<string> stepRunIds,
        CancellationToken cancellationToken = default)
    {
        var wanted = stepRunIds.ToHashSet(StringComparer.Ordinal);
        return (await GetStepInputsAsync(runId, cancellationToken).ConfigureAwait(false)).Where(l => wanted.Contains(l.StepRunId)).ToArray();
    }

    // Artifacts
    /// <summary>An artifact by id, or a unique start or end of its id (at least 4 characters).</summary>
    Task<ArtifactRecord?> FindArtifactAsync(string idOrPrefix, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string? runId = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>The step runs that read the artifact, each with the input it read it as (lineage downstream), oldest first.</summary>
    Task<IReadOnlyList<(StepRunRecord StepRun, string Input)>> GetArtifactConsumersAsync(string artifactId, CancellationToken cancellationToken = default);

    // Secrets
    /// <summary>Adds a secret, or replaces it when <paramref name="replace"/> is set.</summary>
    /// <exception cref="StrataConfigException">Adding one that exists, or replacing one that does not.</exception>
    Task PutSecretAsync(SecretRecord secret, bool replace, CancellationToken cancellationToken = default);
    Task<SecretRecord?> GetSecretAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(CancellationToken cancellationToken = default);
    Task DeleteSecretAsync(string name, CancellationToken cancellationToken = default);

    // Logs
    Task SaveStepLogAsync(string stepRunId, string log, CancellationToken cancellationToken = default);
    Task<string?> GetStepLogAsync(string stepRunId, CancellationToken cancellationToken = default);
}

/// <summary>A store that writes a batch of step-run changes in one transaction (the SQL stores do).</summary>
internal interface IStepRunBatchWriter
{
    /// <summary>Applies step-run writes in order, in one transaction: all of them or, when one fails, none.</summary>
    Task WriteStepRunsAsync(IReadOnlyList<StepRunWrite> writes, CancellationToken cancellationToken = default);
}

internal static class StepRunWrites
{
    /// <summary>
    /// Applies the writes in order: in one transaction where the store batches them, otherwise one call each
    /// (a store of another kind still records every step).
    /// </summary>
    public static async Task WriteStepRunsAsync(this IMetadataStore store, IReadOnlyList<StepRunWrite> writes, CancellationToken cancellationToken = default)
    {
        if (store is IStepRunBatchWriter batch)
        {
            await batch.WriteStepRunsAsync(writes, cancellationToken).ConfigureAwait(false);
            return;
        }
        foreach (var write in writes)
        {
            var done = write switch
            {
                StepRunStarted w => store.CreateStepRunAsync(w.StepRun, w.Inputs, cancellationToken),
                StepRunFinished w => store.FinishStepRunAsync(w.Id, w.Status, w.FinishedAt, w.Error, w.NewArtifacts, w.Outputs, cancellationToken),
                StepRunRecorded w => store.RecordStepRunAsync(w.StepRun, w.Inputs, w.NewArtifacts, w.Outputs, cancellationToken),
                StepLogSaved w => store.SaveStepLogAsync(w.Id, w.Log, cancellationToken),
                _ => throw new ArgumentException($"unknown step-run write {write.GetType().Name}", nameof(writes)),
            };
            await done.ConfigureAwait(false);
        }
    }
}
