using Strata.Azure.MachineLearning;

namespace Strata.Azure;

/// <summary>The <c>azureml</c> step operator flavor.</summary>
internal sealed class AzureMLStepOperatorFlavor : StepOperatorFlavor
{
    public override string Name => "azureml";
    public override string Integration => "azure";
    public override string Description =>
        "Runs each step as an Azure ML command job (subscription_id, resource_group, workspace_name, compute_target_name or serverless instance_type, " +
        "environment_name, ...): status and user logs followed live, the job cancelled on cancel or timeout. Needs an azure artifact store, which the " +
        "job reaches as its compute's managed identity; secret values are never sent, since Azure ML studio shows a job's environment.";
    public override Type ConfigType => typeof(AzureMLStepOperatorConfig);
    public override Type SettingsType => typeof(AzureMLSettings);
    public override StackRequirements Requirements => StackRequirements.RemoteArtifactStore;

    public override StepOperator Create(object config, StepOperatorContext context) =>
        new AzureMLStepOperator((AzureMLStepOperatorConfig)config, context.Time);

    public override string? ArtifactStoreProblem(ArtifactStore artifactStore) => artifactStore is AzureBlobArtifactStore
        ? null
        : "runs steps as Azure ML jobs, which reach artifacts only in Azure Blob Storage: it needs an azure artifact store; register one " +
          "(strata artifact-store register NAME --flavor=azure --path=az://CONTAINER/PREFIX --account_name=ACCOUNT) and put it in the stack " +
          "(strata stack update STACK -a NAME)";

    public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings)
    {
        var azure = (AzureMLSettings)settings;
        var size = azure.InstanceType ?? (azure.ComputeTargetName is { } c ? $"compute {c}'s size" : "none");
        if (resources.Cpus is not null || resources.MemoryBytes is not null)
            yield return $"cpus and memory: an Azure ML job gets whole nodes; choose an instance_type, or a compute cluster of a size, that has them " +
                $"(now {size})";
        if (resources.Gpus is not null)
            yield return $"gpus: choose a GPU instance_type (e.g. Standard_NC6s_v3) or a compute cluster of GPU nodes (now {size})";
        if (resources.GpuType is not null)
            yield return $"gpu_type: the instance_type or the cluster's size decides the GPU model (now {size})";
    }
}
