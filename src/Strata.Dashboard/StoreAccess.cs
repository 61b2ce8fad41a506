namespace Strata.Dashboard;

/// <summary>
/// The store the pages read, opened on first use and again after a failure, so a store that was missing or unreadable is shown
/// once it is there. A SQLite store that does not exist yet is not created: the dashboard only reads.
/// </summary>
internal sealed class StoreAccess(StrataHome home) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private StrataClient? _client;

    public StrataHome Home { get; } = home;

    public async Task<StrataClient> GetAsync(CancellationToken cancellationToken)
    {
        if (_client is { } open) return open;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is not null) return _client;
            if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("STRATA_STORE_URL")) && !File.Exists(Home.DatabasePath))
                throw new StoreMissingException(Home.DatabasePath);
            return _client = await StrataClient.OpenAsync(Home, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}

/// <summary>The Strata home has no store yet.</summary>
internal sealed class StoreMissingException(string path)
    : StrataException($"There is no Strata store at {path} yet: run a pipeline (or `strata init`) in this home first, or set STRATA_HOME.");
