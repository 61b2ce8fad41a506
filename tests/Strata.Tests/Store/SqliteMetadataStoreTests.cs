using Microsoft.Data.Sqlite;
using Strata.Tests.Support;

namespace Strata.Tests.Store;

public sealed class SqliteMetadataStoreTests : MetadataStoreConformanceTests, IDisposable
{
    private readonly TempDirectory _dir = new("strata-sqlite");

    private string DbPath => _dir.Combine("strata.db");

    protected override async Task<IMetadataStore> CreateStoreAsync() => await SqliteMetadataStore.OpenAsync(DbPath);

    protected override async Task<IMetadataStore> OpenAgainAsync() => await SqliteMetadataStore.OpenAsync(DbPath);

    public void Dispose() => _dir.Dispose();

    private static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Theory]
    [InlineData("a;b=c")]
    [InlineData("say \"hi\" 'there'")]
    [InlineData(" spaced ")]
    public async Task A_store_opens_in_a_directory_whose_name_connection_strings_would_misread(string name)
    {
        var path = _dir.Combine(name, "strata.db");
        await using (var store = await SqliteMetadataStore.OpenAsync(path))
            await store.SetSettingAsync("active_stack", "dev");

        Assert.True(File.Exists(path));
        await using var reopened = await SqliteMetadataStore.OpenAsync(path);
        Assert.Equal("dev", await reopened.GetSettingAsync("active_stack"));
        Assert.Equal(path, reopened.Location);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_a_store_error_naming_the_path()
    {
        var path = _dir.Combine("not-a-db.db");
        await File.WriteAllTextAsync(path, string.Concat(Enumerable.Repeat("this is not a SQLite database. ", 100)));

        var e = await Assert.ThrowsAsync<StoreException>(() => SqliteMetadataStore.OpenAsync(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task A_store_written_by_a_newer_Strata_is_refused()
    {
        var path = _dir.Combine("newer.db");
        await (await SqliteMetadataStore.OpenAsync(path)).DisposeAsync();
        await ExecuteAsync(path, $"INSERT INTO schema_version (version) VALUES ({Migrations.Latest + 1})");

        var e = await Assert.ThrowsAsync<StoreException>(() => SqliteMetadataStore.OpenAsync(path));
        Assert.Contains("newer", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task A_store_of_schema_7_keeps_its_runs_graphs_when_they_move_to_their_own_table()
    {
        var path = _dir.Combine("v7.db");
        var sql = new System.Text.StringBuilder("CREATE TABLE schema_version (version INTEGER NOT NULL);");
        for (var v = 1; v <= 7; v++) sql.Append(Migrations.All[v - 1]).Append($";INSERT INTO schema_version (version) VALUES ({v});");
        sql.Append("INSERT INTO runs (id, name, pipeline, stack, status, started_at, step_count, graph, step_counts) VALUES " +
            "('run-1', 'training-1', 'training', 'default', 'completed', '2026-12-05T10:00:00.0000000Z', 2, '{\"load\":[],\"train\":[\"load\"]}', " +
            "'completed=2|'), ('run-2', 'training-2', 'training', 'default', 'running', '2026-12-05T11:00:00.0000000Z', 0, NULL, NULL);");
        await ExecuteAsync(path, sql.ToString());

        await using (var store = await SqliteMetadataStore.OpenAsync(path))
        {
            var graph = await store.GetRunGraphAsync("run-1");
            Assert.Equal(["load", "train"], graph!.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(["load"], graph["train"]);
            Assert.Null(await store.GetRunGraphAsync("run-2"));
            Assert.Equal(ExecutionStatus.Completed, (await store.FindRunAsync("training-1"))!.Status);
        }
        Assert.Equal(0, await ScalarAsync(path, "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'graph'"));
        Assert.Equal(Migrations.Latest, await ScalarAsync(path, "SELECT MAX(version) FROM schema_version"));
    }

    [Fact]
    public async Task Reopening_a_store_keeps_its_data_and_migrates_nothing_twice()
    {
        await Store.AddComponentAsync(new ComponentRecord("c-1", "gpu", ComponentType.StepOperator, "slurm", new Dictionary<string, string>(), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow));
        await Store.SetSettingAsync("active_stack", "dev");
        await Store.DisposeAsync();

        for (var i = 0; i < 2; i++)
        {
            await using var reopened = await SqliteMetadataStore.OpenAsync(DbPath);
            Assert.NotNull(await reopened.GetComponentAsync(ComponentType.StepOperator, "gpu"));
            Assert.Equal("dev", await reopened.GetSettingAsync("active_stack"));
        }
        Assert.Equal(Migrations.Latest, await ScalarAsync(DbPath, "SELECT COUNT(*) FROM schema_version"));
    }

    [Fact]
    public async Task Stores_opened_in_parallel_on_a_new_file_migrate_it_once()
    {
        var path = _dir.Combine("fresh.db");
        var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => SqliteMetadataStore.OpenAsync(path))));
        try
        {
            await Task.WhenAll(stores.Select((store, i) => store.SetSettingAsync($"key-{i}", "value")));
            Assert.Equal(Migrations.Latest, await ScalarAsync(path, "SELECT COUNT(*) FROM schema_version"));
            Assert.Equal(8, await ScalarAsync(path, "SELECT COUNT(*) FROM settings"));
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_scheme_sqlite_opens_a_store_file()
    {
        var path = _dir.Combine("url.db");
        await using var store = await MetadataStores.OpenUrlAsync($"sqlite://{path}");
        Assert.Equal(path, store.Location);
        Assert.Empty(await store.ListRunsAsync());
    }

    [Fact]
    public async Task A_store_that_keeps_writing_while_it_is_read_keeps_its_log_small_and_its_data_whole()
    {
        // About 60 MB of pages through the log, with a read always running beside the writes (as a run's cache lookups overlap its
        // first writes), which also keeps a 2-core machine's thread pool busy. SQLite copies the log into the database file and starts
        // it afresh only when it can: a store that left that to chance, or to a thread-pool thread, would see its log grow with every write.
        const int writes = 1500;
        var wal = new FileInfo(DbPath + "-wal");
        long largestLog = 0;
        using var done = new CancellationTokenSource();
        var reads = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested) await Store.GetSettingAsync("other");
        });
        for (var i = 0; i < writes; i++)
        {
            await Store.SetSettingAsync("large", new string((char)('a' + i % 26), 40_000));
            wal.Refresh();
            largestLog = Math.Max(largestLog, wal.Exists ? wal.Length : 0);
        }
        await done.CancelAsync();
        await reads;

        Assert.InRange(largestLog, 1, 24L << 20); // the store lets it reach 4096 pages of 4 KiB
        var last = new string((char)('a' + (writes - 1) % 26), 40_000);
        Assert.Equal(last, await Store.GetSettingAsync("large"));
        await Store.DisposeAsync();
        wal.Refresh();
        Assert.False(wal.Exists, "the last connection's close copies the log and removes it");
        await using var reopened = await SqliteMetadataStore.OpenAsync(DbPath);
        Assert.Equal(last, await reopened.GetSettingAsync("large"));
    }
}
