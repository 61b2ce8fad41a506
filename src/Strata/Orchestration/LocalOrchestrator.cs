using System.Diagnostics;

namespace Strata;

/// <summary>
/// Runs a pipeline on this machine: each step starts when its inputs are ready, up to a parallelism limit.
/// A failed step fails the run and skips what depends on it; other branches finish.
/// </summary>
internal sealed class LocalOrchestrator
{
    private readonly IMetadataStore _store;
    private readonly ArtifactStore _artifacts;
    private readonly MaterializerRegistry _materializers;
    private readonly IRunObserver _observer;
    private readonly IStepLauncher _launcher;

    public LocalOrchestrator(IMetadataStore store, ArtifactStore artifacts, MaterializerRegistry materializers, IRunObserver observer, IStepLauncher? launcher = null)
    {
        _store = store;
        _artifacts = artifacts;
        _materializers = materializers;
        _observer = observer;
        _launcher = launcher ?? new InProcessStepLauncher();
    }

    public async Task<RunResult> RunAsync(PipelineDefinition pipeline, string stackName, int maxParallelism, bool noCache, string? runName, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        var run = new RunRecord(Guid.CreateVersion7().ToString(),
            runName ?? $"{pipeline.Name}-{now:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}",
            pipeline.Name, stackName, ExecutionStatus.Running, now, null, null, pipeline.Nodes.Count);
        await _store.CreateRunAsync(run, cancellationToken).ConfigureAwait(false);
        _observer.RunStarted(run, pipeline.StepNames);

        var context = new RunContext(run, pipeline, _store, _artifacts, _materializers, _observer, _launcher, noCache);
        using var gate = new SemaphoreSlim(Math.Max(1, maxParallelism));
        var tasks = new Dictionary<StepNode, Task<StepOutcome>>();
        foreach (var node in pipeline.Nodes)
        {
            var upstream = node.Upstream.Select(u => tasks[u]).ToArray();
            tasks[node] = RunNodeAsync(context, node, upstream, gate, cancellationToken);
        }
        var outcomes = await Task.WhenAll(tasks.Values).ConfigureAwait(false);

        var status = outcomes.Any(o => o.Status == ExecutionStatus.Failed) ? ExecutionStatus.Failed
            : outcomes.Any(o => o.Status == ExecutionStatus.Cancelled) || cancellationToken.IsCancellationRequested ? ExecutionStatus.Cancelled
            : outcomes.All(o => o.Status.IsSuccess()) ? ExecutionStatus.Completed
            : ExecutionStatus.Failed;
        var failedSteps = outcomes.Where(o => o.Status == ExecutionStatus.Failed).Select(o => o.Node.Name).ToArray();
        var error = failedSteps.Length > 0 ? $"step(s) failed: {string.Join(", ", failedSteps)}" : null;
        var finishedAt = DateTimeOffset.UtcNow;
        await _store.FinishRunAsync(run.Id, status, finishedAt, error, CancellationToken.None).ConfigureAwait(false);
        var result = new RunResult(run with { Status = status, FinishedAt = finishedAt, Error = error },
            outcomes.Select(o => o.ToResult()).ToArray(), clock.Elapsed, _artifacts, _materializers);
        _observer.RunFinished(result);
        return result;
    }

    private static async Task<StepOutcome> RunNodeAsync(RunContext context, StepNode node, Task<StepOutcome>[] upstream, SemaphoreSlim gate, CancellationToken cancellationToken)
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
            return await context.RecordNotRunAsync(node, status, reason).ConfigureAwait(false);
        }
        if (cancellationToken.IsCancellationRequested)
            return await context.RecordNotRunAsync(node, ExecutionStatus.Cancelled, "the run was cancelled").ConfigureAwait(false);
        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return await context.RecordNotRunAsync(node, ExecutionStatus.Cancelled, "the run was cancelled").ConfigureAwait(false);
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
