using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Strata.Kubernetes;

/// <summary>
/// The <c>pod_settings</c> JSON (ZenML's KubernetesPodSettings keys, Kubernetes objects as values), read into Kubernetes' own types
/// so that a wrong shape is refused before any Job is created, naming the key.
/// </summary>
internal sealed record PodSettings
{
    private static readonly HashSet<string> Keys =
    [
        "node_selectors", "affinity", "tolerations", "resources", "annotations", "labels", "volumes", "volume_mounts", "host_ipc",
        "image_pull_secrets", "env", "env_from", "security_context", "scheduler_name", "additional_pod_spec_args",
    ];

    public Dictionary<string, string> NodeSelectors { get; init; } = [];
    public V1Affinity? Affinity { get; init; }
    public List<V1Toleration> Tolerations { get; init; } = [];
    public V1ResourceRequirements? Resources { get; init; }
    public Dictionary<string, string> Annotations { get; init; } = [];
    public Dictionary<string, string> Labels { get; init; } = [];
    public List<V1Volume> Volumes { get; init; } = [];
    public List<V1VolumeMount> VolumeMounts { get; init; } = [];
    public bool? HostIpc { get; init; }
    public List<string> ImagePullSecrets { get; init; } = [];
    public List<V1EnvVar> Env { get; init; } = [];
    public List<V1EnvFromSource> EnvFrom { get; init; } = [];
    public V1PodSecurityContext? SecurityContext { get; init; }
    public string? SchedulerName { get; init; }

    /// <summary>Any other pod spec fields, merged into the pod spec last (e.g. <c>{"priorityClassName": "high"}</c>).</summary>
    public JsonObject? AdditionalPodSpecArgs { get; init; }

    public static PodSettings None { get; } = new();

    /// <exception cref="StrataConfigException">The JSON is malformed, has an unknown key, or a value of the wrong shape.</exception>
    public static PodSettings Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return None;
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new StrataConfigException("pod_settings must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new StrataConfigException($"pod_settings is not valid JSON: {e.Message}", e);
        }
        var unknown = root.Select(p => p.Key).Where(k => !Keys.Contains(k)).ToArray();
        if (unknown.Length > 0)
            throw new StrataConfigException($"pod_settings has unknown key(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Keys)}.");
        T? Read<T>(string key) where T : class
        {
            if (root[key] is not { } node) return null;
            try
            {
                return KubernetesJson.Deserialize<T>(node.ToJsonString());
            }
            catch (JsonException e)
            {
                throw new StrataConfigException($"pod_settings.{key} is not a Kubernetes {Kind(typeof(T))}: {e.Message}", e);
            }
        }
        return new PodSettings
        {
            NodeSelectors = Read<Dictionary<string, string>>("node_selectors") ?? [],
            Affinity = Read<V1Affinity>("affinity"),
            Tolerations = Read<List<V1Toleration>>("tolerations") ?? [],
            Resources = Read<V1ResourceRequirements>("resources"),
            Annotations = Read<Dictionary<string, string>>("annotations") ?? [],
            Labels = Read<Dictionary<string, string>>("labels") ?? [],
            Volumes = Read<List<V1Volume>>("volumes") ?? [],
            VolumeMounts = Read<List<V1VolumeMount>>("volume_mounts") ?? [],
            HostIpc = root["host_ipc"] switch
            {
                null => null,
                JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
                _ => throw new StrataConfigException("pod_settings.host_ipc must be true or false."),
            },
            ImagePullSecrets = ReadPullSecrets(root["image_pull_secrets"]),
            Env = Read<List<V1EnvVar>>("env") ?? [],
            EnvFrom = Read<List<V1EnvFromSource>>("env_from") ?? [],
            SecurityContext = Read<V1PodSecurityContext>("security_context"),
            SchedulerName = root["scheduler_name"] is { } scheduler ? scheduler.GetValueKind() == JsonValueKind.String
                ? scheduler.GetValue<string>() : throw new StrataConfigException("pod_settings.scheduler_name must be a string.")
                : null,
            AdditionalPodSpecArgs = root["additional_pod_spec_args"] switch
            {
                null => null,
                JsonObject o => (JsonObject)o.DeepClone(),
                _ => throw new StrataConfigException("pod_settings.additional_pod_spec_args must be a JSON object of pod spec fields."),
            },
        };
    }

    /// <summary>ZenML writes image pull secrets as names; Kubernetes as <c>{"name": ...}</c> objects: both are taken.</summary>
    private static List<string> ReadPullSecrets(JsonNode? node) => node switch
    {
        null => [],
        JsonArray items => items.Select(i => i switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonObject o when o["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(),
            _ => throw new StrataConfigException("pod_settings.image_pull_secrets must list secret names (or {\"name\": ...} objects)."),
        }).ToList(),
        _ => throw new StrataConfigException("pod_settings.image_pull_secrets must be a list of secret names."),
    };

    private static string Kind(Type t) => t.IsGenericType ? $"list of {Name(t.GetGenericArguments()[^1])}" : Name(t);

    /// <summary><c>V1Volume</c> → <c>Volume</c>.</summary>
    private static string Name(Type t) => t.Name.StartsWith("V1", StringComparison.Ordinal) ? t.Name[2..] : t.Name;
}
