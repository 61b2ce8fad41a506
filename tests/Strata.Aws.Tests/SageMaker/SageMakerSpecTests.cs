using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Strata.Aws.SageMaker;

namespace Strata.Aws.Tests.SageMaker;

/// <summary>How a step launch becomes a CreateTrainingJob request, how SageMaker's states read as step states, and the flavor's schema and checks.</summary>
public sealed partial class SageMakerSpecTests
{
    private const string Role = "arn:aws:iam::123456789012:role/strata-training";
    private const string Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1";
    private const string Manifest = "s3://bucket/artifacts/training/training-20260101-000000-ab12/train.0a1b2c3d/manifest.json";

    private static SageMakerStepOperatorConfig Config(Action<SageMakerStepOperatorConfig>? configure = null)
    {
        var config = new SageMakerStepOperatorConfig { Role = Role, Image = Image };
        configure?.Invoke(config);
        return config;
    }

    private static StepLaunch Launch(SageMakerSettings? settings = null, string pipeline = "training", string step = "train",
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string>? secrets = null, TimeSpan? timeout = null,
        IReadOnlyList<string>? command = null) => new()
    {
        Pipeline = pipeline,
        RunId = "0194f3a2-0000-7000-8000-000000000001",
        RunName = $"{pipeline}-20260101-000000-ab12",
        StepName = step,
        StepRunId = "0194f3a2-1111-7000-8000-00000000abcd",
        Command = command ?? ["/usr/share/dotnet/dotnet", "/home/me/app/bin/App.dll", StrataEntrypoint.Verb, "--manifest", Manifest],
        Environment = environment ?? new Dictionary<string, string>
        {
            ["STRATA_ARTIFACT_STORE"] = """{"flavor":"s3","config":{"path":"s3://bucket/artifacts","region":"eu-west-1"}}""",
            ["STRATA_SECRET_VARIABLES"] = "",
        },
        Secrets = secrets ?? new Dictionary<string, string>(),
        Settings = settings ?? new SageMakerSettings { Image = Image },
        Image = settings is null ? Image : settings.Image, // as the run gives it: the settings' fixed image
        ManifestUri = Manifest,
        Timeout = timeout,
    };

    private static CreateTrainingJobRequest Build(StepLaunch launch, SageMakerStepOperatorConfig? config = null) =>
        TrainingJobSpec.Build(launch, config ?? Config(), "s3://bucket/artifacts/sagemaker").Request;

