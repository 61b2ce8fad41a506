using Microsoft.Data.Sqlite;
using Strata.Tests.Support;

namespace Strata.Cli.Tests;

/// <summary>Every user mistake gets one line that names the fix, exit code 2, no stack trace, and nothing written.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private static void AssertUserError(CliResult result, params string[] expected)
    {
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain("Exception", result.Error);
        foreach (var e in expected) Assert.Contains(e, result.Error);
    }

    private string[] ComponentNames(string type) =>
        _cli.Run(type, "list", "--output", "json").Json.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray();

    [Fact]
    public void Unknown_flavor_lists_the_known_ones()
    {
        AssertUserError(_cli.Run("artifact-store", "register", "x", "--flavor=lcoal"), "Unknown artifact-store flavor 'lcoal'", "known flavors: azure, gcs, local, s3");
        Assert.DoesNotContain("x", ComponentNames("artifact-store"));
    }

    [Fact]
    public void Unknown_config_key_suggests_the_closest()
    {
        AssertUserError(_cli.Run("artifact-store", "register", "x", "--flavor=local", "--pth=/tmp"), "unknown config key 'pth'", "did you mean 'path'");
        Assert.DoesNotContain("x", ComponentNames("artifact-store"));
    }

    [Fact]
    public void Wrong_type_names_the_field_and_type()
    {
        AssertUserError(_cli.Run("orchestrator", "register", "x", "--flavor=local", "--max_parallelism=lots"), "'max_parallelism' must be an integer");
        AssertUserError(_cli.Run("artifact-store", "register", "y", "--flavor=local", "--shared=maybe"), "'shared' must be a boolean");
        Assert.DoesNotContain("x", ComponentNames("orchestrator"));
    }

    [Fact]
    public void Duplicate_name_is_refused()
    {
        Assert.Equal(0, _cli.Run("artifact-store", "register", "twin", "--flavor=local", $"--path={_cli.Combine("a")}").ExitCode);
        AssertUserError(_cli.Run("artifact-store", "register", "twin", "--flavor=local", $"--path={_cli.Combine("b")}"), "already exists");
        var twin = _cli.Run("artifact-store", "describe", "twin", "--output", "json");
        Assert.Equal(_cli.Combine("a"), twin.Json.GetProperty("config").GetProperty("path").GetString());
        AssertUserError(_cli.Run("stack", "register", "default", "-o", "default", "-a", "default"), "stack named 'default' already exists");
        AssertUserError(_cli.Run("artifact-store", "register", "twin", "--flavor=local"), "error: An artifact store named 'twin' already exists");
        AssertUserError(_cli.Run("orchestrator", "register", "default", "--flavor=local"), "error: An orchestrator named 'default' already exists");
        AssertUserError(_cli.Run("step-operator", "register", "local", "--flavor=local-process"), "error: A step operator named 'local' already exists");
    }

    [Fact]
    public void Deleting_a_component_a_stack_uses_names_the_stack()
    {
        Assert.Equal(0, _cli.Run("artifact-store", "register", "used", "--flavor=local").ExitCode);
        Assert.Equal(0, _cli.Run("stack", "register", "prod", "-o", "default", "-a", "used").ExitCode);
        AssertUserError(_cli.Run("artifact-store", "delete", "used"), "The artifact store 'used' is used by stack(s) 'prod'");
        Assert.Contains("used", ComponentNames("artifact-store"));
    }

    [Fact]
    public void Setting_a_stack_that_does_not_exist_is_refused()
    {
        AssertUserError(_cli.Run("stack", "set", "nope"), "No stack named 'nope'", "strata stack list");
        Assert.Equal("default", _cli.Run("stack", "get").Out.Trim());
    }

    [Fact]
    public void Stack_with_a_missing_component_lists_what_is_missing()
    {
        AssertUserError(_cli.Run("stack", "register", "s", "-o", "nothere", "-a", "missing"), "no orchestrator named 'nothere'", "no artifact-store named 'missing'");
        Assert.DoesNotContain("s", _cli.Run("stack", "list", "--output", "json").Json.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public void Deleting_the_active_stack_is_refused()
    {
        AssertUserError(_cli.Run("stack", "delete", "default"), "active stack");
    }

    [Fact]
    public void A_corrupt_store_file_is_reported_with_its_path()
    {
        File.WriteAllText(Path.Combine(_cli.Home, "strata.db"), new string('x', 4096));
        AssertUserError(_cli.Run("stack", "list"), "corrupt or not a Strata store", Path.Combine(_cli.Home, "strata.db"));
    }

    [Fact]
    public void A_store_from_a_newer_strata_is_refused()
    {
        Assert.Equal(0, _cli.Run("stack", "list").ExitCode);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_cli.Home, "strata.db")};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version) VALUES (999)";
            command.ExecuteNonQuery();
        }
        AssertUserError(_cli.Run("stack", "list"), "newer Strata");
    }

    [Fact]
    public void Parse_errors_exit_2_and_point_at_help()
    {
        var result = _cli.Run("stack", "register", "only-a-name");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--orchestrator", result.Error);
        Assert.Contains("strata stack register --help", result.Error);
        Assert.Equal(2, _cli.Run("run", "list", "--output", "yaml").ExitCode);
    }

    [Theory]
    [InlineData("strata --help", "unknown command 'stak'; did you mean 'stack'?", "stak", "list")]
    [InlineData("strata stack --help", "unknown command 'lst'; did you mean 'list'?", "stack", "lst")]
    [InlineData("strata run list --help", "unknown option '--limt'; did you mean '--limit'?", "run", "list", "--limt", "5")]
    [InlineData("strata run list --help", "unknown option '--limt'; did you mean '--limit'?", "run", "list", "--limt=5")]
    [InlineData("strata stack list --help", "unknown option '--ouput'; did you mean '--output'?", "stack", "list", "--ouput", "json")]
    public void A_mistyped_command_or_option_suggests_the_closest(string help, string expected, params string[] args)
    {
        var result = _cli.Run(args);
        AssertUserError(result);
        Assert.Equal([$"error: {expected}", $"Run '{help}' for usage."], result.Error.TrimEnd().Split('\n'));
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void A_word_far_from_any_command_is_named_without_a_guess()
    {
        var result = _cli.Run("zzzzzz");
        AssertUserError(result, "unknown command 'zzzzzz'.", "Run 'strata --help' for usage.");
        Assert.DoesNotContain("did you mean", result.Error);
        Assert.Equal(2, result.Error.TrimEnd().Split('\n').Length);
    }

    [Theory]
    [InlineData("--limit must be at least 1 (got -1).", "run", "list", "--limit", "-1")]
    [InlineData("--limit must be at least 1 (got 0).", "artifact", "list", "-n", "0")]
    [InlineData("--max-parallelism must be at least 1 (got 0).", "pipeline", "run", "arithmetic", "--assembly", "SamplePipelines.dll",
        "--max-parallelism", "0")]
    [InlineData("--max-parallelism must be at least 1 (got -3).", "run", "resume", "some-run", "--max-parallelism=-3")]
    public void Numbers_out_of_range_name_the_range_before_the_store_is_touched(string expected, params string[] args)
    {
        var result = _cli.Run(args);
        AssertUserError(result, expected);
        Assert.Equal(2, result.Error.TrimEnd().Split('\n').Length);
        Assert.False(File.Exists(Path.Combine(_cli.Home, "strata.db")), "the store was opened");
    }

    [Theory]
    [InlineData("orchestrator", "--max_parallelism=-1", "'max_parallelism' must be at least 0 (got -1)")]
    [InlineData("step-operator", "--max_concurrent=-2", "'max_concurrent' must be at least 0 (got -2)")]
    public void Negative_component_numbers_are_refused_with_the_range(string type, string setting, string expected)
    {
        var flavor = type == "orchestrator" ? "local" : "local-process";
        AssertUserError(_cli.Run(type, "register", "x", $"--flavor={flavor}", setting), expected);
        Assert.DoesNotContain("x", ComponentNames(type));
        Assert.Equal(0, _cli.Run(type, "register", "x", $"--flavor={flavor}", setting.Replace("=-", "=", StringComparison.Ordinal)).ExitCode);
        AssertUserError(_cli.Run(type, "update", "x", setting), expected);
        Assert.NotEqual(setting.Split('=')[1], _cli.Run(type, "describe", "x", "--output", "json").Json.GetProperty("config").GetProperty(
            setting[2..].Split('=')[0]).GetString());
    }

    [Fact]
    public void Config_without_a_value_is_refused()
    {
        AssertUserError(_cli.Run("artifact-store", "register", "x", "--flavor=local", "--path"), "has no value");
    }
}
