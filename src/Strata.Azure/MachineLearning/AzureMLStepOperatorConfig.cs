using System.ComponentModel;

namespace Strata.Azure;

/// <summary>
/// Per-step settings of the <c>azureml</c> step operator (the component's config gives the defaults):
/// <c>.WithSettings(new AzureMLSettings { InstanceType = "Standard_NC6s_v3" })</c>, or <c>settings: {instance_type: Standard_NC6s_v3}</c> in a run config.
/// </summary>
public class AzureMLSettings : ImageStepOperatorSettings
{
    [Description("Where jobs run: serverless (Azure ML provisions instance_type machines per job), compute-cluster or compute-instance (the " +
        "workspace's compute named compute_target_name). Default: the named compute when compute_target_name is set, else serverless.")]
    public string? Mode { get; set; }

    [Description("Name of the workspace's compute cluster or compute instance the jobs run on.")]
    [ConfigAlias("compute_name")]
    public string? ComputeTargetName { get; set; }

    [Description("VM size of serverless jobs (e.g. Standard_DS3_v2, Standard_NC6s_v3); it decides the CPUs, memory and GPUs a step gets. A compute " +
        "cluster's size is its own.")]
    [ConfigAlias("size")]
    [ConfigAlias("compute_size")]
    public string? InstanceType { get; set; }

    [Description("How many nodes the job gets (1 or more).")]
    public int InstanceCount { get; set; } = 1;

    [Description("A registered Azure ML environment the jobs run in, as NAME (its latest version) or NAME:VERSION; Strata then builds no image. With " +
        "image set, or without environment_name, the step's image is registered as a version of the environment strata-APP.")]
    public string? EnvironmentName { get; set; }

    /// <summary>A named environment runs the step when no image is given: none is built or required.</summary>
    public override bool UsesBackendEnvironment => !string.IsNullOrWhiteSpace(EnvironmentName);

    [Description("Azure ML experiment the jobs are grouped under; default: the pipeline's name.")]
    public string? ExperimentName { get; set; }

    [Description("Tags of the jobs (KEY=value,...), besides strata.pipeline, strata.run, strata.step and strata.step_run_id, which Strata adds.")]
    public Dictionary<string, string>? Tags { get; set; }

    [Description("Extra environment variables for the job (KEY=value,...). Azure ML studio shows them to anyone who can read the job: never put a " +
        "credential here.")]
    [ConfigAlias("env")]
    public Dictionary<string, string>? Environment { get; set; }
}

/// <summary>
/// Config of an <c>azureml</c> step operator: its settings' defaults plus the workspace and the identity it calls Azure ML as.
/// </summary>
/// <remarks>
/// The operator authenticates with <see cref="ServicePrincipalId"/> and <see cref="ServicePrincipalPassword"/> in
/// <see cref="TenantId"/> when they are given, else with <c>DefaultAzureCredential</c> (environment variables, workload or managed
/// identity, the Azure CLI's login). The jobs get none of these: they run with the compute's managed identity, which must be
/// able to read and write the azure artifact store.
/// </remarks>
public sealed class AzureMLStepOperatorConfig : AzureMLSettings
{
    [Description("Azure subscription id of the workspace.")]
    public required string SubscriptionId { get; set; }

    [Description("Resource group of the workspace.")]
    public required string ResourceGroup { get; set; }

    [Description("Name of the Azure Machine Learning workspace.")]
    public required string WorkspaceName { get; set; }

    [Description("Microsoft Entra tenant (directory) id of the service principal; default: the credential's own.")]
    public string? TenantId { get; set; }

    [Description("Application (client) id of a service principal to call Azure ML as; default: DefaultAzureCredential.")]
    [ConfigAlias("client_id")]
    public string? ServicePrincipalId { get; set; }

    [Description("The service principal's client secret; give it as a secret reference such as {{azure.client_secret}}.")]
    [ConfigAlias("client_secret")]
    [Secret]
    public string? ServicePrincipalPassword { get; set; }

    [Description("Azure Resource Manager endpoint (sovereign clouds, emulators); default: https://management.azure.com.")]
    public string? ArmEndpoint { get; set; }

    [Description("Microsoft Entra authority host (sovereign clouds, emulators); default: https://login.microsoftonline.com.")]
    public string? AuthorityHost { get; set; }

    [Description("How many times a call answered with 408, 429, a 5xx or a broken connection is retried (with exponential backoff).")]
    public int MaxRetries { get; set; } = 8;
}