    [GeneratedRegex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    private static partial Regex TrainingJobNamePattern();

    [Theory]
    [InlineData("training", "train")]
    [InlineData("a-pipeline-whose-name-goes-on-and-on-and-on-well-past-any-limit-sagemaker-has", "and_a_step_with_a_long_name_too")]
    [InlineData("Ünïcödé pipeline!", "__step__")]
    [InlineData("", "x")]
    public void The_job_name_fits_sagemakers_pattern_and_keeps_the_step_runs_unique_tail(string pipeline, string step)
    {
        var name = Build(Launch(pipeline: pipeline, step: step)).TrainingJobName;

        Assert.Matches(TrainingJobNamePattern(), name);
        Assert.InRange(name.Length, 1, 63);
        Assert.EndsWith("800000000000abcd", name); // the step-run id's random tail, whole
        Assert.Equal(name, TrainingJobSpec.JobName(Launch(pipeline: pipeline, step: step)));
    }

    [Fact]
    public void The_container_runs_the_step_entrypoint_through_the_images_own_entrypoint()
    {
        var request = Build(Launch());

        Assert.Null(request.AlgorithmSpecification.ContainerEntrypoint); // the local dotnet and dll paths mean nothing in the image
        Assert.Equal([StrataEntrypoint.Verb, "--manifest", Manifest], request.AlgorithmSpecification.ContainerArguments);
        Assert.Equal(Image, request.AlgorithmSpecification.TrainingImage);
        Assert.Equal(Role, request.RoleArn);
        Assert.Equal("ml.m5.large", request.ResourceConfig.InstanceType);
        Assert.Equal(1, request.ResourceConfig.InstanceCount);
        Assert.Equal(30, request.ResourceConfig.VolumeSizeInGB);
        Assert.Equal(TrainingJobSpec.DefaultMaxRuntimeSeconds, request.StoppingCondition.MaxRuntimeInSeconds);
        Assert.Null(request.StoppingCondition.MaxWaitTimeInSeconds);
        Assert.Null(request.EnableManagedSpotTraining);
        Assert.Equal("s3://bucket/artifacts/sagemaker", request.OutputDataConfig.S3OutputPath);
        Assert.Null(request.InputDataConfig);
        Assert.Null(request.VpcConfig);
        Assert.Contains(new Tag("strata:step", "train"), request.Tags!);
        Assert.Contains(new Tag("strata:step-run", "0194f3a2-1111-7000-8000-00000000abcd"), request.Tags!);
    }

    [Fact]
    public void The_entrypoint_setting_becomes_the_container_entrypoint()
    {
        var settings = new SageMakerSettings { Image = Image, Entrypoint = ["dotnet", "/app/App.dll"] };
        var request = Build(Launch(settings, command: ["dotnet", "/app/App.dll", StrataEntrypoint.Verb, "--manifest", Manifest]));

        Assert.Equal(["dotnet", "/app/App.dll"], request.AlgorithmSpecification.ContainerEntrypoint);
        Assert.Equal([StrataEntrypoint.Verb, "--manifest", Manifest], request.AlgorithmSpecification.ContainerArguments);
    }

    [Fact]
    public void Settings_map_to_resources_stopping_condition_spot_channels_network_experiment_and_tags()
    {
        var settings = new SageMakerSettings
        {
            Image = Image,
            InstanceType = "ml.g5.xlarge",
            InstanceCount = 2,
            VolumeSizeGb = 100,
            MaxRun = 3600,
            UseSpotInstances = true,
            OutputDataS3Uri = "s3://out/models",
            InputDataS3Uri = "train=s3://data/train, test=s3://data/test",
            Environment = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "4" },
            Tags = new Dictionary<string, string> { ["team"] = "risk" },
            ExperimentName = "credit-models",
        };
        var config = Config(c => { c.Subnets = ["subnet-0a1b"]; c.SecurityGroupIds = ["sg-0c1d"]; });

        var request = Build(Launch(settings, step: "train model"), config);

        Assert.Equal("ml.g5.xlarge", request.ResourceConfig.InstanceType);
        Assert.Equal(2, request.ResourceConfig.InstanceCount);
        Assert.Equal(100, request.ResourceConfig.VolumeSizeInGB);
        Assert.Equal(3600, request.StoppingCondition.MaxRuntimeInSeconds);
        Assert.Equal(7200, request.StoppingCondition.MaxWaitTimeInSeconds); // default: twice max_run
        Assert.True(request.EnableManagedSpotTraining);
        Assert.Equal("s3://out/models", request.OutputDataConfig.S3OutputPath);
        Assert.Equal(["train", "test"], request.InputDataConfig!.Select(c => c.ChannelName));
        Assert.Equal("s3://data/test", request.InputDataConfig![1].DataSource.S3DataSource.S3Uri);
        Assert.Equal("4", request.Environment!["OMP_NUM_THREADS"]);
        Assert.Equal(["sg-0c1d"], request.VpcConfig!.SecurityGroupIds);
        Assert.Equal(["subnet-0a1b"], request.VpcConfig.Subnets);
        Assert.Equal("credit-models", request.ExperimentConfig!.ExperimentName);
        Assert.Equal("train-model", request.ExperimentConfig.TrialComponentDisplayName);
        Assert.Contains(new Tag("team", "risk"), request.Tags!);

        var single = Build(Launch(new SageMakerSettings { Image = Image, InputDataS3Uri = "s3://data/all" }));
        Assert.Equal("training", Assert.Single(single.InputDataConfig!).ChannelName);
    }

    [Fact]
    public void Max_run_comes_from_the_steps_timeout_when_not_set()
    {
        Assert.Equal(91, Build(Launch(timeout: TimeSpan.FromSeconds(90.2))).StoppingCondition.MaxRuntimeInSeconds);
        Assert.Equal(2 * 3600, Build(Launch(timeout: TimeSpan.FromHours(2))).StoppingCondition.MaxRuntimeInSeconds);
        Assert.Equal(60, Build(Launch(new SageMakerSettings { Image = Image, MaxRun = 60 }, timeout: TimeSpan.FromHours(2))).StoppingCondition.MaxRuntimeInSeconds);
    }

    [Fact]
    public void Secret_values_stay_out_of_the_request_and_are_reported_as_withheld()
    {
        var launch = Launch(
            environment: new Dictionary<string, string>
            {
                ["STRATA_ARTIFACT_STORE"] = """{"flavor":"s3","config":{"path":"s3://bucket/a"}}""",
                ["STRATA_SECRET_VARIABLES"] = "HF_TOKEN,WANDB_API_KEY",
            },
            secrets: new Dictionary<string, string> { ["HF_TOKEN"] = "hf_very-secret-value", ["WANDB_API_KEY"] = "wandb-secret" });

        var plan = TrainingJobSpec.Build(launch, Config(), "s3://bucket/a/sagemaker");
        var json = JsonSerializer.Serialize(plan.Request, Json.AwsJsonService.SageMaker.Json);

        Assert.DoesNotContain("hf_very-secret-value", json);
        Assert.DoesNotContain("wandb-secret", json);
        Assert.Equal(["HF_TOKEN", "WANDB_API_KEY"], plan.WithheldSecrets);
        Assert.Equal("HF_TOKEN,WANDB_API_KEY", plan.Request.Environment!["STRATA_SECRET_VARIABLES"]); // names only: the job masks them if it gets them itself
    }

