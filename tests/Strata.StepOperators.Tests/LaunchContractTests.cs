using Strata.StepOperatorTests.Support;
using Strata.Testing;

namespace Strata.StepOperatorTests;

/// <summary>The classic synchronous contract on a local process: <see cref="StepOperator.LaunchAsync"/> submits, waits with backoff, and cleans up.</summary>
public sealed partial class LocalProcessOperatorTests
{
    private static StepLaunch Launch(string script, string stepRunId) => new()
    {
        Pipeline = "contract",
        RunId = "run",
        RunName = "run",
        StepName = "step",
        StepRunId = stepRunId,
        Command = ["/bin/sh", "-c", script],
        Environment = new Dictionary<string, string>(),
        Settings = new LocalProcessSettings(),
        ManifestUri = "unused",
    };

    [Fact]
    public async Task Launch_waits_for_the_job_and_reports_how_it_ended()
    {
        await using var home = await OperatorHome.OpenAsync();
        var artifacts = await home.Client.GetArtifactStoreAsync();
        var op = await home.Client.Stacks.CreateStepOperatorAsync(StackManager.DefaultStepOperator, new StepOperatorContext(home.Client.Home, artifacts));
        var marker = home.Scratch("ran");

        var ok = await op.LaunchAsync(Launch($"echo done > '{marker}'", Guid.CreateVersion7().ToString()));
        Assert.Equal(StepJobState.Succeeded, ok.State);
        Assert.Equal(0, ok.ExitCode);
        Assert.True(File.Exists(marker), "LaunchAsync returned before the job ran");

        var failed = await op.LaunchAsync(Launch("echo broken >&2; exit 3", Guid.CreateVersion7().ToString()));
        Assert.Equal(StepJobState.Failed, failed.State);
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("broken", failed.Reason);
    }

    [Fact]
    public async Task Cancelling_a_launch_stops_the_job()
    {
        await using var home = await OperatorHome.OpenAsync();
        var artifacts = await home.Client.GetArtifactStoreAsync();
        var op = await home.Client.Stacks.CreateStepOperatorAsync(StackManager.DefaultStepOperator, new StepOperatorContext(home.Client.Home, artifacts));
        var pidFile = home.Scratch("pid");

        using var cancel = new CancellationTokenSource();
        var launch = op.LaunchAsync(Launch($"echo $$ > '{pidFile}'; exec sleep 600", Guid.CreateVersion7().ToString()), cancellationToken: cancel.Token);
        var pid = int.Parse((await Processes.WaitForLinesAsync(pidFile))[0], System.Globalization.CultureInfo.InvariantCulture);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => launch);
        Assert.True(await Processes.WaitGoneAsync([pid], TimeSpan.FromSeconds(30)), $"process {pid} survived the cancelled launch");
    }

    [Fact]
    public async Task A_job_that_ends_is_noticed_at_once_not_after_the_poll_delay()
    {
        await using var home = await OperatorHome.OpenAsync();
        var artifacts = await home.Client.GetArtifactStoreAsync();
        var op = await home.Client.Stacks.CreateStepOperatorAsync(StackManager.DefaultStepOperator, new StepOperatorContext(home.Client.Home, artifacts));

        // No poll delay ever passes on this clock: only the process's exit can end the wait.
        var status = await op.LaunchAsync(Launch("sleep 0.2", Guid.CreateVersion7().ToString()), new StoppedClock())
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(StepJobState.Succeeded, status.State);
    }

    [Fact]
    public async Task Launch_applies_the_step_timeout_as_the_orchestrator_does_and_leaves_nothing_running()
    {
        await using var home = await OperatorHome.OpenAsync();
        var artifacts = await home.Client.GetArtifactStoreAsync();
        await using var clock = new FastClock(TimeSpan.FromMilliseconds(200));
        var op = await home.Client.Stacks.CreateStepOperatorAsync(StackManager.DefaultStepOperator,
            new StepOperatorContext(home.Client.Home, artifacts) { Time = clock.Time });
        var pidFile = home.Scratch("pid");

        var launch = Launch($"echo $$ > '{pidFile}'; exec sleep 600", Guid.CreateVersion7().ToString()) with { Timeout = TimeSpan.FromMinutes(1) };
        var e = await Assert.ThrowsAsync<StepTimeoutException>(() => op.LaunchAsync(launch, clock.Time));

        Assert.Contains("ran longer than its timeout 00:01:00", e.Message);
        Assert.False(e.Pending);
        if (File.Exists(pidFile))
        {
            var pid = int.Parse(File.ReadAllText(pidFile), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(await Processes.WaitGoneAsync([pid], TimeSpan.FromSeconds(10)), $"process {pid} outlived the timeout");
        }
    }

    /// <summary>A clock whose timers never fire.</summary>
    private sealed class StoppedClock : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverFires();

        private sealed class NeverFires : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
