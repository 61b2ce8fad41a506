using System.Globalization;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class TimeoutSteps
{
    [Step(StepOperator = "local", Timeout = "1m")]
    public static int Sleepy(string pidFile)
    {
        StepFiles.WriteAtomically(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Thread.Sleep(TimeSpan.FromSeconds(60));
        return 1;
    }

    /// <summary>The same, limited by the operator's timeout setting instead of the attribute.</summary>
    [Step(StepOperator = "local")]
    public static int SleepyBySetting(string pidFile)
    {
        StepFiles.WriteAtomically(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Thread.Sleep(TimeSpan.FromSeconds(60));
        return 1;
    }
}

public sealed class TimeoutTests
{
    [Fact]
    public async Task A_step_over_its_timeout_fails_and_its_process_is_gone()
    {
        await using var home = await OperatorHome.OpenAsync();
        var byAttribute = home.Scratch("attribute.pid");
        var bySetting = home.Scratch("setting.pid");

        // A minute on a clock that runs a hundred times fast: the timeouts pass without the test waiting for them.
        await using var clock = new FastClock(TimeSpan.FromMilliseconds(200));
        var result = await home.RunAsync(p =>
        {
            p.Step(TimeoutSteps.Sleepy, byAttribute);
            p.Step(TimeoutSteps.SleepyBySetting, bySetting).WithSettings(new LocalProcessSettings { Timeout = TimeSpan.FromMinutes(1) });
        }, time: clock.Time);

        foreach (var (step, pidFile) in new[] { ("sleepy", byAttribute), ("sleepy_by_setting", bySetting) })
        {
            Assert.Equal(ExecutionStatus.Failed, result[step].Status);
            Assert.Contains("ran longer than its timeout 00:01:00", result[step].Error);
            Assert.Contains("was cancelled", result[step].Error);
            var stepRun = await home.StepRunAsync(result, step);
            Assert.Contains("timeout", stepRun.Error);
            var job = OperatorHome.Job(stepRun);
            // The job's shell, the step process (if it got as far as writing its pid) and anything else in its directory.
            var pids = new[] { int.Parse(job.Data["pid"], CultureInfo.InvariantCulture) }
                .Concat(File.Exists(pidFile) ? [int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture)] : [])
                .Concat(Processes.InDirectory(job.Data["work_dir"])).ToArray();
            Assert.True(await Processes.WaitGoneAsync(pids, TimeSpan.FromSeconds(10)), $"{step}: processes {string.Join(", ", pids.Where(Processes.IsAlive))} still run");
            Assert.Empty(Processes.InDirectory(job.Data["work_dir"]));
        }
    }
}
