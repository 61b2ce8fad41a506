using System.Text.Json;

namespace Strata.Containers.Tests;

/// <summary>
/// The flow of docs/containers.md with the real <c>strata</c> command: a registry, an image builder and the container operator in
/// a stack; the Quickstart's train step runs in an image Strata builds from the local .NET base image, and its model comes back.
/// </summary>
[Collection(ContainerServicesCollection.Name)]
public sealed class QuickstartInContainerTests(ContainerServices services) : IDisposable
{
    private readonly StrataCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private CliResult Strata(params string[] args) => _cli.RunIn(_cli.WorkingDirectory,
        new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home, ["DOCKER_HOST"] = services.DockerHost }, args);

    private CliResult Ok(params string[] args)
    {
        var result = Strata(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: {result}");
        return result;
    }

    private void RegisterStack(string registryUri, string? baseImage = null)
    {
        Ok("container-registry", "register", "local", "--flavor=default", $"--uri={registryUri}");
        Ok("image-builder", "register", "dotnet", "--flavor=dotnet");
        Ok("step-operator", "register", "box", "--flavor=container", $"--base_image={baseImage ?? services.BaseImage}");
        Ok("stack", "register", "boxed", "-o", "default", "-a", "default", "-s", "box", "-c", "local", "-i", "dotnet", "--set");
    }

    [Fact]
    public void The_quickstarts_train_step_runs_in_an_image_strata_built_and_a_second_run_builds_nothing()
    {
        var quickstart = RepoPaths.QuickstartDll();
        RegisterStack(services.NewRegistryUri("quickstart"));

        var run = Ok("pipeline", "run", "quickstart", "--assembly", quickstart);
        Assert.Contains("image: building dependency layer", run.Out);
        Assert.Contains("image: pushed app layer", run.Out);
        Assert.Contains("✓ train completed", run.Out);

        var runs = Ok("run", "list", "--output", "json").Json.EnumerateArray().ToArray();
        var id = Assert.Single(runs).GetProperty("id").GetString()!;
        var show = Ok("run", "show", id, "--output", "json").Json;
        Assert.Equal("completed", show.GetProperty("run").GetProperty("status").GetString());
        var steps = show.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal("box", steps["train"].GetProperty("step_operator").GetString());
        Assert.Equal(JsonValueKind.Null, steps["evaluate"].GetProperty("step_operator").ValueKind);
        Assert.All(steps.Values, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the container
        Assert.Contains("ran on step operator 'box' (container)", logs);

        // The model came back: evaluate, in this process, loaded it and scored the held-out data.
        var metrics = Ok("artifact", "list", "--run", id, "--output", "json").Out;
        Assert.Contains("auc", metrics);

        var again = Ok("pipeline", "run", "quickstart", "--assembly", quickstart, "--no-cache");
        Assert.Contains("nothing to build", again.Out);
        Assert.DoesNotContain("image: building", again.Out);
        Assert.Contains("✓ train completed", again.Out);
    }

    [Fact]
    public void An_unreachable_registry_fails_the_run_before_any_step_runs()
    {
        RegisterStack("localhost:1/team");

        var run = Strata("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Cannot reach container registry localhost:1", run.Error);
        Assert.DoesNotContain("completed", run.Out);
    }

    [Fact]
    public void A_base_image_that_does_not_exist_fails_the_run_before_any_step_runs()
    {
        RegisterStack(services.NewRegistryUri("nobase"), $"{services.Registry}/strata/no-such-base:1");

        var run = Strata("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("no-such-base:1 does not exist", run.Error);
        Assert.DoesNotContain("completed", run.Out);
    }

    [Fact]
    public void A_stack_that_can_neither_build_nor_name_an_image_is_refused_naming_both_ways_out()
    {
        Ok("step-operator", "register", "box", "--flavor=container");
        Ok("stack", "register", "bare", "-o", "default", "-a", "default", "-s", "box", "--set");

        var run = Strata("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("step operator 'box' (flavor container) has no image to run step 'train'", run.Error);
        Assert.Contains("set its image", run.Error);
        Assert.Contains("strata stack update bare -c REGISTRY -i BUILDER", run.Error);
        Assert.DoesNotContain("completed", run.Out);
    }

    [Fact]
    public void Registering_a_registry_and_a_builder_shows_them_in_the_stack()
    {
        RegisterStack(services.NewRegistryUri("shown"));
        var stacks = Ok("stack", "list").Out;
        Assert.Contains("local", stacks);
        Assert.Contains("dotnet", stacks);
        var described = Ok("container-registry", "flavor", "describe", "default").Out;
        Assert.Contains("uri", described);
        Assert.Contains("insecure", described);
    }
}