    [Fact]
    public void The_stores_profile_is_dropped_from_the_jobs_locator()
    {
        var launch = Launch(environment: new Dictionary<string, string>
        {
            ["STRATA_ARTIFACT_STORE"] = """{"flavor":"s3","config":{"path":"s3://bucket/a","profile":"my-laptop","region":"eu-west-1"}}""",
        });

        var locator = JsonDocument.Parse(Build(launch).Environment!["STRATA_ARTIFACT_STORE"]).RootElement.GetProperty("config");

        Assert.False(locator.TryGetProperty("profile", out _));
        Assert.Equal("eu-west-1", locator.GetProperty("region").GetString());
    }

    [Fact]
    public void An_artifact_store_locator_over_512_characters_is_refused_before_anything_is_sent()
    {
        var longPath = "s3://bucket/" + string.Join('/', Enumerable.Repeat("a-rather-long-folder-name", 25));
        var launch = Launch(environment: new Dictionary<string, string>
        {
            ["STRATA_ARTIFACT_STORE"] = new JsonObject { ["flavor"] = "s3", ["config"] = new JsonObject { ["path"] = longPath } }.ToJsonString(),
        });

        var error = Assert.Throws<StrataConfigException>(() => Build(launch));

        Assert.Contains("STRATA_ARTIFACT_STORE", error.Message);
        Assert.Contains("512", error.Message);
        Assert.Contains("shorten", error.Message);
    }

    [Fact]
    public void Long_or_malformed_environment_values_and_too_long_arguments_are_refused_together()
    {
        var settings = new SageMakerSettings
        {
            Image = Image,
            Environment = new Dictionary<string, string> { ["BIG"] = new string('x', 513), ["1BAD"] = "v" },
        };
        var longManifest = "s3://bucket/" + new string('m', 300) + "/manifest.json";

        var error = Assert.Throws<StrataConfigException>(() => Build(Launch(settings, command: ["dotnet", "App.dll", StrataEntrypoint.Verb, "--manifest", longManifest])));

        Assert.Contains("environment variable BIG is 513 characters long", error.Message);
        Assert.Contains("'1BAD'", error.Message);
        Assert.Contains("at most 256", error.Message);
    }

    [Fact]
    public void Missing_image_bad_role_spot_limits_and_half_a_vpc_are_named()
    {
        var error = Assert.Throws<StrataConfigException>(() => Build(
            Launch(new SageMakerSettings { Image = null, UseSpotInstances = true, MaxRun = 600, MaxWait = 60, InputDataS3Uri = "a=s3://x/y,b=/local" }),
            Config(c => { c.Role = "strata-training"; c.Subnets = ["subnet-1"]; })));

        Assert.Contains("no training image", error.Message);
        Assert.Contains("--image=", error.Message);
        Assert.Contains("role 'strata-training' is not an IAM role ARN", error.Message);
        Assert.Contains("max_wait (60 s) must be at least max_run (600 s)", error.Message);
        Assert.Contains("subnets and security_group_ids go together", error.Message);
        Assert.Contains("'/local' is not an s3:// URI", error.Message);
    }

    [Theory]
    [InlineData("InProgress", "Starting", StepJobState.Queued)]
    [InlineData("InProgress", "LaunchingMLInstances", StepJobState.Queued)]
    [InlineData("InProgress", "Downloading", StepJobState.Queued)]
    [InlineData("InProgress", "DownloadingTrainingImage", StepJobState.Queued)]
    [InlineData("InProgress", "Training", StepJobState.Running)]
    [InlineData("InProgress", "Uploading", StepJobState.Running)]
    [InlineData("InProgress", "Interrupted", StepJobState.Running)]
    [InlineData("Stopping", "Stopping", StepJobState.Running)]
    [InlineData("Completed", "Completed", StepJobState.Succeeded)]
    [InlineData("Failed", "Failed", StepJobState.Failed)]
    [InlineData("Stopped", "Stopped", StepJobState.Cancelled)]
    [InlineData("Stopped", "MaxRuntimeExceeded", StepJobState.Failed)]
    [InlineData("Stopped", "MaxWaitTimeExceeded", StepJobState.Failed)]
    public void Sagemaker_states_map_to_step_job_states(string status, string secondary, StepJobState expected)
    {
        var state = TrainingJobStates.ToStatus(new DescribeTrainingJobResponse { TrainingJobStatus = status, SecondaryStatus = secondary });
        Assert.Equal(expected, state.State);
    }

