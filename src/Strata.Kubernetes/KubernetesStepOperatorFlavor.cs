using Strata.Kubernetes;

namespace Strata.Kubernetes
{
    /// <summary>The <c>kubernetes</c> step operator flavor: each step a batch/v1 Job in the step's image.</summary>
    internal sealed class KubernetesStepOperatorFlavor : StepOperatorFlavor
    {
        public override string Name => "kubernetes";
        public override string Integration => "kubernetes";
        public override string Description =>
            "Runs each step as a Kubernetes Job in the step's image (built by the stack's image builder, or image): pod settings, resources as " +
            "requests and limits, secrets in a Secret of the step's own, the pod's pending reasons and log followed live, the Job deleted with its " +
            "pod on cancel. Needs an artifact store the pods reach: a remote one, or a local one on a volume they mount (pod_settings).";
        public override Type ConfigType => typeof(KubernetesStepOperatorConfig);
        public override Type SettingsType => typeof(KubernetesStepOperatorSettings);

        public override StepOperator Create(object config, StepOperatorContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            return new KubernetesStepOperator((KubernetesStepOperatorConfig)config, context.Time);
        }

        /// <summary>Every resource maps to the pod's requests and limits but the GPU model, which nodes carry as a label.</summary>
        public override IEnumerable<string> UnsupportedResources(StepResources resources, object settings) =>
            resources.GpuType is null ? [] :
            [$"gpu_type: select nodes with that GPU with node_selectors (e.g. nvidia.com/gpu.product={resources.GpuType}, or " +
             $"cloud.google.com/gke-accelerator on GKE)"];
    }
}

namespace Strata
{
    /// <summary>Adds the Kubernetes integration's flavors to a registry.</summary>
    public static class KubernetesRegistration
    {
        /// <summary>Adds the <c>kubernetes</c> step operator flavor. In an app: <c>flavors.AddKubernetes()</c> in its <see cref="IStrataSetup"/>.</summary>
        public static FlavorRegistry AddKubernetes(this FlavorRegistry registry)
        {
            ArgumentNullException.ThrowIfNull(registry);
            return registry.Add(new KubernetesStepOperatorFlavor());
        }
    }
}
