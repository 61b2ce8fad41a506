using System.ComponentModel;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Stacks;

public enum QueueMode { Fifo, LowLatency }

public sealed class FakeOperatorConfig
{
    [Description("Where jobs are sent.")]
    public required string Endpoint { get; set; }

    public int Retries { get; set; } = 3;

    public TimeSpan TimeLimit { get; set; } = TimeSpan.FromMinutes(5);

    public QueueMode Mode { get; set; }

    public bool Verbose { get; set; }

    public string[] Tags { get; set; } = [];
}

/// <summary>A step-operator flavor with a required field and typed fields, registered only in these tests' registries.</summary>
public sealed class FakeOperatorFlavor : Flavor
{
    public override string Name => "fake";
    public override ComponentType Type => ComponentType.StepOperator;
    public override string Description => "A step operator for tests.";
    public override Type ConfigType => typeof(FakeOperatorConfig);
}

public class StackManagerTests
{
    private static Dictionary<string, string> Config(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static Task<TestHome> OpenAsync() => TestHome.OpenAsync(new FlavorRegistry().Add(new FakeOperatorFlavor()));

    [Fact]
    public async Task A_new_store_has_an_active_default_stack_of_local_components()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;

        var active = await stacks.GetActiveStackAsync();
        Assert.Equal(StackManager.DefaultStack, active.Name);
        Assert.Equal("default", active.Single(ComponentType.Orchestrator));
        Assert.Equal("default", active.Single(ComponentType.ArtifactStore));
        Assert.Equal([StackManager.DefaultStepOperator], active.All(ComponentType.StepOperator));
        Assert.Equal("local-process", (await stacks.GetComponentAsync(ComponentType.StepOperator, StackManager.DefaultStepOperator)).Flavor);
        Assert.Equal("local", (await stacks.GetComponentAsync(ComponentType.Orchestrator, "default")).Flavor);
        Assert.Equal("local", (await stacks.GetComponentAsync(ComponentType.ArtifactStore, "default")).Flavor);
        Assert.Single(await stacks.ListStacksAsync());

        // Using it again creates nothing twice.
        await stacks.EnsureDefaultStackAsync();
        Assert.Single(await stacks.ListStacksAsync());
        Assert.Single(await stacks.ListComponentsAsync(ComponentType.Orchestrator));
    }

    [Fact]
    public async Task A_registered_stack_can_be_made_active_and_runs_use_its_artifact_store()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        var root = home.Directory.Combine("elsewhere");

