using Strata.Azure.MachineLearning;

namespace Strata.Azure.Tests.MachineLearning;

/// <summary>The command job a launch becomes, the config's seed names, and how each of Azure ML's job statuses reads.</summary>
public sealed class CommandJobSpecTests
{
    private static AzureMLStepOperatorConfig Config(Action<AzureMLStepOperatorConfig>? change = null)
    {
        var config = new AzureMLStepOperatorConfig { SubscriptionId = "sub", ResourceGroup = "rg", WorkspaceName = "ws", ComputeTargetName = "gpu-cluster" };
        change?.Invoke(config);
        return config;
    }

    private static StepLaunch Launch(AzureMLSettings settings, string? image = "strata.azurecr.io/app:1", TimeSpan? timeout = null,
        Dictionary<string, string>? secrets = null) => new()
    {
        Pipeline = "training",
        RunId = "run-1",
        RunName = "Nightly Run",
        StepName = "train",
        StepRunId = "01JABCDEFGHJKMNPQRSTVWXYZ0",
        Command = ["/usr/bin/dotnet", "/usr/lib/strata/strata.dll", StrataEntrypoint.Verb, "--manifest", "az://lake/strata/m 1.json"],
        AppName = "Quickstart",
        Environment = new Dictionary<string, string> { [ArtifactStoreLocator.EnvironmentVariable] = "{\"flavor\":\"azure\"}" },
        Secrets = secrets ?? [],
        Settings = settings,
        Image = image,
        ManifestUri = "az://lake/strata/m 1.json",
        Timeout = timeout,
    };

