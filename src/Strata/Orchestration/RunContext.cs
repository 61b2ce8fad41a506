using System.Collections.Concurrent;
using System.Diagnostics;

namespace Strata;

/// <summary>The state of one run while it executes: the outputs of finished steps, and how to record each step.</summary>
/// <remarks>
/// Step-run records go through the run's <see cref="StepRecorder"/>: a step in this process does not wait for its
/// records to be committed; a step on a step operator waits for its start to be, since its job handle is added to it.
/// </remarks>
internal sealed class RunContext(RunRecord run, PipelineDefinition pipeline, StepRecorder recorder, ArtifactStore artifacts,
    MaterializerRegistry materializers, IRunObserver observer, IReadOnlyDictionary<StepNode, StepPlan> plans,
    Func<StepPlan, IStepLauncher> launcherFor, CacheIndex? cache, PriorRun? prior = null, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<StepNode, StepOutcome> _outcomes = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The step runs left running by an earlier execution that this run followed again or stopped.</summary>
    private readonly ConcurrentDictionary<string, bool> _leftHandled = new(StringComparer.Ordinal);

    public async Task<StepOutcome> ExecuteAsync(StepNode node, CancellationToken cancellationToken)
    {
        var step = node.Definition;
        var plan = plans[node];
        var clock = _time.GetTimestamp();
        var stepRunId = Ids.New();
        var parametersJson = ParametersJson(node);
        var started = false;
        try
        {
            if (recorder.Failure is { } refused)
                throw new StoreException($"recording an earlier step failed, so no more steps start: {refused.Message}", refused);
            var arguments = BuildArguments(node);
            var inputs = arguments.Where(a => !a.IsLiteral)
                .SelectMany(a => a.Inputs.Select(i => (a.Assemble ? $"{a.Parameter.Name}.{i.Output}" : a.Parameter.Name, i.Slot.Artifact.Id)))
                .ToArray();
            var cacheKey = CacheKey.Compute(step, CacheParts(arguments), step.Outputs.Select(o => (o.Name, materializers.Get(o.Type))));

            // Resuming: what already succeeded in this run with the same key is kept as it is.
            if (prior?.Succeeded.TryGetValue(node.Name, out var done) == true && done.StepRun.CacheKey == cacheKey
                && await OutputsExistAsync(node.Name, done.Outputs, cancellationToken).ConfigureAwait(false))
            {
                observer.StepChanged(new StepProgress(node.Name, done.StepRun.Status, TimeSpan.Zero, "kept from before the resume"));
                return Record(new StepOutcome(node, done.StepRun.Id, done.StepRun.Status, TimeSpan.Zero, null,
                    done.Outputs.ToDictionary(o => o.Name, o => new OutputSlot(o.Artifact, false, null))));
            }

            if (step.EnableCache && cache is not null && await FindCacheHitAsync(cache, node, cacheKey, cancellationToken).ConfigureAwait(false) is { } hit)
            {
                var now = _time.GetUtcNow();
                recorder.Post(new StepRunRecorded(new StepRunRecord(stepRunId, run.Id, node.Name, step.FullName, step.CodeVersion, cacheKey,
                    ExecutionStatus.Cached, now, now, null, hit.StepRunId, parametersJson), inputs, [],
                    hit.Outputs.Select(o => (o.Name, o.Artifact.Id)).ToArray()));
                using (var cached = StepActivity(node, stepRunId, plan, attempt: null))
                    cached?.AddEvent(new ActivityEvent("cache hit", tags: new ActivityTagsCollection { ["strata.cached_from"] = hit.StepRunId }));
                StrataTelemetry.Metrics.StepsCached.Add(1, MetricTags(node));
                observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Cached, _time.GetElapsedTime(clock), $"from step run {hit.StepRunId}"));
                return Record(new StepOutcome(node, stepRunId, ExecutionStatus.Cached, _time.GetElapsedTime(clock), null,
                    hit.Outputs.ToDictionary(o => o.Name, o => new OutputSlot(o.Artifact, false, null))));
            }

            // Resuming: a job the earlier execution left running for this very step run is followed again, not submitted anew.
            var left = prior?.Running.GetValueOrDefault(node.Name);
            if (left is not null && left.CacheKey != cacheKey)
            {
                await StopAsync(plan, left).ConfigureAwait(false);
                left = null;
            }
            var firstAttempt = left?.Attempt ?? (prior?.Attempts.GetValueOrDefault(node.Name) ?? 0) + 1;
            var lastAttempt = firstAttempt + plan.Retries;
            for (var attempt = firstAttempt; ; attempt++)
            {
                var attemptClock = _time.GetTimestamp();
                var reattach = attempt == firstAttempt ? left : null;
                if (reattach is not null)
                {
                    stepRunId = reattach.Id;
                    _leftHandled[reattach.Id] = true;
                }
                else
                {
                    var start = new StepRunStarted(new StepRunRecord(stepRunId, run.Id, node.Name, step.FullName, step.CodeVersion, cacheKey,
                        ExecutionStatus.Running, _time.GetUtcNow(), null, null, null, parametersJson, attempt, plan.OperatorName), inputs);
                    if (InProcess(plan)) recorder.Post(start);
                    else await recorder.WriteAsync(start).ConfigureAwait(false);
                    observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Running, null,
                        (plan.OperatorName is null ? null : $"on step operator '{plan.OperatorName}'") is { } where
                            ? attempt > 1 ? $"{where}, attempt {attempt}" : where
                            : attempt > 1 ? $"attempt {attempt}" : null));
                }
                started = true;
                using var activity = StepActivity(node, stepRunId, plan, attempt);
                StrataTelemetry.Metrics.StepsStarted.Add(1, MetricTags(node));

                var log = new StepLog(node.Name, observer.StepLogLine);
                var prefix = ArtifactPath.Combine(run.Pipeline, run.Name, $"{node.Name}.{stepRunId[^8..]}");
                var invocation = new StepInvocation(run, node, stepRunId, arguments, prefix, log, attempt);
                StepExecutionResult result;
                try
                {
                    result = reattach is not null
                        ? await ((RemoteStepLauncher)launcherFor(plan)).ReattachAsync(invocation, StepJobOf(reattach), artifacts,
                            cancellationToken).ConfigureAwait(false)
                        : await LaunchAsync(plan, invocation, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    var cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
                    var status = cancelled ? ExecutionStatus.Cancelled : ExecutionStatus.Failed;
                    var error = cancelled ? "cancelled" : Describe(e);
                    // A full disk or a missing permission is news in itself; a materializer that failed keeps its trace.
                    if (e is OutputWriteException { InnerException: IOException or UnauthorizedAccessException }) log.WriteLine(e.Message);
                    else if (!cancelled && e is not StepFailedException and not StepTimeoutException) log.WriteLine(e.ToString());
                    activity?.SetTag(StrataTelemetry.Tags.Status, status.ToString().ToLowerInvariant());
                    if (!cancelled)
                    {
                        StrataTelemetry.Fail(activity, error, e);
                        StrataTelemetry.Metrics.StepsFailed.Add(1, MetricTags(node));
                    }
                    StrataTelemetry.Metrics.StepDuration.Record(_time.GetElapsedTime(attemptClock).TotalSeconds, MetricTags(node));
                    recorder.Post(new StepRunFinished(stepRunId, status, _time.GetUtcNow(), error, [], []));
                    SaveLog(stepRunId, log);
                    if (cancelled || attempt >= lastAttempt)
                    {
                        observer.StepChanged(new StepProgress(node.Name, status, _time.GetElapsedTime(attemptClock), error));
                        return Record(new StepOutcome(node, stepRunId, status, _time.GetElapsedTime(clock), error, new Dictionary<string, OutputSlot>()));
                    }
                    var wait = plan.DelayBefore(attempt - firstAttempt + 1);
                    observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Retrying, _time.GetElapsedTime(attemptClock),
                        $"attempt {attempt} failed ({error}); retrying in {ConsoleRunReporter.Format(wait)}"));
                    try
                    {
                        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return RecordNotRun(node, ExecutionStatus.Cancelled, "the run was cancelled while waiting to retry");
                    }
                    stepRunId = Ids.New();
                    started = false;
                    continue;
                }

                recorder.Post(new StepRunFinished(stepRunId, ExecutionStatus.Completed, _time.GetUtcNow(), null,
                    result.Artifacts(), result.Outputs.Select(o => (o.Name, o.Artifact.Id)).ToArray()));
                SaveLog(stepRunId, log);
                activity?.SetTag(StrataTelemetry.Tags.Status, "completed");
                StrataTelemetry.Metrics.StepsCompleted.Add(1, MetricTags(node));
                StrataTelemetry.Metrics.StepDuration.Record(_time.GetElapsedTime(attemptClock).TotalSeconds, MetricTags(node));
                StrataTelemetry.Metrics.ArtifactBytes.Add(result.Outputs.Sum(o => o.Artifact.Size), MetricTags(node));
                observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Completed, _time.GetElapsedTime(attemptClock)));
                return Record(new StepOutcome(node, stepRunId, ExecutionStatus.Completed, _time.GetElapsedTime(clock), null,
                    result.Outputs.ToDictionary(o => o.Name, o => new OutputSlot(o.Artifact, InProcess(plan), o.Value))));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Preparing or recording the step failed (an input that cannot be loaded, the store refusing a write).
            var error = Describe(e);
            observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Failed, _time.GetElapsedTime(clock), error));
            var now = _time.GetUtcNow();
            recorder.Post(started
                ? new StepRunFinished(stepRunId, ExecutionStatus.Failed, now, error, [], [])
                : new StepRunRecorded(new StepRunRecord(stepRunId, run.Id, node.Name, step.FullName, step.CodeVersion, null,
                    ExecutionStatus.Failed, now, now, error, null, parametersJson), [], [], []));
            return Record(new StepOutcome(node, stepRunId, ExecutionStatus.Failed, _time.GetElapsedTime(clock), error, new Dictionary<string, OutputSlot>()));
        }
        catch (OperationCanceledException)
        {
            return RecordNotRun(node, ExecutionStatus.Cancelled, "the run was cancelled");
        }
    }

    private static bool InProcess(StepPlan plan) => plan.Operator is null;

    /// <summary>The span of one step attempt (or of a cache hit, without an attempt), a child of the run's.</summary>
    private Activity? StepActivity(StepNode node, string stepRunId, StepPlan plan, int? attempt)
    {
        var activity = StrataTelemetry.Source.StartActivity($"step {node.Name}");
        if (activity is null) return null;
        activity.SetTag(StrataTelemetry.Tags.Pipeline, run.Pipeline).SetTag(StrataTelemetry.Tags.RunId, run.Id).SetTag(StrataTelemetry.Tags.RunName, run.Name)
            .SetTag(StrataTelemetry.Tags.Step, node.Name).SetTag(StrataTelemetry.Tags.StepRunId, stepRunId);
        if (attempt is { } n) activity.SetTag(StrataTelemetry.Tags.Attempt, n);
        if (plan.OperatorName is { } op) activity.SetTag(StrataTelemetry.Tags.Operator, op);
        return activity;
    }

    private TagList MetricTags(StepNode node) => new() { { StrataTelemetry.Tags.Pipeline, run.Pipeline }, { StrataTelemetry.Tags.Step, node.Name } };

    private static StepJob StepJobOf(StepRunRecord stepRun) => System.Text.Json.JsonSerializer.Deserialize<StepJob>(stepRun.Job!, StrataJson.Compact)!;

    /// <summary>Stops a job left running that this run will not follow (its step's inputs changed), and records why.</summary>
    private async Task StopAsync(StepPlan plan, StepRunRecord left)
    {
        if (!_leftHandled.TryAdd(left.Id, true)) return;
        await plan.Operator!.CancelAsync(StepJobOf(left), CancellationToken.None).ConfigureAwait(false);
        recorder.Post(new StepRunFinished(left.Id, ExecutionStatus.Failed, _time.GetUtcNow(), "interrupted; resumed with other inputs", [], []));
    }

    /// <summary>Stops the jobs left running by an earlier execution whose steps this run did not reach (skipped or cancelled before them).</summary>
    public async Task StopUnclaimedAsync()
    {
        foreach (var (name, left) in prior?.Running ?? new Dictionary<string, StepRunRecord>())
        {
            var node = pipeline.Nodes.FirstOrDefault(n => n.Name == name);
            if (node is null || plans[node].Operator is null || _leftHandled.ContainsKey(left.Id)) continue;
            try { await StopAsync(plans[node], left).ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { observer.Warning($"could not cancel job {left.Job} of step '{name}': {e.Message}"); }
        }
    }

    /// <summary>Runs one attempt; an in-process step with a timeout is abandoned (and fails) when the timeout passes.</summary>
    private async Task<StepExecutionResult> LaunchAsync(StepPlan plan, StepInvocation invocation, CancellationToken cancellationToken)
    {
        var launcher = launcherFor(plan);
        if (plan.Operator is not null || plan.Timeout is null)
            return await launcher.LaunchAsync(invocation, artifacts, materializers, cancellationToken).ConfigureAwait(false);
        using var timer = new CancellationTokenSource(plan.Timeout.Value, _time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var work = launcher.LaunchAsync(invocation, artifacts, materializers, limit.Token);
        try
        {
            return await work.WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StepTimeoutException($"step '{invocation.Node.Name}' ran longer than its timeout {plan.Timeout.Value}", pending: false);
        }
    }

    /// <summary>
    /// Whether every output is still in the artifact store as it was written. One that was changed or corrupted there is
    /// not used: the user is warned and the step runs again (its new outputs are what later runs find in the cache).
    /// </summary>
    private async Task<bool> OutputsExistAsync(string step, IReadOnlyList<StepArtifactLink> outputs, CancellationToken cancellationToken)
    {
        foreach (var output in outputs)
        {
            string path;
            try
            {
                path = artifacts.PathOf(output.Artifact.Uri);
            }
            catch (ArtifactException) { return false; } // in another artifact store
            try
            {
                if (!await artifacts.VerifyAsync(path, output.Artifact.ContentHash, cancellationToken).ConfigureAwait(false)) return false;
            }
            catch (ArtifactException e)
            {
                observer.Warning($"step '{step}': its earlier output '{output.Name}' is not used, and the step runs again. {e.Message}");
                return false;
            }
        }
        return true;
    }

    /// <summary>Records a step that will not run (skipped after a failure upstream, or cancelled before it started).</summary>
    public StepOutcome RecordNotRun(StepNode node, ExecutionStatus status, string reason)
    {
        var stepRunId = Ids.New();
        recorder.Post(new StepRunRecorded(new StepRunRecord(stepRunId, run.Id, node.Name, node.Definition.FullName, node.Definition.CodeVersion, null,
            status, null, _time.GetUtcNow(), reason, null, ParametersJson(node)), [], [], []));
        observer.StepChanged(new StepProgress(node.Name, status, null, reason));
        return Record(new StepOutcome(node, stepRunId, status, TimeSpan.Zero, reason, new Dictionary<string, OutputSlot>()));
    }

    private StepOutcome Record(StepOutcome outcome)
    {
        _outcomes[outcome.Node] = outcome;
        return outcome;
    }

    private void SaveLog(string stepRunId, StepLog log)
    {
        var text = log.Text;
        if (text.Length > 0) recorder.Post(new StepLogSaved(stepRunId, text));
    }

    private IReadOnlyList<StepArgument> BuildArguments(StepNode node)
    {
        var literals = pipeline.ParameterJson[node];
        var arguments = new StepArgument[node.Bindings.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var parameter = node.Definition.Parameters[i];
            switch (node.Bindings[i])
            {
                case LiteralBinding literal:
                    arguments[i] = new StepArgument(parameter, true, literal.Value, literals[i], null, [], false);
                    break;
                case OutputBinding binding:
                    var upstream = _outcomes[binding.Node];
                    var source = binding.Node.Definition;
                    var assemble = binding.OutputName is null;
                    var names = assemble ? source.Outputs.Select(o => o.Name) : [binding.OutputName!];
                    arguments[i] = new StepArgument(parameter, false, null, null, source, names.Select(n => (n, upstream.Outputs[n])).ToArray(), assemble);
                    break;
            }
        }
        return arguments;
    }

    private static IReadOnlyList<string> CacheParts(IReadOnlyList<StepArgument> arguments) =>
        arguments.Select(a => a.IsLiteral
            ? $"{a.Parameter.Name}=json:{a.LiteralJson}"
            : $"{a.Parameter.Name}=artifacts:{string.Join(",", a.Inputs.Select(i => $"{i.Output}:{i.Slot.Artifact.ContentHash}"))}").ToArray();

    /// <summary>The step's literal arguments as a JSON object, <c>{}</c> when it has none (a step fed only by other steps).</summary>
    private string ParametersJson(StepNode node)
    {
        var literals = pipeline.ParameterJson[node];
        System.Text.StringBuilder? json = null;
        foreach (var parameter in node.Definition.Parameters)
        {
            if (literals[parameter.Position] is not { } literal) continue;
            if (json is null) json = new System.Text.StringBuilder("{");
            else json.Append(',');
            json.Append(System.Text.Json.JsonSerializer.Serialize(parameter.Name)).Append(':').Append(literal);
        }
        return json is null ? "{}" : json.Append('}').ToString();
    }

    /// <summary>A cache hit counts only when every output artifact is still in the artifact store as written; otherwise the step runs.</summary>
    private async Task<(string StepRunId, IReadOnlyList<StepArtifactLink> Outputs)?> FindCacheHitAsync(CacheIndex cache, StepNode node, string cacheKey,
        CancellationToken cancellationToken)
    {
        var hit = await cache.FindAsync(node.Definition, cacheKey, cancellationToken).ConfigureAwait(false);
        if (hit is null) return null;
        return await OutputsExistAsync(node.Name, hit.Value.Outputs, cancellationToken).ConfigureAwait(false) ? hit : null;
    }

    internal static string Describe(Exception e) =>
        e is StepFailedException or StepTimeoutException or OutputWriteException ? e.Message : $"{e.GetType().Name}: {e.Message}";
}

/// <summary>How a step invocation ended in this run, with its outputs for the steps downstream.</summary>
internal sealed record StepOutcome(StepNode Node, string? StepRunId, ExecutionStatus Status, TimeSpan Duration, string? Error,
    IReadOnlyDictionary<string, OutputSlot> Outputs)
{
    public StepResult ToResult() => new(Node.Name, StepRunId, Status, Duration, Error, Outputs.ToDictionary(o => o.Key, o => o.Value.Artifact));
}

/// <summary>
/// What an earlier execution of a run left behind, for resuming it: the latest successful step run per step, attempt
/// counts, and the step runs whose jobs were left running on their step operators, to re-attach to.
/// </summary>
internal sealed record PriorRun(
    IReadOnlyDictionary<string, (StepRunRecord StepRun, IReadOnlyList<StepArtifactLink> Outputs)> Succeeded,
    IReadOnlyDictionary<string, int> Attempts,
    IReadOnlyDictionary<string, StepRunRecord> Running);
