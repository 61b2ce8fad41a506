namespace Strata.Kubernetes.Tests;

/// <summary>
/// docs/kubernetes.md with the real <c>strata</c> command: the operator registered against a kubeconfig (the emulator's, found through
/// KUBECONFIG as kubectl finds it), an image builder and a registry in the stack; the Quickstart's train step runs as a Job in the
/// image Strata built, its pod run by podman, and its model comes back through the local artifact store on a hostPath volume.
/// </summary>
[Collection(KubernetesEmulatorCollection.Name)]
public sealed class QuickstartOnKubernetesTests(KubernetesEmulatorFixture cluster) : IDisposable
{
    // The command's own build (see RepoPaths.StrataDll).
    private readonly StrataCli _cli = new(RepoPaths.StrataDll);

    public void Dispose() => _cli.Dispose();

    private CliResult Strata(params string[] args) => _cli.RunIn(_cli.WorkingDirectory,
        new Dictionary<string, string?> { ["STRATA_HOME"] = _cli.Home, ["KUBECONFIG"] = cluster.Emulator.KubeconfigPath }, args);

    private CliResult Ok(params string[] args)
    {
        var result = Strata(args);
        Assert.True(result.ExitCode == 0, $"strata {string.Join(' ', args)}: {result}");
        return result;
    }

    [Fact]
    public async Task The_quickstarts_train_step_runs_as_a_kubernetes_job_in_an_image_strata_built()
    {
        Ok("container-registry", "register", "local", "--flavor=default", $"--uri={cluster.Containers.NewRegistryUri("k8s-quickstart")}");
        Ok("image-builder", "register", "dotnet", "--flavor=dotnet");
        Ok("step-operator", "register", "k8s", "--flavor=kubernetes", "--kubernetes_context=strata-emulator", "--kubernetes_namespace=default",
            $"--base_image={cluster.Image}", $"--pod_settings={KubernetesTestStack.PodSettings()}");
        Ok("stack", "register", "k8s", "-o", "default", "-a", "default", "-s", "k8s", "-c", "local", "-i", "dotnet", "--set");

        var run = Ok("pipeline", "run", "quickstart", "--assembly", RepoPaths.QuickstartDll());
        Assert.Contains("image: pushed app layer", run.Out);
        Assert.Contains("✓ train completed", run.Out);

        var id = Assert.Single(Ok("run", "list", "--output", "json").Json.EnumerateArray().ToArray()).GetProperty("id").GetString()!;
        var show = Ok("run", "show", id, "--output", "json").Json;
        Assert.Equal("completed", show.GetProperty("run").GetProperty("status").GetString());
        var logs = Ok("run", "logs", id, "--step", "train").Out;
        Assert.Contains("[kubernetes] Job strata-quickstart-train-", logs);
        Assert.Contains("trained FastTree with 100 trees", logs); // printed in the pod
        Assert.Contains("ran on step operator 'k8s' (kubernetes)", logs);
        Assert.Contains("auc", Ok("artifact", "list", "--run", id, "--output", "json").Out);

        // The Job is kept for kubectl after the step (ttl_seconds_after_finished), labelled with the run, and kubectl reads its log.
        var (code, jobs) = await cluster.Kubectl("get", "jobs", "-l", "strata.io/step=train", "-o", "name");
        Assert.Equal(0, code);
        var job = Assert.Single(jobs.Split('\n', StringSplitOptions.RemoveEmptyEntries), j => j.Contains("strata-quickstart-train-", StringComparison.Ordinal));
        var (logCode, podLog) = await cluster.Kubectl("logs", job);
        Assert.Equal(0, logCode);
        Assert.Contains("trained FastTree with 100 trees", podLog);
    }

    [Fact]
    public void The_flavor_is_described_with_its_settings()
    {
        var described = Ok("step-operator", "flavor", "describe", "kubernetes").Out;
        foreach (var setting in new[] { "kubernetes_context", "kubernetes_namespace", "incluster", "service_account_name", "pod_settings", "node_selectors" })
            Assert.Contains(setting, described);
    }
}
