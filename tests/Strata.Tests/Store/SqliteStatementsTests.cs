using Microsoft.Data.Sqlite;
using Strata.Tests.Support;

namespace Strata.Tests.Store;

/// <summary>The store's write connection runs its statements on SQLite itself: values, errors and refusals must be as its commands' were.</summary>
public sealed class SqliteStatementsTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("strata-statements");
    private SqliteConnection _connection = null!;
    private SqliteStatements _statements = null!;

    private string ConnectionString => $"Data Source={_dir.Combine("db.sqlite")};Pooling=False;Default Timeout=1";

    public async Task InitializeAsync()
    {
        _connection = new SqliteConnection(ConnectionString);
        await _connection.OpenAsync();
        await ExecuteAsync(_connection, "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, text TEXT, number INTEGER, big INTEGER)");
        _statements = new SqliteStatements(_connection);
    }

    public async Task DisposeAsync()
    {
        _statements.Dispose();
        await _connection.DisposeAsync();
        _dir.Dispose();
    }

    private const string Insert = "INSERT INTO t (id, text, number, big) VALUES (@id, @text, @n, @b)";

    private bool Run(string sql, params (string, object?)[] args) => _statements.TryExecute(sql, args, out _);

    [Fact]
    public async Task Values_are_stored_as_written_text_in_any_script_empty_text_not_null_and_text_longer_than_its_buffer()
    {
        var longText = string.Concat(Enumerable.Repeat("ünïcødé 文字 ", 2000)); // several times the 4 KiB it encodes into
        Assert.True(Run(Insert, ("id", "a"), ("text", "plain"), ("n", 42), ("b", 1L << 40)));
        Assert.True(Run(Insert, ("id", "b"), ("text", ""), ("n", null), ("b", DBNull.Value)));
        Assert.True(Run(Insert, ("id", "c"), ("text", longText), ("n", -1), ("b", long.MinValue)));
        Assert.True(Run(Insert, ("id", "d"), ("text", "ok 文字"), ("n", int.MaxValue), ("b", 0L)));

        var rows = await ReadAsync();
        Assert.Equal("'plain' 42 1099511627776", rows["a"]);
        Assert.Equal("'' null null", rows["b"]);
        Assert.Equal($"'{longText}' -1 {long.MinValue}", rows["c"]);
        Assert.Equal($"'ok 文字' {int.MaxValue} 0", rows["d"]);
    }

    [Fact]
    public async Task The_same_statement_found_with_its_arguments_in_another_order_binds_each_by_its_name()
    {
        Assert.True(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1), ("b", 2L)));
        Assert.True(Run(Insert, ("b", 20L), ("n", 10), ("text", "y"), ("id", "b")));

        var rows = await ReadAsync();
        Assert.Equal("'y' 10 20", rows["b"]);
    }

    [Fact]
    public void An_update_reports_the_rows_it_changed()
    {
        Assert.True(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1), ("b", 2L)));
        Assert.True(_statements.TryExecute("UPDATE t SET number = @n WHERE id = @id", [("n", 5), ("id", "a")], out var changed));
        Assert.True(_statements.TryExecute("UPDATE t SET number = @n WHERE id = @id", [("n", 5), ("id", "none")], out var none));

        Assert.Equal(1, changed);
        Assert.Equal(0, none);
    }

    [Fact]
    public async Task A_refused_statement_raises_SQLites_error_and_the_statement_runs_again_afterwards()
    {
        Assert.True(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1), ("b", 2L)));

        var error = Assert.Throws<SqliteException>(() => Run(Insert, ("id", "a"), ("text", "again"), ("n", 1), ("b", 2L)));
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Contains("UNIQUE", error.Message, StringComparison.Ordinal);

        Assert.True(Run(Insert, ("id", "b"), ("text", "y"), ("n", 1), ("b", 2L)));
        Assert.Equal(["a", "b"], (await ReadAsync()).Keys.Order());
    }

    [Fact]
    public async Task Statements_it_does_not_take_are_left_to_the_commands_unrun()
    {
        Assert.False(Run("INSERT INTO t (id) VALUES ('x'); INSERT INTO t (id) VALUES ('y')")); // two statements
        Assert.False(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1.5), ("b", 2L)));        // a type it does not bind
        Assert.False(Run(Insert, ("id", "a"), ("text", "x")));                                // arguments missing
        Assert.False(Run("INSERT INTO nowhere (id) VALUES (@id)", ("id", "a")));               // SQL SQLite refuses: the commands report it

        Assert.Empty(await ReadAsync());
    }

    [Fact]
    public async Task A_database_another_connection_is_writing_is_left_to_the_commands_which_wait_for_it()
    {
        await using var other = new SqliteConnection(ConnectionString);
        await other.OpenAsync();
        await using (var tx = other.BeginTransaction(deferred: false))
        {
            Assert.False(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1), ("b", 2L)));
            tx.Commit();
        }

        Assert.Empty(await ReadAsync());
        Assert.True(Run(Insert, ("id", "a"), ("text", "x"), ("n", 1), ("b", 2L)));
    }

    /// <summary>Each row by its id, as <c>'text' number big</c>, with <c>null</c> for a NULL.</summary>
    private async Task<Dictionary<string, string>> ReadAsync()
    {
        await using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, text, number, big FROM t";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, string>();
        while (await reader.ReadAsync())
        {
            string Of(int i) => reader.IsDBNull(i) ? "null" : i == 1 ? $"'{reader.GetString(i)}'" : $"{reader.GetInt64(i)}";
            rows[reader.GetString(0)] = $"{Of(1)} {Of(2)} {Of(3)}";
        }
        return rows;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
