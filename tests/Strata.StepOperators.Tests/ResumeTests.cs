using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public sealed class ResumeTests
{
    [Fact]
    public async Task A_cancelled_run_resumes_its_cancelled_and_never_started_steps_keeping_what_completed()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = home.Scratch("resume");
        Directory.CreateDirectory(dir);
        Environment.SetEnvironmentVariable(CliPipelines.DirectoryVariable, dir);
        try
        {
            using var cancel = new CancellationTokenSource();
            var first = home.Client.RunAsync(CliPipelines.Interruptible,
                new RunOptions { Observer = new RecordingObserver(), RunName = "to-resume" }, cancel.Token);
            await Processes.WaitForLinesAsync(Path.Combine(dir, "slow.pids"), givenUp: () => first.IsCompleted);
            await cancel.CancelAsync();
            var cancelled = await first.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(ExecutionStatus.Cancelled, cancelled.Run.Status);
            Assert.Equal(ExecutionStatus.Completed, cancelled["upstream"].Status);
            Assert.Equal(ExecutionStatus.Cancelled, cancelled["slow"].Status);
            Assert.Equal(ExecutionStatus.Cancelled, cancelled["downstream"].Status);

            var resumed = await home.Client.ResumeAsync("to-resume", new RunOptions { Observer = new RecordingObserver() });

            Assert.True(resumed.Succeeded, string.Join("\n", resumed.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
            Assert.Equal(cancelled.Run.Id, resumed.Run.Id);
            Assert.Equal(cancelled["upstream"].StepRunId, resumed["upstream"].StepRunId);
            Assert.Equal(1, StepFiles.Count(Path.Combine(dir, "upstream.count")));
            Assert.Equal(2, StepFiles.Count(Path.Combine(dir, "slow.count")));
            Assert.Equal("value=42", await resumed.LoadAsync<string>("downstream"));
            Assert.Equal([1, 2], (await home.StepRunsAsync(resumed.Run.Id, "slow")).Select(s => s.Attempt));
            var again = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.ResumeAsync("to-resume"));
            Assert.Contains("nothing to resume", again.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CliPipelines.DirectoryVariable, null);
        }
    }
}
