using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class SettingsSteps
{
    [Step(StepOperator = "envop", EnableCache = false)]
    public static string ReadA(int copy) => Environment.GetEnvironmentVariable("A") ?? "<unset>";

    [Step(StepOperator = "envop", EnableCache = false)]
    public static string ReadAB(int copy) => $"{Environment.GetEnvironmentVariable("A")},{Environment.GetEnvironmentVariable("B")}";

    [Step(StepOperator = "envop")]
    public static int Counted(string counter) => StepFiles.Increment(counter);

    /// <summary>Reads variables the step process may or may not be given.</summary>
    [Step(StepOperator = StepOperatorNames.Default, EnableCache = false)]
    public static string[] ReadEnvironment(string parentOnly) =>
    [
        Environment.GetEnvironmentVariable(parentOnly) ?? "<unset>",
        Environment.GetEnvironmentVariable("EXTRA") ?? "<unset>",
        Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } ? "path" : "no path",
    ];
}

public sealed class SettingsTests
{
    [Fact]
    public async Task Step_settings_and_run_config_override_the_operator_config()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("env", ("envop", new() { ["environment"] = "A=1" }));

        var result = await home.RunAsync(p =>
        {
            p.Step(SettingsSteps.ReadA, 1);
            p.Step(SettingsSteps.ReadA, 2).WithSettings(new LocalProcessSettings { Environment = new() { ["A"] = "2" } });
            p.Step(SettingsSteps.ReadA, 3).WithSettings(new Dictionary<string, string> { ["environment"] = "A=2" });
            p.Step(SettingsSteps.ReadA, 4).WithSettings(new LocalProcessSettings { Environment = new() { ["A"] = "2" } });
        }, stack: stack, steps: new() { ["read_a_4"] = new StepOverride { Settings = { ["environment"] = "A=3" } } });

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        Assert.Equal("1", await result.LoadAsync<string>("read_a"));
        Assert.Equal("2", await result.LoadAsync<string>("read_a_2"));
        Assert.Equal("2", await result.LoadAsync<string>("read_a_3"));
        Assert.Equal("3", await result.LoadAsync<string>("read_a_4"));
    }

    [Fact]
    public async Task A_steps_environment_merges_with_the_operators_the_step_winning_per_variable()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("env", ("envop", new() { ["environment"] = "A=1,B=1" }));

        var result = await home.RunAsync(p =>
        {
            p.Step(SettingsSteps.ReadAB, 1);
            p.Step(SettingsSteps.ReadAB, 2).WithSettings(new Dictionary<string, string> { ["environment"] = "A=2" });
        }, stack: stack, steps: new() { ["read_ab"] = new StepOverride { Settings = { ["environment"] = "B=3" } } });

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        Assert.Equal("1,3", await result.LoadAsync<string>("read_ab"));
        Assert.Equal("2,1", await result.LoadAsync<string>("read_ab_2"));
    }

    [Fact]
    public async Task An_invalid_step_setting_fails_before_anything_runs_with_the_fix()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("env", ("envop", new()));
        var counter = home.Scratch("ran.count");

        var e = await Assert.ThrowsAsync<StackValidationException>(() => home.RunAsync(p =>
        {
            p.Step(SettingsSteps.Counted, counter);
            p.Step(SettingsSteps.Counted, counter).WithSettings(new Dictionary<string, string> { ["enviroment"] = "A=2" });
            p.Step(SettingsSteps.Counted, counter).WithSettings(new Dictionary<string, string> { ["timeout"] = "soon" });
        }, stack: stack, steps: new() { ["counted"] = new StepOverride { Settings = { ["max_concurrent"] = "2" } } }));

        Assert.Equal(3, e.Problems.Count);
        Assert.Contains(e.Problems, p => p.Contains("step 'counted_2' on step operator 'envop'", StringComparison.Ordinal)
            && p.Contains("unknown config key 'enviroment'; did you mean 'environment'?", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("step 'counted_3'", StringComparison.Ordinal)
            && p.Contains("'timeout' must be a duration", StringComparison.Ordinal));
        // A component-only key is not a per-step setting.
        Assert.Contains(e.Problems, p => p.Contains("step 'counted' on step operator 'envop'", StringComparison.Ordinal)
            && p.Contains("max_concurrent", StringComparison.Ordinal));
        Assert.Equal(0, StepFiles.Count(counter));
        Assert.Empty(await home.Client.Store.ListRunsAsync());
    }

    [Fact]
    public async Task A_step_process_gets_an_explicit_environment_not_the_orchestrators_unless_configured()
    {
        const string parentOnly = "STRATA_TEST_PARENT_ONLY";
        Environment.SetEnvironmentVariable(parentOnly, "from the orchestrator");
        try
        {
            await using var home = await OperatorHome.OpenAsync();
            var stack = await home.StackWithAsync("inherit", ("inheriting", new() { ["inherit_environment"] = "true", ["environment"] = "EXTRA=x" }));

            var explicitEnvironment = await home.RunAsync(p => p.Step(SettingsSteps.ReadEnvironment, parentOnly));
            var inherited = await home.RunAsync(p => p.Step(SettingsSteps.ReadEnvironment, parentOnly), stack: stack);

            Assert.Equal(["<unset>", "<unset>", "path"], await explicitEnvironment.LoadAsync<string[]>("read_environment"));
            Assert.Equal(["from the orchestrator", "x", "path"], await inherited.LoadAsync<string[]>("read_environment"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(parentOnly, null);
        }
    }

    /// <summary>Writes when it starts and ends into a shared file, holding its slot for a moment between the two.</summary>
    [Step(StepOperator = "one_at_a_time", EnableCache = false)]
    public static int Occupy(int id, string events)
    {
        File.AppendAllText(events, $"start {id}\n");
        Thread.Sleep(500);
        File.AppendAllText(events, $"end {id}\n");
        return id;
    }

    [Fact]
    public async Task Max_concurrent_bounds_how_many_step_processes_run_at_once()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("narrow", ("one_at_a_time", new() { ["max_concurrent"] = "1" }));
        var events = home.Scratch("events");

        var result = await home.Client.RunAsync(p =>
        {
            for (var i = 0; i < 3; i++) p.Step(Occupy, i, events);
        }, new RunOptions { Stack = stack, MaxParallelism = 3, Observer = new RecordingObserver() });

        Assert.True(result.Succeeded);
        var lines = File.ReadAllLines(events);
        Assert.Equal(6, lines.Length);
        // Never two starts in a row: each process ended before the next one started.
        for (var i = 0; i < lines.Length; i += 2)
        {
            Assert.StartsWith("start ", lines[i]);
            Assert.Equal(lines[i].Replace("start", "end", StringComparison.Ordinal), lines[i + 1]);
        }
    }

    [Step(StepOperator = StepOperatorNames.Default)]
    [Resources(Gpus = 1)]
    public static int Train(int seed) => seed;

    [Step(StepOperator = StepOperatorNames.Default)]
    [Resources(Gpus = 1, GpuType = "a100")]
    public static int Tune(int seed) => seed;

    [Fact]
    public async Task A_resource_the_flavor_cannot_honour_is_warned_about_once_per_run_naming_the_setting_to_use()
    {
        await using var home = await OperatorHome.OpenAsync();
        var observer = new RecordingObserver();

        var result = await home.RunAsync(p =>
        {
            p.Step(Train, 1);
            p.Step(Train, 2);
            p.Step(Tune, 3);
        }, observer);

        Assert.True(result.Succeeded);
        var warning = Assert.Single(observer.Warnings);
        Assert.Contains("step operator 'local' (flavor local-process) ignores gpus", warning);
        Assert.Contains("environment", warning);
        Assert.Contains("CUDA_VISIBLE_DEVICES", warning);
    }
}