        await stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "side", "local", Config(("path", root)));
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "http://gpu"), ("retries", "5")));
        var stack = await stacks.RegisterStackAsync("dev", "default", "side", ["gpu"]);
        Assert.Equal(["gpu"], stack.All(ComponentType.StepOperator));
        await stacks.SetActiveStackAsync("dev");
        Assert.Equal("dev", (await stacks.GetActiveStackAsync()).Name);

        var result = await home.RunAsync(p => p.Step(StackSteps.Echo, 5));
        Assert.Equal("dev", result.Run.Stack);
        Assert.StartsWith(Path.GetFullPath(root), result["echo"].Outputs["output"].Uri);
        Assert.Equal(5, await result.LoadAsync<int>("echo"));

        var onDefault = await home.RunAsync(p => p.Step(StackSteps.Echo, 6), stack: StackManager.DefaultStack);
        Assert.StartsWith(home.ArtifactsPath, onDefault["echo"].Outputs["output"].Uri);
    }

    [Fact]
    public async Task Config_is_typed_with_defaults_and_dashes_are_accepted_in_keys()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;

        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake",
            Config(("endpoint", "http://gpu"), ("time-limit", "2h"), ("mode", "low_latency"), ("verbose", "yes"), ("tags", "a, b")));

        var config = Assert.IsType<FakeOperatorConfig>(await stacks.GetConfigAsync(ComponentType.StepOperator, "gpu"));
        Assert.Equal("http://gpu", config.Endpoint);
        Assert.Equal(3, config.Retries);
        Assert.Equal(TimeSpan.FromHours(2), config.TimeLimit);
        Assert.Equal(QueueMode.LowLatency, config.Mode);
        Assert.True(config.Verbose);
        Assert.Equal(["a", "b"], config.Tags);
        Assert.Contains("time_limit", (await stacks.GetComponentAsync(ComponentType.StepOperator, "gpu")).Config.Keys);

        var schema = stacks.Flavors.Get(ComponentType.StepOperator, "fake").Schema;
        var endpoint = Assert.Single(schema.Fields, f => f.Name == "endpoint");
        Assert.True(endpoint.Required);
        Assert.Equal("Where jobs are sent.", endpoint.Description);
        Assert.Equal("3", Assert.Single(schema.Fields, f => f.Name == "retries").Default);
    }

    [Fact]
    public async Task An_unknown_flavor_lists_the_known_ones()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "slurmm", Config(("endpoint", "x"))));
        Assert.Contains("'slurmm'", e.Message);
        Assert.Contains("step-operator", e.Message);
        Assert.Contains("fake", e.Message);
    }

    [Fact]
    public async Task An_unknown_key_suggests_the_closest_known_one()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "x"), ("retires", "2"))));
        Assert.Contains("'retires'", e.Message);
        Assert.Contains("did you mean 'retries'", e.Message);

        var far = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.Orchestrator, "o", "local", Config(("colour", "blue"))));
        Assert.Contains("'colour'", far.Message);
        Assert.Contains("max_parallelism", far.Message);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_names_the_field_and_the_type()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            stacks.RegisterComponentAsync(ComponentType.Orchestrator, "o", "local", Config(("max_parallelism", "many"))));
        Assert.Contains("'max_parallelism' must be an integer", e.Message);
        Assert.Contains("'many'", e.Message);

        var several = await Assert.ThrowsAsync<StrataConfigException>(() =>
            stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake",
                Config(("endpoint", "x"), ("time_limit", "soon"), ("mode", "random"), ("verbose", "perhaps"))));
        Assert.Contains("'time_limit' must be a duration", several.Message);
        Assert.Contains("'mode'", several.Message);
        Assert.Contains("fifo", several.Message);
        Assert.Contains("'verbose' must be a boolean", several.Message);
        Assert.DoesNotContain(await stacks.ListComponentsAsync(ComponentType.StepOperator), c => c.Name == "gpu");
    }

    [Fact]
    public async Task A_missing_required_field_is_named_as_the_option_to_pass()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("retries", "1"))));
        Assert.Contains("missing required config --endpoint", e.Message);
    }

    [Fact]
    public async Task A_taken_name_is_refused_for_components_and_stacks()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        await stacks.RegisterComponentAsync(ComponentType.Orchestrator, "fast", "local", Config(("max_parallelism", "8")));

        var component = await Assert.ThrowsAsync<StrataConfigException>(() =>
            stacks.RegisterComponentAsync(ComponentType.Orchestrator, "fast", "local", Config()));
        Assert.Contains("'fast' already exists", component.Message);

        await stacks.RegisterStackAsync("s", "fast", "default");
        var stack = await Assert.ThrowsAsync<StrataConfigException>(() => stacks.RegisterStackAsync("s", "default", "default"));
        Assert.Contains("'s' already exists", stack.Message);
        Assert.Equal("fast", (await stacks.GetStackAsync("s")).Single(ComponentType.Orchestrator));
    }

    [Fact]
    public async Task A_stack_of_components_that_do_not_exist_is_refused_naming_each_and_how_to_register_it()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterStackAsync("broken", "nope", "default", ["gpu"]));
        Assert.Contains("no orchestrator named 'nope'", e.Message);
        Assert.Contains("no step-operator named 'gpu'", e.Message);
        Assert.Contains("strata step-operator register gpu", e.Message);
        await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.GetStackAsync("broken"));
    }

    [Fact]
    public async Task A_component_a_stack_uses_cannot_be_deleted_until_the_stack_is_gone()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "x")));
        await stacks.RegisterStackAsync("dev", "default", "default", ["gpu"]);

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => stacks.DeleteComponentAsync(ComponentType.StepOperator, "gpu"));
        Assert.Contains("'dev'", e.Message);
        Assert.NotNull(await stacks.GetComponentAsync(ComponentType.StepOperator, "gpu"));

        await stacks.DeleteStackAsync("dev");
        await stacks.DeleteComponentAsync(ComponentType.StepOperator, "gpu");
        await Assert.ThrowsAsync<StrataConfigException>(() => stacks.GetComponentAsync(ComponentType.StepOperator, "gpu"));
    }

    [Fact]
    public async Task Setting_or_running_on_a_stack_that_does_not_exist_names_it()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.SetActiveStackAsync("prod"));
        Assert.Contains("No stack named 'prod'", e.Message);
        Assert.Contains("strata stack list", e.Message);
        Assert.Equal(StackManager.DefaultStack, (await home.Client.Stacks.GetActiveStackAsync()).Name);

        var run = await Assert.ThrowsAsync<StrataConfigException>(() => home.RunAsync(p => p.Step(StackSteps.Echo, 1), stack: "prod"));
        Assert.Contains("'prod'", run.Message);
    }

    [Fact]
    public async Task The_active_stack_cannot_be_deleted()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.DeleteStackAsync(StackManager.DefaultStack));
        Assert.Contains("active", e.Message);
        Assert.Contains("strata stack set", e.Message);
    }

    [Fact]
    public async Task Updating_a_component_changes_given_keys_removes_emptied_ones_and_checks_types()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "http://a"), ("retries", "5"), ("verbose", "true")));

        var updated = await stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("endpoint", "http://b"), ("retries", "")));
        Assert.Equal("http://b", updated.Config["endpoint"]);
        Assert.False(updated.Config.ContainsKey("retries"));
        Assert.Equal("true", updated.Config["verbose"]);

        var wrong = await Assert.ThrowsAsync<StrataConfigException>(() =>
            stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("retries", "lots"))));
        Assert.Contains("'retries' must be an integer", wrong.Message);
        var required = await Assert.ThrowsAsync<StrataConfigException>(() =>
            stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("endpoint", ""))));
        Assert.Contains("--endpoint", required.Message);
        Assert.Equal("http://b", (await stacks.GetComponentAsync(ComponentType.StepOperator, "gpu")).Config["endpoint"]);
    }

    [Fact]
    public async Task A_default_component_can_be_changed_before_anything_else_touched_the_store()
    {
        await using var home = await OpenAsync();

        var updated = await home.Client.Stacks.UpdateComponentAsync(ComponentType.Orchestrator, StackManager.DefaultStack, Config(("max_parallelism", "2")));

        Assert.Equal("2", updated.Config["max_parallelism"]);
        Assert.Equal(2, Assert.IsType<LocalOrchestratorConfig>(await home.Client.Stacks.GetConfigAsync(ComponentType.Orchestrator, "default")).MaxParallelism);
    }

    [Fact]
    public async Task An_exported_stack_imports_into_another_store_with_its_components()
    {
        await using var source = await OpenAsync();
        var stacks = source.Client.Stacks;
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "http://gpu"), ("retries", "7")));
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "cpu", "fake", Config(("endpoint", "http://cpu")));
        await stacks.RegisterStackAsync("dev", "default", "default", ["gpu", "cpu"]);

        var document = await stacks.ExportAsync("dev");
        Assert.Equal("dev", document.Name);
        Assert.Contains(document.Components, c => c is { Type: "step-operator", Name: "gpu", Flavor: "fake" } && c.Config["retries"] == "7");
        Assert.Contains(document.Components, c => c is { Type: "orchestrator", Name: "default", Flavor: "local" });

        await using var target = await OpenAsync();
        var imported = await target.Client.Stacks.ImportAsync(document);
        Assert.Equal("dev", imported.Name);
        Assert.Equal(["gpu", "cpu"], imported.All(ComponentType.StepOperator));
        Assert.Equal("7", (await target.Client.Stacks.GetComponentAsync(ComponentType.StepOperator, "gpu")).Config["retries"]);
        Assert.Equal("http://cpu", (await target.Client.Stacks.GetComponentAsync(ComponentType.StepOperator, "cpu")).Config["endpoint"]);

        // Again under another name: the same components are reused, not duplicated.
        var copy = await target.Client.Stacks.ImportAsync(document, "dev-copy");
        Assert.Equal(["gpu", "cpu"], copy.All(ComponentType.StepOperator));
        Assert.Equal(["cpu", "gpu", StackManager.DefaultStepOperator], (await target.Client.Stacks.ListComponentsAsync(ComponentType.StepOperator)).Select(c => c.Name).Order());

        var taken = await Assert.ThrowsAsync<StrataConfigException>(() => target.Client.Stacks.ImportAsync(document));
        Assert.Contains("'dev' already exists", taken.Message);
    }

    [Fact]
    public async Task An_import_that_conflicts_with_an_existing_component_or_has_bad_config_changes_nothing()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "fake", Config(("endpoint", "http://mine")));

        var conflicting = new StackDocument
        {
            Name = "theirs",
            Components =
            [
                new() { Type = "orchestrator", Name = "default", Flavor = "local" },
                new() { Type = "artifact-store", Name = "default", Flavor = "local" },
                new() { Type = "step-operator", Name = "gpu", Flavor = "fake", Config = new() { ["endpoint"] = "http://theirs" } },
            ],
        };
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => stacks.ImportAsync(conflicting));
        Assert.Contains("'gpu' already exists", e.Message);

        var badConfig = new StackDocument
        {
            Name = "bad",
            Components =
            [
                new() { Type = "orchestrator", Name = "new_orchestrator", Flavor = "local", Config = new() { ["max_parallelism"] = "x" } },
                new() { Type = "artifact-store", Name = "default", Flavor = "local" },
            ],
        };
        var bad = await Assert.ThrowsAsync<StrataConfigException>(() => stacks.ImportAsync(badConfig));
        Assert.Contains("max_parallelism", bad.Message);

        Assert.Single(await stacks.ListStacksAsync());
        Assert.Single(await stacks.ListComponentsAsync(ComponentType.Orchestrator));
        Assert.Equal("http://mine", (await stacks.GetComponentAsync(ComponentType.StepOperator, "gpu")).Config["endpoint"]);
    }

    [Fact]
    public async Task Invalid_names_are_refused()
    {
        await using var home = await OpenAsync();

        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.Orchestrator, "has space", "local", Config()));
        Assert.Contains("'has space' is not a valid orchestrator name", e.Message);
        await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.RegisterStackAsync("-x", "default", "default"));
    }
}

public static class StackSteps
{
    [Step]
    public static int Echo(int x) => x;
}
