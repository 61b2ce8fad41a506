namespace Strata.Store;

/// <summary>
/// Opens the metadata store: <c>STRATA_STORE_URL</c> when set (<c>sqlite:///path/strata.db</c>,
/// <c>postgresql://user:pass@host:port/db</c>, or any scheme an integration registered), else the SQLite file in the Strata home.
/// </summary>
public static class MetadataStores
{
    private static readonly Dictionary<string, Func<string, CancellationToken, Task<IMetadataStore>>> Schemes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sqlite"] = async (url, ct) => await SqliteMetadataStore.OpenAsync(SqlitePath(url), ct).ConfigureAwait(false),
    };

    /// <summary>Lets an integration serve store URLs with the given scheme (e.g. <c>postgresql</c>).</summary>
    public static void RegisterScheme(string scheme, Func<string, CancellationToken, Task<IMetadataStore>> open)
    {
        lock (Schemes) Schemes[scheme] = open;
    }

    /// <summary>
    /// Sets up the default store's database library on a thread of its own, touching no file: its one-time set-up (native library,
    /// connection-string parser, connection pool) takes a short process such as a CLI command tens of milliseconds, which it can
    /// spend on other work meanwhile. Not on the thread pool: starting the pool cost the calling thread 5–10 ms, and a command
    /// whose store calls all complete at once never needs it. Does nothing when <c>STRATA_STORE_URL</c> names a store.
    /// </summary>
    public static void WarmUp()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("STRATA_STORE_URL")))
            new Thread(SqliteMetadataStore.WarmUp) { IsBackground = true, Name = "Strata store warm-up" }.Start();
    }

    public static async Task<IMetadataStore> OpenAsync(StrataHome home, CancellationToken cancellationToken = default)
    {
        var url = Environment.GetEnvironmentVariable("STRATA_STORE_URL");
        if (string.IsNullOrWhiteSpace(url))
            return await SqliteMetadataStore.OpenAsync(home.DatabasePath, cancellationToken).ConfigureAwait(false);
        return await OpenUrlAsync(url, cancellationToken).ConfigureAwait(false);
    }

    public static Task<IMetadataStore> OpenUrlAsync(string url, CancellationToken cancellationToken = default)
    {
        var colon = url.IndexOf(':');
        var scheme = colon > 0 ? url[..colon] : "";
        Func<string, CancellationToken, Task<IMetadataStore>>? open;
        lock (Schemes) Schemes.TryGetValue(scheme, out open);
        if (open is null)
        {
            string known;
            lock (Schemes) known = string.Join(", ", Schemes.Keys.Order());
            throw new StoreException($"STRATA_STORE_URL '{Redact(url)}' has scheme '{scheme}', which no installed store serves; known schemes: {known}.");
        }
        return open(url, cancellationToken);
    }

    private static string SqlitePath(string url)
    {
        var path = url["sqlite:".Length..];
        if (path.StartsWith("///", StringComparison.Ordinal)) path = path[2..];
        else if (path.StartsWith("//", StringComparison.Ordinal)) path = path[2..];
        return path;
    }

    /// <summary>Hides the password of a URL for messages.</summary>
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.UserInfo)) return url;
        var user = uri.UserInfo.Split(':')[0];
        return url.Replace(uri.UserInfo, user + ":***", StringComparison.Ordinal);
    }
}
