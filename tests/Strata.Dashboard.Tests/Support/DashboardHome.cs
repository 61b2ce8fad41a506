namespace Strata.Dashboard.Tests.Support;

/// <summary>A Strata home of its own with a real store, the pipelines a test runs in it, and the dashboard servers over it.</summary>
public sealed class DashboardHome : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly List<DashboardServer> _servers = [];

    private DashboardHome(TempDirectory dir, StrataClient client)
    {
        _dir = dir;
        Client = client;
    }

    public StrataClient Client { get; }

    public string Path => _dir.Path;

    public static async Task<DashboardHome> CreateAsync()
    {
        var dir = new TempDirectory("strata-dashboard");
        var client = await StrataClient.OpenAsync(new StrataHome(dir.Path));
        await client.Stacks.EnsureDefaultStackAsync();
        return new DashboardHome(dir, client);
    }

    /// <summary>Runs a pipeline in this home; <c>noCache</c> runs every step, as the benchmarks' shapes need (equal steps would hit the cache).</summary>
    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, bool noCache = false, CancellationToken cancellationToken = default) =>
        Client.RunAsync(pipeline, new RunOptions { Observer = RunObservers.None, NoCache = noCache }, cancellationToken);

    public async Task<DashboardServer> StartAsync(string host = "127.0.0.1", string? token = null, string? homePath = null)
    {
        var server = await DashboardServer.StartAsync(new DashboardOptions
        {
            Host = host, Port = 0, Token = token, Home = new StrataHome(homePath ?? Path),
        });
        _servers.Add(server);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
        await Client.DisposeAsync();
        _dir.Dispose();
    }
}
