using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Strata;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode. Writers take the write lock at the start of their
/// (short) transaction and wait for it up to the busy timeout, so concurrent processes neither lose writes nor
/// fail with "database is locked".
/// </summary>
internal sealed class SqliteMetadataStore : SqlMetadataStore
{
    private readonly string _connectionString;

    private SqliteMetadataStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 60,
        }.ToString();
    }

    public string Path { get; }

    public override string Location => Path;

    public static async Task<SqliteMetadataStore> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var store = new SqliteMetadataStore(path);
        try
        {
            await using (var connection = await store.OpenAsync(cancellationToken).ConfigureAwait(false))
            {
                await using var wal = connection.CreateCommand();
                wal.CommandText = "PRAGMA journal_mode = WAL;";
                await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11) // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            throw new StoreException($"The store file {store.Path} is corrupt or not a Strata store ({e.Message.TrimEnd('.')}). Move it aside to start a new store, or restore it from a backup.", e);
        }
        return store;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        return ValueTask.CompletedTask;
    }
}
