using Strata.Aws.SageMaker;

namespace Strata.Aws;

/// <summary>The <c>sagemaker</c> step operator flavor.</summary>
internal sealed class SageMakerStepOperatorFlavor : StepOperatorFlavor
{
    public override string Name => "sagemaker";
    public override string Integration => "aws";
    public override string Description =>
        "Runs each step as an Amazon SageMaker training job from your image (image, role, instance_type, ...): states and CloudWatch logs followed live, " +
        "the job stopped on cancel or timeout. Needs an s3 artifact store. Secret values are never sent, since SageMaker shows a job's environment " +
        "to anyone who can describe it: the job gets its credentials from the execution role.";
    public override Type ConfigType => typeof(SageMakerStepOperatorConfig);
    public override Type SettingsType => typeof(SageMakerSettings);
    public override StackRequirements Requirements => StackRequirements.RemoteArtifactStore;

    public override StepOperator Create(object config, StepOperatorContext context) =>
        new SageMakerStepOperator((SageMakerStepOperatorConfig)config, context.ArtifactStore, time: context.Time);

    public override string? ArtifactStoreProblem(ArtifactStore artifactStore) => artifactStore is S3ArtifactStore
        ? null
        : "runs steps as SageMaker training jobs, which reach artifacts only in S3: it needs an s3 artifact store; register one " +
          "(strata artifact-store register NAME --flavor=s3 --path=s3://BUCKET/PREFIX) and put it in the stack (strata stack update STACK -a NAME)";

    public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings)
    {
        var instanceType = ((SageMakerSettings)settings).InstanceType;
        if (resources.Cpus is not null || resources.MemoryBytes is not null)
            yield return $"cpus and memory: a SageMaker job gets whole instances; choose an instance_type that has them (now {instanceType})";
        if (resources.Gpus is not null && !IsGpuInstance(instanceType))
            yield return $"gpus: instance_type {instanceType} has no GPUs; choose a GPU instance_type (e.g. ml.g5.xlarge, ml.p4d.24xlarge)";
        if (resources.GpuType is not null)
            yield return $"gpu_type: the instance_type decides the GPU model (now {instanceType})";
    }

    /// <summary>The ml.p* and ml.g* families carry NVIDIA GPUs.</summary>
    internal static bool IsGpuInstance(string instanceType) =>
        instanceType.StartsWith("ml.p", StringComparison.Ordinal) || instanceType.StartsWith("ml.g", StringComparison.Ordinal);
}
