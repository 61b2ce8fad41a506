namespace Strata.Tests.Orchestration;

public static class FailureSteps
{
    [Step]
    public static int Fail(string testId)
    {
        Probe.Hit(testId, "fail");
        // The other branch is still running when this fails; it must be allowed to finish.
        Probe.Signal(testId, "failing").TrySetResult();
        throw new InvalidOperationException("the data is broken");
    }

    [Step]
    public static int Downstream(int input, string testId)
    {
        Probe.Hit(testId, "downstream");
        return input + 1;
    }

    [Step]
    public static async Task<int> SlowBranch(string testId)
    {
        await Probe.WaitAsync(testId, "failing");
        Probe.Hit(testId, "slow");
        return 7;
    }

    [Step]
    public static int Combine(int a, int b) => a + b;

    [Step]
    public static int AfterBranch(int input, string testId)
    {
        Probe.Hit(testId, "after_branch");
        return input * 2;
    }
}

public class FailureTests
{
    [Fact]
    public async Task A_failed_step_fails_the_run_skips_its_dependents_and_lets_other_branches_finish()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p =>
        {
            var failed = p.Step(FailureSteps.Fail, id);
            var skipped = p.Step(FailureSteps.Downstream, failed, id);
            var alsoSkipped = p.Step(FailureSteps.Downstream, skipped, id);
            var slow = p.Step(FailureSteps.SlowBranch, id);
            p.Step(FailureSteps.AfterBranch, slow, id);
            p.Step(FailureSteps.Combine, alsoSkipped, slow);
        }, maxParallelism: 4);

        Assert.False(result.Succeeded);
        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        Assert.Contains("fail", result.Run.Error);

        Assert.Equal(ExecutionStatus.Failed, result["fail"].Status);
        Assert.Contains("InvalidOperationException", result["fail"].Error);
        Assert.Contains("the data is broken", result["fail"].Error);
        Assert.Equal(ExecutionStatus.Skipped, result["downstream"].Status);
        Assert.Contains("'fail'", result["downstream"].Error);
        Assert.Equal(ExecutionStatus.Skipped, result["downstream_2"].Status);
        Assert.Contains("'downstream'", result["downstream_2"].Error);
        Assert.Equal(ExecutionStatus.Skipped, result["combine"].Status);
        Assert.Equal(ExecutionStatus.Completed, result["slow_branch"].Status);
        Assert.Equal(ExecutionStatus.Completed, result["after_branch"].Status);
        Assert.Equal(14, await result.LoadAsync<int>("after_branch"));

        Assert.Equal(1, Probe.Count(id, "fail"));
        Assert.Equal(0, Probe.Count(id, "downstream"));
        Assert.Equal(1, Probe.Count(id, "slow"));
        Assert.Equal(1, Probe.Count(id, "after_branch"));

        // The store agrees with the result.
        var stored = await home.Store.FindRunAsync(result.Run.Id);
        Assert.Equal(ExecutionStatus.Failed, stored!.Status);
        Assert.NotNull(stored.FinishedAt);
        var steps = (await home.Store.ListStepRunsAsync(result.Run.Id)).ToDictionary(s => s.Name);
        Assert.Equal(6, steps.Count);
        Assert.Equal(ExecutionStatus.Failed, steps["fail"].Status);
        Assert.Contains("the data is broken", steps["fail"].Error);
        Assert.Equal(ExecutionStatus.Skipped, steps["downstream"].Status);
        Assert.Equal(ExecutionStatus.Skipped, steps["downstream_2"].Status);
        Assert.Equal(ExecutionStatus.Skipped, steps["combine"].Status);
        Assert.Equal(ExecutionStatus.Completed, steps["slow_branch"].Status);
        Assert.Equal(ExecutionStatus.Completed, steps["after_branch"].Status);
        Assert.Empty(result["fail"].Outputs);
    }

    [Fact]
    public async Task A_failed_step_keeps_its_exception_in_its_log()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var result = await home.RunAsync(p => p.Step(FailureSteps.Fail, id));

        var log = await home.Store.GetStepLogAsync(result["fail"].StepRunId!);
        Assert.NotNull(log);
        Assert.Contains("the data is broken", log);
        Assert.Contains(nameof(FailureSteps.Fail), log);
    }
}
