namespace Strata;

/// <summary>
/// Runs a pipeline on this machine: each step starts when its inputs are ready, up to a parallelism limit.
/// A failed step fails the run and skips what depends on it; other branches finish. Steps with a step operator
/// run through it; the rest run in this process.
/// </summary>
internal sealed class LocalOrchestrator(
    IMetadataStore store, ArtifactStore artifacts, MaterializerRegistry materializers, IRunObserver observer,
    Func<StepPlan, IStepLauncher> launcherFor, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>How often the run checks whether another process asked to cancel it.</summary>
    public static TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The last suffix a generated run name took: counted on from a random start, so runs of one process started in the
    /// same second never share a name (random suffixes did, once runs took milliseconds), and other processes' rarely.
    /// </summary>
    private static int _runNameSuffix = Random.Shared.Next(0x10000);

    public async Task<RunResult> RunAsync(PipelineDefinition pipeline, IReadOnlyDictionary<StepNode, StepPlan> plans, string stackName,
        int maxParallelism, bool noCache, string? runName, string? source, string? config, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var run = new RunRecord(Guid.CreateVersion7().ToString(),
            runName ?? $"{pipeline.Name}-{now:yyyyMMdd-HHmmss}-{Interlocked.Increment(ref _runNameSuffix) & 0xFFFF:x4}",
            pipeline.Name, stackName, ExecutionStatus.Running, now, null, null, pipeline.Nodes.Count, source, config);
        // The cache entries are read on the other core while the run is recorded: they are earlier runs', which the run's
        // own writes do not change, and for a run of many cached steps they are most of its start.
        var cache = noCache ? Task.FromResult<CacheIndex?>(null)
            : Task.Run(async () => (CacheIndex?)await CacheIndex.LoadAsync(store, pipeline.Nodes, cancellationToken).ConfigureAwait(false), cancellationToken);
        try
        {
            await store.CreateRunAsync(run, cancellationToken).ConfigureAwait(false);
            var graph = pipeline.Nodes.ToDictionary(n => n.Name, n => (IReadOnlyList<string>)[.. n.Upstream.Select(u => u.Name)], StringComparer.Ordinal);
            await store.SaveRunGraphAsync(run.Id, graph, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await cache.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false); // its outcome no longer matters
            throw;
        }
        return await ExecuteAsync(run, pipeline, plans, maxParallelism, cache, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the steps of an existing run that did not succeed, keeping what did (see <see cref="PriorRun"/>).</summary>
    public async Task<RunResult> ResumeAsync(RunRecord run, PipelineDefinition pipeline, IReadOnlyDictionary<StepNode, StepPlan> plans,
        int maxParallelism, PriorRun prior, CancellationToken cancellationToken)
    {
        await store.ReopenRunAsync(run.Id, cancellationToken).ConfigureAwait(false);
        var cache = await CacheIndex.LoadAsync(store, pipeline.Nodes, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(run with { Status = ExecutionStatus.Running, FinishedAt = null, Error = null }, pipeline, plans, maxParallelism,
            Task.FromResult<CacheIndex?>(cache), prior,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunResult> ExecuteAsync(RunRecord run, PipelineDefinition pipeline, IReadOnlyDictionary<StepNode, StepPlan> plans,
        int maxParallelism, Task<CacheIndex?> cacheLoading, PriorRun? prior, CancellationToken cancellationToken)
    {
        var clock = _time.GetTimestamp();
        using var activity = StrataTelemetry.Source.StartActivity($"run {run.Pipeline}");
        activity?.SetTag(StrataTelemetry.Tags.Pipeline, run.Pipeline).SetTag(StrataTelemetry.Tags.RunId, run.Id)
            .SetTag(StrataTelemetry.Tags.RunName, run.Name).SetTag(StrataTelemetry.Tags.Stack, run.Stack);
        observer.RunStarted(run, pipeline.StepNames);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var watching = new CancellationTokenSource();
        var watcher = WatchForCancelRequestAsync(run.Id, cancel, watching.Token);

        var recorder = new StepRecorder(store);
        StepOutcome[] outcomes;
        try
        {
            var cache = await cacheLoading.ConfigureAwait(false);
            var context = new RunContext(run, pipeline, recorder, artifacts, materializers, observer, plans, launcherFor, cache, prior, _time);
            using var gate = new SemaphoreSlim(Math.Max(1, maxParallelism));
            var launches = GatheredLaunches.For(pipeline, plans, _time);
            var tasks = new Dictionary<StepNode, Task<StepOutcome>>();
            foreach (var node in pipeline.Nodes)
            {
                var upstream = node.Upstream.Select(u => tasks[u]).ToArray();
                // A step on an operator that gathers launches (StepOperator.SubmitWindow) takes no slot: the gate bounds the steps this
                // machine works on, and a fan-out must reach the operator whole to be submitted as one (the operator bounds its jobs).
                tasks[node] = launches is null
                    ? RunNodeAsync(context, node, upstream, gate, cancel.Token)
                    : RunGatheredNodeAsync(context, node, upstream, launches.Gathers(node) ? null : gate, launches, cancel.Token);
            }
            outcomes = await Task.WhenAll(tasks.Values).ConfigureAwait(false);
            await context.StopUnclaimedAsync().ConfigureAwait(false);
            await watching.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
        }
        finally
        {
            await recorder.CompleteAsync().ConfigureAwait(false);
        }

        var status = outcomes.Any(o => o.Status == ExecutionStatus.Failed) || recorder.Failure is not null ? ExecutionStatus.Failed
            : outcomes.Any(o => o.Status == ExecutionStatus.Cancelled) || cancel.IsCancellationRequested ? ExecutionStatus.Cancelled
            : outcomes.All(o => o.Status.IsSuccess()) ? ExecutionStatus.Completed
            : ExecutionStatus.Failed;
        var failedSteps = outcomes.Where(o => o.Status == ExecutionStatus.Failed).Select(o => o.Node.Name).ToArray();
        var errors = new List<string>();
        if (failedSteps.Length > 0) errors.Add($"step(s) failed: {string.Join(", ", failedSteps)}");
        if (recorder.Failure is { } refused) errors.Add($"recording the run's steps failed: {refused.Message}");
        var error = errors.Count > 0 ? string.Join("; ", errors) : status == ExecutionStatus.Cancelled ? "cancelled" : null;
        var finishedAt = _time.GetUtcNow();
        await store.FinishRunAsync(run.Id, status, finishedAt, error, CancellationToken.None).ConfigureAwait(false);
        var result = new RunResult(run with { Status = status, FinishedAt = finishedAt, Error = error },
            outcomes.Select(o => o.ToResult()).ToArray(), _time.GetElapsedTime(clock), artifacts, materializers);
        activity?.SetTag(StrataTelemetry.Tags.Status, status.ToString().ToLowerInvariant());
        if (status == ExecutionStatus.Failed) StrataTelemetry.Fail(activity, error ?? "failed");
        observer.RunFinished(result);
        return result;
    }

    /// <summary>Cancels the run when another process asks (<c>strata run cancel</c>).</summary>
    private async Task WatchForCancelRequestAsync(string runId, CancellationTokenSource cancel, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                await Task.Delay(CancelPollInterval, _time, stop).ConfigureAwait(false);
                if (await store.IsCancelRequestedAsync(runId, stop).ConfigureAwait(false))
                {
                    observer.Warning("cancel requested from another process; cancelling running steps");
                    await cancel.CancelAsync().ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>A step of a run with steps on an operator that gathers launches: its outcome is news for the gatherers.</summary>
    private static async Task<StepOutcome> RunGatheredNodeAsync(RunContext context, StepNode node, Task<StepOutcome>[] upstream, SemaphoreSlim? gate,
        GatheredLaunches launches, CancellationToken cancellationToken)
    {
        try
        {
            return await RunNodeAsync(context, node, upstream, gate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            launches.Ended(node); // before the steps waiting on this one go on
        }
    }

    private static async Task<StepOutcome> RunNodeAsync(RunContext context, StepNode node, Task<StepOutcome>[] upstream, SemaphoreSlim? gate,
        CancellationToken cancellationToken)
    {
        StepOutcome[] inputs;
        if (upstream.Length > 0)
        {
            inputs = await Task.WhenAll(upstream).ConfigureAwait(false);
        }
        else
        {
            inputs = [];
            await Task.Yield();
        }
        var blocked = inputs.FirstOrDefault(i => !i.Status.IsSuccess());
        if (blocked is not null)
        {
            var status = blocked.Status == ExecutionStatus.Cancelled ? ExecutionStatus.Cancelled : ExecutionStatus.Skipped;
            var reason = $"upstream step '{blocked.Node.Name}' {blocked.Status.ToString().ToLowerInvariant()}";
            return context.RecordNotRun(node, status, reason);
        }
        if (cancellationToken.IsCancellationRequested)
            return context.RecordNotRun(node, ExecutionStatus.Cancelled, "the run was cancelled");
        if (gate is null) return await context.ExecuteAsync(node, cancellationToken).ConfigureAwait(false);
        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return context.RecordNotRun(node, ExecutionStatus.Cancelled, "the run was cancelled");
        }
        try
        {
            return await context.ExecuteAsync(node, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }
}
