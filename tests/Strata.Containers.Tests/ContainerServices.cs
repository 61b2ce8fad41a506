namespace Strata.Containers.Tests;

/// <summary>
/// The real container services of eng/containers/services.sh: a docker-registry on localhost:5000 holding a .NET base image,
/// and podman's Docker Engine API. <c>start</c> is idempotent: when test.sh already started them, nothing happens here.
/// They are left running for the next test run; test.sh stops them.
/// </summary>
public sealed class ContainerServices : IAsyncLifetime
{
    private IReadOnlyDictionary<string, string> _env = new Dictionary<string, string>();

    /// <summary>The registry host, e.g. <c>localhost:5000</c>.</summary>
    public string Registry => _env["STRATA_TEST_REGISTRY"];

    /// <summary>The .NET runtime base image in the registry.</summary>
    public string BaseImage => _env["STRATA_TEST_BASE_IMAGE"];

    /// <summary>The Docker Engine API of podman, <c>unix:///...sock</c>.</summary>
    public string DockerHost => _env["DOCKER_HOST"];

    /// <summary>The environment podman and skopeo need (their config files).</summary>
    public IReadOnlyDictionary<string, string> Environment => _env;

    /// <summary>How the cloud emulators run a job's image for real, as a cloud pulls and starts it: podman, on the host's network, with an init.</summary>
    public static IReadOnlyList<string> ContainerRunner { get; } = ["podman", "run", "--rm", "--network", "host", "--init"];

    /// <summary>The environment of that container runner: podman's config files, this process's PATH, and <paramref name="home"/> as HOME.</summary>
    public Dictionary<string, string> ContainerRunnerEnvironment(string home) => new(_env)
    {
        ["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
        ["HOME"] = home,
    };

    /// <summary>A registry URI of its own for a test, so images and tags of one test never meet another's.</summary>
    public string NewRegistryUri(string name) => $"{Registry}/{name}-{Guid.NewGuid().ToString("N")[..8]}";

    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepoPaths.Root, "eng", "containers", "services.sh");
        var (code, output) = await LocalServers.RunAsync("bash", [script, "start"]);
        if (code != 0) throw new InvalidOperationException($"eng/containers/services.sh start failed ({code}):\n{output}");
        var dir = System.Environment.GetEnvironmentVariable("STRATA_CONTAINERS_DIR") is { Length: > 0 } d ? d : "/tmp/strata-containers";
        _env = LocalServers.ReadEnvFile(Path.Combine(dir, "env"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Runs podman, skopeo or another tool with the services' environment.</summary>
    public Task<(int Code, string Output)> ToolAsync(string file, params string[] args) => LocalServers.RunAsync(file, args, _env);
}

[CollectionDefinition(Name)]
public sealed class ContainerServicesCollection : ICollectionFixture<ContainerServices>
{
    public const string Name = "container services";
}
