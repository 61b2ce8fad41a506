using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class FailureSteps
{
    [Step(StepOperator = "local")]
    public static int Explode(int x)
    {
        for (var i = 1; i <= 3; i++) Console.WriteLine($"preparing part {i} of {x}");
        throw new InvalidDataException($"remote boom {x}");
    }

    /// <summary>Dies like a crashed runtime: a line on the real stderr, an exit code, no result.</summary>
    [Step(StepOperator = "local")]
    public static int Crash(int code)
    {
        using (var stderr = new StreamWriter(Console.OpenStandardError()))
            stderr.WriteLine($"fatal: the native library gave up ({code})");
        Environment.Exit(code);
        return 0;
    }

    [Step]
    public static int After(int x) => x + 1;

    [Pipeline]
    public static void Build(PipelineBuilder p) => p.Step(After, p.Step(Explode, 42));

    [Pipeline]
    public static void Crashing(PipelineBuilder p) => p.Step(Crash, 7);
}

/// <summary>A failure as the command line shows it, and a crash's stderr tail, which a local process keeps in a file.</summary>
public sealed partial class LocalProcessOperatorTests
{
    [Fact]
    public async Task A_remote_failure_shows_in_run_show_with_its_operator_type_message_and_log_tail()
    {
        await using var home = await OperatorHome.OpenAsync();

        var result = await home.RunAsync(FailureSteps.Build);

        Assert.Equal(ExecutionStatus.Skipped, result["after"].Status);
        var show = home.Cli("run", "show", result.Run.Name, "--output", "json");
        Assert.True(show.ExitCode == 0, show.ToString());
        var step = show.Json.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "explode");
        Assert.Equal("failed", step.GetProperty("status").GetString());
        Assert.Equal("local", step.GetProperty("step_operator").GetString());
        var shown = step.GetProperty("error").GetString()!;
        Assert.Contains("InvalidDataException: remote boom 42", shown);
        Assert.Contains("preparing part 3 of 42", shown);
    }

    [Fact]
    public async Task A_step_process_that_dies_without_a_result_fails_with_its_exit_code_and_stderr_tail()
    {
        await using var home = await OperatorHome.OpenAsync();

        var result = await home.RunAsync(FailureSteps.Crashing);

        Assert.Equal(ExecutionStatus.Failed, result["crash"].Status);
        var error = result["crash"].Error!;
        Assert.Contains("exit code 7", error);
        Assert.Contains("fatal: the native library gave up (7)", error);
        var stored = (await home.StepRunAsync(result, "crash")).Error!;
        Assert.Contains("exit code 7", stored);
    }
}
