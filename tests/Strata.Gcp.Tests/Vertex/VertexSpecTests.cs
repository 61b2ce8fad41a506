using System.Text.Json.Nodes;
using Strata.Gcp.Vertex;

namespace Strata.Gcp.Tests.Vertex;

/// <summary>The custom job a launch becomes, the config's seed aliases, and how each of Vertex AI's twelve job states reads.</summary>
public sealed class VertexSpecTests
{
    private static StepLaunch Launch(VertexSettings settings, TimeSpan? timeout = null, Dictionary<string, string>? secrets = null) => new()
    {
        Pipeline = "training",
        RunId = "run-1",
        RunName = "Nightly Run",
        StepName = "train",
        StepRunId = "01JABCDEFGHJKMNPQRSTVWXYZ0",
        Command = ["dotnet", "/app/App.dll", StrataEntrypoint.Verb, "--manifest", "gs://lake/strata/m.json"],
        Environment = new Dictionary<string, string>
        {
            [ArtifactStoreLocator.EnvironmentVariable] = "{\"flavor\":\"gcs\",\"config\":{\"path\":\"gs://lake/strata\",\"credentials_file\":\"/home/me/key.json\"}}",
            ["EMPTY"] = "",
        },
        Secrets = secrets ?? [],
        Settings = settings,
        Image = "europe-docker.pkg.dev/p/r/app:1",
        ManifestUri = "gs://lake/strata/m.json",
        Timeout = timeout,
    };

