using System.Runtime.CompilerServices;

namespace Strata.StepOperators;

/// <summary>
/// Runs one step somewhere else — another process, a cluster, a cloud training service — while the rest of the
/// pipeline runs where it is. The orchestrator writes the step's manifest to the artifact store and asks the operator
/// to run the step entrypoint command; the operator never touches the metadata store.
/// </summary>
/// <remarks>
/// Implementers:
/// <list type="bullet">
/// <item><see cref="SubmitAsync"/> starts the job and returns a handle whose <see cref="StepJob.Data"/> is enough to
/// find the job again from another process after a restart. Name backend jobs with <see cref="StepJobNames.For"/>
/// so the name derives from the step-run id; submitting the same step run twice must not start two jobs when the
/// backend can tell (look the name up first).</item>
/// <item><see cref="GetStatusAsync"/> reports <see cref="StepJobState.Queued"/> with the backend's reason while the job
/// waits for resources; the orchestrator applies the pending timeout and the step timeout and calls
/// <see cref="CancelAsync"/> when either passes.</item>
/// <item><see cref="CancelAsync"/> must stop the job and everything it started; it is called for Ctrl+C,
/// <c>strata run cancel</c>, timeouts, and again after a restart for jobs left running. It must be safe to call twice.</item>
/// <item><see cref="StreamLogsAsync"/> yields the job's output lines as they appear; they go to the live console and
/// the step's stored log. Secrets must never be placed on a command line, in a job name or in backend fields that
/// others can read; the launch's <see cref="StepLaunch.Secrets"/> are meant for the job's environment.</item>
/// </list>
/// </remarks>
public abstract class StepOperator : IAsyncDisposable
{
    /// <summary>The component name this operator is registered under.</summary>
    public string Name { get; internal set; } = "";

