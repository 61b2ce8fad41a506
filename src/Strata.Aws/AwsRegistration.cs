using Strata.Aws;

namespace Strata;

/// <summary>Registers the AWS integration's flavors.</summary>
public static class AwsRegistration
{
    /// <summary>Adds the <c>s3</c> artifact store and the <c>sagemaker</c> step operator flavors.</summary>
    public static FlavorRegistry AddAws(this FlavorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.Add(new S3ArtifactStoreFlavor()).Add(new SageMakerStepOperatorFlavor());
    }
}
