using System.Diagnostics;
using System.Globalization;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

/// <summary>Pipelines that the `strata` command runs from this assembly; their files go to the directory in STRATA_TEST_DIR.</summary>
public static class CliPipelines
{
    public const string DirectoryVariable = "STRATA_TEST_DIR";

    private static string Dir => Environment.GetEnvironmentVariable(DirectoryVariable)
        ?? throw new InvalidOperationException($"set {DirectoryVariable} to the directory these pipelines write to");

    [Step]
    public static int Upstream(string dir)
    {
        StepFiles.Increment(Path.Combine(dir, "upstream.count"));
        return 21;
    }

    /// <summary>Waits on its first execution until a file named <c>release</c> appears in the directory (or it is killed); later ones finish at once.</summary>
    [Step(StepOperator = "local")]
    public static int Slow(int x, string dir)
    {
        var execution = StepFiles.Increment(Path.Combine(dir, "slow.count"));
        StepFiles.AppendPid(Path.Combine(dir, "slow.pids"), Environment.ProcessId);
        Console.WriteLine($"slow execution {execution}");
        for (var waited = 0; execution == 1 && !File.Exists(Path.Combine(dir, "release")) && waited < 600_000; waited += 50) Thread.Sleep(50);
        return x * 2;
    }

    [Step]
    public static string Downstream(int y, string dir)
    {
        var text = $"value={y}";
        File.WriteAllText(Path.Combine(dir, "downstream.txt"), text);
        return text;
    }

    [Pipeline(Name = "interruptible")]
    public static void Interruptible(PipelineBuilder p)
    {
        var upstream = p.Step(Upstream, Dir);
        p.Step(Downstream, p.Step(Slow, upstream, Dir), Dir);
    }

    /// <summary>Starts a grandchild `sleep`, records both pids, and waits to be stopped.</summary>
    [Step(StepOperator = "local")]
    public static int Hang(string dir)
    {
        using var sleep = Process.Start("sleep", "600");
        StepFiles.WriteAtomically(Path.Combine(dir, "hang.pids"), $"{Environment.ProcessId}\n{sleep.Id}\n");
        Thread.Sleep(TimeSpan.FromMinutes(10));
        return 0;
    }

    [Pipeline(Name = "hanging")]
    public static void Hanging(PipelineBuilder p) => p.Step(Downstream, p.Step(Hang, Dir), Dir);

    /// <summary>Like <see cref="Hang"/>, but ignores SIGTERM, so stopping it takes the operator's escalation to SIGKILL.</summary>
    [Step(StepOperator = "local")]
    public static int Stubborn(string dir)
    {
        using var ignoreTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context => context.Cancel = true);
        using var sleep = Process.Start("sleep", "600");
        StepFiles.WriteAtomically(Path.Combine(dir, "stubborn.pids"), $"{Environment.ProcessId}\n{sleep.Id}\n");
        Thread.Sleep(TimeSpan.FromMinutes(10));
        return 0;
    }

    /// <summary>Fails on its first execution; writes the LABEL its operator settings give it.</summary>
    [Step(StepOperator = "local", EnableCache = false)]
    public static string Labelled(string dir)
    {
        var execution = StepFiles.Increment(Path.Combine(dir, "labelled.count"));
        if (execution == 1) throw new InvalidOperationException("first execution fails");
        var label = Environment.GetEnvironmentVariable("LABEL") ?? "<unset>";
        File.WriteAllText(Path.Combine(dir, "label.txt"), label);
        return label;
    }

    [Pipeline(Name = "labelled")]
    public static void LabelledPipeline(PipelineBuilder p) => p.Step(Labelled, Dir);

    [Pipeline(Name = "stubborn")]
    public static void StubbornPipeline(PipelineBuilder p) => p.Step(Stubborn, Dir);
}

public sealed class CliProcessTests
{
    private static string TestDll => typeof(CliPipelines).Assembly.Location;

    private static BackgroundCli StartRun(OperatorHome home, string dir, string pipeline, string runName) =>
        new(home.HomePath, new Dictionary<string, string> { [CliPipelines.DirectoryVariable] = dir },
            "pipeline", "run", pipeline, "--assembly", TestDll, "--run-name", runName);

