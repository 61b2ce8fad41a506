using System.Globalization;
using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class TimeoutSteps
{
    [Step(StepOperator = "local", Timeout = "2s")]
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

        var result = await home.RunAsync(p =>
        {
            p.Step(TimeoutSteps.Sleepy, byAttribute);
            p.Step(TimeoutSteps.SleepyBySetting, bySetting).WithSettings(new LocalProcessSettings { Timeout = TimeSpan.FromSeconds(2) });
        });

        foreach (var (step, pidFile) in new[] { ("sleepy", byAttribute), ("sleepy_by_setting", bySetting) })
        {
            Assert.Equal(ExecutionStatus.Failed, result[step].Status);
            Assert.Contains("ran longer than its timeout 00:00:02", result[step].Error);
            Assert.Contains("was cancelled", result[step].Error);
            var stepRun = await home.StepRunAsync(result, step);
            Assert.Contains("timeout", stepRun.Error);
            var job = OperatorHome.Job(stepRun);
            var pids = new[] { int.Parse(job.Data["pid"], CultureInfo.InvariantCulture), int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture) };
            Assert.True(await Processes.WaitGoneAsync(pids, TimeSpan.FromSeconds(10)), $"{step}: processes {string.Join(", ", pids.Where(Processes.IsAlive))} still run");
        }
    }
}
