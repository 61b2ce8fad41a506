using Strata.Gcp.Vertex;

namespace Strata.Gcp;

/// <summary>The <c>vertex</c> step operator flavor.</summary>
internal sealed class VertexStepOperatorFlavor : StepOperatorFlavor
{
    public override string Name => "vertex";
    public override string Integration => "gcp";
    public override string Description =>
        "Runs each step as a Vertex AI custom job from your image (project, region, machine_type, accelerator_type, ...): states and Cloud Logging " +
        "entries followed live, the job cancelled on cancel or timeout. Needs a gcs artifact store. Secret values are never sent, since Vertex AI " +
        "shows a job's spec to anyone who can read it: the job gets its access from its service account.";
    public override Type ConfigType => typeof(VertexStepOperatorConfig);
    public override Type SettingsType => typeof(VertexSettings);
    public override StackRequirements Requirements => StackRequirements.RemoteArtifactStore;

    public override StepOperator Create(object config, StepOperatorContext context) =>
        new VertexStepOperator((VertexStepOperatorConfig)config, context.Time);

    public override string? ArtifactStoreProblem(ArtifactStore artifactStore) => artifactStore is GcsArtifactStore
        ? null
        : "runs steps as Vertex AI custom jobs, which reach artifacts only in Cloud Storage: it needs a gcs artifact store; register one " +
          "(strata artifact-store register NAME --flavor=gcs --path=gs://BUCKET/PREFIX) and put it in the stack (strata stack update STACK -a NAME)";

    public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings)
    {
        var vertex = (VertexSettings)settings;
        if (resources.Cpus is not null || resources.MemoryBytes is not null)
            yield return $"cpus and memory: a Vertex AI job gets a whole machine; choose a machine_type that has them (now {vertex.MachineType})";
        if (resources.Gpus is not null && string.IsNullOrWhiteSpace(vertex.AcceleratorType))
            yield return "gpus: set accelerator_type (e.g. NVIDIA_TESLA_T4) and accelerator_count";
        if (resources.GpuType is not null)
            yield return $"gpu_type: accelerator_type decides the GPU model (now {vertex.AcceleratorType ?? "none"})";
    }
}