    private static string NewDir(OperatorHome home, string name)
    {
        var dir = home.Scratch(name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static int JobPid(StepRunRecord stepRun) => int.Parse(OperatorHome.Job(stepRun).Data["pid"], CultureInfo.InvariantCulture);

    /// <summary>Starts the interruptible pipeline, waits for its slow step's process, and kills the orchestrator (SIGKILL) under it.</summary>
    private static async Task<(string Dir, int StepPid, StepRunRecord Slow)> KilledMidStepAsync(OperatorHome home, string name)
    {
        var dir = NewDir(home, name);
        using var cli = StartRun(home, dir, "interruptible", name);
        var stepPid = Processes.Pids(await Processes.WaitForLinesAsync(Path.Combine(dir, "slow.pids"), givenUp: () => cli.HasExited)).Single();
        Processes.Signal(cli.Pid, "KILL");
        Assert.Equal(137, await cli.WaitAsync(TimeSpan.FromSeconds(30)));

        // The killed orchestrator left the run and its step marked running, and the step's process running on.
        var run = (await home.Client.Store.FindRunAsync(name))!;
        Assert.Equal(ExecutionStatus.Running, run.Status);
        var slow = (await home.StepRunsAsync(run.Id, "slow")).Single();
        Assert.Equal(ExecutionStatus.Running, slow.Status);
        Assert.True(Processes.IsAlive(stepPid) && Processes.IsAlive(JobPid(slow)));
        return (dir, stepPid, slow);
    }

    /// <summary>After a resume that re-attached: the slow step ran once, as one step run, and every output reads back.</summary>
    private static async Task AssertResumedWithoutRerunningAsync(OperatorHome home, string name, string dir, StepRunRecord slowBefore)
    {
        Assert.Equal(1, StepFiles.Count(Path.Combine(dir, "upstream.count")));
        Assert.Equal(1, StepFiles.Count(Path.Combine(dir, "slow.count")));
        Assert.Equal("value=42", File.ReadAllText(Path.Combine(dir, "downstream.txt")));

        var run = (await home.Client.Store.FindRunAsync(name))!;
        Assert.Equal(ExecutionStatus.Completed, run.Status);
        var steps = await home.Client.Store.ListStepRunsAsync(run.Id);
        var slow = steps.Where(s => s.Name == "slow").ToArray();
        Assert.Equal([slowBefore.Id], slow.Select(s => s.Id));
        Assert.Equal(ExecutionStatus.Completed, slow[0].Status);
        Assert.Equal(1, slow[0].Attempt);
        Assert.Contains("slow execution 1", await home.Client.Store.GetStepLogAsync(slow[0].Id));
        var outputs = await home.Client.Store.GetStepOutputsAsync(run.Id);
        Assert.Equal(42, await home.LoadAsync<int>(outputs.Single(o => o.StepRunId == slow[0].Id).Artifact));
        Assert.Equal(3, outputs.Count);
    }

    [Fact]
    public async Task Resume_after_the_orchestrator_was_killed_reattaches_to_the_running_job_instead_of_running_it_again()
    {
        await using var home = await OperatorHome.OpenAsync();
        var (dir, stepPid, slow) = await KilledMidStepAsync(home, "reattached-run");

        using var resume = new BackgroundCli(home.HomePath, new Dictionary<string, string> { [CliPipelines.DirectoryVariable] = dir }, "run", "resume", "reattached-run");
        await Until(() => resume.Out.Contains("re-attached to job", StringComparison.Ordinal) || resume.HasExited, "the resume to re-attach");
        Assert.True(Processes.IsAlive(stepPid), $"the step process {stepPid} was stopped instead of followed:\n{resume}");
        File.WriteAllText(Path.Combine(dir, "release"), "");

        Assert.True(await resume.WaitAsync(TimeSpan.FromSeconds(60)) == 0, resume.ToString());
        Assert.Contains("kept from before the resume", resume.Out);
        await AssertResumedWithoutRerunningAsync(home, "reattached-run", dir, slow);
    }

    [Fact]
    public async Task Resume_collects_the_result_of_a_job_that_finished_while_no_orchestrator_watched()
    {
        await using var home = await OperatorHome.OpenAsync();
        var (dir, stepPid, slow) = await KilledMidStepAsync(home, "unwatched-run");
        File.WriteAllText(Path.Combine(dir, "release"), "");
        Assert.True(await Processes.WaitGoneAsync([stepPid, JobPid(slow)], TimeSpan.FromSeconds(60)), "the released step did not end");

        var resume = home.CliWith(new() { [CliPipelines.DirectoryVariable] = dir }, "run", "resume", "unwatched-run");

        Assert.True(resume.ExitCode == 0, resume.ToString());
        await AssertResumedWithoutRerunningAsync(home, "unwatched-run", dir, slow);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(50))
        {
            if (waited > TimeSpan.FromSeconds(60)) throw new TimeoutException($"waited a minute for {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Run_cancel_from_another_process_stops_the_run_and_every_process_it_started()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = NewDir(home, "cancelled");
        using var cli = StartRun(home, dir, "hanging", "cancelled-run");
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(Path.Combine(dir, "hang.pids"), 2, givenUp: () => cli.HasExited));

        var cancel = home.Cli("run", "cancel", "cancelled-run");

        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Contains("cancelled", cancel.Out);
        Assert.Equal(130, await cli.WaitAsync(TimeSpan.FromMinutes(1)));
        var run = (await home.Client.Store.FindRunAsync("cancelled-run"))!;
        Assert.Equal(ExecutionStatus.Cancelled, run.Status);
        var hang = (await home.StepRunsAsync(run.Id, "hang")).Single();
        Assert.Equal(ExecutionStatus.Cancelled, hang.Status);
        var all = pids.Append(JobPid(hang)).ToArray();
        Assert.True(all.All(p => !Processes.IsAlive(p)), $"still running: {string.Join(", ", all.Where(Processes.IsAlive))}\n{cli}");
        Assert.False(File.Exists(Path.Combine(dir, "downstream.txt")));
    }

    [Fact]
    public async Task Interrupting_pipeline_run_cancels_its_jobs_waits_for_them_and_exits_130()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = NewDir(home, "interrupt");
        using var cli = StartRun(home, dir, "hanging", "interrupted-by-signal");
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(Path.Combine(dir, "hang.pids"), 2, givenUp: () => cli.HasExited));

        Processes.Signal(cli.Pid, "INT");

        Assert.Equal(130, await cli.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("cancelling the run and its jobs", cli.Error);
        var run = (await home.Client.Store.FindRunAsync("interrupted-by-signal"))!;
        Assert.Equal(ExecutionStatus.Cancelled, run.Status);
        var all = pids.Append(JobPid((await home.StepRunsAsync(run.Id, "hang")).Single())).ToArray();
        Assert.True(all.All(p => !Processes.IsAlive(p)), $"still running: {string.Join(", ", all.Where(Processes.IsAlive))}\n{cli}");
    }

    [Fact]
    public async Task A_second_interrupt_stops_waiting_and_run_cancel_then_stops_the_jobs_left_behind()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = NewDir(home, "stubborn");
        using var cli = StartRun(home, dir, "stubborn", "given-up");
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(Path.Combine(dir, "stubborn.pids"), 2, givenUp: () => cli.HasExited));