    [Fact]
    public void A_launch_becomes_one_worker_pool_with_the_steps_image_machine_timeout_and_labels_and_no_secret_value()
    {
        var config = new VertexStepOperatorConfig
        {
            Project = "p", MachineType = "a2-highgpu-1g", AcceleratorType = "nvidia_tesla_a100", BootDiskSizeGb = 200, ServiceAccount = "runner@p.iam.gserviceaccount.com",
            Network = "projects/1/global/networks/vpc", ReservedIpRanges = ["r1"], EncryptionSpecKeyName = "projects/p/locations/l/keyRings/r/cryptoKeys/k",
            Labels = new() { ["team"] = "ml" },
        };

        var plan = CustomJobSpec.Build(Launch(config, TimeSpan.FromMinutes(90), new() { ["HF_TOKEN"] = "hf_secret" }), config);

        var job = plan.Job;
        var pool = job["jobSpec"]!["workerPoolSpecs"]![0]!;
        Assert.Equal(StepJobNames.For("01JABCDEFGHJKMNPQRSTVWXYZ0", "training", "train", 128), (string)job["displayName"]!);
        Assert.Equal("NVIDIA_TESLA_A100", (string)pool["machineSpec"]!["acceleratorType"]!);
        Assert.Equal(1, (int)pool["machineSpec"]!["acceleratorCount"]!);
        Assert.Equal(200, (int)pool["diskSpec"]!["bootDiskSizeGb"]!);
        Assert.Equal(["strata-step", "--manifest", "gs://lake/strata/m.json"], pool["containerSpec"]!["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("5400s", (string)job["jobSpec"]!["scheduling"]!["timeout"]!);
        Assert.Equal("runner@p.iam.gserviceaccount.com", (string)job["jobSpec"]!["serviceAccount"]!);
        Assert.Equal("projects/1/global/networks/vpc", (string)job["jobSpec"]!["network"]!);
        Assert.Equal("projects/p/locations/l/keyRings/r/cryptoKeys/k", (string)job["encryptionSpec"]!["kmsKeyName"]!);
        Assert.Equal("ml", (string)job["labels"]!["team"]!);
        Assert.Equal("nightly-run", (string)job["labels"]!["strata-run"]!);
        Assert.Equal("01jabcdefghjkmnpqrstvwxyz0", (string)job["labels"]!["strata-step-run"]!);
        var json = job.ToJsonString();
        Assert.DoesNotContain("hf_secret", json, StringComparison.Ordinal);
        Assert.DoesNotContain("/home/me/key.json", json, StringComparison.Ordinal); // the job uses its service account, not this machine's key
        Assert.DoesNotContain("\"EMPTY\"", json, StringComparison.Ordinal);
        Assert.Equal(["HF_TOKEN"], plan.WithheldSecrets);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_before_anything_is_sent()
    {
        var config = new VertexStepOperatorConfig { AcceleratorType = "NVIDIA_TESLA_Z9", BootDiskSizeGb = 10, BootDiskType = "floppy", Labels = new() { ["Bad"] = "x" } };

        var error = Assert.Throws<StrataConfigException>(() => CustomJobSpec.Build(Launch(config) with { Image = null }, config));

        Assert.Contains("no image", error.Message);
        Assert.Contains("accelerator_type 'NVIDIA_TESLA_Z9'", error.Message);
        Assert.Contains("boot_disk_size_gb", error.Message);
        Assert.Contains("boot_disk_type", error.Message);
        Assert.Contains("label key 'Bad'", error.Message);
    }

    [Fact]
    public void The_seeds_register_names_bind_to_the_config()
    {
        var flavor = new FlavorRegistry().AddGcp().Get(ComponentType.StepOperator, "vertex");
        var config = (VertexStepOperatorConfig)flavor.Schema.Bind(flavor.Schema.Validate(new Dictionary<string, string>
        {
            ["project"] = "zenml-core", ["service_account_path"] = "/keys/sa.json", ["region"] = "europe-west1", ["machine_type"] = "n1-standard-4",
            ["base_image"] = "img:1", ["accelerator_type"] = "NVIDIA_TESLA_T4",
        }, requireAll: true, "step-operator flavor 'vertex'"));

        Assert.Equal("zenml-core", config.Project);
        Assert.Equal("/keys/sa.json", config.CredentialsFile);
        Assert.Equal("europe-west1", config.Region);
        Assert.Equal("img:1", config.BaseImage);
        Assert.Equal("NVIDIA_TESLA_T4", config.AcceleratorType);
    }

    [Theory]
    [InlineData("JOB_STATE_UNSPECIFIED", StepJobState.Queued)]
    [InlineData("JOB_STATE_QUEUED", StepJobState.Queued)]
    [InlineData("JOB_STATE_PENDING", StepJobState.Queued)]
    [InlineData("JOB_STATE_PAUSED", StepJobState.Queued)]
    [InlineData("JOB_STATE_RUNNING", StepJobState.Running)]
    [InlineData("JOB_STATE_UPDATING", StepJobState.Running)]
    [InlineData("JOB_STATE_CANCELLING", StepJobState.Running)]
    [InlineData("JOB_STATE_SUCCEEDED", StepJobState.Succeeded)]
    [InlineData("JOB_STATE_FAILED", StepJobState.Failed)]
    [InlineData("JOB_STATE_EXPIRED", StepJobState.Failed)]
    [InlineData("JOB_STATE_PARTIALLY_SUCCEEDED", StepJobState.Failed)]
    [InlineData("JOB_STATE_CANCELLED", StepJobState.Cancelled)]
    public void Each_of_the_twelve_job_states_maps_to_a_step_job_state(string state, StepJobState expected)
    {
        var status = CustomJobStates.ToStatus(new JsonObject { ["state"] = state }, "n1-standard-4");

        Assert.Equal(expected, status.State);
        if (state == "JOB_STATE_PENDING") Assert.Contains("provisioning n1-standard-4", status.Reason);
    }

    [Fact]
    public void A_failed_job_carries_the_replicas_exit_status()
    {
        var status = CustomJobStates.ToStatus(new JsonObject
        {
            ["state"] = "JOB_STATE_FAILED",
            ["error"] = new JsonObject { ["code"] = 3, ["message"] = "The replica workerpool0-0 exited with a non-zero status of 137." },
        }, "n1-standard-4");

        Assert.Equal(137, status.ExitCode);
        Assert.Contains("non-zero status of 137", status.Reason);
    }
}
