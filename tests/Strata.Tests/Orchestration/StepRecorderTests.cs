using Microsoft.Data.Sqlite;

namespace Strata.Tests.Orchestration;

public static class RecorderSteps
{
    /// <summary>Takes a table of the store away under the run, as a broken or full database would refuse writes.</summary>
    [Step]
    public static int BreakStore(string databasePath)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "ALTER TABLE step_outputs RENAME TO step_outputs_gone";
        command.ExecuteNonQuery();
        return 1;
    }
}

public class StepRecorderTests
{
    private static StepRunRecord StepRun(string runId, string name) =>
        new(Guid.CreateVersion7().ToString(), runId, name, $"App.{name}", "v1", null, ExecutionStatus.Running, DateTimeOffset.UtcNow, null, null, null, "{}");

    private static async Task<string> NewRunAsync(TestHome home)
    {
        var run = new RunRecord(Guid.CreateVersion7().ToString(), "r-" + Guid.NewGuid().ToString("n")[..8], "p", "default", ExecutionStatus.Running, DateTimeOffset.UtcNow, null, null, 3);
        await home.Store.CreateRunAsync(run);
        return run.Id;
    }

    [Fact]
    public async Task A_written_record_is_committed_when_the_write_returns()
    {
        await using var home = await TestHome.OpenAsync();
        var runId = await NewRunAsync(home);
        var recorder = new StepRecorder(home.Store);
        var posted = StepRun(runId, "load");
        var awaited = StepRun(runId, "train");

        recorder.Post(new StepRunStarted(posted, []));
        await recorder.WriteAsync(new StepRunStarted(awaited, []));

        // Everything handed over before the awaited write is committed with it.
        Assert.Equal([posted.Id, awaited.Id], (await home.Store.ListStepRunsAsync(runId)).Select(s => s.Id));
        Assert.Null(await recorder.CompleteAsync());
    }

    [Fact]
    public async Task A_refused_write_loses_only_itself_and_is_reported()
    {
        await using var home = await TestHome.OpenAsync();
        var runId = await NewRunAsync(home);
        var recorder = new StepRecorder(home.Store);
        var before = StepRun(runId, "before");
        var refused = StepRun(runId, "refused");
        var after = StepRun(runId, "after");

        recorder.Post(new StepRunStarted(before, []));
        recorder.Post(new StepRunStarted(refused, [("data", "no-such-artifact")]));
        recorder.Post(new StepRunStarted(after, []));
        var failure = await recorder.CompleteAsync();

        Assert.NotNull(failure);
        Assert.Same(failure, recorder.Failure);
        Assert.Equal([before.Id, after.Id], (await home.Store.ListStepRunsAsync(runId)).Select(s => s.Id));
        Assert.Throws<InvalidOperationException>(() => recorder.Post(new StepRunStarted(StepRun(runId, "late"), [])));
    }

    [Fact]
    public async Task A_store_that_refuses_a_step_record_fails_the_run_saying_so()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(StateSteps.Next, p.Step(RecorderSteps.BreakStore, home.Client.Home.DatabasePath)), name: "broken_store");

        Assert.False(result.Succeeded);
        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        Assert.Contains("recording the run's steps failed", result.Run.Error);
        Assert.Contains("step_outputs", result.Run.Error);
    }
}
