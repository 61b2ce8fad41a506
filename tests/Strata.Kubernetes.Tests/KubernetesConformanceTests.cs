using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Strata.Testing;

namespace Strata.Kubernetes.Tests;

/// <summary>
/// The <c>kubernetes</c> operator against the Kubernetes emulator, whose pods podman really runs: the conformance suite. The pods run the
/// .NET base image with this build mounted read-only at its own path (a hostPath volume, as a cluster would mount a shared volume), so
/// the entrypoint is the <c>strata</c> command of this build; the temporary directory is mounted too, so the local artifact store and
/// the files that release the cases' steps are where the steps look for them.
/// </summary>
[Collection(KubernetesEmulatorCollection.Name)]
public sealed class KubernetesConformanceTests(KubernetesEmulatorFixture cluster) : StepOperatorConformance
{
    protected override string Flavor => "kubernetes";

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddKubernetes();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => KubernetesTestStack.OperatorConfig(cluster);

    protected override IReadOnlyList<string> Entrypoint => ["dotnet", StrataCommand];

    // This build's command, which the pods run from the mounted repository.
    protected override string StrataCommand => RepoPaths.StrataDll;

    protected override ResourceSupport Resources => ResourceSupport.Mapped("\"cpu\":\"2\"", "\"memory\":\"1073741824\"");

    /// <summary>A GPU the emulator's one node does not have keeps the pod Pending, as a cluster without free GPUs does.</summary>
    protected override QueueSupport Queue => QueueSupport.HeldBy(
        new Dictionary<string, string> { ["pod_settings"] = """{"resources":{"limits":{"nvidia.com/gpu":"1"}}}""" }, "Unschedulable");

    /// <summary>The Job while it is there and unfinished, and every pod of it that has not ended.</summary>
    protected override async Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        using var client = KubernetesTestStack.Client(cluster);
        var live = new List<string>();
        try
        {
            var current = await client.BatchV1.ReadNamespacedJobAsync(job.JobId, "default");
            if (current.Status?.Conditions?.Any(c => c.Type is "Complete" or "Failed" && c.Status == "True") != true) live.Add($"job {job.JobId}");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
        var pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"job-name={job.JobId}");
        live.AddRange(pods.Items.Where(p => p.Status?.Phase is not ("Succeeded" or "Failed")).Select(p => $"pod {p.Metadata.Name}: {p.Status?.Phase}"));
        return live;
    }

    /// <summary>The Job as the API server holds it and every Job and pod body the server was sent for it (what anyone who may read them sees).</summary>
    protected override async Task<string> JobSpecAsync(StepJob job)
    {
        using var client = KubernetesTestStack.Client(cluster);
        var bodies = new JsonArray();
        try
        {
            bodies.Add(JsonNode.Parse(KubernetesJson.Serialize(await client.BatchV1.ReadNamespacedJobAsync(job.JobId, "default"))));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
        foreach (var r in cluster.Emulator.Requests.Where(r => r.Body.Contains(job.JobId, StringComparison.Ordinal) && !r.Path.Contains("/secrets", StringComparison.Ordinal)))
            bodies.Add(r.Body);
        return bodies.ToJsonString();
    }
}
