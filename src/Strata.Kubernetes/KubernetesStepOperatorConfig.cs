using System.ComponentModel;

namespace Strata.Kubernetes;

/// <summary>
/// Per-step settings of the <c>kubernetes</c> step operator (the component's config gives the defaults):
/// <c>.WithSettings(new KubernetesStepOperatorSettings { NodeSelectors = new() { ["pool"] = "gpu" } })</c>, or
/// <c>settings: {node_selectors: {pool: gpu}}</c> in a run config.
/// </summary>
public class KubernetesStepOperatorSettings : ImageStepOperatorSettings
{
    [Description("Service account the step's pod runs as (its identity for cloud storage, e.g. through workload identity). Default: the namespace's " +
        "default account.")]
    public string? ServiceAccountName { get; set; }

    [Description("Node labels the pod must be scheduled on (KEY=value,...), e.g. cloud.google.com/gke-accelerator=nvidia-tesla-t4.")]
    [ConfigAlias("node_selector")]
    public Dictionary<string, string>? NodeSelectors { get; set; }

    [Description("Taints the pod tolerates, comma-separated: KEY=VALUE:EFFECT, KEY:EFFECT or KEY (any value, any effect); e.g. " +
        "nvidia.com/gpu:NoSchedule.")]
    public List<string>? Tolerations { get; set; }

    [Description("Annotations of the step's pod (KEY=value,...).")]
    public Dictionary<string, string>? Annotations { get; set; }

    [Description("Labels of the step's Job and pod (KEY=value,...), besides the strata.io/* labels Strata adds.")]
    public Dictionary<string, string>? Labels { get; set; }

    [Description("Secrets of type kubernetes.io/dockerconfigjson the kubelet pulls the image with, comma-separated names.")]
    public List<string>? ImagePullSecrets { get; set; }

    [Description("Share the host's IPC namespace (hostIPC), e.g. for NCCL's shared memory between processes.")]
    public bool HostIpc { get; set; }

    [Description("Environment variables of the step (KEY=value,...). They are readable by anyone who can read the Job: never put a credential here; " +
        "the step's secrets travel in a Kubernetes Secret.")]
    [ConfigAlias("env")]
    public Dictionary<string, string>? Environment { get; set; }

    [Description("Secrets and config maps whose every key becomes an environment variable, comma-separated secret:NAME or configmap:NAME.")]
    public List<string>? EnvFrom { get; set; }

    [Description("Resource name of a GPU in resource requests (the device plugin's), e.g. amd.com/gpu.")]
    public string GpuResourceName { get; set; } = "nvidia.com/gpu";

    [Description("When the kubelet pulls the image: IfNotPresent, Always or Never. Default: Kubernetes' own (Always for :latest, else IfNotPresent).")]
    public string? ImagePullPolicy { get; set; }

    [Description("Seconds Kubernetes keeps a finished Job and its pod (for kubectl describe and logs) before deleting them (ttlSecondsAfterFinished).")]
    public int? TtlSecondsAfterFinished { get; set; } = 3600;

    [Description("Longest the Job may run in seconds, pending time included (activeDeadlineSeconds). Default: the step's timeout.")]
    public long? ActiveDeadlineSeconds { get; set; }

    [Description("The rest of the pod spec as JSON, with the keys of ZenML's pod_settings: node_selectors, affinity, tolerations, resources, " +
        "annotations, labels, volumes, volume_mounts, host_ipc, image_pull_secrets, env, env_from, security_context, scheduler_name, " +
        "additional_pod_spec_args; values are Kubernetes objects, e.g. {\"volumes\":[{\"name\":\"data\",\"persistentVolumeClaim\":" +
        "{\"claimName\":\"data\"}}],\"volume_mounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"}]}.")]
    public string? PodSettings { get; set; }
}

/// <summary>
/// Config of a <c>kubernetes</c> step operator: which cluster and namespace (found as kubectl finds them), and the defaults of
/// every step's settings.
/// </summary>
public sealed class KubernetesStepOperatorConfig : KubernetesStepOperatorSettings
{
    [Description("The kubeconfig context to use. Default: the kubeconfig's current context.")]
    public string? KubernetesContext { get; set; }

    [Description("Namespace the Jobs, pods and Secrets are created in. Default: the context's namespace, else 'default'.")]
    public string? KubernetesNamespace { get; set; }

    [Description("Use the service account of the pod this runs in (in-cluster config) instead of a kubeconfig.")]
    public bool Incluster { get; set; }

    [Description("Path of the kubeconfig file. Default: as kubectl finds it: KUBECONFIG (colon-separated files, merged), else ~/.kube/config.")]
    public string? Kubeconfig { get; set; }
}
