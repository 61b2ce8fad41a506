using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Strata.Store;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode. Writers take the write lock at the start of their
/// (short) transaction and wait for it up to the busy timeout, so concurrent processes neither lose writes nor
/// fail with "database is locked".
/// </summary>
/// <remarks>
/// Writes of one process share one connection and are committed in groups: whoever takes the write lock commits every
/// write queued so far in one transaction, each in its own savepoint so one failing write does not undo the others.
/// A write returns only after its transaction committed.
/// </remarks>
internal sealed class SqliteMetadataStore : SqlMetadataStore
{
    private readonly string _connectionString;

    private SqliteMetadataStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        // Written out rather than through SqliteConnectionStringBuilder, whose formatting costs a short process (every CLI
        // command, every step process that records) milliseconds. The path is quoted: it may hold ';', '=' or quotes.
        _connectionString = $"Data Source=\"{Path.Replace("\"", "\"\"", StringComparison.Ordinal)}\";" +
            "Mode=ReadWriteCreate;Cache=Private;Pooling=True;Default Timeout=60";
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
            throw new StoreException($"The store file {store.Path} is corrupt or not a Strata store ({e.Message.TrimEnd('.')}). Move it aside to start a new " +
                "store, or restore it from a backup.", e);
        }
        return store;
    }

    /// <summary>Opens and closes an unpooled in-memory database: what the first connection to a file would otherwise set up.</summary>
    public static void WarmUp()
    {
        try
        {
            using var connection = new SqliteConnection("Data Source=:memory:;Pooling=False");
            connection.Open();
        }
        catch (SqliteException)
        {
            // Opening the real store reports what is wrong.
        }
    }

    /// <summary>A pooled connection for reads (and for migrating). A busy database is retried up to the default timeout.</summary>
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = TempStoreInMemory;
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// SQLite's temporary data (a savepoint's journal, a sort too large for its cache) in memory rather than in files it
    /// creates and removes: each write group's savepoints made one such file, a few system calls each, per step recorded.
    /// </summary>
    private const string TempStoreInMemory = "PRAGMA temp_store = MEMORY;";

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentQueue<PendingWrite> _pending = new();
    private SqliteConnection? _writer;
    private SqliteStatements? _writerStatements;

    protected override async Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        var write = new PendingWrite(work, cancellationToken);
        _pending.Enqueue(write);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // An earlier holder of the lock may have committed this write with its group already.
            if (!write.Done.Task.IsCompleted) await CommitPendingAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        await write.Done.Task.ConfigureAwait(false);
    }

    private async Task CommitPendingAsync()
    {
        if (_writer is null)
        {
            var connection = (SqliteConnection)await OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;";
            await pragma.ExecuteNonQueryAsync().ConfigureAwait(false);
            KeepPrepared(connection);
            _writerStatements = new SqliteStatements(connection);
            RunDirectly(connection, _writerStatements);
            _writer = connection;
        }
        var group = new List<PendingWrite>();
        while (_pending.TryDequeue(out var next)) group.Add(next);
        if (group.Count == 0) return;
        var succeeded = new List<PendingWrite>();
        try
        {
            await using var tx = _writer.BeginTransaction(deferred: false);
            foreach (var write in group)
            {
                if (write.CancellationToken.IsCancellationRequested)
                {
                    write.Done.TrySetCanceled(write.CancellationToken);
                    continue;
                }
                await ExecuteAsync(_writer, tx, "SAVEPOINT w", CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await write.Work(_writer, tx).ConfigureAwait(false);
                    await ExecuteAsync(_writer, tx, "RELEASE w", CancellationToken.None).ConfigureAwait(false);
                    succeeded.Add(write);
                }
                catch (Exception e)
                {
                    await ExecuteAsync(_writer, tx, "ROLLBACK TO w", CancellationToken.None).ConfigureAwait(false);
                    await ExecuteAsync(_writer, tx, "RELEASE w", CancellationToken.None).ConfigureAwait(false);
                    write.Done.TrySetException(e);
                }
            }
            await tx.CommitAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var write in group) write.Done.TrySetException(e);
            await CloseWriterAsync().ConfigureAwait(false);
            return;
        }
        foreach (var write in succeeded) write.Done.TrySetResult();
        await CheckpointAfterCommitAsync(_writer).ConfigureAwait(false);
    }

    private async Task CloseWriterAsync()
    {
        _writerStatements?.Dispose(); // before the connection: SQLite closes a connection only once its statements are gone
        _writerStatements = null;
        if (_writer is not null) await _writer.DisposeAsync().ConfigureAwait(false);
        _writer = null;
    }

    // ---- checkpoints ----
    // SQLite's own checkpoint (wal_autocheckpoint, off on the writer) copies the log into the database file inside the commit that
    // fills the log, and every write queued behind it waits. A run of short steps waits for its records at its end (a 1000-step
    // run's last records commit 15-40 ms after its last step), so that wait was the run's. The log is copied on a thread-pool
    // thread instead, which a busy process gives it while the run waits for its records, or between runs.
    // SQLite starts the log afresh only in a write that begins once a checkpoint has caught up with it and that no read overlaps:
    // checkpoints beside the writes may never be that lucky, and a busy thread pool may not run them at all. So once the log holds
    // MaxWalFrames, the writer checkpoints between two commits itself, as SQLite would have, and the log stays bounded.

    private const int FramesPerCheckpoint = 1000; // SQLite's own default
    private const int MaxWalFrames = 4096;
    private readonly Lock _logLock = new();
    private long _framesWritten;     // by the writer, ever
    private long _framesQueuedAt;    // _framesWritten when the last checkpoint beside the writes was queued
    private int _logFrames;          // the log's frames, as the latest checkpoint found them...
    private long _logFramesWrittenAt; // ...when _framesWritten was this
    private Task _checkpoint = Task.CompletedTask;

    private async Task CheckpointAfterCommitAsync(SqliteConnection writer)
    {
        SQLitePCL.raw.sqlite3_db_status(writer.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var committed, out _, 1);
        var written = Interlocked.Add(ref _framesWritten, committed);
        long logFrames;
        lock (_logLock) logFrames = _logFrames + written - _logFramesWrittenAt;
        if (logFrames >= MaxWalFrames)
        {
            // Caught up with no writer beside it, the next write starts the log afresh unless a read overlaps it; the next commit's
            // checkpoint, copying only that write, finds which, and while the log is not started afresh every commit tries again.
            if (await CheckpointAsync(writer).ConfigureAwait(false) is { } frames) Found(frames, written);
            _framesQueuedAt = written;
        }
        else if (written - _framesQueuedAt >= FramesPerCheckpoint && _checkpoint.IsCompleted)
        {
            _framesQueuedAt = written;
            _checkpoint = Task.Run(CheckpointBesideAsync);
        }
    }

    private async Task CheckpointBesideAsync()
    {
        var written = Interlocked.Read(ref _framesWritten);
        DbConnection connection;
        try
        {
            connection = await RentReaderAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (SqliteException)
        {
            return; // as a failed checkpoint: the writer's own, once the log is large, or the last connection's close copies the log
        }
        try
        {
            if (await CheckpointAsync(connection).ConfigureAwait(false) is { } frames) Found(frames, written);
        }
        finally
        {
            await ReturnReaderAsync(connection).ConfigureAwait(false);
        }
    }

    private void Found(int logFrames, long writtenAt)
    {
        lock (_logLock)
        {
            if (writtenAt < _logFramesWrittenAt) return; // a later checkpoint already said
            (_logFrames, _logFramesWrittenAt) = (logFrames, writtenAt);
        }
    }

    /// <summary>Copies what it can of the log into the database file; returns the frames in the log, or null when another checkpoint runs.</summary>
    private static async Task<int?> CheckpointAsync(DbConnection connection)
    {
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            if (!await reader.ReadAsync().ConfigureAwait(false)) return null;
            var frames = reader.GetInt32(1);
            return frames < 0 ? null : frames;
        }
        catch (SqliteException)
        {
            return null; // not a write's failure: the next checkpoint, or the last connection's close, copies the log
        }
    }

    private sealed class PendingWrite(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        public Func<DbConnection, DbTransaction, Task> Work { get; } = work;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // Read connections kept open for the per-step reads, so their statements stay prepared (see RentReaderAsync).
    private const int KeptReaders = 4;
    private readonly ConcurrentBag<DbConnection> _readers = [];
    private volatile bool _disposed;

    protected override async Task<DbConnection> RentReaderAsync(CancellationToken cancellationToken)
    {
        if (_readers.TryTake(out var kept)) return kept;
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        KeepPrepared(connection);
        return connection;
    }

    protected override ValueTask ReturnReaderAsync(DbConnection connection)
    {
        if (_disposed || _readers.Count >= KeptReaders) return connection.DisposeAsync();
        _readers.Add(connection);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_readers.TryTake(out var reader)) await reader.DisposeAsync().ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await CloseWriterAsync().ConfigureAwait(false);
            await _checkpoint.ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }
}
