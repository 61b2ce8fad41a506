using System.Collections.Concurrent;
using System.ComponentModel;
using Strata.StepOperatorTests.Support;
using Strata.Testing;

namespace Strata.StepOperatorTests;

/// <summary>A backend that accepts jobs and never starts them, saying why, like a scheduler short of GPUs.</summary>
public sealed class AlwaysQueuedFlavor : StepOperatorFlavor
{
    public override string Name => "always-queued";
    public override string Description => "Test flavor: jobs wait in the queue for ever.";
    public override Type ConfigType => typeof(AlwaysQueuedConfig);
    public override Type SettingsType => typeof(StepOperatorSettings);

    public ConcurrentQueue<AlwaysQueuedOperator> Created { get; } = new();

    public override StepOperator Create(object config, StepOperatorContext context)
    {
        var op = new AlwaysQueuedOperator(((AlwaysQueuedConfig)config).Reason);
        Created.Enqueue(op);
        return op;
    }
}

public sealed class AlwaysQueuedConfig : StepOperatorSettings
{
    [Description("What the backend says about the waiting job.")]
    public string Reason { get; set; } = "Resources";
}

public sealed class AlwaysQueuedOperator(string reason) : StepOperator
{
    public ConcurrentQueue<StepJob> Submitted { get; } = new();
    public ConcurrentDictionary<string, int> CancelCalls { get; } = new();

    public override Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var job = new StepJob(Name, StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName), launch.StepRunId, new Dictionary<string, string>());
        Submitted.Enqueue(job);
        return Task.FromResult(job);
    }

    public override Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default) =>
        Task.FromResult(CancelCalls.ContainsKey(job.JobId) ? new StepJobStatus(StepJobState.Cancelled, "cancelled") : new StepJobStatus(StepJobState.Queued, reason));

    public override Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        CancelCalls.AddOrUpdate(job.JobId, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}

public static class PendingSteps
{
    [Step(StepOperator = "queue")]
    public static int NeverStarts(int x) => x;
}

public sealed class PendingTimeoutTests
{
    [Fact]
    public async Task A_job_queued_longer_than_the_pending_timeout_is_cancelled_and_reported_with_the_backends_reason()
    {
        var flavor = new AlwaysQueuedFlavor();
        await using var home = await OperatorHome.OpenAsync(new FlavorRegistry().Add(flavor));
        const string reason = "Priority: waiting for a node with 8 free GPUs";
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "queue", "always-queued",
            new Dictionary<string, string> { ["reason"] = reason, ["pending_timeout"] = "30m", ["timeout"] = "1m" });
        await home.Client.Stacks.RegisterStackAsync("queued", StackManager.DefaultStack, StackManager.DefaultStack, ["queue"]);
        var observer = new RecordingObserver();

        await using var clock = new FastClock(TimeSpan.FromSeconds(10));
        var result = await home.RunAsync(p => p.Step(PendingSteps.NeverStarts, 1), observer, stack: "queued", time: clock.Time);

        // The step timeout counts running time only; a job that never started fails on the pending timeout.
        Assert.Equal(ExecutionStatus.Failed, result["never_starts"].Status);
        var error = result["never_starts"].Error!;
        Assert.Contains("waited longer than the pending timeout 00:30:00", error);
        Assert.Contains(reason, error);
        Assert.Contains("was cancelled", error);
        Assert.DoesNotContain("ran longer than its timeout", error);

        var op = Assert.Single(flavor.Created);
        var job = Assert.Single(op.Submitted);
        Assert.True(op.CancelCalls.TryGetValue(job.JobId, out var calls) && calls >= 1);
        Assert.Equal(job.JobId, OperatorHome.Job(await home.StepRunAsync(result, "never_starts")).JobId);
        Assert.Contains(observer.Changes, c => c is { Step: "never_starts", Status: ExecutionStatus.Pending } && c.Detail!.Contains(reason, StringComparison.Ordinal));
    }
}
