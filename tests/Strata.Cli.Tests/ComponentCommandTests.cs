using Strata.Tests.Support;

namespace Strata.Cli.Tests;

public sealed class ComponentCommandTests : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("artifact-store", "local", "an artifact store", "artifact stores")]
    [InlineData("orchestrator", "local", "an orchestrator", "orchestrators")]
    [InlineData("step-operator", "local-process", "a step operator", "step operators")]
    [InlineData("image-builder", null, "an image builder", "image builders")]
    [InlineData("container-registry", null, "a container registry", "container registries")]
    public void Messages_name_component_types_in_plain_words(string type, string? flavor, string withArticle, string plural)
    {
        var help = _cli.Run(type, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains($"Register, inspect and change {plural}.", help.Out);
        Assert.Contains($"Register {withArticle}: NAME", help.Out);
        Assert.Contains($"Delete {withArticle} that no stack uses.", help.Out);
        Assert.DoesNotContain(" a a", help.Out);
        Assert.DoesNotContain($" a {type}", help.Out);
        if (flavor is null) return;
        var registered = _cli.Run(type, "register", "x", $"--flavor={flavor}");
        Assert.Equal($"Registered {withArticle[(withArticle.IndexOf(' ') + 1)..]} 'x' (flavor {flavor}).", registered.Out.Trim());
    }

    [Fact]
    public void Register_list_describe_update_delete_round_trip()
    {
        var path = _cli.Combine("arts");
        var register = _cli.Run("artifact-store", "register", "lake", "--flavor=local", $"--path={path}");
        Assert.True(register.ExitCode == 0, register.ToString());

        var list = _cli.Run("artifact-store", "list", "--output", "json");
        Assert.Equal(0, list.ExitCode);
        var lake = list.Json.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "lake");
        Assert.Equal("local", lake.GetProperty("flavor").GetString());
        Assert.Equal(path, lake.GetProperty("config").GetProperty("path").GetString());
        Assert.Equal("artifact-store", lake.GetProperty("type").GetString());

        var update = _cli.Run("artifact-store", "update", "lake", "--shared", "true");
        Assert.True(update.ExitCode == 0, update.ToString());
        var describe = _cli.Run("artifact-store", "describe", "lake", "--output", "json");
        Assert.Equal("true", describe.Json.GetProperty("config").GetProperty("shared").GetString());
        Assert.Equal(path, describe.Json.GetProperty("config").GetProperty("path").GetString());

        var table = _cli.Run("artifact-store", "describe", "lake");
        Assert.Contains("shared", table.Out);

        var delete = _cli.Run("artifact-store", "delete", "lake");
        Assert.True(delete.ExitCode == 0, delete.ToString());
        var after = _cli.Run("artifact-store", "list", "--output", "json");
        Assert.DoesNotContain(after.Json.EnumerateArray(), e => e.GetProperty("name").GetString() == "lake");
    }

    [Fact]
    public void Flavor_list_and_describe_show_the_config_schema()
    {
        var flavors = _cli.Run("artifact-store", "flavor", "list", "--output", "json");
        Assert.Equal(0, flavors.ExitCode);
        Assert.Contains(flavors.Json.EnumerateArray(), f => f.GetProperty("name").GetString() == "local");

        var schema = _cli.Run("artifact-store", "flavor", "describe", "local", "--output", "json");
        Assert.Equal(0, schema.ExitCode);
        var fields = schema.Json.GetProperty("config").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.Equal("string", fields["path"].GetProperty("type").GetString());
        Assert.Equal("boolean", fields["shared"].GetProperty("type").GetString());
        Assert.Equal("false", fields["shared"].GetProperty("default").GetString());
        Assert.False(fields["path"].GetProperty("required").GetBoolean());

        var orchestrator = _cli.Run("orchestrator", "flavor", "describe", "local");
        Assert.Equal(0, orchestrator.ExitCode);
        Assert.Contains("max_parallelism", orchestrator.Out);
    }

    [Fact]
    public void Step_operator_flavor_list_answers_for_scripts_and_people()
    {
        var json = _cli.Run("step-operator", "flavor", "list", "--output", "json");
        Assert.Equal(0, json.ExitCode);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, json.Json.ValueKind);
        Assert.Equal(0, _cli.Run("step-operator", "flavor", "list").ExitCode);
        Assert.Equal(0, _cli.Run("step-operator", "list", "--output", "json").ExitCode);
    }

    [Fact]
    public void Orchestrator_register_with_max_parallelism_is_typed()
    {
        var ok = _cli.Run("orchestrator", "register", "wide", "--flavor=local", "--max_parallelism=8");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        var described = _cli.Run("orchestrator", "describe", "wide", "--output", "json");
        Assert.Equal("8", described.Json.GetProperty("config").GetProperty("max_parallelism").GetString());
    }
}
