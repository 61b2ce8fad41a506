using Strata.Gcp;

namespace Strata;

/// <summary>Registers the Google Cloud integration's flavors.</summary>
public static class GcpRegistration
{
    /// <summary>Adds the <c>gcs</c> artifact store and <c>vertex</c> step operator flavors.</summary>
    public static FlavorRegistry AddGcp(this FlavorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.Add(new GcsArtifactStoreFlavor()).Add(new VertexStepOperatorFlavor());
    }
}
