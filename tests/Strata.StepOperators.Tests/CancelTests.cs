using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class CancelSteps
{
    /// <summary>On SIGTERM, takes a second to finish up (as a step saving a checkpoint would), records that it did, and exits.</summary>
    [Step(StepOperator = "local")]
    public static int Graceful(string dir)
    {
        using var terminated = new ManualResetEventSlim();
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                terminated.Set();
            });
        File.WriteAllText(Path.Combine(dir, "graceful.started"), "");
        terminated.Wait(TimeSpan.FromMinutes(10));
        Thread.Sleep(TimeSpan.FromSeconds(1));
        File.WriteAllText(Path.Combine(dir, "graceful.finished"), "");
        Environment.Exit(143);
        return 0;
    }
}

/// <summary>Cancelling as only a local process is cancelled: SIGTERM to its process group first, then SIGKILL.</summary>
public sealed partial class LocalProcessOperatorTests
{
    [Fact]
    public async Task A_cancelled_step_gets_SIGTERM_and_time_to_finish_up_before_it_is_killed()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = home.Scratch("graceful");
        Directory.CreateDirectory(dir);
        using var cancel = new CancellationTokenSource();

        var run = home.RunAsync(p => p.Step(CancelSteps.Graceful, dir), cancellationToken: cancel.Token);
        await Processes.WaitForLinesAsync(Path.Combine(dir, "graceful.started"), 0, givenUp: () => run.IsCompleted);
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(ExecutionStatus.Cancelled, result["graceful"].Status);
        Assert.True(File.Exists(Path.Combine(dir, "graceful.finished")), "the step was killed before it could finish up");
    }
}
