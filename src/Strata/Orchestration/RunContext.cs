using System.Collections.Concurrent;
using System.Diagnostics;

namespace Strata;

/// <summary>The state of one run while it executes: the outputs of finished steps, and how to record each step.</summary>
internal sealed class RunContext(RunRecord run, PipelineDefinition pipeline, IMetadataStore store, ArtifactStore artifacts,
    MaterializerRegistry materializers, IRunObserver observer, IStepLauncher launcher, bool noCache)
{
    private readonly ConcurrentDictionary<StepNode, StepOutcome> _outcomes = new();

    public async Task<StepOutcome> ExecuteAsync(StepNode node, CancellationToken cancellationToken)
    {
        var step = node.Definition;
        var clock = Stopwatch.StartNew();
        var stepRunId = Guid.CreateVersion7().ToString();
        var parametersJson = ParametersJson(node);
        try
        {
            var arguments = BuildArguments(node);
            var inputs = arguments.Where(a => !a.IsLiteral)
                .SelectMany(a => a.Inputs.Select(i => (a.Assemble ? $"{a.Parameter.Name}.{i.Output}" : a.Parameter.Name, i.Slot.Artifact.Id)))
                .ToArray();
            var cacheKey = CacheKey.Compute(step, CacheParts(arguments), step.Outputs.Select(o => (o.Name, materializers.Get(o.Type))));

            if (step.EnableCache && !noCache && await FindCacheHitAsync(cacheKey, cancellationToken).ConfigureAwait(false) is { } hit)
            {
                var now = DateTimeOffset.UtcNow;
                await store.CreateStepRunAsync(new StepRunRecord(stepRunId, run.Id, node.Name, step.FullName, step.CodeVersion, cacheKey,
                    ExecutionStatus.Cached, now, null, null, hit.StepRun.Id, parametersJson), inputs, cancellationToken).ConfigureAwait(false);
                await store.FinishStepRunAsync(stepRunId, ExecutionStatus.Cached, now, null, [],
                    hit.Outputs.Select(o => (o.Name, o.Artifact.Id)).ToArray(), cancellationToken).ConfigureAwait(false);
                observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Cached, clock.Elapsed, $"from step run {hit.StepRun.Id}"));
                return Record(new StepOutcome(node, stepRunId, ExecutionStatus.Cached, clock.Elapsed, null,
                    hit.Outputs.ToDictionary(o => o.Name, o => new OutputSlot(o.Artifact, false, null))));
            }

            await store.CreateStepRunAsync(new StepRunRecord(stepRunId, run.Id, node.Name, step.FullName, step.CodeVersion, cacheKey,
                ExecutionStatus.Running, DateTimeOffset.UtcNow, null, null, null, parametersJson), inputs, cancellationToken).ConfigureAwait(false);
            observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Running));

            var log = new StepLog(node.Name, observer.StepLogLine);
            var prefix = ArtifactPath.Combine(run.Pipeline, run.Name, $"{node.Name}.{stepRunId[^8..]}");
            StepExecutionResult result;
            try
            {
                result = await launcher.LaunchAsync(new StepInvocation(run, node, stepRunId, arguments, prefix, log), artifacts, materializers, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                var cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
                var status = cancelled ? ExecutionStatus.Cancelled : ExecutionStatus.Failed;
                var error = cancelled ? "cancelled" : Describe(e);
                if (!cancelled) log.WriteLine(e.ToString());
                await store.FinishStepRunAsync(stepRunId, status, DateTimeOffset.UtcNow, error, [], [], CancellationToken.None).ConfigureAwait(false);
                await SaveLogAsync(stepRunId, log).ConfigureAwait(false);
                observer.StepChanged(new StepProgress(node.Name, status, clock.Elapsed, error));
                return Record(new StepOutcome(node, stepRunId, status, clock.Elapsed, error, new Dictionary<string, OutputSlot>()));
            }

            await store.FinishStepRunAsync(stepRunId, ExecutionStatus.Completed, DateTimeOffset.UtcNow, null,
                result.Outputs.Select(o => o.Artifact).ToArray(), result.Outputs.Select(o => (o.Name, o.Artifact.Id)).ToArray(),
                CancellationToken.None).ConfigureAwait(false);
            await SaveLogAsync(stepRunId, log).ConfigureAwait(false);
            observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Completed, clock.Elapsed));
            return Record(new StepOutcome(node, stepRunId, ExecutionStatus.Completed, clock.Elapsed, null,
                result.Outputs.ToDictionary(o => o.Name, o => new OutputSlot(o.Artifact, true, o.Value))));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Preparing or recording the step failed (an input that cannot be loaded, the store refusing a write).
            var error = Describe(e);
            observer.StepChanged(new StepProgress(node.Name, ExecutionStatus.Failed, clock.Elapsed, error));
            var recorded = await TryRecordFailureAsync(node, stepRunId, parametersJson, error).ConfigureAwait(false);
            return Record(new StepOutcome(node, recorded ? stepRunId : null, ExecutionStatus.Failed, clock.Elapsed, error, new Dictionary<string, OutputSlot>()));
        }
        catch (OperationCanceledException)
        {
            return await RecordNotRunAsync(node, ExecutionStatus.Cancelled, "the run was cancelled").ConfigureAwait(false);
        }
    }

    /// <summary>Records a step that will not run (skipped after a failure upstream, or cancelled before it started).</summary>
    public async Task<StepOutcome> RecordNotRunAsync(StepNode node, ExecutionStatus status, string reason)
    {
        var stepRunId = Guid.CreateVersion7().ToString();
        var now = DateTimeOffset.UtcNow;
        await store.CreateStepRunAsync(new StepRunRecord(stepRunId, run.Id, node.Name, node.Definition.FullName, node.Definition.CodeVersion, null,
            status, null, now, reason, null, ParametersJson(node)), [], CancellationToken.None).ConfigureAwait(false);
        observer.StepChanged(new StepProgress(node.Name, status, null, reason));
        return Record(new StepOutcome(node, stepRunId, status, TimeSpan.Zero, reason, new Dictionary<string, OutputSlot>()));
    }

    /// <summary>Records a step that failed outside its own code; the store may be what failed, so this is best effort.</summary>
    private async Task<bool> TryRecordFailureAsync(StepNode node, string stepRunId, string parametersJson, string error)
    {
        try
        {
            var steps = await store.ListStepRunsAsync(run.Id, CancellationToken.None).ConfigureAwait(false);
            if (!steps.Any(s => s.Id == stepRunId))
                await store.CreateStepRunAsync(new StepRunRecord(stepRunId, run.Id, node.Name, node.Definition.FullName, node.Definition.CodeVersion, null,
                    ExecutionStatus.Running, DateTimeOffset.UtcNow, null, null, null, parametersJson), [], CancellationToken.None).ConfigureAwait(false);
            await store.FinishStepRunAsync(stepRunId, ExecutionStatus.Failed, DateTimeOffset.UtcNow, error, [], [], CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is StrataException or System.Data.Common.DbException or IOException)
        {
            return false;
        }
    }

    private StepOutcome Record(StepOutcome outcome)
    {
        _outcomes[outcome.Node] = outcome;
        return outcome;
    }

    private async Task SaveLogAsync(string stepRunId, StepLog log)
    {
        var text = log.Text;
        if (text.Length > 0)
            await store.SaveStepLogAsync(stepRunId, text, CancellationToken.None).ConfigureAwait(false);
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

    private string ParametersJson(StepNode node)
    {
        var literals = pipeline.ParameterJson[node];
        var parts = node.Definition.Parameters
            .Where(p => literals[p.Position] is not null)
            .Select(p => $"{System.Text.Json.JsonSerializer.Serialize(p.Name)}:{literals[p.Position]}");
        return "{" + string.Join(",", parts) + "}";
    }

    /// <summary>A cache hit counts only when every output artifact is still in the artifact store; otherwise the step runs.</summary>
    private async Task<(StepRunRecord StepRun, IReadOnlyList<StepArtifactLink> Outputs)?> FindCacheHitAsync(string cacheKey, CancellationToken cancellationToken)
    {
        var hit = await store.FindCachedAsync(cacheKey, cancellationToken).ConfigureAwait(false);
        if (hit is null) return null;
        foreach (var output in hit.Value.Outputs)
        {
            string path;
            try { path = artifacts.PathOf(output.Artifact.Uri); }
            catch (ArtifactException) { return null; }
            if (!await artifacts.ExistsAsync(path, cancellationToken).ConfigureAwait(false)) return null;
        }
        return hit;
    }

    internal static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message}";
}

/// <summary>How a step invocation ended in this run, with its outputs for the steps downstream.</summary>
internal sealed record StepOutcome(StepNode Node, string? StepRunId, ExecutionStatus Status, TimeSpan Duration, string? Error, IReadOnlyDictionary<string, OutputSlot> Outputs)
{
    public StepResult ToResult() => new(Node.Name, StepRunId, Status, Duration, Error, Outputs.ToDictionary(o => o.Key, o => o.Value.Artifact));
}
