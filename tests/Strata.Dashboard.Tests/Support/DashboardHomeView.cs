namespace Strata.Dashboard.Tests.Support;

/// <summary>A home another process writes (a `strata` command running a pipeline), read from the test, with dashboards over it.</summary>
public sealed class DashboardHomeView(string path) : IAsyncDisposable
{
    private readonly List<DashboardServer> _servers = [];
    private StrataClient? _client;

    /// <summary>The step run of <paramref name="name"/> once it runs as a job of its step operator.</summary>
    public async Task<StepRunRecord> WaitForRunningJobAsync(string name, StrataCommand writer)
    {
        for (var i = 0; i < 1200; i++)
        {
            if (_client is null && File.Exists(Path.Combine(path, "strata.db")))
            {
                try { _client = await StrataClient.OpenAsync(new StrataHome(path)); }
                catch (StrataException) { } // still being created
            }
            if (_client is not null)
            {
                var runs = await _client.Store.ListRunsAsync();
                if (runs.Count > 0 && (await _client.Store.ListStepRunsAsync(runs[0].Id)).FirstOrDefault(s =>
                    s.Name == name && s.Status == ExecutionStatus.Running && s.Job is not null) is { } step)
                    return step;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        throw new TimeoutException($"step '{name}' did not start a job; out:\n{writer.Out}\nerror:\n{writer.Error}");
    }

    public async Task<DashboardServer> StartAsync()
    {
        var server = await DashboardServer.StartAsync(new DashboardOptions { Port = 0, Home = new StrataHome(path) });
        _servers.Add(server);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
        if (_client is not null) await _client.DisposeAsync();
    }
}
