using Strata.Tests.Orchestration;
using Strata.Tests.Stacks;

namespace Strata.Tests.Secrets;

public sealed class TokenOperatorConfig
{
    public required string Endpoint { get; set; }

    [Secret]
    public string? Token { get; set; }

    public int Port { get; set; } = 22;
}

/// <summary>A step-operator flavor with a field marked secret.</summary>
public sealed class TokenOperatorFlavor : Flavor
{
    public override string Name => "token";
    public override ComponentType Type => ComponentType.StepOperator;
    public override string Description => "A step operator with a token, for tests.";
    public override Type ConfigType => typeof(TokenOperatorConfig);
}

public class SecretReferenceTests
{
    private const string Distinctive = "tok-Narwhal-Pangolin-9902";

    private static Dictionary<string, string> Config(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static Task<TestHome> OpenAsync() => TestHome.OpenAsync(new FlavorRegistry().Add(new TokenOperatorFlavor()));

    [Fact]
    public async Task Whole_and_embedded_references_resolve_when_the_config_is_used_and_stay_unresolved_in_the_store()
    {
        await using var home = await OpenAsync();
        await home.Client.Secrets.CreateAsync("api", Config(("token", Distinctive), ("user", "robot"), ("port", "8443")));
        await home.Client.Secrets.CreateAsync("cluster.eu", Config(("host", "gpu.example.org")));
        var warnings = new List<string>();

        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "token", Config(
            ("endpoint", "https://{{api.user}}@{{ cluster.eu.host }}:{{api.port}}/jobs"), ("token", "{{api.token}}"), ("port", "{{api.port}}")), warnings);

        Assert.Empty(warnings);
        var config = Assert.IsType<TokenOperatorConfig>(await home.Client.Stacks.GetConfigAsync(ComponentType.StepOperator, "gpu"));
        Assert.Equal("https://robot@gpu.example.org:8443/jobs", config.Endpoint);
        Assert.Equal(Distinctive, config.Token);
        Assert.Equal(8443, config.Port);

        var stored = await home.Client.Stacks.GetComponentAsync(ComponentType.StepOperator, "gpu");
        Assert.Equal("{{api.token}}", stored.Config["token"]);
        Assert.DoesNotContain(Distinctive, string.Join(",", stored.Config.Values));
        var exported = await home.Client.Stacks.ExportAsync(StackManager.DefaultStack);
        Assert.DoesNotContain(Distinctive, System.Text.Json.JsonSerializer.Serialize(exported));

        // A changed secret is used by the next bind, with no change to the component.
        await home.Client.Secrets.UpdateAsync("api", Config(("token", "rotated-token")));
        Assert.Equal("rotated-token", ((TokenOperatorConfig)await home.Client.Stacks.GetConfigAsync(ComponentType.StepOperator, "gpu")).Token);
    }

    [Fact]
    public async Task A_run_builds_its_artifact_store_from_a_config_with_references()
    {
        await using var home = await OpenAsync();
        var root = home.Directory.Combine("from-secret");
        await home.Client.Secrets.CreateAsync("paths", Config(("root", root)));
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "lake", "local", Config(("path", "{{paths.root}}/lake")));
        await home.Client.Stacks.RegisterStackAsync("dev", StackManager.DefaultStack, "lake", setActive: true);

        var result = await home.RunAsync(p => p.Step(StackSteps.Echo, 5));

        Assert.StartsWith(Path.Combine(root, "lake"), result["echo"].Outputs["output"].Uri);
        Assert.Equal(5, await result.LoadAsync<int>("echo"));
    }

    [Fact]
    public async Task A_missing_secret_or_key_names_the_component_field_and_reference_but_no_value()
    {
        await using var home = await OpenAsync();
        await home.Client.Secrets.CreateAsync("api", Config(("token", Distinctive)));
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "token", Config(("endpoint", "http://{{nope.host}}")));
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "tpu", "token", Config(("endpoint", "http://x"), ("token", "{{api.tokn}}")));

        var noSecret = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.GetConfigAsync(ComponentType.StepOperator, "gpu"));
        Assert.Contains("step-operator 'gpu'", noSecret.Message);
        Assert.Contains("'endpoint'", noSecret.Message);
        Assert.Contains("{{nope.host}}", noSecret.Message);
        Assert.Contains("strata secret create nope", noSecret.Message);

        var noKey = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.GetConfigAsync(ComponentType.StepOperator, "tpu"));
        Assert.Contains("step-operator 'tpu'", noKey.Message);
        Assert.Contains("'token'", noKey.Message);
        Assert.Contains("{{api.tokn}}", noKey.Message);
        Assert.Contains("keys: token", noKey.Message);
        Assert.DoesNotContain(Distinctive, noKey.ToString());
    }

    [Fact]
    public async Task A_referenced_value_of_the_wrong_type_is_reported_without_the_value()
    {
        await using var home = await OpenAsync();
        await home.Client.Secrets.CreateAsync("api", Config(("port", Distinctive)));
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "token", Config(("endpoint", "http://x"), ("port", "{{api.port}}")));

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Stacks.GetConfigAsync(ComponentType.StepOperator, "gpu"));
        Assert.Contains("'port' must be an integer", e.Message);
        Assert.DoesNotContain(Distinctive, e.ToString());
    }

    [Fact]
    public async Task A_malformed_reference_is_refused_at_registration()
    {
        await using var home = await OpenAsync();
        var e = await Assert.ThrowsAsync<StrataConfigException>(() =>
            home.Client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "token", Config(("endpoint", "http://x"), ("token", "{{api}}"))));
        Assert.Contains("'{{api}}'", e.Message);
        Assert.Contains("{{NAME.key}}", e.Message);
        Assert.DoesNotContain(await home.Client.Stacks.ListComponentsAsync(ComponentType.StepOperator), c => c.Name == "gpu");
    }

    [Fact]
    public async Task A_plain_text_value_for_a_secret_field_warns_without_the_value()
    {
        await using var home = await OpenAsync();
        var stacks = home.Client.Stacks;
        var warnings = new List<string>();

        await stacks.RegisterComponentAsync(ComponentType.StepOperator, "gpu", "token", Config(("endpoint", "http://x"), ("token", Distinctive)), warnings);

        var warning = Assert.Single(warnings);
        Assert.Contains("'token'", warning);
        Assert.Contains("step-operator 'gpu'", warning);
        Assert.Contains("strata secret create", warning);
        Assert.DoesNotContain(Distinctive, warning);
        Assert.Equal(Distinctive, ((TokenOperatorConfig)await stacks.GetConfigAsync(ComponentType.StepOperator, "gpu")).Token);

        warnings.Clear();
        await stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("port", "2222")), warnings);
        Assert.Empty(warnings);
        await stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("token", "other-plain-token")), warnings);
        Assert.Single(warnings);
        warnings.Clear();
        await stacks.UpdateComponentAsync(ComponentType.StepOperator, "gpu", Config(("token", "{{api.token}}")), warnings);
        Assert.Empty(warnings);
    }
}
