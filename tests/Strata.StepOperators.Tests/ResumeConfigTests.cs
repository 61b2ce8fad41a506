using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class ResumeConfigSteps
{
    public const string GateVariable = "STRATA_TEST_GATE";

    [Step]
    public static int Start() => 1;

    /// <summary>Passes only where its run config put it: on a step operator whose environment names a gate file, once that file exists.</summary>
    [Step]
    public static int Gated(int x)
    {
        var gate = Environment.GetEnvironmentVariable(GateVariable) ?? throw new InvalidOperationException($"{GateVariable} is not set");
        if (!File.Exists(gate)) throw new InvalidOperationException($"the gate {gate} is closed");
        return x + 1;
    }

    [Pipeline]
    public static void Gate(PipelineBuilder p) => p.Step(Gated, p.Step(Start));
}

public sealed class ResumeConfigTests
{
    [Fact]
    public async Task A_resume_runs_the_remaining_steps_with_the_config_the_run_was_started_with()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("cfg", ("other", new()));
        var gate = home.Scratch("gate");
        var first = await home.Client.RunAsync(ResumeConfigSteps.Gate, new RunOptions
        {
            Stack = stack,
            RunName = "gated-run",
            Observer = new RecordingObserver(),
            Steps = { ["gated"] = new StepOverride { StepOperator = "other", Settings = { ["environment"] = $"{ResumeConfigSteps.GateVariable}={gate}" } } },
        });
        Assert.Equal(ExecutionStatus.Failed, first["gated"].Status);
        Assert.Contains("is closed", first["gated"].Error);

        File.WriteAllText(gate, "open");
        var observer = new RecordingObserver();
        var resumed = await home.Client.ResumeAsync("gated-run", new RunOptions { Observer = observer });

        Assert.True(resumed.Succeeded, string.Join("\n", resumed.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal(2, await resumed.LoadAsync<int>("gated"));
        var attempts = await home.StepRunsAsync(resumed.Run.Id, "gated");
        Assert.All(attempts, a => Assert.Equal("other", a.StepOperator));
        Assert.Contains(observer.Warnings, w => w.Contains("config the run was started with (gated)", StringComparison.Ordinal));

        // The completed run counts each step once, by its latest attempt; the failed first attempt is shown as an attempt.
        var show = home.Cli("run", "show", "gated-run");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("status completed", show.Out);
        Assert.Contains("steps 2: 2 completed; 1 earlier attempt (1 failed)", show.Out);
        Assert.Matches(@"gated\s+2\s+completed", show.Out);
        Assert.Matches(@"gated\s+1\s+failed", show.Out);
    }

    [Fact]
    public async Task The_console_run_list_and_run_show_give_a_run_the_same_duration_and_a_resume_says_how_long_it_took_itself()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("cfg", ("other", new()));
        var gate = home.Scratch("gate");
        var first = home.CliWith([], "pipeline", "run", "gate", "--assembly", typeof(ResumeConfigSteps).Assembly.Location, "--stack", stack,
            "--run-name", "timed-run");
        Assert.NotEqual(0, first.ExitCode); // the gate is closed, and the step runs in-process without the operator's environment
        await Task.Delay(1500);
        File.WriteAllText(gate, "open");
        var resumed = home.CliWith(new() { [ResumeConfigSteps.GateVariable] = gate }, "run", "resume", "timed-run");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());

        var console = System.Text.RegularExpressions.Regex.Match(resumed.Out, @"Run timed-run completed in (\S+) \(this execution (\S+)\)");
        Assert.True(console.Success, resumed.Out);
        Assert.Contains($"duration {console.Groups[1].Value}", home.Cli("run", "show", "timed-run").Out);
        Assert.Matches($@"timed-run\s.*\s{System.Text.RegularExpressions.Regex.Escape(console.Groups[1].Value)}", home.Cli("run", "list").Out);
    }
}
