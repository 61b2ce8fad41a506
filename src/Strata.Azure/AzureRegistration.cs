using Strata.Azure;

namespace Strata;

/// <summary>Registers the Azure integration's flavors.</summary>
public static class AzureRegistration
{
    /// <summary>Adds the <c>azure</c> artifact store (Azure Blob Storage) and <c>azureml</c> step operator (Azure Machine Learning) flavors.</summary>
    public static FlavorRegistry AddAzure(this FlavorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.Add(new AzureBlobArtifactStoreFlavor()).Add(new AzureMLStepOperatorFlavor());
    }
}