    [Fact]
    public void Reasons_carry_the_secondary_status_failure_reason_and_limits()
    {
        var starting = TrainingJobStates.ToStatus(new DescribeTrainingJobResponse
        {
            TrainingJobStatus = "InProgress",
            SecondaryStatus = "Starting",
            SecondaryStatusTransitions = [new SecondaryStatusTransition { Status = "Starting", StatusMessage = "Launching requested ML instances" }],
        });
        Assert.Equal("Starting: Launching requested ML instances", starting.Reason);

        var failed = TrainingJobStates.ToStatus(new DescribeTrainingJobResponse { TrainingJobStatus = "Failed", SecondaryStatus = "Failed", FailureReason = "AlgorithmError: out of memory" });
        Assert.Equal("AlgorithmError: out of memory", failed.Reason);

        var timedOut = TrainingJobStates.ToStatus(new DescribeTrainingJobResponse
        {
            TrainingJobStatus = "Stopped",
            SecondaryStatus = "MaxRuntimeExceeded",
            StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = 120 },
        });
        Assert.StartsWith("MaxRuntimeExceeded", timedOut.Reason);
        Assert.Contains("(120 s)", timedOut.Reason);
        Assert.Contains("max_run", timedOut.Reason);
    }

    [Fact]
    public void The_flavor_is_registered_with_a_typed_schema_and_needs_a_remote_store()
    {
        var flavor = (StepOperatorFlavor)new FlavorRegistry().AddAws().Get(ComponentType.StepOperator, "sagemaker");

        Assert.Equal("aws", flavor.Integration);
        Assert.Equal(StackRequirements.RemoteArtifactStore, flavor.Requirements);
        Assert.Contains("Secret values are never sent", flavor.Description);
        var fields = flavor.Schema.Fields.ToDictionary(f => f.Name);
        Assert.True(fields["role"].Required);
        Assert.Equal("ml.m5.large", fields["instance_type"].Default);
        Assert.Equal("1", fields["instance_count"].Default);
        Assert.Equal("integer", fields["max_run"].TypeName);
        Assert.Equal("boolean", fields["use_spot_instances"].TypeName);
        Assert.Equal("map", fields["environment"].TypeName);
        Assert.Equal("map", fields["tags"].TypeName);
        Assert.Equal("list", fields["subnets"].TypeName);
        Assert.True(fields["secret_access_key"].Secret);
        foreach (var key in new[] { "volume_size_gb", "max_wait", "output_data_s3_uri", "input_data_s3_uri", "security_group_ids", "experiment_name", "region", "endpoint_url", "image", "timeout", "pending_timeout", "entrypoint" })
            Assert.True(fields.ContainsKey(key), key);

        var settings = flavor.SettingsSchema.Fields.Select(f => f.Name).ToHashSet();
        Assert.Contains("instance_type", settings);
        Assert.DoesNotContain("role", settings);
        Assert.DoesNotContain("secret_access_key", settings);
    }

    [Fact]
    public void Resources_sagemaker_cannot_take_are_named_with_instance_type()
    {
        var flavor = (StepOperatorFlavor)new FlavorRegistry().AddAws().Get(ComponentType.StepOperator, "sagemaker");

        var cpu = flavor.UnsupportedResources(new StepResources(Cpus: 8, MemoryBytes: 32L << 30), new SageMakerSettings()).ToArray();
        Assert.Contains(cpu, w => w.StartsWith("cpus and memory", StringComparison.Ordinal) && w.Contains("instance_type", StringComparison.Ordinal) && w.Contains("ml.m5.large", StringComparison.Ordinal));

        Assert.Contains(flavor.UnsupportedResources(new StepResources(Gpus: 1), new SageMakerSettings()), w => w.StartsWith("gpus: instance_type ml.m5.large has no GPUs", StringComparison.Ordinal));
        Assert.Empty(flavor.UnsupportedResources(new StepResources(Gpus: 1), new SageMakerSettings { InstanceType = "ml.g5.xlarge" }));
        Assert.Empty(flavor.UnsupportedResources(StepResources.None, new SageMakerSettings()));
    }

    [Fact]
    public void Only_an_s3_artifact_store_will_do()
    {
        var flavor = (StepOperatorFlavor)new FlavorRegistry().AddAws().Get(ComponentType.StepOperator, "sagemaker");
        using var temp = new global::Strata.Tests.Support.TempDirectory();

        var problem = flavor.ArtifactStoreProblem(new LocalArtifactStore(temp.Path) { Shared = true });

        Assert.NotNull(problem);
        Assert.Contains("s3 artifact store", problem);
        Assert.Contains("--flavor=s3", problem);
    }
}
