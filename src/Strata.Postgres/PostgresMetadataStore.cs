using System.Data.Common;
using Npgsql;

namespace Strata.Postgres;

/// <summary>
/// The metadata store on a PostgreSQL server, for teams and remote orchestrators that share one store.
/// Opened from <c>postgresql://user:password@host:port/database?sslmode=require</c> (or <c>postgres://</c>).
/// </summary>
internal sealed class PostgresMetadataStore : SqlMetadataStore
{
    // Any fixed number: every Strata process that migrates a database takes this advisory lock first.
    private const long MigrationLockKey = 0x5374726174614D67; // "StrataMg"

    // libpq URL parameters that Npgsql spells differently; other parameters are passed as Npgsql keywords.
    private static readonly Dictionary<string, string> LibpqKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["user"] = "Username",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["sslrootcert"] = "Root Certificate",
        ["connect_timeout"] = "Timeout",
        ["application_name"] = "Application Name",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    private readonly NpgsqlDataSource _dataSource;

    private PostgresMetadataStore(NpgsqlDataSource dataSource, string location)
    {
        _dataSource = dataSource;
        Location = location;
    }

    public override string Location { get; }

    public static async Task<PostgresMetadataStore> OpenAsync(string url, CancellationToken cancellationToken = default)
    {
        var (connectionString, location) = ParseUrl(url);
        var store = new PostgresMetadataStore(NpgsqlDataSource.Create(connectionString), location);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return store;
    }

    /// <summary>Turns a libpq-style URL into an Npgsql connection string and a password-free location for messages.</summary>
    internal static (string ConnectionString, string Location) ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgresql" or "postgres"))
            throw new StoreException($"'{MetadataStores.Redact(url)}' is not a PostgreSQL URL; use postgresql://user:password@host:port/database.");
        var builder = new NpgsqlConnectionStringBuilder { Host = "localhost" };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0) builder.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length == 2) builder.Password = Uri.UnescapeDataString(userInfo[1]);
        if (uri.Host.Length > 0) builder.Host = uri.Host.Trim('[', ']');
        if (uri.Port > 0) builder.Port = uri.Port;
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.IndexOf('=') is var eq and >= 0
                ? (Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..]))
                : (Uri.UnescapeDataString(pair), "");
            if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
                value = value.Replace("-", "", StringComparison.Ordinal); // verify-full → VerifyFull
            try
            {
                builder[LibpqKeywords.GetValueOrDefault(key, key)] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                throw new StoreException($"The PostgreSQL URL parameter '{key}' is not understood ({e.Message.TrimEnd('.')}); use libpq names such as " +
                    "sslmode, or Npgsql connection string keywords.", e);
            }
        }
        var user = builder.Username is { Length: > 0 } u ? Uri.EscapeDataString(u) + "@" : "";
        var host = builder.Host!.Contains(':', StringComparison.Ordinal) ? $"[{builder.Host}]" : builder.Host;
        return (builder.ConnectionString, $"postgresql://{user}{host}:{builder.Port}/{builder.Database ?? builder.Username}");
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new StoreException($"Cannot connect to the PostgreSQL store at {Location}: {e.Message.TrimEnd('.')}. Check STRATA_STORE_URL and that the " +
                "server is running.", e);
        }
    }

    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey})", cancellationToken);

    protected override bool IsUniqueViolation(Exception e) => e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