        Processes.Signal(cli.Pid, "INT");
        await WaitForAsync(() => cli.Error.Contains("cancelling the run and its jobs", StringComparison.Ordinal), cli);
        Processes.Signal(cli.Pid, "INT");

        Assert.Equal(130, await cli.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("Stopped waiting", cli.Error);

        // Whatever the first interrupt had not stopped yet is stopped by run cancel, through the job's stored handle.
        var cancel = home.Cli("run", "cancel", "given-up", "--wait", "1s");
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        var run = (await home.Client.Store.FindRunAsync("given-up"))!;
        Assert.Equal(ExecutionStatus.Cancelled, run.Status);
        var stubborn = (await home.StepRunsAsync(run.Id, "stubborn")).Single();
        Assert.True(stubborn.Status.IsFinished(), stubborn.Status.ToString());
        var all = pids.Append(JobPid(stubborn)).ToArray();
        Assert.True(await Processes.WaitGoneAsync(all, TimeSpan.FromSeconds(30)), $"still running: {string.Join(", ", all.Where(Processes.IsAlive))}");
    }

    [Fact]
    public async Task Run_cancel_stops_the_jobs_of_a_run_whose_orchestrator_was_killed()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = NewDir(home, "orphaned");
        using var cli = StartRun(home, dir, "hanging", "orphaned-run");
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(Path.Combine(dir, "hang.pids"), 2, givenUp: () => cli.HasExited));
        Processes.Signal(cli.Pid, "KILL");
        await cli.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(pids, pid => Assert.True(Processes.IsAlive(pid)));

        var cancel = home.Cli("run", "cancel", "orphaned-run", "--wait", "1s");

        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        var run = (await home.Client.Store.FindRunAsync("orphaned-run"))!;
        Assert.Equal(ExecutionStatus.Cancelled, run.Status);
        var hang = (await home.StepRunsAsync(run.Id, "hang")).Single();
        Assert.Equal(ExecutionStatus.Cancelled, hang.Status);
        var all = pids.Append(JobPid(hang)).ToArray();
        Assert.True(all.All(p => !Processes.IsAlive(p)), $"still running: {string.Join(", ", all.Where(Processes.IsAlive))}");
    }

    private static async Task WaitForAsync(Func<bool> condition, BackgroundCli cli)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(1) || cli.HasExited) throw new TimeoutException(cli.ToString());
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Resume_takes_the_run_config_the_run_was_started_with()
    {
        await using var home = await OperatorHome.OpenAsync();
        var dir = NewDir(home, "configured");
        var config = home.Scratch("run.yaml");
        File.WriteAllText(config, "steps:\n  labelled:\n    settings:\n      environment: LABEL=from-config\n");
        var environment = new Dictionary<string, string?> { [CliPipelines.DirectoryVariable] = dir };

        var first = home.CliWith(environment, "pipeline", "run", "labelled", "--assembly", TestDll, "--run-name", "configured", "--config", config);
        Assert.True(first.ExitCode == 1, first.ToString());
        var resumed = home.CliWith(environment, "run", "resume", "configured", "--config", config);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal("from-config", File.ReadAllText(Path.Combine(dir, "label.txt")));
    }
}
