using System.Diagnostics;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>The README's main job: the Quickstart example trains and evaluates a model, and a second run is served from the cache.</summary>
public sealed class QuickstartExampleTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private CliResult RunExample()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _cli.WorkingDirectory };
        start.ArgumentList.Add(RepoPaths.QuickstartDll());
        start.Environment["STRATA_HOME"] = _cli.Home;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "the example did not finish");
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void Trains_and_evaluates_then_serves_unchanged_steps_from_the_cache()
    {
        var first = RunExample();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("✓ train completed", first.Out);
        Assert.Contains("trained FastTree with 100 trees", first.Out);
        var accuracyLine = first.Out.Split('\n').Single(l => l.TrimStart().StartsWith("accuracy ", StringComparison.Ordinal));
        var accuracy = double.Parse(accuracyLine.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(accuracy, 0.75, 1.0); // the generated data is learnable; a broken pipeline scores about 0.6

        var second = RunExample();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("4 cached", second.Out);
        Assert.DoesNotContain("trained FastTree", second.Out);
        Assert.Contains(accuracyLine, second.Out);
    }

    [Fact]
    public void On_a_stack_it_cannot_run_on_the_app_says_why_in_one_line_and_exits_2()
    {
        Assert.Equal(0, _cli.Run("stack", "register", "bare", "-o", "default", "-a", "default", "--set").ExitCode);

        var result = RunExample();
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: Cannot run on stack 'bare':", result.Error);
        Assert.Contains("step 'train' asks for the stack's default step operator, but stack 'bare' has none", result.Error);
        Assert.DoesNotContain("Unhandled exception", result.Error);
        Assert.DoesNotContain(" at Strata.", result.Error);
    }

    [Fact]
    public void Runs_from_the_command_line_with_the_apps_own_materializers()
    {
        var result = _cli.Run("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("✓ evaluate completed", result.Out);
        var artifacts = _cli.Run("artifact", "list", "--output", "json").Json.EnumerateArray();
        Assert.Contains(artifacts, a => a.GetProperty("materializer").GetString() == "strata.mlnet_model");
    }
}