    /// <summary>Starts a job that runs <see cref="StepLaunch.Command"/>.</summary>
    public abstract Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default);

    /// <summary>
    /// How long the orchestrator gathers launches for this operator before handing them over together to
    /// <see cref="SubmitManyAsync"/>: it waits until every step the run has ready has come, or no new launch has come for this
    /// long (and at most ten times this long after the first). Null: every launch goes alone to <see cref="SubmitAsync"/> at once. A step on an operator that
    /// gathers does not take one of the run's parallelism slots, so a fan-out reaches the operator whole; the operator
    /// bounds its own jobs. <value>Default: null.</value>
    /// </summary>
    public virtual TimeSpan? SubmitWindow => null;

    /// <summary>
    /// Starts jobs for several launches at once (a backend that can submit them as one request, such as a Slurm job array,
    /// does so) and returns their handles in the order of <paramref name="launches"/>. Each handle is the handle of its
    /// own launch, exactly as <see cref="SubmitAsync"/> would return it: status, cancel, logs and cleanup work per launch.
    /// <value>Default: submits the launches one by one through <see cref="SubmitAsync"/>.</value>
    /// </summary>
    /// <remarks>
    /// When this throws, the caller submits each launch again alone through <see cref="SubmitAsync"/>, so every step gets
    /// its own outcome; since submission is idempotent per step run, launches that did reach the backend are found, not
    /// started twice.
    /// </remarks>
    public virtual async Task<IReadOnlyList<StepJob>> SubmitManyAsync(IReadOnlyList<StepLaunch> launches,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launches);
        var jobs = new List<StepJob>(launches.Count);
        foreach (var launch in launches)
            jobs.Add(await SubmitAsync(launch, cancellationToken).ConfigureAwait(false));
        return jobs;
    }

    public abstract Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default);

    /// <summary>Stops the job and everything it started. Safe to call on a finished job.</summary>
    public abstract Task CancelAsync(StepJob job, CancellationToken cancellationToken = default);

    /// <summary>Releases what the job left behind (working files, backend records). Called after the job finished.</summary>
    public virtual Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>
    /// Waits between two <see cref="GetStatusAsync"/> polls, at most <paramref name="delay"/>. An operator that can see a job
    /// end sooner and cheaply (a file the job writes, a long poll) returns as soon as it does, so a finished step is noticed
    /// without waiting out the poll backoff. <value>Default: waits the whole delay.</value>
    /// </summary>
    public virtual Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default) =>
        Task.Delay(delay, time, cancellationToken);

    /// <summary>The job's output lines as they appear, until the job ends. <value>Default: none.</value></summary>
    public virtual async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    /// <summary>
    /// The classic synchronous contract: submit, wait for the job to end, clean up. The job is followed exactly as the
    /// orchestrator follows it: polling with backoff, <see cref="StepLaunch.PendingTimeout"/> and
    /// <see cref="StepLaunch.Timeout"/> applied, and a job that is cancelled (by <paramref name="cancellationToken"/> or a
    /// timeout) waited for until it has stopped.
    /// </summary>
    /// <exception cref="StepTimeoutException">A timeout passed; the job was cancelled.</exception>
    public async Task<StepJobStatus> LaunchAsync(StepLaunch launch, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launch);
        time ??= TimeProvider.System;
        var submittedAt = time.GetUtcNow();
        var job = await StepJobFollower.SubmitAsync(this, launch, time, cancellationToken).ConfigureAwait(false);
        try
        {
            var follower = new StepJobFollower(this, job, time)
            {
                Step = launch.StepName, Timeout = launch.Timeout, PendingTimeout = launch.PendingTimeout, SubmittedAt = submittedAt,
            };
            return await follower.FollowAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync(job, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private SubmitGatherer? _gatherer;

    /// <summary>The one gatherer of this operator's launches (see <see cref="SubmitWindow"/>).</summary>
    internal SubmitGatherer GathererFor(TimeSpan window, TimeProvider time) =>
        LazyInitializer.EnsureInitialized(ref _gatherer, () => new SubmitGatherer(this, window, time));

    /// <summary>Releases what the operator holds for the run (clients, pools). Called once when the run that built it ends.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A handle to a submitted job. Serializable: it is stored with the step run so status and cancel work after a restart.</summary>
/// <param name="Operator">The step operator's component name.</param>
/// <param name="JobId">The backend's id (a Slurm job id, a training job name, a process id).</param>
/// <param name="StepRunId">The step run the job executes.</param>
/// <param name="Data">Whatever else the operator needs to find the job again.</param>
public sealed record StepJob(string Operator, string JobId, string StepRunId, IReadOnlyDictionary<string, string> Data);

public enum StepJobState
{
    /// <summary>Waiting for resources or a slot; <see cref="StepJobStatus.Reason"/> says why.</summary>
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>Where a job is: its state, the backend's reason (why pending, why failed) and the exit code when known.</summary>
public sealed record StepJobStatus(StepJobState State, string? Reason = null, int? ExitCode = null)
{
    public bool IsFinished => State is StepJobState.Succeeded or StepJobState.Failed or StepJobState.Cancelled;
}

/// <summary>Everything an operator needs to run one step.</summary>
public sealed record StepLaunch
{
    public required string Pipeline { get; init; }
    public required string RunId { get; init; }
    public required string RunName { get; init; }
    public required string StepName { get; init; }
    public required string StepRunId { get; init; }
    public int Attempt { get; init; } = 1;

    /// <summary>
    /// The step's definition (the full name of its method), the same for every node of a fan-out of one step; operators that
    /// submit launches together (<see cref="StepOperator.SubmitManyAsync"/>) group by it. Null when not known.
    /// </summary>
    public string? StepDefinition { get; init; }

    /// <summary>The step entrypoint: runs the step from its manifest (e.g. <c>dotnet App.dll strata-step --manifest URI</c>).</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>Environment for the job: how to reach the artifact store, plus what the step is given. Never secrets.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>Secret values the step asked for, as environment variables. Keep them off command lines and out of logs.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>The flavor's settings object: the component's config overridden by the step's settings.</summary>
    public required object Settings { get; init; }

    public StepResources Resources { get; init; } = StepResources.None;

    /// <summary>
    /// The image the job runs, for operators whose settings derive from <see cref="ImageStepOperatorSettings"/>: the settings' image,
    /// else the image Strata built for this run, else (a stack without an image builder) the base image as is. Null for other operators.
    /// </summary>
    public string? Image { get; init; }

    /// <summary>
    /// The name of the app assembly that defines the step (e.g. <c>Quickstart</c>): the one an image Strata builds starts, as
    /// <c>dotnet /app/NAME.dll</c>. For backends that run a command in the image instead of its ENTRYPOINT.
    /// </summary>
    public string? AppName { get; init; }

    /// <summary>The manifest's URI in the artifact store.</summary>
    public required string ManifestUri { get; init; }

    /// <summary>
    /// How a job in an image runs <see cref="Command"/>: the command starts the app on this machine and ends with
    /// <c>strata-step --manifest URI</c>; in an image the app is started by the image's own ENTRYPOINT (a null entrypoint here),
    /// or by the settings' <c>entrypoint</c> when given, with the arguments from <c>strata-step</c> on. A command without the
    /// step verb is run whole.
    /// </summary>
    public (IReadOnlyList<string>? Entrypoint, IReadOnlyList<string> Arguments) ImageCommand()
    {
        var verb = -1;
        for (var i = Command.Count - 1; i >= 0; i--)
            if (Command[i] == StrataEntrypoint.Verb) { verb = i; break; }
        if (verb < 0) return (Command.Take(1).ToArray(), Command.Skip(1).ToArray());
        return (Settings is StepOperatorSettings { Entrypoint: { Count: > 0 } entrypoint } ? entrypoint.ToArray() : null, Command.Skip(verb).ToArray());
    }

    /// <summary>How long the step may run once started, if limited.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How long the job may wait for resources (queued) before it is cancelled, if limited.</summary>
    public TimeSpan? PendingTimeout { get; init; }
}

/// <summary>Backend job names derived from the step-run id, so a job can be found again after a restart.</summary>
public static class StepJobNames
{
    /// <summary>
    /// <c>strata-{pipeline}-{step}-{id}</c> cut to <paramref name="maxLength"/>, using only lower-case letters, digits and
    /// '-', starting with a letter. The step-run id's random tail is always kept whole, so names stay unique.
    /// </summary>
    public static string For(string stepRunId, string? pipeline = null, string? step = null, int maxLength = 63)
    {
        var id = new string(stepRunId.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant();
        var tail = id.Length > 20 ? id[^20..] : id;
        string Clean(string? s) => new string((s ?? "").ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        var prefix = string.Join('-', new[] { "strata", Clean(pipeline), Clean(step) }.Where(p => p.Length > 0));
        var room = Math.Max(0, maxLength - tail.Length - 1);
        if (prefix.Length > room) prefix = prefix[..room].TrimEnd('-');
        var name = prefix.Length > 0 ? $"{prefix}-{tail}" : tail;
        while (name.Contains("--", StringComparison.Ordinal)) name = name.Replace("--", "-", StringComparison.Ordinal);
        return name;
    }
}
