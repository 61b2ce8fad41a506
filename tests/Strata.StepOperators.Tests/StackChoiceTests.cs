using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class StackChoiceSteps
{
    // Where a step runs is not part of its cache key, so these steps, which report where they ran, are never cached.

    /// <summary>Says where it ran: the OPERATOR_LABEL its operator sets, and whether it ran in the orchestrator's process.</summary>
    [Step(StepOperator = "cpu_b", EnableCache = false)]
    public static string OnB(int orchestratorPid) => Where(orchestratorPid);

    [Step(StepOperator = StepOperatorNames.Default, EnableCache = false)]
    public static string OnDefault(int orchestratorPid) => Where(orchestratorPid);

    [Step(StepOperator = "cpu_b", EnableCache = false)]
    public static string Moved(int orchestratorPid) => Where(orchestratorPid);

    [Step(EnableCache = false)]
    public static string Anywhere(int orchestratorPid) => Where(orchestratorPid);

    private static string Where(int orchestratorPid) =>
        Environment.ProcessId == orchestratorPid ? "in-process" : Environment.GetEnvironmentVariable("OPERATOR_LABEL") ?? "<unset>";

    [Step(StepOperator = "gpu")]
    public static int NeedsGpu(string counter) => StepFiles.Increment(counter);

    [Step]
    public static int Plain(string counter) => StepFiles.Increment(counter);
}

public sealed class StackChoiceTests
{
    private static readonly int Pid = Environment.ProcessId;

    [Fact]
    public async Task Steps_on_one_stack_run_on_the_operators_they_choose()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("two_cpus",
            ("cpu_a", new() { ["environment"] = "OPERATOR_LABEL=a" }),
            ("cpu_b", new() { ["environment"] = "OPERATOR_LABEL=b" }));

        var result = await home.RunAsync(p =>
        {
            p.Step(StackChoiceSteps.OnB, Pid);
            p.Step(StackChoiceSteps.OnDefault, Pid);
            p.Step(StackChoiceSteps.Moved, Pid).OnStepOperator("cpu_a");
            p.Step(StackChoiceSteps.Moved, Pid).Named("moved_home").OnStepOperator(null);
            p.Step(StackChoiceSteps.Anywhere, Pid);
            p.Step(StackChoiceSteps.Anywhere, Pid).Named("anywhere_by_config");
        }, stack: stack, steps: new() { ["anywhere_by_config"] = new StepOverride { StepOperator = "cpu_b" } });

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        var expected = new Dictionary<string, (string Label, string? Operator)>
        {
            ["on_b"] = ("b", "cpu_b"),
            ["on_default"] = ("a", "cpu_a"),          // the stack's first step operator
            ["moved"] = ("a", "cpu_a"),               // the pipeline's choice wins over the attribute
            ["moved_home"] = ("in-process", null),    // and can bring a step back into the orchestrator
            ["anywhere"] = ("in-process", null),
            ["anywhere_by_config"] = ("b", "cpu_b"),  // the run config's choice wins over both
        };
        foreach (var (step, (label, op)) in expected)
            Assert.Equal((step, label), (step, await result.LoadAsync<string>(step)));

        var show = home.Cli("run", "show", result.Run.Name, "--output", "json");
        Assert.True(show.ExitCode == 0, show.ToString());
        var shown = show.Json.GetProperty("steps").EnumerateArray().ToDictionary(
            s => s.GetProperty("name").GetString()!, s => s.GetProperty("step_operator").GetString());
        Assert.Equal(expected.ToDictionary(e => e.Key, e => e.Value.Operator).OrderBy(e => e.Key), shown.OrderBy(e => e.Key));
    }

    [Fact]
    public async Task A_step_naming_an_operator_the_stack_lacks_fails_before_anything_runs_naming_both()
    {
        await using var home = await OperatorHome.OpenAsync();
        var stack = await home.StackWithAsync("cpu_only", ("cpu", new()));
        var counter = home.Scratch("ran.count");

        var e = await Assert.ThrowsAsync<StackValidationException>(() => home.RunAsync(p =>
        {
            p.Step(StackChoiceSteps.Plain, counter);
            p.Step(StackChoiceSteps.NeedsGpu, counter);
        }, stack: stack));

        Assert.Equal("cpu_only", e.Stack);
        var problem = Assert.Single(e.Problems);
        Assert.Contains("step 'needs_gpu' asks for step operator 'gpu', which stack 'cpu_only' does not have (it has: cpu)", problem);
        Assert.Contains("strata stack update cpu_only -s cpu -s gpu", problem);
        Assert.Equal(0, StepFiles.Count(counter));
        Assert.Empty(await home.Client.Store.ListRunsAsync());
    }
}
