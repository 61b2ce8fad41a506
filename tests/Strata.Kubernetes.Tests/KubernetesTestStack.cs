using System.Text.Json;
using k8s;

namespace Strata.Kubernetes.Tests;

/// <summary>How the tests point the <c>kubernetes</c> operator at the emulator, and a client of their own for looking at what it did.</summary>
internal static class KubernetesTestStack
{
    /// <summary>
    /// hostPath volumes for this build (read-only) and the temporary directory, mounted at their own paths; and a shared process
    /// namespace, so that the step is not PID 1 of its container and a step that kills itself dies as it would on a machine.
    /// </summary>
    public static string PodSettings(params string[] morePaths)
    {
        var paths = new[] { (RepoPaths.Root, true), (Path.GetTempPath().TrimEnd('/'), false) }.Concat(morePaths.Select(p => (p, false))).ToArray();
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["volumes"] = paths.Select((p, i) => new { name = $"v{i}", hostPath = new { path = p.Item1, type = "Directory" } }),
            ["volume_mounts"] = paths.Select((p, i) => new { name = $"v{i}", mountPath = p.Item1, readOnly = p.Item2 }),
            ["additional_pod_spec_args"] = new { shareProcessNamespace = true },
        });
    }

    public static Dictionary<string, string> OperatorConfig(KubernetesEmulatorFixture cluster) => new()
    {
        ["kubeconfig"] = cluster.Emulator.KubeconfigPath,
        ["image"] = cluster.Image,
        ["pod_settings"] = PodSettings(),
    };

    public static IKubernetes Client(KubernetesEmulatorFixture cluster) =>
        new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Emulator.KubeconfigPath));
}
