using Strata.Tests.Support;

namespace Strata.Cli.Tests;

public sealed class HomeAndHelpTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public void Init_creates_a_project_home_that_commands_below_it_use()
    {
        var project = _cli.Combine("project");
        var nested = Path.Combine(project, "src", "deep");
        Directory.CreateDirectory(nested);
        var noHome = new Dictionary<string, string?> { ["STRATA_HOME"] = null };

        var init = _cli.RunIn(project, noHome, "init");
        Assert.True(init.ExitCode == 0, init.ToString());
        Assert.True(File.Exists(Path.Combine(project, ".strata", "strata.db")));

        Assert.Equal(0, _cli.RunIn(nested, noHome, "artifact-store", "register", "local2", "--flavor=local").ExitCode);
        var fromProject = _cli.RunIn(project, noHome, "artifact-store", "list", "--output", "json");
        Assert.Contains(fromProject.Json.EnumerateArray(), a => a.GetProperty("name").GetString() == "local2");

        // Outside the project, the user home (HOME is the test directory) does not see it.
        var outside = _cli.RunIn(_cli.Combine(), noHome, "artifact-store", "list", "--output", "json");
        Assert.DoesNotContain(outside.Json.EnumerateArray(), a => a.GetProperty("name").GetString() == "local2");
    }

    [Fact]
    public void Init_says_when_STRATA_HOME_is_set_and_will_win_over_the_new_home()
    {
        var project = _cli.Combine("project");
        Directory.CreateDirectory(project);

        var init = _cli.RunIn(project, new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home }, "init");
        Assert.True(init.ExitCode == 0, init.ToString());
        Assert.Contains($"STRATA_HOME is set ({_cli.Home}) and wins over {Path.Combine(project, ".strata")}", init.Error);

        var quiet = _cli.RunIn(project, new Dictionary<string, string?> { ["STRATA_HOME"] = null }, "init");
        Assert.DoesNotContain("STRATA_HOME", quiet.Error);
    }

    [Fact]
    public void A_local_store_path_is_created_by_the_first_run_not_at_register_or_a_clear_error_says_why_not()
    {
        var lake = _cli.Combine("data", "lake");
        Assert.Equal(0, _cli.Run("artifact-store", "register", "lake", "--flavor=local", $"--path={lake}").ExitCode);
        Assert.False(Directory.Exists(_cli.Combine("data")));

        File.WriteAllText(_cli.Combine("a-file"), "in the way");
        Assert.Equal(0, _cli.Run("artifact-store", "register", "blocked", "--flavor=local", $"--path={_cli.Combine("a-file", "lake")}").ExitCode);
        Assert.Equal(0, _cli.Run("stack", "register", "blocked", "-o", "default", "-a", "blocked", "--set").ExitCode);
        var run = _cli.Run("pipeline", "run", "arithmetic", "--assembly", StrataCli.SamplePipelinesDll);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: The local artifact store's directory {_cli.Combine("a-file", "lake")} cannot be created", run.Error);
        Assert.DoesNotContain("Unhandled", run.Error);

        Assert.Equal(0, _cli.Run("stack", "register", "lake", "-o", "default", "-a", "lake", "--set").ExitCode);
        Assert.Equal(0, _cli.Run("pipeline", "run", "arithmetic", "--assembly", StrataCli.SamplePipelinesDll).ExitCode);
        Assert.True(Directory.Exists(lake));
    }

    [Fact]
    public void Help_explains_every_command_group()
    {
        var help = _cli.Run("--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var group in new[] { "init", "orchestrator", "artifact-store", "step-operator", "container-registry", "image-builder", "stack", "pipeline", "run", "artifact",
                     "gc", "dashboard" })
            Assert.Contains(group, help.Out);

        var register = _cli.Run("step-operator", "register", "--help");
        Assert.Equal(0, register.ExitCode);
        Assert.Contains("--flavor", register.Out);
        Assert.Contains("--key=value", register.Out);

        var stack = _cli.Run("stack", "register", "--help");
        Assert.Contains("--step-operator", stack.Out);

        var gc = _cli.Run("gc", "--help");
        Assert.Equal(0, gc.ExitCode);
        Assert.Contains("--dry-run", gc.Out);
        Assert.Contains("still running keeps all of its files", gc.Out);
    }
}
