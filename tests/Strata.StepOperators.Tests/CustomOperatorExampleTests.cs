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

/// <summary>
/// The guide's example as documentation and as a plugin of the strata command. The operator itself proves the
/// conformance suite in tests/CustomOperatorExample.Tests, built against Strata's public API only.
/// </summary>
public sealed class CustomOperatorExampleTests
{
    [Theory]
    [InlineData("tests/Fixtures/CustomOperatorExample/NiceStepOperator.cs")]
    [InlineData("tests/CustomOperatorExample.Tests/NiceStepOperatorTests.cs")]
    public void The_guide_shows_the_example_exactly_as_the_tests_compile_it(string examplePath)
    {
        var root = RepoPaths.Root;
        var guide = File.ReadAllText(Path.Combine(root, "docs", "custom-step-operator.md"));
        var marker = $"<!-- {examplePath} -->\n```csharp\n";
        var start = guide.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/custom-step-operator.md has no block marked {marker.Trim()}");
        start += marker.Length;
        var end = guide.IndexOf("\n```\n", start, StringComparison.Ordinal);
        Assert.True(end >= 0, "the example's code block is not closed");
        Assert.Equal(File.ReadAllText(Path.Combine(root, examplePath)), guide[start..(end + 1)]);
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
