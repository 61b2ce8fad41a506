using Strata.Containers.Tests;

namespace Strata.Emulators.Kubernetes.Tests;

/// <summary>
/// One Kubernetes emulator for the tests (pods run by the real podman of eng/containers/services.sh), and kubectl
/// with the emulator's generated kubeconfig and a private HOME, as a user would run it.
/// </summary>
public sealed class KubernetesEmulatorFixture : IAsyncLifetime
{
    private readonly ContainerServices _containers = new();
    private readonly TempDirectory _home = new("strata-kubectl-home");

    public KubernetesEmulator Emulator { get; private set; } = null!;

    /// <summary>The environment podman needs to see the emulator's pods.</summary>
    public IReadOnlyDictionary<string, string> PodmanEnvironment => _containers.Environment;

    /// <summary>The registry and podman the pods are run with.</summary>
    public ContainerServices Containers => _containers;

    /// <summary>The Debian image with bash the test pods run.</summary>
    public string Image => _containers.BaseImage;

    public async Task InitializeAsync()
    {
        await _containers.InitializeAsync();
        var options = new KubernetesEmulatorOptions
        {
            ImagePullBackOff = TimeSpan.FromSeconds(2),
            NodeCapacity = { ["nvidia.com/gpu"] = "0", ["cpu"] = "2", ["memory"] = "4Gi" },
        };
        foreach (var (k, v) in _containers.Environment) options.PodmanEnvironment[k] = v;
        Emulator = await KubernetesEmulator.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        await Emulator.DisposeAsync();
        _home.Dispose();
    }

    /// <summary>Runs kubectl against the emulator: its exit code and output (stdout then stderr).</summary>
    public Task<(int Code, string Output)> Kubectl(params string[] args) =>
        LocalServers.RunAsync("kubectl", args, new Dictionary<string, string>
        {
            ["KUBECONFIG"] = Emulator.KubeconfigPath,
            ["HOME"] = _home.Path,
        });

    /// <summary>kubectl apply of a manifest written to a file, as users do.</summary>
    public async Task<(int Code, string Output)> Apply(string yaml, params string[] extra)
    {
        var file = Path.Combine(_home.Path, $"manifest-{Guid.NewGuid():n}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await Kubectl(["apply", "-f", file, .. extra]);
    }

    public async Task<(int Code, string Output)> Create(string yaml)
    {
        var file = Path.Combine(_home.Path, $"manifest-{Guid.NewGuid():n}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await Kubectl("create", "-f", file);
    }

    /// <summary>A Job manifest running bash -c SCRIPT in the test image, with extra container lines (indented 8).</summary>
    public string Job(string name, string script, string containerExtra = "", string podExtra = "") => $"""
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {name}
          labels:
            test: kubernetes-emulator
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
        {podExtra}
              containers:
              - name: main
                image: {Image}
                command: ["bash", "-c"]
                args: ["{script}"]
        {containerExtra}
        """;
}

[CollectionDefinition(Name)]
public sealed class KubernetesEmulatorCollection : ICollectionFixture<KubernetesEmulatorFixture>
{
    public const string Name = "kubernetes emulator";
}
