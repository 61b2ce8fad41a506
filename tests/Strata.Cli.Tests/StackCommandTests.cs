using Strata.Tests.Support;

namespace Strata.Cli.Tests;

public sealed class StackCommandTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public void Tables_in_a_pipe_are_not_padded_with_trailing_spaces()
    {
        var registered = _cli.RunIn(_cli.WorkingDirectory, new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home, ["TERM"] = "xterm-256color" },
            "orchestrator", "register", "wide", "--flavor=local");
        Assert.Equal("Registered orchestrator 'wide' (flavor local).\n", registered.Out.Replace("\r", "", StringComparison.Ordinal));
        Assert.Equal(0, _cli.Run("stack", "register", "a-stack-with-a-long-name", "-o", "default", "-a", "default").ExitCode);
        foreach (var args in new[] { new[] { "stack", "list" }, ["stack", "describe"], ["orchestrator", "list"] })
        {
            var result = _cli.Run(args);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("default", result.Out);
            var padded = result.Out.Split('\n').Where(line => line.TrimEnd('\r').EndsWith(' ')).ToArray();
            Assert.DoesNotContain('\u001b', result.Out);
            Assert.True(padded.Length == 0, $"strata {string.Join(' ', args)}: lines end with spaces:\n{string.Join('\n', padded.Select(l => $"[{l}]"))}");
        }
    }

    [Fact]
    public void First_use_has_an_active_default_stack()
    {
        var table = _cli.Run("stack", "list");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("default", table.Out);

        var json = _cli.Run("stack", "list", "--output", "json").Json.EnumerateArray().Single();
        Assert.Equal("default", json.GetProperty("name").GetString());
        Assert.True(json.GetProperty("active").GetBoolean());
        Assert.Equal("default", json.GetProperty("orchestrator").GetString());
        Assert.Equal("default", json.GetProperty("artifact_store").GetString());
        Assert.Equal("local", json.GetProperty("step_operators")[0].GetString());
    }

    [Fact]
    public void Register_set_describe_update_delete()
    {
        Assert.Equal(0, _cli.Run("artifact-store", "register", "lake", "--flavor=local", $"--path={_cli.Combine("lake")}").ExitCode);
        Assert.Equal(0, _cli.Run("orchestrator", "register", "narrow", "--flavor=local", "--max_parallelism=1").ExitCode);

        var register = _cli.Run("stack", "register", "dev", "-o", "default", "-a", "lake", "--set");
        Assert.True(register.ExitCode == 0, register.ToString());
        Assert.Equal("dev", _cli.Run("stack", "get").Out.Trim());

        var describe = _cli.Run("stack", "describe", "--output", "json").Json;
        Assert.Equal("dev", describe.GetProperty("stack").GetProperty("name").GetString());
        Assert.Contains(describe.GetProperty("components").EnumerateArray(), c => c.GetProperty("name").GetString() == "lake");

        Assert.Equal(0, _cli.Run("stack", "update", "dev", "-o", "narrow").ExitCode);
        var updated = _cli.Run("stack", "describe", "dev", "--output", "json").Json.GetProperty("stack");
        Assert.Equal("narrow", updated.GetProperty("orchestrator").GetString());
        Assert.Equal("lake", updated.GetProperty("artifact_store").GetString());

        Assert.Equal(0, _cli.Run("stack", "set", "default").ExitCode);
        Assert.Equal(0, _cli.Run("stack", "delete", "dev").ExitCode);
        Assert.DoesNotContain("dev", _cli.Run("stack", "list", "--output", "json").Json.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Contains("lake", _cli.Run("artifact-store", "list", "--output", "json").Json.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }

    [Fact]
    public void Export_then_import_into_another_store_recreates_stack_and_components()
    {
        Assert.Equal(0, _cli.Run("artifact-store", "register", "lake", "--flavor=local", "--path=/data/lake", "--shared=true").ExitCode);
        Assert.Equal(0, _cli.Run("stack", "register", "team", "-o", "default", "-a", "lake").ExitCode);
        var file = _cli.Combine("team.yaml");
        var export = _cli.Run("stack", "export", "team", file);
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains("flavor: local", File.ReadAllText(file));

        using var other = new StrataCli();
        var import = other.Run("stack", "import", file);
        Assert.True(import.ExitCode == 0, import.ToString());
        var stack = other.Run("stack", "describe", "team", "--output", "json").Json;
        Assert.Equal("lake", stack.GetProperty("stack").GetProperty("artifact_store").GetString());
        var lake = other.Run("artifact-store", "describe", "lake", "--output", "json").Json.GetProperty("config");
        Assert.Equal("/data/lake", lake.GetProperty("path").GetString());
        Assert.Equal("true", lake.GetProperty("shared").GetString());

        var again = other.Run("stack", "import", file);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already exists", again.Error);
        Assert.Equal(0, other.Run("stack", "import", file, "--name", "team2").ExitCode);
    }

    [Fact]
    public void Import_of_a_broken_file_is_a_user_error()
    {
        var file = _cli.Combine("broken.yaml");
        File.WriteAllText(file, "name: [unclosed");
        var result = _cli.Run("stack", "import", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a valid stack file", result.Error);
    }
}
