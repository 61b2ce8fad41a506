using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Strata.Kubernetes;

/// <summary>
/// The batch/v1 Job that runs one step (one pod, never restarted: Strata's own retries decide) and the Secret that carries the
/// step's secrets, referenced by <c>secretKeyRef</c> so that no secret value is in the Job or its pod.
/// </summary>
internal static partial class JobSpec
{
    public const string ContainerName = "step";
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string StepRunLabel = "strata.io/step-run-id";

    public static (V1Job Job, V1Secret? Secret) Build(StepLaunch launch, KubernetesStepOperatorSettings settings, string image, string ns)
    {
        var pod = PodSettings.Parse(settings.PodSettings);
        var name = StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pod.Labels.Concat(settings.Labels ?? [])) labels[k] = v;
        labels[ManagedBy] = "strata";
        labels["strata.io/pipeline"] = LabelValue(launch.Pipeline);
        labels["strata.io/run"] = LabelValue(launch.RunName);
        labels["strata.io/step"] = LabelValue(launch.StepName);
        labels[StepRunLabel] = LabelValue(launch.StepRunId);

        V1Secret? secret = null;
        var env = new List<V1EnvVar>();
        foreach (var (k, v) in launch.Environment) env.Add(new V1EnvVar { Name = k, Value = v });
        foreach (var (k, v) in settings.Environment ?? []) env.Add(new V1EnvVar { Name = k, Value = v });
        env.AddRange(pod.Env);
        if (launch.Secrets.Count > 0)
        {
            secret = new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = $"{name}-secrets", NamespaceProperty = ns, Labels = labels },
                Type = "Opaque",
                StringData = launch.Secrets.ToDictionary(kv => SecretKey(kv.Key), kv => kv.Value),
            };
            foreach (var key in launch.Secrets.Keys)
                env.Add(new V1EnvVar
                {
                    Name = key,
                    ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Key = SecretKey(key), Name = secret.Metadata.Name } },
                });
        }

        var (entrypoint, arguments) = launch.ImageCommand();
        var resources = Resources(launch.Resources, settings.GpuResourceName, pod.Resources);
        var container = new V1Container
        {
            Name = ContainerName,
            Image = image,
            Command = entrypoint?.ToList(),
            Args = arguments.ToList(),
            Env = env,
            EnvFrom = [.. (settings.EnvFrom ?? []).Select(EnvFrom), .. pod.EnvFrom],
            Resources = resources,
            VolumeMounts = pod.VolumeMounts.Count > 0 ? pod.VolumeMounts : null,
            ImagePullPolicy = settings.ImagePullPolicy,
        };
        if (container.EnvFrom.Count == 0) container.EnvFrom = null;

        var annotations = new Dictionary<string, string>(pod.Annotations, StringComparer.Ordinal);
        foreach (var (k, v) in settings.Annotations ?? []) annotations[k] = v;
        var nodeSelector = new Dictionary<string, string>(pod.NodeSelectors, StringComparer.Ordinal);
        foreach (var (k, v) in settings.NodeSelectors ?? []) nodeSelector[k] = v;
        var pullSecrets = pod.ImagePullSecrets.Concat(settings.ImagePullSecrets ?? []).Distinct(StringComparer.Ordinal).ToList();
        var tolerations = pod.Tolerations.Concat((settings.Tolerations ?? []).Select(Toleration)).ToList();
        var podSpec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers = [container],
            ServiceAccountName = settings.ServiceAccountName,
            NodeSelector = nodeSelector.Count > 0 ? nodeSelector : null,
            Tolerations = tolerations.Count > 0 ? tolerations : null,
            Affinity = pod.Affinity,
            ImagePullSecrets = pullSecrets.Count > 0 ? pullSecrets.Select(s => new V1LocalObjectReference { Name = s }).ToList() : null,
            HostIPC = settings.HostIpc || pod.HostIpc == true ? true : null,
            SecurityContext = pod.SecurityContext,
            Volumes = pod.Volumes.Count > 0 ? pod.Volumes : null,
            SchedulerName = pod.SchedulerName,
        };
        if (pod.AdditionalPodSpecArgs is { } extra) podSpec = Merge(podSpec, extra);

        var deadline = settings.ActiveDeadlineSeconds ?? (launch.Timeout is { } t ? (long)Math.Ceiling(t.TotalSeconds) : null);
        var job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels, Annotations = annotations.Count > 0 ? annotations : null },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                TtlSecondsAfterFinished = settings.TtlSecondsAfterFinished,
                ActiveDeadlineSeconds = deadline,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels, Annotations = annotations.Count > 0 ? annotations : null },
                    Spec = podSpec,
                },
            },
        };
        return (job, secret);
    }

    /// <summary>Portable resources as requests and equal limits; the pod settings' own resources win where they name the same resource.</summary>
    private static V1ResourceRequirements? Resources(StepResources resources, string gpuName, V1ResourceRequirements? fromPod)
    {
        var amounts = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal);
        if (resources.Cpus is { } cpus) amounts["cpu"] = new ResourceQuantity(cpus.ToString(CultureInfo.InvariantCulture));
        if (resources.MemoryBytes is { } bytes) amounts["memory"] = new ResourceQuantity(bytes.ToString(CultureInfo.InvariantCulture));
        if (resources.Gpus is { } gpus) amounts[gpuName] = new ResourceQuantity(gpus.ToString(CultureInfo.InvariantCulture));
        if (amounts.Count == 0) return fromPod;
        var requests = new Dictionary<string, ResourceQuantity>(amounts, StringComparer.Ordinal);
        var limits = new Dictionary<string, ResourceQuantity>(amounts, StringComparer.Ordinal);
        foreach (var (k, v) in fromPod?.Requests ?? new Dictionary<string, ResourceQuantity>()) requests[k] = v;
        foreach (var (k, v) in fromPod?.Limits ?? new Dictionary<string, ResourceQuantity>()) limits[k] = v;
        // A GPU is only ever given as a limit (requests must equal it); Kubernetes fills the request in.
        requests.Remove(gpuName);
        return new V1ResourceRequirements { Requests = requests.Count > 0 ? requests : null, Limits = limits };
    }

    /// <summary><c>KEY=VALUE:EFFECT</c>, <c>KEY:EFFECT</c> or <c>KEY</c> (any value, every effect).</summary>
    internal static V1Toleration Toleration(string text)
    {
        var match = TolerationPattern().Match(text.Trim());
        if (!match.Success)
            throw new StrataConfigException($"toleration '{text}' is not KEY=VALUE:EFFECT, KEY:EFFECT or KEY (e.g. nvidia.com/gpu:NoSchedule).");
        var value = match.Groups["value"].Success ? match.Groups["value"].Value : null;
        var effect = match.Groups["effect"].Success ? match.Groups["effect"].Value : null;
        return new V1Toleration { Key = match.Groups["key"].Value, OperatorProperty = value is null ? "Exists" : "Equal", Value = value, Effect = effect };
    }

    /// <summary><c>secret:NAME</c> or <c>configmap:NAME</c>.</summary>
    private static V1EnvFromSource EnvFrom(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon > 0 ? text[..colon].Trim().ToLowerInvariant() : "";
        var name = colon > 0 ? text[(colon + 1)..].Trim() : "";
        return (kind, name) switch
        {
            ("secret", { Length: > 0 }) => new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = name } },
            ("configmap", { Length: > 0 }) => new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = name } },
            _ => throw new StrataConfigException($"env_from '{text}' is not secret:NAME or configmap:NAME."),
        };
    }

    /// <summary>A label value: at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit.</summary>
    internal static string LabelValue(string text)
    {
        var clean = new string(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());
        if (clean.Length > 63) clean = clean[..63];
        return clean.Trim('-', '_', '.');
    }

    /// <summary>Secret keys allow letters, digits, '-', '_' and '.'; environment variable names are already within that.</summary>
    private static string SecretKey(string variable) => new(variable.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());

    private static V1PodSpec Merge(V1PodSpec spec, JsonObject extra)
    {
        var merged = JsonNode.Parse(KubernetesJson.Serialize(spec))!.AsObject();
        foreach (var (key, value) in extra) merged[key] = value?.DeepClone();
        try
        {
            return KubernetesJson.Deserialize<V1PodSpec>(merged.ToJsonString());
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new StrataConfigException($"pod_settings.additional_pod_spec_args does not fit a Kubernetes pod spec: {e.Message}", e);
        }
    }

    [GeneratedRegex(@"^(?<key>[A-Za-z0-9][-A-Za-z0-9_./]*)(=(?<value>[-A-Za-z0-9_.]*))?(:(?<effect>NoSchedule|PreferNoSchedule|NoExecute))?$")]
    private static partial Regex TolerationPattern();
}
