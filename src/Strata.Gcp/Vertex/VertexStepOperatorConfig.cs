using System.ComponentModel;

namespace Strata.Gcp;

/// <summary>
/// Per-step settings of the <c>vertex</c> step operator (the component's config gives the defaults):
/// <c>.WithSettings(new VertexSettings { MachineType = "a2-highgpu-1g" })</c>, or <c>settings: {machine_type: a2-highgpu-1g}</c> in a run config.
/// </summary>
public class VertexSettings : ImageStepOperatorSettings
{
    [Description("Machine type of the job's worker (e.g. n1-standard-4, a2-highgpu-1g); it decides the CPUs and memory a step gets.")]
    public string MachineType { get; set; } = "n1-standard-4";

    [Description("GPU or TPU model attached to the worker, as Vertex AI names it (e.g. NVIDIA_TESLA_T4, NVIDIA_L4, NVIDIA_A100_80GB); default: none.")]
    public string? AcceleratorType { get; set; }

    [Description("How many accelerators of accelerator_type the worker gets; default: 1 when accelerator_type is set.")]
    public int AcceleratorCount { get; set; }

    [Description("Size in GB of the worker's boot disk (100 to 64000).")]
    public int BootDiskSizeGb { get; set; } = 100;

    [Description("Type of the worker's boot disk: pd-ssd or pd-standard.")]
    public string BootDiskType { get; set; } = "pd-ssd";

    [Description("Labels for the custom job (KEY=value,...; lowercase letters, digits, '-' and '_'), besides the strata-pipeline, strata-run, strata-step " +
        "and strata-step-run labels Strata adds.")]
    public Dictionary<string, string>? Labels { get; set; }

    [Description("Extra environment variables for the job (KEY=value,...). Vertex AI shows them to anyone who can read the job: never put a credential here.")]
    public Dictionary<string, string>? Environment { get; set; }
}

/// <summary>
/// Config of a <c>vertex</c> step operator: its settings' defaults plus where and as whom it calls Vertex AI, the service
/// account the jobs run as, and their network.
/// </summary>
/// <remarks>
/// The operator's own credentials (to create, read and cancel jobs and read their logs) come from, in order:
/// <see cref="CredentialsJson"/>, <see cref="CredentialsFile"/> (alias <c>service_account_path</c>), then Application Default
/// Credentials. The jobs get none of these: they run as <see cref="ServiceAccount"/> (default: the project's Vertex AI
/// service agent), which must be able to read and write the gcs artifact store.
/// </remarks>
public sealed class VertexStepOperatorConfig : VertexSettings
{
    [Description("Google Cloud project of the jobs; default: the key file's project_id, else GOOGLE_CLOUD_PROJECT.")]
    public string? Project { get; set; }

    [Description("Region of the jobs (e.g. europe-west1, us-central1).")]
    public string Region { get; set; } = "us-central1";

    [Description("Path of a service-account key file (JSON) for calling Vertex AI and Cloud Logging; default: Application Default Credentials " +
        "(GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default login, the metadata server).")]
    [ConfigAlias("service_account_path")]
    public string? CredentialsFile { get; set; }

    [Description("A service-account key's JSON for calling Vertex AI; give it as a secret reference such as {{gcp.key_json}}.")]
    [Secret]
    public string? CredentialsJson { get; set; }

    [Description("Email of the service account the jobs run as (their identity for the artifact store); default: Vertex AI's service agent.")]
    public string? ServiceAccount { get; set; }

    [Description("Full name of the VPC network the jobs are peered with (projects/NUMBER/global/networks/NAME); default: none.")]
    public string? Network { get; set; }

    [Description("Names of reserved IP ranges of the network the jobs may use, comma-separated.")]
    public List<string>? ReservedIpRanges { get; set; }

    [Description("Cloud KMS key that protects the jobs (projects/P/locations/L/keyRings/R/cryptoKeys/K); default: Google-managed.")]
    public string? EncryptionSpecKeyName { get; set; }

    [Description("Vertex AI endpoint (emulators, private endpoints), e.g. http://127.0.0.1:8080; default: https://REGION-aiplatform.googleapis.com.")]
    public string? EndpointUrl { get; set; }

    [Description("Cloud Logging endpoint for the jobs' logs; default: endpoint_url when set (one endpoint for both, as the emulator serves), else " +
        "https://logging.googleapis.com.")]
    public string? LogsEndpointUrl { get; set; }

    [Description("How many times a call answered with 429, 5xx or a broken connection is retried (with exponential backoff).")]
    public int MaxRetries { get; set; } = 8;
}
