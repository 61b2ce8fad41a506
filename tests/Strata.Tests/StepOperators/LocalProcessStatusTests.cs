using System.Diagnostics;
using Strata.Tests.Support;

namespace Strata.Tests.StepOperators;

/// <summary>
/// The local-process job's shell writes the exit code file itself, so a status check can find it created and still
/// empty. Such a file means "not over yet" while the job lives, and is read whole once it has ended.
/// </summary>
public class LocalProcessStatusTests
{
    private static async Task<int> EndedPidAsync()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await process.WaitForExitAsync();
        return process.Id;
    }

    /// <summary>Field 22 of /proc/PID/stat, as the operator records it at submit; empty for a process that is gone.</summary>
    private static string StartTimeOf(int pid)
    {
        if (!File.Exists($"/proc/{pid}/stat")) return "";
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
    }

    private static (LocalProcessStepOperator Operator, StepJob Job) JobIn(TempDirectory dir, int pid, string exitCode)
    {
        var workDir = dir.Combine("job");
        Directory.CreateDirectory(workDir);
        File.WriteAllText(Path.Combine(workDir, "exit_code"), exitCode);
        var op = new LocalProcessStepOperator(new LocalProcessStepOperatorConfig { WorkingDirectory = dir.Path }, new StrataHome(dir.Path), TimeProvider.System);
        var job = new StepJob("local-process", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "run-1",
            new Dictionary<string, string> { ["pid"] = pid.ToString(System.Globalization.CultureInfo.InvariantCulture), ["start_time"] = StartTimeOf(pid), ["work_dir"] = workDir });
        return (op, job);
    }

    [Fact]
    public async Task A_written_exit_code_is_the_jobs_end()
    {
        using var dir = new TempDirectory();
        var (op, job) = JobIn(dir, await EndedPidAsync(), "3\n");

        var status = await op.GetStatusAsync(job);

        Assert.Equal(StepJobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
    }

    [Fact]
    public async Task An_empty_exit_code_file_of_a_living_job_means_it_is_still_running()
    {
        using var dir = new TempDirectory();
        // This test process stands in for the job's shell, alive.
        var (op, job) = JobIn(dir, Environment.ProcessId, "");

        var status = await op.GetStatusAsync(job);

        Assert.Equal(StepJobState.Running, status.State);
    }

    [Fact]
    public async Task An_exit_code_file_left_empty_by_an_ended_job_fails_it_and_says_so()
    {
        using var dir = new TempDirectory();
        var (op, job) = JobIn(dir, await EndedPidAsync(), "");

        var status = await op.GetStatusAsync(job);

        Assert.Equal(StepJobState.Failed, status.State);
        Assert.Contains("unreadable exit code", status.Reason);
    }
}