    [Fact]
    public void A_launch_becomes_a_command_job_on_the_compute_with_the_apps_command_timeout_tags_a_managed_identity_and_no_secret_value()
    {
        var config = Config(c =>
        {
            c.Tags = new() { ["team"] = "ml" };
            c.Environment = new() { ["LOG_LEVEL"] = "debug" };
        });

        var plan = CommandJobSpec.Build(Launch(config, timeout: TimeSpan.FromMinutes(90), secrets: new() { ["HF_TOKEN"] = "hf_secret" }), config);

        var job = plan.Job["properties"]!;
        Assert.Equal(StepJobNames.For("01JABCDEFGHJKMNPQRSTVWXYZ0", "training", "train", 255), plan.Name);
        Assert.Equal("Command", (string)job["jobType"]!);
        Assert.Equal("dotnet /app/Quickstart.dll strata-step --manifest 'az://lake/strata/m 1.json'", (string)job["command"]!);
        Assert.Equal("gpu-cluster", (string)job["computeId"]!);
        Assert.Equal("PT5400S", (string)job["limits"]!["timeout"]!);
        Assert.Equal("Managed", (string)job["identity"]!["identityType"]!);
        Assert.Equal("training", (string)job["experimentName"]!);
        Assert.Equal("ml", (string)job["tags"]!["team"]!);
        Assert.Equal("01JABCDEFGHJKMNPQRSTVWXYZ0", (string)job["tags"]!["strata.step_run_id"]!);
        Assert.Equal("debug", (string)job["environmentVariables"]!["LOG_LEVEL"]!);
        Assert.Equal("{\"flavor\":\"azure\"}", (string)job["environmentVariables"]![ArtifactStoreLocator.EnvironmentVariable]!);
        Assert.DoesNotContain("hf_secret", plan.Job.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(["HF_TOKEN"], plan.WithheldSecrets);
        Assert.Equal(("strata-Quickstart", "strata.azurecr.io/app:1"), (plan.Environment.Name, plan.Environment.Image));
        Assert.Matches("^[0-9a-f]{16}$", plan.Environment.Version);
    }

    [Fact]
    public void The_same_image_is_the_same_environment_version_and_another_image_another()
    {
        var config = Config();
        var one = CommandJobSpec.Build(Launch(config, "strata.azurecr.io/app:1"), config).Environment;
        var again = CommandJobSpec.Build(Launch(config, "strata.azurecr.io/app:1"), config).Environment;
        var other = CommandJobSpec.Build(Launch(config, "strata.azurecr.io/app:2"), config).Environment;
        Assert.Equal(one, again);
        Assert.NotEqual(one.Version, other.Version);
    }

    [Fact]
    public void Serverless_jobs_get_the_instance_type_and_count_and_no_compute()
    {
        var config = Config(c =>
        {
            c.ComputeTargetName = null;
            c.InstanceType = "Standard_NC6s_v3";
            c.InstanceCount = 2;
        });

        var job = CommandJobSpec.Build(Launch(config), config).Job["properties"]!;

        Assert.Null(job["computeId"]);
        Assert.Equal("Standard_NC6s_v3", (string)job["resources"]!["instanceType"]!);
        Assert.Equal(2, (int)job["resources"]!["instanceCount"]!);
    }

    [Fact]
    public void Without_an_image_the_named_environment_runs_the_step_and_its_entrypoint_setting_starts_the_app()
    {
        var config = Config(c =>
        {
            c.EnvironmentName = "dotnet-train:7";
            c.Entrypoint = ["/opt/app/run", "--quiet"];
        });

        var plan = CommandJobSpec.Build(Launch(config, image: null), config);

        Assert.Equal(new JobEnvironment("dotnet-train", "7", null), plan.Environment);
        Assert.Equal("/opt/app/run --quiet strata-step --manifest 'az://lake/strata/m 1.json'", (string)plan.Job["properties"]!["command"]!);
    }

    [Theory]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("a b", "'a b'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("", "''")]
    [InlineData("az://c/p/x.json", "az://c/p/x.json")]
    public void Command_words_are_quoted_for_bash(string word, string quoted) => Assert.Equal(quoted, CommandJobSpec.Quote(word));

    [Fact]
    public void Every_problem_is_reported_at_once_before_anything_is_sent()
    {
        var config = Config(c =>
        {
            c.ComputeTargetName = null;
            c.Mode = "compute-instance";
            c.InstanceCount = 0;
            c.Tags = new() { ["a/b"] = "x" };
            c.Environment = new() { ["1BAD"] = "x" };
        });

        var error = Assert.Throws<StrataConfigException>(() => CommandJobSpec.Build(Launch(config, image: null), config));

        Assert.Contains("no environment: set environment_name", error.Message, StringComparison.Ordinal);
        Assert.Contains("mode compute-instance needs compute_target_name", error.Message, StringComparison.Ordinal);
        Assert.Contains("instance_count must be 1 or more", error.Message, StringComparison.Ordinal);
        Assert.Contains("tag 'a/b'", error.Message, StringComparison.Ordinal);
        Assert.Contains("environment variable name '1BAD'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serverless_without_an_instance_type_and_an_unknown_mode_are_refused()
    {
        var serverless = Config(c => c.ComputeTargetName = null);
        Assert.Contains("serverless jobs need instance_type",
            Assert.Throws<StrataConfigException>(() => CommandJobSpec.Build(Launch(serverless), serverless)).Message, StringComparison.Ordinal);
        var odd = Config(c => c.Mode = "kubernetes");
        Assert.Contains("mode 'kubernetes' is not one of", Assert.Throws<StrataConfigException>(() => CommandJobSpec.Build(Launch(odd), odd)).Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NotStarted", StepJobState.Queued)]
    [InlineData("Queued", StepJobState.Queued)]
    [InlineData("Preparing", StepJobState.Queued)]
    [InlineData("Provisioning", StepJobState.Queued)]
    [InlineData("Starting", StepJobState.Queued)]
    [InlineData("Paused", StepJobState.Queued)]
    [InlineData("Running", StepJobState.Running)]
    [InlineData("Finalizing", StepJobState.Running)]
    [InlineData("CancelRequested", StepJobState.Running)]
    [InlineData("Completed", StepJobState.Succeeded)]
    [InlineData("Failed", StepJobState.Failed)]
    [InlineData("NotResponding", StepJobState.Failed)]
    [InlineData("Canceled", StepJobState.Cancelled)]
    public void Each_Azure_ML_status_reads_as_a_step_state(string status, StepJobState state)
    {
        var read = AzureMLJobStates.ToStatus(status, "gpu-cluster");
        Assert.Equal(state, read.State);
        if (state == StepJobState.Queued) Assert.StartsWith(status, read.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_waiting_jobs_reason_carries_the_schedulers_message()
    {
        var status = AzureMLJobStates.ToStatus("Queued", "gpu-cluster", "Waiting for quota: 0 of 24 cores of Standard_NC family available");
        Assert.Equal("Queued: waiting for gpu-cluster to have a free node: Waiting for quota: 0 of 24 cores of Standard_NC family available",
            status.Reason);
    }

    [Fact]
    public void A_failed_jobs_error_and_exit_code_are_kept()
    {
        var status = AzureMLJobStates.ToStatus("Failed", "c", "UserError: Execution failed. User process 'bash' exited with code 3");
        Assert.Equal((StepJobState.Failed, 3), (status.State, status.ExitCode));
        Assert.Contains("UserError", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_seeds_register_command_keys_are_the_configs_fields_and_the_password_is_a_secret()
    {
        var schema = ConfigSchema.For(typeof(AzureMLStepOperatorConfig));
        var names = schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string> { "subscription_id", "resource_group", "workspace_name", "compute_target_name", "environment_name",
            "tenant_id", "service_principal_id", "service_principal_password", "mode", "instance_type", "instance_count", "timeout", "pending_timeout",
            "tags" }, names);
        Assert.True(schema.Fields.Single(f => f.Name == "service_principal_password").Secret);
        Assert.Equal(["resource_group", "subscription_id", "workspace_name"], schema.Fields.Where(f => f.Required).Select(f => f.Name).Order());
        Assert.Contains("size", schema.Fields.Single(f => f.Name == "instance_type").Aliases);
        Assert.Contains("compute_name", schema.Fields.Single(f => f.Name == "compute_target_name").Aliases);
    }

    [Fact]
    public void Plain_http_endpoints_and_half_a_service_principal_are_config_errors()
    {
        Assert.Contains("not an https:// URL", Assert.Throws<StrataConfigException>(
            () => new AzureMLClient(Config(c => c.ArmEndpoint = "http://127.0.0.1:1"))).Message, StringComparison.Ordinal);
        Assert.Contains("needs all three of tenant_id", Assert.Throws<StrataConfigException>(
            () => new AzureMLClient(Config(c => c.ServicePrincipalId = "app"))).Message, StringComparison.Ordinal);
        Assert.Contains("workspace_name", Assert.Throws<StrataConfigException>(
            () => new AzureMLClient(Config(c => c.WorkspaceName = "a/b"))).Message, StringComparison.Ordinal);
    }
}
