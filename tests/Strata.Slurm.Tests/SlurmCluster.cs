using Strata.Tests.Support;

namespace Strata.Slurm.Tests;

/// <summary>
/// The real single-node Slurm cluster of eng/slurm/cluster.sh. <c>start</c> is idempotent: when test.sh already started
/// the cluster, nothing happens here. The cluster is left running for the next test run; test.sh stops it.
/// </summary>
public sealed class SlurmCluster : IAsyncLifetime
{
    public string BaseDir { get; private set; } = "";
    public string SlurmConf { get; private set; } = "";
    public Uri RestUrl { get; private set; } = null!;
    public string RestSocket { get; private set; } = "";
    public string Jwt { get; private set; } = "";

    /// <summary>A directory every job can write to (jobs through the local-auth socket run as nobody).</summary>
    public string WorkDir { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "eng", "slurm", "cluster.sh");
        var (code, output) = await LocalServers.RunAsync("bash", [script, "start"]);
        if (code != 0) throw new InvalidOperationException($"eng/slurm/cluster.sh start failed ({code}):\n{output}");

        BaseDir = Environment.GetEnvironmentVariable("STRATA_SLURM_DIR") is { Length: > 0 } dir ? dir : "/tmp/strata-slurm";
        var env = LocalServers.ReadEnvFile(Path.Combine(BaseDir, "env"));
        SlurmConf = env["SLURM_CONF"];
        RestUrl = new Uri(env["STRATA_SLURM_REST_URL"]);
        RestSocket = env["STRATA_SLURM_REST_SOCKET"];
        Jwt = env["STRATA_SLURM_JWT"];

        WorkDir = Path.Combine(Path.GetTempPath(), $"strata-slurm-tests-{Guid.NewGuid():n}");
        Directory.CreateDirectory(WorkDir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(WorkDir, (UnixFileMode)Convert.ToInt32("1777", 8));
    }

    public Task DisposeAsync()
    {
        foreach (var transport in _transports.Values) (transport as IDisposable)?.Dispose();
        try { Directory.Delete(WorkDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    /// <summary>The transports under test, by name: "cli", "rest" (JWT over TCP), "rest-socket" (local auth, jobs run as nobody).</summary>
    internal ISlurmTransport Transport(string name)
    {
        lock (_transports)
        {
            if (_transports.TryGetValue(name, out var transport)) return transport;
            transport = name switch
            {
                "cli" => new SlurmCliTransport(new SlurmCliOptions { SlurmConf = SlurmConf }),
                "rest" => new SlurmRestTransport(SlurmRestOptions.WithToken(RestUrl, "root", Jwt)),
                "rest-socket" => new SlurmRestTransport(new SlurmRestOptions { UnixSocketPath = RestSocket }),
                _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
            };
            _transports[name] = transport;
            return transport;
        }
    }

    private readonly Dictionary<string, ISlurmTransport> _transports = [];

    /// <summary>Runs a Slurm command against this cluster (for checks independent of the transports).</summary>
    public Task<(int Code, string Output)> SlurmAsync(string command, params string[] args) =>
        LocalServers.RunAsync(command, args, new Dictionary<string, string> { ["SLURM_CONF"] = SlurmConf });

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "eng", "slurm", "cluster.sh"))) return dir.FullName;
        throw new InvalidOperationException("eng/slurm/cluster.sh not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class SlurmClusterCollection : ICollectionFixture<SlurmCluster>
{
    public const string Name = "slurm cluster";
}
