using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Strata.Store;

/// <summary>
/// The statements of the store's write connection, prepared once and run on SQLite itself: each argument bound by its
/// position, as UTF-8 from one reused buffer. A run records a few rows per step, and Microsoft.Data.Sqlite's commands
/// spent more per row than SQLite's own work (a data reader per statement, each parameter found by its name, each text
/// and name converted into a new array).
/// </summary>
/// <remarks>
/// A statement it does not take (several statements in one text, an argument of a type it does not bind, a database
/// that is busy before the statement changed anything) is left to the connection's commands, which handle all of it.
/// Errors are SQLite's, raised as the commands raise them (<see cref="SqliteException"/>, with SQLite's code).
/// </remarks>
internal sealed class SqliteStatements(SqliteConnection connection) : SqlMetadataStore.IDirectStatements, IDisposable
{
    private readonly Dictionary<string, Prepared?> _statements = new(StringComparer.Ordinal);
    private readonly byte[] _text = new byte[4096];

    public bool TryExecute(string sql, (string Name, object? Value)[] args, out int changes)
    {
        changes = 0;
        if (!_statements.TryGetValue(sql, out var prepared)) _statements[sql] = prepared = Prepare(sql);
        if (prepared is null || prepared.Indexes.Length != args.Length) return false;
        var statement = prepared.Statement;
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = args[i];
            if (!ReferenceEquals(name, prepared.Names[i]) && name != prepared.Names[i])
            {
                var index = raw.sqlite3_bind_parameter_index(statement, "@" + name);
                if (index == 0) return false;
                (prepared.Names[i], prepared.Indexes[i]) = (name, index);
            }
            if (!Bind(statement, prepared.Indexes[i], value)) return false;
        }

        var db = connection.Handle!;
        int rc;
        while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
        {
        }
        if (rc == raw.SQLITE_DONE)
        {
            changes = raw.sqlite3_stmt_readonly(statement) != 0 ? -1 : raw.sqlite3_changes(db);
            raw.sqlite3_reset(statement);
            return true;
        }
        try
        {
            // A busy database refused the statement before it changed anything: the commands wait for it, up to their timeout.
            if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED) return false;
            SqliteException.ThrowExceptionForRC(rc, db);
            return false;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private Prepared? Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v3(connection.Handle!, sql, (uint)raw.SQLITE_PREPARE_PERSISTENT, out var statement, out var tail);
        if (rc != raw.SQLITE_OK || statement.IsInvalid || !string.IsNullOrWhiteSpace(tail.TrimEnd(';')))
        {
            statement.Dispose();
            return null; // the commands run it, or raise what is wrong with it
        }
        var count = raw.sqlite3_bind_parameter_count(statement);
        return new Prepared(statement, new string[count], new int[count]);
    }

    private bool Bind(sqlite3_stmt statement, int index, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                raw.sqlite3_bind_null(statement, index);
                return true;
            case "":
                raw.sqlite3_bind_text(statement, index, ""); // not an empty span: a null pointer, which SQLite documents as binding NULL
                return true;
            case string text:
                var max = Encoding.UTF8.GetMaxByteCount(text.Length);
                var buffer = max <= _text.Length ? _text : ArrayPool<byte>.Shared.Rent(max); // SQLite copies the text as it binds it
                raw.sqlite3_bind_text(statement, index, buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer)));
                if (buffer != _text) ArrayPool<byte>.Shared.Return(buffer);
                return true;
            case int number:
                raw.sqlite3_bind_int64(statement, index, number);
                return true;
            case long number:
                raw.sqlite3_bind_int64(statement, index, number);
                return true;
            default:
                return false;
        }
    }

    public void Dispose()
    {
        foreach (var prepared in _statements.Values) prepared?.Statement.Dispose();
        _statements.Clear();
    }

    private sealed record Prepared(sqlite3_stmt Statement, string[] Names, int[] Indexes);
}
