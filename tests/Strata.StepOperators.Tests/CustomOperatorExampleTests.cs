using CustomOperatorExample;
using Strata.StepOperatorTests.Support;
using Strata.Tests.Support;

namespace Strata.StepOperatorTests;

public static class NiceSteps
{
    [Step(EnableCache = false)]
    [Resources(Cpus = 2)]
    public static (int Niceness, long Doubled) Report(long x)
    {
        Console.WriteLine($"running nicely on {x}");
        return (Processes.Niceness("self"), x * 2);
    }

    [Pipeline(Name = "nice_report")]
    public static void NiceReport(PipelineBuilder p) => p.Step(Report, 21L).OnStepOperator("low");
}

public sealed class CustomOperatorExampleTests
{
    private const string ExamplePath = "tests/Fixtures/CustomOperatorExample/NiceStepOperator.cs";

    [Fact]
    public void The_guide_shows_the_example_exactly_as_the_tests_compile_it()
    {
        var root = RepoPaths.Root;
        var guide = File.ReadAllText(Path.Combine(root, "docs", "custom-step-operator.md"));
        var marker = $"<!-- {ExamplePath} -->\n```csharp\n";
        var start = guide.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/custom-step-operator.md has no block marked {marker.Trim()}");
        start += marker.Length;
        var end = guide.IndexOf("\n```\n", start, StringComparison.Ordinal);
        Assert.True(end >= 0, "the example's code block is not closed");
        Assert.Equal(File.ReadAllText(Path.Combine(root, ExamplePath)), guide[start..(end + 1)]);
    }

    [Fact]
    public async Task The_example_flavor_registers_and_runs_steps_end_to_end()
    {
        var flavors = new FlavorRegistry();
        new NiceSetup().Configure(new MaterializerRegistry(), flavors);
        await using var home = await OperatorHome.OpenAsync(flavors);
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "low", "nice", new Dictionary<string, string> { ["niceness"] = "7" });
        await home.Client.Stacks.RegisterStackAsync("nice_stack", StackManager.DefaultStack, StackManager.DefaultStack, ["low"]);
        var observer = new RecordingObserver();
        var own = Processes.Niceness("self");

        var result = await home.RunAsync(p =>
        {
            p.Step(NiceSteps.Report, 21L).OnStepOperator("low");
            p.Step(NiceSteps.Report, 5L).Named("lowest").OnStepOperator("low").WithSettings(new NiceSettings { Niceness = 15 });
        }, observer, stack: "nice_stack");

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        Assert.Equal(42, await result.LoadAsync<long>("report", "doubled"));
        Assert.Equal(Math.Min(19, own + 7), await result.LoadAsync<int>("report", "niceness"));
        Assert.Equal(10, await result.LoadAsync<long>("lowest", "doubled"));
        Assert.Equal(Math.Min(19, own + 15), await result.LoadAsync<int>("lowest", "niceness"));
        Assert.Contains("running nicely on 21", observer.LinesOf("report"));
        Assert.Contains("running nicely on 21", await home.Client.Store.GetStepLogAsync(result["report"].StepRunId!));
        Assert.Equal("low", (await home.StepRunAsync(result, "report")).StepOperator);
        var warning = Assert.Single(observer.Warnings);
        Assert.Contains("step operator 'low' (flavor nice) ignores cpus, gpus and memory", warning);
        Assert.Contains("niceness", warning);
    }

    [Fact]
    public async Task The_example_flavor_reports_failures_and_cancels_the_whole_job()
    {
        var flavors = new FlavorRegistry().Add(new NiceFlavor());
        await using var home = await OperatorHome.OpenAsync(flavors);
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "low", "nice", new Dictionary<string, string>());
        await home.Client.Stacks.RegisterStackAsync("nice_stack", StackManager.DefaultStack, StackManager.DefaultStack, ["low"]);

        var failed = await home.RunAsync(p => p.Step(FailureSteps.Explode, 3).OnStepOperator("low"), stack: "nice_stack");
        Assert.Contains("InvalidDataException: remote boom 3", failed["explode"].Error);
        Assert.Contains("step operator 'low'", failed["explode"].Error);

        var pidFile = home.Scratch("hang.pids");
        using var cancel = new CancellationTokenSource();
        var run = home.RunAsync(p => p.Step(CancelSteps.Hang, pidFile).OnStepOperator("low"), stack: "nice_stack", cancellationToken: cancel.Token);
        var pids = Processes.Pids(await Processes.WaitForLinesAsync(pidFile, 2, givenUp: () => run.IsCompleted));
        await cancel.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(ExecutionStatus.Cancelled, result["hang"].Status);
        Assert.True(pids.All(p => !Processes.IsAlive(p)), $"still running: {string.Join(", ", pids.Where(Processes.IsAlive))}");

        // A step asked to stop gets the time to finish up.
        var dir = home.Scratch("graceful");
        Directory.CreateDirectory(dir);
        using var cancelGraceful = new CancellationTokenSource();
        var graceful = home.RunAsync(p => p.Step(CancelSteps.Graceful, dir).OnStepOperator("low"), stack: "nice_stack", cancellationToken: cancelGraceful.Token);
        await Processes.WaitForLinesAsync(Path.Combine(dir, "graceful.started"), 0, givenUp: () => graceful.IsCompleted);
        await cancelGraceful.CancelAsync();
        Assert.Equal(ExecutionStatus.Cancelled, (await graceful.WaitAsync(TimeSpan.FromMinutes(2)))["graceful"].Status);
        Assert.True(File.Exists(Path.Combine(dir, "graceful.finished")), "the step was killed before it could finish up");
    }

    [Fact]
    public async Task The_strata_command_knows_a_flavor_from_a_library_listed_in_STRATA_PLUGINS()
    {
        await using var home = await OperatorHome.OpenAsync();
        var plugins = new Dictionary<string, string?> { ["STRATA_PLUGINS"] = Path.Combine(AppContext.BaseDirectory, "CustomOperatorExample.dll") };

        var unknown = home.Cli("step-operator", "register", "low", "--flavor=nice");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Contains("Unknown step-operator flavor 'nice'", unknown.Error);

        var describe = home.CliWith(plugins, "step-operator", "flavor", "describe", "nice");
        Assert.True(describe.ExitCode == 0, describe.ToString());
        Assert.Contains("niceness", describe.Out);
        Assert.Contains("jobs_directory", describe.Out);
        foreach (var command in new[]
        {
            new[] { "step-operator", "register", "low", "--flavor=nice", "--niceness=3" },
            ["stack", "register", "nice_stack", "-o", "default", "-a", "default", "-s", "low", "--set"],
        })
        {
            var done = home.CliWith(plugins, command);
            Assert.True(done.ExitCode == 0, done.ToString());
        }

        var run = home.CliWith(plugins, "pipeline", "run", "nice_report", "--assembly", typeof(NiceSteps).Assembly.Location);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("[report] running nicely on 21", run.Out);
        Assert.Contains("warning: step operator 'low' (flavor nice) ignores cpus, gpus and memory", run.Out);

        var missing = home.CliWith(new() { ["STRATA_PLUGINS"] = "/nonexistent/Plugin.dll" }, "stack", "list");
        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Contains("STRATA_PLUGINS: Assembly '/nonexistent/Plugin.dll' not found", missing.Error);
    }
}
