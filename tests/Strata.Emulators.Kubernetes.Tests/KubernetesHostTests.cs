using Strata.Emulators.Tests.Support;

namespace Strata.Emulators.Kubernetes.Tests;

/// <summary><c>strata-emulators kubernetes</c> as a user runs it: it prints export KUBECONFIG=..., kubectl then works, Ctrl+C stops it.</summary>
[Collection(KubernetesEmulatorCollection.Name)]
public sealed class KubernetesHostTests
{
    [Fact]
    public async Task The_kubernetes_subcommand_prints_the_kubeconfig_that_kubectl_then_uses()
    {
        using var work = new TempDirectory("strata-k8s-host");
        using var host = await EmulatorHostProcess.StartAsync("kubernetes", "--port", "0", "--work-dir", work.Path, "--capacity", "nvidia.com/gpu=2");
        Assert.StartsWith("Kubernetes emulator listening on https://127.0.0.1:", host.Lines[0], StringComparison.Ordinal);
        var kubeconfig = host.Exports()["KUBECONFIG"];
        Assert.Equal(Path.Combine(work.Path, "kubeconfig"), kubeconfig);
        Assert.Contains(host.Lines, l => l.Contains("nvidia.com/gpu=2", StringComparison.Ordinal));

        var (code, output) = await LocalServers.RunAsync("kubectl", ["get", "namespaces"], new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig, ["HOME"] = work.Path });
        Assert.True(code == 0, output);
        Assert.Matches("default +Active", output);
        Assert.Contains("GET /api/v1/namespaces", host.Error, StringComparison.Ordinal);

        host.Interrupt();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, host.ExitCode);
    }

    [Fact]
    public async Task A_malformed_capacity_is_a_usage_error()
    {
        var (code, output) = await LocalServers.RunAsync("dotnet", [EmulatorHostProcess.Dll, "kubernetes", "--capacity", "gpu"]);
        Assert.Equal(2, code);
        Assert.Contains("--capacity takes NAME=QUANTITY", output, StringComparison.Ordinal);
    }
}
