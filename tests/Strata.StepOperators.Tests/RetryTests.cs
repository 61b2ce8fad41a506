using Strata.StepOperatorTests.Support;
using Strata.Testing;

namespace Strata.StepOperatorTests;

public static class RetrySteps
{
    /// <summary>Fails on its first two executions and succeeds on the third; <paramref name="counter"/> counts them across processes.</summary>
    [Step(StepOperator = "local", Retries = 2, RetryDelay = "10m", Backoff = 2)]
    public static int Flaky(string counter)
    {
        var execution = StepFiles.Increment(counter);
        Console.WriteLine($"execution {execution} in process {Environment.ProcessId}");
        if (execution < 3) throw new IOException($"flaky failure {execution}");
        return execution;
    }

    [Step(StepOperator = "local", Retries = 1, RetryDelay = "10m")]
    public static int AlwaysFails(string counter)
    {
        var execution = StepFiles.Increment(counter);
        throw new InvalidOperationException($"still broken {execution}");
    }
}

public sealed class RetryTests
{
    [Fact]
    public async Task A_retried_remote_step_resubmits_a_new_job_per_attempt_and_records_every_attempt()
    {
        await using var home = await OperatorHome.OpenAsync();
        var counter = home.Scratch("flaky.count");
        var observer = new RecordingObserver();

        // Ten and twenty minutes between attempts, on a clock that runs them in a moment.
        await using var clock = new FastClock(TimeSpan.FromMinutes(1));
        var result = await home.RunAsync(p => p.Step(RetrySteps.Flaky, counter), observer, time: clock.Time);

        Assert.True(result.Succeeded, result["flaky"].Error);
        Assert.Equal(3, await result.LoadAsync<int>("flaky"));
        Assert.Equal(3, StepFiles.Count(counter));
        var runs = await home.StepRunsAsync(result.Run.Id, "flaky");
        Assert.Equal([1, 2, 3], runs.Select(r => r.Attempt));
        Assert.Equal([ExecutionStatus.Failed, ExecutionStatus.Failed, ExecutionStatus.Completed], runs.Select(r => r.Status));
        Assert.Contains("IOException: flaky failure 1", runs[0].Error);
        Assert.Contains("IOException: flaky failure 2", runs[1].Error);
        Assert.All(runs, r => Assert.Equal("local", r.StepOperator));
        Assert.Equal(result["flaky"].StepRunId, runs[2].Id);

        // Each attempt was a job of its own, with its own log.
        var jobs = runs.Select(OperatorHome.Job).ToArray();
        Assert.Equal(3, jobs.Select(j => j.JobId).Distinct().Count());
        Assert.Equal(runs.Select(r => r.Id), jobs.Select(j => j.StepRunId));
        for (var i = 0; i < 3; i++)
            Assert.Contains($"execution {i + 1} in process", await home.Client.Store.GetStepLogAsync(runs[i].Id));
        Assert.Equal(2, observer.Changes.Count(c => c is { Step: "flaky", Status: ExecutionStatus.Retrying }));
        Assert.Equal(["retrying in 10m00s", "retrying in 20m00s"], observer.Changes.Where(c => c is { Step: "flaky", Status: ExecutionStatus.Retrying })
            .Select(c => c.Detail![c.Detail!.IndexOf("retrying", StringComparison.Ordinal)..]));
    }

    [Fact]
    public async Task A_step_that_keeps_failing_stops_after_its_retries_with_the_last_error()
    {
        await using var home = await OperatorHome.OpenAsync();
        var counter = home.Scratch("fails.count");

        await using var clock = new FastClock(TimeSpan.FromMinutes(1));
        var result = await home.RunAsync(p => p.Step(RetrySteps.AlwaysFails, counter), time: clock.Time);

        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        Assert.Contains("still broken 2", result["always_fails"].Error);
        Assert.Equal(2, StepFiles.Count(counter));
        Assert.Equal([1, 2], (await home.StepRunsAsync(result.Run.Id, "always_fails")).Select(r => r.Attempt));
    }
}
