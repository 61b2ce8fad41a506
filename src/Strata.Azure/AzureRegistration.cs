using Strata.Azure;

namespace Strata;

/// <summary>Registers the Azure integration's flavors.</summary>
public static class AzureRegistration
{
    /// <summary>Adds the <c>azure</c> artifact store flavor (Azure Blob Storage).</summary>
    public static FlavorRegistry AddAzure(this FlavorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.Add(new AzureBlobArtifactStoreFlavor());
    }
}
