using System.Diagnostics;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class CancelSteps
{
    /// <summary>Starts a grandchild that would outlive a careless cancel, records both pids, then waits to be stopped.</summary>
    [Step(StepOperator = "local")]
    public static int Hang(string pidFile)
    {
        using var sleep = Process.Start("sleep", "600");
        StepFiles.WriteAtomically(pidFile, $"{Environment.ProcessId}\n{sleep.Id}\n");
        Console.WriteLine("hanging");
        Thread.Sleep(TimeSpan.FromMinutes(10));
        return 0;
    }

    [Step]
    public static int Next(int x) => x + 1;

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

public sealed class CancelTests
{
    [Fact]
    public async Task Cancelling_a_run_cancels_its_job_and_no_process_of_it_survives()
    {
        await using var home = await OperatorHome.OpenAsync();
        var pidFile = home.Scratch("hang.pids");
        using var cancel = new CancellationTokenSource();

        var run = home.RunAsync(p => p.Step(CancelSteps.Next, p.Step(CancelSteps.Hang, pidFile)), cancellationToken: cancel.Token);
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(pidFile, 2, givenUp: () => run.IsCompleted));
        Assert.All(pids, pid => Assert.True(Processes.IsAlive(pid)));
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(ExecutionStatus.Cancelled, result.Run.Status);
        Assert.Equal(ExecutionStatus.Cancelled, result["hang"].Status);
        Assert.Equal(ExecutionStatus.Cancelled, result["next"].Status);
        var job = OperatorHome.Job(await home.StepRunAsync(result, "hang"));
        var all = pids.Append(int.Parse(job.Data["pid"], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        // The run returns once the operator reports the job stopped; nothing of it may still run.
        Assert.True(all.All(p => !Processes.IsAlive(p)), $"still running: {string.Join(", ", all.Where(Processes.IsAlive))}");
    }

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
