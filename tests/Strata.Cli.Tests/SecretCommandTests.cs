using Strata.Tests.Support;

namespace Strata.Cli.Tests;

public sealed class SecretCommandTests : IDisposable
{
    private const string Distinctive = "v4lue-Axolotl-Marmot-5531";

    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private static void AssertOk(CliResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private static void AssertUserError(CliResult result, params string[] expected)
    {
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        foreach (var e in expected) Assert.Contains(e, result.Error);
    }

    private static void AssertNoValue(CliResult result, string value = Distinctive)
    {
        Assert.DoesNotContain(value, result.Out);
        Assert.DoesNotContain(value, result.Error);
    }

    /// <summary>The decrypted values, read through the library from the home the CLI wrote.</summary>
    private async Task<IReadOnlyDictionary<string, string>> ValuesAsync(string name)
    {
        await using var client = await StrataClient.OpenAsync(new StrataHome(_cli.Home));
        return await client.Secrets.GetAsync(name);
    }

    [Fact]
    public async Task Create_list_describe_update_delete_round_trip_never_prints_a_value()
    {
        var create = _cli.Run("secret", "create", "aws", $"--aws_access_key_id=AKIA{Distinctive}", "--region", "eu-west-1");
        AssertOk(create);
        AssertNoValue(create);
        Assert.Contains("aws_access_key_id, region", create.Out);

        var list = _cli.Run("secret", "list", "--output", "json");
        AssertOk(list);
        AssertNoValue(list);
        var item = Assert.Single(list.Json.EnumerateArray());
        Assert.Equal("aws", item.GetProperty("name").GetString());
        Assert.Equal(["aws_access_key_id", "region"], item.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.True(item.TryGetProperty("created_at", out _));
        Assert.True(item.TryGetProperty("updated_at", out _));
        Assert.False(item.TryGetProperty("values", out _));

        var table = _cli.Run("secret", "list");
        AssertOk(table);
        AssertNoValue(table);
        AssertNoValue(table, "eu-west-1");
        Assert.Contains("aws_access_key_id, region", table.Out);

        var describe = _cli.Run("secret", "describe", "aws", "--output", "json");
        AssertOk(describe);
        AssertNoValue(describe);
        AssertNoValue(describe, "eu-west-1");
        Assert.Equal("aws", describe.Json.GetProperty("name").GetString());
        Assert.Equal("********", describe.Json.GetProperty("values").GetProperty("aws_access_key_id").GetString());
        Assert.Equal("********", describe.Json.GetProperty("values").GetProperty("region").GetString());

        var describeTable = _cli.Run("secret", "describe", "aws");
        AssertOk(describeTable);
        AssertNoValue(describeTable);
        Assert.Contains("{{aws.region}}", describeTable.Out);

        var update = _cli.Run("secret", "update", "aws", "--region=", $"--aws_secret_access_key={Distinctive}-2", "--output", "json");
        AssertOk(update);
        AssertNoValue(update);
        Assert.Equal(["aws_access_key_id", "aws_secret_access_key"], update.Json.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(new Dictionary<string, string> { ["aws_access_key_id"] = "AKIA" + Distinctive, ["aws_secret_access_key"] = Distinctive + "-2" }, await ValuesAsync("aws"));

        var delete = _cli.Run("secret", "delete", "aws");
        AssertOk(delete);
        Assert.Empty(_cli.Run("secret", "list", "--output", "json").Json.EnumerateArray());
    }

    [Fact]
    public async Task A_value_can_come_from_standard_input_or_an_environment_variable()
    {
        var stdin = _cli.RunWithInput(Distinctive + "\n", "secret", "create", "db", "--password=-", "--user=admin");
        AssertOk(stdin);
        AssertNoValue(stdin);
        Assert.Equal(new Dictionary<string, string> { ["password"] = Distinctive, ["user"] = "admin" }, await ValuesAsync("db"));

        var multiLine = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n";
        AssertOk(_cli.RunWithInput(multiLine + "\n", "secret", "update", "db", "--pem", "-"));
        Assert.Equal(multiLine, (await ValuesAsync("db"))["pem"]);

        var fromEnv = _cli.RunIn(_cli.WorkingDirectory, new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home, ["MY_TOKEN"] = Distinctive },
            "secret", "create", "wandb", "--from-env", "api_key=MY_TOKEN", "--from-env", "other=MY_TOKEN");
        AssertOk(fromEnv);
        AssertNoValue(fromEnv);
        Assert.Equal(new Dictionary<string, string> { ["api_key"] = Distinctive, ["other"] = Distinctive }, await ValuesAsync("wandb"));

        var help = _cli.Run("secret", "create", "--help");
        AssertOk(help);
        Assert.Contains("--from-env", help.Out);
        Assert.Contains("--key=-", help.Out);
        Assert.Contains("standard input", help.Out);
        Assert.Contains("--from-env", _cli.Run("secret", "update", "--help").Out);
    }

    [Fact]
    public void Mistakes_exit_2_with_one_line_and_never_repeat_a_value()
    {
        AssertOk(_cli.Run("secret", "create", "db", "--password=abcd"));

        AssertUserError(_cli.Run("secret", "create", "db", "--password=other"), "already exists", "strata secret update db");
        AssertUserError(_cli.Run("secret", "describe", "nope"), "No secret named 'nope'");
        AssertUserError(_cli.Run("secret", "delete", "nope"), "No secret named 'nope'");
        AssertUserError(_cli.Run("secret", "update", "nope", "--a=bcde"), "No secret named 'nope'");
        AssertUserError(_cli.Run("secret", "create", "bad/name", "--a=bcde"), "not a valid secret name");
        AssertUserError(_cli.Run("secret", "create", "empty"), "Give the secret's values");
        AssertUserError(_cli.Run("secret", "update", "db"), "Nothing to update");
        AssertUserError(_cli.Run("secret", "create", "x", "--a.b=value"), "'a.b' is not a valid key");
        AssertUserError(_cli.Run("secret", "create", "x", "--password="), "empty value");
        AssertUserError(_cli.RunWithInput("", "secret", "create", "x", "--password=-"), "no value for 'password'");
        AssertUserError(_cli.RunWithInput("ab", "secret", "create", "x", "--a=-", "--b=-"), "Only one value");

        var stray = _cli.Run("secret", "create", "x", "--password", Distinctive, Distinctive + "-stray");
        AssertUserError(stray, "Unexpected argument");
        AssertNoValue(stray);
        var nameLast = _cli.Run("secret", "create", $"--password={Distinctive}");
        Assert.Equal(2, nameLast.ExitCode);
        AssertNoValue(nameLast);
        var unsetVariable = _cli.Run("secret", "create", "x", "--from-env", $"password={Distinctive}");
        AssertUserError(unsetVariable, "'password'", "not set");
        AssertNoValue(unsetVariable);
        var badFromEnv = _cli.Run("secret", "create", "x", "--from-env", Distinctive);
        AssertUserError(badFromEnv, "key=ENVVAR");
        AssertNoValue(badFromEnv);

        var names = _cli.Run("secret", "list", "--output", "json").Json.EnumerateArray().Select(e => e.GetProperty("name").GetString());
        Assert.Equal(["db"], names);
    }

    [Fact]
    public void Component_config_keeps_references_and_the_run_resolves_them()
    {
        var root = _cli.Combine("from-secret");
        AssertOk(_cli.Run("secret", "create", "paths", $"--root={root}"));
        AssertOk(_cli.Run("artifact-store", "register", "lake", "--flavor=local", "--path={{paths.root}}/lake"));
        AssertOk(_cli.Run("stack", "register", "dev", "-o", "default", "-a", "lake", "--set"));

        var describe = _cli.Run("artifact-store", "describe", "lake", "--output", "json");
        Assert.Equal("{{paths.root}}/lake", describe.Json.GetProperty("config").GetProperty("path").GetString());

        var run = _cli.Run("pipeline", "run", "arithmetic", "--assembly", StrataCli.SamplePipelinesDll);
        AssertOk(run);
        Assert.True(Directory.Exists(Path.Combine(root, "lake")));

        AssertOk(_cli.Run("secret", "delete", "paths"));
        var missing = _cli.Run("pipeline", "run", "arithmetic", "--assembly", StrataCli.SamplePipelinesDll);
        AssertUserError(missing, "artifact-store 'lake'", "'path'", "{{paths.root}}", "strata secret create paths");
    }
}
